package export

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// inetChecksum is RFC 1071's Internet checksum over b: written out here,
// not taken from gopacket, so that the test checks the writer.
func inetChecksum(b []byte) uint16 {
	var sum uint32
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// tcpSide is one direction of a TCP connection read back.
type tcpSide struct {
	next  uint32 // the next sequence number expected
	bytes []byte // the payload so far
	fin   bool
}

// tcpConn is a TCP connection read back: client and server as ip:port,
// and each side, the client's first.
type tcpConn struct {
	client, server string
	side           [2]*tcpSide
}

// readCapture reads a pcapng file packet by packet, checking every IPv4
// and TCP checksum, the handshake, that each segment starts where the last
// one ended and acknowledges all the peer has sent, and that each
// connection ends with a FIN from both sides. It returns each
// connection's bytes in each direction, by client port.
func readCapture(t *testing.T, path string) map[uint16]*tcpConn {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		t.Fatalf("link type %v", r.LinkType())
	}
	conns := map[uint16]*tcpConn{}
	var last int64
	for n := 1; ; n++ {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("packet %d: %v", n, err)
		}
		if ts := ci.Timestamp.UnixNano(); ts < last {
			t.Errorf("packet %d goes back in time", n)
		} else {
			last = ts
		}
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if ip == nil || tcp == nil {
			t.Fatalf("packet %d is not IPv4 and TCP: %v", n, p)
		}
		if inetChecksum(ip.Contents) != 0 {
			t.Errorf("packet %d: bad IPv4 checksum", n)
		}
		seg := append(slices.Clone(tcp.Contents), tcp.Payload...)
		pseudo := append(append(slices.Clone(ip.SrcIP.To4()), ip.DstIP.To4()...), 0, byte(layers.IPProtocolTCP), byte(len(seg)>>8), byte(len(seg)))
		if inetChecksum(append(pseudo, seg...)) != 0 {
			t.Errorf("packet %d: bad TCP checksum", n)
		}
		server := tcp.DstPort == 80 || tcp.DstPort == 443
		port, side := uint16(tcp.SrcPort), 0
		if !server {
			port, side = uint16(tcp.DstPort), 1
		}
		c := conns[port]
		if tcp.SYN {
			if c == nil && side == 0 && !tcp.ACK {
				c = &tcpConn{client: fmt.Sprintf("%s:%d", ip.SrcIP, tcp.SrcPort), server: fmt.Sprintf("%s:%d", ip.DstIP, tcp.DstPort)}
				c.side[0] = &tcpSide{next: tcp.Seq + 1}
				conns[port] = c
				continue
			}
			if c != nil && side == 1 && tcp.ACK && c.side[1] == nil && tcp.Ack == c.side[0].next {
				c.side[1] = &tcpSide{next: tcp.Seq + 1}
				continue
			}
			t.Fatalf("packet %d: a SYN out of place", n)
		}
		if c == nil || c.side[1] == nil {
			t.Fatalf("packet %d: data before the handshake", n)
		}
		me, peer := c.side[side], c.side[1-side]
		if me.fin && (len(tcp.Payload) > 0 || tcp.FIN) {
			t.Errorf("packet %d: data after the FIN", n)
		}
		if tcp.Seq != me.next {
			t.Errorf("packet %d: seq %d, want %d", n, tcp.Seq, me.next)
		}
		if !tcp.ACK || tcp.Ack != peer.next {
			t.Errorf("packet %d: ack %d, want %d", n, tcp.Ack, peer.next)
		}
		if len(tcp.Payload) > mss {
			t.Errorf("packet %d: %d bytes of payload, more than an Ethernet MSS", n, len(tcp.Payload))
		}
		me.bytes = append(me.bytes, tcp.Payload...)
		me.next += uint32(len(tcp.Payload))
		if tcp.FIN {
			me.fin = true
			me.next++
		}
	}
	for port, c := range conns {
		if c.side[1] == nil || !c.side[0].fin || !c.side[1].fin {
			t.Errorf("connection from port %d does not end with a FIN each way", port)
		}
	}
	return conns
}

// wsFrames parses a stream of WebSocket frames, unmasking them, and
// returns each one's opcode and payload. masked says whether every frame
// must be masked (client to server) or none may be.
func wsFrames(t *testing.T, b []byte, masked bool) (opcodes []byte, payloads [][]byte) {
	t.Helper()
	for len(b) > 0 {
		if len(b) < 2 {
			t.Fatalf("a frame cut short: %x", b)
		}
		op, isMasked, n := b[0]&0x0f, b[1]&0x80 != 0, int(b[1]&0x7f)
		if b[0]&0x80 == 0 {
			t.Errorf("a frame without FIN")
		}
		if isMasked != masked {
			t.Errorf("a frame masked=%v, want %v (RFC 6455 §5.1)", isMasked, masked)
		}
		b = b[2:]
		switch n {
		case 126:
			n, b = int(binary.BigEndian.Uint16(b)), b[2:]
		case 127:
			n, b = int(binary.BigEndian.Uint64(b)), b[8:]
		}
		var mask []byte
		if isMasked {
			mask, b = b[:4], b[4:]
		}
		p := slices.Clone(b[:n])
		for i := range p {
			if mask != nil {
				p[i] ^= mask[i%4]
			}
		}
		opcodes, payloads, b = append(opcodes, op), append(payloads, p), b[n:]
	}
	return opcodes, payloads
}

