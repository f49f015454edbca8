/*
 * psi.h
 *		Private set intersection cardinality: ECDH over ristretto255
 *		(libsodium), the key hashing with domain separation, sorted point
 *		lists, and the bodies of the INTERSECT and HOP messages.
 *
 * Every party i draws a fresh secret scalar k_i per session.  A key x is
 * hashed to a group element P(x) bound to the session and the key's class;
 * each party's set travels as the sorted list of P(x)^(k_i) and is raised
 * by every other party's scalar in turn.  After all n scalars, equal keys
 * give equal points, and nothing else does (except with negligible
 * probability); sorting at every step hides which input became which
 * output.
 *
 * Layouts (little-endian, as everywhere in the codec):
 *
 *	point list:	u32 count || count * point[32], strictly ascending in
 *				memcmp order (so: distinct).  Points are not checked to be
 *				group elements here; smpc_psi_point_mult refuses those that
 *				are not.
 *
 *	INTERSECT:	u16 nparties || nparties * sign_pk[32] || str dataset
 *				|| str sql || u8 key_class
 *				nparties in 2..SMPC_MAX_PARTIES, no duplicate keys
 *				(SMPC_ERR_MALFORMED), dataset non-empty <= SMPC_MAX_NAME_LEN,
 *				sql non-empty <= SMPC_MAX_SQL_LEN, key_class one of
 *				SMPC_PSI_KEY_* (SMPC_ERR_MALFORMED otherwise).
 *	INTERSECT reply: point list (the member's own set under its scalar)
 *
 *	HOP:		u16 hop || point list;  hop in 1..SMPC_MAX_PARTIES - 1
 *				(SMPC_ERR_MALFORMED otherwise)
 *	HOP reply:	point list (the input raised to the member's scalar)
 *
 *	FINISH of an intersection session: empty body, empty reply.
 */
#ifndef SMPC_PSI_H
#define SMPC_PSI_H

#include <stdint.h>
#include <stddef.h>

#include "codec.h"

#define SMPC_PSI_POINT_BYTES 32		/* crypto_core_ristretto255_BYTES */
#define SMPC_PSI_SCALAR_BYTES 32	/* crypto_core_ristretto255_SCALARBYTES */
#define SMPC_PSI_HASH_BYTES 64		/* crypto_core_ristretto255_HASHBYTES */

/* how a key's value is turned into bytes before hashing */
#define SMPC_PSI_KEY_INTEGER 1		/* smallint, integer, bigint: 8 bytes, LE two's complement */
#define SMPC_PSI_KEY_TEXT 2			/* text, varchar, char: UTF-8 bytes */
#define SMPC_PSI_KEY_UUID 3			/* uuid: its 16 bytes */

/* domain separation tag of the key hash */
#define SMPC_PSI_DOMAIN "smpc-psi-v1"

/*
 * smpc_psi_key_hash: the 64-byte hash a key is mapped to the group with,
 *
 *	BLAKE2b-512( u8 strlen(SMPC_PSI_DOMAIN) || SMPC_PSI_DOMAIN
 *				 || session_id[16] || u8 key_class || u64 len || key[len] )
 *
 * SMPC_ERR_ARG for an unknown class, an integer key that is not 8 bytes,
 * a uuid key that is not 16 bytes, or key == NULL with len > 0.
 */
extern int	smpc_psi_key_hash(const uint8_t session_id[SMPC_SESSION_ID_BYTES],
							  uint8_t key_class, const uint8_t *key, size_t len,
							  uint8_t out[SMPC_PSI_HASH_BYTES]);

/* A fresh random non-zero scalar (SMPC_ERR_CRYPTO if libsodium fails). */
extern int	smpc_psi_scalar_new(uint8_t k[SMPC_PSI_SCALAR_BYTES]);

/*
 * smpc_psi_hash_mult: out = from_hash(hash)^k.
 * SMPC_ERR_CRYPTO if the result is the identity (negligible).
 */
extern int	smpc_psi_hash_mult(const uint8_t k[SMPC_PSI_SCALAR_BYTES],
							   const uint8_t hash[SMPC_PSI_HASH_BYTES],
							   uint8_t out[SMPC_PSI_POINT_BYTES]);

/*
 * smpc_psi_point_mult: out = in^k.  SMPC_ERR_MALFORMED if in is not the
 * canonical encoding of a ristretto255 element, or in^k is the identity.
 */
extern int	smpc_psi_point_mult(const uint8_t k[SMPC_PSI_SCALAR_BYTES],
								const uint8_t in[SMPC_PSI_POINT_BYTES],
								uint8_t out[SMPC_PSI_POINT_BYTES]);

/*
 * smpc_psi_sort_unique: sort *n points ascending in memcmp order and drop
 * duplicates, updating *n.  Linear-time for uniformly distributed points.
 * SMPC_ERR_NOMEM if scratch space cannot be allocated (points unchanged).
 */
extern int	smpc_psi_sort_unique(uint8_t *points, size_t *n);

/* SMPC_OK if the n points are strictly ascending, else SMPC_ERR_MALFORMED. */
extern int	smpc_psi_check_sorted(const uint8_t *points, size_t n);

/*
 * smpc_psi_count_common: how many points occur in every one of nlists
 * strictly ascending lists (nlists >= 1; a list of count 0 gives 0).
 */
extern size_t smpc_psi_count_common(const uint8_t *const *lists, const size_t *counts,
									size_t nlists);

/* --------------------------------------------------------------- messages */

typedef struct smpc_intersect
{
	uint16_t	nparties;
	const uint8_t *parties;		/* nparties * SMPC_SIGN_PK_BYTES, into the input */
	smpc_str	dataset;
	smpc_str	sql;
	uint8_t		key_class;		/* SMPC_PSI_KEY_* */
} smpc_intersect;

/* Appends the INTERSECT body; SMPC_ERR_ARG for values violating the limits. */
extern int	smpc_writer_put_intersect(smpc_writer *w, const smpc_intersect *p);
/* Reads an INTERSECT body up to the end of the input. */
extern int	smpc_reader_get_intersect(smpc_reader *r, smpc_intersect *out);

/* Appends a point list; SMPC_ERR_ARG if not strictly ascending or count > UINT32_MAX. */
extern int	smpc_writer_put_points(smpc_writer *w, const uint8_t *points, size_t count);

/*
 * Reads a point list: *points points into the input.  SMPC_ERR_TOO_LARGE if
 * count > max_count, SMPC_ERR_TRUNCATED if count points do not fit the
 * remaining input, SMPC_ERR_MALFORMED if not strictly ascending.
 */
extern int	smpc_reader_get_points(smpc_reader *r, size_t max_count,
								   const uint8_t **points, size_t *count);

/* A whole message that is one point list (the INTERSECT and HOP replies). */
extern int	smpc_points_encode(const uint8_t *points, size_t count,
							   uint8_t **out, size_t *outlen);
extern int	smpc_points_decode(const uint8_t *in, size_t len, size_t max_count,
							   const uint8_t **points, size_t *count);

/* HOP body; the reader reads up to the end of the input. */
extern int	smpc_writer_put_hop(smpc_writer *w, uint16_t hop,
								const uint8_t *points, size_t count);
extern int	smpc_reader_get_hop(smpc_reader *r, size_t max_count, uint16_t *hop,
								const uint8_t **points, size_t *count);

#endif
