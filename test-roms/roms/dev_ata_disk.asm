; dev_ata_disk.asm — an ATA hard disk on the primary channel (1F0h-1F7h,
; 3F6h, IRQ 14), PIO only, against a real raw image.
; rom-disk: 1MiB
; rom-disk-written: 100-102, 200-209, 300-301, 1500-1501
;
; The runner attaches a fresh 1 MiB image (2048 sectors) as the primary
; master; sector n holds the runner's pattern: bytes 0-3 = n (32-bit little
; endian), byte i (4-511) = (n + i) & FFh. Every write below stores the
; inverted pattern (each byte XOR FFh) of the sector it goes to, and the
; runner checks afterwards that exactly the sectors listed above were
; rewritten. Checked, per ATA/ATAPI-6 (T13/1410D):
;   - the device answers: registers echo, BSY clears with DRDY set;
;   - IDENTIFY DEVICE (ECh): DRQ, word 0 bit 15 = 0 (ATA) and bit 7 = 0
;     (not removable), word 49 bit 9 (LBA), words 60-61 = 2048 (LBA28
;     capacity), word 83 bits 15-14 = 01b and bit 10 (48-bit feature set),
;     words 100-103 = 2048, word 47 allows blocks of 4; DRQ clears after the
;     256th word;
;   - READ SECTORS (20h) of 1, 5 (crossing an LBA mid-byte carry) and 256
;     (count 0) sectors and of the last sector: DRQ (with BSY, ERR clear)
;     before every sector, the pattern, DRDY without DRQ/ERR after the last;
;   - WRITE SECTORS (30h) of 3 sectors, DRQ before each, read back with
;     the neighbours (the neighbours must be untouched);
;   - 48-bit: the HOB bit of device control reads back the previous
;     register contents and any command block write clears it; READ
;     SECTORS EXT (24h) of the last 2 sectors and of 256 sectors (count
;     0100h: the high byte counts), WRITE SECTORS EXT (34h), read back by
;     both READ SECTORS EXT and READ SECTORS;
;   - SET MULTIPLE MODE (C6h): a block size that is not a power of two is
;     aborted, 4 is taken; READ MULTIPLE (C4h) / WRITE MULTIPLE (C5h) /
;     READ MULTIPLE EXT (29h) of 10 or 6 sectors move the right data, and
;     (in the IRQ group) READ MULTIPLE of 10 sectors interrupts once per
;     block of 4, 4 and 2 sectors. IDENTIFY word 59 (current block size) is
;     not checked: QEMU answers every IDENTIFY after the first with the
;     words it built the first time;
;   - errors: READ SECTORS (EXT) at LBA 2048 (just past the end) ends with
;     ERR and IDNF or ABRT in the error register (the spec allows either:
;     QEMU reports ABRT, crane86 IDNF); an unassigned command code (01h)
;     ends with ERR and ABRT; a read afterwards works;
;   - IRQ 14 through the 8259 (vector 2Eh) with nIEN clear: one interrupt
;     per READ SECTORS block with DRQ in the status the handler reads, none
;     when the data-in transfer ends; WRITE SECTORS: no interrupt before the
;     first block, one after each block (DRQ after the first of two, DRDY
;     only after the last); READ MULTIPLE: one per block; an aborted command
;     interrupts too; with nIEN set no interrupt arrives;
;   - FLUSH CACHE (E7h) completes without error.
; Status is compared under mask C9h (BSY, DRDY, DRQ, ERR): bit 4 (DSC, now
; command-specific) differs (QEMU clears it on errors), bit 5 (DF) is
; never expected. Nothing is asserted that depends on timing: QEMU's disk
; I/O is asynchronous (BSY for a while), crane86's is instant.

%include "testrom.inc"
%include "vectest.inc"
%include "check.inc"

IRQCNT  equ     0x0600          ; dw IRQ 14 count
IRQST   equ     0x0602          ; db status read by the IRQ 14 handler
OTHER   equ     0x0604          ; dw other IRQs (must stay 0)
RD_LBA  equ     0x0608          ; dd next sector of a transfer
RD_LEFT equ     0x060C          ; dw sectors still to move
RD_BLK  equ     0x060E          ; dw sectors per DRQ block
RD_GOOD equ     0x0610          ; dw sectors moved correctly
RD_ST   equ     0x0612          ; db status after the transfer
BUF     equ     0x1000          ; a sector or IDENTIFY data from the disk
PAT     equ     0x3000          ; the pattern a sector should hold

