package kex

import (
	"context"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/wire"
)

// NamePlain is plain's name.
const NamePlain = "plain"

// Plain is the "plain" scheme: no key exchange at all. Records carry their
// plaintext with the [channel.Null] suite, sequence numbers and end records
// included, so the chat relies on the transport beneath it alone. It is
// what a chat over wss:// that adds nothing of its own is; the lab runs it
// over TLS, where the trust check is the whole lesson.
//
// INSECURE(wss-skipverify): nothing in the WebSocket protects the chat.
func Plain() *Scheme {
	return &Scheme{
		Name:    NamePlain,
		Summary: "no key exchange: chat in clear, protected only by the transport (wss://)",
		Suite:   channel.Null,
		Client:  plainHalf[*ClientConfig],
		Server:  plainHalf[*ServerConfig],
	}
}

func plainHalf[C any](context.Context, *wire.Conn, C) (*channel.Secrets, error) {
	return &channel.Secrets{}, nil
}
