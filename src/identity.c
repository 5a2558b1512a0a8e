/*
 * identity.c — users, MFA and login (see identity.h; the SQL side of users
 * and memberships is sql/parts/75_identity.sql).
 *
 * login(): input checks (no account is looked at before they pass), the
 * throttle reservation (login_throttle.c: counted outside the transaction),
 * the user's credentials, the password (or, for an unknown email, the same
 * scrypt on a dummy hash: tg_password_burn), the second factor (TOTP with
 * its last step under a row lock, or a single-use recovery code), a rehash
 * when the stored cost is not the current one, then tg_login_complete().
 *
 * TOTP secrets are sealed like HS256 signing secrets (token_keys.c): an
 * envelope under a key derived from the newest data key for a reserved
 * pseudo-tenant, but with the user's id as the envelope's tenant field, so
 * that a secret copied to another user's row does not open.
 *
 * Recovery codes: 20 characters of base32 (100 bits from libsodium), shown
 * once, stored as BLAKE2b-256 keyed with a subkey of the blind-index key
 * over (user id, code). With 100 bits of entropy per code a fast hash is
 * enough: guessing one of ten codes takes ~2^96 hash evaluations, and the
 * key means a copy of the table without the master key cannot even test
 * guesses.
 *
 * Layer 8: sessions, authz, context, event_store, password, login_throttle,
 * keyring, privileged and core.
 */
#include "postgres.h"

#include <sodium.h>

#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "core/envelope.h"
#include "core/keys.h"
#include "core/otp.h"
#include "core/secret_ref.h"
#include "core/uuid_text.h"
#include "audit_queue.h"
#include "context.h"
#include "event_store.h"
#include "identity.h"
#include "keyring.h"
#include "login_throttle.h"
#include "password.h"
#include "privileged.h"
#include "sessions.h"

#define TG_EMAIL_MAX 254
#define TG_EMAIL_LOCAL_MAX 64
#define TG_CODE_INPUT_MAX 64
#define TG_TOTP_DIGITS 6
#define TG_TOTP_PERIOD 30
#define TG_TOTP_WINDOW 1
#define TG_RECOVERY_LEN 20		/* base32 characters: 100 bits */
#define TG_RECOVERY_COUNT 10
#define TG_RECOVERY_HASH_LEN 32

static const char tg_recovery_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

/* The envelope key of TOTP secrets is derived for this pseudo-tenant (the
 * nil uuid derives the signing keys' one); no real tenant has it (v4 uuids). */
static const uint8 tg_mfa_key_tenant[TG_UUID_LEN] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

static char *tg_mfa_issuer = NULL;

void
tg_identity_init(void)
{
	DefineCustomStringVariable("tenantguard.mfa_issuer",
							   "The issuer name authenticator apps show for TOTP enrolments (enable_mfa()).",
							   NULL,
							   &tg_mfa_issuer,
							   "tenantguard",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);
}

const char *
tg_login_status_name(TgLoginStatus status)
{
	switch (status)
	{
		case TG_LOGIN_OK:
			return "ok";
		case TG_LOGIN_INVALID:
			return "invalid";
		case TG_LOGIN_MFA_REQUIRED:
			return "mfa_required";
		case TG_LOGIN_LOCKED:
			return "locked";
		case TG_LOGIN_DISABLED:
			return "disabled";
		case TG_LOGIN_NO_MEMBERSHIP:
			return "no_membership";
	}
	return "invalid";
}

/* ---------------------------------------------------------------------------
 * Emails
 * ------------------------------------------------------------------------- */

static void
tg_bad_email(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid email address"),
			 errdetail_internal("%s", detail),
			 errhint("Give one address of the form local@domain, at most %d bytes.", TG_EMAIL_MAX)));
}

static bool
tg_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/*
 * The one normal form of an email: surrounding white space trimmed,
 * lower-cased with the database's default collation (as the users table's
 * CHECK does), then checked. palloc'ed; 22023 when malformed.
 */
static char *
tg_email_normalize(const char *in, size_t len)
{
	text	   *t;
	char	   *out;
	size_t		n;
	const char *at = NULL;
	size_t		i;

	while (len > 0 && tg_is_space(in[0]))
	{
		in++;
		len--;
	}
	while (len > 0 && tg_is_space(in[len - 1]))
		len--;
	if (len > TG_EMAIL_MAX)
		tg_bad_email("The address is longer than 254 bytes.");
	if (len < 3)
		tg_bad_email("The address is shorter than 3 bytes.");
	if (!pg_verifymbstr(in, (int) len, true))
		tg_bad_email("The address is not valid in the database encoding.");
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) in[i];

		if (c <= 0x20 || c == 0x7f)
			tg_bad_email("The address contains white space or a control character.");
	}
	t = cstring_to_text_with_len(in, (int) len);
	t = DatumGetTextPP(DirectFunctionCall1Coll(lower, DEFAULT_COLLATION_OID, PointerGetDatum(t)));
	out = text_to_cstring(t);
	n = strlen(out);
	if (n > TG_EMAIL_MAX)
		tg_bad_email("The address is longer than 254 bytes.");
	for (i = 0; i < n; i++)
	{
		if (out[i] == '@')
		{
			if (at != NULL)
				tg_bad_email("The address contains more than one \"@\".");
			at = out + i;
		}
	}
	if (at == NULL)
		tg_bad_email("The address contains no \"@\".");
	if (at == out || (size_t) (at - out) > TG_EMAIL_LOCAL_MAX)
		tg_bad_email("The part before \"@\" must have 1 to 64 bytes.");
	if (at[1] == '\0' || at[1] == '.' || out[n - 1] == '.' || strstr(at, "..") != NULL)
		tg_bad_email("The domain after \"@\" is empty or malformed.");
	return out;
}

