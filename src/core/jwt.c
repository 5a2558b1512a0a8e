/*
 * jwt.c — JSON Web Tokens in compact form (RFC 7519 / RFC 7515), pure C.
 *
 * HS256 and EdDSA through libsodium, ES256 and RS256 through OpenSSL 3's
 * EVP interface (no deprecated API). All JSON goes through the strict reader
 * of json.h. Nothing is allocated except OpenSSL's own objects, each freed
 * on every path; OpenSSL's error queue is cleared before returning so that
 * no error leaks into unrelated code of the same process.
 */
#include <string.h>

#include <sodium.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "encoding.h"
#include "json.h"
#include "jwt.h"

/* Longest JWK, JWKS or PEM document read (a JWKS with x5c chains is large). */
#define TG_JWK_DOC_MAX (64 * 1024)
/* Largest RSA modulus accepted: its signature must fit TG_JWT_SIG_MAX. */
#define TG_JWT_RSA_MAX_BITS (TG_JWT_SIG_MAX * 8)
/* Largest RSA public exponent accepted, in bits (OpenSSL's own bound for large moduli). */
#define TG_JWT_RSA_MAX_E_BITS 64
#define HS256_LEN 32
#define ED25519_LEN 32
#define ES256_COORD 32

const char *
tg_jwt_alg_name(tg_jwt_alg alg)
{
	switch (alg)
	{
		case TG_JWT_ALG_HS256:
			return "HS256";
		case TG_JWT_ALG_EDDSA:
			return "EdDSA";
		case TG_JWT_ALG_ES256:
			return "ES256";
		case TG_JWT_ALG_RS256:
			return "RS256";
		default:
			return NULL;
	}
}

tg_jwt_alg
tg_jwt_alg_parse(const char *name, size_t len)
{
	static const struct
	{
		const char *name;
		tg_jwt_alg	alg;
	}			algs[] = {
		{"HS256", TG_JWT_ALG_HS256},
		{"EdDSA", TG_JWT_ALG_EDDSA},
		{"Ed25519", TG_JWT_ALG_EDDSA},
		{"ES256", TG_JWT_ALG_ES256},
		{"RS256", TG_JWT_ALG_RS256},
	};
	size_t		i;

	if (name == NULL)
		return TG_JWT_ALG_UNKNOWN;
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strlen(algs[i].name) == len && memcmp(algs[i].name, name, len) == 0)
			return algs[i].alg;
	return TG_JWT_ALG_UNKNOWN;
}

const char *
tg_jwt_status_text(tg_jwt_status st)
{
	switch (st)
	{
		case TG_JWT_OK:
			return "valid";
		case TG_JWT_TOO_LONG:
			return "token or document is too long";
		case TG_JWT_MALFORMED:
			return "token is not three base64url parts";
		case TG_JWT_BAD_HEADER:
			return "token header is not a valid JOSE header";
		case TG_JWT_ALG_NONE:
			return "unsigned tokens (alg \"none\") are not accepted";
		case TG_JWT_ALG_UNSUPPORTED:
			return "algorithm is not supported";
		case TG_JWT_NO_KID:
			return "token header has no usable key id (kid)";
		case TG_JWT_ALG_MISMATCH:
			return "token algorithm is not the key's algorithm";
		case TG_JWT_BAD_SIGNATURE:
			return "token signature does not verify";
		case TG_JWT_BAD_KEY:
			return "key material is unusable";
		case TG_JWT_BAD_CLAIMS:
			return "token claims are not a valid claims object";
		case TG_JWT_BAD_JWK:
			return "key document is malformed or unsupported";
		case TG_JWT_INTERNAL:
			return "internal cryptographic failure";
	}
	return "unknown status";
}

/* ---- strings of a parsed document ---- */

/*
 * A string member into out (capacity cap): its length, -1 when not a string
 * or too long. Printable-ASCII-only when printable is set; no NUL ever.
 */
static long
get_text(tg_json_value v, char *out, size_t cap, bool printable)
{
	long		n = tg_json_string_get(v, out, cap);
	long		i;

	if (n < 0)
		return -1;
	for (i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) out[i];

		if (c == '\0' || (printable && (c < 0x20 || c > 0x7E)))
		{
			out[0] = '\0';
			return -1;
		}
	}
	return n;
}

/*
 * A string member decoded as unpadded base64url into out: its length, or -1
 * (also when longer than any key material can be).
 */
static long
get_b64url(tg_json_value v, uint8_t *out, size_t cap)
{
	char		text[TG_JWT_KEY_MAX / 3 * 4 + 8];
	long		n,
				r;

	if ((n = tg_json_string_get(v, text, sizeof(text))) < 0)
		return -1;
	r = tg_b64url_decode(text, (size_t) n, out, cap);
	sodium_memzero(text, sizeof(text));	/* it may be a secret */
	return r;
}

/* ---- decoding ---- */

