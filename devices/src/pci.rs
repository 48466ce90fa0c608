//! PCI configuration space through configuration mechanism #1 (port 0xCF8
//! = CONFIG_ADDRESS, taken only by 32-bit accesses; ports 0xCFC-0xCFF =
//! CONFIG_DATA, any width) and the PIIX3 reset control register at 0xCF9.
//!
//! The bus holds functions on bus 0, each a 256-byte configuration space
//! with a mask of the bits software may write and a mask of the
//! write-one-to-clear status bits; BAR sizing falls out of the write masks
//! (write all ones, read back the size mask). Reads of an absent function
//! (or of any bus other than 0, or with the enable bit clear) return all
//! ones, writes to them are dropped.
//!
//! [`PciBus::i440fx`] builds the machine the board exposes:
//!
//! | BDF | IDs | class | what |
//! | --- | --- | --- | --- |
//! | 00:00.0 | 8086:1237 | 06 00 00 | i440FX host bridge |
//! | 00:01.0 | 8086:7000 | 06 01 00 | PIIX3 PCI-to-ISA bridge (multi-function) |
//! | 00:01.1 | 8086:7010 | 01 01 80 | PIIX3 IDE, both channels in legacy mode; BAR4 = bus master I/O (16 bytes) |
//! | 00:01.3 | 8086:7113 | 06 80 00 | PIIX4 power management (ACPI): PMBA at 0x40, PMREGMISC at 0x80 |
//! | 00:02.0 | 1234:1111 | 03 00 00 | Bochs/QEMU standard VGA; BAR0 = 16 MiB prefetchable linear framebuffer |
//!
//! Command registers start as a firmware leaves them: host bridge memory
//! and bus master, ISA bridge I/O, memory and bus master, IDE I/O, VGA I/O
//! and memory; the PM function's PMBA is unprogrammed (the firmware sets
//! it, and PMREGMISC bit 0, to place the ACPI registers).
//!
//! Reset control (0xCF9): a rising edge of bit 2 (RCPU) resets the
//! machine ([`PciBus::reset_requested`]); bit 1 (SRST, hard reset) and bit
//! 3 (full reset) are kept as written. A soft reset (bit 1 clear) is
//! treated as a hard one.

use crate::{split_read, split_write, PortDevice};

/// CONFIG_ADDRESS.
pub const PCI_CONFIG_ADDRESS: u16 = 0xCF8;
/// CONFIG_DATA (0xCFC-0xCFF).
pub const PCI_CONFIG_DATA: u16 = 0xCFC;
/// Reset control register.
pub const RESET_CONTROL_PORT: u16 = 0xCF9;

/// Where the VGA linear framebuffer sits unless the firmware moves it.
pub const DEFAULT_LFB_BASE: u32 = 0xE000_0000;
/// Size of the VGA BAR0.
pub const LFB_BAR_SIZE: u32 = 16 << 20;

// Configuration header offsets.
pub const PCI_VENDOR_ID: usize = 0x00;
pub const PCI_DEVICE_ID: usize = 0x02;
pub const PCI_COMMAND: usize = 0x04;
pub const PCI_STATUS: usize = 0x06;
pub const PCI_REVISION: usize = 0x08;
pub const PCI_CLASS_PROG: usize = 0x09;
pub const PCI_CACHE_LINE: usize = 0x0C;
pub const PCI_LATENCY: usize = 0x0D;
pub const PCI_HEADER_TYPE: usize = 0x0E;
pub const PCI_BAR0: usize = 0x10;
pub const PCI_SUBSYSTEM_VENDOR: usize = 0x2C;
pub const PCI_ROM_BAR: usize = 0x30;
pub const PCI_INTERRUPT_LINE: usize = 0x3C;
pub const PCI_INTERRUPT_PIN: usize = 0x3D;

// Command register bits software may change: I/O, memory, bus master,
// parity error response, SERR#, interrupt disable.
const CMD_WRITABLE: u16 = 0x0547;
// Status register bits that are write-one-to-clear: master data parity
// error, signalled/received target abort, received master abort,
// signalled system error, detected parity error.
const STATUS_W1C: u16 = 0xF900;
/// DEVSEL# medium timing, as PIIX parts report.
const STATUS_DEVSEL_MEDIUM: u16 = 0x0200;

