//! Loader tests with synthetic kernels: what lands in RAM, in the Linux
//! setup header and in the multiboot information structure, and the boot
//! stubs run on crane86's interpreter up to the kernel's first instruction.

use super::linux::{hdr, CMDLINE_ADDR, HEAP_END, KERNEL_ADDR, SETUP_ADDR, SETUP_SEG};
use super::multiboot::{self, flag, mbi, BOOTLOADER_MAGIC, KERNEL_STACK, MBI_ADDR, MMAP_ADDR};
use super::*;
use crane86_cpu::state::{self, ar, SegReg};
use crane86_cpu::{Cpu, Exit, Platform};

const RAM: u64 = 64 * MIB;

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn get16(b: &[u8], at: u64) -> u16 {
    u16::from_le_bytes(b[at as usize..at as usize + 2].try_into().unwrap())
}
fn get32(b: &[u8], at: u64) -> u32 {
    u32::from_le_bytes(b[at as usize..at as usize + 4].try_into().unwrap())
}
fn get64(b: &[u8], at: u64) -> u64 {
    u64::from_le_bytes(b[at as usize..at as usize + 8].try_into().unwrap())
}
fn cstr(b: &[u8], at: u64) -> String {
    let s = &b[at as usize..];
    String::from_utf8(s[..s.iter().position(|&c| c == 0).unwrap()].to_vec()).unwrap()
}

fn new_mem(ram: u64) -> PhysMem {
    PhysMem::new(ram, &[0xF4; 0x10000]).unwrap()
}

/// prepare + apply, with the RAM's size.
fn load(
    mem: &mut PhysMem,
    kernel: &[u8],
    name: &str,
    initrds: &[Module],
    cmdline: &str,
) -> Result<BootPlan, LoadError> {
    let plan = prepare(kernel, name, initrds, cmdline, mem.ram_size())?;
    plan.apply(mem);
    Ok(plan)
}

fn module(cmdline: &str, data: Vec<u8>) -> Module {
    Module {
        cmdline: cmdline.into(),
        data,
    }
}

/// A minimal bzImage: boot sector + `setup_sects` sectors of setup code
/// (HLT at 0x200, the real-mode entry) and a patterned protected-mode part.
fn fake_bzimage(protocol: u16, setup_sects: u8, pm_len: usize) -> Vec<u8> {
    let sects = if setup_sects == 0 {
        4
    } else {
        setup_sects as usize
    };
    let setup_len = (sects + 1) * 512;
    let mut img = vec![0u8; setup_len + pm_len];
    img[hdr::SETUP_SECTS] = setup_sects;
    put32(&mut img, hdr::SYSSIZE, (pm_len / 16) as u32);
    put16(&mut img, hdr::BOOT_FLAG, 0xAA55);
    img[0x200] = 0xF4; // the setup entry: HLT
    img[hdr::HEADER..hdr::HEADER + 4].copy_from_slice(b"HdrS");
    put16(&mut img, hdr::VERSION, protocol);
    img[hdr::LOADFLAGS] = hdr::LOADED_HIGH;
    put32(&mut img, hdr::INITRD_ADDR_MAX, 0x7FFF_FFFF);
    img[hdr::RELOCATABLE_KERNEL] = 1;
    put32(&mut img, hdr::CMDLINE_SIZE, 2047);
    img[hdr::PREF_ADDRESS..hdr::PREF_ADDRESS + 8].copy_from_slice(&0x100_0000u64.to_le_bytes());
    put32(&mut img, hdr::INIT_SIZE, 0x80_0000);
    for (i, b) in img[setup_len..].iter_mut().enumerate() {
        *b = (i * 7 + 3) as u8;
    }
    img
}

// ---- running a stub on the interpreter ----------------------------------

/// Just enough board for the stubs: port 0x92 (A20) and nothing else.
#[derive(Default)]
struct Bus {
    port92: u8,
    a20: Option<bool>,
}

impl Platform for Bus {
    fn io_read(&mut self, port: u16, _size: u8) -> u32 {
        if port == 0x92 {
            u32::from(self.port92)
        } else {
            0xFFFF_FFFF
        }
    }
    fn io_write(&mut self, port: u16, _size: u8, value: u32) {
        if port == 0x92 {
            self.port92 = value as u8;
            self.a20 = Some(value & 2 != 0);
        }
    }
    fn interrupt_pending(&mut self) -> bool {
        false
    }
    fn acknowledge_interrupt(&mut self) -> u8 {
        8
    }
    fn take_a20_change(&mut self) -> Option<bool> {
        self.a20.take()
    }
}