static tg_jwt_status
parse_header(const char *json, size_t len, tg_jwt *out)
{
	tg_json_value root,
				name,
				value;
	tg_json_iter it;
	bool		has_alg = false,
				has_kid = false,
				alg_none = false;
	char		alg[16];
	long		n;

	if (!tg_json_parse(json, len, TG_JWT_JSON_DEPTH, &root) ||
		!tg_json_object_iter(root, &it))
		return TG_JWT_BAD_HEADER;
	out->alg = TG_JWT_ALG_UNKNOWN;
	while (tg_json_next_member(&it, &name, &value))
	{
		if (tg_json_string_is(name, "crit"))
			return TG_JWT_BAD_HEADER;	/* no extension is understood */
		if (tg_json_string_is(name, "alg"))
		{
			if (tg_json_type_of(value) != TG_JSON_STRING)
				return TG_JWT_BAD_HEADER;
			has_alg = true;
			n = tg_json_string_get(value, alg, sizeof(alg));
			alg_none = tg_json_string_is(value, "none");
			if (n >= 0)
				out->alg = tg_jwt_alg_parse(alg, (size_t) n);
		}
		else if (tg_json_string_is(name, "kid"))
		{
			if (tg_json_type_of(value) != TG_JSON_STRING)
				return TG_JWT_BAD_HEADER;
			n = get_text(value, out->kid, sizeof(out->kid), true);
			has_kid = n > 0;
			if (!has_kid)
				out->kid[0] = '\0';
		}
		else if (tg_json_string_is(name, "typ"))
		{
			if (tg_json_type_of(value) != TG_JSON_STRING)
				return TG_JWT_BAD_HEADER;
		}
	}
	if (!has_alg)
		return TG_JWT_BAD_HEADER;
	if (alg_none)
		return TG_JWT_ALG_NONE;
	if (out->alg == TG_JWT_ALG_UNKNOWN)
		return TG_JWT_ALG_UNSUPPORTED;
	if (!has_kid)
		return TG_JWT_NO_KID;
	return TG_JWT_OK;
}

static tg_jwt_status
decode_parts(const char *token, size_t len, tg_jwt *out)
{
	const char *dot1,
			   *dot2;
	size_t		hlen,
				plen,
				slen;
	uint8_t		header[TG_JWT_MAX_LEN];
	long		n;
	tg_jwt_status st;

	dot1 = memchr(token, '.', len);
	if (dot1 == NULL)
		return TG_JWT_MALFORMED;
	dot2 = memchr(dot1 + 1, '.', len - (size_t) (dot1 + 1 - token));
	if (dot2 == NULL || memchr(dot2 + 1, '.', len - (size_t) (dot2 + 1 - token)) != NULL)
		return TG_JWT_MALFORMED;
	hlen = (size_t) (dot1 - token);
	plen = (size_t) (dot2 - dot1 - 1);
	slen = len - (size_t) (dot2 + 1 - token);
	if (hlen == 0 || plen == 0 || slen == 0)
		return TG_JWT_MALFORMED;

	/* base64url of every part first: a malformed token is MALFORMED whatever its header */
	if ((n = tg_b64url_decode(token, hlen, header, sizeof(header))) < 0)
		return TG_JWT_MALFORMED;
	hlen = (size_t) n;
	if ((n = tg_b64url_decode(dot1 + 1, plen, (uint8_t *) out->payload,
							  sizeof(out->payload) - 1)) < 0)
		return TG_JWT_MALFORMED;
	out->payload[n] = '\0';
	out->payload_len = (size_t) n;
	if ((n = tg_b64url_decode(dot2 + 1, slen, out->sig, sizeof(out->sig))) < 0)
		return TG_JWT_MALFORMED;
	out->sig_len = (size_t) n;

	if ((st = parse_header((const char *) header, hlen, out)) != TG_JWT_OK)
		return st;
	out->signing_input_len = (size_t) (dot2 - token);
	memcpy(out->signing_input, token, out->signing_input_len);
	out->signing_input[out->signing_input_len] = '\0';
	return TG_JWT_OK;
}

tg_jwt_status
tg_jwt_decode(const char *token, size_t len, tg_jwt *out)
{
	tg_jwt_status st;

	if (out == NULL)
		return TG_JWT_INTERNAL;
	memset(out, 0, sizeof(*out));
	if (len > TG_JWT_MAX_LEN)
		return TG_JWT_TOO_LONG;	/* before any other work */
	if (token == NULL || len == 0)
		return TG_JWT_MALFORMED;
	st = decode_parts(token, len, out);
	if (st != TG_JWT_OK)
		memset(out, 0, sizeof(*out));
	return st;
}

/* ---- key material ---- */

static bool
rsa_params_ok(const EVP_PKEY *pkey)
{
	BIGNUM	   *n = NULL,
			   *e = NULL;
	bool		ok;
	int			bits = EVP_PKEY_get_bits(pkey);

	if (bits < TG_JWT_RSA_MIN_BITS || bits > TG_JWT_RSA_MAX_BITS)
		return false;
	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
		EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
	{
		BN_free(n);
		BN_free(e);
		return false;
	}

	/*
	 * An odd modulus; an odd exponent of at least 3 (e = 1 would make every
	 * message its own signature) and at most 64 bits (verification cost).
	 */
	ok = BN_is_odd(n) && BN_is_odd(e) && !BN_is_one(e) &&
		BN_num_bits(e) <= TG_JWT_RSA_MAX_E_BITS && BN_cmp(e, n) < 0;
	BN_free(n);
	BN_free(e);
	return ok;
}

