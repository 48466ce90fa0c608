; paging_pae — PAE paging (Intel SDM vol. 3, 4.4, tables 4-7 to 4-11;
; 4.6-4.8; 4.10):
;   * 64-bit entries, 4 KiB pages and 2 MiB pages;
;   * every U/S x R/W combination of PDE and PTE (4 KiB) and of a 2 MiB PDE,
;     against ring 0 read / write (WP 0 and 1) / fetch and ring 3 read /
;     write / fetch;
;   * not-present PDPTE, PDE and PTE;
;   * reserved bits: 62:40 (above MAXPHYADDR), 20:13 of a 2 MiB PDE, and
;     bit 63 while EFER.NXE=0 — #PF with RSVD; PAT (bit 12 of a 2 MiB PDE)
;     is not reserved;
;   * A and D in a PTE and in a 2 MiB PDE, the upper dword left alone;
;   * a PDPTE made present is used after MOV CR3; INVLPG of a 2 MiB page;
;   * when CPUID reports NX (leaf 80000001h, EDX bit 20): EFER.NXE, fetches
;     from XD pages (XD in the PTE, in the PDE above it, in a 2 MiB PDE) are
;     #PF with I/D, data accesses are not; with NXE=1 every fetch fault has
;     I/D and bit 63 is no longer reserved.  QEMU's default CPU does not
;     report NX, so under QEMU this part is skipped (the line is the same).
;
; Not tested here, because QEMU 7.2 TCG differs (crane86's unit tests in
; mmu/src/page_walk.rs and cpu/src/tlb.rs cover them):
;   * physical addresses above 4 GiB: the SDM makes MAXPHYADDR 36 for a
;     PAE CPU without CPUID leaf 80000008h, as crane86 has it, but QEMU's
;     qemu32 CPU uses 32 and treats bits 35:32 as reserved;
;   * the #GP(0) of a MOV to CR3 whose PDPTEs set reserved bits, and PDPTE
;     registers keeping their values until CR3 is loaded again (QEMU reads
;     the PDPTEs from memory at every walk).

%include "testrom.inc"
%include "sysprot.inc"
%include "paging_common.inc"

PDPT            equ 0x10000
PD0             equ 0x11000             ; linear 0-1 GiB
PT0             equ 0x12000             ; identity 0-2 MiB
PT_M            equ 0x13000             ; 4 matrix tables 0x13000-0x16FFF
PT_X            equ 0x17000             ; a table under an XD PDE
PD1             equ 0x18000             ; linear 1-2 GiB (PDPTE 1, present later)
MFRAME          equ 0x200000            ; 4 KiB matrix pages map here (RETF at 0)
M2M             equ 0x600000            ; 2 MiB matrix pages map here (RETF at 0)
F1              equ 0x201000
F2              equ 0x202000
P2M_A           equ 0x800000            ; 2 MiB page for A/D
P2M_OLD         equ 0xA00000            ; INVLPG: before
P2M_NEW         equ 0xC00000            ; INVLPG: after
PS              equ 0x80
%define LIN2M(k) ((k) << 21)            ; PD0 entry k
%define PDE(k)  (PD0 + (k) * 8)
%define PTE3(k) (PT_M + 3 * 0x1000 + (k) * 8)   ; matrix table 3 (user, writable PDE)
LIN_T3          equ 0xA00000            ; linear base of matrix table 3 (PDE 5)

; SET64 address, low, high
%macro SET64 3
        mov     dword [%1], %2
        mov     dword [%1 + 4], %3
%endmacro

rom_start:
        SYS_ENTER_PM32
        call    setup

t_enable:
        mov     eax, cr4
        CHECKM  eax, 0x20, 0x20, "pae_enable: CR4.PAE"
        CHECK   [F1 + 0x10], 0x600DF00D, "pae_enable: identity map"
        OK      "pae_enable: PAE paging on, 4 KiB and 2 MiB identity pages"

t_matrix:
        mov     esi, matrix
        mov     edi, MATRIX_ROWS
        call    pg_matrix
        OK      "pae_matrix: PDE x PTE and 2 MiB PDE U/S, R/W: ring 0 R/W/W+WP/X, ring 3 R/W/X; P=0 at each level"

t_rsvd:
        mov     esi, rsvd
        mov     edi, RSVD_ROWS
        call    pg_matrix
        OK      "pae_reserved: bit 40 (above MAXPHYADDR), 2 MiB PDE bit 13, bit 63 with NXE=0 are RSVD; PAT is not"

