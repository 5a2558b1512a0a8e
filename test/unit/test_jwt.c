/*
 * test_jwt.c — compact JWS: RFC 7515 appendix A.1-A.3 and RFC 8037 A.4
 * vectors, every rejection class, JWK/JWKS/PEM import, and ES256/RS256 with
 * keys and signatures made at test time through OpenSSL.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "unit.h"
#include "core/encoding.h"
#include "core/jwt.h"

/* ---- RFC vectors (copied from the RFC text, nothing derived) ---- */

/* RFC 7515 A.1.1: header {"typ":"JWT",CRLF "alg":"HS256"}, the JWK "k", the JWS */
static const char a1_header[] = "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}";
static const char rfc_payload[] =
	"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
static const char a1_jwk[] =
	"{\"kty\":\"oct\",\n"
	" \"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow\"\n"
	"}";
static const char a1_token[] =
	"eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
	".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
	"cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
	".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/* RFC 7515 A.2.1: the RSA key's public members and the JWS */
static const char a2_n[] =
	"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx"
	"HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs"
	"D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH"
	"SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV"
	"MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8"
	"NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
static const char a2_token[] =
	"eyJhbGciOiJSUzI1NiJ9"
	".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
	"cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
	".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7"
	"AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4"
	"BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K"
	"0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv"
	"hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB"
	"p0igcN_IoypGlUPQGe77Rw";

/* RFC 7515 A.3.1: the P-256 key (x, y, d) and the JWS printed there */
static const char a3_x[] = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
static const char a3_y[] = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
static const char a3_d[] = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";
static const char a3_token[] =
	"eyJhbGciOiJFUzI1NiJ9"
	".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
	"cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
	".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA"
	"pmWQxfKTUJqPP3-Kg6NU1Q";

/* RFC 8037 A.1 (key), A.4 (header, payload, JWS) */
static const char ed_d[] = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
static const char ed_x[] = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
static const char ed_header[] = "{\"alg\":\"EdDSA\"}";
static const char ed_payload[] = "Example of Ed25519 signing";
static const char ed_token[] =
	"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
	".hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

/* ---- fixtures and helpers ---- */

#define KH "{\"alg\":\"HS256\",\"kid\":\"k1\"}"

static tg_jwt jwt;
static tg_jwt_claims cl;
static char tok[3 * TG_JWT_MAX_LEN];
static char tok2[2 * TG_JWT_MAX_LEN];
static char doc[32 * 1024];
static uint8_t hs_key[32];		/* 00 01 .. 1f */
static char hs_key_b64[64];

static void
fail_fixture(const char *what)
{
	fprintf(stderr, "test_jwt: fixture failed: %s\n", what);
	abort();
}

static size_t
b64d(const char *in, uint8_t *out, size_t cap)
{
	long		n = tg_b64url_decode(in, strlen(in), out, cap);

	if (n < 0)
		fail_fixture(in);
	return (size_t) n;
}

static void
b64e(const uint8_t *in, size_t n, char *out)
{
	tg_b64url_encode(in, n, out);
}

static tg_jwt_status
dec(const char *t)
{
	return tg_jwt_decode(t, strlen(t), &jwt);
}

/* header.payload (JSON text) signed HS256 with hs_key into tok; its length. */
static size_t
hs_token(const char *header, const char *payload)
{
	long		n = tg_jwt_sign(TG_JWT_ALG_HS256, hs_key, sizeof(hs_key), header, strlen(header),
								payload, strlen(payload), tok, sizeof(tok));

	if (n < 0)
		fail_fixture(header);
	return (size_t) n;
}

/* tg_jwt_sign with C-string header and payload into tok */
static long
sign_s(tg_jwt_alg alg, const uint8_t *m, size_t mlen, const char *header, const char *payload)
{
	return tg_jwt_sign(alg, m, mlen, header, strlen(header), payload, strlen(payload), tok, sizeof(tok));
}

static tg_jwt_status
dec_hs(const char *header, const char *payload)
{
	size_t		n = hs_token(header, payload);

	return tg_jwt_decode(tok, n, &jwt);
}

/* base64url(header) "." base64url(payload) "." sig (taken as text) into tok. */
static size_t
raw_token(const char *header, const char *payload, const char *sig)
{
	size_t		n;

	b64e((const uint8_t *) header, strlen(header), tok);
	n = strlen(tok);
	tok[n++] = '.';
	b64e((const uint8_t *) payload, strlen(payload), tok + n);
	n = strlen(tok);
	tok[n++] = '.';
	strcpy(tok + n, sig);
	return strlen(tok);
}

static tg_jwt_status
claims(const char *json)
{
	return tg_jwt_claims_parse(json, strlen(json), &cl);
}

/*
 * in with one bit of its decoded part (0 header, 1 payload, 2 signature)
 * flipped at byte i, re-encoded, into out.
 */
static void
flip(const char *in, int part, size_t i, uint8_t bit, char *out)
{
	const char *start[3],
			   *end[3];
	uint8_t		buf[TG_JWT_MAX_LEN];
	int			k;
	long		n;

	start[0] = in;
	end[0] = strchr(in, '.');
	start[1] = end[0] + 1;
	end[1] = strchr(start[1], '.');
	start[2] = end[1] + 1;
	end[2] = in + strlen(in);
	out[0] = '\0';
	for (k = 0; k < 3; k++)
	{
		size_t		o = strlen(out);

		if (k != part)
		{
			memcpy(out + o, start[k], (size_t) (end[k] - start[k]));
			out[o + (size_t) (end[k] - start[k])] = '\0';
		}
		else
		{
			n = tg_b64url_decode(start[k], (size_t) (end[k] - start[k]), buf, sizeof(buf));
			if (n < 0 || (size_t) n <= i)
				fail_fixture("flip");
			buf[i] ^= bit;
			b64e(buf, (size_t) n, out + o);
		}
		if (k < 2)
			strcat(out, ".");
	}
}

/*
 * The RFC's example tokens carry no "kid", which tg_jwt_decode requires:
 * fill the struct exactly as decode would from the token's parts, so that
 * the signature check itself runs on the RFC's bytes.
 */
static void
rfc_struct(const char *token, tg_jwt_alg alg)
{
	const char *dot1 = strchr(token, '.');
	const char *dot2 = strrchr(token, '.');
	long		n;

	memset(&jwt, 0, sizeof(jwt));
	jwt.alg = alg;
	jwt.signing_input_len = (size_t) (dot2 - token);
	memcpy(jwt.signing_input, token, jwt.signing_input_len);
	n = tg_b64url_decode(dot1 + 1, (size_t) (dot2 - dot1 - 1), (uint8_t *) jwt.payload,
						 sizeof(jwt.payload) - 1);
	if (n < 0)
		fail_fixture("rfc payload");
	jwt.payload_len = (size_t) n;
	n = tg_b64url_decode(dot2 + 1, strlen(dot2 + 1), jwt.sig, sizeof(jwt.sig));
	if (n < 0)
		fail_fixture("rfc signature");
	jwt.sig_len = (size_t) n;
}

/*
 * On the RFC struct in jwt, which verifies: one flipped bit of the
 * signature (at sig_byte) or of the signing input (at input_byte), and a
 * signature one byte short or long, each fail; restored, it verifies again.
 */
static void
check_tampering(tg_jwt_alg alg, const uint8_t *m, size_t mlen, size_t sig_byte, size_t input_byte)
{
	size_t		len = jwt.sig_len;

	CHECK(tg_jwt_verify(&jwt, alg, m, mlen) == TG_JWT_OK);
	jwt.sig[sig_byte] ^= 0x01;
	CHECK(tg_jwt_verify(&jwt, alg, m, mlen) == TG_JWT_BAD_SIGNATURE);
	jwt.sig[sig_byte] ^= 0x01;
	jwt.signing_input[input_byte] ^= 0x01;
	CHECK(tg_jwt_verify(&jwt, alg, m, mlen) == TG_JWT_BAD_SIGNATURE);
	jwt.signing_input[input_byte] ^= 0x01;
	jwt.sig_len = len - 1;
	CHECK(tg_jwt_verify(&jwt, alg, m, mlen) == TG_JWT_BAD_SIGNATURE);
	jwt.sig_len = len + 1;
	CHECK(tg_jwt_verify(&jwt, alg, m, mlen) == TG_JWT_BAD_SIGNATURE);
	jwt.sig_len = len;
	CHECK(tg_jwt_verify(&jwt, alg, m, mlen) == TG_JWT_OK);
}

/* ---- JWK callback log ---- */

typedef struct jwk_log
{
	int			n;
	int			stop_after;		/* 0: never stop */
	int			index[16];
	tg_jwt_status st[16];
	tg_jwk		key[8];
} jwk_log;

static jwk_log jl;

static bool
collect(void *arg, int index, tg_jwt_status st, const tg_jwk *key)
{
	jwk_log    *l = arg;

	if (l->n < 16)
	{
		l->index[l->n] = index;
		l->st[l->n] = st;
	}
	if (l->n < 8)
		l->key[l->n] = *key;
	l->n++;
	return l->stop_after == 0 || l->n < l->stop_after;
}

static tg_jwt_status
jwk(const char *json)
{
	memset(&jl, 0, sizeof(jl));
	return tg_jwk_parse(json, strlen(json), collect, &jl);
}

/* status of a single JWK document (one callback expected) */
static tg_jwt_status
jwk1(const char *json)
{
	tg_jwt_status st = jwk(json);

	if (st != TG_JWT_OK)
		return st;
	return jl.n == 1 && jl.index[0] == 0 ? jl.st[0] : TG_JWT_INTERNAL;
}

/* ---- OpenSSL helpers (test side) ---- */

static EVP_PKEY *rsa2048,
		   *rsa1024,
		   *p256,
		   *p384,
		   *ed25519_key,
		   *x25519_key;

static void
gen_keys(void)
{
	rsa2048 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
	rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 1024);
	p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	ed25519_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	x25519_key = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	if (!rsa2048 || !rsa1024 || !p256 || !p384 || !ed25519_key || !x25519_key)
		fail_fixture("keygen");
}

static void
free_keys(void)
{
	EVP_PKEY_free(rsa2048);
	EVP_PKEY_free(rsa1024);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(ed25519_key);
	EVP_PKEY_free(x25519_key);
}

static size_t
spki(EVP_PKEY *k, uint8_t *out)
{
	unsigned char *q = out;
	int			n = i2d_PUBKEY(k, &q);

	if (n <= 0)
		fail_fixture("i2d_PUBKEY");
	return (size_t) n;
}

static size_t
pem_of(EVP_PKEY *k, char *out, size_t cap)
{
	BIO		   *b = BIO_new(BIO_s_mem());
	char	   *p;
	long		n;

	if (b == NULL || PEM_write_bio_PUBKEY(b, k) != 1)
		fail_fixture("PEM_write_bio_PUBKEY");
	n = BIO_get_mem_data(b, &p);
	if (n <= 0 || (size_t) n >= cap)
		fail_fixture("pem size");
	memcpy(out, p, (size_t) n);
	out[n] = '\0';
	BIO_free(b);
	return (size_t) n;
}

/* base64url of a BIGNUM parameter, left-padded to pad bytes (0: minimal) */
static void
bn_b64(EVP_PKEY *k, const char *param, int pad, char *out)
{
	BIGNUM	   *bn = NULL;
	uint8_t		buf[1100];
	int			n;

	if (EVP_PKEY_get_bn_param(k, param, &bn) != 1)
		fail_fixture(param);
	n = pad ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
	if (n <= 0)
		fail_fixture("bn2bin");
	b64e(buf, (size_t) n, out);
	BN_free(bn);
}

/* SHA-256 signature of msg with k (DER for EC, as OpenSSL gives it). */
static size_t
evp_sign(EVP_PKEY *k, const char *msg, size_t mlen, uint8_t *sig, size_t cap)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t		n = cap;

	if (ctx == NULL ||
		EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, k, NULL) != 1 ||
		EVP_DigestSign(ctx, sig, &n, (const uint8_t *) msg, mlen) != 1)
		fail_fixture("EVP_DigestSign");
	EVP_MD_CTX_free(ctx);
	return n;
}

