//go:build unix

package kv

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The byte-level claims of docs/format.md, checked against the code: its
// test vectors, and a golden file written by this version with its expected
// contents (kv/testdata), which other implementations read too
// (contrib/python).

var updateGolden = flag.Bool("update-golden", false, "write kv/testdata/golden-v2.kv and its expected contents anew")

// formatVectors returns the lines of format.md's vectors block as maps.
func formatVectors(t *testing.T) []map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "docs", "format.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "```vectors":
			in = true
		case in && line == "```":
			in = false
		case in:
			out = append(out, parseVector(t, line))
		}
	}
	if len(out) == 0 {
		t.Fatal("docs/format.md has no vectors block")
	}
	return out
}

// parseVector splits `kind name=value name="quoted value" ...`.
func parseVector(t *testing.T, line string) map[string]string {
	t.Helper()
	kind, rest, _ := strings.Cut(line, " ")
	m := map[string]string{"kind": kind}
	for rest = strings.TrimSpace(rest); rest != ""; rest = strings.TrimSpace(rest) {
		name, after, ok := strings.Cut(rest, "=")
		if !ok {
			t.Fatalf("vector %q: no = in %q", line, rest)
		}
		if strings.HasPrefix(after, `"`) {
			q, err := strconv.QuotedPrefix(after)
			if err != nil {
				t.Fatalf("vector %q: %v", line, err)
			}
			m[name], _ = strconv.Unquote(q)
			rest = after[len(q):]
		} else {
			v, r, _ := strings.Cut(after, " ")
			m[name], rest = v, r
		}
	}
	return m
}

func vecUint(t *testing.T, m map[string]string, name string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(m[name], 0, 64)
	if err != nil {
		t.Fatalf("vector %v: %s: %v", m, name, err)
	}
	return n
}

func TestFormatVectors(t *testing.T) {
	for _, v := range formatVectors(t) {
		switch v["kind"] {
		case "hash":
			h := hashKey(vecUint(t, v, "seed"), []byte(v["key"]))
			got := map[string]uint64{"hash": h, "tag": h >> tagShift, "home9": h >> (64 - 9),
				"fp": uint64(ghostFingerprint(h)), "bucket64": ghostBucket(h, 64)}
			for name, g := range got {
				if want := vecUint(t, v, name); g != want {
					t.Errorf("hash of %q: %s = %#x, format.md says %#x", v["key"], name, g, want)
				}
			}
		case "record":
			flags := uint16(vecUint(t, v, "flags"))
			key, value := v["key"], v["value"]
			size := recordSize(len(key), len(value), flags&recExpires != 0)
			b := make([]byte, size)
			hdr := recordSize(0, 0, flags&recExpires != 0)
			copy(b[hdr:], key)
			copy(b[hdr+len(key):], value)
			h := sealRecord(b, len(key), len(value), flags, int64(vecUint(t, v, "expiry")))
			if want, _ := hex.DecodeString(v["bytes"]); !bytes.Equal(b, want) {
				t.Errorf("record %q: bytes %x, format.md says %s", key, b, v["bytes"])
			}
			if uint64(uint32(h)) != vecUint(t, v, "checksum") || h != vecUint(t, v, "hash64") {
				t.Errorf("record %q: checksum %#x hash %#x, format.md says %s %s", key, uint32(h), h, v["checksum"], v["hash64"])
			}
			if c := uint64(sizeClasses[classFor(size)]); c != vecUint(t, v, "class") {
				t.Errorf("record %q: class %d, format.md says %s", key, c, v["class"])
			}
			r, ok := parseRecordHeader(b)
			if !ok || r.klen != len(key) || r.vlen != len(value) || !recordSumOK(b, r) {
				t.Errorf("record %q: does not parse back: %+v %v", key, r, ok)
			}
		default:
			t.Errorf("unknown vector kind %q", v["kind"])
		}
	}
}

// goldenPair is one expected key of the golden file: Value is nil for a key
// that must read as absent (deleted, expired, a lease).
type goldenPair struct {
	Key    []byte `json:"key"`
	Value  []byte `json:"value"`
	Expiry int64  `json:"expiry,omitempty"` // Unix ms, 0 for none
}

// goldenContents is what kv/testdata/golden-v2.kv holds: small and large
// values, odd bytes, an expiry far away and one passed, a deleted key.
func goldenContents() (live []goldenPair, absent [][]byte) {
	live = []goldenPair{
		{Key: []byte("user:42"), Value: []byte(`{"name":"Ada"}`)},
		{Key: []byte("empty"), Value: []byte{}},
		{Key: []byte{0x00, 0xff, 0xfe}, Value: []byte{0x01, 0x02}},
		{Key: []byte("large"), Value: bytes.Repeat([]byte("0123456789abcdef"), 320)}, // a chain of 2 pages
		{Key: []byte("lasting"), Value: []byte("until 2100"), Expiry: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()},
		{Key: []byte("counter"), Value: le.AppendUint64(nil, 7)},
	}
	for i := 0; i < 12; i++ {
		live = append(live, goldenPair{Key: []byte("k" + strconv.Itoa(i)), Value: []byte(strings.Repeat("v", 3+i%4))})
	}
	absent = [][]byte{[]byte("deleted"), []byte("expired"), []byte("never")}
	return live, absent
}

func writeGolden(t *testing.T, path string) {
	t.Helper()
	os.Remove(path)
	db, err := Open(path, &Options{InitialSize: MinFileSize})
	if err != nil {
		t.Fatal(err)
	}
	live, _ := goldenContents()
	for _, p := range live {
		if p.Expiry != 0 {
			err = db.PutTTL(p.Key, p.Value, time.Until(time.UnixMilli(p.Expiry)))
		} else {
			err = db.Put(p.Key, p.Value)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	db.Put([]byte("deleted"), []byte("gone"))
	db.Delete([]byte("deleted"))
	db.PutTTL([]byte("expired"), []byte("was here"), time.Millisecond)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestGoldenFile reads kv/testdata/golden-v2.kv, written by this version,
// and finds what kv/testdata/golden-v2.json says it holds; this version must
// keep reading it. -update-golden writes both anew.
func TestGoldenFile(t *testing.T) {
	golden := filepath.Join("testdata", "golden-v2.kv")
	expected := filepath.Join("testdata", "golden-v2.json")
	if *updateGolden {
		writeGolden(t, golden)
		live, absent := goldenContents()
		b, _ := json.MarshalIndent(map[string]any{"live": live, "absent": absent}, "", "  ")
		if err := os.WriteFile(expected, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var want struct {
		Live   []goldenPair `json:"live"`
		Absent [][]byte     `json:"absent"`
	}
	b, err := os.ReadFile(expected)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	db, err := Open(golden, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	for _, p := range want.Live {
		v, err := db.Get(p.Key)
		if err != nil || !bytes.Equal(v, p.Value) {
			t.Errorf("golden %q = %q, %v; want %q", p.Key, v, err, p.Value)
		}
		if p.Expiry != 0 {
			if d, err := db.TTL(p.Key); err != nil || d <= 0 {
				t.Errorf("golden %q: TTL %v, %v", p.Key, d, err)
			}
		}
	}
	for _, k := range want.Absent {
		if v, err := db.Get(k); err != ErrNotFound {
			t.Errorf("golden %q = %q, %v; want ErrNotFound", k, v, err)
		}
	}
	n := 0
	db.ForEach(func(_, _ []byte) error { n++; return nil })
	if n != len(want.Live) {
		t.Errorf("golden file lists %d keys, want %d", n, len(want.Live))
	}
}
