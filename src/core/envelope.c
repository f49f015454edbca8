/*
 * envelope.c
 *		Sealing and opening per-recipient envelopes (see envelope.h).
 *
 * Key agreement.  The AEAD key for an envelope from S to R is
 *
 *		k = BLAKE2b-256( "smpc-envelope-key-v1" || X25519(S.sk, R.pk)
 *						 || S.kx_pk || R.kx_pk )
 *
 * We do not use crypto_box_beforenm because its key is the same in both
 * directions and depends on the raw shared point only.  Hashing in both
 * public keys in sender-then-recipient order (as crypto_kx does) gives a
 * directional key bound to the exact key pair, so an envelope reflected back
 * to its sender never opens even if the associated data were mis-built.
 * crypto_kx itself is not used because it needs a client/server role split
 * that has no natural meaning between peer members.
 *
 * Associated data.  "smpc-envelope-v1" || session_id || round || sender_pk
 * || recipient_pk, fixed length, so every field of smpc_envelope_ad is
 * authenticated.
 *
 * Nonce.  24 fresh random bytes per envelope; XChaCha20's 192-bit nonce
 * makes random nonces safe for any realistic number of envelopes per key.
 */
#include <string.h>
#include <sodium.h>

#include "envelope.h"

#define KEY_DOMAIN "smpc-envelope-key-v1"
#define AD_DOMAIN "smpc-envelope-v1"
#define AD_DOMAIN_LEN (sizeof(AD_DOMAIN) - 1)
#define AD_BYTES (AD_DOMAIN_LEN + SMPC_SESSION_ID_BYTES + 1 + \
				  2 * SMPC_SIGN_PK_BYTES)

_Static_assert(SMPC_ENVELOPE_NONCE_BYTES == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES &&
			   SMPC_ENVELOPE_TAG_BYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES,
			   "XChaCha20-Poly1305 sizes changed");

/*
 * Derive the directional key for sender -> recipient from our secret key and
 * the peer's public key.  Returns SMPC_ERR_RANGE if the peer key is
 * degenerate (shared point is zero), SMPC_ERR_CRYPTO on hash failure.
 */
static int
derive_key(const uint8_t my_sk[SMPC_KX_SK_BYTES],
		   const uint8_t peer_pk[SMPC_KX_PK_BYTES],
		   const uint8_t sender_kx_pk[SMPC_KX_PK_BYTES],
		   const uint8_t recipient_kx_pk[SMPC_KX_PK_BYTES],
		   uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES])
{
	uint8_t		shared[crypto_scalarmult_BYTES];
	crypto_generichash_state st;
	int			rc = SMPC_OK;

	if (crypto_scalarmult(shared, my_sk, peer_pk) != 0)
	{
		sodium_memzero(shared, sizeof(shared));
		return SMPC_ERR_RANGE;
	}
	if (crypto_generichash_init(&st, NULL, 0,
								crypto_aead_xchacha20poly1305_ietf_KEYBYTES) != 0 ||
		crypto_generichash_update(&st, (const uint8_t *) KEY_DOMAIN,
								  sizeof(KEY_DOMAIN) - 1) != 0 ||
		crypto_generichash_update(&st, shared, sizeof(shared)) != 0 ||
		crypto_generichash_update(&st, sender_kx_pk, SMPC_KX_PK_BYTES) != 0 ||
		crypto_generichash_update(&st, recipient_kx_pk, SMPC_KX_PK_BYTES) != 0 ||
		crypto_generichash_final(&st, key,
								 crypto_aead_xchacha20poly1305_ietf_KEYBYTES) != 0)
		rc = SMPC_ERR_CRYPTO;
	sodium_memzero(shared, sizeof(shared));
	sodium_memzero(&st, sizeof(st));
	return rc;
}

/* Serialize the associated data into its fixed-length byte form. */
static void
build_ad(const smpc_envelope_ad *ad, uint8_t out[AD_BYTES])
{
	size_t		o = 0;

	memcpy(out + o, AD_DOMAIN, AD_DOMAIN_LEN);
	o += AD_DOMAIN_LEN;
	memcpy(out + o, ad->session_id, SMPC_SESSION_ID_BYTES);
	o += SMPC_SESSION_ID_BYTES;
	out[o++] = ad->round;
	memcpy(out + o, ad->sender_pk, SMPC_SIGN_PK_BYTES);
	o += SMPC_SIGN_PK_BYTES;
	memcpy(out + o, ad->recipient_pk, SMPC_SIGN_PK_BYTES);
}

