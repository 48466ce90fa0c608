//! A *region* of decoded blocks → one Cranelift function
//! `extern "C" fn(ctx: *mut Ctx, state: *mut CpuState, entry: u32) -> u64`
//! returning an exit code (see [`runtime`](crate::runtime)); `entry` is the
//! position of the block to start at (a region can be entered at any of
//! its blocks).
//!
//! A region is a hot block (its entry) and the hot blocks reachable from
//! it by direct branches, calls, fall-through and the indirect-branch
//! targets seen at run time; each guest block becomes a Cranelift block and
//! branches between them are plain jumps, so a guest loop runs as a host
//! loop. The guest registers live in Cranelift variables for the whole
//! region (loaded at entry, stored at every exit and around helper calls);
//! EFLAGS lives in a variable too, with the lazy flags of the last
//! flag-setting instruction pending over it. Across a block edge the
//! recipe is passed in variables (so an exit can still rebuild EFLAGS
//! exactly); a flag the next block reads is computed on the edge first
//! (a backward liveness pass over the region says which).
//!
//! Each instruction is either inline IR or a call of the interpreter's
//! `step` through [`runtime::h_step`]. Every place that can fault branches
//! to a cold *side exit* that writes back the state as it was before the
//! faulting instruction (nothing of an instruction is committed before its
//! last possible fault) and returns how many instructions completed. At
//! each block entry the region checks its instruction budget, so
//! interrupts are seen within a bounded number of instructions.

use crate::flags::{cc_reads, Lazy, Recipe, STATUS};
use crate::runtime::{self, LF_MUL, ST_DE, ST_FAULT, ST_GP0, ST_IND, ST_NORMAL, ST_SLOW, ST_STOP};
use crane86_cpu::alu::{AluOp, ShiftOp};
use crane86_cpu::decode_cache::{self, Decoded, Fast, MemRef, Opnd, NO_REG};
use crane86_cpu::state::{flags, CpuState, SegReg, EAX, ECX, EDX, ESP, SS};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I32, I64, I8};
use cranelift_codegen::ir::{
    AbiParam, Block as IrBlock, BlockArg, Function, InstBuilder, JumpTableData, MemFlagsData,
    SigRef, Signature, Type, Value,
};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use iced_x86::{Mnemonic, OpKind};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::mem::offset_of;

/// One guest block of a region.
pub struct RBlock<'a> {
    /// EIP of its first instruction.
    pub eip: u32,
    pub insns: &'a [Decoded],
}

/// What to compile: `blocks[0]` is the entry.
pub struct Region<'a> {
    pub blocks: Vec<RBlock<'a>>,
    pub code32: bool,
    pub stack32: bool,
    /// The CS limit the region was formed under (the engine guards it).
    pub cs_limit: u32,
    /// CR0.PG and the A20 gate the region was formed under (guarded too).
    pub paging: bool,
    pub a20: bool,
    /// Blocks an indirect branch (RET, JMP/CALL r/m) may reach inside the
    /// region, compared in this order.
    pub ind: Vec<usize>,
    /// CS base the region was formed under.
    pub cs_base: u32,
    /// Segments (bit per register) that are flat plain data segments
    /// while the region runs (guarded by the engine; `h_step` ends the
    /// region when a segment register changes).
    pub flat: u8,
    /// Linear addresses of instructions whose memory accesses call the
    /// interpreter's helpers on their slow path; the others leave the
    /// region there (status `ST_SLOW`).
    pub slow: &'a HashSet<u32>,
}

/// What the translator made of a region.
#[derive(Clone, Copy, Debug, Default)]
pub struct Translated {
    /// Instructions turned into inline IR.
    pub inlined: u32,
    /// Instructions left to the interpreter's `step`.
    pub helpers: u32,
    /// Flat segments (of `Region::flat`) whose checks were left out.
    pub flat_used: u8,
}

/// A segment's cached descriptor fields, loaded on the main path.
#[derive(Clone, Copy)]
pub(crate) struct SegInfo {
    pub base: Value,
    /// i8: a present, writable, expand-up data segment (the fast path).
    pub plain: Value,
    /// i64: the limit, zero-extended.
    pub limit: Value,
}

/// Region-invariant machine facts, loaded in the prologue.
#[derive(Clone, Copy)]
pub(crate) struct Env {
    pub ram: Value,
    /// i64: end of the low plain-RAM window (min(RAM size, 0xA0000)).
    pub lo_end: Value,
    pub ram_size: Value,
    /// Pointer to the TLB set of the current privilege (user or supervisor).
    pub tlb_set: Value,
    /// `PhysMem::code_page_flags`.
    pub code_pages: Value,
}

pub(crate) struct Sigs {
    pub step: SigRef,
    pub read: SigRef,
    pub write: SigRef,
    pub flags: SigRef,
}

/// An instruction the translator inlines.
#[derive(Clone, Copy, Debug)]
enum Op {
    Mov(Opnd, Opnd),
    Alu(AluOp, Opnd, Opnd),
    Test(Opnd, Opnd),
    IncDec(bool, Opnd),
    /// Shl/Shr/Sar by an immediate count (already masked to 5 bits).
    Shift(ShiftOp, Opnd, u32),
    Ext(bool, Opnd, Opnd),
    Lea {
        n: u8,
        size: u8,
    },
    PushReg {
        n: u8,
        size: u8,
    },
    PushImm {
        v: u32,
        size: u8,
    },
    Pop {
        n: u8,
        size: u8,
    },
    Nop,
    Not(Opnd),
    Neg(Opnd),
    /// IMUL dst(reg n, size), a, b (two- and three-operand forms).
    Imul {
        n: u8,
        size: u8,
        a: Opnd,
        b: Opnd,
    },
    /// DIV/IDIV of EDX:EAX by a 32-bit operand.
    Div {
        signed: bool,
        src: Opnd,
    },
    /// CBW/CWDE (false) or CWD/CDQ (true) at operand size `size`.
    Cvt {
        wide: bool,
        size: u8,
    },
    Setcc(u8, Opnd),
    Cmov {
        cc: u8,
        n: u8,
        size: u8,
        src: Opnd,
    },
    Xchg(Opnd, Opnd),
    // ---- block terminators -------------------------------------------------
    Jmp,
    Jcc(u8),
    CallRel,
    Ret(u32),
    JmpInd(Opnd),
    CallInd(Opnd),
    /// LOOP (None), LOOPE (Some(true)), LOOPNE (Some(false)); address size.
    Loop(Option<bool>, u8),
}

