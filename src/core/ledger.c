/*
 * ledger.c — tamper evidence for audit events (pure C, libsodium).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ledger.h"

static const char event_label[] = "tenantguard-event-v1";
static const char root_label[] = "tenantguard-root-v1";
static const char block_label[] = "tenantguard-block-v1";
static const char signing_label[] = "tenantguard/audit-signing/v1";

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t) (v >> 32));
	put_be32(p + 4, (uint32_t) v);
}

/*
 * SHA-256 through OpenSSL (hardware SHA extensions where the CPU has them;
 * the digest is the same as libsodium's). One context, reused.
 */
static EVP_MD_CTX *event_ctx = NULL;
static EVP_MD *event_md = NULL;	/* fetched once: an implicit fetch per call costs more than the hash */

void
tg_event_hash(const tg_hash_field *fields, int nfields, uint8_t out[TG_HASH_LEN])
{
	int			i;
	unsigned int outlen = 0;

	if (event_ctx == NULL && (event_ctx = EVP_MD_CTX_new()) == NULL)
		abort();
	if (event_md == NULL && (event_md = EVP_MD_fetch(NULL, "SHA2-256", NULL)) == NULL)
		abort();
	if (EVP_DigestInit_ex(event_ctx, event_md, NULL) != 1)
		abort();
	EVP_DigestUpdate(event_ctx, event_label, sizeof(event_label) - 1);
	for (i = 0; i < nfields; i++)
	{
		uint8_t		hdr[5];

		if (fields[i].isnull)
		{
			hdr[0] = 0;
			EVP_DigestUpdate(event_ctx, hdr, 1);
			continue;
		}
		hdr[0] = 1;
		put_be32(hdr + 1, (uint32_t) fields[i].len);
		EVP_DigestUpdate(event_ctx, hdr, sizeof(hdr));
		if (fields[i].len > 0)
			EVP_DigestUpdate(event_ctx, fields[i].data, fields[i].len);
	}
	if (EVP_DigestFinal_ex(event_ctx, out, &outlen) != 1 || outlen != TG_HASH_LEN)
		abort();
}

void
tg_root_init(tg_root_state *s)
{
	crypto_hash_sha256_init(&s->st);
	crypto_hash_sha256_update(&s->st, (const uint8_t *) root_label, sizeof(root_label) - 1);
	s->count = 0;
}

void
tg_root_add(tg_root_state *s, const uint8_t event_hash[TG_HASH_LEN])
{
	crypto_hash_sha256_update(&s->st, event_hash, TG_HASH_LEN);
	s->count++;
}

void
tg_root_final(tg_root_state *s, uint8_t out[TG_HASH_LEN])
{
	crypto_hash_sha256_final(&s->st, out);
}

void
tg_block_hash(int64_t block_id, uint64_t from_xid, uint64_t to_xid, int64_t count,
			  const uint8_t root[TG_HASH_LEN], const uint8_t prev[TG_HASH_LEN],
			  uint8_t out[TG_HASH_LEN])
{
	crypto_hash_sha256_state st;
	uint8_t		nums[32];

	put_be64(nums, (uint64_t) block_id);
	put_be64(nums + 8, from_xid);
	put_be64(nums + 16, to_xid);
	put_be64(nums + 24, (uint64_t) count);
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *) block_label, sizeof(block_label) - 1);
	crypto_hash_sha256_update(&st, nums, sizeof(nums));
	crypto_hash_sha256_update(&st, root, TG_HASH_LEN);
	crypto_hash_sha256_update(&st, prev, TG_HASH_LEN);
	crypto_hash_sha256_final(&st, out);
}

void
tg_ledger_keypair(const uint8_t master_key[32], uint8_t pk[TG_SIGN_PK_LEN],
				  uint8_t sk[TG_SIGN_SK_LEN])
{
	uint8_t		seed[crypto_sign_SEEDBYTES];

	crypto_generichash(seed, sizeof(seed), (const uint8_t *) signing_label,
					   sizeof(signing_label) - 1, master_key, 32);
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
}

void
tg_ledger_sign(const uint8_t sk[TG_SIGN_SK_LEN], const uint8_t block_hash[TG_HASH_LEN],
			   uint8_t sig[TG_SIG_LEN])
{
	crypto_sign_detached(sig, NULL, block_hash, TG_HASH_LEN, sk);
}

bool
tg_ledger_verify(const uint8_t pk[TG_SIGN_PK_LEN], const uint8_t block_hash[TG_HASH_LEN],
				 const uint8_t sig[TG_SIG_LEN])
{
	return crypto_sign_verify_detached(sig, block_hash, TG_HASH_LEN, pk) == 0;
}

static const char endorse_label[] = "tenantguard-ledger-key-v1";

static void
endorsement_message(const uint8_t new_pk[TG_SIGN_PK_LEN], uint8_t msg[sizeof(endorse_label) - 1 + TG_SIGN_PK_LEN])
{
	memcpy(msg, endorse_label, sizeof(endorse_label) - 1);
	memcpy(msg + sizeof(endorse_label) - 1, new_pk, TG_SIGN_PK_LEN);
}

void
tg_ledger_endorse(const uint8_t old_sk[TG_SIGN_SK_LEN], const uint8_t new_pk[TG_SIGN_PK_LEN],
				  uint8_t sig[TG_SIG_LEN])
{
	uint8_t		msg[sizeof(endorse_label) - 1 + TG_SIGN_PK_LEN];

	endorsement_message(new_pk, msg);
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), old_sk);
}

bool
tg_ledger_check_endorsement(const uint8_t old_pk[TG_SIGN_PK_LEN], const uint8_t new_pk[TG_SIGN_PK_LEN],
							const uint8_t sig[TG_SIG_LEN])
{
	uint8_t		msg[sizeof(endorse_label) - 1 + TG_SIGN_PK_LEN];

	endorsement_message(new_pk, msg);
	return crypto_sign_verify_detached(sig, msg, sizeof(msg), old_pk) == 0;
}
