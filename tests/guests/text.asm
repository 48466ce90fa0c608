; text.asm — an 80x25 text screen (mode 3 through INT 10h) for
; tests/screens.rs:
;   row 0       the title, yellow on blue across the row;
;   rows 2-17   every attribute: attribute A = 16*bg + fg at row 2 + bg,
;               column 8 + 4*fg shows A's two hex digits and a full block
;               (0DBh) in A's colours; with blinking on (the default) the
;               rows of bg 8-15 are the blinking ones;
;   rows 19-22  all 256 characters, 64 to a row from column 8, in white,
;               green, cyan and yellow (0C0h-0DFh stretch into the ninth
;               dot column);
;   row 24      "Cursor ->" at column 28 and the cursor at column 38.
; -DNO_BLINK turns blinking off (attribute controller mode register bit 3),
; so attribute bit 7 selects the bright backgrounds instead.
; -DAFTER_13H first sets mode 13h and fills its memory, then mode 3: the
; text screen must come out the same (the mode set restores the font).

%include "guest.inc"

main:
%ifdef AFTER_13H
        mov ax, 0x0013
        int 0x10
        push word 0xA000
        pop es
        xor di, di
        mov cx, 32000
        mov ax, 0x5AA5
        rep stosw
%endif
        mov ax, 0x0003
        int 0x10
%ifdef NO_BLINK
        mov dx, 0x3DA               ; attribute flip-flop to "index"
        in al, dx
        mov dx, 0x3C0
        mov al, 0x30                ; mode control, palette source kept
        out dx, al
        mov al, 0x04                ; text, line graphics, no blinking
        out dx, al
%endif
        push word 0xB800
        pop es
        xor di, di                  ; the title row
        mov ax, 0x1E20
        mov cx, 80
        rep stosw
        mov di, 2 * 2
        mov si, title
        mov ah, 0x1E
.title: lodsb
        test al, al
        jz .grid
        stosw
        jmp .title

.grid:  xor bx, bx                  ; BL = attribute
.cell:  mov al, bl
        shr al, 4
        add al, 2
        mov ah, 80
        mul ah                      ; AX = row * 80
        movzx dx, bl
        and dl, 0x0F
        shl dx, 2
        add ax, dx
        add ax, 8
        shl ax, 1
        mov di, ax
        mov ah, bl
        mov al, bl
        shr al, 4
        call hexdigit
        stosw
        mov al, bl
        call hexdigit
        stosw
        mov al, 0xDB
        stosw
        inc bl
        jnz .cell

        xor bx, bx                  ; BL = character
.char:  movzx ax, bl
        shr ax, 6
        mov si, ax
        mov dh, [char_attrs + si]
        add al, 19
        mov ah, 80
        mul ah
        movzx dx, bl                ; (DH is lost: reload below)
        and dl, 63
        add ax, dx
        add ax, 8
        shl ax, 1
        mov di, ax
        mov ah, [char_attrs + si]
        mov al, bl
        stosw
        inc bl
        jnz .char

        mov di, (24 * 80 + 28) * 2
        mov si, s_cursor
        mov ah, 0x07
.cur:   lodsb
        test al, al
        jz .place
        stosw
        jmp .cur
.place: mov ah, 0x02
        xor bh, bh
        mov dx, (24 << 8) | 38
        int 0x10
        DONE

hexdigit:                           ; low nibble of AL -> ASCII
        and al, 0x0F
        add al, '0'
        cmp al, '9'
        jbe .r
        add al, 'A' - '9' - 1
.r:     ret

char_attrs:     db 0x0F, 0x0A, 0x0B, 0x0E
%ifdef NO_BLINK
title:          db 'crane86 text screen: 16 colours, bright backgrounds', 0
%else
title:          db 'crane86 text screen: 16 colours, blinking', 0
%endif
s_cursor:       db 'Cursor ->', 0

GUEST_END