/// INT 15h handler that fails every call (CF set): no E820.
const INT15_FAIL: &[u8] = &[0xF9, 0xCA, 0x02, 0x00]; // stc; retf 2

/// INT 15h E820 handler that reports one entry (base 0, 0x1234000 bytes,
/// usable) and says it was the last.
fn int15_one_entry() -> Vec<u8> {
    let mut c = Vec::new();
    // mov dword [es:di+k], v
    for (k, v) in [(0u8, 0u32), (4, 0), (8, 0x123_4000), (12, 0), (16, 1)] {
        c.extend_from_slice(&[0x26, 0x66, 0xC7, 0x45, k]);
        c.extend_from_slice(&v.to_le_bytes());
    }
    c.extend_from_slice(&[0x66, 0xB8, 0x50, 0x41, 0x4D, 0x53]); // mov eax, 'SMAP'
    c.extend_from_slice(&[0x66, 0x31, 0xDB]); // xor ebx, ebx
    c.push(0xF8); // clc
    c.extend_from_slice(&[0xCA, 0x02, 0x00]); // retf 2
    c
}

/// Starts the CPU at 0000:7C00 in real mode as INT 19h leaves it (DL = 80h,
/// interrupts on) with `int15` as the INT 15h handler, and runs to the
/// first HLT (the fake kernels' entry).
fn run_stub(mem: &mut PhysMem, int15: &[u8]) -> Cpu {
    const HANDLER: u64 = 0x600;
    mem.write_ram(HANDLER, int15);
    mem.write_ram(
        0x15 * 4,
        &[(HANDLER & 0xFF) as u8, (HANDLER >> 8) as u8, 0, 0],
    );
    let mut cpu = Cpu::new();
    cpu.s.seg[state::CS] = SegReg {
        selector: 0,
        base: 0,
        limit: 0xFFFF,
        ar: ar::P | ar::S | ar::CODE | ar::RW | ar::ACCESSED,
    };
    cpu.s.eip = STUB_ADDR as u32;
    cpu.s.gpr[state::EDX] = 0x80;
    cpu.s.gpr[state::ESP] = 0x7C00;
    cpu.s.eflags |= state::flags::IF;
    let mut bus = Bus::default();
    for _ in 0..1000 {
        match cpu.run(mem, &mut bus, 10_000) {
            Exit::Halted => return cpu,
            Exit::Yield => {}
            other => panic!(
                "stub stopped with {other:?} at {:04x}:{:08x}",
                cpu.s.seg[state::CS].selector,
                cpu.s.eip
            ),
        }
    }
    panic!("the stub did not reach the kernel");
}

// ---- detection and errors ------------------------------------------------

#[test]
fn detects_kinds() {
    assert_eq!(
        detect(&fake_bzimage(0x020F, 4, 4096)),
        Kind::Linux { protocol: 0x020F }
    );
    let mb = aout_kernel(0x40, flag::AOUT_KLUDGE);
    assert_eq!(detect(&mb), Kind::Multiboot);
    assert_eq!(detect(&[0u8; 10000]), Kind::Unknown);
    assert_eq!(detect(&[]), Kind::Unknown);
    // The magic past the first 8 KiB does not count.
    let mut far = vec![0u8; 0x2100];
    far[0x2000..0x200C].copy_from_slice(&aout_kernel(0, flag::AOUT_KLUDGE)[..12]);
    assert_eq!(detect(&far), Kind::Unknown);
}

