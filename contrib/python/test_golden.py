"""The reader against kv/testdata/golden-v2.kv, copies of it with a damaged or foreign
header, and copies with an open window whose log a writer left (crafted from the docs)."""

import json
import os
import shutil
import struct
import tempfile
import unittest

import format_v2 as f
import goquote
import reader
from reader import Reader
from testutil import GOLDEN, golden, kvtool, mapkv_py
from xxh64 import xxh64

_Q = struct.Struct("<Q")


class TestGolden(unittest.TestCase):
    def setUp(self):
        self.r = Reader(GOLDEN)
        self.addCleanup(self.r.close)
        self.live, self.absent = golden()

    def test_every_pair(self):
        for key, (value, expiry) in self.live.items():
            with self.subTest(key=key):
                rec = self.r.lookup(key)
                self.assertIsNotNone(rec)
                self.assertEqual(rec.value, value)
                self.assertEqual(rec.expiry, expiry)

    def test_absent(self):
        for key in self.absent:
            with self.subTest(key=key):
                self.assertIsNone(self.r.lookup(key))

    def test_list_is_the_key_set(self):
        keys = [k for k, _ in self.r.items()]
        self.assertEqual(len(keys), len(set(keys)))
        self.assertEqual(set(keys), set(self.live))
        self.assertEqual({k: r.value for k, r in self.r.items()},
                         {k: v for k, (v, _) in self.live.items()})

    def test_stat(self):
        st = self.r.stat()
        self.assertEqual(st["keys"], len(self.live))
        self.assertEqual(st["expired_keys"], 1)  # "expired" is still in the file, absent to reads
        self.assertEqual((st["mode"], st["page_size"], st["slots"]), ("store", 4096, 512))
        self.assertEqual(st["file_size"], os.path.getsize(GOLDEN))


class TestGoldenCLI(unittest.TestCase):
    """mapkv.py as a command, beside kvtool on the same file."""

    def test_get(self):
        p = mapkv_py("get", GOLDEN, "user:42")
        self.assertEqual((p.returncode, p.stdout), (0, b'{"name":"Ada"}'))
        p = mapkv_py("get", GOLDEN, "large")
        self.assertEqual(p.stdout, golden()[0][b"large"][0])
        p = mapkv_py("get", GOLDEN, "empty")
        self.assertEqual((p.returncode, p.stdout), (0, b""))

    def test_exit_codes(self):
        for key in ("never", "deleted", "expired"):
            p = mapkv_py("get", GOLDEN, key)
            self.assertEqual((p.returncode, p.stdout), (1, b""), key)
            self.assertEqual(p.stderr.count(b"\n"), 1)
        self.assertEqual(mapkv_py("get", "/nonexistent/db", "k").returncode, 2)
        self.assertEqual(mapkv_py("get", GOLDEN).returncode, 2)
        self.assertEqual(mapkv_py("gte", GOLDEN, "k").returncode, 2)
        self.assertEqual(mapkv_py("get", "/dev/null", "k").returncode, 2)

    def test_list_matches_kvtool(self):
        p = mapkv_py("list", GOLDEN)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(p.stdout.splitlines()), sorted(kvtool("list", GOLDEN).stdout.splitlines()))
        self.assertIn(b'"\\x00\\xff\\xfe"', p.stdout.splitlines())

    def test_stat_matches_kvtool(self):
        mine = json.loads(mapkv_py("stat", GOLDEN).stdout)
        theirs = json.loads(kvtool("stat", "--json", GOLDEN).stdout)
        for field, value in mine.items():
            self.assertEqual(value, theirs[field], field)


class _Copy(unittest.TestCase):
    """A test with a writable copy of the golden file at self.path."""

    def setUp(self):
        d = tempfile.mkdtemp(prefix="mapkv-py-")
        self.addCleanup(shutil.rmtree, d)
        self.path = os.path.join(d, "db.kv")
        shutil.copyfile(GOLDEN, self.path)
        with open(self.path, "rb") as fh:
            self.data = bytearray(fh.read())

    def word(self, off):
        return _Q.unpack_from(self.data, off)[0]

    def put_word(self, off, v):
        _Q.pack_into(self.data, off, v)

    def save(self, fix_checksum=False):
        if fix_checksum:
            _Q.pack_into(self.data, 56, xxh64(bytes(self.data[:56])))
        with open(self.path, "wb") as fh:
            fh.write(self.data)


