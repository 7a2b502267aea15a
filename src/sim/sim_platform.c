/*
 * sim_platform.c - creating and opening a simulated platform directory
 * (layout in include/veil/sim.h).
 *
 * Creation is all or nothing: everything is written into a fresh temporary
 * directory beside the target, which is renamed into place only when every
 * file is written and synced, so an interrupted `veil sim init` never leaves
 * a half-made platform that later fails in confusing ways.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/sim_internal.h"
#include "veil/codec.h"
#include "veil/crypto.h"
#include "veil/json.h"

/* platform.json as `veil sim init` writes it (one argument: the GPU count). */
#define SIM_CONFIG_FORMAT                                                                          \
	"{\n"                                                                                      \
	"  \"version\": 1,\n"                                                                      \
	"  \"tcb\": {\"bootloader\": 3, \"tee\": 0, \"snp\": 8, \"microcode\": 115},\n"            \
	"  \"debug\": false,\n"                                                                    \
	"  \"host_data\": "                                                                        \
	"\"0000000000000000000000000000000000000000000000000000000000000000\",\n"                  \
	"  \"gpus\": %u,\n"                                                                        \
	"  \"gpu\": {\"driver_version\": \"550.90.07\", \"vbios_version\": \"96.00.9F.00.04\",\n"  \
	"          \"cc_mode\": \"on\", \"devtools\": false, \"ready\": true}\n"                   \
	"}\n"

static const char *const config_members[] = {"version", "tcb", "debug", "host_data",
					     "gpus",    "gpu", NULL};
static const char *const tcb_members[] = {"bootloader", "tee", "snp", "microcode", NULL};
static const char *const gpu_members[] = {"driver_version", "vbios_version", "cc_mode",
					  "devtools",       "ready",         NULL};

static veil_err get_bool(const json_t *o, const char *key, bool *out)
{
	json_t *v = json_object_get(o, key);

	ENSURE(json_is_boolean(v), VEIL_E_MALFORMED, "\"%s\" must be true or false", key);
	*out = json_is_true(v);
	return VEIL_OK;
}

static veil_err get_u8(const json_t *o, const char *key, uint8_t *out)
{
	int64_t v;

	TRY(veil_json_get_int(o, key, 0, 255, &v));
	*out = (uint8_t)v;
	return VEIL_OK;
}

static veil_err parse_vbios(const char *s, uint8_t out[5])
{
	/* Five two-digit hex bytes separated by dots: "96.00.9F.00.04". */
	ENSURE(strlen(s) == 14, VEIL_E_MALFORMED,
	       "\"vbios_version\" must look like 96.00.9F.00.04");
	for (size_t i = 0; i < 5; i++) {
		size_t n;
		ENSURE(i == 4 || s[i * 3 + 2] == '.', VEIL_E_MALFORMED,
		       "\"vbios_version\" must look like 96.00.9F.00.04");
		TRY(veil_hex_decode(s + i * 3, 2, out + i, 1, &n));
	}
	return VEIL_OK;
}

static veil_err parse_gpu(const json_t *gpu, sim_config *c)
{
	const char *driver, *vbios, *cc;

	TRY(veil_json_only_members(gpu, "\"gpu\"", gpu_members));
	TRY(veil_json_get_string(gpu, "driver_version", &driver));
	ENSURE(driver[0] != '\0' && strlen(driver) < sizeof c->driver_version &&
		   strspn(driver, "0123456789.") == strlen(driver),
	       VEIL_E_MALFORMED, "\"driver_version\" must be dotted numbers like 550.90.07");
	memcpy(c->driver_version, driver, strlen(driver) + 1);
	TRY(veil_json_get_string(gpu, "vbios_version", &vbios));
	TRY(parse_vbios(vbios, c->vbios));
	TRY(veil_json_get_string(gpu, "cc_mode", &cc));
	ENSURE(strcmp(cc, "on") == 0 || strcmp(cc, "off") == 0, VEIL_E_MALFORMED,
	       "\"cc_mode\" must be \"on\" or \"off\"");
	c->gpu_state.cc_on = strcmp(cc, "on") == 0;
	TRY(get_bool(gpu, "devtools", &c->gpu_state.devtools));
	return get_bool(gpu, "ready", &c->gpu_state.ready);
}

