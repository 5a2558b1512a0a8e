/*
 * hooks.c — installs and chains every PostgreSQL hook tenantguard uses, and
 * hands each to the module that owns the behaviour: the access check
 * (ExecutorCheckPerms), the DDL guard, the context's mirror settings and the
 * event store's open events table (ProcessUtility), the audit queue's, jti store's and scrypt bound's shared memory (shmem_request,
 * shmem_startup), the statement boundaries and running range table
 * that the tally and the call site need (ExecutorRun,
 * ExecutorFinish, ProcessUtility), and the tenant constant that routes a
 * query to one Citus shard (planner).
 *
 * Layer 9: calls the modules below; nothing calls it but _PG_init.
 */
#include "postgres.h"

#include "executor/executor.h"
#include "miscadmin.h"
#include "optimizer/planner.h"
#include "storage/ipc.h"
#include "tcop/utility.h"

#include "audit_queue.h"
#include "call_site.h"
#include "citus_route.h"
#include "context.h"
#include "event_store.h"
#include "guard_access.h"
#include "guard_ddl.h"
#include "hooks.h"
#include "jti_store.h"
#include "login_throttle.h"
#include "password.h"
#include "tally.h"

static ExecutorCheckPerms_hook_type prev_check_perms = NULL;
static ProcessUtility_hook_type prev_utility = NULL;
static shmem_request_hook_type prev_shmem_request = NULL;
static shmem_startup_hook_type prev_shmem_startup = NULL;
static ExecutorRun_hook_type prev_executor_run = NULL;
static ExecutorFinish_hook_type prev_executor_finish = NULL;
static planner_hook_type prev_planner = NULL;

/*
 * Statements: how deep we are in executor runs and utility statements. When
 * the outermost one ends normally, the tally writes its events (on
 * error, the (sub)transaction's abort summarises them instead). The
 * executor hooks also tell the call site which range table is running.
 */
static int	tg_statement_depth = 0;

static void
tg_hook_executor_run(QueryDesc *queryDesc, ScanDirection direction, uint64 count,
					 bool execute_once)
{
	List	   *prev_rtable = tg_call_site_push(queryDesc->plannedstmt->rtable);

	tg_statement_depth++;
	PG_TRY();
	{
		if (prev_executor_run)
			prev_executor_run(queryDesc, direction, count, execute_once);
		else
			standard_ExecutorRun(queryDesc, direction, count, execute_once);
	}
	PG_FINALLY();
	{
		tg_statement_depth--;
		tg_call_site_pop(prev_rtable);
	}
	PG_END_TRY();
	if (tg_statement_depth == 0)
		tg_tally_statement_end();
}

/*
 * AFTER triggers run here; their functions' statements nest. When they have
 * run, the statement's batched row events are written.
 */
static void
tg_hook_executor_finish(QueryDesc *queryDesc)
{
	List	   *prev_rtable = tg_call_site_push(queryDesc->plannedstmt->rtable);

	tg_statement_depth++;
	PG_TRY();
	{
		if (prev_executor_finish)
			prev_executor_finish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_FINALLY();
	{
		tg_statement_depth--;
		tg_call_site_pop(prev_rtable);
	}
	PG_END_TRY();
	tg_events_flush();
	if (tg_statement_depth == 0)
		tg_tally_statement_end();
}

static bool
tg_hook_check_perms(List *rangeTable, bool ereport_on_violation)
{
	if (prev_check_perms && !prev_check_perms(rangeTable, ereport_on_violation))
		return false;
	return tg_guard_check_perms(rangeTable, ereport_on_violation);
}

/* The previous ProcessUtility hook, or PostgreSQL's own. */
static void
tg_next_utility(PlannedStmt *pstmt, const char *queryString,
				bool readOnlyTree, ProcessUtilityContext context,
				ParamListInfo params, QueryEnvironment *queryEnv,
				DestReceiver *dest, QueryCompletion *qc)
{
	if (prev_utility)
		prev_utility(pstmt, queryString, readOnlyTree, context, params,
					 queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

static void
tg_hook_utility(PlannedStmt *pstmt, const char *queryString,
				bool readOnlyTree, ProcessUtilityContext context,
				ParamListInfo params, QueryEnvironment *queryEnv,
				DestReceiver *dest, QueryCompletion *qc)
{
	tg_events_release();
	tg_context_utility(pstmt->utilityStmt);
	/* a statement boundary too (FETCH of a cursor, CALL, DO, COPY, EXPLAIN ...) */
	tg_statement_depth++;
	PG_TRY();
	{
		tg_guard_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv,
						 dest, qc, tg_next_utility);
	}
	PG_FINALLY();
	{
		tg_statement_depth--;
	}
	PG_END_TRY();
	tg_context_utility_done(pstmt->utilityStmt);
	/* COPY FROM fires row triggers without the executor hooks */
	tg_events_flush();
	if (tg_statement_depth == 0)
		tg_tally_statement_end();
}

/*
 * Planning: with Citus, the tenant constant goes in before Citus' planner
 * (called next, it prunes shards) and the plan is marked after it.
 */
static PlannedStmt *
tg_hook_planner(Query *parse, const char *query_string, int cursorOptions,
				ParamListInfo boundParams)
{
	bool		folded = tg_route_fold(parse);
	PlannedStmt *result;

	if (prev_planner)
		result = prev_planner(parse, query_string, cursorOptions, boundParams);
	else
		result = standard_planner(parse, query_string, cursorOptions, boundParams);
	if (folded)
		tg_route_mark(result);
	return result;
}

static void
tg_hook_shmem_request(void)
{
	if (prev_shmem_request)
		prev_shmem_request();
	tg_audit_queue_shmem_request();
	tg_jti_shmem_request();
	tg_throttle_shmem_request();
	tg_password_shmem_request();
}

static void
tg_hook_shmem_startup(void)
{
	if (prev_shmem_startup)
		prev_shmem_startup();
	tg_audit_queue_shmem_startup();
	tg_jti_shmem_startup();
	tg_throttle_shmem_startup();
	tg_password_shmem_startup();
}

/* Install every hook (from _PG_init, after the modules' own init). */
void
tg_hooks_install(void)
{
	prev_check_perms = ExecutorCheckPerms_hook;
	ExecutorCheckPerms_hook = tg_hook_check_perms;
	prev_utility = ProcessUtility_hook;
	ProcessUtility_hook = tg_hook_utility;
	prev_shmem_request = shmem_request_hook;
	shmem_request_hook = tg_hook_shmem_request;
	prev_shmem_startup = shmem_startup_hook;
	shmem_startup_hook = tg_hook_shmem_startup;
	prev_executor_run = ExecutorRun_hook;
	ExecutorRun_hook = tg_hook_executor_run;
	prev_executor_finish = ExecutorFinish_hook;
	ExecutorFinish_hook = tg_hook_executor_finish;
	prev_planner = planner_hook;
	planner_hook = tg_hook_planner;
}
