package scenarios

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/mitmlab/mitmlab/internal/memnet"
	"github.com/mitmlab/mitmlab/tlslab"
)

// Transport says how a run's nodes reach each other.
type Transport string

// The transports.
const (
	// Memory connects the nodes over in-memory socket pairs: real HTTP
	// upgrades and WebSocket frames, but no ports. It is the default.
	Memory Transport = "memory"
	// Loopback connects them over TCP on 127.0.0.1 with ports the kernel
	// picks.
	Loopback Transport = "loopback"
)

// Transports lists the transports.
func Transports() []Transport { return []Transport{Memory, Loopback} }

// network is one run's set of listeners and the function that dials them.
type network struct {
	dial   tlslab.DialFunc
	listen func(host string) (net.Listener, error)
	wg     sync.WaitGroup

	mu        sync.Mutex
	servers   []*http.Server
	listeners []net.Listener
}

func newNetwork(t Transport) (*network, error) {
	switch t {
	case Memory, "":
		mem := &memnet.Network{}
		return &network{
			dial:   mem.DialContext,
			listen: func(host string) (net.Listener, error) { return mem.Listen(host + ":80") },
		}, nil
	case Loopback:
		var d net.Dialer
		return &network{
			dial:   d.DialContext,
			listen: func(string) (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") },
		}, nil
	}
	return nil, fmt.Errorf("unknown transport %q (want %q or %q)", t, Memory, Loopback)
}

// serve starts h on a new listener named host, with TLS if cert is not
// nil, and returns the listener's address.
func (n *network) serve(host string, h http.Handler, cert *tls.Certificate) (string, error) {
	l, err := n.listen(host)
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	if cert != nil {
		l = &tlslab.Listener{Listener: l, Config: func(net.Conn) *tls.Config { return tlslab.ServerConfig(*cert) }}
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ErrorLog: quietLog()}
	n.mu.Lock()
	n.servers = append(n.servers, srv)
	n.mu.Unlock()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the listener failed; the run notices through its dials
		}
	}()
	return addr, nil
}

// start runs serve (a node's own Serve) on a new listener named host and
// returns the listener's address.
func (n *network) start(host string, serve func(net.Listener) error) (string, error) {
	l, err := n.listen(host)
	if err != nil {
		return "", err
	}
	n.mu.Lock()
	n.listeners = append(n.listeners, l)
	n.mu.Unlock()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		_ = serve(l) // ends when the node or the listener closes; the run notices failures through its dials
	}()
	return l.Addr().String(), nil
}

// client returns an HTTP client that reaches the network's listeners: by
// the address in the URL, or, over TLS, bob.lab routed to addr and checked
// with cfg. wrap, if not nil, wraps each connection (an eavesdropper).
func (n *network) client(addr string, cfg *tls.Config, wrap func(net.Conn) net.Conn) *http.Client {
	dial := n.dial
	if cfg != nil {
		dial = tlslab.Route(n.dial, addr)
	}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			c, err := dial(ctx, network, a)
			if err != nil || wrap == nil {
				return c, err
			}
			return wrap(c), nil
		},
		TLSClientConfig:   cfg,
		ForceAttemptHTTP2: false, // WebSocket upgrades need HTTP/1.1
	}}
}

// close stops the HTTP servers and waits for them. WebSocket connections
// are hijacked, so their owners (victim.Server, attacker.Node) end them.
func (n *network) close() {
	n.mu.Lock()
	servers, listeners := n.servers, n.listeners
	n.mu.Unlock()
	for _, s := range servers {
		s.Close()
	}
	for _, l := range listeners {
		l.Close()
	}
	n.wg.Wait()
}
