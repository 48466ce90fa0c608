; tables.asm — read-only data of the BIOS: the interrupt vectors POST
; installs, keyboard layout tables, fixed parameter tables and messages.

; (vector, handler offset in F000) pairs installed by post_ivt
vector_table:
        db 0x08
        dw int08_handler
        db 0x09
        dw int09_handler
        db 0x10
        dw int10_handler
        db 0x11
        dw int11_handler
        db 0x12
        dw int12_handler
        db 0x13
        dw int13_handler
        db 0x14
        dw int14_handler
        db 0x15
        dw int15_handler
        db 0x16
        dw int16_handler
        db 0x18
        dw int18_handler
        db 0x19
        dw int19_handler
        db 0x1A
        dw int1a_handler
        db 0x1E                     ; a data pointer: diskette parameters
        dw diskette_params
        db 0x43                     ; a data pointer: the graphics font
        dw vga_font8x16
        db 0x70
        dw int70_handler
vector_table_end:

; Scancode set 1 -> ASCII, US layout, codes 00h-39h. The shifted table
; must directly follow the plain one (kbd_ascii_scan searches both).
kbd_normal:
        db 0, 0x1B, '1234567890-=', 0x08, 0x09             ; 00-0F
        db 'qwertyuiop[]', 0x0D, 0, 'as'                    ; 10-1F
        db 'dfghjkl;', 0x27, '`', 0, '\zxcv'                ; 20-2F
        db 'bnm,./', 0, '*', 0, ' '                         ; 30-39
KBD_TABLE_LEN equ $ - kbd_normal
kbd_shift:
        db 0, 0x1B, '!@#$%^&*()_+', 0x08, 0x09
        db 'QWERTYUIOP{}', 0x0D, 0, 'AS'
        db 'DFGHJKL:"~', 0, '|ZXCV'
        db 'BNM<>?', 0, '*', 0, ' '
%if $ - kbd_shift != KBD_TABLE_LEN
%error keyboard tables differ in length
%endif

; keypad 47h-53h with Num Lock
kbd_keypad:
        db '789-456+1230.'

; Ctrl + non-letter keys: scancode, key code
kbd_ctrl_keys:
        db 0x01
        dw 0x011B                   ; Esc
        db 0x0E
        dw 0x0E7F                   ; Backspace
        db 0x1C
        dw 0x1C0A                   ; Enter
        db 0x1A
        dw 0x1A1B                   ; [
        db 0x2B
        dw 0x2B1C                   ; backslash
        db 0x1B
        dw 0x1B1D                   ; ]
        db 0x07
        dw 0x071E                   ; 6 (^)
        db 0x0C
        dw 0x0C1F                   ; - (_)
        db 0x03
        dw 0x0300                   ; 2 (@): NUL
        db 0x39
        dw 0x3920                   ; space
        db 0x0F
        dw 0x9400                   ; Tab
        db 0

