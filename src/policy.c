/*
 * policy.c
 *		The member-side policy of dataset queries: a member executes only
 *		queries it can prove are safe.
 *
 * A querying node sends each member "dataset SQL", a single SELECT whose
 * FROM clause names the federation-wide dataset, e.g.
 *
 *		SELECT ward, count(*), sum(los) FROM admissions
 *		 WHERE age >= 65 AND ward IN ('a', 'b') GROUP BY ward
 *
 * smpc_policy_check() proves such a query safe or refuses it, and returns
 * the SQL to run: the same text with the dataset name replaced by the
 * schema-qualified local relation.  It executes nothing.  The proof has
 * three stages:
 *
 *	1. Text: at most POLICY_MAX_SQL_BYTES bytes, parentheses and brackets
 *	   nested at most POLICY_MAX_DEPTH levels (found with the SQL lexer, so
 *	   literals and comments do not count).
 *	2. Raw parse tree, before any catalog lookup: one plain SELECT without
 *	   WITH, INTO, set operations, VALUES, DISTINCT, windows, HAVING, ORDER
 *	   BY, LIMIT or row locks, reading exactly the dataset, unqualified and
 *	   without alias.  Every name must be unqualified or qualified with
 *	   pg_catalog, every column reference must name a published column, and
 *	   there may be no subqueries, parameters, "*" (except count(*)),
 *	   grouping sets or window functions.  This stage comes first because
 *	   parse analysis itself resolves names and runs type input functions.
 *	3. Parse analysis of the final SQL as the dataset's publisher (never a
 *	   superuser), in a restricted security context with search_path set to
 *	   "pg_catalog, pg_temp" (no user function, operator or type can shadow
 *	   a built-in one), then a whitelist walk of the analyzed Query, before
 *	   rewriting (a published view's own body is the DBA's): built-in
 *	   immutable functions and operators, published columns, constants of
 *	   built-in types, count and sum only, group keys only where the
 *	   publication allows grouping.
 *
 * Every refusal is an ERROR with SQLSTATE ERRCODE_SMPC_POLICY_VIOLATION and
 * a message naming the offending part.  Errors that the parser raises with
 * a position (unknown function, syntax error) are reported against the
 * query text as received, not the final SQL, so that the name of the local
 * relation does not leave the member.
 *
 * The caller runs the returned SQL (SPI_prepare/SPI_execute) as the same
 * publisher with the same search_path.
 */
#include "postgres.h"

#include "access/transam.h"
#include "catalog/heap.h"
#include "catalog/namespace.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "parser/scanner.h"
#include "parser/scansup.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"

#include "smpc.h"

PG_FUNCTION_INFO_V1(smpc_check_query);

/* limits on the text and the nesting of a dataset query */
#define POLICY_MAX_SQL_BYTES	65536
#define POLICY_MAX_DEPTH		100

/* the search_path dataset queries are analyzed and run with */
#define POLICY_SEARCH_PATH		SMPC_POLICY_SEARCH_PATH

#define POLICY_DETAIL_BUILTIN \
	"only built-in immutable functions and operators may be used"

/*
 * Where parser errors point: positions (in characters, 1-based) in the text
 * that was parsed are translated to positions in the text as received.
 */
typedef struct PositionMap
{
	const char *received;		/* the query as received */
	bool		replaced;		/* the parsed text is the final SQL */
	int			start;			/* characters before the dataset name */
	int			oldlen;			/* characters of the dataset name token */
	int			newlen;			/* characters of its replacement */
} PositionMap;

/* state of the raw parse tree walk */
typedef struct RawContext
{
	const SmpcDataset *ds;
	int			depth;
	bool		in_group;		/* walking the GROUP BY clause */
	List	   *output_names;	/* output column aliases (char *) */
} RawContext;

/* state of the analyzed Query walk */
typedef struct QueryContext
{
	const SmpcDataset *ds;
	const char *sql;			/* the final SQL, for names at locations */
	int			depth;
	bool		in_group_key;	/* walking a GROUP BY expression */
	bool		intersect;		/* an intersection's query: its key must be an
								 * intersection key */
} QueryContext;

static void PositionErrorCallback(void *arg);
static List *ParseText(const char *sql, PositionMap *pm);
static void CheckNesting(const char *sql, PositionMap *pm);
static RangeVar *CheckSelectShape(const SmpcDataset *ds, List *raws);
static void CheckFromItem(const SmpcDataset *ds, Node *item);
static bool CheckRawNode(Node *node, RawContext *cxt);
static void CheckRawName(List *names, const char *what);
static void CheckRawColumnRef(ColumnRef *cref, RawContext *cxt);
static char *ColumnList(const SmpcDataset *ds);
static char *ReplaceDataset(const SmpcDataset *ds, const char *sql,
							RangeVar *rv, PositionMap *pm);
static void AnalyzeAndCheck(const SmpcDataset *ds, const char *sql,
							PositionMap *pm, List **outputs, bool intersect);
static void CheckQueryShape(const SmpcDataset *ds, const char *sql, Query *query,
							List **outputs, bool intersect);
static bool IsGroupKey(Query *query, TargetEntry *tle);
static bool CheckExpr(Node *node, QueryContext *cxt);
static void CheckVar(Var *var, QueryContext *cxt);
static void CheckConst(Const *con, QueryContext *cxt);
static void CheckFunction(Oid funcid);
static void CheckOperator(Oid opno, Oid funcid);
static void CheckAggref(Aggref *agg);
static void CheckIOCoercion(CoerceViaIO *cio);
static bool TypeAllowed(const SmpcDataset *ds, Oid typid);
static bool IsObjectIdType(Oid typid);
static bool IsObjectIdTypeName(const char *name);
static const char *VolatilityWord(Oid funcid);
static char *WordAt(const char *sql, int location);
static void RefuseExpression(Node *node, QueryContext *cxt) pg_attribute_noreturn();
static void RefuseTooDeep(void) pg_attribute_noreturn();

