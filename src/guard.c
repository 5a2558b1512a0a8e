/*
 * guard.c — enforcement hooks: fail closed on protected tables touched without
 * a tenant context, and refuse DDL that would weaken a protected table.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_policy.h"
#include "catalog/indexing.h"
#include "utils/fmgroids.h"
#include "catalog/heap.h"
#include "catalog/namespace.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"

#include "tenantguard.h"

static ExecutorCheckPerms_hook_type prev_check_perms = NULL;
static ProcessUtility_hook_type prev_utility = NULL;

/* Above zero only while protect()/unprotect() run their own DDL. */
static int	tg_bypass = 0;

bool
tg_guard_bypassed(void)
{
	return tg_bypass > 0;
}

/*
 * Reading an unprotected parent also reads its children, with the parent's
 * policies only: a protected child must not be reached that way.
 */
static void
tg_check_unprotected_parent(RangeTblEntry *rte)
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

		if (kid != rte->relid && tg_is_protected(kid, NULL) &&
			check_enable_rls(kid, user, true) == RLS_ENABLED)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("protected table \"%s\" cannot be read through unprotected parent \"%s\"",
							get_rel_name(kid), get_rel_name(rte->relid)),
					 errdetail("A query on a parent applies only the parent's row level security."),
					 errhint("Protect the parent too: tenantguard.protect('%s').",
							 get_rel_name(rte->relid))));
	}
}

/* Fail closed: a protected relation under RLS needs a tenant context. */
static bool
tg_check_perms(List *rangeTable, bool ereport_on_violation)
{
	ListCell   *lc;

	if (prev_check_perms && !prev_check_perms(rangeTable, ereport_on_violation))
		return false;
	if (!tg_extension_present())
		return true;

	foreach(lc, rangeTable)
	{
		RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);
		Oid			user;

		if (rte->rtekind != RTE_RELATION)
			continue;
		/* a leak, not a missing context: checked whatever require_context says */
		if (rte->inh && !tg_is_protected(rte->relid, NULL))
		{
			tg_check_unprotected_parent(rte);
			continue;
		}
		if (!tg_require_context || !tg_is_protected(rte->relid, NULL))
			continue;
		if (tg_effective_context() != NULL)
			continue;			/* later entries may still be unprotected parents */
		user = OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId();
		if (check_enable_rls(rte->relid, user, true) != RLS_ENABLED)
			continue;
		if (!ereport_on_violation)
			return false;
		if (tg_audit_decisions != TG_AUDIT_DECISIONS_NONE)
		{
			TgAuditEvent ev;

			memset(&ev, 0, sizeof(ev));
			ev.category = "policy";
			ev.action = "access";
			ev.decision = "deny";
			ev.object = quote_qualified_identifier(get_namespace_name(get_rel_namespace(rte->relid)),
												   get_rel_name(rte->relid));
			ev.reason = "no tenant context is set";
			tg_audit_refusal(&ev);
		}
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("no tenant context is set"),
				 errdetail("Table \"%s\" is protected by tenantguard.",
						   get_rel_name(rte->relid)),
				 errhint("Enter a tenant first: tenantguard.set_tenant(tenant) for administrators, "
						 "tenantguard.assume(token) or SET LOCAL tenantguard.context = '<signed token>' "
						 "for applications, tenantguard.resume(session_token) for signed-in users, "
						 "or connect as a role bound with tenantguard.bind_role().")));
	}
	return true;
}

/* Record a refused DDL statement on relid; it survives the caller's rollback. */
static void
tg_record_refusal(const char *what, Oid relid)
{
	TgAuditEvent ev;

	memset(&ev, 0, sizeof(ev));
	ev.category = "ddl";
	ev.action = what;
	ev.decision = "deny";
	ev.object = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
										   get_rel_name(relid));
	ev.reason = "refused by the tenantguard DDL guard";
	tg_audit_refusal(&ev);
}