t_ad:
        mov     eax, [LIN_T3 + 0x8000 + 0x200]        ; PTE3(8)
        CHECK   [PTE3(8)], F1 | 0x27, "pae_ad: PTE A after a read"
        CHECK   [PTE3(8) + 4], 0x00000000, "pae_ad: PTE upper dword"
        mov     dword [LIN_T3 + 0x8000 + 0x200], 0x11111111
        CHECK   [PTE3(8)], F1 | 0x67, "pae_ad: PTE D after a write"
        mov     eax, [LIN2M(15) + 0x1234]
        CHECK   [PDE(15)], P2M_A | PS | 0x27, "pae_ad: 2 MiB PDE A"
        mov     dword [LIN2M(15) + 0x1FFFFC], 0
        CHECK   [PDE(15)], P2M_A | PS | 0x67, "pae_ad: 2 MiB PDE D"
        CHECK   [PDE(15) + 4], 0, "pae_ad: 2 MiB PDE upper dword"
        OK      "pae_ad: A and D in the PTE and the 2 MiB PDE, upper dwords untouched"

t_pdpte:
        ACCESS  K_SREAD, 0x40000000 + DATA_OFS, 0x00, "pae_pdpte: PDPTE 1 not present"
        SET64   PDPT + 8, PD1 | 1, 0
        mov     eax, cr3
        mov     cr3, eax
        ACCESS  K_SREAD, 0x40000000 + DATA_OFS, NOFAULT, "pae_pdpte: present after MOV CR3"
        CHECK   [0x40000000 + 0x1200], 0x11111111, "pae_pdpte: data through PDPTE 1"
        OK      "pae_pdpte: a PDPTE made present is used after MOV CR3"

t_invlpg:
        CHECK   [LIN2M(16) + 0x200], 0xA0000200, "pae_invlpg: low piece before"
        CHECK   [LIN2M(16) + 0x1FF200], 0xA01FF200, "pae_invlpg: high piece before"
        mov     dword [PDE(16)], P2M_NEW | PS | 7
        invlpg  [LIN2M(16) + 0x12345]
        CHECK   [LIN2M(16) + 0x200], 0xC0000200, "pae_invlpg: low piece after"
        CHECK   [LIN2M(16) + 0x1FF200], 0xC01FF200, "pae_invlpg: high piece after"
        OK      "pae_invlpg: INVLPG anywhere in a 2 MiB page drops all of it"

t_nx:
        mov     eax, 0x80000000
        cpuid
        cmp     eax, 0x80000001
        jb      .skip
        mov     eax, 0x80000001
        cpuid
        test    edx, 1 << 20
        jz      .skip
        mov     ecx, 0xC0000080                 ; IA32_EFER
        rdmsr
        CHECK   eax, 0, "nx: EFER at reset"
        mov     ecx, 0xC0000080
        xor     edx, edx
        mov     eax, 0x800                      ; NXE
        wrmsr
        rdmsr
        CHECK   eax, 0x800, "nx: EFER.NXE set"
        mov     esi, nx_rows
        mov     edi, NX_ROWS
        call    pg_matrix
        ; back to NXE=0: bit 63 is reserved again
        mov     ecx, 0xC0000080
        xor     edx, edx
        xor     eax, eax
        wrmsr
        ACCESS  K_SREAD, LIN_T3 + 0x6000 + DATA_OFS, 0x09, "nx: bit 63 reserved again"
.skip:  OK      "nx: with EFER.NXE, XD pages (PTE, PDE, 2 MiB) fault on fetch with I/D, not on data; I/D on every fetch fault (when CPUID has NX)"

        PASS32

; ---- set-up (paging off) ----------------------------------------------------------------------------
setup:
        call    pg_setup_common
        mov     edi, PDPT
        mov     ecx, PD1 + 0x1000 - PDPT
        call    pg_zero
        SET64   PDPT, PD0 | 1, 0
        ; identity: 0-2 MiB in 4 KiB pages, 2-4 MiB as one 2 MiB page
        mov     edi, PT0
        mov     eax, 0x007
        xor     edx, edx
        mov     esi, 0x1000
        mov     ecx, 512
        call    pg_fill_pt64
        SET64   PDE(0), PT0 | 7, 0
        SET64   PDE(1), 0x200000 | PS | 7, 0
        ; 4 KiB matrix: PDE 2+b -> PT_M + b*0x1000, PTE t -> MFRAME
