//! Hardware task switching through TSS descriptors and task gates
//! (SDM vol. 3, 7.3): saving the outgoing task, busy bits, the back link and
//! NT for nested tasks, loading the incoming task with #TS checks.

use crate::exception::{Exception, Result};
use crate::exec::Exec;
use crate::segmentation::sys;
use crate::state::{ar, cr0, flags, SegReg, CS, DS, ES, FS, GS, SS};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskSwitch {
    Jmp,
    Call,
    Iret,
    Interrupt,
}

impl Exec<'_> {
    /// Switches to the task whose TSS selector is `sel`.
    pub(crate) fn task_switch_via(&mut self, sel: u16, how: TaskSwitch) -> Result<()> {
        let err = self.sel_err(sel);
        if sel & 4 != 0 {
            // TSS descriptors live in the GDT only.
            return Err(Exception::gp(err));
        }
        let d = self.read_desc(sel)?;
        let ty = d.sys_type();
        let busy_ok = how == TaskSwitch::Iret;
        let ok_type = if busy_ok {
            matches!(ty, sys::TSS16_BUSY | sys::TSS32_BUSY)
        } else {
            matches!(ty, sys::TSS16_AVAIL | sys::TSS32_AVAIL)
        };
        if d.is_segment() || !ok_type {
            return Err(if busy_ok {
                Exception::ts(err)
            } else {
                Exception::gp(err)
            });
        }
        if !d.present() {
            return Err(Exception::np(err));
        }
        let new32 = ty & 8 != 0;
        let min_limit = if new32 { 0x67 } else { 0x2B };
        if d.limit() < min_limit {
            return Err(Exception::ts(err));
        }
        let new_base = d.base();
        let old = self.s.tr;
        let old32 = old.ar & 8 != 0;

        // Read the whole incoming state first: a fault here leaves the old
        // task intact.
        let n = if new32 {
            NewState::read32(self, new_base)?
        } else {
            NewState::read16(self, new_base)?
        };

        // Save the outgoing task.
        let mut eflags = self.s.eflags;
        if how == TaskSwitch::Iret {
            eflags &= !flags::NT;
        }
        if old32 {
            let b = old.base;
            self.write_sys(b.wrapping_add(0x20), 4, self.s.eip)?;
            self.write_sys(b.wrapping_add(0x24), 4, eflags)?;
            for k in 0..8 {
                self.write_sys(b.wrapping_add(0x28 + 4 * k), 4, self.s.gpr[k as usize])?;
            }
            for k in 0..6 {
                self.write_sys(
                    b.wrapping_add(0x48 + 4 * k),
                    2,
                    self.s.seg[k as usize].selector as u32,
                )?;
            }
        } else {
            let b = old.base;
            self.write_sys(b.wrapping_add(0x0E), 2, self.s.eip)?;
            self.write_sys(b.wrapping_add(0x10), 2, eflags)?;
            for k in 0..8 {
                self.write_sys(b.wrapping_add(0x12 + 2 * k), 2, self.s.gpr[k as usize])?;
            }
            for k in 0..4 {
                self.write_sys(
                    b.wrapping_add(0x22 + 2 * k),
                    2,
                    self.s.seg[k as usize].selector as u32,
                )?;
            }
        }
        if matches!(how, TaskSwitch::Jmp | TaskSwitch::Iret) {
            self.set_busy(old.selector, false)?;
        }
        let mut new_flags = n.eflags;
        if matches!(how, TaskSwitch::Call | TaskSwitch::Interrupt) {
            self.write_sys(new_base, 2, old.selector as u32)?;
            new_flags |= flags::NT;
        }
        if how != TaskSwitch::Iret {
            self.set_busy(sel, true)?;
        }

        // Commit: the new task's state is loaded; later faults happen in it.
        let mut tr = d.cache(sel);
        tr.ar |= 2; // busy
        self.s.tr = tr;
        self.s.cr0 |= cr0::TS;
        if new32 && self.s.cr0 & cr0::PG != 0 && self.s.cr3 != n.cr3 {
            self.set_cr3(n.cr3)?;
        }
        self.s.eip = n.eip;
        self.s.eflags = (new_flags & 0x003F_7FD5) | flags::FIXED;
        self.s.gpr = n.gpr;
        for (k, sel) in n.segs.iter().enumerate() {
            // Selectors first, so a #TS below is delivered with them visible.
            self.s.seg[k] = SegReg {
                selector: *sel,
                ..Default::default()
            };
        }
        self.s.ldtr = SegReg {
            selector: n.ldt,
            ..Default::default()
        };
        self.end_block = true;
        self.load_task_segments(&n)
    }

    fn set_busy(&mut self, sel: u16, busy: bool) -> Result<()> {
        if let Some(addr) = self.desc_addr(sel) {
            let b = self.read_sys(addr.wrapping_add(5), 1)?;
            let nb = if busy { b | 2 } else { b & !2 };
            self.write_sys(addr.wrapping_add(5), 1, nb)?;
        }
        Ok(())
    }

    /// Loads LDTR, CS, SS and the data segments of the incoming task, with
    /// the #TS checks of SDM vol. 3, 7.3 step 13 (faults use the new task).
    fn load_task_segments(&mut self, n: &NewState) -> Result<()> {
        if n.ldt & !3 != 0 {
            let err = self.sel_err(n.ldt);
            if n.ldt & 4 != 0 {
                return Err(Exception::ts(err));
            }
            let d = self.read_desc(n.ldt).map_err(|_| Exception::ts(err))?;
            if d.is_segment() || d.sys_type() != sys::LDT {
                return Err(Exception::ts(err));
            }
            if !d.present() {
                return Err(Exception::ts(err));
            }
            self.s.ldtr = d.cache(n.ldt);
        }
        if n.eflags & flags::VM != 0 {
            self.s.cpl = 3;
            for k in 0..6 {
                self.load_seg(k, n.segs[k])?;
            }
            self.load_cs_real(n.segs[CS]);
            return Ok(());
        }
        let cs = n.segs[CS];
        let cerr = self.sel_err(cs);
        if cs & !3 == 0 {
            return Err(Exception::ts(cerr));
        }
        let cd = self.read_desc(cs).map_err(|_| Exception::ts(cerr))?;
        if !cd.is_code() {
            return Err(Exception::ts(cerr));
        }
        let rpl = (cs & 3) as u8;
        if (!cd.conforming() && cd.dpl() != rpl) || (cd.conforming() && cd.dpl() > rpl) {
            return Err(Exception::ts(cerr));
        }
        if !cd.present() {
            return Err(Exception::np(cerr));
        }
        self.load_cs_checked(cs, cd, rpl)?;

        let ss = n.segs[SS];
        let serr = self.sel_err(ss);
        if ss & !3 == 0 {
            return Err(Exception::ts(serr));
        }
        let sd = self.read_desc(ss).map_err(|_| Exception::ts(serr))?;
        if !sd.is_data() || !sd.rw() || sd.dpl() != rpl || (ss & 3) as u8 != rpl {
            return Err(Exception::ts(serr));
        }
        if !sd.present() {
            return Err(Exception::ss(serr));
        }
        self.set_accessed(ss, sd)?;
        self.s.seg[SS] = sd.cache(ss);
        self.s.seg[SS].ar |= ar::ACCESSED;

        for seg in [ES, DS, FS, GS] {
            let sel = n.segs[seg];
            match self.load_seg(seg, sel) {
                Ok(()) => {}
                Err(Exception::Fault { vector, .. }) if vector == crate::exception::vector::GP => {
                    return Err(Exception::ts(self.sel_err(sel)));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

struct NewState {
    eip: u32,
    eflags: u32,
    gpr: [u32; 8],
    segs: [u16; 6],
    ldt: u16,
    cr3: u32,
}

impl NewState {
    fn read32(x: &mut Exec<'_>, b: u32) -> Result<Self> {
        let mut gpr = [0; 8];
        for (k, r) in gpr.iter_mut().enumerate() {
            *r = x.read_sys(b.wrapping_add(0x28 + 4 * k as u32), 4)?;
        }
        let mut segs = [0; 6];
        for (k, s) in segs.iter_mut().enumerate() {
            *s = x.read_sys(b.wrapping_add(0x48 + 4 * k as u32), 2)? as u16;
        }
        Ok(NewState {
            cr3: x.read_sys(b.wrapping_add(0x1C), 4)?,
            eip: x.read_sys(b.wrapping_add(0x20), 4)?,
            eflags: x.read_sys(b.wrapping_add(0x24), 4)?,
            gpr,
            segs,
            ldt: x.read_sys(b.wrapping_add(0x60), 2)? as u16,
        })
    }

    fn read16(x: &mut Exec<'_>, b: u32) -> Result<Self> {
        let mut gpr = [0; 8];
        for (k, r) in gpr.iter_mut().enumerate() {
            // 286 TSS: the upper halves of the registers are undefined; we keep zero.
            *r = x.read_sys(b.wrapping_add(0x12 + 2 * k as u32), 2)?;
        }
        let mut segs = [0; 6];
        for (k, s) in segs.iter_mut().take(4).enumerate() {
            *s = x.read_sys(b.wrapping_add(0x22 + 2 * k as u32), 2)? as u16;
        }
        Ok(NewState {
            cr3: x.s.cr3,
            eip: x.read_sys(b.wrapping_add(0x0E), 2)?,
            eflags: x.read_sys(b.wrapping_add(0x10), 2)?,
            gpr,
            segs,
            ldt: x.read_sys(b.wrapping_add(0x2A), 2)? as u16,
        })
    }
}
