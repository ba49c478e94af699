package docs_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// namedErrors are the sentinels protocol.md's error table must list. A code
// of 0 means the side drops the connection without a close frame.
var namedErrors = map[string]struct {
	err  error
	code int
}{
	"wire.ErrMalformed":         {wire.ErrMalformed, 1002},
	"wire.ErrUnknownType":       {wire.ErrUnknownType, 1002},
	"wire.ErrUnknownField":      {wire.ErrUnknownField, 1002},
	"wire.ErrMissingField":      {wire.ErrMissingField, 1002},
	"wire.ErrFieldLength":       {wire.ErrFieldLength, 1002},
	"wire.ErrMessageTooLarge":   {wire.ErrMessageTooLarge, 1009},
	"wire.ErrUnexpectedMessage": {wire.ErrUnexpectedMessage, 1002},
	"wire.ErrBinaryMessage":     {wire.ErrBinaryMessage, 1002},
	"wire.ErrPeerClosed":        {wire.ErrPeerClosed, 0},
	"channel.ErrReplay":         {channel.ErrReplay, 1008},
	"channel.ErrOutOfOrder":     {channel.ErrOutOfOrder, 1008},
	"channel.ErrDecrypt":        {channel.ErrDecrypt, 1008},
	"channel.ErrSeqExhausted":   {channel.ErrSeqExhausted, 1008},
	"channel.ErrTooLarge":       {channel.ErrTooLarge, 1011},
	"kex.ErrPinMismatch":        {kex.ErrPinMismatch, 1008},
	"kex.ErrBadSignature":       {kex.ErrBadSignature, 1008},
	"kex.ErrBadFinished":        {kex.ErrBadFinished, 1008},
	"kex.ErrLowOrderPoint":      {kex.ErrLowOrderPoint, 1008},
	"kex.ErrBadCertificate":     {kex.ErrBadCertificate, 1008},
	"kex.ErrNotEd25519":         {kex.ErrNotEd25519, 1008},
	"kex.ErrSchemeNotOffered":   {kex.ErrSchemeNotOffered, 1008},
	"kex.ErrNoCommonScheme":     {kex.ErrNoCommonScheme, 1008},
	"kex.ErrBadKey":             {kex.ErrBadKey, 1008},
	"kex.ErrKeySize":            {kex.ErrKeySize, 1008},
	"kex.ErrBadKeyTransport":    {kex.ErrBadKeyTransport, 1008},
	"kex.ErrMissingIdentity":    {kex.ErrMissingIdentity, 1008},
	"kex.ErrDowngrade":          {kex.ErrDowngrade, 1008},
	"kex.ErrNoPin":              {kex.ErrNoPin, 0},
	"kex.ErrBadPin":             {kex.ErrBadPin, 0},
	"kex.ErrTruncatedHandshake": {kex.ErrTruncatedHandshake, 0},
}

