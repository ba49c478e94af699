package tlslab

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"maps"
	"net"
	"strings"
	"sync"

	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// End says which end of a TLS connection an inspected net.Conn is.
type End int

// The two ends.
const (
	// ClientEnd writes client-to-server records and reads the server's.
	ClientEnd End = iota
	// ServerEnd reads client-to-server records and writes the server's.
	ServerEnd
)

// Observer says who watches a connection, where, and with what keys.
type Observer struct {
	// Log receives one event per TLS record.
	Log *trace.Log
	// Leg and Conn label the events.
	Leg  trace.Leg
	Conn int
	// End is the end of the TLS connection this net.Conn is.
	End End
	// Own marks the attacker's own TLS endpoint: he made every record this
	// end writes, and crypto/tls hands him the traffic secrets through
	// [Conn.KeyLog], with which the inspector decrypts every record this end
	// exchanges. Without Own the observer holds no keys, like an
	// eavesdropper on the wire or a relay that only copies bytes: every
	// encrypted record is opaque to it.
	Own bool
	// Peer names the node at the other end, "Alice" or "Bob", for notes.
	Peer string
	// KeyLog, if not nil, also receives the NSS key log lines (the
	// SSLKEYLOGFILE format) that an Own endpoint's crypto/tls stack
	// writes: the attacker's own traffic secrets, which let an export
	// hand Wireshark exactly the keys he decrypted with. Several
	// connections may share one writer, so it must be safe for
	// concurrent use, as a [KeyLog] is.
	KeyLog io.Writer
}

// Conn is a net.Conn whose TLS records are recorded as trace events as
// they cross it, in each direction. It parses each record's 5-byte header
// (type, version, length) from the bytes really read and written and never
// re-encodes anything; the event's Raw is the record as it crossed.
//
// The hellos are in clear and are shown for what they are (the
// ClientHello's server name travels in clear). Everything after the
// ServerHello is encrypted: an observer without keys records it as opaque,
// and the attacker's own endpoint decrypts it with the secrets its
// crypto/tls stack logs, and records the certificate, the Finished
// messages, alerts and application data inside.
type Conn struct {
	net.Conn
	obs Observer

	closeOnce sync.Once
	onClose   func() // called once, after the first Close

	mu      sync.Mutex
	dirs    [2]*direction // client-to-server, server-to-client
	secrets map[string][]byte
	suite   uint16
	tls13   bool
	closed  bool
}

// epoch is which keys protect a direction's records.
type epoch int

const (
	epochPlaintext epoch = iota // before the ServerHello
	epochHandshake              // handshake traffic keys
	epochData                   // application traffic keys, after that direction's Finished
	epochLost                   // a record did not decrypt; the rest stay opaque
)

// direction is one direction's parsing and decryption state.
type direction struct {
	dir   wire.Direction
	split splitter
	queue []record // records waiting for a key the handshake has not logged yet
	epoch epoch
	prot  *protection
	hs    []byte // the start of a handshake message that continues in the next record
}

// Inspect wraps c so that its TLS records are recorded with obs.
func Inspect(c net.Conn, obs Observer) *Conn {
	return &Conn{
		Conn:    c,
		obs:     obs,
		dirs:    [2]*direction{{dir: wire.ClientToServer}, {dir: wire.ServerToClient}},
		secrets: make(map[string][]byte),
	}
}

// KeyLog returns the writer to set as this connection's
// tls.Config.KeyLogWriter, so that crypto/tls hands the inspector its
// traffic secrets. Only the attacker's own endpoints use it.
func (c *Conn) KeyLog() io.Writer { return keyLogWriter{c} }

// OnClose sets a function called once, after the first Close. Call it
// before the connection is in use.
func (c *Conn) OnClose(f func()) { c.onClose = f }

// Observer returns the observer c records for.
func (c *Conn) Observer() Observer { return c.obs }

type keyLogWriter struct{ c *Conn }

