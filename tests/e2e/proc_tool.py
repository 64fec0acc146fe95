"""relayq e2e: process and maildrop helpers for the scripts that kill or
stop submitters and their drop helpers (priv_hostile.sh,
hostile_maildrop.sh). Imported, never run: the scripts put
RELAYQ_E2E_DIR on sys.path. Every wait is bounded."""
import os
import time


def as_user(user):
    """The command prefix that runs a program as user (own groups only)."""
    return ["setpriv", "--reuid=" + user, "--regid=" + user,
            "--init-groups", "--"]


def _stat_fields(pid):
    with open("/proc/%s/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()


def children(pid):
    """The pids whose parent is pid."""
    kids = []
    for d in os.listdir("/proc"):
        try:
            if d.isdigit() and int(_stat_fields(d)[1]) == pid:
                kids.append(int(d))
        except (OSError, ValueError, IndexError):
            pass
    return kids


def alive(pid):
    """pid exists and is not a zombie."""
    try:
        return _stat_fields(pid)[0] != "Z"
    except (OSError, IndexError):
        return False


def new_entries(md, before, secs=10):
    """Names in md not in before, once there are some (or [] after secs)."""
    new = []
    for _ in range(int(secs * 20)):
        new = sorted(set(os.listdir(md)) - before)
        if new:
            break
        time.sleep(0.05)
    return new


def wait_dead(pids, secs=5):
    """Wait until none of pids is alive (at most secs)."""
    for _ in range(int(secs * 20)):
        if not any(alive(p) for p in pids):
            return
        time.sleep(0.05)
