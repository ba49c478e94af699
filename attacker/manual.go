package attacker

import (
	"context"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// legConns are the session's legs as wire.Conns without taps: the attacks
// below record each frame themselves, with the verdict they earned.
func (s *session) legConn(leg trace.Leg) *wire.Conn {
	if leg == trace.LegA {
		return wire.NewConn(s.a, nil)
	}
	return wire.NewConn(s.b, nil)
}

// readAs reads one message of type T from leg and records it as public.
func readAs[T wire.Message](ctx context.Context, s *session, leg trace.Leg) (T, []byte, error) {
	var zero T
	raw, err := s.legConn(leg).Read(ctx)
	if err != nil {
		return zero, nil, &legError{leg: leg, err: err}
	}
	s.record(leg, inbound(leg), parse(raw), trace.Public, nil, "")
	m, err := wire.DecodeAs[T](raw)
	if err != nil {
		return zero, nil, &legError{leg: leg, err: err}
	}
	return m, raw, nil
}

// send writes m on leg and records it with verdict v.
func (s *session) send(ctx context.Context, leg trace.Leg, m wire.Message, v trace.Verdict, note string) ([]byte, error) {
	raw, err := wire.Encode(m)
	if err != nil {
		return nil, &legError{leg: leg, err: err}
	}
	if err := s.legConn(leg).Write(ctx, raw); err != nil {
		return nil, &legError{leg: leg, err: err}
	}
	s.record(leg, outbound(leg), parse(raw), v, nil, note)
	return raw, nil
}

// swapRSAKey is the plaintext-rsa attack. It forwards the client's key
// exchange to the server with its own public key in place of the client's,
// unwraps the secret the server sends, and re-wraps that same secret for the
// client. The victims then share keys the attacker holds too, so it can read
// every frame without touching one.
func (s *session) swapRSAKey(ctx context.Context) (relay, error) {
	pk, _, err := readAs[*wire.RSAPublicKey](ctx, s, trace.LegA)
	if err != nil {
		return nil, err
	}
	clientKey, err := kex.ParseRSAPublicKey(pk.SPKI)
	if err != nil {
		return nil, &legError{leg: trace.LegA, err: err}
	}
	own, err := kex.MarshalRSAPublicKey(&s.n.opts.RSAKey.PublicKey)
	if err != nil {
		return nil, err
	}
	if _, err := s.send(ctx, trace.LegB, &wire.RSAPublicKey{SPKI: own}, trace.Substituted,
		"the client's key swapped for the attacker's own"); err != nil {
		return nil, err
	}
	kt, _, err := readAs[*wire.KeyTransport](ctx, s, trace.LegB)
	if err != nil {
		return nil, err
	}
	secret, err := kex.UnwrapSecret(s.n.opts.RSAKey, kt.Wrapped)
	if err != nil {
		return nil, &legError{leg: trace.LegB, err: err}
	}
	wrapped, err := kex.WrapSecret(clientKey, secret)
	if err != nil {
		return nil, err
	}
	if _, err := s.send(ctx, trace.LegA, &wire.KeyTransport{Wrapped: wrapped}, trace.Substituted,
		"the server's secret, unwrapped by the attacker and re-wrapped to the client's key"); err != nil {
		return nil, err
	}
	return newReadRelay(kex.RSASecrets(secret))
}

// substituteShares is the pinned-ecdh attack that keeps the real server's
// certificate, so the pin matches, and replaces both key shares with the
// attacker's. It recomputes every MAC it can. The server's signature covers
// the hellos the server saw, which are not the ones the client saw, and the
// attacker cannot sign for the server's key, so the client refuses.
func (s *session) substituteShares(ctx context.Context) (relay, error) {
	chm, ch, err := readAs[*wire.ClientHello](ctx, s, trace.LegA)
	if err != nil {
		return nil, err
	}
	toClient, err := kex.NewKeyShare()
	if err != nil {
		return nil, err
	}
	toServer, err := kex.NewKeyShare()
	if err != nil {
		return nil, err
	}
	chB := *chm
	chB.KeyShare = toServer.Public()
	ch2, err := s.send(ctx, trace.LegB, &chB, trace.Substituted, "the client's key share replaced with the attacker's")
	if err != nil {
		return nil, err
	}
	shm, sh, err := readAs[*wire.ServerHello](ctx, s, trace.LegB)
	if err != nil {
		return nil, err
	}
	sharedB, err := toServer.Shared(shm.KeyShare)
	if err != nil {
		return nil, &legError{leg: trace.LegB, err: err}
	}
	shA := *shm
	shA.KeyShare = toClient.Public()
	sh2, err := s.send(ctx, trace.LegA, &shA, trace.Substituted, "the server's key share replaced; its certificate kept")
	if err != nil {
		return nil, err
	}
	svm, sv, err := readAs[*wire.ServerVerify](ctx, s, trace.LegB)
	if err != nil {
		return nil, err
	}
	sharedA, err := toClient.Shared(chm.KeyShare)
	if err != nil {
		return nil, &legError{leg: trace.LegA, err: err}
	}
	schedA := kex.NewPinnedSchedule(sharedA, ch, sh2)
	schedB := kex.NewPinnedSchedule(sharedB, ch2, sh)
	svA := &wire.ServerVerify{Signature: svm.Signature, Finished: schedA.ServerFinished(svm.Signature)}
	sv2, err := s.send(ctx, trace.LegA, svA, trace.Substituted,
		"the server's signature kept (the attacker cannot make one); finished MAC recomputed")
	if err != nil {
		return nil, err
	}
	// A client that checks the signature closes here with 1008.
	cfm, cf, err := readAs[*wire.ClientFinished](ctx, s, trace.LegA)
	if err != nil {
		return nil, err
	}
	if !schedA.VerifyClientFinished(sv2, cfm.MAC) {
		return nil, &legError{leg: trace.LegA, err: kex.ErrBadFinished}
	}
	cf2, err := s.send(ctx, trace.LegB, &wire.ClientFinished{MAC: schedB.ClientFinished(sv)}, trace.Substituted,
		"client finished recomputed with the attacker's key")
	if err != nil {
		return nil, err
	}
	return newReencryptRelay(schedA.Traffic(sv2, cf), schedB.Traffic(sv, cf2))
}
