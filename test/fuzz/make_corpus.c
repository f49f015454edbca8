/*
 * make_corpus.c
 *		Writes the seed corpus for fuzz_codec: a few valid encodings of
 *		each input kind, each prefixed with its selector byte, signed or
 *		sealed with the fixed fuzz identities so the fuzzer starts from
 *		inputs that get past authentication.
 *
 * Build and run from the repository root with `make fuzz-corpus`, which
 * replaces test/fuzz/corpus.  Envelopes use fresh random nonces, so
 * regenerated files differ bytewise; to add seeds without churning the
 * committed ones, run test/fuzz/make_corpus into an empty directory and
 * copy only the new files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>

#include "fuzz_fixtures.h"
#include "messages.h"
#include "protocol.h"
#include "psi.h"

static const char *outdir;
static int	failures;

static void
check(int rc, const char *what)
{
	if (rc != SMPC_OK)
	{
		fprintf(stderr, "make_corpus: %s: %s\n", what, smpc_status_message(rc));
		exit(1);
	}
}

/* Write selector byte + data to outdir/name. */
static void
emit(const char *name, uint8_t selector, const uint8_t *data, size_t len)
{
	char		path[1024];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	f = fopen(path, "wb");
	if (f == NULL ||
		fwrite(&selector, 1, 1, f) != 1 ||
		(len > 0 && fwrite(data, 1, len, f) != len) ||
		fclose(f) != 0)
	{
		fprintf(stderr, "make_corpus: cannot write %s\n", path);
		failures++;
	}
}

/* Sign a message carrying payload from the fixed signer; emit and free. */
static void
emit_signed(const fuzz_fixtures *fx, const char *name, uint8_t type,
			const uint8_t *payload, size_t payload_len)
{
	smpc_signed_msg m;
	uint8_t    *enc = NULL;
	size_t		len = 0;

	memset(&m, 0, sizeof(m));
	m.type = type;
	memcpy(m.session_id, fx->ad.session_id, SMPC_SESSION_ID_BYTES);
	m.round = fx->ad.round;
	m.timestamp_ms = 1700000000000LL;
	memcpy(m.sender_pk, fx->signer.sign_pk, SMPC_SIGN_PK_BYTES);
	memcpy(m.recipient_pk, fx->recipient.sign_pk, SMPC_SIGN_PK_BYTES);
	m.payload = payload;
	m.payload_len = payload_len;
	check(smpc_msg_encode_signed(&m, &fx->signer, &enc, &len), name);
	emit(name, FUZZ_SIGNED_MSG, enc, len);
	smpc_free(enc);
}

/* Finish a writer into an smpc_malloc'd buffer, or exit. */
static void
finish_or_die(smpc_writer *w, const char *what, uint8_t **out, size_t *len)
{
	check(smpc_writer_finish(w, out, len), what);
}

/* A request payload: request header then body; emitted signed as type. */
static void
emit_request(const fuzz_fixtures *fx, const char *name, uint8_t type,
			 const uint8_t *body, size_t body_len)
{
	smpc_request_header h = {{"research", 8}, {"analyst", 7}};
	smpc_writer w;
	uint8_t    *payload;
	size_t		payload_len;

	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_request_header_put(&w, &h);
	smpc_writer_put_bytes(&w, body, body_len);
	finish_or_die(&w, name, &payload, &payload_len);
	emit_signed(fx, name, type, payload, payload_len);
	smpc_free(payload);
}

/*
 * Seeds for the protocol.h bodies: each on its own selector, and the
 * request bodies also inside signed requests.
 */
