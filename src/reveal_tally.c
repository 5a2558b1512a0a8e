/*
 * reveal_tally.c — reveals counted, and written as one audit event per
 * statement and key (tenant, actor, call site, text or bytea) carrying the
 * count, instead of one event per revealed value; and a rollback cannot
 * erase the fact that plaintext was handed out: an aborted
 * (sub)transaction's reveals -- those whose events it wrote and those not
 * yet written -- are re-recorded as summary events through the ledger
 * worker's queue.
 *
 * When events are written: at the end of the outermost statement (the
 * executor and utility hooks call tg_tally_statement_end), and before
 * commit or prepare for whatever is left (reveals outside any statement,
 * such as fast-path calls, or in deferred triggers). In a read-only
 * transaction events go through the queue, and the first reveal of a
 * statement at each key is queued at once, before its plaintext is handed
 * out, so that a full queue refuses reveals (53400) instead of letting them
 * go unaudited; the rest of the statement's count follows at its end.
 *
 * Layer 5: uses the queue, the event store, the context's actor and the
 * call site type.
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "utils/memutils.h"

#include "audit_queue.h"
#include "context.h"
#include "event_store.h"
#include "reveal_tally.h"

/* Reveals of one key in one (sub)transaction. */
typedef struct TgRevealTally
{
	SubTransactionId subid;
	int64		pending;		/* counted, not yet in an event */
	int64		written;		/* in events written in this (sub)transaction */
	bool		announced;		/* read-only: this statement's first reveal is queued */
	bool		bytes;			/* revealed as bytea */
	uint64		site_id;		/* the TgCallSite last counted here (fast path) */
	TgActor		actor;			/* who revealed, and the secrets' tenant */
	char		object[TG_SITE_OBJECT_MAX];
	char		details[TG_SITE_DETAILS_MAX];
} TgRevealTally;

/*
 * Grown as needed, never capped: a cap would let a caller hide reveals
 * behind enough savepoints or call sites. Entries of a committed
 * subtransaction merge into its parent's.
 */
static TgRevealTally *tg_tallies = NULL;
static int	tg_n_tallies = 0;
static int	tg_max_tallies = 0;
static int	tg_last = -1;		/* the entry counted last */
static bool tg_unwritten = false;	/* some entry has pending or announced */
static bool tg_tally_callbacks = false;
static bool tg_flushing = false;	/* writing events now (no re-entry) */

/* How an event of reveals is written. */
typedef enum TgTallyWrite
{
	TG_WRITE_RECORD,			/* in this transaction (queued when read-only) */
	TG_WRITE_QUEUE,				/* through the queue: counted too late for this transaction */
	TG_WRITE_SUMMARY			/* a rolled-back summary, through the queue */
} TgTallyWrite;

static bool
tg_tally_same_key(const TgRevealTally *a, const TgRevealTally *b)
{
	return a->bytes == b->bytes &&
		memcmp(a->actor.tenant.data, b->actor.tenant.data, UUID_LEN) == 0 &&
		strcmp(a->actor.principal, b->actor.principal) == 0 &&
		strcmp(a->actor.db_user, b->actor.db_user) == 0 &&
		strcmp(a->actor.client_addr, b->actor.client_addr) == 0 &&
		strcmp(a->object, b->object) == 0 &&
		strcmp(a->details, b->details) == 0;
}

/* A new entry at the end (the array may move); its index. */
static int
tg_tally_append(const TgRevealTally *from)
{
	if (tg_n_tallies == tg_max_tallies)
	{
		int			newmax = tg_max_tallies == 0 ? 16 : tg_max_tallies * 2;

		if (tg_tallies == NULL)
			tg_tallies = MemoryContextAlloc(TopMemoryContext, sizeof(TgRevealTally) * newmax);
		else
			tg_tallies = repalloc(tg_tallies, sizeof(TgRevealTally) * newmax);
		tg_max_tallies = newmax;
	}
	tg_tallies[tg_n_tallies] = *from;
	return tg_n_tallies++;
}

