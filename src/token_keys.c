/*
 * token_keys.c — signing keys and the verification of signed context tokens
 * (see token_keys.h).
 *
 * Keys live in tenantguard.token_key_store: the algorithm, the public key
 * (EdDSA raw 32 bytes, ES256/RS256 DER SubjectPublicKeyInfo) or, for HS256,
 * the secret sealed in an envelope under the data keys for the reserved
 * all-zero tenant (no tenant can have that id: tenants are entered by
 * their row in tenantguard.tenants, and the envelope is only ever opened
 * here). The table is read with plain heap scans and cached per backend; a
 * statement trigger on it sends a relcache invalidation, which drops the
 * key cache and the verified-token cache in every backend and bumps
 * tg_token_keys_generation, which the context checks before it trusts a
 * token context again (the kill switch of retire_signing_key()).
 *
 * Verified tokens are cached by SHA-256 of the compact form with what the
 * signature and the static claim checks established; the times, the key's
 * status and the jti are checked on every use.
 *
 * Layer 3: uses cache (extension presence), catalog, keyring, jti_store
 * and core (jwt, envelope, keys, context_value, uuid_text).
 */
#include "postgres.h"

#include <string.h>
#include <sodium.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "core/envelope.h"
#include "core/keys.h"
#include "core/uuid_text.h"
#include "cache.h"
#include "catalog.h"
#include "jti_store.h"
#include "keyring.h"
#include "relcache_hub.h"
#include "tenantguard.h"
#include "token_keys.h"

uint64		tg_token_keys_generation = 1;
int			tg_token_leeway = 30;

static const uint8 tg_signing_tenant[TG_UUID_LEN] = {0};

typedef struct TgSigningKey
{
	char		kid[TG_JWT_KID_MAX + 1];	/* hash key */
	tg_jwt_alg	alg;
	bool		active;
	bool		generated;		/* made by add_signing_key() */
	bool		id_tokens;		/* purpose 'id_token': verifies ID tokens only */
	TimestampTz created_at;
	char	   *issuer;			/* NULL = not checked */
	char	   *audience;		/* NULL = the token must have no "aud" */
	uint8	   *material;		/* public key, or the sealed HS256 secret */
	size_t		material_len;
} TgSigningKey;

typedef struct TgVerifiedToken
{
	uint8		hash[crypto_hash_sha256_BYTES];	/* hash key */
	char		kid[TG_JWT_KID_MAX + 1];
	pg_uuid_t	tenant;
	char		role[TG_CTX_ROLE_MAX + 1];
	char		principal[TG_CTX_PRINCIPAL_MAX + 1];
	bool		has_jti;
	char		jti[TG_JWT_CLAIM_MAX + 1];
	TimestampTz exp;
	bool		has_nbf,
				has_iat;
	TimestampTz nbf,
				iat;
	char	   *claims_json;
	size_t		claims_len;
} TgVerifiedToken;

#define TG_VERIFIED_MAX 1024

static Oid	tg_store_relid = InvalidOid;
static MemoryContext tg_keys_cxt = NULL;
static HTAB *tg_keys = NULL;	/* NULL = must be loaded */
static MemoryContext tg_verified_cxt = NULL;
static HTAB *tg_verified = NULL;

static void
tg_token_keys_reset(void)
{
	tg_token_keys_generation++;
	tg_keys = NULL;
	if (tg_keys_cxt != NULL)
		MemoryContextDelete(tg_keys_cxt);
	tg_keys_cxt = NULL;
	tg_verified = NULL;
	if (tg_verified_cxt != NULL)
		MemoryContextDelete(tg_verified_cxt);
	tg_verified_cxt = NULL;
}

static void
tg_token_keys_relcache(Oid relid)
{
	if (relid == InvalidOid || relid == tg_store_relid)
	{
		if (relid == InvalidOid)
			tg_store_relid = InvalidOid;
		tg_token_keys_reset();
	}
}

