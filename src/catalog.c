/*
 * catalog.c
 *		The publication catalog: which local relations this node offers to
 *		its federations as datasets, which of their columns, and how each
 *		column may be grouped by.
 *
 * smpc.dataset and smpc.dataset_column belong to the extension owner.  Every
 * role may read them (what a node publishes is not secret locally), none may
 * write them directly: smpc.publish() and smpc.withdraw() check the caller's
 * privileges as the caller, then write the catalog through SPI as the
 * extension owner.  The role that publishes a dataset is recorded as its
 * publisher; member-side queries on the dataset later run as that role, so
 * only a role that can read the relation may publish it.
 *
 * The catalog stores relations and roles as regclass/regrole, which carry no
 * dependency: a dropped or altered relation is detected when the dataset is
 * looked up, with an error naming the dataset.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/indexing.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "foreign/foreign.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "parser/scansup.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "smpc.h"

PG_FUNCTION_INFO_V1(smpc_publish);
PG_FUNCTION_INFO_V1(smpc_withdraw);
PG_FUNCTION_INFO_V1(smpc_catalog_test_lookup);

/* what the catalog work done as the extension owner needs */
typedef struct CatalogWork
{
	const char *name;			/* dataset name */
	SmpcDataset *dataset;		/* publish: the new dataset */
	bool		replace;		/* publish: replace an existing one */
	Oid			caller;			/* the role that called publish/withdraw */
	MemoryContext result_cxt;	/* lookup/list: where results go */
	bool		found;			/* lookup: the dataset exists */
	SmpcDataset *result;		/* lookup: the catalog rows */
	List	   *names;			/* list: dataset names */
} CatalogWork;

/* context for errors raised while parsing a declared group key value */
typedef struct DomainValueContext
{
	const char *column;
	const char *value;
} DomainValueContext;

static char *RoleName(Oid roleid);
static ArrayType *TextArrayFromList(List *list);
static List *TextArrayToList(Datum array);
static void CheckRelation(Oid relid);
static List *ResolveColumns(Oid relid, ArrayType *columns);
static void ApplyGroupKeys(List *columns, Jsonb *group_keys);
static void ApplyIntersectKeys(List *columns, ArrayType *keys);
static List *ParseDomain(SmpcDatasetColumn *col, JsonbValue *array);
static void DomainValueErrorCallback(void *arg);
static bool HasOwnDomain(Oid typid);
static List *ParseFederations(ArrayType *federations);
static void CheckReadPrivilege(Oid relid, List *columns, Oid roleid);
static Oid	LockDatasetRow(const char *name);
static void WriteDataset(void *arg);
static void DeleteDataset(void *arg);
static void ReadDataset(void *arg);
static void ReadDatasetNames(void *arg);
static void ResolveDataset(SmpcDataset *ds);

/*
 * smpc_extension_owner
 *		The role that owns the smpc extension, and so the tables its script
 *		created: catalog and audit writes run as this role.  (The owner of
 *		schema smpc is usually the same role, but the schema outlives DROP
 *		EXTENSION, so a later CREATE EXTENSION by another role would leave
 *		them different.)  ERROR if the extension is not installed in this
 *		database.
 */
Oid
smpc_extension_owner(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			owner = InvalidOid;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum("smpc"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		owner = ((Form_pg_extension) GETSTRUCT(tuple))->extowner;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	if (!OidIsValid(owner))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"smpc\" is not installed in this database"),
				 errhint("A superuser installs it with CREATE EXTENSION smpc.")));
	return owner;
}

/*
 * smpc_run_as_extension_owner
 *		Run work(arg) inside its own SPI connection as the extension owner, in
 *		a restricted security context with search_path pinned to pg_catalog,
 *		so neither the caller's privileges nor objects the caller created
 *		can influence the catalog queries.  The caller's user id is restored
 *		on error as well; the search_path is restored by the (sub)transaction
 *		abort on error.
 */
void
smpc_run_as_extension_owner(void (*work) (void *), void *arg)
{
	Oid			owner = smpc_extension_owner();
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(owner, save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	PG_TRY();
	{
		save_nestlevel = NewGUCNestLevel();
		(void) set_config_option("search_path", "pg_catalog, pg_temp",
								 PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		work(arg);
		if (SPI_finish() != SPI_OK_FINISH)
			elog(ERROR, "SPI_finish failed");
		AtEOXact_GUC(false, save_nestlevel);
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec_context);
	}
	PG_END_TRY();
}

/* A role's name for messages, even if the role has been dropped. */
static char *
RoleName(Oid roleid)
{
	char	   *name = GetUserNameFromId(roleid, true);

	return name ? name : psprintf("(dropped role %u)", roleid);
}

/* A text[] of the strings in list, or NULL for NIL. */
static ArrayType *
TextArrayFromList(List *list)
{
	Datum	   *elems;
	int			n = 0;
	ListCell   *lc;

	if (list == NIL)
		return NULL;
	elems = palloc(sizeof(Datum) * list_length(list));
	foreach(lc, list)
		elems[n++] = CStringGetTextDatum((char *) lfirst(lc));
	return construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT);
}

