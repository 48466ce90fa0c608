; pci.asm — PCI configuration (mechanism #1, ports 0xCF8/0xCFC) and the
; POST pass that makes bus 0 usable: the i440FX's PAM registers (E0000-EFFFF
; becomes RAM for the ACPI tables), the PIIX3 PIRQ routing, the PIIX3 IDE
; decode enables, the PIIX4 PM I/O base (PMBA = ACPI_PM_BASE), BARs nobody
; assigned yet, interrupt lines and command registers.
;
; A device is addressed by BX = bus << 8 | device << 3 | function and a
; register offset in DI.

PCI_IO_START    equ 0xC000          ; I/O BARs are handed out from here up
PCI_MEM_START   equ 0xE1000000      ; MMIO BARs: after the 16 MiB LFB
VGA_LFB_DEFAULT equ 0xE0000000      ; where the VGA's BAR0 goes

; PIIX3 PIRQA-D routing (config 0x60-0x63 of the ISA bridge) and the IRQ
; each one lands on. A device's INTx pin on slot S uses PIRQ (S + pin - 1)
; mod 4, the i440FX board's swizzle.
PIRQ_ROUTE      equ 0x0B0A0B0A      ; A = 10, B = 11, C = 10, D = 11

; pci_select: write CONFIG_ADDRESS for BX/DI; DX = the data port to use.
pci_select:
        push eax
        movzx eax, bx
        shl eax, 8
        or ax, di
        and al, 0xFC
        or eax, 0x80000000
        mov dx, PCI_ADDR
        out dx, eax
        mov dx, di
        and dx, 3
        add dx, PCI_DATA
        pop eax
        ret

; Configuration reads and writes: BX = bus/devfn, DI = register, value in
; AL / AX / EAX. DX is preserved.
pci_read8:
        push dx
        call pci_select
        in al, dx
        pop dx
        ret
pci_read16:
        push dx
        call pci_select
        in ax, dx
        pop dx
        ret
pci_read32:
        push dx
        call pci_select
        in eax, dx
        pop dx
        ret
pci_write8:
        push dx
        call pci_select
        out dx, al
        pop dx
        ret
pci_write16:
        push dx
        call pci_select
        out dx, ax
        pop dx
        ret
pci_write32:
        push dx
        call pci_select
        out dx, eax
        pop dx
        ret

; ---------------------------------------------------------------------------
; post_pci: configure bus 0. Leaves E_LFB (the VGA framebuffer address)
; and E_ACPI_HW = 1 if a PIIX4 PM function (the ACPI hardware) was found.
; ES = EBDA.
post_pci:
        pushad
        mov dword [es:E_LFB], VGA_LFB_DEFAULT
        mov word [es:E_PCI_IO_NEXT], PCI_IO_START
        mov dword [es:E_PCI_MEM_NEXT], PCI_MEM_START
        xor bp, bp                  ; bit 0: PIIX4 PM found
        ; Is there a configuration mechanism #1 at all?
        mov dx, PCI_ADDR
        mov eax, 0x80000000
        out dx, eax
        in eax, dx
        cmp eax, 0x80000000
        jne .done
        xor bx, bx                  ; bus 0, device 0, function 0
.fn:    xor di, di
        call pci_read32             ; vendor / device
        cmp ax, 0xFFFF
        je .next
        call pci_setup_function
        jnc .next
        or bp, 1
.next:  ; function 0 without the multi-function bit: skip functions 1-7
        test bl, 7
        jnz .inc
        mov di, 0x0E
        call pci_read8
        cmp al, 0xFF
        je .skipdev
        test al, 0x80
        jnz .inc
.skipdev:
        or bl, 7
.inc:   inc bl
        jnz .fn
.done:  mov dx, PCI_ADDR            ; leave CONFIG_ADDRESS disabled
        xor eax, eax
        out dx, eax
        mov ax, bp
        and al, 1
        mov [es:E_ACPI_HW], al
        popad
        ret

; pci_setup_function: BX = a present function, EAX = its vendor/device.
; CF=1 if it is the PIIX4 PM function.
pci_setup_function:
        cmp eax, 0x12378086         ; i440FX host bridge
        je .host
        cmp eax, 0x70008086         ; PIIX3 ISA bridge
        je .isa
        cmp eax, 0x70108086         ; PIIX3 IDE
        je .ide
        cmp eax, 0x71138086         ; PIIX4 power management
        je .pm
        mov di, 0x0A
        call pci_read16             ; class / subclass
        cmp ax, 0x0600              ; other host bridges: leave alone
        je .r
        cmp ax, 0x0300              ; VGA
        jne .generic
        call pci_setup_vga
