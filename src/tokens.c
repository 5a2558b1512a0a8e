/*
 * tokens.c — the SQL side of signed context tokens: making and parsing
 * signing keys for tenantguard.token_key_store (the table itself is written
 * by the SQL functions of sql/parts/65_tokens.sql), the claims of the
 * context in force, and minting or signing tokens.
 *
 * Key text never appears in an error: messages name the kid and what is
 * wrong with the key, never its bytes.
 *
 * Layer 5: uses the context (claims, actor), token_keys (sealing, minting
 * material), the caches and the event store.
 */
#include "postgres.h"

#include <string.h>
#include <time.h>
#include <sodium.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/uuid.h"

#include "core/encoding.h"
#include "core/jwt.h"
#include "core/uuid_text.h"
#include "cache.h"
#include "catalog.h"
#include "context.h"
#include "event_store.h"
#include "token_keys.h"

#define TG_MINT_MAX_TTL_SECS (7 * SECS_PER_DAY)

/* A kid as the key store accepts it: 1..128 of [A-Za-z0-9._~+/=:-]. */
static bool
tg_kid_valid(const char *s)
{
	size_t		n = strlen(s),
				i;

	if (n == 0 || n > TG_JWT_KID_MAX)
		return false;
	for (i = 0; i < n; i++)
	{
		char		c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  strchr("._~+/=:-", c) != NULL))
			return false;
	}
	return true;
}

static void
tg_require_kid(const char *kid)
{
	if (!tg_kid_valid(kid))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid key id"),
				 errdetail("A kid is 1 to 128 characters of letters, digits and \"._~+/=:-\".")));
}

static tg_jwt_alg
tg_require_alg(const char *alg)
{
	tg_jwt_alg a = tg_jwt_alg_parse(alg, strlen(alg));

	if (a == TG_JWT_ALG_UNKNOWN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unsupported token algorithm \"%s\"", alg),
				 errhint("Use HS256, EdDSA, ES256 or RS256.")));
	return a;
}

/* base64url text of n bytes (palloc'ed). */
static char *
tg_b64url(const uint8 *b, size_t n)
{
	char	   *out = palloc(tg_b64url_encoded_len(n));

	tg_b64url_encode(b, n, out);
	return out;
}

/* Decode base64url key text into palloc'ed bytes; 22023 (never echoing it) when malformed. */
static uint8 *
tg_b64url_key(const char *text, size_t *len, const char *what)
{
	size_t		n = strlen(text);
	uint8	   *out = palloc(n + 1);
	long		r = tg_b64url_decode(text, n, out, n + 1);

	if (r < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is not valid base64url", what),
				 errhint("Key material crosses the API as unpadded base64url (RFC 4648 section 5), "
						 "or as a JWK, JWKS or PEM document.")));
	*len = (size_t) r;
	return out;
}

static void
tg_key_unusable(tg_jwt_status st, const char *kid)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("signing key \"%s\" is not usable", kid),
			 errdetail("%s", tg_jwt_status_sentence(st))));
}

PG_FUNCTION_INFO_V1(tg_new_signing_key);

/* _new_signing_key(alg): a fresh HS256 secret or Ed25519 key pair. */
Datum
tg_new_signing_key(PG_FUNCTION_ARGS)
{
	char	   *algname = text_to_cstring(PG_GETARG_TEXT_PP(0));
	tg_jwt_alg alg = tg_require_alg(algname);
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	uint8		id[12];
	uint8	   *secret;
	char	   *kid;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "_new_signing_key must return a composite type");
	tupdesc = BlessTupleDesc(tupdesc);
	randombytes_buf(id, sizeof(id));
	kid = psprintf("tg-%s", tg_b64url(id, sizeof(id)));
	values[0] = CStringGetTextDatum(kid);

	secret = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (secret == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not allocate secure memory for a signing key")));
	if (alg == TG_JWT_ALG_HS256)
	{
		randombytes_buf(secret, 32);
		values[1] = CStringGetTextDatum(tg_b64url(secret, 32));
		nulls[2] = true;
		values[3] = PointerGetDatum(tg_signing_secret_seal(secret, 32));
	}
	else if (alg == TG_JWT_ALG_EDDSA)
	{
		uint8		pk[crypto_sign_PUBLICKEYBYTES];
		uint8		seed[crypto_sign_SEEDBYTES];

		randombytes_buf(seed, sizeof(seed));
		crypto_sign_seed_keypair(pk, secret, seed);
		values[1] = CStringGetTextDatum(tg_b64url(seed, sizeof(seed)));
		sodium_memzero(seed, sizeof(seed));
		values[2] = PointerGetDatum(tg_bytea(pk, sizeof(pk)));
		nulls[3] = true;
	}
	else
	{
		sodium_free(secret);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("add_signing_key() makes HS256 and EdDSA keys only"),
				 errhint("Import ES256 and RS256 public keys with tenantguard.import_signing_key().")));
	}
	sodium_free(secret);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* Collects the keys of a JWK or JWKS document. */
