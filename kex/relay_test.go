package kex_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/wire"
)

// relay is Mallory between a real client (leg A) and a real server (leg
// B): two pumps that forward every message, passing the target type
// through change, and pass a close frame on to the other leg.
type relay struct {
	a, b   *websocket.Conn // Mallory's ends: toward the client, toward the server
	target wire.Type
	change func([]byte) []byte

	wg     sync.WaitGroup
	mu     sync.Mutex
	edited [][2][]byte // the target message before and after the change
}

func startRelay(ctx context.Context, a, b *websocket.Conn, target wire.Type, change func([]byte) []byte) *relay {
	r := &relay{a: a, b: b, target: target, change: change}
	r.wg.Add(2)
	go r.pump(ctx, a, b)
	go r.pump(ctx, b, a)
	return r
}

func (r *relay) pump(ctx context.Context, from, to *websocket.Conn) {
	defer r.wg.Done()
	for {
		typ, msg, err := from.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				to.Close(ce.Code, ce.Reason)
			} else {
				to.CloseNow()
			}
			return
		}
		if r.change != nil && wire.PeekType(msg) == r.target {
			out := r.change(bytes.Clone(msg))
			r.mu.Lock()
			r.edited = append(r.edited, [2][]byte{msg, out})
			r.mu.Unlock()
			msg = out
		}
		// A write to a leg that has closed is lost; the other pump passes
		// the close on.
		to.Write(ctx, typ, msg)
	}
}

// stop drops both legs and waits for the pumps.
func (r *relay) stop() {
	r.a.CloseNow()
	r.b.CloseNow()
	r.wg.Wait()
}

// Changes a relay makes to a message.
func appendSpace(b []byte) []byte  { return append(b, ' ') }
func prependSpace(b []byte) []byte { return append([]byte(" "), b...) }

func reindent(b []byte) []byte {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		panic(err)
	}
	return out.Bytes()
}

// sortedKeys re-encodes b with encoding/json through a map, as a generic
// middlebox would: the same fields and values, keys in sorted order.
func sortedKeys(b []byte) []byte {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	out, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return out
}

// outcomeOf is what one side of a relayed handshake must end with: nil for
// a completed handshake; ErrTruncatedHandshake with the close code it heard
// when the other side refused; or the check it failed itself, at step.
type outcomeOf struct {
	err   error
	step  string
	heard websocket.StatusCode
}

