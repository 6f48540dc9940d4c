/* SPDX-License-Identifier: MIT */
/* malloc_count.c: interposes the C allocator (malloc, calloc, realloc, the aligned variants,
 * free) and pthread_mutex_lock for the whole axon-bench process, counting calls with relaxed
 * atomics, so each run can report how many allocations and locks its measured part made. */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"

/* Sanitizers replace malloc themselves; interposing over them would hide the heap from them. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define BENCH_NO_INTERPOSE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define BENCH_NO_INTERPOSE 1
#endif
#endif

static _Atomic uint64_t count_alloc;
static _Atomic uint64_t count_free;
static _Atomic uint64_t count_lock;

#define BUMP(c) atomic_fetch_add_explicit(&(c), 1, memory_order_relaxed)

#ifndef BENCH_NO_INTERPOSE

/* glibc exports its allocator under these names, so the wrappers need no dlsym (which could
 * itself allocate before it returns). */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t nmemb, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *ptr);

void *malloc(size_t size) {
    BUMP(count_alloc);
    return __libc_malloc(size);
}

void *calloc(size_t nmemb, size_t size) {
    BUMP(count_alloc);
    return __libc_calloc(nmemb, size);
}

void *realloc(void *ptr, size_t size) {
    BUMP(count_alloc);
    return __libc_realloc(ptr, size);
}

void free(void *ptr) {
    if (ptr) BUMP(count_free);
    __libc_free(ptr);
}

void *memalign(size_t alignment, size_t size) {
    BUMP(count_alloc);
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    BUMP(count_alloc);
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment % sizeof(void *) != 0)
        return EINVAL;
    BUMP(count_alloc);
    int saved = errno;
    void *p = __libc_memalign(alignment, size);
    errno = saved;
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

/* pthread_mutex_lock: the real one comes from dlsym(RTLD_NEXT), resolved before main (while
 * the process is single-threaded) and again lazily should a constructor lock first. */
typedef int (*mutex_lock_fn)(pthread_mutex_t *);
static _Atomic(mutex_lock_fn) real_mutex_lock;

static mutex_lock_fn resolve_mutex_lock(void) {
    mutex_lock_fn f = atomic_load_explicit(&real_mutex_lock, memory_order_acquire);
    if (!f) {
        f = (mutex_lock_fn)dlsym(RTLD_NEXT, "pthread_mutex_lock");
        if (f) atomic_store_explicit(&real_mutex_lock, f, memory_order_release);
    }
    return f;
}

__attribute__((constructor)) static void resolve_at_start(void) {
    (void)resolve_mutex_lock();
}

int pthread_mutex_lock(pthread_mutex_t *m) {
    mutex_lock_fn f = resolve_mutex_lock();
    if (!f) {
        static const char text[] = "axon-bench: cannot find the real pthread_mutex_lock\n";
        ssize_t ignored = write(2, text, sizeof text - 1);
        (void)ignored;
        abort();
    }
    BUMP(count_lock);
    return f(m);
}

int bench_counts_supported(void) { return 1; }
int bench_locks_supported(void) { return resolve_mutex_lock() != NULL; }

#else

int bench_counts_supported(void) { return 0; }
int bench_locks_supported(void) { return 0; }

#endif

void bench_counts_read(bench_counts *out) {
    out->mallocs = atomic_load_explicit(&count_alloc, memory_order_relaxed);
    out->frees = atomic_load_explicit(&count_free, memory_order_relaxed);
    out->locks = atomic_load_explicit(&count_lock, memory_order_relaxed);
}
