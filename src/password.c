/*
 * password.c — scrypt password hashes for SQL and the login path (see
 * password.h): settings, policy, the shared-memory bound on concurrent
 * scrypt runs, and hash_password(), verify_password(),
 * password_needs_rehash().
 *
 * The bound. One scrypt with N = 2^ln and block size r allocates a work
 * area of 128*r*N bytes (plus 128*r*p, and 256*r for the +2 blocks OpenSSL
 * keeps: tg_scrypt_memory()); at the defaults 15/8/3 that is
 * 128*8*32768 = 32 MiB. Two counters in shared memory, under a spinlock,
 * admit a run when fewer than tenantguard.scrypt_max_concurrent run and
 * the work areas of the running ones plus this one fit in
 * tenantguard.scrypt_max_memory; otherwise the caller sleeps on a condition
 * variable (interruptible: statement_timeout, pg_cancel_backend and
 * pg_terminate_backend end the wait with their usual errors) and every
 * release wakes the sleepers to try again. A run that needs more than the
 * whole memory budget is never admitted: hashing refuses it (53400),
 * verifying returns false. No fairness between waiters is promised.
 *
 * Nothing between taking and giving back a slot can raise an error (the
 * core's scrypt is pure C), and a backend that exits holding one (FATAL)
 * gives it back from a before_shmem_exit callback.
 *
 * Layer 2: calls core/scrypt only.
 */
#include "postgres.h"

#include <string.h>
#include <sodium.h>

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "core/scrypt.h"
#include "password.h"

typedef struct TgPasswordShared
{
	slock_t		mutex;
	int			running;		/* scrypt runs in progress */
	uint64		bytes;			/* their work areas together */
	uint64		waits;			/* runs that had to wait (since start) */
	ConditionVariable cv;		/* broadcast whenever a run ends */
} TgPasswordShared;

static TgPasswordShared *tg_pw_shared = NULL;

/* Settings. */
static int	tg_scrypt_log_n = 15;
static int	tg_scrypt_r = 8;
static int	tg_scrypt_p = 3;
static int	tg_password_min_length = 12;
static int	tg_password_max_length = 1024;
static int	tg_scrypt_max_concurrent = 8;
static int	tg_scrypt_max_memory_kb = 512 * 1024;	/* 512 MiB */

/* The slot this backend holds (0 bytes = none), for the exit callback. */
static uint64 tg_pw_held = 0;
static bool tg_pw_exit_registered = false;

