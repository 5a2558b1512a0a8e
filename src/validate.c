/*
 * validate.c — the name rules of the SQL layer, as SQL functions.
 *
 * A tenant slug and a tenant role name are each defined once, in core/
 * (tg_slug_valid in core/secret_ref.c, which vault references also use;
 * tg_role_name_valid in core/context_value.c, which the context format also
 * uses). The tenants and role_bindings CHECK constraints and the PL/pgSQL
 * checks of create_tenant() and bind_role() call these functions instead of
 * repeating the rules as regular expressions.
 *
 * C, so they are never inlined and resolve nothing through search_path.
 * Bottom layer: uses nothing of tenantguard's but core/.
 */
#include "postgres.h"

#include "fmgr.h"

#include "core/context_value.h"
#include "core/secret_ref.h"

PG_FUNCTION_INFO_V1(tg_slug_valid_fn);

/* _slug_valid(text): is this a tenant slug (^[a-z0-9][a-z0-9-]{1,62}$)? */
Datum
tg_slug_valid_fn(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	PG_RETURN_BOOL(tg_slug_valid(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)));
}

PG_FUNCTION_INFO_V1(tg_role_name_valid_fn);

/* _role_name_valid(text): is this a tenant role name (^[a-z0-9][a-z0-9_.-]{0,62}$)? */
Datum
tg_role_name_valid_fn(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	PG_RETURN_BOOL(tg_role_name_valid(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)));
}
