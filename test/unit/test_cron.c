/*
 * test_cron.c
 *		Unit tests of the cron expression parser and next-time calculator
 *		(src/core/cron.c).
 *
 * The parser is checked on hand-written expressions with hand-computed bit
 * sets and on every refusal reason.  smpc_cron_weekday is checked against
 * known dates and a day-by-day walk of the calendar kept here.
 * smpc_cron_next is checked on hand-computed answers, on garbage input,
 * and against a reference: random expressions are generated together with
 * the value sets they denote (computed here, not by the parser), and the
 * answer is compared with a minute-by-minute search over a calendar of
 * this file's own (two years from each start, and on to the end of
 * smpc_cron_next's horizon for the few that find nothing in two years).  The random sequence is fixed (splitmix64, constant
 * seed), so a failure repeats.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "cron.h"
#include "unit.h"

#define ALL_MINUTES ((((uint64_t) 1) << 60) - 1)
#define ALL_HOURS ((((uint32_t) 1) << 24) - 1)
#define ALL_MDAYS ((uint32_t) 0xfffffffe)
#define ALL_MONTHS ((uint16_t) 0x1ffe)
#define ALL_WDAYS ((uint8_t) 0x7f)

/* ------------------------------------------------------ reference calendar */

static bool
ref_leap(int y)
{
	if (y % 400 == 0)
		return true;
	if (y % 100 == 0)
		return false;
	return y % 4 == 0;
}

static int
ref_dim(int y, int m)
{
	switch (m)
	{
		case 2:
			return ref_leap(y) ? 29 : 28;
		case 4:
		case 6:
		case 9:
		case 11:
			return 30;
		default:
			return 31;
	}
}

/* Weekday by counting whole years and months from Thursday 1970-01-01. */
static int
ref_weekday(int y, int m, int d)
{
	long		days = 0;

	for (int yy = 1970; yy < y; yy++)
		days += ref_leap(yy) ? 366 : 365;
	for (int yy = y; yy < 1970; yy++)
		days -= ref_leap(yy) ? 366 : 365;
	for (int mm = 1; mm < m; mm++)
		days += ref_dim(y, mm);
	days += d - 1;
	return (int) (((days + 4) % 7 + 7) % 7);
}

static smpc_cron_time
tm_make(int y, int mo, int d, int h, int mi)
{
	smpc_cron_time t;

	t.year = y;
	t.month = mo;
	t.mday = d;
	t.hour = h;
	t.minute = mi;
	return t;
}

static bool
tm_equal(const smpc_cron_time *a, const smpc_cron_time *b)
{
	return a->year == b->year && a->month == b->month && a->mday == b->mday &&
		a->hour == b->hour && a->minute == b->minute;
}

/* minutes since 1970-01-01 00:00 */
static long
tm_minutes(const smpc_cron_time *t)
{
	long		days = 0;

	for (int yy = 1970; yy < t->year; yy++)
		days += ref_leap(yy) ? 366 : 365;
	for (int mm = 1; mm < t->month; mm++)
		days += ref_dim(t->year, mm);
	days += t->mday - 1;
	return (days * 24 + t->hour) * 60 + t->minute;
}

static void
tm_print(const char *label, const smpc_cron_time *t)
{
	fprintf(stderr, "      %s %04d-%02d-%02d %02d:%02d\n", label,
			t->year, t->month, t->mday, t->hour, t->minute);
}

/* ------------------------------------------------------------- helpers */

static uint64_t
span_bits(int lo, int hi, int step)
{
	uint64_t	b = 0;

	for (int v = lo; v <= hi; v += step)
		b |= (uint64_t) 1 << v;
	return b;
}

/* Parse text; CHECK success; returns the status. */
static int
parse_ok(const char *text, smpc_cron *c)
{
	char		err[200] = "";
	int			rc = smpc_cron_parse(text, c, err, sizeof(err));

	if (!CHECK(rc == SMPC_OK))
		fprintf(stderr, "      text \"%s\": %s\n", text, err);
	return rc;
}

static bool
cron_equal(const smpc_cron *a, const smpc_cron *b)
{
	return a->minutes == b->minutes && a->hours == b->hours &&
		a->mdays == b->mdays && a->months == b->months &&
		a->wdays == b->wdays && a->mday_any == b->mday_any &&
		a->wday_any == b->wday_any;
}

/* ------------------------------------------------------------- weekday */

static void
test_weekday_known(void)
{
	CHECK(smpc_cron_weekday(2026, 11, 21) == 6);	/* Saturday */
	CHECK(smpc_cron_weekday(2000, 1, 1) == 6);	/* Saturday */
	CHECK(smpc_cron_weekday(1970, 1, 1) == 4);	/* Thursday */
	CHECK(smpc_cron_weekday(2026, 1, 1) == 4);	/* Thursday */
	CHECK(smpc_cron_weekday(2026, 11, 20) == 5);	/* Friday */
	CHECK(smpc_cron_weekday(2104, 2, 29) == 5);	/* Friday */
	CHECK(smpc_cron_weekday(1, 1, 1) == 1);	/* Monday, proleptic Gregorian */
	CHECK(smpc_cron_weekday(2000, 2, 29) == 2);	/* Tuesday */

	/* invalid dates */
	CHECK(smpc_cron_weekday(1900, 2, 29) == -1);
	CHECK(smpc_cron_weekday(2100, 2, 29) == -1);
	CHECK(smpc_cron_weekday(2026, 2, 29) == -1);
	CHECK(smpc_cron_weekday(2026, 4, 31) == -1);
	CHECK(smpc_cron_weekday(2026, 13, 1) == -1);
	CHECK(smpc_cron_weekday(2026, 0, 1) == -1);
	CHECK(smpc_cron_weekday(2026, 1, 0) == -1);
	CHECK(smpc_cron_weekday(2026, 1, 32) == -1);
	CHECK(smpc_cron_weekday(0, 1, 1) == -1);
	CHECK(smpc_cron_weekday(-400, 1, 1) == -1);
	CHECK(smpc_cron_weekday(10000, 1, 1) == -1);
	CHECK(smpc_cron_weekday(2147483647, 12, 31) == -1);
	CHECK(smpc_cron_weekday(-2147483647 - 1, 1, 1) == -1);
	CHECK(smpc_cron_weekday(9999, 12, 31) == 5);	/* Friday */
}

