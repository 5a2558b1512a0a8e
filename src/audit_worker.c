/*
 * audit_worker.c — refusals that survive rollback, and automatic sealing.
 *
 * A refused action (a failed context entry, a refused DDL, a wrong-tenant
 * reveal) raises an error, so an event written in the caller's transaction
 * would be rolled back with it. Instead the backend puts the event into a
 * shared-memory queue and wakes the ledger launcher, a background worker
 * started with the server. The launcher starts a short-lived worker per
 * database that writes the queued events in its own transaction and, every
 * tenantguard.audit_seal_interval, seals committed events. The queue is
 * shared fairly (per role, database and kind of event, with coalescing of
 * identical events), and what does not fit is counted and recorded, so that
 * a flood of refusals costs only the flooder's own events.
 *
 * Short-lived per-database workers never hold a database open for long,
 * so DROP DATABASE and CREATE DATABASE keep working; template databases
 * are never visited.
 */
#include "postgres.h"

#include <signal.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_database.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/inet.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "tenantguard.h"

/*
 * The queue. Every slot holds one event, or several identical ones
 * coalesced into it ("count"). Events are of two kinds, refusals (decision
 * deny) and the others (events of read-only transactions, rolled-back reveal
 * summaries), and each slot belongs to an actor: the database and the
 * session user of the backend that queued it. Shares (see tg_audit_refusal):
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
#define TG_KIND_REFUSAL 0
#define TG_KIND_OTHER 1
#define TG_DROP_ENTRIES 128
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

typedef struct TgQueuedEvent
{
	uint64		seq;			/* identifies this event while it is queued */
	int64		count;			/* occurrences: 1 + identical ones coalesced into it */
	int64		taken;			/* occurrences a ledger worker is writing now */
	TimestampTz occurred_at;	/* the first occurrence */
	TimestampTz last_at;		/* the last occurrence */
	TimestampTz next_first_at;	/* the first occurrence after a worker took it */
	bool		has_tenant;
	pg_uuid_t	tenant;
	char		category[16];
	char		action[64];
	char		decision[8];
	char		principal[256];
	char		db_user[NAMEDATALEN];
	char		object[256];
	char		reason[256];
	char		details[1024];
	char		client_addr[64];
	char		application_name[NAMEDATALEN];
} TgQueuedEvent;

/* Events of one actor (or of a database) that found no room in the queue. */
typedef struct TgDropEntry
{
	bool		used;
	Oid			dboid;
	Oid			roleid;			/* InvalidOid: roles that found no entry of their own */
	uint64		gen;			/* identifies this entry while it is used */
	int64		dropped;
	int64		refusals;		/* how many of them were refusals */
	int64		taken_dropped;	/* the part a ledger worker is writing now */
	int64		taken_refusals;
	TimestampTz first_at;
	TimestampTz last_at;
	TimestampTz next_first_at;	/* the first drop after a worker took it */
	char		db_user[NAMEDATALEN];	/* the (first) role's name, if known */
} TgDropEntry;

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
static shmem_request_hook_type prev_shmem_request = NULL;
static shmem_startup_hook_type prev_shmem_startup = NULL;

int			tg_audit_seal_interval = 60;
static int	tg_audit_queue_size = 1024;
static int	tg_audit_queue_role_limit = 64;

static Size
tg_audit_shmem_size(void)
{
	Size		sz = MAXALIGN(sizeof(TgAuditShared));

	sz = add_size(sz, MAXALIGN(mul_size(tg_audit_queue_size, sizeof(TgSlotHead))));
	sz = add_size(sz, mul_size(tg_audit_queue_size, sizeof(TgQueuedEvent)));
	return sz;
}

static void
tg_audit_shmem_request(void)
{
	if (prev_shmem_request)
		prev_shmem_request();
	RequestAddinShmemSpace(tg_audit_shmem_size());
	RequestNamedLWLockTranche("tenantguard_audit", 1);
}

static void
tg_audit_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup)
		prev_shmem_startup();
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
tg_note_drop(Oid roleid, const char *db_user, int kind, TimestampTz now)
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

