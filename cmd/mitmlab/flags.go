package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/mitmlab/mitmlab/internal/suggest"
)

// flagSet is a flag.FlagSet that prints teaching help, accepts flags after
// positional arguments ("run NAME --json"), and turns mistakes into usage
// errors with a suggestion.
type flagSet struct {
	*flag.FlagSet
	usage string // the synopsis and description, printed before the flags
}

func newFlagSet(name, usage string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &flagSet{FlagSet: fs, usage: usage}
}

// parse parses args and returns the positional arguments.
func (fs *flagSet) parse(w io.Writer, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.printHelp(w)
				return nil, errHelp
			}
			return nil, fs.usageError(err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func (fs *flagSet) usageError(err error) error {
	msg := err.Error()
	if bad, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		bad = strings.TrimLeft(bad, "-")
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		hint := ""
		if s := suggest.Closest(bad, names); s != "" {
			hint = fmt.Sprintf("; did you mean --%s?", s)
		}
		return usagef("%s: unknown flag --%s%s; run 'mitmlab %s --help'", fs.Name(), bad, hint, fs.Name())
	}
	return usagef("%s: %s; run 'mitmlab %s --help'", fs.Name(), msg, fs.Name())
}

func (fs *flagSet) printHelp(w io.Writer) {
	fmt.Fprint(w, strings.TrimLeft(fs.usage, "\n"))
	fmt.Fprintln(w, "\nFlags:")
	fs.VisitAll(func(f *flag.Flag) {
		typ, usage := flag.UnquoteUsage(f)
		name := "--" + f.Name
		if typ != "" {
			name += " " + typ
		}
		fmt.Fprintf(w, "  %-29s %s", name, usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" && f.DefValue != "0" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ", ") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

func didYouMean(s string, candidates []string) string {
	if c := suggest.Closest(s, candidates); c != "" {
		return fmt.Sprintf("; did you mean %q?", c)
	}
	return ""
}
