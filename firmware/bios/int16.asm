; int16.asm — the keyboard: INT 09h (IRQ 1) turns i8042 set-1 scancodes
; (US layout) into BIOS key codes in the BDA ring buffer; INT 16h reads
; that buffer. Bytes arriving on COM1 are turned into key codes too (polled
; from INT 16h), so a headless user can type on the serial console:
; CR or LF is Enter, DEL is Backspace, and the usual VT100/xterm escape
; sequences give arrows, Home/End, Ins/Del, PgUp/PgDn and F1-F12.

; ---- ring buffer (DS = BDA, call with interrupts off) ---------------------

; kb_push: AX = key code -> CF=1 if the buffer is full (key dropped).
kb_push:
        push bx
        push si
        mov bx, [BDA_KBTAIL]
        lea si, [bx+2]
        cmp si, [BDA_KBEND]
        jb .1
        mov si, [BDA_KBSTART]
.1:     cmp si, [BDA_KBHEAD]
        je .full
        mov [bx], ax
        mov [BDA_KBTAIL], si
        clc
        jmp .r
.full:  stc
.r:     pop si
        pop bx
        ret

; kb_full: CF=1 if one more key would not fit.
kb_full:
        push bx
        mov bx, [BDA_KBTAIL]
        add bx, 2
        cmp bx, [BDA_KBEND]
        jb .1
        mov bx, [BDA_KBSTART]
.1:     cmp bx, [BDA_KBHEAD]
        clc
        jne .r
        stc
.r:     pop bx
        ret

; kb_peek: ZF=1 if empty, else AX = oldest key (left in the buffer).
kb_peek:
        push bx
        mov bx, [BDA_KBHEAD]
        cmp bx, [BDA_KBTAIL]
        je .r
        mov ax, [bx]
.r:     pop bx
        ret

; kb_drop: remove the oldest key.
kb_drop:
        push bx
        mov bx, [BDA_KBHEAD]
        add bx, 2
        cmp bx, [BDA_KBEND]
        jb .1
        mov bx, [BDA_KBSTART]
.1:     mov [BDA_KBHEAD], bx
        pop bx
        ret

; ---- INT 16h ---------------------------------------------------------------
int16_handler:
        sti
        cld
        FRAME_ENTER
        push word BDA_SEG
        pop ds
        cmp ah, 0x00
        je k_read
        cmp ah, 0x10
        je k_read
        cmp ah, 0x01
        je k_check
        cmp ah, 0x11
        je k_check
        cmp ah, 0x02
        je k_shift
        cmp ah, 0x12
        je k_shift_ext
        cmp ah, 0x05
        je k_store
        FRAME_LEAVE                 ; 03 (typematic) and others: accepted

; AH=00/10h: wait for a key -> AX = key code
k_read:
        mov bl, ah
.wait:  cli
        call serial_poll
        call kb_peek
        jnz .got
        sti                         ; STI;HLT: no wake-up can slip between
        hlt
        jmp .wait
.got:   call kb_drop
        sti
        cmp bl, 0x10
        je .ret
        call k_compat
.ret:   mov [bp+R_AX], ax
        FRAME_LEAVE

; AH=01/11h: ZF=1 if no key, else ZF=0 and AX = key (not removed)
k_check:
        mov bl, ah
        cli
        call serial_poll
        call kb_peek
        sti
        jz .empty
        cmp bl, 0x11
        je .ret
        call k_compat
.ret:   mov [bp+R_AX], ax
        and byte [bp+R_FLAGS], ~FLAG_ZF & 0xFF
        FRAME_LEAVE
.empty: or byte [bp+R_FLAGS], FLAG_ZF
        FRAME_LEAVE

; AH=02h: AL = shift flags; AH=12h: also AH = extended flags
k_shift:
        mov al, [BDA_KBFLAGS]
        mov [bp+R_AL], al
        FRAME_LEAVE
k_shift_ext:
        mov al, [BDA_KBFLAGS]
        mov ah, [BDA_KBFLAGS2]
        and ah, 0x73                ; held keys: locks, left ctrl/alt
        mov [bp+R_AX], ax
        FRAME_LEAVE

; AH=05h: push key CX -> AL = 0 ok, 1 buffer full
k_store:
        cli
        mov ax, cx
        call kb_push
        sti
        mov al, 0
        adc al, 0
        mov [bp+R_AL], al
        FRAME_LEAVE