static veil_err config_fields(const json_t *doc, sim_config *c)
{
	json_t *tcb, *gpu;
	const char *host;
	int64_t v;
	size_t n;

	TRY(veil_json_only_members(doc, "platform.json", config_members));
	TRY(veil_json_get_int(doc, "version", 1, 1, &v));
	TRY(veil_json_get_object(doc, "tcb", &tcb));
	TRY(veil_json_only_members(tcb, "\"tcb\"", tcb_members));
	TRY(get_u8(tcb, "bootloader", &c->tcb_bootloader));
	TRY(get_u8(tcb, "tee", &c->tcb_tee));
	TRY(get_u8(tcb, "snp", &c->tcb_snp));
	TRY(get_u8(tcb, "microcode", &c->tcb_microcode));
	TRY(get_bool(doc, "debug", &c->debug));
	TRY(veil_json_get_string(doc, "host_data", &host));
	TRY(veil_hex_decode(host, strlen(host), c->host_data, sizeof c->host_data, &n));
	ENSURE(n == sizeof c->host_data, VEIL_E_MALFORMED, "\"host_data\" must be 32 bytes of hex");
	TRY(veil_json_get_int(doc, "gpus", 0, VEIL_SIM_GPUS_MAX, &v));
	c->gpus = (unsigned)v;
	TRY(veil_json_get_object(doc, "gpu", &gpu));
	return parse_gpu(gpu, c);
}

veil_err sim_config_parse(const uint8_t *buf, size_t len, const char *origin, sim_config *out)
{
	json_t *doc = NULL;
	veil_err err;

	memset(out, 0, sizeof *out);
	TRY(veil_json_parse(buf, len, &doc));
	err = config_fields(doc, out);
	json_decref(doc);
	if (err != VEIL_OK)
		return veil_fail_context(err, "%s", origin);
	return VEIL_OK;
}

/* Removes a temporary platform directory made by init (flat, our files). */
static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d != NULL && (e = readdir(d)) != NULL) {
		char path[PATH_MAX];
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < sizeof path)
			(void)unlink(path);
	}
	if (d != NULL)
		closedir(d);
	(void)rmdir(dir);
}

static veil_err write_platform(const char *tmp, unsigned gpus, int64_t now)
{
	EVP_PKEY *root_key = NULL, *key = NULL;
	X509 *root = NULL, *cert = NULL;
	const int64_t from = now - 3600, to = now + 10LL * 366 * 24 * 3600;
	uint8_t fp[32];
	char hex[72], config[1024], name[32];
	veil_err err = VEIL_OK;

	root_key = sim_key_generate();
	CHECK_THAT(root_key != NULL, VEIL_E_CRYPTO, "cannot generate a P-384 key");
	root = sim_cert_issue("Veil Sim Root", root_key, NULL, NULL, true, from, to);
	CHECK_THAT(root != NULL, VEIL_E_CRYPTO, "cannot issue the sim root: %s", veil_err_detail());
	CHECK(sim_key_write(tmp, "root.key", root_key));
	CHECK(sim_cert_write(tmp, "root.pem", root));
	CHECK(veil_cert_sha256(root, fp));
	veil_hex_encode(fp, sizeof fp, hex);
	hex[64] = '\n';
	CHECK(sim_file_write(tmp, "root.sha256", hex, 65, 0644));
	for (unsigned i = 0; i <= gpus; i++) {
		bool platform = i == 0;
		key = sim_key_generate();
		CHECK_THAT(key != NULL, VEIL_E_CRYPTO, "cannot generate a P-384 key");
		cert = sim_cert_issue(platform ? "Veil Sim Platform" : "Veil Sim GPU", key, root,
				      root_key, false, from, to);
		CHECK_THAT(cert != NULL, VEIL_E_CRYPTO, "cannot issue a sim certificate: %s",
			   veil_err_detail());
		char key_name[40], cert_name[40];
		if (platform)
			snprintf(name, sizeof name, "platform");
		else
			snprintf(name, sizeof name, "gpu%u", i - 1);
		snprintf(key_name, sizeof key_name, "%s.key", name);
		snprintf(cert_name, sizeof cert_name, "%s.pem", name);
		CHECK(sim_key_write(tmp, key_name, key));
		EVP_PKEY_free(key);
		key = NULL;
		CHECK(sim_cert_write(tmp, cert_name, cert));
		X509_free(cert);
		cert = NULL;
	}
	snprintf(config, sizeof config, SIM_CONFIG_FORMAT, gpus);
	CHECK(sim_file_write(tmp, "platform.json", config, strlen(config), 0644));
out:
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(key);
	X509_free(root);
	X509_free(cert);
	return err;
}

static veil_err dir_usable(const char *dir)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	bool empty = true;

	if (stat(dir, &st) != 0) {
		ENSURE(errno == ENOENT, VEIL_E_IO, "cannot use %s: %s", dir, strerror(errno));
		return VEIL_OK;
	}
	ENSURE(S_ISDIR(st.st_mode), VEIL_E_USAGE, "%s exists and is not a directory", dir);
	d = opendir(dir);
	ENSURE(d != NULL, VEIL_E_IO, "cannot read %s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			empty = false;
	closedir(d);
	ENSURE(empty, VEIL_E_USAGE,
	       "%s is not empty; refusing to overwrite (a sim platform's keys are its identity)",
	       dir);
	return VEIL_OK;
}

