; smc_basic — self-modifying code: a store into the very next instruction
; (its immediate, its opcode), through CS and through a data segment that
; aliases the code, must be seen when that instruction runs (SDM vol. 3,
; 11.6: a write to a code page invalidates prefetched instructions).
; Under a JIT this checks that a store ends the translated block and the
; patched instruction is decoded again.

%include "testrom.inc"
%include "vectest.inc"
%include "check.inc"
%include "smc_common.inc"

rom_start:
        call    vt_init

        TGROUP  "patch next insn"
        RUN     p1, p1_end
        EXPECT32 eax, 0x55
        RUN     p2, p2_end
        EXPECT32 eax, 0xCAFEBABE
        RUN     p3, p3_end
        EXPECT32 eax, 0xFFFFFFFF
        TEND

        TGROUP  "patch via data alias"
        RUN     a1, a1_end
        EXPECT32 eax, 0x0BADF00D
        TEND

        TGROUP  "patch next insn, hot"
        ; the same patching routine called 200 times with a new value each
        ; time: sum of 7 + 3*i for i = 0..199 = 61100
        mov     si, p4
        mov     cx, p4_end - p4
        push    ds
        push    es
        push    cs
        pop     ds
        push    word 0x2000
        pop     es
        xor     di, di
        cld
        rep movsb
        pop     es
        pop     ds
        xor     edx, edx
        mov     ebx, 7
        mov     bp, 200
.hot:   call    0x2000:0
        add     edx, eax
        add     ebx, 3
        dec     bp
        jnz     .hot
        EXPECT32 edx, 61100
        TEND

        TGROUP  "call with the stack on a code page"
        ; the routine's page also holds its stack, so every near CALL's
        ; push is a write to a code page: execution must still go on at
        ; the call's target (7 = 1 + 2 + 4), 100 times
        RUN     c1, c1_end              ; copies it and calls it once
        EXPECT32 eax, 7
        mov     bx, [ss:run_target + 2]
        mov     [ss:c1_ptr + 2], bx
        mov     word [ss:c1_ptr], 0
        xor     cx, cx
        mov     fs, cx
        xor     edx, edx
        mov     bp, 100
.cs:    mov     ss, bx                  ; SS:SP = the routine's segment:0F00
        mov     sp, 0x0F00
        call    far [fs:c1_ptr]
        xor     cx, cx
        mov     ss, cx                  ; back to 0000:7C00
        mov     sp, 0x7C00
        add     edx, eax
        dec     bp
        jnz     .cs
        EXPECT32 edx, 100 * 7
        TEND

        VT_FINISH

; mov al, imm8 patched just before it runs
p1:     xor     eax, eax
        mov     byte [cs:p1_i - p1 + 1], 0x55
p1_i:   mov     al, 0x11
        retf
p1_end:

; mov eax, imm32 (66 B8 imm32) patched just before it runs
p2:     mov     dword [cs:p2_i - p2 + 2], 0xCAFEBABE
p2_i:   mov     eax, 0x12345678
        retf
p2_end:

; inc eax (66 40) turned into dec eax (66 48)
p3:     xor     eax, eax
        mov     byte [cs:p3_i - p3 + 1], 0x48
p3_i:   inc     eax
        retf
p3_end:

; the write goes through ES, loaded with the code's segment
a1:     push    es
        push    cs
        pop     es
        mov     dword [es:a1_i - a1 + 2], 0x0BADF00D
        pop     es
a1_i:   mov     eax, 0x11111111
        retf
a1_end:

; EBX into the immediate of the next instruction
p4:     mov     [cs:p4_i - p4 + 2], ebx
p4_i:   mov     eax, 0
        retf
p4_end:

; far pointer (in RAM, SS = 0) of the copied c1
c1_ptr  equ     0x6F10

; near calls within the routine
c1:     mov     eax, 1
        call    c1_two
        call    c1_four
        retf
c1_two: add     eax, 2
        ret
c1_four:
        add     eax, 4
        ret
c1_end:

ROM_END