static void
tg_refuse(const char *what, Oid relid)
{
	tg_record_refusal(what, relid);
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("cannot %s on protected table \"%s\"", what, get_rel_name(relid)),
			 errdetail("The table's tenant isolation is managed by tenantguard."),
			 errhint("Call tenantguard.unprotect('%s') first if isolation really must be removed.",
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												get_rel_name(relid)))));
}

/* Does relid have a policy of that name? */
static bool
tg_has_policy(Oid relid, const char *name)
{
	Relation	rel = table_open(PolicyRelationId, AccessShareLock);
	ScanKeyData key[2];
	SysScanDesc scan;
	bool		found;

	ScanKeyInit(&key[0], Anum_pg_policy_polrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	ScanKeyInit(&key[1], Anum_pg_policy_polname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum(name));
	scan = systable_beginscan(rel, PolicyPolrelidPolnameIndexId, true, NULL, 2, key);
	found = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/* Is relid audited by audit_table() (has its row trigger)? */
static bool
tg_is_audited(Oid relid)
{
	Relation	rel;
	bool		found = false;
	int			i;

	if (!OidIsValid(relid))
		return false;
	rel = try_relation_open(relid, AccessShareLock);
	if (rel == NULL)
		return false;
	if (rel->trigdesc)
		for (i = 0; i < rel->trigdesc->numtriggers && !found; i++)
			if (strcmp(rel->trigdesc->triggers[i].tgname, "tenantguard_audit_row") == 0)
				found = true;
	relation_close(rel, AccessShareLock);
	return found;
}

static void
tg_refuse_audit(const char *what, Oid relid)
{
	tg_record_refusal(what, relid);
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("cannot %s of audited table \"%s\"", what, get_rel_name(relid)),
			 errhint("Call tenantguard.unaudit_table() to stop auditing the table.")));
}

/* The protected relation named by rv, or InvalidOid. */
static Oid
tg_protected_relid(RangeVar *rv, char *tenant_column)
{
	Oid			relid;

	if (rv == NULL)
		return InvalidOid;
	relid = RangeVarGetRelid(rv, NoLock, true);
	if (!OidIsValid(relid) || !tg_is_protected(relid, tenant_column))
		return InvalidOid;
	return relid;
}

/*
 * Refuse a change to column `column` of the relation (or composite type)
 * named by rv when it reaches the tenant column of a protected table:
 * directly, through inheritance (unless ONLY), or through typed tables.
 */
static void
tg_check_column_change(RangeVar *rv, ObjectType objtype, const char *column, const char *what)
{
	Oid			relid;
	List	   *targets = NIL;
	ListCell   *lc;

	if (rv == NULL || column == NULL)
		return;
	relid = RangeVarGetRelid(rv, NoLock, true);
	if (!OidIsValid(relid))
		return;
	if (objtype == OBJECT_TYPE || get_rel_relkind(relid) == RELKIND_COMPOSITE_TYPE)
	{
		Oid			typid = get_rel_type_id(relid);
		Relation	pgclass = table_open(RelationRelationId, AccessShareLock);
		SysScanDesc scan = systable_beginscan(pgclass, InvalidOid, false, NULL, 0, NULL);
		HeapTuple	tup;

		while (HeapTupleIsValid(tup = systable_getnext(scan)))
		{
			Form_pg_class c = (Form_pg_class) GETSTRUCT(tup);

			if (c->reloftype == typid)
				targets = list_concat(targets, find_all_inheritors(c->oid, NoLock, NULL));
		}
		systable_endscan(scan);
		table_close(pgclass, AccessShareLock);
	}
	else if (rv->inh)
		targets = find_all_inheritors(relid, NoLock, NULL);
	else
		targets = list_make1_oid(relid);

	foreach(lc, targets)
	{
		char		tcol[NAMEDATALEN];
		Oid			target = lfirst_oid(lc);

		if (tg_is_protected(target, tcol) && strcmp(tcol, column) == 0)
			tg_refuse(what, target);
	}
}

