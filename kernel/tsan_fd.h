/* Closing a socket handle so that ThreadSanitizer sees the close.
 *
 * libuv (Debian's build) closes descriptors with syscall(SYS_close),
 * which TSan does not intercept: when another thread later gets the same
 * descriptor number (open, mkostemp, accept), TSan takes its use for a
 * race with libuv's earlier epoll_ctl/read on the old socket. Under TSan
 * the kernel reports the close itself, through the sanitizer's syscall
 * hooks, around uv_close (which closes a stream's descriptor at once). */
#ifndef TERN_TSAN_FD_H
#define TERN_TSAN_FD_H

#include <uv.h>

#if defined(__SANITIZE_THREAD__)
void __sanitizer_syscall_pre_impl_close(long fd);
void __sanitizer_syscall_post_impl_close(long res, long fd);

static inline void tern_uv_close_stream(uv_handle_t *h, uv_close_cb cb)
{
    uv_os_fd_t fd = -1;
    if (uv_fileno(h, &fd) != 0 || fd < 0) {
        uv_close(h, cb);
        return;
    }
    __sanitizer_syscall_pre_impl_close(fd);
    uv_close(h, cb);
    __sanitizer_syscall_post_impl_close(0, fd);
}
#else
static inline void tern_uv_close_stream(uv_handle_t *h, uv_close_cb cb)
{
    uv_close(h, cb);
}
#endif

#endif
