; vgashot.asm — a guest that draws known pictures in the BIOS's graphics
; modes for a test to compare with screendumps of the display. For each
; picture it prints "READY <name>" on COM1 and waits for a key (a byte on
; COM1) before the next one; at the end it prints "vgashot done", returns
; to text mode and halts. Assembled by the firmware crate's QEMU test.
;
;   13h   mode 13h, pixel (x, y) = colour x & 0FFh (the default palette)
;   12h   mode 12h, vertical bands 40 pixels wide in colours 0-15, drawn
;         through the planes; pixels (0-63, 0) set white with INT 10h 0Ch
;   VBE16 VBE mode 4111h (640x480x16, linear framebuffer): quadrants red,
;         green, blue, white (5:6:5)
;   VBE8  VBE mode 101h (640x480x8) through the A000h window: each 64 KiB
;         bank b filled with colour 40 + b

        cpu 686
        bits 16
        org 0x7C00
boot:   jmp 0:.s
.s:     cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7C00
        sti
        cld
        mov ax, 0x0200 | BODY
        mov cx, 2
        xor dh, dh
        mov bx, 0x7E00
        int 0x13
        jc $
        jmp main
        times 510-($-$$) db 0
        dw 0xAA55

main:
        ; ---- mode 13h
        mov ax, 0x0013
        int 0x10
        push word 0xA000
        pop es
        xor di, di
        xor dx, dx
.r13:   xor cx, cx
.c13:   mov al, cl
        stosb
        inc cx
        cmp cx, 320
        jb .c13
        inc dx
        cmp dx, 200
        jb .r13
        mov si, s_13
        call ready
        ; ---- mode 12h
        mov ax, 0x0012
        int 0x10
        push word 0xA000
        pop es
        mov bl, 0                   ; plane
.plane: mov dx, 0x3C4
        mov al, 2                   ; map mask: this plane
        mov ah, 1
        mov cl, bl
        shl ah, cl
        out dx, ax
        xor di, di
        mov bp, 480
.row:   xor si, si                  ; byte column 0-79 -> band = col / 5
.col:   mov ax, si
        mov cl, 5
        div cl                      ; AL = band (40 pixels = 5 bytes)
        mov cl, bl
        shr al, cl
        and al, 1
        neg al                      ; 00h or FFh
        stosb
        inc si
        cmp si, 80
        jb .col
        dec bp
        jnz .row
        inc bl
        cmp bl, 4
        jb .plane
        mov dx, 0x3C4
        mov ax, 0x0F02
        out dx, ax
        xor cx, cx                  ; INT 10h 0Ch: a white line on row 0
.px:    mov ax, 0x0C0F
        xor dx, dx
        xor bh, bh
        int 0x10
        inc cx
        cmp cx, 64
        jb .px
        mov si, s_12
        call ready
        ; ---- VBE 640x480x16 through the linear framebuffer
        push word 0x6000
        pop es
        xor di, di
        mov ax, 0x4F01
        mov cx, 0x111
        int 0x10
        mov ebx, [es:0x28]          ; PhysBasePtr
        mov [lfb], ebx
        mov ax, 0x4F02
        mov bx, 0x4111
        int 0x10
        cmp ax, 0x004F
        jne fail
        call flat_fs
        mov edi, [lfb]
        xor dx, dx
.vr:    xor cx, cx
.vc:    mov ax, 0xF800              ; red
        cmp cx, 320
        jb .v1
        mov ax, 0x07E0              ; green
.v1:    cmp dx, 240
        jb .v2
        mov ax, 0x001F              ; blue
        cmp cx, 320
        jb .v2
        mov ax, 0xFFFF              ; white
.v2:    mov [fs:edi], ax
        add edi, 2
        inc cx
        cmp cx, 640
        jb .vc
        inc dx
        cmp dx, 480
        jb .vr
        mov si, s_vbe16
        call ready
        ; ---- VBE 640x480x8 through the window
        mov ax, 0x4F02
        mov bx, 0x0101
        int 0x10
        cmp ax, 0x004F
        jne fail
        push word 0xA000
        pop es
        xor dx, dx                  ; bank
.bank:  mov ax, 0x4F05
        xor bx, bx
        int 0x10
        mov al, 40
        add al, dl
        xor di, di
        mov cx, 0x8000
        mov ah, al
        rep stosw
        inc dx
        cmp dx, 5                   ; 640 * 480 < 5 * 64 KiB
        jb .bank
        mov si, s_vbe8
        call ready
        mov ax, 0x0003
        int 0x10
        mov si, s_done
        call puts
        cli
        hlt
fail:   mov ax, 0x0003
        int 0x10
        mov si, s_fail
        call puts
        cli
        hlt

; ready: print the message at SI, wait for a key
ready:  call puts
        xor ah, ah
        int 0x16
        ret
puts:   lodsb
        test al, al
        jz .d
        mov ah, 0x0E
        xor bx, bx
        int 0x10
        jmp puts
.d:     ret

; flat_fs: FS = base 0, limit 4 GiB, back in real mode
flat_fs:
        cli
        lgdt [gdt_desc]
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp short .pm
.pm:    mov bx, 8
        mov fs, bx
        and al, 0xFE
        mov cr0, eax
        jmp short .rm
.rm:    xor bx, bx
        mov fs, bx
        sti
        ret
gdt:    dq 0
        dq 0x00CF92000000FFFF
gdt_desc:
        dw 15
        dd gdt

lfb:    dd 0
s_13:    db 'READY 13', 13, 10, 0
s_12:    db 'READY 12', 13, 10, 0
s_vbe16: db 'READY VBE16', 13, 10, 0
s_vbe8:  db 'READY VBE8', 13, 10, 0
s_done:  db 'vgashot done', 13, 10, 0
s_fail:  db 'vgashot FAIL', 13, 10, 0
body_end:
BODY equ (body_end - main + 511) / 512
        times 4096 - ($ - $$) db 0
