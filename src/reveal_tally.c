/*
 * reveal_tally.c — reveals counted per (sub)transaction, so that a rollback
 * cannot erase the fact that plaintext was handed out: an aborted
 * (sub)transaction's reveals are re-recorded as summary events through the
 * ledger worker's queue.
 *
 * Layer 5: uses the queue, the event store and the context's actor.
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/memutils.h"

#include "audit_queue.h"
#include "context.h"
#include "event_store.h"
#include "reveal_tally.h"

/*
 * Reveals recorded in the current transaction, per subtransaction, so that a
 * rollback cannot erase the fact that plaintext was handed out: an aborted
 * (sub)transaction's reveals are re-recorded as one summary event through
 * the ledger worker.
 */
typedef struct TgRevealTally
{
	SubTransactionId subid;
	int64		count;
	TgActor		actor;			/* who revealed, and the secrets' tenant */
} TgRevealTally;

/*
 * Grown as needed, never capped: a cap would let a caller hide reveals
 * behind enough savepoints. Entries of a committed subtransaction merge
 * into its parent's, so there are at most (nesting depth x tenants) of them.
 */
static TgRevealTally *tg_tallies = NULL;
static int	tg_n_tallies = 0;
static int	tg_max_tallies = 0;
static bool tg_tally_callbacks = false;

static void
tg_tally_flush(SubTransactionId subid, bool all)
{
	int			i,
				j = 0;

	for (i = 0; i < tg_n_tallies; i++)
	{
		TgRevealTally *t = &tg_tallies[i];

		if (all || t->subid == subid)
		{
			TgAuditEvent ev;
			char		details[96];

			snprintf(details, sizeof(details), "{\"reveals\": %lld, \"rolled_back\": true}",
					 (long long) t->count);
			tg_event_init(&ev, &t->actor, "secret", "reveal");
			ev.reason = "transaction rolled back after revealing";
			ev.details_json = details;
			(void) tg_audit_enqueue(&ev);
		}
		else
			tg_tallies[j++] = *t;
	}
	tg_n_tallies = j;
}

static void
tg_tally_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		tg_tally_flush(InvalidSubTransactionId, true);
	else if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PREPARE ||
			 event == XACT_EVENT_PARALLEL_COMMIT)
		tg_n_tallies = 0;
	if ((event == XACT_EVENT_ABORT || event == XACT_EVENT_COMMIT) && tg_max_tallies > 1024)
	{
		/* a transaction with very many savepoints: give the memory back */
		pfree(tg_tallies);
		tg_tallies = NULL;
		tg_max_tallies = 0;
	}
}

/* Same tally key: tenant and who revealed. */
static bool
tg_tally_same(const TgRevealTally *a, const TgRevealTally *b)
{
	return memcmp(a->actor.tenant.data, b->actor.tenant.data, UUID_LEN) == 0 &&
		strcmp(a->actor.principal, b->actor.principal) == 0 &&
		strcmp(a->actor.db_user, b->actor.db_user) == 0 &&
		strcmp(a->actor.client_addr, b->actor.client_addr) == 0;
}

static void
tg_tally_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	int			i;

	if (event == SUBXACT_EVENT_ABORT_SUB)
		tg_tally_flush(mySubid, false);
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		int			j = 0;

		/* move into the parent, merging with its entry of the same key */
		for (i = 0; i < tg_n_tallies; i++)
		{
			TgRevealTally *t = &tg_tallies[i];

			if (t->subid == mySubid)
			{
				int			k;
				bool		merged = false;

				for (k = 0; k < j; k++)
					if (tg_tallies[k].subid == parentSubid && tg_tally_same(&tg_tallies[k], t))
					{
						tg_tallies[k].count += t->count;
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
	}
}

void
tg_tally_reveal(const uint8_t tenant[16])
{
	SubTransactionId subid = GetCurrentSubTransactionId();
	const TgEffectiveContext *ctx = tg_effective_context();
	const char *principal = ctx ? ctx->principal : "";
	TgRevealTally *t;
	int			i;

	if (!tg_tally_callbacks)
	{
		RegisterXactCallback(tg_tally_xact_callback, NULL);
		RegisterSubXactCallback(tg_tally_subxact_callback, NULL);
		tg_tally_callbacks = true;
	}
	/* the session user and address do not change within a transaction */
	for (i = 0; i < tg_n_tallies; i++)
		if (tg_tallies[i].subid == subid &&
			memcmp(tg_tallies[i].actor.tenant.data, tenant, UUID_LEN) == 0 &&
			strcmp(tg_tallies[i].actor.principal, principal) == 0)
		{
			tg_tallies[i].count++;
			return;
		}
	if (tg_n_tallies == tg_max_tallies)
	{
		int			newmax = tg_max_tallies == 0 ? 16 : tg_max_tallies * 2;

		if (tg_tallies == NULL)
			tg_tallies = MemoryContextAlloc(TopMemoryContext, sizeof(TgRevealTally) * newmax);
		else
			tg_tallies = repalloc(tg_tallies, sizeof(TgRevealTally) * newmax);
		tg_max_tallies = newmax;
	}
	t = &tg_tallies[tg_n_tallies];
	memset(t, 0, sizeof(*t));
	t->subid = subid;
	t->count = 1;
	t->actor = *tg_actor_current();
	t->actor.has_tenant = true;
	memcpy(t->actor.tenant.data, tenant, UUID_LEN);
	strlcpy(t->actor.principal, principal, sizeof(t->actor.principal));
	tg_n_tallies++;
}

