/*
 * test_gateway_metrics.c - veil-gateway's counters (src/gateway/metrics.c,
 * docs/gateway-metrics.md): counts made from several threads at once add
 * up; the text is Prometheus exposition format 0.0.4 line by line (checked
 * by a small strict reader below, which is itself shown to refuse broken
 * texts); histogram buckets are cumulative with +Inf equal to _count and
 * bounds that include their edge; refusal reasons outside the table count
 * as "other"; values outside the enums are not counted; the writer's cap
 * is an error.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/metrics.h"
#include "harness.h"

/* ---- a strict reader of the exposition format ---- */

#define PX_SAMPLES  512
#define PX_FAMILIES 32

typedef struct px_sample {
	char name[64];
	char labels[192]; /* as written, without the braces */
	double value;
} px_sample;

typedef struct px_text {
	px_sample s[PX_SAMPLES];
	size_t n;
	char family[PX_FAMILIES][64];
	char type[PX_FAMILIES][16];
	size_t families;
	char why[160];
} px_text;

static bool px_fail(px_text *t, size_t line, const char *why)
{
	snprintf(t->why, sizeof t->why, "line %zu: %s", line, why);
	return false;
}

static size_t px_name_len(const char *p, bool label)
{
	size_t n = 0;

	while ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') || p[n] == '_' ||
	       (!label && p[n] == ':') || (n > 0 && p[n] >= '0' && p[n] <= '9'))
		n++;
	return n;
}

static const char *family_current(const px_text *t)
{
	return t->families > 0 ? t->family[t->families - 1] : NULL;
}

static bool px_ends_with(const char *s, const char *family, const char *suffix)
{
	size_t f = strlen(family);

	return strncmp(s, family, f) == 0 && strcmp(s + f, suffix) == 0;
}

/* One sample line "name{a="x",b="y"} value". */
static bool px_sample_line(px_text *t, size_t ln, const char *p, const char *end)
{
	px_sample *s;
	size_t n = px_name_len(p, false);
	const char *cur = family_current(t);

	if (n == 0 || n >= sizeof s->name)
		return px_fail(t, ln, "bad metric name");
	if (t->n == PX_SAMPLES)
		return px_fail(t, ln, "too many samples");
	s = &t->s[t->n];
	memcpy(s->name, p, n);
	s->name[n] = 0;
	p += n;
	s->labels[0] = 0;
	if (*p == '{') {
		const char *start = ++p;
		for (;;) {
			size_t l = px_name_len(p, true);
			if (l == 0 || p[l] != '=' || p[l + 1] != '"')
				return px_fail(t, ln, "bad label");
			p += l + 2;
			while (p < end && *p != '"' && *p != '\\')
				p++;
			if (*p != '"')
				return px_fail(t, ln, "bad label value");
			p++;
			if (*p == '}')
				break;
			if (*p != ',')
				return px_fail(t, ln, "labels not separated by ','");
			p++;
		}
		if ((size_t)(p - start) >= sizeof s->labels)
			return px_fail(t, ln, "labels too long");
		memcpy(s->labels, start, (size_t)(p - start));
		s->labels[p - start] = 0;
		p++;
	}
	if (*p != ' ')
		return px_fail(t, ln, "no space before the value");
	p++;
	{
		char *after = NULL;
		s->value = strtod(p, &after);
		if (after == p || after != end || !isfinite(s->value) || s->value < 0)
			return px_fail(t, ln, "bad value");
	}
	/* The sample belongs to the family of the last TYPE line. */
	if (cur == NULL)
		return px_fail(t, ln, "sample before any TYPE");
	if (strcmp(t->type[t->families - 1], "histogram") == 0) {
		if (!px_ends_with(s->name, cur, "_bucket") && !px_ends_with(s->name, cur, "_sum") &&
		    !px_ends_with(s->name, cur, "_count"))
			return px_fail(t, ln, "sample outside its histogram");
	} else if (strcmp(s->name, cur) != 0) {
		return px_fail(t, ln, "sample outside its family");
	}
	t->n++;
	return true;
}