static char *PolicyCheck(const SmpcDataset *ds, const char *sql, List **outputs,
						 bool intersect);

/*
 * smpc_policy_check_intersect
 *		smpc_policy_check for the dataset query of a private set
 *		intersection: it selects one key column, grouped by, and no
 *		aggregates; the key must be published as an intersection key.
 */
char *
smpc_policy_check_intersect(const SmpcDataset *ds, const char *sql, List **outputs)
{
	return PolicyCheck(ds, sql, outputs, true);
}

/*
 * smpc_policy_check
 *		Prove the dataset query sql safe to run on dataset ds, or ERROR.
 *		Returns the SQL to run, palloc'd: sql with the dataset name replaced
 *		by the local relation (aliased to the dataset name).  Executes
 *		nothing.
 */
char *
smpc_policy_check(const SmpcDataset *ds, const char *sql, List **outputs)
{
	return PolicyCheck(ds, sql, outputs, false);
}

static char *
PolicyCheck(const SmpcDataset *ds, const char *sql, List **outputs, bool intersect)
{
	size_t		len = strlen(sql);
	PositionMap pm;
	List	   *raws;
	RangeVar   *rv;
	RawContext rcxt;
	SelectStmt *stmt;
	char	   *final_sql;
	ListCell   *lc;

	/* The contract: never as a superuser. */
	if (superuser_arg(ds->publisher))
	{
		char	   *role = GetUserNameFromId(ds->publisher, true);

		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset \"%s\" is published by superuser \"%s\"",
						ds->name, role ? role : "?"),
				 errdetail("Dataset queries run as the role that published the dataset, never as a superuser."),
				 errhint("Publish the dataset as a role that is not a superuser.")));
	}

	/* 1. the text */
	if (len > POLICY_MAX_SQL_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset query is too long"),
				 errdetail("The query has %zu bytes; the limit is %d.",
						   len, POLICY_MAX_SQL_BYTES)));
	(void) pg_verifymbstr(sql, (int) len, false);

	memset(&pm, 0, sizeof(pm));
	pm.received = sql;
	CheckNesting(sql, &pm);

	/* 2. the raw parse tree */
	raws = ParseText(sql, &pm);
	rv = CheckSelectShape(ds, raws);
	stmt = (SelectStmt *) linitial_node(RawStmt, raws)->stmt;

	memset(&rcxt, 0, sizeof(rcxt));
	rcxt.ds = ds;
	foreach(lc, stmt->targetList)
	{
		ResTarget  *rt = lfirst_node(ResTarget, lc);

		if (rt->name)
			rcxt.output_names = lappend(rcxt.output_names, rt->name);
	}
	(void) CheckRawNode((Node *) stmt->targetList, &rcxt);
	(void) CheckRawNode(stmt->whereClause, &rcxt);
	rcxt.in_group = true;
	(void) CheckRawNode((Node *) stmt->groupClause, &rcxt);

	/* 3. the final SQL, analyzed as the publisher */
	final_sql = ReplaceDataset(ds, sql, rv, &pm);
	AnalyzeAndCheck(ds, final_sql, &pm, outputs, intersect);
	return final_sql;
}

/*
 * PositionErrorCallback
 *		Report a parser error position against the query as received, as an
 *		internal query (the client's own statement is another text).
 */
static void
PositionErrorCallback(void *arg)
{
	PositionMap *pm = (PositionMap *) arg;
	int			pos = geterrposition();

	if (pos <= 0)
		return;
	if (pm->replaced && pos - 1 >= pm->start)
	{
		if (pos - 1 < pm->start + pm->newlen)
			pos = pm->start + 1;
		else
			pos = pos - pm->newlen + pm->oldlen;
	}
	errposition(0);
	internalerrposition(pos);
	internalerrquery(pm->received);
}

/* raw_parser() with error positions mapped by pm. */
static List *
ParseText(const char *sql, PositionMap *pm)
{
	ErrorContextCallback errcb;
	List	   *raws;

	errcb.callback = PositionErrorCallback;
	errcb.arg = pm;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	raws = raw_parser(sql, RAW_PARSE_DEFAULT);
	error_context_stack = errcb.previous;
	return raws;
}

/*
 * CheckNesting
 *		Refuse parentheses or brackets nested deeper than POLICY_MAX_DEPTH,
 *		counted on the tokens of the SQL lexer.  (Parentheses leave no trace
 *		in the parse tree, so the tree walks cannot count them.)
 */
static void
CheckNesting(const char *sql, PositionMap *pm)
{
	core_yyscan_t scanner;
	core_yy_extra_type yyextra;
	core_YYSTYPE yylval;
	YYLTYPE		yylloc;
	ErrorContextCallback errcb;
	int			depth = 0;
	int			tok;

	errcb.callback = PositionErrorCallback;
	errcb.arg = pm;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	scanner = scanner_init(sql, &yyextra, &ScanKeywords, ScanKeywordTokens);
	/* raw_parser() warns about the same escapes again */
	yyextra.escape_string_warning = false;
	while ((tok = core_yylex(&yylval, &yylloc, scanner)) != 0)
	{
		if (tok == '(' || tok == '[')
		{
			if (++depth > POLICY_MAX_DEPTH)
				RefuseTooDeep();
		}
		else if (tok == ')' || tok == ']')
			depth--;
	}
	scanner_finish(scanner);

	error_context_stack = errcb.previous;
}

