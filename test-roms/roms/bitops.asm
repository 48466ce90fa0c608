; bitops.asm — bit, byte-order, conditional, exchange and flag-register
; instructions (real mode, 16/32-bit operands).
;
; Groups (one line each):
;   bt reg      BT BTS BTR BTC on registers, bit offset from a register
;               (taken modulo the operand size) and from imm8 (masked);
;               CF = the old bit, ZF unaffected (OF SF AF PF undefined)
;   bt mem      the memory forms with a register bit offset beyond the
;               operand (positive and negative: the operand address moves
;               by (offset >> 4) * 2 or (offset >> 5) * 4 bytes) and with
;               imm8 (masked, no address change); LOCK BTS/BTC
;   bsf/bsr     index of the lowest/highest set bit, ZF = (source == 0);
;               a zero source leaves the destination unchanged — the SDM
;               calls it undefined, but the AMD APM documents "unchanged"
;               and Intel CPUs behave the same, which software relies on
;   bswap       BSWAP r32 on several registers
;   setcc       SETcc (all 16 conditions, memory destination) under ten
;               flag patterns; each result must be exactly 0 or 1
;   cmovcc      CMOVcc r32, r32 for all 16 conditions under the same
;               patterns; CMOV r16 keeps the upper half; memory source
;   xadd        XADD r/m8/16/32 (flags as ADD), LOCK XADD
;   cmpxchg     CMPXCHG r/m8/16/32, equal and not equal (flags as CMP
;               accumulator - destination)
;   cmpxchg8b   equal (stores ECX:EBX, ZF = 1) and not equal (loads
;               EDX:EAX, ZF = 0); the other flags unchanged
;   xchg        register, short (90+r), byte-register and memory forms;
;               flags unchanged
;   movzx/movsx byte/word sources from registers (incl. AH..BH) and memory
;   cbw..cdq    CBW CWDE CWD CDQ (upper halves kept where not written)
;   lahf/sahf   LAHF = SF:ZF:0:AF:0:PF:1:CF, SAHF loads those five flags
;   clc/stc/cmc and CLD/STD
;   pushf/popf  reserved bits: bit 1 reads 1, bits 3, 5, 15 read 0; in real
;               mode POPF may set IOPL and NT; POPFD also sets AC and ID
;               (486+/CPUID) but not VM/VIF/VIP (bits 22..31 read 0)

%include "testrom.inc"
%include "vectest.inc"
%include "check.inc"

BUF     equ     0x3000
CCBUF   equ     0x3100

%macro SETFLAGS 1
        push    word %1
        popf
%endmacro

rom_start:
        call    vt_init
        call    t_bt_reg
        call    t_bt_mem
        call    t_bsf_bsr
        call    t_bswap
        call    t_setcc
        call    t_cmovcc
        call    t_xadd
        call    t_cmpxchg
        call    t_cmpxchg8b
        call    t_xchg
        call    t_movx
        call    t_cbw
        call    t_lahf
        call    t_cflags
        call    t_pushf
        VT_FINISH

; ---------------------------------------------------------------- BT reg
t_bt_reg:
        TGROUP  "bt reg"
        mov     eax, 0x80000001
        SETFLAGS 0x0042                 ; ZF set: must survive
        bt      eax, 0
        EXPECTF CF | ZF, CF | ZF
        bt      eax, 31
        EXPECTF CF, CF
        SETFLAGS 0x0003                 ; ZF clear: must survive
        bt      eax, 1
        EXPECTF CF | ZF, 0
        mov     ecx, 32                 ; offset mod 32 = 0
        bt      eax, ecx
        EXPECTF CF, CF
        mov     ecx, 63                 ; bit 31
        bt      eax, ecx
        EXPECTF CF, CF
        mov     ecx, 33
        bt      eax, ecx
        EXPECTF CF, 0
        bt      eax, 32 + 31            ; imm8 masked to 5 bits
        EXPECTF CF, CF
        mov     cx, 16                  ; 16-bit: offset mod 16
        bt      ax, cx
        EXPECTF CF, CF
        mov     cx, 17
        bt      ax, cx
        EXPECTF CF, 0
        ; BTS/BTR/BTC
        bts     eax, 5
        EXPECTF CF, 0
        EXPECT32 eax, 0x80000021
        bts     eax, 5
        EXPECTF CF, CF
        mov     edx, 31
        btr     eax, edx
        EXPECTF CF, CF
        EXPECT32 eax, 0x00000021
        btc     eax, 0
        EXPECTF CF, CF
        btc     eax, 0
        EXPECTF CF, 0
        EXPECT32 eax, 0x00000021
        mov     bx, 0xFFFF
        mov     cx, 0x001F              ; bit 15 of BX
        btr     bx, cx
        EXPECTF CF, CF
        EXPECT16 bx, 0x7FFF
        TEND
        ret

