/*
 * envelope.c — the binary form of a sealed secret (pure C, libsodium).
 */
#include <string.h>

#include <sodium.h>

#include "envelope.h"

bool
tg_env_parse(const uint8_t *buf, size_t len, tg_env_header *out)
{
	tg_env_header h;

	if (buf == NULL || len < TG_ENV_OVERHEAD)
		return false;
	if (len - TG_ENV_OVERHEAD > TG_ENV_MAX_PLAINTEXT)
		return false;
	h.version = buf[0];
	h.flags = buf[1];
	if (h.version != TG_ENV_VERSION || (h.flags & ~TG_ENV_FLAG_BYTES) != 0)
		return false;
	h.key_version = ((uint32_t) buf[2] << 24) | ((uint32_t) buf[3] << 16) |
		((uint32_t) buf[4] << 8) | (uint32_t) buf[5];
	if (h.key_version == 0)
		return false;
	memcpy(h.tenant, buf + 6, 16);
	h.plaintext_len = len - TG_ENV_OVERHEAD;
	if (out)
		*out = h;
	return true;
}

bool
tg_env_seal_with_nonce(const uint8_t key[TG_ENV_KEY_LEN], uint32_t key_version,
					   const uint8_t tenant[16], uint8_t flags,
					   const uint8_t nonce[TG_ENV_NONCE_LEN],
					   const uint8_t *pt, size_t ptlen, uint8_t *out)
{
	unsigned long long clen = 0;

	if (key == NULL || tenant == NULL || out == NULL || (pt == NULL && ptlen > 0))
		return false;
	if (key_version == 0 || ptlen > TG_ENV_MAX_PLAINTEXT || (flags & ~TG_ENV_FLAG_BYTES) != 0)
		return false;
	out[0] = TG_ENV_VERSION;
	out[1] = flags;
	out[2] = (uint8_t) (key_version >> 24);
	out[3] = (uint8_t) (key_version >> 16);
	out[4] = (uint8_t) (key_version >> 8);
	out[5] = (uint8_t) key_version;
	memcpy(out + 6, tenant, 16);
	memcpy(out + TG_ENV_AD_LEN, nonce, TG_ENV_NONCE_LEN);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(out + TG_ENV_HEADER_LEN, &clen,
												   pt, ptlen,
												   out, TG_ENV_AD_LEN,
												   NULL, out + TG_ENV_AD_LEN, key) != 0)
		return false;
	return clen == ptlen + TG_ENV_TAG_LEN;
}

bool
tg_env_seal(const uint8_t key[TG_ENV_KEY_LEN], uint32_t key_version,
			const uint8_t tenant[16], uint8_t flags,
			const uint8_t *pt, size_t ptlen, uint8_t *out)
{
	uint8_t		nonce[TG_ENV_NONCE_LEN];

	randombytes_buf(nonce, sizeof(nonce));
	return tg_env_seal_with_nonce(key, key_version, tenant, flags, nonce, pt, ptlen, out);
}

tg_env_result
tg_env_open(const uint8_t key[TG_ENV_KEY_LEN], const uint8_t *buf, size_t len,
			uint8_t *pt, size_t *ptlen)
{
	unsigned long long mlen = 0;

	if (!tg_env_parse(buf, len, NULL) || key == NULL || pt == NULL)
		return TG_ENV_MALFORMED;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &mlen, NULL,
												   buf + TG_ENV_HEADER_LEN,
												   len - TG_ENV_HEADER_LEN,
												   buf, TG_ENV_AD_LEN,
												   buf + TG_ENV_AD_LEN, key) != 0)
	{
		sodium_memzero(pt, len - TG_ENV_OVERHEAD);
		return TG_ENV_FORGED;
	}
	if (ptlen)
		*ptlen = (size_t) mlen;
	return TG_ENV_OK;
}
