; directboot.asm — a one-sector guest that checks the BIOS's direct-boot
; path (CMOS 0x5F bit 1). Booted from disk, it marks its in-RAM copy, sets
; the bit and resets the machine through port 0xCF9. POST must then keep
; RAM and INT 19h must jump to 0:7C00 with DL = 80h without reading the
; disk: the marked copy runs, prints "direct boot: ok" (or "FAIL") and
; "direct boot done", clears the bit and halts. Assembled by the firmware crate's QEMU test.

        cpu 686
        bits 16
        org 0x7C00
        jmp 0:start
start:  cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7C00
        sti
        cld
        cmp byte [phase], 2
        je second
        mov byte [phase], 2         ; only the copy in RAM changes
        mov dword [0x8000], 0x1BADB002
        mov si, s_first
        call puts
        mov al, 0x5F
        out 0x70, al
        in al, 0x71
        or al, 2
        out 0x71, al
        mov dx, 0xCF9               ; hard reset
        mov al, 0x06
        out dx, al
        cli
        hlt
second: mov si, s_fail
        cmp dl, 0x80
        jne .out
        cmp dword [0x8000], 0x1BADB002
        jne .out
        mov si, s_ok
.out:   call puts
        mov si, s_done
        call puts
        mov al, 0x5F
        out 0x70, al
        in al, 0x71
        and al, 0xFD
        out 0x71, al
        cli
        hlt
puts:   lodsb
        test al, al
        jz .d
        mov ah, 0x0E
        xor bx, bx
        int 0x10
        jmp puts
.d:     ret
phase:  db 1
s_first: db 'first boot, resetting', 13, 10, 0
s_ok:   db 'direct boot: ok', 13, 10, 0
s_fail: db 'direct boot: FAIL', 13, 10, 0
s_done: db 'direct boot done', 13, 10, 0
        times 510 - ($ - $$) db 0
        dw 0xAA55
