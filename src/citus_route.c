/*
 * citus_route.c — one-tenant queries routed to one Citus shard.
 *
 * Citus prunes shards only with a constant on the distribution column; the
 * isolation policy compares it with tenantguard.current_tenant(), a STABLE
 * function, so a query under a tenant context fans out to every shard (Citus
 * issue #7415). When a context is set, the planner hook gives every relation
 * whose row level security qual is the isolation policy a second qual: the
 * same comparison with the context's tenant as a constant, which Citus'
 * pruning uses. The policy's own qual stays (and the shards apply theirs), so
 * the constant only narrows: a plan used under another context can never
 * return more rows than the policy allows. Plans that carry a constant are
 * marked, and the marked cached plans are invalidated whenever the context
 * may have changed, so that they are planned again for the new tenant.
 * Only where Citus is loaded, with tenantguard.citus_routing on.
 *
 * Layer 6: uses the caches and the context.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/plannodes.h"
#include "parser/parse_func.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/uuid.h"

#include "cache.h"
#include "citus_route.h"
#include "context.h"

/* tenantguard.citus_routing */
static bool tg_citus_routing = true;

/*
 * The hash value of the PROCOID invalidation item a plan with a tenant
 * constant carries. Not the hash of any function tenantguard knows of; should
 * it equal another function's, changing the context merely replans that
 * function's plans too.
 */
#define TG_ROUTE_INVAL_HASH ((uint32) 0x74677274)

/* A plan with a tenant constant may be cached since the last invalidation. */
static bool tg_route_folded = false;

/* tenantguard.current_tenant()'s oid in this database; InvalidOid = look up. */
static Oid	tg_current_tenant_fn = InvalidOid;

static void
tg_route_cache_reset(void)
{
	tg_current_tenant_fn = InvalidOid;
}

/* The context may have changed: cached plans with a tenant constant are stale. */
static void
tg_route_context_changed(void)
{
	if (!tg_route_folded)
		return;
	tg_route_folded = false;
	CallSyscacheCallbacks(PROCOID, TG_ROUTE_INVAL_HASH);
}

typedef struct TgFold
{
	Oid			fn;				/* tenantguard.current_tenant() */
	Const	   *tenant;			/* the context's tenant */
	bool		folded;
} TgFold;

/*
 * The constant copy of "var = current_tenant()" for the relation rtindex, or
 * NULL when qual is not that comparison.
 */
static Expr *
tg_fold_comparison(Node *qual, TgFold *fold)
{
	OpExpr	   *op;
	Node	   *lhs;
	Node	   *rhs;
	OpExpr	   *copy;

	if (!IsA(qual, OpExpr))
		return NULL;
	op = (OpExpr *) qual;
	if (list_length(op->args) != 2 || get_opcode(op->opno) != F_UUID_EQ)
		return NULL;
	lhs = linitial(op->args);
	rhs = lsecond(op->args);
	if (!IsA(lhs, Var) || ((Var *) lhs)->varlevelsup != 0 ||
		!IsA(rhs, FuncExpr) || ((FuncExpr *) rhs)->funcid != fold->fn)
		return NULL;
	copy = (OpExpr *) copyObject(op);
	lsecond(copy->args) = copyObject(fold->tenant);
	return (Expr *) copy;
}

/*
 * The constant comparisons for one security qual: the qual itself or a
 * conjunct of it (never inside OR or NOT, where it would not narrow).
 */
static List *
tg_fold_qual(Node *qual, TgFold *fold, List *extra)
{
	Expr	   *c;

	if (qual == NULL)
		return extra;
	if (is_andclause(qual))
	{
		ListCell   *lc;

		foreach(lc, ((BoolExpr *) qual)->args)
			extra = tg_fold_qual(lfirst(lc), fold, extra);
		return extra;
	}
	c = tg_fold_comparison(qual, fold);
	return c ? lappend(extra, c) : extra;
}

static bool
tg_fold_walker(Node *node, TgFold *fold)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;
		List	   *extra = NIL;
		ListCell   *lc;

		if (rte->rtekind != RTE_RELATION || rte->securityQuals == NIL)
			return false;
		foreach(lc, rte->securityQuals)
			extra = tg_fold_qual(lfirst(lc), fold, extra);
		if (extra != NIL)
		{
			/* a security qual of its own, after the policy's */
			rte->securityQuals = lappend(rte->securityQuals,
										 list_length(extra) == 1 ? linitial(extra)
										 : (Node *) make_andclause(extra));
			fold->folded = true;
		}
		return false;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, tg_fold_walker, fold,
								 QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, tg_fold_walker, fold);
}

/* Before planning (see citus_route.h). */
bool
tg_route_fold(Query *parse)
{
	const TgEffectiveContext *ctx;
	TgFold		fold;
	pg_uuid_t  *tenant;

	if (!tg_citus_routing || !tg_citus_loaded() || !tg_extension_present())
		return false;
	/* not in SECURITY DEFINER code, whose cached plans outlive a change of caller */
	if (GetUserId() != GetOuterUserId() || InSecurityRestrictedOperation())
		return false;
	ctx = tg_effective_context();
	if (ctx == NULL)
		return false;
	if (!OidIsValid(tg_current_tenant_fn))
		tg_current_tenant_fn = LookupFuncName(list_make2(makeString("tenantguard"),
														 makeString("current_tenant")),
											  0, NULL, true);
	if (!OidIsValid(tg_current_tenant_fn))
		return false;

	tenant = (pg_uuid_t *) palloc(sizeof(pg_uuid_t));
	*tenant = ctx->tenant;
	fold.fn = tg_current_tenant_fn;
	fold.tenant = makeConst(UUIDOID, -1, InvalidOid, UUID_LEN,
							UUIDPGetDatum(tenant), false, false);
	fold.folded = false;
	(void) query_tree_walker(parse, tg_fold_walker, &fold, QTW_EXAMINE_RTES_BEFORE);
	return fold.folded;
}

/* After planning a query tg_route_fold() changed (see citus_route.h). */
void
tg_route_mark(PlannedStmt *stmt)
{
	PlanInvalItem *item = makeNode(PlanInvalItem);

	item->cacheId = PROCOID;
	item->hashValue = TG_ROUTE_INVAL_HASH;
	stmt->invalItems = lappend(stmt->invalItems, item);
	tg_route_folded = true;
}

/* The routing setting and listeners. */
void
tg_route_init(void)
{
	DefineCustomBoolVariable("tenantguard.citus_routing",
							 "Route a query under a tenant context to the tenant's Citus shard.",
							 "Adds the context's tenant as a constant beside the isolation policy's "
							 "qual, so that Citus prunes shards; only where Citus is loaded.",
							 &tg_citus_routing,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	tg_cache_register_listener(tg_route_cache_reset);
	tg_context_register_change_listener(tg_route_context_changed);
}
