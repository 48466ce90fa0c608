//! What generated code sees of the world: the [`Ctx`] block it gets a
//! pointer to, the exit codes it returns, and the `extern "C"` helpers it
//! calls for everything that is not inline — all of them thin wrappers
//! around the interpreter's own semantics.

use crane86_cpu::alu::{self, ShiftOp};
use crane86_cpu::decode_cache::Decoded;
use crane86_cpu::flags::{add_flags, sub_flags, szp};
use crane86_cpu::state::{flags::CF, flags::OF, flags::STATUS, ESP};
use crane86_cpu::{step, Exception, Exec};
use std::any::Any;
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Per-call context of a compiled block, `#[repr(C)]`: generated code
/// reads the RAM/TLB fields and writes the lazy-flags fields by offset.
#[repr(C)]
pub struct Ctx {
    /// `*mut Exec` (lifetime erased).
    pub exec: *mut c_void,
    /// Host address of guest physical address 0 (plain RAM only).
    pub ram: *const u8,
    pub ram_size: u64,
    /// Physical address mask of the A20 gate.
    pub a20_mask: u64,
    /// `Tlb::sets` (supervisor set, then user set).
    pub tlb: *const u8,
    /// `PhysMem::code_page_flags`: a RAM store is inline only when the
    /// flag of its page is 0 (no decoded code there).
    pub code_pages: *const u8,
    /// Guest instructions a region may retire before it returns (checked
    /// at each block entry).
    pub budget: u32,
    /// Pending lazy flags at an exit: `LF_*` kind | size << 8, or 0.
    pub lf_ks: u32,
    pub lf_a: u32,
    pub lf_b: u32,
    pub lf_c: u32,
    /// The exception of an `ST_FAULT` exit.
    pub exc: Option<Exception>,
    /// A panic caught in a helper, resumed once generated code has returned.
    pub panic: Option<Box<dyn Any + Send>>,
}

impl Ctx {
    pub fn new() -> Self {
        Ctx {
            exec: std::ptr::null_mut(),
            ram: std::ptr::null(),
            ram_size: 0,
            a20_mask: u64::MAX,
            tlb: std::ptr::null(),
            code_pages: std::ptr::null(),
            budget: 0,
            lf_ks: 0,
            lf_a: 0,
            lf_b: 0,
            lf_c: 0,
            exc: None,
            panic: None,
        }
    }

    /// Applies pending lazy flags to `eflags`.
    #[inline]
    pub fn settle_flags(&mut self, eflags: &mut u32) {
        if self.lf_ks & 0xFF != LF_NONE {
            *eflags = materialize(self.lf_ks, self.lf_a, self.lf_b, self.lf_c, *eflags);
            self.lf_ks = LF_NONE;
        }
    }
}

// ---- exit codes: retired count in the low 32 bits, status above ---------------

/// Ran to the block end (or a taken branch): EIP is set.
pub const ST_NORMAL: u64 = 0;
/// An exception, in `Ctx::exc`; state is before the faulting instruction.
pub const ST_FAULT: u64 = 1;
/// #GP(0) detected inline (a near branch beyond the CS limit).
pub const ST_GP0: u64 = 2;
/// Stopped early after an instruction (end_block, code written, branch).
pub const ST_STOP: u64 = 3;
/// A helper panicked (`Ctx::panic`).
pub const ST_PANIC: u64 = 4;
/// Like `ST_NORMAL`, at an indirect branch whose target is not in the region.
pub const ST_IND: u64 = 5;
/// #DE detected inline (DIV/IDIV); state before the instruction.
pub const ST_DE: u64 = 6;
/// Like `ST_NORMAL`, before an instruction whose memory access missed the
/// inline fast path (EIP is at that instruction, which did not run).
pub const ST_SLOW: u64 = 7;

pub const fn exit_code(retired: u32, status: u64) -> u64 {
    retired as u64 | status << 32
}

// ---- lazy flags ---------------------------------------------------------------

pub const LF_NONE: u32 = 0;
/// a + b + c (ADD: c = 0, ADC: c = carry in).
pub const LF_ADD: u32 = 1;
/// a - b - c (SUB/CMP: c = 0, SBB: c = borrow in).
pub const LF_SUB: u32 = 2;
/// Logical result a (AND/OR/XOR/TEST): CF = OF = AF = 0.
pub const LF_LOGIC: u32 = 3;
/// INC a; c = the carry flag kept from before.
pub const LF_INC: u32 = 4;
/// DEC a; c = the carry flag kept from before.
pub const LF_DEC: u32 = 5;
/// Shifts of a by b (1..=31).
pub const LF_SHL: u32 = 6;
pub const LF_SHR: u32 = 7;
pub const LF_SAR: u32 = 8;
/// IMUL: a = the (masked) result, c = 1 when it overflowed (CF = OF = c).
pub const LF_MUL: u32 = 9;

