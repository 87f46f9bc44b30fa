"""The reader's re-checks, each against the one interleaving it exists for.

A writer (this process, through a writable shared mapping of the same file)
acts at a chosen instant inside a read: right after the reader has loaded a
given word, or halfway through a record copy. Its writes follow docs/format.md
and docs/concurrency.md: a deletion's backward shift through a windowed log,
a record rewritten in place with its page's generation raised. Each test fails
if the re-check it exercises is removed from reader.py.
"""

import contextlib
import io
import mmap
import os
import shutil
import struct
import tempfile
import unittest

import format_v2 as f
import mapkv
import reader
from reader import Reader
from test_golden import build_log
from testutil import kvtool
from xxh64 import xxh64

_Q = struct.Struct("<Q")


class HookedReader(Reader):
    """A Reader that calls hook(off) right after it loads the word at off, and
    hook(("copy", start)) halfway through each copy of more than 16 bytes."""

    hook = None

    def word(self, off):
        v = _Q.unpack_from(self.m, off)[0]
        if self.hook is not None:
            self.hook(off)
        return v

    def _bytes(self, start, n):
        if self.hook is None or n <= 16:
            return self.m[start:start + n]
        half = self.m[start:start + n // 2]
        self.hook(("copy", start))
        return half + self.m[start + n // 2:start + n]


class Once:
    """A hook that runs action once, at the first event equal to trigger."""

    def __init__(self, trigger, action):
        self.trigger, self.action, self.fired = trigger, action, False

    def __call__(self, event):
        if not self.fired and event == self.trigger:
            self.fired = True
            self.action()


class Writer:
    """Writes the file as a mapkv writer would, through a shared writable mapping."""

    def __init__(self, path, hdr):
        self.fd = os.open(path, os.O_RDWR)
        self.m = mmap.mmap(self.fd, 0, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self.hdr = hdr

    def close(self):
        self.m.close()
        os.close(self.fd)

    def word(self, off):
        return _Q.unpack_from(self.m, off)[0]

    def store(self, off, v):
        _Q.pack_into(self.m, off, v)

    def commit(self, entries, window):
        """Write log n = hdrApplied + 1 (magic 0 first, magic last), then apply it in order."""
        n = self.word(f.HDR_APPLIED) + 1
        body = [(f.HDR_APPLYING, n)] + ([(f.HDR_WINDOW_START, n)] if window else [])
        body += entries + ([(f.HDR_WINDOW_END, n)] if window else []) + [(f.HDR_APPLIED, n)]
        log = build_log(n, body)
        region = f.PAGE * (1 + (n % 2) * self.hdr.log_pages)
        self.store(region, 0)
        self.m[region + 8:region + len(log)] = log[8:]
        self.store(region, f.LOG_MAGIC)
        for off, v in body:
            self.store(off, v)


class Interleave(unittest.TestCase):
    def setUp(self):
        d = tempfile.mkdtemp(prefix="mapkv-py-")
        self.addCleanup(shutil.rmtree, d)
        self.path = os.path.join(d, "db.kv")
        # 300 keys in a table of 512 slots: clusters, and keys past their home.
        lines = "".join('{"key":"key:%d","value":"value of key %d"}\n' % (i, i) for i in range(300))
        # The only record of its size class: alone in its slab page.
        lines += '{"key":"big","value":"%s"}\n' % ("b" * 1900)
        kvtool("load", self.path, input=lines.encode())
        self.r = HookedReader(self.path)
        self.addCleanup(self.r.close)
        self.w = Writer(self.path, self.r.hdr)
        self.addCleanup(self.w.close)
        st = self.r._state()
        self.table, self.log2 = st.table, st.log2
        self.size = 1 << self.log2
        # slot index -> (slot word, key, home)
        self.slots = {}
        for i in range(self.size):
            s = self.r.word(self.table + 8 * i)
            if s:
                rec = self.r._record(st, self.table + 8 * i, s)
                home = reader.slot_hash(self.r.hdr.seed, rec.key) >> (64 - self.log2)
                self.slots[i] = (s, rec.key, home)

    def shift(self, d):
        """The final slot words of deleting the entry at d (docs/format.md, "Deleting")."""
        final = {}
        hole = d
        k = (d + 1) % self.size
        for _ in range(self.size):
            if k not in self.slots:
                break
            s, _, home = self.slots[k]
            # Does home lie in the cyclic interval (hole, k]?
            if not (0 < (home - hole) % self.size <= (k - hole) % self.size):
                final[hole] = s
                hole = k
            k = (k + 1) % self.size
        final[hole] = 0
        return final

    def find_move(self):
        """A deletion at d that moves an entry from j back to j2 (< j, no wrap), or skip."""
        for d in sorted(self.slots):
            final = self.shift(d)
            moved = {}
            for dst, s in final.items():
                for j, (s2, key, _) in self.slots.items():
                    if s and s2 == s and j != dst:
                        moved[key] = (j, dst)
            for key, (j, j2) in moved.items():
                if j2 < j and max(final) < self.size - 1 and d < j2:
                    return d, final, key, j, j2
        self.skipTest("no cluster with a movable entry after another")

    def delete_at(self, d, final):
        entries = [(self.table + 8 * i, v) for i, v in sorted(final.items())]
        entries.append((f.HDR_KEYS, self.w.word(f.HDR_KEYS) - 1))
        self.w.commit(entries, window=True)

    def test_miss_during_a_shift_is_retried(self):
        # The probe for key passes j2 before the shift moves key there from j:
        # it then meets the cluster's end. Only the window words' re-load after
        # the probe (step 5) turns that miss into a retry.
        d, final, key, j, j2 = self.find_move()
        deleted = self.slots[d][1]
        self.r.hook = Once(self.table + 8 * j2, lambda: self.delete_at(d, final))
        rec = self.r.lookup(key)
        self.assertTrue(self.r.hook.fired)
        self.assertIsNotNone(rec, "false miss of %r during a deletion's shift" % key)
        self.assertEqual(rec.value, b"value of " + key.replace(b":", b" "))
        self.r.hook = None
        self.assertIsNone(self.r.lookup(deleted))

    def test_list_rewinds_after_a_shift(self):
        # The walk has passed j2 when the shift moves key there from j (the walk
        # is at j, reading key): only the rewind of hdrMaxProbe + 1 slots finds it.
        d, final, key, j, j2 = self.find_move()
        deleted = self.slots[d][1]
        self.r.hook = Once(self.table + 8 * j, lambda: self.delete_at(d, final))
        listed = [k for k, _ in self.r.items()]
        self.assertTrue(self.r.hook.fired)
        self.assertEqual(len(listed), len(set(listed)))
        want = {k for _, k, _ in self.slots.values()} - {deleted}
        self.assertEqual(set(listed) - {deleted}, want)

    def test_record_rewritten_during_the_copy(self):
        # ABA: between the reader's two slot loads the key is rewritten, lands in
        # the same object again (the slot word is the same) with another value.
        # Only the page generation tells the reader its copy is torn.
        i = next(i for i, (s, k, _) in sorted(self.slots.items()) if k == b"key:7")
        s, key, _ = self.slots[i]
        off = (s & f.SLOT_ADDR_MASK) << 3
        new_value = b"VALUE OF KEY 7"
        rec = struct.pack("<HHI", len(key), 0, len(new_value)) + key + new_value
        rec = struct.pack("<I", xxh64(rec, 0) & 0xFFFFFFFF) + rec

        def rewrite():
            self.w.m[off:off + len(rec)] = rec
            page = off & ~(f.PAGE - 1)
            self.w.store(page + 16, self.w.word(page + 16) + 1)

        self.r.hook = Once(("copy", off), rewrite)
        got = self.r.lookup(key)
        self.assertTrue(self.r.hook.fired)
        self.assertEqual(got.value, new_value)

    def test_window_closed_during_the_probe(self):
        # The reader took its view from an open window (log n of a killed writer,
        # which frees the page of "big"); before it probes, a writer repairs log n,
        # closes the window and commits n+1, which puts "new" into that page. The
        # view's page word says "free" for a page memory's slot uses: not damage,
        # since the window words changed; the reader must look again.
        i, (s_big, _, _) = next((i, v) for i, v in self.slots.items() if v[1] == b"big")
        final = self.shift(i)
        page = ((s_big & f.SLOT_ADDR_MASK) << 3) & ~(f.PAGE - 1)
        w0 = self.w.word(page)
        self.assertEqual(w0 >> 16 & 0xFFFF, 1, "big is not alone in its page")
        n = self.w.word(f.HDR_APPLIED) + 1
        free_head = self.w.word(f.HDR_FREE_HEAD)
        log_n = [(f.HDR_APPLYING, n), (f.HDR_WINDOW_START, n)]
        log_n += [(self.table + 8 * j, v) for j, v in sorted(final.items())]
        log_n += [(page, f.KIND_FREE), (page + 8, free_head), (f.HDR_FREE_HEAD, page),
                  (f.HDR_KEYS, self.w.word(f.HDR_KEYS) - 1), (f.HDR_WINDOW_END, n), (f.HDR_APPLIED, n)]
        region = f.PAGE * (1 + (n % 2) * self.r.hdr.log_pages)
        log = build_log(n, log_n)
        self.w.m[region:region + len(log)] = log
        for off, v in log_n[:2]:  # killed right after opening the window
            self.w.store(off, v)
        key, value = b"new", b"n" * 1900
        rec = struct.pack("<HHI", len(key), 0, len(value)) + key + value
        rec = struct.pack("<I", xxh64(rec, 0) & 0xFFFFFFFF) + rec
        home = reader.slot_hash(self.r.hdr.seed, key) >> (64 - self.log2)

        def repair_and_write():
            for off, v in log_n[2:]:
                self.w.store(off, v)
            self.w.m[page + 64:page + 64 + len(rec)] = rec
            self.w.store(page + 16, self.w.word(page + 16) + 1)
            j = home
            while self.w.word(self.table + 8 * j):
                j = (j + 1) % self.size
            tag = reader.slot_hash(self.r.hdr.seed, key) >> f.SLOT_TAG_SHIFT
            self.w.commit([(page, w0), (f.HDR_FREE_HEAD, free_head),
                           (self.table + 8 * j, tag << f.SLOT_TAG_SHIFT | (page + 64) >> 3),
                           (f.HDR_KEYS, self.w.word(f.HDR_KEYS) + 1)], window=False)

        self.r.hook = Once(f.HDR_FILE_SIZE, repair_and_write)
        got = self.r.lookup(key)
        self.assertTrue(self.r.hook.fired)
        self.assertEqual(got.value, value)

    def test_busy(self):
        # A writer that rewrites the record during every copy: the reader gives up
        # after max_attempts starts with Busy, and the command exits 75.
        i, (s, key, _) = next((i, v) for i, v in self.slots.items() if v[1] == b"big")
        off = (s & f.SLOT_ADDR_MASK) << 3
        page = off & ~(f.PAGE - 1)

        def bump(event):
            if event == ("copy", off):
                self.w.store(page + 16, self.w.word(page + 16) + 1)

        self.r.max_attempts = 50
        self.r.hook = bump
        with self.assertRaises(f.Busy):
            self.r.lookup(key)
        with self.assertRaises(f.Busy):
            list(self.r.items())
        self.assertGreaterEqual(self.r.attempts, 100)

        class BusyReader(HookedReader):
            max_attempts = 5
            hook = staticmethod(bump)

        saved = mapkv.Reader
        mapkv.Reader = BusyReader
        try:
            with contextlib.redirect_stderr(io.StringIO()) as err:
                self.assertEqual(mapkv.main(["get", self.path, "big"]), 75)
            self.assertIn("retry", err.getvalue())
        finally:
            mapkv.Reader = saved

    def test_table_rebuilt_during_a_miss(self):
        # The table moves (a rebuild) and its old pages are reused while the probe
        # is in it: the reader reads zeros where the cluster was. Only the table
        # word's re-load after the probe turns that miss into a retry.
        displaced = [(i, k, home) for i, (s, k, home) in self.slots.items() if i != home]
        if not displaced:
            self.skipTest("no key past its home slot")
        _, key, home = displaced[0]
        old, new = self.table, self.w.word(f.HDR_HIGH_WATER)
        self.assertLessEqual(new + 8 * self.size, self.w.word(f.HDR_FILE_SIZE))

        def rebuild():
            # The same slots in a new table (same size, so the same homes), then
            # the old table's pages reused: here, zeroed.
            for idx, (s, _, _) in self.slots.items():
                self.w.store(new + 8 * idx, s)
            self.w.commit([(f.HDR_HIGH_WATER, new + 8 * self.size), (f.HDR_TABLE, new | self.log2)],
                          window=False)
            self.w.m[old:old + 8 * self.size] = bytes(8 * self.size)

        self.r.hook = Once(old + 8 * home, rebuild)
        got = self.r.lookup(key)
        self.assertTrue(self.r.hook.fired)
        self.assertIsNotNone(got, "false miss of %r in a table freed during the probe" % key)


if __name__ == "__main__":
    unittest.main()
