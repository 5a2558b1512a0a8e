/*
 * relcache_hub.h — one relcache invalidation callback for all of
 * tenantguard (layer 1). PostgreSQL has room for only ten such callbacks per
 * backend (MAX_RELCACHE_CALLBACKS), shared by every loaded library — Citus
 * alone takes five — so each module registers its handler here instead.
 * Also the once-per-statement intake of invalidations those handlers see.
 */
#ifndef TG_RELCACHE_HUB_H
#define TG_RELCACHE_HUB_H

#include "postgres.h"

/* relid InvalidOid: every relation (a full reset). Must not fail or read catalogs. */
typedef void (*TgRelcacheHandler) (Oid relid);

extern void tg_relcache_hub_register(TgRelcacheHandler handler);

/*
 * Take in other backends' invalidations, at most once per statement (of
 * the top-level statement, per transaction): what another backend committed
 * is in force from this backend's next statement on. Shared by every module
 * that needs it, so that a statement pays for it once.
 */
extern void tg_accept_invalidations_per_statement(void);

#endif