// PIIX3 ISA bridge registers.
const PIIX3_PIRQRC: usize = 0x60;
// PIIX3 IDE timing registers (bit 15 of each: decode enable).
const PIIX_IDETIM_PRI: usize = 0x40;
const PIIX_IDETIM_SEC: usize = 0x42;
// PIIX4 PM registers.
pub const PIIX4_PMBA: usize = 0x40;
pub const PIIX4_PMREGMISC: usize = 0x80;
pub const PIIX4_SMBBA: usize = 0x90;

/// A base address register's kind and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bar {
    /// 32-bit memory space; `size` a power of two of at least 16.
    Mem32 {
        base: u32,
        size: u32,
        prefetchable: bool,
    },
    /// I/O space; `size` a power of two of at least 4.
    Io { base: u32, size: u32 },
}

/// One PCI function's configuration space.
#[derive(Debug, Clone)]
pub struct PciFunction {
    config: [u8; 256],
    wmask: [u8; 256],
    w1c: [u8; 256],
}

impl PciFunction {
    /// A type 0 header with the given IDs, `class` as 0xCCSSPP (class,
    /// subclass, programming interface) and revision; command, latency,
    /// cache line, BIST and interrupt line writable, everything else
    /// read-only until the device says otherwise.
    pub fn new(vendor: u16, device: u16, class: u32, revision: u8) -> Self {
        let mut f = PciFunction {
            config: [0; 256],
            wmask: [0; 256],
            w1c: [0; 256],
        };
        f.set_u16(PCI_VENDOR_ID, vendor);
        f.set_u16(PCI_DEVICE_ID, device);
        f.set_u8(PCI_REVISION, revision);
        f.set_u8(PCI_CLASS_PROG, class as u8);
        f.set_u8(PCI_CLASS_PROG + 1, (class >> 8) as u8);
        f.set_u8(PCI_CLASS_PROG + 2, (class >> 16) as u8);
        f.set_u16(PCI_STATUS, STATUS_DEVSEL_MEDIUM);
        f.set_wmask16(PCI_COMMAND, CMD_WRITABLE);
        f.w1c[PCI_STATUS] = STATUS_W1C as u8;
        f.w1c[PCI_STATUS + 1] = (STATUS_W1C >> 8) as u8;
        f.wmask[PCI_CACHE_LINE] = 0xFF;
        f.wmask[PCI_LATENCY] = 0xFF;
        f.wmask[PCI_INTERRUPT_LINE] = 0xFF;
        f
    }

    /// Vendor ID.
    pub fn vendor(&self) -> u16 {
        self.u16_at(PCI_VENDOR_ID)
    }

    /// Device ID.
    pub fn device(&self) -> u16 {
        self.u16_at(PCI_DEVICE_ID)
    }

    /// Command register.
    pub fn command(&self) -> u16 {
        self.u16_at(PCI_COMMAND)
    }

    /// Set a configuration byte directly (device side: read-only values,
    /// power-on defaults).
    pub fn set_u8(&mut self, off: usize, v: u8) {
        if let Some(b) = self.config.get_mut(off) {
            *b = v;
        }
    }

    pub fn set_u16(&mut self, off: usize, v: u16) {
        for (i, b) in v.to_le_bytes().into_iter().enumerate() {
            self.set_u8(off + i, b);
        }
    }

    pub fn set_u32(&mut self, off: usize, v: u32) {
        for (i, b) in v.to_le_bytes().into_iter().enumerate() {
            self.set_u8(off + i, b);
        }
    }

    /// Which bits of the byte at `off` software may write.
    pub fn set_wmask(&mut self, off: usize, mask: u8) {
        if let Some(b) = self.wmask.get_mut(off) {
            *b = mask;
        }
    }

    fn set_wmask16(&mut self, off: usize, mask: u16) {
        self.set_wmask(off, mask as u8);
        self.set_wmask(off + 1, (mask >> 8) as u8);
    }

