/*
 * test_encode.c
 *		Unit tests for the exact fixed-point field encodings (src/core/encode.c).
 *
 * Covers integer bounds, signed decoding of aggregates, decimal parsing
 * (syntax, NaN/Infinity, surplus fraction digits, exact overflow at every
 * scale) and decimal formatting, plus random round trips.
 */
#include <sodium.h>

#include "unit.h"
#include "field.h"
#include "encode.h"

#define P SMPC_FIELD_P
#define MAXABS SMPC_ENC_MAX_ABS

static void
test_int64_round_trip(void)
{
	const int64_t vals[] = {0, 1, -1, 42, -42, INT64_MAX, INT64_MIN,
	INT64_MAX - 1, INT64_MIN + 1, (int64_t) 1 << 40, -((int64_t) 1 << 40)};
	smpc_fe		f;
	int64_t		back;

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
	{
		REQUIRE(smpc_encode_int64(vals[i], &f) == SMPC_OK);
		CHECK(f < P);
		CHECK(smpc_decode_int64(f, &back) == SMPC_OK && back == vals[i]);
	}
	CHECK(smpc_encode_int64(-1, &f) == SMPC_OK && f == P - 1);
	CHECK(smpc_encode_int64(5, &f) == SMPC_OK && f == 5);
	CHECK(smpc_encode_int64(INT64_MIN, &f) == SMPC_OK &&
		  f == P - ((smpc_fe) 1 << 63));
	CHECK(smpc_encode_int64(1, NULL) == SMPC_ERR_ARG);
}

static void
test_i128_bounds(void)
{
	smpc_fe		f = 123;
	smpc_i128	v;

	CHECK(MAXABS == (smpc_i128) 0x7fffffffffffffLL * ((smpc_i128) 1 << 64) +
		  (smpc_i128) UINT64_MAX);
	REQUIRE(smpc_encode_i128(MAXABS, &f) == SMPC_OK);
	CHECK(smpc_decode_i128(f, &v) == SMPC_OK && v == MAXABS);
	REQUIRE(smpc_encode_i128(-MAXABS, &f) == SMPC_OK);
	CHECK(smpc_decode_i128(f, &v) == SMPC_OK && v == -MAXABS);
	f = 123;
	CHECK(smpc_encode_i128(MAXABS + 1, &f) == SMPC_ERR_OVERFLOW);
	CHECK(smpc_encode_i128(-MAXABS - 1, &f) == SMPC_ERR_OVERFLOW);
	CHECK(smpc_encode_i128((smpc_i128) SMPC_FIELD_HALF, &f) == SMPC_ERR_OVERFLOW);
	CHECK(smpc_encode_i128(-(smpc_i128) SMPC_FIELD_HALF - 1, &f) == SMPC_ERR_OVERFLOW);
	CHECK(f == 123);
	CHECK(smpc_decode_i128(P, &v) == SMPC_ERR_RANGE);
	CHECK(smpc_decode_i128(0, NULL) == SMPC_ERR_ARG);
}

/* 64 extreme members sum without wrapping, in both directions. */
static void
test_sums_do_not_wrap(void)
{
	smpc_fe		pos = 0,
				neg = 0,
				f;
	smpc_i128	v;

	for (int i = 0; i < 64; i++)
	{
		REQUIRE(smpc_encode_i128(MAXABS, &f) == SMPC_OK);
		pos = smpc_fe_add(pos, f);
		REQUIRE(smpc_encode_i128(-MAXABS, &f) == SMPC_OK);
		neg = smpc_fe_add(neg, f);
	}
	CHECK(smpc_decode_i128(pos, &v) == SMPC_OK && v == 64 * MAXABS);
	CHECK(smpc_decode_i128(neg, &v) == SMPC_OK && v == -64 * MAXABS);
	/* 64 * 2^119 must stay below (p-1)/2 */
	CHECK((smpc_fe) 64 * ((smpc_fe) MAXABS + 1) < SMPC_FIELD_HALF);
}

static void
test_negative_sums(void)
{
	smpc_fe		a,
				b;
	smpc_i128	v;
	int64_t		v64;
	char		buf[SMPC_DECIMAL_BUFLEN];

	REQUIRE(smpc_encode_int64(-5, &a) == SMPC_OK);
	REQUIRE(smpc_encode_int64(3, &b) == SMPC_OK);
	CHECK(smpc_decode_i128(smpc_fe_add(a, b), &v) == SMPC_OK && v == -2);
	CHECK(smpc_decode_int64(smpc_fe_add(a, b), &v64) == SMPC_OK && v64 == -2);
	REQUIRE(smpc_encode_decimal("-1.25", 2, &a) == SMPC_OK);
	REQUIRE(smpc_encode_decimal("0.20", 2, &b) == SMPC_OK);
	CHECK(smpc_decode_decimal(smpc_fe_add(a, b), 2, buf, sizeof(buf)) == SMPC_OK &&
		  strcmp(buf, "-1.05") == 0);
	CHECK(smpc_decode_decimal(P - 1, 2, buf, sizeof(buf)) == SMPC_OK &&
		  strcmp(buf, "-0.01") == 0);
}

