; acpi.asm — the ACPI tables POST builds: RSDP (revision 0), RSDT, FADT
; (revision 3), FACS, DSDT and MADT.
;
; The tables are templates in this ROM, copied to RAM and completed there
; (addresses, checksums). Their home is E0000-EFFFF, RAM below the ROM that
; the i440FX PAM registers enable (post_pci) and that E820 already reports
; as reserved; the RSDP is at E0000 (the F/E-segment scan) and a copy sits
; in the first KiB of the EBDA. If that RAM is missing, the tables go to
; the top 64 KiB of RAM below 4 GiB instead, which E820 then reports as
; ACPI (type 3).
;
; The hardware they describe is the PIIX4 power management function: the
; PM1a event block at ACPI_PM_BASE, the control block at +4, the PM timer
; at +8 (24 bits), GPE0 at +0Ch, the SCI on IRQ 9, and no SMI_CMD (the
; machine is always in ACPI mode: POST sets SCI_EN). Sleeping with
; SLP_TYP = 0 is soft-off, so \_S5 is { 0, 0, 0, 0 }.

ACPI_ESEG        equ 0xE0000        ; preferred home of the tables
ACPI_AREA_SIZE   equ 0x10000        ; what the top-of-RAM fallback takes

; layout of the ACPI area
AO_RSDP         equ 0x000
AO_FACS         equ 0x040           ; 64-byte aligned
AO_RSDT         equ 0x080
AO_MADT         equ 0x0C0
AO_FADT         equ 0x100
AO_DSDT         equ 0x200

; ---------------------------------------------------------------------------
; post_acpi: ES = EBDA. Builds the tables if post_pci found the PIIX4 PM
; function; E_ACPI_BASE = where they are (0: no ACPI hardware or no room).
post_acpi:
        pushad
        mov dword [es:E_ACPI_BASE], 0
        cmp byte [es:E_ACPI_HW], 0
        je .none
        push fs
        call flat_fs                ; FS: base 0, 4 GiB limit
        ; E0000-EFFFF is RAM if a pattern written there reads back.
        mov edi, ACPI_ESEG
        mov eax, [fs:edi]
        mov dword [fs:edi], 0x5AA5C33C
        cmp dword [fs:edi], 0x5AA5C33C
        mov [fs:edi], eax
        je .place
        ; Else: the top 64 KiB of RAM below 4 GiB.
        call ram_top_below_4g       ; EAX = end of RAM (0 if <= 1 MiB)
        cmp eax, 0x100000 + 2 * ACPI_AREA_SIZE
        jb .done
        sub eax, ACPI_AREA_SIZE
        mov edi, eax
.place: mov [es:E_ACPI_BASE], edi
        ; clear the area's first 4 KiB, then copy the templates
        push edi
        mov ecx, 0x1000 / 4
        xor eax, eax
.clr:   mov [fs:edi], eax
        add edi, 4
        loop .clr
        pop edi
        mov si, acpi_tpl_rsdp
        mov ebx, AO_RSDP
        mov cx, ACPI_RSDP_LEN
        call acpi_copy
        mov si, acpi_tpl_facs
        mov ebx, AO_FACS
        mov cx, acpi_tpl_facs_end - acpi_tpl_facs
        call acpi_copy
        mov si, acpi_tpl_rsdt
        mov ebx, AO_RSDT
        mov cx, acpi_tpl_rsdt_end - acpi_tpl_rsdt
        call acpi_copy
        mov si, acpi_tpl_madt
        mov ebx, AO_MADT
        mov cx, acpi_tpl_madt_end - acpi_tpl_madt
        call acpi_copy
        mov si, acpi_tpl_fadt
        mov ebx, AO_FADT
        mov cx, acpi_tpl_fadt_end - acpi_tpl_fadt
        call acpi_copy
        mov si, acpi_tpl_dsdt
        mov ebx, AO_DSDT
        mov cx, acpi_tpl_dsdt_end - acpi_tpl_dsdt
        call acpi_copy
        ; pointers
        lea eax, [edi+AO_RSDT]
        mov [fs:edi+AO_RSDP+16], eax
        lea eax, [edi+AO_FADT]
        mov [fs:edi+AO_RSDT+36], eax
        lea eax, [edi+AO_MADT]
        mov [fs:edi+AO_RSDT+40], eax
        lea eax, [edi+AO_FACS]
        mov [fs:edi+AO_FADT+36], eax        ; FIRMWARE_CTRL
        mov [fs:edi+AO_FADT+132], eax       ; X_FIRMWARE_CTRL
        lea eax, [edi+AO_DSDT]
        mov [fs:edi+AO_FADT+40], eax        ; DSDT
        mov [fs:edi+AO_FADT+140], eax       ; X_DSDT
        ; checksums: tables at byte 9, the RSDP at byte 8 (first 20 bytes)
        lea esi, [edi+AO_RSDT]
        call acpi_checksum
        lea esi, [edi+AO_MADT]
        call acpi_checksum
        lea esi, [edi+AO_FADT]
        call acpi_checksum
        lea esi, [edi+AO_DSDT]
        call acpi_checksum
        lea esi, [edi+AO_RSDP]
        mov ecx, ACPI_RSDP_LEN
        mov edx, 8
        call acpi_sum
        ; the EBDA copy of the RSDP
        lea esi, [edi+AO_RSDP]
        mov di, E_RSDP
        mov cx, ACPI_RSDP_LEN
