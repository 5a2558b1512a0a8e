/*
 * keys.h — the key hierarchy (pure C, libsodium).
 *
 *   master key (32 bytes, from a file, 64 hex characters)
 *     wraps data keys (32 random bytes each, versioned, stored wrapped)
 *       derive per-tenant keys:  BLAKE2b-256(key = data key,
 *                                 "tenantguard/tenant-key/v1" 0x00 tenant)
 *     wraps one index key, from which blind-index keys are derived per
 *     tenant and purpose; it does not rotate, so indexes stay stable.
 *
 * Wrapping is XChaCha20-Poly1305 with the key's version and purpose as
 * associated data: nonce(24) || ciphertext(32) || tag(16).
 */
#ifndef TG_CORE_KEYS_H
#define TG_CORE_KEYS_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define TG_KEY_LEN 32
#define TG_KEY_ID_LEN 8
#define TG_WRAPPED_LEN (24 + TG_KEY_LEN + 16)
#define TG_BLIND_INDEX_LEN 32

/* What a stored key is for; the value is bound into its wrapping. */
typedef enum tg_key_purpose
{
	TG_KEY_PURPOSE_DATA = 'd',	/* versioned data keys */
	TG_KEY_PURPOSE_INDEX = 'i'	/* the blind-index key */
} tg_key_purpose;

/*
 * Parse a master key file's contents: 64 hex digits, optionally followed by
 * whitespace (a trailing newline). Anything else is rejected.
 */
bool		tg_master_key_parse(const char *text, size_t len, uint8_t out[TG_KEY_LEN]);

/* A short public identifier of a key: BLAKE2b-64 under a fixed label. */
void		tg_key_id(const uint8_t key[TG_KEY_LEN], uint8_t out[TG_KEY_ID_LEN]);

/* Wrap a data key (purpose 'd') or index key (purpose 'i') of a version. */
bool		tg_key_wrap(const uint8_t kek[TG_KEY_LEN], tg_key_purpose purpose, uint32_t version,
						const uint8_t key[TG_KEY_LEN], uint8_t out[TG_WRAPPED_LEN]);

/* Unwrap; false (and out wiped) when the wrapping does not authenticate. */
bool		tg_key_unwrap(const uint8_t kek[TG_KEY_LEN], tg_key_purpose purpose, uint32_t version,
						  const uint8_t *wrapped, size_t len, uint8_t out[TG_KEY_LEN]);

/* The key a tenant's secrets are sealed with under one data key. */
void		tg_derive_tenant_key(const uint8_t data_key[TG_KEY_LEN], const uint8_t tenant[16],
								 uint8_t out[TG_KEY_LEN]);

/* Blind index of value for tenant and purpose: keyed BLAKE2b-256. */
void		tg_blind_index(const uint8_t index_key[TG_KEY_LEN], const uint8_t tenant[16],
						   const char *purpose, size_t purpose_len,
						   const uint8_t *value, size_t value_len,
						   uint8_t out[TG_BLIND_INDEX_LEN]);

#endif
