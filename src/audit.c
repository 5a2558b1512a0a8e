/*
 * audit.c — the audit ledger: recording events (the C interface every
 * subsystem calls), the row and TRUNCATE triggers, append-only enforcement,
 * sealing events into signed hash-chained blocks, and verification.
 *
 * Events are written with a direct heap insert (no SPI, no trigger on the
 * events table) and hashed at insert time; no lock is taken beyond the row
 * insert, so concurrent writers never wait on each other. Sealing later
 * groups committed events by transaction id range into blocks.
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_type_d.h"
#include "commands/extension.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inet.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "catalog/pg_type.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "utils/xid8.h"

#include "core/encoding.h"
#include "core/ledger.h"
#include "tenantguard.h"

#define TG_AUDIT_SCHEMA "tenantguard_audit"

/* Columns of tenantguard_audit.events, in table order. */
enum
{
	EV_ID,
	EV_OCCURRED_AT,
	EV_TENANT_ID,
	EV_CATEGORY,
	EV_ACTION,
	EV_PRINCIPAL,
	EV_DB_USER,
	EV_OBJECT,
	EV_DECISION,
	EV_REASON,
	EV_DETAILS,
	EV_OLD_ROW,
	EV_NEW_ROW,
	EV_TXID,
	EV_CLIENT_ADDR,
	EV_APPLICATION_NAME,
	EV_EVENT_HASH,
	EV_NCOLS
};

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

static void
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
	tg_event_hash(fields, EV_NHASHED, out);
}

static Datum
tg_text_or_null(const char *s, bool *isnull)
{
	*isnull = (s == NULL);
	return s ? CStringGetTextDatum(s) : (Datum) 0;
}

/* This connection's client address (NULL for Unix sockets and workers). */
Datum
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

/*
 * Record an event in the current transaction. Fields left NULL in ev are
 * taken from the tenant context (tenant, principal) and the session.
 * In a read-only transaction the event goes through the ledger worker
 * instead; on a standby, which cannot store it, it goes to the server log.
 * Returns true when the event was written in the current transaction.
 */
bool
tg_audit_record(const TgAuditEvent *ev)
{
	Oid			seqid;
	Oid			relid;
	Relation	rel;
	Datum		values[EV_NCOLS];
	bool		nulls[EV_NCOLS];
	uint8_t		hash[TG_HASH_LEN];
	bytea	   *hb;
	HeapTuple	tup;
	CatalogIndexState ind;
	const TgEffectiveContext *ctx = tg_effective_context();
	const char *appname;
	char	   *dbuser;

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
		if (!tg_audit_refusal(ev))
			ereport(ERROR,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("audit queue is full; the %s action is refused because it cannot be audited", ev->action),
					 errhint("Retry in a read-write transaction, where events are written directly.")));
		return false;
	}
	relid = tg_events_relid(&seqid);
	memset(nulls, 0, sizeof(nulls));
	rel = table_open(relid, RowExclusiveLock);
	tg_events_check_shape(rel);

	values[EV_ID] = Int64GetDatum(nextval_internal(seqid, false));
	values[EV_OCCURRED_AT] = TimestampTzGetDatum(ev->occurred_at ? ev->occurred_at : GetCurrentTimestamp());
	if (ev->has_tenant)
	{
		pg_uuid_t  *u = palloc(sizeof(pg_uuid_t));

		*u = ev->tenant;
		values[EV_TENANT_ID] = UUIDPGetDatum(u);
	}
	else if (ctx && !ev->no_tenant)
	{
		pg_uuid_t  *u = palloc(sizeof(pg_uuid_t));

		*u = ctx->tenant;
		values[EV_TENANT_ID] = UUIDPGetDatum(u);
	}
	else
		nulls[EV_TENANT_ID] = true;
	values[EV_CATEGORY] = CStringGetTextDatum(ev->category);
	values[EV_ACTION] = CStringGetTextDatum(ev->action);
	values[EV_PRINCIPAL] = tg_text_or_null(ev->principal ? ev->principal : (ctx ? ctx->principal : NULL),
										   &nulls[EV_PRINCIPAL]);
	dbuser = ev->db_user ? pstrdup(ev->db_user) : GetUserNameFromId(GetSessionUserId(), true);
	if (dbuser)
	{
		Name		n = palloc0(NAMEDATALEN);

		namestrcpy(n, dbuser);
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
	if (ev->client_addr)
		values[EV_CLIENT_ADDR] = DirectFunctionCall1(inet_in, CStringGetDatum(ev->client_addr));
	else
		values[EV_CLIENT_ADDR] = tg_client_addr(&nulls[EV_CLIENT_ADDR]);
	appname = ev->application_name ? ev->application_name : application_name;
	values[EV_APPLICATION_NAME] = tg_text_or_null((appname && appname[0]) ? appname : NULL,
												  &nulls[EV_APPLICATION_NAME]);

	tg_event_hash_of(values, nulls, hash);
	hb = (bytea *) palloc(VARHDRSZ + TG_HASH_LEN);
	SET_VARSIZE(hb, VARHDRSZ + TG_HASH_LEN);
	memcpy(VARDATA(hb), hash, TG_HASH_LEN);
	values[EV_EVENT_HASH] = PointerGetDatum(hb);

	tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
	ind = CatalogOpenIndexes(rel);
	CatalogTupleInsertWithInfo(rel, tup, ind);
	CatalogCloseIndexes(ind);
	heap_freetuple(tup);
	table_close(rel, RowExclusiveLock);
	CommandCounterIncrement();
	return true;
}

