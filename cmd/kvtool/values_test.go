package main

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]time.Duration{
		"0": 0, "5s": 5 * time.Second, "1d": 24 * time.Hour, "1d12h": 36 * time.Hour,
		"1.5d": 36 * time.Hour, "300ms": 300 * time.Millisecond, "-1s": -time.Second, "1h30m": 90 * time.Minute,
	} {
		if got, err := parseDuration(s); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "5", "soon", "1 h", "1x", "d", "1d5", "200000000000d", "--1s"} {
		if d, err := parseDuration(s); err == nil {
			t.Errorf("parseDuration(%q) = %v, want an error", s, d)
		}
	}
}

func TestCheckTTL(t *testing.T) {
	t.Parallel()
	for in, want := range map[time.Duration]time.Duration{
		0: 0, time.Millisecond: time.Millisecond, 1500 * time.Microsecond: 2 * time.Millisecond, time.Hour: time.Hour,
	} {
		if got, err := checkTTL(in); err != nil || got != want {
			t.Errorf("checkTTL(%v) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []time.Duration{-time.Second, time.Nanosecond, 999 * time.Microsecond} {
		if _, err := checkTTL(in); err == nil {
			t.Errorf("checkTTL(%v): no error", in)
		}
	}
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]int64{
		"65536": 65536, "64k": 64 << 10, "64K": 64 << 10, "256MiB": 256 << 20, "1GiB": 1 << 30,
		"1G": 1 << 30, "1GB": 1e9, "1.5GiB": 3 << 29, "10kB": 10000, "2TiB": 2 << 40, "100B": 100,
	} {
		if got, err := parseSize(s); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "k", "64q", "-1M", "1e3", "64 KiB extra", "99999999TiB"} {
		if n, err := parseSize(s); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", s, n)
		}
	}
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	names := commandNames()
	for in, want := range map[string]string{
		"gte": "get", "snap": "snapshot", "lsit": "list", "stats": "stat", "completions": "completion",
		"x": "", "frobnicate": "", "ex": "", "sweeep": "sweep", "mgte": "mget",
	} {
		if got := suggest(in, names); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}
