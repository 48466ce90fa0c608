; pm_switch — entering and leaving protected mode, descriptor-table registers,
; segment limits and the selector/descriptor inspection instructions
; (Intel SDM vol. 3, chapters 3, 5 and 9.9).
;
; Not tested, on purpose, because QEMU TCG does not implement it (the ROMs
; must pass under qemu-system-i386 too):
;   * #GP/#SS for data or stack accesses beyond a segment limit, including
;     the wrong side of an expand-down segment: QEMU never checks
;     data-segment limits;
;   * #GP(0) for a near jump past the CS limit, or for execution running
;     off the end of CS: QEMU only checks far transfers reliably.
; What is tested instead: #GP(0) for a far JMP to CS limit + 1, code that
; ends exactly at the CS limit runs, and the no-fault side of data limits
; (the last byte inside the limit, page granularity, expand-down segments
; with offsets above the limit, an expand-down stack), which an emulator
; that gets limits wrong in the other direction would fail.
;
; The return to real mode follows SDM 9.9.2 (64 KiB segments loaded before
; clearing PE) and checks nothing about "unreal" cached limits.

%include "testrom.inc"
%include "sysprot.inc"

; test descriptors (filled in by setup_descs)
SEL_D_SMALL     equ 0x40        ; data RW, base SCRATCH, limit 0xFF, byte granular
SEL_D_RO_BIG    equ 0x48        ; data read-only, base 0, limit 0xFFFFF pages
SEL_C_XONLY     equ 0x50        ; code execute-only, 32-bit
SEL_D_DPL3      equ 0x58        ; data RW, DPL3
SEL_CALLGATE    equ 0x60        ; 32-bit call gate (system)
SEL_INTGATE     equ 0x68        ; interrupt-gate type in the GDT: not valid for LAR
SEL_TSSD        equ 0x70        ; available 32-bit TSS, limit 0x67
SEL_D_EXPDN32   equ 0x78        ; data RW expand-down, B=1, limit 0x0FFF
SEL_D_EXPDN16   equ 0x80        ; data RW expand-down, B=0, limit 0x0FFF
SEL_C_CONF      equ 0x88        ; conforming readable code, DPL0
SEL_D_NP        equ 0x90        ; data RW, not present, limit 5 pages
SEL_LDTD        equ 0x98        ; LDT descriptor
SEL_C_LIM       equ 0xA0        ; 32-bit code, limit lim_end - 1
SEL_D_PAGE0     equ 0xA8        ; data RW, base SCRATCH, limit 0 with G=1 (4 KiB)
SEL_S_EXPDN     equ 0xB0        ; stack: RW expand-down, B=1, limit 0x5FFF
SEL_BEYOND      equ 0x0FF8      ; beyond GDT_LIMIT
MARK16          equ SCRATCH + 0x700
EXPDN_BASE      equ 0x8000      ; base of the expand-down data segments

; ---- LAR / LSL / VERx helpers -------------------------------------------------------
; LAR_OK sel, expected rights (masked with FFF0FFFF), "what"
%macro LAR_OK 3
        mov     ecx, %1
        mov     eax, 0xDEADBEEF
        lar     eax, ecx
        setz    bl
        and     eax, 0xFFF0FFFF                 ; bits 19:16 are undefined (SDM)
        CHECK   eax, %2, %3
        movzx   eax, bl
        CHECK   eax, 1, %3, " ZF"
%endmacro

; LAR_BAD sel, "what": ZF clear and the destination unchanged
%macro LAR_BAD 2
        mov     ecx, %1
        mov     eax, 0xDEADBEEF
        lar     eax, ecx
        setz    bl
        CHECK   eax, 0xDEADBEEF, %2, " destination"
        movzx   eax, bl
        CHECK   eax, 0, %2, " ZF"
%endmacro

%macro LSL_OK 3
        mov     ecx, %1
        mov     eax, 0xDEADBEEF
        lsl     eax, ecx
        setz    bl
        CHECK   eax, %2, %3
        movzx   eax, bl
        CHECK   eax, 1, %3, " ZF"
%endmacro

