; int13.asm — INT 13h disk services, backed by the ATA primary master.
;
; Models a PC/AT fixed-disk BIOS with the Enhanced Disk Drive extensions:
; drive 80h is the disk on the primary ATA channel (ports 0x1F0-0x1F7,
; 0x3F6), driven by polled PIO with the drive's interrupt disabled (nIEN).
; CHS requests are translated to LBA with the geometry chosen at POST;
; LBA28 commands are used where they reach, LBA48 beyond. There are no
; diskette drives: requests for DL < 80h fail.

int13_handler:
        sti                         ; a disk transfer may be long: let time run
        cld
        FRAME_ENTER
        push word BDA_SEG
        pop fs
        mov gs, [fs:BDA_EBDA]
        cmp dl, 0x80
        jb .floppy
        jne .nodrive
        test byte [gs:E_DISK_FLAGS], DISK_PRESENT
        jz .nodrive
        mov si, int13_funcs
.find:  cmp si, int13_funcs_end
        jae .bad
        cmp ah, [cs:si]
        je .found
        add si, 3
        jmp .find
.found: call [cs:si+1]              ; returns AL = status, 0xFF = "AH set"
        cmp al, 0xFF
        je .custom
.status:
        mov [bp+R_AH], al
        mov [fs:BDA_HDSTATUS], al
        test al, al
        jnz .err
        CLEAR_CF
        FRAME_LEAVE
.err:   SET_CF
        FRAME_LEAVE
.custom:
        mov byte [fs:BDA_HDSTATUS], 0
        CLEAR_CF
        FRAME_LEAVE
.bad:   mov al, 0x01                ; invalid function
        jmp .status
.floppy:
        cmp ah, 0x15                ; "no such drive" is a valid answer
        je .none
        mov byte [bp+R_AH], 0x01
        mov byte [fs:BDA_FDSTATUS], 0x01
        SET_CF
        FRAME_LEAVE
.nodrive:
        cmp ah, 0x15
        je .none
        mov al, 0x01
        jmp .status
.none:  mov byte [bp+R_AH], 0
        CLEAR_CF
        FRAME_LEAVE

int13_funcs:
        db 0x00
        dw d_reset
        db 0x01
        dw d_last_status
        db 0x02
        dw d_read
        db 0x03
        dw d_write
        db 0x04
        dw d_verify
        db 0x08
        dw d_params
        db 0x0C
        dw d_ok                     ; seek
        db 0x0D
        dw d_reset
        db 0x10
        dw d_ok                     ; test unit ready
        db 0x11
        dw d_ok                     ; recalibrate
        db 0x15
        dw d_type
        db 0x41
        dw d_ext_check
        db 0x42
        dw d_ext_read
        db 0x43
        dw d_ext_write
        db 0x44
        dw d_ext_verify
        db 0x47
        dw d_ok                     ; extended seek
        db 0x48
        dw d_ext_params
int13_funcs_end:

d_ok:
        xor al, al
        ret

d_reset:
        call ata_wait_notbusy
        jc .r
        xor al, al
.r:     ret

d_last_status:
        mov al, [fs:BDA_HDSTATUS]
        ret

; ---- AH=02/03/04: CHS read / write / verify -------------------------------
; AL = count, CH = cylinder low, CL = sector | cylinder bits 8-9 << 6,
; DH = head, ES:BX = buffer. Returns AL = sectors done.
d_read:
        mov byte [bp+R_AL], 0
        xor di, di                  ; operation 0: read
        jmp d_chs
d_write:
        mov byte [bp+R_AL], 0
        mov di, 1
        jmp d_chs
d_verify:
        mov byte [bp+R_AL], 0
        mov di, 2
