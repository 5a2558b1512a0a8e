/*
 * context.c — the tenant context: the setting that carries it, its read-only
 * mirrors, entry and clearing, and the SQL functions that read it.
 *
 * The one setting that holds state is tenantguard.context. Its value is the
 * serialized context (see core/context_value.h), written only by
 * tenantguard's own functions; the GUC machinery then gives transaction and
 * session scope, rollback, RESET ALL and DISCARD ALL for free, and carries
 * the value into parallel workers. tenantguard.tenant and
 * tenantguard.principal are read-only mirrors computed by show hooks.
 *
 * A signed context token is the other value the setting accepts: the check
 * hook verifies it (token_keys.c) and keeps what it says, its claims and its
 * key in the parsed value; the raw token stays in the setting (so parallel
 * workers re-verify the same value) and is never shown. Such a context ends
 * when the token expires or its key is retired, and a token set for the
 * session other than by assume(token, false) never takes effect: the assign
 * hook sees from the setting's GUC stack whether the value is transaction-
 * or session-level, and the commit of a transaction that leaves such a
 * value for the session fails.
 *
 * Layer 4: uses the caches (which tell it when bindings or tenants change,
 * through the listener it registers), token verification and the event
 * store.
 */
#include "postgres.h"

#include <string.h>

#include "access/parallel.h"
#include "access/xact.h"
#include "nodes/parsenodes.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/inval.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "core/uuid_text.h"
#include "audit_queue.h"
#include "cache.h"
#include "context.h"
#include "event_store.h"
#include "relcache_hub.h"
#include "tenantguard.h"
#include "token_keys.h"

/* Parsed value of tenantguard.context, owned by the GUC machinery (one malloc'ed block). */
typedef struct TgContextExtra
{
	bool		has;
	tg_context_value value;
	bool		from_token;
	bool		classified;		/* scope of a token value determined (first assignment) */
	bool		session_allowed;	/* entered by assume(token, false) */
	bool		session_refused;	/* set for the session otherwise: never in force */
	char		kid[TG_JWT_KID_MAX + 1];
	size_t		claims_len;
	char		claims[FLEXIBLE_ARRAY_MEMBER];	/* the token's payload JSON, NUL-terminated */
} TgContextExtra;

/* tenantguard.context's own GUC record, to read its stack in the assign hook. */
static struct config_generic *tg_context_gconf = NULL;

/* Bumped at every assignment of tenantguard.context (for caches of what a value says). */
static uint64 tg_context_serial = 0;

/* True only while assume(token, false) assigns tenantguard.context. */
static bool tg_assume_session = false;

/* The key generation a token context was last checked against; the statement it was. */
static uint64 tg_effective_key_generation = 0;

/* Login sessions: their check (sessions.c), and the generation of what it looked at. */
static TgSessionCheck tg_session_check = NULL;
static uint64 tg_sessions_generation = 1;
static uint64 tg_effective_sessions_generation = 0;

static char *tg_context_raw = NULL;
static char *tg_tenant_mirror = NULL;
static char *tg_principal_mirror = NULL;
static TgContextExtra *tg_context_state = NULL;

/* True only while tenantguard itself assigns tenantguard.context. */
static bool tg_internal_set = false;

/* The effective context, recomputed after any change that may affect it. */
static TgEffectiveContext tg_effective;
static bool tg_effective_valid = false;
static Oid	tg_effective_session_user = InvalidOid;
static Oid	tg_effective_outer_user = InvalidOid;

/* Record a refused context entry; it survives the caller's rollback. */
static void
tg_refuse_entry(const pg_uuid_t *tenant, const char *action, const char *reason)
{
	TgActor		actor = *tg_actor_current();

	if (tenant)
	{
		actor.has_tenant = true;
		actor.tenant = *tenant;
	}
	tg_audit_deny(&actor, "context", action, NULL, reason);
}

/* Why entering a tenant is refused (tg_entry_refused). */
typedef struct TgEntryRefusal
{
	int			sqlstate;
	bool		with_tenant;	/* the refusal event names the tenant */
	const char *reason;			/* for the audit event */
	char		message[160];
	char		hint[160];
} TgEntryRefusal;

const char *const tg_enter_hint =
"Enter a tenant first: tenantguard.set_tenant(tenant) for administrators, "
"tenantguard.assume(token) or SET LOCAL tenantguard.context = '<signed token>' for applications, "
"tenantguard.resume(session_token) for signed-in users, tenantguard.agent_login(...) for agents, "
"or connect as a role bound with tenantguard.bind_role().";

/* Upper layers' listeners, told whenever the context may have changed. */
#define TG_MAX_CONTEXT_LISTENERS 4
static void (*tg_context_listeners[TG_MAX_CONTEXT_LISTENERS]) (void);
static int	tg_n_context_listeners = 0;

void
tg_context_register_change_listener(void (*listener) (void))
{
	if (tg_n_context_listeners >= TG_MAX_CONTEXT_LISTENERS)
		elog(ERROR, "too many tenantguard context listeners");
	tg_context_listeners[tg_n_context_listeners++] = listener;
}

