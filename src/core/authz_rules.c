/*
 * authz_rules.c — permission names, resource paths, their globs, and the
 * decision over a list of rules (pure C; the rules are in authz_rules.h).
 *
 * Matching works segment by segment. Inside a segment, '*' is the classic
 * wildcard (greedy, one backtrack point). Across segments, "**" is "one
 * segment, then any number of segments", matched with the same greedy
 * scheme over whole segments. Both are O(pattern x text) at worst, with no
 * recursion and no allocation.
 */
#include <string.h>

#include "authz_rules.h"

#define NO_STAR ((size_t) -1)

/* The end (offset of the separator, or len) of the segment starting at pos <= len. */
static size_t
seg_end(const char *s, size_t len, size_t pos, char sep)
{
	const char *e = memchr(s + pos, sep, len - pos);

	return e ? (size_t) (e - s) : len;
}

/* Is a segment exactly "**"? */
static bool
is_double_star(const char *seg, size_t len)
{
	return len == 2 && seg[0] == '*' && seg[1] == '*';
}

/* A pattern segment may hold "**" only as the whole segment. */
static bool
glob_segment_ok(const char *seg, size_t len)
{
	size_t		i;

	if (is_double_star(seg, len))
		return true;
	for (i = 0; i + 1 < len; i++)
		if (seg[i] == '*' && seg[i + 1] == '*')
			return false;
	return true;
}

/*
 * Does s hold a control character (0x00-0x1f, 0x7f)? Eight bytes at a time:
 * a resource literal is checked once per row of a policy.
 */
static bool
has_control(const char *s, size_t len)
{
	const uint64_t ones = UINT64_C(0x0101010101010101);
	const uint64_t highs = UINT64_C(0x8080808080808080);
	size_t		i = 0;

	for (; i + 8 <= len; i += 8)
	{
		uint64_t	x,
					del;

		memcpy(&x, s + i, 8);
		del = x ^ (ones * 0x7f);
		/* a byte below 0x20 (high bit clear), or a zero byte of x ^ 0x7f..: 0x7f */
		if ((((x - ones * 0x20) & ~x) | ((del - ones) & ~del)) & highs)
			break;
	}
	for (; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c < 0x20 || c == 0x7f)
			return true;
	}
	return false;
}

/* May c appear in a permission ([a-z0-9_-]) or a resource (no control character)? */
static bool
name_char_ok(unsigned char c, bool permission)
{
	if (permission)
		return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
	return c >= 0x20 && c != 0x7f;
}

/* The rules of permissions and resources, literal or pattern (authz_rules.h). */
static tg_name_problem
check_name(const char *s, size_t len, bool pattern, bool permission)
{
	char		sep = permission ? '.' : '/';
	size_t		i,
				seg = 0;

	if (s == NULL || len == 0)
		return TG_NAME_EMPTY;
	if (len > (permission ? TG_PERMISSION_MAX : TG_RESOURCE_MAX))
		return TG_NAME_TOO_LONG;
	if (!pattern && !permission)
		return has_control(s, len) ? TG_NAME_BAD_CHARACTER : TG_NAME_OK;
	for (i = 0; i <= len; i++)
	{
		if (i == len || s[i] == sep)
		{
			/* resources may have empty segments, permissions not */
			if (permission && i == seg)
				return TG_NAME_EMPTY_SEGMENT;
			if (pattern && !glob_segment_ok(s + seg, i - seg))
				return TG_NAME_BAD_GLOB;
			seg = i + 1;
			continue;
		}
		if (s[i] == '*')
		{
			if (!pattern)
				return TG_NAME_WILDCARD;
			continue;
		}
		if (!name_char_ok((unsigned char) s[i], permission))
			return TG_NAME_BAD_CHARACTER;
	}
	return TG_NAME_OK;
}

tg_name_problem
tg_permission_check(const char *s, size_t len, bool pattern)
{
	return check_name(s, len, pattern, true);
}

tg_name_problem
tg_resource_check(const char *s, size_t len, bool pattern)
{
	return check_name(s, len, pattern, false);
}

/* One pattern segment against one text segment: '*' is any run of bytes. */
static bool
seg_match(const char *p, size_t pl, const char *t, size_t tl)
{
	size_t		pi = 0,
				ti = 0,
				star = NO_STAR,
				mark = 0;

	while (ti < tl)
	{
		if (pi < pl && p[pi] == '*')
		{
			star = pi++;
			mark = ti;
		}
		else if (pi < pl && p[pi] == t[ti])
		{
			pi++;
			ti++;
		}
		else if (star != NO_STAR)
		{
			pi = star + 1;
			ti = ++mark;
		}
		else
			return false;
	}
	while (pi < pl && p[pi] == '*')
		pi++;
	return pi == pl;
}

bool
tg_glob_matches_all(const char *pattern, size_t plen)
{
	return (plen == 1 && pattern[0] == '*') || is_double_star(pattern, plen);
}

