"""The bytes of a mapkv file, format version 2, as docs/format.md specifies them.

Constants, the fixed header's checks, and the record and page layouts. Nothing
here knows about concurrency: reader.py applies these rules inside the reader
protocol of docs/concurrency.md.
"""

import struct

PAGE = 4096
VERSION = 2
MAGIC = b"mapkv\x00db"
LOG_MAGIC = 0x32676F6C766B706D  # the bytes "mpkvlog2" as a little-endian word

# The header's words (docs/format.md, "The words").
HDR_TABLE = 64
HDR_FILE_SIZE = 72
HDR_WINDOW_START = 80
HDR_WINDOW_END = 88
HDR_STATE = 128
HDR_APPLIED = 136
HDR_WRITER_PID = 144
HDR_HIGH_WATER = 152
HDR_FREE_HEAD = 160
HDR_FREE_PAGES = 168
HDR_APPLYING = 176
HDR_LEASES = 184
HDR_KEYS = 192
HDR_LIVE_BYTES = 208
HDR_MAX_PROBE = 216
HDR_GROWTHS = 224
HDR_REHASHES = 232
HDR_COMMITS = 240
HDR_TTL_KEYS = 248
HDR_EVICTIONS = 784
HDR_EXPIRED = 792
HDR_HITS = 1088
HDR_MISSES = 1096

STATE_READY = 2
FLAG_CACHE = 1

# A slot (docs/format.md, "A slot").
SLOT_ADDR_MASK = (1 << 35) - 1
SLOT_USE_MASK = 3 << 35
SLOT_E = 1 << 37
SLOT_TAG_SHIFT = 39

# Records (docs/format.md, "Records").
REC_HEADER = struct.Struct("<IHHI")  # checksum, klen, flags, vlen
REC_EXPIRES = 1
REC_LEASE = 2
MAX_VALUE = 64 << 20
MAX_SLAB_RECORD = 2016

# Data pages (docs/format.md, "Data pages").
KIND_SLAB = 0x53
KIND_CHAIN = 0x43
KIND_FREE = 0x46
CHAIN_FIRST = 0x100
CHAIN_DATA = 24  # a chain page's record bytes start here
CHAIN_BYTES = PAGE - CHAIN_DATA  # 4072
SLAB_OBJECTS = 64
CLASS_SIZES = (
    16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128, 144, 160,
    176, 192, 208, 224, 240, 256, 288, 320, 352, 384, 448, 504, 576, 672, 800,
    1008, 1152, 1344, 1600, 2016,
)

# The redo log (docs/format.md, "The redo log").
LOG_HEADER = struct.Struct("<QIIQQ")  # seq, entries, extents, overflow, checksum (bytes 8..39)
LOG_PAYLOAD = 64
OVERFLOW_NEXT = 24
OVERFLOW_DATA = 32
OVERFLOW_BYTES = PAGE - OVERFLOW_DATA  # 4064

_FIXED = struct.Struct("<8sIIQQQQIIQ")


class Error(Exception):
    """Any error of this reader; str() is the message a user sees."""


class NotMapkv(Error):
    """The file is not a mapkv file at all (empty, zeros, another magic)."""


class Corrupt(Error):
    """The file breaks a rule of docs/format.md: damage, or a version this reader refuses."""


class Busy(Error):
    """The reader ran out of retries while writers kept changing what it read."""


class Header:
    """The fixed part of the header page (bytes 0-63), checked as docs/format.md requires."""

    def __init__(self, seed, max_size, flags, created, log_pages):
        self.seed = seed
        self.max_size = max_size
        self.flags = flags
        self.created = created
        self.log_pages = log_pages
        self.log_end = PAGE * (1 + 2 * log_pages)

    @property
    def cache(self):
        return bool(self.flags & FLAG_CACHE)


def parse_header(page0, name, xxh64):
    """Check the header page's first 4096 bytes (or fewer, for a short file).

    Returns a Header, or raises NotMapkv or Corrupt with a message naming the
    file. The version is checked right after the magic, before the checksum,
    so that a file of another version is named as such even if that version's
    header were laid out or checksummed differently.
    """
    if len(page0) == 0:
        raise NotMapkv("%s is empty, not a mapkv file" % name)
    if len(page0) < 64 or page0[:8] != MAGIC:
        if not any(page0):
            raise NotMapkv("%s holds only zero bytes, not a mapkv file "
                           "(a creation that did not finish?)" % name)
        raise NotMapkv("%s is not a mapkv file (it does not start with mapkv's magic bytes)" % name)
    (magic, version, page_size, seed, max_size, flags, created, log_pages, reserved,
     checksum) = _FIXED.unpack_from(page0, 0)
    if version > VERSION:
        raise Corrupt("%s: format version %d is newer than this reader's %d: "
                      "read it with a newer mapkv" % (name, version, VERSION))
    if version != VERSION:
        raise Corrupt("%s: format version %d, this reader reads only version %d: copy the data "
                      "with the mapkv that wrote it (kvtool dump, then kvtool load with this one)"
                      % (name, version, VERSION))
    want = xxh64(page0[:56], 0)
    if checksum != want:
        raise Corrupt("%s: header checksum mismatch (0x%016x, want 0x%016x)" % (name, checksum, want))
    if page_size != PAGE:
        raise Corrupt("%s: page size %d, want %d" % (name, page_size, PAGE))
    if flags & ~FLAG_CACHE:
        raise Corrupt("%s: unknown file flags 0x%x (newer format?)" % (name, flags & ~FLAG_CACHE))
    if not 1 <= log_pages <= 256:
        raise Corrupt("%s: logPages %d outside 1..256" % (name, log_pages))
    if reserved != 0:
        raise Corrupt("%s: reserved header field is 0x%x, want 0" % (name, reserved))
    if len(page0) < PAGE:
        raise Corrupt("%s: %d bytes, shorter than its header page" % (name, len(page0)))
    return Header(seed, max_size, flags, created, log_pages)


def check_file_size(size, real, hdr, name):
    """Raise Corrupt unless hdrFileSize is one docs/format.md allows for a file of real bytes."""
    low = PAGE * (2 + 2 * hdr.log_pages)
    if size > real or size < low or size % PAGE or size > 1 << 38:
        raise Corrupt("%s: header file size %d is impossible (file %d bytes, at least %d, "
                      "a multiple of %d, at most 2^38)" % (name, size, real, low, PAGE))


def record_size(klen, flags, vlen):
    """The size of a record with these header fields (docs/format.md, "Records")."""
    return 12 + (8 if flags & REC_EXPIRES else 0) + klen + vlen


def check_record_header(klen, flags, vlen):
    """Return None if a record header's fields are legal, else what is wrong."""
    if klen == 0:
        return "key length 0"
    if vlen > MAX_VALUE:
        return "value length %d above 64 MiB" % vlen
    if flags & ~(REC_EXPIRES | REC_LEASE):
        return "unknown record flags 0x%x" % flags
    if flags & REC_LEASE and not flags & REC_EXPIRES:
        return "a lease without an expiry"
    return None


def split_record(buf):
    """Split a whole record's bytes into (checksum, klen, flags, vlen, expiry, key, value).

    expiry is None for a record without one. The caller has checked the header
    and that buf is exactly record_size bytes long.
    """
    checksum, klen, flags, vlen = REC_HEADER.unpack_from(buf, 0)
    p = 12
    expiry = None
    if flags & REC_EXPIRES:
        (expiry,) = struct.unpack_from("<q", buf, 12)
        p = 20
    return checksum, klen, flags, vlen, expiry, bytes(buf[p:p + klen]), bytes(buf[p + klen:p + klen + vlen])
