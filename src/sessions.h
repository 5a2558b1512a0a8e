/*
 * sessions.h — login sessions (layer 7): tokens tgses_<secret>_<checksum>
 * (core/token_format), stored as their SHA-256 in tenantguard.sessions;
 * resume() enters a session's context, logout()/revoke_sessions() end
 * sessions, and a context resumed from a session ends at the next statement
 * in every backend once the session is revoked, its user disabled or its
 * membership removed or changed (the check registered with the context).
 */
#ifndef TG_SESSIONS_H
#define TG_SESSIONS_H

#include "postgres.h"
#include "datatype/timestamp.h"
#include "utils/uuid.h"

extern void tg_sessions_init(void);

/* tenantguard.session_ttl and tenantguard.session_idle_timeout, in seconds. */
extern int	tg_session_ttl;
extern int	tg_session_idle_timeout;

/*
 * Create a session for (user, tenant) with assurance level aal (1: one
 * factor; 2: with a second factor) and method (how the user signed in:
 * "password", "recovery_code", "oidc"; 1..32 of [a-z0-9_]). Returns the
 * token (palloc'ed; shown once, never stored: only its SHA-256 is) and its
 * absolute expiry (now() + tenantguard.session_ttl). The row is written in
 * the caller's transaction, as the bootstrap superuser (the caller needs no
 * rights on the table); the caller has checked the credentials, the user's
 * status and the membership, and records the login event. 22023 for a bad
 * aal or method.
 */
extern char *tg_session_create(const pg_uuid_t *user, const pg_uuid_t *tenant, int aal,
							   const char *method, TimestampTz *expires_at);

/*
 * End every live session of a user (only those in tenant when not NULL):
 * revoked_at = now(), the reason kept (1..64 characters, e.g. "disabled",
 * "removed", "role_changed", "revoke_sessions"). Every context resumed from
 * them ends at the next statement in every backend once the caller's
 * transaction commits. Returns how many sessions were ended. No permission
 * check and no event here: the SQL callers check and record.
 */
extern int	tg_sessions_revoke_user(const pg_uuid_t *user, const pg_uuid_t *tenant_or_null,
									const char *reason);

#endif
