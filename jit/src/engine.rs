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
use crate::runtime::{Ctx, ST_DE, ST_FAULT, ST_GP0, ST_IND, ST_NORMAL, ST_PANIC, ST_SLOW};
use crate::translate::{translate, RBlock, Region, Translated};
use crate::JitError;
use crane86_cpu::decode_cache::{self, Block, Decoded};
use crane86_cpu::state::{cr0, flags, CpuState, CS, ESP};
use crane86_cpu::{BlockEngine, BlockRun, Exception, Exec};
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::FunctionBuilderContext;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::ffi::c_void;
use std::fmt;
use std::time::{Duration, Instant};

/// Tuning knobs. The defaults can be overridden for experiments with
/// `CRANE86_JIT_THR` (threshold), `CRANE86_JIT_CHAIN` (chain_limit) and
/// `CRANE86_JIT_RB` (region_blocks). Debugging aids: `CRANE86_JIT_STATS`
/// prints the counters every 5 s, `CRANE86_JIT_TRACE` every compiled
/// region's instructions and every region run (entry, exit, status),
/// `CRANE86_JIT_IR` the Cranelift IR of each region, `CRANE86_JIT_EXITS`
/// the commonest region exits at the end.
#[derive(Clone, Debug)]
pub struct JitConfig {
    /// Runs of a block before it is compiled (0 or 1: compile at once).
    pub threshold: u32,
    /// Bytes of executable memory; when full, all code is dropped.
    pub code_capacity: usize,
    /// Most guest instructions run in one `run_block` call, inside a
    /// region and by chaining regions (at least one block always runs).
    /// Bounds interrupt latency together with the dispatcher's block length.
    pub chain_limit: u32,
    /// Most guest blocks in one region. Compile time grows faster than
    /// the region (register allocation dominates), and a region is
    /// compiled again whenever one of its blocks is invalidated: 16 keeps
    /// the hot loops of benchmarks whole while Linux, whose boot runs
    /// much code a few dozen times, spends little time compiling.
    pub region_blocks: usize,
}

impl Default for JitConfig {
    fn default() -> Self {
        let env = |k: &str, d: u32| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(d)
        };
        JitConfig {
            // Debian boot (-icount shift=2): 35.5 s at 40, 23.4 s at 200,
            // 19.6 s at 500, 15.2 s at 2000; jit_mix is as fast at 2000.
            threshold: env("CRANE86_JIT_THR", 2000),
            code_capacity: 64 << 20,
            chain_limit: env("CRANE86_JIT_CHAIN", 4096),
            region_blocks: env("CRANE86_JIT_RB", 16) as usize,
        }
    }
}

/// Counters for `-d jit`.
#[derive(Clone, Debug, Default)]
pub struct JitStats {
    /// Regions compiled.
    pub regions: u64,
    /// Guest blocks in compiled regions.
    pub blocks: u64,
    /// Guest instructions in compiled regions.
    pub guest_insns: u64,
    /// Of those, inlined as IR (the rest call the interpreter's `step`).
    pub inlined: u64,
    /// Host code bytes produced.
    pub code_bytes: u64,
    /// Time spent translating and compiling.
    pub compile_time: Duration,
    /// Runs of compiled regions (entered from the dispatcher or chained).
    pub hits: u64,
    /// Of those, entered by chaining.
    pub chained: u64,
    /// Regions recompiled to take in more blocks.
    pub recompiles: u64,
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
            "jit: {} regions compiled ({} blocks, {} guest insns, {:.1}% inline), {} bytes of host code",
            self.regions,
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
            "jit: {} region runs ({} chained), {} blocks interpreted, {} invalidated, {} recompiled, {} flushes, {} failures",
            self.hits,
            self.chained,
            self.declined,
            self.invalidations,
            self.recompiles,
            self.flushes,
            self.failures
        )
    }
}

type BlockFn = unsafe extern "C" fn(*mut Ctx, *mut CpuState, u32) -> u64;

