; intloop.asm — a loop-heavy integer workload for measuring guest MIPS.
;
; Runs in real mode with 32-bit registers: a table-driven CRC-32 over a
; 32 KiB buffer, a sieve of Eratosthenes, and an insertion sort, repeated
; ROUNDS times. Prints a checksum (so a wrong result is visible) and exits
; through isa-debug-exit with PASS. Same command line under crane86 and QEMU.

%include "testrom.inc"

%define ROUNDS  40
BUF     equ     0x10000                 ; 32 KiB data at 1000:0000
TABLE   equ     0x8000                  ; CRC table at 0000:8000 (1 KiB)
SIEVE   equ     0x20000                 ; 2000:0000, 32 KiB of flags
ARR     equ     0x30000                 ; 3000:0000, 512 words to sort

rom_start:
        ; Build the CRC-32 table (reflected polynomial 0xEDB88320).
        xor     ebx, ebx
.tab:   mov     eax, ebx
        mov     cx, 8
.bit:   shr     eax, 1
        jnc     .nox
        xor     eax, 0xEDB88320
.nox:   loop    .bit
        mov     [TABLE + ebx*4], eax
        inc     bx
        cmp     bx, 256
        jb      .tab
        ; Fill the buffer with a pattern.
        mov     ax, BUF >> 4
        mov     es, ax
        xor     di, di
        mov     eax, 0x12345678
.fill:  mov     [es:di], eax
        imul    eax, eax, 1103515245
        add     eax, 12345
        add     di, 4
        jnz     .fill
        xor     ebp, ebp                ; running checksum
        mov     si, ROUNDS
.round:
        ; CRC-32 over 32 KiB.
        mov     edx, 0xFFFFFFFF
        xor     edi, edi
.crc:   movzx   eax, byte [es:di]
        xor     al, dl
        shr     edx, 8
        xor     edx, [TABLE + eax*4]
        inc     di
        cmp     di, 0x8000
        jb      .crc
        not     edx
        add     ebp, edx
        ; Sieve of Eratosthenes up to 32767.
        push    es
        mov     ax, SIEVE >> 4
        mov     es, ax
        xor     di, di
        mov     cx, 0x4000
        mov     ax, 0x0101
        rep     stosw
        mov     bx, 2
        xor     ecx, ecx                ; prime count
.sv:    cmp     byte [es:bx], 0
        je      .next
        inc     ecx
        mov     di, bx
.mark:  add     di, bx
        jc      .next
        cmp     di, 0x8000
        jae     .next
        mov     byte [es:di], 0
        jmp     .mark
.next:  inc     bx
        cmp     bx, 0x8000
        jb      .sv
        add     ebp, ecx
        ; Insertion sort of 512 pseudo-random words.
        mov     ax, ARR >> 4
        mov     es, ax
        mov     eax, ebp
        xor     di, di
.gen:   imul    eax, eax, 69069
        inc     eax
        mov     [es:di], ax
        add     di, 2
        cmp     di, 1024
        jb      .gen
        mov     bx, 2
.outer: mov     ax, [es:bx]
        mov     di, bx
.inner: test    di, di
        jz      .place
        mov     dx, [es:di-2]
        cmp     dx, ax
        jbe     .place
        mov     [es:di], dx
        sub     di, 2
        jmp     .inner
.place: mov     [es:di], ax
        add     bx, 2
        cmp     bx, 1024
        jb      .outer
        movzx   eax, word [es:0]
        add     ebp, eax
        pop     es
        dec     si
        jnz     .round
        PRINT   "checksum "
        mov     eax, ebp
        call    hex32
        call    newline
        PASS

ROM_END
