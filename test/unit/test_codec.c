/*
 * test_codec.c
 *		Unit tests for the binary message codec (src/core/codec.c).
 *
 * Decoders face untrusted input, so besides round trips these tests decode
 * every proper prefix of valid encodings from heap buffers of exactly that
 * length: a decoder that reads even one byte too far either reports the
 * wrong status (caught here) or over-reads the allocation (caught by
 * AddressSanitizer builds).
 */
#include <stdlib.h>
#include <sodium.h>

#include "unit.h"
#include "codec.h"

/* ------------------------------------------------------------ helpers */

static smpc_identity signer;
static smpc_identity other;

static int
make_identities(void)
{
	return smpc_identity_generate(&signer) == SMPC_OK &&
		smpc_identity_generate(&other) == SMPC_OK;
}

static void
fill_fields(smpc_signed_msg *m, uint8_t type, const uint8_t *payload,
			size_t payload_len)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	for (int i = 0; i < SMPC_SESSION_ID_BYTES; i++)
		m->session_id[i] = (uint8_t) (0xA0 + i);
	m->round = 2;
	m->timestamp_ms = -1234567890123LL;
	memcpy(m->sender_pk, signer.sign_pk, 32);
	memcpy(m->recipient_pk, other.sign_pk, 32);
	m->payload = payload;
	m->payload_len = payload_len;
}

/* Encode a signed message with a 37-byte payload; caller frees *out. */
static int
make_msg(uint8_t type, uint8_t **out, size_t *outlen)
{
	static const uint8_t payload[37] = "payload bytes for the signed message";
	smpc_signed_msg m;

	fill_fields(&m, type, payload, sizeof(payload));
	return smpc_msg_encode_signed(&m, &signer, out, outlen);
}

/* Decode a modified copy of msg from an exact-size buffer. */
static int
decode_exact(const uint8_t *msg, size_t len, size_t max_len,
			 smpc_signed_msg *out)
{
	uint8_t    *buf = exact_copy(msg, len);
	int			rc = smpc_msg_decode_signed(buf, len, max_len, out);

	free(buf);
	return rc;
}

/* offset of the payload length field in a signed message */
#define PAYLOAD_LEN_OFF (8 + 16 + 1 + 8 + 32 + 32)

static void
put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

/* ------------------------------------------------------------ primitives */

static void
test_primitives_roundtrip(void)
{
	smpc_writer w;
	smpc_reader r;
	uint8_t    *buf = NULL;
	size_t		len = 0;
	const char	utf8[] = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80";
	const smpc_fe fes[] = {0, 1, SMPC_FIELD_P - 1, ((smpc_fe) 1) << 126,
	((smpc_fe) 0x0123456789abcdefULL << 64) | 0xfedcba9876543210ULL};

	smpc_writer_init(&w, 4096);
	smpc_writer_put_u8(&w, 0xAB);
	smpc_writer_put_u16(&w, 0xBEEF);
	smpc_writer_put_u32(&w, 0xDEADBEEFu);
	smpc_writer_put_u64(&w, 0x0102030405060708ULL);
	smpc_writer_put_i64(&w, -2);
	smpc_writer_put_i64(&w, INT64_MIN);
	smpc_writer_put_i64(&w, INT64_MAX);
	smpc_writer_put_bytes(&w, "XYZ", 3);
	smpc_writer_put_blob(&w, "blob!", 5);
	smpc_writer_put_blob(&w, NULL, 0);
	smpc_writer_put_str(&w, utf8, strlen(utf8));
	smpc_writer_put_str(&w, "", 0);
	for (size_t i = 0; i < sizeof(fes) / sizeof(fes[0]); i++)
		smpc_writer_put_fe(&w, fes[i]);
	smpc_writer_put_header(&w, SMPC_MSG_PING);
	REQUIRE(smpc_writer_finish(&w, &buf, &len) == SMPC_OK);
	REQUIRE(buf != NULL);

	/* exact little-endian layout of the fixed-width prefix */
	{
		static const uint8_t expect[] = {
			0xAB, 0xEF, 0xBE, 0xEF, 0xBE, 0xAD, 0xDE,
			8, 7, 6, 5, 4, 3, 2, 1,
			0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
			0, 0, 0, 0, 0, 0, 0, 0x80,
			0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F,
			'X', 'Y', 'Z', 5, 0, 0, 0, 'b', 'l', 'o', 'b', '!', 0, 0, 0, 0
		};

		REQUIRE(len > sizeof(expect));
		CHECK(memcmp(buf, expect, sizeof(expect)) == 0);
		CHECK(memcmp(buf + len - 8, "SMPC\x02\x00\x20\x00", 8) == 0);
	}

	smpc_reader_init(&r, buf, len);
	{
		uint8_t		u8;
		uint16_t	u16;
		uint32_t	u32;
		uint64_t	u64;
		int64_t		i64;
		const uint8_t *p;
		const char *s;
		size_t		n;
		smpc_fe		fe;
		uint16_t	ver;
		uint8_t		type;

		CHECK(smpc_reader_get_u8(&r, &u8) == SMPC_OK && u8 == 0xAB);
		CHECK(smpc_reader_get_u16(&r, &u16) == SMPC_OK && u16 == 0xBEEF);
		CHECK(smpc_reader_get_u32(&r, &u32) == SMPC_OK && u32 == 0xDEADBEEFu);
		CHECK(smpc_reader_get_u64(&r, &u64) == SMPC_OK && u64 == 0x0102030405060708ULL);
		CHECK(smpc_reader_get_i64(&r, &i64) == SMPC_OK && i64 == -2);
		CHECK(smpc_reader_get_i64(&r, &i64) == SMPC_OK && i64 == INT64_MIN);
		CHECK(smpc_reader_get_i64(&r, &i64) == SMPC_OK && i64 == INT64_MAX);
		CHECK(smpc_reader_get_bytes(&r, 3, &p) == SMPC_OK && memcmp(p, "XYZ", 3) == 0);
		CHECK(p == buf + 39);	/* points into the input */
		CHECK(smpc_reader_get_blob(&r, 100, &p, &n) == SMPC_OK && n == 5 &&
			  memcmp(p, "blob!", 5) == 0);
		CHECK(smpc_reader_get_blob(&r, 0, &p, &n) == SMPC_OK && n == 0 && p != NULL);
		CHECK(smpc_reader_get_str(&r, 100, &s, &n) == SMPC_OK &&
			  n == strlen(utf8) && memcmp(s, utf8, n) == 0);
		CHECK(smpc_reader_get_str(&r, 100, &s, &n) == SMPC_OK && n == 0);
		for (size_t i = 0; i < sizeof(fes) / sizeof(fes[0]); i++)
			CHECK(smpc_reader_get_fe(&r, &fe) == SMPC_OK && fe == fes[i]);
		CHECK(smpc_reader_get_header(&r, &ver, &type) == SMPC_OK &&
			  ver == SMPC_PROTOCOL_VERSION && type == SMPC_MSG_PING);
		CHECK(smpc_reader_remaining(&r) == 0);
		CHECK(smpc_reader_finish(&r) == SMPC_OK);
		/* one more read is a truncation and sticks */
		CHECK(smpc_reader_get_u8(&r, &u8) == SMPC_ERR_TRUNCATED);
		CHECK(smpc_reader_finish(&r) == SMPC_ERR_TRUNCATED);
	}
	smpc_free(buf);

	/* empty writer still yields a freeable non-NULL buffer */
	smpc_writer_init(&w, 10);
	REQUIRE(smpc_writer_finish(&w, &buf, &len) == SMPC_OK);
	CHECK(buf != NULL && len == 0);
	smpc_free(buf);
}

