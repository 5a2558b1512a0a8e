/*
 * blocks.c — the ledger's tamper evidence: sealing committed events into
 * hash-chained blocks signed with an Ed25519 key derived from the master key,
 * the signing-key history (a master key replacement endorses the next key),
 * and verification of every event and every block.
 *
 * Layer 4: uses the keyring and privileged.c (layer 2, 1) and the event
 * store's hashing (layer 3); the events are read with direct index scans,
 * the blocks and signing keys through SPI with search_path pinned.
 */
#include "postgres.h"

#include <sodium.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/nbtree.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/uuid.h"

#include "core/ledger.h"
#include "blocks.h"
#include "catalog.h"
#include "event_store.h"
#include "keyring.h"
#include "privileged.h"

/*
 * Reading the events of a transaction id range [from, to) (to = 0: no upper
 * bound) without SPI: an index scan of the events table's (txid) B-tree
 * (a sequential scan when it is missing), each tuple's hash recomputed from
 * the tuple in a memory context reset per event, and the (id, hash) pairs of
 * the range collected and sorted by id, the order the events root is
 * defined in. The range's events come in txid order, not id order (ids are
 * taken at insert, transactions commit in any order), hence the sort; its
 * memory is 40 bytes per event of the range, the largest block.
 */
typedef struct TgEventHash
{
	int64		id;
	uint8_t		hash[TG_HASH_LEN];
} TgEventHash;

typedef struct TgEventScan
{
	Relation	rel;
	Relation	txid_idx;		/* NULL: no usable (txid) index, scan the heap */
	Snapshot	snap;
	TupleTableSlot *slot;
	MemoryContext event_cxt;	/* reset after every event */
	const pg_uuid_t *tenant;	/* count this tenant's events (NULL: all) */
	bool		collect;		/* keep the (id, hash) pairs, sorted */
	/* results of the last range */
	TgEventHash *hashes;
	int64		nhashes;
	int64		cap;
	int64		count;			/* events in the range */
	int64		tenant_count;	/* of them, the tenant's (all without a tenant) */
	int64		first_bad;		/* lowest id of an event that does not match its hash */
	bool		any_bad;
} TgEventScan;

/* The events table's B-tree on (txid) alone, opened, or NULL. */
static Relation
tg_find_txid_index(Relation rel)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	Oid			opclass = GetDefaultOpClass(XID8OID, BTREE_AM_OID);
	Oid			opfamily = OidIsValid(opclass) ? get_opclass_family(opclass) : InvalidOid;

	foreach(lc, indexes)
	{
		Relation	idx = index_open(lfirst_oid(lc), AccessShareLock);
		Form_pg_index form = idx->rd_index;

		if (idx->rd_rel->relam == BTREE_AM_OID && form->indisvalid && form->indisready &&
			form->indnkeyatts >= 1 && form->indkey.values[0] == EV_TXID + 1 &&
			OidIsValid(opfamily) && idx->rd_opfamily[0] == opfamily &&
			heap_attisnull(idx->rd_indextuple, Anum_pg_index_indpred, NULL) &&
			heap_attisnull(idx->rd_indextuple, Anum_pg_index_indexprs, NULL))
		{
			list_free(indexes);
			return idx;
		}
		index_close(idx, AccessShareLock);
	}
	list_free(indexes);
	return NULL;
}

/*
 * Open the events table for reading with snap (registered here). The
 * functions that read it are SECURITY DEFINER functions owned by the
 * superuser that created the extension, like the SQL they used to run:
 * privileges are still checked for the current user.
 */
static void
tg_event_scan_begin(TgEventScan *s, Snapshot snap, const pg_uuid_t *tenant, bool collect)
{
	Oid			nsp = get_namespace_oid(TG_AUDIT_SCHEMA, false);
	Oid			relid = get_relname_relid("events", nsp);
	AclResult	acl;

	memset(s, 0, sizeof(*s));
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"tenantguard\" is not installed in this database")));
	acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_TABLE, "events");
	s->rel = table_open(relid, AccessShareLock);
	tg_events_check_shape(s->rel);
	s->txid_idx = tg_find_txid_index(s->rel);
	s->snap = RegisterSnapshot(snap);
	s->slot = table_slot_create(s->rel, NULL);
	s->event_cxt = AllocSetContextCreate(CurrentMemoryContext, "tenantguard ledger event",
										 ALLOCSET_DEFAULT_SIZES);
	s->tenant = tenant;
	s->collect = collect;
}

