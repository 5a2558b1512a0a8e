/*
 * scrypt.c — scrypt password hashes in passlib's format (see scrypt.h).
 *
 * scrypt itself is OpenSSL 3's EVP_KDF "SCRYPT" rather than libsodium's
 * crypto_pwhash_scryptsalsa208sha256_ll: OpenSSL takes an explicit memory
 * ceiling ("maxmem_bytes") that we set to exactly what the checked parameters
 * need, and refuses before allocating if that is exceeded, so the limit is
 * enforced twice (tg_scrypt_params_ok here, maxmem in OpenSSL). libsodium
 * supplies the salt (randombytes_buf), the strict base64 codec (the original
 * "+/" alphabet without padding, rejecting non-canonical trailing bits), the
 * constant-time comparison and the wiping.
 */
#include "core/scrypt.h"

#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <sodium.h>

#define B64_VARIANT sodium_base64_VARIANT_ORIGINAL_NO_PADDING

static const char prefix[] = "$scrypt$";

bool
tg_scrypt_params_ok(const tg_scrypt_params *prm)
{
	if (prm == NULL)
		return false;
	if (prm->ln < TG_SCRYPT_LN_MIN || prm->ln > TG_SCRYPT_LN_MAX)
		return false;
	if (prm->r < 1 || prm->r > TG_SCRYPT_R_MAX)
		return false;
	if (prm->p < 1 || prm->p > TG_SCRYPT_P_MAX)
		return false;
	if ((UINT64_C(1) << prm->ln) * prm->r > TG_SCRYPT_NR_MAX)
		return false;
	if ((uint64_t) prm->r * prm->p > TG_SCRYPT_RP_MAX)
		return false;
	return true;
}

uint64_t
tg_scrypt_memory(const tg_scrypt_params *prm)
{
	uint64_t	n;

	if (!tg_scrypt_params_ok(prm))
		return 0;
	n = UINT64_C(1) << prm->ln;
	/* OpenSSL's kdf_scrypt.c: Vlen = 32*r*(N+2)*4, Blen = p*128*r */
	return UINT64_C(128) * prm->r * (n + 2) + UINT64_C(128) * prm->r * prm->p;
}

tg_scrypt_status
tg_scrypt_raw(const uint8_t *pw, size_t pwlen, const uint8_t *salt,
			  size_t saltlen, const tg_scrypt_params *prm,
			  uint8_t *out, size_t outlen)
{
	EVP_KDF    *kdf;
	EVP_KDF_CTX *ctx;
	OSSL_PARAM	params[7],
			   *q = params;
	uint64_t	n,
				maxmem;
	uint32_t	r,
				p;
	int			rc;
	static const uint8_t empty[1] = {0};

	if (out == NULL || outlen == 0)
		return TG_SCRYPT_ERROR;
	memset(out, 0, outlen);
	if (!tg_scrypt_params_ok(prm))
		return TG_SCRYPT_LIMITS;
	if ((pw == NULL && pwlen > 0) || (salt == NULL && saltlen > 0))
		return TG_SCRYPT_ERROR;
	n = UINT64_C(1) << prm->ln;
	r = prm->r;
	p = prm->p;
	maxmem = tg_scrypt_memory(prm);

	kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_SCRYPT, NULL);
	if (kdf == NULL)
		return TG_SCRYPT_ERROR;
	ctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (ctx == NULL)
		return TG_SCRYPT_ERROR;
	/* OpenSSL wants non-NULL pointers even for empty strings */
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
											 (void *) (pwlen ? pw : empty), pwlen);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
											 (void *) (saltlen ? salt : empty), saltlen);
	*q++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	*q++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
	*q++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
	*q++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
	*q = OSSL_PARAM_construct_end();
	rc = EVP_KDF_derive(ctx, out, outlen, params);
	EVP_KDF_CTX_free(ctx);		/* clears the copied password and salt */
	if (rc != 1)
	{
		sodium_memzero(out, outlen);
		return TG_SCRYPT_ERROR;
	}
	return TG_SCRYPT_OK;
}

