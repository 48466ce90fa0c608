; vbe.asm — VESA BIOS Extensions 2.0 (INT 10h AX=4Fxxh) over the Bochs VBE
; "dispi" interface of the board's VGA (index port 0x1CE, data 0x1CF).
;
; Modes are 640x480, 800x600, 1024x768 and 1280x1024 in 8 bits (palette),
; 16 bits (5:6:5) and 32 bits (8:8:8, x8), each with a linear framebuffer
; (the VGA's PCI BAR0, E_LFB) and a 64 KiB window at A000h (bank switching
; through 4F05h). Functions: 00 controller info, 01 mode info, 02 set mode,
; 03 current mode, 05 window control, 06 scan line length, 07 display
; start, 08 DAC width (fixed 6 bits), 09 palette data. Others fail (014Fh).
;
; Called from int10_handler with the register frame at BP, DS = FS = BDA.

VBE_DISPI_ID            equ 0
VBE_DISPI_XRES          equ 1
VBE_DISPI_YRES          equ 2
VBE_DISPI_BPP           equ 3
VBE_DISPI_ENABLE        equ 4
VBE_DISPI_BANK          equ 5
VBE_DISPI_VIRT_WIDTH    equ 6
VBE_DISPI_VIRT_HEIGHT   equ 7
VBE_DISPI_X_OFFSET      equ 8
VBE_DISPI_Y_OFFSET      equ 9
VBE_DISPI_VIDEO_MEM_64K equ 10
VBE_ENABLED             equ 0x01
VBE_LFB_ENABLED         equ 0x40
VBE_NOCLEARMEM          equ 0x80

VBE_OK                  equ 0x004F
VBE_FAIL                equ 0x014F
VBE_BAD_MODE            equ 0x034F  ; invalid in the current video mode

; vbe_write: register AX = DX. vbe_read: AX = register AX.
vbe_write:
        push dx
        push dx
        mov dx, VBE_INDEX
        out dx, ax
        inc dx
        pop ax
        out dx, ax
        pop dx
        ret
vbe_read:
        push dx
        mov dx, VBE_INDEX
        out dx, ax
        inc dx
        in ax, dx
        pop dx
        ret

; vbe_present: CF=0 if the dispi interface answers with an ID B0C0-B0CF.
vbe_present:
        push ax
        mov ax, VBE_DISPI_ID
        call vbe_read
        and al, 0xF0
        cmp ax, 0xB0C0
        pop ax
        je .yes
        stc
        ret
.yes:   clc
        ret

; vbe_vram_64k: AX = video memory in 64 KiB units (16 MiB if not reported).
vbe_vram_64k:
        mov ax, VBE_DISPI_VIDEO_MEM_64K
        call vbe_read
        test ax, ax
        jnz .r
        mov ax, 256
.r:     ret

; vbe_find_mode: CX = mode number (bits 9-15 ignored) -> CS:SI = its
; entry in vbe_modes, CF=1 if there is none.
vbe_find_mode:
        push cx
        and cx, 0x01FF
        mov si, vbe_modes
.next:  cmp word [cs:si], 0xFFFF
        je .none
        cmp [cs:si], cx
        je .found
        add si, VBE_MODE_ENTRY
        jmp .next
.none:  pop cx
        stc
        ret
.found: pop cx
        clc
        ret

; vbe_mode_geometry: CS:SI = mode entry -> EAX = bytes per scan line,
; EDX = bytes of one screen, BL = bytes per pixel.
vbe_mode_geometry:
        movzx ebx, byte [cs:si+6]
        shr bx, 3                   ; bytes per pixel
        movzx eax, word [cs:si+2]
        imul eax, ebx
        movzx edx, word [cs:si+4]
        imul edx, eax
        ret

vbe_dispatch:
        call vbe_present
        jc .fail
        cmp al, 0x00
        je vbe_info
        cmp al, 0x01
        je vbe_mode_info
        cmp al, 0x02
        je vbe_set_mode
        cmp al, 0x03
        je vbe_get_mode
        cmp al, 0x05
        je vbe_window
        cmp al, 0x06
        je vbe_scan_line
        cmp al, 0x07
        je vbe_display_start
        cmp al, 0x08
        je vbe_dac_width
        cmp al, 0x09
        je vbe_palette
.fail:  mov word [bp+R_AX], VBE_FAIL
        ret
vbe_ok: mov word [bp+R_AX], VBE_OK
        ret
vbe_bad_mode:
        mov word [bp+R_AX], VBE_BAD_MODE
        ret

