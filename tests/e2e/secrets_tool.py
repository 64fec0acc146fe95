#!/usr/bin/python3
"""relayq e2e helper for tests/e2e/secrets.sh.

  syslog SOCKET OUT    a syslog socket (datagrams) whose messages are
                       appended to OUT, one per line; runs until killed
                       (or for 30 minutes at most)
  ere SECRET           print an ERE matching the secret in any of the
                       forms below (for grep -E)
  scan SECRET FILE...  print "HIT FILE FORM" for every file that holds
                       SECRET in one of the forms it could leak in: as is,
                       or base64-encoded at any byte alignment (AUTH PLAIN,
                       LOGIN, XOAUTH2 put it after other bytes). strace
                       output (-xx: "\\xNN") is decoded first. Exit 0.
"""
import base64
import os
import re
import socket
import sys
import time


def forms(secret):
    """The secret's byte strings to look for."""
    s = secret.encode()
    out = {"plain": s}
    for off in range(3):
        enc = base64.b64encode(b"\0" * off + s)
        start = (0, 2, 3)[off]           # chars that mix in the prefix
        end = ((off + len(s)) // 3) * 4  # chars that mix in what follows
        out["base64@%d" % off] = enc[start:end]
    return out


HEX = re.compile(rb"\\x([0-9a-fA-F]{2})")


def scan(secret, paths):
    fs = forms(secret)
    for p in paths:
        try:
            with open(p, "rb") as f:
                data = f.read()
        except (IsADirectoryError, FileNotFoundError, PermissionError):
            continue
        decoded = HEX.sub(lambda m: bytes([int(m.group(1), 16)]), data)
        for name, pat in fs.items():
            if len(pat) >= 6 and (pat in data or pat in decoded):
                print("HIT %s %s" % (p, name))


def ere(secret):
    pats = [p.decode() for p in forms(secret).values() if len(p) >= 4]
    print("|".join(re.sub(r"([][.*+?^$(){}|\\])", r"\\\1", p)
                   for p in pats))


def syslog(path, out):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o666)
    s.settimeout(1)
    end = time.monotonic() + 1800
    with open(out, "ab", buffering=0) as f:
        while time.monotonic() < end:
            try:
                msg = s.recv(65536)
            except socket.timeout:
                continue
            f.write(msg.replace(b"\n", b" ") + b"\n")


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "syslog":
        syslog(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "ere":
        ere(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "scan":
        scan(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
