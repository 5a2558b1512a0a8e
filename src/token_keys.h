/*
 * token_keys.h — signing keys and the verification of signed context tokens
 * (layer 3): the keys of tenantguard.token_key_store cached per backend,
 * HS256 secrets sealed under the data keys, and a per-backend cache of
 * verified tokens by their SHA-256 so that a token re-sent every
 * transaction is verified once.
 */
#ifndef TG_TOKEN_KEYS_H
#define TG_TOKEN_KEYS_H

#include "postgres.h"
#include "datatype/timestamp.h"
#include "utils/uuid.h"

#include "core/context_value.h"
#include "core/jwt.h"

/* What a verified token says, as the context needs it. */
typedef struct TgTokenInfo
{
	char		kid[TG_JWT_KID_MAX + 1];
	pg_uuid_t	tenant;
	char		role[TG_CTX_ROLE_MAX + 1];
	char		principal[TG_CTX_PRINCIPAL_MAX + 1];	/* token:<sub> */
	bool		has_jti;
	TimestampTz not_after;		/* exp + leeway: the context ends then */
	const char *claims_json;	/* the payload; valid until the next call */
	size_t		claims_len;
} TgTokenInfo;

/* Why a token was refused: a fixed sentence (no token content) and a short code for the audit. */
typedef struct TgTokenRefusal
{
	int			sqlstate;		/* 28000, or 53400 when single-use ids have no room */
	const char *detail;
	const char *reason;
} TgTokenRefusal;

extern void tg_token_keys_init(void);

/* A JWT status as a sentence for an error detail (palloc'ed). */
extern const char *tg_jwt_status_sentence(tg_jwt_status st);

/* Bumped whenever the signing keys may have changed (any backend's change, at its commit). */
extern uint64 tg_token_keys_generation;

/* The leeway for exp, nbf and iat (tenantguard.token_leeway), in seconds. */
extern int	tg_token_leeway;

/*
 * Verify a compact token: signature with the key its kid names (algorithm
 * pinned by the key), then the claims and times. consume_jti: record the
 * jti (single use) in shared memory; false only where the value was already
 * accepted (parallel workers) or is only being validated. False with
 * *refusal set when refused.
 */
extern bool tg_token_verify(const char *token, size_t len, bool consume_jti,
							TgTokenInfo *out, TgTokenRefusal *refusal);

/* What a verified OpenID Connect ID token says. */
typedef struct TgIdTokenInfo
{
	char		kid[TG_JWT_KID_MAX + 1];
	char		issuer[TG_JWT_CLAIM_MAX + 1];
	char		subject[TG_JWT_CLAIM_MAX + 1];
	TimestampTz not_after;		/* exp + leeway */
} TgIdTokenInfo;

/*
 * Verify an identity provider's ID token: signed by an active key imported
 * for ID tokens (purpose 'id_token'), iss and aud those the key expects,
 * sub, exp (nbf, iat) with the leeway, and the nonce: when nonce is given
 * the token must carry exactly it; a token that carries a nonce needs one.
 * Each token is accepted once (its hash is kept in the single-use table
 * until it expires). False with *refusal set (28000, or 53400).
 */
extern bool tg_id_token_verify(const char *token, size_t len, const char *nonce, size_t nonce_len,
							   TgIdTokenInfo *out, TgTokenRefusal *refusal);

/* Is kid a known, active signing key (cached; cheap)? */
extern bool tg_signing_key_active(const char *kid);

/* Seal an HS256 secret for storage (the envelope's bytes, under the newest data key). */
extern bytea *tg_signing_secret_seal(const uint8 *secret, size_t len);

/*
 * The signing material of kid for minting: HS256 secret (opened), in
 * palloc'ed memory the caller wipes. ERROR (22023) when kid is unknown,
 * retired, or not an HS256 key.
 */
extern uint8 *tg_signing_secret(const char *kid, tg_jwt_alg *alg, size_t *len);

/* Do two sealed HS256 secrets hold the same secret (constant time)? */
extern bool tg_signing_secrets_equal(const uint8 *a, size_t alen, const uint8 *b, size_t blen);

/* The newest active HS256 key made by add_signing_key(), or NULL. */
extern char *tg_default_signing_kid(void);

#endif
