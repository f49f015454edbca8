/*
 * connection.c
 *		libpq connections from the querying node to members: a per-backend
 *		cache, and a concurrent fan-out that sends one protocol message to
 *		every member and waits for all answers in one wait loop.
 *
 * Members are contacted all at once: connection set-up and query are
 * non-blocking, and the backend waits on its latch plus every member socket,
 * so a cancel or statement_timeout always gets through (CHECK_FOR_INTERRUPTS).
 * A connection that failed, timed out, was in use when a transaction
 * aborted, or whose member still holds state of an unfinished joint session
 * is closed, never reused.  Closing is what stops the member: smpc.exchange
 * checks every second whether its client is still there (see member.c), so
 * no blocking cancel request is needed -- PQcancel could wait forever on a
 * member host that accepts connections but does not answer.
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "libpq-fe.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "smpc.h"

/* One cached connection: per (member server, local user). */
typedef struct ConnCacheKey
{
	Oid			serverid;
	Oid			userid;
} ConnCacheKey;

typedef struct ConnCacheEntry
{
	ConnCacheKey key;
	PGconn	   *conn;
	bool		busy;			/* a query may be in flight */
	bool		in_session;		/* the member keeps state of an unfinished
								 * joint session for us */
	bool		invalidated;	/* server or user mapping changed */
} ConnCacheEntry;

static HTAB *ConnectionHash = NULL;

/* fan-out state per member */
typedef enum CallState
{
	CALL_CONNECTING,
	CALL_SENDING,
	CALL_WAITING,
	CALL_DONE,
	CALL_FAILED
} CallState;

typedef struct Call
{
	SmpcMemberCall *mc;
	ConnCacheEntry *entry;
	CallState	state;
	PostgresPollingStatusType poll;	/* during CONNECTING */
	bool		want_write;		/* during SENDING */
	PGresult   *first;			/* first result of the query, while draining */
	instr_time	start;
} Call;

static void InitConnectionCache(void);
static void ConnInvalidateCallback(Datum arg, int cacheid, uint32 hashvalue);
static void ConnXactCallback(XactEvent event, void *arg);
static void ConnSubXactCallback(SubXactEvent event, SubTransactionId mySubid,
								SubTransactionId parentSubid, void *arg);
static void DropConnection(ConnCacheEntry *entry);
static void FailCall(Call *call, const char *sqlstate, const char *fmt,...) pg_attribute_printf(3, 4);
static void StartCall(Call *call);
static void AdvanceCall(Call *call);
static void CollectResult(Call *call);

static void
InitConnectionCache(void)
{
	HASHCTL		ctl;

	if (ConnectionHash)
		return;
	ctl.keysize = sizeof(ConnCacheKey);
	ctl.entrysize = sizeof(ConnCacheEntry);
	ConnectionHash = hash_create("smpc connections", 8, &ctl, HASH_ELEM | HASH_BLOBS);
	RegisterXactCallback(ConnXactCallback, NULL);
	RegisterSubXactCallback(ConnSubXactCallback, NULL);
	CacheRegisterSyscacheCallback(FOREIGNSERVEROID, ConnInvalidateCallback, (Datum) 0);
	CacheRegisterSyscacheCallback(USERMAPPINGOID, ConnInvalidateCallback, (Datum) 0);
}

/*
 * A server or user mapping changed: connections made with old options are
 * closed when next idle.  Like postgres_fdw, we do not try to tell which
 * entry is affected by a user mapping change; all are invalidated.
 */
static void
ConnInvalidateCallback(Datum arg, int cacheid, uint32 hashvalue)
{
	HASH_SEQ_STATUS scan;
	ConnCacheEntry *entry;

	hash_seq_init(&scan, ConnectionHash);
	while ((entry = hash_seq_search(&scan)) != NULL)
		entry->invalidated = true;
}

/*
 * At transaction end, any connection still marked busy or in a session had
 * its protocol interrupted (error, cancel, timeout): close it, so no member
 * keeps running or keeps a half-done session for us.
 */
static void
ConnXactCallback(XactEvent event, void *arg)
{
	HASH_SEQ_STATUS scan;
	ConnCacheEntry *entry;

	if (event != XACT_EVENT_ABORT && event != XACT_EVENT_PARALLEL_ABORT &&
		event != XACT_EVENT_COMMIT && event != XACT_EVENT_PARALLEL_COMMIT)
		return;
	hash_seq_init(&scan, ConnectionHash);
	while ((entry = hash_seq_search(&scan)) != NULL)
	{
		if (entry->conn && (entry->busy || entry->in_session || entry->invalidated ||
							PQstatus(entry->conn) != CONNECTION_OK ||
							PQtransactionStatus(entry->conn) != PQTRANS_IDLE))
			DropConnection(entry);
	}
}

