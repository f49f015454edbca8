/*
 * smpc.h
 *		Shared declarations of the smpc PostgreSQL glue, grouped by file.
 */
#ifndef SMPC_H
#define SMPC_H

#include "postgres.h"

#include "foreign/foreign.h"
#include "nodes/pg_list.h"

#include "identity.h"
#include "protocol.h"

#define SMPC_EXTENSION_VERSION "0.1"

/* a federation has at most this many parties, this node included */
#define SMPC_MAX_MEMBERS 64
#define SMPC_DEFAULT_MIN_MEMBERS 3
#define SMPC_DEFAULT_MIN_GROUP_SIZE 5
#define SMPC_DEFAULT_MEMBER_TIMEOUT_MS 30000

/* A member server as the querying node knows it. */
typedef struct SmpcMember
{
	char	   *name;			/* server name */
	Oid			serverid;
	smpc_public_key key;		/* pinned node_key */
	List	   *keywords;		/* libpq keywords (char *) ... */
	List	   *values;			/* ... and values, server then user mapping */
	bool		has_user_mapping;
} SmpcMember;

/* A federation server with its members resolved and defaults applied. */
typedef struct SmpcFederation
{
	char	   *name;
	Oid			serverid;
	List	   *members;		/* SmpcMember *, this node not included */
	int			nparties;		/* members + this node */
	int			threshold;		/* t: privacy against t colluders */
	int			min_members;
	int			min_group_size;
	int			member_timeout_ms;
} SmpcFederation;

/*
 * SQLSTATEs of smpc's refusals: implementation-defined subclasses of class
 * 28 (invalid authorization specification), so tools that only look at the
 * class still see an authorization failure.
 */
#define ERRCODE_SMPC_KEY_MISMATCH		MAKE_SQLSTATE('2','8','S','0','1')
#define ERRCODE_SMPC_UNKNOWN_NODE		MAKE_SQLSTATE('2','8','S','0','2')
#define ERRCODE_SMPC_REPLAYED_REQUEST	MAKE_SQLSTATE('2','8','S','0','3')
#define ERRCODE_SMPC_STALE_REQUEST		MAKE_SQLSTATE('2','8','S','0','4')
#define ERRCODE_SMPC_NOT_FEDERATION_MEMBER MAKE_SQLSTATE('2','8','S','0','5')
#define ERRCODE_SMPC_BAD_SIGNATURE		MAKE_SQLSTATE('2','8','S','0','6')

#define ERRCODE_SMPC_TOO_FEW_MEMBERS	MAKE_SQLSTATE('2','8','S','0','7')
/* a party's share-sums or openings failed verification */
#define ERRCODE_SMPC_VERIFICATION_FAILED MAKE_SQLSTATE('2','8','S','0','8')

/* A member refuses a dataset query its policy cannot prove safe. */
#define ERRCODE_SMPC_POLICY_VIOLATION	MAKE_SQLSTATE('4','2','S','0','1')
/* A joint result over fewer rows than min_group_size is withheld. */
#define ERRCODE_SMPC_RESULT_WITHHELD	MAKE_SQLSTATE('4','2','S','0','2')
/* A set of an intersection is smaller than a party's min_set_size. */
#define ERRCODE_SMPC_SET_TOO_SMALL		MAKE_SQLSTATE('4','2','S','0','3')

/* the search_path dataset queries are analyzed and run with */
#define SMPC_POLICY_SEARCH_PATH "pg_catalog, pg_temp"

/* float sums travel in fixed point with this many decimal places */
#define SMPC_FLOAT_SCALE 9
/* numeric sums of columns without a declared scale use this scale */
#define SMPC_NUMERIC_DEFAULT_SCALE 12

/* One request to one member and its answer (see connection.c). */
typedef struct SmpcMemberCall
{
	SmpcMember *member;
	const uint8 *request;
	size_t		request_len;
	bool		keep_session;	/* the member keeps session state after
								 * answering (a round before FINISH): the
								 * connection is closed if the transaction
								 * ends before the session does */
	/* results */
	uint8	   *response;		/* NULL on failure */
	size_t		response_len;
	char	   *error;			/* NULL on success */
	char	   *sqlstate;
	char	   *detail;
	char	   *hint;
	bool		remote_error;	/* the member raised the error itself */
	bool		tls;			/* connection uses TLS */
	double		elapsed_ms;		/* request to answer */
	uint64		bytes_sent;
} SmpcMemberCall;

/* A published column of a dataset on this node. */
typedef struct SmpcDatasetColumn
{
	char	   *name;			/* column name in the relation */
	AttrNumber	attnum;
	Oid			typid;
	int32		typmod;
	char	   *type_name;		/* format_type_with_typemod() */
	char		group_policy;	/* SMPC_GROUP_NONE, _PUBLIC or _REVEAL */
	List	   *domain;			/* declared values (char *) of a public key;
								 * NIL for boolean/enum, whose type is the
								 * domain */
	bool		intersect;		/* usable as a private set intersection key */
} SmpcDatasetColumn;

