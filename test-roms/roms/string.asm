; string.asm — string instruction conformance (real mode).
;
; Covers MOVS LODS STOS CMPS SCAS INS OUTS in byte/word/dword sizes:
;   - REP / REPE / REPNE, with DF = 0 and DF = 1, and CX = 0 (nothing
;     happens: registers, memory and FLAGS unchanged);
;   - the pointer and count updates (SI/DI by the element size, CX to the
;     number left), termination of REPE/REPNE on the ZF condition with
;     the flags of the last comparison (CMPS computes [SI] - [DI], SCAS
;     computes AL/AX/EAX - [DI]);
;   - segment overrides on the source (FS, CS, GS) while the destination
;     stays ES:DI whatever the prefix;
;   - 16-bit address wrap of SI/DI (FFFF+1 = 0000, 0000-1 = FFFF) with the
;     upper halves of ESI/EDI/ECX left alone, and 32-bit addressing (67h)
;     with ESI/EDI/ECX;
;   - INS/OUTS: the byte forms move data through the 16550 scratch
;     register (port 3FFh); the word/dword forms run against port 80h
;     and only their SI/DI/CX updates are checked.
; Every check is hand-written from the SDM; each group prints one line.

%include "testrom.inc"
%include "vectest.inc"
%include "check.inc"

SRC     equ     0x1000                  ; linear addresses, segment 0
DST     equ     0x2000
SCR     equ     0x3FF                   ; COM1 scratch register
POST    equ     0x80                    ; POST code port

%macro SETFLAGS 1
        push    word %1
        popf
%endmacro

rom_start:
        call    vt_init
        call    t_movs
        call    t_movs_wd
        call    t_override
        call    t_lods
        call    t_stos
        call    t_cmps
        call    t_scas
        call    t_wrap
        call    t_a32
        call    t_ins_outs
        VT_FINISH

; Reset: DS = ES = FS = GS = 0, DF = 0; SRC = "ABCDEFGHIJKLMNOP" (+ a copy
; of it at SRC+16), DST = 32 bytes of EE. Uses plain MOVs only.
reset:
        pushad
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        mov     fs, ax
        mov     gs, ax
        cld
        xor     bx, bx
.copy:  mov     al, [cs:alpha + bx]
        mov     [SRC + bx], al
        mov     [SRC + 16 + bx], al
        mov     byte [DST + bx], 0xEE
        mov     byte [DST + 16 + bx], 0xEE
        inc     bx
        cmp     bx, 16
        jb      .copy
        popad
        ret

alpha:  db      "ABCDEFGHIJKLMNOP"
words:  dw      0x1234, 0xABCD
dwords: dd      0xA1B2C3D4

; ---------------------------------------------------------------- MOVSB
t_movs:
        TGROUP  "movsb"
        call    reset
        mov     si, SRC
        mov     di, DST
        mov     cx, 5
        rep movsb
        EXPECT16 si, SRC + 5
        EXPECT16 di, DST + 5
        EXPECT16 cx, 0
        EXPECT32 [DST], 'ABCD'
        EXPECT8 [DST + 4], 'E'
        EXPECT8 [DST + 5], 0xEE
        ; without REP: one element, CX untouched
        mov     cx, 7
        movsb
        EXPECT16 cx, 7
        EXPECT16 si, SRC + 6
        EXPECT8 [DST + 5], 'F'
        ; DF = 1: backwards
        mov     si, SRC + 4
        mov     di, DST + 0x14
        mov     cx, 5
        std
        rep movsb
        cld
        EXPECT16 si, SRC - 1
        EXPECT16 di, DST + 0x0F
        EXPECT32 [DST + 0x10], 'ABCD'
        EXPECT8 [DST + 0x14], 'E'
        EXPECT8 [DST + 0x0F], 0xEE
        ; CX = 0: nothing at all, flags kept
        call    reset
        mov     si, SRC
        mov     di, DST
        xor     cx, cx
        SETFLAGS 0x08D7
        rep movsb
        EXPECTF ARITH, ARITH
        EXPECT16 si, SRC
        EXPECT16 di, DST
        EXPECT8 [DST], 0xEE
        TEND
        ret

