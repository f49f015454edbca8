/*
 * joint.c
 *		The querying node's side of a joint aggregate: the executor node
 *		(a ForeignScan over the grouped relation) and the protocol it drives.
 *
 * On the first fetch the node runs the whole protocol with every member at
 * once (connection.c), as party 1 of the session:
 *
 *	1. its own contribution: the dataset SQL through the same policy check
 *	   and SPI path as a member (local.c), before any member is contacted;
 *	2. PREPARE to every member; with a public group domain (or no GROUP BY)
 *	   the answers already carry the sealed shares, otherwise each member's
 *	   group keys, whose sorted union goes out with SHARE;
 *	3. COMBINE: each member gets the envelopes addressed to it and commits
 *	   to its share-sums; this node adds the shares addressed to itself;
 *	4. REVEAL: every commitment goes to every member, which opens its own;
 *	   openings are checked against the commitments, the result is
 *	   reconstructed from t + 1 share-sums and every further share-sum must
 *	   lie on the same polynomials;
 *	5. FINISH: every member gets all openings, verifies them itself, writes
 *	   its audit record and answers with a digest of the result, which must
 *	   equal this node's.
 *
 * Then the decoded groups are returned as rows; groups with fewer rows than
 * the federation's min_group_size are withheld.
 */
#include "postgres.h"

#include <math.h>
#include <sodium.h>

#include "catalog/pg_foreign_server.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "portability/instr_time.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/tuplestore.h"

#include "encode.h"
#include "fault.h"
#include "joint.h"
#include "psi.h"
#include "smpc.h"

PG_FUNCTION_INFO_V1(smpc_local_aggregate_refused);
PG_FUNCTION_INFO_V1(smpc_last_session_stats);

/* executor state */
typedef struct JointScanState
{
	Oid			relid;
	char	   *dataset;
	char	   *federation;
	List	   *quals;
	List	   *groupcols;
	List	   *values;
	List	   *outputs;
	char	   *sql;
	char	   *value_list;		/* its value columns, numbered, for errors */
	AttrNumber	intersect;		/* smpc_intersect_count's column, or 0 */
	/* results */
	bool		done;
	int			nrows;
	int			next;
	Datum	   *rowvalues;		/* nrows * natts */
	bool	   *rownulls;
	int			natts;
} JointScanState;

/* what the last joint query of this backend cost, per party */
typedef struct PartyStats
{
	char		name[NAMEDATALEN];
	bool		querying;
	uint64		sent;
	uint64		received;
	int			rounds;
	double		elapsed_ms;
} PartyStats;

static PartyStats LastStats[SMPC_MAX_PARTIES];
static int	LastStatsCount = 0;

static void CheckFederationUsage(ForeignServer *server);
static Datum ParamValue(Param *param, void *arg, bool *isnull);
static void RunJoint(ForeignScanState *node, JointScanState *st);
static void RunIntersect(ForeignScanState *node, JointScanState *st);

/*
 * smpc_local_aggregate_refused
 *		The transition and final functions of smpc_sum, smpc_count and
 *		smpc_avg outside a joint query.
 */
Datum
smpc_local_aggregate_refused(PG_FUNCTION_ARGS)
{
	const char *name = "smpc aggregate";
	Aggref	   *agg = AggGetAggref(fcinfo);

	if (agg)
		name = get_func_name(agg->aggfnoid);
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("%s can only aggregate a federated table", name),
			 errdetail("smpc aggregates are computed jointly by the members of a federation, never over a local relation."),
			 errhint("Use it on a foreign table imported with IMPORT FOREIGN SCHEMA smpc_datasets FROM SERVER <federation>, or use the plain aggregate locally.")));
	PG_RETURN_NULL();
}

/* ---------------------------------------------------------------- executor */

/*
 * CheckFederationUsage
 *		A joint query needs USAGE on its federation as well as SELECT on the
 *		federated table: granting a table does not by itself let a role
 *		start sessions with every member.  Checked as the current user, the
 *		role whose user mappings the session uses.
 */
static void
CheckFederationUsage(ForeignServer *server)
{
	Oid			roleid = GetUserId();

#if PG_VERSION_NUM >= 160000
	if (object_aclcheck(ForeignServerRelationId, server->serverid, roleid, ACL_USAGE) == ACLCHECK_OK)
#else
	if (pg_foreign_server_aclcheck(server->serverid, roleid, ACL_USAGE) == ACLCHECK_OK)
#endif
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for federation \"%s\"", server->servername),
			 errdetail("Joint queries need USAGE on the federation as well as SELECT on the federated table; role \"%s\" has no USAGE.",
					   GetUserNameFromId(roleid, false)),
			 errhint("GRANT USAGE ON FOREIGN SERVER %s TO %s;",
					 quote_identifier(server->servername),
					 quote_identifier(GetUserNameFromId(roleid, false)))));
}

void
smpc_begin_joint_scan(ForeignScanState *node, int eflags)
{
	ForeignScan *fs = (ForeignScan *) node->ss.ps.plan;
	JointScanState *st = palloc0(sizeof(JointScanState));
	ForeignTable *table;
	ForeignServer *server;
	ListCell   *lc;

	st->relid = (Oid) intVal(list_nth(fs->fdw_private, 0));
	st->quals = list_nth(fs->fdw_private, 1);
	st->groupcols = list_nth(fs->fdw_private, 2);
	st->values = list_nth(fs->fdw_private, 3);
	st->outputs = list_nth(fs->fdw_private, 4);
	if (list_length(st->outputs) == 1 &&
		intVal(linitial((List *) linitial(st->outputs))) == SMPC_OUT_INTERSECT)
		st->intersect = (AttrNumber) intVal(lsecond((List *) linitial(st->outputs)));

	table = GetForeignTable(st->relid);
	server = GetForeignServer(table->serverid);
	if (!smpc_is_federation_server(server))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("foreign table \"%s\" belongs to member server \"%s\", not to a federation",
						get_rel_name(st->relid), server->servername),
				 errhint("Import federated tables from the federation server.")));
	st->federation = server->servername;
	CheckFederationUsage(server);
	st->dataset = get_rel_name(st->relid);
	foreach(lc, table->options)
	{
		DefElem    *d = lfirst(lc);

		if (strcmp(d->defname, "dataset") == 0)
			st->dataset = defGetString(d);
	}
	node->fdw_state = st;
	/* an intersection's parties select their distinct keys */
	st->sql = smpc_deparse_dataset_sql(st->dataset, st->relid, st->quals,
									   st->intersect ? list_make1(makeInteger(st->intersect)) : st->groupcols,
									   st->intersect ? NIL : st->values,
									   (eflags & EXEC_FLAG_EXPLAIN_ONLY) ? NULL : ParamValue,
									   node, &st->value_list);
}

/*
 * A value that does not fit ("value column 4 is too large to share", from
 * this node or re-raised from a member) is named in the query's terms.
 */
static void
JointErrorContext(void *arg)
{
	JointScanState *st = (JointScanState *) arg;

	if (geterrcode() == ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE && st->value_list && !st->intersect)
		errcontext("value columns of the dataset query: %s", st->value_list);
}

/* The current value of an external parameter. */
static Datum
ParamValue(Param *param, void *arg, bool *isnull)
{
	ForeignScanState *node = (ForeignScanState *) arg;
	ExprState  *state = ExecInitExpr((Expr *) param, &node->ss.ps);

	return ExecEvalExpr(state, node->ss.ps.ps_ExprContext, isnull);
}

TupleTableSlot *
smpc_iterate_joint_scan(ForeignScanState *node)
{
	JointScanState *st = (JointScanState *) node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;

	if (!st->done)
	{
		MemoryContext old = MemoryContextSwitchTo(node->ss.ps.state->es_query_cxt);
		ErrorContextCallback errcallback;

		errcallback.callback = JointErrorContext;
		errcallback.arg = st;
		errcallback.previous = error_context_stack;
		error_context_stack = &errcallback;
		if (st->intersect)
			RunIntersect(node, st);
		else
			RunJoint(node, st);
		error_context_stack = errcallback.previous;
		MemoryContextSwitchTo(old);
		st->done = true;
	}
	ExecClearTuple(slot);
	if (st->next >= st->nrows)
		return slot;
	memcpy(slot->tts_values, st->rowvalues + (size_t) st->next * st->natts,
		   sizeof(Datum) * st->natts);
	memcpy(slot->tts_isnull, st->rownulls + (size_t) st->next * st->natts,
		   sizeof(bool) * st->natts);
	st->next++;
	return ExecStoreVirtualTuple(slot);
}

void
smpc_rescan_joint_scan(ForeignScanState *node)
{
	JointScanState *st = (JointScanState *) node->fdw_state;

	st->next = 0;
}

