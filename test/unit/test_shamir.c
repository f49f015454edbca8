/*
 * test_shamir.c
 *		Unit tests for vector Shamir sharing (src/core/shamir.c).
 *
 * Covers reconstruction from many share subsets, secrecy below the
 * threshold (statistically), consistency checking with fault
 * identification, Lagrange coefficient known answers, the additive
 * homomorphism and argument validation.
 */
#include <stdlib.h>
#include <sodium.h>

#include "unit.h"
#include "field.h"
#include "shamir.h"

#define P SMPC_FIELD_P

static smpc_fe *
fe_alloc(size_t n)
{
	return calloc(n ? n : 1, sizeof(smpc_fe));
}

/* Fill secrets with random elements, including a few edge values. */
static void
random_secrets(smpc_fe *s, size_t nvals)
{
	for (size_t v = 0; v < nvals; v++)
		s[v] = smpc_fe_random();
	if (nvals > 0)
		s[0] = P - 1;
	if (nvals > 1)
		s[1] = 0;
}

/* Random subset of `k` distinct parties of n, in random order (Fisher-Yates). */
static void
random_subset(int n, int k, int *out)
{
	int			perm[SMPC_SHAMIR_MAX_PARTIES];

	for (int i = 0; i < n; i++)
		perm[i] = i;
	for (int i = n - 1; i > 0; i--)
	{
		int			j = (int) randombytes_uniform((uint32_t) i + 1);
		int			tmp = perm[i];

		perm[i] = perm[j];
		perm[j] = tmp;
	}
	memcpy(out, perm, (size_t) k * sizeof(int));
}

/*
 * Gather the rows of the chosen parties into xs / sub and reconstruct;
 * returns 1 if every value matches the secrets.
 */
static int
reconstruct_from(const smpc_fe *shares, size_t nvals, const int *parties,
				 int k, const smpc_fe *secrets)
{
	uint32_t	xs[SMPC_SHAMIR_MAX_PARTIES];
	smpc_fe    *sub = fe_alloc((size_t) k * nvals);
	smpc_fe    *out = fe_alloc(nvals);
	int			ok;

	for (int j = 0; j < k; j++)
	{
		xs[j] = (uint32_t) parties[j] + 1;
		memcpy(&sub[(size_t) j * nvals], &shares[(size_t) parties[j] * nvals],
			   nvals * sizeof(smpc_fe));
	}
	ok = CHECK(smpc_shamir_reconstruct(xs, sub, k, nvals, out) == SMPC_OK) &&
		CHECK(memcmp(out, secrets, nvals * sizeof(smpc_fe)) == 0);
	free(sub);
	free(out);
	return ok;
}

/* All (t+1)-subsets of n parties, by recursive enumeration. */
static int
all_subsets(const smpc_fe *shares, size_t nvals, const smpc_fe *secrets,
			int n, int k, int *chosen, int depth, int next)
{
	if (depth == k)
		return reconstruct_from(shares, nvals, chosen, k, secrets);
	for (int i = next; i < n; i++)
	{
		chosen[depth] = i;
		if (!all_subsets(shares, nvals, secrets, n, k, chosen, depth + 1, i + 1))
			return 0;
	}
	return 1;
}

static void
test_reconstruct_all_subsets(void)
{
	const int	params[][2] = {{0, 1}, {0, 3}, {1, 2}, {1, 3}, {2, 5}, {3, 7}, {4, 9}};
	const size_t nvals = 4;

	for (size_t p = 0; p < sizeof(params) / sizeof(params[0]); p++)
	{
		int			t = params[p][0];
		int			n = params[p][1];
		smpc_fe		secrets[4];
		smpc_fe    *shares = fe_alloc((size_t) n * nvals);
		int			chosen[SMPC_SHAMIR_MAX_PARTIES];
		int			ok;

		random_secrets(secrets, nvals);
		ok = CHECK(smpc_shamir_share(secrets, nvals, t, n, shares) == SMPC_OK) &&
			all_subsets(shares, nvals, secrets, n, t + 1, chosen, 0, 0);
		/* more than t+1 shares also reconstruct, in random order */
		if (ok)
		{
			random_subset(n, n, chosen);
			ok = reconstruct_from(shares, nvals, chosen, n, secrets);
		}
		free(shares);
		if (!ok)
			return;
	}
}

