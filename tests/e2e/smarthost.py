#!/usr/bin/python3
# relayq end-to-end tests: a throwaway SMTP smarthost on 127.0.0.1.
#
# Built on aiosmtpd (Debian's python3-aiosmtpd 1.4.3); run it with
# $RELAYQ_PYTHON, not whatever python3 comes first on PATH.
#
# It listens on 127.0.0.1, port 0 (the kernel picks a free port; --port
# only in a private network namespace), and
# once it is listening writes the port to --port-file (atomically) and its
# PID to stdout and to --pid-file.
#
# Every message it accepts is written to --outdir as two files:
#   NNNN.eml   the DATA bytes exactly as received (after dot-unstuffing;
#              line endings CRLF as on the wire)
#   NNNN.json  {"n", "connection", "mail_from", "rcpt_tos", "mail_options",
#               "rcpt_options", "auth_login", "auth_mechanism", "tls",
#               "tls_version", "tls_resumed", "helo", "size", "peer",
#               "dsn_mail", "dsn_rcpt"}
#              tls_resumed: the TLS handshake resumed an earlier session
#              (the client offered a session ticket of this server)
#              dsn_mail: {"RET": ..., "ENVID": ...} and dsn_rcpt:
#              {address: {"NOTIFY": ..., "ORCPT": ...}}, values exactly as
#              sent (only with --dsn; aiosmtpd upper-cases *_options).
# The .eml is complete before the .json appears (both are renamed into
# place), so counting *.json counts complete messages.
# OUTDIR/connections holds the number of TCP connections accepted so far,
# OUTDIR/max_open the most that were open at the same time.
#
# --log FILE gets one line per event: "[conn N] C: <command line>",
# "[conn N] S: <reply line>", "[conn N] * <event>".  DATA content lines
# are not logged, only a summary.  AUTH continuation lines are logged as
# "C+:".
#
# Modes:
#   starttls  plain TCP; EHLO offers STARTTLS; AUTH only after STARTTLS
#   smtps     implicit TLS from the first byte (port 465 style)
#   plain     no TLS at all
# --no-starttls: STARTTLS is neither offered nor accepted (454), and AUTH
#   is neither offered nor accepted (538) since the session stays clear.
# --auth USER:PASS: AUTH PLAIN/LOGIN with these credentials is required
#   before MAIL (530 otherwise).  Without --auth, AUTH is not offered.
# --oauth USER:TOKEN (with --auth): AUTH XOAUTH2 and OAUTHBEARER are
#   offered too and take only this access token; any other token gets the
#   error challenge (334 + base64 JSON, status 401) and, after the
#   client's answer, 535, as Gmail and Microsoft 365 do for an expired
#   token.
# --dsn: EHLO offers DSN (RFC 3461) and MAIL takes RET=/ENVID=, RCPT
#   NOTIFY=/ORCPT= (checked for syntax: 501 when malformed). Without it
#   those parameters get aiosmtpd's 555, as from a server without DSN.
# --tls12: TLS 1.2 at most (sessions are then resumed by session ticket
#   or ID during the handshake, not by a TLS 1.3 ticket after it).
# --greeting-delay SECS: a slow server (wait before the 220 greeting).
# --wait-peer SECS: hold the 250 to the first message of a session while
#   it is the only one open, until a second opens or SECS pass, so that
#   a client able to open parallel sessions is seen doing it however
#   slow the machine (max_open), and one that cannot costs SECS a session.
# --max-rcpts N: "452 4.5.3 Too many recipients" to RCPTs beyond N per
#   transaction (as Gmail and Microsoft 365 do beyond their limits).
# --data-reply-delay SECS: wait between storing a message and the 250 to
#   its final dot (the window "dot sent, 250 not yet seen").
# --line-limit N, --data-size-limit N: aiosmtpd's limits (defaults: RFC 5321
#   lines of 1000 octets + a stuffed dot; 32 MiB messages).
# --lifetime SECS (900): the server exits by itself after this long, so a
#   test that dies badly cannot leave it behind for good.
import argparse
import asyncio
import json
import os
import signal
import ssl
import sys
import time

