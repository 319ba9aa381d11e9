#!/usr/bin/env python3
"""
The command line: -t, -V, -h and configuration errors, as the user sees
them (no root needed: nothing is started).

- -t on valid configurations (an empty object, contrib/sluice.json,
  PythTRT's README example byte for byte, every key at once, "listen")
  exits 0 and prints "sluiced: FILE: configuration OK" on stdout only;
- -t on invalid ones exits 1 with exactly "sluiced: FILE: <path>:
  <problem>" on stderr and nothing on stdout: a port 70000 in a link, an
  unknown key (top level and nested), bad JSON, wrong types, an unknown
  strategy, an unknown user, a broken via chain;
- -t checks the chroot directory as start-up does (chroot /tmp, mode
  1777, is refused with the message -c gives; a directory start-up could
  not create is refused; one it would create is not created by -t);
- a missing file exits 1 and names the file and the error;
- -V prints "sluiced <version>" (plus the test-hooks notice in such a
  build), -h prints the usage and exits 0; no -c, stray arguments or an
  unknown option exit 1 with the usage on stderr.
"""
import json
import os
import re
import subprocess

import sltest as t

PYTHTRT_EXAMPLE = t.PYTHTRT_EXAMPLE


FULL = {
    "domain": "127.0.0.1", "port": 1080, "timeout": 5, "max_threads": 200,
    "workers": 2, "user": "nobody", "chroot": "/var/empty",
    "shutdown_timeout": 10, "log_level": "debug", "idle_timeout": 300,
    "splice": False, "resolve_timeout": 5, "nameservers": ["127.0.0.1:53"],
    "balancer": {"strategy": "round_robin", "links": [
        {"name": "direct", "protocol": "direct"},
        {"name": "inner", "protocol": "socks5", "domain": "127.0.0.1",
         "port": 1082},
        {"name": "up", "protocol": "socks5", "domain": "127.0.0.1",
         "port": 1081, "username": "u", "password": "p", "via": "inner"}]},
}

BAD = [
    ('{"balancer": {"links": [{"name": "direct"}, {"protocol": "socks5", '
     '"domain": "127.0.0.1", "port": 70000}]}}',
     "balancer.links[1].port: 70000 is not a port (1-65535)"),
    ('{"fooo": 1}', "fooo: unknown key"),
    ('{"balancer": {"links": [{"name": "a", "colour": "red"}]}}',
     "balancer.links[0].colour: unknown key"),
    ('{"port": 1,}', "config: invalid JSON near byte 11"),
    ('', "config: invalid JSON near byte 0"),
    ('[]', "config: expected an object, got array"),
    ('{"port": "1080"}', "port: expected a number, got string"),
    ('{"splice": 1}', "splice: expected a boolean, got number"),
    ('{"balancer": {"links": {}}}',
     "balancer.links: expected an array, got object"),
    ('{"port": 70000}', "port: 70000 is not a port (1-65535)"),
    ('{"balancer": {"strategy": "fast"}}',
     'balancer.strategy: "fast" is not one of round_robin, random_link, '
     'least_connections, failover, fastest'),
    ('{"balancer": {"links": [{"protocol": "socks5", "domain": "h", '
     '"port": 1, "via": "nope"}]}}',
     'balancer.links[0].via: no link named "nope"'),
    ('{"user": "no-such-user-sluice-it"}',
     'user: unknown user "no-such-user-sluice-it"'),
    ('{"user": "root"}',
     'user: "root" has uid or gid 0; children must not run as root'),
    ('{"chroot": "var/empty"}', 'chroot: "var/empty" is not an absolute path'),
]


def sluiced(*args):
    return subprocess.run([t.sluiced_path()] + list(args),
                          capture_output=True, text=True, timeout=20,
                          stdin=subprocess.DEVNULL)


def describe(r):
    return "exit %d, stdout %r, stderr %r" % (r.returncode, r.stdout,
                                              r.stderr)


