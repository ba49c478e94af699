package channel_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/wire"
)

// testKeys returns keys whose bytes start at start, so that two calls with
// different starts give unrelated keys.
func testKeys(start byte) channel.Keys {
	var k channel.Keys
	for i := range k.Key {
		k.Key[i] = start + byte(i)
	}
	for i := range k.IV {
		k.IV[i] = start + 0x80 + byte(i)
	}
	return k
}

func testSecrets(suite channel.Suite) *channel.Secrets {
	return &channel.Secrets{ClientToServer: testKeys(0x10), ServerToClient: testKeys(0x40), Suite: suite}
}

// allSuites lists every suite, the default spelled both ways.
var allSuites = []channel.Suite{"", channel.AES256GCM, channel.Null, channel.AES256CTR, channel.RandomNonce}

func newSealer(t *testing.T, s *channel.Secrets, d wire.Direction) *channel.Sealer {
	t.Helper()
	sl, err := channel.NewSealer(s, d)
	if err != nil {
		t.Fatal(err)
	}
	return sl
}

func newOpener(t *testing.T, s *channel.Secrets, d wire.Direction) *channel.Opener {
	t.Helper()
	o, err := channel.NewOpener(s, d)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func seal(t *testing.T, s *channel.Sealer, pt string) *wire.Data {
	t.Helper()
	d, err := s.Seal([]byte(pt))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func sealEnd(t *testing.T, s *channel.Sealer) *wire.End {
	t.Helper()
	e, err := s.SealEnd()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func open(t *testing.T, o *channel.Opener, d *wire.Data, want string) {
	t.Helper()
	pt, err := o.Open(d)
	if err != nil {
		t.Fatalf("Open(seq %d): %v", d.Seq, err)
	}
	if string(pt) != want {
		t.Fatalf("Open(seq %d) = %q, want %q", d.Seq, pt, want)
	}
}

func flip(ct []byte, bit int) []byte {
	out := bytes.Clone(ct)
	out[bit/8] ^= 1 << (bit % 8)
	return out
}

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	msgs := []string{"hello bob", "", "x", strings.Repeat("€", channel.MaxPlaintext/3), strings.Repeat("z", channel.MaxPlaintext)}
	for _, suite := range allSuites {
		name := string(suite)
		if name == "" {
			name = "the zero suite is aes-256-gcm"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sec := testSecrets(suite)
			s, o := newSealer(t, sec, wire.ClientToServer), newOpener(t, sec, wire.ClientToServer)
			effective := suite
			if effective == "" {
				effective = channel.AES256GCM
			}
			if o.Suite() != effective {
				t.Errorf("Opener.Suite = %q, want %q", o.Suite(), effective)
			}
			for i, m := range msgs {
				if s.Next() != uint64(i) {
					t.Errorf("Sealer.Next = %d before record %d", s.Next(), i)
				}
				d := seal(t, s, m)
				if d.Seq != uint64(i) {
					t.Errorf("record %d has seq %d", i, d.Seq)
				}
				if len(d.CT) != len(m)+effective.Overhead() {
					t.Errorf("ct is %d bytes for %d of plaintext, want plaintext + %d", len(d.CT), len(m), effective.Overhead())
				}
				// A message of a byte or two turns up by chance in random
				// bytes (the random-nonce suite's "x" did in one run of
				// ten): only a longer one says whether ct hides it.
				if len(m) >= 4 && bytes.Contains(d.CT, []byte(m)) != effective.Keyless() {
					t.Errorf("ct contains the plaintext: %v; want %v", !effective.Keyless(), effective.Keyless())
				}
				open(t, o, d, m)
				if o.Next() != uint64(i+1) {
					t.Errorf("Opener.Next = %d after opening seq %d", o.Next(), i)
				}
			}
			e := sealEnd(t, s)
			if e.Seq != uint64(len(msgs)) || len(e.CT) != effective.Overhead() {
				t.Errorf("end record = seq %d, %d-byte ct; want seq %d, %d bytes", e.Seq, len(e.CT), len(msgs), effective.Overhead())
			}
			if err := o.OpenEnd(e); err != nil {
				t.Errorf("OpenEnd: %v", err)
			}
			// An empty message opens as empty, not as nothing.
			if pt, err := newOpener(t, sec, wire.ClientToServer).Open(seal(t, newSealer(t, sec, wire.ClientToServer), "")); err != nil || pt == nil {
				t.Errorf("Open of an empty message = %#v, %v; want an empty slice", pt, err)
			}
		})
	}
}

func TestSuiteProperties(t *testing.T) {
	t.Parallel()
	tests := []struct {
		suite    channel.Suite
		keyless  bool
		overhead int
	}{
		{"", false, wire.TagSize},
		{channel.AES256GCM, false, wire.TagSize},
		{channel.Null, true, 0},
		{channel.AES256CTR, false, 0},
		{channel.RandomNonce, false, channel.IVSize + wire.TagSize},
	}
	for _, tt := range tests {
		if tt.suite.Keyless() != tt.keyless || tt.suite.Overhead() != tt.overhead {
			t.Errorf("%q: Keyless %v, Overhead %d; want %v, %d", tt.suite, tt.suite.Keyless(), tt.suite.Overhead(), tt.keyless, tt.overhead)
		}
	}
	if _, err := channel.NewSealer(testSecrets("rot13"), wire.ClientToServer); err == nil {
		t.Errorf("NewSealer accepted an unknown suite")
	}
	if _, err := channel.NewOpener(testSecrets("rot13"), wire.ClientToServer); err == nil {
		t.Errorf("NewOpener accepted an unknown suite")
	}
	sec := testSecrets("")
	if sec.For(wire.ClientToServer) != sec.ClientToServer || sec.For(wire.ServerToClient) != sec.ServerToClient {
		t.Error("For returns the wrong direction's keys")
	}
}

// TestOpenRejects covers each way a frame can be wrong under the lab's
// record layer. After a rejection the Opener's state is unchanged: the
// genuine next frame still opens.
func TestOpenRejects(t *testing.T) {
	t.Parallel()
	const violation, protocol = websocket.StatusPolicyViolation, websocket.StatusProtocolError
	tests := []struct {
		name string
		// attack gets the first three genuine c2s frames and returns what
		// the attacker delivers after the first one opened.
		attack func(t *testing.T, f []*wire.Data) *wire.Data
		want   error
		code   websocket.StatusCode
	}{
		{"replay: the first frame again", func(t *testing.T, f []*wire.Data) *wire.Data { return f[0] }, channel.ErrReplay, violation},
		{"replay: an old seq carrying a newer ct", func(t *testing.T, f []*wire.Data) *wire.Data {
			return &wire.Data{Seq: 0, CT: f[1].CT}
		}, channel.ErrReplay, violation},
		{"reorder: the third frame before the second", func(t *testing.T, f []*wire.Data) *wire.Data { return f[2] }, channel.ErrOutOfOrder, violation},
		{"moved: the third frame's ct under the second's seq", func(t *testing.T, f []*wire.Data) *wire.Data {
			return &wire.Data{Seq: 1, CT: f[2].CT}
		}, channel.ErrDecrypt, violation},
		{"tamper: one bit flipped in the first ct byte", func(t *testing.T, f []*wire.Data) *wire.Data {
			return &wire.Data{Seq: 1, CT: flip(f[1].CT, 0)}
		}, channel.ErrDecrypt, violation},
		{"tamper: one bit flipped in the tag", func(t *testing.T, f []*wire.Data) *wire.Data {
			return &wire.Data{Seq: 1, CT: flip(f[1].CT, len(f[1].CT)*8-1)}
		}, channel.ErrDecrypt, violation},
		{"tamper: one byte appended", func(t *testing.T, f []*wire.Data) *wire.Data {
			return &wire.Data{Seq: 1, CT: append(bytes.Clone(f[1].CT), 0)}
		}, channel.ErrDecrypt, violation},
		{"tamper: the ciphertext cut off, the tag kept", func(t *testing.T, f []*wire.Data) *wire.Data {
			return &wire.Data{Seq: 1, CT: f[1].CT[len(f[1].CT)-wire.TagSize:]}
		}, channel.ErrDecrypt, violation},
		{"tamper: a tag of zeros", func(t *testing.T, f []*wire.Data) *wire.Data {
			return &wire.Data{Seq: 1, CT: make([]byte, wire.TagSize)}
		}, channel.ErrDecrypt, violation},
		{"short: the tag cut off", func(t *testing.T, f []*wire.Data) *wire.Data {
			return &wire.Data{Seq: 1, CT: f[1].CT[:len(f[1].CT)-wire.TagSize]}
		}, wire.ErrFieldLength, protocol},
		{"short: one byte less than a tag", func(t *testing.T, f []*wire.Data) *wire.Data {
			return &wire.Data{Seq: 1, CT: make([]byte, wire.TagSize-1)}
		}, wire.ErrFieldLength, protocol},
		{"short: an empty ct", func(t *testing.T, f []*wire.Data) *wire.Data { return &wire.Data{Seq: 1} }, wire.ErrFieldLength, protocol},
		{"reflect: a frame the receiver itself sent, same seq", func(t *testing.T, f []*wire.Data) *wire.Data {
			s2c := newSealer(t, testSecrets(""), wire.ServerToClient)
			seal(t, s2c, "first reply")
			return seal(t, s2c, "second reply")
		}, channel.ErrDecrypt, violation},
		{"relabel: the next end record's ct as data", func(t *testing.T, f []*wire.Data) *wire.Data {
			s := newSealer(t, testSecrets(""), wire.ClientToServer)
			seal(t, s, "one")
			return &wire.Data{Seq: 1, CT: sealEnd(t, s).CT}
		}, channel.ErrDecrypt, violation},
		{"forge: sealed under another key", func(t *testing.T, f []*wire.Data) *wire.Data {
			other := newSealer(t, &channel.Secrets{ClientToServer: testKeys(0x99)}, wire.ClientToServer)
			seal(t, other, "zero")
			return seal(t, other, "forged")
		}, channel.ErrDecrypt, violation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sec := testSecrets("")
			s, o := newSealer(t, sec, wire.ClientToServer), newOpener(t, sec, wire.ClientToServer)
			f := []*wire.Data{seal(t, s, "one"), seal(t, s, "two"), seal(t, s, "three")}
			open(t, o, f[0], "one")
			pt, err := o.Open(tt.attack(t, f))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open = %q, %v; want %q", pt, err, tt.want)
			}
			if pt != nil {
				t.Errorf("Open returned plaintext %q with its error", pt)
			}
			if code := wire.CloseCode(err); code != tt.code {
				t.Errorf("CloseCode = %d, want %d", code, tt.code)
			}
			if o.Next() != 1 {
				t.Errorf("a rejected frame moved Next to %d", o.Next())
			}
			open(t, o, f[1], "two")
			open(t, o, f[2], "three")
		})
	}
}

