//! Per-vCPU translation lookaside buffer: a direct-mapped cache of linear →
//! physical page translations with the permissions found by the walk, so a
//! hit is a tag compare and a permission test (SDM vol. 3, 4.10).

pub const ENTRIES: usize = 256;

pub const USER: u8 = 1;
pub const USER_WRITE: u8 = 2;
pub const SUPER_WRITE: u8 = 4;
/// The dirty bit is already set in the page table: writes need no walk.
pub const DIRTY: u8 = 8;
pub const GLOBAL: u8 = 16;

#[derive(Clone, Copy, Default)]
pub struct TlbEntry {
    /// Linear page address | 1 when valid.
    pub tag: u32,
    pub phys_page: u32,
    pub perm: u8,
}

pub struct Tlb {
    pub entries: Box<[TlbEntry; ENTRIES]>,
}

impl Default for Tlb {
    fn default() -> Self {
        Tlb {
            entries: Box::new([TlbEntry::default(); ENTRIES]),
        }
    }
}

impl Tlb {
    #[inline]
    pub fn slot(lin: u32) -> usize {
        ((lin >> 12) as usize) & (ENTRIES - 1)
    }

    #[inline]
    pub fn lookup(&self, lin: u32) -> Option<&TlbEntry> {
        let e = &self.entries[Self::slot(lin)];
        (e.tag == (lin & !0xFFF) | 1).then_some(e)
    }

    pub fn insert(&mut self, lin: u32, phys_page: u32, perm: u8) {
        self.entries[Self::slot(lin)] = TlbEntry {
            tag: (lin & !0xFFF) | 1,
            phys_page,
            perm,
        };
    }

    /// MOV CR3: drop everything but global pages.
    pub fn flush_non_global(&mut self) {
        for e in self.entries.iter_mut() {
            if e.perm & GLOBAL == 0 {
                e.tag = 0;
            }
        }
    }

    pub fn flush_all(&mut self) {
        for e in self.entries.iter_mut() {
            e.tag = 0;
        }
    }

    /// INVLPG.
    pub fn flush_page(&mut self, lin: u32) {
        let e = &mut self.entries[Self::slot(lin)];
        if e.tag == (lin & !0xFFF) | 1 {
            e.tag = 0;
        }
    }
}
