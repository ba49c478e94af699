package scenarios

import (
	"path/filepath"
	"time"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/kex"
)

// TransferScript is the chat of the tamper and replay lessons: its second
// message is the transfer order whose layout Mallory knows
// ([attacker.KnownPlaintext]).
func TransferScript() []string {
	return []string{"hi Bob, it's Alice", attacker.KnownPlaintext, "see you at 6"}
}

// lessonsAScenarios are the first lessons of the issue "Every lesson a
// learner asks about": what an attacker with no key does to records,
// forward secrecy, short authentication strings and trust on first use.
func lessonsAScenarios() []Scenario {
	return []Scenario{
		{
			Name:   "tamper-ctr",
			Title:  "Records in AES-CTR with no MAC",
			Lesson: "Alice and Bob use pinned-ecdh, so Mallory gets no key; but their records are AES-256-CTR: encrypted, with no MAC.\nMallory knows the layout of Alice's transfer order and flips one byte of its ciphertext. What does Bob accept?",
			Topic:  TopicIntegrity,
			Scheme: kex.PinnedECDHCTR(),
			Attack: attacker.FlipBits,
			Script: TransferScript(),
			Expect: "the server accepts a message the attacker altered without a key, and no one notices; the attacker reads nothing",
		},
		{
			Name:   "tamper-gcm",
			Title:  "Records in AES-GCM: the same flipped byte",
			Lesson: "The same Mallory flips the same byte of the same transfer order,\nbut the records are AES-256-GCM, as the lab's record layer always is. What does Bob accept?",
			Topic:  TopicIntegrity,
			Scheme: kex.PinnedECDH(),
			Attack: attacker.FlipBits,
			Script: TransferScript(),
			Expect: "the server refuses the altered record: record failed authentication: modified or wrong key; the attacker reads nothing",
		},
		{
			Name:   "replay-no-seq",
			Title:  "Records under random nonces, with no sequence check",
			Lesson: "Alice and Bob use pinned-ecdh; each record is AES-256-GCM under a fresh random nonce, and nothing numbers them.\nMallory holds no key. He sends Bob Alice's transfer order a second time. What does Bob do?",
			Topic:  TopicIntegrity,
			Scheme: kex.PinnedECDHNoSeq(),
			Attack: attacker.ReplayKnownRecord,
			Script: TransferScript(),
			Expect: "the server accepts the same message twice, and no one notices; the attacker reads nothing",
		},
		{
			Name:   "replay-seq",
			Title:  "Records with sequence numbers: the same replay",
			Lesson: "The same Mallory sends the same transfer order a second time,\nbut the lab's record layer numbers each record and binds the number into its AEAD. What does Bob do?",
			Topic:  TopicIntegrity,
			Scheme: kex.PinnedECDH(),
			Attack: attacker.ReplayKnownRecord,
			Script: TransferScript(),
			Expect: "the server refuses the replayed record: record replayed: sequence number already used; the attacker reads nothing",
		},
		{
			Name:   "forward-secrecy-static-rsa",
			Title:  "RSA key transport: record now, steal the key later",
			Lesson: "Alice wraps each session's key to Bob's long-term RSA key, which she has pinned, as TLS-RSA did. Mallory only records.\nA year later he steals Bob's key file. What can he read of today's chat?",
			Topic:  TopicForwardSecrecy,
			Scheme: kex.StaticRSA(),
			Attack: attacker.RecordThenSteal,
			Expect: "the attacker reads every message, offline, once he steals the server's key; neither victim notices",
			configure: func(s *Setup) {
				// Alice knows Bob's key, so Mallory cannot swap it: he can
				// only record. (RSAKeyPin cannot fail for a key NewRSAKey made.)
				s.Client.Pin, _ = kex.RSAKeyPin(&s.Server.RSAKey.PublicKey)
			},
		},
		{
			Name:   "forward-secrecy-ecdhe",
			Title:  "Ephemeral ECDH: record now, steal the key later",
			Lesson: "Alice and Bob use pinned-ecdh: Bob's long-term Ed25519 key only signs, and each session's key comes from fresh X25519 shares. Mallory only records.\nA year later he steals Bob's key file. What can he read of today's chat?",
			Topic:  TopicForwardSecrecy,
			Scheme: kex.PinnedECDH(),
			Attack: attacker.RecordThenSteal,
			Expect: "the attacker reads nothing, even with the server's stolen key; neither victim notices",
		},
		{
			Name:             "sas-compare",
			Title:            "Unauthenticated X25519, checked by reading out a code",
			Lesson:           "Alice and Bob agree on a key with X25519 and no certificate, then read each other a four-digit code derived from it, over the phone.\nMallory runs one key exchange with each of them. Can he read the chat?",
			Topic:            TopicSAS,
			Scheme:           kex.SASECDH(),
			Attack:           attacker.DoubleECDH,
			Expect:           "both victims refuse: short authentication strings do not match; the attacker reads nothing",
			HandshakeTimeout: sasWait,
			configure:        phoneLine,
		},
		{
			Name:             "sas-grinding",
			Title:            "Short authentication strings with nothing to commit to",
			Lesson:           "The same codes over the same phone. Nothing binds Mallory to the key share he sends Alice until she sees it,\nand he may try as many as he likes before he answers her. Can he read the chat?",
			Topic:            TopicSAS,
			Scheme:           kex.SASECDH(),
			Attack:           attacker.SASGrind,
			Expect:           "the attacker reads every message; neither victim notices",
			HandshakeTimeout: sasWait,
			configure:        phoneLine,
		},
		{
			Name:             "sas-commitment",
			Title:            "Short authentication strings with a hash commitment, as ZRTP",
			Lesson:           "Alice first sends the hash of her key share, and shows the share itself only once the other side has shown its own, as ZRTP does.\nMallory tries the same grinding. Can he read the chat?",
			Topic:            TopicSAS,
			Scheme:           kex.SASCommitECDH(),
			Attack:           attacker.SASGrind,
			Expect:           "both victims refuse: short authentication strings do not match; the attacker reads nothing",
			HandshakeTimeout: sasWait,
			configure:        phoneLine,
		},
		{
			Name:   "tofu-first-contact",
			Title:  "Trust on first use, with Mallory there the first time",
			Lesson: "Alice's app trusts the key Bob shows the first time and remembers it in a file, as SSH does with known_hosts.\nMallory was on the path the first time she connected, and is there again today. Can he read today's chat?",
			Topic:  TopicTOFU,
			Scheme: kex.TOFUECDH(),
			Attack: attacker.Impersonate,
			Prelude: &Prelude{
				Attack:   attacker.Impersonate,
				Messages: []string{"hello, first time here"},
			},
			Expect:    "the attacker reads every message; neither victim notices",
			configure: pinStore,
		},
		{
			Name:   "tofu-later",
			Title:  "Trust on first use, with the first contact clean",
			Lesson: "Alice met Bob once with no one on the path, and her app remembered his key in its file.\nToday Mallory answers her with his own certificate. Can he read the chat?",
			Topic:  TopicTOFU,
			Scheme: kex.TOFUECDH(),
			Attack: attacker.Impersonate,
			Prelude: &Prelude{
				Messages: []string{"hello, first time here"},
			},
			Expect:    "the client refuses the server: key does not match pin; the attacker reads nothing",
			configure: pinStore,
		},
	}
}

// sasWait is how long the SAS lessons' users wait for a handshake and on
// the line: the grinding attacker needs a second or so on two cores, and
// gets ten times that and more.
const sasWait = 20 * time.Second

// phoneLine gives Alice and Bob one line to compare their short
// authentication strings on.
func phoneLine(s *Setup) {
	line := &kex.OutOfBand{Patience: sasWait}
	s.Client.OutOfBand = line
	s.Server.OutOfBand = line
}

// pinStore gives Alice a pin store in the run's own directory, and no pin
// in advance: she learns Bob's key on first contact.
func pinStore(s *Setup) {
	s.Client.Pin = ""
	s.Client.PinStore = &kex.PinStore{Path: filepath.Join(s.Dir, "known_pins"), Name: "bob"}
}