static void
test_reader_bounds(void)
{
	static const uint8_t in[] = {1, 2, 3, 4, 5, 6, 7};
	smpc_reader r;
	uint64_t	u64;
	uint32_t	u32;
	uint8_t		u8;
	uint8_t		dst[4];
	const uint8_t *p;
	size_t		n;

	/* too short for u64; nothing consumed; sticky */
	smpc_reader_init(&r, in, sizeof(in));
	CHECK(smpc_reader_get_u64(&r, &u64) == SMPC_ERR_TRUNCATED && u64 == 0);
	CHECK(r.pos == 0);
	CHECK(smpc_reader_get_u8(&r, &u8) == SMPC_ERR_TRUNCATED);
	CHECK(r.pos == 0);

	/* exactly enough, then one too many */
	smpc_reader_init(&r, in, sizeof(in));
	CHECK(smpc_reader_get_u32(&r, &u32) == SMPC_OK && u32 == 0x04030201u);
	CHECK(smpc_reader_get_bytes(&r, 3, &p) == SMPC_OK);
	CHECK(smpc_reader_get_bytes(&r, 1, &p) == SMPC_ERR_TRUNCATED && p == NULL);

	/* trailing detection */
	smpc_reader_init(&r, in, sizeof(in));
	CHECK(smpc_reader_get_u32(&r, &u32) == SMPC_OK);
	CHECK(smpc_reader_finish(&r) == SMPC_ERR_TRAILING);

	/* copy_bytes zeroes its destination on failure */
	smpc_reader_init(&r, in, 3);
	memset(dst, 0xEE, sizeof(dst));
	CHECK(smpc_reader_copy_bytes(&r, 4, dst) == SMPC_ERR_TRUNCATED);
	CHECK(dst[0] == 0 && dst[3] == 0);

	/* blob lengths: over max, over remaining, 0xFFFFFFFF */
	{
		uint8_t		b[8] = {4, 0, 0, 0, 'a', 'b', 'c', 'd'};

		smpc_reader_init(&r, b, 8);
		CHECK(smpc_reader_get_blob(&r, 3, &p, &n) == SMPC_ERR_TOO_LARGE && p == NULL && n == 0);
		smpc_reader_init(&r, b, 7);
		CHECK(smpc_reader_get_blob(&r, 100, &p, &n) == SMPC_ERR_TRUNCATED && p == NULL);
		put_le32(b, 0xFFFFFFFFu);
		smpc_reader_init(&r, b, 8);
		CHECK(smpc_reader_get_blob(&r, SIZE_MAX, &p, &n) == SMPC_ERR_TRUNCATED);
		smpc_reader_init(&r, b, 8);
		CHECK(smpc_reader_get_blob(&r, 1000, &p, &n) == SMPC_ERR_TOO_LARGE);
		put_le32(b, 5);
		smpc_reader_init(&r, b, 8);
		CHECK(smpc_reader_get_blob(&r, 100, &p, &n) == SMPC_ERR_TRUNCATED);
	}

	/* empty and NULL input */
	smpc_reader_init(&r, NULL, 0);
	CHECK(smpc_reader_get_u8(&r, &u8) == SMPC_ERR_TRUNCATED);
	smpc_reader_init(&r, NULL, 0);
	CHECK(smpc_reader_finish(&r) == SMPC_OK);
	smpc_reader_init(&r, NULL, 5);
	CHECK(smpc_reader_get_u8(&r, &u8) == SMPC_ERR_ARG);
}

