/*
 * authz.c — authorization: may the current context use a permission on a
 * resource?
 *
 * The rules of a (tenant, role) are the built-in rules of the role (owner,
 * admin, operator, viewer; fixed, in tg_builtin_rules below) followed by
 * the tenant's rules for it (tenantguard.role_permissions; none for owner).
 * Names, globs and the decision are core/authz_rules.h: a matching deny
 * wins, then a matching allow; nothing matching is a deny.
 *
 * Caching, so that authorize() can sit in a policy and run per row:
 *   - each (tenant, role)'s rules are loaded once per backend with an index
 *     scan (no SPI) into a memory context of their own; a statement trigger
 *     on role_permissions sends a relcache invalidation for the table
 *     (tenantguard._invalidate_cache(), as for tenantguard's other tables),
 *     and the callback below drops every rule set. The first decision of
 *     each statement processes pending invalidations, so a grant or revoke
 *     committed elsewhere is in force from the next statement on, also in a
 *     transaction that is already open;
 *   - each call site (a policy's authorize() call, a C caller) keeps the
 *     rules whose permission pattern matches its permission, and, when none
 *     of their resource patterns depends on the resource, the decision
 *     itself: per row there is then no matching at all.
 *
 * Decisions are audited through the tally (one policy/authorize event per
 * statement and (permission, decision), with the count and the first
 * resource), always through the queue: a refusal survives the rollback its
 * error causes, and a denied read does not become a write.
 *
 * Layer 6: uses the tally, the context, the caches and core/authz_rules.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_collation_d.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/uuid.h"

#include "core/authz_rules.h"
#include "core/context_value.h"
#include "authz.h"
#include "cache.h"
#include "catalog.h"
#include "context.h"
#include "relcache_hub.h"
#include "tally.h"
#include "tenantguard.h"

/* ---------------------------------------------------------------------------
 * Settings
 * ------------------------------------------------------------------------- */

/* Which authorization decisions are recorded. */
typedef enum TgAuditDecisions
{
	TG_AUDIT_DECISIONS_NONE,
	TG_AUDIT_DECISIONS_DENY,
	TG_AUDIT_DECISIONS_ALL
} TgAuditDecisions;

static int	tg_audit_decisions = TG_AUDIT_DECISIONS_DENY;

static const struct config_enum_entry tg_audit_decision_options[] = {
	{"none", TG_AUDIT_DECISIONS_NONE, false},
	{"deny", TG_AUDIT_DECISIONS_DENY, false},
	{"all", TG_AUDIT_DECISIONS_ALL, false},
	{NULL, 0, false}
};

bool
tg_authz_audit_denials(void)
{
	return tg_audit_decisions != TG_AUDIT_DECISIONS_NONE;
}

/* ---------------------------------------------------------------------------
 * Built-in roles (docs/authorization.md has this table)
 * ------------------------------------------------------------------------- */

#define TG_OWNER_ROLE "owner"

typedef struct TgBuiltinRule
{
	const char *role;
	const char *permission;
	const char *resource;
	bool		deny;
} TgBuiltinRule;

/*
 * owner: everything, and tenants cannot add rules to it. admin: everything;
 * tenants may restrict it with deny rules (it is also the role of
 * administrators who enter with set_tenant()). operator: everything but
 * tenantguard's membership, role and audit permissions. viewer: every
 * ".read" permission, never a secret nor the audit trail. The denies are
 * built in: no revoke removes them, no grant outweighs them.
 */
static const TgBuiltinRule tg_builtin_rules[] = {
	{"owner", "*", "*", false},
	{"admin", "*", "*", false},
	{"operator", "*", "*", false},
	{"operator", "members.**", "*", true},
	{"operator", "roles.**", "*", true},
	{"operator", "audit.**", "*", true},
	{"viewer", "**.read", "*", false},
	{"viewer", "secrets.**", "*", true},
	{"viewer", "audit.**", "*", true},
};

#define TG_N_BUILTIN_RULES lengthof(tg_builtin_rules)

/* ---------------------------------------------------------------------------
 * Rule sets per (tenant, role)
 * ------------------------------------------------------------------------- */

typedef struct TgRuleSetKey
{
	pg_uuid_t	tenant;
	char		role[TG_CTX_ROLE_MAX + 1];
} TgRuleSetKey;

typedef struct TgRuleSet
{
	TgRuleSetKey key;
	MemoryContext cxt;			/* holds the set, its rules and their strings */
	int			n;
	tg_rule    *rules;			/* built-in rules first */
	bool	   *builtin;
	tg_glob    *resource;		/* each rule's resource pattern, compiled */
} TgRuleSet;

