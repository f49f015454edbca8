/*
 * protocol.c
 *		Encoding and strict decoding of the joint-aggregate protocol message
 *		bodies: key lists, PREPARE and its reply, REVEAL commitments and
 *		reply, FINISH openings, and the value a party commits to.
 *
 * See protocol.h for the layouts.  The primitives are codec.c's; this file
 * arranges fields and enforces the protocol's limits.
 *
 * Discipline, as in codec.c and messages.c:
 *	- every count is checked against its limit (SMPC_ERR_TOO_LARGE), then
 *	  against how many of its smallest items the remaining input could hold
 *	  (SMPC_ERR_TRUNCATED), and only then is anything allocated;
 *	- the encoders refuse (SMPC_ERR_ARG) exactly what the decoders reject,
 *	  and every field has one encoding, so whatever a decoder accepts
 *	  re-encodes to the very same bytes;
 *	- a failing decoder frees what it allocated and leaves its outputs
 *	  zeroed, so the _free functions are safe on them;
 *	- arrays are zeroed before they are freed: share-sums are secret until
 *	  FINISH, and key lists may hold group values a member did not publish.
 *
 * Decoded arrays are never NULL on success (an empty array still gets one
 * zeroed element), mirroring smpc_describe_reply_decode.
 */
#include <string.h>
#include <sodium.h>

#include "protocol.h"
#include "messages.h"
#include "encode.h"

/* smallest encodings of one list item, for the count-vs-input checks */
#define KEY_CELL_MIN_BYTES 1		/* isnull = 1 */
#define VALUE_SPEC_BYTES 6			/* kind || scale || length */
#define PARTY_ENTRY_MIN_BYTES 1		/* present = 0 */

/* what a NULL key cell's value points at: never a NULL pointer */
static const char empty_value[1] = "";

/* ----------------------------------------------------------- helpers */

/* Zeroed array of max(n, 1) elements from smpc_malloc; NULL on failure. */
static void *
alloc_array(size_t n, size_t size)
{
	size_t		k = n > 0 ? n : 1;
	void	   *p;

	if (k > SIZE_MAX / size)
		return NULL;
	p = smpc_malloc(k * size);
	if (p != NULL)
		memset(p, 0, k * size);
	return p;
}

/* Zero and free an array that alloc_array made for n elements. */
static void
free_array(void *p, size_t n, size_t size)
{
	if (p == NULL)
		return;
	sodium_memzero(p, (n > 0 ? n : 1) * size);
	smpc_free(p);
}

int
smpc_reader_get_nonempty_str(smpc_reader *r, size_t max, smpc_str *s)
{
	if (smpc_reader_get_str(r, max, &s->ptr, &s->len) != SMPC_OK)
		return r->status;
	if (s->len == 0)
		return smpc_reader_fail(r, SMPC_ERR_MALFORMED);
	return SMPC_OK;
}

int
smpc_party_keys_duplicate(const uint8_t *keys, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (memcmp(keys + i * SMPC_SIGN_PK_BYTES,
					   keys + j * SMPC_SIGN_PK_BYTES, SMPC_SIGN_PK_BYTES) == 0)
				return 1;
	return 0;
}

static int
value_spec_valid(uint8_t kind, uint8_t scale)
{
	switch (kind)
	{
		case SMPC_VALUE_INT:
			return scale == 0;
		case SMPC_VALUE_DECIMAL:
		case SMPC_VALUE_FLOAT:
		case SMPC_VALUE_WIDE:
			return scale <= SMPC_ENC_MAX_SCALE;
	}
	return 0;
}

size_t
smpc_value_width(const smpc_value_spec *specs, size_t n)
{
	size_t		width = 0;

	for (size_t i = 0; i < n; i++)
		width += (size_t) (specs[i].length > 0 ? specs[i].length : 1) *
			SMPC_VALUE_ELEMENTS(&specs[i]);
	return width;
}

