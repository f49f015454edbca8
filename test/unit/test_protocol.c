/*
 * test_protocol.c
 *		Unit tests of the protocol message bodies (src/core/protocol.c).
 *
 * Every decoder is run through a wrapper that decodes from an exact-size
 * heap copy (so AddressSanitizer sees any over-read), checks that a failed
 * decode left its outputs zeroed, re-encodes whatever was accepted and
 * insists on identical bytes, and frees.  Valid encodings are decoded whole,
 * at every proper prefix (SMPC_ERR_TRUNCATED) and with one byte appended
 * (SMPC_ERR_TRAILING).
 *
 * The core's allocation hooks are pointed at wrappers here that count
 * allocations (limits must be checked before anything is allocated), fail
 * on demand (a decoder must fail cleanly with SMPC_ERR_NOMEM;
 * LeakSanitizer reports any leak), and check that every array a decoder or
 * _free function frees was zeroed first.
 */
#include <stdlib.h>
#include <sodium.h>

#include "protocol.h"
#include "messages.h"
#include "encode.h"
#include "unit.h"

/* ------------------------------------------------------ allocation hooks */

#define HOOK_HEADER 16			/* keeps 16-byte alignment for smpc_fe */

static void *(*saved_malloc) (size_t);
static void *(*saved_realloc) (void *, size_t);
static void (*saved_free) (void *);
static int	hooked;
static size_t alloc_count;		/* successful allocations since reset */
static size_t alloc_fail_after = SIZE_MAX;	/* fail once alloc_count hits it */
static int	zero_check;			/* frees must find zeroed memory */
static size_t zero_checked_frees;
static size_t nonzero_frees;

static void *
hook_malloc(size_t n)
{
	uint8_t    *p;

	if (alloc_count >= alloc_fail_after || n > SIZE_MAX - HOOK_HEADER)
		return NULL;
	p = malloc(n + HOOK_HEADER);
	if (p == NULL)
		return NULL;
	alloc_count++;
	memcpy(p, &n, sizeof(n));
	return p + HOOK_HEADER;
}

static void
hook_free(void *ptr)
{
	uint8_t    *p;
	size_t		n;

	if (ptr == NULL)
		return;
	p = (uint8_t *) ptr - HOOK_HEADER;
	memcpy(&n, p, sizeof(n));
	if (zero_check)
	{
		zero_checked_frees++;
		for (size_t i = 0; i < n; i++)
			if (((const uint8_t *) ptr)[i] != 0)
			{
				nonzero_frees++;
				break;
			}
	}
	free(p);
}

static void *
hook_realloc(void *ptr, size_t n)
{
	void	   *q = hook_malloc(n);
	size_t		old;

	if (q == NULL || ptr == NULL)
		return q;
	memcpy(&old, (uint8_t *) ptr - HOOK_HEADER, sizeof(old));
	memcpy(q, ptr, old < n ? old : n);
	hook_free(ptr);
	return q;
}

static void
hooks_on(void)
{
	if (hooked)
		return;
	saved_malloc = smpc_malloc;
	saved_realloc = smpc_realloc;
	saved_free = smpc_free;
	smpc_malloc = hook_malloc;
	smpc_realloc = hook_realloc;
	smpc_free = hook_free;
	alloc_count = 0;
	alloc_fail_after = SIZE_MAX;
	zero_check = 0;
	nonzero_frees = 0;
	zero_checked_frees = 0;
	hooked = 1;
}

static void
hooks_off(void)
{
	if (!hooked)
		return;
	CHECK(nonzero_frees == 0);
	smpc_malloc = saved_malloc;
	smpc_realloc = saved_realloc;
	smpc_free = saved_free;
	hooked = 0;
}

