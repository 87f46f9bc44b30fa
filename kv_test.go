//go:build unix

// End-to-end tests across real processes: the test binary re-executes itself
// as writer and reader children (see TestMain), and the parent checks what
// they did through its own mapping of the same file.
package mapkv_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mapkv/mapkv/kv"
)

// TestMain runs a child role when the environment names one.
func TestMain(m *testing.M) {
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
		return ackingWriter(path)
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

// ackingWriter writes forever (single Puts, deletes and Update batches) until
// the parent kills it. Before each write it prints what it will do, after it
// returns "done": the parent then knows every acknowledged write and the one
// in flight.
func ackingWriter(path string) error {
	db, err := kv.Open(path, nil)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(os.Getpid()), 1))
	seq := uint64(time.Now().UnixNano())
	for {
		seq++
		v := fmt.Sprintf("%d|%s", seq, strings.Repeat("v", rng.IntN(200)))
		keys := make([]string, 1)
		op := "put"
		switch rng.IntN(10) {
		case 0:
			op = "del"
		case 1:
			op, keys = "put", make([]string, 2+rng.IntN(40))
		}
		for i := range keys {
			keys[i] = fmt.Sprintf("k%d", rng.IntN(20000))
		}
		fmt.Fprintf(os.Stdout, "will %s %s %s\n", op, strings.Join(keys, ","), v)
		switch {
		case op == "del":
			err = db.Delete([]byte(keys[0]))
		case len(keys) == 1:
			err = db.Put([]byte(keys[0]), []byte(v))
		default:
			err = db.Update(func(tx *kv.Tx) error {
				for _, k := range keys {
					if err := tx.Put([]byte(k), []byte(v)); err != nil {
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

// TestKilledWriter: a writer killed with SIGKILL at random moments loses no
// acknowledged write, leaves a consistent file and no lock.
func TestKilledWriter(t *testing.T) {
	rounds := 50
	if testing.Short() {
		rounds = 15
	}
	path := filepath.Join(t.TempDir(), "k.kv")
	// A small file so that kills land in growths and rehashes too.
	if db, err := kv.Open(path, &kv.Options{InitialSize: kv.MinFileSize}); err != nil {
		t.Fatal(err)
	} else {
		db.Close()
	}
	acked := map[string]string{} // key -> last acknowledged value ("" = deleted)
	rng := rand.New(rand.NewPCG(5, 6))
	checked, worst := 0, time.Duration(0)
	for round := 0; round < rounds; round++ {
		cmd := child(t, "acker", path, "0")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1<<16)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		time.Sleep(time.Duration(5+rng.IntN(60)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		// The write in flight at the kill may or may not have landed.
		var pending []string // "will", op, keys, value
		inflight := map[string]string{}
		for line := range lines {
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
			pending = strings.SplitN(line, " ", 4)
		}
		_ = cmd.Wait()
		if len(pending) == 4 {
			for _, k := range strings.Split(pending[2], ",") {
				inflight[k] = pending[3]
				if pending[1] == "del" {
					inflight[k] = ""
				}
			}
		}

		start := time.Now()
		db, err := kv.Open(path, &kv.Options{LockTimeout: 2 * time.Second})
		if err != nil {
			t.Fatalf("round %d: open: %v", round, err)
		}
		// The next writer gets the lock at once and repairs what was left.
		if err := db.Put([]byte("probe"), []byte(strconv.Itoa(round))); err != nil {
			t.Fatalf("round %d: first write after the kill: %v", round, err)
		}
		worst = max(worst, time.Since(start))
		if err := db.Check(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for k, want := range acked {
			got, err := db.Get([]byte(k))
			if err != nil && !errors.Is(err, kv.ErrNotFound) {
				t.Fatalf("round %d: Get(%s): %v", round, k, err)
			}
			if string(got) == want {
				checked++
				continue
			}
			if alt, ok := inflight[k]; ok && string(got) == alt {
				acked[k] = alt
				continue
			}
			t.Fatalf("round %d: Get(%s) = %.30q, %v; last acknowledged %.30q", round, k, got, err, want)
		}
		for k, v := range inflight { // a new key the in-flight write may have added
			if _, ok := acked[k]; !ok {
				if got, err := db.Get([]byte(k)); err == nil && string(got) == v {
					acked[k] = v
				}
			}
		}
		db.Close()
	}
	t.Logf("%d kill rounds, %d acknowledged states checked, worst open+first write %v", rounds, checked, worst)
}
