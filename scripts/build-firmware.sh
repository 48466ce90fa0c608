#!/usr/bin/env bash
# Assemble crane86's firmware: the BIOS ROM and the demo disk image.
# Both outputs are committed, so the Rust build needs no assembler; the
# firmware crate's tests re-assemble them and fail when they are stale.
#   firmware/bios/bios.asm  -> firmware/bios.bin  (64 KiB ROM)
#   firmware/demo/demo.asm  -> firmware/demo.img  (raw disk image)
# The BIOS incbins firmware/bios/font8x16.bin, the VGA model's text font,
# which is generated (and checked) by firmware/tests/font.rs:
#   CRANE86_WRITE_FONT=1 cargo test -p crane86-firmware --test font
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v nasm >/dev/null 2>&1; then
    echo "nasm not found: install it (apt-get install nasm)" >&2
    exit 1
fi
nasm -f bin -I firmware/bios/ -o firmware/bios.bin firmware/bios/bios.asm
nasm -f bin -I firmware/demo/ -o firmware/demo.img firmware/demo/demo.asm
ls -l firmware/bios.bin firmware/demo.img
