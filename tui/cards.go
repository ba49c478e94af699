package tui

import (
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/mitmlab/mitmlab/scenarios"
)

// A lesson card closes each run: the one thing to take away, the fix, and
// the scenario's page. The cards are the TUI's, keyed by scenario name;
// TestEveryScenarioHasALessonCard names any scenario that has none, and
// until it gets one its card is made from the scenario's own outcome line.

// card is one scenario's lesson card.
type card struct {
	Takeaway string
	Fix      string
}

// docsPage is where a scenario's page lives in the repository.
func docsPage(name string) string { return "docs/scenarios/" + name + ".md" }

// cards returns the lesson cards, by scenario name.
func cards() map[string]card {
	return map[string]card{
		"plaintext-rsa": {
			Takeaway: "A public key sent over the same channel it is meant to protect proves nothing: Mallory swaps in his own and unwraps the secret.",
			Fix:      "Authenticate the key: pin the server's key in the client, or use wss:// with a verified certificate.",
		},
		"unauth-ecdh": {
			Takeaway: "Diffie-Hellman alone agrees a key with whoever answers. Mallory runs one exchange with each side and reads everything.",
			Fix:      "Authenticate the exchange: the server signs the transcript with a key the client pins (pinned-ecdh), or TLS with certificate checks.",
		},
		"pinned-ecdh": {
			Takeaway: "A signature over the whole handshake, with a key the client pinned beforehand, stops the man in the middle: his certificate fails the pin.",
			Fix:      "This is the fix. Keep the pin out of the attacker's reach (ship it with the app), and refuse any fallback.",
		},
		"signed-unpinned": {
			Takeaway: "A signature without a trust anchor proves nothing: Mallory signs with his own key and the client checks it against his own certificate.",
			Fix:      "Check whose key signed: compare it to a pin, or verify the certificate chain to a CA you trust.",
		},
		"downgrade": {
			Takeaway: "A fallback to an unauthenticated scheme is the weakest link: Mallory strips the strong option and the client accepts the weak one.",
			Fix:      "Do not fall back. A client that holds a pin must refuse any handshake not signed with the pinned key.",
		},
		"downgrade-refused": {
			Takeaway: "A client that refuses to fall back turns the downgrade into a failed connection, not a broken one.",
			Fix:      "This is the fix: pin, require the signed scheme, and sign what was offered so a stripped offer is noticed.",
		},
		"https-key-skipverify": {
			Takeaway: "Fetching the key over TLS with certificate checks off is no better than fetching it in clear: Mallory's self-signed certificate is accepted.",
			Fix:      "Never skip verification: trust the CA that issued the server's certificate, and let the browser or TLS library check it.",
		},
		"https-key-verified": {
			Takeaway: "With the certificate checked, Mallory's self-signed certificate is refused before any key crosses.",
			Fix:      "This is the fix: verify certificates. For a web page, this is simply wss:// from an https:// origin.",
		},
		"wss-skipverify": {
			Takeaway: "InsecureSkipVerify, rejectUnauthorized:false, or clicking \"proceed\" hands the connection to whoever answers first.",
			Fix:      "Turn verification back on; for a test server, add its CA to the trust store instead of skipping the check.",
		},
		"wss-ca-verified": {
			Takeaway: "Plain wss:// with a verified certificate stops a man in the middle who cannot get a certificate from a CA the client trusts.",
			Fix:      "This is the fix for a web page: wss:// from an https:// origin, with the browser's own certificate checks.",
		},
		"wss-pinned": {
			Takeaway: "A pin on the server's key also stops a mis-issued certificate: the CA vouched for Mallory's key, the pin did not.",
			Fix:      "For native clients, pin the verified key (with a backup pin); keep CA verification on as well.",
		},
		"truncation": {
			Takeaway: "Encrypting each record does not protect the conversation as a whole: Mallory drops the last message and forges an ordinary close.",
			Fix:      "End the conversation with an authenticated record, as TLS's close_notify, and treat a close without it as an attack.",
		},
		"truncation-refused": {
			Takeaway: "With a sealed end record on each side, a cut conversation no longer looks like a finished one: both victims notice.",
			Fix:      "This is the fix: send an end record before closing, and require the peer's.",
		},
		"browser-rsa-in-clear": {
			Takeaway: "WebCrypto makes the maths easy, not the trust: a page that sends its RSA key over the socket is plaintext-rsa in a browser.",
			Fix:      "Serve the page over https:// and use wss://; the browser's certificate checks authenticate the server.",
		},
		"browser-pin-over-http": {
			Takeaway: "A pin that arrives in the page is only as safe as the page: over plain HTTP Mallory rewrites the pin on its way.",
			Fix:      "Serve the page over HTTPS. A web page cannot pin for itself; the page's own transport must be authenticated.",
		},
		"browser-pin-over-https": {
			Takeaway: "Served over HTTPS with a verified certificate, the page and its pin arrive intact, and Mallory's certificate is refused.",
			Fix:      "This is the fix: HTTPS for the page, wss:// for the socket; app-layer keys then add nothing a browser needs.",
		},
		"tamper-ctr": {
			Takeaway: "Encryption without integrity lets Mallory change a message he cannot read: flipping a ciphertext bit flips the same plaintext bit.",
			Fix:      "Use an AEAD (AES-GCM, ChaCha20-Poly1305), or encrypt-then-MAC; never CTR or CBC alone.",
		},
		"tamper-gcm": {
			Takeaway: "An AEAD authenticates every bit: the same flipped byte makes the record fail authentication, and Bob refuses it.",
			Fix:      "This is the fix: AES-GCM (or ChaCha20-Poly1305) for every record, and close the connection on a failure.",
		},
		"replay-no-seq": {
			Takeaway: "Authenticated records can still be replayed when nothing numbers them: Bob accepts the same order twice.",
			Fix:      "Number the records and bind the number into the AEAD (the nonce or additional data); refuse anything out of order.",
		},
		"replay-seq": {
			Takeaway: "A sequence number bound into each record makes a replay fail: Bob refuses the copy.",
			Fix:      "This is the fix: strict sequence numbers per direction, as TLS 1.3 builds its nonces.",
		},
		"forward-secrecy-static-rsa": {
			Takeaway: "With RSA key transport, one stolen long-term key unlocks every recorded session, years later.",
			Fix:      "Use ephemeral key exchange (ECDHE) and sign it with the long-term key, so the key only authenticates.",
		},
		"forward-secrecy-ecdhe": {
			Takeaway: "Ephemeral keys are forgotten after each session: the stolen long-term key signs, it decrypts nothing recorded.",
			Fix:      "This is the fix: ephemeral ECDH for every session, and keys erased when it ends.",
		},
		"sas-compare": {
			Takeaway: "Unauthenticated keys can be checked afterwards by people: codes read out over another channel differ when Mallory is there.",
			Fix:      "Compare a short authentication string out of band before trusting the session, and refuse on a mismatch.",
		},
		"sas-grinding": {
			Takeaway: "A short code can be ground: Mallory tries key shares until the codes match, because nothing commits him to his first one.",
			Fix:      "Commit to the key share first (send its hash), as ZRTP does, so Mallory gets one try per session.",
		},
		"sas-commitment": {
			Takeaway: "With a hash commitment, Mallory must choose his key share before he sees Alice's: one guess at a four-digit code, and it fails.",
			Fix:      "This is the fix: commit, reveal, then compare the short authentication string.",
		},
		"tofu-first-contact": {
			Takeaway: "Trust on first use trusts whoever is there first: with Mallory on the first connection, his key is the one remembered.",
			Fix:      "Verify the first key out of band (a fingerprint, a QR code), or ship the pin with the app.",
		},
		"dh-param-injection": {
			Takeaway: "A Diffie-Hellman group the peer proposes is the attacker's to choose: with g = 1, g = p or g = p−1 the shared secret is known without any key exchange.",
			Fix:      "Use a fixed, named group (ffdhe2048, or X25519), and check the peer's value lies in its subgroup.",
		},
		"dh-fixed-group": {
			Takeaway: "With one fixed group and a subgroup check on each public value, Mallory's changed g is refused.",
			Fix:      "This is the fix: named groups only, validated public values, and the group covered by the signature.",
		},
		"export-downgrade": {
			Takeaway: "A weak group still on offer is a door: Mallory strips the strong one, then solves a 40-bit discrete log while the victims wait.",
			Fix:      "Remove weak options entirely, and sign the whole offer, so a stripped list no longer verifies (as TLS 1.3 does).",
		},
		"nonce-reuse": {
			Takeaway: "Keys that depend only on what one side sends can be made to repeat: a replayed key_transport gives the same keystream, and XOR reads the chat.",
			Fix:      "Derive record keys from fresh contributions of both sides (both nonces, ephemeral shares), so no session's keys can come back.",
		},
		"signature-replay": {
			Takeaway: "A signature over the server's key share alone can be replayed: nothing of Alice's is in it, so yesterday's handshake passes today.",
			Fix:      "Sign the whole transcript, the client's fresh nonce and key share included (pinned-ecdh, TLS 1.3's CertificateVerify).",
		},
		"signature-replay-refused": {
			Takeaway: "With Alice's fresh nonce under the signature, yesterday's signature does not verify today.",
			Fix:      "This is the fix: sign both hellos, fresh values from both sides included.",
		},
		"misbinding": {
			Takeaway: "Without finished MACs, who Alice thinks she talks to and who holds the keys can differ: Eve's name on Bob's session.",
			Fix:      "Bind identities to the keys: finished MACs under the new keys over the whole transcript, certificates included.",
		},
		"misbinding-refused": {
			Takeaway: "A finished MAC under the new key covers the certificate too, so Eve's swap makes the MAC fail.",
			Fix:      "This is the fix: key confirmation over the whole transcript (pinned-ecdh, TLS Finished).",
		},
		"tofu-later": {
			Takeaway: "Once the real key is remembered, a later man in the middle is caught: his key does not match the one on file.",
			Fix:      "This is the fix for later sessions; make a key change a loud, explained event, never a silent re-trust.",
		},
	}
}