void
smpc_explain_joint_scan(ForeignScanState *node, ExplainState *es)
{
	JointScanState *st = (JointScanState *) node->fdw_state;
	SmpcFederation *fed = smpc_get_federation(st->federation);
	StringInfoData members;
	ListCell   *lc;

	initStringInfo(&members);
	foreach(lc, fed->members)
		appendStringInfo(&members, "%s%s", foreach_current_index(lc) ? ", " : "",
						 ((SmpcMember *) lfirst(lc))->name);
	ExplainPropertyText(st->intersect ? "Joint Intersection" : "Joint Aggregate",
						psprintf("dataset %s", st->dataset), es);
	ExplainPropertyText("Federation", fed->name, es);
	ExplainPropertyText("Members", members.data, es);
	if (st->intersect)
		ExplainPropertyText("Key", get_attname(st->relid, st->intersect, false), es);
	else
	{
		ExplainPropertyInteger("Threshold", NULL, fed->threshold, es);
		ExplainPropertyInteger("Minimum Group Size", NULL, fed->min_group_size, es);
	}
	if (es->verbose)
		ExplainPropertyText("Dataset SQL", st->sql, es);
}

/* ---------------------------------------------------------------- protocol */

/* the session as this node runs it */
typedef struct Joint
{
	SmpcFederation *fed;
	uint8		session_id[SMPC_SESSION_ID_BYTES];
	int			nparties;
	SmpcParty  *parties;
	SmpcMemberCall *calls;		/* this round's calls, one per present member */
	int		   *slot;			/* per member: its call this round, or -1 */
	bool	   *present;		/* per party: still taking part */
	bool		tolerant;		/* every share is dealt: a member that stops
								 * answering is left out, not fatal */
	List	   *left_out;		/* names of members left out */
	List	   *left_why;		/* and why (char *) */
	PartyStats *stats;
	int			hop;			/* an intersection's hop in progress */
	int			timeout_ms;		/* how long a round may take */
} Joint;

/* the round number a message of this type carries */
#define ROUND_OF(j, type) ((type) == SMPC_MSG_HOP ? (uint8) (j)->hop : (uint8) (type))

/* Start sending one request per present member (bodies[i] for member i). */
static SmpcCallBatch *
RoundStart(Joint *j, uint8 type, uint8 **bodies, size_t *body_lens)
{
	SmpcFaultHooks *hooks = smpc_fault_hooks();
	ListCell   *lc;
	int			k = 0;

	foreach(lc, j->fed->members)
	{
		int			i = foreach_current_index(lc);
		SmpcMember *m = lfirst(lc);
		SmpcMemberCall *mc = &j->calls[k];

		j->slot[i] = -1;
		if (!j->present[i + 1])
			continue;
		memset(mc, 0, sizeof(SmpcMemberCall));
		mc->member = m;
		mc->keep_session = type != SMPC_MSG_FINISH;
		mc->request = smpc_build_request(type, j->session_id, ROUND_OF(j, type), m, j->fed->name,
										 bodies[i], body_lens[i], &mc->request_len);
		if (hooks && hooks->request_built)
			hooks->request_built(m->name, type, mc->request, mc->request_len);
		j->slot[i] = k++;
	}
	return smpc_start_calls(j->calls, k, j->timeout_ms);
}

/* Leave member i out of the rest of the session. */
static void
LeaveOut(Joint *j, int i, const char *why)
{
	j->present[i + 1] = false;
	j->left_out = lappend(j->left_out, j->parties[i + 1].name);
	j->left_why = lappend(j->left_why, pstrdup(why));
}

/* ERROR unless at least t + 1 parties are still present. */
static void
CheckQuorum(Joint *j)
{
	int			n = 0;
	StringInfoData who;
	ListCell   *lc,
			   *lc2;

	for (int i = 0; i < j->nparties; i++)
		n += j->present[i] ? 1 : 0;
	if (n >= j->fed->threshold + 1)
		return;
	initStringInfo(&who);
	forboth(lc, j->left_out, lc2, j->left_why)
		appendStringInfo(&who, "%smember \"%s\": %s", who.len ? "; " : "",
						 (char *) lfirst(lc), (char *) lfirst(lc2));
	ereport(ERROR,
			(errcode(ERRCODE_CONNECTION_FAILURE),
			 errmsg("too few parties remain to finish the joint query: %d of the %d needed",
					n, j->fed->threshold + 1),
			 errdetail("%s.", who.data),
			 errhint("A joint query survives at most %d members dropping out after the shares are dealt (parties minus threshold minus one).",
					 j->nparties - j->fed->threshold - 1)));
}

/*
 * Wait for the answers of a round and check them.  answers[i] is member
 * i's answer, or NULL if it was not called or was left out: once every
 * share is dealt (j->tolerant), a member whose connection fails or who does
 * not answer in time is left out while t + 1 parties remain.  A member's
 * own error, or an answer that does not verify, is always fatal.
 */
static const uint8 **
RoundWait(Joint *j, SmpcCallBatch *batch, uint8 type, size_t *answer_lens)
{
	int			n = j->nparties - 1;
	const uint8 **answers = palloc0(sizeof(uint8 *) * Max(1, n));

	smpc_wait_calls(batch);
	for (int i = 0; i < n; i++)
	{
		PartyStats *ps = &j->stats[i + 1];
		SmpcMemberCall *mc;

		if (j->slot[i] < 0)
			continue;
		mc = &j->calls[j->slot[i]];
		ps->rounds++;
		ps->received += mc->request_len;
		ps->sent += mc->response_len;
		ps->elapsed_ms += mc->elapsed_ms;
		j->stats[0].sent += mc->request_len;
		j->stats[0].received += mc->response_len;
	}
	j->stats[0].rounds++;
	for (int i = 0; i < n; i++)
	{
		SmpcMemberCall *mc;

		answer_lens[i] = 0;
		if (j->slot[i] < 0)
			continue;
		mc = &j->calls[j->slot[i]];
		if (j->tolerant && mc->response == NULL && !mc->remote_error)
		{
			LeaveOut(j, i, mc->error ? mc->error : "no answer");
			continue;
		}
		answers[i] = smpc_open_answer(mc, j->session_id, ROUND_OF(j, type), &answer_lens[i]);
	}
	/* after FINISH the result is known and verified; only confirmations are missing */
	if (j->tolerant && type != SMPC_MSG_FINISH)
		CheckQuorum(j);
	return answers;
}

/* Send one request per present member and check the answers. */
static const uint8 **
Round(Joint *j, uint8 type, uint8 **bodies, size_t *body_lens, size_t *answer_lens)
{
	return RoundWait(j, RoundStart(j, type, bodies, body_lens), type, answer_lens);
}

static void
MalformedAnswer(Joint *j, int member, int rc, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROTOCOL_VIOLATION),
			 errmsg("member \"%s\": malformed %s answer: %s",
					j->parties[member + 1].name, what, smpc_status_message(rc))));
}

/* A NUL-free serialization of key tuple row of k, for sorting and lookup. */
static char *
KeyString(const smpc_key_list *k, uint32 row)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int c = 0; c < k->ncols; c++)
	{
		const smpc_key_cell *cell = &k->cells[(size_t) row * k->ncols + c];

		if (cell->isnull)
			appendStringInfoString(&buf, "N;");
		else
		{
			appendStringInfo(&buf, "%zu:", cell->value.len);
			appendBinaryStringInfo(&buf, cell->value.ptr, cell->value.len);
		}
	}
	return buf.data;
}

typedef struct KeyRef
{
	char	   *ser;
	const smpc_key_list *list;
	uint32		row;
} KeyRef;

static int
KeyRefCompare(const void *a, const void *b)
{
	return strcmp(((const KeyRef *) a)->ser, ((const KeyRef *) b)->ser);
}

/*
 * The union of the parties' key lists, sorted (by the serialized keys) so
 * that its order tells nothing about who contributed which key.
 */
static void
KeyUnion(smpc_key_list *lists, int nlists, int ncols, smpc_key_list *out)
{
	size_t		total = 0;
	KeyRef	   *refs;
	size_t		k = 0;
	size_t		nout = 0;

	for (int i = 0; i < nlists; i++)
		total += lists[i].ngroups;
	refs = palloc(sizeof(KeyRef) * Max(total, 1));
	for (int i = 0; i < nlists; i++)
		for (uint32 r = 0; r < lists[i].ngroups; r++)
		{
			refs[k].ser = KeyString(&lists[i], r);
			refs[k].list = &lists[i];
			refs[k].row = r;
			k++;
		}
	qsort(refs, total, sizeof(KeyRef), KeyRefCompare);
	out->ncols = ncols;
	out->cells = palloc0(sizeof(smpc_key_cell) * Max(1, total * ncols));
	for (size_t i = 0; i < total; i++)
	{
		if (i > 0 && strcmp(refs[i].ser, refs[i - 1].ser) == 0)
			continue;
		memcpy(&out->cells[nout * ncols],
			   &refs[i].list->cells[(size_t) refs[i].row * ncols],
			   sizeof(smpc_key_cell) * ncols);
		nout++;
	}
	if (nout > (size_t) smpc_max_groups)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the joint query has %zu groups, more than smpc.max_groups (%d)",
						nout, smpc_max_groups),
				 errhint("Group by fewer or coarser keys, or raise smpc.max_groups.")));
	out->ngroups = (uint32) nout;
}