; k_compat: the older functions show grey (E0) keys as keypad keys.
k_compat:
        cmp al, 0xE0
        jne .r
        test ah, ah
        jz .r
        xor al, al
.r:     ret

; ---- COM1 as a keyboard -----------------------------------------------------

; serial_poll: move bytes waiting in COM1 into the key buffer (DS = BDA).
serial_poll:
        pushad
        push es
        mov dx, [BDA_COM1]
        test dx, dx
        jz .r
        mov es, [BDA_EBDA]
        add dx, UART_LSR
.next:  call kb_full
        jc .r                       ; leave the rest in the UART's FIFO
        in al, dx
        cmp al, 0xFF
        je .r
        test al, 0x01
        jz .r
        call ser_rx
        call ser_key
        test ax, ax
        jz .next
        call kb_push
        jmp .next
.r:     pop es
        popad
        ret

; ser_rx: DX = LSR port; read the received byte into AL.
ser_rx:
        sub dx, UART_LSR
        in al, dx
        add dx, UART_LSR
        ret

; ser_rx_wait: DX = LSR port; AL = next byte, CF=1 if none comes within
; about 20 ms (what separates a lone Esc from an escape sequence).
ser_rx_wait:
        push bx
        push cx
        push si
        push ax
        call pit_read
        mov bx, ax                  ; last counter value
        xor si, si                  ; PIT clocks elapsed
        mov cx, 0xFFFF              ; in case the PIT does not run
.poll:  in al, dx
        test al, 0x01
        jnz .got
        call pit_read
        push bx
        sub bx, ax
        add si, bx
        pop bx
        mov bx, ax
        jc .late
        cmp si, 23864               ; 20 ms of PIT clocks
        jae .late
        loop .poll
.late:  pop ax
        stc
        jmp .r
.got:   pop ax
        call ser_rx
        clc
.r:     pop si
        pop cx
        pop bx
        ret

; ser_key: AL = byte from COM1 -> AX = key code (0 = none).
; ES = EBDA (remembers a CR so CR LF gives one Enter), DX = LSR port.
ser_key:
        mov ah, [es:E_SER_RXLAST]
        mov [es:E_SER_RXLAST], al
        cmp al, 0x0A
        jne .notlf
        cmp ah, 0x0D
        je .none                    ; the LF of a CR LF pair
        jmp .enter
.notlf: cmp al, 0x0D
        je .enter
        cmp al, 0x1B
        je ser_escape
        cmp al, 0x7F
        je .bs
        cmp al, 0x08
        je .bs
        cmp al, 0x09
        je .tab
        cmp al, 0x80
        jae .nokey
        cmp al, 0x20
        jb .ctrl
        call kbd_ascii_scan
        ret
.ctrl:  test al, al
        jz .nul
        cmp al, 0x1A
        ja .nokey
        push ax
        add al, 0x60                ; Ctrl-letter: scancode of the letter
        call kbd_ascii_scan
        pop bx
        mov al, bl
        ret
.enter: mov ax, 0x1C0D
        ret
.bs:    mov ax, 0x0E08
        ret
.tab:   mov ax, 0x0F09
        ret
.nul:   mov ax, 0x0300
        ret
.nokey: xor ah, ah                  ; no scancode, just the character
        ret
.none:  xor ax, ax
        ret

; kbd_ascii_scan: AL = printable ASCII -> AX = scancode:ASCII (US layout).
; Searches the unshifted table, then the shifted one (which follows it).
kbd_ascii_scan:
        push cx
        push si
        mov si, kbd_normal
        mov cx, KBD_TABLE_LEN * 2
.n:     cmp al, [cs:si]
        je .found
        inc si
        loop .n
        xor ah, ah                  ; unknown: character only
        jmp .r
.found: sub si, kbd_normal
        cmp si, KBD_TABLE_LEN
        jb .sc
        sub si, KBD_TABLE_LEN
.sc:    mov cx, si
        mov ah, cl
.r:     pop si
        pop cx
        ret

; ser_escape: an ESC arrived. Alone it is the Esc key; followed by '[' or
; 'O' it starts a key sequence.
ser_escape:
        call ser_rx_wait
        jc .esc
        cmp al, '['
        je .csi
        cmp al, 'O'
        je .ss3
        ; ESC + something else: deliver Esc, then that byte
        push ax
        mov ax, 0x011B
        call kb_push
        pop ax
        jmp ser_key