#define SMPC_GROUP_NONE 'n'		/* not groupable */
#define SMPC_GROUP_PUBLIC 'p'	/* public domain: key sets never exchanged */
#define SMPC_GROUP_REVEAL 'r'	/* group keys may be revealed (leakage) */

/* A dataset published by this node. */
typedef struct SmpcDataset
{
	char	   *name;			/* federation-wide dataset name */
	Oid			relid;			/* local relation or view */
	Oid			publisher;		/* role member-side queries run as */
	List	   *federations;	/* federation names (char *); NIL = all */
	List	   *columns;		/* SmpcDatasetColumn *, in published order */
	int			min_set_size;	/* fewest keys of a set this node intersects */
} SmpcDataset;

#define SMPC_DEFAULT_MIN_SET_SIZE 100

/* One row of smpc.audit_log, as the glue fills it (NULL = SQL NULL). */
typedef struct SmpcAuditRecord
{
	const uint8 *session_id;	/* 16 bytes */
	const char *node_role;		/* "querying" or "member" */
	const char *federation;
	const char *initiator_node; /* server name of the initiator, or this node */
	const char *initiator_role; /* role name the initiator claims */
	const char *dataset;
	const char *dataset_sql;
	List	   *participants;	/* node names (char *) */
	const char *outcome;		/* "success", "failed", "refused", "incomplete" */
	const char *error;
	const uint8 *result_digest; /* 32 bytes, or NULL */
	List	   *unfinished;		/* members that did not finish (char *) */
} SmpcAuditRecord;

/* in smpc.c */
extern void _PG_init(void);
extern void smpc_check_core_status(int status, const char *what);

/* in node.c */
extern void smpc_validate_name(const char *name, const char *what);
extern const smpc_identity *smpc_node_identity(bool missing_ok, const char **name_out);
extern char *smpc_public_key_text(const smpc_public_key *pk);
extern char *smpc_fingerprint_text(const smpc_public_key *pk);

/* in option.c */
extern bool smpc_is_federation_server(ForeignServer *server);
extern SmpcMember *smpc_get_member(const char *server_name);
extern SmpcFederation *smpc_get_federation(const char *name);

/* in replay.c */
extern int	smpc_replay_cache_size;
extern int	smpc_max_clock_skew_ms;
extern void smpc_replay_init(void);
extern bool smpc_session_slot_acquire(int max);
extern void smpc_session_slot_release(void);
extern int64 smpc_now_ms(void);
struct smpc_signed_msg;
extern void smpc_replay_check_and_remember(const struct smpc_signed_msg *m,
										   const char *sender);

/* in connection.c */
typedef struct SmpcCallBatch SmpcCallBatch;
extern void smpc_call_members(SmpcMemberCall *calls, int ncalls, int timeout_ms);
extern SmpcCallBatch *smpc_start_calls(SmpcMemberCall *calls, int ncalls, int timeout_ms);
extern void smpc_wait_calls(SmpcCallBatch *b);
extern void smpc_flush_calls(SmpcCallBatch *b);
extern void smpc_extend_calls(SmpcCallBatch *b, int extra_ms);
extern void smpc_raise_member_error(const SmpcMemberCall *mc);
extern bool smpc_valid_sqlstate(const char *s, size_t len);

/* in request.c */
extern int	smpc_max_message_size;
extern uint8 *smpc_build_request(uint8 type, const uint8 *session_id, uint8 round,
								 const SmpcMember *to, const char *federation,
								 const uint8 *body, size_t body_len,
								 size_t *len_out);
extern bool smpc_open_response(const SmpcMemberCall *mc, const uint8 *session_id,
							   uint8 round, const uint8 **payload,
							   size_t *payload_len, char **why, bool *key_mismatch);
extern void smpc_new_session_id(uint8 *session_id);
extern const uint8 *smpc_open_answer(const SmpcMemberCall *mc, const uint8 *session_id,
									 uint8 round, size_t *len);

/* in member.c: a verified request, as the handlers see it */
typedef struct SmpcRequest
{
	smpc_signed_msg msg;
	SmpcMember *sender;			/* the member server pinning the sender */
	SmpcFederation *federation;
	char	   *initiator_role;
	smpc_reader body;			/* payload after the request header */
} SmpcRequest;

extern List *smpc_list_member_servers(void);
extern bytea *smpc_signed_response(const SmpcRequest *req, uint8 type,
								   const uint8 *payload, size_t len);

/* in session.c: a party of a joint query and the steps every party takes */
typedef struct SmpcParty
{
	char	   *name;			/* node name (this node) or server name */
	smpc_public_key key;
} SmpcParty;

/* envelopes are sealed for this round, whichever message carries them */
#define SMPC_SHARE_ROUND SMPC_MSG_SHARE

