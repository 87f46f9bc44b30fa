package main

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestAppendKey(t *testing.T) {
	t.Parallel()
	for k, want := range map[string]string{
		"plain":         "plain",
		"with space":    "with space",
		"héllo ☃":       "héllo ☃",
		"ends\"":        "ends\"",
		" lead":         " lead",
		`"quoted"`:      `"\"quoted\""`,
		"tab\tkey":      `"tab\tkey"`,
		"new\nline":     `"new\nline"`,
		"\xff\x00":      `"\xff\x00"`,
		"\u200bzw":      `"\u200bzw"`,
		"nbsp\u00a0":    `"nbsp\u00a0"`,
		"":              `""`,
		"back\\slash":   "back\\slash",
		"\x7fdel":       `"\x7fdel"`,
		"\U0001F600emo": "\U0001F600emo",
	} {
		got := quoteKey([]byte(k))
		if got != want {
			t.Errorf("quoteKey(%q) = %s, want %s", k, got, want)
		}
		// Unambiguous: a quoted line unquotes to the key, any other line is it.
		back := got
		if strings.HasPrefix(got, `"`) {
			var err error
			if back, err = strconv.Unquote(got); err != nil {
				t.Errorf("Unquote(%s): %v", got, err)
			}
		}
		if back != k {
			t.Errorf("%s reads back as %q, want %q", got, back, k)
		}
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	pairs := awkwardPairs()
	path := newDB(t, pairs)
	r := kvtool(t, nil, "list", path).want(t, exitOK)
	got := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	var want []string
	for k := range pairs {
		want = append(want, quoteKey([]byte(k)))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("list printed\n%q\nwant\n%q", got, want)
	}
}

func TestListPrefixValues(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"user:1": "Ada", "user:2": "tab\there", "group:1": "x"})
	r := kvtool(t, nil, "list", path, "--prefix", "user:", "--values").want(t, exitOK)
	got := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	slices.Sort(got)
	want := []string{"user:1\tAda", "user:2\t\"tab\\there\""}
	if !slices.Equal(got, want) {
		t.Errorf("list --prefix user: --values printed %q, want %q", got, want)
	}
	if r := kvtool(t, nil, "list", "--prefix=nothing", path).want(t, exitOK); r.stdout != "" {
		t.Errorf("list --prefix nothing printed %q", r.stdout)
	}
}

func TestListJSON(t *testing.T) {
	t.Parallel()
	pairs := awkwardPairs()
	path := newDB(t, pairs)
	for _, values := range []bool{false, true} {
		args := []string{"list", path, "--json"}
		if values {
			args = append(args, "--values")
		}
		r := kvtool(t, nil, args...).want(t, exitOK)
		lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		if len(lines) != len(pairs) {
			t.Fatalf("%d lines, want %d", len(lines), len(pairs))
		}
		for _, l := range lines {
			var m map[string]string
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
			_, hasValue := m["value"]
			_, hasValue64 := m["value64"]
			if hasValue || hasValue64 {
				if !values {
					t.Errorf("line %q has a value without --values", l)
				}
				continue
			}
			if values {
				t.Errorf("line %q has no value", l)
			}
		}
	}
}

func TestListUsage(t *testing.T) {
	t.Parallel()
	kvtool(t, nil, "list").usage(t, "list")
	kvtool(t, nil, "list", "a", "b").usage(t, "list")
}
