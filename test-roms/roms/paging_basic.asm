; paging_basic — 32-bit paging with 4 KiB pages (Intel SDM vol. 3, 4.3,
; 4.6-4.8, 4.10):
;   * every combination of U/S and R/W in the PDE and the PTE, against
;     ring 0 read / write (CR0.WP 0 and 1) / fetch and ring 3 read / write /
;     fetch: #PF or not, the error code, CR2 and the saved EIP (4.6.1, 4.7);
;   * not-present PDEs and PTEs;
;   * accessed and dirty bits (4.8), including a write whose translation was
;     cached by an earlier read while D was clear;
;   * INVLPG, MOV CR3 and CR4.PGE making a changed PTE visible (4.10.4.1):
;     only that the new mapping is used after them, never that the old one
;     lingers before (that is implementation-specific);
;   * a page fault drops the stale translation: no INVLPG is needed after
;     making a not-present or read-only page present or writable (4.10.4.1);
;   * writes and reads that cross into a faulting page: #PF with CR2 at the
;     second page, and nothing written to the first;
;   * a recursive mapping (the last PDE points at the page directory).
;
; Tables: the page directory at PD; PDE 0 maps the first 4 MiB 1:1 through
; PT_ID with U/S=1 and R/W=1 (ROM code, stacks and tables are reachable from
; ring 3); PDEs 1-4 hold the matrix; PDE 5 is not present; PDE 6 maps the
; pages of the other tests through PT_T.

%include "testrom.inc"
%include "sysprot.inc"
%include "paging_common.inc"

PD              equ 0x10000
PT_ID           equ 0x11000
PT_M            equ 0x12000             ; 4 tables, 0x12000-0x15FFF
PT_T            equ 0x16000
MFRAME          equ 0x200000            ; the matrix pages all map here (RETF at 0)
F1              equ 0x201000
F2              equ 0x202000
F3              equ 0x203000
F4              equ 0x204000
LIN_T           equ 0x1800000           ; PDE 6
%define LIN(k)  (LIN_T + (k) * 0x1000)
%define PTE(k)  (PT_T + (k) * 4)

rom_start:
        SYS_ENTER_PM32
        call    setup

; ---- paging on --------------------------------------------------------------------------------
t_enable:
        mov     eax, cr0
        CHECKM  eax, 0x80000001, 0x80000001, "paging_enable: CR0.PG|PE"
        mov     eax, cr3
        CHECK   eax, PD, "paging_enable: CR3"
        mov     dword [F1 + 0x10], 0x600DF00D   ; through the identity map
        mov     eax, cr0
        and     eax, 0x7FFFFFFF
        mov     cr0, eax
        CHECK   [F1 + 0x10], 0x600DF00D, "paging_enable: same bytes with PG=0"
        or      eax, 0x80000000
        mov     cr0, eax
        OK      "paging_enable: 4 KiB identity map, CR0.PG on/off keeps running"

; ---- the permission matrix ---------------------------------------------------------------------
t_matrix:
        mov     esi, matrix
        mov     edi, MATRIX_ROWS
        call    pg_matrix
        OK      "perm_matrix: PDE x PTE U/S and R/W, ring 0 R/W/W+WP/X and ring 3 R/W/X: #PF codes, CR2, EIP"

