#!/usr/bin/env bash
# Assemble crane86's firmware: the BIOS ROM and the demo disk image.
# Both outputs are committed, so the Rust build needs no assembler; the
# firmware crate's tests re-assemble them and fail when they are stale.
#   firmware/bios/bios.asm  -> firmware/bios.bin  (64 KiB ROM)
#   firmware/demo/demo.asm  -> firmware/demo.img  (raw disk image)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v nasm >/dev/null 2>&1; then
    echo "nasm not found: install it (apt-get install nasm)" >&2
    exit 1
fi
nasm -f bin -I firmware/bios/ -o firmware/bios.bin firmware/bios/bios.asm
nasm -f bin -I firmware/demo/ -o firmware/demo.img firmware/demo/demo.asm
ls -l firmware/bios.bin firmware/demo.img