typedef struct TgRuleSetEntry
{
	TgRuleSetKey key;
	TgRuleSet  *set;
} TgRuleSetEntry;

/* How many (tenant, role) sets a backend keeps before it starts over. */
#define TG_MAX_RULE_SETS 1024
/* How often a load is retried before its result is used once without keeping it. */
#define TG_RULES_LOAD_ATTEMPTS 4

static MemoryContext tg_rules_cxt = NULL;	/* the hash and every kept set */
static HTAB *tg_rule_sets = NULL;
static uint64 tg_rules_generation = 1;	/* bumped by every reset */
static Oid	tg_rules_relid = InvalidOid;
static bool tg_rules_relid_known = false;
static TgRuleSet *tg_transient_set = NULL;	/* built during an invalidation storm */

/* Forget every rule set (and, with relid, where the table is). */
static void
tg_rules_reset(bool relid)
{
	tg_rules_generation++;
	tg_rule_sets = NULL;
	if (tg_rules_cxt != NULL)
		MemoryContextDelete(tg_rules_cxt);
	tg_rules_cxt = NULL;
	if (relid)
		tg_rules_relid_known = false;
}

static void
tg_rules_relcache_callback(Oid relid)
{
	if (relid == InvalidOid || (tg_rules_relid_known && relid == tg_rules_relid))
		tg_rules_reset(true);
}

/* tenantguard's other tables changed (or the extension came or went). */
static void
tg_rules_cache_listener(void)
{
	tg_rules_reset(true);
}

static void
tg_rules_append(TgRuleSet *set, int *max, const char *permission, const char *resource,
				bool deny, bool builtin)
{
	if (set->n == *max)
	{
		*max *= 2;
		set->rules = repalloc(set->rules, sizeof(tg_rule) * *max);
		set->builtin = repalloc(set->builtin, sizeof(bool) * *max);
	}
	set->rules[set->n].permission = permission;
	set->rules[set->n].permission_len = strlen(permission);
	set->rules[set->n].resource = resource;
	set->rules[set->n].resource_len = strlen(resource);
	set->rules[set->n].deny = deny;
	set->builtin[set->n] = builtin;
	set->n++;
}

/* Build key's rules into cxt (current memory context). */
static TgRuleSet *
tg_rules_build(const TgRuleSetKey *key, Oid relid)
{
	TgRuleSet  *set = palloc0(sizeof(TgRuleSet));
	int			max = 16;
	size_t		i;

	set->key = *key;
	set->cxt = CurrentMemoryContext;
	set->rules = palloc(sizeof(tg_rule) * max);
	set->builtin = palloc(sizeof(bool) * max);
	for (i = 0; i < TG_N_BUILTIN_RULES; i++)
		if (strcmp(tg_builtin_rules[i].role, key->role) == 0)
			tg_rules_append(set, &max, tg_builtin_rules[i].permission,
							tg_builtin_rules[i].resource, tg_builtin_rules[i].deny, true);

	if (OidIsValid(relid) && strcmp(key->role, TG_OWNER_ROLE) != 0)
	{
		Relation	rel = table_open(relid, AccessShareLock);
		ScanKeyData skey[2];
		SysScanDesc scan;
		HeapTuple	tup;
		TupleDesc	desc = RelationGetDescr(rel);
		int			a_perm = tg_attnum(rel, "permission") - 1,
					a_res = tg_attnum(rel, "resource") - 1,
					a_effect = tg_attnum(rel, "effect") - 1;
		Datum	   *values = palloc(sizeof(Datum) * desc->natts);
		bool	   *nulls = palloc(sizeof(bool) * desc->natts);
		pg_uuid_t	tenant = key->tenant;

		ScanKeyInit(&skey[0], tg_attnum(rel, "tenant_id"), BTEqualStrategyNumber,
					F_UUID_EQ, UUIDPGetDatum(&tenant));
		ScanKeyEntryInitialize(&skey[1], 0, tg_attnum(rel, "role"), BTEqualStrategyNumber,
							   InvalidOid, C_COLLATION_OID, F_TEXTEQ,
							   CStringGetTextDatum(key->role));
		scan = systable_beginscan(rel, RelationGetPrimaryKeyIndex(rel), true, NULL, 2, skey);
		while (HeapTupleIsValid(tup = systable_getnext(scan)))
		{
			heap_deform_tuple(tup, desc, values, nulls);
			/* the columns are NOT NULL; a rule is added only whole */
			if (!nulls[a_perm] && !nulls[a_res] && !nulls[a_effect])
				tg_rules_append(set, &max, TextDatumGetCString(values[a_perm]),
								TextDatumGetCString(values[a_res]),
								strcmp(TextDatumGetCString(values[a_effect]), "allow") != 0, false);
		}
		systable_endscan(scan);
		table_close(rel, AccessShareLock);
	}
	/* compiled last: the rules array no longer moves */
	set->resource = palloc(sizeof(tg_glob) * Max(set->n, 1));
	for (i = 0; i < (size_t) set->n; i++)
		tg_glob_compile(set->rules[i].resource, set->rules[i].resource_len, '/', &set->resource[i]);
	return set;
}

