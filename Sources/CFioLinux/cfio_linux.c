#define _GNU_SOURCE
#include <dirent.h>
#include <sched.h>
#include <sys/syscall.h>
#include "cfio_linux.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <linux/falloc.h>

int cfio_o_direct(void) { return O_DIRECT; }

int64_t cfio_blkdev_size(int fd) {
    uint64_t size = 0;
    if (ioctl(fd, BLKGETSIZE64, &size) != 0) return -errno;
    return (int64_t)size;
}

int cfio_blkdev_logical_block_size(int fd) {
    int size = 0;
    if (ioctl(fd, BLKSSZGET, &size) != 0) return -errno;
    return size;
}

int cfio_blkdev_discard(int fd, uint64_t off, uint64_t len) {
    uint64_t range[2] = { off, len };
    if (ioctl(fd, BLKDISCARD, &range) != 0) return -errno;
    return 0;
}

int cfio_punch_hole(int fd, uint64_t off, uint64_t len) {
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) != 0) return -errno;
    return 0;
}

int cfio_sync_file_range(int fd, uint64_t off, uint64_t len) {
    if (sync_file_range(fd, (off64_t)off, (off64_t)len,
                        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) != 0) return -errno;
    return 0;
}

int cfio_fallocate(int fd, uint64_t off, uint64_t len) {
    if (fallocate(fd, 0, (off_t)off, (off_t)len) != 0) return -errno;
    return 0;
}

int cfio_syncfs(int fd) {
    if (syncfs(fd) != 0) return -errno;
    return 0;
}

#include <sys/xattr.h>

int cfio_fsetxattr(int fd, const char *name, const void *value, size_t size) {
    if (fsetxattr(fd, name, value, size, 0) != 0) return -errno;
    return 0;
}

long cfio_fgetxattr(int fd, const char *name, void *value, size_t size) {
    ssize_t n = fgetxattr(fd, name, value, size);
    return n < 0 ? -errno : (long)n;
}

// ---- timing, signals, memory ----
#include <signal.h>
#include <stdlib.h>
#include <malloc.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <liburing.h>

int cfio_set_timerslack(unsigned long ns) {
    if (prctl(PR_SET_TIMERSLACK, ns, 0, 0, 0) != 0) return -errno;
    return 0;
}

#include <sched.h>
int cfio_set_realtime(int prio) {
    struct sched_param sp;
    memset(&sp, 0, sizeof sp);
    sp.sched_priority = prio;
    // RESET_ON_FORK: threads this one creates (read-ahead, io_uring's io-wq workers) start
    // SCHED_OTHER; at equal FIFO priority they would never yield the CPU to it.
    if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) != 0) return -errno;
    return 0;
}

int cfio_current_cpu(void) {
    int c = sched_getcpu();
    return c < 0 ? -errno : c;
}

int cfio_pin_self(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : -errno;
}

/// Every online CPU, less `avoid` (when >= 0).
static void cfio_online_set(cpu_set_t *set, int avoid) {
    CPU_ZERO(set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    for (long c = 0; c < n && c < CPU_SETSIZE; c++) if (c != avoid) CPU_SET((int)c, set);
}

int cfio_unpin_self(void) {
    cpu_set_t set;
    cfio_online_set(&set, -1);
    return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : -errno;
}

int cfio_move_other_threads_off(int cpu) {
    cpu_set_t set;
    cfio_online_set(&set, cpu);
    if (CPU_COUNT(&set) == 0) return -EINVAL;
    DIR *d = opendir("/proc/self/task");
    if (!d) return -errno;
    pid_t self = (pid_t)syscall(SYS_gettid);
    int moved = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        pid_t tid = (pid_t)atoi(e->d_name);
        if (tid <= 0 || tid == self) continue;
        if (sched_setaffinity(tid, sizeof set, &set) == 0) moved++;
    }
    closedir(d);
    return moved;
}

static volatile sig_atomic_t cfio_caught = 0;
static void cfio_on_signal(int sig) { cfio_caught = sig; }

int cfio_install_interrupt_handler(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = cfio_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; // no SA_RESTART: blocking waits return EINTR
    if (sigaction(SIGINT, &sa, NULL) != 0) return -errno;
    if (sigaction(SIGTERM, &sa, NULL) != 0) return -errno;
    // A parent may have spawned us with these signals blocked; unblock them.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    return 0;
}
int cfio_interrupted(void) { return cfio_caught; }
void cfio_clear_interrupted(void) { cfio_caught = 0; }

