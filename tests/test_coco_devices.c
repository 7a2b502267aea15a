/*
 * test_coco_devices.c - Confidential Containers' NVIDIA additional evidence
 * and the bundle that carries it.
 *
 * The corpus has NVIDIA SDK evidence lists ({arch, nonce, evidence,
 * certificate} per GPU) but no capture of CoCo's map, so the tests build
 * CoCo's form from them the way its attester does: the same arch,
 * evidence and certificate strings, a made-up uuid, no nonce. The bundle
 * tests put that map, as the string the KBS protocol carries, in the runtime
 * data of a simulated CPU report (which signs whatever it is given), so the
 * CPU binding holds and each real GPU report must verify on its own and fail
 * for exactly its nonce: real hardware signed another session's.
 */
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "test_nv_util.h"
#include "test_result_util.h"
#include "veil/bundle.h"
#include "veil/coco.h"
#include "veil/json.h"
#include "veil/sim.h"

#define AT "2025-03-01T00:00:00Z" /* the RIM signers are valid (SOURCES.md) */
#define X1 "nvidia/evidence_json/h100x1_ppcie_drv590.12_nonce_e97b.json"
#define X8 "nvidia/evidence_json/h100x8_ppcie_drv590.12_nonce_4760.json"

static const char *const sdk_files[] = {
    "nvidia/evidence_json/h100x1_drv570.86.10_rim_certhold_nonce_931d.json",
    "nvidia/evidence_json/h100x1_ppcie_drv590.12_b_nonce_e97b.json",
    X1,
    "nvidia/evidence_json/h100x4_ppcie_drv590.12_nonce_e97b.json",
    X8,
    NULL};

static json_t *load_json(const char *rel)
{
	size_t n;
	uint8_t *text = td_read(rel, &n);
	json_t *v = NULL;

	if (veil_json_parse(text, n, &v) != VEIL_OK) {
		fprintf(stderr, "cannot parse %s\n", rel);
		exit(2);
	}
	free(text);
	return v;
}

/* CoCo's entry: arch, a made-up NVML-shaped uuid, evidence, certificate. */
static json_t *coco_entry(json_t *arch, size_t i, json_t *evidence, json_t *certificate)
{
	char uuid[48];

	snprintf(uuid, sizeof uuid, "GPU-5e1f0c3a-0000-4000-8000-%012zx", i);
	return json_pack("{s:O, s:s, s:O, s:O}", "arch", arch, "uuid", uuid, "evidence", evidence,
			 "certificate", certificate);
}

/* CoCo's map around the NVIDIA SDK list in rel. */
static json_t *coco_from_sdk(const char *rel)
{
	json_t *sdk = load_json(rel), *list = json_array(), *e;
	size_t i;

	json_array_foreach(sdk, i, e) json_array_append_new(
	    list, coco_entry(json_object_get(e, "arch"), i, json_object_get(e, "evidence"),
			     json_object_get(e, "certificate")));
	json_decref(sdk);
	return json_pack("{s:{s:o}}", "nvidia", "device_evidence_list", list);
}

/* A small map of n well-shaped entries (their bytes are not reports). */
static json_t *coco_small(size_t n)
{
	json_t *list = json_array(), *arch = json_string("Hopper"), *b = json_string("AA==");

	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, coco_entry(arch, i, b, b));
	json_decref(arch);
	json_decref(b);
	return json_pack("{s:{s:o}}", "nvidia", "device_evidence_list", list);
}

static json_t *entry0(json_t *map)
{
	return json_array_get(
	    json_object_get(json_object_get(map, "nvidia"), "device_evidence_list"), 0);
}

/* Converts map, expecting want and a detail naming `says`; frees map. */
static bool refused(json_t *map, veil_err want, const char *says)
{
	json_t *out = (json_t *)1;
	veil_err_clear();
	veil_err got = veil_coco_devices(map, &out);
	bool ok = got == want && out == NULL && strstr(veil_err_detail(), says) != NULL;

	if (!ok)
		fprintf(stderr, "  got %s (%s), want %s naming %s\n", veil_err_str(got),
			veil_err_detail(), veil_err_str(want), says);
	json_decref(map);
	return ok;
}

