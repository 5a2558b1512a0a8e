/*
 * login_throttle.c — failed-login counters across all backends (see
 * login_throttle.h).
 *
 * The table is set-associative like the jti store: a key picks one bucket
 * of TG_THROTTLE_WAYS slots. A slot is free when it holds no failure within
 * the last tenantguard.login_lockout, no lock in force and no attempt in
 * flight. When a bucket has no free slot, the entry with the fewest
 * failures that is neither locked nor in flight is dropped (it loses fewer
 * than login_max_failures failures); when every slot is locked or in
 * flight, the attempt is refused (fail closed). Keys are BLAKE2b-128 of
 * the database's oid and the email under a per-cluster random key drawn at
 * startup, so an attacker cannot pick emails that crowd a victim's bucket,
 * and each database counts its own users.
 *
 * The table lives in shared memory: a server restart (or a crash restart)
 * clears it. Locks come back from the ledger's lockout events at each
 * database's first login after the start (identity.c reads them and calls
 * tg_throttle_restore_lock); counts below the limit do not
 * (docs/identity.md says so).
 *
 * Layer 2: no calls into other tenantguard files.
 */
#include "postgres.h"

#include <string.h>
#include <sodium.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "login_throttle.h"

#define TG_THROTTLE_WAYS 8
#define TG_THROTTLE_RESTORED_DBS 64

typedef struct TgThrottleSlot
{
	uint8		key[TG_THROTTLE_KEY_LEN];
	int32		failures;
	int32		in_flight;
	TimestampTz last_failure;
	TimestampTz locked_until;	/* 0 = not locked */
} TgThrottleSlot;

typedef struct TgThrottleShared
{
	LWLock	   *lock;
	int			nbuckets;
	uint8		hash_key[crypto_generichash_KEYBYTES];
	int			nrestored;		/* databases whose locks were restored since startup */
	Oid			restored[TG_THROTTLE_RESTORED_DBS];
	/* followed by TgThrottleSlot[nbuckets * TG_THROTTLE_WAYS] */
} TgThrottleShared;

int			tg_login_max_failures = 5;
int			tg_login_lockout_ms = 15 * 60 * 1000;
static int	tg_throttle_slots = 16384;

static TgThrottleShared *tg_throttle = NULL;
static TgThrottleSlot *tg_throttle_table = NULL;

/* This backend's reserved attempt. */
static bool tg_reserved = false;
static int	tg_reserved_slot = -1;
static uint8 tg_reserved_key[TG_THROTTLE_KEY_LEN];
static bool tg_callbacks_done = false;

static int
tg_throttle_nbuckets(void)
{
	return (tg_throttle_slots + TG_THROTTLE_WAYS - 1) / TG_THROTTLE_WAYS;
}

static Size
tg_throttle_shmem_size(void)
{
	return add_size(MAXALIGN(sizeof(TgThrottleShared)),
					mul_size(mul_size(tg_throttle_nbuckets(), TG_THROTTLE_WAYS),
							 sizeof(TgThrottleSlot)));
}