/* DER ECDSA-Sig-Value -> JOSE r || s, 32 bytes each */
static void
der_to_jose(const uint8_t *der, size_t len, uint8_t out[64])
{
	const unsigned char *p = der;
	ECDSA_SIG  *s = d2i_ECDSA_SIG(NULL, &p, (long) len);
	const BIGNUM *r,
			   *ss;

	if (s == NULL)
		fail_fixture("d2i_ECDSA_SIG");
	ECDSA_SIG_get0(s, &r, &ss);
	if (BN_bn2binpad(r, out, 32) != 32 || BN_bn2binpad(ss, out + 32, 32) != 32)
		fail_fixture("bn2binpad");
	ECDSA_SIG_free(s);
}

/* header.payload signed with an OpenSSL key (ES256 in JOSE form) into tok */
static size_t
evp_token(EVP_PKEY *k, bool ec, const char *header, const char *payload)
{
	uint8_t		sig[1024],
				jose[64];
	size_t		n,
				slen;

	raw_token(header, payload, "");
	n = strlen(tok) - 1;		/* without the final '.' */
	slen = evp_sign(k, tok, n, sig, sizeof(sig));
	if (ec)
	{
		der_to_jose(sig, slen, jose);
		memcpy(sig, jose, 64);
		slen = 64;
	}
	b64e(sig, slen, tok + n + 1);
	return strlen(tok);
}

/* ---- the tests ---- */

static void
jwt_names(void)
{
	int			s;

	CHECK(strcmp(tg_jwt_alg_name(TG_JWT_ALG_HS256), "HS256") == 0);
	CHECK(strcmp(tg_jwt_alg_name(TG_JWT_ALG_EDDSA), "EdDSA") == 0);
	CHECK(strcmp(tg_jwt_alg_name(TG_JWT_ALG_ES256), "ES256") == 0);
	CHECK(strcmp(tg_jwt_alg_name(TG_JWT_ALG_RS256), "RS256") == 0);
	CHECK(tg_jwt_alg_name(TG_JWT_ALG_UNKNOWN) == NULL);
	CHECK(tg_jwt_alg_parse("HS256", 5) == TG_JWT_ALG_HS256);
	CHECK(tg_jwt_alg_parse("EdDSA", 5) == TG_JWT_ALG_EDDSA);
	CHECK(tg_jwt_alg_parse("Ed25519", 7) == TG_JWT_ALG_EDDSA);
	CHECK(tg_jwt_alg_parse("ES256", 5) == TG_JWT_ALG_ES256);
	CHECK(tg_jwt_alg_parse("RS256", 5) == TG_JWT_ALG_RS256);
	CHECK(tg_jwt_alg_parse("hs256", 5) == TG_JWT_ALG_UNKNOWN);
	CHECK(tg_jwt_alg_parse("HS2567", 6) == TG_JWT_ALG_UNKNOWN);
	CHECK(tg_jwt_alg_parse("HS25", 4) == TG_JWT_ALG_UNKNOWN);
	CHECK(tg_jwt_alg_parse("HS256\0", 6) == TG_JWT_ALG_UNKNOWN);
	CHECK(tg_jwt_alg_parse("none", 4) == TG_JWT_ALG_UNKNOWN);
	CHECK(tg_jwt_alg_parse(NULL, 0) == TG_JWT_ALG_UNKNOWN);
	for (s = TG_JWT_OK; s <= TG_JWT_INTERNAL; s++)
		CHECK(tg_jwt_status_text((tg_jwt_status) s) != NULL &&
			  strcmp(tg_jwt_status_text((tg_jwt_status) s), "unknown status") != 0);
	CHECK(strcmp(tg_jwt_status_text((tg_jwt_status) 99), "unknown status") == 0);
}

/* RFC 7515 A.1 (HS256): the JWK, the exact token by signing, its verification */
static void
jwt_rfc7515_a1(void)
{
	uint8_t		key[64];
	size_t		klen = b64d("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
							key, sizeof(key));
	long		n;

	CHECK(jwk1(a1_jwk) == TG_JWT_OK);
	CHECK(jl.key[0].alg == TG_JWT_ALG_HS256 && jl.key[0].is_private);
	CHECK(jl.key[0].material_len == 64 && memcmp(jl.key[0].material, key, 64) == 0);
	CHECK(jl.key[0].kid[0] == '\0');

	/* signing the RFC's header and payload gives the RFC's token, byte for byte */
	n = tg_jwt_sign(TG_JWT_ALG_HS256, key, klen, a1_header, strlen(a1_header),
					rfc_payload, strlen(rfc_payload), tok, sizeof(tok));
	CHECK(n == (long) strlen(a1_token) && strcmp(tok, a1_token) == 0);

	/* the token has no kid: decode refuses it after accepting alg HS256 */
	CHECK(dec(a1_token) == TG_JWT_NO_KID);
	CHECK(jwt.alg == TG_JWT_ALG_UNKNOWN && jwt.sig_len == 0);	/* cleared on failure */
	rfc_struct(a1_token, TG_JWT_ALG_HS256);
	check_tampering(TG_JWT_ALG_HS256, key, klen, 31, 0);
	CHECK(claims(jwt.payload) == TG_JWT_OK && cl.has_iss && strcmp(cl.iss, "joe") == 0 &&
		  cl.has_exp && cl.exp == 1300819380 && !cl.has_sub && cl.n_aud == 0);
	key[0] ^= 1;
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_HS256, key, klen) == TG_JWT_BAD_SIGNATURE);
	key[0] ^= 1;
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_HS256, key, klen - 1) == TG_JWT_BAD_SIGNATURE);
	/* the same struct with the RFC's header plus a kid verifies after a real decode */
	n = sign_s(TG_JWT_ALG_HS256, key, klen, "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\",\"kid\":\"a1\"}", rfc_payload);
	CHECK(n > 0 && dec(tok) == TG_JWT_OK && strcmp(jwt.kid, "a1") == 0);
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_HS256, key, klen) == TG_JWT_OK);
}

/* RFC 7515 A.2 (RS256): the public JWK (n, e) and the exact token */
static void
jwt_rfc7515_a2(void)
{
	tg_jwk		key;

	snprintf(doc, sizeof(doc), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", a2_n);
	CHECK(jwk1(doc) == TG_JWT_OK);
	key = jl.key[0];
	CHECK(key.alg == TG_JWT_ALG_RS256 && !key.is_private);
	CHECK(tg_jwt_key_check(TG_JWT_ALG_RS256, key.material, key.material_len) == TG_JWT_OK);

	CHECK(dec(a2_token) == TG_JWT_NO_KID);
	rfc_struct(a2_token, TG_JWT_ALG_RS256);
	CHECK(jwt.sig_len == 256);
	check_tampering(TG_JWT_ALG_RS256, key.material, key.material_len, 100, 30);
	CHECK(claims(jwt.payload) == TG_JWT_OK && cl.exp == 1300819380);
	/* the key is RS256 only */
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_ES256, key.material, key.material_len) == TG_JWT_ALG_MISMATCH);
	CHECK(tg_jwt_key_check(TG_JWT_ALG_ES256, key.material, key.material_len) == TG_JWT_BAD_KEY);
	/* trailing bytes after the DER are refused */
	key.material[key.material_len] = 0;
	CHECK(tg_jwt_key_check(TG_JWT_ALG_RS256, key.material, key.material_len + 1) == TG_JWT_BAD_KEY);
	CHECK(tg_jwt_key_check(TG_JWT_ALG_RS256, key.material, key.material_len - 1) == TG_JWT_BAD_KEY);
}

/* RFC 7515 A.3 (ES256): the JWK (with d), the token printed there */
static void
jwt_rfc7515_a3(void)
{
	tg_jwk		key;

	snprintf(doc, sizeof(doc), "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"d\":\"%s\"}",
			 a3_x, a3_y, a3_d);
	CHECK(jwk1(doc) == TG_JWT_OK);
	key = jl.key[0];
	CHECK(key.alg == TG_JWT_ALG_ES256 && key.is_private);
	CHECK(key.material_len == 91);	/* DER SPKI of an uncompressed P-256 point */
	/* without d: the same public material */
	snprintf(doc, sizeof(doc), "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}", a3_x, a3_y);
	CHECK(jwk1(doc) == TG_JWT_OK && !jl.key[0].is_private &&
		  jl.key[0].material_len == key.material_len &&
		  memcmp(jl.key[0].material, key.material, key.material_len) == 0);

	CHECK(dec(a3_token) == TG_JWT_NO_KID);
	rfc_struct(a3_token, TG_JWT_ALG_ES256);
	CHECK(jwt.sig_len == 64);
	check_tampering(TG_JWT_ALG_ES256, key.material, key.material_len, 0, 5);	/* r */
	check_tampering(TG_JWT_ALG_ES256, key.material, key.material_len, 63, 70);	/* s */
	/* r = 0 and s = 0 */
	memset(jwt.sig, 0, 32);
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_ES256, key.material, key.material_len) == TG_JWT_BAD_SIGNATURE);
	memset(jwt.sig, 0, 64);
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_ES256, key.material, key.material_len) == TG_JWT_BAD_SIGNATURE);
}

/* RFC 8037 A.4 (Ed25519): signing gives the exact token; verification */
static void
jwt_rfc8037(void)
{
	uint8_t		seed[32],
				pk[32],
				pk2[32],
				sk[64],
				sig[64];
	long		n;

	b64d(ed_d, seed, sizeof(seed));
	b64d(ed_x, pk, sizeof(pk));
	CHECK(crypto_sign_seed_keypair(pk2, sk, seed) == 0 && memcmp(pk, pk2, 32) == 0);
	CHECK(tg_jwt_key_check(TG_JWT_ALG_EDDSA, pk, 32) == TG_JWT_OK);

	n = tg_jwt_sign(TG_JWT_ALG_EDDSA, seed, 32, ed_header, strlen(ed_header),
					ed_payload, strlen(ed_payload), tok, sizeof(tok));
	CHECK(n == (long) strlen(ed_token) && strcmp(tok, ed_token) == 0);

	/* no kid in the RFC's header */
	CHECK(dec(ed_token) == TG_JWT_NO_KID);
	rfc_struct(ed_token, TG_JWT_ALG_EDDSA);
	check_tampering(TG_JWT_ALG_EDDSA, pk, 32, 10, 0);

	/* with a kid: sign with the RFC's seed, decode, verify, and the signature is libsodium's */
	n = sign_s(TG_JWT_ALG_EDDSA, seed, 32, "{\"alg\":\"EdDSA\",\"kid\":\"rfc8037\"}", "{\"sub\":\"alice\"}");
	CHECK(n > 0 && dec(tok) == TG_JWT_OK);
	CHECK(jwt.alg == TG_JWT_ALG_EDDSA && strcmp(jwt.kid, "rfc8037") == 0 && jwt.sig_len == 64);
	CHECK(crypto_sign_detached(sig, NULL, (const uint8_t *) jwt.signing_input,
							   jwt.signing_input_len, sk) == 0);
	CHECK(memcmp(sig, jwt.sig, 64) == 0);
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_EDDSA, pk, 32) == TG_JWT_OK);
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_EDDSA, seed, 32) != TG_JWT_OK);	/* the seed is not the key */
	sodium_memzero(sk, sizeof(sk));

	/* the RFC's private JWK: only the public key is kept */
	snprintf(doc, sizeof(doc), "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"d\":\"%s\",\"x\":\"%s\"}", ed_d, ed_x);
	CHECK(jwk1(doc) == TG_JWT_OK && jl.key[0].alg == TG_JWT_ALG_EDDSA && jl.key[0].is_private &&
		  jl.key[0].material_len == 32 && memcmp(jl.key[0].material, pk, 32) == 0);
	snprintf(doc, sizeof(doc), "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"alg\":\"EdDSA\",\"kid\":\"e1\"}", ed_x);
	CHECK(jwk1(doc) == TG_JWT_OK && !jl.key[0].is_private && strcmp(jl.key[0].kid, "e1") == 0);
	snprintf(doc, sizeof(doc), "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"alg\":\"Ed25519\"}", ed_x);
	CHECK(jwk1(doc) == TG_JWT_OK && jl.key[0].alg == TG_JWT_ALG_EDDSA);
}

