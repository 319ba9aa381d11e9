#!/usr/bin/env python3
"""Every JSON and TOML (tcprouter's router.toml) example in README.md, and
every config in contrib/, must load.

Runs `sluiced -t` on each; fails naming the example that does not.
"""
import os
import re
import subprocess
import sys
import tempfile

src = os.environ["SL_SRCDIR"]
sluiced = os.environ["SLUICED"]
text = open(os.path.join(src, "README.md"), encoding="utf-8").read()
blocks = re.findall(r"```json\n(.*?)```", text, re.S)
configs = [("README.md example %d" % (i + 1), b, ".json")
           for i, b in enumerate(blocks)]
configs += [("README.md TOML example %d" % (i + 1), b, ".toml")
            for i, b in enumerate(re.findall(r"```toml\n(.*?)```", text,
                                             re.S))]
contrib = os.path.join(src, "contrib")
for name in sorted(os.listdir(contrib)):
    if name.endswith(".json"):
        configs.append(("contrib/" + name,
                        open(os.path.join(contrib, name)).read(), ".json"))
if len(blocks) < 2:
    print("FAIL: expected at least 2 JSON examples in README.md, found %d"
          % len(blocks))
    sys.exit(1)
failed = 0
with tempfile.TemporaryDirectory() as d:
    for what, body, ext in configs:
        path = os.path.join(d, "example" + ext)
        # pcap tap examples write /var/log/sluice/X: -t checks that the
        # directory exists, so point them at this run's directory.
        body = body.replace('"/var/log/sluice/', '"%s/' % d)
        # Lua tap examples name /etc/sluice/X.lua: check contrib/X.lua.
        body = re.sub(r'"/etc/sluice/([\w-]+\.lua)"',
                      lambda m: '"%s"' % os.path.join(contrib, m.group(1)),
                      body)
        # Tunnel secrets: /etc/sluice/X.secret, made here (32 bytes).
        def secret(m):
            f = os.path.join(d, m.group(1))
            if not os.path.exists(f):
                with open(f, "w") as sf:
                    sf.write(os.urandom(16).hex() + "\n")
            return '"%s"' % f
        body = re.sub(r'"/etc/sluice/([\w-]+\.secret)"', secret, body)
        with open(path, "w") as f:
            f.write(body)
        r = subprocess.run([sluiced, "-t", "-c", path], capture_output=True,
                           text=True, timeout=30)
        if r.returncode != 0 or "configuration OK" not in r.stdout:
            print("FAIL: %s: rc %d: %s%s" % (what, r.returncode, r.stdout,
                                             r.stderr))
            failed += 1
        else:
            print("ok: %s" % what)
print("%d passed, %d failed" % (len(configs) - failed, failed))
sys.exit(1 if failed else 0)