PG_FUNCTION_INFO_V1(tg_normalize_email);

/* _normalize_email(email) RETURNS text */
Datum
tg_normalize_email(PG_FUNCTION_ARGS)
{
	text	   *e;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("email must not be null")));
	e = PG_GETARG_TEXT_PP(0);
	PG_RETURN_TEXT_P(cstring_to_text(tg_email_normalize(VARDATA_ANY(e), VARSIZE_ANY_EXHDR(e))));
}

/* ---------------------------------------------------------------------------
 * Audit
 * ------------------------------------------------------------------------- */

/* The current actor, naming user (when set) as the principal and tenant (when set). */
static TgActor
tg_identity_actor(const pg_uuid_t *user, const pg_uuid_t *tenant)
{
	TgActor		a = *tg_actor_current();

	if (user != NULL)
	{
		char		u[TG_UUID_TEXT_LEN + 1];

		tg_uuid_format(user->data, u);
		snprintf(a.principal, sizeof(a.principal), "user:%s", u);
	}
	if (tenant != NULL)
	{
		a.has_tenant = true;
		a.tenant = *tenant;
	}
	else
		a.has_tenant = false;
	return a;
}

/* A refusal through the queue (survives rollback); details: a JSON object or NULL. */
static void
tg_identity_refuse(const TgActor *actor, const char *category, const char *action,
				   const char *object, const char *reason, const char *details)
{
	TgAuditEvent ev;

	tg_event_init(&ev, actor, category, action);
	ev.decision = "deny";
	ev.object = object;
	ev.reason = reason;
	ev.details_json = details;
	(void) tg_audit_enqueue(&ev);
}

/* An allowed event in this transaction. */
static void
tg_identity_allow(const TgActor *actor, const char *category, const char *action,
				  const char *object, const char *details)
{
	TgAuditEvent ev;

	tg_event_init(&ev, actor, category, action);
	ev.decision = "allow";
	ev.object = object;
	ev.details_json = details;
	(void) tg_audit_record(&ev);
}

static char *
tg_user_object(const pg_uuid_t *user)
{
	char		u[TG_UUID_TEXT_LEN + 1];

	tg_uuid_format(user->data, u);
	return psprintf("user:%s", u);
}

PG_FUNCTION_INFO_V1(tg_identity_deny);

/* _identity_deny(action, object, reason, tenant): a refusal of the SQL functions, through the queue. */
Datum
tg_identity_deny(PG_FUNCTION_ARGS)
{
	const char *action = PG_ARGISNULL(0) ? "identity" : text_to_cstring(PG_GETARG_TEXT_PP(0));
	const char *object = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	const char *reason = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	TgActor		actor = tg_identity_actor(NULL, PG_ARGISNULL(3) ? NULL : PG_GETARG_UUID_P(3));

	tg_identity_refuse(&actor, strstr(action, "mfa") != NULL ? "auth" : "admin",
					   action, object, reason, NULL);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(tg_caller_is_admin);

/*
 * _caller_is_admin(): has the outer user (the role after SET ROLE, which a
 * SECURITY DEFINER function does not change) tenantguard_admin's privileges?
 */
Datum
tg_caller_is_admin(PG_FUNCTION_ARGS)
{
	Oid			admin = get_role_oid("tenantguard_admin", true);

	PG_RETURN_BOOL(OidIsValid(admin) && has_privs_of_role(GetOuterUserId(), admin));
}

PG_FUNCTION_INFO_V1(tg_identity_revoke_sessions);

/* _revoke_user_sessions(user_id, tenant, reason) */
Datum
tg_identity_revoke_sessions(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("user_id and reason must not be null")));
	(void) tg_sessions_revoke_user(PG_GETARG_UUID_P(0), PG_ARGISNULL(1) ? NULL : PG_GETARG_UUID_P(1),
							text_to_cstring(PG_GETARG_TEXT_PP(2)));
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(tg_identity_throttle_clear);

/* _throttle_clear(email): unlock_user()'s part in shared memory. */
Datum
tg_identity_throttle_clear(PG_FUNCTION_ARGS)
{
	text	   *e = PG_GETARG_TEXT_PP(0);
	char	   *email = tg_email_normalize(VARDATA_ANY(e), VARSIZE_ANY_EXHDR(e));
	uint8		key[TG_THROTTLE_KEY_LEN];

	tg_throttle_key(email, strlen(email), key);
	tg_throttle_clear(key);
	PG_RETURN_VOID();
}

/* ---------------------------------------------------------------------------
 * TOTP secrets
 * ------------------------------------------------------------------------- */

static bytea *
tg_mfa_seal(const pg_uuid_t *user, const uint8 *secret, size_t len)
{
	return tg_keyring_seal(tg_mfa_key_tenant, user->data, secret, len, "TOTP secret");
}