static Datum
NumericFromText(const char *text)
{
	return DirectFunctionCall3(numeric_in, CStringGetDatum(text),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

static int64
DecodeCount(smpc_fe v)
{
	int64		n;

	if (smpc_decode_int64(v, &n) != SMPC_OK || n < 0)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_VERIFICATION_FAILED),
				 errmsg("a joint count decoded to an impossible value")));
	return n;
}

static double
SumFloat(smpc_fe v)
{
	const int64 unit = 1000000000;	/* 10^SMPC_FLOAT_SCALE */
	smpc_i128	x;

	StaticAssertStmt(SMPC_FLOAT_SCALE == 9, "unit is 10^SMPC_FLOAT_SCALE");
	smpc_check_core_status(smpc_decode_i128(v, &x), "decode a joint sum");

	/*
	 * Integer part and fraction separately, in integers: no int128 to long
	 * double conversion (which valgrind, computing x87 arithmetic at double
	 * precision, gets wrong by 1e-7).
	 */
	return (double) (x / unit) + (double) (int64) (x % unit) / (double) unit;
}

/* numeric arithmetic on Datums */
#define NUM_MUL(a, b) DirectFunctionCall2(numeric_mul, (a), (b))
#define NUM_ADD(a, b) DirectFunctionCall2(numeric_add, (a), (b))
#define NUM_SUB(a, b) DirectFunctionCall2(numeric_sub, (a), (b))
#define NUM_DIV(a, b) DirectFunctionCall2(numeric_div, (a), (b))
#define NUM_INT(n) DirectFunctionCall1(int8_numeric, Int64GetDatum(n))
#define NUM_FLOAT(a) DatumGetFloat8(DirectFunctionCall1(numeric_float8, (a)))

/* A joint value as numeric, at its spec's scale; trim drops trailing zeros. */
static Datum
SpecNumeric(const smpc_fe *v, const smpc_value_spec *spec, bool trim)
{
	char		buf[SMPC_DECIMAL_BUFLEN];
	Datum		d;

	smpc_check_core_status(smpc_decode_decimal(v[0], spec->kind == SMPC_VALUE_INT ||
											   spec->kind == SMPC_VALUE_WIDE ? 0 : spec->scale,
											   buf, sizeof(buf)),
						   "decode a joint sum");
	d = NumericFromText(buf);
	if (spec->kind == SMPC_VALUE_WIDE)
	{
		/* the integer parts' sum, plus the fractions' sum */
		smpc_check_core_status(smpc_decode_decimal(v[1], spec->scale, buf, sizeof(buf)),
							   "decode a joint sum");
		d = NUM_ADD(d, NumericFromText(buf));
	}
	if (trim)
		d = DirectFunctionCall1(numeric_trim_scale, d);
	return d;
}

static bool
NumericPositive(Datum d)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, d, NUM_INT(0))) > 0;
}

static bool
NumericLess(Datum a, Datum b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, a, b)) < 0;
}

/*
 * sqrt(v) rounded to scale decimals, half away from zero, as PostgreSQL's
 * numeric stddev does (rounding a more precise square root again could be
 * off by one in the last digit): the candidate c is checked against the
 * squares of c -/+ half a unit of the last digit.
 */
static Datum
NumericSqrtRounded(Datum v, int32 scale)
{
	Datum		c = DirectFunctionCall2(numeric_round, DirectFunctionCall1(numeric_sqrt, v),
										Int32GetDatum(scale));
	Datum		ulp = DirectFunctionCall2(numeric_power, NUM_INT(10), NUM_INT(-scale));
	Datum		half = NUM_DIV(ulp, NUM_INT(2));

	for (int i = 0; i < 2; i++)
	{
		Datum		lo = NUM_SUB(c, half);
		Datum		hi = NUM_ADD(c, half);

		if (NumericPositive(lo) && NumericLess(v, NUM_MUL(lo, lo)))
			c = NUM_SUB(c, ulp);
		else if (!NumericLess(v, NUM_MUL(hi, hi)))
			c = NUM_ADD(c, ulp);
		else
			break;
	}
	return DirectFunctionCall2(numeric_round, c, Int32GetDatum(scale));
}

/*
 * DecodeStatistic
 *		A statistic of one group from its sufficient statistics.  For
 *		var/stddev over exact types the steps and scales of PostgreSQL's
 *		numeric variance: N * sum(x^2) - sum(x)^2 over N * (N - 1) or N * N,
 *		then the square root at the quotient's scale; otherwise the centered
 *		sums n * Sxx = N * sum(x^2) - sum(x)^2 (and so on) are computed
 *		exactly in numeric and the statistic rounded once to double.  Only
 *		the sums the statistic needs are there (index -1 otherwise).  NULL
 *		where PostgreSQL gives NULL.
 */
static Datum
DecodeStatistic(List *o, const smpc_fe *gv, const int *offsets,
				const smpc_value_spec *specs, Oid restype, bool *isnull)
{
	int			a = intVal(lsecond(o));
	int			b = intVal(lthird(o));
	int			stat = intVal(list_nth(o, 5));
	int			sxx = intVal(list_nth(o, 6));
	int			sy = intVal(list_nth(o, 7));
	int			syy = intVal(list_nth(o, 8));
	int			sxy = intVal(list_nth(o, 9));
	int64		n = DecodeCount(gv[offsets[a]]);
	bool		samp = stat == SMPC_STAT_VAR_SAMP || stat == SMPC_STAT_STDDEV_SAMP ||
		stat == SMPC_STAT_COVAR_SAMP;
	Datum		N,
				Sx = 0,
				Sy = 0,
				nSxx = 0,
				nSyy = 0,
				nSxy = 0,
				r;

	*isnull = false;
	if (stat == SMPC_STAT_REGR_COUNT)
		return Int64GetDatum(n);
	if (n == 0 || (samp && n == 1))
	{
		*isnull = true;
		return (Datum) 0;
	}
	N = NUM_INT(n);
	if (b >= 0)
		Sx = SpecNumeric(&gv[offsets[b]], &specs[b], false);
	if (sy >= 0)
		Sy = SpecNumeric(&gv[offsets[sy]], &specs[sy], false);
	if (sxx >= 0)
		nSxx = NUM_SUB(NUM_MUL(N, SpecNumeric(&gv[offsets[sxx]], &specs[sxx], false)),
					   NUM_MUL(Sx, Sx));
	if (syy >= 0)
		nSyy = NUM_SUB(NUM_MUL(N, SpecNumeric(&gv[offsets[syy]], &specs[syy], false)),
					   NUM_MUL(Sy, Sy));
	if (sxy >= 0)
		nSxy = NUM_SUB(NUM_MUL(N, SpecNumeric(&gv[offsets[sxy]], &specs[sxy], false)),
					   NUM_MUL(Sx, Sy));

	switch (stat)
	{
		case SMPC_STAT_VAR_SAMP:
		case SMPC_STAT_VAR_POP:
		case SMPC_STAT_STDDEV_SAMP:
		case SMPC_STAT_STDDEV_POP:
			{
				bool		sd = stat == SMPC_STAT_STDDEV_SAMP || stat == SMPC_STAT_STDDEV_POP;
				Datum		den = NUM_MUL(N, samp ? NUM_INT(n - 1) : N);

				/* as PostgreSQL's numeric variance: not above zero is zero */
				if (!NumericPositive(nSxx))
					return restype == NUMERICOID ? NUM_INT(0) : Float8GetDatum(0.0);
				r = NUM_DIV(nSxx, den);
				if (sd)
					r = NumericSqrtRounded(r, DatumGetInt32(DirectFunctionCall1(numeric_scale, r)));
				return restype == NUMERICOID ? r : Float8GetDatum(NUM_FLOAT(r));
			}
		case SMPC_STAT_COVAR_SAMP:
			return Float8GetDatum(NUM_FLOAT(NUM_DIV(nSxy, NUM_MUL(N, NUM_INT(n - 1)))));
		case SMPC_STAT_COVAR_POP:
			return Float8GetDatum(NUM_FLOAT(NUM_DIV(nSxy, NUM_MUL(N, N))));
		case SMPC_STAT_REGR_SXX:
			return Float8GetDatum(Max(0.0, NUM_FLOAT(NUM_DIV(nSxx, N))));
		case SMPC_STAT_REGR_SYY:
			return Float8GetDatum(Max(0.0, NUM_FLOAT(NUM_DIV(nSyy, N))));
		case SMPC_STAT_REGR_SXY:
			return Float8GetDatum(NUM_FLOAT(NUM_DIV(nSxy, N)));
		case SMPC_STAT_REGR_AVGX:
			return Float8GetDatum(NUM_FLOAT(NUM_DIV(Sx, N)));
		case SMPC_STAT_REGR_AVGY:
			return Float8GetDatum(NUM_FLOAT(NUM_DIV(Sy, N)));
	}

	/* the rest need a varying X */
	if (!NumericPositive(nSxx))
	{
		*isnull = true;
		return (Datum) 0;
	}
	switch (stat)
	{
		case SMPC_STAT_CORR:
			if (!NumericPositive(nSyy))
			{
				*isnull = true;
				return (Datum) 0;
			}
			return Float8GetDatum(NUM_FLOAT(NUM_DIV(nSxy, DirectFunctionCall1(numeric_sqrt,
																			  NUM_MUL(nSxx, nSyy)))));
		case SMPC_STAT_REGR_SLOPE:
			return Float8GetDatum(NUM_FLOAT(NUM_DIV(nSxy, nSxx)));
		case SMPC_STAT_REGR_INTERCEPT:
			return Float8GetDatum(NUM_FLOAT(NUM_DIV(NUM_SUB(NUM_MUL(Sy, nSxx), NUM_MUL(Sx, nSxy)),
													NUM_MUL(N, nSxx))));
		case SMPC_STAT_REGR_R2:
			if (!NumericPositive(nSyy))
				return Float8GetDatum(1.0);
			return Float8GetDatum(NUM_FLOAT(NUM_DIV(NUM_MUL(nSxy, nSxy), NUM_MUL(nSxx, nSyy))));
	}
	elog(ERROR, "unknown statistic %d", stat);
	return (Datum) 0;
}

