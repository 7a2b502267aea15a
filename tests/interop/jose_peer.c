/*
 * jose_peer.c - Veil's end of the JOSE interoperability tests.
 *
 * tests/interop/jose_interop.mjs runs this program and talks to it over
 * stdin and stdout, while the jose package from npm plays the other side:
 * the attester that decrypts a KBS resource, the relying party that
 * verifies an EAR token, the admin that signs a JWT. It uses only Veil's
 * public API (include/veil/jose.h), as the KBS and the worker do.
 *
 * One command per line, words separated by one space; JSON and binary
 * arguments are lower-case hex. Each command answers with one line, a tag,
 * a space and the payload, or "error NAME: DETAIL"; the peer keeps going
 * after an error and exits 0 at the end of its input.
 *
 *   keygen NAME TYPE          TYPE p256, p384, p521, rsa2048 or ed25519
 *                              -> jwk PUBLIC-JWK
 *   import-public NAME HEX    a public JWK  -> thumbprint B64URL
 *   import-private NAME HEX   a private JWK -> thumbprint B64URL
 *   encrypt NAME HEX          flattened JWE of the bytes to key NAME
 *                              -> jwe JSON
 *   decrypt NAME HEX          a flattened JWE -> plaintext HEX
 *   sign NAME HEX|- HEX       compact JWS of the payload, with the header
 *                              members given (or none) -> jws COMPACT
 *   jwt-sign NAME HEX         JWT of the claims -> jwt COMPACT
 *   verify NAME ALGS HEX      ALGS: comma-separated JWS algorithms
 *                              -> verified {"alg","header","payload_hex"}
 *   jwt-verify NAME ALGS NOW HEX  with exp required, no leeway
 *                              -> claims JSON
 *
 * Exit status 2 for a usage error, 1 when stdout fails.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veil/codec.h"
#include "veil/jose.h"
#include "veil/secret.h"

#define MAX_KEYS  32
#define MAX_WORDS 6

static struct {
	char name[32];
	veil_jwk *key;
} keys[MAX_KEYS];

static veil_jwk *find_key(const char *name)
{
	for (size_t i = 0; i < MAX_KEYS; i++)
		if (keys[i].key != NULL && strcmp(keys[i].name, name) == 0)
			return keys[i].key;
	return NULL;
}

static veil_err put_key(const char *name, veil_jwk *k)
{
	for (size_t i = 0; i < MAX_KEYS; i++)
		if (keys[i].key == NULL || strcmp(keys[i].name, name) == 0) {
			veil_jwk_free(keys[i].key);
			snprintf(keys[i].name, sizeof keys[i].name, "%s", name);
			keys[i].key = k;
			return VEIL_OK;
		}
	veil_jwk_free(k);
	return veil_fail(VEIL_E_LIMIT, "more than %d keys", MAX_KEYS);
}

static veil_err key_arg(const char *name, veil_jwk **k)
{
	*k = find_key(name);
	ENSURE(*k != NULL, VEIL_E_NOT_FOUND, "no key named %s", name);
	return VEIL_OK;
}

/* Decodes a hex argument into a new NUL-terminated buffer. */
static veil_err hex_arg(const char *s, uint8_t **out, size_t *len)
{
	size_t n = strlen(s);
	uint8_t *p = malloc(n / 2 + 1);

	ENSURE(p != NULL, VEIL_E_NOMEM, "out of memory");
	if (veil_hex_decode(s, n, p, n / 2 + 1, len) != VEIL_OK) {
		free(p);
		return veil_fail(VEIL_E_USAGE, "an argument is not hex");
	}
	p[*len] = '\0';
	*out = p;
	return VEIL_OK;
}

static veil_err algs_arg(const char *s, unsigned *out)
{
	static const unsigned all[] = {VEIL_JWS_ES256, VEIL_JWS_ES384, VEIL_JWS_ES512,
				       VEIL_JWS_EDDSA};
	const char *p = s;

	*out = 0;
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		unsigned bit = 0;
		for (size_t i = 0; i < 4; i++)
			if (strlen(veil_jws_alg_name(all[i])) == n &&
			    strncmp(veil_jws_alg_name(all[i]), p, n) == 0)
				bit = all[i];
		ENSURE(bit != 0, VEIL_E_USAGE, "unknown algorithm in %s", s);
		*out |= bit;
		p += n + (p[n] == ',');
	}
	return VEIL_OK;
}

static veil_err say(const char *tag, const char *text)
{
	ENSURE(printf("%s %s\n", tag, text) > 0 && fflush(stdout) == 0, VEIL_E_IO, "stdout");
	return VEIL_OK;
}

static veil_err say_hex(const char *tag, const uint8_t *p, size_t n)
{
	char *hex = malloc(2 * n + 1);
	veil_err err;

	ENSURE(hex != NULL, VEIL_E_NOMEM, "out of memory");
	veil_hex_encode(p, n, hex);
	err = say(tag, hex);
	free(hex);
	return err;
}

