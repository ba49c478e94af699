package scenarios

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/mitmlab/mitmlab/internal/memnet"
)

// Transport says how a run's nodes reach each other.
type Transport string

// The transports.
const (
	// Memory connects the nodes over in-memory pipes: real HTTP upgrades
	// and WebSocket frames, but no ports. It is the default.
	Memory Transport = "memory"
	// Loopback connects them over TCP on 127.0.0.1 with ports the kernel
	// picks.
	Loopback Transport = "loopback"
)

// Transports lists the transports.
func Transports() []Transport { return []Transport{Memory, Loopback} }

// network is one run's set of listeners and the client that dials them.
type network struct {
	client  *http.Client
	listen  func(host string) (net.Listener, string, error) // listener and base URL
	servers []*http.Server
	wg      sync.WaitGroup
}

func newNetwork(t Transport) (*network, error) {
	switch t {
	case Memory, "":
		mem := &memnet.Network{}
		return &network{
			client: &http.Client{Transport: &http.Transport{DialContext: mem.DialContext}},
			listen: func(host string) (net.Listener, string, error) {
				l, err := mem.Listen(host + ":80")
				return l, "ws://" + host, err
			},
		}, nil
	case Loopback:
		return &network{
			client: &http.Client{Transport: &http.Transport{}},
			listen: func(string) (net.Listener, string, error) {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					return nil, "", err
				}
				return l, "ws://" + l.Addr().String(), nil
			},
		}, nil
	}
	return nil, fmt.Errorf("unknown transport %q (want %q or %q)", t, Memory, Loopback)
}

// serve starts h on a new listener named host and returns its base URL.
func (n *network) serve(host string, h http.Handler) (string, error) {
	l, url, err := n.listen(host)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	n.servers = append(n.servers, srv)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the listener failed; the run notices through its dials
		}
	}()
	return url, nil
}

// close stops the HTTP servers and waits for them. WebSocket connections
// are hijacked, so their owners (victim.Server, attacker.Node) end them.
func (n *network) close() {
	for _, s := range n.servers {
		s.Close()
	}
	n.wg.Wait()
	n.client.CloseIdleConnections()
}
