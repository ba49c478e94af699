package tlslab

import (
	"bytes"
	"sync"
)

// KeyLog collects NSS key log lines (the SSLKEYLOGFILE format: "LABEL
// CLIENT_RANDOM SECRET", hex) from any number of connections at once: set
// it as [Observer.KeyLog]. A run's key log holds the attacker's own TLS
// secrets only, for the connections he terminated; a victim's keys with
// the real server never reach it. The zero value is empty and ready.
type KeyLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p, which crypto/tls writes one whole line at a time.
func (k *KeyLog) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.buf.Write(p)
}

// Bytes returns a copy of every line written so far.
func (k *KeyLog) Bytes() []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	return bytes.Clone(k.buf.Bytes())
}
