//go:build !unix

package memnet

import "net"

// pair falls back to net.Pipe where there are no socket pairs. It is
// unbuffered; see the package comment.
func pair() (net.Conn, net.Conn, error) {
	c, s := net.Pipe()
	return c, s, nil
}
