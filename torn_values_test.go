//go:build unix

// Readers never see a torn value while writer processes overwrite and delete
// self-validating values.

package mapkv_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mapkv/mapkv/internal/kvtest"
	"github.com/mapkv/mapkv/internal/testproc"
	"github.com/mapkv/mapkv/kv"
)

func init() {
	testproc.Register("churn", func(args []string) error { return churn(args[0], args[1]) })
}

// churn is the churn role: it overwrites and deletes self-validating values
// until killed or ms milliseconds pass.
func churn(path, ms string) error {
	n, err := strconv.Atoi(ms)
	if err != nil {
		return err
	}
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
}

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

// TestReadersNeverSeeTornValues: reader goroutines in this process loop over
// self-validating values while writer processes overwrite and delete them.
func TestReadersNeverSeeTornValues(t *testing.T) {
	ms := 3000
	if testing.Short() {
		ms = 800
	}
	db, path := kvtest.OpenTemp(t, &kv.Options{InitialSize: kv.MinFileSize})
	var cmds []*exec.Cmd
	for i := 0; i < 2; i++ {
		cmd := testproc.Command(t, "churn", path, strconv.Itoa(ms))
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