/*
 * The rules of key, valid until the next invalidation. *kept is false when
 * they were built during an invalidation storm and are freed by the next
 * lookup (the caller must not keep them).
 */
static const TgRuleSet *
tg_rules_lookup(const TgRuleSetKey *key, bool *kept)
{
	volatile int attempt;
	TgRuleSetEntry *e;

	if (tg_transient_set != NULL)
	{
		MemoryContextDelete(tg_transient_set->cxt);
		tg_transient_set = NULL;
	}
	*kept = true;
	if (tg_rule_sets != NULL &&
		(e = hash_search(tg_rule_sets, key, HASH_FIND, NULL)) != NULL)
		return e->set;

	if (!tg_rules_relid_known)
	{
		/* may process invalidations: before the generation is taken */
		Oid			relid = tg_relation_in(TG_SCHEMA, "role_permissions");

		tg_rules_relid = relid;
		tg_rules_relid_known = true;
	}
	for (attempt = 1;; attempt++)
	{
		uint64		generation = tg_rules_generation;
		Oid			relid = tg_rules_relid;
		MemoryContext cxt = AllocSetContextCreate(TopMemoryContext, "tenantguard permission rules",
												  ALLOCSET_SMALL_SIZES);
		MemoryContext old = MemoryContextSwitchTo(cxt);
		TgRuleSet  *set = NULL;

		PG_TRY();
		{
			set = tg_rules_build(key, relid);
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(old);
			MemoryContextDelete(cxt);
			PG_RE_THROW();
		}
		PG_END_TRY();
		MemoryContextSwitchTo(old);

		if (generation == tg_rules_generation)
		{
			bool		found;

			if (tg_rule_sets != NULL && hash_get_num_entries(tg_rule_sets) >= TG_MAX_RULE_SETS)
				tg_rules_reset(false);	/* a backend that served very many tenants */
			if (tg_rule_sets == NULL)
			{
				tg_rules_cxt = AllocSetContextCreate(TopMemoryContext, "tenantguard permission rule sets",
													 ALLOCSET_SMALL_SIZES);
				tg_rule_sets = tg_blob_hash("tenantguard permission rule sets", 64, sizeof(TgRuleSetKey),
											sizeof(TgRuleSetEntry), tg_rules_cxt);
			}
			MemoryContextSetParent(cxt, tg_rules_cxt);
			e = hash_search(tg_rule_sets, key, HASH_ENTER, &found);
			e->set = set;
			return set;
		}
		if (attempt >= TG_RULES_LOAD_ATTEMPTS)
		{
			tg_transient_set = set;
			*kept = false;
			return set;
		}
		MemoryContextDelete(cxt);
	}
}

/* ---------------------------------------------------------------------------
 * Call sites
 * ------------------------------------------------------------------------- */

struct TgAuthzSite
{
	uint64		generation;		/* of the rule sets it was built on; 0 = rebuild */
	const TgRuleSet *set;		/* NULL without a context */
	bool		has_context;
	pg_uuid_t	tenant;
	char		role[TG_CTX_ROLE_MAX + 1];
	char		permission[TG_PERMISSION_MAX + 1];
	size_t		plen;
	MemoryContext cxt;
	int			napplicable;	/* rules whose permission pattern matches */
	int			ndeny;			/* the first ndeny of them are deny rules */
	int			maxapplicable;
	int		   *applicable;		/* indexes into set->rules */
	int			fixed;			/* the decision whatever the resource, or -1 */
	uint64		tally_id[3];	/* per decision */
	char		details[TG_CTX_ROLE_MAX + 16];	/* the events' "role" member */
};

TgAuthzSite *
tg_authz_site_new(MemoryContext cxt)
{
	TgAuthzSite *site = MemoryContextAllocZero(cxt, sizeof(TgAuthzSite));

	site->cxt = cxt;
	return site;
}

