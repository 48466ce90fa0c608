//! The reference interpreter: fetches through the decoded-block cache,
//! executes each instruction's semantics, takes interrupts at instruction
//! boundaries and delivers exceptions with the double- and triple-fault
//! rules of SDM vol. 3, 6.15 (table 6-5).

use crate::alu::{self, AluOp, ShiftOp};
use crate::decode_cache::{self, Block, DecodeCache, Decoded, Fast, MemRef, Opnd, NO_REG};
use crate::exception::{self, vector, Exception, Result};
use crate::exec::{mask, sign_bit, Exec, Size};
use crate::state::{flags, CpuState, CS, EAX, EBX, ECX, EDI, EDX, ESP, SS};
use crate::tlb::Tlb;
use crate::Platform;
use crane86_mmu::page_walk::Access;
use crane86_mmu::PhysMem;
use iced_x86::{Code, Instruction, Mnemonic, OpKind, Register};

/// Why [`Cpu::run`] returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The instruction budget ran out (or the board asked to look at devices).
    Yield,
    /// HLT: waiting for an interrupt.
    Halted,
    /// Triple fault: the board resets the machine (or stops with -no-reboot).
    TripleFault,
    /// An instruction we do not implement; the message names CS:EIP and bytes.
    Unimplemented(String),
}

/// What a [`BlockEngine`] did with a block.
#[derive(Debug)]
pub enum BlockRun {
    /// The engine does not run this block (yet): the interpreter does.
    Declined,
    /// The engine ran `retired` instructions from the block's start. On
    /// `Err`, the state is exactly as before the faulting instruction
    /// (EIP at it, ESP restored) and the exception is delivered by the
    /// dispatcher. The engine stops early, as the interpreter does, when
    /// `Exec::end_block` is set or guest code was written
    /// (`PhysMem::code_written`).
    Ran { retired: u64, result: Result<()> },
}

/// An alternative executor for decoded blocks (the JIT). The dispatcher
/// keeps interrupts, exceptions and self-modifying-code handling; the
/// engine only runs straight-line blocks that need no per-instruction
/// checks (no single-step, no interrupt shadow, within the CS limit).
pub trait BlockEngine {
    /// Runs block `idx` of the decode cache, which starts at `x.s.eip`.
    fn run_block(&mut self, x: &mut Exec<'_>, idx: u32, block: &Block) -> BlockRun;
    /// Block `idx` was dropped from the decode cache (its slot may be reused).
    fn invalidate(&mut self, idx: u32);
    /// Every block was dropped.
    fn flush(&mut self);
}

pub struct Cpu {
    pub s: CpuState,
    tlb: Tlb,
    cache: DecodeCache,
    /// Guest instructions retired since creation.
    pub icount: u64,
    /// Log every interrupt and exception to stderr (`-d int`).
    pub trace_int: bool,
    /// The decode cache was dropped outside a run: the engine must flush.
    engine_stale: bool,
}

impl Default for Cpu {
    fn default() -> Self {
        Self::new()
    }
}

impl Cpu {
    pub fn new() -> Self {
        Cpu {
            s: CpuState::reset(),
            tlb: Tlb::default(),
            cache: DecodeCache::default(),
            icount: 0,
            trace_int: false,
            engine_stale: false,
        }
    }

    /// RESET: architectural state to power-on values, caches dropped.
    pub fn reset(&mut self) {
        self.s = CpuState::reset();
        self.tlb.flush_all();
        self.cache.clear();
        self.engine_stale = true;
    }

    pub fn blocks_decoded(&self) -> u64 {
        self.cache.decoded_blocks
    }

    /// Runs up to about `budget` instructions with the interpreter.
    pub fn run(&mut self, mem: &mut PhysMem, io: &mut dyn Platform, budget: u64) -> Exit {
        self.run_with(mem, io, budget, None)
    }

