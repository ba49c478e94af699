//go:build exercise

// Exercise fresh-nonce-per-record: read README.md, then fix Nonce below and
// run
//
//	mitmlab exercise check fresh-nonce-per-record
package exercise

import (
	"encoding/binary"

	"github.com/mitmlab/mitmlab/channel"
)

// Nonce returns the AES-GCM nonce of Alice's record with sequence number
// seq (0 for her first record, 1 for the next, ...), sealed under the key
// whose IV is iv. Bob opens each record with the nonce the protocol
// defines; docs/protocol.md, "The record layer", says which.
func Nonce(iv [channel.IVSize]byte, seq uint64) [channel.IVSize]byte {
	// The IV XOR the sequence number, as 8 big-endian bytes in the IV's
	// last 8: a different nonce for every record, and the same on both
	// sides without sending it (RFC 8446 §5.3).
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], seq)
	for i := range s {
		iv[channel.IVSize-8+i] ^= s[i]
	}
	return iv
}