TEST(sdk_lists_convert_to_device_entries)
{
	static const char *const members[] = {"type", "evidence", "certificate", NULL};

	for (size_t f = 0; sdk_files[f] != NULL; f++) {
		json_t *sdk = load_json(sdk_files[f]), *map = coco_from_sdk(sdk_files[f]);
		json_t *devs = NULL, *dev;
		size_t i;

		EXPECT_OK(veil_coco_devices(map, &devs));
		REQUIRE(json_is_array(devs));
		EXPECT(json_array_size(devs) == json_array_size(sdk));
		json_array_foreach(devs, i, dev)
		{
			json_t *src = json_array_get(sdk, i);
			const char *cert = json_string_value(json_object_get(dev, "certificate"));
			uint8_t *pem = NULL;
			size_t pem_len = 0;

			EXPECT_OK(veil_json_only_members(dev, "entry", members));
			EXPECT(strcmp(json_string_value(json_object_get(dev, "type")), "nvidia") ==
			       0);
			EXPECT(json_equal(json_object_get(dev, "evidence"),
					  json_object_get(src, "evidence")));
			EXPECT(json_equal(json_object_get(dev, "certificate"),
					  json_object_get(src, "certificate")));
			/* The certificate is base64 of the PEM text, as the
			 * bundle's own form (and its collateral) takes it. */
			REQUIRE(cert != NULL);
			pem = malloc(veil_base64_decoded_max(strlen(cert)) + 1);
			REQUIRE(pem != NULL);
			EXPECT_OK(veil_base64_decode(cert, strlen(cert), pem,
						     veil_base64_decoded_max(strlen(cert)),
						     &pem_len));
			EXPECT(pem_len > 27 && memcmp(pem, "-----BEGIN CERTIFICATE-----", 27) == 0);
			free(pem);
		}
		json_decref(devs);
		json_decref(map);
		json_decref(sdk);
	}
}

TEST(arch_spellings)
{
	static const char *const good[] = {"Hopper", "HOPPER", "Blackwell", "BLACKWELL", NULL};
	static const char *const bad[] = {"hopper",  "Ampere",  "Unknown", "",
					  " Hopper", "Hopperr", NULL};

	for (size_t i = 0; good[i] != NULL; i++) {
		json_t *map = coco_small(1), *devs = NULL;
		json_object_set_new(entry0(map), "arch", json_string(good[i]));
		EXPECT_OK(veil_coco_devices(map, &devs));
		EXPECT(json_array_size(devs) == 1);
		json_decref(devs);
		json_decref(map);
	}
	for (size_t i = 0; bad[i] != NULL; i++) {
		json_t *map = coco_small(1);
		json_object_set_new(entry0(map), "arch", json_string(bad[i]));
		EXPECT(refused(map, VEIL_E_UNSUPPORTED, "Hopper or Blackwell"));
	}
	json_t *map = coco_small(1);
	json_object_set_new(entry0(map), "arch", json_string("LS10"));
	EXPECT(refused(map, VEIL_E_UNSUPPORTED, "NVSwitch"));
	map = coco_small(1);
	json_object_set_new(entry0(map), "arch", json_integer(9)); /* NVML's number */
	EXPECT(refused(map, VEIL_E_MALFORMED, "\"arch\""));
}

TEST(map_shape_refused)
{
	json_t *map;

	/* Other TEEs: refused, named. */
	map = coco_small(1);
	json_object_set_new(map, "tdx", json_object());
	EXPECT(refused(map, VEIL_E_UNSUPPORTED, "\"tdx\""));
	map = json_pack("{s:{}}", "sgx");
	EXPECT(refused(map, VEIL_E_UNSUPPORTED, "\"sgx\""));
	map = json_pack("{s:{s:[]}}", "Nvidia", "device_evidence_list");
	EXPECT(refused(map, VEIL_E_UNSUPPORTED, "\"Nvidia\""));
	EXPECT(refused(json_object(), VEIL_E_MALFORMED, "empty"));
	/* Not a map at all. */
	EXPECT(refused(json_array(), VEIL_E_MALFORMED, "not a JSON object"));
	EXPECT(refused(json_string("{}"), VEIL_E_MALFORMED, "not a JSON object"));
	EXPECT(refused(json_null(), VEIL_E_MALFORMED, "not a JSON object"));
	/* "nvidia" not an object, or with more than the list. */
	EXPECT(refused(json_pack("{s:[]}", "nvidia"), VEIL_E_MALFORMED, "not a JSON object"));
	map = coco_small(1);
	json_object_set_new(json_object_get(map, "nvidia"), "nonce", json_string("00"));
	EXPECT(refused(map, VEIL_E_MALFORMED, "\"nonce\""));
	EXPECT(refused(json_pack("{s:{}}", "nvidia"), VEIL_E_MALFORMED, "device_evidence_list"));
	EXPECT(refused(json_pack("{s:{s:{}}}", "nvidia", "device_evidence_list"), VEIL_E_MALFORMED,
		       "device_evidence_list"));
	/* An empty list: the guest says "no devices" with "" instead. */
	EXPECT(refused(coco_small(0), VEIL_E_MALFORMED, "empty"));
}