; ---- accessed and dirty bits ------------------------------------------------------------------
t_ad:
        mov     eax, [LIN(0) + 0x200]
        CHECKM  [PD + 6 * 4], 0x60, 0x20, "accessed_dirty: PDE A after a read"
        CHECK   [PTE(0)], F1 | 0x27, "accessed_dirty: PTE A, not D, after a read"
        mov     [LIN(0) + 0x200], eax
        CHECK   [PTE(0)], F1 | 0x67, "accessed_dirty: PTE D after a write"
        ; A read caches the translation with D clear; the write must still set D.
        mov     eax, [LIN(1) + 0x200]
        CHECK   [PTE(1)], F2 | 0x27, "accessed_dirty: read before write"
        mov     [LIN(1) + 0x204], eax
        CHECK   [PTE(1)], F2 | 0x67, "accessed_dirty: D after a write that hit a cached read"
        ; Software clears them; after INVLPG the CPU sets them again.
        and     dword [PTE(1)], ~0x60
        invlpg  [LIN(1)]
        mov     eax, [LIN(1) + 0x200]
        CHECK   [PTE(1)], F2 | 0x27, "accessed_dirty: A again after INVLPG"
        mov     [LIN(1) + 0x200], eax
        CHECK   [PTE(1)], F2 | 0x67, "accessed_dirty: D again after INVLPG"
        ; Ring 3 accesses and fetches set them the same way.
        ACCESS  K_UREAD, LIN(2) + 0x200, NOFAULT, "accessed_dirty: ring 3 read"
        CHECK   [PTE(2)], F3 | 0x27, "accessed_dirty: A from ring 3"
        ACCESS  K_UWRITE, LIN(2) + 0x200, NOFAULT, "accessed_dirty: ring 3 write"
        CHECK   [PTE(2)], F3 | 0x67, "accessed_dirty: D from ring 3"
        ACCESS  K_SFETCH, LIN(3), NOFAULT, "accessed_dirty: fetch"
        CHECK   [PTE(3)], MFRAME | 0x27, "accessed_dirty: A, not D, from a fetch"
        OK      "accessed_dirty: A on PDE and PTE for reads/fetches, D on writes (also after a cached read)"

; ---- making PTE changes visible ---------------------------------------------------------------
t_invlpg:
        mov     dword [F1 + 0x200], 0x11111111
        mov     dword [F2 + 0x200], 0x22222222
        CHECK   [LIN(4) + 0x200], 0x11111111, "invlpg: before"
        mov     dword [PTE(4)], F2 | 7
        invlpg  [LIN(4)]
        CHECK   [LIN(4) + 0x200], 0x22222222, "invlpg: new frame after INVLPG"
        mov     dword [PTE(4)], F1 | 7
        invlpg  [LIN(4) + 0xFFF]                ; any address in the page
        CHECK   [LIN(4) + 0x200], 0x11111111, "invlpg: INVLPG of the last byte"
        mov     dword [PTE(4)], F2 | 7
        mov     eax, cr3
        mov     cr3, eax
        CHECK   [LIN(4) + 0x200], 0x22222222, "invlpg: new frame after MOV CR3"
        OK      "invlpg: INVLPG (any byte of the page) and MOV CR3 make a changed PTE visible"

        ; Global pages: INVLPG drops them too, and so does a CR4.PGE change.
        mov     eax, cr4
        or      eax, 0x80                       ; PGE
        mov     cr4, eax
        CHECK   [LIN(5) + 0x200], 0x11111111, "global: G page before"
        mov     dword [PTE(5)], F2 | 0x107
        invlpg  [LIN(5)]
        CHECK   [LIN(5) + 0x200], 0x22222222, "global: G page after INVLPG"
        mov     dword [PTE(5)], F1 | 0x107
        mov     eax, cr4
        and     eax, ~0x80
        mov     cr4, eax
        CHECK   [LIN(5) + 0x200], 0x11111111, "global: after clearing CR4.PGE"
        mov     dword [PTE(5)], F2 | 0x107
        mov     eax, cr4
        or      eax, 0x80
        mov     cr4, eax
        CHECK   [LIN(5) + 0x200], 0x22222222, "global: after setting CR4.PGE"
        OK      "global: INVLPG and CR4.PGE changes make a changed global PTE visible"

        ; A #PF leaves no stale translation behind: fixing the PTE is enough.
        ACCESS  K_SREAD, LIN(6) + 0x200, 0x00, "fault_flush: not present"
        mov     dword [PTE(6)], F1 | 7
        ACCESS  K_SREAD, LIN(6) + 0x200, NOFAULT, "fault_flush: present now"
        CHECK   [LIN(6) + 0x200], 0x11111111, "fault_flush: data"
        ACCESS  K_UREAD, LIN(7) + 0x200, NOFAULT, "fault_flush: read-only page read"
        ACCESS  K_UWRITE, LIN(7) + 0x200, 0x07, "fault_flush: read-only page write"
        or      dword [PTE(7)], 2
        ACCESS  K_UWRITE, LIN(7) + 0x200, NOFAULT, "fault_flush: writable now"
        OK      "fault_flush: after a #PF, a PTE made present or writable is used without INVLPG"

; ---- accesses that cross into a faulting page ---------------------------------------------------
t_cross:
        mov     dword [F3 + 0xFFC], 0xAABBCCDD
        EXPECT  .r1