/* Every day from 1600-01-01 to 2400-12-31: weekdays advance by one. */
static void
test_weekday_walk(void)
{
	int			wd = ref_weekday(1600, 1, 1);
	int			bad = 0;

	REQUIRE(ref_weekday(1970, 1, 1) == 4 && ref_weekday(2000, 1, 1) == 6);
	for (int y = 1600; y <= 2400; y++)
		for (int m = 1; m <= 12; m++)
			for (int d = 1; d <= 31; d++)
			{
				if (d > ref_dim(y, m))
				{
					if (smpc_cron_weekday(y, m, d) != -1 && bad++ < 5)
						CHECK(!"a day the month does not have got a weekday");
					continue;
				}
				if (smpc_cron_weekday(y, m, d) != wd && bad++ < 5)
				{
					CHECK(smpc_cron_weekday(y, m, d) == wd);
					fprintf(stderr, "      %04d-%02d-%02d\n", y, m, d);
				}
				wd = (wd + 1) % 7;
			}
	CHECK(bad == 0);
}

/* ------------------------------------------------------------- parsing */

static void
test_parse_fields(void)
{
	smpc_cron	c;

	REQUIRE(parse_ok("* * * * *", &c) == SMPC_OK);
	CHECK(c.minutes == ALL_MINUTES);
	CHECK(c.hours == ALL_HOURS);
	CHECK(c.mdays == ALL_MDAYS);
	CHECK(c.months == ALL_MONTHS);
	CHECK(c.wdays == ALL_WDAYS);
	CHECK(c.mday_any && c.wday_any);

	REQUIRE(parse_ok("*/15 0-6/2,23 1,15 JAN-MAR,dec sun,7,Sat", &c) == SMPC_OK);
	CHECK(c.minutes == span_bits(0, 45, 15));
	CHECK(c.hours == (span_bits(0, 6, 2) | span_bits(23, 23, 1)));
	CHECK(c.mdays == (span_bits(1, 1, 1) | span_bits(15, 15, 1)));
	CHECK(c.months == (span_bits(1, 3, 1) | span_bits(12, 12, 1)));
	CHECK(c.wdays == (span_bits(0, 0, 1) | span_bits(6, 6, 1)));
	CHECK(!c.mday_any && !c.wday_any);

	/* a/n runs to the field's end; for day-of-week that is 7 = Sunday */
	REQUIRE(parse_ok("5/20 22/1 28/2 11/1 1/2", &c) == SMPC_OK);
	CHECK(c.minutes == span_bits(5, 45, 20));
	CHECK(c.hours == span_bits(22, 23, 1));
	CHECK(c.mdays == span_bits(28, 30, 2));
	CHECK(c.months == span_bits(11, 12, 1));
	CHECK(c.wdays == (span_bits(1, 5, 2) | 1));
	REQUIRE(parse_ok("0 0 * * MON/2", &c) == SMPC_OK);
	CHECK(c.wdays == (span_bits(1, 5, 2) | 1));

	/* steps larger than the range keep the first value */
	REQUIRE(parse_ok("*/100 */25 */40 */13 */8", &c) == SMPC_OK);
	CHECK(c.minutes == 1 && c.hours == 1);
	CHECK(c.mdays == 2 && c.months == 2 && c.wdays == 1);
	CHECK(c.mday_any && c.wday_any);
	REQUIRE(parse_ok("7/999999 * * * *", &c) == SMPC_OK);
	CHECK(c.minutes == span_bits(7, 7, 1));

	/* weekday 7 is Sunday, in ranges too */
	REQUIRE(parse_ok("0 0 * * 0-7", &c) == SMPC_OK);
	CHECK(c.wdays == ALL_WDAYS);
	REQUIRE(parse_ok("0 0 * * 5-7", &c) == SMPC_OK);
	CHECK(c.wdays == (span_bits(5, 6, 1) | 1));
	REQUIRE(parse_ok("0 0 * * 7", &c) == SMPC_OK);
	CHECK(c.wdays == 1);
	REQUIRE(parse_ok("0 0 * * */2", &c) == SMPC_OK);
	CHECK(c.wdays == span_bits(0, 6, 2));

	/* names in any case, in ranges and with steps */
	REQUIRE(parse_ok("0 0 * jan-Dec/3 mOn-fRI", &c) == SMPC_OK);
	CHECK(c.months == span_bits(1, 12, 3));
	CHECK(c.wdays == span_bits(1, 5, 1));
	REQUIRE(parse_ok("0 0 * Feb,APR-jun,9 Sun-sat", &c) == SMPC_OK);
	CHECK(c.months == (span_bits(2, 2, 1) | span_bits(4, 6, 1) | span_bits(9, 9, 1)));
	CHECK(c.wdays == ALL_WDAYS);
	CHECK(!c.wday_any && c.mday_any);

	/* leading zeros, full ranges written out */
	REQUIRE(parse_ok("007 00-023/011 01-31 1-12 0-6", &c) == SMPC_OK);
	CHECK(c.minutes == span_bits(7, 7, 1));
	CHECK(c.hours == (span_bits(0, 22, 11)));
	CHECK(c.mdays == ALL_MDAYS && c.months == ALL_MONTHS && c.wdays == ALL_WDAYS);
	CHECK(!c.mday_any && !c.wday_any);

	/* the star flag is the first character only */
	REQUIRE(parse_ok("0 0 *,5 * 1", &c) == SMPC_OK);
	CHECK(c.mday_any && !c.wday_any && c.mdays == ALL_MDAYS);
	REQUIRE(parse_ok("0 0 5,* * 1", &c) == SMPC_OK);
	CHECK(!c.mday_any && !c.wday_any && c.mdays == ALL_MDAYS);
	REQUIRE(parse_ok("0 0 */2 * */3", &c) == SMPC_OK);
	CHECK(c.mday_any && c.wday_any);
	CHECK(c.mdays == span_bits(1, 31, 2) && c.wdays == span_bits(0, 6, 3));

	/* white space: any amount of space/tab, leading and trailing */
	REQUIRE(parse_ok("  \t0\t\t0  1 \t 1 *\n", &c) == SMPC_OK);
	CHECK(c.minutes == 1 && c.hours == 1 && c.mdays == 2 && c.months == 2);
	CHECK(c.wdays == ALL_WDAYS && !c.mday_any && c.wday_any);
}

