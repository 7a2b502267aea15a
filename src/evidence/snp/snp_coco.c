/*
 * snp_coco.c - rebuilds the raw SEV-SNP ATTESTATION_REPORT from Confidential
 * Containers' SNP evidence JSON (include/veil/coco.h).
 *
 * CoCo's attestation agent sends {"attestation_report": R, "cert_chain": C}.
 * R is the `sev` crate's AttestationReport passed through serde_json: each
 * field under its Rust name, u8/u32/u64 as JSON numbers, byte arrays as
 * arrays of numbers, each TCB_VERSION as {"fmc", "bootloader", "tee", "snp",
 * "microcode"}, the firmware versions as {"major", "minor", "build"}, the
 * signature as {"r", "s"}; reserved ranges are not serialised at all. C is
 * the certificate table the host supplied, [{"cert_type": "VCEK", "data":
 * [...]}, ...], or null.
 *
 * The AMD signature covers the ABI bytes, not the JSON, so the report is
 * rebuilt byte for byte at the offsets of the SEV-SNP Firmware ABI (1.55
 * Table 22, 1.57 Table 23) with every reserved byte zero, then run through
 * snp_report_parse like any raw report: what leaves this file is exactly
 * what the SNP module would accept from a file, and the signature check
 * that follows decides whether it is genuine. Nothing is guessed: every
 * member is required and range-checked, unknown members are refused by
 * name (older crate releases used other names, "_reserved_0" or
 * "current_build"; that form is refused rather than half-read), and the
 * TCB layout the JSON implies must agree with the CPUID family.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/snp/snp_report.h"
#include "veil/coco.h"
#include "veil/codec.h"
#include "veil/json.h"
#include "veil/limits.h"

_Static_assert(VEIL_COCO_SNP_REPORT_SIZE == SNP_REPORT_SIZE, "SNP report size");

#define REPORT "attestation_report"

/* SEV-SNP ABI, CPUID_FAM_ID: family 19h is Milan and Genoa (the legacy
 * TCB_VERSION layout), family 1Ah is Turin (the layout with FMC). */
#define CPUID_FAMILY_19H 0x19
#define CPUID_FAMILY_1AH 0x1A

/* Integers and byte arrays that sit at one fixed offset in every version. */
struct coco_field {
	const char *key;
	uint16_t off;
	uint8_t len;   /* bytes at off */
	bool is_bytes; /* an array of len numbers, else a little-endian integer */
};

static const struct coco_field coco_fields[] = {
    {"guest_svn", 0x004, 4, false},         /* GUEST_SVN */
    {"policy", 0x008, 8, false},            /* POLICY */
    {"family_id", 0x010, 16, true},         /* FAMILY_ID */
    {"image_id", 0x020, 16, true},          /* IMAGE_ID */
    {"vmpl", 0x030, 4, false},              /* VMPL */
    {"sig_algo", 0x034, 4, false},          /* SIGNATURE_ALGO */
    {"plat_info", 0x040, 8, false},         /* PLATFORM_INFO */
    {"key_info", 0x048, 4, false},          /* AUTHOR_KEY_EN, MASK_CHIP_KEY, SIGNING_KEY */
    {"report_data", 0x050, 64, true},       /* REPORT_DATA */
    {"measurement", 0x090, 48, true},       /* MEASUREMENT */
    {"host_data", 0x0C0, 32, true},         /* HOST_DATA */
    {"id_key_digest", 0x0E0, 48, true},     /* ID_KEY_DIGEST */
    {"author_key_digest", 0x110, 48, true}, /* AUTHOR_KEY_DIGEST */
    {"report_id", 0x140, 32, true},         /* REPORT_ID */
    {"report_id_ma", 0x160, 32, true},      /* REPORT_ID_MA */
    {"chip_id", 0x1A0, 64, true},           /* CHIP_ID */
};

