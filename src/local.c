/*
 * local.c
 *		One party's contribution to a joint query, computed the same way on
 *		the querying node and on every member: prove the dataset query safe
 *		(policy.c), run it as the dataset's publisher through SPI, and encode
 *		each value into the field.  Also the lists of group keys every party
 *		must agree on: public domains, and the mapping of local groups onto
 *		the agreed order.
 *
 * The dataset query is ordinary SQL, so the planner may use indexes and
 * parallel workers for it.  Runtime errors of the query (a cast that fails
 * on some row, say) are re-raised without their text, which may quote a
 * value: the SQLSTATE is kept, the text goes to this node's server log only.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/catcache.h"
#include "utils/guc.h"
#include "common/hashfn.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/array.h"
#include "utils/syscache.h"

#include "encode.h"
#include "smpc.h"

/* smpc.max_groups */
int			smpc_max_groups = 100000;

/* true while a dataset query runs (smpc_run_as_publisher): vector sums work */
bool		smpc_in_dataset_query = false;

static void EncodeValue(Datum d, Oid typid, const smpc_value_spec *spec,
						int column, smpc_fe *out);
static void EncodeVector(Datum d, Oid typid, const smpc_value_spec *spec, int column,
						 uint32 length, smpc_fe *out);
static void CheckOutputs(const SmpcDataset *ds, List *outputs, int ngroupcols,
						 int nvalues);
static List *ColumnDomain(const SmpcDatasetColumn *col);
static char *SerializeKey(char **cells, int ncols);

/*
 * smpc_local_aggregate
 *		Check and run a dataset query on dataset ds; the query returns
 *		ngroupcols group key columns, then nvalues value columns encoded as
 *		specs say.  ERROR on a policy violation (42S01), a failing query (its
 *		SQLSTATE, text withheld), more than smpc.max_groups groups, or a value
 *		the encoding cannot carry.
 */
/*
 * smpc_local_check
 *		The policy check of smpc_local_aggregate alone: ERROR unless the
 *		dataset query is safe and returns ngroupcols group-key columns, then
 *		nvalues aggregates.  Returns the final SQL; *group_columns gets the
 *		group key column names.
 */
char *
smpc_local_check(const SmpcDataset *ds, const char *sql, int ngroupcols,
				 int nvalues, List **group_columns)
{
	List	   *outputs = NIL;
	char	   *final_sql;
	ListCell   *lc;

	final_sql = smpc_policy_check(ds, sql, &outputs);
	CheckOutputs(ds, outputs, ngroupcols, nvalues);
	*group_columns = NIL;
	foreach(lc, outputs)
	{
		if (foreach_current_index(lc) >= ngroupcols)
			break;
		*group_columns = lappend(*group_columns, lfirst(lc));
	}
	return final_sql;
}

/* what AggregateWork needs and fills */
typedef struct AggregateCall
{
	const SmpcDataset *ds;
	const char *final_sql;
	int			ngroupcols;
	int			nvalues;
	const smpc_value_spec *specs;
	MemoryContext caller;
	SmpcLocalResult *lr;
} AggregateCall;

