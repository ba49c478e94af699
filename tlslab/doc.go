// Package tlslab runs the lab's roles over real TLS: Go's crypto/tls,
// TLS 1.3 only, on the same in-memory or loopback connections as the rest
// of the lab. It answers the question the lab was built for: is a key
// fetched over HTTPS, or a plain wss:// connection, safe from a man in the
// middle? The answer depends on one thing, the client's certificate check,
// and the package makes each choice of that check a runnable scenario.
//
// # Roles
//
// [Server] is Bob: one HTTPS server with a certificate from the lab's CA
// for [ServerName]. [FlowWSS] serves plain chat over wss://; [FlowHTTPSKey]
// serves GET /key (an RSA-2048 public key), POST /session (an AES key
// wrapped with RSA-OAEP-SHA256) and a wss:// chat sealed under that key with
// the lab's record layer.
//
// [Client] is Alice. She always asks for bob.lab; where that leads is up to
// the network, which is how Mallory gets in. Her [Trust] decides what she
// accepts: [SkipVerify] (any certificate), [VerifyCA] (a chain to the lab's
// CA) or [VerifyPin] (that, and the leaf's key matches a pin).
//
// [Attacker] is Mallory. [TerminateTLS] answers Alice with a certificate he
// signed himself, [MisIssuedCert] with one the compromised lab CA signed
// for him, and attacker.Passive copies bytes without keys.
//
// # Certificates
//
// Every certificate and key is made at run time with crypto/x509 and
// crypto/ecdsa ([NewCA], [CA.Issue], [SelfSigned]); none is committed or
// written to disk. The lab's CA signs whatever it is asked to, which is how
// the lab plays a mis-issuing CA.
//
// # The ledger
//
// [Inspect] wraps a connection so that every TLS record that crosses it
// becomes a trace event, parsed from the 5-byte record header of the bytes
// really read and written, never re-encoded. An observer with no keys sees
// the hellos and opaque records. Mallory's own endpoints hand the inspector
// their traffic secrets through tls.Config.KeyLogWriter, so his ledger shows
// what his TLS stack decrypted: the certificate he presented or received,
// the Finished messages, alerts, and application data. The HTTP requests
// and WebSocket messages he handles are events too, and a chat message is
// "read" only with the exact bytes he recovered.
//
// # Errors
//
// A client that refuses a certificate returns the real error: a
// *tls.CertificateVerificationError wrapping an x509 error, or a
// [*PinError] wrapping kex.ErrPinMismatch. [Refusal] names it with one of
// the Reason constants.
package tlslab