/* The four TCB_VERSIONs: CURRENT_TCB, REPORTED_TCB, COMMITTED_TCB, LAUNCH_TCB. */
static const struct coco_field coco_tcbs[] = {
    {"current_tcb", 0x038, 8, false},
    {"reported_tcb", 0x180, 8, false},
    {"committed_tcb", 0x1E0, 8, false},
    {"launch_tcb", 0x1F0, 8, false},
};

/* Every member the crate writes; the optional ones are handled by version. */
static const char *const report_members[] = {
    "version",
    "guest_svn",
    "policy",
    "family_id",
    "image_id",
    "vmpl",
    "sig_algo",
    "current_tcb",
    "plat_info",
    "key_info",
    "report_data",
    "measurement",
    "host_data",
    "id_key_digest",
    "author_key_digest",
    "report_id",
    "report_id_ma",
    "reported_tcb",
    "cpuid_fam_id",
    "cpuid_mod_id",
    "cpuid_step",
    "chip_id",
    "committed_tcb",
    "current",
    "committed",
    "launch_tcb",
    "launch_mit_vector",
    "current_mit_vector",
    "signature",
    NULL,
};

static const char *json_kind(const json_t *v)
{
	if (v == NULL)
		return "absent";
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a non-integer number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "unknown";
}

/* serde writes Option::None as null; a crate release without the field
 * leaves it out. Both mean "not in this report". */
static bool is_absent(const json_t *v)
{
	return v == NULL || json_is_null(v);
}

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/*
 * An unsigned integer of at most `max`. serde writes u8/u32/u64 as plain
 * JSON integers, so a real (1.0), a string or a negative number is not the
 * crate's output. veil_json_parse refuses integers beyond int64, so a u64
 * at or above 2^63 cannot reach here; no field Veil reads sets bit 63.
 */
static veil_err uint_value(const json_t *v, const char *what, const char *key, uint64_t max,
			   uint64_t *out)
{
	json_int_t i;

	ENSURE(v != NULL, VEIL_E_MALFORMED, "%s has no \"%s\"", what, key);
	ENSURE(json_is_integer(v), VEIL_E_MALFORMED, "%s.%s is %s; it must be an integer", what,
	       key, json_kind(v));
	i = json_integer_value(v);
	ENSURE(i >= 0 && (uint64_t)i <= max, VEIL_E_MALFORMED,
	       "%s.%s is %lld; it must be an integer 0..%llu", what, key, (long long)i,
	       (unsigned long long)max);
	*out = (uint64_t)i;
	return VEIL_OK;
}

/* n numbers 0..255 of an array already known to hold n elements. */
static veil_err byte_elements(const json_t *arr, const char *what, const char *key, uint8_t *out,
			      size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(arr, i);
		json_int_t b;

		ENSURE(json_is_integer(e), VEIL_E_MALFORMED,
		       "%s.%s[%zu] is %s; a byte array holds integers 0..255", what, key, i,
		       json_kind(e));
		b = json_integer_value(e);
		ENSURE(b >= 0 && b <= 255, VEIL_E_MALFORMED,
		       "%s.%s[%zu] is %lld; a byte array holds integers 0..255", what, key, i,
		       (long long)b);
		out[i] = (uint8_t)b;
	}
	return VEIL_OK;
}

/* A fixed-size byte array: exactly n elements, as the Rust [u8; n] has. */
static veil_err bytes_value(const json_t *v, const char *what, const char *key, uint8_t *out,
			    size_t n)
{
	ENSURE(v != NULL, VEIL_E_MALFORMED, "%s has no \"%s\"", what, key);
	ENSURE(json_is_array(v), VEIL_E_MALFORMED, "%s.%s is %s; it must be an array of %zu bytes",
	       what, key, json_kind(v), n);
	ENSURE(json_array_size(v) == n, VEIL_E_MALFORMED,
	       "%s.%s has %zu elements; it must have exactly %zu", what, key, json_array_size(v),
	       n);
	return byte_elements(v, what, key, out, n);
}