impl Op {
    /// (flags read, flags written) for the liveness pass; INC/DEC count as
    /// reading CF, which they carry over.
    fn flag_use(&self) -> (u32, u32) {
        match *self {
            Op::Alu(AluOp::Adc | AluOp::Sbb, ..) => (flags::CF, STATUS),
            Op::Alu(..) | Op::Test(..) | Op::Neg(_) | Op::Imul { .. } => (0, STATUS),
            Op::IncDec(..) => (flags::CF, STATUS),
            Op::Shift(_, _, c) if c != 0 => (0, STATUS),
            Op::Setcc(cc, _) | Op::Cmov { cc, .. } | Op::Jcc(cc) => (cc_reads(cc), 0),
            Op::Loop(Some(_), _) => (flags::ZF, 0),
            _ => (0, 0),
        }
    }
}

fn gpr(r: iced_x86::Register) -> Option<(u8, u8)> {
    (r.is_gpr16() || r.is_gpr32()).then(|| (r.number() as u8, r.size() as u8))
}

/// Memory operand whose base and index the decode cache resolved.
fn plain_mem(d: &Decoded) -> bool {
    let i = &d.i;
    (i.memory_base() == iced_x86::Register::None || d.mem.base != NO_REG)
        && (i.memory_index() == iced_x86::Register::None || d.mem.index != NO_REG)
}

/// Operand `k` of a generic instruction (register, memory or immediate);
/// memory only when its address registers are ones the JIT can read.
fn opnd(d: &Decoded, k: u32) -> Option<Opnd> {
    match decode_cache::opnd(&d.i, k)? {
        Opnd::Mem { .. } if !plain_mem(d) => None,
        o => Some(o),
    }
}

fn classify(d: &Decoded, code32: bool) -> Option<Op> {
    let i = &d.i;
    let has_mem = matches!(d.a, Opnd::Mem { .. }) || matches!(d.b, Opnd::Mem { .. });
    if has_mem && !plain_mem(d) {
        return None;
    }
    let csize: u8 = if code32 { 4 } else { 2 };
    Some(match d.fast {
        Fast::Mov => Op::Mov(d.a, d.b),
        Fast::Alu(op) => Op::Alu(op, d.a, d.b),
        Fast::Test => Op::Test(d.a, d.b),
        Fast::Inc => Op::IncDec(false, d.a),
        Fast::Dec => Op::IncDec(true, d.a),
        Fast::Shift(op @ (ShiftOp::Shl | ShiftOp::Shr | ShiftOp::Sar)) => match d.b {
            Opnd::Imm(c) => Op::Shift(op, d.a, c & 0x1F),
            _ => return None,
        },
        Fast::Shift(_) => return None,
        Fast::Movzx | Fast::Movsx => match d.a {
            Opnd::Reg { hi: false, .. } => Op::Ext(d.fast == Fast::Movsx, d.a, d.b),
            _ => return None,
        },
        Fast::Jmp => Op::Jmp,
        Fast::Jcc(cc) => Op::Jcc(cc),
        Fast::Generic => {
            if i.has_lock_prefix() {
                return None;
            }
            match i.mnemonic() {
                Mnemonic::Lea if i.op_kind(1) == OpKind::Memory && plain_mem(d) => {
                    let (n, size) = gpr(i.op0_register())?;
                    Op::Lea { n, size }
                }
                Mnemonic::Push if i.op_count() == 1 => match i.op_kind(0) {
                    OpKind::Register => {
                        let (n, size) = gpr(i.op0_register())?;
                        if size != d.opsize {
                            return None;
                        }
                        Op::PushReg { n, size }
                    }
                    OpKind::Immediate8to16
                    | OpKind::Immediate8to32
                    | OpKind::Immediate16
                    | OpKind::Immediate32 => Op::PushImm {
                        v: i.immediate(0) as u32 & mask(d.opsize),
                        size: d.opsize,
                    },
                    _ => return None,
                },
                Mnemonic::Pop if i.op_count() == 1 && i.op_kind(0) == OpKind::Register => {
                    let (n, size) = gpr(i.op0_register())?;
                    if size != d.opsize {
                        return None;
                    }
                    Op::Pop { n, size }
                }
                Mnemonic::Nop => Op::Nop,
                Mnemonic::Not => Op::Not(opnd(d, 0)?),
                Mnemonic::Neg => Op::Neg(opnd(d, 0)?),
                Mnemonic::Imul if i.op_count() >= 2 => {
                    let (n, size) = gpr(i.op0_register())?;
                    let (a, b) = if i.op_count() == 3 {
                        (opnd(d, 1)?, opnd(d, 2)?)
                    } else {
                        (opnd(d, 0)?, opnd(d, 1)?)
                    };
                    Op::Imul { n, size, a, b }
                }
                Mnemonic::Div | Mnemonic::Idiv => {
                    let src = opnd(d, 0)?;
                    if opnd_size(src) != 4 {
                        return None;
                    }
                    Op::Div {
                        signed: i.mnemonic() == Mnemonic::Idiv,
                        src,
                    }
                }
                Mnemonic::Cbw => Op::Cvt {
                    wide: false,
                    size: 2,
                },
                Mnemonic::Cwde => Op::Cvt {
                    wide: false,
                    size: 4,
                },
                Mnemonic::Cwd => Op::Cvt {
                    wide: true,
                    size: 2,
                },
                Mnemonic::Cdq => Op::Cvt {
                    wide: true,
                    size: 4,
                },
                Mnemonic::Sete
                | Mnemonic::Setne
                | Mnemonic::Seto
                | Mnemonic::Setno
                | Mnemonic::Setb
                | Mnemonic::Setae
                | Mnemonic::Setbe
                | Mnemonic::Seta
                | Mnemonic::Sets
                | Mnemonic::Setns
                | Mnemonic::Setp
                | Mnemonic::Setnp
                | Mnemonic::Setl
                | Mnemonic::Setge
                | Mnemonic::Setle
                | Mnemonic::Setg => {
                    let o = opnd(d, 0)?;
                    if opnd_size(o) != 1 {
                        return None;
                    }
                    Op::Setcc(i.condition_code() as u8 - 1, o)
                }
                Mnemonic::Cmove
                | Mnemonic::Cmovne
                | Mnemonic::Cmovo
                | Mnemonic::Cmovno
                | Mnemonic::Cmovb
                | Mnemonic::Cmovae
                | Mnemonic::Cmovbe
                | Mnemonic::Cmova
                | Mnemonic::Cmovs
                | Mnemonic::Cmovns
                | Mnemonic::Cmovp
                | Mnemonic::Cmovnp
                | Mnemonic::Cmovl
                | Mnemonic::Cmovge
                | Mnemonic::Cmovle
                | Mnemonic::Cmovg => {
                    let (n, size) = gpr(i.op0_register())?;
                    Op::Cmov {
                        cc: i.condition_code() as u8 - 1,
                        n,
                        size,
                        src: opnd(d, 1)?,
                    }
                }
                Mnemonic::Xchg => match (opnd(d, 0)?, opnd(d, 1)?) {
                    (a @ Opnd::Reg { .. }, b @ Opnd::Reg { .. }) => Op::Xchg(a, b),
                    _ => return None,
                },
                Mnemonic::Call => match i.op_kind(0) {
                    OpKind::NearBranch16 if csize == 2 => Op::CallRel,
                    OpKind::NearBranch32 if csize == 4 => Op::CallRel,
                    OpKind::Register | OpKind::Memory => {
                        let o = opnd(d, 0)?;
                        if opnd_size(o) != csize || d.opsize != csize {
                            return None;
                        }
                        Op::CallInd(o)
                    }
                    _ => return None,
                },
                Mnemonic::Jmp => match i.op_kind(0) {
                    OpKind::Register | OpKind::Memory => {
                        let o = opnd(d, 0)?;
                        if opnd_size(o) != d.opsize {
                            return None;
                        }
                        Op::JmpInd(o)
                    }
                    _ => return None,
                },
                Mnemonic::Ret => {
                    if d.opsize != csize {
                        return None;
                    }
                    Op::Ret(if i.op_count() > 0 {
                        i.immediate16() as u32
                    } else {
                        0
                    })
                }
                Mnemonic::Loop | Mnemonic::Loope | Mnemonic::Loopne => {
                    let addr = if i.op_code().address_size() == 32 {
                        4
                    } else {
                        2
                    };
                    Op::Loop(
                        match i.mnemonic() {
                            Mnemonic::Loope => Some(true),
                            Mnemonic::Loopne => Some(false),
                            _ => None,
                        },
                        addr,
                    )
                }
                _ => return None,
            }
        }
    })
}