void
tg_token_keys_init(void)
{
	DefineCustomIntVariable("tenantguard.token_leeway",
							"Clock skew allowed when checking a signed token's exp, nbf and iat.",
							NULL,
							&tg_token_leeway,
							30, 0, 3600,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);
	tg_relcache_hub_register(tg_token_keys_relcache);
}

/* Load every signing key into a fresh context; NULL when the extension is absent. */
static HTAB *
tg_keys_get(void)
{
	HASHCTL		ctl;
	MemoryContext cxt;
	HTAB	   *h;
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	uint64		generation;
	Oid			relid;

	if (tg_keys != NULL)
		return tg_keys;
	if (!tg_extension_present())
		return NULL;
	relid = tg_relation_in(TG_SCHEMA, "token_key_store");
	if (!OidIsValid(relid))
		return NULL;
	tg_store_relid = relid;
	generation = tg_token_keys_generation;

	cxt = AllocSetContextCreate(TopMemoryContext, "tenantguard signing keys", ALLOCSET_SMALL_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = TG_JWT_KID_MAX + 1;
	ctl.entrysize = sizeof(TgSigningKey);
	ctl.hcxt = cxt;
	h = hash_create("tenantguard signing keys", 16, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);

	PG_TRY();
	{
		TupleDesc	desc;
		AttrNumber	a_kid,
					a_alg,
					a_pub,
					a_sealed,
					a_iss,
					a_aud,
					a_origin,
					a_purpose,
					a_status,
					a_created;

		rel = table_open(relid, AccessShareLock);
		desc = RelationGetDescr(rel);
		a_kid = tg_attnum(rel, "kid");
		a_alg = tg_attnum(rel, "alg");
		a_pub = tg_attnum(rel, "public_key");
		a_sealed = tg_attnum(rel, "sealed_secret");
		a_iss = tg_attnum(rel, "issuer");
		a_aud = tg_attnum(rel, "audience");
		a_origin = tg_attnum(rel, "origin");
		a_purpose = tg_attnum(rel, "purpose");
		a_status = tg_attnum(rel, "status");
		a_created = tg_attnum(rel, "created_at");
		scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
		while (HeapTupleIsValid(tup = systable_getnext(scan)))
		{
			bool		isnull;
			Datum		d;
			char	   *kid;
			char	   *alg;
			TgSigningKey *k;
			MemoryContext old;

			d = heap_getattr(tup, a_kid, desc, &isnull);
			if (isnull)
				continue;
			kid = TextDatumGetCString(d);
			if (strlen(kid) > TG_JWT_KID_MAX)
				continue;
			k = (TgSigningKey *) hash_search(h, kid, HASH_ENTER, NULL);
			memset(k, 0, sizeof(*k));
			strlcpy(k->kid, kid, sizeof(k->kid));
			alg = TextDatumGetCString(heap_getattr(tup, a_alg, desc, &isnull));
			k->alg = isnull ? TG_JWT_ALG_UNKNOWN : tg_jwt_alg_parse(alg, strlen(alg));
			d = heap_getattr(tup, a_status, desc, &isnull);
			k->active = !isnull && strcmp(TextDatumGetCString(d), "active") == 0;
			d = heap_getattr(tup, a_origin, desc, &isnull);
			k->generated = !isnull && strcmp(TextDatumGetCString(d), "generated") == 0;
			d = heap_getattr(tup, a_purpose, desc, &isnull);
			k->id_tokens = isnull || strcmp(TextDatumGetCString(d), "context") != 0;
			d = heap_getattr(tup, a_created, desc, &isnull);
			k->created_at = isnull ? 0 : DatumGetTimestampTz(d);
			old = MemoryContextSwitchTo(cxt);
			d = heap_getattr(tup, a_iss, desc, &isnull);
			k->issuer = isnull ? NULL : TextDatumGetCString(d);
			d = heap_getattr(tup, a_aud, desc, &isnull);
			k->audience = isnull ? NULL : TextDatumGetCString(d);
			d = heap_getattr(tup, k->alg == TG_JWT_ALG_HS256 ? a_sealed : a_pub, desc, &isnull);
			if (!isnull)
			{
				bytea	   *b = DatumGetByteaPP(d);

				k->material_len = VARSIZE_ANY_EXHDR(b);
				k->material = palloc(k->material_len);
				memcpy(k->material, VARDATA_ANY(b), k->material_len);
			}
			else
				k->active = false;
			MemoryContextSwitchTo(old);
		}
		systable_endscan(scan);
		table_close(rel, AccessShareLock);
	}
	PG_CATCH();
	{
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();

	if (generation != tg_token_keys_generation)
	{
		/* changed while loading: use once, keep nothing */
		MemoryContextSetParent(cxt, CurTransactionContext);
		return h;
	}
	tg_keys_cxt = cxt;
	tg_keys = h;
	return h;
}

static TgSigningKey *
tg_key_lookup(const char *kid)
{
	HTAB	   *h = tg_keys_get();
	char		key[TG_JWT_KID_MAX + 1];

	if (h == NULL || strlen(kid) > TG_JWT_KID_MAX)
		return NULL;
	memset(key, 0, sizeof(key));
	strlcpy(key, kid, sizeof(key));
	return (TgSigningKey *) hash_search(h, key, HASH_FIND, NULL);
}

bool
tg_signing_key_active(const char *kid)
{
	TgSigningKey *k = tg_key_lookup(kid);

	return k != NULL && k->active;
}

/* Open a sealed HS256 secret into palloc'ed memory (*len bytes). */
static uint8 *
tg_open_signing_secret(const uint8 *sealed, size_t sealed_len, size_t *len)
{
	return tg_keyring_open(tg_signing_tenant, tg_signing_tenant, sealed, sealed_len, len, "signing key");
}

bytea *
tg_signing_secret_seal(const uint8 *secret, size_t len)
{
	return tg_keyring_seal(tg_signing_tenant, tg_signing_tenant, secret, len, "signing key");
}

uint8 *
tg_signing_secret(const char *kid, tg_jwt_alg *alg, size_t *len)
{
	TgSigningKey *k = tg_key_lookup(kid);

	if (k == NULL || !k->active)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no active signing key \"%s\"", kid),
				 errhint("tenantguard.signing_keys lists the keys.")));
	if (k->alg != TG_JWT_ALG_HS256)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("signing key \"%s\" cannot sign in the database", kid),
				 errdetail("Only the public part of an %s key is stored.", tg_jwt_alg_name(k->alg)),
				 errhint("Sign with the private key where it is kept, or use an HS256 key.")));
	*alg = k->alg;
	return tg_open_signing_secret(k->material, k->material_len, len);
}

