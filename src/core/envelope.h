/*
 * envelope.h — the binary form of a sealed secret (pure C, libsodium).
 *
 *   offset  size  field
 *   0       1     format version (1)
 *   1       1     flags (bit 0: plaintext is bytes, not text)
 *   2       4     data key version, big-endian
 *   6       16    tenant uuid
 *   22      24    XChaCha20-Poly1305 nonce
 *   46      n+16  ciphertext and tag
 *
 * Bytes 0..21 are the associated data, so the tenant, key version and flags
 * are authenticated: a ciphertext moved to another tenant does not open.
 */
#ifndef TG_CORE_ENVELOPE_H
#define TG_CORE_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define TG_ENV_VERSION 1
#define TG_ENV_FLAG_BYTES 0x01
#define TG_ENV_AD_LEN 22
#define TG_ENV_NONCE_LEN 24
#define TG_ENV_HEADER_LEN (TG_ENV_AD_LEN + TG_ENV_NONCE_LEN)
#define TG_ENV_TAG_LEN 16
#define TG_ENV_OVERHEAD (TG_ENV_HEADER_LEN + TG_ENV_TAG_LEN)
#define TG_ENV_KEY_LEN 32
#define TG_ENV_MAX_PLAINTEXT ((size_t) 256 * 1024 * 1024)

typedef struct tg_env_header
{
	uint8_t		version;
	uint8_t		flags;
	uint32_t	key_version;
	uint8_t		tenant[16];
	size_t		plaintext_len;
} tg_env_header;

/* Check the structure of an envelope; false when it is not one. */
bool		tg_env_parse(const uint8_t *buf, size_t len, tg_env_header *out);

/*
 * Seal plaintext under key; out must hold ptlen + TG_ENV_OVERHEAD bytes.
 * A fresh random nonce is drawn. Returns false on invalid arguments.
 */
bool		tg_env_seal(const uint8_t key[TG_ENV_KEY_LEN], uint32_t key_version,
						const uint8_t tenant[16], uint8_t flags,
						const uint8_t *pt, size_t ptlen, uint8_t *out);

/* As tg_env_seal with a caller-chosen nonce (tests and vectors only). */
bool		tg_env_seal_with_nonce(const uint8_t key[TG_ENV_KEY_LEN], uint32_t key_version,
								   const uint8_t tenant[16], uint8_t flags,
								   const uint8_t nonce[TG_ENV_NONCE_LEN],
								   const uint8_t *pt, size_t ptlen, uint8_t *out);

typedef enum tg_env_result
{
	TG_ENV_OK = 0,
	TG_ENV_MALFORMED = -1,
	TG_ENV_FORGED = -2
} tg_env_result;

/*
 * Open an envelope; pt must hold len - TG_ENV_OVERHEAD bytes. On failure the
 * output is wiped.
 */
tg_env_result tg_env_open(const uint8_t key[TG_ENV_KEY_LEN], const uint8_t *buf,
						  size_t len, uint8_t *pt, size_t *ptlen);

#endif
