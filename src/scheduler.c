/*
 * scheduler.c
 *		Scheduled joint reports: the SQL functions that manage them, the
 *		scheduler background worker and the report workers that run them.
 *
 * A report is a query, a schedule (a cron expression or an interval) and a
 * target table.  The scheduler is one background worker, registered at
 * server start when smpc is in shared_preload_libraries, connected to the
 * database smpc.scheduler_database as the bootstrap superuser.  About once a
 * second it reads smpc.report; for every report that is due it allocates a
 * run id, moves the report to its next slot and starts a dynamic background
 * worker for the run.  The report worker logs in as the report's owner, so
 * the query runs with exactly that role's privileges and settings, takes a
 * session-level lock on the report (one run per report at a time, whoever
 * started it), records the run, runs
 *
 *		CREATE TABLE target AS SELECT run_id, run_at, q.* FROM (query) q
 *
 * on the first run and INSERT INTO target SELECT ... afterwards, and records
 * the outcome in the same transaction as the rows.  A failed run is recorded
 * in a transaction of its own, and a retry is scheduled with exponential
 * backoff unless the next slot comes first.
 *
 * Everything the scheduler knows lives in the two tables, so it survives
 * restarts: slots that passed while the scheduler was not running give one
 * catch-up run, and runs left 'running' by a crash are marked failed.
 * smpc.run_report starts a report worker from an ordinary backend.
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "pgstat.h"
#include "pgtime.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "cron.h"
#include "smpc.h"

PG_FUNCTION_INFO_V1(smpc_schedule_report);
PG_FUNCTION_INFO_V1(smpc_unschedule_report);
PG_FUNCTION_INFO_V1(smpc_pause_report);
PG_FUNCTION_INFO_V1(smpc_resume_report);
PG_FUNCTION_INFO_V1(smpc_run_report);
PG_FUNCTION_INFO_V1(smpc_next_run);

PGDLLEXPORT void smpc_scheduler_main(Datum arg);
PGDLLEXPORT void smpc_report_worker_main(Datum arg);

char	   *smpc_scheduler_database = NULL;

/* set in the postmaster (and so in every backend) when the scheduler was registered */
static bool scheduler_registered = false;

/* the scheduler looks at the reports at least this often */
#define SCHEDULER_NAP_MS 1000
/* and sweeps runs whose worker is gone this often */
#define SWEEP_INTERVAL_MS 10000
/* a run records at most this many joint sessions */
#define MAX_NOTED_SESSIONS 1024

/* A parsed schedule. */
typedef struct Schedule
{
	bool		is_cron;
	smpc_cron	cron;
	Interval	every;			/* when !is_cron */
	pg_tz	   *tz;				/* cron expressions are read in this zone */
} Schedule;

/* What a report worker is told; it travels in bgw_extra. */
typedef struct RunArgs
{
	Oid			dboid;
	Oid			owner;
	int32		report_id;
	int32		attempt;
	int64		run_id;
	TimestampTz scheduled_for;	/* 0 for a manual run */
	char		trigger[12];
	char		report_name[NAMEDATALEN];
} RunArgs;

StaticAssertDecl(sizeof(RunArgs) <= BGW_EXTRALEN, "RunArgs must fit in bgw_extra");

/* A report as the management functions and the worker read it. */
typedef struct Report
{
	int32		report_id;
	char	   *name;
	Oid			owner;
	char	   *schedule;
	char	   *timezone;
	char	   *query;
	char	   *target_schema;
	char	   *target_table;
	bool		lock;			/* lock the row for the rest of the transaction */
	MemoryContext cxt;			/* where the strings are copied */
	bool		found;
} Report;

/* joint sessions started by this backend while a report runs */
static bool noting_sessions = false;
static int	nnoted = 0;
static uint8 noted[MAX_NOTED_SESSIONS][SMPC_SESSION_ID_BYTES];

static volatile sig_atomic_t got_sigterm = false;

static void ParseSchedule(const char *text, const char *tzname, Schedule *s);
static TimestampTz NextSlot(const Schedule *s, TimestampTz prev, TimestampTz now);
static TimestampTz CronAfter(const Schedule *s, TimestampTz after);
static void LookupReport(const char *name, Report *r, bool lock);
static void CheckReportOwner(const Report *r, const char *action);
static void CheckCanLogIn(Oid roleid);
static char *ValidateQuery(const char *query);
static void ResolveTarget(const char *target, char **schema, char **table);
static int64 NewRunId(void);
static BackgroundWorkerHandle *StartRunWorker(const RunArgs *a, bool notify);
static void RecordOutcome(const RunArgs *a, const char *status, int64 rows,
						  const char *error, const char *sqlstate, bool retry);
static void SweepInterrupted(void);

/* ---------------------------------------------------------------- init */

static void
SchedulerSigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	got_sigterm = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

/*
 * smpc_scheduler_init
 *		The scheduler's GUC and, when loaded at server start, its worker.
 */
void
smpc_scheduler_init(void)
{
	BackgroundWorker worker;

	DefineCustomStringVariable("smpc.scheduler_database",
							   "Database whose smpc reports the scheduler runs.",
							   "Empty disables the scheduler.",
							   &smpc_scheduler_database,
							   "postgres",
							   PGC_POSTMASTER, 0,
							   NULL, NULL, NULL);
	if (!process_shared_preload_libraries_in_progress ||
		smpc_scheduler_database[0] == '\0')
		return;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 60;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "smpc");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "smpc_scheduler_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "smpc scheduler");
	snprintf(worker.bgw_type, BGW_MAXLEN, "smpc scheduler");
	RegisterBackgroundWorker(&worker);
	scheduler_registered = true;
}

/*
 * smpc_report_note_session
 *		Called by the querying side of every joint session; a report worker
 *		records the ids in its run's history.
 */
void
smpc_report_note_session(const uint8 *session_id)
{
	if (!noting_sessions || nnoted >= MAX_NOTED_SESSIONS)
		return;
	memcpy(noted[nnoted++], session_id, SMPC_SESSION_ID_BYTES);
}

/* ---------------------------------------------------------------- schedules */

/*
 * ReadInterval
 *		The interval a schedule's text spells, or ERROR 22023 naming both
 *		forms a schedule may take.  interval_in only parses (it acquires
 *		nothing), so its error can be caught and replaced without a
 *		subtransaction.
 */
static Interval *
ReadInterval(const char *text)
{
	MemoryContext cxt = CurrentMemoryContext;
	Interval   *volatile iv = NULL;

	PG_TRY();
	{
		iv = DatumGetIntervalP(DirectFunctionCall3(interval_in, CStringGetDatum(text),
												   ObjectIdGetDatum(InvalidOid),
												   Int32GetDatum(-1)));
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
	}
	PG_END_TRY();
	if (iv == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid schedule \"%s\"", text),
				 errdetail("A schedule is a cron expression of five fields or an interval."),
				 errhint("For example '30 6 * * MON-FRI', '@daily' or '10 minutes'.")));
	return iv;
}

/*
 * ParseSchedule
 *		A cron expression -- five fields, or a macro such as @daily -- or an
 *		interval of at least one second.  Anything else is an error.
 */