static bool
p256_ok(EVP_PKEY *pkey)
{
	char		name[64];
	size_t		nlen = 0;
	EVP_PKEY_CTX *ctx;
	bool		ok;

	if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
									   name, sizeof(name), &nlen) != 1 ||
		strcmp(name, SN_X9_62_prime256v1) != 0)
		return false;
	/* a named curve, not explicit parameters that happen to match */
	if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_ENCODING,
									   name, sizeof(name), &nlen) != 1 ||
		strcmp(name, OSSL_PKEY_EC_ENCODING_GROUP) != 0)
		return false;
	/* on the curve, not the point at infinity (P-256 has cofactor 1) */
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL)
		return false;
	ok = EVP_PKEY_public_check_quick(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

/*
 * The DER SubjectPublicKeyInfo of an ES256 or RS256 key, checked: *out the
 * key (the caller frees it) or TG_JWT_BAD_KEY.
 */
static tg_jwt_status
load_spki(tg_jwt_alg alg, const uint8_t *der, size_t len, EVP_PKEY **out)
{
	const unsigned char *p = der;
	EVP_PKEY   *pkey;
	bool		ok;

	*out = NULL;
	if (der == NULL || len == 0 || len > TG_JWT_KEY_MAX)
		return TG_JWT_BAD_KEY;
	pkey = d2i_PUBKEY(NULL, &p, (long) len);
	if (pkey == NULL)
		return TG_JWT_BAD_KEY;
	if (p != der + len)
		ok = false;				/* trailing bytes */
	else if (alg == TG_JWT_ALG_RS256)
		ok = EVP_PKEY_is_a(pkey, "RSA") && rsa_params_ok(pkey);
	else if (alg == TG_JWT_ALG_ES256)
		ok = EVP_PKEY_is_a(pkey, "EC") && p256_ok(pkey);
	else
		ok = false;
	if (!ok)
	{
		EVP_PKEY_free(pkey);
		return TG_JWT_BAD_KEY;
	}
	*out = pkey;
	return TG_JWT_OK;
}

tg_jwt_status
tg_jwt_key_check(tg_jwt_alg alg, const uint8_t *material, size_t len)
{
	EVP_PKEY   *pkey = NULL;
	tg_jwt_status st;

	if (material == NULL)
		return TG_JWT_BAD_KEY;
	switch (alg)
	{
		case TG_JWT_ALG_HS256:
			return len >= TG_JWT_HS256_MIN_KEY && len <= TG_JWT_KEY_MAX ?
				TG_JWT_OK : TG_JWT_BAD_KEY;
		case TG_JWT_ALG_EDDSA:
			/* canonical, on the curve, in the prime-order subgroup, not of small order */
			return len == ED25519_LEN && crypto_core_ed25519_is_valid_point(material) == 1 ?
				TG_JWT_OK : TG_JWT_BAD_KEY;
		case TG_JWT_ALG_ES256:
		case TG_JWT_ALG_RS256:
			st = load_spki(alg, material, len, &pkey);
			EVP_PKEY_free(pkey);
			ERR_clear_error();
			return st;
		default:
			return TG_JWT_ALG_UNSUPPORTED;
	}
}

/* The DER SubjectPublicKeyInfo of pkey into out (capacity cap); its length or 0. */
static size_t
spki_der(EVP_PKEY *pkey, uint8_t *out, size_t cap)
{
	int			n = i2d_PUBKEY(pkey, NULL);
	unsigned char *q = out;

	if (n <= 0 || (size_t) n > cap)
		return 0;
	if (i2d_PUBKEY(pkey, &q) != n)
		return 0;
	return (size_t) n;
}

/* ---- signatures ---- */

static void
hs256(const uint8_t *key, size_t klen, const uint8_t *msg, size_t mlen, uint8_t mac[HS256_LEN])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, klen);
	crypto_auth_hmacsha256_update(&st, msg, mlen);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
}

/* SHA-256 signature check through EVP: OK, BAD_SIGNATURE or INTERNAL. */
static tg_jwt_status
evp_verify(EVP_PKEY *pkey, bool rsa, const uint8_t *sig, size_t siglen,
		   const uint8_t *msg, size_t mlen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	tg_jwt_status st = TG_JWT_INTERNAL;

	if (ctx != NULL &&
		EVP_DigestVerifyInit_ex(ctx, &pctx, "SHA256", NULL, NULL, pkey, NULL) == 1 &&
		(!rsa || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1))
		st = EVP_DigestVerify(ctx, sig, siglen, msg, mlen) == 1 ?
			TG_JWT_OK : TG_JWT_BAD_SIGNATURE;
	EVP_MD_CTX_free(ctx);
	return st;
}

/* JOSE r || s (RFC 7518 section 3.4) as a DER ECDSA-Sig-Value; its length or 0. */
static size_t
es256_der(const uint8_t rs[2 * ES256_COORD], uint8_t *out, size_t cap)
{
	ECDSA_SIG  *es = ECDSA_SIG_new();
	BIGNUM	   *r = BN_bin2bn(rs, ES256_COORD, NULL);
	BIGNUM	   *s = BN_bin2bn(rs + ES256_COORD, ES256_COORD, NULL);
	unsigned char *q = out;
	int			n = 0;

	if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1)
	{
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return 0;
	}
	/* es owns r and s now */
	n = i2d_ECDSA_SIG(es, NULL);
	if (n <= 0 || (size_t) n > cap || i2d_ECDSA_SIG(es, &q) != n)
		n = 0;
	ECDSA_SIG_free(es);
	return (size_t) n;
}

