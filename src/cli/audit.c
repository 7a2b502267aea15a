/*
 * audit.c - `veil audit`: checks, without trusting the gateway, that its
 * transparency log only ever grew, that what it logged about workers holds
 * up under the auditor's own policy, and that the workers it serves are
 * the ones its log shows (docs/audit.md).
 *
 * In order:
 *   1. head: GET /v1/log/sth, verified under the policy's log_key, its
 *      time near the auditor's clock (a gateway freezing its view would
 *      serve an old head);
 *   2. the attestation list (GET /v1/attestation), then a second head,
 *      which must extend the first: every entry and the list are checked
 *      against this second head;
 *   3. consistency: the head kept in --state by the last audit that passed
 *      must be extended by the new one (a smaller tree, an older head, a
 *      failing proof: the log rewrote its history; both heads prove it);
 *   4. entries and list (audit_log.c): a sample proven and re-judged, and
 *      every listed worker found in the log as itself, with the keys the
 *      list shows, not removed since;
 *   5. the new head goes to --state, only when all of that held, through
 *      a temporary file and a rename, so the file is never half written.
 *
 * Exit codes (docs/cli.md): 0 consistent, 1 an inconsistency (named), 2
 * usage or unreadable input (policy, state file), 3 the gateway could not
 * be asked.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/audit.h"
#include "cli/cli.h"
#include "veil/codec.h"
#include "veil/collateral.h"
#include "veil/json.h"
#include "veil/limits.h"
#include "veil/timeutil.h"

enum { EXIT_UNAVAILABLE = 3 };
#define AUDIT_SAMPLE_DEFAULT 8

typedef struct audit_opts {
	const char *gateway, *policy, *state, *api_key, *ca;
	size_t sample;
	bool json;
} audit_opts;

static void usage(FILE *out)
{
	fprintf(out,
		"usage: veil audit --gateway URL --policy FILE [--state FILE] [--sample N]\n"
		"                  [--json] [--api-key KEY] [--ca FILE]\n"
		"\n"
		"Checks a gateway's transparency log under the policy's log_key: the signed\n"
		"tree head, consistency with the head kept in --state by the last audit that\n"
		"passed, inclusion of a sample of entries (the newest, every entry the\n"
		"attestation list points at, random others), the sampled evidence under the\n"
		"policy, and that every worker the gateway serves is in the log as itself.\n"
		"  --state FILE   the head of the last audit that passed; the new one is\n"
		"                 written there when everything checked out\n"
		"  --sample N     entries to sample (default %d, at most %d)\n"
		"  --json         print one JSON object instead of the list of checks\n"
		"Exit: 0 consistent, 1 an inconsistency (named), 2 usage, 3 unavailable.\n",
		AUDIT_SAMPLE_DEFAULT, VEIL_AUDIT_SAMPLE_MAX);
}

static int parse(int argc, char **argv, audit_opts *o)
{
	static const struct option longs[] = {{"gateway", required_argument, NULL, 'g'},
					      {"policy", required_argument, NULL, 'p'},
					      {"state", required_argument, NULL, 's'},
					      {"sample", required_argument, NULL, 'n'},
					      {"json", no_argument, NULL, 'j'},
					      {"api-key", required_argument, NULL, 'k'},
					      {"ca", required_argument, NULL, 'c'},
					      {"help", no_argument, NULL, 'h'},
					      {NULL, 0, NULL, 0}};
	int ch;
	char *end;
	long v;

	o->sample = AUDIT_SAMPLE_DEFAULT;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (ch) {
		case 'g':
			o->gateway = optarg;
			break;
		case 'p':
			o->policy = optarg;
			break;
		case 's':
			o->state = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'k':
			o->api_key = optarg;
			break;
		case 'c':
			o->ca = optarg;
			break;
		case 'n':
			errno = 0;
			v = strtol(optarg, &end, 10); /* checked: errno, end, range */
			if (errno != 0 || end == optarg || *end != '\0' || v < 1 ||
			    v > VEIL_AUDIT_SAMPLE_MAX) {
				fprintf(stderr, "veil audit: --sample takes 1 to %d\n",
					VEIL_AUDIT_SAMPLE_MAX);
				return CLI_EXIT_USAGE;
			}
			o->sample = (size_t)v;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc || o->gateway == NULL || o->policy == NULL) {
		fprintf(stderr, "veil audit: --gateway and --policy are required%s\n",
			optind != argc ? ", and nothing else" : "");
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (o->api_key == NULL)
		o->api_key = getenv("VEIL_API_KEY");
	return CLI_EXIT_OK;
}