%macro LSL_BAD 2
        mov     ecx, %1
        mov     eax, 0xDEADBEEF
        lsl     eax, ecx
        setz    bl
        CHECK   eax, 0xDEADBEEF, %2, " destination"
        movzx   eax, bl
        CHECK   eax, 0, %2, " ZF"
%endmacro

; VERX verr|verw, sel, expected ZF, "what"
%macro VERX 4
        mov     ecx, %2
        %1      cx
        setz    bl
        movzx   eax, bl
        CHECK   eax, %3, %4, " ZF"
%endmacro

rom_start:
        ; ---- real mode -> 16-bit protected mode ------------------------------
        smsw    ax
        and     eax, 1
        CHECK16 eax, 0, "real_to_pm16: CR0.PE before switch"
        cli
        call    sys_setup_gdt16                 ; GDT in RAM, PICs masked
        o32 lgdt [cs:sys_gdtr]
        mov     eax, cr0
        or      al, 1                           ; PE
        mov     cr0, eax
        jmp     SEL_CODE16:pm16                 ; 16-bit far jump loads CS from the GDT
pm16:
        mov     ax, SEL_DATA16
        mov     ds, ax
        mov     es, ax
        mov     ss, ax                          ; SP stays 0x7C00 (base 0)
        mov     ax, cs
        movzx   eax, ax
        CHECK16 eax, SEL_CODE16, "real_to_pm16: CS selector"
        smsw    ax
        and     eax, 1
        CHECK16 eax, 1, "real_to_pm16: CR0.PE after switch"
        mov     bx, sp                          ; default operand size is 16 bits
        push    ax
        sub     bx, sp
        pop     ax
        movzx   eax, bx
        CHECK16 eax, 2, "real_to_pm16: 16-bit push size"
        mov     word [MARK16], 0x1234           ; DS base 0: read back in real mode later
        OK16    "real_to_pm16: CR0.PE, far jmp to 16-bit CS, 16-bit operand size"

        ; ---- 16-bit -> 32-bit protected mode ------------------------------------
        jmp     dword SEL_CODE32:pm32
        bits    32
pm32:
        mov     ax, SEL_DATA32
        mov     ds, ax
        mov     es, ax
        mov     fs, ax
        mov     gs, ax
        mov     ss, ax
        mov     esp, STACK0_TOP
        call    sys_init32                      ; IDT (recording stubs), TSS0, TR
        xor     eax, eax
        mov     ax, cs
        CHECK   eax, SEL_CODE32, "pm16_to_pm32: CS selector"
        mov     ebx, esp
        push    eax                             ; default operand size is 32 bits
        sub     ebx, esp
        pop     eax
        CHECK   ebx, 4, "pm16_to_pm32: 32-bit push size"
        movzx   eax, word [MARK16]
        CHECK   eax, 0x1234, "pm16_to_pm32: data written in 16-bit PM"
        OK      "pm16_to_pm32: far jmp to 32-bit CS, flat data segments"

        call    setup_descs

        ; ---- SGDT / SIDT ---------------------------------------------------------
        mov     edi, SCRATCH
        mov     dword [edi], 0xAAAAAAAA
        mov     dword [edi + 4], 0xAAAAAAAA
        sgdt    [edi]
        movzx   eax, word [edi]
        CHECK   eax, GDT_LIMIT, "sgdt_sidt: GDTR limit"
        CHECK   [edi + 2], GDT_BASE, "sgdt_sidt: GDTR base"
        sidt    [edi + 8]
        movzx   eax, word [edi + 8]
        CHECK   eax, IDT_LIMIT, "sgdt_sidt: IDTR limit"
        CHECK   [edi + 10], IDT_BASE, "sgdt_sidt: IDTR base"
        OK      "sgdt_sidt: stored limit and 32-bit base"

        ; ---- LGDT: a smaller limit makes a selector invalid ------------------------
        mov     ax, SEL_D_SMALL                 ; valid with the full GDT
        mov     ds, ax
        mov     ax, SEL_DATA32
        mov     ds, ax
        mov     word [SCRATCH], SEL_D_SMALL - 1 ; limit 0x3F: entries 0..7 only
        mov     dword [SCRATCH + 2], GDT_BASE
        lgdt    [SCRATCH]
        sgdt    [SCRATCH + 8]
        movzx   eax, word [SCRATCH + 8]
        CHECK   eax, SEL_D_SMALL - 1, "lgdt_limit: SGDT after LGDT"
        EXPECT  .lg_r1
        mov     ax, SEL_D_SMALL                 ; index 8: beyond the limit
