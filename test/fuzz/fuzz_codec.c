/*
 * fuzz_codec.c
 *		libFuzzer target for every decoder that faces untrusted bytes:
 *		signed messages, payload codecs, envelopes, public-key text, key
 *		files, the protocol message bodies of protocol.h and the private set
 *		intersection bodies of psi.h.
 *
 * The first input byte selects the decoder (see fuzz_fixtures.h); the rest
 * is the input.  Besides "never crash, never over-read" (ASan/UBSan), the
 * target checks that decoding is canonical: whatever a decoder accepts must
 * re-encode to exactly the accepted bytes, so the strict decoders and the
 * encoders cannot drift apart.  Reader-based decoders that stop before the
 * end of the input must re-encode to exactly the bytes they consumed.  A
 * failed decode must leave its outputs zeroed.  A violated property calls
 * abort().
 *
 * Three selectors drive a model of the member's request handling (what
 * smpc.exchange does with its argument, src/member.c and src/session.c, as
 * far as it lies in src/core): the input as the whole request; the input
 * as a payload the harness signs with a fixture key, so the fuzzer's bytes
 * reach the body decoders behind the signature check; and edits of valid
 * signed fixture requests, none of which may verify.
 *
 * Build and run: `make fuzz` (FUZZ_SECONDS=60), or by hand
 *	clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/core \
 *		test/fuzz/fuzz_codec.c <every src/core .c file> -lsodium -lcrypto \
 *		-o fuzz_codec
 *	./fuzz_codec -max_total_time=60 test/fuzz/corpus
 * With FUZZ_TRACE set in the environment, each member outcome is printed
 * (e.g. `FUZZ_TRACE=1 ./fuzz_codec -runs=0 test/fuzz/corpus`).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>

#include "fuzz_fixtures.h"
#include "messages.h"
#include "protocol.h"
#include "encode.h"
#include "shamir.h"
#include "psi.h"

#define FUZZ_MAX_MESSAGE ((size_t) 1 << 20)
#define FUZZ_MAX_ITEMS 64
#define FUZZ_MAX_FE 4096
#define FUZZ_MAX_STR 1024
#define FUZZ_MAX_GROUPS 4096
#define FUZZ_MAX_SUMS 4096
#define FUZZ_MAX_POINTS 4096

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fuzz_fixtures fx;
static int	initialized;

static void
require(int cond)
{
	if (!cond)
		abort();
}

/* Exactly-equal comparison of a fresh encoding with accepted input. */
static void
require_same(int rc, uint8_t *enc, size_t enc_len,
			 const uint8_t *in, size_t len)
{
	require(rc == SMPC_OK);
	require(enc_len == len && (len == 0 || memcmp(enc, in, len) == 0));
	smpc_free(enc);
}

static int
all_zero(const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (((const uint8_t *) p)[i] != 0)
			return 0;
	return 1;
}

/*
 * A reader-based decode succeeded: if it consumed the whole input the
 * fresh encoding in w must equal the input, otherwise the consumed prefix.
 * Discards w either way.
 */
static void
require_reader_same(smpc_writer *w, const smpc_reader *r,
					const uint8_t *in, size_t len)
{
	uint8_t    *enc = NULL;
	size_t		enc_len = 0;

	require(r->status == SMPC_OK && r->pos <= len);
	require_same(smpc_writer_finish(w, &enc, &enc_len), enc, enc_len, in, r->pos);
}

static void
try_open(const smpc_envelope_ad *ad, const uint8_t *env, size_t env_len)
{
	uint8_t    *out = malloc(env_len > 0 ? env_len : 1);
	size_t		out_len = 0;
	int			rc;

	require(out != NULL);
	rc = smpc_envelope_open(&fx.recipient, fx.sender.kx_pk, ad, env, env_len,
							out, env_len, &out_len);
	if (rc == SMPC_OK)
		require(out_len == env_len - SMPC_ENVELOPE_OVERHEAD);
	else
		require(out_len == 0 &&
				(rc == SMPC_ERR_AUTH || rc == SMPC_ERR_TRUNCATED));
	free(out);
}

static void
fuzz_envelope_list(const uint8_t *in, size_t len)
{
	smpc_envelope_item items[FUZZ_MAX_ITEMS];
	size_t		n = 0;
	uint8_t    *enc = NULL;
	size_t		enc_len = 0;

	if (smpc_envelope_list_decode(in, len, items, FUZZ_MAX_ITEMS, &n) != SMPC_OK)
	{
		require(n == 0);
		return;
	}
	require(n <= FUZZ_MAX_ITEMS);
	require_same(smpc_envelope_list_encode(items, n, &enc, &enc_len),
				 enc, enc_len, in, len);
	for (size_t i = 0; i < n; i++)
	{
		smpc_envelope_ad ad = fx.ad;

		require(items[i].env >= in && items[i].env_len <= len &&
				items[i].env + items[i].env_len <= in + len);
		memcpy(ad.recipient_pk, items[i].recipient_pk, SMPC_SIGN_PK_BYTES);
		try_open(&ad, items[i].env, items[i].env_len);
	}
}

static void
fuzz_fe_vector(const uint8_t *in, size_t len)
{
	static smpc_fe v[FUZZ_MAX_FE];
	size_t		n = 0;
	uint8_t    *enc = NULL;
	size_t		enc_len = 0;

	if (smpc_fe_vector_decode(in, len, v, FUZZ_MAX_FE, &n) != SMPC_OK)
		return;
	for (size_t i = 0; i < n; i++)
		require(v[i] < SMPC_FIELD_P);
	require_same(smpc_fe_vector_encode(v, n, &enc, &enc_len),
				 enc, enc_len, in, len);
}

static void
fuzz_str_list(const uint8_t *in, size_t len)
{
	smpc_str	s[FUZZ_MAX_ITEMS];
	size_t		n = 0;
	uint8_t    *enc = NULL;
	size_t		enc_len = 0;

	if (smpc_str_list_decode(in, len, s, FUZZ_MAX_ITEMS, FUZZ_MAX_STR, &n) != SMPC_OK)
		return;
	for (size_t i = 0; i < n; i++)
		require(s[i].len <= FUZZ_MAX_STR && memchr(s[i].ptr, 0, s[i].len) == NULL);
	require_same(smpc_str_list_encode(s, n, &enc, &enc_len),
				 enc, enc_len, in, len);
}

/* ------------------------------------------------- protocol.h bodies */

static void
check_key_list(const smpc_key_list *k, uint32_t max_groups)
{
	size_t		ncells = (size_t) k->ngroups * k->ncols;

	require(k->ngroups <= max_groups && k->ncols <= SMPC_MAX_GROUP_COLS);
	require(k->ncols > 0 || k->ngroups <= 1);
	require(k->cells != NULL);
	for (size_t i = 0; i < ncells; i++)
	{
		require(k->cells[i].isnull <= 1 && k->cells[i].value.ptr != NULL);
		require(k->cells[i].value.len <= SMPC_MAX_KEY_LEN);
		require(!k->cells[i].isnull || k->cells[i].value.len == 0);
		require(memchr(k->cells[i].value.ptr, 0, k->cells[i].value.len) == NULL);
	}
}

