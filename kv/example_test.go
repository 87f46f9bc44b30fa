//go:build unix

package kv_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/mapkv/mapkv/kv"
)

func Example() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)

	db, err := kv.Open(filepath.Join(dir, "cache.kv"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	if err := db.Put([]byte("greeting"), []byte("hello")); err != nil {
		log.Fatal(err)
	}
	v, err := db.Get([]byte("greeting"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(v))

	_, err = db.Get([]byte("absent"))
	fmt.Println(errors.Is(err, kv.ErrNotFound))
	// Output:
	// hello
	// true
}

func ExampleDB_Update() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	db, err := kv.Open(filepath.Join(dir, "bank.kv"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.Put([]byte("alice"), []byte("10"))
	db.Put([]byte("bob"), []byte("0"))

	// Both writes land together or not at all, in every process.
	err = db.Update(func(tx *kv.Tx) error {
		if err := tx.Put([]byte("alice"), []byte("7")); err != nil {
			return err
		}
		return tx.Put([]byte("bob"), []byte("3"))
	})
	if err != nil {
		log.Fatal(err)
	}
	a, _ := db.Get([]byte("alice"))
	b, _ := db.Get([]byte("bob"))
	fmt.Println(string(a), string(b))
	// Output: 7 3
}

func ExampleDB_AppendGet() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	db, err := kv.Open(filepath.Join(dir, "hot.kv"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.Put([]byte("k"), []byte("value"))

	// A reused buffer makes the lookup allocation-free.
	buf := make([]byte, 0, 128)
	for i := 0; i < 3; i++ {
		buf, _ = db.AppendGet(buf[:0], []byte("k"))
	}
	fmt.Println(string(buf))
	// Output: value
}

func ExampleDB_ForEach() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	db, err := kv.Open(filepath.Join(dir, "list.kv"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.Put([]byte("a"), []byte("1"))
	db.Put([]byte("b"), []byte("2"))

	sum := 0
	db.ForEach(func(k, v []byte) error {
		sum += int(v[0] - '0')
		return nil
	})
	fmt.Println(sum)
	// Output: 3
}

func ExampleDB_All() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	db, err := kv.Open(filepath.Join(dir, "all.kv"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.Put([]byte("a"), []byte("1"))
	db.Put([]byte("b"), []byte("2"))
	db.Put([]byte("c"), []byte("3"))

	// The order is the hash table's: sum, or sort what you collect.
	sum := 0
	pairs, errf := db.All()
	for _, v := range pairs {
		n, _ := strconv.Atoi(string(v))
		sum += n
	}
	if err := errf(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(sum)
	// Output: 6
}

func ExampleDB_Prefix() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	db, err := kv.Open(filepath.Join(dir, "prefix.kv"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.Put([]byte("user:ada"), []byte("Ada"))
	db.Put([]byte("user:bob"), []byte("Bob"))
	db.Put([]byte("session:1"), []byte("x"))

	var names []string
	pairs, errf := db.Prefix([]byte("user:"))
	for _, v := range pairs {
		names = append(names, string(v)) // string(v) copies: v is reused by the next step
	}
	if err := errf(); err != nil {
		log.Fatal(err)
	}
	slices.Sort(names)
	fmt.Println(names)
	// Output: [Ada Bob]
}

func ExampleDB_View() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	db, err := kv.Open(filepath.Join(dir, "view.kv"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.Put([]byte("alice"), []byte("7"))
	db.Put([]byte("bob"), []byte("3"))

	// Both reads come from one commit: an Update moving money between the
	// two is seen whole or not at all. fn may run more than once, so it
	// only reads and returns what it found.
	var total int
	err = db.View(func(tx *kv.ReadTx) error {
		total = 0
		pairs, errf := tx.All()
		for _, v := range pairs {
			n, _ := strconv.Atoi(string(v))
			total += n
		}
		return errf()
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(total)
	// Output: 10
}
