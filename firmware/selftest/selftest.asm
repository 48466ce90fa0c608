; selftest.asm — a guest that checks the crane86 BIOS services one by one
; (disk, serial, clock, keyboard, video modes and VBE, the ACPI tables and
; PM registers, the SMBIOS tables) and prints "<name>: ok" or
; "<name>: FAIL ah=<status>" for each, then "selftest done", and powers the machine off through ACPI
; (printing "power off failed" and halting if it is still running). It is not committed as an image: the firmware
; crate's QEMU test assembles it and runs it from a scratch disk
; (sectors from PAT_LBA on hold their own LBA in every dword).
; It writes to sectors 200-211 of its disk.

        cpu 686
        bits 16
        org 0x7C00
PAT_LBA equ 64
boot:   jmp 0:.s
.s:     xor ax,ax
        mov ds,ax
        mov es,ax
        mov ss,ax
        mov sp,0x7C00
        sti
        cld
        mov [drive], dl
        mov ax, 0x0200 | BODY
        mov cx, 2
        xor dh, dh
        mov bx, 0x7E00
        int 0x13
        jc $
        jmp main
        times 510-($-$$) db 0
        dw 0xAA55
body_start:
%macro T 1
        mov si, %%s
        call puts
        jmp %%e
%%s:    db %1, ': ', 0
%%e:
%endmacro
%macro OKIF 1   ; jump condition that means success
        j%1 %%ok
        call fail
        jmp %%d
%%ok:   call ok
%%d:
%endmacro
main:
        ; geometry
        mov ah, 8
        mov dl, 0x80
        int 0x13
        movzx eax, dh
        inc ax
        mov [heads], ax
        movzx eax, cl
        and al, 0x3F
        mov [spt], ax
        T 'AH=08 geometry H/S'
        mov eax, [heads]
        call putdec
        mov al, '/'
        call putc
        movzx eax, word [spt]
        call putdec
        call nl
        ; ---- CHS read 3 sectors at PAT_LBA
        T 'CHS read x3'
        mov eax, PAT_LBA
        call lba2chs
        mov ax, 0x0203
        mov dl, 0x80
        mov bx, 0x8000
        push 0x1000
        pop es
        int 0x13
        push 0
        pop es
        jc .f1
        cmp al, 3
        jne .f1
        push ds
        push 0x1000
        pop ds
        cmp dword [0x8000], PAT_LBA
        jne .f1p
        cmp dword [0x8000+1020], PAT_LBA+1
        jne .f1p
        cmp dword [0x8000+1024+508], PAT_LBA+2
.f1p:   pop ds
.f1:    OKIF e
        ; ---- read crossing a 64 KiB boundary at offset FF00
        T 'read across 64K'
        mov eax, PAT_LBA+5
        call lba2chs
        mov ax, 0x0202
        mov dl, 0x80
        push 0x1000
        pop es
        mov bx, 0xFF00
        int 0x13
        push 0
        pop es
        jc .f2
        push ds
        push 0x1FF0
        pop ds
        cmp dword [0], PAT_LBA+5
        jne .f2p
        cmp dword [0x200], PAT_LBA+6       ; linear 0x20100
        jne .f2p
        cmp dword [0x3FC], PAT_LBA+6
.f2p:   pop ds
.f2:    OKIF e
        ; ---- ext read 4 at 100 into 3000:0000
        T 'AH=42 read x4'
        mov dword [dap+8], 100
        mov word [dap+2], 4
        mov word [dap+4], 0
        mov word [dap+6], 0x3000
        mov si, dap
        mov ah, 0x42
        mov dl, 0x80
        int 0x13
        jc .f3
        cmp word [dap+2], 4
        jne .f3
        push ds
        push 0x3000
        pop ds
        cmp dword [0x600], 103
        pop ds
