/*
 * run.c - `veil run`: try a model from the command line (docs/engine.md).
 *
 *   veil run MODEL|SEALED --prompt TEXT [--chat] [--system TEXT]
 *            [--max-tokens N] [--temperature T] [--top-k K] [--top-p P]
 *            [--seed S] [--threads N] [--ctx N] [--stop TEXT]...
 *            [--key-file FILE]
 *
 * A plain GGUF file is mapped read-only; a sealed one (docs/sealed-model.md)
 * is opened with the key in --key-file into anonymous memory, as a worker
 * does, so the plaintext never touches the disk. The prompt is tokenized
 * as it is, or with --chat rendered through the model's chat template
 * first; generated text streams to standard output and a summary (token
 * counts, speeds, why it stopped, the seed for a rerun) goes to standard
 * error.
 *
 * Exit status: 0 generated; 1 the model failed to open (a wrong key, a
 * damaged sealed file) or generation failed; 2 usage, or a model file the
 * engine cannot read.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "veil/engine.h"
#include "veil/gguf.h"
#include "veil/seal.h"
#include "veil/secret.h"
#include "veil/tokenizer.h"

static void run_usage(FILE *f)
{
	fprintf(f,
		"usage: veil run MODEL|SEALED --prompt TEXT [options]\n"
		"\n"
		"Generates text with the built-in engine from a GGUF model (llama or qwen2\n"
		"architecture) or a sealed one, streaming it to standard output.\n"
		"\n"
		"  --prompt TEXT        the prompt (required)\n"
		"  --chat               render the prompt as a user turn with the model's\n"
		"                       chat template\n"
		"  --system TEXT        a system message before it (with --chat)\n"
		"  --max-tokens N       tokens to generate at most (default 256)\n"
		"  --temperature T      0 for greedy (default 0.8)\n"
		"  --top-k K            0 for all (default 40)\n"
		"  --top-p P            in (0, 1], 1 for all (default 0.95)\n"
		"  --seed S             sampling seed (default random, printed at the end)\n"
		"  --threads N          threads (default: the online CPUs)\n"
		"  --ctx N              context positions (default min(model's, %d))\n"
		"  --stop TEXT          stop before this text (up to %d times)\n"
		"  --key-file FILE      the key of a sealed model (32 bytes or 64 hex digits)\n"
		"\n"
		"exit status: 0 generated, 1 the model did not open or generation failed,\n"
		"2 usage or a model the engine cannot read\n",
		VEIL_ENGINE_CTX_DEFAULT, VEIL_ENGINE_STOP_MAX);
}

typedef struct run_opts {
	const char *model, *prompt, *system, *key_file;
	bool chat;
	size_t max_tokens, ctx;
	unsigned threads;
	veil_sample_params sample;
	bool seed_given;
	const char *stop[VEIL_ENGINE_STOP_MAX];
	size_t n_stop;
} run_opts;

static bool parse_size(const char *s, size_t max, size_t *out)
{
	char *end = NULL;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10); /* checked: errno, end and range below */
	if (errno != 0 || end == s || *end != '\0' || *s == '-' || v > max)
		return false;
	*out = (size_t)v;
	return true;
}

static bool parse_float(const char *s, double lo, double hi, float *out)
{
	char *end = NULL;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < lo || v > hi)
		return false;
	*out = (float)v;
	return true;
}