/*
 * A subtransaction aborted (e.g. an EXCEPTION block caught a cancel): a
 * connection left busy or in a session belongs to the interrupted
 * protocol; drop it now.
 */
static void
ConnSubXactCallback(SubXactEvent event, SubTransactionId mySubid,
					SubTransactionId parentSubid, void *arg)
{
	HASH_SEQ_STATUS scan;
	ConnCacheEntry *entry;

	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	hash_seq_init(&scan, ConnectionHash);
	while ((entry = hash_seq_search(&scan)) != NULL)
		if (entry->conn && (entry->busy || entry->in_session))
			DropConnection(entry);
}

/* Close a connection; the member notices and stops (see the file header). */
static void
DropConnection(ConnCacheEntry *entry)
{
	if (entry->conn == NULL)
		return;
	PQfinish(entry->conn);
	entry->conn = NULL;
	entry->busy = false;
	entry->in_session = false;
	entry->invalidated = false;
}

/*
 * smpc_valid_sqlstate
 *		A SQLSTATE a member may send: five of [0-9A-Z], not a success,
 *		warning or no-data class.
 */
bool
smpc_valid_sqlstate(const char *s, size_t len)
{
	if (len != 5)
		return false;
	for (int i = 0; i < 5; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	return !(s[0] == '0' && (s[1] == '0' || s[1] == '1' || s[1] == '2'));
}

/*
 * Mark a call failed with an error message; its connection is dropped.
 * Only the first line is kept: libpq's messages go on with advice ("This
 * probably means the server terminated abnormally ...") that reads badly
 * inside ours.
 */
static void
FailCall(Call *call, const char *sqlstate, const char *fmt,...)
{
	va_list		ap;
	char		buf[1024];
	char	   *nl;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if ((nl = strchr(buf, '\n')) != NULL)
		*nl = '\0';
	call->mc->error = pstrdup(buf);
	call->mc->sqlstate = sqlstate ? pstrdup(sqlstate) : NULL;
	call->state = CALL_FAILED;
	if (call->first)
	{
		PQclear(call->first);
		call->first = NULL;
	}
	if (call->entry)
		DropConnection(call->entry);
}

static bool
HasKeyword(List *keywords, const char *kw)
{
	ListCell   *lc;

	foreach(lc, keywords)
		if (strcmp(lfirst(lc), kw) == 0)
			return true;
	return false;
}

/* Begin a call: reuse an idle cached connection or start connecting. */
static void
StartCall(Call *call)
{
	SmpcMember *m = call->mc->member;
	ConnCacheKey key;
	ConnCacheEntry *entry;
	bool		found;

	key.serverid = m->serverid;
	key.userid = GetUserId();
	entry = hash_search(ConnectionHash, &key, HASH_ENTER, &found);
	if (!found)
	{
		entry->conn = NULL;
		entry->busy = false;
		entry->in_session = false;
		entry->invalidated = false;
	}
	call->entry = entry;
	INSTR_TIME_SET_CURRENT(call->start);

	if (entry->conn && (entry->invalidated || PQstatus(entry->conn) != CONNECTION_OK ||
						PQtransactionStatus(entry->conn) != PQTRANS_IDLE))
		DropConnection(entry);

	if (entry->conn == NULL && !superuser() && !HasKeyword(m->keywords, "password"))
	{
		FailCall(call, "28000",
				 "no password in the user mapping for this member");
		call->mc->hint = pstrdup("Non-superusers must log in to members with a password, so the server's own credentials are never used on their behalf; set option \"password\" on the user mapping.");
		return;
	}
	if (entry->conn == NULL)
	{
		int			n = list_length(m->keywords);
		const char **kw = palloc0(sizeof(char *) * (n + 4));
		const char **val = palloc0(sizeof(char *) * (n + 4));
		int			i = 0;
		ListCell   *lk,
				   *lv;

		forboth(lk, m->keywords, lv, m->values)
		{
			kw[i] = lfirst(lk);
			val[i] = lfirst(lv);
			i++;
		}
		kw[i] = "fallback_application_name";
		val[i++] = "smpc";
		kw[i] = "client_encoding";
		val[i++] = GetDatabaseEncodingName();
		kw[i] = NULL;
		val[i] = NULL;
		entry->conn = PQconnectStartParams(kw, val, false);
		if (entry->conn == NULL)
		{
			FailCall(call, "53200", "out of memory while connecting");
			return;
		}
		if (PQstatus(entry->conn) == CONNECTION_BAD)
		{
			FailCall(call, "08001", "could not connect: %s",
					 pchomp(PQerrorMessage(entry->conn)));
			return;
		}
		call->state = CALL_CONNECTING;
		call->poll = PGRES_POLLING_WRITING;
	}
	else
		call->state = CALL_SENDING;
	entry->busy = true;
	if (call->state == CALL_SENDING)
		AdvanceCall(call);
}

/*
 * Drive one call as far as it goes without blocking.  Sets the socket
 * events it waits for through call->poll / call->want_write.
 */
static void
AdvanceCall(Call *call)
{
	PGconn	   *conn = call->entry->conn;

	if (call->state == CALL_CONNECTING)
	{
		call->poll = PQconnectPoll(conn);
		if (call->poll == PGRES_POLLING_FAILED)
		{
			FailCall(call, "08001", "could not connect: %s",
					 pchomp(PQerrorMessage(conn)));
			return;
		}
		if (call->poll != PGRES_POLLING_OK)
			return;
		if (PQsetnonblocking(conn, 1) != 0)
		{
			FailCall(call, "08001", "could not set connection non-blocking: %s",
					 pchomp(PQerrorMessage(conn)));
			return;
		}
		if (!superuser() && !PQconnectionUsedPassword(conn))
		{
			FailCall(call, "28000",
					 "non-superusers must authenticate to members with a password");
			return;
		}
		call->mc->tls = PQsslInUse(conn);
		call->state = CALL_SENDING;
		call->want_write = false;
		/* fall through to send */
	}
	if (call->state == CALL_SENDING && !call->want_write)
	{
		const char *values[1];
		int			lengths[1];
		int			formats[1] = {1};
		Oid			types[1] = {BYTEAOID};

		values[0] = (const char *) call->mc->request;
		lengths[0] = (int) call->mc->request_len;
		call->mc->tls = PQsslInUse(conn);
		if (!PQsendQueryParams(conn, "SELECT smpc.exchange($1)", 1, types,
							   values, lengths, formats, 1))
		{
			FailCall(call, "08006", "could not send request: %s",
					 pchomp(PQerrorMessage(conn)));
			return;
		}
		call->mc->bytes_sent += call->mc->request_len;
		call->want_write = true;	/* now flushing */
	}
	if (call->state == CALL_SENDING)
	{
		int			rc = PQflush(conn);

		if (rc < 0)
		{
			FailCall(call, "08006", "could not send request: %s",
					 pchomp(PQerrorMessage(conn)));
			return;
		}
		if (rc > 0)
			return;				/* wait for writable */
		call->state = CALL_WAITING;
		call->want_write = false;
	}
	if (call->state == CALL_WAITING)
	{
		if (!PQconsumeInput(conn))
		{
			FailCall(call, "08006", "connection lost: %s",
					 pchomp(PQerrorMessage(conn)));
			return;
		}
		/*
		 * Take results only while libpq has them complete: PQgetResult on a
		 * busy connection would block outside this wait loop.
		 */
		while (!PQisBusy(conn))
		{
			PGresult   *res = PQgetResult(conn);

			if (res == NULL)
			{
				CollectResult(call);
				return;
			}
			if (call->first == NULL)
				call->first = res;
			else
				PQclear(res);
		}
	}
}

/* The answer is complete: take the bytea or the member's error. */
static void
CollectResult(Call *call)
{
	PGconn	   *conn = call->entry->conn;
	PGresult   *first = call->first;
	instr_time	end;

	call->first = NULL;
	INSTR_TIME_SET_CURRENT(end);
	INSTR_TIME_SUBTRACT(end, call->start);
	call->mc->elapsed_ms = INSTR_TIME_GET_MILLISEC(end);

	if (first == NULL)
	{
		FailCall(call, "08006", "connection lost: %s", pchomp(PQerrorMessage(conn)));
		return;
	}
	if (PQresultStatus(first) == PGRES_TUPLES_OK && PQntuples(first) == 1 &&
		PQnfields(first) == 1 && !PQgetisnull(first, 0, 0))
	{
		int			len = PQgetlength(first, 0, 0);

		call->mc->response = palloc(len > 0 ? len : 1);
		memcpy(call->mc->response, PQgetvalue(first, 0, 0), len);
		call->mc->response_len = len;
		call->state = CALL_DONE;
		call->entry->busy = false;
		call->entry->in_session = call->mc->keep_session;
		PQclear(first);
		return;
	}
	if (PQresultStatus(first) == PGRES_FATAL_ERROR)
	{
		const char *sqlstate = PQresultErrorField(first, PG_DIAG_SQLSTATE);
		const char *primary = PQresultErrorField(first, PG_DIAG_MESSAGE_PRIMARY);
		const char *detail = PQresultErrorField(first, PG_DIAG_MESSAGE_DETAIL);
		const char *hint = PQresultErrorField(first, PG_DIAG_MESSAGE_HINT);

		/* an error libpq made up locally is not the member's answer */
		if (sqlstate == NULL || !smpc_valid_sqlstate(sqlstate, strlen(sqlstate)) ||
			PQstatus(conn) != CONNECTION_OK)
		{
			char	   *msg = pstrdup(primary ? primary : pchomp(PQerrorMessage(conn)));

			PQclear(first);
			FailCall(call, "08006", "connection lost: %s", msg);
			return;
		}

		call->mc->error = pstrdup(primary ? primary : pchomp(PQerrorMessage(conn)));
		call->mc->sqlstate = sqlstate ? pstrdup(sqlstate) : NULL;
		call->mc->detail = detail ? pstrdup(detail) : NULL;
		call->mc->hint = hint ? pstrdup(hint) : NULL;
		call->mc->remote_error = true;
		call->state = CALL_FAILED;
		/* the member answered properly; the connection stays usable */
		call->entry->busy = false;
		call->entry->in_session |= call->mc->keep_session;
		PQclear(first);
		return;
	}
	PQclear(first);
	FailCall(call, "08P01", "unexpected answer from member");
}

/*
 * Wait up to timeout_ms for the latch or any pending call's socket; fills
 * events and returns how many fired.  The WaitEventSet owns a kernel
 * descriptor, so it is freed on every path, errors included.
 */
static int
WaitForCalls(Call *st, int ncalls, int pending, long timeout_ms, WaitEvent *events)
{
	WaitEventSet *set;
	volatile int nevents = 0;

#if PG_VERSION_NUM >= 170000
	set = CreateWaitEventSet(CurrentResourceOwner, pending + 2);
#else
	set = CreateWaitEventSet(CurrentMemoryContext, pending + 2);
#endif
	PG_TRY();
	{
		AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
		AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
		for (int i = 0; i < ncalls; i++)
		{
			uint32		ev;

			if (st[i].state == CALL_DONE || st[i].state == CALL_FAILED)
				continue;
			if (st[i].state == CALL_CONNECTING)
				ev = st[i].poll == PGRES_POLLING_READING ? WL_SOCKET_READABLE : WL_SOCKET_WRITEABLE;
			else if (st[i].state == CALL_SENDING)
				ev = WL_SOCKET_WRITEABLE | WL_SOCKET_READABLE;
			else
				ev = WL_SOCKET_READABLE;
			AddWaitEventToSet(set, ev, PQsocket(st[i].entry->conn), NULL, &st[i]);
		}
		nevents = WaitEventSetWait(set, timeout_ms, events, pending + 2,
								   PG_WAIT_EXTENSION);
	}
	PG_FINALLY();
	{
		FreeWaitEventSet(set);
	}
	PG_END_TRY();
	return nevents;
}

/* calls started by smpc_start_calls, waited for by smpc_wait_calls */
struct SmpcCallBatch
{
	Call	   *st;
	int			ncalls;
	int			timeout_ms;
	TimestampTz deadline;
};

/*
 * smpc_start_calls
 *		Start sending each call's request (SELECT smpc.exchange(request)) to
 *		its member, without waiting for answers; the caller may do other work
 *		and must then call smpc_wait_calls.  The member timeout counts from
 *		here.
 */
SmpcCallBatch *
smpc_start_calls(SmpcMemberCall *calls, int ncalls, int timeout_ms)
{
	SmpcCallBatch *b = palloc0(sizeof(SmpcCallBatch));

	b->st = palloc0(sizeof(Call) * Max(1, ncalls));
	b->ncalls = ncalls;
	b->timeout_ms = timeout_ms;
	b->deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	InitConnectionCache();
	for (int i = 0; i < ncalls; i++)
	{
		b->st[i].mc = &calls[i];
		calls[i].response = NULL;
		calls[i].response_len = 0;
		calls[i].error = NULL;
		calls[i].sqlstate = NULL;
		calls[i].detail = NULL;
		calls[i].hint = NULL;
		calls[i].remote_error = false;
		calls[i].tls = false;
		calls[i].elapsed_ms = 0;
		StartCall(&b->st[i]);
	}
	return b;
}

/*
 * Advance the calls of a batch until every one has an answer or an error
 * (or, with sent_only, until every request is fully sent), or the member
 * timeout has passed.
 */
static void
AdvanceCalls(SmpcCallBatch *b, bool sent_only)
{
	Call	   *st = b->st;
	int			ncalls = b->ncalls;

	for (;;)
	{
		WaitEvent  *events;
		int			nevents;
		long		remaining;
		int			pending = 0;
		int			unsent = 0;

		for (int i = 0; i < ncalls; i++)
		{
			if (st[i].state != CALL_DONE && st[i].state != CALL_FAILED)
				pending++;
			if (st[i].state == CALL_CONNECTING || st[i].state == CALL_SENDING)
				unsent++;
		}
		if (pending == 0 || (sent_only && unsent == 0))
			break;

		remaining = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), b->deadline);
		if (remaining <= 0)
		{
			for (int i = 0; i < ncalls; i++)
				if (st[i].state != CALL_DONE && st[i].state != CALL_FAILED)
					FailCall(&st[i], "08006",
							 "member did not answer within %d ms (member_timeout)",
							 b->timeout_ms);
			break;
		}

		events = palloc(sizeof(WaitEvent) * (pending + 2));
		nevents = WaitForCalls(st, ncalls, pending, remaining, events);

		for (int e = 0; e < nevents; e++)
		{
			if (events[e].events & WL_LATCH_SET)
			{
				ResetLatch(MyLatch);
				CHECK_FOR_INTERRUPTS();
			}
			else if (events[e].user_data)
				AdvanceCall((Call *) events[e].user_data);
		}
		pfree(events);
	}
}

