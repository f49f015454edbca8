/*
 * planner.c
 *		Planning joint aggregates: the FDW's upper-path pushdown at the
 *		GROUP_AGG stage, the check that WHERE conditions and aggregate
 *		arguments can be shipped to the members, and the deparser that turns
 *		them into the dataset SQL every party runs.
 *
 * An aggregate query over one federated table becomes one ForeignScan over
 * the grouped relation.  Its scan tuple holds the group keys and the
 * aggregates (fdw_scan_tlist); HAVING and expressions over the aggregates
 * are evaluated locally on top, as for postgres_fdw.  Every party runs
 *
 *		SELECT <group keys>, count(*), <count(x)|sum(x) ...>
 *		  FROM <dataset> WHERE <conditions> GROUP BY <group keys>
 *
 * When a query cannot be pushed down, the reason is kept on the base
 * relation, and the error raised when the plan would read raw rows names it.
 */
#include "postgres.h"

#include "access/transam.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "foreign/fdwapi.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/planmain.h"
#include "optimizer/tlist.h"
#include "catalog/namespace.h"
#include "encode.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"

#include "joint.h"
#include "smpc.h"

/* planner state of the grouped relation */
typedef struct UpperInfo
{
	Oid			relid;			/* the federated table */
	Index		rti;
	List	   *tlist;			/* fdw_scan_tlist */
	List	   *having;			/* local quals (HAVING) */
	List	   *quals;			/* WHERE, shipped */
	List	   *groupcols;		/* attnums (Integer) */
	List	   *values;			/* per value: list(kind, arg or NULL) */
	List	   *outputs;		/* per tlist entry: list(kind, a, b, argtype, restype) */
} UpperInfo;

static bool Refuse(SmpcRelInfo *info, char *reason, char *hint);
static int	AddValue(UpperInfo *u, int kind, Expr *arg);
static int	AddValueSpec(UpperInfo *u, int kind, Expr *arg, int spec);
static bool CheckAggref(SmpcRelInfo *info, UpperInfo *u, Aggref *agg, Index rti);
static bool AddStatistic(SmpcRelInfo *info, UpperInfo *u, const char *name, int stat,
						 Expr *y, Expr *x2, int *a, int *b, List **extra);
static bool AddAggregates(SmpcRelInfo *info, UpperInfo *u, Node *expr, Index rti,
						  const char *where);
static bool Shippable(Node *node, Index rti, char **why);

/* ------------------------------------------------------------- planning */

static bool
Refuse(SmpcRelInfo *info, char *reason, char *hint)
{
	if (info->refusal == NULL)
	{
		info->refusal = reason;
		info->refusal_hint = hint;
	}
	return false;
}

/*
 * How a value of this kind over arg travels (joint.h's SMPC_SPEC): counts
 * and integer sums exactly, numeric sums at the argument's declared scale
 * (else SMPC_NUMERIC_DEFAULT_SCALE), float sums in fixed point; a vector
 * sum as its elements would.
 */
static int
ValueSpec(int kind, Expr *arg)
{
	Oid			t;
	int32		typmod;

	if (kind == SMPC_VAL_COUNT || kind == SMPC_VAL_COUNT_STAR)
		return SMPC_SPEC(SMPC_VALUE_INT, 0);
	t = exprType((Node *) arg);
	if (kind == SMPC_VAL_VECTOR_SUM)
		t = get_element_type(t);
	switch (t)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
			return SMPC_SPEC(SMPC_VALUE_INT, 0);
		case NUMERICOID:
			typmod = exprTypmod((Node *) arg);
			return SMPC_SPEC(SMPC_VALUE_DECIMAL,
							 typmod >= (int32) VARHDRSZ
							 ? Min((typmod - VARHDRSZ) & 0xffff, SMPC_ENC_MAX_SCALE)
							 : SMPC_NUMERIC_DEFAULT_SCALE);
	}
	return SMPC_SPEC(SMPC_VALUE_FLOAT, SMPC_FLOAT_SCALE);
}

/* Index of the value (kind, arg) encoded as its type says, added if new. */
static int
AddValue(UpperInfo *u, int kind, Expr *arg)
{
	return AddValueSpec(u, kind, arg, ValueSpec(kind, arg));
}

/* Index of the value (kind, arg) with encoding spec (joint.h), added if new. */
static int
AddValueSpec(UpperInfo *u, int kind, Expr *arg, int spec)
{
	ListCell   *lc;

	foreach(lc, u->values)
	{
		List	   *v = lfirst(lc);

		if (intVal(linitial(v)) == kind && equal(lsecond(v), arg) &&
			intVal(lthird(v)) == spec)
			return foreach_current_index(lc);
	}
	u->values = lappend(u->values, list_make3(makeInteger(kind), arg, makeInteger(spec)));
	return list_length(u->values) - 1;
}

/* CAST(arg AS the result type of cast function funcid) */
static Expr *
CastExpr(Expr *arg, Oid funcid, Oid restype)
{
	return (Expr *) makeFuncExpr(funcid, restype, list_make1(arg), InvalidOid,
								 InvalidOid, COERCE_EXPLICIT_CAST);
}

/* a * b with the built-in operator of type t */
static Expr *
TimesExpr(Expr *a, Expr *b, Oid t)
{
	Oid			opno = OpernameGetOprid(list_make2(makeString("pg_catalog"), makeString("*")), t, t);
	OpExpr	   *op;

	if (!OidIsValid(opno))
		elog(ERROR, "operator * for type %s not found", format_type_be(t));
	op = (OpExpr *) make_opclause(opno, t, false, a, b, InvalidOid, InvalidOid);
	set_opfuncid(op);
	return (Expr *) op;
}

/* CASE WHEN other IS NOT NULL THEN arg END */
static Expr *
WhenNotNull(Expr *other, Expr *arg)
{
	NullTest   *nt = makeNode(NullTest);
	CaseWhen   *w = makeNode(CaseWhen);
	CaseExpr   *c = makeNode(CaseExpr);

	nt->arg = other;
	nt->nulltesttype = IS_NOT_NULL;
	nt->argisrow = false;
	nt->location = -1;
	w->expr = (Expr *) nt;
	w->result = arg;
	w->location = -1;
	c->casetype = exprType((Node *) arg);
	c->casecollid = InvalidOid;
	c->arg = NULL;
	c->args = list_make1(w);
	c->defresult = (Expr *) makeNullConst(c->casetype, -1, InvalidOid);
	c->location = -1;
	return (Expr *) c;
}

