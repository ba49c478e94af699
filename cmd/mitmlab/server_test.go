package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/victim"
)

// TestServerOptionsKeepNoHistory checks that a server process forgets
// each session once it has reported it, so a long-running Bob does not
// grow with every client.
func TestServerOptionsKeepNoHistory(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	e := &env{stdout: &out, stderr: &out}
	f, err := parseServerFlags(e, []string{"--scheme", "unauth-ecdh", "--handshake-timeout", "200ms", "--idle-timeout", "1s"})
	if err != nil {
		t.Fatal(err)
	}
	o := serverOptions(e, f, &kex.ServerConfig{})
	if !o.NoHistory {
		t.Error("the server process keeps every session's messages: NoHistory is off")
	}
	if o.OnSessionEnd == nil {
		t.Error("the server process does not report session ends")
	}
	if o.HandshakeTimeout.String() != "200ms" || o.IdleTimeout.String() != "1s" {
		t.Errorf("timeouts %v and %v, want the flags' 200ms and 1s", o.HandshakeTimeout, o.IdleTimeout)
	}
}

func TestSessionEndReport(t *testing.T) {
	t.Parallel()
	truncated := errors.New("conversation cut short: the connection ended without the peer's end record")
	for _, tc := range []struct {
		name     string
		s        victim.ServerSession
		text     string
		jsonLine string
	}{
		{
			"a clean end",
			victim.ServerSession{Conn: 1, MessagesReceived: 2, MessagesAnswered: 2, Ending: victim.EndClean},
			"session 1: clean · 2 messages received, 2 answered",
			`{"type":"session_end","session":1,"name":"","clean":true,"ending":"clean","reason":"","messages_received":2,"messages_answered":2}`,
		},
		{
			"a named client cut short after one message",
			victim.ServerSession{Conn: 7, Name: "alice", MessagesReceived: 1, MessagesAnswered: 1, Ending: victim.EndTruncated, Err: truncated},
			"session 7 (alice): truncated · 1 message received, 1 answered · conversation cut short: the connection ended without the peer's end record",
			`{"type":"session_end","session":7,"name":"alice","clean":false,"ending":"truncated","reason":"conversation cut short: the connection ended without the peer's end record","messages_received":1,"messages_answered":1}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, asJSON := range []bool{false, true} {
				var out bytes.Buffer
				sessionReporter(&out, asJSON)(&tc.s)
				want := tc.text
				if asJSON {
					want = tc.jsonLine
					var obj map[string]any
					if err := json.Unmarshal(out.Bytes(), &obj); err != nil {
						t.Fatalf("not one JSON object: %v: %s", err, out.String())
					}
				}
				if got := strings.TrimSuffix(out.String(), "\n"); got != want {
					t.Errorf("json=%v:\n got %s\nwant %s", asJSON, got, want)
				}
			}
		})
	}
}