/* "# HELP name text" then "# TYPE name type", once per family, before its
 * samples. */
static bool px_comment(px_text *t, size_t ln, const char *p, const char *end, bool *help_open)
{
	bool help = strncmp(p, "# HELP ", 7) == 0, type = strncmp(p, "# TYPE ", 7) == 0;
	size_t n;

	if (!help && !type)
		return px_fail(t, ln, "unknown comment");
	p += 7;
	n = px_name_len(p, false);
	if (n == 0 || n >= 64 || p[n] != ' ' || p + n + 1 >= end)
		return px_fail(t, ln, "bad HELP or TYPE");
	if (help) {
		if (*help_open)
			return px_fail(t, ln, "HELP twice");
		for (size_t i = 0; i < t->families; i++)
			if (strlen(t->family[i]) == n && memcmp(t->family[i], p, n) == 0)
				return px_fail(t, ln, "family declared twice");
		if (t->families == PX_FAMILIES)
			return px_fail(t, ln, "too many families");
		memcpy(t->family[t->families], p, n);
		t->family[t->families][n] = 0;
		t->type[t->families][0] = 0;
		t->families++;
		*help_open = true;
		return true;
	}
	if (!*help_open || strlen(family_current(t)) != n || memcmp(family_current(t), p, n) != 0)
		return px_fail(t, ln, "TYPE without its HELP");
	p += n + 1;
	if ((size_t)(end - p) >= sizeof t->type[0])
		return px_fail(t, ln, "bad type");
	memcpy(t->type[t->families - 1], p, (size_t)(end - p));
	t->type[t->families - 1][end - p] = 0;
	if (strcmp(t->type[t->families - 1], "counter") != 0 &&
	    strcmp(t->type[t->families - 1], "gauge") != 0 &&
	    strcmp(t->type[t->families - 1], "histogram") != 0)
		return px_fail(t, ln, "unknown type");
	*help_open = false;
	return true;
}

static const px_sample *px_find(const px_text *t, const char *name, const char *labels)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->s[i].name, name) == 0 && strcmp(t->s[i].labels, labels) == 0)
			return &t->s[i];
	return NULL;
}

/* Every histogram: per label set, buckets in increasing "le" order,
 * cumulative, ending at +Inf equal to _count, with a _sum. */
static bool px_histograms(px_text *t)
{
	for (size_t i = 0; i < t->n; i++) {
		const px_sample *count = &t->s[i];
		size_t len = strlen(count->name), k = strlen(count->labels);
		char bucket[80], sum[80];
		double prev_le = -INFINITY, prev = 0;

		if (len <= 6 || strcmp(count->name + len - 6, "_count") != 0)
			continue;
		snprintf(sum, sizeof sum, "%.*s_sum", (int)(len - 6), count->name);
		snprintf(bucket, sizeof bucket, "%.*s_bucket", (int)(len - 6), count->name);
		if (px_find(t, sum, count->labels) == NULL)
			return px_fail(t, i + 1, "_count without _sum");
		/* This label set's buckets: its labels, then le="...". */
		for (size_t j = 0; j < t->n; j++) {
			const px_sample *b = &t->s[j];
			const char *le = b->labels + k + (k > 0);
			double bound;

			if (strcmp(b->name, bucket) != 0 ||
			    strncmp(b->labels, count->labels, k) != 0 ||
			    (k > 0 && b->labels[k] != ',') || strncmp(le, "le=\"", 4) != 0 ||
			    strchr(le + 4, ',') != NULL)
				continue;
			if (prev_le == INFINITY)
				return px_fail(t, j + 1, "a bucket after +Inf");
			if (b->value < prev)
				return px_fail(t, j + 1, "buckets not cumulative");
			prev = b->value;
			if (strcmp(le + 4, "+Inf\"") == 0) {
				if (b->value != count->value)
					return px_fail(t, j + 1, "+Inf bucket differs from _count");
				prev_le = INFINITY;
				continue;
			}
			bound = strtod(le + 4, NULL);
			if (!(bound > prev_le))
				return px_fail(t, j + 1, "bucket bounds not increasing");
			prev_le = bound;
		}
		if (prev_le != INFINITY)
			return px_fail(t, i + 1, "histogram without a +Inf bucket");
	}
	return true;
}

