//go:build race

package kv

// raceEnabled shortens the long tests: the race detector makes them 5-10x slower.
const raceEnabled = true