/// Memory-flags for the CPU state and the context (aligned, never trap).
pub(crate) fn trusted() -> MemFlagsData {
    MemFlagsData::trusted()
}

pub(crate) const fn gpr_off(n: usize) -> i32 {
    (offset_of!(CpuState, gpr) + 4 * n) as i32
}

pub(crate) const fn seg_off(s: usize) -> i32 {
    (offset_of!(CpuState, seg) + s * std::mem::size_of::<SegReg>()) as i32
}

const EFLAGS_OFF: i32 = offset_of!(CpuState, eflags) as i32;
const EIP_OFF: i32 = offset_of!(CpuState, eip) as i32;

/// How a block expects the flags at its entry.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Entry {
    /// EFLAGS materialised in `ef`.
    Exact,
    /// The recipe passed in variables; `cf`: CF in `dcf` too.
    Dyn { cf: bool },
}

pub(crate) struct Tr<'a, 'f> {
    pub b: &'a mut FunctionBuilder<'f>,
    pub ptr: Type,
    pub ctx: Value,
    pub st: Value,
    pub sigs: Sigs,
    regs: [Variable; 8],
    /// EFLAGS (with the pending lazy flags applied on top when not `Lazy::None`).
    pub ef: Variable,
    /// Dynamic recipe: kind | size << 8, operands, and CF.
    pub dk: Variable,
    pub da: Variable,
    pub db: Variable,
    pub dc: Variable,
    pub dcf: Variable,
    /// Instructions retired before the current block.
    ret_base: Variable,
    pub lazy: Lazy,
    pub seg_cache: [Option<SegInfo>; 6],
    pub env_cache: Option<Env>,
    pub code32: bool,
    pub stack32: bool,
    /// Paging on, A20 enabled (fixed for the region).
    pub paging: bool,
    pub a20: bool,
    cs_limit: u32,
    /// EIP and length of the instruction being translated, its index.
    eip: u32,
    len: u32,
    pub k: u32,
    /// Effective address of the current instruction's memory operand.
    cur_ea: Option<Value>,
    /// The current instruction's memory accesses call helpers on their
    /// slow path (instead of leaving the region).
    pub helper_mem: bool,
    /// `Region::flat`.
    pub flat: u8,
    /// Those relied on.
    pub flat_used: u8,
    /// Status of a store of the current instruction: non-zero once it has
    /// hit a code page, so the region stops after the instruction.
    pub pending_stop: Option<Value>,
    budget: Value,
    /// Shared block `ret(code: i64)`: returns without storing anything.
    ret_block: IrBlock,
    /// Shared exit `(eip, code, ks, a, b, c)`: stores the state, returns.
    exit_block: IrBlock,
    ir: Vec<IrBlock>,
    entry: Vec<Entry>,
    by_eip: HashMap<u32, usize>,
    ind: Vec<(u32, usize)>,
    /// Position of the block being translated.
    bi: usize,
}

/// Backward flag liveness over the region: the flags each block reads
/// (inline) before writing them.
fn liveness(r: &Region<'_>, ops: &[Vec<Option<Op>>], succ: &[Vec<usize>]) -> Vec<u32> {
    let n = r.blocks.len();
    let mut live = vec![0u32; n];
    loop {
        let mut changed = false;
        for bi in (0..n).rev() {
            let mut l = succ[bi].iter().fold(0, |a, &s| a | live[s]);
            for op in ops[bi].iter().rev() {
                let (rd, wr) = match op {
                    Some(op) => op.flag_use(),
                    None => (0, STATUS),
                };
                l = (l & !wr) | rd;
            }
            if l != live[bi] {
                live[bi] = l;
                changed = true;
            }
        }
        if !changed {
            return live;
        }
    }
}

