/*
 * cache.c — per-backend caches of tenantguard's own tables: which relations
 * are protected, which roles are bound, and tenant status.
 *
 * The tables are read with plain heap/index scans (no SPI), so the lookups
 * also work inside parallel workers. Statement triggers on the tables send a
 * relcache invalidation for the table that changed; the callback below then
 * drops the affected cache in every backend.
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
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

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

static MemoryContext tg_cache_cxt = NULL;
static HTAB *tg_protected = NULL;	/* NULL = must be rebuilt */
static HTAB *tg_bindings = NULL;	/* NULL = must be rebuilt */

static void
tg_cache_reset(void)
{
	if (tg_cache_cxt != NULL)
		MemoryContextReset(tg_cache_cxt);
	tg_protected = NULL;
	tg_bindings = NULL;
	tg_context_invalidate();
}

/* Drop caches when one of our tables (or everything) is invalidated. */
static void
tg_relcache_callback(Datum arg, Oid relid)
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
	CacheRegisterRelcacheCallback(tg_relcache_callback, (Datum) 0);
}

/* Is the extension installed in this database? Looks up its tables. */
bool
tg_extension_present(void)
{
	Oid			nsp;

	if (tg_ext_state >= 0)
		return tg_ext_state == 1;

	if (tg_cache_cxt == NULL)
		tg_cache_cxt = AllocSetContextCreate(TopMemoryContext,
											 "tenantguard cache",
											 ALLOCSET_SMALL_SIZES);
	nsp = get_namespace_oid(TG_SCHEMA, true);
	tg_tenants_relid = OidIsValid(nsp) ? get_relname_relid("tenants", nsp) : InvalidOid;
	tg_bindings_relid = OidIsValid(nsp) ? get_relname_relid("role_bindings", nsp) : InvalidOid;
	tg_registry_relid = OidIsValid(nsp) ? get_relname_relid("protected_registry", nsp) : InvalidOid;
	tg_ext_state = (OidIsValid(tg_tenants_relid) && OidIsValid(tg_bindings_relid) &&
					OidIsValid(tg_registry_relid)) ? 1 : 0;
	tg_cache_reset();
	return tg_ext_state == 1;
}

/* The attribute number of a column by name; elog when missing. */
static AttrNumber
tg_attnum(Relation rel, const char *name)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return att->attnum;
	}
	elog(ERROR, "tenantguard table \"%s\" has no column \"%s\"",
		 RelationGetRelationName(rel), name);
	return InvalidAttrNumber;
}

static void
tg_load_protected(void)
{
	HASHCTL		ctl;
	HTAB	   *h;
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	AttrNumber	a_rel,
				a_col;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(TgProtectedEntry);
	ctl.hcxt = tg_cache_cxt;
	h = hash_create("tenantguard protected relations", 64, &ctl,
					HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

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
	tg_protected = h;
}

/* Is relid protected? Optionally returns its tenant column (NAMEDATALEN). */
bool
tg_is_protected(Oid relid, char *tenant_column)
{
	TgProtectedEntry *e;

	if (!tg_extension_present())
		return false;
	if (tg_protected == NULL)
		tg_load_protected();
	e = (TgProtectedEntry *) hash_search(tg_protected, &relid, HASH_FIND, NULL);
	if (e == NULL)
		return false;
	if (tenant_column)
		strlcpy(tenant_column, NameStr(e->tenant_column), NAMEDATALEN);
	return true;
}

static void
tg_load_bindings(void)
{
	HASHCTL		ctl;
	HTAB	   *h;
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	AttrNumber	a_role,
				a_tenant,
				a_trole;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(TgBinding);
	ctl.hcxt = tg_cache_cxt;
	h = hash_create("tenantguard role bindings", 16, &ctl,
					HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

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
		trole = n3 ? pstrdup("member") : TextDatumGetCString(tr);
		strlcpy(b->tenant_role, trole, sizeof(b->tenant_role));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	tg_bindings = h;
}

/* The binding of role, if it has one. */
bool
tg_lookup_binding(Oid role, TgBinding *out)
{
	TgBinding  *b;

	if (!tg_extension_present())
		return false;
	if (tg_bindings == NULL)
		tg_load_bindings();
	b = (TgBinding *) hash_search(tg_bindings, &role, HASH_FIND, NULL);
	if (b == NULL)
		return false;
	if (out)
		*out = *b;
	return true;
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
