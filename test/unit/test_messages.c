/*
 * test_messages.c
 *		Unit tests of the protocol payloads (src/core/messages.c).
 */
#include <stdlib.h>

#include "messages.h"
#include "unit.h"

static smpc_str
S(const char *s)
{
	smpc_str	r = {s, strlen(s)};

	return r;
}

static int
StrEq(smpc_str a, const char *b)
{
	return a.len == strlen(b) && memcmp(a.ptr, b, a.len) == 0;
}

static void
test_request_header(void)
{
	smpc_writer w;
	smpc_reader r;
	smpc_request_header h = {S("research"), S("analyst")};
	smpc_request_header got;
	uint8_t    *buf;
	size_t		len;

	smpc_writer_init(&w, 1024);
	smpc_request_header_put(&w, &h);
	REQUIRE(smpc_writer_finish(&w, &buf, &len) == SMPC_OK);
	smpc_reader_init(&r, buf, len);
	REQUIRE(smpc_request_header_get(&r, &got) == SMPC_OK);
	CHECK(StrEq(got.federation, "research"));
	CHECK(StrEq(got.initiator_role, "analyst"));
	CHECK(smpc_reader_finish(&r) == SMPC_OK);
	/* every truncation fails */
	for (size_t cut = 0; cut < len; cut++)
	{
		uint8_t    *copy = malloc(cut ? cut : 1);

		memcpy(copy, buf, cut);
		smpc_reader_init(&r, copy, cut);
		CHECK(smpc_request_header_get(&r, &got) != SMPC_OK);
		free(copy);
	}
	smpc_free(buf);

	/* an empty federation name and an over-long role are refused */
	h.federation = S("");
	smpc_writer_init(&w, 1024);
	smpc_request_header_put(&w, &h);
	REQUIRE(smpc_writer_finish(&w, &buf, &len) == SMPC_OK);
	smpc_reader_init(&r, buf, len);
	CHECK(smpc_request_header_get(&r, &got) == SMPC_ERR_MALFORMED);
	smpc_free(buf);
	{
		char		longname[SMPC_MAX_ROLE_LEN + 2];

		memset(longname, 'a', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		h.federation = S("research");
		h.initiator_role = S(longname);
		smpc_writer_init(&w, 1024);
		smpc_request_header_put(&w, &h);
		REQUIRE(smpc_writer_finish(&w, &buf, &len) == SMPC_OK);
		smpc_reader_init(&r, buf, len);
		CHECK(smpc_request_header_get(&r, &got) == SMPC_ERR_TOO_LARGE);
		smpc_free(buf);
	}
}

static void
test_ping_reply(void)
{
	smpc_ping_reply p = {S("city"), S("0.1")};
	smpc_ping_reply got;
	uint8_t    *buf;
	size_t		len;

	REQUIRE(smpc_ping_reply_encode(&p, &buf, &len) == SMPC_OK);
	REQUIRE(smpc_ping_reply_decode(buf, len, &got) == SMPC_OK);
	CHECK(StrEq(got.node_name, "city"));
	CHECK(StrEq(got.extension_version, "0.1"));
	CHECK(smpc_ping_reply_decode(buf, len - 1, &got) != SMPC_OK);
	{
		uint8_t    *longer = malloc(len + 1);

		memcpy(longer, buf, len);
		longer[len] = 0;
		CHECK(smpc_ping_reply_decode(longer, len + 1, &got) == SMPC_ERR_TRAILING);
		free(longer);
	}
	smpc_free(buf);
}

static void
test_describe_reply(void)
{
	smpc_column_desc cols[2] = {
		{S("age"), S("integer"), 'n'},
		{S("ward"), S("text"), 'r'},
	};
	smpc_dataset_desc ds[1] = {{S("admissions"), 2, cols}};
	smpc_dataset_desc *got;
	size_t		n;
	uint8_t    *buf;
	size_t		len;

	REQUIRE(smpc_describe_reply_encode(ds, 1, &buf, &len) == SMPC_OK);
	REQUIRE(smpc_describe_reply_decode(buf, len, &got, &n) == SMPC_OK);
	REQUIRE(n == 1);
	CHECK(StrEq(got[0].name, "admissions"));
	REQUIRE(got[0].ncolumns == 2);
	CHECK(StrEq(got[0].columns[1].name, "ward"));
	CHECK(StrEq(got[0].columns[1].type_name, "text"));
	CHECK(got[0].columns[1].group_policy == 'r');
	smpc_describe_reply_free(got, n);

	/* every truncation is refused, from a buffer of exactly that size */
	for (size_t cut = 0; cut < len; cut++)
	{
		uint8_t    *copy = malloc(cut ? cut : 1);

		memcpy(copy, buf, cut);
		CHECK(smpc_describe_reply_decode(copy, cut, &got, &n) != SMPC_OK);
		CHECK(got == NULL && n == 0);
		free(copy);
	}
	/* an unknown policy byte is malformed (it is the last byte) */
	buf[len - 1] = 'x';
	CHECK(smpc_describe_reply_decode(buf, len, &got, &n) == SMPC_ERR_MALFORMED);
	/* a dataset count far beyond the data is refused before allocating */
	buf[0] = 0xff;
	buf[1] = 0x03;
	CHECK(smpc_describe_reply_decode(buf, len, &got, &n) == SMPC_ERR_TRUNCATED);
	buf[1] = 0xff;
	CHECK(smpc_describe_reply_decode(buf, len, &got, &n) == SMPC_ERR_TOO_LARGE);
	smpc_free(buf);
}

const unit_case messages_cases[] = {
	{"request_header", test_request_header},
	{"ping_reply", test_ping_reply},
	{"describe_reply", test_describe_reply},
	{NULL, NULL}
};