/* Run the checked aggregate query and encode its groups (inside SPI). */
static void
AggregateWork(void *arg)
{
	AggregateCall *c = (AggregateCall *) arg;
	const SmpcDataset *ds = c->ds;
	const char *final_sql = c->final_sql;
	int			ngroupcols = c->ngroupcols;
	int			nvalues = c->nvalues;
	const smpc_value_spec *specs = c->specs;
	MemoryContext caller = c->caller;
	SmpcLocalResult *lr = c->lr;
	int			ret;
	TupleDesc	tupdesc;
	uint64		n;
	size_t		width;

	/* only the query itself; its errors lose their text */
	PG_TRY();
	{
		ret = SPI_execute(final_sql, true, (long) smpc_max_groups + 1);
	}
	PG_CATCH();
	{
		smpc_dataset_query_failed(ds, caller);
	}
	PG_END_TRY();

	if (ret != SPI_OK_SELECT)
		elog(ERROR, "dataset query returned %s", SPI_result_code_string(ret));
	n = SPI_processed;
	if (n > (uint64) smpc_max_groups)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the dataset query on \"%s\" has more than %d groups",
						ds->name, smpc_max_groups),
				 errhint("Group by fewer or coarser keys, or raise smpc.max_groups.")));
	tupdesc = SPI_tuptable->tupdesc;
	if (tupdesc->natts != ngroupcols + nvalues)
		elog(ERROR, "dataset query returned %d columns, expected %d",
			 tupdesc->natts, ngroupcols + nvalues);

	/*
	 * Vector values: every group's array must have the query's length (the
	 * querying node learns it from its own data); the width follows.
	 */
	lr->lengths = MemoryContextAllocZero(caller, sizeof(uint32) * nvalues);
	width = 0;
	for (int v = 0; v < nvalues; v++)
	{
		uint32		want = specs[v].length;
		Oid			coltype = SPI_gettypeid(tupdesc, ngroupcols + v + 1);

		if (want == 0)
		{
			width += SMPC_VALUE_ELEMENTS(&specs[v]);
			continue;
		}
		/* a request may call any column a vector: it must be an array */
		if (coltype != FLOAT8ARRAYOID && coltype != NUMERICARRAYOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("value column %d of the dataset query has type %s, not an array of double precision or numeric",
							v + 1, format_type_be(coltype))));
		for (uint64 r = 0; r < n; r++)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[r], tupdesc,
										  ngroupcols + v + 1, &isnull);
			ArrayType  *arr;
			uint32		got;

			if (isnull)
				continue;
			arr = DatumGetArrayTypeP(d);
			got = (uint32) ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
			if (want == SMPC_LENGTH_FROM_DATA)
				want = got;
			else if (got != want)
				ereport(ERROR,
						(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
						 errmsg("the arrays summed by smpc_sum have %u elements in dataset \"%s\" here, the query's have %u",
								got, ds->name, want),
						 errdetail("Element-wise sums need arrays of one length on every member."),
						 errhint("Sum arrays of the same length, or restrict the query with WHERE to rows whose arrays have it.")));
		}
		if (want == SMPC_LENGTH_FROM_DATA)
			want = 0;			/* no array here; the caller decides */
		lr->lengths[v] = want;
		width += (size_t) Max(want, 1) * SMPC_VALUE_ELEMENTS(&specs[v]);
	}
	smpc_check_joint_size(n, width);

	{
		MemoryContext old = MemoryContextSwitchTo(caller);

		lr->ngroups = (int) n;
		lr->width = (int) width;
		lr->keys = palloc0(sizeof(char *) * Max(1, n * ngroupcols));
		lr->values = palloc0(sizeof(smpc_fe) * Max(1, n * width));
		MemoryContextSwitchTo(old);
	}
	for (uint64 r = 0; r < n; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		smpc_fe    *out = lr->values + r * width;

		for (int c = 0; c < ngroupcols; c++)
		{
			char	   *text = SPI_getvalue(tup, tupdesc, c + 1);

			if (text != NULL)
			{
				if (strlen(text) > SMPC_MAX_KEY_LEN)
					ereport(ERROR,
							(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
							 errmsg("a value of group key \"%s\" is longer than %d bytes",
									(char *) list_nth(lr->group_columns, c),
									SMPC_MAX_KEY_LEN)));
				lr->keys[r * ngroupcols + c] = MemoryContextStrdup(caller, text);
			}
		}
		for (int v = 0; v < nvalues; v++)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(tup, tupdesc, ngroupcols + v + 1, &isnull);
			Oid			typid = SPI_gettypeid(tupdesc, ngroupcols + v + 1);

			if (specs[v].length == 0)
			{
				if (!isnull)
					EncodeValue(d, typid, &specs[v], v, out);
				out += SMPC_VALUE_ELEMENTS(&specs[v]);
				continue;
			}
			if (!isnull)
				EncodeVector(d, typid, &specs[v], v, lr->lengths[v], out);
			out += (size_t) Max(lr->lengths[v], 1) * SMPC_VALUE_ELEMENTS(&specs[v]);
		}
	}
}

