package tlslab

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/mitmlab/mitmlab/internal/memnet"
)

// capture records every byte written to a connection.
type capture struct {
	net.Conn
	mu  sync.Mutex
	out bytes.Buffer
}

func (c *capture) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.out.Write(b)
	c.mu.Unlock()
	return c.Conn.Write(b)
}

func (c *capture) written() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.out.Bytes())
}

// session is one real TLS 1.3 connection on which the client sent one
// message: the bytes each side wrote, the client's key log and what the
// connection negotiated.
type session struct {
	clientBytes, serverBytes []byte
	keyLog                   []byte
	state                    tls.ConnectionState
	leaf                     []byte // the server's certificate, DER
}

// realSession runs a crypto/tls client and server over an in-memory
// socket pair; the client sends msg and the server reads it.
func realSession(t *testing.T, msg []byte) session {
	t.Helper()
	ca, err := NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	key, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(key, ServerName)
	if err != nil {
		t.Fatal(err)
	}
	mem := &memnet.Network{}
	l, err := mem.Listen("s:1")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var keyLog bytes.Buffer
	var got []byte
	var serverErr error
	var sc *capture
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		raw, err := l.Accept()
		if err != nil {
			serverErr = err
			return
		}
		sc = &capture{Conn: raw}
		ts := tls.Server(sc, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13, SessionTicketsDisabled: true})
		defer ts.Close()
		got = make([]byte, len(msg))
		_, serverErr = ts.Read(got)
	}()
	raw, err := mem.DialContext(context.Background(), "tcp", "s:1")
	if err != nil {
		t.Fatal(err)
	}
	cc := &capture{Conn: raw}
	tc := tls.Client(cc, &tls.Config{ServerName: ServerName, RootCAs: ca.Pool(), MinVersion: tls.VersionTLS13, KeyLogWriter: &keyLog})
	if _, err := tc.Write(msg); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	state := tc.ConnectionState()
	tc.Close()
	if serverErr != nil || !bytes.Equal(got, msg) {
		t.Fatalf("server read %q, %v", got, serverErr)
	}
	return session{clientBytes: cc.written(), serverBytes: sc.written(), keyLog: keyLog.Bytes(), state: state, leaf: cert.Leaf.Raw}
}

func splitAll(t *testing.T, b []byte, chunk int) []record {
	t.Helper()
	var s splitter
	var out []record
	for len(b) > 0 {
		n := min(chunk, len(b))
		recs, _, err := s.feed(b[:n])
		if err != nil {
			t.Fatalf("feed: %v", err)
		}
		out = append(out, recs...)
		b = b[n:]
	}
	if s.pending() != 0 {
		t.Fatalf("%d bytes left over", s.pending())
	}
	return out
}

// TestSplitterKeepsBytes: the records are the stream, cut at record
// boundaries and never re-encoded, however the stream arrives.
func TestSplitterKeepsBytes(t *testing.T) {
	t.Parallel()
	s := realSession(t, []byte("hi Bob, it's Alice"))
	for _, stream := range [][]byte{s.clientBytes, s.serverBytes} {
		whole := splitAll(t, stream, len(stream))
		bytewise := splitAll(t, stream, 1)
		var joined []byte
		for i, r := range whole {
			joined = append(joined, r.raw...)
			if !bytes.Equal(r.raw, bytewise[i].raw) {
				t.Errorf("record %d differs when the stream arrives a byte at a time", i)
			}
		}
		if !bytes.Equal(joined, stream) || len(whole) != len(bytewise) {
			t.Errorf("records do not add up to the stream")
		}
	}
}

