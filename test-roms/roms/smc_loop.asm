; smc_loop — a loop whose body, in a block of its own, is rewritten
; between iterations (its ALU opcode taken from a table), and a hot loop
; patched after it has run 100 times (so a JIT has compiled it) and then
; run again (SDM vol. 3, 11.6).

%include "testrom.inc"
%include "vectest.inc"
%include "check.inc"
%include "smc_common.inc"

rom_start:
        call    vt_init

        TGROUP  "body rewritten each iteration"
        RUN     l1, l1_end
        EXPECT32 eax, 0xFFFDE7FC
        TEND

        TGROUP  "hot loop patched"
        RUN     h1, h1_end
        EXPECT32 eax, 800               ; 100 * 3 + 100 * 5
        TEND

        VT_FINISH

; 64 iterations: op = ops[i & 3] applied as EAX op= EBX; EBX += 0x01234567
l1:     xor     eax, eax
        mov     ebx, 0x89ABCDEF
        xor     cx, cx
        mov     si, 64
l1_top: mov     di, cx
        and     di, 3
        mov     dl, [cs:l1_ops - l1 + di]
        mov     [cs:l1_body - l1 + 1], dl
        jmp     l1_body
l1_body:
        add     eax, ebx                ; 66 01 D8: the opcode byte is rewritten
        add     ebx, 0x01234567
        inc     cx
        dec     si
        jnz     l1_top
        retf
l1_ops: db      0x01, 0x29, 0x31, 0x09  ; add, sub, xor, or
l1_end:

; two passes of 100 x (add eax, imm8); the immediate is patched between them
h1:     xor     eax, eax
        mov     dx, 2
h1_pass:
        mov     cx, 100
h1_a:   add     eax, strict byte 3      ; 66 83 C0 ib
        loop    h1_a
        mov     byte [cs:h1_a - h1 + 3], 5
        dec     dx
        jnz     h1_pass
        retf
h1_end:

ROM_END