/* Every spec valid, no vector longer than the limit, the width bounded. */
static int
value_specs_valid(const smpc_value_spec *specs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!value_spec_valid(specs[i].kind, specs[i].scale) ||
			specs[i].length > SMPC_MAX_VECTOR_LEN)
			return 0;
	return smpc_value_width(specs, n) <= SMPC_MAX_WIDTH;
}

/* An fe vector of canonical elements (the decoder rejects others). */
static int
put_sums(smpc_writer *w, const smpc_fe *v, size_t n)
{
	if (w->status != SMPC_OK)
		return w->status;
	if (v == NULL && n > 0)
		return smpc_writer_fail(w, SMPC_ERR_ARG);
	for (size_t i = 0; i < n; i++)
		if (v[i] >= SMPC_FIELD_P)
			return smpc_writer_fail(w, SMPC_ERR_ARG);
	return smpc_writer_put_fe_vector(w, v, n);
}

/*
 * Read an fe vector (u32 count || count * fe) into a fresh array of at most
 * max_count elements.  On failure *out is NULL and *count 0.
 */
static int
get_sums(smpc_reader *r, size_t max_count, smpc_fe **out, size_t *count)
{
	uint32_t	n;
	smpc_fe    *v;

	*out = NULL;
	*count = 0;
	if (smpc_reader_get_u32(r, &n) != SMPC_OK)
		return r->status;
	if (n > max_count)
		return smpc_reader_fail(r, SMPC_ERR_TOO_LARGE);
	if (n > smpc_reader_remaining(r) / SMPC_FE_BYTES)
		return smpc_reader_fail(r, SMPC_ERR_TRUNCATED);
	v = alloc_array(n, sizeof(smpc_fe));
	if (v == NULL)
		return smpc_reader_fail(r, SMPC_ERR_NOMEM);
	for (size_t i = 0; i < n; i++)
		if (smpc_reader_get_fe(r, &v[i]) != SMPC_OK)
		{
			free_array(v, n, sizeof(smpc_fe));
			return r->status;
		}
	*out = v;
	*count = n;
	return SMPC_OK;
}

/*
 * Read a REVEAL/FINISH party count: at most SMPC_MAX_PARTIES and
 * max_parties, and no more entries than the remaining input could hold.
 */
static int
get_party_count(smpc_reader *r, size_t max_parties, size_t *count)
{
	uint16_t	n;

	*count = 0;
	if (smpc_reader_get_u16(r, &n) != SMPC_OK)
		return r->status;
	if (n > SMPC_MAX_PARTIES || n > max_parties)
		return smpc_reader_fail(r, SMPC_ERR_TOO_LARGE);
	if (n > smpc_reader_remaining(r) / PARTY_ENTRY_MIN_BYTES)
		return smpc_reader_fail(r, SMPC_ERR_TRUNCATED);
	*count = n;
	return SMPC_OK;
}

/* Check a party list for the writers; SMPC_OK or the status to fail with. */
static int
check_parties(const smpc_party_opening *p, size_t nparties, int with_sums)
{
	if (nparties > SMPC_MAX_PARTIES)
		return SMPC_ERR_TOO_LARGE;
	if (p == NULL && nparties > 0)
		return SMPC_ERR_ARG;
	for (size_t i = 0; i < nparties; i++)
	{
		if (p[i].present > 1)
			return SMPC_ERR_ARG;
		if (with_sums && p[i].present)
		{
			if (p[i].sums == NULL && p[i].nsums > 0)
				return SMPC_ERR_ARG;
			if (p[i].nsums > UINT32_MAX)
				return SMPC_ERR_TOO_LARGE;
			for (size_t k = 0; k < p[i].nsums; k++)
				if (p[i].sums[k] >= SMPC_FIELD_P)
					return SMPC_ERR_ARG;
		}
	}
	return SMPC_OK;
}

/* ------------------------------------------------------------ key lists */

/* Number of cells of a key list; u32 * u16 always fits in 64 bits. */
static uint64_t
key_list_cells(uint32_t ngroups, uint16_t ncols)
{
	return (uint64_t) ngroups * ncols;
}