/* Open user's sealed secret into out (TG_OTP_KEY_MAX bytes); returns its length. */
static size_t
tg_mfa_open(const pg_uuid_t *user, const bytea *sealed, uint8 out[TG_OTP_KEY_MAX])
{
	size_t		n = 0;
	uint8	   *pt = tg_keyring_open(tg_mfa_key_tenant, user->data, (const uint8 *) VARDATA_ANY(sealed),
									 VARSIZE_ANY_EXHDR(sealed), &n, "TOTP secret");

	if (n < TG_OTP_KEY_MIN || n > TG_OTP_KEY_MAX)
	{
		sodium_memzero(pt, n);
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("stored TOTP secret is malformed")));
	}
	memcpy(out, pt, n);
	sodium_memzero(pt, n);
	pfree(pt);
	return n;
}

/*
 * Check a 6-digit code against user's sealed secret; a step <= last_step
 * (< 0: none) is never accepted. The accepted step, or -1.
 */
static int64
tg_mfa_verify(const pg_uuid_t *user, const bytea *sealed, const char *code, size_t len,
			  int64 last_step)
{
	uint8		key[TG_OTP_KEY_MAX];
	size_t		klen = tg_mfa_open(user, sealed, key);
	int64		now = (int64) time(NULL);
	uint64		step = 0;
	tg_otp_verdict v;

	v = tg_totp_verify(key, klen, TG_OTP_SHA1, TG_TOTP_DIGITS, TG_TOTP_PERIOD, now,
					   TG_TOTP_WINDOW, last_step, code, len, &step);
	sodium_memzero(key, sizeof(key));
	return v == TG_OTP_ACCEPT ? (int64) step : -1;
}

static bool
tg_is_totp_code(const char *s, size_t len)
{
	uint32		c;

	return tg_otp_parse_code(s, len, TG_TOTP_DIGITS, &c);
}

static void
tg_bad_code(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("malformed second-factor code"),
			 errhint("Give the %d-digit code of the authenticator app, or a recovery code (20 letters and digits, hyphens optional).",
					 TG_TOTP_DIGITS)));
}

PG_FUNCTION_INFO_V1(tg_mfa_enroll);

/* _mfa_enroll(user_id, account, OUT sealed bytea, OUT uri text) */
Datum
tg_mfa_enroll(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *user = PG_GETARG_UUID_P(0);
	text	   *account = PG_GETARG_TEXT_PP(1);
	const char *issuer = tg_mfa_issuer && tg_mfa_issuer[0] ? tg_mfa_issuer : "tenantguard";
	uint8		secret[TG_OTP_KEY_DEFAULT];
	size_t		cap;
	char	   *uri;
	long		n;
	TupleDesc	desc;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "_mfa_enroll must return a row");
	if (!tg_otp_new_secret(secret, sizeof(secret)))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not make a TOTP secret")));
	cap = 256 + 3 * (2 * strlen(issuer) + VARSIZE_ANY_EXHDR(account));
	uri = palloc(cap);
	n = tg_otp_uri(issuer, strlen(issuer), VARDATA_ANY(account), VARSIZE_ANY_EXHDR(account),
				   secret, sizeof(secret), TG_OTP_SHA1, TG_TOTP_DIGITS, TG_TOTP_PERIOD, uri, cap);
	if (n < 0)
	{
		sodium_memzero(secret, sizeof(secret));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not make the otpauth URI"),
				 errhint("Check tenantguard.mfa_issuer: it must be non-empty.")));
	}
	values[0] = PointerGetDatum(tg_mfa_seal(user, secret, sizeof(secret)));
	sodium_memzero(secret, sizeof(secret));
	values[1] = PointerGetDatum(cstring_to_text_with_len(uri, (int) n));
	sodium_memzero(uri, cap);
	desc = BlessTupleDesc(desc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

PG_FUNCTION_INFO_V1(tg_mfa_check);

/* _mfa_check(user_id, sealed, code, last_step) RETURNS bigint: the accepted step or NULL. */
Datum
tg_mfa_check(PG_FUNCTION_ARGS)
{
	text	   *code;
	int64		step;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("user, secret and code must not be null")));
	code = PG_GETARG_TEXT_PP(2);
	if (!tg_is_totp_code(VARDATA_ANY(code), VARSIZE_ANY_EXHDR(code)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed TOTP code"),
				 errhint("Give the %d digits the authenticator app shows.", TG_TOTP_DIGITS)));
	step = tg_mfa_verify(PG_GETARG_UUID_P(0), PG_GETARG_BYTEA_PP(1), VARDATA_ANY(code),
						 VARSIZE_ANY_EXHDR(code), PG_ARGISNULL(3) ? -1 : PG_GETARG_INT64(3));
	if (step < 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(step);
}

/* ---------------------------------------------------------------------------
 * Recovery codes
 * ------------------------------------------------------------------------- */

