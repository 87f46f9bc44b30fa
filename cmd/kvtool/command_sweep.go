package main

import "fmt"

func newSweepCommand() *command {
	c := newCommand("sweep", "FILE", "reclaim the space of expired keys", 1, 1)
	c.help = `
Sweep deletes expired keys, which no reader sees but which hold their space
until a sweep or an overwrite reclaims it (kv's DeleteExpired), and prints
how many it removed. --max N stops after N (0, the default: all). It works
in stretches of the table, one transaction each, so writers get the lock in
between. With --json it prints {"removed":N}. FILE must exist.
`
	w := addWriteFlags(c.flags)
	maxN := c.flags.Int("max", 0, "remove at most `N` expired keys (0: all)")
	asJSON := c.flags.Bool("json", false, `print {"removed":N}`)
	c.run = func(e *env, args []string) error {
		if *maxN < 0 {
			return usagef("--max must not be negative")
		}
		db, err := w.openExisting(args[0])
		if err != nil {
			return err
		}
		n, err := db.DeleteExpired(*maxN)
		if err != nil {
			err = w.fail(args[0], db, err)
			db.Close()
			return err
		}
		if err := db.Close(); err != nil {
			return fail(args[0], nil, err)
		}
		if *asJSON {
			return writeJSON(e.stdout, struct {
				Removed int `json:"removed"`
			}{n})
		}
		_, err = fmt.Fprintln(e.stdout, n)
		return err
	}
	return c
}