TEST(device_count_cap)
{
	json_t *map = coco_small(16), *devs = NULL;

	EXPECT_OK(veil_coco_devices(map, &devs));
	EXPECT(json_array_size(devs) == 16);
	json_decref(devs);
	json_decref(map);
	EXPECT(refused(coco_small(17), VEIL_E_LIMIT, "more than 16"));
}

TEST(entry_shape_refused)
{
	static const char *const keys[] = {"arch", "uuid", "evidence", "certificate", NULL};
	json_t *map, *wrong[4];

	for (size_t k = 0; keys[k] != NULL; k++) {
		/* Missing. */
		map = coco_small(1);
		json_object_del(entry0(map), keys[k]);
		EXPECT(refused(map, VEIL_E_MALFORMED, keys[k]));
		/* Not a string. */
		wrong[0] = json_integer(1);
		wrong[1] = json_null();
		wrong[2] = json_array();
		wrong[3] = json_true();
		for (size_t w = 0; w < 4; w++) {
			map = coco_small(1);
			json_object_set_new(entry0(map), keys[k], wrong[w]);
			EXPECT(refused(map, VEIL_E_MALFORMED, keys[k]));
		}
	}
	/* An extra member: the SDK's own "nonce" (which CoCo drops), and any
	 * of Veil's own members. */
	map = coco_small(1);
	json_object_set_new(entry0(map), "nonce", json_string("4760"));
	EXPECT(refused(map, VEIL_E_MALFORMED, "\"nonce\""));
	map = coco_small(1);
	json_object_set_new(entry0(map), "type", json_string("nvidia"));
	EXPECT(refused(map, VEIL_E_MALFORMED, "\"type\""));
	/* The error names the entry. */
	map = coco_small(3);
	json_object_set_new(
	    json_array_get(json_object_get(json_object_get(map, "nvidia"), "device_evidence_list"),
			   2),
	    "state", json_object());
	EXPECT(refused(map, VEIL_E_MALFORMED, "[2]"));
	/* An entry that is not an object. */
	map = coco_small(1);
	json_array_append_new(
	    json_object_get(json_object_get(map, "nvidia"), "device_evidence_list"),
	    json_string("GPU-1"));
	EXPECT(refused(map, VEIL_E_MALFORMED, "[1]"));
}

TEST(uuid_shape)
{
	char longest[65];
	json_t *map, *devs = NULL;

	memset(longest, 'a', 64);
	longest[64] = '\0';
	map = coco_small(1);
	json_object_set_new(entry0(map), "uuid", json_string(longest));
	EXPECT_OK(veil_coco_devices(map, &devs)); /* 64 characters */
	json_decref(devs);
	json_decref(map);
	map = coco_small(1);
	json_object_set_new(entry0(map), "uuid", json_string("unknown")); /* NVAT's default */
	EXPECT_OK(veil_coco_devices(map, &devs));
	json_decref(devs);
	json_decref(map);

	static const char *const bad[] = {"",         "GPU-1 2",      "GPU-\n",
					  "GPU-\x7f", "GPU-\xc3\xa9", NULL};
	for (size_t i = 0; bad[i] != NULL; i++) {
		map = coco_small(1);
		json_object_set_new(entry0(map), "uuid", json_string(bad[i]));
		EXPECT(refused(map, VEIL_E_MALFORMED, "\"uuid\""));
	}
	char over[66];
	snprintf(over, sizeof over, "%sc", longest); /* 65 characters */
	map = coco_small(1);
	json_object_set_new(entry0(map), "uuid", json_string(over));
	EXPECT(refused(map, VEIL_E_MALFORMED, "1 to 64"));
}

