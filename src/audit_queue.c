/*
 * audit_queue.c — the shared-memory queue of audit events that the ledger
 * worker writes in its own transaction: refusals (a refused action raises an
 * error, so an event written in the caller's transaction would be rolled back
 * with it), events of read-only transactions and summaries of rolled-back
 * reveals. The queue is shared fairly (per role, database and kind of event,
 * with coalescing of identical events), and what does not fit is counted, so
 * that a flood costs only the flooder's own events.
 *
 * Layer 2: takes complete events (audit_event.h); knows nothing above.
 */
#include "postgres.h"

#include "access/xlog.h"
#include "common/hashfn.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "audit_queue.h"

/*
 * The queue. Every slot holds one event, or several identical ones
 * coalesced into it ("count"). Events are of two kinds, refusals (decision
 * deny) and the others (events of read-only transactions, rolled-back reveal
 * summaries), and each slot belongs to an actor: the database and the
 * session user of the backend that queued it. Shares (see tg_audit_enqueue):
 *
 *   - an actor may hold at most tenantguard.audit_queue_role_limit slots of
 *     each kind; once it holds half of that, an identical event is coalesced
 *     into the slot that has it instead of taking a new one;
 *   - a database may hold at most half of the slots, of each kind;
 *   - a kind may hold at most three quarters of the slots, so a quarter is
 *     always kept for refusals and a quarter for the other events.
 *
 * An event that finds no room is counted in a drop entry of its actor, which
 * the ledger worker writes as an audit.events_dropped event.
 *
 * The slot heads are kept apart from the (large) events, so that the scan a
 * backend makes under the lock touches little memory.
 */
typedef enum TgEventKind
{
	TG_KIND_REFUSAL,			/* decision deny */
	TG_KIND_OTHER				/* read-only events, rolled-back reveal summaries */
} TgEventKind;
#define TG_DROP_ROLE_ENTRIES 96	/* the others are kept for per-database entries */
#define TG_DROP_WRITE_DELAY_MS 1000	/* a drop entry is written once it is this old */

typedef struct TgSlotHead
{
	bool		used;
	uint8		kind;
	bool		coalescible;	/* details are empty or a JSON object */
	Oid			dboid;
	Oid			roleid;			/* session user of the backend that queued it */
	uint32		hash;			/* of everything but the times */
} TgSlotHead;

typedef struct TgAuditShared
{
	LWLock	   *lock;
	pid_t		launcher_pid;
	Latch	   *launcher_latch;
	int			nslots;
	uint64		next_seq;
	uint64		next_gen;
	uint64		unattributed;	/* dropped events no drop entry was free for */
	TgDropEntry drops[TG_DROP_ENTRIES];
	/* followed by TgSlotHead[nslots], then TgQueuedEvent[nslots] */
} TgAuditShared;

static TgAuditShared *tg_shared = NULL;
static TgSlotHead *tg_heads = NULL;
static TgQueuedEvent *tg_events = NULL;

static int	tg_audit_queue_size = 1024;
static int	tg_queue_role_limit = 64;

static Size
tg_audit_shmem_size(void)
{
	Size		sz = MAXALIGN(sizeof(TgAuditShared));

	sz = add_size(sz, MAXALIGN(mul_size(tg_audit_queue_size, sizeof(TgSlotHead))));
	sz = add_size(sz, mul_size(tg_audit_queue_size, sizeof(TgQueuedEvent)));
	return sz;
}

/* Shared memory for the queue (from the shmem_request hook). */
void
tg_audit_queue_shmem_request(void)
{
	RequestAddinShmemSpace(tg_audit_shmem_size());
	RequestNamedLWLockTranche("tenantguard_audit", 1);
}

