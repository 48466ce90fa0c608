//! Per-vCPU translation lookaside buffer (SDM vol. 3, 4.10): a
//! direct-mapped cache of linear → physical page translations, plus the PAE
//! PDPTE registers (4.4.1), which are loaded with CR3 and live beside it.
//!
//! There are two sets of entries, one for supervisor and one for user
//! accesses, and each entry holds one tag per kind of access (read, write,
//! fetch). A tag equals the linear page address only when that access is
//! allowed with no walk: the combined U/S, R/W and XD bits, CR0.WP and
//! EFER.NXE, and — for writes — a dirty bit already set in the page table
//! are folded into it when the entry is filled. So a hit is one compare,
//! and the physical address is the linear one plus the entry's addend.
//!
//! Anything that changes how tags were folded (CR0.WP, CR0.PG, CR4.PSE/
//! PAE/PGE, EFER.NXE, the A20 gate) flushes everything; MOV CR3 keeps
//! global entries; INVLPG drops one page (every 4 KiB piece of a large
//! page). Pages that map MMIO or ROM need no mark: the physical access after
//! a hit goes through [`PhysMem`](crane86_mmu::PhysMem), which dispatches.

use crane86_mmu::page_walk::{Access, Translation};

/// Entries per set. A power of two.
pub const ENTRIES: usize = 1024;

/// A tag that never matches: page addresses have their low 12 bits clear.
const INVALID: u32 = 1;

/// Size of the largest page: INVLPG of an address in a large page drops
/// every cached piece of the aligned region this size around it.
const LARGE_REGION: u32 = 4 << 20;

/// One cached translation for one privilege: 16 bytes, so a set of 1024
/// is 16 KiB and a lookup touches one quarter of a host cache line.
#[repr(C, align(16))]
#[derive(Clone, Copy, Debug)]
pub struct TlbEntry {
    /// Linear page address when reads hit, else [`INVALID`].
    pub read: u32,
    /// Linear page address when writes hit (allowed, and D already set).
    pub write: u32,
    /// Linear page address when instruction fetches hit.
    pub fetch: u32,
    /// Physical address = linear address + addend (mod 2^32). Pages above
    /// 4 GiB (possible with PAE) are never cached: there is no RAM there.
    pub addend: u32,
}

const EMPTY: TlbEntry = TlbEntry {
    read: INVALID,
    write: INVALID,
    fetch: INVALID,
    addend: 0,
};

/// `Tlb::meta` bits, per slot.
const GLOBAL: u8 = 1;
const LARGE: u8 = 2;
/// The slot is on the `used` list / the `large` list.
const IN_USED: u8 = 4;
const IN_LARGE: u8 = 8;

pub struct Tlb {
    /// `sets[0]`: supervisor accesses, `sets[1]`: user accesses.
    pub sets: Box<[[TlbEntry; ENTRIES]; 2]>,
    /// GLOBAL and LARGE of the translation in each slot, and list marks.
    meta: Box<[u8; ENTRIES]>,
    /// Slots filled since the last flush, so a flush costs what was used.
    used: Vec<u16>,
    /// Slots that were filled from large pages (INVLPG scans them).
    large: Vec<u16>,
    /// The PAE PDPTE registers.
    pub pdptes: [u64; 4],
    /// The CR3 value the PDPTE registers were loaded from. A task switch
    /// changes CR3 without MOV to CR3; the walk then reloads them.
    pub pdpte_cr3: Option<u32>,
}

impl Default for Tlb {
    fn default() -> Self {
        Tlb {
            sets: Box::new([[EMPTY; ENTRIES]; 2]),
            meta: Box::new([0; ENTRIES]),
            used: Vec::with_capacity(ENTRIES),
            large: Vec::new(),
            pdptes: [0; 4],
            pdpte_cr3: None,
        }
    }
}

impl Tlb {
    #[inline(always)]
    pub fn slot(lin: u32) -> usize {
        ((lin >> 12) as usize) & (ENTRIES - 1)
    }

    #[inline(always)]
    fn entry(&self, lin: u32, user: bool) -> &TlbEntry {
        &self.sets[user as usize][Self::slot(lin)]
    }

