/*
 * guard_ddl.c — the DDL guard: statements that would weaken a protected
 * table's isolation are refused (42501) unless tenantguard's own functions
 * run them (protect(), unprotect(), audit_table() bracket their DDL with
 * _guard_bypass()). One function per kind of statement; refusals are
 * recorded in the audit ledger through the queue (they survive rollback).
 *
 * Layer 7: uses the caches, the context and the event store.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_type.h"
#include "catalog/indexing.h"
#include "utils/fmgroids.h"
#include "catalog/heap.h"
#include "catalog/namespace.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "parser/parse_func.h"
#include "rewrite/rewriteHandler.h"
#include "storage/lockdefs.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/syscache.h"

#include "cache.h"
#include "context.h"
#include "event_store.h"
#include "guard_ddl.h"
#include "tenantguard.h"

/* tenantguard.ddl_guard */
static bool tg_ddl_guard = true;

/* Above zero only while protect()/unprotect() run their own DDL. */
static int	tg_bypass = 0;

/* Record a refused DDL statement on relid; it survives the caller's rollback. */
static void
tg_record_refusal(const char *what, Oid relid)
{
	tg_audit_deny(tg_actor_current(), "ddl", what,
				  quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
											 get_rel_name(relid)),
				  "refused by the tenantguard DDL guard");
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
 * Is the current role trusted with code and locks on relid? Superusers and
 * BYPASSRLS roles are not isolated anyway; the owner can unprotect() the
 * table. Everyone else holds at most privileges granted on it.
 */
static bool
tg_trusted_on(Oid relid)
{
	Oid			user = GetUserId();

	return has_bypassrls_privilege(user) || pg_class_ownercheck(relid, user);
}

/* Protected relations among relid and, if descend, its inheritors. */
static List *
tg_protected_in_tree(Oid relid, bool descend)
{
	List	   *found = NIL;
	ListCell   *lc;

	if (!descend || !has_subclass(relid))
		return tg_is_protected(relid, NULL) ? list_make1_oid(relid) : NIL;
	foreach(lc, find_all_inheritors(relid, NoLock, NULL))
		if (tg_is_protected(lfirst_oid(lc), NULL))
			found = lappend_oid(found, lfirst_oid(lc));
	return found;
}

typedef struct TgReach
{
	List	   *views;			/* views already walked */
	List	   *found;			/* protected tables reached */
} TgReach;

static bool tg_reach_walker(Node *node, TgReach *ctx);

static void
tg_reach_relation(Oid relid, bool inh, TgReach *ctx)
{
	ctx->found = list_concat_unique_oid(ctx->found, tg_protected_in_tree(relid, inh));
	if (get_rel_relkind(relid) == RELKIND_VIEW && !list_member_oid(ctx->views, relid))
	{
		Relation	view = relation_open(relid, AccessShareLock);

		ctx->views = lappend_oid(ctx->views, relid);
		(void) tg_reach_walker((Node *) get_view_query(view), ctx);
		relation_close(view, AccessShareLock);
	}
}

static bool
tg_reach_walker(Node *node, TgReach *ctx)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		ListCell   *lc;

		foreach(lc, ((Query *) node)->rtable)
		{
			RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);

			if (rte->rtekind == RTE_RELATION)
				tg_reach_relation(rte->relid, rte->inh, ctx);
		}
		return query_tree_walker((Query *) node, tg_reach_walker, ctx, 0);
	}
	return expression_tree_walker(node, tg_reach_walker, ctx);
}

/*
 * The protected tables a statement on relid reaches: relid itself, its
 * inheritors when descend, and for a view the tables it reads (as LOCK on a
 * view locks them, and an INSTEAD OF trigger sees the rows written to them).
 */
static List *
tg_reached_protected(Oid relid, bool descend)
{
	TgReach		ctx = {NIL, NIL};

	tg_reach_relation(relid, descend, &ctx);
	return ctx.found;
}

static char *
tg_qualified_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/*
 * CREATE TRIGGER: a trigger sees, and can change, every tenant's rows written
 * to its table, so only roles trusted on the protected table may add one: the
 * TRIGGER privilege alone is not enough. Row triggers on a partitioned table
 * are cloned onto its partitions; INSTEAD OF triggers on a view see the rows
 * written through it.
 */