/* ------------------------------------------------------------------------
 * SQL-callable recorders
 * ------------------------------------------------------------------------
 */

static const char *
tg_arg_cstring(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(n));
}

static char *
tg_arg_jsonb_cstring(FunctionCallInfo fcinfo, int n)
{
	Jsonb	   *jb;

	if (PG_ARGISNULL(n))
		return NULL;
	jb = PG_GETARG_JSONB_P(n);
	return JsonbToCString(NULL, &jb->root, VARSIZE(jb));
}

PG_FUNCTION_INFO_V1(tg_audit_record_sql);

/*
 * _record(category, action, object, decision, reason, details, tenant):
 * for tenantguard's own SQL functions; not granted to anyone.
 */
Datum
tg_audit_record_sql(PG_FUNCTION_ARGS)
{
	TgAuditEvent ev;

	memset(&ev, 0, sizeof(ev));
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("category and action must not be null")));
	ev.category = tg_arg_cstring(fcinfo, 0);
	ev.action = tg_arg_cstring(fcinfo, 1);
	ev.object = tg_arg_cstring(fcinfo, 2);
	ev.decision = tg_arg_cstring(fcinfo, 3);
	ev.reason = tg_arg_cstring(fcinfo, 4);
	ev.details_json = tg_arg_jsonb_cstring(fcinfo, 5);
	if (!PG_ARGISNULL(6))
	{
		ev.has_tenant = true;
		ev.tenant = *PG_GETARG_UUID_P(6);
	}
	tg_audit_record(&ev);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(tg_audit_log);

/*
 * audit_log(action, object, details): an application event. Actor, tenant
 * and time come from the context, never from the caller.
 */
Datum
tg_audit_log(PG_FUNCTION_ARGS)
{
	TgAuditEvent ev;
	const char *action;

	memset(&ev, 0, sizeof(ev));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("action must not be null")));
	action = tg_arg_cstring(fcinfo, 0);
	if (action[0] == '\0' || strlen(action) > 200)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("action must be 1 to 200 characters")));
	ev.category = "app";
	ev.action = action;
	ev.object = tg_arg_cstring(fcinfo, 1);
	ev.decision = "allow";
	ev.details_json = tg_arg_jsonb_cstring(fcinfo, 2);
	tg_audit_record(&ev);
	PG_RETURN_VOID();
}

/* ------------------------------------------------------------------------
 * Append-only enforcement
 * ------------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(tg_audit_append_only);

Datum
tg_audit_append_only(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	const char *what = "change";

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function can only be called as a trigger")));
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		what = "update";
	else if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
		what = "delete from";
	else if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
		what = "truncate";
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("cannot %s audit table \"%s\"", what, RelationGetRelationName(td->tg_relation)),
			 errdetail("Audit tables are append-only.")));
	return PointerGetDatum(NULL);
}

/* ------------------------------------------------------------------------
 * Row and TRUNCATE triggers for audited tables
 * ------------------------------------------------------------------------
 */

typedef enum TgColKind
{
	COL_STRING,
	COL_NUMBER,
	COL_BOOL,
	COL_JSON,
	COL_SECRET,
	COL_EXCLUDED
} TgColKind;

/*
 * Does a column of type typid hold a tenantguard.secret anywhere: the type
 * itself, a domain over it, an array of it, a composite type with such an
 * attribute (at any depth, through arrays and domains), a range or multirange
 * over it. Such a column is recorded as "[secret]" as a whole.
 */
static bool
tg_type_holds_secret(Oid typid, Oid secret_type)
{
	HeapTuple	tup;
	Form_pg_type typ;
	bool		holds = false;

	check_stack_depth();
	if (typid == secret_type)
		return true;
	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for type %u", typid);
	typ = (Form_pg_type) GETSTRUCT(tup);
	switch (typ->typtype)
	{
		case TYPTYPE_DOMAIN:
			holds = tg_type_holds_secret(typ->typbasetype, secret_type);
			break;
		case TYPTYPE_COMPOSITE:
			{
				TupleDesc	rowdesc = lookup_rowtype_tupdesc(typid, -1);
				int			i;

				for (i = 0; i < rowdesc->natts && !holds; i++)
					if (!TupleDescAttr(rowdesc, i)->attisdropped)
						holds = tg_type_holds_secret(TupleDescAttr(rowdesc, i)->atttypid, secret_type);
				ReleaseTupleDesc(rowdesc);
				break;
			}
		case TYPTYPE_RANGE:
			holds = tg_type_holds_secret(get_range_subtype(typid), secret_type);
			break;
		case TYPTYPE_MULTIRANGE:
			holds = tg_type_holds_secret(get_multirange_range(typid), secret_type);
			break;
		default:
			/* arrays, and fixed-length types with an element type */
			if (OidIsValid(typ->typelem))
				holds = tg_type_holds_secret(typ->typelem, secret_type);
			break;
	}
	ReleaseSysCache(tup);
	return holds;
}

/*
 * Per-trigger cache: how to render each column. It lives in fn_extra of the
 * trigger's FmgrInfo, which the executor allocates per statement (per result
 * relation), so it is built afresh by every statement, when the first row
 * event of the statement fires: after-row events fire at the end of the
 * statement, once every row of it has been formed, so a type changed by the
 * statement itself (or before it) is seen as it is now.
 */
typedef struct TgRowCache
{
	Oid			relid;
	int			natts;
	TgColKind  *kind;
	FmgrInfo   *out;
	char	   *object;
	AttrNumber	tenant_attnum;	/* 0 when the table is not protected */
} TgRowCache;

