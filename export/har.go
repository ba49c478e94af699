package export

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/mitmlab/mitmlab/trace"
)

// The HAR 1.2 objects the export writes (http://www.softwareishard.com/
// blog/har-12-spec/), with Chrome's extensions for WebSocket: an entry's
// _resourceType "websocket" and its _webSocketMessages. Fields named with
// a leading underscore are custom, as the spec allows.
type (
	harFile struct {
		Log harLog `json:"log"`
	}
	harLog struct {
		Version string     `json:"version"`
		Creator harCreator `json:"creator"`
		Pages   []harPage  `json:"pages"`
		Entries []harEntry `json:"entries"`
		Comment string     `json:"comment,omitempty"`
	}
	harCreator struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	harPage struct {
		StartedDateTime string         `json:"startedDateTime"`
		ID              string         `json:"id"`
		Title           string         `json:"title"`
		PageTimings     harPageTimings `json:"pageTimings"`
	}
	harPageTimings struct {
		OnContentLoad float64 `json:"onContentLoad"`
		OnLoad        float64 `json:"onLoad"`
	}
	harEntry struct {
		Pageref           string       `json:"pageref"`
		StartedDateTime   string       `json:"startedDateTime"`
		Time              float64      `json:"time"`
		Request           harRequest   `json:"request"`
		Response          harResponse  `json:"response"`
		Cache             struct{}     `json:"cache"`
		Timings           harTimings   `json:"timings"`
		ServerIPAddress   string       `json:"serverIPAddress"`
		Connection        string       `json:"connection"`
		Comment           string       `json:"comment,omitempty"`
		ResourceType      string       `json:"_resourceType"`
		WebSocketMessages []harMessage `json:"_webSocketMessages"`
	}
	harRequest struct {
		Method      string       `json:"method"`
		URL         string       `json:"url"`
		HTTPVersion string       `json:"httpVersion"`
		Cookies     []harCookie  `json:"cookies"`
		Headers     []harNameVal `json:"headers"`
		QueryString []harNameVal `json:"queryString"`
		HeadersSize int          `json:"headersSize"`
		BodySize    int          `json:"bodySize"`
	}
	harResponse struct {
		Status      int          `json:"status"`
		StatusText  string       `json:"statusText"`
		HTTPVersion string       `json:"httpVersion"`
		Cookies     []harCookie  `json:"cookies"`
		Headers     []harNameVal `json:"headers"`
		Content     harContent   `json:"content"`
		RedirectURL string       `json:"redirectURL"`
		HeadersSize int          `json:"headersSize"`
		BodySize    int          `json:"bodySize"`
	}
	harCookie  struct{}
	harNameVal struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	harContent struct {
		Size     int    `json:"size"`
		MimeType string `json:"mimeType"`
	}
	harTimings struct {
		Blocked float64 `json:"blocked"`
		DNS     float64 `json:"dns"`
		Connect float64 `json:"connect"`
		Send    float64 `json:"send"`
		Wait    float64 `json:"wait"`
		Receive float64 `json:"receive"`
		SSL     float64 `json:"ssl"`
	}
	// harMessage is one of Chrome's _webSocketMessages: "send" or
	// "receive" from the entry's client, the time in seconds since the
	// Unix epoch, the opcode (1 text, 2 binary, base64) and the payload.
	// _index and _verdict tie it to the trace.
	harMessage struct {
		Type    string  `json:"type"`
		Time    float64 `json:"time"`
		Opcode  int     `json:"opcode"`
		Data    string  `json:"data"`
		Index   int     `json:"_index"`
		Verdict string  `json:"_verdict"`
	}
)

// harVersion is the HAR version the export writes.
const harVersion = "1.2"

// writeHAR writes one page per leg and one entry per WebSocket
// connection, the upgrade as the leg's client saw it, with every message
// that crossed it.
func writeHAR(w io.Writer, r *Run) error {
	f := harFile{Log: harLog{
		Version: harVersion,
		Creator: harCreator{Name: "mitmlab", Version: moduleVersion()},
		Pages:   []harPage{},
		Entries: []harEntry{},
	}}
	if r.Outcome != nil {
		f.Log.Comment = r.name() + ": " + r.Outcome.Summary()
	}
	pages := map[trace.Leg]bool{}
	for _, s := range streams(r.events()) {
		page := "leg-" + string(s.leg)
		if !pages[s.leg] {
			pages[s.leg] = true
			f.Log.Pages = append(f.Log.Pages, harPage{
				StartedDateTime: harTime(s.start()),
				ID:              page,
				Title:           fmt.Sprintf("%s: leg %s, %s ↔ %s", r.name(), s.leg, s.client(), s.server()),
				PageTimings:     harPageTimings{OnContentLoad: -1, OnLoad: -1},
			})
		}
		f.Log.Entries = append(f.Log.Entries, harEntryFor(r, s, page))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(f)
}

func harEntryFor(r *Run, s *stream, page string) harEntry {
	u := newUpgrade(s, r.scheme())
	url := "ws://" + u.host + u.path
	if s.tls {
		url = "wss://" + u.host + u.path
	}
	ms := float64(s.end().Sub(s.start())) / float64(time.Millisecond)
	e := harEntry{
		Pageref:         page,
		StartedDateTime: harTime(s.start()),
		Time:            ms,
		Request: harRequest{
			Method: "GET", URL: url, HTTPVersion: "HTTP/1.1",
			Cookies: []harCookie{}, Headers: harHeaders(u.requestHeaders()), QueryString: []harNameVal{},
			HeadersSize: -1, BodySize: 0,
		},
		Response: harResponse{
			Status: 101, StatusText: "Switching Protocols", HTTPVersion: "HTTP/1.1",
			Cookies: []harCookie{}, Headers: harHeaders(u.responseHeaders(s.start())),
			Content:     harContent{Size: 0, MimeType: "x-unknown"},
			RedirectURL: "", HeadersSize: -1, BodySize: 0,
		},
		Timings:           harTimings{Blocked: -1, DNS: -1, Connect: -1, Send: 0, Wait: ms, Receive: 0, SSL: -1},
		ServerIPAddress:   hostOf(s.server()).ip.String(),
		Connection:        fmt.Sprint(clientPort(s)),
		Comment:           fmt.Sprintf("leg %s, connection %d: %s is the client, %s the server; the headers are rebuilt, the messages are the trace's", s.leg, s.conn, s.client(), s.server()),
		ResourceType:      "websocket",
		WebSocketMessages: []harMessage{},
	}
	for _, ev := range s.frames {
		if !isMessage(ev) {
			continue
		}
		m := harMessage{Type: "receive", Time: harSeconds(ev.Time), Opcode: 1, Data: string(ev.Raw), Index: ev.Index, Verdict: string(ev.Verdict)}
		if sends(ev) {
			m.Type = "send"
		}
		if !utf8.Valid(ev.Raw) {
			m.Opcode, m.Data = 2, base64.StdEncoding.EncodeToString(ev.Raw)
		}
		e.WebSocketMessages = append(e.WebSocketMessages, m)
	}
	return e
}

func harHeaders(hs [][2]string) []harNameVal {
	out := make([]harNameVal, len(hs))
	for i, h := range hs {
		out[i] = harNameVal{Name: h[0], Value: h[1]}
	}
	return out
}

// harTime is ISO 8601 with milliseconds and zone, as HAR asks.
func harTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// harSeconds is a _webSocketMessages time: seconds since the epoch.
func harSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
