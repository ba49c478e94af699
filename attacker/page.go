package attacker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// The ledger's types for a page request and its answer.
const (
	TypeHTTPRequest  = "http_request"
	TypeHTTPResponse = "http_response"
)

// maxPage bounds a page or file the node passes through.
const maxPage = 1 << 20

// isPageRequest reports whether r asks for a page or a file, not a
// WebSocket: a GET or HEAD with no Upgrade header. (web.IsPageRequest is
// the same test on the server's side.)
func isPageRequest(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		!strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// pageOrigin is the upstream server's HTTP origin: http:// for ws://,
// https:// for wss://.
func pageOrigin(upstream string) (string, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "ws":
		return "http://" + u.Host, nil
	case "wss":
		return "https://" + u.Host, nil
	}
	return "", fmt.Errorf("upstream %s is not a ws:// or wss:// URL", upstream)
}

// servePage passes one plain HTTP GET (the victim page, or one of its
// files) through to the upstream server's origin, as a proxy would, and
// records it on both legs: the request line going toward Bob and the body
// coming back. A page is public by design (anyone may fetch it), so one
// relayed unchanged is public on both legs. An attack with a page step
// (rewrite-pin) may change it on the way: then Bob's page is intercepted
// on leg B and the attacker's page substituted on leg A, as a certificate
// he swaps would be. Nothing here is read: there is nothing to decrypt.
//
// Each request takes a connection number of its own, like a WebSocket
// connection.
func (n *Node) servePage(w http.ResponseWriter, r *http.Request) {
	n.wg.Add()
	defer n.wg.Done()
	id := connID(r.Context())
	if id == 0 {
		id = int(n.conns.Add(1))
	}
	attack := n.opts.Attack
	if n.opts.Choose != nil {
		attack = n.opts.Choose(id, r)
	}
	name := r.URL.Query().Get("name")
	rec := func(leg trace.Leg, dir wire.Direction, typ string, raw []byte, v trace.Verdict, note string) {
		n.log.Add(trace.Event{Conn: id, Name: name, Leg: leg, Dir: dir, Type: typ, Size: len(raw), Verdict: v, Note: note, Raw: raw})
	}
	line := []byte(r.Method + " " + r.URL.RequestURI())
	rec(trace.LegA, wire.ClientToServer, TypeHTTPRequest, line, trace.Public, "a page request, passed on to the server's origin")

	origin, err := pageOrigin(n.opts.Upstream)
	if err != nil {
		rec(trace.LegB, wire.ClientToServer, TypeHTTPRequest, nil, trace.Blocked, "could not deliver: "+err.Error())
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	ctx, cancel := context.WithTimeout(n.ctx, n.opts.DialTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.Method, origin+r.URL.RequestURI(), nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, h := range []string{"Accept", "Accept-Language", "User-Agent"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	rec(trace.LegB, wire.ClientToServer, TypeHTTPRequest, line, trace.Public, "a page request, passed on to the server's origin")
	client := n.httpClient(id)
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		reason := upstreamError(origin, err)
		n.logf("conn %d: %s", id, reason)
		http.Error(w, reason, http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPage+1))
	if err == nil && len(body) > maxPage {
		err = errors.New("more than 1 MiB")
	}
	if err != nil {
		reason := fmt.Sprintf("upstream %s: page %s: %v", origin, r.URL.Path, err)
		n.logf("conn %d: %s", id, reason)
		http.Error(w, reason, http.StatusBadGateway)
		return
	}
	what := fmt.Sprintf("%d %s, %s, %d bytes", resp.StatusCode, http.StatusText(resp.StatusCode), resp.Header.Get("Content-Type"), len(body))
	out, note := body, ""
	if attack != nil && attack.page != nil && resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		out, note = attack.page(n, body)
	}
	if note == "" {
		rec(trace.LegB, wire.ServerToClient, TypeHTTPResponse, body, trace.Public, what)
		rec(trace.LegA, wire.ServerToClient, TypeHTTPResponse, body, trace.Public, what)
	} else {
		rec(trace.LegB, wire.ServerToClient, TypeHTTPResponse, body, trace.Intercepted, "taken by the attacker, who sends his own page: "+what)
		rec(trace.LegA, wire.ServerToClient, TypeHTTPResponse, out, trace.Substituted, note)
	}
	for _, h := range []string{"Content-Type", "Cache-Control", "Content-Security-Policy", "X-Content-Type-Options", "Mitmlab-Scheme"} {
		if v := resp.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(out)
}
