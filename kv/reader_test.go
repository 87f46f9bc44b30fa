//go:build unix

package kv

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"
)

// Deterministic tests of the reader protocol (docs/concurrency.md,
// "Readers"): a hook pauses a reader between its steps, as the kernel
// descheduling it would, while the test runs writers. Each schedule is one
// that made an earlier version return a value that was never committed or
// report a present key missing.

// pausedReader runs Get(key) in a goroutine whose reader stops at the given
// steps (in order, once each); at each stop the test's func runs, then the
// reader goes on. It returns what Get returned.
func pausedReader(t *testing.T, db *DB, key []byte, stops []int, during []func()) ([]byte, error) {
	t.Helper()
	type result struct {
		v   []byte
		err error
	}
	paused := make(chan int)
	resume := make(chan struct{})
	next := 0
	testReaderPause = func(step int, k []byte) {
		if next < len(stops) && step == stops[next] && bytes.Equal(k, key) {
			next++
			paused <- step
			<-resume
		}
	}
	defer func() { testReaderPause = nil }()
	done := make(chan result, 1)
	go func() {
		v, err := db.Get(key)
		done <- result{v, err}
	}()
	for i := range stops {
		select {
		case <-paused:
		case r := <-done:
			t.Fatalf("the reader finished (%q, %v) before reaching stop %d", r.v, r.err, i)
		case <-time.After(10 * time.Second):
			t.Fatalf("the reader never reached stop %d", i)
		}
		during[i]()
		resume <- struct{}{}
	}
	r := <-done
	return r.v, r.err
}

// slotOf returns the record offset key's slot points at.
func slotOf(t *testing.T, db *DB, key []byte) uint64 {
	t.Helper()
	var off uint64
	err := db.Update(func(tx *Tx) error {
		p := tx.t.find(key, hashKey(db.seed, key))
		if !p.found {
			return ErrNotFound
		}
		off = slotOff(p.slot)
		return nil
	})
	if err != nil {
		t.Fatalf("slot of %q: %v", key, err)
	}
	return off
}

var errAbandon = errors.New("abandoned on purpose")

// TestReaderABAWithAbandonedValue: a reader loads the slot of k (record A);
// a Put of k frees A, an Update writes another value of k into A and fails;
// the reader copies that value; a third Put of k reuses A, so the slot reads
// the same again. The value that was never committed must not be returned.
func TestReaderABAWithAbandonedValue(t *testing.T) {
	db, _ := openTemp(t, nil)
	k := []byte("k")
	val := func(s string) []byte { return bytes.Repeat([]byte(s), 20) } // one size class
	db.Put(k, val("1"))
	a := slotOf(t, db, k)
	got, err := pausedReader(t, db, k, []int{readerLoadedSlot, readerCopied}, []func(){
		func() {
			db.Put(k, val("2")) // k moves to B; A is free
			err := db.Update(func(tx *Tx) error {
				tx.Put(k, val("X")) // the lowest free object: A
				return errAbandon
			})
			if err != errAbandon {
				t.Errorf("Update = %v", err)
			}
		},
		func() {
			db.Put(k, val("3")) // A again: the slot word is what the reader loaded
			if off := slotOf(t, db, k); off != a {
				t.Errorf("the third Put did not reuse the record's space (%d, want %d): the schedule is not the one under test", off, a)
			}
		},
	})
	if err != nil || !bytes.Equal(got, val("3")) {
		t.Fatalf("Get = %q, %v; want the value committed last (%q), never the abandoned %q", got, err, val("3"), val("X"))
	}
}

