package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/exercises"
	"github.com/mitmlab/mitmlab/scenarios"
)

// runCompletion prints a completion script for bash, zsh or fish.
func runCompletion(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("completion", `
Usage: mitmlab completion bash|zsh|fish

Prints a script that completes mitmlab's commands, flags, scenario names,
attack names, schemes and flag values in that shell. Load it for this
session, or install it:

  bash:  source <(mitmlab completion bash)
         mitmlab completion bash > ~/.local/share/bash-completion/completions/mitmlab
  zsh:   source <(mitmlab completion zsh)
         mitmlab completion zsh > "${fpath[1]}/_mitmlab"
  fish:  mitmlab completion fish | source
         mitmlab completion fish > ~/.config/fish/completions/mitmlab.fish
`)
	pos, err := fs.parse(e.stdout, args)
	if err != nil {
		return err
	}
	shells := []string{"bash", "zsh", "fish"}
	if len(pos) != 1 || !slices.Contains(shells, pos[0]) {
		return usagef("completion needs one shell: %s", strings.Join(shells, ", "))
	}
	spec, err := completionSpec(ctx)
	if err != nil {
		return err
	}
	switch pos[0] {
	case "bash":
		return writeBashCompletion(e.stdout, spec)
	case "zsh":
		return writeZshCompletion(e.stdout, spec)
	}
	return writeFishCompletion(e.stdout, spec)
}

// completionFlag is one flag of one command.
type completionFlag struct {
	name   string
	value  bool     // it takes a value
	about  string   // its usage, first clause
	values []string // the values to offer, if it has a fixed set
	files  bool     // its value is a file
	repeat bool     // it can be given several times
}

// completionCommand is one command, its flags and what its positional
// argument can be.
type completionCommand struct {
	name  string
	about string
	flags []completionFlag
	args  []string
}

// completionSpec describes every command. The flags are read from each
// command's own --help, so the completions cannot drift from the flag
// sets; the values come from the lab's registries.
func completionSpec(ctx context.Context) ([]completionCommand, error) {
	var schemes []string
	for _, s := range scenarios.Schemes() {
		schemes = append(schemes, s.Name)
	}
	var transports []string
	for _, t := range scenarios.Transports() {
		transports = append(transports, string(t))
	}
	values := map[string][]string{
		"scheme":    schemes,
		"attack":    attacker.Names(),
		"transport": transports,
		"expect":    expectationNames(),
	}
	files := []string{"export", "key", "cert", "rsa-key"}
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	args := map[string][]string{
		"tui":        scenarios.Names(),
		"run":        scenarios.Names(),
		"help":       names,
		"completion": {"bash", "zsh", "fish"},
		// The subcommands, then the exercise names they take.
		"exercise": append([]string{"list", "check", "hint", "watch", "solve", "reset"}, exercises.Names()...),
	}
	var out []completionCommand
	for _, c := range commands() {
		var help bytes.Buffer
		if err := c.run(ctx, &env{stdin: strings.NewReader(""), stdout: &help, stderr: io.Discard}, []string{"--help"}); err != nil && !errors.Is(err, errHelp) {
			return nil, fmt.Errorf("completion: %s --help: %w", c.name, err)
		}
		cc := completionCommand{name: c.name, about: c.summary, args: args[c.name]}
		for _, f := range helpFlags(help.String()) {
			f.values = values[f.name]
			f.files = slices.Contains(files, f.name)
			cc.flags = append(cc.flags, f)
		}
		out = append(out, cc)
	}
	return out, nil
}

// helpFlagLine is a flag's line in a command's help, as flagSet.printHelp
// writes it: "  --name TYPE    usage".
var helpFlagLine = regexp.MustCompile(`^  --([a-z0-9-]+)(?: (\S+))? +(.*)$`)

// helpAside is a parenthesis in a flag's usage, left out of the short
// description a shell shows.
var helpAside = regexp.MustCompile(` *\([^)]*\)`)

// helpFlags reads the flags from a command's help.
func helpFlags(help string) []completionFlag {
	_, flags, ok := strings.Cut(help, "\nFlags:\n")
	if !ok {
		return nil
	}
	var out []completionFlag
	for line := range strings.Lines(flags) {
		m := helpFlagLine.FindStringSubmatch(strings.TrimRight(line, "\n"))
		if m == nil {
			continue
		}
		about, _, _ := strings.Cut(m[3], "; ")
		about = strings.TrimSpace(helpAside.ReplaceAllString(about, ""))
		out = append(out, completionFlag{name: m[1], value: m[2] != "", about: about, repeat: strings.Contains(m[3], "repeat")})
	}
	return out
}

// topFlags are the flags handled before any command.
func topFlags() []completionFlag {
	return []completionFlag{
		{name: "help", about: "show help"},
		{name: "version", about: "print the version and exit"},
	}
}