/* An element-wise sum: float8[] or numeric[] of the spec's length. */
static Datum
DecodeVector(const smpc_fe *v, const smpc_value_spec *spec, Node *arg)
{
	uint32		n = spec->length;
	Datum	   *elems = palloc(sizeof(Datum) * n);
	ArrayType  *arr;

	if (spec->kind == SMPC_VALUE_FLOAT)
	{
		for (uint32 i = 0; i < n; i++)
			elems[i] = Float8GetDatum(SumFloat(v[i]));
		arr = construct_array(elems, (int) n, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL,
							  TYPALIGN_DOUBLE);
	}
	else
	{
		bool		trim = exprTypmod(arg) < 0;

		for (uint32 i = 0; i < n; i++)
			elems[i] = SpecNumeric(&v[(size_t) i * SMPC_VALUE_ELEMENTS(spec)], spec, trim);
		arr = construct_array(elems, (int) n, NUMERICOID, -1, false, TYPALIGN_INT);
	}
	return PointerGetDatum(arr);
}

/* Fill the result rows from the joint values of every group. */
static void
DecodeRows(JointScanState *st, ForeignScanState *node, const smpc_key_list *groups,
		   const smpc_fe *secrets, int width, const int *offsets,
		   const smpc_value_spec *specs, int min_group_size, Node **args)
{
	TupleDesc	tupdesc = node->ss.ss_ScanTupleSlot->tts_tupleDescriptor;
	int			natts = tupdesc->natts;
	int			ngroups = groups->ncols == 0 ? 1 : (int) groups->ngroups;
	int			withheld = 0;

	st->natts = natts;
	st->rowvalues = palloc0(sizeof(Datum) * Max(1, (size_t) ngroups * natts));
	st->rownulls = palloc0(sizeof(bool) * Max(1, (size_t) ngroups * natts));
	st->nrows = 0;
	for (int g = 0; g < ngroups; g++)
	{
		const smpc_fe *gv = secrets + (size_t) g * width;
		int64		rows = DecodeCount(gv[0]);
		Datum	   *values = st->rowvalues + (size_t) st->nrows * natts;
		bool	   *nulls = st->rownulls + (size_t) st->nrows * natts;
		ListCell   *lc;

		if (groups->ncols == 0 && rows < min_group_size)
			ereport(ERROR,
					(errcode(ERRCODE_SMPC_RESULT_WITHHELD),
					 errmsg("joint result withheld: it covers fewer rows than the federation's minimum group size (%d)",
							min_group_size),
					 errdetail("Results over fewer rows could single out individuals."),
					 errhint("Widen the WHERE conditions.")));
		if (rows == 0)
			continue;			/* an empty group of a public domain */
		if (rows < min_group_size)
		{
			withheld++;
			continue;
		}
		foreach(lc, st->outputs)
		{
			List	   *o = lfirst(lc);
			int			i = foreach_current_index(lc);
			int			kind = intVal(linitial(o));
			int			a = intVal(lsecond(o));
			int			b = intVal(lthird(o));
			Oid			argtype = (Oid) intVal(lfourth(o));
			Oid			restype = (Oid) intVal(list_nth(o, 4));

			nulls[i] = false;
			switch (kind)
			{
				case SMPC_OUT_KEY:
					{
						char	   *text = smpc_key_text(groups, g, a);
						Oid			typinput,
									typioparam;

						if (text == NULL)
						{
							nulls[i] = true;
							break;
						}
						getTypeInputInfo(argtype, &typinput, &typioparam);
						values[i] = OidInputFunctionCall(typinput, text, typioparam,
														 TupleDescAttr(tupdesc, i)->atttypmod);
						break;
					}
				case SMPC_OUT_COUNT_STAR:
					values[i] = Int64GetDatum(rows);
					break;
				case SMPC_OUT_COUNT:
					values[i] = Int64GetDatum(DecodeCount(gv[offsets[a]]));
					break;
				case SMPC_OUT_STAT:
					values[i] = DecodeStatistic(o, gv, offsets, specs, restype, &nulls[i]);
					break;
				case SMPC_OUT_VECTOR:
					if (DecodeCount(gv[offsets[b]]) == 0)
						nulls[i] = true;
					else
						values[i] = DecodeVector(gv + offsets[a], &specs[a], args[a]);
					break;
				case SMPC_OUT_SUM:
				case SMPC_OUT_AVG:
					{
						int64		n = DecodeCount(gv[offsets[b]]);
						Node	   *arg = args[a];
						smpc_fe		sumv = gv[offsets[a]];
						bool		isfloat = argtype == FLOAT4OID || argtype == FLOAT8OID;

						if (n == 0)
						{
							nulls[i] = true;
							break;
						}
						if (isfloat)
						{
							double		s = SumFloat(sumv);

							if (kind == SMPC_OUT_AVG)
								values[i] = Float8GetDatum(s / (double) n);
							else if (restype == FLOAT4OID)
								values[i] = Float4GetDatum((float4) s);
							else
								values[i] = Float8GetDatum(s);
							break;
						}
						if (kind == SMPC_OUT_SUM && restype == INT8OID)
						{
							int64		s;

							if (smpc_decode_int64(sumv, &s) != SMPC_OK)
								ereport(ERROR,
										(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
										 errmsg("bigint out of range"),
										 errdetail("The joint sum does not fit the result type of sum over %s.",
												   format_type_be(argtype))));
							values[i] = Int64GetDatum(s);
							break;
						}
						{
							/*
							 * A sum over numeric without a declared scale
							 * travels at SMPC_NUMERIC_DEFAULT_SCALE decimals;
							 * the sum drops the trailing zeros, the average
							 * divides the untrimmed sum, so it is never less
							 * precise than PostgreSQL's own avg.
							 */
							Datum		sum = SpecNumeric(&gv[offsets[a]], &specs[a],
														  kind == SMPC_OUT_SUM &&
														  argtype == NUMERICOID && exprTypmod(arg) < 0);

							if (kind == SMPC_OUT_SUM)
								values[i] = sum;
							else
								values[i] = DirectFunctionCall2(numeric_div, sum,
																DirectFunctionCall1(int8_numeric,
																					Int64GetDatum(n)));
						}
						break;
					}
				default:
					elog(ERROR, "unknown output kind %d", kind);
			}
		}
		st->nrows++;
	}
	if (withheld > 0)
		ereport(NOTICE,
				(errmsg("%d %s with fewer than %d rows withheld from the joint result",
						withheld, withheld == 1 ? "group" : "groups", min_group_size)));
}

/*
 * SetupJoint
 *		The session as this node starts it: the parties (this node first,
 *		then the federation's members in order), call slots and statistics.
 *		ERROR unless the federation is big enough and the dataset is
 *		published here.  Returns this node's dataset.
 */
