/*
 * session.c
 *		The member's side of a joint query (PREPARE, SHARE, COMBINE, REVEAL,
 *		FINISH), and the cryptographic steps every party takes, the querying
 *		node included: share, add the shares received, commit to and open the
 *		share-sums, reconstruct with a consistency check.
 *
 * A member keeps one session per backend between rounds: the querying node
 * talks to it over one cached connection, so every round of a session
 * reaches the same backend.  A new PREPARE supersedes an unfinished session
 * (recorded as incomplete in the audit log).
 *
 * Rounds and what the member learns:
 *	PREPARE  verify participants, threshold, dataset and policy; run the
 *			 local aggregate.  Public group domain (or no GROUP BY): share at
 *			 once and return one sealed envelope per other party.  Revealed
 *			 keys: return this member's group keys.
 *	SHARE	 (revealed keys only) the union of all parties' keys; share in
 *			 that order and return the envelopes.
 *	COMBINE  the envelopes addressed to this member; add them to its own
 *			 share and return a commitment to the share-sums.
 *	REVEAL	 every party's commitment; open this member's.
 *	FINISH	 every party's opening; verify each against its commitment,
 *			 reconstruct and check consistency, write the audit record and
 *			 return a digest of the result, which the querying node compares
 *			 with its own.
 *
 * A private set intersection session (psi.c, and joint.c's RunIntersect):
 *	INTERSECT run the dataset query (its key, grouped by), hash the keys
 *			 for the session, raise them to a fresh secret scalar and return
 *			 the sorted list.  Refused (42S03) below min_set_size.
 *	HOP h	 the list of the party h places before this one; refused below
 *			 min_set_size, else raised to the scalar and returned sorted.
 *	FINISH	 write the audit record; the member is not told the count.
 *
 * Any error after the request was verified is answered with a signed ERROR
 * message, not an SQL error, so that the member's audit record of the
 * failure commits; the session is then discarded.
 */
#include "postgres.h"

#include <sodium.h>

#include "access/xact.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"

#include "encode.h"
#include "fault.h"
#include "psi.h"
#include "shamir.h"
#include "smpc.h"

/* the member's state between rounds */
typedef struct MemberSession
{
	uint8		session_id[SMPC_SESSION_ID_BYTES];
	uint8		next;			/* the message type expected next */
	char	   *federation;
	char	   *initiator_node;
	char	   *initiator_role;
	char	   *dataset;
	char	   *sql;
	int			nparties;
	int			self;
	int			threshold;
	SmpcParty  *parties;
	int			ngroupcols;
	int			nvalues;
	int			width;			/* field elements per group */
	/* local groups: keys and encoded values, until shared */
	int			nlocal;
	char	  **local_keys;
	smpc_fe    *local_values;
	/* after sharing */
	int			ngroups;
	size_t		nvals;			/* ngroups * width */
	smpc_fe    *sums;			/* own share, then share-sums */
	uint8		opening[SMPC_COMMIT_OPENING_BYTES];
	uint8		commitment[SMPC_COMMIT_BYTES];
	bool	   *committed;		/* parties with a commitment in REVEAL */
	uint8	   *commitments;	/* nparties * SMPC_COMMIT_BYTES */
	/* a private set intersection session */
	bool		intersect;
	int			hop;			/* the HOP expected next */
	int			min_set_size;	/* the dataset's, for every list processed */
	uint8		scalar[SMPC_PSI_SCALAR_BYTES];	/* this session's secret */
} MemberSession;

static MemoryContext SessionContext = NULL;
static MemberSession *Current = NULL;

/* smpc.session_timeout: how long a member waits for a session's next round */
int			smpc_session_timeout_ms = 5 * 60 * 1000;
/* smpc.max_sessions: joint sessions a member takes part in at once */
int			smpc_max_sessions = 100;

static bool ExitCallbackRegistered = false;
static bool ForeignRequest = false;	/* the request is not for the session in progress */
static char *SavedIdleTimeout = NULL;	/* idle_session_timeout before a session */

static bytea *Dispatch(SmpcRequest *req);
static bytea *HandlePrepare(SmpcRequest *req);
static bytea *HandleShare(SmpcRequest *req);
static bytea *HandleCombine(SmpcRequest *req);
static bytea *HandleReveal(SmpcRequest *req);
static bytea *HandleFinish(SmpcRequest *req);
static bytea *HandleIntersect(SmpcRequest *req);
static bytea *HandleHop(SmpcRequest *req);
static bytea *HandleIntersectFinish(SmpcRequest *req);
static bytea *ShareInOrder(SmpcRequest *req, const smpc_key_list *order,
						   uint8 reply_kind);
static void Audit(const uint8 *session_id, const char *outcome, const char *error,
				  const uint8 *digest, List *unfinished);
static void DiscardSession(void);
static bytea *ErrorResponse(SmpcRequest *req, ErrorData *ed);
static void Malformed(int rc, const char *what) pg_attribute_noreturn();
static void SessionTimeoutArm(bool on);
static void MemberExit(int code, Datum arg);

/*
 * smpc_session_init
 *		The member's session GUCs; called from _PG_init.
 */
