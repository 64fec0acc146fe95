#!/usr/bin/python3
"""relayq against dma, nullmailer and Postfix, side by side: `make bench`.

See bench/README.md for what each measurement is and how the peers run.  In short:
every MTA runs in a private mount namespace of its own (a holder process made with
`unshare -m`; every command enters it with `nsenter -m`), where read-only overlays
put the peer's extracted Debian package at its compiled-in paths and its spool in
the work directory.  All MTAs relay to one Postfix smtp-sink on 127.0.0.1 (port
chosen by the kernel); the STARTTLS+AUTH table uses bench/tlssink.c (built here with
the system cc), since smtp-sink does not do AUTH, and measures relayq's plaintext pass
into that same sink too.  Rounds are interleaved (A, B, C, D, then again), the tables
show medians and relayq's ratio to each peer.  Every process started here is
stopped by its PID; the namespaces vanish with their holders.

Run as root with Debian's /usr/bin/python3.  Exit status: 0 when every
measurement ran, 1 when one failed (a message not arriving, a command exiting
non-zero), 2 on bad usage or a missing tool.  Targets missed are information only.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(BENCH)
RCPT = "bench@sink.test"
PEER_PKGS = {"dma": "dma", "nullmailer": "nullmailer", "postfix": "postfix"}
ALL_MTAS = ["relayq", "dma", "nullmailer", "postfix"]
LISTINGS = 3            # queue listings per measurement (table 7): median time
RSS_RUNS = 3            # submissions and passes per size (table 6): median RSS
AUTH_USER, AUTH_PASS = "bench", "bench-secret"
PLAIN_4B = "plain-4b"   # relayq's pass mode: plaintext into table 4b's sink
SYNC_CALLS = "fsync,fdatasync,sync_file_range,syncfs,sync,msync"
# process names that are the bench's own helpers, not the MTA's
HELPERS = {"bash", "sh", "timeout", "time", "sleep", "strace", "cat", "nsenter",
           "setpriv", "unshare", "spawnloop"}

FAILURES = []
LOG = []


def say(text=""):
    print(text, flush=True)
    LOG.append(text)


def note(text):
    print(f"bench: {text}", file=sys.stderr, flush=True)


def fail(mta, what, detail=""):
    FAILURES.append((mta, what, detail.rstrip()))
    note(f"FAILED {mta}: {what}")


def tail(path, lines=12):
    try:
        with open(path, errors="replace") as f:
            got = f.read().splitlines()[-lines:]
    except OSError:
        return "    | (no output)"
    return "\n".join("    | " + x for x in got) or "    | (no output)"


def run(argv, **kw):
    return subprocess.run(argv, **kw)


# ---------------------------------------------------------------------------
# sinks

class SmtpSink:
    """Postfix's smtp-sink on 127.0.0.1:0, counting messages from its -c output (mesg=N)."""

    def __init__(self, work, libdir, exe):
        self.count = 0
        self.times = []
        self.cond = threading.Condition()
        env = dict(os.environ, LD_LIBRARY_PATH=libdir)
        self.proc = subprocess.Popen([exe, "-c", "-u", "nobody", "127.0.0.1:0", "4096"],
                                     stdout=subprocess.PIPE, stderr=open(f"{work}/smtp-sink.err", "w"),
                                     env=env)
        threading.Thread(target=self._reader, daemon=True).start()
        self.port = None
        for _ in range(200):
            self.port = listen_port(self.proc.pid)
            if self.port:
                break
            time.sleep(0.05)
        if not self.port:
            raise SystemExit(f"bench: smtp-sink did not start: {open(work + '/smtp-sink.err').read()}")

    def _reader(self):
        pat = re.compile(rb"mesg=(\d+)")
        buf = b""
        while True:
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buf = (buf + chunk)[-200:]
            m = pat.findall(buf)
            if m:
                n = int(m[-1])
                now = time.time()
                with self.cond:
                    if n > self.count:
                        self.times.extend([now] * (n - self.count))
                        self.count = n
                        self.cond.notify_all()

    def mark(self):
        with self.cond:
            return self.count

    def wait(self, target, timeout, alive=None, grace=10.0):
        """Until count >= target; gives up after timeout, or `grace` seconds
        without progress once alive() is false.  Returns the count."""
        deadline = time.monotonic() + timeout
        last, idle_since = -1, None
        with self.cond:
            while self.count < target:
                now = time.monotonic()
                if now >= deadline:
                    break
                if alive is not None and not alive():
                    if self.count != last:
                        last, idle_since = self.count, now
                    elif now - idle_since >= grace:
                        break
                self.cond.wait(0.05)
            return self.count

    def stop(self):
        stop_pid(self.proc)


class TlsSink(SmtpSink):
    """bench/tlssink.c: STARTTLS and AUTH PLAIN/LOGIN or plaintext on one code path, a
    process per connection; it writes "port N", then a line "m" per message accepted."""

    def __init__(self, work, cert, key):
        exe = f"{work}/tlssink"
        r = run(["cc", "-O2", "-o", exe, f"{BENCH}/tlssink.c", "-lssl", "-lcrypto"],
                capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"bench: cannot build bench/tlssink.c (needs cc and libssl-dev):\n{r.stderr}")
        self.count = 0
        self.times = []
        self.cond = threading.Condition()
        self.proc = subprocess.Popen([exe, "-c", cert, "-k", key, "-a", f"{AUTH_USER}:{AUTH_PASS}"],
                                     stdout=subprocess.PIPE, stderr=open(f"{work}/tlssink.err", "w"))
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != b"port":
            raise SystemExit(f"bench: tlssink did not start: {open(work + '/tlssink.err').read()}")
        self.port = int(line[1])
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        while True:
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                break
            n = chunk.count(b"\n")
            now = time.time()
            with self.cond:
                self.times.extend([now] * n)
                self.count += n
                self.cond.notify_all()


