/*
 * secrets.c — encrypted secrets: the master key, versioned data keys, the
 * tenantguard.secret type, seal/reveal, blind indexes, rotation and rewrap.
 *
 * Keys live only in sodium_malloc'ed memory of this backend, are loaded
 * lazily, and are dropped when tenantguard.data_keys changes (relcache
 * invalidation sent by its statement trigger) or the master key setting is
 * reloaded. No key ever reaches SQL.
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid_d.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inet.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/acl.h"
#include "utils/syscache.h"

#include "core/encoding.h"
#include "core/envelope.h"
#include "core/keys.h"
#include "core/secret_ref.h"
#include "tenantguard.h"

#define TG_SECRET_PREFIX "tgs1:"
#define TG_MAX_KEYS 1024

typedef struct TgKey
{
	int32		version;
	uint8_t    *key;			/* sodium_malloc'ed, TG_KEY_LEN bytes */
} TgKey;

static char *tg_master_key_file = NULL;

/* master key and its id; NULL until loaded */
static uint8_t *tg_mk = NULL;
static uint8_t tg_mk_id[TG_KEY_ID_LEN];

/* data keys by version, and the index key; valid while tg_keys_loaded */
static bool tg_keys_loaded = false;
static Oid	tg_keys_relid = InvalidOid;
static TgKey tg_data_keys[TG_MAX_KEYS];
static int	tg_n_data_keys = 0;
static int32 tg_newest_version = 0;
static uint8_t *tg_index_key = NULL;

static const char *tg_mk_hint =
"Set tenantguard.master_key_file in postgresql.conf to a file owned by the server's "
"OS user, mode 0600, holding 64 hex characters (e.g. openssl rand -hex 32), then reload.";

static void
tg_forget_data_keys(void)
{
	int			i;

	for (i = 0; i < tg_n_data_keys; i++)
		if (tg_data_keys[i].key)
			sodium_free(tg_data_keys[i].key);
	tg_n_data_keys = 0;
	tg_newest_version = 0;
	if (tg_index_key)
		sodium_free(tg_index_key);
	tg_index_key = NULL;
	tg_keys_loaded = false;
}

static void
tg_forget_master_key(void)
{
	if (tg_mk)
		sodium_free(tg_mk);
	tg_mk = NULL;
	tg_forget_data_keys();
}

/* Bumped by every invalidation of the keys; a load that saw one retries. */
static uint64 tg_keys_generation = 0;

static void
tg_keys_relcache_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == tg_keys_relid)
	{
		tg_keys_generation++;
		tg_forget_data_keys();
	}
}

static void
tg_master_key_file_assign(const char *newval, void *extra)
{
	tg_forget_master_key();
}

void
tg_secrets_init(void)
{
	if (sodium_init() < 0)
		ereport(FATAL,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not initialize libsodium")));

	DefineCustomStringVariable("tenantguard.master_key_file",
							   "File holding the master key (64 hex characters, mode 0600).",
							   "The master key wraps the data keys that encrypt secrets.",
							   &tg_master_key_file,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY,
							   NULL, tg_master_key_file_assign, NULL);

	CacheRegisterRelcacheCallback(tg_keys_relcache_callback, (Datum) 0);
}

/*
 * Read and check a master key file: a regular file, not accessible to
 * other OS users, holding 64 hex characters. Errors never show contents.
 */
static void
tg_read_key_file(const char *path, const char *setting, uint8_t out[TG_KEY_LEN])
{
	struct stat st;
	char		buf[256];
	ssize_t		n;
	int			fd;

	if (path == NULL || path[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("master key is not configured"),
				 errhint("%s", tg_mk_hint)));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not open master key file \"%s\" named by %s: %m", path, setting),
				 errhint("%s", tg_mk_hint)));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		close(fd);
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("master key file \"%s\" named by %s is not a regular file", path, setting),
				 errhint("%s", tg_mk_hint)));
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
	{
		close(fd);
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("master key file \"%s\" named by %s is accessible by other users", path, setting),
				 errhint("Run chmod 600 on the file named by %s; it must be readable by the server's OS user only.",
						 setting)));
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0 || !tg_master_key_parse(buf, (size_t) n, out))
	{
		sodium_memzero(buf, sizeof(buf));
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("master key file \"%s\" named by %s is malformed", path, setting),
				 errhint("%s", tg_mk_hint)));
	}
	sodium_memzero(buf, sizeof(buf));
}

