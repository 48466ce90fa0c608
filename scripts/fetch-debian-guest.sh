#!/usr/bin/env bash
# Fetches a Debian 12 (bookworm) i386 guest for crane86's Linux boot:
#   target/debian-guest/vmlinuz     Debian's linux-image-686 kernel (bzImage)
#   target/debian-guest/initrd.img  an initramfs with Debian's busybox-static
#                                   and an /init that gives a shell on the
#                                   console (scripts/debian-guest/init)
# then boot it with
#   crane86 -m 256 -nographic -serial stdio \
#       -kernel target/debian-guest/vmlinuz \
#       -initrd target/debian-guest/initrd.img -append console=ttyS0
#
# Runs on a Debian or Ubuntu host (apt-get, apt-cache, dpkg-deb, python3,
# network access to a Debian mirror); needs no root. The host's package
# configuration is left alone: apt runs with a private state, cache and
# sources list under target/debian-guest/apt/, for the i386 architecture
# only, so no foreign architecture is added and no package is installed.
#
# Environment:
#   DEBIAN_MIRROR           Debian mirror (default: the one the host's apt uses
#                           for bookworm, else http://deb.debian.org/debian)
#   DEBIAN_SECURITY_MIRROR  security mirror (default: the host's, else
#                           http://deb.debian.org/debian-security; "none" to skip)
#   DEBIAN_KEYRING          keyring that signs the archive (default:
#                           /usr/share/keyrings/debian-archive-keyring.gpg)
#   CRANE86_GUEST_DIR       output folder (default: target/debian-guest)
#
# Exit status: 0 on success, 1 when something could not be done (the
# message says what), 2 for a bad command line.
set -euo pipefail

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
}
case "${1:-}" in
    -h | --help)
        usage
        exit 0
        ;;
    "") ;;
    *)
        echo "fetch-debian-guest.sh: unknown argument '$1' (try --help)" >&2
        exit 2
        ;;
esac

root="$(cd "$(dirname "$0")/.." && pwd)"
helpers="$root/scripts/debian-guest"
out="${CRANE86_GUEST_DIR:-$root/target/debian-guest}"
suite=bookworm

say() { echo "==> $*"; }
fail() {
    echo "fetch-debian-guest.sh: $*" >&2
    exit 1
}

for tool in apt-get apt-cache dpkg-deb python3 gzip; do
    command -v "$tool" >/dev/null 2>&1 ||
        fail "'$tool' not found: this script needs a Debian or Ubuntu host (apt-get, apt-cache, dpkg-deb) and python3"
done

# ---- the mirror and the keyring ---------------------------------------------
read -r host_main host_security < <(python3 "$helpers/find-mirror.py" "$suite")
mirror="${DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
    if [ "$host_main" != "-" ]; then mirror="$host_main"; else mirror="http://deb.debian.org/debian"; fi
fi
security="${DEBIAN_SECURITY_MIRROR:-}"
if [ -z "$security" ]; then
    if [ "$host_security" != "-" ]; then
        security="$host_security"
    else
        security="http://deb.debian.org/debian-security"
    fi
fi
keyring="${DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}"
[ -r "$keyring" ] ||
    fail "Debian's archive keyring $keyring is missing: install it with 'apt-get install debian-archive-keyring' (Ubuntu has the package too) or point DEBIAN_KEYRING at it"

# ---- a private apt: state, cache, sources, preferences ----------------------
apt_dir="$out/apt"
mkdir -p "$apt_dir/state/lists/partial" "$apt_dir/cache/archives/partial" \
    "$apt_dir/etc/sources.list.d" "$apt_dir/etc/preferences.d" "$out/debs"
: >"$apt_dir/state/status"
{
    echo "deb [arch=i386 signed-by=$keyring] $mirror $suite main"
    echo "deb [arch=i386 signed-by=$keyring] $mirror $suite-updates main"
    if [ "$security" != "none" ]; then
        echo "deb [arch=i386 signed-by=$keyring] $security $suite-security main"
    fi
} >"$apt_dir/etc/sources.list"