// TestRelayChangesOnlyBytes ("Secure to the last message"): Mallory relays
// a real pinned-ecdh handshake and changes the bytes of one message while
// it says the same thing: white space inside or around it, another field
// order, a JSON re-encoding. Transcripts are the raw, length-framed bytes,
// so every such relay is refused; only the one that forwards every byte
// gets a handshake through.
func TestRelayChangesOnlyBytes(t *testing.T) {
	t.Parallel()
	bob := identity(t, "bob")
	cutShort := func(code websocket.StatusCode, step string) outcomeOf {
		return outcomeOf{kex.ErrTruncatedHandshake, step, code}
	}
	badSignature := outcomeOf{err: kex.ErrBadSignature, step: "verify signature"}
	tests := []struct {
		name           string
		target         wire.Type
		change         func([]byte) []byte
		same           bool // the changed message decodes to the same message
		client, server outcomeOf
		keysDiffer     bool // both complete, with different keys
	}{
		{"transcript/relay forwards every byte unchanged", "", nil, true, outcomeOf{}, outcomeOf{}, false},
		{"transcript/relay appends a space to client_hello", "client_hello", appendSpace, false,
			cutShort(protocol, "read server hello"), outcomeOf{err: wire.ErrMalformed, step: "read client hello"}, false},
		{"transcript/relay prepends a space to server_hello", "server_hello", prependSpace, false,
			outcomeOf{err: wire.ErrMalformed, step: "read server hello"}, cutShort(protocol, "read client finished"), false},
		{"transcript/relay adds a space inside client_hello", "client_hello", respace, true,
			badSignature, cutShort(policy, "read client finished"), false},
		{"transcript/relay re-encodes client_hello with encoding/json", "client_hello", sortedKeys, true,
			badSignature, cutShort(policy, "read client finished"), false},
		{"transcript/relay adds a space inside server_hello", "server_hello", respace, true,
			badSignature, cutShort(policy, "read client finished"), false},
		{"transcript/relay re-indents server_hello", "server_hello", reindent, true,
			badSignature, cutShort(policy, "read client finished"), false},
		{"transcript/relay re-encodes server_hello with encoding/json", "server_hello", sortedKeys, true,
			badSignature, cutShort(policy, "read client finished"), false},
		// Neither the signature nor the server's finished MAC covers the
		// bytes of server_verify itself; the client's finished MAC does, so
		// the server refuses.
		{"transcript/relay adds a space inside server_verify: the server's finished check catches it", "server_verify", respace, true,
			outcomeOf{heard: policy}, outcomeOf{err: kex.ErrBadFinished, step: "verify client finished"}, false},
		// Nothing after client_finished covers its bytes, but the traffic
		// keys do: both sides complete with different keys, and the first
		// record fails to open.
		{"transcript/relay adds a space inside client_finished: the keys differ", "client_finished", respace, true,
			outcomeOf{}, outcomeOf{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			scheme := kex.PinnedECDH()
			e := newEndpoint(t, scheme.Name)
			alice, malloryA := e.pair(t)
			malloryB, bobEnd := e.pair(t)
			ctx := testContext(t)
			mallory := startRelay(ctx, malloryA, malloryB, tt.target, tt.change)
			defer mallory.stop()
			srv := runServer(ctx, scheme, bobEnd, &kex.ServerConfig{Identity: bob})
			cli := runClient(ctx, scheme, alice, &kex.ClientConfig{Pin: bob.Pin()})
			rc, rs := <-cli, <-srv
			wantOutcome(t, rc, tt.client, kex.ClientSide)
			wantOutcome(t, rs, tt.server, kex.ServerSide)
			if tt.client.heard != 0 && tt.client.err == nil {
				// The client completed and Mallory passes the server's
				// refusal on to it.
				if _, code, _ := newFake(t, ctx, scheme, alice).closing(); code != tt.client.heard {
					t.Errorf("client heard %d, want %d", code, tt.client.heard)
				}
			}
			if rc.err == nil && rs.err == nil {
				if same := *rc.secrets == *rs.secrets; same == tt.keysDiffer {
					t.Errorf("client and server keys equal: %v", same)
				}
				if tt.keysDiffer {
					wantFirstRecordRefused(t, rc.secrets, rs.secrets)
				}
			}
			mallory.mu.Lock()
			defer mallory.mu.Unlock()
			if tt.change == nil {
				return
			}
			if len(mallory.edited) != 1 {
				t.Fatalf("mallory changed %d messages, want 1", len(mallory.edited))
			}
			before, after := mallory.edited[0][0], mallory.edited[0][1]
			if bytes.Equal(before, after) {
				t.Fatalf("the change left %s as it was", before)
			}
			if tt.same {
				mb, err1 := scheme.Codec().Decode(before)
				ma, err2 := scheme.Codec().Decode(after)
				if err1 != nil || err2 != nil || !reflect.DeepEqual(mb, ma) {
					t.Errorf("the changed message does not decode to the same one (%v, %v):\n%s\n%s", err1, err2, before, after)
				}
			}
		})
	}
}

func wantOutcome(t *testing.T, r result, want outcomeOf, side kex.Side) {
	t.Helper()
	switch {
	case want.err == nil:
		if r.err != nil || r.secrets == nil {
			t.Errorf("%s: %v, want a completed handshake", side, r.err)
		}
	case errors.Is(want.err, kex.ErrTruncatedHandshake):
		wantHandshakeError(t, r.err, want.err, kex.NamePinnedECDH, side, want.step)
		wantPeerClosed(t, r.err, want.heard)
	default:
		wantHandshakeError(t, r.err, want.err, kex.NamePinnedECDH, side, want.step)
		if r.secrets != nil {
			t.Errorf("%s refused and returned secrets", side)
		}
	}
}

// wantFirstRecordRefused seals a record with the client's keys and checks
// that the server's keys refuse it.
func wantFirstRecordRefused(t *testing.T, client, server *channel.Secrets) {
	t.Helper()
	seal, err := channel.NewSealer(client, wire.ClientToServer)
	if err != nil {
		t.Fatal(err)
	}
	open, err := channel.NewOpener(server, wire.ClientToServer)
	if err != nil {
		t.Fatal(err)
	}
	d, err := seal.Seal([]byte("hi bob"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := open.Open(d); !errors.Is(err, channel.ErrDecrypt) {
		t.Errorf("server opened the client's first record: %q, %v", pt, err)
	}
}