static void
test_reader_str_rejects(void)
{
	static const struct
	{
		const char *bytes;
		size_t		len;
	}			bad[] = {
		{"a\0b", 3},			/* embedded NUL */
		{"\0", 1},
		{"\xc0\x80", 2},		/* overlong NUL */
		{"\xc1\xbf", 2},		/* overlong */
		{"\xe0\x80\xaf", 3},	/* overlong */
		{"\xed\xa0\x80", 3},	/* surrogate */
		{"\xf4\x90\x80\x80", 4},	/* > U+10FFFF */
		{"\xf5\x80\x80\x80", 4},
		{"\xff", 1},
		{"\x80", 1},			/* lone continuation */
		{"ab\xc3", 3},			/* cut-off sequence */
		{"\xe2\x82", 2},
		{"\xc3\x28", 2},		/* bad continuation */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		uint8_t		buf[16];
		uint8_t    *heap;
		smpc_reader r;
		smpc_writer w;
		const char *s;
		size_t		n;

		put_le32(buf, (uint32_t) bad[i].len);
		memcpy(buf + 4, bad[i].bytes, bad[i].len);
		heap = exact_copy(buf, 4 + bad[i].len);
		smpc_reader_init(&r, heap, 4 + bad[i].len);
		if (!CHECK(smpc_reader_get_str(&r, 100, &s, &n) == SMPC_ERR_MALFORMED))
			fprintf(stderr, "    case %zu accepted\n", i);
		CHECK(s == NULL && n == 0);
		free(heap);

		/* the writer refuses to produce what the reader rejects */
		smpc_writer_init(&w, 100);
		CHECK(smpc_writer_put_str(&w, bad[i].bytes, bad[i].len) == SMPC_ERR_ARG);
		smpc_writer_discard(&w);
	}

	/* max length */
	{
		uint8_t		buf[8] = {4, 0, 0, 0, 'a', 'b', 'c', 'd'};
		smpc_reader r;
		const char *s;
		size_t		n;

		smpc_reader_init(&r, buf, 8);
		CHECK(smpc_reader_get_str(&r, 3, &s, &n) == SMPC_ERR_TOO_LARGE);
		smpc_reader_init(&r, buf, 8);
		CHECK(smpc_reader_get_str(&r, 4, &s, &n) == SMPC_OK && n == 4);
	}
}

static void
test_writer_limits(void)
{
	smpc_writer w;
	uint8_t    *buf = (uint8_t *) 1;
	size_t		len = 99;

	/* limit reached exactly is fine, one more byte is not, and it sticks */
	smpc_writer_init(&w, 10);
	CHECK(smpc_writer_put_u64(&w, 1) == SMPC_OK);
	CHECK(smpc_writer_put_u16(&w, 1) == SMPC_OK);
	CHECK(w.len == 10);
	CHECK(smpc_writer_put_u8(&w, 1) == SMPC_ERR_TOO_LARGE);
	CHECK(smpc_writer_put_u8(&w, 1) == SMPC_ERR_TOO_LARGE);
	CHECK(smpc_writer_finish(&w, &buf, &len) == SMPC_ERR_TOO_LARGE);
	CHECK(buf == NULL && len == 0);

	/* unknown frame type, NULL data */
	smpc_writer_init(&w, 100);
	CHECK(smpc_writer_put_header(&w, 8) == SMPC_ERR_ARG);
	smpc_writer_discard(&w);
	smpc_writer_init(&w, 100);
	CHECK(smpc_writer_put_blob(&w, NULL, 3) == SMPC_ERR_ARG);
	smpc_writer_discard(&w);

	/* growth across many reallocations keeps every byte */
	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	for (uint32_t i = 0; i < 20000; i++)
		smpc_writer_put_u32(&w, i * 2654435761u);
	REQUIRE(smpc_writer_finish(&w, &buf, &len) == SMPC_OK);
	REQUIRE(len == 80000);
	{
		smpc_reader r;
		int			ok = 1;

		smpc_reader_init(&r, buf, len);
		for (uint32_t i = 0; i < 20000; i++)
		{
			uint32_t	v;

			if (smpc_reader_get_u32(&r, &v) != SMPC_OK || v != i * 2654435761u)
				ok = 0;
		}
		CHECK(ok);
		CHECK(smpc_reader_finish(&r) == SMPC_OK);
	}
	smpc_free(buf);
}