static const char *result_name(audit_result r)
{
	switch (r) {
	case AUDIT_OK:
		return "ok";
	case AUDIT_NOTE:
		return "note";
	case AUDIT_STALE:
		return "stale";
	case AUDIT_FAIL:
		return "FAILED";
	default:
		return "unavailable";
	}
}

void audit_record(audit_run *a, audit_result r, const char *check, const char *fmt, ...)
{
	char detail[VEIL_ERR_DETAIL_MAX + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	veil_text_sanitize(detail);
	a->failed += r == AUDIT_FAIL;
	a->stale += r == AUDIT_STALE;
	a->unavailable |= r == AUDIT_UNAVAILABLE;
	json_array_append_new(a->checks, json_pack("{s:s, s:s, s:s}", "check", check, "result",
						   r == AUDIT_FAIL ? "failed" : result_name(r),
						   "detail", detail));
	if (!a->json)
		printf("%-11s %-11s %s\n", result_name(r), check, detail);
}

/* ---- The kept head (--state) ---- */

/*
 * {"version": 1, "tree_size": N, "timestamp": MS, "root_hash": "<hex>",
 *  "sth": "<the signed head>"}. The signed head is what counts: it is
 * verified again under the policy's log_key (a head of another log fails
 * there), and the members beside it must be its own (an edited file fails
 * there). Returns a CLI exit code: OK with *have set or not, USAGE for a
 * file that cannot be read or is not this format, FAILED when the head
 * does not hold (recorded).
 */
static int state_load(audit_run *a, const char *path, veil_tlog_sth *kept, bool *have)
{
	static const char *const members[] = {"version",   "tree_size", "timestamp",
					      "root_hash", "sth",       NULL};
	const veil_jwk *key = veil_client_policy_log_key(a->policy);
	uint8_t *buf = NULL, root[32];
	size_t len = 0, rn = 0;
	json_t *j = NULL;
	const char *sth, *hex;
	int64_t version, size, ts;
	struct stat st;
	int rc = CLI_EXIT_USAGE;

	*have = false;
	if (stat(path, &st) != 0 && errno == ENOENT) {
		audit_record(a, AUDIT_NOTE, "state", "%s does not exist yet: a first audit", path);
		return CLI_EXIT_OK;
	}
	if (veil_file_read(path, VEIL_AUDIT_STATE_MAX, &buf, &len) != VEIL_OK ||
	    veil_json_parse(buf, len, &j) != VEIL_OK ||
	    veil_json_only_members(j, "the state file", members) != VEIL_OK ||
	    veil_json_get_int(j, "version", 1, 1, &version) != VEIL_OK ||
	    veil_json_get_int(j, "tree_size", 0, VEIL_TLOG_INT_MAX, &size) != VEIL_OK ||
	    veil_json_get_int(j, "timestamp", 0, VEIL_TLOG_INT_MAX, &ts) != VEIL_OK ||
	    veil_json_get_string(j, "root_hash", &hex) != VEIL_OK ||
	    veil_json_get_string(j, "sth", &sth) != VEIL_OK) {
		fprintf(stderr, "veil audit: --state %s: %s\n", path, veil_err_detail());
		goto out;
	}
	if (strlen(hex) != 64 || veil_hex_decode(hex, 64, root, sizeof root, &rn) != VEIL_OK) {
		fprintf(stderr, "veil audit: --state %s: root_hash is not 64 hex digits\n", path);
		goto out;
	}
	rc = CLI_EXIT_FAILED;
	if (veil_tlog_sth_verify(key, sth, strlen(sth), kept) != VEIL_OK) {
		audit_record(a, AUDIT_FAIL, "state",
			     "the head kept in %s does not verify under the policy's log_key "
			     "(a head of another log, or an altered file): %s",
			     path, veil_err_detail());
		goto out;
	}
	if ((uint64_t)size != kept->tree_size || ts != kept->timestamp_ms ||
	    memcmp(root, kept->root, 32) != 0) {
		audit_record(a, AUDIT_FAIL, "state",
			     "the head kept in %s says other values beside its signed head than "
			     "inside it (an altered file)",
			     path);
		goto out;
	}
	*have = true;
	rc = CLI_EXIT_OK;
out:
	json_decref(j);
	free(buf);
	return rc;
}

static veil_err state_save(const char *path, const veil_tlog_sth *h, const char *jws)
{
	char hex[65], *text;
	json_t *o;
	veil_err err;

	veil_hex_encode(h->root, 32, hex);
	o = json_pack("{s:i, s:I, s:I, s:s, s:s}", "version", 1, "tree_size",
		      (json_int_t)h->tree_size, "timestamp", (json_int_t)h->timestamp_ms,
		      "root_hash", hex, "sth", jws);
	ENSURE(o != NULL, VEIL_E_NOMEM, "out of memory");
	text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(o);
	ENSURE(text != NULL, VEIL_E_NOMEM, "out of memory");
	err = cli_write_file(path, text, strlen(text));
	free(text);
	return err;
}

/* ---- The run ---- */

static void head_text(const veil_tlog_sth *h, char *out, size_t cap)
{
	char when[21], hex[65];

	veil_time_format(h->timestamp_ms / 1000, when);
	veil_hex_encode(h->root, 32, hex);
	snprintf(out, cap, "%" PRIu64 " entries, root %.16s..., signed at %s", h->tree_size, hex,
		 when);
}

/* A head, verified; false (recorded) when there is none to go on with. */
static bool get_head(audit_run *a, const char *what, veil_tlog_sth *h, char **jws)
{
	veil_err err = veil_client_log_sth(a->client, h, jws);
	int64_t now_ms = veil_time_now() * 1000, skew = (int64_t)VEIL_AUDIT_CLOCK_SKEW_S * 1000;
	char text[160];

	if (err != VEIL_OK) {
		audit_record(a, err == VEIL_E_IO ? AUDIT_UNAVAILABLE : AUDIT_FAIL, "head", "%s: %s",
			     what, veil_err_detail());
		return false;
	}
	head_text(h, text, sizeof text);
	if (h->timestamp_ms < now_ms - skew || h->timestamp_ms > now_ms + skew) {
		audit_record(a, AUDIT_FAIL, "head",
			     "%s: %s, more than %d s from this machine's clock (a gateway "
			     "serving an old view, or a clock that is off)",
			     what, text, VEIL_AUDIT_CLOCK_SKEW_S);
		return false;
	}
	audit_record(a, AUDIT_OK, "head", "%s: %s, under the policy's log_key", what, text);
	return true;
}

/* GET /v1/attestation: the "data" array (new reference), or NULL
 * (recorded). */
static json_t *get_list(audit_run *a)
{
	veil_writer body;
	json_t *doc = NULL, *data = NULL;
	long status = 0;
	veil_err err;

	veil_writer_init(&body, VEIL_AUDIT_LIST_MAX);
	err = veil_client_get(a->client, "/v1/attestation", &status, &body);
	if (err != VEIL_OK) {
		audit_record(a, AUDIT_UNAVAILABLE, "list", "GET /v1/attestation: %s",
			     veil_err_detail());
		goto out;
	}
	if (status != 200) {
		audit_record(a, AUDIT_UNAVAILABLE, "list",
			     "GET /v1/attestation: the gateway answered %ld", status);
		goto out;
	}
	if (veil_json_parse_max(body.data, body.len, VEIL_AUDIT_LIST_MAX, &doc) != VEIL_OK ||
	    !json_is_array(json_object_get(doc, "data"))) {
		audit_record(a, AUDIT_FAIL, "list",
			     "the attestation list is not JSON with a \"data\" array");
		goto out;
	}
	/* Each item costs an entry read and proven: the count is capped at
	 * what a gateway admits, not at what its answer holds. */
	if (json_array_size(json_object_get(doc, "data")) > VEIL_GW_WORKERS_MAX) {
		audit_record(a, AUDIT_FAIL, "list",
			     "the attestation list holds %zu workers; a gateway admits at most %d",
			     json_array_size(json_object_get(doc, "data")), VEIL_GW_WORKERS_MAX);
		goto out;
	}
	data = json_incref(json_object_get(doc, "data"));
out:
	json_decref(doc);
	veil_writer_clear(&body);
	return data;
}

/* Everything after the kept head was read (have_kept: there is one). */
static void audit_checks(audit_run *a, const audit_opts *o, const veil_tlog_sth *kept,
			 bool have_kept, char **jws)
{
	veil_tlog_sth first;
	char *first_jws = NULL;
	json_t *list = NULL;
	veil_err err;

	if (!get_head(a, "before the list", &first, &first_jws))
		goto out;
	list = get_list(a);
	if (list == NULL)
		goto out;
	if (!get_head(a, "after the list", &a->head, jws))
		goto out;
	a->before_list = first.tree_size;
	a->list = list;
	err = veil_client_log_consistent(a->client, &first, &a->head);
	if (err != VEIL_OK) {
		audit_record(a, err == VEIL_E_IO ? AUDIT_UNAVAILABLE : AUDIT_FAIL, "consistency",
			     "the head after the list does not extend the one before it: %s",
			     veil_err_detail());
		goto out;
	}
	if (have_kept) {
		char text[160];
		head_text(kept, text, sizeof text);
		err = veil_client_log_consistent(a->client, kept, &a->head);
		if (err == VEIL_E_IO) {
			audit_record(a, AUDIT_UNAVAILABLE, "consistency", "%s", veil_err_detail());
			goto out;
		}
		if (err != VEIL_OK)
			audit_record(a, AUDIT_FAIL, "consistency",
				     "the log rewrote its history: the new head does not extend "
				     "the kept one (%s): %s",
				     text, veil_err_detail());
		else
			audit_record(a, AUDIT_OK, "consistency", "extends the kept head (%s)",
				     text);
	}
	audit_log_entries(a, o->sample);
	if (!a->unavailable)
		audit_log_list(a);
out:
	a->list = NULL;
	json_decref(list);
	free(first_jws);
}

int cmd_audit(int argc, char **argv)
{
	audit_opts o = {0};
	audit_run a = {0};
	veil_client_policy *policy = NULL;
	veil_tlog_sth kept = {0};
	bool have_kept = false, written = false;
	char *jws = NULL;
	int rc = parse(argc, argv, &o);

	if (rc != CLI_EXIT_OK)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if (veil_client_policy_load(o.policy, &policy) != VEIL_OK) {
		fprintf(stderr, "veil audit: %s\n", veil_err_detail());
		return CLI_EXIT_USAGE;
	}
	if (veil_client_policy_log_key(policy) == NULL) {
		fprintf(stderr,
			"veil audit: %s has no log_key (the public half of the gateway's "
			"--sth-key); the log cannot be checked without it\n",
			o.policy);
		veil_client_policy_free(policy);
		return CLI_EXIT_USAGE;
	}
	veil_client_config cfg = {
	    .gateway = o.gateway, .policy = policy, .api_key = o.api_key, .ca_file = o.ca};
	if (veil_client_new(&cfg, &a.client) != VEIL_OK) {
		fprintf(stderr, "veil audit: %s\n", veil_err_detail());
		veil_client_policy_free(policy);
		return CLI_EXIT_USAGE;
	}
	a.policy = policy;
	a.json = o.json;
	a.checks = json_array();
	if (a.checks == NULL) {
		rc = CLI_EXIT_FAILED;
		goto out;
	}
	if (o.state != NULL) {
		rc = state_load(&a, o.state, &kept, &have_kept);
		if (rc == CLI_EXIT_USAGE)
			goto out;
	}
	audit_checks(&a, &o, &kept, have_kept, &jws);
	if (a.failed == 0 && !a.unavailable && o.state != NULL && jws != NULL) {
		if (state_save(o.state, &a.head, jws) == VEIL_OK) {
			written = true;
			audit_record(&a, AUDIT_OK, "state", "kept the new head in %s", o.state);
		} else {
			/* The audit passed; only the file could not be written. */
			fprintf(stderr, "veil audit: --state: %s\n", veil_err_detail());
		}
	}
	rc = a.failed > 0 ? CLI_EXIT_FAILED : a.unavailable ? EXIT_UNAVAILABLE : CLI_EXIT_OK;
	if (o.json) {
		json_t *out =
		    json_pack("{s:s, s:b, s:O, s:i, s:i, s:b}", "gateway", o.gateway, "consistent",
			      rc == CLI_EXIT_OK, "checks", a.checks, "failed", (int)a.failed,
			      "stale", (int)a.stale, "state_written", written);
		if (out != NULL && a.head.tree_size > 0) {
			char hex[65];
			veil_hex_encode(a.head.root, 32, hex);
			json_object_set_new(out, "head",
					    json_pack("{s:I, s:I, s:s}", "tree_size",
						      (json_int_t)a.head.tree_size, "timestamp",
						      (json_int_t)a.head.timestamp_ms, "root_hash",
						      hex));
		}
		if (out != NULL)
			cli_print_json(out);
		json_decref(out);
	}
	if (rc == CLI_EXIT_OK)
		fprintf(stderr, "veil audit: consistent (%zu checks%s)\n",
			json_array_size(a.checks), a.stale > 0 ? "; stale evidence noted" : "");
	else if (rc == CLI_EXIT_FAILED)
		fprintf(stderr, "veil audit: INCONSISTENT: %u check%s failed\n", a.failed,
			a.failed == 1 ? "" : "s");
	else if (rc == EXIT_UNAVAILABLE)
		fprintf(stderr, "veil audit: the gateway could not be asked; nothing was "
				"concluded\n");
out:
	audit_log_clear(&a);
	json_decref(a.checks);
	free(jws);
	veil_client_free(a.client);
	veil_client_policy_free(policy);
	return rc;
}
