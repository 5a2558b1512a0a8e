/*
 * fuzz_jwt.c — libFuzzer harness for the JWT, JWK/JWKS, PEM and JSON readers.
 * The input goes to tg_jwt_decode (then verify with a fixed HS256 key and
 * claims_parse of the payload), tg_jwt_claims_parse, tg_jwk_parse and
 * tg_jwt_pem_parse. Properties: every accepted value is within its limits,
 * every key reported usable passes tg_jwt_key_check, and an HS256 token that
 * verifies re-signs to itself.
 * Build and run with libFuzzer: make -C test/fuzz jwt
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/encoding.h"
#include "core/jwt.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the key of the corpus' HS256 tokens: bytes 00 01 .. 1f */
static uint8_t hs_key[32];

static void
check_text(const char *s, size_t max, bool printable)
{
	size_t		n = strnlen(s, max + 1);
	size_t		i;

	if (n > max)
		abort();
	for (i = 0; printable && i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			abort();
}

static bool
check_key(void *arg, int index, tg_jwt_status st, const tg_jwk *key)
{
	int		   *count = arg;

	if (index != (*count)++ || key == NULL)
		abort();
	check_text(key->kid, TG_JWT_KID_MAX, true);
	if (st == TG_JWT_OK &&
		(key->material_len == 0 || key->material_len > TG_JWT_KEY_MAX ||
		 tg_jwt_key_check(key->alg, key->material, key->material_len) != TG_JWT_OK))
		abort();
	if (st != TG_JWT_OK && key->material_len != 0)
		abort();
	return true;
}

static void
check_claims(const tg_jwt_claims *c)
{
	int			i;
	const int64_t lim = (int64_t) 1 << 53;

	check_text(c->tid, TG_JWT_CLAIM_MAX, false);
	check_text(c->sub, TG_JWT_CLAIM_MAX, false);
	check_text(c->role, TG_JWT_CLAIM_MAX, false);
	check_text(c->jti, TG_JWT_CLAIM_MAX, false);
	check_text(c->iss, TG_JWT_CLAIM_MAX, false);
	check_text(c->nonce, TG_JWT_CLAIM_MAX, false);
	if (c->n_aud < 0 || c->n_aud > TG_JWT_AUD_MAX)
		abort();
	for (i = 0; i < c->n_aud; i++)
		check_text(c->aud[i], TG_JWT_CLAIM_MAX, false);
	if ((c->has_exp && (c->exp > lim || c->exp < -lim)) ||
		(c->has_nbf && (c->nbf > lim || c->nbf < -lim)) ||
		(c->has_iat && (c->iat > lim || c->iat < -lim)))
		abort();
}

static void
fuzz_token(const char *in, size_t size)
{
	static tg_jwt jwt;
	static char again[TG_JWT_MAX_LEN + 1];
	tg_jwt_claims c;
	tg_jwt_status st = tg_jwt_decode(in, size, &jwt);

	if (st != TG_JWT_OK)
		return;
	check_text(jwt.kid, TG_JWT_KID_MAX, true);
	if (jwt.kid[0] == '\0' || tg_jwt_alg_name(jwt.alg) == NULL ||
		jwt.sig_len == 0 || jwt.sig_len > TG_JWT_SIG_MAX ||
		jwt.signing_input_len >= size || memcmp(jwt.signing_input, in, jwt.signing_input_len) != 0 ||
		jwt.payload[jwt.payload_len] != '\0')
		abort();
	st = tg_jwt_verify(&jwt, TG_JWT_ALG_HS256, hs_key, sizeof(hs_key));
	if (st == TG_JWT_OK)
	{
		/* a verified token is exactly what signing its parts gives */
		static uint8_t header[TG_JWT_MAX_LEN];
		const char *dot = memchr(in, '.', size);
		long		hlen,
					n;

		if (jwt.alg != TG_JWT_ALG_HS256 || dot == NULL)
			abort();
		hlen = tg_b64url_decode(in, (size_t) (dot - in), header, sizeof(header));
		if (hlen < 0)
			abort();
		n = tg_jwt_sign(TG_JWT_ALG_HS256, hs_key, sizeof(hs_key), (const char *) header, (size_t) hlen,
						jwt.payload, jwt.payload_len, again, sizeof(again));
		if (n != (long) size || memcmp(again, in, size) != 0)
			abort();
	}
	else if (st != TG_JWT_ALG_MISMATCH && st != TG_JWT_BAD_SIGNATURE)
		abort();
	if (tg_jwt_claims_parse(jwt.payload, jwt.payload_len, &c) == TG_JWT_OK)
		check_claims(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *) data;
	tg_jwt_claims c;
	uint8_t		material[TG_JWT_KEY_MAX];
	size_t		mlen = 0;
	tg_jwt_alg	alg;
	int			count = 0;
	size_t		i;

	for (i = 0; i < sizeof(hs_key); i++)
		hs_key[i] = (uint8_t) i;

	fuzz_token(in, size);

	if (tg_jwt_claims_parse(in, size, &c) == TG_JWT_OK)
		check_claims(&c);

	tg_jwk_parse(in, size, check_key, &count);

	if (tg_jwt_pem_parse(in, size, &alg, material, sizeof(material), &mlen) == TG_JWT_OK &&
		(mlen == 0 || tg_jwt_key_check(alg, material, mlen) != TG_JWT_OK))
		abort();
	return 0;
}