static void
jwt_decode_ok(void)
{
	size_t		n = hs_token(KH, "{\"sub\":\"alice\"}");

	CHECK(tg_jwt_decode(tok, n, &jwt) == TG_JWT_OK);
	CHECK(jwt.alg == TG_JWT_ALG_HS256 && strcmp(jwt.kid, "k1") == 0);
	CHECK(jwt.payload_len == 15 && strcmp(jwt.payload, "{\"sub\":\"alice\"}") == 0);
	CHECK(jwt.sig_len == 32);
	CHECK(jwt.signing_input_len == (size_t) (strrchr(tok, '.') - tok) &&
		  memcmp(jwt.signing_input, tok, jwt.signing_input_len) == 0 &&
		  jwt.signing_input[jwt.signing_input_len] == '\0');
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_HS256, hs_key, 32) == TG_JWT_OK);
	/* header members: typ a string, others ignored, escapes decoded */
	CHECK(dec_hs("{\"alg\":\"HS256\",\"kid\":\"k1\",\"typ\":\"JWT\",\"x\":{\"y\":[1,2]},\"jku\":\"https://evil\"}",
				 "{}") == TG_JWT_OK);
	CHECK(dec_hs("{\"alg\":\"HS\\u0032\\u00356\",\"\\u006bid\":\"k\\/1\"}", "{}") == TG_JWT_OK);
	CHECK(jwt.alg == TG_JWT_ALG_HS256 && strcmp(jwt.kid, "k/1") == 0);
	CHECK(dec_hs("{\"kid\":\"k1\",\"alg\":\"Ed25519\"}", "{}") == TG_JWT_OK && jwt.alg == TG_JWT_ALG_EDDSA);
	CHECK(dec_hs(" {\r\n\t\"alg\" : \"RS256\" , \"kid\" : \"k1\" } ", "{}") == TG_JWT_OK &&
		  jwt.alg == TG_JWT_ALG_RS256);
	/* the payload is not checked by decode (claims_parse does) */
	CHECK(dec_hs(KH, "not json") == TG_JWT_OK && claims(jwt.payload) == TG_JWT_BAD_CLAIMS);
	/* kid: 1..128 printable ASCII bytes */
	{
		char		h[300];
		char		kid[200];

		memset(kid, 'a', 128);
		kid[128] = '\0';
		snprintf(h, sizeof(h), "{\"alg\":\"HS256\",\"kid\":\"%s\"}", kid);
		CHECK(dec_hs(h, "{}") == TG_JWT_OK && strlen(jwt.kid) == 128);
		kid[128] = 'a';
		kid[129] = '\0';
		snprintf(h, sizeof(h), "{\"alg\":\"HS256\",\"kid\":\"%s\"}", kid);
		CHECK(dec_hs(h, "{}") == TG_JWT_NO_KID && jwt.kid[0] == '\0');
	}
	CHECK(dec_hs("{\"alg\":\"HS256\",\"kid\":\" ~\"}", "{}") == TG_JWT_OK);
}

static void
jwt_header_rejections(void)
{
	/* alg none, with and without a signature part */
	raw_token("{\"alg\":\"none\",\"kid\":\"k1\"}", "{\"sub\":\"admin\"}", "");
	CHECK(dec(tok) == TG_JWT_MALFORMED);
	raw_token("{\"alg\":\"none\",\"kid\":\"k1\"}", "{\"sub\":\"admin\"}", "AAAA");
	CHECK(dec(tok) == TG_JWT_ALG_NONE);
	raw_token("{\"alg\":\"none\"}", "{}", "AAAA");
	CHECK(dec(tok) == TG_JWT_ALG_NONE);
	CHECK(dec_hs("{\"alg\":\"n\\u006fne\",\"kid\":\"k1\"}", "{}") == TG_JWT_ALG_NONE);
	/* unsupported algorithms; case matters */
	CHECK(dec_hs("{\"alg\":\"HS512\",\"kid\":\"k1\"}", "{}") == TG_JWT_ALG_UNSUPPORTED);
	CHECK(dec_hs("{\"alg\":\"RS384\",\"kid\":\"k1\"}", "{}") == TG_JWT_ALG_UNSUPPORTED);
	CHECK(dec_hs("{\"alg\":\"PS256\",\"kid\":\"k1\"}", "{}") == TG_JWT_ALG_UNSUPPORTED);
	CHECK(dec_hs("{\"alg\":\"ES256K\",\"kid\":\"k1\"}", "{}") == TG_JWT_ALG_UNSUPPORTED);
	CHECK(dec_hs("{\"alg\":\"hs256\",\"kid\":\"k1\"}", "{}") == TG_JWT_ALG_UNSUPPORTED);
	CHECK(dec_hs("{\"alg\":\"None\",\"kid\":\"k1\"}", "{}") == TG_JWT_ALG_UNSUPPORTED);
	CHECK(dec_hs("{\"alg\":\"\",\"kid\":\"k1\"}", "{}") == TG_JWT_ALG_UNSUPPORTED);
	CHECK(dec_hs("{\"alg\":\"HS256\\u0000\",\"kid\":\"k1\"}", "{}") == TG_JWT_ALG_UNSUPPORTED);
	CHECK(dec_hs("{\"alg\":\"HS256 \",\"kid\":\"k1\"}", "{}") == TG_JWT_ALG_UNSUPPORTED);
	CHECK(dec_hs("{\"alg\":\"A-very-long-algorithm-name\",\"kid\":\"k1\"}", "{}") == TG_JWT_ALG_UNSUPPORTED);
	/* alg missing or mistyped */
	CHECK(dec_hs("{\"kid\":\"k1\"}", "{}") == TG_JWT_BAD_HEADER);
	CHECK(dec_hs("{\"alg\":256,\"kid\":\"k1\"}", "{}") == TG_JWT_BAD_HEADER);
	CHECK(dec_hs("{\"alg\":[\"HS256\"],\"kid\":\"k1\"}", "{}") == TG_JWT_BAD_HEADER);
	CHECK(dec_hs("{\"alg\":null,\"kid\":\"k1\"}", "{}") == TG_JWT_BAD_HEADER);
	/* kid missing, empty, overlong (above), not printable, mistyped */
	CHECK(dec_hs("{\"alg\":\"HS256\"}", "{}") == TG_JWT_NO_KID);
	CHECK(dec_hs("{\"alg\":\"HS256\",\"kid\":\"\"}", "{}") == TG_JWT_NO_KID);
	CHECK(dec_hs("{\"alg\":\"HS256\",\"kid\":\"k\\u0000\"}", "{}") == TG_JWT_NO_KID);
	CHECK(dec_hs("{\"alg\":\"HS256\",\"kid\":\"k\\n\"}", "{}") == TG_JWT_NO_KID);
	CHECK(dec_hs("{\"alg\":\"HS256\",\"kid\":\"k\x7f\"}", "{}") == TG_JWT_NO_KID);
	CHECK(dec_hs("{\"alg\":\"HS256\",\"kid\":\"k\xc3\xa9\"}", "{}") == TG_JWT_NO_KID);
	CHECK(dec_hs("{\"alg\":\"HS256\",\"kid\":7}", "{}") == TG_JWT_BAD_HEADER);
	CHECK(dec_hs("{\"alg\":\"HS256\",\"kid\":null}", "{}") == TG_JWT_BAD_HEADER);
	/* crit, typ mistyped */
	CHECK(dec_hs("{\"alg\":\"HS256\",\"kid\":\"k1\",\"crit\":[\"exp\"],\"exp\":1}", "{}") == TG_JWT_BAD_HEADER);
	CHECK(dec_hs("{\"alg\":\"HS256\",\"kid\":\"k1\",\"crit\":[]}", "{}") == TG_JWT_BAD_HEADER);
	CHECK(dec_hs("{\"alg\":\"HS256\",\"kid\":\"k1\",\"typ\":1}", "{}") == TG_JWT_BAD_HEADER);
	/* duplicate members, also after unescaping */
	CHECK(dec_hs("{\"alg\":\"HS256\",\"kid\":\"k1\",\"kid\":\"k2\"}", "{}") == TG_JWT_BAD_HEADER);
	CHECK(dec_hs("{\"alg\":\"HS256\",\"alg\":\"none\",\"kid\":\"k1\"}", "{}") == TG_JWT_BAD_HEADER);
	CHECK(dec_hs("{\"alg\":\"HS256\",\"kid\":\"k1\",\"\\u0061lg\":\"RS256\"}", "{}") == TG_JWT_BAD_HEADER);
	CHECK(dec_hs("{\"alg\":\"HS256\",\"kid\":\"k1\",\"x\":{\"a\":1,\"a\":1}}", "{}") == TG_JWT_BAD_HEADER);
	/* not an object, not JSON, bad UTF-8, trailing bytes */
	CHECK(dec_hs("[\"HS256\"]", "{}") == TG_JWT_BAD_HEADER);
	CHECK(dec_hs("\"HS256\"", "{}") == TG_JWT_BAD_HEADER);
	CHECK(dec_hs("{\"alg\":\"HS256\",\"kid\":\"k1\"", "{}") == TG_JWT_BAD_HEADER);
	CHECK(dec_hs("{\"alg\":\"HS256\",\"kid\":\"k1\"}x", "{}") == TG_JWT_BAD_HEADER);
	CHECK(dec_hs("{\"alg\":\"HS256\",\"kid\":\"k1\"}{}", "{}") == TG_JWT_BAD_HEADER);
	CHECK(dec_hs("{\"alg\":\"HS256\",\"kid\":\"k1\",\"x\":\"\xc0\xaf\"}", "{}") == TG_JWT_BAD_HEADER);
	CHECK(dec_hs("{\"alg\":\"HS256\",\"kid\":\"k1\",\"x\":\"\\udc00\"}", "{}") == TG_JWT_BAD_HEADER);
	CHECK(dec_hs("\xef\xbb\xbf{\"alg\":\"HS256\",\"kid\":\"k1\"}", "{}") == TG_JWT_BAD_HEADER);
	/* a failed decode leaves nothing behind */
	CHECK(jwt.alg == TG_JWT_ALG_UNKNOWN && jwt.kid[0] == '\0' && jwt.payload_len == 0 &&
		  jwt.signing_input_len == 0);
	/* nesting in the header: 16 levels accepted, 17 refused */
	{
		char		h[256];
		int			i;

		for (i = 16; i <= 17; i++)
		{
			int			k;

			strcpy(h, "{\"alg\":\"HS256\",\"kid\":\"k1\",\"x\":");
			for (k = 1; k < i; k++)
				strcat(h, "[");
			for (k = 1; k < i; k++)
				strcat(h, "]");
			strcat(h, "}");
			CHECK(dec_hs(h, "{}") == (i == 16 ? TG_JWT_OK : TG_JWT_BAD_HEADER));
		}
	}
}