try:
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
except ImportError as e:  # pragma: no cover
    sys.stderr.write("smarthost.py: aiosmtpd is not available (%s); "
                     "run me with Debian's /usr/bin/python3\n" % e)
    sys.exit(77)


def atomic_write(path, data):
    tmp = os.path.join(os.path.dirname(path) or ".",
                       ".tmp.%d.%s" % (os.getpid(), os.path.basename(path)))
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


class Log:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1, encoding="utf-8",
                      errors="backslashreplace") if path else None

    def write(self, conn, kind, text):
        if self.f is None:
            return
        if isinstance(text, (bytes, bytearray)):
            text = bytes(text).decode("utf-8", "backslashreplace")
        text = text.rstrip("\r\n")
        self.f.write("%s [conn %s] %s %s\n" % (
            time.strftime("%H:%M:%S"), conn, kind, text))


class State:
    def __init__(self, args):
        self.args = args
        self.log = Log(args.log)
        os.makedirs(args.outdir, exist_ok=True)
        # A restarted server continues the numbering in the same outdir.
        self.messages = max([int(f[:-5]) for f in os.listdir(args.outdir)
                             if f.endswith(".json") and f[:-5].isdigit()],
                            default=0)
        try:
            with open(os.path.join(args.outdir, "connections")) as f:
                self.connections = int(f.read().strip() or 0)
        except (OSError, ValueError):
            self.connections = 0
        self.open = 0
        self.max_open = 0
        self.write_connections()

    def opened(self, delta):
        self.open += delta
        if self.open > self.max_open:
            self.max_open = self.open
            atomic_write(os.path.join(self.args.outdir, "max_open"),
                         b"%d\n" % self.max_open)

    def write_connections(self):
        atomic_write(os.path.join(self.args.outdir, "connections"),
                     b"%d\n" % self.connections)


def tls_info(server):
    t = server.transport
    if t is None:
        return None, None, False
    obj = t.get_extra_info("ssl_object")
    if obj is None:
        return False, None, False
    return True, obj.version(), bool(obj.session_reused)


class Handler:
    def __init__(self, state):
        self.st = state

    async def handle_EHLO(self, server, session, envelope, hostname,
                          responses):
        session.host_name = hostname
        out = []
        for r in responses:
            word = r[4:].split(" ")[0].upper()
            if word == "AUTH" and not self.st.args.auth:
                continue          # nothing to authenticate against
            out.append(r)
        if self.st.args.pipelining:
            out.insert(len(out) - 1, "250-PIPELINING")
        if self.st.args.dsn:
            out.insert(len(out) - 1, "250-DSN")
        return out

    async def handle_DATA(self, server, session, envelope):
        st = self.st
        st.messages += 1
        n = st.messages
        tls, version, resumed = tls_info(server)
        content = bytes(envelope.original_content)
        base = os.path.join(st.args.outdir, "%04d" % n)
        meta = {
            "n": n,
            "connection": server.conn_no,
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "mail_options": list(envelope.mail_options),
            "rcpt_options": list(envelope.rcpt_options),
            "auth_login": getattr(session, "rq_login", None),
            "auth_mechanism": getattr(session, "rq_mechanism", None),
            "tls": bool(tls),
            "tls_version": version,
            "tls_resumed": resumed,
            "helo": session.host_name,
            "size": len(content),
            "peer": list(session.peer) if session.peer else None,
            "dsn_mail": getattr(envelope, "rq_dsn_mail", {}),
            "dsn_rcpt": getattr(envelope, "rq_dsn_rcpt", {}),
        }
        atomic_write(base + ".eml", content)
        atomic_write(base + ".json",
                     (json.dumps(meta, indent=1, sort_keys=True)
                      + "\n").encode())
        st.log.write(server.conn_no, "*",
                     "message %04d accepted: %d bytes from <%s> to %s"
                     % (n, len(content), envelope.mail_from,
                        ", ".join("<%s>" % r for r in envelope.rcpt_tos)))
        if st.args.wait_peer > 0 and not getattr(server, "rq_waited", False):
            server.rq_waited = True
            waited = 0.0
            while st.open < 2 and waited < st.args.wait_peer:
                await asyncio.sleep(0.01)
                waited += 0.01
        if st.args.data_reply_delay > 0:
            # the message is stored: a client killed now has sent its
            # final dot but not seen the 250 (crash_runner.sh)
            await asyncio.sleep(st.args.data_reply_delay)
        return "250 2.0.0 OK queued as %04d" % n

    async def handle_exception(self, error):
        return "500 Error: (%s) %s" % (error.__class__.__name__, error)