/* Validate a key list for the writer: SMPC_OK or SMPC_ERR_ARG. */
static int
check_key_list(const smpc_key_list *k)
{
	uint64_t	ncells;

	if (k == NULL || k->ncols > SMPC_MAX_GROUP_COLS ||
		(k->ncols == 0 && k->ngroups > 1))
		return SMPC_ERR_ARG;
	ncells = key_list_cells(k->ngroups, k->ncols);
	if (ncells > 0 && (k->cells == NULL || ncells > SIZE_MAX))
		return SMPC_ERR_ARG;
	for (size_t i = 0; i < (size_t) ncells; i++)
	{
		const smpc_key_cell *c = &k->cells[i];

		if (c->isnull > 1)
			return SMPC_ERR_ARG;
		/* a NULL cell's value is not written, so it is not looked at */
		if (!c->isnull &&
			(c->value.len > SMPC_MAX_KEY_LEN ||
			 (c->value.ptr == NULL && c->value.len > 0)))
			return SMPC_ERR_ARG;
	}
	return SMPC_OK;
}

int
smpc_writer_put_key_list(smpc_writer *w, const smpc_key_list *k)
{
	int			rc;
	size_t		ncells;

	if (w->status != SMPC_OK)
		return w->status;
	if ((rc = check_key_list(k)) != SMPC_OK)
		return smpc_writer_fail(w, rc);
	ncells = (size_t) key_list_cells(k->ngroups, k->ncols);
	smpc_writer_put_u32(w, k->ngroups);
	smpc_writer_put_u16(w, k->ncols);
	for (size_t i = 0; i < ncells && w->status == SMPC_OK; i++)
	{
		smpc_writer_put_u8(w, k->cells[i].isnull);
		if (!k->cells[i].isnull)
			smpc_writer_put_str(w, k->cells[i].value.ptr, k->cells[i].value.len);
	}
	return w->status;
}

int
smpc_reader_get_key_list(smpc_reader *r, uint32_t max_groups,
						 smpc_key_list *out)
{
	uint32_t	ngroups;
	uint16_t	ncols;
	uint64_t	ncells;
	smpc_key_cell *cells;

	if (out == NULL)
		return smpc_reader_fail(r, SMPC_ERR_ARG);
	memset(out, 0, sizeof(*out));
	if (smpc_reader_get_u32(r, &ngroups) != SMPC_OK ||
		smpc_reader_get_u16(r, &ncols) != SMPC_OK)
		return r->status;
	if (ngroups > max_groups || ncols > SMPC_MAX_GROUP_COLS)
		return smpc_reader_fail(r, SMPC_ERR_TOO_LARGE);
	if (ncols == 0 && ngroups > 1)
		return smpc_reader_fail(r, SMPC_ERR_MALFORMED);
	ncells = key_list_cells(ngroups, ncols);
	if (ncells > smpc_reader_remaining(r) / KEY_CELL_MIN_BYTES)
		return smpc_reader_fail(r, SMPC_ERR_TRUNCATED);

	cells = alloc_array((size_t) ncells, sizeof(smpc_key_cell));
	if (cells == NULL)
		return smpc_reader_fail(r, SMPC_ERR_NOMEM);
	for (size_t i = 0; i < (size_t) ncells; i++)
	{
		smpc_key_cell *c = &cells[i];

		if (smpc_reader_get_u8(r, &c->isnull) != SMPC_OK)
			break;
		if (c->isnull > 1)
		{
			smpc_reader_fail(r, SMPC_ERR_MALFORMED);
			break;
		}
		if (c->isnull)
		{
			c->value.ptr = empty_value;
			c->value.len = 0;
		}
		else if (smpc_reader_get_str(r, SMPC_MAX_KEY_LEN, &c->value.ptr,
									 &c->value.len) != SMPC_OK)
			break;
	}
	if (r->status != SMPC_OK)
	{
		free_array(cells, (size_t) ncells, sizeof(smpc_key_cell));
		return r->status;
	}
	out->ngroups = ngroups;
	out->ncols = ncols;
	out->cells = cells;
	return SMPC_OK;
}

