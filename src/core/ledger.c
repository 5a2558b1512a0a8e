/*
 * ledger.c — tamper evidence for audit events (pure C): SHA-256 through
 * OpenSSL, Ed25519 through libsodium. Nothing here aborts: failures are
 * returned, and the glue raises the error.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

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
 * SHA-256, the one implementation of every ledger hash: OpenSSL's (hardware
 * SHA extensions where the CPU has them). The digest is fetched once: an
 * implicit fetch per call costs more than hashing an event.
 */
static EVP_MD *sha256_md = NULL;

static const EVP_MD *
sha256(void)
{
	if (sha256_md == NULL)
		sha256_md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	return sha256_md;
}

/* One context for event hashes, reused (they are not nested). */
static EVP_MD_CTX *event_ctx = NULL;

bool
tg_sha256(const uint8_t *data, size_t len, uint8_t out[TG_HASH_LEN])
{
	unsigned int outlen = 0;

	return sha256() != NULL &&
		EVP_Digest(data, len, out, &outlen, sha256(), NULL) == 1 &&
		outlen == TG_HASH_LEN;
}

bool
tg_event_hash(const tg_hash_field *fields, int nfields, uint8_t out[TG_HASH_LEN])
{
	int			i;
	unsigned int outlen = 0;
	bool		ok;

	if (event_ctx == NULL && (event_ctx = EVP_MD_CTX_new()) == NULL)
		return false;
	if (sha256() == NULL || EVP_DigestInit_ex(event_ctx, sha256(), NULL) != 1)
		return false;
	ok = EVP_DigestUpdate(event_ctx, event_label, sizeof(event_label) - 1) == 1;
	for (i = 0; ok && i < nfields; i++)
	{
		uint8_t		hdr[5];

		if (fields[i].isnull)
		{
			hdr[0] = 0;
			ok = EVP_DigestUpdate(event_ctx, hdr, 1) == 1;
			continue;
		}
		hdr[0] = 1;
		put_be32(hdr + 1, (uint32_t) fields[i].len);
		ok = EVP_DigestUpdate(event_ctx, hdr, sizeof(hdr)) == 1;
		if (ok && fields[i].len > 0)
			ok = EVP_DigestUpdate(event_ctx, fields[i].data, fields[i].len) == 1;
	}
	return ok && EVP_DigestFinal_ex(event_ctx, out, &outlen) == 1 && outlen == TG_HASH_LEN;
}

bool
tg_root_init(tg_root_state *s)
{
	EVP_MD_CTX *ctx;

	s->ctx = NULL;
	s->count = 0;
	if (sha256() == NULL || (ctx = EVP_MD_CTX_new()) == NULL)
		return false;
	if (EVP_DigestInit_ex(ctx, sha256(), NULL) != 1 ||
		EVP_DigestUpdate(ctx, root_label, sizeof(root_label) - 1) != 1)
	{
		EVP_MD_CTX_free(ctx);
		return false;
	}
	s->ctx = ctx;
	return true;
}

bool
tg_root_add(tg_root_state *s, const uint8_t event_hash[TG_HASH_LEN])
{
	if (s->ctx == NULL || EVP_DigestUpdate((EVP_MD_CTX *) s->ctx, event_hash, TG_HASH_LEN) != 1)
		return false;
	s->count++;
	return true;
}

bool
tg_root_final(tg_root_state *s, uint8_t out[TG_HASH_LEN])
{
	unsigned int outlen = 0;
	bool		ok;

	if (s->ctx == NULL)
		return false;
	ok = EVP_DigestFinal_ex((EVP_MD_CTX *) s->ctx, out, &outlen) == 1 && outlen == TG_HASH_LEN;
	tg_root_free(s);
	return ok;
}

void
tg_root_free(tg_root_state *s)
{
	if (s->ctx != NULL)
		EVP_MD_CTX_free((EVP_MD_CTX *) s->ctx);
	s->ctx = NULL;
}

bool
tg_block_hash(int64_t block_id, uint64_t from_xid, uint64_t to_xid, int64_t count,
			  const uint8_t root[TG_HASH_LEN], const uint8_t prev[TG_HASH_LEN],
			  uint8_t out[TG_HASH_LEN])
{
	uint8_t		msg[sizeof(block_label) - 1 + 32 + 2 * TG_HASH_LEN];
	uint8_t    *p = msg;

	memcpy(p, block_label, sizeof(block_label) - 1);
	p += sizeof(block_label) - 1;
	put_be64(p, (uint64_t) block_id);
	put_be64(p + 8, from_xid);
	put_be64(p + 16, to_xid);
	put_be64(p + 24, (uint64_t) count);
	p += 32;
	memcpy(p, root, TG_HASH_LEN);
	memcpy(p + TG_HASH_LEN, prev, TG_HASH_LEN);
	return tg_sha256(msg, sizeof(msg), out);
}

bool
tg_ledger_keypair(const uint8_t master_key[32], uint8_t pk[TG_SIGN_PK_LEN],
				  uint8_t sk[TG_SIGN_SK_LEN])
{
	uint8_t		seed[crypto_sign_SEEDBYTES];
	bool		ok;

	ok = crypto_generichash(seed, sizeof(seed), (const uint8_t *) signing_label,
							sizeof(signing_label) - 1, master_key, 32) == 0 &&
		crypto_sign_seed_keypair(pk, sk, seed) == 0;
	sodium_memzero(seed, sizeof(seed));
	return ok;
}

bool
tg_ledger_sign(const uint8_t sk[TG_SIGN_SK_LEN], const uint8_t block_hash[TG_HASH_LEN],
			   uint8_t sig[TG_SIG_LEN])
{
	return crypto_sign_detached(sig, NULL, block_hash, TG_HASH_LEN, sk) == 0;
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

bool
tg_ledger_endorse(const uint8_t old_sk[TG_SIGN_SK_LEN], const uint8_t new_pk[TG_SIGN_PK_LEN],
				  uint8_t sig[TG_SIG_LEN])
{
	uint8_t		msg[sizeof(endorse_label) - 1 + TG_SIGN_PK_LEN];

	endorsement_message(new_pk, msg);
	return crypto_sign_detached(sig, NULL, msg, sizeof(msg), old_sk) == 0;
}

bool
tg_ledger_check_endorsement(const uint8_t old_pk[TG_SIGN_PK_LEN], const uint8_t new_pk[TG_SIGN_PK_LEN],
							const uint8_t sig[TG_SIG_LEN])
{
	uint8_t		msg[sizeof(endorse_label) - 1 + TG_SIGN_PK_LEN];

	endorsement_message(new_pk, msg);
	return crypto_sign_verify_detached(sig, msg, sizeof(msg), old_pk) == 0;
}
