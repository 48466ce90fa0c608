; fontshot.asm — a one-sector guest for the text font check under QEMU
; (firmware/tests/qemu_boot.rs): it sets mode 13h and fills its memory
; (which overwrites plane 2, where the text font lives), sets mode 3 (the
; BIOS must load its font again), loads a blank user font (INT 10h
; AX=1100h) and then the ROM font (AX=1114h), checks AX=1130h BH=6, and
; shows all 256 characters in light grey on black: character i at row
; 2 + i / 32, column 8 + 2 * (i % 32). It prints "INT 10h 1130h: ok" (or
; "FAIL") and "READY FONT" on COM1, then halts. QEMU draws text from plane
; 2, so its screendump shows whatever font the BIOS loaded.

        cpu 686
        bits 16
        org 0x7C00

start:  jmp 0:.s
.s:     xor ax, ax
        mov ds, ax
        mov ss, ax
        mov sp, 0x7C00
        cld
        mov ax, 0x0013
        int 0x10
        push word 0xA000
        pop es
        xor di, di
        mov cx, 32000
        mov ax, 0x5AA5
        rep stosw
        mov ax, 0x0003
        int 0x10
        push ds                     ; a blank font at 0:8000
        pop es
        mov di, 0x8000
        mov cx, 256 * 16 / 2
        xor ax, ax
        rep stosw
        mov ax, 0x1100
        mov bp, 0x8000
        mov cx, 256
        xor dx, dx
        mov bx, 0x1000              ; 16 bytes a glyph, block 0
        int 0x10
        mov ax, 0x1114              ; the ROM's 8x16 font, block 0
        xor bl, bl
        int 0x10
        ; AX=1130h BH=6: ES:BP = 8x16 font, CX = 16, DL = 24
        mov si, s_1130
        call puts
        mov ax, 0x1130
        mov bh, 6
        int 0x10
        mov si, s_fail
        cmp cx, 16
        jne .r
        cmp dl, 24
        jne .r
        cmp dword [es:bp+0xDB*16], 0xFFFFFFFF   ; full block
        jne .r
        cmp dword [es:bp+0xDB*16+12], 0xFFFFFFFF
        jne .r
        mov si, s_ok
.r:     call puts
        push word 0xB800
        pop es
        xor bx, bx                  ; BL = character
.c:     movzx di, bl
        shr di, 5
        add di, 2
        imul di, di, 80
        movzx ax, bl
        and al, 31
        shl ax, 1
        add di, ax
        add di, 8
        shl di, 1
        mov al, bl
        mov ah, 0x07
        stosw
        inc bl
        jnz .c
        mov si, s_ready
        call puts
        cli
        hlt
        jmp $ - 2

puts:   lodsb                       ; DS:SI to COM1
        test al, al
        jz .d
        mov ah, al
        mov dx, 0x3FD
.w:     in al, dx
        test al, 0x20
        jz .w
        mov al, ah
        mov dx, 0x3F8
        out dx, al
        jmp puts
.d:     ret

s_1130: db 'INT 10h 1130h: ', 0
s_ok:   db 'ok', 13, 10, 0
s_fail: db 'FAIL', 13, 10, 0
s_ready: db 'READY FONT', 13, 10, 0

        times 510 - ($ - $$) db 0
        dw 0xAA55