/* Encode the elements of a non-null array value (of the checked length). */
static void
EncodeVector(Datum d, Oid typid, const smpc_value_spec *spec, int column,
			 uint32 length, smpc_fe *out)
{
	ArrayType  *arr = DatumGetArrayTypeP(d);
	Oid			elemtype = get_element_type(typid);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;

	if (elemtype != FLOAT8OID && elemtype != NUMERICOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("value column %d of the dataset query has type %s, which is not an array of numbers",
						column + 1, format_type_be(typid))));
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(arr, elemtype, typlen, typbyval, typalign, &elems, &nulls, &nelems);
	if ((uint32) nelems != length)
		elog(ERROR, "array length changed while encoding");
	for (int i = 0; i < nelems; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("value column %d has a NULL element", column + 1)));
		EncodeValue(elems[i], elemtype, spec, column, &out[(size_t) i * SMPC_VALUE_ELEMENTS(spec)]);
	}
	pfree(elems);
	pfree(nulls);
}

/*
 * smpc_check_joint_size
 *		ERROR (54000) unless ngroups groups of width field elements fit in
 *		one message of smpc.max_message_size: checked before they are
 *		allocated, by the querying node and by every member.
 */
void
smpc_check_joint_size(uint64 ngroups, size_t width)
{
	if (width > 0 && ngroups > (uint64) smpc_max_message_size / SMPC_FE_BYTES / width)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%llu groups of %zu values are more than smpc.max_message_size can carry",
						(unsigned long long) ngroups, width),
				 errhint("Group by fewer keys, sum shorter vectors, or raise smpc.max_message_size on every node.")));
}

SmpcLocalResult *
smpc_local_aggregate(const SmpcDataset *ds, const char *sql, int ngroupcols,
					 int nvalues, const smpc_value_spec *specs)
{
	AggregateCall c;

	c.lr = palloc0(sizeof(SmpcLocalResult));
	c.final_sql = smpc_local_check(ds, sql, ngroupcols, nvalues, &c.lr->group_columns);
	c.lr->ngroupcols = ngroupcols;
	c.lr->nvalues = nvalues;
	c.ds = ds;
	c.ngroupcols = ngroupcols;
	c.nvalues = nvalues;
	c.specs = specs;
	c.caller = CurrentMemoryContext;
	smpc_run_as_publisher(ds, AggregateWork, &c);
	return c.lr;
}

/*
 * smpc_run_as_publisher
 *		Call work(arg) inside SPI as the dataset's publisher (a restricted
 *		security context) with search_path pg_catalog, pg_temp, as every
 *		dataset query runs; the caller's role and settings are restored
 *		whatever happens.
 */
void
smpc_run_as_publisher(const SmpcDataset *ds, void (*work) (void *), void *arg)
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

		(void) set_config_option("search_path", SMPC_POLICY_SEARCH_PATH,
								 PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		smpc_in_dataset_query = true;
		smpc_vector_error = false;
		smpc_vector_elements = 0;
		work(arg);
		smpc_in_dataset_query = false;
		SPI_finish();
		AtEOXact_GUC(true, save_nestlevel);
	}
	PG_FINALLY();
	{
		smpc_in_dataset_query = false;
		smpc_vector_error = false;
		SetUserIdAndSecContext(save_userid, save_sec_context);
	}
	PG_END_TRY();
}

/*
 * smpc_dataset_query_failed
 *		In the PG_CATCH of a dataset query: re-raise its error without its
 *		text, which may quote a value (the text goes to this node's server
 *		log), keeping its SQLSTATE.  Cancellation, shutdown and resource
 *		errors propagate as they are.  caller is the memory context to copy
 *		the error into.
 */
