package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mapkv/mapkv/kv"
)

func newCheckCommand() *command {
	c := newCommand("check", "FILE", "verify the file and report damage", 1, 1)
	c.reads = true
	c.help = `
Check reads all of FILE and verifies its structure and every record's
checksum, without writing to it. It holds the writer lock meanwhile, so
writers wait for it (readers do not); if another writer holds the lock, check
waits for it up to --lock-timeout.

If all is well it prints "ok" and exits 0; if a killed writer left a
committed write that the next writer will finish, it says so on a second
line: that is legal, not damage. If the file is damaged (or is not a mapkv
file at all), check prints one problem per line, each saying where
("page N offset X: ..."), and exits 1. A file that is not a mapkv file this
kvtool reads (empty, zeros, a creation that did not finish, another format
version, another kind of file) exits 1 too, and says so. Any other error
exits 2; a lock that stays busy past --lock-timeout exits 75.

--json prints one JSON object instead:
  {"file":"db","ok":true,"pending_repair":false,"problems":[],"problem_count":0}
`
	lock := addLockFlag(c.flags)
	asJSON := c.flags.Bool("json", false, "print one JSON object")
	c.run = func(e *env, args []string) error {
		return runCheck(e, args[0], lock, *asJSON)
	}
	return c
}

// checkJSON is check --json's output.
type checkJSON struct {
	File          string   `json:"file"`
	OK            bool     `json:"ok"`
	PendingRepair bool     `json:"pending_repair"`
	Problems      []string `json:"problems"`
	ProblemCount  int      `json:"problem_count"`
}

func runCheck(e *env, path string, lock *lockOption, asJSON bool) error {
	db, err := openRead(path, lock)
	if err != nil {
		if errors.Is(err, kv.ErrCorrupt) {
			return damaged(e, path, err, asJSON)
		}
		return err
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		if errors.Is(err, kv.ErrCorrupt) {
			return damaged(e, path, err, asJSON)
		}
		return lock.fail(path, db, err)
	}
	pending := db.Stats().PendingRepair
	if asJSON {
		return writeJSON(e.stdout, checkJSON{File: path, OK: true, PendingRepair: pending, Problems: []string{}})
	}
	fmt.Fprintln(e.stdout, "ok")
	if pending {
		fmt.Fprintln(e.stdout, "pending repair: a killed writer's committed write; the next writer finishes it (legal, not damage)")
	}
	return nil
}

// damaged prints the problems err lists, one per line, and returns the
// status check exits with.
func damaged(e *env, path string, err error, asJSON bool) error {
	var msg string
	problems, n := problemLines(err)
	if why := notMapkv(path); why != "" {
		problems, n, msg = []string{why}, 1, why
	} else {
		msg = fmt.Sprintf("%s is damaged (%s): copy out what is readable (kvtool dump), or restore it from a snapshot",
			path, plural(int64(n), "problem"))
	}
	if asJSON {
		if err := writeJSON(e.stdout, checkJSON{File: path, Problems: problems, ProblemCount: n}); err != nil {
			return err
		}
	} else {
		for _, p := range problems {
			fmt.Fprintln(e.stdout, p)
		}
	}
	return &statusError{status: exitFalse, msg: msg}
}

// problemLines returns the problems a kv corruption error lists and how many
// there are. Check's message is a header line ("kv: check F: N problem(s):"),
// one problem per line, at most 100 and then "... and N more", and the
// sentinel's text; Open's is one line that ends with the sentinel's text.
func problemLines(err error) (lines []string, n int) {
	var e *dbError
	if errors.As(err, &e) {
		err = e.err
	}
	all := strings.Split(strings.TrimSpace(err.Error()), "\n")
	if len(all) > 1 {
		all = all[1:] // the header: its count is recounted below
	}
	for _, l := range all {
		l = strings.TrimSpace(strings.TrimSuffix(l, kv.ErrCorrupt.Error()))
		l = strings.TrimSuffix(strings.TrimPrefix(l, "kv: "), ":")
		if l == "" {
			continue
		}
		var more int
		if _, err := fmt.Sscanf(l, "... and %d more", &more); err == nil {
			n += more
		} else {
			n++
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		lines, n = []string{kv.ErrCorrupt.Error()}, 1
	}
	return lines, n
}