static void
ParseSchedule(const char *text, const char *tzname, Schedule *s)
{
	int			fields = 0;
	bool		in_field = false;
	const char *p;

	memset(s, 0, sizeof(*s));
	for (p = text; *p; p++)
	{
		bool		space = (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r');

		if (!space && !in_field)
			fields++;
		in_field = !space;
	}
	for (p = text; *p == ' ' || *p == '\t'; p++)
		;
	if (fields == 5 || *p == '@')
	{
		char		err[256];

		s->is_cron = true;
		if (smpc_cron_parse(text, &s->cron, err, sizeof(err)) != SMPC_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid cron schedule \"%s\": %s", text, err),
					 errhint("Five fields: minute hour day-of-month month day-of-week, e.g. '30 6 * * MON-FRI'; or an interval such as '10 minutes'.")));
		s->tz = pg_tzset(tzname);
		if (s->tz == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("time zone \"%s\" of the schedule is not recognized", tzname)));
	}
	else
	{
		Interval   *iv = ReadInterval(text);
		Interval	one_second;

		memset(&one_second, 0, sizeof(one_second));
		one_second.time = USECS_PER_SEC;
		if (iv->time < 0 || iv->day < 0 || iv->month < 0 ||
			DatumGetBool(DirectFunctionCall2(interval_lt, IntervalPGetDatum(iv),
											 IntervalPGetDatum(&one_second))))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("schedule interval \"%s\" is shorter than one second or negative", text),
					 errhint("Use an interval of at least one second, e.g. '30 seconds'.")));
		s->every = *iv;
	}
}

/* ts + iv, with PostgreSQL's calendar rules */
static TimestampTz
AddInterval(TimestampTz ts, const Interval *iv)
{
	return DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
												   TimestampTzGetDatum(ts),
												   IntervalPGetDatum(iv)));
}

/*
 * CronAfter
 *		The first minute strictly after "after" that the cron expression
 *		matches, read as wall-clock time in the schedule's zone.  A wall time
 *		that a daylight-saving change skips or repeats can map to an instant
 *		at or before "after"; then the next match is taken.
 */
static TimestampTz
CronAfter(const Schedule *s, TimestampTz after)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tzoff;
	smpc_cron_time t;
	smpc_cron_time next;

	if (timestamp2tm(after, &tzoff, &tm, &fsec, NULL, s->tz) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	t.year = tm.tm_year;
	t.month = tm.tm_mon;
	t.mday = tm.tm_mday;
	t.hour = tm.tm_hour;
	t.minute = tm.tm_min;
	for (int tries = 0; tries < 200; tries++)
	{
		TimestampTz result;

		if (!smpc_cron_next(&s->cron, &t, &next))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cron schedule never fires in the next eight years")));
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = next.year;
		tm.tm_mon = next.month;
		tm.tm_mday = next.mday;
		tm.tm_hour = next.hour;
		tm.tm_min = next.minute;
		tzoff = DetermineTimeZoneOffset(&tm, s->tz);
		if (tm2timestamp(&tm, 0, &tzoff, &result) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("timestamp out of range")));
		if (result > after)
			return result;
		t = next;
	}
	elog(ERROR, "cron schedule does not advance");
	return 0;					/* keep compiler quiet */
}

/*
 * NextSlot
 *		The first slot of the schedule after "now".  A cron expression's
 *		slots are fixed wall-clock minutes; an interval's are prev + k *
 *		interval, so they do not drift with how long runs take.
 */
static TimestampTz
NextSlot(const Schedule *s, TimestampTz prev, TimestampTz now)
{
	TimestampTz next;

	if (s->is_cron)
		return CronAfter(s, Max(prev, now));
	if (s->every.month == 0 && s->every.day == 0)
	{
		int64		step = s->every.time;

		if (prev >= now)
			return prev + step;
		return prev + ((now - prev) / step + 1) * step;
	}
	next = AddInterval(prev, &s->every);
	while (next <= now)
		next = AddInterval(next, &s->every);
	return next;
}

/*
 * smpc.next_run(schedule text, after timestamptz) returns timestamptz
 *		When a schedule would next fire after "after" (the session's time
 *		zone for cron expressions); an interval fires one interval later.
 */
Datum
smpc_next_run(PG_FUNCTION_ARGS)
{
	char	   *schedule = text_to_cstring(PG_GETARG_TEXT_PP(0));
	TimestampTz after = PG_GETARG_TIMESTAMPTZ(1);
	Schedule	s;

	ParseSchedule(schedule, pg_get_timezone_name(session_timezone), &s);
	if (s.is_cron)
		PG_RETURN_TIMESTAMPTZ(CronAfter(&s, after));
	PG_RETURN_TIMESTAMPTZ(AddInterval(after, &s.every));
}

/* ---------------------------------------------------------------- catalog */

/* Run one statement as the extension owner; ERROR unless it returns "expect". */
static void
Exec(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls, int expect)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);

	if (rc != expect)
		elog(ERROR, "smpc: %s: %s", SPI_result_code_string(rc), sql);
}

/* the text of column "col" of result row "row", or NULL */
static char *
ResultText(int row, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

static void
ReadReport(void *arg)
{
	Report	   *r = arg;
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(r->name)};

	Exec(r->lock ?
		 "SELECT report_id, owner::oid, schedule, timezone, query, target_schema, target_table"
		 "  FROM smpc.report WHERE report_name = $1 FOR UPDATE" :
		 "SELECT report_id, owner::oid, schedule, timezone, query, target_schema, target_table"
		 "  FROM smpc.report WHERE report_name = $1",
		 1, types, values, NULL, SPI_OK_SELECT);
	r->found = SPI_processed == 1;
	if (!r->found)
		return;
	r->report_id = pg_strtoint32(ResultText(0, 1));
	r->owner = (Oid) strtoul(ResultText(0, 2), NULL, 10);
	/* SPI's results go with SPI_finish: copy them into the caller's context */
	r->schedule = MemoryContextStrdup(r->cxt, ResultText(0, 3));
	r->timezone = MemoryContextStrdup(r->cxt, ResultText(0, 4));
	r->query = MemoryContextStrdup(r->cxt, ResultText(0, 5));
	r->target_schema = MemoryContextStrdup(r->cxt, ResultText(0, 6));
	r->target_table = MemoryContextStrdup(r->cxt, ResultText(0, 7));
}

/*
 * LookupReport
 *		The report named "name", if "lock" locked against concurrent changes
 *		for the rest of the transaction; ERROR if there is none.
 */
static void
LookupReport(const char *name, Report *r, bool lock)
{
	MemoryContext cxt = CurrentMemoryContext;

	memset(r, 0, sizeof(*r));
	r->name = pstrdup(name);
	r->lock = lock;
	r->cxt = cxt;
	smpc_run_as_extension_owner(ReadReport, r);
	if (!r->found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("report \"%s\" does not exist", name),
				 errhint("SELECT report_name FROM smpc.reports lists the reports you can see.")));
}

