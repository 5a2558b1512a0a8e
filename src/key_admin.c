/*
 * key_admin.c — key administration: rotate_data_key(), reencrypt() (and the
 * _reseal() it runs), rewrap_keys() after a master key replacement (the
 * ledger's signing key follows).
 *
 * Layer 8: uses the keyring, sealing, the caches, the context, the ledger's
 * blocks and privileged.c.
 */
#include "postgres.h"

#include <sodium.h>

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "core/keys.h"
#include "blocks.h"
#include "cache.h"
#include "catalog.h"
#include "context.h"
#include "event_store.h"
#include "keyring.h"
#include "privileged.h"
#include "seal.h"
#include "secret_type.h"
#include "tenantguard.h"

/* > 0 while reencrypt() runs its UPDATE: the only time _reseal() works. */
static int	tg_reencrypt_depth = 0;

PG_FUNCTION_INFO_V1(tg_reseal);

/*
 * _reseal(s): re-encrypt under the newest data key for the same tenant.
 * Executable by anyone (reencrypt() runs its UPDATE as the table's owner),
 * but refused outside reencrypt().
 */
Datum
tg_reseal(PG_FUNCTION_ARGS)
{
	bytea	   *s = PG_GETARG_BYTEA_PP(0);
	tg_env_header h;
	int32		newest;
	size_t		n = 0;
	uint8_t    *pt;
	bytea	   *result;

	if (tg_reencrypt_depth == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("tenantguard._reseal() can only be called by tenantguard.reencrypt()")));
	tg_secret_check((const uint8_t *) VARDATA_ANY(s), VARSIZE_ANY_EXHDR(s), &h);
	newest = tg_newest_data_version();
	if ((int32) h.key_version >= newest)
		PG_RETURN_BYTEA_P(PG_GETARG_BYTEA_P_COPY(0));
	pt = tg_open_bytes(s, &h, &n);
	result = tg_seal_bytes(h.tenant, newest, h.flags, pt, n);
	sodium_memzero(pt, n);
	pfree(pt);
	PG_RETURN_BYTEA_P(result);
}

/* One pass of reencrypt(): the current context's rows (or all, unprotected). */
static int64
tg_reencrypt_pass(const char *sql, int32 newest, int batch, int64 max_rows, int64 done)
{
	Oid			argtypes[2] = {INT4OID, INT4OID};
	Datum		values[2];
	int64		n = 0;

	values[0] = Int32GetDatum(newest);
	for (;;)
	{
		int64		step = batch;
		int			rc;

		if (max_rows >= 0 && max_rows - done - n < step)
			step = max_rows - done - n;
		if (step <= 0)
			break;
		values[1] = Int32GetDatum((int32) step);
		rc = SPI_execute_with_args(sql, 2, argtypes, values, NULL, false, 0);
		if (rc != SPI_OK_UPDATE)
			elog(ERROR, "reencrypt: unexpected SPI result %d", rc);
		if (SPI_processed == 0)
			break;
		n += (int64) SPI_processed;
		CHECK_FOR_INTERRUPTS();
	}
	return n;
}

/* Every pass of reencrypt(), inside SPI with search_path pinned. */
static int64
tg_reencrypt_all(const char *sql, int32 newest, int batch, int64 max_rows,
				 bool protected, List *tenants)
{
	int			spi_level = tg_spi_begin();
	int64		done = 0;
	ListCell   *lc;

	if (!protected)
		done = tg_reencrypt_pass(sql, newest, batch, max_rows, 0);
	else
		foreach(lc, tenants)
		{
			int			level = NewGUCNestLevel();

			tg_context_enter_nested((pg_uuid_t *) lfirst(lc));
			done += tg_reencrypt_pass(sql, newest, batch, max_rows, done);
			AtEOXact_GUC(true, level);
			if (max_rows >= 0 && done >= max_rows)
				break;
		}
	tg_spi_end(spi_level);
	return done;
}

PG_FUNCTION_INFO_V1(tg_reencrypt);

/*
 * reencrypt(rel, col, batch, max_rows): rewrite a secret column to the
 * newest data key, in batches, touching only stale rows (so it resumes).
 *
 * The UPDATE runs as the table's owner in a security-restricted operation
 * with search_path pinned, never as a superuser: the table's triggers,
 * defaults, constraints and index expressions are its owner's code. A
 * protected table is visited tenant by tenant, each in that tenant's
 * context, since its owner is subject to the forced isolation policy.
 */