/* The master key, loaded on first use. */
static const uint8_t *
tg_master_key(void)
{
	uint8_t		k[TG_KEY_LEN];

	if (tg_mk)
		return tg_mk;
	tg_read_key_file(tg_master_key_file, "tenantguard.master_key_file", k);
	tg_mk = sodium_malloc(TG_KEY_LEN);
	if (tg_mk == NULL)
	{
		sodium_memzero(k, sizeof(k));
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not allocate secure memory for the master key")));
	}
	memcpy(tg_mk, k, TG_KEY_LEN);
	sodium_memzero(k, sizeof(k));
	tg_key_id(tg_mk, tg_mk_id);
	return tg_mk;
}

/* The master key for other modules (the audit signing key is derived from it). */
const uint8_t *
tg_master_key_bytes(void)
{
	return tg_master_key();
}

static Oid
tg_data_keys_relid(void)
{
	Oid			nsp = get_namespace_oid(TG_SCHEMA, true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid("data_keys", nsp) : InvalidOid;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"tenantguard\" is not installed in this database")));
	return relid;
}

static AttrNumber
tg_col(Relation rel, const char *name)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	for (i = 0; i < desc->natts; i++)
		if (strcmp(NameStr(TupleDescAttr(desc, i)->attname), name) == 0)
			return TupleDescAttr(desc, i)->attnum;
	elog(ERROR, "table tenantguard.data_keys has no column \"%s\"", name);
	return InvalidAttrNumber;
}

/* Keys read by one pass of tg_load_keys, not yet installed. */
typedef struct TgKeyStage
{
	int			n;
	TgKey		keys[TG_MAX_KEYS];
	uint8_t    *index_key;
} TgKeyStage;

static void
tg_stage_free(TgKeyStage *st)
{
	int			i;

	for (i = 0; i < st->n; i++)
		sodium_free(st->keys[i].key);
	st->n = 0;
	if (st->index_key)
		sodium_free(st->index_key);
	st->index_key = NULL;
}

/* Read and unwrap every stored key into st (which the caller frees on error). */
static void
tg_read_keys(const uint8_t *mk, TgKeyStage *st)
{
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	AttrNumber	a_ver,
				a_purpose,
				a_wrapped,
				a_mkid;

	rel = table_open(tg_keys_relid, AccessShareLock);
	a_ver = tg_col(rel, "version");
	a_purpose = tg_col(rel, "purpose");
	a_wrapped = tg_col(rel, "wrapped");
	a_mkid = tg_col(rel, "master_key_id");
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	PG_TRY();
	{
		while (HeapTupleIsValid(tup = systable_getnext(scan)))
		{
			TupleDesc	desc = RelationGetDescr(rel);
			bool		n1,
						n2,
						n3,
						n4;
			int32		version = DatumGetInt32(heap_getattr(tup, a_ver, desc, &n1));
			char	   *purpose = TextDatumGetCString(heap_getattr(tup, a_purpose, desc, &n2));
			bytea	   *wrapped = DatumGetByteaPP(heap_getattr(tup, a_wrapped, desc, &n3));
			bytea	   *mkid = DatumGetByteaPP(heap_getattr(tup, a_mkid, desc, &n4));
			char		p = strcmp(purpose, "index") == 0 ? 'i' : 'd';
			uint8_t    *k;

			if (n1 || n2 || n3 || n4)
				continue;
			if (VARSIZE_ANY_EXHDR(mkid) != TG_KEY_ID_LEN ||
				sodium_memcmp(VARDATA_ANY(mkid), tg_mk_id, TG_KEY_ID_LEN) != 0)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("%s key version %d is wrapped by a different master key", purpose, version),
						 errhint("If the master key file was replaced, run tenantguard.rewrap_keys('<old key file>') "
								 "as a superuser; otherwise point tenantguard.master_key_file at the right key.")));
			if (p == 'd' && st->n >= TG_MAX_KEYS)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("too many data key versions")));
			k = sodium_malloc(TG_KEY_LEN);
			if (k == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_OUT_OF_MEMORY),
						 errmsg("could not allocate secure memory for a data key")));
			if (!tg_key_unwrap(mk, p, (uint32_t) version, (const uint8_t *) VARDATA_ANY(wrapped),
							   VARSIZE_ANY_EXHDR(wrapped), k))
			{
				sodium_free(k);
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("%s key version %d failed authentication", purpose, version),
						 errdetail("The wrapped key in tenantguard.data_keys was altered.")));
			}
			if (p == 'i')
			{
				if (st->index_key)
					sodium_free(st->index_key);
				st->index_key = k;
			}
			else
			{
				st->keys[st->n].version = version;
				st->keys[st->n].key = k;
				st->n++;
			}
		}
	}
	PG_CATCH();
	{
		systable_endscan(scan);
		table_close(rel, AccessShareLock);
		PG_RE_THROW();
	}
	PG_END_TRY();
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

