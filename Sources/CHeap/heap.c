// The process's heap kept small (docs/performance.md, "RSS"): glibc calls Swift's Glibc module
// does not import.
#include "CHeap.h"
#if defined(__linux__)
#include <malloc.h>

// One malloc arena for the whole process. glibc makes up to eight per core, each keeping freed
// pages of its own; the exporter's threads mostly wait on the network, and each thread's cache
// serves small allocations without the arena's lock. Set in a constructor, before main: glibc
// fixes the limit when a thread other than the main one first allocates, and the command's
// Swift code already runs on such a thread (the async entry point).
__attribute__((constructor)) static void pgstack_one_heap_arena(void) { mallopt(M_ARENA_MAX, 1); }

void pgstack_release_free_heap(void) { malloc_trim(0); }
#else
void pgstack_release_free_heap(void) {}
#endif
