//go:build exercise

// Exercise authenticated-end: read README.md, then fix Finish below and run
//
//	mitmlab exercise check authenticated-end
package exercise

import (
	"context"
	"errors"
	"io"

	"github.com/mitmlab/mitmlab/exercises/alice"
)

// Finish ends Alice's conversation once Bob has answered her last
// message. c.SendEnd seals and sends her end record; c.Receive returns
// Bob's next message, io.EOF once his end record has arrived, or an error
// if the connection ended without it; c.Close closes with 1000.
func Finish(ctx context.Context, c *alice.Chat) error {
	// Say "that was all" in a record only Alice can seal, then wait for
	// Bob to say the same: until his end record arrives, the conversation
	// may have been cut.
	if err := c.SendEnd(ctx); err != nil {
		return err
	}
	for {
		_, err := c.Receive(ctx)
		if errors.Is(err, io.EOF) {
			return c.Close()
		}
		if err != nil {
			return err // cut short: the connection ended without Bob's end record
		}
	}
}