/* ------------------------------------------------------------ signed msg */

static void
test_signed_roundtrip(void)
{
	uint8_t    *msg = NULL;
	size_t		len = 0;
	smpc_signed_msg m,
				in;

	REQUIRE(make_identities());
	REQUIRE(make_msg(SMPC_MSG_SHARE, &msg, &len) == SMPC_OK);
	CHECK(len == SMPC_SIGNED_MSG_MIN_BYTES + 37);
	CHECK(memcmp(msg, "SMPC\x02\x00\x02\x00", 8) == 0);

	fill_fields(&in, SMPC_MSG_SHARE, NULL, 0);
	REQUIRE(smpc_msg_decode_signed(msg, len, SMPC_MAX_MESSAGE_DEFAULT, &m) == SMPC_OK);
	CHECK(m.version == SMPC_PROTOCOL_VERSION);
	CHECK(m.type == SMPC_MSG_SHARE);
	CHECK(memcmp(m.session_id, in.session_id, 16) == 0);
	CHECK(m.round == 2);
	CHECK(m.timestamp_ms == -1234567890123LL);
	CHECK(memcmp(m.sender_pk, signer.sign_pk, 32) == 0);
	CHECK(memcmp(m.recipient_pk, other.sign_pk, 32) == 0);
	CHECK(m.payload_len == 37 && memcmp(m.payload, "payload bytes", 13) == 0);
	CHECK(m.payload == msg + PAYLOAD_LEN_OFF + 4);
	CHECK(m.signed_part == msg && m.signed_len == len - 64);
	CHECK(memcmp(m.signature, msg + len - 64, 64) == 0);
	CHECK(smpc_msg_verify(&m, signer.sign_pk) == SMPC_OK);
	CHECK(smpc_msg_verify(&m, other.sign_pk) == SMPC_ERR_AUTH);
	/* the signature is over the documented context */
	CHECK(smpc_verify(signer.sign_pk, "smpc-msg-v1", msg, len - 64, msg + len - 64) == SMPC_OK);
	smpc_free(msg);

	/* empty payload, every valid type */
	{
		const uint8_t types[] = {1, 2, 3, 4, 5, 6, 7, 16, 17, 32, 33};

		for (size_t i = 0; i < sizeof(types); i++)
		{
			fill_fields(&in, types[i], NULL, 0);
			REQUIRE(smpc_msg_encode_signed(&in, &signer, &msg, &len) == SMPC_OK);
			CHECK(len == SMPC_SIGNED_MSG_MIN_BYTES);
			CHECK(smpc_msg_decode_signed(msg, len, len, &m) == SMPC_OK);
			CHECK(m.type == types[i] && m.payload_len == 0);
			CHECK(smpc_msg_verify(&m, signer.sign_pk) == SMPC_OK);
			smpc_free(msg);
		}
	}
}

static void
test_signed_encode_args(void)
{
	smpc_signed_msg in;
	uint8_t    *msg = (uint8_t *) 1;
	size_t		len = 5;

	REQUIRE(make_identities());
	fill_fields(&in, SMPC_MSG_PREPARE, NULL, 0);
	memcpy(in.sender_pk, other.sign_pk, 32);
	CHECK(smpc_msg_encode_signed(&in, &signer, &msg, &len) == SMPC_ERR_ARG);
	CHECK(msg == NULL && len == 0);
	fill_fields(&in, 8, NULL, 0);
	CHECK(smpc_msg_encode_signed(&in, &signer, &msg, &len) == SMPC_ERR_ARG);
	fill_fields(&in, SMPC_MSG_PREPARE, NULL, 3);
	CHECK(smpc_msg_encode_signed(&in, &signer, &msg, &len) == SMPC_ERR_ARG);
}

static void
test_signed_truncations(void)
{
	uint8_t    *msg = NULL;
	size_t		len = 0;
	smpc_signed_msg m;
	int			bad = 0;

	REQUIRE(make_identities());
	REQUIRE(make_msg(SMPC_MSG_COMBINE, &msg, &len) == SMPC_OK);
	for (size_t l = 0; l < len; l++)
	{
		int			rc = decode_exact(msg, l, SMPC_MAX_MESSAGE_DEFAULT, &m);

		if (!CHECK(rc == SMPC_ERR_TRUNCATED))
		{
			fprintf(stderr, "    prefix %zu: rc %d\n", l, rc);
			if (++bad > 5)
				break;
		}
		CHECK(m.payload == NULL && m.signed_part == NULL);
	}
	CHECK(smpc_msg_decode_signed(NULL, 0, 100, &m) == SMPC_ERR_TRUNCATED);
	/* the full message from an exact buffer decodes */
	CHECK(decode_exact(msg, len, SMPC_MAX_MESSAGE_DEFAULT, &m) == SMPC_OK);
	smpc_free(msg);
}