.f3:    OKIF e
        ; ---- ext read past the end
        T 'AH=42 past end -> 04'
        mov word [edd], 0x1E
        mov ah, 0x48
        mov dl, 0x80
        mov si, edd
        int 0x13
        mov eax, [edd+16]
        mov [dap+8], eax
        mov word [dap+2], 1
        mov si, dap
        mov ah, 0x42
        mov dl, 0x80
        int 0x13
        jnc .f4
        cmp ah, 4
.f4:    OKIF e
        T 'AH=42 last sector'
        mov eax, [edd+16]
        dec eax
        mov [dap+8], eax
        mov word [dap+2], 1
        mov si, dap
        mov ah, 0x42
        mov dl, 0x80
        int 0x13
        jc .f5
        push ds
        push 0x3000
        pop ds
        mov ebx, [0]
        pop ds
        cmp ebx, [dap+8]
.f5:    OKIF e
        ; ---- CHS write + read back
        T 'CHS write/read'
        push 0x4000
        pop es
        xor di, di
        mov cx, 256
        mov ax, 0xA55A
        rep stosw
        mov eax, 200
        call lba2chs
        mov ax, 0x0301
        mov dl, 0x80
        xor bx, bx
        int 0x13
        jc .f6
        push 0x5000
        pop es
        mov eax, 200
        call lba2chs
        mov ax, 0x0201
        mov dl, 0x80
        xor bx, bx
        int 0x13
        jc .f6
        cmp word [es:510], 0xA55A
.f6:    push 0
        pop es
        OKIF e
        T 'AH=43 write x2/AH=42 read'
        push 0x4000
        pop es
        mov dword [es:0], 0xCAFEBABE
        mov dword [es:512], 0xDEADBEEF
        push 0
        pop es
        mov dword [dap+8], 210
        mov word [dap+2], 2
        mov word [dap+4], 0
        mov word [dap+6], 0x4000
        mov si, dap
        mov ax, 0x4300
        mov dl, 0x80
        int 0x13
        jc .f7
        mov word [dap+6], 0x5000
        mov si, dap
        mov ah, 0x42
        mov dl, 0x80
        int 0x13
        jc .f7
        push ds
        push 0x5000
        pop ds
        cmp dword [512], 0xDEADBEEF
        pop ds
.f7:    OKIF e
        T 'floppy read fails'
        mov ax, 0x0201
        mov cx, 1
        xor dx, dx
        mov bx, 0x9000
        int 0x13
        OKIF c
        T 'drive 81h fails'
        mov ax, 0x0201
        mov cx, 1
        mov dx, 0x81
        mov bx, 0x9000
        int 0x13
        OKIF c
        T 'AH=15 81h -> 0'
        mov ax, 0x1500
        mov dl, 0x81
        int 0x13
        jc .f8
        test ah, ah
.f8:    OKIF e
        T 'AH=15 80h'
        mov ax, 0x1500
        mov dl, 0x80
        int 0x13
        push ax
        mov al, ah
        movzx eax, al
        call putdec
        mov al, ' '
        call putc
        mov ax, cx
        shl eax, 16
        mov ax, dx
        call putdec
        call nl
        pop ax
        T 'AH=41'
        mov ah, 0x41
        mov bx, 0x55AA
        mov dl, 0x80
        int 0x13
        jc .f9
        cmp bx, 0xAA55
.f9:    OKIF e
        T 'AH=01 status after error'
        mov dword [dap+8], 0xFFFFFFF
        mov word [dap+2], 1
        mov si, dap
        mov ah, 0x42
        mov dl, 0x80
        int 0x13
        mov ah, 1
        mov dl, 0x80
        int 0x13
        cmp ah, 4
        OKIF e
        ; ---- INT 15h
        T 'E801'
        mov ax, 0xE801
        int 0x15
        jc .fa
        push bx
        movzx eax, ax
        call putdec
        mov al, ' '
        call putc
        pop ax
        movzx eax, ax
        call putdec
        call nl
        jmp .fa2