static void
fuzz_key_list(const uint8_t *in, size_t len)
{
	smpc_reader r;
	smpc_key_list k;
	smpc_writer w;

	smpc_reader_init(&r, in, len);
	if (smpc_reader_get_key_list(&r, FUZZ_MAX_GROUPS, &k) != SMPC_OK)
	{
		require(all_zero(&k, sizeof(k)));
		return;
	}
	check_key_list(&k, FUZZ_MAX_GROUPS);
	smpc_writer_init(&w, FUZZ_MAX_MESSAGE);
	smpc_writer_put_key_list(&w, &k);
	require_reader_same(&w, &r, in, len);
	smpc_key_list_free(&k);
	require(all_zero(&k, sizeof(k)));
}

/* What protocol.h promises of an accepted PREPARE body read from in. */
static void
check_prepare(const smpc_prepare *p, const uint8_t *in, size_t len,
			  uint32_t max_groups)
{
	require(p->nparties >= 2 && p->nparties <= SMPC_MAX_PARTIES);
	require(p->threshold < p->nparties);
	require(p->parties >= in && p->parties + (size_t) p->nparties * SMPC_SIGN_PK_BYTES <= in + len);
	for (size_t i = 1; i < p->nparties; i++)
		for (size_t j = 0; j < i; j++)
			require(memcmp(p->parties + i * 32, p->parties + j * 32, 32) != 0);
	require(p->dataset.len > 0 && p->dataset.len <= SMPC_MAX_NAME_LEN);
	require(p->sql.len > 0 && p->sql.len <= SMPC_MAX_SQL_LEN);
	require(p->nvalues >= 1 && p->nvalues <= SMPC_MAX_VALUES && p->values != NULL);
	for (size_t i = 0; i < p->nvalues; i++)
	{
		require(p->values[i].kind >= SMPC_VALUE_INT && p->values[i].kind <= SMPC_VALUE_FLOAT);
		require(p->values[i].scale <= SMPC_ENC_MAX_SCALE);
		require(p->values[i].kind != SMPC_VALUE_INT || p->values[i].scale == 0);
	}
	require(p->reveal_keys <= 1 && (!p->reveal_keys || p->groups.ngroups == 0));
	check_key_list(&p->groups, max_groups);
}

static void
fuzz_prepare(const uint8_t *in, size_t len)
{
	smpc_reader r;
	smpc_prepare p;
	smpc_writer w;
	int			rc;

	smpc_reader_init(&r, in, len);
	rc = smpc_reader_get_prepare(&r, FUZZ_MAX_GROUPS, &p);
	require(rc == smpc_reader_finish(&r));
	if (rc != SMPC_OK)
	{
		require(all_zero(&p, sizeof(p)));
		return;
	}
	check_prepare(&p, in, len, FUZZ_MAX_GROUPS);

	smpc_writer_init(&w, FUZZ_MAX_MESSAGE);
	smpc_writer_put_prepare(&w, &p);
	require(r.pos == len);
	require_reader_same(&w, &r, in, len);
	smpc_prepare_free(&p);
	require(all_zero(&p, sizeof(p)));
}

static void
fuzz_prepare_reply(const uint8_t *in, size_t len)
{
	smpc_envelope_item items[FUZZ_MAX_ITEMS];
	smpc_key_list keys;
	uint8_t		kind;
	size_t		n;
	uint8_t    *enc = NULL;
	size_t		enc_len = 0;

	if (smpc_prepare_reply_decode(in, len, &kind, items, FUZZ_MAX_ITEMS, &n,
								  FUZZ_MAX_GROUPS, &keys) != SMPC_OK)
	{
		require(kind == 0 && n == 0 && all_zero(&keys, sizeof(keys)));
		return;
	}
	if (kind == SMPC_PREPARE_REPLY_SHARES)
	{
		require(n <= FUZZ_MAX_ITEMS && all_zero(&keys, sizeof(keys)));
		for (size_t i = 0; i < n; i++)
			require(items[i].env >= in && items[i].env_len >= SMPC_ENVELOPE_OVERHEAD &&
					items[i].env + items[i].env_len <= in + len);
	}
	else
	{
		require(kind == SMPC_PREPARE_REPLY_KEYS && n == 0);
		check_key_list(&keys, FUZZ_MAX_GROUPS);
	}
	require_same(smpc_prepare_reply_encode(kind, items, n, &keys, &enc, &enc_len),
				 enc, enc_len, in, len);
	smpc_key_list_free(&keys);
}

static void
fuzz_commitments(const uint8_t *in, size_t len)
{
	smpc_party_opening p[SMPC_MAX_PARTIES];
	smpc_reader r;
	smpc_writer w;
	size_t		n;

	smpc_reader_init(&r, in, len);
	if (smpc_reader_get_commitments(&r, p, SMPC_MAX_PARTIES, &n) != SMPC_OK)
	{
		require(n == 0);
		return;
	}
	require(n <= SMPC_MAX_PARTIES);
	for (size_t i = 0; i < n; i++)
		require(p[i].present <= 1 && p[i].sums == NULL && p[i].nsums == 0 &&
				(p[i].present || all_zero(p[i].commitment, SMPC_COMMIT_BYTES)));
	smpc_writer_init(&w, FUZZ_MAX_MESSAGE);
	smpc_writer_put_commitments(&w, p, n);
	require_reader_same(&w, &r, in, len);
}

/* The commitment value of some share-sums has the layout protocol.h gives. */
static void
check_commit_value(uint16_t party, const smpc_fe *sums, size_t nsums)
{
	uint8_t    *v = NULL;
	size_t		vlen = 0;

	require(smpc_commit_value(fx.ad.session_id, party, sums, nsums, &v, &vlen) == SMPC_OK);
	require(vlen == SMPC_SESSION_ID_BYTES + 2 + 4 + nsums * SMPC_FE_BYTES);
	require(memcmp(v, fx.ad.session_id, SMPC_SESSION_ID_BYTES) == 0);
	require(v[16] == (uint8_t) party && v[17] == (uint8_t) (party >> 8));
	smpc_free(v);
}

static void
fuzz_reveal_reply(const uint8_t *in, size_t len)
{
	uint8_t		opening[SMPC_COMMIT_OPENING_BYTES];
	smpc_fe    *sums;
	size_t		n;
	uint8_t    *enc = NULL;
	size_t		enc_len = 0;

	if (smpc_reveal_reply_decode(in, len, FUZZ_MAX_SUMS, opening, &sums, &n) != SMPC_OK)
	{
		require(sums == NULL && n == 0 && all_zero(opening, sizeof(opening)));
		return;
	}
	require(sums != NULL && n <= FUZZ_MAX_SUMS);
	for (size_t i = 0; i < n; i++)
		require(sums[i] < SMPC_FIELD_P);
	require_same(smpc_reveal_reply_encode(opening, sums, n, &enc, &enc_len),
				 enc, enc_len, in, len);
	check_commit_value(1, sums, n);
	smpc_free(sums);
}