static void
jwt_structure_rejections(void)
{
	size_t		n = hs_token(KH, "{\"sub\":\"alice\"}");
	char	   *dot2;
	int			i;

	strcpy(tok2, tok);
	dot2 = strrchr(tok2, '.');
	CHECK(dec(tok2) == TG_JWT_OK);

	/* two or four parts */
	*dot2 = '\0';
	CHECK(dec(tok2) == TG_JWT_MALFORMED);
	*dot2 = '.';
	snprintf(tok, sizeof(tok), "%s.%s", tok2, "AAAA");
	CHECK(dec(tok) == TG_JWT_MALFORMED);
	snprintf(tok, sizeof(tok), "%s.", tok2);
	CHECK(dec(tok) == TG_JWT_MALFORMED);
	CHECK(dec("abc") == TG_JWT_MALFORMED);
	CHECK(dec("") == TG_JWT_MALFORMED);
	CHECK(dec(".") == TG_JWT_MALFORMED);
	CHECK(dec("..") == TG_JWT_MALFORMED);
	CHECK(dec("...") == TG_JWT_MALFORMED);
	CHECK(tg_jwt_decode(NULL, 0, &jwt) == TG_JWT_MALFORMED);
	CHECK(tg_jwt_decode(tok2, strlen(tok2), NULL) == TG_JWT_INTERNAL);

	/* empty parts */
	snprintf(tok, sizeof(tok), ".%s", strchr(tok2, '.') + 1);
	CHECK(dec(tok) == TG_JWT_MALFORMED);
	snprintf(tok, sizeof(tok), "%.*s.%s", (int) (strchr(tok2, '.') - tok2), tok2, dot2);
	CHECK(dec(tok) == TG_JWT_MALFORMED);
	snprintf(tok, sizeof(tok), "%.*s", (int) (dot2 - tok2 + 1), tok2);
	CHECK(dec(tok) == TG_JWT_MALFORMED);

	/* padding, the standard alphabet, whitespace, non-canonical bits, trailing garbage */
	snprintf(tok, sizeof(tok), "%s=", tok2);
	CHECK(dec(tok) == TG_JWT_MALFORMED);
	snprintf(tok, sizeof(tok), "%s==", tok2);
	CHECK(dec(tok) == TG_JWT_MALFORMED);
	{
		const char *dot1 = strchr(tok2, '.');

		snprintf(tok, sizeof(tok), "%.*s=%s", (int) (dot1 - tok2), tok2, dot1);
		CHECK(dec(tok) == TG_JWT_MALFORMED);
	}
	for (i = 0; i < 4; i++)
	{
		static const char subst[] = "+/ \n";

		strcpy(tok, tok2);
		tok[n - 3] = subst[i];
		CHECK(dec(tok) == TG_JWT_MALFORMED);
		strcpy(tok, tok2);
		tok[5] = subst[i];
		CHECK(dec(tok) == TG_JWT_MALFORMED);
	}
	snprintf(tok, sizeof(tok), " %s", tok2);
	CHECK(dec(tok) == TG_JWT_MALFORMED);
	snprintf(tok, sizeof(tok), "%s\n", tok2);
	CHECK(dec(tok) == TG_JWT_MALFORMED);
	snprintf(tok, sizeof(tok), "%s\r\n", tok2);
	CHECK(dec(tok) == TG_JWT_MALFORMED);
	snprintf(tok, sizeof(tok), "%s!", tok2);
	CHECK(dec(tok) == TG_JWT_MALFORMED);
	snprintf(tok, sizeof(tok), "Bearer %s", tok2);
	CHECK(dec(tok) == TG_JWT_MALFORMED);
	strcpy(tok, tok2);
	CHECK(tg_jwt_decode(tok, n + 1, &jwt) == TG_JWT_MALFORMED);	/* the NUL counted */
	/* 43 characters carry 32 bytes and 2 unused bits, which must be zero: 'B' sets one */
	strcpy(tok, tok2);
	tok[n - 1] = 'B';
	CHECK(dec(tok) == TG_JWT_MALFORMED);
	/* appended base64url characters that still decode: the signature is then wrong */
	snprintf(tok, sizeof(tok), "%sAAA", tok2);
	CHECK(dec(tok) == TG_JWT_OK && jwt.sig_len == 34);
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_HS256, hs_key, 32) == TG_JWT_BAD_SIGNATURE);
	/* a signature longer than any supported algorithm's */
	{
		uint8_t		big[TG_JWT_SIG_MAX + 1];
		char		sig[2 * TG_JWT_SIG_MAX];

		memset(big, 7, sizeof(big));
		b64e(big, sizeof(big), sig);
		raw_token(KH, "{}", sig);
		CHECK(dec(tok) == TG_JWT_MALFORMED);
		b64e(big, TG_JWT_SIG_MAX, sig);
		raw_token(KH, "{}", sig);
		CHECK(dec(tok) == TG_JWT_OK && jwt.sig_len == TG_JWT_SIG_MAX);
	}
}

/* Tokens of exactly TG_JWT_MAX_LEN bytes decode; one more byte is TOO_LONG. */
static void
jwt_length_limit(void)
{
	static char payload[TG_JWT_MAX_LEN];
	size_t		fill,
				n = 0;
	int			kidlen;

	/* base64url lengths skip every 4k+1: vary the kid too to land on the limit */
	for (kidlen = 1; kidlen <= 4 && n != TG_JWT_MAX_LEN; kidlen++)
		for (fill = 6000; fill < 6200; fill++)
		{
			char		h[64];
			long		r;

			snprintf(h, sizeof(h), "{\"alg\":\"HS256\",\"kid\":\"%.*s\"}", kidlen, "kkkk");
			snprintf(payload, sizeof(payload), "{\"x\":\"%0*d\"}", (int) fill, 0);
			r = sign_s(TG_JWT_ALG_HS256, hs_key, 32, h, payload);
			if (r < 0)
				break;			/* longer than the limit from here on */
			n = (size_t) r;
			if (n == TG_JWT_MAX_LEN)
				break;
		}
	CHECK(n == TG_JWT_MAX_LEN);
	CHECK(tg_jwt_decode(tok, n, &jwt) == TG_JWT_OK);
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_HS256, hs_key, 32) == TG_JWT_OK);
	CHECK(claims(jwt.payload) == TG_JWT_OK);
	tok[n] = 'A';
	tok[n + 1] = '\0';
	CHECK(tg_jwt_decode(tok, n + 1, &jwt) == TG_JWT_TOO_LONG);
	CHECK(jwt.alg == TG_JWT_ALG_UNKNOWN);
	/* refused on length alone, whatever the bytes */
	memset(tok, '.', TG_JWT_MAX_LEN + 1);
	CHECK(tg_jwt_decode(tok, TG_JWT_MAX_LEN + 1, &jwt) == TG_JWT_TOO_LONG);
	CHECK(tg_jwt_decode(tok, (size_t) -1, &jwt) == TG_JWT_TOO_LONG);
	/* sign refuses to make what decode would refuse */
	snprintf(payload, sizeof(payload), "{\"x\":\"%0*d\"}", 6200, 0);
	CHECK(tg_jwt_sign(TG_JWT_ALG_HS256, hs_key, 32, KH, strlen(KH), payload, strlen(payload),
					  tok, sizeof(tok)) == -1);
	/* claims are limited the same way */
	memset(payload, ' ', sizeof(payload));
	payload[0] = '{';
	payload[TG_JWT_MAX_LEN - 1] = '}';
	CHECK(tg_jwt_claims_parse(payload, TG_JWT_MAX_LEN, &cl) == TG_JWT_OK);
	CHECK(tg_jwt_claims_parse(payload, TG_JWT_MAX_LEN + 1, &cl) == TG_JWT_TOO_LONG);
}

static void
jwt_claims(void)
{
	char		buf[1200];
	char		s[300];
	int			i;

	CHECK(claims("{\"tid\":\"acme\",\"sub\":\"alice\",\"role\":\"admin\",\"jti\":\"j-1\",\"iss\":\"https://idp\","
				 "\"aud\":\"api\",\"exp\":1700000000,\"nbf\":1600000000.5,\"iat\":-1.5,\"other\":{\"x\":[null,true]}}")
		  == TG_JWT_OK);
	CHECK(cl.has_tid && strcmp(cl.tid, "acme") == 0 && cl.has_sub && strcmp(cl.sub, "alice") == 0 &&
		  cl.has_role && strcmp(cl.role, "admin") == 0 && cl.has_jti && strcmp(cl.jti, "j-1") == 0 &&
		  cl.has_iss && strcmp(cl.iss, "https://idp") == 0);
	CHECK(cl.n_aud == 1 && strcmp(cl.aud[0], "api") == 0 && !cl.has_nonce);
	CHECK(cl.has_exp && cl.exp == 1700000000 && cl.has_nbf && cl.nbf == 1600000000 &&
		  cl.has_iat && cl.iat == -2);
	CHECK(claims("{\"nonce\":\"n-0S6_WzA2Mj\"}") == TG_JWT_OK && cl.has_nonce &&
		  strcmp(cl.nonce, "n-0S6_WzA2Mj") == 0);
	CHECK(claims("{\"nonce\":42}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"nonce\":\"a\",\"nonce\":\"a\"}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"nonce\":\"a\\u0000b\"}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"sub\":\"a\",\"iss\":\"b\",\"aud\":\"c\",\"exp\":1,\"tid\":\"d\",\"role\":\"e\",\"jti\":\"f\",\"nonce\":\"g\"}") == TG_JWT_OK);
	CHECK(claims("{}") == TG_JWT_OK && !cl.has_tid && !cl.has_sub && !cl.has_exp && cl.n_aud == 0);
	CHECK(claims(" {\"sub\":\"\"} \r\n") == TG_JWT_OK && cl.has_sub && cl.sub[0] == '\0');
	CHECK(claims("{\"sub\":\"caf\\u00e9 \\ud83d\\ude00\"}") == TG_JWT_OK &&
		  strcmp(cl.sub, "caf\xc3\xa9 \xf0\x9f\x98\x80") == 0);

	/* duplicate claim, duplicate nested member */
	CHECK(claims("{\"sub\":\"a\",\"sub\":\"b\"}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"sub\":\"a\",\"s\\u0075b\":\"b\"}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"exp\":1,\"exp\":2}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"x\":{\"a\":1,\"a\":2}}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"x\":[1,{\"y\":{\"a\":1,\"b\":2,\"a\":3}}]}") == TG_JWT_BAD_CLAIMS);
	/* a failed parse leaves nothing behind */
	CHECK(!cl.has_sub && cl.sub[0] == '\0');

	/* depth: 16 containers accepted, 17 refused (the top object counts) */
	for (i = 16; i <= 17; i++)
	{
		int			k;

		buf[0] = '\0';
		for (k = 0; k < i; k++)
			strcat(buf, "{\"a\":");
		strcat(buf, "1");
		for (k = 0; k < i; k++)
			strcat(buf, "}");
		CHECK(claims(buf) == (i == 16 ? TG_JWT_OK : TG_JWT_BAD_CLAIMS));
	}
	buf[0] = '{';
	buf[1] = '\0';
	strcat(buf, "\"a\":");
	for (i = 0; i < 16; i++)
		strcat(buf, "[");
	for (i = 0; i < 16; i++)
		strcat(buf, "]");
	strcat(buf, "}");
	CHECK(claims(buf) == TG_JWT_BAD_CLAIMS);	/* 1 + 16 */
	/* hostile nesting far beyond the limit: refused, no recursion */
	memset(buf, '[', 1100);
	buf[1100] = '\0';
	CHECK(claims(buf) == TG_JWT_BAD_CLAIMS);

	/* bad UTF-8, lone surrogates, NUL in a kept claim */
	CHECK(claims("{\"sub\":\"\xc0\xaf\"}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"sub\":\"\xed\xa0\x80\"}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"sub\":\"\xf8\x88\x80\x80\x80\"}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"x\":\"\xe2\x82\"}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"x\xff\":1}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"sub\":\"\\ud800\"}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"sub\":\"\\udfff\"}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"x\":\"a\\ud83d\"}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"sub\":\"a\\u0000b\"}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"tid\":\"\\u0000\"}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"aud\":[\"a\",\"\\u0000\"]}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"other\":\"a\\u0000b\"}") == TG_JWT_OK);	/* not a kept claim */
	CHECK(claims("{\"sub\":\"tab\there\"}") == TG_JWT_BAD_CLAIMS);

	/* numbers */
	CHECK(claims("{\"exp\":1e400}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"x\":1e400}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"exp\":-0}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"exp\":-0.0}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"exp\":01}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"exp\":1.}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"exp\":.5}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"exp\":+1}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"exp\":1e}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"exp\":NaN}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"exp\":Infinity}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"exp\":0x10}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"exp\":\"1700000000\"}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"exp\":true}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"exp\":null}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"nbf\":[1]}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"iat\":{}}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"exp\":9007199254740993}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"exp\":9007199254740992.5}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"exp\":-9007199254740993}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"exp\":1e16}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"exp\":9007199254740992}") == TG_JWT_OK && cl.exp == ((int64_t) 1 << 53));
	CHECK(claims("{\"exp\":-9007199254740992}") == TG_JWT_OK && cl.exp == -((int64_t) 1 << 53));
	CHECK(claims("{\"exp\":1.7e9,\"nbf\":0,\"iat\":-0.25}") == TG_JWT_OK &&
		  cl.exp == 1700000000 && cl.nbf == 0 && cl.iat == -1);
	CHECK(claims("{\"x\":-0}") == TG_JWT_OK);	/* valid JSON where no date is read */

	/* aud: a string or 1..8 strings */
	CHECK(claims("{\"aud\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\"]}") == TG_JWT_OK &&
		  cl.n_aud == 8 && strcmp(cl.aud[7], "h") == 0);
	CHECK(claims("{\"aud\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]}") == TG_JWT_BAD_CLAIMS);
	CHECK(cl.n_aud == 0);
	CHECK(claims("{\"aud\":[]}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"aud\":[\"a\",1]}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"aud\":[[\"a\"]]}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"aud\":1}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"aud\":null}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"aud\":{\"a\":\"b\"}}") == TG_JWT_BAD_CLAIMS);

	/* string claims: at most TG_JWT_CLAIM_MAX bytes, strings only */
	memset(s, 'x', TG_JWT_CLAIM_MAX);
	s[TG_JWT_CLAIM_MAX] = '\0';
	snprintf(buf, sizeof(buf), "{\"sub\":\"%s\",\"aud\":[\"%s\"]}", s, s);
	CHECK(claims(buf) == TG_JWT_OK && strlen(cl.sub) == TG_JWT_CLAIM_MAX && strlen(cl.aud[0]) == TG_JWT_CLAIM_MAX);
	s[TG_JWT_CLAIM_MAX] = 'x';
	s[TG_JWT_CLAIM_MAX + 1] = '\0';
	snprintf(buf, sizeof(buf), "{\"sub\":\"%s\"}", s);
	CHECK(claims(buf) == TG_JWT_BAD_CLAIMS);
	snprintf(buf, sizeof(buf), "{\"aud\":\"%s\"}", s);
	CHECK(claims(buf) == TG_JWT_BAD_CLAIMS);
	snprintf(buf, sizeof(buf), "{\"other\":\"%s\"}", s);
	CHECK(claims(buf) == TG_JWT_OK);
	/* 255 bytes as escapes: the decoded length counts */
	buf[0] = '\0';
	strcat(buf, "{\"iss\":\"");
	for (i = 0; i < 85; i++)
		strcat(buf, "\\u20ac");	/* 3 bytes each: 255 */
	strcat(buf, "\"}");
	CHECK(claims(buf) == TG_JWT_OK && strlen(cl.iss) == 255);
	CHECK(claims("{\"sub\":1}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"tid\":null}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"role\":[\"admin\"]}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"jti\":true}") == TG_JWT_BAD_CLAIMS);

	/* not one object */
	CHECK(claims("") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("[]") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("\"sub\"") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{} x") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{}{}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("{\"sub\":\"a\",}") == TG_JWT_BAD_CLAIMS);
	CHECK(claims("\xef\xbb\xbf{}") == TG_JWT_BAD_CLAIMS);
	CHECK(tg_jwt_claims_parse("{}\0", 3, &cl) == TG_JWT_BAD_CLAIMS);
	CHECK(tg_jwt_claims_parse(NULL, 0, &cl) == TG_JWT_BAD_CLAIMS);
	CHECK(tg_jwt_claims_parse("{}", 2, NULL) == TG_JWT_INTERNAL);
}

