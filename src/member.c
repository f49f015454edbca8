/*
 * member.c
 *		The member's side: smpc.exchange(bytea) RETURNS bytea, the one entry
 *		point other nodes call, and the checks every request passes first.
 *
 * The DBA grants EXECUTE on smpc.exchange to the role peers log in as; that
 * role needs no table privileges.  Every request must be:
 *	 - a well-formed message of a supported protocol version, no larger than
 *	   smpc.max_message_size;
 *	 - addressed to this node's key;
 *	 - signed by a node whose key is pinned on one of this node's member
 *	   servers, and that server must belong to the named federation here;
 *	 - fresh (timestamp within smpc.max_clock_skew) and not seen before.
 * Each refusal is an ERROR with a SQLSTATE of class 28 (see smpc.h), which
 * the querying node re-raises with this member's name.
 */
#include "postgres.h"

#include <sodium.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timeout.h"
#include "utils/varlena.h"

#include "codec.h"
#include "messages.h"
#include "smpc.h"

PG_FUNCTION_INFO_V1(smpc_exchange);

static SmpcMember *FindSenderServer(const uint8 *sign_pk);
static char *KeyPrefix(const uint8 *sign_pk);
static bytea *HandlePing(SmpcRequest *req);
static bytea *HandleDescribe(SmpcRequest *req);
static void WatchClient(void);
static bool CalledAlone(void);

/*
 * smpc_list_member_servers
 *		Names (char *) of every server of the smpc wrapper that is a member
 *		(not a federation), in name order.
 */