static void
emit_protocol(const fuzz_fixtures *fx, const uint8_t *env, size_t env_len)
{
	static const smpc_value_spec values[3] = {
		{SMPC_VALUE_INT, 0, 0}, {SMPC_VALUE_DECIMAL, 2, 0}, {SMPC_VALUE_FLOAT, 6, 0}
	};
	const smpc_fe sums_a[4] = {0, 1, SMPC_FIELD_P - 1, SMPC_FIELD_HALF};
	const smpc_fe sums_b[2] = {42, 7};
	uint8_t		parties[3 * SMPC_SIGN_PK_BYTES];
	smpc_key_list keys = fuzz_group_keys();
	smpc_prepare prep;
	smpc_party_opening po[4];
	smpc_writer w;
	uint8_t    *buf;
	size_t		len;

	/* key list (SHARE body) */
	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_key_list(&w, &keys);
	finish_or_die(&w, "key list", &buf, &len);
	emit("key_list", FUZZ_KEY_LIST, buf, len);
	emit_request(fx, "signed_share_keys", SMPC_MSG_SHARE, buf, len);
	smpc_free(buf);

	/* PREPARE body: three parties, grouped; and one revealing keys */
	memcpy(parties, fx->signer.sign_pk, SMPC_SIGN_PK_BYTES);
	memcpy(parties + 32, fx->sender.sign_pk, SMPC_SIGN_PK_BYTES);
	memcpy(parties + 64, fx->recipient.sign_pk, SMPC_SIGN_PK_BYTES);
	memset(&prep, 0, sizeof(prep));
	prep.threshold = 1;
	prep.nparties = 3;
	prep.parties = parties;
	prep.dataset.ptr = "admissions";
	prep.dataset.len = 10;
	prep.sql.ptr = "SELECT ward, year, count(*), sum(cost), avg(stay) FROM admissions GROUP BY 1, 2";
	prep.sql.len = strlen(prep.sql.ptr);
	prep.nvalues = 3;
	prep.values = (smpc_value_spec *) values;
	prep.groups = keys;
	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_prepare(&w, &prep);
	finish_or_die(&w, "prepare", &buf, &len);
	emit("prepare", FUZZ_PREPARE, buf, len);
	emit_request(fx, "signed_prepare_body", SMPC_MSG_PREPARE, buf, len);
	smpc_free(buf);
	prep.reveal_keys = 1;
	prep.groups.ngroups = 0;
	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_prepare(&w, &prep);
	finish_or_die(&w, "prepare reveal", &buf, &len);
	emit("prepare_reveal_keys", FUZZ_PREPARE, buf, len);
	smpc_free(buf);

	/* PREPARE replies: shares for two parties; keys */
	{
		smpc_envelope_item items[2];

		memset(items, 0, sizeof(items));
		memcpy(items[0].recipient_pk, fx->recipient.sign_pk, SMPC_SIGN_PK_BYTES);
		items[0].env = env;
		items[0].env_len = env_len;
		memcpy(items[1].recipient_pk, fx->sender.sign_pk, SMPC_SIGN_PK_BYTES);
		items[1].env = env;
		items[1].env_len = SMPC_ENVELOPE_OVERHEAD;
		check(smpc_prepare_reply_encode(SMPC_PREPARE_REPLY_SHARES, items, 2, NULL,
										&buf, &len), "prepare reply shares");
		emit("prepare_reply_shares", FUZZ_PREPARE_REPLY, buf, len);
		smpc_free(buf);
		/* COMBINE: an envelope list after the request header */
		check(smpc_envelope_list_encode(items, 2, &buf, &len), "combine");
		emit_request(fx, "signed_combine_body", SMPC_MSG_COMBINE, buf, len);
		smpc_free(buf);
	}
	check(smpc_prepare_reply_encode(SMPC_PREPARE_REPLY_KEYS, NULL, 0, &keys,
									&buf, &len), "prepare reply keys");
	emit("prepare_reply_keys", FUZZ_PREPARE_REPLY, buf, len);
	smpc_free(buf);

	/* REVEAL body: present, absent, present, absent */
	memset(po, 0, sizeof(po));
	for (int i = 0; i < 4; i++)
	{
		po[i].present = (uint8_t) (i % 2 == 0);
		memset(po[i].commitment, 0x30 + i, SMPC_COMMIT_BYTES);
		memset(po[i].opening, 0x60 + i, SMPC_COMMIT_OPENING_BYTES);
	}
	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_commitments(&w, po, 4);
	finish_or_die(&w, "commitments", &buf, &len);
	emit("commitments", FUZZ_COMMITMENTS, buf, len);
	emit_request(fx, "signed_reveal_body", SMPC_MSG_REVEAL, buf, len);
	smpc_free(buf);

	/* REVEAL reply */
	check(smpc_reveal_reply_encode(po[0].opening, sums_a, 4, &buf, &len), "reveal reply");
	emit("reveal_reply", FUZZ_REVEAL_REPLY, buf, len);
	smpc_free(buf);

	/* FINISH body: sums for the present parties, one with none */
	po[0].sums = (smpc_fe *) sums_a;
	po[0].nsums = 4;
	po[2].sums = (smpc_fe *) sums_b;
	po[2].nsums = 2;
	po[3].present = 1;
	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_openings(&w, po, 4);
	finish_or_die(&w, "openings", &buf, &len);
	emit("openings", FUZZ_OPENINGS, buf, len);
	emit_request(fx, "signed_finish_body", SMPC_MSG_FINISH, buf, len);
	smpc_free(buf);
}

/*
 * n sorted points P(key)^7 for the integer keys 1..n under the fixture
 * session (real group elements, so the exponentiation in the fuzz target
 * gets past the encoding checks).  Returns an smpc_malloc'd array.
 */