ST_MASK equ     0xC9            ; BSY DRDY DRQ ERR
ST_RDY  equ     0x40            ; DRDY
ST_DRQ  equ     0x48            ; DRDY DRQ
ST_ERR  equ     0x41            ; DRDY ERR
NIEN    equ     0x02            ; device control: interrupts off

DISK_SECTORS equ 2048

%macro OUTB 2
        mov     dx, %1
        mov     al, %2
        out     dx, al
%endmacro

%macro INB 1
        mov     dx, %1
        in      al, dx
%endmacro

; XFER cmd, lba, count, block, routine: issue a PIO command and move its
; data with read_data or write_data.
%macro XFER 5
        mov     dword [RD_LBA], %2
        mov     word [RD_LEFT], %3
        mov     word [RD_BLK], %4
        mov     ebx, %2
        mov     cx, %3
        mov     ah, %1
        call    issue
        call    %5
%endmacro

; All %1 sectors moved, then DRDY without DRQ or ERR.
%macro EXPECT_DONE 1
        EXPECT16 [RD_GOOD], %1
        mov     al, [RD_ST]
        and     al, ST_MASK
        EXPECT8 al, ST_RDY
%endmacro

; The command ended with ERR, BSY and DRQ clear.
%macro EXPECT_ERROR 0
        call    poll_status
        and     al, ST_MASK
        EXPECT8 al, ST_ERR
%endmacro

rom_start:
        call    vt_init
        call    apic_virtual_wire
        mov     word [IRQCNT], 0
        mov     word [OTHER], 0
        ; IVT: 20h-2Fh count stray IRQs, 2Eh (IRQ 14) is the disk's
        mov     bx, 0x20*4
