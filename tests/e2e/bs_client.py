#!/usr/bin/python3
# relayq end-to-end tests: drive `sendmail -bs` the way Symfony Mailer and
# Laravel do: write a command, read its whole reply, check the code.
#
#   bs_client.py SCRIPT TRANSCRIPT STDERR_FILE CMD...
#
# SCRIPT lines: "S text" sends text + CRLF; "R code" reads one reply and
# fails unless it has that code; "K" kills CMD with SIGKILL (cronie's
# cancel); "E" closes CMD's stdin. At the end CMD's stdin is closed and
# its exit code printed ("exit N"). Exit 1 on the first unexpected reply.
import subprocess
import sys


def main():
    script, transcript, errfile = sys.argv[1:4]
    cmd = sys.argv[4:]
    out = open(transcript, "wb")
    with open(errfile, "wb") as err:
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=err)

    def reply():
        lines = []
        while True:
            line = p.stdout.readline()
            if not line:
                return lines
            out.write(b"S: " + line)
            lines.append(line)
            if line[3:4] != b"-":
                return lines

    for raw in open(script, "rb").read().split(b"\n"):
        if raw == b"":
            continue
        op, arg = raw[:1], raw[2:]
        if op == b"S":
            out.write(b"C: " + arg + b"\n")
            p.stdin.write(arg + b"\r\n")
            p.stdin.flush()
        elif op == b"R":
            got = reply()
            if not got or got[-1][:3] != arg:
                out.close()
                print("expected %s, got %r" % (arg.decode(), got))
                p.kill()
                p.wait()
                return 1
        elif op == b"K":
            p.kill()
        elif op == b"E":
            p.stdin.close()
    try:
        p.stdin.close()
    except BrokenPipeError:
        pass
    rest = p.stdout.read()
    if rest:
        out.write(b"S: " + rest)
    rc = p.wait(timeout=60)
    print("exit %d" % rc)
    return 0


sys.exit(main())
