/*
 * audit.c
 *		The audit log: one row in smpc.audit_log for every joint query this
 *		node takes part in, as the querying node or as a member.
 *
 * The log is append-only.  Only the extension owner may write the table at
 * all, and a statement trigger refuses UPDATE, DELETE and TRUNCATE even to
 * the owner (it is ENABLE ALWAYS, so session_replication_role does not skip
 * it).  Records are inserted through SPI as the extension owner, inside the
 * caller's transaction: a query that fails later leaves no partial record,
 * and the caller records the failure instead.
 *
 * A record never holds secrets: no keys, shares, partial results or rows,
 * only who asked what, who took part and how it ended (with a digest of the
 * result, not the result).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "smpc.h"

#define AUDIT_SESSION_ID_LEN 16
#define AUDIT_DIGEST_LEN 32
#define AUDIT_NCOLUMNS 12

PG_FUNCTION_INFO_V1(smpc_audit_log_append_only);
PG_FUNCTION_INFO_V1(smpc_audit_test_record);

static void InsertRecord(void *arg);
static Datum ByteaDatum(const uint8 *data, size_t len);
static Datum SafeTextDatum(const char *str);
static Datum TextArrayDatum(List *list);

/*
 * smpc_audit_record
 *		Append one record to smpc.audit_log, as the extension owner, in the
 *		current transaction.  session_id, node_role and outcome are required;
 *		NULL pointers and NIL lists are stored as SQL NULL.  Strings that are
 *		not valid in the database encoding (they may come from a peer) are
 *		stored with their non-ASCII bytes escaped.
 */
void
smpc_audit_record(const SmpcAuditRecord *rec)
{
	if (rec == NULL || rec->session_id == NULL || rec->node_role == NULL ||
		rec->outcome == NULL)
		elog(ERROR, "smpc audit record lacks session_id, node_role or outcome");

	smpc_run_as_extension_owner(InsertRecord, (void *) rec);
}

/* Insert the row through SPI; runs as the extension owner. */
static void
InsertRecord(void *arg)
{
	const SmpcAuditRecord *rec = (const SmpcAuditRecord *) arg;
	Oid			argtypes[AUDIT_NCOLUMNS] = {
		BYTEAOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
		TEXTARRAYOID, TEXTOID, TEXTOID, BYTEAOID, TEXTARRAYOID
	};
	Datum		args[AUDIT_NCOLUMNS];
	char		nulls[AUDIT_NCOLUMNS];
	const char *texts[AUDIT_NCOLUMNS] = {
		NULL, rec->node_role, rec->federation, rec->initiator_node,
		rec->initiator_role, rec->dataset, rec->dataset_sql, NULL,
		rec->outcome, rec->error, NULL, NULL
	};

	for (int i = 0; i < AUDIT_NCOLUMNS; i++)
	{
		nulls[i] = texts[i] ? ' ' : 'n';
		args[i] = texts[i] ? SafeTextDatum(texts[i]) : (Datum) 0;
	}
	args[0] = ByteaDatum(rec->session_id, AUDIT_SESSION_ID_LEN);
	nulls[0] = ' ';
	if (rec->participants != NIL)
	{
		args[7] = TextArrayDatum(rec->participants);
		nulls[7] = ' ';
	}
	if (rec->result_digest != NULL)
	{
		args[10] = ByteaDatum(rec->result_digest, AUDIT_DIGEST_LEN);
		nulls[10] = ' ';
	}
	if (rec->unfinished != NIL)
	{
		args[11] = TextArrayDatum(rec->unfinished);
		nulls[11] = ' ';
	}

	if (SPI_execute_with_args("INSERT INTO smpc.audit_log"
							  " (session_id, node_role, federation,"
							  "  initiator_node, initiator_role, dataset,"
							  "  dataset_sql, participants, outcome, error,"
							  "  result_digest, unfinished_members)"
							  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
							  "  $10, $11, $12)",
							  AUDIT_NCOLUMNS, argtypes, args, nulls,
							  false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert into smpc.audit_log");
}

static Datum
ByteaDatum(const uint8 *data, size_t len)
{
	bytea	   *b = palloc(VARHDRSZ + len);

	SET_VARSIZE(b, VARHDRSZ + len);
	memcpy(VARDATA(b), data, len);
	return PointerGetDatum(b);
}

/*
 * A text datum of str; if str is not valid in the database encoding, its
 * bytes outside printable ASCII are written as \xNN instead.
 */
static Datum
SafeTextDatum(const char *str)
{
	size_t		len = strlen(str);
	StringInfoData buf;

	if (pg_verifymbstr(str, len, true))
		return CStringGetTextDatum(str);
	initStringInfo(&buf);
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) str[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			appendStringInfoChar(&buf, (char) c);
		else
			appendStringInfo(&buf, "\\x%02x", c);
	}
	return CStringGetTextDatum(buf.data);
}

static Datum
TextArrayDatum(List *list)
{
	Datum	   *elems = palloc(sizeof(Datum) * list_length(list));
	int			n = 0;
	ListCell   *lc;

	foreach(lc, list)
		elems[n++] = SafeTextDatum((const char *) lfirst(lc));
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false,
										   TYPALIGN_INT));
}

