/*
 * audit_worker.c — the ledger's background workers: the launcher, started
 * with the server, wakes on queued events and on the sealing interval and
 * starts a short-lived worker per database, which writes that database's
 * queued events (audit_queue.c) in its own transaction and seals committed
 * events (blocks.c).
 *
 * Short-lived per-database workers never hold a database open for long,
 * so DROP DATABASE and CREATE DATABASE keep working; template databases
 * are never visited.
 *
 * Layer 7: uses the queue, the event store and the ledger's blocks.
 */
#include "postgres.h"

#include <signal.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_database.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "audit_queue.h"
#include "audit_worker.h"
#include "blocks.h"
#include "event_store.h"

static int	tg_audit_seal_interval = 60;

/*
 * The shortest time between two passes that write queued events: a pass
 * starts a background worker (a fork and a connection), and a steady stream
 * of events (context entries of read-only transactions) would otherwise keep
 * the launcher starting one after another. Events queued meanwhile wait (and
 * identical ones coalesce); an event queued when no pass ran for that long
 * is written at once.
 */
#define TG_PASS_MIN_MS 100

/* What a database worker is asked to do (bgw_extra[0]). */
#define TG_WORKER_SEALS 's'			/* write queued events, then seal */
#define TG_WORKER_WRITES_ONLY '-'	/* write queued events */

/* details of an event that stands for count identical ones */
static const char *
tg_details_with_count(const char *details, int64 count, TimestampTz first, TimestampTz last)
{
	char		fbuf[MAXDATELEN + 1];
	char		lbuf[MAXDATELEN + 1];
	char	   *extra;
	Datum		merged;

	JsonEncodeDateTime(fbuf, TimestampTzGetDatum(first), TIMESTAMPTZOID, NULL);
	JsonEncodeDateTime(lbuf, TimestampTzGetDatum(last), TIMESTAMPTZOID, NULL);
	extra = psprintf("{\"repeated\": " INT64_FORMAT ", \"first_at\": \"%s\", \"last_at\": \"%s\"}",
					 count, fbuf, lbuf);
	if (details == NULL)
		return extra;
	merged = DirectFunctionCall2(jsonb_concat,
								 DirectFunctionCall1(jsonb_in, CStringGetDatum(details)),
								 DirectFunctionCall1(jsonb_in, CStringGetDatum(extra)));
	return DatumGetCString(DirectFunctionCall1(jsonb_out, merged));
}

/* Write the audit.events_dropped event of one drop entry. */
static void
tg_write_drop(const TgDropEntry *d)
{
	TgAuditEvent ev;
	char		fbuf[MAXDATELEN + 1];
	char		lbuf[MAXDATELEN + 1];
	const char *who = d->db_user[0] ? d->db_user : NULL;

	if (who == NULL && OidIsValid(d->roleid))
		who = GetUserNameFromId(d->roleid, true);
	if (who == NULL)
		who = psprintf("%u", d->roleid);
	JsonEncodeDateTime(fbuf, TimestampTzGetDatum(d->first_at), TIMESTAMPTZOID, NULL);
	JsonEncodeDateTime(lbuf, TimestampTzGetDatum(d->last_at), TIMESTAMPTZOID, NULL);
	tg_event_init(&ev, NULL, "policy", "audit.events_dropped");
	ev.occurred_at = d->first_at;
	ev.decision = "deny";
	ev.reason = "audit queue share exhausted";
	strlcpy(ev.actor.db_user, who, sizeof(ev.actor.db_user));
	ev.application_name = "";
	ev.details_json = psprintf("{\"dropped\": " INT64_FORMAT ", \"refusals\": " INT64_FORMAT
							   ", \"other\": " INT64_FORMAT ", \"first_at\": \"%s\", \"last_at\": \"%s\""
							   ", \"role_limit\": %d%s}",
							   d->taken_dropped, d->taken_refusals,
							   d->taken_dropped - d->taken_refusals, fbuf, lbuf,
							   tg_audit_queue_role_limit(),
							   OidIsValid(d->roleid) ? "" : ", \"several_roles\": true");
	tg_audit_record(&ev);
}

/*
 * Write what tg_queue_take() took into the events table, in the current
 * transaction: each event (with its count when identical ones were
 * coalesced into it) and each drop count.
 */
