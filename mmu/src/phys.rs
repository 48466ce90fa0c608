//! Physical address map of a PC (Intel 440FX-style): RAM from 0, the legacy
//! hole 0xA0000–0xFFFFF (VGA window and BIOS shadow), the BIOS ROM at the top
//! of the 4 GiB space, MMIO regions registered by the board.

use memmap2::MmapMut;
use std::sync::atomic::{AtomicBool, Ordering};

/// Largest RAM we map: the 32-bit physical space minus the PCI hole.
pub const MAX_RAM: u64 = 0xE000_0000;
/// Largest BIOS image accepted (QEMU's limit is similar).
pub const MAX_ROM: usize = 16 << 20;

const PAGE_SHIFT: u32 = 12;

/// States of a page in `code_pages`.
const NO_CODE: u8 = 0;
const CODE: u8 = 1;
const CODE_WRITTEN: u8 = 2;

#[derive(Debug, thiserror::Error)]
pub enum MemError {
    #[error("-m {0} bytes: guest RAM must be at least 1 MiB")]
    RamTooSmall(u64),
    #[error("-m {0} bytes: guest RAM must be at most {max} MiB", max = MAX_RAM >> 20)]
    RamTooLarge(u64),
    #[error("could not map {0} bytes of guest RAM: {1}")]
    Map(u64, std::io::Error),
    #[error("BIOS image is empty")]
    RomEmpty,
    #[error("BIOS image is {0} bytes: it must be a multiple of 64 KiB")]
    RomSize(usize),
    #[error("BIOS image is {0} bytes: at most 16 MiB is supported")]
    RomTooLarge(usize),
}

/// A device region in physical address space.
pub trait MmioHandler: Send {
    fn mmio_read(&mut self, offset: u64, size: u8) -> u64;
    fn mmio_write(&mut self, offset: u64, size: u8, value: u64);
}

struct MmioRegion {
    start: u64,
    len: u64,
    handler: Box<dyn MmioHandler>,
}

pub struct PhysMem {
    ram: MmapMut,
    ram_size: u64,
    rom: Vec<u8>,
    /// First physical address of the BIOS alias below 1 MiB.
    rom_low_start: u64,
    /// RAM below 1 MiB ends here for the fast path: the lower of the BIOS
    /// alias and any MMIO window registered there (the VGA hole).
    low_ram_end: u64,
    /// An MMIO window below 1 MiB that shadows RAM (0xA0000–0xBFFFF).
    hole: (u64, u64),
    a20_mask: u64,
    mmio: Vec<MmioRegion>,
    /// One flag per 4 KiB RAM page: set while decoded code from that page is cached.
    code_pages: Vec<u8>,
    /// Per written code page, the range [lo, hi) written since the last
    /// `take_dirty_code`.
    dirty_code: Vec<(u64, u64)>,
    /// Cheap check for the CPU loop: something was pushed to `dirty_code`.
    code_written: AtomicBool,
}

impl PhysMem {
    pub fn new(ram_size: u64, rom: &[u8]) -> Result<Self, MemError> {
        if ram_size < (1 << 20) {
            return Err(MemError::RamTooSmall(ram_size));
        }
        if ram_size > MAX_RAM {
            return Err(MemError::RamTooLarge(ram_size));
        }
        if rom.is_empty() {
            return Err(MemError::RomEmpty);
        }
        if rom.len() > MAX_ROM {
            return Err(MemError::RomTooLarge(rom.len()));
        }
        if !rom.len().is_multiple_of(0x10000) {
            return Err(MemError::RomSize(rom.len()));
        }
        let ram = MmapMut::map_anon(ram_size as usize).map_err(|e| MemError::Map(ram_size, e))?;
        let low = rom.len().min(128 << 10) as u64;
        Ok(PhysMem {
            ram,
            ram_size,
            rom: rom.to_vec(),
            rom_low_start: 0x10_0000 - low,
            low_ram_end: 0x10_0000 - low,
            hole: (0, 0),
            a20_mask: u64::MAX,
            mmio: Vec::new(),
            code_pages: vec![0; (ram_size >> PAGE_SHIFT) as usize + 1],
            dirty_code: Vec::new(),
            code_written: AtomicBool::new(false),
        })
    }

    pub fn ram_size(&self) -> u64 {
        self.ram_size
    }

    pub fn set_a20(&mut self, enabled: bool) {
        self.a20_mask = if enabled { u64::MAX } else { !(1 << 20) };
    }

