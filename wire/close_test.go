package wire_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/wire"
)

func TestCloseCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want websocket.StatusCode
	}{
		{"malformed message", wire.ErrMalformed, websocket.StatusProtocolError},
		{"unknown type", wire.ErrUnknownType, websocket.StatusProtocolError},
		{"unknown field", wire.ErrUnknownField, websocket.StatusProtocolError},
		{"missing field", wire.ErrMissingField, websocket.StatusProtocolError},
		{"wrong field length", wire.ErrFieldLength, websocket.StatusProtocolError},
		{"unexpected message", wire.ErrUnexpectedMessage, websocket.StatusProtocolError},
		{"binary message", wire.ErrBinaryMessage, websocket.StatusProtocolError},
		{"message too large", wire.ErrMessageTooLarge, websocket.StatusMessageTooBig},
		{"invalid UTF-8", wire.ErrInvalidUTF8, websocket.StatusInvalidFramePayloadData},
		{"wrapped decoding error", fmt.Errorf("wire: hello: %w: %q", wire.ErrFieldLength, "nonce"), websocket.StatusProtocolError},
		{"a failed check", wire.Violation("key does not match pin"), websocket.StatusPolicyViolation},
		{"a wrapped failed check", fmt.Errorf("kex: verify: %w", wire.Violation("bad signature")), websocket.StatusPolicyViolation},
		{"handshake timeout", wire.ErrHandshakeTimeout, websocket.StatusPolicyViolation},
		{"idle timeout, wrapped as the watchdog wraps it", fmt.Errorf("%w after 5m0s", wire.ErrIdleTimeout), websocket.StatusGoingAway},
		{"a coded error", &wire.CodedError{Msg: "too big", Code: websocket.StatusMessageTooBig}, websocket.StatusMessageTooBig},
		{"the first coder in the chain wins", fmt.Errorf("%w: %w", wire.Violation("x"), wire.ErrMalformed), websocket.StatusPolicyViolation},
		{"an ordinary error", errors.New("out of entropy"), websocket.StatusInternalError},
		{"io.EOF", io.EOF, websocket.StatusInternalError},
		{"the peer closed", &wire.CloseError{Code: websocket.StatusPolicyViolation}, websocket.StatusInternalError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := wire.CloseCode(tt.err); got != tt.want {
				t.Errorf("CloseCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

// TestAppRangeCodes: a browser may only close with 1000 or 3000–4999, so
// its refusals travel as 4000 + (code − 1000); every lab side reads them
// as the RFC code.
func TestAppRangeCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		code      websocket.StatusCode
		canonical websocket.StatusCode
		refusal   bool
	}{
		{"4002 is a protocol error", 4002, websocket.StatusProtocolError, true},
		{"4003 is unsupported data", 4003, websocket.StatusUnsupportedData, true},
		{"4007 is invalid payload data", 4007, websocket.StatusInvalidFramePayloadData, true},
		{"4008 is a policy violation", 4008, websocket.StatusPolicyViolation, true},
		{"4009 is a message too big", 4009, websocket.StatusMessageTooBig, true},
		{"4011 is an internal error, not a refusal", 4011, websocket.StatusInternalError, false},
		{"4000 stands for nothing", 4000, 4000, false},
		{"4001 stands for nothing", 4001, 4001, false},
		{"4010 stands for nothing", 4010, 4010, false},
		{"4999 stands for nothing", 4999, 4999, false},
		{"3008 is not the app range the lab uses", 3008, 3008, false},
		{"1000 is a normal close", websocket.StatusNormalClosure, websocket.StatusNormalClosure, false},
		{"1001 is going away", websocket.StatusGoingAway, websocket.StatusGoingAway, false},
		{"1002 refuses", websocket.StatusProtocolError, websocket.StatusProtocolError, true},
		{"1003 refuses", websocket.StatusUnsupportedData, websocket.StatusUnsupportedData, true},
		{"1007 refuses", websocket.StatusInvalidFramePayloadData, websocket.StatusInvalidFramePayloadData, true},
		{"1008 refuses", websocket.StatusPolicyViolation, websocket.StatusPolicyViolation, true},
		{"1009 refuses", websocket.StatusMessageTooBig, websocket.StatusMessageTooBig, true},
		{"1011 is the sender's own trouble", websocket.StatusInternalError, websocket.StatusInternalError, false},
		{"1006 is a dropped connection", websocket.StatusAbnormalClosure, websocket.StatusAbnormalClosure, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := wire.Canonical(tt.code); got != tt.canonical {
				t.Errorf("Canonical(%d) = %d, want %d", tt.code, got, tt.canonical)
			}
			if got := wire.Refusal(tt.code); got != tt.refusal {
				t.Errorf("Refusal(%d) = %v, want %v", tt.code, got, tt.refusal)
			}
			if tt.canonical != tt.code {
				if got := wire.AppCode(tt.canonical); got != tt.code {
					t.Errorf("AppCode(%d) = %d, want %d", tt.canonical, got, tt.code)
				}
				if name := wire.CodeName(tt.code); !strings.Contains(name, fmt.Sprintf("(%d)", tt.canonical)) {
					t.Errorf("CodeName(%d) = %q, want it to name %d", tt.code, name, tt.canonical)
				}
			} else if name := wire.CodeName(tt.code); name != tt.code.String() {
				t.Errorf("CodeName(%d) = %q, want %q", tt.code, name, tt.code.String())
			}
		})
	}
	if wire.AppCode(websocket.StatusPolicyViolation) != 4008 {
		t.Errorf("AppCode(1008) = %d, want 4008", wire.AppCode(websocket.StatusPolicyViolation))
	}
}

func TestSendable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code websocket.StatusCode
		want bool
	}{
		{999, false}, {1000, true}, {1001, true}, {1002, true}, {1008, true}, {1011, true},
		{websocket.StatusNoStatusRcvd, false}, {websocket.StatusAbnormalClosure, false}, {websocket.StatusTLSHandshake, false},
		{3000, true}, {4008, true}, {4999, true}, {5000, false}, {0, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d", int(tt.code)), func(t *testing.T) {
			t.Parallel()
			if got := wire.Sendable(tt.code); got != tt.want {
				t.Errorf("Sendable(%d) = %v, want %v", tt.code, got, tt.want)
			}
		})
	}
}