/// The machine facts a region was compiled under: the code there (and the
/// blocks its branches reach) is only what it was compiled from while
/// these hold, and (with paging) while each linear page of the region
/// still maps to the physical page its code was taken from
/// ([`Compiled::pages`]). The mapping, not CR3, is what matters: kernel
/// code is mapped alike in every address space (and Linux's `text_poke`
/// switches CR3 around a code write), while one CR3 can map a linear
/// page elsewhere after a page-table write and a TLB flush.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Guard {
    cs_base: u32,
    cs_limit: u32,
    code32: bool,
    stack32: bool,
    cpl: u8,
    paging: bool,
    a20: bool,
    /// Segments (bit per register) that are flat plain data segments:
    /// base 0, limit 4 GiB - 1, present, writable, expand-up. Their
    /// accesses skip the segment checks; a helper that changes a segment
    /// register ends the region.
    flat: u8,
}

impl Guard {
    fn of(x: &Exec<'_>) -> Guard {
        let s = &*x.s;
        Guard {
            cs_base: s.seg[CS].base,
            cs_limit: s.seg[CS].limit,
            code32: s.code32(),
            stack32: s.stack32(),
            cpl: s.cpl,
            paging: s.cr0 & cr0::PG != 0,
            a20: x.mem.a20_enabled(),
            flat: flat_mask(s),
        }
    }
}

/// The segments of `s` that are flat plain data segments (bit per register).
fn flat_mask(s: &CpuState) -> u8 {
    use crane86_cpu::state::ar;
    let want = ar::P | ar::RW;
    let mut m = 0;
    for (k, g) in s.seg.iter().enumerate().take(6) {
        if g.base == 0 && g.limit == u32::MAX && g.ar & (want | ar::CODE | ar::DC) == want {
            m |= 1 << k;
        }
    }
    m
}

/// A decode-cache block as the engine saw it (its own copy, so regions can
/// be formed from it later).
struct Info {
    key: u64,
    len: u32,
    eip: u32,
    insns: Box<[Decoded]>,
}

struct Compiled {
    f: BlockFn,
    guard: Guard,
    /// Decode-cache indices of the blocks in the region.
    members: Vec<u32>,
    /// With paging: (linear page, physical page) of every page holding
    /// code of the region, checked at each entry.
    pages: Vec<(u32, u64)>,
    /// Own copies of the instructions (the `step` trampoline points into them).
    _insns: Vec<Box<[Decoded]>>,
    /// Exits at an indirect branch whose target was not in the region.
    ind_misses: u32,
    /// Indirect targets learnt since the region was compiled.
    ind_new: u32,
    /// Exits to a block outside the region.
    exits: u32,
}

#[derive(Default)]
struct Slot {
    runs: u32,
    failed: bool,
    info: Option<Box<Info>>,
    /// The region to enter at this block: (region id, block position).
    region: Option<(u32, u32)>,
    /// Regions compiled holding this block (bounds recompiles).
    compiles: u32,
    /// Targets (EIPs) seen of the indirect branch ending this block.
    ind_seen: Vec<u32>,
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
    /// Blocks seen, by key.
    by_key: HashMap<u64, u32>,
    /// Compiled regions by id (`None`: dropped).
    regions: Vec<Option<Box<Compiled>>>,
    /// Regions each block belongs to (ids; may be stale).
    member_of: HashMap<u32, Vec<u32>>,
    /// Region exits before an instruction whose memory access missed the
    /// fast path, by linear address of the instruction.
    slow_exits: HashMap<u32, u32>,
    /// Instructions that left regions that way `SLOW_EXITS` times: their
    /// accesses call the interpreter's helpers instead.
    slow: HashSet<u32>,
    stats: JitStats,
    ctx: Box<Ctx>,
    /// `CRANE86_JIT_EXITS`: region exits by (entry EIP, exit EIP, status).
    debug: Option<HashMap<(u32, u32, u64), u64>>,
    /// `CRANE86_JIT_TRACE`.
    trace: bool,
    /// `CRANE86_JIT_IR`.
    show_ir: bool,
    /// `CRANE86_JIT_STATS`: print the counters every few seconds.
    stats_at: Option<Instant>,
}

impl Drop for Jit {
    fn drop(&mut self) {
        if let Some(d) = &self.debug {
            let mut v: Vec<_> = d.iter().collect();
            v.sort_by_key(|e| std::cmp::Reverse(*e.1));
            for ((e, x, st), n) in v.into_iter().take(25) {
                eprintln!("jit exit: region {e:08x} -> {x:08x} status {st}: {n}");
            }
        }
    }
}

// SAFETY: the raw pointers in `Ctx` are only set for the duration of a
// call into generated code (they point at the caller's `Exec`); between
// calls nothing refers to another thread's data, so the engine can move
// to the vCPU thread that will use it.
unsafe impl Send for Jit {}