static void
fuzz_openings(const uint8_t *in, size_t len)
{
	smpc_party_opening p[SMPC_MAX_PARTIES];
	smpc_reader r;
	smpc_writer w;
	size_t		n;

	memset(p, 0, sizeof(p));
	smpc_reader_init(&r, in, len);
	if (smpc_reader_get_openings(&r, p, SMPC_MAX_PARTIES, FUZZ_MAX_SUMS, &n) != SMPC_OK)
	{
		require(n == 0 && all_zero(p, sizeof(p)));
		return;
	}
	require(n <= SMPC_MAX_PARTIES);
	for (size_t i = 0; i < n; i++)
	{
		if (!p[i].present)
		{
			require(p[i].sums == NULL && p[i].nsums == 0);
			continue;
		}
		require(p[i].present == 1 && p[i].sums != NULL && p[i].nsums <= FUZZ_MAX_SUMS);
		for (size_t k = 0; k < p[i].nsums; k++)
			require(p[i].sums[k] < SMPC_FIELD_P);
		check_commit_value((uint16_t) i, p[i].sums, p[i].nsums);
	}
	smpc_writer_init(&w, FUZZ_MAX_MESSAGE);
	smpc_writer_put_openings(&w, p, n);
	require_reader_same(&w, &r, in, len);
	smpc_party_openings_free(p, n);
	require(all_zero(p, sizeof(p)));
}

/* ------------------------------------------------------- psi.h bodies */

static void
fuzz_intersect(const uint8_t *in, size_t len)
{
	smpc_reader r;
	smpc_intersect x;
	smpc_writer w;
	int			rc;

	smpc_reader_init(&r, in, len);
	rc = smpc_reader_get_intersect(&r, &x);
	require(rc == smpc_reader_finish(&r));
	if (rc != SMPC_OK)
	{
		require(all_zero(&x, sizeof(x)));
		return;
	}
	require(x.nparties >= 2 && x.nparties <= SMPC_MAX_PARTIES);
	require(x.parties >= in &&
			x.parties + (size_t) x.nparties * SMPC_SIGN_PK_BYTES <= in + len);
	for (size_t i = 1; i < x.nparties; i++)
		for (size_t j = 0; j < i; j++)
			require(memcmp(x.parties + i * 32, x.parties + j * 32, 32) != 0);
	require(x.dataset.len > 0 && x.dataset.len <= SMPC_MAX_NAME_LEN);
	require(x.sql.len > 0 && x.sql.len <= SMPC_MAX_SQL_LEN);
	require(memchr(x.dataset.ptr, 0, x.dataset.len) == NULL &&
			memchr(x.sql.ptr, 0, x.sql.len) == NULL);
	require(x.key_class == SMPC_PSI_KEY_INTEGER || x.key_class == SMPC_PSI_KEY_TEXT ||
			x.key_class == SMPC_PSI_KEY_UUID);
	smpc_writer_init(&w, FUZZ_MAX_MESSAGE);
	smpc_writer_put_intersect(&w, &x);
	require(r.pos == len);
	require_reader_same(&w, &r, in, len);
}

/* An accepted point list: in the input, strictly ascending, within max. */
static void
check_points(const uint8_t *pts, size_t n, const uint8_t *in, size_t len)
{
	require(n <= FUZZ_MAX_POINTS && pts != NULL);
	require(pts >= in && pts + n * SMPC_PSI_POINT_BYTES <= in + len);
	require(smpc_psi_check_sorted(pts, n) == SMPC_OK);
}

static void
fuzz_hop(const uint8_t *in, size_t len)
{
	smpc_reader r;
	smpc_writer w;
	uint16_t	hop;
	const uint8_t *pts;
	size_t		n;
	int			rc;

	smpc_reader_init(&r, in, len);
	rc = smpc_reader_get_hop(&r, FUZZ_MAX_POINTS, &hop, &pts, &n);
	require(rc == smpc_reader_finish(&r));
	if (rc != SMPC_OK)
	{
		require(hop == 0 && pts == NULL && n == 0);
		return;
	}
	require(hop >= 1 && hop < SMPC_MAX_PARTIES);
	check_points(pts, n, in, len);
	smpc_writer_init(&w, FUZZ_MAX_MESSAGE);
	smpc_writer_put_hop(&w, hop, pts, n);
	require(r.pos == len);
	require_reader_same(&w, &r, in, len);
}

static int
cmp_point(const void *a, const void *b)
{
	return memcmp(a, b, SMPC_PSI_POINT_BYTES);
}

/* smpc_psi_sort_unique on n points against qsort + dedup. */
static void
check_sort(const uint8_t *pts, size_t n)
{
	size_t		bytes = n * SMPC_PSI_POINT_BYTES;
	uint8_t    *a = malloc(bytes > 0 ? bytes : 1);
	uint8_t    *b = malloc(bytes > 0 ? bytes : 1);
	size_t		got = n,
				want = 0;

	require(a != NULL && b != NULL);
	memcpy(a, pts, bytes);
	memcpy(b, pts, bytes);
	qsort(b, n, SMPC_PSI_POINT_BYTES, cmp_point);
	for (size_t i = 0; i < n; i++)
		if (want == 0 || memcmp(b + (want - 1) * SMPC_PSI_POINT_BYTES,
								b + i * SMPC_PSI_POINT_BYTES, SMPC_PSI_POINT_BYTES) != 0)
			memmove(b + (want++) * SMPC_PSI_POINT_BYTES, b + i * SMPC_PSI_POINT_BYTES,
					SMPC_PSI_POINT_BYTES);
	require(smpc_psi_sort_unique(a, &got) == SMPC_OK);
	require(got == want && memcmp(a, b, want * SMPC_PSI_POINT_BYTES) == 0);
	free(a);
	free(b);
}

/*
 * Sorting fuzzer-chosen points: the input's 32-byte chunks as they are,
 * and replicated with a byte near the end varied, which makes long shared
 * prefixes and many duplicates and takes even short inputs past the
 * small-input path into the radix sort.
 */
static void
fuzz_sort(const uint8_t *in, size_t len)
{
	enum
	{
		COPIES = 8
	};
	size_t		m = len / SMPC_PSI_POINT_BYTES;
	uint8_t    *x;

	check_sort(in, m);
	if (m == 0)
		return;
	x = malloc(m * COPIES * SMPC_PSI_POINT_BYTES);
	require(x != NULL);
	for (size_t c = 0; c < COPIES; c++)
		for (size_t i = 0; i < m; i++)
		{
			uint8_t    *p = x + (c * m + i) * SMPC_PSI_POINT_BYTES;

			memcpy(p, in + i * SMPC_PSI_POINT_BYTES, SMPC_PSI_POINT_BYTES);
			p[SMPC_PSI_POINT_BYTES - 1 - c % 4] ^= (uint8_t) (c / 4);
		}
	check_sort(x, m * COPIES);
	free(x);
}

/*
 * A point list reply.  Besides the codec: counting a list against itself
 * and against its halves, and exponentiating its first points, which must
 * either be refused with a zeroed output or give a canonical element.
 */
