; dev_rtc.asm — MC146818 CMOS RTC conformance (ports 70h/71h).
;
; Checks, per the MC146818A data sheet:
;   - register A: divider running at 32.768 kHz (DV = 010b); register D:
;     VRT (bit 7) set, bits 6-0 zero; register C: bits 3-0 read as zero;
;   - with register B DM = 0 (BCD): seconds, minutes, hours (24-hour mode),
;     weekday, day, month and year are valid BCD and in range;
;   - with DM = 1 (binary) the same counters read as the binary form of the
;     BCD values (a reading is retried if the minute rolled over meanwhile);
;   - a RAM byte (index 40h) keeps what is written;
;   - the periodic interrupt (PIE in B, 1024 Hz rate in A) raises IRQ 8,
;     delivered through the slave 8259 (vector 70h) while HLT-waiting, with
;     IRQF and PF set in register C; while register C is not read the
;     request stays asserted and no further edge reaches the PIC; reading C
;     lets interrupts resume; clearing PIE clears IRQF.
; Waits are bounded by PIT channel 0 ticks (IRQ0, 1 ms). Only ok/FAIL lines
; are printed: no clock values.

%include "testrom.inc"
%include "vectest.inc"
%include "check.inc"

TICKS   equ     0x0600          ; dw IRQ0 count
RCNT    equ     0x0602          ; dw IRQ8 count
RMODE   equ     0x0604          ; db 0: handler reads C, 1: it does not
LASTC   equ     0x0605          ; db register C read by the handler
OTHER   equ     0x0606          ; dw unexpected IRQs
OK      equ     0x0608          ; db
TMP     equ     0x060A          ; dw
BCD1    equ     0x0610          ; 7 bytes: sec min hour wday day month year
BIN     equ     0x0618          ; 7 bytes
BCD2    equ     0x0620          ; 7 bytes
REGIDX  equ     0x0628          ; (unused)

%macro RTC_RD 1                 ; AL = register %1
        mov     al, %1
        out     0x70, al
        in      al, 0x71
%endmacro

%macro RTC_WR 1                 ; register %1 = AH
        mov     al, %1
        out     0x70, al
        mov     al, ah
        out     0x71, al
%endmacro

rom_start:
        call    vt_init
        call    apic_virtual_wire
        mov     word [TICKS], 0
        mov     word [RCNT], 0
        mov     word [OTHER], 0
        mov     byte [RMODE], 0
        mov     bx, 0x20*4
.iv:    mov     word [bx], irq_other
        mov     word [bx+2], 0xF000
        add     bx, 4
        cmp     bx, 0x30*4
        jb      .iv
        mov     bx, 0x70*4
.iv2:   mov     word [bx], irq_other
        mov     word [bx+2], 0xF000
        add     bx, 4
        cmp     bx, 0x78*4
        jb      .iv2
        mov     word [0x20*4], irq0
        mov     word [0x70*4], irq8
        call    pic_init

        TGROUP  "rtc status regs"
        RTC_RD  0x0A
        and     al, 0x70
        EXPECT8 al, 0x20                ; DV = 010b: 32.768 kHz, running
        RTC_RD  0x0D
        EXPECT8 al, 0x80                ; VRT
        RTC_RD  0x0C
        and     al, 0x0F
        EXPECT8 al, 0x00
        RTC_RD  0x0B
        and     al, 0x80
        EXPECT8 al, 0x00                ; SET clear: clock updating
        TEND

        TGROUP  "rtc bcd time"
        RTC_RD  0x0B
        mov     [TMP], al
        mov     ah, [TMP]
        and     ah, 0x08
        or      ah, 0x02                ; 24-hour, BCD
        RTC_WR  0x0B
        mov     di, BCD1
        call    read_time
        mov     si, BCD1
        call    check_bcd
        EXPECT8 al, 0                   ; all fields valid BCD
        mov     si, BCD1
        call    bcd_to_bin_block        ; -> BIN
        mov     si, BIN
        call    check_range
        EXPECT8 al, 0                   ; all fields in range
        TEND

        TGROUP  "rtc binary mode"
        mov     byte [OK], 0
        mov     cx, 5                   ; retries on a minute roll-over
.try:   push    cx
        mov     di, BCD1
        call    read_time
        RTC_RD  0x0B
        or      al, 0x04                ; DM = 1: binary
        mov     ah, al
        RTC_WR  0x0B
        mov     di, BIN + 0x40          ; binary reading (scratch)
        call    read_time
        RTC_RD  0x0B
        and     al, ~0x04
        mov     ah, al
        RTC_WR  0x0B
        mov     di, BCD2
        call    read_time
        pop     cx
        ; minutes..year (skip seconds) equal in both BCD readings?
        mov     si, BCD1 + 1
        mov     di, BCD2 + 1
        push    cx
        mov     cx, 6
        repe    cmpsb
        pop     cx
        je      .stable
        loop    .try
        jmp     .cmp                    ; OK stays 0
.stable:
        mov     si, BCD1
        call    bcd_to_bin_block        ; BIN = converted BCD1
        mov     si, BIN + 1
        mov     di, BIN + 0x41
        mov     cx, 6
        repe    cmpsb
        jne     .cmp
        mov     si, BIN + 0x40
        call    check_range
        test    al, al
        jnz     .cmp
        mov     byte [OK], 1
.cmp:   EXPECT8 [OK], 1
        RTC_RD  0x0B
        and     al, 0x04
        EXPECT8 al, 0                   ; back in BCD
        TEND

        TGROUP  "cmos nvram"
        mov     ah, 0x5A
        RTC_WR  0x40
        RTC_RD  0x40
        EXPECT8 al, 0x5A
        mov     ah, 0xA5
        RTC_WR  0x40
        RTC_RD  0x41                    ; a different index in between
        RTC_RD  0x40
        EXPECT8 al, 0xA5
        TEND

        TGROUP  "rtc periodic irq8"
        ; PIT channel 0: mode 2, 1 ms, for bounded waits
        mov     al, 0x34
        out     0x43, al
        mov     ax, 1193
        out     0x40, al
        mov     al, ah
        out     0x40, al
        mov     al, 0xFA                ; master: IRQ0 and cascade (IRQ2)
        out     0x21, al
        mov     al, 0xFE                ; slave: IRQ8
        out     0xA1, al
        RTC_RD  0x0A
        and     al, 0xF0
        or      al, 0x06                ; rate 6: 1024 Hz
        mov     ah, al
        RTC_WR  0x0A
        RTC_RD  0x0C                    ; clear stale flags
        RTC_RD  0x0B
        or      al, 0x40                ; PIE
        mov     ah, al
        RTC_WR  0x0B
        mov     word [RCNT], 0
        mov     ax, 5
        mov     bx, 200
        call    wait_irq8
        EXPECT8 al, 0                   ; 5 interrupts within 200 ms
        mov     al, [LASTC]
        and     al, 0xC0
        EXPECT8 al, 0xC0                ; IRQF and PF
        ; handler stops reading C: one more interrupt, then none
        cli
        mov     byte [RMODE], 1
        mov     word [RCNT], 0
        mov     ax, 1
        mov     bx, 200
        call    wait_irq8
        EXPECT8 al, 0
        mov     ax, 2
        mov     bx, 20                  ; about 20 periods
        call    wait_irq8
        EXPECT8 al, 1                   ; timed out: no second interrupt
        EXPECT16 [RCNT], 1
        cli
        RTC_RD  0x0C
        and     al, 0xC0
        EXPECT8 al, 0xC0                ; still flagged
        ; C has been read: interrupts resume
        mov     byte [RMODE], 0
        mov     word [RCNT], 0
        mov     ax, 2
        mov     bx, 200
        call    wait_irq8
        EXPECT8 al, 0
        ; PIE off: IRQF clears
        cli
        RTC_RD  0x0B
        and     al, ~0x40
        mov     ah, al
        RTC_WR  0x0B
        RTC_RD  0x0C
        RTC_RD  0x0C
        and     al, 0x80
        EXPECT8 al, 0
        mov     al, 0xFF
        out     0x21, al
        out     0xA1, al
        EXPECT16 [OTHER], 0
        TEND

        VT_FINISH

