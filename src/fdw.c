/*
 * fdw.c
 *		The foreign-data wrapper callbacks of smpc: federated tables are
 *		never scanned row by row, and IMPORT FOREIGN SCHEMA builds them from
 *		what the members publish.
 *
 * IMPORT FOREIGN SCHEMA smpc_datasets FROM SERVER <federation> INTO <schema>
 * asks every member (DESCRIBE) and this node for their published datasets.
 * A dataset is imported when every party publishes it with the same columns
 * and types; otherwise the error names the member that differs and how.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/explain.h"
#include "foreign/fdwapi.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "optimizer/pathnode.h"
#include "optimizer/planmain.h"
#include "parser/parse_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "codec.h"
#include "messages.h"
#include "joint.h"
#include "smpc.h"

PG_FUNCTION_INFO_V1(smpc_fdw_handler);

#define IMPORT_REMOTE_SCHEMA "smpc_datasets"

/* A dataset as one party describes it (types re-formatted locally). */
typedef struct PartyDataset
{
	const char *party;			/* "this node" or member server name */
	char	   *name;
	int			ncolumns;
	char	  **colnames;
	char	  **coltypes;
} PartyDataset;

static void SmpcGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel,
								  Oid foreigntableid);
static void SmpcGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel,
								Oid foreigntableid);
static ForeignScan *SmpcGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel,
									   Oid foreigntableid, ForeignPath *best_path,
									   List *tlist, List *scan_clauses,
									   Plan *outer_plan);
static void SmpcBeginForeignScan(ForeignScanState *node, int eflags);
static TupleTableSlot *SmpcIterateForeignScan(ForeignScanState *node);
static void SmpcReScanForeignScan(ForeignScanState *node);
static void SmpcEndForeignScan(ForeignScanState *node);
static List *SmpcImportForeignSchema(ImportForeignSchemaStmt *stmt, Oid serverOid);
static void SmpcExplainForeignScan(ForeignScanState *node, ExplainState *es);

/*
 * smpc_fdw_handler
 *		The FdwRoutine of the smpc wrapper.
 */
Datum
smpc_fdw_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *routine = makeNode(FdwRoutine);

	routine->GetForeignRelSize = SmpcGetForeignRelSize;
	routine->GetForeignPaths = SmpcGetForeignPaths;
	routine->GetForeignPlan = SmpcGetForeignPlan;
	routine->BeginForeignScan = SmpcBeginForeignScan;
	routine->IterateForeignScan = SmpcIterateForeignScan;
	routine->ReScanForeignScan = SmpcReScanForeignScan;
	routine->EndForeignScan = SmpcEndForeignScan;
	routine->ImportForeignSchema = SmpcImportForeignSchema;
	routine->GetForeignUpperPaths = smpc_get_upper_paths;
	routine->ExplainForeignScan = SmpcExplainForeignScan;
	PG_RETURN_POINTER(routine);
}

static void
SmpcGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	/* the row count of a federated table is unknown and never revealed */
	baserel->rows = 1000;
	baserel->fdw_private = palloc0(sizeof(SmpcRelInfo));
}

static void
SmpcGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	/*
	 * A scan path must exist for planning to proceed to the aggregation
	 * stage; it is refused in GetForeignPlan if the plan ends up using it.
	 */
	add_path(baserel, (Path *)
			 create_foreignscan_path(root, baserel, NULL, baserel->rows,
#if PG_VERSION_NUM >= 180000
									 0,
#endif
									 10000000.0, 10000000.0, NIL,
									 baserel->lateral_relids, NULL,
#if PG_VERSION_NUM >= 170000
									 NIL,
#endif
									 NIL));
}

/*
 * The plan of a joint aggregate over the grouped relation; reading raw rows
 * of a federated table is never allowed: they live on the members and only
 * joint aggregates leave them.
 */
static ForeignScan *
SmpcGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid,
				   ForeignPath *best_path, List *tlist, List *scan_clauses,
				   Plan *outer_plan)
{
	if (IS_UPPER_REL(baserel))
		return smpc_upper_plan(root, baserel, tlist, outer_plan);
	smpc_raise_scan_refusal(root, baserel, foreigntableid);
}