// wantFrame is a frame, or over TLS a record, a stream should carry.
type wantFrame struct {
	op      byte
	payload []byte
}

// wantStreams is what each stream of the run should carry each way, by
// client port: over TLS, the records; otherwise, after the upgrade, one
// frame per message and close.
func wantStreams(r Run) map[uint16][2][]wantFrame {
	out := map[uint16][2][]wantFrame{}
	for _, s := range streams(r.events()) {
		var w [2][]wantFrame
		for _, e := range s.frames {
			side := 1
			if sends(e) {
				side = 0
			}
			switch {
			case s.tls && isRecord(e):
				w[side] = append(w[side], wantFrame{payload: e.Raw})
			case s.tls:
			case e.Type == trace.TypeClose:
				w[side] = append(w[side], wantFrame{opClose, closePayload(e.Note)})
			default:
				w[side] = append(w[side], wantFrame{opText, e.Raw})
			}
		}
		out[clientPort(s)] = w
	}
	return out
}

// TestPCAPNGIsRealTCP reads the capture back packet by packet (pcapgo, and
// checksums computed here) and rebuilds each connection: every frame and
// record of the run is there, in order, in the right direction and on the
// right connection; client frames are masked and server frames are not;
// over ws:// each connection starts with an upgrade Bob accepts
// (Sec-WebSocket-Accept is right for the key); over wss:// the bytes are
// the records exactly as they crossed, and the file carries the
// attacker's key log in a Decryption Secrets Block.
func TestPCAPNGIsRealTCP(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts *scenarios.Options
	}{
		{"unauth-ecdh", &scenarios.Options{Messages: []string{strings.Repeat("a long message over many segments ", 100)}}},
		{"unauth-ecdh", &scenarios.Options{NoAttacker: true}},
		{"truncation", nil},
		{"pinned-ecdh", nil},
		{"wss-skipverify", nil},
		{"wss-skipverify", &scenarios.Options{NoAttacker: true}},
		{"wss-ca-verified", nil},
	} {
		r := labRun(t, tc.name, tc.opts)
		path := exportFile(t, r, PCAPNG)
		conns := readCapture(t, path)
		want := wantStreams(r)
		if len(conns) != len(want) || len(want) == 0 {
			t.Errorf("%s: %d connections in the capture, %d in the run", tc.name, len(conns), len(want))
		}
		for port, w := range want {
			c := conns[port]
			if c == nil {
				t.Errorf("%s: no connection from port %d", tc.name, port)
				continue
			}
			tls := strings.HasSuffix(c.server, ":443")
			var heads [2]string
			for side := range 2 {
				got := c.side[side].bytes
				if tls {
					var all []byte
					for _, f := range w[side] {
						all = append(all, f.payload...)
					}
					if !bytes.Equal(got, all) {
						t.Errorf("%s: port %d side %d: the TCP bytes are not the records", tc.name, port, side)
					}
					continue
				}
				head, rest, ok := bytes.Cut(got, []byte("\r\n\r\n"))
				if !ok {
					t.Fatalf("%s: port %d: no HTTP head", tc.name, port)
				}
				heads[side] = string(head)
				ops, payloads := wsFrames(t, rest, side == 0)
				if len(ops) != len(w[side]) {
					t.Errorf("%s: port %d side %d: %d frames, want %d", tc.name, port, side, len(ops), len(w[side]))
					continue
				}
				for i, f := range w[side] {
					if ops[i] != f.op || !bytes.Equal(payloads[i], f.payload) {
						t.Errorf("%s: port %d side %d frame %d: %d %q, want %d %q", tc.name, port, side, i, ops[i], payloads[i], f.op, f.payload)
					}
				}
			}
			if !tls {
				checkUpgrade(t, heads[0], heads[1], r.scheme())
			}
		}
		dsb := secretsBlocks(t, path)
		if kl := r.keyLog(); len(kl) > 0 {
			if len(dsb) != 1 || !bytes.Equal(dsb[0], kl) {
				t.Errorf("%s: the Decryption Secrets Blocks %q do not hold the key log", tc.name, dsb)
			}
		} else if len(dsb) != 0 {
			t.Errorf("%s: a Decryption Secrets Block with no key log", tc.name)
		}
		if tc.name == "wss-skipverify" && tc.opts == nil && len(r.keyLog()) == 0 {
			t.Errorf("%s: Mallory terminated TLS, but the run has no key log", tc.name)
		}
	}
}