; ---------------------------------------------------------------- BT mem
t_bt_mem:
        TGROUP  "bt mem"
        mov     dword [BUF], 0
        mov     dword [BUF + 4], 0x00000008
        mov     dword [BUF + 8], 0
        mov     dword [BUF + 12], 0
        mov     eax, 35                 ; dword at BUF+4, bit 3
        bt      dword [BUF], eax
        EXPECTF CF, CF
        mov     eax, 36
        bt      [BUF], eax
        EXPECTF CF, 0
        mov     ax, -1                  ; word at BUF+8-2, bit 15
        bts     word [BUF + 8], ax
        EXPECTF CF, 0
        EXPECT32 [BUF + 4], 0x80000008
        mov     dword [BUF], 0x80000000
        mov     eax, -33                ; dword at BUF+8-8, bit 31
        btr     dword [BUF + 8], eax
        EXPECTF CF, CF
        EXPECT32 [BUF], 0
        btc     word [BUF + 4], 16 + 3  ; imm masked to 4 bits: bit 3
        EXPECTF CF, CF
        EXPECT32 [BUF + 4], 0x80000000
        bts     dword [BUF + 12], 32 + 8
        EXPECTF CF, 0
        EXPECT32 [BUF + 12], 0x00000100
        mov     cx, 24                  ; word at BUF+14, bit 8
        bt      word [BUF + 12], cx
        EXPECTF CF, 0
        mov     cx, 8
        bt      word [BUF + 12], cx
        EXPECTF CF, CF
        mov     eax, 32 * 3 + 8         ; dword at BUF+12, bit 8
        mov     bx, BUF
        lock btc dword [bx], eax
        EXPECTF CF, CF
        EXPECT32 [BUF + 12], 0
        mov     eax, 32 * 3 + 5
        lock bts [bx], eax
        EXPECTF CF, 0
        EXPECT32 [BUF + 12], 0x00000020
        TEND
        ret

; ---------------------------------------------------------------- BSF/BSR
t_bsf_bsr:
        TGROUP  "bsf/bsr"
        mov     ebx, 0x00018000
        bsf     eax, ebx
        EXPECTF ZF, 0
        EXPECT32 eax, 15
        bsr     eax, ebx
        EXPECT32 eax, 16
        mov     ebx, 1
        bsf     ecx, ebx
        EXPECT32 ecx, 0
        bsr     ecx, ebx
        EXPECT32 ecx, 0
        mov     dword [BUF], 0x80000000
        bsf     edx, [BUF]
        EXPECT32 edx, 31
        bsr     edx, [BUF]
        EXPECT32 edx, 31
        EXPECTF ZF, 0
        ; zero source: ZF = 1, destination unchanged
        xor     ebx, ebx
        mov     eax, 0x12345678
        bsf     eax, ebx
        EXPECTF ZF, ZF
        EXPECT32 eax, 0x12345678
        bsr     eax, ebx
        EXPECTF ZF, ZF
        EXPECT32 eax, 0x12345678
        ; 16-bit
        mov     eax, 0xAAAA5555
        mov     bx, 0x0100
        bsf     ax, bx
        EXPECTF ZF, 0
        EXPECT32 eax, 0xAAAA0008
        mov     word [BUF], 0x7FF0
        bsr     ax, [BUF]
        EXPECT32 eax, 0xAAAA000E
        TEND
        ret

