/*
 * audit_triggers.c — the audit ledger's SQL face: the C row and TRUNCATE
 * triggers of audited tables (audit_table()), append-only enforcement on the
 * ledger's tables, tenantguard_audit._record() for tenantguard's own SQL
 * functions and audit_log() for applications.
 *
 * Layer 7: builds events with the event store and the context's actor.
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/json.h"
#include "utils/numeric.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "cache.h"
#include "context.h"
#include "event_store.h"
#include "tenantguard.h"

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

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("category and action must not be null")));
	tg_event_init(&ev, tg_actor_current(), tg_arg_cstring(fcinfo, 0), tg_arg_cstring(fcinfo, 1));
	ev.object = tg_arg_cstring(fcinfo, 2);
	ev.decision = tg_arg_cstring(fcinfo, 3);
	ev.reason = tg_arg_cstring(fcinfo, 4);
	ev.details_json = tg_arg_jsonb_cstring(fcinfo, 5);
	if (!PG_ARGISNULL(6))
	{
		ev.actor.has_tenant = true;
		ev.actor.tenant = *PG_GETARG_UUID_P(6);
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

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("action must not be null")));
	action = tg_arg_cstring(fcinfo, 0);
	if (action[0] == '\0' || strlen(action) > 200)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("action must be 1 to 200 characters")));
	tg_event_init(&ev, tg_actor_current(), "app", action);
	ev.object = tg_arg_cstring(fcinfo, 1);
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

/* A string as a jsonb scalar (the bytes are not copied). */
static void
tg_jsonb_string(JsonbValue *v, const char *s, int len)
{
	v->type = jbvString;
	v->val.string.val = (char *) s;
	v->val.string.len = len;
}

/*
 * Push one column's value into the jsonb being built: the same value
 * jsonb_in would give the JSON text of it (numbers as numeric, NaN and
 * infinities as strings, booleans, json and jsonb values as themselves,
 * everything else as its text form), without writing and parsing text.
 */
static void
tg_push_value(JsonbParseState **state, TgRowCache *c, int i, Datum d, bool isnull, Oid typid)
{
	JsonbValue	v;
	char	   *s;

	if (c->kind[i] == COL_SECRET && !isnull)
	{
		tg_jsonb_string(&v, "[secret]", 8);
		(void) pushJsonbValue(state, WJB_VALUE, &v);
		return;
	}
	if (isnull)
	{
		v.type = jbvNull;
		(void) pushJsonbValue(state, WJB_VALUE, &v);
		return;
	}
	switch (c->kind[i])
	{
		case COL_BOOL:
			v.type = jbvBool;
			v.val.boolean = DatumGetBool(d);
			(void) pushJsonbValue(state, WJB_VALUE, &v);
			return;
		case COL_JSON:
			{
				Jsonb	   *jb;

				if (getBaseType(typid) == JSONBOID)
					jb = DatumGetJsonbP(d);
				else
				{
					s = OutputFunctionCall(&c->out[i], d);
					jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(s)));
				}
				if (JB_ROOT_IS_SCALAR(jb))
				{
					JsonbValue	scalar;

					(void) JsonbExtractScalar(&jb->root, &scalar);
					(void) pushJsonbValue(state, WJB_VALUE, &scalar);
				}
				else
				{
					v.type = jbvBinary;
					v.val.binary.data = &jb->root;
					v.val.binary.len = VARSIZE(jb) - VARHDRSZ;
					(void) pushJsonbValue(state, WJB_VALUE, &v);
				}
				return;
			}
		case COL_NUMBER:
			s = OutputFunctionCall(&c->out[i], d);
			/* NaN and infinities are not JSON numbers */
			if (strspn(s, "0123456789+-.eE") == strlen(s) && s[0] != '\0')
			{
				v.type = jbvNumeric;
				v.val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(s),
																	ObjectIdGetDatum(InvalidOid),
																	Int32GetDatum(-1)));
			}
			else
				tg_jsonb_string(&v, s, strlen(s));
			(void) pushJsonbValue(state, WJB_VALUE, &v);
			return;
		default:
			s = OutputFunctionCall(&c->out[i], d);
			tg_jsonb_string(&v, s, strlen(s));
			(void) pushJsonbValue(state, WJB_VALUE, &v);
			return;
	}
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
 * other) as jsonb, built directly (no JSON text in between); *any says
 * whether a column qualified.
 */
static Datum
tg_row_jsonb(TgRowCache *c, TupleDesc desc, HeapTuple tup, HeapTuple other, bool *any)
{
	JsonbParseState *state = NULL;
	JsonbValue *result;
	int			i;
	bool		first = true;

	(void) pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		bool		isnull;
		Datum		d;
		JsonbValue	key;

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
		first = false;
		tg_jsonb_string(&key, NameStr(att->attname), strlen(NameStr(att->attname)));
		(void) pushJsonbValue(&state, WJB_KEY, &key);
		tg_push_value(&state, c, i, d, isnull, att->atttypid);
	}
	result = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	*any = !first;
	return JsonbPGetDatum(JsonbValueToJsonb(result));
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
	tg_event_init(&ev, tg_actor_current(), "data", NULL);
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
			ev.actor.has_tenant = true;
			ev.actor.tenant = *DatumGetUUIDP(t);
		}
	}
	tg_audit_record_row(&ev);
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
	tg_event_init(&ev, tg_actor_current(), "data", "truncate");
	ev.object = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
										   RelationGetRelationName(rel));
	tg_audit_record(&ev);
	return PointerGetDatum(NULL);
}

