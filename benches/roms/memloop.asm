; memloop.asm — a memory-heavy workload in 32-bit protected mode, for
; measuring the cost of the memory path (segment checks, TLB, RAM).
;
; Each round: a 2 MiB memcpy as a dword load/store loop (not REP MOVS, so
; every access is one instruction), then a pointer chase of CHASE_STEPS
; steps through 4096 nodes 1 KiB apart — 4 MiB, all 1024 pages — in a
; scattered (full-period LCG) order.  The nodes are 1 KiB apart rather than
; packed so the chase touches many pages while its data (4096 cache lines)
; stays in the host's caches: the figure then shows the cost of the
; emulator's memory path, not the host's DRAM latency.  Prints a checksum
; and exits with PASS.
;
; memloop_paging.asm assembles this same file with PAGING=1: identical
; work with paging on, the first 16 MiB identity-mapped with 4 KiB pages,
; so the two MIPS figures compare paging off and on.

%ifndef PAGING
%define PAGING 0
%endif

%include "testrom.inc"
%include "sysprot.inc"

%define ROUNDS          8
%define CHASE_STEPS     (1 << 20)
NODES           equ 0x400000            ; 4 MiB of nodes
NNODES          equ 4096
NODE_SHIFT      equ 10                  ; 1 KiB apart
SRC             equ 0x800000            ; 2 MiB
DST             equ 0xA00000            ; 2 MiB
COPY_DWORDS     equ 0x200000 / 4
PD              equ 0x10000             ; page directory
PT              equ 0x11000             ; 4 page tables: 0-16 MiB

rom_start:
        SYS_ENTER_PM32
%if PAGING
        ; identity-map 0-16 MiB with 4 KiB pages, user, writable
        mov     edi, PD
        mov     ecx, 1024
        xor     eax, eax
        rep     stosd
        mov     edi, PT
        mov     eax, 0x007
        mov     ecx, 4096
.pte:   stosd
        add     eax, 0x1000
        loop    .pte
        mov     dword [PD + 0], PT | 7
        mov     dword [PD + 4], (PT + 0x1000) | 7
        mov     dword [PD + 8], (PT + 0x2000) | 7
        mov     dword [PD + 12], (PT + 0x3000) | 7
        mov     eax, PD
        mov     cr3, eax
        mov     eax, cr0
        or      eax, 0x80000000
        mov     cr0, eax
%endif
        ; source pattern
        mov     edi, SRC
        mov     ecx, COPY_DWORDS
        mov     eax, 0x12345678
.fill:  mov     [edi], eax
        imul    eax, eax, 1103515245
        add     eax, 12345
        add     edi, 4
        dec     ecx
        jnz     .fill
        ; node i -> node (i * 162013 + 0x3C6F) mod NNODES: a full-period
        ; LCG (multiplier = 1 mod 4, odd increment), so one cycle of all nodes
        xor     ecx, ecx
.link:  mov     eax, ecx
        imul    eax, eax, 162013
        add     eax, 0x3C6F
        and     eax, NNODES - 1
        shl     eax, NODE_SHIFT
        add     eax, NODES
        mov     edx, ecx
        shl     edx, NODE_SHIFT
        mov     [NODES + edx], eax              ; next pointer
        mov     [NODES + edx + 4], ecx          ; payload
        inc     ecx
        cmp     ecx, NNODES
        jb      .link

        xor     ebp, ebp                        ; checksum
        mov     ebx, ROUNDS
.round:
        ; memcpy SRC -> DST, then fold one dword of the copy into the sum
        mov     esi, SRC
        mov     edi, DST
        mov     ecx, COPY_DWORDS
.copy:  mov     eax, [esi]
        mov     [edi], eax
        add     esi, 4
        add     edi, 4
        dec     ecx
        jnz     .copy
        mov     eax, ebx
        shl     eax, 10
        add     ebp, [DST + eax]
        ; pointer chase
        mov     esi, NODES
        mov     ecx, CHASE_STEPS
.chase: mov     esi, [esi]
        add     ebp, [esi + 4]
        dec     ecx
        jnz     .chase
        add     ebp, esi
        ; perturb the source so rounds differ
        add     dword [SRC + ebx * 8], ebp
        dec     ebx
        jnz     .round

        PRINT32 "checksum "
        mov     eax, ebp
        call    sys_hex32
        PRINT32 13, 10
        PASS32

        bits    16
ROM_END