static TgRowCache *
tg_row_cache(FunctionCallInfo fcinfo, TriggerData *td)
{
	TgRowCache *c = (TgRowCache *) fcinfo->flinfo->fn_extra;
	Relation	rel = td->tg_relation;
	TupleDesc	desc = RelationGetDescr(rel);
	MemoryContext old;
	Oid			secret_type;
	char		tcol[NAMEDATALEN];
	int			i,
				j;

	if (c && c->relid == RelationGetRelid(rel) && c->natts == desc->natts)
		return c;

	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	c = palloc0(sizeof(TgRowCache));
	c->relid = RelationGetRelid(rel);
	c->natts = desc->natts;
	c->kind = palloc0(sizeof(TgColKind) * desc->natts);
	c->out = palloc0(sizeof(FmgrInfo) * desc->natts);
	c->object = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
										   RelationGetRelationName(rel));
	{
		Oid			nsp = get_namespace_oid(TG_SCHEMA, true);

		secret_type = OidIsValid(nsp) ?
			GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("secret"),
							ObjectIdGetDatum(nsp)) : InvalidOid;
	}
	if (tg_is_protected(c->relid, tcol))
	{
		for (i = 0; i < desc->natts; i++)
			if (!TupleDescAttr(desc, i)->attisdropped &&
				strcmp(NameStr(TupleDescAttr(desc, i)->attname), tcol) == 0)
				c->tenant_attnum = TupleDescAttr(desc, i)->attnum;
	}

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		Oid			typoutput;
		bool		varlena;
		Oid			base;

		if (att->attisdropped)
		{
			c->kind[i] = COL_EXCLUDED;
			continue;
		}
		for (j = 0; j < td->tg_trigger->tgnargs; j++)
			if (strcmp(td->tg_trigger->tgargs[j], NameStr(att->attname)) == 0)
				break;
		if (j < td->tg_trigger->tgnargs)
		{
			c->kind[i] = COL_EXCLUDED;
			continue;
		}
		base = getBaseType(att->atttypid);
		if (OidIsValid(secret_type) && tg_type_holds_secret(att->atttypid, secret_type))
		{
			c->kind[i] = COL_SECRET;
			continue;
		}
		switch (base)
		{
			case INT2OID:
			case INT4OID:
			case INT8OID:
			case FLOAT4OID:
			case FLOAT8OID:
			case NUMERICOID:
			case OIDOID:
				c->kind[i] = COL_NUMBER;
				break;
			case BOOLOID:
				c->kind[i] = COL_BOOL;
				break;
			case JSONOID:
			case JSONBOID:
				c->kind[i] = COL_JSON;
				break;
			default:
				c->kind[i] = COL_STRING;
				break;
		}
		getTypeOutputInfo(att->atttypid, &typoutput, &varlena);
		fmgr_info_cxt(typoutput, &c->out[i], fcinfo->flinfo->fn_mcxt);
	}
	MemoryContextSwitchTo(old);
	fcinfo->flinfo->fn_extra = c;
	return c;
}

/* Append one column's value as JSON. */
static void
tg_append_value(StringInfo buf, TgRowCache *c, int i, Datum d, bool isnull)
{
	char	   *s;

	if (c->kind[i] == COL_SECRET)
	{
		appendStringInfoString(buf, isnull ? "null" : "\"[secret]\"");
		return;
	}
	if (isnull)
	{
		appendStringInfoString(buf, "null");
		return;
	}
	s = OutputFunctionCall(&c->out[i], d);
	switch (c->kind[i])
	{
		case COL_NUMBER:
			/* NaN and infinities are not JSON numbers */
			if (strspn(s, "0123456789+-.eE") == strlen(s) && s[0] != '\0')
				appendStringInfoString(buf, s);
			else
				escape_json(buf, s);
			break;
		case COL_BOOL:
			appendStringInfoString(buf, s[0] == 't' ? "true" : "false");
			break;
		case COL_JSON:
			appendStringInfoString(buf, s);
			break;
		default:
			escape_json(buf, s);
			break;
	}
	pfree(s);
}

/*
 * Do two non-null values of a column hold the same bytes? A varlena value
 * that was not changed can still be stored differently in the old and the
 * new row: with a 4-byte header in one (a value flattened from an expanded
 * array, as written by array_append() or ||) and a 1-byte header in the
 * other, compressed or out of line in one and not the other. So when the
 * stored bytes differ, the uncompressed contents are compared (sizes first,
 * which needs no detoasting).
 */
static bool
tg_values_equal(Datum a, Datum b, Form_pg_attribute att)
{
	struct varlena *va,
			   *vb;
	bool		equal;

	if (datumIsEqual(a, b, att->attbyval, att->attlen))
		return true;
	if (att->attlen != -1)
		return false;
	if (toast_raw_datum_size(a) != toast_raw_datum_size(b))
		return false;
	va = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(a));
	vb = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(b));
	equal = VARSIZE_ANY_EXHDR(va) == VARSIZE_ANY_EXHDR(vb) &&
		memcmp(VARDATA_ANY(va), VARDATA_ANY(vb), VARSIZE_ANY_EXHDR(va)) == 0;
	if ((Pointer) va != DatumGetPointer(a))
		pfree(va);
	if ((Pointer) vb != DatumGetPointer(b))
		pfree(vb);
	return equal;
}

/*
 * Render a row (or, with other given, only the columns that differ from
 * other) as jsonb; returns 0 when no column qualifies.
 */
