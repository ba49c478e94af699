package tlslab

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
)

// DialFunc opens a TCP-like connection to addr, "host:port". Its signature
// matches net.Dialer.DialContext.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// ServerConfig returns the crypto/tls configuration of a lab server that
// presents cert: TLS 1.3 only, HTTP/1.1 (WebSocket upgrades need it), and
// no session tickets, so the ledger shows every handshake whole.
func ServerConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates:           []tls.Certificate{cert},
		MinVersion:             tls.VersionTLS13,
		NextProtos:             []string{"http/1.1"},
		SessionTicketsDisabled: true,
	}
}

// Listener is a TLS listener over l: each connection it accepts is passed
// to Wrap (which may inspect it), then served with TLS. The tls.Config a
// connection gets comes from Config, called with the wrapped connection.
type Listener struct {
	net.Listener
	Wrap   func(net.Conn) net.Conn
	Config func(net.Conn) *tls.Config
}

// Accept waits for the next connection and wraps it.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if l.Wrap != nil {
		c = l.Wrap(c)
	}
	return tls.Server(c, l.Config(c)), nil
}

// Route returns a dialer that sends connections for ServerName:443 to
// addr, and refuses every other name: the network as the lab arranges it,
// where whoever answers for bob.lab is the one Alice reaches.
func Route(dial DialFunc, addr string) DialFunc {
	return func(ctx context.Context, network, hostport string) (net.Conn, error) {
		if hostport != ServerName+":443" {
			return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("tlslab: no route to %s", hostport)}
		}
		return dial(ctx, network, addr)
	}
}
