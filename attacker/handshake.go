package attacker

import (
	"context"

	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// runPassive relays every frame, handshake included, through a relay that
// holds no keys.
func runPassive(_ context.Context, s *session) (relay, error) {
	return passiveRelay{keyless: s.keyless}, nil
}

// handshakeTap records handshake frames on leg while the node runs a
// scheme half there: what it receives it answers itself, so it is
// intercepted; what it sends it made itself.
func (s *session) handshakeTap(leg trace.Leg, note string) wire.Tap {
	return func(sent bool, msg []byte) {
		p := s.parse(append([]byte(nil), msg...))
		if sent {
			s.record(leg, outbound(leg), p, trace.Substituted, nil, madeNote(p, note))
			return
		}
		s.record(leg, inbound(leg), p, trace.Intercepted, nil, "taken by the attacker, who answers it himself")
	}
}

// madeNote says what the node put in a handshake message it made itself:
// note describes its hellos; the later messages carry its own signature,
// MACs or wrapped secret.
func madeNote(p parsed, note string) string {
	switch p.typ {
	case "server_verify":
		return "signed with the attacker's own key; finished MAC under his own key share"
	case "client_finished":
		return "the attacker's own finished MAC, under the key he shares with the server"
	case "key_transport":
		return "a secret the attacker made and wrapped himself"
	case "rsa_public_key":
		return "the attacker's own RSA key"
	}
	return note
}

// runDoubleHandshake runs the scheme's own server half toward the client
// and its client half toward the server, each with the node's own keys.
// Against a scheme with an identity this is impersonation: the node
// presents its own certificate, which a pinning client refuses.
func runDoubleHandshake(ctx context.Context, s *session) (relay, error) {
	note := "the attacker's own key share"
	if s.n.opts.Scheme.Identity {
		note = "the attacker's own key share and certificate"
	}
	scfg := &kex.ServerConfig{Identity: s.n.opts.Identity, RSAKey: s.n.opts.RSAKey, Rand: s.n.opts.Rand}
	// INSECURE(attacker): Mallory does not care who the server is.
	ccfg := &kex.ClientConfig{SkipPinCheck: true, RSAKey: s.n.opts.RSAKey, Rand: s.n.opts.Rand}
	return s.doubleHandshake(ctx, scfg, ccfg, note, "the attacker's own key share")
}

// runStripOffer removes the signed scheme from the client's offer: toward
// the client the node is a server that cannot sign, toward the server a
// client that offers only what the node can break.
func runStripOffer(ctx context.Context, s *session) (relay, error) {
	scfg := &kex.ServerConfig{Schemes: []string{kex.NameUnauthECDH}, Rand: s.n.opts.Rand}
	ccfg := &kex.ClientConfig{SkipPinCheck: true, Offer: []string{kex.NameUnauthECDH}, AcceptFallback: true, Rand: s.n.opts.Rand}
	return s.doubleHandshake(ctx, scfg, ccfg,
		"unauth-ecdh chosen for the server, with the attacker's own key share",
		"offer stripped to unauth-ecdh; the attacker's own key share")
}

func (s *session) doubleHandshake(ctx context.Context, scfg *kex.ServerConfig, ccfg *kex.ClientConfig, noteA, noteB string) (relay, error) {
	sch := s.n.opts.Scheme
	s.a.SetTap(s.handshakeTap(trace.LegA, noteA))
	s.b.SetTap(s.handshakeTap(trace.LegB, noteB))
	defer s.a.SetTap(nil)
	defer s.b.SetTap(nil)

	// One exchange after the other, client side first, so the ledger reads
	// in the order a person would tell it.
	sa, err := sch.Server(ctx, s.a, scfg)
	if err != nil {
		return nil, &legError{leg: trace.LegA, err: err}
	}
	sb, err := sch.Client(ctx, s.b, ccfg)
	if err != nil {
		return nil, &legError{leg: trace.LegB, err: err}
	}
	sa.Suite, sb.Suite = sch.Suite, sch.Suite
	return newReencryptRelay(sa, sb)
}

// readAs reads one message of type T from leg. The caller records it with
// the verdict it earns; a message that does not decode is recorded here,
// as intercepted.
func readAs[T wire.Message](ctx context.Context, s *session, leg trace.Leg) (T, []byte, error) {
	var zero T
	raw, err := s.conn(leg).Read(ctx)
	if err != nil {
		return zero, nil, &legError{leg: leg, err: err}
	}
	s.keep(raw)
	m, err := wire.DecodeAs[T](s.codec, raw)
	if err != nil {
		s.record(leg, inbound(leg), s.parse(raw), trace.Intercepted, nil, "does not decode: "+err.Error())
		return zero, nil, &legError{leg: leg, err: err}
	}
	return m, raw, nil
}

// take reads the next message on leg as a T, as readAs does, and records
// it as INTERCEPTED with note: Mallory keeps it and sends something of his
// own in its place.
func take[T wire.Message](ctx context.Context, s *session, leg trace.Leg, note string) (T, []byte, error) {
	m, raw, err := readAs[T](ctx, s, leg)
	if err != nil {
		return m, nil, err
	}
	s.record(leg, inbound(leg), s.parse(raw), trace.Intercepted, nil, note)
	return m, raw, nil
}

// send writes m on leg and records it with verdict v.
func (s *session) send(ctx context.Context, leg trace.Leg, m wire.Message, v trace.Verdict, note string) ([]byte, error) {
	raw, err := wire.Encode(m)
	if err != nil {
		return nil, &legError{leg: leg, err: err}
	}
	s.record(leg, outbound(leg), s.parse(raw), v, nil, note)
	if err := s.conn(leg).Write(ctx, raw); err != nil {
		return nil, &legError{leg: leg, err: err}
	}
	return raw, nil
}
