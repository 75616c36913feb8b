#ifndef PGSTACK_CHEAP_H
#define PGSTACK_CHEAP_H

/// Gives the heap's free pages back to the kernel (glibc's malloc_trim; nothing elsewhere).
void pgstack_release_free_heap(void);

#endif