static void
SmpcBeginForeignScan(ForeignScanState *node, int eflags)
{
	if (((Scan *) node->ss.ps.plan)->scanrelid != 0)
		elog(ERROR, "federated tables cannot be scanned");
	smpc_begin_joint_scan(node, eflags);
}

static TupleTableSlot *
SmpcIterateForeignScan(ForeignScanState *node)
{
	return smpc_iterate_joint_scan(node);
}

static void
SmpcReScanForeignScan(ForeignScanState *node)
{
	smpc_rescan_joint_scan(node);
}

static void
SmpcExplainForeignScan(ForeignScanState *node, ExplainState *es)
{
	smpc_explain_joint_scan(node, es);
}

static void
SmpcEndForeignScan(ForeignScanState *node)
{
}

typedef struct TypeContext
{
	const char *party;
	const char *dataset;
	const char *column;
} TypeContext;

static void
TypeErrorContext(void *arg)
{
	TypeContext *ctx = arg;

	errcontext("type of column \"%s\" of dataset \"%s\" as %s publishes it",
			   ctx->column, ctx->dataset, ctx->party);
}

/*
 * Canonical local spelling of a type name a party sent; an ERROR if it is
 * not a type known here.  Member text never reaches the generated DDL
 * unparsed.
 */
static char *
CanonicalType(const char *party, const char *dataset, const char *column,
			  const char *type_text)
{
	Oid			typid = InvalidOid;
	int32		typmod;
	ErrorContextCallback errcb;
	TypeContext ctx = {party, dataset, column};

	errcb.callback = TypeErrorContext;
	errcb.arg = &ctx;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
#if PG_VERSION_NUM >= 160000
	(void) parseTypeString(type_text, &typid, &typmod, NULL);
#else
	parseTypeString(type_text, &typid, &typmod, true);
#endif
	error_context_stack = errcb.previous;
	if (!OidIsValid(typid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%s publishes column \"%s\" of dataset \"%s\" with type \"%s\", which does not exist on this node",
						party, column, dataset, type_text)));
	return format_type_with_typemod(typid, typmod);
}

static PartyDataset *
LocalDataset(SmpcDataset *ds)
{
	PartyDataset *pd = palloc0(sizeof(PartyDataset));
	ListCell   *lc;
	int			i = 0;

	pd->party = "this node";
	pd->name = ds->name;
	pd->ncolumns = list_length(ds->columns);
	pd->colnames = palloc(sizeof(char *) * pd->ncolumns);
	pd->coltypes = palloc(sizeof(char *) * pd->ncolumns);
	foreach(lc, ds->columns)
	{
		SmpcDatasetColumn *col = lfirst(lc);

		pd->colnames[i] = col->name;
		pd->coltypes[i] = format_type_with_typemod(col->typid, col->typmod);
		i++;
	}
	return pd;
}

/*
 * Compare how two parties publish a dataset: same column names with the
 * same types.  ERROR naming the differing party otherwise.
 */
static void
CompareDatasets(const PartyDataset *ref, const PartyDataset *other)
{
	for (int i = 0; i < ref->ncolumns; i++)
	{
		int			j;

		for (j = 0; j < other->ncolumns; j++)
			if (strcmp(ref->colnames[i], other->colnames[j]) == 0)
				break;
		if (j == other->ncolumns)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INCONSISTENT_DESCRIPTOR_INFORMATION),
					 errmsg("%s does not publish column \"%s\" of dataset \"%s\"",
							other->party, ref->colnames[i], ref->name),
					 errdetail("%s publishes it as %s.", ref->party, ref->coltypes[i]),
					 errhint("Every member must publish a dataset with the same columns and types.")));
		if (strcmp(ref->coltypes[i], other->coltypes[j]) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INCONSISTENT_DESCRIPTOR_INFORMATION),
					 errmsg("%s publishes column \"%s\" of dataset \"%s\" as %s, but %s publishes it as %s",
							other->party, ref->colnames[i], ref->name,
							other->coltypes[j], ref->party, ref->coltypes[i]),
					 errhint("Every member must publish a dataset with the same columns and types.")));
	}
	for (int j = 0; j < other->ncolumns; j++)
	{
		int			i;

		for (i = 0; i < ref->ncolumns; i++)
			if (strcmp(ref->colnames[i], other->colnames[j]) == 0)
				break;
		if (i == ref->ncolumns)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INCONSISTENT_DESCRIPTOR_INFORMATION),
					 errmsg("%s publishes column \"%s\" of dataset \"%s\", which %s does not",
							other->party, other->colnames[j], ref->name, ref->party),
					 errhint("Every member must publish a dataset with the same columns and types.")));
	}
}

