/*
 * test_field.c
 *		Unit tests for GF(2^127-1) arithmetic (src/core/field.c).
 *
 * Every arithmetic operation is cross-checked against OpenSSL's BIGNUM
 * modular arithmetic on edge cases and on thousands of random inputs, so a
 * wrong carry or reduction step in the limb arithmetic is caught.
 */
#include <sodium.h>
#include <openssl/bn.h>

#include "unit.h"
#include "field.h"

#define P SMPC_FIELD_P
#define ONE ((smpc_fe) 1)
#define NRANDOM 4000

/* Canonical edge values, chosen to stress carries and the reduction. */
static smpc_fe
edge_value(int i)
{
	static const smpc_fe limb_lo = (smpc_fe) UINT64_MAX;
	const smpc_fe table[] = {
		0, 1, 2, 3,
		P - 1, P - 2, P - 3,
		limb_lo,				/* 2^64 - 1 */
		limb_lo + 1,			/* 2^64 */
		limb_lo + 2,
		ONE << 63,
		ONE << 126,
		(ONE << 126) - 1,
		(ONE << 126) + 1,
		SMPC_FIELD_HALF,
		SMPC_FIELD_HALF + 1,
		((smpc_fe) (UINT64_MAX >> 1)) << 64,	/* high limb all ones, low 0 */
		(ONE << 64) | limb_lo,	/* low limb all ones plus one high bit */
		(((smpc_fe) (UINT64_MAX >> 1)) << 64) | (limb_lo - 1),	/* = p - 1 */
		(((smpc_fe) (UINT64_MAX >> 2)) << 64) | limb_lo,	/* 2^126 - 1 */
		((smpc_fe) 0x5555555555555555ULL << 64) | 0xaaaaaaaaaaaaaaaaULL,
		((smpc_fe) 0x2aaaaaaaaaaaaaaaULL << 64) | 0x5555555555555555ULL,
	};

	if (i < 0 || (size_t) i >= sizeof(table) / sizeof(table[0]))
		return P;				/* sentinel: end of table */
	return table[i];
}

/* Random canonical element drawn independently of smpc_fe_random. */
static smpc_fe
rand_canonical(void)
{
	smpc_fe		r;

	do
	{
		uint8_t		b[16];
		int			shape;

		randombytes_buf(b, sizeof(b));
		r = 0;
		for (int i = 15; i >= 0; i--)
			r = (r << 8) | b[i];
		r &= P;
		/* sometimes force values near the top or with sparse bits */
		shape = (int) randombytes_uniform(8);
		if (shape == 0)
			r = P - 1 - (r & 0xffff);
		else if (shape == 1)
			r &= ((smpc_fe) UINT64_MAX << 64) | 0xff;
		else if (shape == 2)
			r >>= randombytes_uniform(127);
	} while (r >= P);
	return r;
}

static BIGNUM *
fe_bn(smpc_fe a)
{
	uint8_t		be[16];

	for (int i = 15; i >= 0; i--)
	{
		be[i] = (uint8_t) a;
		a >>= 8;
	}
	return BN_bin2bn(be, sizeof(be), NULL);
}

static smpc_fe
bn_fe(const BIGNUM *bn)
{
	uint8_t		be[16];
	smpc_fe		r = 0;

	if (BN_num_bytes(bn) > 16 || BN_bn2binpad(bn, be, sizeof(be)) != 16)
		return ~(smpc_fe) 0;
	for (int i = 0; i < 16; i++)
		r = (r << 8) | be[i];
	return r;
}

typedef struct bn_env
{
	BN_CTX	   *ctx;
	BIGNUM	   *p;
	BIGNUM	   *r;
} bn_env;

static int
bn_env_init(bn_env *e)
{
	e->ctx = BN_CTX_new();
	e->p = fe_bn(P);
	e->r = BN_new();
	return e->ctx && e->p && e->r;
}

