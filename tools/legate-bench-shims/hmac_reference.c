// The bare OpenSSL HMAC cost the JWT validator is compared against (legate-bench).
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "CLegateBenchShims.h"
#include <openssl/evp.h>
#include <openssl/hmac.h>

int legate_bench_hmac_reused(const uint8_t *key, size_t key_length, const uint8_t *message, size_t length,
                             long iterations, uint8_t *out) {
    HMAC_CTX *ctx = HMAC_CTX_new();
    if (ctx == NULL) return 0;
    unsigned int out_length = 32;
    int ok = HMAC_Init_ex(ctx, key, (int)key_length, EVP_sha256(), NULL);
    for (long i = 0; ok && i < iterations; i++) {
        ok = HMAC_Init_ex(ctx, NULL, 0, NULL, NULL) && HMAC_Update(ctx, message, length) &&
             HMAC_Final(ctx, out, &out_length);
    }
    HMAC_CTX_free(ctx);
    return ok;
}