.fa:    call fail
.fa2:
        T 'AH=88'
        mov ah, 0x88
        int 0x15
        movzx eax, ax
        call putdec
        call nl
        T 'A20 2402 on'
        mov ax, 0x2402
        int 0x15
        cmp al, 1
        OKIF e
        T 'A20 off/on wrap'
        mov ax, 0x2400
        int 0x15
        push 0xFFFF
        pop fs
        mov byte [fs:0x7E10], 0x11   ; = linear 0x107E00 or 0x7E00 when off
        mov al, [0x7E00]             ; first byte of body
        push ax
        mov ax, 0x2402
        int 0x15
        mov bl, al
        mov ax, 0x2401
        int 0x15
        pop ax
        cmp al, 0x11
        jne .fb
        test bl, bl
.fb:    OKIF e
        T 'C0 model'
        mov ah, 0xC0
        int 0x15
        jc .fc
        cmp byte [es:bx+2], 0xFC
.fc:    push 0
        pop es
        OKIF e
        T 'AH=87 block move'
        ; gdt at gdt87: copy 512 bytes from 0x7C00 to 0x200000, then to 0x60000
        mov si, gdt87
        ; The caller owns the limits (a CPU that checks them faults on 0).
        mov word [gdt87+0x10], 0xFFFF
        mov word [gdt87+0x18], 0xFFFF
        mov dword [gdt87+0x12], 0x93007C00   ; base 0x7C00 (24 bit) + access
        mov dword [gdt87+0x1A], 0x93000000   ; base 0x200000: bytes 0,0,0x20
        mov byte [gdt87+0x1C], 0x20
        mov cx, 256
        mov ah, 0x87
        int 0x15
        jc .fd
        mov dword [gdt87+0x12], 0x93000000
        mov byte [gdt87+0x14], 0x20
        mov dword [gdt87+0x1A], 0x93000000
        mov byte [gdt87+0x1C], 0x06
        mov si, gdt87
        mov cx, 256
        mov ah, 0x87
        int 0x15
        jc .fd
        push ds
        push 0x6000
        pop ds
        cmp word [510], 0xAA55
        pop ds
.fd:    OKIF e
        ; ---- INT 1Ah
        T 'INT 1Ah set/get ticks'
        mov ah, 1
        mov cx, 0
        mov dx, 0x1234
        int 0x1A
        xor ah, ah
        int 0x1A
        sub dx, 0x1234
        cmp dx, 3
        OKIF b
        ; ---- INT 10h
        ; video ops first, no teletype in between; results checked after
        mov ah, 3
        mov bh, 0
        int 0x10
        push dx                 ; cursor to restore
        mov ax, 0x1301
        mov bx, 0x001E
        mov cx, 5
        mov dx, 0x0200
        mov bp, s_hello
        int 0x10
        mov ah, 2
        mov bh, 0
        mov dx, 0x0201
        int 0x10
        mov ah, 8
        int 0x10
        mov [r1], ax
        mov ax, 0x0602          ; rows 0-2 up by 2
        mov bh, 0x07
        mov cx, 0x0000
        mov dx, 0x024F
        int 0x10
        mov ah, 2
        mov bh, 0
        mov dx, 0x0001
        int 0x10
        mov ah, 8
        int 0x10
        mov [r2], ax
        push ds
        push 0xB800
        pop ds
        mov ax, [2*160+2]
        pop ds
        mov [r3], ax
        mov ax, 0x0701          ; rows 0-2 down by 1
        mov bh, 0x07
        mov cx, 0x0000
        mov dx, 0x024F
        int 0x10
        push ds
        push 0xB800
        pop ds
        mov ax, [1*160+2]
        mov bx, [0*160+2]
        pop ds
        mov [r4], ax
        mov [r5], bx
        pop dx
        mov ah, 2
        mov bh, 0
        int 0x10
        T 'INT 10h 13h/08h'
        cmp word [r1], 0x1E45
        OKIF e
        T 'INT 10h 06h'
        cmp word [r2], 0x1E45
        jne .fe
        cmp word [r3], 0x0720
