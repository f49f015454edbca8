/*
 * codec.h
 *		Versioned, strictly bounds-checked binary message codec.
 *
 * smpc.exchange(bytea) hands untrusted bytes straight to these decoders, so
 * every decoder checks each length against the remaining input before use,
 * computes sizes without overflow, never reads past the input, and rejects
 * trailing bytes.  Decoders never allocate: variable-length results are
 * pointers into the input, which must outlive them.
 *
 * All integers are little-endian.  Wire primitives:
 *		u8/u16/u32/u64/i64	fixed width (i64 is two's complement)
 *		bytes[n]			n raw bytes, n fixed by context
 *		blob				u32 length || bytes
 *		str					u32 length || UTF-8 bytes (no NUL, well-formed)
 *		fe					16 bytes, canonical field element (< p)
 *
 * Frame header (8 bytes): "SMPC" | u16 version | u8 type | u8 flags (0).
 *
 * Signed message:
 *		header | session_id[16] | u8 round | i64 timestamp_ms
 *		| sender_pk[32] | recipient_pk[32] | blob payload | signature[64]
 * where the signature is smpc_sign(context "smpc-msg-v1") over every byte
 * before it, made with the key sender_pk.
 */
#ifndef SMPC_CODEC_H
#define SMPC_CODEC_H

#include <stdint.h>
#include <stddef.h>

#include "status.h"
#include "field.h"
#include "identity.h"
#include "envelope.h"

#define SMPC_PROTOCOL_VERSION 2
#define SMPC_FRAME_MAGIC "SMPC"
#define SMPC_FRAME_HEADER_BYTES 8
#define SMPC_MSG_SIGN_CONTEXT "smpc-msg-v1"
/* default upper bound on one encoded message (64 MiB) */
#define SMPC_MAX_MESSAGE_DEFAULT ((size_t) 64 * 1024 * 1024)
/* size of a signed message with an empty payload */
#define SMPC_SIGNED_MSG_MIN_BYTES (SMPC_FRAME_HEADER_BYTES + SMPC_SESSION_ID_BYTES \
								   + 1 + 8 + 2 * SMPC_SIGN_PK_BYTES + 4 \
								   + SMPC_SIGNATURE_BYTES)

typedef enum smpc_msg_type
{
	SMPC_MSG_PREPARE = 1,
	SMPC_MSG_SHARE = 2,
	SMPC_MSG_COMBINE = 3,
	SMPC_MSG_REVEAL = 4,
	SMPC_MSG_FINISH = 5,
	SMPC_MSG_INTERSECT = 6,		/* starts a private set intersection session */
	SMPC_MSG_HOP = 7,			/* one exponentiation hop of an intersection */
	SMPC_MSG_RESPONSE = 16,
	SMPC_MSG_ERROR = 17,
	SMPC_MSG_PING = 32,
	SMPC_MSG_DESCRIBE = 33		/* published datasets and their columns */
} smpc_msg_type;

/* Lower-case name of a message type ("prepare", ...), "unknown" otherwise. */
extern const char *smpc_msg_type_name(uint8_t type);
/* 1 if type is a member of smpc_msg_type, else 0. */
extern int	smpc_msg_type_valid(uint8_t type);

/* ---------------------------------------------------------------- writer */

/*
 * A growable output buffer with a sticky status: after the first failure
 * every put is a no-op returning that status, so callers may check once at
 * smpc_writer_finish.  Memory comes from smpc_malloc; when the buffer grows
 * or is discarded the old copy is zeroed first, so payloads holding secrets
 * do not linger in freed memory.
 */
typedef struct smpc_writer
{
	uint8_t    *data;
	size_t		len;
	size_t		cap;
	size_t		max_len;		/* total output limit */
	int			status;
} smpc_writer;

/* Start an empty writer whose output may not exceed max_len bytes. */
extern void smpc_writer_init(smpc_writer *w, size_t max_len);

