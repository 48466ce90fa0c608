; task_switch — hardware task switching (Intel SDM vol. 3, chapter 7):
; JMP to a TSS descriptor, CALL through a task gate and IRET back (NT and
; the previous-task link), INT n and an exception through IDT task gates,
; busy bits, what is saved in the old TSS and loaded from the new one,
; CR0.TS, LTR/STR, and #TS/#NP/#GP for bad task switches.
;
; The ROM starts in TSS0 (loaded by sysprot.inc).  The other tasks record
; what they see in RAM and switch back; the main task checks and prints.

%include "testrom.inc"
%include "sysprot.inc"

SEL_TSS1        equ 0x40        ; available 32-bit TSS at TSS1
SEL_TSS2        equ 0x48        ; ... at TSS2
SEL_TSS3        equ 0x50        ; ... at TSS3 (#GP handler task)
SEL_TGATE2      equ 0x58        ; task gate (in the GDT) -> SEL_TSS2
SEL_TSS_SHORT   equ 0x60        ; TSS with limit 0x50 < 0x67
SEL_TSS_NP      equ 0x68        ; TSS not present
SEL_BEYOND      equ 0x0FF8

; what task 1 saw
T1_REGS         equ VARS + 0x00     ; EAX ECX EDX EBX ESP EBP ESI EDI (8 dwords)
T1_EFL          equ VARS + 0x20
T1_TR           equ VARS + 0x24
T1_CR0          equ VARS + 0x28
T1_TYPE0        equ VARS + 0x2C     ; access byte of the TSS0 descriptor
T1_TYPE1        equ VARS + 0x30     ; ... of TSS1
T1_ES           equ VARS + 0x34
T1_FS           equ VARS + 0x38
; what the main task has after coming back
M_REGS          equ VARS + 0x40     ; 8 dwords, TSS order
M_EFL           equ VARS + 0x60
M_ES            equ VARS + 0x64
M_BEFORE_ESP    equ VARS + 0x68
; what task 2 / task 3 saw
T2_EFL          equ VARS + 0x80
T2_TR           equ VARS + 0x84
T2_LINK         equ VARS + 0x88
T2_TYPE0        equ VARS + 0x8C
T2_TYPE2        equ VARS + 0x90
T2_EAX          equ VARS + 0x94
T2_RUNS         equ VARS + 0x98
T3_ERR          equ VARS + 0xA0
T3_ESP          equ VARS + 0xA4
T3_EFL          equ VARS + 0xA8
T3_LINK         equ VARS + 0xAC
T3_OLD_EIP      equ VARS + 0xB0

STACK_T3_TOP    equ SCRATCH + 0x800     ; 0x4800

; TYPE_OF sel: the access byte of a GDT descriptor, zero-extended, in EAX
%macro TYPE_OF 1
        movzx   eax, byte [GDT_BASE + ((%1) & 0xFFF8) + 5]
%endmacro

rom_start:
        SYS_ENTER_PM32
        call    setup

; ---- JMP to a TSS: save into TSS0, load from TSS1, and JMP back -----------------------
t_jmp:
        mov     edi, TSS1
        mov     ebx, task1
        mov     ecx, STACK_T1_TOP
        call    init_tss
        mov     dword [TSS1 + TSS_EAX], 0x1A1A1A1A
        mov     dword [TSS1 + TSS_EBX], 0x1B1B1B1B
        mov     dword [TSS1 + TSS_ESI], 0x1C1C1C1C
        mov     dword [TSS1 + TSS_EBP], 0x1D1D1D1D
        mov     word [TSS1 + TSS_ES], SEL_DATA16
        mov     word [TSS1 + TSS_FS], 0         ; a null FS is fine in a TSS
        mov     dword [TSS1 + TSS_EFLAGS], 0x0002 | EFL_CF
        mov     word [TSS1 + TSS_LINK], 0x1234  ; JMP must not touch it
        clts
        mov     ax, SEL_DATA16                  ; recognisable main-task state
        mov     es, ax
        mov     eax, 0xA0A0A0A0
        mov     ebx, 0xB0B0B0B0
        mov     ecx, 0xC0C0C0C0
        mov     edx, 0xD0D0D0D0
        mov     esi, 0x51515151
        mov     edi, 0xD1D1D1D1
        mov     ebp, 0xBBBB0000
        mov     [M_BEFORE_ESP], esp
        push    dword 0x0002 | EFL_CF           ; CF = 1 in the saved EFLAGS
        popfd                                   ; (QEMU 7.2 loses a CF set by STC
                                                ;  right before the switching JMP)
.jmp:   jmp     SEL_TSS1:0                      ; offset ignored
.back:  ; task 1 jumped back: everything comes from TSS0
        mov     [M_REGS + 0], eax               ; TSS order: EAX ECX EDX EBX ESP EBP ESI EDI
        mov     [M_REGS + 4], ecx
        mov     [M_REGS + 8], edx
        mov     [M_REGS + 12], ebx
        mov     [M_REGS + 16], esp
        mov     [M_REGS + 20], ebp
        mov     [M_REGS + 24], esi
        mov     [M_REGS + 28], edi
        pushfd
        pop     dword [M_EFL]
        xor     eax, eax
        mov     ax, es
        mov     [M_ES], eax
        mov     ax, SEL_DATA32
        mov     es, ax
        ; what task 1 got from TSS1
        CHECK   [T1_REGS + 0], 0x1A1A1A1A, "jmp_tss: EAX from TSS1"
        CHECK   [T1_REGS + 12], 0x1B1B1B1B, "jmp_tss: EBX from TSS1"
        CHECK   [T1_REGS + 16], STACK_T1_TOP, "jmp_tss: ESP from TSS1"
        CHECK   [T1_REGS + 20], 0x1D1D1D1D, "jmp_tss: EBP from TSS1"
        CHECK   [T1_REGS + 24], 0x1C1C1C1C, "jmp_tss: ESI from TSS1"
        CHECKM  [T1_EFL], 0x4FD5, EFL_CF, "jmp_tss: EFLAGS from TSS1, NT=0"
        CHECK   [T1_ES], SEL_DATA16, "jmp_tss: ES from TSS1"
        CHECK   [T1_FS], 0, "jmp_tss: null FS from TSS1"
        CHECK   [T1_TR], SEL_TSS1, "jmp_tss: TR in task 1"
        CHECK   [T1_TYPE0], 0x89, "jmp_tss: old TSS0 not busy after JMP"
        CHECK   [T1_TYPE1], 0x8B, "jmp_tss: new TSS1 busy"
        movzx   eax, word [TSS1 + TSS_LINK]
        CHECK   eax, 0x1234, "jmp_tss: JMP leaves the link field"
        OK      "jmp_tss: JMP to a TSS loads registers/segments/EFLAGS from it, busy bits move"
        ; what was saved in TSS0 and restored from it
        CHECK   [TSS0 + TSS_EIP], .back, "saved_state: TSS0.EIP = after the JMP"
        CHECK   [TSS0 + TSS_EAX], 0xA0A0A0A0, "saved_state: TSS0.EAX"
        CHECK   [TSS0 + TSS_EBX], 0xB0B0B0B0, "saved_state: TSS0.EBX"
        CHECK   [TSS0 + TSS_ECX], 0xC0C0C0C0, "saved_state: TSS0.ECX"
        CHECK   [TSS0 + TSS_EDX], 0xD0D0D0D0, "saved_state: TSS0.EDX"
        CHECK   [TSS0 + TSS_ESI], 0x51515151, "saved_state: TSS0.ESI"
        CHECK   [TSS0 + TSS_EDI], 0xD1D1D1D1, "saved_state: TSS0.EDI"
        CHECK   [TSS0 + TSS_EBP], 0xBBBB0000, "saved_state: TSS0.EBP"
        mov     ebx, [M_BEFORE_ESP]
        CHECK   [TSS0 + TSS_ESP], ebx, "saved_state: TSS0.ESP"
        CHECKM  [TSS0 + TSS_EFLAGS], EFL_CF, EFL_CF, "saved_state: TSS0.EFLAGS"
        CHECKM  [TSS0 + TSS_CS], 0xFFFF, SEL_CODE32, "saved_state: TSS0.CS"
        CHECKM  [TSS0 + TSS_SS], 0xFFFF, SEL_DATA32, "saved_state: TSS0.SS"
        CHECKM  [TSS0 + TSS_DS], 0xFFFF, SEL_DATA32, "saved_state: TSS0.DS"
        CHECKM  [TSS0 + TSS_ES], 0xFFFF, SEL_DATA16, "saved_state: TSS0.ES"
        CHECK   [M_REGS + 0], 0xA0A0A0A0, "saved_state: EAX restored"
        CHECK   [M_REGS + 4], 0xC0C0C0C0, "saved_state: ECX restored"
        CHECK   [M_REGS + 8], 0xD0D0D0D0, "saved_state: EDX restored"
        CHECK   [M_REGS + 12], 0xB0B0B0B0, "saved_state: EBX restored"
        mov     ebx, [M_BEFORE_ESP]
        CHECK   [M_REGS + 16], ebx, "saved_state: ESP restored"
        CHECK   [M_REGS + 20], 0xBBBB0000, "saved_state: EBP restored"
        CHECK   [M_REGS + 24], 0x51515151, "saved_state: ESI restored"
        CHECK   [M_REGS + 28], 0xD1D1D1D1, "saved_state: EDI restored"
        CHECKM  [M_EFL], EFL_CF, EFL_CF, "saved_state: EFLAGS restored"
        CHECK   [M_ES], SEL_DATA16, "saved_state: ES restored"
        CHECK   [TSS1 + TSS_EIP], task1.after, "saved_state: TSS1.EIP after its JMP back"
        TYPE_OF SEL_TSS1
        CHECK   eax, 0x89, "saved_state: TSS1 not busy after JMP back"
        TYPE_OF SEL_TSS0
        CHECK   eax, 0x8B, "saved_state: TSS0 busy again"
        OK      "saved_state: old task's EIP/GPRs/EFLAGS/segments saved in its TSS and restored"

; ---- CR0.TS after a task switch ----------------------------------------------------------
t_ts:
        CHECKM  [T1_CR0], 0x08, 0x08, "cr0_ts: TS set in task 1"
        mov     eax, cr0
        CHECKM  eax, 0x08, 0x08, "cr0_ts: TS set after switching back"
        EXPECT  .r1
.f1:    fnop
.r1:    CHECK_EXC 7, 0, .f1, "cr0_ts: FNOP with TS set"
        clts
        mov     eax, cr0
        CHECKM  eax, 0x08, 0, "cr0_ts: CLTS clears TS"
        OK      "cr0_ts: every task switch sets CR0.TS, FPU use then gives #NM, CLTS clears it"

; ---- CALL through a task gate, IRET back ---------------------------------------------------
t_call:
        mov     edi, TSS2
        mov     ebx, task2
        mov     ecx, STACK_T2_TOP
        call    init_tss
        mov     dword [TSS2 + TSS_EAX], 0x2A2A2A2A
        mov     dword [T2_RUNS], 0
        mov     [M_BEFORE_ESP], esp
        call    SEL_TGATE2:0
.back:  mov     [M_REGS], esp
        pushfd
        pop     dword [M_EFL]
        CHECK   [T2_RUNS], 1, "call_task_gate: task 2 ran once"
        CHECK   [T2_EAX], 0x2A2A2A2A, "call_task_gate: EAX from TSS2"
        CHECK   [T2_TR], SEL_TSS2, "call_task_gate: TR in task 2"
        CHECKM  [T2_EFL], EFL_NT, EFL_NT, "call_task_gate: NT set in the called task"
        CHECK   [T2_LINK], SEL_TSS0, "call_task_gate: TSS2 link = TSS0"
        CHECK   [T2_TYPE0], 0x8B, "call_task_gate: caller TSS0 stays busy"
        CHECK   [T2_TYPE2], 0x8B, "call_task_gate: TSS2 busy"
        OK      "call_task_gate: CALL via task gate nests: NT=1, back link, both TSSs busy"
        ; after the IRET back
        str     ax
        movzx   eax, ax
        CHECK   eax, SEL_TSS0, "iret_nested: TR back to TSS0"
        TYPE_OF SEL_TSS2
        CHECK   eax, 0x89, "iret_nested: TSS2 no longer busy"
        TYPE_OF SEL_TSS0
        CHECK   eax, 0x8B, "iret_nested: TSS0 busy"
        CHECKM  [M_EFL], EFL_NT, 0, "iret_nested: NT of the caller (from TSS0)"
        CHECKM  [TSS2 + TSS_EFLAGS], EFL_NT, 0, "iret_nested: NT cleared in TSS2's saved EFLAGS"
        CHECK   [TSS2 + TSS_EIP], task2.after, "iret_nested: TSS2.EIP after its IRET"
        mov     ebx, [M_BEFORE_ESP]
        CHECK   [M_REGS], ebx, "iret_nested: caller ESP (no return address pushed)"
        OK      "iret_nested: IRET with NT=1 returns to the linked task, clears busy and saved NT"

; ---- INT n through an IDT task gate ------------------------------------------------------------
t_int:
        mov     edi, TSS2
        mov     ebx, task2
        mov     ecx, STACK_T2_TOP
        call    init_tss
        mov     dword [TSS2 + TSS_EAX], 0x2B2B2B2B
        mov     dword [T2_RUNS], 0
        mov     eax, 0x50
        xor     ebx, ebx
        mov     cx, SEL_TSS2
        mov     dl, 0x85                        ; task gate, DPL0
        call    set_idt_gate
        mov     [M_BEFORE_ESP], esp
.int:   int     0x50
.back:  mov     [M_REGS], esp
        CHECK   [T2_RUNS], 1, "int_task_gate: task 2 ran once"
        CHECK   [T2_EAX], 0x2B2B2B2B, "int_task_gate: EAX from TSS2"
        CHECKM  [T2_EFL], EFL_NT, EFL_NT, "int_task_gate: NT set"
        CHECK   [T2_LINK], SEL_TSS0, "int_task_gate: link = TSS0"
        CHECK   [TSS0 + TSS_EIP], .back, "int_task_gate: TSS0.EIP after INT"
        mov     ebx, [M_BEFORE_ESP]
        CHECK   [M_REGS], ebx, "int_task_gate: nothing pushed on the old stack"
        TYPE_OF SEL_TSS2
        CHECK   eax, 0x89, "int_task_gate: TSS2 free after IRET"
        mov     eax, 0x50
        call    restore_idt_gate
        OK      "int_task_gate: INT through an IDT task gate switches tasks (nested), IRET returns"

; ---- an exception through a task gate: the error code goes on the new task's stack ----------------
t_exc:
        mov     edi, TSS3
        mov     ebx, task3
        mov     ecx, STACK_T3_TOP
        call    init_tss
        mov     eax, 13
        xor     ebx, ebx
        mov     cx, SEL_TSS3
        mov     dl, 0x85
        call    set_idt_gate
        mov     ax, SEL_BEYOND
.f1:    mov     ds, ax                          ; #GP(0x0FF8) -> task 3
.r1:    mov     eax, 13
        call    restore_idt_gate
        CHECK   [T3_ERR], SEL_BEYOND, "exc_task_gate: error code on the new task's stack"
        CHECK   [T3_ESP], STACK_T3_TOP - 4, "exc_task_gate: ESP below the error code"
        CHECKM  [T3_EFL], EFL_NT, EFL_NT, "exc_task_gate: NT set"
        CHECK   [T3_LINK], SEL_TSS0, "exc_task_gate: link = TSS0"
        CHECK   [T3_OLD_EIP], .f1, "exc_task_gate: TSS0.EIP = the faulting instruction"
        OK      "exc_task_gate: #GP through a task gate pushes its error code in the new task"

; ---- busy TSSs ----------------------------------------------------------------------------------
t_busy:
        EXPECT  .r1
.f1:    jmp     SEL_TSS0:0                      ; ourselves: busy
.r1:    CHECK_EXC 13, SEL_TSS0, .f1, "busy_tss: JMP to the busy current TSS"
        EXPECT  .r2
.f2:    call    SEL_TSS0:0
.r2:    CHECK_EXC 13, SEL_TSS0, .f2, "busy_tss: CALL to the busy current TSS"
        or      byte [GDT_BASE + SEL_TSS1 + 5], 0x02    ; mark TSS1 busy by hand
        EXPECT  .r3
.f3:    jmp     SEL_TSS1:0
.r3:    CHECK_EXC 13, SEL_TSS1, .f3, "busy_tss: JMP to a busy TSS"
        EXPECT  .r4
.f4:    ltr     [cs:sel_tss1]                   ; LTR wants an available TSS too
.r4:    CHECK_EXC 13, SEL_TSS1, .f4, "busy_tss: LTR of a busy TSS"
        and     byte [GDT_BASE + SEL_TSS1 + 5], ~0x02
        ; IRET with NT = 1 needs the linked TSS to be busy
        mov     word [TSS0 + TSS_LINK], SEL_TSS1
        EXPECT  .r5
        pushfd
        or      dword [esp], EFL_NT
        popfd
.f5:    iretd
.r5:    CHECK_EXC 10, SEL_TSS1, .f5, "busy_tss: IRET (NT=1) to a TSS that is not busy"
        mov     word [TSS0 + TSS_LINK], 0
        OK      "busy_tss: #GP(sel) for JMP/CALL/LTR to a busy TSS, #TS(sel) for IRET to a free one"

; ---- LTR / STR ------------------------------------------------------------------------------
t_ltr:
        str     ax
        movzx   eax, ax
        CHECK   eax, SEL_TSS0, "ltr_str: STR"
        mov     ax, SEL_TSS1
        ltr     ax
        TYPE_OF SEL_TSS1
        CHECK   eax, 0x8B, "ltr_str: LTR marks the TSS busy"
        str     ax
        movzx   eax, ax
        CHECK   eax, SEL_TSS1, "ltr_str: STR after LTR"
        ; back to TSS0 (mark it free first), and free TSS1 again
        and     byte [GDT_BASE + SEL_TSS0 + 5], ~0x02
        mov     ax, SEL_TSS0
        ltr     ax
        and     byte [GDT_BASE + SEL_TSS1 + 5], ~0x02
        OK      "ltr_str: LTR loads TR and sets busy, STR reads it"

; ---- invalid task switches ---------------------------------------------------------------------
t_bad:
        EXPECT  .r1
.f1:    jmp     SEL_TSS_SHORT:0
.r1:    CHECK_EXC 10, SEL_TSS_SHORT, .f1, "bad_tss: TSS limit < 0x67"
        TYPE_OF SEL_TSS_SHORT
        CHECK   eax, 0x89, "bad_tss: short TSS not marked busy"
        str     ax
        movzx   eax, ax
        CHECK   eax, SEL_TSS0, "bad_tss: TR unchanged"
        EXPECT  .r2
.f2:    call    SEL_TSS_NP:0
.r2:    CHECK_EXC 11, SEL_TSS_NP, .f2, "bad_tss: TSS not present"
        OK      "bad_tss: #TS(sel) for a TSS limit below 0x67, #NP(sel) for an absent TSS"

        PASS32

; ---- the other tasks -------------------------------------------------------------------------------
task1:
        mov     [T1_REGS + 0], eax              ; as loaded from TSS1 (TSS order)
        mov     [T1_REGS + 4], ecx
        mov     [T1_REGS + 8], edx
        mov     [T1_REGS + 12], ebx
        mov     [T1_REGS + 16], esp
        mov     [T1_REGS + 20], ebp
        mov     [T1_REGS + 24], esi
        mov     [T1_REGS + 28], edi
        pushfd
        pop     dword [T1_EFL]
        xor     eax, eax
        str     ax
        mov     [T1_TR], eax
        mov     eax, cr0
        mov     [T1_CR0], eax
        TYPE_OF SEL_TSS0
        mov     [T1_TYPE0], eax
        TYPE_OF SEL_TSS1
        mov     [T1_TYPE1], eax
        xor     eax, eax
        mov     ax, es
        mov     [T1_ES], eax
        mov     ax, fs
        mov     [T1_FS], eax
        clts
        jmp     SEL_TSS0:0
.after: jmp     task1                           ; (only if resumed)

task2:
        pushfd
        pop     dword [T2_EFL]
        mov     [T2_EAX], eax
        inc     dword [T2_RUNS]
        xor     eax, eax
        str     ax
        mov     [T2_TR], eax
        movzx   eax, word [TSS2 + TSS_LINK]
        mov     [T2_LINK], eax
        TYPE_OF SEL_TSS0
        mov     [T2_TYPE0], eax
        TYPE_OF SEL_TSS2
        mov     [T2_TYPE2], eax
        iretd                                   ; NT = 1: back to the linked task
.after: jmp     task2

task3:                                          ; #GP handler task
        mov     eax, [esp]                      ; the error code
        mov     [T3_ERR], eax
        mov     [T3_ESP], esp
        pushfd
        pop     dword [T3_EFL]
        movzx   eax, word [TSS3 + TSS_LINK]
        mov     [T3_LINK], eax
        mov     eax, [TSS0 + TSS_EIP]
        mov     [T3_OLD_EIP], eax
        mov     dword [TSS0 + TSS_EIP], t_exc.r1    ; skip the faulting MOV
        add     esp, 4                          ; drop the error code
        iretd
        jmp     task3

sel_tss1:       dw SEL_TSS1

; init_tss: EDI = TSS base, EBX = EIP, ECX = ESP.  Ring-0 flat task, EFLAGS 2,
; no LDT, no I/O bitmap, CR3 as now.
init_tss:
        pushad
        push    ecx
        push    edi
        mov     ecx, 0x68 / 4
        xor     eax, eax
        rep     stosd
        pop     edi
        pop     ecx
        mov     [edi + TSS_EIP], ebx
        mov     [edi + TSS_ESP], ecx
        mov     dword [edi + TSS_EFLAGS], 0x0002
        mov     eax, cr3
        mov     [edi + TSS_CR3], eax
        mov     word [edi + TSS_CS], SEL_CODE32
        mov     word [edi + TSS_SS], SEL_DATA32
        mov     word [edi + TSS_DS], SEL_DATA32
        mov     word [edi + TSS_ES], SEL_DATA32
        mov     word [edi + TSS_FS], SEL_DATA32
        mov     word [edi + TSS_GS], SEL_DATA32
        mov     word [edi + TSS_SS0], SEL_DATA32
        mov     [edi + TSS_ESP0], ecx
        mov     word [edi + TSS_IOBASE], 0x68
        popad
        ret

setup:
        DESC_AT SEL_TSS1, TSS1, 0x67, 0x89, 0x00
        DESC_AT SEL_TSS2, TSS2, 0x67, 0x89, 0x00
        DESC_AT SEL_TSS3, TSS3, 0x67, 0x89, 0x00
        DESC_AT SEL_TSS_SHORT, SCRATCH + 0x400, 0x50, 0x89, 0x00
        DESC_AT SEL_TSS_NP, SCRATCH + 0x400, 0x67, 0x09, 0x00
        mov     eax, SEL_TGATE2
        xor     ebx, ebx
        mov     cx, SEL_TSS2
        mov     dx, 0x0085                      ; task gate, DPL0
        call    set_gate
        ret

        bits    16
ROM_END