/*
 * Segment positions: a segment starts at an offset <= len; the one after
 * the last starts at len + 1, which means "no segment left".
 */
bool
tg_glob_match(const char *pattern, size_t plen, const char *text, size_t tlen, char sep)
{
	size_t		pp = 0,
				tp = 0,
				star_pp = NO_STAR,
				star_tp = 0;

	if (tg_glob_matches_all(pattern, plen))
		return true;
	if (memchr(pattern, '*', plen) == NULL)
		return plen == tlen && memcmp(pattern, text, plen) == 0;
	while (tp <= tlen)
	{
		size_t		te = seg_end(text, tlen, tp, sep);

		if (pp <= plen)
		{
			size_t		pe = seg_end(pattern, plen, pp, sep);

			if (is_double_star(pattern + pp, pe - pp))
			{
				/* one segment now; the star absorbs more on a later mismatch */
				tp = te + 1;
				pp = pe + 1;
				star_pp = pp;
				star_tp = tp;
				continue;
			}
			if (seg_match(pattern + pp, pe - pp, text + tp, te - tp))
			{
				tp = te + 1;
				pp = pe + 1;
				continue;
			}
		}
		if (star_pp == NO_STAR || star_tp > tlen)
			return false;
		star_tp = seg_end(text, tlen, star_tp, sep) + 1;
		tp = star_tp;
		pp = star_pp;
	}
	/* the text is used up: so must the pattern be ("**" needs a segment) */
	return pp > plen;
}

void
tg_glob_compile(const char *pattern, size_t plen, char sep, tg_glob *out)
{
	const char *star = memchr(pattern, '*', plen);

	out->sep = sep;
	out->pattern = pattern;
	out->len = plen;
	out->fixed_len = 0;
	if (tg_glob_matches_all(pattern, plen))
		out->kind = TG_GLOB_ALL;
	else if (star == NULL)
		out->kind = TG_GLOB_EXACT;
	else if ((size_t) (star - pattern) == plen - 1)
	{
		/* P*: the only '*' is the last byte */
		out->kind = TG_GLOB_PREFIX_SEGMENT;
		out->fixed_len = plen - 1;
	}
	else if (plen >= 3 && (size_t) (star - pattern) == plen - 2 && pattern[plen - 1] == '*' &&
			 pattern[plen - 3] == sep)
	{
		/* P<sep>**: the only '*'s are the last segment */
		out->kind = TG_GLOB_PREFIX_TREE;
		out->fixed_len = plen - 2;
	}
	else if (plen >= 3 && star == pattern && pattern[1] == '*' && pattern[2] == sep &&
			 memchr(pattern + 2, '*', plen - 2) == NULL)
	{
		/* **<sep>S: the only '*'s are the first segment */
		out->kind = TG_GLOB_SUFFIX_TREE;
		out->fixed_len = plen - 2;
	}
	else
		out->kind = TG_GLOB_GENERAL;
}

bool
tg_glob_compiled_match(const tg_glob *g, const char *text, size_t tlen)
{
	switch (g->kind)
	{
		case TG_GLOB_ALL:
			return true;
		case TG_GLOB_EXACT:
			return tlen == g->len && memcmp(text, g->pattern, tlen) == 0;
		case TG_GLOB_PREFIX_SEGMENT:
			return tlen >= g->fixed_len && memcmp(text, g->pattern, g->fixed_len) == 0 &&
				memchr(text + g->fixed_len, g->sep, tlen - g->fixed_len) == NULL;
		case TG_GLOB_PREFIX_TREE:
			return tlen >= g->fixed_len && memcmp(text, g->pattern, g->fixed_len) == 0;
		case TG_GLOB_SUFFIX_TREE:
			return tlen >= g->fixed_len &&
				memcmp(text + tlen - g->fixed_len, g->pattern + 2, g->fixed_len) == 0;
		case TG_GLOB_GENERAL:
			break;
	}
	return tg_glob_match(g->pattern, g->len, text, tlen, g->sep);
}

bool
tg_rule_matches(const tg_rule *r, const char *permission, size_t plen,
				const char *resource, size_t rlen)
{
	return tg_glob_match(r->permission, r->permission_len, permission, plen, '.') &&
		tg_glob_match(r->resource, r->resource_len, resource, rlen, '/');
}

tg_decision
tg_rules_decide(const tg_rule *rules, size_t n,
				const char *permission, size_t plen,
				const char *resource, size_t rlen, bool *matched)
{
	tg_decision d = TG_DECISION_IMPLICIT_DENY;
	size_t		i;

	for (i = 0; i < n; i++)
	{
		bool		m = tg_rule_matches(&rules[i], permission, plen, resource, rlen);

		if (matched)
			matched[i] = m;
		if (!m)
			continue;
		if (rules[i].deny)
		{
			d = TG_DECISION_EXPLICIT_DENY;
			if (matched == NULL)
				return d;
		}
		else if (d == TG_DECISION_IMPLICIT_DENY)
			d = TG_DECISION_ALLOW;
	}
	return d;
}
