package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/mapkv/mapkv/kv"
)

func newStatCommand() *command {
	c := newCommand("stat", "FILE", "show keys, space, slot load and locks", 1, 1)
	c.help = `
Stat shows what FILE holds and how full it is: keys, file and page sizes,
used, free and live bytes, the slot table's size, load and longest probe,
how often the file grew and the table was rehashed, the number of commits,
which process holds the writer lock, if any, and whether a repair is
pending. A pending repair means a writer was killed after it committed; the
next writer finishes that write. It is legal, not damage.

--json prints the same as one JSON object; docs/cli.md lists its fields.
`
	asJSON := c.flags.Bool("json", false, "print one JSON object")
	c.run = func(e *env, args []string) error {
		return runStat(e, args[0], *asJSON)
	}
	return c
}

// statJSON is stat's --json output. Its field names are part of kvtool's
// interface (docs/cli.md), independent of kv.Stats's Go names.
type statJSON struct {
	File          string  `json:"file"`
	Keys          int64   `json:"keys"`
	FileSize      int64   `json:"file_size"`
	MaxSize       int64   `json:"max_size"`
	PageSize      int     `json:"page_size"`
	Pages         int64   `json:"pages"`
	FreePages     int64   `json:"free_pages"`
	UsedBytes     int64   `json:"used_bytes"`
	FreeBytes     int64   `json:"free_bytes"`
	LiveBytes     int64   `json:"live_bytes"`
	Slots         int64   `json:"slots"`
	SlotLoad      float64 `json:"slot_load"`
	MaxProbe      int64   `json:"max_probe"`
	Growths       int64   `json:"growths"`
	Rehashes      int64   `json:"rehashes"`
	Commits       int64   `json:"commits"`
	WriterPID     int     `json:"writer_pid"`
	PendingRepair bool    `json:"pending_repair"`
}

func runStat(e *env, path string, asJSON bool) error {
	db, err := openRead(path, nil)
	if err != nil {
		return err
	}
	s := db.Stats()
	if err := db.Close(); err != nil {
		return fail(path, nil, err)
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(statJSON{
			File: path, Keys: s.Keys, FileSize: s.FileSize, MaxSize: s.MaxSize, PageSize: s.PageSize,
			Pages: s.Pages, FreePages: s.FreePages,
			UsedBytes: s.UsedBytes, FreeBytes: s.FreeBytes, LiveBytes: s.LiveBytes,
			Slots: s.Slots, SlotLoad: s.SlotLoad, MaxProbe: s.MaxProbe,
			Growths: s.Growths, Rehashes: s.Rehashes, Commits: s.Commits,
			WriterPID: s.WriterPID, PendingRepair: s.PendingRepair,
		})
	}
	return printStats(e.stdout, path, s)
}

func printStats(w io.Writer, path string, s kv.Stats) error {
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
	line("file", "%s", path)
	line("keys", "%d", s.Keys)
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
