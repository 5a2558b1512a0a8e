/*
 * keys.c — the key hierarchy (pure C, libsodium).
 */
#include <string.h>

#include <sodium.h>

#include "encoding.h"
#include "keys.h"

static const char tenant_key_label[] = "tenantguard/tenant-key/v1";
static const char index_key_label[] = "tenantguard/blind-index-key/v1";
static const char key_id_label[] = "tenantguard/key-id/v1";

bool
tg_master_key_parse(const char *text, size_t len, uint8_t out[TG_KEY_LEN])
{
	size_t		i;

	if (text == NULL || len < 2 * TG_KEY_LEN)
		return false;
	for (i = 2 * TG_KEY_LEN; i < len; i++)
		if (text[i] != '\n' && text[i] != '\r' && text[i] != ' ' && text[i] != '\t')
			return false;
	return tg_hex_decode(text, 2 * TG_KEY_LEN, out, TG_KEY_LEN);
}

void
tg_key_id(const uint8_t key[TG_KEY_LEN], uint8_t out[TG_KEY_ID_LEN])
{
	crypto_generichash(out, TG_KEY_ID_LEN, (const uint8_t *) key_id_label,
					   sizeof(key_id_label) - 1, key, TG_KEY_LEN);
}

/* Associated data of a wrapped key: purpose and version. */
static void
wrap_ad(char purpose, uint32_t version, uint8_t ad[5])
{
	ad[0] = (uint8_t) purpose;
	ad[1] = (uint8_t) (version >> 24);
	ad[2] = (uint8_t) (version >> 16);
	ad[3] = (uint8_t) (version >> 8);
	ad[4] = (uint8_t) version;
}

bool
tg_key_wrap(const uint8_t kek[TG_KEY_LEN], tg_key_purpose purpose, uint32_t version,
			const uint8_t key[TG_KEY_LEN], uint8_t out[TG_WRAPPED_LEN])
{
	uint8_t		ad[5];
	unsigned long long clen = 0;

	wrap_ad(purpose, version, ad);
	randombytes_buf(out, 24);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(out + 24, &clen, key, TG_KEY_LEN,
												   ad, sizeof(ad), NULL, out, kek) != 0)
		return false;
	return clen == TG_KEY_LEN + 16;
}

bool
tg_key_unwrap(const uint8_t kek[TG_KEY_LEN], tg_key_purpose purpose, uint32_t version,
			  const uint8_t *wrapped, size_t len, uint8_t out[TG_KEY_LEN])
{
	uint8_t		ad[5];
	unsigned long long mlen = 0;

	if (wrapped == NULL || len != TG_WRAPPED_LEN)
	{
		sodium_memzero(out, TG_KEY_LEN);
		return false;
	}
	wrap_ad(purpose, version, ad);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen, NULL, wrapped + 24,
												   len - 24, ad, sizeof(ad),
												   wrapped, kek) != 0 ||
		mlen != TG_KEY_LEN)
	{
		sodium_memzero(out, TG_KEY_LEN);
		return false;
	}
	return true;
}

void
tg_derive_tenant_key(const uint8_t data_key[TG_KEY_LEN], const uint8_t tenant[16],
					 uint8_t out[TG_KEY_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, data_key, TG_KEY_LEN, TG_KEY_LEN);
	crypto_generichash_update(&st, (const uint8_t *) tenant_key_label, sizeof(tenant_key_label));
	crypto_generichash_update(&st, tenant, 16);
	crypto_generichash_final(&st, out, TG_KEY_LEN);
	sodium_memzero(&st, sizeof(st));
}

void
tg_blind_index(const uint8_t index_key[TG_KEY_LEN], const uint8_t tenant[16],
			   const char *purpose, size_t purpose_len,
			   const uint8_t *value, size_t value_len,
			   uint8_t out[TG_BLIND_INDEX_LEN])
{
	crypto_generichash_state st;
	uint8_t		k[TG_KEY_LEN];
	uint8_t		plen[4];

	/* per tenant and purpose key; the purpose length keeps inputs unambiguous */
	plen[0] = (uint8_t) (purpose_len >> 24);
	plen[1] = (uint8_t) (purpose_len >> 16);
	plen[2] = (uint8_t) (purpose_len >> 8);
	plen[3] = (uint8_t) purpose_len;
	crypto_generichash_init(&st, index_key, TG_KEY_LEN, TG_KEY_LEN);
	crypto_generichash_update(&st, (const uint8_t *) index_key_label, sizeof(index_key_label));
	crypto_generichash_update(&st, tenant, 16);
	crypto_generichash_update(&st, plen, sizeof(plen));
	crypto_generichash_update(&st, (const uint8_t *) purpose, purpose_len);
	crypto_generichash_final(&st, k, TG_KEY_LEN);

	crypto_generichash(out, TG_BLIND_INDEX_LEN, value, value_len, k, TG_KEY_LEN);
	sodium_memzero(k, sizeof(k));
	sodium_memzero(&st, sizeof(st));
}
