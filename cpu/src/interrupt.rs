//! Interrupt and exception delivery: the real-mode IVT, the protected-mode
//! IDT with interrupt, trap and task gates, privilege-level stack switches
//! through the TSS, and delivery from virtual-8086 mode (SDM vol. 3, 6.10–6.14
//! and 20.3). Also IRET (SDM vol. 2, "IRET/IRETD").

use crate::exception::{Exception, Result};
use crate::exec::{Exec, Size};
use crate::segmentation::sys;
use crate::state::{ar, flags, SegReg, CS, DS, ES, FS, GS, SS};
use crate::task::TaskSwitch;

impl Exec<'_> {
    /// Delivers interrupt `vector`. `software` is true for INT n / INT3 /
    /// INTO (gate DPL is checked, EXT is clear). The return address is the
    /// current EIP: the next instruction for traps and software interrupts,
    /// the faulting one for faults.
    pub fn deliver(&mut self, vector: u8, error: Option<u32>, software: bool) -> Result<()> {
        self.s.halted = false;
        if !self.s.protected() {
            return self.deliver_real(vector);
        }
        self.deliver_protected(vector, error, software)
    }

    fn deliver_real(&mut self, vector: u8) -> Result<()> {
        let off = vector as u32 * 4;
        if off + 3 > self.s.idtr.limit as u32 {
            return Err(Exception::gp0());
        }
        let ip = self.read_sys(self.s.idtr.base.wrapping_add(off), 2)?;
        let cs = self.read_sys(self.s.idtr.base.wrapping_add(off + 2), 2)?;
        let fl = self.s.eflags;
        let old_cs = self.s.seg[CS].selector as u32;
        let old_ip = self.s.eip;
        let sp = self.sp();
        self.push(2, fl)?;
        self.push(2, old_cs).inspect_err(|_| self.set_sp(sp))?;
        self.push(2, old_ip).inspect_err(|_| self.set_sp(sp))?;
        self.s.eflags &= !(flags::IF | flags::TF | flags::AC | flags::RF);
        self.load_cs_real(cs as u16);
        self.s.eip = ip;
        Ok(())
    }

    fn deliver_protected(&mut self, vector: u8, error: Option<u32>, software: bool) -> Result<()> {
        let idt_err = vector as u32 * 8 + 2 + self.ext;
        if vector as u32 * 8 + 7 > self.s.idtr.limit as u32 {
            return Err(Exception::gp(idt_err));
        }
        let gate = self.read_desc_at(self.s.idtr.base.wrapping_add(vector as u32 * 8))?;
        let ty = gate.sys_type();
        if gate.is_segment()
            || !matches!(
                ty,
                sys::TASK_GATE
                    | sys::INT_GATE16
                    | sys::TRAP_GATE16
                    | sys::INT_GATE32
                    | sys::TRAP_GATE32
            )
        {
            return Err(Exception::gp(idt_err));
        }
        if software && gate.dpl() < self.s.cpl {
            return Err(Exception::gp(idt_err));
        }
        if !gate.present() {
            return Err(Exception::np(idt_err));
        }
        if ty == sys::TASK_GATE {
            let tss_sel = gate.gate_selector();
            self.task_switch_via(tss_sel, TaskSwitch::Interrupt)?;
            if let Some(e) = error {
                let size = if self.s.tr.ar & 8 != 0 { 4 } else { 2 };
                self.push(size, e)?;
            }
            return Ok(());
        }
        let sel = gate.gate_selector();
        if sel & !3 == 0 {
            return Err(Exception::gp(self.ext));
        }
        let d = self.read_desc(sel)?;
        let serr = self.sel_err(sel);
        if !d.is_code() || d.dpl() > self.s.cpl {
            return Err(Exception::gp(serr));
        }
        if !d.present() {
            return Err(Exception::np(serr));
        }
        let size: Size = if ty & 8 != 0 { 4 } else { 2 };
        let offset = if size == 4 {
            gate.gate_offset()
        } else {
            gate.gate_offset() & 0xFFFF
        };
        let from_v86 = self.s.v86();
        let old_fl = self.s.eflags;
        let old_cs = self.s.seg[CS].selector as u32;
        let old_eip = self.s.eip;
        let mut frame: Vec<u32> = Vec::with_capacity(10);
        let new_cpl;
        let (new_ss, mut esp) = if !d.conforming() && d.dpl() < self.s.cpl {
            if from_v86 && d.dpl() != 0 {
                return Err(Exception::gp(serr));
            }
            new_cpl = d.dpl();
            let (ss_sel, ss_cache, esp) = self.tss_stack(new_cpl)?;
            let old_ss = self.s.seg[SS].selector as u32;
            let old_esp = self.s.gpr[crate::state::ESP];
            if from_v86 {
                for seg in [GS, FS, DS, ES] {
                    frame.push(self.s.seg[seg].selector as u32);
                }
            }
            frame.push(old_ss);
            frame.push(old_esp);
            ((ss_sel, ss_cache), esp)
        } else {
            if from_v86 {
                return Err(Exception::gp(serr));
            }
            new_cpl = self.s.cpl;
            (
                (self.s.seg[SS].selector, self.s.seg[SS]),
                self.s.gpr[crate::state::ESP],
            )
        };
        frame.extend_from_slice(&[old_fl, old_cs, old_eip]);
        if let Some(e) = error {
            frame.push(e);
        }
        esp = self.push_frame(&new_ss.1, esp, &frame, size)?;
        // Commit: nothing below can fault.
        self.load_cs_checked(sel, d, new_cpl)?;
        self.s.seg[SS] = new_ss.1;
        self.s.seg[SS].selector = new_ss.0;
        self.set_esp_for(esp);
        if from_v86 {
            for seg in [ES, DS, FS, GS] {
                self.s.seg[seg] = SegReg::default();
            }
        }
        self.s.eip = offset;
        self.s.eflags &= !(flags::TF | flags::NT | flags::VM | flags::RF);
        if ty & 1 == 0 {
            self.s.eflags &= !flags::IF;
        }
        Ok(())
    }

    /// Sets ESP (or SP, by the current SS's B bit) after a stack switch.
    pub(crate) fn set_esp_for(&mut self, esp: u32) {
        if self.s.seg[SS].big() {
            self.s.gpr[crate::state::ESP] = esp;
        } else {
            self.set_gpr(crate::state::ESP, 2, esp);
        }
    }

    /// Pushes `values` (first pushed first) onto the stack described by
    /// `ss`, starting at `esp`, with supervisor-or-target privilege. Checks
    /// the whole frame against the limit before writing. Returns the new ESP.
    pub(crate) fn push_frame(
        &mut self,
        ss: &SegReg,
        esp: u32,
        values: &[u32],
        size: Size,
    ) -> Result<u32> {
        let mask = if ss.big() { 0xFFFF_FFFF } else { 0xFFFF };
        let total = values.len() as u32 * size as u32;
        let top = esp.wrapping_sub(total) & mask;
        let fault = Exception::ss(if self.s.seg[SS].selector == ss.selector {
            0
        } else {
            self.sel_err(ss.selector)
        });
        // Check every slot against the (possibly expand-down) limit.
        for k in 0..values.len() as u32 {
            let off = top.wrapping_add(k * size as u32) & mask;
            if !stack_offset_ok(ss, off, size) {
                return Err(fault);
            }
        }
        let user = ss.dpl() == 3;
        for (k, v) in values.iter().enumerate() {
            let off = esp.wrapping_sub((k as u32 + 1) * size as u32) & mask;
            self.write_lin_as(ss.base.wrapping_add(off), size, *v, user)?;
        }
        Ok(top)
    }

    /// SS:ESP for privilege level `dpl` from the current TSS, with the checks
    /// of SDM vol. 3, 6.12.1 (faults are #TS with the SS selector).
    pub(crate) fn tss_stack(&mut self, dpl: u8) -> Result<(u16, SegReg, u32)> {
        let tss32 = self.s.tr.ar & 8 != 0;
        let (off, sz) = if tss32 {
            (4 + dpl as u32 * 8, 4)
        } else {
            (2 + dpl as u32 * 4, 2)
        };
        let tr_err = self.sel_err(self.s.tr.selector);
        if off + sz * 2 - 1 > self.s.tr.limit {
            return Err(Exception::ts(tr_err));
        }
        let esp = self.read_sys(self.s.tr.base.wrapping_add(off), sz as u8)?;
        let ss_sel = self.read_sys(self.s.tr.base.wrapping_add(off + sz), 2)? as u16;
        let err = self.sel_err(ss_sel);
        if ss_sel & !3 == 0 {
            return Err(Exception::ts(self.ext));
        }
        let ssd = self.desc_addr(ss_sel).ok_or(Exception::ts(err))?;
        let d = self.read_desc_at(ssd)?;
        if (ss_sel & 3) as u8 != dpl || d.dpl() != dpl || !d.is_data() || !d.rw() {
            return Err(Exception::ts(err));
        }
        if !d.present() {
            return Err(Exception::ss(err));
        }
        self.set_accessed(ss_sel, d)?;
        let mut cache = d.cache(ss_sel);
        cache.ar |= ar::ACCESSED;
        Ok((ss_sel, cache, esp))
    }

    /// IRET / IRETD (SDM vol. 2).
    pub fn iret(&mut self, size: Size) -> Result<()> {
        if !self.s.protected() {
            let ip = self.peek(0, size)?;
            let cs = self.peek(size as u32, size)?;
            let fl = self.peek(2 * size as u32, size)?;
            if ip > self.s.seg[CS].limit {
                return Err(Exception::gp0());
            }
            self.set_sp(self.sp().wrapping_add(3 * size as u32));
            self.load_cs_real(cs as u16);
            self.s.eip = ip;
            self.write_eflags(fl, size, true);
            return Ok(());
        }
        if self.s.v86() {
            if self.s.iopl() < 3 {
                return Err(Exception::gp0());
            }
            let ip = self.peek(0, size)?;
            let cs = self.peek(size as u32, size)?;
            let fl = self.peek(2 * size as u32, size)?;
            if ip > self.s.seg[CS].limit {
                return Err(Exception::gp0());
            }
            self.set_sp(self.sp().wrapping_add(3 * size as u32));
            self.load_cs_real(cs as u16);
            self.s.eip = ip;
            // IOPL stays; VM cannot be cleared this way.
            let keep = flags::IOPL | flags::VM | flags::VIF | flags::VIP;
            let fl = if size == 4 {
                fl
            } else {
                (self.s.eflags & 0xFFFF_0000) | (fl & 0xFFFF)
            };
            self.s.eflags = (self.s.eflags & keep) | (fl & !keep & 0x003F_7FD5) | flags::FIXED;
            self.end_block = true;
            return Ok(());
        }
        if self.s.flag(flags::NT) {
            let back = self.read_sys(self.s.tr.base, 2)? as u16;
            return self.task_switch_via(back, TaskSwitch::Iret);
        }
        let eip = self.peek(0, size)?;
        let cs_sel = self.peek(size as u32, size)? as u16;
        let fl = self.peek(2 * size as u32, size)?;
        if size == 4 && fl & flags::VM != 0 && self.s.cpl == 0 {
            return self.iret_to_v86(eip, cs_sel, fl);
        }
        let rpl = (cs_sel & 3) as u8;
        self.check_return_cs(cs_sel, rpl)?;
        let d = self.read_desc(cs_sel)?;
        let cpl = self.s.cpl;
        if rpl > cpl {
            let esp = self.peek(3 * size as u32, size)?;
            let ss_sel = self.peek(4 * size as u32, size)? as u16;
            let ss = self.check_outer_ss(ss_sel, rpl)?;
            if eip > d.limit() {
                return Err(Exception::gp0());
            }
            self.load_cs_checked(cs_sel, d, rpl)?;
            self.s.eip = eip;
            self.write_eflags_as(fl, size, cpl);
            self.s.seg[SS] = ss;
            self.set_esp_for(esp);
            self.null_inaccessible_segs();
        } else {
            if eip > d.limit() {
                return Err(Exception::gp0());
            }
            self.load_cs_checked(cs_sel, d, cpl)?;
            self.s.eip = eip;
            self.set_sp(self.sp().wrapping_add(3 * size as u32));
            self.write_eflags_as(fl, size, cpl);
        }
        self.s.in_nmi = false;
        Ok(())
    }

    /// IRETD from CPL 0 with VM set in the popped EFLAGS (SDM vol. 2, IRET,
    /// "RETURN-TO-VIRTUAL-8086-MODE").
    fn iret_to_v86(&mut self, eip: u32, cs: u16, fl: u32) -> Result<()> {
        let mut v = [0u32; 6];
        for (k, slot) in v.iter_mut().enumerate() {
            *slot = self.peek(12 + 4 * k as u32, 4)?;
        }
        let [esp, ss, es, ds, fs, gs] = v;
        self.s.eflags = (fl & 0x003F_7FD5) | flags::FIXED;
        self.s.cpl = 3;
        for (seg, sel) in [(ES, es), (DS, ds), (FS, fs), (GS, gs), (SS, ss)] {
            self.load_seg(seg, sel as u16)?;
        }
        self.load_cs_real(cs);
        self.s.eip = eip & 0xFFFF;
        self.s.gpr[crate::state::ESP] = esp;
        Ok(())
    }
}

/// Whether `off` (with `size` bytes) is inside the stack segment `ss`.
pub(crate) fn stack_offset_ok(ss: &SegReg, off: u32, size: Size) -> bool {
    let last = off.wrapping_add(size as u32 - 1);
    if ss.ar & ar::DC != 0 {
        let upper = if ss.big() { 0xFFFF_FFFF } else { 0xFFFF };
        off > ss.limit && last <= upper && last >= off
    } else {
        last <= ss.limit && last >= off
    }
}
