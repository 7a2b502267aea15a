/*
 * test_hostcheck_report.c - the host report (src/hostcheck/report.c): the
 * JSON and its round trip on a fixture host and on reports made by hand,
 * the verdict rule, the strict reader's refusals (every member missing,
 * of the wrong type, over its cap, text with control characters, a
 * verdict the checks contradict, anything extra), the signed report's
 * exact header and payload, and every kind of tampering: a character of
 * any part, "alg" none or HS256 or anything else, another key, another
 * "typ", a good signature over a report that does not read.
 */
#include "test_hostcheck_util.h"
#include "test_jose_util.h"

static veil_jwk *key, *key_pub;
static veil_hc_report *a, *b;

#define TYP "\"typ\":\"" VEIL_HC_REPORT_TYP "\""

/* A report with every status, text outside ASCII, an empty field, and a
 * verdict of pass. */
static void sample(veil_hc_report *r)
{
	memset(r, 0, sizeof *r);
	snprintf(r->host, sizeof r->host, "%s", "h\xc3\xb4te-7");
	snprintf(r->kernel, sizeof r->kernel, "%s", "6.12.9-snp-host");
	snprintf(r->cpu, sizeof r->cpu, "%s", "AMD EPYC 9654 96-Core Processor");
	memcpy(r->tee, "snp", 4);
	r->time = HC_NOW;
	if (veil_hc_add(r, "cpu.vendor", "CPU vendor and model", true, VEIL_HC_PASS,
			"vendor_id AuthenticAMD \"quoted\" \\ back", NULL) != VEIL_OK ||
	    veil_hc_add(r, "snp.kvm_amd", "KVM", true, VEIL_HC_PASS, "sev_snp=Y", NULL) !=
		VEIL_OK ||
	    veil_hc_add(r, "tdx.module", "TDX module", true, VEIL_HC_NA, "not applicable", NULL) !=
		VEIL_OK ||
	    veil_hc_add(r, "gpu.0.cc_mode", "GPU 0 CC mode \xe2\x82\xac", false, VEIL_HC_FAIL,
			"off", "nvidia-smi conf-compute -scc 1") != VEIL_OK ||
	    veil_hc_add(r, "gpu.count", "GPUs", false, VEIL_HC_NA, "", NULL) != VEIL_OK)
		setup_fail("sample report");
	r->pass = true;
}

static bool same(const veil_hc_report *x, const veil_hc_report *y)
{
	if (strcmp(x->host, y->host) != 0 || strcmp(x->kernel, y->kernel) != 0 ||
	    strcmp(x->cpu, y->cpu) != 0 || strcmp(x->tee, y->tee) != 0 || x->time != y->time ||
	    x->count != y->count || x->pass != y->pass)
		return false;
	for (size_t i = 0; i < x->count; i++) {
		const veil_hc_check *p = &x->checks[i], *q = &y->checks[i];

		if (strcmp(p->id, q->id) != 0 || strcmp(p->title, q->title) != 0 ||
		    p->status != q->status || p->required != q->required ||
		    strcmp(p->evidence, q->evidence) != 0 || strcmp(p->remedy, q->remedy) != 0)
			return false;
	}
	return true;
}

static json_t *to_json(const veil_hc_report *r)
{
	json_t *j = NULL;

	if (veil_hostcheck_json(r, &j) != VEIL_OK)
		setup_fail("veil_hostcheck_json");
	return j;
}

/* The JCS text of r, as the signer's payload. */
static char *jcs_text(const veil_hc_report *r)
{
	json_t *j = to_json(r);
	uint8_t *p = NULL;
	size_t n = 0;
	char *s;

	if (veil_jcs_encode(j, &p, &n) != VEIL_OK)
		setup_fail("veil_jcs_encode");
	s = strndup((const char *)p, n);
	free(p);
	json_decref(j);
	return s;
}

/* The caller's pointer receives the JWS (gcc's -Wdangling-pointer
 * misreads a local handed to the signer and then returned). */
