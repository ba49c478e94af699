package export

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"slices"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// host is a node's place on the synthesised network: addresses from the
// documentation ranges (RFC 5737, and locally administered MACs).
type host struct {
	mac net.HardwareAddr
	ip  net.IP
}

func hostOf(node string) host {
	switch node {
	case Alice:
		return host{net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0a}, net.IPv4(192, 0, 2, 10).To4()}
	case Mallory:
		return host{net.HardwareAddr{0x02, 0, 0, 0, 0, 0x42}, net.IPv4(192, 0, 2, 66).To4()}
	}
	return host{net.HardwareAddr{0x02, 0, 0, 0, 0, 0x14}, net.IPv4(192, 0, 2, 20).To4()}
}

// clientPort is the stream's client's port: an ephemeral one, different
// for each stream.
func clientPort(s *stream) uint16 { return uint16(49152 + s.n%16384) }

// serverPort is 443 for a TLS stream and 80 otherwise: the ports on which
// Wireshark looks for HTTPS and HTTP, and so finds the WebSocket upgrade.
func serverPort(s *stream) uint16 {
	if s.tls {
		return 443
	}
	return 80
}

// mss is the most TCP payload a segment carries: Ethernet's 1500-byte MTU
// less the IPv4 and TCP headers.
const mss = 1460

// The offsets of the packets a capture adds around a stream's frames: the
// handshake and upgrade just before the first, the FINs just after the
// last.
const step = 100 * time.Microsecond

// packet is one frame of the capture.
type packet struct {
	t    time.Time
	data []byte
}

// tcpStream synthesises one TCP connection, packet by packet.
type tcpStream struct {
	ends [2]host   // client, server
	port [2]uint16 // client, server
	seq  [2]uint32 // the next sequence number each side sends
	ipID [2]uint16
	last time.Time // packets of a stream never go back in time
	out  []packet
	err  error
}

// segment sends flags and payload from the client (side 0) or the server
// (side 1), cut into segments of at most mss bytes.
func (c *tcpStream) segment(side int, t time.Time, syn, fin bool, payload []byte) {
	if t.Before(c.last) {
		t = c.last
	}
	c.last = t
	for first := true; first || len(payload) > 0; first = false {
		n := min(len(payload), mss)
		c.packet(side, t, syn, fin && n == len(payload), payload[:n])
		payload = payload[n:]
	}
}

