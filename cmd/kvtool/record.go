package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
	"unicode/utf8"

	"github.com/mapkv/mapkv/kv"
)

// record is one line of the dump format (docs/cli.md, "The dump format"): a
// JSON object with the key as a string when it is valid UTF-8 and as
// standard base64 under key64 otherwise; the value likewise. JSON strings
// cannot carry bytes that are not UTF-8, hence the two spellings. ttl_ms is
// the time an expiring key has left, in milliseconds; absent for a key that
// never expires.
type record struct {
	Key     *string `json:"key,omitempty"`
	Key64   *string `json:"key64,omitempty"`
	Value   *string `json:"value,omitempty"`
	Value64 *string `json:"value64,omitempty"`
	Int     *int64  `json:"int,omitempty"` // get --int --json and incr --json only; not in the dump format
	TTLms   *int64  `json:"ttl_ms,omitempty"`
}

// newJSONRecord returns the record of key, with ttl_ms unless ttl is
// kv.NoTTL (or not positive).
func newJSONRecord(key []byte, ttl time.Duration) *record {
	r := &record{}
	r.Key, r.Key64 = spell(key)
	if ttl > 0 {
		r.TTLms = ttlMillis(ttl)
	}
	return r
}

// writeJSON writes v to w as one line of JSON, "<" and "&" as they are.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// recordEncoder writes records as JSON lines.
type recordEncoder struct{ enc *json.Encoder }

func newRecordEncoder(w io.Writer) *recordEncoder {
	enc := json.NewEncoder(w)
	// Keys and values are data, not HTML: keep "<" as "<".
	enc.SetEscapeHTML(false)
	return &recordEncoder{enc: enc}
}

// encode writes the line for k and, if withValue, v; a ttl of 0 or less
// writes no ttl_ms.
func (e *recordEncoder) encode(k, v []byte, withValue bool, ttl time.Duration) error {
	var r record
	r.Key, r.Key64 = spell(k)
	if withValue {
		r.Value, r.Value64 = spell(v)
	}
	if ttl > 0 {
		// Rounded up: a key with 0.5ms left must not be written as one
		// that never expires, nor be refused by load.
		r.TTLms = ttlMillis(ttl)
	}
	return e.enc.Encode(&r)
}

// spell returns b as a string, or as base64 when b is not valid UTF-8.
func spell(b []byte) (text, b64 *string) {
	s := string(b)
	if utf8.Valid(b) {
		return &s, nil
	}
	s = base64.StdEncoding.EncodeToString(b)
	return nil, &s
}

// recordDecoder reads the dump format, one JSON object per line; blank lines
// are skipped.
type recordDecoder struct {
	r    *bufio.Reader
	line int
}

func newRecordDecoder(r io.Reader) *recordDecoder {
	return &recordDecoder{r: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next key, value and time to live (0: never expires), or
// io.EOF after the last. An error names the line it is about.
func (d *recordDecoder) next() (k, v []byte, ttl time.Duration, err error) {
	for {
		b, err := d.r.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, nil, 0, fmt.Errorf("reading the input: %w", err)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			if err != nil {
				return nil, nil, 0, io.EOF
			}
			d.line++
			continue
		}
		d.line++
		k, v, ttl, perr := parseRecord(b)
		if perr != nil {
			return nil, nil, 0, fmt.Errorf("line %d: %w", d.line, perr)
		}
		return k, v, ttl, nil
	}
}

// maxTTLms is the largest ttl_ms load takes: the longest time.Duration.
const maxTTLms = math.MaxInt64 / int64(time.Millisecond)

// recordFields are the fields of the dump format, each a JSON string but
// ttl_ms, a number.
var recordFields = map[string]bool{"key": true, "key64": true, "value": true, "value64": true, "ttl_ms": true}

// parseRecord decodes one line of the dump format and checks it is a record
// kv can store. ttl is 0 for a record without ttl_ms. Its errors name the
// field and what it must be, not the Go types behind them.
func parseRecord(line []byte) (k, v []byte, ttl time.Duration, err error) {
	// The JSON decoder would quietly turn such bytes into U+FFFD.
	if !utf8.Valid(line) {
		return nil, nil, 0, errors.New("not valid UTF-8 (bytes that are not text go in base64 under key64 or value64)")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var fields map[string]json.RawMessage
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return nil, nil, 0, fmt.Errorf("not a dump record: a record is a JSON object such as {\"key\":\"k\",\"value\":\"v\"}")
	}
	if dec.More() {
		return nil, nil, 0, errors.New("not a dump record: more than one JSON value on the line")
	}
	var r record
	for name, raw := range fields {
		if !recordFields[name] {
			return nil, nil, 0, fmt.Errorf("unknown field %q: a record has key or key64, value or value64, and ttl_ms", name)
		}
		if name == "ttl_ms" {
			var n int64
			if err := json.Unmarshal(raw, &n); err != nil {
				return nil, nil, 0, errors.New(`"ttl_ms" must be a whole number of milliseconds`)
			}
			r.TTLms = &n
			continue
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, nil, 0, fmt.Errorf("%q must be a string (a value of 1 is written \"1\")", name)
		}
		switch name {
		case "key":
			r.Key = &s
		case "key64":
			r.Key64 = &s
		case "value":
			r.Value = &s
		case "value64":
			r.Value64 = &s
		}
	}
	if k, err = unspell("key", r.Key, r.Key64); err != nil {
		return nil, nil, 0, err
	}
	if v, err = unspell("value", r.Value, r.Value64); err != nil {
		return nil, nil, 0, err
	}
	switch {
	case len(k) == 0:
		return nil, nil, 0, errors.New("empty key")
	case len(k) > kv.MaxKeySize:
		return nil, nil, 0, fmt.Errorf("key of %d bytes: keys may have up to %d", len(k), kv.MaxKeySize)
	case len(v) > kv.MaxValueSize:
		return nil, nil, 0, fmt.Errorf("value of %d bytes: values may have up to %s", len(v), formatSize(kv.MaxValueSize))
	}
	if r.TTLms != nil {
		// 0 or less would be a key that has already expired or one that
		// never does; dump writes neither, so such a line is a mistake.
		if ms := *r.TTLms; ms <= 0 || ms > maxTTLms {
			return nil, nil, 0, fmt.Errorf(`"ttl_ms" is %d: it must be from 1 to %d milliseconds (omit it for a key that never expires)`, ms, maxTTLms)
		}
		ttl = time.Duration(*r.TTLms) * time.Millisecond
	}
	return k, v, ttl, nil
}

// unspell returns the bytes of field, given as text or as base64 under
// field+"64"; exactly one of the two must be present.
func unspell(field string, text, b64 *string) ([]byte, error) {
	switch {
	case text != nil && b64 != nil:
		return nil, fmt.Errorf("both %q and %q", field, field+"64")
	case text != nil:
		return []byte(*text), nil
	case b64 != nil:
		b, err := base64.StdEncoding.DecodeString(*b64)
		if err != nil {
			return nil, fmt.Errorf("%q is not standard base64: %v", field+"64", err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("no %q or %q", field, field+"64")
}
