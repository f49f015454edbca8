/*
 * psi.c
 *		What every party of a private set intersection computes locally: its
 *		set of keys (the dataset query, run like a joint aggregate's, as the
 *		publisher), the keys hashed to ristretto255 points, and the scalar
 *		multiplications, spread over parallel workers.
 *
 * A set of a million keys needs a million scalar multiplications per
 * party per round (about 70 us each), so they run on every core: the
 * leader and up to smpc.psi_workers parallel workers take chunks of the
 * list from a shared counter.  The list goes through a dynamic shared
 * memory segment in batches, so the segment stays small whatever the set
 * size.  The workers' errors reach the leader, and a cancelled leader takes
 * its workers down with it (PostgreSQL's parallel infrastructure).
 *
 * The secret scalar sits in the segment while a batch runs and is zeroed
 * before the segment goes away.
 */
#include "postgres.h"

#include <unistd.h>
#include <sodium.h>

#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "storage/shm_toc.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/uuid.h"

#include "psi.h"
#include "smpc.h"

/* smpc.psi_workers: parallel workers per list; -1 = one per other CPU */
int			smpc_psi_workers = -1;

/* items per batch in the shared segment, and per chunk a process takes */
#define PSI_BATCH 16384
#define PSI_CHUNK 256
/* lists shorter than this are raised by the leader alone */
#define PSI_PARALLEL_MIN 2048

#define PSI_TOC_KEY UINT64CONST(0x534D504350534901)

typedef struct PsiShared
{
	pg_atomic_uint64 next;		/* next item to take */
	pg_atomic_uint32 failed;	/* an input point was invalid */
	uint64		n;				/* items in this batch */
	bool		from_hash;		/* inputs are 64-byte hashes, not points */
	uint8		scalar[SMPC_PSI_SCALAR_BYTES];
	/* then PSI_BATCH inputs (64 bytes each), then PSI_BATCH outputs */
} PsiShared;

#define PSI_IN(sh)	((uint8 *) (sh) + MAXALIGN(sizeof(PsiShared)))
#define PSI_OUT(sh) (PSI_IN(sh) + (size_t) PSI_BATCH * SMPC_PSI_HASH_BYTES)
#define PSI_SHARED_SIZE (MAXALIGN(sizeof(PsiShared)) + \
						 (size_t) PSI_BATCH * (SMPC_PSI_HASH_BYTES + SMPC_PSI_POINT_BYTES))

PGDLLEXPORT void smpc_psi_worker(dsm_segment *seg, shm_toc *toc);

/*
 * smpc_psi_init
 *		The GUCs of private set intersection; called from _PG_init.
 */
void
smpc_psi_init(void)
{
	DefineCustomIntVariable("smpc.psi_workers",
							"Parallel workers that raise a private set intersection list.",
							"-1 starts one per CPU besides the backend itself; 0 computes "
							"in the backend alone.  Workers come from max_parallel_workers.",
							&smpc_psi_workers,
							-1, -1, 64,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
}

/*
 * smpc_psi_key_class
 *		The key class (SMPC_PSI_KEY_*) of values of type typid, or 0 if the
 *		type cannot be an intersection key.  Domains count as their base type.
 */
int
smpc_psi_key_class(Oid typid)
{
	switch (getBaseType(typid))
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
			return SMPC_PSI_KEY_INTEGER;
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
			return SMPC_PSI_KEY_TEXT;
		case UUIDOID:
			return SMPC_PSI_KEY_UUID;
	}
	return 0;
}

const char *
smpc_psi_key_class_name(int key_class)
{
	switch (key_class)
	{
		case SMPC_PSI_KEY_INTEGER:
			return "integer";
		case SMPC_PSI_KEY_TEXT:
			return "text";
		case SMPC_PSI_KEY_UUID:
			return "uuid";
	}
	return "unknown";
}

/* ------------------------------------------------------------ the set */

