//! String instructions with REP/REPE/REPNE (SDM vol. 2, MOVS/CMPS/STOS/
//! LODS/SCAS/INS/OUTS and "REP/REPE/REPZ/REPNE/REPNZ"). A long REP runs in
//! slices: the instruction restarts with its registers updated, so
//! interrupts are taken between iterations as on hardware.

use crate::exception::Result;
use crate::exec::{mask, Exec, Size};
use crate::flags::sub_flags;
use crate::state::{flags, ECX, EDI, ES, ESI};
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
        let mut n = 0;
        loop {
            if rep && self.gpr(ECX, am) == 0 {
                return Ok(());
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
}
