; smc_disk.asm — a disk read over code that has run hot: ATA PIO data
; (REP INSW from 1F0h) lands on a routine that was called often enough to
; be translated, and the next call must run the new bytes (SDM vol. 3,
; 11.6: a write to a code page invalidates prefetched and translated
; instructions, whoever wrote it).
; rom-disk: 64KiB
; rom-disk-written: 7
;
; The ROM writes a routine into sector 7 (WRITE SECTORS, PIO), runs another
; routine at 2000:0000 many times, reads sector 7 over it (READ SECTORS),
; and calls it again; then it restores the sector to the runner's "written"
; pattern (each byte of the initial pattern inverted), which the runner
; checks afterwards. Polled I/O with nIEN set; status under mask C9h.

%include "testrom.inc"
%include "vectest.inc"
%include "check.inc"

CODESEG equ     0x2000          ; the routine runs at 2000:0000
SECT    equ     7
BUF     equ     0x1000          ; 0000:1000, the restored sector
HOT     equ     300             ; calls before the overwrite (and after)

rom_start:
        call    vt_init
        mov     dx, 0x3F6
        mov     al, 0x02                ; nIEN: polled
        out     dx, al

        TGROUP  "routine hot in RAM"
        mov     si, old_code
        mov     cx, old_end - old_code
        call    copy_to_ram
        call    call_hot
        EXPECT32 edx, HOT * 0x1111
        TEND

        TGROUP  "pio write of new code"
        push    ds
        push    cs
        pop     ds
        mov     si, new_code            ; DS:SI = F000:new_code
        mov     ebx, SECT
        call    write_sector
        pop     ds
        EXPECT8 al, 0x40                ; DRDY, no DRQ/ERR
        TEND

        TGROUP  "pio read over hot code"
        push    es
        push    word CODESEG
        pop     es
        xor     di, di                  ; ES:DI = 2000:0000
        mov     ebx, SECT
        call    read_sector
        pop     es
        EXPECT8 al, 0x40
        xor     eax, eax
        call    CODESEG:0
        EXPECT32 eax, 0x2222
        call    call_hot
        EXPECT32 edx, HOT * 0x2222
        TEND

        TGROUP  "sector restored"
        mov     di, BUF
        mov     eax, SECT
        call    gen_written
        mov     si, BUF                 ; DS = 0
        mov     ebx, SECT
        call    write_sector
        EXPECT8 al, 0x40
        TEND

        VT_FINISH

; Copies CX bytes from CS:SI to CODESEG:0.
copy_to_ram:
        push    ds
        push    es
        push    cs
        pop     ds
        push    word CODESEG
        pop     es
        xor     di, di
        cld
        rep movsb
        pop     es
        pop     ds
        ret

; EDX = the sum of HOT calls of CODESEG:0.
call_hot:
        xor     edx, edx
        mov     bp, HOT
.l:     xor     eax, eax
        call    CODESEG:0
        add     edx, eax
        dec     bp
        jnz     .l
        ret

; Waits (bounded) for BSY to clear; AL = status (1F7h).
poll_status:
        push    ecx
        push    dx
        mov     dx, 0x1F7
        mov     ecx, 0x2000000
.l:     in      al, dx
        test    al, 0x80
        jz      .done
        dec     ecx
        jnz     .l
.done:  pop     dx
        pop     ecx
        ret

; READ SECTORS of sector EBX into ES:DI; AL = masked status afterwards
; (40h when the data came and the command ended cleanly).
read_sector:
        mov     ah, 0x20
        call    issue_go
        call    poll_status
        and     al, 0xC9
        cmp     al, 0x48                ; DRDY DRQ
        jne     .out
        mov     dx, 0x1F0
        mov     cx, 256
        cld
        rep insw
        call    poll_status
        and     al, 0xC9
.out:   ret

; WRITE SECTORS of sector EBX from DS:SI; AL = masked status afterwards.
write_sector:
        mov     ah, 0x30
        call    issue_go
        call    poll_status
        and     al, 0xC9
        cmp     al, 0x48
        jne     .out
        mov     dx, 0x1F0
        mov     cx, 256
        cld
        rep outsw
        call    poll_status
        and     al, 0xC9
.out:   ret

; Issues command AH for one sector at LBA28 EBX on the master.
issue_go:
        push    cx
        mov     cl, ah
        call    issue_regs
        mov     dx, 0x1F7
        mov     al, cl
        out     dx, al
        pop     cx
        ret

; The task-file registers for one sector at LBA28 EBX.
issue_regs:
        call    poll_status
        mov     dx, 0x1F6
        mov     eax, ebx
        shr     eax, 24
        and     al, 0x0F
        or      al, 0xE0
        out     dx, al
        mov     dx, 0x1F2
        mov     al, 1
        out     dx, al
        inc     dx
        mov     al, bl
        out     dx, al
        inc     dx
        mov     al, bh
        out     dx, al
        inc     dx
        mov     eax, ebx
        shr     eax, 16
        out     dx, al
        ret

; DS:DI = the runner's written pattern of sector EAX: its initial pattern
; (bytes 0-3 = EAX, byte i = (EAX + i) & FFh) with every byte inverted.
gen_written:
        pushad
        mov     edx, eax
        not     edx
        mov     [di], edx
        add     di, 4
        mov     dl, al
        add     dl, 4
        mov     cx, 508
.b:     mov     al, dl
        not     al
        mov     [di], al
        inc     di
        inc     dl
        loop    .b
        popad
        ret

; The routine before the disk read: EAX = 1111h.
old_code:
        mov     eax, 0x1111
        retf
old_end:

; The routine the disk brings (a different shape): EAX = 2222h.
new_code:
        mov     eax, 0x1000
        add     eax, 0x1222
        nop
        retf
        times   512 - ($ - new_code) db 0xCC

        ROM_END