static void
tg_guard_create_trigger(CreateTrigStmt *ct)
{
	Oid			relid = RangeVarGetRelid(ct->relation, NoLock, true);
	char		relkind;
	List	   *reached;
	ListCell   *lc;

	if (!OidIsValid(relid))
		return;
	relkind = get_rel_relkind(relid);
	if (relkind == RELKIND_VIEW)
	{
		if (tg_trusted_on(relid))
			return;
		reached = tg_reached_protected(relid, false);
		if (reached == NIL)
			return;
		tg_record_refusal("create trigger", linitial_oid(reached));
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot create trigger \"%s\" on view \"%s\" over protected table \"%s\"",
						ct->trigname, get_rel_name(relid), get_rel_name(linitial_oid(reached))),
				 errdetail("A trigger on the view sees every tenant's rows written through it."),
				 errhint("Only the view's owner may create triggers on it; the TRIGGER privilege grants nothing here to roles subject to row level security.")));
	}
	reached = tg_protected_in_tree(relid, relkind == RELKIND_PARTITIONED_TABLE);
	foreach(lc, reached)
	{
		Oid			target = lfirst_oid(lc);

		if (tg_trusted_on(target))
			continue;
		tg_record_refusal("create trigger", target);
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot create trigger \"%s\" on protected table \"%s\"",
						ct->trigname, get_rel_name(target)),
				 target != relid ?
				 errdetail("A row trigger on \"%s\" is cloned onto its partition \"%s\", where it would see every tenant's rows written to it.",
						   get_rel_name(relid), get_rel_name(target)) :
				 errdetail("A trigger sees, and can change, every tenant's rows written to the table."),
				 errhint("Only the table's owner may create triggers on it; the TRIGGER privilege grants nothing on protected tables to roles subject to their row level security.")));
	}
}

/*
 * CREATE RULE: a rule is rewritten into every tenant's statements on the
 * table and its actions run with the owner's rights; refused on protected
 * tables for every role subject to row level security, owners included.
 */
static void
tg_guard_create_rule(RuleStmt *rs)
{
	Oid			relid = RangeVarGetRelid(rs->relation, NoLock, true);

	if (!OidIsValid(relid) || !tg_is_protected(relid, NULL) ||
		has_bypassrls_privilege(GetUserId()))
		return;
	tg_record_refusal("create rule", relid);
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("cannot create rule \"%s\" on protected table \"%s\"",
					rs->rulename, get_rel_name(relid)),
			 errdetail("A rule is rewritten into every tenant's statements on the table, and its actions run with the owner's rights."),
			 errhint("Use a trigger instead, created by the table's owner.")));
}

/*
 * A foreign key into a protected table is checked without row level
 * security: its errors tell whether another tenant's key exists, its rows
 * block that tenant's deletes, and adding it locks the table. Only roles
 * trusted on the referenced table may add one (checked before any lock is
 * taken); what the key must look like is checked once it exists.
 */
static void
tg_guard_fk_privilege(Constraint *con)
{
	Oid			pk;
	ListCell   *lc;

	if (con == NULL || !IsA(con, Constraint) || con->contype != CONSTR_FOREIGN || con->pktable == NULL)
		return;
	pk = RangeVarGetRelid(con->pktable, NoLock, true);
	if (!OidIsValid(pk))
		return;
	foreach(lc, tg_protected_in_tree(pk, true))
	{
		Oid			target = lfirst_oid(lc);

		if (tg_trusted_on(target))
			continue;
		tg_record_refusal("add foreign key", target);
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot add a foreign key into protected table \"%s\"", get_rel_name(target)),
				 errdetail("A foreign key is checked without row level security: its errors would tell whether another tenant's key exists, and its rows would block that tenant's deletes."),
				 errhint("Only the table's owner may add foreign keys into it; the REFERENCES privilege grants nothing on protected tables to roles subject to their row level security.")));
	}
}

/* Foreign keys defined on relid itself (not clones from a partitioned parent). */
static List *
tg_foreign_keys(Oid relid)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	List	   *fks = NIL;

	if (!OidIsValid(relid))
		return NIL;
	rel = table_open(ConstraintRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_constraint_conrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, ConstraintRelidTypidNameIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tup);

		if (con->contype == CONSTRAINT_FOREIGN && !OidIsValid(con->conparentid))
			fks = lappend_oid(fks, con->oid);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return fks;
}