/* The strings of a text[] without NULL elements, as a List of char *. */
static List *
TextArrayToList(Datum array)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *result = NIL;

	deconstruct_array(DatumGetArrayTypeP(array), TEXTOID, -1, false,
					  TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			elog(ERROR, "unexpected null element in the smpc catalog");
		result = lappend(result, TextDatumGetCString(elems[i]));
	}
	return result;
}

/*
 * CheckRelation
 *		Lock the relation against concurrent drops and check that it can be
 *		published: a permanent or unlogged table, partitioned table, view or
 *		materialized view.  A foreign table of the smpc wrapper is a
 *		federated dataset itself, other foreign tables are not local data.
 */
static void
CheckRelation(Oid relid)
{
	HeapTuple	tuple;
	Form_pg_class form;
	char	   *relname;

	LockRelationOid(relid, AccessShareLock);
	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	form = (Form_pg_class) GETSTRUCT(tuple);
	relname = pstrdup(NameStr(form->relname));

	if (form->relkind == RELKIND_FOREIGN_TABLE)
	{
		ForeignTable *ft = GetForeignTable(relid);
		ForeignServer *server = GetForeignServer(ft->serverid);
		ForeignDataWrapper *fdw = GetForeignDataWrapper(server->fdwid);

		if (strcmp(fdw->fdwname, "smpc") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("cannot publish federated table \"%s\"", relname),
					 errdetail("\"%s\" is a foreign table of the smpc wrapper: its rows are the federation's, not this node's.",
							   relname),
					 errhint("Each member publishes its own local relation under the dataset name.")));
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot publish foreign table \"%s\"", relname),
				 errdetail("Only tables, partitioned tables, views and materialized views can be published."),
				 errhint("Publish the data on the node that stores it.")));
	}
	if (form->relkind != RELKIND_RELATION &&
		form->relkind != RELKIND_PARTITIONED_TABLE &&
		form->relkind != RELKIND_VIEW &&
		form->relkind != RELKIND_MATVIEW)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot publish \"%s\"", relname),
				 errdetail("Only tables, partitioned tables, views and materialized views can be published.")));
	if (form->relpersistence == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot publish temporary relation \"%s\"", relname),
				 errdetail("A temporary relation is visible only to the session that created it.")));
	ReleaseSysCache(tuple);
}

/*
 * ResolveColumns
 *		The published columns, in the given order, resolved against the
 *		relation; every one with group policy "none" for now.  ERROR for a
 *		NULL, missing, system or repeated column, or for an empty list.
 */
static List *
ResolveColumns(Oid relid, ArrayType *columns)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *result = NIL;
	char	   *relname = get_rel_name(relid);

	deconstruct_array(columns, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a dataset needs at least one column"),
				 errhint("List the columns to publish, e.g. columns => '{age,ward}'.")));
	for (int i = 0; i < n; i++)
	{
		char	   *name;
		AttrNumber	attnum = InvalidAttrNumber;
		SmpcDatasetColumn *col;
		Oid			collid;
		ListCell   *lc;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("published column names must not be null")));
		name = TextDatumGetCString(elems[i]);
		if (strlen(name) < NAMEDATALEN)
			attnum = get_attnum(relid, name);
		if (attnum == InvalidAttrNumber)
		{
			char	   *lower = downcase_identifier(name, strlen(name), false, false);

			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation \"%s\" does not exist",
							name, relname),
					 strcmp(lower, name) != 0 && strlen(lower) < NAMEDATALEN &&
					 get_attnum(relid, lower) > 0
					 ? errhint("Column names are case-sensitive here; perhaps you meant \"%s\".", lower)
					 : 0));
		}
		if (attnum < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
					 errmsg("cannot publish system column \"%s\"", name),
					 errdetail("Only user columns of a relation can be published.")));
		foreach(lc, result)
			if (((SmpcDatasetColumn *) lfirst(lc))->attnum == attnum)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("column \"%s\" is listed more than once", name)));

		col = palloc0(sizeof(SmpcDatasetColumn));
		col->name = name;
		col->attnum = attnum;
		get_atttypetypmodcoll(relid, attnum, &col->typid, &col->typmod, &collid);
		col->type_name = format_type_with_typemod(col->typid, col->typmod);
		col->group_policy = SMPC_GROUP_NONE;
		result = lappend(result, col);
	}
	return result;
}

