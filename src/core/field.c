/*
 * field.c
 *		Arithmetic in the prime field GF(p), p = 2^127 - 1.
 *
 * Elements are unsigned 128-bit integers kept in canonical form [0, p).
 * Multiplication forms the full 256-bit product from 64-bit limbs and then
 * reduces it with the Mersenne identity 2^127 = 1 (mod p), so no division is
 * ever needed.  The routines are not written to be constant-time: the
 * reductions use data-dependent conditional subtractions and smpc_fe_pow
 * branches on the bits of its exponent.
 */
#include <sodium.h>

#include "field.h"

#define FE_MASK64 ((smpc_fe) UINT64_MAX)

/*
 * Fold a value s <= 2^128 - 2 into canonical form.
 *
 * s = hi * 2^127 + lo with hi in {0, 1}; since 2^127 = 1 (mod p) the sum
 * lo + hi is congruent to s and at most 2^127, so one conditional subtraction
 * of p finishes the job.
 */
static inline smpc_fe
fe_fold(smpc_fe s)
{
	smpc_fe		r = (s & SMPC_FIELD_P) + (s >> 127);

	if (r >= SMPC_FIELD_P)
		r -= SMPC_FIELD_P;
	return r;
}

/*
 * Sum of two canonical elements.  a + b < 2^128 - 2, so the 128-bit addition
 * cannot wrap.
 */
smpc_fe
smpc_fe_add(smpc_fe a, smpc_fe b)
{
	smpc_fe		s = a + b;

	if (s >= SMPC_FIELD_P)
		s -= SMPC_FIELD_P;
	return s;
}

/* Difference a - b of two canonical elements. */
smpc_fe
smpc_fe_sub(smpc_fe a, smpc_fe b)
{
	if (a >= b)
		return a - b;
	return a + (SMPC_FIELD_P - b);
}

/* Additive inverse of a canonical element; neg(0) = 0. */
smpc_fe
smpc_fe_neg(smpc_fe a)
{
	return a == 0 ? 0 : SMPC_FIELD_P - a;
}

/*
 * Product of two canonical elements.
 *
 * With a = a1*2^64 + a0 and b = b1*2^64 + b0 the full product is
 * a1b1*2^128 + (a1b0 + a0b1)*2^64 + a0b0.  We assemble it as hi*2^128 + lo
 * and then rewrite it as H*2^127 + L with L < 2^127; since both inputs are
 * below 2^127 the product is below 2^254, so H < 2^127 as well.  Because
 * 2^127 = 1 (mod p), H + L is congruent to the product and below 2^128.
 */
smpc_fe
smpc_fe_mul(smpc_fe a, smpc_fe b)
{
	uint64_t	a0 = (uint64_t) a,
				a1 = (uint64_t) (a >> 64);
	uint64_t	b0 = (uint64_t) b,
				b1 = (uint64_t) (b >> 64);
	smpc_fe		p00 = (smpc_fe) a0 * b0;
	smpc_fe		p01 = (smpc_fe) a0 * b1;
	smpc_fe		p10 = (smpc_fe) a1 * b0;
	smpc_fe		p11 = (smpc_fe) a1 * b1;
	smpc_fe		mid;
	smpc_fe		lo,
				hi;
	smpc_fe		H,
				L;

	/* at most 3 * (2^64 - 1): fits easily */
	mid = (p00 >> 64) + (p01 & FE_MASK64) + (p10 & FE_MASK64);
	lo = (mid << 64) | (p00 & FE_MASK64);
	hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);

	L = lo & SMPC_FIELD_P;
	H = (hi << 1) | (lo >> 127);
	return fe_fold(H + L);
}

/*
 * a raised to the power e (any 128-bit exponent), by left-to-right square and
 * multiply.  pow(0, 0) is 1 by convention.
 */
smpc_fe
smpc_fe_pow(smpc_fe a, smpc_fe e)
{
	smpc_fe		r = 1;

	for (int i = 127; i >= 0; i--)
	{
		r = smpc_fe_mul(r, r);
		if ((e >> i) & 1)
			r = smpc_fe_mul(r, a);
	}
	return r;
}

/*
 * Multiplicative inverse by Fermat's little theorem, a^(p-2).
 * Returns SMPC_ERR_RANGE (leaving *out untouched) when a is zero or not
 * canonical.
 */
