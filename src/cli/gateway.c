/*
 * gateway.c - veil gateway: the operator's side of veil-gateway's API keys
 * and metering (docs/gateway-accounts.md).
 *
 *   veil gateway key create --accounts FILE --name NAME [--rpm N] [--tpm N]
 *   veil gateway key list   --accounts FILE [--json]
 *   veil gateway key revoke --accounts FILE --name NAME
 *   veil gateway usage      --accounts FILE --name NAME
 *
 * Each opens the accounts database directly (created 0600 when missing),
 * also while the gateway runs on it: SQLite's WAL lets both write, the
 * gateway sees a new key at its first use and a revocation within
 * VEIL_GW_AUTH_CACHE_S seconds. `key create` prints the key, and nothing
 * else, on standard output: it is the only time the key exists in clear.
 * `usage` shows what the gateway has flushed (about once a second).
 *
 * Exit codes (docs/cli.md): 0 done; 1 refused or failed (a name in use, no
 * such account, the database failed); 2 usage, or a database that cannot
 * be opened or is damaged.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "gateway/accounts.h"
#include "veil/secret.h"

typedef struct gw_cli_args {
	const char *accounts, *name;
	uint32_t rpm, tpm;
	bool json;
} gw_cli_args;

/* What each subcommand takes, for its --help and its option check. */
enum { GWC_NAME = 1, GWC_LIMITS = 2, GWC_JSON = 4 };

typedef struct gw_cli_sub {
	const char *name, *usage, *summary;
	unsigned takes;
	bool creates; /* may make the database; the others want it to exist */
	int (*run)(gw_accounts *a, const gw_cli_args *g);
} gw_cli_sub;

static void gw_usage(FILE *f)
{
	fprintf(f,
		"usage: veil gateway key create --accounts FILE --name NAME [--rpm N] [--tpm N]\n"
		"       veil gateway key list --accounts FILE [--json]\n"
		"       veil gateway key revoke --accounts FILE --name NAME\n"
		"       veil gateway usage --accounts FILE --name NAME\n"
		"The accounts FILE is veil-gateway's --accounts database; these commands work\n"
		"while the gateway runs. See docs/gateway-accounts.md.\n");
}