    fn set_wmask32(&mut self, off: usize, mask: u32) {
        for (i, b) in mask.to_le_bytes().into_iter().enumerate() {
            self.set_wmask(off + i, b);
        }
    }

    /// Make bytes `range` plain read/write storage (device-specific
    /// registers whose effect the model does not need).
    pub fn set_writable(&mut self, range: std::ops::Range<usize>) {
        for off in range {
            self.set_wmask(off, 0xFF);
        }
    }

    /// Configure BAR `index` (0-5).
    pub fn set_bar(&mut self, index: usize, bar: Bar) {
        if index > 5 {
            return;
        }
        let off = PCI_BAR0 + 4 * index;
        match bar {
            Bar::Mem32 {
                base,
                size,
                prefetchable,
            } => {
                let size = size.max(16).next_power_of_two();
                let mask = !(size - 1);
                let flags = if prefetchable { 0x08 } else { 0x00 };
                self.set_u32(off, (base & mask) | flags);
                self.set_wmask32(off, mask);
            }
            Bar::Io { base, size } => {
                let size = size.max(4).next_power_of_two();
                let mask = !(size - 1);
                self.set_u32(off, (base & mask) | 0x01);
                self.set_wmask32(off, mask);
            }
        }
    }

    /// The address BAR `index` decodes (flag bits stripped).
    pub fn bar_address(&self, index: usize) -> u32 {
        if index > 5 {
            return 0;
        }
        let v = self.u32_at(PCI_BAR0 + 4 * index);
        if v & 1 != 0 {
            v & !0x3
        } else {
            v & !0xF
        }
    }

    pub fn u8_at(&self, off: usize) -> u8 {
        self.config.get(off).copied().unwrap_or(0xFF)
    }

    pub fn u16_at(&self, off: usize) -> u16 {
        u16::from_le_bytes([self.u8_at(off), self.u8_at(off + 1)])
    }

    pub fn u32_at(&self, off: usize) -> u32 {
        u32::from_le_bytes([
            self.u8_at(off),
            self.u8_at(off + 1),
            self.u8_at(off + 2),
            self.u8_at(off + 3),
        ])
    }

    /// A guest read of `size` bytes at `off`.
    pub fn read(&self, off: usize, size: u8) -> u32 {
        (0..usize::from(size.clamp(1, 4)))
            .fold(0, |v, i| v | u32::from(self.u8_at(off + i)) << (8 * i))
    }

    /// A guest write of `size` bytes at `off`, through the masks.
    pub fn write(&mut self, off: usize, size: u8, value: u32) {
        for i in 0..usize::from(size.clamp(1, 4)) {
            self.write8(off + i, (value >> (8 * i)) as u8);
        }
    }

    /// A guest write of one byte.
    pub fn write8(&mut self, off: usize, v: u8) {
        let Some(cur) = self.config.get(off).copied() else {
            return;
        };
        let wm = self.wmask[off];
        let w1c = self.w1c[off];
        let mut n = (cur & !wm) | (v & wm);
        n &= !(v & w1c);
        self.config[off] = n;
    }
}

/// The PCI configuration mechanism and the functions on bus 0.
#[derive(Debug, Clone)]
pub struct PciBus {
    address: u32,
    /// Indexed by device << 3 | function.
    functions: Vec<Option<PciFunction>>,
    /// Power-on copies, for [`PciBus::reset`].
    initial: Vec<Option<PciFunction>>,
    reset_control: u8,
    /// Set by a reset through 0xCF9; the board polls and clears it.
    pub reset_requested: bool,
}

impl Default for PciBus {
    fn default() -> Self {
        Self::new()
    }
}

impl PciBus {
    /// An empty bus 0.
    pub fn new() -> Self {
        PciBus {
            address: 0,
            functions: vec![None; 256],
            initial: vec![None; 256],
            reset_control: 0,
            reset_requested: false,
        }
    }

