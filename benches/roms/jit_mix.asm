; jit_mix.asm — an integer-heavy 32-bit protected-mode workload for
; measuring the JIT against the interpreter (and QEMU TCG).
;
; Each round runs, over data derived from the running checksum:
;   - CRC-32 (table driven) over 64 KiB,
;   - a sieve of Eratosthenes up to 256 Ki,
;   - a bytecode interpreter (a small stack machine with a jump-table
;     dispatch) running a 40 000-iteration loop,
;   - a shell sort of 8192 dwords,
;   - a 40x40 integer matrix multiply,
;   - a division mix (DIV/IDIV by varying divisors).
; ROUNDS rounds; prints "checksum XXXXXXXX" and exits through
; isa-debug-exit with PASS. Same command line under crane86 and QEMU:
;   qemu-system-i386 -bios jit_mix.bin -nographic -serial stdio \
;       -monitor none -device isa-debug-exit,iobase=0xf4,iosize=0x04

%include "testrom.inc"

%define ROUNDS  12
ROMBASE equ     0xF0000                 ; linear address of offset 0 of the ROM
STACK   equ     0x90000
BUF     equ     0x100000                ; 64 KiB CRC input
CRCTAB  equ     0x110000                ; 256 dwords
SIEVE   equ     0x120000                ; 256 KiB of flags
SIEVE_N equ     0x40000
SORTA   equ     0x160000                ; 8192 dwords
SORT_N  equ     8192
MATA    equ     0x170000                ; 40x40 dwords each
MATB    equ     0x172000
MATC    equ     0x174000
MAT_N   equ     40
VMCODE  equ     0x180000
VMVARS  equ     0x181000
VMSTACK equ     0x181100
JTAB    equ     0x182000

rom_start:
        cli
        ; A20 on (port 92h bit 1; never bit 0, the reset)
        in      al, 0x92
        or      al, 2
        and     al, 0xFE
        out     0x92, al
        lgdt    [cs:gdt_desc]
        mov     eax, cr0
        or      al, 1
        mov     cr0, eax
        jmp     dword 0x08:(ROMBASE + pm32)

        align   8
gdt:    dq      0
        dq      0x00CF9B000000FFFF      ; 08: code, flat, 32-bit
        dq      0x00CF93000000FFFF      ; 10: data, flat
gdt_desc:
        dw      gdt_desc - gdt - 1
        dd      ROMBASE + gdt

        bits    32
pm32:   mov     ax, 0x10
        mov     ds, ax
        mov     es, ax
        mov     fs, ax
        mov     gs, ax
        mov     ss, ax
        mov     esp, STACK
        cld
        call    crc_table
        call    vm_setup
        xor     ebp, ebp                ; checksum
        mov     ecx, ROUNDS
.round: push    ecx
        call    crc
        add     ebp, eax
        call    sieve
        add     ebp, eax
        call    vm_run
        xor     ebp, eax
        call    sort
        add     ebp, eax
        call    matmul
        add     ebp, eax
        call    divmix
        xor     ebp, eax
        rol     ebp, 5
        pop     ecx
        dec     ecx
        jnz     .round
        mov     esi, ROMBASE + msg
        call    puts32
        mov     eax, ebp
        call    hex32_pm
        mov     al, 13
        call    putc32
        mov     al, 10
        call    putc32
        mov     esi, ROMBASE + pass
        call    puts32
        mov     al, 0
        out     0xF4, al
        cli
        hlt

msg:    db      "checksum ", 0
pass:   db      "PASS", 13, 10, 0

; ---- output (COM1) -----------------------------------------------------------------

putc32: push    edx
        push    eax
        mov     ah, al
        mov     dx, COM1 + 5
.wait:  in      al, dx
        test    al, 0x20
        jz      .wait
        mov     al, ah
        mov     dx, COM1
        out     dx, al
        out     0xE9, al
        pop     eax
        pop     edx
        ret

puts32: push    eax
.next:  mov     al, [esi]
        inc     esi
        test    al, al
        jz      .done
        call    putc32
        jmp     .next
.done:  pop     eax
        ret

hex32_pm:
        push    ecx
        mov     ecx, 8
.dig:   rol     eax, 4
        push    eax
        and     al, 0x0F
        add     al, '0'
        cmp     al, '9'
        jbe     .out
        add     al, 'A' - '9' - 1
.out:   call    putc32
        pop     eax
        dec     ecx
        jnz     .dig
        pop     ecx
        ret

; ---- CRC-32 --------------------------------------------------------------------------

crc_table:
        xor     ebx, ebx
.tab:   mov     eax, ebx
        mov     ecx, 8
.bit:   shr     eax, 1
        jnc     .nox
        xor     eax, 0xEDB88320
.nox:   dec     ecx
        jnz     .bit
        mov     [CRCTAB + ebx*4], eax
        inc     ebx
        cmp     ebx, 256
        jb      .tab
        ret