void
smpc_dataset_query_failed(const SmpcDataset *ds, MemoryContext caller)
{
	ErrorData  *ed;

	MemoryContextSwitchTo(caller);
	ed = CopyErrorData();
	if (smpc_vector_error &&
		(ed->sqlerrcode == ERRCODE_ARRAY_SUBSCRIPT_ERROR ||
		 ed->sqlerrcode == ERRCODE_NULL_VALUE_NOT_ALLOWED ||
		 ed->sqlerrcode == ERRCODE_PROGRAM_LIMIT_EXCEEDED))
	{
		/* smpc_sum's own errors name lengths, never values */
		smpc_vector_error = false;
		PG_RE_THROW();
	}
	if (ERRCODE_TO_CATEGORY(ed->sqlerrcode) == ERRCODE_OPERATOR_INTERVENTION ||
		ERRCODE_TO_CATEGORY(ed->sqlerrcode) == ERRCODE_INSUFFICIENT_RESOURCES ||
		ERRCODE_TO_CATEGORY(ed->sqlerrcode) == ERRCODE_PROGRAM_LIMIT_EXCEEDED)
		PG_RE_THROW();
	FlushErrorState();
	ereport(LOG,
			(errmsg("smpc: dataset query on \"%s\" failed: %s",
					ds->name, ed->message)));
	ereport(ERROR,
			(errcode(ed->sqlerrcode),
			 errmsg("the dataset query on \"%s\" failed at run time", ds->name),
			 errdetail("The error text is withheld because it may quote data; the node's server log has it."),
			 errhint("Check the WHERE conditions and casts against the data types of the dataset.")));
}

/*
 * The dataset query must return the group keys first, each a plain
 * group-key column, then the values.
 */
static void
CheckOutputs(const SmpcDataset *ds, List *outputs, int ngroupcols, int nvalues)
{
	ListCell   *lc;

	if (list_length(outputs) != ngroupcols + nvalues)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("the dataset query returns %d columns, but the request describes %d group keys and %d values",
						list_length(outputs), ngroupcols, nvalues)));
	foreach(lc, outputs)
	{
		int			i = foreach_current_index(lc);

		if (i < ngroupcols && lfirst(lc) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
					 errmsg("output column %d of the dataset query is not a group key column", i + 1),
					 errdetail("A joint query returns its group keys first, each a published column it groups by.")));
		if (i >= ngroupcols && lfirst(lc) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
					 errmsg("output column %d of the dataset query is a group key, not an aggregate", i + 1)));
	}
}

/*
 * smpc_pow10l
 *		10^scale for scale 0..SMPC_ENC_MAX_SCALE, by repeated multiplication
 *		(exact up to 10^27 in long double, and up to 10^22 where long double
 *		is only double, as under valgrind), computed once per scale.
 */
long double
smpc_pow10l(int scale)
{
	static long double powers[SMPC_ENC_MAX_SCALE + 1];

	Assert(scale >= 0 && scale <= SMPC_ENC_MAX_SCALE);
	if (powers[scale] == 0)
	{
		long double p = 1.0L;

		for (int i = 0; i < scale; i++)
			p *= 10.0L;
		powers[scale] = p;
	}
	return powers[scale];
}