// TestEndRecordRejects: the end record is bound to its type, direction and
// position like any record, and carries nothing.
func TestEndRecordRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// forge gets a sealer that has sealed one data record, d, and
		// returns the end record the attacker delivers at seq 1.
		forge func(t *testing.T, s *channel.Sealer, d *wire.Data) *wire.End
		want  error
	}{
		{"relabel: a data record's ct as the end", func(t *testing.T, s *channel.Sealer, d *wire.Data) *wire.End {
			return &wire.End{Seq: 1, CT: seal(t, s, "").CT}
		}, channel.ErrDecrypt},
		{"replay: the data record just opened, relabelled as the end", func(t *testing.T, s *channel.Sealer, d *wire.Data) *wire.End {
			return &wire.End{Seq: 0, CT: d.CT}
		}, channel.ErrReplay},
		{"moved: an end record sealed for seq 2", func(t *testing.T, s *channel.Sealer, d *wire.Data) *wire.End {
			seal(t, s, "skipped")
			return &wire.End{Seq: 1, CT: sealEnd(t, s).CT}
		}, channel.ErrDecrypt},
		{"early: an end record ahead of its turn", func(t *testing.T, s *channel.Sealer, d *wire.Data) *wire.End {
			seal(t, s, "skipped")
			return sealEnd(t, s)
		}, channel.ErrOutOfOrder},
		{"reflect: the other direction's end record", func(t *testing.T, s *channel.Sealer, d *wire.Data) *wire.End {
			s2c := newSealer(t, testSecrets(""), wire.ServerToClient)
			seal(t, s2c, "reply")
			return sealEnd(t, s2c)
		}, channel.ErrDecrypt},
		{"tamper: one bit of the tag flipped", func(t *testing.T, s *channel.Sealer, d *wire.Data) *wire.End {
			e := sealEnd(t, s)
			return &wire.End{Seq: e.Seq, CT: flip(e.CT, 3)}
		}, channel.ErrDecrypt},
		{"short: an empty ct", func(t *testing.T, s *channel.Sealer, d *wire.Data) *wire.End {
			return &wire.End{Seq: 1}
		}, wire.ErrFieldLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sec := testSecrets("")
			s, o := newSealer(t, sec, wire.ClientToServer), newOpener(t, sec, wire.ClientToServer)
			d := seal(t, s, "one")
			open(t, o, d, "one")
			if err := o.OpenEnd(tt.forge(t, s, d)); !errors.Is(err, tt.want) {
				t.Fatalf("OpenEnd = %v, want %q", err, tt.want)
			}
			if o.Next() != 1 {
				t.Errorf("a rejected end record moved Next to %d", o.Next())
			}
			genuine := newSealer(t, sec, wire.ClientToServer)
			seal(t, genuine, "one")
			if err := o.OpenEnd(sealEnd(t, genuine)); err != nil {
				t.Errorf("the genuine end record after a rejected one: %v", err)
			}
		})
	}
}

