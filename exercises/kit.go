// Package exercises is the lab's course: small pieces of broken client code
// that a student fixes, each checked by Mallory rather than by a unit test.
// `mitmlab exercise` lists them, checks them, gives hints, and reveals or
// restores them; docs/training.md is the trainer's guide that uses them.
//
// # Where the student's code lives, and why a build tag
//
// Each exercise is a directory, exercises/NAME/, with a README.md (the
// story, the task, what to watch in the lab), the student's file, and a
// mallory_test.go that puts that file under every attack of `mitmlab
// exam` (package exercises/mallory). A Go exercise's check.go wires the
// student's function into a client, Under(): a client half run by the
// lab's victim, or a piece of exercises/alice's record layer; the
// JavaScript exercise runs under node. The student's file is broken on purpose: as shipped, Mallory reads
// it, or the chat fails. So the lab's own `go test ./...` must not compile
// it. Every Go file of an exercise carries the build constraint
//
//	//go:build exercise
//
// and `go build ./...`, `go vet ./...` and `go test ./...` skip those
// directories as if they were empty. A student's `mitmlab exercise check
// NAME` runs `go test -tags exercise` in the one directory. A separate
// module was the other choice; it was not taken because go:embed cannot
// reach into another module, and this package embeds each exercise's
// README and pristine files, and because a second go.mod would need its
// own go.sum kept in step with the lab's.
//
// # Pristine copies
//
// The student edits exercises/NAME/FILE in place. `mitmlab exercise reset`
// restores it and `solve` reveals the reference solution, so neither may
// come from the file the student edits: a mitmlab built from the student's
// tree would embed their edits and "restore" them. Each exercise keeps
// testdata/starter/FILE (identical to FILE as shipped; a test holds them
// together) and testdata/solution/FILE, and this package embeds both. The
// go tool ignores testdata directories, so neither is compiled by accident.
//
// # Markers
//
// The flaw in each starter is marked TODO(exercise), not with the lab's
// INSECURE(lesson) marker: the student's fix removes it, and docs/'s
// marker test counts every INSECURE line in the tree against
// architecture.md, so a solved exercise would fail the lab's own tests.
//
// # Honest checks
//
// TestExercises proves, for every exercise, both sides: the pristine
// starter fails with Mallory really reading, or the chat really failing,
// in the way [Exercise.Breaks] names; the reference solution passes. It
// runs `go test -tags exercise` with -overlay, so the student's working
// copies are never read or touched.
package exercises

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/mitmlab/mitmlab/internal/suggest"
)

//go:embed */README.md */testdata/starter */testdata/solution
var files embed.FS

// Lang is the language of a student's file.
type Lang string

// The languages.
const (
	Go         Lang = "go"
	JavaScript Lang = "js"
)

// How is the way a starter fails, as the proof test checks it.
type How string

// The ways a starter fails.
const (
	// Read: Mallory read messages, with keys he really holds; the bytes
	// he recovered are what the client sent or received.
	Read How = "read"
	// Broken: with a relay that changes nothing, the chat did not work and
	// end cleanly.
	Broken How = "broken"
	// Accepted: the client took a record Mallory replayed as a new one; it
	// reports the same reply twice.
	Accepted How = "accepted"
	// Unended: the client sent no end record, or ended the conversation
	// without the server's.
	Unended How = "unended"
)

// Break is one attack the starter falls to, and how.
type Break struct {
	Attack string
	How    How
}

// Exercise is one exercise of the course.
type Exercise struct {
	// Name is the exercise's name and its directory under exercises/.
	Name string
	// Title is one line for lists.
	Title string
	// Lang is the student's language; Files the files they edit, relative
	// to the exercise's directory.
	Lang  Lang
	Files []string
	// Scheme is the scheme the student's client speaks, and the lab's
	// server with it.
	Scheme string
	// ServerSchemes, for pinned-ecdh, is what the lab's server chooses
	// from a client's offer; nil means the scheme alone.
	ServerSchemes []string
	// Breaks is how the starter falls: the proof test requires each.
	Breaks []Break
	// Watch are the commands that show the attack in the lab, as the
	// README gives them.
	Watch []string
	// Hints are shown one more each time the student asks.
	Hints []string
}

// Dir is the exercise's directory, relative to the course root.
func (e Exercise) Dir() string { return path.Join("exercises", e.Name) }

// README returns the exercise's README.md.
func (e Exercise) README() string {
	b, err := fs.ReadFile(files, path.Join(e.Name, "README.md"))
	if err != nil {
		panic("exercises: " + err.Error()) // a test checks every README is embedded
	}
	return string(b)
}

// Starter returns the pristine starter of file, as shipped.
func (e Exercise) Starter(file string) ([]byte, error) {
	return fs.ReadFile(files, path.Join(e.Name, "testdata", "starter", file))
}

// Solution returns the reference solution of file.
func (e Exercise) Solution(file string) ([]byte, error) {
	return fs.ReadFile(files, path.Join(e.Name, "testdata", "solution", file))
}