; ---------------------------------------------------------------- MOVSW/D
t_movs_wd:
        TGROUP  "movsw/movsd"
        call    reset
        mov     si, SRC
        mov     di, DST
        mov     cx, 3
        rep movsw
        EXPECT16 si, SRC + 6
        EXPECT16 di, DST + 6
        EXPECT16 cx, 0
        EXPECT32 [DST + 2], 'CDEF'
        EXPECT16 [DST + 6], 0xEEEE
        mov     cx, 2
        rep movsd
        EXPECT16 si, SRC + 14
        EXPECT16 di, DST + 14
        EXPECT32 [DST + 10], 'KLMN'
        EXPECT16 [DST + 14], 0xEEEE
        ; DF = 1: one dword, then two words
        call    reset
        mov     si, SRC + 8
        mov     di, DST + 8
        std
        movsd
        EXPECT16 si, SRC + 4
        EXPECT16 di, DST + 4
        mov     cx, 2
        rep movsw
        cld
        EXPECT16 si, SRC
        EXPECT16 di, DST
        EXPECT16 cx, 0
        EXPECT32 [DST + 2], 'CDEF'
        EXPECT32 [DST + 8], 'IJKL'
        EXPECT16 [DST], 0xEEEE
        EXPECT16 [DST + 6], 0xEEEE
        TEND
        ret

; ---------------------------------------------------------------- overrides
; DS points elsewhere; the source comes from the override, the destination
; is always ES:DI.
t_override:
        TGROUP  "movs override"
        call    reset
        mov     ax, 0x0050
        mov     ds, ax                  ; DS:SRC is not SRC
        mov     ax, 0x0100
        mov     es, ax                  ; ES:DI = linear 0x1000 + DI
        mov     si, SRC
        mov     di, DST - 0x1000
        mov     cx, 4
        rep fs movsb                     ; FS = 0
        xor     ax, ax
        mov     ds, ax
        EXPECT32 [DST], 'ABCD'
        EXPECT16 di, DST - 0x1000 + 4
        ; CS source: the ROM's own bytes
        mov     si, words
        mov     di, DST + 4 - 0x1000
        mov     cx, 2
        rep cs movsw
        EXPECT32 [DST + 4], 0xABCD1234
        ; a GS prefix moves the source only; ES still names the destination
        mov     ax, 0x0080
        mov     ds, ax
        mov     ax, 0x0100
        mov     gs, ax                  ; GS:SI = linear 0x1000 + SI
        mov     si, SRC + 8 - 0x1000
        mov     di, DST + 8 - 0x1000
        gs movsd
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        mov     gs, ax
        EXPECT32 [DST + 8], 'IJKL'
        ; LODS with an override
        mov     ax, 0x0200
        mov     ds, ax
        mov     si, SRC + 12
        fs lodsd
        xor     bx, bx
        mov     ds, bx
        EXPECT32 eax, 'MNOP'
        EXPECT16 si, SRC + 16
        TEND
        ret

; ---------------------------------------------------------------- LODS
t_lods:
        TGROUP  "lods"
        call    reset
        mov     si, SRC
        mov     eax, 0x11223344
        lodsb
        EXPECT32 eax, 0x11223341
        lodsw
        EXPECT32 eax, 0x11224342
        lodsd
        EXPECT32 eax, 'DEFG'
        EXPECT16 si, SRC + 7
        mov     cx, 3
        rep lodsb                       ; legal, if useless: AL = last
        EXPECT8 al, 'J'
        EXPECT16 si, SRC + 10
        EXPECT16 cx, 0
        std
        lodsw
        EXPECT16 ax, 'KL'
        EXPECT16 si, SRC + 8
        lodsd
        EXPECT32 eax, 'IJKL'
        EXPECT16 si, SRC + 4
        cld
        TEND
        ret

