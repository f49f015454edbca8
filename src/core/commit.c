/*
 * commit.c
 *		Hash commitments (see commit.h for the construction).
 */
#include <string.h>
#include <sodium.h>

#include "commit.h"

#define COMMIT_DOMAIN "smpc-commit-v1"

/* Compute the commitment for (opening, value). */
static int
commit_hash(const uint8_t opening[SMPC_COMMIT_OPENING_BYTES],
			const uint8_t *value, size_t len,
			uint8_t out[SMPC_COMMIT_BYTES])
{
	crypto_generichash_state st;
	uint8_t		lenbuf[8];
	uint64_t	n = (uint64_t) len;
	int			rc = SMPC_OK;

	for (int i = 0; i < 8; i++)
		lenbuf[i] = (uint8_t) (n >> (8 * i));

	if (crypto_generichash_init(&st, NULL, 0, SMPC_COMMIT_BYTES) != 0 ||
		crypto_generichash_update(&st, (const uint8_t *) COMMIT_DOMAIN,
								  sizeof(COMMIT_DOMAIN) - 1) != 0 ||
		crypto_generichash_update(&st, opening, SMPC_COMMIT_OPENING_BYTES) != 0 ||
		crypto_generichash_update(&st, lenbuf, sizeof(lenbuf)) != 0 ||
		(len > 0 && crypto_generichash_update(&st, value, len) != 0) ||
		crypto_generichash_final(&st, out, SMPC_COMMIT_BYTES) != 0)
		rc = SMPC_ERR_CRYPTO;
	sodium_memzero(&st, sizeof(st));
	return rc;
}

int
smpc_commit(const uint8_t *value, size_t len,
			uint8_t opening[SMPC_COMMIT_OPENING_BYTES],
			uint8_t commitment[SMPC_COMMIT_BYTES])
{
	int			rc;

	if (opening == NULL || commitment == NULL || (value == NULL && len > 0))
		return SMPC_ERR_ARG;
	randombytes_buf(opening, SMPC_COMMIT_OPENING_BYTES);
	rc = commit_hash(opening, value, len, commitment);
	if (rc != SMPC_OK)
	{
		sodium_memzero(opening, SMPC_COMMIT_OPENING_BYTES);
		memset(commitment, 0, SMPC_COMMIT_BYTES);
	}
	return rc;
}

int
smpc_commit_verify(const uint8_t commitment[SMPC_COMMIT_BYTES],
				   const uint8_t opening[SMPC_COMMIT_OPENING_BYTES],
				   const uint8_t *value, size_t len)
{
	uint8_t		expect[SMPC_COMMIT_BYTES];
	int			rc;

	if (commitment == NULL || opening == NULL || (value == NULL && len > 0))
		return SMPC_ERR_ARG;
	rc = commit_hash(opening, value, len, expect);
	if (rc != SMPC_OK)
		return rc;
	if (sodium_memcmp(expect, commitment, SMPC_COMMIT_BYTES) != 0)
		return SMPC_ERR_AUTH;
	return SMPC_OK;
}