static SmpcDataset *
SetupJoint(Joint *j, JointScanState *st, SmpcFederation *fed, const char **self_name)
{
	const smpc_identity *self_id;
	SmpcDataset *ds;
	int			nmembers = list_length(fed->members);
	ListCell   *lc;

	memset(j, 0, sizeof(*j));
	j->fed = fed;
	j->nparties = nmembers + 1;
	j->timeout_ms = fed->member_timeout_ms;

	/* who takes part */
	if (j->nparties < fed->min_members)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_TOO_FEW_MEMBERS),
				 errmsg("federation \"%s\" has %d parties, fewer than its min_members (%d)",
						fed->name, j->nparties, fed->min_members)));
	if (!st->intersect && fed->threshold >= j->nparties)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("threshold %d of federation \"%s\" needs more than %d parties",
						fed->threshold, fed->name, j->nparties)));
	ds = smpc_lookup_dataset(st->dataset, true);
	if (ds == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("dataset \"%s\" is not published on this node", st->dataset),
				 errhint("Every party of a joint query contributes its own data: publish it here with smpc.publish().")));
	self_id = smpc_node_identity(false, self_name);
	j->parties = palloc0(sizeof(SmpcParty) * j->nparties);
	j->parties[0].name = pstrdup(*self_name);
	smpc_identity_public(self_id, &j->parties[0].key);
	foreach(lc, fed->members)
	{
		SmpcMember *m = lfirst(lc);

		j->parties[foreach_current_index(lc) + 1].name = m->name;
		j->parties[foreach_current_index(lc) + 1].key = m->key;
	}
	j->calls = palloc0(sizeof(SmpcMemberCall) * Max(1, nmembers));
	j->slot = palloc0(sizeof(int) * Max(1, nmembers));
	j->present = palloc(sizeof(bool) * j->nparties);
	for (int i = 0; i < j->nparties; i++)
		j->present[i] = true;
	memset(LastStats, 0, sizeof(LastStats));
	LastStatsCount = j->nparties;
	j->stats = LastStats;
	for (int i = 0; i < j->nparties; i++)
	{
		strlcpy(j->stats[i].name, j->parties[i].name, NAMEDATALEN);
		j->stats[i].querying = i == 0;
	}
	return ds;
}

/* The participants' signing keys, in party order, as PREPARE and INTERSECT carry them. */
static uint8 *
PartyKeys(Joint *j)
{
	uint8	   *pkbuf = palloc(SMPC_SIGN_PK_BYTES * j->nparties);

	for (int i = 0; i < j->nparties; i++)
		memcpy(pkbuf + (size_t) i * SMPC_SIGN_PK_BYTES, j->parties[i].key.sign_pk,
			   SMPC_SIGN_PK_BYTES);
	return pkbuf;
}

/* The dataset SQL sent to the members (a test module may replace it). */
static const char *
MemberSql(JointScanState *st)
{
	SmpcFaultHooks *hooks = smpc_fault_hooks();

	if (hooks && hooks->dataset_sql && hooks->dataset_sql() != NULL)
		return hooks->dataset_sql();
	return st->sql;
}

/*
 * QueryingAudit
 *		This node's audit record of a successful joint query: participants,
 *		result digest, and the members left out and why.
 */
static void
QueryingAudit(Joint *j, JointScanState *st, const char *self_name, const uint8 *digest)
{
	SmpcAuditRecord rec;

	memset(&rec, 0, sizeof(rec));
	rec.session_id = j->session_id;
	rec.node_role = "querying";
	rec.federation = j->fed->name;
	rec.initiator_node = self_name;
	rec.initiator_role = GetUserNameFromId(GetUserId(), false);
	rec.dataset = st->dataset;
	rec.dataset_sql = st->sql;
	for (int i = 0; i < j->nparties; i++)
		rec.participants = lappend(rec.participants, j->parties[i].name);
	rec.outcome = "success";
	rec.result_digest = digest;
	rec.unfinished = j->left_out;
	if (j->left_out != NIL)
	{
		StringInfoData why;
		ListCell   *lc,
				   *lc2;

		initStringInfo(&why);
		forboth(lc, j->left_out, lc2, j->left_why)
			appendStringInfo(&why, "%smember \"%s\" left out: %s", why.len ? "; " : "",
							 (char *) lfirst(lc), (char *) lfirst(lc2));
		rec.error = why.data;
	}
	smpc_audit_record(&rec);
}

/*
 * ReportLeftOut
 *		Say who did not finish: the result stands without them.  Liars get a
 *		WARNING, dropouts a NOTICE with dropout_detail.
 */
static void
ReportLeftOut(Joint *j, List *liars, const char *dropout_detail)
{
	ListCell   *lc,
			   *lc2;

	forboth(lc, j->left_out, lc2, j->left_why)
	{
		bool		lied = list_member_ptr(liars, lfirst(lc));

		ereport(lied ? WARNING : NOTICE,
				(errcode(lied ? ERRCODE_SMPC_VERIFICATION_FAILED : ERRCODE_CONNECTION_FAILURE),
				 errmsg("member \"%s\" did not finish the joint query: %s",
						(char *) lfirst(lc), (char *) lfirst(lc2)),
				 errdetail("%s", lied
						   ? "The result was reconstructed from the parties whose share-sums agree."
						   : dropout_detail)));
	}
}

static void
RunJoint(ForeignScanState *node, JointScanState *st)
{
	Joint		j;
	SmpcFederation *fed = smpc_get_federation(st->federation);
	SmpcDataset *ds;
	const char *self_name;
	int			nmembers = list_length(fed->members);
	int			ngroupcols = list_length(st->groupcols);
	int			nvalues = list_length(st->values);
	smpc_value_spec *specs = palloc0(sizeof(smpc_value_spec) * nvalues);
	Node	  **args = palloc0(sizeof(Node *) * nvalues);
	SmpcLocalResult *lr;
	List	   *group_columns;
	SmpcCallBatch *batch;
	instr_time	started;
	instr_time	ended;
	smpc_key_list groups;
	bool		public;
	smpc_prepare p;
	uint8	  **bodies = palloc0(sizeof(uint8 *) * Max(1, nmembers));
	size_t	   *lens = palloc0(sizeof(size_t) * Max(1, nmembers));
	size_t	   *alens = palloc0(sizeof(size_t) * Max(1, nmembers));
	const uint8 **answers;
	const uint8 ***env;			/* env[from][to] */
	size_t	  **envlen;
	smpc_fe    *own;
	smpc_fe   **sums;
	size_t		nvals;
	int		   *map;
	smpc_fe    *secrets;
	uint8		opening[SMPC_COMMIT_OPENING_BYTES];
	uint8	   *commitments;
	uint8		digest[SMPC_DIGEST_BYTES];
	ListCell   *lc;
	List	   *liars = NIL;
	int			excluded;
	bool		vectors = false;
	int			width;
	int		   *offsets = palloc0(sizeof(int) * nvalues);

	INSTR_TIME_SET_CURRENT(started);
	ds = SetupJoint(&j, st, fed, &self_name);

	/* what every party computes */
	foreach(lc, st->values)
	{
		List	   *v = lfirst(lc);
		int			i = foreach_current_index(lc);
		int			kind = intVal(linitial(v));
		Node	   *arg = lsecond(v);
		int			spec = intVal(lthird(v));

		args[i] = arg;
		specs[i].kind = (uint8) SMPC_SPEC_KIND(spec);
		specs[i].scale = (uint8) SMPC_SPEC_SCALE(spec);
		if (kind == SMPC_VAL_VECTOR_SUM)
		{
			/* the length comes from this node's own arrays, below */
			specs[i].length = SMPC_LENGTH_FROM_DATA;
			vectors = true;
		}
	}

	/*
	 * 1. this node's own policy check, and the group domain; its own
	 * aggregate runs while the members compute theirs
	 */
	smpc_new_session_id(j.session_id);
	smpc_report_note_session(j.session_id);
	(void) smpc_local_check(ds, st->sql, ngroupcols, nvalues, &group_columns);
	memset(&groups, 0, sizeof(groups));
	if (ngroupcols == 0)
	{
		groups.ngroups = 1;
		public = true;
	}
	else
	{
		public = smpc_public_groups(ds, group_columns, &groups);
		if (!public)
			foreach(lc, group_columns)
			{
				ListCell   *lc2;

				foreach(lc2, ds->columns)
				{
					SmpcDatasetColumn *col = lfirst(lc2);

					if (strcmp(col->name, lfirst(lc)) == 0 && col->group_policy != SMPC_GROUP_REVEAL)
						ereport(ERROR,
								(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
								 errmsg("group key \"%s\" has a public domain, but another group key of the query is revealed",
										col->name),
								 errhint("Group by public-domain keys only, or by revealed keys only.")));
				}
			}
	}

	/*
	 * A vector sum's length is this node's arrays' length: its own aggregate
	 * runs first, and every member must match it.
	 */
	lr = NULL;
	if (vectors)
	{
		lr = smpc_local_aggregate(ds, st->sql, ngroupcols, nvalues, specs);
		for (int i = 0; i < nvalues; i++)
		{
			if (specs[i].length == 0)
				continue;
			if (lr->lengths[i] == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("cannot tell the length of the arrays summed by smpc_sum"),
						 errdetail("The length is taken from the querying node's own arrays, and none of this node's rows of the query has one."),
						 errhint("Run the query from a member whose rows contain an array, or widen its WHERE conditions.")));
			specs[i].length = lr->lengths[i];
		}
	}
	width = 0;
	for (int i = 0; i < nvalues; i++)
	{
		offsets[i] = width;
		width += (specs[i].length > 0 ? (int) specs[i].length : 1) * SMPC_VALUE_ELEMENTS(&specs[i]);
	}
	/* with a public domain the group count is known: fail before PREPARE */
	if (public)
		smpc_check_joint_size(ngroupcols == 0 ? 1 : groups.ngroups, width);
	if (width > SMPC_MAX_WIDTH)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the query's values take %d field elements per group, more than %d",
						width, SMPC_MAX_WIDTH),
				 errhint("Sum one long vector per query: its elements and the other aggregates may take at most %d.",
						 SMPC_MAX_WIDTH)));

	/* 2. PREPARE */
	memset(&p, 0, sizeof(p));
	p.threshold = (uint8) fed->threshold;
	p.nparties = (uint16) j.nparties;
	p.parties = PartyKeys(&j);
	p.dataset.ptr = st->dataset;
	p.dataset.len = strlen(st->dataset);
	p.sql.ptr = MemberSql(st);
	p.sql.len = strlen(p.sql.ptr);
	p.nvalues = (uint16) nvalues;
	p.values = specs;
	p.reveal_keys = public ? 0 : 1;
	if (public)
		p.groups = groups;
	else
	{
		p.groups.ngroups = 0;
		p.groups.ncols = (uint16) ngroupcols;
	}
	{
		smpc_writer w;
		uint8	   *body;
		size_t		blen;

		smpc_writer_init(&w, (size_t) smpc_max_message_size);
		smpc_writer_put_prepare(&w, &p);
		smpc_check_core_status(smpc_writer_finish(&w, &body, &blen), "encode the prepare request");
		for (int i = 0; i < nmembers; i++)
		{
			bodies[i] = body;
			lens[i] = blen;
		}
	}
	batch = RoundStart(&j, SMPC_MSG_PREPARE, bodies, lens);
	if (lr == NULL)
		lr = smpc_local_aggregate(ds, st->sql, ngroupcols, nvalues, specs);
	answers = RoundWait(&j, batch, SMPC_MSG_PREPARE, alens);

	env = palloc0(sizeof(uint8 **) * j.nparties);
	envlen = palloc0(sizeof(size_t *) * j.nparties);
	for (int i = 0; i < j.nparties; i++)
	{
		env[i] = palloc0(sizeof(uint8 *) * j.nparties);
		envlen[i] = palloc0(sizeof(size_t) * j.nparties);
	}

	/* envelopes from member i (party i + 1), checked for one per other party */
