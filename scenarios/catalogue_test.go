package scenarios_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/scenarios"
)

func TestCatalogue(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, sc := range scenarios.Catalogue() {
		if seen[sc.Name] {
			t.Errorf("scenario %q listed twice", sc.Name)
		}
		seen[sc.Name] = true
		if sc.Title == "" || sc.Lesson == "" || sc.Expect == "" || sc.Scheme == "" {
			t.Errorf("%s: Title, Lesson, Expect and Scheme must all be set: %+v", sc.Name, sc)
		}
		if sc.Attack == "" {
			t.Errorf("%s: no attack", sc.Name)
		}
		if labWire(sc) {
			if err := sc.Attack.Check(sc.Scheme); err != nil {
				t.Errorf("%s: its own attack does not apply: %v", sc.Name, err)
			}
		}
		got, err := scenarios.Lookup(sc.Name)
		if err != nil || got.Name != sc.Name {
			t.Errorf("Lookup(%q) = %q, %v", sc.Name, got.Name, err)
		}
	}
	for _, core := range []string{"plaintext-rsa", "unauth-ecdh", "pinned-ecdh"} {
		if !seen[core] {
			t.Errorf("core scenario %q missing from the catalogue", core)
		}
	}
	if got, want := len(scenarios.Names()), len(scenarios.Catalogue()); got != want {
		t.Errorf("Names() has %d names for %d scenarios", got, want)
	}
}

func TestUnknownScenario(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, typed, suggestion string
	}{
		{"a missing last letter is suggested", "pinned-ecd", "pinned-ecdh"},
		{"a swapped pair is suggested", "unatuh-ecdh", "unauth-ecdh"},
		{"nonsense gets no suggestion", "quantum-teleport", ""},
		{"empty name gets no suggestion", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o, err := scenarios.Run(t.Context(), tc.typed, nil)
			var unknown *scenarios.UnknownScenarioError
			if !errors.As(err, &unknown) {
				t.Fatalf("Run(%q) = %v, %v; want *UnknownScenarioError", tc.typed, o, err)
			}
			if o != nil {
				t.Errorf("Run(%q) returned an Outcome with its error", tc.typed)
			}
			if unknown.Name != tc.typed || unknown.Suggestion != tc.suggestion {
				t.Errorf("error = {Name %q, Suggestion %q}, want {%q, %q}", unknown.Name, unknown.Suggestion, tc.typed, tc.suggestion)
			}
			if tc.suggestion != "" && !strings.Contains(err.Error(), `did you mean "`+tc.suggestion+`"?`) {
				t.Errorf("error %q does not suggest %q", err, tc.suggestion)
			}
			if _, err := scenarios.Lookup(tc.typed); !errors.As(err, &unknown) {
				t.Errorf("Lookup(%q) = %v, want *UnknownScenarioError", tc.typed, err)
			}
		})
	}
}

func TestRunRefusesWhatCannotRun(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		scenario string
		opts     scenarios.Options
		mention  string
	}{
		{"pinned-ecdh/an RSA key swap does not apply", "pinned-ecdh", scenarios.Options{Attack: attacker.SwapRSAKey}, "does not apply"},
		{"plaintext-rsa/impersonation does not apply", "plaintext-rsa", scenarios.Options{Attack: attacker.Impersonate}, "does not apply"},
		{"unauth-ecdh/an unknown attack", "unauth-ecdh", scenarios.Options{Attack: "telepathy"}, "unknown attack"},
		{"unauth-ecdh/an unknown transport", "unauth-ecdh", scenarios.Options{Transport: "carrier-pigeon"}, "unknown transport"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o, err := scenarios.Run(t.Context(), tc.scenario, &tc.opts)
			if err == nil {
				t.Fatalf("Run = %s, want an error", o.Summary())
			}
			if o != nil {
				t.Errorf("Run returned an Outcome with its error %v", err)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q does not say %q", err, tc.mention)
			}
		})
	}
}