/* The detail of a malformed permission or resource (its value is never shown). */
static const char *
tg_name_problem_detail(tg_name_problem p, bool permission)
{
	switch (p)
	{
		case TG_NAME_EMPTY:
			return permission ? "A permission must not be empty." : "A resource must not be empty.";
		case TG_NAME_TOO_LONG:
			return permission ? "A permission has at most 128 bytes." : "A resource has at most 1024 bytes.";
		case TG_NAME_BAD_CHARACTER:
			return permission ?
				"A permission is made of lower-case letters, digits, \"_\" and \"-\", in segments separated by \".\"." :
				"A resource must not contain control characters.";
		case TG_NAME_EMPTY_SEGMENT:
			return "A permission has no empty segment: no leading, trailing or doubled \".\".";
		case TG_NAME_WILDCARD:
			return "A permission to check is a name, not a pattern: \"*\" belongs in the rules of grant_permission().";
		case TG_NAME_BAD_GLOB:
			return "\"**\" must be a whole segment.";
		case TG_NAME_OK:
			break;
	}
	return "";
}

/* 22023 for a malformed permission or resource, literal or pattern. */
static void
tg_bad_name(tg_name_problem p, bool permission, bool pattern)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid %s%s", permission ? "permission" : "resource", pattern ? " pattern" : ""),
			 errdetail("%s", tg_name_problem_detail(p, permission)),
			 permission ?
			 errhint("Permissions are dotted names such as docs.read or deploy.production.") :
			 errhint("Resources are paths such as project/app-web; \"*\" means the tenant as a whole.")));
}