/// Translates `region` into `func` (whose signature is set here).
pub fn translate(
    func: &mut Function,
    fctx: &mut FunctionBuilderContext,
    isa: &dyn TargetIsa,
    region: &Region<'_>,
) -> Translated {
    let ptr = isa.pointer_type();
    let cc = isa.default_call_conv();
    func.signature = Signature::new(cc);
    func.signature.params.push(AbiParam::new(ptr));
    func.signature.params.push(AbiParam::new(ptr));
    func.signature.params.push(AbiParam::new(I32));
    func.signature.returns.push(AbiParam::new(I64));

    let mut b = FunctionBuilder::new(func, fctx);
    let sig = |params: &[Type], ret: Type| {
        let mut s = Signature::new(cc);
        for &p in params {
            s.params.push(AbiParam::new(p));
        }
        s.returns.push(AbiParam::new(ret));
        s
    };
    let sigs = Sigs {
        step: b.import_signature(sig(&[ptr, ptr, I32, I32, I32, I32], I64)),
        read: b.import_signature(sig(&[ptr, I32, I32, I32], I64)),
        write: b.import_signature(sig(&[ptr, I32, I32, I32, I32], I32)),
        flags: b.import_signature(sig(&[I32, I32, I32, I32, I32], I32)),
    };

    // Classify every instruction, find the edges, run the liveness pass.
    let by_eip: HashMap<u32, usize> = region
        .blocks
        .iter()
        .enumerate()
        .map(|(k, b)| (b.eip, k))
        .collect();
    let ops: Vec<Vec<Option<Op>>> = region
        .blocks
        .iter()
        .map(|b| b.insns.iter().map(|d| classify(d, region.code32)).collect())
        .collect();
    let wrap = |v: u32| if region.code32 { v } else { v & 0xFFFF };
    let succ: Vec<Vec<usize>> = region
        .blocks
        .iter()
        .zip(&ops)
        .map(|(blk, ops)| {
            let last = blk.insns.last().expect("blocks are not empty");
            let next = wrap(last.i.next_ip32());
            let target = wrap(last.i.near_branch_target() as u32);
            let mut v: Vec<u32> = match ops.last().copied().flatten() {
                Some(Op::Jmp | Op::CallRel) => vec![target],
                Some(Op::Jcc(_) | Op::Loop(..)) => vec![target, next],
                Some(Op::Ret(_) | Op::JmpInd(_) | Op::CallInd(_)) => {
                    region.ind.iter().map(|&k| region.blocks[k].eip).collect()
                }
                _ => vec![next],
            };
            v.retain(|e| by_eip.contains_key(e));
            v.iter().map(|e| by_eip[e]).collect()
        })
        .collect();
    let live = liveness(region, &ops, &succ);
    // Every cycle has an edge to a block at or before its source: the
    // budget is checked at the targets of those.
    let mut head = vec![false; region.blocks.len()];
    for (u, ss) in succ.iter().enumerate() {
        for &t in ss {
            if t <= u {
                head[t] = true;
            }
        }
    }
    let entry: Vec<Entry> = live
        .iter()
        .map(|&l| {
            if l & !flags::CF != 0 {
                Entry::Exact
            } else {
                Entry::Dyn {
                    cf: l & flags::CF != 0,
                }
            }
        })
        .collect();

    let start = b.create_block();
    b.append_block_params_for_function_params(start);
    b.switch_to_block(start);
    b.seal_block(start);
    let ctx = b.block_params(start)[0];
    let st = b.block_params(start)[1];
    let entry_pos = b.block_params(start)[2];
    let regs = std::array::from_fn(|_| b.declare_var(I32));
    let [ef, dk, da, db, dc, dcf, ret_base] = std::array::from_fn(|_| b.declare_var(I32));
    let ret_block = b.create_block();
    b.append_block_param(ret_block, I64);
    b.set_cold_block(ret_block);
    let exit_block = b.create_block();
    for t in [I32, I64, I32, I32, I32, I32] {
        b.append_block_param(exit_block, t);
    }
    b.set_cold_block(exit_block);
    let ir: Vec<IrBlock> = region.blocks.iter().map(|_| b.create_block()).collect();
    let budget = b
        .ins()
        .load(I32, trusted(), ctx, offset_of!(runtime::Ctx, budget) as i32);

    let mut t = Tr {
        b: &mut b,
        ptr,
        ctx,
        st,
        sigs,
        regs,
        ef,
        dk,
        da,
        db,
        dc,
        dcf,
        ret_base,
        lazy: Lazy::None,
        seg_cache: [None; 6],
        env_cache: None,
        code32: region.code32,
        stack32: region.stack32,
        paging: region.paging,
        a20: region.a20,
        cs_limit: region.cs_limit,
        eip: region.blocks[0].eip,
        len: 0,
        k: 0,
        cur_ea: None,
        pending_stop: None,
        helper_mem: false,
        flat: region.flat,
        flat_used: 0,
        budget,
        ret_block,
        exit_block,
        ir,
        entry,
        by_eip,
        ind: region
            .ind
            .iter()
            .map(|&k| (region.blocks[k].eip, k))
            .collect(),
        bi: 0,
    };
    // Prologue: the state into variables, the machine facts.
    t.load_state();
    t.env();
    let zero = t.c32(0);
    t.b.def_var(t.ret_base, zero);
    for v in [t.dk, t.da, t.db, t.dc] {
        t.b.def_var(v, zero);
    }
    let n = region.blocks.len();
    let starts: Vec<IrBlock> = (0..n).map(|_| t.b.create_block()).collect();
    let calls: Vec<_> = starts
        .iter()
        .map(|&s| t.b.func.dfg.block_call(s, &[]))
        .collect();
    let jt = t.b.create_jump_table(JumpTableData::new(calls[0], &calls));
    t.b.ins().br_table(entry_pos, jt);
    for (k, &s) in starts.iter().enumerate() {
        t.b.switch_to_block(s);
        t.lazy = Lazy::None;
        t.edge(k, 0);
    }

    let mut out = Translated::default();
    for (bi, blk) in region.blocks.iter().enumerate() {
        t.b.switch_to_block(t.ir[bi]);
        t.bi = bi;
        t.lazy = match t.entry[bi] {
            Entry::Exact => Lazy::None,
            Entry::Dyn { cf } => Lazy::Dyn { cf },
        };
        t.seg_cache = [None; 6];
        // The budget: leave before a loop head once it is spent (a path
        // without cycles is bounded by the region's size).
        if head[bi] {
            let base = t.b.use_var(t.ret_base);
            let spent =
                t.b.ins()
                    .icmp(IntCC::UnsignedGreaterThanOrEqual, base, t.budget);
            let e = t.c32(blk.eip);
            t.side_exit(spent, e, 0, ST_NORMAL);
        }
        let n = blk.insns.len();
        let mut ended = false;
        for (k, d) in blk.insns.iter().enumerate() {
            t.k = k as u32;
            t.eip = d.i.ip32();
            t.len = d.i.len() as u32;
            t.cur_ea = None;
            t.pending_stop = None;
            t.helper_mem = region
                .slow
                .contains(&region.cs_base.wrapping_add(d.i.ip32()));
            match ops[bi][k] {
                Some(op) => {
                    out.inlined += 1;
                    ended = t.inline(d, op);
                }
                None => {
                    out.helpers += 1;
                    t.call_step(d);
                }
            }
        }
        if !ended {
            let last = &blk.insns[n - 1];
            let next = wrap(last.i.next_ip32());
            t.goto(next, n as u32);
        }
    }
    t.emit_exit_block();
    out.flat_used = t.flat_used;
    t.b.switch_to_block(ret_block);
    let code = t.b.block_params(ret_block)[0];
    t.b.ins().return_(&[code]);
    b.seal_all_blocks();
    b.finalize(isa.frontend_config());
    out
}