static void
test_reconstruct_64_parties(void)
{
	const int	t = 31,
				n = 64;
	const size_t nvals = 5;
	smpc_fe		secrets[5];
	smpc_fe    *shares = fe_alloc((size_t) n * nvals);
	int			chosen[SMPC_SHAMIR_MAX_PARTIES];

	random_secrets(secrets, nvals);
	if (!CHECK(smpc_shamir_share(secrets, nvals, t, n, shares) == SMPC_OK))
		goto done;
	for (int iter = 0; iter < 200; iter++)
	{
		int			k = (iter < 150) ? t + 1 : t + 1 + (int) randombytes_uniform(n - t);

		random_subset(n, k, chosen);
		if (!reconstruct_from(shares, nvals, chosen, k, secrets))
			break;
	}
	/* the maximum party count works too */
	{
		smpc_fe    *big = fe_alloc((size_t) SMPC_SHAMIR_MAX_PARTIES * nvals);

		if (CHECK(smpc_shamir_share(secrets, nvals, 100, SMPC_SHAMIR_MAX_PARTIES,
									big) == SMPC_OK))
		{
			random_subset(SMPC_SHAMIR_MAX_PARTIES, 101, chosen);
			reconstruct_from(big, nvals, chosen, 101, secrets);
		}
		free(big);
	}
done:
	free(shares);
}

/*
 * With only t shares, interpolation gives a value unrelated to the secret:
 * over many values essentially none should match, and equal secrets must not
 * produce equal results.  Also two sharings of one secret differ.
 */
static void
test_below_threshold(void)
{
	const int	t = 3,
				n = 6;
	const size_t nvals = 200;
	smpc_fe    *secrets = fe_alloc(nvals);
	smpc_fe    *shares = fe_alloc((size_t) n * nvals);
	smpc_fe    *shares2 = fe_alloc((size_t) n * nvals);
	smpc_fe    *out = fe_alloc(nvals);
	uint32_t	xs[3] = {1, 2, 3};
	int			matches = 0;
	int			repeats = 0;
	int			same_shares = 0;

	for (size_t v = 0; v < nvals; v++)
		secrets[v] = 42;		/* identical secrets on purpose */
	if (!CHECK(smpc_shamir_share(secrets, nvals, t, n, shares) == SMPC_OK) ||
		!CHECK(smpc_shamir_share(secrets, nvals, t, n, shares2) == SMPC_OK) ||
		!CHECK(smpc_shamir_reconstruct(xs, shares, t, nvals, out) == SMPC_OK))
		goto done;
	for (size_t v = 0; v < nvals; v++)
	{
		matches += (out[v] == secrets[v]);
		repeats += (v > 0 && out[v] == out[v - 1]);
	}
	for (size_t i = 0; i < (size_t) n * nvals; i++)
		same_shares += (shares[i] == shares2[i]);
	CHECK(matches == 0);
	CHECK(repeats == 0);
	CHECK(same_shares == 0);
done:
	free(secrets);
	free(shares);
	free(shares2);
	free(out);
}

static void
test_threshold_zero(void)
{
	smpc_fe		secrets[3] = {7, P - 1, 0};
	smpc_fe		shares[4 * 3];

	REQUIRE(smpc_shamir_share(secrets, 3, 0, 4, shares) == SMPC_OK);
	for (int i = 0; i < 4; i++)
		CHECK(memcmp(&shares[i * 3], secrets, sizeof(secrets)) == 0);
}

/* Every single corrupted share (any party, any value index) is identified. */
static void
test_check_identifies_one(void)
{
	const int	t = 2,
				n = 7;
	const size_t nvals = 5;
	uint32_t	xs[7];
	smpc_fe		secrets[5];
	smpc_fe		shares[7 * 5];
	int			bad = 99;

	for (int i = 0; i < n; i++)
		xs[i] = (uint32_t) i + 1;
	random_secrets(secrets, nvals);
	REQUIRE(smpc_shamir_share(secrets, nvals, t, n, shares) == SMPC_OK);
	REQUIRE(smpc_shamir_check(xs, shares, n, nvals, t, &bad) == SMPC_OK);
	CHECK(bad == -1);
	CHECK(smpc_shamir_check(xs, shares, n, nvals, t, NULL) == SMPC_OK);

	for (int j = 0; j < n; j++)
	{
		for (size_t v = 0; v < nvals; v++)
		{
			smpc_fe		saved = shares[(size_t) j * nvals + v];

			shares[(size_t) j * nvals + v] = smpc_fe_add(saved, 1);
			bad = 99;
			if (!CHECK(smpc_shamir_check(xs, shares, n, nvals, t, &bad) ==
					   SMPC_ERR_INCONSISTENT) ||
				!CHECK(bad == j))
				return;
			CHECK(smpc_shamir_check(xs, shares, n, nvals, t, NULL) ==
				  SMPC_ERR_INCONSISTENT);
			shares[(size_t) j * nvals + v] = saved;
		}
	}
	REQUIRE(smpc_shamir_check(xs, shares, n, nvals, t, &bad) == SMPC_OK);
}

