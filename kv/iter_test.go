//go:build unix

// ForEach while the table changes under it.

package kv

import (
	"fmt"
	"testing"
)

// TestForEachUnderDeletions: deletions shift entries back while ForEach walks
// (made by the callback itself, so that they land between steps every time);
// every key present and unchanged throughout is still visited exactly once.
func TestForEachUnderDeletions(t *testing.T) {
	db, _ := openTemp(t, nil)
	const stable, churn = 3000, 3000
	for i := 0; i < stable; i++ {
		db.Put([]byte(fmt.Sprint("s", i)), []byte("v"))
	}
	for i := 0; i < churn; i++ {
		db.Put([]byte(fmt.Sprint("c", i)), []byte("v"))
	}
	next := 0
	for round := 0; round < 5; round++ {
		seen := map[string]int{}
		err := db.ForEach(func(k, v []byte) error {
			seen[string(k)]++
			for j := 0; j < 3; j++ { // delete and re-add churn keys between steps
				c := []byte(fmt.Sprint("c", next%churn))
				next += 7
				if err := db.Delete(c); err != nil {
					return err
				}
				if err := db.Put(c, []byte("v")); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < stable; i++ {
			if n := seen[fmt.Sprint("s", i)]; n != 1 {
				t.Fatalf("round %d: stable key s%d visited %d times", round, i, n)
			}
		}
	}
}
