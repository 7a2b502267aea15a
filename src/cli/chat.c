/*
 * chat.c - `veil chat`: talk to a model on an attested worker, end to end
 * encrypted, with every answer's receipt verified (docs/client.md "veil
 * chat").
 *
 * Before the first prompt leaves this machine, the client core verifies
 * the worker's evidence under the user's policy; the prompt is then sealed
 * to the OHTTP key that evidence binds, so the gateway and the host carry
 * it without reading it. An answer is shown as it streams, but it counts
 * only when its receipt verified at the end: a refused worker, an answer
 * that does not open, or a failed receipt is an error (exit 1), never a
 * warning.
 *
 * Exit codes: 0 verified answer; 1 a trust check failed (the message
 * names it); 2 usage; 3 unavailable (gateway unreachable, no worker for
 * the model, the gateway's own error); 4 the worker refused the request
 * (an API error, whose receipt verified).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "veil/appraisal.h"
#include "veil/client.h"
#include "veil/json.h"
#include "veil/secret.h"

enum { EXIT_UNAVAILABLE = 3, EXIT_REFUSED = 4 };
#define PROMPT_MAX (1u << 20)

typedef struct chat_opts {
	const char *gateway, *policy, *model, *prompt, *api_key, *ca, *save;
	bool stream, show, logged, json;
	long max_tokens;
	double temperature;
	bool has_temperature;
} chat_opts;

typedef struct chat_turn {
	chat_opts *o;
	veil_writer text; /* the answer's text */
	veil_writer sse;  /* a stream's events, as received, for --save */
	json_t *usage;
} chat_turn;

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: veil chat --gateway URL --policy FILE [--model M] [--stream]\n"
	    "                 [--prompt TEXT] [--show-attestation] [--api-key KEY] [--ca FILE]\n"
	    "                 [--logged] [--max-tokens N] [--temperature T] [--save DIR] [--json]\n"
	    "\n"
	    "Sends a prompt (--prompt, else standard input; interactive on a terminal) to a\n"
	    "worker whose evidence satisfies the policy, encrypted end to end (Oblivious\n"
	    "HTTP), and verifies the answer's receipt.\n"
	    "  --api-key KEY   the gateway's API key (or VEIL_API_KEY)\n"
	    "  --logged        take evidence from the gateway's log (needs log_key)\n"
	    "  --save DIR      keep request.json, response, receipt.jws, evidence.json\n"
	    "                  for veil verify-receipt\n"
	    "  --json          print one JSON object per answer instead of the text\n"
	    "Exit: 0 verified answer, 1 a check failed, 2 usage, 3 unavailable,\n"
	    "      4 the worker refused the request.\n");
}

static int exit_for(veil_client_check check)
{
	switch (check) {
	case VEIL_CHECK_FETCH:
	case VEIL_CHECK_UNAVAILABLE:
	case VEIL_CHECK_TRANSPORT:
		return EXIT_UNAVAILABLE;
	default:
		return CLI_EXIT_FAILED;
	}
}

static bool on_event(void *user, const char *data, size_t len)
{
	chat_turn *t = user;
	json_t *doc = NULL, *choice, *u;
	const char *s;

	if (veil_writer_puts(&t->sse, "data: ") != VEIL_OK ||
	    veil_writer_put(&t->sse, data, len) != VEIL_OK ||
	    veil_writer_puts(&t->sse, "\n\n") != VEIL_OK)
		return false;
	/* Generated text may hold U+0000 (a NUL token); the core's reader
	 * took the event, so show what fputs can. */
	doc = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	if (doc == NULL)
		return true;
	choice = json_array_get(json_object_get(doc, "choices"), 0);
	s = json_string_value(json_object_get(json_object_get(choice, "delta"), "content"));
	if (s == NULL)
		s = json_string_value(json_object_get(choice, "text"));
	if (s != NULL) {
		if (veil_writer_puts(&t->text, s) != VEIL_OK) {
			json_decref(doc);
			return false;
		}
		if (!t->o->json) {
			fputs(s, stdout);
			fflush(stdout);
		}
	}
	u = json_object_get(doc, "usage");
	if (json_is_object(u)) {
		json_decref(t->usage);
		t->usage = json_incref(u);
	}
	json_decref(doc);
	return true;
}

