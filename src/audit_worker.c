/*
 * audit_worker.c — refusals that survive rollback, and automatic sealing.
 *
 * A refused action (a failed context entry, a refused DDL, a wrong-tenant
 * reveal) raises an error, so an event written in the caller's transaction
 * would be rolled back with it. Instead the backend puts the event into a
 * small shared-memory queue and wakes the ledger launcher, a background
 * worker started with the server. The launcher starts a short-lived worker
 * per database that writes the queued events in its own transaction and,
 * every tenantguard.audit_seal_interval, seals committed events.
 *
 * Short-lived per-database workers never hold a database open for long,
 * so DROP DATABASE and CREATE DATABASE keep working; template databases
 * are never visited.
 */
#include "postgres.h"

#include <signal.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "tenantguard.h"

#define TG_QUEUE_SLOTS 256
#define TG_MAX_DATABASES 256

typedef struct TgQueuedEvent
{
	bool		used;
	uint64		seq;			/* identifies this event while it is queued */
	Oid			dboid;
	TimestampTz occurred_at;
	bool		has_tenant;
	pg_uuid_t	tenant;
	char		category[16];
	char		action[64];
	char		decision[8];
	char		principal[256];
	char		db_user[NAMEDATALEN];
	char		object[256];
	char		reason[256];
	char		details[1024];
	char		client_addr[64];
	char		application_name[NAMEDATALEN];
} TgQueuedEvent;

typedef struct TgAuditShared
{
	LWLock	   *lock;
	pid_t		launcher_pid;
	Latch	   *launcher_latch;
	uint64		dropped;		/* events lost because the queue was full */
	uint64		next_seq;
	TgQueuedEvent slots[TG_QUEUE_SLOTS];
} TgAuditShared;

static TgAuditShared *tg_shared = NULL;
static shmem_request_hook_type prev_shmem_request = NULL;
static shmem_startup_hook_type prev_shmem_startup = NULL;

int			tg_audit_seal_interval = 60;

static void
tg_audit_shmem_request(void)
{
	if (prev_shmem_request)
		prev_shmem_request();
	RequestAddinShmemSpace(MAXALIGN(sizeof(TgAuditShared)));
	RequestNamedLWLockTranche("tenantguard_audit", 1);
}

