//go:build exercise

// Exercise check-the-pin: read README.md, then fix Client below and run
//
//	mitmlab exercise check check-the-pin
package exercise

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/wire"
)

// Client is Alice's half of the pinned-ecdh handshake: it sends her hello,
// reads Bob's hello and his server_verify, checks them, and returns the
// record keys. cfg.Pin is Bob's pin, handed to Alice before the lab began.
func Client(ctx context.Context, conn *wire.Conn, cfg *kex.ClientConfig) (*channel.Secrets, error) {
	ks, err := kex.NewKeyShare(cfg.Rand)
	if err != nil {
		return nil, err
	}
	ch, err := conn.WriteMessage(ctx, &kex.ClientHello{Nonce: ks.Nonce, KeyShare: ks.Public(), Offered: []string{kex.NamePinnedECDH}})
	if err != nil {
		return nil, err
	}
	sh, err := conn.Read(ctx)
	if err != nil {
		return nil, err
	}
	shm, err := wire.DecodeAs[*kex.ServerHello](conn.Codec(), sh)
	if err != nil {
		return nil, conn.Fail(err)
	}
	if shm.Chosen != kex.NamePinnedECDH {
		return nil, conn.Fail(kex.ErrSchemeNotOffered)
	}
	cert, err := x509.ParseCertificate(shm.Certificate)
	if err != nil {
		return nil, conn.Fail(kex.ErrBadCertificate)
	}

	// The server's key comes out of the certificate it sent, and the
	// signature below proves the server holds it.
	//
	// TODO(exercise): nothing asks whose certificate this is.
	key, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok {
		return nil, conn.Fail(kex.ErrBadCertificate)
	}
	sv, err := conn.Read(ctx)
	if err != nil {
		return nil, err
	}
	svm, err := wire.DecodeAs[*kex.ServerVerify](conn.Codec(), sv)
	if err != nil {
		return nil, conn.Fail(err)
	}
	if !ed25519.Verify(key, kex.SignedContent(ch, sh), svm.Signature) {
		return nil, conn.Fail(kex.ErrBadSignature)
	}
	shared, err := ks.Shared(shm.KeyShare)
	if err != nil {
		return nil, conn.Fail(err)
	}
	sched := kex.NewPinnedSchedule(shared, ch, sh)
	if !sched.VerifyServerFinished(svm.Signature, svm.Finished) {
		return nil, conn.Fail(kex.ErrBadFinished)
	}
	cf, err := conn.WriteMessage(ctx, &kex.ClientFinished{MAC: sched.ClientFinished(sv)})
	if err != nil {
		return nil, err
	}
	return sched.Traffic(sv, cf), nil
}
