/*
 * shamir.c
 *		Shamir secret sharing of vectors of field elements over GF(2^127-1).
 *
 * Interpolation uses the barycentric form of Lagrange's formula: for base
 * abscissae b_0..b_{m-1} the weights w_j = 1 / prod_{i != j} (b_j - b_i)
 * depend only on the base, and the coefficient of point j for evaluation at
 * x is w_j * prod_{i != j} (x - b_i).  Weights cost O(m^2) multiplications
 * plus a single field inversion (Montgomery's batch-inversion trick); the
 * coefficients for each target x then cost O(m).  Coefficients are computed
 * once per call and applied to every value index.
 */
#include <stdbool.h>
#include <sodium.h>

#include "shamir.h"

/* values whose random coefficients are drawn at once */
#define RANDOM_BLOCK 256

/*
 * Check an abscissa list: 1 <= k <= SMPC_SHAMIR_MAX_PARTIES, every x nonzero
 * and all pairwise distinct.  Returns SMPC_OK or SMPC_ERR_ARG.
 */
static int
validate_xs(const uint32_t *xs, int k)
{
	if (xs == NULL || k < 1 || k > SMPC_SHAMIR_MAX_PARTIES)
		return SMPC_ERR_ARG;
	for (int j = 0; j < k; j++)
	{
		if (xs[j] == 0)
			return SMPC_ERR_ARG;
		for (int i = 0; i < j; i++)
			if (xs[i] == xs[j])
				return SMPC_ERR_ARG;
	}
	return SMPC_OK;
}

/*
 * Check that k * nvals shares exist (no size_t overflow, non-NULL when
 * nonempty) and are canonical.  Returns SMPC_OK, SMPC_ERR_ARG or
 * SMPC_ERR_RANGE.
 */
static int
validate_shares(const smpc_fe *shares, int k, size_t nvals)
{
	size_t		total;

	if (nvals == 0)
		return SMPC_OK;
	if (shares == NULL || nvals > SIZE_MAX / sizeof(smpc_fe) / (size_t) k)
		return SMPC_ERR_ARG;
	total = (size_t) k * nvals;
	for (size_t i = 0; i < total; i++)
		if (shares[i] >= SMPC_FIELD_P)
			return SMPC_ERR_RANGE;
	return SMPC_OK;
}

/*
 * Barycentric weights w[j] = 1 / prod_{i != j} (bx[j] - bx[i]) for m >= 1
 * distinct canonical abscissae.  Uses one field inversion for all m weights.
 */
static void
bary_weights(const smpc_fe *bx, int m, smpc_fe *w)
{
	smpc_fe		den[SMPC_SHAMIR_MAX_PARTIES];
	smpc_fe		pre[SMPC_SHAMIR_MAX_PARTIES];
	smpc_fe		total = 1;
	smpc_fe		inv;

	/* den[j] = prod_{i != j} (bx[j] - bx[i]); pre[j] = den[0] * ... * den[j-1] */
	for (int j = 0; j < m; j++)
	{
		smpc_fe		d = 1;

		for (int i = 0; i < m; i++)
			if (i != j)
				d = smpc_fe_mul(d, smpc_fe_sub(bx[j], bx[i]));
		den[j] = d;
		pre[j] = total;
		total = smpc_fe_mul(total, d);
	}

	/*
	 * Distinct abscissae make every denominator, hence the product, nonzero,
	 * so Fermat inversion (a^(p-2)) is valid.
	 */
	inv = smpc_fe_pow(total, SMPC_FIELD_P - 2);

	/* inv = 1 / (den[0] * ... * den[j]) at the top of each iteration */
	for (int j = m - 1; j >= 0; j--)
	{
		w[j] = smpc_fe_mul(inv, pre[j]);
		inv = smpc_fe_mul(inv, den[j]);
	}
}

/*
 * Lagrange coefficients for evaluation at x, given base abscissae bx[0..m-1]
 * and their barycentric weights w: coef[j] = w[j] * prod_{i != j} (x - bx[i]).
 * Correct also when x equals some bx[j] (coef is then the unit vector e_j).
 */
static void
coefs_at(const smpc_fe *bx, const smpc_fe *w, int m, smpc_fe x, smpc_fe *coef)
{
	smpc_fe		prefix = 1;
	smpc_fe		suffix = 1;

	for (int j = 0; j < m; j++)
	{
		coef[j] = prefix;
		prefix = smpc_fe_mul(prefix, smpc_fe_sub(x, bx[j]));
	}
	for (int j = m - 1; j >= 0; j--)
	{
		coef[j] = smpc_fe_mul(smpc_fe_mul(coef[j], suffix), w[j]);
		suffix = smpc_fe_mul(suffix, smpc_fe_sub(x, bx[j]));
	}
}

