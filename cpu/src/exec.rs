//! `Exec`: one vCPU bound to guest memory and the I/O bus for the duration of
//! a run. Holds the memory access path: segment checks (SDM vol. 3, 5.3),
//! linear → physical translation through the TLB and the page walker, and the
//! operand accessors the instruction semantics use.

use crate::exception::{vector, Exception, Result};
use crate::state::{ar, cr0, cr4, CpuState, SS};
use crate::tlb::Tlb;
use crate::Platform;
use crane86_mmu::page_walk::{page_walk, read_pdptes, Access, PagingMode};
use crane86_mmu::PhysMem;
use iced_x86::{Instruction, OpKind, Register};

pub struct Exec<'a> {
    pub s: &'a mut CpuState,
    pub mem: &'a mut PhysMem,
    pub io: &'a mut dyn Platform,
    pub tlb: &'a mut Tlb,
    /// Set by instructions after which the decoded block must end (mode
    /// changes, I/O the board must see at once, interrupt-window changes).
    pub end_block: bool,
    /// Error-code EXT bit while delivering an external event (SDM 6.13).
    pub(crate) ext: u32,
    /// TF was set when the last instruction began: a #DB trap follows it.
    pub(crate) trap_pending: bool,
    /// Log interrupts and exceptions as they are delivered (`-d int`).
    pub trace_int: bool,
}

/// Operand size / width in bytes.
pub type Size = u8;

#[inline(always)]
pub fn mask(size: Size) -> u32 {
    // Branch-free: sizes are 1, 2 or 4.
    u32::MAX >> (32 - 8 * size as u32)
}

#[inline]
pub fn sign_bit(size: Size) -> u32 {
    1u32 << (size as u32 * 8 - 1)
}

impl<'a> Exec<'a> {
    pub fn new(
        s: &'a mut CpuState,
        mem: &'a mut PhysMem,
        io: &'a mut dyn Platform,
        tlb: &'a mut Tlb,
    ) -> Self {
        Exec {
            s,
            mem,
            io,
            tlb,
            end_block: false,
            ext: 0,
            trap_pending: false,
            trace_int: false,
        }
    }

    // ---- linear memory -----------------------------------------------------

    #[inline]
    fn paging(&self) -> bool {
        self.s.cr0 & cr0::PG != 0
    }

    /// Translates a linear address for an access of the given kind. `user`
    /// is whether the access is made with user privilege (CPL 3, not an
    /// implicit supervisor access to a system structure).
    #[inline]
    pub fn translate(&mut self, lin: u32, access: Access, user: bool) -> Result<u64> {
        if !self.paging() {
            return Ok(lin as u64);
        }
        if let Some(p) = self.tlb.lookup(lin, access, user) {
            return Ok(p);
        }
        self.translate_slow(lin, access, user)
    }

    /// The paging controls of a walk (SDM vol. 3, 4.1).
    pub fn paging_mode(&mut self) -> PagingMode {
        let pae = self.s.cr4 & cr4::PAE != 0;
        if pae && self.tlb.pdpte_cr3 != Some(self.s.cr3) {
            // CR3 was changed by a task switch, not by MOV to CR3: load
            // the PDPTE registers now (SDM 4.4.1). Reserved bits in them
            // then fault as #PF(RSVD) at use.
            self.tlb.pdptes = read_pdptes(self.mem, self.s.cr3);
            self.tlb.pdpte_cr3 = Some(self.s.cr3);
        }
        PagingMode {
            cr3: self.s.cr3,
            wp: self.s.cr0 & cr0::WP != 0,
            pse: self.s.cr4 & cr4::PSE != 0,
            pae,
            nxe: self.s.efer & crate::system::efer::NXE != 0,
            pdptes: self.tlb.pdptes,
        }
    }