class LoggingSMTP(SMTP):
    def __init__(self, handler, conn_no, state, **kw):
        self.conn_no = conn_no
        self.st = state
        self._rq_in_auth = False
        if state.args.oauth:
            # instance attributes: aiosmtpd offers them as mechanisms
            self.auth_XOAUTH2 = self._rq_oauth
            self.auth_OAUTHBEARER = self._rq_oauth
        super().__init__(handler, **kw)

    async def _rq_oauth(self, _server, args):
        import base64
        mech = args[0].upper()
        user, token = self.st.args.oauth.split(":", 1)
        try:
            blob = base64.b64decode(args[1]) if len(args) > 1 else b""
        except ValueError:
            blob = b""
        fields = blob.split(b"\x01")
        got_user = None
        got_token = None
        for f in fields:
            if f.startswith(b"user="):
                got_user = f[5:]
            elif f.startswith(b"n,a="):
                got_user = f[4:].rstrip(b",")
            elif f.startswith(b"auth=Bearer "):
                got_token = f[12:]
        ok = got_user == user.encode() and got_token == token.encode()
        self.st.log.write(self.conn_no, "*", "AUTH %s as %r: %s" % (
            mech, got_user, "ok" if ok else "token refused"))
        if ok:
            self.session.rq_login = user
            self.session.rq_mechanism = mech
            return AuthResult(success=True, auth_data=LoginPassword(
                user.encode(), b""))
        err = json.dumps({"status": "401", "schemes": "bearer",
                          "scope": "https://mail.example/"})
        await self.challenge_auth(err)
        return AuthResult(success=False, handled=False,
                          message="535 5.7.8 Username and Password not "
                                  "accepted")

    def _client_connected_cb(self, reader, writer):
        super()._client_connected_cb(reader, writer)
        log = self.st.log
        conn = self.conn_no
        orig_readuntil = reader.readuntil

        async def readuntil(separator=b"\n"):
            line = await orig_readuntil(separator)
            if separator == b"\n":          # a command line (DATA uses CRLF)
                log.write(conn, "C+:" if self._rq_in_auth else "C:", line)
            return line

        reader.readuntil = readuntil

    # --dsn: take the RFC 3461 parameters off the line, check them, let
    # aiosmtpd handle the rest, and keep them for the .json.
    DSN_MAIL = ("RET", "ENVID")
    DSN_RCPT = ("NOTIFY", "ORCPT")

    @staticmethod
    def _xtext_ok(v):
        i = 0
        while i < len(v):
            c = v[i]
            if c == "+":
                if len(v) < i + 3 or any(h not in "0123456789ABCDEF"
                                         for h in v[i + 1:i + 3]):
                    return False
                i += 3
                continue
            if not ("!" <= c <= "~") or c == "=":
                return False
            i += 1
        return True

    def _dsn_check(self, key, value):
        if key == "RET":
            return value.upper() in ("FULL", "HDRS")
        if key == "ENVID":
            return 0 < len(value) <= 100 and self._xtext_ok(value)
        if key == "NOTIFY":
            words = value.upper().split(",")
            ok = all(w in ("NEVER", "SUCCESS", "FAILURE", "DELAY")
                     for w in words)
            return ok and ("NEVER" not in words or len(words) == 1)
        if key == "ORCPT":
            t, _, addr = value.partition(";")
            return t.lower() == "rfc822" and addr != "" \
                and self._xtext_ok(addr)
        return False

    def _dsn_split(self, arg, keys):
        # "FROM:<a> SIZE=1 RET=HDRS" -> ("FROM:<a> SIZE=1", {"RET": "HDRS"})
        words = (arg or "").split(" ")
        keep, found = [], {}
        for i, w in enumerate(words):
            k, eq, v = w.partition("=")
            if i > 0 and eq and k.upper() in keys:
                if k.upper() in found or not self._dsn_check(k.upper(), v):
                    return None, None
                found[k.upper()] = v
            else:
                keep.append(w)
        return " ".join(keep), found

    async def smtp_MAIL(self, arg):
        if not self.st.args.dsn:
            return await super().smtp_MAIL(arg)
        rest, found = self._dsn_split(arg, self.DSN_MAIL)
        if rest is None:
            await self.push("501 5.5.4 malformed DSN parameter")
            return
        await super().smtp_MAIL(rest)
        if self.envelope.mail_from is not None:
            self.envelope.rq_dsn_mail = found

    async def smtp_RCPT(self, arg):
        limit = self.st.args.max_rcpts
        if limit and self.envelope.mail_from is not None and \
                len(self.envelope.rcpt_tos) >= limit:
            await self.push("452 4.5.3 Too many recipients")
            return
        if not self.st.args.dsn:
            return await super().smtp_RCPT(arg)
        rest, found = self._dsn_split(arg, self.DSN_RCPT)
        if rest is None:
            await self.push("501 5.5.4 malformed DSN parameter")
            return
        before = len(self.envelope.rcpt_tos)
        await super().smtp_RCPT(rest)
        if len(self.envelope.rcpt_tos) > before:
            if not hasattr(self.envelope, "rq_dsn_rcpt"):
                self.envelope.rq_dsn_rcpt = {}
            self.envelope.rq_dsn_rcpt[self.envelope.rcpt_tos[-1]] = found

    async def challenge_auth(self, *args, **kw):
        # The client's answers to AUTH challenges are logged as "C+:".
        self._rq_in_auth = True
        try:
            return await super().challenge_auth(*args, **kw)
        finally:
            self._rq_in_auth = False

    async def handle_exception(self, error):
        cause = error.__cause__ or error.__context__
        self.st.log.write(self.conn_no, "*", "exception: %r%s" % (
            error, (" caused by %r" % cause) if cause else ""))
        return await super().handle_exception(error)

    def connection_made(self, transport):
        starttls = self.transport is not None
        super().connection_made(transport)
        if starttls:
            obj = transport.get_extra_info("ssl_object")
            self.st.log.write(self.conn_no, "*", "STARTTLS done: %s %s" % (
                obj.version() if obj else "?",
                obj.cipher()[0] if obj and obj.cipher() else "?"))
        else:
            self.st.opened(1)
            obj = transport.get_extra_info("ssl_object")
            self.st.log.write(self.conn_no, "*", "connect from %s%s" % (
                transport.get_extra_info("peername"),
                (" (implicit TLS %s)" % obj.version()) if obj else ""))

    def connection_lost(self, error):
        self.st.opened(-1)
        self.st.log.write(self.conn_no, "*", "closed%s" % (
            (" (%r)" % error) if error else ""))
        super().connection_lost(error)

    async def push(self, status):
        if not getattr(self, "_rq_greeted", False):
            self._rq_greeted = True
            if self.st.args.greeting_delay > 0:
                await asyncio.sleep(self.st.args.greeting_delay)
        self.st.log.write(self.conn_no, "S:", status)
        await super().push(status)


