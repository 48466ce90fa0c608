; util.asm — small helpers shared by the services: CMOS access, PIT
; counter reads, COM1 output (the headless console echo) and the BIOS's own
; message printing.

; cmos_read: AL = register index -> AL = value.
; Interrupts are held off so an IRQ handler cannot move the index between
; our write to 0x70 and our read of 0x71.
cmos_read:
        pushf
        cli
        out CMOS_INDEX, al
        in al, CMOS_DATA
        popf
        ret

; cmos_write: AL = register index, AH = value.
cmos_write:
        pushf
        cli
        out CMOS_INDEX, al
        xchg al, ah
        out CMOS_DATA, al
        xchg al, ah
        popf
        ret

; pit_read: AX = current count of PIT channel 0 (counts down from 65536
; at 1.193182 MHz; POST programs it in mode 2 so it decrements by one).
pit_read:
        pushf
        cli
        mov al, 0x00                ; latch counter 0
        out PIT_CMD, al
        in al, PIT_CH0
        mov ah, al
        in al, PIT_CH0
        xchg al, ah
        popf
        ret

; serial_out: DX = UART base, AL = byte. Waits (bounded) for the transmit
; holding register; a missing or stuck UART must not hang the BIOS.
serial_out:
        push cx
        push ax
        add dx, UART_LSR
        mov cx, 0xFFFF
.wait:  in al, dx
        test al, 0x20
        jnz .ready
        loop .wait
.ready: sub dx, UART_LSR
        pop ax
        out dx, al
        pop cx
        ret

; tty_echo: AL = character just shown by INT 10h; copy it to COM1 so a
; headless user sees the screen's text. LF becomes CR LF (unless a CR was
; just sent). Skipped when COM1 is absent, when crane86 says a window is
; showing the screen (CMOS 0x5F bit 0), and once the -kernel boot stub has
; set bit 2: a kernel booted with console=ttyS0 writes to COM1 itself, and
; a copy would double every character. Preserves all registers.
tty_echo:
        push ax
        push dx
        push ds
        push es
        push word BDA_SEG
        pop ds
        mov dx, [BDA_COM1]
        test dx, dx
        jz .done
        push ax
        mov al, CMOS_CRANE86
        call cmos_read
        test al, CRANE86_WINDOW | CRANE86_NO_ECHO
        pop ax
        jnz .done
        mov es, [BDA_EBDA]
        cmp al, 0x0A
        jne .send
        cmp byte [es:E_SER_LAST], 0x0D
        je .send
        push ax
        mov al, 0x0D
        call serial_out
        pop ax
.send:  call serial_out
        mov [es:E_SER_LAST], al
.done:  pop es
        pop ds
        pop dx
        pop ax
        ret

; bios_putc: AL = character. The BIOS's own messages go through INT 10h
; teletype (screen, echoed to COM1) and also to the debug console port.
bios_putc:
        push ax
        push bx
        out PORT_DEBUGCON, al
        mov ah, 0x0E
        xor bx, bx
        int 0x10
        pop bx
        pop ax
        ret

; bios_puts: CS:SI = NUL-terminated string.
bios_puts:
        push ax
        push si
.next:  mov al, [cs:si]
        inc si
        test al, al
        jz .done
        call bios_putc
        jmp .next
.done:  pop si
        pop ax
        ret

; bios_putdec: EAX = unsigned number, printed in decimal.
bios_putdec:
        pushad
        mov ebx, 10
        xor cx, cx
.div:   xor edx, edx
        div ebx
        push dx
        inc cx
        test eax, eax
        jnz .div
.out:   pop ax
        add al, '0'
        call bios_putc
        loop .out
        popad
        ret

; io_delay: a short pause between accesses to slow devices.
io_delay:
        push ax
        in al, PORT_POST
        pop ax
        ret
