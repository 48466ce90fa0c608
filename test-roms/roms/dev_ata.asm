; dev_ata.asm — ATA primary channel (1F0h-1F7h, 3F6h) with no drive attached.
;
; ROMs run without -hda, so the primary channel is empty. crane86 reads an
; empty channel as FFh on every register (floating bus); QEMU reads 00h.
; The ATA spec's DD7 pull-down would make BSY read 0 (QEMU agrees, crane86
; does not), so only what both agree on and what device detection relies
; on is checked:
;   - the register-echo probe finds no device: values written to sector
;     count / LBA low / mid / high do not read back, for device 0 and 1;
;   - status never shows a ready device (BSY = 0 with DRDY = 1), also not
;     after an IDENTIFY DEVICE (ECh) command;
;   - the alternate status register (3F6h) reads the same as status.
; The secondary channel is not checked: QEMU's pc machine has a default
; ATAPI CD-ROM there, crane86 has none.

%include "testrom.inc"
%include "vectest.inc"
%include "check.inc"

OK      equ     0x0600

%macro OUTB 2
        mov     dx, %1
        mov     al, %2
        out     dx, al
%endmacro

%macro INB 1
        mov     dx, %1
        in      al, dx
%endmacro

rom_start:
        call    vt_init

        TGROUP  "ata probe device 0"
        OUTB    0x1F6, 0xA0
        call    probe
        EXPECT8 al, 0                   ; no register echoes
        call    not_ready
        EXPECT8 al, 1
        TEND

        TGROUP  "ata probe device 1"
        OUTB    0x1F6, 0xB0
        call    probe
        EXPECT8 al, 0
        call    not_ready
        EXPECT8 al, 1
        TEND

        TGROUP  "ata identify empty"
        OUTB    0x1F6, 0xA0
        OUTB    0x1F7, 0xEC             ; IDENTIFY DEVICE
        mov     cx, 1000                ; let a (non-)device react
.w:     INB     0x3F6
        loop    .w
        call    not_ready
        EXPECT8 al, 1
        INB     0x1F7
        mov     ah, al
        INB     0x3F6
        EXPECT8 al, ah                  ; alternate status = status
        TEND

        VT_FINISH

; AL = number of taskfile registers (1F2h-1F5h) that echo two patterns.
probe:
        push    bx
        push    cx
        xor     bx, bx
        mov     cx, 0x1F2
.r:     mov     dx, cx
        mov     al, 0x55
        out     dx, al
        in      al, dx
        cmp     al, 0x55
        jne     .no
        mov     al, 0xAA
        out     dx, al
        in      al, dx
        cmp     al, 0xAA
        jne     .no
        inc     bx
.no:    inc     cx
        cmp     cx, 0x1F6
        jb      .r
        mov     al, bl
        pop     cx
        pop     bx
        ret

; AL = 1 if status does not show a ready device (BSY = 0, DRDY = 1).
not_ready:
        INB     0x1F7
        and     al, 0xC0
        cmp     al, 0x40
        setne   al
        ret

        ROM_END