static void
RefuseTooDeep(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
			 errmsg("dataset query is nested too deeply"),
			 errdetail("Expressions may be nested at most %d levels deep.",
					   POLICY_MAX_DEPTH)));
}

/*
 * CheckSelectShape
 *		The statement must be one plain SELECT over the dataset.  Returns the
 *		dataset's RangeVar.
 */
static RangeVar *
CheckSelectShape(const SmpcDataset *ds, List *raws)
{
	Node	   *node;
	SelectStmt *stmt;
	ListCell   *lc;
	const char *later = "The querying node applies HAVING, ORDER BY and LIMIT to the joint result.";

	if (list_length(raws) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("a dataset query must be exactly one statement"),
				 errdetail("The text contains %d statements.", list_length(raws))));
	node = linitial_node(RawStmt, raws)->stmt;
	if (!IsA(node, SelectStmt))
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("%s statements are not allowed as dataset queries",
						CreateCommandName(node)),
				 errhint("A dataset query is a single SELECT over the dataset.")));
	stmt = (SelectStmt *) node;

	if (stmt->withClause)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may not contain WITH clauses")));
	if (stmt->op != SETOP_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may not contain UNION, INTERSECT or EXCEPT")));
	if (stmt->valuesLists)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may not be VALUES lists")));
	if (stmt->intoClause)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may not contain INTO")));
	if (stmt->lockingClause)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may not lock rows"),
				 errdetail("FOR UPDATE, FOR NO KEY UPDATE, FOR SHARE and FOR KEY SHARE are not allowed.")));
	if (stmt->distinctClause)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may not use DISTINCT")));
	if (stmt->windowClause)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may not contain window functions")));
	if (stmt->havingClause)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may not contain HAVING"),
				 errhint("%s", later)));
	if (stmt->sortClause)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may not contain ORDER BY"),
				 errhint("%s", later)));
	if (stmt->limitCount || stmt->limitOffset)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may not contain LIMIT, OFFSET or FETCH"),
				 errhint("%s", later)));
#if PG_VERSION_NUM >= 140000
	if (stmt->groupDistinct)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may not contain GROUP BY DISTINCT")));
#endif

	if (stmt->fromClause == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries must read dataset \"%s\"", ds->name),
				 errhint("Add FROM %s.", quote_identifier(ds->name))));
	foreach(lc, stmt->fromClause)
		CheckFromItem(ds, lfirst(lc));
	if (list_length(stmt->fromClause) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may read dataset \"%s\" only once", ds->name)));
	return linitial_node(RangeVar, stmt->fromClause);
}

/* One FROM item must be the dataset, by its exact, unqualified name. */
static void
CheckFromItem(const SmpcDataset *ds, Node *item)
{
	RangeVar   *rv;

	switch (nodeTag(item))
	{
		case T_RangeVar:
			break;
		case T_JoinExpr:
			ereport(ERROR,
					(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
					 errmsg("dataset queries may not contain joins")));
			break;
		case T_RangeSubselect:
			ereport(ERROR,
					(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
					 errmsg("dataset queries may not contain subqueries")));
			break;
		case T_RangeFunction:
			ereport(ERROR,
					(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
					 errmsg("dataset queries may not read from functions")));
			break;
		case T_RangeTableSample:
			ereport(ERROR,
					(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
					 errmsg("dataset queries may not contain TABLESAMPLE")));
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
					 errmsg("dataset queries may reference only dataset \"%s\"",
							ds->name)));
	}

	rv = (RangeVar *) item;
	if (rv->catalogname || rv->schemaname)
	{
		List	   *names = list_make1(makeString(rv->relname));

		if (rv->schemaname)
			names = lcons(makeString(rv->schemaname), names);
		if (rv->catalogname)
			names = lcons(makeString(rv->catalogname), names);
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may reference only dataset \"%s\"", ds->name),
				 errdetail("The query reads \"%s\".", NameListToString(names)),
				 errhint("Name the dataset without a schema: FROM %s.",
						 quote_identifier(ds->name))));
	}
	if (strcmp(rv->relname, ds->name) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may reference only dataset \"%s\"", ds->name),
				 errdetail("The query reads \"%s\".", rv->relname)));
	if (rv->alias)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may not give the dataset an alias"),
				 errhint("Qualify columns with the dataset name, as in %s.column.",
						 quote_identifier(ds->name))));
}

/*
 * CheckRawNode
 *		Walk a raw expression tree: refuse qualified names outside pg_catalog,
 *		unpublished columns, subqueries, parameters, "*", grouping sets and
 *		window functions, and nesting deeper than POLICY_MAX_DEPTH.  Other
 *		node types are left to the check of the analyzed query.
 */