; ---------------------------------------------------------------- BSWAP
t_bswap:
        TGROUP  "bswap"
        mov     eax, 0x12345678
        bswap   eax
        EXPECT32 eax, 0x78563412
        mov     ecx, 0xFF000080
        bswap   ecx
        EXPECT32 ecx, 0x800000FF
        mov     ebp, 0xAABBCCDD
        bswap   ebp
        EXPECT32 ebp, 0xDDCCBBAA
        mov     edi, 0x01020304
        SETFLAGS 0x08D7
        bswap   edi
        EXPECTF ARITH, ARITH            ; no flag changes
        EXPECT32 edi, 0x04030201
        TEND
        ret

; ---------------------------------------------------------------- SETcc
; Flag patterns and the expected conditions: bit i set when condition i
; (o no b ae e ne be a s ns p np l ge le g) holds.
cc_patterns:
        dw      0x0002, 0xAAAA          ; nothing
        dw      0x0003, 0xAA66          ; CF
        dw      0x0042, 0x6A5A          ; ZF
        dw      0x0082, 0x59AA          ; SF
        dw      0x0802, 0x5AA9          ; OF
        dw      0x0882, 0xA9A9          ; SF OF
        dw      0x00C2, 0x595A          ; ZF SF
        dw      0x0047, 0x6656          ; CF ZF PF
        dw      0x0806, 0x56A9          ; OF PF
        dw      0x08D7, 0x6555          ; all
CC_COUNT equ    10

; Pack the 16 bytes at CCBUF (each must be 0 or 1) into EAX; BX = number
; of bytes that were neither.
cc_pack:
        push    si
        push    cx
        xor     eax, eax
        xor     bx, bx
        mov     si, 15
.next:  shl     ax, 1
        mov     cl, [CCBUF + si]
        cmp     cl, 1
        jbe     .ok
        inc     bx
.ok:    and     cl, 1
        or      al, cl
        dec     si
        jns     .next
        pop     cx
        pop     si
        ret

%macro SETALL 0
        seto    [CCBUF + 0]
        setno   [CCBUF + 1]
        setb    [CCBUF + 2]
        setae   [CCBUF + 3]
        sete    [CCBUF + 4]
        setne   [CCBUF + 5]
        setbe   [CCBUF + 6]
        seta    [CCBUF + 7]
        sets    [CCBUF + 8]
        setns   [CCBUF + 9]
        setp    [CCBUF + 10]
        setnp   [CCBUF + 11]
        setl    [CCBUF + 12]
        setge   [CCBUF + 13]
        setle   [CCBUF + 14]
        setg    [CCBUF + 15]
%endmacro

; EAX = 0, EBX = 1 on entry; AL of each CMOV result goes to CCBUF.
%macro CMOVONE 2
        mov     eax, 0
        cmov%1  eax, ebx
        mov     [CCBUF + %2], al
%endmacro

%macro CMOVALL 0
        CMOVONE o, 0
        CMOVONE no, 1
        CMOVONE b, 2
        CMOVONE ae, 3
        CMOVONE e, 4
        CMOVONE ne, 5
        CMOVONE be, 6
        CMOVONE a, 7
        CMOVONE s, 8
        CMOVONE ns, 9
        CMOVONE p, 10
        CMOVONE np, 11
        CMOVONE l, 12
        CMOVONE ge, 13
        CMOVONE le, 14
        CMOVONE g, 15
%endmacro

t_setcc:
        TGROUP  "setcc"
        xor     si, si
