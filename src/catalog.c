/*
 * catalog.c — small helpers over relations and byte values shared by the
 * glue files: column lookup by name, bytea building and comparison, hash
 * tables of binary keys.
 *
 * Layer 1: uses nothing of tenantguard's but core/.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "catalog.h"

AttrNumber
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

bytea *
tg_bytea(const uint8_t *data, size_t len)
{
	bytea	   *b = (bytea *) palloc(VARHDRSZ + len);

	SET_VARSIZE(b, VARHDRSZ + len);
	if (len > 0)
		memcpy(VARDATA(b), data, len);
	return b;
}

bool
tg_bytea_eq(Datum d, const uint8_t *data, size_t len)
{
	bytea	   *b = DatumGetByteaPP(d);

	return VARSIZE_ANY_EXHDR(b) == len && memcmp(VARDATA_ANY(b), data, len) == 0;
}

Oid
tg_relation_in(const char *nspname, const char *relname)
{
	Oid			nsp = get_namespace_oid(nspname, true);

	return OidIsValid(nsp) ? get_relname_relid(relname, nsp) : InvalidOid;
}

HTAB *
tg_blob_hash(const char *name, long nelem, Size keysize, Size entrysize, MemoryContext cxt)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = keysize;
	ctl.entrysize = entrysize;
	ctl.hcxt = cxt;
	return hash_create(name, nelem, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}