/* Only the owner, a member of the owning role or a superuser manages a report. */
static void
CheckReportOwner(const Report *r, const char *action)
{
	if (has_privs_of_role(GetUserId(), r->owner))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to %s report \"%s\"", action, r->name),
			 errdetail("Only its owner, role \"%s\", a member of that role or a superuser can %s it.",
					   GetUserNameFromId(r->owner, true) ? GetUserNameFromId(r->owner, true) : "?",
					   action)));
}

/* A report runs in a worker that logs in as its owner, which needs LOGIN. */
static void
CheckCanLogIn(Oid roleid)
{
	HeapTuple	tup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(roleid));
	bool		canlogin;
	char	   *name;

	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("the owner of the report, role %u, no longer exists", roleid),
				 errhint("Unschedule the report and schedule it again as an existing role.")));
	canlogin = ((Form_pg_authid) GETSTRUCT(tup))->rolcanlogin;
	name = pstrdup(NameStr(((Form_pg_authid) GETSTRUCT(tup))->rolname));
	ReleaseSysCache(tup);
	if (!canlogin)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" cannot run reports because it cannot log in", name),
				 errdetail("A report runs in a background worker that logs in as the role that scheduled it."),
				 errhint("ALTER ROLE %s LOGIN, or schedule the report as a role that can log in.",
						 quote_identifier(name))));
}

/*
 * ValidateQuery
 *		The report's query must be one SELECT whose output columns can be
 *		columns of a table: named, distinct and not run_id or run_at.  It is
 *		then explained as the caller, which plans it and checks the caller's
 *		privileges (USAGE on the federation included) without running it.
 *		Returns the statement's text without a trailing semicolon.
 */
static char *
ValidateQuery(const char *query)
{
	List	   *raw = raw_parser(query, RAW_PARSE_DEFAULT);
	RawStmt    *rs;
	SelectStmt *sel;
	Query	   *q;
	char	   *stmt;
	ListCell   *lc;
	List	   *names = NIL;

	if (list_length(raw) != 1 || !IsA(((RawStmt *) linitial(raw))->stmt, SelectStmt))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("the query of a report must be one SELECT statement"),
				 errdetail("It has %d statement%s%s.", list_length(raw),
						   list_length(raw) == 1 ? "" : "s",
						   list_length(raw) == 1 ? ", which is not a SELECT" : "")));
	rs = linitial(raw);
	sel = (SelectStmt *) rs->stmt;
	if (sel->intoClause != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("the query of a report cannot use SELECT INTO"),
				 errhint("The report's target table receives its rows.")));
	stmt = rs->stmt_len > 0 ? pnstrdup(query + rs->stmt_location, rs->stmt_len)
		: pstrdup(query + rs->stmt_location);

#if PG_VERSION_NUM >= 150000
	q = parse_analyze_fixedparams(rs, stmt, NULL, 0, NULL);
#else
	q = parse_analyze(rs, stmt, NULL, 0, NULL);
#endif
	if (q->commandType != CMD_SELECT || q->hasModifyingCTE || q->rowMarks != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("the query of a report must only read"),
				 errdetail("Data-modifying WITH clauses and FOR UPDATE/SHARE are not allowed.")));
	foreach(lc, q->targetList)
	{
		TargetEntry *te = lfirst(lc);
		ListCell   *lc2;

		if (te->resjunk)
			continue;
		if (te->resname == NULL || strcmp(te->resname, "?column?") == 0 ||
			strcmp(te->resname, "run_id") == 0 || strcmp(te->resname, "run_at") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_COLUMN_DEFINITION),
					 errmsg("output column %d of the report's query needs a %sname",
							te->resno, te->resname && te->resname[0] != '?' ? "different " : ""),
					 errdetail("The target table's first columns are run_id and run_at, then one column per output column, named as in the query."),
					 errhint("Name it with AS.")));
		foreach(lc2, names)
			if (strcmp(lfirst(lc2), te->resname) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("the report's query has two output columns named \"%s\"", te->resname),
						 errhint("Name them apart with AS.")));
		names = lappend(names, te->resname);
	}
	if (names == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_COLUMN_DEFINITION),
				 errmsg("the report's query has no output columns")));

	/* plan it and check privileges as the caller, without running it */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(psprintf("EXPLAIN (COSTS OFF) %s", stmt), false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "smpc: EXPLAIN of the report's query failed");
	SPI_finish();
	return stmt;
}

/*
 * ResolveTarget
 *		The target table's schema and name: as given, or in the schema where
 *		CREATE TABLE would put it now.  An existing table must be one the
 *		caller can insert into; otherwise the caller must be able to create
 *		it in that schema.
 */
static void
ResolveTarget(const char *target, char **schema, char **table)
{
	List	   *names = stringToQualifiedNameList(target
#if PG_VERSION_NUM >= 160000
												  ,NULL
#endif
		);
	RangeVar   *rv = makeRangeVarFromNameList(names);
	Oid			nspid;
	Oid			relid;

	if (rv->catalogname != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("target \"%s\" names a database", target),
				 errhint("Give the table as schema.table or table.")));
	nspid = RangeVarGetCreationNamespace(rv);
	if (isAnyTempNamespace(nspid))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("the target of a report cannot be a temporary table"),
				 errdetail("Runs happen in other sessions, which cannot see this session's temporary tables.")));
	*schema = get_namespace_name(nspid);
	*table = pstrdup(rv->relname);
	relid = get_relname_relid(rv->relname, nspid);
	if (OidIsValid(relid))
	{
		char		kind = get_rel_relkind(relid);

		if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE)
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("target \"%s.%s\" is not a table", *schema, *table)));
		if (pg_class_aclcheck(relid, GetUserId(), ACL_INSERT) != ACLCHECK_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to append to table \"%s.%s\"", *schema, *table),
					 errdetail("Each run appends to the target table as the role that scheduled the report.")));
		return;
	}
#if PG_VERSION_NUM >= 160000
	if (object_aclcheck(NamespaceRelationId, nspid, GetUserId(), ACL_CREATE) != ACLCHECK_OK)
#else
	if (pg_namespace_aclcheck(nspid, GetUserId(), ACL_CREATE) != ACLCHECK_OK)
#endif
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to create table \"%s\" in schema \"%s\"", *table, *schema),
				 errdetail("The first run creates the target table as the role that scheduled the report."),
				 errhint("Grant CREATE on the schema, or create the table beforehand.")));
}

static void
NextRunIdWork(void *arg)
{
	Exec("SELECT nextval('smpc.report_run_id_seq')", 0, NULL, NULL, NULL, SPI_OK_SELECT);
	*(int64 *) arg = pg_strtoint64(ResultText(0, 1));
}

static int64
NewRunId(void)
{
	int64		id;

	smpc_run_as_extension_owner(NextRunIdWork, &id);
	return id;
}

/* ---------------------------------------------------------------- management */

typedef struct ScheduleArgs
{
	const char *name;
	Oid			owner;
	const char *schedule;
	const char *timezone;
	const char *query;
	const char *schema;
	const char *table;
	int32		max_retries;
	Interval   *retry_delay;
	TimestampTz first;
	bool		replace;
	bool		exists;
	Oid			existing_owner;
} ScheduleArgs;

