#!/usr/bin/python3
# relayq e2e: fakes of the network for tests that run in a private network
# namespace (netns_lib.sh): only loopback addresses, every server ends by
# itself after --lifetime seconds.
#
#   netfake.py blackhole --host H --port P --ready FILE
#       listen with a backlog of 0 and fill it with one connection that is
#       never accepted: every further connect() waits for its SYN-ACK until
#       the client gives up, as behind a firewall that drops packets.
#   netfake.py dns --zone FILE --ready FILE [--host 127.0.0.1]
#       a small authoritative DNS server on UDP port 53 answering A, AAAA,
#       MX and SRV from a JSON zone: {"name.": {"A": ["127.0.0.2"],
#       "MX": [[10, "mx.name."]], "SRV": [[0, 1, 587, "smtp.name."]],
#       "silent": true}}. A name not in the zone is NXDOMAIN; a type it
#       lacks is an empty answer; "silent" names get no answer at all (a
#       lookup that black-holes). The zone is re-read for every query.
import json
import socket
import struct
import sys
import time


def opts(argv):
    o = {"host": "127.0.0.1", "lifetime": "300"}
    for i in range(0, len(argv) - 1, 2):
        o[argv[i].lstrip("-")] = argv[i + 1]
    return o


def ready(path):
    with open(path + ".tmp", "w") as f:
        f.write("ready\n")
    import os
    os.rename(path + ".tmp", path)


def blackhole(o):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((o["host"], int(o["port"])))
    ls.listen(0)
    filler = socket.create_connection((o["host"], int(o["port"])), 2)
    ready(o["ready"])
    time.sleep(float(o["lifetime"]))
    filler.close()


QTYPES = {1: "A", 28: "AAAA", 15: "MX", 33: "SRV"}


def qname(msg, off):
    labels = []
    while msg[off] != 0:
        n = msg[off]
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    return ".".join(labels).lower() + ".", off + 1


def enc_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def rdata(t, v):
    if t == "A":
        return socket.inet_pton(socket.AF_INET, v)
    if t == "AAAA":
        return socket.inet_pton(socket.AF_INET6, v)
    if t == "MX":
        return struct.pack("!H", v[0]) + enc_name(v[1])
    return struct.pack("!HHH", v[0], v[1], v[2]) + enc_name(v[3])


def answer(msg, zone):
    qid, = struct.unpack("!H", msg[:2])
    name, end = qname(msg, 12)
    qtype, = struct.unpack("!H", msg[end:end + 2])
    question = msg[12:end + 4]
    node = zone.get(name)
    if node is not None and node.get("silent"):
        return None
    rcode = 3 if node is None else 0
    recs = (node or {}).get(QTYPES.get(qtype, "?"), [])
    out = struct.pack("!HHHHHH", qid, 0x8580 | rcode, 1, len(recs), 0, 0)
    out += question
    for v in recs:
        rd = rdata(QTYPES[qtype], v)
        out += struct.pack("!HHHIH", 0xC00C, qtype, 1, 60, len(rd)) + rd
    return out


def dns(o):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((o["host"], 53))
    u.settimeout(1)
    ready(o["ready"])
    end = time.time() + float(o["lifetime"])
    while time.time() < end:
        try:
            msg, peer = u.recvfrom(4096)
        except socket.timeout:
            continue
        try:
            with open(o["zone"]) as f:
                zone = {k.lower(): v for k, v in json.load(f).items()}
            out = answer(msg, zone)
        except Exception as e:  # a malformed query: no answer
            sys.stderr.write("netfake dns: %r\n" % e)
            continue
        if out is not None:
            u.sendto(out, peer)


if __name__ == "__main__":
    {"blackhole": blackhole, "dns": dns}[sys.argv[1]](opts(sys.argv[2:]))
