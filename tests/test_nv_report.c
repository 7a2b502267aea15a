/*
 * test_nv_report.c - parsing NVIDIA GPU attestation reports (the SPDM 1.1
 * GET_MEASUREMENTS transcript of nv_spdm.c and the opaque data of
 * nv_opaque.c).
 *
 * Conformance: every real report in testdata/nvidia (Hopper and Blackwell,
 * seven drivers, the CoCo capture with one trailing zero byte, and the 15
 * reports inside NVAT's serialized evidence) parses, with the versions its
 * file name carries and the nonce and fields SOURCES.md lists; the
 * 580.159.03 report is compared field by field with NVIDIA's own expected
 * parse (NVAT unit-tests/testdata/spdm_parsed_output.json and
 * spdm_req_parsed_output.json).
 *
 * Negatives: copies of that report edited at the offsets of the layout in
 * DSP0274 1.1.0 sections 10.11.1 and 10.11.2 (request 37 bytes, response
 * header 8, 64 blocks of 4 + 3 + 48, nonce 32, OpaqueLength 2, opaque data,
 * signature 96), one rule each, each expecting the error that names it:
 * every truncation, trailing bytes, every request and response header
 * field, NumberOfBlocks, MeasurementRecordLength, block indices, sizes and
 * specification, OpaqueLength, TLVs, the decoded opaque fields; every bit
 * of the headers flipped, with the outcome each field's rule gives; every
 * bit of every byte flipped, which must fail or give a self-consistent
 * parse. Then nv_report_detect against the SNP and TDX test data.
 */
#include <ctype.h>
#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "evidence/nvidia/nv_report.h"
#include "harness.h"
#include "veil/codec.h"
#include "veil/limits.h"

#define REF          "nvidia/hopper/h100_drv580.159.03_vb96.00.74.00.20_report.hex"
#define EXPECTED_REQ "nvidia/expected/h100_drv580.159.03_spdm_request_parsed.json"
#define EXPECTED_RSP "nvidia/expected/h100_drv580.159.03_spdm_response_parsed.json"

/* DSP0274 1.1.0 section 10.11.1: the GET_MEASUREMENTS request. */
#define REQ_VERSION 0
#define REQ_CODE    1
#define REQ_PARAM1  2
#define REQ_PARAM2  3
#define REQ_NONCE   4
#define REQ_SLOT    36
/* Section 10.11.2: the MEASUREMENTS response follows the request. */
#define RSP_VERSION    37
#define RSP_CODE       38
#define RSP_PARAM1     39
#define RSP_PARAM2     40
#define RSP_NBLOCKS    41
#define RSP_RECORD_LEN 42 /* 3 bytes, little-endian */
#define RSP_RECORD     45
/* Section 10.11.1.1: Index, MeasurementSpecification, MeasurementSize (2),
 * DMTFSpecMeasurementValueType, DMTFSpecMeasurementValueSize (2), value. */
#define BLOCK_LEN      (4 + 3 + NV_DIGEST_LEN)
#define BLOCK(i)       (RSP_RECORD + ((size_t)(i)-1) * BLOCK_LEN) /* 1-based like the index */
#define BLK_SPEC       1
#define BLK_MEAS_SIZE  2
#define BLK_VALUE_SIZE 5
#define REAL_BLOCKS    64
#define RSP_NONCE      BLOCK(REAL_BLOCKS + 1)
#define OPAQUE_LEN     (RSP_NONCE + NV_NONCE_LEN)
#define OPAQUE         (OPAQUE_LEN + 2)

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static uint8_t *xmalloc(size_t n)
{
	uint8_t *p = malloc(n > 0 ? n : 1);
	if (p == NULL)
		abort();
	return p;
}

/* A *_report.hex file (SOURCES.md: one line of hex, whitespace stripped),
 * decoded into a buffer of exactly its length. */
static uint8_t *load_hex(const char *rel, size_t *n)
{
	size_t len, k = 0;
	uint8_t *text = td_read(rel, &len);
	char *digits = (char *)xmalloc(len);
	uint8_t *out = xmalloc(len / 2);

	for (size_t i = 0; i < len; i++)
		if (!isspace(text[i]))
			digits[k++] = (char)text[i];
	if (veil_hex_decode(digits, k, out, len / 2, n) != VEIL_OK) {
		fprintf(stderr, "%s: %s\n", rel, veil_err_detail());
		exit(2);
	}
	free(text);
	free(digits);
	return out;
}

/* in with del bytes at off replaced by ins_n bytes of ins (of fill when ins
 * is NULL): a new buffer of exactly the new length. */
static uint8_t *splice(const uint8_t *in, size_t n, size_t off, size_t del, const uint8_t *ins,
		       size_t ins_n, uint8_t fill, size_t *out_n)
{
	uint8_t *out = xmalloc(n - del + ins_n);

	memcpy(out, in, off);
	if (ins != NULL)
		memcpy(out + off, ins, ins_n);
	else
		memset(out + off, fill, ins_n);
	memcpy(out + off + ins_n, in + off + del, n - off - del);
	*out_n = n - del + ins_n;
	return out;
}

/* Offset of the TLV of opaque field `type` (nvtrust numbering: type, length,
 * value, little-endian), found without the parser; aborts when absent. */
static size_t opaque_at(const uint8_t *p, size_t n, uint16_t type)
{
	size_t end = OPAQUE + get16(p + OPAQUE_LEN);

	for (size_t at = OPAQUE; at + 4 <= end && end <= n; at += 4 + (size_t)get16(p + at + 2))
		if (get16(p + at) == type)
			return at;
	fprintf(stderr, "test report has no opaque field %u\n", type);
	abort();
}

/* Sets opaque field `type` to len bytes (value, or its old bytes cut or
 * padded with fill when value is NULL) and fixes OpaqueLength. */
static uint8_t *set_opaque(const uint8_t *in, size_t n, uint16_t type, const void *value,
			   size_t len, uint8_t fill, size_t *out_n)
{
	size_t at = opaque_at(in, n, type), old = get16(in + at + 2);
	uint8_t *out = len < old ? splice(in, n, at + 4 + len, old - len, NULL, 0, 0, out_n)
				 : splice(in, n, at + 4 + old, 0, NULL, len - old, fill, out_n);

	put16(out + at + 2, len);
	put16(out + OPAQUE_LEN, get16(in + OPAQUE_LEN) + len - old);
	if (value != NULL)
		memcpy(out + at + 4, value, len);
	return out;
}

/* Appends an opaque field (len bytes of fill) and fixes OpaqueLength. */
static uint8_t *add_opaque(const uint8_t *in, size_t n, uint16_t type, size_t len, uint8_t fill,
			   size_t *out_n)
{
	size_t end = OPAQUE + get16(in + OPAQUE_LEN);
	uint8_t *out = splice(in, n, end, 0, NULL, 4 + len, fill, out_n);

	put16(out + end, type);
	put16(out + end + 2, len);
	put16(out + OPAQUE_LEN, get16(in + OPAQUE_LEN) + 4 + len);
	return out;
}