/*
 * Unwrap every stored key with the master key into this backend's cache.
 * The keys are read into a stage and installed only when complete and no
 * invalidation arrived during the read (opening the table processes
 * invalidations, which drop the installed keys).
 */
static void
tg_load_keys(void)
{
	static TgKeyStage stage;
	const uint8_t *mk;
	volatile int attempt;

	if (tg_keys_loaded)
		return;
	mk = tg_master_key();
	tg_keys_relid = tg_data_keys_relid();
	for (attempt = 1;; attempt++)
	{
		uint64		generation = tg_keys_generation;
		int			i;

		memset(&stage, 0, sizeof(stage));
		PG_TRY();
		{
			tg_read_keys(mk, &stage);
		}
		PG_CATCH();
		{
			tg_stage_free(&stage);
			PG_RE_THROW();
		}
		PG_END_TRY();
		if (generation != tg_keys_generation && attempt < 4)
		{
			tg_stage_free(&stage);
			continue;
		}
		tg_forget_data_keys();
		for (i = 0; i < stage.n; i++)
		{
			tg_data_keys[i] = stage.keys[i];
			if (stage.keys[i].version > tg_newest_version)
				tg_newest_version = stage.keys[i].version;
		}
		tg_n_data_keys = stage.n;
		tg_index_key = stage.index_key;
		/* after an invalidation storm the keys serve this call and are reloaded next time */
		tg_keys_loaded = generation == tg_keys_generation;
		return;
	}
}

/* A palloc'ed bytea holding a copy of n bytes. */
static bytea *
tg_bytes(const uint8_t *p, size_t n)
{
	bytea	   *b = (bytea *) palloc(VARHDRSZ + n);

	SET_VARSIZE(b, VARHDRSZ + n);
	memcpy(VARDATA(b), p, n);
	return b;
}

/*
 * Create and store a key: purpose 'd' (next data key version) or 'i' (the
 * index key). Runs its SQL as the bootstrap superuser: applications seal
 * without any privilege on tenantguard.data_keys. Returns the version.
 */
static int32
tg_create_key(char purpose, bool if_missing)
{
	const uint8_t *mk = tg_master_key();
	uint8_t    *k;
	uint8_t		wrapped[TG_WRAPPED_LEN];
	Oid			save_user;
	int			save_sec;
	int32		version = 1;
	const char *pname = purpose == 'i' ? "index" : "data";

	k = sodium_malloc(TG_KEY_LEN);
	if (k == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not allocate secure memory for a data key")));
	randombytes_buf(k, TG_KEY_LEN);

	/*
	 * As the bootstrap superuser, in a security-restricted operation, with
	 * search_path pinned and every name qualified: the caller may be an
	 * application role with objects of its own on its search_path.
	 */
	tg_begin_as(BOOTSTRAP_SUPERUSERID, &save_user, &save_sec);
	PG_TRY();
	{
		int			spi_level;
		Oid			argtypes[4] = {INT4OID, TEXTOID, BYTEAOID, BYTEAOID};
		Datum		values[4];
		int			rc;

		spi_level = tg_spi_begin();
		rc = SPI_execute("LOCK TABLE tenantguard.data_keys IN SHARE ROW EXCLUSIVE MODE", false, 0);
		if (rc != SPI_OK_UTILITY)
			elog(ERROR, "could not lock tenantguard.data_keys");
		values[1] = CStringGetTextDatum(pname);
		rc = SPI_execute_with_args("SELECT COALESCE(pg_catalog.max(version), 0) FROM tenantguard.data_keys "
								   "WHERE purpose OPERATOR(pg_catalog.=) $1",
								   1, &argtypes[1], &values[1], NULL, true, 1);
		if (rc != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "could not read tenantguard.data_keys");
		{
			bool		isnull;
			int32		maxv = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
														   SPI_tuptable->tupdesc, 1, &isnull));

			if (if_missing && maxv > 0)
				version = 0;
			else
				version = maxv + 1;
		}
		if (version > 0)
		{
			if (!tg_key_wrap(mk, purpose, (uint32_t) version, k, wrapped))
				elog(ERROR, "could not wrap a new key");
			values[0] = Int32GetDatum(version);
			values[2] = PointerGetDatum(tg_bytes(wrapped, TG_WRAPPED_LEN));
			values[3] = PointerGetDatum(tg_bytes(tg_mk_id, TG_KEY_ID_LEN));
			rc = SPI_execute_with_args("INSERT INTO tenantguard.data_keys (version, purpose, wrapped, master_key_id) "
									   "VALUES ($1, $2, $3, $4)",
									   4, argtypes, values, NULL, false, 0);
			if (rc != SPI_OK_INSERT)
				elog(ERROR, "could not store a new key");
		}
		tg_spi_end(spi_level);
	}
	PG_FINALLY();
	{
		tg_end_as(save_user, save_sec);
		sodium_free(k);
		sodium_memzero(wrapped, sizeof(wrapped));
	}
	PG_END_TRY();
	tg_forget_data_keys();
	return version;
}