d_chs:
        movzx ebx, al               ; EBX = count
        test al, al
        jz .inval
        movzx eax, cl               ; cylinder
        shl ax, 2
        mov al, ch
        movzx esi, cl
        and si, 0x3F                ; sector (1-based)
        jz .nf
        cmp si, [gs:E_LSPT]
        ja .nf
        cmp ax, [gs:E_LCYL]
        jae .nf
        movzx ecx, dh
        cmp cx, [gs:E_LHEADS]
        jae .nf
        ; LBA = (cyl * heads + head) * spt + sector - 1
        movzx edx, word [gs:E_LHEADS]
        imul eax, edx
        add eax, ecx
        movzx edx, word [gs:E_LSPT]
        imul eax, edx
        lea eax, [eax+esi-1]
        xor edx, edx
        mov cx, bx
        movzx edi, di
        push di
        movzx ebx, word [bp+R_ES]   ; linear buffer address
        shl ebx, 4
        movzx esi, word [bp+R_BX]
        add ebx, esi
        pop si                      ; operation
        mov edi, ebx
        mov bx, si
        call ata_xfer
        mov [bp+R_AL], cl
        ret
.inval: mov al, 0x01
        ret
.nf:    mov al, 0x04                ; sector not found
        ret

; ---- AH=08: drive parameters -----------------------------------------------
d_params:
        mov ax, [gs:E_LCYL]
        dec ax                      ; maximum cylinder number
        mov ch, al
        mov cl, ah
        shl cl, 6
        or cl, [gs:E_LSPT]
        mov dh, [gs:E_LHEADS]
        dec dh
        mov dl, [fs:BDA_HDCOUNT]
        mov [bp+R_CX], cx
        mov [bp+R_DX], dx
        mov word [bp+R_AX], 0
        mov al, 0xFF
        ret

; ---- AH=15h: disk type -> AH = 3 (fixed disk), CX:DX = sectors ----------
d_type:
        mov eax, [gs:E_TOTAL]
        cmp dword [gs:E_TOTAL+4], 0
        je .fits
        or eax, -1
.fits:  mov [bp+R_DX], ax
        shr eax, 16
        mov [bp+R_CX], ax
        mov byte [bp+R_AH], 3
        mov al, 0xFF
        ret

; ---- AH=41h: EDD installation check ----------------------------------------
d_ext_check:
        cmp bx, 0x55AA
        jne .no
        mov word [bp+R_BX], 0xAA55
        mov byte [bp+R_AH], 0x30    ; EDD 3.0
        mov word [bp+R_CX], 0x0001  ; fixed disk access subset (42-44,47,48)
        mov al, 0xFF
        ret
.no:    mov al, 0x01
        ret

; ---- AH=42h/43h/44h: extended read / write / verify, DS:SI = packet ------
;   +0 size (>= 10h), +2 word count, +4 buffer offset, +6 buffer segment,
;   +8 qword LBA. The count is updated to the blocks transferred.
d_ext_read:
        xor bx, bx
        jmp d_ext
d_ext_write:
        mov bx, 1
        jmp d_ext
d_ext_verify:
        mov bx, 2
d_ext:
        mov es, [bp+R_DS]
        mov si, [bp+R_SI]
        cmp byte [es:si], 0x10
        jb .inval
        mov cx, [es:si+2]
        mov word [es:si+2], 0
        jcxz .zero
        cmp dword [es:si+4], -1     ; 64-bit flat buffer: not in real mode
        je .inval
        movzx edi, word [es:si+6]
        shl edi, 4
        movzx eax, word [es:si+4]
        add edi, eax
        mov eax, [es:si+8]
        mov edx, [es:si+12]
        push es
        push si
        call ata_xfer
        pop si
        pop es
        mov [es:si+2], cx
        ret
.zero:  xor al, al
        ret
.inval: mov al, 0x01
        ret

; ---- AH=48h: extended drive parameters, DS:SI = result buffer ------------
d_ext_params:
        mov es, [bp+R_DS]
        mov di, [bp+R_SI]
        mov ax, [es:di]
        cmp ax, 0x1A
        jb .inval
        mov dx, 0x1A
        cmp ax, 0x1E
        jb .small
        mov dx, 0x1E
        mov dword [es:di+0x1A], 0xFFFFFFFF  ; no device parameter table
.small: mov [es:di], dx
        mov word [es:di+2], 0x0002  ; CHS information is valid
        movzx eax, word [gs:E_PCYL]
        mov [es:di+4], eax
        movzx eax, word [gs:E_PHEADS]
        mov [es:di+8], eax
        movzx eax, word [gs:E_PSPT]
        mov [es:di+12], eax
        mov eax, [gs:E_TOTAL]
        mov [es:di+16], eax
        mov eax, [gs:E_TOTAL+4]
        mov [es:di+20], eax
        mov word [es:di+24], 512
        xor al, al
        ret