/*
 * Queue an event for the ledger worker, which writes it in its own
 * transaction: refusals (they survive the caller's rollback), events of
 * read-only transactions and summaries of rolled-back reveals. Never raises
 * an error. Returns true when the event is queued (in a slot of its own or
 * coalesced into an identical one), false when it is not: on a standby,
 * where it goes to the log, or when it finds no room, where the loss is
 * counted for the ledger and the session gets a warning.
 */
bool
tg_audit_refusal(const TgAuditEvent *ev)
{
	const TgEffectiveContext *ctx = NULL;
	const char *who = ev->db_user;
	const char *client = ev->client_addr;
	TgQueuedEvent cand;
	uint32		hash;
	int			kind;
	bool		coalescible;
	Oid			roleid;
	TimestampTz now;
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
	if (IsTransactionState())
	{
		ctx = tg_effective_context();
		if (who == NULL)
			who = GetUserNameFromId(GetSessionUserId(), true);
		if (client == NULL)
		{
			bool		isnull;
			Datum		addr = tg_client_addr(&isnull);

			if (!isnull)
				client = DatumGetCString(DirectFunctionCall1(inet_out, addr));
		}
	}

	/* the event as it will be queued, prepared before taking the lock */
	memset(&cand, 0, sizeof(cand));
	if (ev->has_tenant)
	{
		cand.has_tenant = true;
		cand.tenant = ev->tenant;
	}
	else if (ctx && !ev->no_tenant)
	{
		cand.has_tenant = true;
		cand.tenant = ctx->tenant;
	}
	tg_copy(cand.category, sizeof(cand.category), ev->category);
	tg_copy(cand.action, sizeof(cand.action), ev->action);
	tg_copy(cand.decision, sizeof(cand.decision), ev->decision ? ev->decision : "deny");
	tg_copy(cand.principal, sizeof(cand.principal), ev->principal ? ev->principal : (ctx ? ctx->principal : NULL));
	tg_copy(cand.db_user, sizeof(cand.db_user), who);
	tg_copy(cand.object, sizeof(cand.object), ev->object);
	tg_copy(cand.reason, sizeof(cand.reason), ev->reason);
	/* a cut JSON text would not parse: keep only what fits whole */
	if (ev->details_json && strlen(ev->details_json) < sizeof(cand.details))
		tg_copy(cand.details, sizeof(cand.details), ev->details_json);
	else if (ev->details_json)
		tg_copy(cand.details, sizeof(cand.details), "{\"truncated\": true}");
	tg_copy(cand.client_addr, sizeof(cand.client_addr), client);
	tg_copy(cand.application_name, sizeof(cand.application_name),
			ev->application_name ? ev->application_name : application_name);
	hash = tg_event_identity(&cand);
	kind = strcmp(cand.decision, "deny") == 0 ? TG_KIND_REFUSAL : TG_KIND_OTHER;
	/* the count goes into details, which must be an object for that */
	coalescible = cand.details[0] == '\0' || cand.details[0] == '{';
	roleid = GetSessionUserId();
	limit = tg_audit_queue_role_limit;
	coalesce_from = Max(1, limit / 2);
	now = GetCurrentTimestamp();

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
			q->next_first_at = now;
		q->count++;
		q->last_at = now;
		LWLockRelease(tg_shared->lock);
		return true;
	}
	if (full)
	{
		tg_note_drop(roleid, cand.db_user, kind, now);
		if (tg_shared->launcher_latch)
			SetLatch(tg_shared->launcher_latch);
		LWLockRelease(tg_shared->lock);
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
		return false;
	}

	cand.seq = ++tg_shared->next_seq;
	cand.count = 1;
	cand.occurred_at = now;
	cand.last_at = now;
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

/* details of an event that stands for count identical ones */
static const char *
tg_details_with_count(const char *details, int64 count, TimestampTz first, TimestampTz last)
{
	char		fbuf[MAXDATELEN + 1];
	char		lbuf[MAXDATELEN + 1];
	char	   *extra;
	Datum		merged;

	JsonEncodeDateTime(fbuf, TimestampTzGetDatum(first), TIMESTAMPTZOID, NULL);
	JsonEncodeDateTime(lbuf, TimestampTzGetDatum(last), TIMESTAMPTZOID, NULL);
	extra = psprintf("{\"repeated\": " INT64_FORMAT ", \"first_at\": \"%s\", \"last_at\": \"%s\"}",
					 count, fbuf, lbuf);
	if (details == NULL)
		return extra;
	merged = DirectFunctionCall2(jsonb_concat,
								 DirectFunctionCall1(jsonb_in, CStringGetDatum(details)),
								 DirectFunctionCall1(jsonb_in, CStringGetDatum(extra)));
	return DatumGetCString(DirectFunctionCall1(jsonb_out, merged));
}