// TestDirectionIsAuthenticated: with the very same key and IV in both
// directions, a record still does not open in the other direction, because
// the direction is in the additional data.
func TestDirectionIsAuthenticated(t *testing.T) {
	t.Parallel()
	for _, suite := range []channel.Suite{channel.AES256GCM, channel.RandomNonce} {
		t.Run(string(suite), func(t *testing.T) {
			t.Parallel()
			k := testKeys(7)
			sec := &channel.Secrets{ClientToServer: k, ServerToClient: k, Suite: suite}
			d := seal(t, newSealer(t, sec, wire.ClientToServer), "to bob")
			if _, err := newOpener(t, sec, wire.ServerToClient).Open(d); !errors.Is(err, channel.ErrDecrypt) {
				t.Errorf("c2s record opened as s2c with the same keys: %v, want ErrDecrypt", err)
			}
			open(t, newOpener(t, sec, wire.ClientToServer), d, "to bob")
		})
	}
}

func TestWrongKeys(t *testing.T) {
	t.Parallel()
	sec := testSecrets("")
	d := seal(t, newSealer(t, sec, wire.ClientToServer), "secret")
	wrongKey, wrongIV := *sec, *sec
	wrongKey.ClientToServer.Key[31] ^= 1
	wrongIV.ClientToServer.IV[0] ^= 0x80
	for name, s := range map[string]*channel.Secrets{"key differs in one bit": &wrongKey, "IV differs in one bit": &wrongIV} {
		if pt, err := newOpener(t, s, wire.ClientToServer).Open(d); !errors.Is(err, channel.ErrDecrypt) {
			t.Errorf("%s: Open = %q, %v; want ErrDecrypt", name, pt, err)
		}
	}
}