static void
test_parse_macros(void)
{
	static const struct
	{
		const char *macro;
		const char *fields;
	}			cases[] = {
		{"@yearly", "0 0 1 1 *"},
		{"@annually", "0 0 1 1 *"},
		{"@monthly", "0 0 1 * *"},
		{"@weekly", "0 0 * * 0"},
		{"@daily", "0 0 * * *"},
		{"@midnight", "0 0 * * *"},
		{"@hourly", "0 * * * *"},
		{"@HOURLY", "0 * * * *"},
		{" \t@Daily \n", "0 0 * * *"},
		{"@WeekLy", "0 0 * * 0"},
	};
	smpc_cron	a;
	smpc_cron	b;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		if (parse_ok(cases[i].macro, &a) != SMPC_OK ||
			parse_ok(cases[i].fields, &b) != SMPC_OK)
			continue;
		if (!CHECK(cron_equal(&a, &b)))
			fprintf(stderr, "      %s\n", cases[i].macro);
	}
	/* spot checks of the expansion itself */
	REQUIRE(parse_ok("@weekly", &a) == SMPC_OK);
	CHECK(a.minutes == 1 && a.hours == 1 && a.mdays == ALL_MDAYS);
	CHECK(a.months == ALL_MONTHS && a.wdays == 1 && a.mday_any && !a.wday_any);
	REQUIRE(parse_ok("@yearly", &a) == SMPC_OK);
	CHECK(a.mdays == 2 && a.months == 2 && a.wdays == ALL_WDAYS);
	CHECK(!a.mday_any && a.wday_any);
}

