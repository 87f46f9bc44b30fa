"""Helpers shared by the tests: the Go tools they compare with, and value checks."""

import atexit
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
GOLDEN = os.path.join(ROOT, "kv", "testdata", "golden-v2.kv")
GOLDEN_JSON = os.path.join(ROOT, "kv", "testdata", "golden-v2.json")
FORMAT_MD = os.path.join(ROOT, "docs", "format.md")
MAPKV_PY = os.path.join(HERE, "mapkv.py")

_tools = {}


def _bindir():
    if "dir" not in _tools:
        d = tempfile.mkdtemp(prefix="mapkv-py-bin-")
        atexit.register(shutil.rmtree, d, True)
        _tools["dir"] = d
    return _tools["dir"]


def go_tool(name):
    """Build ./cmd/kvtool ("kvtool") or ./contrib/python/livewriter ("livewriter") once; its path."""
    if name not in _tools:
        pkg = {"kvtool": "./cmd/kvtool", "livewriter": "./contrib/python/livewriter"}[name]
        out = os.path.join(_bindir(), name)
        subprocess.run(["go", "build", "-o", out, pkg], cwd=ROOT, check=True)
        _tools[name] = out
    return _tools[name]


def kvtool(*args, check=True, input=b""):
    """Run kvtool with args and input on stdin; the CompletedProcess (stdout, stderr: bytes)."""
    return subprocess.run([go_tool("kvtool")] + list(args), input=input, capture_output=True,
                          check=check)


def mapkv_py(*args):
    """Run mapkv.py with args as a separate process; the CompletedProcess."""
    return subprocess.run([sys.executable, MAPKV_PY] + list(args), stdin=subprocess.DEVNULL,
                          capture_output=True)


def golden():
    """The golden file's expected contents: ({key: (value, expiry or None)}, [absent keys])."""
    with open(GOLDEN_JSON) as fh:
        d = json.load(fh)
    live = {base64.b64decode(e["key"]): (base64.b64decode(e["value"]), e.get("expiry"))
            for e in d["live"]}
    return live, [base64.b64decode(k) for k in d["absent"]]


def dump_records(lines):
    """Parse kvtool's dump format: {key: value} from JSON lines (bytes)."""
    out = {}
    for line in lines.splitlines():
        obj = json.loads(line)
        key = base64.b64decode(obj["key64"]) if "key64" in obj else obj["key"].encode("utf-8")
        val = base64.b64decode(obj["value64"]) if "value64" in obj else obj["value"].encode("utf-8")
        if key in out:
            raise AssertionError("dump lists %r twice" % key)
        out[key] = val
    return out


def stable_key(i):
    """livewriter's i-th stable key."""
    if i % 8 == 7:
        return b"stable:\x00\xff\t%d" % i
    return b"stable:%d" % i


def value_problem(key, value, expiry=None):
    """None if value is one livewriter wrote for key, else what is wrong with it.

    livewriter's values are v1|KEY|WRITER|SEQ|EXPIRY|FILLER|SUM (see its doc).
    """
    body, sep, sum_ = value.rpartition(b"|")
    if not sep or hashlib.sha256(body).hexdigest()[:16].encode() != sum_:
        return "torn value (checksum fails): %r" % value[:100]
    prefix = b"v1|" + key + b"|"
    if not body.startswith(prefix):
        return "foreign value for %r: %r" % (key, value[:100])
    fields = body[len(prefix):].split(b"|")
    if len(fields) != 4:
        return "malformed value %r" % value[:100]
    promised = int(fields[2])
    if promised and (expiry is None or expiry < promised):
        return "value promises expiry %d, record has %r" % (promised, expiry)
    if not promised and expiry is not None:
        return "value without expiry, record expires at %d" % expiry
    return None
