package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/mapkv/mapkv/kv"
)

func newStatCommand() *command {
	c := newCommand("stat", "FILE...", "show keys, mode, space, counters and locks", 1, -1)
	c.reads = true
	c.help = `
Stat shows what FILE holds and how it is used: its mode (a cache that evicts
at its max size, or a store that fills up), live keys, expired ones not yet
swept and GetOrCompute leases, file and page sizes, used, free and live
bytes, the slot table's size, load and longest probe, how often the file grew
and the table was rehashed, commits, evictions and reclaimed expired keys, a
cache's hits, misses and hit ratio over every process, which process holds
the writer lock, if any, and whether a repair is pending. A pending repair
means a writer was killed after it committed; the next writer finishes that
write. It is legal, not damage.

--json prints the same as one JSON object per FILE; --prometheus prints
every FILE in the Prometheus text exposition format, with a "path" label, for
node_exporter's textfile collector or a sidecar:

  kvtool stat --prometheus /dev/shm/*.cache > /var/lib/node_exporter/mapkv.prom.$$ &&
    mv /var/lib/node_exporter/mapkv.prom.$$ /var/lib/node_exporter/mapkv.prom

docs/cli.md lists the fields and the metrics.
`
	asJSON := c.flags.Bool("json", false, "print one JSON object per FILE")
	prom := c.flags.Bool("prometheus", false, "print the Prometheus text exposition format")
	c.run = func(e *env, args []string) error {
		if *asJSON && *prom {
			return usagef("--json and --prometheus do not go together: choose one")
		}
		var all []namedStats
		for _, path := range args {
			db, err := openRead(path, nil)
			if err != nil {
				return err
			}
			s := db.Stats()
			if err := db.Close(); err != nil {
				return fail(path, nil, err)
			}
			all = append(all, namedStats{path, s})
		}
		switch {
		case *prom:
			return writePrometheus(e.stdout, all)
		case *asJSON:
			for _, n := range all {
				if err := writeStatJSON(e.stdout, n); err != nil {
					return err
				}
			}
			return nil
		}
		for i, n := range all {
			if i > 0 {
				fmt.Fprintln(e.stdout)
			}
			if err := printStats(e.stdout, n); err != nil {
				return err
			}
		}
		return nil
	}
	return c
}

// namedStats is the statistics of the file at path.
type namedStats struct {
	path string
	s    kv.Stats
}

// statJSON is stat's --json output. Its field names are part of kvtool's
// interface (docs/cli.md), independent of kv.Stats's Go names. hits and
// misses are null for a store (kv counts Gets in cache mode only), and
// hit_ratio also before the first lookup.
type statJSON struct {
	File          string   `json:"file"`
	Mode          string   `json:"mode"`
	Keys          int64    `json:"keys"`
	ExpiredKeys   int64    `json:"expired_keys"`
	Leases        int64    `json:"leases"`
	FileSize      int64    `json:"file_size"`
	MaxSize       int64    `json:"max_size"`
	PageSize      int      `json:"page_size"`
	Pages         int64    `json:"pages"`
	FreePages     int64    `json:"free_pages"`
	UsedBytes     int64    `json:"used_bytes"`
	FreeBytes     int64    `json:"free_bytes"`
	LiveBytes     int64    `json:"live_bytes"`
	Slots         int64    `json:"slots"`
	SlotLoad      float64  `json:"slot_load"`
	MaxProbe      int64    `json:"max_probe"`
	Growths       int64    `json:"growths"`
	Rehashes      int64    `json:"rehashes"`
	Commits       int64    `json:"commits"`
	Evictions     int64    `json:"evictions"`
	Expired       int64    `json:"expired"`
	Hits          *int64   `json:"hits"`
	Misses        *int64   `json:"misses"`
	HitRatio      *float64 `json:"hit_ratio"`
	WriterPID     int      `json:"writer_pid"`
	PendingRepair bool     `json:"pending_repair"`
}