.generic:
        call pci_assign_bars
        call pci_route_irq
        mov di, 0x04                ; command: I/O and memory decode
        call pci_read16
        or al, 0x03
        call pci_write16
.r:     clc
        ret
.host:  ; PAM5/PAM6: E0000-EFFFF read/write DRAM rather than ISA/PCI
        mov di, 0x5E
        mov ax, 0x3333
        call pci_write16
        clc
        ret
.isa:   mov di, 0x60
        mov eax, PIRQ_ROUTE
        call pci_write32
        clc
        ret
.ide:   ; IDETIM, primary and secondary: IDE decode enable (bit 15)
        mov di, 0x40
        mov eax, 0x80008000
        call pci_write32
        call pci_assign_bars        ; BAR4: bus master registers
        mov di, 0x3C
        mov al, 14                  ; legacy mode: IRQ 14 (and 15)
        call pci_write8
        mov di, 0x04                ; I/O decode, bus master
        call pci_read16
        or al, 0x05
        call pci_write16
        clc
        ret
.pm:    mov di, 0x40                ; PMBA (bit 0 reads as 1: I/O space)
        mov eax, ACPI_PM_BASE | 1
        call pci_write32
        mov di, 0x80                ; PMREGMISC: PM I/O space enable
        mov al, 0x01
        call pci_write8
        mov di, 0x3C
        mov al, ACPI_SCI_IRQ
        call pci_write8
        stc
        ret

; pci_setup_vga: BAR0 is the linear framebuffer; place it at
; VGA_LFB_DEFAULT unless the board already did, and remember where it is.
pci_setup_vga:
        mov di, 0x10
        call pci_read32
        and eax, 0xFFFFFFF0
        jnz .have
        mov eax, VGA_LFB_DEFAULT
        call pci_write32
        call pci_read32
        and eax, 0xFFFFFFF0
        jz .r
.have:  mov [es:E_LFB], eax
.r:     ret

; pci_assign_bars: give every BAR that reads as unassigned (address 0) an
; address of its size and alignment. BARs the board preassigned are kept.
pci_assign_bars:
        mov di, 0x0E
        call pci_read8
        test al, 0x7F               ; header type 0 only
        jnz .r
        mov di, 0x10
.bar:   call pci_read32
        mov esi, eax                ; original value
        test al, 1
        jnz .io
        test esi, 0xFFFFFFF0
        jnz .skip                   ; preassigned
        mov eax, 0xFFFFFFFF
        call pci_write32
        call pci_read32
        and eax, 0xFFFFFFF0
        jz .restore                 ; not implemented
        neg eax                     ; size (a power of two)
        mov ecx, eax
        mov edx, [es:E_PCI_MEM_NEXT]
        dec eax
        add edx, eax
        not eax
        and edx, eax                ; aligned to the size
        mov eax, edx
        add edx, ecx
        mov [es:E_PCI_MEM_NEXT], edx
        call pci_write32
        jmp .skip
.io:    test esi, 0xFFFFFFFC
        jnz .skip
        mov eax, 0xFFFFFFFF
        call pci_write32
        call pci_read32
        and ax, 0xFFFC
        jz .restore
        neg ax                      ; size
        mov cx, ax
        mov dx, [es:E_PCI_IO_NEXT]
        dec ax
        add dx, ax
        not ax
        and dx, ax
        movzx eax, dx
        add dx, cx
        mov [es:E_PCI_IO_NEXT], dx
        call pci_write32
        jmp .skip
.restore:
        mov eax, esi
        call pci_write32
.skip:  mov eax, esi
        and al, 0x07
        cmp al, 0x04                ; 64-bit memory BAR: upper half = 0
        jne .nextbar
        add di, 4
        cmp di, 0x28
        jae .r
        xor eax, eax
        call pci_write32
.nextbar:
        add di, 4
        cmp di, 0x28
        jb .bar
.r:     ret

; pci_route_irq: a function with an interrupt pin gets the IRQ its PIRQ
; line is routed to (interrupt line register), made level-triggered in
; the ELCR as PCI interrupts are.
pci_route_irq:
        mov di, 0x3D
        call pci_read8
        test al, al
        jz .r
        cmp al, 4
        ja .r
        mov cl, bl
        shr cl, 3                   ; slot
        add cl, al
        dec cl
        and cl, 3
        shl cl, 3
        mov eax, PIRQ_ROUTE
        shr eax, cl
        mov di, 0x3C
        call pci_write8
        mov cl, al
        mov dx, ELCR1
        cmp cl, 8
        jb .lo
        inc dx
        sub cl, 8
.lo:    mov ah, 1
        shl ah, cl
        in al, dx
        or al, ah
        out dx, al
.r:     ret
