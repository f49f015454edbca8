/*
 * protocol.h
 *		Bodies of the joint-aggregate protocol messages: PREPARE, SHARE,
 *		COMBINE, REVEAL and FINISH requests and their replies.
 *
 * A request's payload is the request header (messages.h) followed by the
 * body defined here; a reply's payload is the reply body.  As everywhere in
 * the codec, integers are little-endian, decoders check every length
 * against the remaining input and the limits below, and reject trailing
 * bytes.  Decoders that return arrays allocate them with smpc_malloc; each
 * such struct has a _free function (safe on a zeroed or partially decoded
 * struct, and it zeroes what it frees).  Strings point into the input.
 *
 * Parties are numbered by their position in the PREPARE participant list,
 * 0-based; party i holds Shamir shares at x = i + 1.  Party 0 is the
 * querying node.
 *
 * Layouts (every "list" count is checked against its limit before anything
 * is allocated; a count that cannot fit in the remaining input is
 * SMPC_ERR_TRUNCATED):
 *
 *	key list:	u32 ngroups || u16 ncols || ngroups * ncols cells,
 *				cell = u8 isnull (0 or 1) || [str value, if isnull == 0]
 *				Values are at most SMPC_MAX_KEY_LEN bytes.  ngroups <=
 *				max_groups given to the decoder; ncols <= SMPC_MAX_GROUP_COLS.
 *				ncols == 0 requires ngroups <= 1 (SMPC_ERR_MALFORMED).
 *
 *	PREPARE:	u8 threshold || u16 nparties || nparties * sign_pk[32]
 *				|| str dataset || str sql || u16 nvalues
 *				|| nvalues * (u8 kind || u8 scale || u32 length)
 *				|| u8 reveal_keys (0/1)
 *				|| key list groups
 *				nparties in 2..SMPC_MAX_PARTIES, threshold < nparties,
 *				dataset non-empty <= SMPC_MAX_NAME_LEN (messages.h), sql
 *				non-empty <= SMPC_MAX_SQL_LEN, nvalues in 1..SMPC_MAX_VALUES,
 *				kind one of SMPC_VALUE_*, scale <= SMPC_ENC_MAX_SCALE
 *				(encode.h) and 0 for SMPC_VALUE_INT, length (0: one value,
 *				else a vector of that many elements, each encoded by kind
 *				and scale) <= SMPC_MAX_VECTOR_LEN, and the width (the sum
 *				of max(1, length), doubled for SMPC_VALUE_WIDE) <=
 *				SMPC_MAX_WIDTH.  With reveal_keys == 1
 *				groups must have ngroups == 0 (the keys come in SHARE) but
 *				carries ncols.  Duplicate participant keys are
 *				SMPC_ERR_MALFORMED.
 *
 *	PREPARE reply:	u8 kind || (kind 1: envelope list (codec.h) of the
 *				shares for every other party | kind 2: key list of this
 *				party's local groups)
 *
 *	SHARE:		key list (the union of all parties' groups, in the
 *				order every party uses)
 *	SHARE reply: envelope list
 *
 *	COMBINE:	envelope list, where each item's pk is the *sender* of the
 *				envelope (it is addressed to the recipient of the request)
 *	COMBINE reply: commitment[32]
 *
 *	REVEAL:		u16 nparties || nparties * (u8 present || [commitment[32]])
 *	REVEAL reply: opening[32] || fe vector (the party's share-sums)
 *
 *	FINISH:		u16 nparties || nparties * (u8 present ||
 *				[opening[32] || fe vector])
 *	FINISH reply: digest[32]
 *
 * An envelope's plaintext is an fe vector (codec.h) of ngroups * width
 * shares, group-major (all values of group 0, then group 1, ...; a vector
 * value's elements are consecutive).
 */
#ifndef SMPC_PROTOCOL_H
#define SMPC_PROTOCOL_H

#include <stdint.h>
#include <stddef.h>

#include "codec.h"
#include "commit.h"