apt_opts=(
    -o "APT::Architecture=i386"
    -o "APT::Architectures=i386"
    -o "Dir::State=$apt_dir/state"
    -o "Dir::State::Lists=$apt_dir/state/lists"
    -o "Dir::State::status=$apt_dir/state/status"
    -o "Dir::Cache=$apt_dir/cache"
    -o "Dir::Cache::archives=$apt_dir/cache/archives"
    -o "Dir::Etc::sourcelist=$apt_dir/etc/sources.list"
    -o "Dir::Etc::sourceparts=$apt_dir/etc/sources.list.d"
    -o "Dir::Etc::preferences=$apt_dir/etc/preferences"
    -o "Dir::Etc::preferencesparts=$apt_dir/etc/preferences.d"
    -o "Acquire::Languages=none"
    -o "Acquire::PDiffs=false"
)
# As root, apt drops to the _apt user to download, which may not be able to
# enter a private folder under the user's checkout; downloads then stay root.
if [ "$(id -u)" -eq 0 ]; then
    apt_opts+=(-o "APT::Sandbox::User=root")
fi

say "Debian $suite i386 package lists from $mirror${security:+ and $security} (private apt state in $apt_dir)"
apt-get "${apt_opts[@]}" -q update >"$apt_dir/update.log" 2>&1 || true
# The main suite's list is what we need; -updates and -security only bring
# newer versions, so a failure there is a warning.
if ! ls "$apt_dir/state/lists/"*"_dists_${suite}_main_binary-i386_Packages"* >/dev/null 2>&1; then
    sed 's/^/    /' "$apt_dir/update.log" | tail -n 15 >&2
    fail "could not download the Debian package lists from $mirror (no network access, a proxy needed, or the mirror is unreachable); the log is $apt_dir/update.log — set DEBIAN_MIRROR to another Debian mirror to retry"
fi
if grep -qE '^(E|W): Failed to fetch' "$apt_dir/update.log"; then
    echo "    warning: some package lists could not be fetched; using what arrived:" >&2
    grep -E '^(E|W): Failed to fetch' "$apt_dir/update.log" | cut -c1-160 | sed 's/^/    /' >&2
fi

# linux-image-686 is a metapackage: its Depends names the real kernel
# package, e.g. "linux-image-6.1.0-37-686 (= 6.1.140-1)".
meta=linux-image-686
kernel_pkg="$(apt-cache "${apt_opts[@]}" show --no-all-versions "$meta" 2>/dev/null |
    sed -n 's/^Depends: //p' | tr ',' '\n' | sed 's/^ *//; s/ .*//' |
    grep -E '^linux-image-[0-9]' | head -n 1 || true)"
[ -n "$kernel_pkg" ] || fail "could not find the kernel package $meta depends on in the $suite i386 lists"
say "kernel package: $kernel_pkg (from $meta); busybox: busybox-static"

say "downloading the packages into $out/debs"
rm -f "$out/debs"/*.deb
if ! (cd "$out/debs" && apt-get "${apt_opts[@]}" -q download "$kernel_pkg" busybox-static) \
    >"$apt_dir/download.log" 2>&1; then
    sed 's/^/    /' "$apt_dir/download.log" | tail -n 15 >&2
    fail "could not download $kernel_pkg and busybox-static from $mirror; the log is $apt_dir/download.log"
fi
ls -l "$out/debs"/*.deb | sed 's/^/    /'

say "extracting"
rm -rf "$out/kernel" "$out/busybox"
dpkg-deb -x "$out/debs/${kernel_pkg}"_*.deb "$out/kernel"
dpkg-deb -x "$out/debs"/busybox-static_*.deb "$out/busybox"
vmlinuz="$(ls "$out/kernel/boot"/vmlinuz-* 2>/dev/null | head -n 1 || true)"
[ -n "$vmlinuz" ] || fail "$kernel_pkg holds no /boot/vmlinuz-*"
cp "$vmlinuz" "$out/vmlinuz"
# The modules are not needed (the console, ACPI and initramfs support are
# built in); drop them to save space.
rm -rf "$out/kernel/lib"
bb="$out/busybox/bin/busybox"
[ -f "$bb" ] || fail "busybox-static holds no /bin/busybox"

say "building the initramfs"
python3 "$helpers/mkinitramfs.py" --busybox "$bb" --init "$helpers/init" --out "$out/initrd.img"
echo "$kernel_pkg $(basename "$vmlinuz")" >"$out/VERSION"

say "done:"
ls -l "$out/vmlinuz" "$out/initrd.img" | sed 's/^/    /'
rel="${out#"$root"/}"
cat <<EOF

Boot it (type commands at the shell; 'poweroff -f' ends the run):
    cargo run --release -- -m 256 -nographic -serial stdio \\
        -kernel $rel/vmlinuz -initrd $rel/initrd.img -append console=ttyS0
The same works with qemu-system-i386 in place of crane86.
EOF
