/*
 * authz_rules.h — permission names, resource paths, their globs, and the
 * decision over a list of rules (pure C).
 *
 * A permission is a dotted name (segments separated by '.'), a resource a
 * path (segments separated by '/'). A pattern is a name or path in which
 * '*' is a wildcard:
 *
 *   - the pattern "*" on its own matches every name;
 *   - a segment "**" matches one or more whole segments;
 *   - any other '*' matches a run of zero or more characters inside one
 *     segment: it never matches the separator;
 *   - every other character matches itself (byte for byte, case-sensitive).
 *
 * "**" is only allowed as a whole segment ("a**" and "***" are refused), so
 * every pattern has exactly one reading.
 *
 * Literals (what authorize() is asked about) are never patterns: a
 * permission literal may not contain '*' at all; in a resource literal '*'
 * is an ordinary character, which only a wildcard matches.
 *
 * Names:
 *   permission  1..128 bytes; segments of [a-z0-9_-], none empty (patterns:
 *               [a-z0-9_*-]);
 *   resource    1..1024 bytes; any byte but ASCII control characters
 *               (0x00-0x1f, 0x7f); segments may be empty.
 *
 * A decision: a rule matches when its permission pattern matches the
 * permission and its resource pattern matches the resource. A matching deny
 * rule decides "explicit deny", whatever else matches; else a matching allow
 * rule decides "allow"; nothing matching is an "implicit deny".
 */
#ifndef TG_CORE_AUTHZ_RULES_H
#define TG_CORE_AUTHZ_RULES_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define TG_PERMISSION_MAX 128
#define TG_RESOURCE_MAX 1024

/* What is wrong with a name or pattern. */
typedef enum tg_name_problem
{
	TG_NAME_OK = 0,
	TG_NAME_EMPTY,				/* zero bytes */
	TG_NAME_TOO_LONG,			/* over TG_PERMISSION_MAX / TG_RESOURCE_MAX */
	TG_NAME_BAD_CHARACTER,		/* permission: not [a-z0-9_.-] (or '*' in a pattern);
								 * resource: a control character */
	TG_NAME_EMPTY_SEGMENT,		/* permission: leading, trailing or doubled '.' */
	TG_NAME_WILDCARD,			/* a permission literal contains '*' */
	TG_NAME_BAD_GLOB			/* '**' that is not a whole segment */
} tg_name_problem;

/* Is s a permission (pattern: a permission pattern)? */
tg_name_problem tg_permission_check(const char *s, size_t len, bool pattern);

/* Is s a resource (pattern: a resource pattern)? */
tg_name_problem tg_resource_check(const char *s, size_t len, bool pattern);

/* Does pattern match text, with sep the segment separator ('.' or '/')? */
bool		tg_glob_match(const char *pattern, size_t plen, const char *text, size_t tlen, char sep);

/* Does a pattern match every text ("*" or "**")? */
bool		tg_glob_matches_all(const char *pattern, size_t plen);

/*
 * A pattern prepared for matching many texts: the common shapes are
 * recognised once, so that matching them is a prefix or suffix comparison.
 * The pattern's bytes must outlive it.
 */
typedef enum tg_glob_kind
{
	TG_GLOB_ALL,				/* "*" or "**" */
	TG_GLOB_EXACT,				/* no '*' */
	TG_GLOB_PREFIX_SEGMENT,		/* P* with no '*' in P: text starts with P, no sep after it */
	TG_GLOB_PREFIX_TREE,		/* P<sep>** with no '*' in P: text starts with P<sep> */
	TG_GLOB_SUFFIX_TREE,		/* **<sep>S with no '*' in S: text ends with <sep>S */
	TG_GLOB_GENERAL				/* anything else: tg_glob_match() */
} tg_glob_kind;

typedef struct tg_glob
{
	tg_glob_kind kind;
	char		sep;
	const char *pattern;
	size_t		len;
	size_t		fixed_len;		/* the length of P, P<sep> or <sep>S */
} tg_glob;

void		tg_glob_compile(const char *pattern, size_t plen, char sep, tg_glob *out);

/* The same answer as tg_glob_match() on the pattern it was compiled from. */
bool		tg_glob_compiled_match(const tg_glob *g, const char *text, size_t tlen);

typedef enum tg_decision
{
	TG_DECISION_IMPLICIT_DENY = 0,
	TG_DECISION_ALLOW,
	TG_DECISION_EXPLICIT_DENY
} tg_decision;

typedef struct tg_rule
{
	const char *permission;		/* a permission pattern */
	size_t		permission_len;
	const char *resource;		/* a resource pattern */
	size_t		resource_len;
	bool		deny;
} tg_rule;

/* Does rule r match permission on resource? */
bool		tg_rule_matches(const tg_rule *r, const char *permission, size_t plen,
							const char *resource, size_t rlen);

/*
 * The decision of rules[0..n) for permission on resource. With matched
 * non-NULL (n entries), every rule is tried and matched[i] tells whether
 * rule i matched; without it, the first matching deny ends the search.
 */
tg_decision tg_rules_decide(const tg_rule *rules, size_t n,
							const char *permission, size_t plen,
							const char *resource, size_t rlen, bool *matched);

#endif