static void
WriteReport(void *arg)
{
	ScheduleArgs *a = arg;
	Oid			types[10] = {TEXTOID, OIDOID, TEXTOID, TEXTOID, TEXTOID, NAMEOID, NAMEOID,
	INT4OID, INTERVALOID, TIMESTAMPTZOID};
	Datum		values[10];

	values[0] = CStringGetTextDatum(a->name);
	Exec("SELECT owner::oid FROM smpc.report WHERE report_name = $1 FOR UPDATE",
		 1, types, values, NULL, SPI_OK_SELECT);
	a->exists = SPI_processed == 1;
	if (a->exists)
	{
		a->existing_owner = (Oid) strtoul(ResultText(0, 1), NULL, 10);
		if (!a->replace || !has_privs_of_role(a->owner, a->existing_owner))
			return;
	}
	values[1] = ObjectIdGetDatum(a->owner);
	values[2] = CStringGetTextDatum(a->schedule);
	values[3] = CStringGetTextDatum(a->timezone);
	values[4] = CStringGetTextDatum(a->query);
	values[5] = DirectFunctionCall1(namein, CStringGetDatum(a->schema));
	values[6] = DirectFunctionCall1(namein, CStringGetDatum(a->table));
	values[7] = Int32GetDatum(a->max_retries);
	values[8] = IntervalPGetDatum(a->retry_delay);
	values[9] = TimestampTzGetDatum(a->first);
	if (a->exists)
		Exec("UPDATE smpc.report SET owner = $2, schedule = $3, timezone = $4, query = $5,"
			 " target_schema = $6, target_table = $7, max_retries = $8, retry_delay = $9,"
			 " next_run_at = $10, retry_at = NULL, retry_attempt = 1, paused = false"
			 " WHERE report_name = $1",
			 10, types, values, NULL, SPI_OK_UPDATE);
	else
		Exec("INSERT INTO smpc.report (report_name, owner, schedule, timezone, query,"
			 " target_schema, target_table, max_retries, retry_delay, next_run_at)"
			 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
			 10, types, values, NULL, SPI_OK_INSERT);
}

/*
 * smpc.schedule_report(report_name, schedule, query, target, max_retries,
 *						retry_delay, replace) returns timestamptz
 *		Schedule a report as the calling role; returns its first slot.
 */
Datum
smpc_schedule_report(PG_FUNCTION_ARGS)
{
	ScheduleArgs a;
	Schedule	s;
	Interval	zero;

	for (int i = 0; i < 7; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument %d of smpc.schedule_report must not be NULL", i + 1)));
	memset(&a, 0, sizeof(a));
	a.name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	a.schedule = text_to_cstring(PG_GETARG_TEXT_PP(1));
	a.max_retries = PG_GETARG_INT32(4);
	a.retry_delay = PG_GETARG_INTERVAL_P(5);
	a.replace = PG_GETARG_BOOL(6);
	a.owner = GetUserId();
	a.timezone = pg_get_timezone_name(session_timezone);

	smpc_validate_name(a.name, "report");
	if (a.max_retries < 0 || a.max_retries > 20)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_retries must be between 0 and 20")));
	memset(&zero, 0, sizeof(zero));
	if (a.retry_delay->time < 0 || a.retry_delay->day < 0 || a.retry_delay->month < 0 ||
		!DatumGetBool(DirectFunctionCall2(interval_gt, IntervalPGetDatum(a.retry_delay),
										  IntervalPGetDatum(&zero))))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("retry_delay must be a positive interval")));
	ParseSchedule(a.schedule, a.timezone, &s);
	CheckCanLogIn(a.owner);
	ResolveTarget(text_to_cstring(PG_GETARG_TEXT_PP(3)), (char **) &a.schema, (char **) &a.table);
	a.query = ValidateQuery(text_to_cstring(PG_GETARG_TEXT_PP(2)));
	a.first = s.is_cron ? CronAfter(&s, GetCurrentTimestamp())
		: AddInterval(GetCurrentTimestamp(), &s.every);

	smpc_run_as_extension_owner(WriteReport, &a);
	if (a.exists && !a.replace)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("report \"%s\" already exists", a.name),
				 errhint("Pass replace => true to replace it, or unschedule it first.")));
	if (a.exists && !has_privs_of_role(a.owner, a.existing_owner))
	{
		Report		r = {.name = (char *) a.name,.owner = a.existing_owner};

		CheckReportOwner(&r, "replace");
	}
	if (!scheduler_registered ||
		strcmp(smpc_scheduler_database, get_database_name(MyDatabaseId)) != 0)
		ereport(WARNING,
				(errmsg("the smpc scheduler does not run reports of this database"),
				 errdetail("smpc.scheduler_database is \"%s\"; reports run only when smpc is in shared_preload_libraries and that setting names this database.",
						   smpc_scheduler_database ? smpc_scheduler_database : ""),
				 errhint("smpc.run_report runs a report now in any case.")));
	PG_RETURN_TIMESTAMPTZ(a.first);
}

typedef struct ChangeArgs
{
	int32		report_id;
	const char *sql;
	TimestampTz when;
} ChangeArgs;

static void
ChangeReport(void *arg)
{
	ChangeArgs *c = arg;
	Oid			types[2] = {INT4OID, TIMESTAMPTZOID};
	Datum		values[2] = {Int32GetDatum(c->report_id), TimestampTzGetDatum(c->when)};

	Exec(c->sql, 2, types, values, NULL, c->sql[0] == 'D' ? SPI_OK_DELETE : SPI_OK_UPDATE);
}

/* smpc.unschedule_report(report_name): no more runs; the history stays */
Datum
smpc_unschedule_report(PG_FUNCTION_ARGS)
{
	Report		r;
	ChangeArgs	c = {0};

	LookupReport(text_to_cstring(PG_GETARG_TEXT_PP(0)), &r, true);
	CheckReportOwner(&r, "unschedule");
	c.report_id = r.report_id;
	c.sql = "DELETE FROM smpc.report WHERE report_id = $1 AND $2 IS NOT NULL";
	smpc_run_as_extension_owner(ChangeReport, &c);
	PG_RETURN_VOID();
}

/* smpc.pause_report(report_name): no runs until resume_report */
Datum
smpc_pause_report(PG_FUNCTION_ARGS)
{
	Report		r;
	ChangeArgs	c = {0};

	LookupReport(text_to_cstring(PG_GETARG_TEXT_PP(0)), &r, true);
	CheckReportOwner(&r, "pause");
	c.report_id = r.report_id;
	c.sql = "UPDATE smpc.report SET paused = true, retry_at = NULL, retry_attempt = 1"
		" WHERE report_id = $1 AND $2 IS NOT NULL";
	smpc_run_as_extension_owner(ChangeReport, &c);
	PG_RETURN_VOID();
}

/* smpc.resume_report(report_name): runs again from the next slot after now */
Datum
smpc_resume_report(PG_FUNCTION_ARGS)
{
	Report		r;
	ChangeArgs	c = {0};
	Schedule	s;

	LookupReport(text_to_cstring(PG_GETARG_TEXT_PP(0)), &r, true);
	CheckReportOwner(&r, "resume");
	ParseSchedule(r.schedule, r.timezone, &s);
	c.report_id = r.report_id;
	c.when = s.is_cron ? CronAfter(&s, GetCurrentTimestamp())
		: AddInterval(GetCurrentTimestamp(), &s.every);
	c.sql = "UPDATE smpc.report SET paused = false, next_run_at = $2, retry_at = NULL,"
		" retry_attempt = 1 WHERE report_id = $1";
	smpc_run_as_extension_owner(ChangeReport, &c);
	PG_RETURN_TIMESTAMPTZ(c.when);
}

