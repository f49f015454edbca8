/*
 * envelope.h
 *		Authenticated, encrypted per-recipient envelopes.
 *
 * A member seals each Shamir share to exactly one recipient; the querying
 * node relays the envelopes but cannot read or undetectably alter them.
 * Wire form: nonce (24 bytes) || XChaCha20-Poly1305-IETF ciphertext+tag.
 * The associated data binds every envelope to its session, protocol round,
 * sender and recipient, so an envelope replayed into another session or
 * round, or redirected to another recipient, fails to open.
 *
 * Buffers are caller-provided with explicit capacities; nothing here
 * allocates.
 */
#ifndef SMPC_ENVELOPE_H
#define SMPC_ENVELOPE_H

#include <stdint.h>
#include <stddef.h>

#include "status.h"
#include "identity.h"

#define SMPC_SESSION_ID_BYTES 16
#define SMPC_ENVELOPE_NONCE_BYTES 24
#define SMPC_ENVELOPE_TAG_BYTES 16
#define SMPC_ENVELOPE_OVERHEAD (SMPC_ENVELOPE_NONCE_BYTES + SMPC_ENVELOPE_TAG_BYTES)

/* Everything an envelope is bound to besides its keys. */
typedef struct smpc_envelope_ad
{
	uint8_t		session_id[SMPC_SESSION_ID_BYTES];
	uint8_t		round;
	uint8_t		sender_pk[SMPC_SIGN_PK_BYTES];	/* sender's Ed25519 key */
	uint8_t		recipient_pk[SMPC_SIGN_PK_BYTES];	/* recipient's Ed25519 key */
} smpc_envelope_ad;

/*
 * smpc_envelope_seal: encrypt plaintext from sender to the recipient whose
 * X25519 public key is recipient_kx_pk, bound to ad.
 * Caller guarantees: ad->sender_pk is sender->sign_pk (checked);
 * ad->recipient_pk names the holder of recipient_kx_pk; out does not overlap
 * plaintext; plaintext may be NULL only when len == 0.
 * Writes len + SMPC_ENVELOPE_OVERHEAD bytes to out and stores that count in
 * *out_len.
 * Returns SMPC_OK; SMPC_ERR_ARG for NULL pointers, an ad whose sender_pk is
 * not the sender's, or out_cap too small; SMPC_ERR_TOO_LARGE if len exceeds
 * what the AEAD can encrypt; SMPC_ERR_RANGE if recipient_kx_pk is a
 * degenerate (low-order) X25519 key; SMPC_ERR_CRYPTO on libsodium failure.
 * On failure out is zeroed up to out_cap and *out_len is 0.
 */
extern int	smpc_envelope_seal(const smpc_identity *sender,
							   const uint8_t recipient_kx_pk[SMPC_KX_PK_BYTES],
							   const smpc_envelope_ad *ad,
							   const uint8_t *plaintext, size_t len,
							   uint8_t *out, size_t out_cap, size_t *out_len);

/*
 * smpc_envelope_open: authenticate and decrypt an envelope sent to
 * recipient by the holder of sender_kx_pk, bound to ad.
 * Caller guarantees: out does not overlap env; out_cap is at least
 * env_len - SMPC_ENVELOPE_OVERHEAD.
 * Writes the plaintext to out and its length to *out_len.
 * Returns SMPC_OK; SMPC_ERR_TRUNCATED if env_len < SMPC_ENVELOPE_OVERHEAD;
 * SMPC_ERR_AUTH if ad->recipient_pk is not recipient->sign_pk, if
 * sender_kx_pk is degenerate, or if the tag does not verify (any change to
 * nonce, ciphertext, keys or ad); SMPC_ERR_ARG for NULL pointers or out_cap
 * too small.  On failure no plaintext is released: out is zeroed up to
 * out_cap and *out_len is 0.
 */
extern int	smpc_envelope_open(const smpc_identity *recipient,
							   const uint8_t sender_kx_pk[SMPC_KX_PK_BYTES],
							   const smpc_envelope_ad *ad,
							   const uint8_t *env, size_t env_len,
							   uint8_t *out, size_t out_cap, size_t *out_len);

#endif