/* The effective context may differ from now on; must not fail or read catalogs. */
static void
tg_context_changed(void)
{
	int			i;

	tg_effective_valid = false;
	for (i = 0; i < tg_n_context_listeners; i++)
		tg_context_listeners[i] ();
}

/* The caches changed: recompute the effective context on next use. */
static void
tg_context_invalidate(void)
{
	tg_context_changed();
}

static bool tg_entry_refused(const pg_uuid_t *tenant, TgEntryRefusal *r);

void
tg_context_register_session_check(TgSessionCheck check)
{
	tg_session_check = check;
}

/* Sessions, users or memberships changed: session contexts are checked again. */
void
tg_context_sessions_changed(void)
{
	tg_sessions_generation++;
}

/* Is the value in force one that must see other backends' changes per statement? */
static inline bool
tg_context_watched(void)
{
	return tg_context_state != NULL &&
		(tg_context_state->from_token || tg_context_state->value.has_session);
}

/* A refused token: recorded (unless only validated) and reported as 28000. */
static bool
tg_token_refused(bool record, int sqlstate, const char *detail, const char *reason)
{
	if (record)
		tg_refuse_entry(NULL, "context.token", reason);
	GUC_check_errcode(sqlstate);
	GUC_check_errmsg("invalid context token");
	if (detail)
		GUC_check_errdetail("%s", detail);
	GUC_check_errhint("tenantguard.context accepts only a valid signed context token: "
					  "SET LOCAL tenantguard.context = '<token>' or tenantguard.assume(token).");
	return false;
}

/*
 * Verify a signed context token for tenantguard.context and parse it into
 * extra. Side effects (the jti's single use, audit events) only when the
 * value is really being set: not when a parallel worker restores its
 * leader's value.
 */
static bool
tg_context_check_token(const char *v, size_t len, void **extra, GucSource source)
{
	bool		real = !InitializingParallelWorker;
	TgTokenInfo info;
	TgTokenRefusal refusal;
	TgEntryRefusal er;
	TgContextExtra *ex;

	/*
	 * PGC_S_TEST: validating a value to store in the catalog (a function's
	 * SET clause, SET ... FROM CURRENT, ALTER ROLE/DATABASE ... SET), where
	 * everyone could read the token. Never.
	 */
	if (source == PGC_S_TEST)
		return tg_token_refused(false, ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
								"A signed context token cannot be stored in a function's, role's or database's settings.",
								"token in stored settings");
	if (!IsTransactionState())
		return tg_token_refused(false, ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
								"A signed context token can only be entered inside a transaction.",
								"token outside a transaction");
	if (!tg_token_verify(v, len, real, &info, &refusal))
		return tg_token_refused(real, refusal.sqlstate, refusal.detail, refusal.reason);
	if (tg_entry_refused(&info.tenant, &er))
	{
		if (er.sqlstate == ERRCODE_UNDEFINED_OBJECT)
			return tg_token_refused(real, ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
									"The token's tenant (tid) does not exist.", er.reason);
		if (real)
			tg_refuse_entry(er.with_tenant ? &info.tenant : NULL, "context.token", er.reason);
		GUC_check_errcode(er.sqlstate);
		GUC_check_errmsg("%s", er.message);
		if (er.hint[0])
			GUC_check_errhint("%s", er.hint);
		return false;
	}

	ex = (TgContextExtra *) malloc(offsetof(TgContextExtra, claims) + info.claims_len + 1);
	if (ex == NULL)
		return false;
	memset(ex, 0, offsetof(TgContextExtra, claims));
	ex->has = true;
	ex->from_token = true;
	ex->session_allowed = tg_assume_session;
	memcpy(ex->value.tenant, info.tenant.data, UUID_LEN);
	ex->value.scope = TG_SCOPE_TRANSACTION;
	ex->value.expires = (int64_t) info.not_after;
	ex->value.aal = 1;
	strlcpy(ex->value.role, info.role, sizeof(ex->value.role));
	strlcpy(ex->value.principal, info.principal, sizeof(ex->value.principal));
	strlcpy(ex->kid, info.kid, sizeof(ex->kid));
	ex->claims_len = info.claims_len;
	memcpy(ex->claims, info.claims_json, info.claims_len);
	ex->claims[info.claims_len] = '\0';
	*extra = ex;

	if (real)
	{
		TgActor		actor = *tg_actor_current();
		TgAuditEvent ev;
		char		details[TG_JWT_KID_MAX + 64];

		actor.has_tenant = true;
		actor.tenant = info.tenant;
		strlcpy(actor.principal, info.principal, sizeof(actor.principal));
		tg_event_init(&ev, &actor, "context", "assume");
		snprintf(details, sizeof(details), "{\"kid\": \"%s\"}", info.kid);
		ev.details_json = details;
		tg_context_audit_entry(&ev, TG_ENTRY_TOKEN);
	}
	return true;
}

