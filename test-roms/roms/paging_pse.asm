; paging_pse — 4 MiB pages of 32-bit paging with CR4.PSE (Intel SDM vol. 3,
; 4.3 and tables 4-4/4-5, 4.6-4.8, 4.10):
;   * every U/S x R/W combination of a 4 MiB PDE against ring 0 read /
;     write (WP 0 and 1) / fetch and ring 3 read / write / fetch;
;   * a reserved bit (21) in a 4 MiB PDE: #PF with RSVD; PAT (bit 12) is
;     not reserved (CPUID reports PAT);
;   * a not-present PDE with PS set;
;   * offsets across the whole 4 MiB; A and D in the PDE;
;   * with CR4.PSE=0 the PS bit is ignored and the PDE points to a table;
;   * INVLPG of any address in a 4 MiB page (global or not) drops the whole
;     page's translation, including pieces used before at other offsets.
;
; PDE 0 maps the first 4 MiB 1:1 through a page table (so code keeps
; running with CR4.PSE=0); the other PDEs are 4 MiB pages into RAM above
; 8 MiB.  Marker values are written to physical memory before paging is on.

%include "testrom.inc"
%include "sysprot.inc"
%include "paging_common.inc"

PD              equ 0x10000
PT_ID           equ 0x11000
PG4M_M          equ 0x0800000           ; the matrix pages map here (RETF at 0)
PG4M_A          equ 0x0C00000           ; A/D and offsets
PG4M_T          equ 0x1000000           ; PS ignored: a page table here
PG4M_OLD        equ 0x1400000           ; INVLPG: before
PG4M_NEW        equ 0x1800000           ; INVLPG: after
F1              equ 0x201000
PS              equ 0x80
%define LIN(k)  ((k) << 22)
%define PDE(k)  (PD + (k) * 4)

rom_start:
        SYS_ENTER_PM32
        call    setup

t_matrix:
        mov     esi, matrix
        mov     edi, MATRIX_ROWS
        call    pg_matrix
        OK      "pse_matrix: 4 MiB PDE U/S and R/W, ring 0 R/W/W+WP/X and ring 3 R/W/X: #PF codes, CR2, EIP"

t_rsvd:
        mov     esi, rsvd
        mov     edi, RSVD_ROWS
        call    pg_matrix
        OK      "pse_reserved: bit 21 set is #PF with RSVD for every access; PAT (bit 12) allowed; P=0 with PS"

t_offsets:
        CHECK   [LIN(9) + 0x200], 0xA0000200, "pse_offsets: offset 0x200"
        CHECKM  [PDE(9)], 0x60, 0x20, "pse_offsets: A, not D, in the PDE after a read"
        CHECK   [LIN(9) + 0x3FF200], 0xA03FF200, "pse_offsets: offset 0x3FF200"
        CHECK   [LIN(9) + 0x2468AC], 0xA02468AC, "pse_offsets: offset 0x2468AC"
        mov     dword [LIN(9) + 0x135790], 0x12345678
        CHECKM  [PDE(9)], 0x60, 0x60, "pse_offsets: D in the PDE after a write"
        CHECK   [LIN(9) + 0x135790], 0x12345678, "pse_offsets: written"
        OK      "pse_offsets: linear bits 21:0 are the offset; A and D set in the PDE"

t_pse_off:
        CHECK   [LIN(10) + 0x200], 0x0BADBEE0, "pse_off: with PSE, a 4 MiB page"
        mov     eax, cr4
        and     eax, ~0x10
        mov     cr4, eax
        mov     eax, cr3                        ; flush, for processors whose
        mov     cr3, eax                        ; CR4.PSE change does not
        CHECK   [LIN(10) + 0x200], 0x11111111, "pse_off: without PSE, PS ignored: a page table"
        mov     eax, cr4
        or      eax, 0x10
        mov     cr4, eax
        mov     eax, cr3
        mov     cr3, eax
        CHECK   [LIN(10) + 0x200], 0x0BADBEE0, "pse_off: PSE back on"
        OK      "pse_off: CR4.PSE=0 ignores PS and walks to a page table"

t_invlpg:
        CHECK   [LIN(11) + 0x200], 0x14000200, "pse_invlpg: low piece before"
        CHECK   [LIN(11) + 0x3FF200], 0x143FF200, "pse_invlpg: high piece before"
        mov     dword [PDE(11)], PG4M_NEW | PS | 7
        invlpg  [LIN(11) + 0x123456]
        CHECK   [LIN(11) + 0x200], 0x18000200, "pse_invlpg: low piece after"
        CHECK   [LIN(11) + 0x3FF200], 0x183FF200, "pse_invlpg: high piece after"
        ; global 4 MiB page
        mov     eax, cr4
        or      eax, 0x80
        mov     cr4, eax
        CHECK   [LIN(12) + 0x200], 0x14000200, "pse_invlpg: global low piece before"
        CHECK   [LIN(12) + 0x3FF200], 0x143FF200, "pse_invlpg: global high piece before"
        mov     dword [PDE(12)], PG4M_NEW | 0x100 | PS | 7
        invlpg  [LIN(12) + 0x3FFFFF]
        CHECK   [LIN(12) + 0x200], 0x18000200, "pse_invlpg: global low piece after"
        CHECK   [LIN(12) + 0x3FF200], 0x183FF200, "pse_invlpg: global high piece after"
        OK      "pse_invlpg: INVLPG anywhere in a 4 MiB page (global too) drops all of it"

        PASS32