/* Are n bytes equal? (inline, eight at a time: the lengths here are short) */
static inline bool
tg_bytes_eq(const char *a, const char *b, size_t n)
{
	size_t		i = 0;

	for (; i + 8 <= n; i += 8)
	{
		uint64		x,
					y;

		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			return false;
	}
	for (; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* Are two NUL-terminated role names equal? */
static inline bool
tg_role_eq(const char *a, const char *b)
{
	while (*a != '\0' && *a == *b)
		a++, b++;
	return *a == *b;
}

/* Does the site fit the context and permission? (per row in a policy) */
static inline bool
tg_site_fits(const TgAuthzSite *site, const TgEffectiveContext *ctx,
			 const char *permission, size_t plen)
{
	if (site->generation != tg_rules_generation || site->plen != plen ||
		!tg_bytes_eq(site->permission, permission, plen))
		return false;
	if (ctx == NULL)
		return !site->has_context;
	return site->has_context && tg_bytes_eq((const char *) site->tenant.data, (const char *) ctx->tenant.data, UUID_LEN) &&
		tg_role_eq(site->role, ctx->role);
}

/* Point the site at the context's rules that apply to permission. */
static void
tg_site_rebuild(TgAuthzSite *site, const TgEffectiveContext *ctx,
				const char *permission, size_t plen)
{
	tg_name_problem p = tg_permission_check(permission, plen, false);
	const TgRuleSet *set = NULL;
	bool		kept = true;
	bool		deny_all = false,
				allow_all = false;
	int			i,
				d,
				pass;

	if (p != TG_NAME_OK)
		tg_bad_name(p, true, false);
	site->generation = 0;
	memcpy(site->permission, permission, plen);
	site->permission[plen] = '\0';
	site->plen = plen;
	site->has_context = ctx != NULL;
	site->details[0] = '\0';
	if (ctx != NULL)
	{
		TgRuleSetKey key;

		memset(&key, 0, sizeof(key));
		key.tenant = ctx->tenant;
		strlcpy(key.role, ctx->role, sizeof(key.role));
		site->tenant = key.tenant;
		strlcpy(site->role, key.role, sizeof(site->role));
		/* role names are [a-z0-9_.-]: nothing to escape */
		snprintf(site->details, sizeof(site->details), "\"role\": \"%s\"", key.role);
		set = tg_rules_lookup(&key, &kept);
	}
	site->set = set;
	site->napplicable = 0;
	site->ndeny = 0;
	site->fixed = TG_DECISION_IMPLICIT_DENY;
	if (set != NULL && set->n > site->maxapplicable)
	{
		site->maxapplicable = Max(set->n, 8);
		if (site->applicable)
			pfree(site->applicable);
		site->applicable = MemoryContextAlloc(site->cxt, sizeof(int) * site->maxapplicable);
	}
	/* deny rules first, then allow rules: the first match then decides */
	for (pass = 0; pass < 2 && set != NULL; pass++)
		for (i = 0; i < set->n; i++)
		{
			bool		res_all = set->resource[i].kind == TG_GLOB_ALL;

			if (set->rules[i].deny != (pass == 0) ||
				!tg_glob_match(set->rules[i].permission, set->rules[i].permission_len,
							   permission, plen, '.'))
				continue;
			site->applicable[site->napplicable++] = i;
			if (pass == 0)
				site->ndeny++;
			if (pass == 0 && res_all)
				deny_all = true;
			else if (pass == 1 && res_all)
				allow_all = true;
		}
	/* whatever the resource: a deny of every resource, or an allow of every resource and no deny */
	if (deny_all)
		site->fixed = TG_DECISION_EXPLICIT_DENY;
	else if (site->ndeny == 0 && allow_all)
		site->fixed = TG_DECISION_ALLOW;
	else if (site->napplicable > 0)
		site->fixed = -1;
	for (d = 0; d < 3; d++)
		site->tally_id[d] = tg_tally_site_id();
	site->generation = kept ? tg_rules_generation : 0;
}

/* The first rule of the site that matches resource (deny rules first), or -1. */
static inline int
tg_site_match(const TgAuthzSite *site, const char *resource, size_t rlen)
{
	int			i;

	for (i = 0; i < site->napplicable; i++)
	{
		int			k = site->applicable[i];

		if (tg_glob_compiled_match(&site->set->resource[k], resource, rlen))
			return k;
	}
	return -1;
}

/* The site's decision on resource (the site fits the current context). */
static inline tg_decision
tg_site_decide(const TgAuthzSite *site, const char *resource, size_t rlen)
{
	int			k;

	if (site->fixed >= 0)
		return (tg_decision) site->fixed;
	k = tg_site_match(site, resource, rlen);
	if (k < 0)
		return TG_DECISION_IMPLICIT_DENY;
	return site->set->rules[k].deny ? TG_DECISION_EXPLICIT_DENY : TG_DECISION_ALLOW;
}

/* The resource of an audit event's first occurrence. */
typedef struct TgResourceNote
{
	const char *resource;		/* NULL: SQL NULL */
	size_t		rlen;
} TgResourceNote;

#define TG_NOTE_RESOURCE_MAX 128

static void
tg_resource_note(const void *arg, char *buf, size_t size)
{
	const TgResourceNote *n = (const TgResourceNote *) arg;
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfoString(&s, "\"resource\": ");
	if (n->resource == NULL)
		appendStringInfoString(&s, "null");
	else
	{
		int			len = pg_mbcliplen(n->resource, (int) n->rlen, TG_NOTE_RESOURCE_MAX);
		char	   *cut = pnstrdup(n->resource, len);

		escape_json(&s, cut);
		if ((size_t) len < n->rlen)
			appendStringInfoString(&s, ", \"resource_truncated\": true");
		pfree(cut);
	}
	if ((size_t) s.len < size)
		strlcpy(buf, s.data, size);
	pfree(s.data);
}

/*
 * Decisions are tallied: one policy/authorize event per statement and
 * (permission, role, decision) with their count, always through the queue.
 */
static const TgTallyKind tg_decision_kind = {
	.category = "policy",
	.action = "authorize",
	.count_member = "decisions",
	.variant_member = NULL,
	.queued = true,
	.announce = false,
	.rolled_back_reason = NULL,
};

/* Record decision d of the site on resource (NULL: SQL NULL), per audit_decisions. */
static void
tg_authz_audit(const TgAuthzSite *site, tg_decision d, const char *resource, size_t rlen)
{
	TgTallyItem item;
	TgResourceNote note;

	if (tg_audit_decisions == TG_AUDIT_DECISIONS_NONE ||
		(d == TG_DECISION_ALLOW && tg_audit_decisions != TG_AUDIT_DECISIONS_ALL))
		return;
	note.resource = resource;
	note.rlen = rlen;
	memset(&item, 0, sizeof(item));
	item.site_id = site->tally_id[d];
	item.variant = d == TG_DECISION_ALLOW ? "allow" : "deny";
	item.object = site->permission;
	item.details = site->details;
	item.note = tg_resource_note;
	item.note_arg = &note;
	item.reason = !site->has_context ? "no tenant context is set" :
		d == TG_DECISION_EXPLICIT_DENY ? "explicit deny" :
		d == TG_DECISION_IMPLICIT_DENY ? "implicit deny" : NULL;
	tg_tally_count(&tg_decision_kind, &item);
}

/*
 * The decision for the current context (resource NULL: SQL NULL, always an
 * implicit deny), audited. The site fits the context afterwards.
 */
static tg_decision
tg_authz_decide(TgAuthzSite *site, const char *permission, size_t plen,
				const char *resource, size_t rlen)
{
	const TgEffectiveContext *ctx;
	tg_decision d;

	tg_accept_invalidations_per_statement();
	ctx = tg_effective_context();
	if (!tg_site_fits(site, ctx, permission, plen))
		tg_site_rebuild(site, ctx, permission, plen);
	if (resource == NULL)
		d = TG_DECISION_IMPLICIT_DENY;
	else
	{
		tg_name_problem p = tg_resource_check(resource, rlen, false);

		if (p != TG_NAME_OK)
			tg_bad_name(p, false, false);
		d = tg_site_decide(site, resource, rlen);
	}
	/* last: the audit may process invalidations, which free the rules */
	if (d == TG_DECISION_ALLOW ? tg_audit_decisions == TG_AUDIT_DECISIONS_ALL
		: tg_audit_decisions != TG_AUDIT_DECISIONS_NONE)
		tg_authz_audit(site, d, resource, rlen);
	return d;
}

bool
tg_authz_allowed(TgAuthzSite *site, const char *permission, size_t plen,
				 const char *resource, size_t rlen)
{
	return tg_authz_decide(site, permission, plen, resource, rlen) == TG_DECISION_ALLOW;
}

/* 42501: permission on resource is not allowed (the site fits the context). */
static void
tg_authz_refuse(TgAuthzSite *site, tg_decision d, const char *resource, size_t rlen)
{
	char	   *res = pnstrdup(resource, rlen);
	int			k;

	if (!site->has_context)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("no tenant context is set"),
				 errdetail("Permission \"%s\" on \"%s\" is decided inside a tenant.", site->permission, res),
				 errhint("%s", tg_enter_hint)));
	if (d == TG_DECISION_EXPLICIT_DENY &&
		(k = tg_site_match(site, res, rlen)) >= 0 && site->set->rules[k].deny)
	{
		const tg_rule *r = &site->set->rules[k];

		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for \"%s\" on \"%s\"", site->permission, res),
				 errdetail("A %sdeny rule of role \"%s\" matches: \"%.*s\" on \"%.*s\". A deny beats every allow.",
						   site->set->builtin[k] ? "built-in " : "", site->role,
						   (int) r->permission_len, r->permission, (int) r->resource_len, r->resource),
				 errhint("Use a role without that deny rule%s; tenantguard.explain_authorization('%s', %s) lists the rules that match.",
						 site->set->builtin[k] ? "" : ", or have it revoked with tenantguard.revoke_permission()",
						 site->permission, quote_literal_cstr(res))));
	}
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for \"%s\" on \"%s\"", site->permission, res),
			 errdetail("No rule of role \"%s\" in this tenant allows it.", site->role),
			 errhint("A principal with permission \"roles.manage\" can grant it: tenantguard.grant_permission('%s', '%s', %s).",
					 site->role, site->permission, quote_literal_cstr(res))));
}