impl Tr<'_, '_> {
    // ---- constants ---------------------------------------------------------------

    pub fn c32(&mut self, v: u32) -> Value {
        self.b.ins().iconst(I32, v as i64)
    }

    pub fn c64(&mut self, v: u64) -> Value {
        self.b.ins().iconst(I64, v as i64)
    }

    fn wrap(&self, v: u32) -> u32 {
        if self.code32 {
            v
        } else {
            v & 0xFFFF
        }
    }

    fn next_eip(&self) -> u32 {
        self.wrap(self.eip.wrapping_add(self.len))
    }

    /// Instructions retired once `k` instructions of this block are done.
    fn retired(&mut self, k: u32) -> Value {
        let base = self.b.use_var(self.ret_base);
        self.b.ins().iadd_imm_s(base, k as i64)
    }

    // ---- registers and the state ---------------------------------------------------

    pub fn reg32(&mut self, n: usize) -> Value {
        self.b.use_var(self.regs[n])
    }

    pub fn set_reg32(&mut self, n: usize, v: Value) {
        self.b.def_var(self.regs[n], v);
    }

    fn load_state(&mut self) {
        for n in 0..8 {
            let v = self.b.ins().load(I32, trusted(), self.st, gpr_off(n));
            self.b.def_var(self.regs[n], v);
        }
        let e = self.b.ins().load(I32, trusted(), self.st, EFLAGS_OFF);
        self.b.def_var(self.ef, e);
        self.lazy = Lazy::None;
        self.seg_cache = [None; 6];
    }

    /// Stores the registers and EFLAGS (pending lazy flags go to the context).
    pub fn store_state(&mut self) {
        for n in 0..8 {
            let v = self.b.use_var(self.regs[n]);
            self.b.ins().store(trusted(), v, self.st, gpr_off(n));
        }
        let e = self.b.use_var(self.ef);
        self.b.ins().store(trusted(), e, self.st, EFLAGS_OFF);
        let parts = self.lazy_parts();
        self.store_lazy(parts);
    }

    fn store_lazy(&mut self, [ks, a, b, c]: [Value; 4]) {
        let f = trusted();
        let ctx = self.ctx;
        use runtime::Ctx;
        self.b
            .ins()
            .store(f, ks, ctx, offset_of!(Ctx, lf_ks) as i32);
        self.b.ins().store(f, a, ctx, offset_of!(Ctx, lf_a) as i32);
        self.b.ins().store(f, b, ctx, offset_of!(Ctx, lf_b) as i32);
        self.b.ins().store(f, c, ctx, offset_of!(Ctx, lf_c) as i32);
    }

    /// Writes the low `size` bytes of register `n` (or AH..BH with `hi`).
    fn put_reg(&mut self, n: usize, size: u8, hi: bool, v: Value) {
        if size == 4 {
            self.set_reg32(n, v);
            return;
        }
        let old = self.reg32(n);
        let (keep, v) = if hi {
            let lo = self.b.ins().band_imm_u(v, 0xFF);
            (!0xFF00u32, self.b.ins().ishl_imm_u(lo, 8))
        } else {
            let m = mask(size);
            (!m, self.b.ins().band_imm_u(v, m as i64))
        };
        let kept = self.b.ins().band_imm_u(old, keep as i32 as i64);
        let r = self.b.ins().bor(kept, v);
        self.set_reg32(n, r);
    }

    fn get_reg(&mut self, n: usize, size: u8, hi: bool) -> Value {
        let v = self.reg32(n);
        if hi {
            let s = self.b.ins().ushr_imm_u(v, 8);
            self.b.ins().band_imm_u(s, 0xFF)
        } else if size == 4 {
            v
        } else {
            self.b.ins().band_imm_u(v, mask(size) as i64)
        }
    }

    // ---- exits and edges ---------------------------------------------------------

    /// Leaves the region with the current state, EIP `eip`, `retired`
    /// instructions done and `status`.
    pub fn exit(&mut self, eip: Value, n: u32, status: u64) {
        let [ks, a, b, c] = self.lazy_parts();
        // The exit code less the instructions retired before this block
        // (the exit block adds those).
        let code = self.c64(n as u64 | status << 32);
        let args = [eip, code, ks, a, b, c].map(BlockArg::Value);
        self.b.ins().jump(self.exit_block, &args);
    }

    fn emit_exit_block(&mut self) {
        self.b.switch_to_block(self.exit_block);
        let p = self.b.block_params(self.exit_block).to_vec();
        for n in 0..8 {
            let v = self.b.use_var(self.regs[n]);
            self.b.ins().store(trusted(), v, self.st, gpr_off(n));
        }
        let e = self.b.use_var(self.ef);
        self.b.ins().store(trusted(), e, self.st, EFLAGS_OFF);
        self.b.ins().store(trusted(), p[0], self.st, EIP_OFF);
        self.store_lazy([p[2], p[3], p[4], p[5]]);
        let base = self.b.use_var(self.ret_base);
        let base = self.b.ins().uextend(I64, base);
        let code = self.b.ins().iadd(base, p[1]);
        self.b.ins().return_(&[code]);
    }

    /// Branches to a cold exit when `cond` (i8) holds; continues on the
    /// main path otherwise.
    pub fn side_exit(&mut self, cond: Value, eip: Value, n: u32, status: u64) {
        let stub = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(stub);
        self.b.ins().brif(cond, stub, &[], cont, &[]);
        self.b.seal_block(stub);
        self.b.seal_block(cont);
        self.b.switch_to_block(stub);
        self.exit(eip, n, status);
        self.b.switch_to_block(cont);
    }

    /// After a helper that raised an exception (the state was stored
    /// before the call): leave with EIP at the current instruction.
    pub fn fault_ret(&mut self, cond: Value) {
        let stub = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(stub);
        self.b.ins().brif(cond, stub, &[], cont, &[]);
        self.b.seal_block(stub);
        self.b.seal_block(cont);
        self.b.switch_to_block(stub);
        let cur = self.c32(self.eip);
        self.b.ins().store(trusted(), cur, self.st, EIP_OFF);
        let r = self.retired(self.k);
        let r = self.b.ins().uextend(I64, r);
        let code = self.b.ins().bor_imm_u(r, (ST_FAULT << 32) as i64);
        self.b.ins().jump(self.ret_block, &[BlockArg::Value(code)]);
        self.b.switch_to_block(cont);
    }