/* The data key of a version; ERROR when it does not exist. */
static const uint8_t *
tg_data_key(int32 version)
{
	int			i;

	tg_load_keys();
	for (i = 0; i < tg_n_data_keys; i++)
		if (tg_data_keys[i].version == version)
			return tg_data_keys[i].key;
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("data key version %d does not exist", version),
			 errhint("The secret was sealed in another database, or tenantguard.data_keys was not restored with it.")));
	return NULL;
}

/* The newest data key version, creating version 1 on first use. */
static int32
tg_newest_data_version(void)
{
	tg_load_keys();
	if (tg_newest_version == 0)
	{
		(void) tg_create_key('d', true);
		tg_load_keys();
	}
	if (tg_newest_version == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no data key is available")));
	return tg_newest_version;
}

static const uint8_t *
tg_blind_index_key(void)
{
	tg_load_keys();
	if (tg_index_key == NULL)
	{
		(void) tg_create_key('i', true);
		tg_load_keys();
	}
	if (tg_index_key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no index key is available")));
	return tg_index_key;
}

/* The current tenant; 42501 without a context. */
static const pg_uuid_t *
tg_require_tenant(void)
{
	const TgEffectiveContext *c = tg_effective_context();

	if (c == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("no tenant context is set"),
				 errhint("Secrets are sealed and revealed inside a tenant: enter one first, "
						 "for example with tenantguard.set_tenant().")));
	return &c->tenant;
}

/* ------------------------------------------------------------------------
 * The tenantguard.secret type
 * ------------------------------------------------------------------------
 */

/* Validate an envelope held in a secret datum. */
static void
tg_secret_check(const uint8_t *buf, size_t len, tg_env_header *h)
{
	if (!tg_env_parse(buf, len, h))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type tenantguard.secret"),
				 errhint("Secrets are stored sealed: use tenantguard.seal(value) to encrypt a value.")));
}

PG_FUNCTION_INFO_V1(tg_secret_in);

Datum
tg_secret_in(PG_FUNCTION_ARGS)
{
	const char *str = PG_GETARG_CSTRING(0);
	size_t		len = strlen(str);
	size_t		plen = strlen(TG_SECRET_PREFIX);
	bytea	   *result;
	long		n;

	if (len <= plen || memcmp(str, TG_SECRET_PREFIX, plen) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type tenantguard.secret"),
				 errdetail("A sealed secret starts with \"%s\".", TG_SECRET_PREFIX),
				 errhint("Secrets are stored sealed: use tenantguard.seal(value) to encrypt a value.")));
	result = (bytea *) palloc(VARHDRSZ + (len - plen) * 3 / 4 + 4);
	n = tg_b64url_decode(str + plen, len - plen, (uint8_t *) VARDATA(result),
						 (len - plen) * 3 / 4 + 4);
	if (n < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type tenantguard.secret"),
				 errdetail("The text after \"%s\" is not unpadded base64url.", TG_SECRET_PREFIX),
				 errhint("Secrets are stored sealed: use tenantguard.seal(value) to encrypt a value.")));
	tg_secret_check((const uint8_t *) VARDATA(result), (size_t) n, NULL);
	SET_VARSIZE(result, VARHDRSZ + n);
	PG_RETURN_BYTEA_P(result);
}

PG_FUNCTION_INFO_V1(tg_secret_out);

Datum
tg_secret_out(PG_FUNCTION_ARGS)
{
	bytea	   *s = PG_GETARG_BYTEA_PP(0);
	size_t		n = VARSIZE_ANY_EXHDR(s);
	size_t		plen = strlen(TG_SECRET_PREFIX);
	char	   *out = palloc(plen + tg_b64url_encoded_len(n));

	memcpy(out, TG_SECRET_PREFIX, plen);
	tg_b64url_encode((const uint8_t *) VARDATA_ANY(s), n, out + plen);
	PG_RETURN_CSTRING(out);
}

