; shifts.asm — shift and rotate conformance (real mode, 8/16/32-bit).
;
; Covers SHL SHR SAR ROL ROR RCL RCR in 8, 16 and 32 bits with the count in
; CL (0, 1, 2, width-1, width, width+1, 31, 32, 33 — the count is masked to
; 5 bits, and CH/upper ECX hold garbage that must be ignored), crossed with
; FLAGS in = all clear / all set; then the D0/D1 ("by 1") and C0/C1 (imm8)
; encodings with fixed counts, and SHLD/SHRD (16-bit counts up to 16 and
; the masked 32, 33; 32-bit any count) by CL and by imm8.
;
; Flags are checked only where the SDM defines them, per vector:
;   masked count 0         no flag changes (all six checked unchanged)
;   SHL/SHR/SAR            CF = last bit out (undefined for SHL/SHR when
;                          count >= width), SF ZF PF from the result, OF
;                          only for count 1 (SHL: MSB^CF, SHR: old MSB,
;                          SAR: 0), AF undefined
;   ROL/ROR/RCL/RCR        only CF and OF change; CF changes whenever the
;                          masked count is non-zero (so ROL AL, 8 sets CF to
;                          bit 0), RCL/RCR rotate through CF modulo width+1
;                          (8/16-bit), OF only for count 1
;   SHLD/SHRD              CF = last bit out, SF ZF PF from the result, OF
;                          for count 1 (sign change), AF undefined; counts
;                          above the operand size are undefined (not tested)
; Forms: 8-bit `op al, cl`, 16-bit `op word [mem], cl`, 32-bit `op eax, cl`.
; Expected values: vectors/shifts_vectors.inc, from tools/gen_vectors.py.

%include "testrom.inc"
%include "vectest.inc"

rom_start:
        call    vt_init
        mov     si, shifts_groups
        call    vt_run
        VT_FINISH

; ---------------------------------------------------------------- stubs
; EAX = value, EBX = SHLD/SHRD source, ECX = EDX = count (in CL).

%macro SHIFTOP 1
s_%{1}8:
        %1      al, cl
        ret
s_%{1}16:
        %1      word [vt_a], cl
        mov     ax, [vt_a]
        ret
s_%{1}32:
        %1      eax, cl
        ret
%endmacro

        SHIFTOP shl
        SHIFTOP shr
        SHIFTOP sar
        SHIFTOP rol
        SHIFTOP ror
        SHIFTOP rcl
        SHIFTOP rcr

s_rol8_1:
        rol     al, 1                   ; D0 /0
        ret
s_shl8_1:
        shl     byte [vt_a], 1          ; D0 /4
        mov     al, [vt_a]
        ret
s_sar16_1:
        sar     ax, 1                   ; D1 /7
        ret
s_rcr16_1:
        rcr     word [vt_a], 1          ; D1 /3
        mov     ax, [vt_a]
        ret
s_shr32_1:
        shr     eax, 1                  ; D1 /5
        ret
s_rcl32_1:
        rcl     eax, 1                  ; D1 /2
        ret
s_shr8_i3:
        shr     al, 3                   ; C0 /5 ib
        ret
s_rcl8_i9:
        rcl     al, 9                   ; C0 /2 ib: 9 mod 9 = 0, nothing moves
        ret
s_ror16_i4:
        ror     word [vt_a], 4          ; C1 /1 ib
        mov     ax, [vt_a]
        ret
s_shl32_i31:
        shl     eax, 31                 ; C1 /4 ib
        ret
s_sar32_i40:
        sar     eax, 40                 ; C1 /7 ib, count masked to 8
        ret
s_rcl32_i1:
        db      0x66, 0xC1, 0xD0, 0x01  ; rcl eax, 1 encoded as C1 /2 ib
        ret

s_shld16:
        shld    [vt_a], bx, cl
        mov     ax, [vt_a]
        ret
s_shld32:
        shld    eax, ebx, cl
        ret
s_shrd16:
        shrd    [vt_a], bx, cl
        mov     ax, [vt_a]
        ret
s_shrd32:
        shrd    eax, ebx, cl
        ret
s_shld16_i12:
        shld    ax, bx, 12
        ret
s_shrd32_i7:
        shrd    [vt_a], ebx, 7
        mov     eax, [vt_a]
        ret
s_shld32_i1:
        shld    eax, ebx, 1
        ret

%include "shifts_vectors.inc"

        ROM_END
