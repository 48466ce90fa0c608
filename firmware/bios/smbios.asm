; smbios.asm — the SMBIOS (DMI) tables: what the machine is, for an OS's
; inventory (Linux's "DMI:" line and /sys/class/dmi/id, dmidecode).
;
; SMBIOS 2.8 with the 32-bit entry point: "_SM_" and its "_DMI_"
; intermediate anchor, on a paragraph boundary in F0000-FFFFF where the
; OS scans for it. The entry point is read-only data in this ROM, so
; everything it describes is fixed at assembly time: the structure table
; lives at a fixed address, SMBIOS_ADDR (E1000h, in the RAM below the ROM
; that post_pci enables through the i440FX PAM registers and E820 reports
; as reserved), with a fixed length and number of structures. POST copies
; the template below there and fills in what depends on the machine: the
; processor's CPUID signature, features and vendor, the RAM size from the
; CMOS (types 16, 17, 19), the ACPI flag of type 0. A second memory range
; (type 19, RAM above 4 GiB) is turned into an inactive structure (type
; 126, which the spec provides for exactly this) when there is no such RAM,
; so the count and the length stay as the entry point says. If E1000h is
; not RAM (a board without the PAM registers) no table is built: the entry
; point then points at whatever is there, and an OS finds no valid table.
;
; Structures (handle): BIOS (0, 0000h), system (1, 0100h), chassis (3,
; 0300h), processor (4, 0400h), physical memory array (16, 1000h), memory
; device (17, 1100h), memory array mapped addresses (19, 1300h and 1301h),
; system boot status (32, 2000h), end of table (127, 7F00h).

SMBIOS_ADDR     equ 0xE1000         ; the structure table (RAM)
SMBIOS_SEG      equ SMBIOS_ADDR >> 4

; ---------------------------------------------------------------------------
; post_smbios: copy the structure table to SMBIOS_ADDR and complete it.
; E0000-EFFFF must be RAM by now (post_pci); if a write there does not
; read back, nothing is built.
post_smbios:
        pushad
        push ds
        push es
        push word SMBIOS_SEG
        pop es
        mov eax, [es:0]
        mov dword [es:0], 0x3CC3A55A
        cmp dword [es:0], 0x3CC3A55A
        mov [es:0], eax
        jne .done
        push cs
        pop ds
        mov si, smbios_tpl
        xor di, di
        mov cx, SMBIOS_TABLE_LEN
        rep movsb
        ; type 0: ACPI supported (characteristics extension byte 1, bit 0)
        push ds
        push word BDA_SEG
        pop ds
        mov ds, [BDA_EBDA]
        cmp dword [E_ACPI_BASE], 0
        pop ds
        je .noacpi
        or byte [es:SMB_T0_EXT1], 0x01
.noacpi:
        ; type 4: processor ID = CPUID.1 EAX (signature), EDX (features);
        ; family; manufacturer = the 12-character vendor of CPUID.0
        xor eax, eax
        cpuid
        mov [es:SMB_T4_VENDOR], ebx
        mov [es:SMB_T4_VENDOR+4], edx
        mov [es:SMB_T4_VENDOR+8], ecx
        mov eax, 1
        cpuid
        mov [es:SMB_T4_ID], eax
        mov [es:SMB_T4_ID+4], edx
        mov bl, 0x01                ; "other"
        mov dx, ax
        shr dl, 4                   ; DL = model
        and dh, 0x0F                ; DH = family
        cmp dh, 5
        jne .p6
        mov bl, 0x0B                ; Pentium
        jmp .fam
.p6:    cmp dx, 0x0601
        jne .fam
        mov bl, 0x0C                ; Pentium Pro (family 6, model 1)
.fam:   mov [es:SMB_T4_FAMILY], bl
        mov [es:SMB_T4_FAMILY2], bl
        ; RAM: EBX = KiB below 4 GiB, ECX = KiB above 4 GiB
        call ram_top_below_4g
        shr eax, 10
        jnz .low
        mov eax, 640                ; nothing above 1 MiB
.low:   mov ebx, eax
        mov al, CMOS_HIGH_2
        call cmos_read
        movzx ecx, al
        shl ecx, 16
        mov al, CMOS_HIGH_1
        call cmos_read
        mov ch, al
        mov al, CMOS_HIGH_0
        call cmos_read
        mov cl, al
        shl ecx, 6                  ; 64 KiB units -> KiB
        lea eax, [ebx+ecx]          ; total KiB
        mov [es:SMB_T16_MAX_KB], eax
        shr eax, 10                 ; MiB
        cmp eax, 0x7FFF
        jb .size
        mov [es:SMB_T17_EXT_SIZE], eax
        mov ax, 0x7FFF              ; "see the extended size"
.size:  mov [es:SMB_T17_SIZE], ax
        lea eax, [ebx-1]
        mov [es:SMB_T19A_END], eax
        jecxz .nohigh
        mov eax, 0x400000           ; 4 GiB in KiB
        mov [es:SMB_T19B_START], eax
        lea eax, [eax+ecx-1]
        mov [es:SMB_T19B_END], eax
        jmp .done
.nohigh:
        mov byte [es:SMB_T19B], 126 ; inactive
.done:  pop es
        pop ds
        popad
        ret

; ===========================================================================
; The structure table (template). Each structure is its formatted area
; then its strings, each NUL-terminated, and one more NUL (two NULs when it
; has no strings).
; ===========================================================================

%assign SMB_COUNT 0
%assign SMB_MAX 0
; SMB_START type, length of the formatted area, handle
%macro SMB_START 3
%%here:
%define SMB_HERE %%here
        db %1, %2
        dw %3
%endmacro
; SMB_END: close a structure (after its strings), count it and track the
; largest size
%macro SMB_END 0
%assign SMB_COUNT SMB_COUNT + 1
SMB_SIZE_%[SMB_COUNT] equ $ - SMB_HERE
%endmacro

        align 16
smbios_tpl:
; ---- type 0: BIOS information (2.4+ layout, 18h bytes) --------------------
        SMB_START 0, 0x18, 0x0000
        db 1                        ; vendor
        db 2                        ; BIOS version
        dw BIOS_SEG                 ; starting address segment
        db 3                        ; release date
        db 0                        ; ROM size: 64 KiB * (0 + 1)
        ; characteristics: ISA (4), PCI (7), EDD (19), INT 9h keyboard
        ; (27), INT 14h serial (28)
        dq (1 << 4) | (1 << 7) | (1 << 19) | (1 << 27) | (1 << 28)
SMB_T0_EXT1 equ $ - smbios_tpl
        db 0x00                     ; ext. byte 1: bit 0 ACPI (set at POST)
        db 0x10                     ; ext. byte 2: bit 4 virtual machine
        db BIOS_MAJOR, BIOS_MINOR   ; system BIOS release
        db 0xFF, 0xFF               ; no embedded controller firmware
        db 'crane86', 0
        db BIOS_VERSION, 0
        db BIOS_DATE_LONG, 0
        db 0
        SMB_END
; ---- type 1: system information (2.4+, 1Bh bytes) -------------------------
        SMB_START 1, 0x1B, 0x0100
        db 1                        ; manufacturer
        db 2                        ; product name
        db 0, 0                     ; version, serial number: none
        ; UUID 4fffdd03-31f0-4ddb-8144-a52cdd7ce153 (the first three
        ; fields little-endian, as SMBIOS 2.6 on stores them)
        db 0x03, 0xDD, 0xFF, 0x4F, 0xF0, 0x31, 0xDB, 0x4D
        db 0x81, 0x44, 0xA5, 0x2C, 0xDD, 0x7C, 0xE1, 0x53
        db 0x06                     ; wake-up type: power switch
        db 0, 0                     ; SKU, family: none
        db 'crane86', 0
        db 'crane86 PC', 0
        db 0
        SMB_END
; ---- type 3: system enclosure (2.7+, 16h bytes with no elements) -----------
        SMB_START 3, 0x16, 0x0300
        db 1                        ; manufacturer
        db 0x01                     ; type: other
        db 0, 0, 0                  ; version, serial, asset tag: none
        db 0x03, 0x03, 0x03         ; boot-up, power supply, thermal: safe
        db 0x02                     ; security status: unknown
        dd 0                        ; OEM-defined
        db 0, 0                     ; height, power cords: unspecified
        db 0, 0                     ; contained elements: none (count, size)
        db 0                        ; SKU: none
        db 'crane86', 0
        db 0
        SMB_END
; ---- type 4: processor information (2.6+, 2Ah bytes) ----------------------
        SMB_START 4, 0x2A, 0x0400
        db 1                        ; socket designation
        db 0x03                     ; central processor
SMB_T4_FAMILY equ $ - smbios_tpl
        db 0x02                     ; family (set at POST; 0Ch Pentium Pro)
        db 2                        ; manufacturer
SMB_T4_ID equ $ - smbios_tpl
        dd 0x00000619, 0            ; CPUID.1 EAX, EDX (set at POST)
        db 0                        ; version: none
        db 0                        ; voltage: not given
        dw 0                        ; external clock: unknown
        dw 0, 0                     ; maximum, current speed: unknown
        db 0x41                     ; socket populated, CPU enabled
        db 0x01                     ; upgrade: other
        dw 0xFFFF, 0xFFFF, 0xFFFF   ; L1, L2, L3 cache: none given
        db 0, 0, 0                  ; serial, asset tag, part number: none
        db 1, 1, 1                  ; cores, cores enabled, threads
        dw 0x0002                   ; characteristics: unknown
SMB_T4_FAMILY2 equ $ - smbios_tpl
        dw 0x0002                   ; family 2 (same as family)
        db 'CPU 0', 0
SMB_T4_VENDOR equ $ - smbios_tpl
        db 'GenuineIntel', 0        ; CPUID.0 vendor (set at POST)
        db 0
        SMB_END
; ---- type 16: physical memory array (2.7+, 17h bytes) ---------------------
        SMB_START 16, 0x17, 0x1000
        db 0x03                     ; location: system board
        db 0x03                     ; use: system memory
        db 0x03                     ; error correction: none
SMB_T16_MAX_KB equ $ - smbios_tpl
        dd 0                        ; maximum capacity, KiB (set at POST)
        dw 0xFFFE                   ; no memory error information
        dw 1                        ; one memory device
        dq 0                        ; extended maximum capacity: unused
        db 0, 0
        SMB_END
; ---- type 17: memory device (2.8, 28h bytes) ------------------------------
        SMB_START 17, 0x28, 0x1100
        dw 0x1000                   ; the array above
        dw 0xFFFE                   ; no memory error information
        dw 64, 64                   ; total width, data width
SMB_T17_SIZE equ $ - smbios_tpl
        dw 0                        ; size, MiB (set at POST)
        db 0x09                     ; form factor: DIMM
        db 0                        ; not in a set
        db 1                        ; device locator
        db 0                        ; bank locator: none
        db 0x07                     ; type: RAM
        dw 0x0002                   ; type detail: other
        dw 0                        ; speed: unknown
        db 2                        ; manufacturer
        db 0, 0, 0                  ; serial, asset tag, part number: none
        db 0                        ; attributes: rank unknown
SMB_T17_EXT_SIZE equ $ - smbios_tpl
        dd 0                        ; extended size, MiB (set at POST)
        dw 0                        ; configured speed: unknown
        dw 0, 0, 0                  ; minimum, maximum, configured voltage
        db 'DIMM 0', 0
        db 'crane86', 0
        db 0
        SMB_END
; ---- type 19: memory array mapped address (2.7+, 1Fh bytes) ---------------
        SMB_START 19, 0x1F, 0x1300  ; RAM below 4 GiB
        dd 0                        ; starting address, KiB
SMB_T19A_END equ $ - smbios_tpl
        dd 0                        ; ending address, KiB (set at POST)
        dw 0x1000                   ; the array
        db 1                        ; partition width
        dq 0, 0                     ; extended addresses: unused
        db 0, 0
        SMB_END
SMB_T19B equ $ - smbios_tpl
        SMB_START 19, 0x1F, 0x1301  ; RAM above 4 GiB (type 126 if none)
SMB_T19B_START equ $ - smbios_tpl
        dd 0                        ; (set at POST)
SMB_T19B_END equ $ - smbios_tpl
        dd 0
        dw 0x1000
        db 1
        dq 0, 0
        db 0, 0
        SMB_END
; ---- type 32: system boot information (0Bh bytes) -------------------------
        SMB_START 32, 0x0B, 0x2000
        times 6 db 0                ; reserved
        db 0                        ; no errors detected
        db 0, 0
        SMB_END
; ---- type 127: end of table ------------------------------------------------
        SMB_START 127, 0x04, 0x7F00
        db 0, 0
        SMB_END
smbios_tpl_end:
SMBIOS_TABLE_LEN equ smbios_tpl_end - smbios_tpl

; the largest structure: SMB_MAX_n = the largest of the first n
SMB_MAX_0 equ 0
%assign i 1
%rep SMB_COUNT
%assign j i - 1
SMB_MAX_%[i] equ (SMB_SIZE_%[i] > SMB_MAX_%[j]) * SMB_SIZE_%[i] + (SMB_SIZE_%[i] <= SMB_MAX_%[j]) * SMB_MAX_%[j]
%assign i i + 1
%endrep
SMBIOS_MAX_STRUCT equ SMB_MAX_%[SMB_COUNT]

; ---------------------------------------------------------------------------
; The entry point (1Fh bytes, paragraph aligned). Checksums: all 1Fh
; bytes sum to 0, and so do the 0Fh bytes from "_DMI_" on.
%define SMB_BYTESUM4(x) (((x) & 0xFF) + (((x) >> 8) & 0xFF) + (((x) >> 16) & 0xFF) + (((x) >> 24) & 0xFF))
SMB_IEPS_SUM equ '_' + 'D' + 'M' + 'I' + '_' + SMB_BYTESUM4(SMBIOS_TABLE_LEN) + SMB_BYTESUM4(SMBIOS_ADDR) + SMB_BYTESUM4(SMB_COUNT) + 0x28
SMB_IEPS_CSUM equ (0x100 - (SMB_IEPS_SUM & 0xFF)) & 0xFF
SMB_EPS_SUM equ '_' + 'S' + 'M' + '_' + 0x1F + 2 + 8 + SMB_BYTESUM4(SMBIOS_MAX_STRUCT) + SMB_IEPS_SUM + SMB_IEPS_CSUM
        align 16
smbios_entry:
        db '_SM_'
        db (0x100 - (SMB_EPS_SUM & 0xFF)) & 0xFF
        db 0x1F                     ; entry point length
        db 2, 8                     ; SMBIOS 2.8
        dw SMBIOS_MAX_STRUCT        ; largest structure
        db 0                        ; entry point revision
        times 5 db 0                ; formatted area
        db '_DMI_'
        db SMB_IEPS_CSUM
        dw SMBIOS_TABLE_LEN
        dd SMBIOS_ADDR
        dw SMB_COUNT
        db 0x28                     ; BCD revision
%if $ - smbios_entry != 0x1F
%error the SMBIOS entry point must be 1Fh bytes
%endif
