/*
 * seal.c — sealing and revealing secrets: seal() encrypts for the current
 * tenant under the newest data key, reveal() opens only in the tenant that
 * sealed and only with permission secrets.read (one place decides:
 * tg_authorize_reveal), and every reveal is
 * audited (never with the value): counted by the tally, which writes
 * one event per statement and call site (tg_call_site_of names the column
 * the value came from; _reveal_vault() is named by the vault entry); blind
 * indexes for equality lookups.
 *
 * Layer 7: uses the keyring, the secret type, the tally, authorization, the call
 * site, the context and the event store.
 */
#include "postgres.h"

#include <sodium.h>

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/uuid.h"

#include "core/envelope.h"
#include "core/keys.h"
#include "authz.h"
#include "call_site.h"
#include "catalog.h"
#include "context.h"
#include "event_store.h"
#include "keyring.h"
#include "seal.h"
#include "secret_type.h"
#include "tally.h"

/*
 * Reveals are tallied: one event per statement and (tenant, actor, call
 * site, text or bytea), written in the transaction, with a summary through
 * the queue when it rolls back; in a read-only transaction the first reveal
 * of a statement is queued before its plaintext is handed out.
 */
static const TgTallyKind tg_reveal_kind = {
	.category = "secret",
	.action = "reveal",
	.count_member = "reveals",
	.variant_member = "as",
	.queued = false,
	.announce = true,
	.rolled_back_reason = "transaction rolled back after revealing",
};

/* Count one reveal of a secret of tenant at site (before the plaintext is handed out). */
static void
tg_reveal_count(const uint8_t tenant[16], const TgCallSite *site, bool bytes)
{
	TgTallyItem item;

	memset(&item, 0, sizeof(item));
	item.site_id = site->id;
	item.tenant = tenant;
	item.variant = bytes ? "bytea" : "text";
	item.object = site->object;
	item.details = site->details;
	tg_tally_count(&tg_reveal_kind, &item);
}

/* The current tenant; 42501 without a context. */
static const pg_uuid_t *
tg_require_tenant(void)
{
	const TgEffectiveContext *c = tg_effective_context();

	if (c == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("no tenant context is set"),
				 errhint("Secrets are sealed and revealed inside a tenant: enter one first, "
						 "for example with tenantguard.set_tenant().")));
	return &c->tenant;
}

/* Seal bytes for a tenant under data key version; a new secret datum. */
bytea *
tg_seal_bytes(const uint8_t tenant[16], int32 version, uint8_t flags,
			  const uint8_t *pt, size_t ptlen)
{
	uint8_t		tk[TG_KEY_LEN];
	bytea	   *result;
	bool		ok;

	if (ptlen > TG_ENV_MAX_PLAINTEXT)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("secret is too large"),
				 errdetail("At most %zu bytes can be sealed.", TG_ENV_MAX_PLAINTEXT)));
	result = (bytea *) palloc(VARHDRSZ + ptlen + TG_ENV_OVERHEAD);
	SET_VARSIZE(result, VARHDRSZ + ptlen + TG_ENV_OVERHEAD);
	tg_derive_tenant_key(tg_data_key(version), tenant, tk);
	ok = tg_env_seal(tk, (uint32_t) version, tenant, flags, pt, ptlen,
					 (uint8_t *) VARDATA(result));
	sodium_memzero(tk, sizeof(tk));
	if (!ok)
		elog(ERROR, "could not seal a secret");
	return result;
}

/*
 * Open a secret datum into a palloc'ed buffer (len in *ptlen). No tenant
 * check here: callers decide whose secret may be opened.
 */
uint8_t *
tg_open_bytes(bytea *s, tg_env_header *h, size_t *ptlen)
{
	const uint8_t *buf = (const uint8_t *) VARDATA_ANY(s);
	size_t		len = VARSIZE_ANY_EXHDR(s);
	uint8_t		tk[TG_KEY_LEN];
	uint8_t    *pt;
	tg_env_result r;

	tg_secret_check(buf, len, h);
	tg_derive_tenant_key(tg_data_key((int32) h->key_version), h->tenant, tk);
	pt = palloc(h->plaintext_len + 1);
	r = tg_env_open(tk, buf, len, pt, ptlen);
	sodium_memzero(tk, sizeof(tk));
	if (r != TG_ENV_OK)
	{
		tg_audit_deny(tg_actor_current(), "secret", "open", NULL, "secret failed authentication");
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("secret failed authentication"),
				 errdetail("The ciphertext was altered, or it was copied from another tenant's row.")));
	}
	pt[*ptlen] = '\0';
	return pt;
}

/*
 * May the current context reveal a secret sealed for tenant, as resource
 * (vault/<scope>/<name> for the vault, * for every other reveal)? This is
 * the one place that decides: the tenant must match, and the context needs
 * secrets.read on the resource (42501, audited as a decision).
 */
static void
tg_authorize_reveal(const uint8_t tenant[16], const char *resource)
{
	static TgAuthzSite *site = NULL;
	const pg_uuid_t *current = tg_require_tenant();

	if (sodium_memcmp(current->data, tenant, UUID_LEN) != 0)
	{
		tg_audit_deny(tg_actor_current(), "secret", "reveal", NULL, "secret belongs to another tenant");
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("secret belongs to another tenant"),
				 errhint("A secret can only be revealed in the tenant that sealed it.")));
	}
	if (site == NULL)
		site = tg_authz_site_new(TopMemoryContext);
	tg_authz_require(site, "secrets.read", strlen("secrets.read"), resource, strlen(resource));
}