void
tg_password_init(void)
{
	DefineCustomIntVariable("tenantguard.scrypt_log_n",
							"log2 of scrypt's cost N for new password hashes.",
							"Together with scrypt_r and scrypt_p within the limits of docs/identity.md "
							"(N*r <= 2^23, r*p <= 128). Existing hashes keep their cost until rehashed.",
							&tg_scrypt_log_n,
							15, TG_SCRYPT_LN_MIN, TG_SCRYPT_LN_MAX,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("tenantguard.scrypt_r",
							"scrypt's block size r for new password hashes.",
							NULL,
							&tg_scrypt_r,
							8, 1, TG_SCRYPT_R_MAX,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("tenantguard.scrypt_p",
							"scrypt's parallelism p for new password hashes.",
							NULL,
							&tg_scrypt_p,
							3, 1, TG_SCRYPT_P_MAX,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("tenantguard.password_min_length",
							"Fewest characters a new password may have.",
							NULL,
							&tg_password_min_length,
							12, 1, 1024,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("tenantguard.password_max_length",
							"Most bytes (as UTF-8) a password may have.",
							"Bounds the input hashed and verified; scrypt itself treats a password over 64 bytes as its SHA-256.",
							&tg_password_max_length,
							1024, 64, 65536,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("tenantguard.scrypt_max_concurrent",
							"Most scrypt runs at once in the whole server; others wait.",
							"Each run allocates 128*r*N bytes (32 MiB at 15/8/3).",
							&tg_scrypt_max_concurrent,
							8, 1, 1024,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("tenantguard.scrypt_max_memory",
							"Most memory the scrypt runs in progress may use together; others wait.",
							"A single run that needs more is refused.",
							&tg_scrypt_max_memory_kb,
							512 * 1024, 1024, INT_MAX / 2,
							PGC_SIGHUP, GUC_UNIT_KB, NULL, NULL, NULL);
}

void
tg_password_shmem_request(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(TgPasswordShared)));
}

void
tg_password_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	tg_pw_shared = ShmemInitStruct("tenantguard_scrypt", sizeof(TgPasswordShared), &found);
	if (!found)
	{
		memset(tg_pw_shared, 0, sizeof(TgPasswordShared));
		SpinLockInit(&tg_pw_shared->mutex);
		ConditionVariableInit(&tg_pw_shared->cv);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* ---------------------------------------------------------------------------
 * The bound
 * ------------------------------------------------------------------------- */

static void
tg_pw_require_shared(void)
{
	if (tg_pw_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenantguard's password hashing needs the library preloaded"),
				 errdetail("Concurrent scrypt runs are bounded through shared memory."),
				 errhint("Add tenantguard to shared_preload_libraries in postgresql.conf "
						 "(shared_preload_libraries = 'tenantguard') and restart the server.")));
}

static uint64
tg_pw_budget(void)
{
	return (uint64) tg_scrypt_max_memory_kb * 1024;
}

static void
tg_pw_release(void)
{
	if (tg_pw_held == 0)
		return;
	SpinLockAcquire(&tg_pw_shared->mutex);
	tg_pw_shared->running--;
	tg_pw_shared->bytes -= tg_pw_held;
	SpinLockRelease(&tg_pw_shared->mutex);
	tg_pw_held = 0;
	ConditionVariableBroadcast(&tg_pw_shared->cv);
}

static void
tg_pw_exit(int code, Datum arg)
{
	if (tg_pw_shared != NULL)
		tg_pw_release();
}

/* Wait (interruptibly) until a run needing mem bytes may start, and take its slot. */
static void
tg_pw_acquire(uint64 mem)
{
	bool		waited = false;

	Assert(tg_pw_held == 0);
	if (!tg_pw_exit_registered)
	{
		before_shmem_exit(tg_pw_exit, (Datum) 0);
		tg_pw_exit_registered = true;
	}
	for (;;)
	{
		bool		ok;

		CHECK_FOR_INTERRUPTS();
		SpinLockAcquire(&tg_pw_shared->mutex);
		ok = tg_pw_shared->running < tg_scrypt_max_concurrent &&
			tg_pw_shared->bytes + mem <= tg_pw_budget();
		if (ok)
		{
			tg_pw_shared->running++;
			tg_pw_shared->bytes += mem;
			if (waited)
				tg_pw_shared->waits++;
			tg_pw_held = mem;
		}
		SpinLockRelease(&tg_pw_shared->mutex);
		if (ok)
			break;
		waited = true;
		/* throws on cancel or timeout; the abort cancels the sleep */
		ConditionVariableSleep(&tg_pw_shared->cv, PG_WAIT_EXTENSION);
	}
	if (waited)
		ConditionVariableCancelSleep();
}

/* ---------------------------------------------------------------------------
 * Settings and input
 * ------------------------------------------------------------------------- */

/* The cost settings as parameters; ERROR 22023 when together outside the limits. */
static void
tg_pw_params(tg_scrypt_params *prm)
{
	prm->ln = (unsigned) tg_scrypt_log_n;
	prm->r = (unsigned) tg_scrypt_r;
	prm->p = (unsigned) tg_scrypt_p;
	if (!tg_scrypt_params_ok(prm))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("scrypt cost settings ln=%d, r=%d, p=%d are outside the supported limits",
						tg_scrypt_log_n, tg_scrypt_r, tg_scrypt_p),
				 errhint("tenantguard.scrypt_r * 2^tenantguard.scrypt_log_n may be at most 2^23 (1 GiB of work area), "
						 "and tenantguard.scrypt_r * tenantguard.scrypt_p at most 128.")));
}

/*
 * The password as UTF-8 bytes: pw itself when the database encoding is
 * UTF-8 or SQL_ASCII, else a palloc'ed conversion (*copied set). NULL for
 * invalid or unconvertible input (no error raised: the conversion's own
 * message would quote the bytes).
 */
static const char *
tg_pw_utf8(const char *pw, size_t len, size_t *outlen, bool *copied)
{
	int			enc = GetDatabaseEncoding();
	volatile char *conv = NULL;
	volatile bool failed = false;

	*copied = false;
	*outlen = len;
	if (len > (size_t) MaxAllocSize / MAX_CONVERSION_GROWTH)
		return NULL;
	if (enc == PG_UTF8 || enc == PG_SQL_ASCII)
		return pg_verify_mbstr(PG_UTF8, pw, (int) len, true) ? pw : NULL;

	if (!pg_verify_mbstr(enc, pw, (int) len, true))
		return NULL;
	PG_TRY();
	{
		conv = (char *) pg_do_encoding_conversion((unsigned char *) pw, (int) len, enc, PG_UTF8);
	}
	PG_CATCH();
	{
		/* the error quotes the bytes it could not convert: drop it */
		FlushErrorState();
		failed = true;
	}
	PG_END_TRY();
	if (failed)
		return NULL;
	if (conv != pw)
	{
		*copied = true;
		*outlen = strlen((const char *) conv);
	}
	return (const char *) conv;
}

static void
tg_pw_free(const char *utf8, size_t len, bool copied)
{
	if (copied)
	{
		sodium_memzero((void *) utf8, len);
		pfree((void *) utf8);
	}
}

typedef enum TgPwInput
{
	TG_PW_INPUT_OK,
	TG_PW_INPUT_NUL,
	TG_PW_INPUT_ENCODING,
	TG_PW_INPUT_TOO_LONG
} TgPwInput;

/* Classify the input; on OK, *utf8 (and its length and copy flag) are set. */
static TgPwInput
tg_pw_classify(const char *pw, size_t len, const char **utf8, size_t *ulen, bool *copied)
{
	*utf8 = NULL;
	*copied = false;
	*ulen = 0;
	if (pw == NULL || memchr(pw, '\0', len) != NULL)
		return TG_PW_INPUT_NUL;
	/* bytes in any encoding grow at most MAX_CONVERSION_GROWTH-fold into UTF-8 */
	if (len > (size_t) tg_password_max_length * MAX_CONVERSION_GROWTH)
		return TG_PW_INPUT_TOO_LONG;
	*utf8 = tg_pw_utf8(pw, len, ulen, copied);
	if (*utf8 == NULL)
		return TG_PW_INPUT_ENCODING;
	if (*ulen > (size_t) tg_password_max_length)
	{
		tg_pw_free(*utf8, *ulen, *copied);
		*utf8 = NULL;
		*copied = false;
		return TG_PW_INPUT_TOO_LONG;
	}
	return TG_PW_INPUT_OK;
}

static void
tg_pw_input_error(TgPwInput r)
{
	switch (r)
	{
		case TG_PW_INPUT_OK:
			return;
		case TG_PW_INPUT_NUL:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("password must not contain a NUL byte")));
			break;
		case TG_PW_INPUT_ENCODING:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("password is not valid UTF-8"),
					 errdetail("Passwords are hashed as UTF-8; this one is invalid in the database encoding "
							   "or has no UTF-8 equivalent.")));
			break;
		case TG_PW_INPUT_TOO_LONG:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("password is too long"),
					 errdetail("A password may have at most %d bytes (tenantguard.password_max_length).",
							   tg_password_max_length)));
			break;
	}
}