/*
 * ApplyIntersectKeys
 *		Mark the published columns named in intersect_keys as usable for
 *		private set intersection; their type must have a key class.
 */
static void
ApplyIntersectKeys(List *columns, ArrayType *keys)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (keys == NULL)
		return;
	deconstruct_array(keys, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		char	   *name;
		SmpcDatasetColumn *col = NULL;
		ListCell   *lc;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("intersection key names must not be null")));
		name = TextDatumGetCString(elems[i]);
		foreach(lc, columns)
			if (strcmp(((SmpcDatasetColumn *) lfirst(lc))->name, name) == 0)
				col = lfirst(lc);
		if (col == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("intersect_keys names column \"%s\", which is not published", name),
					 errhint("Only published columns can be intersection keys; add \"%s\" to columns.",
							 name)));
		if (smpc_psi_key_class(col->typid) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of type %s cannot be an intersection key",
							name, col->type_name),
					 errhint("Intersection keys are smallint, integer, bigint, text, varchar, char or uuid columns.")));
		col->intersect = true;
	}
}

/* Whether a type is its own public group domain: boolean or an enum. */
static bool
HasOwnDomain(Oid typid)
{
	Oid			base = getBaseType(typid);

	return base == BOOLOID || type_is_enum(base);
}

/*
 * ApplyGroupKeys
 *		Set the group policies from the group_keys object, which maps a
 *		published column to "none", "reveal", "public" or an array of the
 *		declared values (a public domain).  Columns it does not name stay
 *		"none".
 */
static void
ApplyGroupKeys(List *columns, Jsonb *group_keys)
{
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;

	if (group_keys == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(group_keys) || JB_ROOT_IS_SCALAR(group_keys))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("group_keys must be a JSON object"),
				 errdetail("It maps a published column to \"none\", \"reveal\", \"public\" or an array of the column's possible values."),
				 errhint("For example: group_keys => '{\"ward\": \"reveal\", \"sex\": [\"f\", \"m\", \"x\"]}'.")));

	it = JsonbIteratorInit(&group_keys->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		SmpcDatasetColumn *col = NULL;
		ListCell   *lc;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		foreach(lc, columns)
			if (strcmp(((SmpcDatasetColumn *) lfirst(lc))->name, key) == 0)
				col = lfirst(lc);
		if (col == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("group_keys names column \"%s\", which is not published", key),
					 errhint("Only published columns can be group keys; add \"%s\" to columns or remove it from group_keys.",
							 key)));

		tok = JsonbIteratorNext(&it, &v, true);
		Assert(tok == WJB_VALUE);
		if (v.type == jbvString)
		{
			char	   *policy = pnstrdup(v.val.string.val, v.val.string.len);

			if (strcmp(policy, "none") == 0)
				col->group_policy = SMPC_GROUP_NONE;
			else if (strcmp(policy, "reveal") == 0)
				col->group_policy = SMPC_GROUP_REVEAL;
			else if (strcmp(policy, "public") == 0)
			{
				if (!HasOwnDomain(col->typid))
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("group key \"%s\" needs a declared list of values", key),
							 errdetail("Column \"%s\" has type %s; only boolean and enum columns are public group keys without a declared list.",
									   key, col->type_name),
							 errhint("Declare its possible values as a JSON array of strings, e.g. {\"%s\": [\"v1\", \"v2\"]}, or use \"reveal\" if the group keys present may be revealed.",
									 key)));
				col->group_policy = SMPC_GROUP_PUBLIC;
			}
			else
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid group key policy \"%s\" for column \"%s\"", policy, key),
						 errhint("Use \"none\", \"reveal\", \"public\" or a JSON array of the declared values.")));
		}
		else if (v.type == jbvBinary && JsonContainerIsArray(v.val.binary.data))
		{
			col->group_policy = SMPC_GROUP_PUBLIC;
			col->domain = ParseDomain(col, &v);
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid group key policy for column \"%s\"", key),
					 errdetail("The value must be a JSON string or a JSON array of strings."),
					 errhint("Use \"none\", \"reveal\", \"public\" or a JSON array of the declared values.")));
	}
}

/*
 * ParseDomain
 *		The declared values of a public group key: a non-empty JSON array of
 *		distinct strings, each a valid input of the column's type.  Values
 *		are stored as given.
 */