/* ---- the bundle: a simulated CPU report, real GPU reports in CoCo's form ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

typedef struct coco_sim {
	char parent[32], dir[48];
	veil_sim *sim;
	uint8_t root[32];
	int64_t at;
} coco_sim;

static bool coco_sim_open(coco_sim *s)
{
	memset(s, 0, sizeof *s);
	s->at = td_time(AT);
	snprintf(s->parent, sizeof s->parent, "/tmp/veil-coco-XXXXXX");
	if (mkdtemp(s->parent) == NULL)
		return false;
	snprintf(s->dir, sizeof s->dir, "%s/p", s->parent);
	if (veil_sim_init(s->dir, 0, s->at) != VEIL_OK || veil_sim_open(s->dir, &s->sim) != VEIL_OK)
		return false;
	veil_sim_root_sha256(s->sim, s->root);
	return true;
}

static void coco_sim_close(coco_sim *s)
{
	veil_sim_free(s->sim);
	if (s->parent[0] != '\0')
		(void)nftw(s->parent, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static char *b64(const uint8_t *p, size_t n)
{
	char *s = malloc(veil_base64_encoded_len(n) + 1);

	if (s != NULL)
		veil_base64_encode(p, n, s);
	return s;
}

/* A bundle whose runtime data carries `ae` (a JSON value: the string form,
 * or anything else) and a sim CPU report bound to that runtime data. */
static char *sim_bundle(const coco_sim *s, json_t *ae)
{
	json_t *rt =
	    json_pack("{s:s, s:{s:s, s:s, s:s, s:s}, s:O}", "nonce", "challenge-1", "tee-pubkey",
		      "kty", "EC", "crv", "P-256", "x", "eA", "y", "eQ", "additional-evidence", ae);
	uint8_t rd[64], measurement[48], *cpu = NULL;
	size_t cl = 0;
	char *text = NULL;

	memset(measurement, 0xA5, sizeof measurement);
	if (rt != NULL && veil_runtime_data_digest(rt, rd) == VEIL_OK &&
	    veil_sim_attest(s->sim, measurement, rd, s->at, &cpu, &cl) == VEIL_OK) {
		char *p64 = b64(cpu, cl);
		json_t *doc = json_pack("{s:i, s:s, s:s, s:O}", "version", 1, "tee", "sim",
					"primary_evidence", p64, "runtime_data", rt);
		text = json_dumps(doc, JSON_COMPACT);
		json_decref(doc);
		free(p64);
	}
	json_decref(rt);
	free(cpu);
	return text;
}

/* Builds the bundle around ae (taken) and verifies it; *res as the verifier
 * gives it. */
static veil_err run_bundle(const coco_sim *s, json_t *ae, const veil_collateral *coll, json_t **res)
{
	char *text = sim_bundle(s, ae);
	veil_verify_ctx ctx = {.at = s->at,
			       .collateral = coll,
			       .revocation = VEIL_REVOCATION_ALLOW_UNKNOWN,
			       .sim_roots = (const uint8_t(*)[32])s->root,
			       .sim_root_count = 1};
	veil_err err;

	json_decref(ae);
	*res = NULL;
	if (text == NULL)
		return VEIL_E_NOMEM;
	veil_err_clear();
	err = veil_bundle_verify((const uint8_t *)text, strlen(text), &ctx, res);
	free(text);
	return err;
}

/* The string form of v. */
static json_t *as_string(json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT);
	json_t *s = json_string(text);

	free(text);
	json_decref(v);
	return s;
}

/* Whether the only failed check of res is `name`. */
static bool fails_only(const json_t *res, const char *name)
{
	size_t i, failed = 0;
	json_t *c;

	json_array_foreach(json_object_get(res, "checks"), i, c)
	{
		const char *n = json_string_value(json_object_get(c, "name"));
		if (json_is_true(json_object_get(c, "ok")))
			continue;
		if (strcmp(n, name) != 0) {
			fprintf(stderr, "  unexpected failed check %s: %s\n", n,
				json_string_value(json_object_get(c, "detail")));
			return false;
		}
		failed++;
	}
	return failed == 1;
}

