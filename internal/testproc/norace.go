//go:build !race

package testproc

// RaceEnabled is true in a binary built with -race, which makes every child
// several times slower: long multi-process tests run fewer rounds.
const RaceEnabled = false