void
tg_throttle_init(void)
{
	DefineCustomIntVariable("tenantguard.login_max_failures",
							"Failed logins of one email after which it is locked.",
							"Counted across all backends, unknown emails too; a rollback does not undo a count.",
							&tg_login_max_failures,
							5, 1, 1000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("tenantguard.login_lockout",
							"How long an email stays locked after too many failed logins.",
							"Failures older than this are forgotten too.",
							&tg_login_lockout_ms,
							15 * 60 * 1000, 1000, INT_MAX,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("tenantguard.login_throttle_slots",
							"Emails whose failed logins are remembered across all backends.",
							"When a bucket is full of locked emails, further emails of that bucket are refused as locked.",
							&tg_throttle_slots,
							16384, 128, 1 << 22,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);
}

void
tg_throttle_shmem_request(void)
{
	RequestAddinShmemSpace(tg_throttle_shmem_size());
	RequestNamedLWLockTranche("tenantguard_login_throttle", 1);
}

void
tg_throttle_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	tg_throttle = ShmemInitStruct("tenantguard_login_throttle", tg_throttle_shmem_size(), &found);
	if (!found)
	{
		memset(tg_throttle, 0, tg_throttle_shmem_size());
		tg_throttle->lock = &(GetNamedLWLockTranche("tenantguard_login_throttle"))->lock;
		tg_throttle->nbuckets = tg_throttle_nbuckets();
		randombytes_buf(tg_throttle->hash_key, sizeof(tg_throttle->hash_key));
	}
	tg_throttle_table = (TgThrottleSlot *) ((char *) tg_throttle + MAXALIGN(sizeof(TgThrottleShared)));
	LWLockRelease(AddinShmemInitLock);
}

/*
 * The key of (this database, email): the table is shared by the cluster's
 * databases, whose users are distinct accounts. Without the database, a
 * login in one database would reset (success) or lock the count of the
 * same email in another, and unlock_user() there would lift its lock.
 */
void
tg_throttle_key(const char *email, size_t len, uint8 key[TG_THROTTLE_KEY_LEN])
{
	static const uint8 zero_key[crypto_generichash_KEYBYTES] = {0};
	const uint8 *hk = tg_throttle ? tg_throttle->hash_key : zero_key;
	crypto_generichash_state st;
	uint32		db = (uint32) MyDatabaseId;

	crypto_generichash_init(&st, hk, crypto_generichash_KEYBYTES, TG_THROTTLE_KEY_LEN);
	crypto_generichash_update(&st, (const uint8 *) &db, sizeof(db));
	crypto_generichash_update(&st, (const uint8 *) email, len);
	crypto_generichash_final(&st, key, TG_THROTTLE_KEY_LEN);
}

/* Forget what has expired in s (under the lock). */
static void
tg_slot_age(TgThrottleSlot *s, TimestampTz now)
{
	if (s->locked_until != 0 && s->locked_until <= now)
	{
		s->locked_until = 0;
		s->failures = 0;
	}
	if (s->failures > 0 && s->locked_until == 0 &&
		s->last_failure + (TimestampTz) tg_login_lockout_ms * 1000 <= now)
		s->failures = 0;
}

static bool
tg_slot_live(const TgThrottleSlot *s)
{
	return s->failures > 0 || s->in_flight > 0 || s->locked_until != 0;
}

/* The first slot of key's bucket. */
static int
tg_bucket_first(const uint8 key[TG_THROTTLE_KEY_LEN])
{
	uint64		h;

	memcpy(&h, key, sizeof(h));
	return (int) (h % (uint64) tg_throttle->nbuckets) * TG_THROTTLE_WAYS;
}

static void
tg_throttle_abandon(void)
{
	if (tg_reserved)
		(void) tg_throttle_end(TG_THROTTLE_FAILURE);
}

/* An attempt whose (sub)transaction aborts or whose backend exits counts as a failure. */
static void
tg_throttle_xact_cb(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		tg_throttle_abandon();
}

static void
tg_throttle_subxact_cb(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		tg_throttle_abandon();
}

static void
tg_throttle_exit_cb(int code, Datum arg)
{
	tg_throttle_abandon();
}

/*
 * The slot of key (under the lock, exclusive): its live entry, else a free
 * slot or the live entry with the fewest (and oldest) failures that is
 * neither locked nor in flight, made key's with no failures; -1 when every
 * slot of the bucket is locked or in flight.
 */
static int
tg_slot_for(const uint8 key[TG_THROTTLE_KEY_LEN], TimestampTz now)
{
	int			first = tg_bucket_first(key);
	int			free_slot = -1;
	int			victim = -1;
	int			found;
	int			i;

	for (i = first; i < first + TG_THROTTLE_WAYS; i++)
	{
		TgThrottleSlot *s = &tg_throttle_table[i];

		tg_slot_age(s, now);
		if (tg_slot_live(s) && memcmp(s->key, key, TG_THROTTLE_KEY_LEN) == 0)
			return i;
		if (!tg_slot_live(s))
		{
			if (free_slot < 0)
				free_slot = i;
		}
		else if (s->locked_until == 0 && s->in_flight == 0 &&
				 (victim < 0 || s->failures < tg_throttle_table[victim].failures ||
				  (s->failures == tg_throttle_table[victim].failures &&
				   s->last_failure < tg_throttle_table[victim].last_failure)))
			victim = i;
	}
	found = free_slot >= 0 ? free_slot : victim;
	if (found >= 0)
	{
		TgThrottleSlot *s = &tg_throttle_table[found];

		memcpy(s->key, key, TG_THROTTLE_KEY_LEN);
		s->failures = 0;
		s->in_flight = 0;
		s->last_failure = 0;
		s->locked_until = 0;
	}
	return found;
}

bool
tg_throttle_begin(const uint8 key[TG_THROTTLE_KEY_LEN], TimestampTz *locked_until)
{
	TimestampTz now = GetCurrentTimestamp();
	int			found;
	bool		ok = false;

	*locked_until = 0;
	if (tg_throttle == NULL)
		return false;			/* not preloaded: fail closed */
	if (!tg_callbacks_done)
	{
		RegisterXactCallback(tg_throttle_xact_cb, NULL);
		RegisterSubXactCallback(tg_throttle_subxact_cb, NULL);
		before_shmem_exit(tg_throttle_exit_cb, (Datum) 0);
		tg_callbacks_done = true;
	}
	if (tg_reserved)
		(void) tg_throttle_end(TG_THROTTLE_FAILURE);

	LWLockAcquire(tg_throttle->lock, LW_EXCLUSIVE);
	found = tg_slot_for(key, now);
	if (found >= 0)
	{
		TgThrottleSlot *s = &tg_throttle_table[found];

		if (s->locked_until > now)
			*locked_until = s->locked_until;
		else if (s->failures + s->in_flight < tg_login_max_failures)
		{
			s->in_flight++;
			ok = true;
		}
	}
	LWLockRelease(tg_throttle->lock);

	if (ok)
	{
		tg_reserved = true;
		tg_reserved_slot = found;
		memcpy(tg_reserved_key, key, TG_THROTTLE_KEY_LEN);
	}
	return ok;
}

bool
tg_throttle_end(TgThrottleOutcome outcome)
{
	TgThrottleSlot *s;
	bool		locked = false;

	if (!tg_reserved)
		return false;
	tg_reserved = false;
	LWLockAcquire(tg_throttle->lock, LW_EXCLUSIVE);
	s = &tg_throttle_table[tg_reserved_slot];
	/* a slot with an attempt in flight is never reused, so it is still ours */
	Assert(memcmp(s->key, tg_reserved_key, TG_THROTTLE_KEY_LEN) == 0);
	if (s->in_flight > 0)
		s->in_flight--;
	switch (outcome)
	{
		case TG_THROTTLE_SUCCESS:
			s->failures = 0;
			s->locked_until = 0;
			break;
		case TG_THROTTLE_FAILURE:
			{
				TimestampTz now = GetCurrentTimestamp();

				s->failures++;
				s->last_failure = now;
				if (s->failures >= tg_login_max_failures && s->locked_until == 0)
				{
					s->locked_until = now + (TimestampTz) tg_login_lockout_ms * 1000;
					locked = true;
				}
			}
			break;
		case TG_THROTTLE_NEUTRAL:
			break;
	}
	LWLockRelease(tg_throttle->lock);
	return locked;
}

void
tg_throttle_clear(const uint8 key[TG_THROTTLE_KEY_LEN])
{
	int			first;
	int			i;

	if (tg_throttle == NULL)
		return;
	first = tg_bucket_first(key);
	LWLockAcquire(tg_throttle->lock, LW_EXCLUSIVE);
	for (i = first; i < first + TG_THROTTLE_WAYS; i++)
	{
		TgThrottleSlot *s = &tg_throttle_table[i];

		if (tg_slot_live(s) && memcmp(s->key, key, TG_THROTTLE_KEY_LEN) == 0)
		{
			s->failures = 0;
			s->locked_until = 0;
		}
	}
	LWLockRelease(tg_throttle->lock);
}

/* Restored in this backend (when the shared list of databases is full). */
static bool tg_restored_here = false;

bool
tg_throttle_restore_needed(void)
{
	bool		needed = true;
	int			i;

	if (tg_throttle == NULL || tg_restored_here)
		return false;
	LWLockAcquire(tg_throttle->lock, LW_SHARED);
	for (i = 0; i < tg_throttle->nrestored; i++)
		if (tg_throttle->restored[i] == MyDatabaseId)
			needed = false;
	LWLockRelease(tg_throttle->lock);
	return needed;
}

void
tg_throttle_restore_done(void)
{
	int			i;
	bool		listed = false;

	if (tg_throttle == NULL)
		return;
	tg_restored_here = true;
	LWLockAcquire(tg_throttle->lock, LW_EXCLUSIVE);
	for (i = 0; i < tg_throttle->nrestored; i++)
		if (tg_throttle->restored[i] == MyDatabaseId)
			listed = true;
	if (!listed && tg_throttle->nrestored < TG_THROTTLE_RESTORED_DBS)
		tg_throttle->restored[tg_throttle->nrestored++] = MyDatabaseId;
	LWLockRelease(tg_throttle->lock);
}

void
tg_throttle_restore_lock(const uint8 key[TG_THROTTLE_KEY_LEN], TimestampTz locked_until)
{
	TimestampTz now = GetCurrentTimestamp();
	int			found;

	if (tg_throttle == NULL || locked_until <= now)
		return;
	LWLockAcquire(tg_throttle->lock, LW_EXCLUSIVE);
	found = tg_slot_for(key, now);
	/* no slot: the bucket is all locks in force and attempts in flight, which fail closed anyway */
	if (found >= 0)
	{
		TgThrottleSlot *s = &tg_throttle_table[found];

		if (s->failures < tg_login_max_failures)
			s->failures = tg_login_max_failures;
		if (s->last_failure < now)
			s->last_failure = now;
		if (s->locked_until < locked_until)
			s->locked_until = locked_until;
	}
	LWLockRelease(tg_throttle->lock);
}
