package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// completionScript runs mitmlab completion SHELL and writes its output to
// a file.
func completionScript(t *testing.T, shell string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"completion", shell}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("completion %s: exit %d: %s", shell, code, stderr.String())
	}
	path := filepath.Join(t.TempDir(), "mitmlab."+shell)
	if err := os.WriteFile(path, stdout.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCompletionScriptsParse: each shell's script is valid syntax for
// that shell (bash -n, zsh -n, fish --no-execute). bash is required; zsh
// and fish are checked where they are installed.
func TestCompletionScriptsParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		shell    string
		check    []string
		required bool
	}{
		{"bash", []string{"bash", "-n"}, true},
		{"zsh", []string{"zsh", "-n"}, false},
		{"fish", []string{"fish", "--no-execute"}, false},
	} {
		t.Run(tc.shell, func(t *testing.T) {
			t.Parallel()
			path := completionScript(t, tc.shell)
			bin, err := exec.LookPath(tc.check[0])
			if err != nil {
				if tc.required {
					t.Fatalf("%s is needed to check the script: %v", tc.check[0], err)
				}
				t.Skipf("%s is not installed", tc.check[0])
			}
			if out, err := exec.Command(bin, append(tc.check[1:], path)...).CombinedOutput(); err != nil {
				t.Fatalf("%s does not parse the script: %v\n%s", tc.shell, err, out)
			}
		})
	}
}

// TestBashCompletes loads the bash script and asks it for completions,
// as bash does on Tab: commands, scenario names, flags, attack names,
// expectations, schemes, shells.
func TestBashCompletes(t *testing.T) {
	t.Parallel()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	script := completionScript(t, "bash")
	for _, tc := range []struct {
		line string   // the words typed, the last one being completed
		want []string // among the completions
		not  []string // not among them
	}{
		{"mitmlab ", []string{"run", "list", "completion", "--version"}, []string{"unauth-ecdh"}},
		{"mitmlab ru", []string{"run"}, []string{"list"}},
		{"mitmlab run unau", []string{"unauth-ecdh"}, []string{"pinned-ecdh"}},
		{"mitmlab run --exp", []string{"--expect", "--export"}, []string{"--json"}},
		{"mitmlab run pinned-ecdh --attack ", []string{"passive", "impersonate", "terminate-tls"}, []string{"pinned-ecdh"}},
		{"mitmlab run pinned-ecdh --expect r", []string{"read", "refused"}, []string{"clean"}},
		{"mitmlab run --transport ", []string{"memory", "loopback"}, nil},
		{"mitmlab server --scheme pin", []string{"pinned-ecdh"}, nil},
		{"mitmlab completion ", []string{"bash", "zsh", "fish"}, nil},
		{"mitmlab help ", []string{"run", "exam"}, nil},
	} {
		words := strings.Split(tc.line, " ")
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = bashQuote(w)
		}
		prog := "source " + bashQuote(script) + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + ")\nCOMP_CWORD=" +
			strconv.Itoa(len(words)-1) + "\n_mitmlab\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
		cmd := exec.Command(bash, "--norc", "--noprofile", "-c", prog)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", tc.line, err, out)
		}
		got := strings.Fields(string(out))
		for _, w := range tc.want {
			if !slices.Contains(got, w) {
				t.Errorf("%q: %q is not offered; got %q", tc.line, w, got)
			}
		}
		for _, w := range tc.not {
			if slices.Contains(got, w) {
				t.Errorf("%q: %q is offered; got %q", tc.line, w, got)
			}
		}
	}
}

// TestCompletionNeedsAShell: a missing or unknown shell is a usage error.
func TestCompletionNeedsAShell(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"completion"}, {"completion", "powershell"}, {"completion", "bash", "zsh"}} {
		var stdout, stderr bytes.Buffer
		if code := run(args, strings.NewReader(""), &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "bash, zsh, fish") {
			t.Errorf("%q: exit %d, %q", args, code, stderr.String())
		}
	}
}

// TestFishCompletes asks fish for completions with the script loaded, where
// fish is installed.
func TestFishCompletes(t *testing.T) {
	t.Parallel()
	fish, err := exec.LookPath("fish")
	if err != nil {
		t.Skip("fish is not installed")
	}
	script := completionScript(t, "fish")
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"mitmlab ru", []string{"run"}},
		{"mitmlab run unau", []string{"unauth-ecdh"}},
		{"mitmlab run --attack ", []string{"passive", "double-ecdh"}},
		{"mitmlab run --exp", []string{"--expect", "--export"}},
	} {
		out, err := exec.Command(fish, "--no-config", "-c", "source "+bashQuote(script)+"; complete -C "+bashQuote(tc.line)).CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", tc.line, err, out)
		}
		var got []string
		for line := range strings.Lines(string(out)) {
			word, _, _ := strings.Cut(strings.TrimSpace(line), "\t")
			got = append(got, word)
		}
		for _, w := range tc.want {
			if !slices.Contains(got, w) {
				t.Errorf("%q: %q is not offered; got %q", tc.line, w, got)
			}
		}
	}
}
