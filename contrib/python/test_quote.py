"""list's quoting rule (docs/cli.md), against kvtool list on the same odd keys."""

import base64
import json
import os
import shutil
import tempfile
import unittest

import goquote
from testutil import kvtool, mapkv_py

# Keys that exercise every branch of strconv.Quote and strconv.IsPrint: printable
# UTF-8, a leading quote, escapes, control and format characters, other spaces,
# invalid UTF-8 (bad bytes, overlong forms, surrogates, past U+10FFFF), and runes
# beyond the BMP.
ODD_KEYS = [
    b"user:1", "h\u00e9llo w\u00f6rld".encode(), b"tab\tkey", b"\xff\x00binary", b'"starts with a quote',
    b'ends with a quote"', b"back\\slash", b"nl\nand\rcr", b"\x07\x08\x0b\x0c", b"del\x7f",
    b"esc\x1b[31m", "nbsp\u00a0".encode(), "soft\u00adhyphen".encode(), "bom\ufeff".encode(),
    "line\u2028sep".encode(), "emoji\U0001F600".encode(), "combining e\u0301".encode(),
    "\ufffd replacement".encode(), b"\xc0\xaf overlong", b"\xed\xa0\x80 surrogate",
    b"\xf4\x90\x80\x80 past max", b"\xe2\x82 truncated", "private\ue000".encode(),
    "tag\U000E0041".encode(), " ".encode(), b"a\"b", "\u3000ideographic space".encode(),
    "cjk \u4e2d\u6587".encode(), "\U0001D400 math".encode(),
]


class TestQuote(unittest.TestCase):
    def test_documented_examples(self):
        self.assertEqual(goquote.list_form(b"user:1"), "user:1")
        self.assertEqual(goquote.list_form("h\u00e9llo w\u00f6rld".encode()), "h\u00e9llo w\u00f6rld")
        self.assertEqual(goquote.list_form(b"tab\tkey"), '"tab\\tkey"')
        self.assertEqual(goquote.list_form(b"\xff\x00binary"), '"\\xff\\x00binary"')
        self.assertEqual(goquote.list_form(b'"starts with a quote'), '"\\"starts with a quote"')
        self.assertEqual(goquote.list_form(b'ends with a quote"'), 'ends with a quote"')

    def test_same_lines_as_kvtool(self):
        d = tempfile.mkdtemp(prefix="mapkv-py-")
        self.addCleanup(shutil.rmtree, d)
        path = os.path.join(d, "odd.kv")
        lines = "".join(json.dumps({"key64": base64.b64encode(k).decode(), "value": "v"}) + "\n"
                        for k in ODD_KEYS)
        kvtool("load", path, input=lines.encode())
        mine = mapkv_py("list", path)
        self.assertEqual(mine.returncode, 0, mine.stderr)
        theirs = kvtool("list", path).stdout
        self.assertEqual(sorted(mine.stdout.splitlines()), sorted(theirs.splitlines()))
        self.assertEqual(len(mine.stdout.splitlines()), len(ODD_KEYS))


if __name__ == "__main__":
    unittest.main()