; ---------------------------------------------------------------- STOS
t_stos:
        TGROUP  "stos"
        call    reset
        mov     di, DST
        mov     eax, 0x89ABCDEF
        stosb
        EXPECT16 di, DST + 1
        mov     cx, 3
        rep stosw
        EXPECT16 di, DST + 7
        EXPECT16 cx, 0
        EXPECT32 [DST], 0xEFCDEFEF
        EXPECT32 [DST + 4], 0xEECDEFCD
        mov     di, DST + 16
        mov     cx, 2
        std
        rep stosd
        cld
        EXPECT16 di, DST + 8
        EXPECT32 [DST + 12], 0x89ABCDEF
        EXPECT32 [DST + 16], 0x89ABCDEF
        EXPECT32 [DST + 20], 0xEEEEEEEE
        EXPECT32 [DST + 8], 0xEEEEEEEE
        ; CX = 0
        xor     cx, cx
        mov     di, DST + 24
        rep stosd
        EXPECT16 di, DST + 24
        EXPECT32 [DST + 24], 0xEEEEEEEE
        ; STOS ignores a segment prefix: still ES:DI
        mov     ax, 0x0100
        mov     es, ax
        mov     di, DST + 28 - 0x1000
        mov     al, 0x77
        db      0x64                    ; FS prefix (FS = 0)
        stosb
        xor     ax, ax
        mov     es, ax
        EXPECT8 [DST + 28], 0x77
        TEND
        ret

; ---------------------------------------------------------------- CMPS
t_cmps:
        TGROUP  "cmps"
        call    reset
        ; DST = "ABCXEFGH"
        mov     dword [DST], 'ABCX'
        mov     dword [DST + 4], 'EFGH'
        ; REPE: stops after the mismatch at index 3 ('D' - 'X')
        mov     si, SRC
        mov     di, DST
        mov     cx, 8
        repe cmpsb
        EXPECTF ARITH, CF | SF | AF
        EXPECT16 cx, 4
        EXPECT16 si, SRC + 4
        EXPECT16 di, DST + 4
        ; REPE over equal elements runs out: CX = 0, ZF = 1
        mov     si, SRC + 4
        mov     di, DST + 4
        mov     cx, 4
        repe cmpsb
        EXPECTF ARITH, ZF | PF
        EXPECT16 cx, 0
        EXPECT16 si, SRC + 8
        ; REPNE: stops after the first equal pair
        mov     dword [DST], 'XYZD'
        mov     si, SRC
        mov     di, DST
        mov     cx, 8
        repne cmpsb
        EXPECTF ZF, ZF
        EXPECT16 cx, 4
        EXPECT16 di, DST + 4
        ; CX = 0: flags unchanged
        xor     cx, cx
        SETFLAGS 0x0893
        repe cmpsb
        EXPECTF ARITH, 0x0891
        EXPECT16 si, SRC + 4
        ; CMPSW, CMPSD: [SI] - [DI]
        mov     word [SRC + 0x20], 0x8000
        mov     word [DST + 0x20], 0x0001
        mov     si, SRC + 0x20
        mov     di, DST + 0x20
        cmpsw                           ; 8000 - 0001 = 7FFF, overflow
        EXPECTF ARITH, OF | AF | PF
        EXPECT16 si, SRC + 0x22
        mov     dword [SRC + 0x24], 1
        mov     dword [DST + 0x24], 2
        mov     si, SRC + 0x24
        mov     di, DST + 0x24
        cmpsd                           ; 1 - 2 = FFFFFFFF
        EXPECTF ARITH, CF | SF | AF | PF
        EXPECT16 di, DST + 0x28
        ; DF = 1, REPE CMPSD from the end of two equal 16-byte runs
        mov     si, SRC + 12
        mov     di, SRC + 28
        mov     cx, 4
        std
        repe cmpsd
        cld
        EXPECTF ZF, ZF
        EXPECT16 cx, 0
        EXPECT16 si, SRC - 4
        EXPECT16 di, SRC + 12
        TEND
        ret