// TestParseHellos reads the hellos of a real handshake.
func TestParseHellos(t *testing.T) {
	t.Parallel()
	s := realSession(t, []byte("x"))
	c := splitAll(t, s.clientBytes, 4096)
	msgs, _ := splitHandshake(c[0].fragment())
	if c[0].typ != recordHandshake || len(msgs) != 1 || msgs[0].typ != hsClientHello {
		t.Fatalf("first client record is not a ClientHello: type %d", c[0].typ)
	}
	ch, ok := parseClientHello(msgs[0].body)
	if !ok || ch.serverName != ServerName || !ch.tls13 {
		t.Errorf("ClientHello: %+v, %v; want SNI %q and TLS 1.3 offered", ch, ok, ServerName)
	}
	srv := splitAll(t, s.serverBytes, 4096)
	msgs, _ = splitHandshake(srv[0].fragment())
	if len(msgs) != 1 || msgs[0].typ != hsServerHello {
		t.Fatal("first server record is not a ServerHello")
	}
	sh, ok := parseServerHello(msgs[0].body)
	if !ok || sh.suite != s.state.CipherSuite || !sh.tls13 || sh.retryRequest {
		t.Errorf("ServerHello: %+v, %v; the connection negotiated %s", sh, ok, tls.CipherSuiteName(s.state.CipherSuite))
	}
}

// TestDecryptWithKeyLog decrypts the client's records with the secrets
// crypto/tls logged, and finds the Finished message and then the exact
// bytes the client wrote.
func TestDecryptWithKeyLog(t *testing.T) {
	t.Parallel()
	msg := []byte("my card PIN is 4921")
	s := realSession(t, msg)
	secrets := parseKeyLog(s.keyLog)
	for _, l := range []string{labelClientHandshake, labelServerHandshake, labelClientTraffic, labelServerTraffic} {
		if secrets[l] == nil {
			t.Fatalf("key log has no %s", l)
		}
	}
	var protected []record
	for _, r := range splitAll(t, s.clientBytes, 4096) {
		if r.typ == recordApplicationData {
			protected = append(protected, r)
		}
	}
	if len(protected) < 2 {
		t.Fatalf("client wrote %d protected records, want Finished and data", len(protected))
	}
	hs, err := newProtection(s.state.CipherSuite, secrets[labelClientHandshake])
	if err != nil {
		t.Fatal(err)
	}
	typ, content, err := hs.open(protected[0])
	if err != nil || typ != recordHandshake || len(content) == 0 || content[0] != hsFinished {
		t.Fatalf("first protected record: type %d, %x, %v; want a Finished handshake message", typ, content, err)
	}
	app, err := newProtection(s.state.CipherSuite, secrets[labelClientTraffic])
	if err != nil {
		t.Fatal(err)
	}
	typ, content, err = app.open(protected[1])
	if err != nil || typ != recordApplicationData || !bytes.Equal(content, msg) {
		t.Fatalf("data record: type %d, %q, %v; want %q", typ, content, err, msg)
	}

	// One flipped bit and the record does not open.
	app2, _ := newProtection(s.state.CipherSuite, secrets[labelClientTraffic])
	bad := record{typ: protected[1].typ, raw: bytes.Clone(protected[1].raw)}
	bad.raw[len(bad.raw)-1] ^= 1
	if _, _, err := app2.open(bad); err == nil {
		t.Fatal("a tampered record decrypted")
	}
	// The server's handshake secret does not open the client's records.
	wrong, _ := newProtection(s.state.CipherSuite, secrets[labelServerHandshake])
	if _, _, err := wrong.open(protected[0]); err == nil {
		t.Fatal("the wrong secret opened a record")
	}
}

