//! [`Jit`]: the [`BlockEngine`] the interpreter's dispatcher offers blocks to.
//!
//! Each decode-cache block (by its slab index) has a run counter; a block
//! is compiled when it has been offered `threshold` times, so code that
//! runs once (boot, initialisation) is never compiled. Compiled blocks are
//! also entered by their key (physical address and code size), so that
//! after a block the engine can go straight on to its compiled successor
//! (*chaining*) without a trip through the dispatcher — for a bounded
//! number of instructions, and only while the dispatcher would do the same:
//! no interrupt pending, no trap flag or interrupt shadow, no write to
//! code, the successor within the CS limit.

use crate::code_cache::CodeCache;
use crate::runtime::{Ctx, ST_FAULT, ST_GP0, ST_NORMAL, ST_PANIC};
use crate::translate::{translate, Translated};
use crate::JitError;
use crane86_cpu::decode_cache::{self, Block, Decoded};
use crane86_cpu::state::{flags, CpuState, CS};
use crane86_cpu::{BlockEngine, BlockRun, Exception, Exec};
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::FunctionBuilderContext;
use rustc_hash::FxHashMap as HashMap;
use std::ffi::c_void;
use std::fmt;
use std::time::{Duration, Instant};

/// Tuning knobs.
#[derive(Clone, Debug)]
pub struct JitConfig {
    /// Runs of a block before it is compiled (0 or 1: compile at once).
    pub threshold: u32,
    /// Bytes of executable memory; when full, all code is dropped.
    pub code_capacity: usize,
    /// Most guest instructions run by chaining in one `run_block` call
    /// (0: no chaining). Bounds interrupt latency together with the
    /// dispatcher's block length.
    pub chain_limit: u32,
}

impl Default for JitConfig {
    fn default() -> Self {
        JitConfig {
            threshold: 40,
            code_capacity: 64 << 20,
            chain_limit: 2048,
        }
    }
}

/// Counters for `-d jit`.
#[derive(Clone, Debug, Default)]
pub struct JitStats {
    /// Blocks compiled.
    pub blocks: u64,
    /// Guest instructions in compiled blocks.
    pub guest_insns: u64,
    /// Of those, inlined as IR (the rest call the interpreter's `step`).
    pub inlined: u64,
    /// Host code bytes produced.
    pub code_bytes: u64,
    /// Time spent translating and compiling.
    pub compile_time: Duration,
    /// Runs of compiled blocks (entered from the dispatcher or chained).
    pub hits: u64,
    /// Of those, entered by chaining.
    pub chained: u64,
    /// Blocks left to the interpreter (cold, or not compilable).
    pub declined: u64,
    /// Compiled blocks dropped because guest code was written.
    pub invalidations: u64,
    /// Whole-cache flushes (decode cache flushed, or code memory full).
    pub flushes: u64,
    /// Blocks Cranelift failed on (they stay interpreted).
    pub failures: u64,
}

impl fmt::Display for JitStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.compile_time.as_secs_f64() * 1e6;
        let per_insn = if self.guest_insns > 0 {
            us / self.guest_insns as f64
        } else {
            0.0
        };
        writeln!(
            f,
            "jit: {} blocks compiled ({} guest insns, {:.1}% inline), {} bytes of host code",
            self.blocks,
            self.guest_insns,
            if self.guest_insns > 0 {
                100.0 * self.inlined as f64 / self.guest_insns as f64
            } else {
                0.0
            },
            self.code_bytes
        )?;
        writeln!(
            f,
            "jit: compile time {:.3} s ({:.1} us per guest insn)",
            us / 1e6,
            per_insn
        )?;
        write!(
            f,
            "jit: {} compiled-block runs ({} chained), {} interpreted, {} invalidated, {} flushes, {} failures",
            self.hits, self.chained, self.declined, self.invalidations, self.flushes, self.failures
        )
    }
}

type BlockFn = unsafe extern "C" fn(*mut Ctx, *mut CpuState) -> u64;

struct Compiled {
    f: BlockFn,
    /// Decode-cache key (physical address | code size).
    key: u64,
    /// Bytes of guest code (for the CS limit check when chaining).
    len: u32,
    /// The stack size the code assumes (SS.B).
    stack32: bool,
    /// Own copy of the instructions for the `step` trampoline: chained
    /// blocks are entered without the decode cache at hand.
    insns: Box<[Decoded]>,
}

#[derive(Default)]
struct Slot {
    runs: u32,
    failed: bool,
    code: Option<Box<Compiled>>,
}

/// The JIT engine: pass it to `Cpu::run_with`.
pub struct Jit {
    cfg: JitConfig,
    isa: OwnedTargetIsa,
    cl: cranelift_codegen::Context,
    fctx: FunctionBuilderContext,
    code: CodeCache,
    /// By decode-cache index.
    slots: Vec<Slot>,
    /// Compiled blocks by key, for chaining.
    by_key: HashMap<u64, u32>,
    stats: JitStats,
    ctx: Box<Ctx>,
}

