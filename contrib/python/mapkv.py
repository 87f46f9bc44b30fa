#!/usr/bin/env python3
"""mapkv.py: read a mapkv file (format version 2) from Python, without Go and without a lock.

    python3 mapkv.py get FILE KEY     the value, raw, to stdout; exit 1 if absent
                                      (-q: a KEY starting with '"' is in list's quoted form)
    python3 mapkv.py list FILE        the keys, one per line, quoted as kvtool list quotes them
    python3 mapkv.py dump FILE        every live record in kvtool's dump format (JSON lines)
    python3 mapkv.py stat FILE        a few of `kvtool stat --json`'s fields, as JSON

Exit status as kvtool's (docs/cli.md): 0 success, 1 absent key, 2 bad usage or any
other error, 75 busy (writers kept changing what the reader read: retry later).
"""

import base64
import json
import os
import signal
import sys

import format_v2
import goquote
from reader import Reader, now_ms

EXIT_ABSENT = 1
EXIT_ERROR = 2
EXIT_BUSY = 75

USAGE = """usage: mapkv.py COMMAND FILE [ARGUMENTS]
commands: get FILE KEY [-q] | list FILE | dump FILE | stat FILE [--json]"""


class Usage(Exception):
    pass


def cmd_get(r, args, flags, out):
    quoted = "q" in flags
    if len(args) != 1:
        raise Usage("get takes FILE KEY [-q]")
    key = os.fsencode(args[0])
    if quoted and key[:1] == b'"':
        try:
            key = goquote.unquote(args[0])
        except ValueError:
            raise Usage("-q: %s is not a valid quoted key" % args[0]) from None
    if not key:
        raise Usage("a key must not be empty")
    rec = r.lookup(key)
    if rec is None:
        sys.stderr.write("mapkv.py: get: key %s not found\n" % goquote.list_form(key))
        return EXIT_ABSENT
    out.write(rec.value)
    return 0


def cmd_list(r, args, flags, out):
    if args:
        raise Usage("list takes FILE only")
    for key, _ in r.items():
        out.write(goquote.list_form(key).encode("utf-8") + b"\n")
    return 0


def _text_or_64(name, b):
    try:
        return {name: b.decode("utf-8")}
    except UnicodeDecodeError:
        return {name + "64": base64.b64encode(b).decode("ascii")}


def cmd_dump(r, args, flags, out):
    if args:
        raise Usage("dump takes FILE only")
    for key, rec in r.items():
        obj = _text_or_64("key", key)
        obj.update(_text_or_64("value", rec.value))
        if rec.expiry is not None:
            obj["ttl_ms"] = max(1, rec.expiry - now_ms())
        out.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n")
    return 0


def cmd_stat(r, args, flags, out):
    if args:
        raise Usage("stat takes FILE [--json]")
    out.write(json.dumps(r.stat(), indent=2).encode("utf-8") + b"\n")
    return 0


COMMANDS = {"get": cmd_get, "list": cmd_list, "dump": cmd_dump, "stat": cmd_stat}
FLAGS = {"get": {"q"}, "list": set(), "dump": set(), "stat": {"json"}}


def parse_args(name, argv):
    """Flags (before a "--", anywhere) and positional arguments, the way kvtool takes them."""
    flags, pos = set(), []
    ended = False
    for a in argv:
        if not ended and a == "--":
            ended = True
        elif not ended and a.startswith("-") and len(a) > 1 and not a[1].isdigit():
            flag = a.lstrip("-")
            if flag not in FLAGS[name]:
                raise Usage("unknown flag %s" % a)
            flags.add(flag)
        else:
            pos.append(a)
    return flags, pos


def main(argv):
    """Run one command; returns the exit status."""
    if not argv or argv[0] not in COMMANDS:
        sys.stderr.write(("mapkv.py: unknown command %r\n" % argv[0] if argv else "") + USAGE + "\n")
        return EXIT_ERROR
    name = argv[0]
    out = sys.stdout.buffer
    try:
        flags, pos = parse_args(name, argv[1:])
        if not pos:
            raise Usage("missing FILE")
        with Reader(pos[0]) as r:
            code = COMMANDS[name](r, pos[1:], flags, out)
        out.flush()
        return code
    except Usage as e:
        sys.stderr.write("mapkv.py %s: %s\n%s\n" % (name, e, USAGE))
        return EXIT_ERROR
    except format_v2.Busy as e:
        sys.stderr.write("mapkv.py: %s: %s\n" % (name, e))
        return EXIT_BUSY
    except format_v2.Error as e:
        sys.stderr.write("mapkv.py: %s: %s\n" % (name, e))
        return EXIT_ERROR
    except OSError as e:
        sys.stderr.write("mapkv.py: %s: %s\n" % (name, e))
        return EXIT_ERROR


if __name__ == "__main__":
    # A Unix filter: a closed pipe ends the process quietly (mapkv.py list | head -1).
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main(sys.argv[1:]))
