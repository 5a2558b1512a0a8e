/*
 * sessions.c — login sessions (see sessions.h).
 *
 * A session token is tgses_<256-bit secret>_<checksum> (core/token_format):
 * its shape and checksum are checked before anything is looked up, then
 * the row is found by the SHA-256 of the token through the unique index on
 * token_hash and the stored hash compared in constant time. Reads are
 * direct index scans under a fresh catalog snapshot (no SPI, usable in
 * parallel mode, and they see every commit whose invalidation this backend
 * has taken in); writes (create, the once-a-minute last_seen_at refresh,
 * revocation) go through SPI as the bootstrap superuser with search_path
 * pinned.
 *
 * Revocation: statement triggers on tenantguard.sessions (revoked_at
 * changed, rows deleted), users (status) and memberships send relcache
 * invalidations; the handler registered with the relcache hub bumps a
 * generation here and tells the context (tg_context_sessions_changed),
 * which takes in other backends' invalidations once per statement while a
 * session context is set and then asks tg_session_still_holds() again.
 *
 * Layer 7: uses the context, the event store, authz, the relcache hub,
 * privileged SQL and core (token_format, uuid_text).
 */
#include "postgres.h"

#include <string.h>
#include <sodium.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "core/token_format.h"
#include "core/uuid_text.h"
#include "authz.h"
#include "cache.h"
#include "catalog.h"
#include "context.h"
#include "event_store.h"
#include "privileged.h"
#include "relcache_hub.h"
#include "sessions.h"
#include "tenantguard.h"

int			tg_session_ttl = 12 * 3600;
int			tg_session_idle_timeout = 30 * 60;

/* last_seen_at is written at most this often per session (seconds). */
#define TG_SESSION_REFRESH_SECS 60

/* The relations sessions depend on; InvalidOid = not looked up yet. */
static Oid	tg_sessions_relid = InvalidOid;
static Oid	tg_sessions_hash_idx = InvalidOid;
static Oid	tg_users_relid = InvalidOid;
static Oid	tg_members_relid = InvalidOid;

/* Bumped by every invalidation that may end a session context. */
static uint64 tg_sessions_generation = 1;

/* The session context last found to hold, and the generation it was checked at. */
static bool tg_verified_has = false;
static pg_uuid_t tg_verified_session;
static pg_uuid_t tg_verified_tenant;
static char tg_verified_role[TG_CTX_ROLE_MAX + 1];
static uint64 tg_verified_generation = 0;

/* A session row with what its user and membership say now. */
typedef struct TgSessionRow
{
	pg_uuid_t	id;
	pg_uuid_t	user;
	pg_uuid_t	tenant;
	uint8		hash[crypto_hash_sha256_BYTES];
	int			aal;
	TimestampTz expires_at;
	TimestampTz last_seen_at;
	bool		revoked;
	bool		user_active;
	bool		has_membership;
	char		role[TG_CTX_ROLE_MAX + 1];
} TgSessionRow;

static void
tg_sessions_relcache(Oid relid)
{
	if (relid == InvalidOid || !OidIsValid(tg_sessions_relid) ||
		relid == tg_sessions_relid || relid == tg_users_relid || relid == tg_members_relid)
	{
		if (relid == InvalidOid)
			tg_sessions_relid = InvalidOid;
		tg_sessions_generation++;
		tg_context_sessions_changed();
	}
}

/* Look up the relations (once per backend, again after a full reset). */
static void
tg_sessions_lookup_relids(void)
{
	Oid			sessions,
				idx,
				users,
				members;

	if (OidIsValid(tg_sessions_relid))
		return;
	sessions = tg_relation_in(TG_SCHEMA, "sessions");
	idx = tg_relation_in(TG_SCHEMA, "sessions_token_hash_key");
	users = tg_relation_in(TG_SCHEMA, "users");
	members = tg_relation_in(TG_SCHEMA, "memberships");
	if (!OidIsValid(sessions) || !OidIsValid(idx) || !OidIsValid(users) || !OidIsValid(members))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenantguard's session tables are missing"),
				 errhint("Run ALTER EXTENSION tenantguard UPDATE or reinstall the extension.")));
	tg_users_relid = users;
	tg_members_relid = members;
	tg_sessions_hash_idx = idx;
	tg_sessions_relid = sessions;
}

