/*
 * enrollment.c — the crypto and parsing behind agent enrollment (layer 7);
 * the SQL functions of sql/parts/80_enrollment.sql do the rest.
 *
 * An enrollment token is tgenr_<id>_<secret>_<checksum> (core/token_format):
 * a 12-byte public id (the accessor: revoke_enrollment_token(id), the view)
 * and a 32-byte secret; only the SHA-256 of the secret is stored and it is
 * compared in constant time. Agents' public keys are standard base64 of a
 * 32-byte Ed25519 point; their fingerprint is "SHA256:" + unpadded standard
 * base64 of the key's SHA-256 (as OpenSSH prints it) — both from
 * core/agent_msg, which the tenantguard-agent tool shares.
 *
 * The functions here are owner-only helpers, never granted:
 *   _enrollment_token_new()            -> (token, token_id, secret_hash)
 *   _enrollment_token_parse(token)     -> (token_id, secret_hash), 22023 when malformed (recorded)
 *   _enrollment_hash_equal(a, b)       constant-time bytea equality
 *   _agent_key_fingerprint(public_key) -> fingerprint, 22023 when not a valid key
 *   _enrollment_deny(action, object, reason, tenant)  a refusal through the queue
 */
#include "postgres.h"

#include <string.h>
#include <sodium.h>

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/uuid.h"

#include "core/agent_msg.h"
#include "core/encoding.h"
#include "core/token_format.h"
#include "audit_queue.h"
#include "context.h"
#include "event_store.h"

#define TG_ENR_ID_LEN 12
#define TG_ENR_SECRET_LEN 32

static const tg_token_spec tg_enr_token_spec = {"tgenr", TG_ENR_ID_LEN, TG_ENR_SECRET_LEN};

static bytea *
tg_enr_bytea(const uint8 *p, size_t n)
{
	bytea	   *b = (bytea *) palloc(VARHDRSZ + n);

	SET_VARSIZE(b, VARHDRSZ + n);
	memcpy(VARDATA(b), p, n);
	return b;
}

/* The public id as text: the base62 digits of the token's id part. */
static text *
tg_enr_id_text(const char *token)
{
	size_t		off = strlen(tg_enr_token_spec.prefix) + 1;

	return cstring_to_text_with_len(token + off, tg_base62_len(TG_ENR_ID_LEN));
}

static Datum
tg_enr_tuple(FunctionCallInfo fcinfo, Datum *values, int n)
{
	TupleDesc	desc;
	bool		nulls[3] = {false, false, false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE || desc->natts != n)
		elog(ERROR, "tenantguard: enrollment helper called with a wrong result type");
	desc = BlessTupleDesc(desc);
	return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}

PG_FUNCTION_INFO_V1(tg_enrollment_token_new);

Datum
tg_enrollment_token_new(PG_FUNCTION_ARGS)
{
	uint8		id[TG_ENR_ID_LEN];
	uint8		secret[TG_ENR_SECRET_LEN];
	uint8		hash[crypto_hash_sha256_BYTES];
	char		buf[TG_TOKEN_TEXT_MAX];
	int			len;
	Datum		values[3];

	randombytes_buf(id, sizeof(id));
	randombytes_buf(secret, sizeof(secret));
	len = tg_token_make(&tg_enr_token_spec, id, secret, buf, sizeof(buf));
	crypto_hash_sha256(hash, secret, sizeof(secret));
	sodium_memzero(secret, sizeof(secret));
	if (len < 0)
		elog(ERROR, "tenantguard: could not format an enrollment token");
	values[0] = PointerGetDatum(cstring_to_text_with_len(buf, len));
	values[1] = PointerGetDatum(tg_enr_id_text(buf));
	values[2] = PointerGetDatum(tg_enr_bytea(hash, sizeof(hash)));
	sodium_memzero(buf, sizeof(buf));
	PG_RETURN_DATUM(tg_enr_tuple(fcinfo, values, 3));
}

PG_FUNCTION_INFO_V1(tg_enrollment_token_parse);

