/*
 * agent_msg.c — signed agent messages, key and signature encodings, Ed25519
 * (pure C, libsodium). See agent_msg.h for the exact formats.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "agent_msg.h"
#include "encoding.h"
#include "uuid_text.h"

bool
tg_agent_id_valid(const char *id, size_t len)
{
	uint8_t		u[TG_UUID_LEN];
	char		canon[TG_UUID_TEXT_LEN + 1];

	if (id == NULL || len != TG_UUID_TEXT_LEN || !tg_uuid_parse(id, len, u))
		return false;
	/* the lower-case form only: the server formats the uuid that way */
	tg_uuid_format(u, canon);
	return memcmp(canon, id, len) == 0;
}

bool
tg_agent_nonce_valid(const char *nonce, size_t len)
{
	size_t		i;

	if (nonce == NULL || len < TG_AGENT_NONCE_MIN || len > TG_AGENT_NONCE_MAX)
		return false;
	for (i = 0; i < len; i++)
	{
		char		c = nonce[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

bool
tg_agent_ts_parse(const char *text, size_t len, int64_t *ts)
{
	uint64_t	v = 0;
	size_t		i;

	if (text == NULL || len == 0 || len > TG_AGENT_TS_MAX_DIGITS)
		return false;
	if (text[0] == '0' && len > 1)
		return false;
	for (i = 0; i < len; i++)
	{
		if (text[i] < '0' || text[i] > '9')
			return false;
		v = v * 10 + (uint64_t) (text[i] - '0');	/* 19 digits fit in uint64 */
	}
	if (v > (uint64_t) INT64_MAX)
		return false;
	*ts = (int64_t) v;
	return true;
}

/* append n bytes at *pos if they fit (leaving room for the NUL) */
static bool
put(char *out, size_t outcap, size_t *pos, const char *s, size_t n)
{
	if (*pos + n + 1 > outcap)
		return false;
	memcpy(out + *pos, s, n);
	*pos += n;
	return true;
}

int
tg_agent_login_msg(const char *agent_id, size_t id_len, int64_t ts,
				   const char *nonce, size_t nonce_len,
				   char *out, size_t outcap)
{
	char		digits[TG_AGENT_TS_MAX_DIGITS + 1];
	int			nd;
	size_t		pos = 0;

	if (out != NULL && outcap > 0)
		out[0] = '\0';
	if (!tg_agent_id_valid(agent_id, id_len))
		return TG_AGENT_BAD_ID;
	if (ts < 0)
		return TG_AGENT_BAD_TS;
	if (!tg_agent_nonce_valid(nonce, nonce_len))
		return TG_AGENT_BAD_NONCE;
	nd = snprintf(digits, sizeof(digits), "%lld", (long long) ts);
	if (out == NULL || nd <= 0 || (size_t) nd >= sizeof(digits))
		return TG_AGENT_TOO_SMALL;
	if (!put(out, outcap, &pos, TG_AGENT_LOGIN_PREFIX "\n", sizeof(TG_AGENT_LOGIN_PREFIX)) ||
		!put(out, outcap, &pos, agent_id, id_len) ||
		!put(out, outcap, &pos, "\n", 1) ||
		!put(out, outcap, &pos, digits, (size_t) nd) ||
		!put(out, outcap, &pos, "\n", 1) ||
		!put(out, outcap, &pos, nonce, nonce_len))
	{
		if (outcap > 0)
			out[0] = '\0';
		return TG_AGENT_TOO_SMALL;
	}
	out[pos] = '\0';
	return (int) pos;
}

int
tg_agent_rotate_msg(const char *agent_id, size_t id_len,
					const char *new_pk, size_t pk_len,
					char *out, size_t outcap)
{
	uint8_t		pk[TG_AGENT_PK_LEN];
	size_t		pos = 0;

	if (out != NULL && outcap > 0)
		out[0] = '\0';
	if (!tg_agent_id_valid(agent_id, id_len))
		return TG_AGENT_BAD_ID;
	if (!tg_agent_pk_parse(new_pk, pk_len, pk))
		return TG_AGENT_BAD_KEY;
	if (out == NULL ||
		!put(out, outcap, &pos, TG_AGENT_ROTATE_PREFIX "\n", sizeof(TG_AGENT_ROTATE_PREFIX)) ||
		!put(out, outcap, &pos, agent_id, id_len) ||
		!put(out, outcap, &pos, "\n", 1) ||
		!put(out, outcap, &pos, new_pk, pk_len))
	{
		if (out != NULL && outcap > 0)
			out[0] = '\0';
		return TG_AGENT_TOO_SMALL;
	}
	out[pos] = '\0';
	return (int) pos;
}

bool
tg_agent_pk_parse(const char *text, size_t len, uint8_t pk[TG_AGENT_PK_LEN])
{
	uint8_t		buf[TG_AGENT_PK_LEN];

	if (text == NULL || len != TG_AGENT_PK_TEXT_LEN ||
		tg_b64_decode(text, len, buf, sizeof(buf)) != TG_AGENT_PK_LEN)
		return false;
	/* on the curve, canonical, not of small order: no weak identity keys */
	if (sodium_init() < 0 || !crypto_core_ed25519_is_valid_point(buf))
		return false;
	memcpy(pk, buf, TG_AGENT_PK_LEN);
	return true;
}

void
tg_agent_pk_encode(const uint8_t pk[TG_AGENT_PK_LEN], char out[TG_AGENT_PK_TEXT_LEN + 1])
{
	tg_b64_encode(pk, TG_AGENT_PK_LEN, out);
}

bool
tg_agent_sig_parse(const char *text, size_t len, uint8_t sig[TG_AGENT_SIG_LEN])
{
	return text != NULL && len == TG_AGENT_SIG_TEXT_LEN &&
		tg_b64_decode(text, len, sig, TG_AGENT_SIG_LEN) == TG_AGENT_SIG_LEN;
}

void
tg_agent_sig_encode(const uint8_t sig[TG_AGENT_SIG_LEN], char out[TG_AGENT_SIG_TEXT_LEN + 1])
{
	tg_b64_encode(sig, TG_AGENT_SIG_LEN, out);
}

void
tg_agent_fingerprint(const uint8_t pk[TG_AGENT_PK_LEN], char out[TG_AGENT_FP_TEXT_LEN + 1])
{
	uint8_t		h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, pk, TG_AGENT_PK_LEN);
	memcpy(out, "SHA256:", 7);
	sodium_bin2base64(out + 7, TG_AGENT_FP_TEXT_LEN + 1 - 7, h, sizeof(h),
					  sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
}

bool
tg_agent_keypair_from_seed(const uint8_t seed[TG_AGENT_SEED_LEN],
						   uint8_t pk[TG_AGENT_PK_LEN],
						   uint8_t sk[TG_AGENT_SK_LEN])
{
	return sodium_init() >= 0 && crypto_sign_seed_keypair(pk, sk, seed) == 0;
}

bool
tg_agent_sign(const uint8_t sk[TG_AGENT_SK_LEN], const char *msg, size_t len,
			  uint8_t sig[TG_AGENT_SIG_LEN])
{
	return sodium_init() >= 0 &&
		crypto_sign_detached(sig, NULL, (const unsigned char *) msg, len, sk) == 0;
}

bool
tg_agent_verify(const uint8_t pk[TG_AGENT_PK_LEN], const char *msg, size_t len,
				const uint8_t sig[TG_AGENT_SIG_LEN])
{
	return sodium_init() >= 0 &&
		crypto_sign_verify_detached(sig, (const unsigned char *) msg, len, pk) == 0;
}
