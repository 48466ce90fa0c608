; ring3 — privilege levels (Intel SDM vol. 3, chapters 5 and 6):
; IRET to ring 3, INT n through a DPL3 gate and call gates back to ring 0
; (stack switch from TSS.SS0:ESP0, parameter copying), RETF back out,
; privileged and I/O instructions at CPL 3 (IOPL, the TSS I/O bitmap),
; conforming code, DPL checks on segment loads, and the nulling of data
; segment registers on a return to an outer ring.
;
; Ring-3 code lives in the same ROM (CS = SEL_CODE32_R3, base F0000).  It
; leaves ring 3 with INT 0x80 (a DPL3 interrupt gate) or by faulting; either
; way the recording handler resumes the ring-0 test at its EXPECT label.
; Ring-3 code writes its observations with SS: overrides (its SS is the
; flat DPL3 data segment), because its DS may have been nulled.

%include "testrom.inc"
%include "sysprot.inc"

SEL_CG2         equ 0x40        ; call gate DPL3 -> cg_target, 2 dword params
SEL_C_CONF      equ 0x48        ; conforming readable 32-bit code, DPL0
SEL_CG_DPL0     equ 0x50        ; call gate DPL0 (ring 3 may not use it)

; observations written by ring-3 code
R3_CS           equ VARS + 0x00
R3_SS           equ VARS + 0x04
R3_ESP          equ VARS + 0x08
R3_DS           equ VARS + 0x0C
R3_ES           equ VARS + 0x10
R3_FS           equ VARS + 0x14
R3_GS           equ VARS + 0x18
R3_ESP_PARAMS   equ VARS + 0x1C     ; ESP after pushing the gate parameters
R3_ESP_BACK     equ VARS + 0x20     ; ESP after RETF 8
R3_DATA         equ VARS + 0x24
; observations written by the call-gate target (ring 0) / conforming code
CG_CS           equ VARS + 0x40
CG_SS           equ VARS + 0x44
CG_ESP          equ VARS + 0x48
CG_FRAME        equ VARS + 0x4C     ; 6 dwords: EIP, CS, param2, param1, ESP, SS
CF_CS           equ VARS + 0x70
CF_SS           equ VARS + 0x74
CF_ESP          equ VARS + 0x78

; TO_RING3 label [, eflags]: IRET to ring 3 at label with the ring-3 stack
%macro TO_RING3 1-2 0x0002
        push    dword SEL_DATA32_R3             ; SS
        push    dword STACK_R3_TOP              ; ESP
        push    dword %2                        ; EFLAGS
        push    dword SEL_CODE32_R3             ; CS
        push    dword %1                        ; EIP
        iretd
%endmacro

; R3SAVE dest, sreg: store a segment register (zero-extended) through SS
%macro R3SAVE 2
        xor     eax, eax
        mov     ax, %2
        mov     [ss:%1], eax
%endmacro

; R3_FAULT "what", vector, error, [eflags], instruction: run `instruction`
; as the first one in ring 3; it must fault with vector/error, pointing at it.
%macro R3_FAULT 5+
        EXPECT  %%r
        TO_RING3 %%f, %4
%%f:    %5
        int     0x80                            ; only if it did not fault
%%r:    CHECK_EXC %2, %3, %%f, %1
        CHECK   [REC_CS], SEL_CODE32_R3, %1, " pushed CS"
        CHECK   [REC_SS], SEL_DATA32_R3, %1, " pushed SS"
        CHECK   [REC_ESP], STACK_R3_TOP, %1, " pushed ESP"
%endmacro

; R3_OK "what", [eflags], instruction: must not fault in ring 3
%macro R3_OK 3+
        EXPECT  %%r
        TO_RING3 %%f, %2
%%f:    %3
        int     0x80
%%r:    DISARM
        CHECK   [REC_VEC], 0x80, %1, " (faulted)"
%endmacro

rom_start:
        SYS_ENTER_PM32
        call    setup

; ---- IRET to ring 3, INT 0x80 back ------------------------------------------------------
t_iret:
        mov     ax, SEL_DATA32_R3               ; a DPL3 segment in FS survives
        mov     fs, ax                          ; DS, ES, GS hold DPL0 data: nulled
        mov     dword [R3_CS], -1
        EXPECT  .back
        TO_RING3 .r3