static void
test_signed_rejects(void)
{
	uint8_t    *msg = NULL;
	uint8_t    *bad;
	size_t		len = 0;
	smpc_signed_msg m;

	REQUIRE(make_identities());
	REQUIRE(make_msg(SMPC_MSG_REVEAL, &msg, &len) == SMPC_OK);
	bad = malloc(len + 1);
	REQUIRE(bad != NULL);

	/* one trailing byte */
	memcpy(bad, msg, len);
	bad[len] = 0;
	CHECK(decode_exact(bad, len + 1, SMPC_MAX_MESSAGE_DEFAULT, &m) == SMPC_ERR_TRAILING);
	CHECK(m.signed_part == NULL);

	/* bad magic, each byte */
	for (size_t i = 0; i < 4; i++)
	{
		memcpy(bad, msg, len);
		bad[i] ^= 0x20;
		CHECK(decode_exact(bad, len, SMPC_MAX_MESSAGE_DEFAULT, &m) == SMPC_ERR_MALFORMED);
	}

	/* versions 0, 1 (before vector values), and 2 in the wrong byte order */
	{
		const uint16_t versions[] = {0, 1, 0x0200, 0xFFFF};

		for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		{
			memcpy(bad, msg, len);
			bad[4] = (uint8_t) versions[i];
			bad[5] = (uint8_t) (versions[i] >> 8);
			CHECK(decode_exact(bad, len, SMPC_MAX_MESSAGE_DEFAULT, &m) == SMPC_ERR_VERSION);
		}
	}

	/* every unknown type */
	for (int t = 0; t < 256; t++)
	{
		int			rc;

		memcpy(bad, msg, len);
		bad[6] = (uint8_t) t;
		rc = decode_exact(bad, len, SMPC_MAX_MESSAGE_DEFAULT, &m);
		if (smpc_msg_type_valid((uint8_t) t))
			CHECK(rc == SMPC_OK);
		else
			CHECK(rc == SMPC_ERR_MALFORMED);
	}

	/* non-zero flags */
	for (int f = 1; f < 256; f <<= 1)
	{
		memcpy(bad, msg, len);
		bad[7] = (uint8_t) f;
		CHECK(decode_exact(bad, len, SMPC_MAX_MESSAGE_DEFAULT, &m) == SMPC_ERR_MALFORMED);
	}

	/* over max_len, checked before anything else (even bad magic) */
	CHECK(decode_exact(msg, len, len - 1, &m) == SMPC_ERR_TOO_LARGE);
	CHECK(decode_exact(msg, len, len, &m) == SMPC_OK);
	memcpy(bad, msg, len);
	bad[0] = 'X';
	CHECK(decode_exact(bad, len, 10, &m) == SMPC_ERR_TOO_LARGE);

	/* payload length field larger than the remaining input */
	{
		size_t		remaining = len - PAYLOAD_LEN_OFF - 4;

		memcpy(bad, msg, len);
		put_le32(bad + PAYLOAD_LEN_OFF, (uint32_t) remaining + 1);
		CHECK(decode_exact(bad, len, SMPC_MAX_MESSAGE_DEFAULT, &m) == SMPC_ERR_TRUNCATED);
		put_le32(bad + PAYLOAD_LEN_OFF, (uint32_t) remaining);
		CHECK(decode_exact(bad, len, SMPC_MAX_MESSAGE_DEFAULT, &m) == SMPC_ERR_TRUNCATED);
		put_le32(bad + PAYLOAD_LEN_OFF, 0xFFFFFFFFu);
		CHECK(decode_exact(bad, len, SMPC_MAX_MESSAGE_DEFAULT, &m) == SMPC_ERR_TOO_LARGE);
		CHECK(decode_exact(bad, len, SIZE_MAX, &m) == SMPC_ERR_TRUNCATED);
		put_le32(bad + PAYLOAD_LEN_OFF, 0x80000000u);
		CHECK(decode_exact(bad, len, SIZE_MAX, &m) == SMPC_ERR_TRUNCATED);
		/* shorter payload length: signature swallows payload, then trailing */
		put_le32(bad + PAYLOAD_LEN_OFF, 36);
		CHECK(decode_exact(bad, len, SMPC_MAX_MESSAGE_DEFAULT, &m) == SMPC_ERR_TRAILING);
	}

	free(bad);
	smpc_free(msg);
}

