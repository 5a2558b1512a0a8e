/*
 * secret_ref.h — vault references: tgref:<tenant slug>/<scope>/<name>@<version>
 * (pure C).
 */
#ifndef TG_CORE_SECRET_REF_H
#define TG_CORE_SECRET_REF_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define TG_REF_PREFIX "tgref:"
#define TG_REF_SLUG_MAX 63
#define TG_REF_NAME_MAX 128

typedef struct tg_secret_ref
{
	char		slug[TG_REF_SLUG_MAX + 1];
	char		scope[TG_REF_NAME_MAX + 1];
	char		name[TG_REF_NAME_MAX + 1];
	int32_t		version;		/* >= 1 */
} tg_secret_ref;

/* A tenant slug: ^[a-z0-9][a-z0-9-]{1,62}$ */
bool		tg_slug_valid(const char *s, size_t len);

/* A secret name or scope: 1..128 of [A-Za-z0-9_.-], not "." or "..". */
bool		tg_secret_name_valid(const char *s, size_t len);

bool		tg_ref_parse(const char *s, size_t len, tg_secret_ref *out);

/* Returns the length written or -1. */
int			tg_ref_format(const tg_secret_ref *ref, char *buf, size_t buflen);

#endif
