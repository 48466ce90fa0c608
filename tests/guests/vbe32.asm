; vbe32.asm — a Bochs VBE mode, 640x480 at 32 bits per pixel, set through
; the "dispi" registers (index 0x1CE, data 0x1CF) with the linear
; framebuffer on, for tests/screens.rs. The framebuffer's address is the
; first memory BAR of the PCI display (vendor 1234h, device 1111h; at
; E0000000h on crane86); the guest finds it on bus 0 and draws in 32-bit
; protected mode the gradient
;     red = 255 * x / 639,  green = 255 * y / 479,  blue = (x + y) mod 256.

%include "guest.inc"

XRES    equ 640
YRES    equ 480

main:   ; find the display on PCI bus 0 (mechanism #1)
        mov ebx, 0x80000000         ; bus 0, device 0, function 0
.scan:  mov eax, ebx
        mov dx, 0xCF8
        out dx, eax
        mov dx, 0xCFC
        in eax, dx
        cmp eax, 0x11111234
        je .found
        add ebx, 0x800              ; next device
        cmp ebx, 0x80010000
        jb .scan
        mov dword [lfb], 0xE0000000 ; not found: crane86's address
        jmp .mode
.found: lea eax, [ebx + 0x10]       ; BAR0
        mov dx, 0xCF8
        out dx, eax
        mov dx, 0xCFC
        in eax, dx
        and eax, 0xFFFFFFF0
        mov [lfb], eax
.mode:  mov si, dispi
.reg:   lodsw                       ; index, value pairs until index FFFFh
        cmp ax, 0xFFFF
        je .pm
        mov dx, 0x1CE
        out dx, ax
        lodsw
        mov dx, 0x1CF
        out dx, ax
        jmp .reg

.pm:    cli
        lgdt [gdt_desc]
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp 0x08:.pm32
        bits 32
.pm32:  mov ax, 0x10
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov edi, [lfb]
        xor edx, edx                ; y
.row:   xor ecx, ecx                ; x
.col:   mov eax, ecx
        imul eax, 255
        push edx
        xor edx, edx
        mov ebx, XRES - 1
        div ebx                     ; EAX = red
        pop edx
        mov esi, eax
        shl esi, 16
        mov eax, edx
        imul eax, 255
        push edx
        xor edx, edx
        mov ebx, YRES - 1
        div ebx                     ; EAX = green
        pop edx
        shl eax, 8
        or esi, eax
        lea eax, [ecx + edx]
        movzx eax, al               ; blue
        or eax, esi
        stosd
        inc ecx
        cmp ecx, XRES
        jb .col
        inc edx
        cmp edx, YRES
        jb .row
        ; back to real mode for DONE (through a 16-bit segment)
        jmp 0x18:.pm16
        bits 16
.pm16:  mov ax, 0x20
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov eax, cr0
        and al, 0xFE
        mov cr0, eax
        jmp 0:.real
.real:  xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        DONE

lfb:    dd 0
dispi:  dw 4, 0                     ; disable while setting up
        dw 1, XRES
        dw 2, YRES
        dw 3, 32
        dw 4, 0x41                  ; enable, linear framebuffer
        dw 0xFFFF

        align 8
gdt:    dq 0
        dq 0x00CF9A000000FFFF       ; 08: code, flat, 32-bit
        dq 0x00CF92000000FFFF       ; 10: data, flat, 32-bit
        dq 0x00009A000000FFFF       ; 18: code, 64 KiB, 16-bit
        dq 0x000092000000FFFF       ; 20: data, 64 KiB, 16-bit
gdt_desc:
        dw gdt_desc - gdt - 1
        dd gdt

GUEST_END
