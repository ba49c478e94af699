package export

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/mitmlab/mitmlab/trace"
)

// writeMarkdown writes a heading, the lesson, the transcript table and the
// summary, in GitHub-flavoured Markdown.
func writeMarkdown(w io.Writer, r *Run) error {
	b := bufio.NewWriter(w)
	title := r.name()
	if r.Scenario.Title != "" {
		title += ": " + r.Scenario.Title
	}
	fmt.Fprintf(b, "# %s\n\n", mdText(title))
	if r.Scenario.Lesson != "" {
		for line := range strings.SplitSeq(r.Scenario.Lesson, "\n") {
			fmt.Fprintf(b, "> %s\n", mdText(line))
		}
		fmt.Fprintln(b)
	}
	if line := runLine(r); line != "" {
		fmt.Fprintf(b, "%s\n\n", mdText(line))
	}
	fmt.Fprintln(b, "| # | leg | from → to | type | size | verdict | what the attacker got |")
	fmt.Fprintln(b, "|--:|:---|:---|:---|--:|:---|:---|")
	for _, e := range r.events() {
		if e.Type == trace.TypeProgress {
			fmt.Fprintf(b, "| %d | | | | | | … %s |\n", e.Index, mdText(e.Note))
			continue
		}
		fmt.Fprintf(b, "| %d | %s | %s | %s | %s | %s | %s |\n",
			e.Index, mdText(string(e.Leg)), mdText(Route(e)), mdCode(e.Type), Size(e),
			strings.ToUpper(string(e.Verdict)), mdText(Detail(e)))
	}
	if r.Outcome != nil {
		fmt.Fprintf(b, "\n**%s**\n", mdText(r.Outcome.Summary()))
	}
	return b.Flush()
}

// runLine says who attacked and over what: "attack: double-ecdh ·
// transport: memory".
func runLine(r *Run) string {
	var parts []string
	switch {
	case r.Outcome != nil && r.Outcome.Attack == "":
		parts = append(parts, "no attacker")
	case r.Outcome != nil:
		parts = append(parts, "attack: "+r.Outcome.Attack)
	case r.Scenario.Attack != "":
		parts = append(parts, "attack: "+r.Scenario.Attack)
	}
	if r.Outcome != nil && r.Outcome.Transport != "" {
		parts = append(parts, "transport: "+string(r.Outcome.Transport))
	}
	if r.Scenario.TLS != "" {
		parts = append(parts, "wss:// with "+string(r.Scenario.TLS))
	}
	return strings.Join(parts, " · ")
}

// mdText escapes the characters Markdown would take as markup, so that
// text shows as written. An underscore inside a word (TLS_AES_128) is
// left alone: it cannot start or end emphasis there.
func mdText(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, c := range rs {
		switch c {
		case '_':
			if i == 0 || i == len(rs)-1 || !isWordRune(rs[i-1]) || !isWordRune(rs[i+1]) {
				b.WriteByte('\\')
			}
			b.WriteRune(c)
		case '\\', '`', '*', '[', ']', '<', '>', '|', '~', '#', '!':
			b.WriteByte('\\')
			b.WriteRune(c)
		case '\n', '\r', '\t':
			b.WriteByte(' ')
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// mdCode is s as a code span, with a table cell's pipes escaped.
func mdCode(s string) string {
	if s == "" || strings.ContainsAny(s, "`\n") {
		return mdText(s)
	}
	return "`" + strings.ReplaceAll(s, "|", "\\|") + "`"
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
