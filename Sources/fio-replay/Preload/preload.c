/* The recorder's LD_PRELOAD library: wraps libc's file I/O calls in every process of a
 * recorded command and hands each call, as a fixed-size binary event (fiot_preload_event.h),
 * to `fio-replay record --via preload` over a unix socket.
 *
 * Why this shape:
 * - No lock on the fast path: each thread appends events to its own buffer and sends the
 *   buffer with one send() when it is full (32 KiB: 585 events), when its oldest event is
 *   20 ms old, and at thread exit, process exit, _exit, exec and fork. Buffers live in a
 *   registry (mmap'd, claimed by a thread at its first event, given back at its end), so
 *   that the thread that ends the process image (exit, _exit, exec) sends the other
 *   threads' buffers too: a thread still running when another calls exit() loses nothing it
 *   buffered. A buffer's `busy` flag (one atomic exchange per event, uncontended) keeps its
 *   thread and that last sender from using it at once. The socket is a unix SOCK_SEQPACKET connection per process (shared by
 *   its threads and forked children): a packet is delivered whole, so writers never
 *   interleave inside one, and a sender waits only when its socket buffer (about 200 KB)
 *   is full, not when ten packets are queued as with a datagram socket.
 * - Only regular files, directories and block devices are recorded: a descriptor's type is
 *   learnt once (at open or first use) and kept in a byte per descriptor, so reads of
 *   /dev/zero or writes to a pipe cost one table lookup.
 * - Positions: the recorder tracks them per open file description from the events (as for
 *   strace). A descriptor first seen without an open (inherited, or after exec or fork) is
 *   announced with its position now (lseek), and an O_APPEND write reports where it landed.
 * - Reentrancy: the library calls libc through the pointers it resolved (never its own
 *   wrappers), and a thread-local guard keeps a signal handler's I/O that interrupts the
 *   buffer code from touching the buffer (that I/O passes through unrecorded).
 * - send() on a descriptor that is not a socket fails with ENOTSOCK instead of writing: if
 *   the program closes or reuses the library's socket, no event lands in its files; the
 *   socket is made again on the next send.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <linux/fs.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ---- Wire format ----
 * Between this library and `fio-replay record --via preload`: packets of back-to-back events, each a fixed 56-byte header
 * followed, for events that name a file, by `pathlen` path bytes padded to 8 bytes.
 * Host byte order: both ends run on the same machine.
 * The Swift side (PreloadEvents.swift) reads the same layout. */
#include <stdint.h>

/** Event kinds (`kind`). Times are CLOCK_MONOTONIC ns; `res` is the call's return value
 *  or -errno. */
enum fiot_ev_kind {
    FIOT_EV_HELLO = 1,     /* a process image started: off = parent pid, len = read+write syscalls before (from /proc/self/io) */
    FIOT_EV_ADOPT = 2,     /* fd first used (inherited, exec, fork): off = its position now, len = 1 if O_APPEND, res = file size; path */
    FIOT_EV_OPEN = 3,      /* fd = new descriptor, len: bit 0 O_APPEND, bit 1 the open created the file, bit 2 O_DIRECT; off = open flags, res = file size after the open; path */
    FIOT_EV_CLOSE = 4,     /* fd */
    FIOT_EV_DUP = 5,       /* fd = old descriptor, res = new descriptor */
    FIOT_EV_LSEEK = 6,     /* fd, res = new position */
    FIOT_EV_READ = 7,      /* fd, len = requested bytes; at the descriptor's position */
    FIOT_EV_WRITE = 8,     /* fd, len = requested bytes; at the descriptor's position */
    FIOT_EV_PREAD = 9,     /* fd, off, len */
    FIOT_EV_PWRITE = 10,   /* fd, off, len */
    FIOT_EV_FSYNC = 11,
    FIOT_EV_FDATASYNC = 12,
    FIOT_EV_SYNC_RANGE = 13, /* off, len */
    FIOT_EV_FALLOCATE = 14,  /* off, len (bit 63 set: FALLOC_FL_KEEP_SIZE) */
    FIOT_EV_PUNCH = 15,      /* off, len */
    FIOT_EV_FTRUNCATE = 16,  /* off = new size */
    FIOT_EV_BYE = 17,      /* process image ends: off = read/write calls seen, len = read+write syscalls made (from /proc/self/io, its reaped children's included), res = io_uring descriptors open, fd = events lost */
    FIOT_EV_APPEND = 18,   /* an O_APPEND write: off = where it landed, len; the position moves past it */
    FIOT_EV_THREAD_END = 19, /* a thread that sent events ends */
    FIOT_EV_RENAME = 20,   /* a regular file renamed: path = "from\0to" (absolute; parents resolved before the call) */
    FIOT_EV_UNLINK = 21,   /* res; path (absolute) of the regular file unlinked */
};

struct fiot_ev {
    uint64_t t0;       /* ns before the call */
    uint64_t t1;       /* ns after the call */
    uint64_t off;
    uint64_t len;
    int64_t res;
    uint32_t pid;
    uint32_t tid;
    int32_t fd;
    uint16_t kind;
    uint16_t pathlen;  /* path bytes after the header (padded to 8) */
};

#define FIOT_EV_SIZE 56
/** Bytes per packet at most (one per-thread buffer). The recorder reads packets of up to
 *  128 KiB. */
#define FIOT_EV_BUFFER 32768
/** The environment variable naming the recorder's unix socket (SOCK_SEQPACKET). */
#define FIOT_SOCKET_ENV "FIOTRACE_RECORD_SOCKET"

_Static_assert(sizeof(struct fiot_ev) == FIOT_EV_SIZE, "event layout");

#define EXPORT __attribute__((visibility("default")))
#define TLS __thread __attribute__((tls_model("initial-exec")))

/* Descriptor kinds, one byte per descriptor below FDK_MAX. */
enum { FDK_UNKNOWN = 0, FDK_TRACKED = 1, FDK_IGNORED = 2, FDK_APPEND = 0x10 };
#define FDK_MAX 65536
static unsigned char fdk[FDK_MAX];

/** Buffers older than this are sent at the next event (ns): keeps events flowing to the
 *  recorder (and its time-ordering window short) for slow writers. */
#define MAX_AGE_NS 20000000ull