static List *
ParseDomain(SmpcDatasetColumn *col, JsonbValue *array)
{
	JsonbIterator *it = JsonbIteratorInit(array->val.binary.data);
	JsonbIteratorToken tok;
	JsonbValue	v;
	List	   *result = NIL;
	Oid			typinput;
	Oid			typioparam;

	getTypeInputInfo(col->typid, &typinput, &typioparam);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *value;
		ListCell   *lc;
		DomainValueContext cbarg;
		ErrorContextCallback errcb;

		if (tok != WJB_ELEM)
			continue;
		if (v.type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("declared values of group key \"%s\" must be JSON strings", col->name),
					 errhint("Quote every value, e.g. [\"2023\", \"2024\"] for numbers.")));
		value = pnstrdup(v.val.string.val, v.val.string.len);
		foreach(lc, result)
			if (strcmp(lfirst(lc), value) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("value \"%s\" is declared more than once for group key \"%s\"",
								value, col->name)));

		/* the value must be an input of the column's type */
		cbarg.column = col->name;
		cbarg.value = value;
		errcb.callback = DomainValueErrorCallback;
		errcb.arg = &cbarg;
		errcb.previous = error_context_stack;
		error_context_stack = &errcb;
		(void) OidInputFunctionCall(typinput, value, typioparam, col->typmod);
		error_context_stack = errcb.previous;

		result = lappend(result, value);
	}
	if (result == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("declared value list of group key \"%s\" is empty", col->name),
				 errhint("List every value the column may have, or use \"none\".")));
	return result;
}

static void
DomainValueErrorCallback(void *arg)
{
	DomainValueContext *cb = (DomainValueContext *) arg;

	errcontext("declared value \"%s\" of group key \"%s\"", cb->value, cb->column);
}

/*
 * ParseFederations
 *		The federation names a dataset is published to, or NIL for NULL
 *		(every federation of this node).  ERROR for an empty list, a NULL,
 *		invalid or repeated name.
 */
static List *
ParseFederations(ArrayType *federations)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *result = NIL;
	ListCell   *lc;

	if (federations == NULL)
		return NIL;
	deconstruct_array(federations, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("federations must not be an empty list"),
				 errhint("Pass NULL to publish the dataset to every federation of this node.")));
	for (int i = 0; i < n; i++)
	{
		char	   *name;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("federation names must not be null")));
		name = TextDatumGetCString(elems[i]);
		smpc_validate_name(name, "federation");
		foreach(lc, result)
			if (strcmp(lfirst(lc), name) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("federation \"%s\" is listed more than once", name)));
		result = lappend(result, name);
	}
	return result;
}

/*
 * CheckReadPrivilege
 *		Only a role that can read the relation can publish it: it needs
 *		USAGE on the schema and SELECT on the relation or on every published
 *		column.  Checked as the caller, before any switch of user id.
 */
static void
CheckReadPrivilege(Oid relid, List *columns, Oid roleid)
{
	Oid			nspid = get_rel_namespace(relid);
	char	   *relname = get_rel_name(relid);
	ListCell   *lc;

#if PG_VERSION_NUM >= 160000
	if (object_aclcheck(NamespaceRelationId, nspid, roleid, ACL_USAGE) != ACLCHECK_OK)
#else
	if (pg_namespace_aclcheck(nspid, roleid, ACL_USAGE) != ACLCHECK_OK)
#endif
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to publish relation \"%s\"", relname),
				 errdetail("Only a role that can read the relation can publish it; role \"%s\" has no USAGE privilege on schema \"%s\".",
						   RoleName(roleid), get_namespace_name(nspid)),
				 errhint("Grant USAGE on the schema and SELECT on the relation or on the published columns to the publishing role.")));
	if (pg_class_aclcheck(relid, roleid, ACL_SELECT) == ACLCHECK_OK)
		return;
	foreach(lc, columns)
	{
		SmpcDatasetColumn *col = lfirst(lc);

		if (pg_attribute_aclcheck(relid, col->attnum, roleid, ACL_SELECT) != ACLCHECK_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to publish relation \"%s\"", relname),
					 errdetail("Only a role that can read the relation can publish it; role \"%s\" has no SELECT privilege on the relation or on its column \"%s\".",
							   RoleName(roleid), col->name),
					 errhint("Grant SELECT on the relation or on the published columns to the publishing role.")));
	}
}

/*
 * LockDatasetRow
 *		Lock a dataset's catalog row and return its publisher, or InvalidOid
 *		if it is not published.  Runs as the extension owner inside SPI.
 */
