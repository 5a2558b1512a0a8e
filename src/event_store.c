/*
 * event_store.c — writing audit events: a complete event (audit_event.h) is
 * hashed and written with a direct heap insert into tenantguard_audit.events
 * (no SPI, no trigger on the events table), in the current transaction, or
 * through the queue when the transaction is read-only. The one API every
 * subsystem uses to build events: tg_event_init(), tg_audit_record(),
 * tg_audit_deny(); and the canonical hash of a stored event, which sealing
 * and verification recompute.
 *
 * No lock is taken beyond the row insert, so concurrent writers never wait
 * on each other.
 *
 * Layer 3: uses the queue (layer 2) and core/ledger.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/indexing.h"
#include "executor/tuptable.h"
#include "catalog/namespace.h"
#include "commands/extension.h"
#include "commands/sequence.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/syscache.h"
#include "utils/inet.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
#include "utils/xid8.h"

#include "core/ledger.h"
#include "core/uuid_text.h"
#include "audit_queue.h"
#include "catalog.h"
#include "event_store.h"
#include "relcache_hub.h"
#include "tenantguard.h"

static const char *const ev_colnames[EV_NCOLS] = {
	"id", "occurred_at", "tenant_id", "category", "action", "principal",
	"db_user", "object", "decision", "reason", "details", "old_row", "new_row",
	"txid", "client_addr", "application_name", "event_hash"
};

/* The hashed fields are every column but event_hash. */
#define EV_NHASHED EV_EVENT_HASH

/* Look up (and check the shape of) tenantguard_audit.events. */
static Oid
tg_events_relid(Oid *seqid)
{
	Oid			nsp = get_namespace_oid(TG_AUDIT_SCHEMA, true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid("events", nsp) : InvalidOid;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"tenantguard\" is not installed in this database")));
	if (seqid)
		*seqid = get_relname_relid("events_id_seq", nsp);
	return relid;
}

void
tg_events_check_shape(Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	if (desc->natts != EV_NCOLS)
		elog(ERROR, "tenantguard_audit.events has an unexpected shape");
	for (i = 0; i < EV_NCOLS; i++)
		if (strcmp(NameStr(TupleDescAttr(desc, i)->attname), ev_colnames[i]) != 0)
			elog(ERROR, "tenantguard_audit.events has an unexpected column \"%s\"",
				 NameStr(TupleDescAttr(desc, i)->attname));
}

/*
 * The canonical bytes of each hashed field (see core/ledger.h): integers and
 * timestamps in decimal (occurred_at as Unix microseconds), uuid and inet in
 * their text forms, jsonb in its normalized text form, text as is.
 */
static void
tg_event_fields(Datum *values, bool *nulls, tg_hash_field *fields)
{
	int			i;

	for (i = 0; i < EV_NHASHED; i++)
	{
		char	   *s = NULL;

		fields[i].isnull = nulls[i];
		fields[i].data = NULL;
		fields[i].len = 0;
		if (nulls[i])
			continue;
		switch (i)
		{
			case EV_ID:
				s = psprintf(INT64_FORMAT, DatumGetInt64(values[i]));
				break;
			case EV_OCCURRED_AT:
				s = psprintf(INT64_FORMAT, (int64) DatumGetTimestampTz(values[i]) +
							 (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY);
				break;
			case EV_TENANT_ID:
				s = palloc(TG_UUID_TEXT_LEN + 1);
				tg_uuid_format(DatumGetUUIDP(values[i])->data, s);
				break;
			case EV_DB_USER:
				s = pstrdup(NameStr(*DatumGetName(values[i])));
				break;
			case EV_DETAILS:
			case EV_OLD_ROW:
			case EV_NEW_ROW:
				{
					Jsonb	   *jb = DatumGetJsonbP(values[i]);

					s = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
					break;
				}
			case EV_TXID:
				s = psprintf(UINT64_FORMAT, DatumGetUInt64(values[i]));
				break;
			case EV_CLIENT_ADDR:
				s = DatumGetCString(DirectFunctionCall1(inet_out, values[i]));
				break;
			default:
				{
					text	   *t = DatumGetTextPP(values[i]);

					fields[i].data = (const uint8_t *) VARDATA_ANY(t);
					fields[i].len = VARSIZE_ANY_EXHDR(t);
					continue;
				}
		}
		fields[i].data = (const uint8_t *) s;
		fields[i].len = strlen(s);
	}
}

static void
tg_event_hash_of(Datum *values, bool *nulls, uint8_t out[TG_HASH_LEN])
{
	tg_hash_field fields[EV_NHASHED];

	tg_event_fields(values, nulls, fields);
	if (!tg_event_hash(fields, EV_NHASHED, out))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute an audit event hash"),
				 errdetail("OpenSSL's SHA-256 is not available.")));
}