/* An object member that must be an object with only the given members. */
static veil_err object_value(const json_t *parent, const char *key, const char *const *members,
			     char *what, size_t what_cap, json_t **out)
{
	json_t *v = json_object_get(parent, key);

	ENSURE(v != NULL, VEIL_E_MALFORMED, "%s has no \"%s\"", REPORT, key);
	ENSURE(json_is_object(v), VEIL_E_MALFORMED, "%s.%s is %s; it must be an object", REPORT,
	       key, json_kind(v));
	(void)snprintf(what, what_cap, "%s.%s", REPORT, key);
	TRY(veil_json_only_members(v, what, members));
	*out = v;
	return VEIL_OK;
}

/*
 * A TCB_VERSION. The crate's TcbVersion has an Option<u8> "fmc": a number
 * for Turin (it read the Turin layout), null for Milan and Genoa. An absent
 * "fmc" is read as null, which is what a serialiser that skips None writes.
 * The reserved bytes are not serialised; the ABI has them zero.
 */
static veil_err tcb_value(const json_t *rep, const struct coco_field *f, uint8_t *buf, bool *turin)
{
	static const char *const members[] = {"fmc", "bootloader", "tee", "snp", "microcode", NULL};
	char what[64];
	json_t *t, *fmc_v;
	uint64_t fmc = 0, bl, tee, snp, ucode, raw;

	TRY(object_value(rep, f->key, members, what, sizeof what, &t));
	TRY(uint_value(json_object_get(t, "bootloader"), what, "bootloader", 0xFF, &bl));
	TRY(uint_value(json_object_get(t, "tee"), what, "tee", 0xFF, &tee));
	TRY(uint_value(json_object_get(t, "snp"), what, "snp", 0xFF, &snp));
	TRY(uint_value(json_object_get(t, "microcode"), what, "microcode", 0xFF, &ucode));
	fmc_v = json_object_get(t, "fmc");
	*turin = !is_absent(fmc_v);
	if (*turin) {
		TRY(uint_value(fmc_v, what, "fmc", 0xFF, &fmc));
		/* SEV-SNP ABI 1.57, TCB_VERSION for family 1Ah: byte 0 FMC,
		 * 1 BOOT_LOADER, 2 TEE, 3 SNP, 4-6 reserved, 7 MICROCODE. */
		raw = fmc | bl << 8 | tee << 16 | snp << 24 | ucode << 56;
	} else {
		/* SEV-SNP ABI 1.55, TCB_VERSION (family 19h): byte 0
		 * BOOT_LOADER, 1 TEE, 2-5 reserved, 6 SNP, 7 MICROCODE. */
		raw = bl | tee << 8 | snp << 48 | ucode << 56;
	}
	put_le(buf + f->off, raw, 8);
	return VEIL_OK;
}

/* CURRENT (0x1E8) or COMMITTED (0x1EC): BUILD, MINOR, MAJOR, one reserved
 * byte; the crate's Version is {"major", "minor", "build"}. */
static veil_err fw_version_value(const json_t *rep, const char *key, uint8_t *p)
{
	static const char *const members[] = {"major", "minor", "build", NULL};
	char what[64];
	json_t *v;
	uint64_t major, minor, build;

	TRY(object_value(rep, key, members, what, sizeof what, &v));
	TRY(uint_value(json_object_get(v, "major"), what, "major", 0xFF, &major));
	TRY(uint_value(json_object_get(v, "minor"), what, "minor", 0xFF, &minor));
	TRY(uint_value(json_object_get(v, "build"), what, "build", 0xFF, &build));
	p[0] = (uint8_t)build;
	p[1] = (uint8_t)minor;
	p[2] = (uint8_t)major;
	return VEIL_OK;
}