/* Characters of valid UTF-8: the bytes that do not continue a sequence. */
static size_t
tg_pw_chars(const char *utf8, size_t len)
{
	size_t		n = 0,
				i;

	for (i = 0; i < len; i++)
		if (((unsigned char) utf8[i] & 0xC0) != 0x80)
			n++;
	return n;
}

void
tg_password_check_input(const char *pw, size_t len)
{
	const char *utf8;
	size_t		ulen;
	bool		copied;
	TgPwInput	r = tg_pw_classify(pw, len, &utf8, &ulen, &copied);

	tg_pw_input_error(r);
	tg_pw_free(utf8, ulen, copied);
}

/* The policy on UTF-8 input that passed the input checks; ERROR 22023. */
static void
tg_pw_check_min(size_t nchars)
{
	if (nchars < (size_t) tg_password_min_length)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("password is too short"),
				 errdetail("A password needs at least %d characters (tenantguard.password_min_length).",
						   tg_password_min_length)));
}

void
tg_password_check_policy(const char *pw, size_t len)
{
	const char *utf8;
	size_t		ulen;
	bool		copied;
	size_t		nchars;

	tg_pw_input_error(tg_pw_classify(pw, len, &utf8, &ulen, &copied));
	nchars = tg_pw_chars(utf8, ulen);
	tg_pw_free(utf8, ulen, copied);
	tg_pw_check_min(nchars);
}

