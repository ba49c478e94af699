// Package export writes a run of the lab in the forms people already
// open: a Markdown transcript for a slide or a report, a Mermaid sequence
// diagram, a HAR file for Chrome DevTools and HAR viewers, a pcapng
// capture for Wireshark and tshark, and the JSON Lines of
// `mitmlab run --json`.
//
// # Use
//
// A [Run] is what happened: the scenario, its trace events and its
// [scenarios.Outcome]. [Write] picks the format from the file's
// extension:
//
//	o, err := scenarios.Run(ctx, "unauth-ecdh", nil)
//	...
//	err = export.Write("unauth-ecdh.pcapng", export.Run{Scenario: sc, Outcome: o})
//
// [WriteTo] writes one [Format] to any io.Writer, and [FormatOf] checks a
// file name before a run starts. A Run whose Outcome is nil (frames
// streamed from an attacker process, or a run still going) exports its
// events without a summary.
//
// # Formats
//
//   - .md: a heading, the lesson, the transcript table (one row per frame
//     per leg, as `mitmlab run` prints it) and the summary line.
//   - .mmd: a Mermaid sequenceDiagram with a lane for Alice, Mallory and
//     Bob (two lanes with no attacker), an arrow per frame labelled with
//     its type and verdict; text is escaped with Mermaid's entity codes.
//   - .har: HAR 1.2, one page per leg and one entry per WebSocket
//     connection, the upgrade, carrying Chrome's _webSocketMessages: every
//     WebSocket message of the run, "send" from the leg's client and
//     "receive" from its server, with its time in seconds.
//   - .pcapng: each connection on each leg as a TCP stream with a
//     three-way handshake, the upgrade, the WebSocket frames (masked from
//     the client, as RFC 6455 requires) and a FIN, in synthesised
//     Ethernet and IPv4, with real sequence numbers and checksums. Over
//     wss:// the streams carry the TLS records exactly as they crossed,
//     and a Decryption Secrets Block holds the attacker's own TLS keys,
//     so Wireshark decrypts what he decrypted and nothing more.
//   - .jsonl: one "frame" object per event and a last "outcome" object,
//     the stream `mitmlab run --json` prints.
//
// What is real and what is rebuilt: frame and record bytes, their order,
// direction and time come from the trace. The trace holds WebSocket
// messages, not the HTTP upgrade or TCP, so over ws:// the upgrade is
// rebuilt in the form the lab's Go client and coder/websocket write it,
// with a key and mask keys derived from the run (masking protects nothing
// in a capture; deriving them makes the same run export the same bytes),
// and the addresses are from the documentation range 192.0.2.0/24. Over
// wss:// the upgrade travels inside the real records, so what Wireshark
// decrypts is what the victims sent. docs/exports.md says how to open
// each format.
package export
