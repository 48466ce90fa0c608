; int10.asm — INT 10h video services of a VGA BIOS.
;
; Text mode 3 (80x25, 16 colours, 8 pages of 4 KiB at B800:0000) with the
; cursor through the CRTC (ports 0x3D4/0x3D5) and the BDA video fields;
; graphics modes 12h (640x480x16, planar) and 13h (320x200x256); pixels,
; palette registers and the DAC; the VESA extensions (AH=4Fh, vbe.asm).
; Every mode set programs the VGA registers in full (vga_load_regs).
; Text written by teletype (0Eh, 13h) and by 09h/0Ah is echoed to COM1,
; see tty_echo; in graphics modes text is not drawn, only echoed and
; tracked (cursor position).

VCOLS   equ 80
VROWS   equ 25
VPAGE_BYTES equ 0x1000

int10_handler:
        cld
        FRAME_ENTER
        push word BDA_SEG
        pop ds
        push word BDA_SEG
        pop fs                      ; FS = BDA even while DS points at video
        cmp ah, 0x13
        ja .high
        movzx si, ah
        add si, si
        call [cs:int10_table+si]
        FRAME_LEAVE
.high:  cmp ah, 0x1A
        jne .vbe
        call v_display_combination
        FRAME_LEAVE
.vbe:   cmp ah, 0x4F
        jne .out
        call vbe_dispatch
.out:   FRAME_LEAVE

int10_table:
        dw v_set_mode               ; 00
        dw v_cursor_shape           ; 01
        dw v_set_cursor             ; 02
        dw v_get_cursor             ; 03
        dw v_light_pen              ; 04
        dw v_set_page               ; 05
        dw v_scroll_up              ; 06
        dw v_scroll_down            ; 07
        dw v_read_char              ; 08
        dw v_write_char_attr        ; 09
        dw v_write_char             ; 0A
        dw v_nop                    ; 0B CGA palette
        dw v_write_pixel            ; 0C
        dw v_read_pixel             ; 0D
        dw v_teletype               ; 0E
        dw v_get_mode               ; 0F
        dw v_palette                ; 10
        dw v_font                   ; 11
        dw v_alt_select             ; 12
        dw v_write_string           ; 13

v_nop:
        ret

; ---- helpers (DS = FS = BDA on entry unless stated) -----------------------

; v_crtc_write: AL = CRTC register, AH = value.
v_crtc_write:
        push dx
        mov dx, CRTC_INDEX
        out dx, al
        inc dx
        xchg al, ah
        out dx, al
        xchg al, ah
        pop dx
        ret

; v_cell: DH = row, DL = column, BL = page -> DI = offset in segment B800.
v_cell:
        push ax
        movzx di, bl
        and di, 7
        shl di, 12
        mov al, dh
        mov ah, VCOLS
        mul ah
        add al, dl
        adc ah, 0
        add ax, ax
        add di, ax
        pop ax
        ret

; v_sync_cursor: move the hardware cursor to the active page's position.
v_sync_cursor:
        push ax
        push bx
        push dx
        movzx bx, byte [fs:BDA_VPAGE]
        add bx, bx
        mov dx, [fs:bx+BDA_CURPOS]
        shl bx, 10                  ; page * 0x800 character cells
        mov al, dh
        mov ah, VCOLS
        mul ah
        add al, dl
        adc ah, 0
        add bx, ax
        mov al, 0x0E
        mov ah, bh
        call v_crtc_write
        mov al, 0x0F
        mov ah, bl
        call v_crtc_write
        pop dx
        pop bx
        pop ax
        ret

; ---- AH=00: set mode -------------------------------------------------------
; Modes 0-3 give the 80x25 colour text mode (the BDA reports mode 3), 12h
; is 640x480 in 16 colours (four planes), 13h is 320x200 in 256 colours
; (chain-4). AL bit 7 keeps the video memory. Other modes are refused and
; leave the current mode alone. A VBE mode in use is switched off first.
v_set_mode:
        mov ah, al                  ; bit 7 = keep screen contents
        and al, 0x7F
        cmp al, 3
        jbe .text
        cmp al, 0x12
        je .m12
        cmp al, 0x13
        je .m13
        ret
.m12:   mov si, vga_mode12
        mov bx, 80                  ; columns
        mov cx, 0xA000              ; page size
        mov dx, (29 << 8) | 16      ; rows - 1, character height
        jmp .gfx
.m13:   mov si, vga_mode13
        mov bx, 40
        mov cx, 0xFA00
        mov dx, (24 << 8) | 8