/* What every successful parse must satisfy, whatever the input was. */
static void expect_consistent(const nv_report *r, const uint8_t *in, size_t n)
{
	size_t record_len =
	    in[RSP_RECORD_LEN] | in[RSP_RECORD_LEN + 1] << 8 | (size_t)in[RSP_RECORD_LEN + 2] << 16;
	size_t sum = 0, op_len;

	EXPECT(nv_report_detect(in, n));
	EXPECT(r->len == n && memcmp(r->raw, in, n) == 0);
	EXPECT(r->signed_len + NV_SIG_LEN + r->trailing == n);
	EXPECT(r->sig == r->raw + r->signed_len);
	EXPECT(r->trailing <= NV_TRAILING_MAX);
	for (size_t i = n - r->trailing; i < n; i++)
		EXPECT(in[i] == 0);
	EXPECT(r->nonce == r->raw + REQ_NONCE);
	EXPECT(r->req_param1 == in[REQ_PARAM1] && (r->req_param1 & 1));
	EXPECT(r->req_param2 == 0xFF && r->req_slot == in[REQ_SLOT] && r->req_slot < 8);
	EXPECT(r->rsp_param1 == in[RSP_PARAM1] && r->rsp_param2 == in[RSP_PARAM2]);
	EXPECT(r->block_count == in[RSP_NBLOCKS] && r->block_count > 0);
	for (size_t i = 0; i < r->block_count; i++) {
		const nv_block *b = &r->block[i];
		EXPECT(b->index != 0 && b->index != 0xFF && b->spec == 1);
		EXPECT(i == 0 || b->index > r->block[i - 1].index);
		EXPECT(nv_report_block(r, b->index) == b);
		sum += 4 + 3 + b->size;
		EXPECT(b->value == r->raw + RSP_RECORD + sum - b->size);
	}
	EXPECT(sum == record_len);
	REQUIRE(r->rsp_nonce == r->raw + RSP_RECORD + record_len);
	op_len = get16(r->rsp_nonce + NV_NONCE_LEN);
	EXPECT(op_len <= 1024 && r->opaque_count <= NV_OPAQUE_MAX);
	sum = 0;
	for (size_t i = 0; i < r->opaque_count; i++) {
		const nv_opaque_field *f = &r->opaque[i];
		sum += 4 + f->len;
		EXPECT(f->value == r->rsp_nonce + NV_NONCE_LEN + 2 + sum - f->len);
		EXPECT(nv_report_opaque(r, f->type) == f);
	}
	EXPECT(sum == op_len);
	EXPECT(r->signed_len == (size_t)(r->rsp_nonce - r->raw) + NV_NONCE_LEN + 2 + op_len);
	EXPECT(memchr(r->driver_version, 0, NV_VERSION_MAX) != NULL);
	EXPECT(memchr(r->vbios_version, 0, NV_VERSION_MAX) != NULL);
	EXPECT(r->fwid == NULL || r->fwid == nv_report_opaque(r, NV_OPAQUE_FWID)->value);
}

/* Parses; checks a success for consistency and a failure for *out == NULL. */
static veil_err parse_err(const uint8_t *in, size_t n)
{
	static nv_report sentinel;
	nv_report *r = &sentinel;
	veil_err err = nv_report_parse(in, n, &r);

	if (err == VEIL_OK) {
		expect_consistent(r, in, n);
		nv_report_free(r);
	} else {
		EXPECT(r == NULL);
	}
	return err;
}

/* The reference report with `width` bytes at off set to v (little-endian). */
static veil_err ref_with(size_t off, size_t width, size_t v)
{
	size_t n;
	uint8_t *p = load_hex(REF, &n);
	veil_err err;

	for (size_t i = 0; i < width; i++)
		p[off + i] = (uint8_t)(v >> 8 * i);
	err = parse_err(p, n);
	free(p);
	return err;
}

/* Parses the edited buffer (taking it over) and returns the error. */
static veil_err take_err(uint8_t *p, size_t n)
{
	veil_err err = parse_err(p, n);
	free(p);
	return err;
}

/* ---- conformance ---------------------------------------------------- */

#define N4CFF "4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e"
#define N931D "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb"

/* SOURCES.md, per report: nonce (request bytes 4..35), VBIOS version where
 * the file name has none, project/project SKU/chip SKU, CHIP_INFO, NVDEC0
 * and protected PCIe status, opaque data version, SWITCH_PDI count, FWID. */
static struct known_report {
	const char *file, *nonce, *vbios, *project, *project_sku, *chip_sku, *chip_info;
	int nvdec0, pcie, data_version, pdis;
	bool fwid, seen;
} known[] = {
    {"hopper/h100_drv545.00_vb96.00.5E.00.01_report.hex", N4CFF, NULL, "1010", "0200", "882", "",
     0x55, -1, -1, 0, false, false},
    {"hopper/h100_drv550.90.07_vb96.00.9F.00.01_report.hex", N931D, NULL, "1010", "0200", "882", "",
     0x55, 0x55, -1, 0, true, false},
    {"hopper/h100_drv580.159.03_vb96.00.74.00.20_report.hex",
     "5bb22e377702d4e1e8215a903ba094826b9ac7f731dee1fe8102958bf2840aca", NULL, "1010", "0205",
     "862", "", 0x55, 0x55, 1, 0, true, false},
    {"hopper/h100_drv535.86.09_vb96.00.5E.00.01_report.hex",
     "27a328247bf7935c993341cf587be6f05986ccce4fe7ba2c54100bd616a58f66", NULL, "1010", "0200",
     "882", "", 0x55, -1, -1, 0, false, false},
    {"hopper/h100_drv570.124.03_vb96.00.5E.00.04_report.hex", N931D, NULL, "1010", "0205", "862",
     "", 0x55, 0x55, -1, 0, true, false},
    {"hopper/h100_drv560.00_ppcie_BADSIG_report.hex", N931D, "96.00.A5.00.01", "G520", "0200",
     "885", "", 0x55, 0xAA, -1, 18, true, false},
    {"hopper/h100_drv580.95.05_trailing00_report.hex",
     "87d8e24ab336adafe228d49e83d745f6dba4ae505372b6a5704820856b343fec", "96.00.74.00.1A", "1010",
     "0200", "882", "", 0x55, 0x55, 1, 0, true, false},
    {"blackwell/gb100_drv575.32_vb97.00.88.00.0F_report.hex", N931D, NULL, "G525", "0220", "886",
     "", 0x55, -1, 0, 0, true, false},
    {"blackwell/gb202_rtxpro6000_drv595.58.03_vb98.02.81.00.01_report.hex", N4CFF, NULL, "G153",
     "0210", "895", "GB202", 0xAA, -1, 1, 0, true, false},
};
#define KNOWN_COUNT (sizeof known / sizeof known[0])

/* The text after tag in a file name, up to the next '_' ("_drv" gives
 * "580.159.03"); empty when the name has no such tag. */
static void name_token(const char *name, const char *tag, char *out, size_t cap)
{
	const char *s = strstr(name, tag);
	size_t k;

	out[0] = '\0';
	if (s == NULL)
		return;
	s += strlen(tag);
	k = strcspn(s, "_");
	if (k < cap) {
		memcpy(out, s, k);
		out[k] = '\0';
	}
}

static bool hex_equals(const uint8_t *p, size_t n, const char *hex)
{
	char buf[2 * 64 + 1];

	if (n > 64 || strlen(hex) != 2 * n)
		return false;
	veil_hex_encode(p, n, buf);
	return strcmp(buf, hex) == 0;
}