/* Encode one non-null value column of the local result. */
static void
EncodeValue(Datum d, Oid typid, const smpc_value_spec *spec, int column, smpc_fe *out)
{
	int			rc;

	switch (spec->kind)
	{
		case SMPC_VALUE_INT:
		case SMPC_VALUE_DECIMAL:
			{
				int			scale = spec->kind == SMPC_VALUE_INT ? 0 : spec->scale;

				if (typid == INT8OID)
					rc = scale == 0 ? smpc_encode_int64(DatumGetInt64(d), out)
						: smpc_encode_decimal(DatumGetCString(DirectFunctionCall1(int8out, d)),
											  scale, out);
				else if (typid == INT4OID || typid == INT2OID)
					rc = smpc_encode_int64(typid == INT4OID ? DatumGetInt32(d) : DatumGetInt16(d), out);
				else if (typid == NUMERICOID)
					rc = smpc_encode_decimal(DatumGetCString(DirectFunctionCall1(numeric_out, d)),
											 scale, out);
				else
					ereport(ERROR,
							(errcode(ERRCODE_DATATYPE_MISMATCH),
							 errmsg("value column %d of the dataset query has type %s, which is not an exact number",
									column + 1, format_type_be(typid))));
				if (rc == SMPC_ERR_RANGE)
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("value column %d has more than %d fractional digits, or is not a number",
									column + 1, scale),
							 errhint("Declare the column's scale, e.g. numeric(12,2), on every member.")));
				break;
			}
		case SMPC_VALUE_WIDE:
			{
				Datum		rounded;
				Datum		whole;

				if (typid != NUMERICOID)
					ereport(ERROR,
							(errcode(ERRCODE_DATATYPE_MISMATCH),
							 errmsg("value column %d of the dataset query has type %s, not numeric",
									column + 1, format_type_be(typid))));
				if (numeric_is_nan(DatumGetNumeric(d)) || numeric_is_inf(DatumGetNumeric(d)))
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("value column %d is not finite (NaN or infinity)", column + 1),
							 errhint("Exclude non-finite values with a WHERE condition.")));
				/* integer part and fraction (of the same sign), each its own element */
				rounded = DirectFunctionCall2(numeric_round, d, Int32GetDatum(spec->scale));
				whole = DirectFunctionCall2(numeric_trunc, rounded, Int32GetDatum(0));
				rc = smpc_encode_decimal(DatumGetCString(DirectFunctionCall1(numeric_out, whole)),
										 0, &out[0]);
				if (rc == SMPC_OK)
					rc = smpc_encode_decimal(DatumGetCString(DirectFunctionCall1(numeric_out,
																				 DirectFunctionCall2(numeric_sub, rounded, whole))),
											 spec->scale, &out[1]);
				break;
			}
		case SMPC_VALUE_FLOAT:
			{
				double		v;
				long double scaled;

				if (typid == FLOAT8OID)
					v = DatumGetFloat8(d);
				else if (typid == FLOAT4OID)
					v = DatumGetFloat4(d);
				else
					ereport(ERROR,
							(errcode(ERRCODE_DATATYPE_MISMATCH),
							 errmsg("value column %d of the dataset query has type %s, which is not a float",
									column + 1, format_type_be(typid))));
				if (!isfinite(v))
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("value column %d is not finite (NaN or infinity)", column + 1),
							 errhint("Exclude non-finite values with a WHERE condition.")));
				scaled = nearbyintl((long double) v * smpc_pow10l(spec->scale));
				if (fabsl(scaled) > (long double) SMPC_ENC_MAX_ABS)
					rc = SMPC_ERR_OVERFLOW;
				else
					rc = smpc_encode_i128((smpc_i128) scaled, out);
				break;
			}
		default:
			elog(ERROR, "unknown value kind %d", spec->kind);
			rc = SMPC_ERR_ARG;
	}
	if (rc == SMPC_ERR_OVERFLOW)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value column %d is too large to share", column + 1),
				 errdetail("One party's value may have at most 2^119 in magnitude after scaling."),
				 errhint("Sums of squares and products (for variances, covariances, correlations and regressions) grow fastest; EXPLAIN VERBOSE of the joint query lists its value columns after the group keys.")));
	smpc_check_core_status(rc, "encode a value");
}

/*
 * The declared values of a public group key in their canonical text form,
 * then NULL (a list of char *, NULL last).
 */