.gfx:   call vbe_disable
        push es
        mov es, [BDA_EBDA]
        mov byte [es:E_VGFX], 1
        pop es
        mov [BDA_VMODE], al
        mov [BDA_VCOLS], bx
        mov [BDA_VPAGESIZE], cx
        mov [BDA_VROWS], dh
        mov [BDA_VCHARH], dl
        mov byte [BDA_VCHARH+1], 0
        call v_mode_common
        call vga_load_regs
        cmp al, 0x13
        je .dac256
        call vga_load_dac64
        jmp .clr
.dac256:
        call vga_load_dac256
.clr:   test ah, 0x80
        jnz .r
        mov ax, 0xA000              ; all four planes are write-enabled
        mov es, ax
        xor di, di
        xor ax, ax
        mov cx, 0x8000
        rep stosw
.r:     ret
.text:  call vbe_disable
        push es
        mov es, [BDA_EBDA]
        mov byte [es:E_VGFX], 0
        pop es
        mov byte [BDA_VMODE], 3
        mov word [BDA_VCOLS], VCOLS
        mov word [BDA_VPAGESIZE], VPAGE_BYTES
        mov byte [BDA_VROWS], VROWS - 1
        mov word [BDA_VCHARH], 16
        call v_mode_common
        mov si, vga_mode3
        call vga_load_regs
        call vga_load_dac64
        call vga_load_rom_font      ; graphics modes may have overwritten it
        test ah, 0x80
        jnz .keep
        mov ax, 0xB800
        mov es, ax
        xor di, di
        mov ax, 0x0720              ; blank, light grey on black
        mov cx, 8 * VPAGE_BYTES / 2
        rep stosw
.keep:  mov ax, 0x000C              ; display start = page 0
        call v_crtc_write
        mov al, 0x0D
        call v_crtc_write
        mov cx, 0x0607              ; cursor lines 6..7 (CGA numbering)
        call v_cursor_shape
        call v_sync_cursor
        ret

; v_mode_common: BDA fields every mode set resets. Preserves AX.
v_mode_common:
        push ax
        push cx
        push di
        push es
        mov word [BDA_VPAGESTART], 0
        push ds
        pop es
        mov di, BDA_CURPOS
        xor ax, ax
        mov cx, 8
        rep stosw
        mov byte [BDA_VPAGE], 0
        mov word [BDA_CRTCBASE], CRTC_INDEX
        mov byte [BDA_VMSR], 0x29
        mov byte [BDA_VPALETTE], 0x30
        mov byte [BDA_VCTL], 0x60
        mov byte [BDA_VSWITCHES], 0x09
        mov byte [BDA_VFLAGS], 0x51
        pop es
        pop di
        pop cx
        pop ax
        ret

; v_gfx: ZF=0 when a graphics mode is set (no text buffer to read or
; write), ZF=1 in text mode. Uses FS = BDA.
v_gfx:
        push es
        mov es, [fs:BDA_EBDA]
        cmp byte [es:E_VGFX], 0
        pop es
        ret

; vga_load_regs: program the VGA from the mode table at CS:SI: misc output,
; sequencer 1-4, CRTC 0-24, graphics controller 0-8, attribute controller
; 0-20. The character generator (plane 2) is loaded separately, by
; vga_load_rom_font. Preserves AX.
vga_load_regs:
        push ax
        push cx
        push dx
        push si
        mov dx, 0x3C2
        mov al, [cs:si]             ; misc output
        out dx, al
        inc si
        mov dx, 0x3C4               ; sequencer (held in reset meanwhile)
        mov ax, 0x0100
        call .idx
        mov ah, 1
        mov cx, 4
.seq:   call .tbl
        loop .seq
        mov ax, 0x0300
        call .idx
        mov dx, CRTC_INDEX
        mov ax, 0x0E11              ; unlock CRTC registers 0-7
        call .idx
        xor ah, ah
        mov cx, 25
.crtc:  call .tbl
        loop .crtc
        mov dx, 0x3CE               ; graphics controller
        xor ah, ah
        mov cx, 9
.gc:    call .tbl
        loop .gc
        mov dx, 0x3DA               ; reset the attribute flip-flop
        in al, dx
        mov dx, 0x3C0
        xor ah, ah
.ac:    mov al, ah
        out dx, al
        mov al, [cs:si]
        out dx, al
        inc si
        inc ah
        cmp ah, 21
        jb .ac
        mov al, 0x20                ; palette set up: show the screen
        out dx, al
        pop si
        pop dx
        pop cx
        pop ax
        ret
.idx:   ; DX = index port, AL = index, AH = value
        out dx, al
        inc dx
        xchg al, ah
        out dx, al
        xchg al, ah
        dec dx
        ret
