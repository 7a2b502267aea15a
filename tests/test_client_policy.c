/*
 * test_client_policy.c - the client policy (include/veil/client.h,
 * docs/client.md "Policy"): good policies and what the accessors give
 * back, every member refused when it is wrong (unknown, duplicated, of
 * the wrong type, out of range, over its cap) with the member and the
 * file named, the private log key refused, the model and engine truth
 * tables, and loading from files.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "veil/client.h"
#include "veil/limits.h"

#define ROOT "0680cebb725b959bf1d722a1575d6c99918ed12e42407cae4400e64aeb60f90f"
#define MEAS                                                                                       \
	"bd089515769da99485089765385f2286753326b141f7d683a62eb3b1f8c2da5a5ca35b6d6d5add97f76af21f" \
	"743b2a75"
#define D1 "1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789"
#define D3 "3333333333333333333333333333333333333333333333333333333333333333"

#define APPR                                                                                       \
	"{\"version\":1,\"id\":\"client\",\"sim\":{\"roots\":[\"" ROOT                             \
	"\"],\"match\":{\"measurement\":\"workloads\"}}}"
#define RV                                                                                         \
	"{\"version\":1,\"expires\":\"2099-01-01T00:00:00Z\",\"sets\":{\"workloads\":[\"" MEAS     \
	"\"]}}"
#define MODELS "{\"chat\":[\"" D1 "\"]}"
/* RFC 7517 appendix A.1 and A.2: the example EC P-256 key, public and
 * private. */
#define PUB_JWK                                                                                    \
	"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\"," \
	"\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\"}"
#define PRIV_JWK                                                                                   \
	"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\"," \
	"\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\","                                   \
	"\"d\":\"870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE\"}"

/* The smallest good policy, then the same with extra members. */
#define MINIMAL "{\"version\":1,\"appraisal\":" APPR ",\"models\":" MODELS "}"

static char tmpdir[64];

/* A policy of the minimal one's required members (appraisal and models
 * replaceable) and `extra` members (",\"k\":v..." or ""). A new string. */
static char *policy(const char *appr, const char *models, const char *extra)
{
	size_t n = strlen(appr) + strlen(models) + strlen(extra) + 64;
	char *s = malloc(n);

	if (s == NULL)
		abort();
	snprintf(s, n, "{\"version\":1,\"appraisal\":%s,\"models\":%s%s}", appr, models, extra);
	return s;
}

static veil_err parse(const char *text, veil_client_policy **p)
{
	return veil_client_policy_parse((const uint8_t *)text, strlen(text), "t.json", p);
}

/* Parses text expecting err, no policy, and a detail naming the file and
 * `mention`. Says what it got when not. */
static bool refused(const char *text, veil_err want, const char *mention)
{
	veil_client_policy *p = (veil_client_policy *)&p; /* must come back NULL */
	veil_err err = parse(text, &p);
	const char *d = veil_err_detail();
	bool ok =
	    err == want && p == NULL && strstr(d, "t.json") == d && strstr(d, mention) != NULL;

	if (!ok)
		fprintf(stderr, "  policy %.300s\n  gave %s (%s), want %s naming \"%s\"\n", text,
			veil_err_str(err), d, veil_err_str(want), mention);
	if (err == VEIL_OK)
		veil_client_policy_free(p);
	return ok;
}

/* The same, for a policy built with policy(); frees it. */
static bool refused_f(char *text, veil_err want, const char *mention)
{
	bool ok = refused(text, want, mention);
	free(text);
	return ok;
}