/// Most guest instructions in one region.
const REGION_INSNS: usize = 1500;
/// Recompiles of one region entry (to take in more blocks).
const MAX_COMPILES: u32 = 8;
/// Indirect-branch targets remembered per region.
const MAX_IND: usize = 24;
/// Slow-path exits at one instruction before its accesses call helpers.
const SLOW_EXITS: u32 = 16;

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
        set(
            &mut flags,
            "opt_level",
            &std::env::var("CL_OPT").unwrap_or("none".into()),
        )?;
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
        if let Ok(ra) = std::env::var("CL_RA") {
            set(&mut flags, "regalloc_algorithm", &ra)?;
        }
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
            regions: Vec::new(),
            member_of: HashMap::default(),
            slow_exits: HashMap::default(),
            slow: HashSet::default(),
            stats: JitStats::default(),
            ctx: Box::new(Ctx::new()),
            debug: std::env::var_os("CRANE86_JIT_EXITS").map(|_| HashMap::default()),
            trace: std::env::var_os("CRANE86_JIT_TRACE").is_some(),
            show_ir: std::env::var_os("CRANE86_JIT_IR").is_some(),
            stats_at: std::env::var_os("CRANE86_JIT_STATS").map(|_| Instant::now()),
        })
    }

    pub fn config(&self) -> &JitConfig {
        &self.cfg
    }

    /// Counters for `-d jit` (`JitStats` implements `Display`).
    pub fn stats(&self) -> JitStats {
        self.stats.clone()
    }

    /// Drops every compiled region (the counters and block copies are kept,
    /// so hot code is compiled again soon).
    fn drop_code(&mut self) {
        for s in &mut self.slots {
            s.region = None;
        }
        self.regions.clear();
        self.member_of.clear();
        self.code.reset();
        self.stats.flushes += 1;
    }

    /// Drops region `id`: its blocks are entered through it no more.
    fn drop_region(&mut self, id: u32) {
        if let Some(c) = self.regions.get_mut(id as usize).and_then(|r| r.take()) {
            for m in c.members {
                let s = &mut self.slots[m as usize];
                if s.region.is_some_and(|(r, _)| r == id) {
                    s.region = None;
                }
            }
        }
    }

    /// The block at `eip` as the engine has seen it (and its index), when
    /// its code is where the current translation says.
    fn block_at(&self, x: &mut Exec<'_>, g: &Guard, eip: u32) -> Option<u32> {
        if eip > g.cs_limit {
            return None;
        }
        let lin = g.cs_base.wrapping_add(eip);
        let phys = if g.paging {
            x.tlb.fetch(lin, g.cpl == 3)?
        } else {
            lin as u64
        };
        let key = decode_cache::key(x.mem.a20(phys), g.code32);
        let idx = *self.by_key.get(&key)?;
        let info = self.slots[idx as usize].info.as_ref()?;
        let end = eip.checked_add(info.len)?;
        if info.eip != eip || end - 1 > g.cs_limit || (!g.code32 && end > 0x10000) {
            return None;
        }
        if g.paging {
            let last = lin.wrapping_add(info.len - 1);
            if last & !0xFFF != lin & !0xFFF {
                x.tlb.fetch(last, g.cpl == 3)?;
            }
        }
        Some(idx)
    }

    /// The (linear page, physical page) pairs holding region blocks
    /// `members` under paging, as the TLB maps them now.
    fn pages_of(&self, x: &Exec<'_>, g: &Guard, members: &[u32]) -> Vec<(u32, u64)> {
        let mut v: Vec<(u32, u64)> = Vec::new();
        if !g.paging {
            return v;
        }
        for &m in members {
            let info = self.slots[m as usize].info.as_ref().unwrap();
            let lin = g.cs_base.wrapping_add(info.eip);
            let last = lin.wrapping_add(info.len.max(1) - 1);
            for l in [lin, last] {
                let page = l & !0xFFF;
                if v.iter().any(|&(p, _)| p == page) {
                    continue;
                }
                let phys = x.tlb.fetch(page, g.cpl == 3).unwrap_or(u64::MAX);
                v.push((page, phys));
            }
        }
        v
    }

    /// Whether region `c` may run now: same machine facts, and every page
    /// of it mapped as when it was compiled. A page missing from the TLB
    /// (evicted, or flushed by a CR3 load) is not known to be wrong:
    /// the region is only passed over until the interpreter, fetching
    /// from that page, brings its translation back.
    fn valid(c: &Compiled, x: &Exec<'_>, g: &Guard) -> Check {
        // Only the segments the region relies on need to be flat still.
        let g_used = Guard {
            flat: g.flat & c.guard.flat,
            ..*g
        };
        if c.guard != g_used {
            return Check::Bad;
        }
        let mut r = Check::Ok;
        for &(lin, phys) in &c.pages {
            match x.tlb.fetch(lin, g.cpl == 3) {
                Some(p) if p == phys => {}
                Some(_) => return Check::Bad,
                None => r = Check::Miss,
            }
        }
        r
    }

    /// Forms the region entered at block `idx` and compiles it.
    /// Returns false when the block cannot head a region now (a page of
    /// it is not in the TLB, so its mapping could not be checked).
    fn compile(&mut self, x: &mut Exec<'_>, idx: u32) -> Result<bool, JitError> {
        let t0 = Instant::now();
        let g = Guard::of(x);
        let eip = self.slots[idx as usize].info.as_ref().map_or(0, |i| i.eip);
        if self.block_at(x, &g, eip) != Some(idx) {
            return Ok(false);
        }
        let min_runs = if self.cfg.threshold <= 2 {
            1
        } else {
            (self.cfg.threshold / 2).max(2)
        };
        let mut members = vec![idx];
        let mut pos: HashMap<u32, usize> = HashMap::default();
        pos.insert(idx, 0);
        let mut ind_eips: Vec<u32> = Vec::new();
        let mut insns = 0usize;
        let mut k = 0;
        while k < members.len() {
            let info = self.slots[members[k] as usize]
                .info
                .as_ref()
                .expect("members are seen");
            insns += info.insns.len();
            let last = &info.insns[info.insns.len() - 1].i;
            let wrap = |v: u64| {
                if g.code32 {
                    v as u32
                } else {
                    v as u32 & 0xFFFF
                }
            };
            let next = wrap(last.next_ip());
            let target = wrap(last.near_branch_target());
            use iced_x86::FlowControl as F;
            let direct = matches!(
                last.op0_kind(),
                iced_x86::OpKind::NearBranch16 | iced_x86::OpKind::NearBranch32
            );
            let succ: Vec<u32> = match last.flow_control() {
                F::Next => vec![next],
                F::UnconditionalBranch if direct => vec![target],
                F::ConditionalBranch if direct => vec![target, next],
                F::Call if direct => {
                    ind_eips.push(next);
                    vec![target, next]
                }
                F::IndirectCall => {
                    ind_eips.push(next);
                    ind_eips.extend(&self.slots[members[k] as usize].ind_seen);
                    vec![next]
                }
                F::IndirectBranch | F::Return => {
                    ind_eips.extend(&self.slots[members[k] as usize].ind_seen);
                    vec![]
                }
                _ => vec![],
            };
            let succ: Vec<u32> = succ
                .into_iter()
                .chain(if k + 1 == members.len() {
                    ind_eips.clone()
                } else {
                    Vec::new()
                })
                .collect();
            for e in succ {
                if members.len() >= self.cfg.region_blocks || insns >= REGION_INSNS {
                    break;
                }
                let Some(j) = self.block_at(x, &g, e) else {
                    continue;
                };
                let s = &self.slots[j as usize];
                if pos.contains_key(&j) || s.runs < min_runs {
                    continue;
                }
                pos.insert(j, members.len());
                members.push(j);
            }
            k += 1;
        }
        let mut ind: Vec<usize> = Vec::new();
        for e in &ind_eips {
            if let Some(j) = self.block_at(x, &g, *e) {
                if let Some(&p) = pos.get(&j) {
                    if !ind.contains(&p) {
                        ind.push(p);
                    }
                }
            }
        }
        let copies: Vec<Box<[Decoded]>> = members
            .iter()
            .map(|&m| self.slots[m as usize].info.as_ref().unwrap().insns.clone())
            .collect();
        let region = Region {
            blocks: members
                .iter()
                .zip(&copies)
                .map(|(&m, c)| RBlock {
                    eip: self.slots[m as usize].info.as_ref().unwrap().eip,
                    insns: c,
                })
                .collect(),
            code32: g.code32,
            stack32: g.stack32,
            cs_limit: g.cs_limit,
            paging: g.paging,
            a20: g.a20,
            ind,
            cs_base: g.cs_base,
            flat: g.flat,
            slow: &self.slow,
        };
        if self.trace {
            eprintln!("jit: region {} guard {:x?}", self.regions.len(), g);
            for (k, c) in copies.iter().enumerate() {
                eprintln!("jit:  block {k}");
                for d in c.iter() {
                    eprintln!("jit:    {:08x} {}", d.i.ip32(), d.i);
                }
            }
        }
        self.cl.clear();
        let tr: Translated = translate(&mut self.cl.func, &mut self.fctx, &*self.isa, &region);
        if self.show_ir {
            eprintln!(
                "jit: IR of region {}:\n{}",
                self.regions.len(),
                self.cl.func.display()
            );
        }
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
                    .ok_or_else(|| JitError::Memory("region larger than the code cache".into()))?
            }
        };
        // SAFETY: `ptr` is the entry of a function Cranelift compiled with
        // this signature and the host's default calling convention.
        let f: BlockFn = unsafe { std::mem::transmute::<*const u8, BlockFn>(ptr) };
        let n_insns: usize = copies.iter().map(|c| c.len()).sum();
        let id = self.regions.len() as u32;
        for (p, &m) in members.iter().enumerate() {
            self.member_of.entry(m).or_default().push(id);
            let s = &mut self.slots[m as usize];
            s.region = Some((id, p as u32));
            s.compiles += 1;
        }
        self.stats.regions += 1;
        self.stats.blocks += members.len() as u64;
        self.stats.guest_insns += n_insns as u64;
        self.stats.inlined += tr.inlined as u64;
        self.stats.code_bytes += len as u64;
        let pages = self.pages_of(x, &g, &members);
        self.regions.push(Some(Box::new(Compiled {
            f,
            guard: Guard {
                flat: tr.flat_used,
                ..g
            },
            pages,
            members,
            _insns: copies,
            ind_misses: 0,
            ind_new: 0,
            exits: 0,
        })));
        self.stats.compile_time += t0.elapsed();
        Ok(true)
    }

    /// Runs region `id` from its block `pos`: returns its exit code.
    fn enter(&mut self, x: &mut Exec<'_>, (id, pos): (u32, u32)) -> u64 {
        let c = self.regions[id as usize]
            .as_ref()
            .expect("entered regions are compiled");
        let ctx = &mut *self.ctx;
        ctx.lf_ks = 0;
        let f = c.f;
        let st: *mut CpuState = &mut *x.s;
        ctx.exec = x as *mut Exec<'_> as *mut c_void;
        // SAFETY: generated code only touches the state through `st`, the
        // context, and guest RAM within its bounds; helpers reach the rest
        // through `ctx.exec`, which stays valid for the call.
        let code = unsafe { f(ctx, st, pos) };
        ctx.exec = std::ptr::null_mut();
        // SAFETY: the call has returned; `st` is `x.s`.
        ctx.settle_flags(unsafe { &mut (*st).eflags });
        if let Some(p) = ctx.panic.take() {
            std::panic::resume_unwind(p);
        }
        code
    }

    /// The compiled region the dispatcher would run next, when the engine
    /// may go on to it directly.
    fn successor(&mut self, x: &mut Exec<'_>) -> Option<(u32, u32)> {
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
        let g = Guard::of(x);
        let idx = self.block_at(x, &g, x.s.eip)?;
        let r = self.slots[idx as usize].region?;
        let c = self.regions[r.0 as usize].as_ref()?;
        (Self::valid(c, x, &g) == Check::Ok).then_some(r)
    }

    /// Notes an exit of region `id` (at an indirect branch of its block
    /// `pos` when `ind`); drops it for a recompile when it keeps leaving
    /// (new hot blocks, new indirect targets).
    fn note_exit(&mut self, id: u32, ind: Option<usize>, target: u32) {
        let Some(c) = self.regions[id as usize].as_mut() else {
            return;
        };
        let again = match ind {
            Some(pos) => {
                c.ind_misses += 1;
                let src = c.members.get(pos).copied();
                let misses = c.ind_misses;
                let mut new = c.ind_new;
                if let Some(src) = src {
                    let seen = &mut self.slots[src as usize].ind_seen;
                    if !seen.contains(&target) && seen.len() < MAX_IND {
                        seen.push(target);
                        new += 1;
                    }
                }
                let c = self.regions[id as usize].as_mut().unwrap();
                c.ind_new = new;
                new > 0 && misses.is_multiple_of(64)
            }
            None => {
                c.exits += 1;
                c.exits == 4096
            }
        };
        if again {
            let c = self.regions[id as usize].as_ref().unwrap();
            if c.members
                .iter()
                .all(|&m| self.slots[m as usize].compiles < MAX_COMPILES)
            {
                self.drop_region(id);
                self.stats.recompiles += 1;
            }
        }
    }

    /// Notes an exit of region `id` before the instruction at linear
    /// address `lin`, whose memory access missed the fast path: once it
    /// keeps doing so, the instruction is compiled with helper calls and
    /// the region dropped to be compiled again.
    fn note_slow(&mut self, id: u32, lin: u32) {
        let marked = if self.slow.contains(&lin) {
            // Compiled before the instruction was marked.
            true
        } else {
            let n = self.slow_exits.entry(lin).or_insert(0);
            *n += 1;
            if *n >= SLOW_EXITS {
                self.slow.insert(lin);
                true
            } else {
                false
            }
        };
        if marked {
            self.drop_region(id);
            self.stats.recompiles += 1;
        }
    }

    fn reset_slot(&mut self, idx: u32) {
        let i = idx as usize;
        if let Some(info) = self.slots[i].info.take() {
            if self.by_key.get(&info.key) == Some(&idx) {
                self.by_key.remove(&info.key);
            }
        }
        if let Some(list) = self.member_of.remove(&idx) {
            for id in list {
                let has = self.regions[id as usize]
                    .as_ref()
                    .is_some_and(|c| c.members.contains(&idx));
                if has {
                    self.drop_region(id);
                }
            }
        }
        self.slots[i] = Slot::default();
    }
}