static uint8_t *
psi_points(const fuzz_fixtures *fx, size_t n)
{
	static const uint8_t k[SMPC_PSI_SCALAR_BYTES] = {7};
	uint8_t    *pts = smpc_malloc(n * SMPC_PSI_POINT_BYTES + 1);
	size_t		m = n;

	if (pts == NULL)
		exit(1);
	for (size_t i = 0; i < n; i++)
	{
		uint8_t		key[8] = {0};
		uint8_t		h[SMPC_PSI_HASH_BYTES];

		key[0] = (uint8_t) (i + 1);
		key[1] = (uint8_t) ((i + 1) >> 8);
		check(smpc_psi_key_hash(fx->ad.session_id, SMPC_PSI_KEY_INTEGER, key, 8, h),
			  "psi key hash");
		check(smpc_psi_hash_mult(k, h, pts + i * SMPC_PSI_POINT_BYTES), "psi hash mult");
	}
	check(smpc_psi_sort_unique(pts, &m), "psi sort");
	if (m != n)
		exit(1);
	return pts;
}

/* Seeds for the psi.h bodies, alone and inside signed requests. */
static void
emit_psi(const fuzz_fixtures *fx)
{
	uint8_t		parties[3 * SMPC_SIGN_PK_BYTES];
	smpc_intersect x;
	smpc_writer w;
	uint8_t    *buf,
			   *pts;
	size_t		len;

	/* INTERSECT: three parties over text keys; two over integers */
	memcpy(parties, fx->signer.sign_pk, SMPC_SIGN_PK_BYTES);
	memcpy(parties + 32, fx->recipient.sign_pk, SMPC_SIGN_PK_BYTES);
	memcpy(parties + 64, fx->sender.sign_pk, SMPC_SIGN_PK_BYTES);
	memset(&x, 0, sizeof(x));
	x.nparties = 3;
	x.parties = parties;
	x.dataset.ptr = "patients";
	x.dataset.len = 8;
	x.sql.ptr = "SELECT nhs_number FROM patients WHERE age > 60 GROUP BY 1";
	x.sql.len = strlen(x.sql.ptr);
	x.key_class = SMPC_PSI_KEY_TEXT;
	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_intersect(&w, &x);
	finish_or_die(&w, "intersect", &buf, &len);
	emit("intersect", FUZZ_INTERSECT, buf, len);
	emit_request(fx, "signed_intersect_body", SMPC_MSG_INTERSECT, buf, len);
	smpc_free(buf);
	x.nparties = 2;
	x.key_class = SMPC_PSI_KEY_INTEGER;
	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_intersect(&w, &x);
	finish_or_die(&w, "intersect integer", &buf, &len);
	emit("intersect_integer", FUZZ_INTERSECT, buf, len);
	smpc_free(buf);

	/* point lists: six points, none, a hundred (past the small sort) */
	pts = psi_points(fx, 100);
	check(smpc_points_encode(pts, 6, &buf, &len), "points");
	emit("points", FUZZ_POINTS, buf, len);
	smpc_free(buf);
	check(smpc_points_encode(NULL, 0, &buf, &len), "points empty");
	emit("points_empty", FUZZ_POINTS, buf, len);
	smpc_free(buf);
	check(smpc_points_encode(pts, 100, &buf, &len), "points 100");
	emit("points_100", FUZZ_POINTS, buf, len);
	smpc_free(buf);

	/* HOP: the first hop with six points; the last possible hop, empty */
	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_hop(&w, 1, pts, 6);
	finish_or_die(&w, "hop", &buf, &len);
	emit("hop", FUZZ_HOP, buf, len);
	emit_request(fx, "signed_hop_body", SMPC_MSG_HOP, buf, len);
	smpc_free(buf);
	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_hop(&w, SMPC_MAX_PARTIES - 1, NULL, 0);
	finish_or_die(&w, "hop last", &buf, &len);
	emit("hop_last", FUZZ_HOP, buf, len);
	smpc_free(buf);
	smpc_free(pts);
}

/* Index of type in fuzz_member_types. */
static uint8_t
type_index(uint8_t type)
{
	for (int i = 0; i < FUZZ_NMEMBER_TYPES; i++)
		if (fuzz_member_types[i] == type)
			return (uint8_t) i;
	fprintf(stderr, "make_corpus: no type index for %u\n", type);
	exit(1);
}

/*
 * Seeds for the member selectors: every fixture request whole (FUZZ_MEMBER),
 * as type, control and payload (FUZZ_MEMBER_SIGNED, also with each control
 * bit set once), and as the tamper selector's index, unedited and (PREPARE,
 * COMBINE, FINISH) with one edit of each kind.
 */