void
tg_authz_require(TgAuthzSite *site, const char *permission, size_t plen,
				 const char *resource, size_t rlen)
{
	tg_decision d = tg_authz_decide(site, permission, plen, resource, rlen);

	if (d == TG_DECISION_ALLOW)
		return;
	/* the rules may have been dropped by the audit: look them up again */
	if (!tg_site_fits(site, tg_effective_context(), permission, plen))
		tg_site_rebuild(site, tg_effective_context(), permission, plen);
	tg_authz_refuse(site, d, resource, rlen);
}

/* ---------------------------------------------------------------------------
 * Settings and callbacks
 * ------------------------------------------------------------------------- */

void
tg_authz_init(void)
{
	tg_relcache_hub_register(tg_rules_relcache_callback);
	tg_cache_register_listener(tg_rules_cache_listener);

	DefineCustomEnumVariable("tenantguard.audit_decisions",
							 "Which authorization decisions are written to the audit log.",
							 "deny records refusals, all records every decision, none records none.",
							 &tg_audit_decisions,
							 TG_AUDIT_DECISIONS_DENY,
							 tg_audit_decision_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
}

/* ---------------------------------------------------------------------------
 * SQL functions
 * ------------------------------------------------------------------------- */

/* The site of a SQL call, kept in fn_extra. */
static TgAuthzSite *
tg_sql_site(FunctionCallInfo fcinfo)
{
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = tg_authz_site_new(fcinfo->flinfo->fn_mcxt);
	return (TgAuthzSite *) fcinfo->flinfo->fn_extra;
}

/* A text argument, detoasted only when it must be (per row in policies). */
static inline text *
tg_text_datum(Datum d)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(d);

	return (text *) (VARATT_IS_EXTENDED(v) ? pg_detoast_datum_packed(v) : v);
}

/* A non-NULL text argument (22004 when NULL). */
static inline text *
tg_text_arg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
	return tg_text_datum(PG_GETARG_DATUM(argno));
}

PG_FUNCTION_INFO_V1(tg_authorize);

