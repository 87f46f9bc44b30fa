package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/mapkv/mapkv/kv"
)

// metric is one metric family of stat --prometheus.
type metric struct {
	name, kind, help string
	value            func(s *kv.Stats) (float64, bool) // false: none for this file (a store's hits)
}

func gauge(name, help string, v func(s *kv.Stats) float64) metric {
	return metric{name, "gauge", help, func(s *kv.Stats) (float64, bool) { return v(s), true }}
}

func counter(name, help string, v func(s *kv.Stats) float64) metric {
	return metric{name, "counter", help, func(s *kv.Stats) (float64, bool) { return v(s), true }}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// metrics are the families stat --prometheus writes, in order. Names follow
// Prometheus's conventions: a mapkv_ prefix, base units (bytes), _total for
// counters.
var metrics = []metric{
	gauge("mapkv_keys", "Live keys: present and not expired.", func(s *kv.Stats) float64 { return float64(s.Keys) }),
	gauge("mapkv_expired_keys", "Expired keys whose space is not reclaimed yet.", func(s *kv.Stats) float64 { return float64(s.ExpiredKeys) }),
	gauge("mapkv_leases", "GetOrCompute leases: keys being computed.", func(s *kv.Stats) float64 { return float64(s.Leases) }),
	gauge("mapkv_cache_mode", "1 if the file is a cache that evicts at its max size, 0 if writes fail there.",
		func(s *kv.Stats) float64 { return b2f(s.Evict) }),
	gauge("mapkv_file_size_bytes", "Size of the file in use.", func(s *kv.Stats) float64 { return float64(s.FileSize) }),
	gauge("mapkv_max_size_bytes", "The file's bound; 0 if it has none.", func(s *kv.Stats) float64 { return float64(s.MaxSize) }),
	gauge("mapkv_used_bytes", "Bytes of allocated pages: header, log, slot table, records.", func(s *kv.Stats) float64 { return float64(s.UsedBytes) }),
	gauge("mapkv_free_bytes", "File size minus used bytes.", func(s *kv.Stats) float64 { return float64(s.FreeBytes) }),
	gauge("mapkv_live_bytes", "Record space held by live records.", func(s *kv.Stats) float64 { return float64(s.LiveBytes) }),
	gauge("mapkv_pages", "Pages in the file.", func(s *kv.Stats) float64 { return float64(s.Pages) }),
	gauge("mapkv_free_pages", "Pages on the free list.", func(s *kv.Stats) float64 { return float64(s.FreePages) }),
	gauge("mapkv_slots", "Slots of the index table.", func(s *kv.Stats) float64 { return float64(s.Slots) }),
	gauge("mapkv_slot_load", "Slots in use / slots.", func(s *kv.Stats) float64 { return s.SlotLoad }),
	gauge("mapkv_max_probe", "An upper bound of every key's probe distance.", func(s *kv.Stats) float64 { return float64(s.MaxProbe) }),
	counter("mapkv_commits_total", "Committed write transactions.", func(s *kv.Stats) float64 { return float64(s.Commits) }),
	counter("mapkv_growths_total", "Times the file grew.", func(s *kv.Stats) float64 { return float64(s.Growths) }),
	counter("mapkv_rehashes_total", "Times the index table was rebuilt.", func(s *kv.Stats) float64 { return float64(s.Rehashes) }),
	counter("mapkv_evictions_total", "Entries evicted to make room (cache mode).", func(s *kv.Stats) float64 { return float64(s.Evictions) }),
	counter("mapkv_expired_total", "Expired entries whose space was reclaimed.", func(s *kv.Stats) float64 { return float64(s.Expired) }),
	{"mapkv_hits_total", "counter", "Gets that found their key, in every process (cache mode).",
		func(s *kv.Stats) (float64, bool) { return float64(s.Hits), s.Evict }},
	{"mapkv_misses_total", "counter", "Gets that did not find their key, in every process (cache mode).",
		func(s *kv.Stats) (float64, bool) { return float64(s.Misses), s.Evict }},
	gauge("mapkv_writer_lock_held", "1 if a process holds the writer lock.", func(s *kv.Stats) float64 { return b2f(s.WriterPID != 0) }),
	gauge("mapkv_pending_repair", "1 if a killed writer's committed write awaits the next writer (legal, not damage).",
		func(s *kv.Stats) float64 { return b2f(s.PendingRepair) }),
}

// writePrometheus writes the statistics of every file in the Prometheus text
// exposition format (version 0.0.4): each family once, its # HELP and # TYPE
// lines, then one sample per file labelled with its path. A family with no
// known value for any file is left out.
func writePrometheus(w io.Writer, all []namedStats) error {
	out := bufio.NewWriter(w)
	for _, m := range metrics {
		started := false
		for i := range all {
			v, ok := m.value(&all[i].s)
			if !ok {
				continue
			}
			if !started {
				fmt.Fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", m.name, escapeHelp(m.help), m.name, m.kind)
				started = true
			}
			fmt.Fprintf(out, "%s{path=\"%s\"} %s\n", m.name, escapeLabel(strings.ToValidUTF8(all[i].path, "\uFFFD")), strconv.FormatFloat(v, 'f', -1, 64))
		}
	}
	return out.Flush()
}

// escapeLabel escapes a label value as the format requires: backslash,
// double quote and newline.
func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// escapeHelp escapes a HELP text: backslash and newline.
func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}