.lg_f1: mov     ds, ax
.lg_r1: CHECK_EXC 13, SEL_D_SMALL, .lg_f1, "lgdt_limit: selector beyond GDT limit"
        mov     word [SCRATCH], SEL_D_SMALL + 7 ; limit 0x47 covers entry 8 exactly
        lgdt    [SCRATCH]
        mov     ax, SEL_D_SMALL
        mov     ds, ax
        mov     ax, SEL_DATA32
        mov     ds, ax
        lgdt    [cs:sys_gdtr]
        OK      "lgdt_limit: #GP(selector) past the new limit, last entry usable"

        ; ---- LIDT: a vector beyond the IDT limit is #GP(vector*8+2) -----------------
        mov     word [SCRATCH], 0x21 * 8 - 1    ; vectors 0x00-0x20 only
        mov     dword [SCRATCH + 2], IDT_BASE
        lidt    [SCRATCH]
        sidt    [SCRATCH + 8]
        movzx   eax, word [SCRATCH + 8]
        CHECK   eax, 0x21 * 8 - 1, "lidt_limit: SIDT after LIDT"
        EXPECT  .li_r1
.li_f1: int     0x21
.li_r1: CHECK_EXC 13, 0x21 * 8 + 2, .li_f1, "lidt_limit: INT beyond IDT limit"
        EXPECT  .li_r2
.li_f2: int     0x20                            ; the last gate inside the limit
.li_r2: CHECK_EXC 0x20, 0, .li_f2 + 2, "lidt_limit: INT at the last gate"
        lidt    [cs:sys_idtr]
        OK      "lidt_limit: #GP(vector*8+2 IDT bit) past the limit"

        ; ---- SMSW / LMSW ---------------------------------------------------------
        mov     ebx, cr0
        smsw    ax
        movzx   eax, ax
        movzx   ebx, bx
        CHECK   eax, ebx, "smsw_lmsw: SMSW = CR0[15:0]"
        mov     ebx, cr0
        and     ebx, 0x20                       ; NE: LMSW must leave it alone
        or      ebx, 0x0B                       ; PE | MP | TS
        mov     ax, 0x002A                      ; bit 5 | TS | MP, PE = 0
        lmsw    ax
        mov     eax, cr0
        CHECKM  eax, 0x2F, ebx, "smsw_lmsw: LMSW sets MP/TS, keeps PE, ignores bit 5"
        and     ebx, 0x20
        or      ebx, 0x01
        mov     ax, 0
        lmsw    ax
        mov     eax, cr0
        CHECKM  eax, 0x2F, ebx, "smsw_lmsw: LMSW clears MP/TS, cannot clear PE"
        mov     word [SCRATCH], 0x5555
        smsw    [SCRATCH]
        movzx   eax, word [SCRATCH]
        mov     ebx, cr0
        movzx   ebx, bx
        CHECK   eax, ebx, "smsw_lmsw: SMSW m16"
        OK      "smsw_lmsw: SMSW reg/mem, LMSW loads bits 0-3 and never clears PE"

        ; ---- CS limit: jumps and fetch beyond the limit are #GP(0) ---------------------
        EXPECT  .cl_r1
.cl_f1: jmp     SEL_C_LIM:lim_end               ; target offset = limit + 1
.cl_r1: CHECK_EXC 13, 0, .cl_f1, "cs_limit: far jmp beyond limit"
        CHECK   [REC_CS], SEL_CODE32, "cs_limit: far jmp, saved CS"
        ; QEMU checks the CS limit reliably only on far transfers, not on
        ; near jumps or when sequential execution runs past the limit, so
        ; those cases are not tested.  The instruction that ends exactly at
        ; the limit must run.
        mov     dword [SCRATCH], 0
        EXPECT  cs_limit_back
        jmp     SEL_C_LIM:lim_edge