.fe:    OKIF e
        T 'INT 10h 07h'
        cmp word [r4], 0x1E45
        jne .ff
        cmp word [r5], 0x0720
.ff:    OKIF e
        T 'INT 10h 0F'
        mov ah, 0x0F
        int 0x10
        cmp ax, 0x5003
        OKIF e
        mov ah, 2
        mov bh, 0
        mov dx, 0x1700
        int 0x10
        ; INT 10h 09h then 0Eh of the same character at the same place:
        ; COM1 must see it once ("X" then the CR LF)
        T 'INT 10h 09h+0Eh echo'
        mov ax, 0x0958
        mov bx, 0x0007
        mov cx, 1
        int 0x10
        mov ax, 0x0E58
        int 0x10
        call nl
        T 'INT 14h send/status'
        mov ax, 0x0153              ; send 'S'
        xor dx, dx
        int 0x14
        test ah, 0x80
        jnz .fg
        mov ah, 0x03
        int 0x14
        test ah, 0x60               ; transmitter empty / holding empty
        jz .fg
        call ok
        jmp .fg2
.fg:    call fail
.fg2:
        T 'INT 14h no COM2'
        mov ah, 0x03
        mov dx, 1
        int 0x14
        cmp ah, 0x80
        OKIF e
        T 'INT 1Ah set/get date+time'
        mov ah, 0x05
        mov cx, 0x2024
        mov dx, 0x0229
        int 0x1A
        mov ah, 0x03
        mov cx, 0x2359
        mov dx, 0x5000
        int 0x1A
        mov ah, 0x04
        int 0x1A
        jc .fh
        cmp cx, 0x2024
        jne .fh
        cmp dx, 0x0229
        jne .fh
        mov ah, 0x02
        int 0x1A
        jc .fh
        cmp cx, 0x2359
.fh:    OKIF e
        T 'INT 16h 05h store/read'
        mov ah, 0x05
        mov cx, 0x2E63              ; 'c'
        int 0x16
        test al, al
        jnz .fi
        mov ah, 0x01
        int 0x16
        jz .fi
        xor ah, ah
        int 0x16
        cmp ax, 0x2E63
.fi:    OKIF e
        T 'INT 10h 05h/01h'
        mov ax, 0x0502              ; page 2
        int 0x10
        mov ah, 0x0F
        int 0x10
        push bx
        mov ax, 0x0500
        int 0x10
        mov ah, 0x01
        mov cx, 0x0007
        int 0x10
        mov ah, 0x03
        mov bh, 0
        int 0x10
        pop bx
        cmp bh, 2
        jne .fj
        cmp cx, 0x0007
.fj:    OKIF e
        ; ---- ACPI: find the RSDP (EBDA first KiB, then E0000-FFFFF)
        T 'ACPI RSDP'
        push ds
        push word 0x40
        pop ds
        mov ax, [0x0E]
        pop ds
        mov es, ax
        mov cx, 1024 / 16
        call find_rsdp
        jnc .ra
        mov ax, 0xE000
        mov es, ax
        mov cx, 0x20000 / 16        ; E0000-FFFFF
        call find_rsdp
.ra:    push word 0
        pop es
        OKIF nc
        T 'ACPI RSDT'
        mov eax, [acpi_rsdt]
        mov ebx, 'RSDT'
        call acpi_table             ; -> ES:0 = table, ECX = length, CF
        jc .rb
        mov si, 36                  ; walk the entries
.rbe:   cmp si, cx
        jae .rb
        mov eax, [es:si]
        push es
        push si
        push cx
        mov ebx, 'FACP'
        push eax
        call acpi_table
        pop eax
        jc .rbn
        mov [acpi_fadt], eax