.tbl:   ; index AH gets [CS:SI]; advance both
        mov al, ah
        out dx, al
        inc dx
        mov al, [cs:si]
        out dx, al
        dec dx
        inc si
        inc ah
        ret

; vga_load_dac64: DAC entries 0-63 = the EGA-compatible 64-colour palette
; (colour i has bits rgbRGB: upper case counts 2/3, lower case 1/3).
; Preserves AX.
vga_load_dac64:
        push ax
        push dx
        mov dx, 0x3C8
        xor al, al
        out dx, al
        inc dx
        xor ah, ah
.dac:   call vga_dac_ega
        inc ah
        cmp ah, 64
        jb .dac
        pop dx
        pop ax
        ret

; vga_dac_ega: AH = 6-bit EGA colour -> its red, green, blue to port DX.
vga_dac_ega:
        push cx
        mov cl, 2                   ; red: bits 2 and 5
        call .comp
        mov cl, 1                   ; green: bits 1 and 4
        call .comp
        mov cl, 0                   ; blue: bits 0 and 3
        call .comp
        pop cx
        ret
.comp:  push ax
        mov al, ah
        shr al, cl
        mov ch, al
        xor al, al
        test ch, 1
        jz .c1
        add al, 0x2A
.c1:    test ch, 8
        jz .c2
        add al, 0x15
.c2:    out dx, al
        pop ax
        ret

; vga_load_dac256: the standard 256-colour palette: the 16 EGA colours,
; 16 greys, then 9 blocks of 24 hues (3 intensities x 3 saturations),
; then 8 black entries. Preserves AX.
vga_load_dac256:
        push ax
        push bx
        push cx
        push dx
        push si
        push di
        mov dx, 0x3C8
        xor al, al
        out dx, al
        inc dx
        xor bx, bx
.ega:   mov ah, [cs:vga_mode3_ac+bx] ; the text attribute palette
        call vga_dac_ega
        inc bx
        cmp bx, 16
        jb .ega
        xor bx, bx
.grey:  mov al, [cs:vga_greys+bx]
        out dx, al
        out dx, al
        out dx, al
        inc bx
        cmp bx, 16
        jb .grey
        mov bx, vga_levels
        mov cx, 9
.blk:   push cx
        mov si, vga_hues
        mov cx, 24 * 3
.hue:   movzx di, byte [cs:si]
        mov al, [cs:bx+di]
        out dx, al
        inc si
        loop .hue
        add bx, 5
        pop cx
        loop .blk
        mov cx, 8 * 3
        xor al, al
.blk0:  out dx, al
        loop .blk0
        pop di
        pop si
        pop dx
        pop cx
        pop bx
        pop ax
        ret

; vbe_disable: leave any Bochs VBE mode (back to the VGA registers).
; Preserves all registers.
vbe_disable:
        push ax
        push dx
        push es
        mov es, [fs:BDA_EBDA]
        mov word [es:E_VBE_MODE], 0
        call vbe_present
        jc .r
        mov ax, VBE_DISPI_ENABLE
        xor dx, dx
        call vbe_write
.r:     pop es
        pop dx
        pop ax
        ret

; ---- AH=01: cursor shape (CH = start line, CL = end line) ----------------
; The BDA keeps the shape as given; lines 0-7 of an 8-line CGA cell are
; scaled to the 16-line VGA cell. CH bit 5 hides the cursor.
v_cursor_shape:
        mov [fs:BDA_CURSHAPE], cx
        mov ah, ch
        mov al, cl
        and ah, 0x1F
        cmp ah, 7
        ja .as_is
        cmp al, 7
        ja .as_is
        shl ah, 1                   ; start: 2n + 1, end: 2n
        inc ah
        shl al, 1
        jmp .out
.as_is: mov al, cl
.out:   and ch, 0x20
        or ah, ch
        push ax
        mov al, 0x0A
        call v_crtc_write
        pop ax
        mov ah, al
        mov al, 0x0B
        call v_crtc_write
        ret

; ---- AH=02: set cursor position (BH = page, DH = row, DL = column) -------
v_set_cursor:
        movzx si, bh
        and si, 7
        add si, si
        mov [si+BDA_CURPOS], dx
        cmp bh, [BDA_VPAGE]
        jne .r
        call v_sync_cursor
.r:     ret

; ---- AH=03: get cursor (BH = page) -> CX = shape, DX = position ----------
v_get_cursor:
        movzx si, bh
        and si, 7
        add si, si
        mov ax, [si+BDA_CURPOS]
        mov [bp+R_DX], ax
        mov ax, [BDA_CURSHAPE]
        mov [bp+R_CX], ax
        ret

