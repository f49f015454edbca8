/*
 * shamir.h
 *		Shamir secret sharing of vectors of field elements over GF(2^127-1).
 *
 * A vector of nvals secrets is shared with one independent random polynomial
 * of degree t per entry, whose constant term is the secret.  Party i
 * (0-based) receives the evaluations at x = i + 1.  Share matrices are always
 * row-major by point: the share of point j for value index v is at
 * shares[j * nvals + v].
 *
 * Evaluation points are passed as uint32_t x-coordinates; they must be
 * nonzero (x = 0 is the secret) and pairwise distinct.  At most
 * SMPC_SHAMIR_MAX_PARTIES points are accepted by any function.
 */
#ifndef SMPC_SHAMIR_H
#define SMPC_SHAMIR_H

#include <stdint.h>
#include <stddef.h>

#include "field.h"

#define SMPC_SHAMIR_MAX_PARTIES 255

/*
 * Share nvals secrets among n parties with threshold degree t (any t + 1
 * shares reconstruct, t or fewer reveal nothing).  shares_out must hold
 * n * nvals elements.  Requires 0 <= t < n <= SMPC_SHAMIR_MAX_PARTIES and
 * canonical secrets, else SMPC_ERR_ARG.  nvals == 0 is a no-op.
 */
extern int	smpc_shamir_share(const smpc_fe *secrets, size_t nvals, int t, int n,
							  smpc_fe *shares_out);

/*
 * Interpolate the k points (xs[j], shares[j*nvals + v]) at x = 0 for every v
 * and store the results in secrets_out[v].  SMPC_ERR_ARG for bad xs or k;
 * SMPC_ERR_RANGE if a share is not canonical.  The caller decides whether k
 * is enough (k >= t + 1); this function just interpolates the unique
 * polynomial of degree < k through the points.
 */
extern int	smpc_shamir_reconstruct(const uint32_t *xs, const smpc_fe *shares,
									int k, size_t nvals, smpc_fe *secrets_out);

/*
 * Verify that for every value index the k points lie on one polynomial of
 * degree <= t (requires k >= t + 1, else SMPC_ERR_ARG).  Returns SMPC_OK or
 * SMPC_ERR_INCONSISTENT.  On inconsistency, *bad_index (if not NULL) is set
 * to the index j in 0..k-1 of the single share whose removal makes the
 * remaining shares consistent when that is uniquely determined (possible
 * only when k - 1 >= t + 2), else -1; with bad_index == NULL the search is
 * skipped.  On any other return *bad_index is -1.  k == t + 1 carries no
 * redundancy and always yields SMPC_OK.  SMPC_ERR_RANGE for a non-canonical
 * share, SMPC_ERR_NOMEM if the coefficient workspace cannot be allocated.
 */
extern int	smpc_shamir_check(const uint32_t *xs, const smpc_fe *shares, int k,
							  size_t nvals, int t, int *bad_index);

/*
 * Lagrange coefficients for evaluating at x the polynomial of degree < k
 * through points with abscissae xs[0..k-1]: f(x) = sum_j coef_out[j] * f(xs[j]).
 * coef_out must hold k elements.  SMPC_ERR_ARG for bad xs or k, or a
 * non-canonical x.
 */
extern int	smpc_shamir_lagrange_at(const uint32_t *xs, int k, smpc_fe x,
									smpc_fe *coef_out);

#endif