.rbn:   mov ebx, 'APIC'
        push eax
        call acpi_table
        pop eax
        jc .rbm
        mov [acpi_madt], eax
.rbm:   pop cx
        pop si
        pop es
        add si, 4
        jmp .rbe
.rb:    push word 0
        pop es
        cmp dword [acpi_fadt], 0
        je .rbf
        cmp dword [acpi_madt], 0
        je .rbf
        clc
        jmp .rbo
.rbf:   stc
.rbo:   OKIF nc
        T 'ACPI FADT'
        mov eax, [acpi_fadt]
        mov ebx, 'FACP'
        call acpi_table
        jc .rc
        cmp word [es:46], 9         ; SCI_INT
        jne .rcf
        mov eax, [es:64]            ; PM1a_CNT_BLK
        mov [acpi_pm1cnt], ax
        cmp dword [es:56], 0x600
        jne .rcf
        cmp eax, 0x604
        jne .rcf
        cmp dword [es:76], 0x608
        jne .rcf
        cmp dword [es:88], 0x04000204   ; lengths 4, 2, 0, 4
        jne .rcf
        mov eax, [es:40]
        mov [acpi_dsdt], eax
        mov eax, [es:36]            ; FACS: signature and length only
        push word 0
        pop es
        mov ebx, eax
        shr ebx, 4
        mov es, bx
        and ax, 15
        mov bx, ax
        cmp dword [es:bx], 'FACS'
        jne .rcf
        cmp dword [es:bx+4], 64
        jne .rcf
        clc
        jmp .rc
.rcf:   stc
.rc:    push word 0
        pop es
        OKIF nc
        T 'ACPI DSDT _S5'
        mov eax, [acpi_dsdt]
        mov ebx, 'DSDT'
        call acpi_table
        jc .rd
        xor si, si
.rds:   cmp si, cx
        jae .rdf
        cmp dword [es:si], '_S5_'
        jne .rdn
        cmp byte [es:si+4], 0x12    ; PackageOp
        je .rdp
.rdn:   inc si
        jmp .rds
.rdp:   mov al, [es:si+5]           ; PkgLength: bits 7:6 = extra bytes
        shr al, 6
        movzx bx, al
        add bx, si
        add bx, 7                   ; skip lead byte and NumElements
        cmp byte [es:bx-1], 4
        jne .rdf
        mov al, [es:bx]             ; SLP_TYPa: Zero, One or BytePrefix
        cmp al, 0x0A
        jne .rdz
        mov al, [es:bx+1]
        jmp .rdv
.rdz:   cmp al, 1
        ja .rdf
.rdv:   mov [acpi_slp_typ], al
        clc
        jmp .rd
.rdf:   stc
.rd:    push word 0
        pop es
        OKIF nc
        T 'ACPI MADT'
        mov eax, [acpi_madt]
        mov ebx, 'APIC'
        call acpi_table
        jc .re
        cmp dword [es:36], 0xFEE00000
        jne .ref
        test byte [es:40], 1        ; PCAT_COMPAT
        jz .ref
        cmp word [es:44], 0x0800    ; processor local APIC, 8 bytes
        jne .ref
        test byte [es:48], 1        ; enabled
        jz .ref
        clc
        jmp .re
.ref:   stc
.re:    push word 0
        pop es
        OKIF nc
        T 'ACPI SCI_EN, PM timer'
        mov dx, [acpi_pm1cnt]
        in ax, dx
        test al, 1
        jz .rtf
        mov dx, 0x608
        in eax, dx
        mov ebx, eax
        mov cx, 0
        mov dx, 10000               ; 10 ms
        mov ah, 0x86
        int 0x15
        mov dx, 0x608
        in eax, dx
        sub eax, ebx
        and eax, 0xFFFFFF
        cmp eax, 20000              ; 10 ms = 35795 ticks
        jb .rtf
        cmp eax, 400000
        ja .rtf
        clc
        jmp .rt