.inval: mov al, 0x01
        ret

; ---------------------------------------------------------------------------
; ata_xfer: move sectors between the primary master and memory by PIO.
;   in : EDX:EAX = first LBA, CX = count (>= 1), EDI = linear buffer,
;        BX = 0 read, 1 write, 2 verify; GS = EBDA
;   out: AL = INT 13h status (0 = success), CX = sectors done
; Each sector's address is recomputed from the linear one, so a buffer may
; run across a 64 KiB boundary and simply continues in memory.
; Clobbers EAX EBX ECX EDX ESI EDI, DS, ES.
L_LBA   equ -8                      ; qword
L_LIN   equ -12
L_LEFT  equ -14
L_DONE  equ -16
L_OP    equ -18
L_N     equ -20

ata_xfer:
        push bp
        mov bp, sp
        sub sp, 20
        mov [bp+L_LBA], eax
        mov [bp+L_LBA+4], edx
        mov [bp+L_LIN], edi
        mov [bp+L_LEFT], cx
        mov word [bp+L_DONE], 0
        mov [bp+L_OP], bx
        ; the whole request must lie on the disk
        movzx ecx, cx
        add eax, ecx
        adc edx, 0
        cmp edx, [gs:E_TOTAL+4]
        ja .range
        jb .chunk
        cmp eax, [gs:E_TOTAL]
        ja .range
.chunk: mov cx, [bp+L_LEFT]
        test cx, cx
        jz .ok
        cmp word [bp+L_OP], 2
        je .verify
        cmp cx, 128                 ; at most 128 sectors per command
        jbe .n
        mov cx, 128
.n:     mov [bp+L_N], cx
        call ata_wait_notbusy
        jc .fail
        mov eax, [bp+L_LBA]
        mov edx, [bp+L_LBA+4]
        ; LBA28 if the last sector is below 2^28, else LBA48
        test edx, edx
        jnz .lba48
        movzx esi, cx
        add esi, eax
        jc .lba48
        cmp esi, 0x10000000
        ja .lba48
        mov esi, eax
        shr eax, 24
        and al, 0x0F
        or al, 0xE0                 ; master, LBA
        mov dx, ATA_DEVICE
        out dx, al
        call ata_delay
        mov dx, ATA_COUNT
        mov al, cl
        out dx, al
        inc dx
        mov eax, esi
        out dx, al                  ; LBA 0-7
        inc dx
        shr eax, 8
        out dx, al                  ; LBA 8-15
        inc dx
        shr eax, 8
        out dx, al                  ; LBA 16-23
        mov al, 0x20                ; READ SECTORS
        cmp word [bp+L_OP], 0
        je .cmd
        mov al, 0x30                ; WRITE SECTORS
        jmp .cmd
.lba48: test byte [gs:E_DISK_FLAGS], DISK_LBA48
        jz .range
        mov dx, ATA_DEVICE
        mov al, 0x40                ; master, LBA
        out dx, al
        call ata_delay
        mov dx, ATA_COUNT
        xor al, al                  ; count bits 8-15 (n <= 128)
        out dx, al
        inc dx
        mov eax, [bp+L_LBA]
        shr eax, 24
        out dx, al                  ; LBA 24-31
        inc dx
        mov eax, [bp+L_LBA+4]
        out dx, al                  ; LBA 32-39
        inc dx
        shr eax, 8
        out dx, al                  ; LBA 40-47
        mov dx, ATA_COUNT
        mov al, cl
        out dx, al
        inc dx
        mov eax, [bp+L_LBA]
        out dx, al                  ; LBA 0-7
        inc dx
        shr eax, 8
        out dx, al                  ; LBA 8-15
        inc dx
        shr eax, 8
        out dx, al                  ; LBA 16-23
        mov al, 0x24                ; READ SECTORS EXT
        cmp word [bp+L_OP], 0
        je .cmd
        mov al, 0x34                ; WRITE SECTORS EXT
