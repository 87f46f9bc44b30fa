//go:build unix

// Writer processes at once: four processes write disjoint keys.

package mapkv_test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/mapkv/mapkv/internal/testproc"
	"github.com/mapkv/mapkv/kv"
)

func init() {
	testproc.Register("writer", func(args []string) error { return writeKeys(args[0], args[1]) })
}

// writeKeys is the writer role: it writes keys w<w>-0 .. w<w>-4999.
func writeKeys(path, w string) error {
	db, err := kv.Open(path, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	for i := 0; i < 5000; i++ {
		k := fmt.Sprintf("w%s-%d", w, i)
		if err := db.Put([]byte(k), []byte("v-"+k)); err != nil {
			return err
		}
	}
	return nil
}

// TestWritersInParallel: four processes write disjoint keys at once; every key
// is there afterwards and the file is consistent.
func TestWritersInParallel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.kv")
	var cmds []*exec.Cmd
	for i := 0; i < 4; i++ {
		cmd := testproc.Command(t, "writer", path, strconv.Itoa(i))
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