; Reads sec, min, hour, wday, day, month, year into DI[0..6], starting
; when the update-in-progress bit is clear (244 us without an update).
read_time:
        push    cx
        push    bx
        mov     cx, 0xFFFF
.uip:   RTC_RD  0x0A
        test    al, 0x80
        loopnz  .uip
        mov     bx, regs
        xor     cx, cx
.r:     push    bx
        add     bx, cx
        mov     al, [cs:bx]
        pop     bx
        out     0x70, al
        in      al, 0x71
        push    bx
        mov     bx, di
        add     bx, cx
        mov     [bx], al
        pop     bx
        inc     cx
        cmp     cx, 7
        jb      .r
        pop     bx
        pop     cx
        ret
regs:   db      0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09

; AL = number of fields at SI[0..6] that are not valid BCD
check_bcd:
        push    cx
        push    bx
        xor     bx, bx
        mov     cx, 7
.l:     mov     al, [si]
        inc     si
        mov     ah, al
        and     ah, 0x0F
        cmp     ah, 9
        ja      .bad
        shr     al, 4
        cmp     al, 9
        jbe     .nx
.bad:   inc     bx
.nx:    loop    .l
        mov     al, bl
        pop     bx
        pop     cx
        ret

; SI[0..6] (BCD) -> BIN[0..6]
bcd_to_bin_block:
        push    cx
        push    di
        mov     di, BIN
        mov     cx, 7
.l:     mov     al, [si]
        inc     si
        mov     ah, al
        shr     ah, 4
        and     al, 0x0F
        aad                             ; AL = AH*10 + AL
        mov     [di], al
        inc     di
        loop    .l
        pop     di
        pop     cx
        ret

; AL = number of binary fields at SI[0..6] out of range
check_range:
        push    cx
        push    bx
        push    di
        xor     bx, bx
        mov     di, ranges
        mov     cx, 7
.l:     mov     al, [si]
        inc     si
        cmp     al, [cs:di]
        jb      .bad
        cmp     al, [cs:di + 1]
        jbe     .nx
.bad:   inc     bx
.nx:    add     di, 2
        loop    .l
        mov     al, bl
        pop     di
        pop     bx
        pop     cx
        ret
ranges: db      0, 59, 0, 59, 0, 23, 1, 7, 1, 31, 1, 12, 0, 99

; HLT-waits until RCNT >= AX, at most BX IRQ0 ticks. AL = 0 done, 1 timeout.
; Returns with IF = 0.
wait_irq8:
        push    dx
        cli
        mov     dx, [TICKS]
        add     bx, dx
.l:     cmp     [RCNT], ax
        jae     .done
        mov     dx, [TICKS]
        sub     dx, bx
        jns     .to
        sti
        hlt
        cli
        jmp     .l
.to:    mov     al, 1
        pop     dx
        ret
.done:  mov     al, 0
        pop     dx
        ret

irq0:
        push    ax
        inc     word [ss:TICKS]
        mov     al, 0x20
        out     0x20, al
        pop     ax
        iret

irq8:
        push    ax
        inc     word [ss:RCNT]
        cmp     byte [ss:RMODE], 0
        jne     .noread
        mov     al, 0x0C
        out     0x70, al
        in      al, 0x71
        mov     [ss:LASTC], al
.noread:
        mov     al, 0x20
        out     0xA0, al
        out     0x20, al
        pop     ax
        iret

%define PIC_SLAVE_BASE 0x70   ; as a PC BIOS
%include "pic8259.inc"
%include "apic_wire.inc"

        ROM_END
