/*
 * test_client_log.c - log entries as the client reads them for their
 * evidence (veil_client_log_evidence, src/client/log.c, docs/audit.md).
 *
 * Entries as docs/gateway.md writes them: admissions and re-attestations
 * give their bundle, removals and leaves are NOT_FOUND with their kind and
 * worker, and every entry that is not the documented JSON is refused (not
 * JSON, truncated at every length, trailing bytes, wrong kinds and types,
 * missing members, bad base64, a digest that is not the bundle's, over the
 * cap). The fetching functions are in test_client_log_api.c.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "veil/client.h"
#include "veil/codec.h"
#include "veil/crypto.h"
#include "veil/json.h"
#include "veil/limits.h"

static const char bundle_text[] = "{\"version\":1,\"tee\":\"sim\",\"primary_evidence\":\"AAAA\"}";

/* An entry as the gateway logs it (compact, sorted keys), for the bundle
 * bytes b; the caller may alter the object first through edit. */
static char *entry_of(const char *kind, const char *worker, const uint8_t *b, size_t n,
		      void (*edit)(json_t *e))
{
	uint8_t sha[32];
	char hex[65], *b64 = malloc(veil_base64_encoded_len(n) + 1), *text;
	json_t *e;

	if (b64 == NULL || veil_sha256(b, n, sha) != VEIL_OK)
		exit(2);
	veil_base64_encode(b, n, b64);
	veil_hex_encode(sha, 32, hex);
	e = json_pack("{s:i, s:s, s:s, s:s, s:I, s:b}", "v", 1, "kind", kind, "worker", worker,
		      "url", "http://127.0.0.1:9", "time", (json_int_t)1795329276573,
		      "confidential", 1);
	if (strcmp(kind, "admission") == 0 || strcmp(kind, "reattestation") == 0) {
		json_object_set_new(e, "attested",
				    json_pack("{s:s, s:s, s:s, s:s, s:s, s:[i], s:s, s:s, s:s}",
					      "tee", "sim", "model", "chat", "model_sha256", hex,
					      "engine", "builtin", "receipt_kid", "kid",
					      "ohttp_key_ids", 1, "ear_status", "affirming",
					      "evidence_sha256", hex, "evidence", b64));
		json_object_set_new(e, "policy", json_string("test"));
	} else {
		json_object_set_new(e, "reason", json_string("gone"));
	}
	if (edit != NULL)
		edit(e);
	text = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(e);
	free(b64);
	if (text == NULL)
		exit(2);
	return text;
}

static char *good_entry(const char *kind, void (*edit)(json_t *e))
{
	return entry_of(kind, "wk-a", (const uint8_t *)bundle_text, strlen(bundle_text), edit);
}

/* log_evidence on text; the bundle is freed. */
static veil_err evidence_of(const char *text, size_t len, char kind[32], char worker[65])
{
	uint8_t *b = NULL;
	size_t n = 0;
	veil_err err =
	    veil_client_log_evidence((const uint8_t *)text, len, kind, 32, worker, 65, &b, &n);

	if (err != VEIL_OK && (b != NULL || n != 0))
		harness_fail(__FILE__, __LINE__, "a refused entry left a bundle");
	free(b);
	return err;
}

static veil_err evidence_edit(void (*edit)(json_t *e))
{
	char kind[32], worker[65], *t = good_entry("admission", edit);
	veil_err err = evidence_of(t, strlen(t), kind, worker);

	free(t);
	return err;
}

TEST(admission_and_reattestation_give_the_bundle)
{
	const char *kinds[] = {"admission", "reattestation"};

	for (size_t i = 0; i < 2; i++) {
		char kind[32], worker[65], *t = good_entry(kinds[i], NULL);
		uint8_t *b = NULL;
		size_t n = 0;

		EXPECT_OK(veil_client_log_evidence((const uint8_t *)t, strlen(t), kind, sizeof kind,
						   worker, sizeof worker, &b, &n));
		EXPECT(strcmp(kind, kinds[i]) == 0);
		EXPECT(strcmp(worker, "wk-a") == 0);
		EXPECT(n == strlen(bundle_text) && b != NULL && memcmp(b, bundle_text, n) == 0);
		free(b);
		free(t);
	}
}

TEST(removal_and_leave_are_not_found_with_kind_and_worker)
{
	const char *kinds[] = {"removal", "leave"};

	for (size_t i = 0; i < 2; i++) {
		char kind[32], worker[65], *t = good_entry(kinds[i], NULL);

		EXPECT_ERR(evidence_of(t, strlen(t), kind, worker), VEIL_E_NOT_FOUND);
		EXPECT(strcmp(kind, kinds[i]) == 0);
		EXPECT(strcmp(worker, "wk-a") == 0);
		free(t);
	}
}

TEST(worker_is_cut_to_fit)
{
	char kind[6], worker[3], *t = good_entry("reattestation", NULL);
	uint8_t *b = NULL;
	size_t n = 0;

	EXPECT_OK(veil_client_log_evidence((const uint8_t *)t, strlen(t), kind, sizeof kind, worker,
					   sizeof worker, &b, &n));
	EXPECT(strcmp(worker, "wk") == 0 && strcmp(kind, "reatt") == 0);
	free(b);
	free(t);
}

