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
/* Create and store a key; if_missing: only when none of that purpose exists (returns 0 then). */
extern int32 tg_create_key(tg_key_purpose purpose, bool if_missing);

#endif