static void
test_signed_tamper(void)
{
	uint8_t    *msg = NULL;
	uint8_t    *bad;
	size_t		len = 0;
	smpc_signed_msg m;

	REQUIRE(make_identities());
	REQUIRE(make_msg(SMPC_MSG_FINISH, &msg, &len) == SMPC_OK);
	bad = exact_copy(msg, len);

	/* every byte after the header changed: still decodes, never verifies */
	for (size_t i = 8; i < len; i++)
	{
		if (i >= PAYLOAD_LEN_OFF && i < PAYLOAD_LEN_OFF + 4)
			continue;			/* length field: would not decode */
		memcpy(bad, msg, len);
		bad[i] ^= 0x01;
		REQUIRE(smpc_msg_decode_signed(bad, len, SMPC_MAX_MESSAGE_DEFAULT, &m) == SMPC_OK);
		if (!CHECK(smpc_msg_verify(&m, signer.sign_pk) == SMPC_ERR_AUTH))
			fprintf(stderr, "    byte %zu not covered\n", i);
	}

	/* header type changed to another valid type */
	memcpy(bad, msg, len);
	bad[6] = SMPC_MSG_SHARE;
	REQUIRE(smpc_msg_decode_signed(bad, len, SMPC_MAX_MESSAGE_DEFAULT, &m) == SMPC_OK);
	CHECK(smpc_msg_verify(&m, signer.sign_pk) == SMPC_ERR_AUTH);

	/* a genuine decode whose struct is edited afterwards */
	REQUIRE(smpc_msg_decode_signed(msg, len, SMPC_MAX_MESSAGE_DEFAULT, &m) == SMPC_OK);
	REQUIRE(smpc_msg_verify(&m, signer.sign_pk) == SMPC_OK);
	m.round++;
	CHECK(smpc_msg_verify(&m, signer.sign_pk) == SMPC_ERR_AUTH);
	m.round--;
	m.payload_len--;
	CHECK(smpc_msg_verify(&m, signer.sign_pk) == SMPC_ERR_AUTH);
	m.payload_len++;
	m.recipient_pk[0] ^= 1;
	CHECK(smpc_msg_verify(&m, signer.sign_pk) == SMPC_ERR_AUTH);
	m.recipient_pk[0] ^= 1;
	CHECK(smpc_msg_verify(&m, signer.sign_pk) == SMPC_OK);

	/* claimed sender differs from the key we verify with */
	CHECK(smpc_msg_verify(&m, other.sign_pk) == SMPC_ERR_AUTH);

	free(bad);
	smpc_free(msg);
}

/* ------------------------------------------------------------ payloads */

/* every proper prefix of a whole-buffer encoding must fail */
typedef int (*decode_fn) (const uint8_t *in, size_t len);

static int
dec_fe(const uint8_t *in, size_t len)
{
	smpc_fe		v[8];
	size_t		n;

	return smpc_fe_vector_decode(in, len, v, 8, &n);
}

static int
dec_env(const uint8_t *in, size_t len)
{
	smpc_envelope_item it[8];
	size_t		n;

	return smpc_envelope_list_decode(in, len, it, 8, &n);
}

static int
dec_str(const uint8_t *in, size_t len)
{
	smpc_str	s[8];
	size_t		n;

	return smpc_str_list_decode(in, len, s, 8, 100, &n);
}

static void
check_prefixes(const uint8_t *enc, size_t len, decode_fn fn)
{
	uint8_t    *buf;

	for (size_t l = 0; l < len; l++)
	{
		int			rc;

		buf = exact_copy(enc, l);
		rc = fn(buf, l);
		if (!CHECK(rc == SMPC_ERR_TRUNCATED))
			fprintf(stderr, "    prefix %zu of %zu: rc %d\n", l, len, rc);
		free(buf);
	}
	buf = exact_copy(enc, len + 1);
	buf[len] = 0;
	CHECK(fn(buf, len + 1) == SMPC_ERR_TRAILING);
	free(buf);
	buf = exact_copy(enc, len);
	CHECK(fn(buf, len) == SMPC_OK);
	free(buf);
}

