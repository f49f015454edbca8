/*
 * test_crypto.c
 *		Unit tests for identities, signatures, envelopes and commitments
 *		(src/core/identity.c, envelope.c, commit.c).
 *
 * Constructions are cross-checked against direct libsodium calls where an
 * independent recomputation is cheap (fingerprint, commitment), and every
 * authentication check is exercised with single-byte/bit corruptions of
 * each input it is supposed to cover.
 */
#include <stdlib.h>
#include <sodium.h>

#include "unit.h"
#include "identity.h"
#include "envelope.h"
#include "commit.h"

/* ------------------------------------------------------------ helpers */

static int
identity_equal(const smpc_identity *a, const smpc_identity *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* Build "smpc1:" + base64url(bin) for arbitrary 64 bytes. */
static void
text_from_bin(const uint8_t bin[64], char out[SMPC_PUBKEY_TEXT_LEN])
{
	memcpy(out, "smpc1:", 6);
	sodium_bin2base64(out + 6, SMPC_PUBKEY_TEXT_LEN - 6, bin, 64,
					  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* ------------------------------------------------------------ identity */

static void
test_identity_generate(void)
{
	smpc_identity a,
				b;
	smpc_public_key pa;
	uint8_t		pk[32];

	REQUIRE(smpc_identity_generate(&a) == SMPC_OK);
	REQUIRE(smpc_identity_generate(&b) == SMPC_OK);
	CHECK(memcmp(a.sign_pk, b.sign_pk, 32) != 0);
	CHECK(memcmp(a.kx_pk, b.kx_pk, 32) != 0);
	/* the public halves really belong to the secret halves */
	REQUIRE(crypto_scalarmult_base(pk, a.kx_sk) == 0);
	CHECK(memcmp(pk, a.kx_pk, 32) == 0);
	CHECK(memcmp(a.sign_sk + 32, a.sign_pk, 32) == 0);
	REQUIRE(smpc_identity_public(&a, &pa) == SMPC_OK);
	CHECK(memcmp(pa.sign_pk, a.sign_pk, 32) == 0);
	CHECK(memcmp(pa.kx_pk, a.kx_pk, 32) == 0);
	CHECK(smpc_identity_generate(NULL) == SMPC_ERR_ARG);

	smpc_identity_wipe(&a);
	CHECK(all_zero(&a, sizeof(a)));
}

static void
test_identity_from_seeds(void)
{
	uint8_t		seed[32],
				kx[32];
	smpc_identity a,
				b;

	memset(seed, 7, sizeof(seed));
	memset(kx, 9, sizeof(kx));
	REQUIRE(smpc_identity_from_seeds(seed, kx, &a) == SMPC_OK);
	REQUIRE(smpc_identity_from_seeds(seed, kx, &b) == SMPC_OK);
	CHECK(identity_equal(&a, &b));
	seed[0] ^= 1;
	REQUIRE(smpc_identity_from_seeds(seed, kx, &b) == SMPC_OK);
	CHECK(memcmp(a.sign_pk, b.sign_pk, 32) != 0);
	CHECK(memcmp(a.kx_pk, b.kx_pk, 32) == 0);
}

static void
test_pubkey_text_roundtrip(void)
{
	for (int i = 0; i < 20; i++)
	{
		smpc_identity id;
		smpc_public_key pk,
					back;
		char		text[SMPC_PUBKEY_TEXT_LEN];

		REQUIRE(smpc_identity_generate(&id) == SMPC_OK);
		REQUIRE(smpc_identity_public(&id, &pk) == SMPC_OK);
		memset(text, 'x', sizeof(text));
		REQUIRE(smpc_pubkey_to_text(&pk, text) == SMPC_OK);
		CHECK(strlen(text) == SMPC_PUBKEY_TEXT_CHARS);
		CHECK(strncmp(text, "smpc1:", 6) == 0);
		CHECK(strspn(text + 6, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
			  == SMPC_PUBKEY_TEXT_CHARS - 6);
		REQUIRE(smpc_pubkey_from_text(text, strlen(text), &back) == SMPC_OK);
		CHECK(memcmp(&pk, &back, sizeof(pk)) == 0);
	}
}

static void
test_pubkey_text_rejects(void)
{
	smpc_identity id;
	smpc_public_key pk,
				out;
	char		good[SMPC_PUBKEY_TEXT_LEN];
	char		buf[SMPC_PUBKEY_TEXT_LEN + 8];
	const size_t n = SMPC_PUBKEY_TEXT_CHARS;
	const char	bad_chars[] = {'+', '/', '=', '!', ' ', '.', '\n', '\0', (char) 0xc3};

	REQUIRE(smpc_identity_generate(&id) == SMPC_OK);
	REQUIRE(smpc_identity_public(&id, &pk) == SMPC_OK);
	REQUIRE(smpc_pubkey_to_text(&pk, good) == SMPC_OK);

	/* wrong prefix, each prefix byte changed */
	for (size_t i = 0; i < 6; i++)
	{
		memcpy(buf, good, n);
		buf[i] = (buf[i] == 'X') ? 'Y' : 'X';
		CHECK(smpc_pubkey_from_text(buf, n, &out) == SMPC_ERR_SYNTAX);
	}
	memcpy(buf, good, n);
	buf[0] = 'S';				/* case matters */
	CHECK(smpc_pubkey_from_text(buf, n, &out) == SMPC_ERR_SYNTAX);
	/* no prefix at all */
	CHECK(smpc_pubkey_from_text(good + 6, n - 6, &out) == SMPC_ERR_SYNTAX);

	/* invalid base64 characters at several positions */
	for (size_t k = 0; k < sizeof(bad_chars); k++)
	{
		size_t		positions[] = {6, 7, 40, n - 2, n - 1};

		for (size_t j = 0; j < sizeof(positions) / sizeof(positions[0]); j++)
		{
			memcpy(buf, good, n);
			buf[positions[j]] = bad_chars[k];
			CHECK(smpc_pubkey_from_text(buf, n, &out) == SMPC_ERR_SYNTAX);
		}
	}

	/*
	 * every byte outside the alphabet, at one position (libsodium 1.0.18
	 * alone would accept some bytes >= 0x80 here)
	 */
	for (int c = 0; c < 256; c++)
	{
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", c) != NULL && c != 0)
			continue;
		memcpy(buf, good, n);
		buf[20] = (char) c;
		if (!CHECK(smpc_pubkey_from_text(buf, n, &out) == SMPC_ERR_SYNTAX))
			fprintf(stderr, "    byte 0x%02x accepted\n", c);
	}

	/* every shorter length, one and several longer lengths */
	for (size_t l = 0; l < n; l++)
		CHECK(smpc_pubkey_from_text(good, l, &out) == SMPC_ERR_SYNTAX);
	memcpy(buf, good, n);
	memcpy(buf + n, "AAAA", 4);
	for (size_t l = n + 1; l <= n + 4; l++)
		CHECK(smpc_pubkey_from_text(buf, l, &out) == SMPC_ERR_SYNTAX);
	/* trailing junk of other kinds */
	buf[n] = '\n';
	CHECK(smpc_pubkey_from_text(buf, n + 1, &out) == SMPC_ERR_SYNTAX);
	buf[n] = '\0';
	CHECK(smpc_pubkey_from_text(buf, n + 1, &out) == SMPC_ERR_SYNTAX);
	buf[n] = '=';
	buf[n + 1] = '=';
	CHECK(smpc_pubkey_from_text(buf, n + 2, &out) == SMPC_ERR_SYNTAX);

	/*
	 * Non-canonical base64: 86 characters carry 516 bits for 512; the last
	 * character's low 4 bits must be zero.  Flip them.
	 */
	{
		const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
		const char *pos = strchr(alpha, good[n - 1]);

		REQUIRE(pos != NULL);
		memcpy(buf, good, n);
		buf[n - 1] = alpha[(pos - alpha) ^ 1];
		CHECK(smpc_pubkey_from_text(buf, n, &out) == SMPC_ERR_SYNTAX);
	}

	/* invalid Ed25519 points for sign_pk, with a valid kx_pk */
	{
		uint8_t		bin[64];
		char		t[SMPC_PUBKEY_TEXT_LEN];

		memcpy(bin + 32, pk.kx_pk, 32);

		memset(bin, 0, 32);		/* y = 0: small order */
		text_from_bin(bin, t);
		CHECK(smpc_pubkey_from_text(t, n, &out) == SMPC_ERR_RANGE);

		memset(bin, 0, 32);		/* y = 1: the neutral element */
		bin[0] = 1;
		text_from_bin(bin, t);
		CHECK(smpc_pubkey_from_text(t, n, &out) == SMPC_ERR_RANGE);

		memset(bin, 0xff, 32);	/* y >= p: non-canonical */
		text_from_bin(bin, t);
		CHECK(smpc_pubkey_from_text(t, n, &out) == SMPC_ERR_RANGE);
		CHECK(all_zero(&out, sizeof(out)));

		/* and the genuine key still parses through the same helper */
		memcpy(bin, pk.sign_pk, 32);
		text_from_bin(bin, t);
		CHECK(smpc_pubkey_from_text(t, n, &out) == SMPC_OK);
	}

	CHECK(smpc_pubkey_from_text(NULL, 5, &out) == SMPC_ERR_ARG);
	CHECK(smpc_pubkey_from_text(good, n, NULL) == SMPC_ERR_ARG);
}

static void
test_fingerprint(void)
{
	smpc_identity a,
				b;
	smpc_public_key pa,
				pb;
	char		fa[SMPC_FINGERPRINT_LEN],
				fa2[SMPC_FINGERPRINT_LEN],
				fb[SMPC_FINGERPRINT_LEN];

	REQUIRE(smpc_identity_generate(&a) == SMPC_OK);
	REQUIRE(smpc_identity_generate(&b) == SMPC_OK);
	smpc_identity_public(&a, &pa);
	smpc_identity_public(&b, &pb);

	REQUIRE(smpc_fingerprint(&pa, fa) == SMPC_OK);
	REQUIRE(smpc_fingerprint(&pa, fa2) == SMPC_OK);
	REQUIRE(smpc_fingerprint(&pb, fb) == SMPC_OK);
	CHECK(strcmp(fa, fa2) == 0);
	CHECK(strcmp(fa, fb) != 0);

	/* exact format: xxxx-xxxx-xxxx-xxxx-xxxx-xxxx-xxxx-xxxx, lower-case */
	CHECK(strlen(fa) == SMPC_FINGERPRINT_CHARS);
	for (size_t i = 0; i < SMPC_FINGERPRINT_CHARS; i++)
	{
		if (i % 5 == 4)
			CHECK(fa[i] == '-');
		else
			CHECK((fa[i] >= '0' && fa[i] <= '9') || (fa[i] >= 'a' && fa[i] <= 'f'));
	}

	/* independent recomputation of the construction */
	{
		uint8_t		msg[19 + 64];
		uint8_t		h[16];
		char		hex[33];
		char		expect[SMPC_FINGERPRINT_LEN];
		size_t		o = 0;

		memcpy(msg, "smpc-fingerprint-v1", 19);
		memcpy(msg + 19, pa.sign_pk, 32);
		memcpy(msg + 51, pa.kx_pk, 32);
		REQUIRE(crypto_generichash(h, 16, msg, sizeof(msg), NULL, 0) == 0);
		sodium_bin2hex(hex, sizeof(hex), h, 16);
		for (int g = 0; g < 8; g++)
		{
			if (g > 0)
				expect[o++] = '-';
			memcpy(expect + o, hex + 4 * g, 4);
			o += 4;
		}
		expect[o] = '\0';
		CHECK(strcmp(expect, fa) == 0);
	}

	/* the kx half is covered too */
	pb = pa;
	pb.kx_pk[31] ^= 0x01;
	REQUIRE(smpc_fingerprint(&pb, fb) == SMPC_OK);
	CHECK(strcmp(fa, fb) != 0);
}

static void
test_keyfile_roundtrip(void)
{
	smpc_identity id,
				back;
	uint8_t		kf[SMPC_KEYFILE_LEN];

	REQUIRE(smpc_identity_generate(&id) == SMPC_OK);
	REQUIRE(smpc_identity_to_keyfile(&id, kf) == SMPC_OK);
	CHECK(memcmp(kf, "SMPCKEY1", 8) == 0);
	CHECK(kf[8] == 1);
	CHECK(memcmp(kf + 9, id.sign_sk, 64) == 0);
	CHECK(memcmp(kf + 73, id.kx_sk, 32) == 0);
	REQUIRE(smpc_identity_from_keyfile(kf, sizeof(kf), &back) == SMPC_OK);
	CHECK(identity_equal(&id, &back));
}

static void
test_keyfile_corruption(void)
{
	smpc_identity id,
				back;
	uint8_t		kf[SMPC_KEYFILE_LEN],
				bad[SMPC_KEYFILE_LEN + 1];

	REQUIRE(smpc_identity_generate(&id) == SMPC_OK);
	REQUIRE(smpc_identity_to_keyfile(&id, kf) == SMPC_OK);

	/* every single-byte change, with two different masks */
	for (size_t i = 0; i < SMPC_KEYFILE_LEN; i++)
	{
		const uint8_t masks[] = {0x01, 0x80, 0xff};

		for (size_t m = 0; m < sizeof(masks); m++)
		{
			int			rc;
			int			expect;

			memcpy(bad, kf, sizeof(kf));
			bad[i] ^= masks[m];
			memset(&back, 0x55, sizeof(back));
			rc = smpc_identity_from_keyfile(bad, sizeof(kf), &back);
			if (i < 8)
				expect = SMPC_ERR_MALFORMED;
			else if (i == 8)
				expect = SMPC_ERR_VERSION;
			else
				expect = SMPC_ERR_AUTH;
			if (!CHECK(rc == expect))
				fprintf(stderr, "    byte %zu mask %02x: rc %d\n", i, masks[m], rc);
			CHECK(all_zero(&back, sizeof(back)));
		}
	}

	/* lengths */
	for (size_t l = 0; l < SMPC_KEYFILE_LEN; l++)
		CHECK(smpc_identity_from_keyfile(kf, l, &back) == SMPC_ERR_TRUNCATED);
	memcpy(bad, kf, sizeof(kf));
	bad[SMPC_KEYFILE_LEN] = 0;
	CHECK(smpc_identity_from_keyfile(bad, sizeof(bad), &back) == SMPC_ERR_TRAILING);

	/*
	 * A well-checksummed file whose stored Ed25519 public half does not match
	 * its seed must be refused as inconsistent.
	 */
	memcpy(bad, kf, sizeof(kf));
	bad[9 + 32] ^= 0x01;
	REQUIRE(crypto_generichash(bad + SMPC_KEYFILE_LEN - 16, 16, bad,
							   SMPC_KEYFILE_LEN - 16, NULL, 0) == 0);
	CHECK(smpc_identity_from_keyfile(bad, SMPC_KEYFILE_LEN, &back) == SMPC_ERR_INCONSISTENT);
	CHECK(all_zero(&back, sizeof(back)));

	/* and the untouched file still parses */
	CHECK(smpc_identity_from_keyfile(kf, sizeof(kf), &back) == SMPC_OK);
}

static void
test_sign_verify(void)
{
	smpc_identity a,
				b;
	uint8_t		msg[100];
	uint8_t		sig[64],
				bad[64];

	REQUIRE(smpc_identity_generate(&a) == SMPC_OK);
	REQUIRE(smpc_identity_generate(&b) == SMPC_OK);
	randombytes_buf(msg, sizeof(msg));

	REQUIRE(smpc_sign(&a, "ctx-one", msg, sizeof(msg), sig) == SMPC_OK);
	CHECK(smpc_verify(a.sign_pk, "ctx-one", msg, sizeof(msg), sig) == SMPC_OK);
	/* wrong context, wrong key */
	CHECK(smpc_verify(a.sign_pk, "ctx-two", msg, sizeof(msg), sig) == SMPC_ERR_AUTH);
	CHECK(smpc_verify(a.sign_pk, "ctx-on", msg, sizeof(msg), sig) == SMPC_ERR_AUTH);
	CHECK(smpc_verify(b.sign_pk, "ctx-one", msg, sizeof(msg), sig) == SMPC_ERR_AUTH);
	/* every flipped message bit in byte positions, every signature byte */
	for (size_t i = 0; i < sizeof(msg); i++)
	{
		msg[i] ^= (uint8_t) (1u << (i % 8));
		CHECK(smpc_verify(a.sign_pk, "ctx-one", msg, sizeof(msg), sig) == SMPC_ERR_AUTH);
		msg[i] ^= (uint8_t) (1u << (i % 8));
	}
	for (size_t i = 0; i < 64; i++)
	{
		memcpy(bad, sig, 64);
		bad[i] ^= 0x04;
		CHECK(smpc_verify(a.sign_pk, "ctx-one", msg, sizeof(msg), bad) == SMPC_ERR_AUTH);
	}
	/* wrong length (prefix of the message) */
	CHECK(smpc_verify(a.sign_pk, "ctx-one", msg, sizeof(msg) - 1, sig) == SMPC_ERR_AUTH);

	/* context/message boundary is unambiguous: ("ab","c") != ("a","bc") */
	REQUIRE(smpc_sign(&a, "ab", (const uint8_t *) "c", 1, sig) == SMPC_OK);
	CHECK(smpc_verify(a.sign_pk, "ab", (const uint8_t *) "c", 1, sig) == SMPC_OK);
	CHECK(smpc_verify(a.sign_pk, "a", (const uint8_t *) "bc", 2, sig) == SMPC_ERR_AUTH);

	/* empty message is fine; the signature is not a plain Ed25519 one */
	REQUIRE(smpc_sign(&a, "ctx", NULL, 0, sig) == SMPC_OK);
	CHECK(smpc_verify(a.sign_pk, "ctx", NULL, 0, sig) == SMPC_OK);
	REQUIRE(smpc_sign(&a, "ctx", msg, sizeof(msg), sig) == SMPC_OK);
	CHECK(crypto_sign_verify_detached(sig, msg, sizeof(msg), a.sign_pk) != 0);

	/* argument checks */
	CHECK(smpc_sign(&a, NULL, msg, 1, sig) == SMPC_ERR_ARG);
	CHECK(smpc_sign(&a, "", msg, 1, sig) == SMPC_ERR_ARG);
	CHECK(smpc_sign(&a, "ctx", NULL, 1, sig) == SMPC_ERR_ARG);
	CHECK(smpc_verify(a.sign_pk, NULL, msg, 1, sig) == SMPC_ERR_ARG);

	/* an invalid public key verifies nothing */
	{
		uint8_t		zero_pk[32] = {0};

		CHECK(smpc_verify(zero_pk, "ctx", msg, sizeof(msg), sig) == SMPC_ERR_AUTH);
	}
}

/* ------------------------------------------------------------ envelopes */

typedef struct env_fixture
{
	smpc_identity a;			/* sender */
	smpc_identity b;			/* recipient */
	smpc_identity c;			/* bystander */
	smpc_envelope_ad ad;
	uint8_t		plain[77];
	uint8_t		env[77 + SMPC_ENVELOPE_OVERHEAD];
	size_t		env_len;
} env_fixture;

static int
env_setup(env_fixture *f)
{
	if (smpc_identity_generate(&f->a) != SMPC_OK ||
		smpc_identity_generate(&f->b) != SMPC_OK ||
		smpc_identity_generate(&f->c) != SMPC_OK)
		return 0;
	randombytes_buf(f->ad.session_id, sizeof(f->ad.session_id));
	f->ad.round = 3;
	memcpy(f->ad.sender_pk, f->a.sign_pk, 32);
	memcpy(f->ad.recipient_pk, f->b.sign_pk, 32);
	randombytes_buf(f->plain, sizeof(f->plain));
	return smpc_envelope_seal(&f->a, f->b.kx_pk, &f->ad, f->plain,
							  sizeof(f->plain), f->env, sizeof(f->env),
							  &f->env_len) == SMPC_OK;
}

/* Try to open f->env (possibly modified) as b with the given ad/sender key. */
static int
env_try(const env_fixture *f, const smpc_identity *as,
		const uint8_t *sender_kx, const smpc_envelope_ad *ad,
		const uint8_t *env, size_t env_len)
{
	uint8_t		out[sizeof(f->plain)];
	size_t		out_len = 12345;
	int			rc;

	memset(out, 0xAA, sizeof(out));
	rc = smpc_envelope_open(as, sender_kx, ad, env, env_len, out,
							sizeof(out), &out_len);
	if (rc != SMPC_OK)
	{
		/* no plaintext may leak on failure */
		CHECK(out_len == 0);
		CHECK(all_zero(out, sizeof(out)));
	}
	return rc;
}

static void
test_envelope_roundtrip(void)
{
	env_fixture f;
	uint8_t		out[sizeof(f.plain)];
	size_t		out_len = 0;

	REQUIRE(env_setup(&f));
	CHECK(f.env_len == sizeof(f.plain) + SMPC_ENVELOPE_OVERHEAD);
	CHECK(SMPC_ENVELOPE_OVERHEAD == 40);
	REQUIRE(smpc_envelope_open(&f.b, f.a.kx_pk, &f.ad, f.env, f.env_len,
							   out, sizeof(out), &out_len) == SMPC_OK);
	CHECK(out_len == sizeof(f.plain));
	CHECK(memcmp(out, f.plain, sizeof(f.plain)) == 0);
	/* the plaintext does not appear in the envelope */
	CHECK(memcmp(f.env + 24, f.plain, sizeof(f.plain)) != 0);

	/* empty plaintext */
	{
		uint8_t		e[SMPC_ENVELOPE_OVERHEAD];
		size_t		el = 0;

		REQUIRE(smpc_envelope_seal(&f.a, f.b.kx_pk, &f.ad, NULL, 0, e,
								   sizeof(e), &el) == SMPC_OK);
		CHECK(el == SMPC_ENVELOPE_OVERHEAD);
		out_len = 99;
		CHECK(smpc_envelope_open(&f.b, f.a.kx_pk, &f.ad, e, el, NULL, 0,
								 &out_len) == SMPC_OK);
		CHECK(out_len == 0);
		e[30] ^= 1;
		CHECK(smpc_envelope_open(&f.b, f.a.kx_pk, &f.ad, e, el, NULL, 0,
								 &out_len) == SMPC_ERR_AUTH);
	}
}

static void
test_envelope_open_failures(void)
{
	env_fixture f;
	smpc_envelope_ad ad;
	uint8_t		bad[sizeof(f.env)];

	REQUIRE(env_setup(&f));
	REQUIRE(env_try(&f, &f.b, f.a.kx_pk, &f.ad, f.env, f.env_len) == SMPC_OK);

	/* wrong recipient identity: c, with the ad naming b (not for us) ... */
	CHECK(env_try(&f, &f.c, f.a.kx_pk, &f.ad, f.env, f.env_len) == SMPC_ERR_AUTH);
	/* ... and with the ad rewritten to name c, so the AEAD itself rejects */
	ad = f.ad;
	memcpy(ad.recipient_pk, f.c.sign_pk, 32);
	CHECK(env_try(&f, &f.c, f.a.kx_pk, &ad, f.env, f.env_len) == SMPC_ERR_AUTH);

	/* wrong sender key */
	CHECK(env_try(&f, &f.b, f.c.kx_pk, &f.ad, f.env, f.env_len) == SMPC_ERR_AUTH);
	CHECK(env_try(&f, &f.b, f.b.kx_pk, &f.ad, f.env, f.env_len) == SMPC_ERR_AUTH);
	{
		uint8_t		zero[32] = {0};

		CHECK(env_try(&f, &f.b, zero, &f.ad, f.env, f.env_len) == SMPC_ERR_AUTH);
	}

	/* every session id byte */
	for (size_t i = 0; i < SMPC_SESSION_ID_BYTES; i++)
	{
		ad = f.ad;
		ad.session_id[i] ^= 0x01;
		CHECK(env_try(&f, &f.b, f.a.kx_pk, &ad, f.env, f.env_len) == SMPC_ERR_AUTH);
	}
	/* round */
	for (int d = 1; d < 256; d *= 2)
	{
		ad = f.ad;
		ad.round ^= (uint8_t) d;
		CHECK(env_try(&f, &f.b, f.a.kx_pk, &ad, f.env, f.env_len) == SMPC_ERR_AUTH);
	}
	/* sender named in the ad (each byte) */
	for (size_t i = 0; i < 32; i++)
	{
		ad = f.ad;
		ad.sender_pk[i] ^= 0x20;
		CHECK(env_try(&f, &f.b, f.a.kx_pk, &ad, f.env, f.env_len) == SMPC_ERR_AUTH);
	}
	/* swapped sender/recipient in the ad */
	ad = f.ad;
	memcpy(ad.sender_pk, f.ad.recipient_pk, 32);
	memcpy(ad.recipient_pk, f.ad.sender_pk, 32);
	CHECK(env_try(&f, &f.b, f.a.kx_pk, &ad, f.env, f.env_len) == SMPC_ERR_AUTH);
	/* reflection: a tries to open its own envelope as if b had sent it */
	CHECK(env_try(&f, &f.a, f.b.kx_pk, &ad, f.env, f.env_len) == SMPC_ERR_AUTH);

	/* every nonce/ciphertext/tag byte */
	for (size_t i = 0; i < f.env_len; i++)
	{
		memcpy(bad, f.env, f.env_len);
		bad[i] ^= (uint8_t) (1u << (i % 8));
		if (!CHECK(env_try(&f, &f.b, f.a.kx_pk, &f.ad, bad, f.env_len) == SMPC_ERR_AUTH))
			fprintf(stderr, "    flipped byte %zu accepted\n", i);
	}

	/* truncated: below the overhead, and shorter but still >= overhead */
	for (size_t l = 0; l < SMPC_ENVELOPE_OVERHEAD; l++)
		CHECK(env_try(&f, &f.b, f.a.kx_pk, &f.ad, f.env, l) == SMPC_ERR_TRUNCATED);
	for (size_t l = SMPC_ENVELOPE_OVERHEAD; l < f.env_len; l++)
		CHECK(env_try(&f, &f.b, f.a.kx_pk, &f.ad, f.env, l) == SMPC_ERR_AUTH);

	/* the genuine envelope still opens after all that */
	CHECK(env_try(&f, &f.b, f.a.kx_pk, &f.ad, f.env, f.env_len) == SMPC_OK);
}

static void
test_envelope_fresh_nonce(void)
{
	env_fixture f;
	uint8_t		e2[sizeof(f.env)];
	size_t		l2 = 0;

	REQUIRE(env_setup(&f));
	REQUIRE(smpc_envelope_seal(&f.a, f.b.kx_pk, &f.ad, f.plain, sizeof(f.plain),
							   e2, sizeof(e2), &l2) == SMPC_OK);
	CHECK(l2 == f.env_len);
	CHECK(memcmp(e2, f.env, SMPC_ENVELOPE_NONCE_BYTES) != 0);
	CHECK(memcmp(e2 + 24, f.env + 24, l2 - 24) != 0);
	CHECK(env_try(&f, &f.b, f.a.kx_pk, &f.ad, e2, l2) == SMPC_OK);
}

static void
test_envelope_args(void)
{
	env_fixture f;
	smpc_envelope_ad ad;
	uint8_t		e[sizeof(f.env)];
	uint8_t		out[sizeof(f.plain)];
	size_t		l = 7;

	REQUIRE(env_setup(&f));
	/* output too small for seal and open */
	CHECK(smpc_envelope_seal(&f.a, f.b.kx_pk, &f.ad, f.plain, sizeof(f.plain),
							 e, sizeof(e) - 1, &l) == SMPC_ERR_ARG);
	CHECK(l == 0);
	CHECK(smpc_envelope_open(&f.b, f.a.kx_pk, &f.ad, f.env, f.env_len,
							 out, sizeof(out) - 1, &l) == SMPC_ERR_ARG);
	/* ad must name the sealing identity as sender */
	ad = f.ad;
	memcpy(ad.sender_pk, f.c.sign_pk, 32);
	CHECK(smpc_envelope_seal(&f.a, f.b.kx_pk, &ad, f.plain, sizeof(f.plain),
							 e, sizeof(e), &l) == SMPC_ERR_ARG);
	/* degenerate recipient key */
	{
		uint8_t		zero[32] = {0};

		CHECK(smpc_envelope_seal(&f.a, zero, &f.ad, f.plain, sizeof(f.plain),
								 e, sizeof(e), &l) == SMPC_ERR_RANGE);
	}
	CHECK(smpc_envelope_seal(NULL, f.b.kx_pk, &f.ad, f.plain, 1, e,
							 sizeof(e), &l) == SMPC_ERR_ARG);
	CHECK(smpc_envelope_open(&f.b, f.a.kx_pk, &f.ad, NULL, 50, out,
							 sizeof(out), &l) == SMPC_ERR_ARG);
}

/* ------------------------------------------------------------ commitments */

static void
test_commit(void)
{
	uint8_t		value[50];
	uint8_t		op[32],
				op2[32],
				cm[32],
				cm2[32];

	randombytes_buf(value, sizeof(value));
	REQUIRE(smpc_commit(value, sizeof(value), op, cm) == SMPC_OK);
	CHECK(smpc_commit_verify(cm, op, value, sizeof(value)) == SMPC_OK);

	/* independent recomputation */
	{
		uint8_t		buf[14 + 32 + 8 + sizeof(value)];
		uint8_t		h[32];

		memcpy(buf, "smpc-commit-v1", 14);
		memcpy(buf + 14, op, 32);
		memset(buf + 46, 0, 8);
		buf[46] = (uint8_t) sizeof(value);
		memcpy(buf + 54, value, sizeof(value));
		REQUIRE(crypto_generichash(h, 32, buf, sizeof(buf), NULL, 0) == 0);
		CHECK(memcmp(h, cm, 32) == 0);
	}

	/* fresh opening each time */
	REQUIRE(smpc_commit(value, sizeof(value), op2, cm2) == SMPC_OK);
	CHECK(memcmp(op, op2, 32) != 0);
	CHECK(memcmp(cm, cm2, 32) != 0);

	/* wrong opening (each byte), wrong value (each byte), wrong commitment */
	for (size_t i = 0; i < 32; i++)
	{
		op[i] ^= 0x10;
		CHECK(smpc_commit_verify(cm, op, value, sizeof(value)) == SMPC_ERR_AUTH);
		op[i] ^= 0x10;
		cm[i] ^= 0x01;
		CHECK(smpc_commit_verify(cm, op, value, sizeof(value)) == SMPC_ERR_AUTH);
		cm[i] ^= 0x01;
	}
	for (size_t i = 0; i < sizeof(value); i++)
	{
		value[i] ^= 0x02;
		CHECK(smpc_commit_verify(cm, op, value, sizeof(value)) == SMPC_ERR_AUTH);
		value[i] ^= 0x02;
	}
	/* wrong length */
	CHECK(smpc_commit_verify(cm, op, value, sizeof(value) - 1) == SMPC_ERR_AUTH);
	CHECK(smpc_commit_verify(cm, op, value, 0) == SMPC_ERR_AUTH);
	CHECK(smpc_commit_verify(cm, op2, value, sizeof(value)) == SMPC_ERR_AUTH);
	CHECK(smpc_commit_verify(cm, op, value, sizeof(value)) == SMPC_OK);

	/* empty value */
	REQUIRE(smpc_commit(NULL, 0, op, cm) == SMPC_OK);
	CHECK(smpc_commit_verify(cm, op, NULL, 0) == SMPC_OK);
	CHECK(smpc_commit_verify(cm, op, value, 1) == SMPC_ERR_AUTH);
	CHECK(smpc_commit(NULL, 3, op, cm) == SMPC_ERR_ARG);
}

const unit_case crypto_cases[] = {
	{"identity_generate", test_identity_generate},
	{"identity_from_seeds", test_identity_from_seeds},
	{"pubkey_text_roundtrip", test_pubkey_text_roundtrip},
	{"pubkey_text_rejects", test_pubkey_text_rejects},
	{"fingerprint", test_fingerprint},
	{"keyfile_roundtrip", test_keyfile_roundtrip},
	{"keyfile_corruption", test_keyfile_corruption},
	{"sign_verify", test_sign_verify},
	{"envelope_roundtrip", test_envelope_roundtrip},
	{"envelope_open_failures", test_envelope_open_failures},
	{"envelope_fresh_nonce", test_envelope_fresh_nonce},
	{"envelope_args", test_envelope_args},
	{"commit", test_commit},
	{NULL, NULL}
};