static Datum
tg_text_or_null(const char *s, bool *isnull)
{
	*isnull = (s == NULL);
	return s ? CStringGetTextDatum(s) : (Datum) 0;
}

/* This connection's client address (NULL for Unix sockets and workers). */
static Datum
tg_client_addr(bool *isnull)
{
	LOCAL_FCINFO(fcinfo, 0);
	Datum		d;

	InitFunctionCallInfoData(*fcinfo, NULL, 0, InvalidOid, NULL, NULL);
	d = inet_client_addr(fcinfo);
	*isnull = fcinfo->isnull;
	return d;
}

static Datum
tg_jsonb_from_cstring(const char *json)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
}

/* The empty jsonb object, built once per backend. */
static Datum
tg_empty_object(void)
{
	static Jsonb *empty = NULL;

	if (empty == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		empty = DatumGetJsonbP(tg_jsonb_from_cstring("{}"));
		MemoryContextSwitchTo(old);
	}
	return JsonbPGetDatum(empty);
}

/* The inet value of an address text; this session's is parsed once. */
static Datum
tg_inet_of(const char *text)
{
	static char cached_text[64];
	static inet *cached = NULL;

	if (cached != NULL && strcmp(text, cached_text) == 0)
		return InetPGetDatum(cached);
	{
		Datum		d = DirectFunctionCall1(inet_in, CStringGetDatum(text));
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
		inet	   *copy = DatumGetInetPP(datumCopy(d, false, -1));

		MemoryContextSwitchTo(old);
		if (cached)
			pfree(cached);
		cached = copy;
		strlcpy(cached_text, text, sizeof(cached_text));
		return d;
	}
}

/*
 * The events relation and its indexes, opened once per transaction (under
 * the top transaction's resource owner and memory) and closed before it
 * commits: opening them, checking the table's shape and looking up the
 * sequence cost more than a small event's insert.
 */
static Relation tg_ev_rel = NULL;
static CatalogIndexState tg_ev_ind = NULL;
static Oid	tg_ev_seq = InvalidOid;
static bool tg_ev_stale = false;
static bool tg_ev_callbacks = false;

static void tg_batch_forget(void);

static void
tg_events_close(bool release)
{
	if (tg_ev_rel != NULL && release)
	{
		/* the references belong to the top transaction's resource owner */
		ResourceOwner save_owner = CurrentResourceOwner;

		CurrentResourceOwner = TopTransactionResourceOwner;
		CatalogCloseIndexes(tg_ev_ind);
		table_close(tg_ev_rel, NoLock);
		CurrentResourceOwner = save_owner;
	}
	tg_ev_rel = NULL;
	tg_ev_ind = NULL;
	tg_ev_stale = false;
}

static void
tg_events_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			/* the statement's pending row events first (see tg_events_flush) */
			tg_events_flush();
			tg_events_close(true);
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			/* the resource owner releases what is still open */
			tg_events_close(false);
			/* after commit nothing is pending; after abort the events are void */
			tg_batch_forget();
			break;
	}
}

/*
 * Close the events relation before a utility statement: DDL on the events
 * table (TRUNCATE, ALTER, DROP EXTENSION) in the same transaction must not
 * find it in use ("being used by active queries in this session").
 */