class TestHeader(_Copy):
    def refused(self, exc=f.Corrupt):
        self.save()
        with self.assertRaises(exc) as cm:
            Reader(self.path)
        return str(cm.exception)

    def test_versions(self):
        struct.pack_into("<I", self.data, 8, 3)
        self.save(fix_checksum=True)
        msg = self.refused()
        self.assertIn("newer", msg)
        struct.pack_into("<I", self.data, 8, 1)
        self.save(fix_checksum=True)
        msg = self.refused()
        self.assertIn("dump", msg)
        self.assertIn("load", msg)
        # Named as another version even when that version's checksum would differ.
        struct.pack_into("<I", self.data, 8, 3)
        self.assertIn("newer", self.refused())

    def test_fixed_part(self):
        cases = [
            (12, "<I", 8192, "page size"),
            (32, "<Q", 2, "flags"),
            (48, "<I", 0, "logPages"),
            (48, "<I", 257, "logPages"),
            (52, "<I", 1, "reserved"),
        ]
        for off, fmt, val, want in cases:
            with self.subTest(field=want, value=val):
                self.setUp()
                struct.pack_into(fmt, self.data, off, val)
                self.save(fix_checksum=True)
                self.assertIn(want, self.refused())
        self.setUp()
        self.data[20] ^= 1  # the seed, under the checksum
        self.assertIn("checksum", self.refused())

    def test_not_mapkv(self):
        self.data[0:8] = b"notmapkv"
        self.assertIn("magic", self.refused(f.NotMapkv))
        self.data[:] = bytes(8192)
        self.assertIn("zero", self.refused(f.NotMapkv))
        self.data[:] = b""
        self.assertIn("empty", self.refused(f.NotMapkv))

    def test_words(self):
        self.put_word(f.HDR_STATE, 1)
        self.assertIn("creation", self.refused(f.Error))
        self.setUp()
        for size in (len(self.data) + 4096, 4096 * 9, len(self.data) - 100):
            self.put_word(f.HDR_FILE_SIZE, size)
            self.assertIn("file size", self.refused())

    def test_table_word(self):
        for tw in (self.word(f.HDR_TABLE) + 4096 * 100, (self.word(f.HDR_TABLE) & ~63) | 8, 4096 | 9):
            with self.subTest(tw=hex(tw)):
                self.put_word(f.HDR_TABLE, tw)
                self.save()
                with Reader(self.path) as r, self.assertRaises(f.Corrupt):
                    r.lookup(b"user:42")

    def test_damaged_record(self):
        with Reader(GOLDEN) as r:
            soff = slot_of(r, b"user:42")
            off = (r.word(soff) & f.SLOT_ADDR_MASK) << 3
        self.data[off + 20] ^= 0x20  # a byte of the key: no longer "user:42"
        self.save()
        with Reader(self.path) as r:
            with self.assertRaises(f.Corrupt):
                r.lookup(b"user:42")
            with self.assertRaises(f.Corrupt):
                list(r.items())


def slot_of(r, key):
    """The offset of the slot holding key in a quiet file (probing as a writer would)."""
    h = reader.slot_hash(r.hdr.seed, key)
    tw = r.word(f.HDR_TABLE)
    table, log2 = tw & ~63, tw & 63
    i = h >> (64 - log2)
    for _ in range(1 << log2):
        soff = table + 8 * i
        s = r.word(soff)
        if s == 0:
            return None
        if s >> f.SLOT_TAG_SHIFT == h >> f.SLOT_TAG_SHIFT:
            rec = r._record(r._state(), soff, s)
            if rec.key == key:
                return soff
        i = (i + 1) % (1 << log2)
    return None


def empty_slot_for(r, key):
    """The first empty slot of key's probe, where an insert puts it."""
    h = reader.slot_hash(r.hdr.seed, key)
    tw = r.word(f.HDR_TABLE)
    table, log2 = tw & ~63, tw & 63
    i = h >> (64 - log2)
    while r.word(table + 8 * i):
        i = (i + 1) % (1 << log2)
    return table + 8 * i, h >> f.SLOT_TAG_SHIFT