; ---- 4F00: controller information to ES:DI (512 bytes if it says 'VBE2')
vbe_info:
        mov es, [bp+R_ES]
        mov di, [bp+R_DI]
        mov cx, 256
        cmp dword [es:di], 'VBE2'
        jne .clr
        mov cx, 512
.clr:   push di
        xor al, al
        rep stosb
        pop di
        mov dword [es:di+0x00], 'VESA'
        mov word [es:di+0x04], 0x0200           ; VBE 2.0
        mov word [es:di+0x06], str_vbe_oem
        mov word [es:di+0x08], BIOS_SEG
        mov dword [es:di+0x0A], 0               ; DAC fixed at 6 bits
        mov word [es:di+0x0E], vbe_mode_list
        mov word [es:di+0x10], BIOS_SEG
        call vbe_vram_64k
        mov [es:di+0x12], ax
        mov word [es:di+0x14], 0x0001           ; OEM software revision
        mov word [es:di+0x16], str_vbe_vendor
        mov word [es:di+0x18], BIOS_SEG
        mov word [es:di+0x1A], str_vbe_product
        mov word [es:di+0x1C], BIOS_SEG
        mov word [es:di+0x1E], str_vbe_revision
        mov word [es:di+0x20], BIOS_SEG
        jmp vbe_ok

; ---- 4F01: mode CX information to ES:DI (256 bytes) ----------------------
vbe_mode_info:
        call vbe_find_mode
        jc vbe_dispatch.fail
        mov es, [bp+R_ES]
        mov di, [bp+R_DI]
        push di
        mov cx, 256
        xor al, al
        rep stosb
        pop di
        call vbe_mode_geometry      ; EAX = pitch, EDX = screen bytes
        mov [es:di+0x10], ax        ; bytes per scan line
        mov ecx, eax
        call vbe_vram_64k
        movzx eax, ax
        shl eax, 16                 ; video memory in bytes
        mov bx, 0x009B              ; supported, colour, graphics, LFB
        cmp eax, edx
        jae .fits
        and bl, 0xFE                ; does not fit: not supported
        xor eax, eax
        jmp .pages
.fits:  push edx
        mov ebx, edx
        xor edx, edx
        div ebx                     ; screens that fit
        pop edx
        dec eax
        cmp eax, 255
        jbe .p
        mov al, 255
.p:     mov bx, 0x009B
.pages: mov [es:di+0x1D], al        ; image pages - 1
        mov [es:di+0x00], bx        ; mode attributes
        mov byte [es:di+0x02], 0x07 ; window A: exists, readable, writable
        mov word [es:di+0x04], 64   ; granularity, KiB
        mov word [es:di+0x06], 64   ; size, KiB
        mov word [es:di+0x08], 0xA000
        mov word [es:di+0x0C], vbe_window_far
        mov word [es:di+0x0E], BIOS_SEG
        mov ax, [cs:si+2]
        mov [es:di+0x12], ax        ; width
        mov ax, [cs:si+4]
        mov [es:di+0x14], ax        ; height
        mov byte [es:di+0x16], 8    ; character cell
        mov byte [es:di+0x17], 16
        mov byte [es:di+0x18], 1    ; planes
        mov al, [cs:si+6]
        mov [es:di+0x19], al        ; bits per pixel
        mov byte [es:di+0x1A], 1    ; banks
        mov byte [es:di+0x1B], 4    ; packed pixel ...
        mov byte [es:di+0x1E], 1    ; reserved, 1 by the specification
        cmp al, 8
        je .lfb
        mov byte [es:di+0x1B], 6    ; ... or direct colour
        push si
        mov si, vbe_masks16
        cmp al, 16
        je .masks
        mov si, vbe_masks32
.masks: mov cx, 9
        push di
        add di, 0x1F
.m:     mov al, [cs:si]
        mov [es:di], al
        inc si
        inc di
        loop .m
        pop di
        pop si
.lfb:   push es
        mov es, [fs:BDA_EBDA]
        mov eax, [es:E_LFB]
        pop es
        mov [es:di+0x28], eax       ; PhysBasePtr
        jmp vbe_ok

; ---- 4F02: set mode BX (bit 14: linear framebuffer, bit 15: keep memory)
vbe_set_mode:
        mov cx, bx
        and cx, 0x01FF
        cmp cx, 0x100
        jae .vbe
        mov al, cl                  ; a VGA mode
        test bh, 0x80
        jz .vga
        or al, 0x80
.vga:   mov ah, al
        and ah, 0x7F
        cmp ah, 3
        jbe .vok
        cmp ah, 0x12
        je .vok
        cmp ah, 0x13
        jne vbe_dispatch.fail
.vok:   call v_set_mode
        jmp vbe_ok