static List *
ColumnDomain(const SmpcDatasetColumn *col)
{
	List	   *result = NIL;
	Oid			base = getBaseType(col->typid);
	ListCell   *lc;

	if (col->domain != NIL)
	{
		Oid			typinput,
					typioparam,
					typoutput;
		bool		isvarlena;

		getTypeInputInfo(col->typid, &typinput, &typioparam);
		getTypeOutputInfo(col->typid, &typoutput, &isvarlena);
		foreach(lc, col->domain)
		{
			Datum		d = OidInputFunctionCall(typinput, lfirst(lc), typioparam,
												 col->typmod);

			result = lappend(result, OidOutputFunctionCall(typoutput, d));
		}
	}
	else if (base == BOOLOID)
		result = list_make2(pstrdup("f"), pstrdup("t"));
	else if (type_is_enum(base))
	{
		CatCList   *list = SearchSysCacheList1(ENUMTYPOIDNAME, ObjectIdGetDatum(base));
		int			n = list->n_members;
		float4	   *order = palloc(sizeof(float4) * Max(n, 1));
		char	  **labels = palloc(sizeof(char *) * Max(n, 1));

		for (int i = 0; i < n; i++)
		{
			Form_pg_enum e = (Form_pg_enum) GETSTRUCT(&list->members[i]->tuple);

			order[i] = e->enumsortorder;
			labels[i] = pstrdup(NameStr(e->enumlabel));
		}
		ReleaseCatCacheList(list);
		/* few labels: insertion sort by sort order */
		for (int i = 1; i < n; i++)
			for (int j = i; j > 0 && order[j - 1] > order[j]; j--)
			{
				float4		to = order[j];
				char	   *tl = labels[j];

				order[j] = order[j - 1];
				labels[j] = labels[j - 1];
				order[j - 1] = to;
				labels[j - 1] = tl;
			}
		for (int i = 0; i < n; i++)
			result = lappend(result, labels[i]);
	}
	else
		elog(ERROR, "group key \"%s\" has no public domain", col->name);
	return lappend(result, NULL);
}

/*
 * smpc_public_groups
 *		When every group column has a public domain, set *out to all groups
 *		of the cross product of the domains (first column varying slowest,
 *		NULL last in each) and return true; return false if some column's
 *		keys are revealed instead.  ERROR if there would be more than
 *		smpc.max_groups groups.
 */
bool
smpc_public_groups(const SmpcDataset *ds, List *group_columns, smpc_key_list *out)
{
	int			ncols = list_length(group_columns);
	List	  **domains = palloc0(sizeof(List *) * Max(ncols, 1));
	double		total = 1;
	int			ngroups;
	ListCell   *lc;

	foreach(lc, group_columns)
	{
		SmpcDatasetColumn *col = NULL;
		ListCell   *lc2;

		foreach(lc2, ds->columns)
			if (strcmp(((SmpcDatasetColumn *) lfirst(lc2))->name, lfirst(lc)) == 0)
				col = lfirst(lc2);
		if (col == NULL || col->group_policy != SMPC_GROUP_PUBLIC)
			return false;
		domains[foreach_current_index(lc)] = ColumnDomain(col);
		total *= list_length(domains[foreach_current_index(lc)]);
	}
	if (total > smpc_max_groups)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the public domains of the group keys have %.0f combinations, more than smpc.max_groups (%d)",
						total, smpc_max_groups),
				 errhint("Group by fewer keys, or raise smpc.max_groups.")));
	ngroups = (int) total;
	out->ngroups = ngroups;
	out->ncols = ncols;
	out->cells = palloc0(sizeof(smpc_key_cell) * Max(1, ngroups * ncols));
	for (int g = 0; g < ngroups; g++)
	{
		int			rest = g;

		for (int c = ncols - 1; c >= 0; c--)
		{
			int			len = list_length(domains[c]);
			char	   *v = list_nth(domains[c], rest % len);
			smpc_key_cell *cell = &out->cells[g * ncols + c];

			rest /= len;
			cell->isnull = v == NULL;
			cell->value.ptr = v ? v : "";
			cell->value.len = v ? strlen(v) : 0;
		}
	}
	return true;
}