def listen_port(pid):
    out = run(["ss", "-Hltnp"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if f"pid={pid}," in line:
            return int(line.split()[3].rsplit(":", 1)[1])
    return None


def stop_pid(proc, grace=5.0):
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read().rsplit(")", 1)[1].split()[0]
        return st not in ("Z", "X")
    except OSError:
        return False


# ---------------------------------------------------------------------------
# peers: apt-get download + dpkg-deb -x into bench/peers (cached, never installed)

def fetch_peers(mtas):
    peers = f"{BENCH}/peers"
    os.makedirs(f"{peers}/debs", exist_ok=True)
    for mta in mtas:
        if mta == "relayq":
            continue
        pkg = PEER_PKGS[mta]
        extract(peers, pkg)
        deb = latest_deb(peers, pkg)
        deps = run(["dpkg-deb", "-f", deb, "Depends"], capture_output=True, text=True).stdout
        for dep in deps.split(","):
            dep = re.sub(r"\(.*?\)|:any", "", dep.split("|")[0]).strip()
            if not dep.startswith("lib"):
                continue
            st = run(["dpkg-query", "-W", "-f=${Status}", dep], capture_output=True, text=True).stdout
            if "install ok installed" not in st:
                extract(peers, dep)


def latest_deb(peers, pkg):
    debs = sorted(f for f in os.listdir(f"{peers}/debs") if f.startswith(pkg + "_") and f.endswith(".deb"))
    return f"{peers}/debs/{debs[-1]}" if debs else None


def extract(peers, pkg):
    deb = latest_deb(peers, pkg)
    if deb is None:
        note(f"fetching {pkg} (apt-get download; not installed)")
        r = run(["apt-get", "download", pkg], cwd=f"{peers}/debs", capture_output=True, text=True)
        deb = latest_deb(peers, pkg)
        if r.returncode != 0 or deb is None:
            raise SystemExit(f"bench: apt-get download {pkg} failed (apt-get update first?): {r.stderr}")
    root = f"{peers}/root/{pkg}"
    stamp = f"{root}/.extracted"
    if os.path.exists(stamp) and os.path.getmtime(stamp) >= os.path.getmtime(deb):
        return
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    if run(["dpkg-deb", "-x", deb, root]).returncode != 0:
        raise SystemExit(f"bench: dpkg-deb -x {deb} failed")
    os.makedirs(f"{root}/etc", exist_ok=True)
    os.makedirs(f"{root}/usr", exist_ok=True)
    open(stamp, "w").close()


def pkg_version(mta):
    deb = latest_deb(f"{BENCH}/peers", PEER_PKGS[mta])
    return run(["dpkg-deb", "-f", deb, "Version"], capture_output=True, text=True).stdout.strip()


# ---------------------------------------------------------------------------
# the MTAs

class Mta:
    """One MTA in its own mount namespace.  Subclasses give the commands."""
    name = "?"
    needs_user = None

    def __init__(self, work, sink_port, tls_port):
        self.D = f"{work}/{self.name}"
        self.work = work
        self.sink_port = sink_port
        self.tls_port = tls_port
        self.holder = None
        os.makedirs(f"{self.D}/etc", exist_ok=True)
        os.makedirs(f"{self.D}/skel", exist_ok=True)
        os.makedirs(f"{self.D}/spool", exist_ok=True)
        os.chmod(self.D, 0o755)
        self.env = {}
        self.configure()

    # -- namespace
    def mounts(self):
        return []

    def ns_start(self):
        script = "set -e\n" + "\n".join(self.mounts()) + "\necho ready\nexec sleep 86400\n"
        self.holder = subprocess.Popen(["unshare", "-m", "--propagation", "private", "--", "/bin/bash", "-c", script],
                                       stdout=subprocess.PIPE, stderr=open(f"{self.D}/ns.err", "w"), text=True)
        if self.holder.stdout.readline().strip() != "ready":
            raise RuntimeError(f"mount namespace for {self.name}: {open(self.D + '/ns.err').read()}")

    def ns_stop(self):
        self.reap("end", grace=2)
        stop_pid(self.holder)

    def ns(self, argv):
        return ["nsenter", "-t", str(self.holder.pid), "-m", "--"] + argv

    def nsrun(self, argv, timeout=600, **kw):
        env = dict(os.environ, **self.env)
        return subprocess.run(self.ns(argv), env=env, timeout=timeout, **kw)

    def nspopen(self, argv, **kw):
        env = dict(os.environ, **self.env)
        return subprocess.Popen(self.ns(argv), env=env, **kw)

    def ns_procs(self):
        me = os.readlink(f"/proc/{self.holder.pid}/ns/mnt")
        out = []
        for p in os.listdir("/proc"):
            if not p.isdigit() or int(p) == self.holder.pid:
                continue
            try:
                if os.readlink(f"/proc/{p}/ns/mnt") == me and pid_alive(p):
                    out.append(int(p))
            except OSError:
                pass
        return out

    def reap(self, what, grace=10):
        """A pass must not leave processes behind: wait, then stop them by PID."""
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not self.ns_procs():
                return
            time.sleep(0.1)
        pids = self.ns_procs()
        if not pids:
            return
        comms = sorted(open(f"/proc/{p}/comm").read().strip() for p in pids if os.path.exists(f"/proc/{p}/comm"))
        fail(self.name, f"{what}: {len(pids)} process(es) still running {grace}s after the pass ({' '.join(comms)}); stopped them")
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for p in pids:
                try:
                    os.kill(p, sig)
                except OSError:
                    pass
            time.sleep(1)
            pids = self.ns_procs()
            if not pids:
                return

    # -- interface for the measurements (argv run inside the namespace)
    def reset_spool(self):
        # empty it but keep the directory: a peer's namespace has it bind-mounted
        sp = f"{self.D}/spool"
        for name in os.listdir(sp):
            p = f"{sp}/{name}"
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            else:
                os.unlink(p)
        os.chmod(sp, 0o755)

    def submit_argv(self):
        raise NotImplementedError

    def pass_start(self, tls=False, wrap=()):
        """Start one delivery pass (under the command prefix wrap); returns the Popen."""
        return self.nspopen(list(wrap) + self.deliver_argv(tls), stdout=open(f"{self.D}/pass.log", "w"),
                            stderr=subprocess.STDOUT)

    def pass_finish(self, proc, timeout):
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return "timeout"

    def pickup_argv(self):
        return None

    def queued(self):
        return None

    def mailq(self):
        """Runs the queue listing; returns (seconds, rss_kb, rc, outfile)."""
        return self.timed_rss(self.mailq_argv(), "mailq")

    def timed_rss(self, argv, tag, stdin=None):
        rssf = f"{self.D}/{tag}.rss"
        outf = f"{self.D}/{tag}.out"
        t0 = time.time()
        r = self.nsrun(["/usr/bin/time", "-f", "%M", "-o", rssf, "--"] + argv, stdin=stdin or subprocess.DEVNULL,
                       stdout=open(outf, "w"), stderr=subprocess.STDOUT)
        t1 = time.time()
        try:
            rss = int(open(rssf).read().split()[-1])
        except (OSError, ValueError, IndexError):
            rss = None
        return t1 - t0, rss, r.returncode, outf

    def daemon_argv(self):
        return None

    def describe(self):
        return ""


def ns_mounts(mta, D, spool_target=True):
    peers = f"{BENCH}/peers/root"
    libs = "".join(f"{peers}/{d}/usr:" for d in sorted(os.listdir(peers))
                   if d.startswith("lib") and os.path.isdir(f"{peers}/{d}/usr"))
    m = [f"mount -t overlay bench-{mta}-usr -o lowerdir={peers}/{mta}/usr:{libs}/usr /usr",
         f"mount -t overlay bench-{mta}-etc -o lowerdir={D}/etc:{peers}/{mta}/etc:/etc /etc"]
    if spool_target:
        m += [f"mount -t overlay bench-{mta}-spool -o lowerdir={D}/skel:/var/spool /var/spool",
              f"mount --bind {D}/spool /var/spool/{mta}"]
    return m


class Relayq(Mta):
    name = "relayq"

    def __init__(self, work, sink_port, tls_port, prefix):
        self.prefix = prefix
        super().__init__(work, sink_port, tls_port)

    def conf(self, path, port, spool, tls):
        extra = (f"tls = starttls\ntls_verify = yes\nca_file = {self.work}/tls/ca.pem\n"
                 f"auth = plain\nuser = {AUTH_USER}\npassword = {AUTH_PASS}\n") if tls else "tls = none\nauth = none\n"
        with open(path, "w") as f:
            f.write(f"[queue]\ndir = {spool}\n[local]\nhostname = bench.test\ndomain = bench.test\n"
                    f"[smarthost]\nhost = 127.0.0.1\nport = {port}\n{extra}")
        os.chmod(path, 0o644)

    def configure(self):
        self.conf(f"{self.D}/relayq.conf", self.sink_port, f"{self.D}/spool", False)
        self.conf(f"{self.D}/relayq-tls.conf", self.tls_port, f"{self.D}/spool", True)
        self.conf(f"{self.D}/relayq-4b-plain.conf", self.tls_port, f"{self.D}/spool", False)
        self.env = {"RELAYQ_CONFIG": f"{self.D}/relayq.conf"}
        # a smarthost that refuses connections: a port bound but never listened on
        self.refuser = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.refuser.bind(("127.0.0.1", 0))
        self.conf(f"{self.D}/relayq-down.conf", self.refuser.getsockname()[1], f"{self.D}/spool", False)

    def down_argv(self, what):
        """A pass with the smarthost refusing: `run` (due messages, after the pickup) or
        `queue flush` (every queued one, retry times ignored)."""
        return [self.bin("relayq"), "-C", f"{self.D}/relayq-down.conf"] + (
            ["run"] if what == "run" else ["queue", "flush"])

    def flush_argv(self):
        return [self.bin("relayq"), "queue", "flush"]

    def bin(self, name):
        for d in ("sbin", "bin"):
            if os.path.exists(f"{self.prefix}/{d}/{name}"):
                return f"{self.prefix}/{d}/{name}"
        return f"{self.prefix}/sbin/{name}"

    def submit_argv(self):
        # queue only: without -odq a sendmail that finds no daemon delivers in the background
        return [self.bin("sendmail"), "-odq", "-t", "-i"]

    def deliver_argv(self, tls=False):
        # tls == PLAIN_4B: plaintext into the STARTTLS+AUTH sink, the reference of table 4b
        if tls == PLAIN_4B:
            return [self.bin("relayq"), "-C", f"{self.D}/relayq-4b-plain.conf", "run"]
        return ([self.bin("relayq"), "-C", f"{self.D}/relayq-tls.conf", "run"] if tls
                else [self.bin("relayq"), "run"])

    def pickup_argv(self):
        # used only if the relayq under test has a pickup-only command (probed)
        return [self.bin("relayq"), "pickup"]

    def mailq_argv(self):
        return [self.bin("mailq")]

    def queued(self):
        r = self.nsrun(self.mailq_argv(), capture_output=True, text=True, timeout=300)
        if "queue is empty" in r.stdout:
            return 0
        m = re.findall(r"Total requests: *(\d+)", r.stdout)
        return int(m[-1]) if m else None

    def describe(self):
        v = run([self.bin("relayq"), "version"], capture_output=True, text=True,
                env=dict(os.environ, **self.env)).stdout.strip().splitlines()
        return f"{v[0] if v else 'version unknown'}, installed from this tree into {self.prefix}"


class PeerMta(Mta):
    """A peer whose compiled-in /etc/NAME and /var/spool/NAME are mounted from the run."""

    def mounts(self):
        return ns_mounts(self.name, self.D)

    def peer_dirs(self):
        os.makedirs(f"{self.D}/etc/{self.name}", exist_ok=True)
        os.makedirs(f"{self.D}/skel/{self.name}", exist_ok=True)

    def describe(self):
        return f"{self.name} {pkg_version(self.name)} (Debian package, extracted, not installed)"


class Dma(PeerMta):
    name = "dma"

    def configure(self):
        self.peer_dirs()
        for name, port, tls in (("dma-plain.conf", self.sink_port, False), ("dma-tls.conf", self.tls_port, True),
                                ("dma.conf", self.sink_port, False)):
            with open(f"{self.D}/etc/dma/{name}", "w") as f:
                f.write(f"SMARTHOST 127.0.0.1\nPORT {port}\nSPOOLDIR /var/spool/dma\nALIASES /etc/aliases\n"
                        "MAILNAME bench.test\nNULLCLIENT\nDEFER\n")
                if tls:
                    f.write("AUTHPATH /etc/dma/auth.conf\nSECURETRANSFER\nSTARTTLS\n")
        with open(f"{self.D}/etc/dma/auth.conf", "w") as f:
            f.write(f"{AUTH_USER}|127.0.0.1:{AUTH_PASS}\n")
        open(f"{self.D}/etc/aliases", "w").close()
        with open(f"{self.D}/etc/mailname", "w") as f:
            f.write("bench.test\n")

    def reset_spool(self):
        super().reset_spool()
        shutil.chown(f"{self.D}/spool", "root", "mail")
        os.chmod(f"{self.D}/spool", 0o775)

    def submit_argv(self):
        return ["/usr/sbin/dma", "-t", "-i"]   # DEFER in dma.conf: queue only

    def deliver_argv(self, tls=False):
        # -D: no daemon(); -q forks one child per queued message and does not wait
        return ["/usr/sbin/dma", "-D", "-q"]

    def pass_start(self, tls=False, wrap=()):
        self.use_conf(tls)
        return super().pass_start(tls, wrap)

    def use_conf(self, tls):
        name = "dma-tls.conf" if tls else "dma-plain.conf"
        # the overlay shows $D/etc/dma/dma.conf; overwrite its bytes in place
        with open(f"{self.D}/etc/dma/{name}") as f:
            text = f.read()
        with open(f"{self.D}/etc/dma/dma.conf", "r+") as f:
            f.seek(0)
            f.write(text)
            f.truncate()

    def mailq_argv(self):
        return ["/usr/sbin/dma", "-bp"]

    def queued(self):
        return sum(1 for f in os.listdir(f"{self.D}/spool") if f.startswith("Q"))


class Nullmailer(PeerMta):
    name = "nullmailer"

    def configure(self):
        self.peer_dirs()
        self.remotes = {False: f"127.0.0.1 smtp --port={self.sink_port}\n",
                        True: f"127.0.0.1 smtp --port={self.tls_port} --starttls --insecure "
                              f"--user={AUTH_USER} --pass={AUTH_PASS}\n"}
        for name, text in (("remotes", self.remotes[False]), ("pausetime", "0\n"), ("sendtimeout", "60\n"),
                           ("defaultdomain", "bench.test\n"), ("me", "bench.test\n")):
            with open(f"{self.D}/etc/nullmailer/{name}", "w") as f:
                f.write(text)
        os.chmod(f"{self.D}/etc/nullmailer/remotes", 0o644)
        with open(f"{self.D}/etc/mailname", "w") as f:
            f.write("bench.test\n")

    def reset_spool(self):
        super().reset_spool()
        sp = f"{self.D}/spool"
        for d in ("queue", "tmp", "failed"):
            os.mkdir(f"{sp}/{d}")
        os.mkfifo(f"{sp}/trigger")
        run(["chown", "-R", "mail:root", sp])
        for d in ("", "/queue", "/tmp", "/failed"):
            os.chmod(sp + d, 0o750)
        os.chmod(f"{sp}/trigger", 0o600)

    def submit_argv(self):
        return ["/usr/sbin/sendmail", "-t", "-i"]   # -> nullmailer-inject -> nullmailer-queue

    def deliver_argv(self, tls=False):
        return ["setpriv", "--reuid=mail", "--regid=mail", "--init-groups", "/usr/sbin/nullmailer-send"]

    def pass_start(self, tls=False, wrap=()):
        # rewritten in place (same inode), so the overlay shows the new bytes
        with open(f"{self.D}/etc/nullmailer/remotes", "w") as f:
            f.write(self.remotes[tls])
        return super().pass_start(tls, wrap)

    def mailq_argv(self):
        return ["/usr/bin/mailq"]

    def queued(self):
        return len(os.listdir(f"{self.D}/spool/queue"))


POSTFIX_MASTER_CF = """\
# bench: a null client; no chroot (the package's postinst would set one up)
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Postfix(Mta):
    name = "postfix"
    CONFS = {"main": "/etc/postfix", "list": "/etc/postfix-list", "tls": "/etc/postfix-tls"}

    def mounts(self):
        return ns_mounts("postfix", self.D, spool_target=False)

    def configure(self):
        ensure_postfix_accounts()
        base = (f"compatibility_level = 3.6\nqueue_directory = {self.D}/spool\ndata_directory = {self.D}/data\n"
                "mail_owner = postfix\nsetgid_group = postdrop\n"
                "myhostname = bench.test\nmydomain = bench.test\nmyorigin = bench.test\nmydestination =\n"
                "inet_interfaces = loopback-only\ninet_protocols = ipv4\nalias_maps =\nalias_database =\n"
                "local_transport = error:local delivery is disabled\nbiff = no\n"
                f"maillog_file = {self.D}/maillog\nmaillog_file_prefixes = {self.D}\n"
                # the one change from the defaults that a measurement needs: 6. submits 50 MB
                # (the default limit is 10 240 000 bytes)
                "message_size_limit = 60000000\n"
                "alternate_config_directories = /etc/postfix-list, /etc/postfix-tls\n")
        confs = {
            "main": base + f"relayhost = [127.0.0.1]:{self.sink_port}\n",
            # the queue listing: showq must run, pickup must not (messages stay queued)
            "list": base + f"relayhost = [127.0.0.1]:{self.sink_port}\nmaster_service_disable = pickup/unix\n",
            "tls": base + f"relayhost = [127.0.0.1]:{self.tls_port}\nsmtp_tls_security_level = encrypt\n"
                   f"smtp_sasl_auth_enable = yes\nsmtp_sasl_password_maps = static:{AUTH_USER}:{AUTH_PASS}\n"
                   "smtp_sasl_security_options = noanonymous\nsmtp_sasl_tls_security_options = noanonymous\n",
        }
        for key, path in self.CONFS.items():
            d = self.D + path
            os.makedirs(d, exist_ok=True)
            with open(f"{d}/main.cf", "w") as f:
                f.write(confs[key])
            with open(f"{d}/master.cf", "w") as f:
                f.write(POSTFIX_MASTER_CF)
        with open(f"{self.D}/etc/mailname", "w") as f:
            f.write("bench.test\n")
        self.master = None

    def reset_spool(self):
        super().reset_spool()
        sp = f"{self.D}/spool"
        shutil.rmtree(f"{self.D}/data", ignore_errors=True)
        os.makedirs(f"{self.D}/data")
        shutil.chown(f"{self.D}/data", "postfix", "postfix")
        os.chmod(f"{self.D}/data", 0o700)
        for d, owner, group, mode in (("maildrop", "postfix", "postdrop", 0o1730), ("public", "postfix", "postdrop", 0o710),
                                      ("pid", "root", "root", 0o755)) + tuple(
                (q, "postfix", "root", 0o700) for q in ("incoming", "active", "deferred", "defer", "bounce", "flush",
                                                        "hold", "corrupt", "saved", "trace", "private")):
            os.mkdir(f"{sp}/{d}")
            shutil.chown(f"{sp}/{d}", owner, group)
            os.chmod(f"{sp}/{d}", mode)

    def submit_argv(self):
        return ["/usr/sbin/sendmail", "-t", "-i"]   # -> postdrop into maildrop/; no master runs: queue only

    def master_start(self, conf="main", wrap=()):
        self.master = self.nspopen(list(wrap) + ["setsid", "/usr/lib/postfix/sbin/master", "-d", "-c", self.CONFS[conf]],
                                   stdout=open(f"{self.D}/master.log", "a"), stderr=subprocess.STDOUT)
        return self.master

    def master_ready(self, timeout=10):
        # master has bound its services once public/ and private/ have their sockets
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(f"{self.D}/spool/public/showq") or os.path.exists(f"{self.D}/spool/private/qmgr"):
                return True
            if self.master.poll() is not None:
                return False
            time.sleep(0.02)
        return False

    def master_stop(self):
        if self.master is None:
            return None
        try:
            pid = int(open(f"{self.D}/spool/pid/master.pid").read().split()[0])
            os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError, IndexError):
            self.master.terminate()
        try:
            rc = self.master.wait(20)
        except subprocess.TimeoutExpired:
            self.master.kill()
            rc = self.master.wait()
        self.master = None
        return rc

    def deliver_argv(self, tls=False):
        # setsid: master -d stays in the foreground but, as without -d, leads its own process
        # group (on SIGTERM it signals the group; the bench's wrappers are outside it)
        return ["setsid", "/usr/lib/postfix/sbin/master", "-d", "-c", self.CONFS["tls" if tls else "main"]]

    def pass_finish(self, proc, timeout):
        # the pass is over once the sink has the messages and qmgr has removed them from
        # the queue (bounded): then stop master, which runs until told
        deadline = time.monotonic() + 10
        while self.queued() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.master = proc
        rc = self.master_stop()
        return 0 if rc in (-15, 143) else rc

    def mailq_argv(self):
        return ["/usr/sbin/postqueue", "-c", self.CONFS["list"], "-p"]

    def mailq(self):
        self.master_start("list")
        if not self.master_ready():
            self.master_stop()
            return None, None, "master did not start", f"{self.D}/master.log"
        try:
            return self.timed_rss(self.mailq_argv(), "mailq")
        finally:
            self.master_stop()

    def queued(self):
        n = 0
        for q in ("maildrop", "incoming", "active", "deferred", "hold"):
            for _, _, files in os.walk(f"{self.D}/spool/{q}"):
                n += len(files)
        return n

    def describe(self):
        return f"postfix {pkg_version('postfix')} (Debian package, extracted, not installed; master.cf without chroot)"


def ensure_postfix_accounts():
    if run(["getent", "group", "postdrop"], capture_output=True).returncode != 0:
        note("creating system group postdrop (Postfix's setgid_group)")
        run(["groupadd", "--system", "postdrop"], check=True)
    if run(["getent", "passwd", "postfix"], capture_output=True).returncode != 0:
        note("creating system user postfix (Postfix's mail_owner)")
        run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
             "--shell", "/usr/sbin/nologin", "postfix"], check=True)


# ---------------------------------------------------------------------------
# measurements

def make_message(path, size, subject, seq=None):
    """A text message of exactly size bytes (the body cut to fit)."""
    head = (f"From: Bench Sender <sender@bench.test>\nTo: Bench Sink <{RCPT}>\nSubject: {subject}\n"
            + (f"X-Bench-Seq: {seq}\n" if seq is not None else "")
            + "MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n")
    line = "the quick brown fox jumps over the lazy dog 0123456789 the quick brown fox jumps.\n"
    need = max(size - len(head), 1)
    lines = (need // (len(line) + 7)) + 2
    body = "".join(f"{i:06d} {line}" for i in range(lines))[:need - 1] + "\n"
    with open(path, "w") as f:
        f.write(head + body)
    return os.path.getsize(path)


def submit_loop(ctx, m, count, procs, msg, tag, argv=None):
    """count submissions by procs parallel submitters; returns msgs/s or None."""
    errf = f"{m.D}/{tag}.err"
    open(errf, "w").close()
    argv = argv or m.submit_argv()
    try:
        r = m.nsrun([ctx.spawnloop, str(procs), str(count), msg, errf] + argv,
                    capture_output=True, text=True, timeout=ctx.loop_to(count))
        out = r.stdout.strip().splitlines()
    except subprocess.TimeoutExpired:
        out = ["timeout"]
    last = out[-1] if out else ""
    if last.startswith("OK "):
        return count / float(last.split()[1])
    fail(m.name, f"{tag}: {count} submissions by {procs} submitter(s): {last or 'no result'}",
         f"  command: {' '.join(argv)} < message\n  output:\n{tail(errf)}")
    return None


def delivery_pass(ctx, m, count, tag, tls=False, wrap=(), sink=None, argv=None):
    """One delivery pass over count queued messages (argv: another command than the
    MTA's pass); msgs/s (from the start of the pass to the sink's count) or None."""
    sink = sink or ctx.sink
    mark = sink.mark()
    t0 = time.time()
    p = (m.pass_start(tls, wrap) if argv is None else
         m.nspopen(argv, stdout=open(f"{m.D}/pass.log", "w"), stderr=subprocess.STDOUT))
    got = sink.wait(mark + count, ctx.pass_to(count), alive=lambda: p.poll() is None) - mark
    t1 = time.time()
    rc = m.pass_finish(p, 60)
    m.reap(tag)
    left = m.queued()
    if got < count:
        fail(m.name, f"{tag}: the sink counted {got} of {count} messages (pass exit {rc}, still queued: {left})",
             f"  command: {' '.join(argv or m.deliver_argv(tls))}\n  output:\n{tail(m.D + '/pass.log')}")
        return None
    if rc != 0:
        fail(m.name, f"{tag}: all {count} arrived but the pass exited {rc}",
             f"  command: {' '.join(argv or m.deliver_argv(tls))}\n  output:\n{tail(m.D + '/pass.log')}")
    if left not in (0, None):
        fail(m.name, f"{tag}: {left} message(s) still queued after the pass")
    return count / (t1 - t0)


def fill(ctx, m, count, tag):
    """count queued messages in a fresh spool (8 parallel submitters); True if all are queued."""
    m.reset_spool()
    mark = ctx.sink.mark()
    if submit_loop(ctx, m, count, 8, ctx.msg, tag) is None:
        return False
    time.sleep(0.3)
    early = ctx.sink.mark() - mark
    if early:
        fail(m.name, f"{tag}: queue-only submissions delivered {early} message(s) at once")
        return False
    q = m.queued()
    if q is not None and q != count:
        fail(m.name, f"{tag}: {q} messages queued after {count} submissions")
        return False
    return True


def timed_down(ctx, m, what, count, tag):
    """relayq: one pass with the smarthost refusing connections (what: "run" or "flush",
    see Relayq.down_argv); (seconds from start to exit, peak RSS KB) or (None, None)."""
    argv = m.down_argv(what)
    try:
        secs, rss, rc, outf = m.timed_rss(argv, tag)
    except subprocess.TimeoutExpired:
        secs, rss, rc, outf = None, None, "timeout", f"{m.D}/{tag}.out"
    m.reap(tag)
    if rc != 0:
        fail(m.name, f"{tag}: exit {rc}", f"  command: {' '.join(argv)}\n  output:\n{tail(outf)}")
        return None, None
    return secs, rss


def measure_deferral(ctx, m, count, tag):
    """relayq with count messages in maildrop/ and the smarthost refusing: a pass that
    picks them up and defers each (one connection attempt for the route), then
    `relayq queue flush` over the same messages, picked up, deferring each again.
    Returns [(seconds, RSS KB) of each]; both must leave all count queued."""
    out = []
    for what, step in (("run", "pickup-defer"), ("flush", "defer")):
        out.append(timed_down(ctx, m, what, count, f"{tag}-{step}"))
        q = m.queued()
        if q != count:
            fail(m.name, f"{tag}-{step}: {q} messages queued after the pass, not {count}")
            out[-1] = (None, None)
    return out


def measure_pickup(ctx, m, N):
    """relayq has no pickup-only command: the pickup of N is measured as the difference
    between a pass that picks up and defers them and one that only defers them; then a
    pass over them, picked up, into the sink (`relayq queue flush`)."""
    m.reset_spool()
    if submit_loop(ctx, m, N, 8, ctx.msg, "pickup-fill") is None:
        return
    (a, _), (b, _) = measure_deferral(ctx, m, N, "pickup")
    ctx.add("pickup_defer", m.name, N / a if a else None)
    ctx.add("defer_picked", m.name, N / b if b else None)
    ctx.add("pickup_derived", m.name, N / (a - b) if a and b and a > b else None)
    ctx.add("pass_picked", m.name, delivery_pass(ctx, m, N, "pass-picked-up", argv=m.flush_argv()))


def has_pickup(ctx, m):
    if m.pickup_argv() is None:
        return False
    m.reset_spool()
    r = m.nsrun(m.pickup_argv(), capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    ctx.pickup_probe = f"`{os.path.basename(m.pickup_argv()[0])} {' '.join(m.pickup_argv()[1:])}` exit {r.returncode}"
    return r.returncode == 0


def round_throughput(ctx, r):
    N = ctx.N
    for m in ctx.mtas:   # 1 + 4: sequential submissions, then one pass over them
        m.reset_spool()
        mark = ctx.sink.mark()
        v = submit_loop(ctx, m, N, 1, ctx.msg, "seq-submit")
        ctx.add("seq", m.name, v)
        if v is None:
            continue
        time.sleep(0.3)
        if ctx.sink.mark() != mark:
            fail(m.name, f"seq-submit: queue-only submissions delivered {ctx.sink.mark() - mark} message(s)")
            continue
        if m.name == "relayq" and ctx.pickup:
            t0 = time.time()
            rc = m.nsrun(m.pickup_argv(), timeout=ctx.pass_to(N), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
            ctx.add("pickup", m.name, N / (time.time() - t0) if rc == 0 else None)
            if rc != 0:
                fail(m.name, f"pickup step exited {rc}")
            ctx.add("pass_picked", m.name, delivery_pass(ctx, m, N, "pass-picked-up"))
        else:
            ctx.add("pass", m.name, delivery_pass(ctx, m, N, "pass"))
            if m.name == "relayq":
                measure_pickup(ctx, m, N)
    for m in ctx.mtas:   # 2 + 4 over TLS: parallel submissions, then a STARTTLS+AUTH pass
        m.reset_spool()
        v = submit_loop(ctx, m, N, 8, ctx.msg, "par-submit")
        ctx.add("par", m.name, v)
        if v is not None and ctx.tls_sink is not None:
            if m.name == "relayq":
                tls_and_plain(ctx, m, r)
            else:
                ctx.add("pass_tls", m.name, delivery_pass(ctx, m, N, "pass-tls", tls=True, sink=ctx.tls_sink))
    # references: the cost of a process, and the line rate of the sink
    m0 = ctx.mtas[0]
    ctx.add("seq", "cat", submit_loop(ctx, m0, N, 1, ctx.msg, "cat-seq", ["cat"]))
    ctx.add("par", "cat", submit_loop(ctx, m0, N, 8, ctx.msg, "cat-par", ["cat"]))
    for s in (1, 4):
        ctx.add(f"source{s}", "smtp-source", smtp_source(ctx, s))


def tls_and_plain(ctx, m, r):
    """relayq's STARTTLS+AUTH pass and its plaintext pass into the same sink, back to back
    (which one first alternates by round), each over N queued by 8 parallel submitters;
    the ratio of the two is taken per round."""
    v = {}
    modes = [(True, "pass_tls", "pass-tls"), (PLAIN_4B, "pass_4b_plain", "pass-4b-plain")]
    for i, (mode, key, tag) in enumerate(modes if r % 2 else modes[::-1]):
        if i > 0 and not fill(ctx, m, ctx.N, f"fill-{tag}"):
            v[key] = None
        else:
            v[key] = delivery_pass(ctx, m, ctx.N, tag, tls=mode, sink=ctx.tls_sink)
        ctx.add(key, m.name, v[key])
    a, b = v["pass_tls"], v["pass_4b_plain"]
    ctx.add("tls_ratio", m.name, a / b if a and b else None)


def smtp_source(ctx, sessions):
    mark = ctx.sink.mark()
    env = dict(os.environ, LD_LIBRARY_PATH=ctx.pflib)
    t0 = time.time()
    r = run([ctx.pfsbin + "/smtp-source", "-s", str(sessions), "-m", str(ctx.N), "-l", "2048",
             "-f", "sender@bench.test", "-t", RCPT, f"127.0.0.1:{ctx.sink.port}"],
            env=env, capture_output=True, text=True, timeout=ctx.pass_to(ctx.N))
    got = ctx.sink.wait(mark + ctx.N, 30) - mark
    t1 = time.time()
    if r.returncode != 0 or got < ctx.N:
        fail("smtp-source", f"{sessions} session(s): exit {r.returncode}, sink counted {got} of {ctx.N}", r.stderr)
        return None
    return ctx.N / (t1 - t0)


def count_syncs(path):
    total = files = dirs = 0
    pat = re.compile(r"^\d+ +(%s)\(\d+<([^>]*)>.*= (\d+)" % SYNC_CALLS.replace(",", "|"))
    try:
        lines = open(path, errors="replace").read().splitlines()
    except OSError:
        return None
    for line in lines:
        mm = pat.match(line)
        if not mm:
            continue
        total += 1
        if os.path.isdir(mm.group(2)):
            dirs += 1
        else:
            files += 1
    return f"{total}={files}f+{dirs}d"


def measure_fsync(ctx, m):
    st = ["strace", "-f", "-y", "-qq", "-e", f"trace={SYNC_CALLS}"]
    m.reset_spool()
    r = m.nsrun(st + ["-o", f"{m.D}/strace.submit"] + m.submit_argv(), stdin=open(ctx.msg),
                stdout=subprocess.DEVNULL, stderr=open(f"{m.D}/strace.submit.log", "w"), timeout=120)
    if r.returncode != 0:
        fail(m.name, f"fsync: submission under strace exited {r.returncode}", tail(f"{m.D}/strace.submit.log"))
        return
    ctx.add("fsync_submit", m.name, count_syncs(f"{m.D}/strace.submit"))
    if delivery_pass(ctx, m, 1, "fsync-pass", wrap=st + ["-o", f"{m.D}/strace.pass"]) is not None:
        ctx.add("fsync_pass", m.name, count_syncs(f"{m.D}/strace.pass"))


class Sampler:
    """Largest peak RSS (VmHWM) of any one MTA process in the namespace, sampled."""

    def __init__(self, m):
        self.m, self.peak, self.stop = m, 0, threading.Event()
        self.ns = os.readlink(f"/proc/{m.holder.pid}/ns/mnt")
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while not self.stop.is_set():
            for p in os.listdir("/proc"):
                if not p.isdigit() or int(p) == self.m.holder.pid:
                    continue
                try:
                    if os.readlink(f"/proc/{p}/ns/mnt") != self.ns:
                        continue
                    st = open(f"/proc/{p}/status").read()
                    if re.search(r"^Name:\s*(\S+)", st).group(1) in HELPERS:
                        continue
                    mm = re.search(r"^VmHWM:\s*(\d+)", st, re.M)
                    if mm:
                        self.peak = max(self.peak, int(mm.group(1)))
                except (OSError, AttributeError):
                    pass
            self.stop.wait(0.02)

    def end(self):
        self.stop.set()
        self.t.join()
        return self.peak


def measure_rss(ctx, m):
    # RSS_RUNS of each, the median reported (Ctx.get): where the kernel
    # maps a shared library's pages around each fault depends on the
    # addresses of one run (ASLR), so one run varies by about 100 KB.
    for label, msg in (("2KB", ctx.msg), ("50MB", ctx.big)):
        for run_no in range(1, RSS_RUNS + 1):
            m.reset_spool()
            secs, rss, rc, outf = m.timed_rss(m.submit_argv(), f"rss-submit-{label}-{run_no}", stdin=open(msg))
            if rc != 0:
                fail(m.name, f"RSS: {label} submission exited {rc}", tail(outf))
                break
            ctx.add(f"rss_submit_{label}", m.name, rss)
            rssf = f"{m.D}/rss-pass-{label}-{run_no}.rss"
            smp = Sampler(m)
            v = delivery_pass(ctx, m, 1, f"rss-pass-{label}-{run_no}",
                              wrap=["/usr/bin/time", "-f", "%M", "-o", rssf, "--"])
            peak = smp.end()
            try:
                peak = max(peak, int(open(rssf).read().split()[-1]))
            except (OSError, ValueError, IndexError):
                pass
            if v is None:
                break
            ctx.add(f"rss_pass_{label}", m.name, peak)


def klabel(count):
    return f"{count // 1000}k" if count % 1000 == 0 else str(count)


def measure_scale(ctx, m, count, deliver):
    """mailq with count queued (time, RSS), then optionally one pass over them."""
    tag = klabel(count)
    t0 = time.time()
    if not fill(ctx, m, count, f"fill-{tag}"):
        return
    note(f"{m.name}: {count} queued in {time.time() - t0:.0f}s")
    # Three listings, the median time and the largest RSS: one listing of
    # 0.1 s is at the mercy of whatever else the machine did then.
    runs = [m.mailq() for _ in range(LISTINGS)]
    bad = [r for r in runs if r[2] != 0]
    if bad:
        fail(m.name, f"mailq with {count} queued: exit {bad[0][2]}", tail(bad[0][3]))
    else:
        ctx.add(f"mailq_{tag}_s", m.name, statistics.median(r[0] for r in runs))
        ctx.add(f"mailq_{tag}_rss", m.name, max(r[1] for r in runs))
    if deliver:
        ctx.add(f"pass_{tag}", m.name, delivery_pass(ctx, m, count, f"pass-{tag}"))
    if deliver and m.name == "relayq" and fill(ctx, m, count, f"fill-{tag}-down"):
        (a, ra), (b, rb) = measure_deferral(ctx, m, count, f"down-{tag}")
        ctx.add(f"pickup_defer_{tag}_s", m.name, a)
        ctx.add(f"pickup_defer_{tag}_rss", m.name, ra)
        ctx.add(f"defer_{tag}_s", m.name, b)
        ctx.add(f"defer_{tag}_rss", m.name, rb)
    m.reset_spool()


def measure_latency(ctx, m, n):
    lat, lat_start = [], []
    if m.name == "relayq":
        spool = f"{m.D}/latspool"
        shutil.rmtree(spool, ignore_errors=True)
        os.makedirs(spool)
        shutil.chown(spool, ctx.lat_user, ctx.lat_user)
        conf = f"{m.D}/relayq-lat.conf"
        m.conf(conf, ctx.sink.port, spool, False)
        as_user = ["setpriv", f"--reuid={ctx.lat_user}", f"--regid={ctx.lat_user}", "--init-groups"]
        daemon = m.nspopen(as_user + [m.bin("relayq"), "-C", conf, "-v", "daemon"],
                           stdout=open(f"{m.D}/daemon.log", "w"), stderr=subprocess.STDOUT)
        for _ in range(200):
            if os.path.exists(f"{spool}/wakeup") or daemon.poll() is not None:
                break
            time.sleep(0.05)
        submit = as_user + [m.bin("sendmail"), "-C", conf, "-t", "-i"]
        stop = lambda: stop_pid(daemon, 20)
        logf = f"{m.D}/daemon.log"
    else:
        m.reset_spool()
        m.master_start("main")
        if not m.master_ready():
            fail(m.name, "latency: master did not start", tail(f"{m.D}/master.log"))
            m.master_stop()
            return
        submit = m.submit_argv()
        stop = m.master_stop
        logf = f"{m.D}/maillog"
    try:
        for i in range(1, n + 1):
            msg = f"{m.D}/lat.msg"
            make_message(msg, 600, f"latency {i}", seq=i)
            mark = ctx.sink.mark()
            t_start = time.time()
            r = m.nsrun(submit, stdin=open(msg), stdout=subprocess.DEVNULL, stderr=open(f"{m.D}/lat.err", "w"),
                        timeout=60)
            t_ret = time.time()
            if r.returncode != 0:
                fail(m.name, f"latency: submission {i} exited {r.returncode}", tail(f"{m.D}/lat.err"))
                return
            if ctx.sink.wait(mark + 1, 30) < mark + 1:
                fail(m.name, f"latency: message {i} did not reach the sink within 30 s", tail(logf))
                return
            with ctx.sink.cond:
                lat.append((ctx.sink.times[mark] - t_ret) * 1000)
                lat_start.append((ctx.sink.times[mark] - t_start) * 1000)
    finally:
        stop()
        m.reap("latency")
    for key, v in (("lat", lat), ("lat_start", lat_start)):
        v.sort()
        ctx.add(f"{key}_median", m.name, statistics.median(v))
        ctx.add(f"{key}_p99", m.name, v[min(len(v) - 1, int(0.99 * len(v) + 0.999999) - 1)])


# ---------------------------------------------------------------------------
# report

def fmt(v):
    if v is None:
        return "FAIL"
    if isinstance(v, str):
        return v
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def table(ctx, title, rows, better, unit_note=""):
    """rows: [(label, key)]; columns: MTAs (+ references), then relayq / peer."""
    cols = [m.name for m in ctx.mtas] + [c for c in ("cat", "smtp-source") if any(
        (k, c) in ctx.vals for _, k in rows)]
    peers = [m.name for m in ctx.mtas if m.name != "relayq"]
    have_rq = any(m.name == "relayq" for m in ctx.mtas)
    ratio_cols = [f"rq/{p[:4]}" for p in peers] if have_rq else []
    say(f"{title}{' (' + unit_note + ')' if unit_note else ''}")
    w0 = max([len(r[0]) for r in rows] + [10])
    head = f"  {'':<{w0}}" + "".join(f"{c:>12}" for c in cols) + "".join(f"{c:>10}" for c in ratio_cols)
    say(head)
    for label, key in rows:
        line = f"  {label:<{w0}}"
        for c in cols:
            line += f"{fmt(ctx.get(key, c)) if (key, c) in ctx.vals else '-':>12}"
        for p in peers if have_rq else []:
            a, b = ctx.get(key, "relayq"), ctx.get(key, p)
            if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b:
                line += f"{a / b:>10.2f}"
            else:
                line += f"{'-':>10}"
        say(line)
    if ratio_cols:
        say(f"  rq/X = relayq / X ({'higher' if better == 'higher' else 'lower'} is better for relayq)")
    say()


def fsync_latency(work):
    path = f"{work}/fsync.probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    data = b"x" * 4096
    ts = []
    for _ in range(200):
        t0 = time.perf_counter()
        os.write(fd, data)
        os.fsync(fd)
        ts.append(time.perf_counter() - t0)
    os.close(fd)
    os.unlink(path)
    ts.sort()
    return statistics.median(ts) * 1000, ts[int(0.99 * len(ts)) - 1] * 1000


def machine_block(ctx):
    model = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = int(re.search(r"MemTotal:\s*(\d+)", open("/proc/meminfo").read()).group(1))
    fs = run(["df", "--output=fstype,source", ctx.work], capture_output=True, text=True).stdout.split("\n")[1].split()
    med, p99 = fsync_latency(ctx.work)
    say(f"date:       {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")
    say(f"machine:    {os.cpu_count()} cores, {model}, {mem / 1048576:.1f} GiB RAM, kernel {os.uname().release}, "
        f"load average {ctx.load_start} at start, {open('/proc/loadavg').read().split()[0]} at end")
    say(f"work dir:   {ctx.work} on {fs[0]} ({fs[1]}); write+fsync of 4 KB: median {med:.3f} ms, "
        f"p99 {p99:.3f} ms (200 times)")
    for m in ctx.mtas:
        say(f"{m.name + ':':<11} {m.describe()}")
    say(f"sink:       Postfix {pkg_version('postfix')} smtp-sink on 127.0.0.1 (kernel-chosen port), PIPELINING;"
        f" table 4b: bench/tlssink.c (STARTTLS, AUTH PLAIN/LOGIN, PIPELINING, a process per connection),"
        f" since smtp-sink has no AUTH")
    say(f"N = {ctx.N} messages of {ctx.msg_size} bytes, {ctx.rounds} interleaved rounds (medians shown); "
        f"large message {ctx.big_size} bytes")
    say()


class Results:
    def __init__(self):
        self.vals = {}

    def add(self, key, mta, v):
        self.vals.setdefault((key, mta), []).append(v)

    def get(self, key, mta):
        vs = self.vals.get((key, mta))
        if not vs:
            return None
        if any(v is None for v in vs):
            return None
        if isinstance(vs[0], str):
            return vs[-1]
        return statistics.median(vs)


class Ctx(Results):
    def loop_to(self, count):
        return 120 + count // 2

    def pass_to(self, count):
        return 120 + count // 5


def report(ctx):
    machine_block(ctx)
    table(ctx, "1. sequential submissions, `sendmail -t -i` queue only, one process at a time", [
        ("msgs/s", "seq")], "higher", "msgs/s; cat = `cat < msg > /dev/null`, the cost of a process")
    table(ctx, "2. 8 parallel submitters", [("msgs/s", "par")], "higher", "msgs/s")
    table(ctx, "3. fsync-family calls (strace -f): total=on files+on directories", [
        ("one submission", "fsync_submit"), ("pass of that one", "fsync_pass")], "lower")
    pick = ([("pickup only", "pickup"), ("pass, picked up", "pass_picked")] if ctx.pickup else [
        ("refused: pickup+defer", "pickup_defer"), ("refused: defer only", "defer_picked"),
        ("pickup (difference)", "pickup_derived"), ("pass, picked up", "pass_picked")])
    table(ctx, f"4. one delivery pass over the N queued by 1. -> smtp-sink", [("msgs/s", "pass")] + pick + [
        ("smtp-source 1 sess", "source1"), ("smtp-source 4 sess", "source4")], "higher", "msgs/s")
    if not ctx.pickup:
        say(f"  relayq has no pickup-only step ({ctx.pickup_probe}): N more (8 submitters), then with the "
            "smarthost refusing connections")
        say("  `relayq run` (picks up, defers all) and `relayq queue flush` (defers all, picked up); "
            "pickup = N / the difference;")
        say("  then `relayq queue flush` with the sink up: the pass over messages already picked up")
        say()
    if ctx.tls_sink is not None:
        table(ctx, "4b. a pass over STARTTLS + AUTH PLAIN (N queued by 2.) -> bench/tlssink.c "
                   "(smtp-sink does no AUTH); relayq also in plaintext into the same sink",
              [("STARTTLS+AUTH", "pass_tls"), ("plaintext, same sink", "pass_4b_plain")], "higher", "msgs/s")
        v = ctx.get("tls_ratio", "relayq")
        if v is not None:
            say(f"  relayq STARTTLS+AUTH / plaintext into the same sink: {100 * v:.0f} % "
                "(median of the per-round ratios)")
            say()
    rows5 = [(f"{klabel(k)} queued -> sink", f"pass_{klabel(k)}") for k in ctx.scales]
    table(ctx, "5. large queue -> smtp-sink, one pass", rows5, "higher",
          "msgs/s" + ("" if ctx.scale else "; dma and nullmailer only with --scale"))
    q = klabel(ctx.scales[0])
    if (f"defer_{q}_s", "relayq") in ctx.vals:
        table(ctx, f"5b. relayq, {q} queued, the smarthost refusing connections: passes that defer all", [
            ("pickup+defer: s", f"pickup_defer_{q}_s"), ("pickup+defer: RSS KB", f"pickup_defer_{q}_rss"),
            ("defer, picked up: s", f"defer_{q}_s"), ("defer, picked up: RSS", f"defer_{q}_rss")], "lower",
              "`relayq run` over maildrop/, then `relayq queue flush`")
    table(ctx, "6. peak RSS", [("submit 2 KB", "rss_submit_2KB"), ("relay 2 KB", "rss_pass_2KB"),
                               ("submit 50 MB", "rss_submit_50MB"), ("relay 50 MB", "rss_pass_50MB")], "lower",
          f"KB, the median of {RSS_RUNS} runs; submit: GNU time (process + waited children); relay: the "
          "larger of GNU time and the largest VmHWM of any MTA process sampled every 20 ms")
    rows7 = []
    for k in ctx.mailq_scales:
        rows7 += [(f"{klabel(k)}: seconds", f"mailq_{klabel(k)}_s"), (f"{klabel(k)}: RSS KB", f"mailq_{klabel(k)}_rss")]
    table(ctx, "7. queue listing (relayq: mailq; dma: dma -bp; nullmailer: mailq; postfix: postqueue -p "
               "with master and showq running, pickup disabled)", rows7, "lower",
          "" if ctx.scale else "100k only with --scale")
    if ctx.latency_n:
        table(ctx, f"8. latency, sendmail returned -> sink counted it ({ctx.latency_n} messages, one at a time; "
                   "relayq daemon / Postfix master running)",
              [("median ms", "lat_median"), ("p99 ms", "lat_p99"),
               ("from start: median", "lat_start_median"), ("from start: p99", "lat_start_p99")], "lower",
              "ms; 'from start': sendmail started -> sink; negative: the sink had the message before "
              "sendmail exited")
    targets(ctx)


def targets(ctx):
    g = ctx.get
    out = []

    def check(name, ok, detail):
        out.append(f"  {'met   ' if ok else ('MISSED' if ok is not None else 'n/a   ')} {name}: {detail}")

    def ratio(a, b):
        return a / b if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else None

    for key, label in (("seq", "sequential"), ("par", "8 parallel")):
        for peer, want in (("dma", 2), ("nullmailer", 3)):
            r = ratio(g(key, "relayq"), g(key, peer))
            check(f"{label} submission >= {want}x {peer}", None if r is None else r >= want,
                  "-" if r is None else f"{r:.2f}x")
    for key in ("pass", "pass_picked"):
        r = ratio(g(key, "relayq"), g("source1", "smtp-source"))
        if r is not None or key == "pass":
            check(f"{key.replace('_', ' ')} >= 50 % of smtp-source (1 session)", None if r is None else r >= 0.5,
                  "-" if r is None else f"{100 * r:.0f} %")
    v = g("tls_ratio", "relayq")
    check("pass STARTTLS+AUTH >= 80 % of plaintext (same sink)", None if v is None else v >= 0.8,
          "-" if v is None else f"{100 * v:.0f} %")
    q = klabel(ctx.scales[0])
    peers = [g(f"mailq_{q}_s", m.name) for m in ctx.mtas if m.name != "relayq"]
    peers = [p for p in peers if isinstance(p, (int, float))]
    rq = g(f"mailq_{q}_s", "relayq")
    r = ratio(min(peers), rq) if peers and rq else None
    check(f"mailq {q} >= 2x faster than the best peer", None if r is None else r >= 2,
          "-" if r is None else f"{r:.2f}x ({rq:.3f} s vs {min(peers):.3f} s)")
    v = g("mailq_100k_s", "relayq")
    check("mailq 100k <= 1 s", None if v is None else v <= 1, "-" if v is None else f"{v:.3f} s")
    v = g(f"defer_{q}_s", "relayq")
    check(f"a pass deferring all {q} (picked up, smarthost refusing) <= 2 s", None if v is None else v <= 2,
          "-" if v is None else f"{v:.3f} s")
    for key, lim in (("rss_submit_2KB", 2048), ("rss_submit_50MB", 2048), ("rss_pass_2KB", 4096),
                     ("rss_pass_50MB", 4096)):
        v = g(key, "relayq")
        check(f"{key.replace('rss_', 'RSS ').replace('_', ' ')} <= {lim // 1024} MiB", None if v is None else v <= lim,
              "-" if v is None else f"{v} KB")
    for key, label in (("lat_median", "median from return"), ("lat_p99", "p99 from return"),
                       ("lat_start_median", "median from start"), ("lat_start_p99", "p99 from start")):
        a, b = g(key, "relayq"), g(key, "postfix")
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            # a negative latency (at the sink before sendmail exited) waited for nothing: 0
            ok = max(a, 0) <= 2 * max(b, 0)
            check(f"latency {label} <= 2x Postfix", ok, f"{a:.1f} ms vs {b:.1f} ms")
        else:
            check(f"latency {label} <= 2x Postfix", None, "-")
    say("targets (information only; they do not change the exit status):")
    for line in out:
        say(line)
    say()


def parse_args():
    ap = argparse.ArgumentParser(description="relayq vs dma, nullmailer and Postfix (see bench/README.md)")
    ap.add_argument("-n", type=int, default=1000, help="messages per throughput measurement (default 1000)")
    ap.add_argument("-r", "--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("-m", "--mtas", default=" ".join(ALL_MTAS),
                    help="MTAs to run, from: relayq dma nullmailer postfix (default: all)")
    ap.add_argument("--scale", action="store_true",
                    help="also 100 000 queued for mailq, and the 10 000 pass for dma and nullmailer")
    ap.add_argument("--queue", type=int, default=10000,
                    help="size of the large queue of 5. and 7. (default 10000; smaller only to try the bench)")
    ap.add_argument("--latency-n", type=int, default=200, help="latency messages (default 200; 0: skip)")
    ap.add_argument("--big-mb", type=int, default=50,
                    help="size of the large message in MB of 10^6 bytes (default 50)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (bench/out/work-*)")
    ap.add_argument("--relayq", metavar="DIR", help="relayq installed under DIR (a prefix with sbin/ and bin/, "
                    "or a DESTDIR holding one); default: `make install DESTDIR=` from this tree")
    a = ap.parse_args()
    a.mtas = a.mtas.split()
    for m in a.mtas:
        if m not in ALL_MTAS:
            ap.error(f"unknown MTA {m}")
    if a.n < 1 or a.rounds < 1:
        ap.error("-n and --rounds want positive numbers")
    return a


def find_prefix(d):
    if os.path.exists(f"{d}/sbin/relayq"):
        return d
    for root, dirs, files in os.walk(d):
        if "relayq" in files and os.path.basename(root) == "sbin":
            return os.path.dirname(root)
    raise SystemExit(f"bench: no sbin/relayq under {d}")


def preflight(a):
    if os.geteuid() != 0:
        raise SystemExit("bench: needs root (unshare -m, overlay and bind mounts, Postfix's master)")
    for tool in ("unshare", "nsenter", "setpriv", "ss", "strace", "openssl", "apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench: {tool} is missing")
    if not os.access("/usr/bin/time", os.X_OK):
        raise SystemExit("bench: GNU time is missing (apt-get install time)")
    if shutil.which("cc") is None:
        raise SystemExit("bench: cc is missing (bench/tlssink.c is built for table 4b)")


def make_tls(work):
    d = f"{work}/tls"
    os.makedirs(d)
    cmds = [
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=relayq bench CA",
         "-keyout", "ca.key", "-out", "ca.pem", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key",
         "-out", "server.csr"],
        ["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
         "-days", "2", "-extfile", "ext.cnf", "-out", "server.pem"]]
    with open(f"{d}/ext.cnf", "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    for c in cmds:
        r = run(c, cwd=d, capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"bench: openssl failed: {r.stderr}")
    return f"{d}/server.pem", f"{d}/server.key"


def main():
    a = parse_args()
    preflight(a)
    out = f"{BENCH}/out"
    os.makedirs(out, exist_ok=True)
    fetch_peers(set(a.mtas) | {"postfix"})   # Postfix's smtp-sink and smtp-source are the sink and reference
    work = tempfile.mkdtemp(prefix="work-", dir=out)
    os.chmod(work, 0o755)
    ctx = Ctx()
    ctx.work, ctx.N, ctx.rounds, ctx.scale = work, a.n, a.rounds, a.scale
    ctx.load_start = open("/proc/loadavg").read().split()[0]
    ctx.latency_n = a.latency_n
    ctx.pickup, ctx.pickup_probe = False, "not probed"
    ctx.scales = [a.queue]
    ctx.mailq_scales = [a.queue, 100000] if a.scale else [a.queue]
    ctx.lat_user = "www-data"
    ctx.pfsbin = f"{BENCH}/peers/root/postfix/usr/sbin"
    ctx.pflib = f"{BENCH}/peers/root/postfix/usr/lib/postfix"
    ctx.tls_sink = None
    ctx.mtas = []
    ctx.sink = None
    try:
        if a.relayq:
            prefix = find_prefix(os.path.abspath(a.relayq))
        else:
            note("installing relayq from this tree: make install DESTDIR=...")
            r = run(["make", "-C", TOP, "install", f"DESTDIR={work}/inst"], capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit(f"bench: make install failed:\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
            prefix = find_prefix(f"{work}/inst")
        ctx.spawnloop = f"{work}/spawnloop"
        r = run(["cc", "-O2", "-Wall", "-o", ctx.spawnloop, f"{BENCH}/spawnloop.c"], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"bench: cannot build bench/spawnloop.c:\n{r.stderr[-2000:]}")
        ctx.msg = f"{work}/small.msg"
        ctx.msg_size = make_message(ctx.msg, 2048, "relayq bench message")
        ctx.big = f"{work}/big.msg"
        ctx.big_size = make_message(ctx.big, a.big_mb * 1000 * 1000, f"relayq bench {a.big_mb} MB message")
        ctx.sink = SmtpSink(work, ctx.pflib, f"{ctx.pfsbin}/smtp-sink")
        cert, key = make_tls(work)
        ctx.tls_sink = TlsSink(work, cert, key)
        for name in a.mtas:
            cls = {"relayq": Relayq, "dma": Dma, "nullmailer": Nullmailer, "postfix": Postfix}[name]
            m = (cls(work, ctx.sink.port, ctx.tls_sink.port, prefix) if name == "relayq"
                 else cls(work, ctx.sink.port, ctx.tls_sink.port))
            m.ns_start()
            ctx.mtas.append(m)
        for m in ctx.mtas:
            if m.name == "relayq":
                ctx.pickup = has_pickup(ctx, m)
        run_all(ctx, a)
        text_start = len(LOG)
        say("=" * 100)
        report(ctx)
        if FAILURES:
            say(f"FAILURES ({len(FAILURES)}):")
            for mta, what, detail in FAILURES:
                say(f"== {mta}: {what}")
                if detail:
                    say(detail)
        else:
            say("no failures: every message arrived, every command exited 0")
        path = f"{out}/results-{time.strftime('%Y%m%d-%H%M%S')}.txt"
        with open(path, "w") as f:
            f.write("\n".join(LOG[text_start:]) + "\n")
        say(f"written to {path}")
    finally:
        for m in ctx.mtas:
            if isinstance(m, Postfix):
                m.master_stop()
            m.ns_stop()
        for s in (ctx.sink, ctx.tls_sink):
            if s is not None:
                s.stop()
        if a.keep:
            note(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if FAILURES else 0


def run_all(ctx, a):
    t0 = time.time()
    for r in range(1, ctx.rounds + 1):
        note(f"round {r}/{ctx.rounds}: submissions, passes, references ({time.time() - t0:.0f}s)")
        round_throughput(ctx, r)
    for m in ctx.mtas:
        note(f"{m.name}: fsync count, RSS ({time.time() - t0:.0f}s)")
        measure_fsync(ctx, m)
        measure_rss(ctx, m)
    for m in ctx.mtas:
        note(f"{m.name}: {a.queue} queued ({time.time() - t0:.0f}s)")
        measure_scale(ctx, m, a.queue, deliver=a.scale or m.name in ("relayq", "postfix"))
    if a.scale:
        for m in ctx.mtas:
            note(f"{m.name}: 100 000 queued ({time.time() - t0:.0f}s)")
            measure_scale(ctx, m, 100000, deliver=False)
    if ctx.latency_n:
        for m in ctx.mtas:
            if m.name in ("relayq", "postfix"):
                note(f"{m.name}: latency ({time.time() - t0:.0f}s)")
                measure_latency(ctx, m, ctx.latency_n)
    note(f"all measurements done ({time.time() - t0:.0f}s)")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    sys.exit(main())
