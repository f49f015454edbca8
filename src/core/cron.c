/*
 * cron.c
 *		Cron expression parser and next-time calculator (see cron.h for the
 *		syntax and the day rule).
 *
 * Parsing works on the NUL-terminated text in place: the fields are found
 * as [start, end) spans, each field's items as sub-spans, and every read
 * checks the span's end first, so nothing past the text is touched.  A
 * number stops being accumulated after SMPC_CRON_MAX_DIGITS digits, so no
 * input can overflow an int.
 *
 * The search in smpc_cron_next walks down from months to days to hours to
 * minutes: a month not in the set is skipped whole, then a day that does
 * not match, then an hour; within a matching hour the first matching
 * minute is taken.  It visits each day of the horizon at most once, so it
 * ends after a few thousand steps whatever c holds.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cron.h"

#define NFIELDS 5
#define FIELD_MONTH 3
#define FIELD_DOW 4

typedef struct cron_field
{
	const char *name;			/* as in the error messages */
	int			min;			/* smallest value */
	int			max;			/* largest value (day of week: 7) */
	const char *const *names;	/* NULL, or the 3-letter names */
	int			nnames;
	int			name_base;		/* value of names[0] */
} cron_field;

static const char *const month_names[] = {
	"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
	"JUL", "AUG", "SEP", "OCT", "NOV", "DEC"
};

static const char *const wday_names[] = {
	"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"
};

static const cron_field fields[NFIELDS] = {
	{"minute", 0, 59, NULL, 0, 0},
	{"hour", 0, 23, NULL, 0, 0},
	{"day-of-month", 1, 31, NULL, 0, 0},
	{"month", 1, 12, month_names, 12, 1},
	{"day-of-week", 0, 7, wday_names, 7, 0},
};

typedef struct cron_macro
{
	const char *name;			/* without the '@' */
	const char *expansion;
} cron_macro;

static const cron_macro macros[] = {
	{"yearly", "0 0 1 1 *"},
	{"annually", "0 0 1 1 *"},
	{"monthly", "0 0 1 * *"},
	{"weekly", "0 0 * * 0"},
	{"daily", "0 0 * * *"},
	{"midnight", "0 0 * * *"},
	{"hourly", "0 * * * *"},
};

/* ---------------------------------------------------------------- errors */

