; control.asm — control transfer conformance (real mode).
;
; Groups (one line each):
;   jmp         short, near (rel16), register and memory indirect; far
;               direct (EA) and far indirect (FF /5) through an alias of the
;               ROM segment (CS = F001h); IP arithmetic wraps at 64 KiB
;               (a near JMP forward past FFFFh and one backward past 0000h)
;   call/ret    near rel16 / register / memory CALL push the next IP; RET,
;               RET imm16 (releases the arguments); far CALL direct and
;               indirect push CS:IP, RETF and RETF imm16; O32 CALL/RET
;               push/pop a 32-bit EIP
;   jcc         all 16 conditions, short (7x) and near (0F 8x) forms, under
;               ten flag patterns
;   loop        LOOP/LOOPE/LOOPNE with CX (the upper ECX untouched, CX = 0
;               runs 65536 times), with ECX under 67h, flags unchanged;
;               JCXZ (CX only) and JECXZ (all of ECX)
;   enter/leave nesting levels 0, 1 and 3 (frame pointers copied from the
;               old frame), the size operand, LEAVE
;   pusha/popa  PUSHA/POPA and PUSHAD/POPAD: order, the original SP/ESP
;               pushed, POPA skipping it; PUSH SP pushes the old SP
;   int/iret    INT n: frame (FLAGS, CS, IP of the next instruction), IF and
;               TF cleared in the handler, IRET restoring FLAGS (a handler's
;               change to the saved FLAGS takes effect); INT3 (CC) and
;               INT 3 (CD 03) both vector 3 with their own lengths; INTO
;               with OF = 0 (nothing) and OF = 1 (vector 4); IRETD
; Expected values are hand-derived from the SDM.

%include "testrom.inc"
%include "vectest.inc"
%include "check.inc"

CCBUF   equ     0x3100
PATH    equ     0x0610                  ; bit set per step taken
REC     equ     0x0620                  ; interrupt record:
R_VEC   equ     REC + 0                 ;   vector
R_IP    equ     REC + 2                 ;   frame IP
R_CS    equ     REC + 4                 ;   frame CS
R_FL    equ     REC + 6                 ;   frame FLAGS
R_HFL   equ     REC + 8                 ;   FLAGS inside the handler
R_CNT   equ     REC + 10                ;   interrupts taken
MEMPTR  equ     0x0640                  ; indirect targets
ALIAS   equ     0xF001                  ; CS alias: ALIAS:(x - 0x10) = F000:x

%macro SETFLAGS 1
        push    word %1
        popf
%endmacro

%macro STEP 1                           ; record step %1 (changes flags)
        or      byte [PATH], %1
%endmacro

rom_start:
        call    vt_init
        call    t_jmp
        call    t_call
        call    t_jcc
        call    t_loop
        call    t_enter
        call    t_pusha
        call    t_int
        VT_FINISH

; ---------------------------------------------------------------- JMP
t_jmp:
        TGROUP  "jmp"
        mov     byte [PATH], 0
        jmp     short .a
        STEP    0x80                    ; must be skipped
.a:     STEP    0x01
        jmp     near .b
        STEP    0x80
        times 200 nop                   ; make .b too far for a short jump
.b:     STEP    0x02
        mov     bx, .c
        jmp     bx
        STEP    0x80
.c:     STEP    0x04
        mov     word [MEMPTR], .d
        jmp     [MEMPTR]
        STEP    0x80
.d:     STEP    0x08
        jmp     ALIAS:(.e - 0x10)       ; EA: far direct
        STEP    0x80
.e:     mov     [MEMPTR + 4], cs        ; (no EXPECT here: CS is the alias)
        STEP    0x10
        mov     word [MEMPTR], .f
        mov     word [MEMPTR + 2], 0xF000
        jmp     far [MEMPTR]            ; FF /5: far indirect
        STEP    0x80
.f:     EXPECT16 [MEMPTR + 4], ALIAS
        mov     ax, cs
        EXPECT16 ax, 0xF000
        STEP    0x20
        ; IP wraps: backward from here to wrap_chunk (near FFE0h), which
        ; jumps forward past FFFFh to wrap_back
        mov     byte [PATH + 1], 0
        db      0xE9                    ; jmp near wrap_chunk, backward
        dw      (wrap_chunk - ($ + 2)) & 0xFFFF
        STEP    0x80
