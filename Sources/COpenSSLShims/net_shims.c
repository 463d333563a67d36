// LegateNet's OpenSSL shims: one prefixed function per OpenSSL macro Swift cannot import.
#include "COpenSSLShims.h"

EVP_PKEY *legate_EVP_EC_gen(const char *curve) {
    return EVP_EC_gen(curve);
}

void legate_BIO_set_retry_read(BIO *bio) {
    BIO_set_retry_read(bio);
}

void legate_BIO_set_retry_write(BIO *bio) {
    BIO_set_retry_write(bio);
}

void legate_BIO_clear_retry_flags(BIO *bio) {
    BIO_clear_retry_flags(bio);
}

long legate_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_session_cache_mode(ctx, mode);
}

int legate_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}

void legate_X509V3_set_ctx_nodb(X509V3_CTX *ctx) {
    X509V3_set_ctx_nodb(ctx);
}

long legate_SSL_CTX_set_tlsext_ticket_keys(SSL_CTX *ctx, unsigned char *keys, size_t length) {
    return SSL_CTX_set_tlsext_ticket_keys(ctx, keys, (long)length);
}