/* x as numeric: exact types as they are, floats through double precision */
static Expr *
AsNumeric(Expr *x)
{
	switch (exprType((Node *) x))
	{
		case NUMERICOID:
			return x;
		case FLOAT4OID:
			x = CastExpr(x, F_FLOAT8_FLOAT4, FLOAT8OID);
			/* FALLTHROUGH */
		case FLOAT8OID:
			return CastExpr(x, F_NUMERIC_FLOAT8, NUMERICOID);
		case INT8OID:
			return CastExpr(x, F_NUMERIC_INT8, NUMERICOID);
	}
	elog(ERROR, "unexpected type %s", format_type_be(exprType((Node *) x)));
	return NULL;
}

/* smpc_* names of the statistics, and the statistic each computes */
static const struct
{
	const char *name;
	int			stat;
}			StatNames[] = {
	{"smpc_var_samp", SMPC_STAT_VAR_SAMP},
	{"smpc_variance", SMPC_STAT_VAR_SAMP},
	{"smpc_var_pop", SMPC_STAT_VAR_POP},
	{"smpc_stddev_samp", SMPC_STAT_STDDEV_SAMP},
	{"smpc_stddev", SMPC_STAT_STDDEV_SAMP},
	{"smpc_stddev_pop", SMPC_STAT_STDDEV_POP},
	{"smpc_covar_samp", SMPC_STAT_COVAR_SAMP},
	{"smpc_covar_pop", SMPC_STAT_COVAR_POP},
	{"smpc_corr", SMPC_STAT_CORR},
	{"smpc_regr_slope", SMPC_STAT_REGR_SLOPE},
	{"smpc_regr_intercept", SMPC_STAT_REGR_INTERCEPT},
	{"smpc_regr_r2", SMPC_STAT_REGR_R2},
	{"smpc_regr_count", SMPC_STAT_REGR_COUNT},
	{"smpc_regr_sxx", SMPC_STAT_REGR_SXX},
	{"smpc_regr_syy", SMPC_STAT_REGR_SYY},
	{"smpc_regr_sxy", SMPC_STAT_REGR_SXY},
	{"smpc_regr_avgx", SMPC_STAT_REGR_AVGX},
	{"smpc_regr_avgy", SMPC_STAT_REGR_AVGY},
};

/* The statistic a built-in aggregate computes, or 0. */
static int
BuiltinStatistic(Oid aggfnoid)
{
	switch (aggfnoid)
	{
		case F_VAR_SAMP_INT2:
		case F_VAR_SAMP_INT4:
		case F_VAR_SAMP_INT8:
		case F_VAR_SAMP_NUMERIC:
		case F_VAR_SAMP_FLOAT4:
		case F_VAR_SAMP_FLOAT8:
		case F_VARIANCE_INT2:
		case F_VARIANCE_INT4:
		case F_VARIANCE_INT8:
		case F_VARIANCE_NUMERIC:
		case F_VARIANCE_FLOAT4:
		case F_VARIANCE_FLOAT8:
			return SMPC_STAT_VAR_SAMP;
		case F_VAR_POP_INT2:
		case F_VAR_POP_INT4:
		case F_VAR_POP_INT8:
		case F_VAR_POP_NUMERIC:
		case F_VAR_POP_FLOAT4:
		case F_VAR_POP_FLOAT8:
			return SMPC_STAT_VAR_POP;
		case F_STDDEV_SAMP_INT2:
		case F_STDDEV_SAMP_INT4:
		case F_STDDEV_SAMP_INT8:
		case F_STDDEV_SAMP_NUMERIC:
		case F_STDDEV_SAMP_FLOAT4:
		case F_STDDEV_SAMP_FLOAT8:
		case F_STDDEV_INT2:
		case F_STDDEV_INT4:
		case F_STDDEV_INT8:
		case F_STDDEV_NUMERIC:
		case F_STDDEV_FLOAT4:
		case F_STDDEV_FLOAT8:
			return SMPC_STAT_STDDEV_SAMP;
		case F_STDDEV_POP_INT2:
		case F_STDDEV_POP_INT4:
		case F_STDDEV_POP_INT8:
		case F_STDDEV_POP_NUMERIC:
		case F_STDDEV_POP_FLOAT4:
		case F_STDDEV_POP_FLOAT8:
			return SMPC_STAT_STDDEV_POP;
		case F_COVAR_SAMP:
			return SMPC_STAT_COVAR_SAMP;
		case F_COVAR_POP:
			return SMPC_STAT_COVAR_POP;
		case F_CORR:
			return SMPC_STAT_CORR;
		case F_REGR_SLOPE:
			return SMPC_STAT_REGR_SLOPE;
		case F_REGR_INTERCEPT:
			return SMPC_STAT_REGR_INTERCEPT;
		case F_REGR_R2:
			return SMPC_STAT_REGR_R2;
		case F_REGR_COUNT:
			return SMPC_STAT_REGR_COUNT;
		case F_REGR_SXX:
			return SMPC_STAT_REGR_SXX;
		case F_REGR_SYY:
			return SMPC_STAT_REGR_SYY;
		case F_REGR_SXY:
			return SMPC_STAT_REGR_SXY;
		case F_REGR_AVGX:
			return SMPC_STAT_REGR_AVGX;
		case F_REGR_AVGY:
			return SMPC_STAT_REGR_AVGY;
	}
	return 0;
}

