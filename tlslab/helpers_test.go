package tlslab_test

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"testing"

	"github.com/mitmlab/mitmlab/internal/memnet"
	"github.com/mitmlab/mitmlab/tlslab"
)

// network is an in-memory network for tlslab.Run, as scenarios.Memory
// alert while the other writes its flight would block on it).
func pair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	mem := &memnet.Network{}
	l, err := mem.Listen("pair:1")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		s, err := l.Accept()
		if err != nil {
			s = nil
		}
		accepted <- s
	}()
	c, err := mem.DialContext(t.Context(), "tcp", "pair:1")
	if err != nil {
		t.Fatal(err)
	}
	return c, <-accepted
}

// handshake runs one TLS handshake between a client and a server
// configuration over an in-memory connection and returns both sides'
// errors. It is the client's error that names the check that failed.
func handshake(t *testing.T, client, server *tls.Config) (clientErr, serverErr error) {
	t.Helper()
	c, s := pair(t)
	tc := tls.Client(c, client)
	ts := tls.Server(s, server)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		serverErr = ts.HandshakeContext(context.Background())
		ts.Close()
	}()
	clientErr = tc.HandshakeContext(context.Background())
	tc.Close()
	wg.Wait()
	return clientErr, serverErr
}

// certs are the lab's PKI for one test: the CA Alice trusts, Bob's
// certificate from it, a certificate Mallory signed himself and one the
// compromised CA signed for him.
type certs struct {
	ca         *tlslab.CA
	bob        tls.Certificate
	selfSigned tls.Certificate
	misIssued  tls.Certificate
}

func newCerts(t *testing.T) certs {
	t.Helper()
	ca, err := tlslab.NewCA("test lab CA")
	if err != nil {
		t.Fatal(err)
	}
	var out certs
	out.ca = ca
	bobKey, err := tlslab.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if out.bob, err = ca.Issue(bobKey, tlslab.ServerName, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	malloryKey, err := tlslab.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if out.selfSigned, err = tlslab.SelfSigned(malloryKey, tlslab.ServerName); err != nil {
		t.Fatal(err)
	}
	if out.misIssued, err = ca.Issue(malloryKey, tlslab.ServerName); err != nil {
		t.Fatal(err)
	}
	return out
}

func serverConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}
}
