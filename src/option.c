/*
 * option.c
 *		Validation of the smpc wrapper's options, and the typed views of them
 *		the rest of the glue works with.
 *
 * Two kinds of FOREIGN SERVER use the smpc wrapper:
 *	 - a member: another organisation's PostgreSQL.  libpq options (host,
 *	   port, dbname, sslmode, ...) plus node_key, the member's pinned public
 *	   key.  Credentials are USER MAPPING options.
 *	 - a federation: a named group of members with its settings (members,
 *	   threshold, min_members, min_group_size, member_timeout).  Federated
 *	   datasets are FOREIGN TABLEs on a federation server.
 * A server with a "members" option is a federation, any other is a member.
 * Member names in "members" are resolved when used, not when validated, so
 * pg_dump may restore servers in any order.
 */
#include "postgres.h"

#include "access/reloptions.h"
#include "catalog/pg_foreign_data_wrapper.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "lib/stringinfo.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/varlena.h"

#include "identity.h"
#include "smpc.h"

PG_FUNCTION_INFO_V1(smpc_fdw_validator);

/* Where an option may appear, and whether it is passed to libpq. */
typedef struct SmpcOption
{
	const char *keyword;
	Oid			context;		/* catalog OID where it is allowed */
	bool		is_libpq;
} SmpcOption;

/* smpc's own options; libpq's are appended from PQconndefaults() */
static const SmpcOption own_options[] = {
	/* member server */
	{"node_key", ForeignServerRelationId, false},
	/* federation server */
	{"members", ForeignServerRelationId, false},
	{"threshold", ForeignServerRelationId, false},
	{"min_members", ForeignServerRelationId, false},
	{"min_group_size", ForeignServerRelationId, false},
	{"member_timeout", ForeignServerRelationId, false},
	/* foreign table */
	{"dataset", ForeignTableRelationId, false},
	{NULL, InvalidOid, false}
};

/* options of a federation server; a member server has none of them */
static const char *const federation_options[] = {
	"members", "threshold", "min_members", "min_group_size", "member_timeout",
	NULL
};

static SmpcOption *all_options;

static void InitOptions(void);
static const SmpcOption *FindOption(const char *keyword, Oid context);
static bool IsFederationOption(const char *keyword);
static int	ParseIntOption(DefElem *def, int min, int max);
static int	ParseTimeoutOption(DefElem *def);
static void ValidateMemberList(DefElem *def);

/*
 * InitOptions
 *		Build the table of valid options once per backend: smpc's own plus
 *		the libpq connection options that make sense for a member server or a
 *		user mapping (as postgres_fdw does, debug and replication options are
 *		left out, and user/password/sslcert/sslkey/sslpassword belong to user
 *		mappings).
 */
static void
InitOptions(void)
{
	PQconninfoOption *lopts;
	PQconninfoOption *lopt;
	int			n = 0;
	int			i = 0;

	if (all_options)
		return;
	lopts = PQconndefaults();
	if (!lopts)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("Could not get libpq's default connection options.")));
	for (lopt = lopts; lopt->keyword; lopt++)
		n++;
	n += lengthof(own_options);
	all_options = MemoryContextAllocZero(TopMemoryContext,
										 sizeof(SmpcOption) * (n + 1));
	for (lopt = lopts; lopt->keyword; lopt++)
	{
		const char *kw = lopt->keyword;

		/* debug options, and ones smpc sets itself */
		if (strchr(lopt->dispchar, 'D') ||
			strcmp(kw, "fallback_application_name") == 0 ||
			strcmp(kw, "client_encoding") == 0 ||
			strcmp(kw, "replication") == 0 ||
			strcmp(kw, "options") == 0 ||
			strcmp(kw, "service") == 0 ||
			strcmp(kw, "passfile") == 0)
			continue;
		all_options[i].keyword = MemoryContextStrdup(TopMemoryContext, kw);
		all_options[i].is_libpq = true;
		if (strcmp(kw, "user") == 0 || strcmp(kw, "password") == 0 ||
			strcmp(kw, "sslcert") == 0 || strcmp(kw, "sslkey") == 0 ||
			strcmp(kw, "sslpassword") == 0 || strchr(lopt->dispchar, '*'))
			all_options[i].context = UserMappingRelationId;
		else
			all_options[i].context = ForeignServerRelationId;
		i++;
	}
	PQconninfoFree(lopts);
	for (const SmpcOption *o = own_options; o->keyword; o++)
		all_options[i++] = *o;
	all_options[i].keyword = NULL;
}

