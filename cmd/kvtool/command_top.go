package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mapkv/mapkv/kv"
)

func newTopCommand() *command {
	c := newCommand("top", "FILE", "show keys, hit ratio, ops/s and evictions/s live", 1, 1)
	c.reads = true
	c.help = `
Top prints one line of FILE's statistics every --interval (default 1s), like
redis-cli --stat: live keys, live bytes, file size, the hit ratio, operations
per second (commits plus lookups) and evictions per second over the last
interval, until interrupted (SIGINT or SIGTERM, exit status 0) or it has
printed --count lines. The first line comes at once; its rates are "-".

On a terminal it repeats a header every 20 lines. Otherwise it prints plain
lines of name=value pairs, one per interval, for scripts and logs:

  time=2025-01-02T15:04:05Z keys=300 live_bytes=16768 file_bytes=1048576 hit_ratio=- ops_per_s=120.0 evictions_per_s=0.0

With --json each line is a JSON object with the same fields (null for "-").

The hit ratio and the lookups in ops/s count every process's Gets on a cache;
kv counts Gets in cache mode only, so for a store the hit ratio is "-" and
ops/s counts commits alone. Top opens FILE read-only and takes no lock.
`
	interval := time.Second
	c.flags.Var(durationValue{&interval}, "interval", "print a line every `duration` (default 1s)")
	count := c.flags.Int("count", 0, "stop after `N` lines (0: never)")
	asJSON := c.flags.Bool("json", false, "print JSON lines")
	c.run = func(e *env, args []string) error {
		switch {
		case interval <= 0:
			return usagef("--interval must be positive")
		case *count < 0:
			return usagef("--count must not be negative")
		}
		return runTop(e, args[0], interval, *count, *asJSON)
	}
	return c
}

// topLine is one sample of top: --json's fields, and the plain lines' names.
type topLine struct {
	Time          string   `json:"time"`
	Keys          int64    `json:"keys"`
	LiveBytes     int64    `json:"live_bytes"`
	FileBytes     int64    `json:"file_bytes"`
	HitRatio      *float64 `json:"hit_ratio"`
	OpsPerS       *float64 `json:"ops_per_s"`
	EvictionsPerS *float64 `json:"evictions_per_s"`
}

func runTop(e *env, path string, interval time.Duration, count int, asJSON bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	db, err := openRead(path, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	var prev *kv.Stats
	var prevAt time.Time
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for n := 0; count == 0 || n < count; n++ {
		if n > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
		}
		s := db.Stats()
		if s.FileSize == 0 {
			// The zero Stats: the file can no longer be read (truncated).
			return fail(path, db, fmt.Errorf("the file can no longer be read (was it truncated?): %w", kv.ErrCorrupt))
		}
		now := time.Now()
		l := topLine{Time: now.UTC().Format(time.RFC3339), Keys: s.Keys, LiveBytes: s.LiveBytes, FileBytes: s.FileSize}
		if prev != nil {
			dt := now.Sub(prevAt).Seconds()
			// Hits and Misses are 0 for a store: ops are its commits.
			ops := float64(s.Commits-prev.Commits) + float64(s.Hits+s.Misses-prev.Hits-prev.Misses)
			if r, ok := hitRatio(s.Hits-prev.Hits, s.Misses-prev.Misses); ok {
				l.HitRatio = &r
			}
			ops /= dt
			ev := float64(s.Evictions-prev.Evictions) / dt
			l.OpsPerS, l.EvictionsPerS = &ops, &ev
		}
		prev, prevAt = &s, now
		switch {
		case asJSON:
			err = writeJSON(e.stdout, l)
		case e.stdoutTTY:
			err = l.writeRow(e.stdout, n)
		default:
			err = l.writePlain(e.stdout)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// orDash formats *f with format, or "-" for nil.
func orDash(format string, f *float64) string {
	if f == nil {
		return "-"
	}
	return fmt.Sprintf(format, *f)
}

// writeRow writes l as a terminal row, with the header first and every 20
// rows, as redis-cli --stat does.
func (l *topLine) writeRow(w io.Writer, n int) error {
	if n%20 == 0 {
		if _, err := fmt.Fprintf(w, "%-10s %-12s %-12s %-9s %-10s %-10s\n", "keys", "live", "file", "hit%", "ops/s", "evict/s"); err != nil {
			return err
		}
	}
	hit := "-"
	if l.HitRatio != nil {
		hit = fmt.Sprintf("%.1f%%", *l.HitRatio*100)
	}
	_, err := fmt.Fprintf(w, "%-10d %-12s %-12s %-9s %-10s %-10s\n", l.Keys, formatSize(l.LiveBytes), formatSize(l.FileBytes),
		hit, orDash("%.1f", l.OpsPerS), orDash("%.1f", l.EvictionsPerS))
	return err
}

// writePlain writes l as one line of name=value pairs.
func (l *topLine) writePlain(w io.Writer) error {
	_, err := fmt.Fprintf(w, "time=%s keys=%d live_bytes=%d file_bytes=%d hit_ratio=%s ops_per_s=%s evictions_per_s=%s\n",
		l.Time, l.Keys, l.LiveBytes, l.FileBytes, orDash("%.4f", l.HitRatio), orDash("%.1f", l.OpsPerS), orDash("%.1f", l.EvictionsPerS))
	return err
}
