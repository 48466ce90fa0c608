//! Guest memory access from generated code.
//!
//! Loads have an inline fast path for the common case — a present,
//! writable, expand-up data segment and an offset within its limit; paging
//! off, or a TLB hit that needs no page crossing; plain RAM (below 0xA0000,
//! or from 1 MiB up to the end of RAM) — which ends in one host load.
//! Anything else calls [`h_read`](crate::runtime::h_read), i.e. the
//! interpreter's `Exec::read_mem`, which raises the same exceptions.
//!
//! Stores always call [`h_write`](crate::runtime::h_write) (`write_mem`), so
//! the physical memory keeps noticing writes to pages holding code.

use crate::runtime::{self, Ctx, ST_FAULT};
use crate::translate::{seg_off, trusted, Env, SegInfo, Tr};
use crane86_cpu::state::{ar, cr0, CpuState, SegReg};
use crane86_cpu::tlb::{TlbEntry, ENTRIES};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I32, I64};
use cranelift_codegen::ir::{BlockArg, Endianness, InstBuilder, MemFlagsData, Value};
use std::mem::{offset_of, size_of};

/// Lowest physical address of the legacy hole (VGA window, BIOS shadow):
/// never taken on the fast path.
const HOLE_START: i64 = 0xA_0000;
const HOLE_END: i64 = 0x10_0000;

fn ram_flags() -> MemFlagsData {
    MemFlagsData::new()
        .with_notrap()
        .with_endianness(Endianness::Little)
}

impl Tr<'_, '_> {
    fn seg_info(&mut self, s: usize) -> SegInfo {
        if let Some(i) = self.seg_cache[s] {
            return i;
        }
        let o = seg_off(s);
        let a = self
            .b
            .ins()
            .uload16(I32, trusted(), self.st, o + offset_of!(SegReg, ar) as i32);
        let want = ar::P | ar::RW;
        let m = self
            .b
            .ins()
            .band_imm_u(a, (ar::P | ar::RW | ar::CODE | ar::DC) as i64);
        let plain = self.b.ins().icmp_imm_u(IntCC::Equal, m, want as i64);
        let limit = self
            .b
            .ins()
            .uload32(trusted(), self.st, o + offset_of!(SegReg, limit) as i32);
        let base = self
            .b
            .ins()
            .load(I32, trusted(), self.st, o + offset_of!(SegReg, base) as i32);
        let info = SegInfo { base, plain, limit };
        self.seg_cache[s] = Some(info);
        info
    }

    fn env(&mut self) -> Env {
        if let Some(e) = self.env_cache {
            return e;
        }
        let f = trusted();
        let c0 = self
            .b
            .ins()
            .load(I32, f, self.st, offset_of!(CpuState, cr0) as i32);
        let pg = self.b.ins().band_imm_u(c0, cr0::PG as i32 as i64);
        let paging = self.b.ins().icmp_imm_u(IntCC::NotEqual, pg, 0);
        let ram = self
            .b
            .ins()
            .load(self.ptr, f, self.ctx, offset_of!(Ctx, ram) as i32);
        let ram_size = self
            .b
            .ins()
            .load(I64, f, self.ctx, offset_of!(Ctx, ram_size) as i32);
        let hole = self.c64(HOLE_START as u64);
        let lo_end = self.b.ins().umin(ram_size, hole);
        let a20 = self
            .b
            .ins()
            .load(I64, f, self.ctx, offset_of!(Ctx, a20_mask) as i32);
        let tlb = self
            .b
            .ins()
            .load(self.ptr, f, self.ctx, offset_of!(Ctx, tlb) as i32);
        let cpl = self
            .b
            .ins()
            .uload8(I32, f, self.st, offset_of!(CpuState, cpl) as i32);
        let user = self.b.ins().icmp_imm_u(IntCC::Equal, cpl, 3);
        let user = self.b.ins().uextend(self.ptr, user);
        let set = self
            .b
            .ins()
            .imul_imm_u(user, (ENTRIES * size_of::<TlbEntry>()) as i64);
        let tlb_set = self.b.ins().iadd(tlb, set);
        let e = Env {
            paging,
            ram,
            lo_end,
            ram_size,
            a20,
            tlb_set,
        };
        self.env_cache = Some(e);
        e
    }

