/*
 * guard_access.c — the fail-closed access check: a statement that reads or
 * writes a protected table under row level security without a tenant
 * context is refused (tenantguard.require_context), and protected tables are
 * never reached through an unprotected inheritance or partition parent.
 *
 * Layer 7: uses the caches, the context, the event store and the
 * authorization settings (tenantguard.audit_decisions).
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "rewrite/rowsecurity.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"

#include "authz.h"
#include "cache.h"
#include "context.h"
#include "event_store.h"
#include "guard_access.h"
#include "tenantguard.h"

static bool tg_require_context = true;

/*
 * Reading an unprotected parent also reads its children, with the parent's
 * policies only: a protected child must not be reached that way. Writing to
 * an unprotected partitioned table routes rows into its partitions, checked
 * against the parent's policies only (no WITH CHECK of the partition): a
 * protected partition must not be written that way either.
 */
static void
tg_check_unprotected_parent(RangeTblEntry *rte, bool write)
{
	List	   *kids;
	ListCell   *lc;
	Oid			user = OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId();

	if (!has_subclass(rte->relid))
		return;
	kids = find_all_inheritors(rte->relid, NoLock, NULL);
	foreach(lc, kids)
	{
		Oid			kid = lfirst_oid(lc);

		if (kid == rte->relid || !tg_is_protected(kid, NULL) ||
			check_enable_rls(kid, user, true) != RLS_ENABLED)
			continue;
		if (write)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("protected table \"%s\" cannot be written through unprotected parent \"%s\"",
							get_rel_name(kid), get_rel_name(rte->relid)),
					 errdetail("Rows written through a partitioned table are checked only against the parent's row level security."),
					 errhint("Protect the parent too: tenantguard.protect('%s').",
							 get_rel_name(rte->relid))));
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("protected table \"%s\" cannot be read through unprotected parent \"%s\"",
						get_rel_name(kid), get_rel_name(rte->relid)),
				 errdetail("A query on a parent applies only the parent's row level security."),
				 errhint("Protect the parent too: tenantguard.protect('%s').",
						 get_rel_name(rte->relid))));
	}
}

/*
 * Citus: is relid a shard, or a worker's shell table, of a protected
 * distributed table? Citus copies the isolation policy to every shard and
 * shell, but protect()'s registry lives only on the node where protect() ran,
 * so on the other nodes a relation under row level security that carries the
 * isolation policy counts as protected for the fail-closed check: a query
 * that Citus sends without a tenant context then fails with 42501 instead of
 * returning no rows. Only where Citus is installed in the database; the DDL
 * guard does not use it (it must not refuse the DDL Citus propagates).
 */
static bool
tg_is_citus_isolated(Oid relid)
{
	Relation	rel;
	bool		found = false;
	ListCell   *lc;

	if (!tg_citus_loaded())
		return false;
	rel = RelationIdGetRelation(relid);
	if (!RelationIsValid(rel))
		return false;
	if (rel->rd_rel->relrowsecurity && rel->rd_rsdesc != NULL)
		foreach(lc, rel->rd_rsdesc->policies)
			if (strcmp(((RowSecurityPolicy *) lfirst(lc))->policy_name, TG_POLICY_NAME) == 0)
				found = true;
	RelationClose(rel);
	return found && OidIsValid(get_extension_oid("citus", true));
}

/*
 * Fail closed: a protected relation under RLS needs a tenant context (the
 * ExecutorCheckPerms hook, installed by hooks.c).
 */
bool
tg_guard_check_perms(List *rangeTable, bool ereport_on_violation)
{
	ListCell   *lc;

	if (!tg_extension_present())
		return true;

	foreach(lc, rangeTable)
	{
		RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);
		Oid			user;
		bool		registered;
		bool		shard = false;

		if (rte->rtekind != RTE_RELATION)
			continue;
		registered = tg_is_protected(rte->relid, NULL);
		/* a leak, not a missing context: checked whatever require_context says */
		if (rte->relkind == RELKIND_PARTITIONED_TABLE &&
			(rte->requiredPerms & (ACL_INSERT | ACL_UPDATE)) != 0 && !registered)
			tg_check_unprotected_parent(rte, true);
		if (rte->inh && !registered)
			tg_check_unprotected_parent(rte, false);
		if (!tg_require_context || (!registered && !tg_citus_loaded()))
			continue;
		if (tg_effective_context() != NULL)
			continue;			/* later entries may still be unprotected parents */
		user = OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId();
		if (check_enable_rls(rte->relid, user, true) != RLS_ENABLED)
			continue;
		if (!registered && !(shard = tg_is_citus_isolated(rte->relid)))
			continue;
		if (!ereport_on_violation)
			return false;
		if (tg_authz_audit_denials())
			tg_audit_deny(tg_actor_current(), "policy", "access",
						  quote_qualified_identifier(get_namespace_name(get_rel_namespace(rte->relid)),
													 get_rel_name(rte->relid)),
						  "no tenant context is set");
		if (shard)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("no tenant context is set"),
					 errdetail("Table \"%s\" on this Citus node carries tenantguard's isolation policy (a shard or shell of a protected distributed table).",
							   get_rel_name(rte->relid)),
					 errhint("Citus forwards only SET LOCAL to its workers: enter the tenant on the coordinator with SET LOCAL tenantguard.context = '<signed token>' (citus.propagate_set_commands = 'local'), or connect as a role bound on every node; set_tenant() and assume() are not forwarded.")));
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("no tenant context is set"),
				 errdetail("Table \"%s\" is protected by tenantguard.",
						   get_rel_name(rte->relid)),
				 errhint("%s", tg_enter_hint)));
	}
	return true;
}


/* The access check's settings. */
void
tg_guard_access_init(void)
{
	DefineCustomBoolVariable("tenantguard.require_context",
							 "Raise an error when a protected table is touched without a tenant context.",
							 "When off, such statements see no rows and cannot write, without an error.",
							 &tg_require_context,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
}