int
smpc_envelope_seal(const smpc_identity *sender,
				   const uint8_t recipient_kx_pk[SMPC_KX_PK_BYTES],
				   const smpc_envelope_ad *ad,
				   const uint8_t *plaintext, size_t len,
				   uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint8_t		key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	uint8_t		adb[AD_BYTES];
	unsigned long long clen = 0;
	int			rc;

	if (out_len != NULL)
		*out_len = 0;
	if (sender == NULL || recipient_kx_pk == NULL || ad == NULL ||
		out == NULL || out_len == NULL || (plaintext == NULL && len > 0))
		return SMPC_ERR_ARG;
	if (len > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX ||
		len > SIZE_MAX - SMPC_ENVELOPE_OVERHEAD)
		return SMPC_ERR_TOO_LARGE;
	if (out_cap < len + SMPC_ENVELOPE_OVERHEAD ||
		memcmp(ad->sender_pk, sender->sign_pk, SMPC_SIGN_PK_BYTES) != 0)
	{
		memset(out, 0, out_cap);
		return SMPC_ERR_ARG;
	}

	rc = derive_key(sender->kx_sk, recipient_kx_pk, sender->kx_pk,
					recipient_kx_pk, key);
	if (rc != SMPC_OK)
	{
		memset(out, 0, out_cap);
		return rc;
	}
	build_ad(ad, adb);
	randombytes_buf(out, SMPC_ENVELOPE_NONCE_BYTES);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(out + SMPC_ENVELOPE_NONCE_BYTES,
												   &clen, plaintext, len,
												   adb, sizeof(adb), NULL,
												   out, key) != 0 ||
		clen != (unsigned long long) len + SMPC_ENVELOPE_TAG_BYTES)
	{
		sodium_memzero(key, sizeof(key));
		memset(out, 0, out_cap);
		return SMPC_ERR_CRYPTO;
	}
	sodium_memzero(key, sizeof(key));
	*out_len = len + SMPC_ENVELOPE_OVERHEAD;
	return SMPC_OK;
}

int
smpc_envelope_open(const smpc_identity *recipient,
				   const uint8_t sender_kx_pk[SMPC_KX_PK_BYTES],
				   const smpc_envelope_ad *ad,
				   const uint8_t *env, size_t env_len,
				   uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint8_t		key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	uint8_t		adb[AD_BYTES];
	unsigned long long mlen = 0;
	size_t		plain_len;
	int			rc;

	if (out_len != NULL)
		*out_len = 0;
	if (recipient == NULL || sender_kx_pk == NULL || ad == NULL ||
		out_len == NULL || (env == NULL && env_len > 0) ||
		(out == NULL && out_cap > 0))
		return SMPC_ERR_ARG;
	if (out != NULL)
		sodium_memzero(out, out_cap);
	if (env_len < SMPC_ENVELOPE_OVERHEAD)
		return SMPC_ERR_TRUNCATED;
	plain_len = env_len - SMPC_ENVELOPE_OVERHEAD;
	if (out_cap < plain_len)
		return SMPC_ERR_ARG;
	if (plain_len > 0 && out == NULL)
		return SMPC_ERR_ARG;
	if (sodium_memcmp(ad->recipient_pk, recipient->sign_pk,
					  SMPC_SIGN_PK_BYTES) != 0)
		return SMPC_ERR_AUTH;

	rc = derive_key(recipient->kx_sk, sender_kx_pk, sender_kx_pk,
					recipient->kx_pk, key);
	if (rc == SMPC_ERR_RANGE)
		return SMPC_ERR_AUTH;	/* degenerate sender key: cannot be genuine */
	if (rc != SMPC_OK)
		return rc;
	build_ad(ad, adb);

	/*
	 * libsodium verifies the tag before writing any plaintext; out is only
	 * touched when authentication succeeds.  A zero-length plaintext still
	 * needs a valid pointer, so give it a harmless one.
	 */
	{
		uint8_t		dummy;
		uint8_t    *dst = (plain_len > 0) ? out : &dummy;

		if (crypto_aead_xchacha20poly1305_ietf_decrypt(dst, &mlen, NULL,
													   env + SMPC_ENVELOPE_NONCE_BYTES,
													   env_len - SMPC_ENVELOPE_NONCE_BYTES,
													   adb, sizeof(adb),
													   env, key) != 0 ||
			mlen != (unsigned long long) plain_len)
		{
			sodium_memzero(key, sizeof(key));
			if (out != NULL)
				sodium_memzero(out, out_cap);
			return SMPC_ERR_AUTH;
		}
	}
	sodium_memzero(key, sizeof(key));
	*out_len = plain_len;
	return SMPC_OK;
}
