//go:build exercise

// Exercise fresh-nonce-per-record: read README.md, then fix Nonce below and
// run
//
//	mitmlab exercise check fresh-nonce-per-record
package exercise

import (
	"github.com/mitmlab/mitmlab/channel"
)

// Nonce returns the AES-GCM nonce of Alice's record with sequence number
// seq (0 for her first record, 1 for the next, ...), sealed under the key
// whose IV is iv. Bob opens each record with the nonce the protocol
// defines; docs/protocol.md, "The record layer", says which.
func Nonce(iv [channel.IVSize]byte, seq uint64) [channel.IVSize]byte {
	// The IV is 12 random bytes from the key schedule, the size AES-GCM
	// wants for a nonce.
	//
	// TODO(exercise): the same nonce for every record.
	return iv
}