static void
fuzz_points(const uint8_t *in, size_t len)
{
	static const uint8_t k[SMPC_PSI_SCALAR_BYTES] = {7};
	const uint8_t *pts;
	size_t		n;
	uint8_t    *enc = NULL;
	size_t		enc_len = 0;

	fuzz_sort(in, len);
	if (smpc_points_decode(in, len, FUZZ_MAX_POINTS, &pts, &n) != SMPC_OK)
	{
		require(pts == NULL && n == 0);
		return;
	}
	check_points(pts, n, in, len);
	require_same(smpc_points_encode(pts, n, &enc, &enc_len), enc, enc_len, in, len);

	if (n > 0)
	{
		size_t		neven = (n + 1) / 2;
		size_t		nodd = n / 2;
		uint8_t    *even = malloc(neven * SMPC_PSI_POINT_BYTES);
		uint8_t    *odd = malloc(nodd > 0 ? nodd * SMPC_PSI_POINT_BYTES : 1);
		const uint8_t *lists[3];
		size_t		counts[3];

		require(even != NULL && odd != NULL);
		for (size_t i = 0; i < n; i++)
			memcpy((i % 2 ? odd : even) + (i / 2) * SMPC_PSI_POINT_BYTES,
				   pts + i * SMPC_PSI_POINT_BYTES, SMPC_PSI_POINT_BYTES);
		lists[0] = pts;
		counts[0] = n;
		lists[1] = pts;
		counts[1] = n;
		lists[2] = even;
		counts[2] = neven;
		require(smpc_psi_count_common(lists, counts, 1) == n);
		require(smpc_psi_count_common(lists, counts, 2) == n);
		require(smpc_psi_count_common(lists, counts, 3) == neven);
		lists[1] = odd;
		counts[1] = nodd;
		require(smpc_psi_count_common(lists, counts, 2) == nodd);
		require(smpc_psi_count_common(lists + 1, counts + 1, 2) == 0);
		require(smpc_psi_count_common(lists, counts, 3) == 0);
		free(even);
		free(odd);
	}
	for (size_t i = 0; i < n && i < 4; i++)
	{
		uint8_t		out[SMPC_PSI_POINT_BYTES];
		int			rc = smpc_psi_point_mult(k, pts + i * SMPC_PSI_POINT_BYTES, out);

		if (rc == SMPC_OK)
			require(crypto_core_ristretto255_is_valid_point(out) &&
					(out[31] & 0x80) == 0 && !all_zero(out, sizeof(out)) &&
					(pts[i * SMPC_PSI_POINT_BYTES + 31] & 0x80) == 0);
		else
			require(rc == SMPC_ERR_MALFORMED && all_zero(out, sizeof(out)));
	}
}

/*
 * A request payload: the request header, then the body its message type
 * carries (protocol.h, messages.h).
 */
static void
fuzz_request(uint8_t type, const uint8_t *in, size_t len)
{
	smpc_reader r;
	smpc_request_header h;
	const uint8_t *body;
	size_t		body_len;

	smpc_reader_init(&r, in, len);
	if (smpc_request_header_get(&r, &h) != SMPC_OK)
		return;
	body = in + r.pos;
	body_len = len - r.pos;
	switch (type)
	{
		case SMPC_MSG_PREPARE:
			fuzz_prepare(body, body_len);
			break;
		case SMPC_MSG_SHARE:
			fuzz_key_list(body, body_len);
			break;
		case SMPC_MSG_COMBINE:
			fuzz_envelope_list(body, body_len);
			break;
		case SMPC_MSG_REVEAL:
			fuzz_commitments(body, body_len);
			break;
		case SMPC_MSG_FINISH:
			fuzz_openings(body, body_len);
			break;
		case SMPC_MSG_DESCRIBE:
			fuzz_str_list(body, body_len);
			break;
		case SMPC_MSG_INTERSECT:
			fuzz_intersect(body, body_len);
			break;
		case SMPC_MSG_HOP:
			fuzz_hop(body, body_len);
			break;
	}
}

static void
fuzz_signed_msg(const uint8_t *in, size_t len)
{
	smpc_signed_msg m;
	smpc_writer w;
	int			rc;

	rc = smpc_msg_decode_signed(in, len, FUZZ_MAX_MESSAGE, &m);
	if (rc != SMPC_OK)
	{
		require(m.signed_part == NULL && m.payload == NULL);
		return;
	}
	require(len >= SMPC_SIGNED_MSG_MIN_BYTES);
	require(m.signed_part == in && m.signed_len == len - SMPC_SIGNATURE_BYTES);
	require(m.version == SMPC_PROTOCOL_VERSION && smpc_msg_type_valid(m.type));

	/* the signed part is exactly the canonical encoding of the fields */
	smpc_writer_init(&w, FUZZ_MAX_MESSAGE);
	smpc_writer_put_header(&w, m.type);
	smpc_writer_put_bytes(&w, m.session_id, SMPC_SESSION_ID_BYTES);
	smpc_writer_put_u8(&w, m.round);
	smpc_writer_put_i64(&w, m.timestamp_ms);
	smpc_writer_put_bytes(&w, m.sender_pk, SMPC_SIGN_PK_BYTES);
	smpc_writer_put_bytes(&w, m.recipient_pk, SMPC_SIGN_PK_BYTES);
	smpc_writer_put_blob(&w, m.payload, m.payload_len);
	{
		uint8_t    *enc = NULL;
		size_t		enc_len = 0;

		require_same(smpc_writer_finish(&w, &enc, &enc_len), enc, enc_len,
					 m.signed_part, m.signed_len);
	}

	/* verification: fixed key, and whatever key the message claims */
	rc = smpc_msg_verify(&m, fx.signer.sign_pk);
	require(rc == SMPC_OK || rc == SMPC_ERR_AUTH);
	if (rc == SMPC_OK)
		require(memcmp(m.sender_pk, fx.signer.sign_pk, SMPC_SIGN_PK_BYTES) == 0);
	rc = smpc_msg_verify(&m, m.sender_pk);
	require(rc == SMPC_OK || rc == SMPC_ERR_AUTH);

	/* payloads nest: feed them to the payload decoders too */
	if (m.type == SMPC_MSG_SHARE)
		fuzz_envelope_list(m.payload, m.payload_len);
	else if (m.type == SMPC_MSG_COMBINE || m.type == SMPC_MSG_REVEAL)
		fuzz_fe_vector(m.payload, m.payload_len);
	else if (m.type == SMPC_MSG_PREPARE)
		fuzz_str_list(m.payload, m.payload_len);
	/* and to the request header and body decoders of the message type */
	fuzz_request(m.type, m.payload, m.payload_len);
}

/* ------------------------------------------- the member's request handling */

/*
 * A model of what a member does with the bytes smpc.exchange receives, in
 * the order src/member.c (smpc_exchange) and src/session.c (Dispatch and
 * the round handlers) do it, as far as the work lies in src/core: the
 * checks and calls are the member's, the catalog is the fixture's (see
 * fuzz_fixtures.h).  Steps that need the server (replay cache, dataset,
 * policy, local aggregate, group mapping) are left out; each round is
 * handled as if the model session were waiting for exactly that round.
 *
 * member_request returns how far a request got.  Stages before M_VERIFIED
 * refuse a request whose signature was not (or not yet) checked.
 */
typedef enum member_stage
{
	M_TOO_LARGE,				/* over smpc.max_message_size */
	M_MALFORMED,				/* smpc_msg_decode_signed refused it */
	M_VERSION,					/* ... for its protocol version */
	M_NOT_REQUEST,				/* a RESPONSE or ERROR */
	M_WRONG_RECIPIENT,			/* addressed to another key */
	M_UNKNOWN_SENDER,			/* the sender's key is pinned nowhere */
	M_BAD_SIGNATURE,			/* smpc_msg_verify refused it */
	M_BAD_HEADER,				/* smpc_request_header_get refused the payload */
	M_NO_FEDERATION,			/* names a federation the member lacks */
	M_NO_SESSION,				/* a later round outside the model session */
	M_BAD_BODY,					/* the body decoder or reader_finish refused it */
	M_REFUSED,					/* decoded; a check of the round handler failed */
	M_DONE,						/* handled as far as the core goes */
	M_NSTAGES
} member_stage;

#define M_VERIFIED M_BAD_HEADER