uint64_t cfio_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int cfio_sleep_until_ns(uint64_t deadline_ns) {
    struct timespec ts;
    ts.tv_sec = (time_t)(deadline_ns / 1000000000ull);
    ts.tv_nsec = (long)(deadline_ns % 1000000000ull);
    int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    return r == 0 ? 0 : -r;
}

uint64_t cfio_thread_cpu_total_ns(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void cfio_thread_cpu_ns(uint64_t *user_ns, uint64_t *sys_ns) {
    struct rusage ru;
    if (getrusage(RUSAGE_THREAD, &ru) != 0) { *user_ns = 0; *sys_ns = 0; return; }
    *user_ns = (uint64_t)ru.ru_utime.tv_sec * 1000000000ull + (uint64_t)ru.ru_utime.tv_usec * 1000ull;
    *sys_ns = (uint64_t)ru.ru_stime.tv_sec * 1000000000ull + (uint64_t)ru.ru_stime.tv_usec * 1000ull;
}

void *cfio_aligned_alloc(size_t align, size_t size) {
    void *p = NULL;
    if (posix_memalign(&p, align, size) != 0) return NULL;
    return p;
}

// ---- io_uring ----
struct cfio_uring { struct io_uring ring; };

int cfio_uring_workers_off_cpu(cfio_uring *r, int cpu) {
    cpu_set_t set;
    cfio_online_set(&set, cpu);
    if (CPU_COUNT(&set) == 0) return -EINVAL;
    return io_uring_register_iowq_aff(&r->ring, sizeof set, &set);
}


cfio_uring *cfio_uring_create(unsigned entries, int *err) {
    cfio_uring *r = calloc(1, sizeof *r);
    if (!r) { *err = -ENOMEM; return NULL; }
    // One thread (the one creating the ring) submits and reaps (SINGLE_ISSUER). Completion
    // work is deferred until that thread asks for events (DEFER_TASKRUN, as fio sets it):
    // io-wq workers then queue a finished request without taking the CQ lock or waking the
    // thread again while it has not drained the previous ones, and the requests are freed in
    // batches on this thread. TASKRUN_FLAG tells a peek that such work is waiting (liburing
    // then enters the kernel to run it). Older kernels refuse these flags with EINVAL: retry
    // without DEFER_TASKRUN (< 6.1), then without any (< 5.19).
    static const unsigned tries[] = {
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SINGLE_ISSUER,
        0,
    };
    int ret = -EINVAL;
    for (unsigned i = 0; i < sizeof tries / sizeof tries[0] && ret == -EINVAL; i++) {
        struct io_uring_params p;
        memset(&p, 0, sizeof p);
        p.flags = tries[i];
        ret = io_uring_queue_init_params(entries, &r->ring, &p);
    }
    if (ret < 0) { free(r); *err = ret; return NULL; }
    *err = 0;
    return r;
}

void cfio_uring_destroy(cfio_uring *r) {
    if (!r) return;
    io_uring_queue_exit(&r->ring);
    free(r);
}

int cfio_uring_prep(cfio_uring *r, int op, int fd, void *buf, uint32_t len, uint64_t off,
                    uint64_t user_data) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
    if (!sqe) return -EBUSY;
    switch (op) {
    case CFIO_OP_READ: io_uring_prep_read(sqe, fd, buf, len, off); break;
    case CFIO_OP_WRITE: io_uring_prep_write(sqe, fd, buf, len, off); break;
    case CFIO_OP_FSYNC: io_uring_prep_fsync(sqe, fd, 0); break;
    case CFIO_OP_FDATASYNC: io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC); break;
    case CFIO_OP_SYNC_FILE_RANGE:
        io_uring_prep_sync_file_range(sqe, fd, len, off,
            SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
        break;
    default: io_uring_prep_nop(sqe); break;
    }
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

int cfio_uring_submit(cfio_uring *r) { return io_uring_submit(&r->ring); }

int cfio_uring_submit_and_wait(cfio_uring *r) { return io_uring_submit_and_wait(&r->ring, 1); }

#if defined(__x86_64__) || defined(__i386__)
#define CFIO_CPU_RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define CFIO_CPU_RELAX() __asm__ __volatile__("yield" ::: "memory")
#else
#define CFIO_CPU_RELAX() do { } while (0)
#endif

int cfio_uring_spin_for_completion(cfio_uring *r, uint64_t spin_ns) {
    uint64_t start = 0;
    for (unsigned i = 0;; i++) {
        if (io_uring_cq_ready(&r->ring)) return 1;
        // Completion work queued for this thread (DEFER_TASKRUN / COOP_TASKRUN): one
        // io_uring_enter(GETEVENTS) runs it and posts the CQEs.
        if (IO_URING_READ_ONCE(*r->ring.sq.kflags) & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW)) {
            int ret = io_uring_get_events(&r->ring);
            if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) return ret;
            if (io_uring_cq_ready(&r->ring)) return 1;
        }
        if ((i & 15) == 0) {
            uint64_t now = cfio_now_ns();
            if (start == 0) start = now;
            else if (now - start >= spin_ns) return 0;
        }
        CFIO_CPU_RELAX();
    }
}