/* A recovery code as typed (hyphens anywhere, either case) in its 20-character form; false if it is not one. */
static bool
tg_recovery_normalize(const char *in, size_t len, char out[TG_RECOVERY_LEN])
{
	size_t		n = 0;
	size_t		i;

	if (len > TG_CODE_INPUT_MAX)
		return false;
	for (i = 0; i < len; i++)
	{
		char		c = in[i];

		if (c == '-')
			continue;
		if (c >= 'A' && c <= 'Z')
			c = (char) (c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')) || n == TG_RECOVERY_LEN)
			return false;
		out[n++] = c;
	}
	return n == TG_RECOVERY_LEN;
}

static void
tg_recovery_hash(const pg_uuid_t *user, const char code[TG_RECOVERY_LEN], uint8 out[TG_RECOVERY_HASH_LEN])
{
	static const char label[] = "tenantguard recovery codes v1";
	uint8		subkey[crypto_generichash_KEYBYTES];
	crypto_generichash_state st;

	crypto_generichash(subkey, sizeof(subkey), (const uint8 *) label, sizeof(label) - 1,
					   tg_blind_index_key(), TG_KEY_LEN);
	crypto_generichash_init(&st, subkey, sizeof(subkey), TG_RECOVERY_HASH_LEN);
	crypto_generichash_update(&st, user->data, TG_UUID_LEN);
	crypto_generichash_update(&st, (const uint8 *) code, TG_RECOVERY_LEN);
	crypto_generichash_final(&st, out, TG_RECOVERY_HASH_LEN);
	sodium_memzero(subkey, sizeof(subkey));
	sodium_memzero(&st, sizeof(st));
}

static bytea *
tg_bytea_of(const uint8 *b, size_t n)
{
	bytea	   *r = (bytea *) palloc(VARHDRSZ + n);

	SET_VARSIZE(r, VARHDRSZ + n);
	memcpy(VARDATA(r), b, n);
	return r;
}

PG_FUNCTION_INFO_V1(tg_recovery_codes_new);

/* _recovery_codes_new(user_id, OUT code text, OUT code_hash bytea) RETURNS SETOF record: ten new codes. */
Datum
tg_recovery_codes_new(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *user = PG_GETARG_UUID_P(0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < TG_RECOVERY_COUNT; i++)
	{
		char		code[TG_RECOVERY_LEN];
		char		shown[TG_RECOVERY_LEN + TG_RECOVERY_LEN / 5];
		uint8		h[TG_RECOVERY_HASH_LEN];
		Datum		values[2];
		bool		nulls[2] = {false, false};
		int			j,
					k = 0;

		for (j = 0; j < TG_RECOVERY_LEN; j++)
			code[j] = tg_recovery_alphabet[randombytes_uniform(32)];
		/* shown in groups of five: abcde-fghij-klmno-pqrst */
		for (j = 0; j < TG_RECOVERY_LEN; j++)
		{
			if (j > 0 && j % 5 == 0)
				shown[k++] = '-';
			shown[k++] = code[j];
		}
		shown[k] = '\0';
		tg_recovery_hash(user, code, h);
		values[0] = PointerGetDatum(cstring_to_text(shown));
		values[1] = PointerGetDatum(tg_bytea_of(h, sizeof(h)));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		sodium_memzero(code, sizeof(code));
		sodium_memzero(shown, sizeof(shown));
	}
	return (Datum) 0;
}

/* ---------------------------------------------------------------------------
 * SPI helpers
 * ------------------------------------------------------------------------- */

/* A saved plan of sql (argument types argtypes). */
static SPIPlanPtr
tg_plan(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes)
{
	if (*cache == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(sql, nargs, argtypes);

		if (p == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		if (SPI_keepplan(p) != 0)
			elog(ERROR, "SPI_keepplan failed");
		*cache = p;
	}
	return *cache;
}

static int
tg_exec(SPIPlanPtr plan, Datum *values, const char *nulls, bool read_only)
{
	int			rc = SPI_execute_plan(plan, values, nulls, read_only, 0);

	if (rc < 0)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	return rc;
}

static Datum
tg_col(int row, int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);
}

/* ---------------------------------------------------------------------------
 * tg_login_complete
 * ------------------------------------------------------------------------- */

static SPIPlanPtr plan_user_status = NULL;
static SPIPlanPtr plan_only_membership = NULL;
static SPIPlanPtr plan_tenant_by_id = NULL;
static SPIPlanPtr plan_tenant_by_slug = NULL;

typedef enum TgTenantText
{
	TG_TENANT_NONE,
	TG_TENANT_UUID,
	TG_TENANT_SLUG
} TgTenantText;

/* What tenant_text is; 22023 when it is neither a uuid nor a slug. */
static TgTenantText
tg_tenant_text_kind(const char *s, pg_uuid_t *uuid)
{
	size_t		len;

	if (s == NULL)
		return TG_TENANT_NONE;
	len = strlen(s);
	if (tg_uuid_parse(s, len, uuid->data))
		return TG_TENANT_UUID;
	if (tg_slug_valid(s, len))
		return TG_TENANT_SLUG;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid tenant"),
			 errhint("Give the tenant's slug or its id, or NULL when the user belongs to one tenant only.")));
	return TG_TENANT_NONE;
}

/* The sessions' rule for a method name: 1..32 of [a-z0-9_] (it goes into an event's JSON as is). */
static bool
tg_method_valid(const char *m)
{
	size_t		n = m ? strlen(m) : 0;
	size_t		i;

	if (n < 1 || n > 32)
		return false;
	for (i = 0; i < n; i++)
		if (!((m[i] >= 'a' && m[i] <= 'z') || (m[i] >= '0' && m[i] <= '9') || m[i] == '_'))
			return false;
	return true;
}