bool
tg_signing_secrets_equal(const uint8 *a, size_t alen, const uint8 *b, size_t blen)
{
	size_t		la,
				lb;
	uint8	   *pa = tg_open_signing_secret(a, alen, &la);
	uint8	   *pb = tg_open_signing_secret(b, blen, &lb);
	bool		same = la == lb && sodium_memcmp(pa, pb, la) == 0;

	sodium_memzero(pa, la);
	sodium_memzero(pb, lb);
	pfree(pa);
	pfree(pb);
	return same;
}

char *
tg_default_signing_kid(void)
{
	HTAB	   *h = tg_keys_get();
	HASH_SEQ_STATUS seq;
	TgSigningKey *k;
	TgSigningKey *best = NULL;

	if (h == NULL)
		return NULL;
	hash_seq_init(&seq, h);
	while ((k = (TgSigningKey *) hash_seq_search(&seq)) != NULL)
	{
		if (k->active && k->generated && k->alg == TG_JWT_ALG_HS256 &&
			(best == NULL || k->created_at > best->created_at ||
			 (k->created_at == best->created_at && strcmp(k->kid, best->kid) > 0)))
			best = k;
	}
	return best ? pstrdup(best->kid) : NULL;
}

/* A NumericDate as a timestamp, clamped to PostgreSQL's range. */
static TimestampTz
tg_numeric_date(int64 seconds)
{
	const int64 epoch_diff = (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
	const int64 max_s = END_TIMESTAMP / USECS_PER_SEC - 1;
	const int64 min_s = MIN_TIMESTAMP / USECS_PER_SEC + 1;
	int64		s = seconds - epoch_diff;

	if (s > max_s)
		s = max_s;
	if (s < min_s)
		s = min_s;
	return (TimestampTz) s * USECS_PER_SEC;
}

const char *
tg_jwt_status_sentence(tg_jwt_status st)
{
	const char *t = tg_jwt_status_text(st);
	char	   *out = psprintf("%s.", t);

	out[0] = pg_toupper((unsigned char) out[0]);
	return out;
}

static bool
tg_refuse(TgTokenRefusal *r, const char *detail, const char *reason)
{
	r->sqlstate = ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION;
	r->detail = detail;
	r->reason = reason;
	return false;
}

static bool
tg_aud_has(const tg_jwt_claims *c, const char *want)
{
	int			i;

	for (i = 0; i < c->n_aud; i++)
		if (strcmp(c->aud[i], want) == 0)
			return true;
	return false;
}

/*
 * Decode a token, find its key (which must be active and of the purpose
 * asked for), verify the signature with the key's pinned algorithm and parse
 * the claims. False with the refusal set.
 */
static bool
tg_verify_signed(const char *token, size_t len, bool id_token, tg_jwt *jwt,
				 tg_jwt_claims *c, TgSigningKey **key, TgTokenRefusal *r)
{
	TgSigningKey *k;
	tg_jwt_status st;
	const uint8 *material;
	uint8	   *opened = NULL;
	size_t		mlen;

	st = tg_jwt_decode(token, len, jwt);
	if (st != TG_JWT_OK)
		return tg_refuse(r, tg_jwt_status_sentence(st), "malformed token");
	k = tg_key_lookup(jwt->kid);
	if (k == NULL)
		return tg_refuse(r, "The token's signing key (kid) is not known.", "unknown signing key");
	if (!k->active)
		return tg_refuse(r, "The token's signing key has been retired.", "retired signing key");
	if (k->id_tokens != id_token)
		return tg_refuse(r, id_token ? "The token's signing key verifies signed context tokens, not ID tokens."
						 : "The token's signing key verifies identity-provider ID tokens only.",
						 "key of another purpose");
	if (k->alg == TG_JWT_ALG_HS256)
	{
		opened = tg_open_signing_secret(k->material, k->material_len, &mlen);
		material = opened;
	}
	else
	{
		material = k->material;
		mlen = k->material_len;
	}
	st = tg_jwt_verify(jwt, k->alg, material, mlen);
	if (opened)
	{
		sodium_memzero(opened, mlen);
		pfree(opened);
	}
	if (st == TG_JWT_ALG_MISMATCH)
		return tg_refuse(r, "The token's algorithm is not the one its signing key is pinned to.", "algorithm mismatch");
	if (st != TG_JWT_OK)
		return tg_refuse(r, tg_jwt_status_sentence(st), "bad signature");

	/* signed by a trusted key from here on */
	st = tg_jwt_claims_parse(jwt->payload, jwt->payload_len, c);
	if (st != TG_JWT_OK)
		return tg_refuse(r, tg_jwt_status_sentence(st), "malformed claims");
	*key = k;
	return true;
}

/*
 * Decode and verify a token not in the cache, and check what does not
 * depend on time; fill e. False with the refusal set.
 */
static bool
tg_verify_new(const char *token, size_t len, TgVerifiedToken *e, MemoryContext cxt,
			  TgTokenRefusal *r)
{
	tg_jwt	   *jwt = palloc(sizeof(tg_jwt));
	tg_jwt_claims *c = palloc(sizeof(tg_jwt_claims));
	TgSigningKey *k;
	size_t		sublen;

	if (!tg_verify_signed(token, len, false, jwt, c, &k, r))
		return false;
	if (!c->has_tid)
		return tg_refuse(r, "The token has no \"tid\" (tenant) claim.", "missing tid");
	if (!c->has_sub)
		return tg_refuse(r, "The token has no \"sub\" (subject) claim.", "missing sub");
	if (!c->has_exp)
		return tg_refuse(r, "The token has no \"exp\" (expiry) claim.", "missing exp");
	if (!tg_uuid_parse(c->tid, strlen(c->tid), e->tenant.data))
		return tg_refuse(r, "The token's \"tid\" claim is not a uuid.", "malformed tid");
	if (c->has_role)
	{
		if (!tg_role_name_valid(c->role, strlen(c->role)))
			return tg_refuse(r, "The token's \"role\" claim is not a valid role name.", "malformed role");
		strlcpy(e->role, c->role, sizeof(e->role));
	}
	else
		strlcpy(e->role, "viewer", sizeof(e->role));
	sublen = strlen(c->sub);
	if (sublen + 6 > TG_CTX_PRINCIPAL_MAX || !tg_principal_valid(c->sub, sublen))
		return tg_refuse(r, "The token's \"sub\" claim is empty, too long or contains control characters.", "malformed sub");
	snprintf(e->principal, sizeof(e->principal), "token:%s", c->sub);
	if (k->issuer != NULL && (!c->has_iss || strcmp(c->iss, k->issuer) != 0))
		return tg_refuse(r, "The token's issuer (iss) is not the one its signing key expects.", "wrong issuer");
	if (k->audience != NULL && !tg_aud_has(c, k->audience))
		return tg_refuse(r, "The token's audience (aud) does not include the one its signing key expects.", "wrong audience");
	if (k->audience == NULL && c->n_aud > 0)
		return tg_refuse(r, "The token names an audience (aud), and its signing key was imported without one.", "unexpected audience");

	strlcpy(e->kid, jwt->kid, sizeof(e->kid));
	e->has_jti = c->has_jti;
	strlcpy(e->jti, c->has_jti ? c->jti : "", sizeof(e->jti));
	e->exp = tg_numeric_date(c->exp);
	e->has_nbf = c->has_nbf;
	e->nbf = c->has_nbf ? tg_numeric_date(c->nbf) : 0;
	e->has_iat = c->has_iat;
	e->iat = c->has_iat ? tg_numeric_date(c->iat) : 0;
	e->claims_len = jwt->payload_len;
	e->claims_json = MemoryContextAlloc(cxt, jwt->payload_len + 1);
	memcpy(e->claims_json, jwt->payload, jwt->payload_len + 1);
	pfree(jwt);
	pfree(c);
	return true;
}

static HTAB *
tg_verified_get(void)
{
	HASHCTL		ctl;

	if (tg_verified != NULL && hash_get_num_entries(tg_verified) < TG_VERIFIED_MAX)
		return tg_verified;
	if (tg_verified_cxt != NULL)
		MemoryContextDelete(tg_verified_cxt);
	tg_verified_cxt = AllocSetContextCreate(TopMemoryContext, "tenantguard verified tokens",
											ALLOCSET_DEFAULT_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = crypto_hash_sha256_BYTES;
	ctl.entrysize = sizeof(TgVerifiedToken);
	ctl.hcxt = tg_verified_cxt;
	tg_verified = hash_create("tenantguard verified tokens", 64, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	return tg_verified;
}

/* exp, nbf and iat against the clock, with the leeway; false with the refusal set. */
static bool
tg_times_ok(TimestampTz exp, bool has_nbf, TimestampTz nbf, bool has_iat, TimestampTz iat,
			TgTokenRefusal *r)
{
	TimestampTz now = GetCurrentTimestamp();
	int64		leeway = (int64) tg_token_leeway * USECS_PER_SEC;

	if (now >= exp + leeway)
		return tg_refuse(r, "The token has expired.", "expired");
	if (has_nbf && now + leeway < nbf)
		return tg_refuse(r, "The token is not valid yet (nbf).", "not yet valid");
	if (has_iat && iat > now + leeway)
		return tg_refuse(r, "The token was issued in the future (iat).", "issued in the future");
	return true;
}

/* Use a single-use id until expires; false with the refusal set (see tg_jti_use). */
static bool
tg_use_once(const char *kid, const char *id, TimestampTz expires, const char *detail,
			const char *reason, TgTokenRefusal *r)
{
	switch (tg_jti_use(kid, id, expires))
	{
		case TG_JTI_FIRST_USE:
		case TG_JTI_SAME_USE:
			return true;
		case TG_JTI_REPLAY:
			return tg_refuse(r, detail, reason);
		case TG_JTI_FULL:
			r->sqlstate = ERRCODE_CONFIGURATION_LIMIT_EXCEEDED;
			r->detail = "Too many unexpired single-use tokens (jti) are remembered; raise tenantguard.token_jti_slots.";
			r->reason = "jti table full";
			return false;
	}
	return false;
}

bool
tg_token_verify(const char *token, size_t len, bool consume_jti,
				TgTokenInfo *out, TgTokenRefusal *r)
{
	uint8		hash[crypto_hash_sha256_BYTES];
	TgVerifiedToken *e;
	TgVerifiedToken fresh;
	int64		leeway = (int64) tg_token_leeway * USECS_PER_SEC;
	uint64		generation;
	bool		found;

	memset(r, 0, sizeof(*r));
	if (len > TG_JWT_MAX_LEN)
		return tg_refuse(r, "The token is longer than 8192 bytes.", "token too long");
	crypto_hash_sha256(hash, (const uint8 *) token, len);

	/* key lookups may process invalidations, which drop the caches: look again after */
	(void) tg_keys_get();
	generation = tg_token_keys_generation;
	e = (TgVerifiedToken *) hash_search(tg_verified_get(), hash, HASH_FIND, &found);
	if (e == NULL)
	{
		memset(&fresh, 0, sizeof(fresh));
		if (!tg_verify_new(token, len, &fresh, CurrentMemoryContext, r))
			return false;
		e = &fresh;
		if (generation == tg_token_keys_generation)
		{
			TgVerifiedToken *kept = (TgVerifiedToken *) hash_search(tg_verified_get(), hash, HASH_ENTER, NULL);
			char	   *json = MemoryContextAlloc(tg_verified_cxt, fresh.claims_len + 1);

			memcpy(json, fresh.claims_json, fresh.claims_len + 1);
			memcpy(kept, &fresh, sizeof(fresh));
			memcpy(kept->hash, hash, sizeof(hash));
			kept->claims_json = json;
			e = kept;
		}
	}
	/*
	 * A cached entry needs no second look at its key: any change of the key
	 * store empties this cache (tg_token_keys_reset), so an entry found here
	 * was verified with a key that is still active.
	 */

	if (!tg_times_ok(e->exp, e->has_nbf, e->nbf, e->has_iat, e->iat, r))
		return false;
	if (e->has_jti && consume_jti &&
		!tg_use_once(e->kid, e->jti, e->exp + leeway, "The token's id (jti) has already been used.", "replayed jti", r))
		return false;

	memset(out, 0, sizeof(*out));
	strlcpy(out->kid, e->kid, sizeof(out->kid));
	out->tenant = e->tenant;
	strlcpy(out->role, e->role, sizeof(out->role));
	strlcpy(out->principal, e->principal, sizeof(out->principal));
	out->has_jti = e->has_jti;
	out->not_after = e->exp + leeway;
	out->claims_json = e->claims_json;
	out->claims_len = e->claims_len;
	return true;
}

bool
tg_id_token_verify(const char *token, size_t len, const char *nonce, size_t nonce_len,
				   TgIdTokenInfo *out, TgTokenRefusal *r)
{
	tg_jwt	   *jwt;
	tg_jwt_claims *c;
	TgSigningKey *k;
	TimestampTz exp;
	uint8		hash[crypto_hash_sha256_BYTES];
	char		once[8 + 2 * crypto_hash_sha256_BYTES + 1];
	int64		leeway = (int64) tg_token_leeway * USECS_PER_SEC;
	bool		ok;

	memset(r, 0, sizeof(*r));
	memset(out, 0, sizeof(*out));
	if (len > TG_JWT_MAX_LEN)
		return tg_refuse(r, "The token is longer than 8192 bytes.", "token too long");
	jwt = palloc(sizeof(tg_jwt));
	c = palloc(sizeof(tg_jwt_claims));
	if (!tg_verify_signed(token, len, true, jwt, c, &k, r))
		return false;

	/* signed by a key trusted for ID tokens, which names its issuer and audience */
	if (k->issuer == NULL || k->audience == NULL)
		return tg_refuse(r, "The ID token's signing key was imported without an issuer and an audience.", "key without issuer or audience");
	if (!c->has_iss || strcmp(c->iss, k->issuer) != 0)
		return tg_refuse(r, "The token's issuer (iss) is not the one its signing key expects.", "wrong issuer");
	if (!tg_aud_has(c, k->audience))
		return tg_refuse(r, "The token's audience (aud) does not include the one its signing key expects.", "wrong audience");
	if (!c->has_sub || c->sub[0] == '\0' || !tg_principal_valid(c->sub, strlen(c->sub)))
		return tg_refuse(r, "The token has no usable \"sub\" (subject) claim.", "missing sub");
	if (!c->has_exp)
		return tg_refuse(r, "The token has no \"exp\" (expiry) claim.", "missing exp");
	exp = tg_numeric_date(c->exp);
	if (!tg_times_ok(exp, c->has_nbf, c->has_nbf ? tg_numeric_date(c->nbf) : 0,
					 c->has_iat, c->has_iat ? tg_numeric_date(c->iat) : 0, r))
		return false;

	/*
	 * The nonce binds the token to the sign-in request that asked for it: a
	 * token that carries one is accepted only with that same nonce.
	 */
	if (nonce != NULL)
	{
		size_t		have = c->has_nonce ? strlen(c->nonce) : 0;

		if (!c->has_nonce)
			return tg_refuse(r, "The token has no \"nonce\" claim, and a nonce was expected.", "missing nonce");
		ok = have == nonce_len &&
			sodium_memcmp(c->nonce, nonce, nonce_len) == 0;
		if (!ok)
			return tg_refuse(r, "The token's nonce is not the one expected.", "wrong nonce");
	}
	else if (c->has_nonce)
		return tg_refuse(r, "The token carries a nonce: pass the nonce the sign-in request sent.", "nonce not checked");

	/*
	 * Each ID token signs in once: the hash of what was signed (header and
	 * claims, without the signature) is remembered until it expires. Not
	 * the whole text: an ES256 signature (r, s) verifies as (r, n - s) too,
	 * so the same token could be re-sent with another signature. The
	 * base64url decoder refuses non-canonical text, so header and claims
	 * have one spelling each. tg_jwt_decode found both dots.
	 */
	{
		size_t		signed_len = len;

		while (signed_len > 0 && token[signed_len - 1] != '.')
			signed_len--;
		if (signed_len > 0)
			signed_len--;
		crypto_hash_sha256(hash, (const uint8 *) token, signed_len);
	}
	memcpy(once, "idtoken:", 8);
	hex_encode((const char *) hash, sizeof(hash), once + 8);
	once[sizeof(once) - 1] = '\0';
	if (!tg_use_once(k->kid, once, exp + leeway, "The ID token has already been used to sign in.", "replayed id token", r))
		return false;

	strlcpy(out->kid, k->kid, sizeof(out->kid));
	strlcpy(out->issuer, c->iss, sizeof(out->issuer));
	strlcpy(out->subject, c->sub, sizeof(out->subject));
	out->not_after = exp + leeway;
	pfree(jwt);
	pfree(c);
	return true;
}
