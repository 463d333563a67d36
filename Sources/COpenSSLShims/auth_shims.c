// LegateAuth shims: HMAC-SHA256 from precomputed inner/outer SHA-256 states (RFC 2104). The low-level
// SHA256_* API is deprecated in OpenSSL 3 but is the fastest way to copy a midstate; it is confined here.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "COpenSSLShims.h"
#include <openssl/sha.h>
#include <string.h>

typedef struct {
    SHA256_CTX inner;
    SHA256_CTX outer;
} legate_hmac_state;

size_t legate_hmac_sha256_state_size(void) { return sizeof(legate_hmac_state); }

void legate_hmac_sha256_prepare(void *state, const uint8_t *key, size_t key_length) {
    legate_hmac_state *s = (legate_hmac_state *)state;
    uint8_t block[64];
    uint8_t pad[64];
    memset(block, 0, sizeof block);
    if (key_length > 64) {
        SHA256(key, key_length, block);
    } else if (key_length > 0) {
        memcpy(block, key, key_length);
    }
    for (int i = 0; i < 64; i++) pad[i] = block[i] ^ 0x36;
    SHA256_Init(&s->inner);
    SHA256_Update(&s->inner, pad, 64);
    for (int i = 0; i < 64; i++) pad[i] = block[i] ^ 0x5c;
    SHA256_Init(&s->outer);
    SHA256_Update(&s->outer, pad, 64);
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(pad, sizeof pad);
}

void legate_hmac_sha256(const void *state, const uint8_t *message, size_t length, uint8_t *out) {
    const legate_hmac_state *s = (const legate_hmac_state *)state;
    SHA256_CTX ctx = s->inner;
    uint8_t inner_digest[32];
    SHA256_Update(&ctx, message, length);
    SHA256_Final(inner_digest, &ctx);
    ctx = s->outer;
    SHA256_Update(&ctx, inner_digest, 32);
    SHA256_Final(out, &ctx);
}

void legate_sha256(const uint8_t *message, size_t length, uint8_t *out) { SHA256(message, length, out); }