/* Larger configuration: 64 parties, t = 31, one share corrupted. */
static void
test_check_identifies_one_64(void)
{
	const int	t = 31,
				n = 64;
	const size_t nvals = 3;
	uint32_t	xs[64];
	smpc_fe		secrets[3];
	smpc_fe		shares[64 * 3];
	int			bad = 99;
	int			victim = (int) randombytes_uniform(64);

	for (int i = 0; i < n; i++)
		xs[i] = (uint32_t) i + 1;
	random_secrets(secrets, nvals);
	REQUIRE(smpc_shamir_share(secrets, nvals, t, n, shares) == SMPC_OK);
	REQUIRE(smpc_shamir_check(xs, shares, n, nvals, t, &bad) == SMPC_OK);
	shares[(size_t) victim * nvals + 2] = smpc_fe_random();
	REQUIRE(smpc_shamir_check(xs, shares, n, nvals, t, &bad) == SMPC_ERR_INCONSISTENT);
	CHECK(bad == victim);
}

static void
test_check_no_redundancy(void)
{
	uint32_t	xs[3] = {1, 2, 3};
	smpc_fe		garbage[3 * 2];
	int			bad = 99;

	for (int i = 0; i < 6; i++)
		garbage[i] = smpc_fe_random();
	CHECK(smpc_shamir_check(xs, garbage, 3, 2, 2, &bad) == SMPC_OK);
	CHECK(bad == -1);
	/* ... but one more point exposes garbage (w.h.p.) */
	{
		uint32_t	xs4[4] = {1, 2, 3, 4};
		smpc_fe		g4[4 * 2];

		for (int i = 0; i < 8; i++)
			g4[i] = smpc_fe_random();
		bad = 99;
		CHECK(smpc_shamir_check(xs4, g4, 4, 2, 2, &bad) == SMPC_ERR_INCONSISTENT);
		/* k - 1 == t + 1: any single removal looks consistent, so ambiguous */
		CHECK(bad == -1);
	}
}

static void
test_check_two_corrupted(void)
{
	const int	t = 2,
				n = 7;
	const size_t nvals = 4;
	uint32_t	xs[7];
	smpc_fe		secrets[4];
	smpc_fe		shares[7 * 4];
	int			bad = 99;

	for (int i = 0; i < n; i++)
		xs[i] = (uint32_t) i + 1;
	random_secrets(secrets, nvals);
	REQUIRE(smpc_shamir_share(secrets, nvals, t, n, shares) == SMPC_OK);
	shares[1 * nvals + 0] = smpc_fe_add(shares[1 * nvals + 0], 5);
	shares[5 * nvals + 3] = smpc_fe_sub(shares[5 * nvals + 3], 9);
	CHECK(smpc_shamir_check(xs, shares, n, nvals, t, &bad) == SMPC_ERR_INCONSISTENT);
	CHECK(bad == -1);

	/* two faults in the same value index, including a base point */
	REQUIRE(smpc_shamir_share(secrets, nvals, t, n, shares) == SMPC_OK);
	shares[0 * nvals + 1] = smpc_fe_add(shares[0 * nvals + 1], 1);
	shares[6 * nvals + 1] = smpc_fe_add(shares[6 * nvals + 1], 1);
	bad = 99;
	CHECK(smpc_shamir_check(xs, shares, n, nvals, t, &bad) == SMPC_ERR_INCONSISTENT);
	CHECK(bad == -1);
}

/*
 * Points on an explicit low-degree polynomial pass the check with arbitrary
 * (non-consecutive) abscissae; a polynomial of degree t+1 fails.
 */
