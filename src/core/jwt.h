/*
 * jwt.h — JSON Web Tokens in compact form (RFC 7519 / RFC 7515), pure C
 * (libsodium and OpenSSL 3 behind this header; no library types exposed).
 *
 * Verification is in three steps, so that the caller chooses the key:
 *
 *   tg_jwt_decode()        split header.payload.signature, decode base64url,
 *                          parse the header strictly (alg, kid), keep the
 *                          payload JSON and the signature;
 *   tg_jwt_verify()        check the signature with a key whose algorithm the
 *                          caller pinned (never the token's "alg": a mismatch
 *                          is refused);
 *   tg_jwt_claims_parse()  parse the payload strictly into the registered
 *                          claims tenantguard uses.
 *
 * Key material ("material" below) has one canonical binary form per
 * algorithm:
 *   HS256  the secret bytes (at least 32);
 *   EdDSA  the 32-byte Ed25519 public key (or, for signing, the 32-byte seed);
 *   ES256  the DER SubjectPublicKeyInfo of a P-256 public key;
 *   RS256  the DER SubjectPublicKeyInfo of an RSA public key of >= 2048 bits.
 *
 * Nothing here allocates memory that the caller must free; nothing aborts.
 * Status texts never contain token or key bytes.
 */
#ifndef TG_CORE_JWT_H
#define TG_CORE_JWT_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define TG_JWT_MAX_LEN 8192			/* longest compact token accepted */
#define TG_JWT_KID_MAX 128			/* longest kid, bytes */
#define TG_JWT_SIG_MAX 1024			/* longest decoded signature (RSA 8192) */
#define TG_JWT_JSON_DEPTH 16		/* deepest nesting accepted in a payload */
#define TG_JWT_CLAIM_MAX 255		/* longest string claim kept (tid, sub, role, jti, iss, aud) */
#define TG_JWT_AUD_MAX 8			/* most audiences kept from an "aud" array */
#define TG_JWT_HS256_MIN_KEY 32
#define TG_JWT_RSA_MIN_BITS 2048
#define TG_JWT_KEY_MAX 4096			/* longest canonical key material, bytes */

typedef enum tg_jwt_alg
{
	TG_JWT_ALG_UNKNOWN = 0,
	TG_JWT_ALG_HS256,
	TG_JWT_ALG_EDDSA,
	TG_JWT_ALG_ES256,
	TG_JWT_ALG_RS256
} tg_jwt_alg;

typedef enum tg_jwt_status
{
	TG_JWT_OK = 0,
	TG_JWT_TOO_LONG,			/* longer than TG_JWT_MAX_LEN */
	TG_JWT_MALFORMED,			/* not three base64url parts, bad base64url, trailing garbage */
	TG_JWT_BAD_HEADER,			/* header not a strict JSON object, duplicate or mistyped member, "crit" */
	TG_JWT_ALG_NONE,			/* "alg": "none" */
	TG_JWT_ALG_UNSUPPORTED,		/* any other algorithm than the four above */
	TG_JWT_NO_KID,				/* header without a usable "kid" */
	TG_JWT_ALG_MISMATCH,		/* the token's alg is not the key's */
	TG_JWT_BAD_SIGNATURE,		/* signature does not verify (or has the wrong length) */
	TG_JWT_BAD_KEY,				/* key material unusable: short HS256 secret, small RSA key, wrong curve, bad encoding */
	TG_JWT_BAD_CLAIMS,			/* payload not a strict JSON object, too deep, duplicate member, mistyped or overlong claim */
	TG_JWT_BAD_JWK,				/* JWK / JWKS / PEM document malformed or unsupported */
	TG_JWT_INTERNAL				/* a library call failed */
} tg_jwt_status;

/* "HS256", "EdDSA", "ES256", "RS256"; NULL for unknown. */
const char *tg_jwt_alg_name(tg_jwt_alg alg);

/* Parse an algorithm name (exact, case-sensitive as JOSE is; "Ed25519" is accepted as EdDSA). */
tg_jwt_alg	tg_jwt_alg_parse(const char *name, size_t len);

/* A short English description of a status, safe to show (no input echoed). */
const char *tg_jwt_status_text(tg_jwt_status st);

/* A decoded, not yet verified, token. Self-contained (no pointers into the input). */
typedef struct tg_jwt
{
	tg_jwt_alg	alg;			/* from the header; informative only */
	char		kid[TG_JWT_KID_MAX + 1];
	char		signing_input[TG_JWT_MAX_LEN + 1];	/* "header.payload" as received */
	size_t		signing_input_len;
	char		payload[TG_JWT_MAX_LEN + 1];	/* decoded payload JSON, NUL-terminated */
	size_t		payload_len;
	uint8_t		sig[TG_JWT_SIG_MAX];
	size_t		sig_len;
} tg_jwt;

/*
 * Split and decode a compact token of exactly len bytes. The header must be
 * a JSON object with unique members; "alg" (string, not "none", one of the
 * four) and "kid" (string, 1..TG_JWT_KID_MAX bytes, printable ASCII) are
 * required; "typ" when present is a string; "crit" is refused; other
 * members are ignored. The payload must decode (its JSON is checked by
 * tg_jwt_claims_parse). No whitespace, padding or characters after the
 * signature are accepted.
 */
