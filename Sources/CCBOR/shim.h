#ifndef PARLEY_CCBOR_SHIM_H
#define PARLEY_CCBOR_SHIM_H
#include <cbor.h>
#endif
