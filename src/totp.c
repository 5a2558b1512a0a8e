/*
 * totp.c — the SQL side of one-time passwords (src/core/otp.h):
 * totp_new_secret(), totp_code(), totp_verify(), totp_uri().
 *
 * Secrets cross the API as base32 (RFC 4648: either case, padding
 * optional, no spaces), 10..64 bytes decoded; new ones are 160 bits.
 * Algorithms are named sha1, sha256 or sha512 (any case). Bad parameters
 * raise 22023 naming the parameter, never quoting the secret; a code that
 * is not digits of the right length is a wrong code (false), like any other.
 * totp_verify() is stateless (no replay memory): the caller that must refuse
 * a code used twice persists the step, as the MFA functions do.
 *
 * Layer 1: calls core/otp only.
 */
#include "postgres.h"

#include <string.h>
#include <sodium.h>

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "core/otp.h"

/* Longest account and issuer (bytes) in a Key URI. */
#define TG_TOTP_LABEL_MAX 255
/* Longest secret text read: 64 bytes are 103 base32 characters, 104 padded. */
#define TG_TOTP_SECRET_TEXT_MAX 104

/* Decode a base32 secret into key (TG_OTP_KEY_MAX bytes); ERROR 22023. */
static size_t
tg_totp_secret(text *secret, uint8 key[TG_OTP_KEY_MAX])
{
	size_t		len = VARSIZE_ANY_EXHDR(secret);
	long		n;

	if (len > TG_TOTP_SECRET_TEXT_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("TOTP secret is too long"),
				 errdetail("A secret has at most %d bytes (%d base32 characters).",
						   TG_OTP_KEY_MAX, TG_TOTP_SECRET_TEXT_MAX)));
	n = tg_base32_decode(VARDATA_ANY(secret), len, key, TG_OTP_KEY_MAX);
	if (n < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("TOTP secret is not valid base32"),
				 errhint("A secret is RFC 4648 base32: letters A-Z (either case) and digits 2-7, "
						 "padding with \"=\" optional, no spaces.")));
	if (n < TG_OTP_KEY_MIN)
	{
		sodium_memzero(key, TG_OTP_KEY_MAX);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("TOTP secret is too short"),
				 errdetail("A secret needs at least %d bytes (%d bits).", TG_OTP_KEY_MIN, TG_OTP_KEY_MIN * 8)));
	}
	return (size_t) n;
}

static tg_otp_alg
tg_totp_alg(text *name)
{
	size_t		len = VARSIZE_ANY_EXHDR(name);
	const char *s = VARDATA_ANY(name);
	char		up[8] = {0};
	size_t		i;
	tg_otp_alg	alg;

	if (len < sizeof(up))
	{
		for (i = 0; i < len; i++)
			up[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char) (s[i] - 'a' + 'A') : s[i];
		if (tg_otp_alg_parse(up, len, &alg))
			return alg;
	}
	if (len <= 16 && memchr(s, '\0', len) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unsupported TOTP algorithm \"%s\"", text_to_cstring(name)),
				 errhint("Use sha1, sha256 or sha512.")));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unsupported TOTP algorithm"),
			 errhint("Use sha1, sha256 or sha512.")));
	return TG_OTP_SHA1;			/* not reached */
}

static void
tg_totp_check_digits(int32 digits)
{
	if (digits < TG_OTP_DIGITS_MIN || digits > TG_OTP_DIGITS_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("TOTP digits must be between %d and %d", TG_OTP_DIGITS_MIN, TG_OTP_DIGITS_MAX)));
}

static void
tg_totp_check_period(int32 period)
{
	if (period < 1 || period > TG_OTP_PERIOD_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("TOTP period must be between 1 and %d seconds", TG_OTP_PERIOD_MAX)));
}

/* Unix seconds of a timestamptz (floor); ERROR 22023 before 1970 or infinite. */
static int64
tg_totp_unix(TimestampTz at)
{
	int64		secs;

	if (TIMESTAMP_NOT_FINITE(at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("TOTP time must be finite")));
	secs = at / USECS_PER_SEC;
	if (at % USECS_PER_SEC < 0)
		secs--;
	secs += (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
	if (secs < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("TOTP time must not be before 1970-01-01 00:00:00+00")));
	return secs;
}

PG_FUNCTION_INFO_V1(tg_sql_totp_new_secret);
PG_FUNCTION_INFO_V1(tg_sql_totp_code);
PG_FUNCTION_INFO_V1(tg_sql_totp_verify);
PG_FUNCTION_INFO_V1(tg_sql_totp_uri);

