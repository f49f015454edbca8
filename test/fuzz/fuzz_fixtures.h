/*
 * fuzz_fixtures.h
 *		Deterministic identities, envelope metadata and a model joint session
 *		shared by the codec fuzz target and its seed-corpus generator, so
 *		corpus files sealed or signed by make_corpus are meaningful to
 *		fuzz_codec.
 *
 * These keys come from fixed seeds and are public; never use them outside
 * tests.
 *
 * The member model.  The member under test is fx.recipient.  It pins two
 * nodes, fx.signer and fx.sender, both members of its federation
 * FUZZ_FEDERATION; fx.stranger is pinned nowhere.  A joint session is in
 * progress with session id fx.ad.session_id: party 0 is fx.signer (the
 * querying node), party 1 this member, party 2 fx.sender; threshold 1;
 * FUZZ_GROUP_COLS group columns, FUZZ_NVALS share-sums.  Every party has
 * committed to fixture share-sums (fx.party_sums, points on degree-1
 * polynomials through fx.secrets) with a fixed opening; fx.commitments
 * holds the commitments.  fuzz_member_message() builds valid signed
 * requests of that session, which the fuzz target's model of the member
 * accepts all the way through.
 */
#ifndef SMPC_FUZZ_FIXTURES_H
#define SMPC_FUZZ_FIXTURES_H

#include <string.h>
#include <sodium.h>

#include "identity.h"
#include "envelope.h"
#include "codec.h"
#include "commit.h"
#include "field.h"
#include "messages.h"
#include "protocol.h"

/* the first input byte selects what the rest of the input is fed to */
enum fuzz_selector
{
	FUZZ_SIGNED_MSG = 0,
	FUZZ_ENVELOPE_LIST = 1,
	FUZZ_FE_VECTOR = 2,
	FUZZ_STR_LIST = 3,
	FUZZ_ENVELOPE = 4,
	FUZZ_PUBKEY_TEXT = 5,
	FUZZ_KEYFILE = 6,
	FUZZ_PAYLOADS = 7,			/* request header, ping and describe replies */
	FUZZ_KEY_LIST = 8,			/* protocol.h: key list (SHARE body) */
	FUZZ_PREPARE = 9,			/* PREPARE body */
	FUZZ_PREPARE_REPLY = 10,
	FUZZ_COMMITMENTS = 11,		/* REVEAL body */
	FUZZ_REVEAL_REPLY = 12,
	FUZZ_OPENINGS = 13,			/* FINISH body */
	FUZZ_MEMBER = 14,			/* a whole request, through the member's path */
	FUZZ_MEMBER_SIGNED = 15,	/* type, control, payload: signed, then as 14 */
	FUZZ_MEMBER_TAMPER = 16,	/* fixture request index, edits: must not verify */
	FUZZ_INTERSECT = 17,		/* psi.h: INTERSECT body */
	FUZZ_HOP = 18,				/* HOP body */
	FUZZ_POINTS = 19,			/* point list reply; sorting, counting, exponentiation */
	FUZZ_NSELECTORS = 20
};

/*
 * FUZZ_MEMBER_SIGNED input: u8 type index (into fuzz_member_types, modulo
 * FUZZ_NMEMBER_TYPES) || u8 control || payload.  Control bits:
 */
#define FUZZ_CTL_SIGNER_MASK 0x03	/* 0, 3: fx.signer; 1: fx.sender; 2: fx.stranger */
#define FUZZ_CTL_MISADDRESSED 0x04	/* addressed to fx.sender, not the member */
#define FUZZ_CTL_OTHER_SESSION 0x08 /* a session id other than the model's */
#define FUZZ_CTL_GROUPS_SHIFT 4		/* 2 bits: index into fuzz_max_groups */

#define FUZZ_NMEMBER_TYPES 9
static const uint8_t fuzz_member_types[FUZZ_NMEMBER_TYPES] = {
	SMPC_MSG_PREPARE, SMPC_MSG_SHARE, SMPC_MSG_COMBINE, SMPC_MSG_REVEAL,
	SMPC_MSG_FINISH, SMPC_MSG_PING, SMPC_MSG_DESCRIBE, SMPC_MSG_RESPONSE,
	SMPC_MSG_ERROR
};

