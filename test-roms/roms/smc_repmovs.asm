; smc_repmovs.asm — one string instruction rewriting several decoded blocks.
;
; Routine A at 1000:0000 is two blocks (a short JMP, then MOV AX/RETF at
; offset 10h). After A has run (so both blocks are decoded), a single
; REP MOVSB copies routine B over all of A. Calling A again must run B's
; code in both blocks: every byte the REP wrote must invalidate what was
; decoded from it, not only the first.

%include "testrom.inc"

rom_start:
        ; Copy A into RAM at 1000:0000.
        mov     ax, 0x1000
        mov     es, ax
        push    cs
        pop     ds
        mov     si, routine_a
        xor     di, di
        mov     cx, ROUTINE_LEN
        rep     movsb
        ; Run it twice so its blocks are surely cached.
        call    0x1000:0x0000
        call    0x1000:0x0000
        cmp     ax, 0x1111
        jne     .fail
        PRINT   "routine A runs", 13, 10
        ; One REP MOVSB rewrites both of A's blocks with B.
        mov     si, routine_b
        xor     di, di
        mov     cx, ROUTINE_LEN
        rep     movsb
        call    0x1000:0x0000
        cmp     ax, 0x2222
        jne     .fail
        PRINT   "rep movsb over two blocks: new code runs", 13, 10
        ; And a REP STOSB of NOPs over the tail block, then a RETF.
        mov     di, 0x10
        mov     al, 0x90
        mov     cx, 8
        rep     stosb
        mov     byte [es:0x18], 0xCB        ; retf
        mov     ax, 0x3333
        call    0x1000:0x0000
        cmp     ax, 0x3333
        jne     .fail
        PRINT   "rep stosb over a block: new code runs", 13, 10
        PASS
.fail:  PRINT   "AX="
        call    hex16
        call    newline
        FAIL

routine_a:
        jmp     short .tail
        times   0x10 - ($ - routine_a) db 0x90
.tail:  mov     ax, 0x1111
        retf
        times   0x20 - ($ - routine_a) db 0x90
ROUTINE_LEN equ $ - routine_a

routine_b:
        jmp     short .tail
        times   0x10 - ($ - routine_b) db 0x90
.tail:  mov     ax, 0x2222
        retf
        times   0x20 - ($ - routine_b) db 0x90

ROM_END