static tg_jwt_status
verify_spki(const tg_jwt *jwt, tg_jwt_alg alg, const uint8_t *material, size_t len)
{
	EVP_PKEY   *pkey = NULL;
	tg_jwt_status st = load_spki(alg, material, len, &pkey);
	const uint8_t *msg = (const uint8_t *) jwt->signing_input;

	if (st != TG_JWT_OK)
		return st;
	if (alg == TG_JWT_ALG_RS256)
	{
		/* exactly the modulus' length */
		if (jwt->sig_len != (size_t) EVP_PKEY_get_size(pkey))
			st = TG_JWT_BAD_SIGNATURE;
		else
			st = evp_verify(pkey, true, jwt->sig, jwt->sig_len, msg, jwt->signing_input_len);
	}
	else
	{
		uint8_t		der[80];
		size_t		dlen;

		if (jwt->sig_len != 2 * ES256_COORD)
			st = TG_JWT_BAD_SIGNATURE;
		else if ((dlen = es256_der(jwt->sig, der, sizeof(der))) == 0)
			st = TG_JWT_INTERNAL;
		else
			st = evp_verify(pkey, false, der, dlen, msg, jwt->signing_input_len);
	}
	EVP_PKEY_free(pkey);
	return st;
}

tg_jwt_status
tg_jwt_verify(const tg_jwt *jwt, tg_jwt_alg key_alg,
			  const uint8_t *material, size_t material_len)
{
	tg_jwt_status st;

	if (jwt == NULL)
		return TG_JWT_INTERNAL;
	if (tg_jwt_alg_name(jwt->alg) == NULL)
		return TG_JWT_ALG_UNSUPPORTED;
	/* the caller's key pins the algorithm, before any cryptography */
	if (jwt->alg != key_alg)
		return TG_JWT_ALG_MISMATCH;
	if (jwt->signing_input_len > TG_JWT_MAX_LEN || jwt->sig_len > TG_JWT_SIG_MAX)
		return TG_JWT_MALFORMED;
	switch (key_alg)
	{
		case TG_JWT_ALG_HS256:
			{
				uint8_t		mac[HS256_LEN];

				if ((st = tg_jwt_key_check(key_alg, material, material_len)) != TG_JWT_OK)
					return st;
				if (jwt->sig_len != HS256_LEN)
					return TG_JWT_BAD_SIGNATURE;
				hs256(material, material_len, (const uint8_t *) jwt->signing_input,
					  jwt->signing_input_len, mac);
				st = sodium_memcmp(mac, jwt->sig, HS256_LEN) == 0 ?
					TG_JWT_OK : TG_JWT_BAD_SIGNATURE;
				sodium_memzero(mac, sizeof(mac));
				return st;
			}
		case TG_JWT_ALG_EDDSA:

			/*
			 * Only the length here: the full point check (a scalar
			 * multiplication, as costly as the verification) belongs to
			 * importing the key; libsodium's verification itself refuses
			 * small-order and non-canonical public keys.
			 */
			if (material == NULL || material_len != ED25519_LEN)
				return TG_JWT_BAD_KEY;
			if (jwt->sig_len != crypto_sign_BYTES)
				return TG_JWT_BAD_SIGNATURE;
			return crypto_sign_verify_detached(jwt->sig,
											   (const uint8_t *) jwt->signing_input,
											   jwt->signing_input_len, material) == 0 ?
				TG_JWT_OK : TG_JWT_BAD_SIGNATURE;
		case TG_JWT_ALG_ES256:
		case TG_JWT_ALG_RS256:
			st = verify_spki(jwt, key_alg, material, material_len);
			ERR_clear_error();
			return st;
		default:
			return TG_JWT_ALG_UNSUPPORTED;
	}
}

/* base64url of in at out[*pos], then sep (when not NUL); false when it does not fit. */
static bool
append_b64(char *out, size_t outcap, size_t *pos, const uint8_t *in, size_t n, char sep)
{
	size_t		need = tg_b64url_encoded_len(n);	/* includes the NUL */

	if (outcap - *pos < need + (sep ? 1 : 0))
		return false;
	tg_b64url_encode(in, n, out + *pos);
	*pos += need - 1;
	if (sep)
	{
		out[(*pos)++] = sep;
		out[*pos] = '\0';
	}
	return true;
}