; ---- AH=04: light pen: never triggered ------------------------------------
v_light_pen:
        mov byte [bp+R_AH], 0
        ret

; ---- AH=05: select active page (AL) ---------------------------------------
v_set_page:
        cmp al, 7
        ja .r
        mov [BDA_VPAGE], al
        movzx ax, al
        shl ax, 12
        mov [BDA_VPAGESTART], ax
        shr ax, 1                   ; CRTC counts character cells
        mov bx, ax
        mov al, 0x0C
        mov ah, bh
        call v_crtc_write
        mov al, 0x0D
        mov ah, bl
        call v_crtc_write
        call v_sync_cursor
.r:     ret

; ---- AH=06/07: scroll a window of the active page ------------------------
; AL = lines (0 = clear), BH = fill attribute, CH/CL = top row/left column,
; DH/DL = bottom row/right column.
v_scroll_up:
        xor si, si
        jmp v_scroll
v_scroll_down:
        mov si, 1
v_scroll:
        call v_gfx                  ; graphics modes: nothing to move
        jz .text
        ret
.text:  push ax
        mov ax, 0xB800
        mov es, ax
        mov ds, ax
        pop ax
        cmp dh, VROWS - 1
        jbe .1
        mov dh, VROWS - 1
.1:     cmp dl, VCOLS - 1
        jbe .2
        mov dl, VCOLS - 1
.2:     cmp ch, dh
        ja .done
        cmp cl, dl
        ja .done
        mov ah, dh
        sub ah, ch
        inc ah                      ; AH = window height
        test al, al
        jz .all
        cmp al, ah
        jbe .n
.all:   mov al, ah                  ; AL = lines to move by
.n:     mov bl, dl
        sub bl, cl
        inc bl                      ; BL = window width
        test si, si
        jnz .down
        mov ah, ch                  ; AH = destination row, top to bottom
.up:    cmp ah, dh
        ja .done
        push ax
        add al, ah                  ; source row
        cmp al, dh
        ja .upfill
        call v_copy_row
        jmp .upnext
.upfill:
        call v_fill_row
.upnext:
        pop ax
        inc ah
        jmp .up
.down:  mov ah, dh                  ; destination row, bottom to top
.dn:    push ax
        mov dl, ah
        sub dl, al                  ; source row
        jc .dnfill
        cmp dl, ch
        jb .dnfill
        mov al, dl
        call v_copy_row
        jmp .dnnext
.dnfill:
        call v_fill_row
.dnnext:
        pop ax
        cmp ah, ch
        je .done
        dec ah
        jmp .dn
.done:  ret

; v_rowcol: AL = row, CL = column -> AX = offset in the active page.
v_rowcol:
        push dx
        mov ah, VCOLS
        mul ah
        movzx dx, cl
        add ax, dx
        add ax, ax
        add ax, [fs:BDA_VPAGESTART]
        pop dx
        ret

; v_copy_row: row AL -> row AH, from column CL, BL cells (DS = ES = B800).
v_copy_row:
        push ax
        push cx
        push si
        push di
        push ax
        call v_rowcol
        mov si, ax
        pop ax
        mov al, ah
        call v_rowcol
        mov di, ax
        movzx cx, bl
        rep movsw
        pop di
        pop si
        pop cx
        pop ax
        ret

; v_fill_row: blank row AH from column CL, BL cells, attribute BH.
v_fill_row:
        push ax
        push cx
        push di
        mov al, ah
        call v_rowcol
        mov di, ax
        movzx cx, bl
        mov ah, bh
        mov al, ' '
        rep stosw
        pop di
        pop cx
        pop ax
        ret

; ---- AH=08: read character and attribute at the cursor of page BH ---------
v_read_char:
        call v_gfx
        jz .text
        mov word [bp+R_AX], 0
        ret
.text:  mov bl, bh
        movzx si, bh
        and si, 7
        add si, si
        mov dx, [si+BDA_CURPOS]
        call v_cell
        mov ax, 0xB800
        mov es, ax
        mov ax, [es:di]
        mov [bp+R_AX], ax
        ret

; ---- AH=09/0A: write AL CX times at the cursor of page BH (no advance) ---
; 09 also sets attribute BL. For COM1, a single character is echoed (and
; remembered, so an immediately following teletype of the same character
; at the same place is not echoed twice); runs of a non-blank character are
; echoed up to a line's worth; blank fills are not echoed.
v_write_char_attr:
        mov ah, bl
        mov bl, 1                   ; write the attribute too
        jmp v_write_common
v_write_char:
        xor bl, bl
