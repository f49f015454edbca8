/*
 * smpc.c
 *		Library entry point: initialisation, GUCs and small SQL utilities.
 *
 * The library is meant to be loaded through shared_preload_libraries, so the
 * scheduler worker and GUCs exist from server start; loading it later (by
 * CREATE EXTENSION) works for everything but the background scheduler.
 */
#include "postgres.h"

#include <sodium.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "codec.h"
#include "fault.h"
#include "smpc.h"
#include "status.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(smpc_version);

static void *smpc_palloc(size_t size);
static void *smpc_repalloc(void *ptr, size_t size);
static void smpc_pfree(void *ptr);

/* where a test module may put its SmpcFaultHooks (see fault.h) */
static void **FaultHooks = NULL;

/*
 * _PG_init
 *		Initialise libsodium and route core allocations through palloc.
 */
void
_PG_init(void)
{
	if (sodium_init() < 0)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not initialise libsodium"),
				 errhint("Check that the system's random number source is available.")));

	DefineCustomIntVariable("smpc.max_message_size",
							"Largest protocol message smpc sends or accepts.",
							NULL,
							&smpc_max_message_size,
							64 * 1024 * 1024, 64 * 1024, (int) SMPC_MAX_MESSAGE_DEFAULT,
							PGC_SUSET, GUC_UNIT_BYTE,
							NULL, NULL, NULL);
	DefineCustomIntVariable("smpc.max_groups",
							"Most groups one joint query may have.",
							"Members refuse dataset queries with more groups.",
							&smpc_max_groups,
							100000, 1, 10000000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	smpc_replay_init();
	smpc_session_init();
	smpc_psi_init();
	smpc_scheduler_init();
	MarkGUCPrefixReserved("smpc");
	FaultHooks = find_rendezvous_variable(SMPC_FAULT_RENDEZVOUS);

	smpc_malloc = smpc_palloc;
	smpc_realloc = smpc_repalloc;
	smpc_free = smpc_pfree;
}

/* smpc_fault_hooks: the test module's hooks, NULL in normal use. */
SmpcFaultHooks *
smpc_fault_hooks(void)
{
	return FaultHooks ? (SmpcFaultHooks *) *FaultHooks : NULL;
}

/*
 * Core allocation hooks.  palloc raises an ERROR on failure instead of
 * returning NULL, which the core's callers tolerate: it never holds resources
 * other than memory across an allocation.  MCXT_ALLOC_HUGE allows protocol
 * buffers above 1 GB to fail with a clean error instead of an assertion.
 */
static void *
smpc_palloc(size_t size)
{
	return palloc_extended(size, MCXT_ALLOC_HUGE);
}

static void *
smpc_repalloc(void *ptr, size_t size)
{
	if (ptr == NULL)
		return palloc_extended(size, MCXT_ALLOC_HUGE);
	return repalloc_huge(ptr, size);
}

static void
smpc_pfree(void *ptr)
{
	if (ptr != NULL)
		pfree(ptr);
}

/*
 * smpc_check_core_status
 *		Raise an ERROR for a failed core call; a no-op for SMPC_OK.
 *
 * "what" names the operation for the message, e.g. "decode request".
 */
void
smpc_check_core_status(int status, const char *what)
{
	if (status == SMPC_OK)
		return;
	ereport(ERROR,
			(errcode(status == SMPC_ERR_NOMEM ? ERRCODE_OUT_OF_MEMORY :
					 status == SMPC_ERR_OVERFLOW ? ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE :
					 status == SMPC_ERR_AUTH ? ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION :
					 ERRCODE_PROTOCOL_VIOLATION),
			 errmsg("could not %s: %s", what, smpc_status_message(status))));
}

/*
 * smpc.version() returns text
 *		The extension version and the wire protocol version it speaks.
 */
Datum
smpc_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("smpc %s (protocol %d)",
											  SMPC_EXTENSION_VERSION,
											  SMPC_PROTOCOL_VERSION)));
}