/* Each refusal: the status, the reason, and a zeroed output. */
static void
test_parse_refusals(void)
{
	static const struct
	{
		const char *text;
		const char *reason;		/* substring of the message */
	}			cases[] = {
		{"", "the cron expression is empty"},
		{" \t\n ", "the cron expression is empty"},
		{"* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), found 4"},
		{"* * * * * *", "found 6"},
		{"0 0 * * * /bin/true", "found 6"},
		{"*", "found 1"},
		{"1,,2 * * * *", "field 1 (minute): empty list item"},
		{",1 * * * *", "field 1 (minute): empty list item"},
		{"* * * * 1,", "field 5 (day-of-week): empty list item"},
		{"* * * , *", "field 4 (month): empty list item"},
		{"60 * * * *", "field 1 (minute): 60 is out of range 0-59"},
		{"* 24 * * *", "field 2 (hour): 24 is out of range 0-23"},
		{"* 1-24 * * *", "field 2 (hour): 24 is out of range 0-23"},
		{"* * 0 * *", "field 3 (day-of-month): 0 is out of range 1-31"},
		{"* * 32 * *", "field 3 (day-of-month): 32 is out of range 1-31"},
		{"* * * 0 *", "field 4 (month): 0 is out of range 1-12"},
		{"* * * 13 *", "field 4 (month): 13 is out of range 1-12"},
		{"* * * * 8", "field 5 (day-of-week): 8 is out of range 0-7"},
		{"* * * * 99/2", "field 5 (day-of-week): 99 is out of range 0-7"},
		{"30-10 * * * *", "field 1 (minute): range 30-10 has its start after its end"},
		{"* * * * FRI-MON", "field 5 (day-of-week): range 5-1 has its start after its end"},
		{"* * * DEC-JAN *", "field 4 (month): range 12-1 has its start after its end"},
		{"*/0 * * * *", "field 1 (minute): step 0 is not allowed"},
		{"* 1-5/000 * * *", "field 2 (hour): step 0 is not allowed"},
		{"*/ * * * *", "field 1 (minute): missing step after '/'"},
		{"* * * * 1/", "field 5 (day-of-week): missing step after '/'"},
		{"*/x * * * *", "field 1 (minute): the step after '/' must be a number, found 'x'"},
		{"* * * JAN/FEB *", "field 4 (month): the step after '/' must be a number, found 'F'"},
		{"*/-1 * * * *", "the step after '/' must be a number, found '-'"},
		{"5x * * * *", "field 1 (minute): unexpected 'x'"},
		{"5-10-15 * * * *", "field 1 (minute): unexpected '-'"},
		{"*-5 * * * *", "field 1 (minute): unexpected '-'"},
		{"*5 * * * *", "field 1 (minute): unexpected '5'"},
		{"1/2/3 * * * *", "field 1 (minute): unexpected '/'"},
		{"-5 * * * *", "field 1 (minute): unexpected '-' (values cannot be negative)"},
		{"5- * * * *", "field 1 (minute): missing value after '-'"},
		{"5-,6 * * * *", "field 1 (minute): missing value after '-'"},
		{"5-* * * * *", "field 1 (minute): unexpected '*' after '-'"},
		{"/5 * * * *", "field 1 (minute): unexpected '/'"},
		{"1.5 * * * *", "field 1 (minute): unexpected '.'"},
		{"* * * * 1;", "field 5 (day-of-week): unexpected ';'"},
		{"* * * * \x01", "field 5 (day-of-week): unexpected byte 0x01"},
		{"* * * * \xc3\xa9", "field 5 (day-of-week): unexpected byte 0xc3"},
		{"1234567 * * * *", "field 1 (minute): number 123456... is too long (at most 6 digits)"},
		{"0000005 * * * *", "field 1 (minute): number 000000... is too long"},
		{"*/99999999999999999999999999 * * * *", "field 1 (minute): number 999999... is too long"},
		{"* * 1-99999999999999999999 * *", "field 3 (day-of-month): number 999999... is too long"},
		{"1000000 * * * *", "is too long"},
		{"999999 * * * *", "field 1 (minute): 999999 is out of range 0-59"},
		{"JAN * * * *", "field 1 (minute): 'JAN' is a month name, not valid in this field"},
		{"* * * * jan", "field 5 (day-of-week): 'jan' is a month name, not valid in this field"},
		{"* * * MON *", "field 4 (month): 'MON' is a day-of-week name, not valid in this field"},
		{"* * Fri * *", "field 3 (day-of-month): 'Fri' is a day-of-week name, not valid in this field"},
		{"* x * * *", "field 2 (hour): unexpected name 'x' (only months and days of the week have names)"},
		{"* * * FOO *", "field 4 (month): unknown month name 'FOO'"},
		{"* * * * MONDAY", "field 5 (day-of-week): unknown day-of-week name 'MONDAY'"},
		{"* * * JANUARY *", "field 4 (month): unknown month name 'JANUARY'"},
		{"* * * * MO", "field 5 (day-of-week): unknown day-of-week name 'MO'"},
		{"* * * * MON1", "field 5 (day-of-week): unexpected '1'"},
		{"@reboot", "@reboot is not supported"},
		{"  @ReBoot", "@reboot is not supported"},
		{"@every 5m", "unknown macro '@every'"},
		{"@", "unknown macro '@'"},
		{"@dailyx", "unknown macro '@dailyx'"},
		{"@daily extra", "unexpected text after @daily"},
		{"@hourly *", "unexpected text after @hourly"},
		{"0 @daily * * *", "field 2 (hour): unexpected '@'"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		smpc_cron	c;
		char		err[200];
		int			rc;

		memset(&c, 0xa5, sizeof(c));
		memset(err, 'X', sizeof(err));
		rc = smpc_cron_parse(cases[i].text, &c, err, sizeof(err));
		if (!CHECK(rc == SMPC_ERR_SYNTAX) ||
			!CHECK(memchr(err, '\0', sizeof(err)) != NULL) ||
			!CHECK(strstr(err, cases[i].reason) != NULL) ||
			!CHECK(all_zero(&c, sizeof(c))))
			fprintf(stderr, "      text \"%s\": got %d \"%.199s\", want \"%s\"\n",
					cases[i].text, rc, err, cases[i].reason);
	}
}

static void
test_parse_exact_messages(void)
{
	smpc_cron	c;
	char		err[200];

	CHECK(smpc_cron_parse("0 24 * * *", &c, err, sizeof(err)) == SMPC_ERR_SYNTAX);
	CHECK(strcmp(err, "field 2 (hour): 24 is out of range 0-23") == 0);
	CHECK(smpc_cron_parse("1 2 3", &c, err, sizeof(err)) == SMPC_ERR_SYNTAX);
	CHECK(strcmp(err, "expected 5 fields (minute hour day-of-month month day-of-week), found 3") == 0);
	CHECK(smpc_cron_parse("@reboot", &c, err, sizeof(err)) == SMPC_ERR_SYNTAX);
	CHECK(strcmp(err, "@reboot is not supported (only time-based schedules are)") == 0);
	/* success clears err */
	CHECK(smpc_cron_parse("0 0 * * *", &c, err, sizeof(err)) == SMPC_OK);
	CHECK(err[0] == '\0');
}

static void
test_parse_args_and_length(void)
{
	smpc_cron	c;
	char		err[200];
	char		small[12];
	char		text[SMPC_CRON_MAX_TEXT + 2];

	/* NULL arguments */
	CHECK(smpc_cron_parse(NULL, &c, err, sizeof(err)) == SMPC_ERR_ARG);
	CHECK(err[0] != '\0');
	CHECK(smpc_cron_parse("* * * * *", NULL, err, sizeof(err)) == SMPC_ERR_ARG);
	/* no error buffer at all */
	CHECK(smpc_cron_parse("61 * * * *", &c, NULL, 0) == SMPC_ERR_SYNTAX);
	CHECK(smpc_cron_parse("61 * * * *", &c, err, 0) == SMPC_ERR_SYNTAX);
	CHECK(smpc_cron_parse("0 0 * * *", &c, NULL, 0) == SMPC_OK);
	/* a short buffer gets a truncated, terminated message */
	memset(small, 'X', sizeof(small));
	CHECK(smpc_cron_parse("61 * * * *", &c, small, sizeof(small)) == SMPC_ERR_SYNTAX);
	CHECK(small[sizeof(small) - 1] == '\0');
	CHECK(strcmp(small, "field 1 (mi") == 0);
	memset(small, 'X', sizeof(small));
	CHECK(smpc_cron_parse("61 * * * *", &c, small, 1) == SMPC_ERR_SYNTAX);
	CHECK(small[0] == '\0' && small[1] == 'X');

	/* exactly SMPC_CRON_MAX_TEXT bytes: accepted; one more: refused */
	memset(text, ' ', sizeof(text));
	memcpy(text, "1 2 3 4 5", 9);
	text[SMPC_CRON_MAX_TEXT] = '\0';
	CHECK(strlen(text) == 256);
	CHECK(smpc_cron_parse(text, &c, err, sizeof(err)) == SMPC_OK);
	CHECK(c.minutes == 2 && c.hours == 4 && c.wdays == 32);
	text[SMPC_CRON_MAX_TEXT] = ' ';
	text[SMPC_CRON_MAX_TEXT + 1] = '\0';
	CHECK(smpc_cron_parse(text, &c, err, sizeof(err)) == SMPC_ERR_SYNTAX);
	CHECK(strcmp(err, "the cron expression is longer than 256 bytes") == 0);
	CHECK(all_zero(&c, sizeof(c)));

	/* a long unterminated-looking input is not read past 257 bytes */
	{
		size_t		n = SMPC_CRON_MAX_TEXT + 1;
		char	   *heap = xmalloc(n);	/* no NUL anywhere: ASan would see a
										 * read past it */

		memset(heap, '*', n);
		CHECK(smpc_cron_parse(heap, &c, err, sizeof(err)) == SMPC_ERR_SYNTAX);
		free(heap);
	}
}

/* ------------------------------------------------------------- next */

static void
check_next(const char *expr, smpc_cron_time after, bool found,
		   smpc_cron_time want)
{
	smpc_cron	c;
	smpc_cron_time got = tm_make(-1, -1, -1, -1, -1);
	bool		ok;

	if (parse_ok(expr, &c) != SMPC_OK)
		return;
	ok = smpc_cron_next(&c, &after, &got);
	if (!CHECK(ok == found) || (found && !CHECK(tm_equal(&got, &want))))
	{
		fprintf(stderr, "      \"%s\"\n", expr);
		tm_print("after", &after);
		if (ok)
			tm_print("got  ", &got);
		if (found)
			tm_print("want ", &want);
	}
	if (!found)
		CHECK(got.year == -1);	/* untouched */
}

#define NEXT(expr, a, w) check_next(expr, a, true, w)
#define NONE(expr, a) check_next(expr, a, false, tm_make(0, 0, 0, 0, 0))
#define T tm_make

static void
test_next_known(void)
{
	/* minute, hour, day, month and year carries */
	NEXT("* * * * *", T(2026, 3, 1, 10, 7), T(2026, 3, 1, 10, 8));
	NEXT("* * * * *", T(2026, 12, 31, 23, 59), T(2027, 1, 1, 0, 0));
	NEXT("*/15 * * * *", T(2026, 3, 1, 10, 7), T(2026, 3, 1, 10, 15));
	NEXT("*/15 * * * *", T(2026, 3, 1, 10, 15), T(2026, 3, 1, 10, 30));
	NEXT("*/15 * * * *", T(2026, 3, 1, 10, 45), T(2026, 3, 1, 11, 0));
	NEXT("*/15 * * * *", T(2026, 3, 31, 23, 45), T(2026, 4, 1, 0, 0));
	NEXT("0 0 * * *", T(2026, 2, 28, 0, 0), T(2026, 3, 1, 0, 0));
	NEXT("0 0 * * *", T(2028, 2, 28, 0, 0), T(2028, 2, 29, 0, 0));
	NEXT("0 0 1 * *", T(2026, 1, 31, 23, 59), T(2026, 2, 1, 0, 0));
	NEXT("0 0 31 * *", T(2026, 4, 1, 0, 0), T(2026, 5, 31, 0, 0));
	NEXT("59 23 31 12 *", T(2026, 12, 31, 23, 59), T(2027, 12, 31, 23, 59));
	NEXT("59 23 31 12 *", T(2026, 12, 31, 23, 58), T(2026, 12, 31, 23, 59));
	NEXT("@yearly", T(2026, 1, 1, 0, 0), T(2027, 1, 1, 0, 0));
	NEXT("@hourly", T(2026, 6, 30, 23, 0), T(2026, 7, 1, 0, 0));
	NEXT("5,50 3-4 * * *", T(2026, 6, 15, 3, 50), T(2026, 6, 15, 4, 5));
	NEXT("5,50 3-4 * * *", T(2026, 6, 15, 4, 50), T(2026, 6, 16, 3, 5));
	NEXT("0 0 1 JAN-MAR/2 *", T(2026, 1, 1, 0, 0), T(2026, 3, 1, 0, 0));
	NEXT("0 0 1 JAN-MAR/2 *", T(2026, 3, 1, 0, 0), T(2027, 1, 1, 0, 0));

	/* weekdays: 2026-11-20 is a Friday, 2026-11-21 a Saturday */
	NEXT("30 8 * * MON-FRI", T(2026, 11, 20, 9, 0), T(2026, 11, 23, 8, 30));
	NEXT("*/10 9-17 * * MON-FRI", T(2026, 11, 20, 17, 55), T(2026, 11, 23, 9, 0));
	NEXT("0 0 * * 7", T(2026, 11, 21, 12, 0), T(2026, 11, 22, 0, 0));
	NEXT("@weekly", T(2026, 11, 21, 12, 0), T(2026, 11, 22, 0, 0));
	NEXT("0 0 * * 1/2", T(2026, 11, 21, 0, 0), T(2026, 11, 22, 0, 0));

	/*
	 * The day rule; April 2026 starts on a Wednesday, Fridays are 3, 10,
	 * 17, Mondays 6, 13, 20.  Both restricted: either matches.
	 */
	NEXT("0 0 13 * FRI", T(2026, 4, 10, 0, 0), T(2026, 4, 13, 0, 0));
	NEXT("0 0 13 * FRI", T(2026, 4, 13, 0, 0), T(2026, 4, 17, 0, 0));
	NEXT("0 0 1-7 * MON", T(2026, 4, 1, 0, 0), T(2026, 4, 2, 0, 0));
	NEXT("0 0 1-7 * MON", T(2026, 4, 7, 0, 0), T(2026, 4, 13, 0, 0));
	/* one is "*": only the other restricts */
	NEXT("0 0 * * FRI", T(2026, 4, 10, 0, 0), T(2026, 4, 17, 0, 0));
	NEXT("0 0 13 * *", T(2026, 4, 10, 0, 0), T(2026, 4, 13, 0, 0));
	NEXT("0 0 13 * *", T(2026, 4, 13, 0, 0), T(2026, 5, 13, 0, 0));
	/* a star with a step: both must match (Mondays on odd days) */
	NEXT("0 0 */2 * MON", T(2026, 4, 1, 0, 0), T(2026, 4, 13, 0, 0));
	NEXT("0 0 13 * */7", T(2026, 4, 1, 0, 0), T(2026, 9, 13, 0, 0));	/* Sunday the 13th */
	/* "5,*" is not a star: OR, so every day */
	NEXT("0 0 5,* * MON", T(2026, 4, 1, 0, 0), T(2026, 4, 2, 0, 0));

	/* leap years: 2000 is, 1900 and 2100 are not */
	NEXT("0 12 29 2 *", T(2026, 1, 1, 0, 0), T(2028, 2, 29, 12, 0));
	NEXT("0 12 29 2 *", T(2024, 2, 29, 11, 59), T(2024, 2, 29, 12, 0));
	NEXT("0 12 29 2 *", T(2024, 2, 29, 12, 0), T(2028, 2, 29, 12, 0));
	NEXT("0 12 29 2 *", T(1999, 3, 1, 0, 0), T(2000, 2, 29, 12, 0));
	NEXT("0 12 29 2 *", T(1896, 2, 29, 12, 0), T(1904, 2, 29, 12, 0));
	NEXT("0 12 29 2 *", T(2096, 2, 29, 12, 0), T(2104, 2, 29, 12, 0));
	NEXT("0 12 29 2 *", T(2099, 12, 31, 23, 59), T(2104, 2, 29, 12, 0));
	NEXT("0 0 * 2 *", T(2100, 2, 28, 0, 0), T(2101, 2, 1, 0, 0));
	NEXT("0 0 * 2 *", T(2000, 2, 28, 0, 0), T(2000, 2, 29, 0, 0));
	NEXT("0 0 28-31 2 *", T(1900, 2, 28, 0, 0), T(1901, 2, 28, 0, 0));

	/* never, or not within the horizon */
	NONE("0 0 30 2 *", T(2026, 1, 1, 0, 0));
	NONE("0 0 31 4,6,9,11 *", T(2026, 1, 1, 0, 0));
	NONE("* * 30,31 2 *", T(2026, 1, 1, 0, 0));
	/* Monday February 1st: 2027, then 2038 (11 years later) */
	NEXT("0 0 */31 2 MON", T(2026, 1, 1, 0, 0), T(2027, 2, 1, 0, 0));
	NONE("0 0 */31 2 MON", T(2027, 2, 1, 0, 0));
	NONE("0 0 */31 2 MON", T(2029, 12, 31, 23, 59));
	NEXT("0 0 */31 2 MON", T(2030, 1, 1, 0, 0), T(2038, 2, 1, 0, 0));

	/* the end of the calendar */
	NEXT("* * * * *", T(9999, 12, 31, 23, 58), T(9999, 12, 31, 23, 59));
	NONE("* * * * *", T(9999, 12, 31, 23, 59));
	NONE("0 0 1 1 *", T(9999, 1, 1, 0, 0));
	NEXT("0 0 1 1 *", T(9998, 1, 1, 0, 0), T(9999, 1, 1, 0, 0));
	NEXT("* * * * *", T(1, 1, 1, 0, 0), T(1, 1, 1, 0, 1));
}

#undef T

static void
test_next_garbage(void)
{
	smpc_cron	c;
	smpc_cron_time out = tm_make(-1, -1, -1, -1, -1);
	static const smpc_cron_time bad[] = {
		{2026, 0, 1, 0, 0}, {2026, 13, 1, 0, 0}, {2026, 1, 0, 0, 0},
		{2026, 1, 32, 0, 0}, {2026, 2, 29, 0, 0}, {2100, 2, 29, 0, 0},
		{2026, 4, 31, 0, 0}, {2026, 1, 1, -1, 0}, {2026, 1, 1, 24, 0},
		{2026, 1, 1, 0, -1}, {2026, 1, 1, 0, 60}, {0, 1, 1, 0, 0},
		{10000, 1, 1, 0, 0}, {2147483647, 12, 31, 23, 59},
		{-2147483647 - 1, 1, 1, 0, 0}, {2026, -2147483647 - 1, 1, 0, 0},
		{2026, 1, 2147483647, 0, 0}, {2026, 1, 1, 2147483647, 2147483647},
	};
	const smpc_cron_time good = {2026, 1, 1, 0, 0};
	clock_t		t0;

	REQUIRE(parse_ok("* * * * *", &c) == SMPC_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!CHECK(!smpc_cron_next(&c, &bad[i], &out)))
			tm_print("accepted", &bad[i]);
	CHECK(out.year == -1);
	CHECK(!smpc_cron_next(NULL, &good, &out));
	CHECK(!smpc_cron_next(&c, NULL, &out));
	CHECK(!smpc_cron_next(&c, &good, NULL));

	/* bits outside the ranges are ignored */
	memset(&c, 0xff, sizeof(c));
	c.mday_any = c.wday_any = true;
	CHECK(smpc_cron_next(&c, &good, &out));
	CHECK(out.year == 2026 && out.month == 1 && out.mday == 1 && out.hour == 0 && out.minute == 1);
	out = tm_make(-1, -1, -1, -1, -1);
	memset(&c, 0, sizeof(c));
	c.minutes = ~ALL_MINUTES;
	c.hours = ~ALL_HOURS;
	c.mdays = 1;
	c.months = (uint16_t) ~ALL_MONTHS;
	c.wdays = 0x80;
	CHECK(!smpc_cron_next(&c, &good, &out));
	c.minutes = 1;
	c.hours = 1;
	CHECK(!smpc_cron_next(&c, &good, &out));
	c.months = 2;
	CHECK(!smpc_cron_next(&c, &good, &out));	/* no day bit: never */

	/* empty sets end quickly; so does the worst case, a whole horizon */
	t0 = clock();
	memset(&c, 0, sizeof(c));
	CHECK(!smpc_cron_next(&c, &good, &out));
	c.minutes = ALL_MINUTES;
	c.hours = ALL_HOURS;
	c.months = ALL_MONTHS;
	for (int i = 0; i < 100; i++)
		CHECK(!smpc_cron_next(&c, &good, &out));	/* every day visited */
	CHECK((double) (clock() - t0) / CLOCKS_PER_SEC < 0.5);
	CHECK(out.year == -1);
}

/* ------------------------------------------------------- random oracle */

static uint64_t rng_state;

static uint64_t
rng_next(void)
{
	uint64_t	z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int
rnd(int n)
{
	return (int) (rng_next() % (uint64_t) n);
}

static int
rnd_in(int lo, int hi)
{
	return lo + rnd(hi - lo + 1);
}

/* what an expression denotes, computed by the generator */
typedef struct expect
{
	uint64_t	sets[5];		/* minute, hour, mday, month, wday (bit 0
								 * for 7 too) */
	bool		mday_star;
	bool		wday_star;
} expect;

static const int gen_min[5] = {0, 0, 1, 1, 0};
static const int gen_max[5] = {59, 23, 31, 12, 7};
/* percent of fields that are a plain "*", for dense and sparse expressions */
static const int gen_star_pct[2][5] = {{25, 30, 45, 55, 50}, {5, 5, 10, 10, 10}};
static const char *const gen_months[] = {"jan", "feb", "mar", "apr", "may", "jun",
"jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const gen_wdays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static void
gen_value(int f, int v, char **pp)
{
	const char *name = NULL;

	if (f == 3 && rnd(3) == 0)
		name = gen_months[v - 1];
	else if (f == 4 && v <= 6 && rnd(3) == 0)
		name = gen_wdays[v];
	if (name != NULL)
	{
		for (int i = 0; i < 3; i++)
			*(*pp)++ = rnd(2) ? (char) (name[i] - 'a' + 'A') : name[i];
		**pp = '\0';
		return;
	}
	*pp += sprintf(*pp, rnd(8) == 0 ? "0%d" : "%d", v);
}

static void
gen_item(int f, char **pp, uint64_t *set)
{
	int			min = gen_min[f];
	int			max = gen_max[f];
	int			lo = min;
	int			hi = max;
	int			step = 1;
	int			a = rnd_in(min, max);
	int			b = rnd_in(a, max);

	switch (rnd(6))
	{
		case 0:
			*pp += sprintf(*pp, "*");
			break;
		case 1:
			step = rnd_in(1, max - min + 3);
			*pp += sprintf(*pp, "*/%d", step);
			break;
		case 2:
			lo = hi = a;
			gen_value(f, a, pp);
			break;
		case 3:
			lo = a;
			hi = b;
			gen_value(f, a, pp);
			*(*pp)++ = '-';
			gen_value(f, b, pp);
			break;
		case 4:
			lo = a;
			hi = b;
			step = rnd_in(1, b - a + 2);
			gen_value(f, a, pp);
			*(*pp)++ = '-';
			gen_value(f, b, pp);
			*pp += sprintf(*pp, "/%d", step);
			break;
		default:
			lo = a;
			step = rnd_in(1, max - a + 2);
			gen_value(f, a, pp);
			*pp += sprintf(*pp, "/%d", step);
			break;
	}
	for (int v = lo; v <= hi; v += step)
		*set |= (uint64_t) 1 << (f == 4 && v == 7 ? 0 : v);
}

/* A random expression into text (>= 200 bytes) and *e. */
static void
gen_expr(char *text, expect *e)
{
	static const char *const seps[] = {" ", "\t", "  ", " \t "};
	char	   *p = text;
	const int  *star_pct = gen_star_pct[rnd(2)];

	memset(e, 0, sizeof(*e));
	if (rnd(2))
		p += sprintf(p, "%s", seps[rnd(4)]);
	for (int f = 0; f < 5; f++)
	{
		char	   *start = p;

		if (f > 0)
		{
			p += sprintf(p, "%s", seps[rnd(4)]);
			start = p;
		}
		if (rnd(100) < star_pct[f])
		{
			*p++ = '*';
			*p = '\0';
			for (int v = gen_min[f]; v <= gen_max[f]; v++)
				e->sets[f] |= (uint64_t) 1 << (f == 4 && v == 7 ? 0 : v);
		}
		else
		{
			int			n = 1 + rnd(3);

			for (int i = 0; i < n; i++)
			{
				if (i > 0)
					*p++ = ',';
				gen_item(f, &p, &e->sets[f]);
			}
		}
		if (f == 2)
			e->mday_star = *start == '*';
		if (f == 4)
			e->wday_star = *start == '*';
	}
	if (rnd(2))
		p += sprintf(p, "%s", seps[rnd(4)]);
	*p = '\0';
}

static bool
ref_day_matches(const expect *e, int y, int m, int d, int wd)
{
	bool		dm;
	bool		wm;

	(void) y;
	if (!(e->sets[3] >> m & 1))
		return false;
	dm = (e->sets[2] >> d & 1) != 0;
	wm = (e->sets[4] >> wd & 1) != 0;
	if (e->mday_star || e->wday_star)
		return dm && wm;
	return dm || wm;
}

/*
 * Minute-by-minute search: the first matching minute after *from within
 * budget minutes.  The day's match is recomputed when the day changes.
 */
static bool
ref_next(const expect *e, const smpc_cron_time *from, long budget,
		 smpc_cron_time *out)
{
	int			y = from->year;
	int			mo = from->month;
	int			d = from->mday;
	int			h = from->hour;
	int			mi = from->minute;
	int			wd = ref_weekday(y, mo, d);
	bool		day_ok = ref_day_matches(e, y, mo, d, wd);

	for (long i = 0; i < budget; i++)
	{
		if (++mi == 60)
		{
			mi = 0;
			if (++h == 24)
			{
				h = 0;
				wd = (wd + 1) % 7;
				if (++d > ref_dim(y, mo))
				{
					d = 1;
					if (++mo == 13)
					{
						mo = 1;
						y++;
					}
				}
				day_ok = ref_day_matches(e, y, mo, d, wd);
			}
		}
		if (day_ok && (e->sets[1] >> h & 1) && (e->sets[0] >> mi & 1))
		{
			*out = tm_make(y, mo, d, h, mi);
			return true;
		}
	}
	return false;
}

static smpc_cron_time
random_start(void)
{
	int			y = rnd_in(2024, 2030);
	int			mo = rnd_in(1, 12);

	switch (rnd(8))
	{
		case 0:					/* the last minute of a month */
			return tm_make(y, mo, ref_dim(y, mo), 23, 59);
		case 1:					/* the last minute of a year */
			return tm_make(y, 12, 31, 23, rnd_in(58, 59));
		case 2:					/* end of February */
			return tm_make(y, 2, rnd_in(27, ref_dim(y, 2)), 23, rnd_in(0, 59));
		default:
			return tm_make(y, mo, rnd_in(1, ref_dim(y, mo)), rnd_in(0, 23),
						   rnd_in(0, 59));
	}
}

#define ORACLE_EXPRS 5000
#define ORACLE_STARTS 3
#define ORACLE_CHAIN 4
#define ORACLE_BUDGET (2L * 366 * 24 * 60)

static void
test_next_oracle(void)
{
	int			compared = 0;
	int			beyond = 0;
	int			failures = 0;
	double		total_minutes = 0;
	int			far = 0;			/* answers more than 31 days away */
	int			found = 0;
	int			never = 0;			/* none within the horizon */
	clock_t		t0 = clock();

	rng_state = 20261121;
	for (int i = 0; i < ORACLE_EXPRS && failures < 5; i++)
	{
		char		text[256];
		char		err[200];
		expect		e;
		smpc_cron	c;
		int			rc;

		gen_expr(text, &e);
		rc = smpc_cron_parse(text, &c, err, sizeof(err));
		if (!CHECK(rc == SMPC_OK) ||
			!CHECK(c.minutes == e.sets[0] && c.hours == e.sets[1] &&
				   c.mdays == e.sets[2] && c.months == e.sets[3] &&
				   c.wdays == e.sets[4] && c.mday_any == e.mday_star &&
				   c.wday_any == e.wday_star))
		{
			fprintf(stderr, "      expression %d \"%s\": %s\n", i, text, err);
			failures++;
			continue;
		}
		for (int s = 0; s < ORACLE_STARTS; s++)
		{
			smpc_cron_time from = random_start();
			long		budget = ORACLE_BUDGET;

			for (int k = 0; k < ORACLE_CHAIN; k++)
			{
				smpc_cron_time want;
				smpc_cron_time got;
				bool		w = ref_next(&e, &from, budget, &want);
				bool		g = smpc_cron_next(&c, &from, &got);
				bool		ok;

				if (!w)
				{
					/*
					 * Rare (sparse expressions): search on to the end of
					 * the horizon, December 31 of the year + 8, 23:59.
					 */
					smpc_cron_time end = tm_make(from.year + SMPC_CRON_HORIZON_YEARS,
												 12, 31, 23, 59);

					w = ref_next(&e, &from, tm_minutes(&end) - tm_minutes(&from), &want);
					beyond++;
				}
				ok = w ? (g && tm_equal(&got, &want)) : !g;
				never += !w;
				compared++;
				if (!CHECK(ok))
				{
					fprintf(stderr, "      expression %d \"%s\"\n", i, text);
					tm_print("after", &from);
					if (g)
						tm_print("got  ", &got);
					if (w)
						tm_print("want ", &want);
					failures++;
				}
				if (!w || !ok)
					break;
				found++;
				total_minutes += tm_minutes(&want) - tm_minutes(&from);
				if (tm_minutes(&want) - tm_minutes(&from) > 31L * 24 * 60)
					far++;
				budget -= tm_minutes(&want) - tm_minutes(&from);
				from = want;
			}
		}
	}
	CHECK(compared >= ORACLE_EXPRS * ORACLE_STARTS);
	/* the generator must produce every kind of outcome */
	CHECK(beyond > never && never > 0 && beyond < compared / 100);
	CHECK(far > compared / 50);
	if (getenv("CRON_ORACLE_STATS") != NULL)
		fprintf(stderr, "      oracle: %d comparisons, %d beyond two years (%d none within the horizon), %d more than 31 days away, mean distance %.0f minutes, %.2f s\n",
				compared, beyond, never, far, found ? total_minutes / found : 0,
				(double) (clock() - t0) / CLOCKS_PER_SEC);
}

const unit_case cron_cases[] = {
	{"weekday_known", test_weekday_known},
	{"weekday_walk", test_weekday_walk},
	{"parse_fields", test_parse_fields},
	{"parse_macros", test_parse_macros},
	{"parse_refusals", test_parse_refusals},
	{"parse_exact_messages", test_parse_exact_messages},
	{"parse_args_and_length", test_parse_args_and_length},
	{"next_known", test_next_known},
	{"next_garbage", test_next_garbage},
	{"next_oracle", test_next_oracle},
	{NULL, NULL}
};