List *
smpc_list_member_servers(void)
{
	List	   *result = NIL;
	MemoryContext caller = CurrentMemoryContext;
	int			ret;

	SPI_connect();
	ret = SPI_execute("SELECT s.srvname::text FROM pg_catalog.pg_foreign_server s "
					  "JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw "
					  "WHERE w.fdwname = 'smpc' ORDER BY 1", true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not list smpc servers: %s", SPI_result_code_string(ret));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		MemoryContext old = MemoryContextSwitchTo(caller);

		result = lappend(result, pstrdup(name));
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return result;
}

/* The member server pinning sign_pk, or NULL. */
static SmpcMember *
FindSenderServer(const uint8 *sign_pk)
{
	List	   *names = smpc_list_member_servers();
	ListCell   *lc;

	foreach(lc, names)
	{
		ForeignServer *server = GetForeignServerByName(lfirst(lc), false);
		SmpcMember *m;

		if (smpc_is_federation_server(server))
			continue;
		m = smpc_get_member(server->servername);
		if (sodium_memcmp(m->key.sign_pk, sign_pk, SMPC_SIGN_PK_BYTES) == 0)
			return m;
	}
	return NULL;
}

/* First 12 base64 characters of a signing key, to name an unknown key. */
static char *
KeyPrefix(const uint8 *sign_pk)
{
	char		b64[sodium_base64_ENCODED_LEN(SMPC_SIGN_PK_BYTES,
											  sodium_base64_VARIANT_URLSAFE_NO_PADDING)];

	sodium_bin2base64(b64, sizeof(b64), sign_pk, SMPC_SIGN_PK_BYTES,
					  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	b64[12] = '\0';
	return pstrdup(b64);
}

/* smpc_signed_response: sign a RESPONSE or ERROR to req carrying payload. */
bytea *
smpc_signed_response(const SmpcRequest *req, uint8 type, const uint8 *payload,
					 size_t len)
{
	const smpc_identity *self = smpc_node_identity(false, NULL);
	smpc_signed_msg m;
	uint8	   *out;
	size_t		outlen;
	bytea	   *result;

	memset(&m, 0, sizeof(m));
	m.type = type;
	memcpy(m.session_id, req->msg.session_id, SMPC_SESSION_ID_BYTES);
	m.round = req->msg.round;
	m.timestamp_ms = smpc_now_ms();
	memcpy(m.sender_pk, self->sign_pk, SMPC_SIGN_PK_BYTES);
	memcpy(m.recipient_pk, req->msg.sender_pk, SMPC_SIGN_PK_BYTES);
	m.payload = payload;
	m.payload_len = len;
	smpc_check_core_status(smpc_msg_encode_signed(&m, self, &out, &outlen),
						   "sign the response");
	result = palloc(VARHDRSZ + outlen);
	SET_VARSIZE(result, VARHDRSZ + outlen);
	memcpy(VARDATA(result), out, outlen);
	return result;
}

/* PING: answer with this node's name and software version. */
static bytea *
HandlePing(SmpcRequest *req)
{
	const char *name;
	smpc_ping_reply p;
	uint8	   *out;
	size_t		outlen;

	smpc_check_core_status(smpc_reader_finish(&req->body), "decode the ping request");
	(void) smpc_node_identity(false, &name);
	p.node_name.ptr = name;
	p.node_name.len = strlen(name);
	p.extension_version.ptr = SMPC_EXTENSION_VERSION;
	p.extension_version.len = strlen(SMPC_EXTENSION_VERSION);
	smpc_check_core_status(smpc_ping_reply_encode(&p, &out, &outlen),
						   "encode the ping reply");
	return smpc_signed_response(req, SMPC_MSG_RESPONSE, out, outlen);
}

/* True if the dataset is offered to the federation the request names. */
static bool
DatasetInFederation(const SmpcDataset *ds, const char *federation)
{
	ListCell   *lc;

	if (ds->federations == NIL)
		return true;
	foreach(lc, ds->federations)
		if (strcmp(lfirst(lc), federation) == 0)
			return true;
	return false;
}

/*
 * DESCRIBE: the published columns and types of the datasets asked for, or
 * of every dataset this node offers to the federation.  Asking for one that
 * is not published (to this federation) is an error naming it.
 */
static bytea *
HandleDescribe(SmpcRequest *req)
{
	smpc_str	names[SMPC_MAX_DATASETS];
	size_t		nnames;
	List	   *datasets = NIL;
	smpc_dataset_desc *desc;
	int			i = 0;
	ListCell   *lc;
	uint8	   *out;
	size_t		outlen;

	smpc_check_core_status(smpc_reader_get_str_list(&req->body, names, SMPC_MAX_DATASETS,
													SMPC_MAX_NAME_LEN, &nnames),
						   "decode the describe request");
	smpc_check_core_status(smpc_reader_finish(&req->body), "decode the describe request");

	if (nnames == 0)
	{
		foreach(lc, smpc_list_datasets())
		{
			SmpcDataset *ds = smpc_lookup_dataset(lfirst(lc), false);

			if (DatasetInFederation(ds, req->federation->name))
				datasets = lappend(datasets, ds);
		}
	}
	for (size_t n = 0; n < nnames; n++)
	{
		char	   *name = pnstrdup(names[n].ptr, names[n].len);
		SmpcDataset *ds = smpc_lookup_dataset(name, true);

		if (ds == NULL || !DatasetInFederation(ds, req->federation->name))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("dataset \"%s\" is not published to federation \"%s\"",
							name, req->federation->name),
					 errhint("The member's DBA publishes it with smpc.publish().")));
		datasets = lappend(datasets, ds);
	}

	desc = palloc0(sizeof(smpc_dataset_desc) * (list_length(datasets) + 1));
	foreach(lc, datasets)
	{
		SmpcDataset *ds = lfirst(lc);
		ListCell   *lc2;
		int			c = 0;

		desc[i].name.ptr = ds->name;
		desc[i].name.len = strlen(ds->name);
		desc[i].ncolumns = list_length(ds->columns);
		desc[i].columns = palloc0(sizeof(smpc_column_desc) * desc[i].ncolumns);
		foreach(lc2, ds->columns)
		{
			SmpcDatasetColumn *col = lfirst(lc2);

			desc[i].columns[c].name.ptr = col->name;
			desc[i].columns[c].name.len = strlen(col->name);
			desc[i].columns[c].type_name.ptr = col->type_name;
			desc[i].columns[c].type_name.len = strlen(col->type_name);
			desc[i].columns[c].group_policy = (uint8) col->group_policy;
			c++;
		}
		i++;
	}
	smpc_check_core_status(smpc_describe_reply_encode(desc, i, &out, &outlen),
						   "encode the describe reply");
	return smpc_signed_response(req, SMPC_MSG_RESPONSE, out, outlen);
}