static Datum
tg_row_jsonb(TgRowCache *c, TupleDesc desc, HeapTuple tup, HeapTuple other, bool *any)
{
	StringInfoData buf;
	int			i;
	bool		first = true;
	Datum		result;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		bool		isnull;
		Datum		d;

		if (c->kind[i] == COL_EXCLUDED)
			continue;
		d = heap_getattr(tup, i + 1, desc, &isnull);
		if (other)
		{
			bool		onull;
			Datum		od = heap_getattr(other, i + 1, desc, &onull);

			if (isnull == onull && (isnull || tg_values_equal(d, od, att)))
				continue;
		}
		if (!first)
			appendStringInfoChar(&buf, ',');
		first = false;
		escape_json(&buf, NameStr(att->attname));
		appendStringInfoChar(&buf, ':');
		tg_append_value(&buf, c, i, d, isnull);
	}
	appendStringInfoChar(&buf, '}');
	*any = !first;
	result = tg_jsonb_from_cstring(buf.data);
	pfree(buf.data);
	return result;
}

PG_FUNCTION_INFO_V1(tg_audit_row_trigger);

/* AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW on an audited table. */
Datum
tg_audit_row_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TgRowCache *c;
	TupleDesc	desc;
	TgAuditEvent ev;
	HeapTuple	row;
	bool		any = true;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!TRIGGER_FIRED_AFTER(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function must be called as an AFTER ROW trigger")));
	c = tg_row_cache(fcinfo, td);
	desc = RelationGetDescr(td->tg_relation);
	memset(&ev, 0, sizeof(ev));
	ev.category = "data";
	ev.decision = "allow";
	ev.object = c->object;

	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
	{
		ev.action = "insert";
		row = td->tg_trigtuple;
		ev.new_row = tg_row_jsonb(c, desc, row, NULL, &any);
	}
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		ev.action = "update";
		row = td->tg_newtuple;
		ev.old_row = tg_row_jsonb(c, desc, td->tg_trigtuple, td->tg_newtuple, &any);
		if (!any)
			return PointerGetDatum(NULL);	/* nothing audited changed */
		ev.new_row = tg_row_jsonb(c, desc, td->tg_newtuple, td->tg_trigtuple, &any);
	}
	else
	{
		ev.action = "delete";
		row = td->tg_trigtuple;
		ev.old_row = tg_row_jsonb(c, desc, row, NULL, &any);
	}

	if (c->tenant_attnum > 0)
	{
		bool		isnull;
		Datum		t = heap_getattr(row, c->tenant_attnum, desc, &isnull);

		if (!isnull)
		{
			ev.has_tenant = true;
			ev.tenant = *DatumGetUUIDP(t);
		}
	}
	tg_audit_record(&ev);
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(tg_audit_truncate_trigger);

/* AFTER TRUNCATE FOR EACH STATEMENT on an audited table. */
Datum
tg_audit_truncate_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TgAuditEvent ev;
	Relation	rel;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function must be called as a TRUNCATE trigger")));
	rel = td->tg_relation;
	memset(&ev, 0, sizeof(ev));
	ev.category = "data";
	ev.action = "truncate";
	ev.decision = "allow";
	ev.object = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
										   RelationGetRelationName(rel));
	tg_audit_record(&ev);
	return PointerGetDatum(NULL);
}

/* ------------------------------------------------------------------------
 * Sealing and verification
 * ------------------------------------------------------------------------
 */

static bytea *
tg_bytea(const uint8_t *data, size_t len)
{
	bytea	   *b = (bytea *) palloc(VARHDRSZ + len);

	SET_VARSIZE(b, VARHDRSZ + len);
	memcpy(VARDATA(b), data, len);
	return b;
}

static bool
tg_bytea_eq(Datum d, const uint8_t *data, size_t len)
{
	bytea	   *b = DatumGetByteaPP(d);

	return VARSIZE_ANY_EXHDR(b) == len && memcmp(VARDATA_ANY(b), data, len) == 0;
}

/* The ledger signing key pair (from the master key). */
static void
tg_signing_keys(uint8_t pk[TG_SIGN_PK_LEN], uint8_t sk[TG_SIGN_SK_LEN])
{
	tg_ledger_keypair(tg_master_key_bytes(), pk, sk);
}


/* ------------------------------------------------------------------------
 * Signing key history: a master key replacement endorses the next key
 * ------------------------------------------------------------------------
 */

#define TG_MAX_SIGNING_KEYS 1024

typedef struct TgSigningKey
{
	int64		first_block;
	uint8_t		pk[TG_SIGN_PK_LEN];
} TgSigningKey;

/*
 * Load the signing key history (inside SPI) and check that each key was
 * endorsed by the one before it and that the newest is the current one.
 * Returns the number of keys; *problem is set when the chain is broken.
 */