void
tg_login_complete(const pg_uuid_t *user, const char *tenant_text, int aal,
				  const char *method, TgLoginResult *out)
{
	MemoryContext outer = CurrentMemoryContext;
	pg_uuid_t	tuuid;
	TgTenantText kind = tg_tenant_text_kind(tenant_text, &tuuid);
	Oid			t_uuid[1] = {UUIDOID};
	Oid			t_uuid2[2] = {UUIDOID, UUIDOID};
	Oid			t_uuid_text[2] = {UUIDOID, TEXTOID};
	Datum		v[2];
	bool		isnull;
	bool		user_disabled;
	bool		found_tenant = false;
	bool		member = false;
	bool		suspended = false;
	const char *reason = NULL;
	char	   *object = tg_user_object(user);
	char	   *details;
	TgActor		actor;
	int			level;

	memset(out, 0, sizeof(*out));
	out->has_user = true;
	out->user = *user;
	if (!tg_method_valid(method) || (aal != 1 && aal != 2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid sign-in method or assurance level"),
				 errdetail("The method must be 1 to 32 of [a-z0-9_], the level 1 or 2.")));

	level = tg_spi_begin();
	v[0] = UUIDPGetDatum(user);
	tg_exec(tg_plan(&plan_user_status,
					"SELECT u.status OPERATOR(pg_catalog.=) 'disabled' FROM tenantguard.users u "
					"WHERE u.id OPERATOR(pg_catalog.=) $1", 1, t_uuid), v, NULL, true);
	user_disabled = SPI_processed != 1 || DatumGetBool(tg_col(0, 1, &isnull));
	if (!user_disabled)
	{
		if (kind == TG_TENANT_NONE)
		{
			tg_exec(tg_plan(&plan_only_membership,
							"SELECT m.tenant_id, t.status OPERATOR(pg_catalog.=) 'suspended' "
							"FROM tenantguard.memberships m JOIN tenantguard.tenants t "
							"ON t.id OPERATOR(pg_catalog.=) m.tenant_id "
							"WHERE m.user_id OPERATOR(pg_catalog.=) $1 LIMIT 2", 1, t_uuid), v, NULL, true);
			if (SPI_processed == 1)
			{
				found_tenant = member = true;
				tuuid = *DatumGetUUIDP(tg_col(0, 1, &isnull));
				suspended = DatumGetBool(tg_col(0, 2, &isnull));
			}
			else
				reason = SPI_processed == 0 ? "no_membership" : "tenant_not_chosen";
		}
		else
		{
			const char *sql_by_id =
				"SELECT t.id, t.status OPERATOR(pg_catalog.=) 'suspended', m.user_id IS NOT NULL "
				"FROM tenantguard.tenants t LEFT JOIN tenantguard.memberships m "
				"ON m.tenant_id OPERATOR(pg_catalog.=) t.id AND m.user_id OPERATOR(pg_catalog.=) $1 "
				"WHERE t.id OPERATOR(pg_catalog.=) $2";
			const char *sql_by_slug =
				"SELECT t.id, t.status OPERATOR(pg_catalog.=) 'suspended', m.user_id IS NOT NULL "
				"FROM tenantguard.tenants t LEFT JOIN tenantguard.memberships m "
				"ON m.tenant_id OPERATOR(pg_catalog.=) t.id AND m.user_id OPERATOR(pg_catalog.=) $1 "
				"WHERE t.slug OPERATOR(pg_catalog.=) $2";

			if (kind == TG_TENANT_UUID)
			{
				v[1] = UUIDPGetDatum(&tuuid);
				tg_exec(tg_plan(&plan_tenant_by_id, sql_by_id, 2, t_uuid2), v, NULL, true);
			}
			else
			{
				v[1] = CStringGetTextDatum(tenant_text);
				tg_exec(tg_plan(&plan_tenant_by_slug, sql_by_slug, 2, t_uuid_text), v, NULL, true);
			}
			if (SPI_processed == 1)
			{
				found_tenant = true;
				tuuid = *DatumGetUUIDP(tg_col(0, 1, &isnull));
				suspended = DatumGetBool(tg_col(0, 2, &isnull));
				member = DatumGetBool(tg_col(0, 3, &isnull));
			}
			if (!member)
				reason = "no_membership";
		}
	}
	tg_spi_end(level);

	/*
	 * The tenant only to its members: a no_membership answer naming the
	 * tenant would tell anyone who can sign in which slugs exist and their
	 * ids.
	 */
	if (found_tenant && member)
	{
		out->has_tenant = true;
		out->tenant = tuuid;
	}
	actor = tg_identity_actor(user, member ? &tuuid : NULL);
	details = psprintf("{\"method\": \"%s\", \"aal\": %d}", method, aal);
	if (user_disabled)
	{
		out->status = TG_LOGIN_DISABLED;
		tg_identity_refuse(&actor, "auth", "login", object, "user_disabled", details);
	}
	else if (!member)
	{
		out->status = TG_LOGIN_NO_MEMBERSHIP;
		tg_identity_refuse(&actor, "auth", "login", object, reason, details);
	}
	else if (suspended)
	{
		out->status = TG_LOGIN_DISABLED;
		tg_identity_refuse(&actor, "auth", "login", object, "tenant_suspended", details);
	}
	else
	{
		char	   *token;

		token = tg_session_create(user, &tuuid, aal, method, &out->expires_at);
		out->session_token = MemoryContextStrdup(outer, token);
		out->status = TG_LOGIN_OK;
		tg_identity_allow(&actor, "auth", "login", object, details);
	}
}