/*
 * The member's limits: the defaults of smpc.max_message_size and
 * smpc.max_groups (src/smpc.c), and other values of smpc.max_groups the
 * control byte may pick (its minimum, its maximum, a small one).
 */
#define FUZZ_MEMBER_MAX_MESSAGE ((size_t) 64 * 1024 * 1024)
#define FUZZ_MEMBER_MAX_GROUPS 100000
static const uint32_t fuzz_max_groups[4] = {FUZZ_MEMBER_MAX_GROUPS, 1, 10000000, 3};

/* the model session */
#define FUZZ_FEDERATION "research"
#define FUZZ_ROLE "analyst"
#define FUZZ_NPARTIES 3
#define FUZZ_SELF 1
#define FUZZ_THRESHOLD 1
#define FUZZ_MIN_MEMBERS 2
#define FUZZ_GROUP_COLS 2
#define FUZZ_NGROUPS 3
#define FUZZ_NVALUES 3
#define FUZZ_NVALS (FUZZ_NGROUPS * FUZZ_NVALUES)
/* envelopes of shares are sealed for this round (SMPC_SHARE_ROUND, src/smpc.h) */
#define FUZZ_SHARE_ROUND SMPC_MSG_SHARE
#define FUZZ_TIMESTAMP_MS 1700000000000LL

typedef struct fuzz_fixtures
{
	smpc_identity signer;		/* signs messages; party 0 of the session */
	smpc_identity sender;		/* seals envelopes; party 2 */
	smpc_identity recipient;	/* opens envelopes; the member, party 1 */
	smpc_identity stranger;		/* pinned nowhere */
	smpc_envelope_ad ad;		/* sender -> recipient, fixed session */
	const smpc_identity *party[FUZZ_NPARTIES];
	smpc_fe		secrets[FUZZ_NVALS];
	smpc_fe		party_sums[FUZZ_NPARTIES][FUZZ_NVALS];
	uint8_t		openings[FUZZ_NPARTIES][SMPC_COMMIT_OPENING_BYTES];
	uint8_t		commitments[FUZZ_NPARTIES][SMPC_COMMIT_BYTES];
} fuzz_fixtures;

/* Derive one identity from two fill bytes.  Returns SMPC_OK or a status. */
static inline int
fuzz_identity(uint8_t seed_byte, uint8_t kx_byte, smpc_identity *out)
{
	uint8_t		seed[SMPC_SEED_BYTES];
	uint8_t		kx[SMPC_KX_SK_BYTES];

	memset(seed, seed_byte, sizeof(seed));
	memset(kx, kx_byte, sizeof(kx));
	return smpc_identity_from_seeds(seed, kx, out);
}

/*
 * The commitment to value with a given opening, computed as commit.h
 * documents it (smpc_commit draws the opening at random, and the fixtures
 * must be reproducible).  fuzz_fixtures_init checks the result with
 * smpc_commit_verify, so a change of the construction fails loudly.
 */
static inline int
fuzz_commit_with(const uint8_t *opening, const uint8_t *value, size_t len,
				 uint8_t *commitment)
{
	crypto_generichash_state st;
	uint8_t		lenbuf[8];

	for (int i = 0; i < 8; i++)
		lenbuf[i] = (uint8_t) ((uint64_t) len >> (8 * i));
	if (crypto_generichash_init(&st, NULL, 0, SMPC_COMMIT_BYTES) != 0 ||
		crypto_generichash_update(&st, (const uint8_t *) "smpc-commit-v1", 14) != 0 ||
		crypto_generichash_update(&st, opening, SMPC_COMMIT_OPENING_BYTES) != 0 ||
		crypto_generichash_update(&st, lenbuf, 8) != 0 ||
		crypto_generichash_update(&st, value, len) != 0 ||
		crypto_generichash_final(&st, commitment, SMPC_COMMIT_BYTES) != 0)
		return SMPC_ERR_CRYPTO;
	return SMPC_OK;
}

