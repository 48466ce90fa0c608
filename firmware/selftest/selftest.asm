; selftest.asm — a guest that checks the crane86 BIOS services one by one
; and prints "<name>: ok" or "<name>: FAIL ah=<status>" for each, then
; "selftest done" and halts. It is not committed as an image: the firmware
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
        cli
        hlt

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
