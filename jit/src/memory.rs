//! Guest memory access from generated code.
//!
//! Loads have an inline fast path for the common case — a present,
//! writable, expand-up data segment and an offset within its limit; paging
//! off, or a TLB hit that needs no page crossing; plain RAM (below 0xA0000,
//! or from 1 MiB up to the end of RAM) — which ends in one host load.
//! Anything else calls [`h_read`](crate::runtime::h_read), i.e. the
//! interpreter's `Exec::read_mem`, which raises the same exceptions.
//!
//! Stores have the same fast path (with the TLB's write tag), taken only
//! when the physical page holds no decoded code (`PhysMem`'s code-page
//! flag is 0); every other store calls [`h_write`](crate::runtime::h_write)
//! (`write_mem`), so the physical memory keeps noticing writes to pages
//! holding code.

use crate::runtime::{self, Ctx};
use crate::translate::{seg_off, trusted, Env, SegInfo, Tr};
use crane86_cpu::state::{ar, CpuState, SegReg};
use crane86_cpu::tlb::{TlbEntry, ENTRIES};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I32, I64, I8};
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

    pub fn env(&mut self) -> Env {
        if let Some(e) = self.env_cache {
            return e;
        }
        let f = trusted();
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
        let code_pages =
            self.b
                .ins()
                .load(self.ptr, f, self.ctx, offset_of!(Ctx, code_pages) as i32);
        let e = Env {
            code_pages,
            ram,
            lo_end,
            ram_size,
            tlb_set,
        };
        self.env_cache = Some(e);
        e
    }

    /// The inline fast-path test of an access: (ok, physical address).
    fn fast_check(&mut self, seg: usize, off: Value, size: u8, write: bool) -> (Value, Value) {
        let env = self.env();
        // Segment: plain data segment, last byte within the limit. A flat
        // one needs no test: an access wrapping past 4 GiB crosses a page
        // (paging) or ends beyond RAM, so the tests below reject it.
        let (seg_ok, lin) = if self.flat & (1 << seg) != 0 {
            self.flat_used |= 1 << seg;
            (None, off)
        } else {
            let si = self.seg_info(seg);
            let off64 = self.b.ins().uextend(I64, off);
            let last = self.b.ins().iadd_imm_s(off64, size as i64 - 1);
            let in_limit = self
                .b
                .ins()
                .icmp(IntCC::UnsignedLessThanOrEqual, last, si.limit);
            let seg_ok = self.b.ins().band(si.plain, in_limit);
            (Some(seg_ok), self.b.ins().iadd(si.base, off))
        };
        let lin64 = self.b.ins().uextend(I64, lin);
        // Paging (known for the region): a TLB hit for this kind of
        // access, within one page; physical = linear + addend, mod 2^32.
        let (tr_ok, phys) = if self.paging {
            let slot = self.b.ins().ushr_imm_u(lin, 12);
            let slot = self.b.ins().band_imm_u(slot, (ENTRIES - 1) as i64);
            let slot = self.b.ins().uextend(self.ptr, slot);
            let slot = self.b.ins().imul_imm_u(slot, size_of::<TlbEntry>() as i64);
            let ent = self.b.ins().iadd(env.tlb_set, slot);
            let tag_off = if write {
                offset_of!(TlbEntry, write)
            } else {
                offset_of!(TlbEntry, read)
            };
            let tag = self.b.ins().load(I32, trusted(), ent, tag_off as i32);
            let addend =
                self.b
                    .ins()
                    .load(I32, trusted(), ent, offset_of!(TlbEntry, addend) as i32);
            let page = self.b.ins().band_imm_u(lin, !0xFFFi64);
            let tag_ok = self.b.ins().icmp(IntCC::Equal, tag, page);
            let in_page = self.b.ins().band_imm_u(lin, 0xFFF);
            let in_page = self.b.ins().icmp_imm_u(
                IntCC::UnsignedLessThanOrEqual,
                in_page,
                0x1000 - size as i64,
            );
            let p = self.b.ins().iadd(lin, addend);
            (
                Some(self.b.ins().band(tag_ok, in_page)),
                self.b.ins().uextend(I64, p),
            )
        } else {
            (None, lin64)
        };
        let phys = if self.a20 {
            phys
        } else {
            self.b.ins().band_imm_u(phys, !(1i64 << 20))
        };
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
        let ok = match (seg_ok, tr_ok) {
            (Some(s), Some(t)) => {
                let st = self.b.ins().band(s, t);
                self.b.ins().band(st, ram_ok)
            }
            (Some(x), None) | (None, Some(x)) => self.b.ins().band(x, ram_ok),
            (None, None) => ram_ok,
        };
        (ok, phys)
    }

    fn host_addr(&mut self, phys: Value) -> Value {
        let env = self.env();
        let host = if self.ptr == I64 {
            phys
        } else {
            self.b.ins().ireduce(self.ptr, phys)
        };
        self.b.ins().iadd(env.ram, host)
    }

    fn raw_load(&mut self, host: Value, size: u8) -> Value {
        let f = ram_flags();
        match size {
            1 => self.b.ins().uload8(I32, f, host, 0),
            2 => self.b.ins().uload16(I32, f, host, 0),
            _ => self.b.ins().load(I32, f, host, 0),
        }
    }

    fn raw_store(&mut self, host: Value, size: u8, v: Value) {
        let f = ram_flags();
        match size {
            1 => self.b.ins().istore8(f, v, host, 0),
            2 => self.b.ins().istore16(f, v, host, 0),
            _ => self.b.ins().store(f, v, host, 0),
        };
    }

    /// The code-page flag of the physical page of `phys` (non-zero: the
    /// page holds decoded code).
    fn code_flag(&mut self, phys: Value) -> Value {
        let env = self.env();
        let page = self.b.ins().ushr_imm_u(phys, 12);
        let page = if self.ptr == I64 {
            page
        } else {
            self.b.ins().ireduce(self.ptr, page)
        };
        let fp = self.b.ins().iadd(env.code_pages, page);
        self.b.ins().uload8(I32, ram_flags(), fp, 0)
    }

    /// Reads `size` bytes at `seg:off`; an exception leaves the block with
    /// the state before the current instruction.
    pub fn load(&mut self, seg: usize, off: Value, size: u8) -> Value {
        let (ok, phys) = self.fast_check(seg, off, size, false);
        if !self.helper_mem {
            // Slow cases leave the region before the instruction: the
            // interpreter runs it (the engine marks an instruction that
            // keeps leaving so, and the recompiled region calls a helper).
            self.slow_exit_unless(ok);
            let host = self.host_addr(phys);
            return self.raw_load(host, size);
        }
        let fast = self.b.create_block();
        let slow = self.b.create_block();
        let merge = self.b.create_block();
        let v = self.b.append_block_param(merge, I32);
        self.b.set_cold_block(slow);
        self.b.ins().brif(ok, fast, &[], slow, &[]);

        self.b.switch_to_block(fast);
        self.b.seal_block(fast);
        let host = self.host_addr(phys);
        let x = self.raw_load(host, size);
        self.b.ins().jump(merge, &[BlockArg::Value(x)]);

        self.b.switch_to_block(slow);
        self.b.seal_block(slow);
        self.store_state();
        let segv = self.c32(seg as u32);
        let sz = self.c32(size as u32);
        let r = self.call(
            self.sigs.read,
            runtime::h_read as *const () as usize,
            &[self.ctx, segv, off, sz],
        );
        let hi = self.b.ins().ushr_imm_u(r, 32);
        let failed = self.b.ins().icmp_imm_u(IntCC::NotEqual, hi, 0);
        self.fault_ret(failed);
        let x = self.b.ins().ireduce(I32, r);
        self.b.ins().jump(merge, &[BlockArg::Value(x)]);

        self.b.switch_to_block(merge);
        self.b.seal_block(merge);
        v
    }

    /// Writes `size` bytes at `seg:off`. A fault leaves the block; a write
    /// that hit decoded code makes the block stop after this instruction.
    pub fn store(&mut self, seg: usize, off: Value, size: u8, v: Value) {
        let (ok, phys) = self.fast_check(seg, off, size, true);
        if !self.helper_mem {
            // One exit for both tests: the flag of page 0 stands in for
            // an address off the fast path (so the table is never read
            // out of bounds).
            let zero = self.c64(0);
            let at = self.b.ins().select(ok, phys, zero);
            let flag = self.code_flag(at);
            let clear = self.b.ins().icmp_imm_u(IntCC::Equal, flag, 0);
            let ok = self.b.ins().band(ok, clear);
            self.slow_exit_unless(ok);
            let host = self.host_addr(phys);
            self.raw_store(host, size, v);
            return;
        }
        let fast = self.b.create_block();
        let fast2 = self.b.create_block();
        let slow = self.b.create_block();
        let merge = self.b.create_block();
        let stop = self.b.append_block_param(merge, I8);
        self.b.set_cold_block(slow);
        self.b.ins().brif(ok, fast, &[], slow, &[]);

        // No decoded code on the page (the flag table covers all of RAM).
        self.b.switch_to_block(fast);
        self.b.seal_block(fast);
        let flag = self.code_flag(phys);
        self.b.ins().brif(flag, slow, &[], fast2, &[]);

        self.b.switch_to_block(fast2);
        self.b.seal_block(fast2);
        let host = self.host_addr(phys);
        self.raw_store(host, size, v);
        let no = self.b.ins().iconst(I8, 0);
        self.b.ins().jump(merge, &[BlockArg::Value(no)]);

        self.b.switch_to_block(slow);
        self.b.seal_block(slow);
        self.store_state();
        let segv = self.c32(seg as u32);
        let sz = self.c32(size as u32);
        let r = self.call(
            self.sigs.write,
            runtime::h_write as *const () as usize,
            &[self.ctx, segv, off, sz, v],
        );
        let failed = self.b.ins().icmp_imm_u(IntCC::Equal, r, 1);
        self.fault_ret(failed);
        let code = self.b.ins().icmp_imm_u(IntCC::Equal, r, 2);
        self.b.ins().jump(merge, &[BlockArg::Value(code)]);

        self.b.switch_to_block(merge);
        self.b.seal_block(merge);
        self.pending_stop = Some(match self.pending_stop {
            Some(p) => self.b.ins().bor(p, stop),
            None => stop,
        });
    }
}
