/*
 * test_guest_kbs.c - the guest's KBS client in process: what it refuses
 * before any exchange, how it retries a broker that is not there, and the
 * words it finds for a refusal (src/guest/refusal.c).
 *
 * The whole handshake against a real veil-kbs (released, refused by policy,
 * evidence refused, 404, a broker that starts late, 5xx and 429) is
 * tests/cli/guest_fetch.sh. Here: the resource path rule, the retry loop
 * against a port nobody listens on (with and without a deadline, and the
 * backoff each retry reports), and the refusal messages from brokers'
 * ErrorInformation bodies and EAR tokens made by hand, malformed ones
 * included, since both come from the network.
 */
#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "guest/guest_internal.h"
#include "harness.h"
#include "veil/codec.h"
#include "veil/timeutil.h"

static char base[64], sim[128], url[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A token "h.<base64url(payload)>.s" (new string). */
static char *token_for(const char *payload)
{
	size_t n = strlen(payload), m = veil_base64url_encoded_len(n);
	char *t = malloc(m + 16); /* "eyJ0." + payload + ".sig" + NUL */

	memcpy(t, "eyJ0.", 5);
	veil_base64url_encode((const uint8_t *)payload, n, t + 5);
	memcpy(t + 5 + m, ".sig", 5);
	return t;
}

static void summary_of(const char *payload, char *out, size_t len)
{
	char *t = token_for(payload);
	guest_ear_summary(t, out, len);
	free(t);
}

TEST(ear_summary_names_statuses_reasons_and_policy)
{
	char out[512];

	summary_of(
	    "{\"submods\": {\"cpu0\": {\"ear.status\": \"contraindicated\", "
	    "\"ear.appraisal-policy-id\": \"p1\", \"veil.reasons\": ["
	    "{\"claim\": \"executables\", \"value\": 96, \"why\": \"measurement ab not in "
	    "set w\"}, {\"claim\": \"hardware\", \"value\": 2, \"why\": \"a note\"}, "
	    "{\"claim\": \"configuration\", \"value\": 32, \"why\": \"debug allowed\"}]}, "
	    "\"gpu0\": {\"ear.status\": \"affirming\", \"ear.appraisal-policy-id\": \"p1\", "
	    "\"veil.reasons\": [{\"claim\": \"hardware\", \"value\": 96, \"why\": \"x\"}]}}}",
	    out, sizeof out);
	EXPECT(strcmp(out,
		      "cpu0: contraindicated (executables: measurement ab not in set w; "
		      "configuration: debug allowed), gpu0: affirming; appraisal policy p1") == 0);
	/* An EAR without Veil's reasons: the vector's claims that explain. */
	summary_of("{\"submods\": {\"cpu0\": {\"ear.status\": \"warning\", "
		   "\"ear.appraisal-policy-id\": \"default_cpu\", \"ear.trustworthiness-vector\": "
		   "{\"instance-identity\": 2, \"executables\": 33, \"hardware\": -97}}}}",
		   out, sizeof out);
	EXPECT(strcmp(out, "cpu0: warning (executables 33, hardware -97); appraisal policy "
			   "default_cpu") == 0);
	/* No status, no policy, control characters from the broker. */
	summary_of("{\"submods\": {\"cpu0\": {\"veil.reasons\": [{\"claim\": \"executables\", "
		   "\"value\": 97, \"why\": \"line\\nbreak\\u001b[31m\"}]}}}",
		   out, sizeof out);
	EXPECT(strcmp(out, "cpu0: no status (executables: line?break?[31m)") == 0);
}

TEST(ear_summary_is_bounded)
{
	static char payload[65536];
	char out[200];
	size_t n = 0;

	n += (size_t)snprintf(payload + n, sizeof payload - n, "{\"submods\": {");
	for (int i = 0; i < 60; i++)
		n += (size_t)snprintf(payload + n, sizeof payload - n,
				      "%s\"gpu%d\": {\"ear.status\": \"contraindicated\", "
				      "\"veil.reasons\": [{\"claim\": \"hardware\", \"value\": 96, "
				      "\"why\": \"%0300d\"}]}",
				      i > 0 ? ", " : "", i, 0);
	snprintf(payload + n, sizeof payload - n, "}}");
	summary_of(payload, out, sizeof out);
	EXPECT(strlen(out) == sizeof out - 1);
	EXPECT(strcmp(out + sizeof out - 4, "...") == 0);
	EXPECT(strncmp(out, "gpu0: contraindicated (hardware: 000", 36) == 0);
	/* One reason's text is cut well before the whole. */
	char big[1024];
	summary_of(payload, big, sizeof big);
	EXPECT(strstr(big, "gpu1: contraindicated") != NULL);
}

TEST(ear_summary_of_what_is_no_token)
{
	static const char *const bad[] = {"", "abc", "a.b", "a.!!!.c", "a..c"};
	static const char *const payloads[] = {
	    "[]", "not json", "{\"submods\": []}", "{\"submods\": {}}", "{}", "\"x\""};
	char out[128];

	guest_ear_summary(NULL, out, sizeof out);
	EXPECT(out[0] == '\0');
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memcpy(out, "junk", 5);
		guest_ear_summary(bad[i], out, sizeof out);
		EXPECT(out[0] == '\0');
	}
	for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
		memcpy(out, "junk", 5);
		summary_of(payloads[i], out, sizeof out);
		EXPECT(out[0] == '\0');
	}
	/* A submodule that is not an object still has a name and no status. */
	summary_of("{\"submods\": {\"cpu0\": 5}}", out, sizeof out);
	EXPECT(strcmp(out, "cpu0: no status") == 0);
}

