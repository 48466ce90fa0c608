//! The 16-bit boot stubs the BIOS jumps to at 0000:7C00 on a direct kernel
//! boot, hand-assembled: a few dozen instructions do not justify an
//! assembler at build time, and the unit tests run both stubs on crane86's
//! own interpreter.
//!
//! [`Asm`] is a byte emitter with labels for the few forward jumps; every
//! instruction is written as its encoding with the assembly in a comment.

use super::{CMOS_CRANE86, CMOS_NO_ECHO, STUB_ADDR};

/// Byte emitter for code that runs at a fixed address.
struct Asm {
    code: Vec<u8>,
    origin: u32,
    labels: Vec<Option<usize>>,
    /// (position of a rel8 byte, label)
    rel8: Vec<(usize, usize)>,
    /// (position of an absolute address field, label, width in bytes)
    abs: Vec<(usize, usize, usize)>,
}

impl Asm {
    fn new(origin: u32) -> Self {
        Asm {
            code: Vec::new(),
            origin,
            labels: Vec::new(),
            rel8: Vec::new(),
            abs: Vec::new(),
        }
    }

    fn b(&mut self, bytes: &[u8]) -> &mut Self {
        self.code.extend_from_slice(bytes);
        self
    }
    fn w(&mut self, v: u16) -> &mut Self {
        self.b(&v.to_le_bytes())
    }
    fn d(&mut self, v: u32) -> &mut Self {
        self.b(&v.to_le_bytes())
    }

    fn label(&mut self) -> usize {
        self.labels.push(None);
        self.labels.len() - 1
    }
    fn bind(&mut self, l: usize) {
        self.labels[l] = Some(self.code.len());
    }
    /// A short conditional or unconditional jump (`op` rel8) to `l`.
    fn jump8(&mut self, op: u8, l: usize) -> &mut Self {
        self.code.push(op);
        self.rel8.push((self.code.len(), l));
        self.code.push(0);
        self
    }
    /// The absolute address of `l`, `width` bytes wide.
    fn addr_of(&mut self, l: usize, width: usize) -> &mut Self {
        self.abs.push((self.code.len(), l, width));
        self.code.extend(std::iter::repeat_n(0, width));
        self
    }
    fn align(&mut self, n: usize) {
        while !self.code.len().is_multiple_of(n) {
            self.code.push(0x90); // nop
        }
    }

    fn finish(mut self) -> Vec<u8> {
        for &(pos, l) in &self.rel8 {
            let target = self.labels[l].expect("unbound label") as i64;
            let rel = target - (pos as i64 + 1);
            let rel = i8::try_from(rel).expect("short jump out of range");
            self.code[pos] = rel as u8;
        }
        for &(pos, l, width) in &self.abs {
            let a = self.origin + self.labels[l].expect("unbound label") as u32;
            self.code[pos..pos + width].copy_from_slice(&a.to_le_bytes()[..width]);
        }
        self.code
    }
}

/// Linux real-mode entry, as boot.rst asks of a boot loader: interrupts off,
/// DS = ES = FS = GS = SS = the setup segment, SP = the top of the setup
/// heap/stack, then a far jump to the setup code 0x20 paragraphs (512 bytes,
/// past the boot sector) in.
pub(super) fn linux(setup_seg: u16, stack_top: u16) -> Vec<u8> {
    let mut a = Asm::new(STUB_ADDR as u32);
    a.b(&[0xFA]); //                      cli
    a.b(&[0xFC]); //                      cld
                  // From here on the kernel's setup code prints through INT 10h and, with
                  // console=ttyS0, to COM1 itself: tell our BIOS to stop copying INT 10h
                  // text to COM1 (CMOS 0x5F bit 2), or every character would show twice.
    a.b(&[0xB0, CMOS_CRANE86]); //        mov al, 0x5F
    a.b(&[0xE6, 0x70]); //                out 0x70, al
    a.b(&[0xE4, 0x71]); //                in al, 0x71
    a.b(&[0x0C, CMOS_NO_ECHO]); //        or al, 4
    a.b(&[0x88, 0xC4]); //                mov ah, al
    a.b(&[0xB0, CMOS_CRANE86]); //        mov al, 0x5F
    a.b(&[0xE6, 0x70]); //                out 0x70, al
    a.b(&[0x88, 0xE0]); //                mov al, ah
    a.b(&[0xE6, 0x71]); //                out 0x71, al
    a.b(&[0xB8]).w(setup_seg); //         mov ax, setup_seg
    a.b(&[0x8E, 0xD8]); //                mov ds, ax
    a.b(&[0x8E, 0xC0]); //                mov es, ax
    a.b(&[0x8E, 0xE0]); //                mov fs, ax
    a.b(&[0x8E, 0xE8]); //                mov gs, ax
    a.b(&[0x8E, 0xD0]); //                mov ss, ax
    a.b(&[0xBC]).w(stack_top); //         mov sp, stack_top
    a.b(&[0x66, 0x31, 0xC0]); //          xor eax, eax
    a.b(&[0x66, 0x31, 0xDB]); //          xor ebx, ebx
    a.b(&[0x66, 0x31, 0xC9]); //          xor ecx, ecx
    a.b(&[0x66, 0x31, 0xD2]); //          xor edx, edx
    a.b(&[0x66, 0x31, 0xF6]); //          xor esi, esi
    a.b(&[0x66, 0x31, 0xFF]); //          xor edi, edi
    a.b(&[0x66, 0x31, 0xED]); //          xor ebp, ebp
    a.b(&[0xEA]).w(0).w(setup_seg + 0x20); // jmp setup_seg+0x20:0000
    a.finish()
}

