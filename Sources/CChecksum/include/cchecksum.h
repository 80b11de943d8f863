// Checksums for verify, from maintained libraries: crc32c from ISA-L (its SSE4.2/PCLMUL
// code), xxh3 from libxxhash, md5/sha1/sha256 from OpenSSL's libcrypto (SHA-NI where the
// CPU has it). Plain prefixed functions; the libraries' headers stay in the .c file.
#ifndef CCHECKSUM_H
#define CCHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli) of `len` bytes, continuing from `crc` (0 to start): the usual
/// iSCSI/ext4 value (initial ~0, final ~0), so crc32c("123456789") = 0xE3069283.
uint32_t cck_crc32c(const void *p, size_t len, uint32_t crc);
/// XXH3 64-bit of `len` bytes (seed 0).
uint64_t cck_xxh3(const void *p, size_t len);
/// MD5 (16 bytes), SHA-1 (20 bytes), SHA-256 (32 bytes) of `len` bytes into `out`.
void cck_md5(const void *p, size_t len, uint8_t *out);
void cck_sha1(const void *p, size_t len, uint8_t *out);
void cck_sha256(const void *p, size_t len, uint8_t *out);

#endif