static void check_known_report(const char *folder, const char *name)
{
	char rel[512], key[256], drv[NV_VERSION_MAX], vb[NV_VERSION_MAX];
	struct known_report *k = NULL;
	nv_report *r = NULL;
	uint8_t *p;
	size_t n;

	snprintf(key, sizeof key, "%s/%s", folder, name);
	for (size_t i = 0; i < KNOWN_COUNT; i++)
		if (strcmp(known[i].file, key) == 0)
			k = &known[i];
	if (k == NULL)
		fprintf(stderr, "  %s: not in the table; add it from SOURCES.md\n", key);
	REQUIRE(k != NULL);
	k->seen = true;
	snprintf(rel, sizeof rel, "nvidia/%s", key);
	p = load_hex(rel, &n);
	EXPECT(nv_report_detect(p, n));
	EXPECT_OK(parse_err(p, n));
	if (nv_report_parse(p, n, &r) != VEIL_OK) {
		fprintf(stderr, "  %s: %s\n", key, veil_err_detail());
		free(p);
		REQUIRE(false);
	}
	name_token(name, "_drv", drv, sizeof drv);
	name_token(name, "_vb", vb, sizeof vb);
	EXPECT(drv[0] != '\0' && strcmp(r->driver_version, drv) == 0);
	EXPECT(strcmp(r->vbios_version, k->vbios != NULL ? k->vbios : vb) == 0);
	EXPECT(r->block_count == 64);
	for (size_t i = 0; i < r->block_count; i++)
		EXPECT(r->block[i].index == i + 1 && r->block[i].size == NV_DIGEST_LEN &&
		       r->block[i].type == 1);
	EXPECT(r->signed_len + NV_SIG_LEN + r->trailing == r->len && r->len == n);
	EXPECT(r->trailing == (strstr(name, "trailing00") != NULL ? 1u : 0u));
	EXPECT(hex_equals(r->nonce, NV_NONCE_LEN, k->nonce));
	EXPECT(r->req_param1 == 1 && r->req_param2 == 0xFF && r->req_slot == 0);
	EXPECT(strcmp(r->project, k->project) == 0 && strcmp(r->project_sku, k->project_sku) == 0);
	EXPECT(strcmp(r->chip_sku, k->chip_sku) == 0 && strcmp(r->chip_info, k->chip_info) == 0);
	EXPECT(r->nvdec0_status == k->nvdec0 && r->protected_pcie_status == k->pcie);
	EXPECT(r->opaque_data_version == k->data_version && r->switch_pdi_count == k->pdis);
	EXPECT((r->fwid != NULL) == k->fwid);
	if (harness_failures_in_test > 0)
		fprintf(stderr, "  in %s\n", key);
	nv_report_free(r);
	free(p);
}

TEST(every_real_report_parses)
{
	static const char *const folders[] = {"hopper", "blackwell"};
	char rel[64];

	for (size_t f = 0; f < 2; f++) {
		snprintf(rel, sizeof rel, "nvidia/%s", folders[f]);
		DIR *d = opendir(td_path(rel));
		struct dirent *e;
		REQUIRE(d != NULL);
		while ((e = readdir(d)) != NULL) {
			size_t len = strlen(e->d_name);
			if (len > 11 && strcmp(e->d_name + len - 11, "_report.hex") == 0)
				check_known_report(folders[f], e->d_name);
		}
		closedir(d);
	}
	for (size_t i = 0; i < KNOWN_COUNT; i++)
		EXPECT(known[i].seen);
}

/* A "0x..." string member as bytes; NULL when absent or not hex. */
static uint8_t *json_hex(json_t *o, const char *key, size_t *n)
{
	const char *s = json_string_value(json_object_get(o, key));
	uint8_t *out;

	if (s == NULL || strncmp(s, "0x", 2) != 0)
		return NULL;
	out = xmalloc(strlen(s) / 2);
	if (veil_hex_decode(s + 2, strlen(s) - 2, out, strlen(s) / 2, n) != VEIL_OK) {
		free(out);
		return NULL;
	}
	return out;
}

static bool json_hex_is(json_t *o, const char *key, const uint8_t *want, size_t want_n)
{
	size_t n = 0;
	uint8_t *got = json_hex(o, key, &n);
	bool same = got != NULL && n == want_n && memcmp(got, want, n) == 0;

	if (!same)
		fprintf(stderr, "  %s differs from the expected parse\n", key);
	free(got);
	return same;
}

static bool json_byte_is(json_t *o, const char *key, uint8_t want)
{
	return json_hex_is(o, key, &want, 1);
}

static json_t *load_json(const char *rel)
{
	json_error_t jerr;
	json_t *j = json_load_file(td_path(rel), JSON_REJECT_DUPLICATES, &jerr);

	if (j == NULL) {
		fprintf(stderr, "%s: %s\n", rel, jerr.text);
		exit(2);
	}
	return j;
}

TEST(request_matches_nvat_expected_parse)
{
	json_t *j = load_json(EXPECTED_REQ);
	nv_report *r = NULL;
	size_t n;
	uint8_t *p = load_hex(REF, &n);

	EXPECT_OK(nv_report_parse(p, n, &r));
	if (r != NULL) {
		EXPECT(json_byte_is(j, "SPDMVersion", r->raw[REQ_VERSION]));
		EXPECT(json_byte_is(j, "RequestResponseCode", r->raw[REQ_CODE]));
		EXPECT(json_byte_is(j, "Param1", r->req_param1));
		EXPECT(json_byte_is(j, "Param2", r->req_param2));
		EXPECT(json_hex_is(j, "Nonce", r->nonce, NV_NONCE_LEN));
		EXPECT(json_byte_is(j, "SlotIDParam", r->req_slot));
	}
	nv_report_free(r);
	free(p);
	json_decref(j);
}

/* NVAT's names for the opaque fields, with nvtrust's numbers. */
static const struct {
	const char *name;
	uint16_t type;
} nvat_opaque[] = {
    {"OPAQUE_FIELD_ID_VBIOS_VERSION", 6},
    {"OPAQUE_FIELD_ID_BOARD_ID", 14},
    {"OPAQUE_FIELD_ID_CHIP_SKU", 15},
    {"OPAQUE_FIELD_ID_CHIP_SKU_MOD", 16},
    {"OPAQUE_FIELD_ID_PROJECT", 17},
    {"OPAQUE_FIELD_ID_PROJECT_SKU", 18},
    {"OPAQUE_FIELD_ID_PROJECT_SKU_MOD", 19},
    {"OPAQUE_FIELD_ID_DRIVER_VERSION", 3},
    {"OPAQUE_FIELD_ID_GPU_INFO", 4},
    {"OPAQUE_FIELD_ID_MSRSCNT", 12},
    {"OPAQUE_FIELD_ID_CPRINFO", 13},
    {"OPAQUE_FIELD_ID_NVDEC0_STATUS", 11},
    {"OPAQUE_FIELD_ID_FWID", 20},
    {"OPAQUE_FIELD_ID_PROTECTED_PCIE_STATUS", 21},
};

