; dev_pic_pit.asm — 8259A pair and 8254 channel 0 conformance.
;
; Programs the PICs (ICW1-4: master vectors 20h-27h, slave 28h-2Fh, slave on
; IR2) and PIT channel 0 in mode 2 (rate generator) with count 1193 (about
; 1 ms), then checks, per the Intel 8259A and 8254 data sheets:
;   - OCW1 (IMR) reads back what was written; ISR is 0 after initialisation;
;   - IRQ0 is delivered through vector 20h while HLT-waiting; inside the
;     handler ISR bit 0 is set before the EOI and clear after it (OCW3 read);
;   - masking IRQ0 in the IMR stops delivery (no interrupt across 5 PIT
;     periods, counted by polling latched counts) while IRR bit 0 still
;     latches the request; unmasking delivers it;
;   - a specific EOI for another level (IRQ1) leaves ISR bit 0 set, the
;     specific EOI for IRQ0 clears it;
;   - the counter-latch command and the read-back command (count and status)
;     return a decreasing count and the programmed mode (status bits 5-0).
; Only ok/FAIL lines are printed: no timing values.

%include "testrom.inc"
%include "vectest.inc"
%include "check.inc"

CNT     equ     0x0600          ; dw IRQ0 count
ISR_B   equ     0x0602          ; db ISR read in the handler before EOI
ISR_A   equ     0x0603          ; db ISR read after EOI
BAD     equ     0x0604          ; dw handler runs with a wrong ISR
MODE    equ     0x0606          ; db 0: non-specific EOI, 1: specific EOI
OTHER   equ     0x0608          ; dw interrupts on vectors 21h-2Fh
ISR_M   equ     0x060A          ; db ISR after a specific EOI for IRQ1
TMP     equ     0x0610          ; scratch
PREV    equ     0x0620          ; dw previous latched count
S1      equ     0x0622
S2      equ     0x0624
S3      equ     0x0626
OK      equ     0x0628          ; db

rom_start:
        call    vt_init
        call    apic_virtual_wire
        mov     word [CNT], 0
        mov     word [BAD], 0
        mov     word [OTHER], 0
        mov     byte [MODE], 0
        ; IVT: 20h = irq0, 21h-2Fh = other
        mov     word [0x20*4], irq0
        mov     word [0x20*4+2], 0xF000
        mov     bx, 0x21*4
.iv:    mov     word [bx], irq_other
        mov     word [bx+2], 0xF000
        add     bx, 4
        cmp     bx, 0x30*4
        jb      .iv

        TGROUP  "pic init"
        call    pic_init
        in      al, 0x21
        EXPECT8 al, 0xFF
        in      al, 0xA1
        EXPECT8 al, 0xFF
        mov     al, 0xA5
        out     0x21, al
        in      al, 0x21
        EXPECT8 al, 0xA5
        mov     al, 0x5A
        out     0xA1, al
        in      al, 0xA1
        EXPECT8 al, 0x5A
        mov     al, 0xFF
        out     0x21, al
        out     0xA1, al
        mov     al, 0x0B                ; OCW3: read ISR
        out     0x20, al
        in      al, 0x20
        EXPECT8 al, 0x00
        out     0xA0, al
        in      al, 0xA0
        EXPECT8 al, 0x00
        TEND

        TGROUP  "pit mode 2 irq0"
        mov     al, 0x34                ; ch0, lo/hi, mode 2, binary
        out     0x43, al
        mov     ax, 1193
        out     0x40, al
        mov     al, ah
        out     0x40, al
        mov     al, 0xFE                ; unmask IRQ0 only
        out     0x21, al
.w1:    sti
        hlt
        cli
        cmp     word [CNT], 10
        jb      .w1
        EXPECT16 [BAD], 0
        EXPECT8 [ISR_B], 0x01
        EXPECT8 [ISR_A], 0x00
        EXPECT16 [OTHER], 0
        TEND

        TGROUP  "ocw1 mask irq0"
        mov     al, 0xFF
        out     0x21, al
        mov     ax, [CNT]
        mov     [TMP], ax
        sti
        mov     cx, 5
        call    wait_wraps
        EXPECT8 al, 0                   ; wrap wait did not time out
        ; IRR bit 0 latches the request despite the mask. (QEMU raises the
        ; PIT's IRQ from a host timer that can lag the count under load,
        ; so poll for up to 500 more periods.)
        mov     bx, 500
.irr:   mov     al, 0x0A                ; OCW3: read IRR
        out     0x20, al
        in      al, 0x20
        test    al, 0x01
        jnz     .irrok
        mov     cx, 1
        call    wait_wraps
        dec     bx
        jnz     .irr
.irrok: cli
        and     al, 0x01
        EXPECT8 al, 0x01                ; request still latched in IRR
        mov     ax, [CNT]
        EXPECT16 ax, [TMP]              ; nothing delivered while masked
        mov     al, 0x0B
        out     0x20, al
        in      al, 0x20
        EXPECT8 al, 0x00                ; not in service
        mov     al, 0xFE                ; unmask: the request is delivered
        out     0x21, al
        sti
        hlt
        cli
        mov     ax, [CNT]
        sub     ax, [TMP]
        setnz   al
        EXPECT8 al, 1
        EXPECT16 [BAD], 0
        TEND

        TGROUP  "specific eoi"
        mov     byte [MODE], 1
        mov     byte [ISR_M], 0xEE
        mov     byte [ISR_A], 0xEE
        mov     ax, [CNT]
        add     ax, 3
        mov     [TMP], ax
