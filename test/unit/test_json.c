/* test_json.c — the strict JSON reader: grammar, UTF-8, escapes, duplicates, depth, accessors. */
#include <string.h>

#include "unit.h"
#include "core/json.h"

static bool
ok(const char *text)
{
	tg_json_value root;

	return tg_json_parse(text, strlen(text), 16, &root);
}

static tg_json_value
doc(const char *text)
{
	tg_json_value root = {NULL, 0};

	if (!tg_json_parse(text, strlen(text), 16, &root))
		fprintf(stderr, "test_json: fixture does not parse: %s\n", text);
	return root;
}

/* "[" x n, "]" x n */
static bool
nested(int n, int max_depth)
{
	char		buf[256];
	tg_json_value root;
	int			i;

	for (i = 0; i < n; i++)
		buf[i] = '[';
	for (i = 0; i < n; i++)
		buf[n + i] = ']';
	return tg_json_parse(buf, (size_t) (2 * n), max_depth, &root);
}

static void
test_grammar(void)
{
	tg_json_value root;

	CHECK(ok("{}"));
	CHECK(ok(" \t\r\n{ \"a\" : [ 1 , -2.5e+3 , true , false , null , \"x\" ] } \n"));
	CHECK(ok("[]") && ok("\"s\"") && ok("0") && ok("-0") && ok("null"));
	/* nothing but whitespace around the value */
	CHECK(!ok(""));
	CHECK(!ok("   "));
	CHECK(!ok("{} x"));
	CHECK(!ok("{}{}"));
	CHECK(!ok("{},"));
	CHECK(!ok("\xEF\xBB\xBF{}"));	/* byte order mark */
	CHECK(!ok("{}\f"));		/* form feed is not JSON whitespace */
	CHECK(!ok("\v{}"));
	/* structure */
	CHECK(!ok("{"));
	CHECK(!ok("{\"a\"}"));
	CHECK(!ok("{\"a\":}"));
	CHECK(!ok("{\"a\":1,}"));
	CHECK(!ok("[1,]"));
	CHECK(!ok("[,1]"));
	CHECK(!ok("{,}"));
	CHECK(!ok("{1:2}"));
	CHECK(!ok("{'a':1}"));
	CHECK(!ok("[1 2]"));
	CHECK(!ok("{\"a\":1 \"b\":2}"));
	CHECK(!ok("[}"));
	CHECK(!ok("{]"));
	CHECK(!ok("tru"));
	CHECK(!ok("True"));
	CHECK(!ok("nul"));
	CHECK(!ok("nulll"));
	CHECK(!ok("[1]]"));
	/* an embedded NUL is not whitespace */
	CHECK(!tg_json_parse("{}\0", 3, 16, &root));
	CHECK(root.p == NULL);
	/* bad arguments */
	CHECK(!tg_json_parse(NULL, 0, 16, &root));
	CHECK(!tg_json_parse("{}", 2, 0, &root));
	CHECK(!tg_json_parse("{}", 2, TG_JSON_DEPTH_MAX + 1, &root));
}

static void
test_numbers(void)
{
	CHECK(ok("0") && ok("-0") && ok("0.0") && ok("10") && ok("-1.25") && ok("1e5") &&
		  ok("1E+5") && ok("1e-5") && ok("0e0") && ok("123456789012345678901234567890"));
	CHECK(!ok("01"));
	CHECK(!ok("-01"));
	CHECK(!ok("00"));
	CHECK(!ok("1."));
	CHECK(!ok(".5"));
	CHECK(!ok("+1"));
	CHECK(!ok("-"));
	CHECK(!ok("1e"));
	CHECK(!ok("1e+"));
	CHECK(!ok("1.e5"));
	CHECK(!ok("0x10"));
	CHECK(!ok("NaN"));
	CHECK(!ok("Infinity"));
	CHECK(!ok("-Infinity"));
	CHECK(!ok("1_000"));
	CHECK(!ok("[1.5.5]"));
	/* magnitude: below 1e308 only; tiny magnitudes are fine */
	CHECK(ok("9.99e307"));
	CHECK(ok("-9.99e307"));
	CHECK(!ok("1e308"));
	CHECK(!ok("1e400"));
	CHECK(!ok("-1e400"));
	CHECK(!ok("[1e99999999999999999999]"));
	CHECK(ok("0.001e310"));		/* = 1e307 */
	CHECK(!ok("0.01e310"));
	CHECK(ok("1e-400"));
	CHECK(ok("0e99999"));
	CHECK(ok("999e305"));		/* 9.99e307 */
	CHECK(!ok("1000e305"));		/* 1e308 */
}