void
tg_events_release(void)
{
	tg_events_flush();
	tg_events_close(true);
}

/* DDL on the events table (or a cache reset): reopen before the next event. */
static void
tg_events_relcache_callback(Oid relid)
{
	if (tg_ev_rel != NULL && (relid == InvalidOid || relid == RelationGetRelid(tg_ev_rel)))
		tg_ev_stale = true;
}

/* The events relation, open with RowExclusiveLock for the rest of the transaction. */
static Relation
tg_events_open(CatalogIndexState *ind, Oid *seqid)
{
	if (!tg_ev_callbacks)
	{
		RegisterXactCallback(tg_events_xact_callback, NULL);
		tg_relcache_hub_register(tg_events_relcache_callback);
		tg_ev_callbacks = true;
	}
	if (tg_ev_rel != NULL && tg_ev_stale)
		tg_events_close(true);
	if (tg_ev_rel == NULL)
	{
		ResourceOwner save_owner = CurrentResourceOwner;
		MemoryContext save_cxt = MemoryContextSwitchTo(TopTransactionContext);
		Oid			relid = tg_events_relid(&tg_ev_seq);

		CurrentResourceOwner = TopTransactionResourceOwner;
		PG_TRY();
		{
			Relation	rel = table_open(relid, RowExclusiveLock);

			tg_events_check_shape(rel);
			tg_ev_ind = CatalogOpenIndexes(rel);
			tg_ev_rel = rel;
			tg_ev_stale = false;
		}
		PG_FINALLY();
		{
			CurrentResourceOwner = save_owner;
			MemoryContextSwitchTo(save_cxt);
		}
		PG_END_TRY();
	}
	*ind = tg_ev_ind;
	*seqid = tg_ev_seq;
	return tg_ev_rel;
}

/*
 * Where an event goes, decided before anything is built: nowhere (the
 * extension script's own actions, a standby: *written = false and the
 * caller returns), the queue (a read-only transaction), or the events table
 * of this transaction (returns true).
 */
static bool
tg_event_goes_to_table(const TgAuditEvent *ev)
{
	/* the extension script's own actions are not events: a restore brings its history */
	if (creating_extension)
		return false;
	if (RecoveryInProgress())
	{
		ereport(LOG,
				(errmsg("tenantguard audit event on a standby (not stored): category=%s action=%s object=%s decision=%s",
						ev->category, ev->action, ev->object ? ev->object : "",
						ev->decision ? ev->decision : "")));
		return false;
	}
	if (XactReadOnly)
	{
		if (!tg_audit_enqueue(ev))
			ereport(ERROR,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("audit queue is full; the %s action is refused because it cannot be audited", ev->action),
					 errhint("Retry in a read-write transaction, where events are written directly.")));
		return false;
	}
	return true;
}

/*
 * The events row of a complete event, with its id (the next value of the
 * sequence), its time, this transaction's id and its hash, allocated in the
 * current memory context.
 */
