/*
 * fuzz_authz_rules.c — libFuzzer harness for permission and resource names,
 * their globs and the decision (core/authz_rules.h).
 * Input: one byte of flags (bit 0: resource, else permission), one byte
 * giving the pattern's length (mod the rest), the pattern, then the text.
 * Properties: the validators and the matcher accept any bytes; on small
 * inputs the matcher agrees with the naive reference (glob_reference.h); a
 * pattern without '*' matches exactly itself; "*" matches everything; a
 * valid literal is a valid pattern when it has no '*'; a compiled pattern
 * (tg_glob_compile) answers as the pattern does; with an allow and a
 * deny rule of the same pattern, deny wins exactly when the pattern matches.
 * Build and run with libFuzzer: make -C test/fuzz authz_rules
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/authz_rules.h"
#include "glob_reference.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool		resource;
	char		sep;
	size_t		plen,
				tlen;
	const char *pat,
			   *text;
	bool		m,
				ok;
	tg_name_problem lit,
				glob;
	tg_rule		rules[2];

	if (size < 2)
		return 0;
	resource = (data[0] & 1) != 0;
	sep = resource ? '/' : '.';
	plen = data[1] % (size - 1);
	pat = (const char *) data + 2;
	if (plen > size - 2)
		plen = size - 2;
	text = pat + plen;
	tlen = size - 2 - plen;

	/* the validators: any bytes; a literal without '*' is also a pattern */
	lit = resource ? tg_resource_check(text, tlen, false) : tg_permission_check(text, tlen, false);
	glob = resource ? tg_resource_check(text, tlen, true) : tg_permission_check(text, tlen, true);
	if (lit == TG_NAME_OK && memchr(text, '*', tlen) == NULL && glob != TG_NAME_OK)
		abort();
	if (!resource && lit == TG_NAME_OK && memchr(text, '*', tlen) != NULL)
		abort();
	(void) (resource ? tg_resource_check(pat, plen, true) : tg_permission_check(pat, plen, true));
	/* a resource literal is refused for a control character exactly */
	if (tlen > 0 && tlen <= TG_RESOURCE_MAX)
	{
		bool		control = false;
		size_t		i;

		for (i = 0; i < tlen; i++)
			if ((unsigned char) text[i] < 0x20 || (unsigned char) text[i] == 0x7f)
				control = true;
		if ((tg_resource_check(text, tlen, false) == TG_NAME_BAD_CHARACTER) != control)
			abort();
	}

	m = tg_glob_match(pat, plen, text, tlen, sep);
	{
		tg_glob		g;

		tg_glob_compile(pat, plen, sep, &g);
		if (tg_glob_compiled_match(&g, text, tlen) != m)
			abort();
	}
	if (plen <= 16 && tlen <= 16)
	{
		bool		want = ref_glob_match(pat, plen, text, tlen, sep, &ok);

		if (ok && want != m)
			abort();
	}
	if (memchr(pat, '*', plen) == NULL && m != (plen == tlen && memcmp(pat, text, plen) == 0))
		abort();
	if (!tg_glob_match("*", 1, text, tlen, sep) || !tg_glob_match("**", 2, text, tlen, sep))
		abort();
	/* a text without '*' matches itself as a pattern */
	if (memchr(text, '*', tlen) == NULL && !tg_glob_match(text, tlen, text, tlen, sep))
		abort();

	/* deny beats allow; nothing matching is an implicit deny */
	rules[0].permission = resource ? "*" : pat;
	rules[0].permission_len = resource ? 1 : plen;
	rules[0].resource = resource ? pat : "*";
	rules[0].resource_len = resource ? plen : 1;
	rules[0].deny = false;
	rules[1] = rules[0];
	rules[1].deny = true;
	{
		const char *p = resource ? "x" : text;
		size_t		pl = resource ? 1 : tlen;
		const char *r = resource ? text : "x";
		size_t		rl = resource ? tlen : 1;
		bool		matched[2];

		if (tg_rules_decide(rules, 1, p, pl, r, rl, NULL) != (m ? TG_DECISION_ALLOW : TG_DECISION_IMPLICIT_DENY))
			abort();
		if (tg_rules_decide(rules, 2, p, pl, r, rl, matched) !=
			(m ? TG_DECISION_EXPLICIT_DENY : TG_DECISION_IMPLICIT_DENY))
			abort();
		if (matched[0] != m || matched[1] != m)
			abort();
		if (tg_rules_decide(rules + 1, 1, p, pl, r, rl, NULL) !=
			(m ? TG_DECISION_EXPLICIT_DENY : TG_DECISION_IMPLICIT_DENY))
			abort();
	}
	return 0;
}