static void
test_decode_int64_overflow(void)
{
	smpc_fe		f;
	int64_t		v = 77;

	REQUIRE(smpc_encode_i128((smpc_i128) INT64_MAX + 1, &f) == SMPC_OK);
	CHECK(smpc_decode_int64(f, &v) == SMPC_ERR_OVERFLOW);
	REQUIRE(smpc_encode_i128((smpc_i128) INT64_MIN - 1, &f) == SMPC_OK);
	CHECK(smpc_decode_int64(f, &v) == SMPC_ERR_OVERFLOW);
	CHECK(smpc_decode_int64(SMPC_FIELD_HALF, &v) == SMPC_ERR_OVERFLOW);
	CHECK(smpc_decode_int64(SMPC_FIELD_HALF + 1, &v) == SMPC_ERR_OVERFLOW);
	CHECK(v == 77);
	CHECK(smpc_decode_int64(P, &v) == SMPC_ERR_RANGE);
	CHECK(smpc_decode_int64(0, NULL) == SMPC_ERR_ARG);
}

typedef struct parse_case
{
	const char *text;
	int			scale;
	int			rc;
	int64_t		value;			/* expected scaled value when rc == OK */
} parse_case;

static void
test_parse_decimal_table(void)
{
	const parse_case cases[] = {
		{"0", 0, SMPC_OK, 0},
		{"123", 0, SMPC_OK, 123},
		{"123", 3, SMPC_OK, 123000},
		{"-0.50", 2, SMPC_OK, -50},
		{"-0.50", 1, SMPC_OK, -5},
		{"-0.50", 3, SMPC_OK, -500},
		{"1.20", 1, SMPC_OK, 12},
		{"1.25", 1, SMPC_ERR_RANGE, 0},
		{"1.001", 2, SMPC_ERR_RANGE, 0},
		{"1.000000", 0, SMPC_OK, 1},
		{"0.05", 2, SMPC_OK, 5},
		{".5", 1, SMPC_OK, 5},
		{"5.", 0, SMPC_OK, 5},
		{"+7", 0, SMPC_OK, 7},
		{"-0", 0, SMPC_OK, 0},
		{"-0.000", 1, SMPC_OK, 0},
		{"007.10", 2, SMPC_OK, 710},
		{"-9223372036854775808", 0, SMPC_OK, INT64_MIN},
		{"", 0, SMPC_ERR_SYNTAX, 0},
		{"-", 0, SMPC_ERR_SYNTAX, 0},
		{"+", 0, SMPC_ERR_SYNTAX, 0},
		{".", 0, SMPC_ERR_SYNTAX, 0},
		{"-.", 2, SMPC_ERR_SYNTAX, 0},
		{"1..2", 2, SMPC_ERR_SYNTAX, 0},
		{"1.2.3", 2, SMPC_ERR_SYNTAX, 0},
		{"1e5", 0, SMPC_ERR_SYNTAX, 0},
		{"1E5", 0, SMPC_ERR_SYNTAX, 0},
		{"abc", 0, SMPC_ERR_SYNTAX, 0},
		{" 1", 0, SMPC_ERR_SYNTAX, 0},
		{"1 ", 0, SMPC_ERR_SYNTAX, 0},
		{"+-1", 0, SMPC_ERR_SYNTAX, 0},
		{"--1", 0, SMPC_ERR_SYNTAX, 0},
		{"0x10", 0, SMPC_ERR_SYNTAX, 0},
		{"1,5", 1, SMPC_ERR_SYNTAX, 0},
		{"1.5x", 1, SMPC_ERR_SYNTAX, 0},
		{"NaN", 0, SMPC_ERR_RANGE, 0},
		{"nan", 2, SMPC_ERR_RANGE, 0},
		{"Infinity", 0, SMPC_ERR_RANGE, 0},
		{"-Infinity", 0, SMPC_ERR_RANGE, 0},
		{"+inf", 0, SMPC_ERR_RANGE, 0},
		{"-INF", 0, SMPC_ERR_RANGE, 0},
		{"NaNx", 0, SMPC_ERR_SYNTAX, 0},
		{"1", -1, SMPC_ERR_ARG, 0},
		{"1", SMPC_ENC_MAX_SCALE + 1, SMPC_ERR_ARG, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		smpc_i128	v = 31337;
		smpc_fe		f = 31337;
		int			rc = smpc_parse_decimal(cases[i].text, cases[i].scale, &v);

		if (!CHECK(rc == cases[i].rc))
			fprintf(stderr, "    case \"%s\" scale %d: got %d\n",
					cases[i].text, cases[i].scale, rc);
		if (cases[i].rc == SMPC_OK)
		{
			CHECK(v == cases[i].value);
			CHECK(smpc_encode_decimal(cases[i].text, cases[i].scale, &f) == SMPC_OK);
			CHECK(smpc_fe_to_i128(f) == cases[i].value);
		}
		else
		{
			CHECK(v == 31337);
			CHECK(smpc_encode_decimal(cases[i].text, cases[i].scale, &f) == cases[i].rc);
			CHECK(f == 31337);
		}
	}
	CHECK(smpc_parse_decimal(NULL, 0, NULL) == SMPC_ERR_ARG);
	CHECK(smpc_encode_decimal("1", 0, NULL) == SMPC_ERR_ARG);
}

static void
test_parse_overflow(void)
{
	char		buf[128];
	smpc_i128	v;

	/* 60 nines, and 1 followed by 59 zeros */
	memset(buf, '9', 60);
	buf[60] = '\0';
	CHECK(smpc_parse_decimal(buf, 0, &v) == SMPC_ERR_OVERFLOW);
	buf[0] = '-';
	CHECK(smpc_parse_decimal(buf, 0, &v) == SMPC_ERR_OVERFLOW);
	buf[0] = '1';
	memset(buf + 1, '0', 59);
	CHECK(smpc_parse_decimal(buf, 0, &v) == SMPC_ERR_OVERFLOW);
	/* a syntax error later in the string wins over overflow */
	buf[59] = 'x';
	CHECK(smpc_parse_decimal(buf, 0, &v) == SMPC_ERR_SYNTAX);

	/* 2^128 + 5 and 2^127 + 5: naive wrapping accumulators would see 5 */
	CHECK(smpc_parse_decimal("340282366920938463463374607431768211461", 0, &v) ==
		  SMPC_ERR_OVERFLOW);
	CHECK(smpc_parse_decimal("170141183460469231731687303715884105733", 0, &v) ==
		  SMPC_ERR_OVERFLOW);
	/* 2^119 - 1 is the largest accepted, 2^119 the smallest rejected */
	CHECK(smpc_parse_decimal("664613997892457936451903530140172287", 0, &v) == SMPC_OK &&
		  v == MAXABS);
	CHECK(smpc_parse_decimal("-664613997892457936451903530140172287", 0, &v) == SMPC_OK &&
		  v == -MAXABS);
	CHECK(smpc_parse_decimal("664613997892457936451903530140172288", 0, &v) ==
		  SMPC_ERR_OVERFLOW);
	CHECK(smpc_parse_decimal("-664613997892457936451903530140172288", 0, &v) ==
		  SMPC_ERR_OVERFLOW);
	/* leading zeros do not count toward overflow */
	CHECK(smpc_parse_decimal("0000000000000000000000000000000000000000000000001", 0, &v) ==
		  SMPC_OK && v == 1);
	/* scale padding can overflow: 1 at scale 30 fits, 10^6 at scale 30 does not */
	CHECK(smpc_parse_decimal("1", 30, &v) == SMPC_OK);
	CHECK(smpc_parse_decimal("1000000", 30, &v) == SMPC_ERR_OVERFLOW);

	/* exact boundary at every scale, via the formatter */
	for (int scale = 0; scale <= SMPC_ENC_MAX_SCALE; scale++)
	{
		REQUIRE(smpc_format_decimal(MAXABS, scale, buf, sizeof(buf)) == SMPC_OK);
		if (!CHECK(smpc_parse_decimal(buf, scale, &v) == SMPC_OK && v == MAXABS))
			return;
		REQUIRE(smpc_format_decimal(-MAXABS - 1, scale, buf, sizeof(buf)) == SMPC_OK);
		if (!CHECK(smpc_parse_decimal(buf, scale, &v) == SMPC_ERR_OVERFLOW))
			return;
	}
}

typedef struct format_case
{
	smpc_i128	v;
	int			scale;
	const char *text;
} format_case;

static void
test_format_decimal(void)
{
	const smpc_i128 i128_max = (smpc_i128) (~(unsigned __int128) 0 >> 1);
	const format_case cases[] = {
		{-12340, 3, "-12.340"},
		{5, 2, "0.05"},
		{-5, 2, "-0.05"},
		{0, 0, "0"},
		{0, 3, "0.000"},
		{123, 0, "123"},
		{-123, 0, "-123"},
		{100, 2, "1.00"},
		{1, 30, "0.000000000000000000000000000001"},
		{i128_max, 0, "170141183460469231731687303715884105727"},
		{-i128_max - 1, 0, "-170141183460469231731687303715884105728"},
		{-i128_max - 1, 30, "-170141183.460469231731687303715884105728"},
	};
	char		buf[SMPC_DECIMAL_BUFLEN];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		size_t		len = strlen(cases[i].text);

		if (!CHECK(smpc_format_decimal(cases[i].v, cases[i].scale, buf, sizeof(buf)) ==
				   SMPC_OK) ||
			!CHECK(strcmp(buf, cases[i].text) == 0))
			fprintf(stderr, "    expected \"%s\" got \"%s\"\n", cases[i].text, buf);
		/* exact buffer size works, one less does not */
		CHECK(smpc_format_decimal(cases[i].v, cases[i].scale, buf, len + 1) == SMPC_OK);
		CHECK(smpc_format_decimal(cases[i].v, cases[i].scale, buf, len) == SMPC_ERR_ARG);
	}
	CHECK(smpc_i128_to_text(-i128_max - 1, buf, SMPC_I128_TEXT_BUFLEN) == SMPC_OK &&
		  strcmp(buf, "-170141183460469231731687303715884105728") == 0);
	CHECK(smpc_i128_to_text(-7, buf, 2) == SMPC_ERR_ARG);
	CHECK(smpc_format_decimal(1, -1, buf, sizeof(buf)) == SMPC_ERR_ARG);
	CHECK(smpc_format_decimal(1, 31, buf, sizeof(buf)) == SMPC_ERR_ARG);
	CHECK(smpc_format_decimal(1, 0, NULL, 10) == SMPC_ERR_ARG);
	CHECK(smpc_decode_decimal(P, 0, buf, sizeof(buf)) == SMPC_ERR_RANGE);
	CHECK(smpc_decode_decimal(1, 2, buf, 4) == SMPC_ERR_ARG);
	CHECK(smpc_decode_decimal(1, 2, buf, 5) == SMPC_OK && strcmp(buf, "0.01") == 0);
}

