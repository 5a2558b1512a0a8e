/*
 * jti_store.c — single-use token ids across all backends (see jti_store.h).
 *
 * The table is set-associative: a jti's hash picks one bucket of
 * TG_JTI_WAYS slots, and a slot is free when empty or when the token it
 * remembers has expired (it can no longer be used anyway). No entry is ever
 * dropped while its token is valid: when every slot of the bucket holds a
 * valid token the use is refused (TG_JTI_FULL), never let through. The
 * table's size is tenantguard.token_jti_slots (restart).
 *
 * Keys are BLAKE2b-128 of (kid, jti) under a per-cluster random key drawn
 * at startup, so that bucket choice cannot be steered from outside.
 *
 * Layer 2: no calls into other tenantguard files.
 */
#include "postgres.h"

#include <string.h>
#include <sodium.h>

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "jti_store.h"

#define TG_JTI_WAYS 8
#define TG_JTI_KEY_LEN 16

typedef struct TgJtiSlot
{
	uint8		key[TG_JTI_KEY_LEN];
	TimestampTz expires;		/* 0 = empty */
	uint64		origin;
	Oid			user_id;
	bool		citus;			/* origin is a Citus global pid */
} TgJtiSlot;

typedef struct TgJtiShared
{
	LWLock	   *lock;
	int			nbuckets;
	uint8		hash_key[crypto_generichash_KEYBYTES];
	/* followed by TgJtiSlot[nbuckets * TG_JTI_WAYS] */
} TgJtiShared;

static int	tg_jti_slots = 16384;
static TgJtiShared *tg_jti = NULL;
static TgJtiSlot *tg_jti_table = NULL;

static int
tg_jti_nbuckets(void)
{
	return (tg_jti_slots + TG_JTI_WAYS - 1) / TG_JTI_WAYS;
}

static Size
tg_jti_shmem_size(void)
{
	return add_size(MAXALIGN(sizeof(TgJtiShared)),
					mul_size(mul_size(tg_jti_nbuckets(), TG_JTI_WAYS), sizeof(TgJtiSlot)));
}

void
tg_jti_init(void)
{
	DefineCustomIntVariable("tenantguard.token_jti_slots",
							"Single-use token ids (jti) remembered across all backends until their tokens expire.",
							"When every slot a token's id maps to holds an unexpired token, the token is refused.",
							&tg_jti_slots,
							16384, 128, 1 << 22,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);
}

void
tg_jti_shmem_request(void)
{
	RequestAddinShmemSpace(tg_jti_shmem_size());
	RequestNamedLWLockTranche("tenantguard_jti", 1);
}

void
tg_jti_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	tg_jti = ShmemInitStruct("tenantguard_jti", tg_jti_shmem_size(), &found);
	if (!found)
	{
		memset(tg_jti, 0, tg_jti_shmem_size());
		tg_jti->lock = &(GetNamedLWLockTranche("tenantguard_jti"))->lock;
		tg_jti->nbuckets = tg_jti_nbuckets();
		randombytes_buf(tg_jti->hash_key, sizeof(tg_jti->hash_key));
	}
	tg_jti_table = (TgJtiSlot *) ((char *) tg_jti + MAXALIGN(sizeof(TgJtiShared)));
	LWLockRelease(AddinShmemInitLock);
}

/*
 * This use's origin: a Citus coordinator backend's global pid when the
 * connection is one of Citus' own (application_name "citus_internal
 * gpid=<digits>"), else this backend's current local transaction.
 */
static uint64
tg_jti_origin(bool *citus)
{
	const char *prefix = "citus_internal gpid=";
	size_t		plen = strlen(prefix);

	*citus = false;
	if (application_name != NULL && strncmp(application_name, prefix, plen) == 0)
	{
		const char *p = application_name + plen;
		uint64		v = 0;
		int			n = 0;

		while (*p >= '0' && *p <= '9' && n < 19)
		{
			v = v * 10 + (uint64) (*p - '0');
			p++;
			n++;
		}
		if (n > 0 && *p == '\0')
		{
			*citus = true;
			return v;
		}
	}
	return ((uint64) (uint32) MyBackendId << 32) | (uint64) MyProc->lxid;
}

TgJtiResult
tg_jti_use(const char *kid, const char *jti, TimestampTz expires)
{
	crypto_generichash_state st;
	uint8		key[TG_JTI_KEY_LEN];
	uint8		sep = 0;
	uint64		bucket;
	TgJtiSlot  *slots;
	TgJtiSlot  *free_slot = NULL;
	TimestampTz now = GetCurrentTimestamp();
	bool		citus;
	uint64		origin = tg_jti_origin(&citus);
	Oid			user_id = GetSessionUserId();
	TgJtiResult result = TG_JTI_FULL;
	int			i;

	if (tg_jti == NULL)
		return TG_JTI_FULL;		/* not preloaded: fail closed */

	crypto_generichash_init(&st, tg_jti->hash_key, sizeof(tg_jti->hash_key), sizeof(key));
	crypto_generichash_update(&st, (const uint8 *) kid, strlen(kid));
	crypto_generichash_update(&st, &sep, 1);
	crypto_generichash_update(&st, (const uint8 *) jti, strlen(jti));
	crypto_generichash_final(&st, key, sizeof(key));
	memcpy(&bucket, key, sizeof(bucket));
	slots = &tg_jti_table[(bucket % (uint64) tg_jti->nbuckets) * TG_JTI_WAYS];

	LWLockAcquire(tg_jti->lock, LW_EXCLUSIVE);
	for (i = 0; i < TG_JTI_WAYS; i++)
	{
		TgJtiSlot  *s = &slots[i];
		bool		live = s->expires != 0 && s->expires >= now;

		if (live && memcmp(s->key, key, sizeof(key)) == 0)
		{
			result = (s->origin == origin && s->citus == citus && s->user_id == user_id)
				? TG_JTI_SAME_USE : TG_JTI_REPLAY;
			free_slot = NULL;
			break;
		}
		if (!live && free_slot == NULL)
			free_slot = s;
	}
	if (i == TG_JTI_WAYS && free_slot != NULL)
	{
		memcpy(free_slot->key, key, sizeof(key));
		free_slot->expires = expires;
		free_slot->origin = origin;
		free_slot->citus = citus;
		free_slot->user_id = user_id;
		result = TG_JTI_FIRST_USE;
	}
	LWLockRelease(tg_jti->lock);
	return result;
}
