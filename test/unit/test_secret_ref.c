/* test_secret_ref.c — vault references tgref:<slug>/<scope>/<name>@<version>. */
#include <string.h>
#include <stdint.h>

#include "unit.h"
#include "core/secret_ref.h"

static bool
parses(const char *s)
{
	tg_secret_ref r;

	return tg_ref_parse(s, strlen(s), &r);
}

/* Parse, check the fields, format again and compare with the input. */
static bool
round_trips(const char *s, const char *slug, const char *scope, const char *name, int32_t version)
{
	tg_secret_ref r;
	char		buf[512];
	int			n;

	memset(&r, 0x5a, sizeof(r));
	if (!tg_ref_parse(s, strlen(s), &r))
		return false;
	if (strcmp(r.slug, slug) != 0 || strcmp(r.scope, scope) != 0 ||
		strcmp(r.name, name) != 0 || r.version != version)
		return false;
	memset(buf, '#', sizeof(buf));
	n = tg_ref_format(&r, buf, sizeof(buf));
	return n == (int) strlen(s) && strcmp(buf, s) == 0;
}

/* A string of n copies of c followed by a NUL, in a static buffer. */
static const char *
rep(char c, size_t n)
{
	static char buf[4][300];
	static int	which = 0;
	char	   *b = buf[which++ % 4];

	memset(b, c, n);
	b[n] = '\0';
	return b;
}

static void
test_valid(void)
{
	tg_secret_ref r;
	char		s[512];

	CHECK(round_trips("tgref:acme/default/db-url@3", "acme", "default", "db-url", 3));
	CHECK(round_trips("tgref:a1/Prod_1/API.key-v2@2147483647", "a1", "Prod_1", "API.key-v2", INT32_MAX));
	CHECK(round_trips("tgref:0a/x/y@1", "0a", "x", "y", 1));
	CHECK(round_trips("tgref:a-/x/y@10", "a-", "x", "y", 10));
	CHECK(round_trips("tgref:acme-corp-2/.env/...@99", "acme-corp-2", ".env", "...", 99));
	CHECK(round_trips("tgref:acme/a..b/.x.@1000000000", "acme", "a..b", ".x.", 1000000000));
	CHECK(round_trips("tgref:acme/_/-@7", "acme", "_", "-", 7));

	/* the longest slug, scope and name */
	snprintf(s, sizeof(s), "tgref:%s/%s/%s@1", rep('a', 63), rep('B', 128), rep('9', 128));
	CHECK(round_trips(s, rep('a', 63), rep('B', 128), rep('9', 128), 1));
	CHECK(strlen(s) == 6 + 63 + 1 + 128 + 1 + 128 + 2);

	/* only len bytes are read */
	CHECK(tg_ref_parse("tgref:acme/default/db-url@3XYZ", 27, &r) && r.version == 3);
	CHECK(!tg_ref_parse("tgref:acme/default/db-url@3XYZ", 28, &r));
	CHECK(!tg_ref_parse("tgref:acme/default/db-url@3XYZ", 26, &r));
	CHECK(tg_ref_parse("tgref:acme/default/db-url@12", 27, &r) && r.version == 1);
}

static void
test_format(void)
{
	tg_secret_ref r;
	char		buf[64];
	int			n;

	memset(&r, 0, sizeof(r));
	strcpy(r.slug, "acme");
	strcpy(r.scope, "default");
	strcpy(r.name, "db-url");
	r.version = 3;
	n = tg_ref_format(&r, buf, sizeof(buf));
	CHECK(n == 27 && strcmp(buf, "tgref:acme/default/db-url@3") == 0);

	/* buffer sizes: the NUL must fit */
	CHECK(tg_ref_format(&r, buf, 28) == 27);
	CHECK(tg_ref_format(&r, buf, 27) == -1);
	CHECK(tg_ref_format(&r, buf, 1) == -1);
	CHECK(tg_ref_format(&r, buf, 0) == -1);
	CHECK(tg_ref_format(&r, NULL, 64) == -1);
	CHECK(tg_ref_format(NULL, buf, sizeof(buf)) == -1);

	/* invalid fields are not formatted */
	r.version = 0;
	CHECK(tg_ref_format(&r, buf, sizeof(buf)) == -1);
	r.version = -1;
	CHECK(tg_ref_format(&r, buf, sizeof(buf)) == -1);
	r.version = INT32_MIN;
	CHECK(tg_ref_format(&r, buf, sizeof(buf)) == -1);
	r.version = 3;
	strcpy(r.slug, "Acme");
	CHECK(tg_ref_format(&r, buf, sizeof(buf)) == -1);
	strcpy(r.slug, "a");
	CHECK(tg_ref_format(&r, buf, sizeof(buf)) == -1);
	strcpy(r.slug, "acme");
	strcpy(r.scope, "");
	CHECK(tg_ref_format(&r, buf, sizeof(buf)) == -1);
	strcpy(r.scope, "a/b");
	CHECK(tg_ref_format(&r, buf, sizeof(buf)) == -1);
	strcpy(r.scope, "default");
	strcpy(r.name, "..");
	CHECK(tg_ref_format(&r, buf, sizeof(buf)) == -1);
	strcpy(r.name, "x@1");
	CHECK(tg_ref_format(&r, buf, sizeof(buf)) == -1);
	/* a field without a terminating NUL is not read past its array */
	strcpy(r.name, "db-url");
	memset(r.slug, 'a', sizeof(r.slug));
	CHECK(tg_ref_format(&r, buf, sizeof(buf)) == -1);
	strcpy(r.slug, "acme");
	memset(r.name, 'n', sizeof(r.name));
	CHECK(tg_ref_format(&r, buf, sizeof(buf)) == -1);
}

