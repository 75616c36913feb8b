// Counts heap allocations of the whole process, for the benchmarks only.
//
// The executable that links this target defines malloc, calloc, realloc and the aligned
// allocators itself, forwarding to glibc's __libc_* entry points; an executable's symbols come
// first in the dynamic linker's lookup, so every allocation (Swift runtime included) passes
// here. glibc only: elsewhere the counters stay at zero.
#ifndef MALLOC_COUNTER_H
#define MALLOC_COUNTER_H
#include <stdint.h>

/// Allocations (malloc, calloc, aligned, and realloc of NULL) since the process started.
uint64_t malloc_counter_allocations(void);
/// Bytes requested by those allocations (realloc counts its new size).
uint64_t malloc_counter_bytes(void);
/// 1 when the interposer is active (glibc), 0 otherwise.
int malloc_counter_active(void);
#endif