#[test]
fn rejects_what_is_not_a_kernel() {
    let e = prepare(&[0x90; 5000], "k", &[], "", RAM).unwrap_err();
    assert!(matches!(e, LoadError::NotAKernel(_)));
    assert!(
        e.to_string()
            .starts_with("-kernel: not a Linux bzImage or multiboot kernel"),
        "{e}"
    );

    let e = prepare(&[], "k", &[], "", RAM).unwrap_err();
    assert!(e.to_string().contains("empty"), "{e}");

    let elf = minimal_elf(0x20_0000, 0x20_0000, 0x20_0000, &[0xF4], 1, None);
    let e = prepare(&elf, "vmlinux", &[], "", RAM).unwrap_err();
    assert!(e.to_string().contains("vmlinux"), "{e}");

    let mut bad = aout_kernel(0x40, flag::AOUT_KLUDGE);
    bad[0x48] ^= 1; // checksum
    let e = prepare(&bad, "k", &[], "", RAM).unwrap_err();
    assert!(e.to_string().contains("bad checksum"), "{e}");

    let mut sector = vec![0u8; 512];
    sector[510] = 0x55;
    sector[511] = 0xAA;
    let e = prepare(&sector, "k", &[], "", RAM).unwrap_err();
    assert!(e.to_string().contains("-hda"), "{e}");
}

// ---- Linux ----------------------------------------------------------------

#[test]
fn linux_layout_and_header() {
    let img = fake_bzimage(0x020F, 0, 0x3000);
    let initrd = module("initrd.img", (0..10_000u32).map(|i| i as u8).collect());
    let mut mem = new_mem(RAM);
    let plan = load(
        &mut mem,
        &img,
        "vmlinuz",
        std::slice::from_ref(&initrd),
        "console=ttyS0 quiet",
    )
    .unwrap();
    assert_eq!(plan.kind, Kind::Linux { protocol: 0x020F });
    assert_eq!(plan.cmos_flags(), CMOS_DIRECT_BOOT);
    let ram = mem.ram();
    let setup_len = 5 * 512; // setup_sects 0 means 4
                             // Boot sector and setup code at 0x90000, the kernel at 1 MiB.
    assert_eq!(&ram[SETUP_ADDR as usize + 0x200..][..1], &[0xF4]);
    assert_eq!(
        &ram[KERNEL_ADDR as usize..KERNEL_ADDR as usize + 0x3000],
        &img[setup_len..]
    );
    // The fields a boot loader fills in.
    let h = SETUP_ADDR;
    assert_eq!(get16(ram, h + hdr::VID_MODE as u64), 0xFFFF);
    assert_eq!(ram[(h + hdr::TYPE_OF_LOADER as u64) as usize], 0xFF);
    assert_eq!(
        ram[(h + hdr::LOADFLAGS as u64) as usize],
        hdr::LOADED_HIGH | hdr::CAN_USE_HEAP
    );
    assert_eq!(get16(ram, h + hdr::HEAP_END_PTR as u64), HEAP_END - 0x200);
    assert_eq!(
        get32(ram, h + hdr::CMD_LINE_PTR as u64),
        CMDLINE_ADDR as u32
    );
    assert_eq!(cstr(ram, CMDLINE_ADDR), "console=ttyS0 quiet");
    const { assert!(CMDLINE_ADDR + 2048 <= 0x9FC00) };
    // The initrd: page-aligned, as high as RAM allows below the BIOS's reserve.
    let image = get32(ram, h + hdr::RAMDISK_IMAGE as u64) as u64;
    let size = get32(ram, h + hdr::RAMDISK_SIZE as u64) as u64;
    assert_eq!(size, 10_000);
    assert_eq!(image % 4096, 0);
    assert_eq!(image, (RAM - TOP_RESERVE - size) & !0xFFF);
    assert_eq!(
        &ram[image as usize..(image + size) as usize],
        &initrd.data[..]
    );
    // Everything else in the header is the kernel's.
    assert_eq!(&ram[h as usize + 0x202..h as usize + 0x206], b"HdrS");
    assert_eq!(get32(ram, h + hdr::INIT_SIZE as u64), 0x80_0000);
    assert!(plan.summary.contains("protocol 2.15"), "{}", plan.summary);
}

#[test]
fn linux_initrd_respects_initrd_addr_max_and_concatenates() {
    let mut img = fake_bzimage(0x0206, 8, 0x1000);
    put32(&mut img, hdr::INITRD_ADDR_MAX, 0x01FF_FFFF); // 32 MiB
    let a = module("a", vec![1; 4097]);
    let b = module("b", vec![2; 100]);
    let plan = prepare(&img, "k", &[a, b], "", 128 * MIB).unwrap();
    let mut mem = new_mem(128 * MIB);
    plan.apply(&mut mem);
    let ram = mem.ram();
    let image = get32(ram, SETUP_ADDR + hdr::RAMDISK_IMAGE as u64) as u64;
    let size = get32(ram, SETUP_ADDR + hdr::RAMDISK_SIZE as u64) as u64;
    // 4097 bytes, padded to 4100, then 100 more.
    assert_eq!(size, 4200);
    assert_eq!(image, (0x200_0000 - 4200) & !0xFFF);
    assert!(image + size <= 0x200_0000);
    assert_eq!(ram[(image + 4096) as usize], 1);
    assert_eq!(
        &ram[(image + 4097) as usize..(image + 4100) as usize],
        &[0, 0, 0]
    );
    assert_eq!(ram[(image + 4100) as usize], 2);
}