cs_limit_back:
        CHECK_NOEXC "cs_limit: instruction ending at the limit"
        CHECK   [SCRATCH], 0x600D, "cs_limit: code up to the limit ran"
        OK      "cs_limit: #GP(0) for far jmp to limit+1, code up to the limit runs"

        ; ---- data limits, the side that must not fault ------------------------------------
        mov     dword [SCRATCH + 0xFC], 0x11223344
        mov     ax, SEL_D_SMALL                 ; base SCRATCH, limit 0xFF
        mov     es, ax
        EXPECT  .dl_r1
        mov     eax, [es:0xFC]                  ; bytes 0xFC..0xFF: last dword inside
        mov     [VARS], eax
        mov     al, [es:0xFF]
        mov     [VARS + 4], al
.dl_r1: CHECK_NOEXC "data_limit: accesses ending at the limit"
        CHECK   [VARS], 0x11223344, "data_limit: segment base applied"
        movzx   eax, byte [VARS + 4]
        CHECK   eax, 0x11, "data_limit: byte at the limit"
        mov     dword [SCRATCH + 0xFFC], 0x55667788
        mov     ax, SEL_D_PAGE0                 ; G=1, limit 0 -> 0xFFF
        mov     es, ax
        EXPECT  .dl_r2
        mov     eax, [es:0xFFC]
        mov     [VARS], eax
.dl_r2: CHECK_NOEXC "data_limit: G=1 limit 0 covers 4 KiB"
        CHECK   [VARS], 0x55667788, "data_limit: page-granular read"
        mov     ax, SEL_DATA32
        mov     es, ax
        OK      "data_limit: no fault up to the limit, byte and page granular"

        ; ---- expand-down data: offsets above the limit are the valid ones -----------------
        mov     dword [EXPDN_BASE + 0x1000], 0xA1A2A3A4
        mov     dword [EXPDN_BASE + 0x7000], 0xB1B2B3B4
        mov     dword [EXPDN_BASE + 0xFFFC], 0xC1C2C3C4
        mov     ax, SEL_D_EXPDN32               ; limit 0xFFF, B=1: 0x1000..0xFFFFFFFF
        mov     es, ax
        EXPECT  .ed_r1
        mov     eax, [es:0x1000]                ; lowest valid offset
        mov     [VARS], eax
        mov     eax, [es:0x7000]
        mov     [VARS + 4], eax
.ed_r1: CHECK_NOEXC "expand_down: B=1 offsets above limit"
        CHECK   [VARS], 0xA1A2A3A4, "expand_down: B=1 read at limit+1"
        CHECK   [VARS + 4], 0xB1B2B3B4, "expand_down: B=1 read"
        mov     ax, SEL_D_EXPDN16               ; limit 0xFFF, B=0: 0x1000..0xFFFF
        mov     es, ax
        EXPECT  .ed_r2
        mov     eax, [es:0xFFFC]                ; last dword below the 64 KiB top
        mov     [VARS], eax
.ed_r2: CHECK_NOEXC "expand_down: B=0 top dword"
        CHECK   [VARS], 0xC1C2C3C4, "expand_down: B=0 read"
        mov     ax, SEL_DATA32
        mov     es, ax
        ; an expand-down stack segment: pushes and pops above its limit
        mov     ax, SEL_S_EXPDN                 ; base 0, limit 0x5FFF
        mov     ss, ax
        EXPECT  .ed_r3
        mov     ebx, 0x13572468
        push    ebx
        pop     ecx
        mov     [VARS], ecx