; ---------------------------------------------------------------- SCAS
t_scas:
        TGROUP  "scas"
        call    reset
        mov     di, SRC
        mov     cx, 16
        mov     al, 'E'
        repne scasb
        EXPECTF ZF, ZF
        EXPECT16 cx, 11
        EXPECT16 di, SRC + 5
        ; not found: CX = 0, flags of the last compare ('Z' - 'P')
        mov     di, SRC
        mov     cx, 16
        mov     al, 'Z'
        repne scasb
        EXPECTF ARITH, PF               ; 5A - 50 = 0A
        EXPECT16 cx, 0
        EXPECT16 di, SRC + 16
        ; REPE SCASW over "ABAB..": stops at the first word != AX
        mov     dword [DST], 'ABAB'
        mov     dword [DST + 4], 'ABCD'
        mov     di, DST
        mov     cx, 8
        mov     ax, 'AB'
        repe scasw
        EXPECTF ZF | CF, CF             ; 'AB' - 'CD': borrow
        EXPECT16 cx, 4
        EXPECT16 di, DST + 8
        ; SCASD backwards
        mov     di, SRC + 12
        mov     eax, 'IJKL'
        mov     cx, 4
        std
        repne scasd
        cld
        EXPECTF ZF, ZF
        EXPECT16 cx, 2
        EXPECT16 di, SRC + 4
        ; CX = 0: ZF unchanged
        xor     cx, cx
        SETFLAGS 0x0002
        repne scasb
        EXPECTF ARITH, 0
        SETFLAGS 0x0042
        repe scasb
        EXPECTF ARITH, ZF
        TEND
        ret

; ---------------------------------------------------------------- wrap
; 16-bit addressing wraps SI/DI within the segment and leaves the upper
; halves of ESI/EDI/ECX alone.
t_wrap:
        TGROUP  "wrap16"
        call    reset
        mov     ax, 0x1000
        mov     es, ax
        mov     ds, ax
        mov     edi, 0x5555FFFF
        mov     ecx, 0xAAAA0002
        mov     al, 'Z'
        rep stosb                       ; ES:FFFF, then ES:0000
        EXPECT32 edi, 0x55550001
        EXPECT32 ecx, 0xAAAA0000
        EXPECT8 [0xFFFF], 'Z'
        EXPECT8 [0x0000], 'Z'
        mov     byte [0xFFFF], 'a'
        mov     byte [0x0000], 'b'
        mov     esi, 0x1234FFFF
        lodsb
        EXPECT8 al, 'a'
        lodsb
        EXPECT8 al, 'b'
        EXPECT32 esi, 0x12340001
        std
        lodsb                           ; [0001]
        lodsb                           ; [0000]
        EXPECT8 al, 'b'
        lodsb                           ; [FFFF]
        EXPECT8 al, 'a'
        EXPECT32 esi, 0x1234FFFE
        ; MOVSB across the wrap in both pointers, backwards
        mov     byte [0x0001], 'c'
        mov     si, 0x0001
        mov     di, 0x0000
        mov     cx, 3                   ; reads 0001 0000 FFFF
        rep movsb                       ; writes 0000 FFFF FFFE
        cld
        EXPECT16 si, 0xFFFE
        EXPECT16 di, 0xFFFD
        EXPECT8 [0x0000], 'c'
        EXPECT8 [0xFFFF], 'c'           ; element by element: the 'c'
                                        ; written first is read back
        EXPECT8 [0xFFFE], 'c'
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        TEND
        ret

