package suggest

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestClosest(t *testing.T) {
	t.Parallel()
	names := []string{"plaintext-rsa", "unauth-ecdh", "pinned-ecdh", "signed-unpinned", "downgrade", "downgrade-refused"}
	for _, tc := range []struct {
		name, typed, want string
	}{
		{"a missing last letter", "pinned-ecd", "pinned-ecdh"},
		{"a transposition", "unatuh-ecdh", "unauth-ecdh"},
		{"a wrong letter", "plaintext-rsb", "plaintext-rsa"},
		{"an exact name is its own suggestion", "downgrade", "downgrade"},
		{"the nearer of two similar names", "downgrade-refuse", "downgrade-refused"},
		{"nonsense gets nothing", "quantum-teleport", ""},
		{"an empty word gets nothing", "", ""},
		{"a short word far from everything", "ls", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Closest(tc.typed, names); got != tc.want {
				t.Errorf("Closest(%q) = %q, want %q", tc.typed, got, tc.want)
			}
		})
	}
	if got := Closest("pinned-ecdh", nil); got != "" {
		t.Errorf("Closest with no candidates = %q", got)
	}
}

func TestDistance(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"", "abc", 3},
		{"kitten", "sitting", 3},
		{"flaw", "lawn", 2},
		{"pinned-ecd", "pinned-ecdh", 1},
		{"unatuh", "unauth", 2}, // a transposition costs two edits
		{"same", "same", 0},
	} {
		if got := distance(tc.a, tc.b); got != tc.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := distance(tc.b, tc.a); got != tc.want {
			t.Errorf("distance(%q, %q) = %d, want %d (not symmetric)", tc.b, tc.a, got, tc.want)
		}
	}
}