/// EFLAGS after a recorded operation (`ks`: kind | size << 8), with the
/// interpreter's definitions.
pub fn materialize(ks: u32, a: u32, b: u32, c: u32, eflags: u32) -> u32 {
    let size = (ks >> 8) as u8;
    let status = match ks & 0xFF {
        LF_ADD => add_flags(a, b, c, size).1,
        LF_SUB => sub_flags(a, b, c, size).1,
        LF_LOGIC => szp(a, size),
        LF_INC => (add_flags(a, 1, 0, size).1 & !CF) | (c & CF),
        LF_DEC => (sub_flags(a, 1, 0, size).1 & !CF) | (c & CF),
        LF_SHL => alu::shift(ShiftOp::Shl, a, b, size, 0).1,
        LF_SHR => alu::shift(ShiftOp::Shr, a, b, size, 0).1,
        LF_SAR => alu::shift(ShiftOp::Sar, a, b, size, 0).1,
        LF_MUL => szp(a, size) | if c != 0 { CF | OF } else { 0 },
        _ => return eflags,
    };
    (eflags & !STATUS) | (status & STATUS)
}

/// [`materialize`] for generated code (flags read across a block edge).
pub extern "C" fn h_flags(ks: u32, a: u32, b: u32, c: u32, eflags: u32) -> u32 {
    materialize(ks, a, b, c, eflags)
}

// ---- helpers called from generated code -----------------------------------------

#[inline(always)]
unsafe fn exec<'a>(ctx: *mut Ctx) -> &'a mut Exec<'a> {
    // SAFETY: the engine stores a live `&mut Exec` here for the duration of
    // the call into generated code, and nothing else uses it meanwhile.
    unsafe { &mut *((*ctx).exec as *mut Exec<'a>) }
}

/// Runs `f`, turning a panic into `fail` (the panic is kept in the context
/// and resumed by the engine: unwinding through generated code is not
/// possible).
#[inline(always)]
unsafe fn guarded<R>(ctx: *mut Ctx, fail: R, f: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            // SAFETY: ctx is valid for the call (see `exec`).
            unsafe { (*ctx).panic = Some(p) };
            fail
        }
    }
}

/// One instruction through the interpreter's `step`, exactly as its loop
/// does it. `d` is the instruction, `done` the instructions the region
/// retired before it, `base` those retired before its block (the TSC the
/// interpreter would show). Returns 0 to go on, else the region's exit
/// code. Before the call generated code has stored every register, EFLAGS
/// and the pending lazy flags (in the context).
pub unsafe extern "C" fn h_step(
    ctx: *mut Ctx,
    d: *const Decoded,
    cur: u32,
    next: u32,
    done: u32,
    base: u32,
) -> u64 {
    unsafe {
        guarded(ctx, exit_code(done, ST_PANIC), || {
            let c = &mut *ctx;
            let x = exec(ctx);
            c.settle_flags(&mut x.s.eflags);
            let d = &*d;
            let esp = x.s.gpr[ESP];
            let segs = x.s.seg;
            x.s.eip = next;
            x.s.tsc = x.s.tsc.wrapping_add(base as u64);
            let r = step(x, d, cur);
            x.s.tsc = x.s.tsc.wrapping_sub(base as u64);
            match r {
                Ok(()) => {
                    // A segment register changed: the region was compiled
                    // for the old ones (flat segments skip their checks).
                    if x.end_block || x.s.eip != next || x.mem.code_written() || x.s.seg != segs {
                        exit_code(done + 1, ST_STOP)
                    } else {
                        0
                    }
                }
                Err(e) => {
                    x.s.eip = cur;
                    x.s.gpr[ESP] = esp;
                    c.exc = Some(e);
                    exit_code(done, ST_FAULT)
                }
            }
        })
    }
}

/// Data read through segmentation and paging: the value, or bit 32 set on
/// an exception (kept in the context).
pub unsafe extern "C" fn h_read(ctx: *mut Ctx, seg: u32, off: u32, size: u32) -> u64 {
    unsafe {
        guarded(ctx, 1 << 32, || {
            let x = exec(ctx);
            match x.read_mem(seg as usize, off, size as u8) {
                Ok(v) => v as u64,
                Err(e) => {
                    (*ctx).exc = Some(e);
                    1 << 32
                }
            }
        })
    }
}

/// Data write: 0 done, 1 exception (kept in the context), 2 done and it
/// hit a page holding decoded code (the block must stop after this
/// instruction).
pub unsafe extern "C" fn h_write(ctx: *mut Ctx, seg: u32, off: u32, size: u32, v: u32) -> u32 {
    unsafe {
        guarded(ctx, 1, || {
            let x = exec(ctx);
            match x.write_mem(seg as usize, off, size as u8, v) {
                Ok(()) => {
                    if x.mem.code_written() {
                        2
                    } else {
                        0
                    }
                }
                Err(e) => {
                    (*ctx).exc = Some(e);
                    1
                }
            }
        })
    }
}
