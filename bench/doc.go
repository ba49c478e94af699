// Package bench holds the lab's benchmarks, each next to the baseline it is
// read against, so that one run gives the ratio:
//
//   - BenchmarkHandshake: a connection and handshake for each scheme next to
//     a crypto/tls TLS 1.3 handshake (Ed25519 certificate, X25519) and a bare
//     WebSocket dial, all on loopback TCP.
//   - BenchmarkEcho: a 1 KiB echo through the record layer next to the same
//     echo over a plain WebSocket.
//   - BenchmarkRelayEcho: a 1 KiB record-layer echo through an attacker
//     node (a passive relay, and a re-encrypting double-ecdh one) next to
//     the same echo straight to the server.
//
// Run them with
//
//	go test ./bench -run '^$' -bench . -benchmem -count 6
//
// and read docs/performance.md for the figures. The package has no code of
// its own and no test asserts a time.
package bench