    /// TLB miss (or an access the cached entry does not allow as is): walk
    /// the tables, fill the TLB, or raise #PF with CR2 and the error code.
    #[inline(never)]
    pub fn translate_slow(&mut self, lin: u32, access: Access, user: bool) -> Result<u64> {
        let mode = self.paging_mode();
        match page_walk(self.mem, mode, lin, access, user) {
            Ok(t) => {
                let pge = self.s.cr4 & cr4::PGE != 0;
                self.tlb.insert(lin, &t, mode.wp, pge);
                Ok(t.phys)
            }
            Err(code) => {
                // A page fault drops any cached entry for the page (SDM
                // 4.10.4.1), so a stale one cannot outlive the fault.
                self.tlb.flush_page(lin);
                self.s.cr2 = lin;
                Err(Exception::with_error(vector::PF, code))
            }
        }
    }

    #[inline]
    fn user_access(&self) -> bool {
        self.s.cpl == 3
    }

    pub fn read_lin(&mut self, lin: u32, size: Size) -> Result<u32> {
        self.read_lin_as(lin, size, self.user_access())
    }

    #[inline(always)]
    pub fn read_lin_as(&mut self, lin: u32, size: Size, user: bool) -> Result<u32> {
        if self.s.cr0 & cr0::PG == 0 {
            return Ok(self.mem.read(lin as u64, size) as u32);
        }
        if (lin & 0xFFF) + size as u32 <= 0x1000 {
            if let Some(p) = self.tlb.read(lin, user) {
                return Ok(self.mem.read(p, size) as u32);
            }
        }
        self.read_lin_slow(lin, size, user)
    }

    #[inline(never)]
    fn read_lin_slow(&mut self, lin: u32, size: Size, user: bool) -> Result<u32> {
        let last = lin.wrapping_add(size as u32 - 1);
        if (lin ^ last) & !0xFFF == 0 || !self.paging() {
            let p = self.translate(lin, Access::Read, user)?;
            if (lin ^ last) & !0xFFF == 0 {
                return Ok(self.mem.read(p, size) as u32);
            }
        }
        // Crosses a page (or wraps 4 GiB): byte by byte through translation.
        let mut v = 0u32;
        for k in 0..size as u32 {
            let p = self.translate(lin.wrapping_add(k), Access::Read, user)?;
            v |= (self.mem.read_u8(p) as u32) << (8 * k);
        }
        Ok(v)
    }

    pub fn write_lin(&mut self, lin: u32, size: Size, value: u32) -> Result<()> {
        self.write_lin_as(lin, size, value, self.user_access())
    }

    #[inline(always)]
    pub fn write_lin_as(&mut self, lin: u32, size: Size, value: u32, user: bool) -> Result<()> {
        if self.s.cr0 & cr0::PG == 0 {
            self.mem.write(lin as u64, size, value as u64);
            return Ok(());
        }
        if (lin & 0xFFF) + size as u32 <= 0x1000 {
            if let Some(p) = self.tlb.write(lin, user) {
                self.mem.write(p, size, value as u64);
                return Ok(());
            }
        }
        self.write_lin_slow(lin, size, value, user)
    }

    #[inline(never)]
    fn write_lin_slow(&mut self, lin: u32, size: Size, value: u32, user: bool) -> Result<()> {
        let last = lin.wrapping_add(size as u32 - 1);
        if (lin ^ last) & !0xFFF == 0 {
            let p = self.translate(lin, Access::Write, user)?;
            self.mem.write(p, size, value as u64);
            return Ok(());
        }
        // Translate both pages before writing anything, so a fault on the
        // second page leaves memory untouched.
        let p0 = self.translate(lin, Access::Write, user)?;
        let p1 = self.translate(last & !0xFFF, Access::Write, user)?;
        let first = (0x1000 - (lin & 0xFFF)).min(size as u32);
        for k in 0..size as u32 {
            let p = if k < first {
                p0 + k as u64
            } else {
                p1 + (k - first) as u64
            };
            self.mem.write_u8(p, (value >> (8 * k)) as u8);
        }
        Ok(())
    }

    /// Supervisor-privilege accesses to system structures (GDT, IDT, TSS).
    pub fn read_sys(&mut self, lin: u32, size: Size) -> Result<u32> {
        self.read_lin_as(lin, size, false)
    }
    pub fn write_sys(&mut self, lin: u32, size: Size, value: u32) -> Result<()> {
        self.write_lin_as(lin, size, value, false)
    }

