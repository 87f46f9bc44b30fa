//go:build unix

// Writers killed with SIGKILL: no acknowledged write is lost, the next writer
// repairs the file at once, a killed snapshot leaves nothing half written.

package mapkv_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mapkv/mapkv/internal/testproc"
	"github.com/mapkv/mapkv/kv"
)

func init() {
	testproc.Register("acker", func(args []string) error { return ackingWriter(args[0], "mix", false, false) })
	testproc.Register("grower", func(args []string) error {
		return ackingWriter(args[0], "grow", slices.Contains(args[1:], "stall"), slices.Contains(args[1:], "sync"))
	})
	testproc.Register("snapshotter", func(args []string) error { return snapshotLoop(args[0], args[1]) })
}

// Header words the crash tests read raw, to tell where a kill landed
// (docs/format.md, "Header"). Whether a committed log waits to be applied
// they learn from Stats.PendingRepair instead: that takes reading the log.
const (
	offFileSize  = 72
	offWriterPID = 144
	offGrowths   = 224
	offRehashes  = 232
	offCommits   = 240
)

// valueFor expands a value spec "seq#n" into the bytes stored for it: the spec,
// '|', then n filler bytes that depend on seq. Children print specs, not
// values, so that large values cost the pipe nothing.
func valueFor(spec string) []byte {
	i := strings.IndexByte(spec, '#')
	seq, _ := strconv.ParseUint(spec[:i], 10, 64)
	n, _ := strconv.Atoi(spec[i+1:])
	v := make([]byte, 0, len(spec)+1+n)
	v = append(append(v, spec...), '|')
	for j := 0; j < n; j++ {
		v = append(v, byte('a'+(seq+uint64(j))%26))
	}
	return v
}

// ackingWriter writes forever until the parent kills it. Before each write it
// prints "will <op> <keys> <value spec> <counters>", after it returns "done":
// the parent then knows every acknowledged write and the one in flight. Mode
// "mix" overwrites and deletes 20000 keys with small values, single and in
// Update batches; mode "grow" adds new keys with values up to 20 KB in batches
// of up to 60, so that the file grows and the table is rebuilt every few
// writes. The counters (rehashes, growths, commits before the write, and
// whether the write will rebuild the table) let the parent tell where a kill
// landed. With stall, a write announced as a table rebuild is made in an
// Update whose fn, once every Put is done (the new table is built, nothing is
// committed), prints "stalled" and waits for the parent's kill. With sync the
// store is opened with Options.Sync: each commit point is followed by an
// fdatasync before the log is applied.
func ackingWriter(path, mode string, stall, sync bool) error {
	db, err := kv.Open(path, &kv.Options{Sync: sync})
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(os.Getpid()), 1))
	seq := uint64(time.Now().UnixNano())
	var mine []string // grow mode: keys this process wrote, for deletes
	for {
		seq++
		n := rng.IntN(200)
		keys := make([]string, 1)
		op := "put"
		newKeys := 0
		if mode == "grow" {
			if n = rng.IntN(3000); rng.IntN(10) == 0 {
				n = 3000 + rng.IntN(17000) // chained
			}
			switch r := rng.IntN(10); {
			case r == 0 && len(mine) > 0:
				op, keys[0] = "del", mine[rng.IntN(len(mine))]
			case r < 8:
				keys = make([]string, 5+rng.IntN(56))
				fallthrough
			default:
				for i := range keys {
					keys[i] = fmt.Sprintf("g%d-%d", seq, i)
				}
				mine = append(mine, keys...)
				newKeys = len(keys)
			}
		} else {
			switch rng.IntN(10) {
			case 0:
				op = "del"
			case 1:
				keys = make([]string, 2+rng.IntN(40))
			}
			for i := range keys {
				keys[i] = fmt.Sprintf("k%d", rng.IntN(20000))
			}
		}
		spec := fmt.Sprintf("%d#%d", seq, n)
		st := db.Stats()
		rehash := newKeys > 0 && (st.Keys+int64(newKeys))*4 > 3*st.Slots
		fmt.Fprintf(os.Stdout, "will %s %s %s R=%d,G=%d,C=%d,rh=%t\n", op, strings.Join(keys, ","), spec,
			st.Rehashes, st.Growths, st.Commits, rehash)
		v := valueFor(spec)
		stallHere := stall && rehash
		switch {
		case op == "del":
			err = db.Delete([]byte(keys[0]))
		case len(keys) == 1 && !stallHere:
			err = db.Put([]byte(keys[0]), v)
		default:
			err = db.Update(func(tx *kv.Tx) error {
				for _, k := range keys {
					if err := tx.Put([]byte(k), v); err != nil {
						return err
					}
				}
				if stallHere {
					fmt.Fprintln(os.Stdout, "stalled")
					time.Sleep(time.Minute) // a sleep, not a block: the runtime would call a block a deadlock
					return errors.New("not killed inside the rebuilding write")
				}
				return nil
			})
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(os.Stdout, "done")
	}
}

