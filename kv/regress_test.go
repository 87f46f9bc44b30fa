//go:build unix

package kv

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestFailedPutInsideUpdate: operations that fail inside an Update (ErrFull,
// sometimes after a rehash or a growth) leave the transaction exactly as it
// was, and the Update commits the rest.
func TestFailedPutInsideUpdate(t *testing.T) {
	db, _ := openTemp(t, &Options{InitialSize: MinFileSize, MaxSize: 256 << 10})
	model := map[string][]byte{}
	rng := rand.New(rand.NewPCG(8, 9))
	fulls := 0
	for round := 0; round < 300; round++ {
		staged := map[string][]byte{}
		deleted := map[string]bool{}
		err := db.Update(func(tx *Tx) error {
			for i := rng.IntN(30); i >= 0; i-- {
				k := []byte(fmt.Sprintf("k%d", rng.IntN(600)))
				if rng.IntN(5) == 0 {
					tx.Delete(k)
					deleted[string(k)] = true
					delete(staged, string(k))
					continue
				}
				v := bytes.Repeat([]byte{byte(round)}, rng.IntN(1500))
				if rng.IntN(40) == 0 {
					v = make([]byte, 5000+rng.IntN(60000))
				}
				if err := tx.Put(k, v); err != nil {
					if !errors.Is(err, ErrFull) {
						return err
					}
					fulls++
					continue
				}
				staged[string(k)] = v
				delete(deleted, string(k))
			}
			return nil
		})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for k := range deleted {
			delete(model, k)
		}
		for k, v := range staged {
			model[k] = v
		}
		if round%50 == 49 {
			if err := db.Check(); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
	if fulls == 0 {
		t.Fatal("the file never filled up: the test did not test")
	}
	verifyModel(t, db, model)
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestRewriteUnderReaders: a key rewritten in a loop reuses the same record
// space over and over; readers on another handle never see an error.
func TestRewriteUnderReaders(t *testing.T) {
	w, path := openTemp(t, nil)
	r, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	vals := [][]byte{bytes.Repeat([]byte("a"), 1990), bytes.Repeat([]byte("b"), 1990), bytes.Repeat([]byte("c"), 1990)}
	w.Put([]byte("k"), vals[0])
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for {
				select {
				case <-stop:
					return
				default:
				}
				v, err := r.AppendGet(buf[:0], []byte("k"))
				if err == nil && !(bytes.Equal(v, vals[0]) || bytes.Equal(v, vals[1]) || bytes.Equal(v, vals[2])) {
					err = fmt.Errorf("torn value")
				}
				if err != nil {
					errs <- err
					return
				}
				buf = v
			}
		}()
	}
	deadline := time.Now().Add(1500 * time.Millisecond)
	for i := 0; time.Now().Before(deadline); i++ {
		if err := w.Put([]byte("k"), vals[i%3]); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}

// TestSmallestFile: a file of MinFileSize stores records, and deleting a large
// value from a full file succeeds.
func TestSmallestFile(t *testing.T) {
	db, _ := openTemp(t, &Options{MaxSize: MinFileSize})
	if err := db.Put([]byte("k"), []byte("v")); err != nil {
		t.Fatalf("Put into a MinFileSize file: %v", err)
	}
	big, _ := openTemp(t, &Options{MaxSize: 4 << 20})
	if err := big.Put([]byte("big"), make([]byte, 3<<20)); err != nil {
		t.Fatal(err)
	}
	var err error
	for i := 0; err == nil; i++ {
		err = big.Put([]byte(fmt.Sprint(i)), make([]byte, 1000))
	}
	if !errors.Is(err, ErrFull) {
		t.Fatal(err)
	}
	if err := big.Delete([]byte("big")); err != nil {
		t.Fatalf("Delete on a full file: %v", err)
	}
	if err := big.Put([]byte("after"), make([]byte, 100000)); err != nil {
		t.Fatalf("Put after freeing room: %v", err)
	}
	if err := big.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestRollbackAfterRehash: a Put inside an Update that first rebuilds the
// table and then runs out of room must not undo the Update's earlier writes.
// The filler sizes sweep the free space so that some runs have room for the
// new table but not for the record.
func TestRollbackAfterRehash(t *testing.T) {
	hit := 0
	for filler := 0; filler <= 96<<10; filler += 2 << 10 {
		db, _ := openTemp(t, &Options{InitialSize: 128 << 10, MaxSize: 128 << 10})
		err := db.Update(func(tx *Tx) error {
			for i := 0; i < 384; i++ { // the last count before a rehash
				if err := tx.Put([]byte(fmt.Sprintf("k%d", i)), []byte("v")); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Put([]byte("k383"), make([]byte, filler)); err != nil {
			db.Close()
			continue
		}
		rehashes := db.Stats().Rehashes
		var bigErr error
		err = db.Update(func(tx *Tx) error {
			tx.Delete([]byte("k0"))
			tx.Put([]byte("k1"), []byte("new"))
			bigErr = tx.Put([]byte("new-key"), make([]byte, 40<<10))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Get([]byte("k0")); !errors.Is(err, ErrNotFound) {
			t.Fatalf("filler %d: the Update's Delete was lost (%v)", filler, err)
		}
		if v, _ := db.Get([]byte("k1")); string(v) != "new" {
			t.Fatalf("filler %d: the Update's Put was lost: %q", filler, v)
		}
		if _, err := db.Get([]byte("new-key")); (err == nil) != (bigErr == nil) {
			t.Fatalf("filler %d: Put returned %v, Get says %v", filler, bigErr, err)
		}
		if err := db.Check(); err != nil {
			t.Fatalf("filler %d: %v", filler, err)
		}
		if errors.Is(bigErr, ErrFull) && db.Stats().Rehashes == rehashes {
			hit++
		}
		db.Close()
	}
	if hit == 0 {
		t.Fatal("no run failed a Put after a rehash: the test did not test")
	}
}

// TestForEachUnderDeletions: deletions shift entries back while ForEach walks
// (made by the callback itself, so that they land between steps every time);
// every key present and unchanged throughout is still visited exactly once.
func TestForEachUnderDeletions(t *testing.T) {
	db, _ := openTemp(t, nil)
	const stable, churn = 3000, 3000
	for i := 0; i < stable; i++ {
		db.Put([]byte(fmt.Sprint("s", i)), []byte("v"))
	}
	for i := 0; i < churn; i++ {
		db.Put([]byte(fmt.Sprint("c", i)), []byte("v"))
	}
	next := 0
	for round := 0; round < 5; round++ {
		seen := map[string]int{}
		err := db.ForEach(func(k, v []byte) error {
			seen[string(k)]++
			for j := 0; j < 3; j++ { // delete and re-add churn keys between steps
				c := []byte(fmt.Sprint("c", next%churn))
				next += 7
				if err := db.Delete(c); err != nil {
					return err
				}
				if err := db.Put(c, []byte("v")); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < stable; i++ {
			if n := seen[fmt.Sprint("s", i)]; n != 1 {
				t.Fatalf("round %d: stable key s%d visited %d times", round, i, n)
			}
		}
	}
}

// TestMoveWindowBracketsTheLog: in a transaction that writes a slot and then
// deletes a neighbour (shifting that slot's entry), the log opens the move
// window before every slot store and closes it after all of them; otherwise
// a reader between two stores could miss the key.
func TestMoveWindowBracketsTheLog(t *testing.T) {
	db, path := openTemp(t, nil)
	for i := 0; i < 300; i++ {
		db.Put([]byte(fmt.Sprint("k", i)), []byte("v"))
	}
	testStopAfterCommitPoint = func() bool { return true }
	err := db.Update(func(tx *Tx) error {
		for i := 0; i < 300; i += 2 {
			tx.Put([]byte(fmt.Sprint("k", i)), []byte("w")) // slot stores first
		}
		for i := 1; i < 300; i += 2 {
			tx.Delete([]byte(fmt.Sprint("k", i))) // then shifting deletions
		}
		return nil
	})
	testStopAfterCommitPoint = nil
	if err != nil {
		t.Fatal(err)
	}
	l, ok := db.nextLog(false)
	if !ok {
		t.Fatal("no valid pending log")
	}
	var slots []int
	starts, ends := -1, -1
	toff, log2 := tableParts(db.f.m.Load().load(hdrTable))
	for i := 0; i < l.entryCount(); i++ {
		switch off, _ := l.entry(i); {
		case off == hdrWindowStart:
			starts = i
		case off == hdrWindowEnd:
			ends = i
		case off >= toff && off < toff+8<<log2:
			slots = append(slots, i)
		}
	}
	if len(slots) == 0 || starts < 0 || ends < 0 || starts > slots[0] || ends < slots[len(slots)-1] {
		t.Fatalf("move window opens at entry %d and closes at %d; slot entries run from %v", starts, ends, slots)
	}
	db.Close()
	again, err := Open(path, nil) // the next writer finishes the log
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if err := again.Put([]byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 300; i++ {
		_, err := again.Get([]byte(fmt.Sprint("k", i)))
		if (i%2 == 0) != (err == nil) {
			t.Fatalf("k%d: %v", i, err)
		}
	}
	if err := again.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestMissDuringSweep: a Put whose transaction also sweeps expired entries
// never makes the key it writes briefly unreachable to readers.
func TestMissDuringSweep(t *testing.T) {
	db, path := openTemp(t, nil)
	r, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := 0; i < 4000; i++ {
		db.PutTTL([]byte(fmt.Sprint("e", i)), []byte("v"), time.Millisecond)
		db.Put([]byte(fmt.Sprint("k", i%200)), []byte("v"))
	}
	time.Sleep(5 * time.Millisecond)
	stop := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				errs <- nil
				return
			default:
			}
			if _, err := r.Get([]byte(fmt.Sprint("k", i%200))); err != nil {
				errs <- fmt.Errorf("Get(k%d) = %v while writers swept expired entries", i%200, err)
				return
			}
		}
	}()
	for i := 0; i < 20000; i++ {
		db.Put([]byte(fmt.Sprint("k", i%200)), []byte("w"))
		db.PutTTL([]byte(fmt.Sprint("e", i)), []byte("v"), time.Millisecond)
	}
	close(stop)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}

// TestSnapshotRemovesAbandonedTemps: a snapshot deletes the temporary files of
// snapshots whose process died, and leaves those of live processes alone.
func TestSnapshotRemovesAbandonedTemps(t *testing.T) {
	db, path := openTemp(t, nil)
	db.Put([]byte("k"), []byte("v"))
	dst := path + ".snap"
	dead := tempPrefix(dst, "tmp") + "999999999-1"
	live := tempPrefix(dst, "tmp") + strconv.Itoa(os.Getppid()) + "-1"
	for _, p := range []string{dead, live} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Snapshot(dst); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Fatalf("the abandoned temporary file is still there: %v", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Fatalf("a live process's temporary file was removed: %v", err)
	}
}

// TestGrowthPastTheReservation: when the file outgrows the address range a
// handle reserved, writers and readers (another handle, as another process)
// remap on their own, readers in flight keep their old mapping, and nothing
// is lost.
func TestGrowthPastTheReservation(t *testing.T) {
	testReserve = 256 << 10
	defer func() { testReserve = 0 }()
	w, path := openTemp(t, &Options{InitialSize: MinFileSize})
	r, err := Open(path, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	stop := make(chan struct{})
	errs := make(chan error, 1)
	go func() { // read all along through the other handle
		for i := 0; ; i++ {
			select {
			case <-stop:
				errs <- nil
				return
			default:
			}
			if _, err := r.Get([]byte(fmt.Sprint("k", i%500))); err != nil && !errors.Is(err, ErrNotFound) {
				errs <- err
				return
			}
		}
	}()
	val := make([]byte, 300)
	for i := 0; i < 20000; i++ {
		if err := w.Put([]byte(fmt.Sprint("k", i)), val); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if len(w.f.retired) == 0 || len(r.f.retired) == 0 {
		t.Fatalf("no remap happened (writer %d, reader %d retired mappings)", len(w.f.retired), len(r.f.retired))
	}
	for i := 0; i < 20000; i++ {
		if _, err := r.Get([]byte(fmt.Sprint("k", i))); err != nil {
			t.Fatalf("k%d after the remaps: %v", i, err)
		}
	}
	if err := w.Check(); err != nil {
		t.Fatal(err)
	}
	t.Logf("file %d bytes; writer remapped %d times, reader %d", w.Stats().FileSize, len(w.f.retired), len(r.f.retired))
}
