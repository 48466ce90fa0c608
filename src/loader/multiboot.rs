//! Multiboot v1 (the Multiboot Specification 0.6.96): ELF kernels and the
//! a.out kludge, modules from the `-initrd` list, the multiboot information
//! structure (mbi), entered in 32-bit protected mode by the boot stub.
//!
//! Low-memory layout (all below 64 KiB, so the real-mode stub reaches it):
//!
//! | address | holds |
//! | --- | --- |
//! | below 0x7C00 | the kernel's initial stack (ESP = 0x7C00) |
//! | 0x7C00 | the boot stub and its GDT |
//! | 0x8000 | the mbi |
//! | 0x8080 | the mmap: [`MMAP_MAX`] entries, refilled from E820 by the stub |
//! | 0x8380 | strings (command line, module strings, loader name), module list |
//!
//! The kernel's segments go where its headers say, from 1 MiB up; the
//! modules follow the kernel, each page-aligned.

use super::{
    align_up, bios_e820, low_ram_top, mib_ceil, size_str, stub, BootPlan, Chunk, Kind, LoadError,
    Module, MIB, STUB_ADDR, TOP_RESERVE,
};

pub(super) const MAGIC: u32 = 0x1BAD_B002;
/// EAX at the kernel's entry.
pub(super) const BOOTLOADER_MAGIC: u32 = 0x2BAD_B002;
/// The header must lie (32-bit aligned) within this many bytes of the file.
const SEARCH: usize = 8192;

pub(super) const MBI_ADDR: u64 = 0x8000;
const MBI_SIZE: u64 = 0x80;
pub(super) const MMAP_ADDR: u64 = MBI_ADDR + MBI_SIZE;
pub(super) const MMAP_MAX: u16 = 32;
const STRINGS_ADDR: u64 = MMAP_ADDR + 24 * MMAP_MAX as u64;
/// The low-memory area ends here (the EBDA is at 0x9FC00; keep a margin).
const LOW_END: u64 = 0x9F000;
pub(super) const KERNEL_STACK: u64 = STUB_ADDR;

/// Header flag bits (the low 16 are requirements a loader must meet).
pub(super) mod flag {
    pub const PAGE_ALIGN: u32 = 1 << 0;
    pub const MEMORY_INFO: u32 = 1 << 1;
    pub const VIDEO_MODE: u32 = 1 << 2;
    pub const AOUT_KLUDGE: u32 = 1 << 16;
}

/// mbi flag bits and field offsets.
pub(super) mod mbi {
    pub const F_MEM: u32 = 1 << 0;
    pub const F_CMDLINE: u32 = 1 << 2;
    pub const F_MODS: u32 = 1 << 3;
    pub const F_MMAP: u32 = 1 << 6;
    pub const F_LOADER_NAME: u32 = 1 << 9;
    pub const FLAGS: usize = 0;
    pub const MEM_LOWER: usize = 4;
    pub const MEM_UPPER: usize = 8;
    pub const CMDLINE: usize = 16;
    pub const MODS_COUNT: usize = 20;
    pub const MODS_ADDR: usize = 24;
    pub const MMAP_LENGTH: usize = 44;
    pub const MMAP_ADDR: usize = 48;
    pub const LOADER_NAME: usize = 64;
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Header {
    pub offset: usize,
    pub flags: u32,
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Offsets of the magic in the search window.
fn magic_offsets(image: &[u8]) -> impl Iterator<Item = usize> + '_ {
    (0..image.len().min(SEARCH))
        .step_by(4)
        .filter(move |&o| u32_at(image, o) == Some(MAGIC))
}

/// The first multiboot header with a valid checksum in the first 8 KiB.
pub(super) fn find_header(image: &[u8]) -> Option<Header> {
    magic_offsets(image).find_map(|offset| {
        let flags = u32_at(image, offset + 4)?;
        let checksum = u32_at(image, offset + 8)?;
        (MAGIC.wrapping_add(flags).wrapping_add(checksum) == 0).then_some(Header { offset, flags })
    })
}

/// Offset of a multiboot magic whose header has a bad checksum (for the
/// error message when no valid header exists).
pub(super) fn bad_checksum_header(image: &[u8]) -> Option<usize> {
    magic_offsets(image).next()
}

/// A piece of the kernel: bytes from the file at a physical address,
/// followed by zeroes up to `mem_len`.
struct Segment<'a> {
    addr: u64,
    data: &'a [u8],
    mem_len: u64,
}

