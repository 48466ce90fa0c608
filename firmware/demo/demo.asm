; demo.asm — crane86's built-in demo guest, a raw disk image.
;
; Sector 0 is a boot sector that loads the rest of the program with
; INT 13h (extended read when offered, CHS read otherwise) to 0000:7E00 and
; runs it. The program shows that the machine works, headless, through the
; BIOS alone: INT 10h teletype (echoed to COM1 by the BIOS), INT 12h,
; INT 15h E820 and 86h, INT 13h 08h/41h/48h, INT 1Ah, CPUID, and two CPU
; workouts (a sieve of Eratosthenes and an ASCII Mandelbrot set in integer
; fixed point). With a window showing the screen (CMOS 0x5F bit 0) it
; then shows the 256-colour palette of mode 13h for two seconds. It prints
; "Demo finished."; with the window it then prints "Type keys (Esc ends):"
; and echoes each key read through INT 16h until Esc, on the screen and
; on COM1 (written directly, since the BIOS does not echo teletype to COM1
; while a window shows the screen). It ends with CLI; HLT, which ends a
; headless crane86 run. All output but the clock line is deterministic;
; headless (the bit clear) the output is the same as without the echo.
;
; Build: nasm -f bin -o firmware/demo.img firmware/demo/demo.asm

        cpu 686
        bits 16
        org 0x7C00

IMAGE_BYTES     equ 65536           ; the image is padded to 64 KiB
SIEVE_SEG       equ 0x2000          ; 64 KiB of flags at 0x20000
SAVE_SEG        equ 0x3000          ; the text screen while the palette shows

; ===========================================================================
; boot sector
; ===========================================================================
boot:
        jmp 0x0000:.start           ; known CS whatever the BIOS used
.start: cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7C00
        sti
        cld
        mov [boot_drive], dl
        mov si, s_loading
        call puts
        mov ah, 0x41                ; EDD present?
        mov bx, 0x55AA
        mov dl, [boot_drive]
        int 0x13
        jc .chs
        cmp bx, 0xAA55
        jne .chs
        test cl, 1
        jz .chs
        mov si, dap
        mov ah, 0x42
        mov dl, [boot_drive]
        int 0x13
        jc .fail
        jmp main
.chs:   mov ax, 0x0200 | BODY_SECTORS
        mov cx, 0x0002              ; cylinder 0, sector 2
        xor dh, dh
        mov dl, [boot_drive]
        mov bx, 0x7E00
        int 0x13
        jc .fail
        jmp main
.fail:  mov si, s_load_failed
        call puts
        cli
        hlt

; puts: DS:SI = NUL-terminated string, through INT 10h teletype
puts:
        push ax
        push bx
        push si
.next:  lodsb
        test al, al
        jz .done
        mov ah, 0x0E
        xor bx, bx
        int 0x10
        jmp .next
.done:  pop si
        pop bx
        pop ax
        ret

dap:    db 0x10, 0
        dw BODY_SECTORS
        dw 0x7E00, 0x0000
        dq 1
boot_drive:     db 0x80
s_loading:      db 'crane86 demo: loading...', 13, 10, 0
s_load_failed:  db 'demo: disk read failed', 13, 10, 0

%if $ - $$ > 446
%error boot sector code overlaps the partition table
%endif
        times 510 - ($ - $$) db 0   ; an empty partition table
        dw 0xAA55

; ===========================================================================
; the program (sector 1 onwards, at 0000:7E00)
; ===========================================================================
body_start:

main:
        mov si, s_banner
        call puts

        ; ---- memory ---------------------------------------------------------
        mov si, s_base
        call puts
        int 0x12
        movzx eax, ax
        call putdec
        mov si, s_kib_nl
        call puts

        mov si, s_e820
        call puts
        xor ebx, ebx
        xor ebp, ebp                ; usable KiB
.e820:  mov eax, 0xE820
        mov edx, 0x534D4150
        mov ecx, 20
        mov di, e820_buf
        push ebx
        int 0x15
        pop esi                     ; continuation sent (unused)
        jc .e820_end
        cmp eax, 0x534D4150
        jne .e820_end
        push ebx
        mov si, s_indent
        call puts
        mov eax, [e820_buf+4]
        call puthex32
        mov eax, [e820_buf]
        call puthex32
        mov al, '-'
        call putc
        ; last byte = base + length - 1 (64-bit)
        mov eax, [e820_buf]
        mov edx, [e820_buf+4]
        add eax, [e820_buf+8]
        adc edx, [e820_buf+12]
        sub eax, 1
        sbb edx, 0
        push eax
        mov eax, edx
        call puthex32
        pop eax
        call puthex32
        mov al, ' '
        call putc
        mov eax, [e820_buf+16]
        cmp eax, 1
        jne .notram
        mov si, s_usable
        mov ecx, [e820_buf+8]
        mov edx, [e820_buf+12]
        shrd ecx, edx, 10
        add ebp, ecx
        jmp .type
