/*
 * codec.c
 *		Binary message codec: writer/reader primitives, the frame header,
 *		signed messages and payload codecs (see codec.h for the formats).
 *
 * Reader discipline: every read goes through reader_take(), which is the
 * only place that advances the cursor and compares a length against the
 * remaining input ("n > len - pos", which cannot overflow because pos <= len
 * is an invariant).  Element counts are checked against the remaining input
 * by division before any loop, so a forged count cannot make us iterate far
 * beyond what the input could hold.
 */
#include <string.h>
#include <sodium.h>

#include "codec.h"

#define INITIAL_WRITER_CAP 64
#define ENVELOPE_ITEM_MIN_BYTES (SMPC_SIGN_PK_BYTES + 4)
#define STR_ITEM_MIN_BYTES 4

/* stands in for a NULL input pointer (which only comes with length 0) */
static const uint8_t empty_input[1];

const char *
smpc_msg_type_name(uint8_t type)
{
	switch (type)
	{
		case SMPC_MSG_PREPARE:
			return "prepare";
		case SMPC_MSG_SHARE:
			return "share";
		case SMPC_MSG_COMBINE:
			return "combine";
		case SMPC_MSG_REVEAL:
			return "reveal";
		case SMPC_MSG_FINISH:
			return "finish";
		case SMPC_MSG_INTERSECT:
			return "intersect";
		case SMPC_MSG_HOP:
			return "hop";
		case SMPC_MSG_RESPONSE:
			return "response";
		case SMPC_MSG_ERROR:
			return "error";
		case SMPC_MSG_PING:
			return "ping";
		case SMPC_MSG_DESCRIBE:
			return "describe";
	}
	return "unknown";
}

int
smpc_msg_type_valid(uint8_t type)
{
	switch (type)
	{
		case SMPC_MSG_PREPARE:
		case SMPC_MSG_SHARE:
		case SMPC_MSG_COMBINE:
		case SMPC_MSG_REVEAL:
		case SMPC_MSG_FINISH:
		case SMPC_MSG_INTERSECT:
		case SMPC_MSG_HOP:
		case SMPC_MSG_RESPONSE:
		case SMPC_MSG_ERROR:
		case SMPC_MSG_PING:
		case SMPC_MSG_DESCRIBE:
			return 1;
	}
	return 0;
}

/*
 * Well-formed UTF-8 without NUL: shortest forms only, no surrogates, nothing
 * above U+10FFFF.  Returns 1 if valid.
 */