void
smpc_session_init(void)
{
	DefineCustomIntVariable("smpc.session_timeout",
							"How long a member waits for the next round of a joint session.",
							"A member whose querying node goes silent between rounds "
							"closes the connection after this long and records the "
							"session as incomplete.",
							&smpc_session_timeout_ms,
							5 * 60 * 1000, 1000, INT_MAX,
							PGC_SUSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("smpc.max_sessions",
							"Joint sessions this node takes part in at once as a member.",
							"Further PREPARE requests are refused until a session ends.",
							&smpc_max_sessions,
							100, 1, 100000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);
}

/* ---------------------------------------------------------------- member */

/*
 * smpc_member_session
 *		Handle one verified protocol message.  Errors become a signed ERROR
 *		answer after the audit record is written, except cancellation and
 *		shutdown, which propagate.
 */
bytea *
smpc_member_session(SmpcRequest *req)
{
	MemoryContext caller = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	bytea	   *volatile result = NULL;

	/* a cancelled session may have left the idle timeout armed */
	if (Current == NULL)
		SessionTimeoutArm(false);

	/*
	 * A new PREPARE ends the session in progress on this connection; its
	 * record is written here, outside the subtransaction, so that a failing
	 * new session cannot take it back.
	 */
	if ((req->msg.type == SMPC_MSG_PREPARE || req->msg.type == SMPC_MSG_INTERSECT) &&
		Current != NULL)
	{
		Audit(Current->session_id, "incomplete",
			  "superseded by a new session before FINISH", NULL, NIL);
		DiscardSession();
	}
	ForeignRequest = false;
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(caller);
	PG_TRY();
	{
		result = Dispatch(req);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller);
		CurrentResourceOwner = owner;
		SessionTimeoutArm(Current != NULL);
	}
	PG_CATCH();
	{
		ErrorData  *ed;

		MemoryContextSwitchTo(caller);
		ed = CopyErrorData();
		if (ed->sqlerrcode == ERRCODE_QUERY_CANCELED ||
			ERRCODE_TO_CATEGORY(ed->sqlerrcode) == ERRCODE_OPERATOR_INTERVENTION)
		{
			DiscardSession();
			PG_RE_THROW();
		}
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller);
		CurrentResourceOwner = owner;

		if (ForeignRequest)
		{
			/*
			 * a request that is not part of the session in progress is
			 * recorded under its own session id; the session goes on
			 */
			MemberSession *live = Current;

			Current = NULL;
			Audit(req->msg.session_id, "failed", ed->message, NULL, NIL);
			Current = live;
		}
		else
		{
			Audit(req->msg.session_id,
				  ed->sqlerrcode == ERRCODE_SMPC_POLICY_VIOLATION ||
				  ed->sqlerrcode == ERRCODE_SMPC_SET_TOO_SMALL ||
				  ERRCODE_TO_CATEGORY(ed->sqlerrcode) == ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION
				  ? "refused" : "failed",
				  ed->message, NULL, NIL);
			DiscardSession();
			SessionTimeoutArm(false);
		}
		result = ErrorResponse(req, ed);
	}
	PG_END_TRY();
	return result;
}

static bytea *
Dispatch(SmpcRequest *req)
{
	SmpcFaultHooks *hooks = smpc_fault_hooks();

	if (hooks && hooks->member_round)
		hooks->member_round(req->msg.type);
	if (req->msg.type == SMPC_MSG_PREPARE)
		return HandlePrepare(req);
	if (req->msg.type == SMPC_MSG_INTERSECT)
		return HandleIntersect(req);
	if (Current == NULL ||
		memcmp(Current->session_id, req->msg.session_id, SMPC_SESSION_ID_BYTES) != 0 ||
		sodium_memcmp(Current->parties[0].key.sign_pk, req->msg.sender_pk,
					  SMPC_SIGN_PK_BYTES) != 0)
	{
		ForeignRequest = true;
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("no joint session in progress for this %s request",
						smpc_msg_type_name(req->msg.type)),
				 errhint("A joint session starts with PREPARE on the same connection.")));
	}
	if (req->msg.type != Current->next)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("unexpected %s request: the session expects %s",
						smpc_msg_type_name(req->msg.type),
						smpc_msg_type_name(Current->next))));
	switch (req->msg.type)
	{
		case SMPC_MSG_SHARE:
			return HandleShare(req);
		case SMPC_MSG_COMBINE:
			return HandleCombine(req);
		case SMPC_MSG_REVEAL:
			return HandleReveal(req);
		case SMPC_MSG_FINISH:
			return Current->intersect ? HandleIntersectFinish(req) : HandleFinish(req);
		case SMPC_MSG_HOP:
			return HandleHop(req);
	}
	elog(ERROR, "unexpected message type %d", req->msg.type);
	return NULL;
}

static void
Malformed(int rc, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROTOCOL_VIOLATION),
			 errmsg("malformed %s request: %s", what, smpc_status_message(rc))));
}

/* The member server of federation fed pinning sign_pk, or NULL. */
static SmpcMember *
FederationMemberByKey(SmpcFederation *fed, const uint8 *sign_pk)
{
	ListCell   *lc;

	foreach(lc, fed->members)
	{
		SmpcMember *m = lfirst(lc);

		if (sodium_memcmp(m->key.sign_pk, sign_pk, SMPC_SIGN_PK_BYTES) == 0)
			return m;
	}
	return NULL;
}

static bool
KeyListsEqual(const smpc_key_list *a, const smpc_key_list *b)
{
	if (a->ngroups != b->ngroups || a->ncols != b->ncols)
		return false;
	for (size_t i = 0; i < (size_t) a->ngroups * a->ncols; i++)
	{
		const smpc_key_cell *x = &a->cells[i];
		const smpc_key_cell *y = &b->cells[i];

		if (x->isnull != y->isnull || x->value.len != y->value.len ||
			memcmp(x->value.ptr, y->value.ptr, x->value.len) != 0)
			return false;
	}
	return true;
}

/*
 * BeginSession
 *		Start a member session for a PREPARE or INTERSECT request: take a
 *		session slot, resolve the participants (the sender first, this node,
 *		members pinned here), check their number and (threshold >= 0) the
 *		threshold, and find the dataset offered to the federation.  From
 *		here on failures are audited with the session.
 */
