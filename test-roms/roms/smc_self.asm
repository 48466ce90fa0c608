; smc_self — a block that patches itself: loops whose straight-line body
; stores into an instruction of the same body, before or after the store,
; so each iteration runs different code (SDM vol. 3, 11.6).

%include "testrom.inc"
%include "vectest.inc"
%include "check.inc"
%include "smc_common.inc"

rom_start:
        call    vt_init

        TGROUP  "patch earlier insn in own block"
        RUN     s1, s1_end
        EXPECT32 eax, 15                ; 1 + 2 + 3 + 4 + 5
        TEND

        TGROUP  "patch later insn in own block"
        RUN     s2, s2_end
        EXPECT32 eax, 19900             ; 0 + 1 + ... + 199
        EXPECT32 ebx, 200
        TEND

        TGROUP  "patch own opcode"
        RUN     s3, s3_end
        EXPECT32 eax, 0xFFFFFC04
        TEND

        VT_FINISH

; add eax, 1 whose imm8 grows by one each iteration
s1:     xor     eax, eax
        mov     cx, 5
s1_top: add     eax, strict byte 1      ; 66 83 C0 ib
        inc     byte [cs:s1_top - s1 + 3]
        loop    s1_top
        retf
s1_end:

; the store and the patched ADD are in the same block, store first
s2:     xor     eax, eax
        xor     ebx, ebx
        mov     cx, 200
s2_top: mov     [cs:s2_i - s2 + 2], ebx
        inc     ebx
s2_i:   add     eax, strict dword 0x12345678 ; 66 05 id
        loop    s2_top
        retf
s2_end:

; 8 iterations; the opcode byte of the ALU op toggles between ADD (01)
; and SUB (29) each time, and EBX doubles:
; 12 - 24 + 48 - 96 + 192 - 384 + 768 - 1536 = -1020
s3:     xor     eax, eax
        mov     ebx, 0x0C
        mov     cx, 8
s3_top: xor     byte [cs:s3_op - s3 + 1], 0x28  ; 01 <-> 29
s3_op:  sub     eax, ebx                ; 66 29 D8 (becomes 66 01 D8 first)
        add     ebx, ebx
        loop    s3_top
        retf
s3_end:

ROM_END