void
smpc_key_list_free(smpc_key_list *k)
{
	if (k == NULL)
		return;
	free_array(k->cells, (size_t) key_list_cells(k->ngroups, k->ncols),
			   sizeof(smpc_key_cell));
	sodium_memzero(k, sizeof(*k));
}

/* ------------------------------------------- participants, dataset, SQL */

int
smpc_session_head_check(uint16_t nparties, const uint8_t *parties,
						smpc_str dataset, smpc_str sql)
{
	if (nparties < 2 || nparties > SMPC_MAX_PARTIES || parties == NULL ||
		smpc_party_keys_duplicate(parties, nparties))
		return SMPC_ERR_ARG;
	if (dataset.ptr == NULL || dataset.len == 0 || dataset.len > SMPC_MAX_NAME_LEN ||
		sql.ptr == NULL || sql.len == 0 || sql.len > SMPC_MAX_SQL_LEN)
		return SMPC_ERR_ARG;
	return SMPC_OK;
}

int
smpc_writer_put_session_head(smpc_writer *w, uint16_t nparties, const uint8_t *parties,
							 smpc_str dataset, smpc_str sql)
{
	smpc_writer_put_u16(w, nparties);
	smpc_writer_put_bytes(w, parties, (size_t) nparties * SMPC_SIGN_PK_BYTES);
	smpc_writer_put_str(w, dataset.ptr, dataset.len);
	return smpc_writer_put_str(w, sql.ptr, sql.len);
}

/* -------------------------------------------------------------- PREPARE */

/* Validate a PREPARE for the writer: SMPC_OK or SMPC_ERR_ARG. */
static int
check_prepare(const smpc_prepare *p)
{
	if (p == NULL || p->threshold >= p->nparties ||
		smpc_session_head_check(p->nparties, p->parties, p->dataset, p->sql) != SMPC_OK)
		return SMPC_ERR_ARG;
	if (p->nvalues == 0 || p->nvalues > SMPC_MAX_VALUES || p->values == NULL)
		return SMPC_ERR_ARG;
	if (!value_specs_valid(p->values, p->nvalues))
		return SMPC_ERR_ARG;
	if (p->reveal_keys > 1 || (p->reveal_keys && p->groups.ngroups > 0))
		return SMPC_ERR_ARG;
	return check_key_list(&p->groups);
}

int
smpc_writer_put_prepare(smpc_writer *w, const smpc_prepare *p)
{
	int			rc;

	if (w->status != SMPC_OK)
		return w->status;
	if ((rc = check_prepare(p)) != SMPC_OK)
		return smpc_writer_fail(w, rc);
	smpc_writer_put_u8(w, p->threshold);
	smpc_writer_put_session_head(w, p->nparties, p->parties, p->dataset, p->sql);
	smpc_writer_put_u16(w, p->nvalues);
	for (size_t i = 0; i < p->nvalues; i++)
	{
		smpc_writer_put_u8(w, p->values[i].kind);
		smpc_writer_put_u8(w, p->values[i].scale);
		smpc_writer_put_u32(w, p->values[i].length);
	}
	smpc_writer_put_u8(w, p->reveal_keys);
	return smpc_writer_put_key_list(w, &p->groups);
}

