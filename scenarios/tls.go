package scenarios

import (
	"context"
	"fmt"
	"net"
	"net/http"

	"github.com/mitmlab/mitmlab/tlslab"
	"github.com/mitmlab/mitmlab/trace"
)

// The schemes of the TLS scenarios, as Scenario.Scheme and Outcome.Scheme
// name them.
const (
	// SchemeTLS13 is plain chat over wss://: TLS 1.3 from crypto/tls and
	// nothing else.
	SchemeTLS13 = "tls13"
	// SchemeHTTPSKey is the first answer's design: an RSA key fetched over
	// HTTPS, an AES key wrapped in it with RSA-OAEP, chat sealed with that
	// key over wss://.
	SchemeHTTPSKey = "tls13+rsa-oaep"
)

// tlsScenarios are the scenarios that answer the original question with
// real TLS: a key fetched over HTTPS, and wss:// with and without
// certificate checks. They run on their own runner (see runTLS).
func tlsScenarios() []Scenario {
	return []Scenario{
		{
			Name:    "https-key-skipverify",
			Title:   "RSA key fetched over HTTPS with certificate checks off",
			Lesson:  "Alice GETs Bob's RSA key over HTTPS with InsecureSkipVerify, then POSTs an AES key wrapped in it and chats over wss://.\nMallory answers her TLS connections with a certificate he signed himself. Can he read the chat?",
			Scheme:  SchemeHTTPSKey,
			Attack:  tlslab.TerminateTLS,
			Expect:  "the attacker reads every message; neither victim notices",
			attacks: tlslab.Attacks(),
			run:     runTLS(tlslab.FlowHTTPSKey, tlslab.SkipVerify),
		},
		{
			Name:    "https-key-verified",
			Title:   "RSA key fetched over HTTPS with the certificate verified",
			Lesson:  "Alice GETs Bob's RSA key over HTTPS and trusts only the lab's CA, then POSTs an AES key wrapped in it.\nMallory answers her TLS connections with a certificate he signed himself. Can he read the chat?",
			Scheme:  SchemeHTTPSKey,
			Attack:  tlslab.TerminateTLS,
			Expect:  "the client refuses the server: " + tlslab.ReasonUnknownAuthority + "; the attacker reads nothing",
			attacks: tlslab.Attacks(),
			run:     runTLS(tlslab.FlowHTTPSKey, tlslab.VerifyCA),
		},
		{
			Name:    "wss-skipverify",
			Title:   "Chat over wss:// with certificate checks off",
			Lesson:  "Alice chats with Bob over wss:// (TLS 1.3) with InsecureSkipVerify, as people do to get past a self-signed certificate.\nMallory answers her TLS connection with a certificate he signed himself. Can he read the chat?",
			Scheme:  SchemeTLS13,
			Attack:  tlslab.TerminateTLS,
			Expect:  "the attacker reads every message; neither victim notices",
			attacks: tlslab.Attacks(),
			run:     runTLS(tlslab.FlowWSS, tlslab.SkipVerify),
		},
		{
			Name:    "wss-ca-verified",
			Title:   "Chat over wss:// with the certificate checked against a CA",
			Lesson:  "Alice chats with Bob over wss:// and trusts only the lab's CA, which issued Bob's certificate.\nMallory answers her TLS connection with a certificate he signed himself. Can he read the chat?",
			Scheme:  SchemeTLS13,
			Attack:  tlslab.TerminateTLS,
			Expect:  "the client refuses the server: " + tlslab.ReasonUnknownAuthority + "; the attacker reads nothing",
			attacks: tlslab.Attacks(),
			run:     runTLS(tlslab.FlowWSS, tlslab.VerifyCA),
		},
		{
			Name:    "wss-pinned",
			Title:   "Chat over wss:// with a CA-verified, pinned server key",
			Lesson:  "Alice trusts the lab's CA and has also pinned the hash of Bob's public key.\nThe CA is compromised and signs Mallory a certificate for bob.lab. Can he read the chat?",
			Scheme:  SchemeTLS13,
			Attack:  tlslab.MisIssuedCert,
			Expect:  "the client refuses the server: " + tlslab.ReasonPinMismatch + "; the attacker reads nothing",
			attacks: tlslab.Attacks(),
			run:     runTLS(tlslab.FlowWSS, tlslab.VerifyPin),
		},
	}
}

// runTLS returns the runner for one TLS flow and client check. It builds
// the Outcome as [Run] does for the scheme scenarios: the messages from
// Alice's and Bob's own records, what the attacker recovered from his
// ledger, and a refused certificate as detection by the client, with the
// real crypto/tls, crypto/x509 or pin error in ClientErr.
func runTLS(flow tlslab.Flow, check tlslab.Check) runFunc {
	return func(ctx context.Context, sc Scenario, o *Options) (*Outcome, error) {
		attack := sc.Attack
		if o.Attack != "" {
			attack = o.Attack
		}
		if o.NoAttacker {
			attack = ""
		} else if err := tlslab.CheckAttack(attack); err != nil {
			return nil, err
		}
		nw, err := newNetwork(o.Transport)
		if err != nil {
			return nil, err
		}
		defer nw.close()
		msgs := make([][]byte, len(o.Messages))
		for i, m := range o.Messages {
			msgs[i] = []byte(m)
		}
		res, err := tlslab.Run(ctx, &tlslab.Config{
			Flow:     flow,
			Check:    check,
			Attack:   attack,
			Messages: msgs,
			Listen: func(host string) (net.Listener, error) {
				l, _, err := nw.listen(host)
				return l, err
			},
			Dial: nw.dialer(),
			Log:  trace.NewLog(o.OnEvent),
		})
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", sc.Name, err)
		}
		reason, refused := tlslab.Refusal(res.Chat.Err)
		if res.Chat.Err != nil && len(res.Sessions) == 0 && !refused {
			return nil, fmt.Errorf("run %s: %w", sc.Name, res.Chat.Err)
		}
		out := newOutcome(sc, attack, o.Transport, msgs, res.Chat, res.Sessions, res.Events)
		if refused {
			out.Detected, out.DetectedBy, out.Reason = true, "client", reason
		}
		return out, nil
	}
}

// dialer returns the function that connects to the network's listeners,
// by the address their Addr gives.
func (n *network) dialer() tlslab.DialFunc {
	if tr, ok := n.client.Transport.(*http.Transport); ok && tr.DialContext != nil {
		return tr.DialContext
	}
	var d net.Dialer
	return d.DialContext
}