; Final bytes of ESC [ x / ESC O x sequences: byte, key code
esc_finals:
        db 'A'
        dw 0x48E0                   ; up
        db 'B'
        dw 0x50E0                   ; down
        db 'C'
        dw 0x4DE0                   ; right
        db 'D'
        dw 0x4BE0                   ; left
        db 'H'
        dw 0x47E0                   ; home
        db 'F'
        dw 0x4FE0                   ; end
        db 0

; ESC [ n ~ sequences: n, key code
esc_tilde:
        db 1
        dw 0x47E0                   ; home
        db 7
        dw 0x47E0
        db 2
        dw 0x52E0                   ; insert
        db 3
        dw 0x53E0                   ; delete
        db 4
        dw 0x4FE0                   ; end
        db 8
        dw 0x4FE0
        db 5
        dw 0x49E0                   ; page up
        db 6
        dw 0x51E0                   ; page down
        db 11
        dw 0x3B00                   ; F1
        db 12
        dw 0x3C00
        db 13
        dw 0x3D00
        db 14
        dw 0x3E00
        db 15
        dw 0x3F00                   ; F5
        db 17
        dw 0x4000
        db 18
        dw 0x4100
        db 19
        dw 0x4200
        db 20
        dw 0x4300
        db 21
        dw 0x4400                   ; F10
        db 23
        dw 0x8500                   ; F11
        db 24
        dw 0x8600                   ; F12
        db 0

; VGA register sets, in vga_load_regs order: misc output, sequencer 1-4,
; CRTC 0-24, graphics controller 0-8, attribute controller 0-20.
vga_mode3:                          ; 80x25 text, 16 colours, 9x16 cells
        db 0x67
        db 0x00, 0x03, 0x00, 0x02
        db 0x5F, 0x4F, 0x50, 0x82, 0x55, 0x81, 0xBF, 0x1F
        db 0x00, 0x4F, 0x0D, 0x0E, 0x00, 0x00, 0x00, 0x00
        db 0x9C, 0x8E, 0x8F, 0x28, 0x1F, 0x96, 0xB9, 0xA3, 0xFF
        db 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0E, 0x00, 0xFF
vga_mode3_ac:
        db 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07
        db 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F
        db 0x0C, 0x00, 0x0F, 0x08, 0x00
; (index, value) pairs for vga_seq_gc: sequencer, then graphics controller
vga_plane2_open:                    ; plane 2 alone, flat, for the font
        db 0x00, 0x01, 0x02, 0x04, 0x04, 0x07, 0x00, 0x03, 0xFF, 0xFF
        db 0x04, 0x02, 0x05, 0x00, 0x06, 0x04, 0xFF, 0xFF
vga_plane2_close:                   ; back to the text-mode values
        db 0x00, 0x01, 0x02, 0x03, 0x04, 0x02, 0x00, 0x03, 0xFF, 0xFF
        db 0x04, 0x00, 0x05, 0x10, 0x06, 0x0E, 0xFF, 0xFF
vga_font_no_alt:                    ; INT 10h AX=1130h BH=5/7: no 9-dot
        db 0                        ; alternates (an empty list)
vga_mode12:                         ; 640x480, 16 colours, 4 planes
        db 0xE3
        db 0x01, 0x0F, 0x00, 0x06
        db 0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0x0B, 0x3E
        db 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00
        db 0xEA, 0x8C, 0xDF, 0x28, 0x00, 0xE7, 0x04, 0xE3, 0xFF
        db 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x0F, 0xFF
        db 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07
        db 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F
        db 0x01, 0x00, 0x0F, 0x00, 0x00
vga_mode13:                         ; 320x200, 256 colours, chain-4
        db 0x63
        db 0x01, 0x0F, 0x00, 0x0E
        db 0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0xBF, 0x1F
        db 0x00, 0x41, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00
        db 0x9C, 0x8E, 0x8F, 0x28, 0x40, 0x96, 0xB9, 0xA3, 0xFF
        db 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0F, 0xFF
        db 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
        db 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F
        db 0x41, 0x00, 0x0F, 0x00, 0x00

; the 256-colour palette (DAC values 0-3Fh): 16 greys, then for each of
; 9 (intensity, saturation) blocks the 5 levels a component takes, and the
; level (0-4) of red, green and blue for each of the 24 hues
vga_greys:
        db 0x00, 0x05, 0x08, 0x0B, 0x0E, 0x11, 0x14, 0x18
        db 0x1C, 0x20, 0x24, 0x28, 0x2D, 0x32, 0x38, 0x3F
vga_levels:
        db 0x00, 0x10, 0x1F, 0x2F, 0x3F
        db 0x1F, 0x27, 0x2F, 0x37, 0x3F
        db 0x2D, 0x31, 0x36, 0x3A, 0x3F
        db 0x00, 0x07, 0x0E, 0x15, 0x1C
        db 0x0E, 0x11, 0x15, 0x18, 0x1C
        db 0x14, 0x16, 0x18, 0x1A, 0x1C
        db 0x00, 0x04, 0x08, 0x0C, 0x10
        db 0x08, 0x0A, 0x0C, 0x0E, 0x10
        db 0x0B, 0x0C, 0x0D, 0x0F, 0x10
vga_hues:
        db 0,0,4, 1,0,4, 2,0,4, 3,0,4, 4,0,4, 4,0,3, 4,0,2, 4,0,1
        db 4,0,0, 4,1,0, 4,2,0, 4,3,0, 4,4,0, 3,4,0, 2,4,0, 1,4,0
        db 0,4,0, 0,4,1, 0,4,2, 0,4,3, 0,4,4, 0,3,4, 0,2,4, 0,1,4

; INT 14h AH=00h baud rate divisors: 110 150 300 600 1200 2400 4800 9600
baud_divisors:
        dw 1047, 768, 384, 192, 96, 48, 24, 12

; INT 1Eh: parameters of a 1.44 MB diskette (no drive exists, but boot
; code from the diskette era copies this table)
diskette_params:
        db 0xDF, 0x02, 0x25, 0x02, 0x12, 0x1B, 0xFF, 0x6C, 0xF6, 0x0F, 0x08

; A GDT with one flat data segment, for post_lapic's trip to protected mode
flat_gdt:
        dq 0
.data:  dq 0x00CF92000000FFFF       ; base 0, limit 4 GiB, read/write data
flat_gdt_end:
flat_gdt_desc:
        dw flat_gdt_end - flat_gdt - 1
        dd BIOS_SEG * 16 + flat_gdt

; INT 15h AH=C0h system configuration table
config_table:
        dw 8                        ; bytes that follow
        db 0xFC                     ; model: AT class
        db 0x01                     ; submodel
        db 0x00                     ; BIOS revision
        db 0x64                     ; 2nd 8259, RTC, EBDA allocated
        db 0, 0, 0, 0

str_banner:     db 'crane86 BIOS ', BIOS_VERSION, 13, 10, 0
str_mem:        db 'Memory: ', 0
str_mem_mib:    db ' MiB (', 0
str_mem_base:   db ' KiB base)', 13, 10, 0
str_disk:       db 'Disk 80h: ', 0
str_mib:        db ' MiB', 0
str_kib:        db ' KiB', 0
str_chs:        db ', CHS ', 0
str_none:       db 'none', 13, 10, 0
str_booting:    db 'Booting from disk 80h...', 0
str_read_error: db 13, 10, 'Disk read error.', 13, 10, 0
str_no_signature:
                db 13, 10, 'Boot sector has no 55AA signature.', 13, 10, 0
str_no_boot:    db 'No bootable device.', 13, 10, 0
str_crlf:       db 13, 10, 0

; The 8x16 text font, code page 437 order, 16 bytes a glyph: the Spleen
; 8x16 font (BSD-2-Clause, Frederic Cambus), the same character set
; crane86's VGA model holds at power-on. font8x16.bin is generated from it
; by firmware/tests/font.rs (which fails when the two differ).
        align 16
vga_font8x16:
        incbin "font8x16.bin"
VGA_FONT_BYTES equ $ - vga_font8x16
%if VGA_FONT_BYTES != 256 * 16
%error font8x16.bin must hold 256 glyphs of 16 bytes
%endif