func TestSealTooLarge(t *testing.T) {
	t.Parallel()
	for _, suite := range allSuites {
		s := newSealer(t, testSecrets(suite), wire.ServerToClient)
		d, err := s.Seal(make([]byte, channel.MaxPlaintext+1))
		if !errors.Is(err, channel.ErrTooLarge) || d != nil {
			t.Fatalf("%q: Seal(MaxPlaintext+1) = %v, %v; want ErrTooLarge", suite, d, err)
		}
		// A refused plaintext uses no sequence number.
		if d := seal(t, s, "fits"); d.Seq != 0 {
			t.Errorf("%q: next record has seq %d, want 0", suite, d.Seq)
		}
	}
}

// TestOpenRefusesOversizePlaintext: a peer that seals more than a record
// may carry (the lab's Sealer would not) is refused with 1009. The null
// suite lets the test write such a record by hand; the internal tests do
// the same for AES-256-GCM.
func TestOpenRefusesOversizePlaintext(t *testing.T) {
	t.Parallel()
	o := newOpener(t, testSecrets(channel.Null), wire.ClientToServer)
	pt, err := o.Open(&wire.Data{Seq: 0, CT: make([]byte, channel.MaxPlaintext+1)})
	if !errors.Is(err, channel.ErrPlaintextTooLarge) || pt != nil {
		t.Fatalf("Open of a record of MaxPlaintext+1 = %d bytes, %v; want ErrPlaintextTooLarge", len(pt), err)
	}
	if code := wire.CloseCode(err); code != websocket.StatusMessageTooBig {
		t.Errorf("CloseCode = %d, want 1009", code)
	}
	o = newOpener(t, testSecrets(channel.Null), wire.ClientToServer)
	if pt, err := o.Open(&wire.Data{Seq: 0, CT: make([]byte, channel.MaxPlaintext)}); err != nil || len(pt) != channel.MaxPlaintext {
		t.Errorf("Open of exactly MaxPlaintext = %d bytes, %v", len(pt), err)
	}
}