/*
 * A field that only some report versions have (CPUID_* from version 3,
 * the mitigation vectors from version 5). The crate holds them as Option:
 * Some for the versions that have them, None (null; absent in releases that
 * predate the field) otherwise. A value where the ABI has reserved zero
 * bytes would be dropped by the rebuild, so it is refused instead.
 */
static veil_err versioned_value(const json_t *rep, const char *key, bool present, uint32_t version,
				uint8_t *p, size_t width)
{
	json_t *v = json_object_get(rep, key);
	uint64_t x;

	if (!present) {
		ENSURE(is_absent(v), VEIL_E_MALFORMED,
		       "%s.%s is %s, but a version %u report has no such field; it must be "
		       "null or absent",
		       REPORT, key, json_kind(v), version);
		return VEIL_OK;
	}
	ENSURE(!is_absent(v), VEIL_E_MALFORMED, "%s.%s is %s; a version %u report has it", REPORT,
	       key, v == NULL ? "absent" : "null", version);
	TRY(uint_value(v, REPORT, key, width == 1 ? 0xFFu : UINT64_MAX, &x));
	put_le(p, x, width);
	return VEIL_OK;
}

/* SIGNATURE at 0x2A0: R then S, 72 bytes each, little-endian (ABI,
 * "ECDSA P-384 with SHA-384 Signature"); the crate writes them as the raw
 * arrays. The 368 bytes after them are reserved and stay zero. */
static veil_err signature_value(const json_t *rep, uint8_t *buf)
{
	static const char *const members[] = {"r", "s", NULL};
	char what[64];
	json_t *sig;

	TRY(object_value(rep, "signature", members, what, sizeof what, &sig));
	TRY(bytes_value(json_object_get(sig, "r"), what, "r", buf + 0x2A0, SNP_SIG_COMPONENT));
	TRY(bytes_value(json_object_get(sig, "s"), what, "s", buf + 0x2E8, SNP_SIG_COMPONENT));
	return VEIL_OK;
}

/* The layout the TCB_VERSIONs were written in must be the processor's. */
static veil_err tcb_layout_check(const bool turin[4], uint32_t version, uint8_t family)
{
	for (size_t i = 1; i < 4; i++)
		ENSURE(turin[i] == turin[0], VEIL_E_MISMATCH,
		       "%s.%s has %s \"fmc\" but %s.%s has %s; the TCB_VERSIONs of one report "
		       "share one layout",
		       REPORT, coco_tcbs[i].key, turin[i] ? "an" : "no", REPORT, coco_tcbs[0].key,
		       turin[0] ? "one" : "none");
	/* A version 2 report has no CPUID; the crate chose the layout and the
	 * signature check will tell whether it chose right. */
	if (version < 3)
		return VEIL_OK;
	ENSURE(family == CPUID_FAMILY_19H || family == CPUID_FAMILY_1AH, VEIL_E_UNSUPPORTED,
	       "%s.cpuid_fam_id is 0x%02x; Veil knows the TCB_VERSION layouts of families 19h "
	       "(Milan, Genoa) and 1Ah (Turin) only",
	       REPORT, family);
	ENSURE((family == CPUID_FAMILY_1AH) == turin[0], VEIL_E_MISMATCH,
	       "%s.cpuid_fam_id is 0x%02x (%s) but the TCB_VERSIONs %s \"fmc\"; family 1Ah "
	       "(Turin) has an FMC SPL, family 19h has none",
	       REPORT, family, family == CPUID_FAMILY_1AH ? "Turin" : "Milan or Genoa",
	       turin[0] ? "have" : "have no");
	return VEIL_OK;
}