// TestReaderABAWithAnotherKey: the reader copies A while it holds another
// key's record; then k's value is put back into A, by writes that move no
// slot (so no move window tells the reader). A key present throughout must
// be found.
func TestReaderABAWithAnotherKey(t *testing.T) {
	db, _ := openTemp(t, nil)
	k, other := []byte("k"), []byte("o")
	val := func(s string) []byte { return bytes.Repeat([]byte(s), 20) }
	db.Put(k, val("1"))
	a := slotOf(t, db, k)
	got, err := pausedReader(t, db, k, []int{readerLoadedSlot, readerCopied}, []func(){
		func() {
			db.Put(k, val("2"))     // k to B, A free
			db.Put(other, val("o")) // another key in A
			if off := slotOf(t, db, other); off != a {
				t.Errorf("the other key is not in A (%d, want %d)", off, a)
			}
		},
		func() {
			db.Put(other, val("p")) // the other key moves on: A free, and no deletion
			db.Put(k, val("3"))     // k back in A
			if off := slotOf(t, db, k); off != a {
				t.Errorf("k is not back in A (%d, want %d)", off, a)
			}
		},
	})
	if err != nil || !bytes.Equal(got, val("3")) {
		t.Fatalf("Get = %q, %v; want %q: k was present throughout", got, err, val("3"))
	}
}

// TestReaderAcrossRehash: the reader loads k's slot in the table; writers
// rebuild the table (the old one never changes again), free k's record and
// write an uncommitted value of k into its space. Re-loading the old slot
// proves nothing; the reader must notice (the page generation and the table
// word both tell it).
func TestReaderAcrossRehash(t *testing.T) {
	db, _ := openTemp(t, nil)
	k := []byte("k")
	val := func(s string) []byte { return bytes.Repeat([]byte(s), 20) }
	db.Put(k, val("1"))
	// Fillers in another size class, up to just below the table's 3/4 load,
	// so that the rebuild below needs no new slab page (which would reuse the
	// old table's page and change the slot the reader re-loads).
	i := 0
	for ; db.Stats().Keys < 383; i++ {
		db.Put([]byte(fmt.Sprint("f", i)), nil)
	}
	before := db.Stats().Rehashes
	got, err := pausedReader(t, db, k, []int{readerLoadedSlot, readerCopied}, []func(){
		func() {
			for j := i; j < i+2; j++ {
				db.Put([]byte(fmt.Sprint("f", j)), nil)
			}
			if db.Stats().Rehashes == before {
				t.Error("no rehash: the schedule is not the one under test")
			}
			db.Put(k, val("2"))
			db.Update(func(tx *Tx) error {
				tx.Put(k, val("X"))
				return errAbandon
			})
		},
		func() {},
	})
	if err != nil || !bytes.Equal(got, val("2")) {
		t.Fatalf("Get = %q, %v; want %q", got, err, val("2"))
	}
}

// TestReaderGivesUpWithErrBusy: a reader whose every attempt is overtaken by
// a write reports ErrBusy (not ErrLocked, not damage).
func TestReaderGivesUpWithErrBusy(t *testing.T) {
	if testing.Short() {
		t.Skip("65536 writes")
	}
	db, _ := openTemp(t, nil)
	k := []byte("k")
	db.Put(k, []byte("v0"))
	n := 0
	testReaderPause = func(step int, key []byte) {
		if step == readerCopied && bytes.Equal(key, k) {
			n++
			db.Put(k, []byte(fmt.Sprint("v", n)))
		}
	}
	defer func() { testReaderPause = nil }()
	_, err := db.Get(k)
	if !errors.Is(err, ErrBusy) || errors.Is(err, ErrLocked) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("Get under endless churn = %v, want ErrBusy", err)
	}
}