    /// Runs up to about `budget` instructions, offering each block to
    /// `engine` first.
    pub fn run_with(
        &mut self,
        mem: &mut PhysMem,
        io: &mut dyn Platform,
        budget: u64,
        mut engine: Option<&mut dyn BlockEngine>,
    ) -> Exit {
        if let Some(e) = engine.as_mut() {
            if self.engine_stale {
                e.flush();
            }
            self.engine_stale = false;
        }
        let cache = &mut self.cache;
        let mut x = Exec::new(&mut self.s, mem, io, &mut self.tlb);
        x.trace_int = self.trace_int;
        let mut done = 0u64;
        let exit = loop {
            if done >= budget {
                break Exit::Yield;
            }
            if x.mem.code_written() {
                for (addr, len) in x.mem.take_dirty_code() {
                    let mut dropped = Vec::new();
                    if cache.invalidate_write(addr, len, &mut dropped) {
                        x.mem.mark_code_page(addr);
                    }
                    if let Some(e) = engine.as_mut() {
                        for idx in dropped {
                            e.invalidate(idx);
                        }
                    }
                }
            }
            if x.s.eflags & flags::IF != 0 && !x.s.int_shadow && x.io.interrupt_pending() {
                let v = x.io.acknowledge_interrupt();
                x.s.halted = false;
                if let Some(e) = raise(&mut x, Exception::fault(v), true) {
                    break e;
                }
            }
            if x.s.halted {
                break Exit::Halted;
            }
            let flushes = cache.flushes;
            let fetched = fetch_block(&mut x, cache);
            if cache.flushes != flushes {
                if let Some(e) = engine.as_mut() {
                    e.flush();
                }
            }
            let (idx, block) = match fetched {
                Ok(b) => (b, cache.block(b)),
                Err(e) => {
                    if let Some(e) = raise(&mut x, e, false) {
                        break e;
                    }
                    continue;
                }
            };
            let mut stop = None;
            // Checks that hold for the whole block are done once: the CS
            // limit, and whether a trap flag or interrupt shadow is active.
            let start = x.s.eip;
            let wrap = if x.s.code32() { u32::MAX } else { 0xFFFF };
            let careful = x.s.eflags & flags::TF != 0
                || x.s.int_shadow
                || start
                    .checked_add(block.len)
                    .is_none_or(|end| end - 1 > x.s.seg[CS].limit)
                || (wrap == 0xFFFF && start + block.len > 0x10000);
            let mut ran = 0u64;
            if !careful {
                if let Some(e) = engine.as_mut() {
                    if let BlockRun::Ran { retired, result } = e.run_block(&mut x, idx, block) {
                        done += retired;
                        x.s.tsc = x.s.tsc.wrapping_add(retired);
                        if let Err(err) = result {
                            let stop = if err == Exception::Unimplemented {
                                Some(unimplemented(&mut x, "instruction not implemented"))
                            } else {
                                raise(&mut x, err, false)
                            };
                            if let Some(s) = stop {
                                break s;
                            }
                        }
                        x.end_block = false;
                        if x.io.stop_requested() {
                            break Exit::Yield;
                        }
                        continue;
                    }
                }
            }
            for d in block.insns.iter() {
                let cur = x.s.eip;
                let len = d.i.len() as u32;
                let next = cur.wrapping_add(len) & wrap;
                let esp = x.s.gpr[ESP];
                x.s.eip = next;
                let r = if careful {
                    step_careful(&mut x, d, cur, len)
                } else {
                    step(&mut x, d, cur)
                };
                if let Err(e) = r {
                    x.s.eip = cur;
                    x.s.gpr[ESP] = esp;
                    if e == Exception::Unimplemented {
                        stop = Some(unimplemented(&mut x, "instruction not implemented"));
                        break;
                    }
                    stop = raise(&mut x, e, false);
                    break;
                }
                ran += 1;
                if careful && x.s.eflags & flags::TF != 0 && x.trap_pending {
                    x.trap_pending = false;
                    // Single-step trap after the instruction (SDM vol. 3, 17.3.1.4).
                    x.s.dr[6] |= 1 << 14;
                    stop = raise(&mut x, Exception::fault(vector::DB), false);
                    break;
                }
                if x.end_block || x.s.eip != next || x.mem.code_written() {
                    x.end_block = false;
                    if x.io.stop_requested() {
                        stop = Some(Exit::Yield);
                    }
                    break;
                }
            }
            done += ran;
            x.s.tsc = x.s.tsc.wrapping_add(ran);
            if let Some(e) = stop {
                break e;
            }
        };
        self.icount += done;
        exit
    }
}

fn unimplemented(x: &mut Exec<'_>, why: &str) -> Exit {
    let cs = x.s.seg[CS];
    let mut bytes = String::new();
    for k in 0..8u32 {
        let lin = cs.base.wrapping_add(x.s.eip.wrapping_add(k));
        match x.translate(lin, Access::Fetch, false) {
            Ok(p) => bytes.push_str(&format!("{:02x} ", x.mem.read_u8(p))),
            Err(_) => break,
        }
    }
    Exit::Unimplemented(format!(
        "{:04x}:{:08x}: {}: {}",
        cs.selector,
        x.s.eip,
        bytes.trim_end(),
        why
    ))
}

/// Delivers an exception or interrupt with the double/triple-fault rules.
/// Returns an exit when the CPU can no longer go on.
fn raise(x: &mut Exec<'_>, e: Exception, external: bool) -> Option<Exit> {
    let (mut vec, mut err) = match e {
        Exception::Fault { vector, error } => (vector, error),
        Exception::TripleFault => return Some(Exit::TripleFault),
        Exception::Unimplemented => return Some(unimplemented(x, "instruction not implemented")),
    };
    // Real mode pushes no error codes.
    if !x.s.protected() {
        err = None;
    }
    // Error codes of faults met while delivering this event carry EXT
    // (SDM 6.13); INT n/INT3/INTO deliver themselves without EXT.
    x.ext = 1;
    if x.trace_int {
        eprintln!(
            "crane86: {} v={vec:02x} e={} at {:04x}:{:08x} cpl={} cr0={:08x} eflags={:08x}",
            if external { "interrupt" } else { "exception" },
            err.map_or("----".into(), |e| format!("{e:04x}")),
            x.s.seg[CS].selector,
            x.s.eip,
            x.s.cpl,
            x.s.cr0,
            x.s.eflags
        );
    }
    let first = vec;
    for _ in 0..3 {
        let r = x.deliver(vec, err, false);
        match r {
            Ok(()) => {
                x.ext = 0;
                return None;
            }
            Err(Exception::Fault {
                vector: v2,
                error: e2,
            }) => {
                if vec == vector::DF {
                    return Some(Exit::TripleFault);
                }
                let contributory = |v| exception::is_contributory(v);
                let double = (contributory(first) && contributory(v2))
                    || (first == vector::PF && (contributory(v2) || v2 == vector::PF));
                if double {
                    vec = vector::DF;
                    err = Some(0);
                } else {
                    vec = v2;
                    err = if x.s.protected() { e2 } else { None };
                }
                x.ext = 1;
            }
            Err(other) => return raise(x, other, external),
        }
    }
    Some(Exit::TripleFault)
}

/// Finds (or decodes) the block at CS:EIP.
fn fetch_block(x: &mut Exec<'_>, cache: &mut DecodeCache) -> Result<u32> {
    let eip = x.s.eip;
    let cs = x.s.seg[CS];
    if eip > cs.limit {
        return Err(Exception::gp0());
    }
    let lin = cs.base.wrapping_add(eip);
    let user = x.s.cpl == 3;
    let phys = x.translate(lin, Access::Fetch, user)?;
    let phys = x.mem.a20(phys);
    let code32 = x.s.code32();
    let key = decode_cache::key(phys, code32);
    if let Some(b) = cache.get(key) {
        return Ok(b);
    }
    // Bytes to the end of this page, plus up to 15 from the next page when
    // it is mapped, for an instruction that straddles the boundary.
    let in_page = 0x1000 - (lin & 0xFFF) as usize;
    let mut bytes = Vec::with_capacity(in_page + 15);
    for k in 0..in_page as u64 {
        bytes.push(x.mem.read_u8(phys + k));
    }
    let next_lin = (lin & !0xFFF).wrapping_add(0x1000);
    let next_phys = x
        .translate(next_lin, Access::Fetch, user)
        .ok()
        .map(|p| x.mem.a20(p));
    if let Some(np) = next_phys {
        for k in 0..15 {
            bytes.push(x.mem.read_u8(np + k));
        }
    }
    let insns = decode_cache::decode_block(&bytes, eip, code32, in_page);
    if insns.is_empty() {
        // The first instruction needs the next page, which faulted.
        x.translate(next_lin, Access::Fetch, user)?;
        return Err(Exception::Unimplemented);
    }
    let last_end = insns
        .last()
        .map(|d| (d.i.next_ip32().wrapping_sub(eip)) as usize)
        .unwrap_or(0);
    let crosses = last_end > in_page;
    x.mem.mark_code_page(phys);
    let second = if crosses {
        next_phys.map(|p| p >> 12).unwrap_or(u64::MAX)
    } else {
        u64::MAX
    };
    if second != u64::MAX {
        x.mem.mark_code_page(second << 12);
    }
    Ok(cache.insert(Block::new(
        insns,
        key,
        phys,
        last_end as u32,
        (last_end.min(in_page)) as u32,
        second,
    )))
}

#[inline(always)]
fn opnd_size(o: Opnd) -> Size {
    match o {
        Opnd::Reg { size, .. } | Opnd::Mem { size } => size,
        _ => 4,
    }
}

#[inline(always)]
fn ea_of(x: &Exec<'_>, m: &MemRef) -> u32 {
    let mut a = m.disp;
    if m.base != NO_REG {
        a = a.wrapping_add(x.s.gpr[m.base as usize]);
    }
    if m.index != NO_REG {
        a = a.wrapping_add(x.s.gpr[m.index as usize].wrapping_mul(m.scale as u32));
    }
    if m.addr16 {
        a & 0xFFFF
    } else {
        a
    }
}

#[inline(always)]
fn get(x: &mut Exec<'_>, d: &Decoded, o: Opnd) -> Result<u32> {
    match o {
        Opnd::Reg { n, size, hi } => {
            let v = x.s.gpr[n as usize];
            Ok(if hi { (v >> 8) & 0xFF } else { v & mask(size) })
        }
        Opnd::Imm(v) => Ok(v),
        Opnd::Mem { size } => {
            let ea = ea_of(x, &d.mem);
            x.read_mem(d.mem.seg as usize, ea, size)
        }
        Opnd::None => Err(Exception::Unimplemented),
    }
}

#[inline(always)]
fn put(x: &mut Exec<'_>, d: &Decoded, o: Opnd, v: u32) -> Result<()> {
    match o {
        Opnd::Reg { n, size, hi } => {
            let r = &mut x.s.gpr[n as usize];
            if hi {
                *r = (*r & !0xFF00) | ((v & 0xFF) << 8);
            } else {
                let m = mask(size);
                *r = (*r & !m) | (v & m);
            }
            Ok(())
        }
        Opnd::Mem { size } => {
            let ea = ea_of(x, &d.mem);
            x.write_mem(d.mem.seg as usize, ea, size, v)
        }
        _ => Err(Exception::Unimplemented),
    }
}

/// One instruction with the per-instruction checks a fast block skips: the
/// CS limit, the interrupt shadow, and the single-step trap.
fn step_careful(x: &mut Exec<'_>, d: &Decoded, cur: u32, len: u32) -> Result<()> {
    if cur.wrapping_add(len - 1) > x.s.seg[CS].limit || (!x.s.code32() && cur + len > 0x10000) {
        return Err(Exception::gp0());
    }
    let shadow = x.s.int_shadow;
    let tf = x.s.eflags & flags::TF != 0;
    step(x, d, cur)?;
    if shadow {
        x.s.int_shadow = false;
    }
    x.trap_pending = tf;
    Ok(())
}

/// Executes one instruction, through its fast path when it has one.
/// `x.s.eip` must already hold the next instruction's address; `cur` is
/// this one's. On `Err` the caller restores EIP (and ESP) to `cur`.
#[inline(always)]
pub fn step(x: &mut Exec<'_>, d: &Decoded, cur: u32) -> Result<()> {
    match d.fast {
        Fast::Generic => execute(x, d, cur),
        Fast::Mov => {
            let v = get(x, d, d.b)?;
            put(x, d, d.a, v)
        }
        Fast::Alu(op) => {
            let size = opnd_size(d.a);
            let a = get(x, d, d.a)?;
            let b = get(x, d, d.b)?;
            let (r, f) = alu::alu(op, a, b, size, x.s.eflags);
            if op != AluOp::Cmp {
                put(x, d, d.a, r)?;
            }
            x.s.eflags = f;
            Ok(())
        }
        Fast::Test => {
            let size = opnd_size(d.a);
            let a = get(x, d, d.a)?;
            let b = get(x, d, d.b)?;
            x.s.eflags = alu::alu(AluOp::And, a, b, size, x.s.eflags).1;
            Ok(())
        }
        Fast::Inc | Fast::Dec => {
            let size = opnd_size(d.a);
            let a = get(x, d, d.a)?;
            let (r, f) = alu::inc_dec(a, d.fast == Fast::Dec, size, x.s.eflags);
            put(x, d, d.a, r)?;
            x.s.eflags = f;
            Ok(())
        }
        Fast::Shift(op) => {
            let size = opnd_size(d.a);
            let a = get(x, d, d.a)?;
            let count = get(x, d, d.b)?;
            let (r, f) = alu::shift(op, a, count, size, x.s.eflags);
            if count & 0x1F != 0 {
                put(x, d, d.a, r)?;
            }
            x.s.eflags = f;
            Ok(())
        }
        Fast::Movzx | Fast::Movsx => {
            let ss = opnd_size(d.b);
            let v = get(x, d, d.b)?;
            let v = if d.fast == Fast::Movsx && v & sign_bit(ss) != 0 {
                v | !mask(ss)
            } else {
                v
            };
            put(x, d, d.a, v)
        }
        Fast::Jmp => x.jump_near(x.rel_target(&d.i, cur)),
        Fast::Jcc(cc) => {
            if x.cond(cc) {
                x.jump_near(x.rel_target(&d.i, cur))
            } else {
                Ok(())
            }
        }
    }
}

fn cc_of(m: Mnemonic) -> u8 {
    use Mnemonic::*;
    match m {
        Jo | Seto | Cmovo => 0,
        Jno | Setno | Cmovno => 1,
        Jb | Setb | Cmovb => 2,
        Jae | Setae | Cmovae => 3,
        Je | Sete | Cmove => 4,
        Jne | Setne | Cmovne => 5,
        Jbe | Setbe | Cmovbe => 6,
        Ja | Seta | Cmova => 7,
        Js | Sets | Cmovs => 8,
        Jns | Setns | Cmovns => 9,
        Jp | Setp | Cmovp => 10,
        Jnp | Setnp | Cmovnp => 11,
        Jl | Setl | Cmovl => 12,
        Jge | Setge | Cmovge => 13,
        Jle | Setle | Cmovle => 14,
        _ => 15,
    }
}

fn alu_op(m: Mnemonic) -> Option<AluOp> {
    Some(match m {
        Mnemonic::Add => AluOp::Add,
        Mnemonic::Or => AluOp::Or,
        Mnemonic::Adc => AluOp::Adc,
        Mnemonic::Sbb => AluOp::Sbb,
        Mnemonic::And => AluOp::And,
        Mnemonic::Sub => AluOp::Sub,
        Mnemonic::Xor => AluOp::Xor,
        Mnemonic::Cmp => AluOp::Cmp,
        _ => return None,
    })
}

fn shift_op(m: Mnemonic) -> Option<ShiftOp> {
    Some(match m {
        Mnemonic::Rol => ShiftOp::Rol,
        Mnemonic::Ror => ShiftOp::Ror,
        Mnemonic::Rcl => ShiftOp::Rcl,
        Mnemonic::Rcr => ShiftOp::Rcr,
        Mnemonic::Shl | Mnemonic::Sal => ShiftOp::Shl,
        Mnemonic::Shr => ShiftOp::Shr,
        Mnemonic::Sar => ShiftOp::Sar,
        _ => return None,
    })
}

/// Instructions LOCK may prefix (SDM vol. 2, LOCK), with a memory destination.
fn lockable(i: &Instruction) -> bool {
    use Mnemonic::*;
    matches!(
        i.mnemonic(),
        Add | Adc
            | And
            | Btc
            | Btr
            | Bts
            | Cmpxchg
            | Cmpxchg8b
            | Dec
            | Inc
            | Neg
            | Not
            | Or
            | Sbb
            | Sub
            | Xor
            | Xadd
            | Xchg
    ) && i.op_kind(0) == OpKind::Memory
}

fn seg_of(r: Register) -> usize {
    crate::exec::seg_index(r)
}

/// Executes one instruction. `cur` is its EIP; `x.s.eip` already holds the
/// next instruction's.
pub fn execute(x: &mut Exec<'_>, d: &Decoded, cur: u32) -> Result<()> {
    use Mnemonic as M;
    let i = &d.i;
    let m = i.mnemonic();
    if i.has_lock_prefix() && !lockable(i) {
        return Err(Exception::ud());
    }
    if let Some(op) = alu_op(m) {
        let size = x.op_size(i, 0);
        let a = x.read_op(i, 0, size)?;
        let b = x.read_op(i, 1, size)?;
        let (r, f) = alu::alu(op, a, b, size, x.s.eflags);
        if op != AluOp::Cmp {
            x.write_op(i, 0, size, r)?;
        }
        x.s.eflags = f;
        return Ok(());
    }
    if let Some(op) = shift_op(m) {
        let size = x.op_size(i, 0);
        let a = x.read_op(i, 0, size)?;
        let count = if i.op_count() > 1 {
            x.read_op(i, 1, 1)?
        } else {
            1
        };
        let (r, f) = alu::shift(op, a, count, size, x.s.eflags);
        if count & 0x1F != 0 {
            x.write_op(i, 0, size, r)?;
        }
        x.s.eflags = f;
        return Ok(());
    }
    match m {
        M::Mov => mov(x, i)?,
        M::Nop
        | M::Reservednop
        | M::Pause
        | M::Invd
        | M::Wbinvd
        | M::Prefetchnta
        | M::Prefetcht0
        | M::Prefetcht1
        | M::Prefetcht2 => {
            if matches!(m, M::Invd | M::Wbinvd) {
                x.require_cpl0()?;
            }
        }
        M::Test => {
            let size = x.op_size(i, 0);
            let a = x.read_op(i, 0, size)?;
            let b = x.read_op(i, 1, size)?;
            let (_, f) = alu::alu(AluOp::And, a, b, size, x.s.eflags);
            x.s.eflags = f;
        }
        M::Inc | M::Dec => {
            let size = x.op_size(i, 0);
            let a = x.read_op(i, 0, size)?;
            let (r, f) = alu::inc_dec(a, m == M::Dec, size, x.s.eflags);
            x.write_op(i, 0, size, r)?;
            x.s.eflags = f;
        }
        M::Neg => {
            let size = x.op_size(i, 0);
            let a = x.read_op(i, 0, size)?;
            let (r, f) = alu::neg(a, size, x.s.eflags);
            x.write_op(i, 0, size, r)?;
            x.s.eflags = f;
        }
        M::Not => {
            let size = x.op_size(i, 0);
            let a = x.read_op(i, 0, size)?;
            x.write_op(i, 0, size, !a & mask(size))?;
        }
        M::Lea => {
            let ea = x.ea(i);
            x.set_reg(i.op0_register(), ea);
        }
        M::Movzx | M::Movsx => {
            let ss = x.op_size(i, 1);
            let v = x.read_op(i, 1, ss)?;
            let v = if m == M::Movsx && v & sign_bit(ss) != 0 {
                v | !mask(ss)
            } else {
                v
            };
            x.set_reg(i.op0_register(), v);
        }
        M::Xchg => {
            let size = x.op_size(i, 0);
            let a = x.read_op(i, 0, size)?;
            let b = x.read_op(i, 1, size)?;
            // Memory operand (if any) is op0 or op1; write memory first.
            if i.op_kind(1) == OpKind::Memory {
                x.write_op(i, 1, size, a)?;
                x.write_op(i, 0, size, b)?;
            } else {
                x.write_op(i, 0, size, b)?;
                x.write_op(i, 1, size, a)?;
            }
        }
        M::Push => push(x, i, d.opsize)?,
        M::Pop => pop(x, i, d.opsize)?,
        M::Pusha | M::Pushad => {
            let size = d.opsize;
            let sp = x.sp();
            let regs: Vec<u32> = (0..8)
                .map(|r| {
                    if r == ESP {
                        x.gpr(ESP, size)
                    } else {
                        x.gpr(r, size)
                    }
                })
                .collect();
            let ss = x.s.seg[SS];
            let esp = x
                .push_frame(&ss, x.s.gpr[ESP], &regs, size)
                .map_err(|_| Exception::ss(0))?;
            let _ = sp;
            x.set_sp(esp);
        }
        M::Popa | M::Popad => {
            let size = d.opsize;
            let mut v = [0u32; 8];
            for (k, slot) in v.iter_mut().enumerate() {
                *slot = x.peek(k as u32 * size as u32, size)?;
            }
            for (k, r) in [EDI, 6, 5, ESP, EBX, EDX, ECX, EAX].iter().enumerate() {
                if *r != ESP {
                    x.set_gpr(*r, size, v[k]);
                }
            }
            x.set_sp(x.sp().wrapping_add(8 * size as u32));
        }
        M::Pushf | M::Pushfd => x.pushf(d.opsize)?,
        M::Popf | M::Popfd => x.popf(d.opsize)?,
        M::Lahf => {
            let f = x.s.eflags & 0xFF;
            x.set_reg(Register::AH, f | 2);
        }
        M::Sahf => {
            let ah = x.reg(Register::AH);
            x.set_status(
                flags::SF | flags::ZF | flags::AF | flags::PF | flags::CF,
                ah,
            );
        }
        M::Cbw => x.set_gpr(EAX, 2, (x.gpr(EAX, 1) as i8) as i16 as u32),
        M::Cwde => x.s.gpr[EAX] = (x.gpr(EAX, 2) as i16) as i32 as u32,
        M::Cwd => x.set_gpr(
            EDX,
            2,
            if x.gpr(EAX, 2) & 0x8000 != 0 {
                0xFFFF
            } else {
                0
            },
        ),
        M::Cdq => {
            x.s.gpr[EDX] = if x.s.gpr[EAX] & 0x8000_0000 != 0 {
                0xFFFF_FFFF
            } else {
                0
            }
        }
        M::Xlatb => {
            // iced describes XLAT as [BX/EBX + AL] with the segment override.
            let v = x.read_op(i, 0, 1)?;
            x.set_gpr(EAX, 1, v);
        }
        M::Lds | M::Les | M::Lfs | M::Lgs | M::Lss => {
            let size = d.opsize;
            let (seg, ea) = (x.mem_seg(i), x.ea(i));
            let off = x.read_mem(seg, ea, size)?;
            let sel = x.read_mem(seg, ea.wrapping_add(size as u32), 2)?;
            let target = match m {
                M::Lds => 3,
                M::Les => 0,
                M::Lfs => 4,
                M::Lgs => 5,
                _ => SS,
            };
            x.load_seg(target, sel as u16)?;
            x.set_reg(i.op0_register(), off);
            if target == SS {
                x.s.int_shadow = true;
                x.end_block = true;
            }
        }
        M::Bswap => {
            let r = i.op0_register();
            if r.size() == 4 {
                x.set_reg(r, x.reg(r).swap_bytes());
            } else {
                // BSWAP on a 16-bit register is undefined; Intel CPUs zero it.
                x.set_reg(r, 0);
            }
        }
        M::Cmove
        | M::Cmovne
        | M::Cmovo
        | M::Cmovno
        | M::Cmovb
        | M::Cmovae
        | M::Cmovbe
        | M::Cmova
        | M::Cmovs
        | M::Cmovns
        | M::Cmovp
        | M::Cmovnp
        | M::Cmovl
        | M::Cmovge
        | M::Cmovle
        | M::Cmovg => {
            let size = x.op_size(i, 0);
            // The source is read (and may fault) even when the move is not done.
            let v = x.read_op(i, 1, size)?;
            if x.cond(cc_of(m)) {
                x.set_reg(i.op0_register(), v);
            }
        }
        M::Sete
        | M::Setne
        | M::Seto
        | M::Setno
        | M::Setb
        | M::Setae
        | M::Setbe
        | M::Seta
        | M::Sets
        | M::Setns
        | M::Setp
        | M::Setnp
        | M::Setl
        | M::Setge
        | M::Setle
        | M::Setg => {
            let v = x.cond(cc_of(m)) as u32;
            x.write_op(i, 0, 1, v)?;
        }
        M::Cmpxchg => {
            let size = x.op_size(i, 0);
            let dst = x.read_op(i, 0, size)?;
            let acc = x.gpr(EAX, size);
            let (_, f) = alu::alu(AluOp::Cmp, acc, dst, size, x.s.eflags);
            if acc == dst {
                let src = x.read_op(i, 1, size)?;
                x.write_op(i, 0, size, src)?;
            } else {
                // The destination is written back with its own value (SDM).
                x.write_op(i, 0, size, dst)?;
                x.set_gpr(EAX, size, dst);
            }
            x.s.eflags = f;
        }
        M::Cmpxchg8b => {
            if i.op_kind(0) != OpKind::Memory {
                return Err(Exception::ud());
            }
            let (seg, ea) = (x.mem_seg(i), x.ea(i));
            let lo = x.read_mem(seg, ea, 4)?;
            let hi = x.read_mem(seg, ea.wrapping_add(4), 4)?;
            x.probe_write(i, 0, 8)?;
            if lo == x.s.gpr[EAX] && hi == x.s.gpr[EDX] {
                x.write_mem(seg, ea, 4, x.s.gpr[EBX])?;
                x.write_mem(seg, ea.wrapping_add(4), 4, x.s.gpr[ECX])?;
                x.s.eflags |= flags::ZF;
            } else {
                x.write_mem(seg, ea, 4, lo)?;
                x.write_mem(seg, ea.wrapping_add(4), 4, hi)?;
                x.s.gpr[EAX] = lo;
                x.s.gpr[EDX] = hi;
                x.s.eflags &= !flags::ZF;
            }
        }
        M::Xadd => {
            let size = x.op_size(i, 0);
            let dst = x.read_op(i, 0, size)?;
            let src = x.read_op(i, 1, size)?;
            let (r, f) = alu::alu(AluOp::Add, dst, src, size, x.s.eflags);
            x.probe_write(i, 0, size)?;
            x.write_op(i, 1, size, dst)?;
            x.write_op(i, 0, size, r)?;
            x.s.eflags = f;
        }
        M::Mul | M::Imul if i.op_count() == 1 => {
            let size = x.op_size(i, 0);
            let b = x.read_op(i, 0, size)?;
            let a = x.gpr(EAX, size);
            let (lo, hi, f) = alu::mul(m == M::Imul, a, b, size, x.s.eflags);
            if size == 1 {
                x.set_gpr(EAX, 2, (hi << 8) | lo);
            } else {
                x.set_gpr(EAX, size, lo);
                x.set_gpr(EDX, size, hi);
            }
            x.s.eflags = f;
        }
        M::Imul => {
            let size = x.op_size(i, 0);
            let (a, b) = if i.op_count() == 3 {
                (x.read_op(i, 1, size)?, x.read_op(i, 2, size)?)
            } else {
                (x.read_op(i, 0, size)?, x.read_op(i, 1, size)?)
            };
            let (lo, _, f) = alu::mul(true, a, b, size, x.s.eflags);
            x.set_reg(i.op0_register(), lo);
            x.s.eflags = f;
        }
        M::Div | M::Idiv => {
            let size = x.op_size(i, 0);
            let dv = x.read_op(i, 0, size)?;
            let (lo, hi) = if size == 1 {
                (x.gpr(EAX, 1), (x.gpr(EAX, 2) >> 8))
            } else {
                (x.gpr(EAX, size), x.gpr(EDX, size))
            };
            let (q, r) = alu::div(m == M::Idiv, lo, hi, dv, size)?;
            if size == 1 {
                x.set_gpr(EAX, 2, (r << 8) | q);
            } else {
                x.set_gpr(EAX, size, q);
                x.set_gpr(EDX, size, r);
            }
        }
        M::Daa | M::Das => {
            let (al, f) = if m == M::Daa {
                alu::daa(x.gpr(EAX, 1), x.s.eflags)
            } else {
                alu::das(x.gpr(EAX, 1), x.s.eflags)
            };
            x.set_gpr(EAX, 1, al);
            x.s.eflags = f;
        }
        M::Aaa | M::Aas => {
            let (ax, f) = alu::aaa_aas(x.gpr(EAX, 2), m == M::Aas, x.s.eflags);
            x.set_gpr(EAX, 2, ax);
            x.s.eflags = f;
        }
        M::Aam => {
            let (ax, f) = alu::aam(x.gpr(EAX, 1), i.immediate8() as u32, x.s.eflags)?;
            x.set_gpr(EAX, 2, ax);
            x.s.eflags = f;
        }
        M::Aad => {
            let (al, f) = alu::aad(x.gpr(EAX, 2), i.immediate8() as u32, x.s.eflags);
            x.set_gpr(EAX, 2, al & 0xFF);
            x.s.eflags = f;
        }
        M::Salc => {
            let v = if x.s.flag(flags::CF) { 0xFF } else { 0 };
            x.set_gpr(EAX, 1, v);
        }
        M::Bt | M::Bts | M::Btr | M::Btc => bit_test(x, i, m)?,
        // Without BMI1/ABM (which we do not claim) F3 0F BC/BD are the
        // old REP-prefixed BSF/BSR, and run as them (SDM vol. 2, TZCNT/LZCNT).
        M::Bsf | M::Bsr | M::Tzcnt | M::Lzcnt => {
            let size = x.op_size(i, 0);
            let v = x.read_op(i, 1, size)?;
            let r = alu::bit_scan(matches!(m, M::Bsr | M::Lzcnt), v, size);
            if let Some(n) = r {
                x.set_reg(i.op0_register(), n);
            }
            x.s.eflags = alu::bit_scan_flags(r.is_some(), x.s.eflags);
        }
        M::Shld | M::Shrd => {
            let size = x.op_size(i, 0);
            let a = x.read_op(i, 0, size)?;
            let b = x.read_op(i, 1, size)?;
            let c = x.read_op(i, 2, 1)?;
            let (r, f) = alu::double_shift(m == M::Shld, a, b, c, size, x.s.eflags);
            x.write_op(i, 0, size, r)?;
            x.s.eflags = f;
        }
        M::Clc => x.s.eflags &= !flags::CF,
        M::Stc => x.s.eflags |= flags::CF,
        M::Cmc => x.s.eflags ^= flags::CF,
        M::Cld => x.s.eflags &= !flags::DF,
        M::Std => x.s.eflags |= flags::DF,
        M::Cli => x.cli()?,
        M::Sti => x.sti()?,
        // ---- control transfer ----
        M::Jmp => match i.op_kind(0) {
            OpKind::NearBranch16 | OpKind::NearBranch32 => x.jump_near(x.rel_target(i, cur))?,
            OpKind::FarBranch16 | OpKind::FarBranch32 => {
                let off = if i.op_kind(0) == OpKind::FarBranch16 {
                    i.far_branch16() as u32
                } else {
                    i.far_branch32()
                };
                x.jmp_far(i.far_branch_selector(), off, d.opsize)?
            }
            OpKind::Memory if i.code() == Code::Jmp_m1616 || i.code() == Code::Jmp_m1632 => {
                let (off, sel) = far_pointer(x, i, d.opsize)?;
                x.jmp_far(sel, off, d.opsize)?
            }
            _ => {
                let size = x.op_size(i, 0);
                let t = x.read_op(i, 0, size)?;
                x.jump_near(t)?
            }
        },
        M::Call => match i.op_kind(0) {
            OpKind::NearBranch16 | OpKind::NearBranch32 => {
                let size = if i.op_kind(0) == OpKind::NearBranch16 {
                    2
                } else {
                    4
                };
                x.call_near(x.rel_target(i, cur), size)?
            }
            OpKind::FarBranch16 | OpKind::FarBranch32 => {
                let off = if i.op_kind(0) == OpKind::FarBranch16 {
                    i.far_branch16() as u32
                } else {
                    i.far_branch32()
                };
                x.call_far(i.far_branch_selector(), off, d.opsize)?
            }
            OpKind::Memory if i.code() == Code::Call_m1616 || i.code() == Code::Call_m1632 => {
                let (off, sel) = far_pointer(x, i, d.opsize)?;
                x.call_far(sel, off, d.opsize)?
            }
            _ => {
                let size = x.op_size(i, 0);
                let t = x.read_op(i, 0, size)?;
                x.call_near(t, size)?
            }
        },
        M::Ret => {
            let imm = if i.op_count() > 0 {
                i.immediate16() as u32
            } else {
                0
            };
            x.ret_near(d.opsize, imm)?
        }
        M::Retf => {
            let imm = if i.op_count() > 0 {
                i.immediate16() as u32
            } else {
                0
            };
            x.ret_far(d.opsize, imm)?
        }
        M::Iret | M::Iretd => x.iret(d.opsize)?,
        M::Jo
        | M::Jno
        | M::Jb
        | M::Jae
        | M::Je
        | M::Jne
        | M::Jbe
        | M::Ja
        | M::Js
        | M::Jns
        | M::Jp
        | M::Jnp
        | M::Jl
        | M::Jge
        | M::Jle
        | M::Jg => {
            if x.cond(cc_of(m)) {
                x.jump_near(x.rel_target(i, cur))?;
            }
        }
        M::Jcxz | M::Jecxz => {
            let sz = if m == M::Jcxz { 2 } else { 4 };
            if x.gpr(ECX, sz) == 0 {
                x.jump_near(x.rel_target(i, cur))?;
            }
        }
        M::Loop | M::Loope | M::Loopne => {
            let addr = if i.op_code().address_size() == 32 {
                4
            } else {
                2
            };
            let cond = match m {
                M::Loope => Some(true),
                M::Loopne => Some(false),
                _ => None,
            };
            x.loop_op(i, cur, addr, cond)?;
        }
        M::Enter => x.enter(d.opsize, i.immediate16() as u32, i.immediate8_2nd() as u32)?,
        M::Leave => x.leave(d.opsize)?,
        M::Int => soft_int(x, i.immediate8())?,
        M::Int3 => {
            // INT3 is not IOPL-sensitive in v8086 mode.
            x.deliver(vector::BP, None, true)?;
        }
        M::Into => {
            if x.s.flag(flags::OF) {
                x.deliver(vector::OF, None, true)?;
            }
        }
        M::Int1 => return Err(Exception::fault(vector::DB)),
        M::Bound => {
            let size = x.op_size(i, 0);
            let v = x.reg(i.op0_register());
            let (seg, ea) = (x.mem_seg(i), x.ea(i));
            let lo = x.read_mem(seg, ea, size)?;
            let hi = x.read_mem(seg, ea.wrapping_add(size as u32), size)?;
            let sx = |v: u32| {
                if size == 2 {
                    v as u16 as i16 as i32
                } else {
                    v as i32
                }
            };
            if sx(v) < sx(lo) || sx(v) > sx(hi) {
                return Err(Exception::fault(vector::BR));
            }
        }
        M::Hlt => {
            x.require_cpl0()?;
            x.s.halted = true;
            x.end_block = true;
        }
        M::Ud0 | M::Ud1 | M::Ud2 => return Err(Exception::ud()),
        M::Movsb
        | M::Movsw
        | M::Movsd
        | M::Cmpsb
        | M::Cmpsw
        | M::Cmpsd
        | M::Stosb
        | M::Stosw
        | M::Stosd
        | M::Lodsb
        | M::Lodsw
        | M::Lodsd
        | M::Scasb
        | M::Scasw
        | M::Scasd
        | M::Insb
        | M::Insw
        | M::Insd
        | M::Outsb
        | M::Outsw
        | M::Outsd => x.string_op(i, cur)?,
        M::In => {
            let size = x.op_size(i, 0);
            let port = if i.op_kind(1) == OpKind::Register {
                x.gpr(EDX, 2)
            } else {
                i.immediate8() as u32
            };
            let v = x.port_in(port as u16, size)?;
            x.set_gpr(EAX, size, v);
        }
        M::Out => {
            let size = x.op_size(i, 1);
            let port = if i.op_kind(0) == OpKind::Register {
                x.gpr(EDX, 2)
            } else {
                i.immediate8() as u32
            };
            x.port_out(port as u16, size, x.gpr(EAX, size))?;
        }
        // ---- system ----
        M::Lgdt | M::Lidt => {
            x.require_cpl0()?;
            let (seg, ea) = (x.mem_seg(i), x.ea(i));
            let limit = x.read_mem(seg, ea, 2)? as u16;
            let mut base = x.read_mem(seg, ea.wrapping_add(2), 4)?;
            if d.opsize == 2 {
                base &= 0x00FF_FFFF;
            }
            let t = crate::TableReg { base, limit };
            if m == M::Lgdt {
                x.s.gdtr = t
            } else {
                x.s.idtr = t
            }
        }
        M::Sgdt | M::Sidt => {
            let t = if m == M::Sgdt { x.s.gdtr } else { x.s.idtr };
            let (seg, ea) = (x.mem_seg(i), x.ea(i));
            x.probe_write(i, 0, 6)?;
            x.write_mem(seg, ea, 2, t.limit as u32)?;
            x.write_mem(seg, ea.wrapping_add(2), 4, t.base)?;
        }
        M::Lldt | M::Ltr | M::Verr | M::Verw | M::Sldt | M::Str | M::Lar | M::Lsl
            if !x.s.pm_not_v86() =>
        {
            return Err(Exception::ud())
        }
        M::Lldt => {
            let sel = x.read_op(i, 0, 2)? as u16;
            x.lldt(sel)?
        }
        M::Ltr => {
            let sel = x.read_op(i, 0, 2)? as u16;
            x.ltr(sel)?
        }
        M::Sldt | M::Str => {
            let v = if m == M::Sldt {
                x.s.ldtr.selector
            } else {
                x.s.tr.selector
            } as u32;
            let size = if i.op_kind(0) == OpKind::Register {
                x.op_size(i, 0)
            } else {
                2
            };
            x.write_op(i, 0, size, v)?;
        }
        M::Smsw => {
            let size = if i.op_kind(0) == OpKind::Register {
                x.op_size(i, 0)
            } else {
                2
            };
            x.write_op(i, 0, size, x.s.cr0)?;
        }
        M::Lmsw => {
            let v = x.read_op(i, 0, 2)?;
            x.lmsw(v)?
        }
        M::Clts => {
            x.require_cpl0()?;
            x.s.cr0 &= !crate::state::cr0::TS;
        }
        M::Invlpg => {
            x.require_cpl0()?;
            let (seg, ea) = (x.mem_seg(i), x.ea(i));
            let lin = x.s.seg[seg].base.wrapping_add(ea);
            x.tlb.flush_page(lin);
        }
        M::Lar | M::Lsl => {
            let sel = x.read_op(i, 1, 2)? as u16;
            match x.lar_lsl(sel, m == M::Lsl)? {
                Some(v) => {
                    x.set_reg(i.op0_register(), v);
                    x.s.eflags |= flags::ZF;
                }
                None => x.s.eflags &= !flags::ZF,
            }
        }
        M::Verr | M::Verw => {
            let sel = x.read_op(i, 0, 2)? as u16;
            let ok = x.verify(sel, m == M::Verw)?;
            x.s.set_flag(flags::ZF, ok);
        }
        M::Arpl => {
            if !x.s.pm_not_v86() {
                return Err(Exception::ud());
            }
            let dst = x.read_op(i, 0, 2)?;
            let src = x.read_op(i, 1, 2)?;
            match x.arpl(dst, src) {
                Some(v) => {
                    x.write_op(i, 0, 2, v)?;
                    x.s.eflags |= flags::ZF;
                }
                None => x.s.eflags &= !flags::ZF,
            }
        }
        M::Cpuid => {
            let r = crate::cpuid::cpuid(x.s.gpr[EAX]);
            x.s.gpr[EAX] = r[0];
            x.s.gpr[EBX] = r[1];
            x.s.gpr[ECX] = r[2];
            x.s.gpr[EDX] = r[3];
        }
        M::Rdtsc => {
            let t = x.rdtsc()?;
            x.s.gpr[EAX] = t as u32;
            x.s.gpr[EDX] = (t >> 32) as u32;
        }
        M::Rdpmc => {
            // P6: counters 0 and 1, 40 bits; CPL > 0 needs CR4.PCE.
            let pce = x.s.cr4 & crate::state::cr4::PCE != 0;
            if (x.s.protected() && x.s.cpl != 0 && !pce) || x.s.gpr[ECX] > 1 {
                return Err(Exception::gp0());
            }
            let v = x.s.msr.perf_ctr[x.s.gpr[ECX] as usize];
            x.s.gpr[EAX] = v as u32;
            x.s.gpr[EDX] = ((v >> 32) & 0xFF) as u32;
        }
        M::Rdmsr => {
            let v = x.rdmsr(x.s.gpr[ECX])?;
            x.s.gpr[EAX] = v as u32;
            x.s.gpr[EDX] = (v >> 32) as u32;
        }
        M::Wrmsr => {
            let v = (x.s.gpr[EDX] as u64) << 32 | x.s.gpr[EAX] as u64;
            x.wrmsr(x.s.gpr[ECX], v)?
        }
        _ if crate::fpu::is_fpu(i) => crate::fpu::execute(x, i, cur)?,
        _ if i.code() == Code::INVALID => return Err(Exception::ud()),
        // Instructions of later CPUs (MMX, SSE, AVX, 3DNow!, ...) do not
        // exist on the P6 we model: #UD, as on a Pentium Pro.
        _ if !p6_instruction(i) => return Err(Exception::ud()),
        _ => return Err(Exception::Unimplemented),
    }
    Ok(())
}

/// Whether the instruction exists on the processor we claim to be.
fn p6_instruction(i: &Instruction) -> bool {
    use iced_x86::CpuidFeature as F;
    i.cpuid_features().iter().all(|f| {
        matches!(
            f,
            F::INTEL8086
                | F::INTEL186
                | F::INTEL286
                | F::INTEL386
                | F::INTEL486
                | F::CPUID
                | F::CMOV
                | F::CX8
                | F::FPU
                | F::FPU287
                | F::FPU387
                | F::MSR
                | F::MULTIBYTENOP
                | F::PAUSE
                | F::TSC
        )
    })
}

/// INT n: IOPL-sensitive in v8086 mode (without VME).
fn soft_int(x: &mut Exec<'_>, n: u8) -> Result<()> {
    if x.s.v86() && x.s.iopl() < 3 {
        return Err(Exception::gp0());
    }
    x.deliver(n, None, true)
}

fn far_pointer(x: &mut Exec<'_>, i: &Instruction, size: Size) -> Result<(u32, u16)> {
    let (seg, ea) = (x.mem_seg(i), x.ea(i));
    let off = x.read_mem(seg, ea, size)?;
    let sel = x.read_mem(seg, ea.wrapping_add(size as u32), 2)? as u16;
    Ok((off, sel))
}

fn mov(x: &mut Exec<'_>, i: &Instruction) -> Result<()> {
    let k0 = i.op_kind(0);
    let k1 = i.op_kind(1);
    if k0 == OpKind::Register {
        let r = i.op0_register();
        if r.is_segment_register() {
            if r == Register::CS {
                return Err(Exception::ud());
            }
            let sel = x.read_op(i, 1, 2)? as u16;
            let seg = seg_of(r);
            x.load_seg(seg, sel)?;
            if seg == SS {
                x.s.int_shadow = true;
                x.end_block = true;
            }
            return Ok(());
        }
        if r.is_cr() {
            let v = x.reg(i.op1_register());
            return x.write_cr(r.number(), v);
        }
        if r.is_dr() {
            let v = x.reg(i.op1_register());
            return x.write_dr(r.number(), v);
        }
        if r.is_tr() {
            return Err(Exception::ud());
        }
    }
    if k1 == OpKind::Register {
        let r = i.op1_register();
        if r.is_segment_register() {
            let v = x.s.seg[seg_of(r)].selector as u32;
            // To a 32-bit register the selector is zero-extended; to memory
            // it is always a 16-bit store.
            let size = if k0 == OpKind::Register {
                x.op_size(i, 0)
            } else {
                2
            };
            return x.write_op(i, 0, size, v);
        }
        if r.is_cr() {
            let v = x.read_cr(r.number())?;
            x.set_reg(i.op0_register(), v);
            return Ok(());
        }
        if r.is_dr() {
            let v = x.read_dr(r.number())?;
            x.set_reg(i.op0_register(), v);
            return Ok(());
        }
    }
    let size = x.op_size(i, 0);
    let v = x.read_op(i, 1, size)?;
    x.write_op(i, 0, size, v)
}

fn push(x: &mut Exec<'_>, i: &Instruction, opsize: Size) -> Result<()> {
    match i.op_kind(0) {
        OpKind::Register => {
            let r = i.op0_register();
            if r.is_segment_register() {
                let v = x.s.seg[seg_of(r)].selector as u32;
                if opsize == 4 {
                    // A 32-bit push of a segment register writes only 16 bits.
                    let sp = x.sp().wrapping_sub(4) & x.sp_mask();
                    x.write_mem(SS, sp, 2, v)?;
                    x.set_sp(sp);
                    return Ok(());
                }
                return x.push(2, v);
            }
            // PUSH ESP pushes the value before the push.
            x.push(opsize, x.reg(r))
        }
        OpKind::Memory => {
            let v = x.read_op(i, 0, opsize)?;
            x.push(opsize, v)
        }
        _ => x.push(opsize, i.immediate(0) as u32 & mask(opsize)),
    }
}

fn pop(x: &mut Exec<'_>, i: &Instruction, opsize: Size) -> Result<()> {
    if i.op_kind(0) == OpKind::Register {
        let r = i.op0_register();
        if r.is_segment_register() {
            let v = x.peek(0, opsize)?;
            let seg = seg_of(r);
            x.load_seg(seg, v as u16)?;
            x.set_sp(x.sp().wrapping_add(opsize as u32));
            if seg == SS {
                x.s.int_shadow = true;
                x.end_block = true;
            }
            return Ok(());
        }
        let v = x.pop(opsize)?;
        x.set_reg(r, v);
        return Ok(());
    }
    // POP m: the address is computed with ESP already incremented.
    let v = x.peek(0, opsize)?;
    let old = x.s.gpr[ESP];
    x.set_sp(x.sp().wrapping_add(opsize as u32));
    if let Err(e) = x.write_op(i, 0, opsize, v) {
        x.s.gpr[ESP] = old;
        return Err(e);
    }
    Ok(())
}

/// BT/BTS/BTR/BTC: with a register bit offset and a memory operand the
/// offset addresses memory beyond the operand (SDM vol. 2, BT).
fn bit_test(x: &mut Exec<'_>, i: &Instruction, m: Mnemonic) -> Result<()> {
    let size = x.op_size(i, 0);
    let bits = size as u32 * 8;
    let raw = x.read_op(
        i,
        1,
        if i.op_kind(1) == OpKind::Register {
            size
        } else {
            1
        },
    )?;
    let (seg, ea_adj, bit) = if i.op_kind(0) == OpKind::Memory && i.op_kind(1) == OpKind::Register {
        let off = if size == 2 {
            raw as u16 as i16 as i32
        } else {
            raw as i32
        };
        let disp = (off >> (if size == 2 { 4 } else { 5 })) * size as i32;
        (Some(x.mem_seg(i)), disp, (off as u32) & (bits - 1))
    } else {
        (None, 0, raw & (bits - 1))
    };
    let v = match seg {
        Some(s) => {
            let ea = x.ea(i).wrapping_add(ea_adj as u32);
            let ea = if crate::exec::addr16(i) {
                ea & 0xFFFF
            } else {
                ea
            };
            x.read_mem(s, ea, size)?
        }
        None => x.read_op(i, 0, size)?,
    };
    let old = (v >> bit) & 1;
    let nv = match m {
        Mnemonic::Bts => v | (1 << bit),
        Mnemonic::Btr => v & !(1 << bit),
        Mnemonic::Btc => v ^ (1 << bit),
        _ => v,
    };
    if m != Mnemonic::Bt {
        match seg {
            Some(s) => {
                let ea = x.ea(i).wrapping_add(ea_adj as u32);
                let ea = if crate::exec::addr16(i) {
                    ea & 0xFFFF
                } else {
                    ea
                };
                x.write_mem(s, ea, size, nv)?
            }
            None => x.write_op(i, 0, size, nv)?,
        }
    }
    x.s.set_flag(flags::CF, old != 0);
    Ok(())
}
