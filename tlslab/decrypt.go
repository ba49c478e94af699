package tlslab

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"
)

// Key log labels crypto/tls writes to Config.KeyLogWriter for TLS 1.3, in
// the NSS key log format.
const (
	labelClientHandshake = "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
	labelServerHandshake = "SERVER_HANDSHAKE_TRAFFIC_SECRET"
	labelClientTraffic   = "CLIENT_TRAFFIC_SECRET_0"
	labelServerTraffic   = "SERVER_TRAFFIC_SECRET_0"
)

// parseKeyLog reads NSS key log lines, "LABEL CLIENT_RANDOM SECRET" with
// hex fields, and returns label → secret. Lines it does not understand are
// skipped.
func parseKeyLog(b []byte) map[string][]byte {
	out := make(map[string][]byte)
	for line := range bytes.Lines(b) {
		f := bytes.Fields(line)
		if len(f) != 3 {
			continue
		}
		secret, err := hex.DecodeString(string(f[2]))
		if err != nil || len(secret) == 0 {
			continue
		}
		out[string(f[0])] = secret
	}
	return out
}

// errSuiteNotInspected is returned for a cipher suite the inspector has no
// implementation of. It knows all three TLS 1.3 suites crypto/tls offers:
// AES-128-GCM and AES-256-GCM, and ChaCha20-Poly1305 (from
// golang.org/x/crypto), which crypto/tls prefers on hardware without AES
// instructions.
var errSuiteNotInspected = errors.New("cipher suite not inspected")

// protection is one direction's record protection for one key epoch
// (RFC 8446 §5.2–5.3): an AEAD, its IV, and the record sequence number.
type protection struct {
	aead cipher.AEAD
	iv   []byte
	seq  uint64
}

// newProtection derives the key and IV from a traffic secret with
// HKDF-Expand-Label (RFC 8446 §7.3) for suite.
func newProtection(suite uint16, secret []byte) (*protection, error) {
	var (
		h      func() hash.Hash
		keyLen int
	)
	switch suite {
	case tls.TLS_AES_128_GCM_SHA256:
		h, keyLen = sha256.New, 16
	case tls.TLS_AES_256_GCM_SHA384:
		h, keyLen = sha512.New384, 32
	case tls.TLS_CHACHA20_POLY1305_SHA256:
		h, keyLen = sha256.New, chacha20poly1305.KeySize
	default:
		return nil, fmt.Errorf("%w: %s", errSuiteNotInspected, tls.CipherSuiteName(suite))
	}
	key, err := expandLabel(h, secret, "key", keyLen)
	if err != nil {
		return nil, err
	}
	iv, err := expandLabel(h, secret, "iv", 12)
	if err != nil {
		return nil, err
	}
	var aead cipher.AEAD
	if suite == tls.TLS_CHACHA20_POLY1305_SHA256 {
		aead, err = chacha20poly1305.New(key)
	} else {
		var block cipher.Block
		if block, err = aes.NewCipher(key); err == nil {
			aead, err = cipher.NewGCM(block)
		}
	}
	if err != nil {
		return nil, err
	}
	return &protection{aead: aead, iv: iv}, nil
}

// expandLabel is TLS 1.3's HKDF-Expand-Label with an empty context.
func expandLabel(h func() hash.Hash, secret []byte, label string, length int) ([]byte, error) {
	full := "tls13 " + label
	info := binary.BigEndian.AppendUint16(nil, uint16(length))
	info = append(info, byte(len(full)))
	info = append(info, full...)
	info = append(info, 0) // empty context
	return hkdf.Expand(h, secret, string(info), length)
}

// open decrypts one protected record and returns its inner content type
// and content, with the padding removed (RFC 8446 §5.2, §5.4).
func (p *protection) open(r record) (uint8, []byte, error) {
	nonce := bytes.Clone(p.iv)
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], p.seq)
	for i := range seq {
		nonce[len(nonce)-8+i] ^= seq[i]
	}
	pt, err := p.aead.Open(nil, nonce, r.fragment(), r.raw[:recordHeaderLen])
	if err != nil {
		return 0, nil, fmt.Errorf("record %d does not decrypt: %w", p.seq, err)
	}
	p.seq++
	i := len(pt) - 1
	for i >= 0 && pt[i] == 0 {
		i--
	}
	if i < 0 {
		return 0, nil, errors.New("decrypted record has no content type")
	}
	return pt[i], pt[:i], nil
}