static SmpcDataset *
BeginSession(SmpcRequest *req, uint16 nparties, const uint8 *pks, smpc_str dataset,
			 smpc_str sql, int threshold)
{
	const smpc_identity *self_id;
	const char *self_name;
	SmpcFederation *fed = req->federation;
	MemberSession *s;
	SmpcDataset *ds;
	char	   *dsname;
	bool		listed;

	if (!ExitCallbackRegistered)
	{
		before_shmem_exit(MemberExit, (Datum) 0);
		ExitCallbackRegistered = true;
	}
	if (!smpc_session_slot_acquire(smpc_max_sessions))
		ereport(ERROR,
				(errcode(ERRCODE_TOO_MANY_CONNECTIONS),
				 errmsg("this member already takes part in %d joint sessions", smpc_max_sessions),
				 errdetail("smpc.max_sessions limits the joint sessions a member serves at once."),
				 errhint("Retry later, or ask the member's DBA to raise smpc.max_sessions.")));
	if (SessionContext == NULL)
		SessionContext = AllocSetContextCreate(TopMemoryContext, "smpc member session",
											   ALLOCSET_DEFAULT_SIZES);

	s = MemoryContextAllocZero(SessionContext, sizeof(MemberSession));
	memcpy(s->session_id, req->msg.session_id, SMPC_SESSION_ID_BYTES);
	s->federation = MemoryContextStrdup(SessionContext, fed->name);
	s->initiator_node = MemoryContextStrdup(SessionContext, req->sender->name);
	s->initiator_role = MemoryContextStrdup(SessionContext, req->initiator_role);
	s->dataset = MemoryContextStrdup(SessionContext, pnstrdup(dataset.ptr, dataset.len));
	s->sql = MemoryContextStrdup(SessionContext, pnstrdup(sql.ptr, sql.len));
	s->nparties = nparties;
	s->threshold = threshold;
	s->parties = MemoryContextAllocZero(SessionContext, sizeof(SmpcParty) * nparties);
	s->self = -1;
	Current = s;				/* from here on, failures are audited with the session */

	/* who takes part: the sender first, this node, members pinned here */
	self_id = smpc_node_identity(false, &self_name);
	if (memcmp(pks, req->msg.sender_pk, SMPC_SIGN_PK_BYTES) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("malformed %s request: the querying node is not the first participant",
						smpc_msg_type_name(req->msg.type))));
	for (int i = 0; i < nparties; i++)
	{
		const uint8 *pk = pks + (size_t) i * SMPC_SIGN_PK_BYTES;
		SmpcParty  *party = &s->parties[i];

		if (i == 0)
		{
			party->name = s->initiator_node;
			party->key = req->sender->key;
		}
		else if (sodium_memcmp(pk, self_id->sign_pk, SMPC_SIGN_PK_BYTES) == 0)
		{
			s->self = i;
			party->name = MemoryContextStrdup(SessionContext, self_name);
			smpc_identity_public(self_id, &party->key);
		}
		else
		{
			SmpcMember *m = FederationMemberByKey(fed, pk);

			if (m == NULL)
			{
				char		b64[64];

				sodium_bin2base64(b64, sizeof(b64), pk, SMPC_SIGN_PK_BYTES,
								  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
				b64[12] = '\0';
				ereport(ERROR,
						(errcode(ERRCODE_SMPC_UNKNOWN_NODE),
						 errmsg("participant %d of the joint query is not a member of federation \"%s\" on this node",
								i + 1, fed->name),
						 errdetail("No member server of the federation pins the key beginning \"%s\".", b64),
						 errhint("Every member must pin every other member's node_key and list it in the federation.")));
			}
			party->name = MemoryContextStrdup(SessionContext, m->name);
			party->key = m->key;
		}
	}
	if (s->self < 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("malformed %s request: this node is not a participant",
						smpc_msg_type_name(req->msg.type))));
	if (nparties < fed->min_members)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_TOO_FEW_MEMBERS),
				 errmsg("the joint query has %d participants, fewer than federation \"%s\" requires (%d)",
						nparties, fed->name, fed->min_members),
				 errhint("Option min_members of the federation server sets the minimum.")));
	if (threshold >= 0 && (threshold < 1 || threshold < fed->threshold))
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_TOO_FEW_MEMBERS),
				 errmsg("the joint query's threshold %d is below this node's threshold %d for federation \"%s\"",
						threshold, fed->threshold, fed->name),
				 errhint("Every member must set the same threshold (or none) on the federation server.")));

	/* the dataset, offered to this federation */
	dsname = s->dataset;
	ds = smpc_lookup_dataset(dsname, true);
	listed = ds != NULL && ds->federations == NIL;
	if (ds != NULL && !listed)
	{
		ListCell   *lc;

		foreach(lc, ds->federations)
			if (strcmp(lfirst(lc), fed->name) == 0)
				listed = true;
	}
	if (!listed)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("dataset \"%s\" is not published to federation \"%s\"",
						dsname, fed->name),
				 errhint("The member's DBA publishes it with smpc.publish().")));
	return ds;
}

static bytea *
HandlePrepare(SmpcRequest *req)
{
	smpc_prepare p;
	MemberSession *s;
	SmpcDataset *ds;
	SmpcLocalResult *lr;
	int			rc;

	memset(&p, 0, sizeof(p));
	if ((rc = smpc_reader_get_prepare(&req->body, (uint32) smpc_max_groups, &p)) != SMPC_OK)
		Malformed(rc, "prepare");
	ds = BeginSession(req, p.nparties, p.parties, p.dataset, p.sql, p.threshold);
	s = Current;
	s->ngroupcols = p.groups.ncols;
	s->nvalues = p.nvalues;
	s->width = (int) smpc_value_width(p.values, p.nvalues);

	/* the policy check and the local aggregate */
	lr = smpc_local_aggregate(ds, s->sql, p.groups.ncols, p.nvalues, p.values);
	s->nlocal = lr->ngroups;
	if (lr->width != s->width)
		elog(ERROR, "local values take %d field elements per group, the request %d",
			 lr->width, s->width);

	if (p.reveal_keys)
	{
		smpc_key_list mine;
		ListCell   *lc;

		/* keys of a public domain are never revealed */
		foreach(lc, lr->group_columns)
		{
			ListCell   *lc2;

			foreach(lc2, ds->columns)
			{
				SmpcDatasetColumn *col = lfirst(lc2);

				if (strcmp(col->name, lfirst(lc)) == 0 &&
					col->group_policy != SMPC_GROUP_REVEAL)
					ereport(ERROR,
							(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
							 errmsg("group keys of column \"%s\" of dataset \"%s\" may not be revealed",
									col->name, ds->name),
							 errdetail("This member publishes the column with a public domain, whose keys are never exchanged."),
							 errhint("Publish the column with the same group key policy on every member.")));
			}
		}
		s->local_keys = MemoryContextAllocZero(SessionContext,
											   sizeof(char *) * Max(1, lr->ngroups * lr->ngroupcols));
		for (int i = 0; i < lr->ngroups * lr->ngroupcols; i++)
			if (lr->keys[i])
				s->local_keys[i] = MemoryContextStrdup(SessionContext, lr->keys[i]);
		s->local_values = MemoryContextAlloc(SessionContext,
											 sizeof(smpc_fe) * Max(1, (size_t) lr->ngroups * lr->width));
		memcpy(s->local_values, lr->values, sizeof(smpc_fe) * lr->ngroups * lr->width);
		sodium_memzero(lr->values, sizeof(smpc_fe) * lr->ngroups * lr->width);
		s->next = SMPC_MSG_SHARE;

		smpc_key_list_from_local(lr, &mine);
		{
			uint8	   *out;
			size_t		outlen;

			smpc_check_core_status(smpc_prepare_reply_encode(SMPC_PREPARE_REPLY_KEYS, NULL, 0,
															 &mine, &out, &outlen),
								   "encode the prepare reply");
			return smpc_signed_response(req, SMPC_MSG_RESPONSE, out, outlen);
		}
	}
	else
	{
		smpc_key_list domain;

		if (p.groups.ncols > 0)
		{
			if (!smpc_public_groups(ds, lr->group_columns, &domain))
				ereport(ERROR,
						(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
						 errmsg("the joint query treats a group key of dataset \"%s\" as public, but this member does not",
								ds->name),
						 errhint("Publish the group key columns with the same policy on every member.")));
			if (!KeyListsEqual(&domain, &p.groups))
				ereport(ERROR,
						(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
						 errmsg("the public group key domain of dataset \"%s\" differs from this member's declaration",
								ds->name),
						 errhint("Every member must declare the same values, in the same order.")));
		}
		else if (p.groups.ngroups != 1)
			Malformed(SMPC_ERR_MALFORMED, "prepare");
		s->local_keys = lr->keys;	/* used now only */
		s->local_values = lr->values;
		return ShareInOrder(req, &p.groups, SMPC_PREPARE_REPLY_SHARES);
	}
}