static HeapTuple
tg_event_form(const TgAuditEvent *ev, Relation rel, Oid seqid)
{
	Datum		values[EV_NCOLS];
	bool		nulls[EV_NCOLS];
	uint8_t		hash[TG_HASH_LEN];
	const char *appname;

	memset(nulls, 0, sizeof(nulls));
	values[EV_ID] = Int64GetDatum(nextval_internal(seqid, false));
	values[EV_OCCURRED_AT] = TimestampTzGetDatum(ev->occurred_at ? ev->occurred_at : GetCurrentTimestamp());
	if (ev->actor.has_tenant)
	{
		pg_uuid_t  *u = palloc(sizeof(pg_uuid_t));

		*u = ev->actor.tenant;
		values[EV_TENANT_ID] = UUIDPGetDatum(u);
	}
	else
		nulls[EV_TENANT_ID] = true;
	values[EV_CATEGORY] = CStringGetTextDatum(ev->category);
	values[EV_ACTION] = CStringGetTextDatum(ev->action);
	values[EV_PRINCIPAL] = tg_text_or_null(ev->actor.principal[0] ? ev->actor.principal : NULL,
										   &nulls[EV_PRINCIPAL]);
	if (ev->actor.db_user[0])
	{
		Name		n = palloc0(NAMEDATALEN);

		namestrcpy(n, ev->actor.db_user);
		values[EV_DB_USER] = NameGetDatum(n);
	}
	else
		nulls[EV_DB_USER] = true;
	values[EV_OBJECT] = tg_text_or_null(ev->object, &nulls[EV_OBJECT]);
	values[EV_DECISION] = tg_text_or_null(ev->decision, &nulls[EV_DECISION]);
	values[EV_REASON] = tg_text_or_null(ev->reason, &nulls[EV_REASON]);
	values[EV_DETAILS] = ev->details_json ? tg_jsonb_from_cstring(ev->details_json)
		: tg_empty_object();
	values[EV_OLD_ROW] = ev->old_row;
	nulls[EV_OLD_ROW] = ev->old_row == (Datum) 0;
	values[EV_NEW_ROW] = ev->new_row;
	nulls[EV_NEW_ROW] = ev->new_row == (Datum) 0;
	values[EV_TXID] = FullTransactionIdGetDatum(GetTopFullTransactionId());
	if (ev->actor.client_addr[0])
		values[EV_CLIENT_ADDR] = tg_inet_of(ev->actor.client_addr);
	else
		nulls[EV_CLIENT_ADDR] = true;
	appname = ev->application_name ? ev->application_name : application_name;
	values[EV_APPLICATION_NAME] = tg_text_or_null((appname && appname[0]) ? appname : NULL,
												  &nulls[EV_APPLICATION_NAME]);

	tg_event_hash_of(values, nulls, hash);
	values[EV_EVENT_HASH] = PointerGetDatum(tg_bytea(hash, TG_HASH_LEN));

	return heap_form_tuple(RelationGetDescr(rel), values, nulls);
}

/*
 * Record a complete event in the current transaction. In a read-only
 * transaction the event goes through the ledger worker instead (53400 when
 * the queue has no room for it: the action cannot be audited); on a
 * standby, which cannot store it, it goes to the server log. Returns true
 * when the event was written in the current transaction.
 */
bool
tg_audit_record(const TgAuditEvent *ev)
{
	Oid			seqid;
	Relation	rel;
	HeapTuple	tup;
	CatalogIndexState ind;

	if (!tg_event_goes_to_table(ev))
		return false;
	rel = tg_events_open(&ind, &seqid);
	tup = tg_event_form(ev, rel, seqid);
	CatalogTupleInsertWithInfo(rel, tup, ind);
	heap_freetuple(tup);
	CommandCounterIncrement();
	return true;
}

/*
 * Row events of a statement, written together. A bulk write's events are
 * formed (id, time, hash) as its rows are, kept here, and inserted with one
 * heap_multi_insert per batch: one WAL record and one buffer lock per page
 * instead of per event. The batch is written when it is full, at the end of
 * every executor run and utility statement (tg_events_flush, from the
 * hooks), and before commit, so a statement's events are in the table when
 * the statement returns.
 *
 * A batch belongs to one subtransaction, the one that was current when its
 * events were formed, and is written only while that subtransaction is
 * current: written inside a nested subtransaction (a trigger's EXCEPTION
 * block), the events would vanish with its rollback while their rows stay.
 * A row event formed while a batch of another subtransaction is pending is
 * inserted at once instead. A subtransaction's abort drops its pending
 * events (its rows are gone too); its commit hands them to its parent.
 */
#define TG_BATCH_MAX_EVENTS 512
#define TG_BATCH_MAX_BYTES	(2 * 1024 * 1024)

static MemoryContext tg_batch_cxt = NULL;
static HeapTuple tg_batch[TG_BATCH_MAX_EVENTS];
static int	tg_batch_n = 0;
static Size tg_batch_bytes = 0;
static SubTransactionId tg_batch_subid = InvalidSubTransactionId;
static bool tg_batch_callbacks = false;

