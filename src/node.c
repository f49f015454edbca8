/*
 * node.c
 *		This node's smpc identity: its name and key pairs.
 *
 * The identity lives in one file, smpc_node.key in the data directory, mode
 * 0600: the core's key-file form (secret keys with a checksum) followed by
 * the node name.  It is never stored in a table, because tables are dumped
 * and replicated.  Each backend caches the parsed identity and re-reads the
 * file when it changes on disk.
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include <sodium.h>

#include "identity.h"
#include "smpc.h"

#define NODE_KEY_FILE "smpc_node.key"
#define NODE_KEY_TMPFILE "smpc_node.key.tmp"

PG_FUNCTION_INFO_V1(smpc_init_node);
PG_FUNCTION_INFO_V1(smpc_node_info);

/* per-backend cache of the identity file */
typedef struct NodeCache
{
	bool		valid;
	struct stat st;				/* of the file the cache was read from */
	smpc_identity id;
	char		name[NAMEDATALEN];
} NodeCache;

static NodeCache node_cache;

static bool ReadNodeFile(smpc_identity *id, char *name, struct stat *st_out);
static void WriteNodeFile(const smpc_identity *id, const char *name);
static Datum NodeTuple(FunctionCallInfo fcinfo, const char *name,
					   const smpc_identity *id);

/*
 * smpc_validate_node_name
 *		Raise an ERROR unless name is a valid node or dataset name: 1 to 63
 *		characters from [A-Za-z0-9_.-], starting with a letter or digit.
 *		"what" says which kind of name it is, for the message.
 */
void
smpc_validate_name(const char *name, const char *what)
{
	size_t		len = strlen(name);

	if (len == 0 || len >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid %s name \"%s\"", what, name),
				 errdetail("A %s name must have 1 to %d characters.", what,
						   NAMEDATALEN - 1)));
	for (size_t i = 0; i < len; i++)
	{
		char		c = name[i];
		bool		ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') ||
			(i > 0 && (c == '_' || c == '-' || c == '.'));

		if (!ok)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_NAME),
					 errmsg("invalid %s name \"%s\"", what, name),
					 errdetail("A %s name may contain only letters, digits, \"_\", \"-\" and \".\", and must start with a letter or digit.",
							   what)));
	}
}

/*
 * ReadNodeFile
 *		Read and validate the identity file.  Returns false if it does not
 *		exist; raises an ERROR if it exists but is unreadable or corrupt.
 */
static bool
ReadNodeFile(smpc_identity *id, char *name, struct stat *st_out)
{
	int			fd;
	uint8		buf[SMPC_KEYFILE_LEN + NAMEDATALEN + 1];
	ssize_t		len;
	int			rc;
	size_t		namelen;

	fd = OpenTransientFile(NODE_KEY_FILE, O_RDONLY | PG_BINARY);
	if (fd < 0)
	{
		if (errno == ENOENT)
			return false;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open smpc node key file \"%s\": %m",
						NODE_KEY_FILE)));
	}
	if (fstat(fd, st_out) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat smpc node key file \"%s\": %m",
						NODE_KEY_FILE)));
	/* refuse a key others could read before reading it */
	if ((st_out->st_mode & (S_IRWXG | S_IRWXO)) != 0)
	{
		CloseTransientFile(fd);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("smpc node key file \"%s\" is accessible to other users",
						NODE_KEY_FILE),
				 errhint("Restrict it with chmod 0600.")));
	}
	len = read(fd, buf, sizeof(buf));
	if (len < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read smpc node key file \"%s\": %m",
						NODE_KEY_FILE)));
	CloseTransientFile(fd);

	namelen = len > SMPC_KEYFILE_LEN ? (size_t) len - SMPC_KEYFILE_LEN : 0;
	rc = smpc_identity_from_keyfile(buf, len < SMPC_KEYFILE_LEN ? (size_t) len : SMPC_KEYFILE_LEN, id);
	if (rc == SMPC_OK && (namelen == 0 || namelen >= NAMEDATALEN))
		rc = SMPC_ERR_MALFORMED;
	if (rc != SMPC_OK)
	{
		sodium_memzero(buf, sizeof(buf));
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("smpc node key file \"%s\" is corrupt: %s",
						NODE_KEY_FILE, smpc_status_message(rc)),
				 errhint("Restore the file from a backup, or create a new identity with smpc.init_node(name, force => true); every other member must then pin the new public key.")));
	}
	memcpy(name, buf + SMPC_KEYFILE_LEN, namelen);
	name[namelen] = '\0';
	sodium_memzero(buf, sizeof(buf));
	return true;
}

/*
 * WriteNodeFile
 *		Durably replace the identity file: write a 0600 temporary file, fsync
 *		it, then rename it into place.
 */
static void
WriteNodeFile(const smpc_identity *id, const char *name)
{
	uint8		buf[SMPC_KEYFILE_LEN + NAMEDATALEN];
	size_t		namelen = strlen(name);
	size_t		total = SMPC_KEYFILE_LEN + namelen;
	int			fd;
	int			rc;

	Assert(namelen > 0 && namelen < NAMEDATALEN);
	rc = smpc_identity_to_keyfile(id, buf);
	smpc_check_core_status(rc, "serialize the node key");
	memcpy(buf + SMPC_KEYFILE_LEN, name, namelen);

	(void) unlink(NODE_KEY_TMPFILE);
	fd = OpenTransientFilePerm(NODE_KEY_TMPFILE,
							   O_WRONLY | O_CREAT | O_EXCL | PG_BINARY,
							   S_IRUSR | S_IWUSR);
	if (fd < 0)
	{
		sodium_memzero(buf, sizeof(buf));
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create smpc node key file \"%s\": %m",
						NODE_KEY_TMPFILE)));
	}
	errno = 0;
	if (write(fd, buf, total) != (ssize_t) total)
	{
		int			save_errno = errno ? errno : ENOSPC;

		sodium_memzero(buf, sizeof(buf));
		CloseTransientFile(fd);
		(void) unlink(NODE_KEY_TMPFILE);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write smpc node key file \"%s\": %m",
						NODE_KEY_TMPFILE)));
	}
	sodium_memzero(buf, sizeof(buf));
	if (pg_fsync(fd) != 0)
	{
		int			save_errno = errno;

		CloseTransientFile(fd);
		(void) unlink(NODE_KEY_TMPFILE);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not fsync smpc node key file \"%s\": %m",
						NODE_KEY_TMPFILE)));
	}
	CloseTransientFile(fd);
	durable_rename(NODE_KEY_TMPFILE, NODE_KEY_FILE, ERROR);
}