/* Append s (NUL-terminated) at *pos in out; false if it does not fit. */
static bool
put(char *out, size_t outcap, size_t *pos, const char *s)
{
	size_t		l = strlen(s);

	if (l >= outcap - *pos)
		return false;
	memcpy(out + *pos, s, l + 1);
	*pos += l;
	return true;
}

static bool
put_b64(char *out, size_t outcap, size_t *pos, const uint8_t *bin, size_t n)
{
	size_t		need = sodium_base64_ENCODED_LEN(n, B64_VARIANT);

	if (need > outcap - *pos)
		return false;
	sodium_bin2base64(out + *pos, outcap - *pos, bin, n, B64_VARIANT);
	*pos += strlen(out + *pos);
	return true;
}

tg_scrypt_status
tg_scrypt_hash(const uint8_t *pw, size_t pwlen, const tg_scrypt_params *prm,
			   char *out, size_t outcap)
{
	uint8_t		salt[TG_SCRYPT_SALT_LEN];
	uint8_t		dk[TG_SCRYPT_HASH_LEN];
	char		head[64];
	size_t		pos = 0;
	tg_scrypt_status st;

	if (out == NULL || outcap == 0)
		return TG_SCRYPT_ERROR;
	out[0] = '\0';
	if (!tg_scrypt_params_ok(prm))
		return TG_SCRYPT_LIMITS;
	if (sodium_init() < 0)
		return TG_SCRYPT_ERROR;
	randombytes_buf(salt, sizeof(salt));
	st = tg_scrypt_raw(pw, pwlen, salt, sizeof(salt), prm, dk, sizeof(dk));
	if (st == TG_SCRYPT_OK)
	{
		snprintf(head, sizeof(head), "%sln=%u,r=%u,p=%u$",
				 prefix, prm->ln, prm->r, prm->p);
		if (!put(out, outcap, &pos, head) ||
			!put_b64(out, outcap, &pos, salt, sizeof(salt)) ||
			!put(out, outcap, &pos, "$") ||
			!put_b64(out, outcap, &pos, dk, sizeof(dk)))
		{
			sodium_memzero(out, outcap);
			out[0] = '\0';
			st = TG_SCRYPT_ERROR;
		}
	}
	sodium_memzero(dk, sizeof(dk));
	sodium_memzero(salt, sizeof(salt));
	return st;
}

/*
 * Read "<name>=<decimal>" at s[*i..len) followed by the byte end: decimal
 * without sign or leading zeros, at most 9 digits.
 */
static bool
read_param(const char *s, size_t len, size_t *i, const char *name, char end,
		   unsigned *val)
{
	size_t		nl = strlen(name),
				j = *i,
				digits = 0;
	unsigned	v = 0;

	if (len - j < nl + 1 || memcmp(s + j, name, nl) != 0 || s[j + nl] != '=')
		return false;
	j += nl + 1;
	while (j < len && s[j] >= '0' && s[j] <= '9')
	{
		if (digits == 0 && s[j] == '0' && j + 1 < len &&
			s[j + 1] >= '0' && s[j + 1] <= '9')
			return false;		/* leading zero */
		if (++digits > 9)
			return false;
		v = v * 10 + (unsigned) (s[j] - '0');
		j++;
	}
	if (digits == 0 || j >= len || s[j] != end)
		return false;
	*val = v;
	*i = j + 1;
	return true;
}

/* Strict unpadded standard base64 of s[0..len) into out (cap bytes). */
static bool
read_b64(const char *s, size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
	if (len == 0)
		return false;
	return sodium_base642bin(out, cap, s, len, NULL, outlen, NULL,
							 B64_VARIANT) == 0;
}