.r3:    R3SAVE  R3_CS, cs
        R3SAVE  R3_SS, ss
        mov     [ss:R3_ESP], esp
        R3SAVE  R3_DS, ds
        R3SAVE  R3_ES, es
        R3SAVE  R3_FS, fs
        R3SAVE  R3_GS, gs
.int:   int     0x80
.back:  DISARM
        CHECK   [R3_CS], SEL_CODE32_R3, "iret_to_ring3: CS"
        CHECK   [R3_SS], SEL_DATA32_R3, "iret_to_ring3: SS"
        CHECK   [R3_ESP], STACK_R3_TOP, "iret_to_ring3: ESP"
        CHECK   [R3_DS], 0, "iret_to_ring3: DS (DPL0) nulled"
        CHECK   [R3_ES], 0, "iret_to_ring3: ES (DPL0) nulled"
        CHECK   [R3_GS], 0, "iret_to_ring3: GS (DPL0) nulled"
        CHECK   [R3_FS], SEL_DATA32_R3, "iret_to_ring3: FS (DPL3) kept"
        OK      "iret_to_ring3: CPL3 CS/SS:ESP from the frame, DPL0 DS/ES/GS nulled, DPL3 FS kept"

        ; what INT 0x80 did on the way in
        CHECK   [REC_VEC], 0x80, "int_dpl3_gate: vector"
        CHECK   [REC_EIP], .int + 2, "int_dpl3_gate: pushed EIP"
        CHECK   [REC_CS], SEL_CODE32_R3, "int_dpl3_gate: pushed CS"
        CHECK   [REC_SS], SEL_DATA32_R3, "int_dpl3_gate: pushed SS"
        CHECK   [REC_ESP], STACK_R3_TOP, "int_dpl3_gate: pushed ESP"
        CHECKM  [REC_EFL], 0x3202, 0x0002, "int_dpl3_gate: pushed EFLAGS (IOPL0, IF0)"
        CHECK   [REC_HSS], SEL_DATA32, "int_dpl3_gate: handler SS = TSS.SS0"
        CHECK   [REC_HESP], STACK_R0T_TOP - 20, "int_dpl3_gate: handler ESP = TSS.ESP0 - 20"
        OK      "int_dpl3_gate: INT from ring 3 switches to SS0:ESP0 and pushes SS, ESP, EFLAGS, CS, EIP"

; ---- call gate with 2 parameters, RETF 8 back ---------------------------------------------
t_callgate:
        EXPECT  .back
        TO_RING3 .r3
.r3:    mov     ax, SEL_DATA32_R3
        mov     ds, ax
        mov     es, ax
        mov     fs, ax
        mov     gs, ax
        push    dword 0x11111111                ; param 1
        push    dword 0x22222222                ; param 2
        mov     [ss:R3_ESP_PARAMS], esp
        call    SEL_CG2 | 3:0                   ; the offset is ignored
.ret:   mov     [ss:R3_ESP_BACK], esp
        R3SAVE  R3_CS, cs
        R3SAVE  R3_SS, ss
        R3SAVE  R3_DS, ds
        R3SAVE  R3_ES, es
        R3SAVE  R3_FS, fs
        R3SAVE  R3_GS, gs
        int     0x80
.back:  DISARM
        CHECK   [REC_VEC], 0x80, "call_gate: back in ring 3 after RETF"
        CHECK   [CG_CS], SEL_CODE32, "call_gate: target CS (CPL0)"
        CHECK   [CG_SS], SEL_DATA32, "call_gate: SS = TSS.SS0"
        CHECK   [CG_ESP], STACK_R0T_TOP - 24, "call_gate: ESP = TSS.ESP0 - 24"
        CHECK   [CG_FRAME], .ret, "call_gate: pushed EIP"
        CHECK   [CG_FRAME + 4], SEL_CODE32_R3, "call_gate: pushed CS"
        CHECK   [CG_FRAME + 8], 0x22222222, "call_gate: copied param 2"
        CHECK   [CG_FRAME + 12], 0x11111111, "call_gate: copied param 1"
        mov     ebx, [R3_ESP_PARAMS]
        CHECK   [CG_FRAME + 16], ebx, "call_gate: pushed ESP"
        CHECK   [CG_FRAME + 20], SEL_DATA32_R3, "call_gate: pushed SS"
        OK      "call_gate: ring 3 -> 0 via call gate, stack switch, 2 dword params copied"

        CHECK   [R3_CS], SEL_CODE32_R3, "retf_outer: CS"
        CHECK   [R3_SS], SEL_DATA32_R3, "retf_outer: SS"
        CHECK   [R3_ESP_BACK], STACK_R3_TOP, "retf_outer: ESP (params released)"
        CHECK   [R3_DS], 0, "retf_outer: DS loaded with DPL0 in ring 0 is nulled"
        CHECK   [R3_ES], 0, "retf_outer: ES loaded with DPL0 in ring 0 is nulled"
        CHECK   [R3_FS], SEL_DATA32_R3, "retf_outer: FS (DPL3) kept"
        CHECK   [R3_GS], SEL_DATA32_R3, "retf_outer: GS (DPL3) kept"
        OK      "retf_outer: RETF 8 to ring 3 restores SS:ESP+8, nulls DPL0 DS/ES"

