/* mix.c: an integer-heavy workload, one C source built two ways by the
 * bench harness (benches/src/main.rs):
 *   - for the guest, as a freestanding 32-bit multiboot kernel with the
 *     runtime in rt/ (rt/boot.S, rt/guest.c, rt/guest.ld), run with
 *     `-kernel` under crane86 (-accel interp and jit) and QEMU;
 *   - natively, with rt/native.c, as the floor.
 * Both print "checksum XXXXXXXX" from workload() and must agree.
 *
 * Each round runs, over data derived from the running checksum:
 *   - CRC-32 (table driven) over 64 KiB,
 *   - a sieve of Eratosthenes up to 256 Ki,
 *   - a bytecode interpreter (a small stack machine) running a
 *     40 000-iteration loop,
 *   - a shell sort of 8192 dwords,
 *   - a 40x40 integer matrix multiply,
 *   - a division mix (32-bit DIV/IDIV by varying divisors).
 *
 * Freestanding: only <stdint.h>, only 32-bit arithmetic (no libgcc helpers);
 * memset/memcpy come from the runtime (rt/guest.c) or the host's libc. */
#include <stdint.h>

#ifndef ROUNDS
#define ROUNDS 80
#endif
#define SIEVE_N 0x40000
#define SORT_N 8192
#define MAT_N 40

static uint32_t crctab[256];
static uint32_t buf[0x10000 / 4];
static uint8_t sieve_flags[SIEVE_N];
static uint32_t sorta[SORT_N];
static int32_t mata[MAT_N * MAT_N], matb[MAT_N * MAT_N], matc[MAT_N * MAT_N];

static uint32_t get32(const uint8_t *p) {
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
}

static void put32(uint8_t *p, uint32_t v) { __builtin_memcpy(p, &v, 4); }

static void crc_table(void) {
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t v = b;
        for (int k = 0; k < 8; k++)
            v = (v & 1) ? (v >> 1) ^ 0xEDB88320u : v >> 1;
        crctab[b] = v;
    }
}

static uint32_t crc(uint32_t seed) {
    uint32_t a = seed | 1;
    for (int k = 0; k < 0x10000 / 4; k++) {
        a = a * 1103515245u + 12345u;
        buf[k] = a;
    }
    const uint8_t *p = (const uint8_t *)buf;
    uint32_t c = 0xFFFFFFFFu;
    for (int k = 0; k < 0x10000; k++)
        c = (c >> 8) ^ crctab[(p[k] ^ c) & 0xFF];
    return ~c;
}

static uint32_t sieve(void) {
    __builtin_memset(sieve_flags, 1, sizeof sieve_flags);
    uint32_t n = 0;
    for (uint32_t b = 2; b < SIEVE_N; b++) {
        if (!sieve_flags[b])
            continue;
        n++;
        for (uint32_t d = b + b; d < SIEVE_N; d += b)
            sieve_flags[d] = 0;
    }
    return n;
}

/* The bytecode machine: a stack machine with a switch dispatch. */
enum { HALT, PUSHI, LOAD, STORE, ADD, SUB, MUL, XOR, SHR, DUP, JNZ };
static uint8_t vm_code[64];
static int vm_len;

static void emit8(uint8_t b) { vm_code[vm_len++] = b; }
static void emit32(uint32_t v) {
    put32(vm_code + vm_len, v);
    vm_len += 4;
}

static void vm_setup(void) {
    emit8(PUSHI); emit32(40000); emit8(STORE); emit8(0);
    emit8(PUSHI); emit32(0); emit8(STORE); emit8(1);
    int loop = vm_len;
    emit8(LOAD); emit8(1); emit8(LOAD); emit8(0); emit8(LOAD); emit8(0);
    emit8(MUL); emit8(ADD);
    emit8(LOAD); emit8(1); emit8(SHR); emit8(3); emit8(XOR); emit8(STORE); emit8(1);
    emit8(LOAD); emit8(0); emit8(PUSHI); emit32(1);
    emit8(SUB); emit8(DUP); emit8(STORE); emit8(0); emit8(JNZ); emit32((uint32_t)loop);
    emit8(LOAD); emit8(1); emit8(HALT);
}