TEST(minimal_policy_and_defaults)
{
	veil_client_policy *p = NULL;

	EXPECT_OK(parse(MINIMAL, &p));
	REQUIRE(p != NULL);
	EXPECT(veil_client_policy_appraisal(p) != NULL);
	EXPECT(strcmp(veil_policy_id(veil_client_policy_appraisal(p)), "client") == 0);
	/* The appraisal policy's sim roots reach verification. */
	const uint8_t(*roots)[32] = NULL;
	EXPECT(veil_policy_sim_roots(veil_client_policy_appraisal(p), &roots) == 1);
	EXPECT(roots != NULL && roots[0][0] == 0x06 && roots[0][31] == 0x0f);
	EXPECT(veil_client_policy_refvals(p) == NULL);
	EXPECT(veil_client_policy_log_key(p) == NULL);
	EXPECT(veil_client_policy_reverify_s(p) == 300);
	EXPECT(veil_client_policy_engine_ok(p, "builtin"));
	EXPECT(veil_client_policy_engine_ok(p, "upstream"));
	EXPECT(!veil_client_policy_engine_ok(p, "bench-reply"));
	EXPECT(veil_client_policy_model_ok(p, "chat", D1));
	veil_client_policy_free(p);
	veil_client_policy_free(NULL);
}

TEST(full_policy)
{
	char *text =
	    policy(APPR, MODELS,
		   ",\"reference_values\":" RV ",\"engines\":[\"builtin\",\"bench-reply\"],"
		   "\"reverify_seconds\":60,\"log_key\":" PUB_JWK);
	veil_client_policy *p = NULL;

	EXPECT_OK(parse(text, &p));
	free(text);
	REQUIRE(p != NULL);
	EXPECT(veil_client_policy_refvals(p) != NULL);
	REQUIRE(veil_client_policy_log_key(p) != NULL);
	EXPECT(veil_jwk_type_of(veil_client_policy_log_key(p)) == VEIL_JWK_EC_P256);
	EXPECT(!veil_jwk_is_private(veil_client_policy_log_key(p)));
	EXPECT(veil_client_policy_reverify_s(p) == 60);
	/* A list replaces the default: upstream is no longer accepted. */
	EXPECT(veil_client_policy_engine_ok(p, "builtin"));
	EXPECT(veil_client_policy_engine_ok(p, "bench-reply"));
	EXPECT(!veil_client_policy_engine_ok(p, "upstream"));
	veil_client_policy_free(p);

	/* The bounds of reverify_seconds are accepted. */
	text = policy(APPR, MODELS, ",\"reverify_seconds\":1");
	EXPECT_OK(parse(text, &p));
	EXPECT(veil_client_policy_reverify_s(p) == 1);
	veil_client_policy_free(p);
	free(text);
	text = policy(APPR, MODELS, ",\"reverify_seconds\":86400");
	EXPECT_OK(parse(text, &p));
	EXPECT(veil_client_policy_reverify_s(p) == 86400);
	veil_client_policy_free(p);
	free(text);

	/* Without an origin, errors still say what was read. */
	EXPECT_ERR(veil_client_policy_parse((const uint8_t *)"{}", 2, NULL, &p), VEIL_E_MALFORMED);
	EXPECT(strstr(veil_err_detail(), "client policy") != NULL);
}

TEST(model_truth_table)
{
	char *text =
	    policy(APPR, "{\"chat\":[\"" D1 "\",\"" D2 "\"],\"org/m-1.5:q4_k\":[\"" D3 "\"]}", "");
	veil_client_policy *p = NULL;
	char lower[65], upper[65];

	EXPECT_OK(parse(text, &p));
	free(text);
	REQUIRE(p != NULL);
	for (size_t i = 0; i < 64; i++) {
		lower[i] = D2[i] >= 'A' && D2[i] <= 'F' ? (char)(D2[i] - 'A' + 'a') : D2[i];
		upper[i] = D1[i];
	}
	lower[64] = upper[64] = '\0';
	upper[0] = 'F'; /* another digest, in upper case */

	EXPECT(veil_client_policy_model_ok(p, "chat", D1));
	EXPECT(veil_client_policy_model_ok(p, "chat", D2));    /* as written */
	EXPECT(veil_client_policy_model_ok(p, "chat", lower)); /* case does not matter */
	EXPECT(!veil_client_policy_model_ok(p, "chat", upper));
	EXPECT(!veil_client_policy_model_ok(p, "chat", D3)); /* another model's digest */
	EXPECT(!veil_client_policy_model_ok(
	    p, "chat", "1111111111111111111111111111111111111111111111111111111111111112"));
	EXPECT(veil_client_policy_model_ok(p, "org/m-1.5:q4_k", D3));
	EXPECT(!veil_client_policy_model_ok(p, "org/m-1.5:q4_k", D1));
	EXPECT(!veil_client_policy_model_ok(p, "Chat", D1)); /* names are exact */
	EXPECT(!veil_client_policy_model_ok(p, "chat2", D1));
	EXPECT(!veil_client_policy_model_ok(p, "cha", D1));
	EXPECT(!veil_client_policy_model_ok(p, "", D1));
	EXPECT(!veil_client_policy_model_ok(p, NULL, D1));
	EXPECT(!veil_client_policy_model_ok(p, "chat", NULL));
	EXPECT(!veil_client_policy_model_ok(p, "chat", ""));
	EXPECT(!veil_client_policy_model_ok(p, "chat", D1 "1")); /* 65 digits */
	EXPECT(!veil_client_policy_model_ok(NULL, "chat", D1));
	lower[63] = '\0';
	EXPECT(!veil_client_policy_model_ok(p, "chat", lower)); /* 63 digits */
	lower[63] = 'g';
	EXPECT(!veil_client_policy_model_ok(p, "chat", lower)); /* not hex */

	EXPECT(!veil_client_policy_engine_ok(p, "Builtin"));
	EXPECT(!veil_client_policy_engine_ok(p, ""));
	EXPECT(!veil_client_policy_engine_ok(p, NULL));
	EXPECT(!veil_client_policy_engine_ok(NULL, "builtin"));
	veil_client_policy_free(p);
}

