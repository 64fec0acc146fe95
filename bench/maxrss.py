#!/usr/bin/python3
"""maxrss.py OUTFILE CMD...: run CMD, write its peak RSS in KB to OUTFILE.

Fallback for bench/run.sh when GNU time (/usr/bin/time) is not installed.  Like GNU
time, reports ru_maxrss from wait4(): the max over the process and the descendants
it waited for.  Exit status is CMD's.
"""
import os
import sys

pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(f"{usage.ru_maxrss}\n")
sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)