/* Shape and checksum before anything is looked up: one 22023 message for every malformed token. */
Datum
tg_enrollment_token_parse(PG_FUNCTION_ARGS)
{
	text	   *arg;
	uint8		id[TG_ENR_ID_LEN];
	uint8		secret[TG_ENR_SECRET_LEN];
	uint8		hash[crypto_hash_sha256_BYTES];
	tg_token_status st;
	Datum		values[2];

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("enrollment token must not be null")));
	arg = PG_GETARG_TEXT_PP(0);
	st = tg_token_parse(&tg_enr_token_spec, VARDATA_ANY(arg), VARSIZE_ANY_EXHDR(arg), id, secret);
	if (st != TG_TOKEN_OK)
	{
		TgAuditEvent ev;

		tg_event_init(&ev, tg_actor_current(), "enrollment", "enroll");
		ev.decision = "deny";
		ev.reason = st == TG_TOKEN_BAD_CHECKSUM ? "token checksum mismatch" :
			st == TG_TOKEN_WRONG_PREFIX ? "not an enrollment token" : "malformed token";
		(void) tg_audit_enqueue(&ev);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed enrollment token"),
				 errdetail("An enrollment token is \"tgenr_\", 17 letters and digits, \"_\", 43 letters and digits, \"_\" and a 6-character checksum; this one was mistyped, altered or cut."),
				 errhint("Pass the token that create_enrollment_token() returned, unchanged.")));
	}
	crypto_hash_sha256(hash, secret, sizeof(secret));
	sodium_memzero(secret, sizeof(secret));
	values[0] = PointerGetDatum(cstring_to_text_with_len(VARDATA_ANY(arg) + strlen(tg_enr_token_spec.prefix) + 1,
														 tg_base62_len(TG_ENR_ID_LEN)));
	values[1] = PointerGetDatum(tg_enr_bytea(hash, sizeof(hash)));
	PG_RETURN_DATUM(tg_enr_tuple(fcinfo, values, 2));
}

PG_FUNCTION_INFO_V1(tg_enrollment_hash_equal);

Datum
tg_enrollment_hash_equal(PG_FUNCTION_ARGS)
{
	bytea	   *a,
			   *b;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_BOOL(false);
	a = PG_GETARG_BYTEA_PP(0);
	b = PG_GETARG_BYTEA_PP(1);
	if (VARSIZE_ANY_EXHDR(a) != VARSIZE_ANY_EXHDR(b))
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(tg_token_bytes_equal((const uint8 *) VARDATA_ANY(a), (const uint8 *) VARDATA_ANY(b),
										VARSIZE_ANY_EXHDR(a)));
}

PG_FUNCTION_INFO_V1(tg_agent_key_fingerprint);

/*
 * The fingerprint of a public key (core/agent_msg): standard base64 (with
 * padding, canonical) of exactly 32 bytes that are a valid Ed25519 point;
 * else 22023, the detail saying which.
 */
Datum
tg_agent_key_fingerprint(PG_FUNCTION_ARGS)
{
	text	   *arg;
	const char *s;
	size_t		len;
	uint8		key[TG_AGENT_PK_LEN];
	char		fp[TG_AGENT_FP_TEXT_LEN + 1];

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("public key must not be null")));
	arg = PG_GETARG_TEXT_PP(0);
	s = VARDATA_ANY(arg);
	len = VARSIZE_ANY_EXHDR(arg);
	if (len != TG_AGENT_PK_TEXT_LEN || tg_b64_decode(s, len, key, sizeof(key)) != TG_AGENT_PK_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid public key"),
				 errdetail("A public key is the standard base64 (44 characters) of a 32-byte Ed25519 key."),
				 errhint("Print it with \"tenantguard-agent keygen\".")));
	if (!tg_agent_pk_parse(s, len, key))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid public key"),
				 errdetail("The 32 bytes are not a valid Ed25519 public key."),
				 errhint("Print it with \"tenantguard-agent keygen\".")));
	tg_agent_fingerprint(key, fp);
	PG_RETURN_TEXT_P(cstring_to_text(fp));
}

PG_FUNCTION_INFO_V1(tg_enrollment_deny);

/* _enrollment_deny(action, object, reason, tenant): category enrollment, through the queue (survives rollback). */
Datum
tg_enrollment_deny(PG_FUNCTION_ARGS)
{
	TgActor		actor = *tg_actor_current();
	TgAuditEvent ev;

	if (!PG_ARGISNULL(3))
	{
		actor.has_tenant = true;
		actor.tenant = *PG_GETARG_UUID_P(3);
	}
	tg_event_init(&ev, &actor, "enrollment", PG_ARGISNULL(0) ? "enroll" : text_to_cstring(PG_GETARG_TEXT_PP(0)));
	ev.decision = "deny";
	ev.object = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	ev.reason = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	(void) tg_audit_enqueue(&ev);
	PG_RETURN_VOID();
}
