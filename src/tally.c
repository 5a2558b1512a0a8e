/*
 * tally.c — audit events counted per statement: occurrences of one key
 * (kind, actor, tenant, object, details, variant; see tally.h) in one
 * statement become one event carrying the count, instead of one event per
 * occurrence; and a rollback cannot erase the fact that they happened.
 *
 * Two ways to write, chosen by the kind:
 *
 *   - in the transaction (reveals): an aborted (sub)transaction's counts --
 *     those whose events it wrote and those not yet written -- are
 *     re-recorded as summary events ("rolled_back": true) through the
 *     ledger worker's queue. In a read-only transaction events go through
 *     the queue, and with "announce" the first occurrence of a statement is
 *     queued at once, before the caller goes on (a reveal: before its
 *     plaintext is handed out), so that a full queue refuses it (53400)
 *     instead of letting it go unaudited; the rest of the statement's count
 *     follows at its end.
 *   - through the queue (decisions): every event is queued, so nothing an
 *     abort does can take it back and no event makes a read write; an
 *     aborted transaction's counts not yet written are queued at its end.
 *
 * When events are written: at the end of the outermost statement (the
 * executor and utility hooks call tg_tally_statement_end), and before
 * commit or prepare for whatever is left (occurrences outside any
 * statement, such as fast-path calls, or in deferred triggers).
 *
 * Layer 5: uses the queue, the event store and the context's actor.
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "utils/memutils.h"

#include "audit_queue.h"
#include "context.h"
#include "event_store.h"
#include "tally.h"

/* The occurrences of one key in one (sub)transaction. */
typedef struct TgTally
{
	const TgTallyKind *kind;
	SubTransactionId subid;		/* TopSubTransactionId for queued kinds */
	int64		pending;		/* counted, not yet in an event */
	int64		written;		/* in events written in this (sub)transaction */
	bool		announced;		/* read-only: this statement's first occurrence is queued */
	uint64		site_id;		/* the site last counted here (fast path) */
	TgActor		actor;			/* who, and the event's tenant */
	char		variant[TG_TALLY_VARIANT_MAX];
	char		object[TG_SITE_OBJECT_MAX];
	char		details[TG_SITE_DETAILS_MAX];
	char		note[TG_TALLY_NOTE_MAX];	/* of the first occurrence */
	char		reason[TG_TALLY_REASON_MAX];	/* of the first occurrence */
} TgTally;

/*
 * Grown as needed, never capped: a cap would let a caller hide occurrences
 * behind enough savepoints or call sites. Entries of a committed
 * subtransaction merge into its parent's.
 */
static TgTally *tg_tallies = NULL;
static int	tg_n_tallies = 0;
static int	tg_max_tallies = 0;
static int	tg_last = -1;		/* the entry counted last */
static bool tg_unwritten = false;	/* some entry has pending or announced */
static bool tg_tally_callbacks = false;
static bool tg_flushing = false;	/* writing events now (no re-entry) */
static uint64 tg_next_tally_site = 1;

/* How an event is written. */
typedef enum TgTallyWrite
{
	TG_WRITE_RECORD,			/* in this transaction (queued when read-only) */
	TG_WRITE_QUEUE,				/* through the queue: a queued kind, or counted too late */
	TG_WRITE_SUMMARY			/* a rolled-back summary, through the queue */
} TgTallyWrite;

uint64
tg_tally_site_id(void)
{
	/* the high bit keeps these apart from TgCallSite ids */
	return (UINT64CONST(1) << 63) | tg_next_tally_site++;
}

static bool
tg_tally_same_key(const TgTally *a, const TgTally *b)
{
	return a->kind == b->kind &&
		strcmp(a->variant, b->variant) == 0 &&
		memcmp(a->actor.tenant.data, b->actor.tenant.data, UUID_LEN) == 0 &&
		strcmp(a->actor.principal, b->actor.principal) == 0 &&
		strcmp(a->actor.db_user, b->actor.db_user) == 0 &&
		strcmp(a->actor.client_addr, b->actor.client_addr) == 0 &&
		strcmp(a->object, b->object) == 0 &&
		strcmp(a->details, b->details) == 0;
}

/* A new entry at the end (the array may move); its index. */
static int
tg_tally_append(const TgTally *from)
{
	if (tg_n_tallies == tg_max_tallies)
	{
		int			newmax = tg_max_tallies == 0 ? 16 : tg_max_tallies * 2;

		if (tg_tallies == NULL)
			tg_tallies = MemoryContextAlloc(TopMemoryContext, sizeof(TgTally) * newmax);
		else
			tg_tallies = repalloc(tg_tallies, sizeof(TgTally) * newmax);
		tg_max_tallies = newmax;
	}
	tg_tallies[tg_n_tallies] = *from;
	return tg_n_tallies++;
}

/*
 * Write an event for n occurrences of t's key: in this transaction (true
 * when it was; in a read-only one it is queued, 53400 when it cannot be),
 * or through the queue (never raises): a queued kind, a rolled-back
 * summary, or occurrences counted after the last chance to write in the
 * transaction.
 */
