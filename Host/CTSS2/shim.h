#ifndef PARLEY_CTSS2_SHIM_H
#define PARLEY_CTSS2_SHIM_H
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>

/* Constants defined by macros Swift cannot import (casts inside). */
static inline uint32_t parley_tpm2_generated_value(void) { return TPM2_GENERATED_VALUE; }
static inline uint16_t parley_tpm2_st_attest_quote(void) { return TPM2_ST_ATTEST_QUOTE; }
static inline uint32_t parley_tpm2_rc_success(void) { return TPM2_RC_SUCCESS; }
static inline ESYS_TR parley_esys_tr_none(void) { return ESYS_TR_NONE; }
static inline ESYS_TR parley_esys_tr_password(void) { return ESYS_TR_PASSWORD; }
static inline ESYS_TR parley_esys_tr_rh_owner(void) { return ESYS_TR_RH_OWNER; }
static inline ESYS_TR parley_esys_tr_rh_endorsement(void) { return ESYS_TR_RH_ENDORSEMENT; }
static inline ESYS_TR parley_esys_tr_pcr(uint32_t index) { return ESYS_TR_PCR0 + index; }
#endif