/* Random values and scales: format -> parse and encode -> decode agree. */
static void
test_decimal_random_round_trip(void)
{
	for (int i = 0; i < 5000; i++)
	{
		smpc_i128	v,
					back;
		int			scale = (int) randombytes_uniform(SMPC_ENC_MAX_SCALE + 1);
		char		text[SMPC_DECIMAL_BUFLEN];
		char		text2[SMPC_DECIMAL_BUFLEN];
		char		padded[SMPC_DECIMAL_BUFLEN + 8];
		smpc_fe		f;

		randombytes_buf(&v, sizeof(v));
		v >>= 9 + randombytes_uniform(119);	/* |v| <= 2^118 */
		REQUIRE(smpc_format_decimal(v, scale, text, sizeof(text)) == SMPC_OK);
		if (!CHECK(smpc_parse_decimal(text, scale, &back) == SMPC_OK && back == v))
		{
			fprintf(stderr, "    text \"%s\" scale %d\n", text, scale);
			return;
		}
		REQUIRE(smpc_encode_decimal(text, scale, &f) == SMPC_OK);
		REQUIRE(smpc_decode_decimal(f, scale, text2, sizeof(text2)) == SMPC_OK);
		if (!CHECK(strcmp(text, text2) == 0))
			return;
		/* trailing fraction zeros beyond the scale are accepted */
		snprintf(padded, sizeof(padded), "%s%s", text, scale == 0 ? ".000" : "00");
		if (!CHECK(smpc_parse_decimal(padded, scale, &back) == SMPC_OK && back == v))
			return;
		/* a nonzero digit beyond the scale is refused */
		snprintf(padded, sizeof(padded), "%s%s", text, scale == 0 ? ".3" : "03");
		if (!CHECK(smpc_parse_decimal(padded, scale, &back) == SMPC_ERR_RANGE))
			return;
	}
}

const unit_case encode_cases[] = {
	{"int64_round_trip", test_int64_round_trip},
	{"i128_bounds", test_i128_bounds},
	{"sums_do_not_wrap", test_sums_do_not_wrap},
	{"negative_sums", test_negative_sums},
	{"decode_int64_overflow", test_decode_int64_overflow},
	{"parse_decimal_table", test_parse_decimal_table},
	{"parse_overflow", test_parse_overflow},
	{"format_decimal", test_format_decimal},
	{"decimal_random_round_trip", test_decimal_random_round_trip},
	{NULL, NULL}
};
