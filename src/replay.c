/*
 * replay.c
 *		Shared-memory record of recently accepted requests, so a member
 *		refuses a request it has already seen.
 *
 * A request is identified by (database, sender key, recipient key, session
 * id, round, message type).
 * A legitimate querying node never sends two requests with the same
 * identity, and a request older than smpc.max_clock_skew is refused on its
 * timestamp anyway, so entries expire after that window.  The table has a
 * fixed capacity (smpc.replay_cache_size); when it is full of live entries,
 * new requests are refused rather than old ones forgotten.
 *
 * Only requests that start something are remembered: PREPARE or INTERSECT (a session),
 * PING and DESCRIBE.  The later rounds of a session are bound to the one
 * backend holding that session, which accepts each of them once, in order,
 * from the session's querying node; a replay of one finds no session or a
 * session past that round (session.c).  So one entry per session suffices,
 * and a member sustains smpc.replay_cache_size / smpc.max_clock_skew
 * sessions per second (65536 / 60 s, about 1000, by default).
 */
#include "postgres.h"

#include <sodium.h>

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

#include "codec.h"
#include "smpc.h"

#define REPLAY_KEY_BYTES 32

typedef struct ReplayEntry
{
	uint8		key[REPLAY_KEY_BYTES];	/* hash key: BLAKE2b of identity */
	int64		timestamp_ms;	/* the request's own timestamp (unix ms); the
								 * entry lives while it is within the skew */
} ReplayEntry;

typedef struct ReplayShared
{
	LWLock	   *lock;
	int			active_sessions;	/* member sessions in progress (under lock) */
} ReplayShared;

int			smpc_replay_cache_size = 65536;
int			smpc_max_clock_skew_ms = 60 * 1000;

static ReplayShared *replay_shared = NULL;
static bool HoldsSessionSlot = false;
static HTAB *replay_hash = NULL;

#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void ReplayShmemRequest(void);
static void ReplayShmemStartup(void);
static Size ReplayShmemSize(void);

static Size
ReplayShmemSize(void)
{
	return add_size(MAXALIGN(sizeof(ReplayShared)),
					hash_estimate_size(smpc_replay_cache_size, sizeof(ReplayEntry)));
}

static void
ReplayShmemRequest(void)
{
#if PG_VERSION_NUM >= 150000
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
#endif
	RequestAddinShmemSpace(ReplayShmemSize());
	RequestNamedLWLockTranche("smpc_replay", 1);
}

static void
ReplayShmemStartup(void)
{
	bool		found;
	HASHCTL		info;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	replay_shared = ShmemInitStruct("smpc replay guard", sizeof(ReplayShared), &found);
	if (!found)
	{
		replay_shared->lock = &(GetNamedLWLockTranche("smpc_replay"))->lock;
		replay_shared->active_sessions = 0;
	}
	memset(&info, 0, sizeof(info));
	info.keysize = REPLAY_KEY_BYTES;
	info.entrysize = sizeof(ReplayEntry);
	replay_hash = ShmemInitHash("smpc replay hash",
								smpc_replay_cache_size, smpc_replay_cache_size,
								&info, HASH_ELEM | HASH_BLOBS);
	LWLockRelease(AddinShmemInitLock);
}

/*
 * smpc_replay_init
 *		Define the GUCs and request shared memory.  Called from _PG_init
 *		while shared_preload_libraries is being processed.
 */
