package tui

import (
	"os"
	"strings"
	"testing"
)

// TestDocsKeyTable fails when docs/tui.md's key table and the KeyMap
// disagree. The table sits between two markers; its body is exactly what
// KeyMap.Markdown returns, so the fix is to paste that in.
func TestDocsKeyTable(t *testing.T) {
	t.Parallel()
	const begin, end = "<!-- keys:begin (generated from tui.DefaultKeyMap; TestDocsKeyTable checks it) -->\n", "<!-- keys:end -->"
	b, err := os.ReadFile("../docs/tui.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("docs/tui.md has no key table between %q and %q", begin, end)
	}
	got := doc[i+len(begin) : j]
	want := DefaultKeyMap().Markdown()
	if got != want {
		t.Errorf("docs/tui.md's key table differs from the KeyMap; replace it with:\n\n%s", want)
	}
	// Every key that the lab answers to is in the table.
	for _, g := range DefaultKeyMap().Groups() {
		for _, kb := range g.Bindings {
			for _, k := range kb.Keys() {
				if !strings.Contains(got, "`"+k+"`") {
					t.Errorf("key %q (%s) is not in docs/tui.md", k, kb.Help().Desc)
				}
			}
		}
	}
}