/* smpc_key_list_from_local: the local groups as a key list. */
void
smpc_key_list_from_local(const SmpcLocalResult *lr, smpc_key_list *out)
{
	int			n = lr->ngroups * lr->ngroupcols;

	out->ngroups = lr->ngroupcols == 0 ? Min(lr->ngroups, 1) : lr->ngroups;
	out->ncols = lr->ngroupcols;
	out->cells = palloc0(sizeof(smpc_key_cell) * Max(1, n));
	for (int i = 0; i < n; i++)
	{
		out->cells[i].isnull = lr->keys[i] == NULL;
		out->cells[i].value.ptr = lr->keys[i] ? lr->keys[i] : "";
		out->cells[i].value.len = lr->keys[i] ? strlen(lr->keys[i]) : 0;
	}
}

/* smpc_key_text: one cell as a palloc'd string, NULL for SQL NULL. */
char *
smpc_key_text(const smpc_key_list *k, int group, int col)
{
	const smpc_key_cell *cell = &k->cells[group * k->ncols + col];

	if (cell->isnull)
		return NULL;
	return pnstrdup(cell->value.ptr, cell->value.len);
}

/*
 * A key tuple as one NUL-free string: "N" for NULL, else the byte length,
 * ':' and the bytes, per column.  Unambiguous because lengths are explicit.
 */
static char *
SerializeKey(char **cells, int ncols)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int c = 0; c < ncols; c++)
	{
		if (cells[c] == NULL)
			appendStringInfoChar(&buf, 'N');
		else
			appendStringInfo(&buf, "%zu:%s", strlen(cells[c]), cells[c]);
	}
	return buf.data;
}

typedef struct KeyEntry
{
	char	   *key;			/* hash key: pointer to the serialized key */
	int			index;
} KeyEntry;

static uint32
KeyHash(const void *key, Size keysize)
{
	const char *s = *(char *const *) key;

	return string_hash(s, strlen(s) + 1);
}

static int
KeyMatch(const void *key1, const void *key2, Size keysize)
{
	return strcmp(*(char *const *) key1, *(char *const *) key2);
}

/*
 * smpc_map_groups
 *		For each of the nkeys local key tuples (keys, row-major, ncols per
 *		row) its index in order.  ERROR, with "what" saying which list is
 *		meant, if a tuple is missing from order or order has duplicates.
 */
int *
smpc_map_groups(const smpc_key_list *order, char **keys, int nkeys, int ncols,
				const char *what)
{
	HASHCTL		ctl;
	HTAB	   *htab;
	int		   *result = palloc(sizeof(int) * Max(1, nkeys));
	char	  **row = palloc(sizeof(char *) * Max(1, ncols));

	if (ncols == 0)
	{
		if (order->ngroups != 1 && nkeys > 0)
			elog(ERROR, "an ungrouped query must have one group");
		for (int i = 0; i < nkeys; i++)
			result[i] = 0;
		return result;
	}
	if (order->ncols != ncols)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("the %s has %d key columns, expected %d", what, order->ncols, ncols)));

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(char *);
	ctl.entrysize = sizeof(KeyEntry);
	ctl.hash = KeyHash;
	ctl.match = KeyMatch;
	ctl.hcxt = CurrentMemoryContext;
	htab = hash_create("smpc group keys", Max(16, order->ngroups), &ctl,
					   HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
	for (uint32 g = 0; g < order->ngroups; g++)
	{
		char	   *ser;
		KeyEntry   *e;
		bool		found;

		for (int c = 0; c < ncols; c++)
			row[c] = smpc_key_text(order, g, c);
		ser = SerializeKey(row, ncols);
		e = hash_search(htab, &ser, HASH_ENTER, &found);
		if (found)
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("the %s lists a group twice", what)));
		e->key = ser;
		e->index = (int) g;
	}
	for (int i = 0; i < nkeys; i++)
	{
		char	   *ser = SerializeKey(&keys[i * ncols], ncols);
		KeyEntry   *e = hash_search(htab, &ser, HASH_FIND, NULL);

		if (e == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_CARDINALITY_VIOLATION),
					 errmsg("a local group is not in the %s", what),
					 errhint("If the group keys have a public domain, every value in the data must be declared in the publication.")));
		result[i] = e->index;
		pfree(ser);
	}
	hash_destroy(htab);
	return result;
}