/* Fill fx deterministically.  Caller has run sodium_init(). */
static inline int
fuzz_fixtures_init(fuzz_fixtures *fx)
{
	int			rc;

	memset(fx, 0, sizeof(*fx));
	if ((rc = fuzz_identity(0x01, 0x11, &fx->signer)) != SMPC_OK ||
		(rc = fuzz_identity(0x02, 0x22, &fx->sender)) != SMPC_OK ||
		(rc = fuzz_identity(0x03, 0x33, &fx->recipient)) != SMPC_OK ||
		(rc = fuzz_identity(0x04, 0x44, &fx->stranger)) != SMPC_OK)
		return rc;
	memset(fx->ad.session_id, 0x5A, sizeof(fx->ad.session_id));
	fx->ad.round = 1;
	memcpy(fx->ad.sender_pk, fx->sender.sign_pk, SMPC_SIGN_PK_BYTES);
	memcpy(fx->ad.recipient_pk, fx->recipient.sign_pk, SMPC_SIGN_PK_BYTES);

	fx->party[0] = &fx->signer;
	fx->party[FUZZ_SELF] = &fx->recipient;
	fx->party[2] = &fx->sender;

	/* share-sums: f_v(x) = secret_v + slope_v * x at x = party + 1 */
	for (int v = 0; v < FUZZ_NVALS; v++)
	{
		smpc_fe		slope = SMPC_FIELD_P - 1000003 * (smpc_fe) (v + 1);

		fx->secrets[v] = (smpc_fe) 1000 * v + 7;
		for (int i = 0; i < FUZZ_NPARTIES; i++)
			fx->party_sums[i][v] = smpc_fe_add(fx->secrets[v],
											   smpc_fe_mul(slope, (smpc_fe) (i + 1)));
	}
	for (int i = 0; i < FUZZ_NPARTIES; i++)
	{
		uint8_t    *value = NULL;
		size_t		len = 0;

		memset(fx->openings[i], 0x70 + i, SMPC_COMMIT_OPENING_BYTES);
		if ((rc = smpc_commit_value(fx->ad.session_id, (uint16_t) i, fx->party_sums[i],
									FUZZ_NVALS, &value, &len)) != SMPC_OK)
			return rc;
		rc = fuzz_commit_with(fx->openings[i], value, len, fx->commitments[i]);
		if (rc == SMPC_OK)
			rc = smpc_commit_verify(fx->commitments[i], fx->openings[i], value, len);
		smpc_free(value);
		if (rc != SMPC_OK)
			return rc;
	}
	return SMPC_OK;
}

/* ------------------------------------------------- the model's requests */

/* The public group key domain of the model session: 3 groups, 2 columns. */
static inline smpc_key_list
fuzz_group_keys(void)
{
	static const smpc_key_cell cells[FUZZ_NGROUPS * FUZZ_GROUP_COLS] = {
		{0, {"north", 5}}, {1, {"", 0}},
		{0, {"", 0}}, {0, {"2024", 4}},
		{0, {"s\xc3\xbc" "d", 4}}, {0, {"2025", 4}},
	};
	smpc_key_list k = {FUZZ_NGROUPS, FUZZ_GROUP_COLS, (smpc_key_cell *) cells};

	return k;
}

/* The request header of the model's requests. */
static inline void
fuzz_put_header(smpc_writer *w)
{
	smpc_request_header h = {{FUZZ_FEDERATION, sizeof(FUZZ_FEDERATION) - 1},
	{FUZZ_ROLE, sizeof(FUZZ_ROLE) - 1}};

	smpc_request_header_put(w, &h);
}

/* room for a sealed vector of FUZZ_NVALS + 1 shares */
#define FUZZ_ENV_CAP ((FUZZ_NVALS + 1) * SMPC_FE_BYTES + 4 + SMPC_ENVELOPE_OVERHEAD)

/*
 * One envelope list item: nshares (at most FUZZ_NVALS + 1) shares that party
 * `from` seals for the member, as smpc_share_secrets does.  env must hold
 * FUZZ_ENV_CAP bytes.
 */