static void
tg_write_taken(const TgTaken *taken)
{
	int			i;

	for (i = 0; i < taken->n; i++)
	{
		TgAuditEvent ev;
		const TgQueuedEvent *q = &taken->events[i];

		tg_event_init(&ev, NULL, q->category, q->action);
		ev.occurred_at = q->occurred_at;
		ev.actor.has_tenant = q->has_tenant;
		ev.actor.tenant = q->tenant;
		strlcpy(ev.actor.principal, q->principal, sizeof(ev.actor.principal));
		strlcpy(ev.actor.db_user, q->db_user, sizeof(ev.actor.db_user));
		strlcpy(ev.actor.client_addr, q->client_addr, sizeof(ev.actor.client_addr));
		ev.decision = q->decision;
		ev.object = q->object[0] ? q->object : NULL;
		ev.reason = q->reason[0] ? q->reason : NULL;
		ev.details_json = q->details[0] ? q->details : NULL;
		if (q->taken > 1)
			ev.details_json = tg_details_with_count(ev.details_json, q->taken,
													q->occurred_at, q->last_at);
		ev.application_name = q->application_name[0] ? q->application_name : "";
		tg_audit_record(&ev);
	}
	for (i = 0; i < taken->ndrops; i++)
		tg_write_drop(&taken->drops[i]);
}

PGDLLEXPORT void tg_audit_db_worker_main(Datum arg);
PGDLLEXPORT void tg_audit_launcher_main(Datum arg);

/* One pass over one database: write queued refusals, then seal if asked. */
void
tg_audit_db_worker_main(Datum arg)
{
	Oid			dboid = DatumGetObjectId(arg);
	bool		seal = (MyBgworkerEntry->bgw_extra[0] == TG_WORKER_SEALS);

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	pgstat_report_appname("tenantguard ledger");
	/* never queue behind a session's locks: the launcher serves every database */
	SetConfigOption("lock_timeout", "2000", PGC_SUSET, PGC_S_OVERRIDE);
	/* the worker writes events: read-only transactions would queue them again */
	SetConfigOption("default_transaction_read_only", "off", PGC_SUSET, PGC_S_OVERRIDE);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (!OidIsValid(get_namespace_oid("tenantguard_audit", true)))
	{
		PopActiveSnapshot();
		CommitTransactionCommand();
		tg_queue_discard(dboid);
		proc_exit(0);
	}
	{
		TgTaken		taken;

		tg_queue_take(&taken);
		tg_write_taken(&taken);
		PopActiveSnapshot();
		CommitTransactionCommand();
		tg_queue_release(&taken);
	}

	if (seal)
	{
		const char *mk = GetConfigOption("tenantguard.master_key_file", true, false);

		/* nothing to sign with: sealing waits until a master key is configured */
		if (mk == NULL || mk[0] == '\0')
			proc_exit(0);
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		PG_TRY();
		{
			(void) tg_audit_seal();
			PopActiveSnapshot();
			CommitTransactionCommand();
		}
		PG_CATCH();
		{
			/* e.g. no master key configured: report at LOG and go on */
			ErrorData  *edata;

			MemoryContextSwitchTo(TopMemoryContext);
			edata = CopyErrorData();
			FlushErrorState();
			AbortCurrentTransaction();
			ereport(LOG,
					(errmsg("tenantguard could not seal audit events: %s", edata->message)));
		}
		PG_END_TRY();
	}
	proc_exit(0);
}

/* Run one database pass in a dynamic worker and wait for it. */
static void
tg_run_db_worker(Oid dboid, bool seal)
{
	BackgroundWorker w;
	BackgroundWorkerHandle *h;
	pid_t		pid;

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(w.bgw_library_name, "tenantguard", BGW_MAXLEN);
	strlcpy(w.bgw_function_name, "tg_audit_db_worker_main", BGW_MAXLEN);
	snprintf(w.bgw_name, BGW_MAXLEN, "tenantguard ledger worker");
	snprintf(w.bgw_type, BGW_MAXLEN, "tenantguard ledger worker");
	w.bgw_main_arg = ObjectIdGetDatum(dboid);
	w.bgw_extra[0] = seal ? TG_WORKER_SEALS : TG_WORKER_WRITES_ONLY;
	w.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&w, &h))
		return;					/* no free worker slot: try again next round */
	if (WaitForBackgroundWorkerStartup(h, &pid) == BGWH_STARTED)
		(void) WaitForBackgroundWorkerShutdown(h);
}

