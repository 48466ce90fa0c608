; post.asm — power-on self test: what the firmware of a PC does between
; reset and loading the boot sector. Brings up RAM state (IVT, BDA, EBDA),
; the interrupt controllers, the timer, COM1, the text screen, the i8042
; keyboard controller, the ATA disk, the ACPI and SMBIOS tables and the
; memory map, then calls INT 19h.
;
; POST codes written to port 0x80:
;   01 reset         02 RAM cleared    03 IVT set        04 BDA/EBDA set
;   05 PIC/PIT       06 COM1           07 video          08 keyboard
;   09 clock         0A disk probed    0B memory map     0C interrupts on
;   0D boot (INT 19h)                  EE no bootable device
;   10 PCI configured                  11 ACPI tables built
;   12 SMBIOS tables built

post_entry:
        cli
        cld
        POST_CODE 0x01

        ; Warm restart? Software that left protected mode through a reset
        ; (or starts a CPU with INIT) sets the CMOS shutdown byte and a
        ; resume address at 40:67 first. RAM must stay untouched here, so
        ; no stack is used yet.
        mov al, CMOS_SHUTDOWN
        out CMOS_INDEX, al
        in al, CMOS_DATA
        cmp al, 0x05
        je .resume_eoi
        cmp al, 0x0A
        je .resume
        jmp .cold
.resume_eoi:
        mov al, 0x20                ; end any interrupt left in service
        out PIC2_CMD, al
        out PIC1_CMD, al
.resume:
        mov al, CMOS_SHUTDOWN
        out CMOS_INDEX, al
        xor al, al
        out CMOS_DATA, al
        mov ax, BDA_SEG
        mov ds, ax
        jmp far [BDA_RESUME]

.cold:
        mov al, CMOS_SHUTDOWN
        out CMOS_INDEX, al
        xor al, al
        out CMOS_DATA, al

        ; A20 on: memory above 1 MiB is reachable; modern loaders expect it.
        in al, SYS_CTRL_A
        or al, 0x02
        and al, 0xFE                ; never write bit 0: it resets the CPU
        out SYS_CTRL_A, al

        ; Zero conventional memory (0 - 0x9FFFF) so the BDA, EBDA and the
        ; guest's first view of RAM are deterministic. For a direct boot
        ; (CMOS 0x5F bit 1) the board has already loaded the guest, so
        ; only the IVT, the BDA and the EBDA are cleared.
        mov al, CMOS_CRANE86
        out CMOS_INDEX, al
        in al, CMOS_DATA
        test al, CRANE86_DIRECT
        jnz .keep_ram
        xor eax, eax
        xor dx, dx
.clear: mov es, dx
        xor di, di
        mov cx, 0x4000
        rep stosd
        add dx, 0x1000
        cmp dx, 0xA000
        jb .clear
        jmp .cleared
.keep_ram:
        xor eax, eax
        mov es, ax
        xor di, di
        mov cx, 0x500 / 4           ; IVT and BDA
        rep stosd
        mov ax, EBDA_SEG
        mov es, ax
        xor eax, eax
        xor di, di
        mov cx, EBDA_KIB * 1024 / 4
        rep stosd
.cleared:
        POST_CODE 0x02

        xor ax, ax
        mov ss, ax
        mov sp, STACK_TOP

        call post_ivt
        POST_CODE 0x03
        call post_bda
        POST_CODE 0x04
        call post_pic_pit
        call post_lapic
        POST_CODE 0x05
        push word EBDA_SEG
        pop es
        call post_pci
        POST_CODE 0x10
        call post_serial
        POST_CODE 0x06
        mov ax, 0x0003              ; text mode 3, clears the screen
        int 0x10
        POST_CODE 0x07
        call post_keyboard
        POST_CODE 0x08
        call post_clock
        POST_CODE 0x09
        call ata_probe
        POST_CODE 0x0A
        push word EBDA_SEG
        pop es
        call post_acpi
        POST_CODE 0x11
        call post_smbios
        POST_CODE 0x12
        call post_e820
        POST_CODE 0x0B

        ; Unmask the timer, the cascade and (when present) the keyboard.
        push word BDA_SEG
        pop ds
        mov es, [BDA_EBDA]
        mov al, 0xFA                ; IRQ0 + IRQ2
        cmp byte [es:E_KBC_PRESENT], 0
        je .mask
        and al, 0xFD                ; + IRQ1
.mask:  out PIC1_DATA, al
        mov al, 0xFF
        out PIC2_DATA, al
        sti
        POST_CODE 0x0C

        call post_banner
        POST_CODE 0x0D
        int 0x19
        jmp boot_fail               ; INT 19h does not return; be safe

