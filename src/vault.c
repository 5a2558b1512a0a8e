/*
 * vault.c — the C helpers of the vault of secrets by reference: secret name
 * validation and parsing of tgref: references (core/secret_ref.h). The vault
 * itself is SQL (tenantguard.vault and its SECURITY DEFINER functions).
 *
 * Layer 5: core only.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "core/secret_ref.h"

PG_FUNCTION_INFO_V1(tg_secret_name_valid_fn);

Datum
tg_secret_name_valid_fn(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	PG_RETURN_BOOL(tg_secret_name_valid(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)));
}

PG_FUNCTION_INFO_V1(tg_parse_ref);

/* _parse_ref(ref) -> (slug, scope, name, version); 22023 when malformed. */
Datum
tg_parse_ref(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	tg_secret_ref ref;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	if (!tg_ref_parse(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &ref))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed secret reference"),
				 errhint("A reference looks like tgref:<tenant slug>/<scope>/<name>@<version>; "
						 "get one from tenantguard.secret_ref().")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "_parse_ref must return a composite type");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = CStringGetTextDatum(ref.slug);
	values[1] = CStringGetTextDatum(ref.scope);
	values[2] = CStringGetTextDatum(ref.name);
	values[3] = Int32GetDatum(ref.version);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