/* Hash one non-null key value of base type basetype into out. */
static void
HashKey(const uint8 *session_id, int key_class, Oid basetype, Datum d, uint8 *out)
{
	uint8		buf[16];
	const uint8 *bytes = buf;
	size_t		len;
	char	   *converted = NULL;

	switch (key_class)
	{
		case SMPC_PSI_KEY_INTEGER:
			{
				int64		v;
				uint64		u;

				switch (basetype)
				{
					case INT2OID:
						v = DatumGetInt16(d);
						break;
					case INT4OID:
						v = DatumGetInt32(d);
						break;
					default:
						v = DatumGetInt64(d);
						break;
				}
				u = (uint64) v;
				for (int i = 0; i < 8; i++)
					buf[i] = (uint8) (u >> (8 * i));
				len = 8;
				break;
			}
		case SMPC_PSI_KEY_UUID:
			memcpy(buf, DatumGetUUIDP(d)->data, UUID_LEN);
			len = UUID_LEN;
			break;
		default:
			{
				text	   *t = DatumGetTextPP(d);
				const char *src = VARDATA_ANY(t);
				int			slen = VARSIZE_ANY_EXHDR(t);

				/* char(n) compares without its trailing spaces */
				if (basetype == BPCHAROID)
					while (slen > 0 && src[slen - 1] == ' ')
						slen--;
				/* every party hashes UTF-8, whatever its database encoding */
				converted = pg_server_to_any(src, slen, PG_UTF8);
				bytes = (const uint8 *) converted;
				len = converted == src ? (size_t) slen : strlen(converted);
				if (converted == src)
					converted = NULL;
				break;
			}
	}
	smpc_check_core_status(smpc_psi_key_hash(session_id, (uint8) key_class, bytes, len, out),
						   "hash an intersection key");
	if (converted != NULL)
		pfree(converted);
}

/* what SetWork needs and fills */
typedef struct SetCall
{
	const SmpcDataset *ds;
	const char *final_sql;
	const uint8 *session_id;
	int			key_class;
	MemoryContext caller;
	uint8	   *hashes;			/* count * SMPC_PSI_HASH_BYTES */
	size_t		count;
} SetCall;

/* Run the checked key query through a cursor and hash its keys (inside SPI). */
static void
SetWork(void *arg)
{
	SetCall    *c = (SetCall *) arg;
	volatile size_t cap = 1024;
	volatile Oid basetype = InvalidOid;

	c->hashes = MemoryContextAllocHuge(c->caller, cap * SMPC_PSI_HASH_BYTES);

	/* the query and the hashing; their errors lose their text */
	PG_TRY();
	{
		SPIPlanPtr	plan = SPI_prepare(c->final_sql, 0, NULL);
		Portal		portal;

		if (plan == NULL)
			elog(ERROR, "could not prepare the dataset query: %s",
				 SPI_result_code_string(SPI_result));
		portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
		for (;;)
		{
			TupleDesc	tupdesc;

			SPI_cursor_fetch(portal, true, 10000);
			if (SPI_processed == 0)
				break;
			tupdesc = SPI_tuptable->tupdesc;
			if (!OidIsValid(basetype))
				basetype = getBaseType(SPI_gettypeid(tupdesc, 1));
			for (uint64 r = 0; r < SPI_processed; r++)
			{
				bool		isnull;
				Datum		d = SPI_getbinval(SPI_tuptable->vals[r], tupdesc, 1, &isnull);

				if (isnull)
					continue;
				if (c->count == cap)
				{
					cap *= 2;
					c->hashes = repalloc_huge(c->hashes, cap * SMPC_PSI_HASH_BYTES);
				}
				HashKey(c->session_id, c->key_class, basetype, d,
						c->hashes + c->count * SMPC_PSI_HASH_BYTES);
				c->count++;
			}
			SPI_freetuptable(SPI_tuptable);
			CHECK_FOR_INTERRUPTS();
		}
		SPI_cursor_close(portal);
	}
	PG_CATCH();
	{
		smpc_dataset_query_failed(c->ds, c->caller);
	}
	PG_END_TRY();
}