typedef struct TgJwkCollect
{
	const char *want_kid;		/* NULL = every key */
	tg_jwt_alg	want_alg;		/* UNKNOWN = any */
	bool		is_set;			/* the document is a JWKS ("keys") */
	List	   *keys;			/* tg_jwk * */
	int			skipped;
} TgJwkCollect;

static bool
tg_jwk_collect(void *arg, int index, tg_jwt_status status, const tg_jwk *key)
{
	TgJwkCollect *c = (TgJwkCollect *) arg;
	tg_jwk	   *copy;

	if (status != TG_JWT_OK)
	{
		if (!c->is_set)
			tg_key_unusable(status, c->want_kid ? c->want_kid : "(jwk)");
		ereport(NOTICE,
				(errmsg("key %d of the JWKS skipped", index),
				 errdetail("%s", tg_jwt_status_sentence(status))));
		c->skipped++;
		return true;
	}
	if (c->want_kid && key->kid[0] && strcmp(key->kid, c->want_kid) != 0)
	{
		if (!c->is_set)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the JWK's kid is not \"%s\"", c->want_kid)));
		return true;
	}
	if (c->want_alg != TG_JWT_ALG_UNKNOWN && key->alg != c->want_alg)
	{
		if (!c->is_set)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the JWK is a %s key, not %s", tg_jwt_alg_name(key->alg),
							tg_jwt_alg_name(c->want_alg))));
		return true;
	}
	copy = palloc(sizeof(tg_jwk));
	memcpy(copy, key, sizeof(tg_jwk));
	if (copy->kid[0] == '\0' && c->want_kid)
		strlcpy(copy->kid, c->want_kid, sizeof(copy->kid));
	if (copy->kid[0] == '\0' || !tg_kid_valid(copy->kid))
	{
		if (!c->is_set)
			tg_require_kid(copy->kid);
		ereport(NOTICE,
				(errmsg("key %d of the JWKS skipped", index),
				 errdetail("Its kid is missing or not 1 to 128 characters of letters, digits and \"._~+/=:-\".")));
		sodium_memzero(copy, sizeof(tg_jwk));
		c->skipped++;
		return true;
	}
	if (key->is_private && key->alg != TG_JWT_ALG_HS256)
		ereport(NOTICE,
				(errmsg("the JWK of \"%s\" holds a private key: only its public key is kept", copy->kid)));
	c->keys = lappend(c->keys, copy);
	return true;
}