func writeStatJSON(w io.Writer, n namedStats) error {
	s := n.s
	j := statJSON{
		File: n.path, Mode: mode(s), Keys: s.Keys, ExpiredKeys: s.ExpiredKeys, Leases: s.Leases,
		FileSize: s.FileSize, MaxSize: s.MaxSize, PageSize: s.PageSize,
		Pages: s.Pages, FreePages: s.FreePages,
		UsedBytes: s.UsedBytes, FreeBytes: s.FreeBytes, LiveBytes: s.LiveBytes,
		Slots: s.Slots, SlotLoad: s.SlotLoad, MaxProbe: s.MaxProbe,
		Growths: s.Growths, Rehashes: s.Rehashes, Commits: s.Commits,
		Evictions: s.Evictions, Expired: s.Expired,
		WriterPID: s.WriterPID, PendingRepair: s.PendingRepair,
	}
	if s.Evict {
		j.Hits, j.Misses = &s.Hits, &s.Misses
		if r, ok := hitRatio(s.Hits, s.Misses); ok {
			j.HitRatio = &r
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(j)
}

// mode names the file's mode as stat prints it.
func mode(s kv.Stats) string {
	if s.Evict {
		return "cache"
	}
	return "store"
}

// hitRatio is hits / (hits + misses), and false when there were no lookups.
func hitRatio(hits, misses int64) (float64, bool) {
	if hits+misses <= 0 {
		return 0, false
	}
	return float64(hits) / float64(hits+misses), true
}

func printStats(w io.Writer, n namedStats) error {
	s := n.s
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	line := func(name, format string, args ...any) {
		fmt.Fprintf(tw, "%s:\t%s\n", name, fmt.Sprintf(format, args...))
	}
	maxSize := "unlimited"
	if s.MaxSize > 0 {
		maxSize = sizeAndBytes(s.MaxSize)
	}
	writer := "free"
	if s.WriterPID != 0 {
		writer = "held by " + lockHolder(s.WriterPID)
	}
	repair := "no"
	if s.PendingRepair {
		repair = "yes: a killed writer's committed write; the next writer finishes it (legal, not damage)"
	}
	line("file", "%s", n.path)
	if s.Evict {
		line("mode", "cache: evicts entries at max size")
	} else {
		line("mode", "store: writes fail at max size")
	}
	line("keys", "%d", s.Keys)
	line("expired keys", "%d (not yet swept)", s.ExpiredKeys)
	line("leases", "%d", s.Leases)
	line("file size", "%s", sizeAndBytes(s.FileSize))
	line("max size", "%s", maxSize)
	line("page size", "%d", s.PageSize)
	line("pages", "%d (%d free)", s.Pages, s.FreePages)
	line("used", "%s", sizeAndBytes(s.UsedBytes))
	line("free", "%s", sizeAndBytes(s.FreeBytes))
	line("live", "%s", sizeAndBytes(s.LiveBytes))
	line("slots", "%d (load %.2f)", s.Slots, s.SlotLoad)
	line("max probe", "%d", s.MaxProbe)
	line("growths", "%d", s.Growths)
	line("rehashes", "%d", s.Rehashes)
	line("commits", "%d", s.Commits)
	line("evictions", "%d", s.Evictions)
	line("expired", "%d (reclaimed)", s.Expired)
	if s.Evict { // kv counts Gets in cache mode only
		line("hits", "%d", s.Hits)
		line("misses", "%d", s.Misses)
		if r, ok := hitRatio(s.Hits, s.Misses); ok {
			line("hit ratio", "%.3f", r)
		} else {
			line("hit ratio", "- (no lookups yet)")
		}
	}
	line("writer lock", "%s", writer)
	line("pending repair", "%s", repair)
	return tw.Flush()
}

// sizeAndBytes formats n as "1.5 MiB (1572864 bytes)", or "300 bytes".
func sizeAndBytes(n int64) string {
	if n < 1024 {
		return formatSize(n)
	}
	return fmt.Sprintf("%s (%d bytes)", formatSize(n), n)
}