static int
tg_load_signing_keys(TgSigningKey *keys, const uint8_t current[TG_SIGN_PK_LEN], char **problem)
{
	uint64		i;
	int			n = 0;

	*problem = NULL;
	if (SPI_execute("SELECT first_block, public_key, endorsement FROM tenantguard_audit.signing_keys "
					"ORDER BY id", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read tenantguard_audit.signing_keys");
	for (i = 0; i < SPI_processed && n < TG_MAX_SIGNING_KEYS; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		n1,
					n2,
					n3;
		int64		first = DatumGetInt64(SPI_getbinval(t, d, 1, &n1));
		bytea	   *pk = DatumGetByteaPP(SPI_getbinval(t, d, 2, &n2));
		Datum		e = SPI_getbinval(t, d, 3, &n3);

		if (n2 || VARSIZE_ANY_EXHDR(pk) != TG_SIGN_PK_LEN)
		{
			*problem = pstrdup("a ledger signing key is malformed");
			continue;
		}
		keys[n].first_block = first;
		memcpy(keys[n].pk, VARDATA_ANY(pk), TG_SIGN_PK_LEN);
		if (n > 0)
		{
			bytea	   *sig = n3 ? NULL : DatumGetByteaPP(e);

			if (sig == NULL || VARSIZE_ANY_EXHDR(sig) != TG_SIG_LEN ||
				!tg_ledger_check_endorsement(keys[n - 1].pk, keys[n].pk,
											 (const uint8_t *) VARDATA_ANY(sig)))
				*problem = psprintf("ledger signing key %d is not endorsed by the key before it", n + 1);
		}
		n++;
	}
	if (n > 0 && *problem == NULL && memcmp(keys[n - 1].pk, current, TG_SIGN_PK_LEN) != 0)
		*problem = pstrdup("the ledger's newest signing key does not belong to the configured master key");
	return n;
}

/* The key that signs block_id: the newest key whose first block is not after it. */
static const uint8_t *
tg_key_for_block(const TgSigningKey *keys, int n, int64 block_id, const uint8_t current[TG_SIGN_PK_LEN])
{
	const uint8_t *pk = n == 0 ? current : keys[0].pk;
	int			i;

	for (i = 0; i < n; i++)
		if (keys[i].first_block <= block_id)
			pk = keys[i].pk;
	return pk;
}

/*
 * After the master key was replaced (rewrap_keys), let the old signing key
 * endorse the new one, effective from the next block.
 */
void
tg_audit_rotate_signing_key(const uint8_t old_master_key[32])
{
	int			spi_level;
	uint8_t		old_pk[TG_SIGN_PK_LEN],
				old_sk[TG_SIGN_SK_LEN],
				new_pk[TG_SIGN_PK_LEN],
				new_sk[TG_SIGN_SK_LEN],
				sig[TG_SIG_LEN];
	bytea	   *latest;
	bool		isnull;

	if (!OidIsValid(get_namespace_oid(TG_AUDIT_SCHEMA, true)))
		return;
	tg_ledger_keypair(old_master_key, old_pk, old_sk);
	tg_signing_keys(new_pk, new_sk);
	sodium_memzero(new_sk, sizeof(new_sk));
	spi_level = tg_spi_begin();
	if (SPI_execute("LOCK TABLE tenantguard_audit.blocks IN EXCLUSIVE MODE", false, 0) != SPI_OK_UTILITY ||
		SPI_execute("SELECT public_key FROM tenantguard_audit.signing_keys ORDER BY id DESC LIMIT 1",
					true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read tenantguard_audit.signing_keys");
	if (SPI_processed == 0)
	{
		/* nothing was ever sealed: the new key simply starts the ledger */
		tg_spi_end(spi_level);
		sodium_memzero(old_sk, sizeof(old_sk));
		return;
	}
	latest = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (VARSIZE_ANY_EXHDR(latest) == TG_SIGN_PK_LEN && memcmp(VARDATA_ANY(latest), new_pk, TG_SIGN_PK_LEN) == 0)
	{
		tg_spi_end(spi_level);
		sodium_memzero(old_sk, sizeof(old_sk));
		return;
	}
	if (VARSIZE_ANY_EXHDR(latest) != TG_SIGN_PK_LEN || memcmp(VARDATA_ANY(latest), old_pk, TG_SIGN_PK_LEN) != 0)
	{
		sodium_memzero(old_sk, sizeof(old_sk));
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the old master key does not match the audit ledger's signing key")));
	}
	tg_ledger_endorse(old_sk, new_pk, sig);
	sodium_memzero(old_sk, sizeof(old_sk));
	{
		Oid			types[2] = {BYTEAOID, BYTEAOID};
		Datum		vals[2];

		vals[0] = PointerGetDatum(tg_bytea(new_pk, TG_SIGN_PK_LEN));
		vals[1] = PointerGetDatum(tg_bytea(sig, TG_SIG_LEN));
		if (SPI_execute_with_args("INSERT INTO tenantguard_audit.signing_keys (first_block, public_key, endorsement) "
								  "SELECT COALESCE(pg_catalog.max(id), 0) OPERATOR(pg_catalog.+) 1, $1, $2 FROM tenantguard_audit.blocks",
								  2, types, vals, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not store the new ledger signing key");
	}
	tg_spi_end(spi_level);
}

/* Recompute the hash of an event row read with SPI (columns in table order). */
static bool
tg_event_row_ok(HeapTuple tup, TupleDesc desc, uint8_t hash[TG_HASH_LEN], int64 *id)
{
	Datum		values[EV_NCOLS];
	bool		nulls[EV_NCOLS];
	int			i;

	for (i = 0; i < EV_NCOLS; i++)
		values[i] = SPI_getbinval(tup, desc, i + 1, &nulls[i]);
	*id = nulls[EV_ID] ? 0 : DatumGetInt64(values[EV_ID]);
	tg_event_hash_of(values, nulls, hash);
	return !nulls[EV_EVENT_HASH] && tg_bytea_eq(values[EV_EVENT_HASH], hash, TG_HASH_LEN);
}

static const char *tg_events_cols =
"id, occurred_at, tenant_id, category, action, principal, db_user, object, decision, "
"reason, details, old_row, new_row, txid, client_addr, application_name, event_hash";

/*
 * Seal every committed, not yet sealed event into one new block. Events are
 * grouped by transaction id: the block covers [previous to_xid, horizon),
 * where horizon is the oldest transaction still running, so no event can
 * later appear inside a sealed range. Returns the number of events sealed.
 */
int64
tg_audit_seal(void)
{
	int			spi_level;
	int64		sealed = 0;
	int64		prev_id = 0;
	uint64		from_xid = 0,
				horizon;
	uint8_t		prev_hash[TG_HASH_LEN];
	uint8_t		root[TG_HASH_LEN],
				bhash[TG_HASH_LEN],
				sig[TG_SIG_LEN],
				pk[TG_SIGN_PK_LEN],
				sk[TG_SIGN_SK_LEN];
	int64		first_event = 0,
				last_event = 0;
	tg_root_state rs;
	Portal		portal;
	char	   *q;
	Oid			argtypes[2] = {XID8OID, XID8OID};
	Datum		args[2];

	memset(prev_hash, 0, sizeof(prev_hash));
	tg_signing_keys(pk, sk);

	spi_level = tg_spi_begin();
	if (SPI_execute("LOCK TABLE tenantguard_audit.blocks IN EXCLUSIVE MODE", false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not lock tenantguard_audit.blocks");
	{
		TgSigningKey *keys = palloc(sizeof(TgSigningKey) * TG_MAX_SIGNING_KEYS);
		char	   *problem;
		int			nkeys = tg_load_signing_keys(keys, pk, &problem);

		if (problem)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot seal audit events: %s", problem),
					 errhint("After replacing the master key file, run tenantguard.rewrap_keys('<old key file>').")));
		if (nkeys == 0)
		{
			Oid			types[1] = {BYTEAOID};
			Datum		vals[1];

			vals[0] = PointerGetDatum(tg_bytea(pk, TG_SIGN_PK_LEN));
			if (SPI_execute_with_args("INSERT INTO tenantguard_audit.signing_keys (first_block, public_key) "
									  "SELECT COALESCE(pg_catalog.max(id), 0) OPERATOR(pg_catalog.+) 1, $1 FROM tenantguard_audit.blocks",
									  1, types, vals, NULL, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "could not store the ledger signing key");
		}
	}
	/* not read-only: after waiting for the lock, see the block a concurrent sealer committed */
	if (SPI_execute("SELECT id, to_xid, block_hash FROM tenantguard_audit.blocks ORDER BY id DESC LIMIT 1",
					false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read tenantguard_audit.blocks");
	if (SPI_processed == 1)
	{
		bool		isnull;
		bytea	   *h;

		prev_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		from_xid = DatumGetUInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		h = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
		if (VARSIZE_ANY_EXHDR(h) == TG_HASH_LEN)
			memcpy(prev_hash, VARDATA_ANY(h), TG_HASH_LEN);
	}
	if (SPI_execute("SELECT pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())", false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read the transaction horizon");
	{
		bool		isnull;

		horizon = DatumGetUInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	if (horizon < from_xid)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the transaction counter is behind the audit ledger"),
				 errdetail("The newest block ends at transaction %llu; this cluster is at %llu (restored into a new cluster?).",
						   (unsigned long long) from_xid, (unsigned long long) horizon),
				 errhint("Run CALL tenantguard_audit.catch_up(); right after a restore, before new events are written.")));
	if (horizon <= from_xid)
	{
		tg_spi_end(spi_level);
		sodium_memzero(sk, sizeof(sk));
		return 0;
	}

	tg_root_init(&rs);
	q = psprintf("SELECT %s FROM tenantguard_audit.events "
				 "WHERE txid OPERATOR(pg_catalog.>=) $1 AND txid OPERATOR(pg_catalog.<) $2 ORDER BY id",
				 tg_events_cols);
	args[0] = UInt64GetDatum(from_xid);
	args[1] = UInt64GetDatum(horizon);
	portal = SPI_cursor_open_with_args(NULL, q, 2, argtypes, args, NULL, false, 0);
	for (;;)
	{
		uint64		i;

		SPI_cursor_fetch(portal, true, 1000);
		if (SPI_processed == 0)
			break;
		for (i = 0; i < SPI_processed; i++)
		{
			uint8_t		h[TG_HASH_LEN];
			int64		id;

			if (!tg_event_row_ok(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, h, &id))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("audit event %lld does not match its hash", (long long) id),
						 errdetail("The event was altered before it was sealed; sealing stops here."),
						 errhint("Investigate with tenantguard_audit.verify().")));
			tg_root_add(&rs, h);
			if (first_event == 0)
				first_event = id;
			last_event = id;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	tg_root_final(&rs, root);
	sealed = rs.count;

	{
		Oid			types[10] = {INT8OID, XID8OID, XID8OID, INT8OID, INT8OID, INT8OID,
		BYTEAOID, BYTEAOID, BYTEAOID, BYTEAOID};
		Datum		vals[10];
		char		nulls[10] = "          ";

		tg_block_hash(prev_id + 1, from_xid, horizon, sealed, root, prev_hash, bhash);
		tg_ledger_sign(sk, bhash, sig);
		vals[0] = Int64GetDatum(prev_id + 1);
		vals[1] = UInt64GetDatum(from_xid);
		vals[2] = UInt64GetDatum(horizon);
		vals[3] = Int64GetDatum(sealed);
		vals[4] = Int64GetDatum(first_event);
		vals[5] = Int64GetDatum(last_event);
		if (sealed == 0)
			nulls[4] = nulls[5] = 'n';
		vals[6] = PointerGetDatum(tg_bytea(root, TG_HASH_LEN));
		vals[7] = PointerGetDatum(tg_bytea(prev_hash, TG_HASH_LEN));
		vals[8] = PointerGetDatum(tg_bytea(bhash, TG_HASH_LEN));
		vals[9] = PointerGetDatum(tg_bytea(sig, TG_SIG_LEN));
		if (sealed > 0 &&
			SPI_execute_with_args("INSERT INTO tenantguard_audit.blocks "
								  "(id, from_xid, to_xid, event_count, first_event, last_event, "
								  " events_root, prev_hash, block_hash, signature) "
								  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
								  10, types, vals, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not store an audit block");
	}
	sodium_memzero(sk, sizeof(sk));
	tg_spi_end(spi_level);
	return sealed;
}

PG_FUNCTION_INFO_V1(tg_audit_seal_sql);

Datum
tg_audit_seal_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(tg_audit_seal());
}

/* One result row of verify(). */
typedef struct TgVerifyResult
{
	bool		ok;
	int64		events;
	int64		blocks;
	int64		first_bad;
	char	   *problem;
} TgVerifyResult;

static void
tg_verify_fail(TgVerifyResult *r, int64 event, char *problem)
{
	if (!r->ok)
		return;
	r->ok = false;
	r->first_bad = event;
	r->problem = problem;
}

/*
 * Stream the events of [from, to) (to = 0: no upper bound) in id order,
 * checking each hash; adds the hashes to rs when given.
 */
static void
tg_verify_events(TgVerifyResult *r, uint64 from, uint64 to, tg_root_state *rs,
				 const pg_uuid_t *tenant, int64 *count)
{
	Portal		portal;
	Oid			argtypes[2] = {XID8OID, XID8OID};
	Datum		args[2];
	char	   *q;

	q = psprintf("SELECT %s FROM tenantguard_audit.events WHERE txid OPERATOR(pg_catalog.>=) $1 %s ORDER BY id",
				 tg_events_cols, to ? "AND txid OPERATOR(pg_catalog.<) $2" : "AND $2 IS NULL");
	args[0] = UInt64GetDatum(from);
	args[1] = UInt64GetDatum(to);
	portal = SPI_cursor_open_with_args(NULL, q, 2, argtypes, args, to ? NULL : " n", true, 0);
	*count = 0;
	for (;;)
	{
		uint64		i;

		SPI_cursor_fetch(portal, true, 1000);
		if (SPI_processed == 0)
			break;
		for (i = 0; i < SPI_processed; i++)
		{
			uint8_t		h[TG_HASH_LEN];
			int64		id;
			bool		isnull;
			Datum		t;

			if (!tg_event_row_ok(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, h, &id))
				tg_verify_fail(r, id, psprintf("event %lld does not match its hash (altered)", (long long) id));
			if (rs)
				tg_root_add(rs, h);
			(*count)++;
			t = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, EV_TENANT_ID + 1, &isnull);
			if (tenant == NULL ||
				(!isnull && memcmp(DatumGetUUIDP(t)->data, tenant->data, UUID_LEN) == 0))
				r->events++;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
}

/* Verify every event and every block. */
static void
tg_audit_verify(const pg_uuid_t *tenant, TgVerifyResult *r, int64 upto_block,
				uint8_t last_hash[TG_HASH_LEN], int64 *last_block)
{
	uint8_t		prev[TG_HASH_LEN];
	uint8_t		pk[TG_SIGN_PK_LEN],
				sk[TG_SIGN_SK_LEN];
	uint64		next_from = 0;
	int64		expect_id = 1;
	SPITupleTable *blocks;
	uint64		nblocks,
				b;
	int64		dummy;

	TgSigningKey *keys = palloc(sizeof(TgSigningKey) * TG_MAX_SIGNING_KEYS);
	int			nkeys;
	char	   *key_problem;

	memset(r, 0, sizeof(*r));
	r->ok = true;
	memset(prev, 0, sizeof(prev));
	tg_signing_keys(pk, sk);
	sodium_memzero(sk, sizeof(sk));
	nkeys = tg_load_signing_keys(keys, pk, &key_problem);
	if (key_problem)
		tg_verify_fail(r, 0, key_problem);

	if (SPI_execute("SELECT id, from_xid, to_xid, event_count, events_root, prev_hash, block_hash, signature, first_event "
					"FROM tenantguard_audit.blocks ORDER BY id", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read tenantguard_audit.blocks");
	blocks = SPI_tuptable;
	nblocks = SPI_processed;
	for (b = 0; b < nblocks; b++)
	{
		HeapTuple	t = blocks->vals[b];
		TupleDesc	d = blocks->tupdesc;
		bool		n[9];
		int64		id = DatumGetInt64(SPI_getbinval(t, d, 1, &n[0]));
		uint64		from = DatumGetUInt64(SPI_getbinval(t, d, 2, &n[1]));
		uint64		to = DatumGetUInt64(SPI_getbinval(t, d, 3, &n[2]));
		int64		count = DatumGetInt64(SPI_getbinval(t, d, 4, &n[3]));
		Datum		rootd = SPI_getbinval(t, d, 5, &n[4]);
		Datum		prevd = SPI_getbinval(t, d, 6, &n[5]);
		Datum		hashd = SPI_getbinval(t, d, 7, &n[6]);
		Datum		sigd = SPI_getbinval(t, d, 8, &n[7]);
		Datum		firstd = SPI_getbinval(t, d, 9, &n[8]);
		int64		first = n[8] ? 0 : DatumGetInt64(firstd);
		tg_root_state rs;
		uint8_t		root[TG_HASH_LEN],
					bh[TG_HASH_LEN];
		int64		seen = 0;
		bytea	   *sig;

		if (upto_block > 0 && id > upto_block)
			break;
		r->blocks++;
		if (id != expect_id)
			tg_verify_fail(r, first, psprintf("block %lld is missing or out of order", (long long) expect_id));
		if (from != next_from)
			tg_verify_fail(r, first, psprintf("block %lld does not start where block %lld ended",
											  (long long) id, (long long) id - 1));
		if (!tg_bytea_eq(prevd, prev, TG_HASH_LEN))
			tg_verify_fail(r, first, psprintf("block %lld does not link to the previous block", (long long) id));
		tg_root_init(&rs);
		tg_verify_events(r, from, to, &rs, tenant, &seen);
		tg_root_final(&rs, root);
		if (seen != count)
			tg_verify_fail(r, first, psprintf("block %lld sealed %lld events but %lld are present (events were deleted or inserted)",
											  (long long) id, (long long) count, (long long) seen));
		else if (!tg_bytea_eq(rootd, root, TG_HASH_LEN))
			tg_verify_fail(r, first, psprintf("events of block %lld do not match its root (events were replaced)",
											  (long long) id));
		tg_block_hash(id, from, to, count, root, prev, bh);
		if (!tg_bytea_eq(hashd, bh, TG_HASH_LEN))
			tg_verify_fail(r, first, psprintf("block %lld does not match its hash", (long long) id));
		sig = DatumGetByteaPP(sigd);
		if (VARSIZE_ANY_EXHDR(sig) != TG_SIG_LEN ||
			!tg_ledger_verify(tg_key_for_block(keys, nkeys, id, pk), bh, (const uint8_t *) VARDATA_ANY(sig)))
			tg_verify_fail(r, first, psprintf("signature of block %lld is not valid", (long long) id));
		/* continue the chain with the recomputed hash, so one break is reported once */
		memcpy(prev, bh, TG_HASH_LEN);
		next_from = to;
		expect_id = id + 1;
		if (last_block)
			*last_block = id;
		if (last_hash)
			memcpy(last_hash, bh, TG_HASH_LEN);
	}
	if (upto_block == 0)
		tg_verify_events(r, next_from, 0, NULL, tenant, &dummy);
}

PG_FUNCTION_INFO_V1(tg_audit_verify_sql);

/* verify(tenant): recompute every event hash and every block link. */
Datum
tg_audit_verify_sql(PG_FUNCTION_ARGS)
{
	int			spi_level;
	TupleDesc	tupdesc;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};
	TgVerifyResult r;
	pg_uuid_t	tenant;

	if (!PG_ARGISNULL(0))
		tenant = *PG_GETARG_UUID_P(0);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "verify must return a composite type");
	tupdesc = BlessTupleDesc(tupdesc);
	spi_level = tg_spi_begin();
	tg_audit_verify(PG_ARGISNULL(0) ? NULL : &tenant, &r, 0, NULL, NULL);
	values[0] = BoolGetDatum(r.ok);
	values[1] = Int64GetDatum(r.events);
	values[2] = Int64GetDatum(r.blocks);
	if (r.ok || r.first_bad == 0)
		nulls[3] = true;
	else
		values[3] = Int64GetDatum(r.first_bad);
	if (r.problem)
		values[4] = CStringGetTextDatum(r.problem);
	else
		nulls[4] = true;
	{
		HeapTuple	tup = heap_form_tuple(tupdesc, values, nulls);
		Datum		result;

		/* copy out of SPI memory before finishing */
		result = SPI_datumTransfer(HeapTupleGetDatum(tup), false, -1);
		tg_spi_end(spi_level);
		PG_RETURN_DATUM(result);
	}
}

PG_FUNCTION_INFO_V1(tg_audit_public_key);

/* public_key(): the ledger's Ed25519 public key, standard base64. */
Datum
tg_audit_public_key(PG_FUNCTION_ARGS)
{
	uint8_t		pk[TG_SIGN_PK_LEN],
				sk[TG_SIGN_SK_LEN];
	char		out[sodium_base64_ENCODED_LEN(TG_SIGN_PK_LEN, sodium_base64_VARIANT_ORIGINAL)];

	tg_signing_keys(pk, sk);
	sodium_memzero(sk, sizeof(sk));
	sodium_bin2base64(out, sizeof(out), pk, TG_SIGN_PK_LEN, sodium_base64_VARIANT_ORIGINAL);
	PG_RETURN_TEXT_P(cstring_to_text(out));
}

PG_FUNCTION_INFO_V1(tg_audit_verify_chain_to);

/*
 * _verify_chain_to(block_id, block_hash): true when blocks 1..block_id verify
 * and block block_id has exactly that hash. Used by verify_digest().
 */
Datum
tg_audit_verify_chain_to(PG_FUNCTION_ARGS)
{
	int			spi_level;
	int64		block_id = PG_GETARG_INT64(0);
	bytea	   *want = PG_GETARG_BYTEA_PP(1);
	TgVerifyResult r;
	uint8_t		last[TG_HASH_LEN];
	int64		last_id = 0;
	bool		ok;

	if (block_id < 1)
		PG_RETURN_BOOL(false);
	spi_level = tg_spi_begin();
	tg_audit_verify(NULL, &r, block_id, last, &last_id);
	tg_spi_end(spi_level);
	ok = r.ok && last_id == block_id && VARSIZE_ANY_EXHDR(want) == TG_HASH_LEN &&
		memcmp(VARDATA_ANY(want), last, TG_HASH_LEN) == 0;
	PG_RETURN_BOOL(ok);
}