.rtf:   stc
.rt:    OKIF nc
        ; ---- SMBIOS: the entry point in F0000-FFFFF (checksummed), its
        ; table walked to type 127 in the promised number of structures,
        ; type 1 made by "crane86"
        T 'SMBIOS'
        push word 0xF000
        pop es
        xor di, di
.sma:   cmp dword [es:di], '_SM_'
        jne .smn
        cmp dword [es:di+16], '_DMI'
        jne .smn
        movzx cx, byte [es:di+5]
        xor al, al
        xor bx, bx
.sms:   add al, [es:di+bx]
        inc bx
        cmp bx, cx
        jb .sms
        test al, al
        jz .smf
.smn:   add di, 16
        jnz .sma
        jmp .smbad
.smf:   mov cx, [es:di+0x1C]        ; number of structures
        mov eax, [es:di+0x18]       ; table address
        cmp eax, 0x100000
        jae .smbad
        mov si, ax
        and si, 15
        shr eax, 4
        mov es, ax
        xor dl, dl                  ; 1 once type 1 names crane86
.smw:   mov bl, [es:si]             ; type
        movzx di, byte [es:si+1]
        add di, si                  ; its strings
        cmp bl, 1
        jne .smk
        cmp byte [es:si+4], 1       ; manufacturer: string 1
        jne .smk
        cmp dword [es:di], 'cran'
        jne .smk
        cmp dword [es:di+3], 'ne86'
        jne .smk
        cmp byte [es:di+7], 0
        jne .smk
        mov dl, 1
.smk:   cmp word [es:di], 0         ; to the double NUL
        je .sme
        inc di
        jmp .smk
.sme:   lea si, [di+2]
        dec cx
        jz .sml
        cmp bl, 127
        je .smbad                   ; the end came early
        jmp .smw
.sml:   cmp bl, 127
        jne .smbad
        cmp dl, 1
        jne .smbad
        clc
        jmp .smd
.smbad: stc
.smd:   push word 0
        pop es
        OKIF nc
        ; ---- video
        T 'INT 10h 1A00h'
        mov ax, 0x1A00
        int 0x10
        cmp al, 0x1A
        jne .va
        cmp bl, 0x08
.va:    OKIF e
        T 'INT 10h mode 13h'
        mov ax, 0x0013
        int 0x10
        mov ah, 0x0F
        int 0x10
        cmp ax, 0x2813
        jne .vb
        mov ax, 0x0C2C              ; pixel (10, 20) = 2Ch
        mov cx, 10
        mov dx, 20
        int 0x10
        mov ax, 0x0D00
        int 0x10
        cmp al, 0x2C
        jne .vb
        push es
        push word 0xA000
        pop es
        cmp byte [es:20 * 320 + 10], 0x2C
        pop es
        jne .vb
        mov ax, 0x1015              ; DAC entry 40: bright red
        mov bx, 40
        int 0x10
        cmp dh, 0x3F
        jne .vb
        cmp cx, 0
.vb:    OKIF e
        T 'INT 10h mode 12h'
        mov ax, 0x0012
        int 0x10
        mov ah, 0x0F
        int 0x10
        cmp ax, 0x5012
        jne .vc
        mov ax, 0x0C09              ; pixel (100, 50) = 9
        mov cx, 100
        mov dx, 50
        int 0x10
        mov ax, 0x0D00
        int 0x10
        cmp al, 9
        jne .vc
        mov ax, 0x0D00
        mov cx, 101
        int 0x10
        cmp al, 0
.vc:    OKIF e
        T 'VBE 4F00h'
        push word 0x6000
        pop es
        xor di, di
        mov dword [es:di], 'VBE2'
        mov ax, 0x4F00
        int 0x10
        cmp ax, 0x004F
        jne .vd
        cmp dword [es:0], 'VESA'
        jne .vd
        cmp word [es:4], 0x0200
        jb .vd
        cmp word [es:0x12], 64      ; at least 4 MiB
        jb .vd
        lds si, [es:0x0E]           ; the mode list must hold 111h