/* Parses the whole text into t; false with t->why on the first fault. */
static bool px_parse(px_text *t, const char *text, size_t len)
{
	bool help_open = false;
	size_t ln = 0;
	const char *p = text, *stop = text + len;

	memset(t, 0, sizeof *t);
	if (len == 0 || text[len - 1] != '\n')
		return px_fail(t, 0, "does not end with a newline");
	while (p < stop) {
		const char *end = memchr(p, '\n', (size_t)(stop - p));
		bool ok;
		ln++;
		if (end == p)
			return px_fail(t, ln, "empty line");
		if (*p == '#')
			ok = px_comment(t, ln, p, end, &help_open);
		else
			ok = !help_open ? px_sample_line(t, ln, p, end)
					: px_fail(t, ln, "sample between HELP and TYPE");
		if (!ok)
			return false;
		p = end + 1;
	}
	return px_histograms(t);
}

static px_text parsed;

/* Renders m and parses it into `parsed`. */
static bool render(gw_metrics *m, size_t conf, size_t plain)
{
	veil_writer w;
	bool ok;

	veil_writer_init(&w, 1 << 20);
	ok = gw_metrics_text(m, conf, plain, &w) == VEIL_OK &&
	     px_parse(&parsed, (const char *)w.data, w.len);
	if (!ok)
		fprintf(stderr, "  metrics text: %s %s\n", parsed.why, veil_err_detail());
	veil_writer_clear(&w);
	return ok;
}

static double value(const char *name, const char *labels)
{
	const px_sample *s = px_find(&parsed, name, labels);

	return s != NULL ? s->value : -1;
}

static double requests(const char *route, const char *tier, const char *outcome)
{
	char labels[128];

	snprintf(labels, sizeof labels, "route=\"%s\",tier=\"%s\",outcome=\"%s\"", route, tier,
		 outcome);
	return value("veil_gateway_requests_total", labels);
}

/* ---- the tests ---- */

TEST(reader_refuses_broken_texts)
{
	static const char *const bad[] = {
	    "x 1\n",
	    "# HELP a_total x\n# TYPE a_total counter\na_total 1",
	    "# HELP a_total x\n# TYPE a_total counter\nb_total 1\n",
	    "# HELP a_total x\na_total 1\n# TYPE a_total counter\n",
	    "# HELP a_total x\n# TYPE a_total counter\na_total{x=1} 1\n",
	    "# HELP a_total x\n# TYPE a_total counter\na_total{x=\"1\" 1\n",
	    "# HELP a_total x\n# TYPE a_total counter\na_total one\n",
	    "# HELP a_total x\n# TYPE a_total counter\na_total 1 \n",
	    "# HELP a_total x\n# TYPE a_total counter\na_total -1\n",
	    "# HELP a_total x\n# TYPE a_total summary\n",
	    "# HELP a_total x\n# TYPE a_total counter\n# HELP a_total x\n# TYPE a_total counter\n",
	    "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
	    "h_sum 1\nh_count 1\n",
	    "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\n"
	    "h_sum 1\nh_count 2\n",
	    "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
	    "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\n"
	    "h_count 1\n",
	};
	static const char good[] = "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\n"
				   "h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3.5\n"
				   "h_count 2\n# HELP g x\n# TYPE g gauge\ng{k=\"v\",l=\"w\"} 4\n";
	px_text *t = malloc(sizeof *t);

	REQUIRE(t != NULL);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		bool ok = px_parse(t, bad[i], strlen(bad[i]));
		if (ok)
			fprintf(stderr, "  accepted broken text %zu\n", i);
		EXPECT(!ok);
	}
	EXPECT(px_parse(t, good, strlen(good)));
	EXPECT(t->n == 6 && t->families == 2 && px_find(t, "g", "k=\"v\",l=\"w\"") != NULL);
	free(t);
}

