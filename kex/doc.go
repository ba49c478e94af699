// Package kex holds the lab's key-exchange schemes. A [Scheme] is its
// name, its handshake messages, and a client half and a server half; the
// victims run one half each, and the attacker node is built from the same
// halves and the same exported steps.
//
// # Schemes
//
// One file each, with its messages, its halves and the function that
// returns it:
//
//   - [PlaintextRSA] ("plaintext-rsa"): the client sends an RSA-2048 public
//     key in clear and the server answers with a fresh secret wrapped by
//     RSA-OAEP-SHA256. Broken: nothing authenticates the key.
//   - [UnauthECDH] ("unauth-ecdh"): an X25519 exchange with nonces and a
//     transcript hash, and no authentication. Broken the same way.
//   - [PinnedECDH] ("pinned-ecdh"): X25519 plus an Ed25519 self-signed
//     certificate whose SPKI the client pins, a signature over the transcript
//     hash and finished MACs in both directions, after RFC 8446.
//   - [Plain] ("plain"): no key exchange; the chat relies on wss:// alone.
//
// Handshakes are crypto/tls-shaped state machines: a state struct per side
// and a straight line of verb-named steps. Every deliberately weak line
// carries an INSECURE(scenario) comment.
//
// # Transcripts
//
// Everything that is signed or MACed is a [Transcript]: each raw message
// framed by its 4-byte length, so no byte can move across a boundary.
//
// # Errors
//
// Failed security checks are [wire.Violation] sentinels ([ErrPinMismatch],
// [ErrBadSignature], [ErrLowOrderPoint], …), wrapped in a [*HandshakeError]
// that names the scheme, the side and the step that failed.
//
// # Randomness and time
//
// Configs take a Rand and a Now; nil means crypto/rand and time.Now. Only
// tests set them. Package channel seals records, and packages attacker and
// tlslab use the exported steps; no other package touches a primitive.
package kex