/* The joint kind of an aggregate function, or -1; *stat for SMPC_OUT_STAT. */
static int
AggregateKind(Oid aggfnoid, int *stat)
{
	*stat = BuiltinStatistic(aggfnoid);
	if (*stat != 0)
		return SMPC_OUT_STAT;
	switch (aggfnoid)
	{
		case F_COUNT_:
		case F_COUNT_ANY:
			return SMPC_OUT_COUNT;
		case F_SUM_INT2:
		case F_SUM_INT4:
		case F_SUM_INT8:
		case F_SUM_NUMERIC:
		case F_SUM_FLOAT4:
		case F_SUM_FLOAT8:
			return SMPC_OUT_SUM;
		case F_AVG_INT2:
		case F_AVG_INT4:
		case F_AVG_INT8:
		case F_AVG_NUMERIC:
		case F_AVG_FLOAT4:
		case F_AVG_FLOAT8:
			return SMPC_OUT_AVG;
	}
	if (get_func_namespace(aggfnoid) == PG_CATALOG_NAMESPACE)
	{
		char	   *name = get_func_name(aggfnoid);

		if (strcmp(name, "smpc_count") == 0)
			return SMPC_OUT_COUNT;
		if (strcmp(name, "smpc_sum") == 0)
			return SMPC_OUT_SUM;
		if (strcmp(name, "smpc_avg") == 0)
			return SMPC_OUT_AVG;
		if (strcmp(name, "smpc_intersect_count") == 0)
			return SMPC_OUT_INTERSECT;
		for (int i = 0; i < lengthof(StatNames); i++)
			if (strcmp(name, StatNames[i].name) == 0)
			{
				*stat = StatNames[i].stat;
				return SMPC_OUT_STAT;
			}
	}
	return -1;
}

/* Statistics of two variables (Y, X). */
static bool
TwoVariables(int stat)
{
	return stat >= SMPC_STAT_COVAR_SAMP;
}

static bool
CheckAggref(SmpcRelInfo *info, UpperInfo *u, Aggref *agg, Index rti)
{
	char	   *name = get_func_name(agg->aggfnoid);
	int			stat;
	int			kind = AggregateKind(agg->aggfnoid, &stat);
	int			nargs = kind == SMPC_OUT_STAT && TwoVariables(stat) ? 2 : 1;
	Expr	   *arg = NULL;
	Expr	   *arg2 = NULL;
	Oid			argtype = InvalidOid;
	int			a = 0,
				b = 0;
	List	   *extra = NIL;
	char	   *why;

	if (kind < 0)
		return Refuse(info, psprintf("aggregate %s is not supported over a federated table", name),
					  pstrdup("Joint queries support count, sum, avg, the variance, standard deviation, covariance, correlation and regression aggregates, their smpc_ twins, and smpc_intersect_count."));
	if (agg->aggdistinct)
		return Refuse(info, psprintf("DISTINCT in aggregate %s is not supported over a federated table", name),
					  pstrdup("Joint aggregates count and sum every row; remove DISTINCT."));
	if (agg->aggorder)
		return Refuse(info, psprintf("ORDER BY in aggregate %s is not supported over a federated table", name),
					  pstrdup("Joint aggregates do not depend on the order of rows; remove ORDER BY from the aggregate."));
	if (agg->aggfilter)
		return Refuse(info, psprintf("FILTER in aggregate %s is not supported over a federated table", name),
					  pstrdup("Move the condition to WHERE, or aggregate a CASE expression, e.g. sum(CASE WHEN cond THEN x END)."));
	if (agg->aggkind != AGGKIND_NORMAL || agg->agglevelsup != 0 ||
		agg->aggsplit != AGGSPLIT_SIMPLE || agg->aggvariadic)
		return Refuse(info, psprintf("this use of aggregate %s is not supported over a federated table", name), NULL);
	if (!agg->aggstar)
	{
		if (list_length(agg->args) != nargs)
			return Refuse(info, psprintf("aggregate %s must have exactly %s", name,
										 nargs == 1 ? "one argument" : "two arguments"), NULL);
		arg = linitial_node(TargetEntry, agg->args)->expr;
		if (nargs == 2)
			arg2 = lsecond_node(TargetEntry, agg->args)->expr;
		argtype = exprType((Node *) arg);
		if (!Shippable((Node *) arg, rti, &why) ||
			(arg2 && !Shippable((Node *) arg2, rti, &why)))
			return Refuse(info, psprintf("the argument of %s cannot be computed by the members: %s", name, why),
						  pstrdup("Aggregate published columns, or expressions of built-in immutable functions over them."));
	}
	else if (kind != SMPC_OUT_COUNT)
		return Refuse(info, psprintf("%s(*) is not supported", name), NULL);

	switch (kind)
	{
		case SMPC_OUT_INTERSECT:
			if (!IsA(arg, Var))
				return Refuse(info, pstrdup("the argument of smpc_intersect_count must be a column of the federated table"),
							  pstrdup("Intersect on a column published as an intersection key, e.g. smpc_intersect_count(customer_id)."));
			a = ((Var *) arg)->varattno;
			break;
		case SMPC_OUT_COUNT:
			if (arg == NULL)
				kind = SMPC_OUT_COUNT_STAR;
			else
				a = AddValue(u, SMPC_VAL_COUNT, arg);
			break;
		case SMPC_OUT_SUM:
		case SMPC_OUT_AVG:
			if (kind == SMPC_OUT_SUM && (argtype == FLOAT8ARRAYOID || argtype == NUMERICARRAYOID))
			{
				/* smpc_sum over an array: element-wise (plain sum has no array form) */
				if (!IsA(arg, Var))
					return Refuse(info, pstrdup("smpc_sum over an array takes a column of the federated table, not an expression"),
								  pstrdup("The arrays' length is revealed; sum a published array column, e.g. smpc_sum(gradient)."));
				kind = SMPC_OUT_VECTOR;
				a = AddValue(u, SMPC_VAL_VECTOR_SUM, arg);
				b = AddValue(u, SMPC_VAL_COUNT, arg);
				break;
			}
			if (argtype != INT2OID && argtype != INT4OID && argtype != INT8OID &&
				argtype != NUMERICOID && argtype != FLOAT4OID && argtype != FLOAT8OID)
				return Refuse(info, psprintf("%s over type %s is not supported", name, format_type_be(argtype)),
							  pstrdup("Joint sums and averages take smallint, integer, bigint, numeric, real or double precision; smpc_sum also double precision[] and numeric[]."));
			a = AddValue(u, SMPC_VAL_SUM, arg);
			b = AddValue(u, SMPC_VAL_COUNT, arg);
			break;
		case SMPC_OUT_STAT:
			if (!AddStatistic(info, u, name, stat, arg, arg2, &a, &b, &extra))
				return false;
			break;
	}
	u->outputs = lappend(u->outputs,
						 list_concat(list_make5(makeInteger(kind), makeInteger(a), makeInteger(b),
												makeInteger((int) argtype), makeInteger((int) agg->aggtype)),
									 extra));
	u->tlist = lappend(u->tlist, makeTargetEntry((Expr *) agg, list_length(u->tlist) + 1,
												  NULL, false));
	return true;
}