// TestReaderDuringPartlyAppliedLog: a transaction deletes many keys of the
// same clusters (slot moves) and replaces others; its log is applied one
// entry at a time, as a writer descheduled or killed between any two stores
// leaves it. After every prefix each reader answer is exact: the state before
// the log until its move window opens, the state after it from then on; no
// present key is ever reported missing, and nobody waits.
func TestReaderDuringPartlyAppliedLog(t *testing.T) {
	db, _ := openTemp(t, nil)
	const n = 300
	key := func(i int) []byte { return []byte(fmt.Sprint("k", i)) }
	for i := 0; i < n; i++ {
		db.Put(key(i), []byte("old"))
	}
	before := map[string]string{}
	after := map[string]string{}
	for i := 0; i < n; i++ {
		before[string(key(i))] = "old"
		switch {
		case i%3 == 0: // deleted: moves its cluster back
		case i%3 == 1:
			after[string(key(i))] = "new"
		default:
			after[string(key(i))] = "old"
		}
	}
	testStopAfterCommitPoint = func() bool { return true }
	err := db.Update(func(tx *Tx) error {
		for i := 0; i < n; i++ {
			switch i % 3 {
			case 0:
				tx.Delete(key(i))
			case 1:
				tx.Put(key(i), []byte("new"))
			}
		}
		return nil
	})
	testStopAfterCommitPoint = nil
	if err != nil {
		t.Fatal(err)
	}
	l, ok := db.nextLog(false)
	if !ok {
		t.Fatal("the log is not there")
	}
	m := db.f.m.Load()
	open := false
	deletions := 0
	for i := 0; i < l.entryCount(); i++ {
		off, v := l.entry(i)
		m.store(off, v)
		if off == hdrWindowStart {
			open = true
		}
		want := before
		if open {
			want = after
		}
		if i%7 != 0 && i != l.entryCount()-1 {
			continue // every seventh prefix, and the whole log, in full
		}
		for j := 0; j < n; j++ {
			v, err := db.Get(key(j))
			w, present := want[string(key(j))]
			switch {
			case present && (err != nil || string(v) != w):
				t.Fatalf("after %d of %d entries: Get(%s) = %q, %v; want %q", i+1, l.entryCount(), key(j), v, err, w)
			case !present && !errors.Is(err, ErrNotFound):
				t.Fatalf("after %d of %d entries: Get(%s) = %q, %v; want ErrNotFound", i+1, l.entryCount(), key(j), v, err)
			}
		}
		seen := map[string]string{}
		if err := db.ForEach(func(k, v []byte) error { seen[string(k)] = string(v); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(seen) != len(want) {
			t.Fatalf("after %d of %d entries: ForEach saw %d keys, want %d", i+1, l.entryCount(), len(seen), len(want))
		}
		for k, w := range want {
			if seen[k] != w {
				t.Fatalf("after %d entries: ForEach saw %s=%q, want %q", i+1, k, seen[k], w)
			}
		}
		deletions++
	}
	if !open || deletions < 10 {
		t.Fatalf("the log opened no move window (%v) or had too few entries (%d checks)", open, deletions)
	}
	// The file is whole again and the next writer finds nothing to repair.
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestRehashOfADamagedTable: a header that counts fewer keys than the table
// holds makes a rebuild fail with ErrCorrupt instead of looping for ever with
// the writer lock held.
func TestRehashOfADamagedTable(t *testing.T) {
	db, _ := openTemp(t, nil)
	for i := 0; i < 380; i++ { // just under the 3/4 load of 512 slots
		db.Put([]byte(fmt.Sprint("k", i)), nil)
	}
	m := db.f.m.Load()
	if _, log2 := tableParts(m.load(hdrTable)); log2 != minLog2 {
		t.Fatalf("table of 2^%d slots; the test needs the first one", log2)
	}
	m.store(hdrKeys, 1<<40) // a damaged counter
	done := make(chan error, 1)
	go func() { done <- db.Put([]byte("new"), nil) }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Put with a damaged key count = %v, want ErrCorrupt", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Put with a damaged key count hangs")
	}
	m.store(hdrKeys, 200) // fewer than the table holds, enough to rebuild
	for i := 0; i < 200; i++ {
		if err := db.Put([]byte(fmt.Sprint("n", i)), nil); err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Put = %v, want ErrCorrupt", err)
			}
			return
		}
	}
	t.Fatal("a table holding more entries than its header counts was rebuilt without complaint")
}