PG_FUNCTION_INFO_V1(tg_secret_recv);

Datum
tg_secret_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			n = buf->len - buf->cursor;
	bytea	   *result = (bytea *) palloc(VARHDRSZ + n);

	SET_VARSIZE(result, VARHDRSZ + n);
	pq_copymsgbytes(buf, VARDATA(result), n);
	tg_secret_check((const uint8_t *) VARDATA(result), (size_t) n, NULL);
	PG_RETURN_BYTEA_P(result);
}

PG_FUNCTION_INFO_V1(tg_secret_send);

Datum
tg_secret_send(PG_FUNCTION_ARGS)
{
	bytea	   *s = PG_GETARG_BYTEA_P_COPY(0);

	PG_RETURN_BYTEA_P(s);
}

/* ------------------------------------------------------------------------
 * seal / reveal
 * ------------------------------------------------------------------------
 */

/* Seal bytes for a tenant under data key version; a new secret datum. */
static bytea *
tg_seal_bytes(const uint8_t tenant[16], int32 version, uint8_t flags,
			  const uint8_t *pt, size_t ptlen)
{
	uint8_t		tk[TG_KEY_LEN];
	bytea	   *result;
	bool		ok;

	if (ptlen > TG_ENV_MAX_PLAINTEXT)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("secret is too large"),
				 errdetail("At most %zu bytes can be sealed.", TG_ENV_MAX_PLAINTEXT)));
	result = (bytea *) palloc(VARHDRSZ + ptlen + TG_ENV_OVERHEAD);
	SET_VARSIZE(result, VARHDRSZ + ptlen + TG_ENV_OVERHEAD);
	tg_derive_tenant_key(tg_data_key(version), tenant, tk);
	ok = tg_env_seal(tk, (uint32_t) version, tenant, flags, pt, ptlen,
					 (uint8_t *) VARDATA(result));
	sodium_memzero(tk, sizeof(tk));
	if (!ok)
		elog(ERROR, "could not seal a secret");
	return result;
}

/*
 * Open a secret datum into a palloc'ed buffer (len in *ptlen). No tenant
 * check here: callers decide whose secret may be opened.
 */
static uint8_t *
tg_open_bytes(bytea *s, tg_env_header *h, size_t *ptlen)
{
	const uint8_t *buf = (const uint8_t *) VARDATA_ANY(s);
	size_t		len = VARSIZE_ANY_EXHDR(s);
	uint8_t		tk[TG_KEY_LEN];
	uint8_t    *pt;
	tg_env_result r;

	tg_secret_check(buf, len, h);
	tg_derive_tenant_key(tg_data_key((int32) h->key_version), h->tenant, tk);
	pt = palloc(h->plaintext_len + 1);
	r = tg_env_open(tk, buf, len, pt, ptlen);
	sodium_memzero(tk, sizeof(tk));
	if (r != TG_ENV_OK)
	{
		TgAuditEvent ev;

		memset(&ev, 0, sizeof(ev));
		ev.category = "secret";
		ev.action = "open";
		ev.decision = "deny";
		ev.reason = "secret failed authentication";
		tg_audit_refusal(&ev);
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("secret failed authentication"),
				 errdetail("The ciphertext was altered, or it was copied from another tenant's row.")));
	}
	pt[*ptlen] = '\0';
	return pt;
}

/*
 * Reveals recorded in the current transaction, per subtransaction, so that a
 * rollback cannot erase the fact that plaintext was handed out: an aborted
 * (sub)transaction's reveals are re-recorded as one summary event through
 * the ledger worker.
 */
typedef struct TgRevealTally
{
	SubTransactionId subid;
	pg_uuid_t	tenant;
	int64		count;
	/* who revealed: known only inside the transaction */
	char		principal[TG_CTX_PRINCIPAL_MAX + 1];
	char		db_user[NAMEDATALEN];
	char		client_addr[64];
} TgRevealTally;

/*
 * Grown as needed, never capped: a cap would let a caller hide reveals
 * behind enough savepoints. Entries of a committed subtransaction merge
 * into its parent's, so there are at most (nesting depth x tenants) of them.
 */
static TgRevealTally *tg_tallies = NULL;
static int	tg_n_tallies = 0;
static int	tg_max_tallies = 0;
static bool tg_tally_callbacks = false;