    /// The standard machine (see the module documentation) with the VGA
    /// framebuffer BAR at `lfb_base`.
    pub fn i440fx(lfb_base: u32) -> Self {
        let mut bus = PciBus::new();

        let mut host = PciFunction::new(0x8086, 0x1237, 0x06_00_00, 0x02);
        host.set_u16(PCI_COMMAND, 0x0006);
        // Chipset registers (PAM, DRB, SMRAM...) are kept as plain storage.
        host.set_writable(0x40..0x100);
        bus.add(0, 0, host);

        let mut isa = PciFunction::new(0x8086, 0x7000, 0x06_01_00, 0x00);
        isa.set_u8(PCI_HEADER_TYPE, 0x80);
        isa.set_u16(PCI_COMMAND, 0x0007);
        isa.set_writable(0x40..0x100);
        // PIRQ routing: all four unrouted.
        for i in 0..4 {
            isa.set_u8(PIIX3_PIRQRC + i, 0x80);
        }
        bus.add(1, 0, isa);

        let mut ide = PciFunction::new(0x8086, 0x7010, 0x01_01_80, 0x00);
        ide.set_u16(PCI_COMMAND, 0x0001);
        ide.set_bar(4, Bar::Io { base: 0, size: 16 });
        ide.set_writable(0x40..0x48);
        // Both channels decoded (IDETIM bit 15), as the firmware would
        // leave them.
        ide.set_u16(PIIX_IDETIM_PRI, 0x8000);
        ide.set_u16(PIIX_IDETIM_SEC, 0x8000);
        bus.add(1, 1, ide);

        let mut pm = PciFunction::new(0x8086, 0x7113, 0x06_80_00, 0x03);
        pm.set_writable(0x44..0x100);
        // PMBA: bits 15:6 hold a 64-byte I/O base, bit 0 reads 1.
        pm.set_u32(PIIX4_PMBA, 0x0000_0001);
        pm.set_wmask32(PIIX4_PMBA, 0x0000_FFC0);
        pm.set_u8(PIIX4_PMREGMISC, 0);
        pm.set_wmask(PIIX4_PMREGMISC, 0x01);
        // SMBBA: bits 15:4 hold a 16-byte I/O base, bit 0 reads 1.
        pm.set_u32(PIIX4_SMBBA, 0x0000_0001);
        pm.set_wmask32(PIIX4_SMBBA, 0x0000_FFF0);
        bus.add(1, 3, pm);

        let mut vga = PciFunction::new(0x1234, 0x1111, 0x03_00_00, 0x02);
        // I/O and memory decoding on, as the firmware leaves the boot
        // display (operating systems pick the boot VGA by these bits).
        vga.set_u16(PCI_COMMAND, 0x0003);
        vga.set_bar(
            0,
            Bar::Mem32 {
                base: lfb_base,
                size: LFB_BAR_SIZE,
                prefetchable: true,
            },
        );
        bus.add(2, 0, vga);
        bus
    }

    /// Place a function at `dev` (0-31) / `func` (0-7); its current state
    /// is also what [`PciBus::reset`] returns it to.
    pub fn add(&mut self, dev: u8, func: u8, f: PciFunction) {
        let i = devfn(dev, func);
        self.initial[i] = Some(f.clone());
        self.functions[i] = Some(f);
    }

    pub fn function(&self, dev: u8, func: u8) -> Option<&PciFunction> {
        self.functions[devfn(dev, func)].as_ref()
    }

    pub fn function_mut(&mut self, dev: u8, func: u8) -> Option<&mut PciFunction> {
        self.functions[devfn(dev, func)].as_mut()
    }

    /// System reset: every function back to its power-on configuration,
    /// CONFIG_ADDRESS and the reset control register cleared.
    pub fn reset(&mut self) {
        self.functions = self.initial.clone();
        self.address = 0;
        self.reset_control = 0;
        self.reset_requested = false;
    }

    /// Take a pending reset request.
    pub fn take_reset_request(&mut self) -> bool {
        std::mem::take(&mut self.reset_requested)
    }