    /// Reads `size` bytes at `seg:off`; an exception leaves the block with
    /// the state before the current instruction.
    pub fn load(&mut self, seg: usize, off: Value, size: u8) -> Value {
        let si = self.seg_info(seg);
        let env = self.env();
        // Segment: plain data segment, last byte within the limit.
        let off64 = self.b.ins().uextend(I64, off);
        let last = self.b.ins().iadd_imm_s(off64, size as i64 - 1);
        let in_limit = self
            .b
            .ins()
            .icmp(IntCC::UnsignedLessThanOrEqual, last, si.limit);
        let seg_ok = self.b.ins().band(si.plain, in_limit);
        let lin = self.b.ins().iadd(si.base, off);
        let lin64 = self.b.ins().uextend(I64, lin);
        // Paging: a TLB hit for reads, within one page.
        let slot = self.b.ins().ushr_imm_u(lin, 12);
        let slot = self.b.ins().band_imm_u(slot, (ENTRIES - 1) as i64);
        let slot = self.b.ins().uextend(self.ptr, slot);
        let slot = self.b.ins().imul_imm_u(slot, size_of::<TlbEntry>() as i64);
        let ent = self.b.ins().iadd(env.tlb_set, slot);
        let tag = self
            .b
            .ins()
            .load(I32, trusted(), ent, offset_of!(TlbEntry, read) as i32);
        let addend = self
            .b
            .ins()
            .load(I64, trusted(), ent, offset_of!(TlbEntry, addend) as i32);
        let page = self.b.ins().band_imm_u(lin, !0xFFFi64);
        let tag_ok = self.b.ins().icmp(IntCC::Equal, tag, page);
        let in_page = self.b.ins().band_imm_u(lin, 0xFFF);
        let in_page = self.b.ins().icmp_imm_u(
            IntCC::UnsignedLessThanOrEqual,
            in_page,
            0x1000 - size as i64,
        );
        let hit = self.b.ins().band(tag_ok, in_page);
        let not_paging = self.b.ins().bxor_imm_u(env.paging, 1);
        let tr_ok = self.b.ins().bor(not_paging, hit);
        let paged = self.b.ins().iadd(lin64, addend);
        let phys = self.b.ins().select(env.paging, paged, lin64);
        let phys = self.b.ins().band(phys, env.a20);
        // Plain RAM, outside the legacy hole.
        let end = self.b.ins().iadd_imm_s(phys, size as i64);
        let low = self
            .b
            .ins()
            .icmp(IntCC::UnsignedLessThanOrEqual, end, env.lo_end);
        let above = self
            .b
            .ins()
            .icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, phys, HOLE_END);
        let fits = self
            .b
            .ins()
            .icmp(IntCC::UnsignedLessThanOrEqual, end, env.ram_size);
        let high = self.b.ins().band(above, fits);
        let ram_ok = self.b.ins().bor(low, high);
        let ok = self.b.ins().band(seg_ok, tr_ok);
        let ok = self.b.ins().band(ok, ram_ok);

        let fast = self.b.create_block();
        let slow = self.b.create_block();
        let merge = self.b.create_block();
        let v = self.b.append_block_param(merge, I32);
        self.b.set_cold_block(slow);
        self.b.ins().brif(ok, fast, &[], slow, &[]);

        self.b.switch_to_block(fast);
        self.b.seal_block(fast);
        let host = if self.ptr == I64 {
            phys
        } else {
            self.b.ins().ireduce(self.ptr, phys)
        };
        let host = self.b.ins().iadd(env.ram, host);
        let f = ram_flags();
        let x = match size {
            1 => self.b.ins().uload8(I32, f, host, 0),
            2 => self.b.ins().uload16(I32, f, host, 0),
            _ => self.b.ins().load(I32, f, host, 0),
        };
        self.b.ins().jump(merge, &[BlockArg::Value(x)]);

        self.b.switch_to_block(slow);
        self.b.seal_block(slow);
        let segv = self.c32(seg as u32);
        let sz = self.c32(size as u32);
        let r = self.call(
            self.sigs.read,
            runtime::h_read as *const () as usize,
            &[self.ctx, segv, off, sz],
        );
        let hi = self.b.ins().ushr_imm_u(r, 32);
        let failed = self.b.ins().icmp_imm_u(IntCC::NotEqual, hi, 0);
        self.fault_exit(failed, ST_FAULT);
        let x = self.b.ins().ireduce(I32, r);
        self.b.ins().jump(merge, &[BlockArg::Value(x)]);

        self.b.switch_to_block(merge);
        self.b.seal_block(merge);
        v
    }

    /// Writes `size` bytes at `seg:off`. A fault leaves the block; a write
    /// that hit decoded code makes the block stop after this instruction.
    pub fn store(&mut self, seg: usize, off: Value, size: u8, v: Value) {
        let segv = self.c32(seg as u32);
        let sz = self.c32(size as u32);
        let r = self.call(
            self.sigs.write,
            runtime::h_write as *const () as usize,
            &[self.ctx, segv, off, sz, v],
        );
        let failed = self.b.ins().icmp_imm_u(IntCC::Equal, r, 1);
        self.fault_exit(failed, ST_FAULT);
        let code = self.b.ins().icmp_imm_u(IntCC::Equal, r, 2);
        self.pending_stop = Some(match self.pending_stop {
            Some(p) => self.b.ins().bor(p, code),
            None => code,
        });
    }
}
