#ifndef PARLEY_CSECCOMP_SHIM_H
#define PARLEY_CSECCOMP_SHIM_H
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sched.h>
#include <errno.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <linux/sched.h> /* CLONE_* without _GNU_SOURCE */
#include "privileges.h"
#include "memory.h"

/* SCMP_ACT_* are macros (one of them function-like); Swift cannot import them. */
static inline uint32_t parley_scmp_act_errno(uint16_t e) { return SCMP_ACT_ERRNO(e); }
static inline uint32_t parley_scmp_act_allow(void) { return SCMP_ACT_ALLOW; }
static inline uint32_t parley_scmp_act_kill_process(void) { return SCMP_ACT_KILL_PROCESS; }

/* prctl(2) is variadic; Swift cannot call C variadic functions. Each returns -1 and sets errno on failure. */
static inline int parley_prctl_set_no_new_privs(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L); }
static inline int parley_prctl_get_no_new_privs(void) { return prctl(PR_GET_NO_NEW_PRIVS, 0L, 0L, 0L, 0L); }
static inline int parley_prctl_set_dumpable(int value) { return prctl(PR_SET_DUMPABLE, (unsigned long)value, 0L, 0L, 0L); }
static inline int parley_prctl_get_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0L, 0L, 0L, 0L); }
static inline int parley_prctl_get_seccomp(void) { return prctl(PR_GET_SECCOMP, 0L, 0L, 0L, 0L); }

/* unshare(2) is declared only under _GNU_SOURCE, which Swift's Glibc module is not built with. */
static inline int parley_unshare(int flags) { return (int)syscall(SYS_unshare, flags); }
static inline int parley_setns(int fd, int nstype) { return (int)syscall(SYS_setns, fd, nstype); }

/* ptrace(2) is variadic. Used by the probe to check that tracing is denied. */
static inline long parley_ptrace_traceme(void) { return ptrace(PTRACE_TRACEME, 0, NULL, NULL); }
static inline long parley_ptrace_attach(pid_t pid) { return ptrace(PTRACE_ATTACH, pid, NULL, NULL); }

/* syscall(2) is variadic. Raw calls the probe makes to check the filter's decisions. */
static inline long parley_sys_clone3_null(void) { return syscall(SYS_clone3, NULL, (size_t)0); }
static inline long parley_sys_bpf_null(void) { return syscall(SYS_bpf, 0, NULL, 0); }
#endif
