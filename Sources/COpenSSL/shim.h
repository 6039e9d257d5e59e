#ifndef PARLEY_COPENSSL_SHIM_H
#define PARLEY_COPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/bn.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/err.h>
#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/bio.h>
#include <openssl/rand.h>

/* Macros Swift cannot import, wrapped as functions. */
static inline void parley_openssl_free(void *p) { OPENSSL_free(p); }
static inline EVP_PKEY *parley_evp_ec_keygen(const char *curve) {
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
}
static inline long parley_bio_get_mem_data(BIO *b, char **pp) { return BIO_get_mem_data(b, pp); }

/* Builds a public-only EC EVP_PKEY from a named group ("prime256v1") and an uncompressed point
 * (0x04 || x || y). Returns NULL on any failure; the caller frees the key with EVP_PKEY_free. */
static inline EVP_PKEY *parley_evp_pkey_from_ec_point(const char *group,
                                                      const unsigned char *point, size_t len) {
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    if (bld == NULL) return NULL;
    if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0)) goto done;
    if (!OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, len)) goto done;
    params = OSSL_PARAM_BLD_to_param(bld);
    if (params == NULL) goto done;
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx == NULL) goto done;
    if (EVP_PKEY_fromdata_init(ctx) <= 0) goto done;
    if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) pkey = NULL;
done:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

/* Constants behind macros with casts or operators. */
static inline int parley_mbstring_asc(void) { return MBSTRING_ASC; }
static inline unsigned long parley_x509_v_flag_x509_strict(void) { return X509_V_FLAG_X509_STRICT; }
static inline unsigned long parley_x509_v_flag_use_check_time(void) { return X509_V_FLAG_USE_CHECK_TIME; }
static inline int parley_evp_pkey_ec(void) { return EVP_PKEY_EC; }
#endif
