/*
 * W3 fan-in, raw epoll: every read end registered level-triggered with
 * EPOLLIN, one read(2) per ready fd per epoll_wait (1024 events at most, as
 * libuv), EOF removes and closes the fd.
 *
 * usage: w3_raw [PIPES|max [ROUNDS [WRITERS]]]   (defaults max 100 1)
 */
#include "common.h"
#include "w3.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#define MAX_EVENTS 1024

int main(int argc, char **argv)
{
    struct w3_args args = w3_parse_args(argc, argv);
    int *fds = w3_start(&args);
    struct epoll_event events[MAX_EVENTS];
    unsigned char *buf = malloc(BENCH_READ_SIZE);
    size_t open_fds = args.pipes, eofs = 0;
    int epfd = epoll_create1(EPOLL_CLOEXEC);

    if (epfd < 0)
        bench_fail_errno("epoll_create1", -errno);
    if (buf == NULL)
        bench_fail("out of memory");
    for (size_t i = 0; i < args.pipes; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = i};
        bench_set_nonblocking(fds[i], 1);
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fds[i], &ev) < 0)
            bench_fail_errno("epoll_ctl", -errno);
    }

    w3_begin();
    while (open_fds > 0) {
        int n = epoll_wait(epfd, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            bench_fail_errno("epoll_wait", -errno);
        }
        for (int k = 0; k < n; k++) {
            size_t i = (size_t)events[k].data.u64;
            ssize_t r = read(fds[i], buf, BENCH_READ_SIZE);
            if (r > 0) {
                w3_received(i, buf, (size_t)r);
            } else if (r == 0) {
                if (epoll_ctl(epfd, EPOLL_CTL_DEL, fds[i], NULL) < 0)
                    bench_fail_errno("epoll_ctl", -errno);
                close(fds[i]);
                open_fds--;
                eofs++;
            } else if (errno != EAGAIN && errno != EINTR) {
                bench_fail_errno("read", -errno);
            }
        }
    }
    close(epfd);
    free(buf);
    w3_finish("raw", eofs);
    return 0;
}