static void
jwt_sign_verify(void)
{
	uint8_t		seed[32],
				pk[32],
				sk[64];
	uint8_t		short_key[31];
	long		n;
	size_t		i;
	const char *payload = "{\"tid\":\"acme\",\"sub\":\"alice\",\"exp\":1700000000}";

	/* HS256 round trip */
	n = tg_jwt_sign(TG_JWT_ALG_HS256, hs_key, 32, KH, strlen(KH), payload, strlen(payload), tok, sizeof(tok));
	CHECK(n > 0 && (size_t) n == strlen(tok));
	CHECK(dec(tok) == TG_JWT_OK && tg_jwt_verify(&jwt, TG_JWT_ALG_HS256, hs_key, 32) == TG_JWT_OK);
	CHECK(claims(jwt.payload) == TG_JWT_OK && strcmp(cl.tid, "acme") == 0 && cl.exp == 1700000000);
	/* output capacity: exactly the token and its NUL */
	CHECK(tg_jwt_sign(TG_JWT_ALG_HS256, hs_key, 32, KH, strlen(KH), payload, strlen(payload),
					  tok2, (size_t) n + 1) == n && strcmp(tok, tok2) == 0);
	for (i = 0; i <= (size_t) n; i += 7)
		CHECK(tg_jwt_sign(TG_JWT_ALG_HS256, hs_key, 32, KH, strlen(KH), payload, strlen(payload),
						  tok2, i) == -1);
	CHECK(tg_jwt_sign(TG_JWT_ALG_HS256, hs_key, 32, KH, strlen(KH), payload, strlen(payload),
					  tok2, (size_t) n) == -1);
	/* a longer key is a different key; HS256 needs at least 32 bytes */
	memset(short_key, 1, sizeof(short_key));
	CHECK(tg_jwt_sign(TG_JWT_ALG_HS256, short_key, 31, KH, strlen(KH), "{}", 2, tok2, sizeof(tok2)) == -1);
	CHECK(tg_jwt_key_check(TG_JWT_ALG_HS256, short_key, 31) == TG_JWT_BAD_KEY);
	CHECK(tg_jwt_key_check(TG_JWT_ALG_HS256, hs_key, 32) == TG_JWT_OK);
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_HS256, short_key, 31) == TG_JWT_BAD_KEY);
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_HS256, NULL, 32) == TG_JWT_BAD_KEY);
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_HS256, hs_key, 0) == TG_JWT_BAD_KEY);
	CHECK(tg_jwt_verify(NULL, TG_JWT_ALG_HS256, hs_key, 32) == TG_JWT_INTERNAL);

	/* EdDSA round trip */
	for (i = 0; i < 32; i++)
		seed[i] = (uint8_t) (0xa0 + i);
	CHECK(crypto_sign_seed_keypair(pk, sk, seed) == 0);
	sodium_memzero(sk, sizeof(sk));
	n = sign_s(TG_JWT_ALG_EDDSA, seed, 32, "{\"alg\":\"EdDSA\",\"kid\":\"e1\"}", payload);
	CHECK(n > 0 && dec(tok) == TG_JWT_OK && jwt.alg == TG_JWT_ALG_EDDSA);
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_EDDSA, pk, 32) == TG_JWT_OK);
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_EDDSA, pk, 31) == TG_JWT_BAD_KEY);
	CHECK(tg_jwt_sign(TG_JWT_ALG_EDDSA, seed, 31, KH, strlen(KH), "{}", 2, tok2, sizeof(tok2)) == -1);
	CHECK(tg_jwt_sign(TG_JWT_ALG_EDDSA, seed, 64, KH, strlen(KH), "{}", 2, tok2, sizeof(tok2)) == -1);
	/* only HS256 and EdDSA sign */
	CHECK(tg_jwt_sign(TG_JWT_ALG_ES256, seed, 32, KH, strlen(KH), "{}", 2, tok2, sizeof(tok2)) == -1);
	CHECK(tg_jwt_sign(TG_JWT_ALG_RS256, seed, 32, KH, strlen(KH), "{}", 2, tok2, sizeof(tok2)) == -1);
	CHECK(tg_jwt_sign(TG_JWT_ALG_UNKNOWN, seed, 32, KH, strlen(KH), "{}", 2, tok2, sizeof(tok2)) == -1);
	CHECK(tg_jwt_sign(TG_JWT_ALG_HS256, hs_key, 32, NULL, 0, "{}", 2, tok2, sizeof(tok2)) == -1);

	/* alg mismatch, both ways, before any cryptography */
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_HS256, pk, 32) == TG_JWT_ALG_MISMATCH);
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_HS256, hs_key, 32) == TG_JWT_ALG_MISMATCH);
	CHECK(dec_hs(KH, payload) == TG_JWT_OK);
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_EDDSA, pk, 32) == TG_JWT_ALG_MISMATCH);
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_UNKNOWN, hs_key, 32) == TG_JWT_ALG_MISMATCH);
	memset(&jwt, 0, sizeof(jwt));
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_UNKNOWN, hs_key, 32) == TG_JWT_ALG_UNSUPPORTED);
	jwt.alg = (tg_jwt_alg) 77;
	CHECK(tg_jwt_verify(&jwt, (tg_jwt_alg) 77, hs_key, 32) == TG_JWT_ALG_UNSUPPORTED);
}

/* One flipped bit in each part breaks the signature, for every algorithm. */
static void
check_flips(tg_jwt_alg alg, const uint8_t *material, size_t len, const char *what)
{
	/* the header's last byte is '}', so flip a byte inside the kid: `"kid":"k1"}` */
	size_t		hbyte = strchr(KH, '1') - KH;
	int			part;

	strcpy(tok2, tok);
	CHECK(dec(tok2) == TG_JWT_OK && tg_jwt_verify(&jwt, alg, material, len) == TG_JWT_OK);
	for (part = 0; part < 3; part++)
	{
		flip(tok2, part, part == 0 ? hbyte : part == 1 ? 9 : 3, part == 0 ? 0x02 : 0x01, tok);
		if (dec(tok) != TG_JWT_OK || tg_jwt_verify(&jwt, alg, material, len) != TG_JWT_BAD_SIGNATURE)
		{
			fprintf(stderr, "FAIL flip %s part %d\n", what, part);
			unit_failed++;
		}
		else
			unit_passed++;
	}
}