/*
 * Share the local values laid out in the agreed group order; answer with
 * the envelopes (as a PREPARE reply of kind SHARES, or a SHARE reply).
 */
static bytea *
ShareInOrder(SmpcRequest *req, const smpc_key_list *order, uint8 reply_kind)
{
	MemberSession *s = Current;
	int		   *map;
	smpc_fe    *secrets;
	smpc_fe    *own;
	smpc_envelope_item *items;
	uint8	   *out;
	size_t		outlen;
	size_t		nvals;

	if (order->ncols != s->ngroupcols)
		Malformed(SMPC_ERR_MALFORMED, "share");
	map = smpc_map_groups(order, s->local_keys, s->nlocal, s->ngroupcols,
						  reply_kind == SMPC_PREPARE_REPLY_SHARES
						  ? "public group key domain" : "union of the group keys");
	s->ngroups = s->ngroupcols == 0 ? 1 : (int) order->ngroups;
	nvals = (size_t) s->ngroups * s->width;
	smpc_check_joint_size(s->ngroups, s->width);
	s->nvals = nvals;
	secrets = palloc0(sizeof(smpc_fe) * Max(nvals, 1));
	for (int g = 0; g < s->nlocal; g++)
		for (int v = 0; v < s->width; v++)
		{
			smpc_fe    *slot = &secrets[(size_t) map[g] * s->width + v];

			*slot = smpc_fe_add(*slot, s->local_values[(size_t) g * s->width + v]);
		}

	items = palloc0(sizeof(smpc_envelope_item) * s->nparties);
	own = smpc_share_secrets(s->session_id, s->parties, s->nparties, s->self,
							 s->threshold, secrets, nvals, items);
	sodium_memzero(secrets, sizeof(smpc_fe) * Max(nvals, 1));
	sodium_memzero(s->local_values, sizeof(smpc_fe) * Max(1, (size_t) s->nlocal * s->width));
	s->local_values = NULL;
	s->local_keys = NULL;
	s->sums = MemoryContextAlloc(SessionContext, sizeof(smpc_fe) * Max(nvals, 1));
	memcpy(s->sums, own, sizeof(smpc_fe) * nvals);
	sodium_memzero(own, sizeof(smpc_fe) * Max(nvals, 1));
	s->next = SMPC_MSG_COMBINE;

	if (reply_kind == SMPC_PREPARE_REPLY_SHARES)
		smpc_check_core_status(smpc_prepare_reply_encode(SMPC_PREPARE_REPLY_SHARES, items,
														 s->nparties - 1, NULL,
														 &out, &outlen),
							   "encode the prepare reply");
	else
		smpc_check_core_status(smpc_envelope_list_encode(items, s->nparties - 1,
														 &out, &outlen),
							   "encode the share reply");
	return smpc_signed_response(req, SMPC_MSG_RESPONSE, out, outlen);
}

static bytea *
HandleShare(SmpcRequest *req)
{
	smpc_key_list order;
	int			rc;

	memset(&order, 0, sizeof(order));
	rc = smpc_reader_get_key_list(&req->body, (uint32) smpc_max_groups, &order);
	if (rc == SMPC_OK)
		rc = smpc_reader_finish(&req->body);
	if (rc != SMPC_OK)
		Malformed(rc, "share");
	return ShareInOrder(req, &order, 0);
}

/* test module only: should this round's answer lie? */
static bool
FaultLie(uint8 type)
{
	SmpcFaultHooks *hooks = smpc_fault_hooks();

	return hooks && hooks->member_lie && hooks->member_lie(type);
}

static smpc_fe
FaultOne(void)
{
	smpc_fe		one;

	smpc_check_core_status(smpc_fe_from_i128((smpc_i128) 1, &one), "encode one");
	return one;
}

static bytea *
HandleCombine(SmpcRequest *req)
{
	MemberSession *s = Current;
	smpc_envelope_item *items = palloc0(sizeof(smpc_envelope_item) * SMPC_MAX_PARTIES);
	bool	   *seen = palloc0(sizeof(bool) * s->nparties);
	size_t		n;
	int			rc;

	rc = smpc_reader_get_envelope_list(&req->body, items, SMPC_MAX_PARTIES, &n);
	if (rc == SMPC_OK)
		rc = smpc_reader_finish(&req->body);
	if (rc != SMPC_OK)
		Malformed(rc, "combine");
	if (n != (size_t) s->nparties - 1)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("the combine request carries %zu envelopes, expected %d",
						n, s->nparties - 1)));
	for (size_t i = 0; i < n; i++)
	{
		int			from = -1;

		for (int j = 0; j < s->nparties; j++)
			if (j != s->self &&
				memcmp(s->parties[j].key.sign_pk, items[i].recipient_pk, SMPC_SIGN_PK_BYTES) == 0)
				from = j;
		if (from < 0 || seen[from])
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("the combine request carries an envelope from an unexpected sender")));
		seen[from] = true;
		smpc_add_envelope(s->session_id, s->parties, s->self, from,
						  items[i].env, items[i].env_len, s->sums, s->nvals);
	}
	if (FaultLie(SMPC_MSG_COMBINE))
		s->sums[0] = smpc_fe_add(s->sums[0], FaultOne());
	smpc_commit_sums(s->session_id, s->self, s->sums, s->nvals, s->opening, s->commitment);
	s->next = SMPC_MSG_REVEAL;
	return smpc_signed_response(req, SMPC_MSG_RESPONSE, s->commitment, SMPC_COMMIT_BYTES);
}

