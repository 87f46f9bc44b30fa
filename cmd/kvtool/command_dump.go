package main

import "bufio"

func newDumpCommand() *command {
	c := newCommand("dump", "FILE", "write every record as JSON lines", 1, 1)
	c.help = `
Dump writes every key and value of FILE to stdout as JSON lines, one record
per line, in the file's order (unspecified):

  {"key":"user:1","value":"Ada"}
  {"key64":"/wA=","value64":"AAEC"}

A key or value that is valid UTF-8 is a JSON string under "key" or "value";
any other is standard base64 (with padding) under "key64" or "value64".
"kvtool load" reads the format back, so "kvtool dump a | kvtool load b" copies
every record byte for byte. docs/cli.md describes the format exactly.
`
	c.run = func(e *env, args []string) error {
		return runDump(e, args[0])
	}
	return c
}

func runDump(e *env, path string) error {
	db, err := openRead(path, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	out := bufio.NewWriterSize(e.stdout, 64<<10)
	enc := newRecordEncoder(out)
	err = db.ForEach(func(k, v []byte) error {
		return enc.encode(k, v, true)
	})
	// What was read before an error goes out too, as it would have in a
	// larger dump anyway; the exit status says the output is incomplete.
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	return fail(path, db, err)
}