/* Append one canonical key as a row (kid, alg, public_key, sealed_secret). */
static void
tg_emit_key(ReturnSetInfo *rsinfo, const char *kid, tg_jwt_alg alg,
			const uint8 *material, size_t len)
{
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	values[0] = CStringGetTextDatum(kid);
	values[1] = CStringGetTextDatum(tg_jwt_alg_name(alg));
	if (alg == TG_JWT_ALG_HS256)
	{
		nulls[2] = true;
		values[3] = PointerGetDatum(tg_signing_secret_seal(material, len));
	}
	else
	{
		values[2] = PointerGetDatum(tg_bytea(material, len));
		nulls[3] = true;
	}
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

PG_FUNCTION_INFO_V1(tg_parse_signing_keys);

/*
 * _parse_signing_keys(kid, alg, key): the canonical rows of a key text.
 * JSON (a JWK or a JWKS), a PEM public key, or raw base64url (alg and kid
 * required: an HS256 secret, an Ed25519 public key, a DER public key).
 */
Datum
tg_parse_signing_keys(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *kid = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *algname = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *key;
	char	   *p;
	size_t		len;
	tg_jwt_alg	alg = algname ? tg_require_alg(algname) : TG_JWT_ALG_UNKNOWN;
	tg_jwt_status st;

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("key must not be null")));
	key = text_to_cstring(PG_GETARG_TEXT_PP(2));
	InitMaterializedSRF(fcinfo, 0);
	if (kid)
		tg_require_kid(kid);

	/* surrounding whitespace is not part of any form */
	p = key;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	len = strlen(p);
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key must not be empty")));

	if (p[0] == '{')
	{
		TgJwkCollect c;
		ListCell   *lc;

		memset(&c, 0, sizeof(c));
		c.want_kid = kid;
		c.want_alg = alg;
		c.is_set = strstr(p, "\"keys\"") != NULL;
		st = tg_jwk_parse(p, len, tg_jwk_collect, &c);
		if (st != TG_JWT_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("malformed JWK or JWKS document"),
					 errdetail("%s", tg_jwt_status_sentence(st))));
		if (c.keys == NIL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("no usable key in the document"),
					 kid ? errdetail("No usable key has kid \"%s\".", kid) : 0));
		foreach(lc, c.keys)
		{
			tg_jwk	   *k = (tg_jwk *) lfirst(lc);

			tg_emit_key(rsinfo, k->kid, k->alg, k->material, k->material_len);
			sodium_memzero(k, sizeof(tg_jwk));
		}
	}
	else
	{
		uint8	   *material;
		size_t		mlen;
		tg_jwt_alg	found;

		if (kid == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("kid is required for a key that is not a JWK"),
					 errhint("Tokens name their key with the kid header: choose the kid the app server puts there.")));
		if (strncmp(p, "-----BEGIN", 10) == 0)
		{
			material = palloc(TG_JWT_KEY_MAX);
			st = tg_jwt_pem_parse(p, len, &found, material, TG_JWT_KEY_MAX, &mlen);
			if (st != TG_JWT_OK)
				tg_key_unusable(st, kid);
			if (alg != TG_JWT_ALG_UNKNOWN && alg != found)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("the PEM key of \"%s\" is a %s key, not %s", kid,
								tg_jwt_alg_name(found), tg_jwt_alg_name(alg))));
			alg = found;
		}
		else
		{
			if (alg == TG_JWT_ALG_UNKNOWN)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("alg is required for a raw key"),
						 errhint("Use HS256, EdDSA, ES256 or RS256.")));
			p[len] = '\0';
			material = tg_b64url_key(p, &mlen, "key");
		}
		st = tg_jwt_key_check(alg, material, mlen);
		if (st != TG_JWT_OK)
			tg_key_unusable(st, kid);
		tg_emit_key(rsinfo, kid, alg, material, mlen);
		sodium_memzero(material, mlen);
	}
	sodium_memzero(key, strlen(key));
	return (Datum) 0;
}

/* Sign header.payload with kid's stored secret or with key_text; palloc'ed token. */
static char *
tg_sign(const char *kid, tg_jwt_alg alg, const char *key_text,
		const char *payload, size_t payload_len)
{
	StringInfoData header;
	uint8	   *material;
	size_t		mlen;
	char	   *out;
	size_t		cap;
	long		n;

	if (key_text == NULL)
		material = tg_signing_secret(kid, &alg, &mlen);
	else
		material = tg_b64url_key(key_text, &mlen, "key");
	if (alg != TG_JWT_ALG_HS256 && alg != TG_JWT_ALG_EDDSA)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s tokens cannot be signed in the database", tg_jwt_alg_name(alg)),
				 errhint("Sign them where the private key is kept.")));
	initStringInfo(&header);
	appendStringInfoString(&header, "{\"alg\":");
	escape_json(&header, tg_jwt_alg_name(alg));
	appendStringInfoString(&header, ",\"typ\":\"JWT\",\"kid\":");
	escape_json(&header, kid);
	appendStringInfoChar(&header, '}');
	cap = tg_b64url_encoded_len(header.len) + tg_b64url_encoded_len(payload_len) + 1024;
	out = palloc(cap);
	n = tg_jwt_sign(alg, material, mlen, header.data, header.len, payload, payload_len, out, cap);
	sodium_memzero(material, mlen);
	if (n < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not sign the token"),
				 errdetail("The key is not a usable %s key, or the token would be longer than %d bytes.",
						   tg_jwt_alg_name(alg), TG_JWT_MAX_LEN)));
	return out;
}