static json_t *submod(const json_t *res, const char *name)
{
	return json_object_get(json_object_get(res, "submods"), name);
}

/* The 545.00 golden vector (report, chain, both RIMs) as one device entry:
 * CoCo's {arch, uuid, evidence, certificate} when coco, else Veil's own. */
static json_t *gpu545_entry(bool coco)
{
	size_t rn, cn;
	uint8_t *report = nv_test_report(NV_R545, &rn), *chain = td_read(NV_C545, &cn);
	char *r64 = b64(report, rn), *c64 = b64(chain, cn);
	json_t *e = coco ? json_pack("{s:s, s:s, s:s, s:s}", "arch", "Hopper", "uuid",
				     "GPU-5e1f0c3a-0000-4000-8000-000000000545", "evidence", r64,
				     "certificate", c64)
			 : json_pack("{s:s, s:s, s:s}", "type", "nvidia", "evidence", r64,
				     "certificate", c64);
	free(report);
	free(chain);
	free(r64);
	free(c64);
	return e;
}

TEST(bundle_real_gpu_in_coco_form_fails_for_its_nonce_only)
{
	static const char *const rims[] = {NV_DRV545, NV_VB545, NULL};
	veil_collateral coll;
	coco_sim s;

	REQUIRE(coco_sim_open(&s));
	nv_test_coll(&coll, rims); /* the chain comes from the bundle only */
	for (int form = 0; form < 2; form++) {
		/* form 0: CoCo's map; form 1: Veil's array, as a string too. */
		json_t *ae = form == 0
				 ? as_string(json_pack("{s:{s:[o]}}", "nvidia",
						       "device_evidence_list", gpu545_entry(true)))
				 : as_string(json_pack("[o]", gpu545_entry(false)));
		char *sent = strdup(json_string_value(ae));
		json_t *res = NULL;

		EXPECT_OK(run_bundle(&s, ae, &coll, &res));
		REQUIRE(res != NULL && sent != NULL);
		json_t *cpu = submod(res, "cpu"), *gpu = submod(res, "gpu0");
		REQUIRE(cpu != NULL && gpu != NULL);
		EXPECT(json_object_size(json_object_get(res, "submods")) == 2);
		/* The CPU binding holds: only the device can fail. */
		EXPECT(json_is_true(json_object_get(cpu, "verified")));
		EXPECT(result_has_check(res, "binding.primary", true));
		/* The GPU is genuine (its chain, from the entry's base64 PEM,
		 * verifies; signature and measurements hold) but bound to
		 * another session's nonce. */
		EXPECT(strcmp(json_string_value(json_object_get(gpu, "tee")), "nvidia") == 0);
		EXPECT(result_has_check(gpu, "gpu.chain", true));
		EXPECT(result_has_check(gpu, "report.signature", true));
		EXPECT(result_has_check(gpu, "driver_rim.measurements", true));
		EXPECT(result_has_check(gpu, "vbios_rim.measurements", true));
		EXPECT(result_has_check(gpu, "report_data", false));
		EXPECT(fails_only(gpu, "report_data"));
		EXPECT(json_is_false(json_object_get(gpu, "verified")));
		EXPECT(result_has_check(res, "binding.device", false));
		EXPECT(fails_only(res, "binding.device"));
		EXPECT(json_is_false(json_object_get(res, "verified")));
		/* The string is in the claims verbatim: the uuid and arch a
		 * relying party may want are there, under the CPU's signature. */
		const char *claimed = json_string_value(
		    json_object_get(json_object_get(json_object_get(res, "claims"), "runtime_data"),
				    "additional-evidence"));
		EXPECT(claimed != NULL && strcmp(claimed, sent) == 0);
		EXPECT(claimed != NULL && (form == 1 || strstr(claimed, "GPU-5e1f0c3a") != NULL));
		json_decref(res);
		free(sent);
	}
	veil_collateral_clear(&coll);
	coco_sim_close(&s);
}

