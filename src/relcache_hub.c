/*
 * relcache_hub.c — tenantguard's one relcache invalidation callback, which
 * hands each invalidation to the handlers modules registered (see
 * relcache_hub.h).
 *
 * Layer 1: no calls into other tenantguard files.
 */
#include "postgres.h"

#include "access/xact.h"
#include "storage/proc.h"
#include "utils/inval.h"

#include "relcache_hub.h"

#define TG_MAX_RELCACHE_HANDLERS 8

static TgRelcacheHandler tg_handlers[TG_MAX_RELCACHE_HANDLERS];
static int	tg_n_handlers = 0;
static bool tg_hub_registered = false;

static void
tg_relcache_hub(Datum arg, Oid relid)
{
	int			i;

	for (i = 0; i < tg_n_handlers; i++)
		tg_handlers[i] (relid);
}

void
tg_relcache_hub_register(TgRelcacheHandler handler)
{
	if (tg_n_handlers >= TG_MAX_RELCACHE_HANDLERS)
		elog(ERROR, "too many tenantguard relcache handlers");
	if (!tg_hub_registered)
	{
		CacheRegisterRelcacheCallback(tg_relcache_hub, (Datum) 0);
		tg_hub_registered = true;
	}
	tg_handlers[tg_n_handlers++] = handler;
}

void
tg_accept_invalidations_per_statement(void)
{
	static TimestampTz last_start = 0;
	static LocalTransactionId last_lxid = InvalidLocalTransactionId;
	TimestampTz start = GetCurrentStatementStartTimestamp();

	/* two statements may start in the same microsecond: the lxid tells transactions apart */
	if (start != last_start || MyProc == NULL || MyProc->lxid != last_lxid)
	{
		last_start = start;
		last_lxid = MyProc ? MyProc->lxid : InvalidLocalTransactionId;
		AcceptInvalidationMessages();
	}
}
