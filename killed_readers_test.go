//go:build unix

// Readers killed with SIGKILL leave nothing behind.

package mapkv_test

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mapkv/mapkv/internal/testproc"
	"github.com/mapkv/mapkv/kv"
)

func init() {
	testproc.Register("reader", func(args []string) error { return readLoop(args[0], args[1] == "ro") })
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

// TestKilledReaders: reader processes killed in the middle of ForEach, Get and
// Stats loops leave nothing behind: not a byte of the file changes, no lock
// is held, and a writer takes the lock at once.
func TestKilledReaders(t *testing.T) {
	rounds := 20
	if testing.Short() || testproc.RaceEnabled {
		rounds = 5
	}
	path := filepath.Join(t.TempDir(), "r.kv")
	if err := testproc.Command(t, "loader", path, "6000").Run(); err != nil {
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
			cmd := testproc.Command(t, "reader", path, mode)
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
