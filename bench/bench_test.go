package bench_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/victim"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// serve runs h on a fresh loopback port until the benchmark ends and
// returns its base URL.
func serve(b *testing.B, h http.Handler) string {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l) // http.ErrServerClosed after Close
	}()
	b.Cleanup(func() {
		srv.Close()
		<-done
	})
	return "ws://" + l.Addr().String()
}

func httpClient(b *testing.B) *http.Client {
	c := &http.Client{Transport: &http.Transport{}}
	b.Cleanup(c.CloseIdleConnections)
	return c
}

// bob starts a victim server for scheme on loopback and returns a client
// that can talk to it, with the URL to dial. reply nil means Bob's default.
func bob(b *testing.B, scheme *kex.Scheme, reply func([]byte) []byte) (*victim.Client, string) {
	b.Helper()
	var scfg kex.ServerConfig
	var ccfg kex.ClientConfig
	if scheme.Identity {
		id, err := kex.NewIdentity("bob")
		if err != nil {
			b.Fatal(err)
		}
		scfg.Identity = id
		ccfg.Pin = id.Pin()
	}
	// NoHistory, as `mitmlab server` runs: a server that kept every
	// message would grow its heap with b.N, and the echo would measure
	// the garbage collector.
	srv := victim.NewServer(scheme, &victim.ServerOptions{Config: &scfg, Reply: reply, NoHistory: true})
	url := serve(b, srv) + victim.Path(scheme.Name)
	b.Cleanup(srv.Close) // runs before the listener's cleanup
	return &victim.Client{Scheme: scheme, Config: &ccfg, HTTPClient: httpClient(b)}, url
}

// BenchmarkHandshake measures one connection from dial to an established
// session and back to closed, for each scheme and for two baselines:
// crypto/tls's TLS 1.3 handshake with an Ed25519 certificate and X25519, the
// closest real-world counterpart of pinned-ecdh, and a bare WebSocket dial,
// accept and close, the floor under every scheme.
func BenchmarkHandshake(b *testing.B) {
	b.Run("tls13-baseline", benchTLSHandshake)
	b.Run("websocket-baseline", benchWebSocketDial)
	for _, s := range []*kex.Scheme{kex.PinnedECDH(), kex.UnauthECDH(), kex.PlaintextRSA()} {
		b.Run(s.Name, func(b *testing.B) {
			alice, url := bob(b, s, nil)
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				sess, err := alice.Dial(ctx, url)
				if err != nil {
					b.Fatal(err)
				}
				if err := sess.Close(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchTLSHandshake is a full TLS 1.3 handshake per iteration, with no
// session resumption: the client keeps no session cache.
func benchTLSHandshake(b *testing.B) {
	id, err := kex.NewIdentity("bob")
	if err != nil {
		b.Fatal(err)
	}
	pin := id.Pin()
	srvCfg := &tls.Config{
		Certificates:     []tls.Certificate{{Certificate: [][]byte{id.Certificate}, PrivateKey: id.Key}},
		MinVersion:       tls.VersionTLS13,
		CurvePreferences: []tls.CurveID{tls.X25519},
	}
	cliCfg := &tls.Config{
		MinVersion:       tls.VersionTLS13,
		CurvePreferences: []tls.CurveID{tls.X25519},
		// The certificate is self-signed, so the chain check is replaced
		// by the same SPKI pin check pinned-ecdh makes: same trust, same
		// work.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("no certificate")
			}
			got, err := kex.CertificatePin(raw[0])
			if err != nil {
				return err
			}
			if got != pin {
				return kex.ErrPinMismatch
			}
			return nil
		},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				tc := tls.Server(c, srvCfg)
				defer tc.Close()
				if err := tc.Handshake(); err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, tc) // until the client closes
			}()
		}
	}()
	b.Cleanup(func() {
		l.Close()
		wg.Wait()
	})
	addr := l.Addr().String()
	var d net.Dialer
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		tc := tls.Client(c, cliCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			b.Fatal(err)
		}
		if err := tc.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// benchWebSocketDial is a coder/websocket dial, accept and normal close,
// with the lab's subprotocol and nothing else.
func benchWebSocketDial(b *testing.B) {
	proto := "mitmlab.v2.bench"
	url := serve(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{proto}})
		if err != nil {
			return
		}
		defer ws.CloseNow()
		_, _, _ = ws.Read(r.Context()) // until the client closes
	}))
	hc := httpClient(b)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: hc, Subprotocols: []string{proto}})
		if err != nil {
			b.Fatal(err)
		}
		if err := ws.Close(websocket.StatusNormalClosure, "bye"); err != nil {
			b.Fatal(err)
		}
	}
}

const echoSize = 1 << 10

func echoMessage() []byte { return bytes.Repeat([]byte("0123456789abcdef"), echoSize/16) }

func echo(m []byte) []byte { return m }