/* Validate a new value of tenantguard.context and parse it into extra. */
static bool
tg_context_check(char **newval, void **extra, GucSource source)
{
	TgContextExtra *ex;
	const char *v = *newval;
	size_t		len = v ? strlen(v) : 0;

	ex = (TgContextExtra *) malloc(sizeof(TgContextExtra));
	if (ex == NULL)
		return false;
	memset(ex, 0, sizeof(*ex));

	if (len == 0)
	{
		*extra = ex;
		return true;
	}

	if (tg_ctx_is_internal(v, len))
	{
		if (!(tg_internal_set || InitializingParallelWorker))
		{
			free(ex);
			tg_refuse_entry(NULL, "context.set", "tenant context cannot be set directly");
			GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
			GUC_check_errmsg("tenant context cannot be set directly");
			GUC_check_errhint("%s", tg_enter_hint);
			return false;
		}
		if (!tg_ctx_parse(v, len, &ex->value))
		{
			free(ex);
			GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
			GUC_check_errmsg("malformed tenant context value");
			return false;
		}
		ex->has = true;
		*extra = ex;
		return true;
	}

	/* Anything else must be a signed context token. */
	free(ex);
	return tg_context_check_token(v, len, extra, source);
}

/*
 * Context entries: one audit event per entry, written so that entering a
 * tenant never turns a read-only transaction into a write transaction and
 * the event survives the caller's rollback (see tg_context_audit_entry).
 */
static bool tg_audit_context_entries = false;

/* An entry's event, kept until its transaction ends; strings copied into it. */
typedef struct TgPendingEntry
{
	TgAuditEvent ev;
	char		category[16];
	char		action[64];
	char		object[256];
	char		reason[256];
	char		details[1024];
	char		appname[NAMEDATALEN];
} TgPendingEntry;

#define TG_MAX_PENDING_ENTRIES 4
static TgPendingEntry tg_pending[TG_MAX_PENDING_ENTRIES];
static int	tg_n_pending = 0;
static bool tg_entry_callback = false;

static const char *
tg_keep(char *dst, size_t size, const char *src)
{
	if (src == NULL)
		return NULL;
	strlcpy(dst, src, size);
	return dst;
}

/*
 * Write an entry's event at the end of (or during) a read-write transaction
 * that is about to commit: in the transaction when it has a transaction id
 * anyway (it wrote something: the event then shares its txid and commits
 * with it), else through the queue; with no room in the queue, in the
 * transaction after all, which then becomes a write transaction.
 */
static void
tg_entry_write(const TgAuditEvent *ev, bool at_commit)
{
	if (FullTransactionIdIsValid(GetTopFullTransactionIdIfAny()) ||
		!tg_audit_enqueue_if_room(ev))
	{
		(void) tg_audit_record(ev);
		/* perhaps opened after the event store closed it for the commit: close it */
		if (at_commit)
			tg_events_release();
	}
}

/* The event of a pending entry, pointing into the entry's own copies. */
static TgAuditEvent
tg_pending_event(TgPendingEntry *p)
{
	TgAuditEvent ev = p->ev;

	ev.category = p->category;
	ev.action = p->action;
	ev.object = ev.object ? p->object : NULL;
	ev.reason = ev.reason ? p->reason : NULL;
	ev.details_json = ev.details_json ? p->details : NULL;
	ev.application_name = p->appname;
	return ev;
}

static void
tg_entry_xact_callback(XactEvent event, void *arg)
{
	TgPendingEntry pending[TG_MAX_PENDING_ENTRIES];
	int			n = tg_n_pending,
				i;

	if (n == 0)
		return;
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			/* taken off first: an error here aborts, and must not record them twice */
			memcpy(pending, tg_pending, sizeof(TgPendingEntry) * n);
			tg_n_pending = 0;
			for (i = 0; i < n; i++)
			{
				TgAuditEvent ev = tg_pending_event(&pending[i]);

				tg_entry_write(&ev, true);
			}
			break;
		case XACT_EVENT_ABORT:
			/* the rolled-back transaction's entries: through the queue, which survives */
			for (i = 0; i < n; i++)
			{
				TgAuditEvent ev = tg_pending_event(&tg_pending[i]);

				(void) tg_audit_enqueue(&ev);
			}
			tg_n_pending = 0;
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PREPARE:
			tg_n_pending = 0;
			break;
		default:
			break;
	}
}

/*
 * Record a context entry (see context.h). The event keeps the entry's time,
 * actor and application_name. In a read-only transaction (and on a
 * standby) it goes straight to the queue: 53400 when there is no room, so
 * that no entry goes unaudited. In a read-write transaction it waits for the
 * transaction's end: at commit it is written in the transaction if that
 * wrote anything, else queued; at rollback it is queued.
 */
