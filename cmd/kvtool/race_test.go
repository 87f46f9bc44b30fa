//go:build race

package main

// raceEnabled makes TestMain build kvtool with -race too, so the race
// detector also watches the binary the tests run.
const raceEnabled = true
