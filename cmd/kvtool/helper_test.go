package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/mapkv/mapkv/kv"
)

// The test binary runs as a helper process through internal/testproc
// (registered in TestMain): starting kvtool in a loop would be too slow to
// keep a writer busy.

// transferTotal is what keys "a" and "b" hold together in every committed
// state of the transfer helper's file.
const transferTotal = 1000

// transfer moves one unit at a time between keys "a" and "b" of path in
// Update batches, keeping a+b == transferTotal, and meanwhile adds and
// removes filler records so that pages are allocated and freed and the file
// grows while snapshots run. It prints "ready" after its first commit and
// stops when its stdin is closed.
func transfer(path string) error {
	db, err := kv.Open(path, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	stop := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(stop)
	}()
	out := bufio.NewWriter(os.Stdout)
	filler := make([]byte, 3000)
	for i := 0; ; i++ {
		select {
		case <-stop:
			return nil
		default:
		}
		err := db.Update(func(tx *kv.Tx) error {
			a, err := getInt(tx, "a")
			if err != nil {
				return err
			}
			b, err := getInt(tx, "b")
			if err != nil {
				return err
			}
			// Drain a into b, then b into a, and so on.
			if (i/transferTotal)%2 == 0 && a > 0 || b == 0 {
				a, b = a-1, b+1
			} else {
				a, b = a+1, b-1
			}
			if err := tx.Put([]byte("a"), []byte(strconv.Itoa(a))); err != nil {
				return err
			}
			for j := range filler {
				filler[j] = byte(i + j)
			}
			if err := tx.Put([]byte(fmt.Sprintf("filler-%d", i%500)), filler[:i%len(filler)]); err != nil {
				return err
			}
			if i%7 == 0 {
				if err := tx.Delete([]byte(fmt.Sprintf("filler-%d", (i/7)%500))); err != nil {
					return err
				}
			}
			return tx.Put([]byte("b"), []byte(strconv.Itoa(b)))
		})
		if err != nil {
			return err
		}
		if i == 0 {
			fmt.Fprintln(out, "ready")
			out.Flush()
		}
	}
}

type getter interface {
	Get(key []byte) ([]byte, error)
}

func getInt(g getter, key string) (int, error) {
	v, err := g.Get([]byte(key))
	if err != nil {
		return 0, fmt.Errorf("get %s: %w", key, err)
	}
	return strconv.Atoi(string(v))
}