void
tg_context_audit_entry(TgAuditEvent *ev, TgEntryKind kind)
{
	TgPendingEntry *p;

	if (kind != TG_ENTRY_ADMIN && !tg_audit_context_entries)
		return;
	ev->occurred_at = GetCurrentTimestamp();
	if (ev->application_name == NULL)
		ev->application_name = application_name ? application_name : "";
	if (XactReadOnly || IsInParallelMode())
	{
		(void) tg_audit_record(ev);
		return;
	}
	if (!tg_entry_callback)
	{
		RegisterXactCallback(tg_entry_xact_callback, NULL);
		tg_entry_callback = true;
	}
	if (tg_n_pending == TG_MAX_PENDING_ENTRIES)
	{
		/* many entries in one transaction: the oldest is written now */
		TgAuditEvent first = tg_pending_event(&tg_pending[0]);

		tg_entry_write(&first, false);
		memmove(&tg_pending[0], &tg_pending[1], sizeof(TgPendingEntry) * (TG_MAX_PENDING_ENTRIES - 1));
		tg_n_pending--;
	}
	p = &tg_pending[tg_n_pending];
	memset(p, 0, sizeof(*p));
	p->ev = *ev;
	p->ev.category = tg_keep(p->category, sizeof(p->category), ev->category);
	p->ev.action = tg_keep(p->action, sizeof(p->action), ev->action);
	p->ev.object = tg_keep(p->object, sizeof(p->object), ev->object);
	p->ev.reason = tg_keep(p->reason, sizeof(p->reason), ev->reason);
	p->ev.details_json = tg_keep(p->details, sizeof(p->details), ev->details_json);
	p->ev.application_name = tg_keep(p->appname, sizeof(p->appname), ev->application_name);
	tg_n_pending++;
}

/* ERROR: a token set for the session (SET, set_config(…, false)). */
static void
tg_refuse_session_token(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("a signed context token cannot be set for the session"),
			 errdetail("Behind a transaction pooler a session-level value would pass to the next client."),
			 errhint("Use SET LOCAL tenantguard.context = '<token>' inside a transaction, "
					 "or tenantguard.assume(token, false) for a session-long context.")));
}

/*
 * A token left as the session's value at commit (set for the session other
 * than by assume(token, false)): refuse the commit, which restores the
 * value the setting had.
 */
static void
tg_token_commit_callback(XactEvent event, void *arg)
{
	if (event != XACT_EVENT_PRE_COMMIT && event != XACT_EVENT_PRE_PREPARE)
		return;
	if (tg_context_state && tg_context_state->from_token && tg_context_state->session_refused)
		tg_refuse_session_token();
}

/*
 * Is the value just assigned to tenantguard.context session-level? Called
 * from the assign hook of a new value, after the GUC machinery pushed the
 * previous value: the top of the stack says how it was set (no stack
 * outside a transaction, GUC_SET for SET/set_config(…, false)).
 */
static bool
tg_context_set_for_session(void)
{
	GucStack   *st = tg_context_gconf ? tg_context_gconf->stack : NULL;

	return st == NULL || st->state == GUC_SET;
}

static void
tg_context_assign(const char *newval, void *extra)
{
	TgContextExtra *ex = (TgContextExtra *) extra;

	if (ex != NULL && ex->from_token && !ex->classified)
	{
		static bool callback = false;

		ex->classified = true;
		if (!InitializingParallelWorker && tg_context_set_for_session())
		{
			ex->value.scope = TG_SCOPE_SESSION;
			if (!ex->session_allowed)
			{
				ex->session_refused = true;
				if (!callback)
				{
					RegisterXactCallback(tg_token_commit_callback, NULL);
					callback = true;
				}
			}
		}
	}
	tg_context_state = ex;
	tg_context_serial++;
	tg_context_changed();
}

/* Never show the stored value; say whether a context is set. */
static const char *
tg_context_show(void)
{
	return (tg_context_state && tg_context_state->has) ? "[set]" : "";
}

/* The mirrors accept only their empty boot value. */
static bool
tg_mirror_check(char **newval, void **extra, GucSource source)
{
	if (source == PGC_S_DEFAULT || InitializingParallelWorker)
		return true;
	tg_refuse_entry(NULL, "context.set", "tenant context settings are read-only");
	GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
	GUC_check_errmsg("tenant context settings are read-only");
	GUC_check_errhint("%s", tg_enter_hint);
	return false;
}

static const char *
tg_tenant_show(void)
{
	static char buf[UUID_LEN * 2 + 5];
	const TgEffectiveContext *c;

	if (!IsTransactionState())
		return "";
	c = tg_effective_context();
	if (c == NULL)
		return "";
	tg_uuid_format(c->tenant.data, buf);
	return buf;
}

static const char *
tg_principal_show(void)
{
	static char buf[TG_CTX_PRINCIPAL_MAX + 1];
	const TgEffectiveContext *c;

	if (!IsTransactionState())
		return "";
	c = tg_effective_context();
	if (c == NULL)
		return "";
	strlcpy(buf, c->principal, sizeof(buf));
	return buf;
}

