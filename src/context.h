/*
 * context.h — the tenant context (layer 4): the setting that carries it,
 * the effective context of the current statement, entering a tenant, and
 * the actor that audit events name.
 */
#ifndef TG_CONTEXT_H
#define TG_CONTEXT_H

#include "postgres.h"
#include "nodes/nodes.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "core/context_value.h"
#include "audit_event.h"

/* The context in force for the current statement. */
typedef struct TgEffectiveContext
{
	bool		has;
	pg_uuid_t	tenant;
	TgScope		scope;
	TimestampTz expires;		/* 0 = none */
	char		role[TG_CTX_ROLE_MAX + 1];
	char		principal[TG_CTX_PRINCIPAL_MAX + 1];
} TgEffectiveContext;

/* The one hint that says how to enter a tenant. */
extern const char *const tg_enter_hint;

extern void tg_context_init(void);
/*
 * Called whenever the effective context may have changed (the setting was
 * assigned, bindings or tenants changed), from GUC assign hooks too: the
 * listener must not fail or read catalogs.
 */
extern void tg_context_register_change_listener(void (*listener) (void));
extern const TgEffectiveContext *tg_effective_context(void);
extern void tg_context_enter_nested(const pg_uuid_t *tenant);
/* From the utility hook: RESET of a mirror setting clears the context. */
extern void tg_context_utility(Node *parsetree);
/* From the utility hook, after the statement: refuses a token SET for the session. */
extern void tg_context_utility_done(Node *parsetree);

/*
 * Who is acting now, for an audit event: the context's tenant and
 * principal, the session user and client address. Points to storage that
 * the next call overwrites; tg_event_init() copies it.
 */
extern const TgActor *tg_actor_current(void);

/*
 * The payload JSON of the token the context in force came from, or NULL;
 * *serial changes whenever the setting is assigned again.
 */
extern const char *tg_context_claims(size_t *len, uint64 *serial);

/*
 * Who entered a tenant: an administrator (set_tenant(); always recorded) or
 * a signed context token (recorded only with tenantguard.audit_context_entries
 * on; no token entry exists yet).
 */
typedef enum TgEntryKind
{
	TG_ENTRY_ADMIN,
	TG_ENTRY_TOKEN
} TgEntryKind;

/*
 * Record a successful context entry (set_tenant today; assume, resume and
 * agent_login later) without making the transaction write: read-only
 * transactions stay read-only, and the event survives a rollback. Build ev
 * with tg_event_init() right after entering; its strings are copied.
 * Refusals go through tg_audit_deny() as before.
 */
extern void tg_context_audit_entry(TgAuditEvent *ev, TgEntryKind kind);

#endif