    /// Leaves the region before the current instruction unless `ok` (i8)
    /// holds, for the interpreter to run it (status `ST_SLOW`).
    pub fn slow_exit_unless(&mut self, ok: Value) {
        let stub = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(stub);
        self.b.ins().brif(ok, cont, &[], stub, &[]);
        self.b.seal_block(stub);
        self.b.seal_block(cont);
        self.b.switch_to_block(stub);
        let cur = self.c32(self.eip);
        self.exit(cur, self.k, ST_SLOW);
        self.b.switch_to_block(cont);
    }

    /// A side exit for an exception of the current instruction: state before it.
    pub fn fault_exit(&mut self, cond: Value, status: u64) {
        let cur = self.c32(self.eip);
        self.side_exit(cond, cur, self.k, status);
    }

    /// Goes on at `eip` (the region's block there, or an exit), `retired`
    /// instructions done.
    fn goto(&mut self, eip: u32, n: u32) {
        match self.by_eip.get(&eip) {
            Some(&t) => self.edge(t, n),
            None => {
                let e = self.c32(eip);
                self.exit(e, n, ST_NORMAL);
            }
        }
    }

    /// Jumps to region block `t`, handing the flags over as it expects them.
    fn edge(&mut self, t: usize, n: u32) {
        match self.entry[t] {
            Entry::Exact => self.materialize(),
            Entry::Dyn { cf } => match self.lazy {
                Lazy::None => {
                    let z = self.c32(0);
                    self.b.def_var(self.dk, z);
                    if cf {
                        let e = self.b.use_var(self.ef);
                        let c = self.b.ins().band_imm_u(e, flags::CF as i64);
                        self.b.def_var(self.dcf, c);
                    }
                }
                Lazy::Static(r) => {
                    if cf {
                        let c = self.cf32();
                        self.b.def_var(self.dcf, c);
                    }
                    let ks = self.c32(r.kind | (r.size as u32) << 8);
                    self.b.def_var(self.dk, ks);
                    self.b.def_var(self.da, r.a);
                    self.b.def_var(self.db, r.b);
                    self.b.def_var(self.dc, r.c);
                }
                Lazy::Dyn { cf: have } => {
                    if cf && !have {
                        self.materialize();
                        let z = self.c32(0);
                        self.b.def_var(self.dk, z);
                        let e = self.b.use_var(self.ef);
                        let c = self.b.ins().band_imm_u(e, flags::CF as i64);
                        self.b.def_var(self.dcf, c);
                    }
                }
            },
        }
        if let (Entry::Exact, Lazy::None) = (self.entry[t], self.lazy) {
            let z = self.c32(0);
            self.b.def_var(self.dk, z);
        }
        if n != 0 {
            let retired = self.retired(n);
            self.b.def_var(self.ret_base, retired);
        }
        self.b.ins().jump(self.ir[t], &[]);
    }

    /// An indirect branch to `target` (already checked against the CS limit).
    fn dispatch(&mut self, target: Value, n: u32) {
        let saved = self.lazy;
        for (eip, t) in self.ind.clone() {
            let hit = self.b.create_block();
            let miss = self.b.create_block();
            let eq = self.b.ins().icmp_imm_u(IntCC::Equal, target, eip as i64);
            self.b.ins().brif(eq, hit, &[], miss, &[]);
            self.b.seal_block(hit);
            self.b.seal_block(miss);
            self.b.switch_to_block(hit);
            self.edge(t, n);
            self.lazy = saved;
            self.b.switch_to_block(miss);
        }
        // The block's position rides above the status (bits 40..).
        self.exit(target, n, ST_IND | (self.bi as u64) << 8);
    }

    // ---- helper calls ------------------------------------------------------------

    pub fn call(&mut self, sig: SigRef, f: usize, args: &[Value]) -> Value {
        let callee = self.b.ins().iconst(self.ptr, f as i64);
        let inst = self.b.ins().call_indirect(sig, callee, args);
        self.b.inst_results(inst)[0]
    }

    /// The current instruction through the interpreter.
    fn call_step(&mut self, d: &Decoded) {
        self.store_state();
        let dp = self.b.ins().iconst(self.ptr, d as *const Decoded as i64);
        let cur = self.c32(self.eip);
        let next = self.c32(self.next_eip());
        let done = self.retired(self.k);
        let base = self.b.use_var(self.ret_base);
        let f = runtime::h_step as *const () as usize;
        let r = self.call(self.sigs.step, f, &[self.ctx, dp, cur, next, done, base]);
        let cont = self.b.create_block();
        self.b
            .ins()
            .brif(r, self.ret_block, &[BlockArg::Value(r)], cont, &[]);
        self.b.seal_block(cont);
        self.b.switch_to_block(cont);
        self.load_state();
    }

    // ---- operands ----------------------------------------------------------------

    pub fn ea(&mut self, m: &MemRef) -> Value {
        if let Some(v) = self.cur_ea {
            return v;
        }
        let mut a = self.c32(m.disp);
        if m.base != NO_REG {
            let r = self.reg32(m.base as usize);
            a = self.b.ins().iadd(a, r);
        }
        if m.index != NO_REG {
            let r = self.reg32(m.index as usize);
            let s = match m.scale {
                2 => self.b.ins().ishl_imm_u(r, 1),
                4 => self.b.ins().ishl_imm_u(r, 2),
                8 => self.b.ins().ishl_imm_u(r, 3),
                _ => r,
            };
            a = self.b.ins().iadd(a, s);
        }
        if m.addr16 {
            a = self.b.ins().band_imm_u(a, 0xFFFF);
        }
        self.cur_ea = Some(a);
        a
    }

    fn get(&mut self, d: &Decoded, o: Opnd) -> Value {
        match o {
            Opnd::Reg { n, size, hi } => self.get_reg(n as usize, size, hi),
            Opnd::Imm(v) => self.c32(v),
            Opnd::Mem { size } => {
                let ea = self.ea(&d.mem);
                self.load(d.mem.seg as usize, ea, size)
            }
            Opnd::None => unreachable!("classify() only passes real operands"),
        }
    }

    fn put(&mut self, d: &Decoded, o: Opnd, v: Value) {
        match o {
            Opnd::Reg { n, size, hi } => self.put_reg(n as usize, size, hi, v),
            Opnd::Mem { size } => {
                let ea = self.ea(&d.mem);
                self.store(d.mem.seg as usize, ea, size, v);
            }
            _ => unreachable!("classify() only passes writable destinations"),
        }
    }

    /// Commits a store's "code was written" outcome: the region stops after
    /// this instruction, with the state after it.
    fn finish_insn(&mut self) {
        let next = self.c32(self.next_eip());
        self.finish_insn_at(next);
    }

