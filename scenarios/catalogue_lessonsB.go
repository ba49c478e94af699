package scenarios

import (
	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/kex"
)

// YesterdayScript is what Alice said in the earlier conversation of the
// nonce-reuse lessons: the plaintext Mallory is assumed to know. Each
// message is at least as long as the one of DefaultScript in its place,
// so that XOR with it uncovers a whole message.
func YesterdayScript() []string {
	return []string{"good morning Bob, Alice here again", "the meeting moved to room 4.12 on Friday", "see you there, bye for now"}
}

// lessonsBScenarios are the lessons on group parameters, freshness across
// sessions and identity misbinding.
func lessonsBScenarios() []Scenario {
	return []Scenario{
		{
			Name:   "dh-param-injection",
			Title:  "Finite-field DH in a group the client proposes",
			Lesson: "Alice proposes the group for a Diffie-Hellman exchange, RFC 7919's 2048-bit prime and g = 2, and Bob takes it at its word.\nMallory changes g in flight. Can he read the chat without a key exchange of his own?",
			Topic:  TopicGroups,
			Scheme: kex.FFDHNegotiated(),
			Attack: attacker.InjectG1,
			Expect: "the attacker reads every message; neither victim notices",
		},
		{
			Name:   "dh-fixed-group",
			Title:  "Finite-field DH over ffdhe2048 only",
			Lesson: "The same exchange, but Bob accepts only the ffdhe2048 group, and each side checks that the other's public value lies in its subgroup.\nMallory changes g in flight. Can he read the chat?",
			Topic:  TopicGroups,
			Scheme: kex.FFDHFixed(),
			Attack: attacker.InjectG1,
			Expect: "the server refuses the client: " + kex.ErrBadGroup.Error() + "; the attacker reads nothing",
		},
		{
			Name:   "export-downgrade",
			Title:  "Signed DH with an export-grade group still on offer",
			Lesson: "Bob signs his DH parameters with a key Alice has pinned, and finished MACs cover the whole handshake; both still accept a 40-bit \"export\" group for old peers.\nMallory strips the strong group from Alice's offer. Can he read the chat?",
			Topic:  TopicGroups,
			Scheme: kex.SignedFFDH(),
			Attack: attacker.StripToExport,
			Expect: "the attacker reads every message; neither victim notices",
		},
		{
			Name:    "nonce-reuse",
			Title:   "RSA key transport with a client key that never changes",
			Lesson:  "Alice keeps one RSA key pair for good, and her record keys come from Bob's wrapped secret alone. Mallory recorded yesterday's chat and knows what she said in it.\nToday he answers her with yesterday's key_transport. Can he read her new messages?",
			Topic:   TopicFreshness,
			Scheme:  kex.PlaintextRSA(),
			Attack:  attacker.ReplayKeyTransport,
			Expect:  "Alice accepts yesterday's replies as fresh, and the attacker reads every message by XOR, with no key for her leg",
			Prelude: &Prelude{Attack: attacker.Passive, Messages: YesterdayScript()},
			configure: func(s *Setup) {
				// INSECURE(nonce-reuse): the same RSA key for every session,
				// and keys from the wrapped secret alone (kex.RSASecrets).
				s.Client.RSAKey, _ = kex.NewRSAKey()
				s.Given = &attacker.Given{Plaintexts: toBytes(YesterdayScript())}
			},
		},
		{
			Name:      "signature-replay",
			Title:     "A signature over the server's key share alone",
			Lesson:    "Bob signs his ephemeral key share with a key Alice has pinned; nothing of Alice's is in what he signs. Yesterday's session key leaked from Bob's key log.\nMallory recorded yesterday's handshake. Can he read today's chat?",
			Topic:     TopicFreshness,
			Scheme:    kex.SignedShare(),
			Attack:    attacker.ReplaySignature,
			Expect:    "the attacker reads every message; neither victim notices",
			Prelude:   &Prelude{Attack: attacker.Passive},
			configure: leakYesterdaysKey,
		},
		{
			Name:      "signature-replay-refused",
			Title:     "A signature over both hellos, nonces included",
			Lesson:    "Bob speaks pinned-ecdh: he signs both hellos, Alice's fresh nonce and key share included. Yesterday's session key leaked all the same.\nMallory replays yesterday's handshake. Can he read today's chat?",
			Topic:     TopicFreshness,
			Scheme:    kex.PinnedECDH(),
			Attack:    attacker.ReplaySignature,
			Expect:    "the client refuses the server: " + kex.ErrBadSignature.Error() + "; the attacker reads nothing",
			Prelude:   &Prelude{Attack: attacker.Passive},
			configure: leakYesterdaysKey,
		},
		{
			Name:      "misbinding",
			Title:     "Signed ECDH without finished MACs",
			Lesson:    "Alice knows two servers, Bob and Eve, and has pinned both keys; the server signs both hellos, certificate included, and there are no finished MACs.\nEve sits on the path and Alice connects to Bob. Who answers her, and who does she think it is?",
			Topic:     TopicMisbinding,
			Scheme:    kex.SignOnly(),
			Attack:    attacker.SwapIdentity,
			Expect:    "Alice believes Eve answers while Bob does; the attacker reads nothing and neither victim notices",
			configure: aliceAlsoTrustsEve,
		},
		{
			Name:      "misbinding-refused",
			Title:     "Signed ECDH with finished MACs (pinned-ecdh)",
			Lesson:    "The same Alice, who trusts Bob's and Eve's keys, but Bob speaks pinned-ecdh: a MAC under the new key also covers both hellos, certificate included.\nEve swaps in her certificate and her signature again. Who answers Alice?",
			Topic:     TopicMisbinding,
			Scheme:    kex.PinnedECDH(),
			Attack:    attacker.SwapIdentity,
			Expect:    "the client refuses the server: " + kex.ErrBadFinished.Error() + "; the attacker reads nothing",
			configure: aliceAlsoTrustsEve,
		},
	}
}

// leakYesterdaysKey gives Bob a key log and hands its first line, the
// ephemeral key of the first (yesterday's) session, to Mallory.
func leakYesterdaysKey(s *Setup) {
	g := &attacker.Given{}
	// INSECURE(signature-replay): Bob keeps a key log, and one old line of
	// it leaks: the lesson's premise.
	s.Server.KeyLog = g
	s.Given = g
}

// aliceAlsoTrustsEve makes Eve, a server with a key of her own, someone
// Alice trusts besides Bob; Mallory is Eve.
func aliceAlsoTrustsEve(s *Setup) {
	eve, err := kex.GenerateIdentity(s.Client.Rand, nil, "eve")
	if err != nil {
		return // no Eve: Mallory presents his own "mallory" certificate, which Alice refuses
	}
	s.Client.OtherPins = append(s.Client.OtherPins, eve.Pin())
	s.Given = &attacker.Given{Identity: eve}
}

func toBytes(msgs []string) [][]byte {
	out := make([][]byte, len(msgs))
	for i, m := range msgs {
		out[i] = []byte(m)
	}
	return out
}