/* ---------------------------------------------------------------------------
 * Hashing and verifying
 * ------------------------------------------------------------------------- */

static void
tg_pw_openssl_failed(const tg_scrypt_params *prm)
{
	ereport(ERROR,
			(errcode(ERRCODE_OUT_OF_MEMORY),
			 errmsg("could not compute an scrypt hash"),
			 errdetail("OpenSSL's scrypt failed at ln=%u, r=%u, p=%u (most likely it could not allocate its "
					   UINT64_FORMAT " kB work area).",
					   prm->ln, prm->r, prm->p, tg_scrypt_memory(prm) / 1024)));
}

static void
tg_pw_refuse_budget(const tg_scrypt_params *prm, uint64 mem)
{
	ereport(ERROR,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("an scrypt hash at ln=%u, r=%u, p=%u needs " UINT64_FORMAT " kB, more than tenantguard.scrypt_max_memory",
					prm->ln, prm->r, prm->p, mem / 1024),
			 errhint("Lower tenantguard.scrypt_log_n or tenantguard.scrypt_r, or raise tenantguard.scrypt_max_memory.")));
}

char *
tg_password_hash(const char *pw, size_t len)
{
	tg_scrypt_params prm;
	const char *utf8;
	size_t		ulen;
	bool		copied;
	size_t		nchars;
	uint64		mem;
	char		out[TG_SCRYPT_PHC_BUF];
	tg_scrypt_status st;

	tg_pw_params(&prm);
	tg_pw_input_error(tg_pw_classify(pw, len, &utf8, &ulen, &copied));
	nchars = tg_pw_chars(utf8, ulen);
	if (nchars < (size_t) tg_password_min_length)
	{
		tg_pw_free(utf8, ulen, copied);
		tg_pw_check_min(nchars);
	}
	tg_pw_require_shared();
	mem = tg_scrypt_memory(&prm);
	if (mem > tg_pw_budget())
	{
		tg_pw_free(utf8, ulen, copied);
		tg_pw_refuse_budget(&prm, mem);
	}

	tg_pw_acquire(mem);
	st = tg_scrypt_hash((const uint8_t *) utf8, ulen, &prm, out, sizeof(out));
	tg_pw_release();

	tg_pw_free(utf8, ulen, copied);
	if (st != TG_SCRYPT_OK)
		tg_pw_openssl_failed(&prm);
	CHECK_FOR_INTERRUPTS();
	return pstrdup(out);
}

bool
tg_password_verify(const char *pw, size_t len, const char *phc)
{
	tg_scrypt_params prm;
	uint8		salt[TG_SCRYPT_SALT_MAX];
	uint8		ck[TG_SCRYPT_HASH_LEN];
	size_t		saltlen;
	size_t		phclen;
	const char *utf8;
	size_t		ulen;
	bool		copied;
	uint64		mem;
	tg_scrypt_status st;

	tg_pw_require_shared();
	if (phc == NULL)
		return false;
	phclen = strnlen(phc, TG_SCRYPT_PHC_MAX + 1);
	if (phclen > TG_SCRYPT_PHC_MAX)
		return false;
	/* parse first, only for the parameters: what the run will cost */
	st = tg_scrypt_parse(phc, phclen, &prm, salt, &saltlen, ck);
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(salt, sizeof(salt));
	if (st != TG_SCRYPT_OK)
		return false;
	mem = tg_scrypt_memory(&prm);
	if (mem == 0 || mem > tg_pw_budget())
		return false;
	if (tg_pw_classify(pw, len, &utf8, &ulen, &copied) != TG_PW_INPUT_OK)
		return false;

	tg_pw_acquire(mem);
	st = tg_scrypt_verify((const uint8_t *) utf8, ulen, phc, phclen);
	tg_pw_release();

	tg_pw_free(utf8, ulen, copied);
	if (st == TG_SCRYPT_ERROR)
		tg_pw_openssl_failed(&prm);
	CHECK_FOR_INTERRUPTS();
	return st == TG_SCRYPT_OK;
}

