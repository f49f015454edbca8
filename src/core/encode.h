/*
 * encode.h
 *		Exact fixed-point encodings of integers and decimals into GF(2^127-1).
 *
 * A signed integer v is encoded as v mod p.  Individual member values are
 * limited to |v| <= SMPC_ENC_MAX_ABS = 2^119 - 1 so that the sum of up to 64
 * members (64 * 2^119 = 2^125 < (p-1)/2) never wraps around the field and
 * still decodes to the exact signed result.  Decoding is signed over the whole
 * field: [0, (p-1)/2] is non-negative, the upper half is negative; decoders
 * do not enforce SMPC_ENC_MAX_ABS because aggregates may legitimately exceed
 * it.
 *
 * Decimals of a fixed scale s are encoded as the integer value * 10^s, which
 * is exact: input with more fraction digits than s is accepted only when the
 * surplus digits are zero.  Nothing here rounds.
 */
#ifndef SMPC_ENCODE_H
#define SMPC_ENCODE_H

#include <stdint.h>
#include <stddef.h>

#include "field.h"

/* largest magnitude of one encoded member value: 2^119 - 1 */
#define SMPC_ENC_MAX_ABS ((((smpc_i128) 1) << 119) - 1)

/* largest supported decimal scale */
#define SMPC_ENC_MAX_SCALE 30

/*
 * Buffer sizes.  smpc_i128_to_text needs at most a sign, 39 digits and NUL
 * (41).  smpc_format_decimal / smpc_decode_decimal need at most 42 for any
 * smpc_i128 at any scale <= SMPC_ENC_MAX_SCALE: a sign, 39 digits, '.' and
 * NUL, or "-0." plus 30 digits plus NUL when the value has no integer digits.
 */
#define SMPC_I128_TEXT_BUFLEN 41
#define SMPC_DECIMAL_BUFLEN 64

/* Encode an int64 (always in range).  SMPC_ERR_ARG if out is NULL. */
extern int	smpc_encode_int64(int64_t v, smpc_fe *out);

/* Encode an i128; SMPC_ERR_OVERFLOW if |v| > SMPC_ENC_MAX_ABS. */
extern int	smpc_encode_i128(smpc_i128 v, smpc_fe *out);

/* Signed decode; SMPC_ERR_RANGE if a is not canonical. */
extern int	smpc_decode_i128(smpc_fe a, smpc_i128 *out);

/* Signed decode; SMPC_ERR_OVERFLOW if the value is outside int64. */
extern int	smpc_decode_int64(smpc_fe a, int64_t *out);

/*
 * Parse decimal text into the exact integer value * 10^scale.
 * Syntax: optional '+' or '-', then digits with at most one '.', at least
 * one digit in total ("12", "-0.50", "1.", ".5").  No whitespace, no
 * exponent.  Errors: SMPC_ERR_ARG (NULL pointer or scale outside
 * 0..SMPC_ENC_MAX_SCALE), SMPC_ERR_SYNTAX (malformed), SMPC_ERR_RANGE (NaN,
 * Infinity, or nonzero fraction digits beyond scale), SMPC_ERR_OVERFLOW
 * (|result| > SMPC_ENC_MAX_ABS).  Syntax is checked before range and
 * overflow.  *out is untouched on error.
 */
extern int	smpc_parse_decimal(const char *text, int scale, smpc_i128 *out);

/* smpc_parse_decimal followed by encoding; same errors. */
extern int	smpc_encode_decimal(const char *text, int scale, smpc_fe *out);

/*
 * Format the scaled integer v as decimal text with exactly `scale` fraction
 * digits ("-12.340" for v = -12340, scale 3; "0.05"; no '.' when scale is
 * 0).  SMPC_ERR_ARG for a NULL buffer, a scale outside 0..SMPC_ENC_MAX_SCALE
 * or a buffer too small for the result including NUL (SMPC_DECIMAL_BUFLEN
 * always suffices).
 */
extern int	smpc_format_decimal(smpc_i128 v, int scale, char *buf, size_t buflen);

/*
 * Signed decode of a followed by smpc_format_decimal; SMPC_ERR_RANGE if a is
 * not canonical, otherwise the errors of smpc_format_decimal.
 */
extern int	smpc_decode_decimal(smpc_fe a, int scale, char *buf, size_t buflen);

/*
 * Decimal text of any smpc_i128 (INT128_MIN included).  SMPC_ERR_ARG if buf
 * is NULL or buflen is too small (SMPC_I128_TEXT_BUFLEN always suffices).
 */
extern int	smpc_i128_to_text(smpc_i128 v, char *buf, size_t buflen);

#endif