/*
 * smpc_psi_local_set
 *		Check and run the dataset query of an intersection on dataset ds
 *		(one key column, grouped by) as its publisher, and hash every
 *		distinct non-null key for this session.  The key column must be of
 *		key_class here.  Returns the hashes (SMPC_PSI_HASH_BYTES each) and
 *		their number in *n.
 */
uint8 *
smpc_psi_local_set(const SmpcDataset *ds, const char *sql, const uint8 *session_id,
				   int key_class, size_t *n)
{
	List	   *outputs = NIL;
	char	   *final_sql;
	SmpcDatasetColumn *col = NULL;
	ListCell   *lc;
	SetCall		c;

	final_sql = smpc_policy_check_intersect(ds, sql, &outputs);
	if (list_length(outputs) != 1 || linitial(outputs) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_POLICY_VIOLATION),
				 errmsg("the dataset query of an intersection must select its key column only")));
	foreach(lc, ds->columns)
		if (strcmp(((SmpcDatasetColumn *) lfirst(lc))->name, linitial(outputs)) == 0)
			col = lfirst(lc);
	Assert(col != NULL);
	if (smpc_psi_key_class(col->typid) != key_class)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("intersection key \"%s\" of dataset \"%s\" is of type %s here, but the query's key is of kind %s",
						col->name, ds->name, col->type_name,
						smpc_psi_key_class_name(key_class)),
				 errhint("Publish the key with the same kind of type on every member: integers, text or uuid.")));

	c.ds = ds;
	c.final_sql = final_sql;
	c.session_id = session_id;
	c.key_class = key_class;
	c.caller = CurrentMemoryContext;
	c.hashes = NULL;
	c.count = 0;
	smpc_run_as_publisher(ds, SetWork, &c);
	*n = c.count;
	return c.hashes;
}

/*
 * smpc_psi_list_too_large
 *		The error for an intersection list of n keys that does not fit in
 *		one message.
 */
void
smpc_psi_list_too_large(size_t n)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("an intersection list of %zu keys is larger than smpc.max_message_size (%d bytes)",
					n, smpc_max_message_size),
			 errhint("Each key travels as %d bytes; narrow the WHERE conditions or raise smpc.max_message_size.",
					 SMPC_PSI_POINT_BYTES)));
}

/* ------------------------------------------------- scalar multiplications */

/* Take chunks of the batch until none is left or an input fails. */
static void
PsiWork(PsiShared *sh)
{
	const uint8 *in = PSI_IN(sh);
	uint8	   *out = PSI_OUT(sh);
	size_t		stride = sh->from_hash ? SMPC_PSI_HASH_BYTES : SMPC_PSI_POINT_BYTES;

	for (;;)
	{
		uint64		start = pg_atomic_fetch_add_u64(&sh->next, PSI_CHUNK);
		uint64		end;

		if (start >= sh->n || pg_atomic_read_u32(&sh->failed) != 0)
			return;
		end = Min(start + PSI_CHUNK, sh->n);
		for (uint64 i = start; i < end; i++)
		{
			int			rc;

			if (sh->from_hash)
				rc = smpc_psi_hash_mult(sh->scalar, in + i * stride,
										out + i * SMPC_PSI_POINT_BYTES);
			else
				rc = smpc_psi_point_mult(sh->scalar, in + i * stride,
										 out + i * SMPC_PSI_POINT_BYTES);
			if (rc != SMPC_OK)
			{
				pg_atomic_write_u32(&sh->failed, 1);
				return;
			}
		}
		CHECK_FOR_INTERRUPTS();
	}
}

/* Entry point of a parallel worker (CreateParallelContext names it). */
void
smpc_psi_worker(dsm_segment *seg, shm_toc *toc)
{
	PsiShared  *sh = shm_toc_lookup(toc, PSI_TOC_KEY, false);

	PsiWork(sh);
}

/* How many parallel workers to ask for. */
static int
PsiWorkers(void)
{
	long		cpus;

	if (smpc_psi_workers >= 0)
		return smpc_psi_workers;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return cpus > 1 ? (int) Min(cpus - 1, 64) : 0;
}

