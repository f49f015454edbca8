/*
 * encode.c
 *		Exact fixed-point encodings of integers and decimals into GF(2^127-1).
 *
 * See encode.h for the encoding rules.  Parsing accumulates the magnitude in
 * an unsigned 128-bit integer and checks it against SMPC_ENC_MAX_ABS after
 * every digit; since the accumulator never exceeds 2^119 before a step,
 * acc * 10 + 9 < 2^123 cannot wrap, so overflow detection is exact.
 */
#include <stdbool.h>
#include <string.h>

#include "encode.h"

typedef unsigned __int128 u128;

/* Encode an int64; see encode.h. */
int
smpc_encode_int64(int64_t v, smpc_fe *out)
{
	return smpc_encode_i128((smpc_i128) v, out);
}

/* Encode an i128 of magnitude <= SMPC_ENC_MAX_ABS; see encode.h. */
int
smpc_encode_i128(smpc_i128 v, smpc_fe *out)
{
	if (out == NULL)
		return SMPC_ERR_ARG;
	if (v > SMPC_ENC_MAX_ABS || v < -SMPC_ENC_MAX_ABS)
		return SMPC_ERR_OVERFLOW;
	return smpc_fe_from_i128(v, out);
}

/* Signed decode; see encode.h. */
int
smpc_decode_i128(smpc_fe a, smpc_i128 *out)
{
	if (out == NULL)
		return SMPC_ERR_ARG;
	if (a >= SMPC_FIELD_P)
		return SMPC_ERR_RANGE;
	*out = smpc_fe_to_i128(a);
	return SMPC_OK;
}

/* Signed decode into int64; see encode.h. */
int
smpc_decode_int64(smpc_fe a, int64_t *out)
{
	smpc_i128	v;
	int			rc;

	if (out == NULL)
		return SMPC_ERR_ARG;
	if ((rc = smpc_decode_i128(a, &v)) != SMPC_OK)
		return rc;
	if (v > INT64_MAX || v < INT64_MIN)
		return SMPC_ERR_OVERFLOW;
	*out = (int64_t) v;
	return SMPC_OK;
}

/* ASCII-only, locale-independent case-insensitive string equality. */
static bool
ascii_ieq(const char *a, const char *b)
{
	for (;; a++, b++)
	{
		char		ca = *a,
					cb = *b;

		if (ca >= 'A' && ca <= 'Z')
			ca = (char) (ca - 'A' + 'a');
		if (cb >= 'A' && cb <= 'Z')
			cb = (char) (cb - 'A' + 'a');
		if (ca != cb)
			return false;
		if (ca == '\0')
			return true;
	}
}

static inline bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Multiply-accumulate one decimal digit into *acc, which must be
 * <= SMPC_ENC_MAX_ABS on entry.  Returns false on overflow past
 * SMPC_ENC_MAX_ABS (the accumulator cannot wrap; see the file header).
 */
static inline bool
acc_digit(u128 *acc, int d)
{
	*acc = *acc * 10 + (u128) (unsigned int) d;
	return *acc <= (u128) SMPC_ENC_MAX_ABS;
}

/* Parse decimal text into value * 10^scale; see encode.h. */
int
smpc_parse_decimal(const char *text, int scale, smpc_i128 *out)
{
	const char *s = text;
	const char *ip;
	const char *fp = NULL;
	size_t		nint = 0;
	size_t		nfrac = 0;
	bool		neg = false;
	u128		acc = 0;

	if (text == NULL || out == NULL || scale < 0 || scale > SMPC_ENC_MAX_SCALE)
		return SMPC_ERR_ARG;

	if (*s == '+' || *s == '-')
	{
		neg = (*s == '-');
		s++;
	}
	if (ascii_ieq(s, "nan") || ascii_ieq(s, "infinity") || ascii_ieq(s, "inf"))
		return SMPC_ERR_RANGE;

	/* syntax pass */
	ip = s;
	while (is_digit(*s))
		s++;
	nint = (size_t) (s - ip);
	if (*s == '.')
	{
		s++;
		fp = s;
		while (is_digit(*s))
			s++;
		nfrac = (size_t) (s - fp);
	}
	if (*s != '\0' || nint + nfrac == 0)
		return SMPC_ERR_SYNTAX;

	/* fraction digits beyond the scale must all be zero */
	for (size_t i = (size_t) scale; i < nfrac; i++)
		if (fp[i] != '0')
			return SMPC_ERR_RANGE;

	/* value */
	for (size_t i = 0; i < nint; i++)
		if (!acc_digit(&acc, ip[i] - '0'))
			return SMPC_ERR_OVERFLOW;
	for (size_t i = 0; i < (size_t) scale; i++)
		if (!acc_digit(&acc, i < nfrac ? fp[i] - '0' : 0))
			return SMPC_ERR_OVERFLOW;

	*out = neg ? -(smpc_i128) acc : (smpc_i128) acc;
	return SMPC_OK;
}

