#!/usr/bin/env python3
"""
The man pages cannot drift from the code (no root needed, nothing runs):

- sluice.json(5) documents exactly the keys the loader accepts: every
  name in each `static const struct keydef NAME[]` table of
  policy/config*.c, and in each `keys[]` list of the tcprouter TOML
  mapping (policy/config_tcprouter.c), is an `.It Ic NAME` entry in the
  page's `.Ss` section for that object, and every entry of those sections
  is a key of its tables.  A keydef table this test does not know about
  fails too, so a new object gets a section;
- sluicectl(8) has an `.It Cm WORD` entry for every command word of
  ctl/sluicectl.c's command table, and mentions each option;
- all three pages render with groff -ww without a warning.
"""
import glob
import os
import re
import shutil
import subprocess

import sltest as t

# .Ss title in sluice.json.5 -> the key tables it documents.
SECTIONS = {
    "Root object": ["config.c:root_keys"],
    "Listeners": ["config_listen.c:listener_keys"],
    "Tunnel agents": ["config_tunnel.c:cred_keys"],
    "Agent": ["config_tunnel.c:agent_keys"],
    "Agent allow": ["config_tunnel.c:allow_keys"],
    "Users": ["config_listen.c:user_keys"],
    "Limits": ["config_limits.c:limit_keys"],
    "Bandwidth": ["config_limits.c:bw_keys"],
    "Balancer": ["config.c:balancer_keys"],
    "Links": ["config_link.c:link_keys"],
    "Health check": ["config_link.c:check_keys"],
    "Matchers": ["config_match.c:matcher_keys"],
    "Services": ["config_service.c:service_keys"],
    "Database backend": ["config_service.c:db_keys"],
    "Taps": ["config_taps.c:tap_keys"],
    "TcpRoute multipath": ["config_tcproute.c:multipath_keys"],
    "TcpRoute direct": ["config_tcproute.c:direct_keys"],
    "TcpRoute socks5": ["config_tcproute.c:socks5_keys"],
    "tcprouter [server]": ["config_tcprouter.c:tr_server"],
    "tcprouter [server.dbbackend]": ["config_tcprouter.c:tr_dbbackend"],
    "tcprouter [server.services]": ["config_tcprouter.c:tr_services"],
}

KEYDEF_RE = re.compile(
    r"static const struct keydef\s+(\w+)\[\]\s*=\s*\{(.*?)\n\};", re.S)
# `[X] = { "name", K_...` or `{ "name", K_...`
KEYDEF_ENTRY_RE = re.compile(r"\{\s*\"([^\"]+)\"\s*,\s*K_")
# A function of config_tcprouter.c, then its accepted keys, a list ended
# by NULL: `keys[] = { "a", ..., NULL }` (other keys[] arrays are not).
FUNC_RE = re.compile(r"^(\w+)\(", re.M)
KEYLIST_RE = re.compile(
    r"static const char \*const keys\[\]\s*=\s*\{([^}]*?),\s*NULL\s*\};",
    re.S)

# sluicectl option -> how its .It entry spells it.
SLUICECTL_OPTIONS = {"-s": ".It Fl s Ar", "--json": ".It Fl Fl json",
                     "-t": ".It Fl t Ar", "-h": ".It Fl h"}


def loader_tables(src):
    """{"file.c:table": [names]} from the loader's sources."""
    tables = {}
    for path in sorted(glob.glob(os.path.join(src, "policy", "config*.c"))):
        base = os.path.basename(path)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for m in KEYDEF_RE.finditer(text):
            names = KEYDEF_ENTRY_RE.findall(m.group(2))
            t.check(names, "%s: table %s has no keys I can read"
                    % (base, m.group(1)))
            tables["%s:%s" % (base, m.group(1))] = names
        if base != "config_tcprouter.c":
            continue
        for m in KEYLIST_RE.finditer(text):
            funcs = FUNC_RE.findall(text, 0, m.start())
            t.check(funcs, "%s: keys[] outside a function" % base)
            names = re.findall(r"\"([^\"]+)\"", m.group(1))
            tables["%s:%s" % (base, funcs[-1])] = names
    return tables