static void sign_report(const veil_hc_report *r, char **tok)
{
	*tok = NULL;
	if (veil_hostcheck_sign(key, r, tok) != VEIL_OK || *tok == NULL)
		setup_fail("veil_hostcheck_sign");
}

/* tmpl with every "KID" replaced by kid. */
static void fill_kid(char *out, size_t cap, const char *tmpl, const char *kid)
{
	size_t n = 0;

	for (const char *t = tmpl; *t != '\0' && n + 1 < cap;) {
		if (strncmp(t, "KID", 3) == 0) {
			n += (size_t)snprintf(out + n, cap - n, "%s", kid);
			t += 3;
		} else {
			out[n++] = *t++;
		}
	}
	out[n < cap ? n : cap - 1] = '\0';
}

TEST(json_shape)
{
	json_t *j, *c;
	void *it;
	static const char *const order[] = {"version", "host", "kernel",  "cpu",
					    "tee",     "time", "verdict", "checks"};
	size_t i = 0;

	sample(a);
	j = to_json(a);
	for (it = json_object_iter(j); it != NULL; it = json_object_iter_next(j, it), i++)
		EXPECT(i < 8 && strcmp(json_object_iter_key(it), order[i]) == 0);
	EXPECT(i == 8);
	EXPECT(json_integer_value(json_object_get(j, "version")) == 1);
	EXPECT(json_integer_value(json_object_get(j, "time")) == HC_NOW);
	EXPECT(strcmp(json_string_value(json_object_get(j, "verdict")), "pass") == 0);
	EXPECT(json_array_size(json_object_get(j, "checks")) == 5);
	c = json_array_get(json_object_get(j, "checks"), 3);
	EXPECT(json_object_size(c) == 6);
	EXPECT(strcmp(json_string_value(json_object_get(c, "status")), "fail") == 0);
	EXPECT(json_is_false(json_object_get(c, "required")));
	EXPECT(strcmp(json_string_value(json_object_get(c, "remedy")),
		      "nvidia-smi conf-compute -scc 1") == 0);
	c = json_array_get(json_object_get(j, "checks"), 2);
	EXPECT(strcmp(json_string_value(json_object_get(c, "status")), "n/a") == 0);
	EXPECT(strcmp(json_string_value(json_object_get(c, "remedy")), "") == 0);
	json_decref(j);
}

TEST(round_trip)
{
	char bufs[3][512];
	veil_hc_options o;
	json_t *j;

	sample(a);
	j = to_json(a);
	EXPECT_OK(veil_hostcheck_parse(j, b));
	EXPECT(same(a, b));
	json_decref(j);

	/* A whole run on fixture hosts, passing and failing. */
	static const char *const trees[] = {"snp", "tdx", "plain", "snp-disabled"};
	for (size_t t = 0; t < sizeof trees / sizeof trees[0]; t++) {
		o = hc_opts(trees[t], bufs, VEIL_HC_TEE_AUTO);
		REQUIRE(veil_hostcheck_run(&o, a) == VEIL_OK);
		j = to_json(a);
		EXPECT_OK(veil_hostcheck_parse(j, b));
		EXPECT(same(a, b) && b->count >= 10);
		json_decref(j);
	}

	/* Every cap reached at once. */
	memset(a, 0, sizeof *a);
	memset(a->host, 'h', sizeof a->host - 1);
	memset(a->kernel, 'k', sizeof a->kernel - 1);
	memset(a->cpu, 'c', sizeof a->cpu - 1);
	memcpy(a->tee, "tdx", 4);
	a->time = 9007199254740991LL;
	for (size_t i = 0; i < VEIL_HC_CHECKS_MAX; i++) {
		char id[VEIL_HC_ID_MAX], text[VEIL_HC_TEXT_MAX], title[96];

		memset(id, 'i', sizeof id - 1);
		id[sizeof id - 1] = '\0';
		snprintf(id, sizeof id, "tdx.%zu", i);
		id[strlen(id)] = 'x';
		memset(text, '"', sizeof text - 1);
		text[sizeof text - 1] = '\0';
		memset(title, 't', sizeof title - 1);
		title[sizeof title - 1] = '\0';
		REQUIRE(veil_hc_add(a, id, title, true, i == 0 ? VEIL_HC_PASS : VEIL_HC_FAIL, text,
				    text) == VEIL_OK);
	}
	a->pass = false;
	j = to_json(a);
	EXPECT_OK(veil_hostcheck_parse(j, b));
	EXPECT(same(a, b) && b->count == VEIL_HC_CHECKS_MAX);
	json_decref(j);
}

