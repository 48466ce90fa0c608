; mode13.asm — mode 13h (320x200, 256 colours, through INT 10h) with the
; BIOS's default palette, for tests/screens.rs: rows 0-191 are 16 x 16
; tiles of 20 x 12 pixels, tile (column c, row r) in colour 16*r + c; rows
; 192-199 are one-pixel bars in colour x mod 256.

%include "guest.inc"

main:   mov ax, 0x0013
        int 0x10
        push word 0xA000
        pop es
        xor di, di
        xor dx, dx                  ; y
.row:   xor cx, cx                  ; x
.col:   mov al, cl                  ; the bars: x mod 256
        cmp dx, 192
        jae .put
        mov ax, dx
        mov bl, 12
        div bl                      ; AL = tile row
        shl al, 4
        mov bl, al
        mov ax, cx
        mov bh, 20
        div bh                      ; AL = tile column
        add al, bl
.put:   stosb
        inc cx
        cmp cx, 320
        jb .col
        inc dx
        cmp dx, 200
        jb .row
        DONE

GUEST_END
