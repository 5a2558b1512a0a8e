/*
 * keyring.h — the master key and the data keys (layer 2). Keys stay in this
 * backend's secure memory; callers use a key at once and never keep it.
 */
#ifndef TG_KEYRING_H
#define TG_KEYRING_H

#include "postgres.h"

#include "core/keys.h"

extern void tg_keyring_init(void);

/* The master key (TG_KEY_LEN bytes), loaded on first use; 55000 when not configured. */
extern const uint8_t *tg_master_key(void);
extern const uint8_t *tg_master_key_id(void);
/* Read and check a master key file (regular, mode 0600, 64 hex characters). */
extern void tg_read_key_file(const char *path, const char *setting, uint8_t out[TG_KEY_LEN]);
/* Drop the loaded keys: data keys only, or the master key too (reloaded on next use). */
extern void tg_forget_data_keys(void);
extern void tg_forget_master_key(void);

/* The data key of a version (XX001-class error when it does not exist). */
extern const uint8_t *tg_data_key(int32 version);
/* The newest data key version, creating version 1 on first use. */
extern int32 tg_newest_data_version(void);
/* The blind-index key, creating it on first use. */
extern const uint8_t *tg_blind_index_key(void);
/*
 * Seal and open tenantguard's own secrets (an HS256 signing secret, a
 * user's TOTP secret): under the newest data key's key for key_tenant (a
 * reserved pseudo-tenant, never a real one), with the envelope's tenant
 * field — authenticated — set to bind, so that a sealed value moved to
 * another owner's row does not open. tg_keyring_open returns the plaintext
 * in palloc'ed memory (*len bytes; the caller wipes it) and raises XX001
 * "stored <what> is malformed / does not authenticate".
 */
extern bytea *tg_keyring_seal(const uint8_t key_tenant[16], const uint8_t bind[16],
							  const uint8_t *pt, size_t len, const char *what);
extern uint8_t *tg_keyring_open(const uint8_t key_tenant[16], const uint8_t bind[16],
								const uint8_t *sealed, size_t sealed_len, size_t *len,
								const char *what);
/* Create and store a key; if_missing: only when none of that purpose exists (returns 0 then). */
extern int32 tg_create_key(tg_key_purpose purpose, bool if_missing);

#endif