/* One row of rel by a one- or two-column index, under the catalog snapshot; fn(tuple) while open. */
static bool
tg_index_fetch(Oid relid, Oid indexid, int nkeys, const char *const *cols,
			   const RegProcedure *procs, const Datum *vals,
			   void (*fn) (HeapTuple tup, Relation rel, void *arg), void *arg)
{
	Relation	rel = table_open(relid, AccessShareLock);
	SysScanDesc scan;
	ScanKeyData keys[2];
	HeapTuple	tup;
	bool		found = false;
	int			i;

	for (i = 0; i < nkeys; i++)
		ScanKeyInit(&keys[i], tg_attnum(rel, cols[i]), BTEqualStrategyNumber, procs[i], vals[i]);
	scan = systable_beginscan(rel, OidIsValid(indexid) ? indexid : RelationGetPrimaryKeyIndex(rel),
							  true, NULL, nkeys, keys);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		found = true;
		fn(tup, rel, arg);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

static Datum
tg_col(HeapTuple tup, Relation rel, const char *name, bool *isnull)
{
	return heap_getattr(tup, tg_attnum(rel, name), RelationGetDescr(rel), isnull);
}

static void
tg_read_session(HeapTuple tup, Relation rel, void *arg)
{
	TgSessionRow *r = (TgSessionRow *) arg;
	bool		isnull;
	bytea	   *h;

	r->id = *DatumGetUUIDP(tg_col(tup, rel, "id", &isnull));
	r->user = *DatumGetUUIDP(tg_col(tup, rel, "user_id", &isnull));
	r->tenant = *DatumGetUUIDP(tg_col(tup, rel, "tenant_id", &isnull));
	h = DatumGetByteaPP(tg_col(tup, rel, "token_hash", &isnull));
	if (VARSIZE_ANY_EXHDR(h) == sizeof(r->hash))
		memcpy(r->hash, VARDATA_ANY(h), sizeof(r->hash));
	r->aal = DatumGetInt16(tg_col(tup, rel, "aal", &isnull));
	r->expires_at = DatumGetTimestampTz(tg_col(tup, rel, "expires_at", &isnull));
	r->last_seen_at = DatumGetTimestampTz(tg_col(tup, rel, "last_seen_at", &isnull));
	(void) tg_col(tup, rel, "revoked_at", &isnull);
	r->revoked = !isnull;
}

static void
tg_read_user(HeapTuple tup, Relation rel, void *arg)
{
	bool		isnull;
	Datum		st = tg_col(tup, rel, "status", &isnull);

	*(bool *) arg = !isnull && strcmp(TextDatumGetCString(st), "active") == 0;
}

static void
tg_read_membership(HeapTuple tup, Relation rel, void *arg)
{
	bool		isnull;
	Datum		role = tg_col(tup, rel, "role", &isnull);

	if (!isnull)
		text_to_cstring_buffer(DatumGetTextPP(role), (char *) arg, TG_CTX_ROLE_MAX + 1);
}

/*
 * Read a session (by the SHA-256 of its token, or by id when hash is NULL)
 * with its user's status and membership role, as committed now: a fresh
 * catalog snapshot, taken after every invalidation this backend has seen.
 */
static bool
tg_session_read(const uint8 *hash, const pg_uuid_t *id, TgSessionRow *r)
{
	static const char *const by_hash[] = {"token_hash"};
	static const char *const by_id[] = {"id"};
	static const char *const by_member[] = {"tenant_id", "user_id"};
	static const RegProcedure bytea_eq[] = {F_BYTEAEQ};
	static const RegProcedure uuid_eq[] = {F_UUID_EQ, F_UUID_EQ};
	Datum		vals[2];
	bool		found;

	memset(r, 0, sizeof(*r));
	tg_sessions_lookup_relids();
	InvalidateCatalogSnapshot();
	if (hash != NULL)
	{
		vals[0] = PointerGetDatum(tg_bytea(hash, crypto_hash_sha256_BYTES));
		found = tg_index_fetch(tg_sessions_relid, tg_sessions_hash_idx, 1, by_hash,
							   bytea_eq, vals, tg_read_session, r);
	}
	else
	{
		vals[0] = UUIDPGetDatum(unconstify(pg_uuid_t *, id));
		found = tg_index_fetch(tg_sessions_relid, InvalidOid, 1, by_id,
							   uuid_eq, vals, tg_read_session, r);
	}
	if (!found)
		return false;
	vals[0] = UUIDPGetDatum(&r->user);
	(void) tg_index_fetch(tg_users_relid, InvalidOid, 1, by_id, uuid_eq, vals,
						  tg_read_user, &r->user_active);
	vals[0] = UUIDPGetDatum(&r->tenant);
	vals[1] = UUIDPGetDatum(&r->user);
	r->has_membership = tg_index_fetch(tg_members_relid, InvalidOid, 2, by_member, uuid_eq, vals,
									   tg_read_membership, r->role);
	return true;
}

static void
tg_principal_of(const pg_uuid_t *user, char *buf, size_t size)
{
	char		u[TG_UUID_TEXT_LEN + 1];

	tg_uuid_format(user->data, u);
	snprintf(buf, size, "user:%s", u);
}

static void
tg_remember_verified(const pg_uuid_t *session, const pg_uuid_t *tenant, const char *role,
					 uint64 generation)
{
	tg_verified_has = true;
	tg_verified_session = *session;
	tg_verified_tenant = *tenant;
	strlcpy(tg_verified_role, role, sizeof(tg_verified_role));
	tg_verified_generation = generation;
}

/*
 * The context's check (registered with the context layer): does the
 * session the context was resumed from still hold, with the same tenant,
 * principal and role? Cached per generation; parallel workers trust their
 * leader, which checked in this statement.
 */
static bool
tg_session_still_holds(const TgEffectiveContext *ctx)
{
	uint64		generation = tg_sessions_generation;
	TgSessionRow r;
	char		principal[TG_CTX_PRINCIPAL_MAX + 1];

	if (IsParallelWorker())
		return true;
	if (tg_verified_has && tg_verified_generation == generation &&
		memcmp(&tg_verified_session, &ctx->session, sizeof(pg_uuid_t)) == 0 &&
		memcmp(&tg_verified_tenant, &ctx->tenant, sizeof(pg_uuid_t)) == 0 &&
		strcmp(tg_verified_role, ctx->role) == 0)
		return true;
	if (!IsTransactionState() || !tg_extension_present())
		return false;
	if (!tg_session_read(NULL, &ctx->session, &r))
		return false;
	tg_principal_of(&r.user, principal, sizeof(principal));
	if (r.revoked || !r.user_active || !r.has_membership ||
		memcmp(&r.tenant, &ctx->tenant, sizeof(pg_uuid_t)) != 0 ||
		strcmp(r.role, ctx->role) != 0 || strcmp(principal, ctx->principal) != 0 ||
		r.aal != ctx->aal)
		return false;
	tg_remember_verified(&r.id, &r.tenant, r.role, generation);
	return true;
}

/* Run sql with args as the bootstrap superuser, search_path pinned; returns SPI_processed. */
typedef void (*TgSpiRows) (void *arg);

static uint64
tg_sessions_sql(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls,
				int expect, TgSpiRows rows, void *arg)
{
	Oid			save_user;
	int			save_sec;
	volatile uint64 n = 0;

	tg_begin_as(BOOTSTRAP_SUPERUSERID, &save_user, &save_sec);
	PG_TRY();
	{
		int			level = tg_spi_begin();
		int			rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);

		if (rc != expect)
			elog(ERROR, "tenantguard: session statement failed (%d)", rc);
		n = SPI_processed;
		if (rows != NULL)
			rows(arg);
		tg_spi_end(level);
	}
	PG_FINALLY();
	{
		tg_end_as(save_user, save_sec);
	}
	PG_END_TRY();
	return n;
}