// SAFETY: the raw pointers in `Ctx` are only set for the duration of a
// call into generated code (they point at the caller's `Exec`); between
// calls nothing refers to another thread's data, so the engine can move
// to the vCPU thread that will use it.
unsafe impl Send for Jit {}

impl Jit {
    pub fn new() -> Result<Self, JitError> {
        Self::with_config(JitConfig::default())
    }

    pub fn with_config(cfg: JitConfig) -> Result<Self, JitError> {
        let mut flags = settings::builder();
        let set = |b: &mut settings::Builder, k: &str, v: &str| {
            b.set(k, v)
                .map_err(|e| JitError::Settings(format!("{k}={v}: {e}")))
        };
        set(&mut flags, "opt_level", "speed")?;
        set(
            &mut flags,
            "enable_verifier",
            if cfg!(debug_assertions) {
                "true"
            } else {
                "false"
            },
        )?;
        set(&mut flags, "unwind_info", "false")?;
        let isa = cranelift_native::builder()
            .map_err(|e| JitError::HostIsa(e.to_string()))?
            .finish(settings::Flags::new(flags))
            .map_err(|e| JitError::HostIsa(e.to_string()))?;
        let code = CodeCache::new(cfg.code_capacity)?;
        Ok(Jit {
            cfg,
            isa,
            cl: cranelift_codegen::Context::new(),
            fctx: FunctionBuilderContext::new(),
            code,
            slots: Vec::new(),
            by_key: HashMap::default(),
            stats: JitStats::default(),
            ctx: Box::new(Ctx::new()),
        })
    }

    pub fn config(&self) -> &JitConfig {
        &self.cfg
    }

    /// Counters for `-d jit` (`JitStats` implements `Display`).
    pub fn stats(&self) -> JitStats {
        self.stats.clone()
    }

    /// Drops every compiled block (the counters of the decode-cache slots
    /// are kept, so hot blocks are compiled again soon).
    fn drop_code(&mut self) {
        for s in &mut self.slots {
            s.code = None;
        }
        self.by_key.clear();
        self.code.reset();
        self.stats.flushes += 1;
    }

    fn compile(&mut self, x: &Exec<'_>, idx: u32, block: &Block) -> Result<(), JitError> {
        let t0 = Instant::now();
        let code32 = x.s.code32();
        let stack32 = x.s.stack32();
        self.cl.clear();
        let tr: Translated = translate(
            &mut self.cl.func,
            &mut self.fctx,
            &*self.isa,
            &block.insns,
            code32,
            stack32,
        );
        let compiled = self
            .cl
            .compile(&*self.isa, &mut ControlPlane::default())
            .map_err(|e| JitError::Compile(format!("{:?}", e.inner)))?;
        if !compiled.buffer.relocs().is_empty() {
            return Err(JitError::Compile(
                "generated code needs relocations".to_string(),
            ));
        }
        let bytes = compiled.code_buffer();
        let len = bytes.len();
        let ptr = match self.code.install(bytes)? {
            Some(p) => p,
            None => {
                let bytes = bytes.to_vec();
                self.drop_code();
                self.code
                    .install(&bytes)?
                    .ok_or_else(|| JitError::Memory("block larger than the code cache".into()))?
            }
        };
        // SAFETY: `ptr` is the entry of a function Cranelift compiled with
        // this signature and the host's default calling convention.
        let f: BlockFn = unsafe { std::mem::transmute::<*const u8, BlockFn>(ptr) };
        let key = decode_cache::key(block.start, code32);
        self.slots[idx as usize].code = Some(Box::new(Compiled {
            f,
            key,
            len: block.len,
            stack32,
            insns: block.insns.clone().into_boxed_slice(),
        }));
        self.by_key.insert(key, idx);
        self.stats.blocks += 1;
        self.stats.guest_insns += block.insns.len() as u64;
        self.stats.inlined += tr.inlined as u64;
        self.stats.code_bytes += len as u64;
        self.stats.compile_time += t0.elapsed();
        Ok(())
    }

    /// Runs compiled block `idx`: returns its exit code.
    fn enter(&mut self, x: &mut Exec<'_>, idx: u32) -> u64 {
        let c = self.slots[idx as usize]
            .code
            .as_ref()
            .expect("entered blocks are compiled");
        let ctx = &mut *self.ctx;
        ctx.insns = c.insns.as_ptr();
        ctx.lf_kind = 0;
        let f = c.f;
        let st: *mut CpuState = &mut *x.s;
        ctx.exec = x as *mut Exec<'_> as *mut c_void;
        // SAFETY: generated code only touches the state through `st`, the
        // context, and guest RAM within its bounds; helpers reach the rest
        // through `ctx.exec`, which stays valid for the call.
        let code = unsafe { f(ctx, st) };
        ctx.exec = std::ptr::null_mut();
        // SAFETY: the call has returned; `st` is `x.s`.
        ctx.settle_flags(unsafe { &mut (*st).eflags });
        if let Some(p) = ctx.panic.take() {
            std::panic::resume_unwind(p);
        }
        code
    }