static uint32_t vm_run(uint32_t seed) {
    put32(vm_code + 1, (seed & 0xFF) + 40000);
    uint32_t vars[256], stack[64];
    for (int k = 0; k < 256; k++)
        vars[k] = 0;
    const uint8_t *ip = vm_code;
    uint32_t *sp = stack;
    for (;;) {
        switch (*ip++) {
        case HALT: return sp[-1];
        case PUSHI: *sp++ = get32(ip); ip += 4; break;
        case LOAD: *sp++ = vars[*ip++]; break;
        case STORE: vars[*ip++] = *--sp; break;
        case ADD: sp--; sp[-1] += sp[0]; break;
        case SUB: sp--; sp[-1] -= sp[0]; break;
        case MUL: sp--; sp[-1] *= sp[0]; break;
        case XOR: sp--; sp[-1] ^= sp[0]; break;
        case SHR: sp[-1] >>= (*ip++ & 31); break;
        case DUP: *sp = sp[-1]; sp++; break;
        case JNZ: {
            uint32_t to = get32(ip);
            ip += 4;
            if (*--sp)
                ip = vm_code + to;
            break;
        }
        }
    }
}

static uint32_t sort(uint32_t seed) {
    static const uint32_t gaps[] = {1750, 701, 301, 132, 57, 23, 10, 4, 1, 0};
    uint32_t a = seed;
    for (int k = 0; k < SORT_N; k++) {
        a = a * 69069u + 1;
        sorta[k] = a;
    }
    for (const uint32_t *g = gaps; *g; g++) {
        uint32_t gap = *g;
        for (uint32_t i = gap; i < SORT_N; i++) {
            uint32_t v = sorta[i], j = i;
            while (j >= gap && sorta[j - gap] > v) {
                sorta[j] = sorta[j - gap];
                j -= gap;
            }
            sorta[j] = v;
        }
    }
    return sorta[0] + sorta[SORT_N / 2] + sorta[SORT_N - 1];
}

static uint32_t matmul(uint32_t seed) {
    uint32_t a = seed;
    for (int k = 0; k < MAT_N * MAT_N; k++) {
        a = a * 1664525u + 1013904223u;
        mata[k] = (int32_t)a >> 20;
        matb[k] = (int32_t)(a & 0x3FF) - 0x200;
    }
    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++) {
            uint32_t s = 0;
            for (int k = 0; k < MAT_N; k++)
                s += (uint32_t)matb[k * MAT_N + j] * (uint32_t)mata[i * MAT_N + k];
            matc[i * MAT_N + j] = (int32_t)s;
        }
    uint32_t t = 0;
    for (int i = 0; i < MAT_N; i++)
        t += (uint32_t)matc[i * (MAT_N + 1)];
    return t;
}

static uint32_t divmix(uint32_t seed) {
    uint32_t s = seed | 1, acc = 0;
    for (uint32_t c = 50000; c; c--) {
        s = s * 1103515245u + 12345u;
        uint32_t u = s >> 1, d = c | 3;
        acc += u / d;
        acc ^= u % d;
        int32_t n = (int32_t)s >> 3, e = (int32_t)((c & 0xFF) + 7);
        acc -= (uint32_t)(n / e);
        acc += (uint32_t)(n % e);
    }
    return acc;
}

uint32_t workload(void) {
    crc_table();
    vm_setup();
    uint32_t ck = 0;
    for (int r = 0; r < ROUNDS; r++) {
        ck += crc(ck);
        ck += sieve();
        ck ^= vm_run(ck);
        ck += sort(ck);
        ck += matmul(ck);
        ck ^= divmix(ck);
        ck = (ck << 5) | (ck >> 27);
    }
    return ck;
}
