package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// mapkvMagic is the first 8 bytes of every mapkv file (docs/format.md, "The
// header page").
var mapkvMagic = []byte("mapkv\x00db")

// notMapkv returns the line that explains why path is not a mapkv file at
// all (empty, zeros, or another kind of file), or "" if it may be one: kv
// reports both that and damage as ErrCorrupt, and they call for different
// remedies.
func notMapkv(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, err := io.ReadFull(f, head)
	head = head[:n]
	if err != nil && n == 0 {
		return fmt.Sprintf("%s is empty, not a mapkv file: put, incr or load initialise it", path)
	}
	switch {
	case bytes.HasPrefix(head, mapkvMagic):
		return ""
	case len(bytes.Trim(head, "\x00")) == 0:
		return fmt.Sprintf("%s holds only zero bytes, not a mapkv file (a creation that did not finish?): remove it, and put, incr, load or create make it anew", path)
	}
	return fmt.Sprintf("%s is not a mapkv file (it does not start with mapkv's magic bytes)", path)
}