fn err(msg: impl Into<String>) -> LoadError {
    LoadError::Multiboot(msg.into())
}

/// Segments and entry point from the a.out kludge address fields.
fn aout_segments<'a>(image: &'a [u8], h: &Header) -> Result<(Vec<Segment<'a>>, u64), LoadError> {
    let field = |i: usize| {
        u32_at(image, h.offset + 12 + 4 * i)
            .map(u64::from)
            .ok_or_else(|| {
                LoadError::Truncated("the multiboot header's address fields are cut off".into())
            })
    };
    let (header_addr, load_addr, load_end, bss_end, entry) =
        (field(0)?, field(1)?, field(2)?, field(3)?, field(4)?);
    if header_addr < load_addr {
        return Err(err(format!(
            "multiboot header_addr {header_addr:#x} is below load_addr {load_addr:#x}"
        )));
    }
    let file_start = (h.offset as u64).checked_sub(header_addr - load_addr).ok_or_else(|| {
        err(format!(
            "multiboot load_addr {load_addr:#x} would start before the file (header_addr {header_addr:#x}, header at offset {:#x})",
            h.offset
        ))
    })?;
    let load_len = if load_end == 0 {
        image.len() as u64 - file_start
    } else if load_end < header_addr {
        return Err(err(format!(
            "multiboot load_end_addr {load_end:#x} is below header_addr {header_addr:#x}"
        )));
    } else {
        load_end - load_addr
    };
    if file_start + load_len > image.len() as u64 {
        return Err(LoadError::Truncated(format!(
            "the multiboot header asks for {load_len} bytes from offset {file_start:#x}, the file has {}",
            image.len()
        )));
    }
    let mem_len = if bss_end == 0 {
        load_len
    } else if bss_end < load_addr + load_len {
        return Err(err(format!(
            "multiboot bss_end_addr {bss_end:#x} is below the end of the loaded image {:#x}",
            load_addr + load_len
        )));
    } else {
        bss_end - load_addr
    };
    let data = &image[file_start as usize..(file_start + load_len) as usize];
    Ok((
        vec![Segment {
            addr: load_addr,
            data,
            mem_len,
        }],
        entry,
    ))
}

/// Segments (PT_LOAD at their physical addresses) and entry point of an ELF
/// kernel. An entry point inside a segment whose virtual and physical
/// addresses differ is translated to the physical one (a higher-half
/// kernel's e_entry is often virtual).
fn elf_segments(image: &[u8]) -> Result<(Vec<Segment<'_>>, u64), LoadError> {
    use elf::abi::{EM_386, PT_LOAD};
    use elf::endian::LittleEndian;
    use elf::file::Class;
    if !image.starts_with(b"\x7FELF") {
        return Err(err(
            "the multiboot header has no a.out kludge (flag bit 16) and the file is not ELF",
        ));
    }
    let elf64 = err(
        "a 64-bit ELF multiboot kernel: multiboot v1 loads 32-bit ELF (or use the a.out kludge)",
    );
    if image.get(4) == Some(&elf::abi::ELFCLASS64) {
        return Err(elf64);
    }
    let f = elf::ElfBytes::<LittleEndian>::minimal_parse(image)
        .map_err(|e| err(format!("bad ELF file: {e}")))?;
    if f.ehdr.class != Class::ELF32 {
        return Err(elf64);
    }
    if f.ehdr.e_machine != EM_386 {
        return Err(err(format!(
            "the ELF file is for machine {}, not i386",
            f.ehdr.e_machine
        )));
    }
    let phdrs = f
        .segments()
        .ok_or_else(|| err("the ELF file has no program headers"))?;
    let mut segs = Vec::new();
    let mut entry = f.ehdr.e_entry;
    let mut translated = false;
    for ph in phdrs
        .iter()
        .filter(|p| p.p_type == PT_LOAD && p.p_memsz > 0)
    {
        if ph.p_filesz > ph.p_memsz {
            return Err(err(format!(
                "ELF segment at {:#x}: file size {:#x} exceeds memory size {:#x}",
                ph.p_paddr, ph.p_filesz, ph.p_memsz
            )));
        }
        let start = ph.p_offset;
        let end = start
            .checked_add(ph.p_filesz)
            .filter(|&e| e <= image.len() as u64)
            .ok_or_else(|| {
                LoadError::Truncated(format!(
                    "ELF segment at {:#x} needs file bytes {start:#x}..{:#x}, the file has {:#x}",
                    ph.p_paddr,
                    start.saturating_add(ph.p_filesz),
                    image.len()
                ))
            })?;
        if !translated
            && ph.p_vaddr != ph.p_paddr
            && (ph.p_vaddr..ph.p_vaddr + ph.p_memsz).contains(&f.ehdr.e_entry)
        {
            entry = f.ehdr.e_entry - ph.p_vaddr + ph.p_paddr;
            translated = true;
        }
        segs.push(Segment {
            addr: ph.p_paddr,
            data: &image[start as usize..end as usize],
            mem_len: ph.p_memsz,
        });
    }
    if segs.is_empty() {
        return Err(err("the ELF file has no loadable segment"));
    }
    Ok((segs, entry))
}