.esc:   mov ax, 0x011B
        ret
.ss3:   call ser_rx_wait
        jc .none
        cmp al, 'P'
        jb .final
        cmp al, 'S'
        ja .final
        sub al, 'P'                 ; F1-F4
        add al, 0x3B
        mov ah, al
        xor al, al
        ret
.csi:   xor cx, cx                  ; first numeric parameter
        mov bx, 1                   ; still in the first parameter
.param: call ser_rx_wait
        jc .none
        cmp al, ';'
        jne .digit
        xor bx, bx
        jmp .param
.digit: cmp al, '0'
        jb .final
        cmp al, '9'
        ja .final
        test bx, bx
        jz .param
        sub al, '0'
        movzx ax, al
        imul cx, cx, 10
        add cx, ax
        jmp .param
.final: mov si, esc_finals
.f:     cmp byte [cs:si], 0
        je .tilde
        cmp al, [cs:si]
        je .fhit
        add si, 3
        jmp .f
.fhit:  mov ax, [cs:si+1]
        ret
.tilde: cmp al, '~'
        jne .none
        mov si, esc_tilde
.t:     cmp byte [cs:si], 0
        je .none
        cmp cl, [cs:si]
        je .thit
        add si, 3
        jmp .t
.thit:  mov ax, [cs:si+1]
        ret
.none:  xor ax, ax
        ret

; ---- INT 09h: IRQ 1 ----------------------------------------------------------
int09_handler:
        push ax
        push bx
        push ds
        push word BDA_SEG
        pop ds
        in al, KBC_DATA
        test byte [BDA_KBMODE], 0x01    ; inside E1 1D 45 / E1 9D C5 (Pause)
        jz .noe1
        cmp al, 0x1D
        je .eoi
        cmp al, 0x9D
        je .eoi
        and byte [BDA_KBMODE], 0xFE
        jmp .eoi
.noe1:  cmp al, 0xE1
        jne .note1
        or byte [BDA_KBMODE], 0x01
        jmp .eoi
.note1: cmp al, 0xE0
        jne .code
        or byte [BDA_KBMODE], 0x02
        jmp .eoi
.code:  mov bh, [BDA_KBMODE]
        and bh, 0x02                ; BH = E0 prefix seen
        and byte [BDA_KBMODE], 0xFD
        mov bl, al
        and bl, 0x7F                ; BL = key, AL bit 7 = release
        ; --- shift keys
        mov ah, 0x02
        cmp bl, 0x2A
        je .shift
        mov ah, 0x01
        cmp bl, 0x36
        je .shift
        mov ah, 0x04
        cmp bl, 0x1D
        je .ctlalt
        mov ah, 0x08
        cmp bl, 0x38
        je .ctlalt
        ; --- lock keys
        mov ah, 0x40
        cmp bl, 0x3A
        je .lock
        mov ah, 0x20
        cmp bl, 0x45
        je .lock
        mov ah, 0x10
        cmp bl, 0x46
        je .lock
        test al, 0x80
        jnz .eoi                    ; other releases mean nothing here
        cmp bl, 0x52                ; Insert toggles the insert state
        jne .xlat
        test bh, bh
        jnz .ins
        test byte [BDA_KBFLAGS], 0x20
        jnz .xlat                   ; keypad 0 with Num Lock
.ins:   xor byte [BDA_KBFLAGS], 0x80
.xlat:  cmp bl, 0x53                ; Ctrl+Alt+Del: restart
        jne .xl
        mov ah, [BDA_KBFLAGS]
        and ah, 0x0C
        cmp ah, 0x0C
        jne .xl
        mov word [BDA_RESETFLAG], 0x1234
        mov al, 0x20
        out PIC1_CMD, al
        jmp BIOS_SEG:post_entry
.xl:    call kbd_translate
        test ax, ax
        jz .eoi
        call kb_push
        jmp .eoi
.shift: test bh, bh                 ; E0 2A / E0 36 are fake shifts
        jnz .eoi
.ctlalt:
        test al, 0x80
        jnz .up
        or [BDA_KBFLAGS], ah
        jmp .eoi
.up:    not ah
        and [BDA_KBFLAGS], ah
        jmp .eoi