TEST(bundle_eight_gpus_in_coco_form)
{
	coco_sim s;
	json_t *res = NULL;
	char name[8];

	REQUIRE(coco_sim_open(&s));
	EXPECT_OK(run_bundle(&s, as_string(coco_from_sdk(X8)), NULL, &res));
	REQUIRE(res != NULL);
	EXPECT(json_object_size(json_object_get(res, "submods")) == 9);
	EXPECT(json_is_true(json_object_get(submod(res, "cpu"), "verified")));
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof name, "gpu%d", i);
		json_t *gpu = submod(res, name);
		REQUIRE(gpu != NULL);
		EXPECT(result_has_check(gpu, "gpu.chain", true));
		EXPECT(result_has_check(gpu, "report.signature", true));
		EXPECT(result_has_check(gpu, "gpu.fwid", true));
		EXPECT(result_has_check(gpu, "report_data", false));
		EXPECT(json_is_false(json_object_get(gpu, "verified")));
	}
	EXPECT(submod(res, "gpu8") == NULL);
	EXPECT(result_has_check(res, "devices.distinct", true));
	EXPECT(!result_has_check(res, "binding.device", true));
	EXPECT(json_is_false(json_object_get(res, "verified")));
	json_decref(res);
	coco_sim_close(&s);
}

TEST(bundle_refuses_bad_coco_strings)
{
	coco_sim s;
	json_t *res = NULL, *map;
	char *text;

	REQUIRE(coco_sim_open(&s));
	/* No devices: "" verifies as the CPU alone. */
	EXPECT_OK(run_bundle(&s, json_string(""), NULL, &res));
	EXPECT(json_is_true(json_object_get(res, "verified")));
	EXPECT(json_object_size(json_object_get(res, "submods")) == 1);
	json_decref(res);
	/* Another TEE beside the GPUs. */
	map = coco_from_sdk(X1);
	json_object_set_new(map, "tdx", json_object());
	EXPECT_ERR(run_bundle(&s, as_string(map), NULL, &res), VEIL_E_UNSUPPORTED);
	EXPECT(res == NULL && strstr(veil_err_detail(), "\"tdx\"") != NULL);
	EXPECT(strstr(veil_err_detail(), "additional-evidence") != NULL);
	/* An empty device list. */
	EXPECT_ERR(run_bundle(&s, as_string(coco_small(0)), NULL, &res), VEIL_E_MALFORMED);
	/* The map itself, not as a string: not the protocol's form. */
	EXPECT_ERR(run_bundle(&s, coco_from_sdk(X1), NULL, &res), VEIL_E_MALFORMED);
	/* The string truncated, one byte longer, a bit flipped, and with
	 * trailing garbage. */
	map = coco_from_sdk(X1);
	text = json_dumps(map, JSON_COMPACT);
	json_decref(map);
	REQUIRE(text != NULL);
	size_t n = strlen(text);
	EXPECT_ERR(run_bundle(&s, json_stringn(text, n - 1), NULL, &res), VEIL_E_MALFORMED);
	char *longer = malloc(n + 3);
	REQUIRE(longer != NULL);
	memcpy(longer, text, n);
	memcpy(longer + n, "}", 2);
	EXPECT_ERR(run_bundle(&s, json_string(longer), NULL, &res), VEIL_E_MALFORMED);
	memcpy(longer + n, " x", 3);
	EXPECT_ERR(run_bundle(&s, json_string(longer), NULL, &res), VEIL_E_MALFORMED);
	free(longer);
	char *nv = strstr(text, "nvidia");
	REQUIRE(nv != NULL);
	nv[5] ^= 0x01; /* "nvidi`" */
	EXPECT_ERR(run_bundle(&s, json_string(text), NULL, &res), VEIL_E_UNSUPPORTED);
	EXPECT(res == NULL);
	free(text);
	coco_sim_close(&s);
}

int main(void)
{
	RUN(sdk_lists_convert_to_device_entries);
	RUN(arch_spellings);
	RUN(map_shape_refused);
	RUN(device_count_cap);
	RUN(entry_shape_refused);
	RUN(uuid_shape);
	RUN(bundle_real_gpu_in_coco_form_fails_for_its_nonce_only);
	RUN(bundle_eight_gpus_in_coco_form);
	RUN(bundle_refuses_bad_coco_strings);
	return harness_finish("test_coco_devices");
}