static void
test_strings(void)
{
	CHECK(ok("\"plain\""));
	CHECK(ok("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\u20AC\""));
	CHECK(!ok("\"\\a\""));		/* unknown escape */
	CHECK(!ok("\"\\x41\""));
	CHECK(!ok("\"\\u12\""));
	CHECK(!ok("\"\\u12G4\""));
	CHECK(!ok("\"\\"));
	CHECK(!ok("\"unterminated"));
	CHECK(!ok("\"tab\there\""));	/* raw control characters */
	CHECK(!ok("\"nl\nhere\""));
	CHECK(!ok("\"\x01\""));
	CHECK(ok("\"\x7f\""));		/* DEL is not a control character for JSON */
	/* surrogates: only as a high-low pair */
	CHECK(ok("\"\\ud83d\\ude00\""));
	CHECK(ok("\"\\uDBFF\\uDFFF\""));
	CHECK(!ok("\"\\ud800\""));
	CHECK(!ok("\"\\udc00\""));
	CHECK(!ok("\"\\ude00\\ud83d\""));
	CHECK(!ok("\"\\ud800\\u0041\""));
	CHECK(!ok("\"\\ud800\\ud800\""));
	CHECK(!ok("\"\\ud800x\""));
	CHECK(ok("\"\\u0000\""));	/* valid JSON: callers decide about NUL */
	/* UTF-8, RFC 3629 */
	CHECK(ok("\"\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xed\x9f\xbf \xee\x80\x80\""));
	CHECK(!ok("\"\xc0\xaf\""));	/* overlong '/' */
	CHECK(!ok("\"\xc1\xbf\""));
	CHECK(!ok("\"\xe0\x80\xaf\""));	/* overlong, 3 bytes */
	CHECK(!ok("\"\xf0\x80\x80\xaf\""));	/* overlong, 4 bytes */
	CHECK(!ok("\"\xed\xa0\x80\""));	/* encoded surrogate U+D800 */
	CHECK(!ok("\"\xed\xbf\xbf\""));
	CHECK(!ok("\"\xf4\x90\x80\x80\""));	/* above U+10FFFF */
	CHECK(!ok("\"\xf5\x80\x80\x80\""));
	CHECK(!ok("\"\xff\""));
	CHECK(!ok("\"\x80\""));		/* lone continuation byte */
	CHECK(!ok("\"\xe2\x82\""));	/* truncated */
	CHECK(!ok("\"\xe2\x82"));
	CHECK(!ok("\"\xc3\x28\""));
	CHECK(!ok("\xc3\xa9"));		/* non-ASCII outside strings */
}

static void
test_duplicates(void)
{
	CHECK(!ok("{\"a\":1,\"a\":2}"));
	CHECK(!ok("{\"a\":1,\"b\":2,\"a\":3}"));
	CHECK(!ok("{\"a\":1,\"\\u0061\":2}"));	/* equal after unescaping */
	CHECK(!ok("{\"\\u00e9\":1,\"\xc3\xa9\":2}"));
	CHECK(!ok("{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}"));
	CHECK(!ok("{\"\\/\":1,\"/\":2}"));
	CHECK(!ok("{\"x\":{\"a\":1,\"a\":2}}"));
	CHECK(!ok("{\"x\":[{\"y\":{\"a\":1,\"a\":2}}]}"));
	CHECK(!ok("{\"\":1,\"\":2}"));
	CHECK(!ok("{\"a\\u0000\":1,\"a\\u0000\":2}"));
	/* the same name at other levels or in sibling objects is fine */
	CHECK(ok("{\"a\":{\"a\":{\"a\":1}}}"));
	CHECK(ok("{\"l\":[{\"a\":1},{\"a\":1}],\"a\":2}"));
	CHECK(ok("{\"x\":{\"a\":1},\"a\":2}"));
	CHECK(ok("{\"a\":1,\"a\\u0000\":2,\"A\":3,\"a \":4}"));
	CHECK(ok("{\"ab\":1,\"ba\":2}"));
}

static void
test_depth(void)
{
	char		buf[64];
	tg_json_value root;
	int			i;

	CHECK(nested(16, 16));
	CHECK(!nested(17, 16));
	CHECK(nested(1, 1));
	CHECK(!nested(2, 1));
	CHECK(nested(64, 64));
	/* objects count as arrays do */
	strcpy(buf, "");
	for (i = 0; i < 3; i++)
		strcat(buf, "{\"a\":");
	strcat(buf, "1}}}");
	CHECK(tg_json_parse(buf, strlen(buf), 3, &root));
	CHECK(!tg_json_parse(buf, strlen(buf), 2, &root));
	/* depth is the open containers, not the total */
	CHECK(tg_json_parse("[[],[],[[]]]", 12, 3, &root));
	CHECK(!tg_json_parse("[[],[],[[[]]]]", 14, 3, &root));
}

