//! String instructions with REP/REPE/REPNE (SDM vol. 2, MOVS/CMPS/STOS/
//! LODS/SCAS/INS/OUTS and "REP/REPE/REPZ/REPNE/REPNZ"). A long REP runs in
//! slices: the instruction restarts with its registers updated, so
//! interrupts are taken between iterations as on hardware.

use crate::exception::Result;
use crate::exec::{mask, Exec, Size};
use crate::flags::sub_flags;
use crate::state::{cr0, flags, ECX, EDI, ES, ESI};
use crane86_mmu::page_walk::Access;
use iced_x86::{Instruction, Mnemonic, OpKind};

/// Iterations of one REP before yielding to the dispatcher.
const REP_SLICE: u32 = 4096;

impl Exec<'_> {
    pub fn string_op(&mut self, i: &Instruction, cur_eip: u32) -> Result<()> {
        let addr32 = (0..i.op_count())
            .any(|k| matches!(i.op_kind(k), OpKind::MemorySegESI | OpKind::MemoryESEDI));
        let am: Size = if addr32 { 4 } else { 2 };
        let size = i.memory_size().size() as Size;
        let step = if self.s.flag(flags::DF) {
            (size as u32).wrapping_neg()
        } else {
            size as u32
        };
        let src_seg = self.mem_seg(i);
        let m = i.mnemonic();
        let rep = i.has_rep_prefix() || i.has_repne_prefix();
        let is_cmp = matches!(
            m,
            Mnemonic::Cmpsb
                | Mnemonic::Cmpsw
                | Mnemonic::Cmpsd
                | Mnemonic::Scasb
                | Mnemonic::Scasw
                | Mnemonic::Scasd
        );
        let bulk = rep
            && step == size as u32
            && matches!(
                m,
                Mnemonic::Movsb
                    | Mnemonic::Movsw
                    | Mnemonic::Movsd
                    | Mnemonic::Stosb
                    | Mnemonic::Stosw
                    | Mnemonic::Stosd
            );
        let mut n = 0;
        loop {
            if rep && self.gpr(ECX, am) == 0 {
                return Ok(());
            }
            if bulk {
                let is_movs = matches!(m, Mnemonic::Movsb | Mnemonic::Movsw | Mnemonic::Movsd);
                let done = self.rep_bulk(is_movs, src_seg, size, am, REP_SLICE - n);
                if done > 0 {
                    n += done;
                    if self.gpr(ECX, am) == 0 {
                        return Ok(());
                    }
                    if n >= REP_SLICE {
                        self.s.eip = cur_eip;
                        self.end_block = true;
                        return Ok(());
                    }
                    continue;
                }
            }
            let si = self.gpr(ESI, am);
            let di = self.gpr(EDI, am);
            match m {
                Mnemonic::Movsb | Mnemonic::Movsw | Mnemonic::Movsd => {
                    let v = self.read_mem(src_seg, si, size)?;
                    self.write_mem(ES, di, size, v)?;
                    self.set_gpr(ESI, am, si.wrapping_add(step));
                    self.set_gpr(EDI, am, di.wrapping_add(step));
                }
                Mnemonic::Stosb | Mnemonic::Stosw | Mnemonic::Stosd => {
                    self.write_mem(ES, di, size, self.gpr(0, size))?;
                    self.set_gpr(EDI, am, di.wrapping_add(step));
                }
                Mnemonic::Lodsb | Mnemonic::Lodsw | Mnemonic::Lodsd => {
                    let v = self.read_mem(src_seg, si, size)?;
                    self.set_gpr(0, size, v);
                    self.set_gpr(ESI, am, si.wrapping_add(step));
                }
                Mnemonic::Cmpsb | Mnemonic::Cmpsw | Mnemonic::Cmpsd => {
                    let a = self.read_mem(src_seg, si, size)?;
                    let b = self.read_mem(ES, di, size)?;
                    let (_, f) = sub_flags(a, b, 0, size);
                    self.set_status(flags::STATUS, f);
                    self.set_gpr(ESI, am, si.wrapping_add(step));
                    self.set_gpr(EDI, am, di.wrapping_add(step));
                }
                Mnemonic::Scasb | Mnemonic::Scasw | Mnemonic::Scasd => {
                    let b = self.read_mem(ES, di, size)?;
                    let (_, f) = sub_flags(self.gpr(0, size), b, 0, size);
                    self.set_status(flags::STATUS, f);
                    self.set_gpr(EDI, am, di.wrapping_add(step));
                }
                Mnemonic::Insb | Mnemonic::Insw | Mnemonic::Insd => {
                    let port = self.gpr(2, 2) as u16;
                    self.check_io(port, size)?;
                    // Probe the destination first so a fault does not lose input.
                    let lin = self.seg_check(ES, di, size, true)?;
                    let user = self.s.cpl == 3;
                    self.translate(lin, crane86_mmu::page_walk::Access::Write, user)?;
                    let v = self.io.io_read(port, size);
                    self.write_mem(ES, di, size, v & mask(size))?;
                    self.set_gpr(EDI, am, di.wrapping_add(step));
                    self.end_block = true;
                }
                Mnemonic::Outsb | Mnemonic::Outsw | Mnemonic::Outsd => {
                    let port = self.gpr(2, 2) as u16;
                    self.check_io(port, size)?;
                    let v = self.read_mem(src_seg, si, size)?;
                    self.io.io_write(port, size, v);
                    self.set_gpr(ESI, am, si.wrapping_add(step));
                    self.end_block = true;
                }
                _ => return Err(crate::Exception::Unimplemented),
            }
            if !rep {
                return Ok(());
            }
            let c = self.gpr(ECX, am).wrapping_sub(1);
            self.set_gpr(ECX, am, c);
            if is_cmp {
                let zf = self.s.flag(flags::ZF);
                if (i.has_repe_prefix() && !zf) || (i.has_repne_prefix() && zf) {
                    return Ok(());
                }
            }
            if c & mask(am) == 0 {
                return Ok(());
            }
            n += 1;
            if n >= REP_SLICE {
                // Come back to this instruction later.
                self.s.eip = cur_eip;
                self.end_block = true;
                return Ok(());
            }
        }
    }

    /// Forward REP MOVS/STOS over the elements that stay within one page
    /// (of the destination, and of the source for MOVS) and within the
    /// 16-bit offset range: checked and translated once, then moved as one
    /// block. Returns how many elements it did; 0 when any check, fault or
    /// non-RAM page stands in the way, so the element-by-element path
    /// raises exactly what hardware would, with the registers of the
    /// faulting element.
    fn rep_bulk(&mut self, movs: bool, src_seg: usize, size: Size, am: Size, max: u32) -> u32 {
        let sz = size as u32;
        let count = self.gpr(ECX, am);
        let di = self.gpr(EDI, am);
        let si = self.gpr(ESI, am);
        let lin_d = self.s.seg[ES].base.wrapping_add(di);
        let lin_s = self.s.seg[src_seg].base.wrapping_add(si);
        let mut elems = count.min(max).min((0x1000 - (lin_d & 0xFFF)) / sz);
        if am == 2 {
            elems = elems.min((0x1_0000 - di) / sz);
        }
        if movs {
            elems = elems.min((0x1000 - (lin_s & 0xFFF)) / sz);
            if am == 2 {
                elems = elems.min((0x1_0000 - si) / sz);
            }
        }
        if elems < 2 {
            return 0;
        }
        let span = (elems - 1) * sz;
        // Valid offsets form one interval (expand-up or expand-down), so
        // the first and the last element bound the whole run.
        let seg_ok = |x: &Self, seg: usize, off: u32, write: bool| {
            x.seg_check(seg, off, size, write).is_ok()
                && x.seg_check(seg, off.wrapping_add(span), size, write)
                    .is_ok()
        };
        if !seg_ok(self, ES, di, true) || (movs && !seg_ok(self, src_seg, si, false)) {
            return 0;
        }
        let paging = self.s.cr0 & cr0::PG != 0;
        let user = self.s.cpl == 3;
        let phys = |x: &mut Self, lin: u32, access: Access| -> Option<u64> {
            if paging {
                x.translate(lin, access, user).ok()
            } else {
                Some(lin as u64)
            }
        };
        let len = (elems * sz) as usize;
        let moved = if movs {
            let Some(ps) = phys(self, lin_s, Access::Read) else {
                return 0;
            };
            let Some(pd) = phys(self, lin_d, Access::Write) else {
                return 0;
            };
            self.mem.copy_ram(pd, ps, len)
        } else {
            let Some(pd) = phys(self, lin_d, Access::Write) else {
                return 0;
            };
            let v = self.gpr(0, size).to_le_bytes();
            self.mem.fill_ram(pd, &v[..size as usize], elems as usize)
        };
        if !moved {
            return 0;
        }
        let adv = elems * sz;
        self.set_gpr(EDI, am, di.wrapping_add(adv));
        if movs {
            self.set_gpr(ESI, am, si.wrapping_add(adv));
        }
        self.set_gpr(ECX, am, count - elems);
        elems
    }
}
