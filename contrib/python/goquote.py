"""Keys printed the way `kvtool list` prints them (docs/cli.md, "The quoting rule").

A key is printed as it is when it is valid UTF-8, every character is printable
in the sense of Go's strconv.IsPrint, and it does not start with '"'; any other
key is printed as Go's strconv.Quote quotes it. This module reimplements both
from their documented behaviour.
"""

import unicodedata

_PRINT_CATEGORIES = frozenset("LMNPS")
_ESCAPES = {0x07: "\\a", 0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x0B: "\\v"}


def _decode_rune(b, i):
    """(code point, width) of the UTF-8 sequence at b[i], or (None, 1) where it is invalid.

    Invalid are exactly the sequences Go's utf8.DecodeRune rejects: bad lead or
    continuation bytes, overlong forms, surrogates and code points past U+10FFFF;
    Python's strict UTF-8 decoder rejects the same.
    """
    c = b[i]
    if c < 0x80:
        return c, 1
    if 0xC2 <= c <= 0xDF:
        n = 2
    elif 0xE0 <= c <= 0xEF:
        n = 3
    elif 0xF0 <= c <= 0xF4:
        n = 4
    else:
        return None, 1
    try:
        return ord(b[i:i + n].decode("utf-8")), n
    except (UnicodeDecodeError, TypeError):
        return None, 1


def is_print(r):
    """Go's strconv.IsPrint: categories L, M, N, P, S, and the ASCII space."""
    if r == 0x20:
        return True
    return unicodedata.category(chr(r))[0] in _PRINT_CATEGORIES


def quote(b):
    """Go's strconv.Quote of the bytes b, as a str."""
    out = ['"']
    i = 0
    n = len(b)
    while i < n:
        r, width = _decode_rune(b, i)
        if r is None:
            out.append("\\x%02x" % b[i])
        elif r == 0x22 or r == 0x5C:
            out.append("\\" + chr(r))
        elif is_print(r):
            out.append(chr(r))
        elif r in _ESCAPES:
            out.append(_ESCAPES[r])
        elif r < 0x20 or r == 0x7F:
            out.append("\\x%02x" % r)
        elif r < 0x10000:
            out.append("\\u%04x" % r)
        else:
            out.append("\\U%08x" % r)
        i += width
    out.append('"')
    return "".join(out)


def list_form(key):
    """The line `kvtool list` prints for key (bytes), as a str."""
    if key[:1] != b'"':
        i = 0
        while i < len(key):
            r, width = _decode_rune(key, i)
            if r is None or not is_print(r):
                break
            i += width
        else:
            return key.decode("utf-8")
    return quote(key)


_SIMPLE = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, '"': 34}


def unquote(s):
    """Go's strconv.Unquote of a double-quoted or back-quoted str, as bytes; ValueError if invalid."""
    if len(s) >= 2 and s[0] == s[-1] == "`":
        body = s[1:-1]
        if "`" in body:
            raise ValueError("invalid syntax")
        return body.replace("\r", "").encode("utf-8", "surrogateescape")
    if len(s) < 2 or s[0] != '"' or s[-1] != '"':
        raise ValueError("invalid syntax")
    body = s[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c == '"' or c == "\n":
            raise ValueError("invalid syntax")
        if c != "\\":
            out += c.encode("utf-8", "surrogateescape")
            i += 1
            continue
        if i + 1 >= len(body):
            raise ValueError("invalid syntax")
        e = body[i + 1]
        if e in _SIMPLE:
            out.append(_SIMPLE[e])
            i += 2
        elif e in "xuU":
            n = {"x": 2, "u": 4, "U": 8}[e]
            digits = body[i + 2:i + 2 + n]
            if len(digits) != n or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise ValueError("invalid syntax")
            v = int(digits, 16)
            if e == "x":
                out.append(v)
            elif v > 0x10FFFF or 0xD800 <= v <= 0xDFFF:
                raise ValueError("invalid syntax")
            else:
                out += chr(v).encode("utf-8")
            i += 2 + n
        elif e in "01234567":
            digits = body[i + 1:i + 4]
            if len(digits) != 3 or any(d not in "01234567" for d in digits) or int(digits, 8) > 255:
                raise ValueError("invalid syntax")
            out.append(int(digits, 8))
            i += 4
        else:
            raise ValueError("invalid syntax")
    return bytes(out)