static const SmpcOption *
FindOption(const char *keyword, Oid context)
{
	InitOptions();
	for (const SmpcOption *o = all_options; o->keyword; o++)
		if (o->context == context && strcmp(o->keyword, keyword) == 0)
			return o;
	return NULL;
}

static bool
IsFederationOption(const char *keyword)
{
	for (int i = 0; federation_options[i]; i++)
		if (strcmp(federation_options[i], keyword) == 0)
			return true;
	return false;
}

/* An integer option within [min, max], or an ERROR naming the option. */
static int
ParseIntOption(DefElem *def, int min, int max)
{
	const char *val = defGetString(def);
	char	   *end;
	long		result;

	errno = 0;
	result = strtol(val, &end, 10);
	if (errno != 0 || end == val || *end != '\0' || result < min || result > max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"", def->defname, val),
				 errdetail("It must be an integer from %d to %d.", min, max)));
	return (int) result;
}

/* A duration option such as '30s' or '500ms', returned in milliseconds. */
static int
ParseTimeoutOption(DefElem *def)
{
	const char *val = defGetString(def);
	int			ms;
	const char *hint = NULL;

	if (!parse_int(val, &ms, GUC_UNIT_MS, &hint) || ms < 100 || ms > 3600 * 1000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"", def->defname, val),
				 errdetail("It must be a duration from 100ms to 1h, such as '30s'."),
				 hint ? errhint("%s", hint) : 0));
	return ms;
}

/* "members" is a comma-separated list of distinct server names. */
static void
ValidateMemberList(DefElem *def)
{
	char	   *raw = pstrdup(defGetString(def));
	List	   *names;
	ListCell   *lc;

	if (!SplitIdentifierString(raw, ',', &names) || names == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"members\": \"%s\"", defGetString(def)),
				 errdetail("It must be a comma-separated list of member server names.")));
	if (list_length(names) > SMPC_MAX_MEMBERS - 1)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("a federation may have at most %d members besides this node",
						SMPC_MAX_MEMBERS - 1)));
	foreach(lc, names)
	{
		ListCell   *lc2;

		for_each_cell(lc2, names, lnext(names, lc))
			if (strcmp(lfirst(lc), lfirst(lc2)) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
						 errmsg("member \"%s\" is listed twice in option \"members\"",
								(char *) lfirst(lc))));
	}
}

/*
 * smpc_fdw_validator(options text[], catalog oid)
 *		Validate the options of a wrapper, server, user mapping or foreign
 *		table.  Called with the complete option list after CREATE or ALTER,
 *		so cross-option rules are checked here too.
 */
