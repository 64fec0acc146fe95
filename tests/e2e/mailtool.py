#!/usr/bin/python3
# relayq end-to-end tests: byte-exact helpers for messages and mailq output,
# so that the shell scripts never have to push binary data through sh.
#
#   mailtool.py get JSON KEY          value of KEY (lists one item a line,
#                                     None -> null, booleans -> true/false)
#   mailtool.py header EML NAME       every value of header NAME, unfolded,
#                                     one a line; exit 1 if there is none
#   mailtool.py headers EML           the header block, raw
#   mailtool.py body EML OUT          write the bytes after the first CRLF CRLF
#   mailtool.py crlf IN OUT           LF -> CRLF (existing CRLF kept)
#   mailtool.py bare-lf FILE          exit 0 and print offsets if FILE has an
#                                     LF not preceded by CR (or a lone CR)
#   mailtool.py cmp EXPECTED GOT      byte comparison with a readable report
#   mailtool.py find DIR SUBJECT      base paths (DIR/NNNN) of received
#                                     messages with this Subject
#   mailtool.py subjects DIR          Subject of every received message
#   mailtool.py mailq FILE            parse Postfix-style mailq output; print
#                                     "entry ID STATUS SIZE ARRIVAL|SENDER",
#                                     "reason TEXT", "rcpt ADDR", "total N",
#                                     "summary KBYTES REQUESTS", and
#                                     "error: ..." for each format violation
#   mailtool.py gen-body OUT SIZE     SIZE bytes of normal text lines (LF)
#   mailtool.py date VALUE [NOW SLACK] check an RFC 5322 date-time
#                                     (rfc5322date.py): print "ok EPOCH" or
#                                     "bad: REASON" (exit 1); with NOW and
#                                     SLACK, also that it is within SLACK
#                                     seconds of the epoch time NOW
#   mailtool.py asctime-near TEXT NOW SLACK  mailq's arrival time ("Sat Mar
#                                     7 09:30:05", local time, no year) is
#                                     within SLACK seconds of the epoch
#                                     time NOW (the year nearest to it;
#                                     the day of week must agree)
#   mailtool.py date-table FILE       the parser's self-test: lines "ok
#                                     VALUE" or "bad VALUE" (\t, \r, \n
#                                     escapes; # comments); print TAP-style
#                                     lines, exit 1 on any wrong verdict
#   mailtool.py free-port             a loopback port nobody listens on
#                                     now (released: another server may be
#                                     given it; lib.sh's down_port holds one)
#   mailtool.py hold-port FILE        bind a loopback port without
#                                     listening (a connection is refused),
#                                     write its number to FILE and keep it
#                                     until killed (at most 30 minutes), so
#                                     no other server can be given it
#   mailtool.py timed SECS OUT CMD... run CMD (stdin inherited) with stdout
#                                     and stderr on one pipe copied to OUT;
#                                     print "RC EXIT_MS EOF_MS": when CMD
#                                     exited and when the pipe was closed by
#                                     every process holding it (-1: still
#                                     open after SECS); RC 124 on timeout
import json
import os
import re
import select
import socket
import subprocess
import sys
import time

import rfc5322date


def read(path):
    with open(path, "rb") as f:
        return f.read()


def split(data):
    i = data.find(b"\r\n\r\n")
    if i < 0:
        return None, None
    return data[:i + 2], data[i + 4:]


def header_values(data, name):
    head, _ = split(data)
    if head is None:
        head = data
    out = []
    cur = None
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and cur is not None:
            cur[1] += b" " + line.strip()
            continue
        if cur is not None:
            out.append(cur)
            cur = None
        if b":" in line:
            k, v = line.split(b":", 1)
            cur = [k.strip(), v.strip()]
    if cur is not None:
        out.append(cur)
    return [v.decode("utf-8", "backslashreplace") for k, v in out
            if k.lower() == name.lower().encode()]


def cmd_get(path, key):
    with open(path) as f:
        v = json.load(f).get(key)
    if isinstance(v, list):
        for x in v:
            print(x)
    elif v is None:
        print("null")
    elif isinstance(v, bool):
        print("true" if v else "false")
    else:
        print(v)


def cmd_header(path, name):
    vals = header_values(read(path), name)
    for v in vals:
        print(v)
    return 0 if vals else 1


def cmd_headers(path):
    head, _ = split(read(path))
    if head is None:
        print("(no CRLF CRLF header/body separator)")
        return 1
    sys.stdout.write(head.decode("utf-8", "backslashreplace"))
    return 0


