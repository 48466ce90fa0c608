; fpu_basic.asm — the x87 FPU in real mode: FNINIT state, loads and stores
; in every format, 1/3 and sqrt(2) under each rounding mode and precision
; control, the constants' rounding, comparisons (FCOM/FUCOM/FCOMI/FTST/
; FXAM), masked exception responses, integer and BCD conversions, FPREM/
; FPREM1, FSCALE/FXTRACT/FRNDINT, FSAVE/FRSTOR and FNSTENV (16-bit
; real-mode layouts), FXSAVE/FXRSTOR, #MF through FWAIT with CR0.NE=1, and
; a few transcendental results compared on their high bits only.
;
; Expected values come from the Intel SDM (vol. 1 ch. 4 and 8) and exact
; arithmetic (1/3 = 0.AAAA...h, sqrt(2) = 1.6A09E667F3BCC908B2...h,
; pi = C90FDAA22168C234C4C6...h). Left out because QEMU 7.2's x87 deviates
; from the SDM there (the unit tests in cpu/src/fpu cover them): stack-fault
; detection (IE+SF, C1), the C1 round-up bit, DE on loading a single or
; double denormal, FPREM1's quotient bits, the unchanged destination of an
; unmasked pre-computation exception, and the low bits of transcendental
; results. FXSAVE runs with CR4.OSFXSR set (QEMU saves MXCSR only then).

%include "testrom.inc"
%include "vectest.inc"
%include "check.inc"

SCR     equ     0x6000                  ; 16-byte aligned scratch
CWTMP   equ     0x6F00
MFFLAG  equ     0x6F10

; CHECK80 hi, lo, se: the 80-bit value stored at SCR
%macro CHECK80 3
        EXPECT32 [SCR + 4], %1
        EXPECT32 [SCR], %2
        EXPECT16 [SCR + 8], %3
%endmacro

; SETCW imm16
%macro SETCW 1
        mov     word [CWTMP], %1
        fldcw   [CWTMP]
%endmacro

; FLAGS8: AX = status word & 0xFF (exception flags, SF, ES)
%macro FLAGS8 0
        fnstsw  ax
        and     ax, 0xFF
%endmacro

; THIRD cw, hi, lo: 1/3 with that control word
%macro THIRD 3
        fninit
        SETCW   %1
        fld1
        fidiv   word [cs:c_3]
        fstp    tword [SCR]
        CHECK80 %2, %3, 0x3FFD
        FLAGS8
        EXPECT16 ax, 0x20
%endmacro

