package attacker

import (
	"bytes"
	"fmt"
	"html"
)

// The browser lesson's attack name.
const RewritePin = "rewrite-pin"

// PinMeta is the meta element in which the victim page carries the
// server's pin; it is web.PinMeta, and a test holds the two together.
const PinMeta = "mitmlab-pin"

// browserAttacks are the attacks on a victim page: the browser is Alice,
// and her pin arrives with the page.
func browserAttacks() []*Attack {
	return []*Attack{
		{
			Name:    RewritePin,
			Summary: "rewrite the pin in the victim page on its way through, then present the attacker's own certificate",
			Needs:   []Need{{"server_hello", "certificate"}},
			applies: signed,
			run:     runDoubleHandshake,
			page:    rewritePin,
		},
	}
}

// rewritePin puts the pin of the node's own identity in place of the
// server's, in the page's <meta name="mitmlab-pin" content="...">. A page
// with no pin in it goes through unchanged, with an empty note.
func rewritePin(n *Node, page []byte) ([]byte, string) {
	// Over plain HTTP anyone on the path can do this: the pin is only as
	// safe as the page's delivery (browser-pin-over-http).
	prefix := []byte(`<meta name="` + PinMeta + `" content="`)
	i := bytes.Index(page, prefix)
	if i < 0 || n.opts.Identity == nil {
		return page, ""
	}
	start := i + len(prefix)
	end := bytes.IndexByte(page[start:], '"')
	if end < 0 {
		return page, ""
	}
	old := html.UnescapeString(string(page[start : start+end]))
	mine := n.opts.Identity.Pin()
	out := bytes.Join([][]byte{page[:start], []byte(html.EscapeString(mine)), page[start+end:]}, nil)
	return out, fmt.Sprintf("the page with its pin rewritten: %s (the server's) → %s (the attacker's own)", orNone(old), mine)
}

func orNone(pin string) string {
	if pin == "" {
		return "none"
	}
	return pin
}

// ChangesPage reports whether the attack changes the victim page on its
// way to a browser (rewrite-pin). Against a client that loads no page it
// is its WebSocket half alone, which another entry of the table already
// is (impersonate); so exam and labtest, which put clients with no page
// under Mallory, leave it out.
func (a *Attack) ChangesPage() bool { return a.page != nil }