// TestLargestRecordFitsOneMessage: a record of MaxPlaintext bytes in the
// suite with the most overhead, with the longest possible sequence number,
// encodes within wire.MaxMessageSize.
func TestLargestRecordFitsOneMessage(t *testing.T) {
	t.Parallel()
	for _, suite := range allSuites {
		d, err := newSealer(t, testSecrets(suite), wire.ClientToServer).Seal(bytes.Repeat([]byte{0xff}, channel.MaxPlaintext))
		if err != nil {
			t.Fatal(err)
		}
		d.Seq = 1<<64 - 2 // 20 digits, as long as a seq gets
		b, err := wire.Encode(d)
		if err != nil {
			t.Fatalf("%q: Encode of the largest record: %v", suite, err)
		}
		if _, err := wire.Records().Decode(b); err != nil {
			t.Errorf("%q: Decode of the largest record: %v", suite, err)
		}
	}
}

func TestErrorsCloseCodes(t *testing.T) {
	t.Parallel()
	for _, err := range []error{channel.ErrReplay, channel.ErrOutOfOrder, channel.ErrDecrypt, channel.ErrSeqExhausted,
		channel.ErrTruncated, channel.ErrAfterEnd, channel.ErrBadEnd} {
		if code := wire.CloseCode(err); code != websocket.StatusPolicyViolation || !wire.Detected(err) {
			t.Errorf("%v: CloseCode %d, Detected %v; want a violation closing 1008", err, code, wire.Detected(err))
		}
	}
	if code := wire.CloseCode(channel.ErrPlaintextTooLarge); code != websocket.StatusMessageTooBig || wire.Detected(channel.ErrPlaintextTooLarge) {
		t.Errorf("ErrPlaintextTooLarge: CloseCode %d; want 1009 and not a violation", code)
	}
	for _, err := range []error{channel.ErrTooLarge, channel.ErrEnded} {
		if wire.Detected(err) {
			t.Errorf("%v is this side's own mistake, not the peer's violation", err)
		}
	}
}

