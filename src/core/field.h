/*
 * field.h
 *		Arithmetic in the prime field GF(p), p = 2^127 - 1.
 *
 * An element is an unsigned 128-bit integer in canonical form [0, p).
 * Every function takes and returns canonical elements.  Signed integers are
 * embedded as x mod p; decoding maps [0, (p-1)/2] to itself and the upper
 * half to negatives.
 */
#ifndef SMPC_FIELD_H
#define SMPC_FIELD_H

#include <stdint.h>
#include <stddef.h>

#include "status.h"

/*
 * 128-bit integers with 8-byte alignment: PostgreSQL's palloc (and so the
 * glue's smpc_malloc) aligns to 8 bytes only, and the compiler must not
 * assume more when it loads or stores these from allocated arrays.
 */
typedef unsigned __int128 smpc_fe __attribute__((aligned(8)));
typedef __int128 smpc_i128 __attribute__((aligned(8)));

#define SMPC_FE_BYTES 16
/* p = 2^127 - 1 */
#define SMPC_FIELD_P ((((smpc_fe) 1) << 127) - 1)
/* largest magnitude of a signed value embedded in the field: (p-1)/2 */
#define SMPC_FIELD_HALF (SMPC_FIELD_P >> 1)

extern smpc_fe smpc_fe_add(smpc_fe a, smpc_fe b);
extern smpc_fe smpc_fe_sub(smpc_fe a, smpc_fe b);
extern smpc_fe smpc_fe_neg(smpc_fe a);
extern smpc_fe smpc_fe_mul(smpc_fe a, smpc_fe b);
extern smpc_fe smpc_fe_pow(smpc_fe a, smpc_fe e);
/* Multiplicative inverse; SMPC_ERR_RANGE for a == 0. */
extern int	smpc_fe_inv(smpc_fe a, smpc_fe *out);
/* Uniformly random element (rejection sampling over 127-bit strings). */
extern smpc_fe smpc_fe_random(void);
/* n random elements at out (one draw from libsodium). */
extern void smpc_fe_random_fill(smpc_fe *out, size_t n);

/* Signed embedding; SMPC_ERR_OVERFLOW if |v| > (p-1)/2. */
extern int	smpc_fe_from_i128(smpc_i128 v, smpc_fe *out);
extern smpc_i128 smpc_fe_to_i128(smpc_fe a);

/* 16-byte little-endian wire form; decoding rejects values >= p. */
extern void smpc_fe_to_bytes(smpc_fe a, uint8_t out[SMPC_FE_BYTES]);
extern int	smpc_fe_from_bytes(const uint8_t in[SMPC_FE_BYTES], smpc_fe *out);

#endif