// Summary is the README's first paragraph after its title: the story in
// a few lines.
func (e Exercise) Summary() string {
	_, body, _ := strings.Cut(e.README(), "\n\n")
	para, _, _ := strings.Cut(body, "\n\n")
	return strings.Join(strings.Fields(para), " ")
}

// List returns the exercises in the order a student does them.
func List() []Exercise {
	return []Exercise{
		{
			Name:   "pin-the-rsa-key",
			Title:  "Check the server's RSA key against a pin",
			Lang:   Go,
			Files:  []string{"client.go"},
			Scheme: "static-rsa",
			Breaks: []Break{{"swap-rsa-key", Read}},
			Watch:  []string{"mitmlab run https-key-skipverify", "mitmlab tui https-key-skipverify"},
			Hints: []string{
				"The key arrives in rsa_public_key from whoever answered the socket. What do you know, before the lab begins, that Mallory cannot fake? Look at cfg.Pin.",
				"A pin is \"sha256/\" and the base64 of SHA-256 over the key's SubjectPublicKeyInfo: the spki bytes exactly as they came. kex.ParsePin turns cfg.Pin into the 32 bytes to compare.",
				"Hash pk.SPKI with sha256.Sum256, compare with subtle.ConstantTimeCompare, and on a mismatch return conn.Fail(kex.ErrPinMismatch) before you wrap anything: the refusal closes with 1008.",
			},
		},
		{
			Name:   "check-the-pin",
			Title:  "A signature proves nothing until you know whose key made it",
			Lang:   Go,
			Files:  []string{"client.go"},
			Scheme: "pinned-ecdh",
			Breaks: []Break{{"impersonate", Read}},
			Watch:  []string{"mitmlab run signed-unpinned", "mitmlab tui signed-unpinned"},
			Hints: []string{
				"The signature verifies, so the handshake was signed by the key in the certificate. Whose certificate was it? Mallory can make one in a millisecond.",
				"cfg.Pin is Bob's pin, given to you before the lab began: SHA-256 over the certificate's RawSubjectPublicKeyInfo. kex.ParsePin gives its 32 bytes.",
				"After x509.ParseCertificate, hash cert.RawSubjectPublicKeyInfo, compare with subtle.ConstantTimeCompare, and refuse with conn.Fail(kex.ErrPinMismatch) before you trust the key.",
			},
		},
		{
			Name:   "verify-the-signature",
			Title:  "Verify the signature over the whole transcript",
			Lang:   Go,
			Files:  []string{"client.go"},
			Scheme: "pinned-ecdh",
			Breaks: []Break{{"substitute-shares", Read}},
			Watch:  []string{"mitmlab run pinned-ecdh --attack substitute-shares", "mitmlab tui pinned-ecdh"},
			Hints: []string{
				"The certificate is Bob's; the pin says so. But did Bob's key sign *this* handshake, with *these* key shares? Mallory kept Bob's certificate and swapped both shares.",
				"The finished MAC is keyed from the X25519 secret, and Mallory shares that secret with you. Only the signature ties the key shares to the pinned key. server_verify carries it.",
				"ed25519.Verify(key, kex.SignedContent(ch, sh), svm.Signature) over the raw hellos, as sent and received; on failure return conn.Fail(kex.ErrBadSignature), before you derive any key.",
			},
		},
		{
			Name:          "refuse-the-downgrade",
			Title:         "Refuse the downgrade to the unauthenticated fallback",
			Lang:          Go,
			Files:         []string{"client.go"},
			Scheme:        "pinned-ecdh",
			ServerSchemes: []string{"pinned-ecdh", "unauth-ecdh"},
			Breaks:        []Break{{"strip-offer", Read}},
			Watch:         []string{"mitmlab run downgrade", "mitmlab run downgrade-refused", "mitmlab tui downgrade"},
			Hints: []string{
				"Who chose unauth-ecdh? The server_hello says Bob did, but nothing in an unauth-ecdh handshake is signed: Mallory removed pinned-ecdh from your offer and chose for Bob.",
				"An offer is only as strong as its weakest entry. If you hold a pin for Bob, there is no server you would want to talk to without it.",
				"Offer only kex.NamePinnedECDH, and if chosen is anything else return conn.Fail(kex.ErrDowngrade) (or ErrSchemeNotOffered): no fallback, no unauthenticated keys.",
			},
		},
		{
			Name:   "derive-with-hkdf",
			Title:  "Derive the record keys with HKDF, not from the raw secret",
			Lang:   Go,
			Files:  []string{"client.go"},
			Scheme: "pinned-ecdh",
			Breaks: []Break{{"passive", Broken}},
			Watch:  []string{"mitmlab run pinned-ecdh --attack passive", "mitmlab tui pinned-ecdh"},
			Hints: []string{
				"Bob's server refuses your first record: \"record failed authentication\". Your keys differ from his. An X25519 output is a shared secret, not a key: it is not uniformly random, and one secret must give four different values.",
				"Two steps, as TLS 1.3 does: HKDF-Extract the secret into a pseudorandom key (kex.Extract), then expand one key and one IV per direction with distinct labels, bound to the transcript hash (kex.TrafficSecrets).",
				"return kex.TrafficSecrets(kex.Extract(shared), kex.TranscriptHash(ch, sh, sv, cf)): the same labels and transcript the server uses, so both sides derive the same four values.",
			},
		},
		{
			Name:   "fresh-nonce-per-record",
			Title:  "A fresh nonce for every record",
			Lang:   Go,
			Files:  []string{"records.go"},
			Scheme: "pinned-ecdh",
			Breaks: []Break{{"passive", Broken}},
			Watch:  []string{"mitmlab run nonce-reuse", "mitmlab run pinned-ecdh --attack passive", "mitmlab tui nonce-reuse"},
			Hints: []string{
				"Your first message gets through; the second is refused: \"record failed authentication\". What is different about the second record? Only its sequence number.",
				"AES-GCM under one key must never see the same nonce twice: two records with one nonce give Mallory the XOR of their plaintexts, and GCM's authentication key with it. The sequence number is what changes from record to record.",
				"As RFC 8446 §5.3: the nonce is the IV with the 8-byte big-endian sequence number XORed into its last 8 bytes.",
			},
		},
		{
			Name:   "check-sequence-numbers",
			Title:  "Check sequence numbers: refuse a replayed record",
			Lang:   Go,
			Files:  []string{"records.go"},
			Scheme: "pinned-ecdh",
			Breaks: []Break{{"replay-reply", Accepted}},
			Watch:  []string{"mitmlab run replay-no-seq", "mitmlab run replay-seq", "mitmlab tui replay-no-seq"},
			Hints: []string{
				"Mallory holds no key, yet your client showed one of Bob's replies twice. A copy of a record authenticates as well as the original did.",
				"The record says which number it is, and you believe it. Keep your own count: the server's next record must carry exactly o.Next, no lower (a replay), no higher (a record dropped).",
				"Refuse d.Seq < o.Next with channel.ErrReplay and d.Seq > o.Next with channel.ErrOutOfOrder; only after Decrypt succeeds, move o.Next on by one.",
			},
		},
		{
			Name:   "authenticated-end",
			Title:  "End the conversation with an authenticated end record",
			Lang:   Go,
			Files:  []string{"records.go"},
			Scheme: "pinned-ecdh",
			Breaks: []Break{{"passive", Unended}, {"withhold-end", Unended}},
			Watch:  []string{"mitmlab run truncation", "mitmlab run truncation-refused", "mitmlab tui truncation"},
			Hints: []string{
				"A WebSocket close frame carries no MAC: anyone on the path can send one. How would Bob tell your last message from one Mallory cut off?",
				"Each side seals an end record at its next sequence number, as TLS sends close_notify. Send yours, then wait for Bob's before you close: until it arrives, the conversation may have been cut.",
				"c.SendEnd(ctx), then loop on c.Receive(ctx) until it returns io.EOF (Bob's end record), then c.Close(); any other error means the connection ended without Bob's end record: return it.",
			},
		},
		{
			Name:   "browser-rsa",
			Title:  "The browser client from the original question",
			Lang:   JavaScript,
			Files:  []string{"client.mjs"},
			Scheme: "static-rsa",
			Breaks: []Break{{"swap-rsa-key", Read}},
			Watch:  []string{"mitmlab run https-key-skipverify", "mitmlab tui https-key-skipverify"},
			Hints: []string{
				"The page asks the socket for the server's RSA key, and takes whatever comes back. Mallory answers the socket.",
				"opts.pin is \"sha256/\" and the base64 of SHA-256 over the spki bytes you were sent. crypto.subtle.digest gives the hash; btoa over a binary string gives the base64.",
				"Compute the pin of msg.spki and compare it with opts.pin before you wrap the secret; on a mismatch throw an Error: the lab closes with 4008, a browser's 1008.",
			},
		},
	}
}

// ErrUnknown is returned for a name that is no exercise.
var ErrUnknown = errors.New("unknown exercise")

// Lookup returns the exercise called name.
func Lookup(name string) (Exercise, error) {
	var names []string
	for _, e := range List() {
		if e.Name == name {
			return e, nil
		}
		names = append(names, e.Name)
	}
	hint := ""
	if c := suggest.Closest(name, names); c != "" {
		hint = fmt.Sprintf("; did you mean %q?", c)
	}
	return Exercise{}, fmt.Errorf("%w %q%s (exercises: %s)", ErrUnknown, name, hint, strings.Join(names, ", "))
}

// Names returns every exercise's name, in order.
func Names() []string {
	var out []string
	for _, e := range List() {
		out = append(out, e.Name)
	}
	return out
}
