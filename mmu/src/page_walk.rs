//! Linear → physical translation: 32-bit paging with 4 KiB and 4 MiB pages
//! (Intel SDM vol. 3, 4.3), permission checks with CR0.WP (4.6), accessed and
//! dirty bits written back atomically, and the #PF error code (4.7).

use crate::PhysMem;

/// What the access wants to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Fetch,
}

/// Paging controls that affect a walk.
#[derive(Clone, Copy, Debug)]
pub struct PagingMode {
    pub cr3: u32,
    /// CR0.WP: supervisor writes honour read-only pages.
    pub wp: bool,
    /// CR4.PSE: 4 MiB pages allowed.
    pub pse: bool,
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
    /// The mapping allows user access (both levels have U/S set).
    pub user: bool,
    /// The mapping allows writes at both levels.
    pub writable: bool,
    pub global: bool,
    /// Size of the page mapped: 4 KiB or 4 MiB.
    pub page_size: u32,
}

const PTE_P: u32 = 1;
const PTE_RW: u32 = 2;
const PTE_US: u32 = 4;
const PTE_A: u32 = 0x20;
const PTE_D: u32 = 0x40;
const PTE_PS: u32 = 0x80;
const PTE_G: u32 = 0x100;

/// Walks the page tables for `lin`. `user` is true for a CPL 3 access (or an
/// implicit supervisor access must pass `false`). On failure returns the #PF
/// error code; CR2 is the caller's business.
pub fn page_walk(
    mem: &mut PhysMem,
    mode: PagingMode,
    lin: u32,
    access: Access,
    user: bool,
) -> Result<Translation, u32> {
    let write = access == Access::Write;
    let mut err = if write { pf::W } else { 0 } | if user { pf::U } else { 0 };
    if access == Access::Fetch {
        // I/D is reported only when NX is supported; without PAE/NX it is 0.
        err &= !pf::W;
    }
    let pde_addr = (mode.cr3 & 0xFFFF_F000) as u64 | ((lin >> 22) as u64) << 2;
    let pde = mem.read(pde_addr, 4) as u32;
    if pde & PTE_P == 0 {
        return Err(err);
    }
    if pde & PTE_PS != 0 && mode.pse {
        // 4 MiB page: bits 21:13 of the PDE are reserved (with PSE-36 off).
        if pde & 0x003F_E000 != 0 {
            return Err(err | pf::P | pf::RSVD);
        }
        let t = Translation {
            phys: (pde & 0xFFC0_0000) as u64 | (lin & 0x003F_FFFF) as u64,
            user: pde & PTE_US != 0,
            writable: pde & PTE_RW != 0,
            global: pde & PTE_G != 0,
            page_size: 4 << 20,
        };
        check(t, mode, write, user, err)?;
        set_bits(mem, pde_addr, pde, PTE_A | if write { PTE_D } else { 0 });
        return Ok(t);
    }
    let pte_addr = (pde & 0xFFFF_F000) as u64 | (((lin >> 12) & 0x3FF) as u64) << 2;
    let pte = mem.read(pte_addr, 4) as u32;
    if pte & PTE_P == 0 {
        return Err(err);
    }
    let t = Translation {
        phys: (pte & 0xFFFF_F000) as u64 | (lin & 0xFFF) as u64,
        user: pde & pte & PTE_US != 0,
        writable: pde & pte & PTE_RW != 0,
        global: pte & PTE_G != 0,
        page_size: 4096,
    };
    check(t, mode, write, user, err)?;
    set_bits(mem, pde_addr, pde, PTE_A);
    set_bits(mem, pte_addr, pte, PTE_A | if write { PTE_D } else { 0 });
    Ok(t)
}

/// Permission rules of SDM 4.6.1 for 32-bit paging (no SMEP/SMAP).
fn check(t: Translation, mode: PagingMode, write: bool, user: bool, err: u32) -> Result<(), u32> {
    let ok = if user {
        t.user && (!write || t.writable)
    } else {
        !write || t.writable || !mode.wp
    };
    if ok {
        Ok(())
    } else {
        Err(err | pf::P)
    }
}

/// Sets A (and D) with a compare-exchange loop so another vCPU's concurrent
/// update of the same entry is not lost.
fn set_bits(mem: &mut PhysMem, addr: u64, mut old: u32, bits: u32) {
    while old & bits != bits {
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
    const MODE: PagingMode = PagingMode {
        cr3: 0x1000,
        wp: false,
        pse: true,
    };

    #[test]
    fn four_k_page_sets_accessed_and_dirty() {
        let mut m = mem();
        m.write(0x1000 + 4, 4, 0x2000 | 7); // PDE for 0x0040_0000
        m.write(0x2000 + 3 * 4, 4, 0x0005_0000 | 7); // PTE for 0x0040_3000
        let t = page_walk(&mut m, MODE, 0x0040_3123, Access::Read, false).unwrap();
        assert_eq!(t.phys, 0x5_0123);
        assert_eq!(m.read(0x2000 + 12, 4) as u32 & (PTE_A | PTE_D), PTE_A);
        page_walk(&mut m, MODE, 0x0040_3123, Access::Write, true).unwrap();
        assert_eq!(
            m.read(0x2000 + 12, 4) as u32 & (PTE_A | PTE_D),
            PTE_A | PTE_D
        );
        assert_eq!(m.read(0x1004, 4) as u32 & PTE_A, PTE_A);
    }

    #[test]
    fn not_present_and_protection_error_codes() {
        let mut m = mem();
        assert_eq!(
            page_walk(&mut m, MODE, 0x1234, Access::Write, true),
            Err(pf::W | pf::U)
        );
        m.write(0x1000, 4, 0x2000 | 7);
        m.write(0x2000, 4, 0x3000 | 1); // present, read-only, supervisor
        assert_eq!(
            page_walk(&mut m, MODE, 0x10, Access::Read, true),
            Err(pf::P | pf::U)
        );
        assert!(
            page_walk(&mut m, MODE, 0x10, Access::Write, false).is_ok(),
            "WP=0 lets ring 0 write"
        );
        let wp = PagingMode { wp: true, ..MODE };
        assert_eq!(
            page_walk(&mut m, wp, 0x10, Access::Write, false),
            Err(pf::P | pf::W)
        );
    }

    #[test]
    fn four_m_page_and_reserved_bits() {
        let mut m = mem();
        m.write(0x1000 + 8, 4, 0x0040_0000 | PTE_PS as u64 | 3);
        let t = page_walk(&mut m, MODE, 0x0089_ABCD, Access::Read, false).unwrap();
        assert_eq!(t.phys, 0x0049_ABCD);
        assert_eq!(t.page_size, 4 << 20);
        m.write(0x1000 + 8, 4, 0x0040_2000 | PTE_PS as u64 | 3);
        assert_eq!(
            page_walk(&mut m, MODE, 0x0080_0000, Access::Read, false),
            Err(pf::P | pf::RSVD)
        );
        // Without CR4.PSE the PS bit is ignored and the entry points to a table.
        let nopse = PagingMode { pse: false, ..MODE };
        assert!(page_walk(&mut m, nopse, 0x0080_0000, Access::Read, false).is_err());
    }
}