static void
bn_env_free(bn_env *e)
{
	BN_CTX_free(e->ctx);
	BN_free(e->p);
	BN_free(e->r);
}

/*
 * Compare add, sub, mul, neg against BIGNUM for one pair; returns the number
 * of mismatches (each reported through CHECK).
 */
static int
check_pair(bn_env *e, smpc_fe a, smpc_fe b)
{
	BIGNUM	   *A = fe_bn(a);
	BIGNUM	   *B = fe_bn(b);
	int			bad = 0;

	if (!CHECK(A != NULL && B != NULL))
	{
		BN_free(A);
		BN_free(B);
		return 1;
	}
	BN_mod_add(e->r, A, B, e->p, e->ctx);
	bad += !CHECK(smpc_fe_add(a, b) == bn_fe(e->r));
	BN_mod_sub(e->r, A, B, e->p, e->ctx);
	bad += !CHECK(smpc_fe_sub(a, b) == bn_fe(e->r));
	BN_mod_mul(e->r, A, B, e->p, e->ctx);
	bad += !CHECK(smpc_fe_mul(a, b) == bn_fe(e->r));
	BN_mod_sub(e->r, e->p, A, e->p, e->ctx);
	bad += !CHECK(smpc_fe_neg(a) == bn_fe(e->r));
	BN_free(A);
	BN_free(B);
	return bad;
}

static void
test_edge_vs_bignum(void)
{
	bn_env		e;

	REQUIRE(bn_env_init(&e));
	for (int i = 0; edge_value(i) != P; i++)
	{
		REQUIRE(edge_value(i) < P);
		for (int j = 0; edge_value(j) != P; j++)
			if (check_pair(&e, edge_value(i), edge_value(j)) != 0)
			{
				bn_env_free(&e);
				return;
			}
	}
	bn_env_free(&e);
}

static void
test_random_vs_bignum(void)
{
	bn_env		e;

	REQUIRE(bn_env_init(&e));
	for (int i = 0; i < NRANDOM; i++)
	{
		smpc_fe		a = rand_canonical();
		smpc_fe		b = rand_canonical();

		if (check_pair(&e, a, b) != 0)
			break;
	}
	bn_env_free(&e);
}

/* Known answers independent of BIGNUM. */
static void
test_known_answers(void)
{
	CHECK(smpc_fe_add(P - 1, 1) == 0);
	CHECK(smpc_fe_add(P - 1, P - 1) == P - 2);
	CHECK(smpc_fe_sub(0, 1) == P - 1);
	CHECK(smpc_fe_neg(0) == 0);
	CHECK(smpc_fe_neg(1) == P - 1);
	/* (p-1)^2 = (-1)^2 = 1 */
	CHECK(smpc_fe_mul(P - 1, P - 1) == 1);
	/* 2^64 * 2^64 = 2^128 = 2 */
	CHECK(smpc_fe_mul(ONE << 64, ONE << 64) == 2);
	/* 2^126 * 2 = 2^127 = 1 */
	CHECK(smpc_fe_mul(ONE << 126, 2) == 1);
	/* 2^126 * 2^126 = 2^252 = 2^(252 mod 127) = 2^125 */
	CHECK(smpc_fe_mul(ONE << 126, ONE << 126) == ONE << 125);
	CHECK(smpc_fe_mul(0, P - 1) == 0);
	CHECK(smpc_fe_pow(2, 127) == 1);
	CHECK(smpc_fe_pow(3, 0) == 1);
	CHECK(smpc_fe_pow(0, 5) == 0);
	CHECK(smpc_fe_pow(7, 2) == 49);
}

