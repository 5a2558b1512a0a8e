/*
 * blocks.c — the ledger's tamper evidence: sealing committed events into
 * hash-chained blocks signed with an Ed25519 key derived from the master key,
 * the signing-key history (a master key replacement endorses the next key),
 * and verification of every event and every block.
 *
 * Layer 4: uses the keyring and privileged.c (layer 2, 1) and the event
 * store's hashing (layer 3); SQL through SPI with search_path pinned.
 */
#include "postgres.h"

#include <sodium.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/uuid.h"

#include "core/ledger.h"
#include "blocks.h"
#include "catalog.h"
#include "event_store.h"
#include "keyring.h"
#include "privileged.h"

/*
 * Stream the stored events with txid in [from, to) (to = 0: no upper bound)
 * in id order, inside SPI, calling visit for each row.
 */
typedef void (*TgEventVisitor) (HeapTuple tup, TupleDesc desc, void *arg);

static void
tg_stream_events(uint64 from, uint64 to, bool read_only, TgEventVisitor visit, void *arg)
{
	Portal		portal;
	Oid			argtypes[2] = {XID8OID, XID8OID};
	Datum		args[2];
	char	   *q;

	q = psprintf("SELECT %s FROM tenantguard_audit.events WHERE txid OPERATOR(pg_catalog.>=) $1 %s ORDER BY id",
				 tg_events_columns, to ? "AND txid OPERATOR(pg_catalog.<) $2" : "AND $2 IS NULL");
	args[0] = UInt64GetDatum(from);
	args[1] = UInt64GetDatum(to);
	portal = SPI_cursor_open_with_args(NULL, q, 2, argtypes, args, to ? NULL : " n", read_only, 0);
	for (;;)
	{
		uint64		i;

		SPI_cursor_fetch(portal, true, 1000);
		if (SPI_processed == 0)
			break;
		for (i = 0; i < SPI_processed; i++)
			visit(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, arg);
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	pfree(q);
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

/* Sealing: every event must match its hash; its hash joins the root. */
typedef struct TgSealState
{
	tg_root_state rs;
	int64		first;
	int64		last;
} TgSealState;

static void
tg_seal_visit(HeapTuple tup, TupleDesc desc, void *arg)
{
	TgSealState *st = (TgSealState *) arg;
	uint8_t		h[TG_HASH_LEN];
	int64		id;

	if (!tg_event_row_ok(tup, desc, h, &id))
	{
		tg_root_free(&st->rs);
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("audit event %lld does not match its hash", (long long) id),
				 errdetail("The event was altered before it was sealed; sealing stops here."),
				 errhint("Investigate with tenantguard_audit.verify().")));
	}
	if (!tg_root_add(&st->rs, h))
		tg_ledger_failed("hash audit events");
	if (st->first == 0)
		st->first = id;
	st->last = id;
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
	TgSealState st;

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

	memset(&st, 0, sizeof(st));
	if (!tg_root_init(&st.rs))
		tg_ledger_failed("hash audit events");
	tg_stream_events(from_xid, horizon, false, tg_seal_visit, &st);
	if (!tg_root_final(&st.rs, root))
		tg_ledger_failed("hash audit events");
	sealed = st.rs.count;
	first_event = st.first;
	last_event = st.last;

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

/* Verification: each event's hash, the root of its block, the counts. */
typedef struct TgVerifyState
{
	TgVerifyResult *r;
	tg_root_state *rs;			/* NULL: events after the last block */
	const pg_uuid_t *tenant;
	int64		count;
} TgVerifyState;

static void
tg_verify_visit(HeapTuple tup, TupleDesc desc, void *arg)
{
	TgVerifyState *st = (TgVerifyState *) arg;
	uint8_t		h[TG_HASH_LEN];
	int64		id;
	bool		isnull;
	Datum		t;

	if (!tg_event_row_ok(tup, desc, h, &id))
		tg_verify_fail(st->r, id, psprintf("event %lld does not match its hash (altered)", (long long) id));
	if (st->rs && !tg_root_add(st->rs, h))
		tg_ledger_failed("hash audit events");
	st->count++;
	t = heap_getattr(tup, EV_TENANT_ID + 1, desc, &isnull);
	if (st->tenant == NULL ||
		(!isnull && memcmp(DatumGetUUIDP(t)->data, st->tenant->data, UUID_LEN) == 0))
		st->r->events++;
}

/* Check the events of [from, to) (to = 0: no upper bound); returns how many there are. */
static int64
tg_verify_events(TgVerifyResult *r, uint64 from, uint64 to, tg_root_state *rs,
				 const pg_uuid_t *tenant)
{
	TgVerifyState st;

	st.r = r;
	st.rs = rs;
	st.tenant = tenant;
	st.count = 0;
	tg_stream_events(from, to, true, tg_verify_visit, &st);
	return st.count;
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
		tg_root_state rs;
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
		if (!tg_root_init(&rs))
			tg_ledger_failed("hash audit events");
		seen = tg_verify_events(r, from, to, &rs, tenant);
		if (!tg_root_final(&rs, root))
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
		(void) tg_verify_events(r, next_from, 0, NULL, tenant);
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