int
smpc_reader_get_prepare(smpc_reader *r, uint32_t max_groups, smpc_prepare *out)
{
	smpc_prepare p;
	int			rc;

	if (out == NULL)
		return smpc_reader_fail(r, SMPC_ERR_ARG);
	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));

	smpc_reader_get_u8(r, &p.threshold);
	if (smpc_reader_get_u16(r, &p.nparties) != SMPC_OK)
		goto fail;
	if (p.nparties > SMPC_MAX_PARTIES)
	{
		smpc_reader_fail(r, SMPC_ERR_TOO_LARGE);
		goto fail;
	}
	if (p.nparties < 2 || p.threshold >= p.nparties)
	{
		smpc_reader_fail(r, SMPC_ERR_MALFORMED);
		goto fail;
	}
	if (smpc_reader_get_bytes(r, (size_t) p.nparties * SMPC_SIGN_PK_BYTES,
							  &p.parties) != SMPC_OK)
		goto fail;
	if (smpc_party_keys_duplicate(p.parties, p.nparties))
	{
		smpc_reader_fail(r, SMPC_ERR_MALFORMED);
		goto fail;
	}
	if (smpc_reader_get_nonempty_str(r, SMPC_MAX_NAME_LEN, &p.dataset) != SMPC_OK ||
		smpc_reader_get_nonempty_str(r, SMPC_MAX_SQL_LEN, &p.sql) != SMPC_OK ||
		smpc_reader_get_u16(r, &p.nvalues) != SMPC_OK)
		goto fail;
	if (p.nvalues > SMPC_MAX_VALUES)
	{
		smpc_reader_fail(r, SMPC_ERR_TOO_LARGE);
		goto fail;
	}
	if (p.nvalues == 0)
	{
		smpc_reader_fail(r, SMPC_ERR_MALFORMED);
		goto fail;
	}
	if (p.nvalues > smpc_reader_remaining(r) / VALUE_SPEC_BYTES)
	{
		smpc_reader_fail(r, SMPC_ERR_TRUNCATED);
		goto fail;
	}
	p.values = alloc_array(p.nvalues, sizeof(smpc_value_spec));
	if (p.values == NULL)
	{
		smpc_reader_fail(r, SMPC_ERR_NOMEM);
		goto fail;
	}
	for (size_t i = 0; i < p.nvalues; i++)
	{
		smpc_reader_get_u8(r, &p.values[i].kind);
		smpc_reader_get_u8(r, &p.values[i].scale);
		if (smpc_reader_get_u32(r, &p.values[i].length) != SMPC_OK)
			goto fail;
		if (!value_spec_valid(p.values[i].kind, p.values[i].scale))
		{
			smpc_reader_fail(r, SMPC_ERR_MALFORMED);
			goto fail;
		}
		if (p.values[i].length > SMPC_MAX_VECTOR_LEN)
		{
			smpc_reader_fail(r, SMPC_ERR_TOO_LARGE);
			goto fail;
		}
	}
	if (smpc_value_width(p.values, p.nvalues) > SMPC_MAX_WIDTH)
	{
		smpc_reader_fail(r, SMPC_ERR_TOO_LARGE);
		goto fail;
	}
	if (smpc_reader_get_u8(r, &p.reveal_keys) != SMPC_OK)
		goto fail;
	if (p.reveal_keys > 1)
	{
		smpc_reader_fail(r, SMPC_ERR_MALFORMED);
		goto fail;
	}
	if (smpc_reader_get_key_list(r, max_groups, &p.groups) != SMPC_OK)
		goto fail;
	if (p.reveal_keys && p.groups.ngroups > 0)
	{
		smpc_reader_fail(r, SMPC_ERR_MALFORMED);
		goto fail;
	}
	if ((rc = smpc_reader_finish(r)) != SMPC_OK)
	{
		smpc_reader_fail(r, rc);
		goto fail;
	}
	*out = p;
	return SMPC_OK;

fail:
	smpc_prepare_free(&p);
	return r->status;
}

void
smpc_prepare_free(smpc_prepare *p)
{
	if (p == NULL)
		return;
	free_array(p->values, p->nvalues, sizeof(smpc_value_spec));
	smpc_key_list_free(&p->groups);
	sodium_memzero(p, sizeof(*p));
}

int
smpc_prepare_reply_encode(uint8_t kind,
						  const smpc_envelope_item *items, size_t nitems,
						  const smpc_key_list *keys,
						  uint8_t **out, size_t *outlen)
{
	smpc_writer w;

	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_u8(&w, kind);
	if (kind == SMPC_PREPARE_REPLY_SHARES)
		smpc_writer_put_envelope_list(&w, items, nitems);
	else if (kind == SMPC_PREPARE_REPLY_KEYS)
		smpc_writer_put_key_list(&w, keys);
	else
		smpc_writer_fail(&w, SMPC_ERR_ARG);
	return smpc_writer_finish(&w, out, outlen);
}

/*
 * keys may be NULL when the caller accepts only a SHARES reply; a KEYS
 * reply is then SMPC_ERR_MALFORMED.  items may be NULL with max_items 0.
 */