// TestReaderSeesUpdatesWhole: an Update that replaces many keys (no
// deletion, so no slot moves) is applied one entry at a time; a Get of any
// of its keys after any prefix sees the state before it until its window
// opens and the state after it from then on, never a mixture.
func TestReaderSeesUpdatesWhole(t *testing.T) {
	db, _ := openTemp(t, nil)
	const n = 60
	key := func(i int) []byte { return []byte(fmt.Sprint("u", i)) }
	for i := 0; i < n; i++ {
		db.Put(key(i), []byte("old"))
	}
	testStopAfterCommitPoint = func() bool { return true }
	err := db.Update(func(tx *Tx) error {
		for i := 0; i < n; i++ {
			if err := tx.Put(key(i), []byte("new")); err != nil {
				return err
			}
		}
		return nil
	})
	testStopAfterCommitPoint = nil
	if err != nil {
		t.Fatal(err)
	}
	l, ok := db.nextLog(false)
	if !ok {
		t.Fatal("the log is not there")
	}
	m := db.f.m.Load()
	open := false
	for i := 0; i < l.entryCount(); i++ {
		off, v := l.entry(i)
		m.store(off, v)
		if off == hdrWindowStart {
			open = true
		}
		want := "old"
		if open {
			want = "new"
		}
		for j := 0; j < n; j++ {
			if v, err := db.Get(key(j)); err != nil || string(v) != want {
				t.Fatalf("after %d of %d entries (window open: %v): Get(%s) = %q, %v; want %q", i+1, l.entryCount(), open, key(j), v, err, want)
			}
		}
	}
	if !open {
		t.Fatal("an Update of many keys opened no window")
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

// TestReaderInWindowOfAGrowingLog: another handle's write grows the file,
// rebuilds the table and needs overflow pages for its log, all past the end
// the reader last knew, and makes new slab pages and chains whose page words
// only its log holds yet; it is stopped with its move window open. The reader
// must read that log where it is (past its known end, within the published
// size) and read the table, slots and page words through it, not call the
// file damaged.
func TestReaderInWindowOfAGrowingLog(t *testing.T) {
	db, path := openTemp(t, &Options{InitialSize: MinFileSize})
	key := func(i int) []byte { return []byte(fmt.Sprint("k", i)) }
	const n = 300
	for i := 0; i < n; i++ {
		db.Put(key(i), []byte("old"))
	}
	rd, err := Open(path, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	knew := rd.f.limit.Load()
	testStopAfterCommitPoint = func() bool { return true }
	// New slab pages and chains in fresh pages: their kind and link words
	// are in the log, not yet in place.
	big := func(i int) []byte {
		if i%50 == 0 {
			return bytes.Repeat([]byte{byte(i)}, 9000)
		}
		return bytes.Repeat([]byte{byte(i)}, 500)
	}
	err = db.Update(func(tx *Tx) error {
		for i := 0; i < n; i += 3 {
			tx.Delete(key(i)) // a deletion: the log opens a window
		}
		for i := n; i < 6*n; i++ {
			tx.Put(key(i), big(i)) // growth, a rebuild, more entries than the region holds
		}
		return nil
	})
	testStopAfterCommitPoint = nil
	if err != nil {
		t.Fatal(err)
	}
	l, ok := db.nextLog(false)
	if !ok {
		t.Fatal("the log is not there")
	}
	if len(l.overflow) == 0 || l.overflow[0] < uint64(knew) {
		t.Fatalf("the log's overflow pages %v are not past the reader's end %d: the test needs a bigger write", l.overflow, knew)
	}
	m := db.f.m.Load()
	for i := 0; i < l.entryCount(); i++ {
		off, v := l.entry(i)
		m.store(off, v)
		if off == hdrWindowStart {
			break // the window is open; nothing after it is applied
		}
	}
	for i := 0; i < 6*n; i++ {
		v, err := rd.Get(key(i))
		switch {
		case i < n && i%3 == 0:
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get(%s) of a deleted key in the window = %q, %v", key(i), v, err)
			}
		case i < n:
			if err != nil || string(v) != "old" {
				t.Fatalf("Get(%s) in the window = %q, %v", key(i), v, err)
			}
		default:
			if err != nil || !bytes.Equal(v, big(i)) {
				t.Fatalf("Get(%s) of a new key in the window = %.10q, %v", key(i), v, err)
			}
		}
	}
	count := 0
	if err := rd.ForEach(func(k, v []byte) error { count++; return nil }); err != nil || count != 6*n-n/3 {
		t.Fatalf("ForEach in the window: %d keys, %v; want %d", count, err, 6*n-n/3)
	}
}