static void
jwt_flipped_bits(void)
{
	uint8_t		seed[32],
				pk[32],
				sk[64],
				der[TG_JWT_KEY_MAX];
	size_t		dlen;
	const char *payload = "{\"sub\":\"alice\"}";	/* byte 9 is 'l' */

	hs_token(KH, payload);
	check_flips(TG_JWT_ALG_HS256, hs_key, 32, "HS256");

	memset(seed, 0x42, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(sk, sizeof(sk));
	sign_s(TG_JWT_ALG_EDDSA, seed, 32, "{\"alg\":\"EdDSA\",\"kid\":\"k1\"}", payload);
	check_flips(TG_JWT_ALG_EDDSA, pk, 32, "EdDSA");

	dlen = spki(p256, der);
	evp_token(p256, true, "{\"alg\":\"ES256\",\"kid\":\"k1\"}", payload);
	check_flips(TG_JWT_ALG_ES256, der, dlen, "ES256");

	dlen = spki(rsa2048, der);
	evp_token(rsa2048, false, "{\"alg\":\"RS256\",\"kid\":\"k1\"}", payload);
	check_flips(TG_JWT_ALG_RS256, der, dlen, "RS256");
}

/* The classic confusion: an RS256 public key used as an HMAC secret must not verify. */
static void
jwt_confusion(void)
{
	uint8_t		der[TG_JWT_KEY_MAX];
	char		pem[4096];
	size_t		dlen = spki(rsa2048, der),
				plen = pem_of(rsa2048, pem, sizeof(pem));
	long		n;

	/* the attacker signs HS256 with the server's public key (DER, then PEM text) */
	n = sign_s(TG_JWT_ALG_HS256, der, dlen, KH, "{\"sub\":\"admin\"}");
	CHECK(n > 0 && dec(tok) == TG_JWT_OK && jwt.alg == TG_JWT_ALG_HS256);
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_RS256, der, dlen) == TG_JWT_ALG_MISMATCH);
	/* (the same bytes as an HMAC key would verify: the pin is what stops it) */
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_HS256, der, dlen) == TG_JWT_OK);
	n = sign_s(TG_JWT_ALG_HS256, (const uint8_t *) pem, plen, KH, "{\"sub\":\"admin\"}");
	CHECK(n > 0 && dec(tok) == TG_JWT_OK);
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_RS256, der, dlen) == TG_JWT_ALG_MISMATCH);
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_RS256, (const uint8_t *) pem, plen) == TG_JWT_ALG_MISMATCH);
	/* an RS256 token against an HS256 key, an ES256 token against an RS256 key */
	evp_token(rsa2048, false, "{\"alg\":\"RS256\",\"kid\":\"k1\"}", "{}");
	CHECK(dec(tok) == TG_JWT_OK && tg_jwt_verify(&jwt, TG_JWT_ALG_HS256, hs_key, 32) == TG_JWT_ALG_MISMATCH);
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_RS256, der, dlen) == TG_JWT_OK);
	evp_token(p256, true, "{\"alg\":\"ES256\",\"kid\":\"k1\"}", "{}");
	CHECK(dec(tok) == TG_JWT_OK && tg_jwt_verify(&jwt, TG_JWT_ALG_RS256, der, dlen) == TG_JWT_ALG_MISMATCH);
	/* the right algorithm with the wrong kind of material is a bad key */
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_ES256, der, dlen) == TG_JWT_BAD_KEY);
}

/* ES256 and RS256 with keys and signatures made by OpenSSL at test time. */
static void
jwt_openssl_generated(void)
{
	uint8_t		der[TG_JWT_KEY_MAX],
				sig[1024];
	char		x[64],
				y[64],
				nb[1400],
				eb[16];
	size_t		dlen,
				slen,
				n;
	int			i;

	/* ES256: several signatures (r or s with the high bit set need DER padding) */
	dlen = spki(p256, der);
	CHECK(tg_jwt_key_check(TG_JWT_ALG_ES256, der, dlen) == TG_JWT_OK);
	for (i = 0; i < 8; i++)
	{
		char		payload[64];

		snprintf(payload, sizeof(payload), "{\"sub\":\"user-%d\",\"exp\":%d}", i, 1700000000 + i);
		evp_token(p256, true, "{\"alg\":\"ES256\",\"kid\":\"ec\"}", payload);
		CHECK(dec(tok) == TG_JWT_OK && jwt.sig_len == 64);
		CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_ES256, der, dlen) == TG_JWT_OK);
	}
	/* the DER form OpenSSL produces is not a JOSE signature */
	raw_token("{\"alg\":\"ES256\",\"kid\":\"ec\"}", "{}", "");
	n = strlen(tok) - 1;
	slen = evp_sign(p256, tok, n, sig, sizeof(sig));
	b64e(sig, slen, tok + n + 1);
	CHECK(dec(tok) == TG_JWT_OK && jwt.sig_len == slen);
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_ES256, der, dlen) == TG_JWT_BAD_SIGNATURE);
	/* the same key from its JWK gives the same material */
	bn_b64(p256, OSSL_PKEY_PARAM_EC_PUB_X, 32, x);
	bn_b64(p256, OSSL_PKEY_PARAM_EC_PUB_Y, 32, y);
	snprintf(doc, sizeof(doc), "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"use\":\"sig\",\"alg\":\"ES256\"}", x, y);
	CHECK(jwk1(doc) == TG_JWT_OK && jl.key[0].material_len == dlen &&
		  memcmp(jl.key[0].material, der, dlen) == 0);
	/* y flipped: not on the curve */
	y[10] = y[10] == 'A' ? 'B' : 'A';
	snprintf(doc, sizeof(doc), "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
	CHECK(jwk1(doc) == TG_JWT_BAD_KEY);
	/* a coordinate of 31 bytes */
	snprintf(doc, sizeof(doc), "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%.42s\"}", x, a3_y);
	CHECK(jwk1(doc) == TG_JWT_BAD_KEY);

	/* RS256 */
	dlen = spki(rsa2048, der);
	CHECK(tg_jwt_key_check(TG_JWT_ALG_RS256, der, dlen) == TG_JWT_OK);
	for (i = 0; i < 3; i++)
	{
		evp_token(rsa2048, false, "{\"alg\":\"RS256\",\"kid\":\"rsa\"}", i ? "{\"n\":1}" : "{}");
		CHECK(dec(tok) == TG_JWT_OK && jwt.sig_len == 256);
		CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_RS256, der, dlen) == TG_JWT_OK);
	}
	bn_b64(rsa2048, OSSL_PKEY_PARAM_RSA_N, 0, nb);
	bn_b64(rsa2048, OSSL_PKEY_PARAM_RSA_E, 0, eb);
	snprintf(doc, sizeof(doc), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\",\"kid\":\"rsa\"}", nb, eb);
	CHECK(jwk1(doc) == TG_JWT_OK && jl.key[0].material_len == dlen &&
		  memcmp(jl.key[0].material, der, dlen) == 0 && strcmp(jl.key[0].kid, "rsa") == 0);
	/* another 2048-bit key (the RFC's) does not verify it */
	snprintf(doc, sizeof(doc), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", a2_n);
	CHECK(jwk1(doc) == TG_JWT_OK);
	CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_RS256, jl.key[0].material, jl.key[0].material_len) ==
		  TG_JWT_BAD_SIGNATURE);
}

