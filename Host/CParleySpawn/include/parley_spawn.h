#ifndef PARLEY_SPAWN_H
#define PARLEY_SPAWN_H
#include <stddef.h>
#include <sys/types.h>

/* Copies an executable image into a sealed memfd, so that what is measured is exactly what runs:
 * after this returns the image can no longer change. Returns the fd, or -1 with errno set. */
int parley_sealed_image(const unsigned char *image, size_t length);

/* Forks and executes the sealed image with fexecve. In the child, `channel_fd` becomes fd 3,
 * every other descriptor above 2 is closed, and 0, 1 and 2 are /dev/null. Only async-signal-safe calls
 * run between fork and exec. Returns the child's pid, or -1 with errno set. */
pid_t parley_spawn_image(int image_fd, int channel_fd, char *const argv[], char *const envp[]);

/* Waits for child `pid` to exit, for at most `grace_ms` milliseconds, without polling: the wait
 * blocks in poll(2) on a pidfd. At the deadline the child is sent SIGKILL and reaped. Stores the
 * wait status in `status`. Returns 1 if it exited by itself, 0 if it had to be killed, -1 with
 * errno set if it cannot be waited for. */
int parley_reap(pid_t pid, int grace_ms, int *status);

#endif