// TestCTRIsMalleable shows why the CTR suite is a lesson: with no MAC,
// flipping a bit of ct flips the same bit of the plaintext, and the record
// still opens. The same flip under AES-256-GCM is refused.
func TestCTRIsMalleable(t *testing.T) {
	t.Parallel()
	pt := "pay mallory 0001 EUR"
	for _, tt := range []struct {
		suite     channel.Suite
		malleable bool
	}{{channel.AES256CTR, true}, {channel.AES256GCM, false}} {
		t.Run(string(tt.suite), func(t *testing.T) {
			t.Parallel()
			sec := testSecrets(tt.suite)
			d := seal(t, newSealer(t, sec, wire.ClientToServer), pt)
			// Turn the '0' at index 12 into a '9' by flipping the bits
			// where they differ.
			forged := &wire.Data{Seq: d.Seq, CT: bytes.Clone(d.CT)}
			forged.CT[12] ^= '0' ^ '9'
			got, err := newOpener(t, sec, wire.ClientToServer).Open(forged)
			if !tt.malleable {
				if !errors.Is(err, channel.ErrDecrypt) {
					t.Fatalf("Open of a flipped GCM record = %q, %v; want ErrDecrypt", got, err)
				}
				return
			}
			// INSECURE(tamper-ctr): the flipped record opens and says what
			// the attacker chose; this is the lesson.
			if err != nil || string(got) != "pay mallory 9001 EUR" {
				t.Fatalf("Open of a flipped CTR record = %q, %v; want the attacker's edit", got, err)
			}
			for bit := 0; bit < len(pt)*8; bit += 13 {
				o := newOpener(t, sec, wire.ClientToServer)
				got, err := o.Open(&wire.Data{Seq: d.Seq, CT: flip(d.CT, bit)})
				if err != nil || !bytes.Equal(got, flip([]byte(pt), bit)) {
					t.Errorf("bit %d: Open = %q, %v; want the plaintext with bit %d flipped", bit, got, err, bit)
				}
			}
			// The CTR suite does check sequence numbers: replay is refused.
			o := newOpener(t, sec, wire.ClientToServer)
			open(t, o, d, pt)
			if _, err := o.Open(d); !errors.Is(err, channel.ErrReplay) {
				t.Errorf("CTR replay = %v, want ErrReplay", err)
			}
		})
	}
}

// TestRandomNonceAcceptsReplay shows why the random-nonce suite is a
// lesson: nothing binds seq, so a copy of a record opens again, at any
// position. AES-256-GCM refuses the same replay.
func TestRandomNonceAcceptsReplay(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		suite      channel.Suite
		replayable bool
	}{{channel.RandomNonce, true}, {channel.AES256GCM, false}} {
		t.Run(string(tt.suite), func(t *testing.T) {
			t.Parallel()
			sec := testSecrets(tt.suite)
			s, o := newSealer(t, sec, wire.ClientToServer), newOpener(t, sec, wire.ClientToServer)
			pay := seal(t, s, "pay mallory 1 EUR")
			open(t, o, pay, "pay mallory 1 EUR")
			replays := []*wire.Data{pay, {Seq: 7, CT: pay.CT}, {Seq: 0, CT: pay.CT}}
			for _, r := range replays {
				got, err := o.Open(r)
				if !tt.replayable {
					if !errors.Is(err, channel.ErrReplay) && !errors.Is(err, channel.ErrOutOfOrder) {
						t.Errorf("replay at seq %d = %q, %v; want ErrReplay or ErrOutOfOrder", r.Seq, got, err)
					}
					continue
				}
				// INSECURE(replay-no-seq): the copy opens wherever it is
				// put; this is the lesson.
				if err != nil || string(got) != "pay mallory 1 EUR" {
					t.Errorf("replay at seq %d = %q, %v; want it accepted", r.Seq, got, err)
				}
			}
			if !tt.replayable {
				return
			}
			// What the suite still binds: the direction and the type.
			if _, err := newOpener(t, sec, wire.ServerToClient).Open(pay); !errors.Is(err, channel.ErrDecrypt) {
				t.Errorf("random-nonce record opened in the other direction: %v", err)
			}
			if err := newOpener(t, sec, wire.ClientToServer).OpenEnd(&wire.End{Seq: pay.Seq, CT: pay.CT}); !errors.Is(err, channel.ErrDecrypt) {
				t.Errorf("random-nonce data record opened as an end: %v", err)
			}
			if _, err := o.Open(&wire.Data{Seq: 1, CT: pay.CT[:channel.IVSize+wire.TagSize-1]}); !errors.Is(err, wire.ErrFieldLength) {
				t.Errorf("random-nonce ct shorter than a nonce and a tag = %v, want ErrFieldLength", err)
			}
		})
	}
}

