//! System Control Port A (0x92), the "fast A20 and reset" port introduced
//! by the IBM PS/2 and kept by PC chipsets: bit 1 gates address line A20,
//! bit 0 is the alternate (fast) reset. Other bits are kept as written.

use crate::{split_read, split_write, PortDevice};

/// The conventional port.
pub const PORT92: u16 = 0x92;

const FAST_RESET: u8 = 0x01;
const A20: u8 = 0x02;

/// System Control Port A.
#[derive(Debug, Default)]
pub struct SystemControlPortA {
    value: u8,
    /// Set when the guest requests a CPU reset; the board polls and clears
    /// it (and then calls `reset`).
    pub reset_requested: bool,
}

impl SystemControlPortA {
    /// Power-on state: A20 gated off through this port, no reset pending.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether this port enables A20. (The keyboard controller's output
    /// port also drives A20; the board ORs the two.)
    pub fn a20_enabled(&self) -> bool {
        self.value & A20 != 0
    }

    /// Take a pending reset request.
    pub fn take_reset_request(&mut self) -> bool {
        std::mem::take(&mut self.reset_requested)
    }

    /// System reset: the register returns to 0 (A20 off, reset bit clear).
    pub fn reset(&mut self) {
        self.value = 0;
        self.reset_requested = false;
    }

    fn write8(&mut self, v: u8) {
        // The reset pulse comes from the 0 -> 1 transition of bit 0.
        if v & FAST_RESET != 0 && self.value & FAST_RESET == 0 {
            self.reset_requested = true;
        }
        self.value = v;
    }
}

impl PortDevice for SystemControlPortA {
    fn port_read(&mut self, port: u16, size: u8, _now_ns: u64) -> u32 {
        split_read(port, size, |p| if p == PORT92 { self.value } else { 0xFF })
    }

    fn port_write(&mut self, port: u16, size: u8, value: u32, _now_ns: u64) {
        split_write(port, size, value, |p, b| {
            if p == PORT92 {
                self.write8(b);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a20_bit_is_readable_and_reported() {
        let mut p = SystemControlPortA::new();
        assert!(!p.a20_enabled());
        p.port_write(PORT92, 1, 0x02, 0);
        assert!(p.a20_enabled());
        assert_eq!(p.port_read(PORT92, 1, 0), 0x02);
        assert!(!p.reset_requested);
        p.port_write(PORT92, 1, 0x00, 0);
        assert!(!p.a20_enabled());
    }

    #[test]
    fn fast_reset_on_rising_bit0() {
        let mut p = SystemControlPortA::new();
        p.port_write(PORT92, 1, 0x03, 0);
        assert!(p.take_reset_request());
        assert!(!p.take_reset_request());
        // Still 1: no new edge.
        p.port_write(PORT92, 1, 0x03, 0);
        assert!(!p.reset_requested);
        p.reset();
        assert_eq!(p.port_read(PORT92, 1, 0), 0);
        p.port_write(PORT92, 1, 0x01, 0);
        assert!(p.reset_requested);
    }
}
