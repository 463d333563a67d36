#ifndef LEGATE_NET_SHIMS_H
#define LEGATE_NET_SHIMS_H
// epoll and accept4 for LegateNet: Swift's Glibc module does not export them here. Plain integer types keep C
// types out of Swift; the constants below are checked against the system headers when net_shims.c compiles.
#include <stdint.h>

/// epoll_ctl operation: add a registration (EPOLL_CTL_ADD).
#define LEGATE_EPOLL_CTL_ADD 1
/// epoll_ctl operation: remove a registration (EPOLL_CTL_DEL).
#define LEGATE_EPOLL_CTL_DEL 2
/// epoll_ctl operation: change a registration's events (EPOLL_CTL_MOD).
#define LEGATE_EPOLL_CTL_MOD 3

/// Readable (EPOLLIN).
#define LEGATE_EPOLLIN 0x001U
/// Writable (EPOLLOUT).
#define LEGATE_EPOLLOUT 0x004U
/// Error on the fd (EPOLLERR); always reported.
#define LEGATE_EPOLLERR 0x008U
/// Hang-up (EPOLLHUP); always reported.
#define LEGATE_EPOLLHUP 0x010U
/// The peer shut down writing (EPOLLRDHUP).
#define LEGATE_EPOLLRDHUP 0x2000U

/// The most events one legate_epoll_wait call returns.
#define LEGATE_EPOLL_MAX_EVENTS 256

/// One ready fd from legate_epoll_wait: the epoll events and the registration's 64-bit data.
typedef struct { uint32_t events; uint64_t data; } legate_poll_event;

/// epoll_create1(EPOLL_CLOEXEC); -1 with errno on failure.
int legate_epoll_create(void);
/// epoll_ctl with `op` one of LEGATE_EPOLL_CTL_*, level-triggered `events`, `data` as epoll_data.u64.
int legate_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
/// epoll_wait(epfd, ..., max clamped to 1...LEGATE_EPOLL_MAX_EVENTS, timeout_ms) copied into `out`; count, or -1
/// with errno.
int legate_epoll_wait(int epfd, legate_poll_event *out, int max, int timeout_ms);
/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC; `address` is a sockaddr_storage, `length` its socklen_t.
int legate_accept4(int fd, void *address, uint32_t *length);
#endif