static void
tg_tally_flush(SubTransactionId subid, bool all)
{
	int			i,
				j = 0;

	for (i = 0; i < tg_n_tallies; i++)
	{
		TgRevealTally *t = &tg_tallies[i];

		if (all || t->subid == subid)
		{
			TgAuditEvent ev;
			char		details[96];

			snprintf(details, sizeof(details), "{\"reveals\": %lld, \"rolled_back\": true}",
					 (long long) t->count);
			memset(&ev, 0, sizeof(ev));
			ev.has_tenant = true;
			ev.tenant = t->tenant;
			ev.category = "secret";
			ev.action = "reveal";
			ev.decision = "allow";
			ev.reason = "transaction rolled back after revealing";
			ev.details_json = details;
			ev.principal = t->principal[0] ? t->principal : NULL;
			ev.db_user = t->db_user[0] ? t->db_user : NULL;
			ev.client_addr = t->client_addr[0] ? t->client_addr : NULL;
			tg_audit_refusal(&ev);
		}
		else
			tg_tallies[j++] = *t;
	}
	tg_n_tallies = j;
}

static void
tg_tally_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		tg_tally_flush(InvalidSubTransactionId, true);
	else if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PREPARE ||
			 event == XACT_EVENT_PARALLEL_COMMIT)
		tg_n_tallies = 0;
	if ((event == XACT_EVENT_ABORT || event == XACT_EVENT_COMMIT) && tg_max_tallies > 1024)
	{
		/* a transaction with very many savepoints: give the memory back */
		pfree(tg_tallies);
		tg_tallies = NULL;
		tg_max_tallies = 0;
	}
}

/* Same tally key: tenant and who revealed. */
static bool
tg_tally_same(const TgRevealTally *a, const TgRevealTally *b)
{
	return memcmp(a->tenant.data, b->tenant.data, UUID_LEN) == 0 &&
		strcmp(a->principal, b->principal) == 0 &&
		strcmp(a->db_user, b->db_user) == 0 &&
		strcmp(a->client_addr, b->client_addr) == 0;
}

static void
tg_tally_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	int			i;

	if (event == SUBXACT_EVENT_ABORT_SUB)
		tg_tally_flush(mySubid, false);
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		int			j = 0;

		/* move into the parent, merging with its entry of the same key */
		for (i = 0; i < tg_n_tallies; i++)
		{
			TgRevealTally *t = &tg_tallies[i];

			if (t->subid == mySubid)
			{
				int			k;
				bool		merged = false;

				for (k = 0; k < j; k++)
					if (tg_tallies[k].subid == parentSubid && tg_tally_same(&tg_tallies[k], t))
					{
						tg_tallies[k].count += t->count;
						merged = true;
						break;
					}
				if (merged)
					continue;
				t->subid = parentSubid;
			}
			if (j != i)
				tg_tallies[j] = *t;
			j++;
		}
		tg_n_tallies = j;
	}
}

static void
tg_tally_reveal(const uint8_t tenant[16])
{
	SubTransactionId subid = GetCurrentSubTransactionId();
	const TgEffectiveContext *ctx = tg_effective_context();
	const char *principal = ctx ? ctx->principal : "";
	TgRevealTally *t;
	int			i;

	if (!tg_tally_callbacks)
	{
		RegisterXactCallback(tg_tally_xact_callback, NULL);
		RegisterSubXactCallback(tg_tally_subxact_callback, NULL);
		tg_tally_callbacks = true;
	}
	/* the session user and address do not change within a transaction */
	for (i = 0; i < tg_n_tallies; i++)
		if (tg_tallies[i].subid == subid &&
			memcmp(tg_tallies[i].tenant.data, tenant, UUID_LEN) == 0 &&
			strcmp(tg_tallies[i].principal, principal) == 0)
		{
			tg_tallies[i].count++;
			return;
		}
	if (tg_n_tallies == tg_max_tallies)
	{
		int			newmax = tg_max_tallies == 0 ? 16 : tg_max_tallies * 2;

		if (tg_tallies == NULL)
			tg_tallies = MemoryContextAlloc(TopMemoryContext, sizeof(TgRevealTally) * newmax);
		else
			tg_tallies = repalloc(tg_tallies, sizeof(TgRevealTally) * newmax);
		tg_max_tallies = newmax;
	}
	t = &tg_tallies[tg_n_tallies];
	{
		char	   *who = GetUserNameFromId(GetSessionUserId(), true);
		bool		isnull;
		Datum		addr = tg_client_addr(&isnull);

		memset(t, 0, sizeof(*t));
		t->subid = subid;
		memcpy(t->tenant.data, tenant, UUID_LEN);
		t->count = 1;
		strlcpy(t->principal, principal, sizeof(t->principal));
		if (who)
			strlcpy(t->db_user, who, sizeof(t->db_user));
		if (!isnull)
			strlcpy(t->client_addr, DatumGetCString(DirectFunctionCall1(inet_out, addr)),
					sizeof(t->client_addr));
	}
	tg_n_tallies++;
}

