package main

import "github.com/mapkv/mapkv/kv"

func newDelCommand() *command {
	c := newCommand("del", "FILE KEY...", "delete keys", 2, -1)
	c.help = `
Del deletes every KEY from FILE in one atomic batch: another process sees
either all of them or none deleted. A key that is absent is not an error, so
del exits 0 whether or not the keys existed, like rm -f. FILE must exist.
`
	w := addWriteFlags(c.flags)
	c.run = func(e *env, args []string) error {
		return runDel(w, args[0], args[1:])
	}
	return c
}

func runDel(w *writeOptions, path string, keys []string) error {
	for _, k := range keys {
		if k == "" {
			return usagef("KEY must not be empty")
		}
	}
	// Del never creates a file only to delete nothing from it.
	if err := mustExist(path); err != nil {
		return err
	}
	db, err := w.open(path)
	if err != nil {
		return err
	}
	err = db.Update(func(tx *kv.Tx) error {
		for _, k := range keys {
			if err := tx.Delete([]byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		err = w.fail(path, db, err)
		db.Close()
		return err
	}
	return fail(path, nil, db.Close())
}