    /// Physical address for a read of `lin` when the TLB allows it as is.
    #[inline(always)]
    pub fn read(&self, lin: u32, user: bool) -> Option<u64> {
        let e = self.entry(lin, user);
        (e.read == lin & !0xFFF).then(|| lin.wrapping_add(e.addend) as u64)
    }

    /// Physical address for a write of `lin` when the TLB allows it as is.
    #[inline(always)]
    pub fn write(&self, lin: u32, user: bool) -> Option<u64> {
        let e = self.entry(lin, user);
        (e.write == lin & !0xFFF).then(|| lin.wrapping_add(e.addend) as u64)
    }

    /// Physical address for an instruction fetch at `lin`.
    #[inline(always)]
    pub fn fetch(&self, lin: u32, user: bool) -> Option<u64> {
        let e = self.entry(lin, user);
        (e.fetch == lin & !0xFFF).then(|| lin.wrapping_add(e.addend) as u64)
    }

    #[inline(always)]
    pub fn lookup(&self, lin: u32, access: Access, user: bool) -> Option<u64> {
        match access {
            Access::Read => self.read(lin, user),
            Access::Write => self.write(lin, user),
            Access::Fetch => self.fetch(lin, user),
        }
    }

    /// Caches a successful walk of `lin`. `wp` is CR0.WP (XD under NXE is
    /// already in `t.executable`); `pge` is CR4.PGE.
    pub fn insert(&mut self, lin: u32, t: &Translation, wp: bool, pge: bool) {
        let page = lin & !0xFFF;
        let s = Self::slot(lin);
        if t.phys >> 32 != 0 {
            if self.sets[0][s].read == page {
                self.clear_slot(s);
            }
            return;
        }
        let addend = (t.phys as u32 & !0xFFF).wrapping_sub(page);
        let tag = |ok: bool| if ok { page } else { INVALID };
        self.sets[0][s] = TlbEntry {
            read: page,
            write: tag(t.dirty && (t.writable || !wp)),
            fetch: tag(t.executable),
            addend,
        };
        self.sets[1][s] = TlbEntry {
            read: tag(t.user),
            write: tag(t.user && t.writable && t.dirty),
            fetch: tag(t.user && t.executable),
            addend,
        };
        let mut m = self.meta[s] & (IN_USED | IN_LARGE);
        if t.global && pge {
            m |= GLOBAL;
        }
        if m & IN_USED == 0 {
            m |= IN_USED;
            self.used.push(s as u16);
        }
        if t.page_size > 4096 {
            m |= LARGE;
            if m & IN_LARGE == 0 {
                m |= IN_LARGE;
                self.large.push(s as u16);
            }
        }
        self.meta[s] = m;
    }

    fn clear_slot(&mut self, s: usize) {
        self.sets[0][s] = EMPTY;
        self.sets[1][s] = EMPTY;
        self.meta[s] &= IN_USED | IN_LARGE;
    }

    /// MOV CR3 and task switches: drop everything but global pages.
    pub fn flush_non_global(&mut self) {
        let mut used = std::mem::take(&mut self.used);
        used.retain(|&s| {
            let s = s as usize;
            if self.meta[s] & GLOBAL != 0 {
                true
            } else {
                self.clear_slot(s);
                self.meta[s] &= !IN_USED;
                false
            }
        });
        self.used = used;
        let mut large = std::mem::take(&mut self.large);
        large.retain(|&s| {
            let keep = self.meta[s as usize] & LARGE != 0;
            if !keep {
                self.meta[s as usize] &= !IN_LARGE;
            }
            keep
        });
        self.large = large;
    }

    /// Everything, global pages included.
    pub fn flush_all(&mut self) {
        for s in std::mem::take(&mut self.used) {
            self.clear_slot(s as usize);
            self.meta[s as usize] = 0;
        }
        for s in std::mem::take(&mut self.large) {
            self.meta[s as usize] = 0;
        }
    }

