package kex_test

import (
	"testing"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/wire"
)

// TestPinnedNegotiation runs real halves with each offer and server
// preference, and checks which scheme they settle on, or how they refuse.
func TestPinnedNegotiation(t *testing.T) {
	t.Parallel()
	id := newIdentity(t, "bob")
	both := []string{"pinned-ecdh", "unauth-ecdh"}
	tests := []struct {
		name          string
		offer         []string
		fallback      bool
		serverSchemes []string
		chosen        string
		clientErr     error
	}{
		{"pinned-ecdh/server prefers pinned-ecdh from a two-scheme offer", both, false, both, "pinned-ecdh", nil},
		{"pinned-ecdh/server's preference wins over the client's order", []string{"unauth-ecdh", "pinned-ecdh"}, false, both, "pinned-ecdh", nil},
		{"downgrade/client that does not accept fallback refuses unauth-ecdh", both, false, []string{"unauth-ecdh"}, "unauth-ecdh", kex.ErrDowngrade},
		{"downgrade/client that accepts fallback gets unauth-ecdh", both, true, []string{"unauth-ecdh"}, "unauth-ecdh", nil},
		{"downgrade/client that offers only pinned-ecdh never gets unauth-ecdh", nil, true, both, "pinned-ecdh", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, s := wsPair(t)
			var chosen string
			tap := func(sent bool, m []byte) {
				if !sent && wire.PeekType(m) == wire.TypeServerHello {
					sh, err := wire.DecodeAs[*wire.ServerHello](m)
					if err == nil {
						chosen = sh.Chosen
					}
				}
			}
			cc, scn := wire.NewConn(c, tap), wire.NewConn(s, nil)
			ctx := testContext(t)
			srv := run(func() (*channel.Secrets, error) {
				return kex.PinnedECDH{}.Server(ctx, scn, &kex.ServerConfig{Identity: id, Schemes: tt.serverSchemes})
			})
			cs, err := kex.PinnedECDH{}.Client(ctx, cc, &kex.ClientConfig{Pin: id.Pin(), Offer: tt.offer, AcceptFallback: tt.fallback})
			if tt.clientErr != nil {
				wantHandshakeError(t, err, tt.clientErr, "pinned-ecdh", kex.ClientSide, "check chosen scheme")
				if code, _ := closeCode(t, s); code != policy {
					t.Errorf("server end got close %d, want 1008", code)
				}
				<-srv // it chose unauth-ecdh and finished; the client walked away
				return
			}
			r := <-srv
			if err != nil || r.err != nil {
				t.Fatalf("client %v; server %v", err, r.err)
			}
			if *cs != *r.secrets {
				t.Errorf("client and server secrets differ")
			}
			if chosen != tt.chosen {
				t.Errorf("server chose %q, want %q", chosen, tt.chosen)
			}
		})
	}
}

// TestFallbackRefusesLowOrderPoint: the unauth-ecdh fallback inside the
// pinned-ecdh client still checks the key share.
func TestFallbackRefusesLowOrderPoint(t *testing.T) {
	t.Parallel()
	c, s := wsPair(t)
	cc, fake := wire.NewConn(c, nil), wire.NewConn(s, nil)
	ctx := testContext(t)
	pin := newIdentity(t, "bob").Pin()
	cli := run(func() (*channel.Secrets, error) {
		return kex.PinnedECDH{}.Client(ctx, cc, &kex.ClientConfig{
			Pin: pin, Offer: []string{"pinned-ecdh", "unauth-ecdh"}, AcceptFallback: true})
	})
	readMsg[*wire.ClientHello](t, ctx, fake)
	writeMsg(t, ctx, fake, &wire.ServerHello{Nonce: nonce(), KeyShare: make([]byte, 32), Chosen: "unauth-ecdh"})
	code, _ := closeCode(t, s)
	r := <-cli
	wantHandshakeError(t, r.err, kex.ErrLowOrderPoint, "pinned-ecdh", kex.ClientSide, "compute shared secret")
	if code != policy {
		t.Errorf("fake server got close %d, want 1008", code)
	}
}
