#ifndef LEGATE_BENCH_SHIMS_H
#define LEGATE_BENCH_SHIMS_H
// The JWT benchmark's reference measurements in C; not part of any product module.
#include <stddef.h>
#include <stdint.h>

/// OpenSSL's HMAC() API with one HMAC_CTX keyed once and reused `iterations` times over `message`; the last
/// 32-byte MAC goes to `out`. Returns 1 on success.
int legate_bench_hmac_reused(const uint8_t *key, size_t key_length, const uint8_t *message, size_t length,
                             long iterations, uint8_t *out);
#endif
