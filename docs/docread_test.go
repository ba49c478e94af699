package docs_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// Reading the pages: the tests hold tables and vectors in the markdown to
// the code, so these helpers find them.

func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// section returns the text from the heading line to the next heading of the
// same or a higher level.
func section(t *testing.T, doc, heading string) string {
	t.Helper()
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("no heading %q", heading)
	}
	rest := doc[i+1+len(heading):]
	level := strings.Count(strings.Fields(heading)[0], "#")
	re := regexp.MustCompile(`(?m)^#{1,` + fmt.Sprint(level) + `} `)
	if m := re.FindStringIndex(rest); m != nil {
		rest = rest[:m[0]]
	}
	return rest
}

// tableRows returns the cells of each row of the markdown tables in s,
// header and separator rows left out.
func tableRows(s string) [][]string {
	var rows [][]string
	lines := strings.Split(s, "\n")
	for i, line := range lines {
		if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "|---") {
			continue
		}
		if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "|---") {
			continue // a header
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		rows = append(rows, cells)
	}
	return rows
}

// unquote strips one pair of backquotes.
func unquote(s string) string { return strings.TrimSuffix(strings.TrimPrefix(s, "`"), "`") }