static void
emit_member(const fuzz_fixtures *fx)
{
	static const uint8_t ctls[] = {
		FUZZ_CTL_MISADDRESSED, FUZZ_CTL_OTHER_SESSION, 1, 2,
		1 << FUZZ_CTL_GROUPS_SHIFT, 2 << FUZZ_CTL_GROUPS_SHIFT
	};
	char		name[128];

	for (int i = 0; i < FUZZ_NMEMBER_MSGS; i++)
	{
		uint8_t    *payload,
				   *msg,
				   *buf;
		size_t		payload_len,
					msg_len;
		uint8_t		type = fuzz_member_msgs[i].type;

		check(fuzz_member_message(fx, i, &payload, &payload_len, &msg, &msg_len),
			  fuzz_member_msgs[i].name);
		snprintf(name, sizeof(name), "member_%s", fuzz_member_msgs[i].name);
		emit(name, FUZZ_MEMBER, msg, msg_len);

		buf = malloc(payload_len + 2);
		if (buf == NULL)
			exit(1);
		buf[0] = type_index(type);
		buf[1] = fuzz_member_msgs[i].by_sender ? 1 : 0;
		memcpy(buf + 2, payload, payload_len);
		snprintf(name, sizeof(name), "member_signed_%s", fuzz_member_msgs[i].name);
		emit(name, FUZZ_MEMBER_SIGNED, buf, payload_len + 2);
		/* the control bits, on the SHARE request (a later round) */
		if (type == SMPC_MSG_SHARE)
			for (size_t c = 0; c < sizeof(ctls); c++)
			{
				buf[1] = ctls[c];
				snprintf(name, sizeof(name), "member_signed_%s_ctl%02x",
						 fuzz_member_msgs[i].name, ctls[c]);
				emit(name, FUZZ_MEMBER_SIGNED, buf, payload_len + 2);
			}
		/* a response is not a request */
		if (type == SMPC_MSG_PING && !fuzz_member_msgs[i].by_sender)
		{
			buf[0] = type_index(SMPC_MSG_RESPONSE);
			buf[1] = 0;
			emit("member_signed_response", FUZZ_MEMBER_SIGNED, buf, payload_len + 2);
		}
		free(buf);

		{
			/* kind, position (u16 LE), value; positions within the message */
			const uint8_t edits[][4] = {
				{0, (uint8_t) (msg_len - 1), (uint8_t) ((msg_len - 1) >> 8), 3},	/* signature bit */
				{1, 10, 0, 0xEE},	/* a session id byte */
				{2, (uint8_t) (msg_len - 1), (uint8_t) ((msg_len - 1) >> 8), 0},	/* truncate */
				{3, 0, 0, 2},	/* version 2 */
				{4, (uint8_t) msg_len, (uint8_t) (msg_len >> 8), 0},	/* append */
				{5, 100, 0, 0},	/* delete a byte */
			};
			uint8_t		t[5];

			t[0] = (uint8_t) i;
			snprintf(name, sizeof(name), "member_tamper_%s", fuzz_member_msgs[i].name);
			emit(name, FUZZ_MEMBER_TAMPER, t, 1);
			for (size_t e = 0; i % 2 == 0 && i < 6 && e < sizeof(edits) / sizeof(edits[0]); e++)
			{
				memcpy(t + 1, edits[e], 4);
				snprintf(name, sizeof(name), "member_tamper_%s_edit%zu",
						 fuzz_member_msgs[i].name, e);
				emit(name, FUZZ_MEMBER_TAMPER, t, 5);
			}
		}
		smpc_free(payload);
		smpc_free(msg);
	}
}

/*
 * Seeds of requests the member refuses after opening them, which the
 * fuzzer cannot reach by itself (it cannot seal envelopes): a COMBINE whose
 * envelope from party 2 holds one share too few or too many, and a FINISH
 * where party 0 opens one share-sum too many.
 */
static void
emit_member_refused(const fuzz_fixtures *fx)
{
	static const struct
	{
		const char *name;
		uint8_t		type;
		int			variant;
	}			refused[] = {
		{"member_signed_combine_short", SMPC_MSG_COMBINE, 1},
		{"member_signed_combine_long", SMPC_MSG_COMBINE, 2},
		{"member_signed_finish_long", SMPC_MSG_FINISH, 2},
	};

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
	{
		uint8_t    *payload,
				   *buf;
		size_t		payload_len;

		check(fuzz_member_payload(fx, refused[i].type, refused[i].variant,
								  &payload, &payload_len), refused[i].name);
		buf = malloc(payload_len + 2);
		if (buf == NULL)
			exit(1);
		buf[0] = type_index(refused[i].type);
		buf[1] = 0;
		memcpy(buf + 2, payload, payload_len);
		emit(refused[i].name, FUZZ_MEMBER_SIGNED, buf, payload_len + 2);
		free(buf);
		smpc_free(payload);
	}
}