v_write_common:
        push bx
        movzx si, bh
        and si, 7
        add si, si
        mov dx, [si+BDA_CURPOS]
        mov bl, bh
        call v_cell
        push ax
        mov al, dh                  ; cells left on the page
        mov ah, VCOLS
        mul ah
        add al, dl
        adc ah, 0
        mov si, VCOLS * VROWS
        sub si, ax
        pop ax
        mov bx, 0xB800
        mov es, bx
        pop bx
        push cx
        cmp cx, si
        jbe .cnt
        mov cx, si
.cnt:   jcxz .echo
        call v_gfx
        jnz .echo
        test bl, bl
        jz .charonly
        rep stosw
        jmp .echo
.charonly:
        stosb
        inc di
        loop .charonly
.echo:  pop cx
        cmp al, 0x20
        jb .r
        cmp al, 0x7F
        jae .r
        cmp cx, 1
        jne .run
        call tty_echo
        mov es, [BDA_EBDA]
        mov byte [es:E_W9_VALID], 1
        mov [es:E_W9_CHAR], al
        mov bl, [bp+R_BH]
        mov [es:E_W9_PAGE], bl
        mov [es:E_W9_POS], dx
        ret
.run:   cmp al, ' '
        je .r
        cmp cx, VCOLS
        jbe .loop
        mov cx, VCOLS
.loop:  call tty_echo
        loop .loop
.r:     ret

; ---- AH=0E: teletype output of AL on the active page ----------------------
v_teletype:
        mov bl, [BDA_VPAGE]
        call v_tty
        mov es, [BDA_EBDA]
        cmp byte [es:E_W9_VALID], 0
        je .echo
        mov byte [es:E_W9_VALID], 0
        cmp al, [es:E_W9_CHAR]
        jne .echo
        cmp bl, [es:E_W9_PAGE]
        jne .echo
        cmp dx, [es:E_W9_POS]       ; v_tty left the old position in DX
        je .r
.echo:  call tty_echo
.r:     ret

; v_tty: AL = character, BL = page. Interprets BEL, BS, LF and CR, writes
; other characters keeping the cell's attribute, wraps and scrolls.
; Returns DX = the cursor position before the character.
; Preserves AX, BX.
v_tty:
        push ax
        push cx
        push si
        push di
        push es
        mov cx, 0xB800
        mov es, cx
        movzx si, bl
        and si, 7
        add si, si
        mov dx, [fs:si+BDA_CURPOS]
        push dx
        cmp al, 0x0D
        je .cr
        cmp al, 0x0A
        je .lf
        cmp al, 0x08
        je .bs
        cmp al, 0x07
        je .store                   ; bell: nothing to draw
        call v_gfx
        jnz .adv
        call v_cell
        mov [es:di], al
.adv:   inc dl
        cmp dl, VCOLS
        jb .store
        xor dl, dl
.lf:    inc dh
        cmp dh, VROWS - 1
        jbe .store
        mov dh, VROWS - 1
        call v_gfx
        jnz .store
        call v_scroll_page
        jmp .store
.cr:    xor dl, dl
        jmp .store
.bs:    test dl, dl
        jz .store
        dec dl
.store: mov [fs:si+BDA_CURPOS], dx
        cmp bl, [fs:BDA_VPAGE]
        jne .nosync
        call v_sync_cursor
.nosync:
        pop dx
        pop es
        pop di
        pop si
        pop cx
        pop ax
        ret

; v_scroll_page: scroll page BL up one line; the new bottom line takes the
; attribute of the cell at the cursor (DH = last row, DL = column).
; ES = B800.
v_scroll_page:
        push ax
        push cx
        push si
        push di
        push ds
        call v_cell
        mov ah, [es:di+1]
        movzx di, bl
        and di, 7
        shl di, 12
        mov si, di
        add si, VCOLS * 2
        push es
        pop ds
        mov cx, VCOLS * (VROWS - 1)
        rep movsw
        mov al, ' '
        mov cx, VCOLS
        rep stosw
        pop ds
        pop di
        pop si
        pop cx
        pop ax
        ret

; ---- AH=0C/0D: write / read a pixel (modes 12h and 13h) ------------------
; AL = colour (0C; in mode 12h bit 7 XORs), BH = page, CX = x, DX = y.
v_pixel_addr:                       ; -> ES:DI = byte, AH = bit mask (12h)
        mov ax, 0xA000
        mov es, ax
        mov ax, dx
        cmp byte [BDA_VMODE], 0x13
        jne .planar
        cmp cx, 320
        jae .bad
        cmp dx, 200
        jae .bad
        imul di, ax, 320
        add di, cx
        clc
        ret
