package attacker

import (
	"bytes"
	"sync"

	"github.com/mitmlab/mitmlab/kex"
)

// Given is what a lesson grants Mallory beyond what crosses the wire: its
// premise, set where the scenario is defined and stated on its page. A
// scenario hands the same Given to its victims' settings and to the node
// (Options.Given). Nothing else reaches him: everything he reads, he reads
// with keys he derived or bytes he recorded.
//
// The zero value grants nothing. Its methods are safe for concurrent use.
type Given struct {
	// Identity is a certificate and key of Mallory's own that Alice
	// trusts: he is Eve, another server she knows (misbinding). It becomes
	// the node's Options.Identity when that is nil.
	Identity *kex.Identity

	// Plaintexts are the messages Alice sent in an earlier conversation,
	// in order, which Mallory knows or guessed (nonce-reuse): the known
	// plaintext that turns a repeated keystream into a read.
	Plaintexts [][]byte

	mu   sync.Mutex
	leak string // the first key-log line a victim wrote
}

// Write takes a victim's key log (kex.ServerConfig.KeyLog) and keeps its
// first line only: the lesson's premise is one leaked ephemeral secret of
// one old session (signature-replay), not a key log of every session.
func (g *Given) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.leak == "" {
		line, _, _ := bytes.Cut(p, []byte("\n"))
		g.leak = string(line)
	}
	return len(p), nil
}

// leaked returns the ephemeral key share of the leaked key-log line and
// the client nonce of its connection, or nil.
func (g *Given) leaked() (clientNonce []byte, ks *kex.KeyShare) {
	if g == nil {
		return nil, nil
	}
	g.mu.Lock()
	line := g.leak
	g.mu.Unlock()
	n, k, err := kex.ParseKeyLogLine(line)
	if err != nil {
		return nil, nil
	}
	return n, k
}

// plaintexts returns the known plaintexts, or nil.
func (g *Given) plaintexts() [][]byte {
	if g == nil {
		return nil
	}
	return g.Plaintexts
}
