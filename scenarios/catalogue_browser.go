package scenarios

import (
	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/tlslab"
)

// TopicBrowser is the browser lessons' topic.
const TopicBrowser = "The browser is Alice"

// browserScenarios are the original question in a browser: Alice is the
// victim page that Bob serves (package web), with WebCrypto alone. With
// Options.Browser a real browser runs the page; without one, the page's
// steps run in Go (scenarios/browser.go).
func browserScenarios() []Scenario {
	return []Scenario{
		{
			Name:    "browser-rsa-in-clear",
			Title:   "A web page sends its RSA public key in clear",
			Lesson:  "Alice is a web page: with WebCrypto she sends her RSA public key over the WebSocket, and Bob wraps a session key with it.\nMallory sits on the path of the page and of the socket. Can he read the chat?",
			Topic:   TopicBrowser,
			Scheme:  kex.PlaintextRSA(),
			Attack:  attacker.SwapRSAKey,
			Browser: true,
			Expect:  "the attacker reads every message; the page notices nothing",
		},
		{
			Name:    "browser-pin-over-http",
			Title:   "A web page pins Bob's key, with the pin in the page",
			Lesson:  "Alice is a web page that pins Bob's Ed25519 key; the pin comes with the page, which Bob serves over plain HTTP.\nMallory sits on the path of the page and of the socket. Can he read the chat?",
			Topic:   TopicBrowser,
			Scheme:  kex.PinnedECDH(),
			Attack:  attacker.RewritePin,
			Browser: true,
			Expect:  "the attacker reads every message: he rewrote the pin on its way in the page; the page notices nothing",
		},
		{
			Name:    "browser-pin-over-https",
			Title:   "The same page, served over HTTPS with a verified certificate",
			Lesson:  "The same page, pin and all, but Bob serves it over HTTPS with a certificate from a CA the browser trusts.\nMallory answers the browser's TLS with a certificate he signed himself, to change the page. Can he read the chat?",
			Topic:   TopicBrowser,
			Scheme:  kex.PinnedECDH(),
			Attack:  attacker.TerminateTLS,
			TLS:     tlslab.VerifyCA,
			Browser: true,
			Expect:  "the client refuses the attacker's certificate before the page loads; the attacker reads nothing",
		},
	}
}