static void
test_check_explicit_polynomial(void)
{
	uint32_t	xs[6] = {9, 2, 1000, 77, 5, 31};
	smpc_fe		ok_pts[6];
	smpc_fe		hi_pts[6];

	for (int j = 0; j < 6; j++)
	{
		smpc_fe		x = xs[j];

		/* f(x) = 5 - 3x + 2x^2 (degree 2); g(x) = x^3 (degree 3) */
		ok_pts[j] = smpc_fe_add(smpc_fe_sub(5, smpc_fe_mul(3, x)),
								smpc_fe_mul(2, smpc_fe_mul(x, x)));
		hi_pts[j] = smpc_fe_mul(x, smpc_fe_mul(x, x));
	}
	CHECK(smpc_shamir_check(xs, ok_pts, 6, 1, 2, NULL) == SMPC_OK);
	CHECK(smpc_shamir_check(xs, hi_pts, 6, 1, 2, NULL) == SMPC_ERR_INCONSISTENT);
	CHECK(smpc_shamir_check(xs, hi_pts, 6, 1, 3, NULL) == SMPC_OK);
	{
		smpc_fe		s;

		CHECK(smpc_shamir_reconstruct(xs, ok_pts, 3, 1, &s) == SMPC_OK && s == 5);
		CHECK(smpc_shamir_reconstruct(xs + 2, ok_pts + 2, 4, 1, &s) == SMPC_OK && s == 5);
	}
}

static void
test_lagrange_known_answers(void)
{
	uint32_t	xs3[3] = {1, 2, 3};
	uint32_t	xs2[2] = {2, 5};
	smpc_fe		c[3];

	/* at 0 through 1,2,3: 3, -3, 1 */
	REQUIRE(smpc_shamir_lagrange_at(xs3, 3, 0, c) == SMPC_OK);
	CHECK(c[0] == 3);
	CHECK(c[1] == P - 3);
	CHECK(c[2] == 1);
	/* at 4 through 1,2,3: 1, -3, 3 */
	REQUIRE(smpc_shamir_lagrange_at(xs3, 3, 4, c) == SMPC_OK);
	CHECK(c[0] == 1);
	CHECK(c[1] == P - 3);
	CHECK(c[2] == 3);
	/* at an interpolation node: unit vector */
	REQUIRE(smpc_shamir_lagrange_at(xs3, 3, 2, c) == SMPC_OK);
	CHECK(c[0] == 0 && c[1] == 1 && c[2] == 0);
	/* at 0 through 2,5: 5/3 and -2/3 */
	REQUIRE(smpc_shamir_lagrange_at(xs2, 2, 0, c) == SMPC_OK);
	CHECK(smpc_fe_mul(c[0], 3) == 5);
	CHECK(smpc_fe_mul(c[1], 3) == P - 2);
	/* single point: constant polynomial */
	REQUIRE(smpc_shamir_lagrange_at(xs2, 1, 0, c) == SMPC_OK);
	CHECK(c[0] == 1);
	/* coefficients at 0 always sum to 1 (interpolating the constant 1) */
	{
		uint32_t	xs[40];
		smpc_fe		cc[40];
		smpc_fe		sum = 0;

		for (int j = 0; j < 40; j++)
			xs[j] = 3 * (uint32_t) j + 7;
		REQUIRE(smpc_shamir_lagrange_at(xs, 40, 0, cc) == SMPC_OK);
		for (int j = 0; j < 40; j++)
			sum = smpc_fe_add(sum, cc[j]);
		CHECK(sum == 1);
	}
}

static void
test_homomorphism(void)
{
	const int	t = 2,
				n = 5;
	const size_t nvals = 6;
	smpc_fe		a[6],
				b[6],
				expect[6],
				out[6];
	smpc_fe		sa[5 * 6],
				sb[5 * 6],
				sum[5 * 6];
	uint32_t	xs[3] = {5, 1, 3};
	smpc_fe		rows[3 * 6];
	const int	pick[3] = {4, 0, 2};

	random_secrets(a, nvals);
	random_secrets(b, nvals);
	b[0] = 1;					/* (p-1) + 1 wraps to 0 */
	for (size_t v = 0; v < nvals; v++)
		expect[v] = smpc_fe_add(a[v], smpc_fe_mul(3, b[v]));
	REQUIRE(smpc_shamir_share(a, nvals, t, n, sa) == SMPC_OK);
	REQUIRE(smpc_shamir_share(b, nvals, t, n, sb) == SMPC_OK);
	for (int i = 0; i < n * (int) nvals; i++)
		sum[i] = smpc_fe_add(sa[i], smpc_fe_mul(3, sb[i]));
	for (int j = 0; j < 3; j++)
		memcpy(&rows[j * nvals], &sum[pick[j] * nvals], nvals * sizeof(smpc_fe));
	REQUIRE(smpc_shamir_reconstruct(xs, rows, 3, nvals, out) == SMPC_OK);
	CHECK(memcmp(out, expect, sizeof(out)) == 0);
	CHECK(out[0] == 2);
	CHECK(smpc_shamir_check(xs, rows, 3, nvals, t, NULL) == SMPC_OK);
}