/*
 * A foreign key into a protected table must come from a protected table and
 * pair the two tenant columns, so a row can only reference its own tenant's
 * rows (the referencing table's policy fixes its tenant column).
 */
static void
tg_check_foreign_key(Oid conoid)
{
	HeapTuple	tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(conoid));
	Form_pg_constraint con;
	List	   *reached;
	char		pcol[NAMEDATALEN];
	char		rcol[NAMEDATALEN];
	bool		matched = false;
	bool		from_protected;
	Oid			target;
	char	   *conname;

	if (!HeapTupleIsValid(tup))
		return;
	con = (Form_pg_constraint) GETSTRUCT(tup);
	reached = tg_protected_in_tree(con->confrelid, true);
	if (reached == NIL)
	{
		ReleaseSysCache(tup);
		return;
	}
	target = list_member_oid(reached, con->confrelid) ? con->confrelid : linitial_oid(reached);
	(void) tg_is_protected(target, pcol);
	from_protected = tg_is_protected(con->conrelid, rcol);
	if (target == con->confrelid && from_protected)
	{
		int			n;
		int			ndel;
		AttrNumber	conkey[INDEX_MAX_KEYS];
		AttrNumber	confkey[INDEX_MAX_KEYS];
		AttrNumber	delcols[INDEX_MAX_KEYS];
		Oid			pf[INDEX_MAX_KEYS];
		Oid			pp[INDEX_MAX_KEYS];
		Oid			ff[INDEX_MAX_KEYS];
		AttrNumber	rk = get_attnum(con->conrelid, rcol);
		AttrNumber	pk = get_attnum(con->confrelid, pcol);
		int			i;

		DeconstructFkConstraintRow(tup, &n, conkey, confkey, pf, pp, ff, &ndel, delcols);
		for (i = 0; i < n; i++)
			if (conkey[i] == rk && confkey[i] == pk)
				matched = true;
	}
	if (matched)
	{
		ReleaseSysCache(tup);
		return;
	}
	conname = pstrdup(NameStr(con->conname));
	tg_record_refusal("add foreign key", target);
	if (target != con->confrelid)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("foreign key \"%s\" references unprotected parent \"%s\" of protected table \"%s\"",
						conname, get_rel_name(con->confrelid), get_rel_name(target)),
				 errdetail("A foreign key is checked without row level security, in every partition."),
				 errhint("Protect the parent too: tenantguard.protect('%s').",
						 tg_qualified_name(con->confrelid))));
	if (!from_protected)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("foreign key \"%s\" into protected table \"%s\" must come from a protected table",
						conname, get_rel_name(target)),
				 errdetail("A foreign key is checked without row level security: rows of the unprotected table \"%s\" could probe for, reference and block the deletes of any tenant's rows.",
						   get_rel_name(con->conrelid)),
				 errhint("Protect the table first (tenantguard.protect('%s')), then add the foreign key with both tenant columns: FOREIGN KEY (tenant_id, ...) REFERENCES %s (%s, ...).",
						 tg_qualified_name(con->conrelid), tg_qualified_name(target), pcol)));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("foreign key \"%s\" into protected table \"%s\" must pair the tenant columns",
					conname, get_rel_name(target)),
			 errdetail("A foreign key is checked without row level security: without the tenant columns, rows of \"%s\" could probe for, reference and block the deletes of another tenant's rows.",
					   get_rel_name(con->conrelid)),
			 errhint("Include them: FOREIGN KEY (%s, ...) REFERENCES %s (%s, ...).",
					 quote_identifier(rcol), tg_qualified_name(target), quote_identifier(pcol))));
}

/*
 * Replace the sublinks that do not refer to the policy's row by what they
 * compare (or a NULL of their type): they cannot reveal the row's values,
 * whereas contain_leaked_vars() calls every sublink leaky. Sublinks that
 * refer to the row stay, and count as leaky.
 */
static Node *
tg_strip_uncorrelated_sublinks(Node *node, void *context)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, SubLink))
	{
		SubLink    *sl = (SubLink *) node;

		if (contain_vars_of_level(sl->subselect, 1))
			return node;
		if (sl->testexpr)
			return tg_strip_uncorrelated_sublinks(sl->testexpr, context);
		return (Node *) makeNullConst(exprType(node), exprTypmod(node), exprCollation(node));
	}
	return expression_tree_mutator(node, tg_strip_uncorrelated_sublinks, context);
}