/* Attach to (or create) the queue (from the shmem_startup hook). */
void
tg_audit_queue_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	tg_shared = ShmemInitStruct("tenantguard_audit", tg_audit_shmem_size(), &found);
	if (!found)
	{
		memset(tg_shared, 0, tg_audit_shmem_size());
		tg_shared->lock = &(GetNamedLWLockTranche("tenantguard_audit"))->lock;
		tg_shared->nslots = tg_audit_queue_size;
	}
	tg_heads = (TgSlotHead *) ((char *) tg_shared + MAXALIGN(sizeof(TgAuditShared)));
	tg_events = (TgQueuedEvent *) ((char *) tg_heads +
								   MAXALIGN(mul_size(tg_shared->nslots, sizeof(TgSlotHead))));
	LWLockRelease(AddinShmemInitLock);
}

/* Copy src into dst, cut at a character boundary when it does not fit. */
static void
tg_copy(char *dst, size_t size, const char *src)
{
	int			len;

	if (src == NULL)
	{
		dst[0] = '\0';
		return;
	}
	len = strlen(src);
	if ((size_t) len >= size)
		len = pg_mbcliplen(src, len, (int) size - 1);
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static uint32
tg_hash_str(uint32 h, const char *s)
{
	return hash_combine(h, hash_bytes((const unsigned char *) s, strlen(s)));
}

/* What makes two queued events identical: everything but their times. */
static uint32
tg_event_identity(const TgQueuedEvent *q)
{
	uint32		h = q->has_tenant ? hash_bytes(q->tenant.data, UUID_LEN) : 0;

	h = tg_hash_str(h, q->category);
	h = tg_hash_str(h, q->action);
	h = tg_hash_str(h, q->decision);
	h = tg_hash_str(h, q->principal);
	h = tg_hash_str(h, q->db_user);
	h = tg_hash_str(h, q->object);
	h = tg_hash_str(h, q->reason);
	h = tg_hash_str(h, q->details);
	h = tg_hash_str(h, q->client_addr);
	h = tg_hash_str(h, q->application_name);
	return h;
}

static bool
tg_same_event(const TgQueuedEvent *a, const TgQueuedEvent *b)
{
	return a->has_tenant == b->has_tenant &&
		(!a->has_tenant || memcmp(a->tenant.data, b->tenant.data, UUID_LEN) == 0) &&
		strcmp(a->category, b->category) == 0 &&
		strcmp(a->action, b->action) == 0 &&
		strcmp(a->decision, b->decision) == 0 &&
		strcmp(a->principal, b->principal) == 0 &&
		strcmp(a->db_user, b->db_user) == 0 &&
		strcmp(a->object, b->object) == 0 &&
		strcmp(a->reason, b->reason) == 0 &&
		strcmp(a->details, b->details) == 0 &&
		strcmp(a->client_addr, b->client_addr) == 0 &&
		strcmp(a->application_name, b->application_name) == 0;
}

/*
 * Count an event that found no room, in the drop entry of its actor; with no
 * entry free for the actor, in one of its database; failing that, in the
 * cluster-wide count the launcher logs. Caller holds the lock exclusively.
 */
static void
tg_note_drop(Oid roleid, const char *db_user, TgEventKind kind, TimestampTz now)
{
	TgDropEntry *e = NULL;
	TgDropEntry *db_entry = NULL;
	TgDropEntry *free_entry = NULL;
	int			i,
				nused = 0;

	for (i = 0; i < TG_DROP_ENTRIES; i++)
	{
		TgDropEntry *d = &tg_shared->drops[i];

		if (!d->used)
		{
			if (free_entry == NULL)
				free_entry = d;
			continue;
		}
		nused++;
		if (d->dboid != MyDatabaseId)
			continue;
		if (d->roleid == roleid)
			e = d;
		else if (d->roleid == InvalidOid)
			db_entry = d;
	}
	if (e == NULL && free_entry != NULL && (nused < TG_DROP_ROLE_ENTRIES || db_entry == NULL))
	{
		/* past the per-role entries, a database gets one entry for all its roles */
		e = free_entry;
		memset(e, 0, sizeof(*e));
		e->used = true;
		e->dboid = MyDatabaseId;
		e->roleid = nused < TG_DROP_ROLE_ENTRIES ? roleid : InvalidOid;
		e->gen = ++tg_shared->next_gen;
		e->first_at = now;
		tg_copy(e->db_user, sizeof(e->db_user), db_user);
	}
	else if (e == NULL)
		e = db_entry;
	if (e == NULL)
	{
		tg_shared->unattributed++;
		return;
	}
	if (e->dropped == 0)
		e->first_at = now;
	else if (e->taken_dropped > 0 && e->next_first_at == 0)
		e->next_first_at = now;
	e->dropped++;
	if (kind == TG_KIND_REFUSAL)
		e->refusals++;
	e->last_at = now;
}

/* The slot contents of an event, cut to the slot's field sizes. */
static void
tg_prepare_queued(const TgAuditEvent *ev, TgQueuedEvent *cand)
{
	memset(cand, 0, sizeof(*cand));
	cand->has_tenant = ev->actor.has_tenant;
	cand->tenant = ev->actor.tenant;
	tg_copy(cand->category, sizeof(cand->category), ev->category);
	tg_copy(cand->action, sizeof(cand->action), ev->action);
	tg_copy(cand->decision, sizeof(cand->decision), ev->decision ? ev->decision : "deny");
	tg_copy(cand->principal, sizeof(cand->principal), ev->actor.principal);
	tg_copy(cand->db_user, sizeof(cand->db_user), ev->actor.db_user);
	tg_copy(cand->object, sizeof(cand->object), ev->object);
	tg_copy(cand->reason, sizeof(cand->reason), ev->reason);
	/* a cut JSON text would not parse: keep only what fits whole */
	if (ev->details_json && strlen(ev->details_json) < sizeof(cand->details))
		tg_copy(cand->details, sizeof(cand->details), ev->details_json);
	else if (ev->details_json)
		tg_copy(cand->details, sizeof(cand->details), "{\"truncated\": true}");
	tg_copy(cand->client_addr, sizeof(cand->client_addr), ev->actor.client_addr);
	tg_copy(cand->application_name, sizeof(cand->application_name),
			ev->application_name ? ev->application_name : application_name);
}

/* Tell the session that an event was not queued, and which share was full. */
static void
tg_warn_not_queued(const char *full, int role_n, int db_n, int kind_n, int nslots)
{
	/* to the client only: a flood must not flood the server log as well */
	ereport(WARNING_CLIENT_ONLY,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("audit queue is full; an audit event was not recorded"),
			 strcmp(full, "role") == 0 ?
			 errdetail("This session's role already has %d audit events of this kind waiting in this database, the limit set by tenantguard.audit_queue_role_limit.", role_n) :
			 strcmp(full, "database") == 0 ?
			 errdetail("This database already has %d audit events of this kind waiting, half of the queue.", db_n) :
			 strcmp(full, "kind") == 0 ?
			 errdetail("Audit events of this kind already take %d of the %d queue slots, the most they may take.", kind_n, nslots) :
			 errdetail("All %d queue slots are in use.", nslots),
			 errhint("The number of events lost is recorded in the audit ledger as an audit.events_dropped event.")));
}

