//! PC device models. Each device is a plain struct holding its registers as
//! fields, with a port (or MMIO) read/write pair and IRQ outputs; none of them
//! knows about the CPU. The board (`src/` of the root crate) wires them to
//! the I/O bus and to the interrupt controller.

/// A device reached through x86 I/O ports.
///
/// `port` is the absolute port number; `size` is 1, 2 or 4 bytes. `now_ns`
/// is the board's virtual clock, for devices whose state depends on time
/// (a device that does not care ignores it).
pub trait PortDevice {
    fn port_read(&mut self, port: u16, size: u8, now_ns: u64) -> u32;
    fn port_write(&mut self, port: u16, size: u8, value: u32, now_ns: u64);
}
