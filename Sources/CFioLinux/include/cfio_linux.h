// Thin Linux shim for FioReplay. Everything that Swift cannot import (O_DIRECT, ioctl
// request macros, liburing's inline/macro API) is exposed here as plain prefixed
// functions. liburing.h is included only by the .c file, so its _GNU_SOURCE and struct
// definitions never reach a Swift module.
#ifndef CFIO_LINUX_H
#define CFIO_LINUX_H

#include <stdint.h>
#include <stddef.h>

/// The value of O_DIRECT on this platform (a macro Swift cannot import).
int cfio_o_direct(void);

/// Size in bytes of the block device open on `fd` (BLKGETSIZE64); -errno on failure.
int64_t cfio_blkdev_size(int fd);

/// Logical sector size of the block device on `fd` (BLKSSZGET); -errno on failure.
int cfio_blkdev_logical_block_size(int fd);

/// Discard `len` bytes at `off` on a block device (BLKDISCARD); 0 or -errno.
int cfio_blkdev_discard(int fd, uint64_t off, uint64_t len);

/// Punch a hole (FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE) in a regular file; 0 or -errno.
int cfio_punch_hole(int fd, uint64_t off, uint64_t len);

/// sync_file_range(fd, off, len, SYNC_FILE_RANGE_WRITE | WAIT_AFTER); 0 or -errno.
int cfio_sync_file_range(int fd, uint64_t off, uint64_t len);

/// fallocate(fd, 0, off, len); 0 or -errno.
int cfio_fallocate(int fd, uint64_t off, uint64_t len);

/// syncfs(fd); 0 or -errno.
int cfio_syncfs(int fd);

/// fsetxattr(fd, name, value, size, 0); 0 or -errno.
int cfio_fsetxattr(int fd, const char *name, const void *value, size_t size);

/// fgetxattr(fd, name, value, size): the value's size, or -errno (ENODATA: not set).
long cfio_fgetxattr(int fd, const char *name, void *value, size_t size);

/// prctl(PR_SET_TIMERSLACK, ns): how late the kernel may wake timed sleeps; 0 or -errno.
int cfio_set_timerslack(unsigned long ns);

/// Makes the calling thread SCHED_FIFO at `prio` (1..99), with SCHED_RESET_ON_FORK so the
/// threads it creates start SCHED_OTHER; 0 or -errno (EPERM unprivileged).
int cfio_set_realtime(int prio);

/// The CPU the calling thread runs on now (sched_getcpu), or -errno.
int cfio_current_cpu(void);
/// Pins the calling thread to `cpu` (sched_setaffinity); 0 or -errno.
int cfio_pin_self(int cpu);
/// Lets the calling thread run on every online CPU again; 0 or -errno.
int cfio_unpin_self(void);
/// Moves every other thread of this process off `cpu` (onto the other online CPUs), so a
/// thread pinned there has it to itself. Returns how many threads were moved, or -errno.
int cfio_move_other_threads_off(int cpu);

/// Installs a SIGINT/SIGTERM handler (no SA_RESTART, so blocking waits return EINTR)
/// that sets a flag read by cfio_interrupted(). Returns 0 or -errno.
int cfio_install_interrupt_handler(void);
/// The signal number caught since install (0 if none).
int cfio_interrupted(void);
/// Clears the caught-signal flag.
void cfio_clear_interrupted(void);

/// CLOCK_MONOTONIC in nanoseconds.
uint64_t cfio_now_ns(void);
/// Sleeps until CLOCK_MONOTONIC reaches `deadline_ns` (absolute). 0, or -EINTR if a
/// signal arrived first.
int cfio_sleep_until_ns(uint64_t deadline_ns);
/// CPU time of the calling thread in nanoseconds (CLOCK_THREAD_CPUTIME_ID: precise, unlike
/// the tick-sampled user/system split of getrusage).
uint64_t cfio_thread_cpu_total_ns(void);
/// CPU time (user, system) of the calling thread in nanoseconds (getrusage, tick-sampled).
void cfio_thread_cpu_ns(uint64_t *user_ns, uint64_t *sys_ns);

/// mallopt(M_ARENA_MAX, n): at most `n` malloc arenas for the whole process. Returns 1 on
/// success, 0 on failure (mallopt's own convention).
int cfio_set_malloc_arenas(int n);

/// posix_memalign wrapper: `size` bytes aligned to `align`; NULL on failure.
void *cfio_aligned_alloc(size_t align, size_t size);

// ---- io_uring (liburing hidden behind an opaque handle) ----

/// Opaque io_uring instance.
typedef struct cfio_uring cfio_uring;

/// Ops understood by cfio_uring_prep.
enum {
    CFIO_OP_READ = 0,
    CFIO_OP_WRITE = 1,
    CFIO_OP_FSYNC = 2,
    CFIO_OP_FDATASYNC = 3,
    CFIO_OP_SYNC_FILE_RANGE = 4,
    CFIO_OP_NOP = 5,
};

/// io_uring_queue_init(entries). Returns the ring, or NULL with *err = -errno
/// (-ENOSYS: kernel without io_uring, -EPERM: disabled by policy).
cfio_uring *cfio_uring_create(unsigned entries, int *err);
/// io_uring_queue_exit and free.
void cfio_uring_destroy(cfio_uring *ring);
/// Gets an SQE and prepares one request on it. `buf`/`len`/`off` as for pread/pwrite
/// (ignored by fsync). Returns 0, or -EBUSY when the submission queue is full.
int cfio_uring_prep(cfio_uring *ring, int op, int fd, void *buf, uint32_t len, uint64_t off,
                    uint64_t user_data);
/// io_uring_submit: number of SQEs submitted, or -errno.
int cfio_uring_submit(cfio_uring *ring);
/// io_uring_submit_and_wait(ring, 1): submits what is prepared and waits for at least one
/// completion in a single system call. Returns the number submitted or -errno.
int cfio_uring_submit_and_wait(cfio_uring *ring);
/// Busy-waits up to `spin_ns` for a completion to be ready (running the ring's deferred
/// completion work when the kernel flags some), without sleeping. Returns 1 when one is
/// ready, 0 after `spin_ns`, or -errno.
int cfio_uring_spin_for_completion(cfio_uring *ring, uint64_t spin_ns);
/// Keeps the ring's kernel worker threads (io-wq, which do the I/O that cannot complete
/// inline, such as buffered tmpfs reads) off `cpu` (io_uring_register_iowq_aff); 0 or -errno.
int cfio_uring_workers_off_cpu(cfio_uring *ring, int cpu);
/// Reaps up to `max` completions into user_data[]/res[]. If none are ready and
/// `wait_ns` != 0, waits for one: forever if wait_ns < 0, else up to wait_ns
/// nanoseconds. Returns the number reaped (0 on timeout), or -errno (-EINTR on signal).
int cfio_uring_reap(cfio_uring *ring, uint64_t *user_data, int32_t *res, int max, int64_t wait_ns);

/// One libaio completion as the kernel writes it into the ring (struct io_event).
struct cfio_aio_event {
    uint64_t data;
    uint64_t obj;
    int64_t res;
    int64_t res2;
};

/// Takes up to `max` completions straight from a libaio context's ring in user memory,
/// without a system call (what fio's userspace_reap does). Returns how many, or -1 when
/// the ring is not in the layout this knows (then use io_getevents).
int cfio_aio_peek(void *ctx, struct cfio_aio_event *out, int max);

#endif