func TestSplitterNotTLS(t *testing.T) {
	t.Parallel()
	var s splitter
	recs, bad, err := s.feed([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
	if err != errNotTLS || len(recs) != 0 || !bytes.HasPrefix(bad, []byte("HTTP/1.1")) {
		t.Fatalf("got %d records, %q, %v; want errNotTLS", len(recs), bad, err)
	}
	if recs, _, err := s.feed([]byte{22, 3, 3, 0, 0}); recs != nil || err != nil {
		t.Fatal("the splitter went on after a stream that is not TLS")
	}
	var big splitter
	if _, _, err := big.feed([]byte{23, 3, 3, 0xff, 0xff}); err != errNotTLS {
		t.Fatalf("a 64 KiB record length: %v, want errNotTLS", err)
	}
}

func TestParseKeyLog(t *testing.T) {
	t.Parallel()
	got := parseKeyLog([]byte("# comment\nCLIENT_TRAFFIC_SECRET_0 00ff abcd\nBAD LINE\nSERVER_TRAFFIC_SECRET_0 00 zz\n"))
	if len(got) != 1 || !bytes.Equal(got[labelClientTraffic], []byte{0xab, 0xcd}) {
		t.Fatalf("parseKeyLog = %x", got)
	}
}

func TestUnsupportedSuite(t *testing.T) {
	t.Parallel()
	if _, err := newProtection(tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, make([]byte, 32)); !errors.Is(err, errSuiteNotInspected) {
		t.Fatalf("a TLS 1.2 suite: %v, want errSuiteNotInspected", err)
	}
}

// TestChaCha20Poly1305Record seals a TLS 1.3 record by hand, as RFC 8446
// §5.2 and §7.3 describe, with ChaCha20-Poly1305 (the suite crypto/tls
// prefers on hardware without AES instructions), and checks the inspector
// opens it.
func TestChaCha20Poly1305Record(t *testing.T) {
	t.Parallel()
	secret := bytes.Repeat([]byte{0x42}, 32)
	label := func(l string, n int) []byte {
		full := "tls13 " + l
		info := append([]byte{0, byte(n), byte(len(full))}, full...)
		out, err := hkdf.Expand(sha256.New, secret, string(append(info, 0)), n)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	aead, err := chacha20poly1305.New(label("key", 32))
	if err != nil {
		t.Fatal(err)
	}
	iv := label("iv", 12)
	p, err := newProtection(tls.TLS_CHACHA20_POLY1305_SHA256, secret)
	if err != nil {
		t.Fatal(err)
	}
	for seq, content := range []string{"GET /chat HTTP/1.1", "hello"} {
		inner := append([]byte(content), 23, 0, 0) // content, type, padding
		hdr := []byte{23, 3, 3, 0, byte(len(inner) + aead.Overhead())}
		nonce := bytes.Clone(iv)
		nonce[11] ^= byte(seq)
		raw := aead.Seal(bytes.Clone(hdr), nonce, inner, hdr)
		typ, got, err := p.open(record{typ: 23, raw: raw})
		if err != nil || typ != 23 || string(got) != content {
			t.Fatalf("record %d: type %d, %q, %v; want 23, %q", seq, typ, got, err, content)
		}
	}
}

// FuzzSplitter: any byte stream, cut anywhere, gives records that are an
// exact prefix of it, and never panics.
func FuzzSplitter(f *testing.F) {
	f.Add([]byte{22, 3, 1, 0, 2, 1, 0, 23, 3, 3, 0, 1, 9}, 3)
	f.Add([]byte("GET / HTTP/1.1\r\n"), 1)
	f.Add([]byte{21, 3, 3, 0, 2, 2, 42}, 7)
	f.Fuzz(func(t *testing.T, b []byte, chunk int) {
		if chunk <= 0 || chunk > 1<<16 {
			chunk = 1
		}
		var s splitter
		var joined []byte
		for rest := b; len(rest) > 0; {
			n := min(chunk, len(rest))
			recs, _, _ := s.feed(rest[:n])
			for _, r := range recs {
				if len(r.raw) < recordHeaderLen || r.typ != r.raw[0] {
					t.Fatalf("bad record %x", r.raw)
				}
				joined = append(joined, r.raw...)
			}
			rest = rest[n:]
		}
		if !bytes.HasPrefix(b, joined) {
			t.Fatal("records are not a prefix of the stream")
		}
	})
}

// FuzzHandshakeParsers: the parsers of hellos, certificates and
// handshake framing take any input without panicking.
func FuzzHandshakeParsers(f *testing.F) {
	f.Add([]byte{1, 0, 0, 4, 3, 3, 0, 0})
	f.Add([]byte{11, 0, 0, 7, 0, 0, 0, 3, 0, 0, 0})
	f.Add(bytes.Repeat([]byte{0xff}, 64))
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, _ := splitHandshake(b)
		for _, m := range msgs {
			parseClientHello(m.body)
			parseServerHello(m.body)
			if certs, ok := parseCertificate(m.body); ok {
				describeCertificate(certs)
			}
		}
		parseClientHello(b)
		parseServerHello(b)
		parseCertificate(b)
	})
}