static void check_opaque_field(const nv_report *r, json_t *fields, const char *name, json_t *v)
{
	const nv_opaque_field *f = NULL;
	size_t i;

	for (i = 0; i < sizeof nvat_opaque / sizeof nvat_opaque[0]; i++)
		if (strcmp(nvat_opaque[i].name, name) == 0)
			f = nv_report_opaque(r, nvat_opaque[i].type);
	if (f == NULL)
		fprintf(stderr, "  %s: unknown or missing\n", name);
	REQUIRE(f != NULL);
	/* Veil's name is NVAT's without the prefix, in lower case. */
	const char *ours = nv_opaque_name(f->type);
	REQUIRE(ours != NULL && strlen(ours) == strlen(name) - 16);
	for (i = 0; ours[i] != '\0'; i++)
		EXPECT(toupper((unsigned char)ours[i]) == name[16 + i]);
	if (json_is_array(v)) { /* MSRSCNT: one little-endian uint32 per entry */
		EXPECT(f->len == 4 * json_array_size(v));
		for (i = 0; i < json_array_size(v) && 4 * i + 3 < f->len; i++) {
			const uint8_t *q = f->value + 4 * i;
			uint32_t got = q[0] | q[1] << 8 | q[2] << 16 | (uint32_t)q[3] << 24;
			EXPECT(got == json_integer_value(json_array_get(v, i)));
		}
	} else {
		EXPECT(json_hex_is(fields, name, f->value, f->len));
	}
}

TEST(response_matches_nvat_expected_parse)
{
	json_t *j = load_json(EXPECTED_RSP), *blocks, *fields, *v;
	nv_report *r = NULL;
	size_t n, record_len = 0, opaque_len = 0;
	uint8_t *p = load_hex(REF, &n);
	const char *key;
	char idx[8];

	REQUIRE(nv_report_parse(p, n, &r) == VEIL_OK);
	EXPECT(json_byte_is(j, "SPDMVersion", r->raw[RSP_VERSION]));
	EXPECT(json_byte_is(j, "RequestResponseCode", r->raw[RSP_CODE]));
	EXPECT(json_byte_is(j, "Param1", r->rsp_param1));
	EXPECT(json_byte_is(j, "Param2", r->rsp_param2));
	EXPECT(json_integer_value(json_object_get(j, "NumberOfBlocks")) ==
	       (json_int_t)r->block_count);
	EXPECT(json_hex_is(j, "Nonce", r->rsp_nonce, NV_NONCE_LEN));
	EXPECT(json_hex_is(j, "Signature", r->sig, NV_SIG_LEN));

	json_t *record = json_object_get(j, "MeasurementRecord");
	EXPECT(json_integer_value(json_object_get(record, "NumberOfBlocks")) == 64);
	blocks = json_object_get(record, "MeasurementBlocks");
	EXPECT(json_object_size(blocks) == 64 && r->block_count == 64);
	for (unsigned i = 1; i <= 64; i++) {
		const nv_block *b = nv_report_block(r, i);
		snprintf(idx, sizeof idx, "%u", i);
		v = json_object_get(blocks, idx);
		REQUIRE(b != NULL && v != NULL);
		EXPECT(json_integer_value(json_object_get(v, "DMTFSpecMeasurementValueType")) ==
		       b->type);
		EXPECT(json_integer_value(json_object_get(v, "DMTFSpecMeasurementValueSize")) ==
		       b->size);
		EXPECT(json_hex_is(v, "DMTFSpecMeasurementValue", b->value, b->size));
		record_len += 4 + 3 + b->size;
	}
	EXPECT(json_integer_value(json_object_get(j, "MeasurementRecordLength")) ==
	       (json_int_t)record_len);

	for (size_t i = 0; i < r->opaque_count; i++)
		opaque_len += 4 + r->opaque[i].len;
	EXPECT(json_integer_value(json_object_get(j, "OpaqueLength")) == (json_int_t)opaque_len);
	fields = json_object_get(json_object_get(j, "OpaqueData"), "OpaqueDataField");
	EXPECT(json_object_size(fields) == 14);
	json_object_foreach(fields, key, v)
	{
		check_opaque_field(r, fields, key, v);
	}
	/* NVAT's list lacks the two newer fields, opaque data version and feature flag. */
	EXPECT(r->opaque_count == 16);
	EXPECT(r->opaque_data_version == 1 && r->feature_flag == 0);

	/* And what nv_opaque.c decodes from those bytes. */
	EXPECT(strcmp(r->vbios_version, "96.00.74.00.20") == 0);
	EXPECT(strcmp(r->driver_version, "580.159.03") == 0);
	EXPECT(strcmp(r->project, "1010") == 0 && strcmp(r->project_sku, "0205") == 0);
	EXPECT(strcmp(r->chip_sku, "862") == 0 && r->chip_info[0] == '\0');
	EXPECT(r->nvdec0_status == 0x55 && r->protected_pcie_status == 0x55);
	EXPECT(r->fwid != NULL && json_hex_is(fields, "OPAQUE_FIELD_ID_FWID", r->fwid, 48));
	nv_report_free(r);
	free(p);
	json_decref(j);
}

static void check_evidence_file(const char *name, size_t *count)
{
	char rel[512], drv[NV_VERSION_MAX];
	json_t *j, *e;
	size_t i;

	snprintf(rel, sizeof rel, "nvidia/evidence_json/%s", name);
	j = load_json(rel);
	name_token(name, "_drv", drv, sizeof drv);
	EXPECT(json_is_array(j) && json_array_size(j) > 0);
	json_array_foreach(j, i, e)
	{
		const char *b64 = json_string_value(json_object_get(e, "evidence"));
		const char *nonce = json_string_value(json_object_get(e, "nonce"));
		const char *want_drv = json_string_value(json_object_get(e, "driver_version"));
		const char *want_vb = json_string_value(json_object_get(e, "vbios_version"));
		nv_report *r = NULL;
		size_t n;

		REQUIRE(b64 != NULL && nonce != NULL);
		uint8_t *p = xmalloc(veil_base64_decoded_max(strlen(b64)));
		REQUIRE(veil_base64_decode(b64, strlen(b64), p,
					   veil_base64_decoded_max(strlen(b64)), &n) == VEIL_OK);
		EXPECT(nv_report_detect(p, n));
		EXPECT_OK(parse_err(p, n));
		if (nv_report_parse(p, n, &r) == VEIL_OK) {
			EXPECT(hex_equals(r->nonce, NV_NONCE_LEN, nonce));
			EXPECT(strcmp(r->driver_version, drv) == 0);
			EXPECT(want_drv == NULL || strcmp(r->driver_version, want_drv) == 0);
			EXPECT(want_vb == NULL || strcmp(r->vbios_version, want_vb) == 0);
			EXPECT(r->block_count == 64 && r->trailing == 0 && r->fwid != NULL);
			nv_report_free(r);
		} else {
			fprintf(stderr, "  %s[%zu]: %s\n", name, i, veil_err_detail());
		}
		free(p);
		(*count)++;
	}
	json_decref(j);
}

TEST(serialized_evidence_reports_parse)
{
	DIR *d = opendir(td_path("nvidia/evidence_json"));
	struct dirent *e;
	size_t count = 0;

	REQUIRE(d != NULL);
	while ((e = readdir(d)) != NULL)
		if (strstr(e->d_name, ".json") != NULL)
			check_evidence_file(e->d_name, &count);
	closedir(d);
	EXPECT(count == 15); /* 1 + 1 + 1 + 4 + 8 GPUs (SOURCES.md) */
}

