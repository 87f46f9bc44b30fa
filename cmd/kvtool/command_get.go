package main

import (
	"errors"
	"fmt"

	"github.com/mapkv/mapkv/kv"
)

func newGetCommand() *command {
	c := newCommand("get", "FILE KEY", "print the value of a key", 2, 2)
	c.help = `
Get prints the value stored under KEY to stdout, byte for byte, so that
"kvtool get db k > out" copies binary values exactly. Only when stdout is a
terminal does a newline follow a value that does not end in one.

The exit status is 1, with nothing on stdout, when KEY is absent. The file is
opened read-only and never created: a missing FILE is an error (status 2).
`
	c.run = func(e *env, args []string) error {
		return runGet(e, args[0], args[1])
	}
	return c
}

func runGet(e *env, path, key string) error {
	var v []byte
	err := readKey(path, key, func(db *kv.DB, k []byte) (err error) {
		v, err = db.Get(k)
		return err
	})
	if err != nil {
		return err
	}
	if _, err := e.stdout.Write(v); err != nil {
		return err
	}
	if e.stdoutTTY && (len(v) == 0 || v[len(v)-1] != '\n') {
		_, err = e.stdout.Write([]byte{'\n'})
	}
	return err
}

// readKey opens path read-only and runs look on key: the shared part of the
// commands that read one key. An absent key is exit status 1.
func readKey(path, key string, look func(db *kv.DB, key []byte) error) error {
	if key == "" {
		return usagef("KEY must not be empty")
	}
	db, err := openRead(path, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	err = look(db, []byte(key))
	if errors.Is(err, kv.ErrNotFound) {
		return &statusError{status: exitFalse, msg: fmt.Sprintf("key %s not found in %s", quoteKey([]byte(key)), path)}
	}
	return fail(path, db, err)
}