/* The rule: no required failure, and at least one snp.* or tdx.* pass. */
TEST(verdict_rule)
{
	json_t *j;

	sample(a);
	/* Only one TEE check passes; making it n/a leaves none. */
	a->checks[1].status = VEIL_HC_NA;
	a->checks[0].status = VEIL_HC_PASS;
	EXPECT_ERR(veil_hostcheck_json(a, &j), VEIL_E_USAGE);
	a->pass = false;
	j = to_json(a);
	EXPECT_OK(veil_hostcheck_parse(j, b));
	EXPECT(!b->pass);
	json_decref(j);
	/* A gpu.* pass is no TEE pass. */
	a->checks[3].status = VEIL_HC_PASS;
	a->checks[3].remedy[0] = '\0';
	j = to_json(a);
	EXPECT_OK(veil_hostcheck_parse(j, b));
	json_decref(j);
	/* A required n/a does not fail; a required failure does. */
	sample(a);
	a->checks[2].required = true;
	j = to_json(a);
	json_decref(j);
	a->checks[2].status = VEIL_HC_FAIL;
	EXPECT_ERR(veil_hostcheck_json(a, &j), VEIL_E_USAGE);
	a->pass = false;
	j = to_json(a);
	json_decref(j);
	/* No checks at all: fail. */
	memset(a, 0, sizeof *a);
	memcpy(a->tee, "none", 5);
	a->pass = true;
	EXPECT_ERR(veil_hostcheck_json(a, &j), VEIL_E_USAGE);
	a->pass = false;
	j = to_json(a);
	EXPECT_OK(veil_hostcheck_parse(j, b));
	EXPECT(b->count == 0 && !b->pass);
	json_decref(j);
	/* What the writer refuses besides. */
	sample(a);
	memcpy(a->tee, "sev", 4);
	EXPECT_ERR(veil_hostcheck_json(a, &j), VEIL_E_USAGE);
	sample(a);
	a->time = -1;
	EXPECT_ERR(veil_hostcheck_json(a, &j), VEIL_E_USAGE);
	sample(a);
	a->checks[0].id[0] = ' ';
	EXPECT_ERR(veil_hostcheck_json(a, &j), VEIL_E_USAGE);
	sample(a);
	a->checks[0].status = (veil_hc_status)5;
	EXPECT_ERR(veil_hostcheck_json(a, &j), VEIL_E_USAGE);
	sample(a);
	a->checks[0].title[0] = '\0';
	EXPECT_ERR(veil_hostcheck_json(a, &j), VEIL_E_USAGE);
	sample(a);
	a->checks[1].evidence[2] = '\n';
	EXPECT_ERR(veil_hostcheck_json(a, &j), VEIL_E_USAGE);
	sample(a);
	a->checks[0].remedy[0] = 'x';
	EXPECT_ERR(veil_hostcheck_json(a, &j), VEIL_E_USAGE);
	sample(a);
	memcpy(a->checks[1].id, "cpu.vendor", 11);
	EXPECT_ERR(veil_hostcheck_json(a, &j), VEIL_E_USAGE);
	sample(a);
	a->cpu[3] = '\xff';
	EXPECT_ERR(veil_hostcheck_json(a, &j), VEIL_E_USAGE);
	sample(a);
	memset(a->host, 'h', sizeof a->host);
	EXPECT_ERR(veil_hostcheck_json(a, &j), VEIL_E_USAGE);
	sample(a);
	a->count = VEIL_HC_CHECKS_MAX + 1;
	EXPECT_ERR(veil_hostcheck_json(a, &j), VEIL_E_USAGE);
	EXPECT_ERR(veil_hostcheck_json(NULL, &j), VEIL_E_USAGE);
}