.planar:
        cmp cx, 640
        jae .bad
        cmp dx, 480
        jae .bad
        imul di, ax, 80
        mov ax, cx
        shr ax, 3
        add di, ax
        mov ah, 0x80
        and cl, 7
        shr ah, cl
        clc
        ret
.bad:   stc
        ret

v_write_pixel:
        mov al, [BDA_VMODE]
        cmp al, 0x12
        jb .r
        cmp al, 0x13
        ja .r
        call v_pixel_addr
        jc .r
        mov bl, [bp+R_AL]
        cmp byte [BDA_VMODE], 0x13
        jne .planar
        mov [es:di], bl
.r:     ret
.planar:
        mov dx, 0x3CE
        mov al, 0x08                ; bit mask: this pixel only
        out dx, ax
        mov ax, 0x0205              ; write mode 2: colour from the CPU byte
        out dx, ax
        mov ax, 0x0003              ; replace, or XOR with AL bit 7
        test bl, 0x80
        jz .rot
        mov ah, 0x18
.rot:   out dx, ax
        mov al, [es:di]             ; load the latches
        mov al, bl
        and al, 0x0F
        mov [es:di], al
        mov ax, 0xFF08              ; back to the mode's defaults
        out dx, ax
        mov ax, 0x0005
        out dx, ax
        mov ax, 0x0003
        out dx, ax
        ret

v_read_pixel:
        mov byte [bp+R_AL], 0
        mov al, [BDA_VMODE]
        cmp al, 0x12
        jb .r
        cmp al, 0x13
        ja .r
        call v_pixel_addr
        jc .r
        cmp byte [BDA_VMODE], 0x13
        jne .planar
        mov al, [es:di]
        mov [bp+R_AL], al
.r:     ret
.planar:
        mov bl, ah                  ; mask
        xor bh, bh                  ; colour
        mov dx, 0x3CE
        mov cx, 0x0304              ; read map select, plane 3 down to 0
.plane: mov ax, cx
        out dx, ax
        shl bh, 1
        test [es:di], bl
        jz .z
        or bh, 1
.z:     dec ch
        jns .plane
        mov ax, 0x0004
        out dx, ax
        mov [bp+R_AL], bh
        ret

; ---- AH=10: palette registers and the DAC -----------------------------------
; AL = 00 set palette register BL to BH, 01 overscan BH, 02 all 17 from
; ES:DX, 03 blink toggle (ignored), 07 read register BL -> BH, 08 overscan
; -> BH, 10 DAC register BX = DH/CH/CL (red/green/blue), 12 DAC block BX,
; CX entries from ES:DX, 15 read DAC register BX, 17 read block.
v_palette:
        mov es, [bp+R_ES]
        cmp al, 0x00
        je .set1
        cmp al, 0x01
        je .over
        cmp al, 0x02
        je .all
        cmp al, 0x07
        je .get1
        cmp al, 0x08
        je .getover
        cmp al, 0x10
        je .dac1
        cmp al, 0x12
        je .dacset
        cmp al, 0x15
        je .dacget1
        cmp al, 0x17
        je .dacget
        ret
.over:  mov bl, 0x11
.set1:  cmp bl, 0x14
        ja .r
        mov al, bl
        mov ah, bh
        call v_ac_write
.r:     ret
.all:   mov si, dx
        xor bl, bl
.alln:  mov al, bl
        mov ah, [es:si]
        call v_ac_write
        inc si
        inc bl
        cmp bl, 0x10
        jb .alln
        mov al, 0x11
        mov ah, [es:si]
        jmp v_ac_write
.getover:
        mov bl, 0x11
.get1:  cmp bl, 0x14
        ja .r
        mov dx, 0x3DA
        in al, dx
        mov dx, 0x3C0
        mov al, bl
        out dx, al
        inc dx
        in al, dx
        mov [bp+R_BH], al
        mov dx, 0x3DA
        in al, dx
        mov dx, 0x3C0
        mov al, 0x20
        out dx, al
        ret
.dac1:  mov al, bl
        mov dx, 0x3C8
        out dx, al
        inc dx
        mov al, [bp+R_DH]
        out dx, al
        mov al, ch
        out dx, al
        mov al, cl
        out dx, al
        ret
.dacset:
        mov si, dx
        mov al, bl
        mov dx, 0x3C8
        out dx, al
        inc dx
        imul cx, cx, 3
        jcxz .r
.ds:    mov al, [es:si]
        out dx, al
        inc si
        loop .ds
        ret
.dacget1:
        mov al, bl
        mov dx, 0x3C7
        out dx, al
        add dx, 2
        in al, dx
        mov [bp+R_DH], al
        in al, dx
        mov [bp+R_CH], al
        in al, dx
        mov [bp+R_CL], al
        ret
