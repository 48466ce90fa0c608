/* guest.c: the freestanding side of a bench workload kernel: runs
 * workload(), prints "checksum XXXXXXXX" and "PASS" on COM1 (0x3F8) and
 * exits through isa-debug-exit (port 0xF4, value 0: exit status 1, as the
 * ROMs' PASS). Also the memset/memcpy the compiler may call. */
#include <stddef.h>
#include <stdint.h>

uint32_t workload(void);
void guest_main(void);

static inline void outb(uint16_t port, uint8_t v) {
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port) {
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static void putc(char c) {
    /* Wait (bounded) for the transmitter holding register to empty. */
    for (int k = 0; k < 100000 && !(inb(0x3F8 + 5) & 0x20); k++)
        ;
    outb(0x3F8, (uint8_t)c);
}

static void puts(const char *s) {
    while (*s)
        putc(*s++);
}

void *memset(void *d, int c, size_t n) {
    void *r = d;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return r;
}

void *memcpy(void *d, const void *s, size_t n) {
    void *r = d;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    return r;
}

void guest_main(void) {
    uint32_t ck = workload();
    puts("checksum ");
    for (int sh = 28; sh >= 0; sh -= 4)
        putc("0123456789ABCDEF"[(ck >> sh) & 15]);
    puts("\r\nPASS\r\n");
    outb(0xF4, 0);
    for (;;)
        __asm__ volatile("cli; hlt");
}