/*
 * Write an event for n reveals of t's key: in this transaction (true when
 * it was; in a read-only one it is queued, 53400 when it cannot be), or
 * through the queue (never raises): a rolled-back summary, or reveals
 * counted after the last chance to write in the transaction.
 */
static bool
tg_tally_write(const TgRevealTally *t, int64 n, TgTallyWrite how)
{
	bool		rolled_back = how == TG_WRITE_SUMMARY;
	TgAuditEvent ev;
	char		details[TG_SITE_DETAILS_MAX + 96];

	snprintf(details, sizeof(details), "{\"reveals\": %lld, \"as\": \"%s\"%s%s%s}",
			 (long long) n, t->bytes ? "bytea" : "text",
			 t->details[0] ? ", " : "", t->details,
			 rolled_back ? ", \"rolled_back\": true" : "");
	tg_event_init(&ev, &t->actor, "secret", "reveal");
	ev.object = t->object[0] ? t->object : NULL;
	ev.details_json = details;
	if (rolled_back)
		ev.reason = "transaction rolled back after revealing";
	if (how != TG_WRITE_RECORD)
	{
		(void) tg_audit_enqueue(&ev);
		return false;
	}
	return tg_audit_record(&ev);
}

/* n reveals of entry i's key went into an event written in subtransaction subid. */
static void
tg_tally_add_written(int i, SubTransactionId subid, int64 n)
{
	TgRevealTally copy;
	int			k;

	if (tg_tallies[i].subid == subid)
	{
		tg_tallies[i].written += n;
		return;
	}
	/* counted in an outer subtransaction, written in this one: rolled back with this one */
	for (k = 0; k < tg_n_tallies; k++)
		if (tg_tallies[k].subid == subid && tg_tally_same_key(&tg_tallies[k], &tg_tallies[i]))
		{
			tg_tallies[k].written += n;
			return;
		}
	copy = tg_tallies[i];
	copy.subid = subid;
	copy.pending = 0;
	copy.written = n;
	copy.announced = false;
	(void) tg_tally_append(&copy);
}

/* Write one event per key for what is pending (the statement's end, or before commit). */
static void
tg_tally_flush_pending(void)
{
	SubTransactionId subid;
	int			i;

	if (!tg_unwritten || tg_flushing || !IsTransactionState())
		return;
	subid = GetCurrentSubTransactionId();
	tg_flushing = true;
	PG_TRY();
	{
		for (i = 0; i < tg_n_tallies; i++)
		{
			int64		n = tg_tallies[i].pending;

			tg_tallies[i].announced = false;
			if (n == 0)
				continue;
			/* on error the count stays pending, and the abort's summary has it */
			if (tg_tally_write(&tg_tallies[i], n, TG_WRITE_RECORD))
				tg_tally_add_written(i, subid, n);
			tg_tallies[i].pending = 0;
		}
		tg_unwritten = false;
	}
	PG_FINALLY();
	{
		tg_flushing = false;
	}
	PG_END_TRY();
}

void
tg_tally_statement_end(void)
{
	if (tg_unwritten)
		tg_tally_flush_pending();
}

/*
 * A (sub)transaction rolled back (all: the whole transaction): its counts,
 * written or not, become summary events through the queue.
 */
static void
tg_tally_rolled_back(SubTransactionId subid, bool all)
{
	int			i,
				j = 0;

	for (i = 0; i < tg_n_tallies; i++)
	{
		TgRevealTally *t = &tg_tallies[i];

		if (all || t->subid == subid)
		{
			if (t->pending + t->written > 0)
				(void) tg_tally_write(t, t->pending + t->written, TG_WRITE_SUMMARY);
		}
		else
			tg_tallies[j++] = *t;
	}
	tg_n_tallies = j;
	tg_last = -1;
}