static void detail_of(const char *body, char *out, size_t len)
{
	guest_reply r = {403, (const uint8_t *)body, body != NULL ? strlen(body) : 0};
	guest_broker_detail(&r, out, len);
}

TEST(broker_detail)
{
	char out[300], big[1000];

	detail_of(
	    "{\"type\": \"https://github.com/confidential-containers/kbs/errors/PolicyDeny\", "
	    "\"detail\": \"a/b/c is not released\\n\"}",
	    out, sizeof out);
	EXPECT(strcmp(out, "a/b/c is not released?") == 0);
	detail_of("<html>Bad Gateway</html>", out, sizeof out);
	EXPECT(strcmp(out, "<html>Bad Gateway</html>") == 0);
	detail_of("{\"detail\": 5}", out, sizeof out);
	EXPECT(strcmp(out, "{\"detail\": 5}") == 0);
	detail_of("", out, sizeof out);
	EXPECT(out[0] == '\0');
	detail_of(NULL, out, sizeof out);
	EXPECT(out[0] == '\0');
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	detail_of(big, out, sizeof out);
	EXPECT(strlen(out) == 240);
	detail_of(big, out, 10);
	EXPECT(strlen(out) == 9);
}

static veil_guest *open_sim(void)
{
	veil_guest_config c = {.tee = "sim", .sim_dir = sim, .gpus = "none"};
	veil_guest *g = NULL;

	if (veil_guest_open(&c, &g) != VEIL_OK)
		fprintf(stderr, "veil_guest_open: %s\n", veil_err_detail());
	return g;
}

TEST(fetch_refuses_bad_parameters)
{
	static const char *const paths[] = {"a/b",   "a/b/c/d", "../b/c", "a/../c",  "a//c",
					    "a/b/",  "/a/b/c",  ".a/b/c", "a/b/c?x", "a b/c/d",
					    "a/b/%", "a/b/c#",  ""};
	veil_guest *g = open_sim();
	veil_kbs_fetch_params p = {.url = url, .resource = "default/model/key"};
	uint8_t *v = NULL;
	size_t n = 0;
	char long_path[400];

	REQUIRE(g != NULL);
	EXPECT_ERR(veil_guest_kbs_fetch(NULL, &p, &v, &n), VEIL_E_USAGE);
	EXPECT_ERR(veil_guest_kbs_fetch(g, NULL, &v, &n), VEIL_E_USAGE);
	EXPECT_ERR(veil_guest_kbs_fetch(g, &p, NULL, &n), VEIL_E_USAGE);
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		p.resource = paths[i];
		EXPECT_ERR(veil_guest_kbs_fetch(g, &p, &v, &n), VEIL_E_USAGE);
		EXPECT(v == NULL && n == 0);
	}
	memset(long_path, 'a', sizeof long_path - 1);
	long_path[sizeof long_path - 1] = '\0';
	long_path[1] = '/';
	long_path[3] = '/';
	p.resource = long_path;
	EXPECT_ERR(veil_guest_kbs_fetch(g, &p, &v, &n), VEIL_E_USAGE);
	p.resource = NULL;
	EXPECT_ERR(veil_guest_kbs_fetch(g, &p, &v, &n), VEIL_E_USAGE);
	p = (veil_kbs_fetch_params){.url = NULL, .resource = "a/b/c"};
	EXPECT_ERR(veil_guest_kbs_fetch(g, &p, &v, &n), VEIL_E_USAGE);
	p.url = "";
	EXPECT_ERR(veil_guest_kbs_fetch(g, &p, &v, &n), VEIL_E_USAGE);
	p.url = url;
	p.deadline_ms = -1;
	EXPECT_ERR(veil_guest_kbs_fetch(g, &p, &v, &n), VEIL_E_USAGE);
	p.deadline_ms = 0;
	p.url = "ftp://127.0.0.1/";
	EXPECT_ERR(veil_guest_kbs_fetch(g, &p, &v, &n), VEIL_E_USAGE); /* not retried */
	veil_guest_free(g);
}

