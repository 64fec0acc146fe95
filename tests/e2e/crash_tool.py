#!/usr/bin/python3
# relayq e2e: drivers and checkers for the crash, concurrency and disk-full
# tests (crash_*.sh, concurrency.sh, diskfull.sh).  Python so that kill
# points can be timed in microseconds and received mail compared byte for
# byte; every loop is bounded in count and time.
#
#   crash_tool.py mkmsg DIR TAG N KIND    write DIR/TAG-N.msg (the input) and
#                                         DIR/TAG-N.body (its body); KIND is
#                                         small | big | longline
#   crash_tool.py points TRACE SET        (name, ordinal) of every syscall of
#                                         SET in an `strace -f -o` TRACE of
#                                         the first process, in order: lines
#                                         "K NAME ORD"; the trace's process
#                                         must have exited 0
#   crash_tool.py strace-kill LEDGER TAG N NAME ORD AFTER MSG -- CMD...
#                                         run CMD under strace with SIGKILL
#                                         ($CT_INJECT: another strace inject
#                                         action, e.g. error=ENOSPC)
#                                         injected at the ORD-th NAME call,
#                                         MSG on stdin; append
#                                         "TAG-N strace NAME ORD RC AFTER" to
#                                         LEDGER (AFTER: 1 = the point is past
#                                         the commit marker, 0 = before it)
#   crash_tool.py timed-kill LEDGER TAG FIRST COUNT MAXUS DIR -- CMD...
#                                         for N in FIRST..FIRST+COUNT-1: feed
#                                         DIR/TAG-N.msg to CMD through a pipe
#                                         in small pieces with random pauses
#                                         (microseconds) and SIGKILL CMD after
#                                         a random delay up to MAXUS; append
#                                         "TAG-N timed DELAYUS KILLED RC -"
#   crash_tool.py runner-rounds LEDGER ALLOWED DIR SPOOL RX POINTS ROUNDS
#                               PER TAG strace|error|dot|plain
#                                         kill the queue runner once a round
#                                         (see runner_rounds())
#   crash_tool.py concurrent-submit LEDGER DIR TAG COUNT PAR
#                                         COUNT submissions from PAR threads
#                                         ($CT_SUBMIT_A / $CT_SUBMIT_B)
#   crash_tool.py received-ids RX         queue ids in the Received fields:
#                                         how many unique and duplicated
#   crash_tool.py scan-maildrop SPOOL DIR print "partial ..." for every
#                                         0704 maildrop entry that is not a
#                                         complete message of DIR, then
#                                         "leftover0600 N", "complete0704 N"
#   crash_tool.py received RX DIR         one line per received message:
#                                         "SUBJECTKEY ok|partial|unknown"
#   crash_tool.py verdict LEDGER RECEIVED [ALLOWED_DUPS]
#                                         the crash verdict, see verdict()
import email
import email.policy
import os
import random
import re
import signal
import stat
import subprocess
import sys
import time


def read(path):
    with open(path, "rb") as f:
        return f.read()


def body_of(kind, tag, n):
    lines = []
    if kind == "small":
        lines = ["small message %s-%d line %d" % (tag, n, i) for i in range(5)]
    elif kind == "big":
        # > 2 x the 64 KiB write buffer: several write() calls
        lines = ["%s-%d line %06d %s" % (tag, n, i, "x" * 50)
                 for i in range(2600)]
    elif kind == "longline":
        # a 3000-octet line: the quoted-printable pass (pread/pwrite,
        # ftruncate) runs before the commit
        lines = ["%s-%d before" % (tag, n), "L" * 3000,
                 "%s-%d after" % (tag, n)]
    else:
        raise SystemExit("unknown kind " + kind)
    lines.append("END %s-%d" % (tag, n))
    return ("\n".join(lines) + "\n").encode()