#define SMPC_MAX_PARTIES 64			/* a federation's parties, querying node included */
#define SMPC_MAX_VALUES 1024		/* values per group */
#define SMPC_MAX_VECTOR_LEN 1048576	/* elements of one vector value */
#define SMPC_MAX_WIDTH (SMPC_MAX_VECTOR_LEN + SMPC_MAX_VALUES)	/* field elements per group */
#define SMPC_MAX_GROUP_COLS 32		/* GROUP BY columns */
#define SMPC_MAX_KEY_LEN 1024		/* bytes of one group key value's text */
#define SMPC_MAX_SQL_LEN 65536		/* bytes of a dataset query */
#define SMPC_DIGEST_BYTES 32

/* how a member encodes one value column of its local result */
#define SMPC_VALUE_INT 1			/* integer (counts, sums of integers): exact */
#define SMPC_VALUE_DECIMAL 2		/* numeric, exact at the given scale */
#define SMPC_VALUE_FLOAT 3			/* float, fixed point rounded to the scale */
#define SMPC_VALUE_WIDE 4			/* numeric rounded to the scale, in two field
									 * elements: integer part, then fraction */

/* PREPARE reply kinds */
#define SMPC_PREPARE_REPLY_SHARES 1
#define SMPC_PREPARE_REPLY_KEYS 2

typedef struct smpc_key_cell
{
	uint8_t		isnull;
	smpc_str	value;			/* empty when isnull */
} smpc_key_cell;

typedef struct smpc_key_list
{
	uint32_t	ngroups;
	uint16_t	ncols;
	smpc_key_cell *cells;		/* ngroups * ncols, row-major; decode allocates */
} smpc_key_list;

typedef struct smpc_value_spec
{
	uint8_t		kind;			/* SMPC_VALUE_* */
	uint8_t		scale;			/* decimal digits after the point */
	uint32_t	length;			/* 0: one value; else a vector of length elements */
} smpc_value_spec;

/* Field elements one value (each element of a vector) takes: 1, or 2 for WIDE. */
#define SMPC_VALUE_ELEMENTS(spec) ((spec)->kind == SMPC_VALUE_WIDE ? 2 : 1)
/* Field elements one group's values take: the sum of max(1, length) * elements. */
extern size_t smpc_value_width(const smpc_value_spec *specs, size_t n);

typedef struct smpc_prepare
{
	uint8_t		threshold;
	uint16_t	nparties;
	const uint8_t *parties;		/* nparties * SMPC_SIGN_PK_BYTES, into the input */
	smpc_str	dataset;
	smpc_str	sql;
	uint16_t	nvalues;
	smpc_value_spec *values;	/* decode allocates */
	uint8_t		reveal_keys;
	smpc_key_list groups;
} smpc_prepare;

/* One party's entry in REVEAL (commitment) or FINISH (opening + sums). */
typedef struct smpc_party_opening
{
	uint8_t		present;
	uint8_t		commitment[SMPC_COMMIT_BYTES];	/* REVEAL */
	uint8_t		opening[SMPC_COMMIT_OPENING_BYTES];	/* FINISH */
	smpc_fe    *sums;			/* FINISH; decode allocates */
	size_t		nsums;
} smpc_party_opening;

/* ------------------------------------------------------------ key lists */

extern int	smpc_writer_put_key_list(smpc_writer *w, const smpc_key_list *k);
/* max_groups bounds ngroups (SMPC_ERR_TOO_LARGE above it). */
extern int	smpc_reader_get_key_list(smpc_reader *r, uint32_t max_groups,
									 smpc_key_list *out);
extern void smpc_key_list_free(smpc_key_list *k);

/* ------------------------------------------- participants, dataset, SQL */

/*
 * What PREPARE and INTERSECT both carry: u16 nparties || nparties *
 * sign_pk[32] || str dataset || str sql.  The check is the writers' (SMPC_OK
 * or SMPC_ERR_ARG): nparties in 2..SMPC_MAX_PARTIES without duplicate keys,
 * dataset non-empty <= SMPC_MAX_NAME_LEN, sql non-empty <= SMPC_MAX_SQL_LEN.
 */
