/*
 * cache.c — per-backend caches of tenantguard's own tables: which relations
 * are protected, which roles are bound, and tenant status.
 *
 * The tables are read with plain heap/index scans (no SPI), so the lookups
 * also work inside parallel workers. Statement triggers on the tables send a
 * relcache invalidation for the table that changed; the callback below then
 * drops the affected cache in every backend and tells the listeners upper
 * layers registered (the context recomputes itself).
 *
 * Layer 2: uses catalog.c.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "cache.h"
#include "catalog.h"
#include "relcache_hub.h"
#include "tenantguard.h"

typedef struct TgProtectedEntry
{
	Oid			relid;
	NameData	tenant_column;
} TgProtectedEntry;

/* Where the extension's tables are in this database; -1 = not looked up. */
static int	tg_ext_state = -1;	/* -1 unknown, 0 absent, 1 present */
static Oid	tg_tenants_relid = InvalidOid;
static Oid	tg_bindings_relid = InvalidOid;
static Oid	tg_registry_relid = InvalidOid;

/*
 * Each cache lives in a memory context of its own. An invalidation deletes
 * the installed contexts and bumps the generation; a loader builds into a
 * fresh context (invalidations arrive while it opens a table, and must not
 * free what it is building) and installs the result only when no
 * invalidation arrived meanwhile.
 */
static uint64 tg_cache_generation = 0;
static MemoryContext tg_protected_cxt = NULL;
static HTAB *tg_protected = NULL;	/* NULL = must be rebuilt */
static MemoryContext tg_bindings_cxt = NULL;
static HTAB *tg_bindings = NULL;	/* NULL = must be rebuilt */

/* How often a loader retries before using a result once without keeping it. */
#define TG_CACHE_LOAD_ATTEMPTS 4

/* Upper layers' listeners, told whenever the caches are dropped. */
#define TG_MAX_CACHE_LISTENERS 8
static void (*tg_cache_listeners[TG_MAX_CACHE_LISTENERS]) (void);
static int	tg_n_cache_listeners = 0;

void
tg_cache_register_listener(void (*listener) (void))
{
	if (tg_n_cache_listeners >= TG_MAX_CACHE_LISTENERS)
		elog(ERROR, "too many tenantguard cache listeners");
	tg_cache_listeners[tg_n_cache_listeners++] = listener;
}

static void
tg_cache_reset(void)
{
	int			i;

	tg_cache_generation++;
	tg_protected = NULL;
	tg_bindings = NULL;
	if (tg_protected_cxt != NULL)
		MemoryContextDelete(tg_protected_cxt);
	tg_protected_cxt = NULL;
	if (tg_bindings_cxt != NULL)
		MemoryContextDelete(tg_bindings_cxt);
	tg_bindings_cxt = NULL;
	for (i = 0; i < tg_n_cache_listeners; i++)
		tg_cache_listeners[i] ();
}

/* Drop caches when one of our tables (or everything) is invalidated. */
static void
tg_relcache_callback(Oid relid)
{
	if (tg_ext_state != 1 || relid == InvalidOid ||
		relid == tg_tenants_relid || relid == tg_bindings_relid ||
		relid == tg_registry_relid)
	{
		tg_ext_state = -1;
		tg_cache_reset();
	}
}

void
tg_cache_init(void)
{
	tg_relcache_hub_register(tg_relcache_callback);
}

/* Is Citus loaded in this server (it must be preloaded)? Looked up once. */
bool
tg_citus_loaded(void)
{
	static int	loaded = -1;

	if (loaded < 0)
		loaded = GetConfigOption("citus.version", true, false) != NULL;
	return loaded == 1;
}

/* Is the extension installed in this database? Looks up its tables. */
bool
tg_extension_present(void)
{
	Oid			nsp;
	Oid			tenants,
				bindings,
				registry;

	if (tg_ext_state >= 0)
		return tg_ext_state == 1;

	/* each lookup may process invalidations: assign only at the end */
	nsp = get_namespace_oid(TG_SCHEMA, true);
	tenants = OidIsValid(nsp) ? get_relname_relid("tenants", nsp) : InvalidOid;
	bindings = OidIsValid(nsp) ? get_relname_relid("role_bindings", nsp) : InvalidOid;
	registry = OidIsValid(nsp) ? get_relname_relid("protected_registry", nsp) : InvalidOid;
	tg_cache_reset();
	tg_tenants_relid = tenants;
	tg_bindings_relid = bindings;
	tg_registry_relid = registry;
	tg_ext_state = (OidIsValid(tenants) && OidIsValid(bindings) && OidIsValid(registry)) ? 1 : 0;
	return tg_ext_state == 1;
}