static void show_attestation(const veil_client_worker *w)
{
	fprintf(stderr,
		"veil: attestation of worker %s\n"
		"  tee           %s\n"
		"  model         %s\n"
		"  model sha256  %s\n"
		"  engine        %s\n"
		"  receipt key   %s\n"
		"  evidence      sha256 %02x%02x%02x%02x... %s\n"
		"  appraisal     %s\n",
		w->id, w->tee, w->model, w->model_sha256, w->engine, w->receipt_kid,
		w->bundle_sha256[0], w->bundle_sha256[1], w->bundle_sha256[2], w->bundle_sha256[3],
		w->log_index >= 0 ? "(logged)" : "(published, and fresh for this client's nonce)",
		w->ear_status);
	if (w->ear != NULL) {
		char *s = json_dumps(w->ear, JSON_INDENT(2) | JSON_SORT_KEYS);
		if (s != NULL)
			fprintf(stderr, "%s\n", s);
		free(s);
	}
}

static veil_err save_one(const char *dir, const char *name, const void *p, size_t n)
{
	char path[4096];

	ENSURE((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) < sizeof path, VEIL_E_USAGE,
	       "--save path too long");
	return cli_write_file(path, p, n);
}

/* body: the request exactly as sent, whose digest the receipt holds. */
static veil_err save(const chat_opts *o, const veil_client_worker *w, const char *body,
		     const veil_client_result *res, const chat_turn *t)
{
	veil_err err;

	if (mkdir(o->save, 0700) != 0 && errno != EEXIST)
		return veil_fail(VEIL_E_IO, "cannot create %s: %s", o->save, strerror(errno));
	err = save_one(o->save, "request.json", body, strlen(body));
	if (err == VEIL_OK)
		err = res->stream ? save_one(o->save, "response", t->sse.data, t->sse.len)
				  : save_one(o->save, "response", res->body.data, res->body.len);
	if (err == VEIL_OK && res->receipt_jws != NULL)
		err = save_one(o->save, "receipt.jws", res->receipt_jws, strlen(res->receipt_jws));
	if (err == VEIL_OK)
		err = save_one(o->save, "evidence.json", w->bundle, w->bundle_len);
	return err;
}

/* The text of a whole answer (chat or completion). */
static void whole_answer(chat_turn *t, const veil_client_result *res)
{
	json_t *doc = NULL, *choice;
	const char *s = NULL;

	doc = json_loadb((const char *)res->body.data, res->body.len,
			 JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	if (doc == NULL)
		return;
	choice = json_array_get(json_object_get(doc, "choices"), 0);
	s = json_string_value(json_object_get(json_object_get(choice, "message"), "content"));
	if (s == NULL)
		s = json_string_value(json_object_get(json_object_get(doc, "error"), "message"));
	if (s != NULL && veil_writer_puts(&t->text, s) == VEIL_OK && !t->o->json) {
		if (res->status >= 400)
			fprintf(stderr, "veil chat: the worker answered %d: %s\n", res->status, s);
		else
			fputs(s, stdout);
	}
	if (json_is_object(json_object_get(doc, "usage")))
		t->usage = json_incref(json_object_get(doc, "usage"));
	json_decref(doc);
}

static void print_json(const veil_client_worker *w, const veil_client_result *res,
		       const chat_turn *t)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:b, s:s%, s:s, s:O?}", "worker", w->id,
			      "tee", w->tee, "evidence", w->ear_status, "model", w->model, "status",
			      res->status, "receipt_verified", res->receipt_ok, "text",
			      t->text.data != NULL ? (const char *)t->text.data : "", t->text.len,
			      "receipt", res->receipt_jws != NULL ? res->receipt_jws : "", "usage",
			      t->usage);
	if (o != NULL)
		cli_print_json(o);
	json_decref(o);
}