static void
test_fe_vector(void)
{
	const smpc_fe v[] = {5, SMPC_FIELD_P - 1, 0, ((smpc_fe) 1) << 100};
	smpc_fe		out[8];
	uint8_t    *enc = NULL;
	uint8_t    *bad;
	size_t		len = 0,
				n = 99;

	REQUIRE(smpc_fe_vector_encode(v, 4, &enc, &len) == SMPC_OK);
	CHECK(len == 4 + 4 * 16);
	REQUIRE(smpc_fe_vector_decode(enc, len, out, 8, &n) == SMPC_OK);
	CHECK(n == 4 && memcmp(out, v, sizeof(v)) == 0);
	check_prefixes(enc, len, dec_fe);

	/* count over the caller's maximum */
	CHECK(smpc_fe_vector_decode(enc, len, out, 3, &n) == SMPC_ERR_TOO_LARGE && n == 0);
	CHECK(smpc_fe_vector_decode(enc, len, out, 4, &n) == SMPC_OK && n == 4);

	bad = exact_copy(enc, len);
	/* element == p, element == p + 1, all ones, at index 1 */
	{
		uint8_t		p_bytes[16];

		memset(p_bytes, 0xFF, 16);
		p_bytes[15] = 0x7F;		/* p = 2^127 - 1 little-endian */
		memcpy(bad + 4 + 16, p_bytes, 16);
		CHECK(smpc_fe_vector_decode(bad, len, out, 8, &n) == SMPC_ERR_RANGE && n == 0);
		p_bytes[0] = 0x00;
		p_bytes[15] = 0x80;		/* p + 1 = 2^127 */
		memcpy(bad + 4 + 16, p_bytes, 16);
		CHECK(smpc_fe_vector_decode(bad, len, out, 8, &n) == SMPC_ERR_RANGE);
		memset(bad + 4 + 16, 0xFF, 16);
		CHECK(smpc_fe_vector_decode(bad, len, out, 8, &n) == SMPC_ERR_RANGE);
	}

	/* count larger than the data */
	memcpy(bad, enc, len);
	put_le32(bad, 5);
	CHECK(smpc_fe_vector_decode(bad, len, out, 8, &n) == SMPC_ERR_TRUNCATED);
	put_le32(bad, 0xFFFFFFFFu);
	CHECK(smpc_fe_vector_decode(bad, len, out, 8, &n) == SMPC_ERR_TOO_LARGE);
	CHECK(smpc_fe_vector_decode(bad, len, out, SIZE_MAX, &n) == SMPC_ERR_TRUNCATED);
	put_le32(bad, 3);
	CHECK(smpc_fe_vector_decode(bad, len, out, 8, &n) == SMPC_ERR_TRAILING);
	free(bad);
	smpc_free(enc);

	/* empty vector */
	REQUIRE(smpc_fe_vector_encode(NULL, 0, &enc, &len) == SMPC_OK);
	CHECK(len == 4);
	CHECK(smpc_fe_vector_decode(enc, len, NULL, 0, &n) == SMPC_OK && n == 0);
	smpc_free(enc);
}

static void
test_envelope_list(void)
{
	uint8_t		e0[SMPC_ENVELOPE_OVERHEAD],
				e1[SMPC_ENVELOPE_OVERHEAD + 9],
				e2[SMPC_ENVELOPE_OVERHEAD + 1];
	smpc_envelope_item items[3],
				out[8];
	uint8_t    *enc = NULL;
	uint8_t    *bad;
	size_t		len = 0,
				n = 99;

	randombytes_buf(e0, sizeof(e0));
	randombytes_buf(e1, sizeof(e1));
	randombytes_buf(e2, sizeof(e2));
	memset(items, 0, sizeof(items));
	memset(items[0].recipient_pk, 0x11, 32);
	memset(items[1].recipient_pk, 0x22, 32);
	memset(items[2].recipient_pk, 0x33, 32);
	items[0].env = e0;
	items[0].env_len = sizeof(e0);
	items[1].env = e1;
	items[1].env_len = sizeof(e1);
	items[2].env = e2;
	items[2].env_len = sizeof(e2);

	REQUIRE(smpc_envelope_list_encode(items, 3, &enc, &len) == SMPC_OK);
	CHECK(len == 2 + 3 * 36 + sizeof(e0) + sizeof(e1) + sizeof(e2));
	REQUIRE(smpc_envelope_list_decode(enc, len, out, 8, &n) == SMPC_OK);
	REQUIRE(n == 3);
	for (int i = 0; i < 3; i++)
	{
		CHECK(memcmp(out[i].recipient_pk, items[i].recipient_pk, 32) == 0);
		CHECK(out[i].env_len == items[i].env_len);
		CHECK(memcmp(out[i].env, items[i].env, items[i].env_len) == 0);
		CHECK(out[i].env > enc && out[i].env < enc + len);
	}
	check_prefixes(enc, len, dec_env);

	bad = exact_copy(enc, len);
	/* count larger than the data: 4 items, or 0xFFFF with a large maximum */
	bad[0] = 4;
	CHECK(smpc_envelope_list_decode(bad, len, out, 8, &n) == SMPC_ERR_TRUNCATED && n == 0);
	bad[0] = 0xFF;
	bad[1] = 0xFF;
	CHECK(smpc_envelope_list_decode(bad, len, out, 8, &n) == SMPC_ERR_TOO_LARGE);
	{
		smpc_envelope_item *many = calloc(65535, sizeof(*many));

		REQUIRE(many != NULL);
		CHECK(smpc_envelope_list_decode(bad, len, many, 65535, &n) == SMPC_ERR_TRUNCATED);
		free(many);
	}
	/* over the caller's maximum */
	CHECK(smpc_envelope_list_decode(enc, len, out, 2, &n) == SMPC_ERR_TOO_LARGE);
	/* an envelope shorter than the AEAD overhead */
	memcpy(bad, enc, len);
	put_le32(bad + 2 + 32, SMPC_ENVELOPE_OVERHEAD - 1);
	CHECK(smpc_envelope_list_decode(bad, len, out, 8, &n) == SMPC_ERR_MALFORMED);
	free(bad);
	smpc_free(enc);

	/* the encoder refuses short envelopes and too many items */
	items[1].env_len = SMPC_ENVELOPE_OVERHEAD - 1;
	CHECK(smpc_envelope_list_encode(items, 3, &enc, &len) == SMPC_ERR_ARG);
	CHECK(smpc_envelope_list_encode(items, 65536, &enc, &len) == SMPC_ERR_TOO_LARGE);
}

