/*
 * secret_type.c — the tenantguard.secret type: its text form ("tgs1:" +
 * unpadded base64url of the envelope, see core/envelope.h) and binary form,
 * both checked on input so that only well-formed envelopes are stored, and
 * the metadata functions that read an envelope's header.
 *
 * Layer 5: core only (envelope, encoding).
 */
#include "postgres.h"

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/uuid.h"

#include "core/encoding.h"
#include "core/envelope.h"
#include "secret_type.h"

/* Validate an envelope held in a secret datum. */
void
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

