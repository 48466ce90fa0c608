//! QEMU's `isa-debug-exit` device: a guest write of value `v` asks the
//! emulator to exit with status `(v << 1) | 1`, so a test ROM can report
//! pass/fail through the exit status (never 0, which stays "ran normally").

use crate::{size_mask, PortDevice};

/// Debug-exit ports `iobase..iobase+iosize` (QEMU default 0xF4, size 4).
pub struct IsaDebugExit {
    pub iobase: u16,
    pub iosize: u16,
    /// Exit status the guest asked for; the board polls it after writes.
    pub exit_requested: Option<i32>,
}

impl IsaDebugExit {
    pub fn new(iobase: u16, iosize: u16) -> Self {
        IsaDebugExit {
            iobase,
            iosize,
            exit_requested: None,
        }
    }

    /// Take the request (the board stops the machine with this status).
    pub fn take_exit_request(&mut self) -> Option<i32> {
        self.exit_requested.take()
    }
}

impl Default for IsaDebugExit {
    fn default() -> Self {
        IsaDebugExit::new(0xF4, 4)
    }
}

impl PortDevice for IsaDebugExit {
    fn port_read(&mut self, _port: u16, size: u8, _now_ns: u64) -> u32 {
        // Nothing drives the bus on a read: it floats high.
        size_mask(size)
    }

    fn port_write(&mut self, _port: u16, size: u8, value: u32, _now_ns: u64) {
        // The value is as wide as the access; the shift wraps like C would.
        let v = value & size_mask(size);
        self.exit_requested = Some(((v << 1) | 1) as i32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_requests_exit_with_qemu_status() {
        let mut d = IsaDebugExit::default();
        assert_eq!(d.exit_requested, None);
        d.port_write(0xF4, 1, 0x00, 0);
        assert_eq!(d.take_exit_request(), Some(1));
        d.port_write(0xF4, 1, 0x10, 0);
        assert_eq!(d.exit_requested, Some(0x21));
        // Only the accessed width counts.
        d.port_write(0xF4, 1, 0x1FF, 0);
        assert_eq!(d.exit_requested, Some(0x1FF));
        d.port_write(0xF4, 4, 0xFFFF_FFFF, 0);
        assert_eq!(d.exit_requested, Some(-1));
        assert_eq!(d.port_read(0xF4, 1, 0), 0xFF);
    }
}
