package scenarios

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/mitmlab/mitmlab/tlslab"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/web"
	"github.com/mitmlab/mitmlab/wire"
)

// Browser opens the victim page in a real browser, in which the browser
// is Alice, and returns what the page wrote when its run ended. The
// package that drives the browser (internal/chromium, through `mitmlab
// run`) provides it; this package only calls it, so that it needs no
// browser and does no heavy work when no browser scenario runs.
type Browser func(ctx context.Context, v PageVisit) (*PageResult, error)

// PageVisit is one visit of the victim page.
type PageVisit struct {
	// URL is the page, through Mallory when he is on the path; its
	// fragment holds the page's settings (autorun, scheme, messages), so
	// that the messages never cross the network in the page's URL.
	URL string
	// HostRules, if set, is how the browser reaches a name the lab made up
	// ("MAP bob.lab 127.0.0.1", Chromium's --host-resolver-rules).
	HostRules string
	// TrustSPKI lists the base64 SHA-256 of the public keys the browser
	// under test trusts as if they were a CA it knows: the lab's CA, made
	// at run time (Chromium's --ignore-certificate-errors-spki-list).
	TrustSPKI []string
}

// PageResult is what the page reported.
type PageResult struct {
	// Sent counts the messages the page sent; Received are the replies it
	// accepted.
	Sent     int
	Received []string
	// Refused is true when the page refused the server or detected an
	// attack, and Reason says why; a Reason without Refused is a failure.
	Refused bool
	Reason  string
	// LoadError is the browser's error for the page itself, such as
	// net::ERR_CERT_AUTHORITY_INVALID, when it did not load.
	LoadError string
}

// pageHandler is Bob's handler in a browser scenario: his WebSocket
// endpoint, and the victim page on the same origin, with his pin in it.
func (r *run) pageHandler() http.Handler {
	if !r.sc.Browser {
		return r.bob
	}
	pin := ""
	if r.setup.Server.Identity != nil {
		pin = r.setup.Server.Identity.Pin()
	}
	return web.Handler(r.bob, web.Options{Scheme: r.scheme.Name, Pin: pin})
}

// browserTransport is the transport of a run: a real browser reaches the
// lab over loopback TCP only.
func browserTransport(sc Scenario, o Options) Transport {
	if sc.Browser && o.Browser != nil {
		return Loopback
	}
	return o.Transport
}

// aliceChat runs Alice: the lab's client, or in a browser scenario the
// victim page.
func (r *run) aliceChat(ctx context.Context) *victim.ChatResult {
	switch {
	case !r.sc.Browser:
		return r.alice.Chat(ctx, r.url, r.msgs)
	case r.o.Browser != nil:
		return r.browserChat(ctx)
	}
	return r.pageChat(ctx)
}

// pageURL is the victim page as Alice reaches it: through Mallory when he
// is on the path, over https:// in a TLS scenario. The lab's own client
// reaches bob.lab on its usual port through the lab's route; a browser
// names the port it really listens on.
func (r *run) pageURL(browser bool) string {
	switch {
	case r.sc.TLS != "" && browser:
		_, port, _ := net.SplitHostPort(r.target)
		return "https://" + tlslab.ServerName + ":" + port + "/"
	case r.sc.TLS != "":
		return "https://" + tlslab.ServerName + "/"
	}
	return "http://" + r.target + "/"
}

// browserChat lets a real browser be Alice: it opens the page, which
// chats by itself (autorun), and reads back what the page reported.
func (r *run) browserChat(ctx context.Context) *victim.ChatResult {
	frag := url.Values{"autorun": {"1"}, "scheme": {r.scheme.Name}, "message": r.o.Messages}
	v := PageVisit{URL: r.pageURL(true) + "#" + frag.Encode()}
	if r.sc.TLS != "" {
		v.HostRules = "MAP " + tlslab.ServerName + " 127.0.0.1"
		sum := sha256.Sum256(r.ca.Certificate.RawSubjectPublicKeyInfo)
		v.TrustSPKI = []string{base64.StdEncoding.EncodeToString(sum[:])}
	}
	res, err := r.o.Browser(ctx, v)
	if err != nil {
		return &victim.ChatResult{Err: fmt.Errorf("browser: %w", err)}
	}
	chat := &victim.ChatResult{}
	for i := 0; i < res.Sent && i < len(r.msgs); i++ {
		chat.Sent = append(chat.Sent, r.msgs[i])
	}
	for _, s := range res.Received {
		chat.Replies = append(chat.Replies, []byte(s))
	}
	switch {
	case res.LoadError != "" && strings.Contains(res.LoadError, "ERR_CERT"):
		chat.Err = wire.Violation("the browser refused the page's certificate: " + res.LoadError)
	case res.LoadError != "":
		chat.Err = &victim.DialError{URL: v.URL, Err: errors.New("the page did not load: " + res.LoadError)}
	case res.Refused:
		chat.Err = wire.Violation(res.Reason)
	case res.Reason != "":
		chat.Err = errors.New(res.Reason)
	}
	return chat
}

// pageChat is the victim page's steps in Go, for a run with no browser:
// fetch the page, take the pin it carries, and chat with that pin. It is
// what the page's script does, without JavaScript.
func (r *run) pageChat(ctx context.Context) *victim.ChatResult {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.pageURL(false), nil)
	if err != nil {
		return &victim.ChatResult{Err: err}
	}
	req.Close = true // one request: the page's connection ends with it, as the run waits for every connection
	resp, err := r.alice.HTTPClient.Do(req)
	if err != nil {
		return &victim.ChatResult{Err: fmt.Errorf("fetch the page: %w", err)}
	}
	page, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return &victim.ChatResult{Err: fmt.Errorf("fetch the page: %w", err)}
	}
	if resp.StatusCode != http.StatusOK {
		return &victim.ChatResult{Err: &victim.DialError{URL: r.pageURL(false), Status: resp.StatusCode, Body: string(page)}}
	}
	alice := *r.alice
	cfg := *r.setup.Client
	// INSECURE(browser-pin-over-http): the pin comes with the page; over
	// plain HTTP, whoever changes the page changes the pin.
	cfg.Pin = pagePin(page)
	alice.Config = &cfg
	return alice.Chat(ctx, r.url, r.msgs)
}

// pagePin reads the pin out of the page's <meta name="mitmlab-pin">.
func pagePin(page []byte) string {
	prefix := `<meta name="` + web.PinMeta + `" content="`
	s := string(page)
	i := strings.Index(s, prefix)
	if i < 0 {
		return ""
	}
	s = s[i+len(prefix):]
	if j := strings.IndexByte(s, '"'); j >= 0 {
		return html.UnescapeString(s[:j])
	}
	return ""
}
