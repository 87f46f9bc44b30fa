package kvtest

import (
	"errors"
	"os"
	"testing"

	"github.com/mapkv/mapkv/kv"
)

func TestOpenTempClosesAtCleanup(t *testing.T) {
	var db *kv.DB
	var path string
	t.Run("inner", func(t *testing.T) {
		db, path = OpenTemp(t, &kv.Options{InitialSize: kv.MinFileSize})
		if err := db.Put([]byte("k"), []byte("v")); err != nil {
			t.Fatal(err)
		}
		if st, err := os.Stat(path); err != nil || st.Size() < kv.MinFileSize {
			t.Fatalf("OpenTemp's file: %v, %v", st, err)
		}
	})
	if _, err := db.Get([]byte("k")); !errors.Is(err, kv.ErrClosed) {
		t.Fatalf("Get after the test that opened it ended = %v, want ErrClosed", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the temporary file outlived its test: %v", err)
	}
}