int
smpc_prepare_reply_decode(const uint8_t *in, size_t len, uint8_t *kind,
						  smpc_envelope_item *items, size_t max_items,
						  size_t *nitems,
						  uint32_t max_groups, smpc_key_list *keys)
{
	smpc_reader r;
	uint8_t		k;
	int			rc;

	if (kind != NULL)
		*kind = 0;
	if (nitems != NULL)
		*nitems = 0;
	if (keys != NULL)
		memset(keys, 0, sizeof(*keys));
	if (kind == NULL || nitems == NULL || (items == NULL && max_items > 0))
		return SMPC_ERR_ARG;

	smpc_reader_init(&r, in, len);
	if (smpc_reader_get_u8(&r, &k) == SMPC_OK)
	{
		if (k == SMPC_PREPARE_REPLY_SHARES)
			smpc_reader_get_envelope_list(&r, items, max_items, nitems);
		else if (k == SMPC_PREPARE_REPLY_KEYS && keys != NULL)
			smpc_reader_get_key_list(&r, max_groups, keys);
		else
			smpc_reader_fail(&r, SMPC_ERR_MALFORMED);
	}
	if ((rc = smpc_reader_finish(&r)) != SMPC_OK)
	{
		*nitems = 0;
		if (items != NULL && max_items > 0)
			memset(items, 0, max_items * sizeof(*items));
		smpc_key_list_free(keys);
		return rc;
	}
	*kind = k;
	return SMPC_OK;
}

/* ------------------------------------------------------- REVEAL / FINISH */

int
smpc_writer_put_commitments(smpc_writer *w, const smpc_party_opening *p,
							size_t nparties)
{
	int			rc;

	if (w->status != SMPC_OK)
		return w->status;
	if ((rc = check_parties(p, nparties, 0)) != SMPC_OK)
		return smpc_writer_fail(w, rc);
	smpc_writer_put_u16(w, (uint16_t) nparties);
	for (size_t i = 0; i < nparties; i++)
	{
		smpc_writer_put_u8(w, p[i].present);
		if (p[i].present)
			smpc_writer_put_bytes(w, p[i].commitment, SMPC_COMMIT_BYTES);
	}
	return w->status;
}

int
smpc_reader_get_commitments(smpc_reader *r, smpc_party_opening *p,
							size_t max_parties, size_t *nparties)
{
	size_t		n;

	if (nparties == NULL)
		return smpc_reader_fail(r, SMPC_ERR_ARG);
	*nparties = 0;
	if (p == NULL && max_parties > 0)
		return smpc_reader_fail(r, SMPC_ERR_ARG);
	if (get_party_count(r, max_parties, &n) != SMPC_OK)
		return r->status;
	if (n > 0)
		memset(p, 0, n * sizeof(*p));
	for (size_t i = 0; i < n; i++)
	{
		if (smpc_reader_get_u8(r, &p[i].present) != SMPC_OK)
			break;
		if (p[i].present > 1)
		{
			smpc_reader_fail(r, SMPC_ERR_MALFORMED);
			break;
		}
		if (p[i].present &&
			smpc_reader_copy_bytes(r, SMPC_COMMIT_BYTES, p[i].commitment) != SMPC_OK)
			break;
	}
	if (r->status != SMPC_OK)
	{
		if (n > 0)
			memset(p, 0, n * sizeof(*p));
		return r->status;
	}
	*nparties = n;
	return SMPC_OK;
}

int
smpc_reveal_reply_encode(const uint8_t opening[SMPC_COMMIT_OPENING_BYTES],
						 const smpc_fe *sums, size_t nsums,
						 uint8_t **out, size_t *outlen)
{
	smpc_writer w;

	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	if (opening == NULL)
		smpc_writer_fail(&w, SMPC_ERR_ARG);
	smpc_writer_put_bytes(&w, opening, SMPC_COMMIT_OPENING_BYTES);
	put_sums(&w, sums, nsums);
	return smpc_writer_finish(&w, out, outlen);
}