func TestCloseError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		err      *wire.CloseError
		normal   bool
		contains []string
	}{
		{"a normal close with a reason", &wire.CloseError{Code: websocket.StatusNormalClosure, Reason: "bye"}, true, []string{"1000", "bye"}},
		{"going away without a reason", &wire.CloseError{Code: websocket.StatusGoingAway}, true, []string{"1001"}},
		{"a refusal", &wire.CloseError{Code: websocket.StatusPolicyViolation, Reason: "pin mismatch"}, false, []string{"1008", "pin mismatch"}},
		{"a browser's refusal names its RFC code", &wire.CloseError{Code: 4008, Reason: "pin mismatch"}, false, []string{"4008", "(1008)", "pin mismatch"}},
		{"4000 is not a normal close", &wire.CloseError{Code: 4000}, false, []string{"4000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !errors.Is(tt.err, wire.ErrPeerClosed) {
				t.Errorf("CloseError does not match ErrPeerClosed")
			}
			if errors.Is(tt.err, wire.ErrMalformed) {
				t.Errorf("CloseError matches ErrMalformed")
			}
			if got := tt.err.Normal(); got != tt.normal {
				t.Errorf("Normal = %v, want %v", got, tt.normal)
			}
			for _, s := range tt.contains {
				if !strings.Contains(tt.err.Error(), s) {
					t.Errorf("Error() = %q, want it to contain %q", tt.err.Error(), s)
				}
			}
			var ce *wire.CloseError
			if !errors.As(fmt.Errorf("read: %w", tt.err), &ce) || ce != tt.err {
				t.Errorf("errors.As does not find a wrapped CloseError")
			}
		})
	}
}

func TestDetected(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"a failed check", wire.Violation("bad signature"), true},
		{"a wrapped failed check", fmt.Errorf("client: %w", wire.Violation("bad signature")), true},
		{"a malformed message is not an attack noticed", wire.ErrMalformed, false},
		{"a timeout", wire.ErrHandshakeTimeout, false},
		{"the peer went away", &wire.CloseError{Code: websocket.StatusGoingAway}, false},
		{"our own context", context.Canceled, false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := wire.Detected(tt.err); got != tt.want {
				t.Errorf("Detected(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestTimeoutErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		code websocket.StatusCode
		text string
	}{
		{"handshake", wire.ErrHandshakeTimeout, websocket.StatusPolicyViolation, "handshake timed out"},
		{"idle", wire.ErrIdleTimeout, websocket.StatusGoingAway, "idle timeout"},
		{"dial sends nothing", wire.ErrDialTimeout, 0, "no answer to the WebSocket upgrade"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var to *wire.Timeout
			if !errors.As(tt.err, &to) || to.Code != tt.code || tt.err.Error() != tt.text {
				t.Errorf("%v: Timeout %+v, want code %d and text %q", tt.err, to, tt.code, tt.text)
			}
			if wire.CloseCode(tt.err) != tt.code {
				t.Errorf("CloseCode = %d, want %d", wire.CloseCode(tt.err), tt.code)
			}
			if tt.code == 0 && wire.Sendable(wire.CloseCode(tt.err)) {
				t.Errorf("the dial timeout's code is sendable")
			}
		})
	}
	if errors.Is(wire.ErrHandshakeTimeout, wire.ErrIdleTimeout) {
		t.Errorf("the handshake timeout matches the idle timeout")
	}
}