/*
 * Share nvals secrets among n parties with a degree-t polynomial each; see
 * shamir.h.  The random coefficients are wiped before returning.
 */
int
smpc_shamir_share(const smpc_fe *secrets, size_t nvals, int t, int n,
				  smpc_fe *shares_out)
{
	smpc_fe		coef[SMPC_SHAMIR_MAX_PARTIES];
	smpc_fe    *random = NULL;

	if (t < 0 || n <= t || n > SMPC_SHAMIR_MAX_PARTIES)
		return SMPC_ERR_ARG;
	if (nvals == 0)
		return SMPC_OK;
	if (secrets == NULL || shares_out == NULL ||
		nvals > SIZE_MAX / sizeof(smpc_fe) / (size_t) n)
		return SMPC_ERR_ARG;
	for (size_t v = 0; v < nvals; v++)
		if (secrets[v] >= SMPC_FIELD_P)
			return SMPC_ERR_ARG;

	if (t > 0)
	{
		random = smpc_malloc(sizeof(smpc_fe) * RANDOM_BLOCK * (size_t) t);
		if (random == NULL)
			return SMPC_ERR_NOMEM;
	}
	for (size_t v = 0; v < nvals; v++)
	{
		/* the coefficients of RANDOM_BLOCK values at a time */
		if (t > 0 && v % RANDOM_BLOCK == 0)
			smpc_fe_random_fill(random, RANDOM_BLOCK * (size_t) t);
		coef[0] = secrets[v];
		for (int d = 1; d <= t; d++)
			coef[d] = random[(v % RANDOM_BLOCK) * (size_t) t + (size_t) (d - 1)];

		for (int i = 0; i < n; i++)
		{
			smpc_fe		x = (smpc_fe) (i + 1);
			smpc_fe		acc = coef[t];

			/* Horner's rule */
			for (int d = t - 1; d >= 0; d--)
				acc = smpc_fe_add(smpc_fe_mul(acc, x), coef[d]);
			shares_out[(size_t) i * nvals + v] = acc;
		}
	}
	sodium_memzero(coef, sizeof(coef));
	if (random != NULL)
	{
		sodium_memzero(random, sizeof(smpc_fe) * RANDOM_BLOCK * (size_t) t);
		smpc_free(random);
	}
	return SMPC_OK;
}

/*
 * Lagrange coefficients for evaluating at x; see shamir.h.
 */
int
smpc_shamir_lagrange_at(const uint32_t *xs, int k, smpc_fe x, smpc_fe *coef_out)
{
	smpc_fe		bx[SMPC_SHAMIR_MAX_PARTIES];
	smpc_fe		w[SMPC_SHAMIR_MAX_PARTIES];
	int			rc;

	if ((rc = validate_xs(xs, k)) != SMPC_OK)
		return rc;
	if (coef_out == NULL || x >= SMPC_FIELD_P)
		return SMPC_ERR_ARG;
	for (int j = 0; j < k; j++)
		bx[j] = xs[j];
	bary_weights(bx, k, w);
	coefs_at(bx, w, k, x, coef_out);
	return SMPC_OK;
}

/*
 * Interpolate every value index at x = 0; see shamir.h.  secrets_out may
 * alias the first row of shares.
 */
int
smpc_shamir_reconstruct(const uint32_t *xs, const smpc_fe *shares, int k,
						size_t nvals, smpc_fe *secrets_out)
{
	smpc_fe		coef[SMPC_SHAMIR_MAX_PARTIES];
	int			rc;

	if ((rc = validate_xs(xs, k)) != SMPC_OK)
		return rc;
	if ((rc = validate_shares(shares, k, nvals)) != SMPC_OK)
		return rc;
	if (nvals == 0)
		return SMPC_OK;
	if (secrets_out == NULL)
		return SMPC_ERR_ARG;

	rc = smpc_shamir_lagrange_at(xs, k, 0, coef);
	if (rc != SMPC_OK)
		return rc;

	for (size_t v = 0; v < nvals; v++)
	{
		smpc_fe		acc = 0;

		for (int j = 0; j < k; j++)
			acc = smpc_fe_add(acc, smpc_fe_mul(coef[j], shares[(size_t) j * nvals + v]));
		secrets_out[v] = acc;
	}
	return SMPC_OK;
}

