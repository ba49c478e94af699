// Package bench holds the lab's benchmarks, each next to the baseline it is
// read against, so that one run gives the ratio:
//
//   - BenchmarkHandshake: a connection and handshake for each scheme next to
//     a crypto/tls TLS 1.3 handshake (Ed25519 certificate, X25519) and a bare
//     WebSocket dial, all on loopback TCP.
//   - BenchmarkEcho: a 1 KiB echo through the record layer next to the same
//     echo over a plain WebSocket, read with coder/websocket's Conn.Read
//     (issue 9's baseline) and, as a floor, into a buffer kept from message
//     to message.
//   - BenchmarkRelayEcho: a 1 KiB record-layer echo through an attacker
//     node (a passive relay, and a re-encrypting double-ecdh one) next to
//     the same echo straight to the server.
//   - BenchmarkPrimitives and BenchmarkRecord: the parts, to take the
//     figures above apart (public-key work; one record sealed and opened,
//     encoded and decoded, next to encoding/json).
//
// The servers keep no history (victim.ServerOptions.NoHistory), as
// `mitmlab server` runs. Run them with
//
//	go test ./bench -run '^$' -bench . -benchmem -count 8
//
// and read docs/performance.md for the figures and the way to get a ratio
// with its spread. The package has no code of its own and no test asserts
// a time. The resource benchmarks of a long-running attacker process
// (BenchmarkOpenSessions, BenchmarkAttackerRounds) sit in cmd/mitmlab,
// next to the commands they run.
package bench
