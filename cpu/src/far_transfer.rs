//! Far JMP, CALL and RET across segments and privilege levels: conforming
//! and non-conforming code, call gates with parameter copying and stack
//! switches, and the task-switch entry points (SDM vol. 2 JMP/CALL/RET
//! operation sections, vol. 3 5.8).

use crate::exception::{Exception, Result};
use crate::exec::{Exec, Size};
use crate::segmentation::{sys, Descriptor};
use crate::state::{ar, SegReg, CS, ESP, SS};
use crate::task::TaskSwitch;

impl Exec<'_> {
    /// JMP ptr16:16/32 or JMP m16:16/32.
    pub fn jmp_far(&mut self, sel: u16, off: u32, size: Size) -> Result<()> {
        if !self.s.pm_not_v86() {
            let off = if size == 2 { off & 0xFFFF } else { off };
            if off > self.s.seg[CS].limit {
                return Err(Exception::gp0());
            }
            self.load_cs_real(sel);
            self.s.eip = off;
            return Ok(());
        }
        let (d, err) = self.far_target(sel)?;
        if d.is_code() {
            self.check_code_target(sel, d)?;
            let off = if size == 2 { off & 0xFFFF } else { off };
            if off > d.limit() {
                return Err(Exception::gp0());
            }
            self.load_cs_checked(sel, d, self.s.cpl)?;
            self.s.eip = off;
            return Ok(());
        }
        match d.sys_type() {
            sys::CALL_GATE16 | sys::CALL_GATE32 => {
                let (cs, cd) = self.gate_target(sel, d)?;
                // A JMP through a call gate never changes privilege.
                if (cd.conforming() && cd.dpl() > self.s.cpl)
                    || (!cd.conforming() && cd.dpl() != self.s.cpl)
                {
                    return Err(Exception::gp(self.sel_err(cs)));
                }
                let off = gate_offset(d);
                if off > cd.limit() {
                    return Err(Exception::gp0());
                }
                self.load_cs_checked(cs, cd, self.s.cpl)?;
                self.s.eip = off;
                Ok(())
            }
            sys::TASK_GATE
            | sys::TSS16_AVAIL
            | sys::TSS32_AVAIL
            | sys::TSS16_BUSY
            | sys::TSS32_BUSY => self.task_entry(sel, d, TaskSwitch::Jmp),
            _ => Err(Exception::gp(err)),
        }
    }

    /// CALL ptr16:16/32 or CALL m16:16/32.
    pub fn call_far(&mut self, sel: u16, off: u32, size: Size) -> Result<()> {
        let ret_cs = self.s.seg[CS].selector as u32;
        let ret_ip = self.s.eip;
        if !self.s.pm_not_v86() {
            let off = if size == 2 { off & 0xFFFF } else { off };
            if off > self.s.seg[CS].limit {
                return Err(Exception::gp0());
            }
            let sp = self.sp();
            self.push(size, ret_cs)?;
            self.push(size, ret_ip).inspect_err(|_| self.set_sp(sp))?;
            self.load_cs_real(sel);
            self.s.eip = off;
            return Ok(());
        }
        let (d, err) = self.far_target(sel)?;
        if d.is_code() {
            self.check_code_target(sel, d)?;
            let off = if size == 2 { off & 0xFFFF } else { off };
            if off > d.limit() {
                return Err(Exception::gp0());
            }
            let ss = self.s.seg[SS];
            let esp = self.push_frame(&ss, self.s.gpr[ESP], &[ret_cs, ret_ip], size)?;
            self.load_cs_checked(sel, d, self.s.cpl)?;
            self.set_sp(esp);
            self.s.eip = off;
            return Ok(());
        }
        match d.sys_type() {
            sys::CALL_GATE16 | sys::CALL_GATE32 => self.call_gate(sel, d, ret_cs, ret_ip),
            sys::TASK_GATE
            | sys::TSS16_AVAIL
            | sys::TSS32_AVAIL
            | sys::TSS16_BUSY
            | sys::TSS32_BUSY => self.task_entry(sel, d, TaskSwitch::Call),
            _ => Err(Exception::gp(err)),
        }
    }

    fn call_gate(
        &mut self,
        gate_sel: u16,
        gate: Descriptor,
        ret_cs: u32,
        ret_ip: u32,
    ) -> Result<()> {
        let (cs, cd) = self.gate_target(gate_sel, gate)?;
        let size: Size = if gate.sys_type() == sys::CALL_GATE32 {
            4
        } else {
            2
        };
        let off = gate_offset(gate);
        let cpl = self.s.cpl;
        if !cd.conforming() && cd.dpl() < cpl {
            // More privileged: switch to the inner stack from the TSS and copy
            // the gate's parameter count from the caller's stack.
            let new_cpl = cd.dpl();
            let (_, ss_cache, esp) = self.tss_stack(new_cpl)?;
            let n = gate.gate_params();
            let old_ss = self.s.seg[SS].selector as u32;
            let old_esp = self.s.gpr[ESP];
            let mut frame = vec![old_ss, old_esp];
            let mut params = Vec::with_capacity(n as usize);
            for k in 0..n {
                params.push(self.peek(k * size as u32, size)?);
            }
            // Parameters keep their order: the deepest is pushed first.
            frame.extend(params.iter().rev());
            frame.push(ret_cs);
            frame.push(ret_ip);
            if off > cd.limit() {
                return Err(Exception::gp0());
            }
            let esp = self.push_frame(&ss_cache, esp, &frame, size)?;
            self.load_cs_checked(cs, cd, new_cpl)?;
            self.s.seg[SS] = ss_cache;
            self.set_esp_for(esp);
            self.s.eip = off;
        } else {
            if off > cd.limit() {
                return Err(Exception::gp0());
            }
            let ss = self.s.seg[SS];
            let esp = self.push_frame(&ss, self.s.gpr[ESP], &[ret_cs, ret_ip], size)?;
            self.load_cs_checked(cs, cd, cpl)?;
            self.set_sp(esp);
            self.s.eip = off;
        }
        Ok(())
    }

    /// RETF [imm16].
    pub fn ret_far(&mut self, size: Size, imm: u32) -> Result<()> {
        let ip = self.peek(0, size)?;
        let cs_sel = self.peek(size as u32, size)? as u16;
        if !self.s.pm_not_v86() {
            if ip > self.s.seg[CS].limit {
                return Err(Exception::gp0());
            }
            self.set_sp(self.sp().wrapping_add(2 * size as u32 + imm));
            self.load_cs_real(cs_sel);
            self.s.eip = ip;
            return Ok(());
        }
        let rpl = (cs_sel & 3) as u8;
        self.check_return_cs(cs_sel, rpl)?;
        let d = self.read_desc(cs_sel)?;
        if ip > d.limit() {
            return Err(Exception::gp0());
        }
        if rpl > self.s.cpl {
            let base = 2 * size as u32 + imm;
            let esp = self.peek(base, size)?;
            let ss_sel = self.peek(base + size as u32, size)? as u16;
            let ss = self.check_outer_ss(ss_sel, rpl)?;
            self.load_cs_checked(cs_sel, d, rpl)?;
            self.s.eip = ip;
            self.s.seg[SS] = ss;
            let esp = if ss.big() {
                esp.wrapping_add(imm)
            } else {
                (esp.wrapping_add(imm)) & 0xFFFF
            };
            self.set_esp_for(esp);
            self.null_inaccessible_segs();
        } else {
            self.load_cs_checked(cs_sel, d, self.s.cpl)?;
            self.s.eip = ip;
            self.set_sp(self.sp().wrapping_add(2 * size as u32 + imm));
        }
        Ok(())
    }

    /// The descriptor a far JMP/CALL names. Null → #GP(0).
    fn far_target(&mut self, sel: u16) -> Result<(Descriptor, u32)> {
        if sel & !3 == 0 {
            return Err(Exception::gp0());
        }
        let d = self.read_desc(sel)?;
        Ok((d, self.sel_err(sel)))
    }

    /// Direct far JMP/CALL to a code segment (no privilege change).
    fn check_code_target(&mut self, sel: u16, d: Descriptor) -> Result<()> {
        let err = self.sel_err(sel);
        let (cpl, rpl) = (self.s.cpl, (sel & 3) as u8);
        if d.conforming() {
            if d.dpl() > cpl {
                return Err(Exception::gp(err));
            }
        } else if rpl > cpl || d.dpl() != cpl {
            return Err(Exception::gp(err));
        }
        if !d.present() {
            return Err(Exception::np(err));
        }
        Ok(())
    }

    /// Checks a call gate and the code segment it points to.
    fn gate_target(&mut self, gate_sel: u16, gate: Descriptor) -> Result<(u16, Descriptor)> {
        let gerr = self.sel_err(gate_sel);
        if gate.dpl() < self.s.cpl || gate.dpl() < (gate_sel & 3) as u8 {
            return Err(Exception::gp(gerr));
        }
        if !gate.present() {
            return Err(Exception::np(gerr));
        }
        let cs = gate.gate_selector();
        if cs & !3 == 0 {
            return Err(Exception::gp0());
        }
        let cd = self.read_desc(cs)?;
        let err = self.sel_err(cs);
        if !cd.is_code() || cd.dpl() > self.s.cpl {
            return Err(Exception::gp(err));
        }
        if !cd.present() {
            return Err(Exception::np(err));
        }
        Ok((cs, cd))
    }

    fn task_entry(&mut self, sel: u16, d: Descriptor, how: TaskSwitch) -> Result<()> {
        let err = self.sel_err(sel);
        if d.dpl() < self.s.cpl || d.dpl() < (sel & 3) as u8 {
            return Err(Exception::gp(err));
        }
        if !d.present() {
            return Err(Exception::np(err));
        }
        let tss = if d.sys_type() == sys::TASK_GATE {
            d.gate_selector()
        } else {
            sel
        };
        self.task_switch_via(tss, how)
    }

    /// The code segment a RETF/IRET returns to (SDM vol. 2, RET operation).
    pub(crate) fn check_return_cs(&mut self, sel: u16, rpl: u8) -> Result<()> {
        if sel & !3 == 0 {
            return Err(Exception::gp0());
        }
        let d = self.read_desc(sel)?;
        let err = self.sel_err(sel);
        if !d.is_code() || rpl < self.s.cpl {
            return Err(Exception::gp(err));
        }
        if (d.conforming() && d.dpl() > rpl) || (!d.conforming() && d.dpl() != rpl) {
            return Err(Exception::gp(err));
        }
        if !d.present() {
            return Err(Exception::np(err));
        }
        Ok(())
    }

    /// The stack segment a return to an outer level loads.
    pub(crate) fn check_outer_ss(&mut self, sel: u16, rpl: u8) -> Result<SegReg> {
        if sel & !3 == 0 {
            return Err(Exception::gp0());
        }
        let d = self.read_desc(sel)?;
        let err = self.sel_err(sel);
        if (sel & 3) as u8 != rpl || !d.is_data() || !d.rw() || d.dpl() != rpl {
            return Err(Exception::gp(err));
        }
        if !d.present() {
            return Err(Exception::ss(err));
        }
        self.set_accessed(sel, d)?;
        let mut c = d.cache(sel);
        c.ar |= ar::ACCESSED;
        Ok(c)
    }
}

fn gate_offset(gate: Descriptor) -> u32 {
    if gate.sys_type() == sys::CALL_GATE32 {
        gate.gate_offset()
    } else {
        gate.gate_offset() & 0xFFFF
    }
}