/* ---------------------------------------------------------------- runs */

/* Start a report worker for a run; NULL if no worker slot is free. */
static BackgroundWorkerHandle *
StartRunWorker(const RunArgs *a, bool notify)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "smpc");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "smpc_report_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "smpc report %s", a->report_name);
	snprintf(worker.bgw_type, BGW_MAXLEN, "smpc report");
	memcpy(worker.bgw_extra, a, sizeof(*a));
	worker.bgw_notify_pid = notify ? MyProcPid : 0;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		return NULL;
	return handle;
}

typedef struct RunRow
{
	int64		run_id;
	bool		found;
	char	   *status;
	char	   *error;
	char	   *sqlstate;
} RunRow;

/* the run's row as committed now, whatever the caller's snapshot */
static void
ReadRunRow(void *arg)
{
	RunRow	   *rr = arg;
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(rr->run_id)};
	SPIPlanPtr	plan = SPI_prepare("SELECT status, error, sqlstate FROM smpc.report_run WHERE run_id = $1",
								   1, types);

	if (plan == NULL ||
		SPI_execute_snapshot(plan, values, NULL, GetLatestSnapshot(), InvalidSnapshot,
							 true, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "smpc: could not read report run " INT64_FORMAT, rr->run_id);
	rr->found = SPI_processed == 1;
	if (!rr->found)
		return;
	rr->status = MemoryContextStrdup(TopTransactionContext, ResultText(0, 1));
	rr->error = ResultText(0, 2) ? MemoryContextStrdup(TopTransactionContext, ResultText(0, 2)) : NULL;
	rr->sqlstate = ResultText(0, 3) ? MemoryContextStrdup(TopTransactionContext, ResultText(0, 3)) : NULL;
}

/*
 * smpc.run_report(report_name, wait) returns bigint
 *		Run a report now, in a background worker of its own (so in its own
 *		transactions, whatever becomes of the caller's).  With wait, return
 *		when the run has ended and raise its error if it failed.
 */
Datum
smpc_run_report(PG_FUNCTION_ARGS)
{
	Report		r;
	RunArgs		a;
	bool		wait = PG_GETARG_BOOL(1);
	BackgroundWorkerHandle *handle;
	RunRow		rr = {0};

	/*
	 * The worker sees only committed data and may need locks this
	 * transaction holds: waiting for it from a transaction that has written
	 * anything could wait forever, or run a report it cannot see.
	 */
	if (wait && TransactionIdIsValid(GetTopTransactionIdIfAny()))
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("smpc.run_report cannot wait for a run inside a transaction that has written data"),
				 errdetail("The run happens in another session, which sees only committed data and may need this transaction's locks."),
				 errhint("Commit first, or pass wait => false.")));
	LookupReport(text_to_cstring(PG_GETARG_TEXT_PP(0)), &r, false);
	CheckReportOwner(&r, "run");
	CheckCanLogIn(r.owner);
	memset(&a, 0, sizeof(a));
	a.dboid = MyDatabaseId;
	a.owner = r.owner;
	a.report_id = r.report_id;
	a.attempt = 1;
	a.run_id = NewRunId();
	strlcpy(a.trigger, "manual", sizeof(a.trigger));
	strlcpy(a.report_name, r.name, sizeof(a.report_name));

	handle = StartRunWorker(&a, true);
	if (handle == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not start a worker for report \"%s\"", r.name),
				 errdetail("Every background worker slot is in use."),
				 errhint("Raise max_worker_processes, or try again later.")));
	if (!wait)
		PG_RETURN_INT64(a.run_id);

	if (WaitForBackgroundWorkerShutdown(handle) == BGWH_POSTMASTER_DIED)
		ereport(FATAL,
				(errcode(ERRCODE_ADMIN_SHUTDOWN),
				 errmsg("postmaster exited while report \"%s\" was running", r.name)));
	rr.run_id = a.run_id;
	smpc_run_as_extension_owner(ReadRunRow, &rr);
	if (!rr.found || strcmp(rr.status, "running") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the worker of report \"%s\" exited before recording run " INT64_FORMAT,
						r.name, a.run_id),
				 errhint("See the server log.")));
	if (strcmp(rr.status, "skipped") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("report \"%s\" is already running", r.name),
				 errdetail("Run " INT64_FORMAT " was recorded as skipped: %s", a.run_id,
						   rr.error ? rr.error : ""),
				 errhint("Wait for the run in progress to end; smpc.report_runs shows it.")));
	if (strcmp(rr.status, "failed") == 0)
		ereport(ERROR,
				(errcode(rr.sqlstate && strlen(rr.sqlstate) == 5 ?
						 MAKE_SQLSTATE(rr.sqlstate[0], rr.sqlstate[1], rr.sqlstate[2],
									   rr.sqlstate[3], rr.sqlstate[4]) :
						 ERRCODE_INTERNAL_ERROR),
				 errmsg("report \"%s\" run " INT64_FORMAT " failed: %s", r.name, a.run_id,
						rr.error ? rr.error : "unknown error")));
	PG_RETURN_INT64(a.run_id);
}

/* ---------------------------------------------------------------- history */

typedef struct OutcomeArgs
{
	const RunArgs *run;
	const char *status;
	int64		rows;
	const char *error;
	const char *sqlstate;
	bool		retry;
	bool		insert;			/* no row yet: insert it whole */
} OutcomeArgs;

/* the noted session ids as a bytea[] */
static Datum
NotedSessions(void)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(1, nnoted));

	for (int i = 0; i < nnoted; i++)
	{
		bytea	   *b = palloc(VARHDRSZ + SMPC_SESSION_ID_BYTES);

		SET_VARSIZE(b, VARHDRSZ + SMPC_SESSION_ID_BYTES);
		memcpy(VARDATA(b), noted[i], SMPC_SESSION_ID_BYTES);
		elems[i] = PointerGetDatum(b);
	}
	return PointerGetDatum(construct_array(elems, nnoted, BYTEAOID, -1, false, TYPALIGN_INT));
}

