/*
 * json.c — a strict JSON (RFC 8259) reader that allocates nothing (pure C).
 *
 * The validator is one loop over the text with an explicit stack of open
 * containers (bounded by max_depth), so hostile nesting cannot exhaust the C
 * stack. Duplicate member names are found with a fixed table of the names of
 * all open objects (offset, length, hash of the decoded bytes): a closed
 * object's names are dropped, a new name is compared with its siblings only.
 */
#include <string.h>

#include "encoding.h"
#include "json.h"

typedef struct key_ref
{
	uint32_t	off;			/* first byte after the opening quote */
	uint32_t	len;			/* raw bytes up to the closing quote */
	uint32_t	hash;			/* FNV-1a of the decoded bytes */
	bool		escaped;		/* raw bytes contain a backslash */
} key_ref;

typedef struct parser
{
	const uint8_t *s;
	size_t		len;
	size_t		pos;
	int			depth;
	int			max_depth;
	bool		in_object[TG_JSON_DEPTH_MAX];
	int			keys_from[TG_JSON_DEPTH_MAX];
	int			nkeys;
	key_ref		keys[TG_JSON_KEYS_MAX];
} parser;

#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

static bool
is_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void
skip_ws(parser *ps)
{
	while (ps->pos < ps->len && is_ws(ps->s[ps->pos]))
		ps->pos++;
}

