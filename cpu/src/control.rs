//! Near control transfers: JMP, Jcc, CALL, RET, LOOP/JCXZ, ENTER/LEAVE
//! (SDM vol. 2). Targets are checked against the CS limit (#GP(0)).

use crate::exception::{Exception, Result};
use crate::exec::{mask, Exec, Size};
use crate::state::{CS, EBP, ECX, SS};
use iced_x86::{Instruction, OpKind};

impl Exec<'_> {
    /// Target of a relative branch, for the instruction at `cur_eip`.
    #[inline]
    pub fn rel_target(&self, i: &Instruction, cur_eip: u32) -> u32 {
        let rel = (i.near_branch_target() as u32).wrapping_sub(i.ip32());
        let t = cur_eip.wrapping_add(rel);
        if i.op_kind(0) == OpKind::NearBranch16 {
            t & 0xFFFF
        } else {
            t
        }
    }

    #[inline]
    pub fn jump_near(&mut self, target: u32) -> Result<()> {
        if target > self.s.seg[CS].limit {
            return Err(Exception::gp0());
        }
        self.s.eip = target;
        Ok(())
    }

    pub fn call_near(&mut self, target: u32, size: Size) -> Result<()> {
        if target > self.s.seg[CS].limit {
            return Err(Exception::gp0());
        }
        let ret = self.s.eip;
        self.push(size, ret)?;
        self.s.eip = target;
        Ok(())
    }

    pub fn ret_near(&mut self, size: Size, imm: u32) -> Result<()> {
        let t = self.peek(0, size)?;
        if t > self.s.seg[CS].limit {
            return Err(Exception::gp0());
        }
        self.set_sp(self.sp().wrapping_add(size as u32 + imm));
        self.s.eip = t;
        Ok(())
    }

    /// LOOP/LOOPE/LOOPNE: `cond` is the extra ZF condition.
    pub fn loop_op(
        &mut self,
        i: &Instruction,
        cur_eip: u32,
        addr: Size,
        cond: Option<bool>,
    ) -> Result<()> {
        let c = self.gpr(ECX, addr).wrapping_sub(1) & mask(addr);
        let zf = self.s.flag(crate::state::flags::ZF);
        let taken = c != 0 && cond.is_none_or(|want| zf == want);
        if taken {
            self.jump_near(self.rel_target(i, cur_eip))?;
        }
        self.set_gpr(ECX, addr, c);
        Ok(())
    }

    /// ENTER imm16, imm8 (SDM vol. 2, ENTER operation).
    pub fn enter(&mut self, size: Size, alloc: u32, level: u32) -> Result<()> {
        let level = level % 32;
        let sm = self.sp_mask();
        let sp0 = self.sp();
        let bp = self.gpr(EBP, if self.s.stack32() { 4 } else { 2 });
        // Build the frame with explicit offsets so a fault changes nothing.
        let mut sp = sp0.wrapping_sub(size as u32) & sm;
        self.write_mem(SS, sp, size, self.gpr(EBP, size))?;
        let frame = sp;
        let mut bp_walk = bp;
        if level > 0 {
            for _ in 1..level {
                bp_walk = bp_walk.wrapping_sub(size as u32) & sm;
                let v = self.read_mem(SS, bp_walk, size)?;
                sp = sp.wrapping_sub(size as u32) & sm;
                self.write_mem(SS, sp, size, v)?;
            }
            sp = sp.wrapping_sub(size as u32) & sm;
            self.write_mem(SS, sp, size, frame)?;
        }
        let new_sp = sp.wrapping_sub(alloc) & sm;
        // The final stack pointer must be usable (#SS otherwise).
        self.seg_check(SS, new_sp, 1, true).or(if alloc == 0 {
            Ok(0)
        } else {
            Err(Exception::ss(0))
        })?;
        self.set_gpr(EBP, size, frame);
        self.set_sp(new_sp);
        Ok(())
    }

    /// LEAVE.
    pub fn leave(&mut self, size: Size) -> Result<()> {
        let bp = self.gpr(EBP, if self.s.stack32() { 4 } else { 2 });
        let v = self.read_mem(SS, bp, size)?;
        self.set_sp(bp.wrapping_add(size as u32));
        self.set_gpr(EBP, size, v);
        Ok(())
    }
}