static void
tg_event_scan_end(TgEventScan *s)
{
	ExecDropSingleTupleTableSlot(s->slot);
	UnregisterSnapshot(s->snap);
	/* the locks are kept until the end of the transaction, as a query's are */
	if (s->txid_idx)
		index_close(s->txid_idx, NoLock);
	table_close(s->rel, NoLock);
	MemoryContextDelete(s->event_cxt);
	if (s->hashes)
		pfree(s->hashes);
}

static int
tg_event_hash_cmp(const void *a, const void *b)
{
	const TgEventHash *x = (const TgEventHash *) a;
	const TgEventHash *y = (const TgEventHash *) b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	/* ids are unique (primary key); a forged duplicate still sorts the same way every time */
	return memcmp(x->hash, y->hash, TG_HASH_LEN);
}

/* One event of the range: check its hash, count it, keep (id, hash). */
static void
tg_event_scan_one(TgEventScan *s, HeapTuple tup)
{
	TupleDesc	desc = RelationGetDescr(s->rel);
	MemoryContext old;
	uint8_t		h[TG_HASH_LEN];
	int64		id;
	bool		ok;

	old = MemoryContextSwitchTo(s->event_cxt);
	ok = tg_event_row_ok(tup, desc, h, &id);
	if (s->tenant == NULL)
		s->tenant_count++;
	else
	{
		bool		isnull;
		Datum		t = heap_getattr(tup, EV_TENANT_ID + 1, desc, &isnull);

		if (!isnull && memcmp(DatumGetUUIDP(t)->data, s->tenant->data, UUID_LEN) == 0)
			s->tenant_count++;
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(s->event_cxt);

	s->count++;
	if (!ok && (!s->any_bad || id < s->first_bad))
	{
		s->first_bad = id;
		s->any_bad = true;
	}
	if (s->collect)
	{
		if (s->nhashes == s->cap)
		{
			s->cap = s->cap ? s->cap * 2 : 1024;
			s->hashes = s->hashes
				? repalloc_huge(s->hashes, sizeof(TgEventHash) * s->cap)
				: MemoryContextAllocHuge(CurrentMemoryContext, sizeof(TgEventHash) * s->cap);
		}
		s->hashes[s->nhashes].id = id;
		memcpy(s->hashes[s->nhashes].hash, h, TG_HASH_LEN);
		s->nhashes++;
	}
}

/* Read the events with txid in [from, to) (to = 0: no upper bound). */
static void
tg_event_scan_range(TgEventScan *s, uint64 from, uint64 to)
{
	HeapTuple	tup;
	bool		should_free;

	s->nhashes = 0;
	s->count = 0;
	s->tenant_count = 0;
	s->first_bad = 0;
	s->any_bad = false;
	if (s->txid_idx)
	{
		ScanKeyData keys[2];
		IndexScanDesc scan;

		ScanKeyInit(&keys[0], 1, BTGreaterEqualStrategyNumber, F_XID8GE, UInt64GetDatum(from));
		ScanKeyInit(&keys[1], 1, BTLessStrategyNumber, F_XID8LT, UInt64GetDatum(to));
		scan = index_beginscan(s->rel, s->txid_idx, s->snap, to ? 2 : 1, 0);
		index_rescan(scan, keys, to ? 2 : 1, NULL, 0);
		while (index_getnext_slot(scan, ForwardScanDirection, s->slot))
		{
			CHECK_FOR_INTERRUPTS();
			tup = ExecFetchSlotHeapTuple(s->slot, false, &should_free);
			tg_event_scan_one(s, tup);
			if (should_free)
				heap_freetuple(tup);
		}
		index_endscan(scan);
	}
	else
	{
		TableScanDesc scan = table_beginscan(s->rel, s->snap, 0, NULL);
		TupleDesc	desc = RelationGetDescr(s->rel);

		while (table_scan_getnextslot(scan, ForwardScanDirection, s->slot))
		{
			bool		isnull;
			uint64		txid;

			CHECK_FOR_INTERRUPTS();
			tup = ExecFetchSlotHeapTuple(s->slot, false, &should_free);
			txid = DatumGetUInt64(heap_getattr(tup, EV_TXID + 1, desc, &isnull));
			if (!isnull && txid >= from && (to == 0 || txid < to))
				tg_event_scan_one(s, tup);
			if (should_free)
				heap_freetuple(tup);
		}
		table_endscan(scan);
	}
	ExecClearTuple(s->slot);
	if (s->collect && s->nhashes > 1)
		qsort(s->hashes, s->nhashes, sizeof(TgEventHash), tg_event_hash_cmp);
}

/* The events root of the range just read (collect = true). */
static bool
tg_event_scan_root(TgEventScan *s, uint8_t root[TG_HASH_LEN])
{
	tg_root_state rs;
	int64		i;

	if (!tg_root_init(&rs))
		return false;
	for (i = 0; i < s->nhashes; i++)
		if (!tg_root_add(&rs, s->hashes[i].hash))
		{
			tg_root_free(&rs);
			return false;
		}
	return tg_root_final(&rs, root);
}

/* A core ledger function failed: OpenSSL or libsodium could not hash or sign. */
static void
tg_ledger_failed(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("could not %s", what),
			 errdetail("The cryptographic library reported a failure.")));
}

