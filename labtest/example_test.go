package labtest_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"fmt"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/labtest"
	"github.com/mitmlab/mitmlab/wire"
)

// weakClient is a learner's first pinned-ecdh client: it runs the key
// exchange and the finished MACs, but never asks whose key signed the
// handshake. It takes the certificate it is sent at its word.
func weakClient(ctx context.Context, conn *wire.Conn, cfg *kex.ClientConfig) (*channel.Secrets, error) {
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
	sv, err := conn.Read(ctx)
	if err != nil {
		return nil, err
	}
	svm, err := wire.DecodeAs[*kex.ServerVerify](conn.Codec(), sv)
	if err != nil {
		return nil, conn.Fail(err)
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

// goodClient is the same client with the two checks that matter: the
// certificate's key matches the pin, and that key signed both hellos.
func goodClient(ctx context.Context, conn *wire.Conn, cfg *kex.ClientConfig) (*channel.Secrets, error) {
	pin, err := kex.ParsePin(cfg.Pin)
	if err != nil {
		return nil, err
	}
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
	cert, err := x509.ParseCertificate(shm.Certificate)
	if err != nil {
		return nil, conn.Fail(kex.ErrBadCertificate)
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	key, ok := cert.PublicKey.(ed25519.PublicKey)
	if subtle.ConstantTimeCompare(sum[:], pin) != 1 || !ok {
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

// A client that accepts any key: the report names the attacks that read
// it. Impersonation reads it because it checks no pin; substituting the
// key shares reads it because it checks no signature either.
func ExampleRun_weakClient() {
	r, err := labtest.Run(context.Background(), labtest.Client(kex.PinnedECDH(), weakClient), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("passed:", r.Passed())
	for _, a := range r.Failures() {
		fmt.Printf("%s: %s, %d messages\n", a.Attack, a.Result, a.Read)
	}
	// Output:
	// passed: false
	// impersonate: read, 6 messages
	// substitute-shares: read, 6 messages
}

// The same client with the pin and signature checks passes every attack.
func ExampleRun_goodClient() {
	r, err := labtest.Run(context.Background(), labtest.Client(kex.PinnedECDH(), goodClient), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("passed:", r.Passed())
	for _, a := range r.Attempts {
		if a.Attack == "impersonate" {
			fmt.Printf("%s: %s by the %s: %s\n", a.Attack, a.Result, a.By, a.Reason)
		}
	}
	// Output:
	// passed: true
	// impersonate: refused by the client: key does not match pin
}
