#ifndef PARLEY_CSECCOMP_PRIVILEGES_H
#define PARLEY_CSECCOMP_PRIVILEGES_H
/* The worker's privilege drop (identity, capabilities, descriptors) and its Landlock ruleset.
 * glibc 2.36 has no wrappers for capget/capset (libcap's) or the Landlock calls, and declares
 * setresuid/setgroups only under _GNU_SOURCE/_DEFAULT_SOURCE, which Swift's Glibc module may lack:
 * each is a thin static inline over syscall(2) or the glibc symbol. Each returns -1 and sets errno
 * on failure, like the call it wraps. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>
#include <linux/capability.h>

/* ---- identity: glibc's wrappers, which apply the change to every thread (setxid broadcast) ---- */
extern int setresuid(uid_t ruid, uid_t euid, uid_t suid);
extern int setresgid(gid_t rgid, gid_t egid, gid_t sgid);
extern int getresuid(uid_t *ruid, uid_t *euid, uid_t *suid);
extern int getresgid(gid_t *rgid, gid_t *egid, gid_t *sgid);
extern int setgroups(size_t size, const gid_t *list);

static inline int parley_set_identity(uid_t uid, gid_t gid) {
    if (setgroups(0, NULL) != 0) return -1;
    if (setresgid(gid, gid, gid) != 0) return -1;
    return setresuid(uid, uid, uid);
}

/* 1 when real, effective and saved ids are all `uid` / `gid`, and there are no supplementary groups. */
static inline int parley_identity_is(uid_t uid, gid_t gid) {
    uid_t r, e, s; gid_t rg, eg, sg;
    if (getresuid(&r, &e, &s) != 0 || getresgid(&rg, &eg, &sg) != 0) return 0;
    if (r != uid || e != uid || s != uid || rg != gid || eg != gid || sg != gid) return 0;
    return getgroups(0, NULL) == 0;
}

/* ---- capabilities ---- */
/* Drops every capability up to the kernel's last from the bounding set. Returns the number of
 * capabilities dropped (the last valid number + 1), or -1 with errno of the first refusal. */
static inline int parley_drop_bounding_set(void) {
    int cap = 0;
    for (; cap < 64; cap++) {
        if (prctl(PR_CAPBSET_READ, (unsigned long)cap, 0L, 0L, 0L) < 0) {
            if (errno == EINVAL) break; /* past CAP_LAST_CAP */
            return -1;
        }
        if (prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0L, 0L, 0L) != 0) return -1;
    }
    return cap;
}

/* How many capabilities are still in the bounding set (0 after a full drop), or -1. */
static inline int parley_bounding_set_count(void) {
    int n = 0;
    for (int cap = 0; cap < 64; cap++) {
        int r = prctl(PR_CAPBSET_READ, (unsigned long)cap, 0L, 0L, 0L);
        if (r < 0) { if (errno == EINVAL) break; return -1; }
        n += r;
    }
    return n;
}

static inline int parley_clear_ambient(void) {
    return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0L, 0L, 0L);
}

/* How many capabilities are in the ambient set, or -1. */
static inline int parley_ambient_count(void) {
    int n = 0;
    for (int cap = 0; cap < 64; cap++) {
        int r = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, (unsigned long)cap, 0L, 0L);
        if (r < 0) { if (errno == EINVAL) break; return -1; }
        n += r;
    }
    return n;
}

/* Empties the effective, permitted and inheritable sets of the calling thread. */
static inline int parley_clear_capabilities(void) {
    struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2] = { { 0, 0, 0 }, { 0, 0, 0 } };
    return (int)syscall(SYS_capset, &header, data);
}

/* Reads the three sets: each out value is the 64-bit set (low word | high word << 32). */
static inline int parley_read_capabilities(uint64_t *effective, uint64_t *permitted, uint64_t *inheritable) {
    struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2] = { { 0, 0, 0 }, { 0, 0, 0 } };
    if (syscall(SYS_capget, &header, data) != 0) return -1;
    *effective = (uint64_t)data[0].effective | ((uint64_t)data[1].effective << 32);
    *permitted = (uint64_t)data[0].permitted | ((uint64_t)data[1].permitted << 32);
    *inheritable = (uint64_t)data[0].inheritable | ((uint64_t)data[1].inheritable << 32);
    return 0;
}

/* ---- descriptors ---- */
/* Puts /dev/null on 0, 1 and 2 (read-write: reads see end of file, writes vanish). */
static inline int parley_null_standard_streams(void) {
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0) return -1;
    for (int target = 0; target <= 2; target++) {
        if (fd == target) continue;
        if (dup2(fd, target) < 0) { int e = errno; close(fd); errno = e; return -1; }
    }
    if (fd > 2) close(fd);
    else { int flags = fcntl(fd, F_GETFD); if (flags >= 0) fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC); }
    return 0;
}

/* close_range(first, last, 0). */
static inline int parley_close_range(unsigned int first, unsigned int last) {
    if (first > last) return 0;
    return (int)syscall(SYS_close_range, first, last, 0U);
}

/* ---- Landlock (linux/landlock.h of the build host may predate ABI 4-7: numbers spelled here) ---- */
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif
#define PARLEY_LANDLOCK_CREATE_RULESET_VERSION (1U << 0)

struct parley_landlock_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;
    uint64_t scoped;
};

/* The kernel's Landlock ABI version (1 and up), or -1 (ENOSYS: not built in; EOPNOTSUPP: disabled). */
static inline int parley_landlock_abi(void) {
    return (int)syscall(SYS_landlock_create_ruleset, NULL, (size_t)0, PARLEY_LANDLOCK_CREATE_RULESET_VERSION);
}

/* Every file system right the ABI knows: EXECUTE .. MAKE_SYM (ABI 1), REFER (2), TRUNCATE (3),
 * IOCTL_DEV (5). */
static inline uint64_t parley_landlock_fs_rights(int abi) {
    if (abi >= 5) return (1ULL << 16) - 1;
    if (abi >= 3) return (1ULL << 15) - 1;
    if (abi >= 2) return (1ULL << 14) - 1;
    return (1ULL << 13) - 1;
}
/* BIND_TCP and CONNECT_TCP (ABI 4). */
static inline uint64_t parley_landlock_net_rights(int abi) { return abi >= 4 ? 3ULL : 0ULL; }
/* ABSTRACT_UNIX_SOCKET and SIGNAL scoping (ABI 6). */
static inline uint64_t parley_landlock_scopes(int abi) { return abi >= 6 ? 3ULL : 0ULL; }

/* Restricts the calling process (all threads get it only if it is single-threaded; call before
 * starting any) to a ruleset that handles every right of `abi` and allows none: no file can be
 * opened, created, executed, truncated or linked, no TCP port bound or connected, no abstract
 * unix socket outside the domain reached and no signal sent outside it. Needs no_new_privs or
 * CAP_SYS_ADMIN. */
static inline int parley_landlock_deny_all(int abi) {
    struct parley_landlock_ruleset_attr attr = {
        parley_landlock_fs_rights(abi), parley_landlock_net_rights(abi), parley_landlock_scopes(abi)
    };
    int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0U);
    if (ruleset < 0) return -1;
    int result = (int)syscall(SYS_landlock_restrict_self, ruleset, 0U);
    int e = errno;
    close(ruleset);
    errno = e;
    return result;
}
#endif