.pat:   mov     dword [CCBUF], 0xA5A5A5A5
        mov     dword [CCBUF + 4], 0xA5A5A5A5
        mov     dword [CCBUF + 8], 0xA5A5A5A5
        mov     dword [CCBUF + 12], 0xA5A5A5A5
        push    word [cs:cc_patterns + si]
        popf
        SETALL
        call    cc_pack
        EXPECT16 bx, 0
        movzx   edx, word [cs:cc_patterns + si + 2]
        EXPECT32 eax, edx
        add     si, 4
        cmp     si, CC_COUNT * 4
        jb      .pat
        ; register destination, high byte
        mov     eax, 0x12345678
        SETFLAGS 0x0043
        setbe   ah
        EXPECT32 eax, 0x12340178
        setg    al
        EXPECT32 eax, 0x12340100
        TEND
        ret

t_cmovcc:
        TGROUP  "cmovcc"
        xor     si, si
.pat:   mov     ebx, 1                  ; cc_pack clobbers BX
        push    word [cs:cc_patterns + si]
        popf
        CMOVALL
        call    cc_pack
        movzx   edx, word [cs:cc_patterns + si + 2]
        EXPECT32 eax, edx
        add     si, 4
        cmp     si, CC_COUNT * 4
        jb      .pat
        ; 16-bit CMOV keeps the upper half; memory source; flags unchanged
        mov     eax, 0xAAAAAAAA
        mov     dword [BUF], 0x55555555
        SETFLAGS 0x0043
        cmovz   ax, [BUF]
        EXPECTF ARITH, 0x0041
        EXPECT32 eax, 0xAAAA5555
        cmovnz  eax, [BUF]
        EXPECT32 eax, 0xAAAA5555
        cmovc   eax, [BUF]
        EXPECT32 eax, 0x55555555
        TEND
        ret

; ---------------------------------------------------------------- XADD
t_xadd:
        TGROUP  "xadd"
        mov     eax, 1
        mov     ebx, 0xFFFFFFFF
        xadd    eax, ebx
        EXPECTF ARITH, CF | ZF | AF | PF
        EXPECT32 eax, 0
        EXPECT32 ebx, 1
        mov     byte [BUF], 0x7F
        mov     ecx, 0x12345601
        xadd    [BUF], cl
        EXPECTF ARITH, OF | SF | AF
        EXPECT8 [BUF], 0x80
        EXPECT32 ecx, 0x1234567F
        mov     word [BUF], 0x8000
        mov     dx, 0x8000
        lock xadd [BUF], dx
        EXPECTF ARITH, CF | OF | ZF | PF
        EXPECT16 [BUF], 0
        EXPECT16 dx, 0x8000
        mov     dword [BUF], 0x0000FFFF
        mov     esi, 0x00000001
        xadd    [BUF], esi
        EXPECTF ARITH, AF | PF
        EXPECT32 [BUF], 0x00010000
        EXPECT32 esi, 0x0000FFFF
        mov     ax, 3                   ; XADD with itself: AX = 2 * AX
        xadd    ax, ax
        EXPECT16 ax, 6
        TEND
        ret

; ---------------------------------------------------------------- CMPXCHG
t_cmpxchg:
        TGROUP  "cmpxchg"
        ; equal: destination <- source, ZF = 1
        mov     eax, 0x12345678
        mov     ebx, 0x12345678
        mov     ecx, 0xCAFEBABE
        cmpxchg ebx, ecx
        EXPECTF ARITH, ZF | PF
        EXPECT32 ebx, 0xCAFEBABE
        EXPECT32 eax, 0x12345678
        ; not equal: accumulator <- destination, flags of EAX - dest
        mov     eax, 1
        mov     ebx, 2
        cmpxchg ebx, ecx
        EXPECTF ARITH, CF | SF | AF | PF
        EXPECT32 eax, 2
        EXPECT32 ebx, 2
        ; 8-bit memory
        mov     byte [BUF], 0x80
        mov     eax, 0xFFFFFF80
        mov     dl, 0x11
        lock cmpxchg [BUF], dl
        EXPECTF ZF, ZF
        EXPECT8 [BUF], 0x11
        mov     al, 0x10
        cmpxchg [BUF], dl               ; 10 - 11
        EXPECTF ARITH, CF | SF | AF | PF
        EXPECT32 eax, 0xFFFFFF11
        ; 16-bit: AX = 8000, dest = 0001 -> 8000 - 0001 overflows
        mov     word [BUF], 0x0001
        mov     eax, 0xABCD8000
        mov     si, 0x4444
        cmpxchg [BUF], si
        EXPECTF ARITH, OF | AF | PF
        EXPECT32 eax, 0xABCD0001
        EXPECT16 [BUF], 0x0001
        TEND
        ret