long
tg_jwt_sign(tg_jwt_alg alg, const uint8_t *material, size_t material_len,
			const char *header_json, size_t header_len,
			const char *payload_json, size_t payload_len,
			char *out, size_t outcap)
{
	uint8_t		sig[crypto_sign_BYTES];
	size_t		siglen,
				pos = 0;

	if (material == NULL || header_json == NULL || payload_json == NULL ||
		out == NULL || outcap == 0 || header_len > TG_JWT_MAX_LEN ||
		payload_len > TG_JWT_MAX_LEN)
		return -1;
	if (alg == TG_JWT_ALG_HS256)
	{
		if (tg_jwt_key_check(alg, material, material_len) != TG_JWT_OK)
			return -1;
	}
	else if (alg != TG_JWT_ALG_EDDSA || material_len != crypto_sign_SEEDBYTES)
		return -1;
	if (!append_b64(out, outcap, &pos, (const uint8_t *) header_json, header_len, '.') ||
		!append_b64(out, outcap, &pos, (const uint8_t *) payload_json, payload_len, '.'))
	{
		out[0] = '\0';
		return -1;
	}
	if (alg == TG_JWT_ALG_HS256)
	{
		hs256(material, material_len, (const uint8_t *) out, pos - 1, sig);
		siglen = HS256_LEN;
	}
	else
	{
		uint8_t		pk[crypto_sign_PUBLICKEYBYTES],
					sk[crypto_sign_SECRETKEYBYTES];
		int			rc;

		rc = crypto_sign_seed_keypair(pk, sk, material);
		if (rc == 0)
			rc = crypto_sign_detached(sig, NULL, (const uint8_t *) out, pos - 1, sk);
		sodium_memzero(sk, sizeof(sk));
		if (rc != 0)
		{
			out[0] = '\0';
			return -1;
		}
		siglen = crypto_sign_BYTES;
	}
	if (!append_b64(out, outcap, &pos, sig, siglen, '\0') || pos > TG_JWT_MAX_LEN)
	{
		sodium_memzero(out, outcap);
		pos = 0;
	}
	sodium_memzero(sig, sizeof(sig));
	return pos > 0 ? (long) pos : -1;
}

/* ---- claims ---- */

static bool
claim_text(tg_json_value v, char out[TG_JWT_CLAIM_MAX + 1])
{
	return get_text(v, out, TG_JWT_CLAIM_MAX + 1, false) >= 0;
}

static bool
claim_aud(tg_json_value v, tg_jwt_claims *out)
{
	tg_json_iter it;
	tg_json_value e;

	if (tg_json_type_of(v) == TG_JSON_STRING)
	{
		out->n_aud = 1;
		return claim_text(v, out->aud[0]);
	}
	if (!tg_json_array_iter(v, &it))
		return false;
	while (tg_json_next_element(&it, &e))
	{
		if (out->n_aud >= TG_JWT_AUD_MAX || !claim_text(e, out->aud[out->n_aud]))
			return false;
		out->n_aud++;
	}
	/* an empty array would read as "no aud" */
	return out->n_aud > 0;
}

static bool
parse_claims(const char *json, size_t len, tg_jwt_claims *out)
{
	static const struct
	{
		const char *name;
		size_t		text_off;
		size_t		has_off;
	}			texts[] = {
		{"tid", offsetof(tg_jwt_claims, tid), offsetof(tg_jwt_claims, has_tid)},
		{"sub", offsetof(tg_jwt_claims, sub), offsetof(tg_jwt_claims, has_sub)},
		{"role", offsetof(tg_jwt_claims, role), offsetof(tg_jwt_claims, has_role)},
		{"jti", offsetof(tg_jwt_claims, jti), offsetof(tg_jwt_claims, has_jti)},
		{"iss", offsetof(tg_jwt_claims, iss), offsetof(tg_jwt_claims, has_iss)},
		{"nonce", offsetof(tg_jwt_claims, nonce), offsetof(tg_jwt_claims, has_nonce)},
	};
	static const struct
	{
		const char *name;
		size_t		val_off;
		size_t		has_off;
	}			dates[] = {
		{"exp", offsetof(tg_jwt_claims, exp), offsetof(tg_jwt_claims, has_exp)},
		{"nbf", offsetof(tg_jwt_claims, nbf), offsetof(tg_jwt_claims, has_nbf)},
		{"iat", offsetof(tg_jwt_claims, iat), offsetof(tg_jwt_claims, has_iat)},
	};
	tg_json_value root,
				name,
				value;
	tg_json_iter it;
	char	   *base = (char *) out;
	size_t		i;

	if (!tg_json_parse(json, len, TG_JWT_JSON_DEPTH, &root) ||
		!tg_json_object_iter(root, &it))
		return false;
	while (tg_json_next_member(&it, &name, &value))
	{
		bool		known = false;

		for (i = 0; i < sizeof(texts) / sizeof(texts[0]) && !known; i++)
			if (tg_json_string_is(name, texts[i].name))
			{
				if (!claim_text(value, base + texts[i].text_off))
					return false;
				*(bool *) (base + texts[i].has_off) = true;
				known = true;
			}
		for (i = 0; i < sizeof(dates) / sizeof(dates[0]) && !known; i++)
			if (tg_json_string_is(name, dates[i].name))
			{
				if (!tg_json_numeric_date(value, (int64_t *) (base + dates[i].val_off)))
					return false;
				*(bool *) (base + dates[i].has_off) = true;
				known = true;
			}
		if (!known && tg_json_string_is(name, "aud") && !claim_aud(value, out))
			return false;
	}
	return true;
}

tg_jwt_status
tg_jwt_claims_parse(const char *json, size_t len, tg_jwt_claims *out)
{
	if (out == NULL)
		return TG_JWT_INTERNAL;
	memset(out, 0, sizeof(*out));
	if (len > TG_JWT_MAX_LEN)
		return TG_JWT_TOO_LONG;
	if (json == NULL || !parse_claims(json, len, out))
	{
		memset(out, 0, sizeof(*out));
		return TG_JWT_BAD_CLAIMS;
	}
	return TG_JWT_OK;
}