.dacget:
        mov di, dx
        mov al, bl
        mov dx, 0x3C7
        out dx, al
        add dx, 2
        imul cx, cx, 3
        jcxz .r2
.dg:    in al, dx
        mov [es:di], al
        inc di
        loop .dg
.r2:    ret

; v_ac_write: attribute controller register AL = AH, display left on.
v_ac_write:
        push dx
        push ax
        mov dx, 0x3DA
        in al, dx
        mov dx, 0x3C0
        pop ax
        out dx, al
        xchg al, ah
        out dx, al
        xchg al, ah
        push ax
        mov al, 0x20
        out dx, al
        pop ax
        pop dx
        ret

; ---- AH=0F: current mode -> AL = mode, AH = columns, BH = active page -----
v_get_mode:
        mov al, [BDA_VMODE]
        mov ah, [BDA_VCOLS]
        mov [bp+R_AX], ax
        mov al, [BDA_VPAGE]
        mov [bp+R_BH], al
        ret

; ---- AH=11: character generator ----------------------------------------------
; Text modes only (in a graphics mode AL=00h-14h do nothing):
;   AL=00h/10h  load a user font: ES:BP = glyphs, CX = count, DX = first
;               character, BL = block (0-7), BH = bytes per glyph (1-32);
;   AL=03h      select blocks (sequencer register 3 = BL);
;   AL=04h/14h  load the ROM's 8x16 font into block BL.
; The 1xh forms also set the screen up for the font's height; this BIOS
; only has the 25-row text mode, so that is done for 16-line fonts only
; (character height 16, 25 rows; other heights are loaded as for 0xh).
;   AL=30h      font information: CX = bytes per character of the current
;               font, DL = rows - 1, ES:BP = the table BH asks for:
;               0 INT 1Fh vector, 1 INT 43h vector, 6 the ROM 8x16 font,
;               5/7 the 9-dot alternates (an empty list: this font needs
;               none); 2-4 (8x14, 8x8) are not in this ROM: 0000:0000.
; AL=01h/02h/11h/12h (8x14, 8x8 ROM fonts) and 20h-24h are not supported.
v_font:
        cmp al, 0x30
        je .info
        call v_gfx
        jnz .r
        cmp al, 0x03
        je .select
        mov ah, al
        and al, 0xEF                ; 1xh -> 0xh
        cmp al, 0x04
        je .rom
        test al, al
        jne .r
        push ds
        mov ds, [bp+R_ES]
        mov si, [bp+R_BP]
        call vga_font_load
        pop ds
        jmp .recalc
.rom:   push ds
        push cs
        pop ds
        mov si, vga_font8x16
        mov cx, 256
        xor dx, dx
        mov bh, 16
        call vga_font_load
        pop ds
.recalc:
        test ah, 0x10
        jz .r
        cmp bh, 16
        jne .r
        mov word [BDA_VCHARH], 16
        mov byte [BDA_VROWS], VROWS - 1
        mov dx, CRTC_INDEX
        mov al, 0x09                ; maximum scan line = 15
        out dx, al
        inc dx
        in al, dx
        and al, 0xE0
        or al, 0x0F
        out dx, al
        mov ax, 0x8F12              ; vertical display end: 400 lines
        call v_crtc_write
        mov cx, 0x0607              ; underline cursor
        jmp v_cursor_shape
.select:
        mov dx, 0x3C4
        mov al, 0x03                ; character map select
        mov ah, bl
        jmp vga_load_regs.idx
.info:  mov ax, [BDA_VCHARH]
        mov [bp+R_CX], ax
        mov al, [BDA_VROWS]
        mov [bp+R_DL], al
        xor ax, ax                  ; segment
        xor dx, dx                  ; offset
        cmp bh, 1
        ja .tab
        push es
        mov es, ax
        movzx si, bh                ; 0: INT 1Fh, 1: INT 43h
        imul si, si, (0x43 - 0x1F) * 4
        les dx, [es:si+0x1F*4]
        mov ax, es
        pop es
        jmp .set
.tab:   cmp bh, 6
        jne .alt
        mov ax, BIOS_SEG
        mov dx, vga_font8x16
        jmp .set
.alt:   cmp bh, 5
        je .none
        cmp bh, 7
        jne .set
.none:  mov ax, BIOS_SEG
        mov dx, vga_font_no_alt
.set:   mov [bp+R_ES], ax
        mov [bp+R_BP], dx
.r:     ret

