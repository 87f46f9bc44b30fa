//go:build unix

// Growth past the address range a handle reserved.

package kv

import (
	"errors"
	"fmt"
	"testing"
)

// TestGrowthPastTheReservation: when the file outgrows the address range a
// handle reserved, writers and readers (another handle, as another process)
// remap on their own, readers in flight keep their old mapping, and nothing
// is lost.
func TestGrowthPastTheReservation(t *testing.T) {
	testReserve = 256 << 10
	defer func() { testReserve = 0 }()
	w, path := openTemp(t, &Options{InitialSize: MinFileSize})
	r, err := Open(path, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	stop := make(chan struct{})
	errs := make(chan error, 1)
	go func() { // read all along through the other handle
		for i := 0; ; i++ {
			select {
			case <-stop:
				errs <- nil
				return
			default:
			}
			if _, err := r.Get([]byte(fmt.Sprint("k", i%500))); err != nil && !errors.Is(err, ErrNotFound) {
				errs <- err
				return
			}
		}
	}()
	val := make([]byte, 300)
	for i := 0; i < 20000; i++ {
		if err := w.Put([]byte(fmt.Sprint("k", i)), val); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if len(w.f.retired) == 0 || len(r.f.retired) == 0 {
		t.Fatalf("no remap happened (writer %d, reader %d retired mappings)", len(w.f.retired), len(r.f.retired))
	}
	for i := 0; i < 20000; i++ {
		if _, err := r.Get([]byte(fmt.Sprint("k", i))); err != nil {
			t.Fatalf("k%d after the remaps: %v", i, err)
		}
	}
	if err := w.Check(); err != nil {
		t.Fatal(err)
	}
	t.Logf("file %d bytes; writer remapped %d times, reader %d", w.Stats().FileSize, len(w.f.retired), len(r.f.retired))
}
