/*
 * keyring.c — the master key and the data keys: reading the master key file,
 * unwrapping the versioned data keys and the blind-index key from
 * tenantguard.data_keys into this backend's secure memory, and creating keys.
 *
 * Keys live only in sodium_malloc'ed memory of this backend, are loaded
 * lazily, and are dropped when tenantguard.data_keys changes (relcache
 * invalidation sent by its statement trigger) or the master key setting is
 * reloaded. No key ever reaches SQL.
 *
 * Layer 2: uses privileged.c and catalog.c.
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_authid_d.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/rel.h"

#include "core/envelope.h"
#include "core/keys.h"
#include "catalog.h"
#include "keyring.h"
#include "relcache_hub.h"
#include "privileged.h"
#include "tenantguard.h"

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

void
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

void
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
tg_keys_relcache_callback(Oid relid)
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
tg_keyring_init(void)
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

	tg_relcache_hub_register(tg_keys_relcache_callback);
}

/*
 * Read and check a master key file: a regular file, not accessible to
 * other OS users, holding 64 hex characters. Errors never show contents.
 */
void
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
const uint8_t *
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

/* The id of the loaded master key (TG_KEY_ID_LEN bytes); loads it. */
const uint8_t *
tg_master_key_id(void)
{
	(void) tg_master_key();
	return tg_mk_id;
}

static Oid
tg_data_keys_relid(void)
{
	Oid			relid = tg_relation_in(TG_SCHEMA, "data_keys");

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"tenantguard\" is not installed in this database")));
	return relid;
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
	a_ver = tg_attnum(rel, "version");
	a_purpose = tg_attnum(rel, "purpose");
	a_wrapped = tg_attnum(rel, "wrapped");
	a_mkid = tg_attnum(rel, "master_key_id");
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
			tg_key_purpose p = strcmp(purpose, "index") == 0 ? TG_KEY_PURPOSE_INDEX : TG_KEY_PURPOSE_DATA;
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
			if (p == TG_KEY_PURPOSE_DATA && st->n >= TG_MAX_KEYS)
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
			if (p == TG_KEY_PURPOSE_INDEX)
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

/*
 * Create and store a key: the next data key version, or the index key.
 * Runs its SQL as the bootstrap superuser: applications seal without any
 * privilege on tenantguard.data_keys. Returns the version.
 */
int32
tg_create_key(tg_key_purpose purpose, bool if_missing)
{
	const uint8_t *mk = tg_master_key();
	uint8_t    *k;
	uint8_t		wrapped[TG_WRAPPED_LEN];
	Oid			save_user;
	int			save_sec;
	int32		version = 1;
	const char *pname = purpose == TG_KEY_PURPOSE_INDEX ? "index" : "data";

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
			values[2] = PointerGetDatum(tg_bytea(wrapped, TG_WRAPPED_LEN));
			values[3] = PointerGetDatum(tg_bytea(tg_mk_id, TG_KEY_ID_LEN));
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
const uint8_t *
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
int32
tg_newest_data_version(void)
{
	tg_load_keys();
	if (tg_newest_version == 0)
	{
		(void) tg_create_key(TG_KEY_PURPOSE_DATA, true);
		tg_load_keys();
	}
	if (tg_newest_version == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no data key is available")));
	return tg_newest_version;
}

const uint8_t *
tg_blind_index_key(void)
{
	tg_load_keys();
	if (tg_index_key == NULL)
	{
		(void) tg_create_key(TG_KEY_PURPOSE_INDEX, true);
		tg_load_keys();
	}
	if (tg_index_key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no index key is available")));
	return tg_index_key;
}

bytea *
tg_keyring_seal(const uint8_t key_tenant[16], const uint8_t bind[16],
				const uint8_t *pt, size_t len, const char *what)
{
	int32		version = tg_newest_data_version();
	uint8		tk[TG_KEY_LEN];
	bytea	   *result;
	bool		ok;

	result = (bytea *) palloc(VARHDRSZ + len + TG_ENV_OVERHEAD);
	SET_VARSIZE(result, VARHDRSZ + len + TG_ENV_OVERHEAD);
	tg_derive_tenant_key(tg_data_key(version), key_tenant, tk);
	ok = tg_env_seal(tk, (uint32) version, bind, TG_ENV_FLAG_BYTES, pt, len, (uint8 *) VARDATA(result));
	sodium_memzero(tk, sizeof(tk));
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not seal a %s", what)));
	return result;
}

uint8_t *
tg_keyring_open(const uint8_t key_tenant[16], const uint8_t bind[16],
				const uint8_t *sealed, size_t sealed_len, size_t *len, const char *what)
{
	tg_env_header h;
	uint8		tk[TG_KEY_LEN];
	uint8	   *pt;
	tg_env_result r;

	if (!tg_env_parse(sealed, sealed_len, &h) || memcmp(h.tenant, bind, 16) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("stored %s is malformed", what)));
	tg_derive_tenant_key(tg_data_key((int32) h.key_version), key_tenant, tk);
	pt = palloc(h.plaintext_len + 1);
	r = tg_env_open(tk, sealed, sealed_len, pt, len);
	sodium_memzero(tk, sizeof(tk));
	if (r != TG_ENV_OK)
	{
		sodium_memzero(pt, h.plaintext_len + 1);
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("stored %s does not authenticate", what)));
	}
	return pt;
}
