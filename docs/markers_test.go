package docs_test

import (
	"encoding/json"
	"go/ast"
	"go/build"
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
	"time"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

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
	markerTable = regexp.MustCompile("^`((?:[a-z]+/)+[A-Za-z_]+\\.go)`$")
)

// allPages is every markdown page under docs.
func allPages(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	more, err := filepath.Glob("scenarios/*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append(pages, more...)
}

// TestInsecureMarkers checks that architecture.md's table lists every
// INSECURE marker in the code: for each file and lesson, as many rows as
// the code has markers. The docs cite files, never line numbers, so a
// change that moves code does not make them wrong; a citation with a line
// number is an error.
func TestInsecureMarkers(t *testing.T) {
	t.Parallel()
	for _, page := range allPages(t) {
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
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != ".." || d.Name() == "testdata" || path == filepath.Join("..", "docs")) {
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
	for _, k := range slices.Sorted(maps.Keys(found)) {
		if cited[k] != found[k] {
			t.Errorf("architecture.md's marker table has %d rows for %s; the code has %d markers", cited[k], k, found[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(cited)) {
		if found[k] == 0 {
			t.Errorf("architecture.md's marker table has %d rows for %s; the code has none", cited[k], k)
		}
	}
}

// TestTraceEventFields checks the event table against trace.Event's JSON
// tags, and the verdict table against the trace package's verdicts.
func TestTraceEventFields(t *testing.T) {
	t.Parallel()
	doc := readDoc(t, "protocol.md")
	seq := uint64(0)
	e := trace.Event{Index: 1, Conn: 1, Name: "alice", Leg: trace.LegA, Dir: wire.ClientToServer, Type: "data", Size: 1,
		Verdict: trace.Read, Seq: &seq, Recovered: []byte("x"), Note: "n", Time: time.Unix(0, 1), Raw: []byte("raw")}
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
	var want []string
	for _, v := range trace.Verdicts() {
		want = append(want, string(v))
	}
	if !slices.Equal(slices.Sorted(slices.Values(verdicts)), slices.Sorted(slices.Values(want))) {
		t.Errorf("protocol.md's verdicts %q, trace has %q", verdicts, want)
	}
	// The CLI reference and the TUI reference name them too.
	for _, page := range []string{"cli.md", "tui.md"} {
		text := readDoc(t, page)
		for _, v := range want {
			if !strings.Contains(text, strings.ToUpper(v)) && !strings.Contains(text, "`"+v+"`") {
				t.Errorf("%s does not mention the verdict %s", page, v)
			}
		}
	}
}

// TestCatalogueAndAttacks checks that the attack table, the scenario
// catalogue, scenarios/README.md and the pages agree: one row per
// scenario, in the catalogue's order, naming its attack; one page per
// scenario whose first lines name its scheme and attack, and no page
// without a scenario; one row per attack in architecture.md, and every
// attack and scheme named in cli.md.
func TestCatalogueAndAttacks(t *testing.T) {
	t.Parallel()
	rows := tableRows(readDoc(t, "scenarios/README.md"))
	cat := scenarios.Catalogue()
	if len(rows) != len(cat) {
		t.Errorf("scenarios/README.md has %d rows; the catalogue has %d scenarios", len(rows), len(cat))
	}
	link := regexp.MustCompile(`^\[([a-z0-9-]+)\]\(([a-z0-9-]+\.md)\)$`)
	pages := map[string]bool{}
	for i, sc := range cat {
		pages[sc.Name+".md"] = true
		if i < len(rows) {
			r := rows[i]
			m := link.FindStringSubmatch(r[0])
			if m == nil || m[1] != sc.Name || m[2] != sc.Name+".md" {
				t.Errorf("row %d is %q, want a link to %s.md", i, r[0], sc.Name)
			}
			if len(r) < 4 || !strings.HasPrefix(r[2], "`"+sc.Scheme.Name+"`") || !strings.HasPrefix(r[3], "`"+sc.Attack+"`") {
				t.Errorf("row %s: %q, want the scheme `%s` and the attack `%s` in columns 3 and 4", sc.Name, r, sc.Scheme.Name, sc.Attack)
			}
		}
		page, err := os.ReadFile(filepath.Join("scenarios", sc.Name+".md"))
		if err != nil {
			t.Errorf("no page for %s: %v", sc.Name, err)
			continue
		}
		head := string(page[:min(len(page), 1200)])
		if !strings.HasPrefix(head, "# "+sc.Name+": ") {
			t.Errorf("scenarios/%s.md does not start with \"# %s: \"", sc.Name, sc.Name)
		}
		if !strings.Contains(head, "**Scheme:** `"+sc.Scheme.Name+"`") || !strings.Contains(head, "**Attack:** `"+sc.Attack+"`") {
			t.Errorf("scenarios/%s.md's first lines do not say **Scheme:** `%s` and **Attack:** `%s`", sc.Name, sc.Scheme.Name, sc.Attack)
		}
		if tls := string(sc.TLS); tls != "" && !strings.Contains(head, "wss://") {
			t.Errorf("scenarios/%s.md's first lines do not say the victims speak wss://", sc.Name)
		}
	}
	files, err := filepath.Glob("scenarios/*.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if b := filepath.Base(f); b != "README.md" && !pages[b] {
			t.Errorf("%s is the page of no scenario in the catalogue", f)
		}
	}

	arch := readDoc(t, "architecture.md")
	attackRows := tableRows(section(t, arch, "## The attack table"))
	var documented []string
	for _, r := range attackRows {
		documented = append(documented, unquote(r[0]))
	}
	var names []string
	for _, a := range attacker.Attacks() {
		names = append(names, a.Name)
	}
	if !slices.Equal(documented, names) {
		t.Errorf("architecture.md's attack table lists %q; attacker.Attacks() is %q", documented, names)
	}
	cli := readDoc(t, "cli.md")
	for _, a := range names {
		if !strings.Contains(cli, "`"+a+"`") {
			t.Errorf("cli.md does not name the attack %s", a)
		}
	}
	for _, s := range scenarios.Schemes() {
		if !strings.Contains(cli, "`"+s.Name+"`") {
			t.Errorf("cli.md does not name the scheme %s", s.Name)
		}
		if !strings.Contains(arch, "`"+s.Name+"`") {
			t.Errorf("architecture.md does not name the scheme %s", s.Name)
		}
	}
}

// TestSchemesDocumented checks that protocol.md has a section for every
// scheme the catalogue uses, that the overview table lists each with its
// handshake messages in order, and that the record suites named there are
// the schemes' own.
func TestSchemesDocumented(t *testing.T) {
	t.Parallel()
	doc := readDoc(t, "protocol.md")
	rows := tableRows(section(t, doc, "## Overview"))
	byName := map[string][]string{}
	for _, r := range rows {
		byName[unquote(r[0])] = r
	}
	for _, s := range scenarios.Schemes() {
		section(t, doc, "### "+s.Name)
		r, ok := byName[s.Name]
		if !ok {
			t.Errorf("protocol.md's overview has no row for %s", s.Name)
			continue
		}
		var msgs []string
		for _, m := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(r[1], -1) {
			msgs = append(msgs, m[1])
		}
		var want []string
		for _, m := range s.Messages {
			want = append(want, string(m.MessageType()))
		}
		if !slices.Equal(msgs, want) {
			t.Errorf("protocol.md's overview gives %s the messages %q; the scheme has %q", s.Name, msgs, want)
		}
		suite := string(s.Suite)
		if suite == "" {
			suite = string(channel.AES256GCM)
		}
		records := map[string]string{"aes-256-gcm": "AES-256-GCM", "null": "null: plaintext",
			"aes-256-ctr": "AES-256-CTR, no MAC", "aes-256-gcm-random-nonce": "AES-256-GCM, random nonces, no sequence check"}[suite]
		if r[len(r)-1] != records {
			t.Errorf("protocol.md's overview says %s's records are %q; its suite is %s", s.Name, r[len(r)-1], suite)
		}
	}
	if !strings.Contains(doc, "`"+wire.Subprotocol("<scheme>")+"`") {
		t.Errorf("protocol.md does not give the subprotocol %s", wire.Subprotocol("<scheme>"))
	}
}

// TestMessageTables holds protocol.md's message tables to the lab's
// codecs: the same fields, the same optional ones, and the lengths they
// give, probed at each bound and one past it.
func TestMessageTables(t *testing.T) {
	t.Parallel()
	doc := readDoc(t, "protocol.md")
	codecs := map[wire.Type]*wire.Codec{}
	msgs := map[wire.Type]wire.Message{}
	for _, s := range scenarios.Schemes() {
		for _, m := range append(slices.Clone(s.Messages), &wire.Data{}, &wire.End{}) {
			codecs[m.MessageType()] = s.Codec()
			msgs[m.MessageType()] = m
		}
	}
	for typ, m := range msgs {
		rows := tableRows(section(t, doc, "### `"+string(typ)+"`"))
		var fields []string
		for _, r := range rows {
			if len(r) != 5 {
				t.Errorf("%s: row %q has %d cells, want 5", typ, r, len(r))
				continue
			}
			name := unquote(r[0])
			fields = append(fields, name)
			var f *wire.Field
			for _, ff := range m.Fields() {
				if ff.Name == name {
					f = &ff
				}
			}
			if f == nil {
				t.Errorf("%s: protocol.md lists a field %s the message does not have", typ, name)
				continue
			}
			if optional := r[3] == "no"; optional != f.IsOptional() {
				t.Errorf("%s.%s: protocol.md says required %q; optional in the code: %v", typ, name, r[3], f.IsOptional())
			}
			lo, hi, ok := bounds(r[2])
			if !ok {
				continue // a number: no length
			}
			for _, n := range []int{lo - 1, lo, hi, hi + 1} {
				if n < 0 || (n == 0 && r[1] != "base64") {
					continue
				}
				raw := probe(t, typ, name, n)
				if len(raw) > wire.MaxMessageSize {
					continue // the field's bound is past the message's
				}
				_, err := codecs[typ].Decode(raw)
				accept := n >= lo && n <= hi
				if n == 0 && f.IsOptional() {
					accept = true // empty means absent
				}
				if (err == nil) != accept {
					t.Errorf("%s.%s with %d bytes or items: protocol.md says %q, the lab says %v", typ, name, n, r[2], err)
				}
			}
		}
		var want []string
		for _, f := range m.Fields() {
			want = append(want, f.Name)
		}
		if !slices.Equal(fields, want) {
			t.Errorf("protocol.md lists %s's fields as %q; the code has %q, in that order", typ, fields, want)
		}
	}
}

// bounds reads a "bytes" cell: "32", "1 to 2,048", "0 to 16 items, each 1 to 64".
func bounds(cell string) (lo, hi int, ok bool) {
	cell = strings.ReplaceAll(cell, ",", "")
	f := strings.Fields(cell)
	switch {
	case len(f) == 1:
		n, err := strconv.Atoi(f[0])
		return n, n, err == nil
	case len(f) >= 3 && f[1] == "to":
		a, err1 := strconv.Atoi(f[0])
		b, err2 := strconv.Atoi(f[2])
		return a, b, err1 == nil && err2 == nil
	}
	return 0, 0, false
}

// probe builds a message of type typ, valid but for field, which gets n
// bytes (or n items).
func probe(t *testing.T, typ wire.Type, field string, n int) []byte {
	t.Helper()
	var ms []member
	for _, s := range messageSpecs[string(typ)] {
		size := s.min
		if s.name == field {
			size = n
		} else if s.optional {
			continue
		}
		switch s.kind {
		case kBytes:
			ms = append(ms, bin(s.name, make([]byte, size)))
		case kText:
			ms = append(ms, str(s.name, strings.Repeat("a", size)))
		case kUint:
			ms = append(ms, num(s.name, 0))
		case kList:
			ms = append(ms, list(s.name, slices.Repeat([]string{"pinned-ecdh"}, size)...))
		}
	}
	return encode(string(typ), ms...)
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

// TestLinks checks that every relative link in every page under docs
// points to a file that exists and, with a #fragment, to a heading in it.
func TestLinks(t *testing.T) {
	t.Parallel()
	for _, page := range allPages(t) {
		text := readDoc(t, page)
		// Links inside code blocks are not links.
		text = regexp.MustCompile("(?s)```.*?```").ReplaceAllString(text, "")
		for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, frag, _ := strings.Cut(target, "#")
			path := page
			if file != "" {
				path = filepath.Join(filepath.Dir(page), file)
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Errorf("%s links to %s: %v", page, target, err)
				continue
			}
			if frag == "" || info.IsDir() {
				continue
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("%s links to %s: %v", page, target, err)
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

// TestPackageTable checks architecture.md's package table against the
// code: one row per package, and for each the lab packages its non-test
// files import.
func TestPackageTable(t *testing.T) {
	t.Parallel()
	const module = "github.com/mitmlab/mitmlab/"
	rows := tableRows(section(t, readDoc(t, "architecture.md"), "## Packages"))
	documented := map[string]bool{}
	for _, r := range rows {
		if len(r) != 3 {
			t.Errorf("row %q has %d cells, want 3", r, len(r))
			continue
		}
		dir := strings.TrimSuffix(unquote(r[0]), "/")
		documented[dir] = true
		var want []string
		switch r[2] {
		case "none", "test files only":
		default:
			for _, c := range strings.Split(r[2], ", ") {
				want = append(want, unquote(c))
			}
		}
		files, err := filepath.Glob(filepath.Join("..", filepath.FromSlash(dir), "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		nonTest := 0
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			nonTest++
			file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range file.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if rest, ok := strings.CutPrefix(p, module); ok {
					got[rest] = true
				}
			}
		}
		if (nonTest == 0) != (r[2] == "test files only") {
			t.Errorf("%s: %d non-test files, but the table says %q", dir, nonTest, r[2])
		}
		if g := slices.Sorted(maps.Keys(got)); !slices.Equal(g, slices.Sorted(slices.Values(want))) {
			t.Errorf("architecture.md says %s imports %q; it imports %q", dir, want, g)
		}
	}
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != ".." && (strings.HasPrefix(name, ".") || name == "testdata") {
			return filepath.SkipDir
		}
		gofiles, _ := filepath.Glob(filepath.Join(path, "*.go"))
		rel, _ := filepath.Rel("..", path)
		if p, err := build.ImportDir(path, 0); err != nil && len(p.GoFiles)+len(p.TestGoFiles)+len(p.XTestGoFiles) == 0 {
			return nil // every file behind a build tag, as an exercise's (exercises/kit.go): no package of the lab's build
		}
		if len(gofiles) > 0 && !documented[filepath.ToSlash(rel)] {
			t.Errorf("architecture.md's package table has no row for %s", filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

var fileCite = regexp.MustCompile("`((?:[a-z]+/)+[a-z_]+\\.(?:go|pem|txtar|golden))`")

// TestFileCitations checks that every file the pages cite in backquotes,
// such as `kex/pinned.go`, exists.
func TestFileCitations(t *testing.T) {
	t.Parallel()
	for _, page := range allPages(t) {
		for _, m := range fileCite.FindAllStringSubmatch(readDoc(t, page), -1) {
			if _, err := os.Stat(filepath.Join("..", filepath.FromSlash(m[1]))); err != nil {
				t.Errorf("%s cites %s, which does not exist", page, m[1])
			}
		}
	}
}

// TestDocImplImportsNoLab: the second implementation is written from
// protocol.md alone, so it may import none of the lab's packages.
func TestDocImplImportsNoLab(t *testing.T) {
	t.Parallel()
	f, err := parser.ParseFile(token.NewFileSet(), "docimpl_test.go", nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if strings.HasPrefix(p, "github.com/mitmlab/") {
			t.Errorf("docimpl_test.go imports %s; it must rest on protocol.md alone", p)
		}
	}
}