Datum
tg_login_result_datum(FunctionCallInfo fcinfo, const TgLoginResult *r)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};

	InitMaterializedSRF(fcinfo, 0);
	values[0] = CStringGetTextDatum(tg_login_status_name(r->status));
	if (r->session_token != NULL)
		values[1] = CStringGetTextDatum(r->session_token);
	else
		nulls[1] = true;
	if (r->has_user)
		values[2] = UUIDPGetDatum(&r->user);
	else
		nulls[2] = true;
	if (r->has_tenant)
		values[3] = UUIDPGetDatum(&r->tenant);
	else
		nulls[3] = true;
	if (r->status == TG_LOGIN_OK)
		values[4] = TimestampTzGetDatum(r->expires_at);
	else
		nulls[4] = true;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

/* ---------------------------------------------------------------------------
 * login()
 * ------------------------------------------------------------------------- */

static SPIPlanPtr plan_credentials = NULL;
static SPIPlanPtr plan_mfa_lock = NULL;
static SPIPlanPtr plan_mfa_step = NULL;
static SPIPlanPtr plan_recovery_use = NULL;
static SPIPlanPtr plan_recovery_left = NULL;
static SPIPlanPtr plan_rehash = NULL;

typedef enum TgFactor
{
	TG_FACTOR_NONE,
	TG_FACTOR_TOTP,
	TG_FACTOR_RECOVERY
} TgFactor;

/* What login() learnt about the account (in the caller's memory). */
typedef struct TgAccount
{
	bool		found;
	pg_uuid_t	user;
	char	   *hash;			/* NULL: no password */
	bool		mfa;			/* confirmed TOTP */
} TgAccount;

static void
tg_account_load(const char *email, TgAccount *acc, MemoryContext outer)
{
	Oid			types[1] = {TEXTOID};
	Datum		v[1];
	bool		isnull;

	memset(acc, 0, sizeof(*acc));
	v[0] = CStringGetTextDatum(email);
	tg_exec(tg_plan(&plan_credentials,
					"SELECT u.id, c.password_hash, c.mfa_confirmed_at IS NOT NULL "
					"FROM tenantguard.users u LEFT JOIN tenantguard.user_credentials c "
					"ON c.user_id OPERATOR(pg_catalog.=) u.id "
					"WHERE u.email OPERATOR(pg_catalog.=) $1", 1, types), v, NULL, true);
	if (SPI_processed != 1)
		return;
	acc->found = true;
	acc->user = *DatumGetUUIDP(tg_col(0, 1, &isnull));
	{
		Datum		h = tg_col(0, 2, &isnull);

		if (!isnull)
			acc->hash = MemoryContextStrdup(outer, TextDatumGetCString(h));
	}
	acc->mfa = DatumGetBool(tg_col(0, 3, &isnull));
}

/* The TOTP code against the user's secret, its step persisted; under a row lock. */
static bool
tg_login_totp(const pg_uuid_t *user, const char *code, size_t len)
{
	Oid			t1[1] = {UUIDOID};
	Oid			t2[2] = {UUIDOID, INT8OID};
	Datum		v[2];
	bool		isnull;
	Datum		sealed;
	int64		last;
	int64		step;

	v[0] = UUIDPGetDatum(user);
	tg_exec(tg_plan(&plan_mfa_lock,
					"SELECT c.mfa_secret, c.mfa_last_step FROM tenantguard.user_credentials c "
					"WHERE c.user_id OPERATOR(pg_catalog.=) $1 AND c.mfa_confirmed_at IS NOT NULL "
					"FOR UPDATE", 1, t1), v, NULL, false);
	if (SPI_processed != 1)
		return false;
	sealed = tg_col(0, 1, &isnull);
	if (isnull)
		return false;
	{
		Datum		l = tg_col(0, 2, &isnull);

		last = isnull ? -1 : DatumGetInt64(l);
	}
	step = tg_mfa_verify(user, DatumGetByteaPP(sealed), code, len, last);
	if (step < 0)
		return false;
	v[1] = Int64GetDatum(step);
	tg_exec(tg_plan(&plan_mfa_step,
					"UPDATE tenantguard.user_credentials c SET mfa_last_step = $2 "
					"WHERE c.user_id OPERATOR(pg_catalog.=) $1", 2, t2), v, NULL, false);
	return true;
}

/* Spend a recovery code; -1 when it is not one of the user's unused codes, else how many are left. */
static int64
tg_login_recovery(const pg_uuid_t *user, const char code[TG_RECOVERY_LEN])
{
	Oid			t2[2] = {UUIDOID, BYTEAOID};
	Oid			t1[1] = {UUIDOID};
	Datum		v[2];
	uint8		h[TG_RECOVERY_HASH_LEN];
	bool		isnull;

	tg_recovery_hash(user, code, h);
	v[0] = UUIDPGetDatum(user);
	v[1] = PointerGetDatum(tg_bytea_of(h, sizeof(h)));
	tg_exec(tg_plan(&plan_recovery_use,
					"UPDATE tenantguard.user_recovery_codes r SET used_at = pg_catalog.now() "
					"WHERE r.user_id OPERATOR(pg_catalog.=) $1 AND r.code_hash OPERATOR(pg_catalog.=) $2 "
					"AND r.used_at IS NULL", 2, t2), v, NULL, false);
	if (SPI_processed != 1)
		return -1;
	tg_exec(tg_plan(&plan_recovery_left,
					"SELECT pg_catalog.count(*) FROM tenantguard.user_recovery_codes r "
					"WHERE r.user_id OPERATOR(pg_catalog.=) $1 AND r.used_at IS NULL", 1, t1), v, NULL, false);
	return DatumGetInt64(tg_col(0, 1, &isnull));
}