// TestRandomNonceSource: the nonce comes from Secrets.Rand, in front of the
// ct; a source that fails makes Seal fail.
func TestRandomNonceSource(t *testing.T) {
	t.Parallel()
	sec := testSecrets(channel.RandomNonce)
	sec.Rand = bytes.NewReader(bytes.Repeat([]byte{0xAB}, channel.IVSize))
	s := newSealer(t, sec, wire.ClientToServer)
	d := seal(t, s, "hi")
	if !bytes.Equal(d.CT[:channel.IVSize], bytes.Repeat([]byte{0xAB}, channel.IVSize)) {
		t.Errorf("nonce = %x, want the bytes Rand gave", d.CT[:channel.IVSize])
	}
	if _, err := s.Seal([]byte("again")); !errors.Is(err, io.EOF) {
		t.Errorf("Seal with an exhausted Rand = %v, want its error", err)
	}
	sec.Rand = nil // crypto/rand
	s = newSealer(t, sec, wire.ClientToServer)
	if a, b := seal(t, s, "same"), seal(t, s, "same"); bytes.Equal(a.CT, b.CT) {
		t.Errorf("two records of the same plaintext have the same ct")
	}
}

// TestNullSuiteProtectsNothing: the null suite's ct is the plaintext, so
// anyone can read a record and forge an end.
func TestNullSuiteProtectsNothing(t *testing.T) {
	t.Parallel()
	sec := testSecrets(channel.Null)
	d := seal(t, newSealer(t, sec, wire.ClientToServer), "in the clear")
	if string(d.CT) != "in the clear" {
		t.Errorf("null ct = %q, want the plaintext", d.CT)
	}
	o := newOpener(t, sec, wire.ClientToServer)
	// INSECURE(wss-skipverify): a record and an end anyone could write
	// open; this is the lesson.
	open(t, o, &wire.Data{Seq: 0, CT: []byte("written by mallory")}, "written by mallory")
	if err := o.OpenEnd(&wire.End{Seq: 1}); err != nil {
		t.Errorf("a forged null end record: %v, want it accepted", err)
	}
	// It still counts: sequence numbers are checked, and an end carries nothing.
	if _, err := newOpener(t, sec, wire.ClientToServer).Open(&wire.Data{Seq: 1}); !errors.Is(err, channel.ErrOutOfOrder) {
		t.Errorf("null record out of order = %v, want ErrOutOfOrder", err)
	}
	if err := newOpener(t, sec, wire.ClientToServer).OpenEnd(&wire.End{Seq: 0, CT: []byte("x")}); !errors.Is(err, channel.ErrBadEnd) {
		t.Errorf("null end record with data = %v, want ErrBadEnd", err)
	}
}