/*
 * The values of a statistic's sufficient statistics: the count and sum of
 * x, and the sums of squares and products it needs.  Exact types keep
 * their exactness (squares of integers as bigint or numeric, of numeric(p,s)
 * at scale 2s, of numeric without a scale at 24 decimals in two field
 * elements).  Floats are converted to numeric by the members
 * (PostgreSQL's float8::numeric, 15 significant digits), so that squares
 * and products are exact up to 30 decimals; their sums travel as integer
 * part and fraction (SMPC_VALUE_WIDE).  Two-variable statistics use only
 * the rows where both Y and X are non-null, as PostgreSQL does, and only
 * the sums the statistic needs.
 */
static bool
AddStatistic(SmpcRelInfo *info, UpperInfo *u, const char *name, int stat,
			 Expr *y, Expr *x2, int *a, int *b, List **extra)
{
	int			sxx = -1,
				sy = -1,
				syy = -1,
				sxy = -1;
	int			wide = SMPC_SPEC(SMPC_VALUE_WIDE, SMPC_ENC_MAX_SCALE);

	if (!TwoVariables(stat))
	{
		Expr	   *x = y;
		Oid			t = exprType((Node *) x);
		int32		typmod = exprTypmod((Node *) x);

		*a = AddValue(u, SMPC_VAL_COUNT, x);
		switch (t)
		{
			case INT2OID:
			case INT4OID:
				{
					Expr	   *x8 = CastExpr(x, t == INT2OID ? F_INT8_INT2 : F_INT8_INT4, INT8OID);

					*b = AddValue(u, SMPC_VAL_SUM, x);
					sxx = AddValueSpec(u, SMPC_VAL_SUM, TimesExpr(x8, copyObject(x8), INT8OID),
									   SMPC_SPEC(SMPC_VALUE_INT, 0));
					break;
				}
			case INT8OID:
				{
					Expr	   *xn = AsNumeric(x);

					*b = AddValue(u, SMPC_VAL_SUM, x);
					sxx = AddValueSpec(u, SMPC_VAL_SUM, TimesExpr(xn, copyObject(xn), NUMERICOID),
									   SMPC_SPEC(SMPC_VALUE_INT, 0));
					break;
				}
			case NUMERICOID:
				*b = AddValue(u, SMPC_VAL_SUM, x);
				if (typmod >= (int32) VARHDRSZ)
				{
					int			scale = (typmod - VARHDRSZ) & 0xffff;

					if (2 * scale > SMPC_ENC_MAX_SCALE)
						return Refuse(info, psprintf("%s over numeric with scale %d is not supported", name, scale),
									  psprintf("Squares need twice the scale, at most %d decimals; cast the argument to a numeric of scale at most %d.",
											   SMPC_ENC_MAX_SCALE, SMPC_ENC_MAX_SCALE / 2));
					sxx = AddValueSpec(u, SMPC_VAL_SUM, TimesExpr(x, copyObject(x), NUMERICOID),
									   SMPC_SPEC(SMPC_VALUE_DECIMAL, 2 * scale));
				}
				else
				{
					/*
					 * sum(x) has at most 12 decimals (as for sum), its
					 * squares 24: the statistic is computed at least at
					 * PostgreSQL's scale, which depends on the largest
					 * scale among the values (not shared).
					 */
					sxx = AddValueSpec(u, SMPC_VAL_SUM, TimesExpr(x, copyObject(x), NUMERICOID),
									   SMPC_SPEC(SMPC_VALUE_WIDE, 2 * SMPC_NUMERIC_DEFAULT_SCALE));
				}
				break;
			case FLOAT4OID:
			case FLOAT8OID:
				{
					Expr	   *xn = AsNumeric(x);

					*b = AddValueSpec(u, SMPC_VAL_SUM, xn, wide);
					sxx = AddValueSpec(u, SMPC_VAL_SUM, TimesExpr(xn, copyObject(xn), NUMERICOID),
									   wide);
					break;
				}
			default:
				return Refuse(info, psprintf("%s over type %s is not supported", name, format_type_be(t)),
							  pstrdup("Joint variances and standard deviations take smallint, integer, bigint, numeric, real or double precision."));
		}
	}
	else
	{
		/* (Y, X): PostgreSQL's order; the rows where both are non-null */
		Expr	   *x = x2;
		Expr	   *xn;
		Expr	   *yn;
		bool		need_x = stat != SMPC_STAT_REGR_COUNT && stat != SMPC_STAT_REGR_AVGY &&
			stat != SMPC_STAT_REGR_SYY;
		bool		need_y = stat != SMPC_STAT_REGR_COUNT && stat != SMPC_STAT_REGR_AVGX &&
			stat != SMPC_STAT_REGR_SXX;
		bool		need_xx = stat == SMPC_STAT_CORR || stat == SMPC_STAT_REGR_SLOPE ||
			stat == SMPC_STAT_REGR_INTERCEPT || stat == SMPC_STAT_REGR_R2 ||
			stat == SMPC_STAT_REGR_SXX;
		bool		need_yy = stat == SMPC_STAT_CORR || stat == SMPC_STAT_REGR_R2 ||
			stat == SMPC_STAT_REGR_SYY;
		bool		need_xy = stat == SMPC_STAT_COVAR_SAMP || stat == SMPC_STAT_COVAR_POP ||
			stat == SMPC_STAT_CORR || stat == SMPC_STAT_REGR_SLOPE ||
			stat == SMPC_STAT_REGR_INTERCEPT || stat == SMPC_STAT_REGR_R2 ||
			stat == SMPC_STAT_REGR_SXY;

		if (exprType((Node *) x) != FLOAT8OID || exprType((Node *) y) != FLOAT8OID)
			return Refuse(info, psprintf("%s over types %s and %s is not supported", name,
										 format_type_be(exprType((Node *) y)),
										 format_type_be(exprType((Node *) x))),
						  pstrdup("Covariance, correlation and regression take double precision arguments."));
		xn = WhenNotNull(y, AsNumeric(x));
		yn = WhenNotNull(x, AsNumeric(y));
		*a = AddValue(u, SMPC_VAL_COUNT, xn);
		*b = need_x ? AddValueSpec(u, SMPC_VAL_SUM, xn, wide) : -1;
		if (need_y)
			sy = AddValueSpec(u, SMPC_VAL_SUM, yn, wide);
		if (need_xx)
			sxx = AddValueSpec(u, SMPC_VAL_SUM, TimesExpr(xn, copyObject(xn), NUMERICOID), wide);
		if (need_yy)
			syy = AddValueSpec(u, SMPC_VAL_SUM, TimesExpr(yn, copyObject(yn), NUMERICOID), wide);
		if (need_xy)
			sxy = AddValueSpec(u, SMPC_VAL_SUM, TimesExpr(xn, copyObject(yn), NUMERICOID), wide);
	}
	*extra = list_make5(makeInteger(stat), makeInteger(sxx), makeInteger(sy),
						makeInteger(syy), makeInteger(sxy));
	return true;
}