static void
test_argument_errors(void)
{
	smpc_fe		s[2] = {1, 2};
	smpc_fe		sh[300 * 2];
	uint32_t	xs[4] = {1, 2, 3, 4};
	uint32_t	dup[3] = {1, 2, 1};
	uint32_t	zero[3] = {1, 0, 3};
	smpc_fe		out[2];
	smpc_fe		c[3];
	int			bad = 99;

	CHECK(smpc_shamir_share(s, 2, -1, 3, sh) == SMPC_ERR_ARG);
	CHECK(smpc_shamir_share(s, 2, 3, 3, sh) == SMPC_ERR_ARG);
	CHECK(smpc_shamir_share(s, 2, 0, 0, sh) == SMPC_ERR_ARG);
	CHECK(smpc_shamir_share(s, 2, 1, SMPC_SHAMIR_MAX_PARTIES + 1, sh) == SMPC_ERR_ARG);
	CHECK(smpc_shamir_share(NULL, 2, 1, 3, sh) == SMPC_ERR_ARG);
	CHECK(smpc_shamir_share(s, 2, 1, 3, NULL) == SMPC_ERR_ARG);
	s[1] = P;
	CHECK(smpc_shamir_share(s, 2, 1, 3, sh) == SMPC_ERR_ARG);
	s[1] = 2;
	CHECK(smpc_shamir_share(s, 0, 1, 3, NULL) == SMPC_OK);

	REQUIRE(smpc_shamir_share(s, 2, 1, 4, sh) == SMPC_OK);
	CHECK(smpc_shamir_reconstruct(dup, sh, 3, 2, out) == SMPC_ERR_ARG);
	CHECK(smpc_shamir_reconstruct(zero, sh, 3, 2, out) == SMPC_ERR_ARG);
	CHECK(smpc_shamir_reconstruct(xs, sh, 0, 2, out) == SMPC_ERR_ARG);
	CHECK(smpc_shamir_reconstruct(xs, sh, SMPC_SHAMIR_MAX_PARTIES + 1, 2, out) == SMPC_ERR_ARG);
	CHECK(smpc_shamir_reconstruct(NULL, sh, 2, 2, out) == SMPC_ERR_ARG);
	CHECK(smpc_shamir_reconstruct(xs, NULL, 2, 2, out) == SMPC_ERR_ARG);
	CHECK(smpc_shamir_reconstruct(xs, sh, 2, 2, NULL) == SMPC_ERR_ARG);
	CHECK(smpc_shamir_check(xs, sh, 2, 2, 2, &bad) == SMPC_ERR_ARG);	/* k < t+1 */
	CHECK(smpc_shamir_check(xs, sh, 4, 2, -1, &bad) == SMPC_ERR_ARG);
	CHECK(smpc_shamir_check(dup, sh, 3, 2, 1, &bad) == SMPC_ERR_ARG);
	CHECK(smpc_shamir_lagrange_at(dup, 3, 0, c) == SMPC_ERR_ARG);
	CHECK(smpc_shamir_lagrange_at(xs, 3, P, c) == SMPC_ERR_ARG);
	CHECK(smpc_shamir_lagrange_at(xs, 3, 0, NULL) == SMPC_ERR_ARG);

	sh[3] = P;					/* non-canonical share */
	CHECK(smpc_shamir_reconstruct(xs, sh, 2, 2, out) == SMPC_ERR_RANGE);
	CHECK(smpc_shamir_check(xs, sh, 4, 2, 1, &bad) == SMPC_ERR_RANGE);
}

const unit_case shamir_cases[] = {
	{"reconstruct_all_subsets", test_reconstruct_all_subsets},
	{"reconstruct_64_parties", test_reconstruct_64_parties},
	{"below_threshold", test_below_threshold},
	{"threshold_zero", test_threshold_zero},
	{"check_identifies_one", test_check_identifies_one},
	{"check_identifies_one_64", test_check_identifies_one_64},
	{"check_no_redundancy", test_check_no_redundancy},
	{"check_two_corrupted", test_check_two_corrupted},
	{"check_explicit_polynomial", test_check_explicit_polynomial},
	{"lagrange_known_answers", test_lagrange_known_answers},
	{"homomorphism", test_homomorphism},
	{"argument_errors", test_argument_errors},
	{NULL, NULL}
};