static void
tg_batch_forget(void)
{
	tg_batch_n = 0;
	tg_batch_bytes = 0;
	tg_batch_subid = InvalidSubTransactionId;
	if (tg_batch_cxt != NULL)
		MemoryContextReset(tg_batch_cxt);
}

static void
tg_batch_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	if (tg_batch_n == 0 || tg_batch_subid != mySubid)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
		tg_batch_forget();
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		tg_batch_subid = parentSubid;
}

/*
 * The slots a batch is inserted from, made once per backend (and again if
 * the events table is recreated) over a private copy of the table's
 * descriptor: slots over the relation's own descriptor would pin it in the
 * resource owner once per slot and event.
 */
static TupleTableSlot *tg_batch_slot[TG_BATCH_MAX_EVENTS];
static Oid	tg_batch_slots_rel = InvalidOid;

static TupleTableSlot **
tg_batch_slots(Relation rel)
{
	if (tg_batch_slots_rel != RelationGetRelid(rel))
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
		TupleDesc	desc = CreateTupleDescCopy(RelationGetDescr(rel));
		TupleDesc	prev = tg_batch_slot[0] ? tg_batch_slot[0]->tts_tupleDescriptor : NULL;
		int			i;

		for (i = 0; i < TG_BATCH_MAX_EVENTS; i++)
		{
			if (tg_batch_slot[i] != NULL)
				ExecDropSingleTupleTableSlot(tg_batch_slot[i]);
			tg_batch_slot[i] = MakeSingleTupleTableSlot(desc, &TTSOpsHeapTuple);
		}
		if (prev)
			FreeTupleDesc(prev);
		MemoryContextSwitchTo(old);
		tg_batch_slots_rel = RelationGetRelid(rel);
	}
	return tg_batch_slot;
}

/* Write the pending row events, if they belong to the current subtransaction. */
void
tg_events_flush(void)
{
	Oid			seqid;
	Relation	rel;
	CatalogIndexState ind;
	TupleTableSlot **slots;
	int			i;

	if (tg_batch_n == 0 || !IsTransactionState() ||
		tg_batch_subid != GetCurrentSubTransactionId())
		return;
	rel = tg_events_open(&ind, &seqid);
	if (tg_batch_n == 1)
	{
		/* a single-row statement: a plain insert costs less than a multi-insert */
		CatalogTupleInsertWithInfo(rel, tg_batch[0], ind);
		tg_batch_forget();
		CommandCounterIncrement();
		return;
	}
	slots = tg_batch_slots(rel);
	for (i = 0; i < tg_batch_n; i++)
		ExecStoreHeapTuple(tg_batch[i], slots[i], false);
	CatalogTuplesMultiInsertWithInfo(rel, slots, tg_batch_n, ind);
	for (i = 0; i < tg_batch_n; i++)
		ExecClearTuple(slots[i]);
	tg_batch_forget();
	CommandCounterIncrement();
}

/*
 * Record a row event of an audited table's trigger: as tg_audit_record(),
 * but the event joins this statement's batch (see above).
 */
bool
tg_audit_record_row(const TgAuditEvent *ev)
{
	Oid			seqid;
	Relation	rel;
	CatalogIndexState ind;
	HeapTuple	tup;
	MemoryContext old;
	SubTransactionId subid = GetCurrentSubTransactionId();

	if (tg_batch_n > 0 && tg_batch_subid != subid)
		return tg_audit_record(ev);
	if (!tg_event_goes_to_table(ev))
		return false;
	if (!tg_batch_callbacks)
	{
		tg_batch_cxt = AllocSetContextCreate(TopMemoryContext, "tenantguard event batch",
											 ALLOCSET_DEFAULT_SIZES);
		RegisterSubXactCallback(tg_batch_subxact_callback, NULL);
		tg_batch_callbacks = true;
	}
	rel = tg_events_open(&ind, &seqid);
	tup = tg_event_form(ev, rel, seqid);
	old = MemoryContextSwitchTo(tg_batch_cxt);
	tg_batch[tg_batch_n++] = heap_copytuple(tup);
	MemoryContextSwitchTo(old);
	tg_batch_subid = subid;
	tg_batch_bytes += tup->t_len;
	heap_freetuple(tup);
	if (tg_batch_n >= TG_BATCH_MAX_EVENTS || tg_batch_bytes >= TG_BATCH_MAX_BYTES)
		tg_events_flush();
	return true;
}


