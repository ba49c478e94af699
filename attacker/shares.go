package attacker

import (
	"context"

	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/trace"
)

// runSubstituteShares is the pinned-ecdh attack that keeps the real
// server's certificate, so the pin matches, and replaces both key shares
// with the node's own. It recomputes every MAC it can. The server's
// signature covers the hellos the server saw, which are not the ones the
// client saw, and the node cannot sign for the server's key, so the client
// refuses. It is built from the exported pinned-ecdh steps.
func runSubstituteShares(ctx context.Context, s *session) (relay, error) {
	const kept = "taken by the attacker, who sends his own version"
	chm, ch, err := take[*kex.ClientHello](ctx, s, trace.LegA, kept)
	if err != nil {
		return nil, err
	}
	toClient, err := kex.NewKeyShare(s.n.opts.Rand)
	if err != nil {
		return nil, err
	}
	toServer, err := kex.NewKeyShare(s.n.opts.Rand)
	if err != nil {
		return nil, err
	}
	chB := *chm
	chB.KeyShare = toServer.Public()
	ch2, err := s.send(ctx, trace.LegB, &chB, trace.Substituted, "the client's key share replaced with the attacker's")
	if err != nil {
		return nil, err
	}
	shm, sh, err := take[*kex.ServerHello](ctx, s, trace.LegB, kept)
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
	svm, sv, err := take[*kex.ServerVerify](ctx, s, trace.LegB, kept)
	if err != nil {
		return nil, err
	}
	sharedA, err := toClient.Shared(chm.KeyShare)
	if err != nil {
		return nil, &legError{leg: trace.LegA, err: err}
	}
	schedA := kex.NewPinnedSchedule(sharedA, ch, sh2)
	schedB := kex.NewPinnedSchedule(sharedB, ch2, sh)
	svA := &kex.ServerVerify{Signature: svm.Signature, Finished: schedA.ServerFinished(svm.Signature)}
	sv2, err := s.send(ctx, trace.LegA, svA, trace.Substituted,
		"the server's signature kept (the attacker cannot make one); finished MAC recomputed")
	if err != nil {
		return nil, err
	}
	// A client that checks the signature closes here with 1008.
	cfm, cf, err := take[*kex.ClientFinished](ctx, s, trace.LegA, kept)
	if err != nil {
		return nil, err
	}
	if !schedA.VerifyClientFinished(sv2, cfm.MAC) {
		return nil, &legError{leg: trace.LegA, err: kex.ErrBadFinished}
	}
	cf2, err := s.send(ctx, trace.LegB, &kex.ClientFinished{MAC: schedB.ClientFinished(sv)}, trace.Substituted,
		"client finished recomputed with the attacker's key")
	if err != nil {
		return nil, err
	}
	return newReencryptRelay(schedA.Traffic(sv2, cf), schedB.Traffic(sv, cf2))
}
