"""The reader on a file that Go processes are writing at the same time.

livewriter processes (contrib/python/livewriter) Put, Delete, PutTTL and Update
churn keys with self-validating values, one of them killed with SIGKILL halfway,
while this process gets and lists through the lock-free protocol and runs
mapkv.py as a command. Every value returned must be whole and the asked key's;
every stable key (written before the writers start, never touched again) must be
found by every get and every list; the only error allowed is Busy. Once the
writers have stopped, Python's view must equal kvtool's exactly.

MAPKV_LIVE_SECONDS sets how long the writers run (default 6 for the store, half
that for the cache).
"""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import format_v2 as f
import goquote
from reader import Reader, now_ms
from testutil import dump_records, go_tool, kvtool, mapkv_py, stable_key, value_problem

SECONDS = float(os.environ.get("MAPKV_LIVE_SECONDS", "6"))
# Operations per second of each writer: enough churn that a Python lookup (tens of
# microseconds) meets writers' changes often, without taking the machine's cores.
RATE = os.environ.get("MAPKV_LIVE_RATE", "4000")
STABLE = 200
CHURN = 2000


class Live(unittest.TestCase):
    def setUp(self):
        d = tempfile.mkdtemp(prefix="mapkv-py-live-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        self.addCleanup(shutil.rmtree, d)
        self.path = os.path.join(d, "live.kv")
        self.procs = []
        self.addCleanup(self.stop_all)
        self.counts = {"gets": 0, "hits": 0, "lists": 0, "listed": 0, "busy": 0, "cli": 0}

    def stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.communicate()

    def writer(self, *args):
        p = subprocess.Popen([go_tool("livewriter"), "-file", self.path] + list(args),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.procs.append(p)
        return p

    def check(self, key, rec, t0):
        """rec is a valid live record for key, read by a call that began at t0 (Unix ms)."""
        problem = value_problem(key, rec.value, rec.expiry)
        self.assertIsNone(problem)
        # Expired records read as absent against the reader's clock.
        self.assertTrue(rec.expiry is None or rec.expiry > t0, (key, rec.expiry, t0))

    def read_while(self, writers, stable, churn_keys):
        """Get and list until every writer in writers has exited."""
        r = Reader(self.path)
        self.addCleanup(r.close)
        rng = random.Random(1)
        next_cli = time.monotonic()
        while any(p.poll() is None for p in writers):
            try:
                for key in rng.sample(churn_keys, min(50, len(churn_keys))):
                    t0 = now_ms()
                    rec = r.lookup(key)
                    self.counts["gets"] += 1
                    if rec is not None:
                        self.counts["hits"] += 1
                        self.check(key, rec, t0)
                for key, want in rng.sample(sorted(stable.items()), min(20, len(stable))):
                    rec = r.lookup(key)
                    self.counts["gets"] += 1
                    self.assertIsNotNone(rec, "stable key %r missed" % key)
                    self.assertEqual(rec.value, want)
                if rng.random() < 0.3:
                    t0 = now_ms()
                    found = {}
                    for key, rec in r.items():
                        self.assertNotIn(key, found)
                        self.check(key, rec, t0)
                        found[key] = rec.value
                    self.counts["lists"] += 1
                    self.counts["listed"] += len(found)
                    for key, want in stable.items():
                        self.assertEqual(found.get(key), want, "list missed stable key %r" % key)
            except f.Busy:
                self.counts["busy"] += 1
            if time.monotonic() >= next_cli:
                next_cli = time.monotonic() + 1.0
                self.cli_while_writing(stable)
        self.counts["restarts"] = r.attempts

    def cli_while_writing(self, stable):
        """mapkv.py as a command on the live file: exit 0 or 75, right output."""
        for key in sorted(stable)[:3]:
            # The first is binary, with a zero byte: passed in list's quoted form.
            p = mapkv_py("get", "-q", self.path, goquote.list_form(key))
            self.assertIn(p.returncode, (0, 75), p.stderr)
            if p.returncode == 0:
                self.assertEqual(p.stdout, stable[key])
        p = mapkv_py("list", self.path)
        self.assertIn(p.returncode, (0, 75), p.stderr)
        if p.returncode == 0:
            lines = p.stdout.splitlines()
            self.assertEqual(len(lines), len(set(lines)))
            for k in stable:
                self.assertIn(goquote.list_form(k).encode(), lines)
        self.counts["cli"] += 1

    def quiet_agreement(self, all_keys):
        """With the writers stopped, Python and kvtool agree exactly."""
        # Short TTLs (under 1 s) lapse first, so that both read the same live set.
        time.sleep(1.0)
        theirs = dump_records(kvtool("dump", self.path).stdout)
        with Reader(self.path) as r:
            mine = {k: rec.value for k, rec in r.items()}
            self.assertEqual(mine, theirs)
            for key in all_keys:
                rec = r.lookup(key)
                self.assertEqual(None if rec is None else rec.value, theirs.get(key), key)
            st = r.stat()
        p = mapkv_py("list", self.path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(p.stdout.splitlines()), sorted(kvtool("list", self.path).stdout.splitlines()))
        for key in list(theirs)[:20]:
            p = mapkv_py("get", self.path, goquote.list_form(key), "-q")
            self.assertEqual((p.returncode, p.stdout), (0, theirs[key]))
        stat = json.loads(kvtool("stat", "--json", self.path).stdout)
        for field, value in st.items():
            self.assertEqual(value, stat[field], field)
        self.assertEqual(kvtool("check", self.path, check=False).returncode, 0)
        return st

    def report(self, name, st):
        sys.stderr.write("\n%s: %s; while reading: %d commits, %d growths, %d rehashes; at the end %d keys, %d evictions\n"
                         % (name, ", ".join("%s=%d" % kv for kv in self.counts.items()),
                            st["commits"], st["growths"], st["rehashes"], st["keys"], st["evictions"]))

    def test_store(self):
        # Growth, table rebuilds, windows of deletions and Updates, chains, expiry.
        self.run_live("store", SECONDS, [], STABLE, CHURN, RATE)

    def test_hot_keys(self):
        # Few keys rewritten as fast as the writers go: freed objects and pages are
        # reused within a Python reader's copy, which the re-checks must catch.
        self.run_live("hot", SECONDS / 2, [], 50, 20, "0")

    def test_cache(self):
        # A small cache: writes evict, slots carry the small-FIFO bit and use counts
        # that writers change outside the log.
        self.run_live("cache", SECONDS / 2, ["-max-size", str(2 << 20), "-evict"], 0, CHURN, RATE)

    def run_live(self, name, seconds, opts, stable_count, churn, rate):
        # Some churn keys first, so that stable keys sit past their homes; few
        # enough that the table still has rebuilds ahead of it.
        init = self.writer("-init", "-stable", str(stable_count), "-keys", str(min(churn, 300)), *opts)
        out, err = init.communicate()
        self.assertEqual(init.returncode, 0, err)
        stable = {}
        with Reader(self.path) as r:
            before = r.stat()
            for i in range(stable_count):
                rec = r.lookup(stable_key(i))
                self.assertIsNotNone(rec)
                self.assertIsNone(value_problem(stable_key(i), rec.value))
                stable[stable_key(i)] = rec.value
        churn_keys = [b"churn:%d" % i for i in range(churn)]
        opts = ["-rate", rate, "-duration", "%dms" % (seconds * 1000), "-keys", str(churn)] + opts
        writers = [self.writer("-id", "2", *opts), self.writer("-id", "3", *opts)]
        victim = self.writer("-id", "4", *opts)
        # A writer killed at a random instant: its log, if committed and not applied,
        # is repaired by the next writer; until then readers see it as the protocol says.
        killer = _Killer(victim, random.uniform(seconds * 0.2, seconds * 0.8))
        self.read_while(writers + [victim], stable, churn_keys)
        killer.cancel()
        for p in writers:
            out, err = p.communicate()
            self.assertEqual(p.returncode, 0, err)
            self.assertIn(b"ops=", out)
        self.assertGreater(self.counts["hits"], 0)
        self.assertGreater(self.counts["lists"], 0)
        st = self.quiet_agreement(churn_keys + list(stable))
        for k in ("commits", "growths", "rehashes"):
            st[k] -= before[k]
        self.report(name, st)


class _Killer:
    """SIGKILL a process after delay seconds (unless it has exited or cancel was called)."""

    def __init__(self, proc, delay):
        self.proc = proc
        self.at = time.monotonic() + delay
        self.cancelled = False
        signal.signal(signal.SIGALRM, self._fire)
        signal.setitimer(signal.ITIMER_REAL, delay)

    def _fire(self, *_):
        if not self.cancelled and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)

    def cancel(self):
        self.cancelled = True
        signal.setitimer(signal.ITIMER_REAL, 0)


if __name__ == "__main__":
    unittest.main()