/* The arms of a (nested) AND, or the expression itself. */
static List *
tg_and_arms(Node *expr, List *arms)
{
	if (is_andclause(expr))
	{
		ListCell   *lc;

		foreach(lc, ((BoolExpr *) expr)->args)
			arms = tg_and_arms((Node *) lfirst(lc), arms);
		return arms;
	}
	return lappend(arms, expr);
}

/* A function of schema tenantguard by name and arguments, or InvalidOid. */
static Oid
tg_own_function(const char *name, int nargs, const Oid *argtypes)
{
	return LookupFuncName(list_make2(makeString(TG_SCHEMA), makeString(pstrdup(name))),
						  nargs, argtypes, true);
}

/* Is arm exactly <tenant column> = tenantguard.current_tenant() (uuid equality)? */
static bool
tg_is_tenant_comparison(Node *arm, AttrNumber tcol, Oid current_tenant)
{
	OpExpr	   *op;
	int			i;

	if (!IsA(arm, OpExpr) || list_length(((OpExpr *) arm)->args) != 2)
		return false;
	op = (OpExpr *) arm;
	set_opfuncid(op);
	if (op->opfuncid != F_UUID_EQ)
		return false;
	for (i = 0; i < 2; i++)
	{
		Node	   *a = (Node *) list_nth(op->args, i);
		Node	   *b = (Node *) list_nth(op->args, 1 - i);

		if (IsA(a, Var) && ((Var *) a)->varlevelsup == 0 && ((Var *) a)->varattno == tcol &&
			IsA(b, FuncExpr) && ((FuncExpr *) b)->funcid == current_tenant &&
			((FuncExpr *) b)->args == NIL)
			return true;
	}
	return false;
}

/*
 * Can this policy expression of a table (relid) reveal a row's values
 * through errors or side effects?
 *
 * One exception to PostgreSQL's notion: tenantguard.authorize() -- not
 * leakproof (it audits its decisions, and malformed arguments raise) --
 * with any arguments, in an AND that also compares the table's tenant
 * column with tenantguard.current_tenant(). PostgreSQL evaluates the
 * clauses of one security level in order of cost (order_qual_clauses();
 * the comparison is leakproof and costs two operators, authorize() is
 * declared with COST 100), so authorize() and its arguments only ever see
 * rows of the current tenant.
 */
static bool
tg_expr_leaks(Node *expr, Oid relid)
{
	static const Oid text2[2] = {TEXTOID, TEXTOID};
	char		tcolname[NAMEDATALEN];
	List	   *arms = tg_and_arms(expr, NIL);
	ListCell   *lc;
	bool		guarded = false;
	Oid			authorize = InvalidOid;

	if (tg_is_protected(relid, tcolname))
	{
		AttrNumber	tcol = get_attnum(relid, tcolname);
		Oid			current_tenant = tg_own_function("current_tenant", 0, NULL);

		foreach(lc, arms)
			if (tg_is_tenant_comparison((Node *) lfirst(lc), tcol, current_tenant))
				guarded = true;
		if (guarded)
			authorize = tg_own_function("authorize", 2, text2);
	}
	foreach(lc, arms)
	{
		Node	   *arm = (Node *) lfirst(lc);

		if (guarded && OidIsValid(authorize) && IsA(arm, FuncExpr) &&
			((FuncExpr *) arm)->funcid == authorize)
			continue;
		if (contain_leaked_vars(tg_strip_uncorrelated_sublinks(arm, NULL)))
			return true;
	}
	return false;
}

/* Are the USING and WITH CHECK expressions of this pg_policy tuple leakproof? */
static bool
tg_policy_tuple_leakproof(Relation pgpolicy, HeapTuple tup)
{
	static const AttrNumber cols[] = {Anum_pg_policy_polqual, Anum_pg_policy_polwithcheck};
	Oid			relid = ((Form_pg_policy) GETSTRUCT(tup))->polrelid;
	int			i;

	for (i = 0; i < (int) lengthof(cols); i++)
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, cols[i], RelationGetDescr(pgpolicy), &isnull);

		if (!isnull && tg_expr_leaks((Node *) stringToNode(TextDatumGetCString(d)), relid))
			return false;
	}
	return true;
}