func (w keyLogWriter) Write(p []byte) (int, error) {
	w.c.mu.Lock()
	maps.Copy(w.c.secrets, parseKeyLog(p))
	w.c.drain()
	w.c.mu.Unlock()
	if w.c.obs.KeyLog != nil {
		if _, err := w.c.obs.KeyLog.Write(p); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Read reads from the connection and records the records it completes.
func (c *Conn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.observe(c.inbound(), b[:n])
	}
	return n, err
}

// Write records the records in b, then writes b: the ledger keeps cause
// before effect, since the peer may answer before Write returns.
func (c *Conn) Write(b []byte) (int, error) {
	c.observe(c.inbound().Reverse(), b)
	return c.Conn.Write(b)
}

// CloseWrite shuts down the writing side, if the connection supports it,
// and otherwise closes it.
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Close()
}

// Close records what is still waiting for a key as opaque, then closes
// the connection.
func (c *Conn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.drain()
	c.mu.Unlock()
	err := c.Conn.Close()
	c.closeOnce.Do(func() {
		if c.onClose != nil {
			c.onClose()
		}
	})
	return err
}

// inbound is the direction of the records this end reads.
func (c *Conn) inbound() wire.Direction {
	if c.obs.End == ClientEnd {
		return wire.ServerToClient
	}
	return wire.ClientToServer
}

func (c *Conn) state(dir wire.Direction) *direction {
	if dir == wire.ClientToServer {
		return c.dirs[0]
	}
	return c.dirs[1]
}

func (c *Conn) observe(dir wire.Direction, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.state(dir)
	recs, bad, err := d.split.feed(b)
	d.queue = append(d.queue, recs...)
	c.drain()
	if err != nil {
		c.add(dir, "not_tls", bytes.Clone(bad), trace.Blocked,
			"not a TLS record: this peer is not speaking TLS here (plain HTTP on a TLS port, or TLS to a plain port, is what browsers report as ERR_SSL_PROTOCOL_ERROR)")
	}
}

// drain handles every queued record it can, in order per direction. A
// record that needs a secret the handshake has not logged yet waits, and so
// do the ones behind it.
func (c *Conn) drain() {
	for progress := true; progress; {
		progress = false
		for _, d := range c.dirs {
			for len(d.queue) > 0 && c.handle(d, d.queue[0]) {
				d.queue = d.queue[1:]
				progress = true
			}
		}
	}
}

// handle records one record; it returns false if the record must wait for
// a key.
func (c *Conn) handle(d *direction, r record) bool {
	switch r.typ {
	case recordHandshake:
		c.handshake(d, r, r.fragment(), false)
	case recordChangeCipherSpec:
		c.add(d.dir, "tls_change_cipher_spec", r.raw, c.handshakeVerdict(d), c.ownNote(d, "dummy change_cipher_spec (RFC 8446 Appendix D.4); carries nothing"))
	case recordAlert:
		c.alert(d, r, r.fragment(), false)
	case recordApplicationData:
		return c.protected(d, r)
	}
	return true
}