.f1:    mov     dword [LIN(8) + 0xFFE], 0x11223344
.r1:    CHECK_EXC 14, 0x02, .f1, "page_crossing: dword write"
        mov     eax, cr2
        CHECK   eax, LIN(9), "page_crossing: dword write CR2"
        CHECK   [F3 + 0xFFC], 0xAABBCCDD, "page_crossing: first page untouched by the dword"
        EXPECT  .r2
.f2:    mov     word [LIN(8) + 0xFFF], 0x5566
.r2:    CHECK_EXC 14, 0x02, .f2, "page_crossing: word write"
        mov     eax, cr2
        CHECK   eax, LIN(9), "page_crossing: word write CR2"
        CHECK   [F3 + 0xFFC], 0xAABBCCDD, "page_crossing: first page untouched by the word"
        EXPECT  .r3
.f3:    mov     eax, [LIN(8) + 0xFFD]
.r3:    CHECK_EXC 14, 0x00, .f3, "page_crossing: dword read"
        mov     eax, cr2
        CHECK   eax, LIN(9), "page_crossing: dword read CR2"
        ; Second page present but supervisor-only: a ring-3 write.
        mov     dword [PTE(9)], F4 | 3
        EXPECT  .r4
        TO_RING3 .f4
.f4:    mov     dword [ss:LIN(8) + 0xFFE], 0x11223344
        int     0x80
.r4:    CHECK_EXC 14, 0x07, .f4, "page_crossing: ring 3 write to a supervisor page"
        mov     eax, cr2
        CHECK   eax, LIN(9), "page_crossing: ring 3 write CR2"
        CHECK   [F3 + 0xFFC], 0xAABBCCDD, "page_crossing: first page untouched by ring 3"
        ; Ring 0 may write both.
        mov     dword [F4], 0
        mov     dword [LIN(8) + 0xFFE], 0x11223344
        CHECK   [F3 + 0xFFC], 0x3344CCDD, "page_crossing: first half"
        CHECK   [F4], 0x1122, "page_crossing: second half"
        OK      "page_crossing: #PF with CR2 = second page, first page unchanged"

; ---- a recursive mapping: the last PDE points at the directory ---------------------------------
t_recursive:
        mov     dword [PD + 1023 * 4], PD | 3
        CHECK   [0xFFC00000 + 6 * 0x1000 + 2 * 4], [PTE(2)], "recursive: PTE 2 through the window"
        CHECK   [0xFFFFF000 + 6 * 4], [PD + 6 * 4], "recursive: PDE 6 through the directory page"
        CHECK   [0xFFFFF000 + 1023 * 4], [PD + 1023 * 4], "recursive: the self-reference itself"
        mov     dword [0xFFC00000 + 6 * 0x1000 + 10 * 4], F1 | 7   ; PTE 10, via the window
        CHECK   [PTE(10)], F1 | 7, "recursive: PTE written through the window"
        CHECK   [LIN(10) + 0x200], 0x11111111, "recursive: the new PTE maps F1"
        ACCESS  K_UREAD, 0xFFC00000 + DATA_OFS, 0x05, "recursive: ring 3 may not read it"
        OK      "recursive: PDE 1023 -> PD maps the tables at FFC00000 and the directory at FFFFF000"

        PASS32

; ---- set-up -------------------------------------------------------------------------------------
setup:
        call    pg_setup_common
        mov     edi, PD
        mov     ecx, PT_T + 0x1000 - PD
        call    pg_zero
        mov     edi, PT_ID                      ; 0-4 MiB 1:1, user, writable
        mov     eax, 0x007
        mov     edx, 0x1000
        mov     ecx, 1024
        call    pg_fill_pt
        mov     dword [PD], PT_ID | 7
        ; matrix: PDE 1+b -> PT_M + b*0x1000 with U/S = b bit 0, R/W = b bit 1;
        ; PTE t of each table -> MFRAME with U/S = t bit 0, R/W = t bit 1.
%assign b 0
%rep 4
        mov     dword [PD + (1 + b) * 4], (PT_M + b * 0x1000) | 1 | ((b & 1) << 2) | (b & 2)
  %assign t 0
  %rep 4
        mov     dword [PT_M + b * 0x1000 + t * 4], MFRAME | 1 | ((t & 1) << 2) | (t & 2)
    %assign t t + 1
  %endrep
  %assign b b + 1