/*
 * Queue an event for the ledger worker, which writes it in its own
 * transaction: refusals (they survive the caller's rollback), events of
 * read-only transactions and summaries of rolled-back reveals. Never raises
 * an error. Returns true when the event is queued (in a slot of its own or
 * coalesced into an identical one), false when it is not: on a standby,
 * where it goes to the log, or when it finds no room, where the loss is
 * counted for the ledger and the session gets a warning.
 */
static bool
tg_enqueue(const TgAuditEvent *ev, bool count_loss)
{
	TgQueuedEvent cand;
	uint32		hash;
	TgEventKind kind;
	bool		coalescible;
	Oid			roleid;
	TimestampTz now,
				at;
	int			nslots,
				limit,
				coalesce_from,
				i,
				free_slot = -1,
				match = -1,
				kind_n = 0,
				db_n = 0,
				role_n = 0;
	const char *full = NULL;

	if (tg_shared == NULL || !OidIsValid(MyDatabaseId))
		return false;
	if (RecoveryInProgress())
	{
		ereport(LOG,
				(errmsg("tenantguard audit event on a standby (not stored): category=%s action=%s object=%s decision=%s reason=%s",
						ev->category, ev->action, ev->object ? ev->object : "",
						ev->decision ? ev->decision : "deny", ev->reason ? ev->reason : "")));
		return false;
	}

	/* the event as it will be queued, prepared before taking the lock */
	tg_prepare_queued(ev, &cand);
	hash = tg_event_identity(&cand);
	kind = strcmp(cand.decision, "deny") == 0 ? TG_KIND_REFUSAL : TG_KIND_OTHER;
	/* the count goes into details, which must be an object for that */
	coalescible = cand.details[0] == '\0' || cand.details[0] == '{';
	roleid = GetSessionUserId();
	limit = tg_queue_role_limit;
	coalesce_from = Max(1, limit / 2);
	now = GetCurrentTimestamp();
	/* an event queued after it happened (a context entry, at commit) keeps its time */
	at = (ev->occurred_at != 0 && ev->occurred_at < now) ? ev->occurred_at : now;

	LWLockAcquire(tg_shared->lock, LW_EXCLUSIVE);
	nslots = tg_shared->nslots;
	for (i = 0; i < nslots; i++)
	{
		const TgSlotHead *h = &tg_heads[i];

		if (!h->used)
		{
			if (free_slot < 0)
				free_slot = i;
			continue;
		}
		if (h->kind != kind)
			continue;
		kind_n++;
		if (h->dboid != MyDatabaseId)
			continue;
		db_n++;
		if (h->roleid != roleid)
			continue;
		role_n++;
		if (match < 0 && coalescible && h->coalescible && h->hash == hash &&
			tg_same_event(&tg_events[i], &cand))
			match = i;
	}

	if (role_n >= limit)
		full = "role";
	else if (db_n >= nslots / 2)
		full = "database";
	else if (kind_n >= nslots - nslots / 4)
		full = "kind";
	else if (free_slot < 0)
		full = "queue";
	/* coalesce once the role has many events waiting, or when there is no room */
	if (match >= 0 && (role_n >= coalesce_from || full))
	{
		TgQueuedEvent *q = &tg_events[match];

		if (q->taken > 0 && q->next_first_at == 0)
			q->next_first_at = at;
		q->count++;
		if (at > q->last_at)
			q->last_at = at;
		LWLockRelease(tg_shared->lock);
		return true;
	}
	if (full && !count_loss)
	{
		LWLockRelease(tg_shared->lock);
		return false;
	}
	if (full)
	{
		tg_note_drop(roleid, cand.db_user, kind, now);
		if (tg_shared->launcher_latch)
			SetLatch(tg_shared->launcher_latch);
		LWLockRelease(tg_shared->lock);
		tg_warn_not_queued(full, role_n, db_n, kind_n, nslots);
		return false;
	}

	cand.seq = ++tg_shared->next_seq;
	cand.count = 1;
	cand.occurred_at = at;
	cand.last_at = at;
	memcpy(&tg_events[free_slot], &cand, sizeof(cand));
	tg_heads[free_slot].kind = kind;
	tg_heads[free_slot].coalescible = coalescible;
	tg_heads[free_slot].dboid = MyDatabaseId;
	tg_heads[free_slot].roleid = roleid;
	tg_heads[free_slot].hash = hash;
	tg_heads[free_slot].used = true;
	if (tg_shared->launcher_latch)
		SetLatch(tg_shared->launcher_latch);
	LWLockRelease(tg_shared->lock);
	return true;
}

