package tlslab_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"sync"
	"testing"

	"github.com/mitmlab/mitmlab/tlslab"
	"github.com/mitmlab/mitmlab/trace"
)

// TestKeyLogCollectsOwnSecrets: the inspector of an endpoint of the
// attacker's own passes the NSS key log its crypto/tls stack writes on to
// Observer.KeyLog, line for line, so an export can give Wireshark the keys
// he decrypted with; a KeyLog shared by two connections holds both.
func TestKeyLogCollectsOwnSecrets(t *testing.T) {
	t.Parallel()
	pki := newCerts(t)
	var keys tlslab.KeyLog
	log := trace.NewLog(nil)
	for range 2 {
		c, s := pair(t)
		ic := tlslab.Inspect(s, tlslab.Observer{Log: log, Leg: trace.LegA, End: tlslab.ServerEnd, Own: true, Peer: "Alice", KeyLog: &keys})
		cfg := serverConfig(pki.selfSigned)
		cfg.KeyLogWriter = ic.KeyLog()
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13, ServerName: tlslab.ServerName})
		ts := tls.Server(ic, cfg)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ts.HandshakeContext(context.Background()); err != nil {
				t.Errorf("server: %v", err)
			}
			ts.Close()
		}()
		if err := tc.HandshakeContext(context.Background()); err != nil {
			t.Errorf("client: %v", err)
		}
		tc.Close()
		wg.Wait()
	}
	lines := bytes.Split(bytes.TrimSpace(keys.Bytes()), []byte("\n"))
	randoms := map[string]bool{}
	for _, label := range []string{"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"} {
		n := 0
		for _, l := range lines {
			f := bytes.Fields(l)
			if len(f) == 3 && string(f[0]) == label {
				n++
				randoms[string(f[1])] = true
			}
		}
		if n != 2 {
			t.Errorf("%d lines of %s, want one per connection", n, label)
		}
	}
	if len(randoms) != 2 {
		t.Errorf("%d client randoms in the key log, want 2", len(randoms))
	}
}
