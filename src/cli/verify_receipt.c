/*
 * verify_receipt.c - `veil verify-receipt`: the offline check of one
 * answer's receipt against the worker's evidence (docs/receipt.md "How a
 * client checks one", docs/audit.md "veil verify-receipt").
 *
 * A receipt proves something only under a key the checker trusts, and the
 * only source of that key is the evidence: the bundle is verified first
 * (and, with --policy, appraised under it), its runtime data gives the
 * receipt key, the worker id and the model digest, and the receipt is
 * verified under that key and held against them, the SHA-256 of the bundle
 * bytes, and the digests of the request and response files given. Each
 * check is printed; the first that fails decides the exit code.
 *
 * Without --policy the bundle is only verified (genuine signatures,
 * certificate chains, bindings), and the output says so: nothing then
 * says that the workload, TCB or model is one the user accepts. With a
 * policy, evidence that fails the appraisal now but passes at the
 * receipt's own time (iat) is reported as stale, not refused: a receipt is
 * kept to be checked later, and the worker's published bundle only ages.
 *
 * Exit codes: 0 every check held; 1 a check failed (named); 2 usage or an
 * unreadable or malformed input file.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "veil/bundle.h"
#include "veil/client.h"
#include "veil/codec.h"
#include "veil/collateral.h"
#include "veil/crypto.h"
#include "veil/json.h"
#include "veil/limits.h"
#include "veil/timeutil.h"

#define SIM_ROOTS_MAX 8

typedef struct vr_opts {
	const char *receipt, *evidence, *request, *response, *policy;
	const char *sim_root[SIM_ROOTS_MAX];
	size_t nsim_root;
	bool stream;
} vr_opts;

/* What the checks need from the evidence. */
typedef struct vr_worker {
	char id[VEIL_CLIENT_ID_MAX + 1];
	char model_sha256[65];
	veil_jwk *key;
} vr_worker;

static void usage(FILE *out)
{
	fprintf(out,
		"usage: veil verify-receipt RECEIPT --evidence BUNDLE [--request FILE]\n"
		"                           [--response FILE] [--policy FILE] [--stream]\n"
		"                           [--sim-root FILE]\n"
		"\n"
		"Checks a response's receipt (a compact JWS, as in the X-Veil-Receipt header)\n"
		"against the worker's evidence bundle, the one the receipt names by digest: the\n"
		"bundle verifies (and, with --policy, satisfies the policy), the receipt is\n"
		"signed by the key the bundle binds, and it names this worker, this bundle,\n"
		"the model digest, and the SHA-256 of the request and response files given.\n"
		"  --stream         the response file is an event stream (also detected):\n"
		"                   its text digest is checked\n"
		"  --sim-root FILE  without --policy: trust this sim root (veil sim init's\n"
		"                   DIR/root.pem); repeatable\n"
		"Exit: 0 every check held, 1 a check failed (named), 2 usage or input.\n");
}

