package main

import "testing"

func TestGlob(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		pattern, key string
		want         bool
	}{
		{"*", "", true}, {"*", "any/thing", true},
		{"user:*", "user:1", true}, {"user:*", "users", false},
		{"h?llo", "hello", true}, {"h?llo", "héllo", true}, {"h?llo", "hllo", false},
		{"h[ae]llo", "hallo", true}, {"h[ae]llo", "hillo", false},
		{"h[^e]llo", "hallo", true}, {"h[!e]llo", "hello", false},
		{"[a-c]*", "beta", true}, {"[a-c]*", "delta", false}, {"[]]", "]", true},
		{`\*`, "*", true}, {`\*`, "x", false}, {`a\?`, "a?", true},
		{"*a*b*c", "xaxbxc", true}, {"*a*b*c", "xaxbxcx", false},
		{"a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
		{"?", "\xff", true}, {"\xff*", "\xff\x00", true}, {"[\x00-\x7f]", "\xff", false},
	} {
		g, err := compileGlob([]byte(tt.pattern))
		if err != nil {
			t.Errorf("compileGlob(%q): %v", tt.pattern, err)
			continue
		}
		if got := g.matches([]byte(tt.key)); got != tt.want {
			t.Errorf("%q matches %q: %v, want %v", tt.pattern, tt.key, got, tt.want)
		}
	}
	for _, bad := range []string{`a\`, "[abc", "[^"} {
		if _, err := compileGlob([]byte(bad)); err == nil {
			t.Errorf("compileGlob(%q): no error", bad)
		}
	}
}