static veil_err say_json(const char *tag, const json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);
	veil_err err;

	ENSURE(text != NULL, VEIL_E_NOMEM, "JSON output");
	err = say(tag, text);
	free(text);
	return err;
}

static veil_err cmd_keygen(const char *name, const char *type)
{
	static const struct {
		const char *name;
		veil_jwk_type type;
	} types[] = {{"p256", VEIL_JWK_EC_P256},
		     {"p384", VEIL_JWK_EC_P384},
		     {"p521", VEIL_JWK_EC_P521},
		     {"rsa2048", VEIL_JWK_RSA},
		     {"ed25519", VEIL_JWK_ED25519}};
	veil_jwk *k = NULL;
	json_t *pub = NULL;
	veil_err err;

	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strcmp(type, types[i].name) == 0) {
			TRY(veil_jwk_generate(types[i].type, 2048, &k));
			CHECK(veil_jwk_export_public(k, &pub));
			CHECK(put_key(name, k));
			k = NULL;
			CHECK(say_json("jwk", pub));
			goto out;
		}
	return veil_fail(VEIL_E_USAGE, "unknown key type %s", type);
out:
	veil_jwk_free(k);
	json_decref(pub);
	return err;
}

static veil_err cmd_import(const char *name, const char *hex, bool priv)
{
	uint8_t *text = NULL;
	size_t len = 0;
	char t[VEIL_JWK_THUMBPRINT_B64_LEN + 1];
	veil_jwk *k = NULL;
	veil_err err;

	TRY(hex_arg(hex, &text, &len));
	err = priv ? veil_jwk_parse_private_bytes(text, len, &k)
		   : veil_jwk_parse_public_bytes(text, len, &k);
	veil_free_secret(text, len + 1);
	TRY(err);
	err = veil_jwk_thumbprint_b64(k, t);
	if (err != VEIL_OK) {
		veil_jwk_free(k);
		return err;
	}
	TRY(put_key(name, k));
	return say("thumbprint", t);
}

static veil_err cmd_thumbprint(const char *name)
{
	char t[VEIL_JWK_THUMBPRINT_B64_LEN + 1];
	veil_jwk *k;

	TRY(key_arg(name, &k));
	TRY(veil_jwk_thumbprint_b64(k, t));
	return say("thumbprint", t);
}

static veil_err cmd_encrypt(const char *name, const char *hex)
{
	uint8_t *pt = NULL;
	size_t len = 0, out_len = 0;
	char *jwe = NULL;
	veil_jwk *k;
	veil_err err;

	TRY(key_arg(name, &k));
	TRY(hex_arg(hex, &pt, &len));
	err = veil_jwe_encrypt(k, pt, len, &jwe, &out_len);
	veil_free_secret(pt, len + 1);
	TRY(err);
	err = say("jwe", jwe);
	free(jwe);
	return err;
}

static veil_err cmd_decrypt(const char *name, const char *hex)
{
	uint8_t *jwe = NULL, *pt = NULL;
	size_t len = 0, pt_len = 0;
	veil_jwk *k;
	veil_err err;

	TRY(key_arg(name, &k));
	TRY(hex_arg(hex, &jwe, &len));
	err = veil_jwe_decrypt(k, jwe, len, &pt, &pt_len);
	free(jwe);
	TRY(err);
	err = say_hex("plaintext", pt, pt_len);
	veil_free_secret(pt, pt_len);
	return err;
}

/* sign and jwt-sign: the header is "-" or hex of a JSON object. */
static veil_err cmd_sign(const char *name, const char *header_hex, const char *payload_hex,
			 bool jwt)
{
	uint8_t *h = NULL, *p = NULL;
	size_t hl = 0, pl = 0, out_len = 0;
	json_t *header = NULL, *claims = NULL;
	char *tok = NULL;
	veil_jwk *k;
	veil_err err;

	TRY(key_arg(name, &k));
	if (strcmp(header_hex, "-") != 0) {
		TRY(hex_arg(header_hex, &h, &hl));
		header = json_loadb((const char *)h, hl, 0, NULL);
		free(h);
		ENSURE(header != NULL, VEIL_E_USAGE, "the header is not JSON");
	}
	CHECK(hex_arg(payload_hex, &p, &pl));
	if (jwt) {
		claims = json_loadb((const char *)p, pl, 0, NULL);
		CHECK_THAT(claims != NULL, VEIL_E_USAGE, "the claims are not JSON");
		CHECK(veil_jwt_sign(k, header, claims, &tok, &out_len));
	} else {
		CHECK(veil_jws_sign(k, header, p, pl, &tok, &out_len));
	}
	CHECK(say(jwt ? "jwt" : "jws", tok));
out:
	free(tok);
	free(p);
	json_decref(claims);
	json_decref(header);
	return err;
}