void
smpc_replay_init(void)
{
	if (process_shared_preload_libraries_in_progress)
		DefineCustomIntVariable("smpc.replay_cache_size",
								"Number of recent requests a member remembers to refuse replays.",
								NULL,
								&smpc_replay_cache_size,
								65536, 128, 16 * 1024 * 1024,
								PGC_POSTMASTER, 0,
								NULL, NULL, NULL);
	DefineCustomIntVariable("smpc.max_clock_skew",
							"How far a request's timestamp may differ from this node's clock.",
							"Requests older or newer than this are refused as stale.",
							&smpc_max_clock_skew_ms,
							60 * 1000, 1000, 24 * 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	if (!process_shared_preload_libraries_in_progress)
		return;
#if PG_VERSION_NUM >= 150000
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = ReplayShmemRequest;
#else
	ReplayShmemRequest();
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = ReplayShmemStartup;
}

/* Current time in unix epoch milliseconds. */
int64
smpc_now_ms(void)
{
	TimestampTz now = GetCurrentTimestamp();

	return (int64) (now / 1000) +
		((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000);
}

/*
 * smpc_replay_check_and_remember
 *		Refuse (ERROR) a request whose timestamp is outside the clock-skew
 *		window or, for a request that starts something (see the file
 *		header), whose identity was accepted before; otherwise remember it.
 *		"sender" names the sender for messages.
 */
void
smpc_replay_check_and_remember(const smpc_signed_msg *m, const char *sender)
{
	int64		now = smpc_now_ms();
	uint8		key[REPLAY_KEY_BYTES];
	crypto_generichash_state st;
	ReplayEntry *entry;
	bool		found;
	bool		starts = m->type == SMPC_MSG_PREPARE || m->type == SMPC_MSG_INTERSECT ||
		m->type == SMPC_MSG_PING || m->type == SMPC_MSG_DESCRIBE;

	if (m->timestamp_ms < now - smpc_max_clock_skew_ms ||
		m->timestamp_ms > now + smpc_max_clock_skew_ms)
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_STALE_REQUEST),
				 errmsg("stale request from node \"%s\"", sender),
				 errdetail("The request's timestamp differs from this node's clock by %lld ms; at most %d ms are allowed.",
						   (long long) (m->timestamp_ms - now), smpc_max_clock_skew_ms),
				 errhint("Synchronise the members' clocks, or raise smpc.max_clock_skew.")));

	if (!starts)
		return;
	if (replay_hash == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("smpc is not loaded through shared_preload_libraries"),
				 errdetail("A member needs shared memory to refuse replayed requests."),
				 errhint("Add smpc to shared_preload_libraries in postgresql.conf and restart the server.")));

	crypto_generichash_init(&st, NULL, 0, sizeof(key));
	crypto_generichash_update(&st, (const uint8 *) &MyDatabaseId, sizeof(MyDatabaseId));
	crypto_generichash_update(&st, m->sender_pk, sizeof(m->sender_pk));
	crypto_generichash_update(&st, m->recipient_pk, sizeof(m->recipient_pk));
	crypto_generichash_update(&st, m->session_id, sizeof(m->session_id));
	crypto_generichash_update(&st, &m->round, 1);
	crypto_generichash_update(&st, &m->type, 1);
	crypto_generichash_final(&st, key, sizeof(key));

	LWLockAcquire(replay_shared->lock, LW_EXCLUSIVE);
	entry = hash_search(replay_hash, key, HASH_FIND, NULL);
	if (entry != NULL && entry->timestamp_ms + smpc_max_clock_skew_ms >= now)
	{
		LWLockRelease(replay_shared->lock);
		ereport(ERROR,
				(errcode(ERRCODE_SMPC_REPLAYED_REQUEST),
				 errmsg("replayed request from node \"%s\"", sender),
				 errdetail("This member has already accepted a %s request for this session and round.",
						   smpc_msg_type_name(m->type)),
				 errhint("Each request carries a fresh session id; a repeated one is refused.")));
	}
	if (entry == NULL && hash_get_num_entries(replay_hash) >= smpc_replay_cache_size)
	{
		HASH_SEQ_STATUS seq;
		ReplayEntry *e;

		hash_seq_init(&seq, replay_hash);
		while ((e = hash_seq_search(&seq)) != NULL)
			if (e->timestamp_ms + smpc_max_clock_skew_ms < now)
				hash_search(replay_hash, e->key, HASH_REMOVE, NULL);
		if (hash_get_num_entries(replay_hash) >= smpc_replay_cache_size)
		{
			LWLockRelease(replay_shared->lock);
			ereport(ERROR,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("too many recent requests to check for replays"),
					 errdetail("All %d entries of the replay cache are in use.",
							   smpc_replay_cache_size),
					 errhint("Raise smpc.replay_cache_size (needs a restart) or lower smpc.max_clock_skew.")));
		}
	}
	entry = hash_search(replay_hash, key, HASH_ENTER_NULL, &found);
	if (entry == NULL)
	{
		LWLockRelease(replay_shared->lock);
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of shared memory for the smpc replay cache")));
	}
	entry->timestamp_ms = m->timestamp_ms;
	LWLockRelease(replay_shared->lock);
}

/*
 * smpc_session_slot_acquire
 *		Count this backend's member session against the node-wide limit
 *		max; false if max sessions are already in progress.  A backend holds
 *		at most one slot (acquiring again is a no-op).  Without shared memory
 *		(smpc not preloaded) the replay check has already refused the request.
 */
bool
smpc_session_slot_acquire(int max)
{
	bool		ok = true;

	if (HoldsSessionSlot || replay_shared == NULL)
		return true;
	LWLockAcquire(replay_shared->lock, LW_EXCLUSIVE);
	if (replay_shared->active_sessions >= max)
		ok = false;
	else
	{
		replay_shared->active_sessions++;
		HoldsSessionSlot = true;
	}
	LWLockRelease(replay_shared->lock);
	return ok;
}

/* smpc_session_slot_release: give back this backend's slot, if it holds one. */
void
smpc_session_slot_release(void)
{
	if (!HoldsSessionSlot || replay_shared == NULL)
		return;
	LWLockAcquire(replay_shared->lock, LW_EXCLUSIVE);
	replay_shared->active_sessions--;
	LWLockRelease(replay_shared->lock);
	HoldsSessionSlot = false;
}