static inline int
fuzz_seal_shares(const fuzz_fixtures *fx, int from, size_t nshares,
				 smpc_envelope_item *item, uint8_t *env)
{
	smpc_fe		shares[FUZZ_NVALS + 1];
	smpc_envelope_ad ad;
	uint8_t    *plain = NULL;
	size_t		plen = 0;
	int			rc;

	if (nshares > FUZZ_NVALS + 1)
		return SMPC_ERR_ARG;
	for (size_t v = 0; v < nshares; v++)
		shares[v] = (smpc_fe) (v * 11 + from);
	if ((rc = smpc_fe_vector_encode(shares, nshares, &plain, &plen)) != SMPC_OK)
		return rc;
	memset(&ad, 0, sizeof(ad));
	memcpy(ad.session_id, fx->ad.session_id, SMPC_SESSION_ID_BYTES);
	ad.round = FUZZ_SHARE_ROUND;
	memcpy(ad.sender_pk, fx->party[from]->sign_pk, SMPC_SIGN_PK_BYTES);
	memcpy(ad.recipient_pk, fx->recipient.sign_pk, SMPC_SIGN_PK_BYTES);
	memset(item, 0, sizeof(*item));
	memcpy(item->recipient_pk, fx->party[from]->sign_pk, SMPC_SIGN_PK_BYTES);
	rc = smpc_envelope_seal(fx->party[from], fx->recipient.kx_pk, &ad, plain, plen,
							env, plen + SMPC_ENVELOPE_OVERHEAD, &item->env_len);
	item->env = env;
	smpc_free(plain);
	return rc;
}

/*
 * The payload (request header and body) of a request of the model session
 * of the given type.  Variant 0 is valid.  Variant 1 of FINISH leaves party
 * 2's opening out (still valid); variant 2 has party 0 open one share-sum
 * too many.  Variants 1 and 2 of COMBINE seal one share too few or too many
 * in party 2's envelope.  On SMPC_OK *out is smpc_malloc'd.  COMBINE seals
 * fresh envelopes, so its bytes differ between calls.
 */
static inline int
fuzz_member_payload(const fuzz_fixtures *fx, uint8_t type, int variant,
					uint8_t **out, size_t *outlen)
{
	static const smpc_value_spec values[FUZZ_NVALUES] = {
		{SMPC_VALUE_INT, 0, 0}, {SMPC_VALUE_DECIMAL, 2, 0}, {SMPC_VALUE_FLOAT, 6, 0}
	};
	uint8_t		parties[FUZZ_NPARTIES * SMPC_SIGN_PK_BYTES];
	uint8_t		env[FUZZ_NPARTIES][FUZZ_ENV_CAP];
	smpc_fe		long_sums[FUZZ_NVALS + 1];
	smpc_envelope_item items[FUZZ_NPARTIES - 1];
	smpc_party_opening po[FUZZ_NPARTIES];
	smpc_prepare prep;
	smpc_str	name = {"admissions", 10};
	smpc_writer w;
	int			rc = SMPC_OK;

	smpc_writer_init(&w, FUZZ_MEMBER_MAX_MESSAGE);
	fuzz_put_header(&w);
	memset(po, 0, sizeof(po));
	for (int i = 0; i < FUZZ_NPARTIES; i++)
	{
		po[i].present = 1;
		memcpy(po[i].commitment, fx->commitments[i], SMPC_COMMIT_BYTES);
		memcpy(po[i].opening, fx->openings[i], SMPC_COMMIT_OPENING_BYTES);
		po[i].sums = (smpc_fe *) fx->party_sums[i];
		po[i].nsums = FUZZ_NVALS;
	}
	switch (type)
	{
		case SMPC_MSG_PREPARE:
			for (int i = 0; i < FUZZ_NPARTIES; i++)
				memcpy(parties + i * SMPC_SIGN_PK_BYTES, fx->party[i]->sign_pk,
					   SMPC_SIGN_PK_BYTES);
			memset(&prep, 0, sizeof(prep));
			prep.threshold = FUZZ_THRESHOLD;
			prep.nparties = FUZZ_NPARTIES;
			prep.parties = parties;
			prep.dataset = name;
			prep.sql.ptr = "SELECT ward, year, count(*), sum(cost), avg(stay) FROM admissions GROUP BY 1, 2";
			prep.sql.len = strlen(prep.sql.ptr);
			prep.nvalues = FUZZ_NVALUES;
			prep.values = (smpc_value_spec *) values;
			prep.groups = fuzz_group_keys();
			smpc_writer_put_prepare(&w, &prep);
			break;
		case SMPC_MSG_SHARE:
			{
				smpc_key_list k = fuzz_group_keys();

				smpc_writer_put_key_list(&w, &k);
			}
			break;
		case SMPC_MSG_COMBINE:
			for (int i = 0, k = 0; i < FUZZ_NPARTIES && rc == SMPC_OK; i++)
				if (i != FUZZ_SELF)
				{
					size_t		nshares = FUZZ_NVALS;

					if (i == 2 && variant == 1)
						nshares--;
					else if (i == 2 && variant == 2)
						nshares++;
					rc = fuzz_seal_shares(fx, i, nshares, &items[k], env[i]);
					k++;
				}
			if (rc == SMPC_OK)
				smpc_writer_put_envelope_list(&w, items, FUZZ_NPARTIES - 1);
			break;
		case SMPC_MSG_REVEAL:
			smpc_writer_put_commitments(&w, po, FUZZ_NPARTIES);
			break;
		case SMPC_MSG_FINISH:
			if (variant == 1)
			{
				po[2].present = 0;
				po[2].sums = NULL;
				po[2].nsums = 0;
			}
			else if (variant == 2)
			{
				memcpy(long_sums, fx->party_sums[0], sizeof(fx->party_sums[0]));
				long_sums[FUZZ_NVALS] = 1;
				po[0].sums = long_sums;
				po[0].nsums = FUZZ_NVALS + 1;
			}
			smpc_writer_put_openings(&w, po, FUZZ_NPARTIES);
			break;
		case SMPC_MSG_DESCRIBE:
			smpc_writer_put_str_list(&w, &name, 1);
			break;
		case SMPC_MSG_PING:
			break;
		default:
			rc = SMPC_ERR_ARG;
	}
	if (rc != SMPC_OK)
	{
		smpc_writer_discard(&w);
		*out = NULL;
		*outlen = 0;
		return rc;
	}
	return smpc_writer_finish(&w, out, outlen);
}