static veil_err cmd_verify(const char *name, const char *algs_s, const char *hex)
{
	uint8_t *tok = NULL;
	size_t len = 0;
	unsigned algs;
	veil_jws jws;
	json_t *out = NULL;
	char *payload_hex = NULL;
	veil_jwk *k;
	veil_err err;

	TRY(key_arg(name, &k));
	TRY(algs_arg(algs_s, &algs));
	TRY(hex_arg(hex, &tok, &len));
	err = veil_jws_verify((const char *)tok, len, k, algs, &jws);
	free(tok);
	TRY(err);
	payload_hex = malloc(2 * jws.payload_len + 1);
	CHECK_THAT(payload_hex != NULL, VEIL_E_NOMEM, "out of memory");
	veil_hex_encode(jws.payload, jws.payload_len, payload_hex);
	out = json_pack("{s:s, s:O, s:s}", "alg", veil_jws_alg_name(jws.alg), "header", jws.header,
			"payload_hex", payload_hex);
	CHECK_THAT(out != NULL, VEIL_E_NOMEM, "JSON output");
	CHECK(say_json("verified", out));
out:
	json_decref(out);
	free(payload_hex);
	veil_jws_clear(&jws);
	return err;
}

static veil_err cmd_jwt_verify(const char *name, const char *algs_s, const char *now_s,
			       const char *hex)
{
	uint8_t *tok = NULL;
	size_t len = 0;
	unsigned algs;
	veil_jwt_rules rules = {.require_exp = true};
	json_t *claims = NULL;
	char *end;
	veil_jwk *k;
	veil_err err;

	TRY(key_arg(name, &k));
	TRY(algs_arg(algs_s, &algs));
	errno = 0;
	rules.now = strtoll(now_s, &end, 10); /* checked: end and errno below */
	ENSURE(errno == 0 && end != now_s && *end == '\0', VEIL_E_USAGE, "NOW is not a number");
	TRY(hex_arg(hex, &tok, &len));
	err = veil_jwt_verify((const char *)tok, len, k, algs, &rules, &claims, NULL);
	free(tok);
	TRY(err);
	err = say_json("claims", claims);
	json_decref(claims);
	return err;
}

/* Splits line in place at single spaces into at most MAX_WORDS words. */
static size_t split(char *line, char *words[MAX_WORDS])
{
	size_t n = 0;

	for (char *p = line; n < MAX_WORDS && *p != '\0';) {
		words[n++] = p;
		p = strchr(p, ' ');
		if (p == NULL)
			break;
		*p++ = '\0';
	}
	return n;
}

static veil_err run_command(char **w, size_t n)
{
	ENSURE(n >= 2, VEIL_E_USAGE, "a command and a key name, at least");
	if (strcmp(w[0], "keygen") == 0 && n == 3)
		return cmd_keygen(w[1], w[2]);
	if (strcmp(w[0], "import-public") == 0 && n == 3)
		return cmd_import(w[1], w[2], false);
	if (strcmp(w[0], "import-private") == 0 && n == 3)
		return cmd_import(w[1], w[2], true);
	if (strcmp(w[0], "thumbprint") == 0 && n == 2)
		return cmd_thumbprint(w[1]);
	if (strcmp(w[0], "encrypt") == 0 && n == 3)
		return cmd_encrypt(w[1], w[2]);
	if (strcmp(w[0], "decrypt") == 0 && n == 3)
		return cmd_decrypt(w[1], w[2]);
	if (strcmp(w[0], "sign") == 0 && n == 4)
		return cmd_sign(w[1], w[2], w[3], false);
	if (strcmp(w[0], "jwt-sign") == 0 && n == 3)
		return cmd_sign(w[1], "-", w[2], true);
	if (strcmp(w[0], "verify") == 0 && n == 4)
		return cmd_verify(w[1], w[2], w[3]);
	if (strcmp(w[0], "jwt-verify") == 0 && n == 5)
		return cmd_jwt_verify(w[1], w[2], w[3], w[4]);
	return veil_fail(VEIL_E_USAGE, "unknown command or wrong number of words: %.32s", w[0]);
}

int main(int argc, char **argv)
{
	char *line = NULL, *words[MAX_WORDS];
	size_t cap = 0;
	ssize_t len;
	int status = 0;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: jose_peer < commands (see the file's header)\n");
		return 2;
	}
	while ((len = getline(&line, &cap, stdin)) >= 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		veil_err_clear();
		veil_err err = run_command(words, split(line, words));
		if (err != VEIL_OK) {
			char detail[1024];
			snprintf(detail, sizeof detail, "%s", veil_err_detail());
			veil_text_sanitize(detail);
			if (printf("error %s: %s\n", veil_err_str(err), detail) < 0 ||
			    fflush(stdout) != 0) {
				status = 1;
				break;
			}
		}
		if (err == VEIL_E_IO) {
			status = 1;
			break;
		}
	}
	free(line);
	for (size_t i = 0; i < MAX_KEYS; i++)
		veil_jwk_free(keys[i].key);
	return status;
}