/* ---- JWK, JWKS ---- */

/* The members of one JWK object that matter, as found. */
typedef struct jwk_members
{
	tg_json_value kty,
				crv,
				alg,
				use,
				key_ops,
				kid,
				k,
				x,
				y,
				n,
				e,
				d;
} jwk_members;

static void
jwk_collect(tg_json_value obj, jwk_members *m)
{
	static const struct
	{
		const char *name;
		size_t		off;
	}			names[] = {
		{"kty", offsetof(jwk_members, kty)},
		{"crv", offsetof(jwk_members, crv)},
		{"alg", offsetof(jwk_members, alg)},
		{"use", offsetof(jwk_members, use)},
		{"key_ops", offsetof(jwk_members, key_ops)},
		{"kid", offsetof(jwk_members, kid)},
		{"k", offsetof(jwk_members, k)},
		{"x", offsetof(jwk_members, x)},
		{"y", offsetof(jwk_members, y)},
		{"n", offsetof(jwk_members, n)},
		{"e", offsetof(jwk_members, e)},
		{"d", offsetof(jwk_members, d)},
	};
	tg_json_iter it;
	tg_json_value name,
				value;
	size_t		i;

	memset(m, 0, sizeof(*m));
	tg_json_object_iter(obj, &it);
	while (tg_json_next_member(&it, &name, &value))
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (tg_json_string_is(name, names[i].name))
			{
				*(tg_json_value *) ((char *) m + names[i].off) = value;
				break;
			}
}

static bool
present(tg_json_value v)
{
	return v.p != NULL;
}

static bool
is_string(tg_json_value v)
{
	return tg_json_type_of(v) == TG_JSON_STRING;
}

/* "key_ops", when present, must be strings and allow "verify". */
static bool
key_ops_allow_verify(tg_json_value v)
{
	tg_json_iter it;
	tg_json_value e;
	bool		verify = false;

	if (!tg_json_array_iter(v, &it))
		return false;
	while (tg_json_next_element(&it, &e))
	{
		if (!is_string(e))
			return false;
		if (tg_json_string_is(e, "verify"))
			verify = true;
	}
	return verify;
}

static tg_jwt_status
jwk_oct(const jwk_members *m, tg_jwk *key)
{
	long		n;

	if (!is_string(m->k))
		return TG_JWT_BAD_JWK;
	key->is_private = true;		/* a shared secret is all private */
	n = get_b64url(m->k, key->material, sizeof(key->material));
	if (n < 0)
		return TG_JWT_BAD_KEY;
	key->material_len = (size_t) n;
	return tg_jwt_key_check(TG_JWT_ALG_HS256, key->material, key->material_len);
}

static tg_jwt_status
jwk_okp(const jwk_members *m, tg_jwk *key)
{
	if (!is_string(m->x) || (present(m->d) && !is_string(m->d)))
		return TG_JWT_BAD_JWK;
	key->is_private = present(m->d);
	if (get_b64url(m->x, key->material, sizeof(key->material)) != ED25519_LEN)
		return TG_JWT_BAD_KEY;
	key->material_len = ED25519_LEN;
	return tg_jwt_key_check(TG_JWT_ALG_EDDSA, key->material, key->material_len);
}

/* An EVP_PKEY built from OSSL_PARAMs of a public key of type name; NULL on failure. */
static EVP_PKEY *
pkey_from_params(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY   *pkey = NULL;

	if (params == NULL || ctx == NULL ||
		EVP_PKEY_fromdata_init(ctx) != 1 ||
		EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
	{
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

/* A built key as checked DER SubjectPublicKeyInfo material of alg. */
static tg_jwt_status
pkey_to_material(EVP_PKEY *pkey, tg_jwt_alg alg, tg_jwk *key)
{
	if (pkey == NULL)
		return TG_JWT_BAD_KEY;
	key->material_len = spki_der(pkey, key->material, sizeof(key->material));
	EVP_PKEY_free(pkey);
	if (key->material_len == 0)
		return TG_JWT_BAD_KEY;
	return tg_jwt_key_check(alg, key->material, key->material_len);
}

static tg_jwt_status
jwk_ec(const jwk_members *m, tg_jwk *key)
{
	uint8_t		point[1 + 2 * ES256_COORD];
	OSSL_PARAM_BLD *bld;
	EVP_PKEY   *pkey = NULL;

	if (!is_string(m->x) || !is_string(m->y) || (present(m->d) && !is_string(m->d)))
		return TG_JWT_BAD_JWK;
	key->is_private = present(m->d);
	/* RFC 7518 6.2.1.2: each coordinate exactly the field's length */
	point[0] = POINT_CONVERSION_UNCOMPRESSED;
	if (get_b64url(m->x, point + 1, ES256_COORD + 1) != ES256_COORD ||
		get_b64url(m->y, point + 1 + ES256_COORD, ES256_COORD + 1) != ES256_COORD)
		return TG_JWT_BAD_KEY;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		return TG_JWT_INTERNAL;
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
										SN_X9_62_prime256v1, 0) == 1 &&
		OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
										 point, sizeof(point)) == 1)
		pkey = pkey_from_params("EC", bld);	/* refuses points off the curve */
	OSSL_PARAM_BLD_free(bld);
	return pkey_to_material(pkey, TG_JWT_ALG_ES256, key);
}

