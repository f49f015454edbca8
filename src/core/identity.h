/*
 * identity.h
 *		Node identities: key pairs, public-key text form, fingerprints,
 *		the secret key file form, and domain-separated detached signatures.
 *
 * A node owns two key pairs: an Ed25519 pair that signs protocol requests
 * and an X25519 pair that envelopes are sealed to.  A node is named on the
 * wire by its Ed25519 public key; the X25519 public key travels with it in
 * the public-key text form "smpc1:<base64url(sign_pk || kx_pk)>".
 *
 * All functions return SMPC_OK or a negative smpc_status.
 */
#ifndef SMPC_IDENTITY_H
#define SMPC_IDENTITY_H

#include <stdint.h>
#include <stddef.h>

#include "status.h"

#define SMPC_SIGN_PK_BYTES 32
#define SMPC_SIGN_SK_BYTES 64
#define SMPC_KX_PK_BYTES 32
#define SMPC_KX_SK_BYTES 32
#define SMPC_SIGNATURE_BYTES 64
#define SMPC_SEED_BYTES 32

/* The complete (secret) identity of this node. */
typedef struct smpc_identity
{
	uint8_t		sign_pk[SMPC_SIGN_PK_BYTES];
	uint8_t		sign_sk[SMPC_SIGN_SK_BYTES];	/* libsodium form: seed || pk */
	uint8_t		kx_pk[SMPC_KX_PK_BYTES];
	uint8_t		kx_sk[SMPC_KX_SK_BYTES];
} smpc_identity;

/* The public half, as other nodes know it. */
typedef struct smpc_public_key
{
	uint8_t		sign_pk[SMPC_SIGN_PK_BYTES];
	uint8_t		kx_pk[SMPC_KX_PK_BYTES];
} smpc_public_key;

/* "smpc1:" prefix of the public-key text form */
#define SMPC_PUBKEY_TEXT_PREFIX "smpc1:"
/* characters of the text form: 6 prefix + 86 base64url chars for 64 bytes */
#define SMPC_PUBKEY_TEXT_CHARS 92
/* buffer size for the text form, including the terminating NUL */
#define SMPC_PUBKEY_TEXT_LEN (SMPC_PUBKEY_TEXT_CHARS + 1)

/* fingerprint "xxxx-xxxx-...-xxxx": 8 groups of 4 hex digits, 7 dashes */
#define SMPC_FINGERPRINT_CHARS 39
/* buffer size for a fingerprint, including the terminating NUL */
#define SMPC_FINGERPRINT_LEN (SMPC_FINGERPRINT_CHARS + 1)

/* secret key file: "SMPCKEY1" | version | sign_sk | kx_sk | checksum */
#define SMPC_KEYFILE_MAGIC "SMPCKEY1"
#define SMPC_KEYFILE_VERSION 1
#define SMPC_KEYFILE_CHECKSUM_BYTES 16
#define SMPC_KEYFILE_LEN (8 + 1 + SMPC_SIGN_SK_BYTES + SMPC_KX_SK_BYTES + \
						  SMPC_KEYFILE_CHECKSUM_BYTES)

/*
 * smpc_identity_generate: create a fresh random identity.
 * Caller guarantees: sodium_init() succeeded; out is writable.
 * Returns SMPC_OK, SMPC_ERR_ARG for NULL, SMPC_ERR_CRYPTO if libsodium fails
 * (out is then wiped).
 */
extern int	smpc_identity_generate(smpc_identity *out);

/*
 * smpc_identity_from_seeds: derive an identity deterministically from a
 * 32-byte Ed25519 seed and a 32-byte X25519 secret scalar.  Intended for
 * tests, fuzzing and key import; production keys come from generate.
 * Returns SMPC_OK, SMPC_ERR_ARG for NULL, SMPC_ERR_CRYPTO on failure (out is
 * then wiped).
 */
extern int	smpc_identity_from_seeds(const uint8_t sign_seed[SMPC_SEED_BYTES],
									 const uint8_t kx_sk[SMPC_KX_SK_BYTES],
									 smpc_identity *out);

/* smpc_identity_wipe: zero every byte of an identity (NULL is ignored). */
extern void smpc_identity_wipe(smpc_identity *id);

/*
 * smpc_identity_public: copy the public half of id into out.
 * Returns SMPC_OK or SMPC_ERR_ARG for NULL.
 */
extern int	smpc_identity_public(const smpc_identity *id, smpc_public_key *out);

