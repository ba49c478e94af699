//go:build race

package docs_test

// raceEnabled is true under -race, which makes the attacks that compute
// for seconds (attacker.Attack.Long) many times slower.
const raceEnabled = true