.vbe:   call vbe_find_mode
        jc vbe_dispatch.fail
        push bx
        call vbe_mode_geometry
        pop bx
        call vbe_vram_64k
        movzx eax, ax
        shl eax, 16
        cmp eax, edx
        jb vbe_dispatch.fail
        mov ax, VBE_DISPI_ENABLE
        xor dx, dx
        call vbe_write
        ; The VGA side as for mode 13h (graphics, chain-4, all planes
        ; writable, A000h 64 KiB): the window at A000h reaches the bank.
        push si
        mov si, vga_mode13
        call vga_load_regs
        pop si
        cmp byte [cs:si+6], 8
        jne .direct
        call vga_load_dac256
.direct:
        mov ax, VBE_DISPI_BPP
        movzx dx, byte [cs:si+6]
        call vbe_write
        mov ax, VBE_DISPI_XRES
        mov dx, [cs:si+2]
        call vbe_write
        mov ax, VBE_DISPI_YRES
        mov dx, [cs:si+4]
        call vbe_write
        mov ax, VBE_DISPI_BANK
        xor dx, dx
        call vbe_write
        mov ax, VBE_DISPI_VIRT_WIDTH
        mov dx, [cs:si+2]
        call vbe_write
        mov ax, VBE_DISPI_X_OFFSET
        xor dx, dx
        call vbe_write
        mov ax, VBE_DISPI_Y_OFFSET
        call vbe_write
        mov dx, VBE_ENABLED
        test bh, 0x40
        jz .win
        or dl, VBE_LFB_ENABLED
.win:   test bh, 0x80
        jz .clear
        or dl, VBE_NOCLEARMEM
.clear: mov ax, VBE_DISPI_ENABLE
        call vbe_write
        mov es, [fs:BDA_EBDA]
        and bx, 0xC1FF
        mov [es:E_VBE_MODE], bx
        mov byte [es:E_VGFX], 1
        jmp vbe_ok

; ---- 4F03: BX = current mode ----------------------------------------------
vbe_get_mode:
        mov es, [fs:BDA_EBDA]
        mov ax, [es:E_VBE_MODE]
        test ax, ax
        jnz .r
        mov al, [BDA_VMODE]
.r:     mov [bp+R_BX], ax
        jmp vbe_ok

; ---- 4F05: window control: BH = 0 set window BL's bank to DX, 1 get ------
vbe_window:
        call vbe_window_common
        jc vbe_bad_mode
        mov [bp+R_DX], dx
        jmp vbe_ok

; vbe_window_common: BH = 0 set / 1 get, BL = window (only A, 0), DX =
; bank -> DX = bank, CF=1 on a bad request or outside a VBE mode.
vbe_window_common:
        push ax
        push es
        mov es, [fs:BDA_EBDA]
        cmp word [es:E_VBE_MODE], 0
        pop es
        je .bad
        test bl, bl
        jnz .bad
        mov ax, VBE_DISPI_BANK
        cmp bh, 1
        je .get
        ja .bad
        call vbe_write
        mov ax, VBE_DISPI_BANK
.get:   call vbe_read
        mov dx, ax
        pop ax
        clc
        ret
.bad:   pop ax
        stc
        ret

; the same as a far routine (mode information WinFuncPtr)
vbe_window_far:
        push fs
        push word BDA_SEG
        pop fs
        call vbe_window_common
        pop fs
        retf

; ---- 4F06: logical scan line: BL = 0 set CX pixels, 1 get, 2 set CX
; bytes, 3 get maximum -> BX = bytes, CX = pixels, DX = lines ------------
vbe_scan_line:
        mov es, [fs:BDA_EBDA]
        cmp word [es:E_VBE_MODE], 0
        je vbe_bad_mode
        mov ax, VBE_DISPI_BPP
        call vbe_read
        shr ax, 3
        jz vbe_dispatch.fail
        mov si, ax                  ; bytes per pixel
        cmp bl, 1
        je .get
        cmp bl, 3
        je .max
        ja vbe_dispatch.fail
        mov dx, cx
        cmp bl, 2
        jne .set
        mov ax, cx
        xor dx, dx
        div si
        mov dx, ax
.set:   mov ax, VBE_DISPI_VIRT_WIDTH
        call vbe_write
.get:   mov ax, VBE_DISPI_VIRT_WIDTH
        call vbe_read
        mov [bp+R_CX], ax
        mul si
        mov [bp+R_BX], ax
        mov ax, VBE_DISPI_VIRT_HEIGHT
        call vbe_read
        mov [bp+R_DX], ax
        jmp vbe_ok