TEST(text_of_fresh_metrics)
{
	gw_metrics *m = NULL;
	static const char *const families[] = {
	    "veil_gateway_requests_total",           "veil_gateway_request_seconds",
	    "veil_gateway_fail_fast_total",          "veil_gateway_workers",
	    "veil_gateway_admissions_refused_total", "veil_gateway_admissions_total",
	    "veil_gateway_reattestations_total",     "veil_gateway_removals_total"};

	REQUIRE(gw_metrics_new(&m) == VEIL_OK);
	REQUIRE(render(m, 3, 2));
	EXPECT(parsed.families == sizeof families / sizeof families[0]);
	for (size_t i = 0; i < parsed.families && i < 8; i++)
		EXPECT(strcmp(parsed.family[i], families[i]) == 0);
	/* Every series exists from the start, at 0. */
	EXPECT(requests("chat", "confidential", "fail_fast") == 0);
	EXPECT(requests("usage", "plain", "unauthorized") == 0);
	EXPECT(value("veil_gateway_request_seconds_count", "route=\"ohttp\"") == 0);
	EXPECT(value("veil_gateway_request_seconds_bucket", "route=\"log\",le=\"+Inf\"") == 0);
	EXPECT(value("veil_gateway_admissions_refused_total", "reason=\"other\"") == 0);
	EXPECT(value("veil_gateway_workers", "kind=\"confidential\"") == 3);
	EXPECT(value("veil_gateway_workers", "kind=\"plain\"") == 2);
	EXPECT(value("veil_gateway_reattestations_total", "result=\"failed\"") == 0);
	EXPECT(value("veil_gateway_removals_total", "") == 0);
	/* 8 routes x 2 tiers x 7 outcomes. */
	{
		size_t n = 0;
		for (size_t i = 0; i < parsed.n; i++)
			n += strcmp(parsed.s[i].name, "veil_gateway_requests_total") == 0;
		EXPECT(n == GW_ROUTE_COUNT * 2 * GW_OUT_COUNT);
	}
	gw_metrics_free(m);
	gw_metrics_free(NULL);
}

/* Each bound includes its edge (le is "less than or equal"); what is past
 * the last bound is in +Inf only; NaN and negative count as 0. */
TEST(histogram_buckets)
{
	static const double at[] = {0.0005, 0.0006, 0.01, 10.0, 10.5, -1.0, NAN, INFINITY};
	gw_metrics *m = NULL;

	REQUIRE(gw_metrics_new(&m) == VEIL_OK);
	for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
		gw_metrics_request(m, GW_ROUTE_MODELS, 0, GW_OUT_OK, at[i]);
	REQUIRE(render(m, 0, 0));
#define B(le) value("veil_gateway_request_seconds_bucket", "route=\"models\",le=\"" le "\"")
	EXPECT(B("0.0005") == 3); /* 0.0005, -1, NaN */
	EXPECT(B("0.001") == 4);
	EXPECT(B("0.005") == 4);
	EXPECT(B("0.01") == 5);
	EXPECT(B("5") == 5);
	EXPECT(B("10") == 6);
	EXPECT(B("+Inf") == 8);
#undef B
	EXPECT(value("veil_gateway_request_seconds_count", "route=\"models\"") == 8);
	/* 0.0005 + 0.0006 + 0.01 + 10 + 10.5 + a day (the cap) */
	EXPECT(fabs(value("veil_gateway_request_seconds_sum", "route=\"models\"") -
		    (20.5111 + 86400.0)) < 1e-6);
	EXPECT(value("veil_gateway_request_seconds_count", "route=\"chat\"") == 0);
	gw_metrics_free(m);
}

