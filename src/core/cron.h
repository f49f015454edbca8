/*
 * cron.h
 *		Cron expressions: a parser of the five-field Vixie cron syntax and
 *		the calculation of the next matching wall-clock minute.
 *
 * Syntax.  Five fields separated by any amount of white space (space, tab,
 * CR, LF, VT, FF; white space before the first and after the last field is
 * ignored):
 *
 *	minute (0-59)  hour (0-23)  day-of-month (1-31)  month (1-12)
 *	day-of-week (0-7, 0 and 7 both Sunday)
 *
 * A field is a comma-separated list of items, none empty.  An item is
 * (a C comment cannot hold star-slash, so it is written *\/ here):
 *
 *	*			every value of the field
 *	*\/n		every n-th value from the field's first: min, min+n, ...
 *	a			one value
 *	a-b			a to b inclusive; a > b (a range that wraps) is refused
 *	a-b/n		a, a+n, ... up to b
 *	a/n			a, a+n, ... up to the field's last value (a-max/n)
 *
 * where n >= 1 (a step larger than the range just selects its first
 * value).  In the month field the values can also be written JAN..DEC, in
 * the day-of-week field SUN..SAT (exactly three letters, any case, also as
 * range ends: MON-FRI, JAN-MAR/2); a step is always a number.  For the
 * day-of-week field "the field's last value" is 7, as in Vixie cron and
 * cronie: "1/2" is 1,3,5,7 = Monday, Wednesday, Friday, Sunday.  Numbers
 * have at most SMPC_CRON_MAX_DIGITS digits (leading zeros count).
 *
 * Instead of the five fields, one macro (any case):
 *
 *	@yearly, @annually	0 0 1 1 *
 *	@monthly			0 0 1 * *
 *	@weekly				0 0 * * 0
 *	@daily, @midnight	0 0 * * *
 *	@hourly				0 * * * *
 *
 * @reboot is refused (there is no "boot" for a report schedule).  The text
 * is at most SMPC_CRON_MAX_TEXT bytes.
 *
 * The day rule (Vixie cron's, kept by cronie).  A field "is a star" when
 * its first character is '*' ("*", "*\/2", "*,5"; but not "5,*").  A day
 * matches when its month is in the month field and
 *
 *	- if the day-of-month field or the day-of-week field (or both) is a
 *	  star: the day of month is in the day-of-month set AND the weekday is
 *	  in the day-of-week set;
 *	- if neither is a star: the day of month is in the day-of-month set OR
 *	  the weekday is in the day-of-week set.
 *
 * So "0 0 13 * FRI" fires on every 13th and on every Friday, "0 0 * * FRI"
 * on Fridays only, and "0 0 *\/2 * MON" on Mondays that fall on an odd day
 * of the month (a "*\/n" field is a star but still restricts, because the
 * rule is AND).  A minute matches when its day matches and its hour and
 * minute are in their sets.
 *
 * Times are wall-clock minutes in the proleptic Gregorian calendar, with
 * no time zone: the caller converts (and decides what a minute skipped or
 * repeated by a daylight-saving change means).
 */
#ifndef SMPC_CRON_H
#define SMPC_CRON_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "status.h"

/* longest accepted expression, in bytes (not counting the NUL) */
#define SMPC_CRON_MAX_TEXT 256
/* longest accepted number, in digits */
#define SMPC_CRON_MAX_DIGITS 6
/* years smpc_cron_next and smpc_cron_weekday accept and return */
#define SMPC_CRON_YEAR_MIN 1
#define SMPC_CRON_YEAR_MAX 9999
/* smpc_cron_next looks this many calendar years past the start's year */
#define SMPC_CRON_HORIZON_YEARS 8

typedef struct smpc_cron
{
	uint64_t	minutes;		/* bit m: minute m, 0..59 */
	uint32_t	hours;			/* bit h: hour h, 0..23 */
	uint32_t	mdays;			/* bit d: day of month d, 1..31 */
	uint16_t	months;			/* bit m: month m, 1..12 */
	uint8_t		wdays;			/* bit w: weekday w, 0..6, Sunday = 0 (7 is
								 * stored as 0) */
	bool		mday_any;		/* the day-of-month field is a star (begins
								 * with '*'; see the day rule above) */
	bool		wday_any;		/* the day-of-week field is a star */
} smpc_cron;

typedef struct smpc_cron_time	/* a wall-clock minute, no time zone */
{
	int			year;			/* e.g. 2026 */
	int			month;			/* 1..12 */
	int			mday;			/* 1..31 */
	int			hour;			/* 0..23 */
	int			minute;			/* 0..59 */
} smpc_cron_time;

/*
 * smpc_cron_parse: parse text (NUL-terminated) into *out.
 *
 * SMPC_OK on success (err, if given, is set to "").  Any refusal of the
 * text returns SMPC_ERR_SYNTAX, zeroes *out and writes a one-line English
 * reason into err (truncated to errlen - 1 bytes and NUL-terminated; err
 * may be NULL or errlen 0), e.g.
 *
 *	field 2 (hour): 24 is out of range 0-23
 *
 * Field-specific reasons start with "field N (name): ".  Refused: an
 * empty text, text over SMPC_CRON_MAX_TEXT bytes, a number of fields other
 * than 5, an empty list item, a value out of range, a range whose start is
 * after its end, step 0 or a missing step, a number over
 * SMPC_CRON_MAX_DIGITS digits, a name unknown or not valid in its field,
 * any other character, an unknown macro or text after one, and @reboot.
 * text == NULL or out == NULL: SMPC_ERR_ARG.
 */
extern int	smpc_cron_parse(const char *text, smpc_cron *out,
							char *err, size_t errlen);

/*
 * smpc_cron_next: the first minute strictly after *after that c matches,
 * searched up to the end (December 31, 23:59) of the calendar year
 * after->year + SMPC_CRON_HORIZON_YEARS, and never past year
 * SMPC_CRON_YEAR_MAX.  Returns true and sets *next when found; false
 * (*next untouched) when there is none in that span (e.g. "0 0 30 2 *"),
 * and also for NULL pointers or an invalid *after (a field out of range, a
 * day the month does not have, a year outside SMPC_CRON_YEAR_MIN..MAX).
 * The horizon always reaches the next February 29 (at most 8 years away),
 * so "0 0 29 2 *" is always found.  A few valid expressions can fire
 * further apart than the horizon (only under the AND day rule: "0 0 *\/31
 * 2 MON", Monday February 1st, came in 2027 and comes next in 2038); for
 * them false means "not within the horizon", not "never".
 *
 * Bits of c outside the documented ranges are ignored.  The search skips
 * whole months, days and hours, so it costs at most a few thousand steps.
 */
extern bool smpc_cron_next(const smpc_cron *c, const smpc_cron_time *after,
						   smpc_cron_time *next);

/*
 * smpc_cron_weekday: the day of the week of a Gregorian date, Sunday = 0 ..
 * Saturday = 6; -1 if the date is invalid (month out of 1..12, a day the
 * month does not have, year outside SMPC_CRON_YEAR_MIN..MAX).
 */
extern int	smpc_cron_weekday(int year, int month, int mday);

#endif