tg_scrypt_status
tg_scrypt_parse(const char *phc, size_t phclen, tg_scrypt_params *prm,
				uint8_t *salt, size_t *saltlen,
				uint8_t checksum[TG_SCRYPT_HASH_LEN])
{
	size_t		i = sizeof(prefix) - 1,
				s0,
				s1,
				cklen = 0;
	tg_scrypt_params got;
	const char *dollar;

	if (phc == NULL || prm == NULL || salt == NULL || saltlen == NULL ||
		checksum == NULL)
		return TG_SCRYPT_MALFORMED;
	*saltlen = 0;
	if (phclen > TG_SCRYPT_PHC_MAX || phclen < i ||
		memchr(phc, '\0', phclen) != NULL ||
		memcmp(phc, prefix, i) != 0)
		return TG_SCRYPT_MALFORMED;
	if (!read_param(phc, phclen, &i, "ln", ',', &got.ln) ||
		!read_param(phc, phclen, &i, "r", ',', &got.r) ||
		!read_param(phc, phclen, &i, "p", '$', &got.p))
		return TG_SCRYPT_MALFORMED;
	s0 = i;
	dollar = memchr(phc + s0, '$', phclen - s0);
	if (dollar == NULL)
		return TG_SCRYPT_MALFORMED;
	s1 = (size_t) (dollar - phc);
	/* salt: phc[s0..s1), checksum: phc[s1+1..phclen), no further '$' */
	if (memchr(phc + s1 + 1, '$', phclen - s1 - 1) != NULL)
		return TG_SCRYPT_MALFORMED;
	if (!read_b64(phc + s0, s1 - s0, salt, TG_SCRYPT_SALT_MAX, saltlen) ||
		*saltlen == 0 ||
		!read_b64(phc + s1 + 1, phclen - s1 - 1, checksum, TG_SCRYPT_HASH_LEN,
				  &cklen) ||
		cklen != TG_SCRYPT_HASH_LEN)
	{
		*saltlen = 0;
		return TG_SCRYPT_MALFORMED;
	}
	*prm = got;
	return tg_scrypt_params_ok(&got) ? TG_SCRYPT_OK : TG_SCRYPT_LIMITS;
}

tg_scrypt_status
tg_scrypt_verify(const uint8_t *pw, size_t pwlen, const char *phc,
				 size_t phclen)
{
	tg_scrypt_params prm;
	uint8_t		salt[TG_SCRYPT_SALT_MAX];
	uint8_t		want[TG_SCRYPT_HASH_LEN];
	uint8_t		dk[TG_SCRYPT_HASH_LEN];
	size_t		saltlen;
	tg_scrypt_status st;

	st = tg_scrypt_parse(phc, phclen, &prm, salt, &saltlen, want);
	if (st == TG_SCRYPT_OK)
	{
		st = tg_scrypt_raw(pw, pwlen, salt, saltlen, &prm, dk, sizeof(dk));
		if (st == TG_SCRYPT_OK &&
			sodium_memcmp(dk, want, TG_SCRYPT_HASH_LEN) != 0)
			st = TG_SCRYPT_MISMATCH;
	}
	sodium_memzero(dk, sizeof(dk));
	sodium_memzero(want, sizeof(want));
	sodium_memzero(salt, sizeof(salt));
	return st;
}

bool
tg_scrypt_needs_rehash(const char *phc, size_t phclen,
					   const tg_scrypt_params *wanted)
{
	tg_scrypt_params prm;
	uint8_t		salt[TG_SCRYPT_SALT_MAX];
	uint8_t		ck[TG_SCRYPT_HASH_LEN];
	size_t		saltlen;
	bool		res;

	if (wanted == NULL ||
		tg_scrypt_parse(phc, phclen, &prm, salt, &saltlen, ck) != TG_SCRYPT_OK)
		res = true;
	else
		res = prm.ln != wanted->ln || prm.r != wanted->r ||
			prm.p != wanted->p || saltlen != TG_SCRYPT_SALT_LEN;
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(salt, sizeof(salt));
	return res;
}