/* authorize(permission, resource): may the current context? A NULL resource: no. */
Datum
tg_authorize(PG_FUNCTION_ARGS)
{
	TgAuthzSite *site = tg_sql_site(fcinfo);
	text	   *p = tg_text_arg(fcinfo, 0, "permission");
	text	   *r = PG_ARGISNULL(1) ? NULL : tg_text_datum(PG_GETARG_DATUM(1));

	PG_RETURN_BOOL(tg_authz_decide(site, VARDATA_ANY(p), VARSIZE_ANY_EXHDR(p),
								   r ? VARDATA_ANY(r) : NULL, r ? VARSIZE_ANY_EXHDR(r) : 0)
				   == TG_DECISION_ALLOW);
}

PG_FUNCTION_INFO_V1(tg_require);

/* require(permission, resource): 42501 unless the current context may. */
Datum
tg_require(PG_FUNCTION_ARGS)
{
	TgAuthzSite *site = tg_sql_site(fcinfo);
	text	   *p = tg_text_arg(fcinfo, 0, "permission");
	text	   *r = tg_text_arg(fcinfo, 1, "resource");

	tg_authz_require(site, VARDATA_ANY(p), VARSIZE_ANY_EXHDR(p), VARDATA_ANY(r), VARSIZE_ANY_EXHDR(r));
	PG_RETURN_VOID();
}

static const char *const tg_decision_names[] = {"implicit deny", "allow", "explicit deny"};

PG_FUNCTION_INFO_V1(tg_explain_authorization);

/*
 * explain_authorization(permission, resource): the decision, and each rule
 * that matched (denies first), or one row without a rule when none did.
 * Records nothing.
 */