    /// The compiled block the dispatcher would run next, when the engine
    /// may go on to it directly.
    fn successor(&mut self, x: &mut Exec<'_>) -> Option<u32> {
        let s = &*x.s;
        if s.eflags & flags::TF != 0 || s.int_shadow || x.end_block || x.mem.code_written() {
            return None;
        }
        if s.eflags & flags::IF != 0 && x.io.interrupt_pending() {
            return None;
        }
        if x.io.stop_requested() {
            return None;
        }
        let s = &*x.s;
        let eip = s.eip;
        let cs = s.seg[CS];
        if eip > cs.limit {
            return None;
        }
        let lin = cs.base.wrapping_add(eip);
        let phys = if s.cr0 & crane86_cpu::state::cr0::PG != 0 {
            x.tlb.fetch(lin, s.cpl == 3)?
        } else {
            lin as u64
        };
        let key = decode_cache::key(x.mem.a20(phys), s.code32());
        let idx = *self.by_key.get(&key)?;
        let c = self.slots[idx as usize].code.as_ref()?;
        let end = eip.checked_add(c.len)?;
        if end - 1 > cs.limit || (!s.code32() && end > 0x10000) || c.stack32 != s.stack32() {
            return None;
        }
        Some(idx)
    }
}

impl BlockEngine for Jit {
    fn run_block(&mut self, x: &mut Exec<'_>, idx: u32, block: &Block) -> BlockRun {
        let i = idx as usize;
        if i >= self.slots.len() {
            self.slots.resize_with(i + 1, Slot::default);
        }
        let slot = &mut self.slots[i];
        // A slot reused for another block without a flush notice (the
        // decode cache cleared by a CPU reset): start over.
        if let Some(c) = &slot.code {
            if c.key != decode_cache::key(block.start, x.s.code32())
                || c.len != block.len
                || c.insns.len() != block.insns.len()
            {
                if self.by_key.get(&c.key) == Some(&idx) {
                    self.by_key.remove(&c.key);
                }
                *slot = Slot::default();
            }
        }
        let slot = &mut self.slots[i];
        match &slot.code {
            Some(c) if c.stack32 != x.s.stack32() => {
                // Compiled for the other stack size: recompile for this one.
                if let Some(c) = slot.code.take() {
                    if self.by_key.get(&c.key) == Some(&idx) {
                        self.by_key.remove(&c.key);
                    }
                }
                if let Err(_e) = self.compile(x, idx, block) {
                    self.slots[i].failed = true;
                    self.stats.failures += 1;
                    self.stats.declined += 1;
                    return BlockRun::Declined;
                }
            }
            Some(_) => {}
            None => {
                if slot.failed {
                    self.stats.declined += 1;
                    return BlockRun::Declined;
                }
                slot.runs += 1;
                if slot.runs < self.cfg.threshold {
                    self.stats.declined += 1;
                    return BlockRun::Declined;
                }
                if self.compile(x, idx, block).is_err() {
                    self.slots[i].failed = true;
                    self.stats.failures += 1;
                    self.stats.declined += 1;
                    return BlockRun::Declined;
                }
            }
        }
        // Machine facts generated code reads; helpers that could change
        // them (A20 through port I/O) end the chain.
        let ctx = &mut *self.ctx;
        ctx.ram = x.mem.ram().as_ptr();
        ctx.ram_size = x.mem.ram_size();
        ctx.a20_mask = if x.mem.a20_enabled() {
            u64::MAX
        } else {
            !(1u64 << 20)
        };
        ctx.tlb = x.tlb.sets.as_ptr() as *const u8;
        let mut total = 0u64;
        // TSC already advanced for chained blocks, taken back at the end
        // (the dispatcher adds the whole count).
        let mut advanced = 0u64;
        let mut cur = idx;
        let result = loop {
            self.stats.hits += 1;
            let code = self.enter(x, cur);
            let retired = code & 0xFFFF_FFFF;
            total += retired;
            match code >> 32 {
                ST_NORMAL => {}
                ST_FAULT | ST_PANIC => {
                    break Err(self.ctx.exc.take().unwrap_or(Exception::Unimplemented))
                }
                ST_GP0 => break Err(Exception::gp0()),
                _ => break Ok(()),
            }
            if total >= self.cfg.chain_limit as u64 {
                break Ok(());
            }
            match self.successor(x) {
                Some(next) => {
                    x.s.tsc = x.s.tsc.wrapping_add(retired);
                    advanced += retired;
                    self.stats.chained += 1;
                    cur = next;
                }
                None => break Ok(()),
            }
        };
        x.s.tsc = x.s.tsc.wrapping_sub(advanced);
        BlockRun::Ran {
            retired: total,
            result,
        }
    }

    fn invalidate(&mut self, idx: u32) {
        if let Some(s) = self.slots.get_mut(idx as usize) {
            if let Some(c) = s.code.take() {
                if self.by_key.get(&c.key) == Some(&idx) {
                    self.by_key.remove(&c.key);
                }
                self.stats.invalidations += 1;
            }
            s.runs = 0;
            s.failed = false;
        }
    }

    fn flush(&mut self) {
        self.slots.clear();
        self.by_key.clear();
        self.code.reset();
        self.stats.flushes += 1;
    }
}