/*
 * smpc_pubkey_to_text: render pk as "smpc1:" + base64url (no padding) of
 * sign_pk || kx_pk, NUL-terminated, into out (SMPC_PUBKEY_TEXT_LEN bytes).
 * Returns SMPC_OK or SMPC_ERR_ARG for NULL.
 */
extern int	smpc_pubkey_to_text(const smpc_public_key *pk,
								char out[SMPC_PUBKEY_TEXT_LEN]);

/*
 * smpc_pubkey_from_text: strictly parse the text form.  text need not be
 * NUL-terminated; exactly len bytes are examined and all must belong to the
 * key (no whitespace, no trailing data, canonical base64url without
 * padding).
 * Returns SMPC_OK; SMPC_ERR_SYNTAX for a wrong prefix, wrong length or
 * invalid base64; SMPC_ERR_RANGE if sign_pk is not a valid Ed25519 point
 * (non-canonical, small order or outside the prime-order subgroup);
 * SMPC_ERR_ARG for NULL.  out is zeroed on failure.
 */
extern int	smpc_pubkey_from_text(const char *text, size_t len,
								  smpc_public_key *out);

/*
 * smpc_fingerprint: a short human-comparable digest of pk: BLAKE2b-128 over
 * "smpc-fingerprint-v1" || sign_pk || kx_pk, written as 8 groups of 4
 * lower-case hex digits joined by '-', NUL-terminated.
 * Returns SMPC_OK, SMPC_ERR_ARG for NULL, SMPC_ERR_CRYPTO on hash failure.
 */
extern int	smpc_fingerprint(const smpc_public_key *pk,
							 char out[SMPC_FINGERPRINT_LEN]);

/*
 * smpc_identity_to_keyfile: serialize the secret identity into exactly
 * SMPC_KEYFILE_LEN bytes: "SMPCKEY1", version byte 1, sign_sk (64), kx_sk
 * (32), then BLAKE2b-128 of all preceding bytes.  The output is secret.
 * Returns SMPC_OK, SMPC_ERR_ARG for NULL, SMPC_ERR_CRYPTO on hash failure.
 */
extern int	smpc_identity_to_keyfile(const smpc_identity *id,
									 uint8_t out[SMPC_KEYFILE_LEN]);

/*
 * smpc_identity_from_keyfile: parse and validate a key file of len bytes.
 * Returns SMPC_OK, or:
 *	SMPC_ERR_TRUNCATED	len < SMPC_KEYFILE_LEN
 *	SMPC_ERR_TRAILING	len > SMPC_KEYFILE_LEN
 *	SMPC_ERR_MALFORMED	wrong magic
 *	SMPC_ERR_VERSION	unknown version byte
 *	SMPC_ERR_AUTH		checksum mismatch (corruption)
 *	SMPC_ERR_INCONSISTENT	the public half stored in sign_sk does not match
 *						the one rederived from its seed
 *	SMPC_ERR_CRYPTO		libsodium failure (e.g. degenerate X25519 key)
 *	SMPC_ERR_ARG		NULL pointer
 * out is wiped on failure.
 */
extern int	smpc_identity_from_keyfile(const uint8_t *in, size_t len,
									   smpc_identity *out);

/*
 * smpc_sign: detached Ed25519 signature with domain separation.
 * The signed value is the 64-byte digest
 *		BLAKE2b-512( context || 0x00 || msg )
 * (context is a NUL-free string naming the purpose, e.g. "smpc-msg-v1"; the
 * 0x00 separator makes (context, msg) pairs unambiguous).  Prehashing lets
 * arbitrarily large messages be signed without copying them.
 * Caller guarantees: msg may be NULL only when len == 0.
 * Returns SMPC_OK, SMPC_ERR_ARG for NULL/empty context, SMPC_ERR_CRYPTO.
 */
extern int	smpc_sign(const smpc_identity *id, const char *context,
					  const uint8_t *msg, size_t len,
					  uint8_t sig[SMPC_SIGNATURE_BYTES]);

/*
 * smpc_verify: check a signature made by smpc_sign with the same context.
 * Returns SMPC_OK, SMPC_ERR_AUTH if the signature does not verify (including
 * an invalid public key), SMPC_ERR_ARG for NULL/empty context.
 */
extern int	smpc_verify(const uint8_t sign_pk[SMPC_SIGN_PK_BYTES],
						const char *context,
						const uint8_t *msg, size_t len,
						const uint8_t sig[SMPC_SIGNATURE_BYTES]);

#endif
