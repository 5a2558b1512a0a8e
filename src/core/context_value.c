/*
 * context_value.c — the serialized form of a tenant context (pure C).
 */
#include <string.h>
#include <stdio.h>
#include <inttypes.h>

#include "context_value.h"

/* A tenant role name: [a-z0-9_.-], 1..63 bytes, starting with a letter or digit. */
bool
tg_role_name_valid(const char *s, size_t len)
{
	size_t		i;

	if (s == NULL || len == 0 || len > TG_CTX_ROLE_MAX)
		return false;
	for (i = 0; i < len; i++)
	{
		char		c = s[i];
		bool		alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (i == 0 && !alnum)
			return false;
		if (!alnum && c != '_' && c != '.' && c != '-')
			return false;
	}
	return true;
}

/* A principal: 1..255 bytes, no control characters. */
bool
tg_principal_valid(const char *s, size_t len)
{
	size_t		i;

	if (s == NULL || len == 0 || len > TG_CTX_PRINCIPAL_MAX)
		return false;
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

bool
tg_ctx_is_internal(const char *s, size_t len)
{
	size_t		plen = strlen(TG_CTX_FAMILY);

	return s != NULL && len >= plen && memcmp(s, TG_CTX_FAMILY, plen) == 0;
}

/* Serialize a context; -1 when a field is invalid or buf is too small. */
int
tg_ctx_format(const tg_context_value *ctx, char *buf, size_t buflen)
{
	char		uuid[TG_UUID_TEXT_LEN + 1];
	char		session[TG_UUID_TEXT_LEN + 1];
	int			n;

	if (ctx == NULL || buf == NULL)
		return -1;
	if (ctx->scope != TG_SCOPE_TRANSACTION && ctx->scope != TG_SCOPE_SESSION)
		return -1;
	if (ctx->expires < 0)
		return -1;
	if (ctx->aal != 1 && ctx->aal != 2)
		return -1;
	if (!tg_role_name_valid(ctx->role, strnlen(ctx->role, sizeof(ctx->role))))
		return -1;
	if (!tg_principal_valid(ctx->principal, strnlen(ctx->principal, sizeof(ctx->principal))))
		return -1;
	tg_uuid_format(ctx->tenant, uuid);
	if (ctx->has_session)
		tg_uuid_format(ctx->session, session);
	else
		strcpy(session, "-");
	n = snprintf(buf, buflen, "%s%s;%c;%" PRId64 ";%d;%s;%s;%s",
				 TG_CTX_PREFIX, uuid, (char) ctx->scope, ctx->expires,
				 ctx->aal, session, ctx->role, ctx->principal);
	if (n < 0 || (size_t) n >= buflen)
		return -1;
	return n;
}

/* Find the next ';' in [p, end); NULL when absent. */
static const char *
next_sep(const char *p, const char *end)
{
	while (p < end && *p != ';')
		p++;
	return p < end ? p : NULL;
}

/* Parse a decimal non-negative int64 of exactly len digits. */
static bool
parse_i64(const char *s, size_t len, int64_t *out)
{
	int64_t		v = 0;
	size_t		i;

	if (len == 0 || len > 19)
		return false;
	if (len > 1 && s[0] == '0')
		return false;
	for (i = 0; i < len; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (INT64_MAX - (s[i] - '0')) / 10)
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* Parse the serialized form; every field is validated. */
bool
tg_ctx_parse(const char *s, size_t len, tg_context_value *out)
{
	const char *p,
			   *end,
			   *sep;
	size_t		plen = strlen(TG_CTX_PREFIX);
	tg_context_value v;

	if (out == NULL || s == NULL || len < plen || memcmp(s, TG_CTX_PREFIX, plen) != 0)
		return false;
	memset(&v, 0, sizeof(v));
	p = s + plen;
	end = s + len;

	/* tenant */
	sep = next_sep(p, end);
	if (sep == NULL || !tg_uuid_parse(p, (size_t) (sep - p), v.tenant))
		return false;
	p = sep + 1;

	/* scope */
	sep = next_sep(p, end);
	if (sep == NULL || sep - p != 1 || (*p != TG_SCOPE_TRANSACTION && *p != TG_SCOPE_SESSION))
		return false;
	v.scope = (TgScope) *p;
	p = sep + 1;

	/* expiry */
	sep = next_sep(p, end);
	if (sep == NULL || !parse_i64(p, (size_t) (sep - p), &v.expires))
		return false;
	p = sep + 1;

	/* assurance level */
	sep = next_sep(p, end);
	if (sep == NULL || sep - p != 1 || (*p != '1' && *p != '2'))
		return false;
	v.aal = *p - '0';
	p = sep + 1;

	/* session id, or "-" */
	sep = next_sep(p, end);
	if (sep == NULL)
		return false;
	if (sep - p == 1 && *p == '-')
		v.has_session = false;
	else if (tg_uuid_parse(p, (size_t) (sep - p), v.session))
		v.has_session = true;
	else
		return false;
	p = sep + 1;

	/* role */
	sep = next_sep(p, end);
	if (sep == NULL || !tg_role_name_valid(p, (size_t) (sep - p)))
		return false;
	memcpy(v.role, p, (size_t) (sep - p));
	p = sep + 1;

	/* principal: the rest */
	if (!tg_principal_valid(p, (size_t) (end - p)))
		return false;
	memcpy(v.principal, p, (size_t) (end - p));

	*out = v;
	return true;
}