.cmd:   mov dx, ATA_STATUS
        out dx, al
        call ata_delay
.sector:
        call ata_wait_drq
        jc .fail
        mov eax, [bp+L_LIN]
        cmp eax, 0xFFFF0
        jb .norm
        sub eax, 0xFFFF0            ; above 1 MiB: FFFF:xxxx (A20 is on)
        mov si, ax
        mov ax, 0xFFFF
        jmp .seg
.norm:  mov si, ax
        and si, 0x0F
        shr eax, 4
.seg:   mov cx, 256
        mov dx, ATA_DATA
        cmp word [bp+L_OP], 0
        jne .out
        mov es, ax
        mov di, si
        rep insw
        jmp .next
.out:   mov ds, ax
        rep outsw
.next:  add dword [bp+L_LIN], 512
        inc word [bp+L_DONE]
        dec word [bp+L_LEFT]
        add dword [bp+L_LBA], 1
        adc dword [bp+L_LBA+4], 0
        dec word [bp+L_N]
        jnz .sector
        cmp word [bp+L_OP], 1
        jne .chunk
        call ata_wait_notbusy       ; the last written sector is committed
        jc .fail
        test al, 0x21
        jz .chunk
        call ata_error_status
        jmp .fail
.verify:                            ; nothing to move: the range was checked
        add [bp+L_DONE], cx
        mov word [bp+L_LEFT], 0
.ok:    xor al, al
        jmp .ret
.range: mov al, 0x04
.fail:
.ret:   mov cx, [bp+L_DONE]
        mov sp, bp
        pop bp
        ret

; ata_delay: the 400 ns a device needs after a select or command.
ata_delay:
        push ax
        push dx
        mov dx, ATA_ALTSTATUS
        in al, dx
        in al, dx
        in al, dx
        in al, dx
        pop dx
        pop ax
        ret

; ata_wait_notbusy: AL = status once BSY clears; CF=1, AL=80h on timeout.
ata_wait_notbusy:
        push ecx
        push dx
        mov ecx, ATA_TIMEOUT
        mov dx, ATA_STATUS
.poll:  in al, dx
        test al, 0x80
        jz .ok
        dec ecx
        jnz .poll
        mov al, 0x80
        stc
        jmp .r
.ok:    clc
.r:     pop dx
        pop ecx
        ret

; ata_wait_drq: wait for data; CF=1 with AL = INT 13h status on error.
ata_wait_drq:
        call ata_wait_notbusy
        jc .r
        test al, 0x21               ; ERR or device fault
        jnz .err
        test al, 0x08
        jz .nodrq
        clc
.r:     ret
.err:   call ata_error_status
        stc
        ret
.nodrq: mov al, 0x20                ; controller failure
        stc
        ret

; ata_error_status: map the ATA error register to an INT 13h status.
ata_error_status:
        push dx
        mov dx, ATA_ERROR
        in al, dx
        pop dx
        test al, 0x40               ; uncorrectable data
        jnz .unc
        test al, 0x14               ; ID not found / aborted
        jnz .nf
        mov al, 0xBB                ; undefined error
        ret
.unc:   mov al, 0x10
        ret
.nf:    mov al, 0x04
        ret

; ---------------------------------------------------------------------------
; ata_probe (POST): IDENTIFY the primary master; record its size and
; geometry in the EBDA, point INT 41h at a fixed disk parameter table.
ata_probe:
        push word BDA_SEG
        pop ds
        mov es, [BDA_EBDA]
        mov byte [BDA_HDCOUNT], 0
        mov byte [es:E_DISK_FLAGS], 0
        mov dx, ATA_STATUS
        in al, dx
        cmp al, 0xFF                ; floating bus: no controller
        je .none
        mov dx, ATA_ALTSTATUS
        mov al, 0x02                ; nIEN: we poll, no IRQ 14
        out dx, al
        mov dx, ATA_DEVICE
        mov al, 0xA0                ; select master
        out dx, al
        call ata_delay
        call ata_wait_notbusy
        jc .none
        test al, al                 ; no device answers with status 0
        jz .none
        mov dx, ATA_COUNT
        xor al, al
        out dx, al
        inc dx
        out dx, al
        inc dx
        out dx, al
        inc dx
        out dx, al
        mov dx, ATA_STATUS
        mov al, 0xEC                ; IDENTIFY DEVICE
        out dx, al
        call ata_delay
        in al, dx
        test al, al
        jz .none
        call ata_wait_drq
        jc .none                    ; e.g. an ATAPI device aborts IDENTIFY
        mov di, E_IDENTIFY
        mov cx, 256
        mov dx, ATA_DATA
        rep insw
        ; --- capacity
        xor edx, edx
        mov eax, [es:E_IDENTIFY+60*2]
        test byte [es:E_IDENTIFY+83*2+1], 0x04  ; word 83 bit 10: LBA48
        jz .lba28
        or byte [es:E_DISK_FLAGS], DISK_LBA48
        mov eax, [es:E_IDENTIFY+100*2]
        mov edx, [es:E_IDENTIFY+102*2]