TEST(refusal_reasons)
{
	static const char *const known[] = {"nonce", "verify", "policy", "runtime_data", "url",
					    "keys",  "full",   "log",    "internal"};
	const size_t n = sizeof known / sizeof known[0];
	gw_metrics *m = NULL;
	char labels[64];

	REQUIRE(gw_metrics_new(&m) == VEIL_OK);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k <= i; k++)
			gw_metrics_refused(m, known[i]);
	gw_metrics_refused(m, "bogus");
	gw_metrics_refused(m, "");
	gw_metrics_refused(m, NULL);
	gw_metrics_refused(m, "Nonce");
	gw_metrics_refused(m, "nonce ");
	gw_metrics_refused(m, "reason=\"x\"");
	REQUIRE(render(m, 0, 0));
	for (size_t i = 0; i < n; i++) {
		snprintf(labels, sizeof labels, "reason=\"%s\"", known[i]);
		EXPECT(value("veil_gateway_admissions_refused_total", labels) == (double)(i + 1));
	}
	EXPECT(value("veil_gateway_admissions_refused_total", "reason=\"other\"") == 6);
	gw_metrics_free(m);
}

/* Values outside the enums are dropped, not written out of bounds. */
TEST(out_of_range_not_counted)
{
	gw_metrics *m = NULL;
	double total = 0;

	REQUIRE(gw_metrics_new(&m) == VEIL_OK);
	gw_metrics_request(m, GW_ROUTE_COUNT, 0, GW_OUT_OK, 0.1);
	gw_metrics_request(m, (gw_route)-1, 0, GW_OUT_OK, 0.1);
	gw_metrics_request(m, GW_ROUTE_CHAT, 2, GW_OUT_OK, 0.1);
	gw_metrics_request(m, GW_ROUTE_CHAT, -1, GW_OUT_OK, 0.1);
	gw_metrics_request(m, GW_ROUTE_CHAT, 0, GW_OUT_COUNT, 0.1);
	gw_metrics_request(m, GW_ROUTE_CHAT, 0, (gw_outcome)-1, 0.1);
	gw_metrics_request(NULL, GW_ROUTE_CHAT, 0, GW_OUT_OK, 0.1);
	gw_metrics_refused(NULL, "nonce");
	gw_metrics_admission(NULL);
	gw_metrics_reattest(NULL, true);
	gw_metrics_removal(NULL);
	REQUIRE(render(m, 0, 0));
	for (size_t i = 0; i < parsed.n; i++)
		if (strcmp(parsed.s[i].name, "veil_gateway_requests_total") == 0 ||
		    strcmp(parsed.s[i].name, "veil_gateway_request_seconds_count") == 0)
			total += parsed.s[i].value;
	EXPECT(total == 0);
	gw_metrics_free(m);
}

#define THREADS 4
#define ROUNDS  500000

static void *count_thread(void *arg)
{
	gw_metrics *m = arg;

	for (int i = 0; i < ROUNDS; i++) {
		gw_metrics_request(m, (gw_route)(i % GW_ROUTE_COUNT), i % 2,
				   (gw_outcome)(i % GW_OUT_COUNT), (double)(i % 100) / 1000.0);
		/* One series every thread hits every round: lost updates
		 * would show here first. */
		gw_metrics_request(m, GW_ROUTE_USAGE, 1, GW_OUT_UNAUTHORIZED, 0.0);
		if (i % 10 == 0)
			gw_metrics_refused(m, i % 20 == 0 ? "policy" : "unheard-of");
		if (i % 100 == 0) {
			gw_metrics_admission(m);
			gw_metrics_reattest(m, i % 200 == 0);
			gw_metrics_removal(m);
		}
	}
	return NULL;
}

/* Counts from several threads at once all arrive; a scrape taken while
 * they run is well-formed too. */
