package bench_test

import (
	"crypto/ed25519"
	"encoding/json"
	"testing"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/wire"
)

// BenchmarkPrimitives measures the public-key work in each handshake, one
// side's share of it per iteration, so that the handshake figures can be
// taken apart: pinned-ecdh does two X25519 key pairs and shared secrets
// (one per side), one Ed25519 signature and one verification; plaintext-rsa
// makes a fresh RSA-2048 key for every connection.
func BenchmarkPrimitives(b *testing.B) {
	b.Run("x25519-keygen+shared", func(b *testing.B) {
		peer, err := kex.NewKeyShare(nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			ks, err := kex.NewKeyShare(nil)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ks.Shared(peer.Public()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ed25519-sign+verify", func(b *testing.B) {
		id, err := kex.NewIdentity("bob")
		if err != nil {
			b.Fatal(err)
		}
		pub := id.Key.Public().(ed25519.PublicKey)
		content := kex.SignedContent(make([]byte, 160), make([]byte, 500))
		b.ReportAllocs()
		for b.Loop() {
			sig := ed25519.Sign(id.Key, content)
			if !ed25519.Verify(pub, content, sig) {
				b.Fatal("signature does not verify")
			}
		}
	})
	b.Run("rsa2048-keygen", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := kex.NewRSAKey(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rsa-oaep-wrap+unwrap", func(b *testing.B) {
		k, err := kex.NewRSAKey()
		if err != nil {
			b.Fatal(err)
		}
		secret := make([]byte, kex.SecretSize)
		b.ReportAllocs()
		for b.Loop() {
			w, err := kex.WrapSecret(&k.PublicKey, secret)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := kex.UnwrapSecret(k, w); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRecord takes one 1 KiB record apart: AES-256-GCM seal and open,
// and the v2 wire format's strict encode and decode of the frame, next to
// encoding/json's plain Marshal and Unmarshal of the same frame.
func BenchmarkRecord(b *testing.B) {
	k := &channel.Secrets{}
	msg := echoMessage()
	b.Run("seal+open", func(b *testing.B) {
		b.SetBytes(echoSize)
		b.ReportAllocs()
		seal, err := channel.NewSealer(k, wire.ClientToServer)
		if err != nil {
			b.Fatal(err)
		}
		open, err := channel.NewOpener(k, wire.ClientToServer)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			d, err := seal.Seal(msg)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := open.Open(d); err != nil {
				b.Fatal(err)
			}
		}
	})
	seal, err := channel.NewSealer(k, wire.ClientToServer)
	if err != nil {
		b.Fatal(err)
	}
	frame, err := seal.Seal(msg)
	if err != nil {
		b.Fatal(err)
	}
	codec := wire.Records()
	b.Run("wire-encode+decode", func(b *testing.B) {
		b.SetBytes(echoSize)
		b.ReportAllocs()
		for b.Loop() {
			raw, err := wire.Encode(frame)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := wire.DecodeAs[*wire.Data](codec, raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json-baseline", func(b *testing.B) {
		b.SetBytes(echoSize)
		b.ReportAllocs()
		for b.Loop() {
			raw, err := json.Marshal(frame)
			if err != nil {
				b.Fatal(err)
			}
			var d wire.Data
			if err := json.Unmarshal(raw, &d); err != nil {
				b.Fatal(err)
			}
		}
	})
}
