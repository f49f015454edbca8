/*
 * status.c
 *		Status messages and the allocation hooks of the pure-C core.
 */
#include <stdlib.h>

#include "status.h"

void	   *(*smpc_malloc) (size_t size) = malloc;
void	   *(*smpc_realloc) (void *ptr, size_t size) = realloc;
void		(*smpc_free) (void *ptr) = free;

const char *
smpc_status_message(int status)
{
	switch ((smpc_status) status)
	{
		case SMPC_OK:
			return "success";
		case SMPC_ERR_ARG:
			return "invalid argument";
		case SMPC_ERR_NOMEM:
			return "out of memory";
		case SMPC_ERR_OVERFLOW:
			return "value out of range for the encoding";
		case SMPC_ERR_RANGE:
			return "value out of range";
		case SMPC_ERR_SYNTAX:
			return "invalid input syntax";
		case SMPC_ERR_INCONSISTENT:
			return "shares are inconsistent";
		case SMPC_ERR_TRUNCATED:
			return "message is truncated";
		case SMPC_ERR_TRAILING:
			return "message has trailing bytes";
		case SMPC_ERR_VERSION:
			return "unsupported protocol version";
		case SMPC_ERR_TOO_LARGE:
			return "message exceeds size limit";
		case SMPC_ERR_MALFORMED:
			return "message is malformed";
		case SMPC_ERR_AUTH:
			return "authentication failed";
		case SMPC_ERR_CRYPTO:
			return "cryptographic library failure";
	}
	return "unknown error";
}