/*
 * A restrictive policy is evaluated on every tenant's rows, possibly before
 * the isolation policy (PostgreSQL orders them by cost): refuse one that is
 * not leakproof on a protected table. Runs after the policy is stored.
 */
static void
tg_check_restrictive_policy(Oid relid, const char *name, const char *what)
{
	Relation	rel = table_open(PolicyRelationId, AccessShareLock);
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;
	bool		leaky = false;

	ScanKeyInit(&key[0], Anum_pg_policy_polrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	ScanKeyInit(&key[1], Anum_pg_policy_polname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum(name));
	scan = systable_beginscan(rel, PolicyPolrelidPolnameIndexId, true, NULL, 2, key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup) && !((Form_pg_policy) GETSTRUCT(tup))->polpermissive)
		leaky = !tg_policy_tuple_leakproof(rel, tup);
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (!leaky)
		return;
	tg_record_refusal(what, relid);
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("restrictive policy \"%s\" on protected table \"%s\" is not leakproof",
					name, get_rel_name(relid)),
			 errdetail("PostgreSQL may evaluate a restrictive policy before the tenant isolation policy, on every tenant's rows: a function, operator or cast applied to a column that is not LEAKPROOF can reveal another tenant's values in its errors."),
			 errhint("Apply only LEAKPROOF functions and operators to the table's columns (such as = or < on ordinary types), or subqueries that do not refer to the row; functions of constants, such as tenantguard.current_role_name() = 'admin', are fine. "
					 "tenantguard.authorize() on the columns is fine beside the tenant comparison: USING (tenant_id = tenantguard.current_tenant() AND tenantguard.authorize('docs.read', 'project/' || project)).")));
}

static const char *const tg_lock_mode_names[] = {
	"", "ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE",
	"SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"
};

/*
 * LOCK TABLE in a mode above ROW EXCLUSIVE blocks every tenant's writes (or
 * reads): refused on protected tables, reached directly, through inheritance
 * or through a view, to roles not trusted on them.
 */
static void
tg_guard_lock(LockStmt *ls)
{
	ListCell   *lc;

	if (ls->mode <= RowExclusiveLock || has_bypassrls_privilege(GetUserId()))
		return;
	foreach(lc, ls->relations)
	{
		RangeVar   *rv = (RangeVar *) lfirst(lc);
		Oid			relid = RangeVarGetRelid(rv, NoLock, true);
		ListCell   *lc2;

		if (!OidIsValid(relid))
			continue;
		foreach(lc2, tg_reached_protected(relid, rv->inh))
		{
			Oid			target = lfirst_oid(lc2);

			if (tg_trusted_on(target))
				continue;
			tg_record_refusal("lock", target);
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("cannot lock protected table \"%s\" in %s mode",
							get_rel_name(target),
							ls->mode < (int) lengthof(tg_lock_mode_names) ? tg_lock_mode_names[ls->mode] : "this"),
					 errdetail("A lock above ROW EXCLUSIVE on a table every tenant shares blocks the other tenants."),
					 errhint("Roles subject to the table's row level security may lock it in ROW EXCLUSIVE mode at most; lock rows with SELECT ... FOR UPDATE instead.")));
		}
	}
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

		if (cmd->subtype == AT_AddConstraint)
			tg_guard_fk_privilege((Constraint *) cmd->def);
		else if (cmd->subtype == AT_AddColumn && cmd->def && IsA(cmd->def, ColumnDef))
		{
			ListCell   *lcc;

			foreach(lcc, ((ColumnDef *) cmd->def)->constraints)
				tg_guard_fk_privilege((Constraint *) lfirst(lcc));
		}

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

/* What the guard checks once a statement has run. */
typedef struct TgPostCheck
{
	bool		fks;			/* check the foreign keys fk_rv gained */
	RangeVar   *fk_rv;
	List	   *fks_before;		/* its foreign keys before the statement */
	Oid			policy_rel;		/* check this restrictive policy, if valid */
	const char *policy_name;
	const char *policy_what;
} TgPostCheck;