static void set_kind_bad(json_t *e)
{
	json_object_set_new(e, "kind", json_string("admitted"));
}
static void set_kind_int(json_t *e)
{
	json_object_set_new(e, "kind", json_integer(1));
}
static void set_kind_case(json_t *e)
{
	json_object_set_new(e, "kind", json_string("Admission"));
}
static void drop_kind(json_t *e)
{
	json_object_del(e, "kind");
}
static void drop_worker(json_t *e)
{
	json_object_del(e, "worker");
}
static void drop_v(json_t *e)
{
	json_object_del(e, "v");
}
static void set_v2(json_t *e)
{
	json_object_set_new(e, "v", json_integer(2));
}
static void set_v_text(json_t *e)
{
	json_object_set_new(e, "v", json_string("1"));
}
static void worker_empty(json_t *e)
{
	json_object_set_new(e, "worker", json_string(""));
}
static void worker_space(json_t *e)
{
	json_object_set_new(e, "worker", json_string("wk a"));
}
static void worker_ctl(json_t *e)
{
	json_object_set_new(e, "worker", json_string("wk\n"));
}
static void worker_long(json_t *e)
{
	char s[66];

	memset(s, 'w', 65);
	s[65] = '\0';
	json_object_set_new(e, "worker", json_string(s));
}
static void worker_array(json_t *e)
{
	json_object_set_new(e, "worker", json_array());
}
static void drop_attested(json_t *e)
{
	json_object_del(e, "attested");
}
static void attested_text(json_t *e)
{
	json_object_set_new(e, "attested", json_string("x"));
}
static json_t *att(json_t *e)
{
	return json_object_get(e, "attested");
}
static void drop_evidence(json_t *e)
{
	json_object_del(att(e), "evidence");
}
static void drop_sha(json_t *e)
{
	json_object_del(att(e), "evidence_sha256");
}
static void evidence_int(json_t *e)
{
	json_object_set_new(att(e), "evidence", json_integer(7));
}
static void evidence_empty(json_t *e)
{
	json_object_set_new(att(e), "evidence", json_string(""));
}
static void evidence_bad_b64(json_t *e)
{
	json_object_set_new(att(e), "evidence", json_string("not base64!"));
}
static void evidence_b64url(json_t *e)
{
	/* The same alphabet position in base64url: the gateway writes
	 * standard base64 (RFC 4648 section 4). */
	json_object_set_new(att(e), "evidence", json_string("-_-_"));
}
static void evidence_space(json_t *e)
{
	json_object_set_new(att(e), "evidence", json_string("QUJD RA=="));
}
static void sha_upper(json_t *e)
{
	char s[65];

	snprintf(s, sizeof s, "%s", json_string_value(json_object_get(att(e), "evidence_sha256")));
	for (char *p = s; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	json_object_set_new(att(e), "evidence_sha256", json_string(s));
}
static void sha_short(json_t *e)
{
	char s[65];

	snprintf(s, sizeof s, "%s", json_string_value(json_object_get(att(e), "evidence_sha256")));
	s[63] = '\0';
	json_object_set_new(att(e), "evidence_sha256", json_string(s));
}
static void sha_not_hex(json_t *e)
{
	char s[65];

	memset(s, 'g', 64);
	s[64] = '\0';
	json_object_set_new(att(e), "evidence_sha256", json_string(s));
}
static void sha_other(json_t *e)
{
	char s[65];

	snprintf(s, sizeof s, "%s", json_string_value(json_object_get(att(e), "evidence_sha256")));
	s[10] = s[10] == '0' ? '1' : '0';
	json_object_set_new(att(e), "evidence_sha256", json_string(s));
}

TEST(wrong_kinds_types_and_members_are_refused)
{
	struct {
		void (*edit)(json_t *e);
		veil_err want;
	} cases[] = {
	    {set_kind_bad, VEIL_E_MALFORMED},    {set_kind_int, VEIL_E_MALFORMED},
	    {set_kind_case, VEIL_E_MALFORMED},   {drop_kind, VEIL_E_MALFORMED},
	    {drop_worker, VEIL_E_MALFORMED},     {drop_v, VEIL_E_MALFORMED},
	    {set_v2, VEIL_E_MALFORMED},          {set_v_text, VEIL_E_MALFORMED},
	    {worker_empty, VEIL_E_MALFORMED},    {worker_space, VEIL_E_MALFORMED},
	    {worker_ctl, VEIL_E_MALFORMED},      {worker_long, VEIL_E_MALFORMED},
	    {worker_array, VEIL_E_MALFORMED},    {drop_attested, VEIL_E_MALFORMED},
	    {attested_text, VEIL_E_MALFORMED},   {drop_evidence, VEIL_E_MALFORMED},
	    {drop_sha, VEIL_E_MALFORMED},        {evidence_int, VEIL_E_MALFORMED},
	    {evidence_empty, VEIL_E_MALFORMED},  {evidence_bad_b64, VEIL_E_MALFORMED},
	    {evidence_b64url, VEIL_E_MALFORMED}, {evidence_space, VEIL_E_MALFORMED},
	    {sha_upper, VEIL_E_MALFORMED},       {sha_short, VEIL_E_MALFORMED},
	    {sha_not_hex, VEIL_E_MALFORMED},     {sha_other, VEIL_E_MISMATCH},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		veil_err got = evidence_edit(cases[i].edit);
		if (got != cases[i].want)
			fprintf(stderr, "    case %zu: %s\n", i, veil_err_detail());
		EXPECT_ERR(got, cases[i].want);
	}
}

TEST(a_bundle_that_is_not_the_digests_is_a_mismatch)
{
	/* The digest names other bytes: one byte of the bundle flipped after
	 * the digest was taken. */
	char kind[32], worker[65], *t = good_entry("admission", NULL), *ev, *p;

	ev = strstr(t, "\"evidence\":\"");
	REQUIRE(ev != NULL);
	p = ev + strlen("\"evidence\":\"");
	*p = *p == 'e' ? 'f' : 'e';
	EXPECT_ERR(evidence_of(t, strlen(t), kind, worker), VEIL_E_MISMATCH);
	free(t);
}

TEST(not_json_truncated_and_trailing_are_malformed)
{
	char kind[32], worker[65], *t = good_entry("admission", NULL), *longer;
	size_t n = strlen(t);
	const char *bad[] = {"", "not json", "[1,2]", "\"admission\"", "null", "{}", "{\"v\":1}"};
	size_t failures = 0;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		EXPECT_ERR(evidence_of(bad[i], strlen(bad[i]), kind, worker), VEIL_E_MALFORMED);
	/* Every prefix. */
	for (size_t k = 0; k < n; k++)
		failures += evidence_of(t, k, kind, worker) != VEIL_E_MALFORMED;
	EXPECT(failures == 0);
	/* Trailing bytes, one more byte, and a duplicate member. */
	longer = malloc(n + 16);
	REQUIRE(longer != NULL);
	memcpy(longer, t, n);
	memcpy(longer + n, " x", 2);
	EXPECT_ERR(evidence_of(longer, n + 2, kind, worker), VEIL_E_MALFORMED);
	memcpy(longer + n, "}", 1);
	EXPECT_ERR(evidence_of(longer, n + 1, kind, worker), VEIL_E_MALFORMED);
	memcpy(longer + n, "\0", 1);
	EXPECT_ERR(evidence_of(longer, n + 1, kind, worker), VEIL_E_MALFORMED);
	free(longer);
	free(t);
	{
		const char dup[] =
		    "{\"v\":1,\"kind\":\"removal\",\"kind\":\"leave\",\"worker\":\"a\"}";
		EXPECT_ERR(evidence_of(dup, strlen(dup), kind, worker), VEIL_E_MALFORMED);
	}
}

TEST(evidence_over_the_cap_is_refused)
{
	size_t n = VEIL_CLIENT_EVIDENCE_MAX + 1;
	uint8_t *big = malloc(n);
	char kind[32], worker[65], *t;

	REQUIRE(big != NULL);
	memset(big, '{', n);
	t = entry_of("admission", "wk-a", big, n, NULL);
	EXPECT_ERR(evidence_of(t, strlen(t), kind, worker), VEIL_E_LIMIT);
	free(t);
	free(big);
}

TEST(evidence_refuses_bad_arguments)
{
	char kind[32], worker[65], *t = good_entry("admission", NULL);
	uint8_t *b = NULL;
	size_t n = 0;
	const uint8_t *u = (const uint8_t *)t;

	EXPECT_ERR(veil_client_log_evidence(NULL, 1, kind, 32, worker, 65, &b, &n), VEIL_E_USAGE);
	EXPECT_ERR(veil_client_log_evidence(u, strlen(t), NULL, 32, worker, 65, &b, &n),
		   VEIL_E_USAGE);
	EXPECT_ERR(veil_client_log_evidence(u, strlen(t), kind, 0, worker, 65, &b, &n),
		   VEIL_E_USAGE);
	EXPECT_ERR(veil_client_log_evidence(u, strlen(t), kind, 32, worker, 0, &b, &n),
		   VEIL_E_USAGE);
	EXPECT_ERR(veil_client_log_evidence(u, strlen(t), kind, 32, worker, 65, NULL, &n),
		   VEIL_E_USAGE);
	free(t);
}

int main(void)
{
	RUN(admission_and_reattestation_give_the_bundle);
	RUN(removal_and_leave_are_not_found_with_kind_and_worker);
	RUN(worker_is_cut_to_fit);
	RUN(wrong_kinds_types_and_members_are_refused);
	RUN(a_bundle_that_is_not_the_digests_is_a_mismatch);
	RUN(not_json_truncated_and_trailing_are_malformed);
	RUN(evidence_over_the_cap_is_refused);
	RUN(evidence_refuses_bad_arguments);
	return harness_finish("test_client_log");
}