// snapshotLoop snapshots path to dst until killed, plain copies and now and
// then a compact one, on a read-only or a read-write handle.
func snapshotLoop(path, dst string) error {
	ro := os.Getpid()%2 == 0
	db, err := kv.Open(path, &kv.Options{ReadOnly: ro})
	if err != nil {
		return err
	}
	for i := 0; ; i++ {
		o := kv.SnapshotOptions{Overwrite: true, Compact: i%4 == 3}
		if err := db.SnapshotWith(dst, o); err != nil {
			return err
		}
	}
}

// killRound is what a kill round learned.
type killRound struct {
	checked  int           // acknowledged keys verified
	recovery time.Duration // open + first write after the kill
	where    []string      // where the kill landed, as far as the file tells
}

// killAim is the moment a kill round aims at.
type killAim int

const (
	anyMoment     killAim = iota // a random moment 5-65 ms after the start
	rebuildCommit                // past a commit point, from the first write announced as a table rebuild on
	insideRebuild                // while the writer holds a rebuilt table it has not committed ("stalled")
)

// killWriter runs one round: it starts role on path (and a snapshotter to
// snapDst if set), kills them at the moment aim says, and checks that the
// next writer repairs the file at once and that every acknowledged write is
// there. A random kill lands between a commit point and the end of its
// apply in about one round of forty, so to kill past a commit point
// (rebuildCommit) the writer syncs each commit, which puts an fdatasync
// between the two, and the parent stops it every few hundred microseconds and
// looks at the file until it finds it there.
func killWriter(t *testing.T, rng *rand.Rand, role, path string, acked map[string]string, aim killAim, snapDst string) killRound {
	t.Helper()
	var r killRound
	args := []string{path}
	switch aim {
	case insideRebuild:
		args = append(args, "stall")
	case rebuildCommit:
		args = append(args, "sync") // a commit point is followed by an fdatasync, a window a stop can land in
	}
	cmd := testproc.Command(t, role, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var ro *kv.DB // rebuildCommit: the parent's view of the file, to look at a stopped writer
	if aim == rebuildCommit {
		if ro, err = kv.Open(path, &kv.Options{ReadOnly: true}); err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
	}
	var snap *exec.Cmd
	if snapDst != "" {
		snap = testproc.Command(t, "snapshotter", path, snapDst)
		if err := snap.Start(); err != nil {
			t.Fatal(err)
		}
	}
	lines := make(chan string, 1<<16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	delay := time.Duration(5+rng.IntN(60)) * time.Millisecond
	if aim != anyMoment {
		delay = 3 * time.Second // if no rebuild is announced by then
	}
	timer := time.NewTimer(delay)
	defer timer.Stop()
	killed := false
	kill := func() {
		if killed {
			return
		}
		killed = true
		if snap != nil && rng.IntN(2) == 0 {
			_ = snap.Process.Signal(syscall.SIGKILL)
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		if snap != nil {
			_ = snap.Process.Signal(syscall.SIGKILL)
		}
	}
	var pending []string      // "will", op, keys, value spec, counters
	var hunt <-chan time.Time // rebuildCommit: when to stop the writer and look
	soon := func() <-chan time.Time { return time.After(time.Duration(rng.IntN(300)) * time.Microsecond) }
	for open := true; open; {
		select {
		case line, ok := <-lines:
			if !ok {
				open = false
				break
			}
			if line == "done" {
				for _, k := range strings.Split(pending[2], ",") {
					acked[k] = pending[3]
					if pending[1] == "del" {
						acked[k] = ""
					}
				}
				pending = nil
				continue
			}
			if line == "stalled" {
				kill()
				continue
			}
			pending = strings.SplitN(line, " ", 5)
			if aim == rebuildCommit && !killed && hunt == nil && strings.HasSuffix(line, "rh=true") {
				hunt = soon()
			}
		case <-hunt:
			if hunt = nil; killed {
				break
			}
			if stoppedPastCommit(t, cmd, ro) {
				kill()
			} else {
				hunt = soon()
			}
		case <-timer.C:
			kill()
		}
	}
	kill()
	_ = cmd.Wait()
	if snap != nil {
		_ = snap.Wait()
	}
	inflight := map[string]string{}
	if len(pending) == 5 {
		for _, k := range strings.Split(pending[2], ",") {
			inflight[k] = pending[3]
			if pending[1] == "del" {
				inflight[k] = ""
			}
		}
		r.where = wherKilled(t, path, cmd.Process.Pid, pending[4])
	}

	start := time.Now()
	db, err := kv.Open(path, &kv.Options{LockTimeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("open after the kill: %v", err)
	}
	defer db.Close()
	// The next writer gets the lock at once and repairs what was left.
	if err := db.Put([]byte("probe"), []byte("x")); err != nil {
		t.Fatalf("first write after the kill: %v", err)
	}
	r.recovery = time.Since(start)
	if st := db.Stats(); st.WriterPID != 0 || st.PendingRepair {
		t.Fatalf("after the first write: WriterPID %d, PendingRepair %v", st.WriterPID, st.PendingRepair)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	for k, want := range acked {
		got, err := db.Get([]byte(k))
		if err != nil && !errors.Is(err, kv.ErrNotFound) {
			t.Fatalf("Get(%s): %v", k, err)
		}
		if (want == "" && err != nil) || (want != "" && bytes.Equal(got, valueFor(want))) {
			r.checked++
			continue
		}
		if alt, ok := inflight[k]; ok && ((alt == "" && err != nil) || (alt != "" && bytes.Equal(got, valueFor(alt)))) {
			acked[k] = alt
			continue
		}
		t.Fatalf("Get(%s) = %.40q, %v; last acknowledged %q", k, got, err, want)
	}
	for k, v := range inflight { // a new key the in-flight write may have added
		if _, ok := acked[k]; !ok && v != "" {
			if got, err := db.Get([]byte(k)); err == nil && bytes.Equal(got, valueFor(v)) {
				acked[k] = v
			}
		}
	}
	if snapDst != "" {
		checkSnapshotLeft(t, snapDst)
	}
	return r
}

// stoppedPastCommit stops the writer of cmd (SIGSTOP) and waits until it has
// stopped. If ro, the same file, then holds a committed log not yet applied,
// it leaves the writer stopped for the kill and reports true; otherwise it
// lets the writer go on.
func stoppedPastCommit(t *testing.T, cmd *exec.Cmd, ro *kv.DB) bool {
	t.Helper()
	pid := cmd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		return false // it has ended
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, syscall.WUNTRACED, nil); err != nil || !ws.Stopped() {
		t.Fatalf("the writer did not stop: %v, status %v", err, ws)
	}
	if ro.Stats().PendingRepair {
		return true
	}
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	return false
}

// wherKilled reads the header of the file a writer was killed on, before
// anyone repairs it, and names the steps of the in-flight write (counters as
// the writer printed them before it) that the kill interrupted.
func wherKilled(t *testing.T, path string, pid int, counters string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hdr := make([]byte, 256)
	if _, err := f.ReadAt(hdr, 0); err != nil {
		t.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	word := func(off int) uint64 { return binary.LittleEndian.Uint64(hdr[off:]) }
	var rehashes, growths, commits uint64
	var rehash bool
	fmt.Sscanf(counters, "R=%d,G=%d,C=%d,rh=%t", &rehashes, &growths, &commits, &rehash)
	inWrite := word(offWriterPID) == uint64(pid) // the lock was held: between lockWriter and releaseFlock
	committed := word(offCommits) > commits
	// A read-only handle repairs nothing: it sees the dead writer's file.
	ro, err := kv.Open(path, &kv.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open of the dead writer's file: %v", err)
	}
	pending := ro.Stats().PendingRepair // a whole log after the last applied one
	ro.Close()
	var where []string
	if st.Size() > int64(word(offFileSize)) {
		where = append(where, "growth: after ftruncate, before the size was published")
	}
	if word(offGrowths) > growths && !committed {
		where = append(where, "growth: after the file grew, before the write committed")
	}
	if rehash && inWrite && !committed && !pending {
		where = append(where, "rehash: inside a table-rebuilding write, before its commit")
	}
	if rehash && pending {
		where = append(where, "rehash: after a table rebuild's commit point, before its log was applied")
	}
	if pending {
		where = append(where, "commit: after the commit point, before its log was applied")
	}
	if inWrite && !committed && !pending {
		where = append(where, "write: holding the lock, before the commit point")
	}
	_ = rehashes
	return where
}

// checkSnapshotLeft checks what a killed snapshot left: the destination is
// absent or a whole store, and nothing else but its temporary files is there,
// which it removes after counting them.
func checkSnapshotLeft(t *testing.T, dst string) {
	t.Helper()
	if _, err := os.Stat(dst); err == nil {
		s, err := kv.Open(dst, &kv.Options{ReadOnly: true})
		if err != nil {
			t.Fatalf("the snapshot left by a killed snapshotter does not open: %v", err)
		}
		if err := s.Check(); err != nil {
			t.Fatalf("the snapshot left by a killed snapshotter: %v", err)
		}
		err = s.ForEach(func(k, v []byte) error {
			spec, _, ok := bytes.Cut(v, []byte("|"))
			if k := string(k); k == "probe" || (ok && bytes.Equal(v, valueFor(string(spec)))) {
				return nil
			}
			return fmt.Errorf("snapshot value of %s is not a written value: %.40q", k, v)
		})
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	dir, base := filepath.Dir(dst), filepath.Base(dst)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == base || strings.HasSuffix(name, ".kv") && !strings.HasPrefix(name, "."):
		case strings.HasPrefix(name, "."+base+".tmp-"):
			snapshotLeftovers++
			os.Remove(filepath.Join(dir, name))
		default:
			t.Fatalf("a killed snapshot left %s", name)
		}
	}
}

// snapshotLeftovers counts the temporary files killed snapshots left behind.
var snapshotLeftovers int

// TestKilledWriter: writers killed with SIGKILL at random moments, inside a
// table rebuild, past a commit point (from a rebuild's announcement on),
// while growing a small file, and while another process takes snapshots,
// lose no acknowledged write; the next writer gets the lock at once and
// leaves a file that checks clean; a snapshot is never left half written.
func TestKilledWriter(t *testing.T) {
	rounds := 200
	if testing.Short() {
		rounds = 25
	}
	if testproc.RaceEnabled {
		rounds /= 4
	}
	dir := t.TempDir()
	main, grow, snapDst := filepath.Join(dir, "k.kv"), filepath.Join(dir, "g.kv"), filepath.Join(dir, "snap.kv")
	newFile := func(path string) {
		os.Remove(path)
		// Small files, so that kills land in growths and rehashes too.
		db, err := kv.Open(path, &kv.Options{InitialSize: kv.MinFileSize})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	newFile(main)
	newFile(grow)
	ackedMain, ackedGrow := map[string]string{}, map[string]string{}
	rng := rand.New(rand.NewPCG(5, 6))
	snapshotLeftovers = 0
	checked, worst, snapshots := 0, time.Duration(0), 0
	where := map[string]int{}
	spent := make([]time.Duration, 5)
	for round := 0; round < rounds; round++ {
		var r killRound
		began := time.Now()
		switch round % 5 {
		case 0, 1: // random moments on a file with a history
			r = killWriter(t, rng, "acker", main, ackedMain, anyMoment, "")
		case 2, 3: // a file that keeps growing and rebuilding its table
			// Every tenth round aims at a table rebuild: half of them
			// inside one, half past a commit point from the first
			// rebuild's announcement on.
			aim := anyMoment
			switch round % 20 {
			case 2:
				aim = insideRebuild
			case 12:
				aim = rebuildCommit
			}
			r = killWriter(t, rng, "grower", grow, ackedGrow, aim, "")
			if st, err := os.Stat(grow); err == nil && st.Size() > 8<<20 {
				newFile(grow)
				clear(ackedGrow)
			}
		case 4: // a snapshotter killed with the writer
			r = killWriter(t, rng, "acker", main, ackedMain, anyMoment, snapDst)
			snapshots++
		}
		if t.Failed() {
			t.Fatalf("round %d", round)
		}
		spent[round%5] += time.Since(began)
		checked += r.checked
		worst = max(worst, r.recovery)
		for _, w := range r.where {
			where[w]++
		}
	}
	t.Logf("%d kill rounds (%d with a snapshotter), %d acknowledged states checked, worst open+first write %v",
		rounds, snapshots, checked, worst)
	var names []string
	for w := range where {
		names = append(names, w)
	}
	sort.Strings(names)
	for _, w := range names {
		t.Logf("killed in %s: %d", w, where[w])
	}
	t.Logf("time spent: random kills %v, growing file %v, on announced rebuilds %v, with a snapshotter %v",
		spent[0]+spent[1], spent[3], spent[2], spent[4])
	t.Logf("temporary files left by killed snapshots (named .snap.kv.tmp-*): %d", snapshotLeftovers)
	if !testing.Short() && !testproc.RaceEnabled {
		for _, step := range []string{"growth", "rehash", "commit"} {
			n := 0
			for w, c := range where {
				if strings.HasPrefix(w, step+":") {
					n += c
				}
			}
			if n == 0 {
				t.Errorf("no kill landed in a %s in %d rounds", step, rounds)
			}
		}
	}
}
