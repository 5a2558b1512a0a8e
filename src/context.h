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
	int			aal;			/* 2: resumed from a login with a second factor; else 1 */
	bool		has_session;	/* resumed from a login session */
	pg_uuid_t	session;		/* its id */
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
 * Who entered a tenant: an administrator (set_tenant(); always recorded), a
 * signed context token or a resumed login session (recorded only with
 * tenantguard.audit_context_entries on: applications enter per request).
 */
typedef enum TgEntryKind
{
	TG_ENTRY_ADMIN,
	TG_ENTRY_TOKEN,
	TG_ENTRY_SESSION			/* resume(): recorded like token entries */
} TgEntryKind;

/*
 * Record a successful context entry (set_tenant today; assume, resume and
 * agent_login later) without making the transaction write: read-only
 * transactions stay read-only, and the event survives a rollback. Build ev
 * with tg_event_init() right after entering; its strings are copied.
 * Refusals go through tg_audit_deny() as before.
 */
extern void tg_context_audit_entry(TgAuditEvent *ev, TgEntryKind kind);

/*
 * Login sessions (an upper layer, sessions.c) plug in here. A context
 * resumed from a session carries the session's id; whether the session
 * still holds (not revoked, user active, membership and role unchanged) is
 * asked of the registered check whenever the context is recomputed after
 * tg_context_sessions_changed() — which the upper layer calls from its
 * invalidation handler (it must not fail or read catalogs there). Other
 * backends' invalidations are taken in once per statement while such a
 * context is set, so a revocation anywhere ends it at the next statement.
 * Without a registered check no session context is ever in force.
 */
typedef bool (*TgSessionCheck) (const TgEffectiveContext *ctx);
extern void tg_context_register_session_check(TgSessionCheck check);
extern void tg_context_sessions_changed(void);

/*
 * Enter the context of a verified login session (principal user:<uuid>,
 * role, aal, session id, ending at expires), for the transaction or the
 * session. The same entry checks as set_tenant() (tenant active, a bound
 * role stays in its tenant, a set context is locked): a refusal is
 * recorded and raised. The caller records the entry (TG_ENTRY_SESSION).
 */
extern void tg_context_enter_session(const pg_uuid_t *tenant, const pg_uuid_t *session,
									 const char *principal, const char *role, int aal,
									 TimestampTz expires, bool is_local);

#endif