/*
 * Make sure this backend notices when the querying node goes away while a
 * request is being handled: PostgreSQL checks the client connection every
 * client_connection_check_interval during a query; smpc sets it to one
 * second for its peers' sessions unless the DBA chose a value.  The
 * querying node relies on this to stop members after a cancel, a timeout or
 * an error: it closes the connection instead of sending a cancel request.
 */
static void
WatchClient(void)
{
	if (MyProcPort == NULL)
		return;
	if (client_connection_check_interval <= 0)
		SetConfigOption("client_connection_check_interval", "1s",
						PGC_USERSET, PGC_S_SESSION);
	if (client_connection_check_interval > 0 &&
		!get_timeout_active(CLIENT_CONNECTION_CHECK_TIMEOUT))
		enable_timeout_after(CLIENT_CONNECTION_CHECK_TIMEOUT,
							 client_connection_check_interval);
}

/*
 * Is smpc.exchange the whole statement, as the querying node sends it
 * ("SELECT smpc.exchange($1)"; a literal instead of $1 for tools and
 * tests), outside a transaction block?  A member's audit record commits
 * with the call; a surrounding transaction block, a second statement in
 * the same query string, or another expression in the same statement could
 * roll it back after the member answered, and the peer would have erased
 * the member's record of the session.
 */
static bool
CalledAlone(void)
{
	const char *p = debug_query_string;

	if (IsTransactionBlock() || p == NULL)
		return false;
#define SKIP_SPACE() while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++
#define EXPECT(word) \
	do { \
		SKIP_SPACE(); \
		if (pg_strncasecmp(p, (word), strlen(word)) != 0) \
			return false; \
		p += strlen(word); \
	} while (0)
	EXPECT("select");
	if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
		return false;
	EXPECT("smpc.exchange");
	EXPECT("(");
	SKIP_SPACE();
	if (p[0] == '$' && p[1] == '1')
		p += 2;
	else if (*p == '\'')
	{
		/* one string literal, no quotes inside, optionally cast to bytea */
		p = strchr(p + 1, '\'');
		if (p == NULL)
			return false;
		p++;
		SKIP_SPACE();
		if (p[0] == ':' && p[1] == ':')
			EXPECT("::bytea");
	}
	else
		return false;
	EXPECT(")");
	SKIP_SPACE();
	if (*p == ';')
		p++;
	SKIP_SPACE();
	return *p == '\0';
#undef SKIP_SPACE
#undef EXPECT
}

/*
 * smpc.exchange(request bytea) RETURNS bytea
 *		Verify a request from another node and answer it.
 */