static bool
CheckRawNode(Node *node, RawContext *cxt)
{
	bool		result;

	if (node == NULL)
		return false;
	if (IsA(node, List))
		return raw_expression_tree_walker(node, CheckRawNode, (void *) cxt);

	if (++cxt->depth > POLICY_MAX_DEPTH)
		RefuseTooDeep();

	switch (nodeTag(node))
	{
		case T_ColumnRef:
			CheckRawColumnRef((ColumnRef *) node, cxt);
			break;
		case T_FuncCall:
			{
				FuncCall   *fc = (FuncCall *) node;

				CheckRawName(fc->funcname, "function");
				if (fc->over)
					ereport(ERROR,
							(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
							 errmsg("dataset queries may not contain window functions")));
				/* refused again on the Aggref; here before any name in them resolves */
				if (fc->agg_within_group)
					ereport(ERROR,
							(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
							 errmsg("WITHIN GROUP is not allowed in a dataset query")));
				if (fc->agg_order)
					ereport(ERROR,
							(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
							 errmsg("ORDER BY is not allowed in aggregates of a dataset query")));
				if (fc->agg_distinct)
					ereport(ERROR,
							(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
							 errmsg("DISTINCT is not allowed in aggregates of a dataset query")));
				if (fc->agg_filter)
					ereport(ERROR,
							(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
							 errmsg("FILTER is not allowed in aggregates of a dataset query"),
							 errhint("Move the condition to WHERE, or aggregate a CASE expression.")));
				break;
			}
		case T_A_Expr:
			CheckRawName(((A_Expr *) node)->name, "operator");
			break;
		case T_TypeName:
			{
				List	   *names = ((TypeName *) node)->names;

				CheckRawName(names, "type");
				if (names != NIL && IsObjectIdTypeName(strVal(llast(names))))
					ereport(ERROR,
							(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
							 errmsg("type %s is not allowed in a dataset query",
									strVal(llast(names))),
							 errdetail("Object identifier types look up the system catalogs.")));
				break;
			}
		case T_CollateClause:
			CheckRawName(((CollateClause *) node)->collname, "collation");
			break;
		case T_SubLink:
		case T_RangeSubselect:
			ereport(ERROR,
					(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
					 errmsg("dataset queries may not contain subqueries")));
			break;
		case T_ParamRef:
			ereport(ERROR,
					(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
					 errmsg("parameter $%d is not allowed in a dataset query",
							((ParamRef *) node)->number),
					 errdetail("Dataset queries carry their values as literals.")));
			break;
		case T_A_Star:
			ereport(ERROR,
					(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
					 errmsg("\"*\" is not allowed in a dataset query"),
					 errhint("Name the published columns, or use count(*).")));
			break;
		case T_GroupingSet:
			ereport(ERROR,
					(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
					 errmsg("dataset queries may not contain grouping sets, ROLLUP or CUBE")));
			break;
		case T_GroupingFunc:
			ereport(ERROR,
					(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
					 errmsg("dataset queries may not contain GROUPING()")));
			break;
		case T_WindowDef:
			ereport(ERROR,
					(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
					 errmsg("dataset queries may not contain window functions")));
			break;
		default:
			break;
	}

	result = raw_expression_tree_walker(node, CheckRawNode, (void *) cxt);
	cxt->depth--;
	return result;
}

/*
 * CheckRawName
 *		A name of a function, operator, type or collation must be unqualified
 *		or qualified with pg_catalog: only built-in objects may be named, and
 *		unqualified names resolve with search_path "pg_catalog, pg_temp"
 *		(functions and operators are never looked up in pg_temp).
 */
static void
CheckRawName(List *names, const char *what)
{
	if (names == NIL || list_length(names) == 1)
		return;
	if (list_length(names) == 2 && IsA(linitial(names), String) &&
		strcmp(strVal(linitial(names)), "pg_catalog") == 0)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
			 errmsg("%s \"%s\" is not allowed in a dataset query",
					what, NameListToString(names)),
			 errdetail("Only built-in objects may be used; a name may be qualified only with schema pg_catalog.")));
}

/*
 * CheckRawColumnRef
 *		A column reference must be a published column, unqualified or
 *		qualified with the dataset name; in GROUP BY it may also be an output
 *		column alias.  Refused before analysis, so that a refusal does not
 *		tell whether an unpublished column exists.
 */
static void
CheckRawColumnRef(ColumnRef *cref, RawContext *cxt)
{
	const SmpcDataset *ds = cxt->ds;
	int			n = list_length(cref->fields);
	const char *colname;
	bool		qualified = false;
	ListCell   *lc;

	if (IsA(llast(cref->fields), A_Star))
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("\"*\" is not allowed in a dataset query"),
				 errhint("Name the published columns, or use count(*).")));
	if (n == 2 && strcmp(strVal(linitial(cref->fields)), ds->name) == 0)
	{
		colname = strVal(lsecond(cref->fields));
		qualified = true;
	}
	else if (n == 1)
		colname = strVal(linitial(cref->fields));
	else
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("column reference \"%s\" is not allowed in a dataset query",
						NameListToString(cref->fields)),
				 errdetail("Columns may be qualified only with the dataset name, as in %s.column.",
						   quote_identifier(ds->name))));

	foreach(lc, ds->columns)
		if (strcmp(((SmpcDatasetColumn *) lfirst(lc))->name, colname) == 0)
			return;
	if (!qualified && cxt->in_group)
		foreach(lc, cxt->output_names)
			if (strcmp((char *) lfirst(lc), colname) == 0)
				return;

	if (!qualified && strcmp(colname, ds->name) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("whole-row reference to dataset \"%s\" is not allowed", ds->name),
				 errdetail("Dataset queries may use only published columns.")));
	if (SystemAttributeByName(colname) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("system column \"%s\" is not allowed in a dataset query", colname),
				 errdetail("Dataset queries may use only published columns.")));
	ereport(ERROR,
			(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
			 errmsg("column \"%s\" of dataset \"%s\" is not published", colname, ds->name),
			 errhint("Dataset \"%s\" publishes %s.", ds->name, ColumnList(ds))));
}

/* "columns a, b and c" for hints */
static char *
ColumnList(const SmpcDataset *ds)
{
	StringInfoData buf;
	ListCell   *lc;
	int			n = list_length(ds->columns);

	initStringInfo(&buf);
	appendStringInfoString(&buf, n == 1 ? "column " : "columns ");
	foreach(lc, ds->columns)
	{
		int			i = foreach_current_index(lc);

		if (i > 0)
			appendStringInfoString(&buf, i == n - 1 ? " and " : ", ");
		appendStringInfoString(&buf,
							   quote_identifier(((SmpcDatasetColumn *) lfirst(lc))->name));
	}
	return buf.data;
}

