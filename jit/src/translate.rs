//! One decoded block → one Cranelift function
//! `extern "C" fn(ctx: *mut Ctx, state: *mut CpuState) -> u64`
//! returning an exit code (see [`runtime`](crate::runtime)).
//!
//! The block is straight-line: each instruction is either inline IR or a
//! call of the interpreter's `step` through [`h_step`]. Guest registers live
//! in Cranelift variables from their first use to the next helper call; an
//! exit stores the ones that changed. Every place that can fault branches
//! to a cold *side exit* that writes back the state as it was before the
//! faulting instruction (nothing of an instruction is committed before its
//! last possible fault) and returns how many instructions completed.

use crate::flags::Recipe;
use crate::runtime::{self, exit_code, ST_GP0, ST_NORMAL, ST_STOP};
use crane86_cpu::alu::{AluOp, ShiftOp};
use crane86_cpu::decode_cache::{Decoded, Fast, MemRef, Opnd, NO_REG};
use crane86_cpu::state::{CpuState, SegReg, CS, ESP, SS};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I32, I64};
use cranelift_codegen::ir::{
    AbiParam, Block as IrBlock, BlockArg, Function, InstBuilder, MemFlagsData, SigRef, Signature,
    Type, Value,
};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use iced_x86::{Mnemonic, OpKind};
use std::mem::offset_of;

/// What the translator made of a block.
#[derive(Clone, Copy, Debug, Default)]
pub struct Translated {
    /// Instructions turned into inline IR.
    pub inlined: u32,
    /// Instructions left to the interpreter's `step`.
    pub helpers: u32,
}

/// Static knowledge of a guest register at a point of the block.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reg {
    /// Not loaded from the state yet (or stale after a helper call).
    Unloaded,
    /// The variable holds the value in the state.
    Clean,
    /// The variable holds a newer value than the state.
    Dirty,
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

/// Block-invariant machine facts, loaded on the main path.
#[derive(Clone, Copy)]
pub(crate) struct Env {
    /// i8: CR0.PG.
    pub paging: Value,
    pub ram: Value,
    /// i64: end of the low plain-RAM window (min(RAM size, 0xA0000)).
    pub lo_end: Value,
    pub ram_size: Value,
    pub a20: Value,
    /// Pointer to the TLB set of the current privilege (user or supervisor).
    pub tlb_set: Value,
}

pub(crate) struct Sigs {
    pub step: SigRef,
    pub read: SigRef,
    pub write: SigRef,
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
    Jmp,
    Jcc(u8),
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

fn classify(d: &Decoded) -> Option<Op> {
    let i = &d.i;
    let has_mem = matches!(d.a, Opnd::Mem { .. }) || matches!(d.b, Opnd::Mem { .. });
    if has_mem && !plain_mem(d) {
        return None;
    }
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

pub(crate) struct Tr<'a, 'f> {
    pub b: &'a mut FunctionBuilder<'f>,
    pub ptr: Type,
    pub ctx: Value,
    pub st: Value,
    pub sigs: Sigs,
    regs: [Variable; 8],
    rs: [Reg; 8],
    /// Pending lazy flags; `None`: EFLAGS in the state is current.
    pub lazy: Option<Recipe>,
    /// EFLAGS loaded from the state on the main path (while current).
    pub eflags_cache: Option<Value>,
    pub seg_cache: [Option<SegInfo>; 6],
    pub env_cache: Option<Env>,
    pub code32: bool,
    pub stack32: bool,
    eip0: Value,
    /// Index and byte offset (from the block start) of the instruction
    /// being translated, and its length.
    pub k: u32,
    off: u32,
    len: u32,
    /// Effective address of the current instruction's memory operand.
    cur_ea: Option<Value>,
    /// Status of a store of the current instruction: non-zero once it has
    /// hit a code page, so the block stops after the instruction.
    pub pending_stop: Option<Value>,
    /// Shared block `ret(code: i64)`.
    ret_block: IrBlock,
}

/// Translates `insns` into `func` (whose signature is set here).
pub fn translate(
    func: &mut Function,
    fctx: &mut FunctionBuilderContext,
    isa: &dyn TargetIsa,
    insns: &[Decoded],
    code32: bool,
    stack32: bool,
) -> Translated {
    let ptr = isa.pointer_type();
    let cc = isa.default_call_conv();
    func.signature = Signature::new(cc);
    func.signature.params.push(AbiParam::new(ptr));
    func.signature.params.push(AbiParam::new(ptr));
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
        step: b.import_signature(sig(&[ptr, I32, I32, I32], I64)),
        read: b.import_signature(sig(&[ptr, I32, I32, I32], I64)),
        write: b.import_signature(sig(&[ptr, I32, I32, I32, I32], I32)),
    };
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let ctx = b.block_params(entry)[0];
    let st = b.block_params(entry)[1];
    let regs = std::array::from_fn(|_| b.declare_var(I32));
    let eip0 = b
        .ins()
        .load(I32, trusted(), st, offset_of!(CpuState, eip) as i32);
    let ret_block = b.create_block();
    b.append_block_param(ret_block, I64);
    b.set_cold_block(ret_block);

    let mut t = Tr {
        b: &mut b,
        ptr,
        ctx,
        st,
        sigs,
        regs,
        rs: [Reg::Unloaded; 8],
        lazy: None,
        eflags_cache: None,
        seg_cache: [None; 6],
        env_cache: None,
        code32,
        stack32,
        eip0,
        k: 0,
        off: 0,
        len: 0,
        cur_ea: None,
        pending_stop: None,
        ret_block,
    };
    let mut out = Translated::default();
    let ip0 = insns[0].i.ip32();
    let n = insns.len() as u32;
    let mut ended = false;
    for (k, d) in insns.iter().enumerate() {
        t.k = k as u32;
        t.off = d.i.ip32().wrapping_sub(ip0);
        t.len = d.i.len() as u32;
        t.cur_ea = None;
        t.pending_stop = None;
        match classify(d) {
            Some(op) => {
                out.inlined += 1;
                ended = t.inline(d, op);
            }
            None => {
                out.helpers += 1;
                t.call_step();
                if k as u32 + 1 == n {
                    // EIP is in the state, set by the helper.
                    t.exit(None, n, ST_NORMAL);
                    ended = true;
                }
            }
        }
    }
    if !ended {
        let next = t.eip_at(t.off + t.len);
        t.exit(Some(next), n, ST_NORMAL);
    }
    t.b.switch_to_block(ret_block);
    t.b.seal_block(ret_block);
    let code = t.b.block_params(ret_block)[0];
    t.b.ins().return_(&[code]);
    b.finalize(isa.frontend_config());
    out
}

impl Tr<'_, '_> {
    // ---- constants and EIPs ----------------------------------------------------