bool
tg_audit_enqueue(const TgAuditEvent *ev)
{
	return tg_enqueue(ev, true);
}

/*
 * Queue an event if it finds room (a slot, or an identical event to be
 * coalesced into); otherwise return false and count nothing, warn nobody:
 * the caller then records the event another way (in its own transaction).
 * On a standby the event goes to the log, and false is returned as well.
 */
bool
tg_audit_enqueue_if_room(const TgAuditEvent *ev)
{
	return tg_enqueue(ev, false);
}

/*
 * Take this database's queued events and drop counts (copies in *taken) for
 * a ledger worker to write in its transaction; it frees them with
 * tg_queue_release() only once that transaction committed. Events coalesced
 * into a slot while it is being written stay queued.
 */
void
tg_queue_take(TgTaken *taken)
{
	int			nslots = tg_shared->nslots;
	int			i;
	TimestampTz now;

	taken->events = palloc(sizeof(TgQueuedEvent) * nslots);
	taken->slot = palloc(sizeof(int) * nslots);
	taken->seq = palloc(sizeof(uint64) * nslots);
	taken->n = 0;
	taken->ndrops = 0;
	now = GetCurrentTimestamp();
	LWLockAcquire(tg_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < nslots; i++)
		if (tg_heads[i].used && tg_heads[i].dboid == MyDatabaseId)
		{
			TgQueuedEvent *q = &tg_events[i];

			q->taken = q->count;
			q->next_first_at = 0;
			taken->events[taken->n] = *q;
			taken->slot[taken->n] = i;
			taken->seq[taken->n] = q->seq;
			taken->n++;
		}
	for (i = 0; i < TG_DROP_ENTRIES; i++)
	{
		TgDropEntry *d = &tg_shared->drops[i];

		/* one event per entry and second is enough, however long a flood lasts */
		if (d->used && d->dboid == MyDatabaseId && d->dropped > 0 &&
			TimestampDifferenceExceeds(d->first_at, now, TG_DROP_WRITE_DELAY_MS))
		{
			d->taken_dropped = d->dropped;
			d->taken_refusals = d->refusals;
			d->next_first_at = 0;
			taken->drops[taken->ndrops] = *d;
			taken->drop[taken->ndrops] = i;
			taken->gen[taken->ndrops] = d->gen;
			taken->ndrops++;
		}
	}
	LWLockRelease(tg_shared->lock);
}

