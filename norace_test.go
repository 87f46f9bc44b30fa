//go:build unix && !race

package mapkv_test

const raceEnabled = false