static int	set_error(char *err, size_t errlen, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

static int
set_error(char *err, size_t errlen, const char *fmt,...)
{
	if (err != NULL && errlen > 0)
	{
		va_list		ap;

		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return SMPC_ERR_SYNTAX;
}

/* A reason about field f (0-based), prefixed "field N (name): ". */
static int	field_error(char *err, size_t errlen, int f, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

static int
field_error(char *err, size_t errlen, int f, const char *fmt,...)
{
	char		reason[160];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return set_error(err, errlen, "field %d (%s): %s",
					 f + 1, fields[f].name, reason);
}

/* How a byte is shown in a message: 'x' if printable ASCII, else hex. */
static const char *
show_byte(unsigned char c, char buf[16])
{
	if (c > 0x20 && c < 0x7f)
		snprintf(buf, 16, "'%c'", c);
	else if (c == ' ')
		snprintf(buf, 16, "space");
	else
		snprintf(buf, 16, "byte 0x%02x", c);
	return buf;
}

/* ---------------------------------------------------------------- lexing */

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		c == '\v' || c == '\f';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char
to_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char) (c - 'a' + 'A') : c;
}

/* Case-insensitive comparison of the span [s, s+len) with a NUL-terminated
 * upper- or lower-case word. */
static bool
span_equals(const char *s, size_t len, const char *word)
{
	size_t		wlen = strlen(word);

	if (len != wlen)
		return false;
	for (size_t i = 0; i < len; i++)
		if (to_upper(s[i]) != to_upper(word[i]))
			return false;
	return true;
}

/* Index of the name in names[0..n), or -1. */
static int
find_name(const char *s, size_t len, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (span_equals(s, len, names[i]))
			return i;
	return -1;
}

/*
 * A number at *pp (which is a digit) up to end.  Advances *pp past all the
 * digits; refuses more than SMPC_CRON_MAX_DIGITS of them.
 */
static int
lex_number(const char **pp, const char *end, int *val, int f,
		   char *err, size_t errlen)
{
	const char *start = *pp;
	const char *p = start;
	int			v = 0;

	while (p < end && is_digit(*p))
	{
		if (p - start < SMPC_CRON_MAX_DIGITS)
			v = v * 10 + (*p - '0');
		p++;
	}
	if (p - start > SMPC_CRON_MAX_DIGITS)
		return field_error(err, errlen, f,
						   "number %.*s... is too long (at most %d digits)",
						   SMPC_CRON_MAX_DIGITS, start, SMPC_CRON_MAX_DIGITS);
	*pp = p;
	*val = v;
	return SMPC_OK;
}

/*
 * A value (number or name) at *pp, range-checked for field f.  after is
 * the text that precedes it in messages ("" or " after '-'").
 */
static int
lex_value(const char **pp, const char *end, int f, const char *after,
		  int *val, char *err, size_t errlen)
{
	const cron_field *fd = &fields[f];
	const char *p = *pp;
	char		b[16];

	if (p < end && is_digit(*p))
	{
		int			rc = lex_number(&p, end, val, f, err, errlen);

		if (rc != SMPC_OK)
			return rc;
		if (*val < fd->min || *val > fd->max)
			return field_error(err, errlen, f, "%d is out of range %d-%d",
							   *val, fd->min, fd->max);
		*pp = p;
		return SMPC_OK;
	}
	if (p < end && is_alpha(*p))
	{
		const char *s = p;
		size_t		len;
		int			i;

		while (p < end && is_alpha(*p))
			p++;
		len = (size_t) (p - s);
		if (fd->names != NULL &&
			(i = find_name(s, len, fd->names, fd->nnames)) >= 0)
		{
			*val = fd->name_base + i;
			*pp = p;
			return SMPC_OK;
		}
		if (f != FIELD_DOW && find_name(s, len, wday_names, 7) >= 0)
			return field_error(err, errlen, f,
							   "'%.*s' is a day-of-week name, not valid in this field",
							   (int) len, s);
		if (f != FIELD_MONTH && find_name(s, len, month_names, 12) >= 0)
			return field_error(err, errlen, f,
							   "'%.*s' is a month name, not valid in this field",
							   (int) len, s);
		if (fd->names == NULL)
			return field_error(err, errlen, f,
							   "unexpected name '%.*s' (only months and days of the week have names)",
							   (int) (len > 16 ? 16 : len), s);
		return field_error(err, errlen, f, "unknown %s name '%.*s'",
						   f == FIELD_DOW ? "day-of-week" : "month",
						   (int) (len > 16 ? 16 : len), s);
	}
	if (p >= end || *p == ',')
		return field_error(err, errlen, f, "missing value%s", after);
	if (*p == '-' && after[0] == '\0' && p + 1 < end && is_digit(p[1]))
		return field_error(err, errlen, f,
						   "unexpected '-' (values cannot be negative)");
	return field_error(err, errlen, f, "unexpected %s%s",
					   show_byte((unsigned char) *p, b), after);
}

/* ---------------------------------------------------------------- parsing */

/* One list item [p, end) of field f; ORs its values into *bits. */
static int
parse_item(const char *p, const char *end, int f, uint64_t *bits,
		   char *err, size_t errlen)
{
	const cron_field *fd = &fields[f];
	int			lo;
	int			hi;
	int			step = 1;
	int			rc;
	char		b[16];

	if (*p == '*')
	{
		lo = fd->min;
		hi = fd->max;
		p++;
	}
	else
	{
		rc = lex_value(&p, end, f, "", &lo, err, errlen);
		if (rc != SMPC_OK)
			return rc;
		hi = lo;
		if (p < end && *p == '-')
		{
			p++;
			rc = lex_value(&p, end, f, " after '-'", &hi, err, errlen);
			if (rc != SMPC_OK)
				return rc;
			if (lo > hi)
				return field_error(err, errlen, f,
								   "range %d-%d has its start after its end",
								   lo, hi);
		}
		else if (p < end && *p == '/')
			hi = fd->max;		/* a/n = a-max/n */
	}
	if (p < end && *p == '/')
	{
		p++;
		if (p >= end)
			return field_error(err, errlen, f, "missing step after '/'");
		if (!is_digit(*p))
			return field_error(err, errlen, f,
							   "the step after '/' must be a number, found %s",
							   show_byte((unsigned char) *p, b));
		rc = lex_number(&p, end, &step, f, err, errlen);
		if (rc != SMPC_OK)
			return rc;
		if (step == 0)
			return field_error(err, errlen, f, "step 0 is not allowed");
	}
	if (p < end)
		return field_error(err, errlen, f, "unexpected %s",
						   show_byte((unsigned char) *p, b));

	for (int v = lo; v <= hi; v += step)
		*bits |= (uint64_t) 1 << (f == FIELD_DOW && v == 7 ? 0 : v);
	return SMPC_OK;
}

/* Field f, the span [s, end) (non-empty, no white space). */
static int
parse_field(const char *s, const char *end, int f, uint64_t *bits,
			char *err, size_t errlen)
{
	const char *p = s;

	*bits = 0;
	for (;;)
	{
		const char *item_end = p;
		int			rc;

		while (item_end < end && *item_end != ',')
			item_end++;
		if (item_end == p)
			return field_error(err, errlen, f, "empty list item");
		rc = parse_item(p, item_end, f, bits, err, errlen);
		if (rc != SMPC_OK)
			return rc;
		if (item_end == end)
			return SMPC_OK;
		p = item_end + 1;		/* past the ',' */
		if (p == end)
			return field_error(err, errlen, f, "empty list item");
	}
}

/* The five fields of text (no macro), into *out. */
static int
parse_fields(const char *text, smpc_cron *out, char *err, size_t errlen)
{
	const char *start[NFIELDS];
	const char *end[NFIELDS];
	uint64_t	bits[NFIELDS];
	int			n = 0;
	const char *p = text;

	for (;;)
	{
		const char *s;

		while (is_space(*p))
			p++;
		if (*p == '\0')
			break;
		s = p;
		while (*p != '\0' && !is_space(*p))
			p++;
		if (n < NFIELDS)
		{
			start[n] = s;
			end[n] = p;
		}
		n++;
	}
	if (n != NFIELDS)
		return set_error(err, errlen,
						 "expected 5 fields (minute hour day-of-month month day-of-week), found %d",
						 n);
	for (int f = 0; f < NFIELDS; f++)
	{
		int			rc = parse_field(start[f], end[f], f, &bits[f], err, errlen);

		if (rc != SMPC_OK)
			return rc;
	}
	out->minutes = bits[0];
	out->hours = (uint32_t) bits[1];
	out->mdays = (uint32_t) bits[2];
	out->months = (uint16_t) bits[3];
	out->wdays = (uint8_t) bits[4];
	out->mday_any = *start[2] == '*';
	out->wday_any = *start[4] == '*';
	return SMPC_OK;
}

/* A macro: text (after leading white space) starts with '@'. */
static int
parse_macro(const char *text, smpc_cron *out, char *err, size_t errlen)
{
	const char *s = text + 1;
	const char *p = s;
	size_t		len;
	const char *expansion = NULL;

	while (*p != '\0' && !is_space(*p))
		p++;
	len = (size_t) (p - s);
	if (span_equals(s, len, "reboot"))
		return set_error(err, errlen,
						 "@reboot is not supported (only time-based schedules are)");
	for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
		if (span_equals(s, len, macros[i].name))
			expansion = macros[i].expansion;
	if (expansion == NULL)
		return set_error(err, errlen,
						 "unknown macro '@%.*s' (known: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)",
						 (int) (len > 16 ? 16 : len), s);
	while (is_space(*p))
		p++;
	if (*p != '\0')
		return set_error(err, errlen, "unexpected text after @%.*s",
						 (int) len, s);
	return parse_fields(expansion, out, err, errlen);
}

int
smpc_cron_parse(const char *text, smpc_cron *out, char *err, size_t errlen)
{
	smpc_cron	c;
	size_t		len = 0;
	const char *p;
	int			rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (text == NULL || out == NULL)
	{
		set_error(err, errlen, "no cron expression given");
		return SMPC_ERR_ARG;
	}
	while (len <= SMPC_CRON_MAX_TEXT && text[len] != '\0')
		len++;
	if (len > SMPC_CRON_MAX_TEXT)
		return set_error(err, errlen,
						 "the cron expression is longer than %d bytes",
						 SMPC_CRON_MAX_TEXT);

	memset(&c, 0, sizeof(c));
	p = text;
	while (is_space(*p))
		p++;
	if (*p == '\0')
		return set_error(err, errlen, "the cron expression is empty");
	if (*p == '@')
		rc = parse_macro(p, &c, err, errlen);
	else
		rc = parse_fields(p, &c, err, errlen);
	if (rc == SMPC_OK)
		*out = c;
	return rc;
}

/* ---------------------------------------------------------------- calendar */

static bool
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* m in 1..12 */
static int
days_in_month(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return (m == 2 && is_leap(y)) ? 29 : days[m - 1];
}

static bool
valid_date(int y, int m, int d)
{
	return y >= SMPC_CRON_YEAR_MIN && y <= SMPC_CRON_YEAR_MAX &&
		m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

/*
 * Weekday of a valid date: count the days since Monday, January 1 of year
 * 1 (proleptic Gregorian), then reduce mod 7.
 */
static int
weekday_of(int y, int m, int d)
{
	static const int before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
	long		py = y - 1;		/* whole years before y */
	long		days;

	days = py * 365 + py / 4 - py / 100 + py / 400;
	days += before[m - 1] + (m > 2 && is_leap(y) ? 1 : 0);
	days += d - 1;
	return (int) ((days + 1) % 7);	/* day 0 was a Monday */
}

int
smpc_cron_weekday(int year, int month, int mday)
{
	if (!valid_date(year, month, mday))
		return -1;
	return weekday_of(year, month, mday);
}

/* ---------------------------------------------------------------- search */

/* Smallest set bit of mask at or above from, or -1 (from in 0..63). */
static int
next_bit(uint64_t mask, int from)
{
	mask >>= from;
	if (mask == 0)
		return -1;
	while ((mask & 1) == 0)
	{
		mask >>= 1;
		from++;
	}
	return from;
}

typedef struct cursor
{
	int			y;
	int			mo;
	int			d;
	int			h;
	int			mi;
} cursor;

static void
to_next_month(cursor *t)
{
	t->d = 1;
	t->h = 0;
	t->mi = 0;
	if (++t->mo > 12)
	{
		t->mo = 1;
		t->y++;
	}
}

static void
to_next_day(cursor *t)
{
	t->h = 0;
	t->mi = 0;
	if (++t->d > days_in_month(t->y, t->mo))
		to_next_month(t);
}

bool
smpc_cron_next(const smpc_cron *c, const smpc_cron_time *after,
			   smpc_cron_time *next)
{
	uint64_t	minutes;
	uint64_t	hours;
	uint32_t	mdays;
	uint32_t	months;
	uint32_t	wdays;
	bool		both;			/* the day rule: AND (else OR) */
	int			ylimit;
	cursor		t;

	if (c == NULL || after == NULL || next == NULL)
		return false;
	if (!valid_date(after->year, after->month, after->mday) ||
		after->hour < 0 || after->hour > 23 ||
		after->minute < 0 || after->minute > 59)
		return false;

	minutes = c->minutes & (((uint64_t) 1 << 60) - 1);
	hours = c->hours & (((uint64_t) 1 << 24) - 1);
	mdays = c->mdays & 0xfffffffeU;
	months = c->months & 0x1ffeU;
	wdays = c->wdays & 0x7fU;
	both = c->mday_any || c->wday_any;
	if (minutes == 0 || hours == 0 || months == 0)
		return false;

	ylimit = after->year + SMPC_CRON_HORIZON_YEARS;
	if (ylimit > SMPC_CRON_YEAR_MAX)
		ylimit = SMPC_CRON_YEAR_MAX;

	t.y = after->year;
	t.mo = after->month;
	t.d = after->mday;
	t.h = after->hour;
	t.mi = after->minute + 1;	/* strictly after */

	/*
	 * Invariant at the top: t is a valid date with t.h <= 24 and
	 * t.mi <= 60 (the overflowing values are carried below).
	 */
	while (t.y <= ylimit)
	{
		bool		dm;
		bool		wm;
		int			h;
		int			mi;

		if (t.mi > 59)
		{
			t.mi = 0;
			t.h++;
		}
		if (t.h > 23)
		{
			to_next_day(&t);
			continue;
		}
		if ((months & ((uint32_t) 1 << t.mo)) == 0)
		{
			to_next_month(&t);
			continue;
		}
		dm = (mdays & ((uint32_t) 1 << t.d)) != 0;
		wm = (wdays & ((uint32_t) 1 << weekday_of(t.y, t.mo, t.d))) != 0;
		if (both ? !(dm && wm) : !(dm || wm))
		{
			to_next_day(&t);
			continue;
		}
		h = next_bit(hours, t.h);
		if (h < 0)
		{
			to_next_day(&t);
			continue;
		}
		if (h != t.h)
		{
			t.h = h;
			t.mi = 0;
		}
		mi = next_bit(minutes, t.mi);
		if (mi < 0)
		{
			t.h++;
			t.mi = 0;
			continue;
		}
		next->year = t.y;
		next->month = t.mo;
		next->mday = t.d;
		next->hour = t.h;
		next->minute = mi;
		return true;
	}
	return false;
}