; ---- gates ring 3 may not use --------------------------------------------------------------
t_gate_dpl:
        R3_FAULT "gate_dpl: INT to a DPL0 gate", 13, 0x41 * 8 + 2, 0x0002, int 0x41
        R3_FAULT "gate_dpl: INT3 to a DPL0 gate", 13, 3 * 8 + 2, 0x0002, int3
        R3_FAULT "gate_dpl: call gate with DPL0", 13, SEL_CG_DPL0, 0x0002, call SEL_CG_DPL0 | 3:0
        R3_FAULT "gate_dpl: far call to DPL0 code", 13, SEL_CODE32, 0x0002, call SEL_CODE32:0
        OK      "gate_dpl: #GP(vector*8+2) for INT through DPL0 gates, #GP(sel) for DPL0 call gate/code"

; ---- privileged instructions -----------------------------------------------------------------
t_priv:
        R3_FAULT "priv_instr: CLI", 13, 0, 0x0002, cli
        R3_FAULT "priv_instr: STI", 13, 0, 0x0002, sti
        R3_FAULT "priv_instr: HLT", 13, 0, 0x3002, hlt         ; even with IOPL 3
        R3_FAULT "priv_instr: MOV EAX,CR0", 13, 0, 0x0002, mov eax, cr0
        R3_FAULT "priv_instr: MOV CR3,EAX", 13, 0, 0x0002, mov cr3, eax
        R3_FAULT "priv_instr: LGDT", 13, 0, 0x0002, lgdt [SCRATCH]
        R3_FAULT "priv_instr: LIDT", 13, 0, 0x0002, lidt [SCRATCH]
        R3_FAULT "priv_instr: LMSW", 13, 0, 0x0002, lmsw ax
        R3_FAULT "priv_instr: CLTS", 13, 0, 0x0002, clts
        R3_FAULT "priv_instr: MOV EAX,DR7", 13, 0, 0x0002, mov eax, dr7
        OK      "priv_instr: #GP(0) for CLI/STI (IOPL0), HLT, MOV CRn/DRn, LGDT, LIDT, LMSW, CLTS"

; ---- IOPL = 3: CLI/STI/IN allowed; POPF limits ------------------------------------------------
t_iopl:
        R3_OK   "iopl3: CLI", 0x3002, cli
        R3_OK   "iopl3: STI", 0x3002, sti
        CHECKM  [REC_EFL], EFL_IF, EFL_IF, "iopl3: STI set IF"
        mov     edx, 0x3FE                      ; denied in the bitmap, but IOPL = CPL
        R3_OK   "iopl3: IN from a bitmap-denied port", 0x3002, in al, dx
        ; POPF at CPL3 cannot change IOPL; it can change IF only if CPL <= IOPL
        EXPECT  .b1
        TO_RING3 .p1, 0x3002
.p1:    push    dword 0x0202                    ; IOPL 0, IF 1
        popfd
        int     0x80
.b1:    DISARM
        CHECKM  [REC_EFL], 0x3200, 0x3200, "popf_ring3: IOPL kept, IF set with IOPL3"
        EXPECT  .b2
        TO_RING3 .p2, 0x0002
.p2:    push    dword 0x3202                    ; IOPL 3, IF 1
        popfd                                   ; no fault, both ignored
        int     0x80