extern int	smpc_session_head_check(uint16_t nparties, const uint8_t *parties,
									smpc_str dataset, smpc_str sql);
extern int	smpc_writer_put_session_head(smpc_writer *w, uint16_t nparties,
										 const uint8_t *parties,
										 smpc_str dataset, smpc_str sql);
/* 1 if two of the n 32-byte keys at keys are equal. */
extern int	smpc_party_keys_duplicate(const uint8_t *keys, size_t n);
/* Read a non-empty string of at most max bytes (SMPC_ERR_MALFORMED if empty). */
extern int	smpc_reader_get_nonempty_str(smpc_reader *r, size_t max, smpc_str *s);

/* -------------------------------------------------------------- PREPARE */

/* Appends the PREPARE body; SMPC_ERR_ARG for values violating the limits. */
extern int	smpc_writer_put_prepare(smpc_writer *w, const smpc_prepare *p);
/* Reads a PREPARE body up to the end of the input (smpc_reader_finish). */
extern int	smpc_reader_get_prepare(smpc_reader *r, uint32_t max_groups,
									smpc_prepare *out);
extern void smpc_prepare_free(smpc_prepare *p);

/*
 * PREPARE reply.  Encode either shares (kind SHARES, items/nitems) or keys
 * (kind KEYS).  Decode fills *kind and, for SHARES, items[0..*nitems) (at
 * most max_items, pointing into the input), for KEYS *keys.
 */
extern int	smpc_prepare_reply_encode(uint8_t kind,
									  const smpc_envelope_item *items, size_t nitems,
									  const smpc_key_list *keys,
									  uint8_t **out, size_t *outlen);
extern int	smpc_prepare_reply_decode(const uint8_t *in, size_t len,
									  uint8_t *kind,
									  smpc_envelope_item *items, size_t max_items,
									  size_t *nitems,
									  uint32_t max_groups, smpc_key_list *keys);

/* ------------------------------------------------------- REVEAL / FINISH */

/*
 * REVEAL body: the commitments (present entries only carry one).
 * SMPC_ERR_TOO_LARGE if nparties > SMPC_MAX_PARTIES.
 */
extern int	smpc_writer_put_commitments(smpc_writer *w,
										const smpc_party_opening *p, size_t nparties);
/* Decodes into p[0..*nparties), at most max_parties entries. */
extern int	smpc_reader_get_commitments(smpc_reader *r, smpc_party_opening *p,
										size_t max_parties, size_t *nparties);

/* REVEAL reply: opening || fe vector; decode allocates *sums. */
extern int	smpc_reveal_reply_encode(const uint8_t opening[SMPC_COMMIT_OPENING_BYTES],
									 const smpc_fe *sums, size_t nsums,
									 uint8_t **out, size_t *outlen);
extern int	smpc_reveal_reply_decode(const uint8_t *in, size_t len,
									 size_t max_sums,
									 uint8_t opening[SMPC_COMMIT_OPENING_BYTES],
									 smpc_fe **sums, size_t *nsums);

/*
 * FINISH body: every party's opening and share-sums (present entries
 * only).  Decode allocates each present entry's sums (at most max_sums
 * each); free with smpc_party_openings_free.
 */
extern int	smpc_writer_put_openings(smpc_writer *w,
									 const smpc_party_opening *p, size_t nparties);
extern int	smpc_reader_get_openings(smpc_reader *r, smpc_party_opening *p,
									 size_t max_parties, size_t max_sums,
									 size_t *nparties);
extern void smpc_party_openings_free(smpc_party_opening *p, size_t nparties);

/*
 * The value a party commits to for its share-sums: session_id ||
 * u16 party index || fe vector.  Allocated with smpc_malloc.
 */
extern int	smpc_commit_value(const uint8_t session_id[SMPC_SESSION_ID_BYTES],
							  uint16_t party, const smpc_fe *sums, size_t nsums,
							  uint8_t **out, size_t *outlen);

#endif
