package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// parseDuration parses a Go duration (time.ParseDuration: 300ms, 1h30m)
// with one more unit, d for 24 hours (1d, 1d12h). A number without a unit is
// an error that says to add one: "5" could mean seconds or milliseconds.
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("empty duration: give a number and a unit, such as 5s or 1h")
	}
	rest, neg := s, false
	if rest[0] == '-' || rest[0] == '+' {
		neg, rest = rest[0] == '-', rest[1:]
	}
	if rest == "0" {
		return 0, nil
	}
	var total time.Duration
	for rest != "" {
		n := strings.IndexFunc(rest, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
		if n == 0 {
			return 0, fmt.Errorf("%q is not a duration: use a number and a unit, such as 500ms, 10s, 1h or 1d", s)
		}
		if n < 0 {
			return 0, fmt.Errorf("add a unit to %s: %ss, %sms, %sm, %sh or %sd", rest, rest, rest, rest, rest, rest)
		}
		num := rest[:n]
		rest = rest[n:]
		u := strings.IndexFunc(rest, func(r rune) bool { return '0' <= r && r <= '9' || r == '.' })
		if u < 0 {
			u = len(rest)
		}
		unit := rest[:u]
		rest = rest[u:]
		var part time.Duration
		if unit == "d" {
			f, err := strconv.ParseFloat(num, 64)
			if err != nil || f*24*float64(time.Hour) > math.MaxInt64 {
				return 0, fmt.Errorf("%q is not a duration, or too long", s)
			}
			part = time.Duration(f * 24 * float64(time.Hour))
		} else {
			d, err := time.ParseDuration(num + unit)
			if err != nil {
				return 0, fmt.Errorf("%q is not a duration: the units are ns, us, ms, s, m, h and d", s)
			}
			part = d
		}
		if total > math.MaxInt64-part {
			return 0, fmt.Errorf("%q is too long: the longest is about 292 years", s)
		}
		total += part
	}
	if neg {
		total = -total
	}
	return total, nil
}

// durationValue is a flag holding a duration in parseDuration's syntax.
type durationValue struct{ d *time.Duration }

func (v durationValue) String() string {
	if v.d == nil {
		return ""
	}
	return v.d.String()
}

func (v durationValue) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

// ttlResolution is the resolution of kv's expiry: a TTL is kept in whole
// milliseconds.
const ttlResolution = time.Millisecond

// checkTTL checks a --ttl or expire duration and rounds it up to the
// millisecond. A TTL below kv's resolution of 1 ms is refused: kv would keep
// such a key for no time at all. A negative TTL is refused too: kv would take
// it for "never expires".
func checkTTL(d time.Duration) (time.Duration, error) {
	switch {
	case d < 0:
		return 0, fmt.Errorf("a TTL must not be negative (%v): leave --ttl out, or give 0, for a key that never expires", d)
	case d > 0 && d < ttlResolution:
		return 0, fmt.Errorf("%v is below the 1ms resolution of expiry: give 1ms or more", d)
	}
	if r := d % ttlResolution; r != 0 {
		d += ttlResolution - r
	}
	return d, nil
}

// sizeUnits are the suffixes parseSize takes: binary ones (k, KiB, M, MiB...)
// as ls, dd and most tools read them, and decimal ones (kB, MB...) where the
// name says so.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
	"t": 1 << 40, "tib": 1 << 40, "tb": 1e12,
}

// parseSize parses a size in bytes: 65536, 64k, 256MiB, 1.5GiB, 1GB.
func parseSize(s string) (int64, error) {
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(s)
	}
	num, unit := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	mult, ok := sizeUnits[unit]
	f, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || num == "" {
		return 0, fmt.Errorf("%q is not a size: use bytes or a unit, such as 65536, 64k, 256MiB or 1GiB", s)
	}
	n := f * float64(mult)
	if n >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int64(n), nil
}

// sizeValue is a flag holding a size in parseSize's syntax.
type sizeValue struct{ n *int64 }

func (v sizeValue) String() string {
	if v.n == nil || *v.n == 0 {
		return ""
	}
	return formatSize(*v.n)
}

func (v sizeValue) Set(s string) error {
	n, err := parseSize(s)
	if err == nil {
		*v.n = n
	}
	return err
}

// modeValue is a flag holding file permission bits in octal (0644, 600).
type modeValue struct {
	mode *os.FileMode
	set  *bool
}

func (v modeValue) String() string {
	if v.mode == nil {
		return ""
	}
	return fmt.Sprintf("%04o", uint32(*v.mode))
}

func (v modeValue) Set(s string) error {
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 0o777 {
		return fmt.Errorf("%q is not a file mode: give permission bits in octal, such as 0600 or 0644", s)
	}
	*v.mode, *v.set = os.FileMode(m), true
	return nil
}
