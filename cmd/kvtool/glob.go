package main

import (
	"errors"
	"unicode/utf8"
)

// glob is a compiled --match pattern, with Redis's SCAN MATCH syntax: *
// matches any run of characters (including "/" and none), ? one character,
// [abc], [a-z] and [^a-z] (or [!a-z]) one character of a set, and \ makes the
// next character literal. Characters are UTF-8 runes; a byte that is not
// valid UTF-8 is a character of its own.
type glob struct{ elems []globElem }

type globKind uint8

const (
	globLiteral globKind = iota
	globAny              // ?
	globStar             // *
	globSet              // [...]
)

type globElem struct {
	kind   globKind
	r      rune // globLiteral; an invalid byte b is rune(-1 - b)
	ranges []runeRange
	negate bool
}

type runeRange struct{ lo, hi rune }

// nextRune decodes the character at the start of b: a rune, or for a byte
// that is not valid UTF-8, -1 minus the byte, which no rune equals.
func nextRune(b []byte) (rune, int) {
	r, n := utf8.DecodeRune(b)
	if r == utf8.RuneError && n == 1 {
		return -1 - rune(b[0]), 1
	}
	return r, n
}

func compileGlob(p []byte) (*glob, error) {
	g := &glob{}
	for len(p) > 0 {
		r, n := nextRune(p)
		p = p[n:]
		switch r {
		case '*':
			if k := len(g.elems); k == 0 || g.elems[k-1].kind != globStar {
				g.elems = append(g.elems, globElem{kind: globStar})
			}
		case '?':
			g.elems = append(g.elems, globElem{kind: globAny})
		case '\\':
			if len(p) == 0 {
				return nil, errors.New(`a \ at the end escapes nothing`)
			}
			r, n = nextRune(p)
			p = p[n:]
			g.elems = append(g.elems, globElem{kind: globLiteral, r: r})
		case '[':
			e := globElem{kind: globSet}
			if len(p) > 0 && (p[0] == '^' || p[0] == '!') {
				e.negate, p = true, p[1:]
			}
			closed := false
			for first := true; len(p) > 0; first = false {
				lo, n := nextRune(p)
				if lo == ']' && !first {
					p, closed = p[1:], true
					break
				}
				if lo == '\\' && len(p) > n {
					p = p[n:]
					lo, n = nextRune(p)
				}
				p = p[n:]
				hi := lo
				if len(p) > 1 && p[0] == '-' && p[1] != ']' {
					hi, n = nextRune(p[1:])
					p = p[1+n:]
				}
				if hi < lo {
					lo, hi = hi, lo
				}
				e.ranges = append(e.ranges, runeRange{lo, hi})
			}
			if !closed {
				return nil, errors.New("a [ without its ]")
			}
			g.elems = append(g.elems, e)
		default:
			g.elems = append(g.elems, globElem{kind: globLiteral, r: r})
		}
	}
	return g, nil
}

// matchOne reports whether e, not a star, matches the character r.
func (e *globElem) matchOne(r rune) bool {
	switch e.kind {
	case globLiteral:
		return e.r == r
	case globAny:
		return true
	}
	in := false
	for _, rr := range e.ranges {
		if rr.lo <= r && r <= rr.hi {
			in = true
			break
		}
	}
	return in != e.negate
}

// matches reports whether the whole of key matches g. It backtracks only to
// the last star, so it takes time linear in len(key) times the pattern's
// length at worst.
func (g *glob) matches(key []byte) bool {
	ei, ki := 0, 0
	starE, starK := -1, 0
	for ki < len(key) {
		r, n := nextRune(key[ki:])
		switch {
		case ei < len(g.elems) && g.elems[ei].kind == globStar:
			starE, starK = ei, ki
			ei++
		case ei < len(g.elems) && g.elems[ei].matchOne(r):
			ei++
			ki += n
		case starE >= 0:
			// Let the last star take one more character and retry after it.
			_, n = nextRune(key[starK:])
			starK += n
			ei, ki = starE+1, starK
		default:
			return false
		}
	}
	for ei < len(g.elems) && g.elems[ei].kind == globStar {
		ei++
	}
	return ei == len(g.elems)
}