/// A copy of a decoded block's instructions as they are at `eip`.
///
/// The decode cache keys blocks by physical address (and code size), so
/// one block serves every linear address its page is seen at — code run
/// at its physical address before paging is enabled and at its virtual
/// address after, or real-mode code reached through another CS base.
/// Its instructions keep the IP they were decoded at, which the
/// interpreter never relies on (it only uses target - IP). Generated code
/// bakes EIPs in (exits, return addresses, branch targets, the block
/// links of a region), so the copy is moved to where it runs now.
fn rebase(insns: &[Decoded], eip: u32) -> Box<[Decoded]> {
    let mut v: Box<[Decoded]> = insns.into();
    let Some(ip0) = v.first().map(|d| d.i.ip32()) else {
        return v;
    };
    let delta = eip.wrapping_sub(ip0);
    if delta == 0 {
        return v;
    }
    for d in v.iter_mut() {
        let i = &mut d.i;
        let ip = i.ip32().wrapping_add(delta);
        i.set_next_ip32(ip.wrapping_add(i.len() as u32));
        for k in 0..i.op_count() {
            match i.op_kind(k) {
                iced_x86::OpKind::NearBranch16 => {
                    let t = (i.near_branch16() as u32).wrapping_add(delta);
                    i.set_near_branch16(t as u16);
                }
                iced_x86::OpKind::NearBranch32 => {
                    let t = i.near_branch32().wrapping_add(delta);
                    i.set_near_branch32(t);
                }
                _ => {}
            }
        }
    }
    v
}

