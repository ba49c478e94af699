package tlslab_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/tlslab"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

var script = [][]byte{[]byte("hi Bob, it's Alice"), []byte("my card PIN is 4921"), []byte("see you at 6")}

func runLab(t *testing.T, flow tlslab.Flow, check tlslab.Check, attack attacker.Attack, loop bool) *tlslab.Result {
	t.Helper()
	listen, dial := network()
	if loop {
		listen, dial = loopback()
	}
	res, err := tlslab.Run(t.Context(), &tlslab.Config{Flow: flow, Check: check, Attack: attack, Messages: script, Listen: listen, Dial: dial})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

// chatDelivered checks that every message and reply arrived intact.
func chatDelivered(t *testing.T, res *tlslab.Result) {
	t.Helper()
	if res.Chat.Err != nil {
		t.Fatalf("chat failed: %v", res.Chat.Err)
	}
	if len(res.Sessions) != 1 {
		t.Fatalf("Bob has %d sessions, want 1", len(res.Sessions))
	}
	bob := res.Sessions[0]
	for i, m := range script {
		if i >= len(bob.Received) || !bytes.Equal(bob.Received[i], m) {
			t.Errorf("Bob did not receive message %d %q intact", i, m)
		}
		if i >= len(res.Chat.Replies) || !bytes.Equal(res.Chat.Replies[i], victim.DefaultReply(m)) {
			t.Errorf("Alice did not receive reply %d intact", i)
		}
	}
}

// recovered returns what the attacker read on each sender's leg, by
// direction and sequence number.
func recovered(events []trace.Event) map[string][]byte {
	out := map[string][]byte{}
	for _, e := range events {
		if e.Verdict != trace.Read || e.Seq == nil {
			continue
		}
		if (e.Dir == wire.ClientToServer && e.Leg == trace.LegA) || (e.Dir == wire.ServerToClient && e.Leg == trace.LegB) {
			out[fmt.Sprintf("%s/%d", e.Dir, *e.Seq)] = e.Recovered
		}
	}
	return out
}

// readAll checks that the attacker read every message and reply, byte
// for byte.
func readAll(t *testing.T, res *tlslab.Result) {
	t.Helper()
	got := recovered(res.Events)
	for i, m := range script {
		if k := fmt.Sprintf("c2s/%d", i); !bytes.Equal(got[k], m) {
			t.Errorf("attacker recovered %q for Alice's message %d, she sent %q", got[k], i, m)
		}
		if k := fmt.Sprintf("s2c/%d", i); !bytes.Equal(got[k], res.Sessions[0].Replies[i]) {
			t.Errorf("attacker recovered %q for Bob's reply %d, he sent %q", got[k], i, res.Sessions[0].Replies[i])
		}
	}
}

func find(events []trace.Event, leg trace.Leg, dir wire.Direction, typ string) []trace.Event {
	var out []trace.Event
	for _, e := range events {
		if e.Leg == leg && e.Dir == dir && e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func pinOf(t *testing.T, der []byte) string {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tlslab.Pin(c)
}

// TestTerminateSkipVerify:
//
// ATTACK SCENARIO: Alice skips certificate checks; Mallory terminates TLS
// with a certificate he signed himself and opens his own TLS to Bob.
// THIS TEST VERIFIES: the chat arrives intact, and Mallory's ledger holds
// every message and reply, byte for byte, decrypted by his own TLS
// endpoints; the certificate Alice saw is his, the one he saw is Bob's.
func TestTerminateSkipVerify(t *testing.T) {
	t.Parallel()
	for _, loop := range []bool{false, true} {
		t.Run(fmt.Sprintf("loopback=%v", loop), func(t *testing.T) {
			t.Parallel()
			res := runLab(t, tlslab.FlowWSS, tlslab.SkipVerify, tlslab.TerminateTLS, loop)
			chatDelivered(t, res)
			readAll(t, res)
			a := find(res.Events, trace.LegA, wire.ServerToClient, "tls_certificate")
			if len(a) != 1 || a[0].Verdict != trace.Substituted || !strings.Contains(a[0].Note, pinOf(t, res.AttackerCertificate)) || !strings.Contains(a[0].Note, "self-signed") {
				t.Errorf("leg A certificate events %+v; want one SUBSTITUTED, naming Mallory's self-signed key", a)
			}
			b := find(res.Events, trace.LegB, wire.ServerToClient, "tls_certificate")
			if len(b) != 1 || b[0].Verdict != trace.Public || !strings.Contains(b[0].Note, pinOf(t, res.BobCertificate)) {
				t.Errorf("leg B certificate events %+v; want one PUBLIC, naming Bob's key", b)
			}
		})
	}
}

// TestRefusedBeforeAnyData:
//
// ATTACK SCENARIO: Alice trusts only the lab CA; Mallory presents a
// certificate he signed himself, for the https-key flow and the wss flow.
// THIS TEST VERIFIES: Alice refuses with x509.UnknownAuthorityError; Bob
// sees nothing; the ledger has no read frame, no HTTP request and no chat
// message, and shows Alice's alert.
func TestRefusedBeforeAnyData(t *testing.T) {
	t.Parallel()
	for _, flow := range []tlslab.Flow{tlslab.FlowWSS, tlslab.FlowHTTPSKey} {
		t.Run(string(flow), func(t *testing.T) {
			t.Parallel()
			res := runLab(t, flow, tlslab.VerifyCA, tlslab.TerminateTLS, false)
			var unknown x509.UnknownAuthorityError
			if !errors.As(res.Chat.Err, &unknown) {
				t.Fatalf("Alice's error %v is not x509.UnknownAuthorityError", res.Chat.Err)
			}
			if len(res.Chat.Sent) != 0 || len(res.Sessions) != 0 {
				t.Errorf("Alice sent %d messages, Bob has %d sessions; want none", len(res.Chat.Sent), len(res.Sessions))
			}
			for _, e := range res.Events {
				if e.Verdict == trace.Read || e.Verdict == trace.Forged || e.Leg != trace.LegA || !strings.HasPrefix(e.Type, "tls_") {
					t.Errorf("unexpected event after a refusal: %+v", e)
				}
			}
			alerts := find(res.Events, trace.LegA, wire.ClientToServer, "tls_alert")
			if len(alerts) != 1 || alerts[0].Verdict != trace.Blocked || !strings.Contains(alerts[0].Note, "bad certificate") {
				t.Errorf("Alice's alerts %+v; want one BLOCKED bad certificate", alerts)
			}
		})
	}
}

// TestPinnedRefusesMisIssued: the compromised CA's certificate passes the
// CA check and fails the pin.
func TestPinnedRefusesMisIssued(t *testing.T) {
	t.Parallel()
	res := runLab(t, tlslab.FlowWSS, tlslab.VerifyPin, tlslab.MisIssuedCert, true)
	var cve *tls.CertificateVerificationError
	if !errors.Is(res.Chat.Err, kex.ErrPinMismatch) || errors.As(res.Chat.Err, &cve) {
		t.Fatalf("Alice's error %v; want kex.ErrPinMismatch and no CA failure", res.Chat.Err)
	}
	if len(recovered(res.Events)) != 0 || len(res.Sessions) != 0 {
		t.Error("the attacker read something, or Bob saw a session")
	}
	// The same certificate against a client that checks the CA alone.
	res = runLab(t, tlslab.FlowWSS, tlslab.VerifyCA, tlslab.MisIssuedCert, false)
	chatDelivered(t, res)
	readAll(t, res)
}

// TestPassiveRelay:
//
// ATTACK SCENARIO: Mallory only copies bytes between Alice and Bob.
// THIS TEST VERIFIES: the chat works; Mallory sees the hellos and opaque
// records only, and what he forwards on leg B is byte for byte what he
// received on leg A, and the other way round.
func TestPassiveRelay(t *testing.T) {
	t.Parallel()
	for _, flow := range []tlslab.Flow{tlslab.FlowWSS, tlslab.FlowHTTPSKey} {
		t.Run(string(flow), func(t *testing.T) {
			t.Parallel()
			res := runLab(t, flow, tlslab.SkipVerify, attacker.Passive, false)
			chatDelivered(t, res)
			streams := map[string][]byte{}
			opaque := 0
			for _, e := range res.Events {
				switch e.Verdict {
				case trace.Public:
				case trace.Opaque:
					opaque++
				default:
					t.Errorf("a passive relay recorded %s: %+v", e.Verdict, e)
				}
				if !strings.HasPrefix(e.Type, "tls_") || e.Recovered != nil {
					t.Errorf("a passive relay recorded %+v", e)
				}
				k := fmt.Sprintf("%d/%s", e.Conn, e.Dir)
				if e.Leg == trace.LegA {
					k += "/A"
				} else {
					k += "/B"
				}
				streams[k] = append(streams[k], e.Raw...)
			}
			if opaque == 0 {
				t.Error("no opaque records")
			}
			for k, a := range streams {
				if !strings.HasSuffix(k, "/A") {
					continue
				}
				if b := streams[strings.TrimSuffix(k, "/A")+"/B"]; !bytes.Equal(a, b) {
					t.Errorf("%s: leg A carried %d bytes, leg B %d different bytes", k, len(a), len(b))
				}
			}
		})
	}
}

func TestNoAttacker(t *testing.T) {
	t.Parallel()
	res := runLab(t, tlslab.FlowHTTPSKey, tlslab.VerifyPin, "", true)
	chatDelivered(t, res)
	for _, e := range res.Events {
		if e.Leg != trace.LegWire || (e.Verdict != trace.Public && e.Verdict != trace.Opaque) {
			t.Errorf("eavesdropper event %+v", e)
		}
	}
	if len(find(res.Events, trace.LegWire, wire.ClientToServer, "tls_client_hello")) == 0 {
		t.Error("the eavesdropper saw no ClientHello")
	}
}

var aesKeyNote = regexp.MustCompile(`AES key ([0-9a-f]{64})`)

// TestHTTPSKeyStolen:
//
// ATTACK SCENARIO: the first answer's design with certificate checks off.
// Mallory serves his own RSA key on GET /key and unwraps the AES key Alice
// POSTs.
// THIS TEST VERIFIES: the key his ledger names opens Alice's sealed chat
// records as they crossed leg A, byte for byte, independently of his own
// reading of them; and he read every message.
func TestHTTPSKeyStolen(t *testing.T) {
	t.Parallel()
	res := runLab(t, tlslab.FlowHTTPSKey, tlslab.SkipVerify, tlslab.TerminateTLS, false)
	chatDelivered(t, res)
	readAll(t, res)
	posts := find(res.Events, trace.LegA, wire.ClientToServer, "http_request")
	var key []byte
	for _, e := range posts {
		if m := aesKeyNote.FindStringSubmatch(e.Note); m != nil {
			key, _ = hex.DecodeString(m[1])
		}
	}
	if key == nil {
		t.Fatal("no POST /session event names the unwrapped key")
	}
	open, err := channel.NewOpener(kex.RSASecrets(key).ClientToServer, wire.ClientToServer)
	if err != nil {
		t.Fatal(err)
	}
	data := find(res.Events, trace.LegA, wire.ClientToServer, string(wire.TypeData))
	if len(data) != len(script) {
		t.Fatalf("%d data frames on leg A, want %d", len(data), len(script))
	}
	for i, e := range data {
		d, err := wire.DecodeAs[*wire.Data](e.Raw)
		if err != nil {
			t.Fatal(err)
		}
		pt, err := open.Open(d)
		if err != nil || !bytes.Equal(pt, script[i]) {
			t.Errorf("frame %d opens to %q, %v; Alice sent %q", i, pt, err, script[i])
		}
	}
	swapped := find(res.Events, trace.LegA, wire.ServerToClient, "http_response")
	if len(swapped) == 0 || swapped[0].Verdict != trace.Substituted {
		t.Errorf("the first response to Alice is %+v; want Mallory's key, SUBSTITUTED", swapped)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	listen, dial := network()
	ctx := context.Background()
	for _, cfg := range []*tlslab.Config{
		{Flow: "ftp", Check: tlslab.SkipVerify, Listen: listen, Dial: dial},
		{Flow: tlslab.FlowWSS, Check: tlslab.SkipVerify, Attack: attacker.Impersonate, Listen: listen, Dial: dial},
		{Flow: tlslab.FlowWSS, Check: tlslab.SkipVerify},
		{Flow: tlslab.FlowWSS, Check: "none", Listen: listen, Dial: dial},
	} {
		if _, err := tlslab.Run(ctx, cfg); err == nil {
			t.Errorf("Run(%+v) succeeded", cfg)
		}
	}
	if _, err := tlslab.NewAttacker(tlslab.AttackerOptions{Flow: tlslab.FlowWSS, Attack: tlslab.TerminateTLS, Dial: dial}); err == nil {
		t.Error("an attacker that terminates TLS with no certificate was accepted")
	}
	if _, err := tlslab.NewServer(tlslab.ServerOptions{Flow: tlslab.FlowWSS}); err == nil {
		t.Error("a server with no certificate was accepted")
	}
	if err := tlslab.CheckAttack(attacker.SwapRSAKey); err == nil || !strings.Contains(err.Error(), "does not apply") {
		t.Errorf("CheckAttack(swap-rsa-key) = %v", err)
	}
}

// TestServerRefusesBadRequests sends Bob what a broken or hostile client
// might.
func TestServerRefusesBadRequests(t *testing.T) {
	t.Parallel()
	c := newCerts(t)
	bob, err := tlslab.NewServer(tlslab.ServerOptions{Flow: tlslab.FlowHTTPSKey, Certificate: c.bob})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bob.Start(l)
	tr := &http.Transport{TLSClientConfig: &tls.Config{ServerName: tlslab.ServerName, RootCAs: c.ca.Pool(), MinVersion: tls.VersionTLS13}}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	base := "https://" + l.Addr().String()
	tests := []struct {
		method, path, body string
		want               int
	}{
		{"POST", tlslab.PathSession, `{"wrapped_key":"AAAA"}`, http.StatusBadRequest},
		{"POST", tlslab.PathSession, `{"wrapped_key":"AAAA","extra":1}`, http.StatusBadRequest},
		{"POST", tlslab.PathSession, strings.Repeat("x", 8<<10), http.StatusBadRequest},
		{"GET", tlslab.PathChat + "?session=nope", "", http.StatusForbidden},
		{"GET", tlslab.PathSession, "", http.StatusMethodNotAllowed},
		{"GET", tlslab.PathKey, "", http.StatusOK},
	}
	for _, tt := range tests {
		req, err := http.NewRequestWithContext(t.Context(), tt.method, base+tt.path, strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tt.method, tt.path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
		}
	}
}