/* ---- negatives ------------------------------------------------------ */

TEST(every_truncation_fails)
{
	size_t n;
	uint8_t *p = load_hex(REF, &n);

	for (size_t len = 0; len < n; len++) {
		uint8_t *q = xmalloc(len);
		memcpy(q, p, len);
		veil_err err = parse_err(q, len);
		if (err != VEIL_E_TRUNCATED)
			fprintf(stderr, "  truncated to %zu: %s\n", len, veil_err_str(err));
		EXPECT(err == VEIL_E_TRUNCATED);
		free(q);
	}
	EXPECT(parse_err(NULL, 0) == VEIL_E_TRUNCATED);
	free(p);
}

TEST(trailing_bytes)
{
	size_t n, m;
	uint8_t *p = load_hex(REF, &n), *q;
	nv_report *r = NULL;

	/* One byte longer: zero is padding, anything else is unsigned data. */
	q = splice(p, n, n, 0, NULL, 1, 0x01, &m);
	EXPECT_ERR(take_err(q, m), VEIL_E_TRAILING);
	q = splice(p, n, n, 0, NULL, 1, 0x80, &m);
	EXPECT_ERR(take_err(q, m), VEIL_E_TRAILING);
	q = splice(p, n, n, 0, NULL, 1, 0, &m);
	EXPECT_OK(take_err(q, m));
	/* A non-zero byte anywhere in otherwise zero padding. */
	q = splice(p, n, n, 0, NULL, NV_TRAILING_MAX, 0, &m);
	q[m - 1] = 0xFF;
	EXPECT_ERR(take_err(q, m), VEIL_E_TRAILING);
	/* At most NV_TRAILING_MAX zero bytes. */
	q = splice(p, n, n, 0, NULL, NV_TRAILING_MAX, 0, &m);
	EXPECT_OK(nv_report_parse(q, m, &r));
	EXPECT(r != NULL && r->trailing == NV_TRAILING_MAX && r->signed_len == n - NV_SIG_LEN);
	nv_report_free(r);
	free(q);
	q = splice(p, n, n, 0, NULL, NV_TRAILING_MAX + 1, 0, &m);
	EXPECT_ERR(take_err(q, m), VEIL_E_TRAILING);
	/* Above the evidence size cap, refused before any parsing. */
	q = splice(p, n, n, 0, NULL, VEIL_EVIDENCE_MAX_BYTES + 1 - n, 0, &m);
	EXPECT_ERR(take_err(q, m), VEIL_E_LIMIT);
	free(p);
}

TEST(request_header_rules)
{
	EXPECT_ERR(ref_with(REQ_VERSION, 1, 0x10), VEIL_E_UNSUPPORTED);
	EXPECT_ERR(ref_with(REQ_VERSION, 1, 0x12), VEIL_E_UNSUPPORTED);
	EXPECT_ERR(ref_with(REQ_CODE, 1, 0xE1), VEIL_E_MALFORMED);
	EXPECT_ERR(ref_with(REQ_CODE, 1, 0x60), VEIL_E_MALFORMED);
	/* Param1 bit 0: a signature was requested (otherwise nothing is signed). */
	EXPECT_ERR(ref_with(REQ_PARAM1, 1, 0x00), VEIL_E_MALFORMED);
	EXPECT_ERR(ref_with(REQ_PARAM1, 1, 0x02), VEIL_E_MALFORMED);
	/* Param2 0xFF: all measurements, which is what the RIMs describe. */
	EXPECT_ERR(ref_with(REQ_PARAM2, 1, 0x00), VEIL_E_UNSUPPORTED);
	EXPECT_ERR(ref_with(REQ_PARAM2, 1, 0x01), VEIL_E_UNSUPPORTED);
	EXPECT_ERR(ref_with(REQ_PARAM2, 1, 0xFE), VEIL_E_UNSUPPORTED);
	/* SlotIDParam: slots 0 to 7. */
	EXPECT_ERR(ref_with(REQ_SLOT, 1, 8), VEIL_E_MALFORMED);
	EXPECT_ERR(ref_with(REQ_SLOT, 1, 0xFF), VEIL_E_MALFORMED);
	EXPECT_OK(ref_with(REQ_SLOT, 1, 7));
}

TEST(response_header_rules)
{
	EXPECT_ERR(ref_with(RSP_VERSION, 1, 0x10), VEIL_E_MALFORMED);
	EXPECT_ERR(ref_with(RSP_VERSION, 1, 0x12), VEIL_E_MALFORMED);
	EXPECT_ERR(ref_with(RSP_CODE, 1, 0x61), VEIL_E_MALFORMED);
	EXPECT_ERR(ref_with(RSP_CODE, 1, 0x7F), VEIL_E_MALFORMED); /* SPDM ERROR */
	EXPECT_ERR(ref_with(RSP_CODE, 1, 0xE0), VEIL_E_MALFORMED);
	/* NumberOfBlocks must count the blocks in the record. */
	EXPECT_ERR(ref_with(RSP_NBLOCKS, 1, REAL_BLOCKS - 1), VEIL_E_MALFORMED);
	EXPECT_ERR(ref_with(RSP_NBLOCKS, 1, REAL_BLOCKS + 1), VEIL_E_MALFORMED);
	EXPECT_ERR(ref_with(RSP_NBLOCKS, 1, 0), VEIL_E_MALFORMED);
	/* MeasurementRecordLength: one byte less cuts the last block, one byte
	 * more takes the nonce's first byte as a block that ends at once. */
	EXPECT_ERR(ref_with(RSP_RECORD_LEN, 3, REAL_BLOCKS * BLOCK_LEN - 1), VEIL_E_TRUNCATED);
	EXPECT_ERR(ref_with(RSP_RECORD_LEN, 3, REAL_BLOCKS * BLOCK_LEN + 1), VEIL_E_TRUNCATED);
	EXPECT_ERR(ref_with(RSP_RECORD_LEN, 3, 0xFFFFFF), VEIL_E_TRUNCATED);
}

TEST(record_edits_that_stay_consistent)
{
	size_t n, m;
	uint8_t *p = load_hex(REF, &n), *q;
	nv_report *r = NULL;

	/* The last block removed, both counts fixed: 63 blocks parse. */
	q = splice(p, n, BLOCK(64), BLOCK_LEN, NULL, 0, 0, &m);
	q[RSP_NBLOCKS] = 63;
	q[RSP_RECORD_LEN] = (uint8_t)(63 * BLOCK_LEN);
	q[RSP_RECORD_LEN + 1] = (uint8_t)(63 * BLOCK_LEN >> 8);
	EXPECT_OK(nv_report_parse(q, m, &r));
	EXPECT(r != NULL && r->block_count == 63 && nv_report_block(r, 64) == NULL);
	nv_report_free(r);
	free(q);
	/* No blocks at all, counts consistent: still refused. */
	q = splice(p, n, RSP_RECORD, REAL_BLOCKS * BLOCK_LEN, NULL, 0, 0, &m);
	q[RSP_NBLOCKS] = q[RSP_RECORD_LEN] = q[RSP_RECORD_LEN + 1] = 0;
	EXPECT_ERR(take_err(q, m), VEIL_E_MALFORMED);
	/* A gap in the indices is allowed (DSP0274 does not require them dense). */
	r = NULL;
	p[BLOCK(64)] = 200;
	EXPECT_OK(nv_report_parse(p, n, &r));
	EXPECT(r != NULL && nv_report_block(r, 200) != NULL && nv_report_block(r, 64) == NULL);
	nv_report_free(r);
	free(p);
}

