; int1a.asm — time: the 18.2 Hz system timer (INT 08h on IRQ 0 from PIT
; channel 0), INT 1Ah time-of-day services over the BDA tick count and the
; MC146818 real-time clock in CMOS, and the RTC interrupt (INT 70h).

; ---- INT 08h: IRQ 0 ---------------------------------------------------------
int08_handler:
        push ax
        push ds
        push word BDA_SEG
        pop ds
        inc dword [BDA_TICKS]
        cmp dword [BDA_TICKS], TICKS_PER_DAY
        jb .user
        mov dword [BDA_TICKS], 0
        mov byte [BDA_MIDNIGHT], 1
.user:  int 0x1C                    ; the user timer hook
        cli                         ; the hook may have enabled interrupts
        mov al, 0x20
        out PIC1_CMD, al
        pop ds
        pop ax
        iret

; ---- INT 70h: IRQ 8 (RTC). Nothing enables it; acknowledge if it fires. -----
int70_handler:
        push ax
        mov al, CMOS_REG_C          ; reading C clears the RTC's request
        call cmos_read
        mov al, 0x20
        out PIC2_CMD, al
        out PIC1_CMD, al
        pop ax
        iret

; rtc_wait_update: wait (bounded) while the RTC is updating its registers.
; CF=1 if it never finished.
rtc_wait_update:
        push ax
        push cx
        mov cx, 0xFFFF
.w:     mov al, CMOS_REG_A
        call cmos_read
        test al, 0x80
        jz .ok
        loop .w
        pop cx
        pop ax
        stc
        ret
.ok:    pop cx
        pop ax
        clc
        ret

; ---- INT 1Ah ------------------------------------------------------------------
int1a_handler:
        sti
        cld
        FRAME_ENTER
        push word BDA_SEG
        pop ds
        cmp ah, 0x00
        je .get_ticks
        cmp ah, 0x01
        je .set_ticks
        cmp ah, 0x02
        je .get_time
        cmp ah, 0x03
        je .set_time
        cmp ah, 0x04
        je .get_date
        cmp ah, 0x05
        je .set_date
.fail:  SET_CF
        FRAME_LEAVE
.ok:    CLEAR_CF
        FRAME_LEAVE

; AH=00h: CX:DX = ticks since midnight, AL = midnight passed (then cleared)
.get_ticks:
        cli
        mov eax, [BDA_TICKS]
        mov bl, [BDA_MIDNIGHT]
        mov byte [BDA_MIDNIGHT], 0
        sti
        mov [bp+R_DX], ax
        shr eax, 16
        mov [bp+R_CX], ax
        mov [bp+R_AL], bl
        jmp .ok

; AH=01h: ticks = CX:DX
.set_ticks:
        cli
        mov [BDA_TICKS], dx
        mov [BDA_TICKS+2], cx
        mov byte [BDA_MIDNIGHT], 0
        sti
        mov byte [bp+R_AH], 0
        jmp .ok

; AH=02h: CH = hours, CL = minutes, DH = seconds (as the RTC stores them,
; normally BCD), DL = daylight saving flag
.get_time:
        call rtc_wait_update
        jc .fail
        mov al, CMOS_HOUR
        call cmos_read
        mov [bp+R_CH], al
        mov al, CMOS_MIN
        call cmos_read
        mov [bp+R_CL], al
        mov al, CMOS_SEC
        call cmos_read
        mov [bp+R_DH], al
        mov al, CMOS_REG_B
        call cmos_read
        and al, 0x01
        mov [bp+R_DL], al
        mov byte [bp+R_AH], 0
        jmp .ok

; AH=03h: set the time from CH, CL, DH, DL (DST flag)
.set_time:
        call rtc_wait_update
        call .rtc_stop
        mov al, CMOS_HOUR
        mov ah, ch
        call cmos_write
        mov al, CMOS_MIN
        mov ah, cl
        call cmos_write
        mov al, CMOS_SEC
        mov ah, dh
        call cmos_write
        mov al, CMOS_REG_B
        call cmos_read
        and al, 0x7E                ; run again; DST from DL
        and dl, 0x01
        or al, dl
        mov ah, al
        mov al, CMOS_REG_B
        call cmos_write
        mov byte [bp+R_AH], 0
        jmp .ok

; AH=04h: CH = century, CL = year, DH = month, DL = day
.get_date:
        call rtc_wait_update
        jc .fail
        mov al, CMOS_CENTURY
        call cmos_read
        mov [bp+R_CH], al
        mov al, CMOS_YEAR
        call cmos_read
        mov [bp+R_CL], al
        mov al, CMOS_MONTH
        call cmos_read
        mov [bp+R_DH], al
        mov al, CMOS_DAY
        call cmos_read
        mov [bp+R_DL], al
        mov byte [bp+R_AH], 0
        jmp .ok

; AH=05h: set the date from CH, CL, DH, DL
.set_date:
        call rtc_wait_update
        call .rtc_stop
        mov al, CMOS_CENTURY
        mov ah, ch
        call cmos_write
        mov al, CMOS_YEAR
        mov ah, cl
        call cmos_write
        mov al, CMOS_MONTH
        mov ah, dh
        call cmos_write
        mov al, CMOS_DAY
        mov ah, dl
        call cmos_write
        mov al, CMOS_REG_B
        call cmos_read
        and al, 0x7F
        mov ah, al
        mov al, CMOS_REG_B
        call cmos_write
        mov byte [bp+R_AH], 0
        jmp .ok

; .rtc_stop: set register B's SET bit so the clock holds still while written
.rtc_stop:
        mov al, CMOS_REG_B
        call cmos_read
        or al, 0x80
        mov ah, al
        mov al, CMOS_REG_B
        call cmos_write
        ret
