/*
 * fuzz_codec.c
 *		libFuzzer target for every decoder that faces untrusted bytes:
 *		signed messages, payload codecs, envelopes, public-key text, key
 *		files and the protocol message bodies of protocol.h.
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
 * Build:
 *	clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/core \
 *		test/fuzz/fuzz_codec.c <every src/core .c file> -lsodium -lcrypto \
 *		-o fuzz_codec
 *	./fuzz_codec -max_total_time=60 test/fuzz/corpus
 */
#include <stdlib.h>
#include <sodium.h>

#include "fuzz_fixtures.h"
#include "messages.h"
#include "protocol.h"
#include "encode.h"

#define FUZZ_MAX_MESSAGE ((size_t) 1 << 20)
#define FUZZ_MAX_ITEMS 64
#define FUZZ_MAX_FE 4096
#define FUZZ_MAX_STR 1024
#define FUZZ_MAX_GROUPS 4096
#define FUZZ_MAX_SUMS 4096

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
	require(p.nparties >= 2 && p.nparties <= SMPC_MAX_PARTIES);
	require(p.threshold < p.nparties);
	require(p.parties >= in && p.parties + (size_t) p.nparties * SMPC_SIGN_PK_BYTES <= in + len);
	for (size_t i = 1; i < p.nparties; i++)
		for (size_t j = 0; j < i; j++)
			require(memcmp(p.parties + i * 32, p.parties + j * 32, 32) != 0);
	require(p.dataset.len > 0 && p.dataset.len <= SMPC_MAX_NAME_LEN);
	require(p.sql.len > 0 && p.sql.len <= SMPC_MAX_SQL_LEN);
	require(p.nvalues >= 1 && p.nvalues <= SMPC_MAX_VALUES && p.values != NULL);
	for (size_t i = 0; i < p.nvalues; i++)
	{
		require(p.values[i].kind >= SMPC_VALUE_INT && p.values[i].kind <= SMPC_VALUE_FLOAT);
		require(p.values[i].scale <= SMPC_ENC_MAX_SCALE);
		require(p.values[i].kind != SMPC_VALUE_INT || p.values[i].scale == 0);
	}
	require(p.reveal_keys <= 1 && (!p.reveal_keys || p.groups.ngroups == 0));
	check_key_list(&p.groups, FUZZ_MAX_GROUPS);

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
	}
	return 0;
}