def cmd_body(path, out):
    _, body = split(read(path))
    if body is None:
        sys.stderr.write("%s: no CRLF CRLF header/body separator\n" % path)
        return 1
    with open(out, "wb") as f:
        f.write(body)
    return 0


def cmd_crlf(src, out):
    data = read(src).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    with open(out, "wb") as f:
        f.write(data)
    return 0


def cmd_bare_lf(path):
    data = read(path)
    bad = [m.start() for m in re.finditer(rb"(?<!\r)\n|\r(?!\n)", data)]
    for off in bad[:10]:
        print("offset %d: %r" % (off, data[max(0, off - 20):off + 20]))
    return 0 if bad else 1


def cmd_cmp(exp_path, got_path):
    exp, got = read(exp_path), read(got_path)
    if exp == got:
        return 0
    n = min(len(exp), len(got))
    i = next((k for k in range(n) if exp[k] != got[k]), n)
    print("  expected %d bytes, got %d bytes; first difference at offset %d"
          % (len(exp), len(got), i))
    lo = max(0, i - 40)
    print("  expected: %r" % exp[lo:i + 40])
    print("  got:      %r" % got[lo:i + 40])
    return 1


def received(d):
    return sorted(os.path.join(d, f[:-5]) for f in os.listdir(d)
                  if f.endswith(".json") and f[:-5].isdigit())


def cmd_find(d, subject):
    found = [b for b in received(d)
             if subject in header_values(read(b + ".eml"), "Subject")]
    for b in found:
        print(b)
    return 0 if found else 1


def cmd_subjects(d):
    for b in received(d):
        s = header_values(read(b + ".eml"), "Subject")
        print(s[0] if s else "(none)")
    return 0


HEADER = "-Queue ID- --Size-- ----Arrival Time---- -Sender/Recipient-------"
DATE = r"[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] \d\d:\d\d:\d\d"
ENTRY = re.compile(r"^([0-9A-F]+) *([*!]?) *(\d+) +(%s) +(\S.*)$" % DATE)
REASON = re.compile(r"^ *\((.*)\)$")     # Postfix right-aligns it
RCPT = re.compile(r"^ {41}(\S+)$")


def cmd_mailq(path):
    text = read(path).decode("utf-8", "backslashreplace")
    lines = text.split("\n")
    err = []
    if not text.endswith("\n"):
        err.append("output does not end with a newline")
    else:
        lines = lines[:-1]
    if text == "Mail queue is empty\n":
        print("empty")
        return 0
    if not lines or lines[0] != HEADER:
        err.append("first line is %r, expected %r"
                   % (lines[0] if lines else "", HEADER))
    i = 1
    entries = 0
    while i < len(lines):
        ln = lines[i]
        m = ENTRY.match(ln)
        if m:
            entries += 1
            if len(m.group(1)) <= 10 and \
                    not ln[20:].startswith(m.group(4)):
                err.append("line %d: arrival time not in column 21 "
                           "(under ----Arrival Time----): %r" % (i + 1, ln))
            print("entry %s %s %s %s|%s" % (
                m.group(1), m.group(2).strip() or "-", m.group(3), m.group(4),
                m.group(5)))
            i += 1
            nrcpt = 0
            while i < len(lines) and lines[i] != "" and \
                    not lines[i].startswith(("\t", "-- ")):
                r = RCPT.match(lines[i])
                why = REASON.match(lines[i])
                if why:
                    print("reason %s" % why.group(1))
                elif r:
                    nrcpt += 1
                    print("rcpt %s" % r.group(1))
                else:
                    err.append("line %d: neither a (reason) nor a recipient "
                               "indented by 41 spaces: %r" % (i + 1, lines[i]))
                i += 1
            if nrcpt == 0:
                err.append("entry %s has no recipient lines" % m.group(1))
            if i < len(lines) and lines[i] == "":
                i += 1
            continue
        m = re.match(r"^\t\tTotal requests: (\d+)$", ln)
        if m:
            print("total %s" % m.group(1))
            i += 1
            continue
        m = re.match(r"^-- (\d+) Kbytes in (\d+) Requests?\.$", ln)
        if m:
            print("summary %s %s" % (m.group(1), m.group(2)))
            if i != len(lines) - 1:
                err.append("the '-- N Kbytes' line is not the last line")
            i += 1
            continue
        err.append("line %d: unexpected %r" % (i + 1, ln))
        i += 1
    print("entries %d" % entries)
    for e in err:
        print("error: %s" % e)
    return 1 if err else 0


