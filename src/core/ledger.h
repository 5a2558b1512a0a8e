/*
 * ledger.h — tamper evidence for audit events (pure C; no library types
 * in this header). Every function that can fail returns false.
 *
 *   event hash  = SHA-256("tenantguard-event-v1" || field_1 || ... || field_n)
 *                 where a field is 0x00 (NULL) or 0x01 || u32be(len) || bytes
 *   events root = SHA-256("tenantguard-root-v1" || event hash_1 || ...), events in id order
 *   block hash  = SHA-256("tenantguard-block-v1" || be64(block id) || be64(from xid)
 *                 || be64(to xid) || be64(event count) || events root || previous block hash)
 *   signature   = Ed25519 over the block hash, with a key pair whose seed is
 *                 BLAKE2b-256(key = master key, "tenantguard/audit-signing/v1")
 *   endorsement = Ed25519 by the previous signing key over
 *                 "tenantguard-ledger-key-v1" || next public key
 */
#ifndef TG_CORE_LEDGER_H
#define TG_CORE_LEDGER_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define TG_HASH_LEN 32
#define TG_SIG_LEN 64
#define TG_SIGN_PK_LEN 32
#define TG_SIGN_SK_LEN 64

typedef struct tg_hash_field
{
	const uint8_t *data;
	size_t		len;
	bool		isnull;
} tg_hash_field;

/* SHA-256 of len bytes (the ledger's one hash implementation). */
bool		tg_sha256(const uint8_t *data, size_t len, uint8_t out[TG_HASH_LEN]);

bool		tg_event_hash(const tg_hash_field *fields, int nfields, uint8_t out[TG_HASH_LEN]);

/* An events root being computed; ctx is owned by the module (opaque). */
typedef struct tg_root_state
{
	void	   *ctx;
	int64_t		count;
} tg_root_state;

bool		tg_root_init(tg_root_state *s);
bool		tg_root_add(tg_root_state *s, const uint8_t event_hash[TG_HASH_LEN]);
/* Final also frees the state; tg_root_free frees one abandoned midway. */
bool		tg_root_final(tg_root_state *s, uint8_t out[TG_HASH_LEN]);
void		tg_root_free(tg_root_state *s);

bool		tg_block_hash(int64_t block_id, uint64_t from_xid, uint64_t to_xid, int64_t count,
						  const uint8_t root[TG_HASH_LEN], const uint8_t prev[TG_HASH_LEN],
						  uint8_t out[TG_HASH_LEN]);

/* The audit signing key pair derived from the master key. */
bool		tg_ledger_keypair(const uint8_t master_key[32], uint8_t pk[TG_SIGN_PK_LEN],
							  uint8_t sk[TG_SIGN_SK_LEN]);

bool		tg_ledger_sign(const uint8_t sk[TG_SIGN_SK_LEN], const uint8_t block_hash[TG_HASH_LEN],
						   uint8_t sig[TG_SIG_LEN]);

bool		tg_ledger_verify(const uint8_t pk[TG_SIGN_PK_LEN], const uint8_t block_hash[TG_HASH_LEN],
							 const uint8_t sig[TG_SIG_LEN]);

/*
 * When the master key is replaced, the old signing key endorses the new one:
 * Ed25519 over "tenantguard-ledger-key-v1" || new public key.
 */
bool		tg_ledger_endorse(const uint8_t old_sk[TG_SIGN_SK_LEN], const uint8_t new_pk[TG_SIGN_PK_LEN],
							  uint8_t sig[TG_SIG_LEN]);

bool		tg_ledger_check_endorsement(const uint8_t old_pk[TG_SIGN_PK_LEN],
										const uint8_t new_pk[TG_SIGN_PK_LEN],
										const uint8_t sig[TG_SIG_LEN]);

#endif
