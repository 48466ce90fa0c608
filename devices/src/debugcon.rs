//! The Bochs/QEMU "debug console" port (0xE9 by convention): every byte the
//! guest writes is passed to the host, and a read returns 0xE9 so that guest
//! code can detect the port is there.

use std::io::Write;

use crate::{size_mask, PortDevice, Sink};

/// Conventional port of the debug console.
pub const DEBUGCON_PORT: u16 = 0xE9;

/// Debug console at one I/O port.
pub struct DebugCon {
    port: u16,
    sink: Option<Sink>,
}

impl DebugCon {
    /// A debug console at `port` writing to `sink` (`None` discards).
    pub fn new(port: u16, sink: Option<Sink>) -> Self {
        DebugCon { port, sink }
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl PortDevice for DebugCon {
    fn port_read(&mut self, _port: u16, size: u8, _now_ns: u64) -> u32 {
        // Every byte lane reads back the detection value.
        0xE9E9_E9E9 & size_mask(size)
    }

    fn port_write(&mut self, _port: u16, _size: u8, value: u32, _now_ns: u64) {
        // Only the low byte is the character, whatever the access width.
        if let Some(sink) = self.sink.as_mut() {
            // A closed or failing sink must not disturb the guest.
            let _ = sink.write_all(&[value as u8]);
            let _ = sink.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn writes_reach_sink_and_read_identifies() {
        let out = Shared::default();
        let mut d = DebugCon::new(DEBUGCON_PORT, Some(Box::new(out.clone())));
        for b in b"ok\n" {
            d.port_write(0xE9, 1, u32::from(*b), 0);
        }
        d.port_write(0xE9, 2, 0x4142, 0);
        assert_eq!(&*out.0.lock().unwrap(), b"ok\nB");
        assert_eq!(d.port_read(0xE9, 1, 0), 0xE9);
        assert_eq!(d.port_read(0xE9, 2, 0), 0xE9E9);
    }

    #[test]
    fn failing_sink_is_harmless() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("closed"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Err(std::io::Error::other("closed"))
            }
        }
        let mut d = DebugCon::new(DEBUGCON_PORT, Some(Box::new(Broken)));
        d.port_write(0xE9, 1, 0x41, 0);
        let mut none = DebugCon::new(DEBUGCON_PORT, None);
        none.port_write(0xE9, 1, 0x41, 0);
    }
}