; ---------------------------------------------------------------------------
; post_ivt: every vector points at a plain IRET (hardware IRQ vectors at an
; EOI-sending stub), then the services from vector_table are installed.
post_ivt:
        xor ax, ax
        mov es, ax
        xor di, di
        mov cx, 256
.all:   mov ax, default_iret
        stosw
        mov ax, BIOS_SEG
        stosw
        loop .all
        mov di, 0x08 * 4
        mov cx, 8
.irqm:  mov word [es:di], irq_master_default
        add di, 4
        loop .irqm
        mov di, 0x70 * 4
        mov cx, 8
.irqs:  mov word [es:di], irq_slave_default
        add di, 4
        loop .irqs
        mov si, vector_table
.vec:   cmp si, vector_table_end
        jae .done
        movzx di, byte [cs:si]
        shl di, 2
        mov ax, [cs:si+1]
        mov [es:di], ax
        add si, 3
        jmp .vec
.done:  ret

; ---------------------------------------------------------------------------
; post_bda: BIOS Data Area and EBDA fields that do not depend on probing.
post_bda:
        push word BDA_SEG
        pop ds
        mov word [BDA_EBDA], EBDA_SEG
        mov word [BDA_EQUIP], 0x0022      ; x87 present, 80x25 colour video
        mov word [BDA_MEMKIB], BASE_MEM_KIB
        mov word [BDA_KBHEAD], BDA_KBBUF
        mov word [BDA_KBTAIL], BDA_KBBUF
        mov word [BDA_KBSTART], BDA_KBBUF
        mov word [BDA_KBEND], BDA_KBBUF + 32
        mov dword [BDA_COMTIMEOUT], 0x01010101
        mov ax, EBDA_SEG
        mov es, ax
        mov byte [es:E_SIZE_KIB], EBDA_KIB
        ret

; ---------------------------------------------------------------------------
; post_pic_pit: 8259A pair at vectors 08h and 70h (the PC/AT layout), all
; lines masked until setup ends; PIT channel 0 at 18.2 Hz.
post_pic_pit:
        mov al, 0x11                ; ICW1: edge, cascade, ICW4 follows
        out PIC1_CMD, al
        call io_delay
        out PIC2_CMD, al
        call io_delay
        mov al, 0x08                ; ICW2: vector bases
        out PIC1_DATA, al
        call io_delay
        mov al, 0x70
        out PIC2_DATA, al
        call io_delay
        mov al, 0x04                ; ICW3: slave on IRQ2
        out PIC1_DATA, al
        call io_delay
        mov al, 0x02
        out PIC2_DATA, al
        call io_delay
        mov al, 0x01                ; ICW4: 8086 mode
        out PIC1_DATA, al
        call io_delay
        out PIC2_DATA, al
        call io_delay
        mov al, 0xFF
        out PIC1_DATA, al
        out PIC2_DATA, al
        ; Channel 0, lobyte/hibyte, mode 2 (rate generator), count 65536.
        ; Mode 2 rather than 3: the counter then falls by one per clock,
        ; which lets INT 15h/86h measure time by reading it.
        mov al, 0x34
        out PIT_CMD, al
        xor al, al
        out PIT_CH0, al
        out PIT_CH0, al
        ret

; ---------------------------------------------------------------------------
; post_lapic: a CPU with a local APIC starts with it enabled but with every
; LVT entry masked, and then the 8259's interrupts never reach the core.
; Put it in "virtual wire" mode: LINT0 = ExtINT (the 8259), LINT1 = NMI.
; The APIC sits at its reset address FEE00000h, reached through FS after a
; brief trip to protected mode gives FS a flat 4 GiB limit.
post_lapic:
        mov eax, 1
        cpuid
        test edx, 1 << 9            ; APIC on chip?
        jz .done
        push ds
        call flat_fs
        mov ebx, 0xFEE00000
        mov dword [fs:ebx+0xF0], 0x000001FF   ; SVR: enabled, vector FFh
        mov dword [fs:ebx+0x350], 0x00000700  ; LVT LINT0: ExtINT
        mov dword [fs:ebx+0x360], 0x00000400  ; LVT LINT1: NMI
        pop ds
.done:  ret

