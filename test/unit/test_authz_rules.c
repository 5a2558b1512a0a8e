/*
 * test_authz_rules.c — permission and resource names, their globs and the
 * decision (core/authz_rules.h): the documented examples of
 * docs/authorization.md by hand, every short pattern and text over an
 * alphabet of edge characters against the naive reference reading
 * (test/fuzz/glob_reference.h), and the access matrix of issue 10.
 */
#include <string.h>

#include "core/authz_rules.h"
#include "../fuzz/glob_reference.h"
#include "unit.h"

static tg_name_problem
perm(const char *s, bool pattern)
{
	return tg_permission_check(s, strlen(s), pattern);
}

static tg_name_problem
res(const char *s, bool pattern)
{
	return tg_resource_check(s, strlen(s), pattern);
}

static bool
pm(const char *pattern, const char *text)
{
	return tg_glob_match(pattern, strlen(pattern), text, strlen(text), '.');
}

static bool
rm(const char *pattern, const char *text)
{
	return tg_glob_match(pattern, strlen(pattern), text, strlen(text), '/');
}

static void
test_permission_names(void)
{
	char		buf[TG_PERMISSION_MAX + 2];

	CHECK(perm("secrets.read", false) == TG_NAME_OK);
	CHECK(perm("deploy.production", false) == TG_NAME_OK);
	CHECK(perm("a", false) == TG_NAME_OK);
	CHECK(perm("a-b_c.d9.0", false) == TG_NAME_OK);
	CHECK(perm("", false) == TG_NAME_EMPTY);
	CHECK(tg_permission_check(NULL, 0, true) == TG_NAME_EMPTY);
	CHECK(perm(".read", false) == TG_NAME_EMPTY_SEGMENT);
	CHECK(perm("docs.", false) == TG_NAME_EMPTY_SEGMENT);
	CHECK(perm("docs..read", false) == TG_NAME_EMPTY_SEGMENT);
	CHECK(perm(".", true) == TG_NAME_EMPTY_SEGMENT);
	CHECK(perm("Docs.read", false) == TG_NAME_BAD_CHARACTER);
	CHECK(perm("docs read", false) == TG_NAME_BAD_CHARACTER);
	CHECK(perm("docs/read", false) == TG_NAME_BAD_CHARACTER);
	CHECK(perm("docs.r\xc3\xa9" "ad", false) == TG_NAME_BAD_CHARACTER);
	CHECK(tg_permission_check("docs\0read", 9, false) == TG_NAME_BAD_CHARACTER);
	/* literals never hold a wildcard; patterns do */
	CHECK(perm("docs.*", false) == TG_NAME_WILDCARD);
	CHECK(perm("*", false) == TG_NAME_WILDCARD);
	CHECK(perm("docs.*", true) == TG_NAME_OK);
	CHECK(perm("*", true) == TG_NAME_OK);
	CHECK(perm("**", true) == TG_NAME_OK);
	CHECK(perm("**.read", true) == TG_NAME_OK);
	CHECK(perm("secrets.**", true) == TG_NAME_OK);
	CHECK(perm("a.**.b", true) == TG_NAME_OK);
	CHECK(perm("deploy.prod*", true) == TG_NAME_OK);
	CHECK(perm("*-x-*.read", true) == TG_NAME_OK);
	CHECK(perm("a**", true) == TG_NAME_BAD_GLOB);
	CHECK(perm("***", true) == TG_NAME_BAD_GLOB);
	CHECK(perm("a.**b.c", true) == TG_NAME_BAD_GLOB);
	CHECK(perm("Docs.*", true) == TG_NAME_BAD_CHARACTER);
	/* the length limit */
	memset(buf, 'p', TG_PERMISSION_MAX);
	buf[TG_PERMISSION_MAX] = '\0';
	CHECK(perm(buf, false) == TG_NAME_OK);
	buf[TG_PERMISSION_MAX] = 'p';
	buf[TG_PERMISSION_MAX + 1] = '\0';
	CHECK(perm(buf, false) == TG_NAME_TOO_LONG);
	CHECK(perm(buf, true) == TG_NAME_TOO_LONG);
}