/* How a user signed in: 1..32 of [a-z0-9_]. */
static bool
tg_method_valid(const char *m)
{
	size_t		n = strlen(m),
				i;

	if (n == 0 || n > 32)
		return false;
	for (i = 0; i < n; i++)
		if (!((m[i] >= 'a' && m[i] <= 'z') || (m[i] >= '0' && m[i] <= '9') || m[i] == '_'))
			return false;
	return true;
}

static void
tg_token_hash(const char *token, size_t len, uint8 *hash)
{
	crypto_hash_sha256(hash, (const unsigned char *) token, len);
}

/* Create a session (see sessions.h). */
char *
tg_session_create(const pg_uuid_t *user, const pg_uuid_t *tenant, int aal,
				  const char *method, TimestampTz *expires_at)
{
	uint8		secret[32];
	uint8		hash[crypto_hash_sha256_BYTES];
	char		buf[TG_TOKEN_TEXT_MAX];
	int			len;
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz expires = now + (TimestampTz) tg_session_ttl * USECS_PER_SEC;
	Oid			types[7] = {UUIDOID, UUIDOID, BYTEAOID, INT2OID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[7];
	pg_uuid_t	u = *user,
				t = *tenant;

	if (aal != 1 && aal != 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid assurance level %d", aal),
				 errhint("A session's aal is 1 (one factor) or 2 (with a second factor).")));
	if (method == NULL || !tg_method_valid(method))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid sign-in method"),
				 errhint("Use 1 to 32 lower-case letters, digits or \"_\", e.g. password, recovery_code, oidc.")));

	randombytes_buf(secret, sizeof(secret));
	len = tg_token_make(&tg_token_session, NULL, secret, buf, sizeof(buf));
	sodium_memzero(secret, sizeof(secret));
	if (len < 0)
		elog(ERROR, "tenantguard: could not format a session token");
	tg_token_hash(buf, (size_t) len, hash);

	values[0] = UUIDPGetDatum(&u);
	values[1] = UUIDPGetDatum(&t);
	values[2] = PointerGetDatum(tg_bytea(hash, sizeof(hash)));
	values[3] = Int16GetDatum((int16) aal);
	values[4] = CStringGetTextDatum(method);
	values[5] = TimestampTzGetDatum(now);
	values[6] = TimestampTzGetDatum(expires);
	(void) tg_sessions_sql("INSERT INTO tenantguard.sessions "
						   "(user_id, tenant_id, token_hash, aal, method, created_at, last_seen_at, expires_at) "
						   "VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
						   7, types, values, NULL, SPI_OK_INSERT, NULL, NULL);
	if (expires_at)
		*expires_at = expires;
	{
		char	   *token = pstrdup(buf);

		sodium_memzero(buf, sizeof(buf));
		return token;
	}
}

