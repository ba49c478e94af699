package export

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// harDate is HAR's date format: ISO 8601 with a zone.
var harDate = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$`)

// harChecker walks a decoded HAR file and reports what breaks the HAR 1.2
// spec: every required field present with its type, dates in ISO 8601,
// pagerefs that name a page, the timings that must not be -1 not -1, and
// an entry's time the sum of its timings.
type harChecker struct {
	t *testing.T
}

func (c harChecker) obj(v any, where string) map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		c.t.Errorf("%s: not an object: %v", where, v)
	}
	return m
}

func (c harChecker) arr(m map[string]any, key, where string) []any {
	a, ok := m[key].([]any)
	if !ok {
		c.t.Errorf("%s.%s: not an array: %v", where, key, m[key])
	}
	return a
}

func (c harChecker) str(m map[string]any, key, where string) string {
	s, ok := m[key].(string)
	if !ok {
		c.t.Errorf("%s.%s: not a string: %v", where, key, m[key])
	}
	return s
}

func (c harChecker) num(m map[string]any, key, where string) float64 {
	n, ok := m[key].(float64)
	if !ok {
		c.t.Errorf("%s.%s: not a number: %v", where, key, m[key])
	}
	return n
}

func (c harChecker) date(m map[string]any, key, where string) {
	if s := c.str(m, key, where); !harDate.MatchString(s) {
		c.t.Errorf("%s.%s: %q is not an ISO 8601 date", where, key, s)
	}
}

func (c harChecker) nameValues(m map[string]any, key, where string) {
	for _, h := range c.arr(m, key, where) {
		hv := c.obj(h, where+"."+key)
		c.str(hv, "name", where+"."+key)
		c.str(hv, "value", where+"."+key)
	}
}

func (c harChecker) check(doc map[string]any) {
	log := c.obj(doc["log"], "log")
	if v := c.str(log, "version", "log"); v != "1.2" {
		c.t.Errorf("log.version %q, want 1.2", v)
	}
	creator := c.obj(log["creator"], "log.creator")
	c.str(creator, "name", "log.creator")
	c.str(creator, "version", "log.creator")
	pages := map[string]bool{}
	for _, p := range c.arr(log, "pages", "log") {
		pm := c.obj(p, "page")
		c.date(pm, "startedDateTime", "page")
		pages[c.str(pm, "id", "page")] = true
		c.str(pm, "title", "page")
		c.obj(pm["pageTimings"], "page.pageTimings")
	}
	for _, e := range c.arr(log, "entries", "log") {
		em := c.obj(e, "entry")
		if ref, ok := em["pageref"]; ok && !pages[ref.(string)] {
			c.t.Errorf("entry.pageref %q names no page", ref)
		}
		c.date(em, "startedDateTime", "entry")
		total := c.num(em, "time", "entry")
		req := c.obj(em["request"], "request")
		for _, k := range []string{"method", "url", "httpVersion"} {
			c.str(req, k, "request")
		}
		c.arr(req, "cookies", "request")
		c.nameValues(req, "headers", "request")
		c.nameValues(req, "queryString", "request")
		c.num(req, "headersSize", "request")
		c.num(req, "bodySize", "request")
		resp := c.obj(em["response"], "response")
		c.num(resp, "status", "response")
		for _, k := range []string{"statusText", "httpVersion", "redirectURL"} {
			c.str(resp, k, "response")
		}
		c.arr(resp, "cookies", "response")
		c.nameValues(resp, "headers", "response")
		content := c.obj(resp["content"], "response.content")
		c.num(content, "size", "response.content")
		c.str(content, "mimeType", "response.content")
		c.num(resp, "headersSize", "response")
		c.num(resp, "bodySize", "response")
		c.obj(em["cache"], "cache")
		timings := c.obj(em["timings"], "timings")
		sum := 0.0
		for _, k := range []string{"blocked", "dns", "connect", "send", "wait", "receive"} {
			v, ok := timings[k].(float64)
			switch {
			case !ok && (k == "send" || k == "wait" || k == "receive"):
				c.t.Errorf("timings.%s is required", k)
			case ok && v < 0 && (k == "send" || k == "wait" || k == "receive"):
				c.t.Errorf("timings.%s is %v; it may not be -1", k, v)
			case ok && v < 0 && v != -1:
				c.t.Errorf("timings.%s is %v: -1 or a duration", k, v)
			case ok && v > 0:
				sum += v
			}
		}
		if math.Abs(sum-total) > 1e-6 {
			c.t.Errorf("entry.time %v is not the sum of its timings, %v", total, sum)
		}
	}
}

// harMessages reads back every WebSocket message of a HAR file, by trace
// index, with the page of its entry.
type harReadMessage struct {
	harMessage
	page string
}

func readHAR(t *testing.T, path string) (map[string]any, map[int]harReadMessage) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s is not JSON: %v", path, err)
	}
	var typed harFile
	if err := json.Unmarshal(b, &typed); err != nil {
		t.Fatal(err)
	}
	msgs := map[int]harReadMessage{}
	for _, e := range typed.Log.Entries {
		last := 0.0
		for _, m := range e.WebSocketMessages {
			if _, dup := msgs[m.Index]; dup {
				t.Errorf("frame %d appears twice", m.Index)
			}
			if m.Time < last {
				t.Errorf("entry %s: messages out of time order at frame %d", e.Request.URL, m.Index)
			}
			last = m.Time
			msgs[m.Index] = harReadMessage{m, e.Pageref}
		}
	}
	return doc, msgs
}

// TestHARHoldsEveryMessage: the export parses as HAR 1.2, and every
// WebSocket message of the run is in it, once, on its leg's page, with its
// direction from the leg's client ("send" toward the server), its time in
// seconds and its exact bytes; no other message is.
func TestHARHoldsEveryMessage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts *scenarios.Options
	}{
		{"unauth-ecdh", nil},
		{"unauth-ecdh", &scenarios.Options{NoAttacker: true}},
		{"truncation", nil},
		{"wss-skipverify", nil},
		{"pinned-ecdh", nil},
	} {
		r := labRun(t, tc.name, tc.opts)
		path := exportFile(t, r, HAR)
		doc, msgs := readHAR(t, path)
		harChecker{t}.check(doc)
		want := 0
		for _, e := range r.events() {
			if !isMessage(e) {
				continue
			}
			want++
			m, ok := msgs[e.Index]
			if !ok {
				t.Errorf("%s: frame %d (%s %s) is not in the HAR", tc.name, e.Index, e.Leg, e.Type)
				continue
			}
			dir := "receive"
			if e.Dir == wire.ClientToServer {
				dir = "send"
			}
			if m.Type != dir || m.Opcode != 1 || m.Data != string(e.Raw) || m.page != "leg-"+string(e.Leg) || m.Verdict != string(e.Verdict) {
				t.Errorf("%s: frame %d is %+v on %s; want %s of %q on leg-%s", tc.name, e.Index, m.harMessage, m.page, dir, e.Raw, e.Leg)
			}
			if d := math.Abs(m.Time - float64(e.Time.UnixNano())/1e9); d > 1e-6 {
				t.Errorf("%s: frame %d at %v s, want %v", tc.name, e.Index, m.Time, e.Time)
			}
		}
		if len(msgs) != want {
			t.Errorf("%s: the HAR holds %d messages, the run %d", tc.name, len(msgs), want)
		}
		if tc.name == "unauth-ecdh" && want == 0 {
			t.Errorf("%s: no WebSocket messages in the run", tc.name)
		}
	}
}

// TestHARBinaryMessage: a message that is not UTF-8 (a tampered frame, a
// learner's binary) is kept whole, as Chrome keeps binary frames: opcode
// 2, base64.
func TestHARBinaryMessage(t *testing.T) {
	t.Parallel()
	r := Run{Events: []trace.Event{{Index: 0, Leg: trace.LegWire, Dir: wire.ServerToClient, Type: "invalid", Raw: []byte{0xff, 0x00, 'x'}, Verdict: trace.Public, Time: time.Unix(5, 0)}}}
	_, msgs := readHAR(t, exportFile(t, r, HAR))
	if m := msgs[0]; m.Opcode != 2 || m.Data != "/wB4" || m.Type != "receive" {
		t.Errorf("binary message %+v", m.harMessage)
	}
}

// TestHARSchema validates the exports against the HAR 1.2 JSON Schema
// (har-schema, in export/testdata/node), and the schema against a file
// with no version, which it must reject.
func TestHARSchema(t *testing.T) {
	t.Parallel()
	node := nodeChecks(t)
	files := []string{
		exportFile(t, labRun(t, "unauth-ecdh", nil), HAR),
		exportFile(t, labRun(t, "wss-skipverify", nil), HAR),
		exportFile(t, labRun(t, "truncation-refused", &scenarios.Options{NoAttacker: true}), HAR),
	}
	broken := filepath.Join(t.TempDir(), "broken.har")
	if err := os.WriteFile(broken, []byte(`{"log":{"creator":{"name":"x","version":"1"},"entries":[]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	results := runChecks(t, node, append(files, broken)...)
	for _, f := range files {
		if r := results[f]; !r.OK {
			t.Errorf("%s does not validate as HAR 1.2: %s", f, r.Error)
		}
	}
	if results[broken].OK {
		t.Error("the HAR schema accepted a log with no version: the check cannot fail")
	}
}