.notram:
        mov si, s_reserved
        cmp eax, 2
        je .type
        mov si, s_other
.type:  call puts
        pop ebx
        test ebx, ebx
        jnz .e820
.e820_end:
        mov si, s_total
        call puts
        mov eax, ebp
        shr eax, 10
        call putdec
        mov si, s_mib_nl
        call puts

        ; ---- disk -----------------------------------------------------------
        mov si, s_disk
        call puts
        mov ah, 0x08
        mov dl, [boot_drive]
        int 0x13
        jc .nodisk
        ; cylinders = ((CL & C0h) << 2 | CH) + 1, heads = DH + 1, spt = CL & 3Fh
        movzx eax, cl
        shl eax, 2
        mov al, ch
        inc eax
        call putdec
        mov al, '/'
        call putc
        movzx eax, dh
        inc eax
        call putdec
        mov al, '/'
        call putc
        movzx eax, cl
        and al, 0x3F
        call putdec
        mov si, s_chs
        call puts
        mov word [edd_buf], 0x1E
        mov ah, 0x48
        mov dl, [boot_drive]
        mov si, edd_buf
        int 0x13
        jc .nodisk
        mov eax, [edd_buf+16]
        call putdec
        mov si, s_sectors
        call puts
.nodisk:
        mov si, s_nl
        call puts

        ; ---- clock ------------------------------------------------------------
        mov si, s_rtc
        call puts
        mov ah, 0x04
        int 0x1A
        jc .noclock
        mov al, ch                  ; century, year: BCD
        call putbcd
        mov al, cl
        call putbcd
        mov al, '-'
        call putc
        mov al, dh
        call putbcd
        mov al, '-'
        call putc
        mov al, dl
        call putbcd
        mov al, ' '
        call putc
        mov ah, 0x02
        int 0x1A
        jc .noclock
        mov al, ch
        call putbcd
        mov al, ':'
        call putc
        mov al, cl
        call putbcd
        mov al, ':'
        call putc
        mov al, dh
        call putbcd
.noclock:
        mov si, s_nl
        call puts

        ; ---- timer: a 250 ms INT 15h wait should span 3 to 6 ticks of 55 ms
        mov si, s_wait
        call puts
        xor ah, ah
        int 0x1A
        mov bx, dx                  ; ticks, low word
        mov ah, 0x86
        mov cx, 250000 >> 16
        mov dx, 250000 & 0xFFFF
        int 0x15
        jc .waitbad
        xor ah, ah
        int 0x1A
        sub dx, bx
        cmp dx, 3
        jb .waitbad
        cmp dx, 6
        ja .waitbad
        mov si, s_ok
        jmp .waitmsg
.waitbad:
        mov si, s_unexpected
.waitmsg:
        call puts

        ; ---- CPU ------------------------------------------------------------
        mov si, s_cpu
        call puts
        pushfd                      ; CPUID exists if EFLAGS.ID can change
        pop eax
        mov ecx, eax
        xor eax, 0x00200000
        push eax
        popfd
        pushfd
        pop eax
        push ecx
        popfd
        xor eax, ecx
        jz .nocpuid
        xor eax, eax
        cpuid
        mov [cpu_vendor], ebx
        mov [cpu_vendor+4], edx
        mov [cpu_vendor+8], ecx
        mov byte [cpu_vendor+12], 0
        mov si, cpu_vendor
        call puts
        mov eax, 0x80000000
        cpuid
        cmp eax, 0x80000004
        jb .cpudone
        mov di, cpu_brand
        mov esi, 0x80000002
.brand: mov eax, esi
        cpuid
        mov [di], eax
        mov [di+4], ebx
        mov [di+8], ecx
        mov [di+12], edx
        add di, 16
        inc esi
        cmp esi, 0x80000004
        jbe .brand
        mov byte [di], 0
        mov si, s_sep
        call puts
        mov si, cpu_brand
.skipsp:
        cmp byte [si], ' '
        jne .putbrand
        inc si
        jmp .skipsp
.putbrand:
        call puts
        jmp .cpudone
.nocpuid:
        mov si, s_no_cpuid
        call puts
.cpudone:
        mov si, s_nl
        call puts

        ; ---- sieve of Eratosthenes below 65536 -------------------------------
        mov si, s_sieve
        call puts
        push es
        mov ax, SIEVE_SEG
        mov es, ax
        xor di, di
        mov eax, 0x01010101         ; 1 = maybe prime
        mov cx, 0x4000
        rep stosd
        mov byte [es:0], 0
        mov byte [es:1], 0
        mov bx, 2