/* End a user's sessions (see sessions.h). */
int
tg_sessions_revoke_user(const pg_uuid_t *user, const pg_uuid_t *tenant_or_null,
						const char *reason)
{
	Oid			types[3] = {UUIDOID, UUIDOID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	pg_uuid_t	u = *user,
				t;

	values[0] = UUIDPGetDatum(&u);
	if (tenant_or_null)
	{
		t = *tenant_or_null;
		values[1] = UUIDPGetDatum(&t);
	}
	else
	{
		values[1] = (Datum) 0;
		nulls[1] = 'n';
	}
	values[2] = CStringGetTextDatum(reason ? reason : "revoked");
	return (int) tg_sessions_sql("UPDATE tenantguard.sessions "
								 "SET revoked_at = pg_catalog.now(), revoked_reason = $3 "
								 "WHERE user_id OPERATOR(pg_catalog.=) $1 "
								 "AND ($2 IS NULL OR tenant_id OPERATOR(pg_catalog.=) $2) "
								 "AND revoked_at IS NULL",
								 3, types, values, nulls, SPI_OK_UPDATE, NULL, NULL);
}

/* Record a refused resume (it survives the caller's rollback). */
static void
tg_resume_deny(const pg_uuid_t *tenant, const pg_uuid_t *session, const char *action,
			   const char *reason)
{
	TgActor		actor = *tg_actor_current();
	char		object[TG_UUID_TEXT_LEN + 1];

	if (tenant)
	{
		actor.has_tenant = true;
		actor.tenant = *tenant;
	}
	if (session)
		tg_uuid_format(session->data, object);
	tg_audit_deny(&actor, "context", action, session ? object : NULL, reason);
}

/*
 * The text argument as a session token: its shape and checksum, else
 * (recorded) 22023. Fills hash; the caller's copy of the text is wiped.
 */
static void
tg_session_token_arg(FunctionCallInfo fcinfo, const char *action, uint8 *hash)
{
	text	   *arg;
	char	   *token;
	size_t		len;
	uint8		secret[32];
	tg_token_status st;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("session token must not be null")));
	arg = PG_GETARG_TEXT_PP(0);
	len = VARSIZE_ANY_EXHDR(arg);
	token = VARDATA_ANY(arg);
	st = tg_token_parse(&tg_token_session, token, len, NULL, secret);
	sodium_memzero(secret, sizeof(secret));
	if (st != TG_TOKEN_OK)
	{
		tg_resume_deny(NULL, NULL, action,
					   st == TG_TOKEN_BAD_CHECKSUM ? "session token checksum mismatch" :
					   st == TG_TOKEN_WRONG_PREFIX ? "not a session token" : "malformed session token");
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed session token"),
				 errdetail("%s",
						   st == TG_TOKEN_BAD_CHECKSUM ?
						   "The token's checksum does not match: it was mistyped, altered or cut." :
						   st == TG_TOKEN_WRONG_PREFIX ?
						   "This is a token of another kind: session tokens start with \"tgses_\"." :
						   "A session token is \"tgses_\", 43 letters and digits, \"_\" and a 6-character checksum."),
				 errhint("Pass the session_token that tenantguard.login() returned, unchanged.")));
	}
	tg_token_hash(token, len, hash);
}