rom_start:
        call    vt_init

        TGROUP  "fninit state"
        fninit
        fnstsw  ax
        EXPECT16 ax, 0
        fnstcw  [SCR]
        EXPECT16 [SCR], 0x037F
        fnstenv [SCR]
        EXPECT16 [SCR + 4], 0xFFFF      ; tag word: all empty
        fnstcw  [SCR]
        EXPECT16 [SCR], 0x037F          ; FNSTENV masked (already masked)
        TEND

        TGROUP  "load/store formats"
        fninit
        fld     qword [cs:c_1_5]
        fst     dword [SCR + 16]
        EXPECT32 [SCR + 16], 0x3FC00000
        fst     qword [SCR + 16]
        EXPECT32 [SCR + 20], 0x3FF80000
        fstp    tword [SCR]
        CHECK80 0xC0000000, 0, 0x3FFF
        fild    word [cs:c_m5]
        fistp   dword [SCR]
        EXPECT32 [SCR], 0xFFFFFFFB
        fild    qword [cs:c_big]
        fistp   qword [SCR]
        EXPECT32 [SCR], 0x9ABCDEF0
        EXPECT32 [SCR + 4], 0x12345678
        fld     dword [cs:c_m0_1f]      ; -0.1f widens exactly
        fstp    tword [SCR]
        CHECK80 0xCCCCCD00, 0, 0xBFFB
        fld     tword [cs:c_snan80]     ; FLD m80 of an SNaN: no exception
        fstp    tword [SCR]
        CHECK80 0x80000000, 1, 0x7FFF
        fnstsw  ax
        EXPECT16 ax, 0
        TEND

        TGROUP  "1/3 rc pc"
        THIRD   0x037F, 0xAAAAAAAA, 0xAAAAAAAB
        THIRD   0x077F, 0xAAAAAAAA, 0xAAAAAAAA
        THIRD   0x0B7F, 0xAAAAAAAA, 0xAAAAAAAB
        THIRD   0x0F7F, 0xAAAAAAAA, 0xAAAAAAAA
        THIRD   0x027F, 0xAAAAAAAA, 0xAAAAA800
        THIRD   0x0A7F, 0xAAAAAAAA, 0xAAAAB000
        THIRD   0x007F, 0xAAAAAB00, 0
        THIRD   0x047F, 0xAAAAAA00, 0
        TEND

        TGROUP  "sqrt"
        fninit
        fild    word [cs:c_2]
        fsqrt
        fstp    tword [SCR]
        CHECK80 0xB504F333, 0xF9DE6484, 0x3FFF
        SETCW   0x0B7F
        fild    word [cs:c_2]
        fsqrt
        fstp    tword [SCR]
        CHECK80 0xB504F333, 0xF9DE6485, 0x3FFF
        SETCW   0x027F
        fild    word [cs:c_2]
        fsqrt
        fstp    qword [SCR]
        EXPECT32 [SCR], 0x667F3BCD
        EXPECT32 [SCR + 4], 0x3FF6A09E
        fninit
        fild    qword [cs:c_sq]         ; 3037000499^2 < 2^63: exact
        fild    qword [cs:c_sq]
        fmulp   st1, st0
        fsqrt
        fistp   qword [SCR]
        EXPECT32 [SCR], 0xB504F333
        EXPECT32 [SCR + 4], 0
        FLAGS8
        EXPECT16 ax, 0
        TEND

        TGROUP  "constants"
        fninit
        fldpi
        fstp    tword [SCR]
        CHECK80 0xC90FDAA2, 0x2168C235, 0x4000
        SETCW   0x0F7F
        fldpi
        fstp    tword [SCR]
        CHECK80 0xC90FDAA2, 0x2168C234, 0x4000
        fldl2e
        fstp    tword [SCR]
        CHECK80 0xB8AA3B29, 0x5C17F0BB, 0x3FFF
        fninit
        fldl2e
        fstp    tword [SCR]
        CHECK80 0xB8AA3B29, 0x5C17F0BC, 0x3FFF
        fldl2t
        fstp    tword [SCR]
        CHECK80 0xD49A784B, 0xCD1B8AFE, 0x4000
        fldlg2
        fstp    tword [SCR]
        CHECK80 0x9A209A84, 0xFBCFF799, 0x3FFD
        fldln2
        fstp    tword [SCR]
        CHECK80 0xB17217F7, 0xD1CF79AC, 0x3FFE
        fldz
        fstp    tword [SCR]
        CHECK80 0, 0, 0
        TEND

        TGROUP  "compare"
        fninit
        fldpi
        fld1
        fcomi   st0, st1                ; 1 < pi
        EXPECTF ZF | PF | CF, CF
        fcom    st1
        fnstsw  ax
        and     ax, 0x4500
        EXPECT16 ax, 0x0100
        fxch    st1                     ; pi, 1
        fucomip st0, st1                ; pi > 1, pop
        EXPECTF ZF | PF | CF, 0
        fld1
        fcompp                          ; 1 = 1, pop twice
        fnstsw  ax
        and     ax, 0x7D00              ; C3 C2 C0 and TOP
        EXPECT16 ax, 0x4000
        fld     tword [cs:c_qnan80]
        fld1
        fucom   st1                     ; QNaN: unordered, no IE
        fnstsw  ax
        and     ax, 0x45FF
        EXPECT16 ax, 0x4500
        fcom    st1                     ; FCOM: IE
        fnstsw  ax
        and     ax, 0x45FF
        EXPECT16 ax, 0x4501
        fninit
        fld1
        fchs
        ftst                            ; -1 < 0
        fnstsw  ax
        and     ax, 0x4500
        EXPECT16 ax, 0x0100
        fcom    dword [cs:c_m0_1f]      ; -1 < -0.1
        fnstsw  ax
        and     ax, 0x4500
        EXPECT16 ax, 0x0100
        ficom   word [cs:c_m5]          ; -1 > -5
        fnstsw  ax
        and     ax, 0x4500
        EXPECT16 ax, 0
        TEND

        TGROUP  "fxam"
        fninit
        fld1
        fxam                            ; normal
        fnstsw  ax
        and     ax, 0x4700
        EXPECT16 ax, 0x0400
        fchs
        fxam                            ; negative normal: C1
        fnstsw  ax
        and     ax, 0x4700
        EXPECT16 ax, 0x0600
        fldz
        fxam                            ; zero
        fnstsw  ax
        and     ax, 0x4700
        EXPECT16 ax, 0x4000
        fld     tword [cs:c_inf80]
        fxam                            ; infinity
        fnstsw  ax
        and     ax, 0x4700
        EXPECT16 ax, 0x0500
        fld     tword [cs:c_qnan80]
        fxam                            ; NaN
        fnstsw  ax
        and     ax, 0x4700
        EXPECT16 ax, 0x0100
        fld     tword [cs:c_den80]
        fxam                            ; denormal
        fnstsw  ax
        and     ax, 0x4700
        EXPECT16 ax, 0x4400
        ffree   st0
        fxam                            ; empty
        fnstsw  ax
        and     ax, 0x4500
        EXPECT16 ax, 0x4100
        TEND

        TGROUP  "masked exceptions"
        fninit
        fld1
        fldz
        fdivp   st1, st0                ; 1/0 = +inf, ZE
        fstp    tword [SCR]
        CHECK80 0x80000000, 0, 0x7FFF
        FLAGS8
        EXPECT16 ax, 0x04
        fninit
        fld1
        fchs
        fsqrt                           ; sqrt(-1): indefinite, IE
        fstp    tword [SCR]
        CHECK80 0xC0000000, 0, 0xFFFF
        FLAGS8
        EXPECT16 ax, 0x01
        fninit
        fld     tword [cs:c_max80]
        fstp    dword [SCR]             ; overflow to single: inf, OE PE
        EXPECT32 [SCR], 0x7F800000
        FLAGS8
        EXPECT16 ax, 0x28
        fninit
        SETCW   0x0F7F                  ; RZ: overflow gives the largest
        fld     tword [cs:c_max80]
        fld     st0
        faddp   st1, st0
        fstp    tword [SCR]
        CHECK80 0xFFFFFFFF, 0xFFFFFFFF, 0x7FFE
        fninit
        fld     dword [cs:c_minnorm_f]  ; 2^-126
        fidiv   word [cs:c_2]           ; 2^-127: exact as a single denormal
        fst     dword [SCR]
        EXPECT32 [SCR], 0x00400000
        FLAGS8
        EXPECT16 ax, 0                  ; tiny but exact: no UE when masked
        fidiv   word [cs:c_3]
        fstp    dword [SCR]             ; tiny and inexact: UE PE
        EXPECT32 [SCR], 0x00155555
        FLAGS8
        EXPECT16 ax, 0x30
        fninit
        fld     dword [cs:c_den_f]      ; a single denormal widens exactly
        fstp    tword [SCR]
        CHECK80 0x80000000, 0, 0x3F6A
        fninit
        fld1
        fadd    qword [cs:c_tiny64]     ; 1 + 2^-100: PE only
        fstp    tword [SCR]
        CHECK80 0x80000000, 0, 0x3FFF
        FLAGS8
        EXPECT16 ax, 0x20
        TEND

        TGROUP  "integers and bcd"
        fninit
        fild    dword [cs:c_40000]
        fistp   word [SCR]              ; out of range: indefinite, IE
        EXPECT16 [SCR], 0x8000
        FLAGS8
        EXPECT16 ax, 0x01
        fninit
        fld     qword [cs:c_m2_5]
        fist    dword [SCR]             ; RN: -2
        EXPECT32 [SCR], 0xFFFFFFFE
        SETCW   0x077F                  ; RD: -3
        fist    dword [SCR]
        EXPECT32 [SCR], 0xFFFFFFFD
        SETCW   0x0B7F                  ; RU: -2
        frndint
        fistp   word [SCR]
        EXPECT16 [SCR], 0xFFFE
        fninit
        fbld    [cs:c_bcd]
        fbstp   [SCR]
        EXPECT32 [SCR], 0x78563412
        EXPECT32 [SCR + 4], 0x00000090
        EXPECT16 [SCR + 8], 0x8000
        fbld    [cs:c_bcd]
        fistp   qword [SCR]
        EXPECT32 [SCR], 0xE2E01DAC      ; -9078563412
        EXPECT32 [SCR + 4], 0xFFFFFFFD
        TEND

        TGROUP  "fprem fscale fxtract"
        fninit
        fild    word [cs:c_2]
        fild    word [cs:c_7]
        fprem                           ; 7 rem 2 = 1, q = 3
        fnstsw  ax
        and     ax, 0x4700
        EXPECT16 ax, 0x4200             ; C3 = Q1, C1 = Q0, C2 = 0
        fistp   word [SCR]
        EXPECT16 [SCR], 1
        fild    word [cs:c_7]
        fprem1                          ; 7 - 4*2 = -1
        fistp   word [SCR]
        EXPECT16 [SCR], 0xFFFF
        fninit
        fild    word [cs:c_2]
        fild    word [cs:c_3]
        fscale                          ; 3 * 2^2
        fistp   word [SCR]
        EXPECT16 [SCR], 12
        fninit
        fild    word [cs:c_m12]
        fxtract                         ; ST0 = -1.5, ST1 = 3
        fstp    tword [SCR]
        CHECK80 0xC0000000, 0, 0xBFFF
        fistp   word [SCR]
        EXPECT16 [SCR], 3
        TEND

        TGROUP  "fsave frstor real16"
        fninit
        fld1
        fldpi
        fsave   [SCR]
        EXPECT16 [SCR], 0x037F
        EXPECT16 [SCR + 2], 0x3000      ; TOP = 6
        EXPECT16 [SCR + 4], 0x0FFF      ; R7, R6 valid; the rest empty
        EXPECT16 [SCR + 22], 0x4000     ; ST0 = pi
        EXPECT16 [SCR + 32], 0x3FFF     ; ST1 = 1
        fnstsw  ax                      ; FSAVE reinitialized
        EXPECT16 ax, 0
        fnstenv [SCR + 0x80]
        EXPECT16 [SCR + 0x84], 0xFFFF
        frstor  [SCR]
        fnstsw  ax
        EXPECT16 ax, 0x3000
        fstp    tword [SCR + 0x80]
        EXPECT16 [SCR + 0x88], 0x4000
        fstp    tword [SCR + 0x80]
        EXPECT16 [SCR + 0x88], 0x3FFF
        TEND

        TGROUP  "fxsave fxrstor"
        mov     eax, cr4
        or      eax, 0x200              ; OSFXSR: MXCSR is saved
        mov     cr4, eax
        fninit
        fld1
        fldz
        fxsave  [SCR]
        EXPECT16 [SCR], 0x037F
        EXPECT8 [SCR + 4], 0xC0         ; abridged tag: R7 R6
        EXPECT32 [SCR + 24], 0x1F80     ; MXCSR
        EXPECT16 [SCR + 32 + 8], 0      ; ST0 = +0
        EXPECT16 [SCR + 48 + 8], 0x3FFF ; ST1 = 1
        fninit
        fxrstor [SCR]
        fnstsw  ax
        EXPECT16 ax, 0x3000
        fstp    st0
        fistp   word [SCR + 0x200]
        EXPECT16 [SCR + 0x200], 1
        mov     eax, cr4
        and     eax, ~0x200
        mov     cr4, eax
        TEND

        TGROUP  "#MF via fwait"
        mov     word [16 * 4], mf_handler
        mov     word [16 * 4 + 2], 0xF000
        mov     byte [MFFLAG], 0
        mov     eax, cr0
        or      eax, 0x20               ; NE
        mov     cr0, eax
        fninit
        SETCW   0x037B                  ; ZE unmasked
        fld1
        fldz
        fdivp   st1, st0                ; pending ZE, no result
        fnstsw  ax                      ; non-waiting
        and     ax, 0x80FF
        EXPECT16 ax, 0x8084
        fwait                           ; #MF here
        EXPECT8 [MFFLAG], 1
        mov     eax, cr0
        and     eax, ~0x20
        mov     cr0, eax
        fninit
        TEND

        TGROUP  "transcendental"
        fninit
        fld1
        fld1
        fpatan                          ; pi/4
        fstp    tword [SCR]
        EXPECT32 [SCR + 4], 0xC90FDAA2
        EXPECT16 [SCR + 8], 0x3FFE
        fld1
        fptan                           ; pushes 1.0
        fstp    tword [SCR]
        CHECK80 0x80000000, 0, 0x3FFF
        fstp    tword [SCR]             ; tan 1 = 1.5574077246549...
        EXPECT32 [SCR + 4], 0xC75922E5
        fld1
        fsincos                         ; ST0 = cos 1, ST1 = sin 1
        fstp    tword [SCR]
        EXPECT32 [SCR + 4], 0x8A51407D
        fstp    tword [SCR]
        EXPECT32 [SCR + 4], 0xD76AA478
        fldpi
        fidiv   word [cs:c_6]
        fsin                            ; sin(pi/6) = 0.5 (to the last bits)
        fstp    dword [SCR]
        EXPECT32 [SCR], 0x3F000000
        fld     qword [cs:c_0_5]
        f2xm1                           ; sqrt(2) - 1
        fstp    tword [SCR]
        EXPECT32 [SCR + 4], 0xD413CCCF
        fld1
        fild    word [cs:c_8]
        fyl2x                           ; log2(8) = 3
        fistp   word [SCR]
        EXPECT16 [SCR], 3
        fld1
        fld     qword [cs:c_0_25]
        fyl2xp1                         ; log2(1.25) = 0.32192809488...
        fstp    tword [SCR]
        EXPECT32 [SCR + 4], 0xA4D3C25E
        TEND

        VT_FINISH