/* Add the aggregates of expr to the scan tlist; its bare columns must be group keys. */
static bool
AddAggregates(SmpcRelInfo *info, UpperInfo *u, Node *expr, Index rti, const char *where)
{
	List	   *items = pull_var_clause(expr, PVC_INCLUDE_AGGREGATES | PVC_RECURSE_PLACEHOLDERS);
	ListCell   *lc;

	foreach(lc, items)
	{
		Node	   *item = lfirst(lc);

		if (IsA(item, Aggref))
		{
			if (tlist_member((Expr *) item, u->tlist))
				continue;
			if (!CheckAggref(info, u, (Aggref *) item, rti))
				return false;
		}
		else if (!tlist_member((Expr *) item, u->tlist))
			return Refuse(info, psprintf("%s uses a column that is neither grouped by nor aggregated", where), NULL);
	}
	return true;
}

/*
 * smpc_get_upper_paths
 *		GetForeignUpperPaths: a joint aggregate path for the grouped relation
 *		over one federated table, or the reason why not (on the base rel).
 */
void
smpc_get_upper_paths(PlannerInfo *root, UpperRelationKind stage,
					 RelOptInfo *input_rel, RelOptInfo *output_rel, void *extra)
{
	GroupPathExtraData *gx = (GroupPathExtraData *) extra;
	Query	   *parse = root->parse;
	SmpcRelInfo *info;
	UpperInfo  *u;
	PathTarget *target;
	Index		rti;
	ListCell   *lc;
	Path	   *path;

	if (stage != UPPERREL_GROUP_AGG || output_rel->fdw_private != NULL)
		return;
	if (input_rel->reloptkind != RELOPT_BASEREL || input_rel->fdw_private == NULL)
		return;
	info = (SmpcRelInfo *) input_rel->fdw_private;
	rti = input_rel->relid;

	if (gx->patype != PARTITIONWISE_AGGREGATE_NONE)
	{
		Refuse(info, pstrdup("partitionwise aggregation over a federated table is not supported"), NULL);
		return;
	}
	if (parse->groupingSets)
	{
		Refuse(info, pstrdup("GROUPING SETS, ROLLUP and CUBE are not supported over a federated table"),
			   pstrdup("Run one joint query per grouping and combine them with UNION ALL."));
		return;
	}

	u = palloc0(sizeof(UpperInfo));
	u->relid = planner_rt_fetch(rti, root)->relid;
	u->rti = rti;
	(void) AddValue(u, SMPC_VAL_COUNT_STAR, NULL);	/* always value 0 */

	/* the WHERE conditions: every one is shipped, or nothing is */
	foreach(lc, input_rel->baserestrictinfo)
	{
		RestrictInfo *ri = lfirst_node(RestrictInfo, lc);
		char	   *why;

		if (!Shippable((Node *) ri->clause, rti, &why))
		{
			Refuse(info, psprintf("a WHERE condition cannot be evaluated by the members: %s", why),
				   pstrdup("Members evaluate conditions on published columns with built-in immutable operators and functions, constants and parameters."));
			return;
		}
		u->quals = lappend(u->quals, ri->clause);
	}

	/* group keys first: plain columns */
	target = root->upper_targets[UPPERREL_GROUP_AGG];
	foreach(lc, target->exprs)
	{
		Expr	   *expr = lfirst(lc);
		Index		sgref = get_pathtarget_sortgroupref(target, foreach_current_index(lc));

		if (sgref == 0 || get_sortgroupref_clause_noerr(sgref, parse->groupClause) == NULL)
			continue;
		if (!IsA(expr, Var) || ((Var *) expr)->varno != rti ||
			((Var *) expr)->varattno <= 0 || ((Var *) expr)->varlevelsup != 0)
		{
			Refuse(info, pstrdup("GROUP BY expressions are not supported over a federated table"),
				   pstrdup("Group by published group-key columns."));
			return;
		}
		if (tlist_member(expr, u->tlist))
			continue;
		u->groupcols = lappend(u->groupcols, makeInteger(((Var *) expr)->varattno));
		u->outputs = lappend(u->outputs,
							 list_make5(makeInteger(SMPC_OUT_KEY),
										makeInteger(list_length(u->groupcols) - 1),
										makeInteger(0), makeInteger((int) exprType((Node *) expr)),
										makeInteger((int) exprType((Node *) expr))));
		u->tlist = lappend(u->tlist, makeTargetEntry(expr, list_length(u->tlist) + 1,
													  NULL, false));
	}
	if (list_length(u->groupcols) != list_length(parse->groupClause))
	{
		Refuse(info, pstrdup("GROUP BY expressions are not supported over a federated table"),
			   pstrdup("Group by published group-key columns."));
		return;
	}

	/* then the aggregates of the output and of HAVING */
	foreach(lc, target->exprs)
	{
		Expr	   *expr = lfirst(lc);
		Index		sgref = get_pathtarget_sortgroupref(target, foreach_current_index(lc));

		if (sgref != 0 && get_sortgroupref_clause_noerr(sgref, parse->groupClause) != NULL)
			continue;
		if (!AddAggregates(info, u, (Node *) expr, rti, "the select list"))
			return;
	}
	if (gx->havingQual)
	{
		if (!AddAggregates(info, u, gx->havingQual, rti, "HAVING"))
			return;
		u->having = (List *) gx->havingQual;
	}
	foreach(lc, u->outputs)
	{
		if (intVal(linitial((List *) lfirst(lc))) != SMPC_OUT_INTERSECT)
			continue;
		if (u->groupcols != NIL)
		{
			Refuse(info, pstrdup("smpc_intersect_count cannot be grouped"),
				   pstrdup("Run one intersection per group, with the group's condition in WHERE."));
			return;
		}
		if (list_length(u->outputs) != 1 || u->having != NIL)
		{
			Refuse(info, pstrdup("smpc_intersect_count cannot be combined with other aggregates or HAVING in one query"),
				   pstrdup("Compute the intersection count in a query of its own."));
			return;
		}
	}
	if (list_length(u->values) > SMPC_MAX_VALUES)
	{
		Refuse(info, psprintf("the query needs %d joint values, more than %d",
							  list_length(u->values), SMPC_MAX_VALUES), NULL);
		return;
	}

	output_rel->fdw_private = u;
	path = (Path *) create_foreign_upper_path(root, output_rel, target,
											  Max(1, list_length(u->groupcols) ? 100 : 1),
#if PG_VERSION_NUM >= 180000
											  0,
#endif
											  10.0, 100.0, NIL, NULL,
#if PG_VERSION_NUM >= 170000
											  NIL,
#endif
											  NIL);
	add_path(output_rel, path);
}