/*
 * smpc.audit_log_append_only() RETURNS trigger
 *		BEFORE UPDATE OR DELETE OR TRUNCATE statement trigger on
 *		smpc.audit_log: refuses the statement, whoever runs it.
 */
Datum
smpc_audit_log_append_only(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	const char *what;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("smpc.audit_log_append_only() must be called as a trigger")));
	what = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? "UPDATE" :
		TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ? "DELETE" :
		TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event) ? "TRUNCATE" : "this command";
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("smpc.audit_log is append-only"),
			 errdetail("%s is refused for every role, the table owner included.", what),
			 errhint("Archive old records with COPY or pg_dump; records are never changed or removed.")));
	PG_RETURN_NULL();			/* not reached */
}

/*
 * smpc_audit_test_record(session_id bytea, node_role text, outcome text,
 *						  dataset text, participants text[], error text,
 *						  result_digest bytea, unfinished text[])
 *		Test hook: append a record through smpc_audit_record().  It is not
 *		part of the extension's SQL; only a superuser can make it callable,
 *		with CREATE FUNCTION ... LANGUAGE C AS 'smpc', 'smpc_audit_test_record'.
 *		The federation, initiator and dataset SQL are fixed test values.
 */
Datum
smpc_audit_test_record(PG_FUNCTION_ARGS)
{
	SmpcAuditRecord rec;
	bytea	   *sid;
	bytea	   *digest = NULL;

	if (PG_NARGS() != 8 || PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("session_id, node_role and outcome must not be null")));
	sid = PG_GETARG_BYTEA_PP(0);
	if (VARSIZE_ANY_EXHDR(sid) != AUDIT_SESSION_ID_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("session_id must have %d bytes", AUDIT_SESSION_ID_LEN)));
	if (!PG_ARGISNULL(6))
	{
		digest = PG_GETARG_BYTEA_PP(6);
		if (VARSIZE_ANY_EXHDR(digest) != AUDIT_DIGEST_LEN)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("result_digest must have %d bytes", AUDIT_DIGEST_LEN)));
	}

	memset(&rec, 0, sizeof(rec));
	rec.session_id = (const uint8 *) VARDATA_ANY(sid);
	rec.node_role = text_to_cstring(PG_GETARG_TEXT_PP(1));
	rec.outcome = text_to_cstring(PG_GETARG_TEXT_PP(2));
	rec.federation = "regress_federation";
	rec.initiator_node = "regress_node";
	rec.initiator_role = GetUserNameFromId(GetUserId(), false);
	if (!PG_ARGISNULL(3))
	{
		rec.dataset = text_to_cstring(PG_GETARG_TEXT_PP(3));
		rec.dataset_sql = psprintf("SELECT count(*) FROM %s", rec.dataset);
	}
	if (!PG_ARGISNULL(4))
	{
		Datum	   *elems;
		bool	   *nulls;
		int			n;

		deconstruct_array(PG_GETARG_ARRAYTYPE_P(4), TEXTOID, -1, false,
						  TYPALIGN_INT, &elems, &nulls, &n);
		for (int i = 0; i < n; i++)
			if (!nulls[i])
				rec.participants = lappend(rec.participants,
										   TextDatumGetCString(elems[i]));
	}
	if (!PG_ARGISNULL(5))
		rec.error = text_to_cstring(PG_GETARG_TEXT_PP(5));
	if (digest)
		rec.result_digest = (const uint8 *) VARDATA_ANY(digest);
	if (!PG_ARGISNULL(7))
	{
		Datum	   *elems;
		bool	   *nulls;
		int			n;

		deconstruct_array(PG_GETARG_ARRAYTYPE_P(7), TEXTOID, -1, false,
						  TYPALIGN_INT, &elems, &nulls, &n);
		for (int i = 0; i < n; i++)
			if (!nulls[i])
				rec.unfinished = lappend(rec.unfinished,
										 TextDatumGetCString(elems[i]));
	}
	smpc_audit_record(&rec);
	PG_RETURN_VOID();
}
