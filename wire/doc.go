// Package wire is mitmlab's v1 wire format and the WebSocket transport that
// carries it.
//
// Every lab message is one JSON object in one WebSocket text message, with a
// "type" field naming it. Binary fields are standard base64 with padding.
// [Decode] is strict: it rejects unknown types, unknown or missing fields,
// wrong field lengths and messages over [MaxMessageSize], each with a named
// error that [errors.Is] matches.
//
// # Errors and close codes
//
// [CloseCode] maps an error to the WebSocket close code that the lab sends
// when it gives up on a connection: 1002 (protocol error) for malformed
// input, 1008 (policy violation) for failed security checks, and 1009 for a
// message that is too big.
//
// The authoritative description of every message is docs/protocol.md.
package wire
