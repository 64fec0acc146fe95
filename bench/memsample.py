#!/usr/bin/python3
"""Sample the total memory of the MTA processes during a bench phase.

Every --interval seconds, sums Pss (proportional set size: shared pages are split
between the processes that map them, so the sum is a fair total) and Rss over every
process that lives in the same mount namespace as --ns-of PID, leaving out the
bench's own helpers (by command name).  Writes "peak_pss_kb peak_rss_kb peak_procs"
to --out when it gets SIGTERM or after --max seconds.  Writes --ready once the first
sample is taken.
"""
import argparse
import os
import signal
import sys
import time

HELPERS = {"bash", "sh", "timeout", "time", "sleep", "python3", "strace", "cat",
           "memsample.py", "setpriv", "unshare"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ns-of", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--interval", type=float, default=0.05)
    ap.add_argument("--max", type=float, default=900.0)
    args = ap.parse_args()

    me = os.getpid()
    ns = os.readlink(f"/proc/{args.ns_of}/ns/mnt")
    peak_pss = peak_rss = peak_procs = 0
    stop = False

    def on_term(signum, frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    deadline = time.monotonic() + args.max
    first = True
    while not stop and time.monotonic() < deadline:
        pss = rss = procs = 0
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == me:
                continue
            try:
                if os.readlink(f"/proc/{name}/ns/mnt") != ns:
                    continue
                with open(f"/proc/{name}/comm") as f:
                    if f.read().strip() in HELPERS:
                        continue
                with open(f"/proc/{name}/smaps_rollup") as f:
                    for line in f:
                        if line.startswith("Pss:"):
                            pss += int(line.split()[1])
                        elif line.startswith("Rss:"):
                            rss += int(line.split()[1])
                procs += 1
            except (OSError, ValueError):
                continue  # gone meanwhile, or a kernel thread
        peak_pss = max(peak_pss, pss)
        peak_rss = max(peak_rss, rss)
        peak_procs = max(peak_procs, procs)
        if first:
            with open(args.ready, "w") as f:
                f.write("1\n")
            first = False
        time.sleep(args.interval)
    with open(args.out, "w") as f:
        f.write(f"{peak_pss} {peak_rss} {peak_procs}\n")


if __name__ == "__main__":
    sys.exit(main())