/* Free what is now stored; what was coalesced or dropped meanwhile stays. */
void
tg_queue_release(const TgTaken *taken)
{
	int			i;

	LWLockAcquire(tg_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < taken->n; i++)
	{
		TgSlotHead *h = &tg_heads[taken->slot[i]];
		TgQueuedEvent *q = &tg_events[taken->slot[i]];

		if (!h->used || q->seq != taken->seq[i])
			continue;
		q->count -= q->taken;
		q->taken = 0;
		if (q->count <= 0)
			h->used = false;
		else
		{
			/* the occurrences coalesced while the worker was writing */
			q->occurred_at = q->next_first_at;
			q->next_first_at = 0;
		}
	}
	for (i = 0; i < taken->ndrops; i++)
	{
		TgDropEntry *d = &tg_shared->drops[taken->drop[i]];

		if (!d->used || d->gen != taken->gen[i])
			continue;
		d->dropped -= d->taken_dropped;
		d->refusals -= d->taken_refusals;
		d->taken_dropped = 0;
		d->taken_refusals = 0;
		if (d->dropped <= 0)
			d->used = false;
		else
		{
			d->first_at = d->next_first_at;
			d->next_first_at = 0;
		}
	}
	LWLockRelease(tg_shared->lock);
}

/* Are events or drop counts of dboid (InvalidOid: any) waiting? */
bool
tg_queue_has(Oid dboid)
{
	int			i;
	bool		found = false;

	LWLockAcquire(tg_shared->lock, LW_SHARED);
	for (i = 0; i < tg_shared->nslots && !found; i++)
		if (tg_heads[i].used && (dboid == InvalidOid || tg_heads[i].dboid == dboid))
			found = true;
	for (i = 0; i < TG_DROP_ENTRIES && !found; i++)
		if (tg_shared->drops[i].used && (dboid == InvalidOid || tg_shared->drops[i].dboid == dboid))
			found = true;
	LWLockRelease(tg_shared->lock);
	return found;
}

