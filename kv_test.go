//go:build unix

// End-to-end tests across real processes: the test binary re-executes itself
// as writer and reader children (see TestMain), and the parent checks what
// they did through its own mapping of the same file.
package mapkv_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mapkv/mapkv/internal/testproc"
	"github.com/mapkv/mapkv/kv"
)

// TestMain runs a child role when the environment names one.
func TestMain(m *testing.M) {
	testproc.RunChild()
	if role := os.Getenv("MAPKV_CHILD"); role != "" {
		if err := runChild(role, os.Getenv("MAPKV_PATH"), os.Args[len(os.Args)-1]); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child starts the test binary as a child process in role on path.
func child(t *testing.T, role, path, arg string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", arg)
	cmd.Env = append(os.Environ(), "MAPKV_CHILD="+role, "MAPKV_PATH="+path)
	cmd.Stderr = os.Stderr
	return cmd
}

func runChild(role, path, arg string) error {
	n, _ := strconv.Atoi(arg)
	switch role {
	case "writer": // writes keys w<arg>-0 .. w<arg>-4999
		db, err := kv.Open(path, nil)
		if err != nil {
			return err
		}
		defer db.Close()
		for i := 0; i < 5000; i++ {
			k := fmt.Sprintf("w%d-%d", n, i)
			if err := db.Put([]byte(k), []byte("v-"+k)); err != nil {
				return err
			}
		}
		return nil
	case "loader": // inserts n keys in small batches
		db, err := kv.Open(path, nil)
		if err != nil {
			return err
		}
		defer db.Close()
		for i := 0; i < n; i += 100 {
			err := db.Update(func(tx *kv.Tx) error {
				for j := i; j < min(i+100, n); j++ {
					if err := tx.Put(loadKey(j), loadValue(j)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	case "churn": // overwrites and deletes self-validating values until killed or n ms pass
		db, err := kv.Open(path, nil)
		if err != nil {
			return err
		}
		defer db.Close()
		rng := rand.New(rand.NewPCG(uint64(os.Getpid()), 7))
		deadline := time.Now().Add(time.Duration(n) * time.Millisecond)
		for seq := uint64(1); time.Now().Before(deadline); seq++ {
			k := fmt.Sprintf("c%d", rng.IntN(300))
			if rng.IntN(10) == 0 {
				if err := db.Delete([]byte(k)); err != nil {
					return err
				}
				continue
			}
			if err := db.Put([]byte(k), selfValue(k, seq, rng)); err != nil {
				return err
			}
		}
		return nil
	case "acker": // writes and acknowledges on stdout each write that returned
		return ackingWriter(path, "mix")
	case "grower": // like acker, with new keys and large values: growths and rehashes
		return ackingWriter(path, "grow")
	case "snapshotter": // snapshots path to arg over and over until killed
		return snapshotLoop(path, arg)
	case "reader": // reads (ForEach, Get, Stats) until killed; arg "ro" opens read-only
		return readLoop(path, arg == "ro")
	case "fsize": // writes under RLIMIT_FSIZE = arg bytes until a Put fails
		return fileSizeChild(path, int64(n))
	case "nobody": // runs as an unprivileged user against a file it may only read
		return noWriteChild(path)
	}
	return fmt.Errorf("unknown role %q", role)
}

func loadKey(i int) []byte   { return []byte(fmt.Sprintf("load-%07d", i)) }
func loadValue(i int) []byte { return []byte(fmt.Sprintf("value-%d-%s", i, strings.Repeat("x", i%50))) }

// selfValue is key | seq | filler | crc32 of all before: a reader can tell a
// whole value from a torn or misplaced one.
func selfValue(key string, seq uint64, rng *rand.Rand) []byte {
	n := rng.IntN(300)
	if rng.IntN(20) == 0 {
		n = 3000 + rng.IntN(10000) // a chained record
	}
	v := append([]byte(key+"|"), binary.LittleEndian.AppendUint64(nil, seq)...)
	for i := 0; i < n; i++ {
		v = append(v, byte(seq)+byte(i))
	}
	return binary.LittleEndian.AppendUint32(v, crc32.ChecksumIEEE(v))
}

func checkSelfValue(key string, v []byte) error {
	if len(v) < len(key)+1+8+4 {
		return fmt.Errorf("%s: value of %d bytes is too short", key, len(v))
	}
	body, sum := v[:len(v)-4], binary.LittleEndian.Uint32(v[len(v)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return fmt.Errorf("%s: torn value (crc mismatch, %d bytes)", key, len(v))
	}
	if !bytes.HasPrefix(v, []byte(key+"|")) {
		return fmt.Errorf("%s: value belongs to another key: %q", key, v[:min(len(v), 20)])
	}
	return nil
}

// TestWritersInParallel: four processes write disjoint keys at once; every key
// is there afterwards and the file is consistent.
func TestWritersInParallel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.kv")
	var cmds []*exec.Cmd
	for i := 0; i < 4; i++ {
		cmd := child(t, "writer", path, strconv.Itoa(i))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("writer: %v", err)
		}
	}
	db, err := kv.Open(path, &kv.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for w := 0; w < 4; w++ {
		for i := 0; i < 5000; i++ {
			k := fmt.Sprintf("w%d-%d", w, i)
			if v, err := db.Get([]byte(k)); err != nil || string(v) != "v-"+k {
				t.Fatalf("Get(%s) = %q, %v", k, v, err)
			}
		}
	}
	if n := db.Stats().Keys; n != 20000 {
		t.Fatalf("Keys = %d, want 20000", n)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestReaderFollowsGrowth: a reader opened on a small new file reads, without
// reopening, 200k keys another process inserts through many growths.
func TestReaderFollowsGrowth(t *testing.T) {
	n := 200_000
	if testing.Short() {
		n = 50_000
	}
	path := filepath.Join(t.TempDir(), "g.kv")
	db, err := kv.Open(path, &kv.Options{InitialSize: kv.MinFileSize})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	before := db.Stats()
	cmd := child(t, "loader", path, strconv.Itoa(n))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Read while the loader grows the file: any key found has its value.
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	rng := rand.New(rand.NewPCG(3, 4))
	reads := 0
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("loader: %v", err)
			}
			running = false
		default:
			i := rng.IntN(n)
			v, err := db.Get(loadKey(i))
			if err == nil && !bytes.Equal(v, loadValue(i)) {
				t.Fatalf("Get(%s) = %q during growth", loadKey(i), v)
			}
			if err != nil && !errors.Is(err, kv.ErrNotFound) {
				t.Fatalf("Get during growth: %v", err)
			}
			reads++
		}
	}
	for i := 0; i < n; i++ {
		if v, err := db.Get(loadKey(i)); err != nil || !bytes.Equal(v, loadValue(i)) {
			t.Fatalf("Get(%s) = %q, %v", loadKey(i), v, err)
		}
	}
	after := db.Stats()
	if after.Keys != int64(n) || after.FileSize <= before.FileSize || after.Growths < 5 {
		t.Fatalf("after load: %+v", after)
	}
	t.Logf("%d reads during the load; file %d -> %d bytes, %d growths, %d rehashes",
		reads, before.FileSize, after.FileSize, after.Growths, after.Rehashes)
}

// TestReadersNeverSeeTornValues: reader goroutines in this process loop over
// self-validating values while writer processes overwrite and delete them.
func TestReadersNeverSeeTornValues(t *testing.T) {
	ms := 3000
	if testing.Short() {
		ms = 800
	}
	path := filepath.Join(t.TempDir(), "t.kv")
	db, err := kv.Open(path, &kv.Options{InitialSize: kv.MinFileSize})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var cmds []*exec.Cmd
	for i := 0; i < 2; i++ {
		cmd := child(t, "churn", path, strconv.Itoa(ms))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failure error
	counts := make([]int, 2)
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			var buf []byte
			for {
				select {
				case <-stop:
					return
				default:
				}
				k := fmt.Sprintf("c%d", rng.IntN(300))
				v, err := db.AppendGet(buf[:0], []byte(k))
				buf = v
				if err == nil {
					err = checkSelfValue(k, v)
				} else if errors.Is(err, kv.ErrNotFound) {
					err = nil
				}
				if err != nil {
					mu.Lock()
					failure = err
					mu.Unlock()
					return
				}
				counts[g]++
			}
		}(g)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("churn writer: %v", err)
		}
	}
	close(stop)
	wg.Wait()
	if failure != nil {
		t.Fatal(failure)
	}
	if counts[0]+counts[1] < 1000 {
		t.Fatalf("only %d reads", counts[0]+counts[1])
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d validated reads against %d commits", counts[0]+counts[1], db.Stats().Commits)
}

// Header words the crash tests read raw, to tell where a kill landed
// (docs/format.md, "Header").
const (
	offFileSize   = 72
	offPendingLog = 136
	offWriterPID  = 144
	offGrowths    = 224
	offRehashes   = 232
	offCommits    = 240
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
// landed.
func ackingWriter(path, mode string) error {
	db, err := kv.Open(path, nil)
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
		switch {
		case op == "del":
			err = db.Delete([]byte(keys[0]))
		case len(keys) == 1:
			err = db.Put([]byte(keys[0]), v)
		default:
			err = db.Update(func(tx *kv.Tx) error {
				for _, k := range keys {
					if err := tx.Put([]byte(k), v); err != nil {
						return err
					}
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

// readLoop reads until killed: ForEach over everything, Gets and Stats.
func readLoop(path string, ro bool) error {
	db, err := kv.Open(path, &kv.Options{ReadOnly: ro})
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(os.Getpid()), 2))
	var buf []byte
	for i := 0; ; i++ {
		n := 0
		if err := db.ForEach(func(k, v []byte) error { n++; return nil }); err != nil {
			return err
		}
		for j := 0; j < 1000; j++ {
			if buf, err = db.AppendGet(buf[:0], loadKey(rng.IntN(6000))); err != nil && !errors.Is(err, kv.ErrNotFound) {
				return err
			}
		}
		db.Stats()
		if i == 0 {
			fmt.Fprintf(os.Stdout, "ready %d\n", n)
		}
	}
}

// killRound is what a kill round learned.
type killRound struct {
	checked  int           // acknowledged keys verified
	recovery time.Duration // open + first write after the kill
	where    []string      // where the kill landed, as far as the file tells
}

// killWriter runs one round: it starts role on path (and a snapshotter to
// snapDst if set), kills them, and checks that the next writer repairs the
// file at once and that every acknowledged write is there. With onRehash the
// writer is killed right after it announces a write that rebuilds the table.
func killWriter(t *testing.T, rng *rand.Rand, role, path string, acked map[string]string, onRehash bool, snapDst string) killRound {
	t.Helper()
	var r killRound
	cmd := child(t, role, path, "0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var snap *exec.Cmd
	if snapDst != "" {
		snap = child(t, "snapshotter", path, snapDst)
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
	if onRehash {
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
	var pending []string // "will", op, keys, value spec, counters
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
			pending = strings.SplitN(line, " ", 5)
			if onRehash && !killed && strings.HasSuffix(line, "rh=true") {
				time.Sleep(time.Duration(rng.IntN(400)) * time.Microsecond)
				kill()
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
	pending := word(offPendingLog) != 0
	var where []string
	if st.Size() > int64(word(offFileSize)) {
		where = append(where, "growth: after ftruncate, before the size was published")
	}
	if word(offGrowths) > growths && !committed {
		where = append(where, "growth: after the file grew, before the write committed")
	}
	if rehash && inWrite && !committed {
		where = append(where, "rehash: inside a table-rebuilding write, before its commit")
	}
	if rehash && pending {
		where = append(where, "rehash: after a table rebuild's commit point, before its log was applied")
	}
	if pending {
		where = append(where, "commit: after the commit point, before the log was retired")
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

// TestKilledWriter: writers killed with SIGKILL at random moments, right
// after announcing a table rebuild, while growing a small file, and while
// another process takes snapshots, lose no acknowledged write; the next
// writer gets the lock at once and leaves a file that checks clean; a
// snapshot is never left half written.
func TestKilledWriter(t *testing.T) {
	rounds := 200
	if testing.Short() {
		rounds = 25
	}
	if raceEnabled {
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
			r = killWriter(t, rng, "acker", main, ackedMain, false, "")
		case 2, 3: // a file that keeps growing and rebuilding its table
			r = killWriter(t, rng, "grower", grow, ackedGrow, round%10 == 2, "")
			if st, err := os.Stat(grow); err == nil && st.Size() > 8<<20 {
				newFile(grow)
				clear(ackedGrow)
			}
		case 4: // a snapshotter killed with the writer
			r = killWriter(t, rng, "acker", main, ackedMain, false, snapDst)
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
	if !testing.Short() && !raceEnabled {
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

// TestKilledReaders: reader processes killed in the middle of ForEach, Get and
// Stats loops leave nothing behind: not a byte of the file changes, no lock
// is held, and a writer takes the lock at once.
func TestKilledReaders(t *testing.T) {
	rounds := 20
	if testing.Short() || raceEnabled {
		rounds = 5
	}
	path := filepath.Join(t.TempDir(), "r.kv")
	if err := child(t, "loader", path, "6000").Run(); err != nil {
		t.Fatal(err)
	}
	sum := func() [32]byte {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(b)
	}
	before := sum()
	rng := rand.New(rand.NewPCG(7, 8))
	for round := 0; round < rounds; round++ {
		var cmds []*exec.Cmd
		ready := make(chan string, 3)
		for i := 0; i < 3; i++ {
			mode := []string{"ro", "rw", "ro"}[i]
			cmd := child(t, "reader", path, mode)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() {
				sc := bufio.NewScanner(out)
				sc.Scan()
				ready <- sc.Text()
				io.Copy(io.Discard, out)
			}()
			cmds = append(cmds, cmd)
		}
		for range cmds {
			if line := <-ready; line != "ready 6000" {
				t.Fatalf("round %d: a reader said %q", round, line)
			}
		}
		time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
		for _, cmd := range cmds {
			_ = cmd.Process.Signal(syscall.SIGKILL)
		}
		for _, cmd := range cmds {
			if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
				t.Fatalf("round %d: reader ended with %v before the kill", round, err)
			}
		}
	}
	if sum() != before {
		t.Fatal("killed readers changed the file")
	}
	db, err := kv.Open(path, &kv.Options{LockTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if pid := db.Stats().WriterPID; pid != 0 {
		t.Fatalf("after killed readers Stats.WriterPID = %d, want 0", pid)
	}
	start := time.Now()
	if err := db.Put([]byte("after"), []byte("readers")); err != nil {
		t.Fatalf("a writer after killed readers: %v", err)
	}
	took := time.Since(start)
	if st := db.Stats(); st.WriterPID != 0 || st.PendingRepair {
		t.Fatalf("after the write: %+v", st)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rounds of 3 killed readers; the file is unchanged; the next write took %v", rounds, took)
}

// fsKey and fsValue are what fileSizeChild stores: 100-byte values in one size
// class, and every 50th a chained 6000-byte value.
func fsKey(i int) []byte { return []byte(fmt.Sprintf("f%06d", i)) }

func fsValue(i, gen int) []byte {
	n := 100
	if i%50 == 49 {
		n = 6000
	}
	return bytes.Repeat([]byte{byte('A' + (i+gen)%26)}, n)
}

// fileSizeChild sets RLIMIT_FSIZE (Go ignores SIGXFSZ, so growing the file
// fails with EFBIG instead of killing the process), writes until a Put
// fails, and checks what the store does at its limit. It prints "ok <keys
// stored>" when all is as it should be.
func fileSizeChild(path string, limit int64) error {
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: uint64(limit), Max: uint64(limit)}); err != nil {
		return err
	}
	db, err := kv.Open(path, &kv.Options{InitialSize: kv.MinFileSize})
	if err != nil {
		return err
	}
	defer db.Close()
	n := 0
	var putErr error
	for ; n < 1<<20; n++ {
		if putErr = db.Put(fsKey(n), fsValue(n, 0)); putErr != nil {
			break
		}
	}
	causeOK := func(what string, err error) error {
		switch {
		case err == nil:
			return fmt.Errorf("%s past the file size limit succeeded", what)
		case errors.Is(err, kv.ErrCorrupt):
			return fmt.Errorf("%s at the file size limit = %v: ErrCorrupt", what, err)
		case !errors.Is(err, syscall.EFBIG) || !strings.Contains(err.Error(), "file too large"):
			return fmt.Errorf("%s at the file size limit = %v: the cause (EFBIG, file too large) is not in it", what, err)
		}
		return nil
	}
	if err := causeOK("Put", putErr); err != nil {
		return err
	}
	if err := causeOK("a second Put", db.Put([]byte("big"), make([]byte, 300<<10))); err != nil {
		return err
	}
	if st := db.Stats(); st.FileSize > limit || st.Keys != int64(n) {
		return fmt.Errorf("at the limit: %d bytes (limit %d), %d keys (stored %d)", st.FileSize, limit, st.Keys, n)
	}
	// An overwrite needs a free object of its class before the old one is
	// freed: it may fail here, but only for the same reason.
	if err := db.Put(fsKey(0), fsValue(0, 1)); err != nil {
		if err := causeOK("an overwrite", err); err != nil {
			return err
		}
	}
	for i := 0; i < 10; i++ { // deletes always fit, and make room
		if err := db.Delete(fsKey(i)); err != nil {
			return fmt.Errorf("Delete at the limit: %v", err)
		}
	}
	for i := 10; i < 20; i++ {
		if err := db.Put(fsKey(i), fsValue(i, 1)); err != nil {
			return fmt.Errorf("same-size overwrite after deletes at the limit: %v", err)
		}
	}
	var txErr error
	err = db.Update(func(tx *kv.Tx) error {
		if err := tx.Put(fsKey(20), fsValue(20, 1)); err != nil {
			return err
		}
		txErr = tx.Put([]byte("big"), make([]byte, 300<<10))
		return nil // the failed Put is undone; the first one commits
	})
	if err != nil {
		return fmt.Errorf("Update at the limit: %v", err)
	}
	if err := causeOK("Tx.Put", txErr); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		v, err := db.Get(fsKey(i))
		switch {
		case i < 10:
			if !errors.Is(err, kv.ErrNotFound) {
				return fmt.Errorf("deleted %s: %q, %v", fsKey(i), v, err)
			}
		case i <= 20:
			if err != nil || !bytes.Equal(v, fsValue(i, 1)) {
				return fmt.Errorf("overwritten %s: %d bytes, %v", fsKey(i), len(v), err)
			}
		default:
			if err != nil || !bytes.Equal(v, fsValue(i, 0)) {
				return fmt.Errorf("stored %s: %d bytes, %v", fsKey(i), len(v), err)
			}
		}
	}
	if _, err := db.Get([]byte("big")); !errors.Is(err, kv.ErrNotFound) {
		return fmt.Errorf("a failed Put left its key: %v", err)
	}
	count := 0
	if err := db.ForEach(func(k, v []byte) error { count++; return nil }); err != nil || count != n-10 {
		return fmt.Errorf("ForEach at the limit: %d keys, %v", count, err)
	}
	if err := db.Check(); err != nil {
		return err
	}
	fmt.Printf("ok %d %d %s\n", n, db.Stats().FileSize, strings.ReplaceAll(putErr.Error(), " ", "_"))
	return nil
}

// TestFileSizeLimit: a process whose file size limit stops the file from
// growing gets an error naming the cause from Put (not a crash, not
// ErrCorrupt); what it stored stays intact and readable, deletes and writes
// that fit still work, and the file checks clean, there and afterwards in a
// process without the limit, which can grow it again.
func TestFileSizeLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fsize.kv")
	const limit = 1 << 20
	cmd := child(t, "fsize", path, strconv.Itoa(limit))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child under RLIMIT_FSIZE: %v", err)
	}
	var n, size int
	var msg string
	if _, err := fmt.Sscanf(string(out), "ok %d %d %s", &n, &size, &msg); err != nil || n < 1000 {
		t.Fatalf("child said %q", out)
	}
	t.Logf("under a %d-byte limit: %d keys in a %d-byte file, then Put: %s", limit, n, size, strings.ReplaceAll(msg, "_", " "))
	db, err := kv.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	for i := 21; i < n; i++ {
		if v, err := db.Get(fsKey(i)); err != nil || !bytes.Equal(v, fsValue(i, 0)) {
			t.Fatalf("Get(%s) = %d bytes, %v", fsKey(i), len(v), err)
		}
	}
	if err := db.Put([]byte("big"), make([]byte, 300<<10)); err != nil {
		t.Fatalf("Put without the limit: %v", err)
	}
	if st := db.Stats(); st.FileSize <= limit {
		t.Fatalf("the file did not grow past the old limit: %d bytes", st.FileSize)
	}
}

// noWriteChild runs as user nobody against a store it may read but not write,
// in a directory it may not write.
func noWriteChild(path string) error {
	_, err := kv.Open(path, nil)
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "ReadOnly") {
		return fmt.Errorf("Open(file without write permission) = %v; want a permission error that suggests ReadOnly", err)
	}
	db, err := kv.Open(path, &kv.Options{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("Open(ReadOnly) = %v", err)
	}
	defer db.Close()
	if v, err := db.Get([]byte("k")); err != nil || string(v) != "v" {
		return fmt.Errorf("read-only Get = %q, %v", v, err)
	}
	if err := db.Check(); err != nil {
		return fmt.Errorf("read-only Check = %v", err)
	}
	if err := db.Put([]byte("k"), nil); !errors.Is(err, kv.ErrReadOnly) {
		return fmt.Errorf("read-only Put = %v", err)
	}
	dir := filepath.Dir(path)
	if err := db.Snapshot(filepath.Join(dir, "snap.kv")); !errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("Snapshot into a directory without write permission = %v", err)
	}
	if _, err := kv.Open(filepath.Join(dir, "new.kv"), nil); !errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("Open(new file in a directory without write permission) = %v", err)
	}
	fmt.Println("ok")
	return nil
}

// TestNoWritePermission: a user who may only read the file gets an error that
// suggests ReadOnly from a read-write Open, and a ReadOnly Open works. Root
// may write any file, so as root the check runs in a child as user nobody;
// kv's TestWriteProtectedFile covers the non-root case.
func TestNoWritePermission(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a child as user nobody; see kv's TestWriteProtectedFile")
	}
	dir, err := os.MkdirTemp("", "mapkv-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// nobody cannot reach the test binary in go test's private work
	// directory: run a copy.
	bin := filepath.Join(dir, "mapkv.test")
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ro.kv")
	db, err := kv.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Put([]byte("k"), []byte("v"))
	db.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	cmd := exec.Command(bin, "-test.run=^$", "0")
	cmd.Env = append(os.Environ(), "MAPKV_CHILD=nobody", "MAPKV_PATH="+path)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.Output()
	if errors.Is(err, fs.ErrPermission) {
		t.Skipf("cannot start a child as nobody here: %v", err)
	}
	if err != nil || string(out) != "ok\n" {
		t.Fatalf("child as nobody: %v, said %q", err, out)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("the read-only user changed the file")
	}
}