static struct {
    int (*open)(const char *, int, ...);
    int (*openat)(int, const char *, int, ...);
    int (*close)(int);
    int (*dup)(int);
    int (*dup2)(int, int);
    int (*dup3)(int, int, int);
    int (*fcntl)(int, int, ...);
    off_t (*lseek)(int, off_t, int);
    ssize_t (*read)(int, void *, size_t);
    ssize_t (*write)(int, const void *, size_t);
    ssize_t (*pread)(int, void *, size_t, off_t);
    ssize_t (*pwrite)(int, const void *, size_t, off_t);
    ssize_t (*readv)(int, const struct iovec *, int);
    ssize_t (*writev)(int, const struct iovec *, int);
    ssize_t (*preadv)(int, const struct iovec *, int, off_t);
    ssize_t (*pwritev)(int, const struct iovec *, int, off_t);
    ssize_t (*preadv2)(int, const struct iovec *, int, off_t, int);
    ssize_t (*pwritev2)(int, const struct iovec *, int, off_t, int);
    int (*fsync)(int);
    int (*fdatasync)(int);
    int (*sync_file_range)(int, off_t, off_t, unsigned int);
    int (*fallocate)(int, int, off_t, off_t);
    int (*ftruncate)(int, off_t);
    int (*close_range)(unsigned int, unsigned int, int);
    void (*closefrom)(int);
    int (*execve)(const char *, char *const[], char *const[]);
    int (*execvpe)(const char *, char *const[], char *const[]);
    int (*fexecve)(int, char *const[], char *const[]);
    void (*exit_)(int);
    ssize_t (*readlink)(const char *, char *, size_t);
    int (*renameat)(int, const char *, int, const char *);
    int (*renameat2)(int, const char *, int, const char *, unsigned int);
    int (*unlinkat)(int, const char *, int);
} real;

static pthread_once_t resolve_once = PTHREAD_ONCE_INIT;
static int active;              /* the recorder's socket is named in the environment */
static struct sockaddr_un peer;
static socklen_t peer_len;
static int sock = -1;
static uint32_t my_pid;
static pthread_key_t exit_key;
static uint64_t seen_total;     /* read/write calls seen (atomic adds) */
static uint64_t lost_total;     /* events that could not be sent */
static uint64_t syscalls_at_start;

/** One thread's events waiting to be sent. */
struct fiot_buf {
    int busy;        /* 1 while its thread, or the thread ending the image, uses it */
    int owned;       /* 1 while a thread holds it */
    uint32_t used;   /* bytes of events in data */
    uint64_t first;  /* t0 of its oldest event */
    uint64_t seen;   /* read/write calls its thread made since they were last added up */
    _Alignas(8) char data[FIOT_EV_BUFFER];
};
/** Registered buffers (a slot, once set, always holds the same buffer). A thread beyond
 *  the last slot gets a buffer of its own that the image's end does not see. */
#define FIOT_SLOTS 4096
static struct fiot_buf *slots[FIOT_SLOTS];

static TLS struct {
    struct fiot_buf *buf;
    uint32_t tid;
    int registered;
} tb;
static TLS int in_hook;

#define RESOLVE(name) real.name = dlsym(RTLD_NEXT, #name)

static void resolve(void) {
    RESOLVE(open); RESOLVE(openat); RESOLVE(close); RESOLVE(dup); RESOLVE(dup2); RESOLVE(dup3);
    RESOLVE(fcntl); RESOLVE(lseek); RESOLVE(read); RESOLVE(write); RESOLVE(pread); RESOLVE(pwrite);
    RESOLVE(readv); RESOLVE(writev); RESOLVE(preadv); RESOLVE(pwritev); RESOLVE(preadv2);
    RESOLVE(pwritev2); RESOLVE(fsync); RESOLVE(fdatasync); RESOLVE(sync_file_range);
    RESOLVE(fallocate); RESOLVE(ftruncate); RESOLVE(close_range); RESOLVE(closefrom);
    RESOLVE(execve); RESOLVE(execvpe); RESOLVE(fexecve); RESOLVE(readlink);
    RESOLVE(renameat); RESOLVE(renameat2); RESOLVE(unlinkat);
    real.exit_ = dlsym(RTLD_NEXT, "_exit");
}