// checkUpgrade checks a rebuilt upgrade: Alice's (or Mallory's) GET asks
// for the scheme's path and subprotocol, and Bob's 101 answers its key
// with the right Sec-WebSocket-Accept (RFC 6455 §4.2.2).
func checkUpgrade(t *testing.T, request, response, scheme string) {
	t.Helper()
	parse := func(head string) (string, map[string]string) {
		lines := strings.Split(head, "\r\n")
		h := map[string]string{}
		for _, l := range lines[1:] {
			k, v, _ := strings.Cut(l, ": ")
			h[strings.ToLower(k)] = v
		}
		return lines[0], h
	}
	first, req := parse(request)
	if first != "GET /"+scheme+" HTTP/1.1" || req["upgrade"] != "websocket" || req["sec-websocket-version"] != "13" || req["sec-websocket-protocol"] != wire.Subprotocol(scheme) {
		t.Errorf("request head %q", request)
	}
	first, resp := parse(response)
	want := upgrade{key: req["sec-websocket-key"]}.accept()
	if first != "HTTP/1.1 101 Switching Protocols" || resp["sec-websocket-accept"] != want || resp["sec-websocket-protocol"] != wire.Subprotocol(scheme) {
		t.Errorf("response head %q, want Sec-Websocket-Accept %s", response, want)
	}
}

// secretsBlocks walks the pcapng blocks and returns the secrets of each
// Decryption Secrets Block, checking its layout.
func secretsBlocks(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for len(b) > 0 {
		typ, n := binary.LittleEndian.Uint32(b), int(binary.LittleEndian.Uint32(b[4:]))
		if n < 12 || n%4 != 0 || n > len(b) || binary.LittleEndian.Uint32(b[n-4:]) != uint32(n) {
			t.Fatalf("a block of type %#x with a bad length %d", typ, n)
		}
		if typ == blockTypeDSB {
			if binary.LittleEndian.Uint32(b[8:]) != secretsTLSKey {
				t.Errorf("secrets type %#x, want TLSK", binary.LittleEndian.Uint32(b[8:]))
			}
			sl := int(binary.LittleEndian.Uint32(b[12:]))
			out = append(out, b[16:16+sl])
		}
		b = b[n:]
	}
	return out
}

// tsharkFrame is one WebSocket frame as tshark dissects it.
type tsharkFrame struct {
	clientPort uint16
	fromClient bool
	op         byte
	text       string // a text frame's payload
	code       string // a close frame's status code
}

// tsharkFrames runs tshark -r FILE -Y websocket and returns every
// WebSocket frame it dissected, in the capture's order.
func tsharkFrames(t *testing.T, tshark, path string) []tsharkFrame {
	t.Helper()
	cmd := exec.Command(tshark, "-r", path, "-Y", "websocket", "-T", "json",
		"-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "websocket.opcode", "-e", "websocket.payload.text", "-e", "websocket.payload.close.status_code")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v: %s", err, stderrOf(err))
	}
	var packets []struct {
		Source struct {
			Layers map[string][]string `json:"layers"`
		} `json:"_source"`
	}
	if err := json.Unmarshal(out, &packets); err != nil {
		t.Fatalf("tshark's JSON: %v: %.200s", err, out)
	}
	var frames []tsharkFrame
	for _, p := range packets {
		l := p.Source.Layers
		src, dst := l["tcp.srcport"][0], l["tcp.dstport"][0]
		fromClient := dst == "80" || dst == "443"
		port := src
		if !fromClient {
			port = dst
		}
		var cp uint16
		fmt.Sscan(port, &cp)
		texts, codes := l["websocket.payload.text"], l["websocket.payload.close.status_code"]
		for _, op := range l["websocket.opcode"] {
			f := tsharkFrame{clientPort: cp, fromClient: fromClient}
			switch op {
			case "1":
				f.op, f.text, texts = opText, texts[0], texts[1:]
			case "8":
				f.op = opClose
				if len(codes) > 0 {
					f.code, codes = codes[0], codes[1:]
				}
			default:
				t.Errorf("tshark saw opcode %s", op)
			}
			frames = append(frames, f)
		}
	}
	return frames
}

