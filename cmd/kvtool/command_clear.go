package main

func newClearCommand() *command {
	c := newCommand("clear", "FILE", "delete every key (FLUSHDB)", 1, 1)
	c.help = `
Clear deletes every key of FILE (kv's Clear, Redis's FLUSHDB). It works in
batches, one atomic batch each, so other processes may see the file half
cleared while it runs; every key present when it started is gone when it
returns. FILE must exist; its size and settings stay.
`
	w := addWriteFlags(c.flags)
	c.run = func(e *env, args []string) error {
		db, err := w.openExisting(args[0])
		if err != nil {
			return err
		}
		if err := db.Clear(); err != nil {
			err = w.fail(args[0], db, err)
			db.Close()
			return err
		}
		return fail(args[0], nil, db.Close())
	}
	return c
}