.outer: movzx eax, bx
        mul eax
        cmp eax, 0x10000
        jae .count
        cmp byte [es:bx], 0
        je .nextp
        mov di, ax                  ; strike p*p, p*p+p, ...
.strike:
        mov byte [es:di], 0
        add di, bx
        jnc .strike
.nextp: inc bx
        jmp .outer
.count: xor eax, eax
        xor di, di
        mov cx, 0x8000
.cnt:   movzx edx, byte [es:di]
        add eax, edx
        movzx edx, byte [es:di+1]
        add eax, edx
        add di, 2
        loop .cnt
        pop es
        call putdec
        mov si, s_nl
        call puts

        ; ---- Mandelbrot set ---------------------------------------------------
        ; 12-bit fixed point: x in [-2.125, 0.875), y in [-1.2, 1.2]
        mov si, s_mandel
        call puts
        mov dword [m_ci], -(MDY * (MROWS - 1) / 2) ; about -1.2
        mov word [m_row], MROWS
.mrow:  mov dword [m_cr], -8704     ; -2.125
        mov cx, MCOLS
.mcol:  push cx
        xor esi, esi                ; zr
        xor edi, edi                ; zi
        xor cx, cx                  ; iteration
.iter:  mov eax, esi
        imul eax, eax
        sar eax, 12                 ; zr^2
        mov ebx, edi
        imul ebx, ebx
        sar ebx, 12                 ; zi^2
        lea edx, [eax+ebx]
        cmp edx, 4 << 12
        jg .escape
        sub eax, ebx
        add eax, [m_cr]             ; zr' = zr^2 - zi^2 + cr
        imul edi, esi
        sar edi, 11                 ; zi' = 2 zr zi + ci
        add edi, [m_ci]
        mov esi, eax
        inc cx
        cmp cx, MITER
        jb .iter
        mov al, '@'                 ; inside the set
        jmp .plot
.escape:
        movzx bx, cl
        mov al, [mandel_shades+bx]
.plot:  call putc
        add dword [m_cr], MDX
        pop cx
        loop .mcol
        mov si, s_nl
        call puts
        add dword [m_ci], MDY
        dec word [m_row]
        jnz .mrow

        call palette_show
        mov si, s_finished
        call puts
        call key_echo
        cli
        hlt
        jmp $ - 2

; window_shown: ZF clear when a window shows the screen (CMOS 0x5F bit 0).
window_shown:
        push ax
        mov al, 0x5F
        out 0x70, al
        in al, 0x71
        test al, 1
        pop ax
        ret

; key_echo: with a window, prompt and echo the keys typed (printable ASCII,
; Enter as a new line, Backspace) on the screen and on COM1 until Esc.
key_echo:
        call window_shown
        jz .r
        mov si, s_type_keys
        call puts_both
.key:   xor ah, ah                  ; wait for a key
        int 0x16
        cmp ah, 0x01                ; Esc
        je .end
        cmp al, 13
        je .enter
        cmp al, 8
        je .bs
        cmp al, ' '
        jb .key
        cmp al, '~'
        ja .key
        call putc_both
        jmp .key
.enter: mov si, s_nl
        call puts_both
        jmp .key
.bs:    mov si, s_bs
        call puts_both
        jmp .key
.end:   mov si, s_nl
        call puts_both
.r:     ret

; puts_both: DS:SI = NUL-terminated string, to the screen and to COM1
puts_both:
        push ax
        push si
.next:  lodsb
        test al, al
        jz .done
        call putc_both
        jmp .next
.done:  pop si
        pop ax
        ret

; putc_both: AL to the screen (INT 10h teletype) and to COM1 (0x3F8)
putc_both:
        call putc
        push ax
        push dx
        push ax
        mov dx, 0x3FD               ; line status: wait for THR empty
.wait:  in al, dx
        test al, 0x20
        jz .wait
        pop ax
        mov dx, 0x3F8
        out dx, al
        pop dx
        pop ax
        ret

; palette_show: when a window shows the screen (CMOS 0x5F bit 0), show the
; 256 colours of mode 13h for two seconds, then bring the text back. The
; headless run (the bit clear) skips it, so the serial output is the same.
palette_show:
        call window_shown
        jz .r
        mov ah, 0x03                ; keep the cursor
        xor bh, bh
        int 0x10
        push dx
        push ds                     ; keep text page 0 at 3000:0000
        push es
        push word 0xB800
        pop ds
        push word SAVE_SEG
        pop es
        xor si, si
        xor di, di
        mov cx, 80 * 25
        rep movsw
        pop es
        pop ds
        mov ax, 0x0013
        int 0x10
        push es
        push word 0xA000
        pop es
        xor di, di                  ; 16 x 16 tiles of 20 x 12 pixels
        xor dx, dx                  ; row