; ---------------------------------------------------------------- 67h
t_a32:
        TGROUP  "a32"
        call    reset
        mov     esi, SRC
        mov     edi, DST
        mov     ecx, 3
        a32 rep movsb                   ; ESI, EDI, ECX
        EXPECT32 esi, SRC + 3
        EXPECT32 edi, DST + 3
        EXPECT32 ecx, 0
        EXPECT32 [DST], 0xEE434241
        ; with 16-bit addressing only CX/SI/DI count: ECX = 0x00010002
        ; copies 2 bytes, not 65538
        mov     esi, 0xABCD0000 + SRC
        mov     edi, 0x56780000 + DST + 4
        mov     ecx, 0x00010002
        rep movsb
        EXPECT32 ecx, 0x00010000
        EXPECT32 esi, 0xABCD0000 + SRC + 2
        EXPECT32 edi, 0x56780000 + DST + 6
        EXPECT16 [DST + 4], 'AB'
        EXPECT8 [DST + 6], 0xEE
        ; a32 STOSD, LODSW backwards, REPNE SCASB
        mov     edi, DST + 8
        mov     ecx, 2
        mov     eax, 0x01020304
        a32 rep stosd
        EXPECT32 edi, DST + 16
        EXPECT32 [DST + 12], 0x01020304
        mov     esi, SRC + 4
        std
        a32 lodsw
        cld
        EXPECT32 esi, SRC + 2
        EXPECT16 ax, 'EF'
        mov     edi, SRC
        mov     ecx, 16
        mov     al, 'C'
        a32 repne scasb
        EXPECT32 ecx, 13
        EXPECT32 edi, SRC + 3
        mov     esi, SRC
        mov     edi, SRC + 16
        mov     ecx, 16
        a32 repe cmpsb
        EXPECTF ZF, ZF
        EXPECT32 ecx, 0
        EXPECT32 esi, SRC + 16
        TEND
        ret

; ---------------------------------------------------------------- INS/OUTS
t_ins_outs:
        TGROUP  "ins/outs"
        call    reset
        mov     dx, SCR
        mov     al, 0x5A
        out     dx, al
        in      al, dx
        EXPECT8 al, 0x5A
        ; REP OUTSB: the scratch register keeps the last byte
        mov     si, SRC
        mov     cx, 3
        rep outsb
        EXPECT16 si, SRC + 3
        EXPECT16 cx, 0
        in      al, dx
        EXPECT8 al, 'C'
        ; REP INSB to ES:DI (DS elsewhere)
        mov     al, 0x99
        out     dx, al
        mov     ax, 0x0050
        mov     ds, ax
        mov     di, DST
        mov     cx, 4
        rep insb
        xor     ax, ax
        mov     ds, ax
        EXPECT16 di, DST + 4
        EXPECT32 [DST], 0x99999999
        EXPECT8 [DST + 4], 0xEE
        ; DF = 1
        mov     al, 0x42
        out     dx, al
        mov     di, DST + 9
        mov     cx, 2
        std
        rep insb
        cld
        EXPECT16 di, DST + 7
        EXPECT16 [DST + 8], 0x4242
        EXPECT8 [DST + 7], 0xEE
        ; word/dword forms on port 80h (POST code: writes ignored, reads
        ; undefined): only the pointer and count updates are checked.
        ; (QEMU's 16550 model does not take 16/32-bit accesses.)
        mov     dx, POST
        mov     si, SRC
        mov     cx, 3
        rep outsw
        EXPECT16 si, SRC + 6
        EXPECT16 cx, 0
        std
        cs outsd
        cld
        EXPECT16 si, SRC + 2
        mov     di, DST + 16
        mov     cx, 2
        rep insw
        EXPECT16 di, DST + 20
        EXPECT8 [DST + 20], 0xEE
        mov     di, DST + 24
        std
        insd
        cld
        EXPECT16 di, DST + 20
        EXPECT8 [DST + 28], 0xEE
        EXPECT8 [DST + 23], 0xEE
        mov     dx, SCR
        ; CX = 0: no port access, no write
        mov     al, 0x17
        out     dx, al
        xor     cx, cx
        mov     si, SRC
        rep outsb
        in      al, dx
        EXPECT8 al, 0x17
        TEND
        ret

        ROM_END