def cmd_gen_body(out, size):
    size = int(size)
    words = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do "
             "eiusmod tempor incididunt ut labore et dolore magna aliqua "
             "relayq").split()
    buf = bytearray()
    n = 0
    while len(buf) < size:
        line = "%06d " % n
        k = n
        while len(line) < 60 + n % 17:
            line += words[k % len(words)] + " "
            k = k * 7 + 3
        buf += line.rstrip().encode() + b"\n"
        n += 1
    del buf[size - 1:]
    buf += b"\n"
    with open(out, "wb") as f:
        f.write(buf)
    return 0


def cmd_date(value, now=None, slack=None):
    epoch, why = rfc5322date.parse(value)
    if epoch is not None and now is not None and \
            abs(epoch - int(now)) > int(slack):
        why = "%+d s from the clock (%s), more than %s s" % (
            epoch - int(now), now, slack)
    if why is not None:
        print("bad: %s" % why)
        return 1
    print("ok %d" % epoch)
    return 0


def cmd_asctime_near(text, now, slack):
    now, slack = int(now), int(slack)
    year = time.localtime(now).tm_year
    best = None
    for y in (year - 1, year, year + 1):
        try:
            tm = time.strptime("%d %s" % (y, text), "%Y %a %b %d %H:%M:%S")
        except ValueError:
            continue    # no such date that year (29 February)
        for dst in (0, 1):      # an hour repeated when DST ends: either
            t = int(time.mktime(tm[:8] + (dst,)))
            if time.localtime(t)[:7] != tm[:7]:
                continue    # not this wall-clock time, or day of week
            if best is None or abs(t - now) < abs(best - now):
                best = t
    if best is None:
        print("bad: %r is no local time of %d-%d" % (text, year - 1,
                                                     year + 1))
        return 1
    if abs(best - now) > slack:
        print("bad: %r is %+d s from the clock, more than %d s"
              % (text, best - now, slack))
        return 1
    print("ok %d" % best)
    return 0


def cmd_date_table(path):
    wrong = 0
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            want, _, value = line.partition(" ")
            value = value.replace("\\t", "\t").replace("\\r", "\r") \
                .replace("\\n", "\n")
            epoch, why = rfc5322date.parse(value)
            verdict = "ok" if epoch is not None else "bad"
            note = "" if why is None else " (%s)" % why
            if want not in ("ok", "bad"):
                print("not ok - line %d: neither ok nor bad: %r" % (n, line))
                wrong += 1
            elif verdict == want:
                print("ok - %s %r%s" % (want, value, note))
            else:
                print("not ok - %r: expected %s, got %s%s"
                      % (value, want, verdict, note))
                wrong += 1
    return 1 if wrong else 0


def cmd_free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()
    return 0


def cmd_hold_port(path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    with open(path + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(path + ".tmp", path)
    time.sleep(1800)
    return 0


def cmd_timed(secs, out, *argv):
    secs = float(secs)
    t0 = time.monotonic()
    deadline = t0 + secs
    p = subprocess.Popen(argv, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    fd = p.stdout.fileno()
    data = bytearray()
    rc = exit_ms = eof_ms = None
    while True:
        now = time.monotonic()
        if rc is None:
            rc = p.poll()
            if rc is not None:
                exit_ms = int((now - t0) * 1000)
        if eof_ms is not None and rc is not None:
            break
        if now >= deadline:
            break
        r, _, _ = select.select([fd] if eof_ms is None else [], [], [],
                                min(0.05, deadline - now))
        if r:
            chunk = os.read(fd, 65536)
            if chunk:
                data += chunk
            else:
                eof_ms = int((time.monotonic() - t0) * 1000)
    if rc is None:
        p.kill()
        p.wait()
        rc, exit_ms = 124, -1
    with open(out, "wb") as f:
        f.write(data)
    print("%d %d %d" % (rc, exit_ms, -1 if eof_ms is None else eof_ms))
    return 0


def main():
    cmds = {"get": cmd_get, "header": cmd_header, "headers": cmd_headers,
            "body": cmd_body, "crlf": cmd_crlf, "bare-lf": cmd_bare_lf,
            "cmp": cmd_cmp, "find": cmd_find, "subjects": cmd_subjects,
            "mailq": cmd_mailq, "gen-body": cmd_gen_body,
            "date": cmd_date, "date-table": cmd_date_table,
            "asctime-near": cmd_asctime_near,
            "free-port": cmd_free_port, "hold-port": cmd_hold_port, "timed": cmd_timed}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.stderr.write("usage: mailtool.py %s ...\n" % "|".join(cmds))
        return 2
    return cmds[sys.argv[1]](*sys.argv[2:]) or 0


if __name__ == "__main__":
    sys.exit(main())