static void
WriteOutcome(void *arg)
{
	OutcomeArgs *o = arg;
	const RunArgs *a = o->run;
	Oid			types[12] = {INT8OID, TEXTOID, INT8OID, TEXTOID, TEXTOID, BYTEAARRAYOID,
		INT4OID, TEXTOID, OIDOID, TEXTOID, INT4OID, TIMESTAMPTZOID};
	Datum		values[12];
	char		nulls[12];

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(a->run_id);
	values[1] = CStringGetTextDatum(o->status);
	values[2] = Int64GetDatum(o->rows);
	if (o->rows < 0)
		nulls[2] = 'n';
	values[3] = o->error ? CStringGetTextDatum(o->error) : (Datum) 0;
	nulls[3] = o->error ? ' ' : 'n';
	values[4] = o->sqlstate ? CStringGetTextDatum(o->sqlstate) : (Datum) 0;
	nulls[4] = o->sqlstate ? ' ' : 'n';
	values[5] = NotedSessions();
	values[6] = Int32GetDatum(a->report_id);
	values[7] = CStringGetTextDatum(a->report_name);
	values[8] = ObjectIdGetDatum(a->owner);
	values[9] = CStringGetTextDatum(a->trigger);
	values[10] = Int32GetDatum(a->attempt);
	values[11] = TimestampTzGetDatum(a->scheduled_for);
	if (a->scheduled_for == 0)
		nulls[11] = 'n';

	if (o->insert)
		Exec("INSERT INTO smpc.report_run (run_id, status, rows, error, sqlstate, session_ids,"
			 " report_id, report_name, owner, trigger, attempt, scheduled_for, started_at,"
			 " finished_at)"
			 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, now(), clock_timestamp())",
			 12, types, values, nulls, SPI_OK_INSERT);
	else
		Exec("UPDATE smpc.report_run SET status = $2, rows = $3, error = $4, sqlstate = $5,"
			 " session_ids = $6, finished_at = clock_timestamp()"
			 " WHERE run_id = $1 AND status = 'running'",
			 6, types, values, nulls, SPI_OK_UPDATE);

	/*
	 * Retry k of a failed run comes retry_delay * 2^(k-1) after it, unless
	 * the next slot comes first or the retries are used up.
	 */
	if (o->retry)
		Exec("UPDATE smpc.report SET retry_attempt = $11 + 1,"
			 " retry_at = clock_timestamp() + retry_delay * power(2, $11 - 1)"
			 " WHERE report_id = $7 AND owner = $9 AND NOT paused AND max_retries >= $11"
			 " AND clock_timestamp() + retry_delay * power(2, $11 - 1) < next_run_at",
			 12, types, values, nulls, SPI_OK_UPDATE);
}

/*
 * RecordOutcome
 *		Finish the run's row (or insert it whole if the worker never wrote
 *		one) and, for a failed scheduled run, schedule its retry.
 */
static void
RecordOutcome(const RunArgs *a, const char *status, int64 rows,
			  const char *error, const char *sqlstate, bool retry)
{
	OutcomeArgs o = {a, status, rows, error, sqlstate, retry, false};

	smpc_run_as_extension_owner(WriteOutcome, &o);
}

static void
InsertOutcome(const RunArgs *a, const char *status, const char *error,
			  const char *sqlstate, bool retry)
{
	OutcomeArgs o = {a, status, -1, error, sqlstate, retry, true};

	smpc_run_as_extension_owner(WriteOutcome, &o);
}

typedef struct StartArgs
{
	const RunArgs *run;
	char	   *query;
	char	   *schema;
	char	   *table;
	bool		found;
	TimestampTz started_at;		/* the run's started_at, and its rows' run_at */
	int64		running;		/* the run in progress, when skipped */
} StartArgs;

static void
WriteStart(void *arg)
{
	StartArgs  *s = arg;
	const RunArgs *a = s->run;
	Oid			types[9] = {INT4OID, OIDOID, INT8OID, TEXTOID, TEXTOID, INT4OID,
	TIMESTAMPTZOID, INT4OID, INT8OID};
	Datum		values[9];
	char		nulls[9];

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int32GetDatum(a->report_id);
	values[1] = ObjectIdGetDatum(a->owner);
	Exec("SELECT query, target_schema, target_table FROM smpc.report"
		 " WHERE report_id = $1 AND owner = $2",
		 2, types, values, NULL, SPI_OK_SELECT);
	s->found = SPI_processed == 1;
	if (!s->found)
		return;
	s->query = MemoryContextStrdup(TopMemoryContext, ResultText(0, 1));
	s->schema = MemoryContextStrdup(TopMemoryContext, ResultText(0, 2));
	s->table = MemoryContextStrdup(TopMemoryContext, ResultText(0, 3));
	values[2] = Int64GetDatum(a->run_id);
	values[3] = CStringGetTextDatum(a->report_name);
	values[4] = CStringGetTextDatum(a->trigger);
	values[5] = Int32GetDatum(a->attempt);
	values[6] = TimestampTzGetDatum(a->scheduled_for);
	nulls[6] = a->scheduled_for == 0 ? 'n' : ' ';
	values[7] = Int32GetDatum(MyProcPid);

	/*
	 * Holding the report's lock, no other run of it is alive: a row still
	 * 'running' belongs to a worker that died (in any database, also where
	 * no scheduler sweeps).
	 */
	Exec("UPDATE smpc.report_run SET status = 'failed', finished_at = clock_timestamp(),"
		 " error = 'the run was interrupted: its worker ended without recording an outcome'"
		 " WHERE report_id = $1 AND status = 'running'",
		 1, types, values, NULL, SPI_OK_UPDATE);
	Exec("INSERT INTO smpc.report_run (run_id, report_id, report_name, owner, trigger,"
		 " attempt, scheduled_for, started_at, status, pid)"
		 " VALUES ($3, $1, $4, $2, $5, $6, $7, now(), 'running', $8)",
		 8, types, values, nulls, SPI_OK_INSERT);
}

static void
FindRunning(void *arg)
{
	StartArgs  *s = arg;
	Oid			types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(s->run->report_id)};

	Exec("SELECT max(run_id) FROM smpc.report_run WHERE report_id = $1 AND status = 'running'",
		 1, types, values, NULL, SPI_OK_SELECT);
	s->running = ResultText(0, 1) ? pg_strtoint64(ResultText(0, 1)) : 0;
}

/* the lock that keeps two runs of a report apart, whoever started them */
static void
SetReportLockTag(LOCKTAG *tag, int32 report_id)
{
	Oid			relid = get_relname_relid("report", get_namespace_oid("smpc", false));

	SET_LOCKTAG_OBJECT(*tag, MyDatabaseId, relid, (uint32) report_id, 0);
}

/*
 * smpc_report_worker_main
 *		One run of one report, logged in as the report's owner.
 */