Datum
tg_explain_authorization(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *pt = tg_text_arg(fcinfo, 0, "permission");
	text	   *rt = tg_text_arg(fcinfo, 1, "resource");
	const char *permission = VARDATA_ANY(pt);
	size_t		plen = VARSIZE_ANY_EXHDR(pt);
	const char *resource = VARDATA_ANY(rt);
	size_t		rlen = VARSIZE_ANY_EXHDR(rt);
	tg_name_problem p;
	const TgEffectiveContext *ctx;
	const TgRuleSet *set = NULL;
	bool	   *matched = NULL;
	tg_decision d = TG_DECISION_IMPLICIT_DENY;
	Datum		values[6];
	bool		nulls[6];
	int			pass,
				i,
				rows = 0;
	char		role[TG_CTX_ROLE_MAX + 1] = "";

	if ((p = tg_permission_check(permission, plen, false)) != TG_NAME_OK)
		tg_bad_name(p, true, false);
	if ((p = tg_resource_check(resource, rlen, false)) != TG_NAME_OK)
		tg_bad_name(p, false, false);
	InitMaterializedSRF(fcinfo, 0);
	tg_accept_invalidations_per_statement();
	ctx = tg_effective_context();
	if (ctx != NULL)
	{
		TgRuleSetKey key;
		bool		kept;

		memset(&key, 0, sizeof(key));
		key.tenant = ctx->tenant;
		strlcpy(key.role, ctx->role, sizeof(key.role));
		strlcpy(role, ctx->role, sizeof(role));
		set = tg_rules_lookup(&key, &kept);
		matched = palloc0(sizeof(bool) * Max(set->n, 1));
		d = tg_rules_decide(set->rules, set->n, permission, plen, resource, rlen, matched);
	}
	/* denies first, then allows; nothing below processes invalidations */
	for (pass = 0; pass < 2 && set != NULL; pass++)
		for (i = 0; i < set->n; i++)
		{
			if (!matched[i] || set->rules[i].deny != (pass == 0))
				continue;
			memset(nulls, 0, sizeof(nulls));
			values[0] = CStringGetTextDatum(tg_decision_names[d]);
			values[1] = CStringGetTextDatum(role);
			values[2] = PointerGetDatum(cstring_to_text_with_len(set->rules[i].permission,
																  (int) set->rules[i].permission_len));
			values[3] = PointerGetDatum(cstring_to_text_with_len(set->rules[i].resource,
																  (int) set->rules[i].resource_len));
			values[4] = CStringGetTextDatum(set->rules[i].deny ? "deny" : "allow");
			values[5] = BoolGetDatum(set->builtin[i]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			rows++;
		}
	if (rows == 0)
	{
		memset(nulls, true, sizeof(nulls));
		nulls[0] = false;
		values[0] = CStringGetTextDatum(tg_decision_names[d]);
		if (ctx != NULL)
		{
			nulls[1] = false;
			values[1] = CStringGetTextDatum(role);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(tg_can_read_audit_tenant);

/*
 * _can_read_tenant(tenant): may the current context read that tenant's audit
 * events? The events table's policy calls it: the context must be in that
 * tenant and have audit.read. It is C rather than SQL so that nothing in it
 * is resolved through the caller's search_path when the policy is planned
 * (a SQL function would be inlined, operators and all).
 */
Datum
tg_can_read_audit_tenant(PG_FUNCTION_ARGS)
{
	static TgAuthzSite *site = NULL;
	const TgEffectiveContext *c;
	pg_uuid_t  *tenant;

	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(false);
	tenant = PG_GETARG_UUID_P(0);
	c = tg_effective_context();
	if (c == NULL || memcmp(c->tenant.data, tenant->data, UUID_LEN) != 0)
		PG_RETURN_BOOL(false);
	if (site == NULL)
		site = tg_authz_site_new(TopMemoryContext);
	PG_RETURN_BOOL(tg_authz_allowed(site, "audit.read", 10, "*", 1));
}

PG_FUNCTION_INFO_V1(tg_permission_pattern_valid_fn);

/* _permission_pattern_valid(text): a permission pattern? (CHECK of role_permissions) */
Datum
tg_permission_pattern_valid_fn(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	PG_RETURN_BOOL(tg_permission_check(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), true) == TG_NAME_OK);
}

PG_FUNCTION_INFO_V1(tg_resource_pattern_valid_fn);

/* _resource_pattern_valid(text): a resource pattern? (CHECK of role_permissions) */
Datum
tg_resource_pattern_valid_fn(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	PG_RETURN_BOOL(tg_resource_check(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), true) == TG_NAME_OK);
}

PG_FUNCTION_INFO_V1(tg_check_rule);

/*
 * _check_rule(role, permission, resource, effect, for_grant): the
 * arguments of grant_permission() (for_grant) or revoke_permission()
 * (effect ignored), with 22004 / 22023 errors that never show the values;
 * 42501 for the owner role, whose rules are fixed.
 */
Datum
tg_check_rule(PG_FUNCTION_ARGS)
{
	bool		for_grant = !PG_ARGISNULL(4) && PG_GETARG_BOOL(4);
	text	   *role,
			   *perm,
			   *res;
	tg_name_problem p;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || (for_grant && PG_ARGISNULL(3)))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg(for_grant ? "role, permission, resource and effect must not be null" :
						"role, permission and resource must not be null")));
	role = PG_GETARG_TEXT_PP(0);
	perm = PG_GETARG_TEXT_PP(1);
	res = PG_GETARG_TEXT_PP(2);
	if (!tg_role_name_valid(VARDATA_ANY(role), VARSIZE_ANY_EXHDR(role)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid tenant role name"),
				 errdetail("A tenant role name has 1 to 63 bytes and starts with a letter or digit."),
				 errhint("Use lower-case letters, digits, \"_\", \".\" and \"-\".")));
	if (VARSIZE_ANY_EXHDR(role) == strlen(TG_OWNER_ROLE) &&
		memcmp(VARDATA_ANY(role), TG_OWNER_ROLE, strlen(TG_OWNER_ROLE)) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("the rules of role \"owner\" cannot be changed"),
				 errdetail("The owner role has every permission in its tenant, always."),
				 errhint("Grant to another role; to restrict administrators, grant a deny rule to role \"admin\".")));
	if ((p = tg_permission_check(VARDATA_ANY(perm), VARSIZE_ANY_EXHDR(perm), true)) != TG_NAME_OK)
		tg_bad_name(p, true, true);
	if ((p = tg_resource_check(VARDATA_ANY(res), VARSIZE_ANY_EXHDR(res), true)) != TG_NAME_OK)
		tg_bad_name(p, false, true);
	if (for_grant)
	{
		text	   *effect = PG_GETARG_TEXT_PP(3);
		size_t		len = VARSIZE_ANY_EXHDR(effect);

		if (!((len == 5 && memcmp(VARDATA_ANY(effect), "allow", 5) == 0) ||
			  (len == 4 && memcmp(VARDATA_ANY(effect), "deny", 4) == 0)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid effect"),
					 errhint("The effect of a rule is 'allow' or 'deny'.")));
	}
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(tg_builtin_permissions);

/* _builtin_permissions(): the built-in rules (role, permission, resource, effect). */
Datum
tg_builtin_permissions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	size_t		i;

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < TG_N_BUILTIN_RULES; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = CStringGetTextDatum(tg_builtin_rules[i].role);
		values[1] = CStringGetTextDatum(tg_builtin_rules[i].permission);
		values[2] = CStringGetTextDatum(tg_builtin_rules[i].resource);
		values[3] = CStringGetTextDatum(tg_builtin_rules[i].deny ? "deny" : "allow");
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
