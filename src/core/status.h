/*
 * status.h
 *		Status codes and allocation hooks shared by the pure-C core.
 *
 * Every core function that can fail returns an smpc_status; SMPC_OK is 0 and
 * every failure is negative.  The core never prints and never aborts; the
 * PostgreSQL glue turns a status into an ereport with an errcode.
 */
#ifndef SMPC_STATUS_H
#define SMPC_STATUS_H

#include <stddef.h>

typedef enum smpc_status
{
	SMPC_OK = 0,
	SMPC_ERR_ARG = -1,			/* caller broke a precondition */
	SMPC_ERR_NOMEM = -2,		/* allocation failed */
	SMPC_ERR_OVERFLOW = -3,		/* value does not fit the encoding */
	SMPC_ERR_RANGE = -4,		/* value out of the field or domain */
	SMPC_ERR_SYNTAX = -5,		/* malformed textual input */
	SMPC_ERR_INCONSISTENT = -6, /* shares do not lie on one polynomial */
	SMPC_ERR_TRUNCATED = -7,	/* message ends early */
	SMPC_ERR_TRAILING = -8,		/* bytes left after a complete message */
	SMPC_ERR_VERSION = -9,		/* unsupported protocol version */
	SMPC_ERR_TOO_LARGE = -10,	/* message or field over its limit */
	SMPC_ERR_MALFORMED = -11,	/* structurally invalid message */
	SMPC_ERR_AUTH = -12,		/* signature, MAC or commitment check failed */
	SMPC_ERR_CRYPTO = -13		/* libsodium/OpenSSL internal failure */
} smpc_status;

/* A short lower-case description of a status, never NULL. */
extern const char *smpc_status_message(int status);

/*
 * Allocation hooks.  They default to malloc/realloc/free; the PostgreSQL glue
 * points them at palloc-based wrappers.  Core code must allocate only through
 * these.
 */
extern void *(*smpc_malloc) (size_t size);
extern void *(*smpc_realloc) (void *ptr, size_t size);
extern void (*smpc_free) (void *ptr);

#endif