/* What a ledger worker took from the queue, to free once it is committed. */
typedef struct TgTaken
{
	int			n;
	int		   *slot;
	uint64	   *seq;
	int			ndrops;
	int			drop[TG_DROP_ENTRIES];
	uint64		gen[TG_DROP_ENTRIES];
} TgTaken;

/* Write the audit.events_dropped event of one drop entry. */
static void
tg_write_drop(const TgDropEntry *d)
{
	TgAuditEvent ev;
	char		fbuf[MAXDATELEN + 1];
	char		lbuf[MAXDATELEN + 1];
	const char *who = d->db_user[0] ? d->db_user : NULL;

	if (who == NULL && OidIsValid(d->roleid))
		who = GetUserNameFromId(d->roleid, true);
	if (who == NULL)
		who = psprintf("%u", d->roleid);
	JsonEncodeDateTime(fbuf, TimestampTzGetDatum(d->first_at), TIMESTAMPTZOID, NULL);
	JsonEncodeDateTime(lbuf, TimestampTzGetDatum(d->last_at), TIMESTAMPTZOID, NULL);
	memset(&ev, 0, sizeof(ev));
	ev.occurred_at = d->first_at;
	ev.no_tenant = true;
	ev.category = "policy";
	ev.action = "audit.events_dropped";
	ev.decision = "deny";
	ev.reason = "audit queue share exhausted";
	ev.db_user = who;
	ev.application_name = "";
	ev.details_json = psprintf("{\"dropped\": " INT64_FORMAT ", \"refusals\": " INT64_FORMAT
							   ", \"other\": " INT64_FORMAT ", \"first_at\": \"%s\", \"last_at\": \"%s\""
							   ", \"role_limit\": %d%s}",
							   d->taken_dropped, d->taken_refusals,
							   d->taken_dropped - d->taken_refusals, fbuf, lbuf,
							   tg_audit_queue_role_limit,
							   OidIsValid(d->roleid) ? "" : ", \"several_roles\": true");
	tg_audit_record(&ev);
}

/*
 * Take this database's queued events and drop counts, and write them into
 * the events table in the current transaction; *taken says what was taken,
 * so that the caller frees it only once the transaction committed. Events
 * coalesced into a slot while it is being written stay queued.
 */
static void
tg_drain_queue(TgTaken *taken)
{
	TgQueuedEvent *batch;
	TgDropEntry drops[TG_DROP_ENTRIES];
	int			nslots = tg_shared->nslots;
	int			i;
	TimestampTz now;

	batch = palloc(sizeof(TgQueuedEvent) * nslots);
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
			batch[taken->n] = *q;
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
			drops[taken->ndrops] = *d;
			taken->drop[taken->ndrops] = i;
			taken->gen[taken->ndrops] = d->gen;
			taken->ndrops++;
		}
	}
	LWLockRelease(tg_shared->lock);

	for (i = 0; i < taken->n; i++)
	{
		TgAuditEvent ev;
		TgQueuedEvent *q = &batch[i];

		memset(&ev, 0, sizeof(ev));
		ev.occurred_at = q->occurred_at;
		ev.has_tenant = q->has_tenant;
		ev.no_tenant = !q->has_tenant;
		ev.tenant = q->tenant;
		ev.category = q->category;
		ev.action = q->action;
		ev.decision = q->decision;
		ev.principal = q->principal[0] ? q->principal : NULL;
		ev.db_user = q->db_user[0] ? q->db_user : NULL;
		ev.object = q->object[0] ? q->object : NULL;
		ev.reason = q->reason[0] ? q->reason : NULL;
		ev.details_json = q->details[0] ? q->details : NULL;
		if (q->taken > 1)
			ev.details_json = tg_details_with_count(ev.details_json, q->taken,
													q->occurred_at, q->last_at);
		ev.client_addr = q->client_addr[0] ? q->client_addr : NULL;
		ev.application_name = q->application_name[0] ? q->application_name : "";
		tg_audit_record(&ev);
	}
	for (i = 0; i < taken->ndrops; i++)
		tg_write_drop(&drops[i]);
	pfree(batch);
}