.rsdp:  mov al, [fs:esi]
        mov [es:di], al
        inc esi
        inc di
        loop .rsdp
        ; ACPI mode on: no SMI_CMD, so the firmware enables SCI itself
        mov dx, ACPI_PM1_CNT
        in ax, dx
        or ax, 1
        out dx, ax
.done:  pop fs
.none:  popad
        ret

; acpi_copy: CX bytes from CS:SI to FS:EDI+EBX.
acpi_copy:
        push ebx
        add ebx, edi
.b:     mov al, [cs:si]
        mov [fs:ebx], al
        inc si
        inc ebx
        loop .b
        pop ebx
        ret

; acpi_checksum: table at FS:ESI (length at +4, checksum at +9).
acpi_checksum:
        mov ecx, [fs:esi+4]
        mov edx, 9
; acpi_sum: ECX bytes at FS:ESI sum to 0 after the byte at +EDX is set.
acpi_sum:
        push esi
        mov byte [fs:esi+edx], 0
        xor al, al
.s:     add al, [fs:esi]
        inc esi
        dec ecx
        jnz .s
        pop esi
        neg al
        mov [fs:esi+edx], al
        ret

; flat_fs: give FS base 0 and a 4 GiB limit ("unreal" mode) through a
; moment in protected mode. Interrupts must be off (POST).
flat_fs:
        push eax
        push bx
        o16 lgdt [cs:flat_gdt_desc]
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp short .pm
.pm:    mov bx, flat_gdt.data - flat_gdt
        mov fs, bx
        and al, 0xFE
        mov cr0, eax
        jmp short .rm
.rm:    xor bx, bx
        mov fs, bx
        pop bx
        pop eax
        ret

; ram_top_below_4g: EAX = end of RAM below 4 GiB from the CMOS sizes
; (0 when there is none above 1 MiB).
ram_top_below_4g:
        push ebx
        mov al, CMOS_EXT16_HI
        call cmos_read
        mov ah, al
        mov al, CMOS_EXT16_LO
        call cmos_read
        movzx ebx, ax
        test ebx, ebx
        jz .small
        shl ebx, 16
        add ebx, 0x1000000
        jmp .r
.small: mov al, CMOS_EXT_HI
        call cmos_read
        mov ah, al
        mov al, CMOS_EXT_LO
        call cmos_read
        movzx ebx, ax
        shl ebx, 10
        jz .r
        add ebx, 0x100000
.r:     mov eax, ebx
        pop ebx
        ret

; ===========================================================================
; templates
; ===========================================================================

%define ACPI_OEM_ID     'CRANE8'
%define ACPI_OEM_TABLE  'CRANE86 '

; standard 36-byte header; %1 = signature, %2 = revision, %3 = end label
%macro ACPI_HEADER 3
%%start:
        db %1
        dd %3 - %%start
        db %2
        db 0                        ; checksum, computed in RAM
        db ACPI_OEM_ID
        db ACPI_OEM_TABLE
        dd 1                        ; OEM revision
        db 'CR86'                   ; creator ID
        dd 1                        ; creator revision
%endmacro

; a Generic Address Structure in system I/O space
%macro GAS_IO 2                     ; bit width, port
        db 1, %1, 0, 0
        dq %2
%endmacro

acpi_tpl_rsdp:
        db 'RSD PTR '
        db 0                        ; checksum
        db ACPI_OEM_ID
        db 0                        ; revision 0: ACPI 1.0 RSDP, RSDT only
        dd 0                        ; RSDT address
ACPI_RSDP_LEN equ $ - acpi_tpl_rsdp

acpi_tpl_facs:
        db 'FACS'
        dd acpi_tpl_facs_end - acpi_tpl_facs
        dd 0                        ; hardware signature
        dd 0                        ; firmware waking vector
        dd 0                        ; global lock
        dd 0                        ; flags
        dq 0                        ; X firmware waking vector
        db 1                        ; version
        times 31 db 0
acpi_tpl_facs_end:

acpi_tpl_rsdt:
        ACPI_HEADER 'RSDT', 1, acpi_tpl_rsdt_end
        dd 0                        ; FADT
        dd 0                        ; MADT
acpi_tpl_rsdt_end:

acpi_tpl_madt:
        ACPI_HEADER 'APIC', 1, acpi_tpl_madt_end
        dd 0xFEE00000               ; local APIC address
        dd 1                        ; PCAT_COMPAT: 8259s present
        db 0, 8                     ; processor local APIC
        db 0                        ;   ACPI processor ID (\_PR.CPU0)
        db 0                        ;   APIC ID
        dd 1                        ;   enabled
        db 4, 6                     ; local APIC NMI
        db 0xFF                     ;   all processors
        dw 0                        ;   flags: bus defaults
        db 1                        ;   LINT1
acpi_tpl_madt_end:

acpi_tpl_fadt:
        ACPI_HEADER 'FACP', 3, acpi_tpl_fadt_end
        dd 0                        ; 36 FIRMWARE_CTRL (FACS)
        dd 0                        ; 40 DSDT
        db 0                        ; 44 reserved (1.0: INT_MODEL, dual PIC)
        db 0                        ; 45 preferred PM profile: unspecified
        dw ACPI_SCI_IRQ             ; 46 SCI_INT
        dd 0                        ; 48 SMI_CMD: none, always in ACPI mode
        db 0, 0                     ; 52 ACPI_ENABLE, ACPI_DISABLE
        db 0, 0                     ; 54 S4BIOS_REQ, PSTATE_CNT
        dd ACPI_PM1_EVT             ; 56 PM1a_EVT_BLK
        dd 0                        ; 60 PM1b_EVT_BLK
        dd ACPI_PM1_CNT             ; 64 PM1a_CNT_BLK
        dd 0                        ; 68 PM1b_CNT_BLK
        dd 0                        ; 72 PM2_CNT_BLK
        dd ACPI_PM_TMR              ; 76 PM_TMR_BLK
        dd ACPI_GPE0                ; 80 GPE0_BLK
        dd 0                        ; 84 GPE1_BLK
        db 4, 2, 0, 4               ; 88 PM1_EVT_LEN, PM1_CNT_LEN, PM2, PM_TMR
        db 4, 0, 0                  ; 92 GPE0_BLK_LEN, GPE1_BLK_LEN, GPE1_BASE
        db 0                        ; 95 CST_CNT
        dw 101                      ; 96 P_LVL2_LAT: no C2
        dw 1001                     ; 98 P_LVL3_LAT: no C3
        dw 0, 0                     ; 100 FLUSH_SIZE, FLUSH_STRIDE
        db 0, 0                     ; 104 DUTY_OFFSET, DUTY_WIDTH
        db 0, 0                     ; 106 DAY_ALRM, MON_ALRM
        db CMOS_CENTURY             ; 108 CENTURY
        dw 0x0003                   ; 109 IAPC_BOOT_ARCH: legacy devices, 8042
        db 0                        ; 111 reserved
        ; 112 flags: WBINVD, PROC_C1, SLP_BUTTON (none), RTC_S4,
        ; RESET_REG_SUP
        dd (1 << 0) | (1 << 2) | (1 << 5) | (1 << 7) | (1 << 10)
        GAS_IO 8, PCI_RESET         ; 116 RESET_REG: port 0xCF9 ...
        db 0x06                     ; 128 ... RESET_VALUE: hard reset
        db 0, 0, 0                  ; 129 reserved
        dq 0                        ; 132 X_FIRMWARE_CTRL
        dq 0                        ; 140 X_DSDT
        GAS_IO 32, ACPI_PM1_EVT     ; 148 X_PM1a_EVT_BLK
        GAS_IO 0, 0                 ; 160 X_PM1b_EVT_BLK
        GAS_IO 16, ACPI_PM1_CNT     ; 172 X_PM1a_CNT_BLK
        GAS_IO 0, 0                 ; 184 X_PM1b_CNT_BLK
        GAS_IO 0, 0                 ; 196 X_PM2_CNT_BLK
        GAS_IO 32, ACPI_PM_TMR      ; 208 X_PM_TMR_BLK
        GAS_IO 32, ACPI_GPE0        ; 220 X_GPE0_BLK
        GAS_IO 0, 0                 ; 232 X_GPE1_BLK
acpi_tpl_fadt_end:
%if acpi_tpl_fadt_end - acpi_tpl_fadt != 244
%error FADT revision 3 must be 244 bytes
%endif

; ---- AML ------------------------------------------------------------------
; PkgLength, always in its two-byte form (lengths below 4096).
%macro PKG_BEGIN 0
%push pkg
%$start:
        db 0x40 | ((%$end - %$start) & 0x0F), (%$end - %$start) >> 4