/* Parse and encode decimal text; see encode.h. */
int
smpc_encode_decimal(const char *text, int scale, smpc_fe *out)
{
	smpc_i128	v;
	int			rc;

	if (out == NULL)
		return SMPC_ERR_ARG;
	if ((rc = smpc_parse_decimal(text, scale, &v)) != SMPC_OK)
		return rc;
	return smpc_encode_i128(v, out);
}

/*
 * Write the decimal digits of mag (no sign, "0" for zero) into digits, which
 * must hold at least 39 characters; returns the number of digits written.
 * The digits are not NUL-terminated.
 */
static size_t
u128_digits(u128 mag, char *digits)
{
	char		rev[40];
	size_t		n = 0;

	do
	{
		rev[n++] = (char) ('0' + (int) (mag % 10));
		mag /= 10;
	} while (mag != 0);
	for (size_t i = 0; i < n; i++)
		digits[i] = rev[n - 1 - i];
	return n;
}

/* Magnitude of any smpc_i128 as unsigned, INT128_MIN included. */
static inline u128
i128_mag(smpc_i128 v)
{
	return v < 0 ? (u128) (-(v + 1)) + 1 : (u128) v;
}

/* Decimal text of an i128; see encode.h. */
int
smpc_i128_to_text(smpc_i128 v, char *buf, size_t buflen)
{
	return smpc_format_decimal(v, 0, buf, buflen);
}

/* Format a scaled integer as fixed-point decimal text; see encode.h. */
int
smpc_format_decimal(smpc_i128 v, int scale, char *buf, size_t buflen)
{
	char		digits[40];
	size_t		nd;
	size_t		nint;			/* digits before the point, at least 1 */
	size_t		need;
	size_t		pos = 0;

	if (buf == NULL || scale < 0 || scale > SMPC_ENC_MAX_SCALE)
		return SMPC_ERR_ARG;

	nd = u128_digits(i128_mag(v), digits);
	nint = nd > (size_t) scale ? nd - (size_t) scale : 1;
	need = (v < 0 ? 1 : 0) + nint + (scale > 0 ? 1 + (size_t) scale : 0) + 1;
	if (buflen < need)
		return SMPC_ERR_ARG;

	if (v < 0)
		buf[pos++] = '-';
	if (nd > (size_t) scale)
	{
		memcpy(buf + pos, digits, nint);
		pos += nint;
	}
	else
		buf[pos++] = '0';
	if (scale > 0)
	{
		size_t		nfrac = (size_t) scale;
		size_t		lead = nfrac > nd ? nfrac - nd : 0;
		size_t		from = nd > nfrac ? nd - nfrac : 0;

		buf[pos++] = '.';
		memset(buf + pos, '0', lead);
		pos += lead;
		memcpy(buf + pos, digits + from, nd - from);
		pos += nd - from;
	}
	buf[pos] = '\0';
	return SMPC_OK;
}

/* Decode an element and format it with the given scale; see encode.h. */
int
smpc_decode_decimal(smpc_fe a, int scale, char *buf, size_t buflen)
{
	smpc_i128	v;
	int			rc;

	if ((rc = smpc_decode_i128(a, &v)) != SMPC_OK)
		return rc;
	return smpc_format_decimal(v, scale, buf, buflen);
}