/* Copies ready completions into user_data/res from index n up to max, without waiting;
 * returns the new count. */
static int take_ready(struct cfio_uring *r, uint64_t *user_data, int32_t *res, int n, int max) {
    struct io_uring_cqe *cqes[64];
    while (n < max) {
        int want = max - n;
        if (want > 64) want = 64;
        unsigned got = io_uring_peek_batch_cqe(&r->ring, cqes, (unsigned)want);
        for (unsigned i = 0; i < got; i++) {
            user_data[n] = io_uring_cqe_get_data64(cqes[i]);
            res[n] = cqes[i]->res;
            n++;
        }
        io_uring_cq_advance(&r->ring, got);
        if (got < (unsigned)want) break;
    }
    return n;
}

int cfio_uring_reap(cfio_uring *r, uint64_t *user_data, int32_t *res, int max, int64_t wait_ns) {
    int n = take_ready(r, user_data, res, 0, max);
    if (n > 0 || wait_ns == 0) return n;
    struct io_uring_cqe *cqe = NULL;
    int ret;
    if (wait_ns < 0) {
        ret = io_uring_wait_cqe(&r->ring, &cqe);
    } else {
        struct __kernel_timespec ts;
        ts.tv_sec = wait_ns / 1000000000ll;
        ts.tv_nsec = wait_ns % 1000000000ll;
        ret = io_uring_wait_cqe_timeout(&r->ring, &cqe, &ts);
    }
    if (ret == -ETIME) return 0;
    if (ret < 0) return ret;
    user_data[0] = io_uring_cqe_get_data64(cqe);
    res[0] = cqe->res;
    io_uring_cqe_seen(&r->ring, cqe);
    // Take whatever else completed meanwhile, so one wait serves a whole batch.
    return take_ready(r, user_data, res, 1, max);
}

/* The head of a libaio context: io_setup returns the address of this ring, mapped into
 * the process (fs/aio.c, struct aio_ring). The kernel appends at tail; whoever reaps
 * advances head, the kernel in io_getevents or we here. */
struct cfio_aio_ring {
    unsigned id;
    unsigned nr;
    unsigned head;
    unsigned tail;
    unsigned magic;
    unsigned compat_features;
    unsigned incompat_features;
    unsigned header_length;
    struct cfio_aio_event events[];
};

#define CFIO_AIO_RING_MAGIC 0xa10a10a1

int cfio_aio_peek(void *ctx, struct cfio_aio_event *out, int max) {
    struct cfio_aio_ring *ring = (struct cfio_aio_ring *)ctx;
    if (ring == NULL || ring->magic != CFIO_AIO_RING_MAGIC || ring->incompat_features != 0)
        return -1;
    unsigned nr = ring->nr;
    unsigned head = __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE);
    unsigned tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
    int n = 0;
    while (head != tail && n < max) {
        out[n++] = ring->events[head];
        head = (head + 1) % nr;
    }
    if (n > 0)
        __atomic_store_n(&ring->head, head, __ATOMIC_RELEASE);
    return n;
}

int cfio_set_malloc_arenas(int n) { return mallopt(M_ARENA_MAX, n); }