#define TAKE_ENVELOPES(items, nitems, i) \
	do { \
		if ((nitems) != (size_t) j.nparties - 1) \
			MalformedAnswer(&j, (i), SMPC_ERR_MALFORMED, "share"); \
		for (size_t e = 0; e < (nitems); e++) \
		{ \
			int to = -1; \
			for (int q = 0; q < j.nparties; q++) \
				if (q != (i) + 1 && memcmp(j.parties[q].key.sign_pk, (items)[e].recipient_pk, SMPC_SIGN_PK_BYTES) == 0) \
					to = q; \
			if (to < 0 || env[(i) + 1][to] != NULL) \
				MalformedAnswer(&j, (i), SMPC_ERR_MALFORMED, "share"); \
			env[(i) + 1][to] = (items)[e].env; \
			envlen[(i) + 1][to] = (items)[e].env_len; \
		} \
	} while (0)

	{
		smpc_envelope_item *items = palloc0(sizeof(smpc_envelope_item) * SMPC_MAX_PARTIES);
		smpc_key_list *keylists = palloc0(sizeof(smpc_key_list) * j.nparties);

		for (int i = 0; i < nmembers; i++)
		{
			uint8		kind;
			size_t		nitems = 0;
			int			rc;

			rc = smpc_prepare_reply_decode(answers[i], alens[i], &kind, items, SMPC_MAX_PARTIES,
										   &nitems, (uint32) smpc_max_groups, &keylists[i + 1]);
			if (rc != SMPC_OK)
				MalformedAnswer(&j, i, rc, "prepare");
			if (kind != (public ? SMPC_PREPARE_REPLY_SHARES : SMPC_PREPARE_REPLY_KEYS) ||
				(!public && keylists[i + 1].ncols != ngroupcols))
				MalformedAnswer(&j, i, SMPC_ERR_MALFORMED, "prepare");
			if (public)
				TAKE_ENVELOPES(items, nitems, i);
		}

		if (!public)
		{
			smpc_writer w;
			uint8	   *body;
			size_t		blen;

			smpc_key_list_from_local(lr, &keylists[0]);
			KeyUnion(keylists, j.nparties, ngroupcols, &groups);
			smpc_writer_init(&w, (size_t) smpc_max_message_size);
			smpc_writer_put_key_list(&w, &groups);
			smpc_check_core_status(smpc_writer_finish(&w, &body, &blen), "encode the share request");
			for (int i = 0; i < nmembers; i++)
			{
				bodies[i] = body;
				lens[i] = blen;
			}
			answers = Round(&j, SMPC_MSG_SHARE, bodies, lens, alens);
			for (int i = 0; i < nmembers; i++)
			{
				size_t		nitems = 0;
				int			rc = smpc_envelope_list_decode(answers[i], alens[i], items,
														   SMPC_MAX_PARTIES, &nitems);

				if (rc != SMPC_OK)
					MalformedAnswer(&j, i, rc, "share");
				TAKE_ENVELOPES(items, nitems, i);
			}
		}
	}

	/*
	 * Every member's shares are dealt: from here on the joint values are
	 * determined, and a member that stops answering can be left out.
	 */
	j.tolerant = true;

	/* this node's shares, in the agreed order */
	nvals = (size_t) (ngroupcols == 0 ? 1 : groups.ngroups) * width;
	smpc_check_joint_size(ngroupcols == 0 ? 1 : groups.ngroups, width);
	map = smpc_map_groups(&groups, lr->keys, lr->ngroups, ngroupcols,
						  public ? "public group key domain" : "union of the group keys");
	secrets = palloc0(sizeof(smpc_fe) * Max(1, nvals));
	for (int g = 0; g < lr->ngroups; g++)
		for (int v = 0; v < width; v++)
		{
			smpc_fe    *slot = &secrets[(size_t) map[g] * width + v];

			*slot = smpc_fe_add(*slot, lr->values[(size_t) g * width + v]);
		}
	{
		smpc_envelope_item *mine = palloc0(sizeof(smpc_envelope_item) * j.nparties);

		own = smpc_share_secrets(j.session_id, j.parties, j.nparties, 0, fed->threshold,
								 secrets, nvals, mine);
		for (int e = 0; e < j.nparties - 1; e++)
		{
			env[0][e + 1] = mine[e].env;
			envlen[0][e + 1] = mine[e].env_len;
		}
	}
	sodium_memzero(secrets, sizeof(smpc_fe) * Max(1, nvals));
	sodium_memzero(lr->values, sizeof(smpc_fe) * Max(1, (size_t) lr->ngroups * width));

	/* 3. COMBINE */
	for (int i = 0; i < nmembers; i++)
	{
		smpc_envelope_item *items = palloc0(sizeof(smpc_envelope_item) * j.nparties);
		int			k = 0;

		for (int from = 0; from < j.nparties; from++)
		{
			if (from == i + 1)
				continue;
			memcpy(items[k].recipient_pk, j.parties[from].key.sign_pk, SMPC_SIGN_PK_BYTES);
			items[k].env = env[from][i + 1];
			items[k].env_len = envlen[from][i + 1];
			k++;
		}
		smpc_check_core_status(smpc_envelope_list_encode(items, k, &bodies[i], &lens[i]),
							   "encode a combine request");
	}
	answers = Round(&j, SMPC_MSG_COMBINE, bodies, lens, alens);
	commitments = palloc0(SMPC_COMMIT_BYTES * j.nparties);
	for (int i = 0; i < nmembers; i++)
	{
		if (answers[i] == NULL)
			continue;
		if (alens[i] != SMPC_COMMIT_BYTES)
			MalformedAnswer(&j, i, SMPC_ERR_MALFORMED, "combine");
		memcpy(commitments + (size_t) (i + 1) * SMPC_COMMIT_BYTES, answers[i], SMPC_COMMIT_BYTES);
	}
	for (int from = 1; from < j.nparties; from++)
		smpc_add_envelope(j.session_id, j.parties, 0, from, env[from][0], envlen[from][0],
						  own, nvals);
	smpc_commit_sums(j.session_id, 0, own, nvals, opening, commitments);

	/* 4. REVEAL */
	{
		smpc_party_opening *po = palloc0(sizeof(smpc_party_opening) * j.nparties);
		smpc_writer w;
		uint8	   *body;
		size_t		blen;

		for (int i = 0; i < j.nparties; i++)
		{
			po[i].present = j.present[i] ? 1 : 0;
			memcpy(po[i].commitment, commitments + (size_t) i * SMPC_COMMIT_BYTES,
				   SMPC_COMMIT_BYTES);
		}
		smpc_writer_init(&w, (size_t) smpc_max_message_size);
		smpc_writer_put_commitments(&w, po, j.nparties);
		smpc_check_core_status(smpc_writer_finish(&w, &body, &blen), "encode the reveal request");
		for (int i = 0; i < nmembers; i++)
		{
			bodies[i] = body;
			lens[i] = blen;
		}
	}
	answers = Round(&j, SMPC_MSG_REVEAL, bodies, lens, alens);
	sums = palloc0(sizeof(smpc_fe *) * j.nparties);
	sums[0] = own;
	{
		smpc_party_opening *po = palloc0(sizeof(smpc_party_opening) * j.nparties);
		smpc_writer w;
		uint8	   *body;
		size_t		blen;

		po[0].present = 1;
		memcpy(po[0].opening, opening, SMPC_COMMIT_OPENING_BYTES);
		po[0].sums = own;
		po[0].nsums = nvals;
		for (int i = 0; i < nmembers; i++)
		{
			size_t		n;
			smpc_fe    *s = NULL;
			int			rc;

			if (answers[i] == NULL)
				continue;
			rc = smpc_reveal_reply_decode(answers[i], alens[i], nvals,
										  po[i + 1].opening, &s, &n);
			if (rc != SMPC_OK || n != nvals)
				MalformedAnswer(&j, i, rc != SMPC_OK ? rc : SMPC_ERR_MALFORMED, "reveal");
			po[i + 1].sums = s;
			po[i + 1].nsums = nvals;
			if (smpc_opening_valid(j.session_id, i + 1,
								   commitments + (size_t) (i + 1) * SMPC_COMMIT_BYTES,
								   po[i + 1].opening, s, nvals))
			{
				sums[i + 1] = s;
				po[i + 1].present = 1;
			}
		}

		/*
		 * A member whose opening does not match its commitment lied or is
		 * faulty.  It is left out when the others still check each other
		 * (t + 2 of them remain); otherwise the query fails naming it.
		 */
		for (int i = 0; i < nmembers; i++)
		{
			int			remain = 0;

			if (answers[i] == NULL || sums[i + 1] != NULL)
				continue;
			for (int q = 0; q < j.nparties; q++)
				remain += sums[q] != NULL ? 1 : 0;
			if (remain < fed->threshold + 2)
				smpc_verify_opening(j.session_id, j.parties, i + 1,
									commitments + (size_t) (i + 1) * SMPC_COMMIT_BYTES,
									po[i + 1].opening, po[i + 1].sums, nvals);
			LeaveOut(&j, i, "opened share-sums that do not match its commitment");
			liars = lappend(liars, j.parties[i + 1].name);
			po[i + 1].present = 0;
		}
		secrets = palloc0(sizeof(smpc_fe) * Max(1, nvals));
		excluded = smpc_reconstruct(j.parties, j.nparties, fed->threshold, sums, nvals, secrets);
		if (excluded > 0)
		{
			/* kept in FINISH: every member finds the same party out itself */
			j.left_out = lappend(j.left_out, j.parties[excluded].name);
			j.left_why = lappend(j.left_why,
								 pstrdup("opened share-sums inconsistent with the other parties'"));
			liars = lappend(liars, j.parties[excluded].name);
		}
		else if (excluded == 0)
			ereport(ERROR,
					(errcode(ERRCODE_SMPC_VERIFICATION_FAILED),
					 errmsg("this node's share-sums are inconsistent with the members'"),
					 errdetail("The members agree on shares this node does not hold; no result is returned.")));
		smpc_result_digest(j.session_id, secrets, nvals, digest);

		/* 5. FINISH */
		smpc_writer_init(&w, (size_t) smpc_max_message_size);
		smpc_writer_put_openings(&w, po, j.nparties);
		smpc_check_core_status(smpc_writer_finish(&w, &body, &blen), "encode the finish request");
		for (int i = 0; i < nmembers; i++)
		{
			bodies[i] = body;
			lens[i] = blen;
		}
	}
	answers = Round(&j, SMPC_MSG_FINISH, bodies, lens, alens);
	for (int i = 0; i < nmembers; i++)
		if (answers[i] != NULL &&
			(alens[i] != SMPC_DIGEST_BYTES ||
			 sodium_memcmp(answers[i], digest, SMPC_DIGEST_BYTES) != 0))
			ereport(ERROR,
					(errcode(ERRCODE_SMPC_VERIFICATION_FAILED),
					 errmsg("member \"%s\" reconstructed a different result", j.parties[i + 1].name),
					 errdetail("Every participant verifies the openings itself; their results must agree.")));

	QueryingAudit(&j, st, self_name, digest);
	ReportLeftOut(&j, liars,
				  "Every share was dealt before it left; the result was reconstructed from the other parties.");

	DecodeRows(st, node, &groups, secrets, width, offsets, specs, fed->min_group_size, args);
	INSTR_TIME_SET_CURRENT(ended);
	INSTR_TIME_SUBTRACT(ended, started);
	j.stats[0].elapsed_ms = INSTR_TIME_GET_MILLISEC(ended);
	sodium_memzero(own, sizeof(smpc_fe) * Max(1, nvals));
}