; fills BUF from the checksum, returns the CRC-32 of it in EAX
crc:    mov     eax, ebp
        or      eax, 1
        mov     edi, BUF
.fill:  imul    eax, eax, 1103515245
        add     eax, 12345
        mov     [edi], eax
        add     edi, 4
        cmp     edi, BUF + 0x10000
        jb      .fill
        mov     edx, 0xFFFFFFFF
        mov     esi, BUF
.loop:  movzx   eax, byte [esi]
        xor     al, dl
        shr     edx, 8
        xor     edx, [CRCTAB + eax*4]
        inc     esi
        cmp     esi, BUF + 0x10000
        jb      .loop
        not     edx
        mov     eax, edx
        ret

; ---- sieve ---------------------------------------------------------------------------

; returns the number of primes below SIEVE_N
sieve:  mov     edi, SIEVE
        mov     ecx, SIEVE_N / 4
        mov     eax, 0x01010101
        rep stosd
        mov     ebx, 2
        xor     eax, eax
.sv:    cmp     byte [SIEVE + ebx], 0
        je      .next
        inc     eax
        lea     edi, [ebx + ebx]
.mark:  cmp     edi, SIEVE_N
        jae     .next
        mov     byte [SIEVE + edi], 0
        add     edi, ebx
        jmp     .mark
.next:  inc     ebx
        cmp     ebx, SIEVE_N
        jb      .sv
        ret

; ---- bytecode interpreter ------------------------------------------------------------

OP_HALT  equ 0
OP_PUSHI equ 1
OP_LOAD  equ 2
OP_STORE equ 3
OP_ADD   equ 4
OP_SUB   equ 5
OP_MUL   equ 6
OP_XOR   equ 7
OP_SHR   equ 8
OP_DUP   equ 9
OP_JNZ   equ 10

vm_setup:
        ; jump table in RAM
        mov     dword [JTAB + 4*OP_HALT], ROMBASE + op_halt
        mov     dword [JTAB + 4*OP_PUSHI], ROMBASE + op_pushi
        mov     dword [JTAB + 4*OP_LOAD], ROMBASE + op_load
        mov     dword [JTAB + 4*OP_STORE], ROMBASE + op_store
        mov     dword [JTAB + 4*OP_ADD], ROMBASE + op_add
        mov     dword [JTAB + 4*OP_SUB], ROMBASE + op_sub
        mov     dword [JTAB + 4*OP_MUL], ROMBASE + op_mul
        mov     dword [JTAB + 4*OP_XOR], ROMBASE + op_xor
        mov     dword [JTAB + 4*OP_SHR], ROMBASE + op_shr
        mov     dword [JTAB + 4*OP_DUP], ROMBASE + op_dup
        mov     dword [JTAB + 4*OP_JNZ], ROMBASE + op_jnz
        ; the program, copied to RAM
        mov     esi, ROMBASE + vm_prog
        mov     edi, VMCODE
        mov     ecx, vm_prog_end - vm_prog
        rep movsb
        ret

; sum = 0; i = 40000 (+ low bits of the checksum)
; do { sum = (sum + i*i) ^ (sum >> 3); } while (--i)
vm_prog:
        db      OP_PUSHI
vm_n:   dd      40000
        db      OP_STORE, 0
        db      OP_PUSHI
        dd      0
        db      OP_STORE, 1
vm_loop equ     $ - vm_prog
        db      OP_LOAD, 1, OP_LOAD, 0, OP_LOAD, 0, OP_MUL, OP_ADD
        db      OP_LOAD, 1, OP_SHR, 3, OP_XOR, OP_STORE, 1
        db      OP_LOAD, 0, OP_PUSHI
        dd      1
        db      OP_SUB, OP_DUP, OP_STORE, 0, OP_JNZ
        dd      vm_loop
        db      OP_LOAD, 1, OP_HALT
vm_prog_end:

; ESI = bytecode pointer, EDI = stack pointer (grows up), returns the top
vm_run: mov     eax, ebp
        and     eax, 0xFF
        add     eax, 40000
        mov     [VMCODE + vm_n - vm_prog], eax
        mov     esi, VMCODE
        mov     edi, VMSTACK
vm_next:
        movzx   eax, byte [esi]
        inc     esi
        jmp     [JTAB + eax*4]
op_halt:
        mov     eax, [edi - 4]
        ret
op_pushi:
        mov     eax, [esi]
        add     esi, 4
        mov     [edi], eax
        add     edi, 4
        jmp     vm_next
op_load:
        movzx   eax, byte [esi]
        inc     esi
        mov     eax, [VMVARS + eax*4]
        mov     [edi], eax
        add     edi, 4
        jmp     vm_next
op_store:
        movzx   eax, byte [esi]
        inc     esi
        sub     edi, 4
        mov     edx, [edi]
        mov     [VMVARS + eax*4], edx
        jmp     vm_next
op_add: sub     edi, 4
        mov     eax, [edi]
        add     [edi - 4], eax
        jmp     vm_next
