//go:build unix

package mapkv_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/mapkv/mapkv/internal/testproc"
	"github.com/mapkv/mapkv/kv"
)

// A cache at its bound with several processes writing at once (issue 11):
// no write fails, the file never passes MaxSize, the file checks clean, and
// each writer's most recent writes are there.

const (
	boundMaxSize = 16 << 20
	tailPuts     = 2000
)

func init() {
	testproc.Register("bound-writer", boundWriter)
}

func boundKey(w, i int) []byte { return []byte(fmt.Sprintf("w%d-%07d", w, i)) }

// boundWriter: args path, writer, puts. Values of shifting sizes: small,
// then 16 KiB, then small again. Before its last tailPuts it says "tail" and
// waits for a line on stdin, so that every writer writes its tail at once.
func boundWriter(args []string) error {
	db, err := kv.Open(args[0], &kv.Options{MaxSize: boundMaxSize, Evict: true})
	if err != nil {
		return err
	}
	defer db.Close()
	w, _ := strconv.Atoi(args[1])
	n, _ := strconv.Atoi(args[2])
	rng := rand.New(rand.NewPCG(uint64(w), 9))
	for i := 0; i < n; i++ {
		if i == n-tailPuts {
			fmt.Println("tail")
			if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
				return err
			}
		}
		size := 20 + rng.IntN(200)
		if i > n/3 && i < 2*n/3 {
			size = 16 << 10
		}
		v := make([]byte, size)
		copy(v, boundKey(w, i))
		if err := db.Put(boundKey(w, i), v); err != nil {
			return fmt.Errorf("writer %d, Put %d (%d bytes): %w", w, i, size, err)
		}
	}
	fmt.Println("done")
	return nil
}

func TestCacheAtTheBoundAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bound.kv")
	db, err := kv.Open(path, &kv.Options{MaxSize: boundMaxSize, Evict: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const writers = 4
	puts := 30000
	if testproc.RaceEnabled || testing.Short() {
		puts = 8000
	}
	type writer struct {
		wait  func() error
		in    io.WriteCloser
		lines *bufio.Scanner
	}
	ws := make([]writer, writers)
	for w := range ws {
		cmd := testproc.Command(t, "bound-writer", path, strconv.Itoa(w), strconv.Itoa(puts))
		in, err1 := cmd.StdinPipe()
		out, err2 := cmd.StdoutPipe()
		if err := errors.Join(err1, err2, cmd.Start()); err != nil {
			t.Fatal(err)
		}
		ws[w] = writer{cmd.Wait, in, bufio.NewScanner(out)}
	}
	for w := range ws { // every writer at its tail, then all of them go
		if !ws[w].lines.Scan() || ws[w].lines.Text() != "tail" {
			t.Fatalf("writer %d: %q, %v", w, ws[w].lines.Text(), ws[w].wait())
		}
	}
	for w := range ws {
		fmt.Fprintln(ws[w].in, "go")
	}
	for w := range ws {
		for ws[w].lines.Scan() {
		}
		if err := ws[w].wait(); err != nil {
			t.Fatalf("writer %d: %v", w, err)
		}
	}
	st := db.Stats()
	if st.FileSize > boundMaxSize || st.Evictions == 0 {
		t.Fatalf("after %d writers of %d Puts each: file %d bytes (MaxSize %d), %d evictions", writers, puts, st.FileSize, boundMaxSize, st.Evictions)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	// The writers wrote their tails together: each one's last small values,
	// half of its quarter of the small FIFO (1/8 of MaxSize), are there.
	recent := boundMaxSize / 8 / writers / 256 / 2
	for w := 0; w < writers; w++ {
		for i := puts - recent; i < puts; i++ {
			if _, err := db.Get(boundKey(w, i)); err != nil {
				t.Fatalf("writer %d's recent key %d (of the last %d) is gone: %v", w, i, recent, err)
			}
		}
	}
	t.Logf("%d writers, %d Puts each: %d keys held, %d evictions, file %d bytes", writers, puts, st.Keys, st.Evictions, st.FileSize)
}