TEST(counts_from_threads_add_up)
{
	pthread_t t[THREADS];
	gw_metrics *m = NULL;
	double total = 0, fail_fast = 0, count = 0;
	int spread = 0;

	REQUIRE(gw_metrics_new(&m) == VEIL_OK);
	for (int i = 0; i < THREADS; i++)
		REQUIRE(pthread_create(&t[i], NULL, count_thread, m) == 0);
	EXPECT(render(m, 1, 1)); /* mid-flight */
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	REQUIRE(render(m, 1, 1));
	for (size_t i = 0; i < parsed.n; i++) {
		if (strcmp(parsed.s[i].name, "veil_gateway_requests_total") == 0) {
			total += parsed.s[i].value;
			if (strstr(parsed.s[i].labels, "outcome=\"fail_fast\"") != NULL)
				fail_fast += parsed.s[i].value;
		}
		if (strcmp(parsed.s[i].name, "veil_gateway_request_seconds_count") == 0)
			count += parsed.s[i].value;
	}
	EXPECT(total == 2 * THREADS * ROUNDS && count == 2 * THREADS * ROUNDS);
	for (int i = 0; i < ROUNDS; i++)
		spread += i % GW_ROUTE_COUNT == GW_ROUTE_USAGE && i % 2 == 1 &&
			  i % GW_OUT_COUNT == GW_OUT_UNAUTHORIZED;
	EXPECT(spread > 0 &&
	       requests("usage", "confidential", "unauthorized") == THREADS * (ROUNDS + spread));
	EXPECT(value("veil_gateway_fail_fast_total", "") == fail_fast && fail_fast > 0);
	/* i % 8 == 0 (chat), even (plain), i % 7 == 0 (ok): i % 56 == 0. */
	EXPECT(requests("chat", "plain", "ok") == THREADS * ((ROUNDS + 55) / 56));
	EXPECT(requests("chat", "confidential", "ok") == 0);
	EXPECT(value("veil_gateway_admissions_refused_total", "reason=\"policy\"") ==
	       THREADS * ROUNDS / 20);
	EXPECT(value("veil_gateway_admissions_refused_total", "reason=\"other\"") ==
	       THREADS * ROUNDS / 20);
	EXPECT(value("veil_gateway_admissions_total", "") == THREADS * ROUNDS / 100);
	EXPECT(value("veil_gateway_reattestations_total", "result=\"ok\"") ==
	       THREADS * ROUNDS / 200);
	EXPECT(value("veil_gateway_reattestations_total", "result=\"failed\"") ==
	       THREADS * ROUNDS / 200);
	EXPECT(value("veil_gateway_removals_total", "") == THREADS * ROUNDS / 100);
	gw_metrics_free(m);
}

TEST(writer_cap_and_usage)
{
	gw_metrics *m = NULL;
	veil_writer w;

	REQUIRE(gw_metrics_new(&m) == VEIL_OK);
	veil_writer_init(&w, 1000);
	EXPECT_ERR(gw_metrics_text(m, 0, 0, &w), VEIL_E_LIMIT);
	veil_writer_clear(&w);
	veil_writer_init(&w, 1 << 20);
	EXPECT_ERR(gw_metrics_text(NULL, 0, 0, &w), VEIL_E_USAGE);
	EXPECT_ERR(gw_metrics_text(m, 0, 0, NULL), VEIL_E_USAGE);
	EXPECT_OK(gw_metrics_text(m, 0, 0, &w));
	EXPECT(w.len > 1000 && w.len < 64 * 1024);
	veil_writer_clear(&w);
	EXPECT_ERR(gw_metrics_new(NULL), VEIL_E_USAGE);
	EXPECT(gw_metrics_clock() > 0);
	gw_metrics_free(m);
}

int main(void)
{
	RUN(reader_refuses_broken_texts);
	RUN(text_of_fresh_metrics);
	RUN(histogram_buckets);
	RUN(refusal_reasons);
	RUN(out_of_range_not_counted);
	RUN(counts_from_threads_add_up);
	RUN(writer_cap_and_usage);
	return harness_finish("test_gateway_metrics");
}