.iv:    mov     word [bx], irq_other
        mov     word [bx+2], 0xF000
        add     bx, 4
        cmp     bx, 0x30*4
        jb      .iv
        mov     word [0x2E*4], irq14
        call    pic_init                ; everything masked

        TGROUP  "ata disk present"
        OUTB    0x3F6, NIEN             ; polled until the IRQ group
        OUTB    0x1F6, 0xA0             ; device 0
        call    poll_status
        and     al, ST_MASK
        EXPECT8 al, ST_RDY
        call    probe
        EXPECT8 al, 4                   ; 1F2h-1F5h all echo
        TEND

        TGROUP  "ata identify"
        call    identify
        EXPECT8 [RD_ST], ST_DRQ         ; (masked in identify)
        mov     ax, [BUF + 0*2]
        and     ax, 0x8080
        EXPECT16 ax, 0                  ; ATA device, not removable
        mov     ax, [BUF + 49*2]
        and     ax, 0x0200
        EXPECT16 ax, 0x0200             ; LBA supported
        EXPECT32 [BUF + 60*2], DISK_SECTORS
        mov     ax, [BUF + 83*2]
        and     ax, 0xC400
        EXPECT16 ax, 0x4400             ; valid, 48-bit address feature set
        EXPECT32 [BUF + 100*2], DISK_SECTORS
        EXPECT32 [BUF + 102*2], 0
        cmp     byte [BUF + 47*2], 4    ; largest READ/WRITE MULTIPLE block
        setae   al
        EXPECT8 al, 1
        call    poll_status
        and     al, ST_MASK
        EXPECT8 al, ST_RDY              ; DRQ gone after the last word
        TEND

        TGROUP  "ata read sectors"
        XFER    0x20, 0, 1, 1, read_data
        EXPECT_DONE 1
        XFER    0x20, DISK_SECTORS - 1, 1, 1, read_data
        EXPECT_DONE 1
        XFER    0x20, 0x3FD, 5, 1, read_data
        EXPECT_DONE 5
        XFER    0x20, 0x400, 256, 1, read_data  ; count register 0
        EXPECT_DONE 256
        TEND

        TGROUP  "ata write sectors"
        XFER    0x30, 100, 3, 1, write_data
        EXPECT_DONE 3
        XFER    0x20, 99, 5, 1, read_data
        EXPECT_DONE 5
        TEND

        TGROUP  "ata lba48 hob"
        OUTB    0x1F2, 0x12
        OUTB    0x1F2, 0x34
        OUTB    0x1F4, 0x56
        OUTB    0x1F4, 0x78
        INB     0x1F2
        EXPECT8 al, 0x34
        OUTB    0x3F6, 0x80 | NIEN      ; HOB: the previous contents
        INB     0x1F2
        EXPECT8 al, 0x12
        INB     0x1F4
        EXPECT8 al, 0x56
        OUTB    0x1F5, 0                ; any command block write clears HOB
        INB     0x1F2
        EXPECT8 al, 0x34
        INB     0x1F4
        EXPECT8 al, 0x78
        OUTB    0x3F6, NIEN
        TEND

        TGROUP  "ata lba48"
        XFER    0x24, DISK_SECTORS - 2, 2, 1, read_data
        EXPECT_DONE 2
        XFER    0x24, 0x200, 0x100, 1, read_data
        EXPECT_DONE 256
        XFER    0x34, 1500, 2, 1, write_data
        EXPECT_DONE 2
        XFER    0x24, 1499, 4, 1, read_data
        EXPECT_DONE 4
        XFER    0x20, 1500, 2, 1, read_data
        EXPECT_DONE 2
        TEND

        TGROUP  "ata multiple"
        OUTB    0x1F6, 0xA0
        OUTB    0x1F2, 3                ; not a power of two
        OUTB    0x1F7, 0xC6             ; SET MULTIPLE MODE
        EXPECT_ERROR
        INB     0x1F1
        and     al, 0x04
        EXPECT8 al, 0x04                ; ABRT
        OUTB    0x1F2, 4
        OUTB    0x1F7, 0xC6
        call    poll_status
        and     al, ST_MASK
        EXPECT8 al, ST_RDY
        XFER    0xC4, 0x40, 10, 4, read_data
        EXPECT_DONE 10
        XFER    0xC5, 200, 10, 4, write_data
        EXPECT_DONE 10
        XFER    0x20, 198, 14, 1, read_data
        EXPECT_DONE 14
        XFER    0x29, 205, 6, 4, read_data
        EXPECT_DONE 6
        TEND

        TGROUP  "ata errors"
        mov     ebx, DISK_SECTORS       ; one past the end
        mov     cx, 1
        mov     ah, 0x20
        call    issue
        EXPECT_ERROR
        call    idnf_or_abrt
        EXPECT8 al, 1
        mov     ebx, DISK_SECTORS
        mov     cx, 1
        mov     ah, 0x24
        call    issue
        EXPECT_ERROR
        call    idnf_or_abrt
        EXPECT8 al, 1
        OUTB    0x1F6, 0xA0
        OUTB    0x1F7, 0x01             ; unassigned command code
        EXPECT_ERROR
        INB     0x1F1
        and     al, 0x04
        EXPECT8 al, 0x04                ; ABRT
        XFER    0x20, 5, 1, 1, read_data
        EXPECT_DONE 1
        TEND

        TGROUP  "ata irq14"
        INB     0x1F7                   ; nothing pending
        OUTB    0x3F6, 0                ; nIEN clear: INTRQ drives IRQ 14
        mov     al, 0xFB                ; master: cascade (IR2) only
        out     0x21, al
        mov     al, 0xBF                ; slave: IRQ 14 only
        out     0xA1, al
        sti
        ; READ SECTORS: one interrupt with DRQ, none at the end
        mov     word [IRQCNT], 0
        mov     byte [IRQST], 0
        mov     ebx, 7
        mov     cx, 1
        mov     ah, 0x20
        call    issue
        mov     bx, 1
        call    wait_irq
        EXPECT16 [IRQCNT], 1
        mov     al, [IRQST]
        and     al, ST_MASK
        EXPECT8 al, ST_DRQ
        mov     eax, 7
        call    read_sector
        EXPECT8 al, 1
        call    settle
        EXPECT16 [IRQCNT], 1            ; no interrupt after data-in
        call    wait_nbsy
        and     al, ST_MASK
        EXPECT8 al, ST_RDY
        ; WRITE SECTORS of 2: no interrupt before the first block
        mov     word [IRQCNT], 0
        mov     ebx, 300
        mov     cx, 2
        mov     ah, 0x30
        call    issue
        call    wait_nbsy
        and     al, ST_MASK
        EXPECT8 al, ST_DRQ
        call    settle
        EXPECT16 [IRQCNT], 0
        mov     eax, 300
        call    write_sector
        mov     bx, 1
        call    wait_irq
        EXPECT16 [IRQCNT], 1
        mov     al, [IRQST]
        and     al, ST_MASK
        EXPECT8 al, ST_DRQ              ; ready for the second block
        mov     eax, 301
        call    write_sector
        mov     bx, 2
        call    wait_irq
        EXPECT16 [IRQCNT], 2
        mov     al, [IRQST]
        and     al, ST_MASK
        EXPECT8 al, ST_RDY              ; done
        ; READ MULTIPLE of 10 in blocks of 4: an interrupt per block
        mov     word [IRQCNT], 0
        mov     dword [RD_LBA], 0x40
        mov     ebx, 0x40
        mov     cx, 10
        mov     ah, 0xC4
        call    issue
        mov     bx, 1
        mov     cx, 4
        call    irq_block
        EXPECT8 al, 1
        mov     bx, 2
        mov     cx, 4
        call    irq_block
        EXPECT8 al, 1
        mov     bx, 3
        mov     cx, 2
        call    irq_block
        EXPECT8 al, 1
        call    settle
        EXPECT16 [IRQCNT], 3            ; none after the last block
        call    wait_nbsy
        and     al, ST_MASK
        EXPECT8 al, ST_RDY
        ; an aborted command interrupts too
        mov     word [IRQCNT], 0
        OUTB    0x1F6, 0xA0
        OUTB    0x1F7, 0x01
        mov     bx, 1
        call    wait_irq
        EXPECT16 [IRQCNT], 1
        mov     al, [IRQST]
        and     al, ST_MASK
        EXPECT8 al, ST_ERR
        ; nIEN set: no interrupt
        OUTB    0x3F6, NIEN
        mov     word [IRQCNT], 0
        XFER    0x20, 299, 4, 1, read_data      ; includes 300-301
        EXPECT_DONE 4
        call    settle
        EXPECT16 [IRQCNT], 0
        cli
        mov     al, 0xFF
        out     0x21, al
        out     0xA1, al
        EXPECT16 [OTHER], 0
        TEND

        TGROUP  "ata flush cache"
        OUTB    0x1F6, 0xA0
        OUTB    0x1F7, 0xE7
        call    poll_status
        and     al, ST_MASK
        EXPECT8 al, ST_RDY
        TEND

        VT_FINISH