void
tg_password_burn(const char *pw, size_t len)
{
	tg_scrypt_params prm;
	uint8		salt[TG_SCRYPT_SALT_LEN];
	uint8		dk[TG_SCRYPT_HASH_LEN];
	const char *utf8;
	size_t		ulen;
	bool		copied;
	uint64		mem;
	tg_scrypt_status st;

	tg_pw_require_shared();
	tg_pw_params(&prm);
	mem = tg_scrypt_memory(&prm);
	if (mem > tg_pw_budget())
		return;					/* a hash at these settings could not be made either */
	if (tg_pw_classify(pw, len, &utf8, &ulen, &copied) != TG_PW_INPUT_OK)
		return;
	randombytes_buf(salt, sizeof(salt));

	tg_pw_acquire(mem);
	st = tg_scrypt_raw((const uint8_t *) utf8, ulen, salt, sizeof(salt), &prm, dk, sizeof(dk));
	tg_pw_release();

	sodium_memzero(dk, sizeof(dk));
	tg_pw_free(utf8, ulen, copied);
	if (st == TG_SCRYPT_ERROR)
		tg_pw_openssl_failed(&prm);
	CHECK_FOR_INTERRUPTS();
}

bool
tg_password_needs_rehash(const char *phc)
{
	tg_scrypt_params prm;
	size_t		phclen;

	tg_pw_params(&prm);
	if (phc == NULL)
		return true;
	phclen = strnlen(phc, TG_SCRYPT_PHC_MAX + 1);
	if (phclen > TG_SCRYPT_PHC_MAX)
		return true;
	return tg_scrypt_needs_rehash(phc, phclen, &prm);
}

/* ---------------------------------------------------------------------------
 * SQL
 * ------------------------------------------------------------------------- */

PG_FUNCTION_INFO_V1(tg_sql_hash_password);
PG_FUNCTION_INFO_V1(tg_sql_verify_password);
PG_FUNCTION_INFO_V1(tg_sql_password_needs_rehash);

/* hash_password(password text) RETURNS text */
Datum
tg_sql_hash_password(PG_FUNCTION_ARGS)
{
	text	   *pw = PG_GETARG_TEXT_PP(0);

	PG_RETURN_TEXT_P(cstring_to_text(tg_password_hash(VARDATA_ANY(pw), VARSIZE_ANY_EXHDR(pw))));
}

/*
 * verify_password(password text, hash text) RETURNS boolean: 22023 for a
 * password that could never have been hashed (too long, invalid); false for
 * a hash that is not ours.
 */
Datum
tg_sql_verify_password(PG_FUNCTION_ARGS)
{
	text	   *pw = PG_GETARG_TEXT_PP(0);
	text	   *hash = PG_GETARG_TEXT_PP(1);
	size_t		hlen = VARSIZE_ANY_EXHDR(hash);
	char	   *phc;
	bool		ok;

	tg_password_check_input(VARDATA_ANY(pw), VARSIZE_ANY_EXHDR(pw));
	if (hlen > TG_SCRYPT_PHC_MAX)
		PG_RETURN_BOOL(false);
	phc = text_to_cstring(hash);
	ok = tg_password_verify(VARDATA_ANY(pw), VARSIZE_ANY_EXHDR(pw), phc);
	pfree(phc);
	PG_RETURN_BOOL(ok);
}

/* password_needs_rehash(hash text) RETURNS boolean */
Datum
tg_sql_password_needs_rehash(PG_FUNCTION_ARGS)
{
	text	   *hash = PG_GETARG_TEXT_PP(0);
	char	   *phc;
	bool		res;

	if (VARSIZE_ANY_EXHDR(hash) > TG_SCRYPT_PHC_MAX)
	{
		tg_scrypt_params prm;

		tg_pw_params(&prm);		/* the settings' error comes first, as below */
		PG_RETURN_BOOL(true);
	}
	phc = text_to_cstring(hash);
	res = tg_password_needs_rehash(phc);
	pfree(phc);
	PG_RETURN_BOOL(res);
}