static tg_jwt_status
jwk_rsa(const jwk_members *m, tg_jwk *key)
{
	uint8_t		nbuf[TG_JWT_SIG_MAX + 1],
				ebuf[16];
	long		nlen,
				elen;
	BIGNUM	   *n = NULL,
			   *e = NULL;
	OSSL_PARAM_BLD *bld;
	EVP_PKEY   *pkey = NULL;

	if (!is_string(m->n) || !is_string(m->e) || (present(m->d) && !is_string(m->d)))
		return TG_JWT_BAD_JWK;
	key->is_private = present(m->d);
	nlen = get_b64url(m->n, nbuf, sizeof(nbuf));
	elen = get_b64url(m->e, ebuf, sizeof(ebuf));
	if (nlen <= 0 || elen <= 0)
		return TG_JWT_BAD_KEY;	/* empty, malformed, or far too large */
	n = BN_bin2bn(nbuf, (int) nlen, NULL);
	e = BN_bin2bn(ebuf, (int) elen, NULL);
	if (n == NULL || e == NULL || (bld = OSSL_PARAM_BLD_new()) == NULL)
	{
		BN_free(n);
		BN_free(e);
		return TG_JWT_INTERNAL;
	}
	/* fromdata does not check sizes: pkey_to_material's key check does */
	if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1)
		pkey = pkey_from_params("RSA", bld);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return pkey_to_material(pkey, TG_JWT_ALG_RS256, key);
}

/* One key object into *key (cleared first); the key's status. */
static tg_jwt_status
jwk_one(tg_json_value obj, tg_jwk *key)
{
	jwk_members m;
	tg_jwt_alg	kty_alg,
				named = TG_JWT_ALG_UNKNOWN;
	tg_jwt_status st;

	memset(key, 0, sizeof(*key));
	if (tg_json_type_of(obj) != TG_JSON_OBJECT)
		return TG_JWT_BAD_JWK;
	jwk_collect(obj, &m);
	if (present(m.kid) && get_text(m.kid, key->kid, sizeof(key->kid), true) <= 0)
	{
		key->kid[0] = '\0';
		return TG_JWT_BAD_JWK;	/* kid: a printable string of 1..TG_JWT_KID_MAX */
	}
	if (!is_string(m.kty))
		return TG_JWT_BAD_JWK;

	/* the algorithm the key type implies */
	if (tg_json_string_is(m.kty, "oct"))
		kty_alg = TG_JWT_ALG_HS256;
	else if (tg_json_string_is(m.kty, "OKP") || tg_json_string_is(m.kty, "EC"))
	{
		if (!is_string(m.crv))
			return TG_JWT_BAD_JWK;
		if (tg_json_string_is(m.kty, "OKP"))
			kty_alg = tg_json_string_is(m.crv, "Ed25519") ? TG_JWT_ALG_EDDSA : TG_JWT_ALG_UNKNOWN;
		else
			kty_alg = tg_json_string_is(m.crv, "P-256") ? TG_JWT_ALG_ES256 : TG_JWT_ALG_UNKNOWN;
	}
	else if (tg_json_string_is(m.kty, "RSA"))
		kty_alg = TG_JWT_ALG_RS256;
	else
		kty_alg = TG_JWT_ALG_UNKNOWN;
	if (kty_alg == TG_JWT_ALG_UNKNOWN)
		return TG_JWT_ALG_UNSUPPORTED;

	if (present(m.alg))
	{
		char		alg[16];
		long		n;

		if (!is_string(m.alg))
			return TG_JWT_BAD_JWK;
		if (tg_json_string_is(m.alg, "none"))
			return TG_JWT_ALG_NONE;
		n = tg_json_string_get(m.alg, alg, sizeof(alg));
		if (n >= 0)
			named = tg_jwt_alg_parse(alg, (size_t) n);
		if (named == TG_JWT_ALG_UNKNOWN)
			return TG_JWT_ALG_UNSUPPORTED;
		if (named != kty_alg)
			return TG_JWT_BAD_JWK;	/* "alg" contradicts kty/crv */
	}
	if (present(m.use) && !tg_json_string_is(m.use, "sig"))
		return TG_JWT_BAD_JWK;
	if (present(m.key_ops) && !key_ops_allow_verify(m.key_ops))
		return TG_JWT_BAD_JWK;
	key->alg = kty_alg;

	switch (kty_alg)
	{
		case TG_JWT_ALG_HS256:
			st = jwk_oct(&m, key);
			break;
		case TG_JWT_ALG_EDDSA:
			st = jwk_okp(&m, key);
			break;
		case TG_JWT_ALG_ES256:
			st = jwk_ec(&m, key);
			break;
		default:
			st = jwk_rsa(&m, key);
			break;
	}
	ERR_clear_error();
	return st;
}

/* Calls cb with key i's status; false when cb asked to stop. */
static bool
jwk_report(tg_json_value obj, int index, tg_jwk_callback cb, void *arg)
{
	tg_jwk		key;
	tg_jwt_status st = jwk_one(obj, &key);
	bool		more;

	if (st != TG_JWT_OK)
	{
		/* only the kid is worth reporting with an unusable key */
		sodium_memzero(key.material, sizeof(key.material));
		key.material_len = 0;
	}
	more = cb(arg, index, st, &key);
	sodium_memzero(&key, sizeof(key));
	return more;
}

