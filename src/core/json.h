/*
 * json.h — a strict JSON (RFC 8259) reader that allocates nothing (pure C).
 *
 * tg_json_parse() validates a whole document in one pass without recursion:
 * UTF-8 only (RFC 3629: no overlong forms, no encoded surrogates, nothing
 * above U+10FFFF, no byte order mark), control characters only as escapes,
 * \uXXXX escapes with surrogates only as a high-low pair, numbers exactly by
 * the RFC 8259 grammar and of magnitude below 1e308, member names unique in
 * every object (compared after unescaping), nesting at most max_depth
 * containers, and nothing but JSON whitespace around the top value.
 *
 * The accessors below then read the validated text in place: a value is a
 * span of that text (tg_json_value), objects and arrays are walked with an
 * iterator, strings are decoded into a caller's buffer. They assume a
 * document that tg_json_parse() accepted; given anything else they stop at
 * the span's end and return false, never reading outside it.
 */
#ifndef TG_CORE_JSON_H
#define TG_CORE_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define TG_JSON_MAX_LEN (1024 * 1024)	/* longest document parsed at all */
#define TG_JSON_DEPTH_MAX 64		/* largest max_depth honoured */
#define TG_JSON_KEYS_MAX 1024		/* member names of all open objects at once */

typedef enum tg_json_type
{
	TG_JSON_INVALID = 0,
	TG_JSON_OBJECT,
	TG_JSON_ARRAY,
	TG_JSON_STRING,
	TG_JSON_NUMBER,
	TG_JSON_TRUE,
	TG_JSON_FALSE,
	TG_JSON_NULL
} tg_json_type;

/* One value: its text, from its first to its last character. */
typedef struct tg_json_value
{
	const char *p;
	size_t		len;
} tg_json_value;

/*
 * Validate text[0..len) as above; on success *root is the top value. A
 * max_depth below 1 or above TG_JSON_DEPTH_MAX is refused.
 */
bool		tg_json_parse(const char *text, size_t len, int max_depth, tg_json_value *root);

tg_json_type tg_json_type_of(tg_json_value v);

/* Walks the members of an object or the elements of an array. */
typedef struct tg_json_iter
{
	const char *p;
	const char *end;
} tg_json_iter;

/* false when v is not an object (resp. array): the iterator then yields nothing. */
bool		tg_json_object_iter(tg_json_value v, tg_json_iter *it);
bool		tg_json_array_iter(tg_json_value v, tg_json_iter *it);

/* The next member (name is the string value of its name) or element; false at the end. */
bool		tg_json_next_member(tg_json_iter *it, tg_json_value *name, tg_json_value *value);
bool		tg_json_next_element(tg_json_iter *it, tg_json_value *value);

/* Is v a string whose decoded bytes are exactly lit (a C string)? */
bool		tg_json_string_is(tg_json_value v, const char *lit);

/*
 * Decode string v into out (capacity cap, a NUL is appended after the
 * bytes): returns the decoded length, or -1 when v is not a string or the
 * bytes and the NUL do not fit. The bytes may contain NUL (from \u0000).
 */
long		tg_json_string_get(tg_json_value v, char *out, size_t cap);

/*
 * A number as an integer count of seconds (RFC 7519 NumericDate): integer
 * or fraction, |v| <= 2^53, fractions truncated toward negative infinity,
 * computed exactly from the decimal text. Negative zero ("-0", "-0.0") is
 * refused as ambiguous.
 */
bool		tg_json_numeric_date(tg_json_value v, int64_t *out);

#endif
