/*
 * identity.h — users, memberships, MFA and login (layer 8): login() and the
 * end of every sign-in path (password + factor here, an ID token in oidc),
 * which picks the tenant, checks the user and the tenant, makes the
 * session and records the event.
 */
#ifndef TG_IDENTITY_H
#define TG_IDENTITY_H

#include "postgres.h"
#include "fmgr.h"
#include "datatype/timestamp.h"
#include "utils/uuid.h"

typedef enum TgLoginStatus
{
	TG_LOGIN_OK,
	TG_LOGIN_INVALID,			/* unknown email, wrong password or wrong code */
	TG_LOGIN_MFA_REQUIRED,		/* right password, MFA confirmed, no code given */
	TG_LOGIN_LOCKED,			/* too many failures: tenantguard.login_lockout */
	TG_LOGIN_DISABLED,			/* user disabled (no tenant) or tenant suspended (tenant set) */
	TG_LOGIN_NO_MEMBERSHIP		/* no membership in the tenant asked for, or none implied */
} TgLoginStatus;

/* The row login() and login_with_id_token() return. */
typedef struct TgLoginResult
{
	TgLoginStatus status;
	char	   *session_token;	/* palloc'ed, shown once; NULL unless TG_LOGIN_OK */
	bool		has_user;
	pg_uuid_t	user;
	bool		has_tenant;
	pg_uuid_t	tenant;
	TimestampTz expires_at;		/* 0 unless TG_LOGIN_OK */
} TgLoginResult;

/* The settings (tenantguard.mfa_issuer), from _PG_init. */
extern void tg_identity_init(void);

/* The status as login() returns it ("ok", "invalid", ...). */
extern const char *tg_login_status_name(TgLoginStatus status);

/*
 * After the credentials were checked (password + factor, or an ID token):
 * the user's status (disabled → TG_LOGIN_DISABLED without a tenant), the
 * tenant (tenant_text: a slug, a uuid in text, or NULL = the user's only
 * membership; 22023 when it is neither slug nor uuid), the membership
 * (TG_LOGIN_NO_MEMBERSHIP), a suspended tenant (TG_LOGIN_DISABLED with the
 * tenant set), then the session (tg_session_create with aal, 1 or 2, and method:
 * "password" (with or without TOTP: aal tells), "recovery_code", "oidc") and the audit event
 * (auth/login: allowed in this transaction, refused through the queue so
 * that it survives a rollback). out is filled completely; never raises for
 * any of these outcomes. user must exist.
 */
extern void tg_login_complete(const pg_uuid_t *user, const char *tenant_text, int aal,
							  const char *method, TgLoginResult *out);

/* The result as login()'s composite row (fcinfo of a function returning that row type). */
extern Datum tg_login_result_datum(FunctionCallInfo fcinfo, const TgLoginResult *r);

#endif