.b2:    DISARM
        CHECK   [REC_VEC], 0x80, "popf_ring3: POPF with IOPL0 did not fault"
        CHECKM  [REC_EFL], 0x3200, 0, "popf_ring3: IOPL and IF unchanged with IOPL0"
        OK      "iopl: IOPL3 allows CLI/STI/IN at CPL3; POPF never changes IOPL, IF only if CPL<=IOPL"

; ---- IOPL = 0: the TSS I/O permission bitmap decides ------------------------------------------
t_iomap:
        mov     edx, 0x3FD                      ; UART LSR: allowed
        R3_OK   "io_bitmap: IN 0x3FD", 0x0002, in al, dx
        mov     edx, 0x3FC                      ; 0x3FC and 0x3FD: both allowed
        R3_OK   "io_bitmap: IN word 0x3FC", 0x0002, in ax, dx
        ; OUT to an allowed port really happens: write the UART scratch register
        mov     dword [R3_DATA], 0
        EXPECT  .b1
        TO_RING3 .o1
.o1:    mov     edx, 0x3FF
        mov     al, 0x5A
        out     dx, al
        in      al, dx
        mov     [ss:R3_DATA], al
        int     0x80
.b1:    DISARM
        CHECK   [REC_VEC], 0x80, "io_bitmap: OUT/IN 0x3FF did not fault"
        CHECK   [R3_DATA], 0x5A, "io_bitmap: scratch register round trip"
        mov     edx, 0x3FE
        R3_FAULT "io_bitmap: IN 0x3FE (bit set)", 13, 0, 0x0002, in al, dx
        mov     edx, 0x3FD
        R3_FAULT "io_bitmap: IN word 0x3FD (0x3FE set)", 13, 0, 0x0002, in ax, dx
        mov     edx, 0x3FC
        R3_FAULT "io_bitmap: IN dword 0x3FC", 13, 0, 0x0002, in eax, dx
        R3_FAULT "io_bitmap: OUT 0x80", 13, 0, 0x0002, out 0x80, al
        mov     edx, 0x400                      ; first port past the bitmap
        R3_FAULT "io_bitmap: IN 0x400 (end byte)", 13, 0, 0x0002, in al, dx
        mov     edx, 0x1000                     ; far past the TSS limit
        R3_FAULT "io_bitmap: IN 0x1000 (past TSS limit)", 13, 0, 0x0002, in al, dx
        OK      "io_bitmap: CPL3 > IOPL0 I/O allowed by clear bits, #GP(0) for set bits, wide accesses, past the map"

; ---- conforming code: CPL stays 3 ---------------------------------------------------------
t_conf:
        mov     dword [CF_CS], -1
        EXPECT  .back
        TO_RING3 .r3
.r3:    call    SEL_C_CONF:conf_fn              ; RPL 0 in the selector: fine
.ret:   R3SAVE  R3_CS, cs
        int     0x80
.back:  DISARM
        CHECK   [REC_VEC], 0x80, "conforming: returned to ring 3"
        CHECK   [CF_CS], SEL_C_CONF | 3, "conforming: CS inside (RPL = CPL = 3)"
        CHECK   [CF_SS], SEL_DATA32_R3, "conforming: SS unchanged"
        CHECK   [CF_ESP], STACK_R3_TOP - 8, "conforming: no stack switch"
        CHECK   [R3_CS], SEL_CODE32_R3, "conforming: CS after RETF"
        OK      "conforming: far call from ring 3 to DPL0 conforming code keeps CPL 3 and the stack"

; ---- segment loads at CPL3 ------------------------------------------------------------------
t_dsload:
        R3_FAULT "ds_dpl_ring3: DS=DPL0 data", 13, SEL_DATA32, 0x0002, mov ds, [cs:sel_data32]
        R3_FAULT "ds_dpl_ring3: DS=DPL0 data RPL3", 13, SEL_DATA32, 0x0002, mov ds, [cs:sel_data32_rpl3]
        R3_FAULT "ds_dpl_ring3: ES=DPL0 code", 13, SEL_CODE32, 0x0002, mov es, [cs:sel_code32]
        R3_FAULT "ds_dpl_ring3: SS=DPL0 data", 13, SEL_DATA32, 0x0002, mov ss, [cs:sel_data32]
        mov     dword [R3_DS], -1
        EXPECT  .back
        TO_RING3 .r3
