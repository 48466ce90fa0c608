#!/usr/bin/env python3
"""Print the Debian mirror URIs the host's apt uses for a suite.

Reads /etc/apt/sources.list and /etc/apt/sources.list.d/ (both the one-line
".list" format and the deb822 ".sources" format) and prints, one per line,
"MAIN_URI SECURITY_URI": the first "deb" source that carries SUITE (e.g.
bookworm) and the first that carries SUITE-security. A missing one prints
"-". Nothing here changes the host's configuration; it only reads it.

Usage: find-mirror.py SUITE [APT_ETC_DIR]
"""
import glob
import os
import sys


def one_line_entries(path):
    """Yield (types, uris, suites) from a one-line sources.list file."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            words = line.split()
            kind = words[0]
            rest = words[1:]
            # Options in brackets: "[arch=amd64 signed-by=...]", possibly
            # spread over several words.
            if rest and rest[0].startswith("["):
                while rest and not rest[0].endswith("]"):
                    rest = rest[1:]
                rest = rest[1:]
            if len(rest) < 2:
                continue
            yield [kind], [rest[0]], [rest[1]]


def deb822_entries(path):
    """Yield (types, uris, suites) from a deb822 .sources file."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    for stanza in text.split("\n\n"):
        fields = {}
        key = None
        for line in stanza.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0] in " \t" and key:
                fields[key] += " " + line.strip()
                continue
            if ":" not in line:
                continue
            key, value = line.split(":", 1)
            key = key.strip().lower()
            fields[key] = value.strip()
        if fields.get("enabled", "yes").lower() == "no":
            continue
        if "uris" in fields and "suites" in fields:
            yield (fields.get("types", "deb").split(), fields["uris"].split(),
                   fields["suites"].split())


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    suite = sys.argv[1]
    etc = sys.argv[2] if len(sys.argv) > 2 else "/etc/apt"
    files = []
    main_list = os.path.join(etc, "sources.list")
    if os.path.isfile(main_list):
        files.append(main_list)
    files += sorted(glob.glob(os.path.join(etc, "sources.list.d", "*.list")))
    files += sorted(glob.glob(os.path.join(etc, "sources.list.d", "*.sources")))
    found = {suite: None, suite + "-security": None}
    for path in files:
        try:
            entries = list(deb822_entries(path) if path.endswith(".sources")
                           else one_line_entries(path))
        except OSError:
            continue
        for types, uris, suites in entries:
            if "deb" not in types:
                continue
            for s in suites:
                s = s.rstrip("/")
                if s in found and found[s] is None and uris:
                    found[s] = uris[0].rstrip("/")
    print(found[suite] or "-", found[suite + "-security"] or "-")
    return 0


if __name__ == "__main__":
    sys.exit(main())