#define IS_IDENT_START(c) \
	(((c) >= 'A' && (c) <= 'Z') || ((c) >= 'a' && (c) <= 'z') || (c) == '_' || \
	 IS_HIGHBIT_SET(c))
#define IS_IDENT_CONT(c) \
	(IS_IDENT_START(c) || ((c) >= '0' && (c) <= '9') || (c) == '$')

/*
 * ReplaceDataset
 *		The final SQL: sql with the dataset name token at rv->location
 *		replaced by the schema-qualified relation, aliased to the dataset
 *		name (so that dataset-qualified columns and the parser's messages
 *		keep naming the dataset).  Fills in pm for positions in the result.
 */
static char *
ReplaceDataset(const SmpcDataset *ds, const char *sql, RangeVar *rv,
			   PositionMap *pm)
{
	const char *start = sql + rv->location;
	const char *end;
	char	   *name;
	char	   *nspname;
	char	   *relname;
	StringInfoData repl;
	StringInfoData buf;

	if (rv->location < 0 || rv->location >= (int) strlen(sql))
		elog(ERROR, "dataset name has no location in the dataset query");

	if (*start == '"')
	{
		StringInfoData ident;

		initStringInfo(&ident);
		for (end = start + 1;; end++)
		{
			if (*end == '\0')
				elog(ERROR, "unterminated dataset name in the dataset query");
			if (*end == '"')
			{
				if (end[1] != '"')
					break;
				end++;
			}
			appendStringInfoChar(&ident, *end);
		}
		end++;
		name = ident.data;
		truncate_identifier(name, strlen(name), false);
	}
	else if (IS_IDENT_START(*start))
	{
		for (end = start + 1; IS_IDENT_CONT(*end); end++)
			;
		name = downcase_truncate_identifier(start, end - start, false);
	}
	else
	{
		end = start;
		name = "";
	}
	/* U&"..." and anything else we cannot place exactly */
	if (*end == '&' || strcmp(name, ds->name) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset name must be written as a plain or double-quoted identifier"),
				 errhint("Write FROM %s.", quote_identifier(ds->name))));

	nspname = get_namespace_name(get_rel_namespace(ds->relid));
	relname = get_rel_name(ds->relid);
	if (nspname == NULL || relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation of dataset \"%s\" no longer exists", ds->name)));
	initStringInfo(&repl);
	appendStringInfo(&repl, "%s AS %s", quote_qualified_identifier(nspname, relname),
					 quote_identifier(ds->name));

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, sql, rv->location);
	appendStringInfoString(&buf, repl.data);
	appendStringInfoString(&buf, end);

	pm->replaced = true;
	pm->start = pg_mbstrlen_with_len(sql, rv->location);
	pm->oldlen = pg_mbstrlen_with_len(start, end - start);
	pm->newlen = pg_mbstrlen_with_len(repl.data, repl.len);
	return buf.data;
}

/*
 * AnalyzeAndCheck
 *		Parse-analyze the final SQL as the dataset's publisher, in a restricted
 *		security context with search_path "pg_catalog, pg_temp", and check the
 *		analyzed query.  The user is restored on error too; the search_path
 *		is restored here, or by the (sub)transaction abort on error.
 */
static void
AnalyzeAndCheck(const SmpcDataset *ds, const char *sql, PositionMap *pm,
				List **outputs, bool intersect)
{
	Oid			save_userid;
	int			save_sec_context;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(ds->publisher, save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	PG_TRY();
	{
		int			save_nestlevel = NewGUCNestLevel();
		List	   *raws;
		Query	   *query;
		ErrorContextCallback errcb;

		(void) set_config_option("search_path", POLICY_SEARCH_PATH,
								 PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);

		raws = ParseText(sql, pm);
		if (list_length(raws) != 1)
			elog(ERROR, "final dataset query is not one statement");

		errcb.callback = PositionErrorCallback;
		errcb.arg = pm;
		errcb.previous = error_context_stack;
		error_context_stack = &errcb;
#if PG_VERSION_NUM >= 150000
		query = parse_analyze_fixedparams(linitial_node(RawStmt, raws), sql,
										  NULL, 0, NULL);
#else
		query = parse_analyze(linitial_node(RawStmt, raws), sql, NULL, 0, NULL);
#endif
		error_context_stack = errcb.previous;

		CheckQueryShape(ds, sql, query, outputs, intersect);

		AtEOXact_GUC(true, save_nestlevel);
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec_context);
	}
	PG_END_TRY();
}

/*
 * CheckQueryShape
 *		The analyzed query: one SELECT of aggregates or group keys over the
 *		dataset's relation, every expression on the whitelist.
 */
