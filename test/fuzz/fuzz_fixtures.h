/*
 * fuzz_fixtures.h
 *		Deterministic identities and envelope metadata shared by the codec
 *		fuzz target and its seed-corpus generator, so corpus files sealed or
 *		signed by make_corpus are meaningful to fuzz_codec.
 *
 * These keys come from fixed seeds and are public; never use them outside
 * tests.
 */
#ifndef SMPC_FUZZ_FIXTURES_H
#define SMPC_FUZZ_FIXTURES_H

#include <string.h>

#include "identity.h"
#include "envelope.h"
#include "codec.h"

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
	FUZZ_NSELECTORS = 14
};

typedef struct fuzz_fixtures
{
	smpc_identity signer;		/* signs messages */
	smpc_identity sender;		/* seals envelopes */
	smpc_identity recipient;	/* opens envelopes */
	smpc_envelope_ad ad;		/* sender -> recipient, fixed session */
} fuzz_fixtures;

/* Derive one identity from two fill bytes.  Returns SMPC_OK or a status. */
static int
fuzz_identity(uint8_t seed_byte, uint8_t kx_byte, smpc_identity *out)
{
	uint8_t		seed[SMPC_SEED_BYTES];
	uint8_t		kx[SMPC_KX_SK_BYTES];

	memset(seed, seed_byte, sizeof(seed));
	memset(kx, kx_byte, sizeof(kx));
	return smpc_identity_from_seeds(seed, kx, out);
}

/* Fill fx deterministically.  Caller has run sodium_init(). */
static int
fuzz_fixtures_init(fuzz_fixtures *fx)
{
	int			rc;

	memset(fx, 0, sizeof(*fx));
	if ((rc = fuzz_identity(0x01, 0x11, &fx->signer)) != SMPC_OK ||
		(rc = fuzz_identity(0x02, 0x22, &fx->sender)) != SMPC_OK ||
		(rc = fuzz_identity(0x03, 0x33, &fx->recipient)) != SMPC_OK)
		return rc;
	memset(fx->ad.session_id, 0x5A, sizeof(fx->ad.session_id));
	fx->ad.round = 1;
	memcpy(fx->ad.sender_pk, fx->sender.sign_pk, SMPC_SIGN_PK_BYTES);
	memcpy(fx->ad.recipient_pk, fx->recipient.sign_pk, SMPC_SIGN_PK_BYTES);
	return SMPC_OK;
}

#endif