/*
 * Replace the stored hash by one at the current cost, unless set_password()
 * replaced it meanwhile. A password the current policy would refuse as new
 * (e.g. shorter than a raised password_min_length) keeps its old hash: the
 * policy's 22023 is swallowed in a subtransaction, nothing else is.
 */
static void
tg_login_rehash(const pg_uuid_t *user, const char *pw, size_t len, const char *old)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		Oid			t3[3] = {UUIDOID, TEXTOID, TEXTOID};
		Datum		v[3];
		char	   *h = tg_password_hash(pw, len);
		int			level;

		v[0] = UUIDPGetDatum(user);
		v[1] = CStringGetTextDatum(h);
		v[2] = CStringGetTextDatum(old);
		level = tg_spi_begin();
		tg_exec(tg_plan(&plan_rehash,
						"UPDATE tenantguard.user_credentials c SET password_hash = $2 "
						"WHERE c.user_id OPERATOR(pg_catalog.=) $1 AND c.password_hash OPERATOR(pg_catalog.=) $3",
						3, t3), v, NULL, false);
		tg_spi_end(level);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *ed;

		MemoryContextSwitchTo(cxt);
		ed = CopyErrorData();
		if (ed->sqlerrcode != ERRCODE_INVALID_PARAMETER_VALUE)
			PG_RE_THROW();
		FlushErrorState();
		FreeErrorData(ed);
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_END_TRY();
}

/*
 * After a server start (or crash restart) the shared failure table is
 * empty: restore the locks this database's ledger says are still in force
 * — a login.lockout event (its object is the email) within the last
 * tenantguard.login_lockout and no unlock_user() of that user after it.
 * Counts below the limit are not restored. Runs once per database (at its
 * first login), as the extension owner.
 */
static void
tg_login_restore_locks(void)
{
	TimestampTz now = GetCurrentTimestamp();
	int64		lockout = (int64) tg_login_lockout_ms * 1000;
	Oid			types[1] = {TIMESTAMPTZOID};
	Datum		values[1];
	int			level;
	uint64		i;

	values[0] = TimestampTzGetDatum(now - lockout);
	level = tg_spi_begin();
	if (SPI_execute_with_args(
			"WITH recent AS MATERIALIZED (SELECT e.object, e.action, e.occurred_at "
			"  FROM tenantguard_audit.events e "
			"  WHERE e.occurred_at OPERATOR(pg_catalog.>) $1 "
			"    AND e.category OPERATOR(pg_catalog.=) 'auth' "
			"    AND e.action OPERATOR(pg_catalog.=) ANY ('{login.lockout,user.unlock}'::pg_catalog.text[]) "
			"    AND e.object IS NOT NULL), "
			"locks AS (SELECT r.object AS email, pg_catalog.max(r.occurred_at) AS at FROM recent r "
			"  WHERE r.action OPERATOR(pg_catalog.=) 'login.lockout' GROUP BY r.object) "
			"SELECT l.email, l.at FROM locks l "
			"WHERE NOT EXISTS (SELECT 1 FROM recent u JOIN tenantguard.users us "
			"    ON u.object OPERATOR(pg_catalog.=) ('user:' OPERATOR(pg_catalog.||) us.id::pg_catalog.text) "
			"  WHERE us.email OPERATOR(pg_catalog.=) l.email "
			"    AND u.action OPERATOR(pg_catalog.=) 'user.unlock' "
			"    AND u.occurred_at OPERATOR(pg_catalog.>) l.at)",
			1, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed");
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		bool		isnull;
		char	   *email = SPI_getvalue(tup, SPI_tuptable->tupdesc, 1);
		Datum		at = SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull);
		uint8		key[TG_THROTTLE_KEY_LEN];

		if (email == NULL || isnull)
			continue;
		tg_throttle_key(email, strlen(email), key);
		tg_throttle_restore_lock(key, DatumGetTimestampTz(at) + lockout);
	}
	tg_spi_end(level);
	tg_throttle_restore_done();
}

PG_FUNCTION_INFO_V1(tg_login);