def mkmsg(d, tag, n, kind):
    n = int(n)
    body = body_of(kind, tag, n)
    head = ("To: rcpt-%s-%d@example.org\nSubject: crash %s-%d\n"
            "Message-ID: <%s-%d@crash.test>\n\n" % (tag, n, tag, n, tag, n))
    with open(os.path.join(d, "%s-%d.msg" % (tag, n)), "wb") as f:
        f.write(head.encode() + body)
    with open(os.path.join(d, "%s-%d.body" % (tag, n)), "wb") as f:
        f.write(body)


TRACE_RE = re.compile(r"^(\d+)\s+([a-z0-9_]+)\(")


def points(trace, sset):
    want = set(sset.split(","))
    first = None
    counts = {}
    out = []
    ok = False
    for line in open(trace, errors="replace"):
        m = TRACE_RE.match(line)
        if first is None:
            first = line.split()[0]
        pid = line.split()[0]
        if pid != first:
            continue
        if "+++ exited with 0 +++" in line or " exit_group(0)" in line:
            ok = True
        if not m:
            continue
        name = m.group(2)
        if name not in want:
            continue
        counts[name] = counts.get(name, 0) + 1
        out.append((name, counts[name]))
    if not ok:
        raise SystemExit("points: the traced process did not exit 0")
    for k, (name, ordn) in enumerate(out, 1):
        print(k, name, ordn)


def strace_kill(ledger, tag, n, name, ordn, after, msg, cmd):
    what = os.environ.get("CT_INJECT", "signal=KILL")
    args = ["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=" + name,
            "-e", "inject=%s:%s:when=%s" % (name, what, ordn)] + cmd
    with open(msg, "rb") as f:
        p = subprocess.run(args, stdin=f, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60)
    rc = p.returncode if p.returncode >= 0 else 128 - p.returncode
    with open(ledger, "a") as f:
        f.write("%s-%s strace %s %s %d %s\n" % (tag, n, name, ordn, rc,
                                                 after))


def timed_kill(ledger, tag, first, count, maxus, d, cmd):
    rnd = random.Random(os.environ.get("CRASH_SEED"))
    first, count, maxus = int(first), int(count), int(maxus)
    deadline = time.monotonic() + 120
    with open(ledger, "a") as led:
        for n in range(first, first + count):
            if time.monotonic() > deadline:
                break
            data = read(os.path.join(d, "%s-%d.msg" % (tag, n)))
            delay = rnd.randint(0, maxus) / 1e6
            p = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            t0 = time.monotonic()
            killed = False
            off = 0
            try:
                while off < len(data):
                    if time.monotonic() - t0 >= delay:
                        break
                    piece = rnd.randint(1, 8192)
                    p.stdin.write(data[off:off + piece])
                    p.stdin.flush()
                    off += piece
                    time.sleep(rnd.randint(0, 300) / 1e6)
                if off >= len(data):
                    p.stdin.close()
                left = delay - (time.monotonic() - t0)
                if left > 0:
                    time.sleep(left)
            except BrokenPipeError:
                pass
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                killed = True
            try:
                p.stdin.close()
            except BrokenPipeError:
                pass
            rc = p.wait(timeout=30)
            rc = rc if rc >= 0 else 128 - rc
            led.write("%s-%d timed %d %d %d -\n" % (
                tag, n, int(delay * 1e6), int(killed), rc))


def spool_keys(spool):
    """Subject keys of every message still in maildrop/ or queue/."""
    keys = set()
    for sub in ("maildrop", "queue"):
        d = os.path.join(spool, sub)
        for name in os.listdir(d):
            if not re.fullmatch(r"[0-9A-F]{16}", name):
                continue
            try:
                k = subject_key(read(os.path.join(d, name)))
            except OSError:
                continue
            if k:
                keys.add(k)
    return keys


def rx_keys(rx, since):
    """Keys of messages received in rx with a number above since."""
    out = []
    if not os.path.isdir(rx):
        return out, since
    top = since
    for name in os.listdir(rx):
        if name.endswith(".json") and name[:-5].isdigit() and \
                int(name[:-5]) > since:
            k = subject_key(read(os.path.join(rx, name[:-5] + ".eml")))
            out.append(k)
            top = max(top, int(name[:-5]))
    return out, top