Datum
smpc_fdw_validator(PG_FUNCTION_ARGS)
{
	List	   *options = untransformRelOptions(PG_GETARG_DATUM(0));
	Oid			catalog = PG_GETARG_OID(1);
	ListCell   *lc;
	bool		has_members = false;
	bool		has_node_key = false;
	bool		has_dataset = false;
	DefElem    *libpq_opt = NULL;
	DefElem    *fed_opt = NULL;

	foreach(lc, options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);
		const SmpcOption *opt = FindOption(def->defname, catalog);

		if (opt == NULL)
		{
			StringInfoData buf;

			initStringInfo(&buf);
			for (const SmpcOption *o = all_options; o->keyword; o++)
				if (o->context == catalog)
					appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "", o->keyword);
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("invalid option \"%s\"", def->defname),
					 buf.len > 0
					 ? errhint("Valid options in this context are: %s.", buf.data)
					 : errhint("There are no valid options in this context.")));
		}
		if (opt->is_libpq && catalog == ForeignServerRelationId)
			libpq_opt = def;
		if (IsFederationOption(def->defname))
			fed_opt = def;

		if (strcmp(def->defname, "node_key") == 0)
		{
			const char *key = defGetString(def);
			smpc_public_key pk;
			int			rc = smpc_pubkey_from_text(key, strlen(key), &pk);

			if (rc != SMPC_OK)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid value for option \"node_key\": %s",
								smpc_status_message(rc)),
						 errdetail("A node key has the form \"smpc1:\" followed by 86 base64url characters."),
						 errhint("Copy the public_key column of SELECT * FROM smpc.node() on the member.")));
			has_node_key = true;
		}
		else if (strcmp(def->defname, "members") == 0)
		{
			ValidateMemberList(def);
			has_members = true;
		}
		else if (strcmp(def->defname, "threshold") == 0)
			(void) ParseIntOption(def, 1, SMPC_MAX_MEMBERS - 1);
		else if (strcmp(def->defname, "min_members") == 0)
			(void) ParseIntOption(def, 2, SMPC_MAX_MEMBERS);
		else if (strcmp(def->defname, "min_group_size") == 0)
			(void) ParseIntOption(def, 1, INT_MAX);
		else if (strcmp(def->defname, "member_timeout") == 0)
			(void) ParseTimeoutOption(def);
		else if (strcmp(def->defname, "dataset") == 0)
		{
			smpc_validate_name(defGetString(def), "dataset");
			has_dataset = true;
		}
	}

	if (catalog == ForeignServerRelationId)
	{
		if (has_members && (libpq_opt || has_node_key))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("a federation server cannot have option \"%s\"",
							libpq_opt ? libpq_opt->defname : "node_key"),
					 errdetail("A server with option \"members\" is a federation; connection options and node_key belong on its member servers.")));
		if (!has_members && fed_opt)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("option \"%s\" is valid only on a federation server",
							fed_opt->defname),
					 errhint("Add option \"members\" to make this server a federation, or set \"%s\" on the federation server.",
							 fed_opt->defname)));
		if (!has_members && !has_node_key)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("a member server needs option \"node_key\""),
					 errdetail("smpc pins every member's public key on its server definition."),
					 errhint("Copy the public_key column of SELECT * FROM smpc.node() on the member, or add option \"members\" to define a federation.")));
	}
	if (catalog == ForeignTableRelationId && !has_dataset)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("a federated table needs option \"dataset\""),
				 errhint("Use IMPORT FOREIGN SCHEMA smpc_datasets FROM SERVER federation INTO schema.")));

	PG_RETURN_VOID();
}

/*
 * smpc_is_federation_server
 *		True if the server is a federation (has option "members").
 */
bool
smpc_is_federation_server(ForeignServer *server)
{
	ListCell   *lc;

	foreach(lc, server->options)
		if (strcmp(((DefElem *) lfirst(lc))->defname, "members") == 0)
			return true;
	return false;
}

/*
 * Is a stored server option one to pass to libpq?  An option the libpq
 * loaded now does not know (libpq is upgraded independently of the server)
 * is an error naming the server, never a crash.
 */
static bool
IsLibpqServerOption(ForeignServer *server, const char *keyword)
{
	const SmpcOption *o = FindOption(keyword, ForeignServerRelationId);

	if (o == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("option \"%s\" of server \"%s\" is not supported by this libpq",
						keyword, server->servername),
				 errhint("Remove it with ALTER SERVER %s OPTIONS (DROP %s).",
						 quote_identifier(server->servername), keyword)));
	return o->is_libpq;
}

/* Is there a user mapping for userid (InvalidOid: PUBLIC) on the server? */
static bool
UserMappingExists(Oid userid, Oid serverid)
{
	HeapTuple	tp = SearchSysCache2(USERMAPPINGUSERSERVER,
									 ObjectIdGetDatum(userid),
									 ObjectIdGetDatum(serverid));

	if (!HeapTupleIsValid(tp))
		return false;
	ReleaseSysCache(tp);
	return true;
}

/*
 * LookupSmpcServer
 *		The smpc server of that name, which must be a federation (or, without
 *		want_federation, a member); an ERROR saying which kind was expected
 *		otherwise.
 */
