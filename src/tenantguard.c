/*
 * tenantguard.c — the module's entry point: _PG_init calls each module's
 * init in layer order (each defines and owns its settings), reserves the
 * tenantguard prefix, then installs the hooks; and the preload check the
 * extension script calls first.
 *
 * Layer 10: the top.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "audit_queue.h"
#include "audit_worker.h"
#include "authz.h"
#include "cache.h"
#include "citus_route.h"
#include "context.h"
#include "guard_access.h"
#include "guard_ddl.h"
#include "hooks.h"
#include "identity.h"
#include "jti_store.h"
#include "keyring.h"
#include "login_throttle.h"
#include "password.h"
#include "sessions.h"
#include "token_keys.h"

PG_MODULE_MAGIC;

static bool tg_preloaded = false;

void		_PG_init(void);

/* Install settings and hooks; only a preloaded library installs hooks. */
void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	tg_preloaded = true;

	tg_keyring_init();
	tg_cache_init();
	tg_audit_queue_init();
	tg_jti_init();
	tg_throttle_init();
	tg_password_init();
	tg_token_keys_init();
	tg_context_init();
	tg_authz_init();
	tg_sessions_init();
	tg_guard_access_init();
	tg_guard_ddl_init();
	tg_route_init();
	tg_audit_worker_init();
	tg_identity_init();

	MarkGUCPrefixReserved("tenantguard");

	tg_hooks_install();
}

PG_FUNCTION_INFO_V1(tg_assert_preloaded);

/* Called first by the extension script: refuse to install without the preload. */
Datum
tg_assert_preloaded(PG_FUNCTION_ARGS)
{
	if (!tg_preloaded)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenantguard must be loaded via shared_preload_libraries"),
				 errhint("Add tenantguard to shared_preload_libraries in postgresql.conf "
						 "(shared_preload_libraries = 'tenantguard') and restart the server.")));
	PG_RETURN_VOID();
}
