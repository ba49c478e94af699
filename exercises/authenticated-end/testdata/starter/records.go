//go:build exercise

// Exercise authenticated-end: read README.md, then fix Finish below and run
//
//	mitmlab exercise check authenticated-end
package exercise

import (
	"context"

	"github.com/mitmlab/mitmlab/exercises/alice"
)

// Finish ends Alice's conversation once Bob has answered her last
// message. c.SendEnd seals and sends her end record; c.Receive returns
// Bob's next message, io.EOF once his end record has arrived, or an error
// if the connection ended without it; c.Close closes with 1000.
func Finish(ctx context.Context, c *alice.Chat) error {
	// Bob has answered everything: close the WebSocket, as most apps do.
	//
	// TODO(exercise): a close frame carries no MAC; anyone can send one.
	return c.Close()
}
