"""XXH64 (xxHash, 64-bit) in pure Python, standard library only.

Follows the published XXH64 algorithm (https://github.com/Cyan4973/xxHash,
doc/xxhash_spec.md): four 64-bit lanes over 32-byte stripes, then the tail in
8-, 4- and 1-byte steps, then the avalanche. Every operation is reduced mod
2**64, since Python integers do not wrap.
"""

import struct

__all__ = ["xxh64"]

_P1 = 0x9E3779B185EBCA87
_P2 = 0xC2B2AE3D27D4EB4F
_P3 = 0x165667B19E3779F9
_P4 = 0x85EBCA77C2B2AE63
_P5 = 0x27D4EB2F165667C5
_M = 0xFFFFFFFFFFFFFFFF


def _round(acc, lane):
    acc = (acc + lane * _P2) & _M
    acc = ((acc << 31) | (acc >> 33)) & _M
    return (acc * _P1) & _M


def _merge(h, v):
    h ^= _round(0, v)
    return (h * _P1 + _P4) & _M


def xxh64(data, seed=0):
    """Return XXH64 of the bytes-like data with the 64-bit seed, as an int."""
    data = bytes(data)
    n = len(data)
    seed &= _M
    p = 0
    if n >= 32:
        v1 = (seed + _P1 + _P2) & _M
        v2 = (seed + _P2) & _M
        v3 = seed
        v4 = (seed - _P1) & _M
        stripes = n // 32
        lanes = struct.unpack_from("<%dQ" % (stripes * 4), data)
        for i in range(0, stripes * 4, 4):
            # _round inlined four times: this loop is the hot path for long records.
            v1 = (v1 + lanes[i] * _P2) & _M
            v1 = ((((v1 << 31) | (v1 >> 33)) & _M) * _P1) & _M
            v2 = (v2 + lanes[i + 1] * _P2) & _M
            v2 = ((((v2 << 31) | (v2 >> 33)) & _M) * _P1) & _M
            v3 = (v3 + lanes[i + 2] * _P2) & _M
            v3 = ((((v3 << 31) | (v3 >> 33)) & _M) * _P1) & _M
            v4 = (v4 + lanes[i + 3] * _P2) & _M
            v4 = ((((v4 << 31) | (v4 >> 33)) & _M) * _P1) & _M
        p = stripes * 32
        h = (((v1 << 1) | (v1 >> 63)) + ((v2 << 7) | (v2 >> 57))
             + ((v3 << 12) | (v3 >> 52)) + ((v4 << 18) | (v4 >> 46))) & _M
        h = _merge(h, v1)
        h = _merge(h, v2)
        h = _merge(h, v3)
        h = _merge(h, v4)
    else:
        h = (seed + _P5) & _M
    h = (h + n) & _M
    while p + 8 <= n:
        (lane,) = struct.unpack_from("<Q", data, p)
        h ^= _round(0, lane)
        h = ((((h << 27) | (h >> 37)) & _M) * _P1 + _P4) & _M
        p += 8
    if p + 4 <= n:
        (lane,) = struct.unpack_from("<I", data, p)
        h ^= (lane * _P1) & _M
        h = ((((h << 23) | (h >> 41)) & _M) * _P2 + _P3) & _M
        p += 4
    while p < n:
        h ^= (data[p] * _P5) & _M
        h = ((((h << 11) | (h >> 53)) & _M) * _P1) & _M
        p += 1
    h ^= h >> 33
    h = (h * _P2) & _M
    h ^= h >> 29
    h = (h * _P3) & _M
    h ^= h >> 32
    return h