    pub fn a20_enabled(&self) -> bool {
        self.a20_mask == u64::MAX
    }

    /// Address as seen on the bus after the A20 gate.
    #[inline]
    pub fn a20(&self, addr: u64) -> u64 {
        addr & self.a20_mask
    }

    /// Registers a device region. A region below 1 MiB (the VGA window)
    /// takes precedence over the RAM underneath it, as on a PC.
    pub fn add_mmio(&mut self, start: u64, len: u64, handler: Box<dyn MmioHandler>) {
        if start < 0x10_0000 {
            let (lo, hi) = if self.hole == (0, 0) {
                (start, start + len)
            } else {
                (self.hole.0.min(start), self.hole.1.max(start + len))
            };
            self.hole = (lo, hi);
            self.low_ram_end = self.low_ram_end.min(lo);
        }
        self.mmio.push(MmioRegion {
            start,
            len,
            handler,
        });
    }

    /// Host slice of guest RAM, for loaders and DMA-like device access.
    pub fn ram(&self) -> &[u8] {
        &self.ram
    }

    /// Writes into RAM from the host side (a loader or a device): still
    /// invalidates cached code on the pages it touches.
    pub fn write_ram(&mut self, addr: u64, data: &[u8]) {
        let end = (addr + data.len() as u64).min(self.ram_size);
        if addr >= end {
            return;
        }
        let n = (end - addr) as usize;
        self.ram[addr as usize..addr as usize + n].copy_from_slice(&data[..n]);
        let mut p = addr >> PAGE_SHIFT;
        while p <= (end - 1) >> PAGE_SHIFT {
            self.note_write(p << PAGE_SHIFT, 1 << PAGE_SHIFT);
            p += 1;
        }
    }

    /// REP STOS in bulk: `count` copies of `unit` from `addr`, when all of
    /// it is plain RAM within one page (else nothing is written and the
    /// caller goes element by element). Cached code is invalidated as for
    /// single writes.
    pub fn fill_ram(&mut self, addr: u64, unit: &[u8], count: usize) -> bool {
        let addr = self.a20(addr);
        let len = unit.len() * count;
        if len == 0 || !self.ram_span(addr, addr + len as u64 - 1) {
            return false;
        }
        let dst = &mut self.ram[addr as usize..addr as usize + len];
        for chunk in dst.chunks_exact_mut(unit.len()) {
            chunk.copy_from_slice(unit);
        }
        self.note_write(addr, len as u64);
        true
    }

    /// REP MOVS in bulk: `len` bytes from `src` to `dst`, each range plain
    /// RAM within one page. Declines (returns false) when `dst` lies inside
    /// the source ahead of `src`: element by element, such a copy repeats
    /// the first bytes, which a block copy would not.
    pub fn copy_ram(&mut self, dst: u64, src: u64, len: usize) -> bool {
        let (dst, src) = (self.a20(dst), self.a20(src));
        let n = len as u64;
        if len == 0
            || !self.ram_span(dst, dst + n - 1)
            || !self.ram_span(src, src + n - 1)
            || (dst > src && dst < src + n)
        {
            return false;
        }
        self.ram
            .copy_within(src as usize..src as usize + len, dst as usize);
        self.note_write(dst, n);
        true
    }

    #[inline]
    fn is_plain_ram(&self, addr: u64) -> bool {
        addr < self.ram_size
            && !(self.rom_low_start..0x10_0000).contains(&addr)
            && !(self.hole.0..self.hole.1).contains(&addr)
    }

    #[inline]
    fn rom_offset(&self, addr: u64) -> Option<usize> {
        let len = self.rom.len() as u64;
        if addr >= (1 << 32) - len && addr < (1 << 32) {
            return Some((addr - ((1 << 32) - len)) as usize);
        }
        if (self.rom_low_start..0x10_0000).contains(&addr) {
            return Some((len - (0x10_0000 - addr)) as usize);
        }
        None
    }

    pub fn read_u8(&mut self, addr: u64) -> u8 {
        let addr = self.a20(addr);
        if self.is_plain_ram(addr) {
            return self.ram[addr as usize];
        }
        if let Some(off) = self.rom_offset(addr) {
            return self.rom[off];
        }
        self.mmio_read(addr, 1) as u8
    }

    pub fn write_u8(&mut self, addr: u64, value: u8) {
        let addr = self.a20(addr);
        if self.is_plain_ram(addr) {
            self.ram[addr as usize] = value;
            self.note_write(addr, 1);
            return;
        }
        if self.rom_offset(addr).is_some() {
            return; // ROM: writes are dropped
        }
        self.mmio_write(addr, 1, value as u64);
    }

