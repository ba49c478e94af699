// Package wire is mitmlab's v2 wire format and the WebSocket transport that
// carries it.
//
// Every lab message is one JSON object in one WebSocket text message, with a
// "type" field naming it. Binary fields are canonical standard base64 with
// padding. A [Message] declares its fields with [Bytes], [Text], [Uint],
// [List] and [Bool]; each scheme's messages, with the record layer's
// [Data] and [End], make the [Codec] its connections speak.
//
// [Codec.Decode] is strict and reads each message once: it rejects unknown
// types, unknown, repeated or missing fields, wrong field lengths, white
// space around the object and messages over [MaxMessageSize], each with a
// named error that [errors.Is] matches.
//
// # Errors and close codes
//
// [CloseCode] maps an error to the WebSocket close code that the lab sends
// when it gives up on a connection: 1002 (protocol error) for malformed
// input, 1007 for a text message that is not UTF-8, 1008 (policy
// violation) for failed security checks, 1009 for a message that is too
// big, and the codes of the [Timeout] errors. A browser may only send
// 1000 and 3000–4999, so every lab side reads 4000 + (code − 1000) as the
// RFC code it stands for ([Canonical]).
//
// The authoritative description of every message is docs/protocol.md.
package wire
