; v86 — virtual-8086 mode (Intel SDM vol. 3, chapter 20), without CR4.VME:
; entering it with IRET (VM=1) from 32-bit ring 0, real-mode addressing,
; INT n to a ring-0 handler (the v86 segment registers pushed and the data
; segment registers nulled), IRET back into v86, the IOPL-sensitive
; instructions (CLI, STI, PUSHF, POPF, INT n, IRET) with IOPL < 3, I/O
; through the TSS bitmap whatever the IOPL, instructions v86 code may not
; use, and leaving v86 mode for good.
;
; V86 code is 16-bit code in this ROM, run as segment F000.  It ends by
; INT 0x30 (IOPL 3) or by faulting (HLT is a handy #GP(0) exit); either way
; the recording handler resumes the ring-0 test at its EXPECT label.

%include "testrom.inc"
%include "sysprot.inc"

; v86 segment values and what they map to
V86_CS          equ 0xF000
V86_SS          equ 0x0800          ; stack 0x8000-0x9000
V86_SP          equ 0x1000
V86_DS          equ 0x0400          ; observations: linear 0x4000
V86_ES          equ 0x0410
V86_FS          equ 0x0420
V86_GS          equ 0x0430
OBS             equ V86_DS * 16

SEL_C32_DPL3    equ SEL_CODE32_R3   ; a gate to DPL3 code may not be used from v86

; what the INT 0x31 handler (ring 0, IRETs back) saw
I31_COUNT       equ VARS + 0x00
I31_ESP         equ VARS + 0x04
I31_DS          equ VARS + 0x08
I31_ES          equ VARS + 0x0C

; TO_V86 ip, eflags (VM is added): IRET from ring 0 into v86 at F000:ip
%macro TO_V86 2
        push    dword V86_GS
        push    dword V86_FS
        push    dword V86_DS
        push    dword V86_ES
        push    dword V86_SS
        push    dword V86_SP
        push    dword (%2) | EFL_VM
        push    dword V86_CS
        push    dword %1
        iretd
%endmacro

; V86_FAULT "what", vector, error, eflags, instruction (16-bit code):
; the instruction, first thing in v86, must fault and point at itself.
%macro V86_FAULT 5+
        EXPECT  %%r
        TO_V86  %%f, %4
        bits    16
%%f:    %5
        hlt                                     ; (a #GP here means no fault above)
        bits    32
%%r:    CHECK_EXC %2, %3, %%f, %1
        CHECK   [REC_CS], V86_CS, %1, " pushed CS"
        CHECKM  [REC_EFL], EFL_VM, EFL_VM, %1, " pushed VM"
%endmacro

; V86_OK "what", eflags, instruction: must not fault; the following HLT
; (#GP(0)) is the way out.
%macro V86_OK 3+
        EXPECT  %%r
        TO_V86  %%f, %2
        bits    16
%%f:    %3
%%h:    hlt
        bits    32
%%r:    CHECK_EXC 13, 0, %%h, %1
%endmacro

rom_start:
        SYS_ENTER_PM32
        call    setup

; ---- enter v86 with IRET, look around, leave with INT 0x30 -----------------------------
t_enter:
        mov     edi, OBS                        ; clear the observation area
        mov     ecx, 0x40
        xor     eax, eax
        rep     stosd
        mov     dword [OBS + 0x40], 0x600DF00D  ; for v86 to read at DS:0040
        mov     dword [0x179B8], 0
        EXPECT  .back
        TO_V86  .v, 0x3002                      ; IOPL 3
        bits    16
.v:     mov     [0x00], cs                      ; DS = V86_DS: linear 0x4000
        mov     [0x02], ss
        mov     [0x04], sp
        mov     [0x06], es
        mov     [0x08], fs
        mov     [0x0A], gs
        mov     eax, [0x40]                     ; read through DS base 0x4000
        mov     [0x0C], eax
        smsw    ax
        mov     [0x10], ax
        pushf                                   ; IOPL 3: allowed
        pop     ax
        mov     [0x12], ax
        mov     word [es:0x20], 0xBEEF          ; ES base 0x4100
        mov     ax, 0x1234                      ; real-mode segment arithmetic
        mov     es, ax
        mov     word [es:0x5678], 0x4242        ; 0x12340 + 0x5678 = 0x179B8
        push    word 0x7777                     ; on the v86 stack: 0x8000 + 0x0FFE
.int:   int     0x30
        bits    32
.back:  DISARM
        movzx   eax, word [OBS + 0x00]
        CHECK   eax, V86_CS, "enter_v86: CS"
        movzx   eax, word [OBS + 0x02]
        CHECK   eax, V86_SS, "enter_v86: SS"
        movzx   eax, word [OBS + 0x04]
        CHECK   eax, V86_SP, "enter_v86: SP"
        movzx   eax, word [OBS + 0x06]
        CHECK   eax, V86_ES, "enter_v86: ES"
        movzx   eax, word [OBS + 0x08]
        CHECK   eax, V86_FS, "enter_v86: FS"
        movzx   eax, word [OBS + 0x0A]
        CHECK   eax, V86_GS, "enter_v86: GS"
        CHECK   [OBS + 0x0C], 0x600DF00D, "enter_v86: read via DS base"
        movzx   eax, word [OBS + 0x10]
        CHECKM  eax, 1, 1, "enter_v86: SMSW shows PE"
        movzx   eax, word [OBS + 0x12]
        CHECKM  eax, 0x3000, 0x3000, "enter_v86: PUSHF shows IOPL 3"
        movzx   eax, word [V86_ES * 16 + 0x20]
        CHECK   eax, 0xBEEF, "enter_v86: write via ES base"
        movzx   eax, word [0x179B8]
        CHECK   eax, 0x4242, "enter_v86: seg*16+off"
        movzx   eax, word [V86_SS * 16 + V86_SP - 2]
        CHECK   eax, 0x7777, "enter_v86: push via SS base"
        OK      "enter_v86: IRET with VM=1 loads CS:IP SS:SP ES DS FS GS, seg*16+off addressing"

        ; the INT 0x30 frame
        CHECK   [REC_VEC], 0x30, "int_from_v86: vector"
        CHECK   [REC_EIP], .int + 2, "int_from_v86: pushed EIP"
        CHECK   [REC_CS], V86_CS, "int_from_v86: pushed CS"
        CHECKM  [REC_EFL], EFL_VM | 0x3000, EFL_VM | 0x3000, "int_from_v86: pushed EFLAGS VM, IOPL"
        CHECK   [REC_ESP], V86_SP - 2, "int_from_v86: pushed ESP"
        CHECK   [REC_SS], V86_SS, "int_from_v86: pushed SS"
        CHECK   [REC_ES], 0x1234, "int_from_v86: pushed ES"
        CHECK   [REC_DS], V86_DS, "int_from_v86: pushed DS"
        CHECK   [REC_FS], V86_FS, "int_from_v86: pushed FS"
        CHECK   [REC_GS], V86_GS, "int_from_v86: pushed GS"
        CHECK   [REC_HDS], 0, "int_from_v86: handler DS nulled"
        CHECK   [REC_HES], 0, "int_from_v86: handler ES nulled"
        CHECK   [REC_HFS], 0, "int_from_v86: handler FS nulled"
        CHECK   [REC_HGS], 0, "int_from_v86: handler GS nulled"
        CHECK   [REC_HSS], SEL_DATA32, "int_from_v86: handler SS = TSS.SS0"
        CHECK   [REC_HESP], STACK_R0T_TOP - 36, "int_from_v86: handler ESP = TSS.ESP0 - 36"
        CHECKM  [REC_HFL], EFL_IF, 0, "int_from_v86: handler runs with IF=0"
        OK      "int_from_v86: INT n (IOPL3) pushes GS FS DS ES SS ESP EFLAGS CS EIP, nulls DS-GS"

; ---- a ring-0 handler IRETs back into v86 ----------------------------------------------------
t_iret:
        mov     dword [I31_COUNT], 0
        mov     dword [OBS + 0x400], 0
        EXPECT  .back
        TO_V86  .v, 0x3002
        bits    16
.v:     mov     eax, 0x11111111
        int     0x31                            ; handler: EAX = 0xCAFE, DS := 0x0440
        mov     [0x00], ax                      ; DS is now 0x0440: linear 0x4400
        mov     [0x02], ds
        mov     [0x04], cs
        mov     [0x06], ss
        mov     [0x08], sp
        mov     [0x0A], es
        int     0x30
        bits    32
.back:  DISARM
        CHECK   [REC_VEC], 0x30, "iret_to_v86: back in v86 after IRET"
        CHECK   [I31_COUNT], 1, "iret_to_v86: handler ran once"
        CHECK   [I31_DS], 0, "iret_to_v86: handler DS null"
        CHECK   [I31_ESP], STACK_R0T_TOP - 36, "iret_to_v86: handler ESP"
        movzx   eax, word [OBS + 0x400]
        CHECK   eax, 0xCAFE, "iret_to_v86: EAX from the handler"
        movzx   eax, word [OBS + 0x402]
        CHECK   eax, 0x0440, "iret_to_v86: DS from the IRET frame"
        movzx   eax, word [OBS + 0x404]
        CHECK   eax, V86_CS, "iret_to_v86: CS"
        movzx   eax, word [OBS + 0x406]
        CHECK   eax, V86_SS, "iret_to_v86: SS"
        movzx   eax, word [OBS + 0x408]
        CHECK   eax, V86_SP, "iret_to_v86: SP"
        movzx   eax, word [OBS + 0x40A]
        CHECK   eax, V86_ES, "iret_to_v86: ES"
        OK      "iret_to_v86: ring-0 IRET with VM=1 in the frame resumes v86 with its segments"

; ---- IOPL < 3: the IOPL-sensitive instructions fault ----------------------------------------------
t_iopl0:
        V86_FAULT "v86_iopl0: CLI", 13, 0, 0x0002, cli
        V86_FAULT "v86_iopl0: STI", 13, 0, 0x0002, sti
        V86_FAULT "v86_iopl0: PUSHF", 13, 0, 0x0002, pushf
        V86_FAULT "v86_iopl0: POPF", 13, 0, 0x0002, popf
        V86_FAULT "v86_iopl0: PUSHFD", 13, 0, 0x0002, pushfd
        V86_FAULT "v86_iopl0: POPFD", 13, 0, 0x0002, popfd
        V86_FAULT "v86_iopl0: INT 0x30", 13, 0, 0x0002, int 0x30
        V86_FAULT "v86_iopl0: INT 3 (CD 03)", 13, 0, 0x1002, db 0xCD, 0x03
        V86_FAULT "v86_iopl0: IRET", 13, 0, 0x1002, iret
        ; INT3 (CC) is not IOPL-sensitive: delivered through the DPL3 gate
        EXPECT  .r1
        TO_V86  .v1, 0x0002
        bits    16
.v1:    int3
        bits    32
.r1:    CHECK_EXC 3, 0, .v1 + 1, "v86_iopl0: INT3 (CC) delivered"
        CHECK   [REC_CS], V86_CS, "v86_iopl0: INT3 pushed CS"
        OK      "v86_iopl0: #GP(0) for CLI STI PUSHF POPF INT n IRET with IOPL<3; INT3 (CC) goes through"

; ---- IOPL = 3: the same instructions work -------------------------------------------------------
t_iopl3:
        mov     word [OBS], 0
        V86_OK  "v86_iopl3: CLI", 0x3002, cli
        V86_OK  "v86_iopl3: STI", 0x3002, sti
        ; POPF at IOPL 3 changes IF but never IOPL
        EXPECT  .r1
        TO_V86  .v1, 0x3002
        bits    16
.v1:    push    word 0x0202                     ; IOPL 0, IF 1
        popf
        pushf
        pop     ax
        mov     [0x00], ax
        int     0x30
        bits    32
.r1:    DISARM
        CHECK   [REC_VEC], 0x30, "v86_iopl3: POPF/PUSHF did not fault"
        movzx   eax, word [OBS]
        CHECKM  eax, 0x3200, 0x3200, "v86_iopl3: POPF kept IOPL 3, set IF"
        OK      "v86_iopl3: CLI/STI/PUSHF/POPF/INT n allowed with IOPL 3, POPF cannot change IOPL"

; ---- I/O in v86: only the TSS bitmap counts ------------------------------------------------------
t_io:   ; (EDX is set before each step: the checks clobber it)
        mov     edx, 0x3FD                      ; allowed in the bitmap
        V86_OK  "v86_io: IN 0x3FD (IOPL0)", 0x0002, in al, dx
        mov     edx, 0x3FD
        V86_OK  "v86_io: IN 0x3FD (IOPL3)", 0x3002, in al, dx
        mov     edx, 0x3FE                      ; denied in the bitmap
        V86_FAULT "v86_io: IN 0x3FE (IOPL0)", 13, 0, 0x0002, in al, dx
        mov     edx, 0x3FE
        V86_FAULT "v86_io: IN 0x3FE (IOPL3)", 13, 0, 0x3002, in al, dx
        V86_FAULT "v86_io: OUT 0x80 (IOPL3)", 13, 0, 0x3002, out 0x80, al
        OK      "v86_io: I/O permission comes from the TSS bitmap even with IOPL 3"

; ---- instructions v86 code may not use --------------------------------------------------------
t_priv:
        V86_FAULT "v86_priv: HLT", 13, 0, 0x3002, hlt
        V86_FAULT "v86_priv: MOV EAX,CR0", 13, 0, 0x3002, mov eax, cr0
        V86_FAULT "v86_priv: LIDT", 13, 0, 0x3002, lidt [0]
        V86_FAULT "v86_priv: STR", 6, 0, 0x3002, str ax
        V86_FAULT "v86_priv: LAR", 6, 0, 0x3002, lar ax, bx
        V86_FAULT "v86_priv: ARPL", 6, 0, 0x3002, arpl ax, bx
        OK      "v86_priv: #GP(0) for HLT, MOV CRn, LIDT; #UD for STR, LAR, ARPL"

; ---- IDT gate checks for INT n from v86 --------------------------------------------------------
t_gates:
        V86_FAULT "v86_gates: INT via DPL0 gate", 13, 0x32 * 8 + 2, 0x3002, int 0x32
        V86_FAULT "v86_gates: INT via gate to DPL3 code", 13, SEL_C32_DPL3 & 0xFFFC, 0x3002, int 0x33
        OK      "v86_gates: #GP(vector*8+2) for a DPL0 gate, #GP(sel) for a gate to non-DPL0 code"

; ---- leave v86 for good ---------------------------------------------------------------------
t_leave:
        EXPECT  .back
        TO_V86  .v, 0x3002
        bits    16
.v:     int     0x30                            ; the ring-0 side simply never returns
        bits    32
.back:  DISARM
        xor     eax, eax
        mov     ax, cs
        CHECK   eax, SEL_CODE32, "leave_v86: CS is a protected-mode selector"
        str     ax                              ; #UD in v86, fine in protected mode
        movzx   eax, ax
        CHECK   eax, SEL_TSS0, "leave_v86: STR works"
        mov     ax, SEL_DATA32                  ; selectors mean descriptors again
        mov     ds, ax
        mov     dword [OBS], 0x12345678
        CHECK   [OBS], 0x12345678, "leave_v86: flat data"
        OK      "leave_v86: after INT to ring 0 the CPU stays in 32-bit protected mode"

        PASS32

; ---- INT 0x31 handler: ring 0, returns to v86 -----------------------------------------------
; Frame: EIP, CS, EFLAGS, ESP, SS, ES, DS, FS, GS.  DS-GS are null here, so
; use SS (TSS.SS0, flat).
v86_int31:
        inc     dword [ss:I31_COUNT]
        mov     [ss:I31_ESP], esp
        xor     eax, eax
        mov     ax, ds
        mov     [ss:I31_DS], eax
        mov     ax, es
        mov     [ss:I31_ES], eax
        mov     word [esp + 24], 0x0440         ; v86 DS after the IRET
        mov     eax, 0xCAFE
        iretd

setup:
        GATE    0x30, 0xEE                      ; DPL3 interrupt gates to the recorder
        GATE    3, 0xEE
        mov     eax, 0x31                       ; DPL3 gate to the IRET-ing handler
        mov     ebx, v86_int31
        mov     cx, SEL_CODE32
        mov     dl, 0xEE
        call    set_idt_gate
        GATE    0x32, 0x8E                      ; DPL0 gate
        mov     eax, 0x33                       ; DPL3 gate to DPL3 code
        mov     ebx, sys_exc_stubs + 0x33 * 16
        mov     cx, SEL_C32_DPL3
        mov     dl, 0xEE
        call    set_idt_gate
        ret

        bits    16
ROM_END