/*
 * DecodePoints
 *		Member i's answer as a point list of exactly want points (want < 0:
 *		any number).  ERROR naming the member otherwise.
 */
static const uint8 *
DecodePoints(Joint *j, int i, const uint8 *answer, size_t len, long want,
			 const char *what, size_t *n)
{
	const uint8 *points;
	int			rc = smpc_points_decode(answer, len,
										(size_t) smpc_max_message_size / SMPC_PSI_POINT_BYTES,
										&points, n);

	if (rc != SMPC_OK)
		MalformedAnswer(j, i, rc, what);
	if (want >= 0 && *n != (size_t) want)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("member \"%s\": malformed %s answer: %zu points for a list of %ld",
						j->parties[i + 1].name, what, *n, want)));
	return points;
}

/* A body (HOP or INTERSECT) encoded; ERROR naming the limit if too large. */
static void
FinishBody(smpc_writer *w, uint8 **body, size_t *len, size_t npoints)
{
	int			rc = smpc_writer_finish(w, body, len);

	if (rc == SMPC_ERR_TOO_LARGE)
		smpc_psi_list_too_large(npoints);
	smpc_check_core_status(rc, "encode an intersection request");
}

/* a round of an intersection may take member_timeout plus 1 ms per 5 keys */
#define PSI_MS_PER_KEY_DIVISOR 5

/*
 * RunIntersect
 *		smpc_intersect_count: every party's set of distinct keys travels,
 *		hashed to ristretto255 and raised to the party's fresh secret scalar,
 *		around all other parties (n - 1 hops; at hop h party p raises the
 *		list of party p - h), each sorting what it returns.  This node then
 *		counts the points present in every fully raised list.
 *
 *		Every party sees every list's size.  This node also holds every
 *		fully raised list, so it could count the intersection of any subset
 *		of the parties' sets; it reports only the one over all of them.
 */
