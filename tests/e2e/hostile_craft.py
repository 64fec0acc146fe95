#!/usr/bin/python3
# relayq e2e: craft broken spool files for tests/e2e/hostile_maildrop.sh.
#
#   hostile_craft.py msg OUT UID RCPT [KIND]
#       write a maildrop/queue message file (the format of src/spool.h)
#       for RCPT, broken the KIND way (default: "good"), mode 0704
#   hostile_craft.py env OUT ID KIND [OFFSET LENGTH]
#       write a broken queue envelope (queue/ID.env) of the KIND way
#
# Files are written with os.open/os.write only (sparse holes for the huge
# ones), so a 65 MB trailer costs nothing.
import os
import sys
import time

MB = 1 << 20


def message(rcpt):
    return ("To: %s\nSubject: crafted %s\n\ncrafted body\n" % (rcpt, rcpt)
            ).encode()


def msg_file(out, uid, rcpt, kind):
    now = int(time.time())
    head = b"RELAYQ1\nA %d\nU %s\nS sender@example.org\nM\n" % (
        now, uid.encode())
    msg = message(rcpt)
    rec = b"R %s\n" % rcpt.encode()
    flags = b"X 0\n"
    zlen = len(msg)
    hole = 0
    if kind == "good":
        pass
    elif kind == "noend":
        pass
    elif kind == "zbig":
        zlen = len(msg) + 4096
    elif kind == "zsmall":
        zlen = len(msg) - 10
    elif kind == "nul-rcpt":
        rec = b"R bad\0x@example.org\n"
    elif kind == "nul-sender":
        head = head.replace(b"S sender@", b"S sen\0der@")
    elif kind == "badmagic":
        head = head.replace(b"RELAYQ1", b"RELAYQ9")
    elif kind == "baduid":
        head = head.replace(b"U %s" % uid.encode(), b"U -1x")
    elif kind == "norcpt":
        rec = b""
    elif kind == "badrcpt":
        rec = b"R <evil@x.example> bad\n"
    elif kind == "emptyline":
        rec = b"\n" + rec
    elif kind == "huge-trailer":
        hole = 65 * MB           # over the reader's 64 MB trailer bound
    elif kind == "big-trailer":
        hole = 8 * MB            # under it: read, then refused (NULs)
    elif kind == "empty":
        head = msg = rec = flags = b""
    else:
        raise SystemExit("unknown kind %s" % kind)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, head + msg + rec + flags)
    if hole:
        os.lseek(fd, hole, os.SEEK_CUR)
    if kind not in ("noend", "empty"):
        os.write(fd, b"Z %020d\n" % zlen)
    os.fchmod(fd, 0o704)
    os.close(fd)


def env_file(out, qid, kind, off, length):
    good = ("RELAYQENV1\nI %s\nA %d\nU 0\nS sender@example.org\n"
            "O %s %s\nX 0\nN 0\nT 0\nR P bad-env-%s@example.org\nZ\n" % (
                qid, int(time.time()), off, length, kind)).encode()
    if kind == "badmagic":
        data = good.replace(b"RELAYQENV1", b"RELAYQENV9")
    elif kind == "truncated":
        data = good[:len(good) // 2]
    elif kind == "noend":
        data = good[:-2]
    elif kind == "nul":
        data = good.replace(b"S sender@", b"S sen\0der@")
    elif kind == "idmismatch":
        data = good.replace(b"I %s" % qid.encode(), b"I 0123456789ABCDEF")
    elif kind == "badrcpt":
        data = good.replace(b"R P ", b"R Q ")
    elif kind == "badoffset":
        data = good.replace(b"O %s %s" % (off.encode(), length.encode()),
                            b"O -5 99999999999")
    elif kind == "trailing":
        data = good + b"R P more@example.org\n"
    elif kind == "empty":
        data = b""
    elif kind == "huge":
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, good[:-2])
        os.lseek(fd, 65 * MB, os.SEEK_CUR)
        os.write(fd, b"Z\n")
        os.close(fd)
        return
    else:
        raise SystemExit("unknown kind %s" % kind)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, data)
    os.close(fd)


def main():
    if len(sys.argv) >= 5 and sys.argv[1] == "msg":
        msg_file(sys.argv[2], sys.argv[3], sys.argv[4],
                 sys.argv[5] if len(sys.argv) > 5 else "good")
    elif len(sys.argv) >= 5 and sys.argv[1] == "env":
        env_file(sys.argv[2], sys.argv[3], sys.argv[4],
                 sys.argv[5] if len(sys.argv) > 5 else "0",
                 sys.argv[6] if len(sys.argv) > 6 else "0")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