Datum
smpc_exchange(PG_FUNCTION_ARGS)
{
	bytea	   *raw = PG_GETARG_BYTEA_PP(0);
	const uint8 *data = (const uint8 *) VARDATA_ANY(raw);
	size_t		len = VARSIZE_ANY_EXHDR(raw);
	const smpc_identity *self;
	SmpcRequest req;
	smpc_request_header h;
	char	   *fedname;
	ListCell   *lc;
	bool		in_federation = false;
	int			rc;

	WatchClient();
	if (!CalledAlone())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("smpc.exchange must be called on its own, outside a transaction block"),
				 errdetail("A member's audit record commits with the call; a surrounding transaction or statement could roll it back."),
				 errhint("Send exactly SELECT smpc.exchange($1) in autocommit mode, as querying nodes do.")));
	/*
	 * Also refuse a pipeline, and commit right after this statement even as
	 * the first of a pipeline, so nothing sent after it can roll it back.
	 */
	PreventInTransactionBlock(true, "smpc.exchange");
	if (len > (size_t) smpc_max_message_size)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("smpc request of %zu bytes exceeds smpc.max_message_size (%d bytes)",
						len, smpc_max_message_size)));
	rc = smpc_msg_decode_signed(data, len, (size_t) smpc_max_message_size, &req.msg);
	if (rc == SMPC_ERR_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("unsupported smpc protocol version %u",
						len >= 6 ? (unsigned) (data[4] | (data[5] << 8)) : 0),
				 errdetail("This member speaks smpc protocol version %d.",
						   SMPC_PROTOCOL_VERSION),
				 errhint("Run the same smpc version on every member.")));
	if (rc != SMPC_OK)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("malformed smpc request: %s", smpc_status_message(rc))));
	if (req.msg.type == SMPC_MSG_RESPONSE || req.msg.type == SMPC_MSG_ERROR)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("malformed smpc request: a %s message is not a request",
						smpc_msg_type_name(req.msg.type))));

	self = smpc_node_identity(false, NULL);
	if (sodium_memcmp(req.msg.recipient_pk, self->sign_pk, SMPC_SIGN_PK_BYTES) != 0)
	{
		smpc_public_key pk;

		smpc_identity_public(self, &pk);
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_KEY_MISMATCH),
				 errmsg("request is addressed to a different node key"),
				 errdetail("The request is for the key beginning \"%s\", but this node's key begins \"%s\" (fingerprint %s).",
						   KeyPrefix(req.msg.recipient_pk), KeyPrefix(self->sign_pk),
						   smpc_fingerprint_text(&pk)),
				 errhint("The querying node pinned a wrong node_key for this member; compare fingerprints out of band.")));
	}

	req.sender = FindSenderServer(req.msg.sender_pk);
	if (req.sender == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_UNKNOWN_NODE),
				 errmsg("request from unknown node"),
				 errdetail("No member server on this node pins the key beginning \"%s\".",
						   KeyPrefix(req.msg.sender_pk)),
				 errhint("If the node is a member, create a server for it with its node_key.")));
	if ((rc = smpc_msg_verify(&req.msg, req.sender->key.sign_pk)) != SMPC_OK)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_BAD_SIGNATURE),
				 errmsg("invalid signature on request from node \"%s\"", req.sender->name)));

	smpc_reader_init(&req.body, req.msg.payload, req.msg.payload_len);
	smpc_check_core_status(smpc_request_header_get(&req.body, &h), "decode the request header");
	fedname = pnstrdup(h.federation.ptr, h.federation.len);
	req.initiator_role = pnstrdup(h.initiator_role.ptr, h.initiator_role.len);

	/* the sender must belong to the named federation on this node */
	{
		ForeignServer *fs = GetForeignServerByName(fedname, true);

		if (fs == NULL || !smpc_is_federation_server(fs))
			ereport(ERROR,
					(errcode(ERRCODE_SMPC_NOT_FEDERATION_MEMBER),
					 errmsg("federation \"%s\" does not exist on this node", fedname),
					 errhint("Every member defines the federation under the same name.")));
	}
	req.federation = smpc_get_federation(fedname);
	foreach(lc, req.federation->members)
		if (((SmpcMember *) lfirst(lc))->serverid == req.sender->serverid)
			in_federation = true;
	if (!in_federation)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_NOT_FEDERATION_MEMBER),
				 errmsg("node \"%s\" is not a member of federation \"%s\" on this node",
						req.sender->name, fedname)));

	/* only verified requests reach the replay cache, so it cannot be flooded */
	smpc_replay_check_and_remember(&req.msg, req.sender->name);

	switch (req.msg.type)
	{
		case SMPC_MSG_PING:
			PG_RETURN_BYTEA_P(HandlePing(&req));
		case SMPC_MSG_DESCRIBE:
			PG_RETURN_BYTEA_P(HandleDescribe(&req));
		case SMPC_MSG_PREPARE:
		case SMPC_MSG_SHARE:
		case SMPC_MSG_COMBINE:
		case SMPC_MSG_REVEAL:
		case SMPC_MSG_FINISH:
		case SMPC_MSG_INTERSECT:
		case SMPC_MSG_HOP:
			PG_RETURN_BYTEA_P(smpc_member_session(&req));
		default:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("smpc request type %s is not supported by this member",
							smpc_msg_type_name(req.msg.type))));
	}
	PG_RETURN_NULL();			/* not reached */
}