/* Every reveal is audited (never with the value). */
static void
tg_audit_reveal(const tg_env_header *h, const char *as)
{
	TgAuditEvent ev;
	char		details[64];

	snprintf(details, sizeof(details), "{\"key_version\": %u, \"as\": \"%s\"}",
			 (unsigned) h->key_version, as);
	memset(&ev, 0, sizeof(ev));
	ev.category = "secret";
	ev.action = "reveal";
	ev.decision = "allow";
	ev.details_json = details;
	if (tg_audit_record(&ev))
		tg_tally_reveal(h->tenant);
}

/*
 * May the current context reveal a secret sealed for tenant? This is the one
 * place that decides: the tenant must match, and the permission system adds
 * its secrets.read check here.
 */
static void
tg_authorize_reveal(const uint8_t tenant[16])
{
	const pg_uuid_t *current = tg_require_tenant();

	if (sodium_memcmp(current->data, tenant, UUID_LEN) != 0)
	{
		TgAuditEvent ev;

		memset(&ev, 0, sizeof(ev));
		ev.category = "secret";
		ev.action = "reveal";
		ev.decision = "deny";
		ev.reason = "secret belongs to another tenant";
		tg_audit_refusal(&ev);
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("secret belongs to another tenant"),
				 errhint("A secret can only be revealed in the tenant that sealed it.")));
	}
}

static Datum
tg_seal_common(const uint8_t *pt, size_t len, uint8_t flags)
{
	const pg_uuid_t *tenant = tg_require_tenant();
	pg_uuid_t	t = *tenant;

	PG_RETURN_BYTEA_P(tg_seal_bytes(t.data, tg_newest_data_version(), flags, pt, len));
}

PG_FUNCTION_INFO_V1(tg_seal_text);

Datum
tg_seal_text(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	return tg_seal_common((const uint8_t *) VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), 0);
}

PG_FUNCTION_INFO_V1(tg_seal_bytea);

Datum
tg_seal_bytea(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);

	return tg_seal_common((const uint8_t *) VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b), TG_ENV_FLAG_BYTES);
}

PG_FUNCTION_INFO_V1(tg_reveal_text);

Datum
tg_reveal_text(PG_FUNCTION_ARGS)
{
	bytea	   *s = PG_GETARG_BYTEA_PP(0);
	tg_env_header h;
	size_t		n = 0;
	uint8_t    *pt;
	text	   *result;

	tg_secret_check((const uint8_t *) VARDATA_ANY(s), VARSIZE_ANY_EXHDR(s), &h);
	tg_authorize_reveal(h.tenant);
	pt = tg_open_bytes(s, &h, &n);
	if (!pg_verifymbstr((const char *) pt, (int) n, true))
	{
		sodium_memzero(pt, n);
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("sealed value is not valid text in the database encoding"),
				 errhint("Use tenantguard.reveal_bytea() for binary secrets.")));
	}
	result = cstring_to_text_with_len((const char *) pt, (int) n);
	sodium_memzero(pt, n);
	pfree(pt);
	tg_audit_reveal(&h, "text");
	PG_RETURN_TEXT_P(result);
}

PG_FUNCTION_INFO_V1(tg_reveal_bytea);

Datum
tg_reveal_bytea(PG_FUNCTION_ARGS)
{
	bytea	   *s = PG_GETARG_BYTEA_PP(0);
	tg_env_header h;
	size_t		n = 0;
	uint8_t    *pt;
	bytea	   *result;

	tg_secret_check((const uint8_t *) VARDATA_ANY(s), VARSIZE_ANY_EXHDR(s), &h);
	tg_authorize_reveal(h.tenant);
	pt = tg_open_bytes(s, &h, &n);
	result = tg_bytes(pt, n);
	sodium_memzero(pt, n);
	pfree(pt);
	tg_audit_reveal(&h, "bytea");
	PG_RETURN_BYTEA_P(result);
}

PG_FUNCTION_INFO_V1(tg_secret_key_version);

/* secret_key_version(s): the data key version a secret is sealed under. */
Datum
tg_secret_key_version(PG_FUNCTION_ARGS)
{
	bytea	   *s = PG_GETARG_BYTEA_PP(0);
	tg_env_header h;

	tg_secret_check((const uint8_t *) VARDATA_ANY(s), VARSIZE_ANY_EXHDR(s), &h);
	PG_RETURN_INT32((int32) h.key_version);
}