%endmacro
%macro PKG_END 0
%$end:
%pop
%endmacro
; Buffer () { bytes } with a WordConst size
%macro BUF_BEGIN 0
        db 0x11
        PKG_BEGIN
        db 0x0B
        dw %$bend - %$bstart
%$bstart:
%endmacro
%macro BUF_END 0
%$bend:
        PKG_END
%endmacro
%macro SCOPE 1                      ; Scope (name) {
        db 0x10
        PKG_BEGIN
        db %1
%endmacro
%macro DEVICE 1                     ; Device (name) {
        db 0x5B, 0x82
        PKG_BEGIN
        db %1
%endmacro
%define END_SCOPE PKG_END
; EisaId ("ABC1234") as a DWordConst: three letters, 16-bit product ID
%macro EISAID 4
        db 0x0C
        db ((%1 - 0x40) << 2) | ((%2 - 0x40) >> 3)
        db (((%2 - 0x40) & 7) << 5) | (%3 - 0x40)
        db (%4 >> 8) & 0xFF, %4 & 0xFF
%endmacro
; resource descriptors
%macro RES_IO 2                     ; IO (Decode16, port, port, 1, length)
        db 0x47, 0x01
        dw %1, %1
        db 1, %2
%endmacro
%macro RES_IRQ 1                    ; IRQNoFlags () { irq }
        db 0x22
        dw 1 << %1
%endmacro
%macro RES_WORD 5                   ; type, flags, min, max, length
        db 0x88
        dw 13
        db %1, 0x0C, %2             ; producer, fixed min and max
        dw 0, %3, %4, 0, %5
%endmacro
%macro RES_DWORD_MEM 3              ; min, max, length (read/write)
        db 0x87
        dw 23
        db 0, 0x0C, 0x01
        dd 0, %1, %2, 0, %3
%endmacro
%define RES_END db 0x79, 0

acpi_tpl_dsdt:
        ACPI_HEADER 'DSDT', 1, acpi_tpl_dsdt_end
        ; Name (\_S0, Package () { 0, 0, 0, 0 }): working state
        db 0x08, '_S0_', 0x12
        PKG_BEGIN
        db 4, 0, 0, 0, 0
        PKG_END
        ; Name (\_S5, Package () { 0, 0, 0, 0 }): soft off is SLP_TYP 0
        db 0x08, '_S5_', 0x12
        PKG_BEGIN
        db 4, 0, 0, 0, 0
        PKG_END
        ; Scope (\_PR) { Processor (CPU0, 0, 0, 0) {} }
        SCOPE '\_PR_'
        db 0x5B, 0x83
        PKG_BEGIN
        db 'CPU0', 0
        dd 0
        db 0
        PKG_END
        END_SCOPE
        SCOPE '\_SB_'
        DEVICE 'PCI0'
        db 0x08, '_HID'
        EISAID 'P', 'N', 'P', 0x0A03
        db 0x08, '_ADR', 0x00
        db 0x08, '_UID', 0x00
        db 0x08, '_CRS'
        BUF_BEGIN
        RES_WORD 2, 0x00, 0x0000, 0x00FF, 0x0100        ; bus numbers
        RES_IO 0x0CF8, 8                                ; configuration ports
        RES_WORD 1, 0x03, 0x0000, 0x0CF7, 0x0CF8        ; I/O below them
        RES_WORD 1, 0x03, 0x0D00, 0xFFFF, 0xF300        ; I/O above them
        RES_DWORD_MEM 0x000A0000, 0x000BFFFF, 0x00020000 ; VGA memory
        RES_DWORD_MEM 0xE0000000, 0xFEBFFFFF, 0x1EC00000 ; PCI memory
        RES_END
        BUF_END
        DEVICE 'ISA_'                                   ; PIIX3, 00:01.0
        db 0x08, '_ADR', 0x0C
        dd 0x00010000
        DEVICE 'KBD_'
        db 0x08, '_HID'
        EISAID 'P', 'N', 'P', 0x0303
        db 0x08, '_CRS'
        BUF_BEGIN
        RES_IO 0x60, 1
        RES_IO 0x64, 1
        RES_IRQ 1
        RES_END
        BUF_END
        END_SCOPE
        DEVICE 'MOU_'
        db 0x08, '_HID'
        EISAID 'P', 'N', 'P', 0x0F13
        db 0x08, '_CRS'
        BUF_BEGIN
        RES_IRQ 12
        RES_END
        BUF_END
        END_SCOPE
        END_SCOPE                   ; ISA_
        END_SCOPE                   ; PCI0
        END_SCOPE                   ; \_SB
acpi_tpl_dsdt_end:
