; dev_uart.asm — 16550A UART conformance on COM1 (3F8h), mostly in loopback.
;
; Checks, per the NS16550A data sheet:
;   - scratch register, LCR and divisor latch (DLAB) read back;
;   - loopback mode (MCR bit 4): bytes written to THR come back in RBR in
;     order with LSR DR set, DR clears when the FIFO is empty, THRE/TEMT set;
;   - FIFO mode: IIR bits 7-6 = 11b; with IER ERBFI set, IIR reports
;     "received data available" (4) once the FIFO holds the trigger level
;     (1 byte, then 4 bytes after FCR selects trigger 4) and not below it;
;     reading the data clears it (IIR = C1h);
;   - non-FIFO mode: IIR bits 7-6 = 00b; a second byte before the first is
;     read overruns: LSR OE and DR set, RBR holds the newer byte, reading LSR
;     clears OE;
;   - IER ETBEI with THR empty: IIR reports THRE (2); reading IIR clears it;
;   - modem lines in loopback: DTR -> DSR, RTS -> CTS, OUT1 -> RI,
;     OUT2 -> DCD (MSR bits 7-4; delta bits are not checked: QEMU does not
;     model them in loopback).
; Nothing can be printed while in loopback (it would loop back), so results
; are recorded in RAM and checked after the UART is back in normal mode.

%include "testrom.inc"
%include "vectest.inc"
%include "check.inc"

R       equ     0x0600          ; recorded values
TOUT    equ     0x0680          ; dw polling timeouts
SMCR    equ     0x0682          ; db saved MCR

%macro OUTB 2                   ; port offset, value
        mov     dx, COM1 + %1
        mov     al, %2
        out     dx, al
%endmacro

%macro INB 1                    ; AL = port offset
        mov     dx, COM1 + %1
        in      al, dx
%endmacro

rom_start:
        call    vt_init
        mov     word [TOUT], 0

        TGROUP  "uart regs"
        OUTB    7, 0x5A
        INB     7
        EXPECT8 al, 0x5A
        OUTB    7, 0xA5
        INB     7
        EXPECT8 al, 0xA5
        INB     3
        EXPECT8 al, 0x03                ; 8N1 as set up
        OUTB    3, 0x83                 ; DLAB
        INB     0
        EXPECT8 al, 0x01                ; divisor 1 (115200)
        INB     1
        EXPECT8 al, 0x00
        OUTB    3, 0x03
        INB     1
        EXPECT8 al, 0x00                ; IER
        TEND

        ; wait until everything printed so far has left the transmitter
        mov     cx, 0xFFFF
.temt:  INB     5
        test    al, 0x40
        loopz   .temt
        INB     4
        mov     [SMCR], al

        mov     di, R
        ; ---- loopback on, FIFOs on and cleared
        OUTB    4, 0x10
        OUTB    2, 0x07
        OUTB    1, 0x00
        call    drain
        INB     5
        and     al, 0x61
        stosb                           ; R+0: 60h
        INB     2
        stosb                           ; R+1: C1h
        OUTB    0, 'A'
        OUTB    0, 'B'
        OUTB    0, 'C'
        call    read_byte
        stosb                           ; R+2: 'A'
        call    read_byte
        stosb                           ; R+3: 'B'
        call    read_byte
        stosb                           ; R+4: 'C'
        INB     5
        and     al, 0x61
        stosb                           ; R+5: 60h

        ; ---- RDA at trigger level 1
        OUTB    1, 0x01
        OUTB    0, 'D'
        call    wait_dr
        INB     2
        stosb                           ; R+6: C4h
        INB     0
        stosb                           ; R+7: 'D'
        INB     2
        stosb                           ; R+8: C1h
        ; ---- trigger level 4
        OUTB    2, 0x47
        OUTB    0, 'E'
        call    wait_dr
        INB     2
        cmp     al, 0xC4
        sete    al
        stosb                           ; R+9: 0 (not RDA below trigger)
        OUTB    0, 'F'
        OUTB    0, 'G'
        OUTB    0, 'H'
        mov     cx, 0xFFFF              ; poll IIR until RDA
.rda:   INB     2
        cmp     al, 0xC4
        loopne  .rda
        stosb                           ; R+10: C4h
        call    read_byte
        stosb                           ; R+11: 'E'
        call    read_byte
        stosb                           ; R+12: 'F'
        call    read_byte
        stosb                           ; R+13: 'G'
        call    read_byte
        stosb                           ; R+14: 'H'
        INB     2
        stosb                           ; R+15: C1h
        OUTB    1, 0x00

        ; ---- non-FIFO mode, overrun
        OUTB    2, 0x00
        INB     2
        and     al, 0xC0
        stosb                           ; R+16: 00h
        OUTB    0, 'X'
        call    wait_dr
        OUTB    0, 'Y'
        mov     cx, 0xFFFF
