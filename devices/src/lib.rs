//! PC device models. Each device is a plain struct holding its registers as
//! fields, with a port (or MMIO) read/write pair and IRQ outputs; none of them
//! knows about the CPU. The board (`src/` of the root crate) wires them to
//! the I/O bus and to the interrupt controller.
//!
//! Conventions shared by every model here:
//! - a guest access never panics: reserved bits, out-of-range values and
//!   accesses of odd sizes do what the hardware does (usually: ignored, or
//!   split into byte accesses the way the ISA bus splits them);
//! - IRQ outputs are levels the board polls (`irq_level()`) after an access
//!   or a tick and forwards to the interrupt controller;
//! - time-driven devices have `tick(now_ns)` and `next_deadline()`, in the
//!   board's virtual nanoseconds.

pub mod acpi_pm;
pub mod ata;
pub mod cmos;
pub mod debug_exit;
pub mod debugcon;
pub mod i8042;
pub mod pci;
pub mod pic8259;
pub mod pit8254;
pub mod port92;
pub mod post;
pub mod uart16550;
pub mod vga;

pub use acpi_pm::AcpiPm;
pub use ata::{AtaChannel, BlockBackend, FileDisk, MemDisk};
pub use cmos::Mc146818;
pub use debug_exit::IsaDebugExit;
pub use debugcon::DebugCon;
pub use i8042::{Key, I8042};
pub use pci::{PciBus, PciFunction};
pub use pic8259::Pic8259Pair;
pub use pit8254::Pit8254;
pub use port92::SystemControlPortA;
pub use post::PostPort;
pub use uart16550::Uart16550;
pub use vga::{Frame, Vga};

/// Where a character device sends its output (a terminal, a log file...).
pub type Sink = Box<dyn std::io::Write + Send>;

/// A device reached through x86 I/O ports.
///
/// `port` is the absolute port number; `size` is 1, 2 or 4 bytes. `now_ns`
/// is the board's virtual clock, for devices whose state depends on time
/// (a device that does not care ignores it).
pub trait PortDevice {
    fn port_read(&mut self, port: u16, size: u8, now_ns: u64) -> u32;
    fn port_write(&mut self, port: u16, size: u8, value: u32, now_ns: u64);
}

/// Number of bytes in an access, forced into 1..=4 so that a bogus size
/// from the board can never index out of range.
fn access_len(size: u8) -> u16 {
    u16::from(size.clamp(1, 4))
}

/// A wide access to an 8-bit device: the ISA bus turns it into byte
/// accesses on consecutive ports, lowest port in the lowest byte.
pub(crate) fn split_read(port: u16, size: u8, mut read8: impl FnMut(u16) -> u8) -> u32 {
    let mut value = 0u32;
    for i in 0..access_len(size) {
        value |= u32::from(read8(port.wrapping_add(i))) << (8 * i);
    }
    value
}

/// Write counterpart of [`split_read`].
pub(crate) fn split_write(port: u16, size: u8, value: u32, mut write8: impl FnMut(u16, u8)) {
    for i in 0..access_len(size) {
        write8(port.wrapping_add(i), (value >> (8 * i)) as u8);
    }
}

/// Mask for the low `size` bytes of a port value.
pub(crate) fn size_mask(size: u8) -> u32 {
    match access_len(size) {
        1 => 0xFF,
        2 => 0xFFFF,
        3 => 0xFF_FFFF,
        _ => 0xFFFF_FFFF,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_read_orders_bytes_little_endian() {
        let v = split_read(0x10, 4, |p| p as u8);
        assert_eq!(v, 0x1312_1110);
        assert_eq!(split_read(0x10, 1, |p| p as u8), 0x10);
        // A nonsense size is clamped, never out of range.
        assert_eq!(split_read(0x10, 0, |p| p as u8), 0x10);
        assert_eq!(split_read(0x10, 9, |p| p as u8), 0x1312_1110);
    }

    #[test]
    fn split_write_hands_out_each_byte() {
        let mut seen = Vec::new();
        split_write(0xFFFF, 2, 0xBEEF, |p, b| seen.push((p, b)));
        assert_eq!(seen, vec![(0xFFFF, 0xEF), (0x0000, 0xBE)]);
    }
}