static bool gw_parse_u32(const char *s, uint32_t *out)
{
	char *end = NULL;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10); /* checked: errno, end and range below */
	if (errno != 0 || end == s || *end != 0 || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Writes the key and a newline with write(2), so that no stdio buffer
 * keeps a copy, then wipes the line. */
static bool gw_print_key(const char *key)
{
	char line[VEIL_GW_KEY_LEN + 2];
	size_t n = strlen(key), off = 0;
	bool ok = n == VEIL_GW_KEY_LEN;

	if (ok) {
		memcpy(line, key, n);
		line[n++] = '\n';
	}
	fflush(stdout);
	while (ok && off < n) {
		ssize_t w = write(STDOUT_FILENO, line + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		ok = w > 0;
		off += ok ? (size_t)w : 0;
	}
	veil_wipe(line, sizeof line);
	return ok;
}

static int gw_create(gw_accounts *a, const gw_cli_args *g)
{
	char *key = NULL;
	veil_err err = gw_accounts_create(a, g->name, g->rpm, g->tpm, &key);
	bool printed;

	if (err != VEIL_OK) {
		/* The name was checked before: what is left is a name in use
		 * or the database failing. */
		fprintf(stderr, "veil gateway key create: %s\n", veil_err_detail());
		return CLI_EXIT_FAILED;
	}
	printed = gw_print_key(key);
	veil_free_secret(key, strlen(key));
	if (!printed) {
		/* The key is lost: revoke it rather than leave a live key
		 * nobody holds. */
		fprintf(stderr,
			"veil gateway key create: cannot write the key to standard output; "
			"revoking account %s\n",
			g->name);
		if (gw_accounts_revoke(a, g->name) != VEIL_OK)
			fprintf(stderr, "veil gateway key create: %s\n", veil_err_detail());
		return CLI_EXIT_FAILED;
	}
	if (isatty(STDERR_FILENO))
		fprintf(stderr,
			"created account %s (rpm %u, tpm %u; 0 is unlimited). The key above is "
			"shown only this once: give it to the account's holder.\n",
			g->name, g->rpm, g->tpm);
	return CLI_EXIT_OK;
}

/* A limit as the table shows it: 0 is "unlimited". */
static void gw_limit_text(const json_t *v, char *buf, size_t cap)
{
	json_int_t n = json_integer_value(v);

	if (n == 0)
		snprintf(buf, cap, "unlimited");
	else
		snprintf(buf, cap, "%lld", (long long)n);
}

static void gw_list_text(const json_t *list)
{
	size_t i;
	json_t *row;

	printf("%-24s %10s %10s  %-20s  %s\n", "NAME", "RPM", "TPM", "CREATED", "REVOKED");
	json_array_foreach(list, i, row)
	{
		const char *revoked = json_string_value(json_object_get(row, "revoked"));
		char rpm[24], tpm[24];
		gw_limit_text(json_object_get(row, "rpm"), rpm, sizeof rpm);
		gw_limit_text(json_object_get(row, "tpm"), tpm, sizeof tpm);
		printf("%-24s %10s %10s  %-20s  %s\n",
		       json_string_value(json_object_get(row, "name")), rpm, tpm,
		       json_string_value(json_object_get(row, "created")),
		       revoked != NULL ? revoked : "-");
	}
}

static int gw_list(gw_accounts *a, const gw_cli_args *g)
{
	json_t *list = NULL;

	if (gw_accounts_list(a, &list) != VEIL_OK) {
		fprintf(stderr, "veil gateway key list: %s\n", veil_err_detail());
		return CLI_EXIT_FAILED;
	}
	if (g->json)
		cli_print_json(list);
	else
		gw_list_text(list);
	json_decref(list);
	return CLI_EXIT_OK;
}

static int gw_revoke(gw_accounts *a, const gw_cli_args *g)
{
	if (gw_accounts_revoke(a, g->name) != VEIL_OK) {
		fprintf(stderr, "veil gateway key revoke: %s\n", veil_err_detail());
		return CLI_EXIT_FAILED;
	}
	printf("revoked account %s: the gateway refuses its key within %d seconds\n", g->name,
	       VEIL_GW_AUTH_CACHE_S);
	return CLI_EXIT_OK;
}

static int gw_show_usage(gw_accounts *a, const gw_cli_args *g)
{
	gw_account acct;
	json_t *u = NULL;

	if (gw_accounts_find(a, g->name, &acct) != VEIL_OK ||
	    gw_accounts_usage(a, &acct, &u) != VEIL_OK) {
		fprintf(stderr, "veil gateway usage: %s\n", veil_err_detail());
		return CLI_EXIT_FAILED;
	}
	cli_print_json(u);
	json_decref(u);
	return CLI_EXIT_OK;
}

static const gw_cli_sub subs[] = {
    {.name = "key create",
     .usage = "key create --accounts FILE --name NAME [--rpm N] [--tpm N]",
     .summary = "make an account and its API key; prints the key (only this once)",
     .takes = GWC_NAME | GWC_LIMITS,
     .creates = true,
     .run = gw_create},
    {.name = "key list",
     .usage = "key list --accounts FILE [--json]",
     .summary = "list the accounts (never their keys)",
     .takes = GWC_JSON,
     .run = gw_list},
    {.name = "key revoke",
     .usage = "key revoke --accounts FILE --name NAME",
     .summary = "stop an account's key (the gateway refuses it within 5 s); its usage stays",
     .takes = GWC_NAME,
     .run = gw_revoke},
    {.name = "usage",
     .usage = "usage --accounts FILE --name NAME",
     .summary = "print an account's usage as JSON",
     .takes = GWC_NAME,
     .run = gw_show_usage},
};
#define GWC_SUBS (sizeof subs / sizeof subs[0])

static void gw_sub_usage(FILE *f, const gw_cli_sub *s)
{
	fprintf(f, "usage: veil gateway %s\n%s\n", s->usage, s->summary);
	fprintf(f, "  --accounts FILE  veil-gateway's accounts database%s\n",
		s->creates ? " (created 0600 if missing)" : "");
	if (s->takes & GWC_NAME)
		fprintf(f, "  --name NAME      the account: 1 to %d of A-Z a-z 0-9 . _ -\n",
			VEIL_GW_ACCOUNT_NAME_MAX);
	if (s->takes & GWC_LIMITS)
		fprintf(f, "  --rpm N          requests a minute (default 0: unlimited)\n"
			   "  --tpm N          tokens a minute, prompt and completion (default 0: "
			   "unlimited)\n");
	if (s->takes & GWC_JSON)
		fprintf(f, "  --json           a JSON array instead of a table\n");
}

/* Parses a subcommand's options (argv[0] is its name); -1 to go on, else
 * the exit code. */
static int gw_parse(const gw_cli_sub *s, int argc, char **argv, gw_cli_args *g)
{
	static const struct option opts[] = {
	    {"accounts", required_argument, NULL, 'a'},
	    {"name", required_argument, NULL, 'n'},
	    {"rpm", required_argument, NULL, 'r'},
	    {"tpm", required_argument, NULL, 't'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt, idx = -1;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
		unsigned need = opt == 'n'                 ? GWC_NAME
				: opt == 'r' || opt == 't' ? GWC_LIMITS
				: opt == 'j'               ? GWC_JSON
							   : 0;
		if (opt == 'h') {
			gw_sub_usage(stdout, s);
			return CLI_EXIT_OK;
		}
		if (need != 0 && !(s->takes & need)) {
			fprintf(stderr, "veil gateway %s takes no --%s\n", s->name, opts[idx].name);
			gw_sub_usage(stderr, s);
			return CLI_EXIT_USAGE;
		}
		if (opt == '?' || opt == ':') {
			fprintf(stderr, "veil gateway %s: unknown or incomplete option '%s'\n",
				s->name, argv[optind - 1]);
			gw_sub_usage(stderr, s);
			return CLI_EXIT_USAGE;
		}
		if (opt == 'a') {
			g->accounts = optarg;
		} else if (opt == 'n') {
			g->name = optarg;
		} else if (opt == 'j') {
			g->json = true;
		} else if (!gw_parse_u32(optarg, opt == 'r' ? &g->rpm : &g->tpm)) {
			fprintf(stderr,
				"veil gateway %s: --%s must be a whole number from 0 to %u\n",
				s->name, opt == 'r' ? "rpm" : "tpm", UINT32_MAX);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "veil gateway %s: unexpected argument '%s'\n", s->name,
			argv[optind]);
		return CLI_EXIT_USAGE;
	}
	if (g->accounts == NULL || g->accounts[0] == 0) {
		fprintf(stderr, "veil gateway %s: --accounts FILE is required\n", s->name);
		return CLI_EXIT_USAGE;
	}
	if ((s->takes & GWC_NAME) && g->name == NULL) {
		fprintf(stderr, "veil gateway %s: --name NAME is required\n", s->name);
		return CLI_EXIT_USAGE;
	}
	return -1;
}

/* Checks the name before opening anything, so that a bad one is a usage
 * error (2) and a refusal by the database is 1. */
static bool gw_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > VEIL_GW_ACCOUNT_NAME_MAX)
		return false;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
	       n;
}

static int gw_run_sub(const gw_cli_sub *s, int argc, char **argv)
{
	gw_cli_args g = {0};
	gw_accounts *a = NULL;
	struct stat st;
	int rc = gw_parse(s, argc, argv, &g);

	if (rc >= 0)
		return rc;
	if (g.name != NULL && !gw_name_ok(g.name)) {
		fprintf(stderr,
			"veil gateway %s: an account name is 1 to %d characters from A-Z a-z "
			"0-9 . _ -\n",
			s->name, VEIL_GW_ACCOUNT_NAME_MAX);
		return CLI_EXIT_USAGE;
	}
	/* Only create makes the file: a mistyped path elsewhere is an
	 * error, not a new empty database. */
	if (!s->creates && stat(g.accounts, &st) != 0) {
		fprintf(stderr,
			"veil gateway %s: cannot open %s: %s (veil gateway key create makes the "
			"database)\n",
			s->name, g.accounts, strerror(errno));
		return CLI_EXIT_USAGE;
	}
	if (gw_accounts_open(g.accounts, &a) != VEIL_OK) {
		fprintf(stderr, "veil gateway %s: %s\n", s->name, veil_err_detail());
		return CLI_EXIT_USAGE;
	}
	rc = s->run(a, &g);
	gw_accounts_close(a);
	return rc;
}

int cmd_gateway(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : NULL;

	if (what == NULL || strcmp(what, "--help") == 0 || strcmp(what, "-h") == 0) {
		gw_usage(what == NULL ? stderr : stdout);
		return what == NULL ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	if (strcmp(what, "usage") == 0)
		return gw_run_sub(&subs[GWC_SUBS - 1], argc - 1, argv + 1);
	if (strcmp(what, "key") == 0) {
		const char *sub = argc > 2 ? argv[2] : NULL;
		if (sub == NULL || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
			gw_usage(sub == NULL ? stderr : stdout);
			return sub == NULL ? CLI_EXIT_USAGE : CLI_EXIT_OK;
		}
		for (size_t i = 0; i < GWC_SUBS - 1; i++)
			if (strcmp(sub, subs[i].name + 4) == 0) /* after "key " */
				return gw_run_sub(&subs[i], argc - 2, argv + 2);
		fprintf(stderr, "veil gateway key: unknown subcommand '%s'\n\n", sub);
		gw_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	fprintf(stderr, "veil gateway: unknown subcommand '%s'\n\n", what);
	gw_usage(stderr);
	return CLI_EXIT_USAGE;
}