veil_err veil_sim_init(const char *dir, unsigned gpus, int64_t now)
{
	char tmp[PATH_MAX];
	veil_err err;
	size_t n = strlen(dir);

	ENSURE(gpus <= VEIL_SIM_GPUS_MAX, VEIL_E_USAGE, "at most %d simulated GPUs",
	       VEIL_SIM_GPUS_MAX);
	TRY(dir_usable(dir));
	/* "DIR/" names DIR: the temporary directory goes beside it, not into it. */
	while (n > 1 && dir[n - 1] == '/')
		n--;
	ENSURE(n < sizeof tmp &&
		   (size_t)snprintf(tmp, sizeof tmp, "%.*s.init-XXXXXX", (int)n, dir) < sizeof tmp,
	       VEIL_E_USAGE, "path too long: %s", dir);
	ENSURE(mkdtemp(tmp) != NULL, VEIL_E_IO, "cannot create a directory beside %s: %s", dir,
	       strerror(errno));
	err = write_platform(tmp, gpus, now);
	if (err == VEIL_OK && chmod(tmp, 0755) != 0)
		err = veil_fail(VEIL_E_IO, "cannot set the mode of %s: %s", tmp, strerror(errno));
	/* rename(2) replaces an empty directory atomically; a non-empty one
	 * was refused above (and rename would refuse it too). */
	if (err == VEIL_OK && rename(tmp, dir) != 0)
		err = veil_fail(VEIL_E_IO, "cannot move %s to %s: %s", tmp, dir, strerror(errno));
	if (err != VEIL_OK) {
		remove_tree(tmp);
		return veil_fail_context(err, "sim init %s", dir);
	}
	return VEIL_OK;
}

void veil_sim_free(veil_sim *s)
{
	if (s == NULL)
		return;
	X509_free(s->root);
	X509_free(s->platform);
	free(s->root_der);
	free(s->platform_der);
	EVP_PKEY_free(s->platform_key);
	for (size_t i = 0; i < VEIL_SIM_GPUS_MAX; i++) {
		X509_free(s->gpu[i]);
		EVP_PKEY_free(s->gpu_key[i]);
	}
	free(s);
}

/* A key and the certificate that must carry its public half. */
static veil_err open_pair(const char *dir, const char *name, EVP_PKEY **key, X509 **cert,
			  uint8_t **der, size_t *der_len)
{
	char key_name[40], cert_name[40];
	uint8_t *tmp_der = NULL;
	size_t tmp_len = 0;

	snprintf(key_name, sizeof key_name, "%s.key", name);
	snprintf(cert_name, sizeof cert_name, "%s.pem", name);
	TRY(sim_key_read(dir, key_name, key));
	TRY(sim_cert_read(dir, cert_name, cert, der != NULL ? der : &tmp_der,
			  der != NULL ? der_len : &tmp_len));
	free(tmp_der);
	ENSURE(X509_check_private_key(*cert, *key) == 1, VEIL_E_MISMATCH,
	       "%s/%s does not hold the public half of %s/%s", dir, cert_name, dir, key_name);
	return VEIL_OK;
}

veil_err veil_sim_open(const char *dir, veil_sim **out)
{
	veil_sim *s = calloc(1, sizeof *s);
	char path[PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;
	veil_err err = VEIL_OK;

	*out = NULL;
	ENSURE(s != NULL, VEIL_E_NOMEM, "out of memory");
	CHECK_THAT((size_t)snprintf(path, sizeof path, "%s/platform.json", dir) < sizeof path,
		   VEIL_E_USAGE, "path too long: %s", dir);
	CHECK(veil_file_read(path, 64 * 1024, &buf, &len));
	CHECK(sim_config_parse(buf, len, path, &s->config));
	CHECK(sim_cert_read(dir, "root.pem", &s->root, &s->root_der, &s->root_der_len));
	CHECK(veil_cert_sha256(s->root, s->root_sha256));
	CHECK(open_pair(dir, "platform", &s->platform_key, &s->platform, &s->platform_der,
			&s->platform_der_len));
	for (unsigned i = 0; i < s->config.gpus; i++) {
		char name[16];
		snprintf(name, sizeof name, "gpu%u", i);
		CHECK(open_pair(dir, name, &s->gpu_key[i], &s->gpu[i], NULL, NULL));
	}
	*out = s;
	s = NULL;
out:
	free(buf);
	veil_sim_free(s);
	if (err != VEIL_OK)
		return veil_fail_context(err, "sim platform %s (made by `veil sim init`)", dir);
	return VEIL_OK;
}

void veil_sim_root_sha256(const veil_sim *s, uint8_t out[32])
{
	memcpy(out, s->root_sha256, 32);
}

unsigned veil_sim_gpu_count(const veil_sim *s)
{
	return s->config.gpus;
}