/* One change to the sample's JSON: in the report ("" where), in check 0
 * ("c0") or check 3 ("c3", the failing one), set key to the JSON text
 * value, or delete it when value is NULL. A value "@N:c" is a string of N
 * copies of c. */
typedef struct edit {
	const char *where, *key, *value;
	veil_err want;
} edit;

static json_t *value_of(const char *text)
{
	json_t *v = NULL;
	const char *p = text + 1;
	size_t n = 0;
	char *s;

	if (text[0] != '@')
		return json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	for (; *p >= '0' && *p <= '9' && n < 1024; p++)
		n = n * 10 + (size_t)(*p - '0');
	s = malloc(1024);
	if (s == NULL || *p != ':' || n >= 1024)
		setup_fail("test value");
	memset(s, p[1], n);
	v = json_stringn(s, n);
	free(s);
	return v;
}

static json_t *edited(const edit *e)
{
	json_t *j, *at;

	sample(a);
	j = to_json(a);
	at = e->where[0] == '\0'
		 ? j
		 : json_array_get(json_object_get(j, "checks"), (size_t)(e->where[1] - '0'));
	if (e->value == NULL)
		json_object_del(at, e->key);
	else
		json_object_set_new(at, e->key, value_of(e->value));
	return j;
}

TEST(strict_reader)
{
	static const edit cases[] = {
	    {"", "extra", "true", VEIL_E_MALFORMED},
	    {"", "version", NULL, VEIL_E_MALFORMED},
	    {"", "host", NULL, VEIL_E_MALFORMED},
	    {"", "kernel", NULL, VEIL_E_MALFORMED},
	    {"", "cpu", NULL, VEIL_E_MALFORMED},
	    {"", "tee", NULL, VEIL_E_MALFORMED},
	    {"", "time", NULL, VEIL_E_MALFORMED},
	    {"", "verdict", NULL, VEIL_E_MALFORMED},
	    {"", "checks", NULL, VEIL_E_MALFORMED},
	    {"", "version", "\"1\"", VEIL_E_MALFORMED},
	    {"", "version", "1.0", VEIL_E_MALFORMED},
	    {"", "version", "2", VEIL_E_UNSUPPORTED},
	    {"", "host", "1", VEIL_E_MALFORMED},
	    {"", "host", "@256:h", VEIL_E_MALFORMED},
	    {"", "kernel", "@128:k", VEIL_E_MALFORMED},
	    {"", "cpu", "@128:c", VEIL_E_MALFORMED},
	    {"", "cpu", "\"AMD\\u001b[2J\"", VEIL_E_MALFORMED},
	    {"", "tee", "\"sev\"", VEIL_E_MALFORMED},
	    {"", "tee", "\"\"", VEIL_E_MALFORMED},
	    {"", "tee", "null", VEIL_E_MALFORMED},
	    {"", "time", "-1", VEIL_E_MALFORMED},
	    {"", "time", "9007199254740992", VEIL_E_MALFORMED},
	    {"", "time", "1790000000.5", VEIL_E_MALFORMED},
	    {"", "time", "\"1790000000\"", VEIL_E_MALFORMED},
	    {"", "verdict", "\"PASS\"", VEIL_E_MALFORMED},
	    {"", "verdict", "true", VEIL_E_MALFORMED},
	    {"", "checks", "{}", VEIL_E_MALFORMED},
	    {"", "checks", "[\"x\"]", VEIL_E_MALFORMED},
	    {"c0", "weight", "1", VEIL_E_MALFORMED},
	    {"c0", "id", NULL, VEIL_E_MALFORMED},
	    {"c0", "title", NULL, VEIL_E_MALFORMED},
	    {"c0", "status", NULL, VEIL_E_MALFORMED},
	    {"c0", "required", NULL, VEIL_E_MALFORMED},
	    {"c0", "evidence", NULL, VEIL_E_MALFORMED},
	    {"c0", "remedy", NULL, VEIL_E_MALFORMED},
	    {"c0", "id", "\"cpu vendor\"", VEIL_E_MALFORMED},
	    {"c0", "id", "\"\"", VEIL_E_MALFORMED},
	    {"c0", "id", "@48:i", VEIL_E_MALFORMED},
	    {"c0", "id", "\"snp.kvm_amd\"", VEIL_E_MALFORMED},
	    {"c0", "title", "\"\"", VEIL_E_MALFORMED},
	    {"c0", "title", "@96:t", VEIL_E_MALFORMED},
	    {"c0", "status", "\"ok\"", VEIL_E_MALFORMED},
	    {"c0", "status", "\"N/A\"", VEIL_E_MALFORMED},
	    {"c0", "required", "\"true\"", VEIL_E_MALFORMED},
	    {"c0", "required", "1", VEIL_E_MALFORMED},
	    {"c0", "evidence", "@400:e", VEIL_E_MALFORMED},
	    {"c0", "evidence", "\"a\\u009bb\"", VEIL_E_MALFORMED},
	    {"c0", "evidence", "\"a\\nverdict: pass\"", VEIL_E_MALFORMED},
	    {"c0", "evidence", "null", VEIL_E_MALFORMED},
	    {"c0", "remedy", "\"do this\"", VEIL_E_MALFORMED},
	    {"c3", "remedy", "@400:r", VEIL_E_MALFORMED},
	    /* The verdict against the checks: a pass over a required
	     * failure, a fail over passes, a pass with no TEE check passed. */
	    {"c0", "status", "\"fail\"", VEIL_E_MISMATCH},
	    {"", "verdict", "\"fail\"", VEIL_E_MISMATCH},
	    {"c1", "status", "\"n/a\"", VEIL_E_MISMATCH},
	};
	json_t *j, *cs;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char name[96];

		snprintf(name, sizeof name, "%s.%s = %.40s", cases[i].where, cases[i].key,
			 cases[i].value != NULL ? cases[i].value : "(deleted)");
		j = edited(&cases[i]);
		memset(b, 0x5a, sizeof *b);
		harness_expect_err(__FILE__, __LINE__, name, (int)veil_hostcheck_parse(j, b),
				   (int)cases[i].want);
		/* A refused report leaves nothing behind. */
		if (b->count != 0 || b->host[0] != '\0' || b->pass)
			harness_fail(__FILE__, __LINE__, name);
		json_decref(j);
	}
	/* More checks than a report holds. */
	sample(a);
	j = to_json(a);
	cs = json_object_get(j, "checks");
	for (int i = 0; i < VEIL_HC_CHECKS_MAX; i++) {
		json_t *c = json_deep_copy(json_array_get(cs, 2));
		char id[32];

		snprintf(id, sizeof id, "x.%d", i);
		json_object_set_new(c, "id", json_string(id));
		json_array_append_new(cs, c);
	}
	EXPECT_ERR(veil_hostcheck_parse(j, b), VEIL_E_LIMIT);
	json_decref(j);
	/* Not an object at all. */
	j = json_array();
	EXPECT_ERR(veil_hostcheck_parse(j, b), VEIL_E_MALFORMED);
	json_decref(j);
	EXPECT_ERR(veil_hostcheck_parse(NULL, b), VEIL_E_USAGE);
}