.ed_r3: mov     ax, SEL_DATA32
        mov     ss, ax
        CHECK_NOEXC "expand_down: stack push/pop"
        CHECK   [VARS], 0x13572468, "expand_down: stack data"
        OK      "expand_down: valid range is limit+1..top (B=1 4 GiB, B=0 64 KiB)"

        ; ---- LAR ----------------------------------------------------------------
        LAR_OK  SEL_D_SMALL, 0x00409300, "lar: data segment"
        LAR_OK  SEL_C_XONLY, 0x00409900, "lar: execute-only code"
        LAR_OK  SEL_C_CONF | 3, 0x00409F00, "lar: conforming code, RPL3"
        LAR_OK  SEL_D_DPL3 | 3, 0x00C0F300, "lar: DPL3 data, RPL3"
        LAR_OK  SEL_CALLGATE, 0x00008C00, "lar: call gate"
        LAR_OK  SEL_TSSD, 0x00008900, "lar: available TSS"
        LAR_OK  SEL_LDTD, 0x00008200, "lar: LDT"
        LAR_OK  SEL_D_NP, 0x00801300, "lar: not-present segment (P not checked)"
        LAR_BAD 0, "lar: null selector"
        LAR_BAD SEL_BEYOND, "lar: beyond GDT limit"
        LAR_BAD SEL_INTGATE, "lar: interrupt gate type"
        LAR_BAD SEL_D_SMALL | 3, "lar: RPL3 > DPL0"
        OK      "lar: access rights and ZF for segments, gates, TSS, LDT, null, RPL"

        ; ---- LSL ----------------------------------------------------------------
        LSL_OK  SEL_D_SMALL, 0xFF, "lsl: byte granular"
        LSL_OK  SEL_D_RO_BIG, 0xFFFFFFFF, "lsl: page granular 4 GiB"
        LSL_OK  SEL_D_PAGE0, 0xFFF, "lsl: G=1 limit 0"
        LSL_OK  SEL_D_EXPDN32, 0x0FFF, "lsl: expand-down (raw limit)"
        LSL_OK  SEL_TSSD, 0x67, "lsl: TSS"
        LSL_OK  SEL_D_NP, 0x5FFF, "lsl: not-present segment"
        LSL_BAD SEL_CALLGATE, "lsl: call gate has no limit"
        LSL_BAD 0, "lsl: null selector"
        LSL_BAD SEL_D_SMALL | 3, "lsl: RPL3 > DPL0"
        OK      "lsl: scaled limits and ZF, gates rejected"

        ; ---- VERR / VERW --------------------------------------------------------------
        VERX    verr, SEL_D_SMALL, 1, "verr: RW data"
        VERX    verw, SEL_D_SMALL, 1, "verw: RW data"
        VERX    verr, SEL_D_RO_BIG, 1, "verr: RO data"
        VERX    verw, SEL_D_RO_BIG, 0, "verw: RO data"
        VERX    verr, SEL_CODE32, 1, "verr: readable code"
        VERX    verw, SEL_CODE32, 0, "verw: code"
        VERX    verr, SEL_C_XONLY, 0, "verr: execute-only code"
        VERX    verr, SEL_C_CONF | 3, 1, "verr: conforming code, RPL3"
        VERX    verr, SEL_D_DPL3 | 3, 1, "verr: DPL3 data, RPL3"
        VERX    verr, SEL_D_SMALL | 3, 0, "verr: RPL3 > DPL0"
        VERX    verw, SEL_D_SMALL | 3, 0, "verw: RPL3 > DPL0"
        VERX    verr, SEL_TSSD, 0, "verr: TSS"
        VERX    verr, 0, 0, "verr: null"
        VERX    verw, SEL_BEYOND, 0, "verw: beyond GDT limit"
        OK      "verr_verw: readable/writable checks with DPL and RPL"

        ; ---- ARPL --------------------------------------------------------------------
        mov     eax, 0xABCD0040                 ; RPL 0
        mov     ebx, 0x00000003                 ; RPL 3
        arpl    ax, bx
        setz    cl
        CHECK   eax, 0xABCD0043, "arpl: RPL raised"
        movzx   eax, cl
        CHECK   eax, 1, "arpl: ZF set on change"
        mov     eax, 0x00000043
        mov     ebx, 0x00000001                 ; lower RPL: no change
        arpl    ax, bx
        setz    cl
        CHECK   eax, 0x43, "arpl: no change"
        movzx   eax, cl
        CHECK   eax, 0, "arpl: ZF clear when unchanged"
        mov     word [SCRATCH], 0x0011
        mov     ebx, 2
        arpl    word [SCRATCH], bx
        setz    cl
        movzx   eax, word [SCRATCH]
        CHECK   eax, 0x12, "arpl: memory operand"
        movzx   eax, cl
        CHECK   eax, 1, "arpl: memory operand ZF"
        OK      "arpl: raises RPL, ZF, register and memory forms"

        ; ---- back to real mode (SDM 9.9.2) -----------------------------------------------
        jmp     SEL_CODE16:to_real16            ; 16-bit CS with a 64 KiB limit
        bits    16