/* Above zero while a CREATE TABLE runs: it checks its foreign keys at its end. */
static int	tg_create_depth = 0;

/* Does this ALTER TABLE add a foreign key? */
static bool
tg_adds_foreign_key(AlterTableStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

		if (cmd->subtype == AT_AddConstraint && cmd->def && IsA(cmd->def, Constraint) &&
			((Constraint *) cmd->def)->contype == CONSTR_FOREIGN)
			return true;
		if (cmd->subtype == AT_AddColumn && cmd->def && IsA(cmd->def, ColumnDef))
		{
			ListCell   *lcc;

			foreach(lcc, ((ColumnDef *) cmd->def)->constraints)
				if (IsA(lfirst(lcc), Constraint) &&
					((Constraint *) lfirst(lcc))->contype == CONSTR_FOREIGN)
					return true;
		}
	}
	return false;
}

/* The checks after the statement: new foreign keys, a restrictive policy. */
static void
tg_guard_after(TgPostCheck *post)
{
	if (post->fks)
	{
		Oid			relid = RangeVarGetRelid(post->fk_rv, NoLock, true);
		ListCell   *lc;

		foreach(lc, tg_foreign_keys(relid))
			if (!list_member_oid(post->fks_before, lfirst_oid(lc)))
				tg_check_foreign_key(lfirst_oid(lc));
	}
	if (OidIsValid(post->policy_rel))
		tg_check_restrictive_policy(post->policy_rel, post->policy_name, post->policy_what);
}

/* RENAME of the tenant column, of the audit triggers, of the isolation policy. */
static void
tg_guard_rename(RenameStmt *rs)
{
	Oid			relid;

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
}

/* CREATE TRIGGER: audit trigger names are reserved; then the trigger rules. */
static void
tg_guard_trigger_stmt(CreateTrigStmt *ct)
{
	if (ct->trigname && strncmp(ct->trigname, "tenantguard_audit", 17) == 0 && !superuser())
	{
		Oid			relid = RangeVarGetRelid(ct->relation, NoLock, true);

		if (OidIsValid(relid) && tg_is_audited(relid))
			tg_refuse_audit("create or replace the audit triggers", relid);
	}
	tg_guard_create_trigger(ct);
}

/* TRUNCATE ignores row level security: refused on protected tables (cascade and children too). */
static void
tg_guard_truncate(TruncateStmt *ts)
{
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
}

/* DROP TRIGGER of the audit triggers by anyone but a superuser. */
static void
tg_guard_drop_trigger(DropStmt *ds)
{
	ListCell   *lc;

	if (superuser())
		return;
	foreach(lc, ds->objects)
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

/* ALTER POLICY: never the isolation policy; a restrictive one is checked once altered. */
static void
tg_guard_alter_policy(AlterPolicyStmt *ps, TgPostCheck *post)
{
	Oid			relid = tg_protected_relid(ps->table, NULL);

	if (!OidIsValid(relid))
		return;
	if (strcmp(ps->policy_name, TG_POLICY_NAME) == 0)
		tg_refuse("alter policy " TG_POLICY_NAME, relid);
	post->policy_rel = relid;
	post->policy_name = ps->policy_name;
	post->policy_what = "alter policy";
}

/* CREATE POLICY: no permissive policy; a restrictive one is checked once created. */
static void
tg_guard_create_policy(CreatePolicyStmt *ps, TgPostCheck *post)
{
	Oid			relid = tg_protected_relid(ps->table, NULL);

	if (!OidIsValid(relid))
		return;
	/* pg_restore re-creates the isolation policy of a registered table */
	if (strcmp(ps->policy_name, TG_POLICY_NAME) == 0 && !tg_has_policy(relid, TG_POLICY_NAME))
		return;
	if (ps->permissive)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot add permissive policy \"%s\" to protected table \"%s\"",
						ps->policy_name, get_rel_name(relid)),
				 errdetail("Permissive policies are combined with OR and would widen tenant isolation."),
				 errhint("Create it AS RESTRICTIVE: restrictive policies narrow access within the tenant.")));
	post->policy_rel = relid;
	post->policy_name = ps->policy_name;
	post->policy_what = "create policy";
}

/*
 * The DDL guard before a statement runs: returns without error when the
 * statement is allowed, and fills post with what to check once it has run.
 */