/* Databases worth visiting: connectable and not templates. */
static List *
tg_database_list(void)
{
	List	   *result = NIL;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	MemoryContext caller = CurrentMemoryContext;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);
		MemoryContext old;

		if (!db->datallowconn || db->datistemplate)
			continue;
		old = MemoryContextSwitchTo(caller);
		result = lappend_oid(result, db->oid);
		MemoryContextSwitchTo(old);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return result;
}

/* The ledger launcher: wakes on refusals and on the sealing interval. */
void
tg_audit_launcher_main(Datum arg)
{
	TimestampTz last_seal = GetCurrentTimestamp();
	TimestampTz last_pass = 0;
	MemoryContext cxt;

	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("tenantguard ledger launcher");

	tg_queue_set_launcher();

	cxt = AllocSetContextCreate(TopMemoryContext, "tenantguard launcher", ALLOCSET_DEFAULT_SIZES);
	while (!ShutdownRequestPending)
	{
		bool		seal_due;
		long		timeout_ms;
		TimestampTz now;

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		now = GetCurrentTimestamp();
		seal_due = tg_audit_seal_interval > 0 &&
			TimestampDifferenceExceeds(last_seal, now, tg_audit_seal_interval * 1000);
		if (seal_due || tg_queue_has(InvalidOid))
		{
			List	   *dbs;
			ListCell   *lc;
			MemoryContext old;

			if (!seal_due && last_pass != 0 &&
				!TimestampDifferenceExceeds(last_pass, now, TG_PASS_MIN_MS))
			{
				long		secs;
				int			usecs;

				TimestampDifference(last_pass, now, &secs, &usecs);
				(void) WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
								 Max(1, TG_PASS_MIN_MS - (secs * 1000 + usecs / 1000)),
								 PG_WAIT_EXTENSION);
				CHECK_FOR_INTERRUPTS();
				if (ShutdownRequestPending)
					break;
				now = GetCurrentTimestamp();
			}
			last_pass = now;
			old = MemoryContextSwitchTo(cxt);
			dbs = tg_database_list();
			foreach(lc, dbs)
			{
				Oid			db = lfirst_oid(lc);

				if (seal_due || tg_queue_has(db))
					tg_run_db_worker(db, seal_due);
				if (ShutdownRequestPending)
					break;
			}
			MemoryContextSwitchTo(old);
			MemoryContextReset(cxt);
			if (seal_due)
				last_seal = now;
			/* events of databases that no longer exist */
			if (tg_queue_has(InvalidOid))
			{
				old = MemoryContextSwitchTo(cxt);
				tg_queue_forget_gone(tg_database_list);
				MemoryContextSwitchTo(old);
				MemoryContextReset(cxt);
			}
		}
		{
			uint64		lost = tg_queue_take_unattributed();

			if (lost > 0)
				ereport(LOG,
						(errmsg("tenantguard dropped " UINT64_FORMAT " audit events that no database's ledger records", lost),
						 errdetail("The audit queue was full and every drop counter was in use.")));
		}
		timeout_ms = tg_audit_seal_interval > 0 ? Min(tg_audit_seal_interval * 1000L, 1000L) : 1000L;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	proc_exit(0);
}

/* The sealing interval setting and the launcher. */
void
tg_audit_worker_init(void)
{
	BackgroundWorker w;

	DefineCustomIntVariable("tenantguard.audit_seal_interval",
							"Seconds between automatic sealing of audit events (0 disables).",
							"Sealing can always be run on demand with tenantguard_audit.seal().",
							&tg_audit_seal_interval,
							60, 0, 86400,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = 10;
	strlcpy(w.bgw_library_name, "tenantguard", BGW_MAXLEN);
	strlcpy(w.bgw_function_name, "tg_audit_launcher_main", BGW_MAXLEN);
	snprintf(w.bgw_name, BGW_MAXLEN, "tenantguard ledger launcher");
	snprintf(w.bgw_type, BGW_MAXLEN, "tenantguard ledger launcher");
	RegisterBackgroundWorker(&w);
}