wrap_back:
        STEP    0x40
        EXPECT8 [PATH], 0x7F
        EXPECT8 [PATH + 1], 1
        TEND
        ret

; ---------------------------------------------------------------- CALL/RET
t_call:
        TGROUP  "call/ret"
        mov     bp, sp
        call    near f_ret_addr
.r1:    EXPECT16 ax, .r1                ; pushed IP = next instruction
        EXPECT16 dx, 2                  ; SP moved by 2 inside
        EXPECT16 sp, bp                 ; and back
        mov     bx, f_ret_addr
        call    bx
.r2:    EXPECT16 ax, .r2
        mov     word [MEMPTR], f_ret_addr
        call    [MEMPTR]
.r3:    EXPECT16 ax, .r3
        ; RET imm16 releases two word arguments
        push    word 0x1111
        push    word 0x2222
        call    f_ret4
        EXPECT16 ax, 0x3333
        EXPECT16 sp, bp
        ; far CALL direct: CS = alias inside, F000:next on the stack
        call    ALIAS:(f_far - 0x10)
.r4:    EXPECT16 ax, .r4
        EXPECT16 cx, 0xF000
        EXPECT16 dx, ALIAS
        EXPECT16 sp, bp
        ; far CALL indirect, RETF 4
        mov     word [MEMPTR], f_far4 - 0x10
        mov     word [MEMPTR + 2], ALIAS
        push    word 0x1111
        push    word 0x2222
        call    far [MEMPTR]