static Datum
tg_seal_common(const uint8_t *pt, size_t len, uint8_t flags)
{
	const pg_uuid_t *tenant = tg_require_tenant();
	pg_uuid_t	t = *tenant;

	PG_RETURN_BYTEA_P(tg_seal_bytes(t.data, tg_newest_data_version(), flags, pt, len));
}

PG_FUNCTION_INFO_V1(tg_seal_text);

Datum
tg_seal_text(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	return tg_seal_common((const uint8_t *) VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), 0);
}

PG_FUNCTION_INFO_V1(tg_seal_bytea);

Datum
tg_seal_bytea(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);

	return tg_seal_common((const uint8_t *) VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b), TG_ENV_FLAG_BYTES);
}

/*
 * Open a secret datum for the current context: well-formed, sealed for the
 * current tenant and revealable as resource (tg_authorize_reveal),
 * authentic. The plaintext is palloc'ed; the caller wipes it.
 */
static uint8_t *
tg_reveal_open(bytea *s, const char *resource, tg_env_header *h, size_t *n)
{
	tg_secret_check((const uint8_t *) VARDATA_ANY(s), VARSIZE_ANY_EXHDR(s), h);
	tg_authorize_reveal(h->tenant, resource);
	return tg_open_bytes(s, h, n);
}

/* reveal() as text of resource, counted at site (before the plaintext is handed out). */
static text *
tg_reveal_text_at(bytea *s, const char *resource, const TgCallSite *site)
{
	tg_env_header h;
	size_t		n = 0;
	uint8_t    *pt;
	text	   *result;

	pt = tg_reveal_open(s, resource, &h, &n);
	if (!pg_verifymbstr((const char *) pt, (int) n, true))
	{
		sodium_memzero(pt, n);
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("sealed value is not valid text in the database encoding"),
				 errhint("Use tenantguard.reveal_bytea() for binary secrets.")));
	}
	result = cstring_to_text_with_len((const char *) pt, (int) n);
	sodium_memzero(pt, n);
	pfree(pt);
	tg_reveal_count(h.tenant, site, false);
	return result;
}

PG_FUNCTION_INFO_V1(tg_reveal_text);

Datum
tg_reveal_text(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(tg_reveal_text_at(PG_GETARG_BYTEA_PP(0), "*", tg_call_site_of(fcinfo, 0)));
}

PG_FUNCTION_INFO_V1(tg_reveal_vault);

/*
 * _reveal_vault(s, scope, name, version): reveal() for get_secret(), its
 * event named by the vault entry. Not granted to anyone: only the vault's
 * SECURITY DEFINER functions call it, so no caller can name a reveal after
 * a vault entry it did not read.
 */
Datum
tg_reveal_vault(PG_FUNCTION_ARGS)
{
	bytea	   *s = PG_GETARG_BYTEA_PP(0);
	char	   *scope = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(2));
	int32		version = PG_GETARG_INT32(3);
	StringInfoData obj,
				det,
				res;
	TgCallSite	site;

	initStringInfo(&res);
	appendStringInfo(&res, "vault/%s/%s", scope, name);
	initStringInfo(&obj);
	appendStringInfo(&obj, "vault:%s/%s@%d", scope, name, version);
	initStringInfo(&det);
	appendStringInfoString(&det, "\"site\": \"vault\", \"scope\": ");
	escape_json(&det, scope);
	appendStringInfoString(&det, ", \"name\": ");
	escape_json(&det, name);
	appendStringInfo(&det, ", \"version\": %d", version);
	tg_call_site_named(&site, obj.data, det.data);
	PG_RETURN_TEXT_P(tg_reveal_text_at(s, res.data, &site));
}

PG_FUNCTION_INFO_V1(tg_reveal_bytea);

Datum
tg_reveal_bytea(PG_FUNCTION_ARGS)
{
	bytea	   *s = PG_GETARG_BYTEA_PP(0);
	tg_env_header h;
	size_t		n = 0;
	uint8_t    *pt;
	bytea	   *result;

	pt = tg_reveal_open(s, "*", &h, &n);
	result = tg_bytea(pt, n);
	sodium_memzero(pt, n);
	pfree(pt);
	tg_reveal_count(h.tenant, tg_call_site_of(fcinfo, 0), true);
	PG_RETURN_BYTEA_P(result);
}

PG_FUNCTION_INFO_V1(tg_blind_index_fn);

/* blind_index(value, purpose): keyed per tenant and purpose, stable across rotation. */
Datum
tg_blind_index_fn(PG_FUNCTION_ARGS)
{
	text	   *value = PG_GETARG_TEXT_PP(0);
	text	   *purpose = PG_GETARG_TEXT_PP(1);
	const pg_uuid_t *tenant = tg_require_tenant();
	pg_uuid_t	t = *tenant;
	uint8_t		bi[TG_BLIND_INDEX_LEN];

	tg_blind_index(tg_blind_index_key(), t.data,
				   VARDATA_ANY(purpose), VARSIZE_ANY_EXHDR(purpose),
				   (const uint8_t *) VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value), bi);
	PG_RETURN_BYTEA_P(tg_bytea(bi, TG_BLIND_INDEX_LEN));
}