/* The exact bytes: the header as docs/host-check.md writes it, the
 * payload the JCS of the JSON. */
TEST(signed_bytes)
{
	char thumb[VEIL_JWK_THUMBPRINT_B64_LEN + 1], header[256], *tok, *h, *p, *payload;
	const char *d1, *d2;
	uint8_t *hb, *pb;
	size_t hl, pl;

	sample(a);
	sign_report(a, &tok);
	EXPECT_OK(veil_jwk_thumbprint_b64(key, thumb));
	fill_kid(header, sizeof header, "{\"alg\":\"ES256\"," TYP ",\"kid\":\"KID\"}", thumb);
	d1 = strchr(tok, '.');
	d2 = strrchr(tok, '.');
	REQUIRE(d1 != NULL && d2 != NULL && d1 < d2);
	h = strndup(tok, (size_t)(d1 - tok));
	p = strndup(d1 + 1, (size_t)(d2 - d1 - 1));
	REQUIRE(h != NULL && p != NULL);
	hb = unb64(h, &hl);
	pb = unb64(p, &pl);
	payload = jcs_text(a);
	EXPECT(hl == strlen(header) && memcmp(hb, header, hl) == 0);
	EXPECT(pl == strlen(payload) && memcmp(pb, payload, pl) == 0);
	/* JCS: members sorted, no white space. */
	EXPECT(strncmp(payload, "{\"checks\":[{\"evidence\":", 23) == 0);
	EXPECT(strlen(d2 + 1) == 86);
	EXPECT_OK(veil_hostcheck_verify(key_pub, tok, strlen(tok), b));
	EXPECT(same(a, b));
	/* The private key verifies too (its public half is used). */
	EXPECT_OK(veil_hostcheck_verify(key, tok, strlen(tok), b));
	free(payload);
	free(hb);
	free(pb);
	free(h);
	free(p);
	free(tok);
}