/* A refused resume: recorded, then 28000 with a sentence for the application. */
static void
tg_resume_refuse(const TgSessionRow *r, const char *reason, const char *detail)
{
	tg_resume_deny(r ? &r->tenant : NULL, r ? &r->id : NULL, "context.resume", reason);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("invalid session token"),
			 errdetail("%s", detail),
			 errhint("Sign in again with tenantguard.login().")));
}

static void
tg_read_refresh_count(void *arg)
{
	*(uint64 *) arg = SPI_processed;
}

/*
 * resume(session_token text, is_local boolean): enter the context of a
 * login session for the transaction (default) or the session.
 */
PG_FUNCTION_INFO_V1(tg_resume);

Datum
tg_resume(PG_FUNCTION_ARGS)
{
	bool		is_local = PG_ARGISNULL(1) ? true : PG_GETARG_BOOL(1);
	uint8		hash[crypto_hash_sha256_BYTES];
	uint64		generation;
	TgSessionRow r;
	TimestampTz now = GetCurrentStatementStartTimestamp();
	char		principal[TG_CTX_PRINCIPAL_MAX + 1];

	tg_session_token_arg(fcinfo, "context.resume", hash);
	generation = tg_sessions_generation;
	if (!tg_session_read(hash, NULL, &r) || sodium_memcmp(r.hash, hash, sizeof(hash)) != 0)
		tg_resume_refuse(NULL, "unknown session",
						 "No session has this token.");
	sodium_memzero(hash, sizeof(hash));
	if (r.revoked)
		tg_resume_refuse(&r, "session revoked", "The session has ended (logged out or revoked).");
	if (now >= r.expires_at)
		tg_resume_refuse(&r, "session expired", "The session has expired (tenantguard.session_ttl).");
	if (now - r.last_seen_at > (TimestampTz) tg_session_idle_timeout * USECS_PER_SEC)
		tg_resume_refuse(&r, "session idle",
						 "The session was idle for longer than tenantguard.session_idle_timeout.");
	if (!r.user_active)
		tg_resume_refuse(&r, "user disabled", "The session's user is disabled.");
	if (!r.has_membership)
		tg_resume_refuse(&r, "no membership", "The session's user is no longer a member of its tenant.");

	/*
	 * Idle time is counted from last_seen_at, written at most once a minute
	 * (not per request); not in read-only transactions, which cannot write.
	 * A logout committed meanwhile leaves no row to refresh: refused.
	 */
	if (now - r.last_seen_at >= (TimestampTz) TG_SESSION_REFRESH_SECS * USECS_PER_SEC &&
		!XactReadOnly && !RecoveryInProgress())
	{
		Oid			types[1] = {UUIDOID};
		Datum		values[1];
		uint64		n = 0;

		values[0] = UUIDPGetDatum(&r.id);
		(void) tg_sessions_sql("UPDATE tenantguard.sessions SET last_seen_at = pg_catalog.now() "
							   "WHERE id OPERATOR(pg_catalog.=) $1 AND revoked_at IS NULL",
							   1, types, values, NULL, SPI_OK_UPDATE, tg_read_refresh_count, &n);
		if (n == 0)
			tg_resume_refuse(&r, "session revoked", "The session has ended (logged out or revoked).");
	}

	tg_principal_of(&r.user, principal, sizeof(principal));
	tg_remember_verified(&r.id, &r.tenant, r.role, generation);
	tg_context_enter_session(&r.tenant, &r.id, principal, r.role, r.aal, r.expires_at, is_local);
	{
		TgAuditEvent ev;
		char		details[128];
		char		sid[TG_UUID_TEXT_LEN + 1];

		tg_uuid_format(r.id.data, sid);
		tg_event_init(&ev, tg_actor_current(), "context", "resume");
		ev.object = sid;
		snprintf(details, sizeof(details), "{\"aal\": %d, \"scope\": \"%s\"}",
				 r.aal, is_local ? "transaction" : "session");
		ev.details_json = details;
		tg_context_audit_entry(&ev, TG_ENTRY_SESSION);
	}
	PG_RETURN_VOID();
}