TEST(block_index_rules)
{
	size_t n;
	uint8_t *p;

	/* 0 and 0xFF select measurements in a request; they are never blocks. */
	EXPECT_ERR(ref_with(BLOCK(1), 1, 0), VEIL_E_MALFORMED);
	EXPECT_ERR(ref_with(BLOCK(64), 1, 0xFF), VEIL_E_MALFORMED);
	EXPECT_ERR(ref_with(BLOCK(30), 1, 0), VEIL_E_MALFORMED);
	/* Duplicated and out of order. */
	EXPECT_ERR(ref_with(BLOCK(3), 1, 2), VEIL_E_MALFORMED);
	EXPECT_ERR(ref_with(BLOCK(64), 1, 63), VEIL_E_MALFORMED);
	EXPECT_ERR(ref_with(BLOCK(1), 1, 2), VEIL_E_MALFORMED);
	p = load_hex(REF, &n);
	p[BLOCK(2)] = 3;
	p[BLOCK(3)] = 2;
	EXPECT_ERR(take_err(p, n), VEIL_E_MALFORMED);
}

TEST(block_size_rules)
{
	/* MeasurementSize one more than 3 + value size: a byte left in the block. */
	EXPECT_ERR(ref_with(BLOCK(5) + BLK_MEAS_SIZE, 2, 3 + 48 + 1), VEIL_E_MALFORMED);
	/* One less: the value runs past its block. */
	EXPECT_ERR(ref_with(BLOCK(5) + BLK_MEAS_SIZE, 2, 3 + 48 - 1), VEIL_E_TRUNCATED);
	EXPECT_ERR(ref_with(BLOCK(5) + BLK_MEAS_SIZE, 2, 2), VEIL_E_TRUNCATED);
	EXPECT_ERR(ref_with(BLOCK(5) + BLK_MEAS_SIZE, 2, 0xFFFF), VEIL_E_TRUNCATED);
	EXPECT_ERR(ref_with(BLOCK(5) + BLK_VALUE_SIZE, 2, 47), VEIL_E_MALFORMED);
	EXPECT_ERR(ref_with(BLOCK(5) + BLK_VALUE_SIZE, 2, 49), VEIL_E_TRUNCATED);
	EXPECT_ERR(ref_with(BLOCK(5) + BLK_VALUE_SIZE, 2, 0), VEIL_E_MALFORMED);

	/* A consistently smaller block (a SHA-256 value) parses; the verifier
	 * judges the size. */
	size_t n, m, rl = REAL_BLOCKS * BLOCK_LEN - 16;
	uint8_t *p = load_hex(REF, &n), *q = splice(p, n, BLOCK(6) - 16, 16, NULL, 0, 0, &m);
	nv_report *r = NULL;
	put16(q + BLOCK(5) + BLK_MEAS_SIZE, 3 + 32);
	put16(q + BLOCK(5) + BLK_VALUE_SIZE, 32);
	q[RSP_RECORD_LEN] = (uint8_t)rl;
	q[RSP_RECORD_LEN + 1] = (uint8_t)(rl >> 8);
	EXPECT_OK(nv_report_parse(q, m, &r));
	EXPECT(r != NULL && nv_report_block(r, 5)->size == 32 && nv_report_block(r, 6)->size == 48);
	nv_report_free(r);
	free(q);
	free(p);
}

TEST(measurement_specification_must_be_dmtf)
{
	EXPECT_ERR(ref_with(BLOCK(7) + BLK_SPEC, 1, 0x00), VEIL_E_UNSUPPORTED);
	EXPECT_ERR(ref_with(BLOCK(7) + BLK_SPEC, 1, 0x02), VEIL_E_UNSUPPORTED);
	EXPECT_ERR(ref_with(BLOCK(7) + BLK_SPEC, 1, 0x03), VEIL_E_UNSUPPORTED);
	EXPECT_ERR(ref_with(BLOCK(64) + BLK_SPEC, 1, 0x80), VEIL_E_UNSUPPORTED);
}

TEST(opaque_length_rules)
{
	size_t n, m, base;
	uint8_t *p = load_hex(REF, &n), *q;

	base = get16(p + OPAQUE_LEN);
	/* DSP0274 1.1.0: OpaqueLength at most 1024; filled to exactly that and one more. */
	q = add_opaque(p, n, 200, 1024 - base - 4, 'x', &m);
	EXPECT_OK(take_err(q, m));
	q = add_opaque(p, n, 200, 1024 - base - 4 + 1, 'x', &m);
	EXPECT_ERR(take_err(q, m), VEIL_E_MALFORMED);
	EXPECT_ERR(ref_with(OPAQUE_LEN, 2, 0xFFFF), VEIL_E_MALFORMED);
	/* Off by one: the last TLV runs past the opaque data, or a partial TLV
	 * header is left at its end. */
	EXPECT_ERR(ref_with(OPAQUE_LEN, 2, base - 1), VEIL_E_TRUNCATED);
	EXPECT_ERR(ref_with(OPAQUE_LEN, 2, base + 1), VEIL_E_TRUNCATED);
	/* Empty opaque data is allowed: nothing decoded. */
	nv_report *r = NULL;
	q = splice(p, n, OPAQUE, base, NULL, 0, 0, &m);
	put16(q + OPAQUE_LEN, 0);
	EXPECT_OK(nv_report_parse(q, m, &r));
	EXPECT(r != NULL && r->opaque_count == 0 && r->driver_version[0] == '\0' &&
	       r->fwid == NULL && r->nvdec0_status == -1 && r->opaque_data_version == -1);
	nv_report_free(r);
	free(q);
	free(p);
}

TEST(opaque_tlv_rules)
{
	size_t n, m, m2, at;
	uint8_t *p = load_hex(REF, &n), *q, *q2;
	nv_report *r = NULL;

	/* A field running past the opaque data. */
	at = opaque_at(p, n, NV_OPAQUE_FEATURE_FLAG); /* the last field */
	EXPECT_ERR(ref_with(at + 2, 2, 3), VEIL_E_TRUNCATED);
	at = opaque_at(p, n, NV_OPAQUE_VBIOS_VERSION); /* the first */
	EXPECT_ERR(ref_with(at + 2, 2, 0xFFFF), VEIL_E_TRUNCATED);
	/* The same type twice, known or not. */
	EXPECT_ERR(ref_with(opaque_at(p, n, NV_OPAQUE_BOARD_ID), 2, NV_OPAQUE_VBIOS_VERSION),
		   VEIL_E_MALFORMED);
	q = add_opaque(p, n, NV_OPAQUE_DRIVER_VERSION, 4, '5', &m);
	EXPECT_ERR(take_err(q, m), VEIL_E_MALFORMED);
	q = add_opaque(p, n, 300, 2, 0, &m);
	EXPECT_OK(nv_report_parse(q, m, &r));
	EXPECT(r != NULL && r->opaque_count == 17 && nv_report_opaque(r, 300) != NULL);
	nv_report_free(r);
	q2 = add_opaque(q, m, 300, 1, 0, &m2);
	EXPECT_ERR(take_err(q2, m2), VEIL_E_MALFORMED);
	free(q);
	/* At most NV_OPAQUE_MAX fields: the report has 16, add empty ones. */
	q = load_hex(REF, &m);
	for (uint16_t t = 100; t < 100 + NV_OPAQUE_MAX - 16; t++) {
		q2 = add_opaque(q, m, t, 0, 0, &m2);
		free(q);
		q = q2;
		m = m2;
	}
	EXPECT_OK(parse_err(q, m));
	q2 = add_opaque(q, m, 99, 0, 0, &m2);
	EXPECT_ERR(take_err(q2, m2), VEIL_E_LIMIT);
	free(q);
	free(p);
}