static void
RunIntersect(ForeignScanState *node, JointScanState *st)
{
	Joint		j;
	SmpcFederation *fed = smpc_get_federation(st->federation);
	SmpcDataset *ds;
	const char *self_name;
	int			nmembers;
	int			n;
	Oid			keytype = get_atttype(st->relid, st->intersect);
	int			key_class = smpc_psi_key_class(keytype);
	instr_time	started;
	instr_time	ended;
	uint8		scalar[SMPC_PSI_SCALAR_BYTES];
	uint8	  **lists;			/* per owner: its list after the last hop */
	size_t	   *counts;
	uint8	  **bodies;
	size_t	   *lens;
	size_t	   *alens;
	const uint8 **answers;
	SmpcCallBatch *batch;
	uint8	   *hashes;
	size_t		nkeys;
	uint64		common;
	smpc_fe		result;
	uint8		digest[SMPC_DIGEST_BYTES];

	INSTR_TIME_SET_CURRENT(started);
	if (key_class == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("smpc_intersect_count over type %s is not supported", format_type_be(keytype)),
				 errhint("Intersection keys are smallint, integer, bigint, text, varchar, char or uuid columns.")));
	ds = SetupJoint(&j, st, fed, &self_name);
	nmembers = list_length(fed->members);
	n = j.nparties;
	lists = palloc0(sizeof(uint8 *) * n);
	counts = palloc0(sizeof(size_t) * n);
	bodies = palloc0(sizeof(uint8 *) * Max(1, nmembers));
	lens = palloc0(sizeof(size_t) * Max(1, nmembers));
	alens = palloc0(sizeof(size_t) * Max(1, nmembers));

	smpc_new_session_id(j.session_id);
	smpc_report_note_session(j.session_id);

	/* 1. INTERSECT: every member raises its own set; so does this node */
	{
		smpc_intersect p;
		smpc_writer w;
		uint8	   *body;
		size_t		blen;

		memset(&p, 0, sizeof(p));
		p.nparties = (uint16) n;
		p.parties = PartyKeys(&j);
		p.dataset.ptr = st->dataset;
		p.dataset.len = strlen(st->dataset);
		p.sql.ptr = MemberSql(st);
		p.sql.len = strlen(p.sql.ptr);
		p.key_class = (uint8) key_class;
		smpc_writer_init(&w, (size_t) smpc_max_message_size);
		smpc_writer_put_intersect(&w, &p);
		smpc_check_core_status(smpc_writer_finish(&w, &body, &blen), "encode the intersect request");
		for (int i = 0; i < nmembers; i++)
		{
			bodies[i] = body;
			lens[i] = blen;
		}
	}
	/*
	 * this node's own set first (a refusal here never reaches the members);
	 * its multiplications then run while the members compute theirs
	 */
	hashes = smpc_psi_local_set(ds, st->sql, j.session_id, key_class, &nkeys);
	if (nkeys < (size_t) ds->min_set_size)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_SET_TOO_SMALL),
				 errmsg("the set of keys of dataset \"%s\" on this node is smaller than its min_set_size (%d)",
						ds->name, ds->min_set_size),
				 errdetail("An intersection over a small set could reveal whether single keys are present."),
				 errhint("Widen the WHERE conditions.")));
	batch = RoundStart(&j, SMPC_MSG_INTERSECT, bodies, lens);
	smpc_flush_calls(batch);
	/* members raise sets of their own size; this node's is the one it knows */
	smpc_extend_calls(batch, (int) Min(nkeys / PSI_MS_PER_KEY_DIVISOR, (size_t) INT_MAX / 2));
	smpc_check_core_status(smpc_psi_scalar_new(scalar), "draw a secret scalar");
	PG_TRY();
	{
		lists[0] = palloc_extended(Max(nkeys, 1) * SMPC_PSI_POINT_BYTES, MCXT_ALLOC_HUGE);
		smpc_psi_raise(scalar, hashes, nkeys, true, lists[0], "this node");
		pfree(hashes);
		counts[0] = nkeys;
		smpc_check_core_status(smpc_psi_sort_unique(lists[0], &counts[0]),
							   "sort an intersection list");
		answers = RoundWait(&j, batch, SMPC_MSG_INTERSECT, alens);
		for (int i = 0; i < nmembers; i++)
		{
			const uint8 *pts = DecodePoints(&j, i, answers[i], alens[i], -1, "intersect",
											&counts[i + 1]);

			if (counts[i + 1] < (size_t) ds->min_set_size)
				ereport(ERROR,
						(errcode(ERRCODE_SMPC_SET_TOO_SMALL),
						 errmsg("the set of member \"%s\" is smaller than this node's min_set_size (%d) for dataset \"%s\"",
								j.parties[i + 1].name, ds->min_set_size, ds->name),
						 errdetail("An intersection with a small set could reveal whether single keys are present."),
						 errhint("Widen the WHERE conditions.")));
			lists[i + 1] = (uint8 *) pts;
		}

		/*
		 * 2. HOP 1 .. n-1: party p raises the list of party p - h.  Lists
		 * keep their size, so every hop may take the member timeout plus
		 * 0.2 ms per key of the largest set.
		 */
		{
			size_t		most = 0;

			for (int o = 0; o < n; o++)
				most = Max(most, counts[o]);
			j.timeout_ms = (int) Min((double) fed->member_timeout_ms +
									 (double) most / PSI_MS_PER_KEY_DIVISOR,
									 (double) INT_MAX);
		}
		for (j.hop = 1; j.hop < n; j.hop++)
		{
			int			mine = (n - j.hop) % n;
			uint8	   *raised;
			size_t		nraised;

			for (int i = 0; i < nmembers; i++)
			{
				int			owner = (i + 1 - j.hop + n) % n;
				smpc_writer w;

				smpc_writer_init(&w, (size_t) smpc_max_message_size);
				smpc_writer_put_hop(&w, (uint16) j.hop, lists[owner], counts[owner]);
				FinishBody(&w, &bodies[i], &lens[i], counts[owner]);
			}
			batch = RoundStart(&j, SMPC_MSG_HOP, bodies, lens);
			smpc_flush_calls(batch);
			for (int i = 0; i < nmembers; i++)
				smpc_free(bodies[i]);
			raised = palloc_extended(Max(counts[mine], 1) * SMPC_PSI_POINT_BYTES, MCXT_ALLOC_HUGE);
			nraised = counts[mine];
			smpc_psi_raise(scalar, lists[mine], nraised, false, raised,
						   psprintf("participant \"%s\"", j.parties[mine].name));
			smpc_check_core_status(smpc_psi_sort_unique(raised, &nraised),
								   "sort an intersection list");
			answers = RoundWait(&j, batch, SMPC_MSG_HOP, alens);
			for (int i = 0; i < nmembers; i++)
			{
				int			owner = (i + 1 - j.hop + n) % n;

				lists[owner] = (uint8 *) DecodePoints(&j, i, answers[i], alens[i],
													  (long) counts[owner], "hop", &counts[owner]);
			}
			lists[mine] = raised;
			counts[mine] = nraised;
		}
	}
	PG_FINALLY();
	{
		sodium_memzero(scalar, sizeof(scalar));
	}
	PG_END_TRY();

	/* 3. every list is raised by every scalar: count the common points */
	common = smpc_psi_count_common((const uint8 *const *) lists, counts, n);

	/*
	 * 4. FINISH: members record the session; they are not told the count.
	 * The count is known now, so a member that does not confirm is left
	 * out and named, as after a joint aggregate's shares are dealt.
	 */
	j.timeout_ms = fed->member_timeout_ms;
	j.tolerant = true;
	for (int i = 0; i < nmembers; i++)
	{
		bodies[i] = NULL;
		lens[i] = 0;
	}
	answers = Round(&j, SMPC_MSG_FINISH, bodies, lens, alens);
	for (int i = 0; i < nmembers; i++)
		if (answers[i] != NULL && alens[i] != 0)
			MalformedAnswer(&j, i, SMPC_ERR_TRAILING, "finish");

	smpc_check_core_status(smpc_encode_int64((int64) common, &result), "encode the count");
	smpc_result_digest(j.session_id, &result, 1, digest);
	QueryingAudit(&j, st, self_name, digest);
	ReportLeftOut(&j, NIL, "The intersection count was complete before it left.");

	st->natts = node->ss.ss_ScanTupleSlot->tts_tupleDescriptor->natts;
	st->rowvalues = palloc0(sizeof(Datum) * st->natts);
	st->rownulls = palloc0(sizeof(bool) * st->natts);
	st->rowvalues[0] = Int64GetDatum((int64) common);
	st->nrows = 1;
	INSTR_TIME_SET_CURRENT(ended);
	INSTR_TIME_SUBTRACT(ended, started);
	j.stats[0].elapsed_ms = INSTR_TIME_GET_MILLISEC(ended);
}

/*
 * smpc.last_session_stats()
 *		One row per party of this backend's last joint query.
 */
Datum
smpc_last_session_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

#if PG_VERSION_NUM >= 160000
	InitMaterializedSRF(fcinfo, 0);
#else
	SetSingleFuncCall(fcinfo, 0);
#endif
	for (int i = 0; i < LastStatsCount; i++)
	{
		Datum		values[6];
		bool		nulls[6] = {0};

		values[0] = CStringGetTextDatum(LastStats[i].name);
		values[1] = CStringGetTextDatum(LastStats[i].querying ? "querying" : "member");
		values[2] = Int64GetDatum((int64) LastStats[i].sent);
		values[3] = Int64GetDatum((int64) LastStats[i].received);
		values[4] = Int32GetDatum(LastStats[i].rounds);
		values[5] = Float8GetDatum(LastStats[i].elapsed_ms);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