/* The context settings; the cache tells the context when bindings change. */
void
tg_context_init(void)
{
	tg_cache_register_listener(tg_context_invalidate);

	DefineCustomStringVariable("tenantguard.context",
							   "The tenant context: accepts a signed context token.",
							   "Set only by tenantguard's functions or to a valid signed token; reading it never shows the value.",
							   &tg_context_raw,
							   "",
							   PGC_USERSET,
							   GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE,
							   tg_context_check, tg_context_assign, tg_context_show);

	{
		struct config_generic **vars = get_guc_variables();
		int			n = GetNumConfigOptions(),
					i;

		for (i = 0; i < n; i++)
			if (strcmp(vars[i]->name, "tenantguard.context") == 0)
				tg_context_gconf = vars[i];
		if (tg_context_gconf == NULL)
			elog(ERROR, "tenantguard.context is not defined");
	}

	DefineCustomBoolVariable("tenantguard.audit_context_entries",
							 "Record every successful context entry with a signed context token.",
							 "Off: token entries are not recorded per transaction (refusals always are, "
							 "and so are administrators' set_tenant()).",
							 &tg_audit_context_entries,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("tenantguard.tenant",
							   "The current tenant (read-only).",
							   NULL,
							   &tg_tenant_mirror,
							   "",
							   PGC_USERSET,
							   GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE,
							   tg_mirror_check, NULL, tg_tenant_show);

	DefineCustomStringVariable("tenantguard.principal",
							   "The current principal (read-only).",
							   NULL,
							   &tg_principal_mirror,
							   "",
							   PGC_USERSET,
							   GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE,
							   tg_mirror_check, NULL, tg_principal_show);
}

/* Fill dst from a binding; false when the bound tenant cannot be entered. */
static bool
tg_effective_from_binding(const TgBinding *b, TgEffectiveContext *dst)
{
	char	   *name;

	if (tg_lookup_tenant(&b->tenant, NULL) != TG_TENANT_ACTIVE)
		return false;
	name = GetUserNameFromId(b->role, true);
	if (name == NULL)
		return false;
	dst->has = true;
	dst->tenant = b->tenant;
	dst->scope = TG_SCOPE_BOUND;
	dst->expires = 0;
	dst->aal = 1;
	strlcpy(dst->role, b->tenant_role, sizeof(dst->role));
	snprintf(dst->principal, sizeof(dst->principal), "role:%s", name);
	pfree(name);
	return true;
}

/* Recompute the effective context from the setting and role bindings. */
static void
tg_effective_recompute(void)
{
	TgBinding	binding;
	bool		bound = false;
	Oid			session_user = GetSessionUserId();
	Oid			outer_user = GetOuterUserId();

	memset(&tg_effective, 0, sizeof(tg_effective));

	/*
	 * Valid from here on: the lookups below may process invalidations, and
	 * one arriving meanwhile must leave the result invalid for next time.
	 */
	tg_effective_session_user = session_user;
	tg_effective_outer_user = outer_user;
	tg_effective_valid = true;

	if (tg_extension_present())
	{
		bound = tg_lookup_binding(session_user, &binding);
		if (!bound && outer_user != session_user)
			bound = tg_lookup_binding(outer_user, &binding);
	}

	tg_effective_key_generation = tg_token_keys_generation;
	tg_effective_sessions_generation = tg_sessions_generation;
	if (tg_context_state && tg_context_state->has &&
		(!bound || memcmp(binding.tenant.data, tg_context_state->value.tenant, UUID_LEN) == 0) &&
		!(tg_context_state->from_token &&
		  (tg_context_state->session_refused || !tg_signing_key_active(tg_context_state->kid))))
	{
		const tg_context_value *v = &tg_context_state->value;

		tg_effective.has = true;
		memcpy(tg_effective.tenant.data, v->tenant, UUID_LEN);
		tg_effective.scope = v->scope;
		tg_effective.expires = (TimestampTz) v->expires;
		tg_effective.aal = v->aal;
		tg_effective.has_session = v->has_session;
		memcpy(tg_effective.session.data, v->session, UUID_LEN);
		strlcpy(tg_effective.role, v->role, sizeof(tg_effective.role));
		strlcpy(tg_effective.principal, v->principal, sizeof(tg_effective.principal));

		/* a session that no longer holds: no context (a binding still applies) */
		if (v->has_session && (tg_session_check == NULL || !tg_session_check(&tg_effective)))
		{
			memset(&tg_effective, 0, sizeof(tg_effective));
			if (bound)
				(void) tg_effective_from_binding(&binding, &tg_effective);
		}
	}
	else if (bound)
		(void) tg_effective_from_binding(&binding, &tg_effective);
}

/* The context in force, or NULL when there is none (fail closed). */
const TgEffectiveContext *
tg_effective_context(void)
{
	/*
	 * A token context ends at the next statement once its key is retired in
	 * any backend, a session context once its session is revoked (or its
	 * user disabled, its membership changed): take in other backends'
	 * invalidations once per statement while such a context is set.
	 */
	if (tg_context_watched())
		tg_accept_invalidations_per_statement();
	if (!tg_effective_valid ||
		(tg_context_state && tg_context_state->from_token &&
		 tg_effective_key_generation != tg_token_keys_generation) ||
		(tg_context_state && tg_context_state->value.has_session &&
		 tg_effective_sessions_generation != tg_sessions_generation) ||
		tg_effective_session_user != GetSessionUserId() ||
		tg_effective_outer_user != GetOuterUserId())
		tg_effective_recompute();

	if (!tg_effective.has)
		return NULL;
	if (tg_effective.expires != 0 &&
		GetCurrentStatementStartTimestamp() > tg_effective.expires)
		return NULL;
	return &tg_effective;
}

/*
 * May tenant be entered now? The tenant must exist and be active, a bound
 * role stays in its tenant, and a set context is locked. True (refused)
 * with r filled in, else false.
 */
static bool
tg_entry_refused(const pg_uuid_t *tenant, TgEntryRefusal *r)
{
	TgBinding	binding;
	Oid			session_user = GetSessionUserId();
	Oid			outer_user = GetOuterUserId();
	bool		bound;
	char		want[TG_UUID_TEXT_LEN + 1];
	char	   *slug = NULL;

	memset(r, 0, sizeof(*r));
	tg_uuid_format(tenant->data, want);

	switch (tg_lookup_tenant(tenant, &slug))
	{
		case TG_TENANT_UNKNOWN:
			r->sqlstate = ERRCODE_UNDEFINED_OBJECT;
			r->reason = "tenant does not exist";
			snprintf(r->message, sizeof(r->message), "tenant %s does not exist", want);
			return true;
		case TG_TENANT_SUSPENDED:
			r->sqlstate = ERRCODE_INSUFFICIENT_PRIVILEGE;
			r->with_tenant = true;
			r->reason = "tenant is suspended";
			snprintf(r->message, sizeof(r->message), "tenant \"%s\" is suspended", slug ? slug : want);
			strlcpy(r->hint, "An administrator can reactivate it with tenantguard.activate_tenant().", sizeof(r->hint));
			return true;
		case TG_TENANT_ACTIVE:
			break;
	}

	bound = tg_lookup_binding(session_user, &binding);
	if (!bound && outer_user != session_user)
		bound = tg_lookup_binding(outer_user, &binding);
	if (bound && memcmp(binding.tenant.data, tenant->data, UUID_LEN) != 0)
	{
		char	   *name = GetUserNameFromId(binding.role, true);

		r->sqlstate = ERRCODE_INSUFFICIENT_PRIVILEGE;
		r->with_tenant = true;
		r->reason = "role is bound to another tenant";
		snprintf(r->message, sizeof(r->message), "role \"%s\" is bound to another tenant", name ? name : "?");
		strlcpy(r->hint, "A bound role can only ever act in its own tenant; connect as another role.", sizeof(r->hint));
		return true;
	}

	if (tg_context_state && tg_context_state->has && !tg_context_state->session_refused &&
		memcmp(tg_context_state->value.tenant, tenant->data, UUID_LEN) != 0)
	{
		r->sqlstate = ERRCODE_INSUFFICIENT_PRIVILEGE;
		r->with_tenant = true;
		r->reason = "tenant context is locked to another tenant";
		strlcpy(r->message, "tenant context is locked to another tenant", sizeof(r->message));
		snprintf(r->hint, sizeof(r->hint), "Call tenantguard.clear_context() first, or end the %s.",
				 tg_context_state->value.scope == TG_SCOPE_SESSION ? "session" : "transaction");
		return true;
	}
	return false;
}

/* Refuse (ERROR, recorded) to enter tenant unless tg_entry_refused allows it. */
static void
tg_context_check_entry(const pg_uuid_t *tenant)
{
	TgEntryRefusal r;

	if (!tg_entry_refused(tenant, &r))
		return;
	tg_refuse_entry(r.with_tenant ? tenant : NULL, "context.enter", r.reason);
	ereport(ERROR,
			(errcode(r.sqlstate),
			 errmsg("%s", r.message),
			 r.hint[0] ? errhint("%s", r.hint) : 0));
}

/* Assign tenantguard.context from a validated value. */
/* Write a context value into tenantguard.context, as tenantguard itself. */
static void
tg_context_assign_value(const tg_context_value *v, GucAction action)
{
	char		buf[TG_CTX_TEXT_MAX];

	if (tg_ctx_format(v, buf, sizeof(buf)) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid tenant context")));
	tg_internal_set = true;
	PG_TRY();
	{
		(void) set_config_option("tenantguard.context", buf,
								 PGC_USERSET, PGC_S_SESSION,
								 action, true, 0, false);
	}
	PG_FINALLY();
	{
		tg_internal_set = false;
	}
	PG_END_TRY();
	explicit_bzero(buf, sizeof(buf));
}

static void
tg_context_enter(const tg_context_value *value, bool is_local)
{
	tg_context_value v = *value;

	v.scope = is_local ? TG_SCOPE_TRANSACTION : TG_SCOPE_SESSION;
	tg_context_assign_value(&v, is_local ? GUC_ACTION_LOCAL : GUC_ACTION_SET);
}

/* Enter a verified login session's context (see context.h). */
void
tg_context_enter_session(const pg_uuid_t *tenant, const pg_uuid_t *session,
						 const char *principal, const char *role, int aal,
						 TimestampTz expires, bool is_local)
{
	tg_context_value v;

	tg_context_check_entry(tenant);
	memset(&v, 0, sizeof(v));
	memcpy(v.tenant, tenant->data, UUID_LEN);
	v.expires = (int64_t) expires;
	v.aal = aal;
	v.has_session = true;
	memcpy(v.session, session->data, UUID_LEN);
	strlcpy(v.role, role, sizeof(v.role));
	strlcpy(v.principal, principal, sizeof(v.principal));
	tg_context_enter(&v, is_local);
}

/*
 * Enter tenant for the current GUC nest level only, for tenantguard's own
 * maintenance code (reencrypt() visits each tenant's rows as the table's
 * owner): the caller opened the level with NewGUCNestLevel() and ends it
 * with AtEOXact_GUC(), which restores the context it had. The principal and
 * role are the caller's when it has a context, else admin:<session user>.
 */
void
tg_context_enter_nested(const pg_uuid_t *tenant)
{
	const TgEffectiveContext *cur = tg_effective_context();
	tg_context_value v;

	memset(&v, 0, sizeof(v));
	memcpy(v.tenant, tenant->data, UUID_LEN);
	v.scope = TG_SCOPE_TRANSACTION;
	v.aal = 1;
	if (cur != NULL)
	{
		v.aal = cur->aal;
		strlcpy(v.role, cur->role, sizeof(v.role));
		strlcpy(v.principal, cur->principal, sizeof(v.principal));
	}
	else
	{
		char	   *who = GetUserNameFromId(GetSessionUserId(), false);

		strlcpy(v.role, "admin", sizeof(v.role));
		snprintf(v.principal, sizeof(v.principal), "admin:%s", who);
	}
	tg_context_assign_value(&v, GUC_ACTION_SAVE);
}

/* Who is acting now (see context.h). */
const TgActor *
tg_actor_current(void)
{
	static TgActor actor;
	const TgEffectiveContext *c;

	tg_actor_session(&actor);
	if (!IsTransactionState())
		return &actor;
	c = tg_effective_context();
	if (c != NULL)
	{
		actor.has_tenant = true;
		actor.tenant = c->tenant;
		strlcpy(actor.principal, c->principal, sizeof(actor.principal));
	}
	return &actor;
}

/* RESET of a read-only mirror resets the context it mirrors (from the utility hook). */
void
tg_context_utility(Node *parsetree)
{
	VariableSetStmt *vs;

	if (!IsA(parsetree, VariableSetStmt))
		return;
	vs = (VariableSetStmt *) parsetree;
	if ((vs->kind != VAR_RESET && vs->kind != VAR_SET_DEFAULT) || vs->name == NULL)
		return;
	if (strcmp(vs->name, "tenantguard.tenant") == 0 ||
		strcmp(vs->name, "tenantguard.principal") == 0)
		(void) set_config_option("tenantguard.context", NULL,
								 PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SET, true, 0, false);
}

/*
 * After a utility statement (from the utility hook): a SET of a signed token
 * for the session is refused at once; the error aborts the transaction,
 * which restores the setting's previous value.
 */
void
tg_context_utility_done(Node *parsetree)
{
	if (!IsA(parsetree, VariableSetStmt) ||
		((VariableSetStmt *) parsetree)->name == NULL ||
		strcmp(((VariableSetStmt *) parsetree)->name, "tenantguard.context") != 0)
		return;
	if (tg_context_state && tg_context_state->from_token && tg_context_state->session_refused)
	{
		tg_refuse_entry(NULL, "context.token", "token set for the session");
		tg_refuse_session_token();
	}
}

PG_FUNCTION_INFO_V1(tg_set_tenant);

/* set_tenant(tenant uuid, is_local boolean): administrators enter a tenant. */
Datum
tg_set_tenant(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *tenant;
	bool		is_local;
	tg_context_value v;
	char	   *who;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("tenant must not be null")));
	tenant = PG_GETARG_UUID_P(0);
	is_local = PG_ARGISNULL(1) ? true : PG_GETARG_BOOL(1);

	tg_context_check_entry(tenant);

	memset(&v, 0, sizeof(v));
	memcpy(v.tenant, tenant->data, UUID_LEN);
	v.aal = 1;
	strlcpy(v.role, "admin", sizeof(v.role));
	who = GetUserNameFromId(GetSessionUserId(), false);
	snprintf(v.principal, sizeof(v.principal), "admin:%s", who);
	tg_context_enter(&v, is_local);
	{
		TgAuditEvent ev;

		tg_event_init(&ev, tg_actor_current(), "context", "set_tenant");
		ev.details_json = is_local ? "{\"scope\": \"transaction\"}" : "{\"scope\": \"session\"}";
		tg_context_audit_entry(&ev, TG_ENTRY_ADMIN);
	}
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(tg_clear_context);

/* clear_context(): leave the current tenant (a bound role stays bound). */
Datum
tg_clear_context(PG_FUNCTION_ARGS)
{
	(void) set_config_option("tenantguard.context", "",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SET, true, 0, false);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(tg_assume);

/*
 * assume(token text, is_local boolean): enter the context a signed token
 * carries, for the transaction (default) or the session; the same checks
 * as SET LOCAL tenantguard.context (28000 for a bad token).
 */
Datum
tg_assume(PG_FUNCTION_ARGS)
{
	char	   *token;
	bool		is_local;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("token must not be null")));
	token = text_to_cstring(PG_GETARG_TEXT_PP(0));
	is_local = PG_ARGISNULL(1) ? true : PG_GETARG_BOOL(1);
	if (token[0] == '\0' || tg_ctx_is_internal(token, strlen(token)))
	{
		tg_refuse_entry(NULL, "context.token", "invalid context token");
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("invalid context token"),
				 errdetail("%s", tg_jwt_status_sentence(TG_JWT_MALFORMED))));
	}
	tg_assume_session = !is_local;
	PG_TRY();
	{
		(void) set_config_option("tenantguard.context", token,
								 PGC_USERSET, PGC_S_SESSION,
								 is_local ? GUC_ACTION_LOCAL : GUC_ACTION_SET, true, 0, false);
	}
	PG_FINALLY();
	{
		tg_assume_session = false;
		explicit_bzero(token, strlen(token));
	}
	PG_END_TRY();
	PG_RETURN_VOID();
}

