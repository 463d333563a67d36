#ifndef LEGATE_COPENSSL_SHIMS_H
#define LEGATE_COPENSSL_SHIMS_H
// One prefixed function per OpenSSL macro that Swift cannot import; system calls are in CLegateNetShims.
#include <openssl/ssl.h>
#include <openssl/evp.h>
#include <openssl/bio.h>
#include <openssl/x509v3.h>

/// SSL_CTX_set_min_proto_version, a macro in OpenSSL 3.
int legate_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version);
/// SSL_CTX_set_mode, a macro.
long legate_SSL_CTX_set_mode(SSL_CTX *ctx, long mode);
/// SSL_set_tlsext_host_name, a macro.
int legate_SSL_set_tlsext_host_name(SSL *ssl, const char *name);

// MARK: - LegateAuth shims (auth_shims.c): HMAC-SHA256 with precomputed pad states, owned by LegateAuth.
#include <stddef.h>
#include <stdint.h>

/// Bytes needed for one precomputed HMAC-SHA256 key state (inner and outer SHA-256 contexts).
size_t legate_hmac_sha256_state_size(void);
/// Fills `state` with the SHA-256 contexts after absorbing key^ipad and key^opad (RFC 2104).
void legate_hmac_sha256_prepare(void *state, const uint8_t *key, size_t key_length);
/// HMAC-SHA256 of `message` under a prepared `state` (not modified); writes 32 bytes to `out`.
void legate_hmac_sha256(const void *state, const uint8_t *message, size_t length, uint8_t *out);
/// SHA-256 of `message`; writes 32 bytes to `out`.
void legate_sha256(const uint8_t *message, size_t length, uint8_t *out);
#include <string.h>
/// memcmp for LegateAuth, which may not import Glibc (a pure module).
static inline int legate_memcmp(const void *a, const void *b, size_t count) { return memcmp(a, b, count); }
/// memchr for LegateAuth, which may not import Glibc.
static inline const void *legate_memchr(const void *p, int c, size_t count) { return memchr(p, c, count); }
// MARK: - end of LegateAuth shims

// MARK: - LegateNet shims (net_shims.c): OpenSSL macros LegateNet needs (system calls: CLegateNetShims)
/// EVP_EC_gen, a variadic macro: a fresh EC key on the named curve ("prime256v1"), NULL on failure.
EVP_PKEY *legate_EVP_EC_gen(const char *curve);
/// BIO_set_retry_read, a macro: marks the BIO as "no data yet, retry".
void legate_BIO_set_retry_read(BIO *bio);
/// BIO_set_retry_write, a macro.
void legate_BIO_set_retry_write(BIO *bio);
/// BIO_clear_retry_flags, a macro.
void legate_BIO_clear_retry_flags(BIO *bio);
/// SSL_CTX_set_session_cache_mode, a macro.
long legate_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode);
/// SSL_CTX_set_max_proto_version, a macro.
int legate_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version);
/// X509V3_set_ctx_nodb, a macro.
void legate_X509V3_set_ctx_nodb(X509V3_CTX *ctx);
/// SSL_CTX_set_tlsext_ticket_keys, a macro: installs 80 bytes of session-ticket keys; 1 on success.
long legate_SSL_CTX_set_tlsext_ticket_keys(SSL_CTX *ctx, unsigned char *keys, size_t length);
// MARK: - end of LegateNet shims
#endif