    /// The PIIX4 PM I/O block's base when the guest enabled it (PMREGMISC
    /// bit 0) and gave it a base, else `None`.
    pub fn pm_io_base(&self) -> Option<u16> {
        let pm = self.function(1, 3)?;
        if pm.u8_at(PIIX4_PMREGMISC) & 1 == 0 {
            return None;
        }
        let base = (pm.u32_at(PIIX4_PMBA) & 0xFFC0) as u16;
        (base != 0).then_some(base)
    }

    /// Where the VGA's BAR0 (the linear framebuffer) currently points, and
    /// whether memory decoding is on.
    pub fn vga_lfb(&self) -> Option<(u32, bool)> {
        let vga = self.function(2, 0)?;
        Some((vga.bar_address(0), vga.command() & 0x2 != 0))
    }

    /// The ISA IRQ PIRQ line `n` (0-3, PIRQA-D) is routed to, if routed.
    pub fn pirq_route(&self, n: usize) -> Option<u8> {
        let isa = self.function(1, 0)?;
        let v = isa.u8_at(PIIX3_PIRQRC + n.min(3));
        (v & 0x80 == 0 && (3..=15).contains(&(v & 0x0F))).then_some(v & 0x0F)
    }

    /// Decoded CONFIG_ADDRESS: (enabled, bus, device, function, register).
    fn decode(&self) -> (bool, u8, u8, u8, usize) {
        let a = self.address;
        (
            a & 0x8000_0000 != 0,
            (a >> 16) as u8,
            ((a >> 11) & 0x1F) as u8,
            ((a >> 8) & 0x7) as u8,
            (a & 0xFC) as usize,
        )
    }

    /// Configuration read for a bus/device/function/offset, as a firmware
    /// or the board would do it without the ports.
    pub fn config_read(&self, bus: u8, dev: u8, func: u8, off: usize, size: u8) -> u32 {
        let all_ones = crate::size_mask(size);
        if bus != 0 || dev > 31 || func > 7 {
            return all_ones;
        }
        match &self.functions[devfn(dev, func)] {
            Some(f) => f.read(off, size) & all_ones,
            None => all_ones,
        }
    }

    /// Configuration write counterpart of [`PciBus::config_read`].
    pub fn config_write(&mut self, bus: u8, dev: u8, func: u8, off: usize, size: u8, value: u32) {
        if bus != 0 || dev > 31 || func > 7 {
            return;
        }
        if let Some(f) = self.functions[devfn(dev, func)].as_mut() {
            f.write(off, size, value);
        }
    }

    fn data_read8(&self, port: u16) -> u8 {
        let (en, bus, dev, func, reg) = self.decode();
        if !en {
            return 0xFF;
        }
        let off = reg + usize::from(port - PCI_CONFIG_DATA);
        self.config_read(bus, dev, func, off, 1) as u8
    }

    fn data_write8(&mut self, port: u16, v: u8) {
        let (en, bus, dev, func, reg) = self.decode();
        if !en {
            return;
        }
        let off = reg + usize::from(port - PCI_CONFIG_DATA);
        self.config_write(bus, dev, func, off, 1, u32::from(v));
    }

    fn write_reset_control(&mut self, v: u8) {
        if v & 0x04 != 0 && self.reset_control & 0x04 == 0 {
            self.reset_requested = true;
        }
        // RCPU self-clears once the reset has been issued.
        self.reset_control = v & 0x0A;
    }
}

fn devfn(dev: u8, func: u8) -> usize {
    (usize::from(dev & 0x1F) << 3) | usize::from(func & 7)
}

impl PortDevice for PciBus {
    fn port_read(&mut self, port: u16, size: u8, _now_ns: u64) -> u32 {
        if port == PCI_CONFIG_ADDRESS && size == 4 {
            return self.address;
        }
        split_read(port, size, |p| match p {
            RESET_CONTROL_PORT => self.reset_control,
            0xCFC..=0xCFF => self.data_read8(p),
            _ => 0xFF,
        })
    }