Datum
tg_reencrypt(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *col;
	int32		batch;
	int64		max_rows;
	AttrNumber	attnum;
	Oid			secret_type;
	HeapTuple	ctup;
	Oid			owner;
	char	   *relname;
	char	   *qcol;
	char	   *sql;
	int32		newest;
	List	   *volatile tenants = NIL;
	bool		protected;
	volatile int64 done = 0;
	Oid			save_user;
	int			save_sec;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("rel, col and batch must not be null")));
	relid = PG_GETARG_OID(0);
	col = NameStr(*PG_GETARG_NAME(1));
	batch = PG_GETARG_INT32(2);
	max_rows = PG_ARGISNULL(3) ? -1 : PG_GETARG_INT64(3);
	if (batch < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch must be at least 1")));
	if (max_rows < -1)
		max_rows = 0;

	ctup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(ctup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	{
		Form_pg_class c = (Form_pg_class) GETSTRUCT(ctup);

		if (c->relkind != RELKIND_RELATION && c->relkind != RELKIND_PARTITIONED_TABLE)
		{
			ReleaseSysCache(ctup);
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("\"%s\" is not a table", get_rel_name(relid))));
		}
		owner = c->relowner;
		relname = quote_qualified_identifier(get_namespace_name(c->relnamespace), NameStr(c->relname));
	}
	ReleaseSysCache(ctup);
	if (!pg_class_ownercheck(relid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of table %s", relname)));

	secret_type = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("secret"),
								  ObjectIdGetDatum(get_namespace_oid(TG_SCHEMA, false)));
	attnum = get_attnum(relid, col);
	if (attnum <= 0 || get_atttype(relid, attnum) != secret_type)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of %s is not of type tenantguard.secret", col, relname)));

	newest = tg_newest_data_version();
	qcol = (char *) quote_identifier(col);
	sql = psprintf("WITH stale AS (SELECT ctid FROM %1$s "
				   "WHERE tenantguard.secret_key_version(%2$s) OPERATOR(pg_catalog.<) $1 "
				   "LIMIT $2 FOR UPDATE) "
				   "UPDATE %1$s t SET %2$s = tenantguard._reseal(t.%2$s) FROM stale "
				   "WHERE t.ctid OPERATOR(pg_catalog.=) stale.ctid "
				   "AND tenantguard.secret_key_version(t.%2$s) OPERATOR(pg_catalog.<) $1",
				   relname, qcol);

	protected = tg_is_protected(relid, NULL);
	if (protected)
		tenants = tg_tenant_ids();

	tg_begin_as(owner, &save_user, &save_sec);
	tg_reencrypt_depth++;
	PG_TRY();
	{
		done = tg_reencrypt_all(sql, newest, batch, max_rows, protected, tenants);
	}
	PG_FINALLY();
	{
		tg_reencrypt_depth--;
		tg_end_as(save_user, save_sec);
	}
	PG_END_TRY();

	{
		TgAuditEvent ev;
		char	   *object = psprintf("%s.%s", relname, qcol);
		char	   *details = psprintf("{\"rows\": %lld, \"key_version\": %d}",
									   (long long) done, (int) newest);

		tg_event_init(&ev, tg_actor_current(), "secret", "reencrypt");
		ev.object = object;
		ev.details_json = details;
		tg_audit_record(&ev);
	}
	PG_RETURN_INT64(done);
}

PG_FUNCTION_INFO_V1(tg_rotate_data_key);

/* rotate_data_key(): a new data key version; new seals use it. */
Datum
tg_rotate_data_key(PG_FUNCTION_ARGS)
{
	int32		v = tg_create_key(TG_KEY_PURPOSE_DATA, false);
	TgAuditEvent ev;
	char		details[48];

	snprintf(details, sizeof(details), "{\"key_version\": %d}", (int) v);
	tg_event_init(&ev, tg_actor_current(), "secret", "key.rotate");
	ev.actor.has_tenant = false;	/* concerns every tenant */
	ev.object = "data_keys";
	ev.details_json = details;
	tg_audit_record(&ev);
	PG_RETURN_INT32(v);
}

PG_FUNCTION_INFO_V1(tg_newest_key_version_fn);

/* _newest_key_version(): the version new seals use (creates version 1). */
Datum
tg_newest_key_version_fn(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(tg_newest_data_version());
}

PG_FUNCTION_INFO_V1(tg_rewrap_keys);

/*
 * rewrap_keys(old_master_key_file): after the master key file was replaced,
 * re-wrap every stored key from the old master key to the current one.
 */
