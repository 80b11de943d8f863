#define _GNU_SOURCE
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

int cfio_syncfs(int fd) {
    if (syncfs(fd) != 0) return -errno;
    return 0;
}