PG_FUNCTION_INFO_V1(tg_mint_token);

/*
 * mint_token(tenant, subject, role, ttl, kid): an HS256 token for the
 * tenant with iat and exp, signed with kid (default: the newest HS256 key
 * add_signing_key() made). Recorded in the audit ledger.
 */
Datum
tg_mint_token(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *tenant;
	char	   *subject;
	char	   *role;
	Interval   *ttl;
	char	   *kid;
	int64		ttl_us;
	int64		now_s;
	char		tid[TG_UUID_TEXT_LEN + 1];
	StringInfoData payload;
	char	   *token;
	tg_jwt_alg	alg = TG_JWT_ALG_HS256;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("tenant, subject, role and ttl must not be null")));
	tenant = PG_GETARG_UUID_P(0);
	subject = text_to_cstring(PG_GETARG_TEXT_PP(1));
	role = text_to_cstring(PG_GETARG_TEXT_PP(2));
	ttl = PG_GETARG_INTERVAL_P(3);
	kid = PG_ARGISNULL(4) ? tg_default_signing_kid() : text_to_cstring(PG_GETARG_TEXT_PP(4));
	if (kid == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("there is no signing key to mint with"),
				 errhint("Make one with tenantguard.add_signing_key(), or name an HS256 key with kid.")));
	if (tg_lookup_tenant(tenant, NULL) == TG_TENANT_UNKNOWN)
	{
		tg_uuid_format(tenant->data, tid);
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("tenant %s does not exist", tid)));
	}
	if (strlen(subject) + 6 > TG_CTX_PRINCIPAL_MAX || !tg_principal_valid(subject, strlen(subject)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid token subject"),
				 errdetail("A subject is 1 to %d bytes without control characters.", TG_CTX_PRINCIPAL_MAX - 6)));
	if (!tg_role_name_valid(role, strlen(role)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid tenant role name"),
				 errhint("Use lower-case letters, digits, \"_\", \".\" and \"-\".")));
	ttl_us = ttl->time + (int64) ttl->day * USECS_PER_DAY +
		(int64) ttl->month * DAYS_PER_MONTH * USECS_PER_DAY;
	if (ttl->month < 0 || ttl->month > 12 || ttl_us < USECS_PER_SEC ||
		ttl_us > (int64) TG_MINT_MAX_TTL_SECS * USECS_PER_SEC)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("token lifetime must be between 1 second and 7 days")));

	now_s = (int64) time(NULL);
	tg_uuid_format(tenant->data, tid);
	initStringInfo(&payload);
	appendStringInfoString(&payload, "{\"tid\":");
	escape_json(&payload, tid);
	appendStringInfoString(&payload, ",\"sub\":");
	escape_json(&payload, subject);
	appendStringInfoString(&payload, ",\"role\":");
	escape_json(&payload, role);
	appendStringInfo(&payload, ",\"iat\":" INT64_FORMAT ",\"exp\":" INT64_FORMAT "}",
					 now_s, now_s + ttl_us / USECS_PER_SEC);
	token = tg_sign(kid, alg, NULL, payload.data, payload.len);

	{
		TgActor		actor = *tg_actor_current();
		TgAuditEvent ev;
		StringInfoData details;

		initStringInfo(&details);
		appendStringInfoString(&details, "{\"kid\": ");
		escape_json(&details, kid);
		appendStringInfoString(&details, ", \"subject\": ");
		escape_json(&details, subject);
		appendStringInfoString(&details, ", \"role\": ");
		escape_json(&details, role);
		appendStringInfo(&details, ", \"exp\": " INT64_FORMAT "}", now_s + ttl_us / USECS_PER_SEC);
		actor.has_tenant = true;
		actor.tenant = *tenant;
		tg_event_init(&ev, &actor, "admin", "token.mint");
		ev.details_json = details.data;
		(void) tg_audit_record(&ev);
	}
	PG_RETURN_TEXT_P(cstring_to_text(token));
}

PG_FUNCTION_INFO_V1(tg_sign_token);

