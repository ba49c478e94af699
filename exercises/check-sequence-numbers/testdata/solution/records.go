//go:build exercise

// Exercise check-sequence-numbers: read README.md, then fix Open below and
// run
//
//	mitmlab exercise check check-sequence-numbers
package exercise

import (
	"fmt"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/exercises/alice"
)

// Open checks and opens Bob's next record, a data record or his end
// record, and returns its plaintext. o.Decrypt authenticates and decrypts
// a record under the sequence number it carries; o.Next is the sequence
// number Bob's next record must carry. An error refuses the record: Alice
// closes with 1008 and its text.
func Open(o *alice.Opener, r alice.Record) ([]byte, error) {
	// Only the next number opens: a lower one is a copy of a record
	// already taken, a higher one means records went missing.
	switch {
	case r.Seq < o.Next:
		return nil, fmt.Errorf("%w: got seq %d, want %d", channel.ErrReplay, r.Seq, o.Next)
	case r.Seq > o.Next:
		return nil, fmt.Errorf("%w: got seq %d, want %d", channel.ErrOutOfOrder, r.Seq, o.Next)
	}
	pt, err := o.Decrypt(r)
	if err != nil {
		return nil, err
	}
	o.Next++ // only a record that opened moves the count on
	return pt, nil
}