tg_jwt_status tg_jwt_decode(const char *token, size_t len, tg_jwt *out);

/*
 * Verify the signature of a decoded token with a key of algorithm key_alg:
 * TG_JWT_ALG_MISMATCH when jwt->alg != key_alg, TG_JWT_BAD_KEY when the
 * material is unusable, TG_JWT_BAD_SIGNATURE when it does not verify.
 * HS256 compares in constant time; ES256 signatures are the 64-byte JOSE
 * form r || s (RFC 7518 section 3.4), converted for OpenSSL.
 */
tg_jwt_status tg_jwt_verify(const tg_jwt *jwt, tg_jwt_alg key_alg,
							const uint8_t *material, size_t material_len);

/* The registered claims tenantguard uses; absent ones have has_* false. */
typedef struct tg_jwt_claims
{
	bool		has_tid,
				has_sub,
				has_role,
				has_jti,
				has_iss,
				has_nonce;
	char		tid[TG_JWT_CLAIM_MAX + 1];
	char		sub[TG_JWT_CLAIM_MAX + 1];
	char		role[TG_JWT_CLAIM_MAX + 1];
	char		jti[TG_JWT_CLAIM_MAX + 1];
	char		iss[TG_JWT_CLAIM_MAX + 1];
	char		nonce[TG_JWT_CLAIM_MAX + 1];	/* OpenID Connect ID tokens */
	int			n_aud;			/* 0 = no "aud" */
	char		aud[TG_JWT_AUD_MAX][TG_JWT_CLAIM_MAX + 1];
	bool		has_exp,
				has_nbf,
				has_iat;
	int64_t		exp,			/* NumericDate, seconds since 1970 (fractions truncated toward -inf) */
				nbf,
				iat;
} tg_jwt_claims;

/*
 * Parse a payload strictly: one JSON object (RFC 8259; UTF-8 only, escapes
 * including surrogate pairs decoded and checked, no duplicate member names
 * at any level, nesting at most TG_JWT_JSON_DEPTH, nothing after the
 * object but JSON whitespace). tid, sub, role, jti, iss, nonce must be strings
 * without NUL of at most TG_JWT_CLAIM_MAX bytes; aud a string or an array
 * of at most TG_JWT_AUD_MAX such strings; exp, nbf, iat numbers (integer or
 * fraction, within +-2^53). Other members may be any JSON value. It does
 * not require any claim nor compare times: the caller does.
 */
tg_jwt_status tg_jwt_claims_parse(const char *json, size_t len, tg_jwt_claims *out);

/*
 * Check key material for an algorithm (see the header comment); for EdDSA
 * the 32-byte public key must be a valid point.
 */
tg_jwt_status tg_jwt_key_check(tg_jwt_alg alg, const uint8_t *material, size_t len);

/*
 * Sign: builds base64url(header_json) "." base64url(payload_json) "."
 * base64url(signature) into out (capacity outcap, NUL-terminated), returns
 * the length or -1. Only HS256 (material = secret) and EdDSA (material =
 * 32-byte seed) can sign. The caller builds the JSON (header with alg and
 * kid).
 */
long		tg_jwt_sign(tg_jwt_alg alg, const uint8_t *material, size_t material_len,
						const char *header_json, size_t header_len,
						const char *payload_json, size_t payload_len,
						char *out, size_t outcap);

/* One key of a JWK or JWKS document, in canonical form. */
typedef struct tg_jwk
{
	char		kid[TG_JWT_KID_MAX + 1];	/* "" when the JWK has none */
	tg_jwt_alg	alg;			/* from "alg", else inferred from kty/crv */
	bool		is_private;		/* the JWK carried private parts ("d"): only the public key is kept, except for oct */
	uint8_t		material[TG_JWT_KEY_MAX];
	size_t		material_len;
} tg_jwk;

/*
 * Called for every key of a JWKS ("keys" array) or for the single JWK.
 * status is TG_JWT_OK with key filled, or why that key is unusable
 * (unsupported kty/crv/alg, "use" other than "sig", bad members, small RSA
 * key); index is the key's position in "keys" (0 for a single JWK). The
 * callback returns false to stop.
 */
typedef bool (*tg_jwk_callback) (void *arg, int index, tg_jwt_status status, const tg_jwk *key);

/*
 * Parse a JWK (kty oct/OKP/EC/RSA; OKP crv Ed25519; EC crv P-256) or a JWKS
 * document ({"keys": [...]}), strictly (same JSON rules as the claims).
 * Returns TG_JWT_BAD_JWK when the document itself is malformed (then no
 * callback was made) and TG_JWT_OK otherwise, whatever the keys' statuses.
 */
tg_jwt_status tg_jwk_parse(const char *json, size_t len, tg_jwk_callback cb, void *arg);

/*
 * A PEM "PUBLIC KEY" (SubjectPublicKeyInfo) block of an RSA, P-256 or
 * Ed25519 key: canonical material into out (capacity cap) and its
 * algorithm. TG_JWT_BAD_JWK when not such a block, TG_JWT_BAD_KEY when the
 * key is unusable.
 */
tg_jwt_status tg_jwt_pem_parse(const char *pem, size_t len, tg_jwt_alg *alg,
							   uint8_t *out, size_t cap, size_t *out_len);

#endif
