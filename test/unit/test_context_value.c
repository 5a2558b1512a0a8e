/* test_context_value.c — the serialized tenant context. */
#include <string.h>
#include <stdint.h>

#include "unit.h"
#include "core/context_value.h"

static tg_context_value
sample(void)
{
	tg_context_value v;

	memset(&v, 0, sizeof(v));
	tg_uuid_parse("6ba7b810-9dad-11d1-80b4-00c04fd430c8", 36, v.tenant);
	v.scope = 'L';
	v.expires = 0;
	v.aal = 1;
	strcpy(v.role, "admin");
	strcpy(v.principal, "admin:alice");
	return v;
}

static bool
parses(const char *s)
{
	tg_context_value v;

	return tg_ctx_parse(s, strlen(s), &v);
}

void
test_context_value(void)
{
	tg_context_value v = sample(),
				w;
	char		buf[TG_CTX_TEXT_MAX];
	int			n;

	n = tg_ctx_format(&v, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK(strcmp(buf, "tgctx2;6ba7b810-9dad-11d1-80b4-00c04fd430c8;L;0;1;-;admin;admin:alice") == 0);
	CHECK(tg_ctx_parse(buf, (size_t) n, &w));
	CHECK(memcmp(&v, &w, sizeof(v)) == 0);

	/* principal may contain separators; it is the last field */
	strcpy(v.principal, "user:6ba7b810-9dad-11d1-80b4-00c04fd430c8;x");
	v.scope = 'S';
	v.expires = INT64_MAX;
	n = tg_ctx_format(&v, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK(tg_ctx_parse(buf, (size_t) n, &w));
	CHECK(w.scope == 'S' && w.expires == INT64_MAX);
	CHECK(strcmp(w.principal, v.principal) == 0);

	/* too small a buffer fails instead of truncating */
	CHECK(tg_ctx_format(&v, buf, 20) == -1);

	/* invalid fields are not serialized */
	v = sample();
	v.scope = 'X';
	CHECK(tg_ctx_format(&v, buf, sizeof(buf)) == -1);
	v = sample();
	strcpy(v.role, "Admin");
	CHECK(tg_ctx_format(&v, buf, sizeof(buf)) == -1);
	v = sample();
	v.principal[0] = '\0';
	CHECK(tg_ctx_format(&v, buf, sizeof(buf)) == -1);
	v = sample();
	strcpy(v.principal, "a\nb");
	CHECK(tg_ctx_format(&v, buf, sizeof(buf)) == -1);
	v = sample();
	v.expires = -1;
	CHECK(tg_ctx_format(&v, buf, sizeof(buf)) == -1);

	/* malformed values are rejected */
	CHECK(parses("tgctx2;6ba7b810-9dad-11d1-80b4-00c04fd430c8;L;0;1;-;admin;admin:alice"));
	CHECK(!parses("tgctx3;6ba7b810-9dad-11d1-80b4-00c04fd430c8;L;0;1;-;admin;admin:alice"));
	/* the previous form: internal (refused as a direct set), but no longer parsed */
	CHECK(!parses("tgctx1;6ba7b810-9dad-11d1-80b4-00c04fd430c8;L;0;admin;admin:alice"));
	CHECK(tg_ctx_is_internal("tgctx1;x", 8) && !tg_ctx_is_internal("tgct", 4));
	CHECK(!parses("tgctx2;6ba7b810-9dad-11d1-80b4-00c04fd430c;L;0;1;-;admin;admin:alice"));
	CHECK(!parses("tgctx2;6ba7b810-9dad-11d1-80b4-00c04fd430c8;T;0;1;-;admin;admin:alice"));
	CHECK(!parses("tgctx2;6ba7b810-9dad-11d1-80b4-00c04fd430c8;L;-1;1;-;admin;admin:alice"));
	CHECK(!parses("tgctx2;6ba7b810-9dad-11d1-80b4-00c04fd430c8;L;01;1;-;admin;admin:alice"));
	CHECK(!parses("tgctx2;6ba7b810-9dad-11d1-80b4-00c04fd430c8;L;99999999999999999999;1;-;admin;admin:alice"));
	CHECK(!parses("tgctx2;6ba7b810-9dad-11d1-80b4-00c04fd430c8;L;0;1;-;;admin:alice"));
	CHECK(!parses("tgctx2;6ba7b810-9dad-11d1-80b4-00c04fd430c8;L;0;1;-;admin;"));
	CHECK(!parses("tgctx2;6ba7b810-9dad-11d1-80b4-00c04fd430c8;L;0;1;-;admin"));
	CHECK(!parses("tgctx1;"));
	CHECK(!parses(""));
	CHECK(!tg_ctx_parse("tgctx2;6ba7b810-9dad-11d1-80b4-00c04fd430c8;L;0;1;-;admin;a\0b", 61, &w));

	/* assurance level and session id */
	v = sample();
	v.aal = 2;
	v.has_session = true;
	tg_uuid_parse("00000000-0000-4000-8000-0000000000ab", 36, v.session);
	strcpy(v.principal, "user:6ba7b810-9dad-11d1-80b4-00c04fd430c8");
	n = tg_ctx_format(&v, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK(strcmp(buf, "tgctx2;6ba7b810-9dad-11d1-80b4-00c04fd430c8;L;0;2;00000000-0000-4000-8000-0000000000ab;admin;"
				 "user:6ba7b810-9dad-11d1-80b4-00c04fd430c8") == 0);
	CHECK(tg_ctx_parse(buf, (size_t) n, &w));
	CHECK(memcmp(&v, &w, sizeof(v)) == 0);
	v.aal = 0;
	CHECK(tg_ctx_format(&v, buf, sizeof(buf)) == -1);
	v.aal = 3;
	CHECK(tg_ctx_format(&v, buf, sizeof(buf)) == -1);
	CHECK(!parses("tgctx2;6ba7b810-9dad-11d1-80b4-00c04fd430c8;L;0;3;-;admin;admin:alice"));
	CHECK(!parses("tgctx2;6ba7b810-9dad-11d1-80b4-00c04fd430c8;L;0;;-;admin;admin:alice"));
	CHECK(!parses("tgctx2;6ba7b810-9dad-11d1-80b4-00c04fd430c8;L;0;12;-;admin;admin:alice"));
	CHECK(!parses("tgctx2;6ba7b810-9dad-11d1-80b4-00c04fd430c8;L;0;1;;admin;admin:alice"));
	CHECK(!parses("tgctx2;6ba7b810-9dad-11d1-80b4-00c04fd430c8;L;0;1;--;admin;admin:alice"));
	CHECK(!parses("tgctx2;6ba7b810-9dad-11d1-80b4-00c04fd430c8;L;0;1;00000000-0000-4000-8000-0000000000a;admin;admin:alice"));
	CHECK(parses("tgctx2;6ba7b810-9dad-11d1-80b4-00c04fd430c8;S;0;1;00000000-0000-4000-8000-0000000000ab;viewer;user:x"));

	/* role names */
	CHECK(tg_role_name_valid("viewer", 6));
	CHECK(tg_role_name_valid("ops.deploy-1_x", 14));
	CHECK(!tg_role_name_valid("_x", 2));
	CHECK(!tg_role_name_valid("a b", 3));
	CHECK(!tg_role_name_valid("", 0));
	{
		char		longname[70];

		memset(longname, 'a', sizeof(longname));
		CHECK(tg_role_name_valid(longname, 63));
		CHECK(!tg_role_name_valid(longname, 64));
	}
}