; ---------------------------------------------------------------------------
; post_serial: COM1 at 115200 8N1, FIFOs on, no interrupts (INT 16h polls).
; A port whose line status reads 0xFF is taken as absent.
post_serial:
        push word BDA_SEG
        pop ds
        mov dx, COM1_BASE + UART_LSR
        in al, dx
        cmp al, 0xFF
        je .absent
        mov dx, COM1_BASE + UART_IER
        xor al, al
        out dx, al
        mov dx, COM1_BASE + UART_LCR
        mov al, 0x80                ; DLAB: next two registers are the divisor
        out dx, al
        mov dx, COM1_BASE
        mov al, 1                   ; 115200 / 1
        out dx, al
        inc dx
        xor al, al
        out dx, al
        mov dx, COM1_BASE + UART_LCR
        mov al, 0x03                ; 8 data bits, no parity, 1 stop bit
        out dx, al
        mov dx, COM1_BASE + UART_FCR
        mov al, 0xC7                ; enable and clear FIFOs
        out dx, al
        mov dx, COM1_BASE + UART_MCR
        mov al, 0x03                ; DTR, RTS
        out dx, al
        mov word [BDA_COM1], COM1_BASE
        or word [BDA_EQUIP], 0x0200 ; one serial port
.absent:
        ret

; ---------------------------------------------------------------------------
; post_keyboard: find the i8042. It may be missing (status reads 0xFF) or
; mute; every wait is bounded so POST never hangs on it. When found, set
; the command byte (scancode translation to set 1, keyboard IRQ on, mouse
; off) and enable keyboard scanning.
post_keyboard:
        push word BDA_SEG
        pop ds
        mov es, [BDA_EBDA]
        in al, KBC_STATUS
        cmp al, 0xFF
        je .absent
        mov cx, 32                  ; drain stale output
.drain: in al, KBC_STATUS
        test al, 0x01
        jz .drained
        in al, KBC_DATA
        loop .drain
.drained:
        mov al, 0x60                ; write command byte
        call kbc_send_cmd
        jc .absent
        mov al, 0x65                ; translate, system flag, no mouse, kbd IRQ
        call kbc_send_data
        jc .absent
        mov al, 0xF4                ; keyboard: enable scanning
        call kbc_send_data
        jc .absent
        call kbc_read_data          ; its ACK (0xFA); content not needed
        mov byte [es:E_KBC_PRESENT], 1
        or byte [BDA_KBMODE], 0x10  ; enhanced (101/102-key) keyboard
        ret
.absent:
        mov byte [es:E_KBC_PRESENT], 0
        ret

; kbc_wait_input: CF=1 if the controller's input buffer never empties.
kbc_wait_input:
        push cx
        mov cx, 0xFFFF
.w:     in al, KBC_STATUS
        test al, 0x02
        jz .ok
        loop .w
        pop cx
        stc
        ret
.ok:    pop cx
        clc
        ret

kbc_send_cmd:                       ; AL = controller command
        push ax
        call kbc_wait_input
        pop ax
        jc .r
        out KBC_STATUS, al
.r:     ret

kbc_send_data:                      ; AL = data byte (to the keyboard)
        push ax
        call kbc_wait_input
        pop ax
        jc .r
        out KBC_DATA, al
.r:     ret

kbc_read_data:                      ; AL = byte, CF=1 on timeout
        push cx
        mov cx, 0xFFFF
.w:     in al, KBC_STATUS
        test al, 0x01
        jnz .ok
        call io_delay
        loop .w
        pop cx
        stc
        ret
.ok:    in al, KBC_DATA
        pop cx
        clc
        ret

; ---------------------------------------------------------------------------
; post_clock: start the BDA tick count at the RTC's time of day, so INT 1Ah
; AH=00 agrees with the wall clock.
post_clock:
        push word BDA_SEG
        pop ds
        call rtc_wait_update
        mov al, CMOS_REG_B
        call cmos_read
        mov bl, al                  ; bit 2: binary rather than BCD
        mov al, CMOS_HOUR
        call cmos_read
        call .tobin
        movzx eax, al
        imul esi, eax, 3600
        mov al, CMOS_MIN
        call cmos_read
        call .tobin
        movzx eax, al
        imul eax, eax, 60
        add esi, eax
        mov al, CMOS_SEC
        call cmos_read
        call .tobin
        movzx eax, al
        add eax, esi
        cmp eax, 86400
        jb .ok
        xor eax, eax
.ok:    mov ecx, TICKS_PER_DAY
        mul ecx
        mov ecx, 86400
        div ecx
        mov [BDA_TICKS], eax
        mov byte [BDA_MIDNIGHT], 0
        ret
.tobin: test bl, 0x04
        jnz .bin
        and al, 0x7F                ; drop a 12-hour PM bit, if any
        mov ah, al
        shr ah, 4
        and al, 0x0F
        aad                         ; AL = AH * 10 + AL
.bin:   ret

