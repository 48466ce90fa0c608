; memloop_paging.asm — memloop.asm with paging on: the same work, with the
; first 16 MiB identity-mapped through 4 KiB pages (see memloop.asm).  The
; benches harness assembles with test-roms/include/ on the include path,
; hence the path below.
%define PAGING 1
%include "../../benches/roms/memloop.asm"
