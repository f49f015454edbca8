/*
 * joint.h
 *		What the planner (planner.c) hands the executor (joint.c) for a joint
 *		aggregate, and the FDW callbacks they provide (fdw.c wires them).
 */
#ifndef SMPC_JOINT_H
#define SMPC_JOINT_H

#include "foreign/fdwapi.h"
#include "nodes/pathnodes.h"
#include "nodes/plannodes.h"

/* values every party computes per group (dataset SQL columns after the keys) */
#define SMPC_VAL_COUNT_STAR 1	/* count(*): always value 0 */
#define SMPC_VAL_COUNT 2		/* count(arg) */
#define SMPC_VAL_SUM 3			/* sum(arg) */
#define SMPC_VAL_VECTOR_SUM 4	/* smpc_sum(arg) over an array: element-wise */

/*
 * A value is list(kind, arg, spec): how it travels is SMPC_SPEC(value
 * kind, scale), chosen by the planner.
 */
#define SMPC_SPEC(kind, scale) ((kind) * 256 + (scale))
#define SMPC_SPEC_KIND(spec) ((spec) / 256)
#define SMPC_SPEC_SCALE(spec) ((spec) % 256)

/* what one column of the scan tuple is */
#define SMPC_OUT_KEY 1			/* group key a */
#define SMPC_OUT_COUNT_STAR 2
#define SMPC_OUT_COUNT 3		/* value a */
#define SMPC_OUT_SUM 4			/* sum value a, count value b */
#define SMPC_OUT_AVG 5			/* sum value a, count value b */
#define SMPC_OUT_INTERSECT 6	/* smpc_intersect_count of column a */
#define SMPC_OUT_STAT 7			/* a statistic: see below */
#define SMPC_OUT_VECTOR 8		/* vector sum value a, count value b */

/*
 * An output is list(kind, a, b, argtype, restype); SMPC_OUT_STAT adds
 * (statistic, sxx, sy, syy, sxy): a is the count, b the sum of x (or -1), and
 * the others the values of the sufficient statistics (-1 where unused).
 */
#define SMPC_STAT_VAR_SAMP 1
#define SMPC_STAT_VAR_POP 2
#define SMPC_STAT_STDDEV_SAMP 3
#define SMPC_STAT_STDDEV_POP 4
#define SMPC_STAT_COVAR_SAMP 5
#define SMPC_STAT_COVAR_POP 6
#define SMPC_STAT_CORR 7
#define SMPC_STAT_REGR_SLOPE 8
#define SMPC_STAT_REGR_INTERCEPT 9
#define SMPC_STAT_REGR_R2 10
#define SMPC_STAT_REGR_COUNT 11
#define SMPC_STAT_REGR_SXX 12
#define SMPC_STAT_REGR_SYY 13
#define SMPC_STAT_REGR_SXY 14
#define SMPC_STAT_REGR_AVGX 15
#define SMPC_STAT_REGR_AVGY 16

/* planner state of a federated base relation */
typedef struct SmpcRelInfo
{
	char	   *refusal;		/* why no joint aggregate path, or NULL */
	char	   *refusal_hint;
} SmpcRelInfo;

/* renders a parameter's current value */
typedef Datum (*SmpcParamValue) (Param *param, void *arg, bool *isnull);

/* planner.c */
extern void smpc_get_upper_paths(PlannerInfo *root, UpperRelationKind stage,
								 RelOptInfo *input_rel, RelOptInfo *output_rel,
								 void *extra);
extern ForeignScan *smpc_upper_plan(PlannerInfo *root, RelOptInfo *foreignrel,
									List *tlist, Plan *outer_plan);
extern void smpc_raise_scan_refusal(PlannerInfo *root, RelOptInfo *baserel,
									Oid relid) pg_attribute_noreturn();
extern char *smpc_deparse_dataset_sql(const char *dataset, Oid relid, List *quals,
									  List *groupcols, List *values,
									  SmpcParamValue param_value, void *param_arg,
									  char **value_list);

/* joint.c */
extern void smpc_begin_joint_scan(ForeignScanState *node, int eflags);
extern TupleTableSlot *smpc_iterate_joint_scan(ForeignScanState *node);
extern void smpc_rescan_joint_scan(ForeignScanState *node);
extern void smpc_explain_joint_scan(ForeignScanState *node, struct ExplainState *es);

#endif