static void
tg_guard_before(Node *parsetree, TgPostCheck *post)
{
	if (!tg_ddl_guard || tg_bypass > 0 || !tg_extension_present())
		return;

	/* new foreign keys: a CREATE TABLE checks its own at its end */
	if (IsA(parsetree, CreateStmt) ||
		(IsA(parsetree, AlterTableStmt) && tg_create_depth == 0 &&
		 tg_adds_foreign_key((AlterTableStmt *) parsetree)))
	{
		post->fk_rv = IsA(parsetree, CreateStmt) ? ((CreateStmt *) parsetree)->relation
			: ((AlterTableStmt *) parsetree)->relation;
		post->fks = true;
		post->fks_before = tg_foreign_keys(RangeVarGetRelid(post->fk_rv, NoLock, true));
	}

	switch (nodeTag(parsetree))
	{
		case T_AlterTableStmt:
			tg_guard_alter_table((AlterTableStmt *) parsetree);
			break;
		case T_RenameStmt:
			tg_guard_rename((RenameStmt *) parsetree);
			break;
		case T_CreateTrigStmt:
			tg_guard_trigger_stmt((CreateTrigStmt *) parsetree);
			break;
		case T_RuleStmt:
			tg_guard_create_rule((RuleStmt *) parsetree);
			break;
		case T_LockStmt:
			tg_guard_lock((LockStmt *) parsetree);
			break;
		case T_TruncateStmt:
			tg_guard_truncate((TruncateStmt *) parsetree);
			break;
		case T_DropStmt:
			if (((DropStmt *) parsetree)->removeType == OBJECT_POLICY)
				tg_guard_drop_policy((DropStmt *) parsetree);
			else if (((DropStmt *) parsetree)->removeType == OBJECT_TRIGGER)
				tg_guard_drop_trigger((DropStmt *) parsetree);
			break;
		case T_AlterPolicyStmt:
			tg_guard_alter_policy((AlterPolicyStmt *) parsetree, post);
			break;
		case T_CreatePolicyStmt:
			tg_guard_create_policy((CreatePolicyStmt *) parsetree, post);
			break;
		default:
			break;
	}
}

/*
 * The DDL guard around one utility statement (the ProcessUtility hook,
 * installed by hooks.c): checks before, runs it through next, checks after.
 */
void
tg_guard_utility(PlannedStmt *pstmt, const char *queryString,
				 bool readOnlyTree, ProcessUtilityContext context,
				 ParamListInfo params, QueryEnvironment *queryEnv,
				 DestReceiver *dest, QueryCompletion *qc, TgUtilityNext next)
{
	Node	   *parsetree = pstmt->utilityStmt;
	TgPostCheck post;
	bool		creating = IsA(parsetree, CreateStmt);

	memset(&post, 0, sizeof(post));
	if (IsTransactionState())
		tg_guard_before(parsetree, &post);

	if (creating)
		tg_create_depth++;
	PG_TRY();
	{
		next(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		if (creating)
			tg_create_depth--;
	}
	PG_END_TRY();

	tg_guard_after(&post);
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


/* The DDL guard's setting, and the callbacks that end a bypass. */
void
tg_guard_ddl_init(void)
{
	DefineCustomBoolVariable("tenantguard.ddl_guard",
							 "Refuse DDL that would weaken the isolation of protected tables.",
							 "Superuser-only emergency switch; leave on.",
							 &tg_ddl_guard,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
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

PG_FUNCTION_INFO_V1(tg_policy_is_leakproof);

/*
 * _policy_is_leakproof(policy oid): are the policy's USING and WITH CHECK
 * expressions leakproof, as the DDL guard judges restrictive policies? NULL
 * when there is no such policy.
 */
Datum
tg_policy_is_leakproof(PG_FUNCTION_ARGS)
{
	Oid			polid = PG_GETARG_OID(0);
	Relation	rel = table_open(PolicyRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found;
	bool		result = false;

	ScanKeyInit(&key, Anum_pg_policy_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(polid));
	scan = systable_beginscan(rel, PolicyOidIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	found = HeapTupleIsValid(tup);
	if (found)
		result = tg_policy_tuple_leakproof(rel, tup);
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (!found)
		PG_RETURN_NULL();
	PG_RETURN_BOOL(result);
}
