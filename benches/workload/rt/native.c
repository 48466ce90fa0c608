/* native.c: the host side of a bench workload: runs workload() and prints
 * the checksum as the guest kernel does (built with the host `cc -O2`). */
#include <stdint.h>
#include <stdio.h>

uint32_t workload(void);

int main(void) {
    printf("checksum %08X\r\nPASS\r\n", (unsigned)workload());
    return 0;
}