def build_log(n, entries, extents=()):
    """Log n's bytes as docs/format.md "The redo log" specifies them (no overflow)."""
    payload = b"".join(struct.pack("<QQ", o, v) for o, v in entries)
    payload += b"".join(struct.pack("<QQQ", *e) for e in extents)
    head = struct.pack("<QIIQ", n, len(entries), len(extents), 0)
    return _Q.pack(f.LOG_MAGIC) + head + _Q.pack(xxh64(head + payload, 0)) + bytes(24) + payload


class TestWindow(_Copy):
    """A writer killed inside a window: readers answer from its log (concurrency.md, "Windows").

    The logs are built from docs/format.md alone; kvtool, reading the same file
    read-only (it never repairs), must give the same answers.
    """

    def setUp(self):
        super().setUp()
        with Reader(GOLDEN) as r:
            self.log_pages = r.hdr.log_pages
        self.n = self.word(f.HDR_APPLIED) + 1

    def write_log(self, entries, extents=(), applied=2):
        """Store log n in its region and apply its first `applied` entries, as a killed writer would."""
        region = f.PAGE * (1 + (self.n % 2) * self.log_pages)
        log = build_log(self.n, entries, extents)
        self.assertLessEqual(len(log), self.log_pages * f.PAGE)
        self.data[region:region + len(log)] = log
        for off, val in entries[:applied]:
            self.put_word(off, val)
        self.save()

    def agree(self, key, want):
        """Python and kvtool both give want (None: absent) for key."""
        with Reader(self.path) as r:
            rec = r.lookup(key)
            self.assertEqual(None if rec is None else rec.value, want)
        p = kvtool("get", self.path, key.decode(), check=False)
        if want is None:
            self.assertEqual(p.returncode, 1, p.stderr)
        else:
            self.assertEqual((p.returncode, p.stdout), (0, want), p.stderr)

    def agree_list(self):
        with Reader(self.path) as r:
            mine = sorted(k for k, _ in r.items())
        theirs = kvtool("list", self.path).stdout.splitlines()
        self.assertEqual(sorted(goquote.list_form(k).encode() for k in mine), sorted(theirs))
        return mine

    def deletion(self, key):
        with Reader(GOLDEN) as r:
            soff = slot_of(r, key)
        n = self.n
        return [(f.HDR_APPLYING, n), (f.HDR_WINDOW_START, n), (soff, 0),
                (f.HDR_KEYS, self.word(f.HDR_KEYS) - 1), (f.HDR_WINDOW_END, n), (f.HDR_APPLIED, n)]

    def test_deletion_before_its_slot_store(self):
        self.write_log(self.deletion(b"user:42"), applied=2)
        self.agree(b"user:42", None)
        self.agree(b"k1", b"vvvv")
        self.assertNotIn(b"user:42", self.agree_list())

    def test_deletion_after_its_slot_store(self):
        self.write_log(self.deletion(b"user:42"), applied=4)
        self.agree(b"user:42", None)
        self.assertEqual(len(self.agree_list()), len(golden()[0]) - 1)

    def insert(self, key, value, applied):
        """Log n inserts key in fresh pages at the high-water mark, as a writer does.

        The record bytes and the pages' generations are written in place before
        the commit; the pages' metadata words (kind, bitmap, chain links) and the
        slot only through the log. Returns the log's entries.
        """
        rec = struct.pack("<HHI", len(key), 0, len(value)) + key + value
        rec = struct.pack("<I", xxh64(rec, 0) & 0xFFFFFFFF) + rec
        page = self.word(f.HDR_HIGH_WATER)
        meta = []
        if len(rec) <= f.MAX_SLAB_RECORD:
            cls = min(i for i, c in enumerate(f.CLASS_SIZES) if c >= len(rec))
            off = page + f.SLAB_OBJECTS
            self.data[off:off + len(rec)] = rec
            meta = [(page, f.KIND_SLAB | cls << 8 | 1 << 16), (page + 32, 1)]
            pages = [page]
        else:
            off = page + f.CHAIN_DATA
            pages = [page + f.PAGE * i for i in range(-(-len(rec) // f.CHAIN_BYTES))]
            for i, p in enumerate(pages):
                chunk = rec[i * f.CHAIN_BYTES:(i + 1) * f.CHAIN_BYTES]
                self.data[p + f.CHAIN_DATA:p + f.CHAIN_DATA + len(chunk)] = chunk
                meta.append((p, f.KIND_CHAIN | (f.CHAIN_FIRST if i == 0 else 0)))
                if i + 1 < len(pages):
                    meta.append((p + 8, pages[i + 1]))
        self.assertLessEqual(pages[-1] + f.PAGE, self.word(f.HDR_FILE_SIZE))
        for p in pages:
            self.put_word(p + 16, self.word(p + 16) + 1)
        with Reader(GOLDEN) as r:
            soff, tag = empty_slot_for(r, key)
        n = self.n
        entries = ([(f.HDR_APPLYING, n), (f.HDR_WINDOW_START, n),
                    (f.HDR_HIGH_WATER, pages[-1] + f.PAGE)] + meta +
                   [(soff, tag << f.SLOT_TAG_SHIFT | off >> 3),
                    (f.HDR_KEYS, self.word(f.HDR_KEYS) + 1), (f.HDR_WINDOW_END, n), (f.HDR_APPLIED, n)])
        self.write_log(entries, [(off, len(rec), xxh64(rec[4:], 0))], applied=applied)
        return entries

    def test_insert_from_the_log(self):
        # Only the window's first two words applied: the page is still fresh (all
        # zeros) in memory, its kind and bitmap are in the log, like the slot.
        self.insert(b"never", b"from the log", applied=2)
        self.agree(b"never", b"from the log")
        self.assertIn(b"never", self.agree_list())

    def test_chain_from_the_log(self):
        # A chain of two fresh pages: their kinds and the link between them are
        # in the log only, so the reader must read them through it.
        value = bytes(range(256)) * 20  # 5120 bytes
        self.insert(b"never", value, applied=2)
        with Reader(self.path) as r:
            self.assertEqual(r.lookup(b"never").value, value)
            self.assertIn(b"never", [k for k, _ in r.items()])

    def test_chain_from_the_log_kvtool(self):
        # kv's reader walks a chain's pages through the window's log (kv/read.go,
        # pageWord); it used to read them from the mapping alone and reported
        # this chain as damage until a writer repaired the file.
        value = bytes(range(256)) * 20
        self.insert(b"never", value, applied=2)
        self.agree(b"never", value)

    def test_chain_from_the_log_applied(self):
        # Every entry applied but the window still open: memory and log agree.
        value = b"x" * 9000
        entries = self.insert(b"never", value, applied=100)
        self.assertEqual(self.word(f.HDR_WINDOW_END), self.n)
        self.put_word(f.HDR_WINDOW_END, self.n - 1)  # the writer died before its last two stores
        self.put_word(f.HDR_APPLIED, self.n - 1)
        self.save()
        self.assertGreater(len(entries), 8)
        self.agree(b"never", value)

    def test_recovery_window(self):
        # Recovery replays a log inside a window of its own, storing the window
        # words directly (hdrWindowEnd = n-1, hdrWindowStart = n), even for a log
        # that needs no window and so sets neither.
        entries = [e for e in self.deletion(b"user:42")
                   if e[0] not in (f.HDR_WINDOW_START, f.HDR_WINDOW_END)]
        self.write_log(entries, applied=1)
        self.put_word(f.HDR_WINDOW_END, self.n - 1)
        self.put_word(f.HDR_WINDOW_START, self.n)
        self.save()
        self.agree(b"user:42", None)
        self.agree(b"k1", b"vvvv")

    def test_damaged_log(self):
        entries = self.deletion(b"user:42")
        self.write_log(entries, applied=2)
        region = f.PAGE * (1 + (self.n % 2) * self.log_pages)
        self.data[region + 64] ^= 1  # the first entry's offset, under the checksum
        self.save()
        with Reader(self.path) as r, self.assertRaises(f.Corrupt):
            r.lookup(b"k1")
        self.assertEqual(kvtool("get", self.path, "k1", check=False).returncode, 2)
        self.assertEqual(mapkv_py("get", self.path, "k1").returncode, 2)


if __name__ == "__main__":
    unittest.main()
