#ifndef LEGATE_COPENSSL_SHIMS_H
#define LEGATE_COPENSSL_SHIMS_H
// One prefixed function per OpenSSL macro that Swift cannot import (STYLE.md §1).
#include <openssl/ssl.h>

/// SSL_CTX_set_min_proto_version, a macro in OpenSSL 3.
int legate_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version);
/// SSL_CTX_set_mode, a macro.
long legate_SSL_CTX_set_mode(SSL_CTX *ctx, long mode);
/// SSL_set_tlsext_host_name, a macro.
int legate_SSL_set_tlsext_host_name(SSL *ssl, const char *name);
#endif