static void
tg_guard_alter_table(AlterTableStmt *stmt)
{
	char		col[NAMEDATALEN];
	Oid			relid = tg_protected_relid(stmt->relation, col);
	ListCell   *lc;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

		/* disabling, or firing only on replicas, silences the audit triggers */
		if ((cmd->subtype == AT_DisableTrig || cmd->subtype == AT_DisableTrigAll ||
			 cmd->subtype == AT_DisableTrigUser || cmd->subtype == AT_EnableReplicaTrig) &&
			!superuser())
		{
			Oid			r = RangeVarGetRelid(stmt->relation, NoLock, true);
			bool		named = (cmd->subtype == AT_DisableTrig || cmd->subtype == AT_EnableReplicaTrig);

			if ((!named || (cmd->name && strncmp(cmd->name, "tenantguard_audit", 17) == 0)) &&
				tg_is_audited(r))
				tg_refuse_audit("disable the audit triggers", r);
		}

		if (cmd->subtype == AT_AttachPartition && stmt->objtype != OBJECT_INDEX)
		{
			PartitionCmd *pc = (PartitionCmd *) cmd->def;
			Oid			child;

			if (!OidIsValid(relid) || pc == NULL || pc->name == NULL)
				continue;
			child = RangeVarGetRelid(pc->name, NoLock, true);
			if (OidIsValid(child) && !tg_is_protected(child, NULL))
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("cannot attach unprotected table \"%s\" as a partition of protected table \"%s\"",
								get_rel_name(child), get_rel_name(relid)),
						 errhint("Call tenantguard.protect('%s') first, or create the partition with CREATE TABLE ... PARTITION OF.",
								 get_rel_name(child))));
			continue;
		}
		switch (cmd->subtype)
		{
			case AT_DropColumn:
			case AT_AlterColumnType:
			case AT_DropNotNull:
			case AT_ColumnDefault:
			case AT_AddIdentity:
			case AT_SetIdentity:
			case AT_DropIdentity:
			case AT_DropExpression:
			case AT_CookedColumnDefault:
				tg_check_column_change(stmt->relation, stmt->objtype, cmd->name,
									   "alter or drop the tenant column");
				break;
			default:
				break;
		}
		if (!OidIsValid(relid))
			continue;
		switch (cmd->subtype)
		{
			case AT_DisableRowSecurity:
				tg_refuse("disable row level security", relid);
				break;
			case AT_NoForceRowSecurity:
				tg_refuse("stop forcing row level security", relid);
				break;
			default:
				break;
		}
	}
}

/* Policy name and relation from DROP POLICY's object name list. */
static void
tg_guard_drop_policy(DropStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->objects)
	{
		List	   *names = (List *) lfirst(lc);
		const char *policy;
		List	   *relname;
		Oid			relid;

		if (list_length(names) < 2)
			continue;
		policy = strVal(llast(names));
		if (strcmp(policy, TG_POLICY_NAME) != 0)
			continue;
		relname = list_truncate(list_copy(names), list_length(names) - 1);
		relid = RangeVarGetRelid(makeRangeVarFromNameList(relname), NoLock, true);
		if (OidIsValid(relid) && tg_is_protected(relid, NULL))
			tg_refuse("drop policy " TG_POLICY_NAME, relid);
	}
}