static void
test_resource_names(void)
{
	char		buf[TG_RESOURCE_MAX + 2];

	CHECK(res("project/app-web", false) == TG_NAME_OK);
	CHECK(res("*", false) == TG_NAME_OK);
	CHECK(res("project/*", false) == TG_NAME_OK);	/* a literal '*' */
	CHECK(res("project/**x", false) == TG_NAME_OK);	/* literals have no globs */
	CHECK(res("/abs//path/", false) == TG_NAME_OK);
	CHECK(res("Project Name/ÄÖ", false) == TG_NAME_OK);
	CHECK(res("", false) == TG_NAME_EMPTY);
	CHECK(res("a\nb", false) == TG_NAME_BAD_CHARACTER);
	CHECK(res("a\tb", true) == TG_NAME_BAD_CHARACTER);
	CHECK(res("a\x7f", false) == TG_NAME_BAD_CHARACTER);
	CHECK(tg_resource_check("a\0b", 3, false) == TG_NAME_BAD_CHARACTER);
	/* every control character at every position of a longer literal, and none of the other bytes */
	{
		char		r[24];
		int			pos,
					c,
					bad = 0;

		for (pos = 0; pos < 24; pos++)
			for (c = 1; c < 256; c++)
			{
				bool		control = c < 0x20 || c == 0x7f;

				memset(r, 'a', sizeof(r));
				r[pos] = (char) c;
				if ((tg_resource_check(r, sizeof(r), false) == TG_NAME_BAD_CHARACTER) != control)
					bad++;
			}
		CHECK(bad == 0);
		memset(r, 0xc3, sizeof(r));	/* bytes of multibyte characters are fine */
		CHECK(tg_resource_check(r, sizeof(r), false) == TG_NAME_OK);
		r[17] = '\0';
		CHECK(tg_resource_check(r, sizeof(r), false) == TG_NAME_BAD_CHARACTER);
	}
	CHECK(res("project/**", true) == TG_NAME_OK);
	CHECK(res("**/logs", true) == TG_NAME_OK);
	CHECK(res("project/app-*", true) == TG_NAME_OK);
	CHECK(res("project/a**", true) == TG_NAME_BAD_GLOB);
	CHECK(res("***", true) == TG_NAME_BAD_GLOB);
	memset(buf, 'r', TG_RESOURCE_MAX);
	buf[TG_RESOURCE_MAX] = '\0';
	CHECK(res(buf, false) == TG_NAME_OK);
	buf[TG_RESOURCE_MAX] = 'r';
	buf[TG_RESOURCE_MAX + 1] = '\0';
	CHECK(res(buf, false) == TG_NAME_TOO_LONG);
}

/* The examples of docs/authorization.md, "What * matches". */
static void
test_documented_globs(void)
{
	/* "*" alone: everything */
	CHECK(pm("*", "secrets.read"));
	CHECK(pm("*", "a.b.c.d"));
	CHECK(rm("*", "project/app-web/logs"));
	CHECK(rm("*", "*"));
	CHECK(pm("**", "a.b.c"));
	/* '*' inside a segment never crosses the separator */
	CHECK(pm("deploy.*", "deploy.production"));
	CHECK(pm("deploy.*", "deploy.preview"));
	CHECK(!pm("deploy.*", "deploy.production.eu"));
	CHECK(!pm("deploy.*", "deploy"));
	CHECK(pm("*.read", "logs.read"));
	CHECK(!pm("*.read", "audit.events.read"));
	CHECK(pm("deploy.prod*", "deploy.production"));
	CHECK(pm("deploy.prod*", "deploy.prod"));
	CHECK(!pm("deploy.prod*", "deploy.preview"));
	CHECK(rm("project/*", "project/app-web"));
	CHECK(!rm("project/*", "project/app-web/logs"));
	CHECK(!rm("project/*", "project"));
	CHECK(!rm("project/*", "*"));
	CHECK(rm("project/app-*", "project/app-web"));
	CHECK(rm("*/app-web", "runtime/app-web"));
	CHECK(rm("project/*", "project/"));	/* an empty segment */
	/* "**": one or more whole segments */
	CHECK(pm("secrets.**", "secrets.read"));
	CHECK(pm("secrets.**", "secrets.keys.rotate"));
	CHECK(!pm("secrets.**", "secrets"));
	CHECK(!pm("secrets.**", "secretsx.read"));
	CHECK(pm("**.read", "logs.read"));
	CHECK(pm("**.read", "audit.events.read"));
	CHECK(!pm("**.read", "read"));
	CHECK(!pm("**.read", "logs.reader"));
	CHECK(rm("project/**", "project/app-web/logs/2024"));
	CHECK(rm("org/**/docs", "org/a/b/docs"));
	CHECK(rm("org/**/docs", "org/a/docs"));
	CHECK(!rm("org/**/docs", "org/docs"));
	CHECK(rm("**/*", "a/b"));
	CHECK(!rm("**/*", "a"));
	/* no wildcard: exact, byte for byte */
	CHECK(pm("docs.read", "docs.read"));
	CHECK(!pm("docs.read", "docs.readx"));
	CHECK(!rm("project/App", "project/app"));
	/* a '*' in a literal is an ordinary character that only a wildcard matches */
	CHECK(!rm("project/app-web", "project/*"));
	CHECK(rm("project/*", "project/*"));
	CHECK(rm("project/a*", "project/a*b"));
	CHECK(!rm("project/a", "project/a*"));
}

