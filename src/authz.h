/*
 * authz.h — authorization (layer 6): the built-in roles and each tenant's
 * permission rules, cached per backend and (tenant, role); decisions for
 * the current context, audited per tenantguard.audit_decisions.
 */
#ifndef TG_AUTHZ_H
#define TG_AUTHZ_H

#include "postgres.h"

/* Where a permission is checked from: caches the rules that apply there. */
typedef struct TgAuthzSite TgAuthzSite;

extern void tg_authz_init(void);

/* A site for a C caller (allocated once in cxt, kept for the backend). */
extern TgAuthzSite *tg_authz_site_new(MemoryContext cxt);

/*
 * May the current context use permission on resource? Both are literals
 * (22023 when malformed); no context means no. The decision is audited
 * per tenantguard.audit_decisions, one event per statement and
 * (permission, decision).
 */
extern bool tg_authz_allowed(TgAuthzSite *site, const char *permission, size_t plen,
							 const char *resource, size_t rlen);

/* The same, raising 42501 (naming permission and resource) when not allowed. */
extern void tg_authz_require(TgAuthzSite *site, const char *permission, size_t plen,
							 const char *resource, size_t rlen);

/* Are refusals audited (tenantguard.audit_decisions is deny or all)? */
extern bool tg_authz_audit_denials(void);

#endif
