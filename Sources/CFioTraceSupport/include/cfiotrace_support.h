#ifndef CFIOTRACE_SUPPORT_H
#define CFIOTRACE_SUPPORT_H

/// Helpers Swift has no spelling for, as static inline functions so that they inline into
/// the Swift callers (the C importer emits them into each caller's module).

/// `__builtin_prefetch(p, 0, 3)`: asks the CPU to bring the cache line holding `p` in
/// for reading. A hint: it never faults, and a wrong address only wastes the fetch.
/// The generator uses it to start the random map's cache miss for an I/O a few I/Os
/// before it needs the answer.
static inline void cfiotrace_prefetch(const void *p) {
    __builtin_prefetch(p, 0, 3);
}

#endif