%assign b 0
%rep 4
        SET64   PDE(2 + b), (PT_M + b * 0x1000) | 1 | ((b & 1) << 2) | (b & 2), 0
  %assign t 0
  %rep 4
        SET64   PT_M + b * 0x1000 + t * 8, MFRAME | 1 | ((t & 1) << 2) | (t & 2), 0
    %assign t t + 1
  %endrep
  %assign b b + 1
%endrep
        ; 2 MiB matrix: PDE 6+b -> M2M
%assign b 0
%rep 4
        SET64   PDE(6 + b), M2M | PS | 1 | ((b & 1) << 2) | (b & 2), 0
  %assign b b + 1
%endrep
        mov     byte [MFRAME], 0xCB             ; RETF
        mov     byte [M2M], 0xCB
        ; PDE 10 not present; reserved-bit cases (matrix table 3 is under a
        ; user, writable PDE)
        SET64   PTE3(5), MFRAME | 7, 1 << (40 - 32)
        SET64   PDE(11), (PT_M + 3 * 0x1000) | 7, 1 << (40 - 32)
        SET64   PDE(12), M2M | (1 << 13) | PS | 7, 0
        SET64   PTE3(6), MFRAME | 7, 0x80000000             ; bit 63 (XD)
        SET64   PDE(13), M2M | PS | 7, 0x80000000
        SET64   PDE(14), M2M | 0x1000 | PS | 7, 0           ; PAT
        SET64   PTE3(8), F1 | 7, 0                          ; A/D test
        SET64   PDE(15), P2M_A | PS | 7, 0
        SET64   PDE(16), P2M_OLD | PS | 7, 0
        mov     dword [P2M_OLD + 0x200], 0xA0000200
        mov     dword [P2M_OLD + 0x1FF200], 0xA01FF200
        mov     dword [P2M_NEW + 0x200], 0xC0000200
        mov     dword [P2M_NEW + 0x1FF200], 0xC01FF200
        ; NX cases: XD in a PTE (PTE3(10)), in a PDE above a clean PTE
        ; (PDE 17 -> PT_X), in a 2 MiB PDE (PDE 18)
        SET64   PTE3(10), MFRAME | 7, 0x80000000
        SET64   PDE(17), PT_X | 7, 0x80000000
        SET64   PT_X, MFRAME | 7, 0
        SET64   PDE(18), M2M | PS | 7, 0x80000000
        ; PDPTE 1 -> PD1 (entry 0 -> the 2 MiB at 0x200000), not present yet
        SET64   PD1, 0x200000 | PS | 7, 0
        mov     dword [F1 + 0x10], 0x600DF00D
        mov     dword [F1 + 0x200], 0x11111111
        mov     eax, PDPT
        mov     cr3, eax
        mov     eax, cr4
        or      eax, 0x20                       ; PAE
        mov     cr4, eax
        mov     eax, cr0
        or      eax, 0x80000000
        mov     cr0, eax
        ret