static ForeignServer *
LookupSmpcServer(const char *name, bool want_federation)
{
	ForeignServer *server = GetForeignServerByName(name, true);
	const char *kind = want_federation ? "federation" : "member server";
	const char *shape = want_federation
		? "A federation is a server of foreign-data wrapper smpc with option \"members\"."
		: "A member is a server of foreign-data wrapper smpc with option \"node_key\".";

	if (server == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%s \"%s\" does not exist", kind, name),
				 errhint("%s", shape)));
	if (strcmp(GetForeignDataWrapper(server->fdwid)->fdwname, "smpc") != 0 ||
		smpc_is_federation_server(server) != want_federation)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("server \"%s\" is not an smpc %s", name, kind),
				 errhint("%s", shape)));
	return server;
}

/*
 * smpc_get_member
 *		Look up a member server by name: its pinned key and the libpq
 *		keywords/values (server options plus the current user's mapping,
 *		or PUBLIC's).  ERROR if it does not exist or is not an smpc member.
 */
SmpcMember *
smpc_get_member(const char *server_name)
{
	ForeignServer *server = LookupSmpcServer(server_name, false);
	SmpcMember *m;
	ListCell   *lc;

	m = palloc0(sizeof(SmpcMember));
	m->name = pstrdup(server->servername);
	m->serverid = server->serverid;
	foreach(lc, server->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "node_key") == 0)
		{
			const char *key = defGetString(def);

			smpc_check_core_status(smpc_pubkey_from_text(key, strlen(key), &m->key),
								   "parse the pinned node key");
		}
		else if (IsLibpqServerOption(server, def->defname))
		{
			m->keywords = lappend(m->keywords, def->defname);
			m->values = lappend(m->values, defGetString(def));
		}
	}
	/* credentials: the current user's mapping, else PUBLIC's, else none */
	m->has_user_mapping = UserMappingExists(GetUserId(), server->serverid) ||
		UserMappingExists(InvalidOid, server->serverid);
	if (m->has_user_mapping)
	{
		UserMapping *um = GetUserMapping(GetUserId(), server->serverid);

		foreach(lc, um->options)
		{
			DefElem    *def = (DefElem *) lfirst(lc);

			m->keywords = lappend(m->keywords, def->defname);
			m->values = lappend(m->values, defGetString(def));
		}
	}
	return m;
}

/*
 * smpc_get_federation
 *		Look up a federation server by name, resolve its members and
 *		apply defaults.  ERROR if it does not exist, is not a federation, or
 *		names a member that is not an smpc member server.
 */
SmpcFederation *
smpc_get_federation(const char *name)
{
	ForeignServer *server = LookupSmpcServer(name, true);
	SmpcFederation *fed;
	ListCell   *lc;

	fed = palloc0(sizeof(SmpcFederation));
	fed->name = pstrdup(server->servername);
	fed->serverid = server->serverid;
	fed->threshold = -1;
	fed->min_members = SMPC_DEFAULT_MIN_MEMBERS;
	fed->min_group_size = SMPC_DEFAULT_MIN_GROUP_SIZE;
	fed->member_timeout_ms = SMPC_DEFAULT_MEMBER_TIMEOUT_MS;
	foreach(lc, server->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "members") == 0)
		{
			char	   *raw = pstrdup(defGetString(def));
			List	   *names;
			ListCell   *lc2;

			if (!SplitIdentifierString(raw, ',', &names))
				elog(ERROR, "invalid members option on server \"%s\"", name);
			foreach(lc2, names)
				fed->members = lappend(fed->members, smpc_get_member(lfirst(lc2)));
		}
		else if (strcmp(def->defname, "threshold") == 0)
			fed->threshold = ParseIntOption(def, 1, SMPC_MAX_MEMBERS - 1);
		else if (strcmp(def->defname, "min_members") == 0)
			fed->min_members = ParseIntOption(def, 2, SMPC_MAX_MEMBERS);
		else if (strcmp(def->defname, "min_group_size") == 0)
			fed->min_group_size = ParseIntOption(def, 1, INT_MAX);
		else if (strcmp(def->defname, "member_timeout") == 0)
			fed->member_timeout_ms = ParseTimeoutOption(def);
	}
	/* this node takes part in each of its federations */
	fed->nparties = list_length(fed->members) + 1;
	if (fed->threshold < 0)
		fed->threshold = Max(1, (fed->nparties - 1) / 2);
	return fed;
}
