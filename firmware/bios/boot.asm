; boot.asm — the bootstrap (INT 19h), the "no ROM BASIC" entry (INT 18h),
; the equipment and memory size queries (INT 11h, 12h) and the default
; handlers every unused vector points at.

; ---- INT 19h: load the boot sector of disk 80h and jump to it -------------
; (or, for a direct boot, jump to what the board placed at 0:7C00)
int19_handler:
        cli
        cld
        xor ax, ax
        mov ss, ax
        mov sp, STACK_TOP
        mov ds, ax
        mov es, ax
        sti
        push word BDA_SEG
        pop ds
        ; Direct boot (CMOS 0x5F bit 1): the board has put a boot stub at
        ; 0:7C00 (for -kernel); run it as if it were disk 80h's boot sector.
        mov al, CMOS_CRANE86
        call cmos_read
        test al, CRANE86_DIRECT
        jnz .jump
        mov gs, [BDA_EBDA]
        test byte [gs:E_DISK_FLAGS], DISK_PRESENT
        jz boot_fail
        mov si, str_booting
        call bios_puts
        mov cx, 3                   ; a few attempts, with a reset between
.try:   push cx
        xor ax, ax
        mov es, ax
        mov ax, 0x0201              ; read 1 sector
        mov bx, 0x7C00
        mov cx, 0x0001              ; cylinder 0, sector 1
        mov dx, 0x0080              ; head 0, drive 80h
        int 0x13
        pop cx
        jnc .read
        xor ax, ax
        mov dl, 0x80
        int 0x13
        loop .try
        mov si, str_read_error
        call bios_puts
        jmp boot_fail
.read:  cmp word [es:0x7DFE], 0xAA55
        je .go
        mov si, str_no_signature
        call bios_puts
        jmp boot_fail
.go:    mov si, str_crlf
        call bios_puts
.jump:  xor ax, ax
        mov ds, ax
        mov es, ax
        xor bx, bx
        xor cx, cx
        xor si, si
        xor di, di
        xor bp, bp
        mov dx, 0x0080              ; DL = boot drive
        jmp 0x0000:0x7C00

; ---- INT 18h / failed boot ---------------------------------------------------
int18_handler:
boot_fail:
        push word BDA_SEG           ; not needed by bios_puts, but harmless
        pop ds
        mov si, str_no_boot
        call bios_puts
        POST_CODE 0xEE
.halt:  cli
        hlt
        jmp .halt

; ---- INT 11h / INT 12h -------------------------------------------------------
int11_handler:
        push ds
        push word BDA_SEG
        pop ds
        mov ax, [BDA_EQUIP]
        pop ds
        iret

int12_handler:
        push ds
        push word BDA_SEG
        pop ds
        mov ax, [BDA_MEMKIB]
        pop ds
        iret

; ---- defaults ------------------------------------------------------------------
default_iret:
        iret

; An interrupt from a line nobody claimed still needs its EOI, or it would
; block every lower-priority line.
irq_master_default:
        push ax
        mov al, 0x20
        out PIC1_CMD, al
        pop ax
        iret

irq_slave_default:
        push ax
        mov al, 0x20
        out PIC2_CMD, al
        out PIC1_CMD, al
        pop ax
        iret
