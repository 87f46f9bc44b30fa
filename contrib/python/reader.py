"""A read-only, lock-free reader of mapkv files (format version 2).

It follows the reader protocol of docs/concurrency.md ("Readers", "Windows",
"ForEach") over a read-only mmap of the file: it takes no lock, never writes,
and validates every copy it makes out of the mapping against the writers that
may be changing it. It never repairs a killed writer's log: inside an open
window it answers from that log, as the protocol says, and otherwise sees each
word as the dead writer left it.

Atomicity: every word is loaded with one struct.unpack_from("<Q") at an
8-aligned offset of the mapping; see README.md for why that is one 8-byte load
in CPython on x86-64 and where that could break.
"""

import mmap
import os
import stat as statmod
import struct
import time

import format_v2 as f
from xxh64 import xxh64

# docs/concurrency.md, "Readers", step 6: a lookup gives up after this many starts.
MAX_ATTEMPTS = 65536

_Q = struct.Struct("<Q")
_ENTRY = struct.Struct("<QQ")

# Outcomes of one step of the protocol.
_RETRY = object()  # a writer changed what was read: start over
_ABSENT = object()  # our key's record, expired or a lease: a miss
_MISS = object()


def now_ms():
    """The local clock in Unix milliseconds, the clock expiry is compared with."""
    return time.time_ns() // 1_000_000


def slot_hash(seed, key):
    """xxh64(seed8 || key, 0): the slot hash of docs/format.md, "The slot hash"."""
    return xxh64(_Q.pack(seed) + key, 0)


class _State:
    """What one start of the protocol loaded: the words and, in a window, its log."""

    __slots__ = ("tw_mem", "ws", "we", "view", "table", "log2", "file_size", "max_probe")

    def view_word(self, reader, off):
        v = self.view
        if v is not None and off in v:
            return v[off]
        return reader.word(off)


class Record:
    """A record a read validated: key, value, flags and expiry (Unix ms or None)."""

    __slots__ = ("key", "value", "flags", "expiry")

    def __init__(self, key, value, flags, expiry):
        self.key = key
        self.value = value
        self.flags = flags
        self.expiry = expiry

    def live(self, now):
        """True unless the record is a lease or expired at now (docs/format.md, "Records")."""
        if self.flags & f.REC_LEASE:
            return False
        return self.expiry is None or self.expiry > now