/* Every character of every part replaced: nothing verifies, and a
 * failure leaves the report empty. */
TEST(tamper_every_character)
{
	char *tok;
	size_t len;
	int bad = 0;

	sample(a);
	sign_report(a, &tok);
	len = strlen(tok);
	for (size_t i = 0; i < len; i++) {
		char saved = tok[i];

		if (saved == '.')
			continue;
		tok[i] = saved == 'A' ? 'B' : 'A';
		if (veil_hostcheck_verify(key_pub, tok, len, b) == VEIL_OK || b->count != 0)
			bad++;
		tok[i] = saved;
	}
	EXPECT(bad == 0);
	/* Cut, lengthened, white space around it. */
	EXPECT(veil_hostcheck_verify(key_pub, tok, len - 1, b) != VEIL_OK);
	EXPECT_ERR(veil_hostcheck_verify(key_pub, tok, 0, b), VEIL_E_MALFORMED);
	char *longer = malloc(len + 2);
	REQUIRE(longer != NULL);
	memcpy(longer, tok, len);
	longer[len] = '\n';
	longer[len + 1] = '\0';
	EXPECT_ERR(veil_hostcheck_verify(key_pub, longer, len + 1, b), VEIL_E_MALFORMED);
	longer[len] = 'A';
	EXPECT(veil_hostcheck_verify(key_pub, longer, len + 1, b) != VEIL_OK);
	free(longer);
	EXPECT_OK(veil_hostcheck_verify(key_pub, tok, len, b));
	free(tok);
}