static void
CheckQueryShape(const SmpcDataset *ds, const char *sql, Query *query,
				List **outputs, bool intersect)
{
	RangeTblEntry *rte;
	QueryContext cxt;
	ListCell   *lc;

	if (query->commandType != CMD_SELECT || query->utilityStmt != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries must be SELECT statements")));
	if (query->cteList || query->hasRecursive || query->hasModifyingCTE)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may not contain WITH clauses")));
	if (query->hasSubLinks)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may not contain subqueries")));
	if (query->hasWindowFuncs || query->windowClause)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may not contain window functions")));
	if (query->hasTargetSRFs)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may not contain set-returning functions")));
	if (query->hasForUpdate || query->rowMarks)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may not lock rows")));
	if (query->setOperations)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may not contain UNION, INTERSECT or EXCEPT")));
	if (query->limitCount || query->limitOffset)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may not contain LIMIT, OFFSET or FETCH")));
	if (query->distinctClause || query->hasDistinctOn)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may not use DISTINCT")));
	if (query->sortClause)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may not contain ORDER BY")));
	if (query->havingQual)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may not contain HAVING")));
	if (query->groupingSets)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may not contain grouping sets, ROLLUP or CUBE")));
	/* columns not grouped by, but functionally dependent on a group key */
	if (query->constraintDeps)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may not select columns that are neither grouped by nor aggregated")));

	if (list_length(query->rtable) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may reference only dataset \"%s\"", ds->name)));
	rte = linitial_node(RangeTblEntry, query->rtable);
	if (rte->rtekind != RTE_RELATION || rte->relid != ds->relid ||
		rte->tablesample != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may reference only dataset \"%s\"", ds->name)));
	if (query->jointree == NULL || list_length(query->jointree->fromlist) != 1 ||
		!IsA(linitial(query->jointree->fromlist), RangeTblRef) ||
		linitial_node(RangeTblRef, query->jointree->fromlist)->rtindex != 1)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may reference only dataset \"%s\"", ds->name)));

	if (!query->hasAggs && query->groupClause == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries must aggregate"),
				 errdetail("A member contributes aggregates over the dataset or its group keys, never its rows."),
				 errhint("Use count(*), count(column) or sum(column), grouped by group keys.")));

	if (intersect && (query->hasAggs || list_length(query->targetList) != 1))
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("the dataset query of an intersection must select its key column only"),
				 errhint("SELECT key FROM dataset WHERE ... GROUP BY key")));

	memset(&cxt, 0, sizeof(cxt));
	cxt.ds = ds;
	cxt.sql = sql;
	cxt.intersect = intersect;
	foreach(lc, query->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		cxt.in_group_key = IsGroupKey(query, tle);
		(void) CheckExpr((Node *) tle, &cxt);
		if (outputs)
		{
			char	   *colname = NULL;

			if (cxt.in_group_key && IsA(tle->expr, Var))
				colname = get_attname(ds->relid, ((Var *) tle->expr)->varattno, false);
			*outputs = lappend(*outputs, colname);
		}
	}
	cxt.in_group_key = false;
	(void) CheckExpr(query->jointree->quals, &cxt);
}

/* Whether tle is an expression of the GROUP BY clause. */
static bool
IsGroupKey(Query *query, TargetEntry *tle)
{
	ListCell   *lc;

	if (tle->ressortgroupref == 0)
		return false;
	foreach(lc, query->groupClause)
		if (lfirst_node(SortGroupClause, lc)->tleSortGroupRef == tle->ressortgroupref)
			return true;
	return false;
}

/*
 * CheckExpr
 *		Walk an analyzed expression tree; only whitelisted node types pass.
 */
static bool
CheckExpr(Node *node, QueryContext *cxt)
{
	bool		result;

	if (node == NULL)
		return false;
	if (IsA(node, List))
		return expression_tree_walker(node, CheckExpr, (void *) cxt);

	if (++cxt->depth > POLICY_MAX_DEPTH)
		RefuseTooDeep();

	switch (nodeTag(node))
	{
		case T_Var:
			CheckVar((Var *) node, cxt);
			break;
		case T_Const:
			CheckConst((Const *) node, cxt);
			break;
		case T_OpExpr:
		case T_DistinctExpr:
		case T_NullIfExpr:
			{
				OpExpr	   *op = (OpExpr *) node;

				set_opfuncid(op);
				CheckOperator(op->opno, op->opfuncid);
				break;
			}
		case T_ScalarArrayOpExpr:
			{
				ScalarArrayOpExpr *op = (ScalarArrayOpExpr *) node;

				set_sa_opfuncid(op);
				CheckOperator(op->opno, op->opfuncid);
				break;
			}
		case T_FuncExpr:
			{
				FuncExpr   *fe = (FuncExpr *) node;

				CheckFunction(fe->funcid);
				if (fe->funcretset)
					ereport(ERROR,
							(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
							 errmsg("dataset queries may not contain set-returning functions")));
				break;
			}
		case T_Aggref:
			{
				Aggref	   *agg = (Aggref *) node;

				CheckAggref(agg);
				/* the argument only; the rest is refused by CheckAggref */
				result = CheckExpr((Node *) agg->args, cxt);
				cxt->depth--;
				return result;
			}
		case T_CoerceViaIO:
			CheckIOCoercion((CoerceViaIO *) node);
			break;
		case T_RelabelType:
			if (!TypeAllowed(cxt->ds, ((RelabelType *) node)->resulttype))
				RefuseExpression(node, cxt);
			break;
		case T_MinMaxExpr:
			if (!TypeAllowed(cxt->ds, ((MinMaxExpr *) node)->minmaxtype))
				RefuseExpression(node, cxt);
			break;
		case T_CollateExpr:
			{
				Oid			collid = ((CollateExpr *) node)->collOid;

				if (collid >= FirstNormalObjectId)
					ereport(ERROR,
							(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
							 errmsg("collation \"%s\" is not allowed in a dataset query",
									get_collation_name(collid)),
							 errdetail("Only built-in collations may be used.")));
				break;
			}
		case T_ArrayCoerceExpr:
		case T_BoolExpr:
		case T_NullTest:
		case T_BooleanTest:
		case T_CaseExpr:
		case T_CaseWhen:
		case T_CaseTestExpr:
		case T_CoalesceExpr:
		case T_ArrayExpr:
		case T_NamedArgExpr:
		case T_TargetEntry:
			break;
		default:
			RefuseExpression(node, cxt);
	}

	result = expression_tree_walker(node, CheckExpr, (void *) cxt);
	cxt->depth--;
	return result;
}