; ---------------------------------------------------------------------------
; post_e820: build the memory map once from the CMOS sizes; INT 15h E820
; only copies entries out of this table.
post_e820:
        push word BDA_SEG
        pop ds
        mov es, [BDA_EBDA]
        mov di, E_E820
        ; 0 - 0x9FBFF usable
        xor eax, eax
        mov ebx, BASE_MEM_KIB * 1024
        mov cl, 1
        call .add
        ; the EBDA
        mov eax, EBDA_SEG * 16
        mov ebx, EBDA_KIB * 1024
        mov cl, 2
        call .add
        ; 0xE0000 - 0xFFFFF: BIOS ROM area
        mov eax, 0xE0000
        mov ebx, 0x20000
        mov cl, 2
        call .add
        ; 1 MiB to the top of RAM below 4 GiB, less the ACPI tables if
        ; they had to go there
        call ram_top_below_4g
        test eax, eax
        jz .rom
        mov ebx, eax
        mov edx, [es:E_ACPI_BASE]
        cmp edx, 0x100000
        jb .ext
        mov ebx, edx
.ext:   sub ebx, 0x100000
        mov eax, 0x100000
        mov cl, 1
        call .add
        cmp edx, 0x100000
        jb .rom
        mov eax, edx
        mov ebx, ACPI_AREA_SIZE
        mov cl, 3                   ; ACPI tables
        call .add
.rom:   ; the BIOS ROM alias below 4 GiB
        mov eax, 0xFFFC0000
        mov ebx, 0x40000
        mov cl, 2
        call .add
        ; RAM above 4 GiB
        mov al, CMOS_HIGH_2
        call cmos_read
        movzx edx, al
        shl edx, 16
        mov al, CMOS_HIGH_1
        call cmos_read
        mov dh, al
        mov al, CMOS_HIGH_0
        call cmos_read
        mov dl, al
        test edx, edx
        jz .done
        ; length = units * 64 KiB, a 40-bit value: high dword = units >> 16
        mov ebx, edx
        shl ebx, 16
        shr edx, 16
        mov dword [es:di], 0        ; base 4 GiB
        mov dword [es:di+4], 1
        mov [es:di+8], ebx
        mov [es:di+12], edx
        mov dword [es:di+16], 1
        add di, 20
        inc byte [es:E_E820_COUNT]
.done:  ret
.add:   ; EAX = base (below 4 GiB), EBX = length, CL = type
        mov [es:di], eax
        mov dword [es:di+4], 0
        mov [es:di+8], ebx
        mov dword [es:di+12], 0
        movzx ecx, cl
        mov [es:di+16], ecx
        add di, 20
        inc byte [es:E_E820_COUNT]
        ret

; ---------------------------------------------------------------------------
; post_banner: name, RAM size (sum of the usable E820 ranges) and disk.
post_banner:
        push word BDA_SEG
        pop ds
        mov si, str_banner
        call bios_puts
        mov es, [BDA_EBDA]
        ; usable RAM in KiB (64-bit lengths, summed in KiB: fits 32 bits
        ; up to 4 TiB)
        xor esi, esi
        movzx cx, byte [es:E_E820_COUNT]
        mov di, E_E820
.sum:   cmp dword [es:di+16], 1
        jne .skip
        mov eax, [es:di+8]
        mov edx, [es:di+12]
        shrd eax, edx, 10
        add esi, eax
.skip:  add di, 20
        loop .sum
        mov eax, esi
        mov si, str_mem             ; (bios_puts keeps EAX)
        call bios_puts
        add eax, 1023 + 1           ; count the EBDA and ROM hole as RAM
        shr eax, 10                 ; MiB
        call bios_putdec
        mov si, str_mem_mib
        call bios_puts
        movzx eax, word [BDA_MEMKIB]
        call bios_putdec
        mov si, str_mem_base
        call bios_puts
        ; disk
        mov si, str_disk
        call bios_puts
        test byte [es:E_DISK_FLAGS], DISK_PRESENT
        jz .nodisk
        mov eax, [es:E_TOTAL]
        mov edx, [es:E_TOTAL+4]
        shrd eax, edx, 11           ; sectors -> KiB -> MiB needs 11 more bits
        shr edx, 11
        test eax, eax
        jz .kib
        call bios_putdec
        mov si, str_mib
        call bios_puts
        jmp .geo
.kib:   mov eax, [es:E_TOTAL]
        shr eax, 1
        call bios_putdec
        mov si, str_kib
        call bios_puts
.geo:   mov si, str_chs
        call bios_puts
        movzx eax, word [es:E_LCYL]
        call bios_putdec
        mov al, '/'
        call bios_putc
        movzx eax, word [es:E_LHEADS]
        call bios_putdec
        mov al, '/'
        call bios_putc
        movzx eax, word [es:E_LSPT]
        call bios_putdec
        mov si, str_crlf
        call bios_puts
        ret
.nodisk:
        mov si, str_none
        call bios_puts
        ret