op_sub: sub     edi, 4
        mov     eax, [edi]
        sub     [edi - 4], eax
        jmp     vm_next
op_mul: sub     edi, 4
        mov     eax, [edi]
        imul    eax, [edi - 4]
        mov     [edi - 4], eax
        jmp     vm_next
op_xor: sub     edi, 4
        mov     eax, [edi]
        xor     [edi - 4], eax
        jmp     vm_next
op_shr: movzx   ecx, byte [esi]
        inc     esi
        shr     dword [edi - 4], cl
        jmp     vm_next
op_dup: mov     eax, [edi - 4]
        mov     [edi], eax
        add     edi, 4
        jmp     vm_next
op_jnz: sub     edi, 4
        mov     eax, [esi]
        add     esi, 4
        cmp     dword [edi], 0
        je      vm_next
        lea     esi, [VMCODE + eax]
        jmp     vm_next

; ---- shell sort ----------------------------------------------------------------------

; fills SORTA from the checksum, sorts it (unsigned), returns a sample sum
sort:   mov     eax, ebp
        xor     edi, edi
.gen:   imul    eax, eax, 69069
        inc     eax
        mov     [SORTA + edi*4], eax
        inc     edi
        cmp     edi, SORT_N
        jb      .gen
        mov     esi, ROMBASE + gaps
.gap:   mov     edx, [esi]              ; gap
        add     esi, 4
        test    edx, edx
        jz      .done
        mov     ebx, edx                ; i = gap
.outer: cmp     ebx, SORT_N
        jae     .gap
        mov     eax, [SORTA + ebx*4]    ; v
        mov     edi, ebx                ; j = i
.inner: cmp     edi, edx
        jb      .place
        mov     ecx, edi
        sub     ecx, edx
        mov     ecx, [SORTA + ecx*4]
        cmp     ecx, eax
        jbe     .place
        mov     [SORTA + edi*4], ecx
        sub     edi, edx
        jmp     .inner
.place: mov     [SORTA + edi*4], eax
        inc     ebx
        jmp     .outer
.done:  mov     eax, [SORTA]
        add     eax, [SORTA + 4*(SORT_N / 2)]
        add     eax, [SORTA + 4*(SORT_N - 1)]
        ret

gaps:   dd      1750, 701, 301, 132, 57, 23, 10, 4, 1, 0

; ---- matrix multiply -----------------------------------------------------------------

; C = A x B (40x40, int32), A and B from the checksum; returns the trace of C
matmul: mov     eax, ebp
        xor     edi, edi
.gen:   imul    eax, eax, 1664525
        add     eax, 1013904223
        mov     edx, eax
        sar     edx, 20
        mov     [MATA + edi*4], edx
        mov     edx, eax
        and     edx, 0x3FF
        sub     edx, 0x200
        mov     [MATB + edi*4], edx
        inc     edi
        cmp     edi, MAT_N * MAT_N
        jb      .gen
        xor     esi, esi                ; i
.row:   xor     edi, edi                ; j
.col:   xor     ecx, ecx                ; k
        xor     ebx, ebx                ; sum
        mov     eax, esi
        imul    eax, eax, MAT_N
        lea     edx, [MATA + eax*4]     ; &A[i][0]
.dot:   mov     eax, ecx
        imul    eax, eax, MAT_N
        add     eax, edi
        mov     eax, [MATB + eax*4]     ; B[k][j]
        imul    eax, [edx + ecx*4]      ; * A[i][k]
        add     ebx, eax
        inc     ecx
        cmp     ecx, MAT_N
        jb      .dot
        mov     eax, esi
        imul    eax, eax, MAT_N
        add     eax, edi
        mov     [MATC + eax*4], ebx
        inc     edi
        cmp     edi, MAT_N
        jb      .col
        inc     esi
        cmp     esi, MAT_N
        jb      .row
        xor     eax, eax
        xor     ecx, ecx
.tr:    mov     edx, ecx
        imul    edx, edx, MAT_N + 1
        add     eax, [MATC + edx*4]
        inc     ecx
        cmp     ecx, MAT_N
        jb      .tr
        ret

; ---- division mix --------------------------------------------------------------------

divmix: mov     esi, ebp
        or      esi, 1
        xor     edi, edi                ; accumulator
        mov     ecx, 50000
.loop:  imul    esi, esi, 1103515245
        add     esi, 12345
        mov     eax, esi
        shr     eax, 1
        xor     edx, edx
        mov     ebx, ecx
        or      ebx, 3
        div     ebx
        add     edi, eax
        xor     edi, edx
        mov     eax, esi
        sar     eax, 3
        cdq
        mov     ebx, ecx
        and     ebx, 0xFF
        add     ebx, 7
        idiv    ebx
        sub     edi, eax
        add     edi, edx
        dec     ecx
        jnz     .loop
        mov     eax, edi
        ret

        bits    16
ROM_END