int
smpc_reveal_reply_decode(const uint8_t *in, size_t len, size_t max_sums,
						 uint8_t opening[SMPC_COMMIT_OPENING_BYTES],
						 smpc_fe **sums, size_t *nsums)
{
	smpc_reader r;
	int			rc;

	if (sums != NULL)
		*sums = NULL;
	if (nsums != NULL)
		*nsums = 0;
	if (opening == NULL || sums == NULL || nsums == NULL)
		return SMPC_ERR_ARG;

	smpc_reader_init(&r, in, len);
	smpc_reader_copy_bytes(&r, SMPC_COMMIT_OPENING_BYTES, opening);
	get_sums(&r, max_sums, sums, nsums);
	if ((rc = smpc_reader_finish(&r)) != SMPC_OK)
	{
		free_array(*sums, *nsums, sizeof(smpc_fe));
		*sums = NULL;
		*nsums = 0;
		sodium_memzero(opening, SMPC_COMMIT_OPENING_BYTES);
		return rc;
	}
	return SMPC_OK;
}

int
smpc_writer_put_openings(smpc_writer *w, const smpc_party_opening *p,
						 size_t nparties)
{
	int			rc;

	if (w->status != SMPC_OK)
		return w->status;
	if ((rc = check_parties(p, nparties, 1)) != SMPC_OK)
		return smpc_writer_fail(w, rc);
	smpc_writer_put_u16(w, (uint16_t) nparties);
	for (size_t i = 0; i < nparties && w->status == SMPC_OK; i++)
	{
		smpc_writer_put_u8(w, p[i].present);
		if (p[i].present)
		{
			smpc_writer_put_bytes(w, p[i].opening, SMPC_COMMIT_OPENING_BYTES);
			put_sums(w, p[i].sums, p[i].nsums);
		}
	}
	return w->status;
}

int
smpc_reader_get_openings(smpc_reader *r, smpc_party_opening *p,
						 size_t max_parties, size_t max_sums,
						 size_t *nparties)
{
	size_t		n;

	if (nparties == NULL)
		return smpc_reader_fail(r, SMPC_ERR_ARG);
	*nparties = 0;
	if (p == NULL && max_parties > 0)
		return smpc_reader_fail(r, SMPC_ERR_ARG);
	if (get_party_count(r, max_parties, &n) != SMPC_OK)
		return r->status;
	if (n > 0)
		memset(p, 0, n * sizeof(*p));
	for (size_t i = 0; i < n; i++)
	{
		if (smpc_reader_get_u8(r, &p[i].present) != SMPC_OK)
			break;
		if (p[i].present > 1)
		{
			smpc_reader_fail(r, SMPC_ERR_MALFORMED);
			break;
		}
		if (p[i].present &&
			(smpc_reader_copy_bytes(r, SMPC_COMMIT_OPENING_BYTES,
									p[i].opening) != SMPC_OK ||
			 get_sums(r, max_sums, &p[i].sums, &p[i].nsums) != SMPC_OK))
			break;
	}
	if (r->status != SMPC_OK)
	{
		smpc_party_openings_free(p, n);
		return r->status;
	}
	*nparties = n;
	return SMPC_OK;
}

void
smpc_party_openings_free(smpc_party_opening *p, size_t nparties)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < nparties; i++)
	{
		free_array(p[i].sums, p[i].nsums, sizeof(smpc_fe));
		sodium_memzero(&p[i], sizeof(p[i]));
	}
}

/* ------------------------------------------------------------ commitment */

int
smpc_commit_value(const uint8_t session_id[SMPC_SESSION_ID_BYTES],
				  uint16_t party, const smpc_fe *sums, size_t nsums,
				  uint8_t **out, size_t *outlen)
{
	smpc_writer w;

	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	if (session_id == NULL)
		smpc_writer_fail(&w, SMPC_ERR_ARG);
	smpc_writer_put_bytes(&w, session_id, SMPC_SESSION_ID_BYTES);
	smpc_writer_put_u16(&w, party);
	put_sums(&w, sums, nsums);
	return smpc_writer_finish(&w, out, outlen);
}