/*
 * smpc_node_identity
 *		This node's identity, or NULL when the node has none and missing_ok.
 *		Without missing_ok a missing identity is an ERROR with a hint.
 *		The returned pointer stays valid until the next call; *name_out (if
 *		not NULL) is set to the node name.
 */
const smpc_identity *
smpc_node_identity(bool missing_ok, const char **name_out)
{
	struct stat st;

	if (stat(NODE_KEY_FILE, &st) != 0)
	{
		if (errno != ENOENT)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not stat smpc node key file \"%s\": %m",
							NODE_KEY_FILE)));
		if (node_cache.valid)
		{
			smpc_identity_wipe(&node_cache.id);
			node_cache.valid = false;
		}
		if (missing_ok)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("this node has no smpc identity"),
				 errhint("A superuser creates it with SELECT smpc.init_node('node_name').")));
	}

	if (!node_cache.valid ||
		st.st_ino != node_cache.st.st_ino || st.st_dev != node_cache.st.st_dev ||
		st.st_size != node_cache.st.st_size ||
		st.st_mtime != node_cache.st.st_mtime)
	{
		node_cache.valid = false;
		if (!ReadNodeFile(&node_cache.id, node_cache.name, &node_cache.st))
			return smpc_node_identity(missing_ok, name_out);	/* just removed */
		node_cache.valid = true;
	}
	if (name_out)
		*name_out = node_cache.name;
	return &node_cache.id;
}

/*
 * smpc_public_key_text / smpc_fingerprint_text
 *		palloc'd text forms of a public key.
 */
char *
smpc_public_key_text(const smpc_public_key *pk)
{
	char	   *out = palloc(SMPC_PUBKEY_TEXT_LEN);

	smpc_check_core_status(smpc_pubkey_to_text(pk, out), "format a public key");
	return out;
}

char *
smpc_fingerprint_text(const smpc_public_key *pk)
{
	char	   *out = palloc(SMPC_FINGERPRINT_LEN);

	smpc_check_core_status(smpc_fingerprint(pk, out), "compute a key fingerprint");
	return out;
}

/* Build the (node_name, public_key, fingerprint) result row. */
static Datum
NodeTuple(FunctionCallInfo fcinfo, const char *name, const smpc_identity *id)
{
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	smpc_public_key pk;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	smpc_identity_public(id, &pk);
	values[0] = CStringGetTextDatum(name);
	values[1] = CStringGetTextDatum(smpc_public_key_text(&pk));
	values[2] = CStringGetTextDatum(smpc_fingerprint_text(&pk));
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

/*
 * smpc.init_node(node_name text, force boolean DEFAULT false)
 *		Create this node's identity; returns (node_name, public_key,
 *		fingerprint).  Replacing an existing identity needs force => true.
 *		Superuser only: it writes a file into the data directory, and it
 *		cannot be rolled back, so it refuses to run in a transaction block.
 */
Datum
smpc_init_node(PG_FUNCTION_ARGS)
{
	char	   *name;
	bool		force = PG_ARGISNULL(1) ? false : PG_GETARG_BOOL(1);
	const char *old_name;
	const smpc_identity *old;
	smpc_identity id;
	Datum		result;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("node name must not be null")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to initialise the smpc node identity"),
				 errdetail("Only superusers may create the node key file.")));
	PreventInTransactionBlock(true, "smpc.init_node()");
	smpc_validate_name(name, "node");

	old = smpc_node_identity(true, &old_name);
	if (old != NULL && !force)
	{
		smpc_public_key pk;

		smpc_identity_public(old, &pk);
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("this node already has an smpc identity"),
				 errdetail("Node \"%s\" has the key with fingerprint %s.",
						   old_name, smpc_fingerprint_text(&pk)),
				 errhint("Pass force => true to replace it; every other member must then pin the new public key.")));
	}

	smpc_check_core_status(smpc_identity_generate(&id), "generate the node key");
	PG_TRY();
	{
		WriteNodeFile(&id, name);
	}
	PG_FINALLY();
	{
		smpc_identity_wipe(&id);
	}
	PG_END_TRY();

	old = smpc_node_identity(false, &old_name);
	result = NodeTuple(fcinfo, old_name, old);
	ereport(LOG,
			(errmsg("smpc node identity \"%s\" %s", old_name,
					force ? "replaced" : "created")));
	PG_RETURN_DATUM(result);
}

/*
 * smpc.node() returns (node_name, public_key, fingerprint)
 *		This node's public identity; an ERROR with a hint if it has none.
 */
Datum
smpc_node_info(PG_FUNCTION_ARGS)
{
	const char *name;
	const smpc_identity *id = smpc_node_identity(false, &name);

	PG_RETURN_DATUM(NodeTuple(fcinfo, name, id));
}
