//go:build race

package scenarios_test

// raceEnabled is true under -race, where every run costs several times
// more: the long random tests draw fewer cases.
const raceEnabled = true
