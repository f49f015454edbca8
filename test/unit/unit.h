/*
 * unit.h
 *		Minimal unit-test harness for the pure-C core (src/core).
 *
 * Each test file defines one NULL-terminated array of unit_case, named
 * <suite>_cases, and main.c runs every suite.  A case passes when none of
 * its CHECKs failed.  No PostgreSQL headers are used here.
 */
#ifndef SMPC_UNIT_H
#define SMPC_UNIT_H

#include <stdio.h>
#include <stdint.h>
#include <string.h>

typedef struct unit_case
{
	const char *name;
	void		(*fn) (void);
} unit_case;

/* Record one check; returns ok so callers can bail out early. */
extern int	unit_check(int ok, const char *expr, const char *file, int line);

/* Shared helpers (main.c): allocation that never returns NULL (exit 2 on
 * failure), an exact-size copy, byte equality, all-zero test. */
extern void *xmalloc(size_t n);
extern uint8_t *exact_copy(const uint8_t *in, size_t len);
extern int	same(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
extern int	all_zero(const void *p, size_t n);

#define CHECK(cond) unit_check((cond) ? 1 : 0, #cond, __FILE__, __LINE__)
/* Check and return from the current test function on failure. */
#define REQUIRE(cond) do { if (!CHECK(cond)) return; } while (0)

extern const unit_case field_cases[];
extern const unit_case shamir_cases[];
extern const unit_case encode_cases[];
extern const unit_case crypto_cases[];
extern const unit_case codec_cases[];
extern const unit_case messages_cases[];

#endif