static void
test_rejects(void)
{
	char		s[512];
	tg_secret_ref r;

	/* prefix */
	CHECK(!parses("acme/default/db-url@3"));
	CHECK(!parses("TGREF:acme/default/db-url@3"));
	CHECK(!parses("tgref acme/default/db-url@3"));
	CHECK(!parses("tgref::acme/default/db-url@3"));
	CHECK(!parses(" tgref:acme/default/db-url@3"));
	CHECK(!parses("tgref:"));
	CHECK(!parses("tgref"));
	CHECK(!parses(""));
	CHECK(!tg_ref_parse(NULL, 27, &r));
	CHECK(!tg_ref_parse("tgref:acme/default/db-url@3", 27, NULL));

	/* missing and empty parts */
	CHECK(!parses("tgref:/default/db-url@3"));
	CHECK(!parses("tgref:acme//db-url@3"));
	CHECK(!parses("tgref:acme/default/@3"));
	CHECK(!parses("tgref:acme/default/db-url@"));
	CHECK(!parses("tgref:acme/default/db-url"));
	CHECK(!parses("tgref:acme/db-url@3"));
	CHECK(!parses("tgref:acme@3"));
	CHECK(!parses("tgref://@"));
	CHECK(!parses("tgref:acme/default/db-url/@3"));

	/* bad slugs */
	CHECK(!parses("tgref:Acme/default/db-url@3"));
	CHECK(!parses("tgref:acmE/default/db-url@3"));
	CHECK(!parses("tgref:-acme/default/db-url@3"));
	CHECK(!parses("tgref:a/default/db-url@3"));
	CHECK(!parses("tgref:ac_me/default/db-url@3"));
	CHECK(!parses("tgref:ac.me/default/db-url@3"));
	CHECK(!parses("tgref:ac me/default/db-url@3"));
	snprintf(s, sizeof(s), "tgref:%s/default/db-url@3", rep('a', 64));
	CHECK(!parses(s));
	snprintf(s, sizeof(s), "tgref:%s/default/db-url@3", rep('a', 63));
	CHECK(parses(s));

	/* names and scopes with '/', '@', spaces, ".", ".." */
	CHECK(!parses("tgref:acme/default/db/url@3"));
	CHECK(!parses("tgref:acme/default/db@url@3"));
	CHECK(!parses("tgref:acme/def@ult/db-url@3"));
	CHECK(!parses("tgref:acme/default/db url@3"));
	CHECK(!parses("tgref:acme/def ault/db-url@3"));
	CHECK(!parses("tgref:acme/default/db-url @3"));
	CHECK(!parses("tgref:acme/default/ db-url@3"));
	CHECK(!parses("tgref:acme/default/db:url@3"));
	CHECK(!parses("tgref:acme/default/db\turl@3"));
	CHECK(!parses("tgref:acme/default/d\xc3\xa9@3"));
	CHECK(!parses("tgref:acme/default/.@3"));
	CHECK(!parses("tgref:acme/default/..@3"));
	CHECK(!parses("tgref:acme/./db-url@3"));
	CHECK(!parses("tgref:acme/../db-url@3"));
	CHECK(!tg_ref_parse("tgref:acme/default/db\0url@3", 27, &r));

	/* 129-character names and scopes */
	snprintf(s, sizeof(s), "tgref:acme/default/%s@3", rep('n', 129));
	CHECK(!parses(s));
	snprintf(s, sizeof(s), "tgref:acme/%s/db-url@3", rep('s', 129));
	CHECK(!parses(s));
	snprintf(s, sizeof(s), "tgref:acme/default/%s@3", rep('n', 128));
	CHECK(parses(s));

	/* versions */
	CHECK(!parses("tgref:acme/default/db-url@0"));
	CHECK(!parses("tgref:acme/default/db-url@00"));
	CHECK(!parses("tgref:acme/default/db-url@03"));
	CHECK(!parses("tgref:acme/default/db-url@-1"));
	CHECK(!parses("tgref:acme/default/db-url@+1"));
	CHECK(!parses("tgref:acme/default/db-url@ 1"));
	CHECK(!parses("tgref:acme/default/db-url@1a"));
	CHECK(!parses("tgref:acme/default/db-url@a1"));
	CHECK(!parses("tgref:acme/default/db-url@0x10"));
	CHECK(!parses("tgref:acme/default/db-url@1.0"));
	CHECK(!parses("tgref:acme/default/db-url@1e3"));
	CHECK(!parses("tgref:acme/default/db-url@2147483648"));
	CHECK(!parses("tgref:acme/default/db-url@4294967297"));
	CHECK(!parses("tgref:acme/default/db-url@9999999999"));
	CHECK(!parses("tgref:acme/default/db-url@10000000000"));
	CHECK(!parses("tgref:acme/default/db-url@18446744073709551617"));
	CHECK(parses("tgref:acme/default/db-url@2147483647"));
	CHECK(parses("tgref:acme/default/db-url@1000000000"));

	/* trailing junk */
	CHECK(!parses("tgref:acme/default/db-url@3 "));
	CHECK(!parses("tgref:acme/default/db-url@3\n"));
	CHECK(!parses("tgref:acme/default/db-url@3/"));
	CHECK(!parses("tgref:acme/default/db-url@3@4"));
	CHECK(!parses("tgref:acme/default/db-url@3#x"));
	CHECK(!tg_ref_parse("tgref:acme/default/db-url@3\0", 28, &r));
}