/* sign_token(claims jsonb, kid, key, alg): sign any claims (tests, SQL issuers). */
Datum
tg_sign_token(PG_FUNCTION_ARGS)
{
	Jsonb	   *claims;
	char	   *kid;
	char	   *key = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	tg_jwt_alg	alg = TG_JWT_ALG_UNKNOWN;
	char	   *payload;
	char	   *token;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("claims and kid must not be null")));
	claims = PG_GETARG_JSONB_P(0);
	kid = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (!JB_ROOT_IS_OBJECT(claims))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("claims must be a JSON object")));
	if (!PG_ARGISNULL(3))
		alg = tg_require_alg(text_to_cstring(PG_GETARG_TEXT_PP(3)));
	tg_require_kid(kid);
	if (key == NULL && alg != TG_JWT_ALG_UNKNOWN && alg != TG_JWT_ALG_HS256)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key is required to sign %s tokens", tg_jwt_alg_name(alg))));
	if (key != NULL && alg == TG_JWT_ALG_UNKNOWN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("alg is required when a key is given")));
	payload = JsonbToCString(NULL, &claims->root, VARSIZE(claims));
	token = tg_sign(kid, alg == TG_JWT_ALG_UNKNOWN ? TG_JWT_ALG_HS256 : alg, key, payload, strlen(payload));
	if (key)
		sodium_memzero(key, strlen(key));
	PG_RETURN_TEXT_P(cstring_to_text(token));
}

/* The claims of the context in force as jsonb, parsed once per assignment. */
static Jsonb *
tg_claims_jsonb(void)
{
	static Jsonb *cached = NULL;
	static uint64 cached_serial = 0;
	size_t		len;
	uint64		serial;
	const char *json = tg_context_claims(&len, &serial);

	if (json == NULL)
		return NULL;
	if (cached == NULL || cached_serial != serial)
	{
		Datum		d = DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
		Jsonb	   *j = DatumGetJsonbP(d);
		Jsonb	   *copy = MemoryContextAlloc(TopMemoryContext, VARSIZE(j));

		memcpy(copy, j, VARSIZE(j));
		if (cached)
			pfree(cached);
		cached = copy;
		cached_serial = serial;
	}
	return cached;
}

PG_FUNCTION_INFO_V1(tg_claims);

/* claims(): the token's claims, or NULL when the context did not come from a token. */
Datum
tg_claims(PG_FUNCTION_ARGS)
{
	Jsonb	   *j = tg_claims_jsonb();
	Jsonb	   *copy;

	if (j == NULL)
		PG_RETURN_NULL();
	copy = palloc(VARSIZE(j));
	memcpy(copy, j, VARSIZE(j));
	PG_RETURN_JSONB_P(copy);
}

PG_FUNCTION_INFO_V1(tg_claim);

/* claim(name): one claim as text (a string's value, other JSON as text), or NULL. */
Datum
tg_claim(PG_FUNCTION_ARGS)
{
	Jsonb	   *j = tg_claims_jsonb();
	text	   *name = PG_GETARG_TEXT_PP(0);
	JsonbValue *v;

	if (j == NULL)
		PG_RETURN_NULL();
	v = getKeyJsonValueFromContainer(&j->root, VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name), NULL);
	if (v == NULL || v->type == jbvNull)
		PG_RETURN_NULL();
	if (v->type == jbvString)
		PG_RETURN_TEXT_P(cstring_to_text_with_len(v->val.string.val, v->val.string.len));
	if (v->type == jbvBinary)
		PG_RETURN_TEXT_P(cstring_to_text(JsonbToCString(NULL, v->val.binary.data, v->val.binary.len)));
	PG_RETURN_TEXT_P(cstring_to_text(JsonbToCString(NULL, &JsonbValueToJsonb(v)->root, 0)));
}

PG_FUNCTION_INFO_V1(tg_same_signing_secret);

/* _same_signing_secret(a, b): do two sealed HS256 secrets hold the same key? */
Datum
tg_same_signing_secret(PG_FUNCTION_ARGS)
{
	bytea	   *a = PG_GETARG_BYTEA_PP(0);
	bytea	   *b = PG_GETARG_BYTEA_PP(1);

	PG_RETURN_BOOL(tg_signing_secrets_equal((const uint8 *) VARDATA_ANY(a), VARSIZE_ANY_EXHDR(a),
											(const uint8 *) VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b)));
}