/*
 * smpc_extend_calls
 *		Give the calls of a batch extra_ms more before member_timeout
 *		fails them (work that grows with data the caller learned later).
 */
void
smpc_extend_calls(SmpcCallBatch *b, int extra_ms)
{
	if (extra_ms <= 0)
		return;
	b->deadline = TimestampTzPlusMilliseconds(b->deadline, extra_ms);
	b->timeout_ms = (int) Min((int64) b->timeout_ms + extra_ms, (int64) INT_MAX);
}

/*
 * smpc_flush_calls
 *		Wait until every request of the batch is fully sent (or its call has
 *		failed), so that the members can work while this node computes.
 *		libpq otherwise sends a large request only as far as the socket
 *		buffer takes it.
 */
void
smpc_flush_calls(SmpcCallBatch *b)
{
	AdvanceCalls(b, true);
}

/*
 * smpc_wait_calls
 *		Wait until every call of the batch has an answer, an error, or the
 *		member timeout has passed.  Never raises an ERROR for a member's
 *		failure: each SmpcMemberCall gets response/response_len or error (+
 *		sqlstate, detail, hint; remote_error when the member itself raised
 *		it).  Raises only for interrupts (cancel, statement_timeout), after
 *		which the transaction-abort callback cancels and closes the open
 *		connections.
 */