    /// [`finish_insn`](Self::finish_insn) for an instruction that goes on
    /// at `eip` rather than at the next one: a CALL whose push landed on a
    /// page holding code stops the region at its target.
    fn finish_insn_at(&mut self, eip: Value) {
        if let Some(status) = self.pending_stop.take() {
            self.side_exit(status, eip, self.k + 1, ST_STOP);
        }
    }

    /// A near branch target beyond the CS limit raises #GP when `cond`
    /// (i8, or always) holds.
    fn check_target(&mut self, target: Value, cond: Option<Value>) {
        let beyond =
            self.b
                .ins()
                .icmp_imm_u(IntCC::UnsignedGreaterThan, target, self.cs_limit as i64);
        let bad = match cond {
            Some(c) => self.b.ins().band(c, beyond),
            None => beyond,
        };
        self.fault_exit(bad, ST_GP0);
    }

    // ---- instructions ------------------------------------------------------------

    /// Emits an inlined instruction; returns true when it ended the block.
    fn inline(&mut self, d: &Decoded, op: Op) -> bool {
        match op {
            Op::Mov(a, b) => {
                let v = self.get(d, b);
                self.put(d, a, v);
            }
            Op::Alu(alu, a, b) => {
                let size = opnd_size(a);
                let x = self.get(d, a);
                let y = self.get(d, b);
                let (r, rec) = self.alu(alu, x, y, size);
                if alu != AluOp::Cmp {
                    self.put(d, a, r);
                }
                self.lazy = Lazy::Static(rec);
            }
            Op::Test(a, b) => {
                let size = opnd_size(a);
                let x = self.get(d, a);
                let y = self.get(d, b);
                let (_, rec) = self.alu(AluOp::And, x, y, size);
                self.lazy = Lazy::Static(rec);
            }
            Op::IncDec(dec, a) => {
                let size = opnd_size(a);
                let x = self.get(d, a);
                let cf = self.cf32();
                let rec = self.inc_dec(dec, x, cf, size);
                self.put(d, a, rec.r);
                self.lazy = Lazy::Static(rec);
            }
            Op::Shift(sop, a, count) => {
                let size = opnd_size(a);
                let x = self.get(d, a);
                if count != 0 {
                    let rec = self.shift(sop, x, count, size);
                    self.put(d, a, rec.r);
                    self.lazy = Lazy::Static(rec);
                }
            }
            Op::Ext(signed, a, b) => {
                let ss = opnd_size(b);
                let mut v = self.get(d, b);
                if signed {
                    v = self.sext(v, ss);
                }
                self.put(d, a, v);
            }
            Op::Lea { n, size } => {
                let ea = self.ea(&d.mem);
                self.put_reg(n as usize, size, false, ea);
            }
            Op::PushReg { n, size } => {
                let v = self.get_reg(n as usize, size, false);
                self.push(size, v);
            }
            Op::PushImm { v, size } => {
                let v = self.c32(v);
                self.push(size, v);
            }
            Op::Pop { n, size } => {
                let (v, nsp) = self.pop(size);
                self.set_sp(nsp);
                self.put_reg(n as usize, size, false, v);
            }
            Op::Nop => {}
            Op::Not(a) => {
                let size = opnd_size(a);
                let x = self.get(d, a);
                let r = self.b.ins().bnot(x);
                let r = self.b.ins().band_imm_u(r, mask(size) as i64);
                self.put(d, a, r);
            }
            Op::Neg(a) => {
                let size = opnd_size(a);
                let x = self.get(d, a);
                let zero = self.c32(0);
                let (r, rec) = self.alu(AluOp::Sub, zero, x, size);
                self.put(d, a, r);
                self.lazy = Lazy::Static(rec);
            }
            Op::Imul { n, size, a, b } => {
                let x = self.get(d, a);
                let y = self.get(d, b);
                let (lo, ovf) = if size == 4 {
                    let x = self.b.ins().sextend(I64, x);
                    let y = self.b.ins().sextend(I64, y);
                    let p = self.b.ins().imul(x, y);
                    let lo = self.b.ins().ireduce(I32, p);
                    let back = self.b.ins().sextend(I64, lo);
                    (lo, self.b.ins().icmp(IntCC::NotEqual, back, p))
                } else {
                    let x = self.sext(x, size);
                    let y = self.sext(y, size);
                    let p = self.b.ins().imul(x, y);
                    let lo = self.b.ins().band_imm_u(p, mask(size) as i64);
                    let back = self.sext(lo, size);
                    (lo, self.b.ins().icmp(IntCC::NotEqual, back, p))
                };
                let c = self.bool32(ovf);
                let zero = self.c32(0);
                self.put_reg(n as usize, size, false, lo);
                self.lazy = Lazy::Static(Recipe {
                    kind: LF_MUL,
                    size,
                    a: lo,
                    b: zero,
                    c,
                    c_zero: false,
                    r: lo,
                    count: 0,
                });
            }
            Op::Div { signed, src } => self.div(d, signed, src),
            Op::Cvt { wide, size } => {
                let eax = self.reg32(EAX);
                if wide {
                    let s = self.sext(eax, size);
                    let hi = self.b.ins().sshr_imm_u(s, 31);
                    self.put_reg(EDX, size, false, hi);
                } else {
                    let v = self.sext(eax, size / 2);
                    self.put_reg(EAX, size, false, v);
                }
            }
            Op::Setcc(cc, a) => {
                let c = self.cond(cc);
                let v = self.bool32(c);
                self.put(d, a, v);
            }
            Op::Cmov { cc, n, size, src } => {
                let v = self.get(d, src);
                let c = self.cond(cc);
                let old = self.get_reg(n as usize, size, false);
                let r = self.b.ins().select(c, v, old);
                self.put_reg(n as usize, size, false, r);
            }
            Op::Xchg(a, b) => {
                let x = self.get(d, a);
                let y = self.get(d, b);
                self.put(d, a, y);
                self.put(d, b, x);
            }
            Op::Jmp | Op::Jcc(_) | Op::Loop(..) => {
                let i = &d.i;
                let target = self.wrap(i.near_branch_target() as u32);
                let next = self.next_eip();
                let done = self.k + 1;
                let (cond, ecx) = match op {
                    Op::Jcc(cc) => (Some(self.cond(cc)), None),
                    Op::Loop(z, addr) => {
                        let c = self.reg32(ECX);
                        let c = self.b.ins().iadd_imm_s(c, -1);
                        let c = self.b.ins().band_imm_u(c, mask(addr) as i64);
                        let mut taken = self.b.ins().icmp_imm_u(IntCC::NotEqual, c, 0);
                        if let Some(want) = z {
                            let zf = self.cond(4);
                            let ok = if want {
                                zf
                            } else {
                                self.b.ins().bxor_imm_u(zf, 1)
                            };
                            taken = self.b.ins().band(taken, ok);
                        }
                        (Some(taken), Some((c, addr)))
                    }
                    _ => (None, None),
                };
                if target > self.cs_limit {
                    let t = self.c32(target);
                    self.check_target(t, cond);
                }
                if let Some((c, addr)) = ecx {
                    self.put_reg(ECX, addr, false, c);
                }
                match cond {
                    Some(c) => {
                        let taken = self.b.create_block();
                        let fall = self.b.create_block();
                        self.b.ins().brif(c, taken, &[], fall, &[]);
                        self.b.seal_block(taken);
                        self.b.seal_block(fall);
                        let saved = self.lazy;
                        self.b.switch_to_block(taken);
                        self.goto(target, done);
                        self.lazy = saved;
                        self.b.switch_to_block(fall);
                        self.goto(next, done);
                    }
                    None => self.goto(target, done),
                }
                return true;
            }
            Op::CallRel => {
                let target = self.wrap(d.i.near_branch_target() as u32);
                if target > self.cs_limit {
                    let f = self.b.ins().iconst(I8, 1);
                    self.fault_exit(f, ST_GP0);
                }
                let size = if self.code32 { 4 } else { 2 };
                let ret = self.c32(self.next_eip());
                self.push(size, ret);
                let t = self.c32(target);
                self.finish_insn_at(t);
                let done = self.k + 1;
                self.goto(target, done);
                return true;
            }
            Op::CallInd(o) => {
                let t = self.get(d, o);
                self.check_target(t, None);
                let size = if self.code32 { 4 } else { 2 };
                let ret = self.c32(self.next_eip());
                self.push(size, ret);
                self.finish_insn_at(t);
                let done = self.k + 1;
                self.dispatch(t, done);
                return true;
            }
            Op::JmpInd(o) => {
                let t = self.get(d, o);
                self.check_target(t, None);
                let done = self.k + 1;
                self.dispatch(t, done);
                return true;
            }
            Op::Ret(imm) => {
                let size = if self.code32 { 4 } else { 2 };
                let (t, nsp) = self.pop(size);
                self.check_target(t, None);
                let nsp = if imm != 0 {
                    self.b.ins().iadd_imm_s(nsp, imm as i64)
                } else {
                    nsp
                };
                self.set_sp(nsp);
                let done = self.k + 1;
                self.dispatch(t, done);
                return true;
            }
        }
        self.finish_insn();
        false
    }

