#define _GNU_SOURCE
#include "parley_spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

int parley_sealed_image(const unsigned char *image, size_t length) {
    int fd = memfd_create("parley-enclave", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return -1;
    size_t off = 0;
    while (off < length) {
        ssize_t n = write(fd, image + off, length - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno; close(fd); errno = e; return -1;
        }
        off += (size_t)n;
    }
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
        int e = errno; close(fd); errno = e; return -1;
    }
    return fd;
}

pid_t parley_spawn_image(int image_fd, int channel_fd, char *const argv[], char *const envp[]) {
    pid_t pid = fork();
    if (pid != 0) return pid; /* parent, or -1 */
    /* Child: async-signal-safe calls only. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* Move both descriptors out of the way first: either may be 0 to 3, which are about to be
     * overwritten (the image in particular is often fd 3 in a process with few files open). */
    int img = fcntl(image_fd, F_DUPFD_CLOEXEC, 10);
    if (img < 0) _exit(127);
    int ch = fcntl(channel_fd, F_DUPFD_CLOEXEC, img + 1);
    if (ch < 0) _exit(127);
    /* 0, 1 and 2 on /dev/null: the host's own stdout and stderr (often its log file) must not be
     * a channel out of the sandbox. dup2 clears close-on-exec on each target. The worker checks
     * this again (and closes anything else) in its first lock-down step. */
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0) _exit(127);
    for (int target = 0; target <= 2; target++) {
        if (target == devnull) { /* dup2 onto itself would keep close-on-exec */
            if (fcntl(devnull, F_SETFD, 0) < 0) _exit(127);
        } else if (dup2(devnull, target) < 0) _exit(127);
    }
    if (dup2(ch, 3) < 0) _exit(127);    /* and on fd 3: the worker's channel */
    /* Close everything above 3 but the image (which exec closes itself). */
    for (int fd = 4; fd < img; fd++) close(fd);
    syscall(SYS_close_range, (unsigned)img + 1, ~0U, 0);
    fexecve(img, argv, envp);
    _exit(127);
}

int parley_reap(pid_t pid, int grace_ms, int *status) {
    int by_itself = 1;
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd >= 0) {
        struct pollfd p = { .fd = pidfd, .events = POLLIN, .revents = 0 };
        int r;
        do { r = poll(&p, 1, grace_ms); } while (r < 0 && errno == EINTR);
        close(pidfd);
        if (r == 0) { kill(pid, SIGKILL); by_itself = 0; }
    } else {
        /* No pidfd (a kernel before 5.3): fail closed, the worker is killed rather than waited on. */
        if (waitpid(pid, status, WNOHANG) == pid) return 1;
        kill(pid, SIGKILL);
        by_itself = 0;
    }
    pid_t w;
    do { w = waitpid(pid, status, 0); } while (w < 0 && errno == EINTR);
    return w == pid ? by_itself : -1;
}