static Oid
LockDatasetRow(const char *name)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	bool		isnull;
	Datum		d;

	args[0] = CStringGetTextDatum(name);
	if (SPI_execute_with_args("SELECT publisher::pg_catalog.oid FROM smpc.dataset"
							  " WHERE dataset_name OPERATOR(pg_catalog.=) $1"
							  " FOR UPDATE",
							  1, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read smpc.dataset");
	if (SPI_processed == 0)
		return InvalidOid;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? InvalidOid : DatumGetObjectId(d);
}

/*
 * WriteDataset
 *		Insert the catalog rows of cw->dataset, replacing an existing
 *		publication if cw->replace and the caller has the privileges of its
 *		publisher.  Runs as the extension owner inside SPI.
 */
static void
WriteDataset(void *arg)
{
	CatalogWork *cw = (CatalogWork *) arg;
	SmpcDataset *ds = cw->dataset;
	Oid			old_publisher = LockDatasetRow(ds->name);
	Oid			dtypes[5] = {TEXTOID, REGCLASSOID, REGROLEOID, TEXTARRAYOID, INT4OID};
	Datum		dargs[5];
	char		dnulls[5] = {' ', ' ', ' ', ' ', ' '};
	Oid			ctypes[6] = {TEXTOID, NAMEOID, INT4OID, TEXTOID, TEXTARRAYOID, BOOLOID};
	int			position = 0;
	ListCell   *lc;

	if (OidIsValid(old_publisher))
	{
		if (!cw->replace)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("dataset \"%s\" is already published", ds->name),
					 errdetail("Role \"%s\" published it.", RoleName(old_publisher)),
					 errhint("Pass replace => true to publish it again with new settings, or remove it first with smpc.withdraw('%s').",
							 ds->name)));
		if (!has_privs_of_role(cw->caller, old_publisher))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to replace dataset \"%s\"", ds->name),
					 errdetail("Only its publisher, role \"%s\", a member of that role or a superuser can replace it.",
							   RoleName(old_publisher))));
		cw->found = true;
		DeleteDataset(cw);
	}

	dargs[0] = CStringGetTextDatum(ds->name);
	dargs[1] = ObjectIdGetDatum(ds->relid);
	dargs[2] = ObjectIdGetDatum(ds->publisher);
	if (ds->federations != NIL)
		dargs[3] = PointerGetDatum(TextArrayFromList(ds->federations));
	else
	{
		dargs[3] = (Datum) 0;
		dnulls[3] = 'n';
	}
	dargs[4] = Int32GetDatum(ds->min_set_size);
	if (SPI_execute_with_args("INSERT INTO smpc.dataset"
							  " (dataset_name, relation, publisher, federations, min_set_size)"
							  " VALUES ($1, $2, $3, $4, $5)",
							  5, dtypes, dargs, dnulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert into smpc.dataset");

	foreach(lc, ds->columns)
	{
		SmpcDatasetColumn *col = lfirst(lc);
		Datum		cargs[6];
		char		cnulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
		const char *policy;

		policy = col->group_policy == SMPC_GROUP_PUBLIC ? "public" :
			col->group_policy == SMPC_GROUP_REVEAL ? "reveal" : "none";
		cargs[0] = dargs[0];
		cargs[1] = DirectFunctionCall1(namein, CStringGetDatum(col->name));
		cargs[2] = Int32GetDatum(++position);
		cargs[3] = CStringGetTextDatum(policy);
		if (col->domain != NIL)
			cargs[4] = PointerGetDatum(TextArrayFromList(col->domain));
		else
		{
			cargs[4] = (Datum) 0;
			cnulls[4] = 'n';
		}
		cargs[5] = BoolGetDatum(col->intersect);
		if (SPI_execute_with_args("INSERT INTO smpc.dataset_column"
								  " (dataset_name, column_name, position,"
								  "  group_policy, group_domain, intersect_key)"
								  " VALUES ($1, $2, $3, $4, $5, $6)",
								  6, ctypes, cargs, cnulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not insert into smpc.dataset_column");
	}
}

/*
 * DeleteDataset
 *		Delete the catalog rows of dataset cw->name (its columns cascade).
 *		For withdraw, first check that it exists and that the caller has the
 *		privileges of its publisher.  Runs as the extension owner inside SPI.
 */
static void
DeleteDataset(void *arg)
{
	CatalogWork *cw = (CatalogWork *) arg;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];

	if (!cw->found)
	{
		Oid			publisher = LockDatasetRow(cw->name);

		if (!OidIsValid(publisher))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("dataset \"%s\" is not published on this node", cw->name),
					 errhint("The view smpc.datasets lists the published datasets.")));
		if (!has_privs_of_role(cw->caller, publisher))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to withdraw dataset \"%s\"", cw->name),
					 errdetail("Only its publisher, role \"%s\", a member of that role or a superuser can withdraw it.",
							   RoleName(publisher))));
		cw->found = true;
	}
	args[0] = CStringGetTextDatum(cw->name);
	if (SPI_execute_with_args("DELETE FROM smpc.dataset"
							  " WHERE dataset_name OPERATOR(pg_catalog.=) $1",
							  1, argtypes, args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not delete from smpc.dataset");
}

/*
 * smpc.publish(dataset_name text, relation regclass, columns text[],
 *				group_keys jsonb DEFAULT NULL, federations text[] DEFAULT NULL,
 *				replace boolean DEFAULT false, intersect_keys text[] DEFAULT NULL,
 *				min_set_size integer DEFAULT NULL) RETURNS void
 *		Publish columns of a local relation as a dataset of this node's
 *		federations (NULL: all of them); intersect_keys may be the key of a
 *		private set intersection over sets of at least min_set_size keys.  The caller becomes the publisher:
 *		member-side queries on the dataset run as this role.
 */
Datum
smpc_publish(PG_FUNCTION_ARGS)
{
	SmpcDataset *ds;
	CatalogWork cw;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null",
						PG_ARGISNULL(0) ? "dataset_name" :
						PG_ARGISNULL(1) ? "relation" :
						PG_ARGISNULL(2) ? "columns" : "replace")));
	PreventCommandIfReadOnly("smpc.publish()");

	ds = palloc0(sizeof(SmpcDataset));
	ds->name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	smpc_validate_name(ds->name, "dataset");
	ds->relid = PG_GETARG_OID(1);
	CheckRelation(ds->relid);
	ds->columns = ResolveColumns(ds->relid, PG_GETARG_ARRAYTYPE_P(2));
	ApplyGroupKeys(ds->columns, PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3));
	ApplyIntersectKeys(ds->columns, PG_NARGS() > 6 && !PG_ARGISNULL(6) ? PG_GETARG_ARRAYTYPE_P(6) : NULL);
	ds->min_set_size = SMPC_DEFAULT_MIN_SET_SIZE;
	if (PG_NARGS() > 7 && !PG_ARGISNULL(7))
	{
		ds->min_set_size = PG_GETARG_INT32(7);
		if (ds->min_set_size < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("min_set_size must not be negative")));
	}
	ds->federations = ParseFederations(PG_ARGISNULL(4) ? NULL : PG_GETARG_ARRAYTYPE_P(4));
	ds->publisher = GetUserId();
	CheckReadPrivilege(ds->relid, ds->columns, ds->publisher);

	memset(&cw, 0, sizeof(cw));
	cw.name = ds->name;
	cw.dataset = ds;
	cw.replace = PG_GETARG_BOOL(5);
	cw.caller = GetUserId();
	smpc_run_as_extension_owner(WriteDataset, &cw);

	ereport(LOG,
			(errmsg("smpc dataset \"%s\" %s by role \"%s\"", ds->name,
					cw.found ? "republished" : "published",
					RoleName(ds->publisher))));
	PG_RETURN_VOID();
}

