/*
 * make_corpus.c
 *		Writes the seed corpus for fuzz_codec: a few valid encodings of
 *		each input kind, each prefixed with its selector byte, signed or
 *		sealed with the fixed fuzz identities so the fuzzer starts from
 *		inputs that get past authentication.
 *
 * Build and run (from the repository root):
 *	cc -std=gnu11 -Isrc/core test/fuzz/make_corpus.c <every src/core .c file> \
 *		-lsodium -lcrypto -o /tmp/make_corpus && /tmp/make_corpus test/fuzz/corpus
 * Envelopes use fresh random nonces, so regenerated files differ bytewise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>

#include "fuzz_fixtures.h"

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

	smpc_free(envlist);
	smpc_free(fevec);
	smpc_free(strlist);
	return failures == 0 ? 0 : 1;
}
