// LegateNet's shims: one prefixed function per OpenSSL macro Swift cannot import (STYLE.md §1).
#define _GNU_SOURCE
#include "COpenSSLShims.h"
#include <sys/epoll.h>
#include <sys/socket.h>

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

int legate_epoll_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

int legate_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event event;
    event.events = events;
    event.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &event);
}

int legate_epoll_wait(int epfd, legate_poll_event *out, int max, int timeout_ms) {
    struct epoll_event events[256];
    if (max > 256) max = 256;
    if (max < 1) max = 1;
    int count = epoll_wait(epfd, events, max, timeout_ms);
    for (int i = 0; i < count; i++) {
        out[i].events = events[i].events;
        out[i].data = events[i].data.u64;
    }
    return count;
}

int legate_accept4(int fd, void *address, uint32_t *length) {
    socklen_t size = (socklen_t)*length;
    int client = accept4(fd, (struct sockaddr *)address, &size, SOCK_NONBLOCK | SOCK_CLOEXEC);
    *length = (uint32_t)size;
    return client;
}

long legate_SSL_CTX_set_tlsext_ticket_keys(SSL_CTX *ctx, unsigned char *keys, size_t length) {
    return SSL_CTX_set_tlsext_ticket_keys(ctx, keys, (long)length);
}
