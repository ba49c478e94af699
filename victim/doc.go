// Package victim holds the lab's honest endpoints: [Client] (Alice), which
// dials, runs a scheme's client half and sends chat messages, and [Server]
// (Bob), which accepts, runs the server half and answers each message.
//
// Both speak real WebSocket through github.com/coder/websocket, over
// ws:// or, with an http.Client and listener that do TLS, wss://. The
// scheme travels as the subprotocol "mitmlab.v2.<scheme>" and as the URL
// path "/<scheme>", so a client and server that speak different schemes
// get a [*SchemeMismatchError] instead of a confusing handshake failure.
//
// Each side ends its half of the conversation with a sealed end record
// (package channel); a session that ends without the peer's is
// truncated, and says so. Every wait is bounded: the client's dial and
// handshake, the server's handshake, and each side's idle time.
package victim