typedef HTAB *(*TgCacheLoader) (MemoryContext cxt);

/*
 * Build a cache with loader into a fresh context and install it in *slot /
 * *slot_cxt when no invalidation arrived during the build. Returns the table
 * to use now (NULL when the extension is gone); *transient is set when the
 * table was not installed and the caller must delete it after use.
 */
static HTAB *
tg_cache_load(TgCacheLoader loader, const char *name, HTAB **slot,
			  MemoryContext *slot_cxt, MemoryContext *transient)
{
	volatile int attempt;

	*transient = NULL;
	for (attempt = 1;; attempt++)
	{
		uint64		generation;
		MemoryContext cxt;
		HTAB	   *h = NULL;

		if (!tg_extension_present())
			return NULL;
		generation = tg_cache_generation;
		cxt = AllocSetContextCreate(TopMemoryContext, "tenantguard cache", ALLOCSET_SMALL_SIZES);
		MemoryContextSetIdentifier(cxt, name);
		PG_TRY();
		{
			h = loader(cxt);
		}
		PG_CATCH();
		{
			MemoryContextDelete(cxt);
			PG_RE_THROW();
		}
		PG_END_TRY();

		if (generation == tg_cache_generation && tg_ext_state == 1)
		{
			if (*slot_cxt != NULL)
				MemoryContextDelete(*slot_cxt);
			*slot_cxt = cxt;
			*slot = h;
			return h;
		}
		if (attempt >= TG_CACHE_LOAD_ATTEMPTS)
		{
			/* invalidation storm: answer from this build, keep nothing */
			*transient = cxt;
			return h;
		}
		MemoryContextDelete(cxt);
	}
}

/* Build the set of protected relations into cxt. */
static HTAB *
tg_load_protected(MemoryContext cxt)
{
	HTAB	   *h;
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	AttrNumber	a_rel,
				a_col;

	h = tg_blob_hash("tenantguard protected relations", 64, sizeof(Oid), sizeof(TgProtectedEntry), cxt);

	rel = table_open(tg_registry_relid, AccessShareLock);
	a_rel = tg_attnum(rel, "rel");
	a_col = tg_attnum(rel, "tenant_column");
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, a_rel, RelationGetDescr(rel), &isnull);
		Datum		c;
		Oid			relid;
		TgProtectedEntry *e;

		if (isnull)
			continue;
		relid = DatumGetObjectId(d);
		c = heap_getattr(tup, a_col, RelationGetDescr(rel), &isnull);
		e = (TgProtectedEntry *) hash_search(h, &relid, HASH_ENTER, NULL);
		if (isnull)
			memset(&e->tenant_column, 0, sizeof(NameData));
		else
			namestrcpy(&e->tenant_column, NameStr(*DatumGetName(c)));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return h;
}

/* Is relid protected? Optionally returns its tenant column (NAMEDATALEN). */
bool
tg_is_protected(Oid relid, char *tenant_column)
{
	TgProtectedEntry *e;
	HTAB	   *h;
	MemoryContext transient = NULL;
	bool		found = false;

	if (!tg_extension_present())
		return false;
	h = tg_protected;
	if (h == NULL)
		h = tg_cache_load(tg_load_protected, "tenantguard protected relations",
						  &tg_protected, &tg_protected_cxt, &transient);
	if (h == NULL)
		return false;
	e = (TgProtectedEntry *) hash_search(h, &relid, HASH_FIND, NULL);
	if (e != NULL)
	{
		found = true;
		if (tenant_column)
			strlcpy(tenant_column, NameStr(e->tenant_column), NAMEDATALEN);
	}
	if (transient != NULL)
		MemoryContextDelete(transient);
	return found;
}