/*
 * The claims (payload JSON) of the token the context in force was entered
 * with, or NULL when there is no such context.
 */
const char *
tg_context_claims(size_t *len, uint64 *serial)
{
	const TgEffectiveContext *c = tg_effective_context();

	if (c == NULL || tg_context_state == NULL || !tg_context_state->from_token ||
		c->scope == TG_SCOPE_BOUND)
		return NULL;
	*len = tg_context_state->claims_len;
	*serial = tg_context_serial;
	return tg_context_state->claims;
}

PG_FUNCTION_INFO_V1(tg_current_tenant);

/* current_tenant(): the tenant in force, or NULL. Cheap: called per row. */
Datum
tg_current_tenant(PG_FUNCTION_ARGS)
{
	const TgEffectiveContext *c = tg_effective_context();
	pg_uuid_t  *result;

	if (c == NULL)
		PG_RETURN_NULL();
	result = (pg_uuid_t *) palloc(sizeof(pg_uuid_t));
	*result = c->tenant;
	PG_RETURN_UUID_P(result);
}

PG_FUNCTION_INFO_V1(tg_current_principal);

Datum
tg_current_principal(PG_FUNCTION_ARGS)
{
	const TgEffectiveContext *c = tg_effective_context();

	if (c == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(c->principal));
}