static void
test_accessors(void)
{
	tg_json_value root = doc("{ \"s\" : \"a\\u00e9\\n\" , \"n\":[1, {\"k\":[]}, \"x\"] ,\"z\":null}");
	tg_json_iter it,
				ai;
	tg_json_value name,
				value,
				e;
	char		buf[16];
	int			count = 0;

	CHECK(tg_json_type_of(root) == TG_JSON_OBJECT);
	CHECK(!tg_json_array_iter(root, &it));
	CHECK(!tg_json_next_element(&it, &e));
	CHECK(tg_json_object_iter(root, &it));
	CHECK(tg_json_next_member(&it, &name, &value));
	CHECK(tg_json_string_is(name, "s"));
	CHECK(!tg_json_string_is(name, "ss"));
	CHECK(!tg_json_string_is(name, ""));
	CHECK(tg_json_type_of(value) == TG_JSON_STRING);
	CHECK(tg_json_string_get(value, buf, sizeof(buf)) == 4);
	CHECK(memcmp(buf, "a\xc3\xa9\n", 5) == 0);
	CHECK(tg_json_string_get(value, buf, 4) == -1);	/* 4 bytes and the NUL */
	CHECK(tg_json_string_get(value, buf, 5) == 4);
	CHECK(tg_json_string_is(value, "a\xc3\xa9\n"));
	CHECK(tg_json_next_member(&it, &name, &value));
	CHECK(tg_json_string_is(name, "n"));
	CHECK(tg_json_string_get(value, buf, sizeof(buf)) == -1);	/* not a string */
	CHECK(tg_json_array_iter(value, &ai));
	while (tg_json_next_element(&ai, &e))
		count++;
	CHECK(count == 3);
	CHECK(tg_json_next_member(&it, &name, &value));
	CHECK(tg_json_string_is(name, "z") && tg_json_type_of(value) == TG_JSON_NULL);
	CHECK(!tg_json_next_member(&it, &name, &value));
	CHECK(!tg_json_next_member(&it, &name, &value));

	/* empty containers yield nothing */
	CHECK(tg_json_object_iter(doc("{ }"), &it) && !tg_json_next_member(&it, &name, &value));
	CHECK(tg_json_array_iter(doc("[ ]"), &it) && !tg_json_next_element(&it, &e));
	/* \u0000 decodes to a NUL byte inside the length */
	CHECK(tg_json_string_get(doc("\"a\\u0000b\""), buf, sizeof(buf)) == 3 && buf[1] == '\0');
	CHECK(!tg_json_string_is(doc("\"a\\u0000b\""), "a"));
	/* surrogate pair decodes to 4 UTF-8 bytes */
	CHECK(tg_json_string_get(doc("\"\\ud83d\\ude00\""), buf, sizeof(buf)) == 4 &&
		  memcmp(buf, "\xf0\x9f\x98\x80", 4) == 0);
	CHECK(tg_json_type_of(doc("-1")) == TG_JSON_NUMBER);
	CHECK(tg_json_type_of(doc("true")) == TG_JSON_TRUE);
	CHECK(tg_json_type_of(doc("false")) == TG_JSON_FALSE);
	{
		tg_json_value none = {NULL, 0};

		CHECK(tg_json_type_of(none) == TG_JSON_INVALID);
	}
}

static bool
date(const char *text, int64_t *out)
{
	return tg_json_numeric_date(doc(text), out);
}

static void
test_numeric_date(void)
{
	int64_t		v = 0;

	CHECK(date("0", &v) && v == 0);
	CHECK(date("1300819380", &v) && v == 1300819380);
	CHECK(date("1300819380.999", &v) && v == 1300819380);
	CHECK(date("-1.5", &v) && v == -2);
	CHECK(date("-1.0", &v) && v == -1);
	CHECK(date("-0.5", &v) && v == -1);
	CHECK(date("0.5", &v) && v == 0);
	CHECK(date("1.3e9", &v) && v == 1300000000);
	CHECK(date("12e-1", &v) && v == 1);
	CHECK(date("-12e-1", &v) && v == -2);
	CHECK(date("0.5e1", &v) && v == 5);
	CHECK(date("1E2", &v) && v == 100);
	CHECK(date("1e-400", &v) && v == 0);
	CHECK(date("-1e-400", &v) && v == -1);
	CHECK(date("0e999999", &v) && v == 0);
	CHECK(date("9007199254740992", &v) && v == ((int64_t) 1 << 53));
	CHECK(date("-9007199254740992", &v) && v == -((int64_t) 1 << 53));
	CHECK(date("9007199254740991.5", &v) && v == ((int64_t) 1 << 53) - 1);
	CHECK(date("9.007199254740992e15", &v) && v == ((int64_t) 1 << 53));
	CHECK(!date("9007199254740993", &v));
	CHECK(!date("9007199254740992.5", &v));
	CHECK(!date("-9007199254740992.5", &v));
	CHECK(!date("1e16", &v));
	CHECK(!date("99999999999999999999", &v));
	CHECK(!date("1e300", &v));
	CHECK(!date("-0", &v));
	CHECK(!date("-0.0", &v));
	CHECK(!date("-0e5", &v));
	CHECK(!date("\"5\"", &v));
	CHECK(!date("true", &v));
	CHECK(!date("[5]", &v));
}

void
test_json(void)
{
	test_grammar();
	test_numbers();
	test_strings();
	test_duplicates();
	test_depth();
	test_accessors();
	test_numeric_date();
}
