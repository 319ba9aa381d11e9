"""
The basics of sltest (the integration tests' harness): failing and
skipping, waiting on a condition with a deadline, cleanups, temporary
directories, free ports and what the build and the machine offer.
sltest re-exports all of it; tests import sltest only.
"""

import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time



SKIP = 77
WATCHDOG_S = 100            # meson's timeout is 120 s: clean up before it

_T0 = time.monotonic()
_cleanups = []              # callables, run last-in first-out
_daemons = []               # every Sluiced, for the logs on failure
_used_ports = set()


class Fail(Exception):
    """A test assertion failed."""


class Skip(Exception):
    """The test cannot run here (exit 77)."""


# --------------------------------------------------------------------------
# basics

def step(msg):
    print("[%6.2f] %s" % (time.monotonic() - _T0, msg), flush=True)


def check(cond, msg):
    if not cond:
        raise Fail(msg)
    return cond


def check_eq(got, want, what):
    if got != want:
        raise Fail("%s: got %r, want %r" % (what, got, want))


def wait_until(pred, timeout, what, interval=0.02):
    """Poll pred() until it returns something true; return that value.

    Raises Fail("timed out after N s waiting for <what>") at the deadline.
    """
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise Fail("timed out after %.1f s waiting for %s"
                       % (timeout, what))
        time.sleep(interval)


def at_exit(fn):
    _cleanups.append(fn)
    return fn


def mkdtemp():
    d = tempfile.mkdtemp(prefix="sluice-it-")
    # Like /var: the confined children must be able to use the path
    # below their chroot even if a later version chroots after setuid.
    os.chmod(d, 0o755)
    if not os.environ.get("SLUICE_IT_KEEP"):
        at_exit(lambda: shutil.rmtree(d, ignore_errors=True))
    return d


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def free_port(host="127.0.0.1"):
    """A port that was free a moment ago, never the same one twice.

    sluiced binds with SO_REUSEPORT, so two daemons handed the same port
    would silently share connections: never hand a port out twice.
    """
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(64):
        s = socket.socket(fam, socket.SOCK_STREAM)
        try:
            s.bind((host, 0))
            port = s.getsockname()[1]
        finally:
            s.close()
        if port not in _used_ports:
            _used_ports.add(port)
            return port
    raise Fail("no free port found")


def have_ipv6():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        return False
    try:
        s.bind(("::1", 0))
        s.listen(1)
        c = socket.create_connection(("::1", s.getsockname()[1]), timeout=2)
        c.close()
        return True
    except OSError:
        return False
    finally:
        s.close()


def sluiced_path():
    p = os.environ.get("SLUICED")
    if not p:
        raise Fail("SLUICED is not set (run through meson test, or set "
                   "SLUICED=/path/to/sluiced)")
    if not os.access(p, os.X_OK):
        raise Fail("SLUICED=%s is not an executable" % p)
    return p


def version_output():
    r = subprocess.run([sluiced_path(), "-V"], capture_output=True,
                       timeout=10, text=True)
    return r


def has_test_hooks():
    return "test hooks enabled" in version_output().stdout


def require_root():
    if os.geteuid() != 0:
        raise Skip("needs root (sluiced chroots and changes uid)")


def require_test_hooks():
    if not has_test_hooks():
        raise Skip("sluiced was built without -Dtest_hooks=true")


def source_dir():
    """Top of the source tree: $SLUICE_SRCDIR (meson sets it), else
    relative to this file (tests/integration/sltest.py)."""
    if os.environ.get("SLUICE_SRCDIR"):
        return os.environ["SLUICE_SRCDIR"]
    return os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))


def require_tool(name):
    """Skip (77) unless the program name is installed."""
    if shutil.which(name) is None:
        raise Skip("%s is not installed" % name)
