/*
 * relcache_hub.h — one relcache invalidation callback for all of
 * tenantguard (layer 1). PostgreSQL has room for only ten such callbacks per
 * backend (MAX_RELCACHE_CALLBACKS), shared by every loaded library — Citus
 * alone takes five — so each module registers its handler here instead.
 */
#ifndef TG_RELCACHE_HUB_H
#define TG_RELCACHE_HUB_H

#include "postgres.h"

/* relid InvalidOid: every relation (a full reset). Must not fail or read catalogs. */
typedef void (*TgRelcacheHandler) (Oid relid);

extern void tg_relcache_hub_register(TgRelcacheHandler handler);

#endif
