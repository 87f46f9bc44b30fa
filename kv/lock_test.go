//go:build unix

// The writer lock between handles.

package kv

import (
	"errors"
	"os"
	"testing"
	"time"
)

func TestLockTimeout(t *testing.T) {
	db, path := openTemp(t, nil)
	other, err := Open(path, &Options{LockTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	release := make(chan struct{})
	held := make(chan struct{})
	go db.Update(func(tx *Tx) error {
		close(held)
		<-release
		return nil
	})
	<-held
	if err := other.Put([]byte("k"), nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("Put while another handle holds the lock = %v, want ErrLocked", err)
	}
	if pid := other.Stats().WriterPID; pid != os.Getpid() {
		t.Errorf("Stats.WriterPID = %d, want %d", pid, os.Getpid())
	}
	close(release)
	if err := other.Put([]byte("k"), nil); err != nil {
		t.Fatalf("Put after the lock was released = %v", err)
	}
}