static void
test_pow_vs_bignum(void)
{
	bn_env		e;

	REQUIRE(bn_env_init(&e));
	for (int i = 0; i < 300; i++)
	{
		smpc_fe		a = rand_canonical();
		smpc_fe		x;
		BIGNUM	   *A,
				   *X;

		/* full 128-bit exponents, plus a few special ones */
		randombytes_buf(&x, sizeof(x));
		if (i == 0)
			x = 0;
		else if (i == 1)
			x = P - 1;
		else if (i == 2)
			x = P - 2;
		else if (i == 3)
			x = ~(smpc_fe) 0;
		A = fe_bn(a);
		X = fe_bn(x);
		if (!CHECK(A != NULL && X != NULL) ||
			!CHECK(BN_mod_exp(e.r, A, X, e.p, e.ctx) == 1) ||
			!CHECK(smpc_fe_pow(a, x) == bn_fe(e.r)))
		{
			BN_free(A);
			BN_free(X);
			break;
		}
		BN_free(A);
		BN_free(X);
	}
	bn_env_free(&e);
}

static void
test_inverse(void)
{
	bn_env		e;
	smpc_fe		inv = 12345;

	CHECK(smpc_fe_inv(0, &inv) == SMPC_ERR_RANGE);
	CHECK(inv == 12345);
	CHECK(smpc_fe_inv(P, &inv) == SMPC_ERR_RANGE);
	CHECK(smpc_fe_inv(1, NULL) == SMPC_ERR_ARG);
	REQUIRE(smpc_fe_inv(1, &inv) == SMPC_OK && inv == 1);
	REQUIRE(smpc_fe_inv(P - 1, &inv) == SMPC_OK && inv == P - 1);
	/* 1/2 = 2^126 because 2 * 2^126 = 2^127 = 1 */
	REQUIRE(smpc_fe_inv(2, &inv) == SMPC_OK && inv == ONE << 126);

	REQUIRE(bn_env_init(&e));
	for (int i = 0; i < 500; i++)
	{
		smpc_fe		a = (i < 22 && edge_value(i) != P) ? edge_value(i) : rand_canonical();
		BIGNUM	   *A;

		if (a == 0)
			continue;
		if (!CHECK(smpc_fe_inv(a, &inv) == SMPC_OK) ||
			!CHECK(smpc_fe_mul(a, inv) == 1))
			break;
		A = fe_bn(a);
		if (!CHECK(A != NULL && BN_mod_inverse(e.r, A, e.p, e.ctx) != NULL) ||
			!CHECK(inv == bn_fe(e.r)))
		{
			BN_free(A);
			break;
		}
		BN_free(A);
	}
	bn_env_free(&e);
}

static void
test_random(void)
{
	smpc_fe		first = smpc_fe_random();
	int			distinct = 0;
	int			top_set = 0;
	int			low_set = 0;

	for (int i = 0; i < 2000; i++)
	{
		smpc_fe		r = smpc_fe_random();

		if (!CHECK(r < P))
			return;
		distinct += (r != first);
		top_set += (int) ((r >> 126) & 1);
		low_set += (int) (r & 1);
	}
	CHECK(distinct >= 1999);
	/* each bit should be set about half the time (binomial, sd ~ 22) */
	CHECK(top_set > 800 && top_set < 1200);
	CHECK(low_set > 800 && low_set < 1200);
}