static int parse(int argc, char **argv, vr_opts *o)
{
	static const struct option longs[] = {
	    {"evidence", required_argument, NULL, 'e'}, {"request", required_argument, NULL, 'q'},
	    {"response", required_argument, NULL, 'r'}, {"policy", required_argument, NULL, 'p'},
	    {"stream", no_argument, NULL, 's'},         {"sim-root", required_argument, NULL, 'R'},
	    {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (ch) {
		case 'e':
			o->evidence = optarg;
			break;
		case 'q':
			o->request = optarg;
			break;
		case 'r':
			o->response = optarg;
			break;
		case 'p':
			o->policy = optarg;
			break;
		case 's':
			o->stream = true;
			break;
		case 'R':
			if (o->nsim_root == SIM_ROOTS_MAX) {
				fprintf(stderr, "veil verify-receipt: at most %d --sim-root\n",
					SIM_ROOTS_MAX);
				return CLI_EXIT_USAGE;
			}
			o->sim_root[o->nsim_root++] = optarg;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || o->evidence == NULL) {
		fprintf(stderr, "veil verify-receipt: one RECEIPT and --evidence are required\n");
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	o->receipt = argv[optind];
	if (o->policy != NULL && o->nsim_root > 0) {
		fprintf(stderr, "veil verify-receipt: --sim-root is for checks without --policy "
				"(the policy names its roots)\n");
		return CLI_EXIT_USAGE;
	}
	return CLI_EXIT_OK;
}

/* The first check that failed, for the closing message. */
static char first_failed[32];

static void line(const char *result, const char *check, const char *fmt, ...) VEIL_PRINTF(3, 4);
static void line(const char *result, const char *check, const char *fmt, ...)
{
	char detail[VEIL_ERR_DETAIL_MAX + 256];
	va_list ap;

	if (strcmp(result, "FAILED") == 0 && first_failed[0] == '\0')
		snprintf(first_failed, sizeof first_failed, "%s", check);
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	veil_text_sanitize(detail);
	printf("%-11s %-11s %s\n", result, check, detail);
}

/* Reads an input file; false (with the message) when it cannot be read. */
static bool read_input(const char *what, const char *path, size_t max, uint8_t **out, size_t *len)
{
	if (veil_file_read(path, max, out, len) == VEIL_OK)
		return true;
	fprintf(stderr, "veil verify-receipt: %s %s: %s\n", what, path, veil_err_detail());
	return false;
}

/* The worker description in the bundle's runtime data (docs/worker.md
 * "Evidence"). Only read here; it counts once the bundle verified. */
static veil_err read_worker(const uint8_t *bundle, size_t len, vr_worker *w)
{
	json_t *doc = NULL, *rd, *wk;
	const char *id, *digest;
	veil_err err;

	CHECK(veil_json_parse_max(bundle, len, VEIL_CLIENT_EVIDENCE_MAX, &doc));
	CHECK(veil_json_get_object(doc, "runtime_data", &rd));
	CHECK(veil_json_get_object(rd, "veil-worker", &wk));
	CHECK(veil_json_get_string(wk, "id", &id));
	CHECK(veil_json_get_string(wk, "model-sha256", &digest));
	CHECK_THAT(strlen(id) <= VEIL_CLIENT_ID_MAX && strlen(digest) == 64, VEIL_E_MALFORMED,
		   "veil-worker.id or model-sha256 has the wrong length");
	CHECK_THAT(json_object_get(rd, "tee-pubkey") != NULL, VEIL_E_MALFORMED,
		   "runtime_data has no tee-pubkey (the receipt key)");
	CHECK(veil_jwk_parse_public(json_object_get(rd, "tee-pubkey"), &w->key));
	snprintf(w->id, sizeof w->id, "%s", id);
	snprintf(w->model_sha256, sizeof w->model_sha256, "%s", digest);
out:
	json_decref(doc);
	return err;
}

/* Without a policy: genuine or not, under the given sim roots. */
static int verify_only(const vr_opts *o, const uint8_t *bundle, size_t len)
{
	veil_collateral roots_src;
	uint8_t(*roots)[32] = NULL;
	size_t nroots = 0;
	json_t *res = NULL;
	char failed[512];
	int rc = CLI_EXIT_USAGE;

	veil_collateral_init(&roots_src);
	for (size_t i = 0; i < o->nsim_root; i++)
		if (veil_collateral_add_file(&roots_src, o->sim_root[i]) != VEIL_OK) {
			fprintf(stderr, "veil verify-receipt: --sim-root %s: %s\n", o->sim_root[i],
				veil_err_detail());
			goto out;
		}
	if (cli_sim_roots_from(&roots_src, &roots, &nroots) != VEIL_OK) {
		fprintf(stderr, "veil verify-receipt: %s\n", veil_err_detail());
		goto out;
	}
	veil_verify_ctx ctx = {.at = veil_time_now(),
			       .sim_roots = (const uint8_t(*)[32])roots,
			       .sim_root_count = nroots};
	if (veil_bundle_verify(bundle, len, &ctx, &res) != VEIL_OK) {
		fprintf(stderr,
			"veil verify-receipt: --evidence %s is not an evidence bundle: %s\n",
			o->evidence, veil_err_detail());
		goto out;
	}
	if (!json_is_true(json_object_get(res, "verified"))) {
		veil_result_failed_checks(res, failed, sizeof failed);
		line("FAILED", "verify", "the evidence is not genuine (failed: %s)", failed);
		rc = CLI_EXIT_FAILED;
		goto out;
	}
	line("ok", "verify", "the evidence is genuine: signatures, certificate chains, bindings");
	line("note", "policy",
	     "NOT appraised: without --policy nothing says this workload, TCB, GPU state or "
	     "model is one you accept");
	rc = CLI_EXIT_OK;
out:
	json_decref(res);
	free(roots);
	veil_collateral_clear(&roots_src);
	return rc;
}

/* One field of the receipt against what is known (veil_receipt_check
 * with that field alone, so each gets its line). */
static bool field(const veil_receipt *r, const char *name, veil_receipt_expect want,
		  const char *what)
{
	if (veil_receipt_check(r, &want) != VEIL_OK) {
		line("FAILED", name, "%s", veil_err_detail());
		return false;
	}
	line("ok", name, "%s", what);
	return true;
}

static bool looks_like_sse(const uint8_t *p, size_t n)
{
	return (n >= 5 && memcmp(p, "data:", 5) == 0) || (n >= 1 && p[0] == ':') ||
	       (n >= 6 && memcmp(p, "event:", 6) == 0);
}

/* The response digest: of the bytes, or of a stream's text. */
static bool response_digest(const vr_opts *o, const uint8_t *p, size_t n, bool *stream,
			    uint8_t out[32])
{
	veil_sse *s = NULL;
	const char *embedded;
	bool done = false;
	veil_err err;

	*stream = o->stream || looks_like_sse(p, n);
	if (!*stream)
		return veil_sha256(p, n, out) == VEIL_OK;
	err = veil_sse_new(&s);
	if (err == VEIL_OK)
		err = veil_sse_feed(s, p, n, NULL, NULL);
	if (err == VEIL_OK)
		err = veil_sse_finish(s, &done, out, &embedded);
	veil_sse_free(s);
	if (err != VEIL_OK) {
		line("FAILED", "response", "the response is not a readable event stream: %s",
		     veil_err_detail());
		return false;
	}
	return true;
}

/* The evidence, judged under the policy: now, or else at the receipt's
 * time. *w is filled from the judged worker. */
static int judge(const veil_client_policy *p, const uint8_t *bundle, size_t len, const char *jws,
		 vr_worker *w)
{
	veil_client_worker cw = {0};
	veil_client_check check = VEIL_CHECK_NONE;
	veil_receipt r;
	char now_why[VEIL_ERR_DETAIL_MAX + 32];
	int64_t at = veil_time_now();

	if (veil_client_judge(p, bundle, len, NULL, 0, at, &cw, &check) == VEIL_OK) {
		line("ok", "policy", "worker %s: %s (%s, model %s, engine %s) under the policy",
		     cw.id, cw.ear_status, cw.tee, cw.model, cw.engine);
	} else {
		snprintf(now_why, sizeof now_why, "%s: %s", veil_client_check_name(check),
			 veil_err_detail());
		/* The receipt's time, from a receipt verified under the key
		 * the (verified, if unappraised) bundle binds. */
		if (read_worker(bundle, len, w) != VEIL_OK ||
		    veil_receipt_verify(w->key, jws, strlen(jws), &r) != VEIL_OK ||
		    veil_client_judge(p, bundle, len, NULL, 0, r.created, &cw, &check) != VEIL_OK) {
			line("FAILED", veil_client_check_name(check),
			     "the evidence is refused under the policy: %s", now_why);
			return CLI_EXIT_FAILED;
		}
		line("stale", "policy",
		     "worker %s: acceptable under the policy when the receipt was signed, not now "
		     "(%s)",
		     cw.id, now_why);
	}
	veil_jwk_free(w->key);
	w->key = cw.receipt_key;
	cw.receipt_key = NULL;
	snprintf(w->id, sizeof w->id, "%s", cw.id);
	snprintf(w->model_sha256, sizeof w->model_sha256, "%s", cw.model_sha256);
	veil_client_worker_clear(&cw);
	return CLI_EXIT_OK;
}

static int check_receipt(const vr_opts *o, const char *jws, const uint8_t *bundle, size_t blen,
			 const vr_worker *w, const uint8_t *req, size_t req_len,
			 const uint8_t *resp, size_t resp_len)
{
	veil_receipt r;
	uint8_t ev[32], model[32], rq[32], rs[32];
	size_t n = 0;
	bool ok = true, stream = false;
	char when[21];

	if (veil_receipt_verify(w->key, jws, strlen(jws), &r) != VEIL_OK) {
		line("FAILED", "receipt",
		     "not signed by the receipt key the evidence binds, or malformed: %s",
		     veil_err_detail());
		return CLI_EXIT_FAILED;
	}
	veil_time_format(r.created, when);
	line("ok", "receipt",
	     "signed by the evidence's receipt key: response %s, model %s, at %s, %" PRIu64
	     " + %" PRIu64 " tokens%s%s",
	     r.id, r.model, when, r.prompt_tokens, r.completion_tokens,
	     r.stream ? ", streamed" : "", r.ohttp ? ", end to end encrypted" : "");
	if (veil_sha256(bundle, blen, ev) != VEIL_OK ||
	    veil_hex_decode(w->model_sha256, 64, model, sizeof model, &n) != VEIL_OK) {
		line("FAILED", "receipt", "%s", veil_err_detail());
		return CLI_EXIT_FAILED;
	}
	ok &= field(&r, "worker", (veil_receipt_expect){.worker = w->id}, w->id);
	ok &= field(&r, "evidence", (veil_receipt_expect){.evidence = ev},
		    "names this bundle (its SHA-256)");
	ok &= field(&r, "model", (veil_receipt_expect){.model_digest = model},
		    "the model digest the evidence attests");
	if (req != NULL) {
		/* A digest that cannot be made is a failed check, never a
		 * skipped one. */
		if (veil_sha256(req, req_len, rq) != VEIL_OK) {
			line("FAILED", "request", "%s", veil_err_detail());
			return CLI_EXIT_FAILED;
		}
		ok &= field(&r, "request", (veil_receipt_expect){.request = rq},
			    "the SHA-256 of the request file");
	}
	if (resp != NULL) {
		if (!response_digest(o, resp, resp_len, &stream, rs))
			return CLI_EXIT_FAILED;
		ok &= field(&r, "response", (veil_receipt_expect){.response = rs},
			    stream ? "the digest of the stream's text"
				   : "the SHA-256 of the "
				     "response file");
		/* As the client core holds it (docs/receipt.md): a stream's
		 * digest is of its text, a whole answer's of its bytes, and the
		 * receipt says which it signed. */
		if (stream != r.stream) {
			line("FAILED", "response",
			     "the receipt says the answer was %sstreamed, the response file is %sa "
			     "stream",
			     r.stream ? "" : "not ", stream ? "" : "not ");
			ok = false;
		}
	}
	if (req == NULL || resp == NULL)
		line("note", "digests", "%s not checked: give --request and --response",
		     req == NULL && resp == NULL ? "request and response"
		     : req == NULL               ? "request"
						 : "response");
	return ok ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}

int cmd_verify_receipt(int argc, char **argv)
{
	vr_opts o = {0};
	vr_worker w = {0};
	veil_client_policy *policy = NULL;
	uint8_t *jws = NULL, *bundle = NULL, *req = NULL, *resp = NULL;
	size_t jws_len = 0, blen = 0, req_len = 0, resp_len = 0;
	int rc = parse(argc, argv, &o);

	if (rc != CLI_EXIT_OK)
		return rc < 0 ? CLI_EXIT_OK : rc;
	rc = CLI_EXIT_USAGE;
	if (o.policy != NULL && veil_client_policy_load(o.policy, &policy) != VEIL_OK) {
		fprintf(stderr, "veil verify-receipt: %s\n", veil_err_detail());
		goto out;
	}
	if (!read_input("receipt", o.receipt, VEIL_RECEIPT_MAX_BYTES + 64, &jws, &jws_len) ||
	    !read_input("--evidence", o.evidence, VEIL_CLIENT_EVIDENCE_MAX, &bundle, &blen) ||
	    (o.request != NULL &&
	     !read_input("--request", o.request, VEIL_VERIFY_RECEIPT_FILE_MAX, &req, &req_len)) ||
	    (o.response != NULL &&
	     !read_input("--response", o.response, VEIL_VERIFY_RECEIPT_FILE_MAX, &resp, &resp_len)))
		goto out;
	/* The receipt as saved: the JWS, perhaps with a line end. */
	while (jws_len > 0 && (jws[jws_len - 1] == '\n' || jws[jws_len - 1] == '\r' ||
			       jws[jws_len - 1] == ' ' || jws[jws_len - 1] == '\t'))
		jws[--jws_len] = '\0';
	if (strlen((const char *)jws) != jws_len) {
		fprintf(stderr, "veil verify-receipt: receipt %s holds a NUL byte\n", o.receipt);
		goto out;
	}
	if (policy != NULL) {
		rc = judge(policy, bundle, blen, (const char *)jws, &w);
	} else {
		rc = verify_only(&o, bundle, blen);
		if (rc == CLI_EXIT_OK && read_worker(bundle, blen, &w) != VEIL_OK) {
			line("FAILED", "runtime_data",
			     "the evidence describes no worker with a receipt key: %s",
			     veil_err_detail());
			rc = CLI_EXIT_FAILED;
		}
	}
	if (rc == CLI_EXIT_OK)
		rc = check_receipt(&o, (const char *)jws, bundle, blen, &w, req, req_len, resp,
				   resp_len);
	if (rc == CLI_EXIT_OK)
		fprintf(stderr, "veil verify-receipt: the receipt holds%s\n",
			policy == NULL ? " (evidence verified, not appraised)" : "");
	else if (rc == CLI_EXIT_FAILED)
		fprintf(stderr, "veil verify-receipt: FAILED: %s\n", first_failed);
out:
	veil_jwk_free(w.key);
	free(jws);
	free(bundle);
	free(req);
	free(resp);
	veil_client_policy_free(policy);
	return rc;
}