/// Bump allocator for the low-memory strings and tables.
struct Low {
    bytes: Vec<u8>,
}

impl Low {
    fn at(&self) -> u64 {
        MBI_ADDR + self.bytes.len() as u64
    }
    fn align(&mut self, a: u64) {
        let n = align_up(self.at(), a) - MBI_ADDR;
        self.bytes.resize(n as usize, 0);
    }
    fn push(&mut self, data: &[u8]) -> u32 {
        let a = self.at() as u32;
        self.bytes.extend_from_slice(data);
        a
    }
    fn string(&mut self, s: &str) -> u32 {
        let a = self.push(s.as_bytes());
        self.bytes.push(0);
        a
    }
    fn put32(&mut self, addr: u64, v: u32) {
        let o = (addr - MBI_ADDR) as usize;
        self.bytes[o..o + 4].copy_from_slice(&v.to_le_bytes());
    }
}

pub(super) fn prepare(
    image: &[u8],
    kernel_name: &str,
    modules: &[Module],
    cmdline: &str,
    ram_size: u64,
) -> Result<BootPlan, LoadError> {
    let h = find_header(image).expect("detect() found the header");
    let unsupported = h.flags & 0xFFFF & !(flag::PAGE_ALIGN | flag::MEMORY_INFO | flag::VIDEO_MODE);
    if unsupported != 0 {
        return Err(err(format!(
            "the multiboot header requires features crane86 does not provide (flags {:#x}, unknown bits {unsupported:#x})",
            h.flags
        )));
    }
    let (aout, (segs, entry)) = if h.flags & flag::AOUT_KLUDGE != 0 {
        (true, aout_segments(image, &h)?)
    } else {
        (false, elf_segments(image)?)
    };

    let limit = low_ram_top(ram_size).saturating_sub(TOP_RESERVE);
    let mut kernel_end = 0;
    for s in &segs {
        let end = s.addr + s.mem_len;
        if s.addr < MIB {
            return Err(err(format!(
                "the kernel has a segment at {:#x}, below 1 MiB: crane86 loads multiboot kernels from 1 MiB up",
                s.addr
            )));
        }
        if end > 1 << 32 {
            return Err(err(format!(
                "the kernel has a segment at {:#x}..{end:#x}, beyond 4 GiB",
                s.addr
            )));
        }
        kernel_end = kernel_end.max(end);
    }
    if kernel_end > limit {
        return Err(LoadError::RamTooSmall {
            what: format!(
                "it loads up to {kernel_end:#x}, and crane86 keeps the top {} MiB for the BIOS",
                TOP_RESERVE / MIB
            ),
            need_mib: mib_ceil(kernel_end + TOP_RESERVE),
            have_mib: ram_size / MIB,
        });
    }
    if !segs
        .iter()
        .any(|s| (s.addr..s.addr + s.mem_len).contains(&entry))
    {
        return Err(err(format!(
            "the entry point {entry:#x} is outside the loaded kernel"
        )));
    }

    // Modules after the kernel, page-aligned.
    let mut mod_addrs = Vec::new();
    let mut at = align_up(kernel_end, 4096);
    for m in modules {
        let len = m.data.len() as u64;
        if at + len > limit {
            let room = limit.saturating_sub(at);
            return Err(LoadError::InitrdTooLarge {
                what: format!("module '{}'", m.cmdline),
                size: len,
                room,
                where_: format!("after the kernel and earlier modules, below {limit:#x}"),
            });
        }
        mod_addrs.push(at);
        at = align_up(at + len, 4096);
    }

    // The mbi, the mmap, strings and the module list in low memory.
    let map = bios_e820(ram_size);
    let mut low = Low {
        bytes: vec![0; (STRINGS_ADDR - MBI_ADDR) as usize],
    };
    for (i, e) in map.iter().take(MMAP_MAX as usize).enumerate() {
        let o = MMAP_ADDR - MBI_ADDR + 24 * i as u64;
        let o = o as usize;
        low.bytes[o..o + 4].copy_from_slice(&20u32.to_le_bytes());
        low.bytes[o + 4..o + 12].copy_from_slice(&e.base.to_le_bytes());
        low.bytes[o + 12..o + 20].copy_from_slice(&e.len.to_le_bytes());
        low.bytes[o + 20..o + 24].copy_from_slice(&e.kind.to_le_bytes());
    }
    let full_cmdline = if cmdline.is_empty() {
        kernel_name.to_string()
    } else {
        format!("{kernel_name} {cmdline}")
    };
    let cmdline_addr = low.string(&full_cmdline);
    let loader_name = low.string("crane86");
    let strings: Vec<u32> = modules.iter().map(|m| low.string(&m.cmdline)).collect();
    low.align(16);
    let mods_addr = low.at() as u32;
    for (m, (&addr, &s)) in modules.iter().zip(mod_addrs.iter().zip(&strings)) {
        low.push(&(addr as u32).to_le_bytes());
        low.push(&((addr + m.data.len() as u64) as u32).to_le_bytes());
        low.push(&s.to_le_bytes());
        low.push(&0u32.to_le_bytes());
    }
    if low.at() > LOW_END {
        return Err(LoadError::CmdlineTooLong {
            len: cmdline.len(),
            limit: format!(
                "with the module names it needs {} bytes below 640 KiB, crane86 has {}",
                low.at() - STRINGS_ADDR,
                LOW_END - STRINGS_ADDR
            ),
        });
    }
    let mem_upper = (low_ram_top(ram_size) - MIB) / 1024;
    let mb = |o: usize| MBI_ADDR + o as u64;
    low.put32(
        mb(mbi::FLAGS),
        mbi::F_MEM | mbi::F_CMDLINE | mbi::F_MODS | mbi::F_MMAP | mbi::F_LOADER_NAME,
    );
    low.put32(mb(mbi::MEM_LOWER), (map[0].len / 1024) as u32);
    low.put32(mb(mbi::MEM_UPPER), mem_upper as u32);
    low.put32(mb(mbi::CMDLINE), cmdline_addr);
    low.put32(mb(mbi::MODS_COUNT), modules.len() as u32);
    low.put32(mb(mbi::MODS_ADDR), mods_addr);
    low.put32(
        mb(mbi::MMAP_LENGTH),
        24 * map.len().min(MMAP_MAX as usize) as u32,
    );
    low.put32(mb(mbi::MMAP_ADDR), MMAP_ADDR as u32);
    low.put32(mb(mbi::LOADER_NAME), loader_name);

    let stub = stub::multiboot(&stub::MultibootStub {
        mbi: MBI_ADDR as u32,
        mmap: MMAP_ADDR as u32,
        mmap_max: MMAP_MAX,
        stack: KERNEL_STACK as u32,
        entry: entry as u32,
    });
    debug_assert!(STUB_ADDR + stub.len() as u64 <= MBI_ADDR);

    let summary = format!(
        "multiboot {} kernel (header at {:#x}): {} in {} segment{} at {:#x}..{:#x}, entry {:#x}, {} module{}, command line {} bytes",
        if aout { "a.out-kludge" } else { "ELF" },
        h.offset,
        size_str(segs.iter().map(|s| s.mem_len).sum()),
        segs.len(),
        if segs.len() == 1 { "" } else { "s" },
        segs.iter().map(|s| s.addr).min().unwrap_or(0),
        kernel_end,
        entry,
        modules.len(),
        if modules.len() == 1 { "" } else { "s" },
        cmdline.len()
    );
    let mut chunks = vec![
        Chunk::Data {
            addr: STUB_ADDR,
            bytes: stub,
        },
        Chunk::Data {
            addr: MBI_ADDR,
            bytes: low.bytes,
        },
    ];
    for s in &segs {
        chunks.push(Chunk::Data {
            addr: s.addr,
            bytes: s.data.to_vec(),
        });
        let filled = s.data.len() as u64;
        if s.mem_len > filled {
            chunks.push(Chunk::Zero {
                addr: s.addr + filled,
                len: s.mem_len - filled,
            });
        }
    }
    for (m, &addr) in modules.iter().zip(&mod_addrs) {
        chunks.push(Chunk::Data {
            addr,
            bytes: m.data.clone(),
        });
    }
    Ok(BootPlan {
        kind: Kind::Multiboot,
        chunks,
        summary,
    })
}
