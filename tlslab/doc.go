// Package tlslab is what TLS brings to the lab: a PKI made at run time,
// the trust checks a client can make, and an inspector that turns every
// TLS record on a connection into a trace event. TLS is a transport of the
// one lab: the same Alice, Bob and Mallory speak wss:// over listeners and
// dialers that these pieces wrap.
//
// # Certificates
//
// Every certificate and key is made at run time with crypto/x509 and
// crypto/ecdsa ([NewCA], [CA.Issue], [SelfSigned]); none is committed or
// written to disk. The lab's CA signs whatever it is asked to, which is how
// the lab plays a mis-issuing CA.
//
// # Trust
//
// A [Trust] is what a client accepts: [SkipVerify] (any certificate),
// [VerifyCA] (a chain to the lab's CA) or [VerifyPin] (that, and the leaf's
// key matches a pin). [Refusal] names the real crypto/tls or crypto/x509
// error of a client that refused.
//
// # The ledger
//
// [Inspect] wraps a connection so that every TLS record that crosses it
// becomes a trace event, parsed from the 5-byte record header of the bytes
// really read and written, never re-encoded. An observer with no keys sees
// the hellos and opaque records. The attacker's own TLS endpoints hand the
// inspector their traffic secrets through tls.Config.KeyLogWriter, so his
// ledger shows what his TLS stack decrypted: every record he read carries
// the bytes inside it, the HTTP upgrade included. [Observer.KeyLog] passes
// the same secrets on, as an NSS key log ([KeyLog] collects one per run),
// so that an export can let Wireshark decrypt exactly what he decrypted.
package tlslab