/* totp_new_secret() RETURNS text: 160 random bits, unpadded base32. */
Datum
tg_sql_totp_new_secret(PG_FUNCTION_ARGS)
{
	uint8		key[TG_OTP_KEY_DEFAULT];
	char		b32[64];
	text	   *res;

	StaticAssertStmt(sizeof(b32) >= 33, "base32 of 20 bytes");
	if (!tg_otp_new_secret(key, sizeof(key)))
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not make a TOTP secret")));
	tg_base32_encode(key, sizeof(key), false, b32);
	res = cstring_to_text(b32);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(b32, sizeof(b32));
	PG_RETURN_TEXT_P(res);
}

/* totp_code(secret, at, digits, period, algorithm) RETURNS text */
Datum
tg_sql_totp_code(PG_FUNCTION_ARGS)
{
	uint8		key[TG_OTP_KEY_MAX];
	size_t		keylen;
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(1);
	int32		digits = PG_GETARG_INT32(2);
	int32		period = PG_GETARG_INT32(3);
	tg_otp_alg	alg = tg_totp_alg(PG_GETARG_TEXT_PP(4));
	int64		unix_time;
	char		code[TG_OTP_CODE_BUF];
	bool		ok;

	tg_totp_check_digits(digits);
	tg_totp_check_period(period);
	unix_time = tg_totp_unix(at);
	keylen = tg_totp_secret(PG_GETARG_TEXT_PP(0), key);
	ok = tg_totp_code(key, keylen, alg, digits, period, unix_time, code);
	sodium_memzero(key, sizeof(key));
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not compute a TOTP code for these parameters")));
	PG_RETURN_TEXT_P(cstring_to_text(code));
}

/* totp_verify(secret, code, at, window, digits, period, algorithm) RETURNS boolean */
Datum
tg_sql_totp_verify(PG_FUNCTION_ARGS)
{
	uint8		key[TG_OTP_KEY_MAX];
	size_t		keylen;
	text	   *code = PG_GETARG_TEXT_PP(1);
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(2);
	int32		window = PG_GETARG_INT32(3);
	int32		digits = PG_GETARG_INT32(4);
	int32		period = PG_GETARG_INT32(5);
	tg_otp_alg	alg = tg_totp_alg(PG_GETARG_TEXT_PP(6));
	int64		unix_time;
	uint64		step;
	tg_otp_verdict v;

	if (window < 0 || window > TG_OTP_WINDOW_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("TOTP window must be between 0 and %d time steps", TG_OTP_WINDOW_MAX)));
	tg_totp_check_digits(digits);
	tg_totp_check_period(period);
	unix_time = tg_totp_unix(at);
	keylen = tg_totp_secret(PG_GETARG_TEXT_PP(0), key);
	v = tg_totp_verify(key, keylen, alg, digits, period, unix_time, window, -1,
					   VARDATA_ANY(code), VARSIZE_ANY_EXHDR(code), &step);
	sodium_memzero(key, sizeof(key));
	if (v == TG_OTP_ERROR)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not verify a TOTP code with these parameters")));
	PG_RETURN_BOOL(v == TG_OTP_ACCEPT);
}

static void
tg_totp_check_label(text *t, const char *what)
{
	size_t		len = VARSIZE_ANY_EXHDR(t);

	if (len == 0 || len > TG_TOTP_LABEL_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("TOTP %s must have 1 to %d bytes", what, TG_TOTP_LABEL_MAX)));
}

/* totp_uri(secret, account, issuer) RETURNS text: SHA1, 6 digits, 30 s. */
Datum
tg_sql_totp_uri(PG_FUNCTION_ARGS)
{
	uint8		key[TG_OTP_KEY_MAX];
	size_t		keylen;
	text	   *account = PG_GETARG_TEXT_PP(1);
	text	   *issuer = PG_GETARG_TEXT_PP(2);
	size_t		cap;
	char	   *out;
	long		n;
	text	   *res;

	tg_totp_check_label(account, "account");
	tg_totp_check_label(issuer, "issuer");
	keylen = tg_totp_secret(PG_GETARG_TEXT_PP(0), key);
	/* every label byte may become %XX; the issuer appears twice */
	cap = 128 + 3 * (2 * VARSIZE_ANY_EXHDR(issuer) + VARSIZE_ANY_EXHDR(account)) +
		tg_base32_encoded_len(keylen, false);
	out = palloc(cap);
	n = tg_otp_uri(VARDATA_ANY(issuer), VARSIZE_ANY_EXHDR(issuer),
				   VARDATA_ANY(account), VARSIZE_ANY_EXHDR(account),
				   key, keylen, TG_OTP_SHA1, 6, TG_OTP_PERIOD_DEFAULT, out, cap);
	sodium_memzero(key, sizeof(key));
	if (n < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not make a TOTP key URI from these parameters")));
	res = cstring_to_text_with_len(out, (int) n);
	sodium_memzero(out, cap);
	pfree(out);
	PG_RETURN_TEXT_P(res);
}