/* The row logout() ended. */
typedef struct TgEnded
{
	bool		found;
	pg_uuid_t	id;
	pg_uuid_t	user;
	pg_uuid_t	tenant;
} TgEnded;

static void
tg_read_ended(void *arg)
{
	TgEnded    *e = (TgEnded *) arg;
	bool		isnull;

	if (SPI_processed != 1)
		return;
	e->found = true;
	e->id = *DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	e->user = *DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	e->tenant = *DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
}

/*
 * logout(session_token text) RETURNS boolean: end the session (true), or
 * false when the token names no live session (unknown, already ended).
 */
PG_FUNCTION_INFO_V1(tg_logout);

Datum
tg_logout(PG_FUNCTION_ARGS)
{
	uint8		hash[crypto_hash_sha256_BYTES];
	Oid			types[1] = {BYTEAOID};
	Datum		values[1];
	TgEnded		e;

	tg_session_token_arg(fcinfo, "session.logout", hash);
	memset(&e, 0, sizeof(e));
	values[0] = PointerGetDatum(tg_bytea(hash, sizeof(hash)));
	sodium_memzero(hash, sizeof(hash));
	(void) tg_sessions_sql("UPDATE tenantguard.sessions "
						   "SET revoked_at = pg_catalog.now(), revoked_reason = 'logout' "
						   "WHERE token_hash OPERATOR(pg_catalog.=) $1 AND revoked_at IS NULL "
						   "AND expires_at OPERATOR(pg_catalog.>) pg_catalog.now() "
						   "RETURNING id, user_id, tenant_id",
						   1, types, values, NULL, SPI_OK_UPDATE_RETURNING, tg_read_ended, &e);
	if (e.found)
	{
		TgActor		actor = *tg_actor_current();
		TgAuditEvent ev;
		char		sid[TG_UUID_TEXT_LEN + 1];

		actor.has_tenant = true;
		actor.tenant = e.tenant;
		tg_principal_of(&e.user, actor.principal, sizeof(actor.principal));
		tg_uuid_format(e.id.data, sid);
		tg_event_init(&ev, &actor, "auth", "session.logout");
		ev.object = sid;
		(void) tg_audit_record(&ev);
	}
	PG_RETURN_BOOL(e.found);
}