/* A test body that runs with the hooks installed, even if it REQUIREs out. */
#define HOOKED_TEST(name) \
	static void name##_body(void); \
	static void name(void) { hooks_on(); name##_body(); hooks_off(); } \
	static void name##_body(void)

/* ---------------------------------------------------------------- helpers */

static smpc_str
S(const char *s)
{
	smpc_str	r = {s, strlen(s)};

	return r;
}

static int
StrEq(smpc_str a, const char *b)
{
	return a.len == strlen(b) && memcmp(a.ptr, b, a.len) == 0;
}

/* Finish a writer (as smpc_writer_finish); returns the status. */
static int
finish(smpc_writer *w, uint8_t **out, size_t *len)
{
	return smpc_writer_finish(w, out, len);
}

static smpc_fe
fe_of(uint64_t v)
{
	return (smpc_fe) v;
}

/* Re-encoding in the wrappers must not be hit by injected failures. */
static size_t paused_fail_after;

static void
pause_failures(void)
{
	paused_fail_after = alloc_fail_after;
	alloc_fail_after = SIZE_MAX;
}

static void
resume_failures(void)
{
	alloc_fail_after = paused_fail_after;
}

/* limits the decode wrappers pass */
static uint32_t lim_groups = 1000;
static size_t lim_items = SMPC_MAX_PARTIES;
static size_t lim_parties = SMPC_MAX_PARTIES;
static size_t lim_sums = 100000;
/* allocations the last wrapped decode made (before any re-encoding) */
static size_t last_dec_allocs;

/* ------------------------------------------------------- decode wrappers */

typedef int (*dec_fn) (const uint8_t *in, size_t len);

static int
dec_key_list(const uint8_t *in, size_t len)
{
	uint8_t    *copy = exact_copy(in, len);
	smpc_reader r;
	smpc_key_list k;
	int			rc;

	memset(&k, 0xEE, sizeof(k));
	smpc_reader_init(&r, copy, len);
	alloc_count = 0;
	zero_check = 1;
	rc = smpc_reader_get_key_list(&r, lim_groups, &k);
	zero_check = 0;
	last_dec_allocs = alloc_count;
	if (rc != SMPC_OK)
		CHECK(all_zero(&k, sizeof(k)));
	else
	{
		rc = smpc_reader_finish(&r);
		CHECK(k.ngroups <= lim_groups && k.ncols <= SMPC_MAX_GROUP_COLS);
		CHECK(k.cells != NULL);
		for (size_t i = 0; i < (size_t) k.ngroups * k.ncols; i++)
			CHECK(k.cells[i].value.ptr != NULL &&
				  (k.cells[i].isnull == 0 || k.cells[i].value.len == 0));
	}
	if (rc == SMPC_OK)
	{
		smpc_writer w;
		uint8_t    *enc;
		size_t		enc_len;

		pause_failures();
		smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
		smpc_writer_put_key_list(&w, &k);
		CHECK(finish(&w, &enc, &enc_len) == SMPC_OK);
		CHECK(same(enc, enc_len, copy, len));
		smpc_free(enc);
		resume_failures();
	}
	zero_check = 1;
	smpc_key_list_free(&k);
	zero_check = 0;
	CHECK(all_zero(&k, sizeof(k)));
	free(copy);
	return rc;
}

static int
dec_prepare(const uint8_t *in, size_t len)
{
	uint8_t    *copy = exact_copy(in, len);
	smpc_reader r;
	smpc_prepare p;
	int			rc;

	memset(&p, 0xEE, sizeof(p));
	smpc_reader_init(&r, copy, len);
	alloc_count = 0;
	zero_check = 1;
	rc = smpc_reader_get_prepare(&r, lim_groups, &p);
	zero_check = 0;
	last_dec_allocs = alloc_count;
	CHECK(rc == smpc_reader_finish(&r));	/* the status sticks */
	if (rc != SMPC_OK)
		CHECK(all_zero(&p, sizeof(p)));
	else
	{
		smpc_writer w;
		uint8_t    *enc;
		size_t		enc_len;

		CHECK(p.parties >= copy && p.parties + (size_t) p.nparties * 32 <= copy + len);
		CHECK(p.values != NULL);
		pause_failures();
		smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
		smpc_writer_put_prepare(&w, &p);
		CHECK(finish(&w, &enc, &enc_len) == SMPC_OK);
		CHECK(same(enc, enc_len, copy, len));
		smpc_free(enc);
		resume_failures();
	}
	zero_check = 1;
	smpc_prepare_free(&p);
	zero_check = 0;
	CHECK(all_zero(&p, sizeof(p)));
	free(copy);
	return rc;
}

static int
dec_prepare_reply(const uint8_t *in, size_t len)
{
	uint8_t    *copy = exact_copy(in, len);
	smpc_envelope_item items[SMPC_MAX_PARTIES];
	smpc_key_list keys;
	uint8_t		kind = 0xEE;
	size_t		n = 999;
	int			rc;

	memset(items, 0xEE, sizeof(items));
	memset(&keys, 0xEE, sizeof(keys));
	alloc_count = 0;
	zero_check = 1;
	rc = smpc_prepare_reply_decode(copy, len, &kind, items, lim_items, &n,
								   lim_groups, &keys);
	zero_check = 0;
	last_dec_allocs = alloc_count;
	if (rc != SMPC_OK)
	{
		CHECK(kind == 0 && n == 0 && all_zero(&keys, sizeof(keys)));
		CHECK(all_zero(items, lim_items * sizeof(items[0])));
	}
	else
	{
		uint8_t    *enc;
		size_t		enc_len;

		CHECK(kind == SMPC_PREPARE_REPLY_SHARES || kind == SMPC_PREPARE_REPLY_KEYS);
		if (kind == SMPC_PREPARE_REPLY_SHARES)
			CHECK(all_zero(&keys, sizeof(keys)) && n <= lim_items);
		else
			CHECK(n == 0);
		pause_failures();
		CHECK(smpc_prepare_reply_encode(kind, items, n, &keys, &enc, &enc_len) == SMPC_OK);
		CHECK(same(enc, enc_len, copy, len));
		smpc_free(enc);
		resume_failures();
	}
	zero_check = 1;
	smpc_key_list_free(&keys);
	zero_check = 0;
	free(copy);
	return rc;
}

static int
dec_commitments(const uint8_t *in, size_t len)
{
	uint8_t    *copy = exact_copy(in, len);
	smpc_party_opening p[SMPC_MAX_PARTIES];
	smpc_reader r;
	size_t		n = 999;
	int			rc;

	memset(p, 0, sizeof(p));
	smpc_reader_init(&r, copy, len);
	alloc_count = 0;
	rc = smpc_reader_get_commitments(&r, p, lim_parties, &n);
	last_dec_allocs = alloc_count;
	if (rc != SMPC_OK)
		CHECK(n == 0 && all_zero(p, sizeof(p)));
	else
	{
		smpc_writer w;
		uint8_t    *enc;
		size_t		enc_len;

		rc = smpc_reader_finish(&r);
		CHECK(n <= lim_parties);
		for (size_t i = 0; i < n; i++)
			CHECK(p[i].present <= 1 && p[i].sums == NULL && p[i].nsums == 0 &&
				  (p[i].present || all_zero(p[i].commitment, SMPC_COMMIT_BYTES)));
		pause_failures();
		smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
		smpc_writer_put_commitments(&w, p, n);
		CHECK(finish(&w, &enc, &enc_len) == SMPC_OK);
		if (rc == SMPC_OK)
			CHECK(same(enc, enc_len, copy, len));
		smpc_free(enc);
		resume_failures();
	}
	free(copy);
	return rc;
}

static int
dec_reveal_reply(const uint8_t *in, size_t len)
{
	uint8_t    *copy = exact_copy(in, len);
	uint8_t		opening[SMPC_COMMIT_OPENING_BYTES];
	static smpc_fe dummy[1];
	smpc_fe    *sums = dummy;
	size_t		n = 999;
	int			rc;

	memset(opening, 0xEE, sizeof(opening));
	alloc_count = 0;
	zero_check = 1;
	rc = smpc_reveal_reply_decode(copy, len, lim_sums, opening, &sums, &n);
	zero_check = 0;
	last_dec_allocs = alloc_count;
	if (rc != SMPC_OK)
		CHECK(sums == NULL && n == 0 && all_zero(opening, sizeof(opening)));
	else
	{
		uint8_t    *enc;
		size_t		enc_len;

		CHECK(sums != NULL && n <= lim_sums);
		pause_failures();
		CHECK(smpc_reveal_reply_encode(opening, sums, n, &enc, &enc_len) == SMPC_OK);
		CHECK(same(enc, enc_len, copy, len));
		smpc_free(enc);
		resume_failures();
		smpc_free(sums);
	}
	free(copy);
	return rc;
}

static int
dec_openings(const uint8_t *in, size_t len)
{
	uint8_t    *copy = exact_copy(in, len);
	smpc_party_opening p[SMPC_MAX_PARTIES];
	smpc_reader r;
	size_t		n = 999;
	int			rc;

	memset(p, 0, sizeof(p));
	smpc_reader_init(&r, copy, len);
	alloc_count = 0;
	zero_check = 1;
	rc = smpc_reader_get_openings(&r, p, lim_parties, lim_sums, &n);
	zero_check = 0;
	last_dec_allocs = alloc_count;
	if (rc != SMPC_OK)
		CHECK(n == 0 && all_zero(p, sizeof(p)));
	else
	{
		smpc_writer w;
		uint8_t    *enc;
		size_t		enc_len;

		rc = smpc_reader_finish(&r);
		for (size_t i = 0; i < n; i++)
			CHECK(p[i].present ? (p[i].sums != NULL && p[i].nsums <= lim_sums)
				  : (p[i].sums == NULL && p[i].nsums == 0 &&
					 all_zero(p[i].opening, SMPC_COMMIT_OPENING_BYTES)));
		pause_failures();
		smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
		smpc_writer_put_openings(&w, p, n);
		CHECK(finish(&w, &enc, &enc_len) == SMPC_OK);
		if (rc == SMPC_OK)
			CHECK(same(enc, enc_len, copy, len));
		smpc_free(enc);
		resume_failures();
		zero_check = 1;
		smpc_party_openings_free(p, n);
		zero_check = 0;
		CHECK(all_zero(p, sizeof(p)));
	}
	free(copy);
	return rc;
}

/*
 * A valid encoding: accepted; every proper prefix is SMPC_ERR_TRUNCATED;
 * with one more byte it is SMPC_ERR_TRAILING.
 */
static void
check_encoding(const uint8_t *buf, size_t len, dec_fn dec)
{
	uint8_t    *longer;

	CHECK(dec(buf, len) == SMPC_OK);
	for (size_t cut = 0; cut < len; cut++)
	{
		int			rc = dec(buf, cut);

		if (!CHECK(rc == SMPC_ERR_TRUNCATED))
		{
			fprintf(stderr, "    prefix of %zu of %zu bytes: status %d\n", cut, len, rc);
			break;
		}
	}
	longer = malloc(len + 1);
	if (longer == NULL)
		exit(2);
	memcpy(longer, buf, len);
	longer[len] = 0;
	CHECK(dec(longer, len + 1) == SMPC_ERR_TRAILING);
	free(longer);
}

/*
 * Fail the first, second, ... allocation of a decode of a valid encoding
 * until it succeeds: each failing run must report SMPC_ERR_NOMEM (the
 * wrappers check the outputs are zeroed; LeakSanitizer checks for leaks).
 */
static void
check_nomem(const uint8_t *buf, size_t len, dec_fn dec)
{
	size_t		k;

	for (k = 0; k < 1000; k++)
	{
		int			rc;

		alloc_fail_after = k;
		rc = dec(buf, len);
		alloc_fail_after = SIZE_MAX;
		if (rc == SMPC_OK)
			break;
		if (!CHECK(rc == SMPC_ERR_NOMEM))
			break;
	}
	CHECK(k > 0 && k < 1000);	/* it allocated, and then it worked */
}

/* ------------------------------------------------------- raw encoders */

/* Key list as given, without validation (strings as blobs: any bytes). */
static void
raw_key_list(smpc_writer *w, uint32_t ngroups, uint16_t ncols,
			 const smpc_key_cell *cells)
{
	smpc_writer_put_u32(w, ngroups);
	smpc_writer_put_u16(w, ncols);
	for (size_t i = 0; i < (size_t) ngroups * ncols; i++)
	{
		smpc_writer_put_u8(w, cells[i].isnull);
		if (cells[i].isnull != 1)
			smpc_writer_put_blob(w, cells[i].value.ptr, cells[i].value.len);
	}
}

static void
raw_prepare(const smpc_prepare *p, uint8_t **out, size_t *len)
{
	smpc_writer w;

	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_u8(&w, p->threshold);
	smpc_writer_put_u16(&w, p->nparties);
	smpc_writer_put_bytes(&w, p->parties, (size_t) p->nparties * SMPC_SIGN_PK_BYTES);
	smpc_writer_put_blob(&w, p->dataset.ptr, p->dataset.len);
	smpc_writer_put_blob(&w, p->sql.ptr, p->sql.len);
	smpc_writer_put_u16(&w, p->nvalues);
	for (size_t i = 0; i < p->nvalues; i++)
	{
		smpc_writer_put_u8(&w, p->values[i].kind);
		smpc_writer_put_u8(&w, p->values[i].scale);
		smpc_writer_put_u32(&w, p->values[i].length);
	}
	smpc_writer_put_u8(&w, p->reveal_keys);
	raw_key_list(&w, p->groups.ngroups, p->groups.ncols, p->groups.cells);
	if (finish(&w, out, len) != SMPC_OK)
	{
		fprintf(stderr, "raw_prepare: cannot encode\n");
		exit(2);
	}
}

/* --------------------------------------------------------- fixtures */

#define NKEYS (SMPC_MAX_PARTIES + 2)
static uint8_t party_keys[NKEYS * SMPC_SIGN_PK_BYTES];
static smpc_value_spec many_values[SMPC_MAX_VALUES + 1];
static smpc_key_cell many_cells[4 * (SMPC_MAX_GROUP_COLS + 1)];

static void
init_fixtures(void)
{
	for (size_t i = 0; i < NKEYS; i++)
		for (size_t b = 0; b < SMPC_SIGN_PK_BYTES; b++)
			party_keys[i * SMPC_SIGN_PK_BYTES + b] = (uint8_t) (i * 7 + b + 1);
	for (size_t i = 0; i < SMPC_MAX_VALUES + 1; i++)
	{
		many_values[i].kind = SMPC_VALUE_DECIMAL;
		many_values[i].scale = (uint8_t) (i % (SMPC_ENC_MAX_SCALE + 1));
	}
	for (size_t i = 0; i < sizeof(many_cells) / sizeof(many_cells[0]); i++)
	{
		many_cells[i].isnull = (uint8_t) (i % 3 == 2);
		many_cells[i].value = many_cells[i].isnull ? S("") : S("v");
	}
}

static const smpc_value_spec base_values[] = {
	{SMPC_VALUE_INT, 0, 0}, {SMPC_VALUE_DECIMAL, 2, 0}, {SMPC_VALUE_FLOAT, 6, 0}
};

/* 3 groups x 2 columns: a NULL, an empty string, UTF-8 */
static smpc_key_cell base_cells[6];

static void
base_key_list(smpc_key_list *k)
{
	base_cells[0].isnull = 0;
	base_cells[0].value = S("north");
	base_cells[1].isnull = 1;
	base_cells[1].value = S("");
	base_cells[2].isnull = 0;
	base_cells[2].value = S("");
	base_cells[3].isnull = 0;
	base_cells[3].value = S("2024");
	base_cells[4].isnull = 0;
	base_cells[4].value = S("s\xc3\xbc" "d");
	base_cells[5].isnull = 0;
	base_cells[5].value = S("2025");
	k->ngroups = 3;
	k->ncols = 2;
	k->cells = base_cells;
}

static void
base_prepare(smpc_prepare *p)
{
	init_fixtures();
	memset(p, 0, sizeof(*p));
	p->threshold = 1;
	p->nparties = 3;
	p->parties = party_keys;
	p->dataset = S("admissions");
	p->sql = S("SELECT ward, year, count(*), sum(cost), avg(stay) FROM admissions GROUP BY 1, 2");
	p->nvalues = 3;
	p->values = (smpc_value_spec *) base_values;
	p->reveal_keys = 0;
	base_key_list(&p->groups);
}

static void
encode_key_list(const smpc_key_list *k, uint8_t **out, size_t *len, int *rc)
{
	smpc_writer w;

	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_key_list(&w, k);
	*rc = finish(&w, out, len);
}

static int
encode_prepare(const smpc_prepare *p, uint8_t **out, size_t *len)
{
	smpc_writer w;

	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_prepare(&w, p);
	return finish(&w, out, len);
}

/* ------------------------------------------------------------ key lists */

HOOKED_TEST(test_key_list_roundtrip)
{
	smpc_key_list k,
				got;
	smpc_reader r;
	uint8_t    *buf;
	size_t		len;
	int			rc;

	base_key_list(&k);
	encode_key_list(&k, &buf, &len, &rc);
	REQUIRE(rc == SMPC_OK);
	/* u32 3 || u16 2 || "north" || NULL || "" || "2024" || "süd" || "2025" */
	CHECK(len == 4 + 2 + (1 + 4 + 5) + 1 + (1 + 4) + (1 + 4 + 4) + (1 + 4 + 4) + (1 + 4 + 4));
	CHECK(buf[0] == 3 && buf[1] == 0 && buf[4] == 2 && buf[6] == 0 && buf[16] == 1);

	smpc_reader_init(&r, buf, len);
	REQUIRE(smpc_reader_get_key_list(&r, 3, &got) == SMPC_OK);
	CHECK(smpc_reader_finish(&r) == SMPC_OK);
	CHECK(got.ngroups == 3 && got.ncols == 2);
	CHECK(got.cells[0].isnull == 0 && StrEq(got.cells[0].value, "north"));
	CHECK(got.cells[1].isnull == 1 && got.cells[1].value.len == 0 &&
		  got.cells[1].value.ptr != NULL);
	CHECK(got.cells[2].isnull == 0 && got.cells[2].value.len == 0);
	CHECK(StrEq(got.cells[4].value, "s\xc3\xbc" "d"));
	CHECK(StrEq(got.cells[5].value, "2025"));
	/* values point into the input */
	CHECK((const uint8_t *) got.cells[0].value.ptr == buf + 11);
	zero_check = 1;
	smpc_key_list_free(&got);
	zero_check = 0;
	CHECK(all_zero(&got, sizeof(got)));
	smpc_key_list_free(&got);	/* again: a zeroed struct */

	check_encoding(buf, len, dec_key_list);
	smpc_free(buf);

	/* a NULL cell's value is ignored by the writer */
	base_cells[1].value = S("ignored");
	encode_key_list(&k, &buf, &len, &rc);
	CHECK(rc == SMPC_OK && dec_key_list(buf, len) == SMPC_OK);
	smpc_free(buf);

	/* empty lists: no groups; one group of no columns (no GROUP BY) */
	k.ngroups = 0;
	k.ncols = 0;
	k.cells = NULL;
	encode_key_list(&k, &buf, &len, &rc);
	REQUIRE(rc == SMPC_OK);
	CHECK(len == 6);
	check_encoding(buf, len, dec_key_list);
	smpc_free(buf);
	k.ngroups = 1;
	encode_key_list(&k, &buf, &len, &rc);
	REQUIRE(rc == SMPC_OK);
	check_encoding(buf, len, dec_key_list);
	smpc_free(buf);
	k.ngroups = 0;
	k.ncols = 5;				/* no groups, but the columns are known */
	encode_key_list(&k, &buf, &len, &rc);
	REQUIRE(rc == SMPC_OK);
	check_encoding(buf, len, dec_key_list);
	smpc_free(buf);
}

/* Hand-build a key list and decode it with lim_groups = max_groups. */
static int
dec_raw_key_list(uint32_t max_groups, uint32_t ngroups, uint16_t ncols,
				 const smpc_key_cell *cells)
{
	smpc_writer w;
	uint8_t    *buf;
	size_t		len;
	uint32_t	saved = lim_groups;
	int			rc;

	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	raw_key_list(&w, ngroups, ncols, cells);
	if (finish(&w, &buf, &len) != SMPC_OK)
		return 1;				/* not a status: fails any CHECK */
	lim_groups = max_groups;
	rc = dec_key_list(buf, len);
	lim_groups = saved;
	smpc_free(buf);
	return rc;
}

static int
write_key_list(uint32_t ngroups, uint16_t ncols, const smpc_key_cell *cells)
{
	smpc_key_list k = {ngroups, ncols, (smpc_key_cell *) cells};
	smpc_writer w;
	uint8_t    *buf;
	size_t		len;
	int			rc;

	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_key_list(&w, &k);
	rc = finish(&w, &buf, &len);
	smpc_free(buf);
	return rc;
}

HOOKED_TEST(test_key_list_limits)
{
	static char longval[SMPC_MAX_KEY_LEN + 1];
	smpc_key_cell cell[1];

	init_fixtures();
	/* groups: at max_groups and over */
	CHECK(dec_raw_key_list(4, 4, 1, many_cells) == SMPC_OK);
	CHECK(dec_raw_key_list(3, 4, 1, many_cells) == SMPC_ERR_TOO_LARGE);
	CHECK(last_dec_allocs == 0);
	CHECK(dec_raw_key_list(0, 0, 1, many_cells) == SMPC_OK);
	CHECK(dec_raw_key_list(0, 1, 1, many_cells) == SMPC_ERR_TOO_LARGE);

	/* columns: SMPC_MAX_GROUP_COLS and one more */
	CHECK(write_key_list(2, SMPC_MAX_GROUP_COLS, many_cells) == SMPC_OK);
	CHECK(dec_raw_key_list(10, 2, SMPC_MAX_GROUP_COLS, many_cells) == SMPC_OK);
	CHECK(write_key_list(2, SMPC_MAX_GROUP_COLS + 1, many_cells) == SMPC_ERR_ARG);
	CHECK(dec_raw_key_list(10, 2, SMPC_MAX_GROUP_COLS + 1, many_cells) == SMPC_ERR_TOO_LARGE);
	CHECK(last_dec_allocs == 0);

	/* a value of SMPC_MAX_KEY_LEN bytes and one more */
	memset(longval, 'k', sizeof(longval));
	cell[0].isnull = 0;
	cell[0].value.ptr = longval;
	cell[0].value.len = SMPC_MAX_KEY_LEN;
	CHECK(write_key_list(1, 1, cell) == SMPC_OK);
	CHECK(dec_raw_key_list(1, 1, 1, cell) == SMPC_OK);
	cell[0].value.len = SMPC_MAX_KEY_LEN + 1;
	CHECK(write_key_list(1, 1, cell) == SMPC_ERR_ARG);
	CHECK(dec_raw_key_list(1, 1, 1, cell) == SMPC_ERR_TOO_LARGE);

	/* a count the input cannot hold is refused before allocating */
	{
		uint8_t		hdr[6 + 3] = {0x40, 0x42, 0x0F, 0x00, 32, 0, 1, 1, 1};

		lim_groups = UINT32_MAX;
		CHECK(dec_key_list(hdr, sizeof(hdr)) == SMPC_ERR_TRUNCATED);
		CHECK(last_dec_allocs == 0);
		hdr[0] = 0xFF;
		hdr[1] = 0xFF;
		hdr[2] = 0xFF;
		hdr[3] = 0xFF;
		CHECK(dec_key_list(hdr, sizeof(hdr)) == SMPC_ERR_TRUNCATED);
		CHECK(last_dec_allocs == 0);
		lim_groups = 1000;
		CHECK(dec_key_list(hdr, sizeof(hdr)) == SMPC_ERR_TOO_LARGE);
		CHECK(last_dec_allocs == 0);
	}

	/* a writer that already failed stays failed and writes nothing */
	{
		smpc_writer w;
		smpc_key_list k;
		uint8_t    *buf;
		size_t		len;

		base_key_list(&k);
		smpc_writer_init(&w, 5);
		CHECK(smpc_writer_put_key_list(&w, &k) == SMPC_ERR_TOO_LARGE);
		CHECK(smpc_writer_put_key_list(&w, &k) == SMPC_ERR_TOO_LARGE);
		CHECK(finish(&w, &buf, &len) == SMPC_ERR_TOO_LARGE && buf == NULL);
		CHECK(smpc_writer_put_key_list(&w, NULL) == SMPC_ERR_ARG);
		smpc_writer_discard(&w);
	}
}

HOOKED_TEST(test_key_list_malformed)
{
	smpc_key_cell cells[4];

	init_fixtures();
	/* ncols == 0 allows at most one group */
	CHECK(dec_raw_key_list(10, 0, 0, NULL) == SMPC_OK);
	CHECK(dec_raw_key_list(10, 1, 0, NULL) == SMPC_OK);
	CHECK(dec_raw_key_list(10, 2, 0, NULL) == SMPC_ERR_MALFORMED);
	CHECK(last_dec_allocs == 0);
	CHECK(write_key_list(1, 0, NULL) == SMPC_OK);
	CHECK(write_key_list(2, 0, NULL) == SMPC_ERR_ARG);

	/* isnull is 0 or 1 */
	memcpy(cells, many_cells, sizeof(cells));
	cells[0].isnull = 0;
	cells[0].value = S("x");
	cells[1].isnull = 1;
	cells[1].value = S("");
	CHECK(dec_raw_key_list(10, 2, 1, cells) == SMPC_OK);
	for (int bad = 2; bad <= 255; bad += 253)
	{
		cells[1].isnull = (uint8_t) bad;
		CHECK(dec_raw_key_list(10, 2, 1, cells) == SMPC_ERR_MALFORMED);
		CHECK(write_key_list(2, 1, cells) == SMPC_ERR_ARG);
	}

	/* values are NUL-free, well-formed UTF-8 */
	cells[1].isnull = 0;
	cells[1].value.ptr = "a\0b";
	cells[1].value.len = 3;
	CHECK(dec_raw_key_list(10, 2, 1, cells) == SMPC_ERR_MALFORMED);
	CHECK(write_key_list(2, 1, cells) == SMPC_ERR_ARG);
	cells[1].value = S("\xc3(");
	CHECK(dec_raw_key_list(10, 2, 1, cells) == SMPC_ERR_MALFORMED);
	CHECK(write_key_list(2, 1, cells) == SMPC_ERR_ARG);

	/* NULL cells with cells to write; NULL value pointer with a length */
	CHECK(write_key_list(2, 1, NULL) == SMPC_ERR_ARG);
	cells[1].value.ptr = NULL;
	cells[1].value.len = 1;
	CHECK(write_key_list(2, 1, cells) == SMPC_ERR_ARG);
	cells[1].value.len = 0;
	CHECK(write_key_list(2, 1, cells) == SMPC_OK);
}

/* -------------------------------------------------------------- PREPARE */

HOOKED_TEST(test_prepare_roundtrip)
{
	smpc_prepare p,
				got;
	smpc_reader r;
	uint8_t    *buf,
			   *raw;
	size_t		len,
				raw_len;

	base_prepare(&p);
	REQUIRE(encode_prepare(&p, &buf, &len) == SMPC_OK);
	raw_prepare(&p, &raw, &raw_len);
	CHECK(same(buf, len, raw, raw_len));	/* the layout of protocol.h */
	smpc_free(raw);
	CHECK(buf[0] == 1 && buf[1] == 3 && buf[2] == 0);
	CHECK(memcmp(buf + 3, party_keys, 3 * 32) == 0);

	smpc_reader_init(&r, buf, len);
	REQUIRE(smpc_reader_get_prepare(&r, 3, &got) == SMPC_OK);
	CHECK(got.threshold == 1 && got.nparties == 3);
	CHECK(got.parties == buf + 3);
	CHECK(StrEq(got.dataset, "admissions"));
	CHECK(got.sql.len == p.sql.len && memcmp(got.sql.ptr, p.sql.ptr, p.sql.len) == 0);
	REQUIRE(got.nvalues == 3);
	CHECK(got.values[0].kind == SMPC_VALUE_INT && got.values[0].scale == 0);
	CHECK(got.values[1].kind == SMPC_VALUE_DECIMAL && got.values[1].scale == 2);
	CHECK(got.values[2].kind == SMPC_VALUE_FLOAT && got.values[2].scale == 6);
	CHECK(got.values[0].length == 0 && got.values[1].length == 0 && got.values[2].length == 0);
	CHECK(got.reveal_keys == 0);
	CHECK(got.groups.ngroups == 3 && got.groups.ncols == 2);
	CHECK(got.groups.cells[1].isnull == 1 && StrEq(got.groups.cells[3].value, "2024"));
	zero_check = 1;
	smpc_prepare_free(&got);
	zero_check = 0;
	CHECK(all_zero(&got, sizeof(got)));
	CHECK(zero_checked_frees >= 2);

	/* fewer groups allowed than sent */
	smpc_reader_init(&r, buf, len);
	CHECK(smpc_reader_get_prepare(&r, 2, &got) == SMPC_ERR_TOO_LARGE);
	CHECK(all_zero(&got, sizeof(got)));

	check_encoding(buf, len, dec_prepare);
	smpc_free(buf);

	/* reveal_keys: no groups, but ncols carried */
	p.reveal_keys = 1;
	p.groups.ngroups = 0;
	REQUIRE(encode_prepare(&p, &buf, &len) == SMPC_OK);
	smpc_reader_init(&r, buf, len);
	REQUIRE(smpc_reader_get_prepare(&r, 0, &got) == SMPC_OK);
	CHECK(got.reveal_keys == 1 && got.groups.ngroups == 0 && got.groups.ncols == 2);
	smpc_prepare_free(&got);
	check_encoding(buf, len, dec_prepare);
	smpc_free(buf);
}

/* Writer verdict and decoder verdict for one PREPARE. */
static void
expect_prepare(const smpc_prepare *p, int want_writer, int want_decode, int line)
{
	uint8_t    *enc,
			   *raw;
	size_t		enc_len,
				raw_len;
	int			rc;

	rc = encode_prepare(p, &enc, &enc_len);
	if (!CHECK(rc == want_writer))
		fprintf(stderr, "    line %d: writer status %d\n", line, rc);
	raw_prepare(p, &raw, &raw_len);
	if (rc == SMPC_OK)
		CHECK(same(enc, enc_len, raw, raw_len));
	rc = dec_prepare(raw, raw_len);
	if (!CHECK(rc == want_decode))
		fprintf(stderr, "    line %d: decode status %d\n", line, rc);
	smpc_free(enc);
	smpc_free(raw);
}

#define EXPECT_PREPARE(p, w, d) expect_prepare((p), (w), (d), __LINE__)

HOOKED_TEST(test_prepare_limits)
{
	static char name[SMPC_MAX_NAME_LEN + 1];
	static char *sql;
	smpc_prepare p;

	base_prepare(&p);
	EXPECT_PREPARE(&p, SMPC_OK, SMPC_OK);

	/* vectors: length <= SMPC_MAX_VECTOR_LEN, width <= SMPC_MAX_WIDTH */
	{
		smpc_value_spec vec[3] = {{SMPC_VALUE_INT, 0, 0}, {SMPC_VALUE_FLOAT, 9, 7}, {SMPC_VALUE_DECIMAL, 2, 0}};
		smpc_writer w;
		smpc_reader r;
		smpc_prepare got;
		uint8_t    *buf;
		size_t		len;

		CHECK(smpc_value_width(vec, 3) == 9);
		p.values = vec;
		p.nvalues = 3;
		EXPECT_PREPARE(&p, SMPC_OK, SMPC_OK);
		smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
		smpc_writer_put_prepare(&w, &p);
		REQUIRE(finish(&w, &buf, &len) == SMPC_OK);
		smpc_reader_init(&r, buf, len);
		REQUIRE(smpc_reader_get_prepare(&r, 3, &got) == SMPC_OK);
		CHECK(got.nvalues == 3 && got.values[1].length == 7 && got.values[1].scale == 9 &&
			  got.values[0].length == 0 && got.values[2].length == 0);
		smpc_prepare_free(&got);
		smpc_free(buf);
		vec[1].length = SMPC_MAX_VECTOR_LEN;
		EXPECT_PREPARE(&p, SMPC_OK, SMPC_OK);
		vec[1].length = SMPC_MAX_VECTOR_LEN + 1;
		EXPECT_PREPARE(&p, SMPC_ERR_ARG, SMPC_ERR_TOO_LARGE);
		vec[1].length = UINT32_MAX;
		EXPECT_PREPARE(&p, SMPC_ERR_ARG, SMPC_ERR_TOO_LARGE);
		/* two long vectors: each within the limit, together too wide */
		vec[1].length = SMPC_MAX_VECTOR_LEN;
		vec[2].length = SMPC_MAX_VALUES + 1;
		EXPECT_PREPARE(&p, SMPC_ERR_ARG, SMPC_ERR_TOO_LARGE);
		vec[2].length = SMPC_MAX_VALUES - 2;
		CHECK(smpc_value_width(vec, 3) == SMPC_MAX_WIDTH - 1);
		EXPECT_PREPARE(&p, SMPC_OK, SMPC_OK);
		/* a WIDE value takes two field elements, each element of a WIDE vector too */
		vec[0].kind = SMPC_VALUE_WIDE;
		CHECK(smpc_value_width(vec, 3) == SMPC_MAX_WIDTH);
		EXPECT_PREPARE(&p, SMPC_OK, SMPC_OK);
		vec[2].kind = SMPC_VALUE_WIDE;
		vec[2].length = 2;
		CHECK(smpc_value_width(vec, 3) == SMPC_VALUE_ELEMENTS(&vec[1]) * SMPC_MAX_VECTOR_LEN + 2 + 4);
		vec[1].kind = SMPC_VALUE_WIDE;
		vec[1].length = (SMPC_MAX_WIDTH - 6) / 2;	/* 2 + 4 + 2 * length == SMPC_MAX_WIDTH */
		CHECK(smpc_value_width(vec, 3) == SMPC_MAX_WIDTH);
		EXPECT_PREPARE(&p, SMPC_OK, SMPC_OK);
		vec[1].length++;
		EXPECT_PREPARE(&p, SMPC_ERR_ARG, SMPC_ERR_TOO_LARGE);
		base_prepare(&p);
	}

	/* parties: 2 .. SMPC_MAX_PARTIES */
	p.nparties = 2;
	EXPECT_PREPARE(&p, SMPC_OK, SMPC_OK);
	p.nparties = SMPC_MAX_PARTIES;
	p.threshold = SMPC_MAX_PARTIES - 1;
	EXPECT_PREPARE(&p, SMPC_OK, SMPC_OK);
	p.nparties = SMPC_MAX_PARTIES + 1;
	EXPECT_PREPARE(&p, SMPC_ERR_ARG, SMPC_ERR_TOO_LARGE);
	CHECK(last_dec_allocs == 0);
	p.nparties = 1;
	p.threshold = 0;
	EXPECT_PREPARE(&p, SMPC_ERR_ARG, SMPC_ERR_MALFORMED);
	p.nparties = 0;
	EXPECT_PREPARE(&p, SMPC_ERR_ARG, SMPC_ERR_MALFORMED);

	/* threshold < nparties */
	base_prepare(&p);
	p.threshold = 2;
	EXPECT_PREPARE(&p, SMPC_OK, SMPC_OK);
	p.threshold = 3;
	EXPECT_PREPARE(&p, SMPC_ERR_ARG, SMPC_ERR_MALFORMED);
	p.threshold = 255;
	EXPECT_PREPARE(&p, SMPC_ERR_ARG, SMPC_ERR_MALFORMED);
	p.threshold = 0;
	EXPECT_PREPARE(&p, SMPC_OK, SMPC_OK);

	/* dataset: 1 .. SMPC_MAX_NAME_LEN bytes */
	base_prepare(&p);
	memset(name, 'd', sizeof(name));
	p.dataset.ptr = name;
	p.dataset.len = SMPC_MAX_NAME_LEN;
	EXPECT_PREPARE(&p, SMPC_OK, SMPC_OK);
	p.dataset.len = SMPC_MAX_NAME_LEN + 1;
	EXPECT_PREPARE(&p, SMPC_ERR_ARG, SMPC_ERR_TOO_LARGE);
	p.dataset.len = 0;
	EXPECT_PREPARE(&p, SMPC_ERR_ARG, SMPC_ERR_MALFORMED);

	/* sql: 1 .. SMPC_MAX_SQL_LEN bytes */
	base_prepare(&p);
	sql = malloc(SMPC_MAX_SQL_LEN + 1);
	REQUIRE(sql != NULL);
	memset(sql, ' ', SMPC_MAX_SQL_LEN + 1);
	memcpy(sql, "SELECT 1", 8);
	p.sql.ptr = sql;
	p.sql.len = SMPC_MAX_SQL_LEN;
	EXPECT_PREPARE(&p, SMPC_OK, SMPC_OK);
	p.sql.len = SMPC_MAX_SQL_LEN + 1;
	EXPECT_PREPARE(&p, SMPC_ERR_ARG, SMPC_ERR_TOO_LARGE);
	p.sql.len = 0;
	EXPECT_PREPARE(&p, SMPC_ERR_ARG, SMPC_ERR_MALFORMED);
	free(sql);

	/* values: 1 .. SMPC_MAX_VALUES */
	base_prepare(&p);
	p.values = many_values;
	p.nvalues = SMPC_MAX_VALUES;
	EXPECT_PREPARE(&p, SMPC_OK, SMPC_OK);
	p.nvalues = SMPC_MAX_VALUES + 1;
	EXPECT_PREPARE(&p, SMPC_ERR_ARG, SMPC_ERR_TOO_LARGE);
	CHECK(last_dec_allocs == 0);
	p.nvalues = 1;
	EXPECT_PREPARE(&p, SMPC_OK, SMPC_OK);
	p.nvalues = 0;
	EXPECT_PREPARE(&p, SMPC_ERR_ARG, SMPC_ERR_MALFORMED);

	/* groups: at the decoder's max_groups and over; columns */
	base_prepare(&p);
	lim_groups = 3;
	EXPECT_PREPARE(&p, SMPC_OK, SMPC_OK);
	lim_groups = 2;
	EXPECT_PREPARE(&p, SMPC_OK, SMPC_ERR_TOO_LARGE);
	lim_groups = 1000;
	p.groups.cells = many_cells;
	p.groups.ncols = SMPC_MAX_GROUP_COLS;
	EXPECT_PREPARE(&p, SMPC_OK, SMPC_OK);
	p.groups.ncols = SMPC_MAX_GROUP_COLS + 1;
	EXPECT_PREPARE(&p, SMPC_ERR_ARG, SMPC_ERR_TOO_LARGE);
}

HOOKED_TEST(test_prepare_malformed)
{
	static uint8_t dup_keys[3 * SMPC_SIGN_PK_BYTES];
	smpc_prepare p;
	smpc_value_spec v[1];
	smpc_key_cell bad_cells[6];

	/* duplicate participant keys, anywhere in the list */
	base_prepare(&p);
	memcpy(dup_keys, party_keys, sizeof(dup_keys));
	memcpy(dup_keys + 2 * 32, dup_keys, 32);
	p.parties = dup_keys;
	EXPECT_PREPARE(&p, SMPC_ERR_ARG, SMPC_ERR_MALFORMED);
	memcpy(dup_keys, party_keys, sizeof(dup_keys));
	memcpy(dup_keys + 2 * 32, dup_keys + 32, 32);
	EXPECT_PREPARE(&p, SMPC_ERR_ARG, SMPC_ERR_MALFORMED);
	dup_keys[2 * 32 + 31] ^= 1;	/* differ in the last byte only: fine */
	EXPECT_PREPARE(&p, SMPC_OK, SMPC_OK);
	p.parties = NULL;
	CHECK(encode_prepare(&p, &(uint8_t *) {NULL}, &(size_t) {0}) == SMPC_ERR_ARG);

	/* value kinds and scales */
	base_prepare(&p);
	p.values = v;
	p.nvalues = 1;
	{
		static const struct
		{
			uint8_t		kind;
			uint8_t		scale;
			int			ok;
		}			cases[] = {
			{SMPC_VALUE_INT, 0, 1},
			{SMPC_VALUE_INT, 1, 0},
			{SMPC_VALUE_DECIMAL, 0, 1},
			{SMPC_VALUE_DECIMAL, SMPC_ENC_MAX_SCALE, 1},
			{SMPC_VALUE_DECIMAL, SMPC_ENC_MAX_SCALE + 1, 0},
			{SMPC_VALUE_FLOAT, SMPC_ENC_MAX_SCALE, 1},
			{SMPC_VALUE_FLOAT, SMPC_ENC_MAX_SCALE + 1, 0},
			{SMPC_VALUE_FLOAT, 255, 0},
			{SMPC_VALUE_WIDE, 0, 1},
			{SMPC_VALUE_WIDE, SMPC_ENC_MAX_SCALE, 1},
			{SMPC_VALUE_WIDE, SMPC_ENC_MAX_SCALE + 1, 0},
			{0, 0, 0},
			{5, 0, 0},
			{255, 2, 0},
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		{
			v[0].kind = cases[i].kind;
			v[0].scale = cases[i].scale;
			if (cases[i].ok)
				EXPECT_PREPARE(&p, SMPC_OK, SMPC_OK);
			else
				EXPECT_PREPARE(&p, SMPC_ERR_ARG, SMPC_ERR_MALFORMED);
		}
	}

	/* reveal_keys is 0 or 1, and with 1 no groups travel */
	base_prepare(&p);
	p.reveal_keys = 2;
	EXPECT_PREPARE(&p, SMPC_ERR_ARG, SMPC_ERR_MALFORMED);
	p.reveal_keys = 1;
	EXPECT_PREPARE(&p, SMPC_ERR_ARG, SMPC_ERR_MALFORMED);
	p.groups.ngroups = 1;
	EXPECT_PREPARE(&p, SMPC_ERR_ARG, SMPC_ERR_MALFORMED);
	p.groups.ngroups = 0;
	EXPECT_PREPARE(&p, SMPC_OK, SMPC_OK);
	p.groups.ncols = 0;
	EXPECT_PREPARE(&p, SMPC_OK, SMPC_OK);

	/* the key list's own rules apply inside PREPARE */
	base_prepare(&p);
	p.groups.ncols = 0;
	p.groups.ngroups = 1;
	EXPECT_PREPARE(&p, SMPC_OK, SMPC_OK);
	p.groups.ngroups = 2;
	EXPECT_PREPARE(&p, SMPC_ERR_ARG, SMPC_ERR_MALFORMED);
	base_prepare(&p);
	memcpy(bad_cells, base_cells, sizeof(bad_cells));
	bad_cells[5].isnull = 7;
	p.groups.cells = bad_cells;
	EXPECT_PREPARE(&p, SMPC_ERR_ARG, SMPC_ERR_MALFORMED);

	/* strings must be well-formed UTF-8 */
	base_prepare(&p);
	p.dataset = S("caf\xe9");
	EXPECT_PREPARE(&p, SMPC_ERR_ARG, SMPC_ERR_MALFORMED);
	base_prepare(&p);
	p.sql.ptr = "SELECT\0";
	p.sql.len = 7;
	EXPECT_PREPARE(&p, SMPC_ERR_ARG, SMPC_ERR_MALFORMED);

	/* a values count the input cannot hold: refused before allocating */
	{
		uint8_t    *buf;
		size_t		len;
		size_t		at;

		base_prepare(&p);
		REQUIRE(encode_prepare(&p, &buf, &len) == SMPC_OK);
		at = 1 + 2 + 3 * 32 + 4 + p.dataset.len + 4 + p.sql.len;
		CHECK(buf[at] == 3 && buf[at + 1] == 0);
		buf[at] = 0xE8;			/* 1000 values */
		buf[at + 1] = 0x03;
		CHECK(dec_prepare(buf, len) == SMPC_ERR_TRUNCATED);
		CHECK(last_dec_allocs == 0);
		buf[at + 1] = 0x00;
		buf[at] = 4;			/* one more value than sent: eats into the rest */
		CHECK(dec_prepare(buf, len) != SMPC_OK);
		smpc_free(buf);
	}
}

/* ------------------------------------------------------- PREPARE reply */

HOOKED_TEST(test_prepare_reply)
{
	uint8_t		env1[SMPC_ENVELOPE_OVERHEAD + 5];
	uint8_t		env2[SMPC_ENVELOPE_OVERHEAD];
	smpc_envelope_item items[2];
	smpc_envelope_item got_items[4];
	smpc_key_list k,
				got_keys;
	uint8_t    *buf;
	size_t		len,
				n;
	uint8_t		kind;

	init_fixtures();
	memset(env1, 0xA1, sizeof(env1));
	memset(env2, 0xB2, sizeof(env2));
	memset(items, 0, sizeof(items));
	memcpy(items[0].recipient_pk, party_keys, 32);
	items[0].env = env1;
	items[0].env_len = sizeof(env1);
	memcpy(items[1].recipient_pk, party_keys + 32, 32);
	items[1].env = env2;
	items[1].env_len = sizeof(env2);

	/* shares */
	REQUIRE(smpc_prepare_reply_encode(SMPC_PREPARE_REPLY_SHARES, items, 2, NULL,
									  &buf, &len) == SMPC_OK);
	CHECK(buf[0] == SMPC_PREPARE_REPLY_SHARES && buf[1] == 2 && buf[2] == 0);
	REQUIRE(smpc_prepare_reply_decode(buf, len, &kind, got_items, 4, &n,
									  10, &got_keys) == SMPC_OK);
	CHECK(kind == SMPC_PREPARE_REPLY_SHARES && n == 2);
	CHECK(all_zero(&got_keys, sizeof(got_keys)));
	CHECK(memcmp(got_items[1].recipient_pk, party_keys + 32, 32) == 0);
	CHECK(got_items[0].env_len == sizeof(env1) && got_items[0].env > buf &&
		  memcmp(got_items[0].env, env1, sizeof(env1)) == 0);
	/* keys may be NULL for a caller that only takes shares */
	CHECK(smpc_prepare_reply_decode(buf, len, &kind, got_items, 4, &n,
									10, NULL) == SMPC_OK);
	/* more items than allowed */
	CHECK(smpc_prepare_reply_decode(buf, len, &kind, got_items, 1, &n,
									10, &got_keys) == SMPC_ERR_TOO_LARGE);
	CHECK(n == 0 && kind == 0);
	check_encoding(buf, len, dec_prepare_reply);
	lim_items = 1;
	CHECK(dec_prepare_reply(buf, len) == SMPC_ERR_TOO_LARGE);
	lim_items = SMPC_MAX_PARTIES;
	/* an envelope shorter than the overhead */
	buf[len - sizeof(env2) - 4] = SMPC_ENVELOPE_OVERHEAD - 1;
	CHECK(dec_prepare_reply(buf, len - 1) == SMPC_ERR_MALFORMED);
	smpc_free(buf);

	/* no shares at all */
	REQUIRE(smpc_prepare_reply_encode(SMPC_PREPARE_REPLY_SHARES, NULL, 0, NULL,
									  &buf, &len) == SMPC_OK);
	CHECK(len == 3);
	check_encoding(buf, len, dec_prepare_reply);
	smpc_free(buf);

	/* keys */
	base_key_list(&k);
	REQUIRE(smpc_prepare_reply_encode(SMPC_PREPARE_REPLY_KEYS, NULL, 0, &k,
									  &buf, &len) == SMPC_OK);
	CHECK(buf[0] == SMPC_PREPARE_REPLY_KEYS);
	REQUIRE(smpc_prepare_reply_decode(buf, len, &kind, got_items, 4, &n,
									  10, &got_keys) == SMPC_OK);
	CHECK(kind == SMPC_PREPARE_REPLY_KEYS && n == 0);
	CHECK(got_keys.ngroups == 3 && got_keys.ncols == 2 &&
		  StrEq(got_keys.cells[4].value, "s\xc3\xbc" "d"));
	smpc_key_list_free(&got_keys);
	CHECK(smpc_prepare_reply_decode(buf, len, &kind, got_items, 4, &n,
									2, &got_keys) == SMPC_ERR_TOO_LARGE);
	CHECK(all_zero(&got_keys, sizeof(got_keys)));
	/* a caller that passes no key list does not take a KEYS reply */
	CHECK(smpc_prepare_reply_decode(buf, len, &kind, got_items, 4, &n,
									10, NULL) == SMPC_ERR_MALFORMED);
	check_encoding(buf, len, dec_prepare_reply);
	check_nomem(buf, len, dec_prepare_reply);

	/* unknown kinds, both ways */
	for (int bad = 0; bad <= 255; bad += (bad == 0 ? 3 : 252))
	{
		buf[0] = (uint8_t) bad;
		CHECK(dec_prepare_reply(buf, len) == SMPC_ERR_MALFORMED);
		CHECK(smpc_prepare_reply_encode((uint8_t) bad, items, 2, &k,
										&(uint8_t *) {NULL}, &n) == SMPC_ERR_ARG);
	}
	smpc_free(buf);
	CHECK(smpc_prepare_reply_encode(SMPC_PREPARE_REPLY_KEYS, items, 2, NULL,
									&buf, &len) == SMPC_ERR_ARG && buf == NULL);

	/* argument checks */
	CHECK(smpc_prepare_reply_decode(env1, 1, NULL, got_items, 4, &n, 1, NULL) == SMPC_ERR_ARG);
	CHECK(smpc_prepare_reply_decode(env1, 1, &kind, NULL, 4, &n, 1, NULL) == SMPC_ERR_ARG);
}

/* ----------------------------------------------------- REVEAL commitments */

static int
write_commitments(const smpc_party_opening *p, size_t n, uint8_t **out, size_t *len)
{
	smpc_writer w;

	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_commitments(&w, p, n);
	return finish(&w, out, len);
}

HOOKED_TEST(test_commitments)
{
	static smpc_party_opening p[SMPC_MAX_PARTIES + 1];
	smpc_party_opening got[SMPC_MAX_PARTIES];
	smpc_reader r;
	uint8_t    *buf;
	size_t		len,
				n;

	memset(p, 0, sizeof(p));
	for (size_t i = 0; i < SMPC_MAX_PARTIES + 1; i++)
	{
		p[i].present = (uint8_t) (i % 2 == 0);
		memset(p[i].commitment, (int) (0x10 + i), SMPC_COMMIT_BYTES);
		memset(p[i].opening, 0x77, SMPC_COMMIT_OPENING_BYTES);	/* not written */
	}

	REQUIRE(write_commitments(p, 4, &buf, &len) == SMPC_OK);
	CHECK(len == 2 + 4 + 2 * 32);
	smpc_reader_init(&r, buf, len);
	REQUIRE(smpc_reader_get_commitments(&r, got, 4, &n) == SMPC_OK);
	CHECK(smpc_reader_finish(&r) == SMPC_OK);
	REQUIRE(n == 4);
	CHECK(got[0].present == 1 && memcmp(got[0].commitment, p[0].commitment, 32) == 0);
	CHECK(got[1].present == 0 && all_zero(got[1].commitment, 32));
	CHECK(got[2].present == 1 && memcmp(got[2].commitment, p[2].commitment, 32) == 0);
	CHECK(all_zero(got[2].opening, 32) && got[2].sums == NULL);
	/* fewer parties allowed than sent */
	smpc_reader_init(&r, buf, len);
	CHECK(smpc_reader_get_commitments(&r, got, 3, &n) == SMPC_ERR_TOO_LARGE && n == 0);
	check_encoding(buf, len, dec_commitments);

	/* present is 0 or 1 */
	buf[2] = 2;
	CHECK(dec_commitments(buf, len) == SMPC_ERR_MALFORMED);
	smpc_free(buf);
	p[3].present = 2;
	CHECK(write_commitments(p, 4, &buf, &len) == SMPC_ERR_ARG);
	p[3].present = 0;

	/* no parties; SMPC_MAX_PARTIES; one more */
	REQUIRE(write_commitments(NULL, 0, &buf, &len) == SMPC_OK);
	check_encoding(buf, len, dec_commitments);
	smpc_free(buf);
	REQUIRE(write_commitments(p, SMPC_MAX_PARTIES, &buf, &len) == SMPC_OK);
	check_encoding(buf, len, dec_commitments);
	lim_parties = SMPC_MAX_PARTIES - 1;
	CHECK(dec_commitments(buf, len) == SMPC_ERR_TOO_LARGE);
	lim_parties = SMPC_MAX_PARTIES;
	/* a count above SMPC_MAX_PARTIES, whatever max_parties says */
	buf[0] = SMPC_MAX_PARTIES + 1;
	{
		smpc_party_opening big[SMPC_MAX_PARTIES + 1];

		smpc_reader_init(&r, buf, len);
		CHECK(smpc_reader_get_commitments(&r, big, SMPC_MAX_PARTIES + 1, &n) == SMPC_ERR_TOO_LARGE);
	}
	smpc_free(buf);
	CHECK(write_commitments(p, SMPC_MAX_PARTIES + 1, &buf, &len) == SMPC_ERR_TOO_LARGE);
	CHECK(write_commitments(NULL, 1, &buf, &len) == SMPC_ERR_ARG);

	/* a count the input cannot hold */
	{
		uint8_t		in[] = {SMPC_MAX_PARTIES, 0, 0, 0, 0};

		CHECK(dec_commitments(in, sizeof(in)) == SMPC_ERR_TRUNCATED);
	}
}

/* --------------------------------------------------------- REVEAL reply */

HOOKED_TEST(test_reveal_reply)
{
	uint8_t		opening[SMPC_COMMIT_OPENING_BYTES],
				got_open[SMPC_COMMIT_OPENING_BYTES];
	const smpc_fe sums[] = {0, 1, SMPC_FIELD_P - 1, SMPC_FIELD_HALF, fe_of(123456789)};
	smpc_fe    *got;
	uint8_t    *buf;
	size_t		len,
				n;

	for (int i = 0; i < SMPC_COMMIT_OPENING_BYTES; i++)
		opening[i] = (uint8_t) (0xC0 + i);
	REQUIRE(smpc_reveal_reply_encode(opening, sums, 5, &buf, &len) == SMPC_OK);
	CHECK(len == 32 + 4 + 5 * 16);
	CHECK(memcmp(buf, opening, 32) == 0 && buf[32] == 5);
	REQUIRE(smpc_reveal_reply_decode(buf, len, 5, got_open, &got, &n) == SMPC_OK);
	CHECK(memcmp(got_open, opening, 32) == 0);
	REQUIRE(n == 5);
	for (size_t i = 0; i < 5; i++)
		CHECK(got[i] == sums[i]);
	smpc_free(got);
	/* max_sums: at and over */
	CHECK(smpc_reveal_reply_decode(buf, len, 4, got_open, &got, &n) == SMPC_ERR_TOO_LARGE);
	CHECK(got == NULL && n == 0 && all_zero(got_open, 32));
	lim_sums = 5;
	CHECK(dec_reveal_reply(buf, len) == SMPC_OK);
	lim_sums = 4;
	CHECK(dec_reveal_reply(buf, len) == SMPC_ERR_TOO_LARGE);
	CHECK(last_dec_allocs == 0);
	lim_sums = 100000;
	check_encoding(buf, len, dec_reveal_reply);
	check_nomem(buf, len, dec_reveal_reply);

	/* a non-canonical element (p itself) in the last place */
	memset(buf + len - 16, 0xFF, 16);
	buf[len - 1] = 0x7F;
	CHECK(dec_reveal_reply(buf, len) == SMPC_ERR_RANGE);
	/* a count the input cannot hold */
	buf[34] = 1;
	CHECK(dec_reveal_reply(buf, len) == SMPC_ERR_TRUNCATED);
	CHECK(last_dec_allocs == 0);
	smpc_free(buf);

	/* no sums: still a freeable, non-NULL array */
	REQUIRE(smpc_reveal_reply_encode(opening, NULL, 0, &buf, &len) == SMPC_OK);
	CHECK(len == 36);
	REQUIRE(smpc_reveal_reply_decode(buf, len, 0, got_open, &got, &n) == SMPC_OK);
	CHECK(got != NULL && n == 0);
	smpc_free(got);
	check_encoding(buf, len, dec_reveal_reply);
	smpc_free(buf);

	/* the encoder refuses what the decoder would */
	{
		smpc_fe		bad[2] = {1, SMPC_FIELD_P};

		CHECK(smpc_reveal_reply_encode(opening, bad, 2, &buf, &len) == SMPC_ERR_ARG);
		CHECK(buf == NULL && len == 0);
		CHECK(smpc_reveal_reply_encode(NULL, sums, 2, &buf, &len) == SMPC_ERR_ARG);
		CHECK(smpc_reveal_reply_encode(opening, NULL, 2, &buf, &len) == SMPC_ERR_ARG);
		CHECK(smpc_reveal_reply_decode(opening, 32, 1, NULL, &got, &n) == SMPC_ERR_ARG);
	}
}

/* -------------------------------------------------------- FINISH openings */

static int
write_openings(const smpc_party_opening *p, size_t n, uint8_t **out, size_t *len)
{
	smpc_writer w;

	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_openings(&w, p, n);
	return finish(&w, out, len);
}

HOOKED_TEST(test_openings)
{
	static smpc_party_opening p[SMPC_MAX_PARTIES + 1];
	smpc_party_opening got[4];
	smpc_fe		s0[3] = {7, SMPC_FIELD_P - 2, 0};
	smpc_fe		s2[1] = {SMPC_FIELD_HALF};
	smpc_reader r;
	uint8_t    *buf;
	size_t		len,
				n;

	memset(p, 0, sizeof(p));
	p[0].present = 1;
	memset(p[0].opening, 0x01, 32);
	memset(p[0].commitment, 0x99, 32);	/* not written */
	p[0].sums = s0;
	p[0].nsums = 3;
	p[1].present = 0;
	p[1].sums = s0;				/* absent: not looked at */
	p[1].nsums = 3;
	p[2].present = 1;
	memset(p[2].opening, 0x02, 32);
	p[2].sums = s2;
	p[2].nsums = 1;
	p[3].present = 1;			/* present with no sums */
	memset(p[3].opening, 0x03, 32);

	REQUIRE(write_openings(p, 4, &buf, &len) == SMPC_OK);
	CHECK(len == 2 + (1 + 32 + 4 + 48) + 1 + (1 + 32 + 4 + 16) + (1 + 32 + 4));
	smpc_reader_init(&r, buf, len);
	REQUIRE(smpc_reader_get_openings(&r, got, 4, 3, &n) == SMPC_OK);
	CHECK(smpc_reader_finish(&r) == SMPC_OK);
	REQUIRE(n == 4);
	CHECK(got[0].present == 1 && got[0].nsums == 3 && got[0].sums[1] == s0[1]);
	CHECK(memcmp(got[0].opening, p[0].opening, 32) == 0 && all_zero(got[0].commitment, 32));
	CHECK(got[1].present == 0 && got[1].sums == NULL && got[1].nsums == 0);
	CHECK(got[2].nsums == 1 && got[2].sums[0] == SMPC_FIELD_HALF);
	CHECK(got[3].present == 1 && got[3].nsums == 0 && got[3].sums != NULL);
	zero_check = 1;
	zero_checked_frees = 0;
	smpc_party_openings_free(got, n);
	zero_check = 0;
	CHECK(zero_checked_frees == 3);
	CHECK(all_zero(got, sizeof(got)));
	smpc_party_openings_free(got, n);	/* again: zeroed entries */

	/* limits: parties, sums per party */
	smpc_reader_init(&r, buf, len);
	CHECK(smpc_reader_get_openings(&r, got, 3, 3, &n) == SMPC_ERR_TOO_LARGE && n == 0);
	smpc_reader_init(&r, buf, len);
	zero_check = 1;
	CHECK(smpc_reader_get_openings(&r, got, 4, 2, &n) == SMPC_ERR_TOO_LARGE && n == 0);
	zero_check = 0;
	CHECK(all_zero(got, sizeof(got)));
	lim_sums = 3;
	CHECK(dec_openings(buf, len) == SMPC_OK);
	lim_sums = 2;
	CHECK(dec_openings(buf, len) == SMPC_ERR_TOO_LARGE);
	lim_sums = 100000;
	check_encoding(buf, len, dec_openings);
	check_nomem(buf, len, dec_openings);

	/* a bad element after an allocated party: freed, zeroed, no leak */
	memset(buf + len - 32 - 4 - 1 - 16, 0xFF, 16);	/* s2[0] := 2^128 - 1 */
	CHECK(dec_openings(buf, len) == SMPC_ERR_RANGE);
	/* present is 0 or 1 */
	buf[2] = 2;
	CHECK(dec_openings(buf, len) == SMPC_ERR_MALFORMED);
	smpc_free(buf);
	p[1].present = 2;
	CHECK(write_openings(p, 4, &buf, &len) == SMPC_ERR_ARG);
	p[1].present = 0;

	/* the encoder refuses non-canonical sums and NULL sums */
	s2[0] = SMPC_FIELD_P;
	CHECK(write_openings(p, 4, &buf, &len) == SMPC_ERR_ARG);
	s2[0] = 5;
	p[2].sums = NULL;
	CHECK(write_openings(p, 4, &buf, &len) == SMPC_ERR_ARG);
	p[2].sums = s2;

	/* SMPC_MAX_PARTIES, and one more */
	for (size_t i = 4; i < SMPC_MAX_PARTIES + 1; i++)
		p[i].present = (uint8_t) (i % 3 == 0);
	REQUIRE(write_openings(p, SMPC_MAX_PARTIES, &buf, &len) == SMPC_OK);
	check_encoding(buf, len, dec_openings);
	buf[0] = SMPC_MAX_PARTIES + 1;
	CHECK(dec_openings(buf, len) == SMPC_ERR_TOO_LARGE);
	smpc_free(buf);
	CHECK(write_openings(p, SMPC_MAX_PARTIES + 1, &buf, &len) == SMPC_ERR_TOO_LARGE);

	/* a sums count the input cannot hold: refused before allocating */
	{
		uint8_t		in[2 + 1 + 32 + 4 + 16];

		memset(in, 0, sizeof(in));
		in[0] = 1;
		in[2] = 1;
		in[35] = 2;				/* two sums, room for one */
		CHECK(dec_openings(in, sizeof(in)) == SMPC_ERR_TRUNCATED);
		CHECK(last_dec_allocs == 0);
		in[35] = 1;
		CHECK(dec_openings(in, sizeof(in)) == SMPC_OK);
	}
}

/* ------------------------------------------------------- commit value */

HOOKED_TEST(test_commit_value)
{
	uint8_t		sid1[SMPC_SESSION_ID_BYTES],
				sid2[SMPC_SESSION_ID_BYTES];
	const smpc_fe sums[] = {3, SMPC_FIELD_P - 1};
	smpc_fe		bad[1] = {SMPC_FIELD_P};
	uint8_t    *a,
			   *b,
			   *c,
			   *d;
	size_t		alen,
				blen,
				clen,
				dlen;
	uint8_t		opening[SMPC_COMMIT_OPENING_BYTES],
				commitment[SMPC_COMMIT_BYTES];

	memset(sid1, 0x11, sizeof(sid1));
	memcpy(sid2, sid1, sizeof(sid2));
	sid2[15] ^= 0x80;

	REQUIRE(smpc_commit_value(sid1, 1, sums, 2, &a, &alen) == SMPC_OK);
	/* session_id || u16 party || fe vector */
	CHECK(alen == 16 + 2 + 4 + 2 * 16);
	CHECK(memcmp(a, sid1, 16) == 0 && a[16] == 1 && a[17] == 0);
	CHECK(a[18] == 2 && a[22] == 3);
	{
		uint8_t    *vec;
		size_t		veclen;

		REQUIRE(smpc_fe_vector_encode(sums, 2, &vec, &veclen) == SMPC_OK);
		CHECK(same(a + 18, alen - 18, vec, veclen));
		smpc_free(vec);
	}

	/* another session, another party, other sums: other bytes */
	REQUIRE(smpc_commit_value(sid2, 1, sums, 2, &b, &blen) == SMPC_OK);
	REQUIRE(smpc_commit_value(sid1, 2, sums, 2, &c, &clen) == SMPC_OK);
	REQUIRE(smpc_commit_value(sid1, 1, sums, 1, &d, &dlen) == SMPC_OK);
	CHECK(!same(a, alen, b, blen));
	CHECK(!same(a, alen, c, clen));
	CHECK(!same(a, alen, d, dlen));
	CHECK(!same(b, blen, c, clen));
	{
		uint8_t    *e;
		size_t		elen;

		REQUIRE(smpc_commit_value(sid1, 256 + 1, sums, 2, &e, &elen) == SMPC_OK);
		CHECK(!same(a, alen, e, elen));	/* the whole u16 counts */
		smpc_free(e);
	}

	/* so a commitment made for one (session, party) opens for no other */
	REQUIRE(smpc_commit(a, alen, opening, commitment) == SMPC_OK);
	CHECK(smpc_commit_verify(commitment, opening, a, alen) == SMPC_OK);
	CHECK(smpc_commit_verify(commitment, opening, b, blen) == SMPC_ERR_AUTH);
	CHECK(smpc_commit_verify(commitment, opening, c, clen) == SMPC_ERR_AUTH);
	CHECK(smpc_commit_verify(commitment, opening, d, dlen) == SMPC_ERR_AUTH);
	smpc_free(a);
	smpc_free(b);
	smpc_free(c);
	smpc_free(d);

	/* no sums; bad arguments */
	REQUIRE(smpc_commit_value(sid1, 0, NULL, 0, &a, &alen) == SMPC_OK);
	CHECK(alen == 22);
	smpc_free(a);
	CHECK(smpc_commit_value(NULL, 0, sums, 2, &a, &alen) == SMPC_ERR_ARG && a == NULL);
	CHECK(smpc_commit_value(sid1, 0, NULL, 2, &a, &alen) == SMPC_ERR_ARG && a == NULL);
	CHECK(smpc_commit_value(sid1, 0, bad, 1, &a, &alen) == SMPC_ERR_ARG && a == NULL);
	CHECK(smpc_commit_value(sid1, 0, sums, 2, NULL, &alen) == SMPC_ERR_ARG);
}

/* ------------------------------------------------- frees and allocation */

HOOKED_TEST(test_free_safety)
{
	smpc_key_list k;
	smpc_prepare p;
	smpc_party_opening po[3];
	smpc_reader r;
	uint8_t    *buf;
	size_t		len,
				n;

	/* zeroed structs and NULL pointers */
	memset(&k, 0, sizeof(k));
	memset(&p, 0, sizeof(p));
	memset(po, 0, sizeof(po));
	smpc_key_list_free(&k);
	smpc_key_list_free(NULL);
	smpc_prepare_free(&p);
	smpc_prepare_free(NULL);
	smpc_party_openings_free(po, 3);
	smpc_party_openings_free(NULL, 3);
	CHECK(all_zero(&k, sizeof(k)) && all_zero(&p, sizeof(p)) && all_zero(po, sizeof(po)));

	/* after a failed decode, from garbage-filled outputs */
	base_prepare(&p);
	REQUIRE(encode_prepare(&p, &buf, &len) == SMPC_OK);
	memset(&p, 0xEE, sizeof(p));
	smpc_reader_init(&r, buf, len - 1);
	CHECK(smpc_reader_get_prepare(&r, 10, &p) == SMPC_ERR_TRUNCATED);
	smpc_prepare_free(&p);
	smpc_prepare_free(&p);
	smpc_free(buf);

	/* decoders on a reader that already failed consume nothing */
	{
		static const uint8_t in[8] = {0};

		smpc_reader_init(&r, in, sizeof(in));
		r.status = SMPC_ERR_MALFORMED;
		memset(&k, 0xEE, sizeof(k));
		CHECK(smpc_reader_get_key_list(&r, 10, &k) == SMPC_ERR_MALFORMED);
		CHECK(all_zero(&k, sizeof(k)));
		CHECK(smpc_reader_get_prepare(&r, 10, &p) == SMPC_ERR_MALFORMED);
		CHECK(smpc_reader_get_commitments(&r, po, 3, &n) == SMPC_ERR_MALFORMED && n == 0);
		CHECK(smpc_reader_get_openings(&r, po, 3, 3, &n) == SMPC_ERR_MALFORMED && n == 0);
		CHECK(r.pos == 0);
		smpc_key_list_free(&k);
		smpc_prepare_free(&p);
	}

	/* output arguments */
	{
		static const uint8_t in[8] = {0};

		smpc_reader_init(&r, in, sizeof(in));
		CHECK(smpc_reader_get_key_list(&r, 10, NULL) == SMPC_ERR_ARG);
		smpc_reader_init(&r, in, sizeof(in));
		CHECK(smpc_reader_get_prepare(&r, 10, NULL) == SMPC_ERR_ARG);
		smpc_reader_init(&r, in, sizeof(in));
		CHECK(smpc_reader_get_commitments(&r, NULL, 3, &n) == SMPC_ERR_ARG);
		smpc_reader_init(&r, in, sizeof(in));
		CHECK(smpc_reader_get_openings(&r, po, 3, 3, NULL) == SMPC_ERR_ARG);
	}
}

HOOKED_TEST(test_nomem)
{
	smpc_key_list k;
	smpc_prepare p;
	uint8_t    *buf;
	size_t		len;
	int			rc;

	base_key_list(&k);
	encode_key_list(&k, &buf, &len, &rc);
	REQUIRE(rc == SMPC_OK);
	check_nomem(buf, len, dec_key_list);
	smpc_free(buf);

	base_prepare(&p);
	REQUIRE(encode_prepare(&p, &buf, &len) == SMPC_OK);
	check_nomem(buf, len, dec_prepare);
	smpc_free(buf);

	/* encoders report an allocation failure too, with no output */
	alloc_fail_after = alloc_count;
	CHECK(encode_prepare(&p, &buf, &len) == SMPC_ERR_NOMEM && buf == NULL && len == 0);
	CHECK(smpc_commit_value((const uint8_t *) "0123456789abcdef", 1, NULL, 0,
							&buf, &len) == SMPC_ERR_NOMEM);
	alloc_fail_after = SIZE_MAX;
}

const unit_case protocol_cases[] = {
	{"key_list_roundtrip", test_key_list_roundtrip},
	{"key_list_limits", test_key_list_limits},
	{"key_list_malformed", test_key_list_malformed},
	{"prepare_roundtrip", test_prepare_roundtrip},
	{"prepare_limits", test_prepare_limits},
	{"prepare_malformed", test_prepare_malformed},
	{"prepare_reply", test_prepare_reply},
	{"commitments", test_commitments},
	{"reveal_reply", test_reveal_reply},
	{"openings", test_openings},
	{"commit_value", test_commit_value},
	{"free_safety", test_free_safety},
	{"nomem", test_nomem},
	{NULL, NULL}
};