def make_authenticator(user, password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login == user.encode()
              and auth_data.password == password.encode())
        server.st.log.write(server.conn_no, "*", "AUTH %s as %r: %s" % (
            mechanism, auth_data.login, "ok" if ok else "FAILED"))
        if ok:
            session.rq_login = auth_data.login.decode("utf-8", "replace")
            session.rq_mechanism = mechanism
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)
    return authenticator


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--mode", choices=("starttls", "smtps", "plain"),
                   default="starttls")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--auth", metavar="USER:PASS")
    p.add_argument("--no-starttls", action="store_true")
    p.add_argument("--oauth", metavar="USER:TOKEN")
    p.add_argument("--allow-auth-in-clear", action="store_true",
                   help="plain mode: offer and accept AUTH without TLS")
    p.add_argument("--no-pipelining", dest="pipelining",
                   action="store_false")
    p.add_argument("--smtputf8", action="store_true")
    p.add_argument("--dsn", action="store_true",
                   help="offer DSN and accept RET/ENVID/NOTIFY/ORCPT")
    p.add_argument("--outdir", required=True)
    p.add_argument("--port-file")
    p.add_argument("--pid-file")
    p.add_argument("--log")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0,
                   help="0: the kernel picks (only namespaced tests fix it)")
    p.add_argument("--hostname", default="smarthost.test",
                   help="name in the greeting and EHLO reply")
    p.add_argument("--line-limit", type=int, default=1001,
                   help="longest accepted line incl. CRLF (RFC 5321: 1000, "
                        "+1 for a stuffed dot)")
    p.add_argument("--data-size-limit", type=int, default=32 * 1024 * 1024,
                   help="SIZE advertised and enforced (552 above it)")
    p.add_argument("--tls12", action="store_true",
                   help="TLS 1.2 at most")
    p.add_argument("--greeting-delay", type=float, default=0,
                   help="wait this many seconds before the 220 greeting")
    p.add_argument("--backlog", type=int, default=100,
                   help="listen() backlog (a burst of connections beyond "
                        "it can stall clients until their timeout)")
    p.add_argument("--data-reply-delay", type=float, default=0,
                   help="wait this many seconds between storing a message "
                        "and the 250 reply to its final dot")
    p.add_argument("--wait-peer", type=float, default=0,
                   help="hold the first 250 of a lone session until a "
                        "second opens or this many seconds pass")
    p.add_argument("--max-rcpts", type=int, default=0,
                   help="answer 452 to RCPTs beyond this many per "
                        "transaction (0: no limit)")
    p.add_argument("--lifetime", type=float, default=900,
                   help="exit by itself after this many seconds")
    args = p.parse_args()

    ctx = None
    if args.mode in ("starttls", "smtps"):
        if not (args.cert and args.key):
            p.error("--mode %s needs --cert and --key" % args.mode)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        if args.tls12:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    user = password = None
    if args.auth:
        if ":" not in args.auth:
            p.error("--auth wants USER:PASS")
        user, password = args.auth.split(":", 1)

    state = State(args)
    handler = Handler(state)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def exc_handler(loop_, context):
        exc = context.get("exception")
        state.log.write("?", "*", "loop: %s%s" % (
            context.get("message"), (" %r" % exc) if exc else ""))
    loop.set_exception_handler(exc_handler)

    LoggingSMTP.line_length_limit = args.line_limit
    kw = dict(hostname=args.hostname, loop=loop,
              data_size_limit=args.data_size_limit,
              enable_SMTPUTF8=args.smtputf8, timeout=60)
    if args.mode == "starttls" and not args.no_starttls:
        kw["tls_context"] = ctx
    if user is not None:
        kw["authenticator"] = make_authenticator(user, password)
        kw["auth_required"] = True
    # AUTH only inside TLS.  With implicit TLS the session is always TLS
    # (aiosmtpd only knows about STARTTLS, so tell it not to insist).
    if args.mode == "smtps":
        kw["auth_require_tls"] = False
    elif args.mode == "plain" and args.allow_auth_in_clear \
            and not args.no_starttls:
        kw["auth_require_tls"] = False
    else:
        kw["auth_require_tls"] = True

    def factory():
        state.connections += 1
        state.write_connections()
        state.log.write(state.connections, "*", "accepted%s" % (
            " (TLS handshake next)" if args.mode == "smtps" else ""))
        return LoggingSMTP(handler, state.connections, state, **kw)

    import logging
    import warnings
    warnings.simplefilter("ignore")   # auth_required without TLS etc.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    server = loop.run_until_complete(loop.create_server(
        factory, host=args.host, port=args.port, backlog=args.backlog,
        ssl=ctx if args.mode == "smtps" else None))
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        atomic_write(args.port_file, b"%d\n" % port)
    if args.pid_file:
        atomic_write(args.pid_file, b"%d\n" % os.getpid())
    sys.stdout.write("%d\n" % os.getpid())
    sys.stdout.flush()
    state.log.write("-", "*", "listening on %s:%d mode=%s%s%s" % (
        args.host, port, args.mode,
        " no-starttls" if args.no_starttls else "",
        (" auth=%s" % user) if user else ""))

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    loop.call_later(args.lifetime, loop.stop)
    try:
        loop.run_forever()
    finally:
        server.close()
        state.log.write("-", "*", "stopped")


if __name__ == "__main__":
    main()