/// The outcome of [`Jit::valid`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Check {
    Ok,
    /// Some page of the region is not in the TLB: do not run it now.
    Miss,
    /// Compiled under other facts or another mapping: drop it.
    Bad,
}

impl BlockEngine for Jit {
    fn run_block(&mut self, x: &mut Exec<'_>, idx: u32, block: &Block) -> BlockRun {
        let i = idx as usize;
        if i >= self.slots.len() {
            self.slots.resize_with(i + 1, Slot::default);
        }
        let key = decode_cache::key(block.start, x.s.code32());
        // A slot reused for another block without a flush notice (the
        // decode cache cleared by a CPU reset): start over.
        let stale = match &self.slots[i].info {
            Some(info) => {
                info.key != key
                    || info.len != block.len
                    || info.insns.len() != block.insns.len()
                    || info.eip != x.s.eip
            }
            None => true,
        };
        if stale {
            self.reset_slot(idx);
            self.slots[i].info = Some(Box::new(Info {
                key,
                len: block.len,
                eip: x.s.eip,
                insns: rebase(&block.insns, x.s.eip),
            }));
            self.by_key.insert(key, idx);
        }
        if let Some(t) = self.stats_at {
            if t.elapsed() > Duration::from_secs(5) {
                eprintln!("{}", self.stats);
                self.stats_at = Some(Instant::now());
            }
        }
        let g = Guard::of(x);
        self.slots[i].runs = self.slots[i].runs.saturating_add(1);
        if let Some((id, _)) = self.slots[i].region {
            let check = self.regions[id as usize]
                .as_ref()
                .map_or(Check::Bad, |c| Self::valid(c, x, &g));
            match check {
                Check::Ok => {}
                Check::Miss => {
                    self.stats.declined += 1;
                    return BlockRun::Declined;
                }
                Check::Bad => {
                    self.drop_region(id);
                    self.slots[i].region = None;
                }
            }
        }
        let slot = &mut self.slots[i];
        if slot.region.is_none() {
            if slot.failed || slot.runs < self.cfg.threshold {
                self.stats.declined += 1;
                return BlockRun::Declined;
            }
            match self.compile(x, idx) {
                Ok(true) => {}
                Ok(false) => {
                    self.stats.declined += 1;
                    return BlockRun::Declined;
                }
                Err(_e) => {
                    self.slots[i].failed = true;
                    self.stats.failures += 1;
                    self.stats.declined += 1;
                    return BlockRun::Declined;
                }
            }
        }
        // Machine facts generated code reads; helpers that could change
        // them (A20 through port I/O, CR0, CS) end the region.
        let ctx = &mut *self.ctx;
        ctx.ram = x.mem.ram().as_ptr();
        ctx.ram_size = x.mem.ram_size();
        ctx.a20_mask = if x.mem.a20_enabled() {
            u64::MAX
        } else {
            !(1u64 << 20)
        };
        ctx.tlb = x.tlb.sets.as_ptr() as *const u8;
        ctx.code_pages = x.mem.code_page_flags();
        let mut total = 0u64;
        // TSC already advanced for chained regions, taken back at the end
        // (the dispatcher adds the whole count).
        let mut advanced = 0u64;
        let mut cur = self.slots[i].region.expect("compiled above");
        let limit = self.cfg.chain_limit.max(1) as u64;
        let result = loop {
            self.stats.hits += 1;
            self.ctx.budget = (limit - total.min(limit)).max(1) as u32;
            let pre = (x.s.eip, x.s.cr0, x.s.gpr[ESP]);
            let code = self.enter(x, cur);
            let retired = code & 0xFFFF_FFFF;
            total += retired;
            if self.trace {
                eprintln!(
                    "jit: run {}@{} eip {:08x} esp {:08x} cr0 {:08x} -> eip {:08x} esp {:08x} status {:x} retired {}",
                    cur.0, cur.1, pre.0, pre.2, pre.1, x.s.eip, x.s.gpr[ESP], code >> 32, retired
                );
            }
            if let Some(d) = self.debug.as_mut() {
                let c = self.regions[cur.0 as usize].as_ref().unwrap();
                let m = c.members[cur.1 as usize];
                let e = self.slots[m as usize].info.as_ref().map_or(0, |i| i.eip);
                *d.entry((e, x.s.eip, (code >> 32) & 0xFF)).or_insert(0) += 1;
            }
            match (code >> 32) & 0xFF {
                ST_NORMAL => self.note_exit(cur.0, None, 0),
                ST_SLOW => self.note_slow(cur.0, x.s.seg[CS].base.wrapping_add(x.s.eip)),
                ST_IND => self.note_exit(cur.0, Some((code >> 40) as usize), x.s.eip),
                ST_FAULT | ST_PANIC => {
                    break Err(self.ctx.exc.take().unwrap_or(Exception::Unimplemented))
                }
                ST_GP0 => break Err(Exception::gp0()),
                ST_DE => break Err(Exception::de()),
                _ => break Ok(()),
            }
            if total >= limit {
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
        if (idx as usize) < self.slots.len() {
            if self.member_of.contains_key(&idx) {
                self.stats.invalidations += 1;
            }
            self.reset_slot(idx);
        }
    }

    fn flush(&mut self) {
        self.slots.clear();
        self.by_key.clear();
        self.regions.clear();
        self.member_of.clear();
        self.code.reset();
        self.stats.flushes += 1;
    }
}