static void
tg_tally_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			tg_tally_flush_pending();
			return;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			tg_tally_rolled_back(InvalidSubTransactionId, true);
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
			{
				int			i;

				/* counted after the pre-commit write (nothing should be): queued */
				for (i = 0; i < tg_n_tallies; i++)
					if (tg_tallies[i].pending > 0)
						(void) tg_tally_write(&tg_tallies[i], tg_tallies[i].pending, TG_WRITE_QUEUE);
				tg_n_tallies = 0;
			}
			break;
		default:
			return;
	}
	tg_last = -1;
	tg_unwritten = false;
	if (tg_max_tallies > 1024)
	{
		/* a transaction with very many savepoints or call sites: give the memory back */
		pfree(tg_tallies);
		tg_tallies = NULL;
		tg_max_tallies = 0;
	}
}

static void
tg_tally_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	int			i,
				j = 0;

	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		tg_tally_rolled_back(mySubid, false);
		return;
	}
	if (event != SUBXACT_EVENT_COMMIT_SUB)
		return;
	/* move into the parent, merging with its entry of the same key */
	for (i = 0; i < tg_n_tallies; i++)
	{
		TgRevealTally *t = &tg_tallies[i];

		if (t->subid == mySubid)
		{
			int			k;
			bool		merged = false;

			for (k = 0; k < j; k++)
				if (tg_tallies[k].subid == parentSubid && tg_tally_same_key(&tg_tallies[k], t))
				{
					tg_tallies[k].pending += t->pending;
					tg_tallies[k].written += t->written;
					tg_tallies[k].announced |= t->announced;
					merged = true;
					break;
				}
			if (merged)
				continue;
			t->subid = parentSubid;
		}
		if (j != i)
			tg_tallies[j] = *t;
		j++;
	}
	tg_n_tallies = j;
	tg_last = -1;
}

void
tg_reveal_count(const uint8_t tenant[16], const TgCallSite *site, bool bytes)
{
	SubTransactionId subid = GetCurrentSubTransactionId();
	const TgEffectiveContext *ctx = tg_effective_context();
	const char *principal = ctx ? ctx->principal : "";
	TgRevealTally *t = NULL;
	int			i;

	if (!tg_tally_callbacks)
	{
		RegisterXactCallback(tg_tally_xact_callback, NULL);
		RegisterSubXactCallback(tg_tally_subxact_callback, NULL);
		tg_tally_callbacks = true;
	}
	/* the session user and address do not change within a transaction */
	if (tg_last >= 0 && tg_last < tg_n_tallies)
	{
		t = &tg_tallies[tg_last];
		if (!(t->site_id == site->id && t->subid == subid && t->bytes == bytes &&
			  memcmp(t->actor.tenant.data, tenant, UUID_LEN) == 0 &&
			  strcmp(t->actor.principal, principal) == 0))
			t = NULL;
	}
	if (t == NULL)
	{
		for (i = 0; i < tg_n_tallies; i++)
		{
			TgRevealTally *c = &tg_tallies[i];

			if (c->subid == subid && c->bytes == bytes &&
				memcmp(c->actor.tenant.data, tenant, UUID_LEN) == 0 &&
				strcmp(c->actor.principal, principal) == 0 &&
				strcmp(c->object, site->object) == 0 &&
				strcmp(c->details, site->details) == 0)
			{
				t = c;
				break;
			}
		}
		if (t == NULL)
		{
			TgRevealTally n;

			memset(&n, 0, sizeof(n));
			n.subid = subid;
			n.bytes = bytes;
			n.actor = *tg_actor_current();
			n.actor.has_tenant = true;
			memcpy(n.actor.tenant.data, tenant, UUID_LEN);
			strlcpy(n.actor.principal, principal, sizeof(n.actor.principal));
			strlcpy(n.object, site->object, sizeof(n.object));
			strlcpy(n.details, site->details, sizeof(n.details));
			i = tg_tally_append(&n);	/* may move the array */
			t = &tg_tallies[i];
		}
		t->site_id = site->id;
		tg_last = (int) (t - tg_tallies);
	}
	if (XactReadOnly && !t->announced && !RecoveryInProgress())
	{
		/* queued now: a full queue refuses this reveal (53400) before it happens */
		(void) tg_tally_write(t, 1, TG_WRITE_RECORD);
		t->announced = true;
		tg_unwritten = true;
		return;
	}
	t->pending++;
	tg_unwritten = true;
}
