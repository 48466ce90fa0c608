//! crane86's firmware images, built from the NASM sources in this crate.
//!
//! - [`BIOS`]: the 64 KiB BIOS ROM (`bios/*.asm`). The board maps it at
//!   `0xF0000..=0xFFFFF` and again at `0xFFFF0000..=0xFFFFFFFF`; the CPU
//!   starts at its reset vector `F000:FFF0`. It runs POST (including PCI
//!   set-up, ACPI tables: RSDP, RSDT, FADT, FACS, DSDT with `\_S5`,
//!   MADT, and SMBIOS 2.8 tables), offers the PC BIOS services (INT 10h
//!   video: text echoed to COM1, an 8x16 font loaded into plane 2 on every
//!   text-mode set, modes 12h/13h and VBE 2.0 over the Bochs VBE ports; INT 13h
//!   disk over ATA PIO, INT 15h memory map, INT 16h keyboard from the
//!   i8042 or COM1, INT 1Ah clock, ...) and boots disk 80h through INT 19h
//!   (or, with CMOS 0x5F bit 1, jumps to a stub the board placed at
//!   `0:7C00`).
//! - [`DEMO_DISK`]: a raw 64 KiB disk image (`demo/demo.asm`) whose boot
//!   sector loads a small guest that prints what the machine offers (memory
//!   map, disk, clock, CPU), runs a prime sieve and an ASCII Mandelbrot,
//!   shows the mode 13h palette when a window is attached (CMOS 0x5F
//!   bit 0), prints `Demo finished.` and halts with interrupts off.
//!
//! Both binaries are committed next to their sources so that building
//! crane86 needs only the Rust toolchain. `scripts/build-firmware.sh`
//! regenerates them; this crate's tests re-assemble the sources and fail
//! when a committed image is stale.
//!
//! What the BIOS expects of the board (ports, CMOS registers) is listed in
//! `firmware/README.md`.

/// The BIOS ROM image: 64 KiB, reset vector at offset `0xFFF0`.
pub static BIOS: &[u8] = include_bytes!("../bios.bin");

/// The built-in demo guest: a raw disk image with a `55 AA` boot sector.
pub static DEMO_DISK: &[u8] = include_bytes!("../demo.img");

/// Offset of the reset vector (`F000:FFF0`) inside [`BIOS`].
pub const RESET_VECTOR_OFFSET: usize = 0xFFF0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bios_is_a_whole_number_of_64k_blocks() {
        assert!(!BIOS.is_empty());
        assert_eq!(BIOS.len() % 0x10000, 0, "BIOS size {:#x}", BIOS.len());
    }

    #[test]
    fn reset_vector_is_a_far_jump_into_the_rom() {
        let top = &BIOS[BIOS.len() - 0x10000..];
        let v = &top[RESET_VECTOR_OFFSET..];
        assert_eq!(v[0], 0xEA, "JMP FAR ptr16:16 expected at F000:FFF0");
        let offset = u16::from_le_bytes([v[1], v[2]]);
        let segment = u16::from_le_bytes([v[3], v[4]]);
        assert_eq!(segment, 0xF000, "reset jump must stay in the ROM segment");
        assert!(usize::from(offset) < RESET_VECTOR_OFFSET);
    }

    #[test]
    fn demo_disk_has_a_boot_signature() {
        assert!(DEMO_DISK.len() >= 512);
        assert_eq!(DEMO_DISK.len() % 512, 0, "a disk is whole sectors");
        assert_eq!(&DEMO_DISK[510..512], &[0x55, 0xAA]);
    }
}
