package tui

import (
	"strings"

	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// frameKind is what sort of frame an event is. It decides what the
// event's recovered bytes are, and so how its verdict reads.
type frameKind int

const (
	kindOther     frameKind = iota // a frame that does not decode
	kindHandshake                  // one of the scheme's handshake messages
	kindRecord                     // a data record: one chat message
	kindEnd                        // an end record: its sender has nothing more to send
	kindClose                      // a WebSocket close frame
	kindTLS                        // a TLS record beneath the WebSocket
)

// tlsTypePrefix starts the type of every TLS record the tlslab inspector
// records ("tls_client_hello", "tls_application_data", ...).
const tlsTypePrefix = "tls_"

func kindOf(e trace.Event, codec *wire.Codec) frameKind {
	t := wire.Type(e.Type)
	switch {
	case e.Type == trace.TypeClose:
		return kindClose
	case t == wire.TypeData:
		return kindRecord
	case t == wire.TypeEnd:
		return kindEnd
	case codec != nil && codec.Knows(t):
		return kindHandshake
	case strings.HasPrefix(e.Type, tlsTypePrefix):
		return kindTLS
	}
	return kindOther
}
