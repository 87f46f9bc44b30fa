//go:build unix

// Cache operations across real processes: counters, compare-and-swap and
// expiry seen by other processes.

package mapkv_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/mapkv/mapkv/internal/kvtest"
	"github.com/mapkv/mapkv/internal/testproc"
	"github.com/mapkv/mapkv/kv"
)

// The cache roles (cache-add, cache-cas, cache-ttl, cache-compute) take a
// path and a count.
func init() {
	for _, op := range []string{"add", "cas", "ttl", "compute"} {
		testproc.Register("cache-"+op, func(args []string) error {
			n, err := strconv.Atoi(args[1])
			if err != nil {
				return err
			}
			return runCacheChild(op, args[0], n)
		})
	}
}

func runCacheChild(role, path string, n int) error {
	db, err := kv.Open(path, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	switch role {
	case "add":
		for i := 0; i < n; i++ {
			if _, err := db.Add([]byte("counter"), 1); err != nil {
				return err
			}
		}
	case "cas": // increments by read, then compare-and-swap, retrying on conflict
		for i := 0; i < n; i++ {
			for {
				old, err := db.Get([]byte("cas"))
				if err != nil {
					return err
				}
				next := binary.LittleEndian.AppendUint64(nil, binary.LittleEndian.Uint64(old)+1)
				ok, err := db.CompareAndSwap([]byte("cas"), old, next, 0)
				if err != nil {
					return err
				}
				if ok {
					break
				}
			}
		}
	case "ttl":
		return db.PutTTL([]byte("ephemeral"), []byte("soon gone"), time.Duration(n)*time.Millisecond)
	case "compute": // GetOrCompute; each run of fn is counted with Add
		v, err := db.GetOrCompute(context.Background(), []byte("computed"), time.Hour, func() ([]byte, error) {
			if _, err := db.Add([]byte("fn-runs"), 1); err != nil {
				return nil, err
			}
			time.Sleep(200 * time.Millisecond) // long enough for every process to arrive
			return []byte("the answer"), nil
		})
		if err != nil {
			return err
		}
		if string(v) != "the answer" {
			return fmt.Errorf("GetOrCompute returned %q", v)
		}
	default:
		return fmt.Errorf("unknown role %q", role)
	}
	return nil
}

func runAll(t *testing.T, cmds []*exec.Cmd) {
	t.Helper()
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("child: %v", err)
		}
	}
}

// TestCountersAcrossProcesses: 4 processes Add 1 to one key 10k times each.
func TestCountersAcrossProcesses(t *testing.T) {
	n := 10_000
	if testing.Short() {
		n = 2_000
	}
	path := filepath.Join(t.TempDir(), "c.kv")
	var cmds []*exec.Cmd
	for i := 0; i < 4; i++ {
		cmds = append(cmds, testproc.Command(t, "cache-add", path, strconv.Itoa(n)))
	}
	runAll(t, cmds)
	db, err := kv.Open(path, &kv.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v, err := db.Get([]byte("counter"))
	if err != nil || len(v) != 8 || int(binary.LittleEndian.Uint64(v)) != 4*n {
		t.Fatalf("counter = %v (%v), want %d", v, err, 4*n)
	}
}

// TestCASAcrossProcesses: read-then-CompareAndSwap increments from 4
// processes lose nothing.
func TestCASAcrossProcesses(t *testing.T) {
	n := 2_000
	if testing.Short() {
		n = 500
	}
	db, path := kvtest.OpenTemp(t, nil)
	db.Put([]byte("cas"), make([]byte, 8))
	var cmds []*exec.Cmd
	for i := 0; i < 4; i++ {
		cmds = append(cmds, testproc.Command(t, "cache-cas", path, strconv.Itoa(n)))
	}
	runAll(t, cmds)
	v, _ := db.Get([]byte("cas"))
	if got := int(binary.LittleEndian.Uint64(v)); got != 4*n {
		t.Fatalf("CAS counter = %d, want %d", got, 4*n)
	}
}

// TestExpirySeenByAnotherProcess: a key another process stored with a TTL
// disappears here when its time is up, without any write.
func TestExpirySeenByAnotherProcess(t *testing.T) {
	db, path := kvtest.OpenTemp(t, nil)
	runAll(t, []*exec.Cmd{testproc.Command(t, "cache-ttl", path, "3000")})
	if v, err := db.Get([]byte("ephemeral")); err != nil || string(v) != "soon gone" {
		t.Fatalf("before expiry: %q, %v", v, err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := db.Get([]byte("ephemeral"))
		if errors.Is(err, kv.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the key never expired: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestGetOrComputeAcrossProcesses: 4 processes ask for the same absent key at
// once; fn runs in exactly one of them and all get its value.
func TestGetOrComputeAcrossProcesses(t *testing.T) {
	db, path := kvtest.OpenTemp(t, nil)
	var cmds []*exec.Cmd
	for i := 0; i < 4; i++ {
		cmds = append(cmds, testproc.Command(t, "cache-compute", path, "0"))
	}
	runAll(t, cmds)
	v, err := db.Get([]byte("fn-runs"))
	if err != nil || binary.LittleEndian.Uint64(v) != 1 {
		t.Fatalf("fn ran %v times (%v), want once", v, err)
	}
}