/* Sign payload as a message of the given type from `from` to recipient_pk. */
static inline int
fuzz_sign(const smpc_identity *from,
		  const uint8_t *recipient_pk, const uint8_t *session_id, uint8_t type,
		  const uint8_t *payload, size_t payload_len,
		  uint8_t **out, size_t *outlen)
{
	smpc_signed_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	memcpy(m.session_id, session_id, SMPC_SESSION_ID_BYTES);
	m.round = type;
	m.timestamp_ms = FUZZ_TIMESTAMP_MS;
	memcpy(m.sender_pk, from->sign_pk, SMPC_SIGN_PK_BYTES);
	memcpy(m.recipient_pk, recipient_pk, SMPC_SIGN_PK_BYTES);
	m.payload = payload;
	m.payload_len = payload_len;
	return smpc_msg_encode_signed(&m, from, out, outlen);
}

/*
 * The valid signed requests of the model: index i names type, variant and
 * signer.  All are addressed to the member and belong to the session.
 */
#define FUZZ_NMEMBER_MSGS 9
static const struct
{
	const char *name;
	uint8_t		type;
	uint8_t		variant;
	uint8_t		by_sender;		/* signed by fx.sender instead of fx.signer */
}			fuzz_member_msgs[FUZZ_NMEMBER_MSGS] = {
	{"prepare", SMPC_MSG_PREPARE, 0, 0},
	{"share", SMPC_MSG_SHARE, 0, 0},
	{"combine", SMPC_MSG_COMBINE, 0, 0},
	{"reveal", SMPC_MSG_REVEAL, 0, 0},
	{"finish", SMPC_MSG_FINISH, 0, 0},
	{"finish_partial", SMPC_MSG_FINISH, 1, 0},
	{"ping", SMPC_MSG_PING, 0, 0},
	{"describe", SMPC_MSG_DESCRIBE, 0, 0},
	{"ping_from_member", SMPC_MSG_PING, 0, 1},
};

/* Payload and signed message of fuzz_member_msgs[i]; both smpc_malloc'd. */
static inline int
fuzz_member_message(const fuzz_fixtures *fx, int i,
					uint8_t **payload, size_t *payload_len,
					uint8_t **out, size_t *outlen)
{
	int			rc;

	*out = NULL;
	*outlen = 0;
	rc = fuzz_member_payload(fx, fuzz_member_msgs[i].type, fuzz_member_msgs[i].variant,
							 payload, payload_len);
	if (rc != SMPC_OK)
		return rc;
	rc = fuzz_sign(fuzz_member_msgs[i].by_sender ? &fx->sender : &fx->signer,
				   fx->recipient.sign_pk, fx->ad.session_id, fuzz_member_msgs[i].type,
				   *payload, *payload_len, out, outlen);
	if (rc != SMPC_OK)
	{
		smpc_free(*payload);
		*payload = NULL;
		*payload_len = 0;
	}
	return rc;
}

#endif