.row:   xor cx, cx                  ; column
.col:   mov ax, dx
        mov bl, 12
        div bl                      ; AL = tile row
        shl al, 4
        mov bl, al
        mov ax, cx
        mov bh, 20
        div bh                      ; AL = tile column
        add al, bl
        stosb
        inc cx
        cmp cx, 320
        jb .col
        inc dx
        cmp dx, 192
        jb .row
        pop es
        mov ah, 0x86                ; two seconds
        mov cx, 0x001E
        mov dx, 0x8480
        int 0x15
        mov ax, 0x0083              ; text mode, memory kept ...
        int 0x10
        push ds                     ; ... and page 0 put back
        push es
        push word SAVE_SEG
        pop ds
        push word 0xB800
        pop es
        xor si, si
        xor di, di
        mov cx, 80 * 25
        rep movsw
        pop es
        pop ds
        pop dx
        mov ah, 0x02
        xor bh, bh
        int 0x10
.r:     ret

MCOLS   equ 72
MROWS   equ 23
MITER   equ 24
MDX     equ 12288 / MCOLS           ; 3.0 / 72 in 12-bit fixed point
MDY     equ 9830 / (MROWS - 1)      ; 2.4 / 22

; ---- output helpers ---------------------------------------------------------
putc:                               ; AL
        push ax
        push bx
        mov ah, 0x0E
        xor bx, bx
        int 0x10
        pop bx
        pop ax
        ret

putdec:                             ; EAX, unsigned decimal
        pushad
        mov ebx, 10
        xor cx, cx
.div:   xor edx, edx
        div ebx
        push dx
        inc cx
        test eax, eax
        jnz .div
.out:   pop ax
        add al, '0'
        call putc
        loop .out
        popad
        ret

puthex32:                           ; EAX, 8 hex digits
        push eax
        push cx
        mov cx, 8
.d:     rol eax, 4
        push eax
        and al, 0x0F
        add al, '0'
        cmp al, '9'
        jbe .p
        add al, 'A' - '9' - 1
.p:     call putc
        pop eax
        loop .d
        pop cx
        pop eax
        ret

putbcd:                             ; AL = two BCD digits
        push ax
        shr al, 4
        add al, '0'
        call putc
        pop ax
        push ax
        and al, 0x0F
        add al, '0'
        call putc
        pop ax
        ret

; ---- data ---------------------------------------------------------------------
s_banner:       db 13, 10, 'crane86 demo', 13, 10
                db '============', 13, 10, 0
s_base:         db 'Base memory (INT 12h): ', 0
s_kib_nl:       db ' KiB', 13, 10, 0
s_e820:         db 'Memory map (INT 15h E820):', 13, 10, 0
s_indent:       db '  ', 0
s_usable:       db 'usable', 13, 10, 0
s_reserved:     db 'reserved', 13, 10, 0
s_other:        db 'other', 13, 10, 0
s_total:        db 'Usable RAM: ', 0
s_mib_nl:       db ' MiB', 13, 10, 0
s_disk:         db 'Disk (INT 13h): CHS ', 0
s_chs:          db ', ', 0
s_sectors:      db ' sectors', 0
s_rtc:          db 'Clock (INT 1Ah): ', 0
s_wait:         db 'Timer (INT 15h/86h, 250 ms): ', 0
s_ok:           db 'ok', 13, 10, 0
s_unexpected:   db 'unexpected tick count', 13, 10, 0
s_cpu:          db 'CPU (CPUID): ', 0
s_sep:          db ', ', 0
s_no_cpuid:     db 'no CPUID', 0
s_sieve:        db 'Primes below 65536 (sieve): ', 0
s_mandel:       db 'Mandelbrot set:', 13, 10, 0
s_finished:     db 'Demo finished.', 13, 10, 0
s_nl:           db 13, 10, 0
s_type_keys:    db 'Type keys (Esc ends): ', 0
s_bs:           db 8, ' ', 8, 0
mandel_shades:  db ' ...,,::;;==++**##%%&&$$'

body_end:
BODY_SECTORS    equ (body_end - body_start + 511) / 512

; uninitialised data after the loaded sectors
e820_buf        equ body_start + BODY_SECTORS * 512
edd_buf         equ e820_buf + 32
m_cr            equ edd_buf + 32
m_ci            equ m_cr + 4
m_row           equ m_ci + 4
cpu_vendor      equ m_row + 4
cpu_brand       equ cpu_vendor + 16

        times IMAGE_BYTES - ($ - $$) db 0