/* The reference report with opaque field `type` set to len bytes of value. */
static veil_err with_opaque(uint16_t type, const void *value, size_t len)
{
	size_t n, m;
	uint8_t *p = load_hex(REF, &n), *q = set_opaque(p, n, type, value, len, 0, &m);

	free(p);
	return take_err(q, m);
}

/* The driver version decoded from a report whose driver field is value. */
static bool driver_decodes_to(const void *value, size_t len, const char *want)
{
	size_t n, m;
	uint8_t *p = load_hex(REF, &n),
		*q = set_opaque(p, n, NV_OPAQUE_DRIVER_VERSION, value, len, 0, &m);
	nv_report *r = NULL;
	bool ok = nv_report_parse(q, m, &r) == VEIL_OK && strcmp(r->driver_version, want) == 0;

	nv_report_free(r);
	free(q);
	free(p);
	return ok;
}

TEST(opaque_string_rules)
{
	const char *max = "1234567890123456789012345678901"; /* NV_VERSION_MAX - 1 */

	EXPECT(driver_decodes_to("580.159.03\0", 11, "580.159.03"));
	/* No NUL terminator is fine (the length bounds it), and so is NUL padding. */
	EXPECT(driver_decodes_to("580.159.037", 11, "580.159.037"));
	EXPECT(driver_decodes_to("580.1\0\0\0\0\0\0", 11, "580.1"));
	EXPECT(driver_decodes_to(max, 31, max));
	EXPECT(driver_decodes_to("1234567890123456789012345678901\0", 32, max));
	EXPECT_ERR(with_opaque(NV_OPAQUE_DRIVER_VERSION, "12345678901234567890123456789012", 32),
		   VEIL_E_LIMIT);
	/* Characters outside [A-Za-z0-9._-]. */
	EXPECT_ERR(with_opaque(NV_OPAQUE_DRIVER_VERSION, "580\001159.03", 10), VEIL_E_MALFORMED);
	EXPECT_ERR(with_opaque(NV_OPAQUE_DRIVER_VERSION, "580 159.03", 10), VEIL_E_MALFORMED);
	EXPECT_ERR(with_opaque(NV_OPAQUE_DRIVER_VERSION, "580\177159.03", 10), VEIL_E_MALFORMED);
	EXPECT_ERR(with_opaque(NV_OPAQUE_DRIVER_VERSION, "580\303\25159.03", 10), VEIL_E_MALFORMED);
	EXPECT_ERR(with_opaque(NV_OPAQUE_DRIVER_VERSION, "580/../03", 9), VEIL_E_MALFORMED);
	/* Text after the NUL, an empty value, a value of only NULs. */
	EXPECT_ERR(with_opaque(NV_OPAQUE_DRIVER_VERSION, "580\000159.03", 10), VEIL_E_MALFORMED);
	EXPECT_ERR(with_opaque(NV_OPAQUE_DRIVER_VERSION, "", 0), VEIL_E_MALFORMED);
	EXPECT_ERR(with_opaque(NV_OPAQUE_DRIVER_VERSION, "\0\0\0", 3), VEIL_E_MALFORMED);
	/* The other string fields follow the same rules. */
	EXPECT_ERR(with_opaque(NV_OPAQUE_PROJECT, "10 0\0", 5), VEIL_E_MALFORMED);
	EXPECT_ERR(with_opaque(NV_OPAQUE_PROJECT_SKU, "02\n5\0", 5), VEIL_E_MALFORMED);
	EXPECT_ERR(with_opaque(NV_OPAQUE_CHIP_SKU, "86\0002", 4), VEIL_E_MALFORMED);
}

TEST(opaque_sized_fields)
{
	uint8_t zeros[256] = {0};
	size_t n, m;
	uint8_t *p = load_hex(REF, &n), *q;
	nv_report *r = NULL;

	/* VBIOS version: a 64-bit word, NVIDIA's bytes 3.2.1.0.4. */
	EXPECT_ERR(with_opaque(NV_OPAQUE_VBIOS_VERSION, "\x00\x74\x00\x96\x20\0\0", 7),
		   VEIL_E_MALFORMED);
	EXPECT_ERR(with_opaque(NV_OPAQUE_VBIOS_VERSION, "\x00\x74\x00\x96\x20\0\0\0\0", 9),
		   VEIL_E_MALFORMED);
	EXPECT_ERR(with_opaque(NV_OPAQUE_FWID, zeros, NV_DIGEST_LEN - 1), VEIL_E_MALFORMED);
	EXPECT_ERR(with_opaque(NV_OPAQUE_FWID, zeros, NV_DIGEST_LEN + 1), VEIL_E_MALFORMED);
	EXPECT_ERR(with_opaque(NV_OPAQUE_FWID, zeros, 0), VEIL_E_MALFORMED);
	EXPECT_ERR(with_opaque(NV_OPAQUE_NVDEC0_STATUS, "\x55\x55", 2), VEIL_E_MALFORMED);
	EXPECT_ERR(with_opaque(NV_OPAQUE_NVDEC0_STATUS, "", 0), VEIL_E_MALFORMED);
	EXPECT_ERR(with_opaque(NV_OPAQUE_PROTECTED_PCIE_STATUS, "\xaa\xaa", 2), VEIL_E_MALFORMED);
	EXPECT_ERR(with_opaque(NV_OPAQUE_OPAQUE_DATA_VERSION, "\x01", 1), VEIL_E_MALFORMED);
	EXPECT_ERR(with_opaque(NV_OPAQUE_FEATURE_FLAG, "\0\0\0", 3), VEIL_E_MALFORMED);
	/* MSRSCNT: 4-byte counters. */
	EXPECT_ERR(with_opaque(NV_OPAQUE_MSRSCNT, zeros, 255), VEIL_E_MALFORMED);
	EXPECT_ERR(with_opaque(NV_OPAQUE_MSRSCNT, zeros, 254), VEIL_E_MALFORMED);
	EXPECT_OK(with_opaque(NV_OPAQUE_MSRSCNT, zeros, 252));
	/* SWITCH_PDI: 8-byte entries. */
	q = add_opaque(p, n, NV_OPAQUE_SWITCH_PDI, 12, 0xA5, &m);
	EXPECT_ERR(take_err(q, m), VEIL_E_MALFORMED);
	q = add_opaque(p, n, NV_OPAQUE_SWITCH_PDI, 16, 0xA5, &m);
	EXPECT_OK(nv_report_parse(q, m, &r));
	EXPECT(r != NULL && r->switch_pdi_count == 2);
	nv_report_free(r);
	free(q);
	/* Decoded values follow the bytes. */
	q = set_opaque(p, n, NV_OPAQUE_VBIOS_VERSION, "\x0f\x88\x00\x97\x0a\0\0\0", 8, 0, &m);
	q[opaque_at(q, m, NV_OPAQUE_NVDEC0_STATUS) + 4] = 0xAA;
	r = NULL;
	EXPECT_OK(nv_report_parse(q, m, &r));
	EXPECT(r != NULL && strcmp(r->vbios_version, "97.00.88.0F.0A") == 0);
	EXPECT(r != NULL && r->nvdec0_status == 0xAA);
	nv_report_free(r);
	free(q);
	q = add_opaque(p, n, NV_OPAQUE_CHIP_INFO, 6, 0, &m);
	memcpy(q + m - NV_SIG_LEN - 6, "GB202", 5);
	r = NULL;
	EXPECT_OK(nv_report_parse(q, m, &r));
	EXPECT(r != NULL && strcmp(r->chip_info, "GB202") == 0);
	nv_report_free(r);
	q[m - NV_SIG_LEN - 3] = '/';
	EXPECT_ERR(take_err(q, m), VEIL_E_MALFORMED);
	free(p);
}

