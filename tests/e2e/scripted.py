#!/usr/bin/env python3
# relayq e2e: a scripted, hostile SMTP server for fault, TLS and smuggling
# tests (plain sockets, one thread per connection, Python's ssl module).
#
#   scripted.py serve --script FILE --outdir DIR --port-file F --log F
#               [--mode plain|starttls|smtps] [--cert CHAIN --key KEY]
#               [--tls-min 1|1.1|1.2|1.3] [--tls-max ...] [--seclevel N]
#               [--lifetime SECS]
#
# The script (JSON, re-read at every new connection, so a test can change
# the server's mind between passes) maps protocol steps to lists of
# operations.  Steps: greeting, ehlo (before TLS), ehlo2 (after TLS),
# starttls, auth, mail, rcpt, data, body, dot, rset, quit, noop.  A step
# that is not in the script behaves normally (["default"]).  Operations:
#   ["default"]               the normal reply (for starttls: 220 + ["tls"])
#   ["send", TEXT]            TEXT as bytes (latin-1: "\u0000" is a NUL byte)
#   ["repeat", TEXT, N]       TEXT N times, in one write (floods)
#   ["trickle", TEXT, SECS]   one byte of TEXT every SECS seconds
#   ["sleep", SECS]
#   ["tls"]                   server side of a TLS handshake now
#   ["close"]                 close the connection (no QUIT, no reply)
# More keys: "rcpt_map": {ADDRESS: OPS} replaces "rcpt" for one address;
# "body_after": N (65536) bytes of DATA read before the "body" ops run
# ("body" ops do not run when the message is shorter); "offer": {"starttls":
# true, "auth": true, "pipelining": true, "auth_in_clear": false}.
#
# Files: the log has one line per event, in smarthost.py's format so that
# lib.sh's helpers read it: "HH:MM:SS [conn N] C: <line>" (what the client
# sent, non-printable bytes escaped), "... S: <line>" (what we sent; floods
# summarized), "... * <event>" ("connect from ...", "implicit TLS ...",
# "STARTTLS done: ...", "TLS handshake failed: ...", "closed").  For each
# DATA: NNNN.raw (the exact bytes after 354, up to and including the
# "\r\n.\r\n" terminator), NNNN.eml (unstuffed content) and, only when the
# final dot got the default 250, NNNN.json (so received_count counts real
# acceptances).  "connections": the count of accepted connections.
import json
import os
import socket
import ssl
import sys
import threading
import time

LINE_MAX = 65536
DATA_MAX = 64 * 1024 * 1024


def atomic_write(path, data):
    tmp = "%s.tmp.%d.%d" % (path, os.getpid(), threading.get_ident())
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


def show(b, limit=300):
    s = b.decode("latin-1")
    out = []
    for ch in s:
        o = ord(ch)
        if ch == "\r":
            out.append("\\r")
        elif ch == "\n":
            out.append("\\n")
        elif o < 0x20 or o == 0x7f or o > 0x7e:
            out.append("\\x%02x" % o)
        else:
            out.append(ch)
    s = "".join(out)
    if len(s) > limit:
        s = s[:limit] + "...[%d bytes]" % len(b)
    return s


class Closed(Exception):
    pass


