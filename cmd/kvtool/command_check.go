package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mapkv/mapkv/kv"
)

func newCheckCommand() *command {
	c := newCommand("check", "FILE", "verify the file and report damage", 1, 1)
	c.help = `
Check reads all of FILE and verifies its structure and every record's
checksum, without writing to it. It holds the writer lock meanwhile, so
writers wait for it (readers do not); if another writer holds the lock, check
waits for it up to --lock-timeout.

If all is well it prints "ok" and exits 0; if a killed writer left a
committed write that the next writer will finish, it says so on a second
line: that is legal, not damage. If the file is damaged (or is not a mapkv
file at all), check prints one problem per line, each saying where
("page N offset X: ..."), and exits 1. Any other error exits 2.
`
	lock := addLockFlag(c.flags)
	c.run = func(e *env, args []string) error {
		return runCheck(e, args[0], lock)
	}
	return c
}

func runCheck(e *env, path string, lock *lockOption) error {
	db, err := openRead(path, lock)
	if err != nil {
		if errors.Is(err, kv.ErrCorrupt) {
			return damaged(e, path, err)
		}
		return err
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		if errors.Is(err, kv.ErrCorrupt) {
			return damaged(e, path, err)
		}
		return lock.fail(path, db, err)
	}
	fmt.Fprintln(e.stdout, "ok")
	if db.Stats().PendingRepair {
		fmt.Fprintln(e.stdout, "pending repair: a killed writer's committed write; the next writer finishes it (legal, not damage)")
	}
	return nil
}

// damaged prints the problems err lists, one per line, and returns the
// status check exits with.
func damaged(e *env, path string, err error) error {
	problems, n := problemLines(err)
	for _, p := range problems {
		fmt.Fprintln(e.stdout, p)
	}
	count := "1 problem"
	if n != 1 {
		count = fmt.Sprintf("%d problems", n)
	}
	return &statusError{status: exitFalse,
		msg: fmt.Sprintf("%s is damaged (%s): restore it from a snapshot", path, count)}
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