void
smpc_report_worker_main(Datum arg)
{
	RunArgs		a;
	StartArgs	start = {0};
	LOCKTAG		tag;
	MemoryContext work_cxt;
	MemoryContext outer_cxt;
	volatile bool ok = false;
	ErrorData  *volatile edata = NULL;
	volatile int64 rows = 0;

	memcpy(&a, MyBgworkerEntry->bgw_extra, sizeof(a));
	start.run = &a;
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(a.dboid, a.owner, 0);
	SetConfigOption("application_name", psprintf("smpc report %s", a.report_name),
					PGC_USERSET, PGC_S_SESSION);
	work_cxt = AllocSetContextCreate(TopMemoryContext, "smpc report", ALLOCSET_DEFAULT_SIZES);

	/* 1. one run per report: the lock, then the run's row */
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "smpc report: starting");
	SetReportLockTag(&tag, a.report_id);
	if (LockAcquire(&tag, ExclusiveLock, true, true) == LOCKACQUIRE_NOT_AVAIL)
	{
		smpc_run_as_extension_owner(FindRunning, &start);
		InsertOutcome(&a, "skipped",
					  start.running > 0 ?
					  psprintf("run " INT64_FORMAT " of report \"%s\" was in progress",
							   start.running, a.report_name) :
					  psprintf("another run of report \"%s\" was in progress", a.report_name),
					  NULL, false);
		PopActiveSnapshot();
		CommitTransactionCommand();
		proc_exit(0);
	}
	smpc_run_as_extension_owner(WriteStart, &start);
	start.started_at = GetCurrentTransactionStartTimestamp();
	if (!start.found)
	{
		InsertOutcome(&a, "failed", "the report was unscheduled or changed owner before the run started",
					  NULL, false);
		PopActiveSnapshot();
		CommitTransactionCommand();
		proc_exit(0);
	}
	PopActiveSnapshot();
	CommitTransactionCommand();

	/*
	 * 2. the run, in a subtransaction of the transaction that records its
	 * outcome: rows and outcome commit together, and aborting the
	 * subtransaction keeps the session lock (a top-level abort would
	 * release it).
	 */
	noting_sessions = true;
	nnoted = 0;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	outer_cxt = CurrentMemoryContext;
	BeginInternalSubTransaction(NULL);
	PG_TRY();
	{
		StringInfoData sql;
		char	   *run_at;
		char	   *target = psprintf("%s.%s", quote_identifier(start.schema),
									  quote_identifier(start.table));

		pgstat_report_activity(STATE_RUNNING, start.query);
		run_at = DatumGetCString(DirectFunctionCall1(timestamptz_out,
													 TimestampTzGetDatum(start.started_at)));
		initStringInfo(&sql);
		if (OidIsValid(get_relname_relid(start.table, get_namespace_oid(start.schema, false))))
			appendStringInfo(&sql, "INSERT INTO %s ", target);
		else
			appendStringInfo(&sql, "CREATE TABLE %s AS ", target);
		appendStringInfo(&sql,
						 "SELECT " INT64_FORMAT "::bigint AS run_id, %s::timestamptz AS run_at, q.*"
						 " FROM (\n%s\n) q",
						 a.run_id, quote_literal_cstr(run_at), start.query);

		/*
		 * The query was checked as one SELECT under the scheduling
		 * session's settings; the owner's (standard_conforming_strings,
		 * say) could lex it differently.  It must still be one statement.
		 */
		if (list_length(raw_parser(sql.data, RAW_PARSE_DEFAULT)) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_SYNTAX_ERROR),
					 errmsg("the query of report \"%s\" no longer reads as one SELECT statement",
							a.report_name),
					 errhint("Check the owner's settings, e.g. standard_conforming_strings, and schedule the report again.")));
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute(sql.data, false, 0) < 0)
			elog(ERROR, "smpc: report statement failed");
		rows = (int64) SPI_processed;
		SPI_finish();
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(outer_cxt);
		ok = true;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(work_cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(outer_cxt);
	}
	PG_END_TRY();
	noting_sessions = false;

	if (ok)
		RecordOutcome(&a, "succeeded", rows, NULL, NULL, false);
	else
	{
		/* 3. a failed run: its row, and a retry */
		char		sqlstate[6];

		strlcpy(sqlstate, unpack_sql_state(edata->sqlerrcode), sizeof(sqlstate));
		ereport(LOG,
				(errmsg("smpc: report \"%s\" run " INT64_FORMAT " failed: %s",
						a.report_name, a.run_id, edata->message)));
		RecordOutcome(&a, "failed", -1, edata->message, sqlstate,
					  strcmp(a.trigger, "manual") != 0);
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	LockRelease(&tag, ExclusiveLock, true);
	pgstat_report_activity(STATE_IDLE, NULL);
	proc_exit(0);
}

/* ---------------------------------------------------------------- scheduler */

/* a run the scheduler started and watches */
typedef struct Watched
{
	RunArgs		args;
	BackgroundWorkerHandle *handle;
} Watched;

static List *watched = NIL;		/* Watched *, in TopMemoryContext */

static bool
IsWatched(int32 report_id)
{
	ListCell   *lc;

	foreach(lc, watched)
		if (((Watched *) lfirst(lc))->args.report_id == report_id)
			return true;
	return false;
}

/*
 * SweepInterrupted
 *		Runs left 'running' by a worker that is gone (a crash, an immediate
 *		shutdown) are marked failed.  A live worker's pid is in
 *		pg_stat_activity with a start before its run's.
 */
static void
SweepInterrupted(void)
{
	Exec("UPDATE smpc.report_run r SET status = 'failed', finished_at = clock_timestamp(),"
		 " error = 'the run was interrupted: its worker ended without recording an outcome'"
		 " || ' (server restart, crash or termination)'"
		 " WHERE status = 'running' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity s"
		 "  WHERE s.pid = r.pid AND s.backend_start <= r.started_at)",
		 0, NULL, NULL, NULL, SPI_OK_UPDATE);
}

/* What the scheduler does for a worker that stopped: make sure its run has an outcome. */
static void
ReapWatched(void)
{
	ListCell   *lc;

	foreach(lc, watched)
	{
		Watched    *w = lfirst(lc);
		pid_t		pid;
		RunRow		rr = {0};

		if (GetBackgroundWorkerPid(w->handle, &pid) != BGWH_STOPPED)
			continue;
		rr.run_id = w->args.run_id;
		ReadRunRow(&rr);
		if (!rr.found)
			InsertOutcome(&w->args, "failed",
						  "the report worker exited before it started the run (see the server log)",
						  NULL, true);
		else if (strcmp(rr.status, "running") == 0)
			RecordOutcome(&w->args, "failed",
						  -1, "the run was interrupted: its worker exited during the run (see the server log)",
						  NULL, true);
		watched = foreach_delete_current(watched, lc);
		pfree(w->handle);
		pfree(w);
	}
}

/*
 * SlotAfterRun
 *		The slot after the one being run.  A schedule that no longer reads
 *		(its time zone is gone) or never fires again gives 'infinity': this
 *		run is the last, and the report is paused.  Nothing that could leak
 *		is acquired before the error is caught.
 */
static TimestampTz
SlotAfterRun(const char *schedule, const char *tzname, TimestampTz slot, TimestampTz now)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile TimestampTz next = DT_NOEND;

	PG_TRY();
	{
		Schedule	s;

		ParseSchedule(schedule, tzname, &s);
		next = NextSlot(&s, slot, now);
	}
	PG_CATCH();
	{
		ErrorData  *e;

		MemoryContextSwitchTo(cxt);
		e = CopyErrorData();
		if (e->sqlerrcode != ERRCODE_INVALID_PARAMETER_VALUE &&
			e->sqlerrcode != ERRCODE_DATETIME_VALUE_OUT_OF_RANGE)
			PG_RE_THROW();
		EmitErrorReport();
		FlushErrorState();
		next = DT_NOEND;
	}
	PG_END_TRY();
	return next;
}

/*
 * ScheduleDue
 *		Claim every report that is due and not already running under this
 *		scheduler: move it to its next slot (or clear its retry) and return
 *		the runs to start.  Slots that passed while the scheduler was not
 *		running give one catch-up run.
 */
