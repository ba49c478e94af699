// Package victim holds the lab's honest endpoints: [Client] (Alice), which
// dials, runs a scheme's client half and sends chat messages, and [Server]
// (Bob), which accepts, runs the server half and answers each message.
//
// Both speak real WebSocket through github.com/coder/websocket. The scheme
// travels as the subprotocol "mitmlab.v1.<scheme>" and as the URL path
// "/<scheme>", so a client and server that speak different schemes get a
// [*SchemeMismatchError] instead of a confusing handshake failure.
package victim
