#ifndef LEGATE_COPENSSL_SHIMS_H
#define LEGATE_COPENSSL_SHIMS_H
// One prefixed function per OpenSSL macro that Swift cannot import (STYLE.md §1).
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
// MARK: - LegateNet shims (Sources/COpenSSLShims/net_shims.c; owned by LegateNet)
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
// MARK: - end of LegateNet shims
#endif