/* Drop queued events and drop counts of a database that is gone or has no extension. */
void
tg_queue_discard(Oid dboid)
{
	int			i;

	LWLockAcquire(tg_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < tg_shared->nslots; i++)
		if (tg_heads[i].used && tg_heads[i].dboid == dboid)
			tg_heads[i].used = false;
	for (i = 0; i < TG_DROP_ENTRIES; i++)
		if (tg_shared->drops[i].used && tg_shared->drops[i].dboid == dboid)
			tg_shared->drops[i].used = false;
	LWLockRelease(tg_shared->lock);
}


/* The ledger launcher registers itself, to be woken by new events. */
void
tg_queue_set_launcher(void)
{
	LWLockAcquire(tg_shared->lock, LW_EXCLUSIVE);
	tg_shared->launcher_pid = MyProcPid;
	tg_shared->launcher_latch = &MyProc->procLatch;
	LWLockRelease(tg_shared->lock);
}

/*
 * Forget events and drop counts of databases that no longer exist. Only
 * those queued before a fresh look at pg_database are candidates: their
 * database existed when they were queued, so if it is not listed now it is
 * gone.
 */
void
tg_queue_forget_gone(List *(*list_databases) (void))
{
	bool	   *candidate;
	bool		drop_candidate[TG_DROP_ENTRIES];
	List	   *now_dbs;
	int			i;

	candidate = palloc(sizeof(bool) * tg_shared->nslots);
	LWLockAcquire(tg_shared->lock, LW_SHARED);
	for (i = 0; i < tg_shared->nslots; i++)
		candidate[i] = tg_heads[i].used;
	for (i = 0; i < TG_DROP_ENTRIES; i++)
		drop_candidate[i] = tg_shared->drops[i].used;
	LWLockRelease(tg_shared->lock);
	now_dbs = list_databases();
	LWLockAcquire(tg_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < tg_shared->nslots; i++)
		if (candidate[i] && tg_heads[i].used &&
			!list_member_oid(now_dbs, tg_heads[i].dboid))
			tg_heads[i].used = false;
	for (i = 0; i < TG_DROP_ENTRIES; i++)
		if (drop_candidate[i] && tg_shared->drops[i].used &&
			!list_member_oid(now_dbs, tg_shared->drops[i].dboid))
			tg_shared->drops[i].used = false;
	LWLockRelease(tg_shared->lock);
	pfree(candidate);
}

/* Dropped events no drop entry was free for, since the last call. */
uint64
tg_queue_take_unattributed(void)
{
	uint64		lost;

	LWLockAcquire(tg_shared->lock, LW_EXCLUSIVE);
	lost = tg_shared->unattributed;
	tg_shared->unattributed = 0;
	LWLockRelease(tg_shared->lock);
	return lost;
}

/* tenantguard.audit_queue_role_limit, as the worker reports it. */
int
tg_audit_queue_role_limit(void)
{
	return tg_queue_role_limit;
}

/* The queue's settings. */
void
tg_audit_queue_init(void)
{
	DefineCustomIntVariable("tenantguard.audit_queue_size",
							"Slots of the ledger worker's queue (refusals, events of read-only transactions, rolled-back reveal summaries).",
							"Each slot takes about 2 kB of shared memory.",
							&tg_audit_queue_size,
							1024, 64, 16384,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("tenantguard.audit_queue_role_limit",
							"Queue slots one role may hold in one database, for refusals and for other events each.",
							"From half of it on, identical events of the role are coalesced into one.",
							&tg_queue_role_limit,
							64, 1, 16384,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);
}