to_real16:
        mov     ax, SEL_DATA16                  ; 64 KiB, byte granular, expand-up, RW
        mov     ds, ax
        mov     es, ax
        mov     fs, ax
        mov     gs, ax
        mov     ss, ax
        o32 lidt [cs:real_idtr]                 ; real-mode IVT at 0
        mov     eax, cr0
        and     al, 0xFE                        ; clear PE
        mov     cr0, eax
        jmp     0xF000:real_again               ; real-mode CS
real_again:
        xor     ax, ax                          ; real-mode segment values
        mov     ss, ax
        mov     sp, 0x7C00
        mov     ds, ax
        mov     es, ax
        mov     fs, ax
        mov     gs, ax
        smsw    ax
        and     eax, 1
        CHECK16 eax, 0, "pm_to_real: CR0.PE"
        mov     ax, cs
        movzx   eax, ax
        CHECK16 eax, 0xF000, "pm_to_real: CS"
        mov     ax, MARK16 >> 4                 ; base = selector * 16 again
        mov     ds, ax
        movzx   eax, word [0]
        CHECK16 eax, 0x1234, "pm_to_real: DS base = seg*16"
        xor     ax, ax
        mov     ds, ax
        ; real-mode interrupt through the IVT
        mov     word [0x60 * 4], real_int60
        mov     word [0x60 * 4 + 2], 0xF000
        mov     word [VARS], 0
        int     0x60
        movzx   eax, word [VARS]
        CHECK16 eax, 0x6060, "pm_to_real: INT via IVT"
        OK16    "pm_to_real: PE cleared, CS/DS real-mode bases, IVT interrupts"
        PASS

real_int60:
        mov     word [VARS], 0x6060
        iret

real_idtr:
        dw      0x3FF
        dd      0

        bits    32

; ---- code reached through SEL_C_LIM (same base as CODE32, limit lim_end - 1) ------------
lim_edge:
        mov     dword [SCRATCH], 0x600D
        jmp     SEL_CODE32:cs_limit_back        ; its last byte is at the limit
lim_end:
        jmp     SEL_CODE32:lim_fail             ; never runs through SEL_C_LIM
lim_fail:
        PRINT32 "cs_limit: executed past the limit", 13, 10
        FAIL32

; ---- the test descriptors -------------------------------------------------------------
setup_descs:
        DESC_AT SEL_D_SMALL,   SCRATCH, 0xFF,    0x93, 0x40
        DESC_AT SEL_D_RO_BIG,  0,       0xFFFFF, 0x91, 0xC0
        DESC_AT SEL_C_XONLY,   ROMBASE, 0xFFFF,  0x99, 0x40
        DESC_AT SEL_D_DPL3,    0,       0xFFFFF, 0xF3, 0xC0
        DESC_AT SEL_INTGATE,   0,       0,       0x8E, 0x00
        DESC_AT SEL_TSSD,      SCRATCH + 0x400, 0x67, 0x89, 0x00
        DESC_AT SEL_D_EXPDN32, EXPDN_BASE,     0x0FFF,  0x97, 0x40
        DESC_AT SEL_D_EXPDN16, EXPDN_BASE,     0x0FFF,  0x97, 0x00
        DESC_AT SEL_C_CONF,    ROMBASE, 0xFFFF,  0x9F, 0x40
        DESC_AT SEL_D_NP,      0,       5,       0x13, 0x80
        DESC_AT SEL_LDTD,      SCRATCH + 0x600, 0x0F, 0x82, 0x00
        DESC_AT SEL_C_LIM,     ROMBASE, lim_end - 1, 0x9B, 0x40
        DESC_AT SEL_D_PAGE0,   SCRATCH, 0,       0x93, 0x80
        DESC_AT SEL_S_EXPDN,   0,       0x5FFF,  0x97, 0x40
        mov     eax, SEL_CALLGATE
        mov     ebx, lim_fail
        mov     cx, SEL_CODE32
        mov     dx, 0x008C                      ; 32-bit call gate, DPL0, 0 params
        call    set_gate
        ret

        bits    16
ROM_END