/*
 * The session user and client address of this connection (in a
 * transaction). Both are looked up once per session user: the address never
 * changes, the session user only with SET SESSION AUTHORIZATION.
 */
static Oid	tg_cached_session_user = InvalidOid;

/* A role was renamed or dropped: look the session user's name up again. */
static void
tg_roles_changed(Datum arg, int cacheid, uint32 hashvalue)
{
	tg_cached_session_user = InvalidOid;
}

void
tg_actor_session(TgActor *actor)
{
	static bool registered = false;
	static char cached_name[NAMEDATALEN];
	static char cached_addr[64];

	memset(actor, 0, sizeof(*actor));
	if (!IsTransactionState())
		return;
	if (!registered)
	{
		CacheRegisterSyscacheCallback(AUTHOID, tg_roles_changed, (Datum) 0);
		registered = true;
	}
	if (tg_cached_session_user != GetSessionUserId())
	{
		char	   *who = GetUserNameFromId(GetSessionUserId(), true);
		bool		isnull;
		Datum		addr = tg_client_addr(&isnull);

		cached_name[0] = '\0';
		cached_addr[0] = '\0';
		if (who)
			strlcpy(cached_name, who, sizeof(cached_name));
		if (!isnull)
			strlcpy(cached_addr, DatumGetCString(DirectFunctionCall1(inet_out, addr)),
					sizeof(cached_addr));
		tg_cached_session_user = who ? GetSessionUserId() : InvalidOid;
	}
	strlcpy(actor->db_user, cached_name, sizeof(actor->db_user));
	strlcpy(actor->client_addr, cached_addr, sizeof(actor->client_addr));
}


/* Start an event of actor (NULL: nobody) with decision allow. */
void
tg_event_init(TgAuditEvent *ev, const TgActor *actor, const char *category, const char *action)
{
	memset(ev, 0, sizeof(*ev));
	if (actor)
		ev->actor = *actor;
	ev->category = category;
	ev->action = action;
	ev->decision = "allow";
}

/*
 * Record a refusal: it goes through the queue, so it survives the rollback
 * of the caller's transaction that the refusal's error causes.
 */
void
tg_audit_deny(const TgActor *actor, const char *category, const char *action,
			  const char *object, const char *reason)
{
	TgAuditEvent ev;

	tg_event_init(&ev, actor, category, action);
	ev.decision = "deny";
	ev.object = object;
	ev.reason = reason;
	(void) tg_audit_enqueue(&ev);
}

/*
 * Recompute the hash of a stored event (columns in table order: a tuple of
 * the events table); what it allocates is left in the current memory context.
 */
bool
tg_event_row_ok(HeapTuple tup, TupleDesc desc, uint8_t hash[TG_HASH_LEN], int64 *id)
{
	Datum		values[EV_NCOLS];
	bool		nulls[EV_NCOLS];

	if (desc->natts != EV_NCOLS)
		elog(ERROR, "tenantguard_audit.events has an unexpected shape");
	heap_deform_tuple(tup, desc, values, nulls);
	*id = nulls[EV_ID] ? 0 : DatumGetInt64(values[EV_ID]);
	tg_event_hash_of(values, nulls, hash);
	return !nulls[EV_EVENT_HASH] && tg_bytea_eq(values[EV_EVENT_HASH], hash, TG_HASH_LEN);
}

const char *const tg_events_columns =
"id, occurred_at, tenant_id, category, action, principal, db_user, object, decision, "
"reason, details, old_row, new_row, txid, client_addr, application_name, event_hash";