.vdl:   lodsw
        cmp ax, 0xFFFF
        je .vdx
        cmp ax, 0x111
        jne .vdl
.vdx:   push word 0
        pop ds
        cmp ax, 0x111
.vd:    push word 0
        pop es
        OKIF e
        T 'VBE 4F01h 111h'
        push word 0x6000
        pop es
        xor di, di
        mov ax, 0x4F01
        mov cx, 0x111
        int 0x10
        cmp ax, 0x004F
        jne .vex
        mov al, [es:0]
        and al, 0x99
        cmp al, 0x99                ; supported, colour, graphics, LFB
        jne .vex
        cmp dword [es:0x12], (480 << 16) | 640
        jne .vex
        cmp byte [es:0x19], 16
        jne .vex
        cmp word [es:0x10], 1280
        jne .vex
        cmp byte [es:0x1F], 5       ; red: 5 bits at 11
        jne .vex
        cmp byte [es:0x20], 11
        jne .vex
        cmp dword [es:0x28], 0
        jmp .ve
.vex:   cmp al, al                  ; failed: ZF=1
.ve:    push word 0
        pop es
        OKIF ne
        T 'VBE 4F02h/4F03h/4F05h'
        mov ax, 0x4F02
        mov bx, 0x4111
        int 0x10
        cmp ax, 0x004F
        jne .vf
        mov ax, 0x4F03
        int 0x10
        cmp bx, 0x4111
        jne .vf
        mov ax, 0x4F02
        mov bx, 0x0105
        int 0x10
        cmp ax, 0x004F
        jne .vf
        mov ax, 0x4F05
        mov bx, 0x0000
        mov dx, 3
        int 0x10
        mov ax, 0x4F05
        mov bx, 0x0100
        xor dx, dx
        int 0x10
        cmp ax, 0x004F
        jne .vf
        cmp dx, 3
        jne .vf
        mov ax, 0x4F02              ; an unknown mode fails
        mov bx, 0x17F
        int 0x10
        cmp ax, 0x004F
        je .vf
        mov ax, 0x0003
        int 0x10
        mov ah, 0x0F
        int 0x10
        cmp al, 3
        jne .vf
        mov ax, 0x4F03
        int 0x10
        cmp bx, 3
.vf:    OKIF e
        ; ---- keys typed within half a second, shown as [scan:ascii]
        T 'keys'
        call nl
.keys:  xor ah, ah
        int 0x1A
        mov bx, dx
.kw:    mov ah, 1
        int 0x16
        jnz .kgot
        xor ah, ah
        int 0x1A
        sub dx, bx
        cmp dx, 9
        jb .kw
        jmp .kdone
.kgot:  mov ah, 0x10
        int 0x16
        push ax
        mov al, '['
        call putc
        pop ax
        call puthex16
        mov al, ']'
        call putc
        jmp .keys
.kdone: call nl
        mov si, s_done
        call puts
        ; ACPI soft-off: SLP_TYP from \_S5, SLP_EN
        mov si, s_poweroff
        call puts
        mov dx, [acpi_pm1cnt]
        test dx, dx
        jz .nopm
        movzx ax, byte [acpi_slp_typ]
        and al, 7
        shl ax, 10
        or ax, 0x2000
        out dx, ax
        mov cx, 0                   ; give it a moment
        mov dx, 50000
        mov ah, 0x86
        int 0x15
.nopm:  mov si, s_poweroff_failed
        call puts
        cli
        hlt

; find_rsdp: scan ES:0 on, CX paragraphs (0 = 65536), for a checksummed
; 'RSD PTR ' -> [acpi_rsdt], CF=0
find_rsdp:
        xor di, di
