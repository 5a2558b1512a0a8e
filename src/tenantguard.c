/*
 * tenantguard.c — module entry point: settings, hooks, the preload check.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "tenantguard.h"

PG_MODULE_MAGIC;

bool		tg_require_context = true;
bool		tg_ddl_guard = true;
bool		tg_preloaded = false;
int			tg_audit_decisions = TG_AUDIT_DECISIONS_DENY;

static const struct config_enum_entry tg_audit_decision_options[] = {
	{"none", TG_AUDIT_DECISIONS_NONE, false},
	{"deny", TG_AUDIT_DECISIONS_DENY, false},
	{"all", TG_AUDIT_DECISIONS_ALL, false},
	{NULL, 0, false}
};

void		_PG_init(void);

/* Install settings and hooks; only a preloaded library installs hooks. */
void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	tg_preloaded = true;

	DefineCustomBoolVariable("tenantguard.require_context",
							 "Raise an error when a protected table is touched without a tenant context.",
							 "When off, such statements see no rows and cannot write, without an error.",
							 &tg_require_context,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("tenantguard.ddl_guard",
							 "Refuse DDL that would weaken the isolation of protected tables.",
							 "Superuser-only emergency switch; leave on.",
							 &tg_ddl_guard,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomEnumVariable("tenantguard.audit_decisions",
							 "Which authorization decisions are written to the audit log.",
							 "deny records refusals, all records every decision, none records none.",
							 &tg_audit_decisions,
							 TG_AUDIT_DECISIONS_DENY,
							 tg_audit_decision_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	tg_context_define_settings();
	tg_secrets_init();
	tg_audit_worker_init();

	MarkGUCPrefixReserved("tenantguard");

	tg_cache_init();
	tg_guard_init();
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
