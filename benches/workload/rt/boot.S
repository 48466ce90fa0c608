/* boot.S: multiboot (v1) entry of a bench workload kernel. The loader
 * (crane86's or QEMU's -kernel) enters _start in flat 32-bit protected
 * mode with interrupts off; this zeroes .bss, sets up a stack and calls
 * guest_main (rt/guest.c), which exits through isa-debug-exit. */
        .set    MB_MAGIC, 0x1BADB002
        .set    MB_FLAGS, 0x00000003    /* page-aligned modules, memory info */

        .section .multiboot, "a"
        .align  4
        .long   MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

        .text
        .globl  _start
_start:
        cli
        cld
        movl    $stack_top, %esp
        movl    $__bss_start, %edi
        movl    $__bss_end, %ecx
        subl    %edi, %ecx
        xorl    %eax, %eax
        rep stosb
        call    guest_main
1:      cli
        hlt
        jmp     1b

        .section .bss
        .align  16
        .skip   65536
stack_top:

        .section .note.GNU-stack, "", @progbits
