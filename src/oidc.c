/*
 * oidc.c — signing in with an OpenID Connect identity provider:
 * login_with_id_token(id_token, tenant, nonce).
 *
 * The token is verified by token_keys.c against the provider's keys, which
 * an administrator imported for ID tokens with the provider's issuer and
 * the application's client id (its audience); each token signs in once.
 * The provider's (issuer, subject) pair is looked up in
 * tenantguard.identities (link_identity()), and the linked user is signed
 * in by identity.c exactly as login() does after a password: user status,
 * tenant, membership, session, audit. A refused token is a status
 * ('invalid'), never an error, and its refusal is recorded so that it
 * survives the caller's rollback; the event says why, never the token.
 *
 * Layer 9: uses identity (the end of a login), token_keys (verification),
 * the event store and privileged SPI.
 */
#include "postgres.h"

#include <sodium.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "lib/stringinfo.h"
#include "utils/uuid.h"

#include "audit_queue.h"
#include "context.h"
#include "event_store.h"
#include "identity.h"
#include "privileged.h"
#include "token_keys.h"

/* The user linked to (issuer, subject), if any. */
static bool
tg_linked_user(const char *issuer, const char *subject, pg_uuid_t *user)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2];
	int			level;
	bool		found = false;

	values[0] = CStringGetTextDatum(issuer);
	values[1] = CStringGetTextDatum(subject);
	level = tg_spi_begin();
	if (SPI_execute_with_args("SELECT i.user_id FROM tenantguard.identities i "
							  "WHERE i.issuer OPERATOR(pg_catalog.=) $1 "
							  "AND i.subject OPERATOR(pg_catalog.=) $2",
							  2, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed");
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
		{
			*user = *DatumGetUUIDP(d);
			found = true;
		}
	}
	tg_spi_end(level);
	return found;
}

/* A refused sign-in: recorded (surviving a rollback), answered 'invalid'. */
static void
tg_id_token_refused(const char *reason, const char *issuer, TgLoginResult *res)
{
	char		why[200];
	char	   *details = NULL;

	snprintf(why, sizeof(why), "id token: %s", reason);
	if (issuer != NULL)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		appendStringInfoString(&buf, "{\"method\": \"oidc\", \"issuer\": ");
		escape_json(&buf, issuer);
		appendStringInfoChar(&buf, '}');
		details = buf.data;
	}
	{
		TgAuditEvent ev;
		TgActor		actor = *tg_actor_current();

		/*
		 * Like login()'s refusals, recorded without a tenant: the caller's
		 * current tenant has nothing to do with the token, and its audit
		 * readers must not learn about sign-in attempts from it.
		 */
		actor.has_tenant = false;
		tg_event_init(&ev, &actor, "auth", "login");
		ev.decision = "deny";
		ev.reason = why;
		ev.details_json = details ? details : "{\"method\": \"oidc\"}";
		(void) tg_audit_enqueue(&ev);
	}
	memset(res, 0, sizeof(*res));
	res->status = TG_LOGIN_INVALID;
}

PG_FUNCTION_INFO_V1(tg_login_with_id_token);

/* login_with_id_token(id_token text, tenant text, nonce text): the same row as login(). */
Datum
tg_login_with_id_token(PG_FUNCTION_ARGS)
{
	text	   *tok;
	char	   *token;
	size_t		len;
	char	   *tenant = NULL;
	char	   *nonce = NULL;
	TgIdTokenInfo info;
	TgTokenRefusal refusal;
	TgLoginResult res;
	pg_uuid_t	user;
	bool		ok;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("id_token must not be null")));
	tok = PG_GETARG_TEXT_PP(0);
	len = VARSIZE_ANY_EXHDR(tok);
	token = text_to_cstring(tok);
	if (!PG_ARGISNULL(1))
		tenant = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (!PG_ARGISNULL(2))
		nonce = text_to_cstring(PG_GETARG_TEXT_PP(2));

	ok = tg_id_token_verify(token, len, nonce, nonce ? strlen(nonce) : 0, &info, &refusal);
	sodium_memzero(token, len);
	if (nonce)
		sodium_memzero(nonce, strlen(nonce));
	if (!ok)
	{
		if (refusal.sqlstate == ERRCODE_CONFIGURATION_LIMIT_EXCEEDED)
		{
			tg_id_token_refused(refusal.reason, NULL, &res);
			ereport(ERROR,
					(errcode(refusal.sqlstate),
					 errmsg("cannot accept the ID token now"),
					 errdetail("%s", refusal.detail)));
		}
		tg_id_token_refused(refusal.reason, NULL, &res);
		return tg_login_result_datum(fcinfo, &res);
	}
	if (!tg_linked_user(info.issuer, info.subject, &user))
	{
		tg_id_token_refused("no user linked to this identity", info.issuer, &res);
		return tg_login_result_datum(fcinfo, &res);
	}
	tg_login_complete(&user, tenant, 1, "oidc", &res);
	return tg_login_result_datum(fcinfo, &res);
}
