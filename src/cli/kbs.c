/*
 * kbs.c - veil kbs: the admin side of veil-kbs (docs/kbs.md).
 *
 *   veil kbs keys --out PREFIX [--type ed25519|p256]
 *   veil kbs put-resource      --url URL --admin-key KEY PATH FILE
 *   veil kbs delete-resource   --url URL --admin-key KEY PATH
 *   veil kbs set-resource-policy --url URL --admin-key KEY FILE
 *   veil kbs set-policy        --url URL --admin-key KEY FILE
 *   veil kbs add-reference-values --url URL --admin-key KEY [--name NAME] FILE
 *   veil kbs fetch --url URL --sim DIR [--workload FILE]... [--gpus G] PATH   (kbs_fetch.c)
 *
 * `keys` makes the admin key pair: PREFIX.jwk (private, created 0600 and
 * never overwritten) for this command, PREFIX.pub.jwk for the broker's
 * --admin-key. Every other subcommand signs a fresh token good for five
 * minutes with the private key and makes one admin call; --ca names the
 * broker's CA for HTTPS. Exit 0 when the broker accepted the call, 1 when
 * it refused (its detail is printed), 2 for usage and unreadable input.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "veil/codec.h"
#include "veil/http_client.h"
#include "veil/jose.h"
#include "veil/secret.h"

#define ADMIN_TOKEN_LIFETIME 300

typedef struct kbs_args {
	const char *url, *admin_key, *ca, *name, *out, *type;
	const char *pos[2];
	int npos;
} kbs_args;

static void kbs_usage(FILE *f)
{
	fprintf(
	    f, "usage: veil kbs keys --out PREFIX [--type ed25519|p256]\n"
	       "       veil kbs put-resource --url URL --admin-key KEY PATH FILE\n"
	       "       veil kbs delete-resource --url URL --admin-key KEY PATH\n"
	       "       veil kbs set-resource-policy --url URL --admin-key KEY FILE\n"
	       "       veil kbs set-policy --url URL --admin-key KEY FILE\n"
	       "       veil kbs add-reference-values --url URL --admin-key KEY [--name NAME] FILE\n"
	       "       veil kbs fetch --url URL --sim DIR [--workload FILE]... [--gpus G]\n"
	       "                      [--retry-ms N] [--out FILE] PATH\n"
	       "options: --ca FILE (the broker's CA certificate, for https)\n");
}

static int kbs_parse(int argc, char **argv, kbs_args *a)
{
	for (int i = 2; i < argc; i++) {
		const char **slot = NULL;
		if (strcmp(argv[i], "--url") == 0)
			slot = &a->url;
		else if (strcmp(argv[i], "--admin-key") == 0)
			slot = &a->admin_key;
		else if (strcmp(argv[i], "--ca") == 0)
			slot = &a->ca;
		else if (strcmp(argv[i], "--name") == 0)
			slot = &a->name;
		else if (strcmp(argv[i], "--out") == 0)
			slot = &a->out;
		else if (strcmp(argv[i], "--type") == 0)
			slot = &a->type;
		if (slot != NULL) {
			if (i + 1 >= argc) {
				fprintf(stderr, "veil kbs: %s needs a value\n", argv[i]);
				return CLI_EXIT_USAGE;
			}
			*slot = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1] == '-') {
			fprintf(stderr, "veil kbs: unknown option %s\n", argv[i]);
			return CLI_EXIT_USAGE;
		} else if (a->npos < 2) {
			a->pos[a->npos++] = argv[i];
		} else {
			fprintf(stderr, "veil kbs: too many arguments\n");
			return CLI_EXIT_USAGE;
		}
	}
	return CLI_EXIT_OK;
}

/* Writes text to a new file of the given mode; refuses to overwrite. */
static veil_err write_new(const char *path, const char *text, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	ssize_t n;

	ENSURE(fd >= 0, VEIL_E_IO, "cannot create %s: %s", path, strerror(errno));
	n = write(fd, text, len);
	if (n != (ssize_t)len || fsync(fd) != 0 || close(fd) != 0) {
		unlink(path);
		return veil_fail(VEIL_E_IO, "cannot write %s", path);
	}
	return VEIL_OK;
}