; ---- set-up (paging still off: physical = linear) ------------------------------------------------
setup:
        call    pg_setup_common
        mov     edi, PD
        mov     ecx, 0x2000
        call    pg_zero
        mov     edi, PT_ID
        mov     eax, 0x007
        mov     edx, 0x1000
        mov     ecx, 1024
        call    pg_fill_pt
        mov     dword [PDE(0)], PT_ID | 7
        ; matrix: PDE 1+b, U/S = b bit 0, R/W = b bit 1
%assign b 0
%rep 4
        mov     dword [PDE(1 + b)], PG4M_M | PS | 1 | ((b & 1) << 2) | (b & 2)
  %assign b b + 1
%endrep
        mov     byte [PG4M_M], 0xCB             ; RETF
        mov     dword [PDE(5)], PG4M_M | (1 << 21) | PS | 7
        mov     dword [PDE(6)], PG4M_M | 0x1000 | PS | 7    ; PAT bit
        mov     dword [PDE(7)], PG4M_M | PS | 6             ; not present
        mov     dword [PDE(9)], PG4M_A | PS | 7             ; A, D clear
        mov     dword [PG4M_A + 0x200], 0xA0000200
        mov     dword [PG4M_A + 0x3FF200], 0xA03FF200
        mov     dword [PG4M_A + 0x2468AC], 0xA02468AC
        ; PDE 10: a 4 MiB page at PG4M_T with PSE, a table at PG4M_T without.
        mov     dword [PDE(10)], PG4M_T | PS | 7
        mov     edi, PG4M_T
        mov     ecx, 0x1000
        call    pg_zero
        mov     dword [PG4M_T], F1 | 7
        mov     dword [PG4M_T + 0x200], 0x0BADBEE0  ; PTE 0x80: not present
        mov     dword [F1 + 0x200], 0x11111111
        mov     dword [PDE(11)], PG4M_OLD | PS | 7
        mov     dword [PDE(12)], PG4M_OLD | 0x100 | PS | 7
        mov     dword [PG4M_OLD + 0x200], 0x14000200
        mov     dword [PG4M_OLD + 0x3FF200], 0x143FF200
        mov     dword [PG4M_NEW + 0x200], 0x18000200
        mov     dword [PG4M_NEW + 0x3FF200], 0x183FF200
        mov     eax, cr4
        or      eax, 0x10                       ; PSE
        mov     cr4, eax
        mov     eax, PD
        mov     cr3, eax
        mov     eax, cr0
        or      eax, 0x80000000
        mov     cr0, eax
        ret

; Expected outcomes (SDM 4.6.1 with one level; codes per 4.7):
;                 R0 R     R0 W     R0 W+WP  R0 X     R3 R     R3 W     R3 X
matrix:
        ROW     LIN(1),   NOFAULT, NOFAULT, 0x03,    NOFAULT, 0x05,    0x07,    0x05       ; supervisor, read-only
        ROW     LIN(2),   NOFAULT, NOFAULT, 0x03,    NOFAULT, NOFAULT, 0x07,    NOFAULT    ; user, read-only
        ROW     LIN(3),   NOFAULT, NOFAULT, NOFAULT, NOFAULT, 0x05,    0x07,    0x05       ; supervisor, writable
        ROW     LIN(4),   NOFAULT, NOFAULT, NOFAULT, NOFAULT, NOFAULT, NOFAULT, NOFAULT    ; user, writable
MATRIX_ROWS     equ ($ - matrix) / (4 + NKINDS)

; Reserved bit: P=1 and RSVD=1 in the code, with W/R and U/S of the access.
rsvd:
        ROW     LIN(5),   0x09,    0x0B,    0x0B,    0x09,    0x0D,    0x0F,    0x0D
        ROW     LIN(6),   NOFAULT, NOFAULT, NOFAULT, NOFAULT, NOFAULT, NOFAULT, NOFAULT
        ROW     LIN(7),   0x00,    0x02,    0x02,    0x00,    0x04,    0x06,    0x04
RSVD_ROWS       equ ($ - rsvd) / (4 + NKINDS)

        bits    16
ROM_END
