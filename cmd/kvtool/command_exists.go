package main

import (
	"errors"
	"fmt"

	"github.com/mapkv/mapkv/kv"
)

func newExistsCommand() *command {
	c := newCommand("exists", "FILE KEY...", "tell whether keys are present (exit status)", 2, -1)
	c.reads = true
	c.help = `
Exists exits 0 if every KEY is present (and not expired), 1 if any is not,
like test -e: if kvtool exists db lock; then ... It prints nothing, not even
on stderr for status 1, unless
--count is given: then it prints how many of the KEYs are present (Redis's
EXISTS) and exits 0 whatever the number. With --json and --count it prints
{"count":N}.
`
	q := addKeyFlags(c.flags)
	count := c.flags.Bool("count", false, "print how many KEYs are present, and exit 0")
	asJSON := c.flags.Bool("json", false, `with --count, print {"count":N}`)
	c.run = func(e *env, args []string) error {
		keys, err := q.keys(args[1:], "KEY")
		if err != nil {
			return err
		}
		db, err := openRead(args[0], nil)
		if err != nil {
			return err
		}
		defer db.Close()
		var n int64
		absent := 0
		for _, k := range keys {
			// TTL reads the key's record without copying its value.
			_, err := db.TTL(k)
			switch {
			case err == nil:
				n++
			case errors.Is(err, kv.ErrNotFound):
				absent++
			default:
				return fail(args[0], db, err)
			}
		}
		switch {
		case *count && *asJSON:
			return writeJSON(e.stdout, struct {
				Count int64 `json:"count"`
			}{n})
		case *count:
			_, err = fmt.Fprintln(e.stdout, n)
			return err
		case absent > 0:
			return &statusError{status: exitFalse} // quiet, as test -e is
		}
		return nil
	}
	return c
}
