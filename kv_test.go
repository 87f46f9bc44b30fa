//go:build unix

// End-to-end tests across real processes: the test binary re-executes itself
// as writer and reader children (internal/testproc; each file registers the
// roles it defines), and the parent checks what they did through its own
// mapping of the same file. This file holds TestMain and the loader role that
// several scenarios start from; each scenario has a file of its own.
package mapkv_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/mapkv/mapkv/internal/testproc"
	"github.com/mapkv/mapkv/kv"
)

// TestMain runs a child's role (internal/testproc; each file registers the
// roles it defines) or the tests.
func TestMain(m *testing.M) {
	testproc.Main(m)
}

func init() {
	testproc.Register("loader", func(args []string) error { return loadKeys(args[0], args[1]) })
}

// loadKeys is the loader role: it inserts count keys in small batches.
func loadKeys(path, count string) error {
	n, err := strconv.Atoi(count)
	if err != nil {
		return err
	}
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
}

// loadKey and loadValue are the loader's i-th key and value.
func loadKey(i int) []byte { return []byte(fmt.Sprintf("load-%07d", i)) }

func loadValue(i int) []byte {
	return []byte(fmt.Sprintf("value-%d-%s", i, strings.Repeat("x", i%50)))
}