// BenchmarkEcho measures one 1 KiB message and its echo on an established
// connection: through the lab's record layer (JSON, base64, AES-256-GCM,
// sequence checks) and over a plain WebSocket, read with
// coder/websocket's Conn.Read (the baseline of issue 9's target) and, as
// a floor, into a buffer kept from message to message.
func BenchmarkEcho(b *testing.B) {
	b.Run("websocket-baseline", func(b *testing.B) { benchWebSocketEcho(b, false) })
	b.Run("websocket-buffered", func(b *testing.B) { benchWebSocketEcho(b, true) })
	b.Run("record-layer", func(b *testing.B) {
		alice, url := bob(b, kex.PinnedECDH(), echo)
		benchSessionEcho(b, alice, url)
	})
}

// A wsReader reads one whole message.
type wsReader func(ctx context.Context, ws *websocket.Conn) (websocket.MessageType, []byte, error)

// readWhole is coder/websocket's own Conn.Read: a new slice per message,
// grown by io.ReadAll from 512 bytes.
func readWhole(ctx context.Context, ws *websocket.Conn) (websocket.MessageType, []byte, error) {
	return ws.Read(ctx)
}

// bufferedReader reads each message into the same buffer, as wire.Conn
// does for the record layer.
type bufferedReader struct{ buf []byte }

func (r *bufferedReader) read(ctx context.Context, ws *websocket.Conn) (websocket.MessageType, []byte, error) {
	typ, rd, err := ws.Reader(ctx)
	if err != nil {
		return 0, nil, err
	}
	b := r.buf[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := rd.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			r.buf = b
			return typ, b, nil
		}
		if err != nil {
			return 0, nil, err
		}
	}
}

// newReader returns a reader for one end of a connection.
func newReader(buffered bool) wsReader {
	if buffered {
		return (&bufferedReader{}).read
	}
	return readWhole
}

func benchWebSocketEcho(b *testing.B, buffered bool) {
	url := serve(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		// No cancellation, as the lab's server reads (victim.Server.serve):
		// coder/websocket arms a context watch for every read and write
		// with a cancellable context, which the baseline must not pay if
		// the record layer does not.
		ctx := context.WithoutCancel(r.Context())
		read := newReader(buffered)
		for {
			typ, m, err := read(ctx, ws)
			if err != nil {
				return
			}
			if err := ws.Write(ctx, typ, m); err != nil {
				return
			}
		}
	}))
	ctx := b.Context()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: httpClient(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer ws.Close(websocket.StatusNormalClosure, "bye")
	msg := echoMessage()
	read := newReader(buffered)
	b.SetBytes(echoSize)
	b.ReportAllocs()
	for b.Loop() {
		if err := ws.Write(ctx, websocket.MessageText, msg); err != nil {
			b.Fatal(err)
		}
		_, got, err := read(ctx, ws)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != echoSize {
			b.Fatalf("echo of %d bytes, want %d", len(got), echoSize)
		}
	}
}

// benchSessionEcho sends 1 KiB over an established victim session and
// waits for the echo.
func benchSessionEcho(b *testing.B, alice *victim.Client, url string) {
	b.Helper()
	ctx := b.Context()
	sess, err := alice.Dial(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close(ctx)
	msg := echoMessage()
	b.SetBytes(echoSize)
	b.ReportAllocs()
	for b.Loop() {
		if err := sess.Send(ctx, msg); err != nil {
			b.Fatal(err)
		}
		got, err := sess.Receive(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != echoSize {
			b.Fatalf("echo of %d bytes, want %d", len(got), echoSize)
		}
	}
}

// BenchmarkRelayEcho measures the 1 KiB record-layer echo of
// BenchmarkEcho on unauth-ecdh, straight to the server and through an
// attacker node: a passive relay, which doubles the hops and keeps a
// ledger, and a double-ecdh node, which also opens and seals every frame.
func BenchmarkRelayEcho(b *testing.B) {
	b.Run("direct-baseline", func(b *testing.B) {
		alice, url := bob(b, kex.UnauthECDH(), echo)
		benchSessionEcho(b, alice, url)
	})
	for _, name := range []string{attacker.Passive, attacker.DoubleECDH} {
		b.Run(fmt.Sprintf("%s-relay", name), func(b *testing.B) {
			a, err := attacker.Lookup(name)
			if err != nil {
				b.Fatal(err)
			}
			alice, upstream := bob(b, kex.UnauthECDH(), echo)
			node, err := attacker.New(attacker.Options{
				Scheme:     kex.UnauthECDH(),
				Attack:     a,
				Upstream:   upstream,
				HTTPClient: httpClient(b),
			})
			if err != nil {
				b.Fatal(err)
			}
			url := serve(b, node) + victim.Path(kex.NameUnauthECDH)
			b.Cleanup(node.Close)
			benchSessionEcho(b, alice, url)
		})
	}
}