TEST(document_refused)
{
	EXPECT(refused("", VEIL_E_MALFORMED, "t.json"));
	EXPECT(refused("[]", VEIL_E_MALFORMED, "not a JSON object"));
	EXPECT(refused("\"policy\"", VEIL_E_MALFORMED, "t.json"));
	EXPECT(refused(MINIMAL " x", VEIL_E_MALFORMED, "t.json")); /* trailing garbage */
	/* Truncated: every prefix of a good policy is refused. */
	for (size_t n = 0; n < strlen(MINIMAL); n++) {
		veil_client_policy *p = NULL;
		veil_err err = veil_client_policy_parse((const uint8_t *)MINIMAL, n, "t.json", &p);
		EXPECT(err != VEIL_OK && p == NULL);
	}
	/* Duplicate keys, at the top and inside. */
	EXPECT(refused("{\"version\":1,\"version\":1,\"appraisal\":" APPR ",\"models\":" MODELS "}",
		       VEIL_E_MALFORMED, "t.json"));
	EXPECT(refused_f(policy(APPR, "{\"chat\":[\"" D1 "\"],\"chat\":[\"" D3 "\"]}", ""),
			 VEIL_E_MALFORMED, "t.json"));
	EXPECT(refused_f(policy(APPR, MODELS, ",\"engines\":[\"builtin\"],\"engines\":[\"x\"]"),
			 VEIL_E_MALFORMED, "t.json"));
	/* Unknown members, typos included. */
	EXPECT(refused_f(policy(APPR, MODELS, ",\"model\":{}"), VEIL_E_MALFORMED, "\"model\""));
	EXPECT(
	    refused_f(policy(APPR, MODELS, ",\"reverify\":60"), VEIL_E_MALFORMED, "\"reverify\""));
	EXPECT(refused_f(policy(APPR, MODELS, ",\"allow_debug\":true"), VEIL_E_MALFORMED,
			 "\"allow_debug\""));
	/* Over the size cap, even when the bytes would be fine JSON. */
	{
		size_t n = VEIL_CLIENT_POLICY_MAX_BYTES + 1;
		char *s = malloc(n);
		veil_client_policy *p = NULL;
		REQUIRE(s != NULL);
		memset(s, ' ', n);
		memcpy(s, MINIMAL, strlen(MINIMAL));
		EXPECT_ERR(veil_client_policy_parse((const uint8_t *)s, n, "t.json", &p),
			   VEIL_E_LIMIT);
		EXPECT(p == NULL);
		/* At the cap, white space and all, it parses. */
		EXPECT_OK(veil_client_policy_parse((const uint8_t *)s, n - 1, "t.json", &p));
		veil_client_policy_free(p);
		free(s);
	}
	EXPECT_ERR(veil_client_policy_parse(NULL, 1, "t.json", NULL), VEIL_E_USAGE);
}