    /// True when `addr..=end` is plain RAM within one page.
    #[inline(always)]
    fn ram_span(&self, addr: u64, end: u64) -> bool {
        (addr ^ end) >> PAGE_SHIFT == 0
            && end < self.ram_size
            && (end < self.low_ram_end || addr >= 0x10_0000)
    }

    /// Little-endian read of 1, 2, 4 or 8 bytes at a physical address.
    #[inline]
    pub fn read(&mut self, addr: u64, size: u8) -> u64 {
        let addr = self.a20(addr);
        let end = addr + size as u64 - 1;
        if self.ram_span(addr, end) {
            let p = self.ram[addr as usize..].as_ptr();
            // SAFETY: ram_span checked that all `size` bytes are inside RAM.
            return unsafe {
                match size {
                    1 => *p as u64,
                    2 => u16::from_le(std::ptr::read_unaligned(p as *const u16)) as u64,
                    4 => u32::from_le(std::ptr::read_unaligned(p as *const u32)) as u64,
                    _ => u64::from_le(std::ptr::read_unaligned(p as *const u64)),
                }
            };
        }
        self.read_slow(addr, size)
    }

    #[cold]
    fn read_slow(&mut self, addr: u64, size: u8) -> u64 {
        let end = addr + size as u64 - 1;
        if let Some(r) = self
            .mmio
            .iter_mut()
            .find(|r| addr >= r.start && end < r.start + r.len)
        {
            return r.handler.mmio_read(addr - r.start, size);
        }
        let mut v = 0u64;
        for i in 0..size as u64 {
            v |= (self.read_u8(addr + i) as u64) << (8 * i);
        }
        v
    }

    #[inline]
    pub fn write(&mut self, addr: u64, size: u8, value: u64) {
        let addr = self.a20(addr);
        let end = addr + size as u64 - 1;
        if self.ram_span(addr, end) {
            let p = self.ram[addr as usize..].as_mut_ptr();
            // SAFETY: ram_span checked that all `size` bytes are inside RAM.
            unsafe {
                match size {
                    1 => *p = value as u8,
                    2 => std::ptr::write_unaligned(p as *mut u16, (value as u16).to_le()),
                    4 => std::ptr::write_unaligned(p as *mut u32, (value as u32).to_le()),
                    _ => std::ptr::write_unaligned(p as *mut u64, value.to_le()),
                }
            }
            self.note_write(addr, size as u64);
            return;
        }
        self.write_slow(addr, size, value)
    }

    #[cold]
    fn write_slow(&mut self, addr: u64, size: u8, value: u64) {
        let end = addr + size as u64 - 1;
        if let Some(r) = self
            .mmio
            .iter_mut()
            .find(|r| addr >= r.start && end < r.start + r.len)
        {
            r.handler.mmio_write(addr - r.start, size, value);
            return;
        }
        for i in 0..size as u64 {
            self.write_u8(addr + i, (value >> (8 * i)) as u8);
        }
    }

    /// Atomic compare-exchange of a 32-bit RAM word (page-table A/D updates,
    /// LOCK CMPXCHG). Returns the value found. Outside RAM it degrades to a
    /// plain read-compare-write.
    pub fn cmpxchg_u32(&mut self, addr: u64, expected: u32, new: u32) -> u32 {
        let addr = self.a20(addr);
        if self.is_plain_ram(addr) && addr.is_multiple_of(4) && addr + 3 < self.ram_size {
            let p = self.ram[addr as usize..].as_mut_ptr() as *mut u32;
            // SAFETY: p is 4-aligned and inside the mapping; AtomicU32 has
            // the same layout as u32.
            let a = unsafe { &*(p as *const std::sync::atomic::AtomicU32) };
            let found = match a.compare_exchange(
                expected.to_le(),
                new.to_le(),
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(v) | Err(v) => u32::from_le(v),
            };
            if found == expected {
                self.note_write(addr, 4);
            }
            return found;
        }
        let found = self.read(addr, 4) as u32;
        if found == expected {
            self.write(addr, 4, new as u64);
        }
        found
    }

    fn mmio_read(&mut self, addr: u64, size: u8) -> u64 {
        match self
            .mmio
            .iter_mut()
            .find(|r| addr >= r.start && addr < r.start + r.len)
        {
            Some(r) => r.handler.mmio_read(addr - r.start, size),
            // Unmapped space floats high.
            None => u64::MAX >> (64 - 8 * size as u32),
        }
    }