static const char *const member_stage_names[M_NSTAGES] = {
	"too large", "malformed", "version", "not a request", "wrong recipient",
	"unknown sender", "bad signature", "bad header", "no federation",
	"no session", "bad body", "refused", "done"
};

static int	trace;				/* FUZZ_TRACE set: print each member outcome */

static void
trace_stage(const char *what, uint8_t type, member_stage stage)
{
	if (trace)
		fprintf(stderr, "fuzz_codec: %s %s: %s\n", what, smpc_msg_type_name(type),
				member_stage_names[stage]);
}

/* FindSenderServer: the identity whose key the member pins, or NULL. */
static const smpc_identity *
member_pinned(const uint8_t *sign_pk)
{
	if (sodium_memcmp(sign_pk, fx.signer.sign_pk, SMPC_SIGN_PK_BYTES) == 0)
		return &fx.signer;
	if (sodium_memcmp(sign_pk, fx.sender.sign_pk, SMPC_SIGN_PK_BYTES) == 0)
		return &fx.sender;
	return NULL;
}

/*
 * A verified message must be exactly what its signer produces for the
 * decoded fields: the encoding is canonical and Ed25519 signing is
 * deterministic, so any other byte string that verifies would be a forgery
 * or a malleable encoding.
 */
static void
require_resigned(const smpc_signed_msg *m, const smpc_identity *signer,
				 const uint8_t *in, size_t len)
{
	uint8_t    *enc = NULL;
	size_t		enc_len = 0;

	require(smpc_msg_encode_signed(m, signer, &enc, &enc_len) == SMPC_OK);
	require(enc_len == len && memcmp(enc, in, len) == 0);
	smpc_free(enc);
}

/* HandleDescribe: a string list of dataset names, then nothing. */
static member_stage
member_describe(smpc_reader *r)
{
	static smpc_str names[SMPC_MAX_DATASETS];
	size_t		n;

	if (smpc_reader_get_str_list(r, names, SMPC_MAX_DATASETS, SMPC_MAX_NAME_LEN, &n) != SMPC_OK ||
		smpc_reader_finish(r) != SMPC_OK)
		return M_BAD_BODY;
	require(n <= SMPC_MAX_DATASETS);
	for (size_t i = 0; i < n; i++)
		require(names[i].len <= SMPC_MAX_NAME_LEN &&
				memchr(names[i].ptr, 0, names[i].len) == NULL);
	return M_DONE;
}

static int
key_lists_equal(const smpc_key_list *a, const smpc_key_list *b)
{
	if (a->ngroups != b->ngroups || a->ncols != b->ncols)
		return 0;
	for (size_t i = 0; i < (size_t) a->ngroups * a->ncols; i++)
		if (a->cells[i].isnull != b->cells[i].isnull ||
			a->cells[i].value.len != b->cells[i].value.len ||
			memcmp(a->cells[i].value.ptr, b->cells[i].value.ptr, a->cells[i].value.len) != 0)
			return 0;
	return 1;
}

/* HandlePrepare's checks of the participants, threshold and groups. */
static member_stage
prepare_checks(const smpc_prepare *p, const smpc_signed_msg *m)
{
	int			self = -1;

	if (memcmp(p->parties, m->sender_pk, SMPC_SIGN_PK_BYTES) != 0)
		return M_REFUSED;		/* the querying node must be party 0 */
	for (int i = 1; i < p->nparties; i++)
	{
		const uint8_t *pk = p->parties + (size_t) i * SMPC_SIGN_PK_BYTES;

		if (sodium_memcmp(pk, fx.recipient.sign_pk, SMPC_SIGN_PK_BYTES) == 0)
			self = i;
		else if (member_pinned(pk) == NULL)
			return M_REFUSED;	/* not a member of the federation here */
	}
	if (self < 0 || p->nparties < FUZZ_MIN_MEMBERS ||
		p->threshold < 1 || p->threshold < FUZZ_THRESHOLD)
		return M_REFUSED;
	if (!p->reveal_keys)
	{
		smpc_key_list domain = fuzz_group_keys();

		/* the member's public group key domain, or a single group */
		if (p->groups.ncols > 0 ? !key_lists_equal(&domain, &p->groups)
			: p->groups.ngroups != 1)
			return M_REFUSED;
	}
	return M_DONE;
}

static member_stage
member_prepare(smpc_reader *r, const smpc_signed_msg *m, uint32_t max_groups)
{
	smpc_prepare p;
	member_stage stage;

	memset(&p, 0, sizeof(p));
	if (smpc_reader_get_prepare(r, max_groups, &p) != SMPC_OK)
	{
		require(all_zero(&p, sizeof(p)));
		return M_BAD_BODY;
	}
	require(smpc_reader_finish(r) == SMPC_OK);
	check_prepare(&p, r->data, r->len, max_groups);
	stage = prepare_checks(&p, m);
	smpc_prepare_free(&p);
	require(all_zero(&p, sizeof(p)));
	return stage;
}

/* HandleShare: the key list, then ShareInOrder's check of its width. */
static member_stage
member_share(smpc_reader *r, uint32_t max_groups)
{
	smpc_key_list order;
	member_stage stage;
	int			rc;

	memset(&order, 0, sizeof(order));
	rc = smpc_reader_get_key_list(r, max_groups, &order);
	if (rc != SMPC_OK)
		require(all_zero(&order, sizeof(order)));
	else
		rc = smpc_reader_finish(r);
	if (rc != SMPC_OK)
		stage = M_BAD_BODY;
	else
	{
		check_key_list(&order, max_groups);
		stage = order.ncols == FUZZ_GROUP_COLS ? M_DONE : M_REFUSED;
	}
	smpc_key_list_free(&order);
	return stage;
}

/*
 * smpc_add_envelope: open what party `from` sealed for the member and add
 * its FUZZ_NVALS shares to sums.  Returns 0 where the member raises an
 * error.
 */
static int
member_add_envelope(int from, const uint8_t *env, size_t env_len, smpc_fe *sums)
{
	smpc_envelope_ad ad;
	smpc_fe		shares[FUZZ_NVALS];
	uint8_t    *plain;
	size_t		plen = 0;
	size_t		n = 0;
	int			rc;

	if (env_len < SMPC_ENVELOPE_OVERHEAD)
		return 0;
	memset(&ad, 0, sizeof(ad));
	memcpy(ad.session_id, fx.ad.session_id, SMPC_SESSION_ID_BYTES);
	ad.round = FUZZ_SHARE_ROUND;
	memcpy(ad.sender_pk, fx.party[from]->sign_pk, SMPC_SIGN_PK_BYTES);
	memcpy(ad.recipient_pk, fx.recipient.sign_pk, SMPC_SIGN_PK_BYTES);
	plain = malloc(env_len > 0 ? env_len : 1);
	require(plain != NULL);
	rc = smpc_envelope_open(&fx.recipient, fx.party[from]->kx_pk, &ad, env, env_len,
							plain, env_len, &plen);
	if (rc != SMPC_OK)
	{
		require(plen == 0 && (rc == SMPC_ERR_AUTH || rc == SMPC_ERR_TRUNCATED));
		free(plain);
		return 0;
	}
	require(plen == env_len - SMPC_ENVELOPE_OVERHEAD);
	rc = smpc_fe_vector_decode(plain, plen, shares, FUZZ_NVALS, &n);
	free(plain);
	if (rc != SMPC_OK || n != FUZZ_NVALS)
		return 0;
	for (size_t i = 0; i < FUZZ_NVALS; i++)
	{
		require(shares[i] < SMPC_FIELD_P);
		sums[i] = smpc_fe_add(sums[i], shares[i]);
	}
	return 1;
}

