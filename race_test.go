//go:build unix && race

package mapkv_test

// raceEnabled is true under -race, which makes every child process several
// times slower: the long multi-process tests run fewer rounds.
const raceEnabled = true
