/*
 * secret_ref.c — vault references (pure C).
 */
#include <stdio.h>
#include <string.h>

#include "secret_ref.h"

bool
tg_slug_valid(const char *s, size_t len)
{
	size_t		i;

	if (s == NULL || len < 2 || len > TG_REF_SLUG_MAX)
		return false;
	for (i = 0; i < len; i++)
	{
		char		c = s[i];
		bool		alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || c != '-'))
			return false;
	}
	return true;
}

bool
tg_secret_name_valid(const char *s, size_t len)
{
	size_t		i;

	if (s == NULL || len == 0 || len > TG_REF_NAME_MAX)
		return false;
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (i = 0; i < len; i++)
	{
		char		c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

bool
tg_ref_parse(const char *s, size_t len, tg_secret_ref *out)
{
	size_t		plen = strlen(TG_REF_PREFIX);
	const char *p,
			   *end,
			   *slash1,
			   *slash2,
			   *at;
	tg_secret_ref r;
	int64_t		v = 0;
	const char *q;

	if (s == NULL || out == NULL || len <= plen || memcmp(s, TG_REF_PREFIX, plen) != 0)
		return false;
	memset(&r, 0, sizeof(r));
	p = s + plen;
	end = s + len;
	slash1 = memchr(p, '/', (size_t) (end - p));
	if (slash1 == NULL)
		return false;
	slash2 = memchr(slash1 + 1, '/', (size_t) (end - slash1 - 1));
	if (slash2 == NULL)
		return false;
	at = memchr(slash2 + 1, '@', (size_t) (end - slash2 - 1));
	if (at == NULL)
		return false;
	if (!tg_slug_valid(p, (size_t) (slash1 - p)) ||
		!tg_secret_name_valid(slash1 + 1, (size_t) (slash2 - slash1 - 1)) ||
		!tg_secret_name_valid(slash2 + 1, (size_t) (at - slash2 - 1)))
		return false;
	q = at + 1;
	if (q == end || end - q > 10 || *q == '0')
		return false;
	for (; q < end; q++)
	{
		if (*q < '0' || *q > '9')
			return false;
		v = v * 10 + (*q - '0');
	}
	if (v < 1 || v > INT32_MAX)
		return false;
	memcpy(r.slug, p, (size_t) (slash1 - p));
	memcpy(r.scope, slash1 + 1, (size_t) (slash2 - slash1 - 1));
	memcpy(r.name, slash2 + 1, (size_t) (at - slash2 - 1));
	r.version = (int32_t) v;
	*out = r;
	return true;
}

int
tg_ref_format(const tg_secret_ref *ref, char *buf, size_t buflen)
{
	int			n;

	if (ref == NULL || buf == NULL || ref->version < 1 ||
		!tg_slug_valid(ref->slug, strnlen(ref->slug, sizeof(ref->slug))) ||
		!tg_secret_name_valid(ref->scope, strnlen(ref->scope, sizeof(ref->scope))) ||
		!tg_secret_name_valid(ref->name, strnlen(ref->name, sizeof(ref->name))))
		return -1;
	n = snprintf(buf, buflen, "%s%s/%s/%s@%d", TG_REF_PREFIX, ref->slug, ref->scope,
				 ref->name, (int) ref->version);
	if (n < 0 || (size_t) n >= buflen)
		return -1;
	return n;
}