/* The DDL guard; returns without error when the statement is allowed. */
static void
tg_guard_utility(Node *parsetree)
{
	Oid			relid;

	if (!tg_ddl_guard || tg_bypass > 0 || !tg_extension_present())
		return;

	switch (nodeTag(parsetree))
	{
		case T_AlterTableStmt:
			tg_guard_alter_table((AlterTableStmt *) parsetree);
			break;
		case T_RenameStmt:
			{
				RenameStmt *rs = (RenameStmt *) parsetree;

				if (rs->renameType == OBJECT_COLUMN || rs->renameType == OBJECT_ATTRIBUTE)
					tg_check_column_change(rs->relation,
										   rs->renameType == OBJECT_ATTRIBUTE ? OBJECT_TYPE : OBJECT_TABLE,
										   rs->subname, "rename the tenant column");
				else if (rs->renameType == OBJECT_TRIGGER && rs->subname && !superuser() &&
						 strncmp(rs->subname, "tenantguard_audit", 17) == 0)
				{
					relid = RangeVarGetRelid(rs->relation, NoLock, true);
					if (OidIsValid(relid) && tg_is_audited(relid))
						tg_refuse_audit("rename the audit triggers", relid);
				}
				else if (rs->renameType == OBJECT_POLICY && rs->subname &&
						 strcmp(rs->subname, TG_POLICY_NAME) == 0)
				{
					relid = tg_protected_relid(rs->relation, NULL);
					if (OidIsValid(relid))
						tg_refuse("rename policy " TG_POLICY_NAME, relid);
				}
				break;
			}
		case T_CreateTrigStmt:
			{
				CreateTrigStmt *ct = (CreateTrigStmt *) parsetree;

				if (ct->trigname && strncmp(ct->trigname, "tenantguard_audit", 17) == 0 && !superuser())
				{
					relid = RangeVarGetRelid(ct->relation, NoLock, true);
					if (OidIsValid(relid) && tg_is_audited(relid))
						tg_refuse_audit("create or replace the audit triggers", relid);
				}
				break;
			}
		case T_TruncateStmt:
			{
				TruncateStmt *ts = (TruncateStmt *) parsetree;
				List	   *rels = NIL;
				ListCell   *lc;

				foreach(lc, ts->relations)
				{
					RangeVar   *rv = (RangeVar *) lfirst(lc);
					Oid			r = RangeVarGetRelid(rv, NoLock, true);

					if (!OidIsValid(r))
						continue;
					if (rv->inh)
						rels = list_concat_unique_oid(rels, find_all_inheritors(r, NoLock, NULL));
					else
						rels = list_append_unique_oid(rels, r);
				}
				if (ts->behavior == DROP_CASCADE)
				{
					List	   *more = rels;

					while (more != NIL)
					{
						List	   *fks = heap_truncate_find_FKs(more);

						more = list_difference_oid(fks, rels);
						rels = list_concat_unique_oid(rels, more);
					}
				}
				foreach(lc, rels)
				{
					Oid			r = lfirst_oid(lc);

					if (tg_is_protected(r, NULL) &&
						check_enable_rls(r, InvalidOid, true) == RLS_ENABLED)
						tg_refuse("truncate (TRUNCATE ignores row level security)", r);
				}
				break;
			}
		case T_DropStmt:
			if (((DropStmt *) parsetree)->removeType == OBJECT_POLICY)
				tg_guard_drop_policy((DropStmt *) parsetree);
			else if (((DropStmt *) parsetree)->removeType == OBJECT_TRIGGER && !superuser())
			{
				ListCell   *lc;

				foreach(lc, ((DropStmt *) parsetree)->objects)
				{
					List	   *names = (List *) lfirst(lc);
					Oid			r;

					if (list_length(names) < 2 ||
						strncmp(strVal(llast(names)), "tenantguard_audit", 17) != 0)
						continue;
					r = RangeVarGetRelid(makeRangeVarFromNameList(list_truncate(list_copy(names),
																			  list_length(names) - 1)),
										 NoLock, true);
					if (OidIsValid(r) && tg_is_audited(r))
						tg_refuse_audit("drop the audit triggers", r);
				}
			}
			break;
		case T_AlterPolicyStmt:
			{
				AlterPolicyStmt *ps = (AlterPolicyStmt *) parsetree;

				if (strcmp(ps->policy_name, TG_POLICY_NAME) == 0)
				{
					relid = tg_protected_relid(ps->table, NULL);
					if (OidIsValid(relid))
						tg_refuse("alter policy " TG_POLICY_NAME, relid);
				}
				break;
			}
		case T_CreatePolicyStmt:
			{
				CreatePolicyStmt *ps = (CreatePolicyStmt *) parsetree;

				relid = tg_protected_relid(ps->table, NULL);
				/* pg_restore re-creates the isolation policy of a registered table */
				if (OidIsValid(relid) && strcmp(ps->policy_name, TG_POLICY_NAME) == 0 &&
					!tg_has_policy(relid, TG_POLICY_NAME))
					break;
				if (OidIsValid(relid) && ps->permissive)
					ereport(ERROR,
							(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
							 errmsg("cannot add permissive policy \"%s\" to protected table \"%s\"",
									ps->policy_name, get_rel_name(relid)),
							 errdetail("Permissive policies are combined with OR and would widen tenant isolation."),
							 errhint("Create it AS RESTRICTIVE: restrictive policies narrow access within the tenant.")));
				break;
			}
		default:
			break;
	}
}

