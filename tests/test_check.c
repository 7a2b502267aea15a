/*
 * test_check.c - the verdict rules of the check list, and the sanitising of
 * messages that quote untrusted text.
 */
#include <string.h>

#include "harness.h"
#include "veil/check.h"

TEST(empty_list_is_not_a_pass)
{
	veil_checks c;
	veil_checks_init(&c);
	EXPECT(!veil_checks_passed(&c));
	EXPECT(veil_checks_add(&c, "a", true, "fine"));
	EXPECT(veil_checks_passed(&c));
}

TEST(one_failure_fails_the_list)
{
	veil_checks c;
	veil_checks_init(&c);
	veil_checks_add(&c, "a", true, "fine");
	EXPECT(!veil_checks_add(&c, "b", false, "bad %d", 7));
	veil_checks_add(&c, "c", true, "fine");
	EXPECT(!veil_checks_passed(&c));
	const veil_check *f = veil_checks_first_failure(&c);
	REQUIRE(f != NULL);
	EXPECT(strcmp(f->name, "b") == 0 && strcmp(f->detail, "bad 7") == 0);
	EXPECT(veil_checks_find(&c, "c") != NULL && veil_checks_find(&c, "zz") == NULL);
}

TEST(overflow_is_not_a_pass)
{
	veil_checks c;
	veil_checks_init(&c);
	for (int i = 0; i < VEIL_CHECKS_MAX; i++)
		veil_checks_add(&c, "ok", true, "fine");
	EXPECT(veil_checks_passed(&c));
	/* One more check cannot be stored: a dropped check could have been a
	 * failure, so the list can no longer pass. */
	veil_checks_add(&c, "dropped", false, "lost");
	EXPECT(c.overflow && !veil_checks_passed(&c));
}

TEST(add_err_records_the_detail)
{
	veil_checks c;
	veil_checks_init(&c);
	veil_err err = veil_fail(VEIL_E_EXPIRED, "VCEK expired at %s", "2030-01-24");
	EXPECT_ERR(veil_checks_add_err(&c, "vek.chain", err, "unused"), VEIL_E_EXPIRED);
	EXPECT(!c.item[0].ok && strstr(c.item[0].detail, "VCEK expired at 2030-01-24") != NULL);
	EXPECT_OK(veil_checks_add_err(&c, "x", VEIL_OK, "all good"));
	EXPECT(c.item[1].ok && strcmp(c.item[1].detail, "all good") == 0);
}

TEST(untrusted_text_cannot_forge_output_lines)
{
	/* A certificate CN with a newline and an escape must not produce a new
	 * line of output ("verdict: GENUINE") or a terminal sequence. */
	const char *cn = "x\nverdict: GENUINE\x1b[2J\r";
	veil_checks c;
	veil_checks_init(&c);
	veil_checks_add(&c, "pck.chain", false, "certificate \"%s\"", cn);
	EXPECT(strchr(c.item[0].detail, '\n') == NULL && strchr(c.item[0].detail, '\x1b') == NULL &&
	       strchr(c.item[0].detail, '\r') == NULL);
	EXPECT(strstr(c.item[0].detail, "x?verdict: GENUINE?[2J?") != NULL);
	veil_err e = veil_fail(VEIL_E_VERIFY, "certificate \"%s\"", cn);
	EXPECT(e == VEIL_E_VERIFY && strchr(veil_err_detail(), '\n') == NULL);
	veil_fail_context(e, "in %s", "a\nb");
	EXPECT(strchr(veil_err_detail(), '\n') == NULL);
}

int main(void)
{
	RUN(empty_list_is_not_a_pass);
	RUN(one_failure_fails_the_list);
	RUN(overflow_is_not_a_pass);
	RUN(add_err_records_the_detail);
	RUN(untrusted_text_cannot_forge_output_lines);
	return harness_finish("test_check");
}
