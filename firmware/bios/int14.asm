; int14.asm — INT 14h serial port services for COM1 (a 16550A UART).
; DX = port number (only 0 exists). Waits are bounded by the BDA timeout.

int14_handler:
        sti
        cld
        FRAME_ENTER
        push word BDA_SEG
        pop ds
        test dx, dx
        jnz .noport
        mov dx, [BDA_COM1]
        test dx, dx
        jz .noport
        cmp ah, 0x00
        je .init
        cmp ah, 0x01
        je .send
        cmp ah, 0x02
        je .recv
        cmp ah, 0x03
        je .status
        FRAME_LEAVE
.noport:
        mov byte [bp+R_AH], 0x80    ; time-out: no such port
        FRAME_LEAVE

; AH=00h: AL = bits 7-5 baud (110..9600), bits 4-0 the line control value
.init:  mov bl, al
        add dx, UART_LCR
        mov al, 0x80
        out dx, al
        sub dx, UART_LCR
        movzx si, bl
        shr si, 5
        add si, si
        mov ax, [cs:si+baud_divisors]
        out dx, al
        inc dx
        mov al, ah
        out dx, al
        dec dx
        add dx, UART_LCR
        mov al, bl
        and al, 0x1F
        out dx, al
        sub dx, UART_LCR
.status:
        add dx, UART_LSR
        in al, dx
        mov ah, al
        inc dx                      ; MSR
        in al, dx
        mov [bp+R_AX], ax
        FRAME_LEAVE

; AH=01h: send AL -> AH = line status (bit 7 = time-out)
.send:  mov bl, al
        add dx, UART_LSR
        call .timeout
.sw:    in al, dx
        test al, 0x20
        jnz .sready
        dec ecx
        jnz .sw
        or al, 0x80
        mov [bp+R_AH], al
        FRAME_LEAVE
.sready:
        mov ah, al
        sub dx, UART_LSR
        mov al, bl
        out dx, al
        mov [bp+R_AH], ah
        FRAME_LEAVE

; AH=02h: receive -> AL = byte, AH = line status errors (bit 7 = time-out)
.recv:  add dx, UART_LSR
        call .timeout
.rw:    in al, dx
        test al, 0x01
        jnz .rready
        dec ecx
        jnz .rw
        mov byte [bp+R_AH], 0x80
        FRAME_LEAVE
.rready:
        and al, 0x1E
        mov ah, al
        sub dx, UART_LSR
        in al, dx
        mov [bp+R_AX], ax
        FRAME_LEAVE

; ECX = polls allowed: the BDA time-out byte for COM1 times 64 Ki
.timeout:
        movzx ecx, byte [BDA_COMTIMEOUT]
        shl ecx, 16
        jnz .t
        inc ecx
.t:     ret