.oe:    INB     5
        test    al, 0x02
        loopz   .oe
        and     al, 0x03
        stosb                           ; R+17: 03h (OE, DR)
        INB     0
        stosb                           ; R+18: 'Y'
        INB     5
        and     al, 0x03
        stosb                           ; R+19: 00h

        ; ---- THRE interrupt identification
        OUTB    1, 0x02
        INB     2
        and     al, 0x0F
        stosb                           ; R+20: 02h
        INB     2
        and     al, 0x0F
        stosb                           ; R+21: 01h
        OUTB    1, 0x00

        ; ---- modem lines
        OUTB    4, 0x10
        INB     6
        and     al, 0xF0
        stosb                           ; R+22: 00h
        OUTB    4, 0x11                 ; DTR
        INB     6
        and     al, 0xF0
        stosb                           ; R+23: 20h (DSR)
        OUTB    4, 0x12                 ; RTS
        INB     6
        and     al, 0xF0
        stosb                           ; R+24: 10h (CTS)
        OUTB    4, 0x14                 ; OUT1
        INB     6
        and     al, 0xF0
        stosb                           ; R+25: 40h (RI)
        OUTB    4, 0x18                 ; OUT2
        INB     6
        and     al, 0xF0
        stosb                           ; R+26: 80h (DCD)
        OUTB    4, 0x1F
        INB     6
        and     al, 0xF0
        stosb                           ; R+27: F0h

        ; ---- back to normal mode
        OUTB    4, 0x10
        OUTB    2, 0x07
        call    drain
        mov     al, [SMCR]
        mov     dx, COM1 + 4
        out     dx, al
        INB     6                       ; clear modem deltas
        INB     5

        TGROUP  "uart loopback fifo"
        EXPECT8 [R+0], 0x60
        EXPECT8 [R+1], 0xC1
        EXPECT8 [R+2], 'A'
        EXPECT8 [R+3], 'B'
        EXPECT8 [R+4], 'C'
        EXPECT8 [R+5], 0x60
        TEND

        TGROUP  "uart iir rda"
        EXPECT8 [R+6], 0xC4
        EXPECT8 [R+7], 'D'
        EXPECT8 [R+8], 0xC1
        EXPECT8 [R+9], 0
        EXPECT8 [R+10], 0xC4
        EXPECT8 [R+11], 'E'
        EXPECT8 [R+12], 'F'
        EXPECT8 [R+13], 'G'
        EXPECT8 [R+14], 'H'
        EXPECT8 [R+15], 0xC1
        TEND

        TGROUP  "uart overrun"
        EXPECT8 [R+16], 0x00
        EXPECT8 [R+17], 0x03
        EXPECT8 [R+18], 'Y'
        EXPECT8 [R+19], 0x00
        TEND

        TGROUP  "uart iir thre"
        EXPECT8 [R+20], 0x02
        EXPECT8 [R+21], 0x01
        TEND

        TGROUP  "uart modem loopback"
        EXPECT8 [R+22], 0x00
        EXPECT8 [R+23], 0x20
        EXPECT8 [R+24], 0x10
        EXPECT8 [R+25], 0x40
        EXPECT8 [R+26], 0x80
        EXPECT8 [R+27], 0xF0
        EXPECT16 [TOUT], 0
        TEND

        VT_FINISH

; Polls LSR DR (bounded); counts a timeout.
wait_dr:
        push    cx
        push    dx
        push    ax
        mov     cx, 0xFFFF
        mov     dx, COM1 + 5
.l:     in      al, dx
        test    al, 0x01
        jnz     .ok
        loop    .l
        inc     word [TOUT]
.ok:    pop     ax
        pop     dx
        pop     cx
        ret

; AL = next received byte (after waiting for DR)
read_byte:
        call    wait_dr
        mov     dx, COM1
        in      al, dx
        ret

; Reads RBR while DR is set.
drain:
        push    cx
        mov     cx, 64
.l:     mov     dx, COM1 + 5
        in      al, dx
        test    al, 0x01
        jz      .done
        mov     dx, COM1
        in      al, dx
        loop    .l
.done:  pop     cx
        ret

        ROM_END