static veil_err report_build(const json_t *rep, uint8_t *buf)
{
	struct snp_report parsed;
	uint64_t version, x;
	bool turin[4];
	veil_err err;

	ENSURE(rep != NULL, VEIL_E_MALFORMED, "the top-level value has no \"%s\"", REPORT);
	TRY(veil_json_only_members(rep, REPORT, report_members));
	TRY(uint_value(json_object_get(rep, "version"), REPORT, "version", UINT32_MAX, &version));
	/* SEV-SNP ABI 1.55 defines version 2, 1.56 version 3, 1.57 version 5;
	 * snp_report_parse accepts those and no other. */
	ENSURE(version == 2 || version == 3 || version == 5, VEIL_E_UNSUPPORTED,
	       "%s.version is %llu; Veil accepts report versions 2, 3 and 5", REPORT,
	       (unsigned long long)version);
	put_le(buf + 0x000, version, 4); /* VERSION */
	for (size_t i = 0; i < sizeof coco_fields / sizeof coco_fields[0]; i++) {
		const struct coco_field *f = &coco_fields[i];
		json_t *v = json_object_get(rep, f->key);

		if (f->is_bytes) {
			TRY(bytes_value(v, REPORT, f->key, buf + f->off, f->len));
		} else {
			TRY(uint_value(v, REPORT, f->key, f->len == 4 ? UINT32_MAX : UINT64_MAX,
				       &x));
			put_le(buf + f->off, x, f->len);
		}
	}
	for (size_t i = 0; i < 4; i++)
		TRY(tcb_value(rep, &coco_tcbs[i], buf, &turin[i]));
	/* 0x188 CPUID_FAM_ID, 0x189 CPUID_MOD_ID, 0x18A CPUID_STEP (version 3+). */
	TRY(versioned_value(rep, "cpuid_fam_id", version >= 3, (uint32_t)version, buf + 0x188, 1));
	TRY(versioned_value(rep, "cpuid_mod_id", version >= 3, (uint32_t)version, buf + 0x189, 1));
	TRY(versioned_value(rep, "cpuid_step", version >= 3, (uint32_t)version, buf + 0x18A, 1));
	TRY(tcb_layout_check(turin, (uint32_t)version, buf[0x188]));
	TRY(fw_version_value(rep, "current", buf + 0x1E8));   /* CURRENT_BUILD/MINOR/MAJOR */
	TRY(fw_version_value(rep, "committed", buf + 0x1EC)); /* COMMITTED_BUILD/MINOR/MAJOR */
	/* 0x1F8 LAUNCH_MIT_VECTOR, 0x200 CURRENT_MIT_VECTOR (version 5). */
	TRY(versioned_value(rep, "launch_mit_vector", version >= 5, (uint32_t)version, buf + 0x1F8,
			    8));
	TRY(versioned_value(rep, "current_mit_vector", version >= 5, (uint32_t)version, buf + 0x200,
			    8));
	TRY(signature_value(rep, buf));
	/* What Veil would accept as a raw report, and nothing else: VMPL,
	 * SIGNATURE_ALGO, the key-info bits and the like are checked there. */
	err = snp_report_parse(buf, SNP_REPORT_SIZE, &parsed);
	if (err != VEIL_OK)
		return veil_fail_context(err, "the rebuilt report");
	return VEIL_OK;
}

/* The crate's CertType names for the GUIDs of the SNP certificate table
 * (GHCB specification, SNP Extended Guest Request); OTHER(guid) and the
 * closing Empty entry are not certificates Veil knows what to do with. */
static bool cert_type_known(const char *s)
{
	static const char *const names[] = {"ARK", "ASK", "ASVK", "VCEK", "VLEK", "CRL", NULL};

	for (size_t i = 0; names[i] != NULL; i++)
		if (strcmp(s, names[i]) == 0)
			return true;
	return false;
}

/*
 * The certificate table as standard base64 DER strings. Capped like the
 * attester's own table (VEIL_SNP_CERTTABLE_MAX entries, VEIL_SNP_CERTS_MAX
 * bytes in all): it is the same table, read from the other end.
 */
