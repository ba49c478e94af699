package wire

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCloseReason checks that a close reason always fits RFC 6455's 123
// bytes and stays valid UTF-8, whatever the length and the characters of
// the error text it comes from.
func TestCloseReason(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"short ASCII", "key does not match pin"},
		{"exactly 123 bytes", strings.Repeat("a", 123)},
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
		tests = append(tests, struct{ name, in string }{
			"shifted 4-byte characters " + strings.Repeat("+", pad), strings.Repeat("a", pad) + strings.Repeat("🔑", 40)})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := closeReason(tt.in)
			if len(got) > 123 {
				t.Errorf("closeReason is %d bytes, want at most 123", len(got))
			}
			if !utf8.ValidString(got) {
				t.Errorf("closeReason(%q) = %q is not valid UTF-8", tt.in, got)
			}
			if len(tt.in) <= 123 {
				if got != tt.in {
					t.Errorf("closeReason changed a reason that fits: %q -> %q", tt.in, got)
				}
				return
			}
			prefix, ok := strings.CutSuffix(got, "...")
			if !ok {
				t.Errorf("truncated reason %q does not end in ...", got)
			}
			if !strings.HasPrefix(tt.in, prefix) {
				t.Errorf("truncated reason %q is not a prefix of the input", got)
			}
			// No more than one whole character is lost to the cut.
			if len(prefix) < 123-3-2*utf8.UTFMax {
				t.Errorf("truncated reason keeps only %d bytes", len(prefix))
			}
		})
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
		got := closeReason(s)
		if len(got) > 123 || !utf8.ValidString(got) {
			t.Errorf("closeReason(%q) = %q (%d bytes)", s, got, len(got))
		}
	})
}