static void
tg_audit_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup)
		prev_shmem_startup();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	tg_shared = ShmemInitStruct("tenantguard_audit", sizeof(TgAuditShared), &found);
	if (!found)
	{
		memset(tg_shared, 0, sizeof(TgAuditShared));
		tg_shared->lock = &(GetNamedLWLockTranche("tenantguard_audit"))->lock;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Copy src into dst, cut at a character boundary when it does not fit. */
static void
tg_copy(char *dst, size_t size, const char *src)
{
	int			len;

	if (src == NULL)
	{
		dst[0] = '\0';
		return;
	}
	len = strlen(src);
	if ((size_t) len >= size)
		len = pg_mbcliplen(src, len, (int) size - 1);
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/*
 * Queue an event for the ledger worker, which writes it in its own
 * transaction: refusals (they survive the caller's rollback) and events of
 * read-only transactions. Never raises; returns false when the event could
 * not be queued (queue full, or a standby, where it goes to the log).
 */
bool
tg_audit_refusal(const TgAuditEvent *ev)
{
	const TgEffectiveContext *ctx = NULL;
	int			i;
	TgQueuedEvent *slot = NULL;
	const char *who = ev->db_user;
	const char *client = ev->client_addr;

	if (tg_shared == NULL || !OidIsValid(MyDatabaseId))
		return false;
	if (RecoveryInProgress())
	{
		ereport(LOG,
				(errmsg("tenantguard audit event on a standby (not stored): category=%s action=%s object=%s decision=%s reason=%s",
						ev->category, ev->action, ev->object ? ev->object : "",
						ev->decision ? ev->decision : "deny", ev->reason ? ev->reason : "")));
		return false;
	}
	if (IsTransactionState())
	{
		ctx = tg_effective_context();
		if (who == NULL)
			who = GetUserNameFromId(GetSessionUserId(), true);
		if (client == NULL)
		{
			bool		isnull;
			Datum		addr = tg_client_addr(&isnull);

			if (!isnull)
				client = DatumGetCString(DirectFunctionCall1(inet_out, addr));
		}
	}

	LWLockAcquire(tg_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < TG_QUEUE_SLOTS; i++)
		if (!tg_shared->slots[i].used)
		{
			slot = &tg_shared->slots[i];
			break;
		}
	if (slot == NULL)
	{
		tg_shared->dropped++;
		LWLockRelease(tg_shared->lock);
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("audit queue is full; an audit event was not recorded")));
		return false;
	}
	memset(slot, 0, sizeof(*slot));
	slot->used = true;
	slot->seq = ++tg_shared->next_seq;
	slot->dboid = MyDatabaseId;
	slot->occurred_at = GetCurrentTimestamp();
	if (ev->has_tenant)
	{
		slot->has_tenant = true;
		slot->tenant = ev->tenant;
	}
	else if (ctx && !ev->no_tenant)
	{
		slot->has_tenant = true;
		slot->tenant = ctx->tenant;
	}
	tg_copy(slot->category, sizeof(slot->category), ev->category);
	tg_copy(slot->action, sizeof(slot->action), ev->action);
	tg_copy(slot->decision, sizeof(slot->decision), ev->decision ? ev->decision : "deny");
	tg_copy(slot->principal, sizeof(slot->principal), ev->principal ? ev->principal : (ctx ? ctx->principal : NULL));
	tg_copy(slot->db_user, sizeof(slot->db_user), who);
	tg_copy(slot->object, sizeof(slot->object), ev->object);
	tg_copy(slot->reason, sizeof(slot->reason), ev->reason);
	/* a cut JSON text would not parse: keep only what fits whole */
	if (ev->details_json && strlen(ev->details_json) < sizeof(slot->details))
		tg_copy(slot->details, sizeof(slot->details), ev->details_json);
	else if (ev->details_json)
		tg_copy(slot->details, sizeof(slot->details), "{\"truncated\": true}");
	tg_copy(slot->client_addr, sizeof(slot->client_addr), client);
	tg_copy(slot->application_name, sizeof(slot->application_name),
			ev->application_name ? ev->application_name : application_name);
	if (tg_shared->launcher_latch)
		SetLatch(tg_shared->launcher_latch);
	LWLockRelease(tg_shared->lock);
	return true;
}

/*
 * Copy this database's queued events and write them into the events table
 * in the current transaction; *seqs receives their queue numbers, so the
 * caller frees their slots only once the transaction committed.
 */
static int
tg_drain_queue(uint64 *seqs)
{
	TgQueuedEvent *batch;
	int			n = 0,
				i;

	batch = palloc(sizeof(TgQueuedEvent) * TG_QUEUE_SLOTS);
	LWLockAcquire(tg_shared->lock, LW_SHARED);
	for (i = 0; i < TG_QUEUE_SLOTS; i++)
		if (tg_shared->slots[i].used && tg_shared->slots[i].dboid == MyDatabaseId)
			batch[n++] = tg_shared->slots[i];
	LWLockRelease(tg_shared->lock);

	for (i = 0; i < n; i++)
	{
		TgAuditEvent ev;
		TgQueuedEvent *q = &batch[i];

		memset(&ev, 0, sizeof(ev));
		ev.occurred_at = q->occurred_at;
		ev.has_tenant = q->has_tenant;
		ev.no_tenant = !q->has_tenant;
		ev.tenant = q->tenant;
		ev.category = q->category;
		ev.action = q->action;
		ev.decision = q->decision;
		ev.principal = q->principal[0] ? q->principal : NULL;
		ev.db_user = q->db_user[0] ? q->db_user : NULL;
		ev.object = q->object[0] ? q->object : NULL;
		ev.reason = q->reason[0] ? q->reason : NULL;
		ev.details_json = q->details[0] ? q->details : NULL;
		ev.client_addr = q->client_addr[0] ? q->client_addr : NULL;
		ev.application_name = q->application_name[0] ? q->application_name : "";
		tg_audit_record(&ev);
		seqs[i] = q->seq;
	}
	pfree(batch);
	return n;
}