static bytea *
HandleReveal(SmpcRequest *req)
{
	MemberSession *s = Current;
	smpc_party_opening *p = palloc0(sizeof(smpc_party_opening) * SMPC_MAX_PARTIES);
	size_t		n;
	int			rc;
	uint8	   *out;
	size_t		outlen;

	rc = smpc_reader_get_commitments(&req->body, p, SMPC_MAX_PARTIES, &n);
	if (rc == SMPC_OK)
		rc = smpc_reader_finish(&req->body);
	if (rc != SMPC_OK)
		Malformed(rc, "reveal");
	if (n != (size_t) s->nparties)
		Malformed(SMPC_ERR_MALFORMED, "reveal");
	if (!p[s->self].present ||
		sodium_memcmp(p[s->self].commitment, s->commitment, SMPC_COMMIT_BYTES) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_VERIFICATION_FAILED),
				 errmsg("the reveal request does not list this member's commitment")));
	s->committed = MemoryContextAllocZero(SessionContext, sizeof(bool) * s->nparties);
	s->commitments = MemoryContextAllocZero(SessionContext, SMPC_COMMIT_BYTES * s->nparties);
	for (int i = 0; i < s->nparties; i++)
	{
		s->committed[i] = p[i].present;
		memcpy(s->commitments + (size_t) i * SMPC_COMMIT_BYTES, p[i].commitment,
			   SMPC_COMMIT_BYTES);
	}
	if (FaultLie(SMPC_MSG_REVEAL))
	{
		smpc_fe    *told = palloc(sizeof(smpc_fe) * Max(1, s->nvals));

		memcpy(told, s->sums, sizeof(smpc_fe) * s->nvals);
		told[0] = smpc_fe_add(told[0], FaultOne());
		smpc_check_core_status(smpc_reveal_reply_encode(s->opening, told, s->nvals,
														&out, &outlen),
							   "encode the reveal reply");
	}
	else
		smpc_check_core_status(smpc_reveal_reply_encode(s->opening, s->sums, s->nvals,
														&out, &outlen),
							   "encode the reveal reply");
	s->next = SMPC_MSG_FINISH;
	return smpc_signed_response(req, SMPC_MSG_RESPONSE, out, outlen);
}

static bytea *
HandleFinish(SmpcRequest *req)
{
	MemberSession *s = Current;
	smpc_party_opening *p = palloc0(sizeof(smpc_party_opening) * SMPC_MAX_PARTIES);
	smpc_fe   **sums = palloc0(sizeof(smpc_fe *) * s->nparties);
	smpc_fe    *secrets = palloc0(sizeof(smpc_fe) * Max(1, s->nvals));
	uint8		digest[SMPC_DIGEST_BYTES];
	List	   *unfinished = NIL;
	size_t		n;
	int			rc;
	int			excluded;
	bytea	   *result;

	rc = smpc_reader_get_openings(&req->body, p, SMPC_MAX_PARTIES, s->nvals, &n);
	if (rc == SMPC_OK)
		rc = smpc_reader_finish(&req->body);
	if (rc != SMPC_OK)
	{
		smpc_party_openings_free(p, SMPC_MAX_PARTIES);
		Malformed(rc, "finish");
	}
	if (n != (size_t) s->nparties || !p[s->self].present)
	{
		smpc_party_openings_free(p, n);
		Malformed(SMPC_ERR_MALFORMED, "finish");
	}
	for (int i = 0; i < s->nparties; i++)
	{
		if (!p[i].present)
		{
			unfinished = lappend(unfinished, s->parties[i].name);
			continue;
		}
		if (!s->committed[i] || p[i].nsums != s->nvals)
			ereport(ERROR,
					(errcode(ERRCODE_SMPC_VERIFICATION_FAILED),
					 errmsg("the opening of participant \"%s\" does not match its commitment",
							s->parties[i].name)));
		smpc_verify_opening(s->session_id, s->parties, i,
							s->commitments + (size_t) i * SMPC_COMMIT_BYTES,
							p[i].opening, p[i].sums, s->nvals);
		sums[i] = p[i].sums;
	}
	excluded = smpc_reconstruct(s->parties, s->nparties, s->threshold, sums, s->nvals,
								secrets);
	smpc_result_digest(s->session_id, secrets, s->nvals, digest);
	sodium_memzero(secrets, sizeof(smpc_fe) * Max(1, s->nvals));
	smpc_party_openings_free(p, n);

	if (excluded >= 0)
		unfinished = lappend(unfinished, s->parties[excluded].name);
	Audit(s->session_id, "success",
		  excluded >= 0 ? psprintf("participant \"%s\" opened share-sums inconsistent with the others'; the result was reconstructed without them",
								   s->parties[excluded].name) : NULL,
		  digest, unfinished);
	result = smpc_signed_response(req, SMPC_MSG_RESPONSE, digest, SMPC_DIGEST_BYTES);
	DiscardSession();
	return result;
}

/* ------------------------------------------- private set intersection */

/* A point list as this member's signed answer. */
static bytea *
PointsResponse(SmpcRequest *req, const uint8 *points, size_t n)
{
	uint8	   *out;
	size_t		outlen;
	int			rc = smpc_points_encode(points, n, &out, &outlen);

	if (rc == SMPC_OK && outlen > (size_t) smpc_max_message_size)
		rc = SMPC_ERR_TOO_LARGE;
	if (rc == SMPC_ERR_TOO_LARGE)
		smpc_psi_list_too_large(n);
	smpc_check_core_status(rc, "encode an intersection list");
	return smpc_signed_response(req, SMPC_MSG_RESPONSE, out, outlen);
}

/*
 * INTERSECT: run the dataset query, hash the keys for this session, raise
 * them to a fresh secret scalar and answer with the sorted list.
 */