// protected handles a record whose real type is encrypted.
func (c *Conn) protected(d *direction, r record) bool {
	const noKey = "encrypted record: handshake, alert or data; an observer without keys cannot tell which"
	switch {
	case !c.obs.Own:
		c.add(d.dir, "tls_encrypted", r.raw, trace.Opaque, noKey)
		return true
	case d.epoch == epochPlaintext || !c.tls13:
		c.add(d.dir, "tls_encrypted", r.raw, trace.Opaque, "encrypted record outside a TLS 1.3 handshake the inspector followed")
		return true
	case d.epoch == epochLost:
		c.add(d.dir, "tls_encrypted", r.raw, trace.Opaque, "the inspector lost track of this direction's keys")
		return true
	}
	if d.prot == nil {
		secret := c.secrets[c.secretLabel(d)]
		if secret == nil {
			if !c.closed {
				return false
			}
			c.add(d.dir, "tls_encrypted", r.raw, trace.Opaque, "the connection closed before its keys were known")
			return true
		}
		p, err := newProtection(c.suite, secret)
		if err != nil {
			d.epoch = epochLost
			c.add(d.dir, "tls_encrypted", r.raw, trace.Opaque, fmt.Sprintf("%v: the attacker's TLS stack reads it, the inspector cannot show it", err))
			return true
		}
		d.prot = p
	}
	typ, content, err := d.prot.open(r)
	if err != nil {
		d.epoch = epochLost
		c.add(d.dir, "tls_encrypted", r.raw, trace.Opaque, err.Error())
		return true
	}
	switch typ {
	case recordHandshake:
		c.handshake(d, r, content, true)
	case recordAlert:
		c.alert(d, r, content, true)
	case recordApplicationData:
		if c.outbound(d) {
			c.addRecovered(d.dir, "tls_application_data", r.raw, trace.Forged, content,
				fmt.Sprintf("%d bytes of %s, encrypted by the attacker with the TLS keys he shares with %s", len(content), describeApp(content), c.obs.Peer))
		} else {
			c.addRecovered(d.dir, "tls_application_data", r.raw, trace.Read, content,
				fmt.Sprintf("%d bytes of %s, decrypted with the TLS keys the attacker shares with %s", len(content), describeApp(content), c.obs.Peer))
		}
	default:
		c.add(d.dir, "tls_encrypted", r.raw, trace.Opaque, fmt.Sprintf("decrypted record of unexpected type %d", typ))
	}
	return true
}

// secretLabel names the key log secret for d's current epoch.
func (c *Conn) secretLabel(d *direction) string {
	switch {
	case d.dir == wire.ClientToServer && d.epoch == epochHandshake:
		return labelClientHandshake
	case d.dir == wire.ServerToClient && d.epoch == epochHandshake:
		return labelServerHandshake
	case d.dir == wire.ClientToServer:
		return labelClientTraffic
	}
	return labelServerTraffic
}

// handshake records a record of handshake messages, in clear or decrypted.
func (c *Conn) handshake(d *direction, r record, frag []byte, decrypted bool) {
	msgs, rest := splitHandshake(append(d.hs, frag...))
	d.hs = bytes.Clone(rest)
	typ := "tls_handshake"
	var notes []string
	finished := false
	for i, m := range msgs {
		if i == 0 || m.typ == hsCertificate {
			typ = handshakeName(m.typ)
		}
		notes = append(notes, c.describe(m))
		if m.typ == hsFinished {
			finished = true
		}
	}
	if len(msgs) == 0 {
		notes = append(notes, "part of a handshake message that continues in the next record")
	}
	note := strings.Join(notes, "; ")
	if decrypted && !c.outbound(d) {
		// He decrypted it: what he read is the handshake message itself.
		c.addRecovered(d.dir, typ, r.raw, trace.Read, bytes.Clone(frag), "decrypted by the attacker: "+note)
	} else {
		c.add(d.dir, typ, r.raw, c.handshakeVerdict(d), c.ownNote(d, note))
	}
	if finished && decrypted {
		d.epoch, d.prot = epochData, nil
	}
}