/* Parses argv into o; returns -1 to go on, else an exit code. */
static int parse_args(int argc, char **argv, run_opts *o)
{
	static const struct option opts[] = {
	    {"prompt", required_argument, NULL, 'p'},
	    {"chat", no_argument, NULL, 'c'},
	    {"system", required_argument, NULL, 'S'},
	    {"max-tokens", required_argument, NULL, 'n'},
	    {"temperature", required_argument, NULL, 't'},
	    {"top-k", required_argument, NULL, 'k'},
	    {"top-p", required_argument, NULL, 'P'},
	    {"seed", required_argument, NULL, 's'},
	    {"threads", required_argument, NULL, 'j'},
	    {"ctx", required_argument, NULL, 'x'},
	    {"stop", required_argument, NULL, 'z'},
	    {"key-file", required_argument, NULL, 'K'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	size_t v;
	int opt;
	bool ok;

	memset(o, 0, sizeof *o);
	veil_sample_defaults(&o->sample);
	o->max_tokens = 256;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		ok = true;
		switch (opt) {
		case 'p':
			o->prompt = optarg;
			break;
		case 'c':
			o->chat = true;
			break;
		case 'S':
			o->system = optarg;
			break;
		case 'n':
			ok = parse_size(optarg, 1 << 20, &o->max_tokens) && o->max_tokens > 0;
			break;
		case 't':
			ok = parse_float(optarg, 0, 100, &o->sample.temperature);
			break;
		case 'k':
			ok = parse_size(optarg, VEIL_ENGINE_VOCAB_MAX, &o->sample.top_k);
			break;
		case 'P':
			ok = parse_float(optarg, 0, 1, &o->sample.top_p) && o->sample.top_p > 0;
			break;
		case 's':
			ok = parse_size(optarg, SIZE_MAX, &v);
			o->sample.seed = v;
			o->seed_given = true;
			break;
		case 'j':
			ok = parse_size(optarg, VEIL_ENGINE_THREADS_MAX, &v) && v > 0;
			o->threads = (unsigned)v;
			break;
		case 'x':
			ok = parse_size(optarg, VEIL_ENGINE_CTX_MAX, &o->ctx) && o->ctx > 0;
			break;
		case 'z':
			ok = o->n_stop < VEIL_ENGINE_STOP_MAX && *optarg != '\0' &&
			     strlen(optarg) <= VEIL_ENGINE_STOP_LEN_MAX;
			if (ok)
				o->stop[o->n_stop++] = optarg;
			break;
		case 'K':
			o->key_file = optarg;
			break;
		case 'h':
			run_usage(stdout);
			return CLI_EXIT_OK;
		default:
			fprintf(stderr, "veil run: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			return CLI_EXIT_USAGE;
		}
		if (!ok) {
			fprintf(stderr, "veil run: bad value '%s' for %s (see veil run --help)\n",
				optarg, argv[optind - 1]);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || o->prompt == NULL) {
		fprintf(stderr, "veil run: give one MODEL and --prompt\n");
		run_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (o->system != NULL && !o->chat) {
		fprintf(stderr, "veil run: --system needs --chat\n");
		return CLI_EXIT_USAGE;
	}
	o->model = argv[optind];
	if (!o->seed_given &&
	    getrandom(&o->sample.seed, sizeof o->sample.seed, 0) != (ssize_t)sizeof o->sample.seed)
		o->sample.seed = (uint64_t)getpid();
	return -1;
}

/* The model's bytes: mapped from a plain file, or decrypted from a sealed
 * one. */
typedef struct run_model {
	const uint8_t *data;
	size_t len;
	void *map;
	veil_sealed_model sealed;
} run_model;

static int open_model(const run_opts *o, run_model *rm)
{
	uint8_t magic[4] = {0}, key[VEIL_SEAL_KEY_LEN];
	veil_seal_info info;
	veil_seal_progress progress;
	struct stat st;
	veil_err err;
	int fd;

	memset(rm, 0, sizeof *rm);
	fd = open(o->model, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "veil run: cannot open %s: %s\n", o->model,
			fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return CLI_EXIT_USAGE;
	}
	if (read(fd, magic, 4) == 4 && memcmp(magic, "GGUF", 4) == 0) {
		/* Plain GGUF: map it; the page cache holds it once. */
		rm->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		close(fd);
		if (rm->map == MAP_FAILED) {
			rm->map = NULL;
			fprintf(stderr, "veil run: cannot map %s: %s\n", o->model, strerror(errno));
			return CLI_EXIT_USAGE;
		}
		rm->data = rm->map;
		rm->len = (size_t)st.st_size;
		return CLI_EXIT_OK;
	}
	close(fd);
	if (veil_seal_peek(o->model, &info) != VEIL_OK) {
		fprintf(stderr, "veil run: %s is neither a GGUF model nor a sealed model\n",
			o->model);
		return CLI_EXIT_USAGE;
	}
	if (o->key_file == NULL) {
		fprintf(stderr,
			"veil run: %s is sealed (its key is the KBS resource '%s'); pass the key "
			"with --key-file\n",
			o->model, info.resource[0] != '\0' ? info.resource : "(none recorded)");
		return CLI_EXIT_USAGE;
	}
	if (veil_seal_key_read(o->key_file, key) != VEIL_OK) {
		fprintf(stderr, "veil run: key file %s: %s\n", o->key_file, veil_err_detail());
		return CLI_EXIT_USAGE;
	}
	veil_seal_progress_init(&progress, STDERR_FILENO, "opening");
	err = veil_seal_open(o->model, key, o->threads, 0, veil_seal_progress_print, &progress,
			     &rm->sealed);
	veil_seal_progress_done(&progress);
	veil_wipe(key, sizeof key);
	if (err != VEIL_OK) {
		fprintf(stderr, "veil run: %s: %s\n", o->model, veil_err_detail());
		return CLI_EXIT_FAILED;
	}
	rm->data = rm->sealed.data;
	rm->len = rm->sealed.len;
	return CLI_EXIT_OK;
}

static void close_model(run_model *rm)
{
	if (rm->map != NULL)
		munmap(rm->map, rm->len);
	veil_sealed_model_clear(&rm->sealed);
}

/* The prompt's token ids: as text, or as a chat turn. */
static veil_err prompt_ids(const run_opts *o, const veil_gguf *g, const veil_tokenizer *tok,
			   int32_t **ids, size_t *n)
{
	veil_chat_template t;
	veil_chat_message msgs[2];
	size_t nm = 0, len;
	char *text;
	veil_err err;

	if (!o->chat)
		return veil_tokenize(tok, o->prompt, strlen(o->prompt), true, false, ids, n);
	TRY(veil_chat_template_from_gguf(g, &t));
	if (t.fallback)
		fprintf(stderr,
			"veil run: the model has no chat template Veil knows; using ChatML\n");
	if (o->system != NULL)
		msgs[nm++] = (veil_chat_message){"system", o->system, strlen(o->system)};
	msgs[nm++] = (veil_chat_message){"user", o->prompt, strlen(o->prompt)};
	TRY(veil_chat_format(&t, msgs, nm, true, &text, &len));
	err = veil_tokenize(tok, text, len, true, true, ids, n);
	veil_free_secret(text, len);
	return err;
}

static bool emit(void *user, int32_t id, const char *text, size_t len)
{
	(void)user;
	(void)id;
	if (len > 0 && fwrite(text, 1, len, stdout) != len)
		return false;
	fflush(stdout);
	return true;
}

static int generate(const run_opts *o, const veil_gguf *g, const veil_model *m,
		    const veil_tokenizer *tok)
{
	veil_session_params sp = {.n_ctx = o->ctx, .n_threads = o->threads};
	veil_detok detok;
	veil_gen_params gp = {.sample = o->sample,
			      .max_tokens = o->max_tokens,
			      .stop = o->stop,
			      .n_stop = o->n_stop,
			      .piece = veil_detok_piece,
			      .piece_user = &detok,
			      .on_token = emit};
	veil_session *s = NULL;
	veil_gen_result r;
	veil_writer rest;
	int32_t *ids = NULL, *eog = NULL;
	size_t n = 0, n_eog = 0;
	int rc = CLI_EXIT_FAILED;

	if (prompt_ids(o, g, tok, &ids, &n) != VEIL_OK) {
		fprintf(stderr, "veil run: the prompt: %s\n", veil_err_detail());
		return CLI_EXIT_USAGE;
	}
	if (n == 0 || veil_tokenizer_eog_ids(tok, &eog, &n_eog) != VEIL_OK ||
	    veil_session_new(m, &sp, &s) != VEIL_OK) {
		fprintf(stderr, "veil run: %s\n",
			n == 0 ? "the prompt is empty" : veil_err_detail());
		rc = n == 0 ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
		goto out;
	}
	gp.stop_tokens = eog;
	gp.n_stop_tokens = n_eog;
	veil_detok_init(&detok, tok, false);
	if (veil_generate(s, ids, n, &gp, &r) != VEIL_OK) {
		fprintf(stdout, "\n");
		fprintf(stderr, "veil run: %s\n", veil_err_detail());
		goto out;
	}
	/* A character the model left unfinished prints as U+FFFD. */
	veil_writer_init(&rest, 16);
	if (veil_detok_finish(&detok, &rest) == VEIL_OK)
		(void)emit(NULL, -1, (const char *)rest.data, rest.len);
	veil_writer_clear(&rest);
	fprintf(stdout, "\n");
	fprintf(stderr,
		"veil run: %zu prompt tokens in %.2f s (%.1f tokens/s), %zu generated in %.2f s "
		"(%.1f tokens/s), stopped: %s, seed %llu, %u threads, kernels %s\n",
		r.n_prompt, r.prompt_seconds,
		r.prompt_seconds > 0 ? (double)r.n_prompt / r.prompt_seconds : 0.0, r.n_generated,
		r.gen_seconds, r.gen_seconds > 0 ? (double)r.n_generated / r.gen_seconds : 0.0,
		veil_stop_reason_name(r.stop), (unsigned long long)o->sample.seed,
		o->threads != 0 ? o->threads : (unsigned)sysconf(_SC_NPROCESSORS_ONLN),
		veil_engine_kernels());
	rc = CLI_EXIT_OK;
out:
	veil_session_free(s);
	veil_free_secret(ids, n * sizeof *ids);
	free(eog);
	return rc;
}

int cmd_run(int argc, char **argv)
{
	run_opts o;
	run_model rm;
	veil_gguf *g = NULL;
	veil_model *m = NULL;
	veil_tokenizer *tok = NULL;
	int rc = parse_args(argc, argv, &o);

	if (rc >= 0)
		return rc;
	rc = open_model(&o, &rm);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (veil_gguf_open(rm.data, rm.len, &g) != VEIL_OK || veil_model_load(g, &m) != VEIL_OK ||
	    veil_tokenizer_from_gguf(g, &tok) != VEIL_OK) {
		fprintf(stderr, "veil run: %s: %s\n", o.model, veil_err_detail());
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	rc = generate(&o, g, m, tok);
out:
	veil_tokenizer_free(tok);
	veil_model_free(m);
	veil_gguf_free(g);
	close_model(&rm);
	return rc;
}