; Expected outcomes (SDM 4.6.1; codes per 4.7), as in paging_basic.
;                     R0 R     R0 W     R0 W+WP  R0 X     R3 R     R3 W     R3 X
matrix:
        ; 4 KiB: PDE supervisor read-only
        ROW     0x0400000, NOFAULT, NOFAULT, 0x03,    NOFAULT, 0x05,    0x07,    0x05
        ROW     0x0401000, NOFAULT, NOFAULT, 0x03,    NOFAULT, 0x05,    0x07,    0x05
        ROW     0x0402000, NOFAULT, NOFAULT, 0x03,    NOFAULT, 0x05,    0x07,    0x05
        ROW     0x0403000, NOFAULT, NOFAULT, 0x03,    NOFAULT, 0x05,    0x07,    0x05
        ; PDE user read-only
        ROW     0x0600000, NOFAULT, NOFAULT, 0x03,    NOFAULT, 0x05,    0x07,    0x05
        ROW     0x0601000, NOFAULT, NOFAULT, 0x03,    NOFAULT, NOFAULT, 0x07,    NOFAULT
        ROW     0x0602000, NOFAULT, NOFAULT, 0x03,    NOFAULT, 0x05,    0x07,    0x05
        ROW     0x0603000, NOFAULT, NOFAULT, 0x03,    NOFAULT, NOFAULT, 0x07,    NOFAULT
        ; PDE supervisor writable
        ROW     0x0800000, NOFAULT, NOFAULT, 0x03,    NOFAULT, 0x05,    0x07,    0x05
        ROW     0x0801000, NOFAULT, NOFAULT, 0x03,    NOFAULT, 0x05,    0x07,    0x05
        ROW     0x0802000, NOFAULT, NOFAULT, NOFAULT, NOFAULT, 0x05,    0x07,    0x05
        ROW     0x0803000, NOFAULT, NOFAULT, NOFAULT, NOFAULT, 0x05,    0x07,    0x05
        ; PDE user writable
        ROW     0x0A00000, NOFAULT, NOFAULT, 0x03,    NOFAULT, 0x05,    0x07,    0x05
        ROW     0x0A01000, NOFAULT, NOFAULT, 0x03,    NOFAULT, NOFAULT, 0x07,    NOFAULT
        ROW     0x0A02000, NOFAULT, NOFAULT, NOFAULT, NOFAULT, 0x05,    0x07,    0x05
        ROW     0x0A03000, NOFAULT, NOFAULT, NOFAULT, NOFAULT, NOFAULT, NOFAULT, NOFAULT
        ; 2 MiB: supervisor read-only, user read-only, supervisor writable, user writable
        ROW     0x0C00000, NOFAULT, NOFAULT, 0x03,    NOFAULT, 0x05,    0x07,    0x05
        ROW     0x0E00000, NOFAULT, NOFAULT, 0x03,    NOFAULT, NOFAULT, 0x07,    NOFAULT
        ROW     0x1000000, NOFAULT, NOFAULT, NOFAULT, NOFAULT, 0x05,    0x07,    0x05
        ROW     0x1200000, NOFAULT, NOFAULT, NOFAULT, NOFAULT, NOFAULT, NOFAULT, NOFAULT
        ; not present: PTE (table 3, entry 4), PDE (entry 10), PDPTE (1)
        ROW     0x0A04000, 0x00,    0x02,    0x02,    0x00,    0x04,    0x06,    0x04
        ROW     0x1400000, 0x00,    0x02,    0x02,    0x00,    0x04,    0x06,    0x04
        ROW     0x40000000, 0x00,   0x02,    0x02,    0x00,    0x04,    0x06,    0x04
MATRIX_ROWS     equ ($ - matrix) / (4 + NKINDS)

rsvd:
        ROW     0x0A05000, 0x09,    0x0B,    0x0B,    0x09,    0x0D,    0x0F,    0x0D  ; PTE bit 40
        ROW     0x1600000, 0x09,    0x0B,    0x0B,    0x09,    0x0D,    0x0F,    0x0D  ; PDE bit 40
        ROW     0x1800000, 0x09,    0x0B,    0x0B,    0x09,    0x0D,    0x0F,    0x0D  ; 2 MiB PDE bit 13
        ROW     0x0A06000, 0x09,    0x0B,    0x0B,    0x09,    0x0D,    0x0F,    0x0D  ; PTE bit 63, NXE=0
        ROW     0x1A00000, 0x09,    0x0B,    0x0B,    0x09,    0x0D,    0x0F,    0x0D  ; 2 MiB PDE bit 63
        ROW     0x1C00000, NOFAULT, NOFAULT, NOFAULT, NOFAULT, NOFAULT, NOFAULT, NOFAULT ; PAT
RSVD_ROWS       equ ($ - rsvd) / (4 + NKINDS)

;; (table 3 entries 7 and 9 are unused)
; With EFER.NXE=1: I/D (0x10) in every fetch fault; XD blocks fetches only.
nx_rows:
        ROW     0x0A0A000, NOFAULT, NOFAULT, NOFAULT, 0x11,    NOFAULT, NOFAULT, 0x15  ; XD in the PTE
        ROW     0x2200000, NOFAULT, NOFAULT, NOFAULT, 0x11,    NOFAULT, NOFAULT, 0x15  ; XD in the PDE
        ROW     0x2400000, NOFAULT, NOFAULT, NOFAULT, 0x11,    NOFAULT, NOFAULT, 0x15  ; XD in a 2 MiB PDE
        ROW     0x0A06000, NOFAULT, NOFAULT, NOFAULT, 0x11,    NOFAULT, NOFAULT, 0x15  ; bit 63: XD now
        ROW     0x0400000, NOFAULT, NOFAULT, 0x03,    NOFAULT, 0x05,    0x07,    0x15  ; supervisor read-only
        ROW     0x0A04000, 0x00,    0x02,    0x02,    0x10,    0x04,    0x06,    0x14  ; not present
        ROW     0x0A05000, 0x09,    0x0B,    0x0B,    0x19,    0x0D,    0x0F,    0x1D  ; reserved bit 40
NX_ROWS         equ ($ - nx_rows) / (4 + NKINDS)

        bits    16
ROM_END