/* Headers and payloads made by hand, signed ES256 by the report key. */
TEST(headers_by_hand)
{
	static const struct {
		const char *fmt;
		veil_err want;
	} cases[] = {
	    {"{\"alg\":\"none\"," TYP ",\"kid\":\"KID\"}", VEIL_E_VERIFY},
	    {"{\"alg\":\"HS256\"," TYP ",\"kid\":\"KID\"}", VEIL_E_VERIFY},
	    {"{\"alg\":\"ES384\"," TYP ",\"kid\":\"KID\"}", VEIL_E_VERIFY},
	    {"{\"alg\":\"RS256\"," TYP ",\"kid\":\"KID\"}", VEIL_E_VERIFY},
	    {"{\"alg\":\"EdDSA\"," TYP ",\"kid\":\"KID\"}", VEIL_E_VERIFY},
	    {"{" TYP ",\"kid\":\"KID\"}", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\",\"kid\":\"KID\"}", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"KID\"}", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\",\"typ\":\"veil-receipt+jws\",\"kid\":\"KID\"}", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\",\"typ\":\"veil-host-report+JWS\",\"kid\":\"KID\"}",
	     VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\"," TYP ",\"kid\":\"KIDA\"}", VEIL_E_VERIFY},
	    {"{\"alg\":\"ES256\"," TYP "}", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\"," TYP ",\"kid\":\"KID\",\"crit\":[\"x\"]}", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\"," TYP ",\"kid\":\"KID\",\"jwk\":{}}", VEIL_E_MALFORMED},
	};
	char thumb[VEIL_JWK_THUMBPRINT_B64_LEN + 1], header[512], *payload, *tok;

	sample(a);
	payload = jcs_text(a);
	EXPECT_OK(veil_jwk_thumbprint_b64(key, thumb));
	/* The header written here passes, in another order with spaces too. */
	fill_kid(header, sizeof header, "{\"alg\":\"ES256\"," TYP ",\"kid\":\"KID\"}", thumb);
	tok = sign_raw(key, VEIL_JWS_ES256, header, payload);
	EXPECT_OK(veil_hostcheck_verify(key_pub, tok, strlen(tok), b));
	free(tok);
	fill_kid(header, sizeof header, "{ \"kid\":\"KID\", " TYP ", \"alg\" : \"ES256\" }", thumb);
	tok = sign_raw(key, VEIL_JWS_ES256, header, payload);
	EXPECT_OK(veil_hostcheck_verify(key_pub, tok, strlen(tok), b));
	free(tok);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		fill_kid(header, sizeof header, cases[i].fmt, thumb);
		tok = sign_raw(key, VEIL_JWS_ES256, header, payload);
		harness_expect_err(__FILE__, __LINE__, cases[i].fmt,
				   (int)veil_hostcheck_verify(key_pub, tok, strlen(tok), b),
				   (int)cases[i].want);
		free(tok);
	}
	/* "none" as RFC 7515 section A.5 writes it: no signature at all. */
	fill_kid(header, sizeof header, "{\"alg\":\"none\"," TYP ",\"kid\":\"KID\"}", thumb);
	tok = sign_raw(key, 0, header, payload);
	EXPECT_ERR(veil_hostcheck_verify(key_pub, tok, strlen(tok), b), VEIL_E_MALFORMED);
	free(tok);
	free(payload);

	/* A good signature over a payload that is no report: refused. */
	fill_kid(header, sizeof header, "{\"alg\":\"ES256\"," TYP ",\"kid\":\"KID\"}", thumb);
	static const char *const payloads[] = {
	    "{\"version\":1}",
	    "[]",
	    "{\"a\":1} trailing",
	    "not json",
	    ("{\"checks\":[],\"cpu\":\"\",\"host\":\"\",\"kernel\":\"\",\"tee\":\"none\","
	     "\"time\":0,\"verdict\":\"pass\",\"version\":1}"),
	};
	for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
		tok = sign_raw(key, VEIL_JWS_ES256, header, payloads[i]);
		if (veil_hostcheck_verify(key_pub, tok, strlen(tok), b) == VEIL_OK)
			harness_fail(__FILE__, __LINE__, payloads[i]);
		free(tok);
	}
	/* ...and the same with "fail", a good empty report. */
	tok = sign_raw(key, VEIL_JWS_ES256, header,
		       "{\"checks\":[],\"cpu\":\"\",\"host\":\"\",\"kernel\":\"\",\"tee\":\"none\","
		       "\"time\":0,\"verdict\":\"fail\",\"version\":1}");
	EXPECT_OK(veil_hostcheck_verify(key_pub, tok, strlen(tok), b));
	EXPECT(!b->pass && b->count == 0);
	free(tok);
}