/*
 * Append one item.  Each returns the writer's (sticky) status: SMPC_OK,
 * SMPC_ERR_NOMEM, SMPC_ERR_TOO_LARGE (output would exceed max_len, or a
 * blob/str longer than UINT32_MAX), or SMPC_ERR_ARG (NULL data with n > 0;
 * str with an embedded NUL or ill-formed UTF-8).
 */
extern int	smpc_writer_put_u8(smpc_writer *w, uint8_t v);
extern int	smpc_writer_put_u16(smpc_writer *w, uint16_t v);
extern int	smpc_writer_put_u32(smpc_writer *w, uint32_t v);
extern int	smpc_writer_put_u64(smpc_writer *w, uint64_t v);
extern int	smpc_writer_put_i64(smpc_writer *w, int64_t v);
extern int	smpc_writer_put_bytes(smpc_writer *w, const void *p, size_t n);
extern int	smpc_writer_put_blob(smpc_writer *w, const void *p, size_t n);
extern int	smpc_writer_put_str(smpc_writer *w, const char *s, size_t n);
extern int	smpc_writer_put_fe(smpc_writer *w, smpc_fe v);
/* Frame header with the current version; SMPC_ERR_ARG for an unknown type. */
extern int	smpc_writer_put_header(smpc_writer *w, uint8_t type);

/*
 * smpc_writer_finish: hand the output to the caller.  On SMPC_OK *out is a
 * non-NULL smpc_malloc'd buffer of *outlen bytes (the caller frees it with
 * smpc_free).  On failure the buffer is zeroed and freed, *out is NULL,
 * *outlen 0, and the sticky status is returned.  The writer is left empty
 * either way.
 */
extern int	smpc_writer_finish(smpc_writer *w, uint8_t **out, size_t *outlen);

/* Set a writer's sticky status to status unless it already failed; returns it. */
extern int	smpc_writer_fail(smpc_writer *w, int status);

/* Zero and free the buffer of an unfinished writer (safe to call twice). */
extern void smpc_writer_discard(smpc_writer *w);

/* ---------------------------------------------------------------- reader */

/*
 * A cursor over untrusted input with a sticky status.  After the first
 * failure nothing further is consumed and every get returns that status.
 * On failure a get zeroes its outputs (pointers become NULL).
 */
typedef struct smpc_reader
{
	const uint8_t *data;
	size_t		len;
	size_t		pos;
	int			status;
} smpc_reader;

/* Start reading data[0..len); data may be NULL only if len == 0. */
extern void smpc_reader_init(smpc_reader *r, const uint8_t *data, size_t len);

/* Set a reader's sticky status to status unless it already failed; returns it. */
extern int	smpc_reader_fail(smpc_reader *r, int status);
/* Bytes not yet consumed. */
extern size_t smpc_reader_remaining(const smpc_reader *r);

/*
 * Gets return SMPC_OK or the sticky failure status: SMPC_ERR_TRUNCATED when
 * the input ends early, plus as noted below.
 */
extern int	smpc_reader_get_u8(smpc_reader *r, uint8_t *out);
extern int	smpc_reader_get_u16(smpc_reader *r, uint16_t *out);
extern int	smpc_reader_get_u32(smpc_reader *r, uint32_t *out);
extern int	smpc_reader_get_u64(smpc_reader *r, uint64_t *out);
extern int	smpc_reader_get_i64(smpc_reader *r, int64_t *out);
/* n raw bytes; *out points into the input. */
extern int	smpc_reader_get_bytes(smpc_reader *r, size_t n, const uint8_t **out);
/* n raw bytes copied into dst (dst zeroed on failure). */
extern int	smpc_reader_copy_bytes(smpc_reader *r, size_t n, void *dst);

/*
 * Blob: u32 length then that many bytes; *out points into the input.
 * SMPC_ERR_TOO_LARGE if the declared length exceeds max_len (checked first),
 * SMPC_ERR_TRUNCATED if it exceeds the remaining input.
 */