/* One prompt: pick, send, verify. Appends the answer to the history. */
static int turn(veil_client *c, chat_opts *o, json_t *messages)
{
	const veil_client_worker *w = NULL;
	veil_client_result res = {0};
	veil_client_check check;
	chat_turn t = {.o = o};
	json_t *req;
	char *body = NULL;
	int rc = CLI_EXIT_OK;
	veil_err err;

	if (veil_client_pick(c, o->model, &w, &check) != VEIL_OK) {
		fprintf(stderr, "veil chat: refused (%s): %s\n", veil_client_check_name(check),
			veil_err_detail());
		return exit_for(check);
	}
	if (o->show)
		show_attestation(w);
	req = json_pack("{s:s, s:O}", "model", w->model, "messages", messages);
	if (req != NULL && o->max_tokens > 0)
		json_object_set_new(req, "max_tokens", json_integer(o->max_tokens));
	if (req != NULL && o->has_temperature)
		json_object_set_new(req, "temperature", json_real(o->temperature));
	if (req != NULL && o->stream) {
		json_object_set_new(req, "stream", json_true());
		json_object_set_new(req, "stream_options", json_pack("{s:b}", "include_usage", 1));
	}
	body = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
	if (body == NULL) {
		fprintf(stderr, "veil chat: out of memory\n");
		rc = CLI_EXIT_FAILED;
		goto out;
	}
	veil_writer_init(&t.text, 16u << 20);
	veil_writer_init(&t.sse, 16u << 20);
	veil_client_cb cb = {.on_event = on_event, .user = &t};
	err = veil_client_request(c, w, "POST", "/v1/chat/completions", (const uint8_t *)body,
				  strlen(body), &cb, &res);
	if (err != VEIL_OK) {
		if (!o->json && t.text.len > 0)
			fputc('\n', stdout);
		fprintf(stderr, "veil chat: worker %s: %s check failed: %s\n", w->id,
			veil_client_check_name(res.check), veil_err_detail());
		/* Its answers cannot be trusted: verify again next time. */
		veil_client_forget(c, w->id);
		rc = exit_for(res.check);
		goto out;
	}
	if (!res.stream)
		whole_answer(&t, &res);
	if (o->json)
		print_json(w, &res, &t);
	else if (t.text.len > 0 && res.status < 400)
		fputc('\n', stdout);
	fflush(stdout);
	fprintf(stderr, "veil: worker %s (%s, %s): receipt verified%s\n", w->id, w->tee,
		w->ear_status, res.status >= 400 ? " (the worker refused the request)" : "");
	if (o->save != NULL &&
	    ((res.stream && veil_writer_puts(&t.sse, "data: [DONE]\n\n") != VEIL_OK) ||
	     save(o, w, body, &res, &t) != VEIL_OK)) {
		fprintf(stderr, "veil chat: --save: %s\n", veil_err_detail());
		rc = CLI_EXIT_FAILED;
		goto out;
	}
	if (res.status >= 400) {
		rc = EXIT_REFUSED;
	} else if (t.text.data != NULL) {
		json_array_append_new(messages,
				      json_pack("{s:s, s:s%}", "role", "assistant", "content",
						(const char *)t.text.data, t.text.len));
	}
out:
	if (body != NULL) /* the whole conversation */
		veil_free_secret(body, strlen(body));
	json_decref(req);
	json_decref(t.usage);
	veil_writer_clear(&t.text);
	veil_writer_clear(&t.sse);
	veil_client_result_clear(&res);
	veil_client_release(c, w);
	return rc;
}

/* Standard input into w (NUL-terminated), which the caller clears: the
 * prompt is wiped with it. */
static veil_err read_prompt(FILE *in, veil_writer *w)
{
	char buf[4096];
	size_t n;
	veil_err err = VEIL_OK;

	while (err == VEIL_OK && (n = fread(buf, 1, sizeof buf, in)) > 0)
		err = veil_writer_put(w, buf, n);
	veil_wipe(buf, sizeof buf);
	TRY(err);
	ENSURE(!ferror(in), VEIL_E_IO, "cannot read standard input");
	return veil_writer_putc(w, '\0');
}

/* Adds the user's turn; false (said) when it cannot be a JSON string. */
static bool add_user(json_t *messages, const char *text)
{
	json_t *m = json_pack("{s:s, s:s}", "role", "user", "content", text);

	if (m == NULL || json_array_append_new(messages, m) != 0) {
		fprintf(stderr, "veil chat: the prompt is not UTF-8 text (or out of memory)\n");
		return false;
	}
	return true;
}

static int interactive(veil_client *c, chat_opts *o, json_t *messages)
{
	char line[8192];
	int rc = CLI_EXIT_OK;

	fprintf(stderr, "veil chat: an empty line or end of input ends the chat\n");
	for (;;) {
		fprintf(stderr, "> ");
		if (fgets(line, sizeof line, stdin) == NULL)
			break;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0')
			break;
		if (!add_user(messages, line)) {
			rc = CLI_EXIT_USAGE;
			break;
		}
		rc = turn(c, o, messages);
		if (rc != CLI_EXIT_OK && rc != EXIT_REFUSED)
			break;
	}
	veil_wipe(line, sizeof line);
	return rc;
}