/*
 * smpc_upper_plan
 *		GetForeignPlan for the grouped relation.
 */
ForeignScan *
smpc_upper_plan(PlannerInfo *root, RelOptInfo *foreignrel, List *tlist,
				Plan *outer_plan)
{
	UpperInfo  *u = (UpperInfo *) foreignrel->fdw_private;
	List	   *fdw_private;

	fdw_private = list_make5(makeInteger((int) u->relid), u->quals, u->groupcols,
							 u->values, u->outputs);
	return make_foreignscan(tlist, u->having, 0, NIL, fdw_private, u->tlist, NIL,
							outer_plan);
}

/*
 * smpc_refusal
 *		Why a query reading federated table relid cannot run as a joint
 *		aggregate, for the error raised instead of a row scan.
 */
void
smpc_raise_scan_refusal(PlannerInfo *root, RelOptInfo *baserel, Oid relid)
{
	SmpcRelInfo *info = (SmpcRelInfo *) baserel->fdw_private;
	Query	   *parse = root->parse;
	char	   *relname = get_rel_name(relid);

	if (info && info->refusal)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s", info->refusal),
				 errdetail("Federated table \"%s\" can only be read through joint aggregates.", relname),
				 info->refusal_hint ? errhint("%s", info->refusal_hint) : 0));
	if ((parse->hasAggs || parse->groupClause) && bms_num_members(root->all_baserels) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("federated table \"%s\" cannot be joined with other relations", relname),
				 errdetail("A joint aggregate reads one federated table on its own."),
				 errhint("Aggregate the federated table in a subquery or CTE, then join its result.")));
	if (parse->hasAggs || parse->groupClause)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("this query shape over federated table \"%s\" is not supported", relname),
				 errhint("Use count, sum or avg (or smpc_count, smpc_sum, smpc_avg) with GROUP BY on group-key columns.")));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("rows of federated table \"%s\" cannot be read", relname),
			 errdetail("A federated table's rows stay on the members; only joint aggregates over it are computed."),
			 errhint("Aggregate it, for example SELECT smpc_count(*) FROM %s.",
					 quote_identifier(relname))));
}

/* ---------------------------------------------------------- shippability */

/* Whether a type is built in (its OID below FirstNormalObjectId). */
static inline bool
BuiltinType(Oid typid)
{
	return typid < FirstNormalObjectId;
}

static bool
BuiltinImmutableFunction(Oid funcid, char **why)
{
	if (funcid >= FirstNormalObjectId)
	{
		*why = psprintf("function %s is not built in", format_procedure(funcid));
		return false;
	}
	if (func_volatile(funcid) != PROVOLATILE_IMMUTABLE)
	{
		*why = psprintf("function %s is not immutable", format_procedure(funcid));
		return false;
	}
	return true;
}

static bool
BuiltinImmutableOperator(Oid opno, Oid opfuncid, char **why)
{
	if (opno >= FirstNormalObjectId)
	{
		*why = psprintf("operator %s is not built in", format_operator(opno));
		return false;
	}
	return BuiltinImmutableFunction(opfuncid, why);
}

typedef struct ShipContext
{
	Index		rti;
	char	   *why;
} ShipContext;

static bool
ShipWalker(Node *node, ShipContext *cxt)
{
	if (node == NULL)
		return false;
	switch (nodeTag(node))
	{
		case T_Var:
			{
				Var		   *v = (Var *) node;

				if (v->varno != cxt->rti || v->varlevelsup != 0 || v->varattno <= 0)
				{
					cxt->why = pstrdup("it refers to something other than a column of the federated table");
					return true;
				}
				return false;
			}
		case T_Const:
			if (!BuiltinType(((Const *) node)->consttype))
			{
				cxt->why = psprintf("a constant of type %s is not built in",
									format_type_be(((Const *) node)->consttype));
				return true;
			}
			return false;
		case T_Param:
			if (((Param *) node)->paramkind != PARAM_EXTERN ||
				!BuiltinType(((Param *) node)->paramtype))
			{
				cxt->why = pstrdup("it uses a value computed by another part of the query");
				return true;
			}
			return false;
		case T_FuncExpr:
			if (((FuncExpr *) node)->funcretset ||
				!BuiltinImmutableFunction(((FuncExpr *) node)->funcid, &cxt->why))
			{
				if (cxt->why == NULL)
					cxt->why = pstrdup("set-returning functions are not allowed");
				return true;
			}
			break;
		case T_OpExpr:
		case T_DistinctExpr:
		case T_NullIfExpr:
			set_opfuncid((OpExpr *) node);
			if (!BuiltinImmutableOperator(((OpExpr *) node)->opno,
										  ((OpExpr *) node)->opfuncid, &cxt->why))
				return true;
			break;
		case T_ScalarArrayOpExpr:
			set_sa_opfuncid((ScalarArrayOpExpr *) node);
			if (!BuiltinImmutableOperator(((ScalarArrayOpExpr *) node)->opno,
										  ((ScalarArrayOpExpr *) node)->opfuncid, &cxt->why))
				return true;
			break;
		case T_RelabelType:
			if (!BuiltinType(((RelabelType *) node)->resulttype))
			{
				cxt->why = pstrdup("a cast to a type that is not built in");
				return true;
			}
			break;
		case T_CoerceViaIO:
			if (!BuiltinType(((CoerceViaIO *) node)->resulttype) ||
				!BuiltinType(exprType((Node *) ((CoerceViaIO *) node)->arg)))
			{
				cxt->why = pstrdup("a cast to a type that is not built in");
				return true;
			}
			break;
		case T_ArrayExpr:
			if (!BuiltinType(((ArrayExpr *) node)->array_typeid))
			{
				cxt->why = pstrdup("an array of a type that is not built in");
				return true;
			}
			break;
		case T_BoolExpr:
		case T_NullTest:
		case T_BooleanTest:
		case T_List:
			break;
		case T_CaseExpr:
			if (((CaseExpr *) node)->arg != NULL)
			{
				cxt->why = pstrdup("the simple form CASE x WHEN ... is not supported; write CASE WHEN x = ... instead");
				return true;
			}
			if (!BuiltinType(((CaseExpr *) node)->casetype))
			{
				cxt->why = pstrdup("a CASE expression of a type that is not built in");
				return true;
			}
			break;
		case T_CaseWhen:
			break;
		case T_CoalesceExpr:
			cxt->why = pstrdup("COALESCE is not supported");
			return true;
		case T_SubPlan:
		case T_AlternativeSubPlan:
		case T_SubLink:
			cxt->why = pstrdup("subqueries are not supported");
			return true;
		case T_MinMaxExpr:
			cxt->why = pstrdup("GREATEST and LEAST are not supported");
			return true;
		default:
			cxt->why = pstrdup("an expression of a kind members do not evaluate");
			return true;
	}
	return expression_tree_walker(node, ShipWalker, (void *) cxt);
}