int
main(int argc, char **argv)
{
	fuzz_fixtures fx;
	uint8_t		env[64 + SMPC_ENVELOPE_OVERHEAD];
	uint8_t		junk_env[SMPC_ENVELOPE_OVERHEAD + 3];
	size_t		env_len = 0;
	uint8_t    *envlist = NULL,
			   *fevec = NULL,
			   *strlist = NULL;
	size_t		envlist_len = 0,
				fevec_len = 0,
				strlist_len = 0;

	if (argc != 2)
	{
		fprintf(stderr, "usage: make_corpus OUTDIR\n");
		return 2;
	}
	outdir = argv[1];
	if (sodium_init() < 0)
		return 1;
	check(fuzz_fixtures_init(&fx), "fixtures");

	/* one genuine envelope sender -> recipient under the fixed ad */
	{
		uint8_t		plain[64];

		for (size_t i = 0; i < sizeof(plain); i++)
			plain[i] = (uint8_t) i;
		check(smpc_envelope_seal(&fx.sender, fx.recipient.kx_pk, &fx.ad,
								 plain, sizeof(plain), env, sizeof(env),
								 &env_len), "seal");
		emit("envelope", FUZZ_ENVELOPE, env, env_len);
	}

	/* envelope list: the genuine one plus one for somebody else */
	{
		smpc_envelope_item items[2];

		memset(items, 0, sizeof(items));
		memset(junk_env, 0xA5, sizeof(junk_env));
		memcpy(items[0].recipient_pk, fx.recipient.sign_pk, SMPC_SIGN_PK_BYTES);
		items[0].env = env;
		items[0].env_len = env_len;
		memcpy(items[1].recipient_pk, fx.signer.sign_pk, SMPC_SIGN_PK_BYTES);
		items[1].env = junk_env;
		items[1].env_len = sizeof(junk_env);
		check(smpc_envelope_list_encode(items, 2, &envlist, &envlist_len), "envlist");
		emit("envelope_list", FUZZ_ENVELOPE_LIST, envlist, envlist_len);
	}

	/* field-element vector, including the extremes */
	{
		const smpc_fe v[] = {0, 1, 42, SMPC_FIELD_P - 1, SMPC_FIELD_HALF};

		check(smpc_fe_vector_encode(v, 5, &fevec, &fevec_len), "fevec");
		emit("fe_vector", FUZZ_FE_VECTOR, fevec, fevec_len);
	}

	/* string list */
	{
		const smpc_str s[] = {{"sum", 3}, {"", 0}, {"caf\xc3\xa9", 5},
		{"public.orders.amount", 20}};

		check(smpc_str_list_encode(s, 4, &strlist, &strlist_len), "strlist");
		emit("str_list", FUZZ_STR_LIST, strlist, strlist_len);
	}

	/* signed messages carrying each payload kind, and an empty ping */
	emit_signed(&fx, "signed_share", SMPC_MSG_SHARE, envlist, envlist_len);
	emit_signed(&fx, "signed_combine", SMPC_MSG_COMBINE, fevec, fevec_len);
	emit_signed(&fx, "signed_prepare", SMPC_MSG_PREPARE, strlist, strlist_len);
	emit_signed(&fx, "signed_ping", SMPC_MSG_PING, NULL, 0);

	/* public-key text and key file of a fixed (public, test-only) identity */
	{
		smpc_public_key pk;
		char		text[SMPC_PUBKEY_TEXT_LEN];
		uint8_t		kf[SMPC_KEYFILE_LEN];

		check(smpc_identity_public(&fx.recipient, &pk), "public");
		check(smpc_pubkey_to_text(&pk, text), "pubkey text");
		emit("pubkey_text", FUZZ_PUBKEY_TEXT, (const uint8_t *) text,
			 SMPC_PUBKEY_TEXT_CHARS);
		check(smpc_identity_to_keyfile(&fx.signer, kf), "keyfile");
		emit("keyfile", FUZZ_KEYFILE, kf, sizeof(kf));
	}

	emit_protocol(&fx, env, env_len);
	emit_psi(&fx);
	emit_member(&fx);
	emit_member_refused(&fx);

	smpc_free(envlist);
	smpc_free(fevec);
	smpc_free(strlist);
	return failures == 0 ? 0 : 1;
}
