#ifndef PARLEY_CSECCOMP_MEMORY_H
#define PARLEY_CSECCOMP_MEMORY_H
/* glibc's malloc tuning for the worker (mallopt and its M_* constants are in <malloc.h>, which
 * Swift's Glibc module does not include). */
#include <malloc.h>

/* Keeps freed memory in the heap for reuse: trims the heap's top only past `trim_bytes`, and maps
 * blocks of `mmap_bytes` or more on their own (fixed, so glibc's sliding threshold does not move
 * them back and forth). Returns 1 when both settings were taken, else 0. */
static inline int parley_malloc_keep_freed(int trim_bytes, int mmap_bytes) {
    int a = mallopt(M_TRIM_THRESHOLD, trim_bytes);
    int b = mallopt(M_MMAP_THRESHOLD, mmap_bytes);
    return a == 1 && b == 1;
}
#endif