/*
 * IMPORT FOREIGN SCHEMA smpc_datasets FROM SERVER <federation> INTO <schema>
 *		[LIMIT TO (...) | EXCEPT (...)]
 */
static List *
SmpcImportForeignSchema(ImportForeignSchemaStmt *stmt, Oid serverOid)
{
	ForeignServer *server = GetForeignServer(serverOid);
	SmpcFederation *fed;
	List	   *wanted = NIL;
	List	   *local = NIL;
	List	   *commands = NIL;
	SmpcMemberCall *calls;
	List	  **member_sets;
	uint8		session_id[SMPC_SESSION_ID_BYTES];
	smpc_writer w;
	uint8	   *body;
	size_t		body_len;
	int			n;
	int			i;
	ListCell   *lc;

	if (strcmp(stmt->remote_schema, IMPORT_REMOTE_SCHEMA) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_SCHEMA_NOT_FOUND),
				 errmsg("smpc has no remote schema \"%s\"", stmt->remote_schema),
				 errhint("Use IMPORT FOREIGN SCHEMA %s FROM SERVER %s INTO ...;",
						 IMPORT_REMOTE_SCHEMA, quote_identifier(server->servername))));
	if (!smpc_is_federation_server(server))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("server \"%s\" is a member, not a federation", server->servername),
				 errhint("Import from the federation server, the one with option \"members\".")));
	fed = smpc_get_federation(server->servername);
	if (fed->members == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("federation \"%s\" has no members", fed->name)));

	if (stmt->list_type == FDW_IMPORT_SCHEMA_LIMIT_TO)
		foreach(lc, stmt->table_list)
			wanted = lappend(wanted, ((RangeVar *) lfirst(lc))->relname);

	/* this node's own datasets */
	if (wanted != NIL)
	{
		foreach(lc, wanted)
		{
			SmpcDataset *ds = smpc_lookup_dataset(lfirst(lc), true);

			if (ds == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_OBJECT),
						 errmsg("dataset \"%s\" is not published on this node",
								(char *) lfirst(lc)),
						 errhint("Every party of a joint query contributes its own data: publish it here with smpc.publish().")));
			local = lappend(local, LocalDataset(ds));
		}
	}
	else
		foreach(lc, smpc_list_datasets())
			local = lappend(local, LocalDataset(smpc_lookup_dataset(lfirst(lc), false)));

	/* ask every member concurrently */
	smpc_writer_init(&w, (size_t) smpc_max_message_size);
	{
		smpc_str   *names = palloc0(sizeof(smpc_str) * (list_length(wanted) + 1));

		i = 0;
		foreach(lc, wanted)
		{
			names[i].ptr = lfirst(lc);
			names[i].len = strlen(lfirst(lc));
			i++;
		}
		smpc_writer_put_str_list(&w, names, i);
	}
	smpc_check_core_status(smpc_writer_finish(&w, &body, &body_len), "encode the describe request");

	n = list_length(fed->members);
	calls = palloc0(sizeof(SmpcMemberCall) * n);
	member_sets = palloc0(sizeof(List *) * n);
	smpc_new_session_id(session_id);
	i = 0;
	foreach(lc, fed->members)
	{
		calls[i].member = lfirst(lc);
		calls[i].request = smpc_build_request(SMPC_MSG_DESCRIBE, session_id, 0,
											  calls[i].member, fed->name,
											  body, body_len, &calls[i].request_len);
		i++;
	}
	smpc_call_members(calls, n, fed->member_timeout_ms);

	for (i = 0; i < n; i++)
	{
		const uint8 *payload;
		size_t		plen;
		char	   *why;
		bool		mismatch;
		smpc_dataset_desc *descs;
		size_t		ndesc;
		int			rc;

		if (calls[i].response == NULL)
			smpc_raise_member_error(&calls[i]);
		if (!smpc_open_response(&calls[i], session_id, 0, &payload, &plen, &why, &mismatch))
			ereport(ERROR,
					(errcode(mismatch ? ERRCODE_SMPC_KEY_MISMATCH : ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("member \"%s\": %s", calls[i].member->name, why)));
		rc = smpc_describe_reply_decode(payload, plen, &descs, &ndesc);
		if (rc != SMPC_OK)
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("member \"%s\": malformed describe reply: %s",
							calls[i].member->name, smpc_status_message(rc))));
		for (size_t d = 0; d < ndesc; d++)
		{
			PartyDataset *pd = palloc0(sizeof(PartyDataset));

			pd->party = psprintf("member \"%s\"", calls[i].member->name);
			pd->name = pnstrdup(descs[d].name.ptr, descs[d].name.len);
			pd->ncolumns = descs[d].ncolumns;
			pd->colnames = palloc(sizeof(char *) * pd->ncolumns);
			pd->coltypes = palloc(sizeof(char *) * pd->ncolumns);
			for (int c = 0; c < pd->ncolumns; c++)
			{
				pd->colnames[c] = pnstrdup(descs[d].columns[c].name.ptr,
										   descs[d].columns[c].name.len);
				/* as sent; made canonical only if this dataset is compared */
				pd->coltypes[c] = pnstrdup(descs[d].columns[c].type_name.ptr,
										   descs[d].columns[c].type_name.len);
			}
			member_sets[i] = lappend(member_sets[i], pd);
		}
	}

	/* a dataset is imported when every party publishes it, identically */
	foreach(lc, local)
	{
		PartyDataset *ref = lfirst(lc);
		bool		everywhere = true;
		bool		excluded = false;
		StringInfoData sql;

		if (stmt->list_type == FDW_IMPORT_SCHEMA_EXCEPT)
		{
			ListCell   *lc2;

			foreach(lc2, stmt->table_list)
				if (strcmp(((RangeVar *) lfirst(lc2))->relname, ref->name) == 0)
					excluded = true;
		}
		if (excluded)
			continue;
		for (i = 0; i < n; i++)
		{
			ListCell   *lc2;
			PartyDataset *found = NULL;

			foreach(lc2, member_sets[i])
				if (strcmp(((PartyDataset *) lfirst(lc2))->name, ref->name) == 0)
					found = lfirst(lc2);
			if (found == NULL)
			{
				everywhere = false;
				ereport(NOTICE,
						(errmsg("dataset \"%s\" is not imported: member \"%s\" does not publish it",
								ref->name, calls[i].member->name)));
				break;
			}
			for (int c = 0; c < found->ncolumns; c++)
				found->coltypes[c] = CanonicalType(found->party, found->name,
												   found->colnames[c], found->coltypes[c]);
			CompareDatasets(ref, found);
		}
		if (!everywhere)
			continue;

		initStringInfo(&sql);
		appendStringInfo(&sql, "CREATE FOREIGN TABLE %s (", quote_identifier(ref->name));
		for (int c = 0; c < ref->ncolumns; c++)
			appendStringInfo(&sql, "%s%s %s", c > 0 ? ", " : "",
							 quote_identifier(ref->colnames[c]), ref->coltypes[c]);
		appendStringInfo(&sql, ") SERVER %s OPTIONS (dataset %s)",
						 quote_identifier(server->servername),
						 quote_literal_cstr(ref->name));
		commands = lappend(commands, sql.data);
	}
	return commands;
}