/* A column: published, and a group key where grouped by. */
static void
CheckVar(Var *var, QueryContext *cxt)
{
	const SmpcDataset *ds = cxt->ds;
	char	   *attname;
	ListCell   *lc;

	if (var->varno != 1 || var->varlevelsup != 0)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("dataset queries may reference only dataset \"%s\"", ds->name)));
	if (var->varattno == 0)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("whole-row reference to dataset \"%s\" is not allowed", ds->name),
				 errdetail("Dataset queries may use only published columns.")));
	attname = get_attname(ds->relid, var->varattno, true);
	if (var->varattno < 0)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("system column \"%s\" is not allowed in a dataset query",
						attname ? attname : "?"),
				 errdetail("Dataset queries may use only published columns.")));
	foreach(lc, ds->columns)
	{
		SmpcDatasetColumn *col = lfirst(lc);

		if (col->attnum != var->varattno)
			continue;
		if (cxt->in_group_key && cxt->intersect)
		{
			if (!col->intersect)
				ereport(ERROR,
						(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
						 errmsg("column \"%s\" of dataset \"%s\" is not an intersection key",
								col->name, ds->name),
						 errdetail("Its publication does not allow private set intersection on it."),
						 errhint("The publisher can allow it with smpc.publish(..., intersect_keys => ..., replace => true).")));
			return;
		}
		if (cxt->in_group_key && col->group_policy == SMPC_GROUP_NONE)
			ereport(ERROR,
					(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
					 errmsg("column \"%s\" of dataset \"%s\" is not a group key",
							col->name, ds->name),
					 errdetail("Its publication does not allow grouping by it."),
					 errhint("The publisher can allow it with smpc.publish(..., group_keys => ..., replace => true).")));
		return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
			 errmsg("column \"%s\" of dataset \"%s\" is not published",
					attname ? attname : "?", ds->name),
			 errhint("Dataset \"%s\" publishes %s.", ds->name, ColumnList(ds))));
}

/*
 * A constant: of a built-in type or the type of a published column, and not
 * of an object identifier type (its input looked up the catalogs).
 */
static void
CheckConst(Const *con, QueryContext *cxt)
{
	if (!TypeAllowed(cxt->ds, con->consttype) || IsObjectIdType(con->consttype))
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("constant of type %s is not allowed in a dataset query",
						format_type_be(con->consttype)),
				 errdetail("Constants must be of a built-in type other than an object identifier type, or of the type of a published column.")));
}

/* "volatile", "stable", "not built-in" or NULL for an allowed function */
static const char *
VolatilityWord(Oid funcid)
{
	char		v;

	if (funcid >= FirstNormalObjectId)
		return "not built-in";
	v = func_volatile(funcid);
	if (v == PROVOLATILE_IMMUTABLE)
		return NULL;
	return v == PROVOLATILE_STABLE ? "stable" : "volatile";
}

static void
CheckFunction(Oid funcid)
{
	const char *why = VolatilityWord(funcid);

	if (why)
	{
		char	   *name = format_procedure(funcid);

		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("function %s is not allowed in a dataset query", name),
				 errdetail("Function %s is %s; " POLICY_DETAIL_BUILTIN ".", name, why)));
	}
}

static void
CheckOperator(Oid opno, Oid funcid)
{
	const char *why;

	if (opno >= FirstNormalObjectId)
		why = "not built-in";
	else
		why = VolatilityWord(funcid);
	if (why)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("operator %s is not allowed in a dataset query",
						format_operator(opno)),
				 errdetail("Its function %s is %s; " POLICY_DETAIL_BUILTIN ".",
						   format_procedure(funcid), why)));
}

/*
 * An aggregate: count(*), count(any), sum over int2/int4/int8/numeric/
 * float4/float8 or smpc_sum over float8[]/numeric[] (element-wise, vector.c),
 * without DISTINCT, ORDER BY or FILTER.
 */
static void
CheckAggref(Aggref *agg)
{
	switch (agg->aggfnoid)
	{
		case F_COUNT_:
		case F_COUNT_ANY:
		case F_SUM_INT2:
		case F_SUM_INT4:
		case F_SUM_INT8:
		case F_SUM_NUMERIC:
		case F_SUM_FLOAT4:
		case F_SUM_FLOAT8:
			break;
		default:
			if (smpc_is_vector_sum(agg->aggfnoid))
				break;
			ereport(ERROR,
					(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
					 errmsg("aggregate %s is not allowed in a dataset query",
							format_procedure(agg->aggfnoid)),
					 errdetail("Dataset queries may use only count(*), count(expression), sum over integer, numeric and floating-point values, and smpc_sum over double precision[] and numeric[]."),
					 errhint("Other statistics are computed from these by the querying node.")));
	}
	if (agg->aggdistinct)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("DISTINCT is not allowed in aggregates of a dataset query")));
	if (agg->aggorder)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("ORDER BY is not allowed in aggregates of a dataset query")));
	if (agg->aggfilter)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("FILTER is not allowed in aggregates of a dataset query"),
				 errhint("Move the condition to WHERE, or aggregate a CASE expression.")));
	if (agg->agglevelsup != 0 || agg->aggkind != AGGKIND_NORMAL ||
		agg->aggdirectargs != NIL || agg->aggvariadic)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("aggregate %s is not allowed in a dataset query",
						format_procedure(agg->aggfnoid))));
}