    fn mmio_write(&mut self, addr: u64, size: u8, value: u64) {
        if let Some(r) = self
            .mmio
            .iter_mut()
            .find(|r| addr >= r.start && addr < r.start + r.len)
        {
            r.handler.mmio_write(addr - r.start, size, value);
        }
    }

    // ---- code-page tracking -------------------------------------------------

    #[inline]
    fn note_write(&mut self, addr: u64, len: u64) {
        let page = (addr >> PAGE_SHIFT) as usize;
        if let Some(flag) = self.code_pages.get_mut(page) {
            match *flag {
                CODE => {
                    *flag = CODE_WRITTEN;
                    self.dirty_code.push((addr, addr + len));
                    self.code_written.store(true, Ordering::Relaxed);
                }
                // More writes before the translator looked (REP MOVS over
                // code): widen this page's pending range to cover them.
                CODE_WRITTEN => self.widen_pending(addr, addr + len),
                _ => {}
            }
        }
    }

    #[cold]
    fn widen_pending(&mut self, lo: u64, hi: u64) {
        let page = lo >> PAGE_SHIFT;
        if let Some(r) = self
            .dirty_code
            .iter_mut()
            .rev()
            .find(|r| r.0 >> PAGE_SHIFT == page)
        {
            r.0 = r.0.min(lo);
            r.1 = r.1.max(hi);
        }
    }

    /// The translator caches code from this physical page: report writes to it.
    pub fn mark_code_page(&mut self, addr: u64) {
        if let Some(flag) = self.code_pages.get_mut((addr >> PAGE_SHIFT) as usize) {
            // A page with writes still pending stays pending.
            if *flag == NO_CODE {
                *flag = CODE;
            }
        }
    }

    /// Read-only view of the per-page code flags, for generated code that
    /// writes RAM inline: a store may skip [`note_write`](Self::note_write)
    /// only when the flag of its page (physical address >> 12) is 0. The
    /// pointer stays valid for the life of this `PhysMem` (the table never
    /// grows); it has [`code_page_count`](Self::code_page_count) entries.
    pub fn code_page_flags(&self) -> *const u8 {
        self.code_pages.as_ptr()
    }

    /// Number of entries behind [`code_page_flags`](Self::code_page_flags).
    pub fn code_page_count(&self) -> usize {
        self.code_pages.len()
    }

    /// True when a page holding cached code has been written since the last
    /// [`take_dirty_code`](Self::take_dirty_code).
    #[inline]
    pub fn code_written(&self) -> bool {
        self.code_written.load(Ordering::Relaxed)
    }