/* HandleCombine: one envelope from every other party, then a commitment. */
static member_stage
member_combine(smpc_reader *r)
{
	smpc_envelope_item items[SMPC_MAX_PARTIES];
	int			seen[FUZZ_NPARTIES] = {0};
	smpc_fe		sums[FUZZ_NVALS];
	uint8_t		opening[SMPC_COMMIT_OPENING_BYTES];
	uint8_t		commitment[SMPC_COMMIT_BYTES];
	uint8_t    *value = NULL;
	size_t		value_len = 0;
	size_t		n;
	int			rc;

	rc = smpc_reader_get_envelope_list(r, items, SMPC_MAX_PARTIES, &n);
	if (rc == SMPC_OK)
		rc = smpc_reader_finish(r);
	if (rc != SMPC_OK)
		return M_BAD_BODY;
	require(n <= SMPC_MAX_PARTIES);
	if (n != FUZZ_NPARTIES - 1)
		return M_REFUSED;
	memcpy(sums, fx.party_sums[FUZZ_SELF], sizeof(sums));
	for (size_t i = 0; i < n; i++)
	{
		int			from = -1;

		require(items[i].env >= r->data && items[i].env + items[i].env_len <= r->data + r->len);
		for (int j = 0; j < FUZZ_NPARTIES; j++)
			if (j != FUZZ_SELF &&
				memcmp(fx.party[j]->sign_pk, items[i].recipient_pk, SMPC_SIGN_PK_BYTES) == 0)
				from = j;
		if (from < 0 || seen[from])
			return M_REFUSED;
		seen[from] = 1;
		if (!member_add_envelope(from, items[i].env, items[i].env_len, sums))
			return M_REFUSED;
	}
	/* smpc_commit_sums */
	require(smpc_commit_value(fx.ad.session_id, FUZZ_SELF, sums, FUZZ_NVALS,
							  &value, &value_len) == SMPC_OK);
	require(smpc_commit(value, value_len, opening, commitment) == SMPC_OK);
	require(smpc_commit_verify(commitment, opening, value, value_len) == SMPC_OK);
	smpc_free(value);
	return M_DONE;
}

/* HandleReveal: every party's commitment, the member's own among them. */
static member_stage
member_reveal(smpc_reader *r)
{
	smpc_party_opening p[SMPC_MAX_PARTIES];
	size_t		n;
	int			rc;

	memset(p, 0, sizeof(p));
	rc = smpc_reader_get_commitments(r, p, SMPC_MAX_PARTIES, &n);
	if (rc == SMPC_OK)
		rc = smpc_reader_finish(r);
	if (rc != SMPC_OK)
		return M_BAD_BODY;
	require(n <= SMPC_MAX_PARTIES);
	for (size_t i = 0; i < n; i++)
		require(p[i].present <= 1 && p[i].sums == NULL);
	if (n != FUZZ_NPARTIES)
		return M_REFUSED;
	if (!p[FUZZ_SELF].present ||
		sodium_memcmp(p[FUZZ_SELF].commitment, fx.commitments[FUZZ_SELF],
					  SMPC_COMMIT_BYTES) != 0)
		return M_REFUSED;
	return M_DONE;
}

/*
 * HandleFinish: every party's opening; each present one must open that
 * party's commitment (smpc_verify_opening), then smpc_reconstruct.  The
 * commitments bind the fixture share-sums, so whatever passes must
 * reconstruct the fixture secrets.
 */
static member_stage
member_finish_checks(smpc_party_opening *p)
{
	uint32_t	xs[FUZZ_NPARTIES];
	smpc_fe		points[FUZZ_NPARTIES * FUZZ_NVALS];
	smpc_fe		secrets[FUZZ_NVALS];
	int			k = 0;
	int			bad = -1;
	int			rc;

	for (int i = 0; i < FUZZ_NPARTIES; i++)
	{
		uint8_t    *value = NULL;
		size_t		value_len = 0;

		if (!p[i].present)
			continue;
		if (p[i].nsums != FUZZ_NVALS)
			return M_REFUSED;
		require(p[i].sums != NULL);
		require(smpc_commit_value(fx.ad.session_id, (uint16_t) i, p[i].sums, FUZZ_NVALS,
								  &value, &value_len) == SMPC_OK);
		rc = smpc_commit_verify(fx.commitments[i], p[i].opening, value, value_len);
		smpc_free(value);
		if (rc != SMPC_OK)
		{
			require(rc == SMPC_ERR_AUTH);
			return M_REFUSED;
		}
		require(memcmp(p[i].sums, fx.party_sums[i], sizeof(fx.party_sums[i])) == 0);
		xs[k] = (uint32_t) i + 1;
		memcpy(points + (size_t) k * FUZZ_NVALS, p[i].sums, sizeof(smpc_fe) * FUZZ_NVALS);
		k++;
	}
	if (k < FUZZ_THRESHOLD + 1)
		return M_REFUSED;
	if (k > FUZZ_THRESHOLD + 1)
		require(smpc_shamir_check(xs, points, k, FUZZ_NVALS, FUZZ_THRESHOLD, &bad) == SMPC_OK &&
				bad == -1);
	require(smpc_shamir_reconstruct(xs, points, FUZZ_THRESHOLD + 1, FUZZ_NVALS,
									secrets) == SMPC_OK);
	require(memcmp(secrets, fx.secrets, sizeof(secrets)) == 0);
	return M_DONE;
}

static member_stage
member_finish(smpc_reader *r)
{
	smpc_party_opening p[SMPC_MAX_PARTIES];
	member_stage stage;
	size_t		n;
	int			rc;

	memset(p, 0, sizeof(p));
	rc = smpc_reader_get_openings(r, p, SMPC_MAX_PARTIES, FUZZ_NVALS, &n);
	if (rc != SMPC_OK)
		require(n == 0 && all_zero(p, sizeof(p)));
	else
		rc = smpc_reader_finish(r);
	if (rc != SMPC_OK)
	{
		smpc_party_openings_free(p, SMPC_MAX_PARTIES);
		return M_BAD_BODY;
	}
	require(n <= SMPC_MAX_PARTIES);
	for (size_t i = 0; i < n; i++)
		require(p[i].present ? p[i].nsums <= FUZZ_NVALS : p[i].sums == NULL);
	if (n != FUZZ_NPARTIES || !p[FUZZ_SELF].present)
		stage = M_REFUSED;
	else
		stage = member_finish_checks(p);
	smpc_party_openings_free(p, n);
	require(all_zero(p, sizeof(p)));
	return stage;
}

