/*
 * identity.c
 *		Node identities: key generation, the public-key text form,
 *		fingerprints, the secret key file form and domain-separated
 *		detached signatures.  See identity.h for the formats.
 */
#include <string.h>
#include <sodium.h>

#include "identity.h"

#define FINGERPRINT_DOMAIN "smpc-fingerprint-v1"
#define FINGERPRINT_BYTES 16

#define PREFIX_CHARS (sizeof(SMPC_PUBKEY_TEXT_PREFIX) - 1)
#define PUBKEY_BIN_BYTES (SMPC_SIGN_PK_BYTES + SMPC_KX_PK_BYTES)
#define B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING

/* offsets inside the key file */
#define KF_MAGIC_LEN 8
#define KF_VERSION_OFF KF_MAGIC_LEN
#define KF_SIGN_SK_OFF (KF_VERSION_OFF + 1)
#define KF_KX_SK_OFF (KF_SIGN_SK_OFF + SMPC_SIGN_SK_BYTES)
#define KF_CHECKSUM_OFF (KF_KX_SK_OFF + SMPC_KX_SK_BYTES)

_Static_assert(sodium_base64_ENCODED_LEN(PUBKEY_BIN_BYTES, B64_VARIANT) ==
			   SMPC_PUBKEY_TEXT_LEN - PREFIX_CHARS,
			   "public-key text length does not match base64 length");
_Static_assert(KF_CHECKSUM_OFF + SMPC_KEYFILE_CHECKSUM_BYTES == SMPC_KEYFILE_LEN,
			   "key file layout does not add up");
_Static_assert(SMPC_SIGN_PK_BYTES == crypto_sign_PUBLICKEYBYTES &&
			   SMPC_SIGN_SK_BYTES == crypto_sign_SECRETKEYBYTES &&
			   SMPC_KX_PK_BYTES == crypto_box_PUBLICKEYBYTES &&
			   SMPC_KX_SK_BYTES == crypto_box_SECRETKEYBYTES &&
			   SMPC_SIGNATURE_BYTES == crypto_sign_BYTES &&
			   SMPC_SEED_BYTES == crypto_sign_SEEDBYTES,
			   "libsodium key sizes changed");

int
smpc_identity_generate(smpc_identity *out)
{
	if (out == NULL)
		return SMPC_ERR_ARG;
	if (crypto_sign_keypair(out->sign_pk, out->sign_sk) != 0 ||
		crypto_box_keypair(out->kx_pk, out->kx_sk) != 0)
	{
		smpc_identity_wipe(out);
		return SMPC_ERR_CRYPTO;
	}
	return SMPC_OK;
}

int
smpc_identity_from_seeds(const uint8_t sign_seed[SMPC_SEED_BYTES],
						 const uint8_t kx_sk[SMPC_KX_SK_BYTES],
						 smpc_identity *out)
{
	if (sign_seed == NULL || kx_sk == NULL || out == NULL)
		return SMPC_ERR_ARG;
	if (crypto_sign_seed_keypair(out->sign_pk, out->sign_sk, sign_seed) != 0)
		goto fail;
	memmove(out->kx_sk, kx_sk, SMPC_KX_SK_BYTES);
	if (crypto_scalarmult_base(out->kx_pk, out->kx_sk) != 0)
		goto fail;
	return SMPC_OK;

fail:
	smpc_identity_wipe(out);
	return SMPC_ERR_CRYPTO;
}

void
smpc_identity_wipe(smpc_identity *id)
{
	if (id != NULL)
		sodium_memzero(id, sizeof(*id));
}

int
smpc_identity_public(const smpc_identity *id, smpc_public_key *out)
{
	if (id == NULL || out == NULL)
		return SMPC_ERR_ARG;
	memcpy(out->sign_pk, id->sign_pk, SMPC_SIGN_PK_BYTES);
	memcpy(out->kx_pk, id->kx_pk, SMPC_KX_PK_BYTES);
	return SMPC_OK;
}

int
smpc_pubkey_to_text(const smpc_public_key *pk, char out[SMPC_PUBKEY_TEXT_LEN])
{
	uint8_t		bin[PUBKEY_BIN_BYTES];

	if (pk == NULL || out == NULL)
		return SMPC_ERR_ARG;
	memcpy(bin, pk->sign_pk, SMPC_SIGN_PK_BYTES);
	memcpy(bin + SMPC_SIGN_PK_BYTES, pk->kx_pk, SMPC_KX_PK_BYTES);
	memcpy(out, SMPC_PUBKEY_TEXT_PREFIX, PREFIX_CHARS);
	sodium_bin2base64(out + PREFIX_CHARS, SMPC_PUBKEY_TEXT_LEN - PREFIX_CHARS,
					  bin, sizeof(bin), B64_VARIANT);
	return SMPC_OK;
}