/* Every bit of the request and response headers: what each field's rule
 * says (fail or parse), and a parse is always self-consistent. */
TEST(header_bit_flips)
{
	size_t n;
	uint8_t *p = load_hex(REF, &n);

	for (size_t off = 0; off < RSP_RECORD; off++) {
		for (int bit = 0; bit < 8; bit++) {
			bool ok;
			if (off >= REQ_NONCE && off < REQ_NONCE + NV_NONCE_LEN)
				ok = true;
			else if (off == REQ_PARAM1)
				ok = bit != 0; /* reserved bits 7:1 are ignored */
			else if (off == REQ_SLOT)
				ok = bit < 3; /* slot 1, 2 or 4 */
			else
				ok = off == RSP_PARAM1 || off == RSP_PARAM2;
			p[off] ^= (uint8_t)(1u << bit);
			veil_err err = parse_err(p, n);
			if ((err == VEIL_OK) != ok)
				fprintf(stderr, "  bit %d of byte %zu: %s\n", bit, off,
					veil_err_str(err));
			EXPECT((err == VEIL_OK) == ok);
			p[off] ^= (uint8_t)(1u << bit);
		}
	}
	free(p);
}

/* Every bit of every byte of the report: no crash, and whatever parses is
 * consistent (parse_err checks). */
TEST(bit_flips_everywhere)
{
	size_t n, parsed = 0;
	uint8_t *p = load_hex(REF, &n);

	for (size_t off = 0; off < n; off++) {
		for (int bit = 0; bit < 8; bit++) {
			p[off] ^= (uint8_t)(1u << bit);
			parsed += parse_err(p, n) == VEIL_OK;
			p[off] ^= (uint8_t)(1u << bit);
		}
	}
	/* Measurement values, nonces and the signature are not interpreted. */
	EXPECT(parsed >= 8 * (REAL_BLOCKS * NV_DIGEST_LEN + 2 * NV_NONCE_LEN + NV_SIG_LEN));
	EXPECT(parsed < 8 * n);
	free(p);
}

TEST(lookups)
{
	size_t n;
	uint8_t *p = load_hex(REF, &n);
	nv_report *r = NULL;

	REQUIRE(nv_report_parse(p, n, &r) == VEIL_OK);
	EXPECT(nv_report_block(r, 0) == NULL && nv_report_block(r, 65) == NULL);
	EXPECT(nv_report_block(r, 256 + 1) == NULL);
	EXPECT(nv_report_block(r, 1) == &r->block[0] && nv_report_block(r, 64) == &r->block[63]);
	EXPECT(nv_report_opaque(r, NV_OPAQUE_CHIP_INFO) == NULL);
	EXPECT(nv_report_opaque(r, NV_OPAQUE_FWID)->len == NV_DIGEST_LEN);
	EXPECT(strcmp(nv_opaque_name(NV_OPAQUE_DRIVER_VERSION), "driver_version") == 0);
	EXPECT(strcmp(nv_opaque_name(NV_OPAQUE_FEATURE_FLAG), "feature_flag") == 0);
	EXPECT(nv_opaque_name(0) == NULL && nv_opaque_name(26) == NULL);
	EXPECT(nv_opaque_name(37) == NULL && nv_opaque_name(0xFFFF) == NULL);
	nv_report_free(r);
	nv_report_free(NULL);
	free(p);
}

/* ---- detection ------------------------------------------------------ */

/* Calls nv_report_detect on every file under rel; returns how many said yes. */
static size_t detect_tree(const char *rel, size_t *files)
{
	char path[1024], sub[512];
	size_t yes = 0;
	struct stat st;
	struct dirent *e;
	DIR *d = opendir(td_path(rel));

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof sub, "%s/%s", rel, e->d_name);
		snprintf(path, sizeof path, "%s", td_path(sub));
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			yes += detect_tree(sub, files);
		} else if (S_ISREG(st.st_mode)) {
			size_t len;
			uint8_t *buf = td_read(sub, &len);
			if (nv_report_detect(buf, len)) {
				fprintf(stderr, "  %s detected as a GPU report\n", sub);
				yes++;
			}
			(*files)++;
			free(buf);
		}
	}
	closedir(d);
	return yes;
}

TEST(detect)
{
	size_t n, files = 0;
	uint8_t *p = load_hex(REF, &n);

	EXPECT(nv_report_detect(p, n));
	/* SEV-SNP reports and TDX quotes (and their collateral) are not GPU reports. */
	EXPECT(detect_tree("snp", &files) == 0);
	EXPECT(detect_tree("tdx", &files) == 0);
	EXPECT(files > 20);
	EXPECT(!nv_report_detect(NULL, 0));
	EXPECT(!nv_report_detect(p, 0));
	EXPECT(!nv_report_detect(p, 2));
	EXPECT(!nv_report_detect(p, RSP_RECORD)); /* the two headers and nothing more */
	p[RSP_CODE] = 0x7F;
	EXPECT(!nv_report_detect(p, n));
	p[RSP_CODE] = 0x60;
	p[REQ_CODE] = 0xE1;
	EXPECT(!nv_report_detect(p, n));
	free(p);
}

int main(void)
{
	RUN(every_real_report_parses);
	RUN(request_matches_nvat_expected_parse);
	RUN(response_matches_nvat_expected_parse);
	RUN(serialized_evidence_reports_parse);
	RUN(every_truncation_fails);
	RUN(trailing_bytes);
	RUN(request_header_rules);
	RUN(response_header_rules);
	RUN(record_edits_that_stay_consistent);
	RUN(block_index_rules);
	RUN(block_size_rules);
	RUN(measurement_specification_must_be_dmtf);
	RUN(opaque_length_rules);
	RUN(opaque_tlv_rules);
	RUN(opaque_string_rules);
	RUN(opaque_sized_fields);
	RUN(header_bit_flips);
	RUN(bit_flips_everywhere);
	RUN(lookups);
	RUN(detect);
	return harness_finish("test_nv_report");
}