/* Free the slots of events that are now stored. */
static void
tg_queue_release(const uint64 *seqs, int n)
{
	int			i,
				j;

	LWLockAcquire(tg_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < TG_QUEUE_SLOTS; i++)
		if (tg_shared->slots[i].used && tg_shared->slots[i].dboid == MyDatabaseId)
			for (j = 0; j < n; j++)
				if (tg_shared->slots[i].seq == seqs[j])
				{
					tg_shared->slots[i].used = false;
					break;
				}
	LWLockRelease(tg_shared->lock);
}

static bool
tg_queue_has(Oid dboid)
{
	int			i;
	bool		found = false;

	LWLockAcquire(tg_shared->lock, LW_SHARED);
	for (i = 0; i < TG_QUEUE_SLOTS && !found; i++)
		if (tg_shared->slots[i].used && (dboid == InvalidOid || tg_shared->slots[i].dboid == dboid))
			found = true;
	LWLockRelease(tg_shared->lock);
	return found;
}

/* Drop queued events of a database that is gone or has no extension. */
static void
tg_queue_discard(Oid dboid)
{
	int			i;

	LWLockAcquire(tg_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < TG_QUEUE_SLOTS; i++)
		if (tg_shared->slots[i].used && tg_shared->slots[i].dboid == dboid)
			tg_shared->slots[i].used = false;
	LWLockRelease(tg_shared->lock);
}

PGDLLEXPORT void tg_audit_db_worker_main(Datum arg);
PGDLLEXPORT void tg_audit_launcher_main(Datum arg);

/* One pass over one database: write queued refusals, then seal if asked. */
void
tg_audit_db_worker_main(Datum arg)
{
	Oid			dboid = DatumGetObjectId(arg);
	bool		seal = (MyBgworkerEntry->bgw_extra[0] == 's');

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	pgstat_report_appname("tenantguard ledger");
	/* never queue behind a session's locks: the launcher serves every database */
	SetConfigOption("lock_timeout", "2000", PGC_SUSET, PGC_S_OVERRIDE);

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
		uint64		seqs[TG_QUEUE_SLOTS];
		int			n;

		n = tg_drain_queue(seqs);
		PopActiveSnapshot();
		CommitTransactionCommand();
		tg_queue_release(seqs, n);
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
	w.bgw_extra[0] = seal ? 's' : '-';
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
	MemoryContext cxt;

	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("tenantguard ledger launcher");

	LWLockAcquire(tg_shared->lock, LW_EXCLUSIVE);
	tg_shared->launcher_pid = MyProcPid;
	tg_shared->launcher_latch = &MyProc->procLatch;
	LWLockRelease(tg_shared->lock);

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
			MemoryContext old = MemoryContextSwitchTo(cxt);

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
			/*
			 * Refusals of databases that no longer exist. Only events queued
			 * before a fresh look at pg_database are candidates: their
			 * database existed when they were queued, so if it is not listed
			 * now it is gone.
			 */
			if (tg_queue_has(InvalidOid))
			{
				bool		candidate[TG_QUEUE_SLOTS];
				List	   *now_dbs;
				int			i;

				LWLockAcquire(tg_shared->lock, LW_SHARED);
				for (i = 0; i < TG_QUEUE_SLOTS; i++)
					candidate[i] = tg_shared->slots[i].used;
				LWLockRelease(tg_shared->lock);
				old = MemoryContextSwitchTo(cxt);
				now_dbs = tg_database_list();
				LWLockAcquire(tg_shared->lock, LW_EXCLUSIVE);
				for (i = 0; i < TG_QUEUE_SLOTS; i++)
					if (candidate[i] && tg_shared->slots[i].used &&
						!list_member_oid(now_dbs, tg_shared->slots[i].dboid))
						tg_shared->slots[i].used = false;
				LWLockRelease(tg_shared->lock);
				MemoryContextSwitchTo(old);
				MemoryContextReset(cxt);
			}
		}
		timeout_ms = tg_audit_seal_interval > 0 ? Min(tg_audit_seal_interval * 1000L, 1000L) : 1000L;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	proc_exit(0);
}

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

	prev_shmem_request = shmem_request_hook;
	shmem_request_hook = tg_audit_shmem_request;
	prev_shmem_startup = shmem_startup_hook;
	shmem_startup_hook = tg_audit_shmem_startup;

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