/*
 * revoke_sessions(user_id uuid) RETURNS integer: administrators end every
 * session of the user; the user itself (a context resumed as user:<id>)
 * too; in a tenant, a context with members.manage ends the user's sessions
 * in that tenant. Returns how many were ended.
 */
PG_FUNCTION_INFO_V1(tg_revoke_sessions);

Datum
tg_revoke_sessions(PG_FUNCTION_ARGS)
{
	static TgAuthzSite *site = NULL;
	pg_uuid_t	user;
	Oid			admin = get_role_oid("tenantguard_admin", true);
	const TgEffectiveContext *ctx;
	const pg_uuid_t *tenant = NULL;
	char		principal[TG_CTX_PRINCIPAL_MAX + 1];
	char		uid[TG_UUID_TEXT_LEN + 1];
	int			n;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("user_id must not be null")));
	user = *PG_GETARG_UUID_P(0);
	tg_principal_of(&user, principal, sizeof(principal));
	tg_uuid_format(user.data, uid);
	ctx = tg_effective_context();

	if (OidIsValid(admin) && has_privs_of_role(GetUserId(), admin))
		tenant = NULL;
	else if (ctx != NULL && strcmp(ctx->principal, principal) == 0)
		tenant = NULL;
	else
	{
		if (site == NULL)
			site = tg_authz_site_new(TopMemoryContext);
		if (ctx == NULL || !tg_authz_allowed(site, "members.manage", strlen("members.manage"), "*", 1))
		{
			tg_audit_deny(tg_actor_current(), "auth", "session.revoke", uid, "permission denied");
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to revoke the sessions of user %s", uid),
					 errhint("Administrators (tenantguard_admin) may revoke any user's sessions; in a tenant, "
							 "a context with the members.manage permission may revoke them there; "
							 "a signed-in user may revoke its own.")));
		}
		tenant = &ctx->tenant;
	}
	n = tg_sessions_revoke_user(&user, tenant, "revoke_sessions");
	{
		TgAuditEvent ev;
		char		details[128];
		char		tid[TG_UUID_TEXT_LEN + 1];

		if (tenant)
			tg_uuid_format(tenant->data, tid);
		tg_event_init(&ev, tg_actor_current(), "auth", "session.revoke");
		ev.object = uid;
		if (tenant)
			snprintf(details, sizeof(details), "{\"sessions\": %d, \"tenant\": \"%s\"}", n, tid);
		else
			snprintf(details, sizeof(details), "{\"sessions\": %d, \"tenant\": null}", n);
		ev.details_json = details;
		(void) tg_audit_record(&ev);
	}
	PG_RETURN_INT32(n);
}

/*
 * _create_session(user uuid, tenant uuid, aal int, method text)
 * RETURNS TABLE(token text, expires_at timestamptz): the C API for SQL,
 * owner-only (never granted): login() and the tests.
 */
PG_FUNCTION_INFO_V1(tg_create_session_fn);

Datum
tg_create_session_fn(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	TimestampTz expires;
	char	   *token;
	int			i;

	for (i = 0; i < 4; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("user, tenant, aal and method must not be null")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "_create_session must return a composite type");
	tupdesc = BlessTupleDesc(tupdesc);
	token = tg_session_create(PG_GETARG_UUID_P(0), PG_GETARG_UUID_P(1), PG_GETARG_INT32(2),
							  text_to_cstring(PG_GETARG_TEXT_PP(3)), &expires);
	values[0] = CStringGetTextDatum(token);
	values[1] = TimestampTzGetDatum(expires);
	sodium_memzero(token, strlen(token));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

void
tg_sessions_init(void)
{
	DefineCustomIntVariable("tenantguard.session_ttl",
							"Absolute lifetime of a login session.",
							NULL,
							&tg_session_ttl,
							12 * 3600, 60, 30 * 86400,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("tenantguard.session_idle_timeout",
							"A login session ends after this long without resume().",
							"Idle time is counted from the last refresh, which resume() writes at most once a minute.",
							&tg_session_idle_timeout,
							30 * 60, 1, 30 * 86400,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);
	tg_relcache_hub_register(tg_sessions_relcache);
	tg_context_register_session_check(tg_session_still_holds);
}
