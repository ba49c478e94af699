package attacker

import (
	"context"
	"fmt"

	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/trace"
)

// runSwapRSAKey is the attack on RSA key transport. Whichever side sends
// its RSA public key (the client in plaintext-rsa, the server in
// static-rsa), the node keeps it and sends its own instead; it unwraps
// the secret that comes back under its own key, and wraps that same secret
// to the key it kept. Both victims then share keys the node holds too, and
// it reads every record without touching one. It is built from the
// exported plaintext-rsa steps.
func runSwapRSAKey(ctx context.Context, s *session) (relay, error) {
	keyLeg, owner, peer := trace.LegA, "client", "server"
	if s.n.opts.Scheme.RSAIdentity {
		keyLeg, owner, peer = trace.LegB, "server", "client"
	}
	wrapLeg := other(keyLeg)

	pk, _, err := take[*kex.RSAPublicKey](ctx, s, keyLeg, "the "+owner+"'s RSA key, kept by the attacker")
	if err != nil {
		return nil, err
	}
	theirs, err := kex.ParseRSAPublicKey(pk.SPKI)
	if err != nil {
		return nil, &legError{leg: keyLeg, err: err}
	}
	own, err := kex.MarshalRSAPublicKey(&s.n.opts.RSAKey.PublicKey)
	if err != nil {
		return nil, err
	}
	if _, err := s.send(ctx, wrapLeg, &kex.RSAPublicKey{SPKI: own}, trace.Substituted,
		"the "+owner+"'s key swapped for the attacker's own"); err != nil {
		return nil, err
	}
	kt, raw, err := readAs[*kex.KeyTransport](ctx, s, wrapLeg)
	if err != nil {
		return nil, err
	}
	secret, err := kex.UnwrapSecret(s.n.opts.RSAKey, kt.Wrapped)
	if err != nil {
		s.record(wrapLeg, inbound(wrapLeg), s.parse(raw), trace.Opaque, nil, "does not unwrap with the attacker's key: "+err.Error())
		return nil, &legError{leg: wrapLeg, err: err}
	}
	s.record(wrapLeg, inbound(wrapLeg), s.parse(raw), trace.Read, secret,
		fmt.Sprintf("unwrapped with the attacker's own RSA key: the %s's session secret", peer))
	wrapped, err := kex.WrapSecret(theirs, secret)
	if err != nil {
		return nil, err
	}
	if _, err := s.send(ctx, keyLeg, &kex.KeyTransport{Wrapped: wrapped}, trace.Substituted,
		"the same secret, re-wrapped by the attacker to the "+owner+"'s real key"); err != nil {
		return nil, err
	}
	secrets := kex.RSASecrets(secret)
	secrets.Suite = s.n.opts.Scheme.Suite
	return newReadRelay(secrets)
}
