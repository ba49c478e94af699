package memnet_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mitmlab/mitmlab/internal/memnet"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// accept runs one Accept in the background.
func accept(l net.Listener) <-chan net.Conn {
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			close(ch)
			return
		}
		ch <- c
	}()
	return ch
}

func TestDialReachesTheListenerByName(t *testing.T) {
	t.Parallel()
	var n memnet.Network
	bob, err := n.Listen("bob:80")
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	carol, err := n.Listen("carol:80")
	if err != nil {
		t.Fatal(err)
	}
	defer carol.Close()
	if got := bob.Addr().String(); got != "bob:80" || bob.Addr().Network() != "memnet" {
		t.Errorf("Addr() = %s %s, want memnet bob:80", bob.Addr().Network(), got)
	}

	accepted := accept(bob)
	c, err := n.DialContext(t.Context(), "tcp", "bob:80")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := <-accepted
	if s == nil {
		t.Fatal("bob accepted nothing")
	}
	defer s.Close()

	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(s, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("bob read %q, %v; want ping", buf, err)
	}
	// carol's listener saw nothing.
	carol.Close()
	if c, err := carol.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("carol.Accept() = %v, %v; want net.ErrClosed and no connection", c, err)
	}
}

// TestBothEndsCanWriteAtOnce is why memnet uses a socket pair and not
// net.Pipe: two peers that each write before they read do not block each
// other.
func TestBothEndsCanWriteAtOnce(t *testing.T) {
	t.Parallel()
	var n memnet.Network
	l, err := n.Listen("bob:80")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := accept(l)
	c, err := n.DialContext(t.Context(), "tcp", "bob:80")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := <-accepted
	defer s.Close()

	msg := bytes.Repeat([]byte("x"), 16<<10)
	deadline := time.Now().Add(10 * time.Second) // a hang fails rather than blocks the suite
	for _, conn := range []net.Conn{c, s} {
		if err := conn.SetDeadline(deadline); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Write(msg); err != nil {
		t.Fatalf("client write before anyone reads: %v", err)
	}
	if _, err := s.Write(msg); err != nil {
		t.Fatalf("server write before anyone reads: %v", err)
	}
	for name, conn := range map[string]net.Conn{"client": c, "server": s} {
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(conn, got); err != nil || !bytes.Equal(got, msg) {
			t.Errorf("%s read %d bytes, %v", name, len(got), err)
		}
	}
}

func TestListenRefusesAnAddressInUse(t *testing.T) {
	t.Parallel()
	var n memnet.Network
	l, err := n.Listen("bob:80")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Listen("bob:80"); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("second Listen(bob:80) = %v, want address already in use", err)
	}
	// Closing frees the name, and Close twice is harmless.
	l.Close()
	l.Close()
	l2, err := n.Listen("bob:80")
	if err != nil {
		t.Fatalf("Listen after Close: %v", err)
	}
	l2.Close()
}

func TestDialIsRefused(t *testing.T) {
	t.Parallel()
	t.Run("no listener at the address", func(t *testing.T) {
		t.Parallel()
		var n memnet.Network
		_, err := n.DialContext(t.Context(), "tcp", "nobody:80")
		var op *net.OpError
		if !errors.As(err, &op) || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("dial = %v, want a connection refused *net.OpError", err)
		}
	})
	t.Run("listener closed", func(t *testing.T) {
		t.Parallel()
		var n memnet.Network
		l, err := n.Listen("bob:80")
		if err != nil {
			t.Fatal(err)
		}
		l.Close()
		if _, err := n.DialContext(t.Context(), "tcp", "bob:80"); err == nil || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("dial after Close = %v, want connection refused", err)
		}
	})
	t.Run("listener closes while a dial waits", func(t *testing.T) {
		t.Parallel()
		var n memnet.Network
		l, err := n.Listen("bob:80")
		if err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() {
			_, err := n.DialContext(context.Background(), "tcp", "bob:80")
			errc <- err
		}()
		l.Close() // whether the dial started before or after, it is refused
		if err := <-errc; err == nil || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("dial = %v, want connection refused", err)
		}
	})
	t.Run("context cancelled before anyone accepts", func(t *testing.T) {
		t.Parallel()
		var n memnet.Network
		l, err := n.Listen("bob:80")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := n.DialContext(ctx, "tcp", "bob:80"); !errors.Is(err, context.Canceled) {
			t.Errorf("dial = %v, want context.Canceled", err)
		}
	})
}

// TestHTTPOverMemnet: memnet fits http.Server and http.Transport as they
// are, which is all the lab asks of it.
func TestHTTPOverMemnet(t *testing.T) {
	t.Parallel()
	var n memnet.Network
	l, err := n.Listen("bob:80")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello "+r.Host) }),
		ReadHeaderTimeout: 5 * time.Second,
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	defer func() {
		srv.Close()
		<-done
	}()
	tr := &http.Transport{DialContext: n.DialContext}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("http://bob/")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "hello bob" {
		t.Errorf("GET http://bob/ = %q, %v; want hello bob", body, err)
	}
}