static void
test_str_list(void)
{
	const smpc_str items[] = {
		{"sum", 3}, {"", 0}, {"caf\xc3\xa9", 5}, {"a longer string value", 21}
	};
	smpc_str	out[8];
	uint8_t    *enc = NULL;
	uint8_t    *bad;
	size_t		len = 0,
				n = 0;

	REQUIRE(smpc_str_list_encode(items, 4, &enc, &len) == SMPC_OK);
	CHECK(len == 2 + 4 * 4 + 3 + 0 + 5 + 21);
	REQUIRE(smpc_str_list_decode(enc, len, out, 8, 100, &n) == SMPC_OK);
	REQUIRE(n == 4);
	for (int i = 0; i < 4; i++)
		CHECK(out[i].len == items[i].len &&
			  memcmp(out[i].ptr, items[i].ptr, items[i].len) == 0);
	check_prefixes(enc, len, dec_str);

	CHECK(smpc_str_list_decode(enc, len, out, 3, 100, &n) == SMPC_ERR_TOO_LARGE);
	CHECK(smpc_str_list_decode(enc, len, out, 8, 20, &n) == SMPC_ERR_TOO_LARGE);
	CHECK(smpc_str_list_decode(enc, len, out, 8, 21, &n) == SMPC_OK);

	bad = exact_copy(enc, len);
	/* embedded NUL in the first string ("sum" -> "s\0m") */
	bad[2 + 4 + 1] = 0;
	CHECK(smpc_str_list_decode(bad, len, out, 8, 100, &n) == SMPC_ERR_MALFORMED && n == 0);
	/* count larger than the data */
	memcpy(bad, enc, len);
	bad[0] = 0xFF;
	bad[1] = 0x7F;
	CHECK(smpc_str_list_decode(bad, len, out, 8, 100, &n) == SMPC_ERR_TOO_LARGE);
	bad[0] = 8;
	bad[1] = 0;
	CHECK(smpc_str_list_decode(bad, len, out, 8, 100, &n) == SMPC_ERR_TRUNCATED);
	free(bad);
	smpc_free(enc);

	/* the encoder refuses NUL */
	{
		const smpc_str nul[] = {{"a\0b", 3}};

		CHECK(smpc_str_list_encode(nul, 1, &enc, &len) == SMPC_ERR_ARG);
	}
}

static void
test_type_names(void)
{
	CHECK(strcmp(smpc_msg_type_name(SMPC_MSG_PREPARE), "prepare") == 0);
	CHECK(strcmp(smpc_msg_type_name(SMPC_MSG_SHARE), "share") == 0);
	CHECK(strcmp(smpc_msg_type_name(SMPC_MSG_COMBINE), "combine") == 0);
	CHECK(strcmp(smpc_msg_type_name(SMPC_MSG_REVEAL), "reveal") == 0);
	CHECK(strcmp(smpc_msg_type_name(SMPC_MSG_FINISH), "finish") == 0);
	CHECK(strcmp(smpc_msg_type_name(SMPC_MSG_INTERSECT), "intersect") == 0);
	CHECK(strcmp(smpc_msg_type_name(SMPC_MSG_HOP), "hop") == 0);
	CHECK(SMPC_MSG_INTERSECT == 6 && SMPC_MSG_HOP == 7);
	CHECK(smpc_msg_type_valid(6) && smpc_msg_type_valid(7) && !smpc_msg_type_valid(8));
	CHECK(strcmp(smpc_msg_type_name(SMPC_MSG_RESPONSE), "response") == 0);
	CHECK(strcmp(smpc_msg_type_name(SMPC_MSG_ERROR), "error") == 0);
	CHECK(strcmp(smpc_msg_type_name(SMPC_MSG_PING), "ping") == 0);
	CHECK(strcmp(smpc_msg_type_name(SMPC_MSG_DESCRIBE), "describe") == 0);
	CHECK(strcmp(smpc_msg_type_name(0), "unknown") == 0);
	CHECK(strcmp(smpc_msg_type_name(255), "unknown") == 0);
	{
		int			valid = 0;

		for (int t = 0; t < 256; t++)
			valid += smpc_msg_type_valid((uint8_t) t);
		CHECK(valid == 11);
	}
}

const unit_case codec_cases[] = {
	{"primitives_roundtrip", test_primitives_roundtrip},
	{"reader_bounds", test_reader_bounds},
	{"reader_str_rejects", test_reader_str_rejects},
	{"writer_limits", test_writer_limits},
	{"signed_roundtrip", test_signed_roundtrip},
	{"signed_encode_args", test_signed_encode_args},
	{"signed_truncations", test_signed_truncations},
	{"signed_rejects", test_signed_rejects},
	{"signed_tamper", test_signed_tamper},
	{"fe_vector", test_fe_vector},
	{"envelope_list", test_envelope_list},
	{"str_list", test_str_list},
	{"type_names", test_type_names},
	{NULL, NULL}
};
