"""The replay half of scripts/lua-ab.sh: WORK CALLS BUYERS NAME_A NAME_B.

Reads WORK/a.monitor and WORK/b.monitor (MONITOR output of two servers), takes each one's
take script and, from the first (the one put under load), the batch closest to BUYERS
buyers, loads both scripts into the quiet Redis at WORK/quiet.sock and replays that batch
CALLS times through each,
alternating in blocks; prints each script's time per call (Redis's own, from INFO
commandstats), the median over the blocks."""
import collections
import re
import socket
import statistics
import sys

work, calls, buyers, names = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:6]
ESCAPES = {"n": b"\n", "r": b"\r", "t": b"\t", "a": b"\a", "b": b"\b", "\\": b"\\", '"': b'"'}


def unquote(text):
    """One argument as MONITOR quotes it (sdscatrepr), back to its bytes."""
    out, i = bytearray(), 0
    while i < len(text):
        if text[i] != "\\":
            out += text[i].encode()
            i += 1
        elif text[i + 1] == "x":
            out.append(int(text[i + 2 : i + 4], 16))
            i += 4
        else:
            out += ESCAPES.get(text[i + 1], text[i + 1].encode())
            i += 2
    return bytes(out)


def commands(path):
    """The commands a server sent (not those its scripts ran), as argument lists."""
    for line in open(path, encoding="utf-8", errors="surrogateescape"):
        if "] " not in line or "[0 lua]" in line:
            continue
        body = line.split("] ", 1)[1]
        yield [unquote(t) for t in re.findall(r'"((?:[^"\\]|\\.)*)"', body)]


def script_and_batches(path):
    script, batches = None, []
    for cmd in commands(path):
        if [c.upper() for c in cmd[:2]] == [b"SCRIPT", b"LOAD"] and b"take.lua" in cmd[2]:
            script = cmd[2]
        elif cmd and cmd[0].upper() == b"EVALSHA":
            batches.append(cmd)
    if script is None:
        sys.exit(f"{path}: no take script was loaded while MONITOR ran")
    return script, batches


class Redis:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)
        self.file = self.sock.makefile("rb")

    def __call__(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self.read()

    def read(self):
        line = self.file.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind in b"+:":
            return rest
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.file.read(n + 2)[:-2]
        return [self.read() for _ in range(max(int(rest), 0))]


scripts = {}
scripts[names[0]], batches = script_and_batches(f"{work}/a.monitor")
scripts[names[1]], _ = script_and_batches(f"{work}/b.monitor")
if not batches:
    sys.exit("no batch was captured")
size = lambda cmd: int(cmd[3 + int(cmd[2])])
batch = min(batches, key=lambda cmd: abs(size(cmd) - buyers))
numkeys = int(batch[2])
keys, argv = batch[3 : 3 + numkeys], batch[3 + numkeys :]

redis = Redis(f"{work}/quiet.sock")
shas = {name: redis("SCRIPT", "LOAD", s) for name, s in scripts.items()}
for key in set(keys):
    if key.startswith(b"sw:sku:") and key.endswith(b"}"):
        redis("HSET", key, "available", 10**12)
for sha in shas.values():  # both read this batch, and warm up
    reply = redis("EVALSHA", sha, numkeys, *keys, *argv)
    if not isinstance(reply, list):
        sys.exit(f"the batch did not run: {reply!r}")
# Redis's own time in EVALSHA (INFO commandstats, the script's commands included), read
# before and after each block of calls through one script; the blocks alternate. (SLOWLOG
# would time each call, but it also logs every command a script runs, which would charge
# a script for each call it makes a second time.)
BLOCK = 25


def evalsha_usec():
    for line in redis("INFO", "commandstats").decode().splitlines():
        if line.startswith("cmdstat_evalsha:"):
            return int(line.split("usec=")[1].split(",")[0])
    return 0


times = collections.defaultdict(list)
for block in range(max(calls // BLOCK, 1)):
    for name in names if block % 2 == 0 else names[::-1]:
        before = evalsha_usec()
        for _ in range(BLOCK):
            redis("EVALSHA", shas[name], numkeys, *keys, *argv)
        times[name].append((evalsha_usec() - before) / BLOCK)
print(f"one batch of {size(batch)} buyers ({len(keys)} keys, {len(argv)} arguments), {calls} calls through each script:")
for name in names:
    t = times[name]
    print(f"  {name}: {statistics.median(t):.1f} µs a call (median of {len(t)} blocks of {BLOCK}; range {min(t):.1f}–{max(t):.1f})")