; ---------------------------------------------------------------- CMPXCHG8B
t_cmpxchg8b:
        TGROUP  "cmpxchg8b"
        mov     dword [BUF], 0x22222222
        mov     dword [BUF + 4], 0x11111111
        mov     edx, 0x11111111
        mov     eax, 0x22222222
        mov     ecx, 0x33333333
        mov     ebx, 0x44444444
        SETFLAGS 0x0895                 ; OF SF AF PF CF set, ZF clear
        cmpxchg8b [BUF]
        EXPECTF ARITH, 0x08D5
        EXPECT32 [BUF], 0x44444444
        EXPECT32 [BUF + 4], 0x33333333
        EXPECT32 eax, 0x22222222
        EXPECT32 edx, 0x11111111
        ; not equal (high halves differ): EDX:EAX <- memory
        SETFLAGS 0x0042
        lock cmpxchg8b [BUF]
        EXPECTF ARITH, 0
        EXPECT32 eax, 0x44444444
        EXPECT32 edx, 0x33333333
        EXPECT32 [BUF], 0x44444444
        ; not equal in the low half only
        mov     edx, 0x33333333
        mov     eax, 0x44444445
        mov     bx, BUF
        cmpxchg8b [bx]
        EXPECTF ZF, 0
        EXPECT32 eax, 0x44444444
        TEND
        ret

; ---------------------------------------------------------------- XCHG
t_xchg:
        TGROUP  "xchg"
        mov     eax, 0x11111111
        mov     ebx, 0x22222222
        SETFLAGS 0x08D7
        xchg    eax, ebx                ; 66 93
        EXPECTF ARITH, ARITH
        EXPECT32 eax, 0x22222222
        EXPECT32 ebx, 0x11111111
        mov     ecx, 0xAAAA3333
        xchg    ax, cx                  ; 91
        EXPECT32 eax, 0x22223333
        EXPECT32 ecx, 0xAAAA2222
        xchg    al, ah
        EXPECT32 eax, 0x22223333
        mov     edx, 0x12345678
        xchg    dh, dl
        EXPECT32 edx, 0x12347856
        mov     dword [BUF], 0xDEADBEEF
        xchg    [BUF], edx
        EXPECT32 edx, 0xDEADBEEF
        EXPECT32 [BUF], 0x12347856
        mov     bh, 0x99
        xchg    bh, [BUF + 3]
        EXPECT8 bh, 0x12
        EXPECT32 [BUF], 0x99347856
        mov     si, 0x1234
        mov     di, 0x5678
        xchg    si, di                  ; 87 /r (not AX)
        EXPECT16 si, 0x5678
        EXPECT16 di, 0x1234
        TEND
        ret

; ---------------------------------------------------------------- MOVZX/MOVSX
t_movx:
        TGROUP  "movzx/movsx"
        mov     eax, 0xFFFFFFFF
        mov     bl, 0x80
        movzx   ax, bl
        EXPECT32 eax, 0xFFFF0080
        movsx   ax, bl
        EXPECT32 eax, 0xFFFFFF80
        mov     byte [BUF], 0xFF
        movzx   eax, byte [BUF]
        EXPECT32 eax, 0x000000FF
        movsx   eax, byte [BUF]
        EXPECT32 eax, 0xFFFFFFFF
        mov     word [BUF], 0x8000
        movzx   ecx, word [BUF]
        EXPECT32 ecx, 0x00008000
        movsx   ecx, word [BUF]
        EXPECT32 ecx, 0xFFFF8000
        mov     bx, 0x7F80
        movsx   edx, bh
        EXPECT32 edx, 0x0000007F
        movsx   edx, bl
        EXPECT32 edx, 0xFFFFFF80
        movzx   edx, bh
        EXPECT32 edx, 0x0000007F
        mov     cx, 0x7FFF
        movsx   esi, cx
        EXPECT32 esi, 0x00007FFF
        TEND
        ret

