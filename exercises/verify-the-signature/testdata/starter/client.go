//go:build exercise

// Exercise verify-the-signature: read README.md, then fix Client below and run
//
//	mitmlab exercise check verify-the-signature
package exercise

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
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

	// Whose certificate is it? The pin says which key may speak for Bob.
	pin, err := kex.ParsePin(cfg.Pin)
	if err != nil {
		return nil, conn.Fail(err)
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	if subtle.ConstantTimeCompare(sum[:], pin) != 1 {
		return nil, conn.Fail(kex.ErrPinMismatch)
	}

	sv, err := conn.Read(ctx)
	if err != nil {
		return nil, err
	}
	svm, err := wire.DecodeAs[*kex.ServerVerify](conn.Codec(), sv)
	if err != nil {
		return nil, conn.Fail(err)
	}
	// The certificate is Bob's, and the finished MAC below proves the
	// server derived the same keys as Alice.
	//
	// TODO(exercise): nothing proves that Bob's key took part in this
	// handshake.
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