int
smpc_fe_inv(smpc_fe a, smpc_fe *out)
{
	if (out == NULL)
		return SMPC_ERR_ARG;
	if (a == 0 || a >= SMPC_FIELD_P)
		return SMPC_ERR_RANGE;
	*out = smpc_fe_pow(a, SMPC_FIELD_P - 2);
	return SMPC_OK;
}

/*
 * Uniformly random canonical element.  Draws 16 bytes from libsodium, keeps
 * the low 127 bits and rejects the single out-of-range value p (probability
 * 2^-127, so the loop is a formality).  The caller must have run
 * sodium_init().
 */
smpc_fe
smpc_fe_random(void)
{
	uint8_t		buf[SMPC_FE_BYTES];
	smpc_fe		r;

	for (;;)
	{
		randombytes_buf(buf, sizeof(buf));
		r = 0;
		for (int i = SMPC_FE_BYTES - 1; i >= 0; i--)
			r = (r << 8) | buf[i];
		r &= SMPC_FIELD_P;
		if (r < SMPC_FIELD_P)
			break;
	}
	sodium_memzero(buf, sizeof(buf));
	return r;
}

/*
 * n uniformly random canonical elements, drawn from libsodium in one call
 * (as smpc_fe_random, without a system call per element).
 */
void
smpc_fe_random_fill(smpc_fe *out, size_t n)
{
	randombytes_buf(out, n * sizeof(smpc_fe));
	for (size_t i = 0; i < n; i++)
	{
		const uint8_t *b = (const uint8_t *) &out[i];
		smpc_fe		r = 0;

		for (int k = SMPC_FE_BYTES - 1; k >= 0; k--)
			r = (r << 8) | b[k];
		r &= SMPC_FIELD_P;
		out[i] = r < SMPC_FIELD_P ? r : smpc_fe_random();
	}
}

/*
 * Embed a signed integer: v >= 0 maps to v, v < 0 maps to p + v.
 * SMPC_ERR_OVERFLOW if |v| > (p-1)/2 (this includes INT128_MIN); *out is
 * untouched on error.
 */
int
smpc_fe_from_i128(smpc_i128 v, smpc_fe *out)
{
	if (out == NULL)
		return SMPC_ERR_ARG;
	if (v >= 0)
	{
		if ((smpc_fe) v > SMPC_FIELD_HALF)
			return SMPC_ERR_OVERFLOW;
		*out = (smpc_fe) v;
	}
	else
	{
		/* -(v + 1) cannot overflow, even for INT128_MIN */
		smpc_fe		mag = (smpc_fe) (-(v + 1)) + 1;

		if (mag > SMPC_FIELD_HALF)
			return SMPC_ERR_OVERFLOW;
		*out = SMPC_FIELD_P - mag;
	}
	return SMPC_OK;
}

/*
 * Signed decoding of a canonical element: [0, (p-1)/2] maps to itself, the
 * upper half (p-1)/2 < a < p maps to a - p.
 */
smpc_i128
smpc_fe_to_i128(smpc_fe a)
{
	if (a <= SMPC_FIELD_HALF)
		return (smpc_i128) a;
	return -(smpc_i128) (SMPC_FIELD_P - a);
}

/* Write a as 16 little-endian bytes. */
void
smpc_fe_to_bytes(smpc_fe a, uint8_t out[SMPC_FE_BYTES])
{
	for (int i = 0; i < SMPC_FE_BYTES; i++)
	{
		out[i] = (uint8_t) a;
		a >>= 8;
	}
}

/*
 * Read 16 little-endian bytes.  SMPC_ERR_RANGE if the value is >= p (so the
 * wire form of every element is unique); *out is untouched on error.
 */
int
smpc_fe_from_bytes(const uint8_t in[SMPC_FE_BYTES], smpc_fe *out)
{
	smpc_fe		v = 0;

	if (in == NULL || out == NULL)
		return SMPC_ERR_ARG;
	for (int i = SMPC_FE_BYTES - 1; i >= 0; i--)
		v = (v << 8) | in[i];
	if (v >= SMPC_FIELD_P)
		return SMPC_ERR_RANGE;
	*out = v;
	return SMPC_OK;
}