    fn port_write(&mut self, port: u16, size: u8, value: u32, _now_ns: u64) {
        if port == PCI_CONFIG_ADDRESS && size == 4 {
            // Reserved bits 30:24 and 1:0 read as 0.
            self.address = value & 0x80FF_FFFC;
            return;
        }
        // Byte accesses to 0xCF8/0xCFA/0xCFB belong to the ISA bus.
        split_write(port, size, value, |p, b| match p {
            RESET_CONTROL_PORT => self.write_reset_control(b),
            0xCFC..=0xCFF => self.data_write8(p, b),
            _ => {}
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(dev: u8, func: u8, reg: u8) -> u32 {
        0x8000_0000 | u32::from(dev) << 11 | u32::from(func) << 8 | u32::from(reg)
    }

    fn rd(bus: &mut PciBus, dev: u8, func: u8, reg: u8, size: u8) -> u32 {
        bus.port_write(0xCF8, 4, addr(dev, func, reg & 0xFC), 0);
        bus.port_read(0xCFC + u16::from(reg & 3), size, 0)
    }

    fn wr(bus: &mut PciBus, dev: u8, func: u8, reg: u8, size: u8, v: u32) {
        bus.port_write(0xCF8, 4, addr(dev, func, reg & 0xFC), 0);
        bus.port_write(0xCFC + u16::from(reg & 3), size, v, 0);
    }

    #[test]
    fn config_address_register() {
        let mut bus = PciBus::i440fx(DEFAULT_LFB_BASE);
        bus.port_write(0xCF8, 4, 0x8000_0000, 0);
        assert_eq!(bus.port_read(0xCF8, 4, 0), 0x8000_0000);
        bus.port_write(0xCF8, 4, 0xFFFF_FFFF, 0);
        assert_eq!(bus.port_read(0xCF8, 4, 0), 0x80FF_FFFC);
        // Byte accesses to 0xCF8 are not the address register.
        bus.port_write(0xCF8, 1, 0x00, 0);
        assert_eq!(bus.port_read(0xCF8, 4, 0), 0x80FF_FFFC);
        assert_eq!(bus.port_read(0xCF8, 1, 0), 0xFF);
    }

    #[test]
    fn machine_ids_and_classes() {
        let mut bus = PciBus::i440fx(DEFAULT_LFB_BASE);
        let cases = [
            (0, 0, 0x1237_8086, 0x0600_0002),
            (1, 0, 0x7000_8086, 0x0601_0000),
            (1, 1, 0x7010_8086, 0x0101_8000),
            (1, 3, 0x7113_8086, 0x0680_0003),
            (2, 0, 0x1111_1234, 0x0300_0002),
        ];
        for (d, f, id, class) in cases {
            assert_eq!(rd(&mut bus, d, f, 0, 4), id, "{d}.{f}");
            assert_eq!(rd(&mut bus, d, f, 8, 4), class, "{d}.{f}");
        }
        // Multi-function bit only on the PIIX3 function 0.
        assert_eq!(rd(&mut bus, 1, 0, 0x0E, 1), 0x80);
        assert_eq!(rd(&mut bus, 0, 0, 0x0E, 1), 0x00);
        // Word and byte reads at every offset in the dword.
        assert_eq!(rd(&mut bus, 1, 1, 2, 2), 0x7010);
        assert_eq!(rd(&mut bus, 1, 1, 3, 1), 0x70);
        assert_eq!(rd(&mut bus, 1, 1, 0x0B, 1), 0x01);
    }

    #[test]
    fn absent_functions_and_disabled_access_read_all_ones() {
        let mut bus = PciBus::i440fx(DEFAULT_LFB_BASE);
        assert_eq!(rd(&mut bus, 3, 0, 0, 4), 0xFFFF_FFFF);
        assert_eq!(rd(&mut bus, 1, 2, 0, 2), 0xFFFF);
        assert_eq!(rd(&mut bus, 31, 7, 0, 1), 0xFF);
        // Bus 1 does not exist.
        bus.port_write(0xCF8, 4, 0x8001_0000, 0);
        assert_eq!(bus.port_read(0xCFC, 4, 0), 0xFFFF_FFFF);
        // Enable bit clear.
        bus.port_write(0xCF8, 4, 0x0000_0000, 0);
        assert_eq!(bus.port_read(0xCFC, 4, 0), 0xFFFF_FFFF);
        bus.port_write(0xCFC, 4, 0, 0);
        assert_eq!(rd(&mut bus, 0, 0, 0, 4), 0x1237_8086);
        // Writes to absent functions go nowhere.
        wr(&mut bus, 5, 0, 0x10, 4, 0x1234);
    }

    #[test]
    fn ids_are_read_only_command_is_masked() {
        let mut bus = PciBus::i440fx(DEFAULT_LFB_BASE);
        wr(&mut bus, 2, 0, 0, 4, 0);
        assert_eq!(rd(&mut bus, 2, 0, 0, 4), 0x1111_1234);
        wr(&mut bus, 2, 0, 4, 2, 0xFFFF);
        assert_eq!(rd(&mut bus, 2, 0, 4, 2), u32::from(CMD_WRITABLE));
        // Interrupt line is writable, pin is not.
        wr(&mut bus, 2, 0, 0x3C, 2, 0xFF0B);
        assert_eq!(rd(&mut bus, 2, 0, 0x3C, 2), 0x000B);
    }

    #[test]
    fn status_bits_are_write_one_to_clear() {
        let mut f = PciFunction::new(1, 2, 0, 0);
        f.set_u16(PCI_STATUS, 0x2200); // received master abort + DEVSEL
        f.write(PCI_STATUS, 2, 0x0000);
        assert_eq!(f.u16_at(PCI_STATUS), 0x2200);
        f.write(PCI_STATUS, 2, 0xFFFF);
        assert_eq!(f.u16_at(PCI_STATUS), 0x0200);
    }

    #[test]
    fn vga_bar0_sizing_and_move() {
        let mut bus = PciBus::i440fx(DEFAULT_LFB_BASE);
        assert_eq!(rd(&mut bus, 2, 0, 0x10, 4), 0xE000_0008);
        wr(&mut bus, 2, 0, 0x10, 4, 0xFFFF_FFFF);
        // 16 MiB, prefetchable 32-bit memory.
        assert_eq!(rd(&mut bus, 2, 0, 0x10, 4), 0xFF00_0008);
        wr(&mut bus, 2, 0, 0x10, 4, 0xFD00_0000);
        assert_eq!(bus.vga_lfb(), Some((0xFD00_0000, true)));
        wr(&mut bus, 2, 0, 4, 2, 0x0001);
        assert_eq!(bus.vga_lfb(), Some((0xFD00_0000, false)));
        // Unimplemented BARs read 0 even after all-ones.
        wr(&mut bus, 2, 0, 0x14, 4, 0xFFFF_FFFF);
        assert_eq!(rd(&mut bus, 2, 0, 0x14, 4), 0);
        wr(&mut bus, 2, 0, 0x30, 4, 0xFFFF_FFFF);
        assert_eq!(rd(&mut bus, 2, 0, 0x30, 4), 0);
    }

    #[test]
    fn ide_legacy_and_bus_master_bar() {
        let mut bus = PciBus::i440fx(DEFAULT_LFB_BASE);
        // BAR0-3 unused in legacy mode.
        for reg in [0x10, 0x14, 0x18, 0x1C] {
            wr(&mut bus, 1, 1, reg, 4, 0xFFFF_FFFF);
            assert_eq!(rd(&mut bus, 1, 1, reg, 4), 0);
        }
        wr(&mut bus, 1, 1, 0x20, 4, 0xFFFF_FFFF);
        assert_eq!(rd(&mut bus, 1, 1, 0x20, 4), 0xFFFF_FFF1);
        wr(&mut bus, 1, 1, 0x20, 4, 0xC000);
        assert_eq!(rd(&mut bus, 1, 1, 0x20, 4), 0xC001);
        assert_eq!(bus.function(1, 1).unwrap().bar_address(4), 0xC000);
        assert_eq!(rd(&mut bus, 1, 1, 0x40, 4), 0x8000_8000);
    }

    #[test]
    fn piix4_pm_base_and_enable() {
        let mut bus = PciBus::i440fx(DEFAULT_LFB_BASE);
        assert_eq!(rd(&mut bus, 1, 3, 0x40, 4), 1);
        assert_eq!(bus.pm_io_base(), None);
        wr(&mut bus, 1, 3, 0x40, 4, 0xFFFF_FFFF);
        assert_eq!(rd(&mut bus, 1, 3, 0x40, 4), 0xFFC1);
        wr(&mut bus, 1, 3, 0x40, 4, 0x0600);
        assert_eq!(rd(&mut bus, 1, 3, 0x40, 4), 0x0601);
        assert_eq!(bus.pm_io_base(), None, "PMIOSE still clear");
        wr(&mut bus, 1, 3, 0x80, 1, 0xFF);
        assert_eq!(rd(&mut bus, 1, 3, 0x80, 1), 0x01);
        assert_eq!(bus.pm_io_base(), Some(0x600));
        wr(&mut bus, 1, 3, 0x90, 4, 0xFFFF_FFFF);
        assert_eq!(rd(&mut bus, 1, 3, 0x90, 4), 0xFFF1);
    }

    #[test]
    fn pirq_routing_registers() {
        let mut bus = PciBus::i440fx(DEFAULT_LFB_BASE);
        assert_eq!(bus.pirq_route(0), None);
        wr(&mut bus, 1, 0, 0x60, 4, 0x800B_0A09);
        assert_eq!(bus.pirq_route(0), Some(9));
        assert_eq!(bus.pirq_route(1), Some(10));
        assert_eq!(bus.pirq_route(2), Some(11));
        assert_eq!(bus.pirq_route(3), None);
    }

    #[test]
    fn unaligned_data_port_accesses() {
        let mut bus = PciBus::i440fx(DEFAULT_LFB_BASE);
        bus.port_write(0xCF8, 4, addr(2, 0, 0), 0);
        assert_eq!(bus.port_read(0xCFD, 2, 0), 0x1112);
        // A word at 0xCFF: the second byte is port 0xD00, not config data.
        assert_eq!(bus.port_read(0xCFF, 2, 0), 0xFF11);
        bus.port_write(0xCF8, 4, addr(2, 0, 0xFC), 0);
        assert_eq!(bus.port_read(0xCFC, 4, 0), 0);
        bus.port_write(0xCFF, 4, 0xFFFF_FFFF, 0);
    }

    #[test]
    fn reset_control_register() {
        let mut bus = PciBus::i440fx(DEFAULT_LFB_BASE);
        bus.port_write(0xCF9, 1, 0x02, 0);
        assert!(!bus.reset_requested);
        assert_eq!(bus.port_read(0xCF9, 1, 0), 0x02);
        bus.port_write(0xCF9, 1, 0x06, 0);
        assert!(bus.take_reset_request());
        assert_eq!(bus.port_read(0xCF9, 1, 0), 0x02);
        // Soft reset too.
        bus.port_write(0xCF9, 1, 0x04, 0);
        assert!(bus.take_reset_request());
    }

    #[test]
    fn reset_restores_power_on_config() {
        let mut bus = PciBus::i440fx(DEFAULT_LFB_BASE);
        wr(&mut bus, 2, 0, 0x10, 4, 0xC000_0000);
        wr(&mut bus, 1, 3, 0x80, 1, 1);
        bus.reset();
        assert_eq!(rd(&mut bus, 2, 0, 0x10, 4), 0xE000_0008);
        assert_eq!(rd(&mut bus, 1, 3, 0x80, 1), 0);
        assert_eq!(bus.port_read(0xCF8, 4, 0), addr(1, 3, 0x80));
    }

    #[test]
    fn config_helpers_direct() {
        let mut bus = PciBus::i440fx(DEFAULT_LFB_BASE);
        assert_eq!(bus.config_read(0, 0, 0, 0, 2), 0x8086);
        assert_eq!(bus.config_read(0, 40, 9, 0, 2), 0xFFFF);
        bus.config_write(0, 0, 0, 0x59, 1, 0x30);
        assert_eq!(bus.config_read(0, 0, 0, 0x59, 1), 0x30);
        // Offsets past the end read all ones.
        assert_eq!(bus.config_read(0, 0, 0, 0xFF, 4), 0xFFFF_FF00);
    }
}