; ---------------------------------------------------------------- CBW..CDQ
t_cbw:
        TGROUP  "cbw/cwde/cwd/cdq"
        mov     eax, 0x12345680
        cbw
        EXPECT32 eax, 0x1234FF80
        mov     al, 0x7F
        cbw
        EXPECT32 eax, 0x1234007F
        mov     eax, 0x12348000
        cwde
        EXPECT32 eax, 0xFFFF8000
        mov     ax, 0x7FFF
        cwde
        EXPECT32 eax, 0x00007FFF
        mov     edx, 0xAAAAAAAA
        mov     ax, 0x8000
        cwd
        EXPECT32 edx, 0xAAAAFFFF
        mov     ax, 0x7FFF
        cwd
        EXPECT32 edx, 0xAAAA0000
        mov     eax, 0x80000000
        cdq
        EXPECT32 edx, 0xFFFFFFFF
        mov     eax, 0x7FFFFFFF
        cdq
        EXPECT32 edx, 0
        TEND
        ret

; ---------------------------------------------------------------- LAHF/SAHF
t_lahf:
        TGROUP  "lahf/sahf"
        mov     eax, 0x12345678
        SETFLAGS 0x08D7
        lahf
        EXPECT32 eax, 0x1234D778
        SETFLAGS 0x0802
        lahf
        EXPECT16 ax, 0x0278
        mov     ah, 0xFF                ; bits 5, 3, 1 of AH are ignored
        SETFLAGS 0x0802
        sahf
        EXPECTF 0x0FFF, 0x08D7          ; OF kept, bit 1 reads 1
        mov     ah, 0x00
        sahf
        EXPECTF 0x0FFF, 0x0802
        TEND
        ret

; ---------------------------------------------------------------- CLC..STD
t_cflags:
        TGROUP  "clc/stc/cmc/cld/std"
        SETFLAGS 0x08D6
        stc
        EXPECTF 0x0FFF, 0x08D7
        clc
        EXPECTF 0x0FFF, 0x08D6
        cmc
        EXPECTF 0x0FFF, 0x08D7
        cmc
        EXPECTF 0x0FFF, 0x08D6
        std
        EXPECTF 0x0FFF, 0x0CD6
        cld
        EXPECTF 0x0FFF, 0x08D6
        TEND
        ret

; ---------------------------------------------------------------- PUSHF/POPF
t_pushf:
        TGROUP  "pushf/popf"
        push    word 0xFCFF             ; everything but IF and TF
        popf
        pushf
        pop     ax
        push    word 0x0002
        popf
        EXPECT16 ax, 0x7CD7             ; 15, 5, 3 read 0; IOPL, NT stick
        push    word 0x0000
        popf
        pushf
        pop     ax
        EXPECT16 ax, 0x0002             ; bit 1 always reads 1
        ; POPFD: RF is cleared, VM/VIF/VIP and bits 22..31 stay 0, AC and
        ; ID are writable (486+, CPUID present)
        push    dword 0xFFFFFCFF
        popfd
        pushfd
        pop     eax
        push    dword 0x00000002
        popfd
        EXPECT32 eax, 0x00247CD7
        pushfd
        pop     eax
        EXPECT32 eax, 0x00000002
        ; PUSHF/POPF move SP by 2, PUSHFD/POPFD by 4
        mov     bx, sp
        pushf
        mov     cx, sp
        popf
        pushfd
        mov     dx, sp
        popfd
        sub     bx, cx
        EXPECT16 bx, 2
        mov     bx, sp
        sub     bx, dx
        EXPECT16 bx, 4
        TEND
        ret

        ROM_END