static void
jwt_key_material(void)
{
	uint8_t		k[64],
				der[TG_JWT_KEY_MAX];
	char		nb[1400],
				eb[16],
				pem[4096];
	size_t		dlen,
				i;
	tg_jwt_alg	alg;
	size_t		olen;

	/* Ed25519: identity, small-order, non-canonical points refused */
	memset(k, 0, 32);
	CHECK(tg_jwt_key_check(TG_JWT_ALG_EDDSA, k, 32) == TG_JWT_BAD_KEY);	/* y = 0: order 4 */
	k[0] = 1;
	CHECK(tg_jwt_key_check(TG_JWT_ALG_EDDSA, k, 32) == TG_JWT_BAD_KEY);	/* identity */
	memset(k, 0xff, 32);
	k[0] = 0xec;
	k[31] = 0x7f;
	CHECK(tg_jwt_key_check(TG_JWT_ALG_EDDSA, k, 32) == TG_JWT_BAD_KEY);	/* y = -1: order 2 */
	k[0] = 0xed;
	CHECK(tg_jwt_key_check(TG_JWT_ALG_EDDSA, k, 32) == TG_JWT_BAD_KEY);	/* y = p: not canonical */
	b64d(ed_x, k, 32);
	CHECK(tg_jwt_key_check(TG_JWT_ALG_EDDSA, k, 32) == TG_JWT_OK);
	CHECK(tg_jwt_key_check(TG_JWT_ALG_EDDSA, k, 33) == TG_JWT_BAD_KEY);
	CHECK(tg_jwt_key_check(TG_JWT_ALG_EDDSA, NULL, 32) == TG_JWT_BAD_KEY);
	CHECK(tg_jwt_key_check(TG_JWT_ALG_UNKNOWN, k, 32) == TG_JWT_ALG_UNSUPPORTED);
	/*
	 * and a token under the identity key (a small-order point) does not
	 * verify: verification checks only the length (the point check is the
	 * import's), libsodium refuses small-order keys itself
	 */
	{
		uint8_t		zero[32] = {0};

		CHECK(dec_hs("{\"alg\":\"EdDSA\",\"kid\":\"k1\"}", "{}") == TG_JWT_OK);
		zero[0] = 1;
		CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_EDDSA, zero, 32) == TG_JWT_BAD_SIGNATURE);
		CHECK(tg_jwt_verify(&jwt, TG_JWT_ALG_EDDSA, zero, 31) == TG_JWT_BAD_KEY);
	}

	/* RSA: 1024 bits refused as DER, PEM and JWK */
	dlen = spki(rsa1024, der);
	CHECK(tg_jwt_key_check(TG_JWT_ALG_RS256, der, dlen) == TG_JWT_BAD_KEY);
	pem_of(rsa1024, pem, sizeof(pem));
	CHECK(tg_jwt_pem_parse(pem, strlen(pem), &alg, der, sizeof(der), &olen) == TG_JWT_BAD_KEY);
	CHECK(alg == TG_JWT_ALG_UNKNOWN && olen == 0);
	bn_b64(rsa1024, OSSL_PKEY_PARAM_RSA_N, 0, nb);
	bn_b64(rsa1024, OSSL_PKEY_PARAM_RSA_E, 0, eb);
	snprintf(doc, sizeof(doc), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"}", nb, eb);
	CHECK(jwk1(doc) == TG_JWT_BAD_KEY && jl.key[0].material_len == 0);

	/* RSA exponents: e = 1 makes every message its own signature; even e; e >= n */
	snprintf(doc, sizeof(doc), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQ\"}", a2_n);
	CHECK(jwk1(doc) == TG_JWT_BAD_KEY);
	snprintf(doc, sizeof(doc), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAA\"}", a2_n);
	CHECK(jwk1(doc) == TG_JWT_BAD_KEY);
	snprintf(doc, sizeof(doc), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"\"}", a2_n);
	CHECK(jwk1(doc) == TG_JWT_BAD_KEY);
	snprintf(doc, sizeof(doc), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB=\"}", a2_n);
	CHECK(jwk1(doc) == TG_JWT_BAD_KEY);
	snprintf(doc, sizeof(doc), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AwAAAAAAAAAAAQ\"}", a2_n);	/* 73 bits */
	CHECK(jwk1(doc) == TG_JWT_BAD_KEY);
	snprintf(doc, sizeof(doc), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"Aw\"}", a2_n);	/* e = 3 */
	CHECK(jwk1(doc) == TG_JWT_OK);
	/* an e = 1 key built directly as DER is refused too */
	{
		OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
		OSSL_PARAM *params;
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
		EVP_PKEY   *pk = NULL;
		uint8_t		nbin[256];
		BIGNUM	   *n = BN_bin2bn(nbin, (int) b64d(a2_n, nbin, sizeof(nbin)), NULL);
		BIGNUM	   *e = BN_new();

		BN_set_word(e, 1);
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
		params = OSSL_PARAM_BLD_to_param(bld);
		CHECK(EVP_PKEY_fromdata_init(ctx) == 1 &&
			  EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) == 1);
		if (pk != NULL)
		{
			dlen = spki(pk, der);
			CHECK(tg_jwt_key_check(TG_JWT_ALG_RS256, der, dlen) == TG_JWT_BAD_KEY);
			EVP_PKEY_free(pk);
		}
		EVP_PKEY_CTX_free(ctx);
		OSSL_PARAM_free(params);
		OSSL_PARAM_BLD_free(bld);
		BN_free(n);
		BN_free(e);
	}
	/* the RFC's modulus without its first 3 bytes: an odd number of at most 2024 bits */
	snprintf(doc, sizeof(doc), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", a2_n + 4);
	CHECK(jwk1(doc) == TG_JWT_BAD_KEY);

	/* EC: P-384 is another curve */
	dlen = spki(p384, der);
	CHECK(tg_jwt_key_check(TG_JWT_ALG_ES256, der, dlen) == TG_JWT_BAD_KEY);
	pem_of(p384, pem, sizeof(pem));
	CHECK(tg_jwt_pem_parse(pem, strlen(pem), &alg, der, sizeof(der), &olen) == TG_JWT_BAD_KEY);
	{
		char		x[80],
					y[80];

		bn_b64(p384, OSSL_PKEY_PARAM_EC_PUB_X, 48, x);
		bn_b64(p384, OSSL_PKEY_PARAM_EC_PUB_Y, 48, y);
		snprintf(doc, sizeof(doc), "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
		CHECK(jwk1(doc) == TG_JWT_ALG_UNSUPPORTED);
		/* P-384 coordinates claimed as P-256 */
		snprintf(doc, sizeof(doc), "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
		CHECK(jwk1(doc) == TG_JWT_BAD_KEY);
	}
	/* P-256 written with explicit curve parameters instead of the named curve */
	{
		EVP_PKEY   *expl = EVP_PKEY_dup(p256);
		BIO		   *b = BIO_new(BIO_s_mem());
		char	   *p = NULL;
		long		pl = 0;

		CHECK(expl != NULL && b != NULL &&
			  EVP_PKEY_set_utf8_string_param(expl, OSSL_PKEY_PARAM_EC_ENCODING,
											 OSSL_PKEY_EC_ENCODING_EXPLICIT) == 1);
		dlen = spki(expl, der);
		CHECK(dlen > 200);		/* the parameters are in it */
		CHECK(tg_jwt_key_check(TG_JWT_ALG_ES256, der, dlen) == TG_JWT_BAD_KEY);
		CHECK(PEM_write_bio_PUBKEY(b, expl) == 1 && (pl = BIO_get_mem_data(b, &p)) > 0);
		CHECK(tg_jwt_pem_parse(p, (size_t) pl, &alg, der, sizeof(der), &olen) == TG_JWT_BAD_KEY);
		BIO_free(b);
		EVP_PKEY_free(expl);
	}
	/* an Ed25519 or X25519 SPKI is no ES256/RS256 material */
	dlen = spki(ed25519_key, der);
	CHECK(tg_jwt_key_check(TG_JWT_ALG_ES256, der, dlen) == TG_JWT_BAD_KEY);
	CHECK(tg_jwt_key_check(TG_JWT_ALG_RS256, der, dlen) == TG_JWT_BAD_KEY);
	CHECK(tg_jwt_key_check(TG_JWT_ALG_RS256, der, 0) == TG_JWT_BAD_KEY);
	for (i = 0; i < 64; i++)
		k[i] = (uint8_t) i;
	CHECK(tg_jwt_key_check(TG_JWT_ALG_RS256, k, 64) == TG_JWT_BAD_KEY);
	CHECK(tg_jwt_key_check(TG_JWT_ALG_HS256, k, TG_JWT_KEY_MAX + 1) == TG_JWT_BAD_KEY);
}

static void
jwt_jwk_documents(void)
{
	char		k31[64];
	uint8_t		b31[31];

	memset(b31, 9, sizeof(b31));
	b64e(b31, sizeof(b31), k31);

	/* oct: 32 bytes at least */
	snprintf(doc, sizeof(doc), "{\"kty\":\"oct\",\"k\":\"%s\",\"kid\":\"h1\",\"alg\":\"HS256\",\"use\":\"sig\"}", hs_key_b64);
	CHECK(jwk1(doc) == TG_JWT_OK && jl.key[0].material_len == 32 &&
		  memcmp(jl.key[0].material, hs_key, 32) == 0 && strcmp(jl.key[0].kid, "h1") == 0);
	snprintf(doc, sizeof(doc), "{\"kty\":\"oct\",\"k\":\"%s\"}", k31);
	CHECK(jwk1(doc) == TG_JWT_BAD_KEY && jl.key[0].material_len == 0 &&
		  unit_all_bytes(jl.key[0].material, sizeof(jl.key[0].material), 0));
	CHECK(jwk1("{\"kty\":\"oct\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow==\"}")
		  == TG_JWT_BAD_KEY);
	CHECK(jwk1("{\"kty\":\"oct\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ+EstJQLr/T+1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow\"}")
		  == TG_JWT_BAD_KEY);
	CHECK(jwk1("{\"kty\":\"oct\"}") == TG_JWT_BAD_JWK);
	CHECK(jwk1("{\"kty\":\"oct\",\"k\":32}") == TG_JWT_BAD_JWK);

	/* "use" other than "sig", "key_ops" without "verify" */
	snprintf(doc, sizeof(doc), "{\"kty\":\"oct\",\"k\":\"%s\",\"use\":\"enc\",\"kid\":\"u\"}", hs_key_b64);
	CHECK(jwk1(doc) == TG_JWT_BAD_JWK && strcmp(jl.key[0].kid, "u") == 0 && jl.key[0].material_len == 0);
	snprintf(doc, sizeof(doc), "{\"kty\":\"oct\",\"k\":\"%s\",\"use\":1}", hs_key_b64);
	CHECK(jwk1(doc) == TG_JWT_BAD_JWK);
	snprintf(doc, sizeof(doc), "{\"kty\":\"oct\",\"k\":\"%s\",\"key_ops\":[\"encrypt\"]}", hs_key_b64);
	CHECK(jwk1(doc) == TG_JWT_BAD_JWK);
	snprintf(doc, sizeof(doc), "{\"kty\":\"oct\",\"k\":\"%s\",\"key_ops\":\"verify\"}", hs_key_b64);
	CHECK(jwk1(doc) == TG_JWT_BAD_JWK);
	snprintf(doc, sizeof(doc), "{\"kty\":\"oct\",\"k\":\"%s\",\"key_ops\":[\"sign\",\"verify\"]}", hs_key_b64);
	CHECK(jwk1(doc) == TG_JWT_OK);

	/* "alg" consistent with kty/crv */
	snprintf(doc, sizeof(doc), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\",\"alg\":\"HS256\"}", a2_n);
	CHECK(jwk1(doc) == TG_JWT_BAD_JWK);
	snprintf(doc, sizeof(doc), "{\"kty\":\"oct\",\"k\":\"%s\",\"alg\":\"RS256\"}", hs_key_b64);
	CHECK(jwk1(doc) == TG_JWT_BAD_JWK);
	snprintf(doc, sizeof(doc), "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"alg\":\"ES256\"}", ed_x);
	CHECK(jwk1(doc) == TG_JWT_BAD_JWK);
	snprintf(doc, sizeof(doc), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\",\"alg\":\"RS512\"}", a2_n);
	CHECK(jwk1(doc) == TG_JWT_ALG_UNSUPPORTED);
	snprintf(doc, sizeof(doc), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\",\"alg\":\"PS256\"}", a2_n);
	CHECK(jwk1(doc) == TG_JWT_ALG_UNSUPPORTED);
	snprintf(doc, sizeof(doc), "{\"kty\":\"oct\",\"k\":\"%s\",\"alg\":\"none\"}", hs_key_b64);
	CHECK(jwk1(doc) == TG_JWT_ALG_NONE);
	snprintf(doc, sizeof(doc), "{\"kty\":\"oct\",\"k\":\"%s\",\"alg\":5}", hs_key_b64);
	CHECK(jwk1(doc) == TG_JWT_BAD_JWK);

	/* unknown kty/crv; missing members */
	CHECK(jwk1("{\"kty\":\"DSA\",\"y\":\"AQAB\"}") == TG_JWT_ALG_UNSUPPORTED);
	CHECK(jwk1("{\"kty\":\"rsa\",\"n\":\"AQAB\",\"e\":\"AQAB\"}") == TG_JWT_ALG_UNSUPPORTED);
	snprintf(doc, sizeof(doc), "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"%s\"}", ed_x);
	CHECK(jwk1(doc) == TG_JWT_ALG_UNSUPPORTED);
	snprintf(doc, sizeof(doc), "{\"kty\":\"OKP\",\"crv\":\"Ed448\",\"x\":\"%s\"}", ed_x);
	CHECK(jwk1(doc) == TG_JWT_ALG_UNSUPPORTED);
	CHECK(jwk1("{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":\"AA\",\"y\":\"AA\"}") == TG_JWT_ALG_UNSUPPORTED);
	snprintf(doc, sizeof(doc), "{\"kty\":\"OKP\",\"x\":\"%s\"}", ed_x);
	CHECK(jwk1(doc) == TG_JWT_BAD_JWK);
	CHECK(jwk1("{\"kty\":\"OKP\",\"crv\":\"Ed25519\"}") == TG_JWT_BAD_JWK);
	CHECK(jwk1("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\"}") == TG_JWT_BAD_JWK);
	snprintf(doc, sizeof(doc), "{\"kty\":\"RSA\",\"n\":\"%s\"}", a2_n);
	CHECK(jwk1(doc) == TG_JWT_BAD_JWK);
	CHECK(jwk1("{\"n\":\"AQAB\",\"e\":\"AQAB\"}") == TG_JWT_BAD_JWK);
	CHECK(jwk1("{\"kty\":1}") == TG_JWT_BAD_JWK);
	snprintf(doc, sizeof(doc), "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"d\":7}", ed_x);
	CHECK(jwk1(doc) == TG_JWT_BAD_JWK);
	/* small-order / short Ed25519 x */
	CHECK(jwk1("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}") == TG_JWT_BAD_KEY);
	CHECK(jwk1("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}") == TG_JWT_BAD_KEY);
	CHECK(jwk1("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHUR\"}") == TG_JWT_BAD_KEY);
	/* kid: printable, 1..128 */
	snprintf(doc, sizeof(doc), "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"kid\":\"\"}", ed_x);
	CHECK(jwk1(doc) == TG_JWT_BAD_JWK);
	snprintf(doc, sizeof(doc), "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"kid\":\"a\\nb\"}", ed_x);
	CHECK(jwk1(doc) == TG_JWT_BAD_JWK && jl.key[0].kid[0] == '\0');
	snprintf(doc, sizeof(doc), "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"kid\":%d}", ed_x, 1);
	CHECK(jwk1(doc) == TG_JWT_BAD_JWK);

	/* RSA JWKs as real IdPs publish them: x5c, x5t, issuer, no alg */
	snprintf(doc, sizeof(doc),
			 "{\"kty\":\"RSA\",\"use\":\"sig\",\"kid\":\"idp-key-1\",\"x5t\":\"idp-key-1\",\"n\":\"%s\","
			 "\"e\":\"AQAB\",\"x5c\":[\"MIIC8TCCAdmgAwIBAgIQ\"],\"cloud_instance_name\":\"example\","
			 "\"issuer\":\"https://login.example.com/{tenantid}/v2.0\"}", a2_n);
	CHECK(jwk1(doc) == TG_JWT_OK && jl.key[0].alg == TG_JWT_ALG_RS256 && !jl.key[0].is_private &&
		  strcmp(jl.key[0].kid, "idp-key-1") == 0);
	snprintf(doc, sizeof(doc),
			 "{\"keys\":[{\"e\":\"AQAB\",\"alg\":\"RS256\",\"kty\":\"RSA\",\"use\":\"sig\",\"n\":\"%s\",\"kid\":\"g1\"},"
			 "{\"n\":\"%s\",\"kid\":\"g2\",\"use\":\"sig\",\"kty\":\"RSA\",\"e\":\"AQAB\",\"x5t#S256\":\"x\"}]}",
			 a2_n, a2_n);
	CHECK(jwk(doc) == TG_JWT_OK && jl.n == 2 && jl.st[0] == TG_JWT_OK && jl.st[1] == TG_JWT_OK &&
		  jl.index[1] == 1 && strcmp(jl.key[1].kid, "g2") == 0);
}

static void
jwt_jwks(void)
{
	char		nb[1400],
				eb[16],
				k31[64];
	uint8_t		b31[31];

	memset(b31, 9, sizeof(b31));
	b64e(b31, sizeof(b31), k31);
	bn_b64(rsa1024, OSSL_PKEY_PARAM_RSA_N, 0, nb);
	bn_b64(rsa1024, OSSL_PKEY_PARAM_RSA_E, 0, eb);
	snprintf(doc, sizeof(doc),
			 "{\"keys\":["
			 "{\"kty\":\"oct\",\"k\":\"%s\",\"kid\":\"k0\"},"	/* 0 good */
			 "{\"kty\":\"oct\",\"k\":\"%s\",\"use\":\"enc\"},"	/* 1 use enc */
			 "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AA\",\"y\":\"AA\"},"	/* 2 other curve */
			 "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"},"	/* 3 1024 bits */
			 "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"kid\":\"k4\"},"	/* 4 good */
			 "42,"				/* 5 not an object */
			 "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"kid\":\"k6\"},"	/* 6 good */
			 "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\",\"alg\":\"HS256\"},"	/* 7 alg contradicts */
			 "{\"kty\":\"oct\",\"k\":\"%s\"},"	/* 8 short */
			 "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}"	/* 9 small order */
			 "],\"other\":{\"x\":1}}",
			 hs_key_b64, hs_key_b64, nb, eb, ed_x, a3_x, a3_y, a2_n, k31);
	CHECK(jwk(doc) == TG_JWT_OK);
	CHECK(jl.n == 10);
	CHECK(jl.st[0] == TG_JWT_OK && jl.key[0].alg == TG_JWT_ALG_HS256 && strcmp(jl.key[0].kid, "k0") == 0);
	CHECK(jl.st[1] == TG_JWT_BAD_JWK);
	CHECK(jl.st[2] == TG_JWT_ALG_UNSUPPORTED);
	CHECK(jl.st[3] == TG_JWT_BAD_KEY);
	CHECK(jl.st[4] == TG_JWT_OK && jl.key[4].alg == TG_JWT_ALG_EDDSA && strcmp(jl.key[4].kid, "k4") == 0);
	CHECK(jl.st[5] == TG_JWT_BAD_JWK);
	CHECK(jl.st[6] == TG_JWT_OK && jl.key[6].alg == TG_JWT_ALG_ES256);
	CHECK(jl.st[7] == TG_JWT_BAD_JWK);
	CHECK(jl.st[8] == TG_JWT_BAD_KEY);
	CHECK(jl.st[9] == TG_JWT_BAD_KEY);
	CHECK(jl.index[0] == 0 && jl.index[9] == 9);
	/* the callback stops the walk */
	memset(&jl, 0, sizeof(jl));
	jl.stop_after = 3;
	CHECK(tg_jwk_parse(doc, strlen(doc), collect, &jl) == TG_JWT_OK && jl.n == 3);

	/* the document itself malformed: no callback */
	CHECK(jwk("{\"keys\":[]}") == TG_JWT_OK && jl.n == 0);
	CHECK(jwk("{\"keys\":{}}") == TG_JWT_BAD_JWK && jl.n == 0);
	CHECK(jwk("{\"keys\":\"x\"}") == TG_JWT_BAD_JWK && jl.n == 0);
	CHECK(jwk("{\"keys\":[],\"keys\":[]}") == TG_JWT_BAD_JWK && jl.n == 0);
	CHECK(jwk("[{\"kty\":\"oct\"}]") == TG_JWT_BAD_JWK && jl.n == 0);
	CHECK(jwk("") == TG_JWT_BAD_JWK && jl.n == 0);
	CHECK(jwk("{\"keys\":[{\"kty\":\"oct\",\"kty\":\"oct\"}]}") == TG_JWT_BAD_JWK && jl.n == 0);
	CHECK(jwk("{\"keys\":[{\"kty\":\"oct\"}]} x") == TG_JWT_BAD_JWK && jl.n == 0);
	CHECK(jwk("{\"keys\":[{\"kty\":\"oct\",\"k\":\"\\ud800\"}]}") == TG_JWT_BAD_JWK && jl.n == 0);
	CHECK(tg_jwk_parse("{}", 2, NULL, NULL) == TG_JWT_INTERNAL);
	CHECK(tg_jwk_parse(NULL, 0, collect, &jl) == TG_JWT_BAD_JWK);
	/* a single JWK without kty is one unusable key, not a malformed document */
	CHECK(jwk("{}") == TG_JWT_OK && jl.n == 1 && jl.st[0] == TG_JWT_BAD_JWK);
	/* long documents are refused as a whole */
	{
		static char big[70 * 1024];

		memset(big, ' ', sizeof(big));
		big[0] = '{';
		big[sizeof(big) - 1] = '}';
		memset(&jl, 0, sizeof(jl));
		CHECK(tg_jwk_parse(big, sizeof(big), collect, &jl) == TG_JWT_BAD_JWK && jl.n == 0);
		CHECK(tg_jwk_parse(big + sizeof(big) - 40 * 1024 - 1, 40 * 1024, collect, &jl) == TG_JWT_BAD_JWK);
		big[sizeof(big) - 40 * 1024 - 1] = '{';
		CHECK(tg_jwk_parse(big + sizeof(big) - 40 * 1024 - 1, 40 * 1024 + 1, collect, &jl) == TG_JWT_OK);
	}
}

static void
jwt_pem(void)
{
	char		pem[4096],
				pem2[8192];
	uint8_t		out[TG_JWT_KEY_MAX],
				der[TG_JWT_KEY_MAX],
				raw[32];
	size_t		olen,
				dlen,
				rlen = 32,
				plen;
	tg_jwt_alg	alg;
	char	   *p;

	/* Ed25519: the raw 32-byte key */
	plen = pem_of(ed25519_key, pem, sizeof(pem));
	CHECK(tg_jwt_pem_parse(pem, plen, &alg, out, sizeof(out), &olen) == TG_JWT_OK);
	CHECK(EVP_PKEY_get_raw_public_key(ed25519_key, raw, &rlen) == 1);
	CHECK(alg == TG_JWT_ALG_EDDSA && olen == 32 && memcmp(out, raw, 32) == 0);
	CHECK(tg_jwt_key_check(TG_JWT_ALG_EDDSA, out, olen) == TG_JWT_OK);
	CHECK(tg_jwt_pem_parse(pem, plen, &alg, out, 31, &olen) == TG_JWT_BAD_KEY);

	/* P-256 and RSA: the DER SubjectPublicKeyInfo */
	plen = pem_of(p256, pem, sizeof(pem));
	dlen = spki(p256, der);
	CHECK(tg_jwt_pem_parse(pem, plen, &alg, out, sizeof(out), &olen) == TG_JWT_OK);
	CHECK(alg == TG_JWT_ALG_ES256 && olen == dlen && memcmp(out, der, dlen) == 0);
	plen = pem_of(rsa2048, pem, sizeof(pem));
	dlen = spki(rsa2048, der);
	CHECK(tg_jwt_pem_parse(pem, plen, &alg, out, sizeof(out), &olen) == TG_JWT_OK);
	CHECK(alg == TG_JWT_ALG_RS256 && olen == dlen && memcmp(out, der, dlen) == 0);
	CHECK(tg_jwt_pem_parse(pem, plen, &alg, out, dlen - 1, &olen) == TG_JWT_BAD_KEY);
	/* whitespace around the block, CRLF lines */
	snprintf(pem2, sizeof(pem2), " \r\n\t%s\n\n", pem);
	CHECK(tg_jwt_pem_parse(pem2, strlen(pem2), &alg, out, sizeof(out), &olen) == TG_JWT_OK);
	CHECK(tg_jwt_pem_parse(pem, plen - 1, &alg, out, sizeof(out), &olen) == TG_JWT_OK);	/* no final newline */
	{
		size_t		i,
					j = 0;

		for (i = 0; pem[i]; i++)
		{
			if (pem[i] == '\n')
				pem2[j++] = '\r';
			pem2[j++] = pem[i];
		}
		pem2[j] = '\0';
		CHECK(tg_jwt_pem_parse(pem2, j, &alg, out, sizeof(out), &olen) == TG_JWT_OK);
	}

	/* X25519: a public key, but not a signing one */
	plen = pem_of(x25519_key, pem2, sizeof(pem2));
	CHECK(tg_jwt_pem_parse(pem2, plen, &alg, out, sizeof(out), &olen) == TG_JWT_BAD_KEY);

	/* not one PUBLIC KEY block */
	CHECK(tg_jwt_pem_parse("", 0, &alg, out, sizeof(out), &olen) == TG_JWT_BAD_JWK);
	CHECK(tg_jwt_pem_parse("hello", 5, &alg, out, sizeof(out), &olen) == TG_JWT_BAD_JWK);
	snprintf(pem2, sizeof(pem2), "%s%s", pem, pem);
	CHECK(tg_jwt_pem_parse(pem2, strlen(pem2), &alg, out, sizeof(out), &olen) == TG_JWT_BAD_JWK);
	snprintf(pem2, sizeof(pem2), "junk\n%s", pem);
	CHECK(tg_jwt_pem_parse(pem2, strlen(pem2), &alg, out, sizeof(out), &olen) == TG_JWT_BAD_JWK);
	snprintf(pem2, sizeof(pem2), "%sjunk\n", pem);
	CHECK(tg_jwt_pem_parse(pem2, strlen(pem2), &alg, out, sizeof(out), &olen) == TG_JWT_BAD_JWK);
	/* PKCS#1 label */
	strcpy(pem2, "-----BEGIN RSA PUBLIC KEY-----");
	strcat(pem2, strchr(pem, '\n'));
	p = strstr(pem2, "-----END PUBLIC KEY-----");
	strcpy(p, "-----END RSA PUBLIC KEY-----\n");
	CHECK(tg_jwt_pem_parse(pem2, strlen(pem2), &alg, out, sizeof(out), &olen) == TG_JWT_BAD_JWK);
	/* a header line, a damaged body */
	snprintf(pem2, sizeof(pem2), "-----BEGIN PUBLIC KEY-----\nProc-Type: 4,ENCRYPTED\n%s", strchr(pem, '\n') + 1);
	CHECK(tg_jwt_pem_parse(pem2, strlen(pem2), &alg, out, sizeof(out), &olen) == TG_JWT_BAD_JWK);
	strcpy(pem2, pem);
	pem2[40] = pem2[40] == 'A' ? 'B' : 'A';
	CHECK(tg_jwt_pem_parse(pem2, strlen(pem2), &alg, out, sizeof(out), &olen) != TG_JWT_OK);
	strcpy(pem2, pem);
	pem2[40] = '*';
	CHECK(tg_jwt_pem_parse(pem2, strlen(pem2), &alg, out, sizeof(out), &olen) == TG_JWT_BAD_JWK);
	strcpy(pem2, pem);
	memmove(pem2 + 30, pem2 + 100, strlen(pem2 + 100) + 1);	/* cut the body */
	CHECK(tg_jwt_pem_parse(pem2, strlen(pem2), &alg, out, sizeof(out), &olen) == TG_JWT_BAD_JWK);
	CHECK(tg_jwt_pem_parse("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----", 51, &alg, out, sizeof(out), &olen)
		  == TG_JWT_BAD_JWK);
	CHECK(alg == TG_JWT_ALG_UNKNOWN && olen == 0);
	CHECK(tg_jwt_pem_parse(pem, strlen(pem), NULL, out, sizeof(out), &olen) == TG_JWT_INTERNAL);
}

void
test_jwt(void)
{
	size_t		i;

	for (i = 0; i < sizeof(hs_key); i++)
		hs_key[i] = (uint8_t) i;
	b64e(hs_key, sizeof(hs_key), hs_key_b64);
	gen_keys();
	jwt_names();
	jwt_rfc7515_a1();
	jwt_rfc7515_a2();
	jwt_rfc7515_a3();
	jwt_rfc8037();
	jwt_decode_ok();
	jwt_header_rejections();
	jwt_structure_rejections();
	jwt_length_limit();
	jwt_claims();
	jwt_sign_verify();
	jwt_flipped_bits();
	jwt_confusion();
	jwt_openssl_generated();
	jwt_key_material();
	jwt_jwk_documents();
	jwt_jwks();
	jwt_pem();
	free_keys();
}