def rx_top(rx):
    return rx_keys(rx, 0)[1]


def run_quiet(cmd, stdin=None, timeout=120):
    p = subprocess.run(cmd, stdin=stdin, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stderr.decode(errors="replace")


def runner_rounds(ledger, allowed, d, spool, rx, pts, rounds, per, tag,
                  mode):
    """mode strace: round r kills `$CT_RUN` at point r of pts (cycling);
    mode error: the same point fails with $CT_ERRNO (EIO) instead; mode
    plain: `$CT_RUN` runs as it is (a fault injector in it, say);
    mode dot: `$CT_RUN` is killed as soon as the smarthost (started with
    --data-reply-delay) has stored the round's first message, i.e. after
    the final dot and before the 250.  Then `$CT_FLUSH` runs the queue to
    completion (its smarthost is $CT_FLUSH_RX when set, else rx).  A key
    received during the killed run and still queued after the kill may be
    delivered once more: it goes to ALLOWED."""
    submit = os.environ["CT_SUBMIT"].split()
    run = os.environ["CT_RUN"].split()
    flush = os.environ["CT_FLUSH"].split()
    frx = os.environ.get("CT_FLUSH_RX", rx)
    plist = [line.split() for line in open(pts)] \
        if mode in ("strace", "error") else []
    rounds, per = int(rounds), int(per)
    deadline = time.monotonic() + float(os.environ.get("CT_MAX_SECS", 150))
    led = open(ledger, "a")
    alw = open(allowed, "a")
    stats = dict(rounds=0, window=0, flush_fail=0)
    for r in range(1, rounds + 1):
        if time.monotonic() > deadline:
            print("# time bound reached after %d rounds" % (r - 1))
            break
        keys = []
        for j in range(per):
            n = r * 100 + j
            kind = ("small", "big", "small")[j % 3]
            mkmsg(d, tag, n, kind)
            with open(os.path.join(d, "%s-%d.msg" % (tag, n)), "rb") as f:
                rc, err = run_quiet(submit, stdin=f)
            if rc != 0:
                raise SystemExit("submission failed: %d %s" % (rc, err))
            keys.append("%s-%d" % (tag, n))
            led.write("%s-%d run - - 0 -\n" % (tag, n))
        top = rx_top(rx)
        if mode in ("strace", "error"):
            k, name, ordn = plist[(r - 1) % len(plist)][:3]
            what = "signal=KILL" if mode == "strace" else "error=" + \
                os.environ.get("CT_ERRNO", "EIO")
            args = ["strace", "-f", "-qq", "-o", "/dev/null",
                    "-e", "trace=" + name,
                    "-e", "inject=%s:%s:when=%s" % (name, what, ordn)]
            run_quiet(args + run)
        elif mode == "plain":
            run_quiet(run)
        else:
            p = subprocess.Popen(run, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            t0 = time.monotonic()
            while time.monotonic() - t0 < 20:
                if rx_keys(rx, top)[0]:
                    break
                if p.poll() is not None:
                    break
                time.sleep(0.002)
            p.kill()
            p.wait()
        got, _ = rx_keys(rx, top)
        left = spool_keys(spool)
        for k in got:
            if k in left:
                alw.write(k + "\n")
                stats["window"] += 1
        alw.flush()
        rc, err = run_quiet(flush)
        if rc != 0:
            stats["flush_fail"] += 1
            print("# recovery run failed: %d %s" % (rc, err.strip()[:300]))
        if spool_keys(spool):
            stats["flush_fail"] += 1
            print("# round %d: still queued after the recovery run: %s" %
                  (r, sorted(spool_keys(spool))))
        stats["rounds"] += 1
    print("stats " + " ".join("%s=%d" % kv for kv in sorted(stats.items())))


def concurrent_submit(ledger, d, tag, count, par):
    """COUNT messages TAG-1..COUNT from PAR threads at once; odd numbers
    with $CT_SUBMIT_A, even ones with $CT_SUBMIT_B.  Ledger lines as for
    verdict() ("KEY conc MODE - RC -")."""
    import threading
    cmds = (os.environ["CT_SUBMIT_A"].split(),
            os.environ["CT_SUBMIT_B"].split())
    count, par = int(count), int(par)
    lock = threading.Lock()
    nxt = [1]
    lines = []
    deadline = time.monotonic() + float(os.environ.get("CT_MAX_SECS", 600))

    def worker():
        while True:
            with lock:
                n = nxt[0]
                nxt[0] += 1
            if n > count or time.monotonic() > deadline:
                return
            body = ("message %s-%d of %d\nEND %s-%d\n" %
                    (tag, n, count, tag, n)).encode()
            with open(os.path.join(d, "%s-%d.body" % (tag, n)), "wb") as f:
                f.write(body)
            msg = ("To: rcpt-%d@example.org\nSubject: crash %s-%d\n"
                   "Message-ID: <%s-%d@conc.test>\n\n" %
                   (n % 97, tag, n, tag, n)).encode() + body
            p = subprocess.run(cmds[n % 2], input=msg,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, timeout=120)
            with lock:
                lines.append("%s-%d conc %s - %d -\n" % (
                    tag, n, "AB"[n % 2], p.returncode))
                if p.returncode != 0:
                    sys.stderr.write("%s-%d: exit %d: %s\n" % (
                        tag, n, p.returncode, p.stderr.decode()[:200]))

    ts = [threading.Thread(target=worker) for _ in range(par)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    with open(ledger, "a") as f:
        f.writelines(lines)


def received_ids(rx):
    """Queue ids from the Received fields: "N unique, M duplicated"."""
    ids = {}
    for name in os.listdir(rx):
        if name.endswith(".eml"):
            m = re.search(rb"\(relayq, from userid \d+\)\r\n\s+id ([0-9A-F]{16});",
                          read(os.path.join(rx, name)))
            if m:
                ids[m.group(1)] = ids.get(m.group(1), 0) + 1
    dup = sum(1 for v in ids.values() if v > 1)
    print("ids %d unique, %d duplicated" % (len(ids), dup))


def subject_key(data):
    m = re.search(rb"(?im)^Subject: crash (\S+)\r?$", data)
    return m.group(1).decode() if m else None


def decoded_body(data):
    data = data.replace(b"\r\n", b"\n")
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    payload = msg.get_payload(decode=True)
    return payload


def expected_body(d, key):
    p = os.path.join(d, key + ".body")
    return read(p) if os.path.exists(p) else None


def scan_maildrop(spool, d):
    md = os.path.join(spool, "maildrop")
    left = complete = 0
    for name in sorted(os.listdir(md)):
        p = os.path.join(md, name)
        st = os.lstat(p)
        mode = stat.S_IMODE(st.st_mode)
        if mode == 0o600:
            left += 1
            continue
        if mode != 0o704:
            print("badmode %s %o" % (name, mode))
            continue
        data = read(p)
        key = subject_key(data)
        exp = expected_body(d, key) if key else None
        z = re.search(rb"\nZ (\d{20})\n\Z", data)
        h = re.match(rb"RELAYQ1\nA [^\n]*\nU [^\n]*\nS [^\n]*\nM\n", data)
        if exp is None or z is None or h is None or decoded_body(
                data[h.end():h.end() + int(z.group(1))]) != exp:
            print("partial %s %s" % (name, key))
            continue
        complete += 1
    print("leftover0600 %d" % left)
    print("complete0704 %d" % complete)


def received(rx, d):
    if not os.path.isdir(rx):
        return
    for name in sorted(os.listdir(rx)):
        if not (name.endswith(".json") and name[:-5].isdigit()):
            continue
        data = read(os.path.join(rx, name[:-5] + ".eml"))
        key = subject_key(data)
        if key is None:
            print("? unknown %s" % name)
            continue
        exp = expected_body(d, key)
        got = decoded_body(data)
        print("%s %s %s" % (key, "ok" if exp is not None and got == exp
                            else "partial", name[:-5]))


def verdict(ledger, recv, allowed=None):
    """Each ledger line: KEY KIND A B RC AFTER (AFTER: 1 when the kill
    point is past the commit marker, 0 before it, - when unknown).
    Rules: exit 0 -> delivered exactly once (+ allowed duplicates); killed
    at a point known to be before the commit -> never delivered; otherwise
    0 or 1 copies; every delivered copy complete."""
    got = {}
    bad = []
    for line in open(recv):
        f = line.split()
        if f[1] != "ok":
            bad.append("%s copy %s is %s" % (f[0], f[2] if len(f) > 2 else "?",
                                             f[1]))
        got[f[0]] = got.get(f[0], 0) + 1
    dups = {}
    if allowed and os.path.exists(allowed):
        for line in open(allowed):
            k = line.strip()
            if k:
                dups[k] = dups.get(k, 0) + 1
    stats = dict(runs=0, accepted=0, killed=0, lost=0, partial=0,
                 unexpected=0, dup=0, committed_killed=0, other_rc=0)
    seen = set()
    for line in open(ledger):
        f = line.split()
        key, rc, after = f[0], int(f[4]), f[5]
        seen.add(key)
        stats["runs"] += 1
        n = got.get(key, 0)
        if rc == 0:
            stats["accepted"] += 1
            if n == 0:
                stats["lost"] += 1
                bad.append("%s: exit 0 but never delivered (%s)" %
                           (key, line.strip()))
            elif n > 1 + dups.get(key, 0):
                stats["dup"] += 1
                bad.append("%s: delivered %d times" % (key, n))
        else:
            if rc != 137:
                stats["other_rc"] += 1
            stats["killed"] += 1
            if n > 0:
                stats["committed_killed"] += 1
            if after == "0" and n > 0:
                stats["unexpected"] += 1
                bad.append("%s: killed before the commit marker but "
                           "delivered (%s)" % (key, line.strip()))
            if after == "1" and n == 0:
                stats["lost"] += 1
                bad.append("%s: killed after the commit marker (the entry "
                           "was complete) but never delivered (%s)" %
                           (key, line.strip()))
            if n > 1 + dups.get(key, 0):
                stats["dup"] += 1
                bad.append("%s: delivered %d times" % (key, n))
    for k in got:
        if k not in seen:
            bad.append("%s: delivered but never submitted" % k)
    stats["partial"] = sum(1 for b in bad if "is partial" in b)
    print("stats " + " ".join("%s=%d" % kv for kv in sorted(stats.items())))
    for b in bad[:40]:
        print("bad " + b)
    return 1 if bad else 0


def main():
    a = sys.argv[1:]
    if not a:
        raise SystemExit(__doc__)
    cmd = a[0]
    rest = a[1:]
    if "--" in rest:
        i = rest.index("--")
        rest, prog = rest[:i], rest[i + 1:]
    else:
        prog = []
    if cmd == "mkmsg":
        mkmsg(*rest)
    elif cmd == "points":
        points(*rest)
    elif cmd == "strace-kill":
        strace_kill(*rest, prog)
    elif cmd == "timed-kill":
        timed_kill(*rest, prog)
    elif cmd == "runner-rounds":
        runner_rounds(*rest)
    elif cmd == "concurrent-submit":
        concurrent_submit(*rest)
    elif cmd == "received-ids":
        received_ids(*rest)
    elif cmd == "scan-maildrop":
        scan_maildrop(*rest)
    elif cmd == "received":
        received(*rest)
    elif cmd == "verdict":
        sys.exit(verdict(*rest))
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main()
