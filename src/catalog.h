/*
 * catalog.h — small helpers over relations and byte values shared by the
 * glue files (layer 1).
 */
#ifndef TG_CATALOG_H
#define TG_CATALOG_H

#include "postgres.h"
#include "utils/hsearch.h"
#include "utils/rel.h"

/* The attribute number of a (not dropped) column by name; elog when missing. */
extern AttrNumber tg_attnum(Relation rel, const char *name);

/* A palloc'ed bytea holding a copy of len bytes. */
extern bytea *tg_bytea(const uint8_t *data, size_t len);

/* Does a bytea datum hold exactly these len bytes? */
extern bool tg_bytea_eq(Datum d, const uint8_t *data, size_t len);

/* A hash table of fixed-size (binary) keys and entries, allocated in cxt. */
extern HTAB *tg_blob_hash(const char *name, long nelem, Size keysize, Size entrysize,
						  MemoryContext cxt);

/* The OID of relation name in namespace nsp (by name), or InvalidOid. */
extern Oid	tg_relation_in(const char *nspname, const char *relname);

#endif