/* Whether members can evaluate node; *why says what they cannot. */
static bool
Shippable(Node *node, Index rti, char **why)
{
	ShipContext cxt = {rti, NULL};

	if (ShipWalker(node, &cxt))
	{
		*why = cxt.why ? cxt.why : pstrdup("unsupported expression");
		return false;
	}
	*why = NULL;
	return true;
}

/* -------------------------------------------------------------- deparse */

typedef struct DeparseContext
{
	StringInfo	buf;
	Oid			relid;
	SmpcParamValue param_value;	/* NULL: print parameters as $n */
	void	   *param_arg;
} DeparseContext;

static void DeparseExpr(Node *node, DeparseContext *cxt);

static void
DeparseConstValue(Oid type, int32 typmod, Datum value, bool isnull, StringInfo buf)
{
	Oid			typoutput;
	bool		isvarlena;

	if (isnull)
	{
		appendStringInfo(buf, "NULL::%s", format_type_with_typemod(type, typmod));
		return;
	}
	getTypeOutputInfo(type, &typoutput, &isvarlena);
	appendStringInfo(buf, "%s::%s",
					 quote_literal_cstr(OidOutputFunctionCall(typoutput, value)),
					 format_type_with_typemod(type, typmod));
}

static void
DeparseArgs(List *args, DeparseContext *cxt)
{
	ListCell   *lc;

	foreach(lc, args)
	{
		if (foreach_current_index(lc) > 0)
			appendStringInfoString(cxt->buf, ", ");
		DeparseExpr(lfirst(lc), cxt);
	}
}

static void
DeparseOperator(Oid opno, List *args, DeparseContext *cxt)
{
	char	   *opname = get_opname(opno);

	appendStringInfoChar(cxt->buf, '(');
	if (list_length(args) == 2)
	{
		DeparseExpr(linitial(args), cxt);
		appendStringInfo(cxt->buf, " %s ", opname);
		DeparseExpr(lsecond(args), cxt);
	}
	else
	{
		appendStringInfo(cxt->buf, "%s ", opname);
		DeparseExpr(llast(args), cxt);
	}
	appendStringInfoChar(cxt->buf, ')');
}

