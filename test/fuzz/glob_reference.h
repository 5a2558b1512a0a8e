/*
 * glob_reference.h — a naive, obviously correct reading of the permission
 * and resource globs of core/authz_rules.h, written straight from their
 * definition (recursive, exponential): the unit tests and the fuzz harness
 * compare tg_glob_match() with it on small inputs.
 *
 *   the pattern "*" alone matches everything;
 *   a segment "**" matches one or more whole segments;
 *   another '*' matches zero or more bytes inside one segment;
 *   any other byte matches itself.
 */
#ifndef TG_GLOB_REFERENCE_H
#define TG_GLOB_REFERENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define REF_MAX_SEGS 64

typedef struct ref_seg
{
	const char *p;
	size_t		len;
} ref_seg;

/* Split s at sep; -1 when there are more than REF_MAX_SEGS segments. */
static int
ref_split(const char *s, size_t len, char sep, ref_seg *out)
{
	int			n = 0;
	size_t		start = 0,
				i;

	for (i = 0; i <= len; i++)
	{
		if (i < len && s[i] != sep)
			continue;
		if (n == REF_MAX_SEGS)
			return -1;
		out[n].p = s + start;
		out[n].len = i - start;
		n++;
		start = i + 1;
	}
	return n;
}

static bool
ref_seg_match(const char *p, size_t pl, const char *t, size_t tl)
{
	if (pl == 0)
		return tl == 0;
	if (p[0] == '*')
		return ref_seg_match(p + 1, pl - 1, t, tl) ||
			(tl > 0 && ref_seg_match(p, pl, t + 1, tl - 1));
	return tl > 0 && p[0] == t[0] && ref_seg_match(p + 1, pl - 1, t + 1, tl - 1);
}

static bool
ref_segs_match(const ref_seg *ps, int np, const ref_seg *ts, int nt)
{
	int			k;

	if (np == 0)
		return nt == 0;
	if (ps[0].len == 2 && ps[0].p[0] == '*' && ps[0].p[1] == '*')
	{
		for (k = 1; k <= nt; k++)
			if (ref_segs_match(ps + 1, np - 1, ts + k, nt - k))
				return true;
		return false;
	}
	return nt > 0 && ref_seg_match(ps[0].p, ps[0].len, ts[0].p, ts[0].len) &&
		ref_segs_match(ps + 1, np - 1, ts + 1, nt - 1);
}

/* The reference match; *ok is false when the input is too large to try. */
static bool
ref_glob_match(const char *pat, size_t plen, const char *text, size_t tlen, char sep, bool *ok)
{
	ref_seg		ps[REF_MAX_SEGS],
				ts[REF_MAX_SEGS];
	int			np,
				nt;

	*ok = true;
	if (plen == 1 && pat[0] == '*')
		return true;
	np = ref_split(pat, plen, sep, ps);
	nt = ref_split(text, tlen, sep, ts);
	if (np < 0 || nt < 0)
	{
		*ok = false;
		return false;
	}
	return ref_segs_match(ps, np, ts, nt);
}

#endif