    // ---- segmented memory --------------------------------------------------

    /// Checks an access of `size` bytes at `seg:off` against the segment's
    /// type and limit (SDM vol. 3, 5.3 and 5.4) and returns the linear address.
    #[inline(always)]
    pub fn seg_check(&self, seg: usize, off: u32, size: Size, write: bool) -> Result<u32> {
        let d = &self.s.seg[seg];
        let fault = || {
            if seg == SS {
                Exception::ss(0)
            } else {
                Exception::gp0()
            }
        };
        if self.s.pm_not_v86() {
            if d.ar & ar::P == 0 {
                return Err(fault());
            }
            if d.ar & ar::CODE != 0 {
                if write || d.ar & ar::RW == 0 {
                    return Err(fault());
                }
            } else if write && d.ar & ar::RW == 0 {
                return Err(fault());
            }
        }
        let last = off.wrapping_add(size as u32 - 1);
        if d.ar & (ar::CODE | ar::DC) == ar::DC {
            // Expand-down: valid offsets are limit+1 ..= 0xFFFF or 0xFFFFFFFF.
            let upper = if d.big() { 0xFFFF_FFFF } else { 0xFFFF };
            if off <= d.limit || last > upper || last < off {
                return Err(fault());
            }
        } else if last > d.limit || last < off {
            return Err(fault());
        }
        Ok(d.base.wrapping_add(off))
    }

    #[inline(always)]
    pub fn read_mem(&mut self, seg: usize, off: u32, size: Size) -> Result<u32> {
        let lin = self.seg_check(seg, off, size, false)?;
        self.read_lin(lin, size)
    }

    #[inline(always)]
    pub fn write_mem(&mut self, seg: usize, off: u32, size: Size, value: u32) -> Result<()> {
        let lin = self.seg_check(seg, off, size, true)?;
        self.write_lin(lin, size, value)
    }

    // ---- general registers -------------------------------------------------

    #[inline]
    pub fn reg(&self, r: Register) -> u32 {
        let n = r.number();
        match r.size() {
            1 if n >= 4 => (self.s.gpr[n - 4] >> 8) & 0xFF,
            1 => self.s.gpr[n] & 0xFF,
            2 => self.s.gpr[n] & 0xFFFF,
            _ => self.s.gpr[n],
        }
    }

    #[inline]
    pub fn set_reg(&mut self, r: Register, v: u32) {
        let n = r.number();
        match r.size() {
            1 if n >= 4 => self.s.gpr[n - 4] = (self.s.gpr[n - 4] & !0xFF00) | ((v & 0xFF) << 8),
            1 => self.s.gpr[n] = (self.s.gpr[n] & !0xFF) | (v & 0xFF),
            2 => self.s.gpr[n] = (self.s.gpr[n] & !0xFFFF) | (v & 0xFFFF),
            _ => self.s.gpr[n] = v,
        }
    }

    /// Reads register `n` with the given width (low bytes only).
    #[inline]
    pub fn gpr(&self, n: usize, size: Size) -> u32 {
        self.s.gpr[n] & mask(size)
    }

    #[inline]
    pub fn set_gpr(&mut self, n: usize, size: Size, v: u32) {
        let m = mask(size);
        self.s.gpr[n] = (self.s.gpr[n] & !m) | (v & m);
    }

    // ---- operands ----------------------------------------------------------

    /// Effective address (offset within the segment) of the memory operand.
    #[inline]
    pub fn ea(&self, i: &Instruction) -> u32 {
        let base = i.memory_base();
        let index = i.memory_index();
        let mut a = i.memory_displacement32();
        if base != Register::None {
            a = a.wrapping_add(self.reg(base));
        }
        if index != Register::None {
            a = a.wrapping_add(self.reg(index).wrapping_mul(i.memory_index_scale()));
        }
        if addr16(i) {
            a & 0xFFFF
        } else {
            a
        }
    }

    /// Segment register number of the memory operand.
    #[inline]
    pub fn mem_seg(&self, i: &Instruction) -> usize {
        seg_index(i.memory_segment())
    }