    /// INVLPG, and a page fault at `lin` (SDM 4.10.4.1): any entry for the
    /// page, global or not; for a large page, every cached piece of it.
    pub fn flush_page(&mut self, lin: u32) {
        let s = Self::slot(lin);
        if self.sets[0][s].read == lin & !0xFFF {
            self.clear_slot(s);
        }
        if self.large.is_empty() {
            return;
        }
        let region = lin & !(LARGE_REGION - 1);
        for k in 0..self.large.len() {
            let s = self.large[k] as usize;
            let page = self.sets[0][s].read;
            if self.meta[s] & LARGE != 0 && page != INVALID && page & !(LARGE_REGION - 1) == region
            {
                self.clear_slot(s);
            }
        }
    }
}

/// The paging path as the instruction semantics see it: `Exec` with the
/// TLB, MOV to CR, INVLPG-style flushes, EFER and the PDPTE registers.
#[cfg(test)]
mod tests {
    use crate::exception::{vector, Exception};
    use crate::exec::Exec;
    use crate::state::{cr0, cr4, CpuState};
    use crate::system::{efer, msr};
    use crate::tlb::Tlb;
    use crate::Platform;
    use crane86_mmu::page_walk::{pf, Access};
    use crane86_mmu::PhysMem;

    struct NoIo {
        a20: Option<bool>,
    }
    impl Platform for NoIo {
        fn io_read(&mut self, _: u16, _: u8) -> u32 {
            0xFF
        }
        fn io_write(&mut self, port: u16, _: u8, v: u32) {
            if port == 0x92 {
                self.a20 = Some(v & 2 != 0);
            }
        }
        fn interrupt_pending(&mut self) -> bool {
            false
        }
        fn acknowledge_interrupt(&mut self) -> u8 {
            0
        }
        fn take_a20_change(&mut self) -> Option<bool> {
            self.a20.take()
        }
    }

    struct Rig {
        s: CpuState,
        mem: PhysMem,
        io: NoIo,
        tlb: Tlb,
    }