mf_handler:
        fnclex
        mov     byte [MFFLAG], 1
        iret

        align   8
c_1_5:          dq      1.5
c_m2_5:         dq      -2.5
c_0_5:          dq      0.5
c_0_25:         dq      0.25
c_big:          dq      0x123456789ABCDEF0
c_tiny64:       dq      0x39B0000000000000      ; 2^-100
c_m0_1f:        dd      0xBDCCCCCD              ; -0.1f
c_minnorm_f:    dd      0x00800000
c_den_f:        dd      0x00000001              ; 2^-149
c_sq:           dq      3037000499
c_40000:        dd      40000
c_m5:           dw      -5
c_2:            dw      2
c_3:            dw      3
c_6:            dw      6
c_7:            dw      7
c_8:            dw      8
c_m12:          dw      -12
c_snan80:       dq      0x8000000000000001
                dw      0x7FFF
c_qnan80:       dq      0xC000000000000001
                dw      0x7FFF
c_inf80:        dq      0x8000000000000000
                dw      0x7FFF
c_den80:        dq      0x0000000000000001
                dw      0x0000
c_max80:        dq      0xFFFFFFFFFFFFFFFF
                dw      0x7FFE
c_bcd:          db      0x12, 0x34, 0x56, 0x78, 0x90, 0, 0, 0, 0, 0x80

        ROM_END