TEST(version_refused)
{
	EXPECT(refused("{\"appraisal\":" APPR ",\"models\":" MODELS "}", VEIL_E_MALFORMED,
		       "\"version\""));
	EXPECT(refused("{\"version\":\"1\",\"appraisal\":" APPR ",\"models\":" MODELS "}",
		       VEIL_E_MALFORMED, "\"version\""));
	EXPECT(refused("{\"version\":1.0,\"appraisal\":" APPR ",\"models\":" MODELS "}",
		       VEIL_E_MALFORMED, "\"version\""));
	EXPECT(refused("{\"version\":2,\"appraisal\":" APPR ",\"models\":" MODELS "}",
		       VEIL_E_UNSUPPORTED, "\"version\""));
	EXPECT(refused("{\"version\":0,\"appraisal\":" APPR ",\"models\":" MODELS "}",
		       VEIL_E_UNSUPPORTED, "\"version\""));
}

TEST(appraisal_and_reference_values_refused)
{
	EXPECT(refused("{\"version\":1,\"models\":" MODELS "}", VEIL_E_MALFORMED,
		       "\"appraisal\" is missing"));
	EXPECT(refused_f(policy("\"client\"", MODELS, ""), VEIL_E_MALFORMED, "\"appraisal\""));
	EXPECT(refused_f(policy("[]", MODELS, ""), VEIL_E_MALFORMED, "\"appraisal\""));
	/* The appraisal policy's own rules, named under the member. */
	EXPECT(refused_f(policy("{\"version\":1,\"id\":\"c\",\"alow_debug\":true}", MODELS, ""),
			 VEIL_E_MALFORMED, "\"appraisal\""));
	EXPECT(refused_f(policy("{\"version\":1,\"id\":\"c\",\"sim\":{}}", MODELS, ""),
			 VEIL_E_MALFORMED, "\"appraisal\""));
	EXPECT(refused_f(policy("{\"version\":1}", MODELS, ""), VEIL_E_MALFORMED, "\"appraisal\""));
	/* Reference values. */
	EXPECT(refused_f(policy(APPR, MODELS, ",\"reference_values\":[]"), VEIL_E_MALFORMED,
			 "\"reference_values\""));
	EXPECT(refused_f(policy(APPR, MODELS, ",\"reference_values\":null"), VEIL_E_MALFORMED,
			 "\"reference_values\""));
	EXPECT(refused_f(
	    policy(APPR, MODELS, ",\"reference_values\":{\"version\":1,\"sets\":{\"a\":[\"00\"]}}"),
	    VEIL_E_MALFORMED, "\"reference_values\""));
	EXPECT(
	    refused_f(policy(APPR, MODELS,
			     ",\"reference_values\":{\"version\":1,\"expires\":\"2099-01-01T00:00:"
			     "00Z\",\"sets\":{\"a\":[\"00\"]},\"extra\":1}"),
		      VEIL_E_MALFORMED, "\"reference_values\""));
}