/* Free what is now stored; what was coalesced or dropped meanwhile stays. */
static void
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

static bool
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
static void
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

PGDLLEXPORT void tg_audit_db_worker_main(Datum arg);
PGDLLEXPORT void tg_audit_launcher_main(Datum arg);

/* One pass over one database: write queued refusals, then seal if asked. */
void
tg_audit_db_worker_main(Datum arg)
{
	Oid			dboid = DatumGetObjectId(arg);
	bool		seal = (MyBgworkerEntry->bgw_extra[0] == 's');

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	pgstat_report_appname("tenantguard ledger");
	/* never queue behind a session's locks: the launcher serves every database */
	SetConfigOption("lock_timeout", "2000", PGC_SUSET, PGC_S_OVERRIDE);
	/* the worker writes events: read-only transactions would queue them again */
	SetConfigOption("default_transaction_read_only", "off", PGC_SUSET, PGC_S_OVERRIDE);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (!OidIsValid(get_namespace_oid("tenantguard_audit", true)))
	{
		PopActiveSnapshot();
		CommitTransactionCommand();
		tg_queue_discard(dboid);
		proc_exit(0);
	}
	{
		TgTaken		taken;

		tg_drain_queue(&taken);
		PopActiveSnapshot();
		CommitTransactionCommand();
		tg_queue_release(&taken);
	}

	if (seal)
	{
		const char *mk = GetConfigOption("tenantguard.master_key_file", true, false);

		/* nothing to sign with: sealing waits until a master key is configured */
		if (mk == NULL || mk[0] == '\0')
			proc_exit(0);
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		PG_TRY();
		{
			(void) tg_audit_seal();
			PopActiveSnapshot();
			CommitTransactionCommand();
		}
		PG_CATCH();
		{
			/* e.g. no master key configured: report at LOG and go on */
			ErrorData  *edata;

			MemoryContextSwitchTo(TopMemoryContext);
			edata = CopyErrorData();
			FlushErrorState();
			AbortCurrentTransaction();
			ereport(LOG,
					(errmsg("tenantguard could not seal audit events: %s", edata->message)));
		}
		PG_END_TRY();
	}
	proc_exit(0);
}

/* Run one database pass in a dynamic worker and wait for it. */
static void
tg_run_db_worker(Oid dboid, bool seal)
{
	BackgroundWorker w;
	BackgroundWorkerHandle *h;
	pid_t		pid;

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(w.bgw_library_name, "tenantguard", BGW_MAXLEN);
	strlcpy(w.bgw_function_name, "tg_audit_db_worker_main", BGW_MAXLEN);
	snprintf(w.bgw_name, BGW_MAXLEN, "tenantguard ledger worker");
	snprintf(w.bgw_type, BGW_MAXLEN, "tenantguard ledger worker");
	w.bgw_main_arg = ObjectIdGetDatum(dboid);
	w.bgw_extra[0] = seal ? 's' : '-';
	w.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&w, &h))
		return;					/* no free worker slot: try again next round */
	if (WaitForBackgroundWorkerStartup(h, &pid) == BGWH_STARTED)
		(void) WaitForBackgroundWorkerShutdown(h);
}

/* Databases worth visiting: connectable and not templates. */
static List *
tg_database_list(void)
{
	List	   *result = NIL;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	MemoryContext caller = CurrentMemoryContext;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);
		MemoryContext old;

		if (!db->datallowconn || db->datistemplate)
			continue;
		old = MemoryContextSwitchTo(caller);
		result = lappend_oid(result, db->oid);
		MemoryContextSwitchTo(old);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return result;
}