/* smpc_exchange, then the handler of the message type. */
static member_stage
member_request(const uint8_t *data, size_t len, uint32_t max_groups, uint8_t *type)
{
	smpc_signed_msg m;
	const smpc_identity *sender;
	smpc_request_header h;
	smpc_reader body;
	int			rc;

	*type = 0;
	if (len > FUZZ_MEMBER_MAX_MESSAGE)
		return M_TOO_LARGE;
	rc = smpc_msg_decode_signed(data, len, FUZZ_MEMBER_MAX_MESSAGE, &m);
	if (rc != SMPC_OK)
	{
		require(m.signed_part == NULL && m.payload == NULL && m.type == 0);
		return rc == SMPC_ERR_VERSION ? M_VERSION : M_MALFORMED;
	}
	*type = m.type;
	if (m.type == SMPC_MSG_RESPONSE || m.type == SMPC_MSG_ERROR)
		return M_NOT_REQUEST;
	if (sodium_memcmp(m.recipient_pk, fx.recipient.sign_pk, SMPC_SIGN_PK_BYTES) != 0)
		return M_WRONG_RECIPIENT;
	if ((sender = member_pinned(m.sender_pk)) == NULL)
		return M_UNKNOWN_SENDER;
	if ((rc = smpc_msg_verify(&m, sender->sign_pk)) != SMPC_OK)
	{
		require(rc == SMPC_ERR_AUTH);
		return M_BAD_SIGNATURE;
	}
	require_resigned(&m, sender, data, len);

	smpc_reader_init(&body, m.payload, m.payload_len);
	if (smpc_request_header_get(&body, &h) != SMPC_OK)
		return M_BAD_HEADER;
	require(h.federation.len > 0 && h.federation.len <= SMPC_MAX_NAME_LEN &&
			h.initiator_role.len <= SMPC_MAX_ROLE_LEN);
	if (h.federation.len != strlen(FUZZ_FEDERATION) ||
		memcmp(h.federation.ptr, FUZZ_FEDERATION, h.federation.len) != 0)
		return M_NO_FEDERATION;

	switch (m.type)
	{
		case SMPC_MSG_PING:
			return smpc_reader_finish(&body) == SMPC_OK ? M_DONE : M_BAD_BODY;
		case SMPC_MSG_DESCRIBE:
			return member_describe(&body);
		case SMPC_MSG_PREPARE:
			return member_prepare(&body, &m, max_groups);
	}
	/* Dispatch: later rounds belong to the session the querying node began */
	if (memcmp(m.session_id, fx.ad.session_id, SMPC_SESSION_ID_BYTES) != 0 ||
		sodium_memcmp(fx.party[0]->sign_pk, m.sender_pk, SMPC_SIGN_PK_BYTES) != 0)
		return M_NO_SESSION;
	switch (m.type)
	{
		case SMPC_MSG_SHARE:
			return member_share(&body, max_groups);
		case SMPC_MSG_COMBINE:
			return member_combine(&body);
		case SMPC_MSG_REVEAL:
			return member_reveal(&body);
		case SMPC_MSG_FINISH:
			return member_finish(&body);
	}
	abort();					/* smpc_msg_decode_signed accepts no other type */
}

/* FUZZ_MEMBER: the input is the request smpc.exchange receives. */
static void
fuzz_member(const uint8_t *in, size_t len)
{
	uint8_t		type;
	member_stage stage = member_request(in, len, FUZZ_MEMBER_MAX_GROUPS, &type);

	trace_stage("member", type, stage);
}

/*
 * FUZZ_MEMBER_SIGNED: the input is a type index, a control byte and the
 * payload, which the harness signs (fuzz_fixtures.h) so that the fuzzer's
 * bytes reach the handlers behind the signature check.  How far a request
 * gets before its payload is looked at follows from the control byte.
 */
static void
fuzz_member_signed(const uint8_t *in, size_t len)
{
	uint8_t		type,
				ctl,
				got;
	const smpc_identity *signer;
	const uint8_t *recipient_pk;
	uint8_t		session_id[SMPC_SESSION_ID_BYTES];
	uint8_t    *msg = NULL;
	size_t		msg_len = 0;
	member_stage stage;
	int			later_round,
				no_session;

	if (len < 2)
		return;
	type = fuzz_member_types[in[0] % FUZZ_NMEMBER_TYPES];
	ctl = in[1];
	signer = (ctl & FUZZ_CTL_SIGNER_MASK) == 1 ? &fx.sender
		: (ctl & FUZZ_CTL_SIGNER_MASK) == 2 ? &fx.stranger : &fx.signer;
	recipient_pk = ctl & FUZZ_CTL_MISADDRESSED ? fx.sender.sign_pk : fx.recipient.sign_pk;
	memcpy(session_id, fx.ad.session_id, SMPC_SESSION_ID_BYTES);
	if (ctl & FUZZ_CTL_OTHER_SESSION)
		session_id[0] ^= 0xFF;
	require(fuzz_sign(signer, recipient_pk, session_id, type, in + 2, len - 2,
					  &msg, &msg_len) == SMPC_OK);
	stage = member_request(msg, msg_len,
						   fuzz_max_groups[(ctl >> FUZZ_CTL_GROUPS_SHIFT) & 3], &got);
	trace_stage("signed", type, stage);
	require(got == type);

	later_round = type >= SMPC_MSG_SHARE && type <= SMPC_MSG_FINISH;
	no_session = later_round && (signer != &fx.signer || (ctl & FUZZ_CTL_OTHER_SESSION));
	if (type == SMPC_MSG_RESPONSE || type == SMPC_MSG_ERROR)
		require(stage == M_NOT_REQUEST);
	else if (ctl & FUZZ_CTL_MISADDRESSED)
		require(stage == M_WRONG_RECIPIENT);
	else if (signer == &fx.stranger)
		require(stage == M_UNKNOWN_SENDER);
	else
	{
		/* signed by a pinned key: the signature is good */
		require(stage >= M_VERIFIED);
		if (stage >= M_NO_SESSION)
			require((stage == M_NO_SESSION) == no_session);
	}
	smpc_free(msg);
}

/*
 * FUZZ_MEMBER_TAMPER: a valid fixture request (first byte picks it), then
 * edits of 4 bytes each: kind, position (u16), value.  Unchanged, the
 * request must be handled to the end; changed in any way, no fixture key
 * may verify it; with only the version field changed, decoding must say
 * so (the member's "unsupported protocol version" error).
 */
#define FUZZ_TAMPER_MAX_EDITS 8

static uint8_t *tamper_msg[FUZZ_NMEMBER_MSGS];
static size_t tamper_len[FUZZ_NMEMBER_MSGS];