// describe says what one handshake message carries and updates the
// connection's state from the hellos.
func (c *Conn) describe(m handshakeMsg) string {
	switch m.typ {
	case hsClientHello:
		ch, ok := parseClientHello(m.body)
		if !ok {
			return "ClientHello that does not parse"
		}
		s := fmt.Sprintf("asks for %q in clear (SNI)", ch.serverName)
		if ch.tls13 {
			s += ", offers TLS 1.3"
		}
		return s
	case hsServerHello:
		sh, ok := parseServerHello(m.body)
		if !ok {
			return "ServerHello that does not parse"
		}
		if sh.retryRequest {
			return "HelloRetryRequest: the server asks for another key share"
		}
		c.suite, c.tls13 = sh.suite, sh.tls13
		for _, d := range c.dirs {
			if d.epoch == epochPlaintext {
				d.epoch = epochHandshake
			}
		}
		if !sh.tls13 {
			return "ServerHello choosing a version before TLS 1.3"
		}
		return "TLS 1.3, " + tls.CipherSuiteName(sh.suite) + "; everything after this is encrypted"
	case hsEncryptedExtensions:
		return "EncryptedExtensions"
	case hsCertificate:
		certs, ok := parseCertificate(m.body)
		if !ok {
			return "Certificate message that does not parse"
		}
		return describeCertificate(certs)
	case hsCertificateVerify:
		return "CertificateVerify: a signature over the handshake by the certificate's key"
	case hsFinished:
		return "Finished: a MAC over the whole handshake"
	case hsNewSessionTicket:
		return "NewSessionTicket"
	case hsKeyUpdate:
		return "KeyUpdate"
	}
	return fmt.Sprintf("handshake message type %d", m.typ)
}

// alert records an alert record.
func (c *Conn) alert(d *direction, r record, content []byte, decrypted bool) {
	if len(content) != 2 {
		c.add(d.dir, "tls_alert", r.raw, trace.Blocked, "malformed alert")
		return
	}
	desc := content[1]
	note := "alert: " + alertText(desc)
	switch {
	case desc != alertCloseNotify:
		// A fatal alert: a side refused to go on.
		if decrypted && !c.outbound(d) {
			note = "decrypted by the attacker: " + note
		}
		c.add(d.dir, "tls_alert", r.raw, trace.Blocked, c.ownNote(d, note))
	case decrypted && !c.outbound(d):
		c.addRecovered(d.dir, "tls_alert", r.raw, trace.Read, bytes.Clone(content), "decrypted by the attacker: "+note)
	default:
		c.add(d.dir, "tls_alert", r.raw, c.handshakeVerdict(d), c.ownNote(d, note))
	}
}

// outbound reports whether this end wrote d's records.
func (c *Conn) outbound(d *direction) bool { return d.dir != c.inbound() }

// handshakeVerdict is the verdict of a record in clear. A relay that only
// copies bytes passes it on unchanged: public. The attacker's own TLS
// endpoint answers what it receives itself (intercepted) and made what it
// sends (substituted).
func (c *Conn) handshakeVerdict(d *direction) trace.Verdict {
	switch {
	case c.obs.Own && c.outbound(d):
		return trace.Substituted
	case c.obs.Own:
		return trace.Intercepted
	}
	return trace.Public
}

func (c *Conn) ownNote(d *direction, note string) string {
	if c.obs.Own && c.outbound(d) {
		return "made by the attacker: " + note
	}
	return note
}

func (c *Conn) add(dir wire.Direction, typ string, raw []byte, v trace.Verdict, note string) {
	c.addRecovered(dir, typ, raw, v, nil, note)
}

func (c *Conn) addRecovered(dir wire.Direction, typ string, raw []byte, v trace.Verdict, recovered []byte, note string) {
	if c.obs.Log == nil {
		return
	}
	c.obs.Log.Add(trace.Event{Conn: c.obs.Conn, Leg: c.obs.Leg, Dir: dir, Type: typ, Size: len(raw), Verdict: v, Recovered: recovered, Note: note, Raw: raw})
}

// describeApp names what a decrypted application-data record holds: the
// first line of an HTTP message, or WebSocket frames.
func describeApp(content []byte) string {
	for _, p := range []string{"GET ", "POST ", "HTTP/1.1 "} {
		if bytes.HasPrefix(content, []byte(p)) {
			line, _, _ := bytes.Cut(content, []byte("\r\n"))
			return "HTTP (" + printableASCII(line) + ")"
		}
	}
	return "WebSocket frames"
}

func printableASCII(b []byte) string {
	out := make([]byte, 0, min(len(b), 80))
	for _, c := range b[:min(len(b), 80)] {
		if c < 0x20 || c >= 0x7f {
			c = '.'
		}
		out = append(out, c)
	}
	return string(out)
}