.max:   ; the widest line that still leaves room for the visible lines
        call vbe_vram_64k
        movzx eax, ax
        shl eax, 16
        push eax
        mov ax, VBE_DISPI_YRES
        call vbe_read
        movzx ecx, ax
        pop eax
        xor edx, edx
        div ecx
        cmp eax, 0xFFFF
        jbe .m
        mov eax, 0xFFFF
.m:     xor dx, dx
        div si
        mov [bp+R_CX], ax
        mul si
        mov [bp+R_BX], ax
        jmp vbe_ok

; ---- 4F07: display start: BL = 00h/80h set (CX = pixel, DX = line),
; 01h get ------------------------------------------------------------------
vbe_display_start:
        mov es, [fs:BDA_EBDA]
        cmp word [es:E_VBE_MODE], 0
        je vbe_bad_mode
        and bl, 0x7F
        cmp bl, 1
        je .get
        ja vbe_dispatch.fail
        push dx
        mov dx, cx
        mov ax, VBE_DISPI_X_OFFSET
        call vbe_write
        pop dx
        mov ax, VBE_DISPI_Y_OFFSET
        call vbe_write
        jmp vbe_ok
.get:   mov ax, VBE_DISPI_X_OFFSET
        call vbe_read
        mov [bp+R_CX], ax
        mov ax, VBE_DISPI_Y_OFFSET
        call vbe_read
        mov [bp+R_DX], ax
        mov byte [bp+R_BH], 0
        jmp vbe_ok

; ---- 4F08: DAC palette width: always 6 bits --------------------------------
vbe_dac_width:
        cmp bl, 1
        ja vbe_dispatch.fail
        mov byte [bp+R_BH], 6
        test bl, bl
        jz .set
        jmp vbe_ok
.set:   cmp bh, 6
        jne vbe_dispatch.fail       ; only 6 bits offered
        jmp vbe_ok

; ---- 4F09: palette data: BL = 00h/80h set, 01h get; CX entries from DX;
; ES:DI = table of (blue, green, red, 0) ------------------------------------
vbe_palette:
        mov es, [bp+R_ES]
        and bl, 0x7F
        cmp bl, 1
        ja vbe_dispatch.fail
        mov ax, dx
        add ax, cx
        cmp ax, 256
        ja vbe_dispatch.fail
        mov si, di
        mov al, dl
        jcxz .done
        test bl, bl
        jnz .get
        mov dx, 0x3C8
        out dx, al
        inc dx
.s:     mov al, [es:si+2]
        out dx, al
        mov al, [es:si+1]
        out dx, al
        mov al, [es:si]
        out dx, al
        add si, 4
        loop .s
        jmp vbe_ok
.get:   mov dx, 0x3C7
        out dx, al
        add dx, 2
.g:     in al, dx
        mov [es:si+2], al
        in al, dx
        mov [es:si+1], al
        in al, dx
        mov [es:si], al
        mov byte [es:si+3], 0
        add si, 4
        loop .g
.done:  jmp vbe_ok

; ---- tables -----------------------------------------------------------------
; mode number, width, height, bits per pixel
VBE_MODE_ENTRY equ 7
%macro VBE_MODE 4
        dw %1, %2, %3
        db %4
%endmacro
vbe_modes:
        VBE_MODE 0x101,  640,  480,  8
        VBE_MODE 0x103,  800,  600,  8
        VBE_MODE 0x105, 1024,  768,  8
        VBE_MODE 0x107, 1280, 1024,  8
        VBE_MODE 0x111,  640,  480, 16
        VBE_MODE 0x114,  800,  600, 16
        VBE_MODE 0x117, 1024,  768, 16
        VBE_MODE 0x11A, 1280, 1024, 16
        VBE_MODE 0x140,  640,  480, 32
        VBE_MODE 0x141,  800,  600, 32
        VBE_MODE 0x142, 1024,  768, 32
        VBE_MODE 0x143, 1280, 1024, 32
        dw 0xFFFF
vbe_mode_list:
        dw 0x101, 0x103, 0x105, 0x107, 0x111, 0x114, 0x117, 0x11A
        dw 0x140, 0x141, 0x142, 0x143, 0xFFFF
; red size/position, green, blue, reserved, direct colour flags
vbe_masks16:    db 5, 11, 6, 5, 5, 0, 0, 0, 0
vbe_masks32:    db 8, 16, 8, 8, 8, 0, 8, 24, 0x02
str_vbe_oem:      db 'crane86 VBE', 0
str_vbe_vendor:   db 'crane86', 0
str_vbe_product:  db 'crane86 VGA', 0
str_vbe_revision: db BIOS_VERSION, 0