.n:     cmp dword [es:di], 'RSD '
        jne .x
        cmp dword [es:di+4], 'PTR '
        jne .x
        xor al, al
        xor bx, bx
.s:     add al, [es:di+bx]
        inc bx
        cmp bx, 20
        jb .s
        test al, al
        jnz .x
        mov eax, [es:di+16]
        mov [acpi_rsdt], eax
        clc
        ret
.x:     add di, 16
        jnz .nw
        mov ax, es                  ; next 64 KiB
        add ax, 0x1000
        mov es, ax
.nw:    loop .n
        stc
        ret
; acpi_table: EAX = physical address (below 1 MiB), EBX = signature ->
; ES:0 = the table, ECX = its length; CF=1 if absent or bad checksum
acpi_table:
        cmp eax, 0x100000 - 36
        jae .bad
        test al, 15                 ; our tables are paragraph aligned
        jnz .bad
        shr eax, 4
        mov es, ax
        cmp [es:0], ebx
        jne .bad
        mov ecx, [es:4]
        cmp ecx, 36
        jb .bad
        cmp ecx, 0x10000
        jae .bad
        xor al, al
        xor si, si
.s:     add al, [es:si]
        inc si
        cmp si, cx
        jb .s
        test al, al
        jnz .bad
        clc
        ret
.bad:   stc
        ret
acpi_rsdt:      dd 0
acpi_fadt:      dd 0
acpi_madt:      dd 0
acpi_dsdt:      dd 0
acpi_pm1cnt:    dw 0
acpi_slp_typ:   db 0xFF
s_poweroff:     db 'ACPI power off', 13, 10, 0
s_poweroff_failed: db 'power off failed', 13, 10, 0
lba2chs:        ; eax=lba -> cx, dh
        xor edx, edx
        movzx ebx, word [spt]
        div ebx
        inc dx
        mov cl, dl        ; sector
        xor edx, edx
        movzx ebx, word [heads]
        div ebx          ; eax = cyl, edx = head
        mov dh, dl
        mov ch, al
        shl ah, 6
        or cl, ah
        ret
ok:     mov si, s_ok
        jmp puts
fail:   mov si, s_fail
        push ax
        call puts
        pop ax
        mov al, ah
        movzx eax, al
        call putdec
        jmp nl
nl:     mov al, 13
        call putc
        mov al, 10
        jmp putc
puts:   lodsb
        test al, al
        jz .d
        call putc
        jmp puts
.d:     ret
putc:   push ax
        push bx
        mov ah, 0x0E
        xor bx, bx
        int 0x10
        pop bx
        pop ax
        ret
putdec: pushad
        mov ebx, 10
        xor cx, cx
.a:     xor edx, edx
        div ebx
        push dx
        inc cx
        test eax, eax
        jnz .a
.b:     pop ax
        add al, '0'
        call putc
        loop .b
        popad
        ret
puthex16:
        push cx
        mov cx, 4
.h:     rol ax, 4
        push ax
        and al, 15
        add al, '0'
        cmp al, '9'
        jbe .p
        add al, 7
.p:     call putc
        pop ax
        loop .h
        pop cx
        ret
s_ok:   db 'ok', 13, 10, 0
s_fail: db 'FAIL ah=', 0
s_done: db 'selftest done', 13, 10, 0
s_hello: db 'HELLO'
drive:  db 0
r1: dw 0
r2: dw 0
r3: dw 0
r4: dw 0
r5: dw 0
heads:  dd 0
spt:    dw 0
dap:    db 0x10, 0
        dw 0, 0, 0
        dq 0
edd:    times 0x1E db 0
gdt87:  times 48 db 0
body_end:
BODY equ (body_end-body_start+511)/512
        times PAT_LBA*512-($-$$) db 0
%assign i PAT_LBA
%rep 256-PAT_LBA
        times 128 dd i
%assign i i+1
%endrep