class Reader:
    """A read-only handle on one mapkv file. Not safe for use by several threads at once."""

    # Starts over a read may make before it raises Busy (tests lower it).
    max_attempts = MAX_ATTEMPTS

    def __init__(self, path):
        self.path = path
        try:
            self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise f.Error("%s does not exist: check the path" % path) from None
        except OSError as e:
            raise f.Error("cannot open %s: %s" % (path, e.strerror)) from None
        try:
            st = os.fstat(self.fd)
            if statmod.S_ISDIR(st.st_mode):
                raise f.Error("%s is a directory: give the path of a database file" % path)
            if not statmod.S_ISREG(st.st_mode):
                raise f.Error("%s is not a regular file: a database is a regular file" % path)
            page0 = os.pread(self.fd, f.PAGE, 0)
            self.hdr = f.parse_header(page0, path, xxh64)
            self.m = mmap.mmap(self.fd, 0, access=mmap.ACCESS_READ)
            if self.word(f.HDR_STATE) != f.STATE_READY:
                raise f.Error("%s: the file's creation did not finish; open it once read-write "
                              "(any kvtool write) to initialise it" % path)
            f.check_file_size(self.word(f.HDR_FILE_SIZE), len(self.m), self.hdr, path)
        except BaseException:
            os.close(self.fd)
            raise
        self._log_cache = None  # (ws, we, magic/seq/checksum words, entries) of the last window read
        self.attempts = 0  # starts over since open, for tests and curiosity

    def close(self):
        """Unmap and close the file."""
        self.m.close()
        os.close(self.fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- words and the mapping ---

    def word(self, off):
        """One 8-byte little-endian load at the 8-aligned offset off of the mapping."""
        return _Q.unpack_from(self.m, off)[0]

    def _covers(self, end, file_size):
        """Make the mapping reach end (<= file_size) if the file has those bytes; True if it does.

        The file only grows, and its published size never exceeds its length
        (docs/format.md, "Growth"), so a mapping of the whole file, remade when
        the published size outgrows it, holds every byte the committed state
        refers to.
        """
        if end <= len(self.m):
            return True
        if end > file_size:
            return False
        real = os.fstat(self.fd).st_size
        if real < end:
            return False
        self.m = mmap.mmap(self.fd, 0, access=mmap.ACCESS_READ)
        return end <= len(self.m)

    def _bytes(self, start, n):
        """n bytes of the mapping from start; the caller has checked the bounds."""
        return self.m[start:start + n]

    # --- one start of the protocol: the table word, the window words, a window's log ---

    def _state(self):
        """Load the table and window words (step 1) and check the table (step 2).

        Returns a _State, or _RETRY when a window's log could not be read while
        the window changed. Raises Corrupt for a table or log that is damaged
        while nothing changes.
        """
        tw = self.word(f.HDR_TABLE)
        ws = self.word(f.HDR_WINDOW_START)
        we = self.word(f.HDR_WINDOW_END)
        st = _State()
        st.tw_mem, st.ws, st.we, st.view = tw, ws, we, None
        if ws != we:
            st.view = self._window_log(ws, we)
            if st.view is None:
                if self.word(f.HDR_WINDOW_START) == ws and self.word(f.HDR_WINDOW_END) == we:
                    raise f.Corrupt("%s: log %d of the open window does not check out" % (self.path, ws))
                return _RETRY
        # Inside window n the reader sees the state after log n: every word log n
        # sets, the table word and the file size included, takes log n's value.
        table_word = st.view_word(self, f.HDR_TABLE)
        st.file_size = max(self.word(f.HDR_FILE_SIZE), st.view_word(self, f.HDR_FILE_SIZE))
        st.max_probe = st.view_word(self, f.HDR_MAX_PROBE)
        st.table = table_word & ~63
        st.log2 = table_word & 63
        end = st.table + (8 << st.log2) if 9 <= st.log2 <= 40 else 0
        ok = (9 <= st.log2 <= 40 and st.table % f.PAGE == 0 and st.table >= self.hdr.log_end
              and end <= st.file_size and self._covers(end, st.file_size))
        if not ok:
            if self.word(f.HDR_TABLE) != tw or self.word(f.HDR_WINDOW_START) != ws:
                return _RETRY
            raise f.Corrupt("%s: table word 0x%x: the table is not inside the file (size %d)"
                            % (self.path, table_word, st.file_size))
        return st

    def _window_log(self, ws, we):
        """The entries of log ws as {offset: value}, or None if it is not whole.

        A log is immutable while its window is open (log ws+1 goes to the other
        region, and log ws+2 is written only after window ws closed), so the
        entries read once serve every start until the window words change; the
        magic, sequence and checksum words are re-loaded each time to be sure.
        """
        region = f.PAGE * (1 + (ws % 2) * self.hdr.log_pages)
        if self.word(region) != f.LOG_MAGIC or self.word(region + 8) != ws:
            return None
        c = self._log_cache
        if c is not None and c[0] == ws and c[1] == we and c[2] == self.word(region + 32):
            return c[3]
        hdr = self._bytes(region + 8, f.LOG_HEADER.size)
        seq, n_entries, n_extents, overflow, checksum = f.LOG_HEADER.unpack(hdr)
        plen = n_entries * 16 + n_extents * 24
        file_size = self.word(f.HDR_FILE_SIZE)
        if seq != ws or plen > 1 << 32 or plen > file_size:
            return None
        first = min(plen, self.hdr.log_pages * f.PAGE - f.LOG_PAYLOAD)
        parts = [hdr[:24], self._bytes(region + f.LOG_PAYLOAD, first)]
        rest = plen - first
        page = overflow
        # Bounded: exactly the overflow pages the payload's length needs.
        for _ in range((rest + f.OVERFLOW_BYTES - 1) // f.OVERFLOW_BYTES):
            if (page % f.PAGE or page < self.hdr.log_end
                    or not self._covers(page + f.PAGE, file_size)):
                return None
            take = min(rest, f.OVERFLOW_BYTES)
            parts.append(self._bytes(page + f.OVERFLOW_DATA, take))
            rest -= take
            page = self.word(page + f.OVERFLOW_NEXT)
        data = b"".join(parts)
        if xxh64(data, 0) != checksum:
            return None
        if self.word(region) != f.LOG_MAGIC or self.word(region + 8) != ws:
            return None
        entries = {}
        order = []
        pay = memoryview(data)[24:]
        for i in range(n_entries):
            off, val = _ENTRY.unpack_from(pay, 16 * i)
            if off in entries:
                return None  # each offset appears once
            entries[off] = val
            order.append(off)
        # A log's file end is the size it publishes, if it grows the file.
        end = max(file_size, entries.get(f.HDR_FILE_SIZE, 0))
        for off in order:
            if (off % 8 or off < 64 or off in (f.HDR_STATE, f.HDR_WRITER_PID)
                    or 1024 <= off < f.PAGE or f.PAGE <= off < self.hdr.log_end
                    or off + 8 > end):
                return None
        # Entry order: hdrApplying = n first, hdrApplied = n last. The log need not
        # set the window words itself: recovery opens a window of the last log it
        # replays by storing them directly, whatever that log's entries.
        if (not order or order[0] != f.HDR_APPLYING or entries[f.HDR_APPLYING] != ws
                or order[-1] != f.HDR_APPLIED or entries[f.HDR_APPLIED] != ws):
            return None
        self._log_cache = (ws, we, checksum, entries)
        return entries

    def _unchanged(self, st):
        """Step 5, and the table word once more: True if this start's words still hold."""
        return (self.word(f.HDR_WINDOW_START) == st.ws and self.word(f.HDR_WINDOW_END) == st.we
                and self.word(f.HDR_TABLE) == st.tw_mem)

    # --- step 4: one slot's record ---

    def _record(self, st, soff, s):
        """Copy and validate the record slot soff holds (value s); step 4 of "Readers".

        Returns a Record, or _RETRY when the re-loads show a writer changed the
        slot, the page or the table during the copy. Raises Corrupt when the
        copy is bad and nothing changed.
        """
        off = (s & f.SLOT_ADDR_MASK) << 3
        page = off & ~(f.PAGE - 1)
        bad = None
        g1 = None
        if off < self.hdr.log_end or not self._covers(page + f.PAGE, st.file_size):
            bad = "slot at offset %d points outside the record space (offset %d)" % (soff, off)
        else:
            g1 = self.word(page + 16)
            got = self._copy(st, page, off)
            if isinstance(got, str):
                bad = got
        # The re-loads: the slot (ignoring the use bits), the generation, the table word.
        s2 = st.view_word(self, soff)
        if ((s2 ^ s) & ~f.SLOT_USE_MASK) or self.word(f.HDR_TABLE) != st.tw_mem:
            return _RETRY
        if g1 is not None and self.word(page + 16) != g1:
            return _RETRY
        if bad is None:
            checksum, klen, flags, vlen, expiry, key, value = got
            if bool(s & f.SLOT_E) != bool(flags & f.REC_EXPIRES):
                bad = "slot's expiry bit disagrees with its record's flags"
            else:
                return Record(key, value, flags, expiry)
        # Damage only if nothing moved on: inside a window the view is log n over
        # memory, and memory may already hold a later log's words if window n closed
        # meanwhile; and the file may have grown under a slot that seemed to point past it.
        if not self._unchanged(st) or self.word(f.HDR_FILE_SIZE) > st.file_size:
            return _RETRY
        raise f.Corrupt("%s: page %d offset %d: damaged record (%s)"
                        % (self.path, page // f.PAGE, off % f.PAGE, bad))

    def _copy(self, st, page, off):
        """Copy the record at off (in page) out of the mapping and check it.

        Returns split_record's tuple, or a string saying what is wrong; a wrong
        result may come from a writer changing the bytes meanwhile, which the
        caller's re-loads decide.
        """
        # Page words (kind, chain link) are metadata: inside a window they are read
        # through the window's log, like the slots.
        w0 = st.view_word(self, page)
        if off % f.PAGE == f.CHAIN_DATA:
            if w0 != f.KIND_CHAIN | f.CHAIN_FIRST:
                return "page kind 0x%x, want a chain's first page 0x%x" % (w0, f.KIND_CHAIN | f.CHAIN_FIRST)
            head = self._bytes(off, 12)
            _, klen, flags, vlen = f.REC_HEADER.unpack(head)
            why = f.check_record_header(klen, flags, vlen)
            if why:
                return why
            size = f.record_size(klen, flags, vlen)
            if size <= f.MAX_SLAB_RECORD:
                return "a chain holds a record of %d bytes, at most %d" % (size, f.MAX_SLAB_RECORD)
            parts = []
            left = size
            p = page
            # Bounded: no more pages than the size needs.
            for i in range((size + f.CHAIN_BYTES - 1) // f.CHAIN_BYTES):
                if i > 0:
                    if p % f.PAGE or p < self.hdr.log_end or not self._covers(p + f.PAGE, st.file_size):
                        return "chain page %d of %d at offset %d is outside the file" % (i + 1, size, p)
                    k = st.view_word(self, p)
                    if k != f.KIND_CHAIN:
                        return "chain page %d has kind 0x%x, want 0x%x" % (i + 1, k, f.KIND_CHAIN)
                take = min(left, f.CHAIN_BYTES)
                parts.append(self._bytes(p + f.CHAIN_DATA, take))
                left -= take
                if left:
                    p = st.view_word(self, p + 8)
            buf = b"".join(parts)
        else:
            if off % 8 or off % f.PAGE < f.SLAB_OBJECTS:
                return "offset %d is no slab object's" % off
            if w0 & 0xFF != f.KIND_SLAB or w0 >> 32:
                return "page kind 0x%x, want a slab page" % w0
            cls = (w0 >> 8) & 0xFF
            if cls >= len(f.CLASS_SIZES):
                return "slab size class %d" % cls
            size_c = f.CLASS_SIZES[cls]
            idx, rem = divmod(off - page - f.SLAB_OBJECTS, size_c)
            if rem or idx >= (f.PAGE - f.SLAB_OBJECTS) // size_c:
                return "offset %d is not an object of size class %d" % (off % f.PAGE, cls)
            head = self._bytes(off, 12)
            _, klen, flags, vlen = f.REC_HEADER.unpack(head)
            why = f.check_record_header(klen, flags, vlen)
            if why:
                return why
            size = f.record_size(klen, flags, vlen)
            if size > size_c:
                return "record of %d bytes in an object of %d" % (size, size_c)
            buf = self._bytes(off, size)
        # The checksum over exactly the bytes returned, whose header must be the one sized.
        if buf[:12] != head:
            return "record header changed during the copy"
        got = f.split_record(buf)
        if xxh64(buf[4:], 0) & 0xFFFFFFFF != got[0]:
            return "checksum mismatch"
        return got

    # --- the public reads ---

    def lookup(self, key):
        """Return key's live Record, or None if it is absent, expired or a lease.

        Raises Busy after MAX_ATTEMPTS starts, Corrupt on damage.
        """
        key = bytes(key)
        if not 1 <= len(key) <= 65535:
            return None
        h = slot_hash(self.hdr.seed, key)
        tag = h >> f.SLOT_TAG_SHIFT
        for _ in range(self.max_attempts):
            st = self._state()
            if st is _RETRY:
                self.attempts += 1
                continue
            r = self._probe(st, key, h, tag)
            if r is _RETRY or not self._unchanged(st):
                self.attempts += 1
                continue
            if r is _MISS or r is _ABSENT:
                return None
            return r if r.live(now_ms()) else None
        raise f.Busy("%s: writers kept changing what the reader read (%d starts): retry"
                     % (self.path, self.max_attempts))

    def _probe(self, st, key, h, tag):
        """Step 3: probe from the home slot; returns a Record, _MISS, _ABSENT or _RETRY."""
        n = 1 << st.log2
        mask = n - 1
        i = h >> (64 - st.log2)
        view = st.view
        for _ in range(n):
            soff = st.table + 8 * i
            s = view[soff] if view is not None and soff in view else self.word(soff)
            if s == 0:
                return _MISS
            if s >> f.SLOT_TAG_SHIFT == tag:
                r = self._record(st, soff, s)
                if r is _RETRY:
                    return r
                if r.key == key:
                    return r if r.flags & f.REC_LEASE == 0 else _ABSENT
            i = (i + 1) & mask
        if not self._unchanged(st):
            return _RETRY
        raise f.Corrupt("%s: the slot table has no empty slot" % self.path)

    def records(self):
        """Yield every validated record in table order, live or not, each key once.

        A live view as docs/concurrency.md "ForEach" describes: a key present
        and unchanged throughout is yielded exactly once; one written meanwhile
        may or may not be. It remembers every key yielded (the docs keep 64-bit
        hashes after the first rewind; a set of keys is simpler and exact).
        Raises Busy after MAX_ATTEMPTS starts over, Corrupt on damage.
        """
        seen = set()
        attempts = 0
        st = None
        i = 0
        while True:
            if st is None or not self._unchanged(st):
                new = self._state()
                if new is _RETRY:
                    attempts += 1
                    self.attempts += 1
                    if attempts >= self.max_attempts:
                        raise f.Busy("%s: writers kept changing the table (%d starts): retry"
                                     % (self.path, attempts))
                    continue
                if st is not None:
                    attempts += 1
                    self.attempts += 1
                    if attempts >= self.max_attempts:
                        raise f.Busy("%s: writers kept changing the table (%d starts): retry"
                                     % (self.path, attempts))
                    if new.table != st.table or new.log2 != st.log2:
                        i = 0  # a rebuilt table: walk it all, skipping keys yielded
                    else:
                        # A window opened or closed: a deletion may have moved entries
                        # behind the walk, at most hdrMaxProbe slots before their place.
                        i = max(0, i - new.max_probe - 1)
                st = new
            if i >= 1 << st.log2:
                return  # the words did not change since the last slot: the walk is whole
            soff = st.table + 8 * i
            s = st.view_word(self, soff)
            if s == 0:
                i += 1
                continue
            r = self._record(st, soff, s)
            if r is _RETRY:
                attempts += 1
                self.attempts += 1
                if attempts >= self.max_attempts:
                    raise f.Busy("%s: writers kept changing the table (%d starts): retry"
                                 % (self.path, attempts))
                continue
            if r.key not in seen:
                seen.add(r.key)
                yield r
            i += 1

    def items(self):
        """Yield (key, Record) for every live record (not expired, not a lease)."""
        for r in self.records():
            if r.live(now_ms()):
                yield r.key, r

    def stat(self):
        """A few of `kvtool stat --json`'s fields, from the header and one walk of the table."""
        live = expired = leases = 0
        for r in self.records():
            if r.flags & f.REC_LEASE:
                leases += 1
            elif r.live(now_ms()):
                live += 1
            else:
                expired += 1
        w = self.word
        file_size = w(f.HDR_FILE_SIZE)
        free_pages = w(f.HDR_FREE_PAGES)
        used = w(f.HDR_HIGH_WATER) - free_pages * f.PAGE
        slots = 1 << (w(f.HDR_TABLE) & 63)
        return {
            "file": self.path,
            "mode": "cache" if self.hdr.cache else "store",
            "keys": live,
            "expired_keys": expired,
            "leases": leases,
            "file_size": file_size,
            "max_size": self.hdr.max_size,
            "page_size": f.PAGE,
            "pages": file_size // f.PAGE,
            "free_pages": free_pages,
            "used_bytes": used,
            "free_bytes": file_size - used,
            "live_bytes": w(f.HDR_LIVE_BYTES),
            "slots": slots,
            "slot_load": w(f.HDR_KEYS) / slots,
            "max_probe": w(f.HDR_MAX_PROBE),
            "growths": w(f.HDR_GROWTHS),
            "rehashes": w(f.HDR_REHASHES),
            "commits": w(f.HDR_COMMITS),
            "evictions": w(f.HDR_EVICTIONS),
            "expired": w(f.HDR_EXPIRED),
            # kvtool's rule: a store counts no hits (null), a cache counts them
            # file-wide in two header words.
            "hits": w(f.HDR_HITS) if self.hdr.cache else None,
            "misses": w(f.HDR_MISSES) if self.hdr.cache else None,
        }