/* The ledger signing key pair (from the master key). */
static void
tg_signing_keys(uint8_t pk[TG_SIGN_PK_LEN], uint8_t sk[TG_SIGN_SK_LEN])
{
	if (!tg_ledger_keypair(tg_master_key(), pk, sk))
		tg_ledger_failed("derive the ledger signing key");
}


/* ------------------------------------------------------------------------
 * Signing key history: a master key replacement endorses the next key
 * ------------------------------------------------------------------------
 */

#define TG_MAX_SIGNING_KEYS 1024

typedef struct TgSigningKey
{
	int64		first_block;
	uint8_t		pk[TG_SIGN_PK_LEN];
} TgSigningKey;

/*
 * Load the signing key history (inside SPI) and check that each key was
 * endorsed by the one before it and that the newest is the current one.
 * Returns the number of keys; *problem is set when the chain is broken.
 */
static int
tg_load_signing_keys(TgSigningKey *keys, const uint8_t current[TG_SIGN_PK_LEN], char **problem)
{
	uint64		i;
	int			n = 0;

	*problem = NULL;
	if (SPI_execute("SELECT first_block, public_key, endorsement FROM tenantguard_audit.signing_keys "
					"ORDER BY id", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read tenantguard_audit.signing_keys");
	for (i = 0; i < SPI_processed && n < TG_MAX_SIGNING_KEYS; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		n1,
					n2,
					n3;
		int64		first = DatumGetInt64(SPI_getbinval(t, d, 1, &n1));
		bytea	   *pk = DatumGetByteaPP(SPI_getbinval(t, d, 2, &n2));
		Datum		e = SPI_getbinval(t, d, 3, &n3);

		if (n2 || VARSIZE_ANY_EXHDR(pk) != TG_SIGN_PK_LEN)
		{
			*problem = pstrdup("a ledger signing key is malformed");
			continue;
		}
		keys[n].first_block = first;
		memcpy(keys[n].pk, VARDATA_ANY(pk), TG_SIGN_PK_LEN);
		if (n > 0)
		{
			bytea	   *sig = n3 ? NULL : DatumGetByteaPP(e);

			if (sig == NULL || VARSIZE_ANY_EXHDR(sig) != TG_SIG_LEN ||
				!tg_ledger_check_endorsement(keys[n - 1].pk, keys[n].pk,
											 (const uint8_t *) VARDATA_ANY(sig)))
				*problem = psprintf("ledger signing key %d is not endorsed by the key before it", n + 1);
		}
		n++;
	}
	if (n > 0 && *problem == NULL && memcmp(keys[n - 1].pk, current, TG_SIGN_PK_LEN) != 0)
		*problem = pstrdup("the ledger's newest signing key does not belong to the configured master key");
	return n;
}

/* The key that signs block_id: the newest key whose first block is not after it. */
static const uint8_t *
tg_key_for_block(const TgSigningKey *keys, int n, int64 block_id, const uint8_t current[TG_SIGN_PK_LEN])
{
	const uint8_t *pk = n == 0 ? current : keys[0].pk;
	int			i;

	for (i = 0; i < n; i++)
		if (keys[i].first_block <= block_id)
			pk = keys[i].pk;
	return pk;
}

/*
 * After the master key was replaced (rewrap_keys), let the old signing key
 * endorse the new one, effective from the next block.
 */
void
tg_audit_rotate_signing_key(const uint8_t old_master_key[32])
{
	int			spi_level;
	uint8_t		old_pk[TG_SIGN_PK_LEN],
				old_sk[TG_SIGN_SK_LEN],
				new_pk[TG_SIGN_PK_LEN],
				new_sk[TG_SIGN_SK_LEN],
				sig[TG_SIG_LEN];
	bytea	   *latest;
	bool		isnull;

	if (!OidIsValid(get_namespace_oid(TG_AUDIT_SCHEMA, true)))
		return;
	if (!tg_ledger_keypair(old_master_key, old_pk, old_sk))
		tg_ledger_failed("derive the old ledger signing key");
	tg_signing_keys(new_pk, new_sk);
	sodium_memzero(new_sk, sizeof(new_sk));
	spi_level = tg_spi_begin();
	if (SPI_execute("LOCK TABLE tenantguard_audit.blocks IN EXCLUSIVE MODE", false, 0) != SPI_OK_UTILITY ||
		SPI_execute("SELECT public_key FROM tenantguard_audit.signing_keys ORDER BY id DESC LIMIT 1",
					true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read tenantguard_audit.signing_keys");
	if (SPI_processed == 0)
	{
		/* nothing was ever sealed: the new key simply starts the ledger */
		tg_spi_end(spi_level);
		sodium_memzero(old_sk, sizeof(old_sk));
		return;
	}
	latest = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (VARSIZE_ANY_EXHDR(latest) == TG_SIGN_PK_LEN && memcmp(VARDATA_ANY(latest), new_pk, TG_SIGN_PK_LEN) == 0)
	{
		tg_spi_end(spi_level);
		sodium_memzero(old_sk, sizeof(old_sk));
		return;
	}
	if (VARSIZE_ANY_EXHDR(latest) != TG_SIGN_PK_LEN || memcmp(VARDATA_ANY(latest), old_pk, TG_SIGN_PK_LEN) != 0)
	{
		sodium_memzero(old_sk, sizeof(old_sk));
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the old master key does not match the audit ledger's signing key")));
	}
	if (!tg_ledger_endorse(old_sk, new_pk, sig))
	{
		sodium_memzero(old_sk, sizeof(old_sk));
		tg_ledger_failed("endorse the new ledger signing key");
	}
	sodium_memzero(old_sk, sizeof(old_sk));
	{
		Oid			types[2] = {BYTEAOID, BYTEAOID};
		Datum		vals[2];

		vals[0] = PointerGetDatum(tg_bytea(new_pk, TG_SIGN_PK_LEN));
		vals[1] = PointerGetDatum(tg_bytea(sig, TG_SIG_LEN));
		if (SPI_execute_with_args("INSERT INTO tenantguard_audit.signing_keys (first_block, public_key, endorsement) "
								  "SELECT COALESCE(pg_catalog.max(id), 0) OPERATOR(pg_catalog.+) 1, $1, $2 FROM tenantguard_audit.blocks",
								  2, types, vals, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not store the new ledger signing key");
	}
	tg_spi_end(spi_level);
}

/*
 * Check the signing key history before sealing (inside SPI); store the
 * current key when there is none yet.
 */
static void
tg_check_signing_key(const uint8_t pk[TG_SIGN_PK_LEN])
{
	TgSigningKey *keys = palloc(sizeof(TgSigningKey) * TG_MAX_SIGNING_KEYS);
	char	   *problem;
	int			nkeys = tg_load_signing_keys(keys, pk, &problem);

	if (problem)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot seal audit events: %s", problem),
				 errhint("After replacing the master key file, run tenantguard.rewrap_keys('<old key file>').")));
	if (nkeys == 0)
	{
		Oid			types[1] = {BYTEAOID};
		Datum		vals[1];

		vals[0] = PointerGetDatum(tg_bytea(pk, TG_SIGN_PK_LEN));
		if (SPI_execute_with_args("INSERT INTO tenantguard_audit.signing_keys (first_block, public_key) "
								  "SELECT COALESCE(pg_catalog.max(id), 0) OPERATOR(pg_catalog.+) 1, $1 FROM tenantguard_audit.blocks",
								  1, types, vals, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not store the ledger signing key");
	}
	pfree(keys);
}

/* Store a sealed block (inside SPI). */
static void
tg_store_block(int64 id, uint64 from_xid, uint64 to_xid, int64 count, int64 first_event,
			   int64 last_event, const uint8_t root[TG_HASH_LEN], const uint8_t prev[TG_HASH_LEN],
			   const uint8_t hash[TG_HASH_LEN], const uint8_t sig[TG_SIG_LEN])
{
	Oid			types[10] = {INT8OID, XID8OID, XID8OID, INT8OID, INT8OID, INT8OID,
	BYTEAOID, BYTEAOID, BYTEAOID, BYTEAOID};
	Datum		vals[10];

	vals[0] = Int64GetDatum(id);
	vals[1] = UInt64GetDatum(from_xid);
	vals[2] = UInt64GetDatum(to_xid);
	vals[3] = Int64GetDatum(count);
	vals[4] = Int64GetDatum(first_event);
	vals[5] = Int64GetDatum(last_event);
	vals[6] = PointerGetDatum(tg_bytea(root, TG_HASH_LEN));
	vals[7] = PointerGetDatum(tg_bytea(prev, TG_HASH_LEN));
	vals[8] = PointerGetDatum(tg_bytea(hash, TG_HASH_LEN));
	vals[9] = PointerGetDatum(tg_bytea(sig, TG_SIG_LEN));
	if (SPI_execute_with_args("INSERT INTO tenantguard_audit.blocks "
							  "(id, from_xid, to_xid, event_count, first_event, last_event, "
							  " events_root, prev_hash, block_hash, signature) "
							  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
							  10, types, vals, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not store an audit block");
}

/*
 * Seal every committed, not yet sealed event into one new block. Events are
 * grouped by transaction id: the block covers [previous to_xid, horizon),
 * where horizon is the oldest transaction still running, so no event can
 * later appear inside a sealed range. Returns the number of events sealed.
 */
int64
tg_audit_seal(void)
{
	int			spi_level;
	int64		sealed = 0;
	int64		prev_id = 0;
	uint64		from_xid = 0,
				horizon;
	uint8_t		prev_hash[TG_HASH_LEN];
	uint8_t		root[TG_HASH_LEN],
				bhash[TG_HASH_LEN],
				sig[TG_SIG_LEN],
				pk[TG_SIGN_PK_LEN],
				sk[TG_SIGN_SK_LEN];
	int64		first_event = 0,
				last_event = 0;
	TgEventScan scan;

	memset(prev_hash, 0, sizeof(prev_hash));
	tg_signing_keys(pk, sk);

	spi_level = tg_spi_begin();
	if (SPI_execute("LOCK TABLE tenantguard_audit.blocks IN EXCLUSIVE MODE", false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not lock tenantguard_audit.blocks");
	tg_check_signing_key(pk);
	/* not read-only: after waiting for the lock, see the block a concurrent sealer committed */
	if (SPI_execute("SELECT id, to_xid, block_hash FROM tenantguard_audit.blocks ORDER BY id DESC LIMIT 1",
					false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read tenantguard_audit.blocks");
	if (SPI_processed == 1)
	{
		bool		isnull;
		bytea	   *h;

		prev_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		from_xid = DatumGetUInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		h = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
		if (VARSIZE_ANY_EXHDR(h) == TG_HASH_LEN)
			memcpy(prev_hash, VARDATA_ANY(h), TG_HASH_LEN);
	}
	if (SPI_execute("SELECT pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())", false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read the transaction horizon");
	{
		bool		isnull;

		horizon = DatumGetUInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	if (horizon < from_xid)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the transaction counter is behind the audit ledger"),
				 errdetail("The newest block ends at transaction %llu; this cluster is at %llu (restored into a new cluster?).",
						   (unsigned long long) from_xid, (unsigned long long) horizon),
				 errhint("Run CALL tenantguard_audit.catch_up(); right after a restore, before new events are written.")));
	if (horizon <= from_xid)
	{
		tg_spi_end(spi_level);
		sodium_memzero(sk, sizeof(sk));
		return 0;
	}

	/*
	 * The horizon's transactions have all ended, so any snapshot from now on
	 * sees the same events below it: GetTransactionSnapshot(), as the SQL
	 * reading them used (a fresh one in READ COMMITTED).
	 */
	tg_event_scan_begin(&scan, GetTransactionSnapshot(), NULL, true);
	tg_event_scan_range(&scan, from_xid, horizon);
	if (scan.any_bad)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("audit event %lld does not match its hash", (long long) scan.first_bad),
				 errdetail("The event was altered before it was sealed; sealing stops here."),
				 errhint("Investigate with tenantguard_audit.verify().")));
	if (!tg_event_scan_root(&scan, root))
		tg_ledger_failed("hash audit events");
	sealed = scan.nhashes;
	if (sealed > 0)
	{
		first_event = scan.hashes[0].id;
		last_event = scan.hashes[sealed - 1].id;
	}
	tg_event_scan_end(&scan);

	if (!tg_block_hash(prev_id + 1, from_xid, horizon, sealed, root, prev_hash, bhash) ||
		!tg_ledger_sign(sk, bhash, sig))
	{
		sodium_memzero(sk, sizeof(sk));
		tg_ledger_failed("sign an audit block");
	}
	sodium_memzero(sk, sizeof(sk));
	if (sealed > 0)
		tg_store_block(prev_id + 1, from_xid, horizon, sealed, first_event, last_event,
					   root, prev_hash, bhash, sig);
	tg_spi_end(spi_level);
	return sealed;
}

PG_FUNCTION_INFO_V1(tg_audit_seal_sql);

Datum
tg_audit_seal_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(tg_audit_seal());
}

/* One result row of verify(). */
typedef struct TgVerifyResult
{
	bool		ok;
	int64		events;
	int64		blocks;
	int64		first_bad;
	char	   *problem;
} TgVerifyResult;

static void
tg_verify_fail(TgVerifyResult *r, int64 event, char *problem)
{
	if (!r->ok)
		return;
	r->ok = false;
	r->first_bad = event;
	r->problem = problem;
}

/* Verify every event and every block. */
static void
tg_audit_verify(const pg_uuid_t *tenant, TgVerifyResult *r, int64 upto_block,
				uint8_t last_hash[TG_HASH_LEN], int64 *last_block)
{
	uint8_t		prev[TG_HASH_LEN];
	uint8_t		pk[TG_SIGN_PK_LEN],
				sk[TG_SIGN_SK_LEN];
	uint64		next_from = 0;
	int64		expect_id = 1;
	SPITupleTable *blocks;
	uint64		nblocks,
				b;

	TgSigningKey *keys = palloc(sizeof(TgSigningKey) * TG_MAX_SIGNING_KEYS);
	int			nkeys;
	char	   *key_problem;
	TgEventScan scan;

	memset(r, 0, sizeof(*r));
	r->ok = true;
	memset(prev, 0, sizeof(prev));
	tg_signing_keys(pk, sk);
	sodium_memzero(sk, sizeof(sk));
	nkeys = tg_load_signing_keys(keys, pk, &key_problem);
	if (key_problem)
		tg_verify_fail(r, 0, key_problem);

	if (SPI_execute("SELECT id, from_xid, to_xid, event_count, events_root, prev_hash, block_hash, signature, first_event "
					"FROM tenantguard_audit.blocks ORDER BY id", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read tenantguard_audit.blocks");
	blocks = SPI_tuptable;
	nblocks = SPI_processed;
	/* the snapshot of the calling statement, as the SQL reading them used (read only) */
	tg_event_scan_begin(&scan, ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot(),
						tenant, true);
	for (b = 0; b < nblocks; b++)
	{
		HeapTuple	t = blocks->vals[b];
		TupleDesc	d = blocks->tupdesc;
		bool		n[9];
		int64		id = DatumGetInt64(SPI_getbinval(t, d, 1, &n[0]));
		uint64		from = DatumGetUInt64(SPI_getbinval(t, d, 2, &n[1]));
		uint64		to = DatumGetUInt64(SPI_getbinval(t, d, 3, &n[2]));
		int64		count = DatumGetInt64(SPI_getbinval(t, d, 4, &n[3]));
		Datum		rootd = SPI_getbinval(t, d, 5, &n[4]);
		Datum		prevd = SPI_getbinval(t, d, 6, &n[5]);
		Datum		hashd = SPI_getbinval(t, d, 7, &n[6]);
		Datum		sigd = SPI_getbinval(t, d, 8, &n[7]);
		Datum		firstd = SPI_getbinval(t, d, 9, &n[8]);
		int64		first = n[8] ? 0 : DatumGetInt64(firstd);
		uint8_t		root[TG_HASH_LEN],
					bh[TG_HASH_LEN];
		int64		seen = 0;
		bytea	   *sig;

		if (upto_block > 0 && id > upto_block)
			break;
		r->blocks++;
		if (id != expect_id)
			tg_verify_fail(r, first, psprintf("block %lld is missing or out of order", (long long) expect_id));
		if (from != next_from)
			tg_verify_fail(r, first, psprintf("block %lld does not start where block %lld ended",
											  (long long) id, (long long) id - 1));
		if (!tg_bytea_eq(prevd, prev, TG_HASH_LEN))
			tg_verify_fail(r, first, psprintf("block %lld does not link to the previous block", (long long) id));
		tg_event_scan_range(&scan, from, to);
		if (scan.any_bad)
			tg_verify_fail(r, scan.first_bad, psprintf("event %lld does not match its hash (altered)",
													   (long long) scan.first_bad));
		r->events += scan.tenant_count;
		seen = scan.count;
		if (!tg_event_scan_root(&scan, root))
			tg_ledger_failed("hash audit events");
		if (seen != count)
			tg_verify_fail(r, first, psprintf("block %lld sealed %lld events but %lld are present (events were deleted or inserted)",
											  (long long) id, (long long) count, (long long) seen));
		else if (!tg_bytea_eq(rootd, root, TG_HASH_LEN))
			tg_verify_fail(r, first, psprintf("events of block %lld do not match its root (events were replaced)",
											  (long long) id));
		if (!tg_block_hash(id, from, to, count, root, prev, bh))
			tg_ledger_failed("hash an audit block");
		if (!tg_bytea_eq(hashd, bh, TG_HASH_LEN))
			tg_verify_fail(r, first, psprintf("block %lld does not match its hash", (long long) id));
		sig = DatumGetByteaPP(sigd);
		if (VARSIZE_ANY_EXHDR(sig) != TG_SIG_LEN ||
			!tg_ledger_verify(tg_key_for_block(keys, nkeys, id, pk), bh, (const uint8_t *) VARDATA_ANY(sig)))
			tg_verify_fail(r, first, psprintf("signature of block %lld is not valid", (long long) id));
		/* continue the chain with the recomputed hash, so one break is reported once */
		memcpy(prev, bh, TG_HASH_LEN);
		next_from = to;
		expect_id = id + 1;
		if (last_block)
			*last_block = id;
		if (last_hash)
			memcpy(last_hash, bh, TG_HASH_LEN);
	}
	if (upto_block == 0)
	{
		/* the events after the last block: their hashes */
		scan.collect = false;
		tg_event_scan_range(&scan, next_from, 0);
		if (scan.any_bad)
			tg_verify_fail(r, scan.first_bad, psprintf("event %lld does not match its hash (altered)",
													   (long long) scan.first_bad));
		r->events += scan.tenant_count;
	}
	tg_event_scan_end(&scan);
}

PG_FUNCTION_INFO_V1(tg_audit_verify_sql);

/* verify(tenant): recompute every event hash and every block link. */
Datum
tg_audit_verify_sql(PG_FUNCTION_ARGS)
{
	int			spi_level;
	TupleDesc	tupdesc;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};
	TgVerifyResult r;
	pg_uuid_t	tenant;

	if (!PG_ARGISNULL(0))
		tenant = *PG_GETARG_UUID_P(0);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "verify must return a composite type");
	tupdesc = BlessTupleDesc(tupdesc);
	spi_level = tg_spi_begin();
	tg_audit_verify(PG_ARGISNULL(0) ? NULL : &tenant, &r, 0, NULL, NULL);
	values[0] = BoolGetDatum(r.ok);
	values[1] = Int64GetDatum(r.events);
	values[2] = Int64GetDatum(r.blocks);
	if (r.ok || r.first_bad == 0)
		nulls[3] = true;
	else
		values[3] = Int64GetDatum(r.first_bad);
	if (r.problem)
		values[4] = CStringGetTextDatum(r.problem);
	else
		nulls[4] = true;
	{
		HeapTuple	tup = heap_form_tuple(tupdesc, values, nulls);
		Datum		result;

		/* copy out of SPI memory before finishing */
		result = SPI_datumTransfer(HeapTupleGetDatum(tup), false, -1);
		tg_spi_end(spi_level);
		PG_RETURN_DATUM(result);
	}
}

PG_FUNCTION_INFO_V1(tg_audit_public_key);

/* public_key(): the ledger's Ed25519 public key, standard base64. */
Datum
tg_audit_public_key(PG_FUNCTION_ARGS)
{
	uint8_t		pk[TG_SIGN_PK_LEN],
				sk[TG_SIGN_SK_LEN];
	char		out[sodium_base64_ENCODED_LEN(TG_SIGN_PK_LEN, sodium_base64_VARIANT_ORIGINAL)];

	tg_signing_keys(pk, sk);
	sodium_memzero(sk, sizeof(sk));
	sodium_bin2base64(out, sizeof(out), pk, TG_SIGN_PK_LEN, sodium_base64_VARIANT_ORIGINAL);
	PG_RETURN_TEXT_P(cstring_to_text(out));
}

PG_FUNCTION_INFO_V1(tg_audit_verify_chain_to);

/*
 * _verify_chain_to(block_id, block_hash): true when blocks 1..block_id verify
 * and block block_id has exactly that hash. Used by verify_digest().
 */
Datum
tg_audit_verify_chain_to(PG_FUNCTION_ARGS)
{
	int			spi_level;
	int64		block_id = PG_GETARG_INT64(0);
	bytea	   *want = PG_GETARG_BYTEA_PP(1);
	TgVerifyResult r;
	uint8_t		last[TG_HASH_LEN];
	int64		last_id = 0;
	bool		ok;

	if (block_id < 1)
		PG_RETURN_BOOL(false);
	spi_level = tg_spi_begin();
	tg_audit_verify(NULL, &r, block_id, last, &last_id);
	tg_spi_end(spi_level);
	ok = r.ok && last_id == block_id && VARSIZE_ANY_EXHDR(want) == TG_HASH_LEN &&
		memcmp(VARDATA_ANY(want), last, TG_HASH_LEN) == 0;
	PG_RETURN_BOOL(ok);
}
