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

/// syncfs(fd); 0 or -errno.
int cfio_syncfs(int fd);

#endif