/*
 * smpc_psi_raise
 *		out[i] = in[i]^k for n inputs: points, or (from_hash) 64-byte key
 *		hashes mapped to the group first.  ERROR naming whose list it is if
 *		an input is not a valid point.
 */
void
smpc_psi_raise(const uint8 *k, const uint8 *in, size_t n, bool from_hash,
			   uint8 *out, const char *whose)
{
	size_t		stride = from_hash ? SMPC_PSI_HASH_BYTES : SMPC_PSI_POINT_BYTES;
	int			nworkers = n >= PSI_PARALLEL_MIN ? PsiWorkers() : 0;
	ParallelContext *pcxt;
	PsiShared  *volatile sh;
	volatile bool failed = false;

	if (nworkers == 0 || IsInParallelMode())
	{
		/* the backend alone */
		for (size_t i = 0; i < n && !failed; i++)
		{
			int			rc;

			if (from_hash)
				rc = smpc_psi_hash_mult(k, in + i * stride, out + i * SMPC_PSI_POINT_BYTES);
			else
				rc = smpc_psi_point_mult(k, in + i * stride, out + i * SMPC_PSI_POINT_BYTES);
			failed = rc != SMPC_OK;
			if (i % PSI_CHUNK == 0)
				CHECK_FOR_INTERRUPTS();
		}
	}
	else
	{
		/*
		 * On an error the transaction's (or subtransaction's) abort ends the
		 * workers and the parallel context; only the scalar is zeroed here.
		 */
		EnterParallelMode();
		pcxt = CreateParallelContext("smpc", "smpc_psi_worker", nworkers);
		shm_toc_estimate_chunk(&pcxt->estimator, PSI_SHARED_SIZE);
		shm_toc_estimate_keys(&pcxt->estimator, 1);
		InitializeParallelDSM(pcxt);
		if (pcxt->seg != NULL)
			sh = shm_toc_allocate(pcxt->toc, PSI_SHARED_SIZE);
		else
			sh = MemoryContextAllocHuge(CurrentMemoryContext, PSI_SHARED_SIZE);	/* no DSM: alone */
		memcpy(sh->scalar, k, SMPC_PSI_SCALAR_BYTES);
		sh->from_hash = from_hash;
		if (pcxt->seg != NULL)
			shm_toc_insert(pcxt->toc, PSI_TOC_KEY, sh);
		PG_TRY();
		{
			for (size_t off = 0; off < n && !failed; off += PSI_BATCH)
			{
				size_t		m = Min((size_t) PSI_BATCH, n - off);

				memcpy(PSI_IN(sh), in + off * stride, m * stride);
				sh->n = m;
				pg_atomic_init_u64(&sh->next, 0);
				pg_atomic_init_u32(&sh->failed, 0);
				if (pcxt->seg != NULL)
				{
					if (off > 0)
						ReinitializeParallelDSM(pcxt);
					LaunchParallelWorkers(pcxt);
					if (off == 0)
						elog(DEBUG1, "smpc: raising %zu points with %d parallel workers",
							 n, pcxt->nworkers_launched);
				}
				PsiWork(sh);
				if (pcxt->seg != NULL)
					WaitForParallelWorkersToFinish(pcxt);
				failed = pg_atomic_read_u32(&sh->failed) != 0;
				memcpy(out + off * SMPC_PSI_POINT_BYTES, PSI_OUT(sh), m * SMPC_PSI_POINT_BYTES);
			}
		}
		PG_CATCH();
		{
			sodium_memzero(sh->scalar, SMPC_PSI_SCALAR_BYTES);
			PG_RE_THROW();
		}
		PG_END_TRY();
		sodium_memzero(sh->scalar, SMPC_PSI_SCALAR_BYTES);
		if (pcxt->seg == NULL)
			pfree(sh);
		DestroyParallelContext(pcxt);
		ExitParallelMode();
	}
	if (failed)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("the intersection list of %s holds a value that is not a valid group element",
						whose)));
}
