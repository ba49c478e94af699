package scenarios_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/scenarios"
)

// TestCatalogue: every entry is complete, its scheme can run, its attack
// is in the table and applies, and no lesson gives the answer away.
func TestCatalogue(t *testing.T) {
	t.Parallel()
	topics := []string{scenarios.TopicCore, scenarios.TopicNearMiss, scenarios.TopicTLS, scenarios.TopicIntegrity, scenarios.TopicBrowser,
		scenarios.TopicForwardSecrecy, scenarios.TopicSAS, scenarios.TopicTOFU,
		scenarios.TopicGroups, scenarios.TopicFreshness, scenarios.TopicMisbinding}
	seen := map[string]bool{}
	for _, sc := range scenarios.Catalogue() {
		if seen[sc.Name] {
			t.Errorf("%s: listed twice", sc.Name)
		}
		seen[sc.Name] = true
		if sc.Title == "" || sc.Lesson == "" || sc.Expect == "" || !slices.Contains(topics, sc.Topic) {
			t.Errorf("%s: incomplete entry %+v", sc.Name, sc)
		}
		if err := sc.Scheme.Check(); err != nil {
			t.Errorf("%s: %v", sc.Name, err)
		}
		if err := sc.CheckAttack(sc.Attack); err != nil {
			t.Errorf("%s: %v", sc.Name, err)
		}
		if strings.Contains(sc.Lesson, "the attacker reads") || strings.Contains(sc.Lesson, "refuses the server") {
			t.Errorf("%s: the lesson gives the outcome away: %q", sc.Name, sc.Lesson)
		}
		if !slices.ContainsFunc(sc.Applicable(), func(a *attacker.Attack) bool { return a.Name == sc.Attack }) {
			t.Errorf("%s: Applicable() does not list its own attack %s", sc.Name, sc.Attack)
		}
	}
	var names []string
	for _, s := range scenarios.Schemes() {
		if slices.Contains(names, s.Name) {
			t.Errorf("Schemes() lists %s twice", s.Name)
		}
		names = append(names, s.Name)
		if got, ok := scenarios.Scheme(s.Name); !ok || got.Name != s.Name {
			t.Errorf("Scheme(%q) = %v, %v", s.Name, got, ok)
		}
	}
	for _, want := range []string{"plaintext-rsa", "unauth-ecdh", "pinned-ecdh", "static-rsa", "plain"} {
		if !slices.Contains(names, want) {
			t.Errorf("Schemes() lacks %s", want)
		}
	}
}

// TestCatalogueJSON is what `mitmlab list --json` prints per scenario.
func TestCatalogueJSON(t *testing.T) {
	t.Parallel()
	sc, err := scenarios.Lookup("wss-pinned")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(sc)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"name":"wss-pinned"`, `"scheme":"plain"`, `"attack":"mis-issued-cert"`, `"tls":"ca+pin"`, `"topic":"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
}

// TestCheckAttack names what can run instead, and suggests for a typo.
func TestCheckAttack(t *testing.T) {
	t.Parallel()
	sc, _ := scenarios.Lookup("pinned-ecdh")
	for name, want := range map[string]string{
		"swap-rsa-key":  "does not apply to pinned-ecdh: it needs rsa_public_key.spki",
		"impersonat":    `did you mean "impersonate"`,
		"terminate-tls": "TLS",
	} {
		err := sc.CheckAttack(name)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "pinned-ecdh can run") {
			t.Errorf("CheckAttack(%q) = %v, want it to say %q and what can run", name, err, want)
		}
	}
}
