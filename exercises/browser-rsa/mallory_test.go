//go:build exercise

package exercise

import (
	"testing"

	"github.com/mitmlab/mitmlab/exercises/mallory"
)

// TestMallory runs client.mjs, through run.mjs and lab.mjs, under every
// attack of `mitmlab exam` for static-rsa, once per connection.
// `mitmlab exercise check browser-rsa` runs it.
func TestMallory(t *testing.T) {
	mallory.Check(t, "browser-rsa", mallory.Node(mallory.NeedNode(t), "run.mjs", "client.mjs"))
}