    /// Size in bytes of operand `n` (register or memory).
    pub fn op_size(&self, i: &Instruction, n: u32) -> Size {
        match i.op_kind(n) {
            OpKind::Register => i.op_register(n).size() as Size,
            OpKind::Immediate8 | OpKind::Immediate8_2nd => 1,
            OpKind::Immediate16 | OpKind::Immediate8to16 => 2,
            OpKind::Immediate32 | OpKind::Immediate8to32 => 4,
            _ => i.memory_size().size() as Size,
        }
    }

    pub fn read_op(&mut self, i: &Instruction, n: u32, size: Size) -> Result<u32> {
        Ok(match i.op_kind(n) {
            OpKind::Register => self.reg(i.op_register(n)),
            OpKind::Memory => {
                let (seg, ea) = (self.mem_seg(i), self.ea(i));
                self.read_mem(seg, ea, size)?
            }
            _ => (i.immediate(n) as u32) & mask(size),
        })
    }

    pub fn write_op(&mut self, i: &Instruction, n: u32, size: Size, v: u32) -> Result<()> {
        match i.op_kind(n) {
            OpKind::Register => {
                self.set_reg(i.op_register(n), v);
                Ok(())
            }
            OpKind::Memory => {
                let (seg, ea) = (self.mem_seg(i), self.ea(i));
                self.write_mem(seg, ea, size, v)
            }
            _ => Err(Exception::Unimplemented),
        }
    }

    /// Checks that operand `n`, a memory destination, can be written, before
    /// anything is changed (for instructions with several results).
    pub fn probe_write(&mut self, i: &Instruction, n: u32, size: Size) -> Result<()> {
        if i.op_kind(n) == OpKind::Memory {
            let (seg, ea) = (self.mem_seg(i), self.ea(i));
            let lin = self.seg_check(seg, ea, size, true)?;
            let user = self.user_access();
            self.translate(lin, Access::Write, user)?;
            let last = lin.wrapping_add(size as u32 - 1);
            if (lin ^ last) & !0xFFF != 0 {
                self.translate(last, Access::Write, user)?;
            }
        }
        Ok(())
    }

    // ---- stack -------------------------------------------------------------

    #[inline]
    pub fn sp_mask(&self) -> u32 {
        if self.s.stack32() {
            0xFFFF_FFFF
        } else {
            0xFFFF
        }
    }

    #[inline]
    pub fn sp(&self) -> u32 {
        self.s.gpr[crate::state::ESP] & self.sp_mask()
    }

    #[inline]
    pub fn set_sp(&mut self, v: u32) {
        let m = self.sp_mask();
        let r = &mut self.s.gpr[crate::state::ESP];
        *r = (*r & !m) | (v & m);
    }

    pub fn push(&mut self, size: Size, v: u32) -> Result<()> {
        let sp = self.sp().wrapping_sub(size as u32) & self.sp_mask();
        self.write_mem(SS, sp, size, v)?;
        self.set_sp(sp);
        Ok(())
    }

    pub fn pop(&mut self, size: Size) -> Result<u32> {
        let sp = self.sp();
        let v = self.read_mem(SS, sp, size)?;
        self.set_sp(sp.wrapping_add(size as u32));
        Ok(v)
    }

    /// Reads the stack `depth` bytes above the top without popping.
    pub fn peek(&mut self, depth: u32, size: Size) -> Result<u32> {
        let sp = self.sp().wrapping_add(depth) & self.sp_mask();
        self.read_mem(SS, sp, size)
    }
}

/// The instruction's memory operand uses 16-bit addressing.
pub fn addr16(i: &Instruction) -> bool {
    let base = i.memory_base();
    if base != Register::None {
        return base.size() == 2;
    }
    let index = i.memory_index();
    if index != Register::None {
        return index.size() == 2;
    }
    i.memory_displ_size() == 2
}

pub fn seg_index(r: Register) -> usize {
    match r {
        Register::ES => 0,
        Register::CS => 1,
        Register::SS => 2,
        Register::DS => 3,
        Register::FS => 4,
        Register::GS => 5,
        _ => 3,
    }
}