static bytea *
HandleIntersect(SmpcRequest *req)
{
	smpc_intersect p;
	MemberSession *s;
	SmpcDataset *ds;
	uint8	   *hashes;
	uint8	   *points;
	size_t		n;
	int			rc;

	memset(&p, 0, sizeof(p));
	if ((rc = smpc_reader_get_intersect(&req->body, &p)) != SMPC_OK)
		Malformed(rc, "intersect");
	ds = BeginSession(req, p.nparties, p.parties, p.dataset, p.sql, -1);
	s = Current;
	s->intersect = true;
	s->min_set_size = ds->min_set_size;

	hashes = smpc_psi_local_set(ds, s->sql, s->session_id, p.key_class, &n);
	if (n < (size_t) ds->min_set_size)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_SET_TOO_SMALL),
				 errmsg("the set of keys of dataset \"%s\" on this member is smaller than its min_set_size (%d)",
						ds->name, ds->min_set_size),
				 errdetail("An intersection over a small set could reveal whether single keys are present."),
				 errhint("Widen the WHERE conditions.")));
	smpc_check_core_status(smpc_psi_scalar_new(s->scalar), "draw a secret scalar");
	points = palloc_extended(Max(n, 1) * SMPC_PSI_POINT_BYTES, MCXT_ALLOC_HUGE);
	smpc_psi_raise(s->scalar, hashes, n, true, points, "this member");
	pfree(hashes);
	smpc_check_core_status(smpc_psi_sort_unique(points, &n), "sort an intersection list");
	s->hop = 1;
	s->next = SMPC_MSG_HOP;		/* at least two parties: the decoder checks */
	return PointsResponse(req, points, n);
}

/*
 * HOP h: the list of the party h places before this one, raised by every
 * party in between; raise it to this member's scalar and answer sorted.
 */
static bytea *
HandleHop(SmpcRequest *req)
{
	MemberSession *s = Current;
	const uint8 *in;
	uint8	   *out;
	size_t		n;
	uint16		hop;
	int			owner;
	int			rc;

	rc = smpc_reader_get_hop(&req->body, (size_t) smpc_max_message_size / SMPC_PSI_POINT_BYTES,
							 &hop, &in, &n);
	if (rc != SMPC_OK)
		Malformed(rc, "hop");
	if (hop != s->hop)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("unexpected hop %d of the intersection: the session expects hop %d",
						hop, s->hop)));
	owner = (s->self - hop + s->nparties) % s->nparties;
	if (n < (size_t) s->min_set_size)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_SET_TOO_SMALL),
				 errmsg("the set of participant \"%s\" is smaller than this member's min_set_size (%d) for dataset \"%s\"",
						s->parties[owner].name, s->min_set_size, s->dataset),
				 errdetail("An intersection with a small set could reveal whether single keys are present."),
				 errhint("Widen the WHERE conditions.")));
	out = palloc_extended(Max(n, 1) * SMPC_PSI_POINT_BYTES, MCXT_ALLOC_HUGE);
	smpc_psi_raise(s->scalar, in, n, false, out,
				   psprintf("participant \"%s\"", s->parties[owner].name));
	smpc_check_core_status(smpc_psi_sort_unique(out, &n), "sort an intersection list");
	s->hop++;
	if (s->hop >= s->nparties)
	{
		/* every list has passed this member: its scalar is no longer needed */
		sodium_memzero(s->scalar, sizeof(s->scalar));
		s->next = SMPC_MSG_FINISH;
	}
	return PointsResponse(req, out, n);
}

/* FINISH of an intersection: record the session; this member learns no count. */
static bytea *
HandleIntersectFinish(SmpcRequest *req)
{
	bytea	   *result;

	if (smpc_reader_finish(&req->body) != SMPC_OK)
		Malformed(SMPC_ERR_TRAILING, "finish");
	Audit(Current->session_id, "success", NULL, NULL, NIL);
	result = smpc_signed_response(req, SMPC_MSG_RESPONSE, NULL, 0);
	DiscardSession();
	return result;
}

/* Append this member's audit record for the current session (or session_id). */
static void
Audit(const uint8 *session_id, const char *outcome, const char *error,
	  const uint8 *digest, List *unfinished)
{
	SmpcAuditRecord rec;
	MemberSession *s = Current;

	memset(&rec, 0, sizeof(rec));
	rec.session_id = s ? s->session_id : session_id;
	rec.node_role = "member";
	rec.outcome = outcome;
	rec.error = error;
	rec.result_digest = digest;
	rec.unfinished = unfinished;
	if (s)
	{
		rec.federation = s->federation;
		rec.initiator_node = s->initiator_node;
		rec.initiator_role = s->initiator_role;
		rec.dataset = s->dataset;
		rec.dataset_sql = s->sql;
		for (int i = 0; i < s->nparties; i++)
			if (s->parties[i].name)
				rec.participants = lappend(rec.participants, s->parties[i].name);
	}
	smpc_audit_record(&rec);
}

/* Forget the current session, zeroing what it held. */
static void
DiscardSession(void)
{
	MemberSession *s = Current;

	Current = NULL;
	smpc_session_slot_release();
	if (s == NULL)
		return;
	if (s->sums)
		sodium_memzero(s->sums, sizeof(smpc_fe) * Max(1, s->nvals));
	sodium_memzero(s->opening, sizeof(s->opening));
	sodium_memzero(s->scalar, sizeof(s->scalar));
	if (SessionContext)
		MemoryContextReset(SessionContext);
}

/*
 * While a session waits for its next round, the connection may stay idle
 * for at most smpc.session_timeout: PostgreSQL's idle_session_timeout then
 * ends the backend, and MemberExit records the session as incomplete.  The
 * setting the session had before is restored when the session ends.
 */
static void
SessionTimeoutArm(bool on)
{
	if (on && SavedIdleTimeout == NULL)
	{
		SavedIdleTimeout = MemoryContextStrdup(TopMemoryContext,
											   GetConfigOption("idle_session_timeout", false, false));
		SetConfigOption("idle_session_timeout",
						psprintf("%dms", smpc_session_timeout_ms),
						PGC_USERSET, PGC_S_SESSION);
	}
	else if (!on && SavedIdleTimeout != NULL)
	{
		SetConfigOption("idle_session_timeout", SavedIdleTimeout,
						PGC_USERSET, PGC_S_SESSION);
		pfree(SavedIdleTimeout);
		SavedIdleTimeout = NULL;
	}
}

