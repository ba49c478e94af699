//go:build unix

package memnet

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// pair returns the two ends of a connected AF_UNIX stream socket pair.
func pair() (net.Conn, net.Conn, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	c0, err := fileConn(fds[0])
	if err != nil {
		syscall.Close(fds[1])
		return nil, nil, err
	}
	c1, err := fileConn(fds[1])
	if err != nil {
		c0.Close()
		return nil, nil, err
	}
	return c0, c1, nil
}

func fileConn(fd int) (net.Conn, error) {
	syscall.CloseOnExec(fd)
	f := os.NewFile(uintptr(fd), "memnet")
	defer f.Close() // FileConn dups the descriptor
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	return c, nil
}
