//go:build exercise

// Exercise check-sequence-numbers: read README.md, then fix Open below and
// run
//
//	mitmlab exercise check check-sequence-numbers
package exercise

import (
	"github.com/mitmlab/mitmlab/exercises/alice"
)

// Open checks and opens Bob's next record, a data record or his end
// record, and returns its plaintext. o.Decrypt authenticates and decrypts
// a record under the sequence number it carries; o.Next is the sequence
// number Bob's next record must carry. An error refuses the record: Alice
// closes with 1008 and its text.
func Open(o *alice.Opener, r alice.Record) ([]byte, error) {
	// AES-GCM authenticates the record under the number it carries, so a
	// record that decrypts is Bob's.
	//
	// TODO(exercise): but is it new?
	return o.Decrypt(r)
}