extern int	smpc_session_timeout_ms;
extern int	smpc_max_sessions;
extern void smpc_session_init(void);
extern bytea *smpc_member_session(SmpcRequest *req);
extern smpc_fe *smpc_share_secrets(const uint8 *session_id, const SmpcParty *parties,
								   int nparties, int self, int threshold,
								   const smpc_fe *secrets, size_t nvals,
								   smpc_envelope_item *items);
extern void smpc_add_envelope(const uint8 *session_id, const SmpcParty *parties,
							  int self, int from, const uint8 *env, size_t env_len,
							  smpc_fe *sums, size_t nvals);
extern void smpc_commit_sums(const uint8 *session_id, int self, const smpc_fe *sums,
							 size_t nvals, uint8 *opening, uint8 *commitment);
extern bool smpc_opening_valid(const uint8 *session_id, int party,
							   const uint8 *commitment, const uint8 *opening,
							   const smpc_fe *sums, size_t nvals);
extern void smpc_verify_opening(const uint8 *session_id, const SmpcParty *parties,
								int party, const uint8 *commitment,
								const uint8 *opening, const smpc_fe *sums,
								size_t nvals);
extern int	smpc_reconstruct(const SmpcParty *parties, int nparties, int threshold,
							 smpc_fe **sums, size_t nvals, smpc_fe *secrets);
extern void smpc_result_digest(const uint8 *session_id, const smpc_fe *secrets,
							   size_t nvals, uint8 *digest);

/* in catalog.c */
extern SmpcDataset *smpc_lookup_dataset(const char *name, bool missing_ok);
extern List *smpc_list_datasets(void);
extern Oid	smpc_extension_owner(void);
extern void smpc_run_as_extension_owner(void (*work) (void *), void *arg);

/* in policy.c */
extern char *smpc_policy_check(const SmpcDataset *ds, const char *sql,
							   List **outputs);
extern char *smpc_policy_check_intersect(const SmpcDataset *ds, const char *sql,
										 List **outputs);

/*
 * in local.c: one party's contribution to a joint query.  The dataset query
 * returns ngroupcols group key columns followed by nvalues value columns.
 */
typedef struct SmpcLocalResult
{
	int			ngroups;
	int			ngroupcols;
	int			nvalues;
	int			width;			/* field elements per group (vectors expanded) */
	uint32	   *lengths;		/* per value: vector length, 0 for a scalar */
	char	  **keys;			/* ngroups * ngroupcols; NULL is SQL NULL */
	smpc_fe    *values;			/* ngroups * width, group-major */
	List	   *group_columns;	/* column names of the group keys (char *) */
} SmpcLocalResult;

/* a vector value whose length the local data decides (querying node only) */
#define SMPC_LENGTH_FROM_DATA UINT32_MAX

extern int	smpc_max_groups;
extern bool smpc_in_dataset_query;
extern long double smpc_pow10l(int scale);
extern void smpc_check_joint_size(uint64 ngroups, size_t width);
extern void smpc_dataset_query_failed(const SmpcDataset *ds, MemoryContext caller)
			pg_attribute_noreturn();
extern void smpc_run_as_publisher(const SmpcDataset *ds, void (*work) (void *), void *arg);
extern char *smpc_local_check(const SmpcDataset *ds, const char *sql, int ngroupcols,
							  int nvalues, List **group_columns);
extern SmpcLocalResult *smpc_local_aggregate(const SmpcDataset *ds, const char *sql,
											 int ngroupcols, int nvalues,
											 const smpc_value_spec *specs);
extern bool smpc_public_groups(const SmpcDataset *ds, List *group_columns,
							   smpc_key_list *out);
extern void smpc_key_list_from_local(const SmpcLocalResult *lr,
									 smpc_key_list *out);
extern int *smpc_map_groups(const smpc_key_list *order, char **keys,
							int nkeys, int ncols, const char *what);
extern char *smpc_key_text(const smpc_key_list *k, int group, int col);

/* in vector.c */
extern bool smpc_vector_error;
extern size_t smpc_vector_elements;
extern bool smpc_is_vector_sum(Oid aggfnoid);

/* in psi.c */
extern int	smpc_psi_workers;
extern void smpc_psi_init(void);
extern int	smpc_psi_key_class(Oid typid);
extern const char *smpc_psi_key_class_name(int key_class);
extern uint8 *smpc_psi_local_set(const SmpcDataset *ds, const char *sql,
								 const uint8 *session_id, int key_class, size_t *n);
extern void smpc_psi_list_too_large(size_t n) pg_attribute_noreturn();
extern void smpc_psi_raise(const uint8 *k, const uint8 *in, size_t n, bool from_hash,
						   uint8 *out, const char *whose);

/* in audit.c */
extern void smpc_audit_record(const SmpcAuditRecord *rec);

/* in scheduler.c */
extern char *smpc_scheduler_database;
extern void smpc_scheduler_init(void);
extern void smpc_report_note_session(const uint8 *session_id);

#endif
