#!/usr/bin/env python3
"""Build crane86's test initramfs: a gzip-compressed "newc" cpio archive
holding a static busybox, its applet links and an /init script.

Needs no root and no cpio(1): device nodes and ownership are written
straight into the archive headers. The output is reproducible (fixed
mtimes, sorted entries, gzip header without a timestamp).

Usage: mkinitramfs.py --busybox PATH --init PATH --out PATH
"""
import argparse
import gzip
import os
import subprocess
import sys

S_IFDIR = 0o040000
S_IFREG = 0o100000
S_IFLNK = 0o120000
S_IFCHR = 0o020000

# Directories every boot needs (mount points and where applets live).
DIRS = ["bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev", "proc", "sys",
        "tmp", "root", "etc", "mnt", "var", "run"]


class Newc:
    """Writes entries in the SVR4 "new ASCII" cpio format (magic 070701)."""

    def __init__(self, mtime):
        self.out = bytearray()
        self.ino = 1
        self.mtime = mtime

    def _pad4(self):
        self.out += b"\0" * (-len(self.out) % 4)

    def entry(self, name, mode, data=b"", rdev=(0, 0), nlink=1):
        name_b = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, nlink, self.mtime, len(data), 0, 0,
                  rdev[0], rdev[1], len(name_b), 0]
        self.ino += 1
        self.out += b"070701" + b"".join(b"%08X" % f for f in fields)
        self.out += name_b
        self._pad4()
        self.out += data
        self._pad4()

    def trailer(self):
        self.entry("TRAILER!!!", 0, nlink=1)
        self.ino = 0
        return bytes(self.out)


def host_applet_list(busybox):
    """Applet paths ("bin/ls", "usr/sbin/chroot", ...) from running the
    busybox binary on the host; empty when it cannot run here (another CPU
    architecture, no 32-bit support). /init then installs the links at boot."""
    try:
        res = subprocess.run([busybox, "--list-full"], capture_output=True,
                             timeout=20, check=True)
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip().lstrip("/") for line in res.stdout.decode().splitlines()
            if line.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--busybox", required=True)
    ap.add_argument("--init", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))

    with open(args.busybox, "rb") as f:
        busybox = f.read()
    with open(args.init, "rb") as f:
        init = f.read()

    names = set()
    entries = []  # (name, mode, data, rdev)
    for d in DIRS:
        entries.append((d, S_IFDIR | 0o755, b"", (0, 0)))
        names.add(d)
    entries.append(("dev/console", S_IFCHR | 0o600, b"", (5, 1)))
    entries.append(("dev/ttyS0", S_IFCHR | 0o600, b"", (4, 64)))
    entries.append(("dev/null", S_IFCHR | 0o666, b"", (1, 3)))
    entries.append(("bin/busybox", S_IFREG | 0o755, busybox, (0, 0)))
    entries.append(("bin/sh", S_IFLNK | 0o777, b"busybox", (0, 0)))
    entries.append(("init", S_IFREG | 0o755, init, (0, 0)))
    names.update(e[0] for e in entries)

    applets = host_applet_list(args.busybox)
    for path in sorted(set(applets)):
        if path in names or ".." in path.split("/"):
            continue
        parent = os.path.dirname(path)
        if parent and parent not in names:
            entries.append((parent, S_IFDIR | 0o755, b"", (0, 0)))
            names.add(parent)
        entries.append((path, S_IFLNK | 0o777, b"/bin/busybox", (0, 0)))
        names.add(path)

    # Parents before children: sort by path, directories come first by
    # construction of DIRS and the parent insertion above.
    archive = Newc(mtime)
    for name, mode, data, rdev in entries:
        archive.entry(name, mode, data, rdev, nlink=2 if (mode & 0o170000) == S_IFDIR else 1)
    raw = archive.trailer()
    with open(args.out, "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as gz:
            gz.write(raw)
    print(f"initramfs: {len(entries)} entries, {len(applets)} applet links "
          f"{'(from the host)' if applets else '(made by /init at boot)'}, "
          f"{os.path.getsize(args.out)} bytes -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
