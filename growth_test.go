//go:build unix

// A reader follows another process's growths without reopening.

package mapkv_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/mapkv/mapkv/internal/kvtest"
	"github.com/mapkv/mapkv/internal/testproc"
	"github.com/mapkv/mapkv/kv"
)

// TestReaderFollowsGrowth: a reader opened on a small new file reads, without
// reopening, 200k keys another process inserts through many growths.
func TestReaderFollowsGrowth(t *testing.T) {
	n := 200_000
	if testing.Short() {
		n = 50_000
	}
	db, path := kvtest.OpenTemp(t, &kv.Options{InitialSize: kv.MinFileSize})
	before := db.Stats()
	cmd := testproc.Command(t, "loader", path, strconv.Itoa(n))
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
