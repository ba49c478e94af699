// Package kex holds the lab's key-exchange schemes. Each [Scheme] has a
// client half and a server half; the victims run one half each, and the
// attacker node is built from the same halves and the same exported steps.
//
// # Schemes
//
//   - [PlaintextRSA] ("plaintext-rsa"): the client sends an RSA-2048 public
//     key in clear and the server answers with a fresh secret wrapped by
//     RSA-OAEP-SHA256. Broken: nothing authenticates the key.
//   - [UnauthECDH] ("unauth-ecdh"): an X25519 exchange with nonces and a
//     transcript hash, and no authentication. Broken the same way.
//   - [PinnedECDH] ("pinned-ecdh"): X25519 plus an Ed25519 self-signed
//     certificate whose SPKI the client pins, a signature over the transcript
//     hash and finished MACs in both directions, after RFC 8446.
//
// Only this package and package channel touch cryptographic primitives.
// Every deliberately weak line carries an INSECURE(scheme) comment.
//
// # Errors
//
// Failed security checks are [wire.Violation] sentinels ([ErrPinMismatch],
// [ErrBadSignature], [ErrLowOrderPoint], …), wrapped in a [*HandshakeError]
// that names the scheme, the side and the step that failed.
package kex