static void
test_signed_embedding(void)
{
	const smpc_i128 half = (smpc_i128) SMPC_FIELD_HALF;
	const smpc_i128 i128_max = (smpc_i128) (~(smpc_fe) 0 >> 1);
	const smpc_i128 i128_min = -i128_max - 1;
	const smpc_i128 vals[] = {0, 1, -1, 2, -2, half, -half, half - 1, -half + 1,
	(smpc_i128) INT64_MAX, (smpc_i128) INT64_MIN};
	smpc_fe		f = 777;

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
	{
		REQUIRE(smpc_fe_from_i128(vals[i], &f) == SMPC_OK);
		CHECK(f < P);
		CHECK(smpc_fe_to_i128(f) == vals[i]);
	}
	CHECK(smpc_fe_from_i128(-1, &f) == SMPC_OK && f == P - 1);
	CHECK(smpc_fe_from_i128(-half, &f) == SMPC_OK && f == SMPC_FIELD_HALF + 1);
	CHECK(smpc_fe_to_i128(SMPC_FIELD_HALF) == half);
	CHECK(smpc_fe_to_i128(SMPC_FIELD_HALF + 1) == -half);
	CHECK(smpc_fe_to_i128(P - 1) == -1);

	f = 777;
	CHECK(smpc_fe_from_i128(half + 1, &f) == SMPC_ERR_OVERFLOW);
	CHECK(smpc_fe_from_i128(-half - 1, &f) == SMPC_ERR_OVERFLOW);
	CHECK(smpc_fe_from_i128(i128_max, &f) == SMPC_ERR_OVERFLOW);
	CHECK(smpc_fe_from_i128(i128_min, &f) == SMPC_ERR_OVERFLOW);
	CHECK(f == 777);
	CHECK(smpc_fe_from_i128(0, NULL) == SMPC_ERR_ARG);

	for (int i = 0; i < 1000; i++)
	{
		smpc_i128	v;

		randombytes_buf(&v, sizeof(v));
		v >>= 2 + randombytes_uniform(120);	/* |v| <= 2^125 */
		REQUIRE(smpc_fe_from_i128(v, &f) == SMPC_OK);
		if (!CHECK(smpc_fe_to_i128(f) == v))
			return;
	}
}

static void
test_bytes(void)
{
	uint8_t		b[SMPC_FE_BYTES];
	smpc_fe		f = 99;

	smpc_fe_to_bytes(0x0102, b);
	CHECK(b[0] == 0x02 && b[1] == 0x01 && b[2] == 0 && b[15] == 0);
	smpc_fe_to_bytes(P - 1, b);
	CHECK(b[0] == 0xfe && b[1] == 0xff && b[15] == 0x7f);
	CHECK(smpc_fe_from_bytes(b, &f) == SMPC_OK && f == P - 1);

	for (int i = 0; i < 1000; i++)
	{
		smpc_fe		a = (i < 22 && edge_value(i) != P) ? edge_value(i) : rand_canonical();

		smpc_fe_to_bytes(a, b);
		if (!CHECK(smpc_fe_from_bytes(b, &f) == SMPC_OK && f == a))
			return;
	}

	f = 99;
	smpc_fe_to_bytes(P, b);
	CHECK(smpc_fe_from_bytes(b, &f) == SMPC_ERR_RANGE);
	memset(b, 0xff, sizeof(b));
	CHECK(smpc_fe_from_bytes(b, &f) == SMPC_ERR_RANGE);
	b[15] = 0x80;
	memset(b, 0, 15);
	CHECK(smpc_fe_from_bytes(b, &f) == SMPC_ERR_RANGE);	/* 2^127 */
	CHECK(f == 99);
}

/* Algebraic laws on random inputs (distributivity catches partial breakage). */
static void
test_laws(void)
{
	for (int i = 0; i < 2000; i++)
	{
		smpc_fe		a = rand_canonical();
		smpc_fe		b = rand_canonical();
		smpc_fe		c = rand_canonical();

		if (!CHECK(smpc_fe_mul(a, smpc_fe_add(b, c)) ==
				   smpc_fe_add(smpc_fe_mul(a, b), smpc_fe_mul(a, c))) ||
			!CHECK(smpc_fe_mul(a, b) == smpc_fe_mul(b, a)) ||
			!CHECK(smpc_fe_add(smpc_fe_sub(a, b), b) == a) ||
			!CHECK(smpc_fe_add(a, smpc_fe_neg(a)) == 0))
			return;
	}
}

const unit_case field_cases[] = {
	{"edge_vs_bignum", test_edge_vs_bignum},
	{"random_vs_bignum", test_random_vs_bignum},
	{"known_answers", test_known_answers},
	{"pow_vs_bignum", test_pow_vs_bignum},
	{"inverse", test_inverse},
	{"random", test_random},
	{"signed_embedding", test_signed_embedding},
	{"bytes", test_bytes},
	{"laws", test_laws},
	{NULL, NULL}
};
