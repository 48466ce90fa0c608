//! FXSAVE/FXRSTOR (SDM vol. 2, FXSAVE, table 3-53): the 512-byte area's
//! legacy x87 part and MXCSR, 16-byte aligned or #GP(0). There are no XMM
//! registers: their slots are written as zeros and ignored on restore.

use super::{f80_bytes, f80_from_bytes, mem_addr, probe, read_bytes, store_bytes, MXCSR_MASK};
use crate::exception::{Exception, Result};
use crate::exec::Exec;
use iced_x86::Instruction;

/// Bytes 0–287: the x87 and MXCSR header, ST0–ST7, XMM0–XMM7.
const LEN: usize = 288;

fn aligned(x: &Exec<'_>, i: &Instruction) -> Result<(usize, u32)> {
    let (seg, off) = mem_addr(x, i);
    if x.s.seg[seg].base.wrapping_add(off) & 15 != 0 {
        return Err(Exception::gp0());
    }
    Ok((seg, off))
}

pub(super) fn fxsave(x: &mut Exec<'_>, i: &Instruction) -> Result<()> {
    let (seg, off) = aligned(x, i)?;
    let f = &x.s.fpu;
    let mut b = [0u8; LEN];
    b[0..2].copy_from_slice(&f.fcw.to_le_bytes());
    b[2..4].copy_from_slice(&f.fsw.to_le_bytes());
    b[4] = f.ftw;
    b[6..8].copy_from_slice(&(f.fop & 0x7FF).to_le_bytes());
    b[8..12].copy_from_slice(&f.fip.to_le_bytes());
    b[12..14].copy_from_slice(&f.fcs.to_le_bytes());
    b[16..20].copy_from_slice(&f.fdp.to_le_bytes());
    b[20..22].copy_from_slice(&f.fds.to_le_bytes());
    b[24..28].copy_from_slice(&f.mxcsr.to_le_bytes());
    b[28..32].copy_from_slice(&MXCSR_MASK.to_le_bytes());
    for k in 0..8 {
        let at = 32 + 16 * k;
        b[at..at + 10].copy_from_slice(&f80_bytes(f.st(k)));
    }
    probe(x, seg, off, 512)?;
    store_bytes(x, seg, off, &b)
}

pub(super) fn fxrstor(x: &mut Exec<'_>, i: &Instruction) -> Result<()> {
    let (seg, off) = aligned(x, i)?;
    let b: [u8; LEN] = read_bytes(x, seg, off)?;
    // The whole area must be readable, as on hardware.
    x.read_mem(seg, off.wrapping_add(511), 1)?;
    let mxcsr = u32::from_le_bytes(b[24..28].try_into().unwrap());
    if mxcsr & !MXCSR_MASK != 0 {
        return Err(Exception::gp0());
    }
    let f = &mut x.s.fpu;
    f.fcw = (u16::from_le_bytes([b[0], b[1]]) & 0x1F3F) | 0x40;
    f.fsw = u16::from_le_bytes([b[2], b[3]]);
    f.ftw = b[4];
    f.fop = u16::from_le_bytes([b[6], b[7]]) & 0x7FF;
    f.fip = u32::from_le_bytes(b[8..12].try_into().unwrap());
    f.fcs = u16::from_le_bytes([b[12], b[13]]);
    f.fdp = u32::from_le_bytes(b[16..20].try_into().unwrap());
    f.fds = u16::from_le_bytes([b[20], b[21]]);
    f.mxcsr = mxcsr;
    for k in 0..8 {
        let at = 32 + 16 * k;
        let p = (f.top() + k) & 7;
        f.regs[p] = f80_from_bytes(&b[at..at + 10]);
    }
    f.update_es();
    Ok(())
}
