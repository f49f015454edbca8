/*
 * smpc_fault.c
 *		Test-only fault injection for smpc: makes this node misbehave as a
 *		member, or send members what the planner would not.
 *
 * Loaded after smpc (shared_preload_libraries = 'smpc, smpc_fault'), it
 * fills smpc's SmpcFaultHooks (src/fault.h) through a rendezvous variable.
 * It is built and installed only into the private tree of `make test`.
 *
 * GUCs (superuser; ALTER SYSTEM + pg_reload_conf() reaches the backends
 * that serve other nodes):
 *	smpc_fault.member_action  "round:action[,round:action]": when this node
 *		handles a request of that round as a member -- round is prepare,
 *		share, combine, reveal or finish; action is
 *		  hang  wait until interrupted (cancel, lost client, terminate);
 *		  stop  SIGSTOP itself (the test sends SIGCONT);
 *		  die   SIGKILL itself (the server restarts as after a crash);
 *		  drop  exit without answering, closing the connection;
 *		  lie   COMBINE: commit to a wrong share-sum; REVEAL: open share-sums
 *		        other than those committed.
 *	smpc_fault.dataset_sql    the querying node sends members this dataset
 *		SQL instead of the planner's (it still runs its own query itself).
 *	smpc_fault.capture_dir    the querying node writes every signed request
 *		it sends to <dir>/<pid>-<seq>-<member>-<TYPE>.bin.
 *
 * SQL (create it in the test):
 *	CREATE FUNCTION smpc_fault_request(member text, federation text,
 *	    type text, session_id bytea, body bytea) RETURNS bytea
 *	    AS 'smpc_fault' LANGUAGE C STRICT;
 *	a request signed by this node for member server "member": the request
 *	header (federation, current role) followed by body.
 */
#include "postgres.h"

#include <signal.h>
#include <unistd.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/wait_event.h"

#include "codec.h"
#include "fault.h"
#include "smpc.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(smpc_fault_request);

static char *member_action = NULL;
static char *dataset_sql = NULL;
static char *capture_dir = NULL;
static int	capture_seq = 0;

static SmpcFaultHooks hooks;

/* the action configured for this round, or NULL */
static const char *
ActionFor(uint8 type)
{
	const char *round = smpc_msg_type_name(type);
	size_t		rlen = strlen(round);
	const char *p = member_action;

	while (p && *p)
	{
		const char *end = strchr(p, ',');
		size_t		len = end ? (size_t) (end - p) : strlen(p);

		while (len > 0 && *p == ' ')
			p++, len--;
		if (len > rlen && pg_strncasecmp(p, round, rlen) == 0 && p[rlen] == ':')
			return pnstrdup(p + rlen + 1, len - rlen - 1);
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

static void
MemberRound(uint8 type)
{
	const char *action = ActionFor(type);

	if (action == NULL)
		return;
	elog(LOG, "smpc_fault: member backend %d: %s at %s", MyProcPid, action,
		 smpc_msg_type_name(type));
	if (strcmp(action, "hang") == 0)
	{
		for (;;)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 100, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
	}
	else if (strcmp(action, "stop") == 0)
		raise(SIGSTOP);
	else if (strcmp(action, "die") == 0)
		raise(SIGKILL);
	else if (strcmp(action, "drop") == 0)
		proc_exit(0);
}

static bool
MemberLie(uint8 type)
{
	const char *action = ActionFor(type);

	return action != NULL && strcmp(action, "lie") == 0;
}

static const char *
DatasetSql(void)
{
	return dataset_sql && dataset_sql[0] ? dataset_sql : NULL;
}

static void
RequestBuilt(const char *member, uint8 type, const uint8 *msg, size_t len)
{
	char	   *path;
	FILE	   *f;

	if (capture_dir == NULL || capture_dir[0] == '\0')
		return;
	path = psprintf("%s/%d-%04d-%s-%s.bin", capture_dir, MyProcPid, ++capture_seq,
					member, smpc_msg_type_name(type));
	f = fopen(path, "wb");
	if (f == NULL || fwrite(msg, 1, len, f) != len || fclose(f) != 0)
		elog(WARNING, "smpc_fault: could not write %s: %m", path);
}

void
_PG_init(void)
{
	void	  **rv;

	DefineCustomStringVariable("smpc_fault.member_action",
							   "Faults this node injects as a member (round:action,...).",
							   NULL, &member_action, "", PGC_SUSET, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("smpc_fault.dataset_sql",
							   "Dataset SQL sent to members instead of the planner's.",
							   NULL, &dataset_sql, "", PGC_SUSET, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("smpc_fault.capture_dir",
							   "Directory where the querying node writes the requests it sends.",
							   NULL, &capture_dir, "", PGC_SUSET, 0,
							   NULL, NULL, NULL);
	MarkGUCPrefixReserved("smpc_fault");

	hooks.member_round = MemberRound;
	hooks.member_lie = MemberLie;
	hooks.dataset_sql = DatasetSql;
	hooks.request_built = RequestBuilt;
	rv = find_rendezvous_variable(SMPC_FAULT_RENDEZVOUS);
	*rv = &hooks;
}

Datum
smpc_fault_request(PG_FUNCTION_ARGS)
{
	char	   *member = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *federation = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *type = text_to_cstring(PG_GETARG_TEXT_PP(2));
	bytea	   *sid = PG_GETARG_BYTEA_PP(3);
	bytea	   *body = PG_GETARG_BYTEA_PP(4);
	int			code = -1;
	uint8	   *msg;
	size_t		len;
	bytea	   *out;

	for (int t = 0; t < 256; t++)
		if (pg_strcasecmp(smpc_msg_type_name((uint8) t), type) == 0)
			code = t;
	if (code < 0)
		elog(ERROR, "smpc_fault: unknown message type \"%s\"", type);
	if (VARSIZE_ANY_EXHDR(sid) != SMPC_SESSION_ID_BYTES)
		elog(ERROR, "smpc_fault: a session id has %d bytes", SMPC_SESSION_ID_BYTES);
	msg = smpc_build_request((uint8) code, (const uint8 *) VARDATA_ANY(sid), (uint8) code,
							 smpc_get_member(member), federation,
							 (const uint8 *) VARDATA_ANY(body), VARSIZE_ANY_EXHDR(body),
							 &len);
	out = palloc(VARHDRSZ + len);
	SET_VARSIZE(out, VARHDRSZ + len);
	memcpy(VARDATA(out), msg, len);
	PG_RETURN_BYTEA_P(out);
}