.lba28: test byte [es:E_IDENTIFY+49*2+1], 0x02  ; word 49 bit 9: LBA
        jnz .cap
        movzx eax, word [es:E_IDENTIFY+1*2]     ; CHS-only drive
        movzx ecx, word [es:E_IDENTIFY+3*2]
        imul eax, ecx
        movzx ecx, word [es:E_IDENTIFY+6*2]
        imul eax, ecx
        xor edx, edx
.cap:   mov [es:E_TOTAL], eax
        mov [es:E_TOTAL+4], edx
        ; --- geometry the drive reports (or a 16/63 one if it reports none)
        mov ax, [es:E_IDENTIFY+1*2]
        mov bx, [es:E_IDENTIFY+3*2]
        mov cx, [es:E_IDENTIFY+6*2]
        test ax, ax
        jz .mkgeo
        test bx, bx
        jz .mkgeo
        test cx, cx
        jnz .pgeo
.mkgeo: mov bx, 16
        mov cx, 63
        call .cyls
.pgeo:  mov [es:E_PCYL], ax
        mov [es:E_PHEADS], bx
        mov [es:E_PSPT], cx
        ; --- geometry for INT 13h: the drive's own when it fits the 1024
        ; cylinders of the CHS interface, else an LBA-assisted translation
        cmp ax, 1024
        jbe .lgeo
        mov cx, 63
        mov bx, 16
.heads: push bx
        call .cyls
        pop bx
        cmp ax, 1024
        jbe .lgeo
        cmp bx, 128
        jae .h255
        shl bx, 1
        jmp .heads
.h255:  mov bx, 255
        call .cyls
        cmp ax, 1024
        jbe .lgeo
        mov ax, 1024
.lgeo:  mov [es:E_LCYL], ax
        mov [es:E_LHEADS], bx
        mov [es:E_LSPT], cx
        ; --- fixed disk parameter table (INT 41h)
        mov [es:E_FDPT+0], ax
        mov [es:E_FDPT+2], bl
        mov word [es:E_FDPT+5], 0xFFFF  ; no write precompensation
        mov byte [es:E_FDPT+8], 0x08    ; more than 8 heads
        mov [es:E_FDPT+12], ax          ; landing zone
        mov [es:E_FDPT+14], cl
        push es
        xor ax, ax
        mov es, ax
        mov word [es:0x41*4], E_FDPT
        mov ax, [BDA_EBDA]
        mov [es:0x41*4+2], ax
        pop es
        or byte [es:E_DISK_FLAGS], DISK_PRESENT
        mov byte [BDA_HDCOUNT], 1
.none:  ret
; .cyls: AX = min(total / (BX * CX), 16383), at least 1; keeps BX, CX.
.cyls:  push edx
        push ecx
        push ebx
        movzx ebx, bx
        movzx ecx, cx
        imul ebx, ecx
        mov eax, [es:E_TOTAL]
        mov edx, [es:E_TOTAL+4]
        cmp edx, ebx
        jae .big
        div ebx
        cmp eax, 16383
        jbe .cnz
.big:   mov eax, 16383
.cnz:   test eax, eax
        jnz .cdone
        inc eax
.cdone: pop ebx
        pop ecx
        pop edx
        ret