/* Build the map of bound roles into cxt. */
static HTAB *
tg_load_bindings(MemoryContext cxt)
{
	HTAB	   *h;
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	AttrNumber	a_role,
				a_tenant,
				a_trole;

	h = tg_blob_hash("tenantguard role bindings", 16, sizeof(Oid), sizeof(TgBinding), cxt);

	rel = table_open(tg_bindings_relid, AccessShareLock);
	a_role = tg_attnum(rel, "role");
	a_tenant = tg_attnum(rel, "tenant_id");
	a_trole = tg_attnum(rel, "tenant_role");
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		n1,
					n2,
					n3;
		Datum		r = heap_getattr(tup, a_role, RelationGetDescr(rel), &n1);
		Datum		t = heap_getattr(tup, a_tenant, RelationGetDescr(rel), &n2);
		Datum		tr = heap_getattr(tup, a_trole, RelationGetDescr(rel), &n3);
		Oid			role;
		TgBinding  *b;
		char	   *trole;

		if (n1 || n2)
			continue;
		role = DatumGetObjectId(r);
		b = (TgBinding *) hash_search(h, &role, HASH_ENTER, NULL);
		b->role = role;
		b->tenant = *DatumGetUUIDP(t);
		trole = n3 ? pstrdup("operator") : TextDatumGetCString(tr);
		strlcpy(b->tenant_role, trole, sizeof(b->tenant_role));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return h;
}

/* The binding of role, if it has one. */
bool
tg_lookup_binding(Oid role, TgBinding *out)
{
	TgBinding  *b;
	HTAB	   *h;
	MemoryContext transient = NULL;
	bool		found = false;

	if (!tg_extension_present())
		return false;
	h = tg_bindings;
	if (h == NULL)
		h = tg_cache_load(tg_load_bindings, "tenantguard role bindings",
						  &tg_bindings, &tg_bindings_cxt, &transient);
	if (h == NULL)
		return false;
	b = (TgBinding *) hash_search(h, &role, HASH_FIND, NULL);
	if (b != NULL)
	{
		found = true;
		if (out)
			*out = *b;
	}
	if (transient != NULL)
		MemoryContextDelete(transient);
	return found;
}

/* Status (and optionally slug) of a tenant, read through its primary key. */
TgTenantStatus
tg_lookup_tenant(const pg_uuid_t *tenant, char **slug)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	TgTenantStatus result = TG_TENANT_UNKNOWN;
	pg_uuid_t	id = *tenant;

	if (!tg_extension_present())
		return TG_TENANT_UNKNOWN;

	rel = table_open(tg_tenants_relid, AccessShareLock);
	ScanKeyInit(&key, tg_attnum(rel, "id"), BTEqualStrategyNumber,
				F_UUID_EQ, UUIDPGetDatum(&id));
	scan = systable_beginscan(rel, RelationGetPrimaryKeyIndex(rel), true,
							  NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		st = heap_getattr(tup, tg_attnum(rel, "status"),
									  RelationGetDescr(rel), &isnull);

		result = (!isnull && strcmp(TextDatumGetCString(st), "active") == 0)
			? TG_TENANT_ACTIVE : TG_TENANT_SUSPENDED;
		if (slug)
		{
			Datum		sl = heap_getattr(tup, tg_attnum(rel, "slug"),
										  RelationGetDescr(rel), &isnull);

			*slug = isnull ? NULL : TextDatumGetCString(sl);
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/* Every tenant's id (palloc'ed pg_uuid_t), in no particular order. */
List *
tg_tenant_ids(void)
{
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	AttrNumber	a_id;
	List	   *result = NIL;

	if (!tg_extension_present())
		return NIL;
	rel = table_open(tg_tenants_relid, AccessShareLock);
	a_id = tg_attnum(rel, "id");
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, a_id, RelationGetDescr(rel), &isnull);
		pg_uuid_t  *u;

		if (isnull)
			continue;
		u = (pg_uuid_t *) palloc(sizeof(pg_uuid_t));
		*u = *DatumGetUUIDP(d);
		result = lappend(result, u);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

PG_FUNCTION_INFO_V1(tg_invalidate_trigger);

/* Statement trigger on tenantguard's tables: invalidate every backend's cache. */
Datum
tg_invalidate_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function can only be called as a trigger")));
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	return PointerGetDatum(NULL);
}