static veil_err certs_build(const json_t *chain, json_t **out)
{
	static const char *const members[] = {"cert_type", "data", NULL};
	json_t *arr = json_array();
	uint8_t *der = NULL;
	char *b64 = NULL;
	size_t total = 0, n;
	char what[32];
	veil_err err = VEIL_OK;

	*out = NULL;
	CHECK_THAT(arr != NULL, VEIL_E_NOMEM, "out of memory");
	if (is_absent(chain))
		goto done;
	CHECK_THAT(json_is_array(chain), VEIL_E_MALFORMED,
		   "cert_chain is %s; it must be an array or null", json_kind(chain));
	n = json_array_size(chain);
	CHECK_THAT(n <= VEIL_SNP_CERTTABLE_MAX, VEIL_E_LIMIT,
		   "cert_chain has %zu entries; at most %d are accepted", n,
		   VEIL_SNP_CERTTABLE_MAX);
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(chain, i), *type, *data;
		size_t len;

		(void)snprintf(what, sizeof what, "cert_chain[%zu]", i);
		CHECK(veil_json_only_members(e, what, members));
		type = json_object_get(e, "cert_type");
		/* OTHER(guid) serialises as {"OTHER": "<guid>"}: not a string. */
		CHECK_THAT(json_is_string(type), VEIL_E_UNSUPPORTED,
			   "%s.cert_type is %s; it must name ARK, ASK, ASVK, VCEK, VLEK or CRL",
			   what, json_kind(type));
		CHECK_THAT(
		    cert_type_known(json_string_value(type)), VEIL_E_UNSUPPORTED,
		    "%s.cert_type is \"%.32s\"; Veil knows ARK, ASK, ASVK, VCEK, VLEK and CRL",
		    what, json_string_value(type));
		data = json_object_get(e, "data");
		CHECK_THAT(json_is_array(data), VEIL_E_MALFORMED,
			   "%s.data is %s; it must be an array of bytes", what, json_kind(data));
		len = json_array_size(data);
		CHECK_THAT(len > 0, VEIL_E_MALFORMED, "%s.data is empty", what);
		CHECK_THAT(len <= VEIL_SNP_CERTS_MAX - total, VEIL_E_LIMIT,
			   "%s.data brings the certificate table past %d bytes", what,
			   VEIL_SNP_CERTS_MAX);
		der = malloc(len);
		b64 = malloc(veil_base64_encoded_len(len) + 1);
		CHECK_THAT(der != NULL && b64 != NULL, VEIL_E_NOMEM, "out of memory");
		CHECK(byte_elements(data, what, "data", der, len));
		veil_base64_encode(der, len, b64);
		CHECK_THAT(json_array_append_new(arr, json_string(b64)) == 0, VEIL_E_NOMEM,
			   "out of memory");
		free(der);
		free(b64);
		der = NULL;
		b64 = NULL;
		total += len;
	}
done:
	*out = arr;
	arr = NULL;
out:
	free(der);
	free(b64);
	json_decref(arr);
	return err;
}

veil_err veil_coco_snp_evidence(const json_t *evidence, uint8_t report[VEIL_COCO_SNP_REPORT_SIZE],
				json_t **certs)
{
	static const char *const members[] = {REPORT, "cert_chain", NULL};
	uint8_t buf[SNP_REPORT_SIZE];
	json_t *table = NULL;
	veil_err err;

	if (certs != NULL)
		*certs = NULL;
	ENSURE(evidence != NULL && report != NULL && certs != NULL, VEIL_E_USAGE,
	       "CoCo SNP evidence: no input or no output");
	memset(report, 0, VEIL_COCO_SNP_REPORT_SIZE);
	/* Every byte not written below is reserved and must be zero. */
	memset(buf, 0, sizeof buf);
	CHECK(veil_json_only_members(evidence, "the top-level value", members));
	CHECK(report_build(json_object_get(evidence, REPORT), buf));
	CHECK(certs_build(json_object_get(evidence, "cert_chain"), &table));
	memcpy(report, buf, sizeof buf);
	*certs = table;
	return VEIL_OK;
out:
	return veil_fail_context(err, "CoCo SNP evidence");
}