static int kbs_keys(const kbs_args *a)
{
	veil_jwk_type type = VEIL_JWK_ED25519;
	veil_jwk *key = NULL;
	char priv_path[4096], pub_path[4096], *priv = NULL, *pub = NULL;
	size_t priv_len = 0;
	json_t *pubj = NULL;
	veil_err err;

	if (a->out == NULL || a->npos != 0) {
		kbs_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (a->type != NULL && strcmp(a->type, "p256") == 0)
		type = VEIL_JWK_EC_P256;
	else if (a->type != NULL && strcmp(a->type, "ed25519") != 0) {
		fprintf(stderr, "veil kbs keys: --type is ed25519 or p256\n");
		return CLI_EXIT_USAGE;
	}
	snprintf(priv_path, sizeof priv_path, "%s.jwk", a->out);
	snprintf(pub_path, sizeof pub_path, "%s.pub.jwk", a->out);
	err = veil_jwk_generate(type, 0, &key);
	if (err == VEIL_OK)
		err = veil_jwk_export_private(key, &priv, &priv_len);
	if (err == VEIL_OK)
		err = veil_jwk_export_public(key, &pubj);
	if (err == VEIL_OK && (pub = json_dumps(pubj, JSON_COMPACT)) == NULL)
		err = veil_fail(VEIL_E_NOMEM, "out of memory");
	/* The private key first, and only to a new 0600 file. */
	if (err == VEIL_OK)
		err = write_new(priv_path, priv, priv_len, 0600);
	if (err == VEIL_OK) {
		err = write_new(pub_path, pub, strlen(pub), 0644);
		if (err != VEIL_OK)
			unlink(priv_path);
	}
	veil_jwk_free(key);
	veil_free_secret(priv, priv_len);
	free(pub);
	json_decref(pubj);
	if (err != VEIL_OK) {
		fprintf(stderr, "veil kbs keys: %s\n", veil_err_detail());
		return CLI_EXIT_USAGE;
	}
	printf("%s (private, keep it) and %s (give it to veil-kbs --admin-key)\n", priv_path,
	       pub_path);
	return CLI_EXIT_OK;
}

/* A short-lived admin token signed with the private key in path. */
static veil_err admin_token(const char *path, char **token)
{
	uint8_t *buf = NULL;
	size_t len = 0, tlen;
	veil_jwk *key = NULL;
	json_t *claims;
	int64_t now = (int64_t)time(NULL);
	veil_err err;

	TRY(cli_read_file(path, &buf, &len));
	err = veil_jwk_parse_private_bytes(buf, len, &key);
	veil_free_secret(buf, len);
	TRY(err);
	claims = json_pack("{s:s, s:I, s:I}", "aud", "veil-kbs-admin", "iat", (json_int_t)now,
			   "exp", (json_int_t)(now + ADMIN_TOKEN_LIFETIME));
	err = claims != NULL ? veil_jwt_sign(key, NULL, claims, token, &tlen)
			     : veil_fail(VEIL_E_NOMEM, "out of memory");
	json_decref(claims);
	veil_jwk_free(key);
	return err;
}

/* One admin call; prints the outcome. */
static int admin_call(const kbs_args *a, const char *method, const char *path, const void *body,
		      size_t body_len, const char *content_type, const char *what)
{
	char url[4096], auth[4096], ctype[128], *token = NULL;
	const char *headers[3] = {auth, ctype, NULL};
	veil_http_client_request req = {0};
	veil_http_client_response resp;
	veil_err err;
	int rc;

	if (a->url == NULL || a->admin_key == NULL) {
		kbs_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (admin_token(a->admin_key, &token) != VEIL_OK) {
		fprintf(stderr, "veil kbs: --admin-key %s: %s\n", a->admin_key, veil_err_detail());
		return CLI_EXIT_USAGE;
	}
	snprintf(url, sizeof url, "%s%s", a->url, path);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
	snprintf(ctype, sizeof ctype, "Content-Type: %s", content_type);
	req.method = method;
	req.url = url;
	req.headers = headers;
	req.body = body;
	req.body_len = body_len;
	req.ca_file = a->ca;
	err = veil_http_client_fetch(&req, &resp);
	veil_wipe(auth, sizeof auth);
	veil_free_secret(token, strlen(token));
	if (err != VEIL_OK) {
		fprintf(stderr, "veil kbs: %s: %s\n", url, veil_err_detail());
		rc = CLI_EXIT_FAILED;
	} else if (resp.status == 200) {
		printf("%s: done\n", what);
		rc = CLI_EXIT_OK;
	} else {
		fprintf(stderr, "veil kbs: %s refused (HTTP %ld): %.*s\n", what, resp.status,
			(int)(resp.body.len > 1024 ? 1024 : resp.body.len),
			resp.body.data != NULL ? (const char *)resp.body.data : "");
		rc = CLI_EXIT_FAILED;
	}
	veil_http_client_response_clear(&resp);
	return rc;
}

/* {"policy": "<base64url of FILE>"}, the admin API's policy body. */
static int policy_call(const kbs_args *a, const char *path, const char *what)
{
	uint8_t *doc = NULL;
	size_t len = 0;
	char *b64 = NULL, *body = NULL;
	json_t *j = NULL;
	int rc = CLI_EXIT_USAGE;

	if (a->npos != 1) {
		kbs_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (cli_read_file(a->pos[0], &doc, &len) != VEIL_OK) {
		fprintf(stderr, "veil kbs: %s: %s\n", a->pos[0], veil_err_detail());
		return CLI_EXIT_USAGE;
	}
	b64 = malloc(veil_base64url_encoded_len(len) + 1);
	if (b64 != NULL) {
		veil_base64url_encode(doc, len, b64);
		j = json_pack("{s:s}", "policy", b64);
		body = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	}
	if (body != NULL)
		rc = admin_call(a, "POST", path, body, strlen(body), "application/json", what);
	free(doc);
	free(b64);
	free(body);
	json_decref(j);
	return rc;
}

int cli_kbs_put_resource(const char *url, const char *admin_key, const char *ca, const char *path,
			 const uint8_t *value, size_t len)
{
	kbs_args a = {.url = url, .admin_key = admin_key, .ca = ca};
	char route[512];

	if ((size_t)snprintf(route, sizeof route, "/kbs/v0/resource/%s", path) >= sizeof route) {
		fprintf(stderr, "veil kbs: the resource path is too long\n");
		return CLI_EXIT_USAGE;
	}
	return admin_call(&a, "POST", route, value, len, "application/octet-stream", path);
}

int cmd_kbs(int argc, char **argv)
{
	kbs_args a = {0};
	const char *sub = argc > 1 ? argv[1] : NULL;
	char path[512];
	int rc;

	if (sub == NULL || strcmp(sub, "--help") == 0) {
		kbs_usage(sub == NULL ? stderr : stdout);
		return sub == NULL ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	/* The guest's side has options of its own (kbs_fetch.c). */
	if (strcmp(sub, "fetch") == 0)
		return cmd_kbs_fetch(argc, argv);
	rc = kbs_parse(argc, argv, &a);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (strcmp(sub, "keys") == 0)
		return kbs_keys(&a);
	if (strcmp(sub, "put-resource") == 0 || strcmp(sub, "delete-resource") == 0) {
		bool put = sub[0] == 'p';
		uint8_t *value = NULL;
		size_t len = 0;
		if (a.npos != (put ? 2 : 1)) {
			kbs_usage(stderr);
			return CLI_EXIT_USAGE;
		}
		snprintf(path, sizeof path, "/kbs/v0/resource/%s", a.pos[0]);
		if (put && cli_read_file(a.pos[1], &value, &len) != VEIL_OK) {
			fprintf(stderr, "veil kbs: %s: %s\n", a.pos[1], veil_err_detail());
			return CLI_EXIT_USAGE;
		}
		rc = admin_call(&a, put ? "POST" : "DELETE", path, value, len,
				"application/octet-stream", a.pos[0]);
		veil_free_secret(value, len);
		return rc;
	}
	if (strcmp(sub, "set-resource-policy") == 0)
		return policy_call(&a, "/kbs/v0/resource-policy", "resource policy");
	if (strcmp(sub, "set-policy") == 0)
		return policy_call(&a, "/kbs/v0/attestation-policy", "appraisal policy");
	if (strcmp(sub, "add-reference-values") == 0) {
		uint8_t *doc = NULL;
		size_t len = 0;
		json_t *rv = NULL, *j = NULL;
		char *body = NULL;
		const char *name = a.name;
		if (a.npos != 1) {
			kbs_usage(stderr);
			return CLI_EXIT_USAGE;
		}
		if (name == NULL) {
			name = strrchr(a.pos[0], '/');
			name = name != NULL ? name + 1 : a.pos[0];
		}
		if (cli_read_file(a.pos[0], &doc, &len) != VEIL_OK ||
		    (rv = json_loadb((const char *)doc, len, JSON_REJECT_DUPLICATES, NULL)) ==
			NULL) {
			fprintf(stderr, "veil kbs: %s is not a JSON document\n", a.pos[0]);
			free(doc);
			return CLI_EXIT_USAGE;
		}
		j = json_pack("{s:s, s:O}", "name", name, "reference_values", rv);
		body = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
		rc = body != NULL ? admin_call(&a, "POST", "/kbs/v0/reference-values", body,
					       strlen(body), "application/json", "reference values")
				  : CLI_EXIT_USAGE;
		free(doc);
		free(body);
		json_decref(rv);
		json_decref(j);
		return rc;
	}
	fprintf(stderr, "veil kbs: unknown subcommand %s\n", sub);
	kbs_usage(stderr);
	return CLI_EXIT_USAGE;
}