/*
 * Do the m points selected by idx[0..m-1] (indices into xs/shares rows) lie
 * on one polynomial of degree <= t for every value index in [v0, v1)?
 * Requires m >= t + 1.  The first t + 1 selected points form the
 * interpolation base; every other selected point is predicted from them and
 * compared.  mat is a workspace of at least (m - t - 1) * (t + 1) elements.
 * On failure, *bad_v (if not NULL) receives the first failing value index.
 */
static bool
points_consistent(const uint32_t *xs, const smpc_fe *shares, size_t nvals,
				  int t, const int *idx, int m, smpc_fe *mat,
				  size_t v0, size_t v1, size_t *bad_v)
{
	smpc_fe		bx[SMPC_SHAMIR_MAX_PARTIES];
	smpc_fe		w[SMPC_SHAMIR_MAX_PARTIES];
	int			nb = t + 1;
	int			nother = m - nb;

	if (nb < 1 || nother <= 0)
		return true;

	for (int b = 0; b < nb; b++)
		bx[b] = xs[idx[b]];
	bary_weights(bx, nb, w);
	for (int o = 0; o < nother; o++)
		coefs_at(bx, w, nb, xs[idx[nb + o]], &mat[(size_t) o * (size_t) nb]);

	for (size_t v = v0; v < v1; v++)
	{
		for (int o = 0; o < nother; o++)
		{
			const smpc_fe *c = &mat[(size_t) o * (size_t) nb];
			smpc_fe		acc = 0;

			for (int b = 0; b < nb; b++)
				acc = smpc_fe_add(acc,
								  smpc_fe_mul(c[b], shares[(size_t) idx[b] * nvals + v]));
			if (acc != shares[(size_t) idx[nb + o] * nvals + v])
			{
				if (bad_v != NULL)
					*bad_v = v;
				return false;
			}
		}
	}
	return true;
}

/*
 * Consistency check with single-fault identification; see shamir.h.
 *
 * If the full set is inconsistent at value index v* and k - 1 >= t + 2, each
 * share is tried as the culprit by testing the other k - 1 shares at v*
 * only.  A removal that fixes v* is unique if it exists: any other removal
 * leaves at least k - 2 >= t + 1 points that agree with the true polynomial
 * at v* plus one that does not.  The unique candidate (if any) is then
 * verified on every value index; if it fails there, more than one share is
 * bad and no single culprit exists.  The result equals testing every
 * candidate on every value, at the cost of one extra full check.
 */
int
smpc_shamir_check(const uint32_t *xs, const smpc_fe *shares, int k,
				  size_t nvals, int t, int *bad_index)
{
	int			idx[SMPC_SHAMIR_MAX_PARTIES];
	smpc_fe    *mat;
	int			rc;
	int			found = 0;
	int			culprit = -1;
	size_t		bad_v = 0;

	if (bad_index != NULL)
		*bad_index = -1;
	if ((rc = validate_xs(xs, k)) != SMPC_OK)
		return rc;
	if (t < 0 || k < t + 1)
		return SMPC_ERR_ARG;
	if ((rc = validate_shares(shares, k, nvals)) != SMPC_OK)
		return rc;
	if (k == t + 1 || nvals == 0)
		return SMPC_OK;

	mat = smpc_malloc((size_t) (k - t - 1) * (size_t) (t + 1) * sizeof(smpc_fe));
	if (mat == NULL)
		return SMPC_ERR_NOMEM;

	for (int j = 0; j < k; j++)
		idx[j] = j;
	if (points_consistent(xs, shares, nvals, t, idx, k, mat, 0, nvals, &bad_v))
	{
		smpc_free(mat);
		return SMPC_OK;
	}

	if (k - 1 >= t + 2 && bad_index != NULL)
	{
		for (int c = 0; c < k; c++)
		{
			int			m = 0;

			for (int j = 0; j < k; j++)
				if (j != c)
					idx[m++] = j;
			if (points_consistent(xs, shares, nvals, t, idx, m, mat,
								  bad_v, bad_v + 1, NULL))
			{
				found++;
				culprit = c;
			}
		}
		if (found == 1)
		{
			int			m = 0;

			for (int j = 0; j < k; j++)
				if (j != culprit)
					idx[m++] = j;
			if (points_consistent(xs, shares, nvals, t, idx, m, mat,
								  0, nvals, NULL))
				*bad_index = culprit;
		}
	}
	smpc_free(mat);
	return SMPC_ERR_INCONSISTENT;
}