/* RESET of a read-only mirror resets the context it mirrors. */
static void
tg_utility_reset_mirror(Node *parsetree)
{
	VariableSetStmt *vs;

	if (!IsA(parsetree, VariableSetStmt))
		return;
	vs = (VariableSetStmt *) parsetree;
	if ((vs->kind != VAR_RESET && vs->kind != VAR_SET_DEFAULT) || vs->name == NULL)
		return;
	if (strcmp(vs->name, "tenantguard.tenant") == 0 ||
		strcmp(vs->name, "tenantguard.principal") == 0)
		(void) set_config_option("tenantguard.context", NULL,
								 PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SET, true, 0, false);
}

static void
tg_process_utility(PlannedStmt *pstmt, const char *queryString,
				   bool readOnlyTree, ProcessUtilityContext context,
				   ParamListInfo params, QueryEnvironment *queryEnv,
				   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;

	if (IsTransactionState())
		tg_guard_utility(parsetree);
	tg_utility_reset_mirror(parsetree);

	if (prev_utility)
		prev_utility(pstmt, queryString, readOnlyTree, context, params,
					 queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

/* An aborted (sub)transaction never leaves the guard bypassed. */
static void
tg_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_COMMIT || event == XACT_EVENT_PREPARE)
		tg_bypass = 0;
}

static void
tg_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		tg_bypass = 0;
}

void
tg_guard_init(void)
{
	prev_check_perms = ExecutorCheckPerms_hook;
	ExecutorCheckPerms_hook = tg_check_perms;
	prev_utility = ProcessUtility_hook;
	ProcessUtility_hook = tg_process_utility;
	RegisterXactCallback(tg_xact_callback, NULL);
	RegisterSubXactCallback(tg_subxact_callback, NULL);
}

PG_FUNCTION_INFO_V1(tg_guard_bypass);

/*
 * _guard_bypass(on): protect()/unprotect() bracket their own DDL with it;
 * nesting counts. Not executable by anyone but the extension owner.
 */
Datum
tg_guard_bypass(PG_FUNCTION_ARGS)
{
	if (PG_GETARG_BOOL(0))
		tg_bypass++;
	else if (tg_bypass > 0)
		tg_bypass--;
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(tg_invoker_owns_schema);

/* _invoker_owns_schema(name): does the role outside any SECURITY DEFINER own it? */
Datum
tg_invoker_owns_schema(PG_FUNCTION_ARGS)
{
	Oid			nsp = get_namespace_oid(NameStr(*PG_GETARG_NAME(0)), false);

	PG_RETURN_BOOL(pg_namespace_ownercheck(nsp, GetOuterUserId()));
}

PG_FUNCTION_INFO_V1(tg_invoker_owns);

/* _invoker_owns(rel): does the role outside any SECURITY DEFINER own rel? */
Datum
tg_invoker_owns(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);

	PG_RETURN_BOOL(pg_class_ownercheck(relid, GetOuterUserId()));
}