.w2:    sti
        hlt
        cli
        mov     ax, [CNT]
        cmp     ax, [TMP]
        jb      .w2
        EXPECT8 [ISR_M], 0x01           ; EOI for IRQ1 left IRQ0 in service
        EXPECT8 [ISR_A], 0x00           ; EOI for IRQ0 cleared it
        EXPECT16 [BAD], 0
        mov     al, 0xFF
        out     0x21, al
        mov     byte [MODE], 0
        EXPECT16 [OTHER], 0
        TEND

        TGROUP  "pit latch/read-back"
        mov     al, 0x34                ; ch0, lo/hi, mode 2, count 65536
        out     0x43, al
        xor     al, al
        out     0x40, al
        out     0x40, al
        ; status by read-back (count not latched): mode 2, lo/hi, binary
        call    latch_count             ; lets the count load
        mov     al, 0xE2                ; read-back: status only, ch0
        out     0x43, al
        in      al, 0x40
        and     al, 0x3F
        EXPECT8 al, 0x34
        ; S1 by counter latch, S2 by read-back, S3 by counter latch, each
        ; polled until it differs from the previous sample: a 65536-tick
        ; period wraps at most once, so S1 > S2 or S2 > S3.
        call    latch_count
        mov     [S1], ax
        mov     cx, 0xFFFF
.s2:    mov     al, 0xD2                ; read-back: count only, ch0
        out     0x43, al
        in      al, 0x40
        mov     ah, al
        in      al, 0x40
        xchg    al, ah
        cmp     ax, [S1]
        loope   .s2
        mov     [S2], ax
        mov     cx, 0xFFFF
.s3:    call    latch_count
        cmp     ax, [S2]
        loope   .s3
        mov     [S3], ax
        mov     byte [OK], 0
        mov     ax, [S1]
        cmp     ax, [S2]
        jbe     .n1
        mov     byte [OK], 1
.n1:    mov     ax, [S2]
        cmp     ax, [S3]
        jbe     .n2
        mov     byte [OK], 1
.n2:    EXPECT8 [OK], 1
        ; a latched count is held until read, ignoring a second latch
        call    latch_count
        mov     [S1], ax
        mov     al, 0x00
        out     0x43, al                ; latch
        mov     cx, 2
        call    wait_wraps_fast         ; let the counter move
        mov     al, 0x00
        out     0x43, al                ; ignored: a latch is pending
        in      al, 0x40
        mov     ah, al
        in      al, 0x40
        xchg    al, ah
        mov     [S2], ax
        call    latch_count
        cmp     ax, [S2]
        setne   al
        EXPECT8 al, 1                   ; the held value is stale
        TEND

        VT_FINISH

; counter latch, ch0 -> AX
latch_count:
        mov     al, 0x00
        out     0x43, al
        in      al, 0x40
        mov     ah, al
        in      al, 0x40
        xchg    al, ah
        ret

; Waits for CX wrap-arounds of channel 0 (mode 2) by polling latched counts.
; AL = 0 on success, 1 on timeout.
wait_wraps:
        push    bx
        push    dx
        push    cx
        call    latch_count
        mov     [PREV], ax
        pop     cx
        mov     bx, 0x40                ; timeout: 0x40 * 0x10000 polls
        xor     dx, dx
.lp:    push    cx
        call    latch_count
        pop     cx
        cmp     ax, [PREV]
        mov     [PREV], ax
        jbe     .nowrap
        dec     cx
        jz      .done
.nowrap:
        dec     dx
        jnz     .lp
        dec     bx
        jnz     .lp
        mov     al, 1
        jmp     .out
.done:  xor     al, al
.out:   pop     dx
        pop     bx
        ret

; Polls a different timer source (read-back status of channel 0 does not
; disturb a pending count latch) until about CX * 4096 polls passed.
wait_wraps_fast:
.o:     push    cx
        mov     cx, 4096
.i:     in      al, 0x61
        loop    .i
        pop     cx
        loop    .o
        ret

irq0:
        push    ax
        inc     word [ss:CNT]
        mov     al, 0x0B
        out     0x20, al
        in      al, 0x20
        mov     [ss:ISR_B], al
        cmp     byte [ss:MODE], 0
        jne     .spec
        mov     al, 0x20                ; non-specific EOI
        out     0x20, al
        jmp     .after
.spec:  mov     al, 0x61                ; specific EOI, level 1 (not in service)
        out     0x20, al
        in      al, 0x20
        mov     [ss:ISR_M], al
        mov     al, 0x60                ; specific EOI, level 0
        out     0x20, al
.after: in      al, 0x20
        mov     [ss:ISR_A], al
        cmp     byte [ss:ISR_B], 0x01
        jne     .bad
        cmp     al, 0
        je      .ok
.bad:   inc     word [ss:BAD]
.ok:    pop     ax
        iret

%include "pic8259.inc"
%include "apic_wire.inc"

        ROM_END
