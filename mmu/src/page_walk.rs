//! Linear → physical translation (Intel SDM vol. 3, chapter 4):
//!
//! - 32-bit paging with 4 KiB and 4 MiB pages (4.3);
//! - PAE paging with 4 KiB and 2 MiB pages, 64-bit entries and the
//!   execute-disable bit (4.4), including the PDPTE register load (4.4.1);
//! - reserved-bit checks (4.3, 4.4.2), permission checks with CR0.WP and
//!   EFER.NXE (4.6), accessed and dirty bits written back atomically (4.8),
//!   and the #PF error code (4.7).
//!
//! Physical addresses are limited to [`MAX_PHYS_BITS`] bits. A walk that
//! reaches outside RAM reads all ones (see [`PhysMem`]), which looks like a
//! present entry with reserved bits set (PAE) or an arbitrary entry (32-bit
//! paging); either way the result is what the SDM defines for those bits,
//! never a panic.

use crate::PhysMem;

/// MAXPHYADDR. We report no CPUID leaf 0x80000008, so by the SDM (CPUID,
/// "Linear/Physical Address size") it is 36 when PAE is claimed.
pub const MAX_PHYS_BITS: u32 = 36;
/// Physical-address bits an entry may hold.
const PHYS_MASK: u64 = (1 << MAX_PHYS_BITS) - 1;

/// What the access wants to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Fetch,
}

/// Paging controls that affect a walk.
#[derive(Clone, Copy, Debug, Default)]
pub struct PagingMode {
    pub cr3: u32,
    /// CR0.WP: supervisor writes honour read-only pages.
    pub wp: bool,
    /// CR4.PSE: 4 MiB pages allowed (32-bit paging only).
    pub pse: bool,
    /// CR4.PAE: PAE paging (the walk starts at `pdptes`, not at `cr3`).
    pub pae: bool,
    /// IA32_EFER.NXE: bit 63 of PAE entries is XD rather than reserved.
    pub nxe: bool,
    /// The PDPTE registers (PAE only), as [`load_pdptes`] loaded them.
    pub pdptes: [u64; 4],
}