extern int	smpc_reader_get_blob(smpc_reader *r, size_t max_len,
								 const uint8_t **out, size_t *out_len);

/*
 * String: as blob, then SMPC_ERR_MALFORMED for an embedded NUL or ill-formed
 * UTF-8.  *out points into the input and is NOT NUL-terminated.
 */
extern int	smpc_reader_get_str(smpc_reader *r, size_t max_len,
								const char **out, size_t *out_len);

/* Field element: 16 bytes; SMPC_ERR_RANGE if the value is >= p. */
extern int	smpc_reader_get_fe(smpc_reader *r, smpc_fe *out);

/*
 * Frame header.  SMPC_ERR_TRUNCATED if fewer than 8 bytes remain, else
 * SMPC_ERR_MALFORMED for bad magic, SMPC_ERR_VERSION for a version other
 * than SMPC_PROTOCOL_VERSION, SMPC_ERR_MALFORMED for an unknown type or
 * non-zero flags.  version/type may be NULL.
 */
extern int	smpc_reader_get_header(smpc_reader *r, uint16_t *version,
								   uint8_t *type);

/* SMPC_ERR_TRAILING if unread bytes remain, else the sticky status. */
extern int	smpc_reader_finish(const smpc_reader *r);

/* -------------------------------------------------------- signed messages */

typedef struct smpc_signed_msg
{
	uint16_t	version;
	uint8_t		type;
	uint8_t		session_id[SMPC_SESSION_ID_BYTES];
	uint8_t		round;
	int64_t		timestamp_ms;
	uint8_t		sender_pk[SMPC_SIGN_PK_BYTES];
	uint8_t		recipient_pk[SMPC_SIGN_PK_BYTES];
	const uint8_t *payload;
	size_t		payload_len;
	const uint8_t *signed_part; /* decode only: bytes covered by signature */
	size_t		signed_len;
	uint8_t		signature[SMPC_SIGNATURE_BYTES];
} smpc_signed_msg;

/*
 * smpc_msg_encode_signed: encode and sign a message.
 * Uses type, session_id, round, timestamp_ms, sender_pk, recipient_pk and
 * payload/payload_len from fields; version, signed_part, signed_len and
 * signature are ignored (the current SMPC_PROTOCOL_VERSION is written).
 * Caller guarantees: fields->sender_pk equals signer->sign_pk (checked).
 * On SMPC_OK *out is an smpc_malloc'd buffer of *outlen bytes (free with
 * smpc_free).  Returns SMPC_ERR_ARG (NULLs, unknown type, sender_pk not the
 * signer's), SMPC_ERR_TOO_LARGE (over SMPC_MAX_MESSAGE_DEFAULT),
 * SMPC_ERR_NOMEM, SMPC_ERR_CRYPTO; then *out is NULL and *outlen 0.
 */
extern int	smpc_msg_encode_signed(const smpc_signed_msg *fields,
								   const smpc_identity *signer,
								   uint8_t **out, size_t *outlen);

/*
 * smpc_msg_decode_signed: parse (not verify) a signed message.
 * payload and signed_part point into in.  Returns SMPC_ERR_TOO_LARGE if
 * len > max_len (before looking at the bytes) or the payload length exceeds
 * max_len; SMPC_ERR_TRUNCATED, SMPC_ERR_TRAILING, SMPC_ERR_MALFORMED,
 * SMPC_ERR_VERSION as for the reader; SMPC_ERR_ARG for NULLs (in may be
 * NULL when len == 0).  *out is zeroed on failure.
 */
extern int	smpc_msg_decode_signed(const uint8_t *in, size_t len,
								   size_t max_len, smpc_signed_msg *out);