%endrep
        mov     byte [MFRAME], 0xCB             ; RETF
        ; PDE 5 stays not present; PDE 6 -> PT_T (A clear, for t_ad).
        mov     dword [PD + 6 * 4], PT_T | 7
        mov     dword [PTE(0)], F1 | 7
        mov     dword [PTE(1)], F2 | 7
        mov     dword [PTE(2)], F3 | 7
        mov     dword [PTE(3)], MFRAME | 7
        mov     dword [PTE(4)], F1 | 7
        mov     dword [PTE(5)], F1 | 0x107      ; global
        mov     dword [PTE(6)], 0               ; not present (made present later)
        mov     dword [PTE(7)], F2 | 5          ; user, read-only
        mov     dword [PTE(8)], F3 | 7
        mov     dword [PTE(9)], 0               ; not present
        mov     eax, PD
        mov     cr3, eax
        mov     eax, cr0
        or      eax, 0x80000000
        mov     cr0, eax
        ret

; Expected outcome per access kind: ring 0 read, write, write with CR0.WP=1,
; fetch; ring 3 read, write, fetch.  Derived from SDM 4.6.1: ring 0 may
; read and fetch any page, and write any page unless WP=1 and R/W=0 at some
; level; ring 3 needs U/S=1 at both levels, and R/W=1 at both to write.
; Error codes (4.7): P=1, W/R = write, U/S = ring 3.
matrix:
        ;       linear                      R0 R     R0 W     R0 W+WP  R0 X     R3 R     R3 W     R3 X
        ; PDE supervisor read-only
        ROW     0x0400000,                  NOFAULT, NOFAULT, 0x03,    NOFAULT, 0x05,    0x07,    0x05
        ROW     0x0401000,                  NOFAULT, NOFAULT, 0x03,    NOFAULT, 0x05,    0x07,    0x05
        ROW     0x0402000,                  NOFAULT, NOFAULT, 0x03,    NOFAULT, 0x05,    0x07,    0x05
        ROW     0x0403000,                  NOFAULT, NOFAULT, 0x03,    NOFAULT, 0x05,    0x07,    0x05
        ; PDE user read-only
        ROW     0x0800000,                  NOFAULT, NOFAULT, 0x03,    NOFAULT, 0x05,    0x07,    0x05
        ROW     0x0801000,                  NOFAULT, NOFAULT, 0x03,    NOFAULT, NOFAULT, 0x07,    NOFAULT
        ROW     0x0802000,                  NOFAULT, NOFAULT, 0x03,    NOFAULT, 0x05,    0x07,    0x05
        ROW     0x0803000,                  NOFAULT, NOFAULT, 0x03,    NOFAULT, NOFAULT, 0x07,    NOFAULT
        ; PDE supervisor writable
        ROW     0x0C00000,                  NOFAULT, NOFAULT, 0x03,    NOFAULT, 0x05,    0x07,    0x05
        ROW     0x0C01000,                  NOFAULT, NOFAULT, 0x03,    NOFAULT, 0x05,    0x07,    0x05
        ROW     0x0C02000,                  NOFAULT, NOFAULT, NOFAULT, NOFAULT, 0x05,    0x07,    0x05
        ROW     0x0C03000,                  NOFAULT, NOFAULT, NOFAULT, NOFAULT, 0x05,    0x07,    0x05
        ; PDE user writable
        ROW     0x1000000,                  NOFAULT, NOFAULT, 0x03,    NOFAULT, 0x05,    0x07,    0x05
        ROW     0x1001000,                  NOFAULT, NOFAULT, 0x03,    NOFAULT, NOFAULT, 0x07,    NOFAULT
        ROW     0x1002000,                  NOFAULT, NOFAULT, NOFAULT, NOFAULT, 0x05,    0x07,    0x05
        ROW     0x1003000,                  NOFAULT, NOFAULT, NOFAULT, NOFAULT, NOFAULT, NOFAULT, NOFAULT
        ; not present: the PTE (PDE 4, PTE 4), the PDE (PDE 5)
        ROW     0x1004000,                  0x00,    0x02,    0x02,    0x00,    0x04,    0x06,    0x04
        ROW     0x1400000,                  0x00,    0x02,    0x02,    0x00,    0x04,    0x06,    0x04
MATRIX_ROWS     equ ($ - matrix) / (4 + NKINDS)

        bits    16
ROM_END