/*
 * before_shmem_exit callback: a backend that ends with a session in
 * progress (the querying node closed the connection or went silent past
 * smpc.session_timeout, the query was cancelled, the backend was
 * terminated) records the session as incomplete, in a transaction of its
 * own, and frees its session slot.  A failure here is logged by the exit
 * path itself; the record is then missing, never partial.
 */
static void
MemberExit(int code, Datum arg)
{
	if (Current == NULL)
	{
		smpc_session_slot_release();
		return;
	}
	AbortOutOfAnyTransaction();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	Audit(Current->session_id, "incomplete",
		  "the session ended before FINISH: the querying node's connection closed, "
		  "the query was cancelled, or smpc.session_timeout passed", NULL, NIL);
	PopActiveSnapshot();
	CommitTransactionCommand();
	DiscardSession();
}

/*
 * A signed ERROR answer: str sqlstate || str message || str detail ||
 * str hint (empty when absent), each clipped to a valid prefix of at most
 * 1000 bytes.
 */
static bytea *
ErrorResponse(SmpcRequest *req, ErrorData *ed)
{
	smpc_writer w;
	const char *fields[4];
	uint8	   *out;
	size_t		outlen;

	fields[0] = unpack_sql_state(ed->sqlerrcode);
	fields[1] = ed->message ? ed->message : "unknown error";
	fields[2] = ed->detail ? ed->detail : "";
	fields[3] = ed->hint ? ed->hint : "";
	smpc_writer_init(&w, 16384);
	for (int i = 0; i < 4; i++)
	{
		int			len = strlen(fields[i]);

		if (len > 1000)
			len = pg_mbcliplen(fields[i], len, 1000);
		smpc_writer_put_str(&w, fields[i], len);
	}
	if (smpc_writer_finish(&w, &out, &outlen) != SMPC_OK)
	{
		/* not valid UTF-8 (a non-UTF8 database): say only the SQLSTATE */
		smpc_writer_init(&w, 16384);
		smpc_writer_put_str(&w, fields[0], 5);
		smpc_writer_put_str(&w, "the member reported an error", 28);
		smpc_writer_put_str(&w, "", 0);
		smpc_writer_put_str(&w, "", 0);
		smpc_check_core_status(smpc_writer_finish(&w, &out, &outlen), "encode an error");
	}
	return smpc_signed_response(req, SMPC_MSG_ERROR, out, outlen);
}

/* ------------------------------------------------- steps of every party */

/*
 * smpc_share_secrets
 *		Shamir-share nvals secrets among the parties with threshold t.  Fills
 *		items[0..nparties-2] with one sealed envelope per other party (in
 *		party order, recipient_pk naming it) and returns this party's own
 *		share vector (palloc'd).
 */
smpc_fe *
smpc_share_secrets(const uint8 *session_id, const SmpcParty *parties, int nparties,
				   int self, int threshold, const smpc_fe *secrets, size_t nvals,
				   smpc_envelope_item *items)
{
	const smpc_identity *me = smpc_node_identity(false, NULL);
	smpc_fe    *shares = palloc(sizeof(smpc_fe) * Max(1, (size_t) nparties * nvals));
	smpc_fe    *own = palloc(sizeof(smpc_fe) * Max(1, nvals));
	int			k = 0;

	smpc_check_core_status(smpc_shamir_share(secrets, nvals, threshold, nparties, shares),
						   "share the values");
	memcpy(own, shares + (size_t) self * nvals, sizeof(smpc_fe) * nvals);
	for (int j = 0; j < nparties; j++)
	{
		uint8	   *plain;
		size_t		plen;
		uint8	   *env;
		size_t		envlen;
		smpc_envelope_ad ad;

		if (j == self)
			continue;
		smpc_check_core_status(smpc_fe_vector_encode(shares + (size_t) j * nvals, nvals,
													 &plain, &plen),
							   "encode shares");
		env = palloc(plen + SMPC_ENVELOPE_OVERHEAD);
		memset(&ad, 0, sizeof(ad));
		memcpy(ad.session_id, session_id, SMPC_SESSION_ID_BYTES);
		ad.round = SMPC_SHARE_ROUND;
		memcpy(ad.sender_pk, me->sign_pk, SMPC_SIGN_PK_BYTES);
		memcpy(ad.recipient_pk, parties[j].key.sign_pk, SMPC_SIGN_PK_BYTES);
		smpc_check_core_status(smpc_envelope_seal(me, parties[j].key.kx_pk, &ad, plain, plen,
												  env, plen + SMPC_ENVELOPE_OVERHEAD, &envlen),
							   "seal shares");
		sodium_memzero(plain, plen);
		smpc_free(plain);
		memcpy(items[k].recipient_pk, parties[j].key.sign_pk, SMPC_SIGN_PK_BYTES);
		items[k].env = env;
		items[k].env_len = envlen;
		k++;
	}
	sodium_memzero(shares, sizeof(smpc_fe) * (size_t) nparties * nvals);
	pfree(shares);
	return own;
}

/*
 * smpc_add_envelope
 *		Open the envelope party "from" sealed for party "self" and add its
 *		nvals shares to sums.  ERROR naming the sender if it does not open or
 *		does not hold exactly nvals shares.
 */
void
smpc_add_envelope(const uint8 *session_id, const SmpcParty *parties, int self, int from,
				  const uint8 *env, size_t env_len, smpc_fe *sums, size_t nvals)
{
	const smpc_identity *me = smpc_node_identity(false, NULL);
	smpc_envelope_ad ad;
	uint8	   *plain;
	size_t		plen;
	smpc_fe    *shares;
	size_t		n;
	int			rc;

	if (env_len < SMPC_ENVELOPE_OVERHEAD)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_VERIFICATION_FAILED),
				 errmsg("the shares from participant \"%s\" are truncated", parties[from].name)));
	memset(&ad, 0, sizeof(ad));
	memcpy(ad.session_id, session_id, SMPC_SESSION_ID_BYTES);
	ad.round = SMPC_SHARE_ROUND;
	memcpy(ad.sender_pk, parties[from].key.sign_pk, SMPC_SIGN_PK_BYTES);
	memcpy(ad.recipient_pk, me->sign_pk, SMPC_SIGN_PK_BYTES);
	plain = palloc(Max(1, env_len));
	rc = smpc_envelope_open(me, parties[from].key.kx_pk, &ad, env, env_len,
							plain, env_len, &plen);
	if (rc != SMPC_OK)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_VERIFICATION_FAILED),
				 errmsg("the shares from participant \"%s\" do not open: %s",
						parties[from].name, smpc_status_message(rc)),
				 errdetail("Envelopes are bound to the session, the round, the sender and the recipient.")));
	shares = palloc(sizeof(smpc_fe) * Max(1, nvals));
	rc = smpc_fe_vector_decode(plain, plen, shares, nvals, &n);
	sodium_memzero(plain, plen);
	if (rc != SMPC_OK || n != nvals)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_VERIFICATION_FAILED),
				 errmsg("participant \"%s\" sent %zu shares, expected %zu",
						parties[from].name, rc == SMPC_OK ? n : (size_t) 0, nvals)));
	for (size_t i = 0; i < nvals; i++)
		sums[i] = smpc_fe_add(sums[i], shares[i]);
	sodium_memzero(shares, sizeof(smpc_fe) * nvals);
	pfree(shares);
	pfree(plain);
}

