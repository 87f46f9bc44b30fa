//go:build unix

package lincheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"time"
)

// A procSpec is what a writer or reader process is told, as its one
// argument (JSON).
type procSpec struct {
	Path    string // the store
	Store   string // storeKV or a broken store
	Dir     string // where the clients' history files go
	First   int    // the first client's id; the others follow
	Clients int    // clients (goroutines) in the process
	Seed    uint64
	// CLOCK_MONOTONIC times: the clients start at Start, warm up without
	// recording (filler batches, Gets) until Record, and stop at Deadline.
	Start, Record, Deadline int64
	Pause                   time.Duration // mean pause after each operation
}

func historyPath(dir string, client int) string {
	return filepath.Join(dir, "c"+strconv.Itoa(client)+".log")
}

// writerRole and readerRole are the bodies of the child processes (the test
// registers them with internal/testproc). Writers record durably, since they
// are killed; readers buffer.
func writerRole(args []string) error { return runClients(args, true) }

func readerRole(args []string) error { return runClients(args, false) }

func runClients(args []string, writer bool) error {
	var sp procSpec
	if len(args) != 1 {
		return fmt.Errorf("want one argument, got %q", args)
	}
	if err := json.Unmarshal([]byte(args[0]), &sp); err != nil {
		return fmt.Errorf("argument %q: %w", args[0], err)
	}
	st, err := openStore(sp.Store, sp.Path)
	if err != nil {
		return err
	}
	defer st.Close()
	m := readerMix
	if writer {
		m = writerMix
	}
	clients := make([]*client, sp.Clients)
	for g := range clients {
		id := sp.First + g
		rec, err := newRecorder(historyPath(sp.Dir, id), writer)
		if err != nil {
			return err
		}
		clients[g] = &client{id: id, st: st, rec: rec, rng: rand.New(rand.NewPCG(sp.Seed, uint64(id))), m: m, writer: writer, pause: sp.Pause}
	}
	// Start together, so that the round's history is short and dense. A
	// writer started in place of a killed one is late and starts at once.
	if wait := sp.Start - now(); wait > 0 {
		time.Sleep(time.Duration(wait))
	}
	errs := make(chan error, len(clients))
	for _, c := range clients {
		go func() { errs <- c.run(sp.Record, sp.Deadline) }()
	}
	var all []error
	for range clients {
		all = append(all, <-errs)
	}
	return errors.Join(all...)
}