// bashQuote quotes s for bash, in single quotes.
func bashQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func writeBashCompletion(w io.Writer, spec []completionCommand) error {
	var b strings.Builder
	b.WriteString(`# bash completion for mitmlab; generated by 'mitmlab completion bash'.
# Load it with: source <(mitmlab completion bash)
_mitmlab() {
    local cur prev cmd i words
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev=""
    if ((COMP_CWORD > 0)); then
        prev="${COMP_WORDS[COMP_CWORD-1]}"
    fi
    cmd=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
        -*) ;;
        *) cmd="${COMP_WORDS[i]}"; break ;;
        esac
    done
    if [[ -z "$cmd" ]]; then
`)
	var top []string
	for _, c := range spec {
		top = append(top, c.name)
	}
	for _, f := range topFlags() {
		top = append(top, "--"+f.name)
	}
	fmt.Fprintf(&b, "        COMPREPLY=($(compgen -W %s -- \"$cur\"))\n        return\n    fi\n", bashQuote(strings.Join(top, " ")))
	b.WriteString("    case \"$cmd $prev\" in\n")
	for _, c := range spec {
		for _, f := range c.flags {
			if !f.value {
				continue
			}
			pattern := fmt.Sprintf("%q", c.name+" --"+f.name)
			switch {
			case f.files:
				fmt.Fprintf(&b, "    %s)\n        compopt -o filenames 2>/dev/null\n        COMPREPLY=($(compgen -f -- \"$cur\"))\n        return ;;\n", pattern)
			case len(f.values) > 0:
				fmt.Fprintf(&b, "    %s)\n        COMPREPLY=($(compgen -W %s -- \"$cur\"))\n        return ;;\n", pattern, bashQuote(strings.Join(f.values, " ")))
			default:
				fmt.Fprintf(&b, "    %s)\n        return ;;\n", pattern)
			}
		}
	}
	b.WriteString("    esac\n    case \"$cmd\" in\n")
	for _, c := range spec {
		var ws []string
		for _, f := range c.flags {
			ws = append(ws, "--"+f.name)
		}
		ws = append(append(ws, "--help"), c.args...)
		fmt.Fprintf(&b, "    %s) words=%s ;;\n", c.name, bashQuote(strings.Join(ws, " ")))
	}
	b.WriteString(`    *) words="" ;;
    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _mitmlab mitmlab
`)
	_, err := io.WriteString(w, b.String())
	return err
}

// zshDescription escapes a description for _arguments and _describe.
func zshDescription(s string) string {
	return strings.NewReplacer("'", "'\\''", "[", "\\[", "]", "\\]", ":", "\\:", "\\", "\\\\").Replace(s)
}

func writeZshCompletion(w io.Writer, spec []completionCommand) error {
	var b strings.Builder
	b.WriteString(`#compdef mitmlab
# zsh completion for mitmlab; generated by 'mitmlab completion zsh'.
# Load it with: source <(mitmlab completion zsh)
_mitmlab() {
    local -a commands
    commands=(
`)
	for _, c := range spec {
		fmt.Fprintf(&b, "        '%s:%s'\n", c.name, zshDescription(c.about))
	}
	b.WriteString("    )\n    if (( CURRENT == 2 )); then\n")
	b.WriteString("        _describe -t commands 'mitmlab command' commands\n")
	for _, f := range topFlags() {
		fmt.Fprintf(&b, "        compadd -- --%s\n", f.name)
	}
	b.WriteString("        return\n    fi\n    shift words\n    (( CURRENT-- ))\n    case $words[1] in\n")
	for _, c := range spec {
		fmt.Fprintf(&b, "    %s)\n        _arguments -s \\\n", c.name)
		for _, f := range c.flags {
			spec := "--" + f.name + "[" + zshDescription(f.about) + "]"
			if f.repeat {
				spec = "*" + spec
			}
			switch {
			case f.files:
				spec += ":file:_files"
			case len(f.values) > 0:
				spec += ":" + f.name + ":(" + strings.Join(f.values, " ") + ")"
			case f.value:
				spec += ":" + f.name + ": "
			}
			fmt.Fprintf(&b, "            '%s' \\\n", spec)
		}
		fmt.Fprintf(&b, "            '--help[show help]'")
		if len(c.args) > 0 {
			fmt.Fprintf(&b, " \\\n            '1:argument:(%s)'", strings.Join(c.args, " "))
		}
		b.WriteString("\n        ;;\n")
	}
	b.WriteString(`    esac
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _mitmlab "$@"
else
    compdef _mitmlab mitmlab
fi
`)
	_, err := io.WriteString(w, b.String())
	return err
}

// fishQuote quotes s for fish, in single quotes.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer("\\", "\\\\", "'", "\\'").Replace(s) + "'"
}

func writeFishCompletion(w io.Writer, spec []completionCommand) error {
	var b strings.Builder
	b.WriteString("# fish completion for mitmlab; generated by 'mitmlab completion fish'.\n# Load it with: mitmlab completion fish | source\ncomplete -c mitmlab -f\n")
	for _, f := range topFlags() {
		fmt.Fprintf(&b, "complete -c mitmlab -n __fish_use_subcommand -l %s -d %s\n", f.name, fishQuote(f.about))
	}
	for _, c := range spec {
		fmt.Fprintf(&b, "complete -c mitmlab -n __fish_use_subcommand -a %s -d %s\n", c.name, fishQuote(c.about))
		cond := fishQuote("__fish_seen_subcommand_from " + c.name)
		for _, f := range c.flags {
			line := fmt.Sprintf("complete -c mitmlab -n %s -l %s", cond, f.name)
			switch {
			case f.files:
				line += " -r -F"
			case len(f.values) > 0:
				line += " -x -a " + fishQuote(strings.Join(f.values, " "))
			case f.value:
				line += " -x"
			}
			fmt.Fprintf(&b, "%s -d %s\n", line, fishQuote(f.about))
		}
		if len(c.args) > 0 {
			fmt.Fprintf(&b, "complete -c mitmlab -n %s -a %s\n", cond, fishQuote(strings.Join(c.args, " ")))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