static int
utf8_valid(const uint8_t *s, size_t n)
{
	size_t		i = 0;

	while (i < n)
	{
		uint8_t		c = s[i];
		size_t		need;
		uint32_t	cp;
		uint32_t	min;

		if (c == 0)
			return 0;
		if (c < 0x80)
		{
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
		{
			need = 1;
			cp = c & 0x1F;
			min = 0x80;
		}
		else if ((c & 0xF0) == 0xE0)
		{
			need = 2;
			cp = c & 0x0F;
			min = 0x800;
		}
		else if (c >= 0xF0 && c <= 0xF4)
		{
			need = 3;
			cp = c & 0x07;
			min = 0x10000;
		}
		else
			return 0;
		if (need > n - i - 1)
			return 0;
		for (size_t k = 1; k <= need; k++)
		{
			uint8_t		b = s[i + k];

			if ((b & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (b & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += need + 1;
	}
	return 1;
}

/* ---------------------------------------------------------------- writer */

void
smpc_writer_init(smpc_writer *w, size_t max_len)
{
	w->data = NULL;
	w->len = 0;
	w->cap = 0;
	w->max_len = max_len;
	w->status = SMPC_OK;
}

int
smpc_writer_fail(smpc_writer *w, int status)
{
	if (w->status == SMPC_OK)
		w->status = status;
	return w->status;
}

/*
 * Reserve n > 0 bytes at the end of the output and return where they start,
 * or NULL (with the sticky status set) on failure.
 */
static uint8_t *
writer_reserve(smpc_writer *w, size_t n)
{
	uint8_t    *p;

	if (w->status != SMPC_OK)
		return NULL;
	if (n > w->max_len - w->len)
	{
		smpc_writer_fail(w, SMPC_ERR_TOO_LARGE);
		return NULL;
	}
	if (n > w->cap - w->len)
	{
		size_t		need = w->len + n;	/* <= max_len, no overflow */
		size_t		newcap = w->cap > 0 ? w->cap : INITIAL_WRITER_CAP;
		uint8_t    *nd;

		while (newcap < need)
		{
			if (newcap > w->max_len / 2)
			{
				newcap = w->max_len;
				break;
			}
			newcap *= 2;
		}
		nd = smpc_malloc(newcap);
		if (nd == NULL)
		{
			smpc_writer_fail(w, SMPC_ERR_NOMEM);
			return NULL;
		}
		if (w->data != NULL)
		{
			memcpy(nd, w->data, w->len);
			sodium_memzero(w->data, w->cap);
			smpc_free(w->data);
		}
		w->data = nd;
		w->cap = newcap;
	}
	p = w->data + w->len;
	w->len += n;
	return p;
}

static void
put_le(smpc_writer *w, uint64_t v, size_t n)
{
	uint8_t    *p = writer_reserve(w, n);

	if (p == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

int
smpc_writer_put_u8(smpc_writer *w, uint8_t v)
{
	put_le(w, v, 1);
	return w->status;
}

int
smpc_writer_put_u16(smpc_writer *w, uint16_t v)
{
	put_le(w, v, 2);
	return w->status;
}

int
smpc_writer_put_u32(smpc_writer *w, uint32_t v)
{
	put_le(w, v, 4);
	return w->status;
}

int
smpc_writer_put_u64(smpc_writer *w, uint64_t v)
{
	put_le(w, v, 8);
	return w->status;
}

int
smpc_writer_put_i64(smpc_writer *w, int64_t v)
{
	put_le(w, (uint64_t) v, 8);
	return w->status;
}

int
smpc_writer_put_bytes(smpc_writer *w, const void *p, size_t n)
{
	uint8_t    *dst;

	if (w->status != SMPC_OK || n == 0)
		return w->status;
	if (p == NULL)
		return smpc_writer_fail(w, SMPC_ERR_ARG);
	dst = writer_reserve(w, n);
	if (dst != NULL)
		memcpy(dst, p, n);
	return w->status;
}

int
smpc_writer_put_blob(smpc_writer *w, const void *p, size_t n)
{
	if (w->status != SMPC_OK)
		return w->status;
	if (p == NULL && n > 0)
		return smpc_writer_fail(w, SMPC_ERR_ARG);
	if (n > UINT32_MAX)
		return smpc_writer_fail(w, SMPC_ERR_TOO_LARGE);
	smpc_writer_put_u32(w, (uint32_t) n);
	return smpc_writer_put_bytes(w, p, n);
}

int
smpc_writer_put_str(smpc_writer *w, const char *s, size_t n)
{
	if (w->status != SMPC_OK)
		return w->status;
	if (s == NULL && n > 0)
		return smpc_writer_fail(w, SMPC_ERR_ARG);
	if (n > UINT32_MAX)
		return smpc_writer_fail(w, SMPC_ERR_TOO_LARGE);
	if (n > 0 && !utf8_valid((const uint8_t *) s, n))
		return smpc_writer_fail(w, SMPC_ERR_ARG);
	return smpc_writer_put_blob(w, s, n);
}

int
smpc_writer_put_fe(smpc_writer *w, smpc_fe v)
{
	uint8_t		buf[SMPC_FE_BYTES];

	if (w->status != SMPC_OK)
		return w->status;
	smpc_fe_to_bytes(v, buf);
	smpc_writer_put_bytes(w, buf, sizeof(buf));
	sodium_memzero(buf, sizeof(buf));
	return w->status;
}

int
smpc_writer_put_header(smpc_writer *w, uint8_t type)
{
	if (w->status != SMPC_OK)
		return w->status;
	if (!smpc_msg_type_valid(type))
		return smpc_writer_fail(w, SMPC_ERR_ARG);
	smpc_writer_put_bytes(w, SMPC_FRAME_MAGIC, 4);
	smpc_writer_put_u16(w, SMPC_PROTOCOL_VERSION);
	smpc_writer_put_u8(w, type);
	return smpc_writer_put_u8(w, 0);	/* flags */
}

int
smpc_writer_finish(smpc_writer *w, uint8_t **out, size_t *outlen)
{
	int			status = w->status;

	if (out != NULL)
		*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (status == SMPC_OK && (out == NULL || outlen == NULL))
		status = SMPC_ERR_ARG;
	if (status == SMPC_OK && w->data == NULL)
	{
		/* empty output: still hand back a valid, freeable pointer */
		w->data = smpc_malloc(1);
		w->cap = 1;
		if (w->data == NULL)
			status = SMPC_ERR_NOMEM;
	}
	if (status != SMPC_OK)
	{
		smpc_writer_discard(w);
		return status;
	}
	*out = w->data;
	*outlen = w->len;
	smpc_writer_init(w, w->max_len);
	return SMPC_OK;
}

void
smpc_writer_discard(smpc_writer *w)
{
	if (w->data != NULL)
	{
		sodium_memzero(w->data, w->cap);
		smpc_free(w->data);
	}
	smpc_writer_init(w, w->max_len);
}

/* ---------------------------------------------------------------- reader */

void
smpc_reader_init(smpc_reader *r, const uint8_t *data, size_t len)
{
	/* never keep a NULL base: zero-length results still get a valid address */
	r->data = (data != NULL) ? data : empty_input;
	r->len = (data != NULL) ? len : 0;
	r->pos = 0;
	r->status = (data == NULL && len > 0) ? SMPC_ERR_ARG : SMPC_OK;
}

size_t
smpc_reader_remaining(const smpc_reader *r)
{
	return r->len - r->pos;
}

int
smpc_reader_fail(smpc_reader *r, int status)
{
	if (r->status == SMPC_OK)
		r->status = status;
	return r->status;
}

/*
 * The single bounds check: consume n bytes and return where they start, or
 * NULL with SMPC_ERR_TRUNCATED (or the earlier sticky status).
 */
static const uint8_t *
reader_take(smpc_reader *r, size_t n)
{
	const uint8_t *p;

	if (r->status != SMPC_OK)
		return NULL;
	if (n > r->len - r->pos)
	{
		smpc_reader_fail(r, SMPC_ERR_TRUNCATED);
		return NULL;
	}
	p = r->data + r->pos;
	r->pos += n;
	return p;
}

static int
get_le(smpc_reader *r, size_t n, uint64_t *out)
{
	const uint8_t *p = reader_take(r, n);
	uint64_t	v = 0;

	if (p != NULL)
		for (size_t i = 0; i < n; i++)
			v |= (uint64_t) p[i] << (8 * i);
	*out = v;
	return r->status;
}

int
smpc_reader_get_u8(smpc_reader *r, uint8_t *out)
{
	uint64_t	v;
	int			rc = get_le(r, 1, &v);

	*out = (uint8_t) v;
	return rc;
}

int
smpc_reader_get_u16(smpc_reader *r, uint16_t *out)
{
	uint64_t	v;
	int			rc = get_le(r, 2, &v);

	*out = (uint16_t) v;
	return rc;
}

int
smpc_reader_get_u32(smpc_reader *r, uint32_t *out)
{
	uint64_t	v;
	int			rc = get_le(r, 4, &v);

	*out = (uint32_t) v;
	return rc;
}

int
smpc_reader_get_u64(smpc_reader *r, uint64_t *out)
{
	return get_le(r, 8, out);
}

int
smpc_reader_get_i64(smpc_reader *r, int64_t *out)
{
	uint64_t	v;
	int			rc = get_le(r, 8, &v);

	/* two's complement reinterpretation, without implementation-defined casts */
	if (v <= (uint64_t) INT64_MAX)
		*out = (int64_t) v;
	else
		*out = -(int64_t) (~v) - 1;
	return rc;
}

int
smpc_reader_get_bytes(smpc_reader *r, size_t n, const uint8_t **out)
{
	*out = reader_take(r, n);
	return r->status;
}

int
smpc_reader_copy_bytes(smpc_reader *r, size_t n, void *dst)
{
	const uint8_t *p = reader_take(r, n);

	if (n == 0)
		return r->status;
	if (p != NULL)
		memcpy(dst, p, n);
	else
		memset(dst, 0, n);
	return r->status;
}

int
smpc_reader_get_blob(smpc_reader *r, size_t max_len,
					 const uint8_t **out, size_t *out_len)
{
	uint32_t	n;

	*out = NULL;
	*out_len = 0;
	if (smpc_reader_get_u32(r, &n) != SMPC_OK)
		return r->status;
	if (n > max_len)
		return smpc_reader_fail(r, SMPC_ERR_TOO_LARGE);
	*out = reader_take(r, n);
	if (*out != NULL)
		*out_len = n;
	return r->status;
}

int
smpc_reader_get_str(smpc_reader *r, size_t max_len,
					const char **out, size_t *out_len)
{
	const uint8_t *p;
	size_t		n;

	*out = NULL;
	*out_len = 0;
	if (smpc_reader_get_blob(r, max_len, &p, &n) != SMPC_OK)
		return r->status;
	if (!utf8_valid(p, n))
		return smpc_reader_fail(r, SMPC_ERR_MALFORMED);
	*out = (const char *) p;
	*out_len = n;
	return SMPC_OK;
}

int
smpc_reader_get_fe(smpc_reader *r, smpc_fe *out)
{
	const uint8_t *p = reader_take(r, SMPC_FE_BYTES);

	*out = 0;
	if (p == NULL)
		return r->status;
	if (smpc_fe_from_bytes(p, out) != SMPC_OK)
	{
		*out = 0;
		return smpc_reader_fail(r, SMPC_ERR_RANGE);
	}
	return SMPC_OK;
}

int
smpc_reader_get_header(smpc_reader *r, uint16_t *version, uint8_t *type)
{
	const uint8_t *p = reader_take(r, SMPC_FRAME_HEADER_BYTES);
	uint16_t	v;

	if (version != NULL)
		*version = 0;
	if (type != NULL)
		*type = 0;
	if (p == NULL)
		return r->status;
	if (memcmp(p, SMPC_FRAME_MAGIC, 4) != 0)
		return smpc_reader_fail(r, SMPC_ERR_MALFORMED);
	v = (uint16_t) (p[4] | (p[5] << 8));
	if (v != SMPC_PROTOCOL_VERSION)
		return smpc_reader_fail(r, SMPC_ERR_VERSION);
	if (!smpc_msg_type_valid(p[6]) || p[7] != 0)
		return smpc_reader_fail(r, SMPC_ERR_MALFORMED);
	if (version != NULL)
		*version = v;
	if (type != NULL)
		*type = p[6];
	return SMPC_OK;
}

int
smpc_reader_finish(const smpc_reader *r)
{
	if (r->status != SMPC_OK)
		return r->status;
	if (r->pos != r->len)
		return SMPC_ERR_TRAILING;
	return SMPC_OK;
}

/* -------------------------------------------------------- signed messages */

/*
 * Parse everything of a signed message that the signature covers, filling
 * out (except signed_part/signed_len/signature).  Payload length is bounded
 * by max_payload.  Returns the reader status.
 */
static int
read_signed_body(smpc_reader *r, size_t max_payload, smpc_signed_msg *out)
{
	smpc_reader_get_header(r, &out->version, &out->type);
	smpc_reader_copy_bytes(r, SMPC_SESSION_ID_BYTES, out->session_id);
	smpc_reader_get_u8(r, &out->round);
	smpc_reader_get_i64(r, &out->timestamp_ms);
	smpc_reader_copy_bytes(r, SMPC_SIGN_PK_BYTES, out->sender_pk);
	smpc_reader_copy_bytes(r, SMPC_SIGN_PK_BYTES, out->recipient_pk);
	return smpc_reader_get_blob(r, max_payload, &out->payload, &out->payload_len);
}

int
smpc_msg_encode_signed(const smpc_signed_msg *fields,
					   const smpc_identity *signer,
					   uint8_t **out, size_t *outlen)
{
	smpc_writer w;
	uint8_t		sig[SMPC_SIGNATURE_BYTES];
	int			rc;

	if (out != NULL)
		*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (fields == NULL || signer == NULL || out == NULL || outlen == NULL ||
		(fields->payload == NULL && fields->payload_len > 0) ||
		!smpc_msg_type_valid(fields->type) ||
		memcmp(fields->sender_pk, signer->sign_pk, SMPC_SIGN_PK_BYTES) != 0)
		return SMPC_ERR_ARG;

	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_header(&w, fields->type);
	smpc_writer_put_bytes(&w, fields->session_id, SMPC_SESSION_ID_BYTES);
	smpc_writer_put_u8(&w, fields->round);
	smpc_writer_put_i64(&w, fields->timestamp_ms);
	smpc_writer_put_bytes(&w, fields->sender_pk, SMPC_SIGN_PK_BYTES);
	smpc_writer_put_bytes(&w, fields->recipient_pk, SMPC_SIGN_PK_BYTES);
	smpc_writer_put_blob(&w, fields->payload, fields->payload_len);
	if (w.status != SMPC_OK)
		return smpc_writer_finish(&w, out, outlen);

	rc = smpc_sign(signer, SMPC_MSG_SIGN_CONTEXT, w.data, w.len, sig);
	if (rc != SMPC_OK)
	{
		smpc_writer_discard(&w);
		return rc;
	}
	smpc_writer_put_bytes(&w, sig, sizeof(sig));
	return smpc_writer_finish(&w, out, outlen);
}

int
smpc_msg_decode_signed(const uint8_t *in, size_t len, size_t max_len,
					   smpc_signed_msg *out)
{
	smpc_reader r;
	size_t		signed_len;
	int			rc;

	if (out == NULL)
		return SMPC_ERR_ARG;
	memset(out, 0, sizeof(*out));
	if (in == NULL && len > 0)
		return SMPC_ERR_ARG;
	if (len > max_len)
		return SMPC_ERR_TOO_LARGE;

	smpc_reader_init(&r, in, len);
	read_signed_body(&r, max_len, out);
	signed_len = r.pos;
	smpc_reader_copy_bytes(&r, SMPC_SIGNATURE_BYTES, out->signature);
	rc = smpc_reader_finish(&r);
	if (rc != SMPC_OK)
	{
		memset(out, 0, sizeof(*out));
		return rc;
	}
	out->signed_part = in;
	out->signed_len = signed_len;
	return SMPC_OK;
}

int
smpc_msg_verify(const smpc_signed_msg *m,
				const uint8_t sign_pk[SMPC_SIGN_PK_BYTES])
{
	smpc_signed_msg chk;
	smpc_reader r;

	if (m == NULL || sign_pk == NULL || m->signed_part == NULL)
		return SMPC_ERR_ARG;

	/*
	 * The caller acts on the parsed fields, but the signature covers
	 * signed_part.  Re-parse signed_part and insist the fields are exactly
	 * what it says, so a hand-assembled or modified struct cannot pass.
	 */
	memset(&chk, 0, sizeof(chk));
	smpc_reader_init(&r, m->signed_part, m->signed_len);
	read_signed_body(&r, m->signed_len, &chk);
	if (smpc_reader_finish(&r) != SMPC_OK)
		return SMPC_ERR_ARG;
	if (chk.version != m->version || chk.type != m->type ||
		memcmp(chk.session_id, m->session_id, SMPC_SESSION_ID_BYTES) != 0 ||
		chk.round != m->round || chk.timestamp_ms != m->timestamp_ms ||
		memcmp(chk.sender_pk, m->sender_pk, SMPC_SIGN_PK_BYTES) != 0 ||
		memcmp(chk.recipient_pk, m->recipient_pk, SMPC_SIGN_PK_BYTES) != 0 ||
		chk.payload_len != m->payload_len ||
		(chk.payload_len > 0 && chk.payload != m->payload))
		return SMPC_ERR_AUTH;

	if (sodium_memcmp(m->sender_pk, sign_pk, SMPC_SIGN_PK_BYTES) != 0)
		return SMPC_ERR_AUTH;
	return smpc_verify(sign_pk, SMPC_MSG_SIGN_CONTEXT,
					   m->signed_part, m->signed_len, m->signature);
}

/* -------------------------------------------------------- payload codecs */

/*
 * Read a count field of `width` bytes (2 or 4) and check it against
 * max_items and against how many items of at least min_item bytes the
 * remaining input could hold.  Returns the reader status.
 */
static int
read_count(smpc_reader *r, size_t width, size_t max_items, size_t min_item,
		   size_t *count)
{
	uint64_t	n;

	*count = 0;
	if (get_le(r, width, &n) != SMPC_OK)
		return r->status;
	if (n > max_items)
		return smpc_reader_fail(r, SMPC_ERR_TOO_LARGE);
	if (n > smpc_reader_remaining(r) / min_item)
		return smpc_reader_fail(r, SMPC_ERR_TRUNCATED);
	*count = (size_t) n;
	return SMPC_OK;
}

/* Shared tail of the whole-buffer decoders. */
static int
decode_finish(smpc_reader *r, size_t *count)
{
	int			rc = smpc_reader_finish(r);

	if (rc != SMPC_OK)
		*count = 0;
	return rc;
}

int
smpc_writer_put_envelope_list(smpc_writer *w, const smpc_envelope_item *items,
							  size_t count)
{
	if (w->status != SMPC_OK)
		return w->status;
	if (count > UINT16_MAX)
		return smpc_writer_fail(w, SMPC_ERR_TOO_LARGE);
	if (items == NULL && count > 0)
		return smpc_writer_fail(w, SMPC_ERR_ARG);
	for (size_t i = 0; i < count; i++)
		if (items[i].env == NULL || items[i].env_len < SMPC_ENVELOPE_OVERHEAD)
			return smpc_writer_fail(w, SMPC_ERR_ARG);

	smpc_writer_put_u16(w, (uint16_t) count);
	for (size_t i = 0; i < count; i++)
	{
		smpc_writer_put_bytes(w, items[i].recipient_pk, SMPC_SIGN_PK_BYTES);
		smpc_writer_put_blob(w, items[i].env, items[i].env_len);
	}
	return w->status;
}

int
smpc_reader_get_envelope_list(smpc_reader *r, smpc_envelope_item *items,
							  size_t max_items, size_t *count)
{
	size_t		n;

	*count = 0;
	if (items == NULL && max_items > 0)
		return smpc_reader_fail(r, SMPC_ERR_ARG);
	if (read_count(r, 2, max_items, ENVELOPE_ITEM_MIN_BYTES, &n) != SMPC_OK)
		return r->status;
	for (size_t i = 0; i < n; i++)
	{
		smpc_reader_copy_bytes(r, SMPC_SIGN_PK_BYTES, items[i].recipient_pk);
		if (smpc_reader_get_blob(r, r->len, &items[i].env,
								 &items[i].env_len) != SMPC_OK)
			return r->status;
		if (items[i].env_len < SMPC_ENVELOPE_OVERHEAD)
			return smpc_reader_fail(r, SMPC_ERR_MALFORMED);
	}
	*count = n;
	return SMPC_OK;
}

int
smpc_envelope_list_encode(const smpc_envelope_item *items, size_t count,
						  uint8_t **out, size_t *outlen)
{
	smpc_writer w;

	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_envelope_list(&w, items, count);
	return smpc_writer_finish(&w, out, outlen);
}

int
smpc_envelope_list_decode(const uint8_t *in, size_t len,
						  smpc_envelope_item *items, size_t max_items,
						  size_t *count)
{
	smpc_reader r;

	if (count == NULL)
		return SMPC_ERR_ARG;
	smpc_reader_init(&r, in, len);
	smpc_reader_get_envelope_list(&r, items, max_items, count);
	return decode_finish(&r, count);
}

int
smpc_writer_put_fe_vector(smpc_writer *w, const smpc_fe *v, size_t count)
{
	if (w->status != SMPC_OK)
		return w->status;
	if (count > UINT32_MAX)
		return smpc_writer_fail(w, SMPC_ERR_TOO_LARGE);
	if (v == NULL && count > 0)
		return smpc_writer_fail(w, SMPC_ERR_ARG);
	smpc_writer_put_u32(w, (uint32_t) count);
	for (size_t i = 0; i < count && w->status == SMPC_OK; i++)
		smpc_writer_put_fe(w, v[i]);
	return w->status;
}

int
smpc_reader_get_fe_vector(smpc_reader *r, smpc_fe *out, size_t max_count,
						  size_t *count)
{
	size_t		n;

	*count = 0;
	if (out == NULL && max_count > 0)
		return smpc_reader_fail(r, SMPC_ERR_ARG);
	if (read_count(r, 4, max_count, SMPC_FE_BYTES, &n) != SMPC_OK)
		return r->status;
	for (size_t i = 0; i < n; i++)
		if (smpc_reader_get_fe(r, &out[i]) != SMPC_OK)
			return r->status;
	*count = n;
	return SMPC_OK;
}

int
smpc_fe_vector_encode(const smpc_fe *v, size_t count,
					  uint8_t **out, size_t *outlen)
{
	smpc_writer w;

	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_fe_vector(&w, v, count);
	return smpc_writer_finish(&w, out, outlen);
}

int
smpc_fe_vector_decode(const uint8_t *in, size_t len, smpc_fe *out,
					  size_t max_count, size_t *count)
{
	smpc_reader r;

	if (count == NULL)
		return SMPC_ERR_ARG;
	smpc_reader_init(&r, in, len);
	smpc_reader_get_fe_vector(&r, out, max_count, count);
	return decode_finish(&r, count);
}

int
smpc_writer_put_str_list(smpc_writer *w, const smpc_str *items, size_t count)
{
	if (w->status != SMPC_OK)
		return w->status;
	if (count > UINT16_MAX)
		return smpc_writer_fail(w, SMPC_ERR_TOO_LARGE);
	if (items == NULL && count > 0)
		return smpc_writer_fail(w, SMPC_ERR_ARG);
	smpc_writer_put_u16(w, (uint16_t) count);
	for (size_t i = 0; i < count && w->status == SMPC_OK; i++)
		smpc_writer_put_str(w, items[i].ptr, items[i].len);
	return w->status;
}

int
smpc_reader_get_str_list(smpc_reader *r, smpc_str *items, size_t max_items,
						 size_t max_str_len, size_t *count)
{
	size_t		n;

	*count = 0;
	if (items == NULL && max_items > 0)
		return smpc_reader_fail(r, SMPC_ERR_ARG);
	if (read_count(r, 2, max_items, STR_ITEM_MIN_BYTES, &n) != SMPC_OK)
		return r->status;
	for (size_t i = 0; i < n; i++)
		if (smpc_reader_get_str(r, max_str_len, &items[i].ptr,
								&items[i].len) != SMPC_OK)
			return r->status;
	*count = n;
	return SMPC_OK;
}

int
smpc_str_list_encode(const smpc_str *items, size_t count,
					 uint8_t **out, size_t *outlen)
{
	smpc_writer w;

	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_str_list(&w, items, count);
	return smpc_writer_finish(&w, out, outlen);
}

int
smpc_str_list_decode(const uint8_t *in, size_t len, smpc_str *items,
					 size_t max_items, size_t max_str_len, size_t *count)
{
	smpc_reader r;

	if (count == NULL)
		return SMPC_ERR_ARG;
	smpc_reader_init(&r, in, len);
	smpc_reader_get_str_list(&r, items, max_items, max_str_len, count);
	return decode_finish(&r, count);
}