// TestTsharkReadsTheRun opens the captures with Debian's tshark, as a
// student would in Wireshark, and compares the WebSocket frames it
// dissects with the run: the same messages, byte for byte, in the same
// order, on the same connection and in the same direction, and the close
// frames with their codes.
//
// ATTACK SCENARIO: Mallory runs double-ecdh on unauth-ecdh over ws://,
// and terminates Alice's TLS with his own certificate in wss-skipverify.
//
// THIS TEST VERIFIES: over ws:// tshark shows every message; over wss://
// it decrypts both legs with the attacker's key log from the file's
// Decryption Secrets Block and shows every message inside, and the same
// capture without the block shows none (the keys are what decrypts it);
// with a passive Mallory on wss-skipverify, who holds no keys, it shows
// none either.
func TestTsharkReadsTheRun(t *testing.T) {
	t.Parallel()
	tshark := tool(t, "tshark", "apt-get install tshark")
	for _, tc := range []struct {
		label, name string
		opts        *scenarios.Options
		stripKey    bool
		none        bool // tshark must see no WebSocket frame
	}{
		{label: "unauth-ecdh over ws", name: "unauth-ecdh"},
		{label: "truncation over ws", name: "truncation"},
		{label: "wss-skipverify decrypted with the attacker's keys", name: "wss-skipverify"},
		{label: "wss-skipverify without the key block", name: "wss-skipverify", stripKey: true, none: true},
		{label: "wss-skipverify with a passive attacker", name: "wss-skipverify", opts: &scenarios.Options{Attack: "passive"}, none: true},
	} {
		t.Run(tc.label, func(t *testing.T) {
			t.Parallel()
			r := labRun(t, tc.name, tc.opts)
			if tc.stripKey {
				r.KeyLog = []byte{}
			}
			got := tsharkFrames(t, tshark, exportFile(t, r, PCAPNG))
			var want []tsharkFrame
			for _, s := range streams(r.events()) {
				if s.tls {
					want = append(want, decryptedFrames(t, s)...)
					continue
				}
				for _, e := range s.frames {
					f := tsharkFrame{clientPort: clientPort(s), fromClient: sends(e)}
					switch {
					case isMessage(e):
						f.op, f.text = opText, string(e.Raw)
					case e.Type == trace.TypeClose:
						f.op = opClose
						if p := closePayload(e.Note); len(p) >= 2 {
							f.code = fmt.Sprint(binary.BigEndian.Uint16(p))
						}
					default:
						continue
					}
					want = append(want, f)
				}
			}
			if tc.none {
				if len(got) != 0 {
					t.Fatalf("tshark dissected %d WebSocket frames, want none: %+v", len(got), got[0])
				}
				return
			}
			if len(want) == 0 {
				t.Fatal("the run has no WebSocket frames to look for")
			}
			// tshark lists frames in capture order; compare each
			// connection's frames in each direction in order.
			byConn := func(fs []tsharkFrame) map[[2]any][]tsharkFrame {
				m := map[[2]any][]tsharkFrame{}
				for _, f := range fs {
					k := [2]any{f.clientPort, f.fromClient}
					m[k] = append(m[k], f)
				}
				return m
			}
			g, w := byConn(got), byConn(want)
			if len(got) != len(want) {
				t.Errorf("tshark dissected %d WebSocket frames, the run has %d", len(got), len(want))
			}
			for k, wf := range w {
				if !slices.Equal(g[k], wf) {
					t.Errorf("connection %v: tshark sees\n%+v\nwant\n%+v", k, g[k], wf)
				}
			}
		})
	}
}

// decryptedFrames is what the attacker decrypted on a TLS stream, as
// WebSocket frames: the plaintext of the application data records he read
// or wrote himself, each direction after its HTTP head. Every message of
// the run on the stream must be among them.
func decryptedFrames(t *testing.T, s *stream) []tsharkFrame {
	t.Helper()
	var plain [2][]byte
	for _, e := range s.frames {
		if e.Type == "tls_application_data" && e.Recovered != nil {
			side := 1
			if sends(e) {
				side = 0
			}
			plain[side] = append(plain[side], e.Recovered...)
		}
	}
	var out []tsharkFrame
	var texts []string
	for side := range 2 {
		_, rest, ok := bytes.Cut(plain[side], []byte("\r\n\r\n"))
		if !ok {
			continue // nothing decrypted this way
		}
		ops, payloads := wsFrames(t, rest, side == 0)
		for i, op := range ops {
			f := tsharkFrame{clientPort: clientPort(s), fromClient: side == 0, op: op}
			switch op {
			case opText:
				f.text = string(payloads[i])
				texts = append(texts, f.text)
			case opClose:
				if len(payloads[i]) >= 2 {
					f.code = fmt.Sprint(binary.BigEndian.Uint16(payloads[i]))
				}
			}
			out = append(out, f)
		}
	}
	for _, e := range s.frames {
		if isMessage(e) && !slices.Contains(texts, string(e.Raw)) {
			t.Errorf("frame %d, %q, is not in what the attacker decrypted", e.Index, e.Raw)
		}
	}
	return out
}