static List *
ScheduleDue(TimestampTz started)
{
	List	   *runs = NIL;
	TimestampTz now = GetCurrentTimestamp();
	Oid			types[4] = {INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID};
	int			n;
	SPITupleTable *due;
	MemoryContext cxt = CurrentMemoryContext;

	Exec("SELECT r.report_id, r.report_name, r.owner::oid, r.schedule, r.timezone,"
		 "       r.next_run_at, r.retry_at, r.retry_attempt,"
		 "       coalesce(a.rolcanlogin, false), a.oid IS NOT NULL"
		 "  FROM smpc.report r LEFT JOIN pg_catalog.pg_authid a ON a.oid = r.owner::oid"
		 " WHERE NOT r.paused AND (r.next_run_at <= now() OR r.retry_at <= now())"
		 "   AND NOT EXISTS (SELECT 1 FROM smpc.report_run u"
		 "                    WHERE u.report_id = r.report_id AND u.status = 'running')"
		 " ORDER BY least(r.next_run_at, r.retry_at), r.report_id FOR UPDATE OF r SKIP LOCKED",
		 0, NULL, NULL, NULL, SPI_OK_SELECT);
	due = SPI_tuptable;
	n = (int) SPI_processed;
	for (int i = 0; i < n; i++)
	{
		HeapTuple	tup = due->vals[i];
		TupleDesc	desc = due->tupdesc;
		bool		isnull;
		RunArgs    *a;
		TimestampTz next_run_at;
		TimestampTz retry_at;
		Datum		values[4];
		char		nulls[4] = {' ', ' ', ' ', ' '};
		bool		slot_due;

		a = MemoryContextAllocZero(TopMemoryContext, sizeof(RunArgs));
		a->report_id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		if (IsWatched(a->report_id))
		{
			pfree(a);
			continue;
		}
		strlcpy(a->report_name, SPI_getvalue(tup, desc, 2), sizeof(a->report_name));
		a->owner = DatumGetObjectId(SPI_getbinval(tup, desc, 3, &isnull));
		a->dboid = MyDatabaseId;
		next_run_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 6, &isnull));
		retry_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 7, &isnull));
		if (isnull)
			retry_at = DT_NOEND;
		slot_due = next_run_at <= now;
		if (slot_due)
		{
			strlcpy(a->trigger, next_run_at < started ? "catch-up" : "schedule", sizeof(a->trigger));
			a->attempt = 1;
			a->scheduled_for = next_run_at;
			next_run_at = SlotAfterRun(SPI_getvalue(tup, desc, 4), SPI_getvalue(tup, desc, 5),
									   next_run_at, now);
		}
		else
		{
			strlcpy(a->trigger, "retry", sizeof(a->trigger));
			a->attempt = DatumGetInt32(SPI_getbinval(tup, desc, 8, &isnull));
			a->scheduled_for = retry_at;
		}
		values[0] = Int32GetDatum(a->report_id);
		values[1] = TimestampTzGetDatum(next_run_at);
		values[2] = (Datum) 0;
		values[3] = Int32GetDatum(1);
		nulls[2] = 'n';
		if (SPI_execute_with_args("UPDATE smpc.report SET next_run_at = $2, retry_at = $3,"
								  " retry_attempt = $4, paused = paused OR $2 = 'infinity'"
								  " WHERE report_id = $1",
								  4, types, values, nulls, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "smpc: could not move report %d to its next slot", a->report_id);
		a->run_id = -1;
		if (!DatumGetBool(SPI_getbinval(tup, desc, 10, &isnull)) ||
			!DatumGetBool(SPI_getbinval(tup, desc, 9, &isnull)))
			a->run_id = -2;		/* the owner is gone or cannot log in */
		MemoryContextSwitchTo(TopMemoryContext);
		runs = lappend(runs, a);
		MemoryContextSwitchTo(cxt);
	}
	return runs;
}

/*
 * SchedulerPass
 *		One look at the reports: reap finished workers, sweep interrupted
 *		runs now and then, claim the due reports and start their workers
 *		once the claims are committed.  Outside a transaction it runs in
 *		TopMemoryContext, where the watched workers live.
 */
static void
SchedulerPass(TimestampTz started, TimestampTz *last_sweep)
{
	List	   *runs = NIL;
	ListCell   *lc;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (OidIsValid(get_extension_oid("smpc", true)))
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, "smpc scheduler: looking for due reports");
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		ReapWatched();
		if (TimestampDifferenceExceeds(*last_sweep, GetCurrentTimestamp(), SWEEP_INTERVAL_MS))
		{
			SweepInterrupted();
			*last_sweep = GetCurrentTimestamp();
		}
		runs = ScheduleDue(started);
		foreach(lc, runs)
		{
			RunArgs    *a = lfirst(lc);
			bool		loginable = a->run_id != -2;

			a->run_id = NewRunId();
			if (!loginable)
			{
				InsertOutcome(a, "failed",
							  "the report's owner no longer exists or cannot log in",
							  "28000", false);
				a->run_id = 0;
			}
		}
		SPI_finish();
		PopActiveSnapshot();
	}
	CommitTransactionCommand();

	/* start the workers once the new slots are committed */
	foreach(lc, runs)
	{
		RunArgs    *a = lfirst(lc);
		BackgroundWorkerHandle *handle;
		Watched    *w;

		if (a->run_id == 0)
			continue;
		handle = StartRunWorker(a, true);
		if (handle == NULL)
		{
			SetCurrentStatementStartTimestamp();
			StartTransactionCommand();
			PushActiveSnapshot(GetTransactionSnapshot());
			InsertOutcome(a, "failed",
						  "could not start a report worker: every background worker slot is in use (max_worker_processes)",
						  "53400", true);
			PopActiveSnapshot();
			CommitTransactionCommand();
			continue;
		}
		w = MemoryContextAlloc(TopMemoryContext, sizeof(Watched));
		w->args = *a;
		w->handle = handle;
		watched = lappend(watched, w);
	}
	list_free_deep(runs);
}

/*
 * smpc_scheduler_main
 *		The scheduler: every second, start a worker for every due report.
 */
void
smpc_scheduler_main(Datum arg)
{
	TimestampTz started = GetCurrentTimestamp();
	TimestampTz last_sweep = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SchedulerSigterm);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(smpc_scheduler_database, NULL, 0);
	pgstat_report_appname("smpc scheduler");

	/*
	 * The scheduler is a superuser: nothing a database user creates may be
	 * found by its queries (an operator in public or "$user" that matches
	 * exactly would otherwise win over pg_catalog's).
	 */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);

	while (!got_sigterm)
	{
		volatile int nap = SCHEDULER_NAP_MS;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		PG_TRY();
		{
			SchedulerPass(started, &last_sweep);
		}
		PG_CATCH();
		{
			/* log it, clean up and try again a little later */
			MemoryContextSwitchTo(TopMemoryContext);
			EmitErrorReport();
			FlushErrorState();
			AbortCurrentTransaction();
			nap = 10 * SCHEDULER_NAP_MS;
		}
		PG_END_TRY();
		pgstat_report_stat(false);
		pgstat_report_activity(STATE_IDLE, NULL);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 nap, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	proc_exit(0);
}