; ---------------------------------------------------------------------------

; AL = alternate status once BSY is clear (after the 400 ns a device may
; take to show BSY; gives up after a long while, returning BSY set).
wait_nbsy:
        push    ecx
        push    dx
        mov     dx, 0x3F6
        in      al, dx
        in      al, dx
        in      al, dx
        in      al, dx
        mov     ecx, 0x2000000
.l:     in      al, dx
        test    al, 0x80
        jz      .done
        dec     ecx
        jnz     .l
.done:  pop     dx
        pop     ecx
        ret

; AL = status (1F7h, which also acknowledges INTRQ) once BSY is clear.
poll_status:
        call    wait_nbsy
        push    dx
        mov     dx, 0x1F7
        in      al, dx
        pop     dx
        ret

; Waits until [IRQCNT] >= BX (or a long while passed).
wait_irq:
        push    ecx
        push    ax
        push    dx
        mov     dx, 0x3F6
        mov     ecx, 0x800000
.l:     cmp     [IRQCNT], bx
        jae     .done
        in      al, dx                  ; alternate status: no acknowledge
        dec     ecx
        jnz     .l
.done:  pop     dx
        pop     ax
        pop     ecx
        ret

; Waits for interrupt number BX of a read, then reads CX sectors from
; [RD_LBA] on. AL = 1 if the interrupt came (and no other), the handler saw
; DRQ and the data matched.
irq_block:
        call    wait_irq
        cmp     [IRQCNT], bx
        jne     .bad
        mov     al, [IRQST]
        and     al, ST_MASK
        cmp     al, ST_DRQ
        jne     .bad
