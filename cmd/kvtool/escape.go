package main

import (
	"strconv"
	"unicode/utf8"
)

// displayValue returns what get prints for v on a terminal: v itself when it
// is text a terminal shows faithfully (valid UTF-8 whose characters are all
// printable, tabs or newlines), else v quoted with Go escapes, as list quotes
// keys ("\xff\xd8\xff\xe0..."), so that a binary value neither garbles the
// terminal nor sends it escape sequences. Either way it ends in a newline.
func displayValue(v []byte) []byte {
	if !terminalText(v) {
		return append(strconv.AppendQuote(nil, string(v)), '\n')
	}
	out := append([]byte(nil), v...)
	if len(out) == 0 || out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return out
}

// terminalText reports whether v shows on a terminal as it is: valid UTF-8,
// every rune printable in strconv.IsPrint's sense (so no escape, carriage
// return or other control character), a tab or a newline.
func terminalText(v []byte) bool {
	for len(v) > 0 {
		r, n := utf8.DecodeRune(v)
		if r == utf8.RuneError && n == 1 || r != '\n' && r != '\t' && !strconv.IsPrint(r) {
			return false
		}
		v = v[n:]
	}
	return true
}