TEST(models_refused)
{
	char name[VEIL_CLIENT_MODEL_MAX + 2], *m;
	size_t n;

	EXPECT(refused("{\"version\":1,\"appraisal\":" APPR "}", VEIL_E_MALFORMED,
		       "\"models\" is missing"));
	EXPECT(refused_f(policy(APPR, "[]", ""), VEIL_E_MALFORMED, "\"models\""));
	EXPECT(refused_f(policy(APPR, "\"chat\"", ""), VEIL_E_MALFORMED, "\"models\""));
	EXPECT(refused_f(policy(APPR, "{}", ""), VEIL_E_MALFORMED, "\"models\" names no model"));
	EXPECT(refused_f(policy(APPR, "{\"chat\":\"" D1 "\"}", ""), VEIL_E_MALFORMED,
			 "\"models\".\"chat\""));
	EXPECT(
	    refused_f(policy(APPR, "{\"chat\":[]}", ""), VEIL_E_MALFORMED, "\"models\".\"chat\""));
	EXPECT(refused_f(policy(APPR, "{\"chat\":[\"" D1 "\",1]}", ""), VEIL_E_MALFORMED,
			 "\"models\".\"chat\"[1]"));
	EXPECT(refused_f(policy(APPR, "{\"chat\":[\"" D1 "0\"]}", ""), VEIL_E_MALFORMED,
			 "\"models\".\"chat\"[0]"));
	EXPECT(
	    refused_f(policy(APPR,
			     "{\"chat\":[\"111111111111111111111111111111111111111111111111111111"
			     "111111111\"]}",
			     ""),
		      VEIL_E_MALFORMED, "\"models\".\"chat\"[0]")); /* 63 digits */
	EXPECT(
	    refused_f(policy(APPR,
			     "{\"chat\":[\"111111111111111111111111111111111111111111111111111111"
			     "111111111x\"]}",
			     ""),
		      VEIL_E_MALFORMED, "\"models\".\"chat\"[0]")); /* not hex */
	EXPECT(refused_f(policy(APPR, "{\"chat\":[\"0x" D1 "\"]}", ""), VEIL_E_MALFORMED,
			 "\"models\".\"chat\"[0]"));
	/* Names: the worker's alphabet, 1..128 characters. */
	EXPECT(refused_f(policy(APPR, "{\"my model\":[\"" D1 "\"]}", ""), VEIL_E_MALFORMED,
			 "my model"));
	EXPECT(refused_f(policy(APPR, "{\"\":[\"" D1 "\"]}", ""), VEIL_E_MALFORMED, "\"models\""));
	EXPECT(refused_f(policy(APPR, "{\"a\\nb\":[\"" D1 "\"]}", ""), VEIL_E_MALFORMED,
			 "\"models\""));
	memset(name, 'm', sizeof name);
	name[VEIL_CLIENT_MODEL_MAX + 1] = '\0';
	m = malloc(512);
	REQUIRE(m != NULL);
	snprintf(m, 512, "{\"%s\":[\"" D1 "\"]}", name);
	EXPECT(refused_f(policy(APPR, m, ""), VEIL_E_MALFORMED, "\"models\""));
	name[VEIL_CLIENT_MODEL_MAX] = '\0'; /* 128 is fine */
	snprintf(m, 512, "{\"%s\":[\"" D1 "\"]}", name);
	{
		veil_client_policy *p = NULL;
		char *text = policy(APPR, m, "");
		EXPECT_OK(parse(text, &p));
		EXPECT(veil_client_policy_model_ok(p, name, D1));
		veil_client_policy_free(p);
		free(text);
	}
	free(m);

	/* Caps: digests per model, models per policy. */
	m = malloc(80 * (VEIL_CLIENT_DIGESTS_MAX + 1) + 32);
	REQUIRE(m != NULL);
	n = (size_t)snprintf(m, 32, "{\"chat\":[");
	for (int i = 0; i <= VEIL_CLIENT_DIGESTS_MAX; i++)
		n += (size_t)snprintf(m + n, 80, "%s\"" D1 "\"", i > 0 ? "," : "");
	snprintf(m + n, 8, "]}");
	EXPECT(refused_f(policy(APPR, m, ""), VEIL_E_LIMIT, "\"models\".\"chat\""));
	free(m);
	m = malloc(96 * (VEIL_CLIENT_MODELS_MAX + 1) + 32);
	REQUIRE(m != NULL);
	n = (size_t)snprintf(m, 32, "{");
	for (int i = 0; i <= VEIL_CLIENT_MODELS_MAX; i++)
		n += (size_t)snprintf(m + n, 96, "%s\"m%d\":[\"" D1 "\"]", i > 0 ? "," : "", i);
	snprintf(m + n, 8, "}");
	EXPECT(refused_f(policy(APPR, m, ""), VEIL_E_LIMIT, "\"models\""));
	free(m);
}