    /// DIV/IDIV r/m32: EDX:EAX / src; #DE for a zero divisor or a
    /// quotient that does not fit (flags are left as they are).
    fn div(&mut self, d: &Decoded, signed: bool, src: Opnd) {
        let dv = self.get(d, src);
        let lo = self.reg32(EAX);
        let hi = self.reg32(EDX);
        let lo64 = self.b.ins().uextend(I64, lo);
        let hi64 = self.b.ins().uextend(I64, hi);
        let hi64 = self.b.ins().ishl_imm_u(hi64, 32);
        let num = self.b.ins().bor(hi64, lo64);
        let (q, r) = if signed {
            let zero = self.b.ins().icmp_imm_u(IntCC::Equal, dv, 0);
            self.fault_exit(zero, ST_DE);
            let den = self.b.ins().sextend(I64, dv);
            let all = self.c32(u32::MAX);
            let m1 = self.b.ins().icmp(IntCC::Equal, dv, all);
            let one = self.c64(1);
            let den1 = self.b.ins().select(m1, one, den);
            let q0 = self.b.ins().sdiv(num, den1);
            let r0 = self.b.ins().srem(num, den1);
            let neg = self.b.ins().ineg(num);
            let q = self.b.ins().select(m1, neg, q0);
            let z = self.c64(0);
            let r = self.b.ins().select(m1, z, r0);
            let q32 = self.b.ins().ireduce(I32, q);
            let back = self.b.ins().sextend(I64, q32);
            let bad = self.b.ins().icmp(IntCC::NotEqual, back, q);
            // num = i64::MIN, den = -1: -num wraps to itself, which does not fit.
            self.fault_exit(bad, ST_DE);
            (q32, self.b.ins().ireduce(I32, r))
        } else {
            let bad = self.b.ins().icmp(IntCC::UnsignedGreaterThanOrEqual, hi, dv);
            self.fault_exit(bad, ST_DE);
            let den = self.b.ins().uextend(I64, dv);
            let q = self.b.ins().udiv(num, den);
            let r = self.b.ins().urem(num, den);
            (self.b.ins().ireduce(I32, q), self.b.ins().ireduce(I32, r))
        };
        self.set_reg32(EAX, q);
        self.set_reg32(EDX, r);
    }

    fn push(&mut self, size: u8, v: Value) {
        let esp = self.reg32(ESP);
        let sp = self.b.ins().iadd_imm_s(esp, -(size as i64));
        let sp = if self.stack32 {
            sp
        } else {
            self.b.ins().band_imm_u(sp, 0xFFFF)
        };
        self.store(SS, sp, size, v);
        self.set_sp(sp);
    }

    /// Reads the top of the stack: (value, new SP), SP not changed yet.
    fn pop(&mut self, size: u8) -> (Value, Value) {
        let esp = self.reg32(ESP);
        let sp = if self.stack32 {
            esp
        } else {
            self.b.ins().band_imm_u(esp, 0xFFFF)
        };
        let v = self.load(SS, sp, size);
        let nsp = self.b.ins().iadd_imm_s(sp, size as i64);
        (v, nsp)
    }

    /// ESP or SP, as the stack size says.
    fn set_sp(&mut self, sp: Value) {
        if self.stack32 {
            self.set_reg32(ESP, sp);
        } else {
            self.put_reg(ESP, 2, false, sp);
        }
    }

    /// Sign-extends the low `size` bytes of `v` to 32 bits.
    pub fn sext(&mut self, v: Value, size: u8) -> Value {
        if size == 4 {
            return v;
        }
        let sh = 32 - 8 * size as i64;
        let l = self.b.ins().ishl_imm_u(v, sh);
        self.b.ins().sshr_imm_u(l, sh)
    }

    /// i8 → i32 0/1.
    pub fn bool32(&mut self, c: Value) -> Value {
        self.b.ins().uextend(I32, c)
    }
}

/// Mask of an operand of `size` bytes.
pub(crate) const fn mask(size: u8) -> u32 {
    u32::MAX >> (32 - 8 * size as u32)
}

pub(crate) fn opnd_size(o: Opnd) -> u8 {
    match o {
        Opnd::Reg { size, .. } | Opnd::Mem { size } => size,
        _ => 4,
    }
}