TEST(another_key)
{
	veil_jwk *other = gen(VEIL_JWK_EC_P256), *other_pub = pub_of(other);
	veil_jwk *k384 = gen(VEIL_JWK_EC_P384), *ed = gen(VEIL_JWK_ED25519);
	char thumb[VEIL_JWK_THUMBPRINT_B64_LEN + 1], header[256], *tok, *forged, *payload;

	sample(a);
	sign_report(a, &tok);
	/* A genuine report under another key: its kid. */
	EXPECT_ERR(veil_hostcheck_verify(other_pub, tok, strlen(tok), b), VEIL_E_VERIFY);
	/* Another key that claims ours: the signature. */
	EXPECT_OK(veil_jwk_thumbprint_b64(key, thumb));
	fill_kid(header, sizeof header, "{\"alg\":\"ES256\"," TYP ",\"kid\":\"KID\"}", thumb);
	payload = jcs_text(a);
	forged = sign_raw(other, VEIL_JWS_ES256, header, payload);
	EXPECT_ERR(veil_hostcheck_verify(key_pub, forged, strlen(forged), b), VEIL_E_VERIFY);
	free(forged);
	/* Keys of another type: refused for signing and verifying. */
	char *t2 = NULL;
	EXPECT_ERR(veil_hostcheck_sign(k384, a, &t2), VEIL_E_USAGE);
	EXPECT_ERR(veil_hostcheck_sign(ed, a, &t2), VEIL_E_USAGE);
	EXPECT_ERR(veil_hostcheck_sign(key_pub, a, &t2), VEIL_E_USAGE);
	EXPECT_ERR(veil_hostcheck_sign(NULL, a, &t2), VEIL_E_USAGE);
	EXPECT(t2 == NULL);
	EXPECT_ERR(veil_hostcheck_verify(k384, tok, strlen(tok), b), VEIL_E_USAGE);
	EXPECT_ERR(veil_hostcheck_verify(NULL, tok, strlen(tok), b), VEIL_E_USAGE);
	/* A report whose verdict its checks contradict is never signed. */
	a->pass = false;
	EXPECT_ERR(veil_hostcheck_sign(key, a, &t2), VEIL_E_USAGE);
	EXPECT(t2 == NULL);
	free(payload);
	free(tok);
	veil_jwk_free(other);
	veil_jwk_free(other_pub);
	veil_jwk_free(k384);
	veil_jwk_free(ed);
}

/* The largest report: still under the cap the readers share. */
TEST(largest_report)
{
	char *tok;

	memset(a, 0, sizeof *a);
	memcpy(a->tee, "snp", 4);
	for (size_t i = 0; i < VEIL_HC_CHECKS_MAX; i++) {
		char id[32], text[VEIL_HC_TEXT_MAX];

		snprintf(id, sizeof id, "snp.%zu", i);
		memset(text, 'x', sizeof text - 1);
		text[sizeof text - 1] = '\0';
		REQUIRE(veil_hc_add(a, id, "A title that is long enough to be typical of checks",
				    true, VEIL_HC_PASS, text, NULL) == VEIL_OK);
	}
	a->pass = true;
	sign_report(a, &tok);
	EXPECT(strlen(tok) <= VEIL_HC_REPORT_MAX_BYTES);
	EXPECT_OK(veil_hostcheck_verify(key_pub, tok, strlen(tok), b));
	EXPECT(same(a, b));
	free(tok);
}

int main(void)
{
	key = gen(VEIL_JWK_EC_P256);
	key_pub = pub_of(key);
	a = hc_new_report();
	b = hc_new_report();
	RUN(json_shape);
	RUN(round_trip);
	RUN(verdict_rule);
	RUN(strict_reader);
	RUN(signed_bytes);
	RUN(tamper_every_character);
	RUN(headers_by_hand);
	RUN(another_key);
	RUN(largest_report);
	free(a);
	free(b);
	veil_jwk_free(key);
	veil_jwk_free(key_pub);
	return harness_finish("test_hostcheck_report");
}