TEST(engines_and_reverify_refused)
{
	char list[1024];
	size_t n;

	EXPECT(refused_f(policy(APPR, MODELS, ",\"engines\":[]"), VEIL_E_MALFORMED, "\"engines\""));
	EXPECT(refused_f(policy(APPR, MODELS, ",\"engines\":\"builtin\""), VEIL_E_MALFORMED,
			 "\"engines\""));
	EXPECT(refused_f(policy(APPR, MODELS, ",\"engines\":[1]"), VEIL_E_MALFORMED,
			 "\"engines\"[0]"));
	EXPECT(refused_f(policy(APPR, MODELS, ",\"engines\":[\"builtin\",\"\"]"), VEIL_E_MALFORMED,
			 "\"engines\"[1]"));
	EXPECT(refused_f(policy(APPR, MODELS, ",\"engines\":[\"bench reply\"]"), VEIL_E_MALFORMED,
			 "\"engines\"[0]"));
	/* Engine names: 63 characters at most. */
	n = (size_t)snprintf(list, sizeof list, ",\"engines\":[\"");
	memset(list + n, 'e', VEIL_CLIENT_ENGINE_MAX + 1);
	snprintf(list + n + VEIL_CLIENT_ENGINE_MAX + 1, 8, "\"]");
	EXPECT(refused_f(policy(APPR, MODELS, list), VEIL_E_MALFORMED, "\"engines\"[0]"));
	snprintf(list + n + VEIL_CLIENT_ENGINE_MAX, 8, "\"]");
	{
		veil_client_policy *p = NULL;
		char *text = policy(APPR, MODELS, list);
		EXPECT_OK(parse(text, &p));
		veil_client_policy_free(p);
		free(text);
	}
	n = (size_t)snprintf(list, sizeof list, ",\"engines\":[");
	for (int i = 0; i <= VEIL_CLIENT_ENGINES_MAX; i++)
		n += (size_t)snprintf(list + n, sizeof list - n, "%s\"e%d\"", i > 0 ? "," : "", i);
	snprintf(list + n, sizeof list - n, "]");
	EXPECT(refused_f(policy(APPR, MODELS, list), VEIL_E_LIMIT, "\"engines\""));

	EXPECT(refused_f(policy(APPR, MODELS, ",\"reverify_seconds\":0"), VEIL_E_MALFORMED,
			 "\"reverify_seconds\""));
	EXPECT(refused_f(policy(APPR, MODELS, ",\"reverify_seconds\":-5"), VEIL_E_MALFORMED,
			 "\"reverify_seconds\""));
	EXPECT(refused_f(policy(APPR, MODELS, ",\"reverify_seconds\":86401"), VEIL_E_MALFORMED,
			 "\"reverify_seconds\""));
	EXPECT(refused_f(policy(APPR, MODELS, ",\"reverify_seconds\":\"300\""), VEIL_E_MALFORMED,
			 "\"reverify_seconds\""));
	EXPECT(refused_f(policy(APPR, MODELS, ",\"reverify_seconds\":30.5"), VEIL_E_MALFORMED,
			 "\"reverify_seconds\""));
	EXPECT(refused_f(policy(APPR, MODELS, ",\"reverify_seconds\":true"), VEIL_E_MALFORMED,
			 "\"reverify_seconds\""));
	EXPECT(refused_f(policy(APPR, MODELS, ",\"reverify_seconds\":null"), VEIL_E_MALFORMED,
			 "\"reverify_seconds\""));
}

TEST(log_key_refused)
{
	veil_jwk *k = NULL;
	json_t *pub = NULL;
	char *text, *extra;

	/* The private key: a policy is handed around, the key stays home. */
	EXPECT(refused_f(policy(APPR, MODELS, ",\"log_key\":" PRIV_JWK), VEIL_E_MALFORMED,
			 "public half"));
	EXPECT(refused_f(policy(APPR, MODELS, ",\"log_key\":\"" D1 "\""), VEIL_E_MALFORMED,
			 "\"log_key\""));
	EXPECT(refused_f(policy(APPR, MODELS, ",\"log_key\":[]"), VEIL_E_MALFORMED, "\"log_key\""));
	/* A point not on the curve (y changed), and a missing coordinate. */
	EXPECT(refused_f(policy(APPR, MODELS,
				",\"log_key\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"
				"\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\",\"y\":"
				"\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyA\"}"),
			 VEIL_E_MALFORMED, "\"log_key\""));
	EXPECT(refused_f(policy(APPR, MODELS,
				",\"log_key\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"
				"\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\"}"),
			 VEIL_E_MALFORMED, "\"log_key\""));
	/* Another curve: signed tree heads are ES256. */
	REQUIRE(veil_jwk_generate(VEIL_JWK_EC_P384, 0, &k) == VEIL_OK);
	REQUIRE(veil_jwk_export_public(k, &pub) == VEIL_OK);
	text = json_dumps(pub, JSON_COMPACT);
	REQUIRE(text != NULL);
	extra = malloc(strlen(text) + 16);
	REQUIRE(extra != NULL);
	snprintf(extra, strlen(text) + 16, ",\"log_key\":%s", text);
	EXPECT(refused_f(policy(APPR, MODELS, extra), VEIL_E_MALFORMED, "P-256"));
	free(extra);
	free(text);
	json_decref(pub);
	veil_jwk_free(k);
}

