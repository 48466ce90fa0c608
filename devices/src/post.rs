//! The POST diagnostic port (0x80). BIOSes write progress codes here for a
//! POST card to display; the port is also used as a short I/O delay. On
//! many chipsets a read returns the last code written, which we do too.

use crate::{size_mask, PortDevice};

/// POST code latch.
#[derive(Debug, Default)]
pub struct PostPort {
    last: u8,
    writes: u64,
}

impl PostPort {
    pub fn new() -> Self {
        Self::default()
    }

    /// Last code written (0 before any write).
    pub fn last_code(&self) -> u8 {
        self.last
    }

    /// Number of codes written so far (tells "never written" from code 0).
    pub fn write_count(&self) -> u64 {
        self.writes
    }
}

impl PortDevice for PostPort {
    fn port_read(&mut self, _port: u16, size: u8, _now_ns: u64) -> u32 {
        (u32::from(self.last) * 0x0101_0101) & size_mask(size)
    }

    fn port_write(&mut self, _port: u16, _size: u8, value: u32, _now_ns: u64) {
        // A POST card shows the low byte whatever the access width.
        self.last = value as u8;
        self.writes += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_last_code() {
        let mut p = PostPort::new();
        assert_eq!(p.port_read(0x80, 1, 0), 0);
        assert_eq!(p.write_count(), 0);
        p.port_write(0x80, 1, 0x55, 0);
        p.port_write(0x80, 1, 0xAA, 0);
        assert_eq!(p.last_code(), 0xAA);
        assert_eq!(p.port_read(0x80, 1, 0), 0xAA);
        assert_eq!(p.write_count(), 2);
        p.port_write(0x80, 2, 0x1234, 0);
        assert_eq!(p.last_code(), 0x34);
    }
}