// TestCloseReason checks that a close reason always fits RFC 6455's 123
// bytes and stays valid UTF-8, whatever the length and the characters of
// the error text it comes from.
func TestCloseReason(t *testing.T) {
	t.Parallel()
	type reasonCase struct{ name, in string }
	tests := []reasonCase{
		{"empty", ""},
		{"short ASCII", "key does not match pin"},
		{"exactly 123 bytes", strings.Repeat("a", 123)},
		{"123 bytes ending in a 4-byte character", strings.Repeat("a", 119) + "🔑"},
		{"124 bytes", strings.Repeat("a", 124)},
		{"long ASCII", strings.Repeat("record replayed ", 40)},
		{"two-byte characters", strings.Repeat("é", 100)},
		{"three-byte characters", strings.Repeat("€", 100)},
		{"four-byte characters", strings.Repeat("🔑", 100)},
		{"ASCII then a 4-byte character across the cut", strings.Repeat("a", 118) + strings.Repeat("🔑", 10)},
		{"ASCII then a 3-byte character ending at the cut", strings.Repeat("a", 117) + strings.Repeat("€", 10)},
		{"ASCII then a 2-byte character across the cut", strings.Repeat("a", 119) + strings.Repeat("é", 10)},
	}
	// Every offset of a multi-byte character relative to the cut.
	for pad := range 4 {
		tests = append(tests, reasonCase{"shifted 4-byte characters " + strings.Repeat("+", pad), strings.Repeat("a", pad) + strings.Repeat("🔑", 40)})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := wire.CloseReason(tt.in)
			if p := reasonProblem(tt.in, got); p != "" {
				t.Error(p)
			}
		})
	}
}

// reasonProblem says what is wrong with got as the close reason for in.
func reasonProblem(in, got string) string {
	if len(got) > 123 {
		return fmt.Sprintf("CloseReason is %d bytes, want at most 123", len(got))
	}
	if !utf8.ValidString(got) {
		return fmt.Sprintf("CloseReason(%q) = %q is not valid UTF-8", in, got)
	}
	if len(in) <= 123 {
		if got != in {
			return fmt.Sprintf("CloseReason changed a reason that fits: %q -> %q", in, got)
		}
		return ""
	}
	prefix, ok := strings.CutSuffix(got, "...")
	if !ok {
		return fmt.Sprintf("truncated reason %q does not end in ...", got)
	}
	if !strings.HasPrefix(in, prefix) {
		return fmt.Sprintf("truncated reason %q is not a prefix of the input", got)
	}
	// No more than one whole character is lost to the cut.
	if len(prefix) < 123-3-2*utf8.UTFMax {
		return fmt.Sprintf("truncated reason keeps only %d bytes", len(prefix))
	}
	return ""
}

// TestCloseReasonCheckCanFail: the check catches a reason that is too
// long, one split inside a character, and one that is not the input's.
func TestCloseReasonCheckCanFail(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("€", 100)
	for name, got := range map[string]string{
		"too long":              long,
		"split inside a €":      long[:119] + "...",
		"not a prefix":          strings.Repeat("$", 100) + "...",
		"cut far too short":     "€...",
		"changed a short input": "x",
	} {
		in := long
		if name == "changed a short input" {
			in = "short"
		}
		if reasonProblem(in, got) == "" {
			t.Errorf("%s: the close-reason check found nothing wrong", name)
		}
	}
}

// FuzzCloseReason: any valid UTF-8 error text gives a valid reason that fits.
func FuzzCloseReason(f *testing.F) {
	f.Add("key does not match pin")
	f.Add(strings.Repeat("€", 60))
	f.Add(strings.Repeat("a", 119) + "🔑🔑")
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		if p := reasonProblem(s, wire.CloseReason(s)); p != "" {
			t.Error(p)
		}
	})
}

func TestDirectionAndSubprotocol(t *testing.T) {
	t.Parallel()
	if wire.ClientToServer.Reverse() != wire.ServerToClient || wire.ServerToClient.Reverse() != wire.ClientToServer {
		t.Errorf("Reverse does not swap the directions")
	}
	if got := wire.Subprotocol("pinned-ecdh"); got != "mitmlab.v2.pinned-ecdh" {
		t.Errorf("Subprotocol = %q", got)
	}
}