static void
DeparseExpr(Node *node, DeparseContext *cxt)
{
	StringInfo	buf = cxt->buf;

	switch (nodeTag(node))
	{
		case T_Var:
			appendStringInfoString(buf,
								   quote_identifier(get_attname(cxt->relid, ((Var *) node)->varattno, false)));
			break;
		case T_Const:
			{
				Const	   *c = (Const *) node;

				DeparseConstValue(c->consttype, c->consttypmod, c->constvalue,
								  c->constisnull, buf);
				break;
			}
		case T_Param:
			{
				Param	   *p = (Param *) node;

				if (cxt->param_value)
				{
					bool		isnull;
					Datum		d = cxt->param_value(p, cxt->param_arg, &isnull);

					DeparseConstValue(p->paramtype, p->paramtypmod, d, isnull, buf);
				}
				else
					appendStringInfo(buf, "$%d", p->paramid);
				break;
			}
		case T_FuncExpr:
			{
				FuncExpr   *f = (FuncExpr *) node;

				if (f->funcformat == COERCE_EXPLICIT_CAST || f->funcformat == COERCE_IMPLICIT_CAST)
				{
					appendStringInfoString(buf, "CAST(");
					DeparseExpr(linitial(f->args), cxt);
					appendStringInfo(buf, " AS %s)",
									 format_type_with_typemod(f->funcresulttype,
															  exprTypmod(node)));
				}
				else
				{
					appendStringInfo(buf, "%s(", quote_identifier(get_func_name(f->funcid)));
					DeparseArgs(f->args, cxt);
					appendStringInfoChar(buf, ')');
				}
				break;
			}
		case T_OpExpr:
			DeparseOperator(((OpExpr *) node)->opno, ((OpExpr *) node)->args, cxt);
			break;
		case T_DistinctExpr:
			appendStringInfoChar(buf, '(');
			DeparseExpr(linitial(((DistinctExpr *) node)->args), cxt);
			appendStringInfoString(buf, " IS DISTINCT FROM ");
			DeparseExpr(lsecond(((DistinctExpr *) node)->args), cxt);
			appendStringInfoChar(buf, ')');
			break;
		case T_NullIfExpr:
			appendStringInfoString(buf, "NULLIF(");
			DeparseArgs(((NullIfExpr *) node)->args, cxt);
			appendStringInfoChar(buf, ')');
			break;
		case T_ScalarArrayOpExpr:
			{
				ScalarArrayOpExpr *op = (ScalarArrayOpExpr *) node;

				appendStringInfoChar(buf, '(');
				DeparseExpr(linitial(op->args), cxt);
				appendStringInfo(buf, " %s %s (", get_opname(op->opno), op->useOr ? "ANY" : "ALL");
				DeparseExpr(lsecond(op->args), cxt);
				appendStringInfoString(buf, "))");
				break;
			}
		case T_RelabelType:
			{
				RelabelType *r = (RelabelType *) node;

				if (r->relabelformat == COERCE_IMPLICIT_CAST)
					DeparseExpr((Node *) r->arg, cxt);
				else
				{
					appendStringInfoString(buf, "CAST(");
					DeparseExpr((Node *) r->arg, cxt);
					appendStringInfo(buf, " AS %s)",
									 format_type_with_typemod(r->resulttype, r->resulttypmod));
				}
				break;
			}
		case T_CoerceViaIO:
			{
				CoerceViaIO *c = (CoerceViaIO *) node;

				appendStringInfoString(buf, "CAST(");
				DeparseExpr((Node *) c->arg, cxt);
				appendStringInfo(buf, " AS %s)", format_type_be(c->resulttype));
				break;
			}
		case T_ArrayExpr:
			{
				ArrayExpr  *a = (ArrayExpr *) node;

				appendStringInfoString(buf, "CAST(ARRAY[");
				DeparseArgs(a->elements, cxt);
				appendStringInfo(buf, "] AS %s)", format_type_be(a->array_typeid));
				break;
			}
		case T_BoolExpr:
			{
				BoolExpr   *b = (BoolExpr *) node;
				ListCell   *lc;

				if (b->boolop == NOT_EXPR)
				{
					appendStringInfoString(buf, "(NOT ");
					DeparseExpr(linitial(b->args), cxt);
					appendStringInfoChar(buf, ')');
					break;
				}
				appendStringInfoChar(buf, '(');
				foreach(lc, b->args)
				{
					if (foreach_current_index(lc) > 0)
						appendStringInfoString(buf, b->boolop == AND_EXPR ? " AND " : " OR ");
					DeparseExpr(lfirst(lc), cxt);
				}
				appendStringInfoChar(buf, ')');
				break;
			}
		case T_CaseExpr:
			{
				CaseExpr   *c = (CaseExpr *) node;
				ListCell   *lc;

				appendStringInfoString(buf, "CASE");
				foreach(lc, c->args)
				{
					CaseWhen   *w = lfirst_node(CaseWhen, lc);

					appendStringInfoString(buf, " WHEN ");
					DeparseExpr((Node *) w->expr, cxt);
					appendStringInfoString(buf, " THEN ");
					DeparseExpr((Node *) w->result, cxt);
				}
				if (c->defresult)
				{
					appendStringInfoString(buf, " ELSE ");
					DeparseExpr((Node *) c->defresult, cxt);
				}
				appendStringInfoString(buf, " END");
				break;
			}
		case T_NullTest:
			{
				NullTest   *n = (NullTest *) node;

				appendStringInfoChar(buf, '(');
				DeparseExpr((Node *) n->arg, cxt);
				appendStringInfoString(buf, n->nulltesttype == IS_NULL ? " IS NULL)" : " IS NOT NULL)");
				break;
			}
		case T_BooleanTest:
			{
				BooleanTest *t = (BooleanTest *) node;
				static const char *const words[] = {
					" IS TRUE)", " IS NOT TRUE)", " IS FALSE)", " IS NOT FALSE)",
					" IS UNKNOWN)", " IS NOT UNKNOWN)"
				};

				appendStringInfoChar(buf, '(');
				DeparseExpr((Node *) t->arg, cxt);
				appendStringInfoString(buf, words[t->booltesttype]);
				break;
			}
		default:
			elog(ERROR, "cannot deparse node type %d", (int) nodeTag(node));
	}
}

/*
 * smpc_deparse_dataset_sql
 *		The dataset SQL of a joint aggregate plan (see the file header).
 *		param_value renders parameters as constants; NULL prints $n.
 *		*value_list, if value_list is not NULL, gets the value columns
 *		numbered as a member's errors number them ("1 count(*), 2 ...").
 */
char *
smpc_deparse_dataset_sql(const char *dataset, Oid relid, List *quals, List *groupcols,
						 List *values, SmpcParamValue param_value, void *param_arg,
						 char **value_list)
{
	StringInfoData buf;
	StringInfoData list;
	DeparseContext cxt;
	ListCell   *lc;
	bool		first = true;

	initStringInfo(&buf);
	initStringInfo(&list);
	cxt.buf = &buf;
	cxt.relid = relid;
	cxt.param_value = param_value;
	cxt.param_arg = param_arg;

	appendStringInfoString(&buf, "SELECT ");
	foreach(lc, groupcols)
	{
		appendStringInfo(&buf, "%s%s", first ? "" : ", ",
						 quote_identifier(get_attname(relid, intVal(lfirst(lc)), false)));
		first = false;
	}
	foreach(lc, values)
	{
		List	   *v = lfirst(lc);
		int			kind = intVal(linitial(v));
		Node	   *arg = lsecond(v);

		int			start;

		if (!first)
			appendStringInfoString(&buf, ", ");
		first = false;
		start = buf.len;
		if (kind == SMPC_VAL_COUNT_STAR)
			appendStringInfoString(&buf, "count(*)");
		else
		{
			appendStringInfoString(&buf, kind == SMPC_VAL_COUNT ? "count(" :
								   kind == SMPC_VAL_VECTOR_SUM ? "smpc_sum(" : "sum(");
			DeparseExpr(arg, &cxt);
			appendStringInfoChar(&buf, ')');
		}
		appendStringInfo(&list, "%s%d %s", foreach_current_index(lc) ? ", " : "",
						 foreach_current_index(lc) + 1, buf.data + start);
	}
	if (value_list)
		*value_list = list.data;
	appendStringInfo(&buf, " FROM %s", quote_identifier(dataset));
	foreach(lc, quals)
	{
		appendStringInfoString(&buf, foreach_current_index(lc) == 0 ? " WHERE " : " AND ");
		DeparseExpr(lfirst(lc), &cxt);
	}
	foreach(lc, groupcols)
		appendStringInfo(&buf, "%s%s", foreach_current_index(lc) == 0 ? " GROUP BY " : ", ",
						 quote_identifier(get_attname(relid, intVal(lfirst(lc)), false)));
	return buf.data;
}