/*
 * smpc.withdraw(dataset_name text) RETURNS void
 *		Stop publishing a dataset.  Only its publisher (or a member of that
 *		role, or a superuser) may withdraw it.
 */
Datum
smpc_withdraw(PG_FUNCTION_ARGS)
{
	CatalogWork cw;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("dataset_name must not be null")));
	PreventCommandIfReadOnly("smpc.withdraw()");

	memset(&cw, 0, sizeof(cw));
	cw.name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	cw.caller = GetUserId();
	smpc_run_as_extension_owner(DeleteDataset, &cw);

	ereport(LOG,
			(errmsg("smpc dataset \"%s\" withdrawn by role \"%s\"", cw.name,
					RoleName(cw.caller))));
	PG_RETURN_VOID();
}

/*
 * ReadDataset
 *		Copy the catalog rows of dataset cw->name into cw->result_cxt, or
 *		set cw->found to false.  Columns are not resolved yet.  Runs as the
 *		extension owner inside SPI.
 */
static void
ReadDataset(void *arg)
{
	CatalogWork *cw = (CatalogWork *) arg;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	SPITupleTable *tt;
	bool		isnull;
	Datum		d;
	SmpcDataset *ds;
	MemoryContext oldcxt;

	args[0] = CStringGetTextDatum(cw->name);
	if (SPI_execute_with_args("SELECT relation::pg_catalog.oid,"
							  " publisher::pg_catalog.oid, federations, min_set_size"
							  " FROM smpc.dataset"
							  " WHERE dataset_name OPERATOR(pg_catalog.=) $1",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read smpc.dataset");
	cw->found = SPI_processed > 0;
	if (!cw->found)
		return;

	tt = SPI_tuptable;
	oldcxt = MemoryContextSwitchTo(cw->result_cxt);
	ds = palloc0(sizeof(SmpcDataset));
	ds->name = pstrdup(cw->name);
	ds->relid = DatumGetObjectId(SPI_getbinval(tt->vals[0], tt->tupdesc, 1, &isnull));
	ds->publisher = DatumGetObjectId(SPI_getbinval(tt->vals[0], tt->tupdesc, 2, &isnull));
	d = SPI_getbinval(tt->vals[0], tt->tupdesc, 3, &isnull);
	if (!isnull)
		ds->federations = TextArrayToList(d);
	ds->min_set_size = DatumGetInt32(SPI_getbinval(tt->vals[0], tt->tupdesc, 4, &isnull));
	MemoryContextSwitchTo(oldcxt);

	if (SPI_execute_with_args("SELECT column_name::pg_catalog.text, group_policy,"
							  " group_domain, intersect_key"
							  " FROM smpc.dataset_column"
							  " WHERE dataset_name OPERATOR(pg_catalog.=) $1"
							  " ORDER BY position",
							  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read smpc.dataset_column");
	tt = SPI_tuptable;
	oldcxt = MemoryContextSwitchTo(cw->result_cxt);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		SmpcDatasetColumn *col = palloc0(sizeof(SmpcDatasetColumn));
		char	   *policy;

		col->name = TextDatumGetCString(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull));
		policy = TextDatumGetCString(SPI_getbinval(tt->vals[i], tt->tupdesc, 2, &isnull));
		col->group_policy = strcmp(policy, "public") == 0 ? SMPC_GROUP_PUBLIC :
			strcmp(policy, "reveal") == 0 ? SMPC_GROUP_REVEAL : SMPC_GROUP_NONE;
		d = SPI_getbinval(tt->vals[i], tt->tupdesc, 3, &isnull);
		if (!isnull)
			col->domain = TextArrayToList(d);
		col->intersect = DatumGetBool(SPI_getbinval(tt->vals[i], tt->tupdesc, 4, &isnull));
		ds->columns = lappend(ds->columns, col);
	}
	MemoryContextSwitchTo(oldcxt);
	cw->result = ds;
}

/*
 * ResolveDataset
 *		Resolve a dataset's relation, publisher and columns against the live
 *		catalogs.  ERROR, naming the dataset, if any of them no longer exists
 *		or a column no longer fits its group policy.
 */
static void
ResolveDataset(SmpcDataset *ds)
{
	char	   *relname = get_rel_name(ds->relid);
	ListCell   *lc;

	if (relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation of dataset \"%s\" no longer exists", ds->name),
				 errdetail("Dataset \"%s\" was published from the relation with OID %u, which has been dropped.",
						   ds->name, ds->relid),
				 errhint("Withdraw it with smpc.withdraw('%s'), or publish it again with replace => true.",
						 ds->name)));
	if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(ds->publisher)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("publisher of dataset \"%s\" no longer exists", ds->name),
				 errdetail("Queries on a dataset run as the role that published it, and role %u has been dropped.",
						   ds->publisher),
				 errhint("Withdraw it with smpc.withdraw('%s'), or publish it again with replace => true.",
						 ds->name)));
	foreach(lc, ds->columns)
	{
		SmpcDatasetColumn *col = lfirst(lc);
		Oid			collid;

		col->attnum = get_attnum(ds->relid, col->name);
		if (col->attnum <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of dataset \"%s\" no longer exists", col->name, ds->name),
					 errdetail("Relation \"%s\" has no column \"%s\" any more.", relname, col->name),
					 errhint("Withdraw the dataset with smpc.withdraw('%s'), or publish it again with replace => true.",
							 ds->name)));
		get_atttypetypmodcoll(ds->relid, col->attnum, &col->typid, &col->typmod, &collid);
		col->type_name = format_type_with_typemod(col->typid, col->typmod);
		if (col->group_policy == SMPC_GROUP_PUBLIC && col->domain == NIL &&
			!HasOwnDomain(col->typid))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("group key \"%s\" of dataset \"%s\" no longer has a public domain",
							col->name, ds->name),
					 errdetail("It was published as a public group key of its own type, but its type is now %s.",
							   col->type_name),
					 errhint("Publish the dataset again with replace => true and a declared list of values.")));
		if (col->intersect && smpc_psi_key_class(col->typid) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("intersection key \"%s\" of dataset \"%s\" is now of type %s, which cannot be an intersection key",
							col->name, ds->name, col->type_name),
					 errhint("Publish the dataset again with replace => true.")));
	}
}