PG_FUNCTION_INFO_V1(tg_secret_tenant);

/* secret_tenant(s): the tenant a secret is sealed for (metadata only). */
Datum
tg_secret_tenant(PG_FUNCTION_ARGS)
{
	bytea	   *s = PG_GETARG_BYTEA_PP(0);
	tg_env_header h;
	pg_uuid_t  *u = palloc(sizeof(pg_uuid_t));

	tg_secret_check((const uint8_t *) VARDATA_ANY(s), VARSIZE_ANY_EXHDR(s), &h);
	memcpy(u->data, h.tenant, UUID_LEN);
	PG_RETURN_UUID_P(u);
}

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

		memset(&ev, 0, sizeof(ev));
		ev.category = "secret";
		ev.action = "reencrypt";
		ev.decision = "allow";
		ev.object = object;
		ev.details_json = details;
		tg_audit_record(&ev);
	}
	PG_RETURN_INT64(done);
}

PG_FUNCTION_INFO_V1(tg_blind_index_fn);

/* blind_index(value, purpose): keyed per tenant and purpose, stable across rotation. */
Datum
tg_blind_index_fn(PG_FUNCTION_ARGS)
{
	text	   *value = PG_GETARG_TEXT_PP(0);
	text	   *purpose = PG_GETARG_TEXT_PP(1);
	const pg_uuid_t *tenant = tg_require_tenant();
	pg_uuid_t	t = *tenant;
	uint8_t		bi[TG_BLIND_INDEX_LEN];

	tg_blind_index(tg_blind_index_key(), t.data,
				   VARDATA_ANY(purpose), VARSIZE_ANY_EXHDR(purpose),
				   (const uint8_t *) VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value), bi);
	PG_RETURN_BYTEA_P(tg_bytes(bi, TG_BLIND_INDEX_LEN));
}

PG_FUNCTION_INFO_V1(tg_rotate_data_key);

/* rotate_data_key(): a new data key version; new seals use it. */
Datum
tg_rotate_data_key(PG_FUNCTION_ARGS)
{
	int32		v = tg_create_key('d', false);
	TgAuditEvent ev;
	char		details[48];

	snprintf(details, sizeof(details), "{\"key_version\": %d}", (int) v);
	memset(&ev, 0, sizeof(ev));
	ev.category = "secret";
	ev.action = "key.rotate";
	ev.no_tenant = true;
	ev.decision = "allow";
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
				char		p = strcmp(purpose, "index") == 0 ? 'i' : 'd';
				uint8_t		k[TG_KEY_LEN];
				uint8_t		rw[TG_WRAPPED_LEN];
				Oid			argtypes[4] = {BYTEAOID, BYTEAOID, INT4OID, TEXTOID};
				Datum		values[4];

				if (VARSIZE_ANY_EXHDR(id) == TG_KEY_ID_LEN &&
					memcmp(VARDATA_ANY(id), tg_mk_id, TG_KEY_ID_LEN) == 0)
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
				values[0] = PointerGetDatum(tg_bytes(rw, TG_WRAPPED_LEN));
				values[1] = PointerGetDatum(tg_bytes(tg_mk_id, TG_KEY_ID_LEN));
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
		memset(&ev, 0, sizeof(ev));
		ev.category = "secret";
		ev.action = "key.rewrap";
		ev.no_tenant = true;
		ev.decision = "allow";
		ev.object = "data_keys";
		ev.details_json = details;
		tg_audit_record(&ev);
	}
	PG_RETURN_INT32(rewrapped);
}

/* ------------------------------------------------------------------------
 * Vault references
 * ------------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(tg_secret_name_valid_fn);

Datum
tg_secret_name_valid_fn(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	PG_RETURN_BOOL(tg_secret_name_valid(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)));
}

PG_FUNCTION_INFO_V1(tg_parse_ref);

/* _parse_ref(ref) -> (slug, scope, name, version); 22023 when malformed. */
Datum
tg_parse_ref(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	tg_secret_ref ref;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	if (!tg_ref_parse(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &ref))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed secret reference"),
				 errhint("A reference looks like tgref:<tenant slug>/<scope>/<name>@<version>; "
						 "get one from tenantguard.secret_ref().")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "_parse_ref must return a composite type");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = CStringGetTextDatum(ref.slug);
	values[1] = CStringGetTextDatum(ref.scope);
	values[2] = CStringGetTextDatum(ref.name);
	values[3] = Int32GetDatum(ref.version);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