.r3:    mov     ax, SEL_DATA32_R3
        mov     ds, ax                          ; DPL3 data: fine
        mov     ax, SEL_C_CONF | 3
        mov     es, ax                          ; conforming readable code: no DPL check
        R3SAVE  R3_DS, ds
        R3SAVE  R3_ES, es
        int     0x80
.back:  DISARM
        CHECK   [REC_VEC], 0x80, "ds_dpl_ring3: allowed loads did not fault"
        CHECK   [R3_DS], SEL_DATA32_R3, "ds_dpl_ring3: DS"
        CHECK   [R3_ES], SEL_C_CONF | 3, "ds_dpl_ring3: ES = conforming code"
        ; a conforming code segment in ES is not nulled by IRET to ring 3
        mov     ax, SEL_C_CONF
        mov     es, ax
        EXPECT  .back2
        TO_RING3 .r3b
.r3b:   R3SAVE  R3_ES, es
        int     0x80
.back2: DISARM
        CHECK   [R3_ES], SEL_C_CONF, "ds_dpl_ring3: conforming ES kept by IRET"
        OK      "ds_dpl_ring3: #GP(sel) for DPL0 data/code in DS/ES/SS at CPL3; DPL3 data and conforming code OK"

; ---- IRET / RETF cannot go inward ---------------------------------------------------------
t_inward:
        EXPECT  .back
        TO_RING3 .r3
.r3:    push    dword SEL_DATA32                ; SS
        push    dword STACK0_TOP - 0x100        ; ESP
        push    dword 0x0002                    ; EFLAGS
        push    dword SEL_CODE32                ; CS with RPL 0 < CPL 3
        push    dword .never
.f:     iretd
.never: int     0x80
.back:  CHECK_EXC 13, SEL_CODE32, .f, "inward_return: IRET to ring 0"
        EXPECT  .back2
        TO_RING3 .r3b
.r3b:   push    dword SEL_CODE32
        push    dword .never
.f2:    retf
.back2: CHECK_EXC 13, SEL_CODE32, .f2, "inward_return: RETF to ring 0"
        OK      "inward_return: #GP(sel) for IRET/RETF from ring 3 to a ring-0 CS"

        PASS32

; ---- ring-0 target of the call gate SEL_CG2 -------------------------------------------------
cg_target:
        mov     [ss:CG_ESP], esp                ; SS is TSS.SS0 (flat)
        xor     eax, eax
        mov     ax, ss
        mov     [ss:CG_SS], eax
        mov     ax, cs
        mov     [ss:CG_CS], eax
        mov     ecx, 6
        xor     ebx, ebx
.copy:  mov     eax, [esp + ebx * 4]
        mov     [ss:CG_FRAME + ebx * 4], eax
        inc     ebx
        loop    .copy
        mov     ax, SEL_DATA32                  ; DPL0 data: RETF to ring 3 nulls these
        mov     ds, ax
        mov     es, ax
        retf    8                               ; release the 2 params on both stacks

; ---- conforming code, called from ring 3 -----------------------------------------------------
conf_fn:
        xor     eax, eax
        mov     ax, cs
        mov     [ss:CF_CS], eax
        mov     ax, ss
        mov     [ss:CF_SS], eax
        mov     [ss:CF_ESP], esp
        retf

; selectors for ring-3 memory-operand loads
sel_data32:       dw SEL_DATA32
sel_data32_rpl3:  dw SEL_DATA32 | 3
sel_code32:       dw SEL_CODE32

setup:
        GATE    0x80, 0xEE                      ; INT 0x80: DPL3 interrupt gate to the recorder
        mov     eax, SEL_CG2
        mov     ebx, cg_target
        mov     cx, SEL_CODE32
        mov     dx, 0x02EC                      ; 32-bit call gate, DPL3, 2 params
        call    set_gate
        mov     eax, SEL_CG_DPL0
        mov     ebx, cg_target
        mov     cx, SEL_CODE32
        mov     dx, 0x008C                      ; DPL0
        call    set_gate
        DESC_AT SEL_C_CONF, ROMBASE, 0xFFFF, 0x9F, 0x40
        ret

        bits    16
ROM_END
