// The one-shot MD5/SHA functions are deprecated in OpenSSL 3 in favour of EVP; they are
// still there, and for 512-byte sectors EVP's per-call context set-up would cost more than
// the hash itself.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "cchecksum.h"
#include <isa-l/crc.h>
#include <openssl/md5.h>
#include <openssl/sha.h>
#include <xxhash.h>

uint32_t cck_crc32c(const void *p, size_t len, uint32_t crc) {
    // ISA-L's crc32_iscsi takes and returns the raw register: invert in and out.
    uint32_t r = ~crc;
    while (len > 0) {
        int n = len > (1u << 30) ? (1 << 30) : (int)len;
        r = crc32_iscsi((unsigned char *)p, n, r);
        p = (const unsigned char *)p + n;
        len -= (size_t)n;
    }
    return ~r;
}

uint64_t cck_xxh3(const void *p, size_t len) { return XXH3_64bits(p, len); }

void cck_md5(const void *p, size_t len, uint8_t *out) { MD5((const unsigned char *)p, len, out); }
void cck_sha1(const void *p, size_t len, uint8_t *out) { SHA1((const unsigned char *)p, len, out); }
void cck_sha256(const void *p, size_t len, uint8_t *out) { SHA256((const unsigned char *)p, len, out); }