/// Where the multiboot stub finds and leaves things.
pub(super) struct MultibootStub {
    /// Physical address of the multiboot information structure (below 64 KiB).
    pub mbi: u32,
    /// Physical address of the mmap buffer the mbi points at (below 64 KiB),
    /// prefilled by the loader; the stub refills it from INT 15h E820.
    pub mmap: u32,
    /// Entries the buffer holds.
    pub mmap_max: u16,
    /// ESP handed to the kernel (the spec leaves it undefined).
    pub stack: u32,
    /// The kernel's entry point.
    pub entry: u32,
}

/// Offset of mmap_length in the multiboot information structure.
pub(super) const MBI_MMAP_LENGTH: u32 = 44;

/// Multiboot v1 entry: asks the BIOS for its memory map (INT 15h E820) so
/// the mbi's mmap is exactly what the BIOS reports (the loader's prefilled
/// copy stays when E820 answers nothing), opens A20, loads a flat GDT (code
/// 0x08, data 0x10, base 0, limit 4 GiB), enters 32-bit protected mode and
/// jumps to the kernel with EAX = 0x2BADB002, EBX = the mbi, EFLAGS = 2
/// (interrupts off), the other general registers 0.
pub(super) fn multiboot(p: &MultibootStub) -> Vec<u8> {
    const SMAP: u32 = 0x534D_4150;
    assert!(p.mbi + 0x80 <= 0x1_0000 && p.mmap + 24 * u32::from(p.mmap_max) <= 0x1_0000);
    let mut a = Asm::new(STUB_ADDR as u32);
    let (next, done, keep, pm32, gdt, gdtr) = (
        a.label(),
        a.label(),
        a.label(),
        a.label(),
        a.label(),
        a.label(),
    );
    // ---- 16-bit real mode, CS = 0 ----
    a.b(&[0xFA]); //                          cli
    a.b(&[0xFC]); //                          cld
    a.b(&[0x31, 0xC0]); //                    xor ax, ax
    a.b(&[0x8E, 0xD8]); //                    mov ds, ax
    a.b(&[0x8E, 0xC0]); //                    mov es, ax
    a.b(&[0x8E, 0xD0]); //                    mov ss, ax
    a.b(&[0xBC]).w(STUB_ADDR as u16); //      mov sp, 0x7C00
                                      // The E820 map straight into the mbi's mmap buffer: each multiboot
                                      // entry is a u32 size (20) followed by the 20-byte E820 entry.
    a.b(&[0x66, 0x31, 0xDB]); //              xor ebx, ebx  ; continuation
    a.b(&[0xBF]).w((p.mmap + 4) as u16); //   mov di, mmap+4
    a.bind(next);
    a.b(&[0x66, 0xB8]).d(0xE820); //          mov eax, 0xE820
    a.b(&[0x66, 0xBA]).d(SMAP); //            mov edx, 'SMAP'
    a.b(&[0x66, 0xB9]).d(20); //              mov ecx, 20
    a.b(&[0xCD, 0x15]); //                    int 0x15
    a.jump8(0x72, done); //                   jc done
    a.b(&[0x66, 0x3D]).d(SMAP); //            cmp eax, 'SMAP'
    a.jump8(0x75, done); //                   jne done
    a.b(&[0x66, 0xC7, 0x45, 0xFC]).d(20); //  mov dword [di-4], 20
    a.b(&[0x83, 0xC7, 24]); //                add di, 24
    a.b(&[0x66, 0x85, 0xDB]); //              test ebx, ebx
    a.jump8(0x74, done); //                   jz done       ; last entry
    a.b(&[0x81, 0xFF]) //                     cmp di, mmap+4+24*max
        .w((p.mmap + 4 + 24 * u32::from(p.mmap_max)) as u16);
    a.jump8(0x72, next); //                   jb next
    a.bind(done);
    a.b(&[0x81, 0xEF]).w((p.mmap + 4) as u16); // sub di, mmap+4 ; bytes
    a.jump8(0x74, keep); //                   jz keep       ; none: keep ours
    a.b(&[0x66, 0x0F, 0xB7, 0xFF]); //        movzx edi, di
    a.b(&[0x66, 0x89, 0x3E]) //               mov [mbi.mmap_length], edi
        .w((p.mbi + MBI_MMAP_LENGTH) as u16);
    a.bind(keep);
    a.b(&[0xFA]); //                          cli  ; a BIOS may return with IF set
                  // A20 through the fast gate (port 0x92); never write bit 0 (reset).
    a.b(&[0xE4, 0x92]); //                    in al, 0x92
    a.b(&[0x0C, 0x02]); //                    or al, 2
    a.b(&[0x24, 0xFE]); //                    and al, 0xFE
    a.b(&[0xE6, 0x92]); //                    out 0x92, al
    a.b(&[0x66, 0x0F, 0x01, 0x16]).addr_of(gdtr, 2); // lgdt [gdtr] (32-bit base)
    a.b(&[0x0F, 0x20, 0xC0]); //              mov eax, cr0
    a.b(&[0x66, 0x83, 0xC8, 0x01]); //        or eax, 1     ; PE
    a.b(&[0x0F, 0x22, 0xC0]); //              mov cr0, eax
    a.b(&[0x66, 0xEA]).addr_of(pm32, 4).w(0x08); // jmp dword 0x08:pm32
                                                 // ---- 32-bit protected mode, flat ----
    a.bind(pm32);
    a.b(&[0xB8]).d(0x10); //                  mov eax, 0x10
    a.b(&[0x8E, 0xD8]); //                    mov ds, eax
    a.b(&[0x8E, 0xC0]); //                    mov es, eax
    a.b(&[0x8E, 0xE0]); //                    mov fs, eax
    a.b(&[0x8E, 0xE8]); //                    mov gs, eax
    a.b(&[0x8E, 0xD0]); //                    mov ss, eax
    a.b(&[0xBC]).d(p.stack); //               mov esp, stack
    a.b(&[0x6A, 0x00]); //                    push 0
    a.b(&[0x9D]); //                          popfd         ; IF, DF, VM... clear
    a.b(&[0x31, 0xC9]); //                    xor ecx, ecx
    a.b(&[0x31, 0xD2]); //                    xor edx, edx
    a.b(&[0x31, 0xF6]); //                    xor esi, esi
    a.b(&[0x31, 0xFF]); //                    xor edi, edi
    a.b(&[0x31, 0xED]); //                    xor ebp, ebp
    a.b(&[0xB8]).d(super::multiboot::BOOTLOADER_MAGIC); // mov eax, 0x2BADB002
    a.b(&[0xBB]).d(p.mbi); //                 mov ebx, mbi
    a.b(&[0xEA]).d(p.entry).w(0x08); //       jmp 0x08:entry
                                     // ---- the GDT ----
    a.align(8);
    a.bind(gdt);
    a.d(0).d(0); //                           null descriptor
    a.d(0x0000_FFFF).d(0x00CF_9A00); //       0x08: code, base 0, 4 GiB, 32-bit
    a.d(0x0000_FFFF).d(0x00CF_9200); //       0x10: data, base 0, 4 GiB
    a.bind(gdtr);
    a.w(3 * 8 - 1).addr_of(gdt, 4); //        limit, base
    a.finish()
}