int
smpc_pubkey_from_text(const char *text, size_t len, smpc_public_key *out)
{
	uint8_t		bin[PUBKEY_BIN_BYTES];
	size_t		bin_len = 0;

	if (out == NULL || (text == NULL && len > 0))
		return SMPC_ERR_ARG;
	memset(out, 0, sizeof(*out));

	if (len != SMPC_PUBKEY_TEXT_CHARS ||
		memcmp(text, SMPC_PUBKEY_TEXT_PREFIX, PREFIX_CHARS) != 0)
		return SMPC_ERR_SYNTAX;

	/*
	 * Check the alphabet ourselves: libsodium 1.0.18's constant-time
	 * character mapping accepts some bytes >= 0x80 as if they were base64
	 * digits.  After that, with no ignore set and a NULL end pointer,
	 * libsodium rejects non-zero leftover bits, so only the canonical
	 * encoding is accepted.
	 */
	for (size_t i = PREFIX_CHARS; i < len; i++)
	{
		char		c = text[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return SMPC_ERR_SYNTAX;
	}
	if (sodium_base642bin(bin, sizeof(bin), text + PREFIX_CHARS,
						  len - PREFIX_CHARS, NULL, &bin_len, NULL,
						  B64_VARIANT) != 0 ||
		bin_len != sizeof(bin))
		return SMPC_ERR_SYNTAX;

	if (crypto_core_ed25519_is_valid_point(bin) != 1)
		return SMPC_ERR_RANGE;

	memcpy(out->sign_pk, bin, SMPC_SIGN_PK_BYTES);
	memcpy(out->kx_pk, bin + SMPC_SIGN_PK_BYTES, SMPC_KX_PK_BYTES);
	return SMPC_OK;
}

int
smpc_fingerprint(const smpc_public_key *pk, char out[SMPC_FINGERPRINT_LEN])
{
	static const char hex[] = "0123456789abcdef";
	crypto_generichash_state st;
	uint8_t		digest[FINGERPRINT_BYTES];
	size_t		o = 0;

	if (pk == NULL || out == NULL)
		return SMPC_ERR_ARG;
	if (crypto_generichash_init(&st, NULL, 0, sizeof(digest)) != 0 ||
		crypto_generichash_update(&st, (const uint8_t *) FINGERPRINT_DOMAIN,
								  sizeof(FINGERPRINT_DOMAIN) - 1) != 0 ||
		crypto_generichash_update(&st, pk->sign_pk, SMPC_SIGN_PK_BYTES) != 0 ||
		crypto_generichash_update(&st, pk->kx_pk, SMPC_KX_PK_BYTES) != 0 ||
		crypto_generichash_final(&st, digest, sizeof(digest)) != 0)
		return SMPC_ERR_CRYPTO;

	for (size_t i = 0; i < sizeof(digest); i++)
	{
		if (i > 0 && i % 2 == 0)
			out[o++] = '-';
		out[o++] = hex[digest[i] >> 4];
		out[o++] = hex[digest[i] & 0x0f];
	}
	out[o] = '\0';
	return SMPC_OK;
}

/* BLAKE2b-128 over the key file body (everything before the checksum). */
static int
keyfile_checksum(const uint8_t *body, uint8_t sum[SMPC_KEYFILE_CHECKSUM_BYTES])
{
	if (crypto_generichash(sum, SMPC_KEYFILE_CHECKSUM_BYTES, body,
						   KF_CHECKSUM_OFF, NULL, 0) != 0)
		return SMPC_ERR_CRYPTO;
	return SMPC_OK;
}

int
smpc_identity_to_keyfile(const smpc_identity *id, uint8_t out[SMPC_KEYFILE_LEN])
{
	int			rc;

	if (id == NULL || out == NULL)
		return SMPC_ERR_ARG;
	memcpy(out, SMPC_KEYFILE_MAGIC, KF_MAGIC_LEN);
	out[KF_VERSION_OFF] = SMPC_KEYFILE_VERSION;
	memcpy(out + KF_SIGN_SK_OFF, id->sign_sk, SMPC_SIGN_SK_BYTES);
	memcpy(out + KF_KX_SK_OFF, id->kx_sk, SMPC_KX_SK_BYTES);
	rc = keyfile_checksum(out, out + KF_CHECKSUM_OFF);
	if (rc != SMPC_OK)
		sodium_memzero(out, SMPC_KEYFILE_LEN);
	return rc;
}

int
smpc_identity_from_keyfile(const uint8_t *in, size_t len, smpc_identity *out)
{
	uint8_t		sum[SMPC_KEYFILE_CHECKSUM_BYTES];
	uint8_t		seed[SMPC_SEED_BYTES];
	int			rc;

	if (out == NULL || (in == NULL && len > 0))
		return SMPC_ERR_ARG;
	sodium_memzero(out, sizeof(*out));

	if (len < SMPC_KEYFILE_LEN)
		return SMPC_ERR_TRUNCATED;
	if (len > SMPC_KEYFILE_LEN)
		return SMPC_ERR_TRAILING;
	if (memcmp(in, SMPC_KEYFILE_MAGIC, KF_MAGIC_LEN) != 0)
		return SMPC_ERR_MALFORMED;
	if (in[KF_VERSION_OFF] != SMPC_KEYFILE_VERSION)
		return SMPC_ERR_VERSION;

	rc = keyfile_checksum(in, sum);
	if (rc != SMPC_OK)
		return rc;
	if (sodium_memcmp(sum, in + KF_CHECKSUM_OFF, sizeof(sum)) != 0)
		return SMPC_ERR_AUTH;

	/*
	 * libsodium stores sign_sk as seed || pk.  Rederive the whole pair from
	 * the seed rather than trusting the stored public half, and insist that
	 * both agree.
	 */
	memcpy(seed, in + KF_SIGN_SK_OFF, sizeof(seed));
	rc = smpc_identity_from_seeds(seed, in + KF_KX_SK_OFF, out);
	sodium_memzero(seed, sizeof(seed));
	if (rc != SMPC_OK)
		return rc;
	if (sodium_memcmp(out->sign_sk, in + KF_SIGN_SK_OFF,
					  SMPC_SIGN_SK_BYTES) != 0)
	{
		smpc_identity_wipe(out);
		return SMPC_ERR_INCONSISTENT;
	}
	return SMPC_OK;
}

/* Domain-separated prehash: BLAKE2b-512(context || 0x00 || msg). */
static int
sign_digest(const char *context, const uint8_t *msg, size_t len,
			uint8_t digest[crypto_generichash_BYTES_MAX])
{
	static const uint8_t zero = 0;
	crypto_generichash_state st;

	if (crypto_generichash_init(&st, NULL, 0, crypto_generichash_BYTES_MAX) != 0 ||
		crypto_generichash_update(&st, (const uint8_t *) context,
								  strlen(context)) != 0 ||
		crypto_generichash_update(&st, &zero, 1) != 0 ||
		(len > 0 && crypto_generichash_update(&st, msg, len) != 0) ||
		crypto_generichash_final(&st, digest, crypto_generichash_BYTES_MAX) != 0)
		return SMPC_ERR_CRYPTO;
	return SMPC_OK;
}

int
smpc_sign(const smpc_identity *id, const char *context,
		  const uint8_t *msg, size_t len, uint8_t sig[SMPC_SIGNATURE_BYTES])
{
	uint8_t		digest[crypto_generichash_BYTES_MAX];
	int			rc;

	if (id == NULL || context == NULL || context[0] == '\0' || sig == NULL ||
		(msg == NULL && len > 0))
		return SMPC_ERR_ARG;
	rc = sign_digest(context, msg, len, digest);
	if (rc != SMPC_OK)
		return rc;
	if (crypto_sign_detached(sig, NULL, digest, sizeof(digest), id->sign_sk) != 0)
	{
		sodium_memzero(sig, SMPC_SIGNATURE_BYTES);
		return SMPC_ERR_CRYPTO;
	}
	return SMPC_OK;
}

int
smpc_verify(const uint8_t sign_pk[SMPC_SIGN_PK_BYTES], const char *context,
			const uint8_t *msg, size_t len, const uint8_t sig[SMPC_SIGNATURE_BYTES])
{
	uint8_t		digest[crypto_generichash_BYTES_MAX];
	int			rc;

	if (sign_pk == NULL || context == NULL || context[0] == '\0' ||
		sig == NULL || (msg == NULL && len > 0))
		return SMPC_ERR_ARG;
	rc = sign_digest(context, msg, len, digest);
	if (rc != SMPC_OK)
		return rc;
	if (crypto_sign_verify_detached(sig, digest, sizeof(digest), sign_pk) != 0)
		return SMPC_ERR_AUTH;
	return SMPC_OK;
}
