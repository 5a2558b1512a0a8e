/*
 * test_names.c — the two name rules the SQL layer calls through
 * tenantguard._slug_valid() and tenantguard._role_name_valid():
 *
 *   tenant slug       ^[a-z0-9][a-z0-9-]{1,62}$    tg_slug_valid (core/secret_ref.c)
 *   tenant role name  ^[a-z0-9][a-z0-9_.-]{0,62}$  tg_role_name_valid (core/context_value.c)
 *
 * Edge cases by hand, then every short string over an alphabet of edge
 * characters (and long strings around the length limits) compared with the
 * regular expressions the SQL script used before, through POSIX regexec in
 * the C locale.
 */
#include <regex.h>
#include <string.h>

#include "core/context_value.h"
#include "core/secret_ref.h"
#include "unit.h"

#define SLUG_RE "^[a-z0-9][a-z0-9-]{1,62}$"
#define ROLE_RE "^[a-z0-9][a-z0-9_.-]{0,62}$"

static bool
slug(const char *s)
{
	return tg_slug_valid(s, strlen(s));
}

static bool
role(const char *s)
{
	return tg_role_name_valid(s, strlen(s));
}

/* n copies of c, then tail (buf must hold n + strlen(tail) + 1 bytes). */
static const char *
fill(char *buf, char c, size_t n, const char *tail)
{
	memset(buf, c, n);
	strcpy(buf + n, tail);
	return buf;
}

typedef bool (*rule_fn) (const char *s, size_t len);

/*
 * Count the strings on which rule and pattern disagree: every string of
 * length 0..3 over alphabet, and strings of length 60..66 made of one
 * character of the alphabet at the front, the middle or the end of filler.
 */
static int
disagreements(rule_fn rule, const char *pattern, const char *alphabet)
{
	regex_t		re;
	size_t		n = strlen(alphabet);
	size_t		i, j, k, len, pos;
	int			bad = 0;
	char		s[80];

	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
		return -1;
	for (len = 0; len <= 3; len++)
	{
		size_t		total = 1;

		for (i = 0; i < len; i++)
			total *= n;
		for (k = 0; k < total; k++)
		{
			size_t		x = k;

			for (i = 0; i < len; i++, x /= n)
				s[i] = alphabet[x % n];
			s[len] = '\0';
			if (rule(s, len) != (regexec(&re, s, 0, NULL, 0) == 0))
			{
				bad++;
				fprintf(stderr, "disagreement on \"%s\" for %s\n", s, pattern);
			}
		}
	}
	for (len = 60; len <= 66; len++)
		for (j = 0; j < n; j++)
			for (pos = 0; pos < 3; pos++)
			{
				memset(s, 'a', len);
				s[len] = '\0';
				s[pos == 0 ? 0 : pos == 1 ? len / 2 : len - 1] = alphabet[j];
				if (rule(s, len) != (regexec(&re, s, 0, NULL, 0) == 0))
				{
					bad++;
					fprintf(stderr, "disagreement on a string of length %zu for %s\n", len, pattern);
				}
			}
	regfree(&re);
	return bad;
}

void
test_names(void)
{
	char		buf[80];
	const char *alphabet = "az09AZ-_.` {/:@\n\t\x7f\x80\xc3\xa9\xff";

	/* tenant slugs: lengths */
	CHECK(!slug(""));
	CHECK(!slug("a"));
	CHECK(!slug("7"));
	CHECK(slug("ab"));
	CHECK(slug("a7"));
	CHECK(slug("42"));
	CHECK(slug(fill(buf, 'x', 63, "")));
	CHECK(slug(fill(buf, 'x', 62, "-")));
	CHECK(!slug(fill(buf, 'x', 64, "")));
	CHECK(!slug(fill(buf, 'x', 63, "-")));
	/* hyphens: not first, anywhere else */
	CHECK(!slug("-a"));
	CHECK(!slug("--"));
	CHECK(slug("a-"));
	CHECK(slug("a--b"));
	CHECK(slug("acme-eu-1"));
	/* upper case, other punctuation, white space */
	CHECK(!slug("Acme"));
	CHECK(!slug("acmE"));
	CHECK(!slug("a_b"));
	CHECK(!slug("a.b"));
	CHECK(!slug("a b"));
	CHECK(!slug("ab\n"));
	CHECK(!slug(" ab"));
	/* non-ASCII: UTF-8 and single high bytes */
	CHECK(!slug("caf\xc3\xa9"));
	CHECK(!slug("\xc3\xa9t\xc3\xa9"));
	CHECK(!slug("a\xe9"));
	CHECK(!slug("\xff\xff"));
	/* NUL inside the given length, and no string at all */
	CHECK(!tg_slug_valid("a\0b", 3));
	CHECK(!tg_slug_valid("ab\0", 3));
	CHECK(tg_slug_valid("ab\0", 2));
	CHECK(!tg_slug_valid(NULL, 0));
	CHECK(!tg_slug_valid(NULL, 2));

	/* tenant role names: lengths */
	CHECK(!role(""));
	CHECK(role("a"));
	CHECK(role("7"));
	CHECK(role("member"));
	CHECK(role(fill(buf, 'r', 63, "")));
	CHECK(role(fill(buf, 'r', 62, ".")));
	CHECK(!role(fill(buf, 'r', 64, "")));
	/* '_', '.', '-': not first, anywhere else */
	CHECK(!role("-a"));
	CHECK(!role(".a"));
	CHECK(!role("_a"));
	CHECK(!role("-"));
	CHECK(role("a-"));
	CHECK(role("a."));
	CHECK(role("a_"));
	CHECK(role("ops.deploy-1_x"));
	/* upper case, other punctuation, white space */
	CHECK(!role("Admin"));
	CHECK(!role("adMin"));
	CHECK(!role("a b"));
	CHECK(!role("a/b"));
	CHECK(!role("a:b"));
	CHECK(!role("a\n"));
	/* non-ASCII */
	CHECK(!role("r\xc3\xb4le"));
	CHECK(!role("\xc3\xa9"));
	CHECK(!role("a\x80"));
	/* NUL inside the given length, and no string at all */
	CHECK(!tg_role_name_valid("a\0b", 3));
	CHECK(!tg_role_name_valid("a\0", 2));
	CHECK(tg_role_name_valid("a\0", 1));
	CHECK(!tg_role_name_valid(NULL, 0));
	CHECK(!tg_role_name_valid(NULL, 1));

	/* the same decisions as the regular expressions they replace */
	CHECK(disagreements(tg_slug_valid, SLUG_RE, alphabet) == 0);
	CHECK(disagreements(tg_role_name_valid, ROLE_RE, alphabet) == 0);
}
