/*
 * jti_store.h — single-use token ids (the "jti" claim) across all backends
 * (layer 2): a fixed shared-memory table of the ids seen, each kept until its
 * token expires.
 *
 * A jti is bound to the first use's origin: this backend's transaction, or,
 * on a Citus worker, the coordinator backend whose connections carry
 * application_name "citus_internal gpid=<n>" (one coordinator transaction
 * fans out over several connections to one worker, each sending the same
 * SET LOCAL). A later use from the same origin is the same use; any other
 * use is a replay.
 */
#ifndef TG_JTI_STORE_H
#define TG_JTI_STORE_H

#include "postgres.h"
#include "datatype/timestamp.h"

typedef enum TgJtiResult
{
	TG_JTI_FIRST_USE,			/* recorded now */
	TG_JTI_SAME_USE,			/* recorded earlier by the same origin */
	TG_JTI_REPLAY,				/* recorded earlier by another origin */
	TG_JTI_FULL					/* no room: refuse (fail closed) */
} TgJtiResult;

extern void tg_jti_init(void);
extern void tg_jti_shmem_request(void);
extern void tg_jti_shmem_startup(void);

/*
 * Use the jti of a token signed with kid that expires (for this purpose,
 * leeway included) at expires.
 */
extern TgJtiResult tg_jti_use(const char *kid, const char *jti, TimestampTz expires);

#endif