.s:     mov     eax, [RD_LBA]
        call    read_sector
        test    al, al
        jz      .bad
        inc     dword [RD_LBA]
        loop    .s
        mov     al, 1
        ret
.bad:   call    recover
        xor     al, al
        ret

; Gives a late interrupt the chance to arrive (IF = 1).
settle:
        push    cx
        push    ax
        push    dx
        mov     dx, 0x3F6
        mov     cx, 20000
.l:     in      al, dx
        loop    .l
        pop     dx
        pop     ax
        pop     cx
        ret

; Issues command AH for EBX = LBA and CX = sector count on device 0, once
; the device is ready. 24h/25h/29h/34h/39h use 48-bit registers (written
; previous-then-current), the rest LBA28 (count CL; 0 means 256).
issue:
        pushad
        mov     si, ax                  ; SI high byte: the command
        call    wait_nbsy
        cmp     ah, 0x24
        je      .ext
        cmp     ah, 0x29
        je      .ext
        cmp     ah, 0x34
        je      .ext
        cmp     ah, 0x39
        je      .ext
        mov     dx, 0x1F6
        mov     eax, ebx
        shr     eax, 24
        and     al, 0x0F
        or      al, 0xE0                ; LBA, device 0, LBA 27:24
        out     dx, al
        mov     dx, 0x1F2
        mov     al, cl
        out     dx, al
        jmp     .low
.ext:   mov     dx, 0x1F6
        mov     al, 0x40                ; LBA, device 0
        out     dx, al
        mov     dx, 0x1F2               ; previous: count 15:8, LBA 47:24
        mov     al, ch
        out     dx, al
        inc     dx
        mov     eax, ebx
        shr     eax, 24
        out     dx, al
        inc     dx
        xor     al, al
        out     dx, al
        inc     dx
        out     dx, al
        mov     dx, 0x1F2               ; current: count 7:0, LBA 23:0
        mov     al, cl
        out     dx, al
.low:   inc     dx
        mov     al, bl
        out     dx, al
        inc     dx
        mov     al, bh
        out     dx, al
        inc     dx
        shr     ebx, 16
        mov     al, bl
        out     dx, al
        mov     dx, 0x1F7
        mov     ax, si
        mov     al, ah
        out     dx, al
        popad
        ret

; IDENTIFY DEVICE into BUF; [RD_ST] = status before the data, masked.
identify:
        pushad
        OUTB    0x1F6, 0xA0
        call    wait_nbsy
        OUTB    0x1F7, 0xEC
        call    poll_status
        and     al, ST_MASK
        mov     [RD_ST], al
        cmp     al, ST_DRQ
        jne     .out
        mov     di, BUF
        mov     dx, 0x1F0
        mov     cx, 256
        rep     insw
.out:   popad
        ret

; AL = 1 if the error register holds exactly one of IDNF and ABRT.
idnf_or_abrt:
        push    dx
        mov     dx, 0x1F1
        in      al, dx
        pop     dx
        and     al, 0x14
        cmp     al, 0x10
        je      .yes
        cmp     al, 0x04
        je      .yes
        xor     al, al
        ret
.yes:   mov     al, 1
        ret

; Writes at DI the pattern of sector EAX, every byte XOR BL.
gen_pattern:
        pushad
        mov     [di], eax
        mov     cx, 4
.h:     xor     [di], bl
        inc     di
        loop    .h
        mov     dl, al
        add     dl, 4
        mov     cx, 508
.b:     mov     al, dl
        xor     al, bl
        stosb
        inc     dl
        loop    .b
        popad
        ret

; BL = FFh if sector EAX is one this ROM writes (they are read only after
; being written), else 0. Keep in step with the rom-disk-written header.
written_mask:
        push    si
        mov     si, written