/* login(email, password, totp DEFAULT NULL, tenant DEFAULT NULL) RETURNS TABLE(...) */
Datum
tg_login(PG_FUNCTION_ARGS)
{
	MemoryContext outer = CurrentMemoryContext;
	text	   *email_t;
	text	   *pw_t;
	const char *pw;
	size_t		pwlen;
	char	   *email;
	TgFactor	factor = TG_FACTOR_NONE;
	const char *code = NULL;
	size_t		codelen = 0;
	char		recovery[TG_RECOVERY_LEN];
	char	   *tenant_text = NULL;
	pg_uuid_t	tdummy;
	uint8		key[TG_THROTTLE_KEY_LEN];
	TimestampTz locked_until;
	TgAccount	acc;
	TgActor		actor;
	TgLoginResult res;
	bool		ok;
	const char *method = "password";
	int			aal = 1;
	int64		recovery_left = -1;
	int			level;

	/* 1. input, before any account is looked at */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("email and password must not be null")));
	email_t = PG_GETARG_TEXT_PP(0);
	pw_t = PG_GETARG_TEXT_PP(1);
	pw = VARDATA_ANY(pw_t);
	pwlen = VARSIZE_ANY_EXHDR(pw_t);
	email = tg_email_normalize(VARDATA_ANY(email_t), VARSIZE_ANY_EXHDR(email_t));
	tg_password_check_input(pw, pwlen);
	if (!PG_ARGISNULL(2))
	{
		text	   *c = PG_GETARG_TEXT_PP(2);

		code = VARDATA_ANY(c);
		codelen = VARSIZE_ANY_EXHDR(c);
		if (tg_is_totp_code(code, codelen))
			factor = TG_FACTOR_TOTP;
		else if (tg_recovery_normalize(code, codelen, recovery))
			factor = TG_FACTOR_RECOVERY;
		else
			tg_bad_code();
	}
	if (!PG_ARGISNULL(3))
	{
		tenant_text = text_to_cstring(PG_GETARG_TEXT_PP(3));
		(void) tg_tenant_text_kind(tenant_text, &tdummy);
	}
	if (XactReadOnly)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("login() cannot run in a read-only transaction"),
				 errdetail("A login writes its session, and spends the second-factor code it accepts."),
				 errhint("Call it in a read-write transaction on the primary.")));

	/* 2. the throttle: locks restored after a restart, then reserved before the password is checked */
	if (tg_throttle_restore_needed())
		tg_login_restore_locks();
	tg_throttle_key(email, strlen(email), key);
	actor = tg_identity_actor(NULL, NULL);
	if (!tg_throttle_begin(key, &locked_until))
	{
		tg_identity_refuse(&actor, "auth", "login", email, "locked", NULL);
		memset(&res, 0, sizeof(res));
		res.status = TG_LOGIN_LOCKED;
		return tg_login_result_datum(fcinfo, &res);
	}

	/* 3. the password, or the same work for an unknown email */
	level = tg_spi_begin();
	tg_account_load(email, &acc, outer);
	tg_spi_end(level);
	if (acc.found && acc.hash != NULL)
		ok = tg_password_verify(pw, pwlen, acc.hash);
	else
	{
		tg_password_burn(pw, pwlen);
		ok = false;
	}
	if (!ok)
	{
		bool		locked_now = tg_throttle_end(TG_THROTTLE_FAILURE);

		tg_identity_refuse(&actor, "auth", "login", email,
						   acc.found ? "bad_password" : "unknown_user", NULL);
		if (locked_now)
			tg_identity_refuse(&actor, "auth", "login.lockout", email, "too_many_failures",
							   psprintf("{\"max_failures\": %d}", tg_login_max_failures));
		memset(&res, 0, sizeof(res));
		res.status = TG_LOGIN_INVALID;
		return tg_login_result_datum(fcinfo, &res);
	}

	/* 4. the second factor */
	if (acc.mfa)
	{
		bool		factor_ok = false;

		if (factor == TG_FACTOR_NONE)
		{
			(void) tg_throttle_end(TG_THROTTLE_NEUTRAL);
			tg_identity_refuse(&actor, "auth", "login", email, "mfa_required", NULL);
			memset(&res, 0, sizeof(res));
			res.status = TG_LOGIN_MFA_REQUIRED;
			return tg_login_result_datum(fcinfo, &res);
		}
		level = tg_spi_begin();
		if (factor == TG_FACTOR_TOTP)
			factor_ok = tg_login_totp(&acc.user, code, codelen);
		else
		{
			recovery_left = tg_login_recovery(&acc.user, recovery);
			factor_ok = recovery_left >= 0;
		}
		tg_spi_end(level);
		sodium_memzero(recovery, sizeof(recovery));
		if (!factor_ok)
		{
			bool		locked_now = tg_throttle_end(TG_THROTTLE_FAILURE);

			tg_identity_refuse(&actor, "auth", "login", email,
							   factor == TG_FACTOR_TOTP ? "bad_code" : "bad_recovery_code", NULL);
			if (locked_now)
				tg_identity_refuse(&actor, "auth", "login.lockout", email, "too_many_failures",
								   psprintf("{\"max_failures\": %d}", tg_login_max_failures));
			memset(&res, 0, sizeof(res));
			res.status = TG_LOGIN_INVALID;
			return tg_login_result_datum(fcinfo, &res);
		}
		aal = 2;
		if (factor == TG_FACTOR_RECOVERY)
			method = "recovery_code";
	}
	(void) tg_throttle_end(TG_THROTTLE_SUCCESS);

	/* 5. a stored hash at an old cost is replaced (the transaction is read-write) */
	if (tg_password_needs_rehash(acc.hash))
		tg_login_rehash(&acc.user, pw, pwlen, acc.hash);
	if (recovery_left >= 0)
	{
		TgActor		ua = tg_identity_actor(&acc.user, NULL);

		tg_identity_allow(&ua, "auth", "mfa.recovery_code_used", tg_user_object(&acc.user),
						  psprintf("{\"remaining\": " INT64_FORMAT "}", recovery_left));
	}

	/* 6. tenant, membership, session, event */
	tg_login_complete(&acc.user, tenant_text, aal, method, &res);
	return tg_login_result_datum(fcinfo, &res);
}
