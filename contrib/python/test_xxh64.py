"""XXH64 against published vectors, and the hashes and records of docs/format.md's vectors block."""

import json
import re
import unittest

import format_v2 as f
import reader
from testutil import FORMAT_MD
from xxh64 import xxh64


def sanity_buffer(n):
    """xxHash's sanity-test input: bytes of a multiplicative generator (tests/sanity_test.c)."""
    out = bytearray()
    gen = 2654435761
    for _ in range(n):
        out.append(gen >> 56)
        gen = (gen * 11400714785074694797) & 0xFFFFFFFFFFFFFFFF
    return bytes(out)


# (length of the sanity buffer, seed, XXH64). The seed-0 and seed-2654435761 values at 0, 1,
# 14 and 222 bytes are xxHash's own sanity vectors; the others were computed with
# github.com/cespare/xxhash/v2 (NewWithSeed), to cover every length path: < 4, 4-7, 8-31
# (the tail loops), exactly 32, 33-63, 64 and multi-stripe inputs, and an all-ones seed.
SANITY = [
    (0, 0, 0xEF46DB3751D8E999), (0, 2654435761, 0xAC75FDA2929B17EF),
    (1, 0, 0xE934A84ADB052768), (1, 2654435761, 0x5014607643A9B4C3),
    (14, 0, 0x8282DCC4994E35C8), (14, 2654435761, 0xC3BD6BF63DEB6DF0),
    (222, 0, 0xB641AE8CB691C174), (222, 2654435761, 0x20CB8AB7AE10C14A),
    (0, 0xFFFFFFFFFFFFFFFF, 0x298F4C84B24F5380),
    (4, 0, 0x9136A0DCA57457EE), (8, 0, 0xCDBCF538E71D1348), (31, 0, 0x299B39A290E6D783),
    (32, 0, 0x18B216492BB44B70), (32, 0xFFFFFFFFFFFFFFFF, 0x3A793D9020113C2A),
    (33, 2654435761, 0xE92C292F64BC3071), (63, 0, 0xA9EFBE0FA0F3F4E7),
    (64, 0, 0xEF558F8ACAC2B5CD), (100, 0xFFFFFFFFFFFFFFFF, 0x2FE1B1460F4666C4),
    (2367, 0, 0xA82418DDEC0EA581), (2367, 2654435761, 0xA36A93C18052673A),
]

_FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def doc_vectors():
    """The lines of docs/format.md's ```vectors block, each as (kind, {field: text})."""
    with open(FORMAT_MD) as fh:
        text = fh.read()
    m = re.search(r"```vectors\n(.*?)```", text, re.S)
    if m is None:
        raise AssertionError("docs/format.md has no vectors block")
    out = []
    for line in m.group(1).splitlines():
        if line.strip():
            kind, rest = line.split(" ", 1)
            out.append((kind, dict(_FIELD.findall(rest))))
    return out


def unquote(s):
    # The block's strings use Go's quoting; the ones there are also valid JSON strings.
    return json.loads(s).encode("utf-8")


class TestXXH64(unittest.TestCase):
    def test_sanity_vectors(self):
        buf = sanity_buffer(2367)
        for n, seed, want in SANITY:
            with self.subTest(n=n, seed=seed):
                self.assertEqual(xxh64(buf[:n], seed), want)

    def test_known_strings(self):
        self.assertEqual(xxh64(b"", 0), 0xEF46DB3751D8E999)
        self.assertEqual(xxh64(b"a", 0), 0xD24EC4F1A98C6E5B)
        self.assertEqual(xxh64(b"abc", 0), 0x44BC2CF5AD770999)
        self.assertEqual(xxh64(b"Nobody inspects the spammish repetition", 0), 0xFBCEA83C8A378BF1)

    def test_seed_is_not_prepended(self):
        # The slot hash prepends the seed's bytes; XXH64's own seed is another function.
        seed = 0x0123456789ABCDEF
        self.assertNotEqual(reader.slot_hash(seed, b"user:42"), xxh64(b"user:42", seed))


class TestDocVectors(unittest.TestCase):
    def test_block_is_read(self):
        kinds = [k for k, _ in doc_vectors()]
        self.assertGreaterEqual(kinds.count("hash"), 3)
        self.assertGreaterEqual(kinds.count("record"), 2)

    def test_hashes(self):
        for kind, v in doc_vectors():
            if kind != "hash":
                continue
            key = unquote(v["key"])
            with self.subTest(key=key):
                h = reader.slot_hash(int(v["seed"], 0), key)
                self.assertEqual(h, int(v["hash"], 0))
                self.assertEqual(h >> f.SLOT_TAG_SHIFT, int(v["tag"], 0))
                self.assertEqual(h >> (64 - 9), int(v["home9"]))
                # The ghost's fingerprint (bits 20-39, 0 becomes 1) and bucket (the
                # hash's top log2(buckets) bits).
                self.assertEqual(((h >> 20) & 0xFFFFF) or 1, int(v["fp"], 0))
                self.assertEqual(h >> (64 - 6), int(v["bucket64"]))

    def test_records(self):
        for kind, v in doc_vectors():
            if kind != "record":
                continue
            key, value = unquote(v["key"]), unquote(v["value"])
            with self.subTest(key=key):
                buf = bytes.fromhex(v["bytes"])
                checksum, klen, flags, vlen, expiry, k, val = f.split_record(buf)
                self.assertIsNone(f.check_record_header(klen, flags, vlen))
                self.assertEqual(len(buf), f.record_size(klen, flags, vlen))
                self.assertEqual((k, val, flags), (key, value, int(v["flags"])))
                self.assertEqual(expiry or 0, int(v["expiry"]))
                self.assertEqual(checksum, int(v["checksum"], 0))
                self.assertEqual(xxh64(buf[4:], 0), int(v["hash64"], 0))
                self.assertEqual(xxh64(buf[4:], 0) & 0xFFFFFFFF, checksum)
                self.assertEqual(min(c for c in f.CLASS_SIZES if c >= len(buf)), int(v["class"]))


if __name__ == "__main__":
    unittest.main()
