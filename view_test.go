//go:build unix

package mapkv_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mapkv/mapkv/internal/testproc"
	"github.com/mapkv/mapkv/kv"
)

// Consistent multi-key reads across processes: writer processes move amounts
// between ten accounts in Updates (some of which fail on purpose), so the
// accounts always sum to 0; reader processes check the sum inside View.

const viewAccounts = 10

func init() {
	testproc.Register("view-writer", viewWriter)
	testproc.Register("view-reader", viewReader)
}

func account(i int) []byte { return []byte(fmt.Sprintf("acct-%d", i)) }

func amount(v []byte) (int64, error) {
	if len(v) != 8 {
		return 0, fmt.Errorf("an account of %d bytes", len(v))
	}
	return int64(binary.LittleEndian.Uint64(v)), nil
}

// viewWriter: args path, milliseconds.
func viewWriter(args []string) error {
	db, err := kv.Open(args[0], nil)
	if err != nil {
		return err
	}
	defer db.Close()
	ms, _ := strconv.Atoi(args[1])
	rng := rand.New(rand.NewPCG(uint64(os.Getpid()), 1))
	abandon := errors.New("abandoned")
	for deadline := time.Now().Add(time.Duration(ms) * time.Millisecond); time.Now().Before(deadline); {
		from, to, n := rng.IntN(viewAccounts), rng.IntN(viewAccounts), int64(rng.IntN(100))
		fail := rng.IntN(8) == 0
		err := db.Update(func(tx *kv.Tx) error {
			move := func(i int, d int64) error {
				v, err := tx.Get(account(i))
				if err != nil {
					return err
				}
				a, err := amount(v)
				if err != nil {
					return err
				}
				return tx.Put(account(i), binary.LittleEndian.AppendUint64(nil, uint64(a+d)))
			}
			if err := move(from, -n); err != nil {
				return err
			}
			if err := move(to, n); err != nil {
				return err
			}
			if fail {
				return abandon // both moves are undone
			}
			return nil
		})
		if err != nil && err != abandon {
			return err
		}
	}
	return nil
}

// viewReader: args path, milliseconds. Prints views and the sums it saw.
func viewReader(args []string) error {
	db, err := kv.Open(args[0], nil)
	if err != nil {
		return err
	}
	defer db.Close()
	ms, _ := strconv.Atoi(args[1])
	views := 0
	for deadline := time.Now().Add(time.Duration(ms) * time.Millisecond); time.Now().Before(deadline); views++ {
		err := db.View(func(tx *kv.ReadTx) error {
			var sum int64
			for i := 0; i < viewAccounts; i++ {
				v, err := tx.Get(account(i))
				if err != nil {
					return err
				}
				a, err := amount(v)
				if err != nil {
					return err
				}
				sum += a
			}
			if sum != 0 {
				return fmt.Errorf("the accounts sum to %d inside a View", sum)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	fmt.Printf("views %d\n", views)
	return nil
}

func TestViewAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "view.kv")
	db, err := kv.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *kv.Tx) error {
		for i := 0; i < viewAccounts; i++ {
			if err := tx.Put(account(i), make([]byte, 8)); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	ms := "1500"
	if testproc.RaceEnabled || testing.Short() {
		ms = "500"
	}
	start := func(role string) func() (string, error) {
		cmd := testproc.Command(t, role, path, ms)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return func() (string, error) {
			var lines []string
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines = append(lines, sc.Text())
			}
			return strings.Join(lines, "\n"), cmd.Wait()
		}
	}
	waits := []func() (string, error){start("view-writer"), start("view-writer"), start("view-reader"), start("view-reader")}
	total := 0
	for i, wait := range waits {
		out, err := wait()
		if err != nil {
			t.Fatalf("child %d: %v", i, err)
		}
		if n, ok := strings.CutPrefix(out, "views "); ok {
			v, _ := strconv.Atoi(n)
			total += v
		}
	}
	if total == 0 {
		t.Fatal("the readers made no views")
	}
	t.Logf("%d consistent views of %d accounts in 2 reader processes while 2 writer processes moved amounts", total, viewAccounts)
}