// cardFor returns sc's lesson card. A scenario with no card of its own
// gets one made from its outcome line, so the view always has a card.
func cardFor(sc scenarios.Scenario) card {
	if c, ok := cards()[sc.Name]; ok {
		return c
	}
	return card{
		Takeaway: "What happened: " + sc.Expect + ".",
		Fix:      "The scenario's page says what stops it.",
	}
}

// cardLines is the lesson card, laid out for the detail pane.
func (m *runModel) cardLines() []string {
	st := m.Styles
	c := cardFor(m.sc)
	d := detail{st: st, width: m.Width}
	out := []string{st.Card.Render(fillRule("── lesson: "+m.sc.Name+" ", m.Width))}
	add := func(label, text string) { out = append(out, d.labelled(label, text)...) }
	add("takeaway", c.Takeaway)
	add("fix", c.Fix)
	add("read", docsPage(m.sc.Name))
	if m.attack != "" || m.byHand {
		add("", st.Dim.Render("This card is about the scenario's own attack, "+m.sc.Attack+"; the summary below is about the run you made."))
	}
	add("", st.Dim.Render(strings.Join([]string{"L hides this card", "↑/↓ back to the frames", "x exports the run"}, " · ")))
	return out
}

// toggleCard shows the lesson card, or the selected frame again.
func (m runModel) toggleCard() (runModel, tea.Cmd) {
	m.card = !m.card
	return m, nil
}