void
smpc_wait_calls(SmpcCallBatch *b)
{
	AdvanceCalls(b, false);
	pfree(b->st);
	pfree(b);
}

/*
 * smpc_call_members
 *		smpc_start_calls and smpc_wait_calls in one: all members at once.
 */
void
smpc_call_members(SmpcMemberCall *calls, int ncalls, int timeout_ms)
{
	smpc_wait_calls(smpc_start_calls(calls, ncalls, timeout_ms));
}

/*
 * smpc_raise_member_error
 *		Re-raise a failed call as an ERROR naming the member, with the
 *		member's SQLSTATE, detail and hint when it raised the error itself.
 */
void
smpc_raise_member_error(const SmpcMemberCall *mc)
{
	int			code = ERRCODE_CONNECTION_FAILURE;

	if (mc->sqlstate && strlen(mc->sqlstate) == 5)
		code = MAKE_SQLSTATE(mc->sqlstate[0], mc->sqlstate[1], mc->sqlstate[2],
							 mc->sqlstate[3], mc->sqlstate[4]);
	ereport(ERROR,
			(errcode(code),
			 errmsg("member \"%s\": %s", mc->member->name, mc->error),
			 mc->detail ? errdetail("%s", mc->detail) : 0,
			 mc->hint ? errhint("%s", mc->hint) : 0));
}