/// #PF error code bits (SDM 4.7).
pub mod pf {
    pub const P: u32 = 1;
    pub const W: u32 = 2;
    pub const U: u32 = 4;
    pub const RSVD: u32 = 8;
    pub const ID: u32 = 16;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translation {
    pub phys: u64,
    /// The mapping allows user access (U/S set at every level).
    pub user: bool,
    /// The mapping allows writes (R/W set at every level).
    pub writable: bool,
    /// Instruction fetches are allowed (no level sets XD with NXE on).
    pub executable: bool,
    /// G is set in the entry that maps the page.
    pub global: bool,
    /// The entry that maps the page has D set (after this walk).
    pub dirty: bool,
    /// Size of the page mapped: 4 KiB, 2 MiB or 4 MiB.
    pub page_size: u32,
}

const P: u64 = 1;
const RW: u64 = 2;
const US: u64 = 4;
const A: u64 = 0x20;
const D: u64 = 0x40;
const PS: u64 = 0x80;
const G: u64 = 0x100;
const XD: u64 = 1 << 63;

/// Reserved bits of a present PAE PDPTE: 2:1, 8:5 and 63:MAXPHYADDR
/// (SDM table 4-8; there is no XD bit in a PDPTE).
pub const PDPTE_RESERVED: u64 = 0x1E6 | !PHYS_MASK;
/// Reserved bits of a 32-bit PDE that maps a 4 MiB page: 21:13, since we do
/// not claim PSE-36 (SDM table 4-4).
const PDE4M_RESERVED: u32 = 0x003F_E000;
/// Reserved bits of a PAE PDE that maps a 2 MiB page, besides the
/// address bits above MAXPHYADDR: 20:13 (SDM table 4-9).
const PDE2M_RESERVED: u64 = 0x001F_E000;

/// Reads the four PDPTEs of PAE paging from the 32-byte table at `cr3`
/// (SDM 4.4.1, table 4-7: CR3 bits 31:5 locate it), without checks.
pub fn read_pdptes(mem: &mut PhysMem, cr3: u32) -> [u64; 4] {
    let base = (cr3 & !0x1F) as u64;
    std::array::from_fn(|k| mem.read(base + 8 * k as u64, 8))
}

/// True when no present PDPTE sets a reserved bit.
pub fn pdptes_valid(pdptes: &[u64; 4]) -> bool {
    pdptes.iter().all(|e| e & P == 0 || e & PDPTE_RESERVED == 0)
}

/// Loads the PDPTE registers as MOV to CR0/CR3/CR4 does (SDM 4.4.1).
/// `None` when a present entry sets a reserved bit: the instruction then
/// raises #GP(0) and the registers keep their values.
pub fn load_pdptes(mem: &mut PhysMem, cr3: u32) -> Option<[u64; 4]> {
    let r = read_pdptes(mem, cr3);
    pdptes_valid(&r).then_some(r)
}

/// Walks the page tables for `lin`. `user` is true for a CPL 3 access (an
/// implicit supervisor access, e.g. to the GDT, passes `false`). On failure
/// returns the #PF error code; CR2 is the caller's business.
pub fn page_walk(
    mem: &mut PhysMem,
    mode: PagingMode,
    lin: u32,
    access: Access,
    user: bool,
) -> Result<Translation, u32> {
    let mut err = if user { pf::U } else { 0 };
    match access {
        Access::Write => err |= pf::W,
        // I/D is reported only when XD exists (PAE with NXE; no SMEP here).
        Access::Fetch if mode.pae && mode.nxe => err |= pf::ID,
        _ => {}
    }
    let walk = if mode.pae {
        walk_pae(mem, &mode, lin, err)
    } else {
        walk_32(mem, &mode, lin, err)
    }?;
    let Walk { t, leaf_addr, leaf } = walk;
    let ok = match access {
        Access::Read => !user || t.user,
        Access::Write if user => t.user && t.writable,
        Access::Write => t.writable || !mode.wp,
        Access::Fetch => (!user || t.user) && t.executable,
    };
    if !ok {
        return Err(err | pf::P);
    }
    let bits = if access == Access::Write { A | D } else { A };
    set_bits(mem, leaf_addr, leaf as u32, bits as u32);
    Ok(Translation {
        dirty: leaf & D != 0 || access == Access::Write,
        ..t
    })
}

/// A successful walk before the permission check: the leaf entry is
/// returned so its A/D bits can be set once the access is allowed.
struct Walk {
    t: Translation,
    leaf_addr: u64,
    leaf: u64,
}

fn walk_32(mem: &mut PhysMem, mode: &PagingMode, lin: u32, err: u32) -> Result<Walk, u32> {
    let pde_addr = (mode.cr3 & 0xFFFF_F000) as u64 | ((lin >> 22) as u64) << 2;
    let pde = mem.read(pde_addr, 4) as u32;
    if pde & P as u32 == 0 {
        return Err(err);
    }
    if pde & PS as u32 != 0 && mode.pse {
        if pde & PDE4M_RESERVED != 0 {
            return Err(err | pf::P | pf::RSVD);
        }
        return Ok(Walk {
            t: Translation {
                phys: (pde & 0xFFC0_0000) as u64 | (lin & 0x003F_FFFF) as u64,
                user: pde & US as u32 != 0,
                writable: pde & RW as u32 != 0,
                executable: true,
                global: pde & G as u32 != 0,
                dirty: false,
                page_size: 4 << 20,
            },
            leaf_addr: pde_addr,
            leaf: pde as u64,
        });
    }
    // The PDE is used to reach the page table: it is accessed even if the
    // PTE then faults.
    set_bits(mem, pde_addr, pde, A as u32);
    let pte_addr = (pde & 0xFFFF_F000) as u64 | (((lin >> 12) & 0x3FF) as u64) << 2;
    let pte = mem.read(pte_addr, 4) as u32;
    if pte & P as u32 == 0 {
        return Err(err);
    }
    Ok(Walk {
        t: Translation {
            phys: (pte & 0xFFFF_F000) as u64 | (lin & 0xFFF) as u64,
            user: pde & pte & US as u32 != 0,
            writable: pde & pte & RW as u32 != 0,
            executable: true,
            global: pte & G as u32 != 0,
            dirty: false,
            page_size: 4096,
        },
        leaf_addr: pte_addr,
        leaf: pte as u64,
    })
}

fn walk_pae(mem: &mut PhysMem, mode: &PagingMode, lin: u32, err: u32) -> Result<Walk, u32> {
    // Bits 62:MAXPHYADDR are always reserved; bit 63 too unless NXE is on.
    let reserved = if mode.nxe {
        !PHYS_MASK & !XD
    } else {
        !PHYS_MASK
    };
    let pdpte = mode.pdptes[(lin >> 30) as usize];
    if pdpte & P == 0 {
        return Err(err);
    }
    if pdpte & PDPTE_RESERVED != 0 {
        // Only reachable when the registers were loaded without the MOV to
        // CR checks (a task switch): a reserved bit is then a #PF.
        return Err(err | pf::P | pf::RSVD);
    }
    let pde_addr = (pdpte & PHYS_MASK & !0xFFF) | (((lin >> 21) & 0x1FF) as u64) << 3;
    let pde = mem.read(pde_addr, 8);
    if pde & P == 0 {
        return Err(err);
    }
    if pde & reserved != 0 || (pde & PS != 0 && pde & PDE2M_RESERVED != 0) {
        return Err(err | pf::P | pf::RSVD);
    }
    let nx = |e: u64| mode.nxe && e & XD != 0;
    if pde & PS != 0 {
        return Ok(Walk {
            t: Translation {
                phys: (pde & PHYS_MASK & !0x1F_FFFF) | (lin & 0x1F_FFFF) as u64,
                user: pde & US != 0,
                writable: pde & RW != 0,
                executable: !nx(pde),
                global: pde & G != 0,
                dirty: false,
                page_size: 2 << 20,
            },
            leaf_addr: pde_addr,
            leaf: pde,
        });
    }
    set_bits(mem, pde_addr, pde as u32, A as u32);
    let pte_addr = (pde & PHYS_MASK & !0xFFF) | (((lin >> 12) & 0x1FF) as u64) << 3;
    let pte = mem.read(pte_addr, 8);
    if pte & P == 0 {
        return Err(err);
    }
    if pte & reserved != 0 {
        return Err(err | pf::P | pf::RSVD);
    }
    Ok(Walk {
        t: Translation {
            phys: (pte & PHYS_MASK & !0xFFF) | (lin & 0xFFF) as u64,
            user: pde & pte & US != 0,
            writable: pde & pte & RW != 0,
            executable: !nx(pde) && !nx(pte),
            global: pte & G != 0,
            dirty: false,
            page_size: 4096,
        },
        leaf_addr: pte_addr,
        leaf: pte,
    })
}

/// Sets A (and D) in the entry's low dword with a compare-exchange loop so
/// another vCPU's concurrent update of the same entry is not lost. (A and D
/// are in the low dword of PAE entries too.)
///
/// The number of retries is bounded: an "entry" in device space may read
/// differently every time, and a walk must not hang on it.
fn set_bits(mem: &mut PhysMem, addr: u64, mut old: u32, bits: u32) {
    for _ in 0..64 {
        if old & bits == bits {
            return;
        }
        let found = mem.cmpxchg_u32(addr, old, old | bits);
        if found == old {
            return;
        }
        old = found;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mem() -> PhysMem {
        PhysMem::new(8 << 20, &vec![0u8; 0x10000]).unwrap()
    }

    fn rd(m: &mut PhysMem, addr: u64) -> u64 {
        m.read(addr, 8)
    }

    // 32-bit layout: page directory at 0x1000, page table at 0x2000.
    const PD32: u64 = 0x1000;
    const PT32: u64 = 0x2000;
    const MODE32: PagingMode = PagingMode {
        cr3: PD32 as u32,
        wp: false,
        pse: true,
        pae: false,
        nxe: false,
        pdptes: [0; 4],
    };

    // PAE layout: PDPT at 0x3000 (the CR3 value), PD at 0x4000, PT at 0x5000.
    const PDPT: u64 = 0x3000;
    const PDPAE: u64 = 0x4000;
    const PTPAE: u64 = 0x5000;

    fn pae_mode(m: &mut PhysMem, nxe: bool) -> PagingMode {
        PagingMode {
            cr3: PDPT as u32,
            wp: false,
            pse: false,
            pae: true,
            nxe,
            pdptes: load_pdptes(m, PDPT as u32).expect("valid PDPTEs"),
        }
    }

    /// Expected outcome of an access by SDM 4.6.1, written as the manual
    /// words it, independently of the walker's code: Ok or the #PF code.
    fn sdm_rule(
        us_all: bool,
        rw_all: bool,
        xd_any: bool,
        wp: bool,
        user: bool,
        access: Access,
        id_reported: bool,
    ) -> Result<(), u32> {
        let allowed = if user {
            match access {
                Access::Read => us_all,
                Access::Write => us_all && rw_all,
                Access::Fetch => us_all && !xd_any,
            }
        } else {
            match access {
                Access::Read => true,
                Access::Write => !wp || rw_all,
                Access::Fetch => !xd_any,
            }
        };
        if allowed {
            return Ok(());
        }
        let mut e = pf::P;
        if access == Access::Write {
            e |= pf::W;
        }
        if user {
            e |= pf::U;
        }
        if access == Access::Fetch && id_reported {
            e |= pf::ID;
        }
        Err(e)
    }

    const ACCESSES: [Access; 3] = [Access::Read, Access::Write, Access::Fetch];

    #[test]
    fn permission_matrix_32bit() {
        for bits in 0..16u32 {
            let (pde_us, pde_rw, pte_us, pte_rw) =
                (bits & 1 != 0, bits & 2 != 0, bits & 4 != 0, bits & 8 != 0);
            for wp in [false, true] {
                for user in [false, true] {
                    for access in ACCESSES {
                        let mut m = mem();
                        let flag = |us: bool, rw: bool| 1 | (rw as u64) << 1 | (us as u64) << 2;
                        m.write(PD32 + 4, 4, PT32 | flag(pde_us, pde_rw));
                        m.write(PT32 + 5 * 4, 4, 0x0007_7000 | flag(pte_us, pte_rw));
                        let mode = PagingMode { wp, ..MODE32 };
                        let lin = 0x0040_5ABC;
                        let got = page_walk(&mut m, mode, lin, access, user);
                        let want = sdm_rule(
                            pde_us && pte_us,
                            pde_rw && pte_rw,
                            false,
                            wp,
                            user,
                            access,
                            false,
                        );
                        let what = format!(
                            "pde us={pde_us} rw={pde_rw} pte us={pte_us} rw={pte_rw} wp={wp} user={user} {access:?}"
                        );
                        let pte = m.read(PT32 + 20, 4);
                        match want {
                            Ok(()) => {
                                let t = got.unwrap_or_else(|e| panic!("{what}: #PF {e:#x}"));
                                assert_eq!(t.phys, 0x7_7ABC, "{what}");
                                assert_eq!(pte & 0x20, 0x20, "{what}: A set");
                                let d = access == Access::Write;
                                assert_eq!(pte & 0x40 != 0, d, "{what}: D");
                                assert_eq!(t.dirty, d, "{what}: dirty reported");
                            }
                            Err(code) => {
                                assert_eq!(got, Err(code), "{what}");
                                assert_eq!(pte & 0x60, 0, "{what}: PTE A/D untouched");
                            }
                        }
                        // The PDE was used to reach the PTE either way.
                        assert_eq!(m.read(PD32 + 4, 4) & 0x60, 0x20, "{what}: PDE A");
                    }
                }
            }
        }
    }

    #[test]
    fn permission_matrix_pae_with_nx() {
        // bits: PDE U/S, PDE R/W, PTE U/S, PTE R/W, PDE XD, PTE XD.
        for bits in 0..64u32 {
            let b = |k: u32| bits & (1 << k) != 0;
            let (pde_us, pde_rw, pte_us, pte_rw, pde_xd, pte_xd) =
                (b(0), b(1), b(2), b(3), b(4), b(5));
            for nxe in [false, true] {
                for wp in [false, true] {
                    for user in [false, true] {
                        for access in ACCESSES {
                            let mut m = mem();
                            let flag = |us: bool, rw: bool, xd: bool| {
                                1 | (rw as u64) << 1 | (us as u64) << 2 | (xd as u64) << 63
                            };
                            m.write(PDPT, 8, PDPAE | 1);
                            m.write(PDPAE + 2 * 8, 8, PTPAE | flag(pde_us, pde_rw, pde_xd));
                            m.write(PTPAE + 5 * 8, 8, 0x0007_7000 | flag(pte_us, pte_rw, pte_xd));
                            let mode = PagingMode {
                                wp,
                                ..pae_mode(&mut m, nxe)
                            };
                            let lin = 0x0040_5ABC;
                            let got = page_walk(&mut m, mode, lin, access, user);
                            let what = format!(
                                "pde us={pde_us} rw={pde_rw} xd={pde_xd} pte us={pte_us} rw={pte_rw} xd={pte_xd} nxe={nxe} wp={wp} user={user} {access:?}"
                            );
                            let mut base = if user { pf::U } else { 0 };
                            if access == Access::Write {
                                base |= pf::W;
                            }
                            if access == Access::Fetch && nxe {
                                base |= pf::ID;
                            }
                            let want = if !nxe && pde_xd {
                                // Bit 63 is reserved without NXE, checked
                                // level by level.
                                Err(base | pf::P | pf::RSVD)
                            } else if !nxe && pte_xd {
                                Err(base | pf::P | pf::RSVD)
                            } else {
                                sdm_rule(
                                    pde_us && pte_us,
                                    pde_rw && pte_rw,
                                    pde_xd || pte_xd,
                                    wp,
                                    user,
                                    access,
                                    nxe,
                                )
                            };
                            let pte = m.read(PTPAE + 40, 8);
                            match want {
                                Ok(()) => {
                                    let t = got.unwrap_or_else(|e| panic!("{what}: #PF {e:#x}"));
                                    assert_eq!(t.phys, 0x7_7ABC, "{what}");
                                    assert_eq!(t.executable, !(pde_xd || pte_xd), "{what}");
                                    assert_eq!(pte & 0x20, 0x20, "{what}: A set");
                                    assert_eq!(
                                        pte & 0x40 != 0,
                                        access == Access::Write,
                                        "{what}: D"
                                    );
                                }
                                Err(code) => {
                                    assert_eq!(got, Err(code), "{what}");
                                    assert_eq!(pte & 0x60, 0, "{what}: PTE A/D untouched");
                                }
                            }
                            // XD and the upper half are never touched by A/D updates.
                            assert_eq!(pte >> 32, (pte_xd as u64) << 31, "{what}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn not_present_error_codes() {
        let mut m = mem();
        assert_eq!(
            page_walk(&mut m, MODE32, 0x1234, Access::Write, true),
            Err(pf::W | pf::U)
        );
        assert_eq!(
            page_walk(&mut m, MODE32, 0x1234, Access::Fetch, false),
            Err(0),
            "no I/D without PAE+NXE"
        );
        m.write(PD32, 4, PT32 | 7);
        assert_eq!(
            page_walk(&mut m, MODE32, 0x1234, Access::Read, false),
            Err(0),
            "PTE not present"
        );
        // PAE: PDPTE, PDE and PTE not present.
        m.write(PDPT + 8, 8, PDPAE | 1);
        let mode = pae_mode(&mut m, true);
        assert_eq!(
            page_walk(&mut m, mode, 0x1234, Access::Fetch, true),
            Err(pf::U | pf::ID)
        );
        assert_eq!(
            page_walk(&mut m, mode, 0x4000_1234, Access::Write, false),
            Err(pf::W)
        );
        m.write(PDPAE, 8, PTPAE | 7);
        assert_eq!(
            page_walk(&mut m, mode, 0x4000_1234, Access::Read, false),
            Err(0)
        );
        let no_nxe = pae_mode(&mut m, false);
        assert_eq!(
            page_walk(&mut m, no_nxe, 0x4000_1234, Access::Fetch, false),
            Err(0)
        );
    }

    #[test]
    fn four_m_pages_and_their_reserved_bits() {
        let mut m = mem();
        m.write(PD32 + 8, 4, 0x0040_0000 | PS | 3);
        let t = page_walk(&mut m, MODE32, 0x0089_ABCD, Access::Read, false).unwrap();
        assert_eq!(t.phys, 0x0049_ABCD);
        assert_eq!(t.page_size, 4 << 20);
        assert!(!t.dirty);
        assert_eq!(m.read(PD32 + 8, 4) & 0x60, 0x20);
        let t = page_walk(&mut m, MODE32, 0x0089_ABCD, Access::Write, false).unwrap();
        assert!(t.dirty);
        assert_eq!(m.read(PD32 + 8, 4) & 0x60, 0x60, "D lives in the 4 MiB PDE");
        // PAT (bit 12) is not reserved; each of bits 21:13 is.
        m.write(PD32 + 8, 4, 0x0040_1000 | PS | 3);
        assert!(page_walk(&mut m, MODE32, 0x0080_0000, Access::Read, false).is_ok());
        for bit in 13..=21 {
            m.write(PD32 + 8, 4, 0x0040_0000 | 1 << bit | PS | 3);
            assert_eq!(
                page_walk(&mut m, MODE32, 0x0080_0000, Access::Write, true),
                Err(pf::P | pf::W | pf::U | pf::RSVD),
                "bit {bit}"
            );
        }
        // Without CR4.PSE the PS bit is ignored and the entry points to a
        // table (here at 0x0040_0000 + bit 21, all zeroes: not present).
        let nopse = PagingMode {
            pse: false,
            ..MODE32
        };
        assert_eq!(
            page_walk(&mut m, nopse, 0x0080_0000, Access::Read, false),
            Err(0)
        );
        m.write(0x0060_0000, 4, 0x0000_5000 | 1);
        let t = page_walk(&mut m, nopse, 0x0080_0123, Access::Read, false).unwrap();
        assert_eq!((t.phys, t.page_size), (0x5123, 4096));
    }

    #[test]
    fn two_m_pages_and_pae_reserved_bits() {
        let mut m = mem();
        m.write(PDPT + 3 * 8, 8, PDPAE | 1);
        m.write(PDPAE + 8, 8, 0x0060_0000 | PS | 0x100 | 3);
        let mode = pae_mode(&mut m, true);
        let t = page_walk(&mut m, mode, 0xC03F_FFFF, Access::Write, false).unwrap();
        assert_eq!((t.phys, t.page_size), (0x007F_FFFF, 2 << 20));
        assert!(t.global && t.dirty && t.writable && !t.user && t.executable);
        assert_eq!(m.read(PDPAE + 8, 8) & 0x60, 0x60);
        // PAT (bit 12) is fine; bits 20:13 and 62:36 are reserved; bit 63 is
        // XD with NXE, reserved without.
        m.write(PDPAE + 8, 8, 0x0060_1000 | PS | 3);
        assert!(page_walk(&mut m, mode, 0xC020_0000, Access::Read, false).is_ok());
        for bit in (13..=20).chain(36..=62) {
            m.write(PDPAE + 8, 8, 0x0060_0000 | 1 << bit | PS | 3);
            assert_eq!(
                page_walk(&mut m, mode, 0xC020_0000, Access::Read, false),
                Err(pf::P | pf::RSVD),
                "2M PDE bit {bit}"
            );
        }
        m.write(PDPAE + 8, 8, 0x0060_0000 | XD | PS | 3);
        assert_eq!(
            page_walk(&mut m, mode, 0xC020_0000, Access::Fetch, false),
            Err(pf::P | pf::ID)
        );
        let no_nxe = pae_mode(&mut m, false);
        assert_eq!(
            page_walk(&mut m, no_nxe, 0xC020_0000, Access::Read, true),
            Err(pf::P | pf::RSVD | pf::U)
        );
        // 4 KiB level: PDE and PTE reserved bits (bits 20:13 are address
        // bits in a PDE that references a table, and in a PTE).
        m.write(PDPAE + 8, 8, PTPAE | 1 << 13 | 3);
        m.write(PTPAE, 8, 0x0001_2000 | 1 << 35 | 3);
        let t = page_walk(&mut m, mode, 0xC020_0000, Access::Read, false);
        assert_eq!(t, Err(0), "PT at 0x7000 | 0x2000: an empty table");
        m.write(PDPAE + 8, 8, PTPAE | 3);
        let t = page_walk(&mut m, mode, 0xC020_0000, Access::Read, false).unwrap();
        assert_eq!(t.phys, 0x8_0001_2000, "bit 35 is an address bit");
        for bit in 36..=62 {
            m.write(PTPAE, 8, 0x0001_2000 | 1 << bit | 3);
            assert_eq!(
                page_walk(&mut m, mode, 0xC020_0000, Access::Write, false),
                Err(pf::P | pf::W | pf::RSVD),
                "PTE bit {bit}"
            );
            m.write(PTPAE, 8, 0x0001_2000 | 3);
            m.write(PDPAE + 8, 8, PTPAE | 1 << bit | 3);
            assert_eq!(
                page_walk(&mut m, mode, 0xC020_0000, Access::Fetch, true),
                Err(pf::P | pf::U | pf::RSVD | pf::ID),
                "PDE bit {bit}"
            );
            m.write(PDPAE + 8, 8, PTPAE | 3);
        }
    }

    #[test]
    fn pdpte_load_checks_reserved_bits() {
        let mut m = mem();
        m.write(PDPT, 8, PDPAE | 1 | 0x18 | 0x800);
        m.write(PDPT + 8, 8, 0xFFFF_FFFF_FFFF_FFFE); // not present: ignored
        let r = load_pdptes(&mut m, PDPT as u32 | 0x1F).unwrap();
        assert_eq!(r[0], PDPAE | 0x819, "PWT, PCD and ignored bits are fine");
        for bit in [1, 2, 5, 6, 7, 8, 36, 40, 62, 63] {
            m.write(PDPT + 16, 8, PDPAE | 1 | 1 << bit);
            assert_eq!(load_pdptes(&mut m, PDPT as u32), None, "bit {bit}");
        }
        // CR3 above RAM: every PDPTE reads as all ones, present and reserved.
        assert_eq!(load_pdptes(&mut m, 0xE000_0000), None);
        // Registers loaded without checks (a task switch): #PF with RSVD.
        let mode = PagingMode {
            pdptes: [u64::MAX; 4],
            ..pae_mode(&mut mem(), false)
        };
        assert_eq!(
            page_walk(&mut m, mode, 0, Access::Read, false),
            Err(pf::P | pf::RSVD)
        );
    }

    #[test]
    fn tables_outside_ram_never_panic() {
        let mut m = mem();
        // 32-bit CR3 above RAM: the PDE reads as all ones. With PSE that is
        // a 4 MiB page with reserved bits; without, a table at 0xFFFFF000
        // (the BIOS ROM here, all zeroes: not present).
        let mode = PagingMode {
            cr3: 0xF000_0000,
            ..MODE32
        };
        assert_eq!(
            page_walk(&mut m, mode, 0x1234, Access::Read, false),
            Err(pf::P | pf::RSVD)
        );
        let nopse = PagingMode { pse: false, ..mode };
        assert_eq!(
            page_walk(&mut m, nopse, 0x1234, Access::Read, false),
            Err(0)
        );
        // A PTE pointing above RAM translates; the data reads as all ones.
        m.write(PD32, 4, PT32 | 3);
        m.write(PT32, 4, 0xFFF0_0000 | 3);
        let t = page_walk(&mut m, MODE32, 0x123, Access::Write, false).unwrap();
        assert_eq!(t.phys, 0xFFF0_0123);
        assert_eq!(m.read(t.phys, 4), 0xFFFF_FFFF);
        // PAE: a PDE pointing to a table above RAM (and above 4 GiB).
        m.write(PDPT, 8, PDPAE | 1);
        m.write(PDPAE, 8, 0x0000_000F_FFFF_F000 | 3);
        let pae = pae_mode(&mut m, true);
        assert_eq!(
            page_walk(&mut m, pae, 0x1000, Access::Read, false),
            Err(pf::P | pf::RSVD),
            "all-ones PTE: bits 62:36 set"
        );
        // A page above 4 GiB translates to its full address.
        m.write(PDPAE, 8, PTPAE | 3);
        m.write(PTPAE + 8, 8, 0x0000_0001_2345_6000 | 3);
        let t = page_walk(&mut m, pae, 0x1789, Access::Write, false).unwrap();
        assert_eq!(t.phys, 0x1_2345_6789);
        assert_eq!(m.read(t.phys, 8), u64::MAX);
        m.write(t.phys, 4, 0); // dropped
        assert_eq!(m.read(t.phys, 1), 0xFF);
        // A page table in the BIOS ROM: its entries cannot take A/D bits
        // (writes are dropped) and the walk still ends.
        m.write(PDPAE, 8, 0xFFFF_0000 | 3);
        assert_eq!(
            page_walk(&mut m, pae, 0x1000, Access::Write, false),
            Err(pf::W)
        );
        m.write(PD32, 4, 0xFFFF_0000 | 3);
        assert_eq!(
            page_walk(&mut m, MODE32, 0x1000, Access::Write, false),
            Err(pf::W)
        );
    }

    #[test]
    fn recursive_mapping() {
        let mut m = mem();
        m.write(PD32 + 0x3FF * 4, 4, PD32 | 3); // the last PDE maps the PD itself
        m.write(PD32, 4, PT32 | 3);
        m.write(PT32 + 4, 4, 0x9000 | 3);
        // 0xFFC0_0000 + n * 4 KiB is the page table of PDE n; the last page
        // is the directory itself.
        let t = page_walk(&mut m, MODE32, 0xFFC0_0004, Access::Read, false).unwrap();
        assert_eq!(t.phys, PT32 + 4);
        let t = page_walk(&mut m, MODE32, 0xFFFF_FFFC, Access::Write, false).unwrap();
        assert_eq!(t.phys, PD32 + 0xFFC);
        // The PDE that served as PTE got A and D as a leaf.
        assert_eq!(rd(&mut m, PD32 + 0xFFC) & 0x60, 0x60);
        // PAE: a PDE pointing at its own page directory.
        m.write(PDPT + 24, 8, PDPAE | 1);
        m.write(PDPAE + 0x1FF * 8, 8, PDPAE | 3);
        let pae = pae_mode(&mut m, true);
        let t = page_walk(&mut m, pae, 0xFFFF_F008, Access::Read, false).unwrap();
        assert_eq!(t.phys, PDPAE + 8);
    }

    #[test]
    fn global_and_user_bits_reported() {
        let mut m = mem();
        m.write(PD32, 4, PT32 | 7);
        m.write(PT32, 4, 0x5000 | 0x100 | 0x40 | 5);
        let t = page_walk(&mut m, MODE32, 0x10, Access::Read, true).unwrap();
        assert!(t.global && t.user && !t.writable && t.dirty && t.executable);
    }
}