static inline void ensure(void) {
    if (__builtin_expect(real.write == NULL, 0)) pthread_once(&resolve_once, resolve);
}

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void connect_socket(void) {
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (s < 0) return;
    if (connect(s, (struct sockaddr *)&peer, peer_len) != 0) { real.close(s); return; }
    /* Out of the way of descriptors programs number themselves (exec 3>..., fd 3 expected). */
    int hi = real.fcntl(s, F_DUPFD_CLOEXEC, 900);
    if (hi >= 0) { real.close(s); s = hi; }
    int big = 1 << 20;
    setsockopt(s, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    sock = s;
    if (s < FDK_MAX) fdk[s] = FDK_IGNORED;
}

static struct fiot_buf *new_buffer(void) {
    void *m = mmap(NULL, sizeof(struct fiot_buf), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return m == MAP_FAILED ? NULL : (struct fiot_buf *)m;
}

/** This thread's buffer: a free registered one, else a new one in a free slot, else one
 *  of its own (NULL only when memory is exhausted). */
static struct fiot_buf *claim_buffer(void) {
    for (int i = 0; i < FIOT_SLOTS; i++) {
        struct fiot_buf *b = __atomic_load_n(&slots[i], __ATOMIC_ACQUIRE);
        if (b == NULL) {
            struct fiot_buf *nb = new_buffer();
            if (!nb) return NULL;
            nb->owned = 1;
            struct fiot_buf *expected = NULL;
            if (__atomic_compare_exchange_n(&slots[i], &expected, nb, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return nb;
            munmap(nb, sizeof *nb);
            b = expected;
        }
        int zero = 0;
        if (__atomic_compare_exchange_n(&b->owned, &zero, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) return b;
    }
    struct fiot_buf *nb = new_buffer();
    if (nb) nb->owned = 1;
    return nb;
}

static inline struct fiot_buf *my_buffer(void) {
    if (__builtin_expect(tb.buf == NULL, 0)) tb.buf = claim_buffer();
    return tb.buf;
}

/** Sends `b`'s events (one packet); `b` is held (busy) by the caller, with in_hook set. */
static void send_buffer(struct fiot_buf *b) {
    if (b->used == 0) return;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (sock < 0) connect_socket();
        if (sock < 0) break;
        ssize_t r;
        do { r = send(sock, b->data, b->used, MSG_NOSIGNAL); } while (r < 0 && errno == EINTR);
        if (r >= 0) { b->used = 0; return; }
        if (errno != ENOTSOCK && errno != EBADF && errno != ENOTCONN && errno != EDESTADDRREQ) break;
        sock = -1; /* the program closed or reused it: make a new one */
    }
    __atomic_fetch_add(&lost_total, b->used / FIOT_EV_SIZE, __ATOMIC_RELAXED);
    b->used = 0;
}

static inline int hold_buffer(struct fiot_buf *b) { return __atomic_exchange_n(&b->busy, 1, __ATOMIC_ACQUIRE) == 0; }
static inline void release_buffer(struct fiot_buf *b) { __atomic_store_n(&b->busy, 0, __ATOMIC_RELEASE); }

/** Sends this thread's buffer (one packet). Called with in_hook set. */
static void flush(void) {
    struct fiot_buf *b = tb.buf;
    if (!b || !hold_buffer(b)) return;
    if (b->seen) { __atomic_fetch_add(&seen_total, b->seen, __ATOMIC_RELAXED); b->seen = 0; }
    send_buffer(b);
    release_buffer(b);
}

/** The image ends: sends the other threads' buffers (they may be running: each is taken
 *  when its thread is not inside an event, waiting up to about 10 ms for it) and adds up
 *  their call counts. Called with in_hook set. */
static void flush_others(void) {
    for (int i = 0; i < FIOT_SLOTS; i++) {
        struct fiot_buf *b = __atomic_load_n(&slots[i], __ATOMIC_ACQUIRE);
        if (b == NULL) break;
        if (b == tb.buf || !__atomic_load_n(&b->owned, __ATOMIC_ACQUIRE)) continue;
        int got = 0;
        for (int spin = 0; spin < 1000 && !(got = hold_buffer(b)); spin++) {
            struct timespec ts = {0, 10000};
            nanosleep(&ts, NULL);
        }
        if (!got) continue;
        if (b->seen) { __atomic_fetch_add(&seen_total, b->seen, __ATOMIC_RELAXED); b->seen = 0; }
        send_buffer(b);
        release_buffer(b);
    }
}

static void emit(uint16_t kind, int fd, uint64_t t0, uint64_t t1, uint64_t off, uint64_t len, int64_t res,
                 const char *path, size_t pathlen);

/** A thread that recorded something ends: say so (its stream can be reused) and send. */
static void thread_exit(void *unused) {
    (void)unused;
    uint64_t t = now_ns();
    emit(FIOT_EV_THREAD_END, -1, t, t, 0, 0, 0, NULL, 0);
    in_hook++;
    flush();
    struct fiot_buf *b = tb.buf;
    if (b && hold_buffer(b)) {
        tb.buf = NULL;
        __atomic_store_n(&b->owned, 0, __ATOMIC_RELEASE); /* free for the next thread */
        release_buffer(b);
    }
    in_hook--;
}

static inline uint32_t my_tid(void) {
    if (__builtin_expect(tb.tid == 0, 0)) tb.tid = (uint32_t)syscall(SYS_gettid);
    return tb.tid;
}

/** Appends one event (and its path) to this thread's buffer. */
static void emit(uint16_t kind, int fd, uint64_t t0, uint64_t t1, uint64_t off, uint64_t len, int64_t res,
                 const char *path, size_t pathlen) {
    in_hook++;
    struct fiot_buf *b = my_buffer();
    if (!b || !hold_buffer(b)) { /* no memory, or a signal handler inside this thread's event */
        __atomic_fetch_add(&lost_total, 1, __ATOMIC_RELAXED);
        in_hook--;
        return;
    }
    if (pathlen > FIOT_EV_BUFFER - FIOT_EV_SIZE - 8) pathlen = FIOT_EV_BUFFER - FIOT_EV_SIZE - 8;
    uint32_t need = FIOT_EV_SIZE + (uint32_t)((pathlen + 7) & ~(size_t)7);
    if (b->used + need > FIOT_EV_BUFFER) send_buffer(b);
    if (__builtin_expect(!tb.registered, 0)) {
        tb.registered = 1;
        pthread_setspecific(exit_key, (void *)1);
    }
    if (b->used == 0) b->first = t0;
    struct fiot_ev *e = (struct fiot_ev *)(b->data + b->used);
    e->t0 = t0; e->t1 = t1; e->off = off; e->len = len; e->res = res;
    e->pid = my_pid; e->tid = my_tid(); e->fd = fd; e->kind = kind; e->pathlen = (uint16_t)pathlen;
    if (pathlen) {
        memcpy(b->data + b->used + FIOT_EV_SIZE, path, pathlen);
        memset(b->data + b->used + FIOT_EV_SIZE + pathlen, 0, need - FIOT_EV_SIZE - pathlen);
    }
    b->used += need;
    if (t1 - b->first > MAX_AGE_NS) send_buffer(b);
    release_buffer(b);
    in_hook--;
}

/** The path of `fd` (via /proc/self/fd), in buf; its length or 0. */
static size_t fd_path(int fd, char *buf, size_t size) {
    char link[40];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = real.readlink(link, buf, size - 1);
    if (n <= 0) return 0;
    buf[n] = 0;
    return (size_t)n;
}

/** 1 for a regular file, directory or block device (its size in *size), 0 for anything
 *  else, -1 when `fd` is not open. */
static int recordable(int fd, int64_t *size) {
    struct stat st;
    if (fstat(fd, &st) != 0) return -1;
    *size = S_ISREG(st.st_mode) ? (int64_t)st.st_size : 0;
    if (S_ISDIR(st.st_mode)) return 2;
    return S_ISREG(st.st_mode) || S_ISBLK(st.st_mode);
}

/** The path of `fd`, with a "/" at the end for a directory (`kind` 2): a recording tells
 *  directories from files by it, so a replay can make a missing one. */
static size_t recorded_path(int fd, int kind, char *buf, size_t size) {
    size_t n = fd_path(fd, buf, size - 1);
    if (n > 0 && kind == 2 && buf[n - 1] != '/') { buf[n++] = '/'; buf[n] = 0; }
    return n;
}

/** Learns what `fd` is the first time it is used without an open seen by this image. */
static unsigned char classify(int fd) {
    in_hook++;
    unsigned char k = FDK_IGNORED;
    int64_t size = 0;
    int r = fd == sock ? 0 : recordable(fd, &size);
    if (r < 0) { in_hook--; return FDK_IGNORED; } /* not open: the call fails; learn nothing */
    if (r > 0) {
        char path[4096];
        size_t n = recorded_path(fd, r, path, sizeof path);
        if (n > 0) {
            int fl = real.fcntl(fd, F_GETFL);
            int append = fl >= 0 && (fl & O_APPEND);
            off_t pos = real.lseek(fd, 0, SEEK_CUR);
            uint64_t t = now_ns();
            emit(FIOT_EV_ADOPT, fd, t, t, pos < 0 ? 0 : (uint64_t)pos, append, size, path, n);
            k = FDK_TRACKED | (append ? FDK_APPEND : 0);
        }
    }
    if (fd < FDK_MAX) fdk[fd] = k;
    in_hook--;
    return k;
}

/** The kind of `fd` when the call on it should be recorded, else 0. Counts the call. */
static inline unsigned char want(int fd, int counts) {
    if (!active || in_hook) return 0;
    if (counts) {
        struct fiot_buf *b = my_buffer();
        if (b) b->seen += (uint64_t)counts;
    }
    if (fd < 0) return 0;
    unsigned char k = fd < FDK_MAX ? fdk[fd] : FDK_UNKNOWN;
    if (__builtin_expect(k == FDK_UNKNOWN, 0)) k = classify(fd);
    return (k & FDK_TRACKED) ? k : 0;
}

static void after_open(int r, int flags, int created, uint64_t t0, uint64_t t1) {
    if (!active || in_hook || r < 0) return;
    in_hook++;
    unsigned char k = FDK_IGNORED;
    int64_t size = 0;
    int kind = r != sock ? recordable(r, &size) : 0;
    if (kind > 0) {
        char path[4096];
        size_t n = recorded_path(r, kind, path, sizeof path);
        if (n > 0) {
            int append = (flags & O_APPEND) != 0;
            /* O_DIRECT's value differs between architectures: the decoder reads this bit. */
            uint64_t bits = (uint64_t)append | (created ? 2u : 0u) | ((flags & O_DIRECT) ? 4u : 0u);
            emit(FIOT_EV_OPEN, r, t0, t1, (uint64_t)(unsigned)flags, bits, size, path, n);
            k = FDK_TRACKED | (append ? FDK_APPEND : 0);
        }
    }
    if (r < FDK_MAX) fdk[r] = k;
    in_hook--;
}

static uint64_t proc_io_syscalls(void) {
    char buf[512];
    int fd = real.open("/proc/self/io", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = real.read(fd, buf, sizeof buf - 1);
    real.close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    uint64_t total = 0;
    const char *keys[] = {"syscr: ", "syscw: "};
    for (int i = 0; i < 2; i++) {
        const char *p = strstr(buf, keys[i]);
        if (p) total += strtoull(p + strlen(keys[i]), NULL, 10);
    }
    return total;
}

static int64_t io_uring_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return 0;
    int64_t count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char link[300], target[64];
        snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
        ssize_t n = real.readlink(link, target, sizeof target - 1);
        if (n > 0) { target[n] = 0; if (strstr(target, "io_uring")) count++; }
    }
    closedir(d);
    return count;
}

/** The end of this process image (exit, _exit, exec): sends what is buffered and the tally
 *  the recorder checks for I/O that bypassed these wrappers. */
static void goodbye(void) {
    if (!active) return;
    in_hook++;
    uint32_t pid = (uint32_t)getpid(); /* not the cached one: a vfork child execs here */
    uint32_t saved = my_pid;
    my_pid = pid;
    flush();
    flush_others();
    uint64_t made = proc_io_syscalls();
    made = made > syscalls_at_start ? made - syscalls_at_start : 0;
    uint64_t t = now_ns();
    int64_t rings = io_uring_fds();
    emit(FIOT_EV_BYE, (int)__atomic_load_n(&lost_total, __ATOMIC_RELAXED), t, t,
         __atomic_load_n(&seen_total, __ATOMIC_RELAXED), made, rings, NULL, 0);
    flush();
    my_pid = saved;
    in_hook--;
}

static void before_fork(void) {
    in_hook++;
    flush();
    in_hook--;
}

static void in_child(void) {
    /* A new process: its own pid and thread id, and descriptors learnt again (positions
     * from the kernel at first use). The buffer was sent before the fork. */
    my_pid = (uint32_t)getpid();
    tb.tid = 0;
    /* The other threads' buffers are the parent's (it sends them); this thread's was sent. */
    for (int i = 0; i < FIOT_SLOTS && slots[i]; i++) {
        struct fiot_buf *b = slots[i];
        b->busy = 0;
        b->used = 0;
        b->seen = 0;
        b->owned = b == tb.buf;
    }
    if (tb.buf) { tb.buf->busy = 0; tb.buf->used = 0; tb.buf->seen = 0; }
    seen_total = 0;
    lost_total = 0;
    syscalls_at_start = 0;
    memset(fdk, 0, sizeof fdk);
    if (sock >= 0 && sock < FDK_MAX) fdk[sock] = FDK_IGNORED;
    if (active) {
        uint64_t t = now_ns();
        emit(FIOT_EV_HELLO, -1, t, t, (uint64_t)getppid(), 0, 0, NULL, 0);
    }
}

/* "LD_PRELOAD=..." and "FIOTRACE_RECORD_SOCKET=..." as this process was started with
 * (empty when it is not recorded): an exec with an environment that dropped them gets them
 * back, so the program it starts is recorded too (env -i, execle with a fresh one). */
static char keep_preload[4096], keep_socket[sizeof(FIOT_SOCKET_ENV) + 110];

static void keep_entry(char *dst, size_t size, const char *name) {
    const char *v = getenv(name);
    if (v && strlen(name) + 1 + strlen(v) < size) snprintf(dst, size, "%s=%s", name, v);
}

__attribute__((constructor)) static void start(void) {
    ensure();
    const char *path = getenv(FIOT_SOCKET_ENV);
    if (!path || !*path || strlen(path) >= sizeof peer.sun_path) return;
    memset(&peer, 0, sizeof peer);
    peer.sun_family = AF_UNIX;
    strcpy(peer.sun_path, path);
    peer_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
    keep_entry(keep_preload, sizeof keep_preload, "LD_PRELOAD");
    keep_entry(keep_socket, sizeof keep_socket, FIOT_SOCKET_ENV);
    my_pid = (uint32_t)getpid();
    pthread_key_create(&exit_key, thread_exit);
    pthread_atfork(before_fork, NULL, in_child);
    in_hook++;
    syscalls_at_start = proc_io_syscalls();
    in_hook--;
    active = 1;
    uint64_t t = now_ns();
    emit(FIOT_EV_HELLO, -1, t, t, (uint64_t)getppid(), syscalls_at_start, 0, NULL, 0);
}

__attribute__((destructor)) static void finish(void) { goodbye(); }

/* ---- Opens ---- */

/** Whether an open with `flags` of `p` (relative to `d`) will create the file, if it
 *  succeeds: O_CREAT with O_EXCL always does; plain O_CREAT when nothing is there now (one
 *  fstatat, only for O_CREAT opens). */
static int absent_before(int d, const char *p, int flags) {
    if (!(flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE) return 0;
    if (flags & O_EXCL) return 1;
    struct stat st;
    int saved = errno;
    int r = fstatat(d, p, &st, 0) != 0 && errno == ENOENT;
    errno = saved;
    return r;
}

static inline int needs_mode(int flags) { return (flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE; }

#define OPEN_BODY(call)                                      \
    ensure();                                                \
    mode_t mode = 0;                                         \
    if (needs_mode(flags)) {                                 \
        va_list ap;                                          \
        va_start(ap, flags);                                 \
        mode = va_arg(ap, mode_t);                           \
        va_end(ap);                                          \
    }                                                        \
    if (!active || in_hook) return call;                     \
    int absent = absent_before(d, p, flags);                 \
    uint64_t t0 = now_ns();                                  \
    int r = call;                                            \
    int e = errno;                                           \
    after_open(r, flags, absent, t0, now_ns());              \
    errno = e;                                               \
    return r;

EXPORT int open(const char *p, int flags, ...) { const int d = AT_FDCWD; OPEN_BODY(real.open(p, flags, mode)) }
EXPORT int open64(const char *p, int flags, ...) { const int d = AT_FDCWD; OPEN_BODY(real.open(p, flags, mode)) }
EXPORT int openat(int d, const char *p, int flags, ...) { OPEN_BODY(real.openat(d, p, flags, mode)) }
EXPORT int openat64(int d, const char *p, int flags, ...) { OPEN_BODY(real.openat(d, p, flags, mode)) }

static int open_plain(int d, const char *p, int flags, mode_t mode) {
    ensure();
    if (!active || in_hook) return real.openat(d, p, flags, mode);
    int absent = absent_before(d, p, flags);
    uint64_t t0 = now_ns();
    int r = real.openat(d, p, flags, mode);
    int e = errno;
    after_open(r, flags, absent, t0, now_ns());
    errno = e;
    return r;
}
EXPORT int creat(const char *p, mode_t m) { return open_plain(AT_FDCWD, p, O_CREAT | O_WRONLY | O_TRUNC, m); }
EXPORT int creat64(const char *p, mode_t m) { return open_plain(AT_FDCWD, p, O_CREAT | O_WRONLY | O_TRUNC, m); }
/* _FORTIFY_SOURCE's checked opens (no mode argument). */
EXPORT int __open_2(const char *p, int flags) { return open_plain(AT_FDCWD, p, flags, 0); }
EXPORT int __open64_2(const char *p, int flags) { return open_plain(AT_FDCWD, p, flags, 0); }
EXPORT int __openat_2(int d, const char *p, int flags) { return open_plain(d, p, flags, 0); }
EXPORT int __openat64_2(int d, const char *p, int flags) { return open_plain(d, p, flags, 0); }

/* ---- Names: rename, unlink ---- */

/** The absolute path `p` (relative to `d`) names, its parent directory resolved (symlinks,
 *  "." and ".."), into buf; its length, or 0 when it cannot be resolved. The last component
 *  is kept as given: it is what the call renames or removes. */
static size_t absolute(int d, const char *p, char *buf, size_t size) {
    char joined[8192];
    size_t n;
    if (p[0] == '/') {
        n = strlen(p);
        if (n >= sizeof joined) return 0;
        memcpy(joined, p, n + 1);
    } else {
        size_t b;
        if (d == AT_FDCWD) {
            if (!getcwd(joined, 4096)) return 0;
            b = strlen(joined);
        } else {
            b = fd_path(d, joined, 4096);
            if (b == 0) return 0;
        }
        n = strlen(p);
        if (b + 1 + n >= sizeof joined) return 0;
        joined[b] = '/';
        memcpy(joined + b + 1, p, n + 1);
        n += b + 1;
    }
    while (n > 1 && joined[n - 1] == '/') joined[--n] = 0;
    char *slash = strrchr(joined, '/');
    const char *name = slash + 1;
    if (!*name || !strcmp(name, ".") || !strcmp(name, "..")) return 0;
    char parent[4096];
    if (slash == joined) { parent[0] = '/'; parent[1] = 0; }
    else {
        *slash = 0;
        if (!realpath(joined, parent)) return 0;
    }
    size_t pl = strlen(parent), nl = strlen(name);
    if (pl > 0 && parent[pl - 1] == '/') pl--;
    if (pl + 1 + nl >= size) return 0;
    memcpy(buf, parent, pl);
    buf[pl] = '/';
    memcpy(buf + pl + 1, name, nl + 1);
    return pl + 1 + nl;
}

/** 1 for a regular file, 2 for a directory at `p` (relative to `d`, not followed), else 0. */
static int file_kind_at(int d, const char *p) {
    struct stat st;
    if (fstatat(d, p, &st, AT_SYMLINK_NOFOLLOW) != 0) return 0;
    return S_ISREG(st.st_mode) ? 1 : S_ISDIR(st.st_mode) ? 2 : 0;
}

static int rename_body(int da, const char *a, int db, const char *b, unsigned int fl, int plain) {
    ensure();
    int (*fallback)(int, const char *, int, const char *) = real.renameat;
    if (!active || in_hook || (fl & RENAME_EXCHANGE)) {
        if (plain) return fallback(da, a, db, b);
        return real.renameat2 ? real.renameat2(da, a, db, b, fl) : (int)syscall(SYS_renameat2, da, a, db, b, fl);
    }
    in_hook++;
    int saved = errno;
    char buf[8200];
    size_t na = 0, nb = 0;
    if (file_kind_at(da, a) == 1) { /* regular files (a directory's rename is not recorded) */
        na = absolute(da, a, buf, 4096);
        if (na) nb = absolute(db, b, buf + na + 1, 4096);
    }
    errno = saved;
    in_hook--;
    uint64_t t0 = now_ns();
    int r = plain ? fallback(da, a, db, b)
                  : real.renameat2 ? real.renameat2(da, a, db, b, fl) : (int)syscall(SYS_renameat2, da, a, db, b, fl);
    int e = errno;
    if (r == 0 && na && nb) emit(FIOT_EV_RENAME, -1, t0, now_ns(), 0, 0, 0, buf, na + 1 + nb);
    errno = e;
    return r;
}

EXPORT int rename(const char *a, const char *b) { return rename_body(AT_FDCWD, a, AT_FDCWD, b, 0, 1); }
EXPORT int renameat(int da, const char *a, int db, const char *b) { return rename_body(da, a, db, b, 0, 1); }
EXPORT int renameat2(int da, const char *a, int db, const char *b, unsigned int fl) { return rename_body(da, a, db, b, fl, 0); }

static int unlink_body(int d, const char *p, int fl) {
    ensure();
    if (!active || in_hook || (fl & AT_REMOVEDIR)) return real.unlinkat(d, p, fl);
    in_hook++;
    int saved = errno;
    char buf[4200];
    size_t n = file_kind_at(d, p) == 1 ? absolute(d, p, buf, sizeof buf) : 0;
    errno = saved;
    in_hook--;
    uint64_t t0 = now_ns();
    int r = real.unlinkat(d, p, fl);
    int e = errno;
    if (r == 0 && n) emit(FIOT_EV_UNLINK, -1, t0, now_ns(), 0, 0, 0, buf, n);
    errno = e;
    return r;
}

EXPORT int unlink(const char *p) { return unlink_body(AT_FDCWD, p, 0); }
EXPORT int unlinkat(int d, const char *p, int fl) { return unlink_body(d, p, fl); }
/* glibc's remove() calls its own unlink, past this library: wrap it too. */
EXPORT int remove(const char *p) {
    ensure();
    if (file_kind_at(AT_FDCWD, p) == 2) return rmdir(p);
    return unlink_body(AT_FDCWD, p, 0);
}

/* ---- Descriptors ---- */

EXPORT int close(int fd) {
    ensure();
    if (fd == sock && fd >= 0) { sock = -1; return real.close(fd); }
    unsigned char k = want(fd, 0);
    if (!k) {
        int r = real.close(fd);
        if (fd >= 0 && fd < FDK_MAX && !in_hook) fdk[fd] = FDK_UNKNOWN;
        return r;
    }
    uint64_t t0 = now_ns();
    int r = real.close(fd);
    int e = errno;
    if (fd < FDK_MAX) fdk[fd] = FDK_UNKNOWN;
    emit(FIOT_EV_CLOSE, fd, t0, now_ns(), 0, 0, r < 0 ? -e : r, NULL, 0);
    errno = e;
    return r;
}

/** After a successful dup of `old` to `r`: `r` is what `old` is. */
static void after_dup(int old, int r, unsigned char k, uint64_t t0) {
    if (r < 0 || in_hook || !active) return;
    if (r < FDK_MAX) fdk[r] = k ? k : FDK_UNKNOWN;
    if (k) emit(FIOT_EV_DUP, old, t0, now_ns(), 0, 0, r, NULL, 0);
}

EXPORT int dup(int fd) {
    ensure();
    unsigned char k = want(fd, 0);
    uint64_t t0 = k ? now_ns() : 0;
    int r = real.dup(fd);
    int e = errno;
    after_dup(fd, r, k, t0);
    errno = e;
    return r;
}

/** dup2/dup3 onto the library's own socket: move the socket out of the way first. */
static void vacate(int newfd) {
    if (newfd >= 0 && newfd == sock) {
        int s = sock;
        sock = -1;
        int hi = real.fcntl(s, F_DUPFD_CLOEXEC, newfd + 1);
        if (hi >= 0) { sock = hi; if (hi < FDK_MAX) fdk[hi] = FDK_IGNORED; }
    }
}

EXPORT int dup2(int fd, int newfd) {
    ensure();
    vacate(newfd);
    unsigned char k = want(fd, 0);
    unsigned char was = (active && !in_hook && newfd != fd) ? want(newfd, 0) : 0;
    uint64_t t0 = (k || was) ? now_ns() : 0;
    int r = real.dup2(fd, newfd);
    int e = errno;
    if (r >= 0 && was && !k) emit(FIOT_EV_CLOSE, newfd, t0, now_ns(), 0, 0, 0, NULL, 0);
    if (fd != newfd) after_dup(fd, r, k, t0);
    errno = e;
    return r;
}

EXPORT int dup3(int fd, int newfd, int flags) {
    ensure();
    vacate(newfd);
    unsigned char k = want(fd, 0);
    unsigned char was = (active && !in_hook && newfd != fd) ? want(newfd, 0) : 0;
    uint64_t t0 = (k || was) ? now_ns() : 0;
    int r = real.dup3(fd, newfd, flags);
    int e = errno;
    if (r >= 0 && was && !k) emit(FIOT_EV_CLOSE, newfd, t0, now_ns(), 0, 0, 0, NULL, 0);
    after_dup(fd, r, k, t0);
    errno = e;
    return r;
}

static int fcntl_body(int fd, int cmd, unsigned long arg) {
    ensure();
    if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
        unsigned char k = want(fd, 0);
        uint64_t t0 = k ? now_ns() : 0;
        int r = real.fcntl(fd, cmd, arg);
        int e = errno;
        after_dup(fd, r, k, t0);
        errno = e;
        return r;
    }
    int r = real.fcntl(fd, cmd, arg);
    if (cmd == F_SETFL && r == 0 && fd >= 0 && fd < FDK_MAX && (fdk[fd] & FDK_TRACKED))
        fdk[fd] = (unsigned char)((fdk[fd] & ~FDK_APPEND) | ((arg & O_APPEND) ? FDK_APPEND : 0));
    return r;
}

EXPORT int fcntl(int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    unsigned long arg = va_arg(ap, unsigned long);
    va_end(ap);
    return fcntl_body(fd, cmd, arg);
}
EXPORT int fcntl64(int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    unsigned long arg = va_arg(ap, unsigned long);
    va_end(ap);
    return fcntl_body(fd, cmd, arg);
}

/** Descriptors [first, last] are closed: forget them (and the socket, if among them). */
static void closed_range(unsigned first, unsigned last) {
    if (sock >= 0 && (unsigned)sock >= first && (unsigned)sock <= last) sock = -1;
    if (!active || in_hook) return;
    uint64_t t = now_ns();
    for (unsigned fd = first; fd <= last && fd < FDK_MAX; fd++) {
        if (fdk[fd] & FDK_TRACKED) emit(FIOT_EV_CLOSE, (int)fd, t, t, 0, 0, 0, NULL, 0);
        fdk[fd] = FDK_UNKNOWN;
    }
}

/* A program closing every descriptor (daemons, closefrom) closes the library's socket too:
 * it is made again at the next send. */
EXPORT int close_range(unsigned int first, unsigned int last, int flags) {
    ensure();
    int r = real.close_range(first, last, flags);
    if (r == 0 && !(flags & CLOSE_RANGE_CLOEXEC)) closed_range(first, last);
    return r;
}

EXPORT void closefrom(int low) {
    ensure();
    real.closefrom(low);
    if (low >= 0) closed_range((unsigned)low, ~0u);
}

EXPORT off_t lseek(int fd, off_t off, int whence) {
    ensure();
    if (!want(fd, 0)) return real.lseek(fd, off, whence);
    uint64_t t0 = now_ns();
    off_t r = real.lseek(fd, off, whence);
    int e = errno;
    if (r >= 0) emit(FIOT_EV_LSEEK, fd, t0, now_ns(), 0, 0, r, NULL, 0);
    errno = e;
    return r;
}
EXPORT off_t lseek64(int fd, off_t off, int whence) { return lseek(fd, off, whence); }

/* ---- Data ---- */

static inline uint64_t iov_bytes(const struct iovec *v, int n) {
    uint64_t t = 0;
    for (int i = 0; i < n; i++) t += v[i].iov_len;
    return t;
}

/** Records a read or write at the descriptor's position; an O_APPEND write that succeeded
 *  is recorded where it landed (the position after it, less its length). */
static void sequential(int fd, unsigned char k, int write, uint64_t t0, ssize_t r, int e, uint64_t len) {
    uint64_t t1 = now_ns();
    if (write && (k & FDK_APPEND) && r >= 0) {
        in_hook++;
        off_t end = real.lseek(fd, 0, SEEK_CUR);
        in_hook--;
        if (end >= r) {
            emit(FIOT_EV_APPEND, fd, t0, t1, (uint64_t)(end - r), len, r, NULL, 0);
            return;
        }
    }
    emit(write ? FIOT_EV_WRITE : FIOT_EV_READ, fd, t0, t1, 0, len, r < 0 ? -e : r, NULL, 0);
}

#define SEQ_BODY(is_write, call, length)                      \
    ensure();                                                 \
    unsigned char k = want(fd, 1);                            \
    if (!k) return call;                                      \
    uint64_t t0 = now_ns();                                   \
    ssize_t r = call;                                         \
    int e = errno;                                            \
    sequential(fd, k, is_write, t0, r, e, length);            \
    errno = e;                                                \
    return r;

#define POS_BODY(kind, call, length, offset)                  \
    ensure();                                                 \
    if (!want(fd, 1)) return call;                            \
    uint64_t t0 = now_ns();                                   \
    ssize_t r = call;                                         \
    int e = errno;                                            \
    emit(kind, fd, t0, now_ns(), (uint64_t)(offset), length, r < 0 ? -e : r, NULL, 0); \
    errno = e;                                                \
    return r;

EXPORT ssize_t read(int fd, void *b, size_t n) { SEQ_BODY(0, real.read(fd, b, n), n) }
EXPORT ssize_t write(int fd, const void *b, size_t n) { SEQ_BODY(1, real.write(fd, b, n), n) }
EXPORT ssize_t __read_chk(int fd, void *b, size_t n, size_t blen) { (void)blen; SEQ_BODY(0, real.read(fd, b, n), n) }
EXPORT ssize_t readv(int fd, const struct iovec *v, int c) { SEQ_BODY(0, real.readv(fd, v, c), iov_bytes(v, c)) }
EXPORT ssize_t writev(int fd, const struct iovec *v, int c) { SEQ_BODY(1, real.writev(fd, v, c), iov_bytes(v, c)) }

EXPORT ssize_t pread(int fd, void *b, size_t n, off_t o) { POS_BODY(FIOT_EV_PREAD, real.pread(fd, b, n, o), n, o) }
EXPORT ssize_t pread64(int fd, void *b, size_t n, off_t o) { POS_BODY(FIOT_EV_PREAD, real.pread(fd, b, n, o), n, o) }
EXPORT ssize_t __pread_chk(int fd, void *b, size_t n, off_t o, size_t blen) { (void)blen; POS_BODY(FIOT_EV_PREAD, real.pread(fd, b, n, o), n, o) }
EXPORT ssize_t __pread64_chk(int fd, void *b, size_t n, off_t o, size_t blen) { (void)blen; POS_BODY(FIOT_EV_PREAD, real.pread(fd, b, n, o), n, o) }
EXPORT ssize_t pwrite(int fd, const void *b, size_t n, off_t o) { POS_BODY(FIOT_EV_PWRITE, real.pwrite(fd, b, n, o), n, o) }
EXPORT ssize_t pwrite64(int fd, const void *b, size_t n, off_t o) { POS_BODY(FIOT_EV_PWRITE, real.pwrite(fd, b, n, o), n, o) }
EXPORT ssize_t preadv(int fd, const struct iovec *v, int c, off_t o) { POS_BODY(FIOT_EV_PREAD, real.preadv(fd, v, c, o), iov_bytes(v, c), o) }
EXPORT ssize_t preadv64(int fd, const struct iovec *v, int c, off_t o) { POS_BODY(FIOT_EV_PREAD, real.preadv(fd, v, c, o), iov_bytes(v, c), o) }
EXPORT ssize_t pwritev(int fd, const struct iovec *v, int c, off_t o) { POS_BODY(FIOT_EV_PWRITE, real.pwritev(fd, v, c, o), iov_bytes(v, c), o) }
EXPORT ssize_t pwritev64(int fd, const struct iovec *v, int c, off_t o) { POS_BODY(FIOT_EV_PWRITE, real.pwritev(fd, v, c, o), iov_bytes(v, c), o) }

/* preadv2/pwritev2 with offset -1 use (and move) the descriptor's position. */
static ssize_t rw2(int fd, const struct iovec *v, int c, off_t o, int fl, int write) {
    ensure();
    unsigned char k = want(fd, 1);
    ssize_t (*f)(int, const struct iovec *, int, off_t, int) = write ? real.pwritev2 : real.preadv2;
    if (!k) return f(fd, v, c, o, fl);
    uint64_t t0 = now_ns();
    ssize_t r = f(fd, v, c, o, fl);
    int e = errno;
    if (o == -1) sequential(fd, k, write, t0, r, e, iov_bytes(v, c));
    else emit(write ? FIOT_EV_PWRITE : FIOT_EV_PREAD, fd, t0, now_ns(), (uint64_t)o, iov_bytes(v, c), r < 0 ? -e : r, NULL, 0);
    errno = e;
    return r;
}
EXPORT ssize_t preadv2(int fd, const struct iovec *v, int c, off_t o, int fl) { return rw2(fd, v, c, o, fl, 0); }
EXPORT ssize_t preadv64v2(int fd, const struct iovec *v, int c, off_t o, int fl) { return rw2(fd, v, c, o, fl, 0); }
EXPORT ssize_t pwritev2(int fd, const struct iovec *v, int c, off_t o, int fl) { return rw2(fd, v, c, o, fl, 1); }
EXPORT ssize_t pwritev64v2(int fd, const struct iovec *v, int c, off_t o, int fl) { return rw2(fd, v, c, o, fl, 1); }

/* ---- Syncs, allocation, size ---- */

#define SIMPLE_BODY(kind, call, offset, length)               \
    ensure();                                                 \
    if (!want(fd, 0)) return call;                            \
    uint64_t t0 = now_ns();                                   \
    int r = call;                                             \
    int e = errno;                                            \
    emit(kind, fd, t0, now_ns(), (uint64_t)(offset), (uint64_t)(length), r < 0 ? -e : r, NULL, 0); \
    errno = e;                                                \
    return r;

EXPORT int fsync(int fd) { SIMPLE_BODY(FIOT_EV_FSYNC, real.fsync(fd), 0, 0) }
EXPORT int fdatasync(int fd) { SIMPLE_BODY(FIOT_EV_FDATASYNC, real.fdatasync(fd), 0, 0) }
EXPORT int sync_file_range(int fd, off_t o, off_t n, unsigned int fl) { SIMPLE_BODY(FIOT_EV_SYNC_RANGE, real.sync_file_range(fd, o, n, fl), o, n) }
EXPORT int fallocate(int fd, int mode, off_t o, off_t n) {
    SIMPLE_BODY((mode & FALLOC_FL_PUNCH_HOLE) ? FIOT_EV_PUNCH : FIOT_EV_FALLOCATE, real.fallocate(fd, mode, o, n), o,
                (mode & FALLOC_FL_KEEP_SIZE) && !(mode & FALLOC_FL_PUNCH_HOLE) ? (uint64_t)n | (1ull << 63) : (uint64_t)n)
}
EXPORT int fallocate64(int fd, int mode, off_t o, off_t n) { return fallocate(fd, mode, o, n); }
EXPORT int ftruncate(int fd, off_t n) { SIMPLE_BODY(FIOT_EV_FTRUNCATE, real.ftruncate(fd, n), n, 0) }
EXPORT int ftruncate64(int fd, off_t n) { return ftruncate(fd, n); }

/* ---- Process image ends ---- */

static size_t env_count(char *const env[]) {
    size_t n = 0;
    while (env && env[n]) n++;
    return n;
}

static int env_has(char *const env[], const char *entry) {
    size_t k = strchr(entry, '=') - entry + 1; /* the name and its '=' */
    for (size_t i = 0; env && env[i]; i++) if (strncmp(env[i], entry, k) == 0) return 1;
    return 0;
}

/* `env` with the kept entries it lacks added, in `room` (env_count(env) + 3 pointers). An
 * entry of the same name the program set itself is left as it is. */
static char *const *with_recorder(char *const env[], char **room) {
    if (!active || !keep_socket[0]) return env;
    size_t n = env_count(env), m = 0;
    for (size_t i = 0; i < n; i++) room[m++] = env[i];
    if (keep_preload[0] && !env_has(env, keep_preload)) room[m++] = keep_preload;
    if (!env_has(env, keep_socket)) room[m++] = keep_socket;
    room[m] = NULL;
    return room;
}

/* Room for `with_recorder` on the caller's stack (it lives until the exec). */
#define ENV_ROOM(env) ((char **)__builtin_alloca((env_count(env) + 3) * sizeof(char *)))

EXPORT int execve(const char *p, char *const a[], char *const env[]) {
    ensure();
    goodbye();
    return real.execve(p, a, with_recorder(env, ENV_ROOM(env)));
}
EXPORT int execv(const char *p, char *const a[]) {
    ensure();
    goodbye();
    return real.execve(p, a, environ);
}
EXPORT int execvpe(const char *p, char *const a[], char *const env[]) {
    ensure();
    goodbye();
    return real.execvpe(p, a, with_recorder(env, ENV_ROOM(env)));
}
EXPORT int execvp(const char *p, char *const a[]) {
    ensure();
    goodbye();
    return real.execvpe(p, a, environ);
}
EXPORT int fexecve(int fd, char *const a[], char *const env[]) {
    ensure();
    goodbye();
    return real.fexecve(fd, a, with_recorder(env, ENV_ROOM(env)));
}

/* The execl family: gather the variadic arguments into an array, then exec as above. A
 * macro, not a function: the array lives on the caller's stack (alloca) until the exec.
 * It leaves `ap` open just past the terminating NULL, for execle's environment. */
#define GATHER_ARGV(argv, arg, ap)                                  \
    size_t n_ = 1;                                                  \
    va_start(ap, arg);                                              \
    while (va_arg(ap, char *) != NULL) n_++;                        \
    va_end(ap);                                                     \
    char **argv = __builtin_alloca((n_ + 1) * sizeof(char *));      \
    va_start(ap, arg);                                              \
    argv[0] = (char *)arg;                                          \
    for (size_t i_ = 1; i_ < n_; i_++) argv[i_] = va_arg(ap, char *); \
    argv[n_] = NULL;                                                \
    (void)va_arg(ap, char *); /* the NULL */

EXPORT int execl(const char *p, const char *arg, ...) {
    va_list ap;
    GATHER_ARGV(argv, arg, ap)
    va_end(ap);
    return execv(p, argv);
}
EXPORT int execlp(const char *p, const char *arg, ...) {
    va_list ap;
    GATHER_ARGV(argv, arg, ap)
    va_end(ap);
    return execvp(p, argv);
}
EXPORT int execle(const char *p, const char *arg, ...) {
    va_list ap;
    GATHER_ARGV(argv, arg, ap)
    char *const *env = va_arg(ap, char *const *);
    va_end(ap);
    return execve(p, argv, env);
}

EXPORT void _exit(int status) {
    ensure();
    goodbye();
    real.exit_(status);
    __builtin_unreachable();
}
EXPORT void _Exit(int status) { _exit(status); }