/* Four hex digits at p (p + 4 <= end checked by the caller); -1 when not. */
static long
hex4(const uint8_t *p)
{
	long		v = 0;
	int			i;

	for (i = 0; i < 4; i++)
	{
		int			d = tg_hex_digit((char) p[i]);

		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* UTF-8 of a code point (<= 0x10FFFF, not a surrogate) into out; its length. */
static int
utf8_encode(uint32_t cp, uint8_t out[4])
{
	if (cp < 0x80)
	{
		out[0] = (uint8_t) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		out[0] = (uint8_t) (0xC0 | (cp >> 6));
		out[1] = (uint8_t) (0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000)
	{
		out[0] = (uint8_t) (0xE0 | (cp >> 12));
		out[1] = (uint8_t) (0x80 | ((cp >> 6) & 0x3F));
		out[2] = (uint8_t) (0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (uint8_t) (0xF0 | (cp >> 18));
	out[1] = (uint8_t) (0x80 | ((cp >> 12) & 0x3F));
	out[2] = (uint8_t) (0x80 | ((cp >> 6) & 0x3F));
	out[3] = (uint8_t) (0x80 | (cp & 0x3F));
	return 4;
}

/*
 * Length of the well-formed UTF-8 sequence of 2..4 bytes at p (avail bytes
 * available), by the table of RFC 3629 section 4; 0 when ill-formed.
 */
static int
utf8_sequence(const uint8_t *p, size_t avail)
{
	uint8_t		c = p[0];
	uint8_t		lo = 0x80,
				hi = 0xBF;
	int			n,
				i;

	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
	{
		n = 3;
		if (c == 0xE0)
			lo = 0xA0;			/* no overlong forms */
		else if (c == 0xED)
			hi = 0x9F;			/* no surrogates */
	}
	else if (c >= 0xF0 && c <= 0xF4)
	{
		n = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;			/* nothing above U+10FFFF */
	}
	else
		return 0;
	if (avail < (size_t) n)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return n;
}

static uint32_t
fnv_bytes(uint32_t h, const uint8_t *p, size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * FNV_PRIME;
	return h;
}

/*
 * The escape after a backslash at s[*pos] (the backslash already consumed):
 * the decoded UTF-8 bytes into out, their count, 0 when invalid.
 */
static int
scan_escape(const uint8_t *s, size_t len, size_t *pos, uint8_t out[4])
{
	uint8_t		e;
	long		cp,
				lo;

	if (*pos >= len)
		return 0;
	e = s[(*pos)++];
	switch (e)
	{
		case '"':
		case '\\':
		case '/':
			out[0] = e;
			return 1;
		case 'b':
			out[0] = '\b';
			return 1;
		case 'f':
			out[0] = '\f';
			return 1;
		case 'n':
			out[0] = '\n';
			return 1;
		case 'r':
			out[0] = '\r';
			return 1;
		case 't':
			out[0] = '\t';
			return 1;
		case 'u':
			break;
		default:
			return 0;
	}
	if (len - *pos < 4 || (cp = hex4(s + *pos)) < 0)
		return 0;
	*pos += 4;
	if (cp >= 0xDC00 && cp <= 0xDFFF)
		return 0;				/* a low surrogate first */
	if (cp >= 0xD800 && cp <= 0xDBFF)
	{
		/* a high surrogate: a low one must follow as \uXXXX */
		if (len - *pos < 6 || s[*pos] != '\\' || s[*pos + 1] != 'u' ||
			(lo = hex4(s + *pos + 2)) < 0 || lo < 0xDC00 || lo > 0xDFFF)
			return 0;
		*pos += 6;
		cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
	}
	return utf8_encode((uint32_t) cp, out);
}

/* A string at s[pos] == '"': validated, *hash of its decoded bytes. */
static bool
scan_string(parser *ps, uint32_t *hash, bool *escaped)
{
	uint32_t	h = FNV_OFFSET;

	*escaped = false;
	ps->pos++;
	for (;;)
	{
		uint8_t		c;

		if (ps->pos >= ps->len)
			return false;
		c = ps->s[ps->pos];
		if (c == '"')
		{
			ps->pos++;
			*hash = h;
			return true;
		}
		if (c < 0x20)
			return false;		/* control characters only escaped */
		if (c == '\\')
		{
			uint8_t		out[4];
			int			n;

			ps->pos++;
			if ((n = scan_escape(ps->s, ps->len, &ps->pos, out)) == 0)
				return false;
			h = fnv_bytes(h, out, (size_t) n);
			*escaped = true;
		}
		else if (c < 0x80)
		{
			h = fnv_bytes(h, &c, 1);
			ps->pos++;
		}
		else
		{
			int			n = utf8_sequence(ps->s + ps->pos, ps->len - ps->pos);

			if (n == 0)
				return false;
			h = fnv_bytes(h, ps->s + ps->pos, (size_t) n);
			ps->pos += (size_t) n;
		}
	}
}

static bool
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/*
 * A number by the grammar of RFC 8259 section 6, refused when its magnitude
 * is 1e308 or more (beyond what every reader can represent).
 */
static bool
scan_number(parser *ps)
{
	const uint8_t *s = ps->s;
	size_t		len = ps->len;
	long		lead = 0;		/* decimal exponent of the leading nonzero digit */
	bool		nonzero = false;
	long		exp = 0;

	if (ps->pos < len && s[ps->pos] == '-')
		ps->pos++;
	if (ps->pos >= len || !is_digit(s[ps->pos]))
		return false;
	if (s[ps->pos] == '0')
	{
		ps->pos++;
		if (ps->pos < len && is_digit(s[ps->pos]))
			return false;		/* no leading zeros */
	}
	else
	{
		long		n = 0;

		while (ps->pos < len && is_digit(s[ps->pos]))
		{
			ps->pos++;
			n++;
		}
		lead = n - 1;
		nonzero = true;
	}
	if (ps->pos < len && s[ps->pos] == '.')
	{
		long		i = 0;

		ps->pos++;
		if (ps->pos >= len || !is_digit(s[ps->pos]))
			return false;
		while (ps->pos < len && is_digit(s[ps->pos]))
		{
			if (!nonzero && s[ps->pos] != '0')
			{
				lead = -(i + 1);
				nonzero = true;
			}
			ps->pos++;
			i++;
		}
	}
	if (ps->pos < len && (s[ps->pos] == 'e' || s[ps->pos] == 'E'))
	{
		bool		neg = false;

		ps->pos++;
		if (ps->pos < len && (s[ps->pos] == '+' || s[ps->pos] == '-'))
			neg = s[ps->pos++] == '-';
		if (ps->pos >= len || !is_digit(s[ps->pos]))
			return false;
		while (ps->pos < len && is_digit(s[ps->pos]))
		{
			if (exp < 1000000)
				exp = exp * 10 + (s[ps->pos] - '0');
			ps->pos++;
		}
		if (neg)
			exp = -exp;
	}
	return !nonzero || lead + exp < 308;
}

static bool
scan_literal(parser *ps, const char *lit)
{
	size_t		n = strlen(lit);

	if (ps->len - ps->pos < n || memcmp(ps->s + ps->pos, lit, n) != 0)
		return false;
	ps->pos += n;
	return true;
}

/*
 * Decoded bytes of a validated string's raw content, one at a time (-1 at
 * the end or at anything a validated string cannot contain).
 */
typedef struct decoder
{
	const uint8_t *s;
	size_t		len;
	size_t		pos;
	uint8_t		buf[4];
	int			nbuf;
	int			ibuf;
} decoder;

static void
decoder_init(decoder *d, const uint8_t *raw, size_t len)
{
	d->s = raw;
	d->len = len;
	d->pos = 0;
	d->nbuf = d->ibuf = 0;
}

static int
decoder_next(decoder *d)
{
	if (d->ibuf < d->nbuf)
		return d->buf[d->ibuf++];
	if (d->pos >= d->len)
		return -1;
	if (d->s[d->pos] != '\\')
		return d->s[d->pos++];
	d->pos++;
	d->nbuf = scan_escape(d->s, d->len, &d->pos, d->buf);
	if (d->nbuf == 0)
	{
		d->pos = d->len;
		return -1;
	}
	d->ibuf = 1;
	return d->buf[0];
}

static bool
keys_equal(const uint8_t *s, const key_ref *a, const key_ref *b)
{
	decoder		da,
				db;
	int			ca,
				cb;

	if (a->hash != b->hash)
		return false;
	if (!a->escaped && !b->escaped)
		return a->len == b->len && memcmp(s + a->off, s + b->off, a->len) == 0;
	decoder_init(&da, s + a->off, a->len);
	decoder_init(&db, s + b->off, b->len);
	do
	{
		ca = decoder_next(&da);
		cb = decoder_next(&db);
		if (ca != cb)
			return false;
	} while (ca >= 0);
	return true;
}

/* A member name at s[pos]: validated, unique among its siblings, recorded. */
static bool
scan_key(parser *ps)
{
	key_ref		k;
	int			i;

	if (ps->pos >= ps->len || ps->s[ps->pos] != '"')
		return false;
	k.off = (uint32_t) (ps->pos + 1);
	if (!scan_string(ps, &k.hash, &k.escaped))
		return false;
	k.len = (uint32_t) (ps->pos - 1 - k.off);
	for (i = ps->keys_from[ps->depth - 1]; i < ps->nkeys; i++)
		if (keys_equal(ps->s, &ps->keys[i], &k))
			return false;
	if (ps->nkeys >= TG_JSON_KEYS_MAX)
		return false;
	ps->keys[ps->nkeys++] = k;
	return true;
}

static bool
open_container(parser *ps, bool object)
{
	if (ps->depth >= ps->max_depth)
		return false;
	ps->in_object[ps->depth] = object;
	ps->keys_from[ps->depth] = ps->nkeys;
	ps->depth++;
	ps->pos++;
	return true;
}

static void
close_container(parser *ps)
{
	ps->pos++;
	ps->depth--;
	ps->nkeys = ps->keys_from[ps->depth];
}

typedef enum
{
	ST_VALUE,					/* a value must come */
	ST_AFTER,					/* a value ended */
	ST_KEY						/* a member name must come */
} parse_state;

static bool
parse_document(parser *ps, tg_json_value *root)
{
	parse_state st = ST_VALUE;
	size_t		start;

	skip_ws(ps);
	start = ps->pos;
	for (;;)
	{
		uint8_t		c;

		if (st == ST_KEY)
		{
			skip_ws(ps);
			if (!scan_key(ps))
				return false;
			skip_ws(ps);
			if (ps->pos >= ps->len || ps->s[ps->pos] != ':')
				return false;
			ps->pos++;
			st = ST_VALUE;
			continue;
		}
		if (st == ST_AFTER)
		{
			if (ps->depth == 0)
			{
				root->p = (const char *) ps->s + start;
				root->len = ps->pos - start;
				skip_ws(ps);
				return ps->pos == ps->len;
			}
			skip_ws(ps);
			if (ps->pos >= ps->len)
				return false;
			c = ps->s[ps->pos];
			if (c == ',')
			{
				ps->pos++;
				st = ps->in_object[ps->depth - 1] ? ST_KEY : ST_VALUE;
			}
			else if (c == (ps->in_object[ps->depth - 1] ? '}' : ']'))
				close_container(ps);
			else
				return false;
			continue;
		}
		/* ST_VALUE */
		skip_ws(ps);
		if (ps->pos >= ps->len)
			return false;
		c = ps->s[ps->pos];
		if (c == '{' || c == '[')
		{
			if (!open_container(ps, c == '{'))
				return false;
			skip_ws(ps);
			if (ps->pos < ps->len && ps->s[ps->pos] == (c == '{' ? '}' : ']'))
			{
				close_container(ps);
				st = ST_AFTER;
			}
			else
				st = c == '{' ? ST_KEY : ST_VALUE;
			continue;
		}
		if (c == '"')
		{
			uint32_t	h;
			bool		esc;

			if (!scan_string(ps, &h, &esc))
				return false;
		}
		else if (c == '-' || is_digit(c))
		{
			if (!scan_number(ps))
				return false;
		}
		else if (!scan_literal(ps, c == 't' ? "true" : c == 'f' ? "false" : "null"))
			return false;
		st = ST_AFTER;
	}
}

bool
tg_json_parse(const char *text, size_t len, int max_depth, tg_json_value *root)
{
	parser		ps;

	if (text == NULL || root == NULL || len > TG_JSON_MAX_LEN ||
		max_depth < 1 || max_depth > TG_JSON_DEPTH_MAX)
		return false;
	ps.s = (const uint8_t *) text;
	ps.len = len;
	ps.pos = 0;
	ps.depth = 0;
	ps.max_depth = max_depth;
	ps.nkeys = 0;
	if (!parse_document(&ps, root))
	{
		root->p = NULL;
		root->len = 0;
		return false;
	}
	return true;
}

tg_json_type
tg_json_type_of(tg_json_value v)
{
	if (v.p == NULL || v.len == 0)
		return TG_JSON_INVALID;
	switch (v.p[0])
	{
		case '{':
			return TG_JSON_OBJECT;
		case '[':
			return TG_JSON_ARRAY;
		case '"':
			return TG_JSON_STRING;
		case 't':
			return TG_JSON_TRUE;
		case 'f':
			return TG_JSON_FALSE;
		case 'n':
			return TG_JSON_NULL;
		default:
			return v.p[0] == '-' || is_digit((uint8_t) v.p[0]) ? TG_JSON_NUMBER : TG_JSON_INVALID;
	}
}

static bool
container_iter(tg_json_value v, tg_json_type want, tg_json_iter *it)
{
	if (tg_json_type_of(v) != want || v.len < 2)
	{
		it->p = it->end = NULL;
		return false;
	}
	it->p = v.p + 1;
	it->end = v.p + v.len - 1;	/* the closing bracket */
	return true;
}

bool
tg_json_object_iter(tg_json_value v, tg_json_iter *it)
{
	return container_iter(v, TG_JSON_OBJECT, it);
}

bool
tg_json_array_iter(tg_json_value v, tg_json_iter *it)
{
	return container_iter(v, TG_JSON_ARRAY, it);
}

static const char *
skip_ws_to(const char *p, const char *end)
{
	while (p < end && is_ws((uint8_t) *p))
		p++;
	return p;
}

/* End of the string starting at p ('"'); NULL when it does not end before end. */
static const char *
skip_string(const char *p, const char *end)
{
	p++;
	while (p < end)
	{
		if (*p == '\\')
			p += 2;
		else if (*p == '"')
			return p + 1;
		else
			p++;
	}
	return NULL;
}

/* End of the (validated) value starting at p; NULL when not before end. */
static const char *
skip_value(const char *p, const char *end)
{
	const char *start = p;
	int			depth = 0;

	if (p >= end)
		return NULL;
	if (*p == '"')
		return skip_string(p, end);
	if (*p != '{' && *p != '[')
	{
		while (p < end && *p != ',' && *p != '}' && *p != ']' && !is_ws((uint8_t) *p))
			p++;
		return p > start ? p : NULL;
	}
	while (p < end)
	{
		if (*p == '"')
		{
			if ((p = skip_string(p, end)) == NULL)
				return NULL;
			continue;
		}
		if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']')
		{
			if (--depth == 0)
				return p + 1;
		}
		p++;
	}
	return NULL;
}

/* Step over the separator before the next item; false at the container's end. */
static bool
iter_advance(tg_json_iter *it)
{
	if (it->p == NULL)
		return false;
	it->p = skip_ws_to(it->p, it->end);
	if (it->p < it->end && *it->p == ',')
		it->p = skip_ws_to(it->p + 1, it->end);
	return it->p < it->end;
}

static bool
iter_value(tg_json_iter *it, tg_json_value *value)
{
	const char *q = skip_value(it->p, it->end);

	if (q == NULL)
	{
		it->p = NULL;
		return false;
	}
	value->p = it->p;
	value->len = (size_t) (q - it->p);
	it->p = q;
	return true;
}

bool
tg_json_next_member(tg_json_iter *it, tg_json_value *name, tg_json_value *value)
{
	const char *q;

	if (!iter_advance(it) || *it->p != '"' || (q = skip_string(it->p, it->end)) == NULL)
		return false;
	name->p = it->p;
	name->len = (size_t) (q - it->p);
	it->p = skip_ws_to(q, it->end);
	if (it->p >= it->end || *it->p != ':')
	{
		it->p = NULL;
		return false;
	}
	it->p = skip_ws_to(it->p + 1, it->end);
	return iter_value(it, value);
}

bool
tg_json_next_element(tg_json_iter *it, tg_json_value *value)
{
	if (!iter_advance(it))
		return false;
	return iter_value(it, value);
}

static bool
string_decoder(tg_json_value v, decoder *d)
{
	if (tg_json_type_of(v) != TG_JSON_STRING || v.len < 2 || v.p[v.len - 1] != '"')
		return false;
	decoder_init(d, (const uint8_t *) v.p + 1, v.len - 2);
	return true;
}

bool
tg_json_string_is(tg_json_value v, const char *lit)
{
	decoder		d;
	const uint8_t *l = (const uint8_t *) lit;
	int			c;

	if (lit == NULL || !string_decoder(v, &d))
		return false;
	while ((c = decoder_next(&d)) >= 0)
	{
		if (*l == '\0' || c != *l)
			return false;
		l++;
	}
	return *l == '\0';
}

long
tg_json_string_get(tg_json_value v, char *out, size_t cap)
{
	decoder		d;
	size_t		n = 0;
	int			c;

	if (out == NULL || cap == 0 || !string_decoder(v, &d))
		return -1;
	while ((c = decoder_next(&d)) >= 0)
	{
		if (n + 1 >= cap)
		{
			out[0] = '\0';
			return -1;
		}
		out[n++] = (char) c;
	}
	out[n] = '\0';
	return (long) n;
}

#define NUMERIC_DATE_MAX ((int64_t) 1 << 53)

bool
tg_json_numeric_date(tg_json_value v, int64_t *out)
{
	const char *p = v.p;
	const char *end = v.p + v.len;
	const char *digits;			/* integer and fraction digits, '.' skipped */
	long		n_int = 0,
				n_frac = 0,
				exp = 0,
				point,
				i;
	bool		neg = false,
				frac_nonzero = false;
	int64_t		val = 0;

	if (out == NULL || tg_json_type_of(v) != TG_JSON_NUMBER)
		return false;
	if (*p == '-')
	{
		neg = true;
		p++;
	}
	digits = p;
	while (p < end && is_digit((uint8_t) *p))
	{
		p++;
		n_int++;
	}
	if (n_int == 0)
		return false;
	if (p < end && *p == '.')
	{
		p++;
		while (p < end && is_digit((uint8_t) *p))
		{
			p++;
			n_frac++;
		}
		if (n_frac == 0)
			return false;
	}
	if (p < end && (*p == 'e' || *p == 'E'))
	{
		bool		eneg = false;

		p++;
		if (p < end && (*p == '+' || *p == '-'))
			eneg = *p++ == '-';
		if (p >= end || !is_digit((uint8_t) *p))
			return false;
		while (p < end && is_digit((uint8_t) *p))
		{
			if (exp < 1000000)
				exp = exp * 10 + (*p - '0');
			p++;
		}
		if (eneg)
			exp = -exp;
	}
	if (p != end)
		return false;

	/*
	 * The value is the digit string D (n_int + n_frac digits) with the
	 * decimal point after its first `point` digits: D[0..point) is the
	 * integer part (zeros appended when point exceeds the digits), the rest
	 * the fraction.
	 */
	point = n_int + exp;
	for (i = 0; i < n_int + n_frac; i++)
	{
		/* the i-th digit of D: the '.' sits between the two parts */
		int			d = digits[i < n_int ? i : i + 1] - '0';

		if (i < point)
		{
			val = val * 10 + d;
			if (val > NUMERIC_DATE_MAX)
				return false;
		}
		else if (d != 0)
			frac_nonzero = true;
	}
	for (i = n_int + n_frac; i < point && val != 0; i++)
	{
		val *= 10;
		if (val > NUMERIC_DATE_MAX)
			return false;
	}
	if (val == NUMERIC_DATE_MAX && frac_nonzero)
		return false;
	if (neg && val == 0 && !frac_nonzero)
		return false;			/* negative zero */
	*out = neg ? -(val + (frac_nonzero ? 1 : 0)) : val;
	return true;
}
