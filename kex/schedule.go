package kex

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash"

	"github.com/mitmlab/mitmlab/channel"
)

// labelPrefix separates the lab's HKDF labels from every other protocol's,
// as "tls13 " does in RFC 8446 §7.1. The digit is the protocol version.
const labelPrefix = "mitmlab2 "

// HKDF labels, without the prefix.
const (
	labelC2SKey         = "c2s key"
	labelC2SIV          = "c2s iv"
	labelS2CKey         = "s2c key"
	labelS2CIV          = "s2c iv"
	labelServerFinished = "s finished"
	labelClientFinished = "c finished"
)

// signatureContext is the context string of the server's signature; the
// signed content is 64 spaces, this string, a zero byte and the transcript
// hash, as in RFC 8446 §4.4.3.
const signatureContext = "mitmlab v2 server verify"

// extract is HKDF-Extract with SHA-256 and no salt.
func extract(ikm []byte) []byte {
	prk, err := hkdf.Extract(sha256.New, ikm, nil)
	if err != nil {
		panic("kex: hkdf extract: " + err.Error()) // only for lengths this package never asks for
	}
	return prk
}

// expandLabel is RFC 8446 §7.1's HKDF-Expand-Label with the "mitmlab2 "
// prefix: the info is uint16 length ‖ uint8 len ‖ label ‖ uint8 len ‖ context.
func expandLabel(secret []byte, label string, context []byte, length int) []byte {
	full := labelPrefix + label
	info := binary.BigEndian.AppendUint16(nil, uint16(length))
	info = append(info, byte(len(full)))
	info = append(info, full...)
	info = append(info, byte(len(context)))
	info = append(info, context...)
	out, err := hkdf.Expand(sha256.New, secret, string(info), length)
	if err != nil {
		panic("kex: hkdf expand: " + err.Error()) // lengths here are at most 32
	}
	return out
}

// TrafficSecrets derives both directions' record keys from prk, bound to
// the transcript hash th (nil for none), for the default record suite.
func TrafficSecrets(prk, th []byte) *channel.Secrets {
	var s channel.Secrets
	copy(s.ClientToServer.Key[:], expandLabel(prk, labelC2SKey, th, channel.KeySize))
	copy(s.ClientToServer.IV[:], expandLabel(prk, labelC2SIV, th, channel.IVSize))
	copy(s.ServerToClient.Key[:], expandLabel(prk, labelS2CKey, th, channel.KeySize))
	copy(s.ServerToClient.IV[:], expandLabel(prk, labelS2CIV, th, channel.IVSize))
	return &s
}

// Extract is HKDF-Extract with SHA-256 and no salt, for schemes that key
// [TrafficSecrets] from a shared secret.
func Extract(ikm []byte) []byte { return extract(ikm) }

// Transcript is the running hash of a handshake's messages. Each message
// goes in framed by its length, as a 4-byte big-endian count followed by
// the raw bytes exactly as they crossed the wire, so no byte can move from
// one message to the next without changing the hash.
type Transcript struct{ h hash.Hash }

// NewTranscript starts an empty transcript.
func NewTranscript() *Transcript { return &Transcript{h: sha256.New()} }

// Add appends messages to the transcript.
func (t *Transcript) Add(msgs ...[]byte) *Transcript {
	for _, m := range msgs {
		t.h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(m))))
		t.h.Write(m)
	}
	return t
}

// Sum returns SHA-256 of everything added so far; the transcript goes on.
func (t *Transcript) Sum() []byte { return t.h.Sum(nil) }

// TranscriptHash is SHA-256 over msgs, each framed by its length.
func TranscriptHash(msgs ...[]byte) []byte { return NewTranscript().Add(msgs...).Sum() }

func hmacSHA256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}
