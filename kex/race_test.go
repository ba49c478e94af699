//go:build race

package kex_test

// raceEnabled is true under -race, where a discrete logarithm in export40
// takes seconds: the tests then solve in a smaller group only.
const raceEnabled = true