    impl Rig {
        fn x(&mut self) -> Exec<'_> {
            Exec::new(&mut self.s, &mut self.mem, &mut self.io, &mut self.tlb)
        }
        fn w(&mut self, addr: u64, v: u64) {
            self.mem.write(addr, 8, v);
        }
    }

    const PD: u64 = 0x1000;
    const PT: u64 = 0x2000;
    const PDPT: u64 = 0x3000;
    const PDPAE: u64 = 0x4000;
    const PTPAE: u64 = 0x5000;

    /// Protected mode, ring 0. 32-bit tables: the first 4 MiB identity
    /// mapped (user, writable, A and D set) through PT. PAE tables: PDPTE 0
    /// -> PDPAE, whose entry 0 -> PTPAE, identity for the first 2 MiB.
    fn rig() -> Rig {
        let mut r = Rig {
            s: CpuState::reset(),
            mem: PhysMem::new(16 << 20, &vec![0u8; 0x10000]).unwrap(),
            io: NoIo { a20: None },
            tlb: Tlb::default(),
        };
        r.mem.set_a20(true);
        r.s.cr0 = cr0::PE | cr0::ET;
        r.w(PD, PT | 0x67);
        for k in 0..1024u64 {
            r.mem.write(PT + 4 * k, 4, k << 12 | 0x67);
        }
        r.w(PDPT, PDPAE | 1);
        r.w(PDPAE, PTPAE | 0x67);
        for k in 0..512u64 {
            r.w(PTPAE + 8 * k, k << 12 | 0x67);
        }
        r
    }

    fn paging32(r: &mut Rig) {
        let mut x = r.x();
        x.write_cr(3, PD as u32).unwrap();
        x.write_cr(0, cr0::PE | cr0::PG).unwrap();
    }

    fn paging_pae(r: &mut Rig, nxe: bool) {
        let mut x = r.x();
        if nxe {
            x.wrmsr(msr::EFER, efer::NXE).unwrap();
        }
        x.write_cr(3, PDPT as u32).unwrap();
        x.write_cr(4, cr4::PAE).unwrap();
        x.write_cr(0, cr0::PE | cr0::PG).unwrap();
    }

    fn pf_code(e: Exception) -> u32 {
        match e {
            Exception::Fault {
                vector: vector::PF,
                error: Some(c),
            } => c,
            other => panic!("expected #PF, got {other:?}"),
        }
    }

    #[test]
    fn write_hits_only_once_dirty_is_set() {
        let mut r = rig();
        r.mem.write(PT + 4 * 0x10, 4, 0x10_000 | 0x27); // A set, D clear
        paging32(&mut r);
        assert_eq!(r.x().read_lin(0x10_004, 4).unwrap(), 0);
        assert!(r.tlb.read(0x10_000, false).is_some(), "read filled the TLB");
        assert!(
            r.tlb.write(0x10_000, false).is_none(),
            "D clear: no write hit"
        );
        r.x().write_lin(0x10_004, 4, 0x1234).unwrap();
        assert_eq!(r.mem.read(PT + 0x40, 4) & 0x40, 0x40, "the write set D");
        assert!(r.tlb.write(0x10_000, false).is_some());
        assert_eq!(r.mem.read(0x10_004, 4), 0x1234);
        // A read walk of a page whose D is already set allows write hits.
        r.x().read_lin(0x11_000, 1).unwrap();
        assert!(r.tlb.write(0x11_000, false).is_some());
    }

    #[test]
    fn fetch_from_xd_page_faults_even_after_a_read_hit() {
        let mut r = rig();
        r.w(PTPAE + 8 * 0x20, 0x20_000 | 0x67 | 1 << 63);
        paging_pae(&mut r, true);
        let mut x = r.x();
        x.read_lin(0x20_000, 4).unwrap();
        assert!(x.tlb.read(0x20_000, false).is_some());
        let e = x.translate(0x20_010, Access::Fetch, false).unwrap_err();
        assert_eq!(pf_code(e), pf::P | pf::ID);
        assert_eq!(x.s.cr2, 0x20_010);
        // User fetch: U/S and I/D in the code too.
        let e = x.translate(0x20_010, Access::Fetch, true).unwrap_err();
        assert_eq!(pf_code(e), pf::P | pf::ID | pf::U);
        // Clearing NXE makes bit 63 reserved, and flushes the cached entry.
        x.wrmsr(msr::EFER, 0).unwrap();
        let e = x.read_lin(0x20_000, 4).unwrap_err();
        assert_eq!(pf_code(e), pf::P | pf::RSVD);
        assert_eq!(x.translate(0x21_000, Access::Fetch, false), Ok(0x21_000));
    }

    #[test]
    fn cr0_wp_change_applies_to_cached_entries() {
        let mut r = rig();
        r.mem.write(PT + 4 * 0x30, 4, 0x30_000 | 0x65); // read-only, D set
        paging32(&mut r);
        r.x().write_lin(0x30_000, 4, 7).unwrap();
        assert!(
            r.tlb.write(0x30_000, false).is_some(),
            "WP=0: ring 0 writes"
        );
        assert!(r.tlb.write(0x30_000, true).is_none(), "never for user");
        r.x().write_cr(0, cr0::PE | cr0::PG | cr0::WP).unwrap();
        let e = r.x().write_lin(0x30_000, 4, 8).unwrap_err();
        assert_eq!(pf_code(e), pf::P | pf::W);
        assert_eq!(r.mem.read(0x30_000, 4), 7);
    }

    #[test]
    fn bad_pdptes_are_gp_at_mov_cr_and_change_nothing() {
        let mut r = rig();
        paging_pae(&mut r, false);
        r.w(0x6000, PDPAE | 1);
        r.w(0x6008, PDPAE | 1 | 1 << 40); // reserved bit in a present PDPTE
        let gp = Err(Exception::gp0());
        assert_eq!(r.x().write_cr(3, 0x6000), gp);
        assert_eq!(r.s.cr3, PDPT as u32);
        r.w(0x6008, PDPAE | 1 << 40); // not present: fine
        assert_eq!(r.x().write_cr(3, 0x6000), Ok(()));
        assert_eq!(r.s.cr3, 0x6000);
        // Enabling PAE paging through CR4 or CR0 loads them too.
        let mut r = rig();
        r.w(PDPT + 16, 4); // reserved bit 2, present? no: P clear
        r.w(PDPT + 24, 0x1 | 0x2);
        r.x().write_cr(3, PDPT as u32).unwrap();
        r.x().write_cr(0, cr0::PE | cr0::PG).unwrap();
        assert_eq!(r.x().write_cr(4, cr4::PAE), gp);
        assert_eq!(r.s.cr4, 0);
        r.x().write_cr(0, cr0::PE).unwrap();
        r.x().write_cr(4, cr4::PAE).unwrap();
        assert_eq!(r.x().write_cr(0, cr0::PE | cr0::PG), gp);
        assert_eq!(r.s.cr0 & cr0::PG, 0);
        // 32-bit paging: CR3 has no reserved bits to check.
        let mut r = rig();
        paging32(&mut r);
        assert_eq!(r.x().write_cr(3, 0xFFFF_FFFF), Ok(()));
        assert!(r.x().read_lin(0, 4).is_err(), "PD above RAM: #PF, no panic");
    }

    #[test]
    fn pdpte_registers_hold_until_cr3_is_loaded() {
        let mut r = rig();
        paging_pae(&mut r, false);
        r.w(PDPT, 0); // not present in memory now
        r.tlb.flush_all();
        assert_eq!(r.x().read_lin(0x1000, 4), Ok(0x2067), "register still used");
        r.x().write_cr(3, PDPT as u32).unwrap();
        let e = r.x().read_lin(0x1000, 4).unwrap_err();
        assert_eq!(pf_code(e), 0, "reloaded: PDPTE 0 not present");
        // A task switch sets CR3 directly: the walk reloads them.
        r.w(0x6000, PDPAE | 1);
        r.s.cr3 = 0x6000;
        r.tlb.flush_non_global();
        assert_eq!(r.x().read_lin(0x1000, 4), Ok(0x2067));
    }

    #[test]
    fn global_entries_survive_cr3_but_not_pge_changes() {
        let mut r = rig();
        r.mem.write(PT + 4 * 0x40, 4, 0x40_000 | 0x167);
        paging32(&mut r);
        r.x().write_cr(4, cr4::PGE).unwrap();
        r.x().read_lin(0x40_000, 4).unwrap();
        r.x().read_lin(0x41_000, 4).unwrap();
        r.x().write_cr(3, PD as u32).unwrap();
        assert!(r.tlb.read(0x40_000, false).is_some(), "global kept");
        assert!(r.tlb.read(0x41_000, false).is_none(), "non-global dropped");
        r.x().write_cr(4, 0).unwrap();
        assert!(
            r.tlb.read(0x40_000, false).is_none(),
            "PGE change flushes all"
        );
        // Without PGE the G bit is not honoured.
        r.x().read_lin(0x40_000, 4).unwrap();
        r.x().write_cr(3, PD as u32).unwrap();
        assert!(r.tlb.read(0x40_000, false).is_none());
    }

    #[test]
    fn invlpg_in_a_large_page_drops_every_piece() {
        let mut r = rig();
        r.w(PD + 4, 0x0040_0000 | 0xE7); // 4 MiB page at 4 MiB, PS
        paging32(&mut r);
        r.x().write_cr(4, cr4::PSE).unwrap();
        r.x().read_lin(0x0040_0000, 4).unwrap();
        r.x().read_lin(0x0050_3000, 4).unwrap();
        r.x().read_lin(0x0000_3000, 4).unwrap();
        r.tlb.flush_page(0x0060_0000);
        assert!(r.tlb.read(0x0040_0000, false).is_none());
        assert!(r.tlb.read(0x0050_3000, false).is_none());
        assert!(r.tlb.read(0x0000_3000, false).is_some(), "4 KiB page kept");
        // INVLPG of a 4 KiB page drops it, global or not.
        r.tlb.flush_page(0x0000_3FFF);
        assert!(r.tlb.read(0x0000_3000, false).is_none());
    }

    #[test]
    fn page_fault_drops_the_stale_entry() {
        let mut r = rig();
        r.mem.write(PT + 4 * 0x50, 4, 0x50_000 | 0x27); // D clear
        paging32(&mut r);
        r.x().read_lin(0x50_000, 4).unwrap();
        r.mem.write(PT + 4 * 0x50, 4, 0); // not present, no INVLPG
        assert!(r.x().read_lin(0x50_000, 4).is_ok(), "the TLB may keep it");
        let e = r.x().write_lin(0x50_000, 4, 1).unwrap_err();
        assert_eq!(
            pf_code(e),
            pf::W,
            "the write must walk (D clear): not present"
        );
        let e = r.x().read_lin(0x50_000, 4).unwrap_err();
        assert_eq!(pf_code(e), 0, "the fault dropped the stale entry");
    }

    #[test]
    fn page_crossing_write_faults_before_writing() {
        let mut r = rig();
        r.mem.write(PT + 4 * 0x61, 4, 0); // 0x61000 not present
        paging32(&mut r);
        r.mem.write(0x60_FFC, 4, 0xAABB_CCDD);
        let e = r.x().write_lin(0x60_FFE, 4, 0x1122_3344).unwrap_err();
        assert_eq!(pf_code(e), pf::W);
        assert_eq!(r.s.cr2, 0x61_000);
        assert_eq!(r.mem.read(0x60_FFC, 4), 0xAABB_CCDD, "first page untouched");
        // A read-only second page, user write: P|W|U, still nothing written.
        r.mem.write(PT + 4 * 0x61, 4, 0x61_000 | 0x65);
        let e = r
            .x()
            .write_lin_as(0x60_FFE, 4, 0x1122_3344, true)
            .unwrap_err();
        assert_eq!(pf_code(e), pf::P | pf::W | pf::U);
        assert_eq!(r.mem.read(0x60_FFC, 4), 0xAABB_CCDD);
        // Both writable: the bytes land on both pages.
        r.mem.write(PT + 4 * 0x61, 4, 0x61_000 | 0x67);
        r.x().write_lin(0x60_FFE, 4, 0x1122_3344).unwrap();
        assert_eq!(r.mem.read(0x60_FFC, 4), 0x3344_CCDD);
        assert_eq!(r.mem.read(0x61_000, 2), 0x1122);
    }

    #[test]
    fn efer_accepts_only_nxe() {
        let mut r = rig();
        let mut x = r.x();
        assert_eq!(x.rdmsr(msr::EFER), Ok(0));
        for bit in [0, 8, 10, 12, 63] {
            assert_eq!(
                x.wrmsr(msr::EFER, 1 << bit),
                Err(Exception::gp0()),
                "bit {bit}"
            );
        }
        x.wrmsr(msr::EFER, efer::NXE).unwrap();
        assert_eq!(x.rdmsr(msr::EFER), Ok(efer::NXE));
    }

    #[test]
    fn a20_change_flushes() {
        let mut r = rig();
        paging32(&mut r);
        r.x().read_lin(0x1000, 4).unwrap();
        r.x().port_out(0x92, 1, 0).unwrap(); // A20 off
        assert!(r.tlb.read(0x1000, false).is_none());
    }

    #[test]
    fn pages_above_4g_translate_but_are_not_cached() {
        let mut r = rig();
        r.w(PTPAE + 8 * 0x70, 0x1_0000_0000 | 0x67);
        paging_pae(&mut r, false);
        let mut x = r.x();
        assert_eq!(x.read_lin(0x70_010, 4), Ok(0xFFFF_FFFF), "no RAM there");
        x.write_lin(0x70_010, 4, 0).unwrap();
        assert_eq!(
            x.translate(0x70_010, Access::Read, false),
            Ok(0x1_0000_0010)
        );
        assert!(x.tlb.read(0x70_010, false).is_none());
    }

    #[test]
    fn cpuid_claims_pae_and_nx() {
        let l1 = crate::cpuid::cpuid(1);
        assert_ne!(l1[3] & (1 << 6), 0, "PAE");
        let max = crate::cpuid::cpuid(0x8000_0000)[0];
        assert!(max >= 0x8000_0001);
        assert_ne!(crate::cpuid::cpuid(0x8000_0001)[3] & (1 << 20), 0, "NX");
    }
}