/*
 * A conversion through text: the output function of the source type and
 * the input function of the result type must both be built-in and
 * immutable.
 */
static void
CheckIOCoercion(CoerceViaIO *cio)
{
	Oid			source = exprType((Node *) cio->arg);
	Oid			outfunc;
	Oid			infunc;
	Oid			ioparam;
	bool		isvarlena;

	getTypeOutputInfo(source, &outfunc, &isvarlena);
	getTypeInputInfo(cio->resulttype, &infunc, &ioparam);
	if (source >= FirstNormalObjectId || cio->resulttype >= FirstNormalObjectId ||
		VolatilityWord(outfunc) != NULL || VolatilityWord(infunc) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("conversion from %s to %s is not allowed in a dataset query",
						format_type_be(source), format_type_be(cio->resulttype)),
				 errdetail("It converts through text with functions %s and %s; " POLICY_DETAIL_BUILTIN ".",
						   format_procedure(outfunc), format_procedure(infunc))));
}

/* A built-in type, or the type of a published column. */
static bool
TypeAllowed(const SmpcDataset *ds, Oid typid)
{
	ListCell   *lc;

	if (typid < FirstNormalObjectId)
		return true;
	foreach(lc, ds->columns)
		if (((SmpcDatasetColumn *) lfirst(lc))->typid == typid)
			return true;
	return false;
}

/* regclass, regproc and friends, or an array of one */
static bool
IsObjectIdType(Oid typid)
{
	Oid			elem = get_element_type(typid);

	if (OidIsValid(elem))
		typid = elem;
	switch (typid)
	{
		case REGPROCOID:
		case REGPROCEDUREOID:
		case REGOPEROID:
		case REGOPERATOROID:
		case REGCLASSOID:
		case REGTYPEOID:
		case REGCONFIGOID:
		case REGDICTIONARYOID:
		case REGNAMESPACEOID:
		case REGROLEOID:
#if PG_VERSION_NUM >= 130000
		case REGCOLLATIONOID:
#endif
			return true;
		default:
			return false;
	}
}

/* Whether a (raw) type name is that of an object identifier type. */
static bool
IsObjectIdTypeName(const char *name)
{
	static const char *const names[] = {
		"regproc", "regprocedure", "regoper", "regoperator", "regclass",
		"regtype", "regconfig", "regdictionary", "regnamespace", "regrole",
		"regcollation"
	};

	for (int i = 0; i < lengthof(names); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

/* The keyword or identifier at a location of sql, lower-cased. */
static char *
WordAt(const char *sql, int location)
{
	const char *p;
	const char *end;

	if (sql == NULL || location < 0 || location >= (int) strlen(sql))
		return NULL;
	p = sql + location;
	for (end = p; IS_IDENT_CONT(*end) && !IS_HIGHBIT_SET(*end); end++)
		;
	if (end == p)
		return NULL;
	return downcase_identifier(p, end - p, false, false);
}

/* Refuse an expression node that is not on the whitelist, naming it. */
static void
RefuseExpression(Node *node, QueryContext *cxt)
{
	const char *what;

	switch (nodeTag(node))
	{
		case T_SQLValueFunction:
			{
				char	   *word = WordAt(cxt->sql, exprLocation(node));

				ereport(ERROR,
						(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
						 errmsg("%s is not allowed in a dataset query",
								word ? word : "SQL value function"),
						 errdetail("Its value depends on the session; " POLICY_DETAIL_BUILTIN ".")));
			}
			break;
		case T_SubLink:
		case T_SubPlan:
		case T_AlternativeSubPlan:
			what = "subqueries";
			break;
		case T_WindowFunc:
			what = "window functions";
			break;
		case T_Param:
			what = "parameters";
			break;
		case T_GroupingFunc:
			what = "GROUPING()";
			break;
		case T_NextValueExpr:
			what = "sequence functions";
			break;
		case T_XmlExpr:
			what = "XML expressions";
			break;
		case T_RowExpr:
			what = "row constructors";
			break;
		case T_RowCompareExpr:
			what = "row comparisons";
			break;
		case T_FieldSelect:
		case T_FieldStore:
			what = "field selections";
			break;
		case T_SubscriptingRef:
			what = "subscripts";
			break;
		case T_CoerceToDomain:
		case T_CoerceToDomainValue:
			what = "domain coercions";
			break;
		case T_ConvertRowtypeExpr:
			what = "row type conversions";
			break;
		case T_RelabelType:
			what = psprintf("conversions to type %s",
							format_type_be(((RelabelType *) node)->resulttype));
			break;
		case T_MinMaxExpr:
			what = psprintf("GREATEST and LEAST over type %s",
							format_type_be(((MinMaxExpr *) node)->minmaxtype));
			break;
		default:
			what = psprintf("expressions of node type %d", (int) nodeTag(node));
			break;
	}
	ereport(ERROR,
			(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
			 errmsg("dataset queries may not contain %s", what)));
}

/*
 * smpc.check_query(dataset_name text, sql text) RETURNS text
 *		Dry run of the member-side policy for DBAs and tests: the SQL this
 *		node would run for the dataset query, or the refusal.  Executes
 *		nothing.
 */
Datum
smpc_check_query(PG_FUNCTION_ARGS)
{
	SmpcDataset *ds;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("dataset_name and sql must not be null")));
	ds = smpc_lookup_dataset(text_to_cstring(PG_GETARG_TEXT_PP(0)), false);
	PG_RETURN_TEXT_P(cstring_to_text(smpc_policy_check(ds,
													   text_to_cstring(PG_GETARG_TEXT_PP(1)),
													   NULL)));
}