PG_FUNCTION_INFO_V1(tg_current_role_name);

Datum
tg_current_role_name(PG_FUNCTION_ARGS)
{
	const TgEffectiveContext *c = tg_effective_context();

	if (c == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(c->role));
}

PG_FUNCTION_INFO_V1(tg_current_aal);

/*
 * current_aal(): 2 when the context was resumed from a login with a second
 * factor, 1 for any other context (password-only sessions, signed tokens,
 * bound roles, administrators), NULL without one. Cheap: usable in policies.
 */
Datum
tg_current_aal(PG_FUNCTION_ARGS)
{
	const TgEffectiveContext *c = tg_effective_context();

	if (c == NULL)
		PG_RETURN_NULL();
	PG_RETURN_INT32(c->aal);
}

PG_FUNCTION_INFO_V1(tg_whoami);

/* whoami(): one row describing the context, or no row without one. */
Datum
tg_whoami(PG_FUNCTION_ARGS)
{
	const TgEffectiveContext *c = tg_effective_context();
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7] = {false, false, false, false, false, false, false};
	char	   *slug = NULL;
	pg_uuid_t  *tenant;
	const char *scope;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "whoami must return a composite type");
	tupdesc = BlessTupleDesc(tupdesc);

	if (c == NULL)
	{
		int			i;

		for (i = 0; i < 7; i++)
			nulls[i] = true;
		values[4] = CStringGetTextDatum("none");
		nulls[4] = false;
		PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
	}

	tenant = (pg_uuid_t *) palloc(sizeof(pg_uuid_t));
	*tenant = c->tenant;
	(void) tg_lookup_tenant(tenant, &slug);
	scope = c->scope == TG_SCOPE_TRANSACTION ? "transaction" : c->scope == TG_SCOPE_SESSION ? "session" : "bound";

	values[0] = UUIDPGetDatum(tenant);
	if (slug)
		values[1] = CStringGetTextDatum(slug);
	else
		nulls[1] = true;
	values[2] = CStringGetTextDatum(c->principal);
	values[3] = CStringGetTextDatum(c->role);
	values[4] = CStringGetTextDatum(scope);
	if (c->expires != 0)
		values[5] = TimestampTzGetDatum(c->expires);
	else
		nulls[5] = true;
	values[6] = Int32GetDatum(c->aal);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
