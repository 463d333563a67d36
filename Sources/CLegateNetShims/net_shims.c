// LegateNet's system-call shims: epoll and accept4, which Swift's Glibc module does not export here.
#define _GNU_SOURCE
#include "CLegateNetShims.h"
#include <sys/epoll.h>
#include <sys/socket.h>

_Static_assert(LEGATE_EPOLL_CTL_ADD == EPOLL_CTL_ADD, "EPOLL_CTL_ADD differs from <sys/epoll.h>");
_Static_assert(LEGATE_EPOLL_CTL_DEL == EPOLL_CTL_DEL, "EPOLL_CTL_DEL differs from <sys/epoll.h>");
_Static_assert(LEGATE_EPOLL_CTL_MOD == EPOLL_CTL_MOD, "EPOLL_CTL_MOD differs from <sys/epoll.h>");
_Static_assert(LEGATE_EPOLLIN == EPOLLIN, "EPOLLIN differs from <sys/epoll.h>");
_Static_assert(LEGATE_EPOLLOUT == EPOLLOUT, "EPOLLOUT differs from <sys/epoll.h>");
_Static_assert(LEGATE_EPOLLERR == EPOLLERR, "EPOLLERR differs from <sys/epoll.h>");
_Static_assert(LEGATE_EPOLLHUP == EPOLLHUP, "EPOLLHUP differs from <sys/epoll.h>");
_Static_assert(LEGATE_EPOLLRDHUP == EPOLLRDHUP, "EPOLLRDHUP differs from <sys/epoll.h>");

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
    struct epoll_event events[LEGATE_EPOLL_MAX_EVENTS];
    if (max > LEGATE_EPOLL_MAX_EVENTS) max = LEGATE_EPOLL_MAX_EVENTS;
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
