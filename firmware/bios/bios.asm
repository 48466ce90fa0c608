; bios.asm — the crane86 BIOS.
;
; The firmware of the crane86 PC, a board modelled on QEMU's i440FX PC:
; RAM from 0, VGA text memory at B8000, COM1 (16550A) at 3F8h, the 8259A
; pair, the 8254 PIT, the MC146818 RTC/CMOS, an optional i8042, port 92h
; A20, an ATA disk on the primary channel, a debug console at E9h, PCI
; (i440FX, PIIX3/PIIX4 PM), a VGA with the Bochs VBE interface and ACPI.
;
; It is a 64 KiB image, mapped at F0000-FFFFF (and at FFFF0000 at reset),
; written for 16-bit real mode on a 686-class CPU (32-bit registers are
; used freely). The ROM is never written: all state lives in the BDA
; (segment 40h) and the EBDA (9FC00h, 1 KiB).
;
; Build: nasm -f bin -I firmware/bios/ -o firmware/bios.bin firmware/bios/bios.asm
; (scripts/build-firmware.sh).
;
; Files, by concern:
;   defs.inc    ports, BDA/EBDA layout, the handler stack frame
;   util.asm    CMOS, PIT and COM1 helpers, message printing
;   post.asm    power-on self test
;   int10.asm   video (text mode)            int13.asm  disk (ATA PIO, EDD)
;   int14.asm   serial port                  int15.asm  system services
;   int16.asm   keyboard (i8042 and COM1)    int1a.asm  timer and clock
;   boot.asm    INT 19h/18h, INT 11h/12h, default handlers
;   pci.asm     PCI configuration, bus 0 set-up at POST
;   acpi.asm    ACPI tables (RSDP, RSDT, FADT, FACS, DSDT, MADT)
;   smbios.asm  SMBIOS (DMI) entry point and structure table
;   vbe.asm     VESA BIOS Extensions (INT 10h AX=4Fxxh) over Bochs VBE
;   tables.asm  read-only data (and the 8x16 text font, font8x16.bin)

        cpu 686
        bits 16
        org 0

%define BIOS_VERSION '0.1'
BIOS_MAJOR      equ 0               ; BIOS_VERSION as numbers (SMBIOS type 0)
BIOS_MINOR      equ 1
%define BIOS_DATE    '11/23/26'     ; mm/dd/yy, at F000:FFF5
%define BIOS_DATE_LONG '11/23/2026' ; the same, mm/dd/yyyy (SMBIOS type 0)

%include "defs.inc"

rom_start:
%include "util.asm"
%include "post.asm"
%include "int10.asm"
%include "int13.asm"
%include "int14.asm"
%include "int15.asm"
%include "int16.asm"
%include "int1a.asm"
%include "boot.asm"
%include "pci.asm"
%include "acpi.asm"
%include "smbios.asm"
%include "vbe.asm"
%include "tables.asm"
rom_code_end:

; ---- fixed locations at the top of the segment ----------------------------
        times 0xFFF0 - ($ - $$) db 0xFF
reset_vector:                       ; F000:FFF0, where the CPU starts
        jmp BIOS_SEG:post_entry
        db BIOS_DATE                ; F000:FFF5, release date
        db 0
        db 0xFC                     ; F000:FFFE, model byte: AT class
        db 0
%if $ - $$ != 0x10000
%error the BIOS image must be exactly 64 KiB
%endif