; vga_load_rom_font: the ROM's 8x16 font into block 0 of plane 2 (every
; text-mode set does this: graphics modes use plane 2 as picture memory).
; Preserves all registers.
vga_load_rom_font:
        pushad
        push ds
        push cs
        pop ds
        mov si, vga_font8x16
        mov cx, 256
        xor dx, dx
        mov bx, 0x1000              ; 16 bytes per glyph, block 0
        call vga_font_load
        pop ds
        popad
        ret

; vga_font_load: copy CX glyphs of BH bytes (0 counts as 16, more than 32
; as 32) from DS:SI into font block BL (0-7) of plane 2, from character DX
; on. Each glyph has a 32-byte slot; the rest of the slot is zeroed. Plane
; 2 is reached the standard way: sequencer map mask 4 (plane 2 only) and
; memory mode 7 (odd/even off), graphics controller read map 2, mode 0
; and misc 4 (A0000, 64 KiB, no odd/even); afterwards the text-mode values
; come back (map mask 3, memory mode 2, read map 0, mode 10h, misc 0Eh).
; Preserves all registers.
vga_font_load:
        pushad
        push es
        push dx
        push si
        mov si, vga_plane2_open
        call vga_seq_gc
        pop si
        pop dx
        push word 0xA000
        pop es
        movzx di, bl                ; block n: (n & 3) * 16 KiB + (n & 4) * 2 KiB
        and di, 3
        shl di, 14
        test bl, 4
        jz .blk
        or di, 0x2000
.blk:   mov ax, dx
        shl ax, 5
        add di, ax
        movzx bx, bh
        test bx, bx
        jnz .h
        mov bl, 16
.h:     cmp bx, 32
        jbe .go
        mov bx, 32
.go:    jcxz .done
.glyph: push cx
        mov cx, bx
        rep movsb
        mov cx, 32
        sub cx, bx
        xor al, al
        rep stosb
        pop cx
        loop .glyph
.done:  mov si, vga_plane2_close
        call vga_seq_gc
        pop es
        popad
        ret

; vga_seq_gc: from CS:SI, (index, value) pairs for the sequencer then for
; the graphics controller, each list ended by FFh, FFh. Clobbers AX, DX,
; SI.
vga_seq_gc:
        mov dx, 0x3C4
        call .list
        mov dx, 0x3CE
.list:  mov ax, [cs:si]
        add si, 2
        cmp al, 0xFF
        je .r
        call vga_load_regs.idx
        jmp .list
.r:     ret

; ---- AH=12: alternate select: EGA/VGA information (BL=10h) ---------------
v_alt_select:
        cmp bl, 0x10
        jne .other
        mov word [bp+R_BX], 0x0003  ; colour, 256 KiB
        mov word [bp+R_CX], 0x0009  ; feature bits 0, switches 9
        ret
.other: cmp bl, 0x30
        jb .r
        mov byte [bp+R_AL], 0x12    ; "function supported"
.r:     ret

; ---- AH=1A: display combination: VGA with colour display ------------------
v_display_combination:
        cmp al, 1
        ja .r
        mov byte [bp+R_AL], 0x1A
        test al, al
        jnz .r
        mov word [bp+R_BX], 0x0008
.r:     ret

; ---- AH=13: write string ---------------------------------------------------
; AL bit 0 = move the cursor, bit 1 = string holds char/attribute pairs;
; BH = page, BL = attribute, CX = length, DH/DL = position, ES:BP = string.
v_write_string:
        movzx si, bh
        and si, 7
        add si, si
        push word [si+BDA_CURPOS]   ; to restore when AL bit 0 is clear
        push si
        mov [si+BDA_CURPOS], dx
        mov gs, [bp+R_ES]
        mov di, [bp+R_BP]
        mov ah, bl                  ; default attribute
        mov bl, bh                  ; page
        jcxz .end
.next:  push ax
        mov al, [gs:di]
        inc di
        test byte [bp+R_AL], 2
        jz .attr
        mov ah, [gs:di]
        inc di
.attr:  cmp al, 0x0D
        je .ctl
        cmp al, 0x0A
        je .ctl
        cmp al, 0x08
        je .ctl
        cmp al, 0x07
        je .ctl
        call v_gfx
        jnz .ctl
        push di
        push es
        mov dx, [si+BDA_CURPOS]
        call v_cell
        push word 0xB800
        pop es
        mov [es:di+1], ah           ; attribute first; v_tty writes the char
        pop es
        pop di
.ctl:   call v_tty
        call tty_echo
        pop ax
        loop .next
.end:   pop si
        pop dx
        test byte [bp+R_AL], 1
        jnz .r
        mov [si+BDA_CURPOS], dx
        call v_sync_cursor
.r:     ret