/* The shapes compiled patterns recognise. */
static void
test_compiled_kinds(void)
{
	tg_glob		g;

	tg_glob_compile("*", 1, '/', &g);
	CHECK(g.kind == TG_GLOB_ALL);
	tg_glob_compile("project/app-web", 15, '/', &g);
	CHECK(g.kind == TG_GLOB_EXACT);
	tg_glob_compile("project/*", 9, '/', &g);
	CHECK(g.kind == TG_GLOB_PREFIX_SEGMENT && g.fixed_len == 8);
	CHECK(tg_glob_compiled_match(&g, "project/app-web", 15));
	CHECK(!tg_glob_compiled_match(&g, "project/app-web/x", 17));
	CHECK(!tg_glob_compiled_match(&g, "project", 7));
	tg_glob_compile("project/app-*", 13, '/', &g);
	CHECK(g.kind == TG_GLOB_PREFIX_SEGMENT);
	tg_glob_compile("project/**", 10, '/', &g);
	CHECK(g.kind == TG_GLOB_PREFIX_TREE && g.fixed_len == 8);
	CHECK(tg_glob_compiled_match(&g, "project/a/b", 11));
	CHECK(!tg_glob_compiled_match(&g, "project", 7));
	tg_glob_compile("**.read", 7, '.', &g);
	CHECK(g.kind == TG_GLOB_SUFFIX_TREE && g.fixed_len == 5);
	CHECK(tg_glob_compiled_match(&g, "audit.events.read", 17));
	CHECK(!tg_glob_compiled_match(&g, "read", 4));
	CHECK(!tg_glob_compiled_match(&g, "logs.reader", 11));
	tg_glob_compile("secrets.**", 10, '.', &g);
	CHECK(g.kind == TG_GLOB_PREFIX_TREE);
	tg_glob_compile("org/**/docs", 11, '/', &g);
	CHECK(g.kind == TG_GLOB_GENERAL);
	CHECK(tg_glob_compiled_match(&g, "org/a/b/docs", 12));
	tg_glob_compile("*/app-web", 9, '/', &g);
	CHECK(g.kind == TG_GLOB_GENERAL);
}

/*
 * Every pattern of up to 6 and text of up to 5 bytes over {a, b, *, sep},
 * compared with the reference reading, matched directly and compiled.
 */
static void
test_against_reference(char sep)
{
	const char	alphabet[4] = {'a', 'b', '*', sep};
	char		p[8],
				t[8];
	int			plen,
				tlen;
	long		pi,
				ti,
				pn,
				tn,
				bad = 0,
				bad_compiled = 0,
				tried = 0;
	long		kinds[TG_GLOB_GENERAL + 1] = {0};

	for (plen = 0; plen <= 6; plen++)
	{
		pn = 1L << (2 * plen);
		for (pi = 0; pi < pn; pi++)
		{
			int			k;

			tg_glob		g;

			for (k = 0; k < plen; k++)
				p[k] = alphabet[(pi >> (2 * k)) & 3];
			tg_glob_compile(p, plen, sep, &g);
			kinds[g.kind]++;
			for (tlen = 0; tlen <= 5; tlen++)
			{
				tn = 1L << (2 * tlen);
				for (ti = 0; ti < tn; ti++)
				{
					bool		ok,
								want;

					for (k = 0; k < tlen; k++)
						t[k] = alphabet[(ti >> (2 * k)) & 3];
					want = ref_glob_match(p, plen, t, tlen, sep, &ok);
					tried++;
					if (ok && want != tg_glob_match(p, plen, t, tlen, sep))
					{
						if (bad++ < 5)
							fprintf(stderr, "glob mismatch: pattern \"%.*s\" text \"%.*s\" sep '%c': reference %d\n",
									plen, p, tlen, t, sep, want);
					}
					if (ok && want != tg_glob_compiled_match(&g, t, tlen))
					{
						if (bad_compiled++ < 5)
							fprintf(stderr, "compiled glob mismatch: pattern \"%.*s\" (kind %d) text \"%.*s\" sep '%c': reference %d\n",
									plen, p, (int) g.kind, tlen, t, sep, want);
					}
				}
			}
		}
	}
	CHECK(tried > 4000000);
	CHECK(bad == 0);
	CHECK(bad_compiled == 0);
	/* every shape was compiled (and so compared) many times */
	CHECK(kinds[TG_GLOB_ALL] > 0 && kinds[TG_GLOB_EXACT] > 100 && kinds[TG_GLOB_PREFIX_SEGMENT] > 100 &&
		  kinds[TG_GLOB_PREFIX_TREE] > 10 && kinds[TG_GLOB_SUFFIX_TREE] > 10 && kinds[TG_GLOB_GENERAL] > 100);
}

