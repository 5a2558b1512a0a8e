/*
 * call_site.c — where a function was called from, for the audit events
 * that stand for many calls of it (one reveal event per statement and call
 * site): from the call's expression tree (fcinfo->flinfo->fn_expr), an
 * argument that is a Var of a table column names the relation and the
 * column, through the range table of the statement running it (pushed by
 * the executor hooks); anything else is named by its kind. The result is
 * cached in fn_extra, so it costs one catalog lookup per call site and
 * statement, not one per row. Never looks at argument values.
 *
 * Layer 1: uses only PostgreSQL.
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "nodes/primnodes.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"

#include "call_site.h"

/* The range table of the innermost running statement (NIL: none). */
static List *tg_current_rtable = NIL;
static uint64 tg_next_site_id = 1;

List *
tg_call_site_push(List *rtable)
{
	List	   *previous = tg_current_rtable;

	tg_current_rtable = rtable;
	return previous;
}

void
tg_call_site_pop(List *previous)
{
	tg_current_rtable = previous;
}

/* Fill site from object and JSON members; false (site untouched) when they do not fit. */
static bool
tg_site_set(TgCallSite *site, const char *object, const char *details)
{
	if (strlen(object) >= TG_SITE_OBJECT_MAX || strlen(details) >= TG_SITE_DETAILS_MAX)
		return false;
	strlcpy(site->object, object, sizeof(site->object));
	strlcpy(site->details, details, sizeof(site->details));
	site->id = tg_next_site_id++;
	return true;
}

void
tg_call_site_named(TgCallSite *site, const char *object, const char *details)
{
	if (!tg_site_set(site, object, details))
		(void) tg_site_set(site, "", "\"site\": \"named\"");
}

/*
 * A column of a plain table through range table entry rti, or false. The
 * column's type must be the Var's (a Var of another range table, as in a
 * trigger's WHEN clause, is not misnamed).
 */
static bool
tg_site_column(TgCallSite *site, List *rtable, int rti, AttrNumber attno, Oid vartype)
{
	RangeTblEntry *rte;
	char	   *rel,
			   *nsp,
			   *col;
	StringInfoData obj,
				det;
	bool		ok;

	if (rti <= 0 || rti > list_length(rtable) || attno <= 0)
		return false;
	rte = rt_fetch(rti, rtable);
	if (rte->rtekind != RTE_RELATION || !OidIsValid(rte->relid))
		return false;
	if (get_atttype(rte->relid, attno) != vartype)
		return false;
	rel = get_rel_name(rte->relid);
	nsp = get_namespace_name(get_rel_namespace(rte->relid));
	col = get_attname(rte->relid, attno, true);
	if (rel == NULL || nsp == NULL || col == NULL)
		return false;

	initStringInfo(&obj);
	appendStringInfo(&obj, "%s.%s", quote_identifier(nsp), quote_identifier(rel));
	initStringInfo(&det);
	appendStringInfoString(&det, "\"site\": \"column\", \"relation\": ");
	escape_json(&det, obj.data);
	appendStringInfoString(&det, ", \"column\": ");
	escape_json(&det, col);
	appendStringInfo(&obj, ".%s", quote_identifier(col));
	ok = tg_site_set(site, obj.data, det.data);
	if (!ok)
	{
		/* names too long to fit: the relation's OID and the column number */
		resetStringInfo(&det);
		appendStringInfo(&det, "\"site\": \"column\", \"relation_oid\": %u, \"attnum\": %d",
						 rte->relid, (int) attno);
		ok = tg_site_set(site, "", det.data);
	}
	pfree(obj.data);
	pfree(det.data);
	return ok;
}

/* The site of expression arg, which is not a column: its function, if it is a call. */
static void
tg_site_expression(TgCallSite *site, Node *arg)
{
	/*
	 * Constants and parameters are one kind: a PL/pgSQL statement's
	 * parameter is a constant in its first (custom) plans.
	 */
	if (arg != NULL && IsA(arg, FuncExpr))
	{
		Oid			fn = ((FuncExpr *) arg)->funcid;
		char	   *name = get_func_name(fn);
		char	   *nsp = get_namespace_name(get_func_namespace(fn));
		StringInfoData det;

		initStringInfo(&det);
		appendStringInfoString(&det, "\"site\": \"expression\"");
		if (name && nsp)
		{
			appendStringInfoString(&det, ", \"function\": ");
			escape_json(&det, psprintf("%s.%s", quote_identifier(nsp), quote_identifier(name)));
		}
		if (!tg_site_set(site, "", det.data))
			(void) tg_site_set(site, "", "\"site\": \"expression\"");
		pfree(det.data);
	}
	else
		(void) tg_site_set(site, "", "\"site\": \"expression\"");
}

static void
tg_site_resolve(TgCallSite *site, Node *fn_expr, int argno)
{
	List	   *args = NIL;
	Node	   *arg = NULL;

	if (fn_expr != NULL && IsA(fn_expr, FuncExpr))
		args = ((FuncExpr *) fn_expr)->args;
	if (argno < list_length(args))
		arg = (Node *) list_nth(args, argno);
	while (arg != NULL && IsA(arg, RelabelType))
		arg = (Node *) ((RelabelType *) arg)->arg;
	if (arg != NULL && IsA(arg, Var) && ((Var *) arg)->varlevelsup == 0)
	{
		Var		   *v = (Var *) arg;

		/*
		 * The syntactic referent first (the table the query names, also
		 * above joins and sorts, where varno is INNER_VAR/OUTER_VAR, and for
		 * a partitioned table's partitions), then the semantic one.
		 */
		if (v->varnosyn > 0 &&
			tg_site_column(site, tg_current_rtable, (int) v->varnosyn, v->varattnosyn, v->vartype))
			return;
		if (!IS_SPECIAL_VARNO(v->varno) &&
			tg_site_column(site, tg_current_rtable, v->varno, v->varattno, v->vartype))
			return;
	}
	if (fn_expr == NULL)
	{
		(void) tg_site_set(site, "", "\"site\": \"direct call\"");
		return;
	}
	tg_site_expression(site, arg);
}

const TgCallSite *
tg_call_site_of(FunctionCallInfo fcinfo, int argno)
{
	FmgrInfo   *fl = fcinfo->flinfo;
	TgCallSite *site;

	if (fl == NULL)
	{
		static TgCallSite direct;

		if (direct.id == 0)
			(void) tg_site_set(&direct, "", "\"site\": \"direct call\"");
		return &direct;
	}
	if (fl->fn_extra != NULL)
		return (const TgCallSite *) fl->fn_extra;
	site = MemoryContextAllocZero(fl->fn_mcxt, sizeof(TgCallSite));
	tg_site_resolve(site, fl->fn_expr, argno);
	fl->fn_extra = site;
	return site;
}
