/*
 * vector.c
 *		Element-wise sums of arrays: the member-side aggregate behind
 *		smpc_sum(double precision[]) and smpc_sum(numeric[]).
 *
 * PostgreSQL has no element-wise sum, so a vector value's dataset query
 * calls smpc_sum itself: every party adds up its own arrays here, and the
 * sums are then shared element by element (local.c, joint.c).  Like the
 * other smpc_* aggregates, smpc_sum over an array refuses to run anywhere
 * but inside a dataset query (smpc_in_dataset_query), so that a local
 * table never yields a silent local result.
 *
 * Every non-null array must be one-dimensional, non-empty, without NULL
 * elements and of one length, at most SMPC_MAX_VECTOR_LEN elements.  Float
 * elements are added in double precision, as sum(double precision) does;
 * numeric elements exactly.  The errors name lengths only, never values,
 * and pass through the dataset query's error filter with their text.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "protocol.h"
#include "smpc.h"

PG_FUNCTION_INFO_V1(smpc_vector_accum);
PG_FUNCTION_INFO_V1(smpc_vector_final);

/* the running element-wise sum */
typedef struct VectorState
{
	Oid			elemtype;		/* FLOAT8OID or NUMERICOID */
	int			length;
	double	   *fsum;			/* float8 elements */
	Datum	   *nsum;			/* numeric elements, in the aggregate context */
} VectorState;

/* whether the error being raised is one of ours (no data in its text) */
bool		smpc_vector_error = false;

static void
Refuse(FunctionCallInfo fcinfo)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("smpc_sum can only aggregate a federated table"),
			 errdetail("smpc aggregates are computed jointly by the members of a federation, never over a local relation."),
			 errhint("Use it on a foreign table imported with IMPORT FOREIGN SCHEMA smpc_datasets FROM SERVER <federation>.")));
}

#define VECTOR_ERROR(code, ...) \
	do { \
		smpc_vector_error = true; \
		ereport(ERROR, (errcode(code), __VA_ARGS__)); \
	} while (0)

/*
 * smpc_vector_accum(internal, anyarray) returns internal
 *		Add one array to the running sum.
 */
Datum
smpc_vector_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext;
	VectorState *st = PG_ARGISNULL(0) ? NULL : (VectorState *) PG_GETARG_POINTER(0);
	ArrayType  *arr;
	Oid			elemtype;
	int			n;

	if (!smpc_in_dataset_query)
		Refuse(fcinfo);
	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "smpc_vector_accum called in non-aggregate context");
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(st);

	arr = PG_GETARG_ARRAYTYPE_P(1);
	elemtype = ARR_ELEMTYPE(arr);
	if (ARR_NDIM(arr) != 1)
		VECTOR_ERROR(ERRCODE_ARRAY_SUBSCRIPT_ERROR,
					 errmsg("smpc_sum sums one-dimensional arrays, not arrays of %d dimensions",
							ARR_NDIM(arr)),
					 errhint("Exclude empty and multi-dimensional arrays with a WHERE condition, e.g. array_ndims(w) = 1."));
	n = ARR_DIMS(arr)[0];
	if (n > SMPC_MAX_VECTOR_LEN)
		VECTOR_ERROR(ERRCODE_PROGRAM_LIMIT_EXCEEDED,
					 errmsg("smpc_sum sums arrays of at most %d elements, not %d",
							SMPC_MAX_VECTOR_LEN, n));
	if (array_contains_nulls(arr))
		VECTOR_ERROR(ERRCODE_NULL_VALUE_NOT_ALLOWED,
					 errmsg("an array summed by smpc_sum has a NULL element"),
					 errhint("Exclude such rows with WHERE array_position(w, NULL) IS NULL."));

	if (st == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(aggcontext);

		st = palloc0(sizeof(VectorState));
		st->elemtype = elemtype;
		st->length = n;
		if (elemtype == FLOAT8OID)
			st->fsum = palloc0(sizeof(double) * n);
		else
			st->nsum = palloc0(sizeof(Datum) * n);	/* 0: nothing added yet */
		MemoryContextSwitchTo(old);
	}
	else if (n != st->length)
		VECTOR_ERROR(ERRCODE_ARRAY_SUBSCRIPT_ERROR,
					 errmsg("the arrays summed by smpc_sum have different lengths here (%d and %d elements)",
							st->length, n),
					 errdetail("Element-wise sums need arrays of one length on every member."));

	if (elemtype == FLOAT8OID)
	{
		float8	   *x = (float8 *) ARR_DATA_PTR(arr);

		for (int i = 0; i < n; i++)
			st->fsum[i] += x[i];
	}
	else if (elemtype == NUMERICOID)
	{
		Datum	   *elems;
		int			nelems;
		MemoryContext old = CurrentMemoryContext;

		deconstruct_array(arr, NUMERICOID, -1, false, TYPALIGN_INT, &elems, NULL, &nelems);
		MemoryContextSwitchTo(aggcontext);
		for (int i = 0; i < n; i++)
		{
			Datum		prev = st->nsum[i];

			if (prev == (Datum) 0)
				st->nsum[i] = PointerGetDatum(DatumGetNumericCopy(elems[i]));
			else
			{
				st->nsum[i] = DirectFunctionCall2(numeric_add, prev, elems[i]);
				pfree(DatumGetPointer(prev));
			}
		}
		MemoryContextSwitchTo(old);
		pfree(elems);
	}
	else
		elog(ERROR, "smpc_sum over %s[]", format_type_be(elemtype));
	PG_RETURN_POINTER(st);
}

/*
 * smpc_vector_final(internal, anyarray) returns anyarray
 *		The element-wise sum, or NULL when no array was added.
 */
Datum
smpc_vector_final(PG_FUNCTION_ARGS)
{
	VectorState *st = PG_ARGISNULL(0) ? NULL : (VectorState *) PG_GETARG_POINTER(0);
	Datum	   *elems;

	if (!smpc_in_dataset_query)
		Refuse(fcinfo);
	if (st == NULL)
		PG_RETURN_NULL();
	elems = palloc(sizeof(Datum) * st->length);
	if (st->elemtype == FLOAT8OID)
	{
		for (int i = 0; i < st->length; i++)
			elems[i] = Float8GetDatum(st->fsum[i]);
		PG_RETURN_ARRAYTYPE_P(construct_array(elems, st->length, FLOAT8OID, sizeof(float8),
											  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	}
	for (int i = 0; i < st->length; i++)
		elems[i] = st->nsum[i];
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, st->length, NUMERICOID, -1, false,
										  TYPALIGN_INT));
}

/* Whether aggfnoid is smpc_sum over double precision[] or numeric[]. */
bool
smpc_is_vector_sum(Oid aggfnoid)
{
	static const Oid argtypes[] = {FLOAT8ARRAYOID, NUMERICARRAYOID};
	List	   *name = list_make2(makeString("pg_catalog"), makeString("smpc_sum"));

	for (int i = 0; i < lengthof(argtypes); i++)
		if (LookupFuncName(name, 1, &argtypes[i], true) == aggfnoid)
			return true;
	return false;
}