// TestErrorTable checks every row of protocol.md's named-error table: the
// text is the sentinel's, and the close code is the one wire.CloseCode
// gives (or "none" for the errors on which a side drops the connection).
// It also checks that every Err variable in wire, channel and kex has a row.
func TestErrorTable(t *testing.T) {
	t.Parallel()
	doc := readDoc(t, "protocol.md")
	rows := tableRows(section(t, doc, "### Named errors"))
	seen := map[string]bool{}
	for _, r := range rows {
		if len(r) != 4 {
			t.Errorf("row %q has %d cells, want 4", r, len(r))
			continue
		}
		name, text, code := unquote(r[0]), unquote(r[1]), r[2]
		seen[name] = true
		want, ok := namedErrors[name]
		if !ok {
			t.Errorf("protocol.md lists %s, which the test does not know", name)
			continue
		}
		if got := want.err.Error(); got != text {
			t.Errorf("%s: text %q, protocol.md says %q", name, got, text)
		}
		isViolation := kex.Detected(want.err)
		switch {
		case want.code == 0:
			if !strings.HasPrefix(code, "none") {
				t.Errorf("%s: protocol.md says %s, want none", name, code)
			}
		case code != strconv.Itoa(want.code):
			t.Errorf("%s: protocol.md says close code %s, want %d", name, code, want.code)
		case int(wire.CloseCode(want.err)) != want.code:
			t.Errorf("%s: wire.CloseCode gives %d, want %d", name, wire.CloseCode(want.err), want.code)
		case isViolation != (want.code == 1008):
			t.Errorf("%s: a wire.Violation is %v, but its code is %d", name, isViolation, want.code)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(namedErrors)) {
		if !seen[name] {
			t.Errorf("protocol.md's error table has no row for %s", name)
		}
	}
	for _, name := range declaredErrors(t, "wire", "channel", "kex") {
		if _, ok := namedErrors[name]; !ok {
			t.Errorf("%s is declared in the code but not in protocol.md's error table", name)
		}
	}
}

// declaredErrors returns pkg.ErrX for each package-level variable whose
// name starts with Err, in the non-test files of dirs.
func declaredErrors(t *testing.T, dirs ...string) []string {
	t.Helper()
	var out []string
	fset := token.NewFileSet()
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join("..", dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(fset, f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range file.Decls {
				gd, ok := d.(*ast.GenDecl)
				if !ok || gd.Tok != token.VAR {
					continue
				}
				for _, s := range gd.Specs {
					for _, n := range s.(*ast.ValueSpec).Names {
						if strings.HasPrefix(n.Name, "Err") {
							out = append(out, dir+"."+n.Name)
						}
					}
				}
			}
		}
	}
	return out
}

var (
	markerLine  = regexp.MustCompile(`INSECURE\(([a-z, -]+)\):`)
	lineCite    = regexp.MustCompile("`((?:[a-z]+/)+[a-z_]+\\.go):([0-9]+)`")
	markerTable = regexp.MustCompile("^`((?:[a-z]+/)+[a-z_]+\\.go)`$")
)

// TestInsecureMarkers checks that architecture.md's table lists every
// INSECURE marker in the code: for each file and lesson, as many rows as
// the code has markers. The docs cite files, never line numbers, so a
// change that moves code does not make them wrong; a citation with a line
// number is an error.
func TestInsecureMarkers(t *testing.T) {
	t.Parallel()
	pages, err := filepath.Glob("scenarios/*.md")
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, "architecture.md", "protocol.md", "answers.md")
	for _, page := range pages {
		for _, m := range lineCite.FindAllStringSubmatch(readDoc(t, page), -1) {
			t.Errorf("%s cites %s:%s; cite the file and its INSECURE label, not a line that will move", page, m[1], m[2])
		}
	}

	cited := map[string]int{}
	for _, r := range tableRows(section(t, readDoc(t, "architecture.md"), "## Every INSECURE marker")) {
		if len(r) < 2 {
			continue
		}
		f := markerTable.FindStringSubmatch(r[0])
		l := markerLine.FindStringSubmatch(strings.Trim(r[1], "`") + ":")
		if f == nil || l == nil {
			t.Errorf("marker row %q: want a `file.go` cell and an `INSECURE(lesson)` cell", r)
			continue
		}
		if _, err := os.Stat(filepath.Join("..", filepath.FromSlash(f[1]))); err != nil {
			t.Errorf("marker row cites %s: %v", f[1], err)
		}
		cited[f[1]+" "+l[1]]++
	}
	found := map[string]int{}
	err = filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || path == filepath.Join("..", "docs")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("..", path)
		for _, m := range markerLine.FindAllStringSubmatch(string(b), -1) {
			found[filepath.ToSlash(rel)+" "+m[1]]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range found {
		if cited[k] != n {
			t.Errorf("architecture.md's marker table has %d rows for %s; the code has %d markers", cited[k], k, n)
		}
	}
	for k, n := range cited {
		if found[k] == 0 {
			t.Errorf("architecture.md's marker table has %d rows for %s; the code has none", n, k)
		}
	}
}

// TestTraceEventFields checks the event table against trace.Event's JSON
// tags, and the verdict table against the trace package's verdicts.
func TestTraceEventFields(t *testing.T) {
	t.Parallel()
	doc := readDoc(t, "protocol.md")
	seq := uint64(0)
	e := trace.Event{Index: 1, Conn: 1, Leg: trace.LegA, Dir: wire.ClientToServer, Type: "data", Size: 1,
		Verdict: trace.Read, Seq: &seq, Recovered: []byte("x"), Note: "n", Raw: []byte("raw")}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, r := range tableRows(section(t, doc, "## Trace events and `mitmlab run --json`")) {
		documented = append(documented, unquote(r[0]))
	}
	if got := slices.Sorted(maps.Keys(m)); !slices.Equal(got, slices.Sorted(slices.Values(documented))) {
		t.Errorf("trace.Event marshals the fields %q; protocol.md documents %q", got, documented)
	}
	if m["recovered"] != "eA==" {
		t.Errorf("recovered marshals as %v, want standard base64 %q", m["recovered"], "eA==")
	}

	var verdicts []string
	for _, r := range tableRows(section(t, doc, "## Verdicts")) {
		verdicts = append(verdicts, unquote(r[0]))
	}
	want := []string{string(trace.Public), string(trace.Substituted), string(trace.Read), string(trace.Opaque), string(trace.Forged), string(trace.Blocked)}
	if !slices.Equal(verdicts, want) {
		t.Errorf("protocol.md's verdicts %q, want %q", verdicts, want)
	}
}

// TestScenarioIndex checks that scenarios/README.md has one row per
// scenario in the catalogue, in its order, naming its attack, and that
// each has a page.
func TestScenarioIndex(t *testing.T) {
	t.Parallel()
	rows := tableRows(readDoc(t, "scenarios/README.md"))
	cat := scenarios.Catalogue()
	if len(rows) != len(cat) {
		t.Errorf("scenarios/README.md has %d rows; the catalogue has %d scenarios", len(rows), len(cat))
	}
	link := regexp.MustCompile(`^\[([a-z0-9-]+)\]\(([a-z0-9-]+\.md)\)$`)
	for i, sc := range cat {
		if i >= len(rows) {
			t.Errorf("no row for %s", sc.Name)
			continue
		}
		r := rows[i]
		m := link.FindStringSubmatch(r[0])
		if m == nil || m[1] != sc.Name || m[2] != sc.Name+".md" {
			t.Errorf("row %d is %q, want a link to %s.md", i, r[0], sc.Name)
		}
		if _, err := os.Stat(filepath.Join("scenarios", sc.Name+".md")); err != nil {
			t.Errorf("no page for %s: %v", sc.Name, err)
		}
		if !strings.HasPrefix(r[2], "`"+string(sc.Attack)+"`") {
			t.Errorf("row %s: attack %q, the catalogue says %s", sc.Name, r[2], sc.Attack)
		}
	}
	for _, a := range attacker.Attacks() {
		if !strings.Contains(readDoc(t, "architecture.md"), "| `"+string(a)+"` |") {
			t.Errorf("architecture.md's attack table has no row for %s", a)
		}
	}
}

var (
	mdLink  = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	heading = regexp.MustCompile("(?m)^#{1,6} (.+)$")
)

// slug is GitHub's anchor for a heading.
func slug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestLinks checks that every relative link in the pages this test owns
// points to a file that exists and, with a #fragment, to a heading in it.
func TestLinks(t *testing.T) {
	t.Parallel()
	pages := []string{"protocol.md", "architecture.md", "scenarios/README.md",
		"scenarios/plaintext-rsa.md", "scenarios/unauth-ecdh.md", "scenarios/pinned-ecdh.md"}
	for _, page := range pages {
		for _, m := range mdLink.FindAllStringSubmatch(readDoc(t, page), -1) {
			target := m[1]
			if strings.Contains(target, "://") {
				continue
			}
			file, frag, _ := strings.Cut(target, "#")
			path := page
			if file != "" {
				path = filepath.Join(filepath.Dir(page), file)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("%s links to %s: %v", page, target, err)
				continue
			}
			if frag == "" {
				continue
			}
			var anchors []string
			for _, h := range heading.FindAllStringSubmatch(string(b), -1) {
				anchors = append(anchors, slug(h[1]))
			}
			if !slices.Contains(anchors, frag) {
				t.Errorf("%s links to %s, but %s has no heading #%s", page, target, path, frag)
			}
		}
	}
}