/* Long inputs stay fast (no exponential backtracking). */
static void
test_worst_case(void)
{
	char		pat[TG_RESOURCE_MAX + 1],
				text[TG_RESOURCE_MAX + 1];
	int			i;

	/* "*a*a*a...*b" against "aaaa...": quadratic for the classic algorithm, not exponential */
	for (i = 0; i < TG_RESOURCE_MAX; i += 2)
	{
		pat[i] = '*';
		pat[i + 1] = 'a';
	}
	pat[TG_RESOURCE_MAX - 1] = 'b';
	memset(text, 'a', TG_RESOURCE_MAX);
	CHECK(!tg_glob_match(pat, TG_RESOURCE_MAX, text, TG_RESOURCE_MAX, '/'));
	/* "**" segments against many segments */
	for (i = 0; i < TG_RESOURCE_MAX; i += 3)
	{
		pat[i] = '*';
		if (i + 1 < TG_RESOURCE_MAX)
			pat[i + 1] = '*';
		if (i + 2 < TG_RESOURCE_MAX)
			pat[i + 2] = '/';
	}
	for (i = 0; i < TG_RESOURCE_MAX; i++)
		text[i] = (i % 2) ? '/' : 'x';
	CHECK(!tg_glob_match(pat, TG_RESOURCE_MAX - 1, text, 3, '/'));
	CHECK(tg_glob_match(pat, 2, text, TG_RESOURCE_MAX, '/'));
}

static tg_rule
rule(const char *p, const char *r, bool deny)
{
	tg_rule		x;

	x.permission = p;
	x.permission_len = strlen(p);
	x.resource = r;
	x.resource_len = strlen(r);
	x.deny = deny;
	return x;
}

static tg_decision
decide(const tg_rule *rules, size_t n, const char *p, const char *r)
{
	bool		matched[16];
	tg_decision with = tg_rules_decide(rules, n, p, strlen(p), r, strlen(r), matched);
	tg_decision without = tg_rules_decide(rules, n, p, strlen(p), r, strlen(r), NULL);

	/* the early exit never changes the decision */
	return with == without ? with : (tg_decision) 99;
}

/* The access matrix of issue 10, and deny over allow, default deny. */
static void
test_decisions(void)
{
	tg_rule		developer[] = {
		rule("deploy.*", "project/*", false),
		rule("deploy.production", "*", true),
		rule("logs.read", "*", false),
	};
	tg_rule		maintainer[] = {rule("deploy.*", "*", false)};
	tg_rule		viewer[] = {rule("**.read", "*", false), rule("secrets.**", "*", true)};
	bool		matched[3];

	CHECK(decide(developer, 3, "deploy.production", "project/app-web") == TG_DECISION_EXPLICIT_DENY);
	CHECK(decide(developer, 3, "deploy.preview", "project/app-web") == TG_DECISION_ALLOW);
	CHECK(decide(developer, 3, "deploy.preview", "*") == TG_DECISION_IMPLICIT_DENY);
	CHECK(decide(developer, 3, "secret.write", "production") == TG_DECISION_IMPLICIT_DENY);
	CHECK(decide(maintainer, 1, "deploy.preview", "*") == TG_DECISION_ALLOW);
	CHECK(decide(maintainer, 1, "deploy.production", "project/app-web") == TG_DECISION_ALLOW);
	CHECK(decide(viewer, 2, "logs.read", "runtime/app-web") == TG_DECISION_ALLOW);
	CHECK(decide(viewer, 2, "secrets.read", "*") == TG_DECISION_EXPLICIT_DENY);
	CHECK(decide(viewer, 2, "logs.write", "runtime/app-web") == TG_DECISION_IMPLICIT_DENY);
	CHECK(decide(viewer, 0, "logs.read", "*") == TG_DECISION_IMPLICIT_DENY);
	/* matched tells which rules matched, deny or not */
	CHECK(tg_rules_decide(developer, 3, "deploy.production", 17, "project/x", 9, matched) ==
		  TG_DECISION_EXPLICIT_DENY);
	CHECK(matched[0] && matched[1] && !matched[2]);
	/* order does not matter: deny first or last */
	{
		tg_rule		a[] = {rule("*", "*", true), rule("*", "*", false)};
		tg_rule		b[] = {rule("*", "*", false), rule("*", "*", true)};

		CHECK(decide(a, 2, "x", "y") == TG_DECISION_EXPLICIT_DENY);
		CHECK(decide(b, 2, "x", "y") == TG_DECISION_EXPLICIT_DENY);
	}
}

void
test_authz_rules(void)
{
	test_permission_names();
	test_resource_names();
	test_documented_globs();
	test_compiled_kinds();
	test_against_reference('.');
	test_against_reference('/');
	test_worst_case();
	test_decisions();
}