func (c *tcpStream) packet(side int, t time.Time, syn, fin bool, payload []byte) {
	other := 1 - side
	eth := &layers.Ethernet{SrcMAC: c.ends[side].mac, DstMAC: c.ends[other].mac, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{
		Version: 4, IHL: 5, TTL: 64, Id: c.ipID[side], Flags: layers.IPv4DontFragment,
		Protocol: layers.IPProtocolTCP, SrcIP: c.ends[side].ip, DstIP: c.ends[other].ip,
	}
	c.ipID[side]++
	tcp := &layers.TCP{
		SrcPort: layers.TCPPort(c.port[side]), DstPort: layers.TCPPort(c.port[other]),
		Seq: c.seq[side], SYN: syn, FIN: fin, PSH: len(payload) > 0, Window: 65535,
	}
	// Every segment but the first SYN acknowledges all the peer has sent.
	if !syn || side == 1 {
		tcp.ACK, tcp.Ack = true, c.seq[other]
	}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil && c.err == nil {
		c.err = err
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, ip, tcp, gopacket.Payload(payload)); err != nil && c.err == nil {
		c.err = err
	}
	c.seq[side] += uint32(len(payload))
	if syn || fin {
		c.seq[side]++ // SYN and FIN each take a sequence number
	}
	c.out = append(c.out, packet{t: t, data: slices.Clone(buf.Bytes())})
}

// tcpFor lays out stream s: the handshake, the upgrade (rebuilt, for
// ws://), every frame in the order of the trace at its time, and the FINs.
func tcpFor(s *stream, scheme string) ([]packet, error) {
	isn := derive(s, "isn", 8)
	c := &tcpStream{
		ends: [2]host{hostOf(s.client()), hostOf(s.server())},
		port: [2]uint16{clientPort(s), serverPort(s)},
		seq:  [2]uint32{binary.BigEndian.Uint32(isn[:4]), binary.BigEndian.Uint32(isn[4:])},
		ipID: [2]uint16{1, 1},
	}
	t0 := s.start()
	c.last = t0.Add(-5 * step)
	c.segment(0, t0.Add(-5*step), true, false, nil)
	c.segment(1, t0.Add(-4*step), true, false, nil)
	c.segment(0, t0.Add(-3*step), false, false, nil)
	if !s.tls {
		u := newUpgrade(s, scheme)
		c.segment(0, t0.Add(-2*step), false, false, u.request())
		c.segment(1, t0.Add(-1*step), false, false, u.response(t0))
	}
	for _, e := range s.frames {
		side := 1
		if sends(e) {
			side = 0
		}
		var mask []byte
		if side == 0 {
			mask = derive(s, fmt.Sprint("mask ", e.Index), 4)
		}
		switch {
		case s.tls && isRecord(e):
			c.segment(side, e.Time, false, false, e.Raw)
		case s.tls:
			// A message inside TLS: its bytes are in the records.
		case e.Type == "close":
			c.segment(side, e.Time, false, false, wsFrame(opClose, closePayload(e.Note), mask))
		default:
			c.segment(side, e.Time, false, false, wsFrame(opText, e.Raw, mask))
		}
	}
	t1 := s.end()
	c.segment(0, t1.Add(step), false, true, nil)
	c.segment(1, t1.Add(2*step), false, true, nil)
	c.segment(0, t1.Add(3*step), false, false, nil)
	return c.out, c.err
}

// writePCAPNG writes a pcapng file: a section header, one Ethernet
// interface, a Decryption Secrets Block with the attacker's TLS key log if
// he has one, then every stream's packets in time order.
func writePCAPNG(w io.Writer, r *Run) error {
	comment := "mitmlab run " + r.name()
	if r.Outcome != nil {
		comment += ": " + r.Outcome.Summary()
	}
	ng, err := pcapgo.NewNgWriterInterface(w, pcapgo.NgInterface{
		Name:                "mitmlab",
		Description:         "synthesised: Alice 192.0.2.10, Mallory 192.0.2.66, Bob 192.0.2.20",
		LinkType:            layers.LinkTypeEthernet,
		TimestampResolution: 9,
	}, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "mitmlab " + moduleVersion(), Comment: comment}})
	if err != nil {
		return err
	}
	if kl := r.keyLog(); len(kl) > 0 {
		// pcapgo writes no Decryption Secrets Block: flush what it has
		// buffered, and write the block after it, before any packet.
		if err := ng.Flush(); err != nil {
			return err
		}
		if _, err := w.Write(decryptionSecretsBlock(kl)); err != nil {
			return err
		}
	}
	var all []packet
	for _, s := range streams(r.events()) {
		pkts, err := tcpFor(s, r.scheme())
		if err != nil {
			return err
		}
		all = append(all, pkts...)
	}
	slices.SortStableFunc(all, func(a, b packet) int { return a.t.Compare(b.t) })
	for _, p := range all {
		ci := gopacket.CaptureInfo{Timestamp: p.t, CaptureLength: len(p.data), Length: len(p.data)}
		if err := ng.WritePacket(ci, p.data); err != nil {
			return err
		}
	}
	return ng.Flush()
}

// The Decryption Secrets Block (pcapng, draft-ietf-opsawg-pcapng §4.7):
// block type 0x0000000A, and for a TLS key log the secrets type "TLSK".
const (
	blockTypeDSB  = 0x0000000A
	secretsTLSKey = 0x544c534b
)

// decryptionSecretsBlock is a DSB holding keyLog, little-endian like the
// rest of the section pcapgo writes:
//
//	block type | block total length | secrets type | secrets length |
//	secrets, padded to 32 bits | block total length
func decryptionSecretsBlock(keyLog []byte) []byte {
	pad := (4 - len(keyLog)%4) % 4
	total := 4 + 4 + 4 + 4 + len(keyLog) + pad + 4
	b := make([]byte, 0, total)
	b = binary.LittleEndian.AppendUint32(b, blockTypeDSB)
	b = binary.LittleEndian.AppendUint32(b, uint32(total))
	b = binary.LittleEndian.AppendUint32(b, secretsTLSKey)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(keyLog)))
	b = append(b, keyLog...)
	b = append(b, make([]byte, pad)...)
	return binary.LittleEndian.AppendUint32(b, uint32(total))
}
