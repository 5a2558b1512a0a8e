/*
 * cache.h — per-backend caches of tenantguard's own tables (layer 2): which
 * relations are protected, which roles are bound, tenant status.
 */
#ifndef TG_CACHE_H
#define TG_CACHE_H

#include "postgres.h"
#include "nodes/pg_list.h"
#include "utils/uuid.h"

#include "core/context_value.h"

typedef struct TgBinding
{
	Oid			role;
	pg_uuid_t	tenant;
	char		tenant_role[TG_CTX_ROLE_MAX + 1];
} TgBinding;

typedef enum TgTenantStatus
{
	TG_TENANT_UNKNOWN = 0,
	TG_TENANT_ACTIVE,
	TG_TENANT_SUSPENDED
} TgTenantStatus;

extern void tg_cache_init(void);
/* Called (by upper layers) whenever the caches are dropped. */
extern void tg_cache_register_listener(void (*listener) (void));
extern bool tg_extension_present(void);
/* Is Citus loaded in this server? (Citus must be preloaded.) */
extern bool tg_citus_loaded(void);
extern bool tg_is_protected(Oid relid, char *tenant_column);
extern bool tg_lookup_binding(Oid role, TgBinding *out);
extern TgTenantStatus tg_lookup_tenant(const pg_uuid_t *tenant, char **slug);
extern List *tg_tenant_ids(void);

#endif