/*
 * smpc_lookup_dataset
 *		A dataset published by this node, with its columns resolved against
 *		the live relation, allocated in the caller's memory context.  NULL if
 *		it is not published and missing_ok, else an ERROR.  May be called
 *		inside or outside an SPI connection.
 */
SmpcDataset *
smpc_lookup_dataset(const char *name, bool missing_ok)
{
	CatalogWork cw;

	memset(&cw, 0, sizeof(cw));
	cw.name = name;
	cw.result_cxt = CurrentMemoryContext;
	smpc_run_as_extension_owner(ReadDataset, &cw);
	if (!cw.found)
	{
		if (missing_ok)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("dataset \"%s\" is not published on this node", name)));
	}
	ResolveDataset(cw.result);
	return cw.result;
}

/* Copy the names of all datasets, sorted, into cw->result_cxt. */
static void
ReadDatasetNames(void *arg)
{
	CatalogWork *cw = (CatalogWork *) arg;
	MemoryContext oldcxt;

	if (SPI_execute("SELECT dataset_name FROM smpc.dataset"
					" ORDER BY dataset_name COLLATE \"C\"", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read smpc.dataset");
	oldcxt = MemoryContextSwitchTo(cw->result_cxt);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		cw->names = lappend(cw->names,
							TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[i],
															  SPI_tuptable->tupdesc,
															  1, &isnull)));
	}
	MemoryContextSwitchTo(oldcxt);
}