typedef struct retries {
	unsigned calls, last_attempt;
	long waits[64];
	bool in_order;
} retries;

static void on_retry(void *user, unsigned attempt, long wait_ms, const char *why)
{
	retries *r = user;

	r->in_order = (r->calls == 0 || r->in_order) && attempt == r->calls + 1 &&
		      strstr(why, "/kbs/v0/auth") != NULL;
	if (r->calls < 64)
		r->waits[r->calls] = wait_ms;
	r->calls++;
	r->last_attempt = attempt;
}

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (long)((t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000);
}

TEST(fetch_retries_until_the_deadline)
{
	veil_guest *g = open_sim();
	retries r = {0};
	veil_kbs_fetch_params p = {
	    .url = url, .resource = "default/model/key", .on_retry = on_retry, .user = &r};
	uint8_t *v = NULL;
	size_t n = 0;
	struct timespec t0;
	long took;

	REQUIRE(g != NULL);
	/* Deadline 0: one try, the network error as it is. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT_ERR(veil_guest_kbs_fetch(g, &p, &v, &n), VEIL_E_IO);
	EXPECT(elapsed_ms(&t0) < 2000);
	EXPECT(r.calls == 0);
	EXPECT(strstr(veil_err_detail(), "POST /kbs/v0/auth") != NULL);
	EXPECT(strstr(veil_err_detail(), "gave up") == NULL);
	/* 900 ms: 250 ms doubling, each halved to half-plus-jitter, the last
	 * wait cut to what is left. */
	p.deadline_ms = 900;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT_ERR(veil_guest_kbs_fetch(g, &p, &v, &n), VEIL_E_IO);
	took = elapsed_ms(&t0);
	EXPECT(took >= 850 && took < 3000);
	EXPECT(v == NULL && n == 0);
	EXPECT(r.calls >= 2 && r.in_order);
	EXPECT(r.waits[0] >= 125 && r.waits[0] <= 250);
	EXPECT(r.waits[1] > 0 && r.waits[1] <= 500);
	long sum = 0;
	for (unsigned i = 0; i < r.calls && i < 64; i++)
		sum += r.waits[i];
	EXPECT(sum <= 900);
	EXPECT(strncmp(veil_err_detail(), "gave up after ", 14) == 0);
	EXPECT(strstr(veil_err_detail(), "POST /kbs/v0/auth") != NULL);
	veil_guest_free(g);
}

int main(void)
{
	int fd;
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof a;

	snprintf(base, sizeof base, "/tmp/veil-guest-kbs-XXXXXX");
	if (mkdtemp(base) == NULL)
		return 2;
	snprintf(sim, sizeof sim, "%s/sim", base);
	if (veil_sim_init(sim, 0, veil_time_now()) != VEIL_OK)
		return 2;
	/* A loopback port that was free a moment ago: nobody listens there. */
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) != 0)
		return 2;
	snprintf(url, sizeof url, "http://127.0.0.1:%u", ntohs(a.sin_port));
	close(fd);

	RUN(ear_summary_names_statuses_reasons_and_policy);
	RUN(ear_summary_is_bounded);
	RUN(ear_summary_of_what_is_no_token);
	RUN(broker_detail);
	RUN(fetch_refuses_bad_parameters);
	RUN(fetch_retries_until_the_deadline);
	(void)nftw(base, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return harness_finish("test_guest_kbs");
}