def page_sections(path):
    """{".Ss title": [.It Ic names]} of an mdoc page."""
    sections, cur = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith(".Ss "):
                cur = line[4:].strip()
                t.check(cur not in sections, "%s: section %r twice"
                        % (path, cur))
                sections[cur] = []
            elif line.startswith(".Sh "):
                cur = None
            elif line.startswith(".It Ic "):
                t.check(cur is not None, "%s: key entry %r outside a key "
                        "section" % (path, line))
                sections[cur].append(line.split()[2])
    return sections


def check_config_page(src, problems):
    tables = loader_tables(src)
    page = os.path.join(src, "doc", "sluice.json.5")
    sections = page_sections(page)
    known = {tab for tabs in SECTIONS.values() for tab in tabs}
    for tab in sorted(set(tables) - known):
        problems.append("loader table %s has no section in sluice.json.5 "
                        "(add it to SECTIONS and to the page)" % tab)
    nkeys = 0
    for title, tabs in SECTIONS.items():
        want = set()
        for tab in tabs:
            if tab not in tables:
                problems.append("loader table %s not found (renamed?)" % tab)
                continue
            want |= set(tables[tab])
        if title not in sections:
            problems.append("sluice.json.5 has no .Ss %s" % title)
            continue
        got = sections[title]
        nkeys += len(got)
        for k in sorted(want - set(got)):
            problems.append("sluice.json.5, %s: key %s is not documented"
                            % (title, k))
        for k in sorted(set(got) - want):
            problems.append("sluice.json.5, %s: documents %s, which the "
                            "loader does not have" % (title, k))
        dups = sorted({k for k in got if got.count(k) > 1})
        if dups:
            problems.append("sluice.json.5, %s: %s documented twice"
                            % (title, ", ".join(dups)))
    for title in sorted(set(sections) - set(SECTIONS)):
        if sections[title]:
            problems.append("sluice.json.5: section %s documents keys of "
                            "no loader table" % title)
    t.step("sluice.json.5: %d key entries in %d sections checked against "
           "%d loader tables" % (nkeys, len(SECTIONS), len(tables)))


def check_sluicectl_page(src, problems):
    with open(os.path.join(src, "ctl", "sluicectl.c"),
              encoding="utf-8") as f:
        code = f.read()
    table = re.search(r"commands\[\]\s*=\s*\{(.*?)\n\};", code, re.S)
    t.check(table, "ctl/sluicectl.c: no commands[] table")
    words = re.findall(r"\{\s*\"(\w+)\",", table.group(1))
    t.check(len(words) >= 9, "ctl/sluicectl.c: only %d commands read"
            % len(words))
    with open(os.path.join(src, "doc", "sluicectl.8"),
              encoding="utf-8") as f:
        page = f.read()
    entries = set(re.findall(r"^\.It Cm (\w+)", page, re.M))
    for w in words:
        if w not in entries:
            problems.append("sluicectl.8: command %s has no .It Cm entry"
                            % w)
    for opt, mdoc in SLUICECTL_OPTIONS.items():
        if mdoc not in page:
            problems.append("sluicectl.8: option %s has no %r entry"
                            % (opt, mdoc))
    t.step("sluicectl.8: %d commands checked" % len(words))


def check_render(src, problems):
    if shutil.which("groff") is None:
        raise t.Skip("groff is not installed")
    for name in ("sluicectl.8", "sluiced.8", "sluice.json.5"):
        path = os.path.join(src, "doc", name)
        r = subprocess.run(["groff", "-mdoc", "-ww", "-z", path],
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, LC_ALL="C"))
        if r.returncode != 0 or r.stderr.strip():
            problems.append("%s: groff -mdoc -ww: rc %d: %s"
                            % (name, r.returncode, r.stderr.strip()))
        r = subprocess.run(["groff", "-mdoc", "-Tutf8", path],
                           capture_output=True, timeout=60)
        if r.returncode != 0 or len(r.stdout) < 500:
            problems.append("%s: renders to %d bytes" % (name, len(r.stdout)))
    t.step("groff -mdoc -ww: 3 pages rendered")


def main():
    src = t.source_dir()
    problems = []
    check_config_page(src, problems)
    check_sluicectl_page(src, problems)
    check_render(src, problems)
    for p in problems:
        print("  " + p, flush=True)
    t.check(not problems, "%d problem(s) in the man pages" % len(problems))


t.run(main, needs_root=False)