/*
 * smpc_list_datasets
 *		The names (char *) of the datasets this node publishes, sorted
 *		bytewise, allocated in the caller's memory context.
 */
List *
smpc_list_datasets(void)
{
	CatalogWork cw;

	memset(&cw, 0, sizeof(cw));
	cw.result_cxt = CurrentMemoryContext;
	smpc_run_as_extension_owner(ReadDatasetNames, &cw);
	return cw.names;
}

/*
 * smpc_catalog_test_lookup(dataset_name text, missing_ok boolean) RETURNS text
 *		Test hook: smpc_lookup_dataset() as text, one line per column after
 *		a header line, or NULL; the text ends with smpc_list_datasets().  It
 *		is not part of the extension's SQL; only a superuser can make it
 *		callable, with CREATE FUNCTION ... LANGUAGE C AS 'smpc',
 *		'smpc_catalog_test_lookup'.
 */
Datum
smpc_catalog_test_lookup(PG_FUNCTION_ARGS)
{
	SmpcDataset *ds;
	StringInfoData buf;
	ListCell   *lc;

	if (PG_NARGS() != 2 || PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("dataset_name and missing_ok must not be null")));
	ds = smpc_lookup_dataset(text_to_cstring(PG_GETARG_TEXT_PP(0)),
							 PG_GETARG_BOOL(1));
	initStringInfo(&buf);
	if (ds == NULL)
		appendStringInfoString(&buf, "not published");
	else
	{
		appendStringInfo(&buf, "%s: relation %s, publisher %s, federations ",
						 ds->name, get_rel_name(ds->relid), RoleName(ds->publisher));
		if (ds->federations == NIL)
			appendStringInfoString(&buf, "all");
		foreach(lc, ds->federations)
			appendStringInfo(&buf, "%s%s", foreach_current_index(lc) > 0 ? "," : "",
							 (char *) lfirst(lc));
		foreach(lc, ds->columns)
		{
			SmpcDatasetColumn *col = lfirst(lc);
			ListCell   *lc2;

			appendStringInfo(&buf, "\n  %d %s %s %s", col->attnum, col->name,
							 col->type_name,
							 col->group_policy == SMPC_GROUP_PUBLIC ? "public" :
							 col->group_policy == SMPC_GROUP_REVEAL ? "reveal" : "none");
			foreach(lc2, col->domain)
				appendStringInfo(&buf, "%s%s", foreach_current_index(lc2) > 0 ? "," : " ",
								 (char *) lfirst(lc2));
		}
	}
	appendStringInfoString(&buf, "\nall datasets:");
	foreach(lc, smpc_list_datasets())
		appendStringInfo(&buf, " %s", (char *) lfirst(lc));
	PG_RETURN_TEXT_P(cstring_to_text(buf.data));
}
