#!/usr/bin/python3
"""Loopback SMTP sink for bench/run.sh.

Accepts every message, discards it and counts it.  Listens on 127.0.0.1, port 0
(the kernel picks a free port); writes "SMTP_PORT CONTROL_PORT" to --port-file once
both listeners are up.

Control protocol (one line in, one line out, on the control port):
  reset          -> "ok"                      zero the counters
  count          -> "<messages> <bytes>"
  wait N SECS    -> "<messages> <bytes>"      returns when messages >= N or after SECS
  quit           -> "bye"                     stop the sink

--auth USER:PASSWORD: offer AUTH PLAIN/LOGIN and refuse mail without it
(bench/bench.py's STARTTLS+AUTH row).

--stamps FILE: for each message, append "SEQ TIME" to FILE just before the 250
reply to its final dot (TIME: seconds since the epoch, microseconds; SEQ: the
value of its X-Bench-Seq: header, "-" without one). bench/latency.sh uses it.

Run with Debian's /usr/bin/python3 (python3-aiosmtpd), not a python3 from PATH.
"""
import argparse
import asyncio
import os
import re
import ssl
import sys
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Counter:
    def __init__(self):
        self.messages = 0
        self.bytes = 0
        self.cond = asyncio.Condition()

    async def add(self, nbytes):
        async with self.cond:
            self.messages += 1
            self.bytes += nbytes
            self.cond.notify_all()

    async def reset(self):
        async with self.cond:
            self.messages = 0
            self.bytes = 0


class Handler:
    def __init__(self, counter, pipelining, stamps=None):
        self.counter = counter
        self.pipelining = pipelining
        self.stamps = stamps

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            # aiosmtpd reads commands line by line, so pipelined clients work;
            # it just does not advertise it.  Real smarthosts (Postfix, Exim) do.
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_DATA(self, server, session, envelope):
        # One message per accepted DATA, whatever the number of recipients.
        data = envelope.original_content or envelope.content or b""
        await self.counter.add(len(data))
        if self.stamps is not None:
            m = re.search(rb"^X-Bench-Seq: *([0-9]+)", data, re.M | re.I)
            self.stamps.write("%s %.6f\n" % (m.group(1).decode() if m else "-",
                                             time.time()))
            self.stamps.flush()
        return "250 2.0.0 OK discarded"


async def control(counter, stop, reader, writer):
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            words = line.decode("ascii", "replace").split()
            if not words:
                continue
            cmd = words[0].lower()
            if cmd == "reset":
                await counter.reset()
                reply = "ok"
            elif cmd == "count":
                reply = f"{counter.messages} {counter.bytes}"
            elif cmd == "wait" and len(words) == 3:
                want, secs = int(words[1]), float(words[2])

                async def reached():
                    async with counter.cond:
                        await counter.cond.wait_for(lambda: counter.messages >= want)

                try:
                    await asyncio.wait_for(reached(), secs)
                except asyncio.TimeoutError:
                    pass
                reply = f"{counter.messages} {counter.bytes}"
            elif cmd == "quit":
                writer.write(b"bye\n")
                await writer.drain()
                stop.set()
                break
            else:
                reply = "error"
            writer.write(reply.encode() + b"\n")
            await writer.drain()
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--tls-cert", help="offer STARTTLS with this cert (PEM, key included)")
    ap.add_argument("--tls-key")
    ap.add_argument("--no-pipelining", action="store_true")
    ap.add_argument("--stamps", help="append 'SEQ TIME' per message (see above)")
    ap.add_argument("--auth", metavar="USER:PASSWORD",
                    help="offer AUTH PLAIN and LOGIN (after STARTTLS) and require it")
    ap.add_argument("--max-size", type=int, default=64 * 1024 * 1024)
    ap.add_argument("--lifetime", type=float, default=3600.0,
                    help="exit by itself after this many seconds")
    args = ap.parse_args()

    loop = asyncio.get_running_loop()
    counter = Counter()
    stop = asyncio.Event()
    tls_ctx = None
    if args.tls_cert:
        tls_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_ctx.load_cert_chain(args.tls_cert, args.tls_key)
    stamps = open(args.stamps, "a") if args.stamps else None
    handler = Handler(counter, not args.no_pipelining, stamps)

    auth_kw = {}
    if args.auth:
        user, _, password = args.auth.partition(":")

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword) and
                  auth_data.login.decode() == user and
                  auth_data.password.decode() == password)
            return AuthResult(success=ok)

        auth_kw = dict(authenticator=authenticator, auth_required=True,
                       auth_require_tls=tls_ctx is not None)

    def factory():
        return SMTP(handler, data_size_limit=args.max_size, enable_SMTPUTF8=True,
                    hostname="sink.test", ident="relayq-bench-sink",
                    tls_context=tls_ctx, require_starttls=False,
                    command_call_limit=None, timeout=120, **auth_kw)

    # A deep accept queue: dma opens one connection per queued message, all at once.
    smtp = await loop.create_server(factory, host="127.0.0.1", port=0, backlog=4096)
    ctl = await asyncio.start_server(lambda r, w: control(counter, stop, r, w),
                                     host="127.0.0.1", port=0)
    sport = smtp.sockets[0].getsockname()[1]
    cport = ctl.sockets[0].getsockname()[1]
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{sport} {cport}\n")
    os.rename(tmp, args.port_file)
    try:
        await asyncio.wait_for(stop.wait(), args.lifetime)
    except asyncio.TimeoutError:
        print("sink: lifetime reached, exiting", file=sys.stderr)
    smtp.close()
    ctl.close()


if __name__ == "__main__":
    asyncio.run(main())