static void
test_validators(void)
{
	const char *all_name_chars =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
	const char *bad = " /@:;,+=~!#$%&*()[]{}<>?\\|'\"`^\t\n\x7f\x80\xff";
	int			ok = 0;
	size_t		i;

	/* slug: 2..63 of [a-z0-9-], not starting with '-' */
	CHECK(tg_slug_valid("ab", 2));
	CHECK(tg_slug_valid("a-", 2));
	CHECK(tg_slug_valid("0-", 2));
	CHECK(tg_slug_valid("a--b", 4));
	CHECK(tg_slug_valid("abcdefghijklmnopqrstuvwxyz0123456789-", 37));
	CHECK(!tg_slug_valid("a", 1));
	CHECK(!tg_slug_valid("", 0));
	CHECK(!tg_slug_valid(NULL, 2));
	CHECK(!tg_slug_valid("-a", 2));
	CHECK(!tg_slug_valid("--", 2));
	CHECK(!tg_slug_valid("aB", 2));
	CHECK(!tg_slug_valid("Ab", 2));
	CHECK(!tg_slug_valid("a_", 2));
	CHECK(!tg_slug_valid("a.", 2));
	CHECK(!tg_slug_valid("a\0", 2));
	CHECK(tg_slug_valid(rep('z', 63), 63));
	CHECK(!tg_slug_valid(rep('z', 64), 64));
	CHECK(!tg_slug_valid(rep('z', 200), 200));
	/* the characters just outside each range */
	CHECK(!tg_slug_valid("a/", 2) && !tg_slug_valid("a:", 2) &&
		  !tg_slug_valid("a`", 2) && !tg_slug_valid("a{", 2) && !tg_slug_valid("a,", 2));

	/* secret names: 1..128 of [A-Za-z0-9_.-], not "." or ".." */
	CHECK(tg_secret_name_valid("a", 1));
	CHECK(tg_secret_name_valid("_", 1));
	CHECK(tg_secret_name_valid("-", 1));
	CHECK(tg_secret_name_valid("...", 3));
	CHECK(tg_secret_name_valid(".a", 2));
	CHECK(tg_secret_name_valid("a.", 2));
	CHECK(tg_secret_name_valid(all_name_chars, strlen(all_name_chars)));
	CHECK(!tg_secret_name_valid(".", 1));
	CHECK(!tg_secret_name_valid("..", 2));
	CHECK(!tg_secret_name_valid("", 0));
	CHECK(!tg_secret_name_valid(NULL, 1));
	CHECK(tg_secret_name_valid(rep('N', 128), 128));
	CHECK(!tg_secret_name_valid(rep('N', 129), 129));
	/* "." and ".." only as the whole name: a prefix of a longer buffer */
	CHECK(!tg_secret_name_valid("..abc", 2));
	CHECK(tg_secret_name_valid("..abc", 3));
	for (i = 0; bad[i]; i++)
	{
		char		one[1] = {bad[i]};
		char		mid[3] = {'a', bad[i], 'b'};

		if (!tg_secret_name_valid(one, 1) && !tg_secret_name_valid(mid, 3) &&
			!tg_slug_valid(mid, 3))
			ok++;
		else
			fprintf(stderr, "  secret_ref: accepted byte 0x%02x\n", (unsigned char) bad[i]);
	}
	CHECK(ok == (int) strlen(bad));
	CHECK(!tg_secret_name_valid("a\0b", 3));
}

void
test_secret_ref(void)
{
	test_valid();
	test_format();
	test_rejects();
	test_validators();
}