.l:     cmp     word [cs:si + 2], 0
        je      .no
        cmp     ax, [cs:si]         ; (this disk's LBAs fit in 16 bits)
        jb      .next
        cmp     ax, [cs:si + 2]
        ja      .next
        mov     bl, 0xFF
        pop     si
        ret
.next:  add     si, 4
        jmp     .l
.no:    xor     bl, bl
        pop     si
        ret

written:
        dw      100, 102, 200, 209, 300, 301, 1500, 1501, 0, 0

; Reads one sector from the data port into BUF and compares it with what
; sector EAX should hold. AL = 1 if it matches.
read_sector:
        push    ebx
        push    cx
        push    dx
        push    si
        push    di
        mov     di, BUF
        mov     dx, 0x1F0
        mov     cx, 256
        rep     insw
        call    written_mask
        mov     di, PAT
        call    gen_pattern
        mov     si, BUF
        mov     di, PAT
        mov     cx, 512
        repe    cmpsb
        sete    al
        pop     di
        pop     si
        pop     dx
        pop     cx
        pop     ebx
        ret

; Writes the inverted pattern of sector EAX to the data port.
write_sector:
        pushad
        mov     bl, 0xFF
        mov     di, PAT
        call    gen_pattern
        mov     si, PAT
        mov     dx, 0x1F0
        mov     cx, 256
        rep     outsw
        popad
        ret

; Moves [RD_LEFT] sectors from [RD_LBA] on, [RD_BLK] per DRQ block, after
; a read command: status must show DRQ (BSY, ERR clear) before each block.
; [RD_GOOD] = sectors that matched, [RD_ST] = status at the end.
read_data:
        pushad
        mov     word [RD_GOOD], 0
.block: call    poll_status
        mov     [RD_ST], al
        and     al, ST_MASK
        cmp     al, ST_DRQ
        jne     .fail
        mov     cx, [RD_BLK]
        cmp     cx, [RD_LEFT]
        jbe     .sec
        mov     cx, [RD_LEFT]
.sec:   mov     eax, [RD_LBA]
        call    read_sector
        test    al, al
        jz      .fail
        inc     word [RD_GOOD]
        inc     dword [RD_LBA]
        dec     word [RD_LEFT]
        loop    .sec
        cmp     word [RD_LEFT], 0
        jne     .block
        call    poll_status
        mov     [RD_ST], al
        popad
        ret
.fail:  call    recover
        popad
        ret

; The same for a write command: DRQ before each block, then the inverted
; pattern of each sector.
write_data:
        pushad
        mov     word [RD_GOOD], 0
.block: call    poll_status
        mov     [RD_ST], al
        and     al, ST_MASK
        cmp     al, ST_DRQ
        jne     .fail
        mov     cx, [RD_BLK]
        cmp     cx, [RD_LEFT]
        jbe     .sec
        mov     cx, [RD_LEFT]
.sec:   mov     eax, [RD_LBA]
        call    write_sector
        inc     word [RD_GOOD]
        inc     dword [RD_LBA]
        dec     word [RD_LEFT]
        loop    .sec
        cmp     word [RD_LEFT], 0
        jne     .block
        call    poll_status
        mov     [RD_ST], al
        popad
        ret
.fail:  call    recover
        popad
        ret

; After a failed check: a software reset ends any transfer still pending
; (later groups then fail on their own rather than all at once).
recover:
        pushad
        mov     dx, 0x3F6
        in      al, dx
        test    al, 0x08
        jz      .out
        mov     al, 0x04 | NIEN         ; SRST
        out     dx, al
        call    settle
        mov     al, NIEN
        out     dx, al
        call    wait_nbsy
.out:   popad
        ret

; AL = number of taskfile registers (1F2h-1F5h) that echo two patterns.
probe:
        push    bx
        push    cx
        push    dx
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
        pop     dx
        pop     cx
        pop     bx
        ret

irq14:
        push    ax
        push    dx
        inc     word [ss:IRQCNT]
        mov     dx, 0x1F7               ; status: acknowledges INTRQ
        in      al, dx
        mov     [ss:IRQST], al
        mov     al, 0x20                ; non-specific EOI, slave then master
        out     0xA0, al
        out     0x20, al
        pop     dx
        pop     ax
        iret

%include "pic8259.inc"
%include "apic_wire.inc"

        ROM_END