Datum
tg_rewrap_keys(PG_FUNCTION_ARGS)
{
	char	   *old_path = text_to_cstring(PG_GETARG_TEXT_PP(0));
	uint8_t    *old_mk;
	uint8_t		old_id[TG_KEY_ID_LEN];
	const uint8_t *mk;
	int			rewrapped = 0;
	uint64		i;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only superusers may rewrap keys"),
				 errdetail("rewrap_keys() reads a key file on the server.")));

	tg_forget_master_key();
	mk = tg_master_key();
	old_mk = sodium_malloc(TG_KEY_LEN);
	if (old_mk == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not allocate secure memory for a key")));
	PG_TRY();
	{
		int			spi_level;
		tg_read_key_file(old_path, "old_master_key_file", old_mk);
		tg_key_id(old_mk, old_id);

		spi_level = tg_spi_begin();
		if (SPI_execute("SELECT version, purpose, wrapped, master_key_id FROM tenantguard.data_keys "
						"ORDER BY purpose, version FOR UPDATE", false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read tenantguard.data_keys");
		{
			SPITupleTable *tt = SPI_tuptable;
			uint64		n = SPI_processed;

			for (i = 0; i < n; i++)
			{
				bool		isnull;
				int32		version = DatumGetInt32(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull));
				char	   *purpose = SPI_getvalue(tt->vals[i], tt->tupdesc, 2);
				bytea	   *wrapped = DatumGetByteaPP(SPI_getbinval(tt->vals[i], tt->tupdesc, 3, &isnull));
				bytea	   *id = DatumGetByteaPP(SPI_getbinval(tt->vals[i], tt->tupdesc, 4, &isnull));
				tg_key_purpose p = strcmp(purpose, "index") == 0 ? TG_KEY_PURPOSE_INDEX : TG_KEY_PURPOSE_DATA;
				uint8_t		k[TG_KEY_LEN];
				uint8_t		rw[TG_WRAPPED_LEN];
				Oid			argtypes[4] = {BYTEAOID, BYTEAOID, INT4OID, TEXTOID};
				Datum		values[4];

				if (VARSIZE_ANY_EXHDR(id) == TG_KEY_ID_LEN &&
					memcmp(VARDATA_ANY(id), tg_master_key_id(), TG_KEY_ID_LEN) == 0)
					continue;	/* already under the current master key */
				if (VARSIZE_ANY_EXHDR(id) != TG_KEY_ID_LEN ||
					memcmp(VARDATA_ANY(id), old_id, TG_KEY_ID_LEN) != 0)
					ereport(ERROR,
							(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
							 errmsg("%s key version %d is wrapped by neither the old nor the current master key",
									purpose, version)));
				if (!tg_key_unwrap(old_mk, p, (uint32_t) version, (const uint8_t *) VARDATA_ANY(wrapped),
								   VARSIZE_ANY_EXHDR(wrapped), k))
					ereport(ERROR,
							(errcode(ERRCODE_DATA_CORRUPTED),
							 errmsg("%s key version %d failed authentication", purpose, version)));
				if (!tg_key_wrap(mk, p, (uint32_t) version, k, rw))
				{
					sodium_memzero(k, sizeof(k));
					elog(ERROR, "could not wrap a key");
				}
				sodium_memzero(k, sizeof(k));
				values[0] = PointerGetDatum(tg_bytea(rw, TG_WRAPPED_LEN));
				values[1] = PointerGetDatum(tg_bytea(tg_master_key_id(), TG_KEY_ID_LEN));
				values[2] = Int32GetDatum(version);
				values[3] = CStringGetTextDatum(purpose);
				if (SPI_execute_with_args("UPDATE tenantguard.data_keys SET wrapped = $1, master_key_id = $2 "
										  "WHERE version OPERATOR(pg_catalog.=) $3 AND purpose OPERATOR(pg_catalog.=) $4",
										  4, argtypes, values, NULL, false, 0) != SPI_OK_UPDATE)
					elog(ERROR, "could not update tenantguard.data_keys");
				rewrapped++;
			}
		}
		tg_spi_end(spi_level);
		/* the audit ledger's signing key follows the master key */
		tg_audit_rotate_signing_key(old_mk);
	}
	PG_FINALLY();
	{
		sodium_free(old_mk);
		tg_forget_data_keys();
	}
	PG_END_TRY();
	{
		TgAuditEvent ev;
		char		details[48];

		snprintf(details, sizeof(details), "{\"keys\": %d}", rewrapped);
		tg_event_init(&ev, tg_actor_current(), "secret", "key.rewrap");
		ev.actor.has_tenant = false;	/* concerns every tenant */
		ev.object = "data_keys";
		ev.details_json = details;
		tg_audit_record(&ev);
	}
	PG_RETURN_INT32(rewrapped);
}