tg_jwt_status
tg_jwk_parse(const char *json, size_t len, tg_jwk_callback cb, void *arg)
{
	tg_json_value root,
				name,
				value,
				keys = {NULL, 0};
	tg_json_iter it;
	int			i = 0;

	if (cb == NULL)
		return TG_JWT_INTERNAL;
	if (json == NULL || len > TG_JWK_DOC_MAX ||
		!tg_json_parse(json, len, TG_JWT_JSON_DEPTH, &root) ||
		!tg_json_object_iter(root, &it))
		return TG_JWT_BAD_JWK;
	while (tg_json_next_member(&it, &name, &value))
		if (tg_json_string_is(name, "keys"))
			keys = value;
	if (!present(keys))
	{
		jwk_report(root, 0, cb, arg);
		return TG_JWT_OK;
	}
	if (!tg_json_array_iter(keys, &it))
		return TG_JWT_BAD_JWK;
	while (tg_json_next_element(&it, &value))
		if (!jwk_report(value, i++, cb, arg))
			break;
	return TG_JWT_OK;
}

/* ---- PEM ---- */

static int
no_password(char *buf, int size, int rwflag, void *u)
{
	(void) buf;
	(void) size;
	(void) rwflag;
	(void) u;
	return -1;					/* never prompt: a public key is not encrypted */
}

#define PEM_BEGIN "-----BEGIN PUBLIC KEY-----"
#define PEM_END "-----END PUBLIC KEY-----"

static bool
pem_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Exactly one "PUBLIC KEY" block with only whitespace around it and only
 * base64 lines inside (no headers, no other blocks): *start and *blen are
 * the block without that whitespace.
 */
static bool
pem_shape_ok(const char *pem, size_t len, const char **start, size_t *blen)
{
	size_t		b = 0,
				e = len,
				i;
	size_t		lb = strlen(PEM_BEGIN),
				le = strlen(PEM_END);

	while (b < e && pem_space(pem[b]))
		b++;
	while (e > b && pem_space(pem[e - 1]))
		e--;
	if (e - b < lb + le || memcmp(pem + b, PEM_BEGIN, lb) != 0 ||
		memcmp(pem + e - le, PEM_END, le) != 0)
		return false;
	for (i = b + lb; i < e - le; i++)
	{
		char		c = pem[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  c == '+' || c == '/' || c == '=' || c == '\r' || c == '\n'))
			return false;
	}
	*start = pem + b;
	*blen = e - b;
	return true;
}

static tg_jwt_status
pem_key(EVP_PKEY *pkey, tg_jwt_alg *alg, uint8_t *out, size_t cap, size_t *out_len)
{
	if (EVP_PKEY_is_a(pkey, "ED25519"))
	{
		size_t		n = ED25519_LEN;

		if (cap < ED25519_LEN || EVP_PKEY_get_raw_public_key(pkey, out, &n) != 1 ||
			n != ED25519_LEN)
			return TG_JWT_BAD_KEY;
		*alg = TG_JWT_ALG_EDDSA;
	}
	else if (EVP_PKEY_is_a(pkey, "RSA") || EVP_PKEY_is_a(pkey, "EC"))
	{
		*alg = EVP_PKEY_is_a(pkey, "RSA") ? TG_JWT_ALG_RS256 : TG_JWT_ALG_ES256;
		if ((*out_len = spki_der(pkey, out, cap)) == 0)
			return TG_JWT_BAD_KEY;
	}
	else
		return TG_JWT_BAD_KEY;	/* DSA, RSA-PSS, X25519, Ed448, ... */
	if (*alg == TG_JWT_ALG_EDDSA)
		*out_len = ED25519_LEN;
	return tg_jwt_key_check(*alg, out, *out_len);
}

tg_jwt_status
tg_jwt_pem_parse(const char *pem, size_t len, tg_jwt_alg *alg,
				 uint8_t *out, size_t cap, size_t *out_len)
{
	BIO		   *bio;
	EVP_PKEY   *pkey;
	tg_jwt_status st;
	const char *block;
	size_t		blen;

	if (alg == NULL || out == NULL || out_len == NULL)
		return TG_JWT_INTERNAL;
	*alg = TG_JWT_ALG_UNKNOWN;
	*out_len = 0;
	if (pem == NULL || len > TG_JWK_DOC_MAX || !pem_shape_ok(pem, len, &block, &blen))
		return TG_JWT_BAD_JWK;
	if ((bio = BIO_new_mem_buf(block, (int) blen)) == NULL)
		return TG_JWT_INTERNAL;
	pkey = PEM_read_bio_PUBKEY(bio, NULL, no_password, NULL);
	BIO_free(bio);
	if (pkey == NULL)
	{
		ERR_clear_error();
		return TG_JWT_BAD_JWK;
	}
	st = pem_key(pkey, alg, out, cap, out_len);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	if (st != TG_JWT_OK)
	{
		*alg = TG_JWT_ALG_UNKNOWN;
		*out_len = 0;
	}
	return st;
}