#[test]
fn linux_without_initrd_and_old_protocol_defaults() {
    // 2.02: no initrd_addr_max field (0x37FFFFFF), command line at most 255.
    let img = fake_bzimage(0x0202, 4, 0x1000);
    let plan = prepare(&img, "k", &[], &"x".repeat(255), RAM).unwrap();
    let mut mem = new_mem(RAM);
    plan.apply(&mut mem);
    assert_eq!(get32(mem.ram(), SETUP_ADDR + hdr::RAMDISK_SIZE as u64), 0);
    assert_eq!(get32(mem.ram(), SETUP_ADDR + hdr::RAMDISK_IMAGE as u64), 0);
    let e = prepare(&img, "k", &[], &"x".repeat(256), RAM).unwrap_err();
    assert!(
        matches!(e, LoadError::CmdlineTooLong { len: 256, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("at most 255"), "{e}");
}

#[test]
fn linux_errors() {
    let e = prepare(&fake_bzimage(0x0201, 4, 0x1000), "k", &[], "", RAM).unwrap_err();
    assert!(matches!(e, LoadError::LinuxProtocolTooOld(0x0201)));
    assert!(e.to_string().contains("2.01 is too old"), "{e}");

    let mut zimage = fake_bzimage(0x020F, 4, 0x1000);
    zimage[hdr::LOADFLAGS] = 0;
    let e = prepare(&zimage, "k", &[], "", RAM).unwrap_err();
    assert!(matches!(e, LoadError::LinuxNotBzImage), "{e}");

    let mut short = fake_bzimage(0x020F, 4, 0x1000);
    put32(&mut short, hdr::CMDLINE_SIZE, 16);
    let e = prepare(&short, "k", &[], "console=ttyS0 loglevel=8", RAM).unwrap_err();
    assert_eq!(
        e.to_string(),
        "-append: the kernel command line is 24 bytes: this kernel accepts at most 16 (boot protocol cmdline_size)"
    );
    assert!(prepare(&short, "k", &[], "console=ttyS0 qu", RAM).is_ok());

    let e = prepare(&short, "k", &[], "a\0b", RAM).unwrap_err();
    assert!(matches!(e, LoadError::CmdlineNul));

    // An initrd larger than the RAM above the kernel's footprint (24 MiB).
    let img = fake_bzimage(0x020F, 4, 0x1000);
    let big = module("big.img", vec![0; 40 << 20]);
    let e = prepare(&img, "k", &[big], "", RAM).unwrap_err();
    assert!(
        matches!(e, LoadError::InitrdTooLarge { size, .. } if size == 40 << 20),
        "{e}"
    );
    assert!(
        e.to_string()
            .starts_with("-initrd: the initrd is 41943040 bytes"),
        "{e}"
    );

    // init_size beyond RAM: the kernel could not even unpack.
    let e = prepare(&img, "k", &[], "", 16 * MIB).unwrap_err();
    assert!(
        matches!(
            e,
            LoadError::RamTooSmall {
                need_mib: 25,
                have_mib: 16,
                ..
            }
        ),
        "{e}"
    );

    let mut cut = fake_bzimage(0x020F, 4, 0x1000);
    cut.truncate(5 * 512 + 0x800);
    let e = prepare(&cut, "k", &[], "", RAM).unwrap_err();
    assert!(matches!(e, LoadError::Truncated(_)), "{e}");

    let e = prepare(&fake_bzimage(0x020F, 100, 0x1000), "k", &[], "", RAM).unwrap_err();
    assert!(matches!(e, LoadError::LinuxSetupTooLarge(51712)), "{e}");
}

#[test]
fn linux_stub_enters_setup_code() {
    let img = fake_bzimage(0x020F, 4, 0x1000);
    let mut mem = new_mem(RAM);
    load(&mut mem, &img, "k", &[], "console=ttyS0").unwrap();
    let cpu = run_stub(&mut mem, INT15_FAIL);
    let s = &cpu.s;
    assert_eq!(s.seg[state::CS].selector, SETUP_SEG + 0x20);
    assert_eq!(s.eip, 1, "halted after the HLT at 9020:0000");
    for seg in [state::DS, state::ES, state::FS, state::GS, state::SS] {
        assert_eq!(s.seg[seg].selector, SETUP_SEG, "segment {seg}");
    }
    assert_eq!(s.gpr[state::ESP] & 0xFFFF, u32::from(HEAP_END));
    assert_eq!(s.eflags & state::flags::IF, 0, "interrupts off");
    assert_eq!(s.cr0 & state::cr0::PE, 0, "still in real mode");
}

// ---- multiboot ------------------------------------------------------------

/// An a.out-kludge multiboot kernel loaded at 1 MiB: the header at
/// `header_off`, HLT at file offset 0x100 (the entry), 0x200 bytes of file
/// and 0x1000 bytes of bss.
fn aout_kernel(header_off: usize, flags: u32) -> Vec<u8> {
    let mut k = vec![0x90u8; 0x200];
    let base = 0x10_0000u32;
    let h = header_off;
    put32(&mut k, h, multiboot::MAGIC);
    put32(&mut k, h + 4, flags);
    put32(
        &mut k,
        h + 8,
        0u32.wrapping_sub(multiboot::MAGIC).wrapping_sub(flags),
    );
    put32(&mut k, h + 12, base + h as u32); // header_addr
    put32(&mut k, h + 16, base); // load_addr
    put32(&mut k, h + 20, 0); // load_end_addr: the whole file
    put32(&mut k, h + 24, base + 0x200 + 0x1000); // bss_end_addr
    put32(&mut k, h + 28, base + 0x100); // entry_addr
    k[0x100] = 0xF4;
    k
}

/// A 32-bit ELF with one PT_LOAD segment (`code`, then `memsz` - len zero
/// bytes) and, when `mb_flags` is given, a multiboot header right after the
/// program header.
fn minimal_elf(
    vaddr: u32,
    paddr: u32,
    entry: u32,
    code: &[u8],
    class: u8,
    mb_flags: Option<u32>,
) -> Vec<u8> {
    let mut f = vec![0u8; 0x100];
    f[..4].copy_from_slice(b"\x7FELF");
    f[4] = class; // ELFCLASS32
    f[5] = 1; // little-endian
    f[6] = 1; // EV_CURRENT
    put16(&mut f, 16, 2); // ET_EXEC
    put16(&mut f, 18, 3); // EM_386
    put32(&mut f, 20, 1);
    put32(&mut f, 24, entry);
    put32(&mut f, 28, 52); // e_phoff
    put16(&mut f, 40, 52); // e_ehsize
    put16(&mut f, 42, 32); // e_phentsize
    put16(&mut f, 44, 1); // e_phnum
                          // Program header: PT_LOAD of the file from 0x100.
    let ph = 52;
    put32(&mut f, ph, 1);
    put32(&mut f, ph + 4, 0x100);
    put32(&mut f, ph + 8, vaddr);
    put32(&mut f, ph + 12, paddr);
    put32(&mut f, ph + 16, code.len() as u32);
    put32(&mut f, ph + 20, code.len() as u32 + 0x2000);
    put32(&mut f, ph + 24, 5);
    put32(&mut f, ph + 28, 0x1000);
    if let Some(flags) = mb_flags {
        put32(&mut f, 0x80, multiboot::MAGIC);
        put32(&mut f, 0x84, flags);
        put32(
            &mut f,
            0x88,
            0u32.wrapping_sub(multiboot::MAGIC).wrapping_sub(flags),
        );
    }
    f.extend_from_slice(code);
    f
}

#[test]
fn multiboot_aout_layout_mbi_and_entry() {
    let k = aout_kernel(
        0x40,
        flag::AOUT_KLUDGE | flag::PAGE_ALIGN | flag::MEMORY_INFO,
    );
    let mods = [
        module("/boot/a.img arg1 arg2", vec![0xA1; 5000]),
        module("b.img", vec![0xB2; 10]),
    ];
    let mut mem = new_mem(RAM);
    // Garbage where the bss goes: the loader must zero it.
    mem.write_ram(0x10_0200, &[0xEE; 0x1000]);
    let plan = load(&mut mem, &k, "kernel.bin", &mods, "console=ttyS0").unwrap();
    assert_eq!(plan.kind, Kind::Multiboot);
    assert!(plan.summary.contains("header at 0x40"), "{}", plan.summary);
    let ram = mem.ram();
    assert_eq!(&ram[0x10_0000..0x10_0200], &k[..]);
    assert!(
        ram[0x10_0200..0x10_1200].iter().all(|&b| b == 0),
        "bss zeroed"
    );

    let m = MBI_ADDR;
    let flags = get32(ram, m);
    for f in [
        mbi::F_MEM,
        mbi::F_CMDLINE,
        mbi::F_MODS,
        mbi::F_MMAP,
        mbi::F_LOADER_NAME,
    ] {
        assert_ne!(flags & f, 0, "mbi flag {f:#x}");
    }
    assert_eq!(get32(ram, m + 4), 639, "mem_lower");
    assert_eq!(get32(ram, m + 8), (RAM - MIB) as u32 / 1024, "mem_upper");
    assert_eq!(
        cstr(ram, get32(ram, m + 16) as u64),
        "kernel.bin console=ttyS0"
    );
    assert_eq!(cstr(ram, get32(ram, m + 64) as u64), "crane86");
    // Modules: page-aligned after the kernel's bss, in order, with their strings.
    assert_eq!(get32(ram, m + 20), 2);
    let mods_addr = get32(ram, m + 24) as u64;
    let m0 = (get32(ram, mods_addr), get32(ram, mods_addr + 4));
    let m1 = (get32(ram, mods_addr + 16), get32(ram, mods_addr + 20));
    assert_eq!(m0, (0x10_2000, 0x10_2000 + 5000));
    assert_eq!(m1, (0x10_4000, 0x10_4000 + 10));
    assert_eq!(
        cstr(ram, get32(ram, mods_addr + 8) as u64),
        "/boot/a.img arg1 arg2"
    );
    assert_eq!(cstr(ram, get32(ram, mods_addr + 24) as u64), "b.img");
    assert_eq!(ram[0x10_2000], 0xA1);
    assert_eq!(ram[0x10_4000 + 9], 0xB2);
    // The mmap: the BIOS's E820 layout.
    let map = bios_e820(RAM);
    assert_eq!(get32(ram, m + 44), 24 * map.len() as u32);
    assert_eq!(get32(ram, m + 48), MMAP_ADDR as u32);
    for (i, e) in map.iter().enumerate() {
        let at = MMAP_ADDR + 24 * i as u64;
        assert_eq!(get32(ram, at), 20);
        assert_eq!(
            (get64(ram, at + 4), get64(ram, at + 12), get32(ram, at + 20)),
            (e.base, e.len, e.kind)
        );
    }
    // Everything the loader wrote in low memory is in the preserved range.
    for c in &plan.chunks {
        let r = c.range();
        assert!(
            r.start >= MIB || (PRESERVED_LOW.start <= r.start && r.end <= PRESERVED_LOW.end),
            "{r:x?}"
        );
    }

    // The stub: no E820 from this BIOS, so the loader's map stays.
    let cpu = run_stub(&mut mem, INT15_FAIL);
    let s = &cpu.s;
    assert_eq!(s.eip, 0x10_0101, "halted after the HLT at the entry");
    assert_eq!(s.gpr[state::EAX], BOOTLOADER_MAGIC);
    assert_eq!(s.gpr[state::EBX], MBI_ADDR as u32);
    assert_eq!(s.gpr[state::ESP], KERNEL_STACK as u32);
    assert_eq!(s.seg[state::CS].selector, 0x08);
    assert!(s.seg[state::CS].big(), "32-bit code");
    assert_eq!(
        (s.seg[state::CS].base, s.seg[state::CS].limit),
        (0, 0xFFFF_FFFF)
    );
    for seg in [state::DS, state::ES, state::FS, state::GS, state::SS] {
        assert_eq!(s.seg[seg].selector, 0x10);
        assert_eq!((s.seg[seg].base, s.seg[seg].limit), (0, 0xFFFF_FFFF));
    }
    assert_ne!(s.cr0 & state::cr0::PE, 0);
    assert_eq!(s.cr0 & state::cr0::PG, 0);
    assert_eq!(s.eflags & (state::flags::IF | state::flags::VM), 0);
    assert!(mem.a20_enabled());
    assert_eq!(get32(mem.ram(), m + 44), 24 * map.len() as u32);
}

#[test]
fn multiboot_stub_takes_the_bios_e820_map() {
    let k = aout_kernel(0x40, flag::AOUT_KLUDGE);
    let mut mem = new_mem(RAM);
    load(&mut mem, &k, "k", &[], "").unwrap();
    assert_eq!(cstr(mem.ram(), get32(mem.ram(), MBI_ADDR + 16) as u64), "k");
    let cpu = run_stub(&mut mem, &int15_one_entry());
    assert_eq!(cpu.s.eip, 0x10_0101);
    let ram = mem.ram();
    assert_eq!(get32(ram, MBI_ADDR + 44), 24, "one entry from E820");
    assert_eq!(get32(ram, MMAP_ADDR), 20);
    assert_eq!(get64(ram, MMAP_ADDR + 4), 0);
    assert_eq!(get64(ram, MMAP_ADDR + 12), 0x123_4000);
    assert_eq!(get32(ram, MMAP_ADDR + 20), 1);
}

#[test]
fn multiboot_elf_segments_bss_and_entry() {
    // A higher-half style kernel: virtual 0xC0200000, physical 2 MiB; its
    // e_entry is virtual and must be translated.
    let mut code = vec![0x90u8; 0x40];
    code[0x10] = 0xF4;
    let elf = minimal_elf(0xC020_0000, 0x20_0000, 0xC020_0010, &code, 1, Some(0));
    let mut mem = new_mem(RAM);
    mem.write_ram(0x20_0040, &[0xEE; 0x2000]);
    let plan = load(&mut mem, &elf, "k", &[module("m", vec![7; 3])], "").unwrap();
    assert!(plan.summary.contains("ELF"), "{}", plan.summary);
    let ram = mem.ram();
    assert_eq!(&ram[0x20_0000..0x20_0040], &code[..]);
    assert!(
        ram[0x20_0040..0x20_2040].iter().all(|&b| b == 0),
        "bss zeroed"
    );
    let mods_addr = get32(ram, MBI_ADDR + 24) as u64;
    assert_eq!(
        get32(ram, mods_addr),
        0x20_3000,
        "module after the bss, page-aligned"
    );
    let cpu = run_stub(&mut mem, INT15_FAIL);
    assert_eq!(cpu.s.eip, 0x20_0011);
    assert_eq!(cpu.s.gpr[state::EAX], BOOTLOADER_MAGIC);
}

#[test]
fn multiboot_errors() {
    let k = aout_kernel(0x40, flag::AOUT_KLUDGE | (1 << 3));
    let e = prepare(&k, "k", &[], "", RAM).unwrap_err();
    assert!(e.to_string().contains("unknown bits 0x8"), "{e}");

    // Loaded below 1 MiB.
    let low = minimal_elf(0x8000, 0x8000, 0x8000, &[0xF4], 1, Some(0));
    let e = prepare(&low, "k", &[], "", RAM).unwrap_err();
    assert!(e.to_string().contains("below 1 MiB"), "{e}");

    // 64-bit ELF.
    let mut e64 = minimal_elf(0x20_0000, 0x20_0000, 0x20_0000, &[0xF4], 2, Some(0));
    e64.resize(0x200, 0);
    let e = prepare(&e64, "k", &[], "", RAM).unwrap_err();
    assert!(e.to_string().contains("64-bit"), "{e}");

    // Not ELF and no a.out kludge.
    let mut raw = vec![0u8; 0x100];
    raw[0x10..0x1C].copy_from_slice(&aout_kernel(0, 0)[..12]);
    let e = prepare(&raw, "k", &[], "", RAM).unwrap_err();
    assert!(e.to_string().contains("not ELF"), "{e}");

    // A module larger than the RAM left.
    let k = aout_kernel(0x40, flag::AOUT_KLUDGE);
    let e = prepare(&k, "k", &[module("big", vec![0; 70 << 20])], "", RAM).unwrap_err();
    assert!(matches!(e, LoadError::InitrdTooLarge { .. }), "{e}");
    assert!(e.to_string().contains("module 'big'"), "{e}");

    // The kernel itself beyond RAM.
    let mut huge = aout_kernel(0x40, flag::AOUT_KLUDGE);
    put32(&mut huge, 0x40 + 24, 0x10_0000 + (80 << 20));
    let e = prepare(&huge, "k", &[], "", RAM).unwrap_err();
    assert!(
        matches!(e, LoadError::RamTooSmall { need_mib: 82, .. }),
        "{e}"
    );

    // An a.out kludge whose load range runs past the file.
    let mut cut = aout_kernel(0x40, flag::AOUT_KLUDGE);
    put32(&mut cut, 0x40 + 20, 0x10_0000 + 0x400);
    put32(&mut cut, 0x40 + 24, 0);
    let e = prepare(&cut, "k", &[], "", RAM).unwrap_err();
    assert!(matches!(e, LoadError::Truncated(_)), "{e}");

    // Entry outside the image.
    let mut far = aout_kernel(0x40, flag::AOUT_KLUDGE);
    put32(&mut far, 0x40 + 28, 0x90_0000);
    let e = prepare(&far, "k", &[], "", RAM).unwrap_err();
    assert!(e.to_string().contains("entry point"), "{e}");
}

// ---- helpers --------------------------------------------------------------

#[test]
fn initrd_lists_split_like_qemu() {
    let items = split_initrd_list("/a/b.img arg1 arg2,c.img,,x,d").unwrap();
    let got: Vec<(&str, &str)> = items
        .iter()
        .map(|(s, p)| (s.as_str(), p.to_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("/a/b.img arg1 arg2", "/a/b.img"),
            ("c.img,x", "c.img,x"),
            ("d", "d")
        ]
    );
    assert!(split_initrd_list("a,,").is_ok());
    assert!(split_initrd_list("a,").is_err());
    let e = read_initrds("/nonexistent/crane86-initrd").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/nonexistent/crane86-initrd: cannot read"),
        "{e}"
    );
}

#[test]
fn e820_matches_the_bios() {
    let e = |base, len, kind| E820Entry { base, len, kind };
    let common = [
        e(0, 0x9FC00, 1),
        e(0x9FC00, 0x400, 2),
        e(0xE0000, 0x20000, 2),
    ];
    let rom = e(0xFFFC_0000, 0x40000, 2);
    let mut m256 = common.to_vec();
    m256.extend([e(MIB, 255 * MIB, 1), rom]);
    assert_eq!(bios_e820(256 * MIB), m256);
    // 8 MiB: counted in KiB above 1 MiB.
    let mut m8 = common.to_vec();
    m8.extend([e(MIB, 7 * MIB, 1), rom]);
    assert_eq!(bios_e820(8 * MIB), m8);
    // Not a multiple of 64 KiB above 16 MiB: rounded down as the CMOS does.
    assert_eq!(low_ram_top(32 * MIB + 1000), 32 * MIB);
    // Beyond 3.5 GiB: the rest above 4 GiB.
    let big = bios_e820(4 << 30);
    assert_eq!(big[3], e(MIB, 0xE000_0000 - MIB, 1));
    assert_eq!(big[5], e(1 << 32, (4 << 30) - 0xE000_0000, 1));
}

#[test]
fn prepare_files_reads_the_kernel_and_the_initrd_list() {
    let dir = std::env::temp_dir().join(format!("crane86-loader-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kernel = dir.join("bzImage");
    std::fs::write(&kernel, fake_bzimage(0x020F, 4, 0x1000)).unwrap();
    let (a, b) = (dir.join("a.cpio"), dir.join("b.cpio"));
    std::fs::write(&a, [1u8; 8]).unwrap();
    std::fs::write(&b, [2u8; 8]).unwrap();
    let list = format!("{},{}", a.display(), b.display());
    let plan = prepare_files(&kernel, Some(&list), "quiet", RAM).unwrap();
    assert!(
        plan.summary.contains("initrd 16 bytes at "),
        "{}",
        plan.summary
    );
    // The BIOS's direct-boot flag: CMOS 0x5F bit 1 (firmware/bios/defs.inc).
    assert_eq!((CMOS_CRANE86, plan.cmos_flags()), (0x5F, 0x02));
    let e = prepare_files(&dir.join("missing"), None, "", RAM).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("cannot read: No such file or directory (os error 2)"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
