package attacker

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/mitmlab/mitmlab/tlslab"
	"github.com/mitmlab/mitmlab/trace"
)

// TLS says the victims speak wss://: the node's listener and its upstream
// are TLS. Without terminating TLS the node can only copy bytes (passive);
// terminate-tls and mis-issued-cert end the victim's TLS at the node, open
// the node's own to the server, and run the lab attack that reads the
// scheme inside.
type TLS struct {
	// ServerName is the name the victims ask for; every certificate the
	// node presents claims it.
	ServerName string
	// Dial opens a raw connection to the real server, for the address in
	// the Upstream URL.
	Dial tlslab.DialFunc
	// CA is a CA the victims trust that signs whatever it is asked to:
	// mis-issued-cert needs it. Nil means the attack is not available.
	CA *tlslab.CA

	selfSigned, misIssued tls.Certificate
}

func (t *TLS) prepare(io.Reader) error {
	if t.ServerName == "" {
		t.ServerName = tlslab.ServerName
	}
	if t.Dial == nil {
		var d net.Dialer
		t.Dial = d.DialContext
	}
	key, err := tlslab.NewKey()
	if err != nil {
		return err
	}
	// A certificate Mallory signed himself, as anyone can.
	if t.selfSigned, err = tlslab.SelfSigned(key, t.ServerName); err != nil {
		return err
	}
	if t.CA != nil {
		// The compromised CA: the one the victims trust signs Mallory's key
		// for the server's name.
		if t.misIssued, err = t.CA.Issue(key, t.ServerName); err != nil {
			return err
		}
	}
	return nil
}

// certificate returns what the node presents for attack a.
func (t *TLS) certificate(a *Attack) (tls.Certificate, error) {
	if a.Cert == MisIssued {
		if t.CA == nil {
			return tls.Certificate{}, errors.New("attacker: mis-issued-cert needs a CA that will sign for the server's name")
		}
		return t.misIssued, nil
	}
	return t.selfSigned, nil
}

// upstreamClient is the node's own TLS client toward the server for one
// connection: it checks nothing, and hands its keys to the inspector of
// leg B.
func (t *TLS) upstreamClient(n *Node, conn int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			raw, err := t.Dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			ic := tlslab.Inspect(raw, tlslab.Observer{Log: n.log, Leg: trace.LegB, Conn: conn, End: tlslab.ClientEnd, Own: true, Peer: "Bob", KeyLog: n.opts.KeyLog})
			tc := tls.Client(ic, &tls.Config{
				ServerName: t.ServerName,
				MinVersion: tls.VersionTLS13,
				NextProtos: []string{"http/1.1"},
				// INSECURE(attacker): Mallory does not care who the server is.
				InsecureSkipVerify: true,
				KeyLogWriter:       ic.KeyLog(),
			})
			if err := tc.HandshakeContext(ctx); err != nil {
				tc.Close()
				return nil, err
			}
			return tc, nil
		},
	}}
}

// runInsideTLS runs, inside the TLS connection the node terminated, the
// lab attack that reads the scheme: swap-rsa-key where the scheme has an
// RSA key to swap, and otherwise the passive relay, which reads records
// that need no key.
func runInsideTLS(ctx context.Context, s *session) (relay, error) {
	if s.n.opts.Scheme.Has("rsa_public_key", "spki") && s.n.opts.Scheme.Has("key_transport", "wrapped") {
		return runSwapRSAKey(ctx, s)
	}
	return runPassive(ctx, s)
}

// Serve accepts victims on l until Close. Without TLS it serves the node
// as an HTTP handler. With TLS, a passive node copies bytes both ways and
// records the TLS records it sees; a terminating one is a TLS server
// with its own certificate, and records what its TLS stack decrypts.
func (n *Node) Serve(l net.Listener) error {
	if n.opts.TLS != nil && (n.opts.Attack == nil || n.opts.Attack.Copies) {
		return n.copyBytes(l)
	}
	srv := &http.Server{Handler: n, ReadHeaderTimeout: 5 * time.Second, ErrorLog: quietLog()}
	if n.opts.TLS != nil {
		cert, err := n.opts.TLS.certificate(n.opts.Attack)
		if err != nil {
			return err
		}
		srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
			if tc, ok := c.(*tls.Conn); ok {
				if ic, ok := tc.NetConn().(*tlslab.Conn); ok {
					return withConnID(ctx, ic.Observer().Conn)
				}
			}
			return ctx
		}
		l = &tlslab.Listener{
			Listener: l,
			Wrap: func(c net.Conn) net.Conn {
				ic := tlslab.Inspect(c, tlslab.Observer{Log: n.log, Leg: trace.LegA, Conn: int(n.conns.Add(1)), End: tlslab.ServerEnd, Own: true, Peer: "Alice", KeyLog: n.opts.KeyLog})
				// Wait covers the connection until it closes, so that its
				// last records (Alice's alert or close_notify) are in the
				// ledger by then.
				n.wg.Add()
				ic.OnClose(n.wg.Done)
				return ic
			},
			Config: func(c net.Conn) *tls.Config {
				cfg := tlslab.ServerConfig(cert)
				if ic, ok := c.(*tlslab.Conn); ok {
					cfg.KeyLogWriter = ic.KeyLog() // Mallory's own keys, for his ledger
				}
				return cfg
			},
		}
	}
	if !n.track(srv) {
		return nil
	}
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// copyBytes is the passive attack on TLS: copy bytes both ways, record the
// TLS records, hold no keys.
func (n *Node) copyBytes(l net.Listener) error {
	if !n.track(l) {
		return nil
	}
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		n.wg.Add()
		go func() {
			defer n.wg.Done()
			n.relayBytes(c)
		}()
	}
}

func (n *Node) relayBytes(c net.Conn) {
	id := int(n.conns.Add(1))
	a := tlslab.Inspect(c, tlslab.Observer{Log: n.log, Leg: trace.LegA, Conn: id, End: tlslab.ServerEnd, Peer: "Alice"})
	dctx, cancel := context.WithTimeout(n.ctx, n.opts.DialTimeout)
	raw, err := n.opts.TLS.Dial(dctx, "tcp", n.opts.TLS.ServerName+":443")
	cancel()
	if err != nil {
		n.logf("conn %d: upstream: %v", id, err)
		a.Close()
		return
	}
	b := tlslab.Inspect(raw, tlslab.Observer{Log: n.log, Leg: trace.LegB, Conn: id, End: tlslab.ClientEnd, Peer: "Bob"})
	stop := context.AfterFunc(n.ctx, func() {
		a.Close()
		b.Close()
	})
	defer stop()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		io.Copy(b, a)
		b.CloseWrite()
	}()
	go func() {
		defer wg.Done()
		io.Copy(a, b)
		a.CloseWrite()
	}()
	wg.Wait()
	a.Close()
	b.Close()
}
