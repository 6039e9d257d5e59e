#ifndef PARLEY_CSECCOMP_SHIM_H
#define PARLEY_CSECCOMP_SHIM_H
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sched.h>

static inline uint32_t parley_scmp_act_errno(uint16_t e) { return SCMP_ACT_ERRNO(e); }
static inline uint32_t parley_scmp_act_allow(void) { return SCMP_ACT_ALLOW; }
static inline uint32_t parley_scmp_act_kill_process(void) { return SCMP_ACT_KILL_PROCESS; }
#endif