static void
fuzz_member_tamper(const uint8_t *in, size_t len)
{
	const smpc_identity *keys[4] = {&fx.signer, &fx.sender, &fx.recipient, &fx.stranger};
	int			which;
	const uint8_t *orig;
	size_t		olen;
	uint8_t    *buf;
	size_t		blen;
	size_t		nedits;
	uint8_t		type;
	member_stage stage;
	smpc_signed_msg m;
	int			rc;

	if (len < 1)
		return;
	which = in[0] % FUZZ_NMEMBER_MSGS;
	orig = tamper_msg[which];
	olen = tamper_len[which];
	buf = malloc(olen + FUZZ_TAMPER_MAX_EDITS);
	require(buf != NULL);
	memcpy(buf, orig, olen);
	blen = olen;
	nedits = (len - 1) / 4;
	if (nedits > FUZZ_TAMPER_MAX_EDITS)
		nedits = FUZZ_TAMPER_MAX_EDITS;
	for (size_t e = 0; e < nedits; e++)
	{
		const uint8_t *ed = in + 1 + 4 * e;
		size_t		pos = (size_t) ed[1] | ((size_t) ed[2] << 8);
		uint8_t		val = ed[3];

		switch (ed[0] % 6)
		{
			case 0:				/* flip one bit */
				if (blen > 0)
					buf[pos % blen] ^= (uint8_t) (1 << (val & 7));
				break;
			case 1:				/* overwrite one byte */
				if (blen > 0)
					buf[pos % blen] = val;
				break;
			case 2:				/* truncate */
				blen = pos % (blen + 1);
				break;
			case 3:				/* set the version field (u16 at offset 4) */
				if (blen >= 6)
				{
					buf[4] = val;
					buf[5] = ed[1];
				}
				break;
			case 4:				/* insert one byte (at the end: append) */
				pos %= blen + 1;
				memmove(buf + pos + 1, buf + pos, blen - pos);
				buf[pos] = val;
				blen++;
				break;
			case 5:				/* delete one byte */
				if (blen > 0)
				{
					pos %= blen;
					memmove(buf + pos, buf + pos + 1, blen - pos - 1);
					blen--;
				}
				break;
		}
	}

	stage = member_request(buf, blen, FUZZ_MEMBER_MAX_GROUPS, &type);
	trace_stage("tampered", fuzz_member_msgs[which].type, stage);
	if (blen == olen && memcmp(buf, orig, olen) == 0)
		require(stage == M_DONE);
	else
	{
		int			version_only = blen == olen;

		require(stage < M_VERIFIED);
		rc = smpc_msg_decode_signed(buf, blen, FUZZ_MEMBER_MAX_MESSAGE, &m);
		if (rc == SMPC_OK)
			for (int k = 0; k < 4; k++)
				require(smpc_msg_verify(&m, keys[k]->sign_pk) != SMPC_OK);
		for (size_t i = 0; version_only && i < olen; i++)
			if (buf[i] != orig[i] && i != 4 && i != 5)
				version_only = 0;
		if (version_only)
			require(rc == SMPC_ERR_VERSION && stage == M_VERSION);
	}
	free(buf);
}

/* Build the fixture requests; each must be handled to the end. */
static void
member_init(void)
{
	trace = getenv("FUZZ_TRACE") != NULL;
	for (int i = 0; i < FUZZ_NMEMBER_MSGS; i++)
	{
		uint8_t    *payload = NULL;
		size_t		payload_len = 0;
		uint8_t		type;

		require(fuzz_member_message(&fx, i, &payload, &payload_len,
									&tamper_msg[i], &tamper_len[i]) == SMPC_OK);
		smpc_free(payload);
		require(member_request(tamper_msg[i], tamper_len[i], FUZZ_MEMBER_MAX_GROUPS,
							   &type) == M_DONE);
	}
}

static void
fuzz_pubkey_text(const uint8_t *in, size_t len)
{
	smpc_public_key pk;
	char		text[SMPC_PUBKEY_TEXT_LEN];
	char		fp[SMPC_FINGERPRINT_LEN];

	if (smpc_pubkey_from_text((const char *) in, len, &pk) != SMPC_OK)
		return;
	require(smpc_pubkey_to_text(&pk, text) == SMPC_OK);
	require(len == SMPC_PUBKEY_TEXT_CHARS && memcmp(text, in, len) == 0);
	require(smpc_fingerprint(&pk, fp) == SMPC_OK && strlen(fp) == SMPC_FINGERPRINT_CHARS);
}

static void
fuzz_keyfile(const uint8_t *in, size_t len)
{
	smpc_identity id;
	uint8_t		kf[SMPC_KEYFILE_LEN];

	if (smpc_identity_from_keyfile(in, len, &id) != SMPC_OK)
		return;
	require(smpc_identity_to_keyfile(&id, kf) == SMPC_OK);
	require(len == SMPC_KEYFILE_LEN && memcmp(kf, in, len) == 0);
	smpc_identity_wipe(&id);
}

/*
 * The protocol payloads of messages.c: a request header followed by a
 * string list (a DESCRIBE request), a ping reply, and a describe reply.
 */
static void
fuzz_payloads(const uint8_t *in, size_t len)
{
	smpc_reader r;
	smpc_request_header h;
	smpc_str	names[FUZZ_MAX_ITEMS];
	size_t		n;
	smpc_ping_reply p;
	smpc_dataset_desc *ds;
	size_t		nds;

	smpc_reader_init(&r, in, len);
	if (smpc_request_header_get(&r, &h) == SMPC_OK)
	{
		require(h.federation.len > 0 && h.federation.len <= SMPC_MAX_NAME_LEN);
		if (smpc_reader_get_str_list(&r, names, FUZZ_MAX_ITEMS, SMPC_MAX_NAME_LEN, &n) == SMPC_OK)
			(void) smpc_reader_finish(&r);
	}
	if (smpc_ping_reply_decode(in, len, &p) == SMPC_OK)
		require(p.node_name.len > 0 && p.node_name.ptr >= (const char *) in &&
				p.node_name.ptr + p.node_name.len <= (const char *) in + len);
	if (smpc_describe_reply_decode(in, len, &ds, &nds) == SMPC_OK)
	{
		uint8_t    *out;
		size_t		outlen;

		/* an accepted reply re-encodes to exactly the same bytes */
		require(smpc_describe_reply_encode(ds, nds, &out, &outlen) == SMPC_OK);
		require(outlen == len && memcmp(out, in, len) == 0);
		smpc_free(out);
		smpc_describe_reply_free(ds, nds);
	}
	else
		require(ds == NULL && nds == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *in;
	size_t		len;

	if (!initialized)
	{
		require(sodium_init() >= 0);
		require(fuzz_fixtures_init(&fx) == SMPC_OK);
		member_init();
		initialized = 1;
	}
	if (size == 0)
		return 0;
	in = data + 1;
	len = size - 1;

	switch (data[0] % FUZZ_NSELECTORS)
	{
		case FUZZ_SIGNED_MSG:
			fuzz_signed_msg(in, len);
			break;
		case FUZZ_ENVELOPE_LIST:
			fuzz_envelope_list(in, len);
			break;
		case FUZZ_FE_VECTOR:
			fuzz_fe_vector(in, len);
			break;
		case FUZZ_STR_LIST:
			fuzz_str_list(in, len);
			break;
		case FUZZ_ENVELOPE:
			try_open(&fx.ad, in, len);
			break;
		case FUZZ_PUBKEY_TEXT:
			fuzz_pubkey_text(in, len);
			break;
		case FUZZ_KEYFILE:
			fuzz_keyfile(in, len);
			break;
		case FUZZ_PAYLOADS:
			fuzz_payloads(in, len);
			break;
		case FUZZ_KEY_LIST:
			fuzz_key_list(in, len);
			break;
		case FUZZ_PREPARE:
			fuzz_prepare(in, len);
			break;
		case FUZZ_PREPARE_REPLY:
			fuzz_prepare_reply(in, len);
			break;
		case FUZZ_COMMITMENTS:
			fuzz_commitments(in, len);
			break;
		case FUZZ_REVEAL_REPLY:
			fuzz_reveal_reply(in, len);
			break;
		case FUZZ_OPENINGS:
			fuzz_openings(in, len);
			break;
		case FUZZ_MEMBER:
			fuzz_member(in, len);
			break;
		case FUZZ_MEMBER_SIGNED:
			fuzz_member_signed(in, len);
			break;
		case FUZZ_MEMBER_TAMPER:
			fuzz_member_tamper(in, len);
			break;
		case FUZZ_INTERSECT:
			fuzz_intersect(in, len);
			break;
		case FUZZ_HOP:
			fuzz_hop(in, len);
			break;
		case FUZZ_POINTS:
			fuzz_points(in, len);
			break;
	}
	return 0;
}
