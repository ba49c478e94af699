// Package memnet is an in-process network: listeners named by address, and
// a dialer that connects to them over an anonymous socket pair. No port is
// opened and nothing touches the file system. It lets the lab run real HTTP
// and WebSocket handshakes inside one process, as coder/websocket's own
// wstest does with net.Pipe.
//
// A socket pair rather than [net.Pipe]: net.Pipe is unbuffered, so two
// peers that write at the same moment (a client closing while the server
// sends) block each other until a timeout. A socket pair has the kernel's
// buffers, as loopback TCP has, so the two transports behave alike.
package memnet

import (
	"context"
	"fmt"
	"net"
	"sync"
)

// Network holds the listeners. The zero value is ready to use.
type Network struct {
	mu        sync.Mutex
	listeners map[string]*Listener
}

// Listen returns a listener for addr, a "host:port" such as "server:80".
func (n *Network) Listen(addr string) (*Listener, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.listeners == nil {
		n.listeners = make(map[string]*Listener)
	}
	if _, ok := n.listeners[addr]; ok {
		return nil, fmt.Errorf("memnet: listen %s: address already in use", addr)
	}
	l := &Listener{net: n, addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
	n.listeners[addr] = l
	return l, nil
}

// DialContext connects to the listener at addr. Its signature matches
// [net.Dialer.DialContext], so it fits [http.Transport].
func (n *Network) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	n.mu.Lock()
	l := n.listeners[addr]
	n.mu.Unlock()
	if l == nil {
		return nil, &net.OpError{Op: "dial", Net: "memnet", Err: fmt.Errorf("connection refused: no listener at %s", addr)}
	}
	c, s, err := pair()
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: "memnet", Err: err}
	}
	select {
	case l.conns <- s:
		return c, nil
	case <-l.done:
		c.Close()
		s.Close()
		return nil, &net.OpError{Op: "dial", Net: "memnet", Err: fmt.Errorf("connection refused: listener at %s closed", addr)}
	case <-ctx.Done():
		c.Close()
		s.Close()
		return nil, ctx.Err()
	}
}

// Listener is an in-memory [net.Listener].
type Listener struct {
	net   *Network
	addr  string
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

// Accept waits for the next dial.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops the listener; pending and later dials are refused.
func (l *Listener) Close() error {
	l.once.Do(func() {
		close(l.done)
		l.net.mu.Lock()
		delete(l.net.listeners, l.addr)
		l.net.mu.Unlock()
	})
	return nil
}

// Addr returns the listener's address.
func (l *Listener) Addr() net.Addr { return addr(l.addr) }

type addr string

func (addr) Network() string  { return "memnet" }
func (a addr) String() string { return string(a) }