class Server:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.logf = open(args["log"], "a", buffering=1, encoding="utf-8")
        self.outdir = args["outdir"]
        os.makedirs(self.outdir, exist_ok=True)
        self.nconn = 0
        self.nmsg = 0
        self.ctx = None
        if args["mode"] in ("starttls", "smtps"):
            self.ctx = self.make_ctx()

    def make_ctx(self):
        a = self.args
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        vers = {"1": ssl.TLSVersion.TLSv1, "1.1": ssl.TLSVersion.TLSv1_1,
                "1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
        if a.get("seclevel") is not None:
            ctx.set_ciphers("DEFAULT:@SECLEVEL=%s" % a["seclevel"])
        if a.get("tls_min"):
            ctx.minimum_version = vers[a["tls_min"]]
        if a.get("tls_max"):
            ctx.maximum_version = vers[a["tls_max"]]
        ctx.load_cert_chain(a["cert"], a["key"])
        return ctx

    def log(self, conn, kind, text):
        with self.lock:
            self.logf.write("%s [conn %s] %s %s\n" % (
                time.strftime("%H:%M:%S"), conn, kind, text))

    def script(self):
        try:
            with open(self.args["script"]) as f:
                return json.load(f)
        except (OSError, ValueError) as e:
            self.log("-", "*", "cannot read the script: %s" % e)
            return {}


class Conn:
    def __init__(self, srv, sock, n):
        self.srv = srv
        self.sock = sock
        self.n = n
        self.buf = bytearray()
        self.tls = False
        self.script = srv.script()
        self.offer = dict(starttls=True, auth=True, pipelining=True,
                          auth_in_clear=False)
        self.offer.update(self.script.get("offer", {}))
        self.mail_from = None
        self.rcpts = []

    def log(self, kind, text):
        self.srv.log(self.n, kind, text)

    # --- I/O ---
    def recv(self):
        try:
            d = self.sock.recv(65536)
        except (OSError, ssl.SSLError) as e:
            raise Closed("recv: %s" % e)
        if not d:
            raise Closed("client closed the connection")
        self.buf += d

    def readline(self):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                return line
            if len(self.buf) > LINE_MAX:
                raise Closed("command line too long")
            self.recv()

    def write(self, b, shown=None):
        for ln in (shown if shown is not None else
                   b.split(b"\r\n")[:-1] if b.endswith(b"\r\n") else [b]):
            self.log("S:", show(ln) if isinstance(ln, bytes) else ln)
        try:
            self.sock.sendall(b)
        except (OSError, ssl.SSLError) as e:
            raise Closed("send: %s" % e)

    # --- the script ---
    def run(self, step, default, ops=None):
        if ops is None:
            ops = self.script.get(step, [["default"]])
        for op in ops:
            k = op[0]
            if k == "default":
                default()
            elif k == "send":
                self.write(op[1].encode("latin-1"))
            elif k == "repeat":
                t = op[1].encode("latin-1")
                self.write(t * int(op[2]), shown=["<%d x %s>" % (
                    int(op[2]), show(t))])
            elif k == "trickle":
                t = op[1].encode("latin-1")
                self.log("S:", "<trickle %s, one byte every %ss>"
                         % (show(t), op[2]))
                for i in range(len(t)):
                    try:
                        self.sock.sendall(t[i:i + 1])
                    except (OSError, ssl.SSLError) as e:
                        raise Closed("trickle: %s" % e)
                    time.sleep(float(op[2]))
            elif k == "sleep":
                time.sleep(float(op[1]))
            elif k == "tls":
                self.starttls()
            elif k == "close":
                raise Closed("script: close after %s" % step)
            else:
                raise Closed("script: unknown operation %r" % (op,))

    def starttls(self):
        if self.buf:
            self.log("*", "client sent %d bytes before the handshake: %s"
                     % (len(self.buf), show(bytes(self.buf))))
        try:
            self.sock = self.srv.ctx.wrap_socket(self.sock, server_side=True)
        except (OSError, ssl.SSLError) as e:
            self.log("*", "TLS handshake failed: %s" % e)
            raise Closed("TLS handshake failed")
        self.tls = True
        self.log("*", "STARTTLS done: %s %s" % (self.sock.version(),
                                                self.sock.cipher()[0]))

    # --- default replies ---
    def ehlo_reply(self):
        caps = ["scripted.test"]
        if self.offer["pipelining"]:
            caps.append("PIPELINING")
        caps += ["SIZE 50000000", "8BITMIME", "ENHANCEDSTATUSCODES"]
        if (self.srv.args["mode"] == "starttls" and not self.tls
                and self.offer["starttls"]):
            caps.append("STARTTLS")
        if self.offer["auth"] and (self.tls or self.offer["auth_in_clear"]):
            caps.append("AUTH PLAIN LOGIN")
        caps.append("HELP")
        out = b"".join(("250-%s\r\n" % c).encode() for c in caps[:-1])
        self.write(out + ("250 %s\r\n" % caps[-1]).encode())

    def auth_default(self, line):
        w = line.split()
        if len(w) >= 2 and w[1].upper() == b"LOGIN":
            self.write(b"334 VXNlcm5hbWU6\r\n")
            self.log("C+:", show(self.readline().rstrip(b"\r\n")))
            self.write(b"334 UGFzc3dvcmQ6\r\n")
            self.log("C+:", show(self.readline().rstrip(b"\r\n")))
        elif len(w) == 2:
            self.write(b"334 \r\n")
            self.log("C+:", show(self.readline().rstrip(b"\r\n")))
        self.write(b"235 2.7.0 Authentication successful\r\n")
        self.log("*", "AUTH %s: ok" % show(w[1] if len(w) > 1 else b"?"))

    def rcpt(self, line):
        arg = line.decode("latin-1")
        addr = arg[arg.find("<") + 1:].split(">")[0].lower()
        ops = self.script.get("rcpt_map", {}).get(addr)

        def ok():
            self.rcpts.append(addr)
            self.write(b"250 2.1.5 OK\r\n")
        self.run("rcpt", ok, ops)

    def data(self):
        accepted = []

        def go():
            accepted.append(1)
            self.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
        self.run("data", go)
        if not accepted:
            return
        after = int(self.script.get("body_after", 65536))
        ran_body = False
        raw = bytearray()
        while True:
            # The message ends at the first CRLF.CRLF, or at ".\r\n" at
            # its very start (an empty message).
            if raw.startswith(b".\r\n"):
                end = 3
                break
            i = raw.find(b"\r\n.\r\n")
            if i >= 0:
                end = i + 5
                break
            if not ran_body and len(raw) >= after and "body" in self.script:
                ran_body = True
                self.log("*", "body: %d bytes received, running the "
                         "body step" % len(raw))
                self.run("body", lambda: None)
            if len(raw) > DATA_MAX:
                raise Closed("DATA too large")
            if not self.buf:
                self.recv()
            raw += self.buf
            self.buf = bytearray()
        self.buf = raw[end:] + self.buf
        raw = bytes(raw[:end])
        with self.srv.lock:
            self.srv.nmsg += 1
            n = self.srv.nmsg
        base = os.path.join(self.srv.outdir, "%04d" % n)
        atomic_write(base + ".raw", raw)
        content = raw[:-3] if raw != b".\r\n" else b""
        lines = content.split(b"\r\n")
        content = b"\r\n".join(ln[1:] if ln.startswith(b".") else ln
                               for ln in lines)
        atomic_write(base + ".eml", content)
        self.log("*", "DATA: %d raw bytes (%04d.raw)" % (len(raw), n))
        meta = {"n": n, "connection": self.n, "mail_from": self.mail_from,
                "rcpt_tos": self.rcpts, "tls": self.tls, "size": len(content)}

        def done():
            atomic_write(base + ".json", json.dumps(meta).encode())
            self.write(("250 2.0.0 OK queued as %04d\r\n" % n).encode())
            self.log("*", "message %04d accepted" % n)
        self.run("dot", done)
        self.mail_from, self.rcpts = None, []

    # --- the session ---
    def serve(self):
        mode = self.srv.args["mode"]
        if mode == "smtps":
            try:
                self.sock = self.srv.ctx.wrap_socket(self.sock,
                                                     server_side=True)
            except (OSError, ssl.SSLError) as e:
                self.log("*", "TLS handshake failed: %s" % e)
                raise Closed("TLS handshake failed")
            self.tls = True
            self.log("*", "implicit TLS %s %s" % (self.sock.version(),
                                                  self.sock.cipher()[0]))
        self.run("greeting", lambda: self.write(
            b"220 scripted.test ESMTP scripted\r\n"))
        while True:
            line = self.readline()
            self.log("C:", show(line.rstrip(b"\r\n")))
            verb = line.split(b" ")[0].strip().upper()
            if verb in (b"EHLO", b"HELO"):
                self.run("ehlo2" if self.tls and mode != "smtps" else "ehlo",
                         self.ehlo_reply)
            elif verb == b"STARTTLS":
                def st():
                    self.write(b"220 2.0.0 Ready to start TLS\r\n")
                    self.starttls()
                if mode != "starttls" or self.tls:
                    self.write(b"454 4.7.0 TLS not available\r\n")
                else:
                    self.run("starttls", st)
            elif verb == b"AUTH":
                self.run("auth", lambda: self.auth_default(line))
            elif verb == b"MAIL":
                def mail():
                    arg = line.decode("latin-1")
                    self.mail_from = arg[arg.find("<") + 1:].split(">")[0]
                    self.rcpts = []
                    self.write(b"250 2.1.0 OK\r\n")
                self.run("mail", mail)
            elif verb == b"RCPT":
                self.rcpt(line)
            elif verb == b"DATA":
                self.data()
            elif verb == b"RSET":
                def rset():
                    self.mail_from, self.rcpts = None, []
                    self.write(b"250 2.0.0 OK\r\n")
                self.run("rset", rset)
            elif verb == b"NOOP":
                self.run("noop", lambda: self.write(b"250 2.0.0 OK\r\n"))
            elif verb == b"QUIT":
                self.run("quit", lambda: self.write(b"221 2.0.0 Bye\r\n"))
                raise Closed("QUIT")
            else:
                self.write(b"500 5.5.2 unknown command\r\n")


def handle(srv, sock, n):
    c = Conn(srv, sock, n)
    try:
        sock.settimeout(30)
        c.serve()
    except Closed as e:
        c.log("*", "closed (%s)" % e)
    except Exception as e:  # a bug here must show in the log
        c.log("*", "closed (server error %r)" % e)
    finally:
        try:
            c.sock.close()
        except OSError:
            pass


def serve(argv):
    args = {"mode": "plain", "lifetime": "300", "seclevel": None}
    i = 0
    while i < len(argv):
        k = argv[i].lstrip("-").replace("-", "_")
        args[k] = argv[i + 1]
        i += 2
    srv = Server(args)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    ls.settimeout(0.5)
    atomic_write(os.path.join(srv.outdir, "connections"), b"0\n")
    atomic_write(args["port_file"], b"%d\n" % ls.getsockname()[1])
    end = time.monotonic() + float(args["lifetime"])
    while time.monotonic() < end:
        try:
            sock, peer = ls.accept()
        except socket.timeout:
            continue
        srv.nconn += 1
        atomic_write(os.path.join(srv.outdir, "connections"),
                     b"%d\n" % srv.nconn)
        srv.log(srv.nconn, "*", "connect from %s" % (peer,))
        threading.Thread(target=handle, args=(srv, sock, srv.nconn),
                         daemon=True).start()
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "serve":
        sys.exit(serve(sys.argv[2:]))
    sys.stderr.write("usage: scripted.py serve ...\n")
    sys.exit(64)