static void write_file(const char *path, const char *text, size_t n)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fwrite(text, 1, n, f) != n || fclose(f) != 0)
		abort();
}

TEST(load_from_files)
{
	char good[128], bad[128], gone[128], big[128];
	veil_client_policy *p = (veil_client_policy *)&p;
	char *junk;

	snprintf(good, sizeof good, "%s/good.json", tmpdir);
	snprintf(bad, sizeof bad, "%s/bad.json", tmpdir);
	snprintf(gone, sizeof gone, "%s/missing.json", tmpdir);
	snprintf(big, sizeof big, "%s/big.json", tmpdir);
	write_file(good, MINIMAL "\n", strlen(MINIMAL) + 1);
	write_file(bad, "{\"version\":1,\"appraisal\":" APPR ",\"models\":{\"chat\":[\"12\"]}}",
		   strlen("{\"version\":1,\"appraisal\":" APPR ",\"models\":{\"chat\":[\"12\"]}}"));

	EXPECT_OK(veil_client_policy_load(good, &p));
	EXPECT(p != NULL && veil_client_policy_model_ok(p, "chat", D1));
	veil_client_policy_free(p);

	p = (veil_client_policy *)&p;
	EXPECT_ERR(veil_client_policy_load(bad, &p), VEIL_E_MALFORMED);
	EXPECT(p == NULL);
	EXPECT(strstr(veil_err_detail(), bad) != NULL);
	EXPECT(strstr(veil_err_detail(), "\"models\".\"chat\"[0]") != NULL);

	p = (veil_client_policy *)&p;
	EXPECT_ERR(veil_client_policy_load(gone, &p), VEIL_E_IO);
	EXPECT(p == NULL);
	EXPECT(strstr(veil_err_detail(), gone) != NULL);
	EXPECT_ERR(veil_client_policy_load(tmpdir, &p), VEIL_E_IO); /* a folder */
	EXPECT(p == NULL);

	junk = malloc(VEIL_CLIENT_POLICY_MAX_BYTES + 1);
	REQUIRE(junk != NULL);
	memset(junk, ' ', VEIL_CLIENT_POLICY_MAX_BYTES + 1);
	write_file(big, junk, VEIL_CLIENT_POLICY_MAX_BYTES + 1);
	free(junk);
	EXPECT_ERR(veil_client_policy_load(big, &p), VEIL_E_LIMIT);
	EXPECT(p == NULL);
	EXPECT(strstr(veil_err_detail(), big) != NULL);
	EXPECT_ERR(veil_client_policy_load(NULL, &p), VEIL_E_USAGE);

	unlink(good);
	unlink(bad);
	unlink(big);
}

int main(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof tmpdir, "%s/veil-cpol-XXXXXX",
		 t != NULL && strlen(t) < 32 ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return 2;
	RUN(minimal_policy_and_defaults);
	RUN(full_policy);
	RUN(model_truth_table);
	RUN(document_refused);
	RUN(version_refused);
	RUN(appraisal_and_reference_values_refused);
	RUN(models_refused);
	RUN(engines_and_reverify_refused);
	RUN(log_key_refused);
	RUN(load_from_files);
	rmdir(tmpdir);
	return harness_finish("test_client_policy");
}