/*
 * smpc_msg_verify: check a decoded message's signature against sign_pk.
 * Returns SMPC_OK only if m->sender_pk equals sign_pk and the signature over
 * m->signed_part verifies; SMPC_ERR_AUTH otherwise; SMPC_ERR_ARG for NULLs
 * or a message that did not come from smpc_msg_decode_signed.
 */
extern int	smpc_msg_verify(const smpc_signed_msg *m,
							const uint8_t sign_pk[SMPC_SIGN_PK_BYTES]);

/* -------------------------------------------------------- payload codecs */

/*
 * Envelope list:  u16 count || count * ( recipient_pk[32] || blob envelope )
 * Each envelope must be at least SMPC_ENVELOPE_OVERHEAD bytes long.
 * Recipients are not checked for duplicates here (protocol layer's job).
 */
typedef struct smpc_envelope_item
{
	uint8_t		recipient_pk[SMPC_SIGN_PK_BYTES];
	const uint8_t *env;
	size_t		env_len;
} smpc_envelope_item;

/* Writer form; SMPC_ERR_TOO_LARGE if count > 65535, SMPC_ERR_ARG for an
 * envelope shorter than SMPC_ENVELOPE_OVERHEAD or NULL items with count. */
extern int	smpc_writer_put_envelope_list(smpc_writer *w,
										  const smpc_envelope_item *items,
										  size_t count);

/*
 * Reader form: fills items[0..*count).  SMPC_ERR_TOO_LARGE if count >
 * max_items; SMPC_ERR_TRUNCATED if the count cannot fit in the remaining
 * input or an item is cut short; SMPC_ERR_MALFORMED for an envelope shorter
 * than SMPC_ENVELOPE_OVERHEAD.  *count is 0 on failure.
 */
extern int	smpc_reader_get_envelope_list(smpc_reader *r,
										  smpc_envelope_item *items,
										  size_t max_items, size_t *count);

/* Whole-buffer forms (no frame): encode allocates like writer_finish;
 * decode also rejects trailing bytes with SMPC_ERR_TRAILING. */
extern int	smpc_envelope_list_encode(const smpc_envelope_item *items,
									  size_t count,
									  uint8_t **out, size_t *outlen);
extern int	smpc_envelope_list_decode(const uint8_t *in, size_t len,
									  smpc_envelope_item *items,
									  size_t max_items, size_t *count);

/*
 * Field-element vector:  u32 count || count * fe
 * Decoding copies into the caller's array out[0..max_count); SMPC_ERR_RANGE
 * for an element >= p; other statuses as for the envelope list.
 */
extern int	smpc_writer_put_fe_vector(smpc_writer *w, const smpc_fe *v,
									  size_t count);
extern int	smpc_reader_get_fe_vector(smpc_reader *r, smpc_fe *out,
									  size_t max_count, size_t *count);
extern int	smpc_fe_vector_encode(const smpc_fe *v, size_t count,
								  uint8_t **out, size_t *outlen);
extern int	smpc_fe_vector_decode(const uint8_t *in, size_t len,
								  smpc_fe *out, size_t max_count,
								  size_t *count);

/*
 * String list:  u16 count || count * str
 * Decoded strings point into the input and are NOT NUL-terminated; each is
 * at most max_str_len bytes (SMPC_ERR_TOO_LARGE otherwise).
 */
typedef struct smpc_str
{
	const char *ptr;
	size_t		len;
} smpc_str;

extern int	smpc_writer_put_str_list(smpc_writer *w, const smpc_str *items,
									 size_t count);
extern int	smpc_reader_get_str_list(smpc_reader *r, smpc_str *items,
									 size_t max_items, size_t max_str_len,
									 size_t *count);
extern int	smpc_str_list_encode(const smpc_str *items, size_t count,
								 uint8_t **out, size_t *outlen);
extern int	smpc_str_list_decode(const uint8_t *in, size_t len,
								 smpc_str *items, size_t max_items,
								 size_t max_str_len, size_t *count);

#endif