/* smpc_commit_sums: commit to this party's share-sums. */
void
smpc_commit_sums(const uint8 *session_id, int self, const smpc_fe *sums, size_t nvals,
				 uint8 *opening, uint8 *commitment)
{
	uint8	   *value;
	size_t		len;

	smpc_check_core_status(smpc_commit_value(session_id, (uint16) self, sums, nvals,
											 &value, &len),
						   "encode the share-sums");
	smpc_check_core_status(smpc_commit(value, len, opening, commitment),
						   "commit to the share-sums");
	smpc_free(value);
}

/* smpc_opening_valid: does opening open commitment to these share-sums? */
bool
smpc_opening_valid(const uint8 *session_id, int party, const uint8 *commitment,
				   const uint8 *opening, const smpc_fe *sums, size_t nvals)
{
	uint8	   *value;
	size_t		len;
	int			rc;

	smpc_check_core_status(smpc_commit_value(session_id, (uint16) party, sums, nvals,
											 &value, &len),
						   "encode the share-sums");
	rc = smpc_commit_verify(commitment, opening, value, len);
	smpc_free(value);
	return rc == SMPC_OK;
}

/* smpc_verify_opening: ERROR naming the party unless opening opens commitment. */
void
smpc_verify_opening(const uint8 *session_id, const SmpcParty *parties, int party,
					const uint8 *commitment, const uint8 *opening,
					const smpc_fe *sums, size_t nvals)
{
	if (!smpc_opening_valid(session_id, party, commitment, opening, sums, nvals))
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_VERIFICATION_FAILED),
				 errmsg("participant \"%s\" opened share-sums that do not match its commitment",
						parties[party].name),
				 errdetail("A party must open exactly the share-sums it committed to before seeing the others'.")));
}

/*
 * smpc_reconstruct
 *		Reconstruct nvals secrets from the share-sums of the present parties
 *		(sums[i] NULL = absent).  Needs t + 1 of them; every further one must
 *		lie on the same polynomials.  When exactly one party's share-sums do
 *		not, and the others are enough to tell (at least t + 2 of them, all
 *		consistent), that party is left out and its index returned: the
 *		result is the one the honest parties' shares determine.  Otherwise
 *		an inconsistency is an ERROR.  Returns -1 when nobody was left out.
 */
int
smpc_reconstruct(const SmpcParty *parties, int nparties, int threshold,
				 smpc_fe **sums, size_t nvals, smpc_fe *secrets)
{
	uint32	   *xs = palloc(sizeof(uint32) * nparties);
	int		   *who = palloc(sizeof(int) * nparties);
	smpc_fe    *points;
	int			k = 0;
	int			rc;
	int			bad = -1;
	int			excluded = -1;

	for (int i = 0; i < nparties; i++)
		if (sums[i] != NULL)
		{
			xs[k] = (uint32) i + 1;
			who[k] = i;
			k++;
		}
	if (k < threshold + 1)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_VERIFICATION_FAILED),
				 errmsg("only %d participants opened their share-sums; %d are needed",
						k, threshold + 1)));
	points = palloc(sizeof(smpc_fe) * Max(1, (size_t) k * nvals));
	for (int j = 0; j < k; j++)
		memcpy(points + (size_t) j * nvals, sums[who[j]], sizeof(smpc_fe) * nvals);
	if (k > threshold + 1)
	{
		rc = smpc_shamir_check(xs, points, k, nvals, threshold, &bad);
		if (rc == SMPC_ERR_INCONSISTENT && bad < 0)
			ereport(ERROR,
					(errcode(ERRCODE_SMPC_VERIFICATION_FAILED),
					 errmsg("the participants' share-sums are inconsistent"),
					 errdetail("A wrong share-sum means a faulty or dishonest party; with %d of %d parties opening and threshold %d it cannot be told which, so no result is returned.",
							   k, nparties, threshold)));
		if (rc == SMPC_ERR_INCONSISTENT)
		{
			/* leave out the one party the others agree against */
			excluded = who[bad];
			for (int j = bad; j < k - 1; j++)
			{
				xs[j] = xs[j + 1];
				who[j] = who[j + 1];
				memcpy(points + (size_t) j * nvals, points + (size_t) (j + 1) * nvals,
					   sizeof(smpc_fe) * nvals);
			}
			k--;
		}
		else
			smpc_check_core_status(rc, "check the share-sums");
	}
	smpc_check_core_status(smpc_shamir_reconstruct(xs, points, threshold + 1, nvals, secrets),
						   "reconstruct the result");
	sodium_memzero(points, sizeof(smpc_fe) * (size_t) Max(1, k) * nvals);
	pfree(points);
	return excluded;
}

/* smpc_result_digest: BLAKE2b-256 of the session id and the joint values. */
void
smpc_result_digest(const uint8 *session_id, const smpc_fe *secrets, size_t nvals,
				   uint8 *digest)
{
	crypto_generichash_state st;
	uint8		buf[SMPC_FE_BYTES];

	crypto_generichash_init(&st, NULL, 0, SMPC_DIGEST_BYTES);
	crypto_generichash_update(&st, (const unsigned char *) "smpc-result-v1", 14);
	crypto_generichash_update(&st, session_id, SMPC_SESSION_ID_BYTES);
	for (size_t i = 0; i < nvals; i++)
	{
		smpc_fe_to_bytes(secrets[i], buf);
		crypto_generichash_update(&st, buf, SMPC_FE_BYTES);
	}
	crypto_generichash_final(&st, digest, SMPC_DIGEST_BYTES);
}
