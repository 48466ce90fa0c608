; int15.asm — INT 15h system services of a PC/AT BIOS: the memory map
; (E820, E801, 88h), the A20 gate (port 0x92), waits, the extended-memory
; block move, the system configuration table and the EBDA segment.

int15_handler:
        cld
        FRAME_ENTER
        push word BDA_SEG
        pop fs
        cmp ax, 0xE820
        je s_e820
        cmp ax, 0xE801
        je s_e801
        cmp ah, 0x88
        je s_ext_mem
        cmp ah, 0x86
        je s_wait
        cmp ah, 0x87
        je s_block_move
        cmp ah, 0x24
        je s_a20
        cmp ah, 0xC0
        je s_config
        cmp ah, 0xC1
        je s_ebda_seg
        cmp ah, 0x4F                ; keyboard intercept: keep the scancode
        je s_cf_only
        cmp ah, 0x90                ; device busy / interrupt complete hooks
        je s_ok
        cmp ah, 0x91
        je s_ok
s_unsupported:
        mov byte [bp+R_AH], 0x86
s_cf_only:
        SET_CF
        FRAME_LEAVE
s_ok:   mov byte [bp+R_AH], 0
        CLEAR_CF
        FRAME_LEAVE

; ---- AX=E820h: one memory map entry per call ------------------------------
; EDX = 'SMAP', EBX = continuation (entry index), ECX = buffer size,
; ES:DI = buffer. Returns EAX = 'SMAP', ECX = 20, EBX = next (0 = last).
s_e820:
        cmp edx, 0x534D4150
        jne s_unsupported
        cmp ecx, 20
        jb s_unsupported
        mov gs, [fs:BDA_EBDA]
        movzx eax, byte [gs:E_E820_COUNT]
        cmp ebx, eax
        jae s_unsupported
        imul si, bx, 20
        add si, E_E820
        mov es, [bp+R_ES]
        push ds
        push gs
        pop ds
        mov cx, 10
        rep movsw
        pop ds
        inc ebx
        cmp ebx, eax
        jb .more
        xor ebx, ebx
.more:  mov [bp+R_EBX], ebx
        mov dword [bp+R_EAX], 0x534D4150
        mov dword [bp+R_ECX], 20
        CLEAR_CF
        FRAME_LEAVE

; ---- AX=E801h: AX = CX = KiB between 1 and 16 MiB, BX = DX = 64 KiB
; blocks above 16 MiB (below 4 GiB) ------------------------------------------
s_e801:
        mov al, CMOS_EXT_HI
        call cmos_read
        mov ah, al
        mov al, CMOS_EXT_LO
        call cmos_read
        cmp ax, 0x3C00
        jbe .lo
        mov ax, 0x3C00
.lo:    mov [bp+R_AX], ax
        mov [bp+R_CX], ax
        mov al, CMOS_EXT16_HI
        call cmos_read
        mov ah, al
        mov al, CMOS_EXT16_LO
        call cmos_read
        mov [bp+R_BX], ax
        mov [bp+R_DX], ax
        CLEAR_CF
        FRAME_LEAVE

; ---- AH=88h: AX = KiB above 1 MiB (as CMOS holds it, at most 0xFFFF) -----
s_ext_mem:
        mov al, CMOS_EXT_HI
        call cmos_read
        mov ah, al
        mov al, CMOS_EXT_LO
        call cmos_read
        mov [bp+R_AX], ax
        CLEAR_CF
        FRAME_LEAVE

; ---- AH=86h: wait CX:DX microseconds --------------------------------------
; Counts PIT channel 0 clocks (1.193182 MHz) by reading the counter, so it
; works with interrupts on or off and needs no RTC interrupt.
s_wait:
        sti
        mov ax, cx
        shl eax, 16
        mov ax, dx
        mov ebx, 1193182
        mul ebx
        mov ebx, 1000000
        cmp edx, ebx
        jae .max
        div ebx
        jmp .go
.max:   or eax, -1
.go:    mov esi, eax                ; PIT clocks to wait
        xor edi, edi                ; PIT clocks elapsed
        call pit_read
        mov bx, ax
.loop:  cmp edi, esi
        jae .done
        call pit_read
        mov dx, bx
        sub dx, ax                  ; the counter runs down, modulo 65536
        mov bx, ax
        movzx edx, dx
        add edi, edx
        jmp .loop
.done:  jmp s_ok

; ---- AH=87h: copy CX words between the addresses in a caller's GDT -------
; ES:SI = 48-byte GDT: +10h source descriptor, +18h destination
; descriptor. Enters protected mode just long enough for a REP MOVSW; CS
; and SS keep their real-mode caches, and interrupts stay off meanwhile.
s_block_move:
        cli
        cmp cx, 0x8000
        ja .inval
        movzx eax, word [bp+R_ES]
        shl eax, 4
        movzx ebx, si
        add eax, ebx
        push eax                    ; GDTR image: limit, 32-bit base
        push word 0x2F
        mov bx, sp
        o32 lgdt [ss:bx]
        add sp, 6
        in al, SYS_CTRL_A           ; the addresses may be above 1 MiB
        or al, 0x02
        and al, 0xFE
        out SYS_CTRL_A, al
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp short .pm
.pm:    mov ax, 0x10
        mov ds, ax
        mov ax, 0x18
        mov es, ax
        xor si, si
        xor di, di
        rep movsw
        mov eax, cr0
        and al, 0xFE
        mov cr0, eax
        jmp short .rm
.rm:    xor ax, ax                  ; real-mode values (FRAME_LEAVE reloads)
        mov ds, ax
        mov es, ax
        and byte [bp+R_FLAGS], ~FLAG_CF & 0xFF
        or byte [bp+R_FLAGS], FLAG_ZF
        mov byte [bp+R_AH], 0
        FRAME_LEAVE
.inval: mov byte [bp+R_AH], 0x01
        SET_CF
        FRAME_LEAVE

; ---- AX=2400h-2403h: A20 gate through port 0x92 ---------------------------
s_a20:
        cmp al, 0x03
        ja s_unsupported
        je .query
        cmp al, 0x02
        je .status
        mov ah, al                  ; 0 = disable, 1 = enable
        in al, SYS_CTRL_A
        and al, 0xFC
        shl ah, 1
        or al, ah
        out SYS_CTRL_A, al
        jmp s_ok
.status:
        in al, SYS_CTRL_A
        shr al, 1
        and al, 1
        mov [bp+R_AL], al
        jmp s_ok
.query: mov word [bp+R_BX], 0x0002  ; supported through port 0x92
        jmp s_ok

; ---- AH=C0h: ES:BX = system configuration table ---------------------------
s_config:
        mov word [bp+R_ES], BIOS_SEG
        mov word [bp+R_BX], config_table
        jmp s_ok

; ---- AH=C1h: ES = EBDA segment ----------------------------------------------
s_ebda_seg:
        mov ax, [fs:BDA_EBDA]
        mov [bp+R_ES], ax
        CLEAR_CF
        FRAME_LEAVE
