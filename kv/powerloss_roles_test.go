//go:build unix

package kv

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/mapkv/mapkv/internal/powerloss"
)

// The two child roles of the power-loss simulation (powerloss_test.go).
const (
	plWriterRole  = "powerloss-writer"
	plCheckerRole = "powerloss-checker"
)

// plSkipped reports whether the writer in mode "skip" skips every durability
// flush of op j.
func plSkipped(j int) bool { return j%41 == 20 }

// runPLWriter runs the workload against a store it creates at args[0], with
// mode "sync" (Options.Sync), "nosync", or "skip" (Sync, but every flush of
// the ops plSkipped names is skipped through testSkipSync). After Open it
// acknowledges "o", after op j returns "a j FLAGS", FLAGS holding g if the op
// grew the file, r if it rebuilt the table, s if its flushes were skipped.
func runPLWriter(args []string) error {
	if len(args) != 4 {
		return fmt.Errorf("want path, mode, seed, ops; got %q", args)
	}
	path, mode := args[0], args[1]
	seed, err1 := strconv.ParseUint(args[2], 10, 64)
	n, err2 := strconv.Atoi(args[3])
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	ack, err := powerloss.AckFile()
	if err != nil {
		return err
	}
	w := newPLWorkload(seed, n)
	skipping := false
	var pending []string // aftersync: acknowledgements waiting for the next Sync
	switch mode {
	case "skip":
		testSkipSync = func() bool { return skipping }
	case "sync", "nosync", "aftersync":
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	db, err := Open(path, &Options{Sync: mode == "sync" || mode == "skip", InitialSize: MinFileSize})
	if err != nil {
		return err
	}
	fmt.Fprintln(ack, "o")
	for j := range w.ops {
		skipping = mode == "skip" && plSkipped(j)
		before := db.Stats()
		if err := w.apply(db, j); err != nil {
			return fmt.Errorf("op %d (%s): %w", j, w.ops[j], err)
		}
		after := db.Stats()
		flags := ""
		if after.Growths != before.Growths {
			flags += "g"
		}
		if after.Rehashes != before.Rehashes {
			flags += "r"
		}
		if skipping {
			flags += "s"
		}
		if mode == "aftersync" {
			// Acknowledged only once a Sync has made them durable: every
			// 50 ops, and after the last.
			pending = append(pending, fmt.Sprintf("a %d %s\n", j, flags))
			if (j+1)%50 != 0 && j != len(w.ops)-1 {
				continue
			}
			if err := db.Sync(); err != nil {
				return err
			}
			for _, l := range pending {
				if _, err := fmt.Fprint(ack, l); err != nil {
					return err
				}
			}
			pending = pending[:0]
			continue
		}
		// One write per line, before the next op starts.
		if _, err := fmt.Fprintf(ack, "a %d %s\n", j, flags); err != nil {
			return err
		}
	}
	return db.Close()
}

// plJob is one image for the checker; plResult its verdict.
type plJob struct {
	ID      int    `json:"id"`
	Path    string `json:"path"`
	Acked   int    `json:"acked"`   // ops acknowledged: all must be there
	Pending bool   `json:"pending"` // op Acked had started: it may be there, whole
}

type plResult struct {
	ID     int    `json:"id"`
	Class  string `json:"class"` // "" if the image passed
	Detail string `json:"detail,omitempty"`
	Lost   []int  `json:"lost,omitempty"` // acknowledged ops whose effect is missing
}

// runPLChecker checks the images listed in the file args[2] (one plJob per
// line) against the workload of seed args[0] with args[1] ops, and writes one
// plResult per line to args[3] as soon as each is known, so that the
// supervisor can tell which image a crash happened on.
func runPLChecker(args []string) error {
	if len(args) != 4 {
		return fmt.Errorf("want seed, ops, jobs, results; got %q", args)
	}
	seed, err1 := strconv.ParseUint(args[0], 10, 64)
	n, err2 := strconv.Atoi(args[1])
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	jobs, err := os.Open(args[2])
	if err != nil {
		return err
	}
	defer jobs.Close()
	out, err := os.OpenFile(args[3], os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	m := newPLModel(newPLWorkload(seed, n))
	sc := bufio.NewScanner(jobs)
	for sc.Scan() {
		var job plJob
		if err := json.Unmarshal(sc.Bytes(), &job); err != nil {
			return fmt.Errorf("job %q: %w", sc.Text(), err)
		}
		m.advance(job.Acked)
		res := checkPLImage(m, job)
		res.ID = job.ID
		line, _ := json.Marshal(res)
		if _, err := out.Write(append(line, '\n')); err != nil {
			return err
		}
		os.Remove(job.Path)
	}
	return sc.Err()
}

// checkPLImage opens the image read-write (recovering it), checks it, compares
// its content with the model, and writes to it.
func checkPLImage(m *plModel, job plJob) plResult {
	db, err := Open(job.Path, &Options{InitialSize: MinFileSize, LockTimeout: 10 * time.Second})
	if err != nil {
		return plResult{Class: "open-refused", Detail: err.Error()}
	}
	defer db.Close()
	var res plResult
	note := func(class, detail string) {
		if res.Class == "" {
			res.Class = class
		}
		if res.Detail != "" {
			res.Detail += "; also " + class + ": "
		}
		res.Detail += detail
	}
	if err := db.Check(); err != nil {
		note("check-failed", err.Error())
	}
	got := map[string][]byte{}
	err = db.ForEach(func(k, v []byte) error {
		got[string(k)] = bytes.Clone(v)
		return nil
	})
	if err != nil {
		note("read-failed", "ForEach: "+err.Error())
	} else if v := m.compare(got, job.Pending); v.class != "" {
		note(v.class, v.detail)
		res.Lost = v.lost
	}
	if err := db.Put([]byte("powerloss-probe"), []byte("written after the power loss")); err != nil {
		note("unusable", "Put after recovery: "+err.Error())
	} else if err := db.Check(); err != nil {
		note("unusable", "Check after a Put after recovery: "+err.Error())
	}
	return res
}
