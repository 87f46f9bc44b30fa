package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/mapkv/mapkv/kv"
)

// kv reports every file it cannot use as ErrCorrupt: damage, but also a file
// that is not a store at all, one whose creation did not finish, and one of
// another format version, which call for other remedies. kv has no distinct
// error for these (its messages say which, in words meant for a Go
// program), so kvtool reads the first page itself, at the places
// docs/format.md fixes: the magic at byte 0, the format version at byte 8,
// the state at byte 128.

// mapkvMagic is the first 8 bytes of every mapkv file.
var mapkvMagic = []byte("mapkv\x00db")

const (
	hdrVersion    = 8   // u32: the format version
	hdrState      = 128 // u64: 1 while the file is being created
	stateCreating = 1
)

// notMapkv returns the line that explains why path is not a mapkv file that
// this kvtool reads (empty, zeros, half created, another format version, or
// another kind of file), or "" if it may be one, so that an ErrCorrupt from
// kv means damage.
func notMapkv(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	head := make([]byte, kv.PageSize)
	n, err := io.ReadFull(f, head)
	head = head[:n]
	if err != nil && n == 0 {
		return fmt.Sprintf("%s is empty, not a mapkv file: put, incr or load initialise it", path)
	}
	switch {
	case len(bytes.Trim(head, "\x00")) == 0:
		// What a creation cut short by a power loss leaves: kv initialises
		// such a file in place when it opens it for writing.
		return fmt.Sprintf("%s holds only zero bytes, not a mapkv file yet (a creation that did not finish): put, incr or load initialise it in place", path)
	case !bytes.HasPrefix(head, mapkvMagic):
		return fmt.Sprintf("%s is not a mapkv file (it does not start with mapkv's magic bytes)", path)
	case n < hdrState+8:
		return "" // a truncated header: damage
	}
	if v := binary.LittleEndian.Uint32(head[hdrVersion:]); v != kv.FormatVersion {
		if v > kv.FormatVersion {
			return fmt.Sprintf("%s is in mapkv's format version %d, newer than the version %d this kvtool reads: use a newer kvtool", path, v, kv.FormatVersion)
		}
		return fmt.Sprintf("%s is in mapkv's format version %d; this kvtool reads version %d only: copy the data with the kvtool that wrote it (old-kvtool dump %s | kvtool load NEW)",
			path, v, kv.FormatVersion, path)
	}
	if binary.LittleEndian.Uint64(head[hdrState:]) == stateCreating {
		return fmt.Sprintf("%s is a mapkv file whose creation did not finish: put, incr or load initialise it in place", path)
	}
	return ""
}
