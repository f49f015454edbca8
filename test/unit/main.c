/*
 * main.c
 *		Runs every unit-test suite of the pure-C core and prints a summary.
 *
 * Usage: run_unit [suite-name-substring]
 * Exit status is 0 only when every case passed and at least one ran.
 */
#include <stdlib.h>
#include <sodium.h>

#include "unit.h"

/* declared here rather than in unit.h, which another change owns */
extern const unit_case protocol_cases[];
extern const unit_case psi_cases[];
extern const unit_case cron_cases[];

static int	checks_failed_in_case;

int
unit_check(int ok, const char *expr, const char *file, int line)
{
	if (!ok)
	{
		checks_failed_in_case++;
		fprintf(stderr, "    check failed: %s:%d: %s\n", file, line, expr);
	}
	return ok;
}

typedef struct suite
{
	const char *name;
	const unit_case *cases;
} suite;

static const suite suites[] = {
	{"field", field_cases},
	{"shamir", shamir_cases},
	{"encode", encode_cases},
	{"crypto", crypto_cases},
	{"codec", codec_cases},
	{"messages", messages_cases},
	{"protocol", protocol_cases},
	{"psi", psi_cases},
	{"cron", cron_cases},
};

int
main(int argc, char **argv)
{
	int			passed = 0;
	int			failed = 0;
	const char *filter = argc > 1 ? argv[1] : NULL;

	if (sodium_init() < 0)
	{
		fprintf(stderr, "unit: sodium_init failed\n");
		return 2;
	}

	for (size_t s = 0; s < sizeof(suites) / sizeof(suites[0]); s++)
	{
		for (const unit_case *c = suites[s].cases; c->name != NULL; c++)
		{
			char		full[256];

			snprintf(full, sizeof(full), "%s/%s", suites[s].name, c->name);
			if (filter && strstr(full, filter) == NULL)
				continue;
			checks_failed_in_case = 0;
			c->fn();
			if (checks_failed_in_case == 0)
			{
				passed++;
				printf("ok   %s\n", full);
			}
			else
			{
				failed++;
				printf("FAIL %s (%d checks failed)\n", full, checks_failed_in_case);
			}
		}
	}
	printf("unit: %d passed, %d failed\n", passed, failed);
	return (failed == 0 && passed > 0) ? 0 : 1;
}

/* ---------------------------------------------------------------- helpers */

void *
xmalloc(size_t n)
{
	void	   *p = malloc(n > 0 ? n : 1);

	if (p == NULL)
	{
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

uint8_t *
exact_copy(const uint8_t *in, size_t len)
{
	uint8_t    *p;

	if (len > ((size_t) 1 << 30))
	{
		fprintf(stderr, "exact_copy: unreasonable length %zu\n", len);
		exit(2);
	}
	p = xmalloc(len);
	if (len > 0)
		memcpy(p, in, len);
	return p;
}

int
same(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

int
all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}