.r5:    EXPECT16 ax, .r5
        EXPECT16 cx, 0xF000
        EXPECT16 bx, 0x3333
        EXPECT16 sp, bp
        mov     ax, cs
        EXPECT16 ax, 0xF000
        ; O32 CALL pushes EIP (4 bytes), O32 RET pops 4
        call    dword f_ret32           ; 66 E8 rel32 (NASM's "o32 call" would emit rel16)
.r6:    EXPECT32 eax, .r6
        EXPECT16 dx, 4
        EXPECT16 sp, bp
        TEND
        ret

f_ret_addr:                             ; AX = return IP, DX = bytes pushed
        mov     dx, bp
        sub     dx, sp
        mov     si, sp
        mov     ax, [ss:si]
        ret
f_ret4:
        mov     si, sp
        mov     ax, [ss:si + 2]
        add     ax, [ss:si + 4]
        ret     4
f_far:                                  ; runs as ALIAS:(f_far - 0x10)
        mov     si, sp
        mov     ax, [ss:si]
        mov     cx, [ss:si + 2]
        mov     dx, cs
        retf
f_far4:
        mov     si, sp
        mov     ax, [ss:si]
        mov     cx, [ss:si + 2]
        mov     bx, [ss:si + 4]
        add     bx, [ss:si + 6]
        retf    4
f_ret32:
        mov     dx, bp
        sub     dx, sp
        mov     si, sp
        mov     eax, [ss:si]
        o32 ret

; ---------------------------------------------------------------- Jcc
; Patterns and expectations as in bitops.asm: bit i set when condition i
; (o no b ae e ne be a s ns p np l ge le g) holds.
cc_patterns:
        dw      0x0002, 0xAAAA          ; nothing
        dw      0x0003, 0xAA66          ; CF
        dw      0x0042, 0x6A5A          ; ZF
        dw      0x0082, 0x59AA          ; SF
        dw      0x0802, 0x5AA9          ; OF
        dw      0x0882, 0xA9A9          ; SF OF
        dw      0x00C2, 0x595A          ; ZF SF
        dw      0x0047, 0x6656          ; CF ZF PF
        dw      0x0806, 0x56A9          ; OF PF
        dw      0x08D7, 0x6555          ; all
CC_COUNT equ    10

; Pack the 16 bytes at CCBUF into EAX (bit i = byte i).
cc_pack:
        push    si
        xor     eax, eax
        mov     si, 15
.next:  shl     ax, 1
        or      al, [CCBUF + si]
        dec     si
        jns     .next
        pop     si
        ret

cc_clear:
        mov     dword [CCBUF], 0
        mov     dword [CCBUF + 4], 0
        mov     dword [CCBUF + 8], 0
        mov     dword [CCBUF + 12], 0
        ret

%macro JONE 3                           ; cc, index, short|near
        j%1     %3 %%taken
        jmp     near %%next
%%taken:
        mov     byte [CCBUF + %2], 1
%%next:
%endmacro

%macro JALL 1
        JONE    o, 0, %1
        JONE    no, 1, %1
        JONE    b, 2, %1
        JONE    ae, 3, %1
        JONE    e, 4, %1
        JONE    ne, 5, %1
        JONE    be, 6, %1
        JONE    a, 7, %1
        JONE    s, 8, %1
        JONE    ns, 9, %1
        JONE    p, 10, %1
        JONE    np, 11, %1
        JONE    l, 12, %1
        JONE    ge, 13, %1
        JONE    le, 14, %1
        JONE    g, 15, %1
%endmacro

t_jcc:
        TGROUP  "jcc"
        xor     si, si
.pat:   call    cc_clear
        push    word [cs:cc_patterns + si]
        popf
        JALL    short
        call    cc_pack
        movzx   edx, word [cs:cc_patterns + si + 2]
        EXPECT32 eax, edx
        call    cc_clear
        push    word [cs:cc_patterns + si]
        popf
        JALL    near
        call    cc_pack
        EXPECT32 eax, edx
        add     si, 4
        cmp     si, CC_COUNT * 4
        jb      .pat
        TEND
        ret

; ---------------------------------------------------------------- LOOP
t_loop:
        TGROUP  "loop"
        mov     ecx, 0xABCD0003
        xor     dx, dx
        SETFLAGS 0x08D7
.l1:    inc     dx                      ; (changes flags; LOOP must not)
        SETFLAGS 0x08D7
        loop    .l1
        EXPECTF ARITH, ARITH
        EXPECT16 dx, 3
        EXPECT32 ecx, 0xABCD0000
        ; CX = 0: 65536 iterations
        xor     cx, cx
        xor     edx, edx
.l2:    inc     edx
        loop    .l2
        EXPECT32 edx, 0x10000
        EXPECT32 ecx, 0xABCD0000
        ; 67h LOOP counts in ECX
        mov     ecx, 0x00010001
        xor     edx, edx
.l3:    inc     edx
        a32 loop .l3
        EXPECT32 edx, 0x10001
        EXPECT32 ecx, 0
        ; LOOPE: leaves when ZF = 0 (at the third pass) or CX = 0
        mov     cx, 10
        xor     dx, dx
.l4:    inc     dx
        cmp     dx, 3
        setne   al
        cmp     al, 1                   ; ZF = (DX != 3)
        loope   .l4
        EXPECT16 dx, 3
        EXPECT16 cx, 7
        mov     cx, 4
        xor     dx, dx
.l5:    inc     dx
        cmp     dx, dx                  ; ZF = 1 always: runs to CX = 0
        loope   .l5
        EXPECT16 dx, 4
        EXPECT16 cx, 0
        ; LOOPNE: leaves when ZF = 1
        mov     cx, 10
        xor     dx, dx
.l6:    inc     dx
        cmp     dx, 5
        loopne  .l6
        EXPECT16 dx, 5
        EXPECT16 cx, 5
        ; JCXZ looks at CX only, JECXZ at ECX
        mov     byte [PATH], 0
        mov     ecx, 0x00010000
        jcxz    .j1
        STEP    0x80
.j1:    jecxz   .j2                     ; 67 E3: ECX != 0, falls through
        STEP    0x01
.j2:    mov     ecx, 0
        jecxz   .j3
        STEP    0x80
.j3:    mov     cx, 1
        jcxz    .j4
        STEP    0x02
.j4:    EXPECT8 [PATH], 0x03
        TEND
        ret

; ---------------------------------------------------------------- ENTER/LEAVE
t_enter:
        TGROUP  "enter/leave"
        mov     di, sp                  ; our SP
        mov     word [0x6FFE], 0x1111   ; the "display" of an outer frame
        mov     word [0x6FFC], 0x2222
        mov     word [0x6FFA], 0x3333
        ; level 0: push BP; BP = SP; SP -= size
        mov     bp, 0x7000
        enter   6, 0
        mov     ax, di
        sub     ax, 2
        EXPECT16 bp, ax
        sub     ax, 6
        EXPECT16 sp, ax
        EXPECT16 [ss:bp], 0x7000
        leave
        EXPECT16 bp, 0x7000
        EXPECT16 sp, di
        ; level 1: push BP; push frame; BP = frame; SP -= size
        enter   4, 1
        mov     ax, di
        sub     ax, 2                   ; frame
        EXPECT16 bp, ax
        EXPECT16 [ss:bp], 0x7000
        EXPECT16 [ss:bp - 2], ax
        sub     ax, 2 + 4
        EXPECT16 sp, ax
        leave
        EXPECT16 bp, 0x7000
        EXPECT16 sp, di
        ; level 3: push BP; push [BP-2]; push [BP-4]; push frame
        enter   8, 3
        mov     ax, di
        sub     ax, 2                   ; frame
        EXPECT16 bp, ax
        EXPECT16 [ss:bp], 0x7000
        EXPECT16 [ss:bp - 2], 0x1111
        EXPECT16 [ss:bp - 4], 0x2222
        EXPECT16 [ss:bp - 6], ax
        sub     ax, 6 + 8
        EXPECT16 sp, ax
        leave
        EXPECT16 bp, 0x7000
        EXPECT16 sp, di
        ; the level is taken modulo 32: 33 acts as 1
        enter   0, 33
        mov     ax, di
        sub     ax, 2
        EXPECT16 bp, ax
        sub     ax, 2
        EXPECT16 sp, ax
        leave
        EXPECT16 sp, di
        TEND
        ret

; ---------------------------------------------------------------- PUSHA/POPA
t_pusha:
        TGROUP  "pusha/popa"
        mov     si, sp                  ; S
        mov     eax, 0xA0A0AAAA
        mov     ecx, 0xC0C0CCCC
        mov     edx, 0xD0D0DDDD
        mov     ebx, 0xB0B0BBBB
        mov     ebp, 0xE0E0EEEE
        mov     edi, 0xF0F0FFFF
        push    esi                     ; keep S
        mov     esi, 0x5050CCC1
        pusha
        mov     bp, sp
        EXPECT16 [ss:bp + 14], 0xAAAA
        EXPECT16 [ss:bp + 12], 0xCCCC
        EXPECT16 [ss:bp + 10], 0xDDDD
        EXPECT16 [ss:bp + 8], 0xBBBB
        mov     ax, bp
        add     ax, 16
        EXPECT16 [ss:bp + 6], ax        ; SP before PUSHA
        EXPECT16 [ss:bp + 4], 0xEEEE
        EXPECT16 [ss:bp + 2], 0xCCC1
        EXPECT16 [ss:bp + 0], 0xFFFF
        ; POPA ignores the SP slot
        mov     word [ss:bp + 6], 0x1234
        mov     word [ss:bp + 14], 0x0A0A
        xor     eax, eax
        xor     ebp, ebp
        popa
        EXPECT32 eax, 0x00000A0A        ; upper halves untouched
        EXPECT32 ebp, 0x0000EEEE
        EXPECT32 esi, 0x5050CCC1
        EXPECT32 edi, 0xF0F0FFFF
        ; PUSHAD/POPAD
        mov     eax, 0xA0A0AAAA
        mov     ebp, 0xE0E0EEEE
        pushad
        mov     bp, sp
        EXPECT32 [ss:bp + 28], 0xA0A0AAAA
        EXPECT32 [ss:bp + 24], 0xC0C0CCCC
        EXPECT32 [ss:bp + 20], 0xD0D0DDDD
        EXPECT32 [ss:bp + 16], 0xB0B0BBBB
        movzx   eax, bp
        add     eax, 32
        EXPECT32 [ss:bp + 12], eax      ; ESP before PUSHAD (upper half 0)
        EXPECT32 [ss:bp + 8], 0xE0E0EEEE
        EXPECT32 [ss:bp + 4], 0x5050CCC1
        EXPECT32 [ss:bp + 0], 0xF0F0FFFF
        mov     dword [ss:bp + 12], 0x12345678
        xor     eax, eax
        popad
        EXPECT32 eax, 0xA0A0AAAA
        EXPECT32 ebp, 0xE0E0EEEE
        pop     esi
        EXPECT16 sp, si
        ; PUSH SP pushes the value before the push (286 and later)
        mov     ax, sp
        push    sp
        pop     bx
        EXPECT16 bx, ax
        TEND
        ret

; ---------------------------------------------------------------- INT/IRET
h_rec:                                  ; [sp] = vector, then IP, CS, FLAGS
        push    bp
        mov     bp, sp
        pushf
        pop     word [ss:R_HFL]
        push    ax
        mov     ax, [ss:bp + 2]
        mov     [ss:R_VEC], ax
        mov     ax, [ss:bp + 4]
        mov     [ss:R_IP], ax
        mov     ax, [ss:bp + 6]
        mov     [ss:R_CS], ax
        mov     ax, [ss:bp + 8]
        mov     [ss:R_FL], ax
        inc     word [ss:R_CNT]
        pop     ax
        pop     bp
        add     sp, 2
        iret
h3:     push    word 3
        jmp     h_rec
h4:     push    word 4
        jmp     h_rec
h40:    push    word 0x40
        jmp     h_rec
h41:                                    ; sets CF in the saved FLAGS
        push    bp
        mov     bp, sp
        or      word [ss:bp + 6], CF
        pop     bp
        iret

t_int:
        TGROUP  "int/iret"
        mov     word [3 * 4], h3
        mov     word [4 * 4], h4
        mov     word [0x40 * 4], h40
        mov     word [0x40 * 4 + 2], 0xF000
        mov     word [0x41 * 4], h41
        mov     word [0x41 * 4 + 2], 0xF000
        mov     word [R_CNT], 0
        mov     bp, sp
        ; INT n with IF = 1, DF = 1 and the arithmetic flags set
        SETFLAGS 0x0ED7
        int     0x40
.i1:    EXPECTF 0x0FFF, 0x0ED7          ; IRET restored them
        cli
        cld
        EXPECT16 [R_VEC], 0x40
        EXPECT16 [R_IP], .i1
        EXPECT16 [R_CS], 0xF000
        EXPECT16 [R_FL], 0x0ED7
        EXPECT16 [R_HFL], 0x0CD7        ; IF (and TF) cleared inside
        EXPECT16 sp, bp
        ; INT3 (one byte) and INT 3 (two bytes)
        SETFLAGS 0x0002
        int3
.i2:    EXPECT16 [R_VEC], 3
        EXPECT16 [R_IP], .i2
        db      0xCD, 0x03
.i3:    EXPECT16 [R_IP], .i3
        ; INTO: nothing with OF = 0, vector 4 with OF = 1
        mov     word [R_VEC], 0
        SETFLAGS 0x0002
        into
        EXPECT16 [R_VEC], 0
        SETFLAGS 0x0802
        into
.i4:    EXPECT16 [R_VEC], 4
        EXPECT16 [R_IP], .i4
        EXPECT16 [R_CNT], 4
        ; the handler's change to the saved FLAGS comes back with IRET
        SETFLAGS 0x0002
        int     0x41
        EXPECTF CF, CF
        ; IRETD pops EIP, CS, EFLAGS as dwords
        push    dword 0x00000003        ; EFLAGS: CF
        push    dword 0xF000
        push    dword .i5
        o32 iret
        STEP    0x80
.i5:    EXPECTF 0x0FFF, 0x0003
        EXPECT16 sp, bp
        TEND
        ret

; ---------------------------------------------------------------- wrap chunk
; Reached from t_jmp by a near JMP whose target lies below offset 0 (IP
; wraps to FFE0h); jumps forward past FFFFh back to wrap_back.
        times   0xFFE0 - ($ - $$) db 0xFF
wrap_chunk:
        mov     byte [PATH + 1], 1
        db      0xE9                    ; jmp near wrap_back, forward
        dw      (wrap_back - ($ + 2)) & 0xFFFF

        ROM_END
