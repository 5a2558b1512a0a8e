/*
 * context_value.h — the serialized form of a tenant context (pure C).
 *
 * A context is (tenant, principal, role) plus its scope, expiry, assurance
 * level and, for a context resumed from a login session, the session's id.
 * It is carried inside the setting tenantguard.context as
 *
 *     tgctx2;<tenant uuid>;<L|S>;<expires>;<aal>;<session uuid or ->;<role>;<principal>
 *
 * where <expires> is a PostgreSQL timestamp in microseconds (0 = none) and
 * <aal> 1 or 2 (authenticator assurance level: 2 = signed in with a second
 * factor). The principal is last so it may itself contain ';' or ':'.
 * Every value starting with "tgctx" is internal (tg_ctx_is_internal), so a
 * forged value of an older form is refused as a direct set, not taken for
 * a token; only the current form parses.
 */
#ifndef TG_CORE_CONTEXT_VALUE_H
#define TG_CORE_CONTEXT_VALUE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "uuid_text.h"

#define TG_CTX_PREFIX "tgctx2;"
#define TG_CTX_FAMILY "tgctx"
#define TG_CTX_ROLE_MAX 63
#define TG_CTX_PRINCIPAL_MAX 255
/* prefix + uuid + scope + int64 + aal + session + role + principal + separators + NUL */
#define TG_CTX_TEXT_MAX (7 + 36 + 1 + 1 + 1 + 20 + 1 + 1 + 1 + 36 + 1 + TG_CTX_ROLE_MAX + 1 + TG_CTX_PRINCIPAL_MAX + 1)

/*
 * How long a context lasts. Transaction and session scopes are serialized
 * (as 'L' and 'S'); a bound role's context is never serialized.
 */
typedef enum TgScope
{
	TG_SCOPE_TRANSACTION = 'L',
	TG_SCOPE_SESSION = 'S',
	TG_SCOPE_BOUND = 'B'
} TgScope;

typedef struct tg_context_value
{
	uint8_t		tenant[TG_UUID_LEN];
	TgScope		scope;			/* TG_SCOPE_TRANSACTION or TG_SCOPE_SESSION */
	int64_t		expires;		/* 0 = no expiry */
	int			aal;			/* 1 or 2 */
	bool		has_session;	/* resumed from a login session */
	uint8_t		session[TG_UUID_LEN];	/* its id (zero without one) */
	char		role[TG_CTX_ROLE_MAX + 1];
	char		principal[TG_CTX_PRINCIPAL_MAX + 1];
} tg_context_value;

/* A tenant role name: [a-z0-9_.-], 1..63 bytes, starting with a letter or digit. */
bool		tg_role_name_valid(const char *s, size_t len);

/* A principal: 1..255 bytes, no control characters. */
bool		tg_principal_valid(const char *s, size_t len);

/* Serialize; returns the length written (without NUL) or -1 if invalid or too small. */
int			tg_ctx_format(const tg_context_value *ctx, char *buf, size_t buflen);

/* Parse exactly len bytes; false on any deviation from the format. */
bool		tg_ctx_parse(const char *s, size_t len, tg_context_value *out);

/* True when s starts with "tgctx": a value of tenantguard's own form (any version). */
bool		tg_ctx_is_internal(const char *s, size_t len);

#endif