static int parse(int argc, char **argv, chat_opts *o)
{
	static const struct option longs[] = {{"gateway", required_argument, NULL, 'g'},
					      {"policy", required_argument, NULL, 'p'},
					      {"model", required_argument, NULL, 'm'},
					      {"stream", no_argument, NULL, 's'},
					      {"prompt", required_argument, NULL, 'P'},
					      {"show-attestation", no_argument, NULL, 'A'},
					      {"api-key", required_argument, NULL, 'k'},
					      {"ca", required_argument, NULL, 'c'},
					      {"logged", no_argument, NULL, 'l'},
					      {"max-tokens", required_argument, NULL, 'n'},
					      {"temperature", required_argument, NULL, 't'},
					      {"save", required_argument, NULL, 'S'},
					      {"json", no_argument, NULL, 'j'},
					      {"help", no_argument, NULL, 'h'},
					      {NULL, 0, NULL, 0}};
	int ch;
	char *end;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (ch) {
		case 'g':
			o->gateway = optarg;
			break;
		case 'p':
			o->policy = optarg;
			break;
		case 'm':
			o->model = optarg;
			break;
		case 's':
			o->stream = true;
			break;
		case 'P':
			o->prompt = optarg;
			break;
		case 'A':
			o->show = true;
			break;
		case 'k':
			o->api_key = optarg;
			break;
		case 'c':
			o->ca = optarg;
			break;
		case 'l':
			o->logged = true;
			break;
		case 'S':
			o->save = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'n':
			errno = 0;
			o->max_tokens = strtol(optarg, &end, 10); /* checked: errno, end, range */
			if (errno != 0 || *end != '\0' || o->max_tokens < 1 ||
			    o->max_tokens > 1000000) {
				fprintf(stderr, "veil chat: --max-tokens takes 1 to 1000000\n");
				return CLI_EXIT_USAGE;
			}
			break;
		case 't':
			errno = 0;
			o->temperature = strtod(optarg, &end);
			if (errno != 0 || *end != '\0' ||
			    !(o->temperature >= 0 && o->temperature <= 2)) {
				fprintf(stderr, "veil chat: --temperature takes 0 to 2\n");
				return CLI_EXIT_USAGE;
			}
			o->has_temperature = true;
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
		fprintf(stderr, "veil chat: --gateway and --policy are required%s\n",
			optind != argc ? ", and nothing else" : "");
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (o->api_key == NULL)
		o->api_key = getenv("VEIL_API_KEY");
	return CLI_EXIT_OK;
}

int cmd_chat(int argc, char **argv)
{
	chat_opts o = {0};
	veil_client_policy *policy = NULL;
	veil_client *c = NULL;
	json_t *messages = json_array();
	veil_writer input;
	char *prompt = NULL;
	int rc = parse(argc, argv, &o);

	if (rc != CLI_EXIT_OK || messages == NULL) {
		json_decref(messages);
		return rc < 0 ? CLI_EXIT_OK : rc == CLI_EXIT_OK ? CLI_EXIT_FAILED : rc;
	}
	veil_writer_init(&input, PROMPT_MAX);
	if (veil_client_policy_load(o.policy, &policy) != VEIL_OK) {
		fprintf(stderr, "veil chat: %s\n", veil_err_detail());
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	veil_client_config cfg = {.gateway = o.gateway,
				  .policy = policy,
				  .api_key = o.api_key,
				  .ca_file = o.ca,
				  .logged = o.logged};
	if (veil_client_new(&cfg, &c) != VEIL_OK) {
		fprintf(stderr, "veil chat: %s\n", veil_err_detail());
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	if (o.prompt == NULL && isatty(STDIN_FILENO)) {
		rc = interactive(c, &o, messages);
		goto out;
	}
	if (o.prompt == NULL) {
		if (read_prompt(stdin, &input) != VEIL_OK) {
			fprintf(stderr, "veil chat: %s\n", veil_err_detail());
			rc = CLI_EXIT_USAGE;
			goto out;
		}
		prompt = (char *)input.data;
	}
	if (prompt != NULL) {
		size_t n = strlen(prompt);
		while (n > 0 && (prompt[n - 1] == '\n' || prompt[n - 1] == '\r'))
			prompt[--n] = '\0';
	}
	if (!add_user(messages, o.prompt != NULL ? o.prompt : prompt)) {
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	rc = turn(c, &o, messages);
out:
	veil_writer_clear(&input);
	json_decref(messages);
	veil_client_free(c);
	veil_client_policy_free(policy);
	return rc;
}