/* The ledger launcher: wakes on refusals and on the sealing interval. */
void
tg_audit_launcher_main(Datum arg)
{
	TimestampTz last_seal = GetCurrentTimestamp();
	MemoryContext cxt;

	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("tenantguard ledger launcher");

	LWLockAcquire(tg_shared->lock, LW_EXCLUSIVE);
	tg_shared->launcher_pid = MyProcPid;
	tg_shared->launcher_latch = &MyProc->procLatch;
	LWLockRelease(tg_shared->lock);

	cxt = AllocSetContextCreate(TopMemoryContext, "tenantguard launcher", ALLOCSET_DEFAULT_SIZES);
	while (!ShutdownRequestPending)
	{
		bool		seal_due;
		long		timeout_ms;
		TimestampTz now;

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		now = GetCurrentTimestamp();
		seal_due = tg_audit_seal_interval > 0 &&
			TimestampDifferenceExceeds(last_seal, now, tg_audit_seal_interval * 1000);
		if (seal_due || tg_queue_has(InvalidOid))
		{
			List	   *dbs;
			ListCell   *lc;
			MemoryContext old = MemoryContextSwitchTo(cxt);

			dbs = tg_database_list();
			foreach(lc, dbs)
			{
				Oid			db = lfirst_oid(lc);

				if (seal_due || tg_queue_has(db))
					tg_run_db_worker(db, seal_due);
				if (ShutdownRequestPending)
					break;
			}
			MemoryContextSwitchTo(old);
			MemoryContextReset(cxt);
			if (seal_due)
				last_seal = now;
			/*
			 * Refusals of databases that no longer exist. Only events queued
			 * before a fresh look at pg_database are candidates: their
			 * database existed when they were queued, so if it is not listed
			 * now it is gone.
			 */
			if (tg_queue_has(InvalidOid))
			{
				bool	   *candidate;
				bool		drop_candidate[TG_DROP_ENTRIES];
				List	   *now_dbs;
				int			i;

				old = MemoryContextSwitchTo(cxt);
				candidate = palloc(sizeof(bool) * tg_shared->nslots);
				LWLockAcquire(tg_shared->lock, LW_SHARED);
				for (i = 0; i < tg_shared->nslots; i++)
					candidate[i] = tg_heads[i].used;
				for (i = 0; i < TG_DROP_ENTRIES; i++)
					drop_candidate[i] = tg_shared->drops[i].used;
				LWLockRelease(tg_shared->lock);
				now_dbs = tg_database_list();
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
				MemoryContextSwitchTo(old);
				MemoryContextReset(cxt);
			}
		}
		{
			uint64		lost;

			LWLockAcquire(tg_shared->lock, LW_EXCLUSIVE);
			lost = tg_shared->unattributed;
			tg_shared->unattributed = 0;
			LWLockRelease(tg_shared->lock);
			if (lost > 0)
				ereport(LOG,
						(errmsg("tenantguard dropped " UINT64_FORMAT " audit events that no database's ledger records", lost),
						 errdetail("The audit queue was full and every drop counter was in use.")));
		}
		timeout_ms = tg_audit_seal_interval > 0 ? Min(tg_audit_seal_interval * 1000L, 1000L) : 1000L;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	proc_exit(0);
}

void
tg_audit_worker_init(void)
{
	BackgroundWorker w;

	DefineCustomIntVariable("tenantguard.audit_seal_interval",
							"Seconds between automatic sealing of audit events (0 disables).",
							"Sealing can always be run on demand with tenantguard_audit.seal().",
							&tg_audit_seal_interval,
							60, 0, 86400,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

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
							&tg_audit_queue_role_limit,
							64, 1, 16384,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	prev_shmem_request = shmem_request_hook;
	shmem_request_hook = tg_audit_shmem_request;
	prev_shmem_startup = shmem_startup_hook;
	shmem_startup_hook = tg_audit_shmem_startup;

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = 10;
	strlcpy(w.bgw_library_name, "tenantguard", BGW_MAXLEN);
	strlcpy(w.bgw_function_name, "tg_audit_launcher_main", BGW_MAXLEN);
	snprintf(w.bgw_name, BGW_MAXLEN, "tenantguard ledger launcher");
	snprintf(w.bgw_type, BGW_MAXLEN, "tenantguard ledger launcher");
	RegisterBackgroundWorker(&w);
}