static bool
tg_tally_write(const TgTally *t, int64 n, TgTallyWrite how)
{
	const TgTallyKind *k = t->kind;
	bool		rolled_back = how == TG_WRITE_SUMMARY;
	TgAuditEvent ev;
	char		details[TG_SITE_DETAILS_MAX + TG_TALLY_NOTE_MAX + 128];
	char		variant[TG_TALLY_VARIANT_MAX + 64] = "";

	if (k->variant_member)
		snprintf(variant, sizeof(variant), ", \"%s\": \"%s\"", k->variant_member, t->variant);
	snprintf(details, sizeof(details), "{\"%s\": %lld%s%s%s%s%s%s}",
			 k->count_member, (long long) n, variant,
			 t->details[0] ? ", " : "", t->details,
			 t->note[0] ? ", " : "", t->note,
			 rolled_back ? ", \"rolled_back\": true" : "");
	tg_event_init(&ev, &t->actor, k->category, k->action);
	if (k->variant_member == NULL)
		ev.decision = t->variant;
	ev.object = t->object[0] ? t->object : NULL;
	ev.details_json = details;
	ev.reason = t->reason[0] ? t->reason : NULL;
	if (rolled_back && k->rolled_back_reason)
		ev.reason = k->rolled_back_reason;
	if (how != TG_WRITE_RECORD)
	{
		(void) tg_audit_enqueue(&ev);
		return false;
	}
	return tg_audit_record(&ev);
}

/* n occurrences of entry i's key went into an event written in subtransaction subid. */
static void
tg_tally_add_written(int i, SubTransactionId subid, int64 n)
{
	TgTally		copy;
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
			TgTally    *t = &tg_tallies[i];
			int64		n = t->pending;

			t->announced = false;
			if (n == 0)
				continue;
			if (t->kind->queued)
				(void) tg_tally_write(t, n, TG_WRITE_QUEUE);
			/* on error the count stays pending, and the abort's summary has it */
			else if (tg_tally_write(t, n, TG_WRITE_RECORD))
				tg_tally_add_written(i, subid, n);
			/* the entry may have moved */
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
 * A (sub)transaction rolled back (all: the whole transaction): its counts
 * of kinds written in the transaction, written or not, become summary
 * events through the queue; what queued kinds had not written yet is
 * queued (a subtransaction's is written by its parent's statement).
 */
static void
tg_tally_rolled_back(SubTransactionId subid, bool all)
{
	int			i,
				j = 0;

	for (i = 0; i < tg_n_tallies; i++)
	{
		TgTally    *t = &tg_tallies[i];

		if (all || t->subid == subid)
		{
			if (t->kind->queued)
			{
				if (t->pending > 0)
					(void) tg_tally_write(t, t->pending, TG_WRITE_QUEUE);
			}
			else if (t->pending + t->written > 0)
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
		TgTally    *t = &tg_tallies[i];

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

/* Does entry c hold item's key (of kind, for subid, tenant and principal)? */
static bool
tg_tally_holds(const TgTally *c, const TgTallyKind *kind, const TgTallyItem *item,
			   SubTransactionId subid, const uint8_t *tenant, const char *principal)
{
	return c->kind == kind && c->subid == subid &&
		strcmp(c->variant, item->variant) == 0 &&
		memcmp(c->actor.tenant.data, tenant, UUID_LEN) == 0 &&
		strcmp(c->actor.principal, principal) == 0 &&
		strcmp(c->object, item->object) == 0 &&
		strcmp(c->details, item->details) == 0;
}

void
tg_tally_count(const TgTallyKind *kind, const TgTallyItem *item)
{
	/* queued kinds do not care which subtransaction counted */
	SubTransactionId subid = kind->queued ? TopSubTransactionId : GetCurrentSubTransactionId();
	const TgEffectiveContext *ctx = tg_effective_context();
	const char *principal = ctx ? ctx->principal : "";
	static const uint8_t no_tenant[UUID_LEN];
	const uint8_t *tenant = item->tenant ? item->tenant : ctx ? ctx->tenant.data : no_tenant;
	TgTally    *t = NULL;
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
		if (!(t->site_id == item->site_id && t->kind == kind && t->subid == subid &&
			  strcmp(t->variant, item->variant) == 0 &&
			  memcmp(t->actor.tenant.data, tenant, UUID_LEN) == 0 &&
			  strcmp(t->actor.principal, principal) == 0))
			t = NULL;
	}
	if (t == NULL)
	{
		for (i = 0; i < tg_n_tallies; i++)
			if (tg_tally_holds(&tg_tallies[i], kind, item, subid, tenant, principal))
			{
				t = &tg_tallies[i];
				break;
			}
		if (t == NULL)
		{
			TgTally		n;

			memset(&n, 0, sizeof(n));
			n.kind = kind;
			n.subid = subid;
			n.actor = *tg_actor_current();
			n.actor.has_tenant = item->tenant != NULL || ctx != NULL;
			memcpy(n.actor.tenant.data, tenant, UUID_LEN);
			strlcpy(n.actor.principal, principal, sizeof(n.actor.principal));
			strlcpy(n.variant, item->variant, sizeof(n.variant));
			strlcpy(n.object, item->object, sizeof(n.object));
			strlcpy(n.details, item->details, sizeof(n.details));
			i = tg_tally_append(&n);	/* may move the array */
			t = &tg_tallies[i];
		}
		t->site_id = item->site_id;
		tg_last = (int) (t - tg_tallies);
	}
	if (t->pending == 0 && !t->announced)
	{
		/* the statement's first occurrence of this key */
		t->note[0] = '\0';
		if (item->note)
			item->note(item->note_arg, t->note, sizeof(t->note));
		strlcpy(t->reason, item->reason ? item->reason : "", sizeof(t->reason));
	}
	if (kind->announce && XactReadOnly && !t->announced && !RecoveryInProgress())
	{
		/* queued now: a full queue refuses this occurrence (53400) before it happens */
		(void) tg_tally_write(t, 1, TG_WRITE_RECORD);
		t->announced = true;
		tg_unwritten = true;
		return;
	}
	t->pending++;
	tg_unwritten = true;
}