def main():
    tmp = t.mkdtemp()

    def write(name, text):
        p = os.path.join(tmp, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    t.step("valid configurations")
    contrib = os.path.join(t.source_dir(), "contrib", "sluice.json")
    t.check(os.path.isfile(contrib), "%s is missing" % contrib)
    good = [
        write("empty.json", "{}"),
        contrib,
        write("pythtrt.json", PYTHTRT_EXAMPLE),
        write("full.json", json.dumps(FULL, indent=2)),
        write("listen.json", json.dumps({"listen": ["127.0.0.1:1080",
                                                    "[::1]:1080"]})),
    ]
    for p in good:
        r = sluiced("-t", "-c", p)
        t.check(r.returncode == 0 and
                r.stdout == "sluiced: %s: configuration OK\n" % p and
                r.stderr == "",
                "-t on valid %s: %s" % (os.path.basename(p), describe(r)))

    t.step("invalid configurations: exit 1 and the exact message")
    for i, (text, msg) in enumerate(BAD):
        p = write("bad%d.json" % i, text)
        r = sluiced("-t", "-c", p)
        want = "sluiced: %s: %s\n" % (p, msg)
        t.check(r.returncode == 1 and r.stderr == want and r.stdout == "",
                "-t on %r: want exit 1 and stderr %r; got %s"
                % (text, want, describe(r)))
        # Without -t the same file must be refused the same way, before
        # anything starts.
        if i < 3:
            r = sluiced("-c", p)
            t.check(r.returncode == 1 and r.stderr == want,
                    "starting with %r: want exit 1 and stderr %r; got %s"
                    % (text, want, describe(r)))

    t.step("-t runs start-up's checks: the chroot directory")
    st = os.stat("/tmp")
    if st.st_uid == 0 and st.st_mode & 0o7777 == 0o1777:
        p = write("chroot_tmp.json", json.dumps({"chroot": "/tmp"}))
        r = sluiced("-t", "-c", p)
        t.check(r.returncode == 1 and r.stdout == "" and
                r.stderr.startswith("sluiced: %s: chroot: /tmp: " % p) and
                "writable" in r.stderr,
                "-t with chroot /tmp (mode 1777): %s" % describe(r))
        if os.geteuid() == 0:
            # Start-up refuses it before binding anything: same words.
            c = sluiced("-c", p)
            t.check(c.returncode == 1 and c.stderr == r.stderr,
                    "-c with chroot /tmp: want exit 1 and stderr %r; got %s"
                    % (r.stderr, describe(c)))
    missing = os.path.join(tmp, "no-such-dir", "empty")
    p = write("chroot_noparent.json", json.dumps({"chroot": missing}))
    r = sluiced("-t", "-c", p)
    want = "sluiced: %s: chroot: mkdir %s: No such file or directory\n" % (
        p, missing)
    t.check(r.returncode == 1 and r.stderr == want and r.stdout == "",
            "-t with a chroot start-up cannot create: want %r; got %s"
            % (want, describe(r)))
    # Start-up would create a missing chroot directory: -t only checks.
    missing = os.path.join(tmp, "chroot-to-be")
    p = write("chroot_missing.json", json.dumps({"chroot": missing}))
    r = sluiced("-t", "-c", p)
    t.check(r.returncode == 0 and r.stderr == "",
            "-t with a chroot start-up would create: %s" % describe(r))
    t.check(not os.path.exists(missing), "-t created %s" % missing)

    t.step("missing file")
    p = os.path.join(tmp, "does-not-exist.json")
    r = sluiced("-t", "-c", p)
    t.check(r.returncode == 1 and
            r.stderr == "sluiced: %s: No such file or directory\n" % p and
            r.stdout == "", "missing file: %s" % describe(r))
    r = sluiced("-t", "-c", tmp)
    t.check(r.returncode == 1 and r.stderr.startswith("sluiced: %s: " % tmp),
            "directory as config: %s" % describe(r))

    t.step("-V, -h and usage errors")
    version = os.environ.get("SLUICE_VERSION", "0.1.0")
    r = sluiced("-V")
    t.check(r.returncode == 0 and re.fullmatch(
        r"sluiced %s( \(test hooks enabled: not for production\))?\n"
        % re.escape(version), r.stdout) and r.stderr == "",
        "-V: %s" % describe(r))
    if os.environ.get("SLUICE_TEST_HOOKS") in ("true", "false"):
        hooks = os.environ["SLUICE_TEST_HOOKS"] == "true"
        t.check_eq("test hooks enabled" in r.stdout, hooks,
                   "-V mentions test hooks (build option test_hooks=%s)"
                   % os.environ["SLUICE_TEST_HOOKS"])
    r = sluiced("-h")
    t.check(r.returncode == 0 and r.stdout.startswith("usage: sluiced") and
            "-c file" in r.stdout and r.stderr == "", "-h: %s" % describe(r))
    for args in ([], ["-t"], ["-c", good[0], "extra"], ["-x"], ["-c"]):
        r = sluiced(*args)
        t.check(r.returncode == 1 and "usage: sluiced" in r.stderr and
                r.stdout == "", "sluiced %s: want exit 1 with the usage on "
                "stderr; got %s" % (" ".join(args), describe(r)))


t.run(main, needs_root=False)