.lock:  test bh, bh
        jnz .eoi
        test al, 0x80
        jnz .lockup
        test [BDA_KBFLAGS2], ah     ; held: typematic repeat, no toggle
        jnz .eoi
        or [BDA_KBFLAGS2], ah
        xor [BDA_KBFLAGS], ah
        jmp .eoi
.lockup:
        not ah
        and [BDA_KBFLAGS2], ah
.eoi:   mov al, 0x20
        out PIC1_CMD, al
        pop ds
        pop bx
        pop ax
        iret

; kbd_translate: BL = make code, BH = E0 prefix -> AX = key code, 0 = none.
kbd_translate:
        push si
        mov ah, bl                  ; scancode in AH by default
        mov al, [BDA_KBFLAGS]
        test bh, bh
        jz .plain
        ; grey keys
        cmp bl, 0x1C                ; keypad Enter
        je .enter
        cmp bl, 0x35                ; keypad /
        je .slash
        cmp bl, 0x47
        jb .none
        cmp bl, 0x53
        ja .none
        mov al, 0xE0
        jmp .r
.enter: mov ax, 0x1C0D
        jmp .r
.slash: mov ax, 0x352F
        jmp .r
.plain: cmp bl, 0x3B
        jb .main
        cmp bl, 0x44
        jbe .fkey
        cmp bl, 0x57
        je .f11
        cmp bl, 0x58
        je .f11
        cmp bl, 0x47
        jb .none
        cmp bl, 0x53
        ja .none
        ; keypad: digits with Num Lock xor Shift, else navigation
        cmp bl, 0x4A
        je .kpsym
        cmp bl, 0x4E
        je .kpsym
        mov ah, al
        shr ah, 5                   ; Num Lock
        test al, 0x03
        jz .nl
        xor ah, 1
.nl:    test ah, 1
        mov ah, bl
        jz .nav
.kpsym: movzx si, bl
        mov al, [cs:si+kbd_keypad-0x47]
        mov ah, bl
        jmp .r
.nav:   xor al, al
        jmp .r
.fkey:  ; F1-F10: plain 3B-44, shift 54-5D, ctrl 5E-67, alt 68-71
        mov ah, bl
        test al, 0x08
        jz .fk1
        add ah, 0x68 - 0x3B
        jmp .fk
.fk1:   test al, 0x04
        jz .fk2
        add ah, 0x5E - 0x3B
        jmp .fk
.fk2:   test al, 0x03
        jz .fk
        add ah, 0x54 - 0x3B
.fk:    xor al, al
        jmp .r
.f11:   ; F11/F12: 85/86, shift +2, ctrl +4, alt +6
        mov ah, bl
        add ah, 0x85 - 0x57
        test al, 0x08
        jz .f1
        add ah, 6
        jmp .fk
.f1:    test al, 0x04
        jz .f2
        add ah, 4
        jmp .fk
.f2:    test al, 0x03
        jz .fk
        add ah, 2
        jmp .fk
.main:  movzx si, bl
        test al, 0x08               ; Alt: scancode only
        jz .noalt
        xor al, al
        jmp .r
.noalt: test al, 0x04
        jnz .ctrl
        mov ah, al                  ; AH bit 0 = use the shifted table
        shr ah, 6                   ; Caps Lock
        and ah, 1
        cmp byte [cs:si+kbd_normal], 'a'
        jb .nocaps
        cmp byte [cs:si+kbd_normal], 'z'
        jbe .caps
.nocaps:
        xor ah, ah
.caps:  test al, 0x03
        jz .pick
        xor ah, 1
.pick:  test ah, 1
        mov ah, bl
        jz .norm
        mov al, [cs:si+kbd_shift]
        cmp bl, 0x0F                ; Shift+Tab
        jne .chk
        xor al, al
        jmp .r
.norm:  mov al, [cs:si+kbd_normal]
.chk:   test al, al
        jz .none
        jmp .r
.ctrl:  mov al, [cs:si+kbd_normal]
        cmp al, 'a'
        jb .ctl2
        cmp al, 'z'
        ja .ctl2
        sub al, 0x60
        jmp .r
.ctl2:  mov si, kbd_ctrl_keys
.ctl3:  cmp byte [cs:si], 0
        je .none
        cmp bl, [cs:si]
        je .ctl4
        add si, 3
        jmp .ctl3
.ctl4:  mov ax, [cs:si+1]
        jmp .r
.none:  xor ax, ax
.r:     pop si
        ret