    /// The writes (physical address, length) that hit code pages, one range
    /// per page covering every write since the page was marked. The pages
    /// stop being watched until [`mark_code_page`](Self::mark_code_page).
    pub fn take_dirty_code(&mut self) -> Vec<(u64, u64)> {
        self.code_written.store(false, Ordering::Relaxed);
        let ranges = std::mem::take(&mut self.dirty_code);
        for r in &ranges {
            if let Some(f) = self.code_pages.get_mut((r.0 >> PAGE_SHIFT) as usize) {
                *f = NO_CODE;
            }
        }
        ranges.into_iter().map(|(lo, hi)| (lo, hi - lo)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rom64k() -> Vec<u8> {
        let mut r = vec![0u8; 0x10000];
        r[0xFFF0] = 0xEA;
        r[0] = 0x11;
        r
    }

    #[test]
    fn rom_is_mapped_high_and_aliased_below_1m() {
        let mut m = PhysMem::new(2 << 20, &rom64k()).unwrap();
        assert_eq!(m.read_u8(0xFFFF_FFF0), 0xEA);
        assert_eq!(m.read_u8(0xFFFF0), 0xEA);
        assert_eq!(m.read_u8(0xF0000), 0x11);
        assert_eq!(m.read_u8(0xFFFF_0000), 0x11);
        m.write_u8(0xF0000, 0x22);
        assert_eq!(m.read_u8(0xF0000), 0x11, "ROM is read-only");
    }

    #[test]
    fn large_rom_aliases_only_last_128k() {
        let mut r = vec![0u8; 0x40000];
        r[0x20000] = 0x33; // first byte of the last 128 KiB
        r[0] = 0x44;
        let mut m = PhysMem::new(2 << 20, &r).unwrap();
        assert_eq!(m.read_u8(0xE0000), 0x33);
        assert_eq!(m.read_u8(0xFFFC_0000), 0x44);
        // Below the alias is RAM again.
        m.write_u8(0xDFFFF, 7);
        assert_eq!(m.read_u8(0xDFFFF), 7);
    }

    #[test]
    fn unmapped_reads_all_ones_and_writes_dropped() {
        let mut m = PhysMem::new(2 << 20, &rom64k()).unwrap();
        assert_eq!(m.read(0x8000_0000, 4), 0xFFFF_FFFF);
        assert_eq!(m.read(0x8000_0000, 2), 0xFFFF);
        m.write(0x8000_0000, 4, 0);
        assert_eq!(m.read(0x8000_0000, 1), 0xFF);
    }

    #[test]
    fn a20_wraps_bit_20() {
        let mut m = PhysMem::new(4 << 20, &rom64k()).unwrap();
        m.write_u8(0x10_0010, 0xAB);
        m.set_a20(false);
        assert_eq!(m.read_u8(0x10_0010), m.read_u8(0x10));
        m.write_u8(0x10_0020, 0x5A);
        m.set_a20(true);
        assert_eq!(m.read_u8(0x20), 0x5A);
        assert_eq!(m.read_u8(0x10_0010), 0xAB);
    }

    #[test]
    fn page_crossing_access_and_code_tracking() {
        let mut m = PhysMem::new(2 << 20, &rom64k()).unwrap();
        m.write(0x1FFE, 4, 0x1122_3344);
        assert_eq!(m.read(0x1FFE, 4), 0x1122_3344);
        assert_eq!(m.read_u8(0x2000), 0x22);
        m.mark_code_page(0x5000);
        assert!(!m.code_written());
        m.write(0x5123, 1, 9);
        assert!(m.code_written());
        // Later writes to the same page before the translator looks widen
        // the reported range (a REP MOVS over code).
        m.write(0x5200, 4, 9);
        m.write(0x5100, 2, 9);
        assert_eq!(m.take_dirty_code(), vec![(0x5100, 0x104)]);
        assert!(!m.code_written());
        // The mark is consumed: a second write reports nothing.
        m.write(0x5123, 1, 9);
        assert!(!m.code_written());
    }

    struct Recorder(std::sync::Arc<std::sync::Mutex<Vec<(u64, u8, u64)>>>);
    impl MmioHandler for Recorder {
        fn mmio_read(&mut self, offset: u64, _size: u8) -> u64 {
            offset ^ 0x55
        }
        fn mmio_write(&mut self, offset: u64, size: u8, value: u64) {
            self.0.lock().unwrap().push((offset, size, value));
        }
    }

    #[test]
    fn mmio_window_below_1m_shadows_ram() {
        let mut m = PhysMem::new(4 << 20, &rom64k()).unwrap();
        m.write(0x9FFFC, 4, 0x1234_5678);
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        m.add_mmio(0xA0000, 0x20000, Box::new(Recorder(log.clone())));
        m.write(0xB8000, 2, 0x0741);
        assert_eq!(log.lock().unwrap()[0], (0x18000, 2, 0x0741));
        assert_eq!(m.read(0xA0010, 1), 0x10 ^ 0x55);
        // RAM just below the hole and above it is untouched.
        assert_eq!(m.read(0x9FFFC, 4), 0x1234_5678);
        m.write(0xC0000, 1, 9);
        assert_eq!(m.read(0xC0000, 1), 9);
        assert_eq!(log.lock().unwrap().len(), 1);
    }

    #[test]
    fn bad_sizes_are_errors() {
        assert!(matches!(
            PhysMem::new(1000, &rom64k()),
            Err(MemError::RamTooSmall(_))
        ));
        assert!(matches!(
            PhysMem::new(2 << 20, &[]),
            Err(MemError::RomEmpty)
        ));
        assert!(matches!(
            PhysMem::new(2 << 20, &[0; 100]),
            Err(MemError::RomSize(100))
        ));
    }

    #[test]
    fn cmpxchg_on_ram() {
        let mut m = PhysMem::new(2 << 20, &rom64k()).unwrap();
        m.write(0x100, 4, 5);
        assert_eq!(m.cmpxchg_u32(0x100, 5, 6), 5);
        assert_eq!(m.read(0x100, 4), 6);
        assert_eq!(m.cmpxchg_u32(0x100, 5, 7), 6);
        assert_eq!(m.read(0x100, 4), 6);
    }
}