    pub fn c32(&mut self, v: u32) -> Value {
        self.b.ins().iconst(I32, v as i64)
    }

    pub fn c64(&mut self, v: u64) -> Value {
        self.b.ins().iconst(I64, v as i64)
    }

    /// EIP of the byte `off` bytes past the block start.
    fn eip_at(&mut self, off: u32) -> Value {
        let v = self.b.ins().iadd_imm_s(self.eip0, off as i64);
        if self.code32 {
            v
        } else {
            self.b.ins().band_imm_u(v, 0xFFFF)
        }
    }

    fn cur(&mut self) -> Value {
        self.eip_at(self.off)
    }

    fn next(&mut self) -> Value {
        self.eip_at(self.off + self.len)
    }

    // ---- registers ---------------------------------------------------------------

    pub fn reg32(&mut self, n: usize) -> Value {
        if self.rs[n] == Reg::Unloaded {
            let v = self.b.ins().load(I32, trusted(), self.st, gpr_off(n));
            self.b.def_var(self.regs[n], v);
            self.rs[n] = Reg::Clean;
        }
        self.b.use_var(self.regs[n])
    }

    pub fn set_reg32(&mut self, n: usize, v: Value) {
        self.b.def_var(self.regs[n], v);
        self.rs[n] = Reg::Dirty;
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

    /// Stores every changed register; they stay valid in their variables.
    fn flush_regs(&mut self) {
        for n in 0..8 {
            if self.rs[n] == Reg::Dirty {
                let v = self.b.use_var(self.regs[n]);
                self.b.ins().store(trusted(), v, self.st, gpr_off(n));
                self.rs[n] = Reg::Clean;
            }
        }
    }

    /// After a helper that may change anything: forget all cached state.
    fn forget_all(&mut self) {
        self.rs = [Reg::Unloaded; 8];
        self.lazy = None;
        self.eflags_cache = None;
        self.seg_cache = [None; 6];
        self.env_cache = None;
    }

    // ---- exits -------------------------------------------------------------------

    /// Emits a return from the block with the current static state: changed
    /// registers and pending flags are written back, EIP set when given.
    /// Leaves the static state as it is (the caller may go on on another path).
    pub fn exit(&mut self, eip: Option<Value>, retired: u32, status: u64) {
        for n in 0..8 {
            if self.rs[n] == Reg::Dirty {
                let v = self.b.use_var(self.regs[n]);
                self.b.ins().store(trusted(), v, self.st, gpr_off(n));
            }
        }
        if let Some(r) = self.lazy {
            self.store_recipe(&r);
        }
        if let Some(e) = eip {
            self.b
                .ins()
                .store(trusted(), e, self.st, offset_of!(CpuState, eip) as i32);
        }
        let code = self.c64(exit_code(retired, status));
        self.b.ins().jump(self.ret_block, &[BlockArg::Value(code)]);
    }

    /// Branches to a cold exit when `cond` (i8) holds; continues on the
    /// main path otherwise.
    pub fn side_exit(&mut self, cond: Value, eip: Option<Value>, retired: u32, status: u64) {
        let stub = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(stub);
        self.b.ins().brif(cond, stub, &[], cont, &[]);
        self.b.switch_to_block(stub);
        self.b.seal_block(stub);
        self.exit(eip, retired, status);
        self.b.switch_to_block(cont);
        self.b.seal_block(cont);
    }

    /// A side exit for an exception of the current instruction: state before it.
    pub fn fault_exit(&mut self, cond: Value, status: u64) {
        let cur = self.cur();
        self.side_exit(cond, Some(cur), self.k, status);
    }

    // ---- helper calls ------------------------------------------------------------

    pub fn call(&mut self, sig: SigRef, f: usize, args: &[Value]) -> Value {
        let callee = self.b.ins().iconst(self.ptr, f as i64);
        let inst = self.b.ins().call_indirect(sig, callee, args);
        self.b.inst_results(inst)[0]
    }

    /// The current instruction through the interpreter.
    fn call_step(&mut self) {
        self.flush_regs();
        if let Some(r) = self.lazy {
            self.store_recipe(&r);
        }
        let k = self.c32(self.k);
        let cur = self.cur();
        let next = self.next();
        let f = runtime::h_step as *const () as usize;
        let r = self.call(self.sigs.step, f, &[self.ctx, k, cur, next]);
        self.forget_all();
        let cont = self.b.create_block();
        self.b
            .ins()
            .brif(r, self.ret_block, &[BlockArg::Value(r)], cont, &[]);
        self.b.switch_to_block(cont);
        self.b.seal_block(cont);
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

    /// Commits a store's "code was written" outcome: the block stops after
    /// this instruction, with the state after it.
    fn finish_insn(&mut self) {
        if let Some(status) = self.pending_stop.take() {
            let next = self.next();
            self.side_exit(status, Some(next), self.k + 1, ST_STOP);
        }
    }

    // ---- instructions ------------------------------------------------------------

    /// Emits an inlined instruction; returns true when it ended the function.
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
                self.lazy = Some(rec);
            }
            Op::Test(a, b) => {
                let size = opnd_size(a);
                let x = self.get(d, a);
                let y = self.get(d, b);
                let (_, rec) = self.alu(AluOp::And, x, y, size);
                self.lazy = Some(rec);
            }
            Op::IncDec(dec, a) => {
                let size = opnd_size(a);
                let x = self.get(d, a);
                let cf = self.cf32();
                let rec = self.inc_dec(dec, x, cf, size);
                self.put(d, a, rec.r);
                self.lazy = Some(rec);
            }
            Op::Shift(sop, a, count) => {
                let size = opnd_size(a);
                let x = self.get(d, a);
                if count != 0 {
                    let rec = self.shift(sop, x, count, size);
                    self.put(d, a, rec.r);
                    self.lazy = Some(rec);
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
                let esp = self.reg32(ESP);
                let sp = if self.stack32 {
                    esp
                } else {
                    self.b.ins().band_imm_u(esp, 0xFFFF)
                };
                let v = self.load(SS, sp, size);
                let nsp = self.b.ins().iadd_imm_s(sp, size as i64);
                self.set_sp(nsp);
                self.put_reg(n as usize, size, false, v);
            }
            Op::Nop => {}
            Op::Jmp | Op::Jcc(_) => {
                let cond = match op {
                    Op::Jcc(cc) => Some(self.cond(cc)),
                    _ => None,
                };
                let i = &d.i;
                let rel = (i.near_branch_target() as u32).wrapping_sub(i.ip32());
                let cur = self.cur();
                let mut target = self.b.ins().iadd_imm_s(cur, rel as i32 as i64);
                if i.op_kind(0) == OpKind::NearBranch16 {
                    target = self.b.ins().band_imm_u(target, 0xFFFF);
                }
                let limit = self.b.ins().load(
                    I32,
                    trusted(),
                    self.st,
                    seg_off(CS) + offset_of!(SegReg, limit) as i32,
                );
                let beyond = self.b.ins().icmp(IntCC::UnsignedGreaterThan, target, limit);
                let bad = match cond {
                    Some(c) => self.b.ins().band(c, beyond),
                    None => beyond,
                };
                self.fault_exit(bad, ST_GP0);
                let eip = match cond {
                    Some(c) => {
                        let next = self.next();
                        self.b.ins().select(c, target, next)
                    }
                    None => target,
                };
                self.exit(Some(eip), self.k + 1, ST_NORMAL);
                return true;
            }
        }
        self.finish_insn();
        false
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
