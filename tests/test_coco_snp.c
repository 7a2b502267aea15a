/*
 * test_coco_snp.c - CoCo's SNP evidence JSON rebuilt into the raw report
 * (src/evidence/snp/snp_coco.c).
 *
 * The real trustee end-to-end evidence must rebuild to the exact bytes of
 * its DERIVED report and VCEK (testdata/snp/SOURCES.md, trustee/) and then
 * verify with Veil's SNP verifier from the certificate it carried. Every
 * report in testdata/snp (versions 2, 3 and 5; Milan, Genoa and Turin)
 * goes bytes -> serde JSON -> bytes unchanged, through the serialiser in
 * test_coco_snp_util.h that writes the JSON the `sev` crate would. The
 * negative cases take one member at a time: missing, extra, wrong length,
 * out of range, wrong type, a version or TCB layout that contradicts the
 * report, and the certificate table's caps; every refusal must leave
 * *certs NULL and the report zeroed.
 */
#include <jansson.h>

#include "test_coco_snp_util.h"
#include "test_snp_util.h"
#include "veil/coco.h"
#include "veil/codec.h"
#include "veil/json.h"

#define E2E_JSON   "snp/trustee/e2e-evidence.json"
#define E2E_REPORT "snp/trustee/e2e-report-genoa-v3.DERIVED.bin"
#define E2E_VCEK   "snp/trustee/e2e-vcek-genoa.DERIVED.der"
#define TURIN      "snp/tinfoil-go-AGPL/box2_turin_report.DERIVED.bin"
#define TURIN_VCEK "snp/tinfoil-go-AGPL/box2_turin_vcek.DERIVED.der"

static json_t *e2e_cached;

/* A fresh copy of the trustee evidence, for a test to change. */
static json_t *e2e(void)
{
	if (e2e_cached == NULL) {
		size_t n;
		uint8_t *p = td_read(E2E_JSON, &n);
		if (veil_json_parse(p, n, &e2e_cached) != VEIL_OK)
			harness_fail(__FILE__, __LINE__, "parse " E2E_JSON);
		free(p);
	}
	return json_deep_copy(e2e_cached);
}

static json_t *rep(json_t *ev)
{
	return json_object_get(ev, "attestation_report");
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* Converts ev (taking it) and expects the error `want` with `needle` in the
 * detail (NULL: any), *certs NULL and the report zeroed. */
static bool refused(json_t *ev, veil_err want, const char *needle)
{
	uint8_t report[VEIL_COCO_SNP_REPORT_SIZE];
	json_t *certs = (json_t *)1;
	veil_err err;
	bool ok;

	memset(report, 0xAA, sizeof report);
	veil_err_clear();
	err = veil_coco_snp_evidence(ev, report, &certs);
	ok = err == want && certs == NULL && all_zero(report, sizeof report) &&
	     (needle == NULL || strstr(veil_err_detail(), needle) != NULL);
	if (!ok)
		fprintf(stderr, "  got %s (want %s): %s\n", veil_err_str(err), veil_err_str(want),
			veil_err_detail());
	if (err == VEIL_OK)
		json_decref(certs);
	json_decref(ev);
	return ok;
}

/* Converts ev (taking it); the report in out, the certificates returned. */
static json_t *converted(json_t *ev, uint8_t out[VEIL_COCO_SNP_REPORT_SIZE])
{
	json_t *certs = NULL;
	veil_err err;

	veil_err_clear();
	err = veil_coco_snp_evidence(ev, out, &certs);
	if (err != VEIL_OK)
		fprintf(stderr, "  conversion: %s\n", veil_err_detail());
	EXPECT_OK(err);
	json_decref(ev);
	return certs;
}

static bool equals_file(const uint8_t *p, size_t n, const char *rel)
{
	size_t fn;
	uint8_t *f = td_read(rel, &fn);
	bool eq = fn == n && memcmp(f, p, n) == 0;

	free(f);
	return eq;
}

/* Collateral from the base64 certificates a conversion returned. */
static veil_collateral *coll_from(const json_t *certs)
{
	static veil_collateral coll;
	size_t i;
	json_t *v;

	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	json_array_foreach(certs, i, v)
	{
		const char *s = json_string_value(v);
		size_t len = json_string_length(v), n;
		uint8_t *der = malloc(veil_base64_decoded_max(len));

		if (s == NULL || der == NULL ||
		    veil_base64_decode(s, len, der, veil_base64_decoded_max(len), &n) != VEIL_OK ||
		    veil_collateral_add(&coll, der, n, "cert_chain") != VEIL_OK)
			harness_fail(__FILE__, __LINE__, "certificate from cert_chain");
		free(der);
	}
	return &coll;
}

/* ---- the real evidence ---- */

TEST(e2e_rebuilds_exact_bytes_and_cert)
{
	uint8_t report[VEIL_COCO_SNP_REPORT_SIZE];
	json_t *certs = converted(e2e(), report);
	size_t n;
	uint8_t *vcek = td_read(E2E_VCEK, &n);
	uint8_t der[4096];
	size_t dn;

	REQUIRE(certs != NULL);
	EXPECT(equals_file(report, sizeof report, E2E_REPORT));
	REQUIRE(json_array_size(certs) == 1);
	EXPECT_OK(veil_base64_decode(json_string_value(json_array_get(certs, 0)),
				     json_string_length(json_array_get(certs, 0)), der, sizeof der,
				     &dn));
	EXPECT(dn == n && memcmp(der, vcek, n) == 0);
	free(vcek);
	json_decref(certs);
}

TEST(e2e_verifies_with_its_own_vcek)
{
	uint8_t report[VEIL_COCO_SNP_REPORT_SIZE];
	json_t *certs = converted(e2e(), report);
	veil_checks checks;
	veil_err err;

	REQUIRE(certs != NULL);
	err = snp_test_verify_buf(report, sizeof report, coll_from(certs), "2026-01-01T00:00:00Z",
				  NULL, NULL, &checks, NULL);
	if (err != VEIL_OK)
		snp_print_checks(&checks);
	EXPECT_OK(err);
	EXPECT(veil_checks_passed(&checks));
	EXPECT(snp_check_passed(&checks, "report.signature"));
	EXPECT(snp_check_passed(&checks, "vek.chain"));
	EXPECT(snp_check_passed(&checks, "vek.tcb"));
	EXPECT(snp_check_passed(&checks, "vek.chip_id"));
	json_decref(certs);
}

TEST(e2e_changed_measurement_fails_signature)
{
	uint8_t report[VEIL_COCO_SNP_REPORT_SIZE];
	json_t *ev = e2e();
	json_t *m = json_object_get(rep(ev), "measurement");
	json_t *certs;
	veil_checks checks;

	json_array_set_new(m, 0,
			   json_integer((json_integer_value(json_array_get(m, 0)) + 1) & 0xFF));
	certs = converted(ev, report);
	REQUIRE(certs != NULL);
	EXPECT(!equals_file(report, sizeof report, E2E_REPORT));
	EXPECT_ERR(snp_test_verify_buf(report, sizeof report, coll_from(certs),
				       "2026-01-01T00:00:00Z", NULL, NULL, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT(snp_check_failed(&checks, "report.signature"));
	json_decref(certs);
}

TEST(e2e_optional_forms)
{
	uint8_t report[VEIL_COCO_SNP_REPORT_SIZE];
	json_t *ev, *certs;
	const char *tcbs[] = {"current_tcb", "reported_tcb", "committed_tcb", "launch_tcb"};

	/* "fmc" left out of every TCB means the same as null. */
	ev = e2e();
	for (size_t i = 0; i < 4; i++)
		json_object_del(json_object_get(rep(ev), tcbs[i]), "fmc");
	certs = converted(ev, report);
	EXPECT(certs != NULL && equals_file(report, sizeof report, E2E_REPORT));
	json_decref(certs);
	/* Mitigation vectors null (the newer crate's None) on a v3 report. */
	ev = e2e();
	json_object_set_new(rep(ev), "launch_mit_vector", json_null());
	json_object_set_new(rep(ev), "current_mit_vector", json_null());
	certs = converted(ev, report);
	EXPECT(certs != NULL && equals_file(report, sizeof report, E2E_REPORT));
	json_decref(certs);
	/* No certificate table: an empty array. */
	ev = e2e();
	json_object_del(ev, "cert_chain");
	certs = converted(ev, report);
	EXPECT(json_is_array(certs) && json_array_size(certs) == 0);
	json_decref(certs);
	ev = e2e();
	json_object_set_new(ev, "cert_chain", json_null());
	certs = converted(ev, report);
	EXPECT(json_is_array(certs) && json_array_size(certs) == 0);
	json_decref(certs);
}

/* ---- negative cases ---- */

TEST(each_member_missing)
{
	const char *key;
	json_t *v;
	size_t count = 0;

	json_decref(e2e());
	json_object_foreach(rep(e2e_cached), key, v)
	{
		json_t *ev = e2e();
		json_object_del(rep(ev), key);
		EXPECT(refused(ev, VEIL_E_MALFORMED, key));
		/* And each member of the nested objects, except the optional fmc. */
		if (json_is_object(v)) {
			const char *sub;
			json_t *sv;
			json_object_foreach(v, sub, sv)
			{
				if (strcmp(sub, "fmc") == 0)
					continue;
				ev = e2e();
				json_object_del(json_object_get(rep(ev), key), sub);
				EXPECT(refused(ev, VEIL_E_MALFORMED, sub));
				count++;
			}
		}
		count++;
	}
	EXPECT(count == 27 + 4 * 4 + 2 * 3 + 2);
	v = e2e();
	json_object_del(v, "attestation_report");
	EXPECT(refused(v, VEIL_E_MALFORMED, "attestation_report"));
}

TEST(extra_members)
{
	json_t *ev;

	ev = e2e();
	json_object_set_new(rep(ev), "reserved_1", json_integer(0));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "\"reserved_1\""));
	ev = e2e();
	json_object_set_new(ev, "additional_evidence", json_string(""));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "\"additional_evidence\""));
	ev = e2e();
	json_object_set_new(json_object_get(rep(ev), "reported_tcb"), "reserved",
			    json_pack("[i,i,i,i]", 0, 0, 0, 0));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "reported_tcb has an unknown member \"reserved\""));
	/* The older crate form: the signature's reserved tail serialised. */
	ev = e2e();
	json_object_set_new(json_object_get(rep(ev), "signature"), "_reserved", json_array());
	EXPECT(refused(ev, VEIL_E_MALFORMED, "\"_reserved\""));
	ev = e2e();
	json_object_set_new(json_object_get(rep(ev), "current"), "patch", json_integer(0));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "\"patch\""));
	ev = e2e();
	json_object_set_new(json_array_get(json_object_get(ev, "cert_chain"), 0), "guid",
			    json_string("63da758d-e664-4564-adc5-f4b93be8accd"));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "cert_chain[0] has an unknown member \"guid\""));
}

TEST(wrong_array_lengths)
{
	json_t *ev;

	ev = e2e();
	json_array_remove(json_object_get(rep(ev), "measurement"), 0);
	EXPECT(refused(ev, VEIL_E_MALFORMED, "measurement has 47 elements"));
	ev = e2e();
	json_array_append_new(json_object_get(rep(ev), "measurement"), json_integer(0));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "measurement has 49 elements"));
	ev = e2e();
	json_array_append_new(json_object_get(rep(ev), "chip_id"), json_integer(0));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "chip_id has 65"));
	ev = e2e();
	json_array_remove(json_object_get(json_object_get(rep(ev), "signature"), "s"), 71);
	EXPECT(refused(ev, VEIL_E_MALFORMED, "signature.s has 71"));
	ev = e2e();
	json_object_set_new(rep(ev), "host_data", json_array());
	EXPECT(refused(ev, VEIL_E_MALFORMED, "host_data has 0"));
}

TEST(out_of_range_and_wrong_type)
{
	json_t *ev;

	ev = e2e();
	json_array_set_new(json_object_get(rep(ev), "report_data"), 5, json_integer(256));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "report_data[5] is 256"));
	ev = e2e();
	json_array_set_new(json_object_get(rep(ev), "report_data"), 0, json_integer(-1));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "report_data[0] is -1"));
	ev = e2e();
	json_array_set_new(json_object_get(rep(ev), "image_id"), 3, json_real(1.5));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "image_id[3] is a non-integer number"));
	ev = e2e();
	json_array_set_new(json_object_get(rep(ev), "image_id"), 3, json_string("0"));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "image_id[3] is a string"));
	ev = e2e();
	json_object_set_new(rep(ev), "guest_svn", json_integer(-1));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "guest_svn is -1"));
	ev = e2e();
	json_object_set_new(rep(ev), "guest_svn", json_integer(0x100000000LL));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "guest_svn is 4294967296"));
	ev = e2e();
	json_object_set_new(rep(ev), "vmpl", json_real(0.0));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "vmpl is a non-integer number"));
	ev = e2e();
	json_object_set_new(rep(ev), "policy", json_string("196608"));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "policy is a string"));
	ev = e2e();
	json_object_set_new(rep(ev), "plat_info", json_true());
	EXPECT(refused(ev, VEIL_E_MALFORMED, "plat_info is a boolean"));
	ev = e2e();
	json_object_set_new(json_object_get(rep(ev), "launch_tcb"), "microcode", json_integer(256));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "launch_tcb.microcode is 256"));
	ev = e2e();
	json_object_set_new(json_object_get(rep(ev), "committed"), "build", json_integer(-3));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "committed.build is -3"));
	ev = e2e();
	json_object_set_new(rep(ev), "cpuid_step", json_integer(300));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "cpuid_step is 300"));
	ev = e2e();
	json_object_set_new(rep(ev), "cpuid_mod_id", json_null());
	EXPECT(refused(ev, VEIL_E_MALFORMED, "cpuid_mod_id is null"));
}

TEST(versions)
{
	json_t *ev;

	ev = e2e();
	json_object_set_new(rep(ev), "version", json_integer(4));
	EXPECT(refused(ev, VEIL_E_UNSUPPORTED, "version is 4"));
	ev = e2e();
	json_object_set_new(rep(ev), "version", json_integer(1));
	EXPECT(refused(ev, VEIL_E_UNSUPPORTED, "version is 1"));
	ev = e2e();
	json_object_set_new(rep(ev), "version", json_integer(6));
	EXPECT(refused(ev, VEIL_E_UNSUPPORTED, NULL));
	/* Version 2 has no CPUID: the e2e report's CPUID values cannot stay. */
	ev = e2e();
	json_object_set_new(rep(ev), "version", json_integer(2));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "cpuid_fam_id is an integer, but a version 2"));
	/* Version 5 needs its mitigation vectors. */
	ev = e2e();
	json_object_set_new(rep(ev), "version", json_integer(5));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "launch_mit_vector is absent"));
	/* And a version 3 report has none. */
	ev = e2e();
	json_object_set_new(rep(ev), "current_mit_vector", json_integer(0));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "current_mit_vector is an integer, but a version 3"));
}

TEST(tcb_layout_must_match_cpuid)
{
	const char *tcbs[] = {"current_tcb", "reported_tcb", "committed_tcb", "launch_tcb"};
	json_t *ev;

	/* A Turin-shaped TCB in a family 19h report. */
	ev = e2e();
	for (size_t i = 0; i < 4; i++)
		json_object_set_new(json_object_get(rep(ev), tcbs[i]), "fmc", json_integer(0));
	EXPECT(refused(ev, VEIL_E_MISMATCH, "cpuid_fam_id is 0x19"));
	/* One TCB in another layout than the others. */
	ev = e2e();
	json_object_set_new(json_object_get(rep(ev), "committed_tcb"), "fmc", json_integer(1));
	EXPECT(refused(ev, VEIL_E_MISMATCH, "committed_tcb has an \"fmc\""));
	/* Family 1Ah with the legacy layout. */
	ev = e2e();
	json_object_set_new(rep(ev), "cpuid_fam_id", json_integer(0x1A));
	EXPECT(refused(ev, VEIL_E_MISMATCH, "cpuid_fam_id is 0x1a (Turin)"));
	/* A family whose layout Veil does not know. */
	ev = e2e();
	json_object_set_new(rep(ev), "cpuid_fam_id", json_integer(0x1B));
	EXPECT(refused(ev, VEIL_E_UNSUPPORTED, "0x1b"));
}

TEST(parser_refusals_pass_through)
{
	json_t *ev;

	ev = e2e();
	json_object_set_new(rep(ev), "vmpl", json_integer(4));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "the rebuilt report: SNP report: VMPL"));
	ev = e2e();
	json_object_set_new(rep(ev), "sig_algo", json_integer(2));
	EXPECT(refused(ev, VEIL_E_UNSUPPORTED, "SIGNATURE_ALGO"));
	ev = e2e();
	json_object_set_new(rep(ev), "key_info", json_integer(0x20));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "reserved bits 31:5"));
}

TEST(not_objects)
{
	json_t *ev;

	EXPECT(refused(json_array(), VEIL_E_MALFORMED, "not a JSON object"));
	EXPECT(refused(json_string("{}"), VEIL_E_MALFORMED, "not a JSON object"));
	EXPECT(refused(json_null(), VEIL_E_MALFORMED, "not a JSON object"));
	EXPECT(refused(json_object(), VEIL_E_MALFORMED, "no \"attestation_report\""));
	ev = e2e();
	json_object_set_new(ev, "attestation_report", json_array());
	EXPECT(refused(ev, VEIL_E_MALFORMED, "attestation_report is not a JSON object"));
	ev = e2e();
	json_object_set_new(rep(ev), "current_tcb", json_integer(0));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "current_tcb is an integer"));
	ev = e2e();
	json_object_set_new(rep(ev), "signature", json_array());
	EXPECT(refused(ev, VEIL_E_MALFORMED, "signature is an array"));
	ev = e2e();
	json_object_set_new(rep(ev), "measurement", json_object());
	EXPECT(refused(ev, VEIL_E_MALFORMED, "measurement is an object"));
	ev = e2e();
	json_object_set_new(ev, "cert_chain", json_object());
	EXPECT(refused(ev, VEIL_E_MALFORMED, "cert_chain is an object"));
	ev = e2e();
	json_array_set_new(json_object_get(ev, "cert_chain"), 0, json_string("VCEK"));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "cert_chain[0] is not a JSON object"));

	uint8_t report[VEIL_COCO_SNP_REPORT_SIZE];
	json_t *certs = NULL;
	EXPECT_ERR(veil_coco_snp_evidence(NULL, report, &certs), VEIL_E_USAGE);
	EXPECT(certs == NULL);
}

/* ---- the certificate table ---- */

static json_t *cert_entry(const char *type, size_t n, int fill)
{
	json_t *data = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(data, json_integer(fill));
	return json_pack("{s:s,s:o}", "cert_type", type, "data", data);
}

TEST(cert_types)
{
	uint8_t report[VEIL_COCO_SNP_REPORT_SIZE];
	json_t *ev, *chain, *certs;

	ev = e2e();
	json_object_set_new(json_array_get(json_object_get(ev, "cert_chain"), 0), "cert_type",
			    json_string("PEK"));
	EXPECT(refused(ev, VEIL_E_UNSUPPORTED, "cert_type is \"PEK\""));
	ev = e2e();
	json_object_set_new(json_array_get(json_object_get(ev, "cert_chain"), 0), "cert_type",
			    json_string("Empty"));
	EXPECT(refused(ev, VEIL_E_UNSUPPORTED, "\"Empty\""));
	ev = e2e();
	json_object_set_new(json_array_get(json_object_get(ev, "cert_chain"), 0), "cert_type",
			    json_pack("{s:s}", "OTHER", "11111111-1111-1111-1111-111111111111"));
	EXPECT(refused(ev, VEIL_E_UNSUPPORTED, "cert_type is an object"));
	ev = e2e();
	json_object_del(json_array_get(json_object_get(ev, "cert_chain"), 0), "cert_type");
	EXPECT(refused(ev, VEIL_E_UNSUPPORTED, "cert_type is absent"));
	ev = e2e();
	json_object_del(json_array_get(json_object_get(ev, "cert_chain"), 0), "data");
	EXPECT(refused(ev, VEIL_E_MALFORMED, "data is absent"));
	ev = e2e();
	json_array_append_new(json_object_get(ev, "cert_chain"), cert_entry("ASK", 0, 0));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "cert_chain[1].data is empty"));
	ev = e2e();
	json_array_append_new(json_object_get(ev, "cert_chain"), cert_entry("ARK", 3, 256));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "cert_chain[1].data[0] is 256"));
	ev = e2e();
	json_array_append_new(json_object_get(ev, "cert_chain"), cert_entry("CRL", 3, -1));
	EXPECT(refused(ev, VEIL_E_MALFORMED, "cert_chain[1].data[0] is -1"));
	/* Every known type passes through, in order, as base64. */
	ev = e2e();
	chain = json_object_get(ev, "cert_chain");
	json_array_append_new(chain, cert_entry("ASK", 3, 0xFF));
	json_array_append_new(chain, cert_entry("ARK", 1, 0));
	json_array_append_new(chain, cert_entry("ASVK", 2, 1));
	json_array_append_new(chain, cert_entry("VLEK", 1, 2));
	json_array_append_new(chain, cert_entry("CRL", 1, 3));
	certs = converted(ev, report);
	REQUIRE(json_array_size(certs) == 6);
	EXPECT(strcmp(json_string_value(json_array_get(certs, 1)), "////") == 0);
	EXPECT(strcmp(json_string_value(json_array_get(certs, 2)), "AA==") == 0);
	EXPECT(strcmp(json_string_value(json_array_get(certs, 3)), "AQE=") == 0);
	EXPECT(strcmp(json_string_value(json_array_get(certs, 5)), "Aw==") == 0);
	json_decref(certs);
}

TEST(cert_table_caps)
{
	uint8_t report[VEIL_COCO_SNP_REPORT_SIZE];
	json_t *ev, *chain, *certs;

	/* VEIL_SNP_CERTTABLE_MAX entries pass, one more does not. */
	ev = e2e();
	chain = json_object_get(ev, "cert_chain");
	while (json_array_size(chain) < VEIL_SNP_CERTTABLE_MAX)
		json_array_append_new(chain, cert_entry("CRL", 4, 7));
	certs = converted(json_deep_copy(ev), report);
	EXPECT(json_array_size(certs) == VEIL_SNP_CERTTABLE_MAX);
	json_decref(certs);
	json_array_append_new(chain, cert_entry("CRL", 4, 7));
	EXPECT(refused(ev, VEIL_E_LIMIT, "17 entries"));
	/* VEIL_SNP_CERTS_MAX bytes in all pass, one more does not. */
	ev = e2e();
	chain = json_array();
	for (int i = 0; i < 4; i++)
		json_array_append_new(chain, cert_entry("CRL", VEIL_SNP_CERTS_MAX / 4, 0));
	json_object_set_new(ev, "cert_chain", chain);
	certs = converted(json_deep_copy(ev), report);
	EXPECT(json_array_size(certs) == 4);
	json_decref(certs);
	json_array_append_new(chain, cert_entry("CRL", 1, 0));
	EXPECT(refused(ev, VEIL_E_LIMIT, "cert_chain[4].data brings"));
}

/* ---- every report in testdata/snp: bytes -> JSON -> bytes ---- */

static const struct {
	const char *file;
	enum snp_product v2_layout;
} reports[] = {
    {"snp/go-sev-guest/attestation.bin", SNP_PRODUCT_MILAN},
    {"snp/virtee-sev/report_milan.DERIVED.bin", SNP_PRODUCT_MILAN},
    {"snp/trustee/test-report.bin", SNP_PRODUCT_MILAN},
    {"snp/trustee/test-vlek-report.bin", SNP_PRODUCT_UNKNOWN},
    {E2E_REPORT, SNP_PRODUCT_UNKNOWN},
    {"snp/trustee/az-snp-vtpm-report-milan-v2.DERIVED.bin", SNP_PRODUCT_MILAN},
    {"snp/trustee/az-snp-vtpm-report-genoa-v3.DERIVED.bin", SNP_PRODUCT_UNKNOWN},
    {TURIN, SNP_PRODUCT_UNKNOWN},
};

TEST(round_trip_every_report)
{
	uint8_t report[VEIL_COCO_SNP_REPORT_SIZE];

	for (size_t i = 0; i < sizeof reports / sizeof reports[0]; i++) {
		for (int omit = 0; omit < 2; omit++) {
			json_t *ev = coco_of(reports[i].file, reports[i].v2_layout, omit, NULL);
			json_t *certs;

			REQUIRE(ev != NULL);
			certs = converted(ev, report);
			if (!equals_file(report, sizeof report, reports[i].file))
				fprintf(stderr, "  %s (omit %d) differs\n", reports[i].file, omit);
			EXPECT(equals_file(report, sizeof report, reports[i].file));
			EXPECT(json_is_array(certs) && json_array_size(certs) == 0);
			json_decref(certs);
		}
	}
}

TEST(turin_v5_rebuilds_and_verifies)
{
	uint8_t report[VEIL_COCO_SNP_REPORT_SIZE];
	json_t *ev = coco_of(TURIN, SNP_PRODUCT_UNKNOWN, false, TURIN_VCEK);
	json_t *certs, *tcb;
	veil_checks checks;
	veil_err err;

	REQUIRE(ev != NULL);
	tcb = json_object_get(rep(ev), "reported_tcb");
	EXPECT(json_integer_value(json_object_get(tcb, "fmc")) == 1);
	EXPECT(json_integer_value(json_object_get(tcb, "snp")) == 4);
	EXPECT(json_integer_value(json_object_get(tcb, "microcode")) == 82);
	EXPECT(json_integer_value(json_object_get(rep(ev), "launch_mit_vector")) == 0x3f);
	certs = converted(json_deep_copy(ev), report);
	REQUIRE(certs != NULL);
	EXPECT(equals_file(report, sizeof report, TURIN));
	err = snp_test_verify_buf(report, sizeof report, coll_from(certs), "2027-01-01T00:00:00Z",
				  NULL, NULL, &checks, NULL);
	if (err != VEIL_OK)
		snp_print_checks(&checks);
	EXPECT_OK(err);
	EXPECT(snp_check_passed(&checks, "report.signature"));
	EXPECT(snp_check_passed(&checks, "vek.tcb"));
	json_decref(certs);

	/* Turin with the legacy layout in one TCB, or in all of them. */
	json_t *bad = json_deep_copy(ev);
	json_object_set_new(json_object_get(rep(bad), "launch_tcb"), "fmc", json_null());
	EXPECT(refused(bad, VEIL_E_MISMATCH, "launch_tcb has no \"fmc\""));
	bad = json_deep_copy(ev);
	const char *tcbs[] = {"current_tcb", "reported_tcb", "committed_tcb", "launch_tcb"};
	for (size_t i = 0; i < 4; i++)
		json_object_del(json_object_get(rep(bad), tcbs[i]), "fmc");
	EXPECT(refused(bad, VEIL_E_MISMATCH, "cpuid_fam_id is 0x1a"));
	/* Version 5 without its mitigation vectors. */
	bad = json_deep_copy(ev);
	json_object_set_new(rep(bad), "current_mit_vector", json_null());
	EXPECT(refused(bad, VEIL_E_MALFORMED, "current_mit_vector is null"));
	bad = json_deep_copy(ev);
	json_object_set_new(rep(bad), "cpuid_fam_id", json_null());
	EXPECT(refused(bad, VEIL_E_MALFORMED, "cpuid_fam_id is null"));
	json_decref(ev);
}

TEST(v2_layout_follows_fmc)
{
	uint8_t report[VEIL_COCO_SNP_REPORT_SIZE];
	const char *tcbs[] = {"current_tcb", "reported_tcb", "committed_tcb", "launch_tcb"};
	json_t *ev = coco_of("snp/trustee/test-report.bin", SNP_PRODUCT_MILAN, true, NULL);
	json_t *certs;

	/* A v2 report has no CPUID to check the layout against; with "fmc"
	 * the Turin layout is written, and the signature would then fail. */
	REQUIRE(ev != NULL);
	for (size_t i = 0; i < 4; i++)
		json_object_set_new(json_object_get(rep(ev), tcbs[i]), "fmc", json_integer(9));
	certs = converted(ev, report);
	EXPECT(report[0x180] == 9 && report[0x181] == 3); /* FMC, then BOOT_LOADER */
	EXPECT(!equals_file(report, sizeof report, "snp/trustee/test-report.bin"));
	json_decref(certs);
}

int main(void)
{
	RUN(e2e_rebuilds_exact_bytes_and_cert);
	RUN(e2e_verifies_with_its_own_vcek);
	RUN(e2e_changed_measurement_fails_signature);
	RUN(e2e_optional_forms);
	RUN(each_member_missing);
	RUN(extra_members);
	RUN(wrong_array_lengths);
	RUN(out_of_range_and_wrong_type);
	RUN(versions);
	RUN(tcb_layout_must_match_cpuid);
	RUN(parser_refusals_pass_through);
	RUN(not_objects);
	RUN(cert_types);
	RUN(cert_table_caps);
	RUN(round_trip_every_report);
	RUN(turin_v5_rebuilds_and_verifies);
	RUN(v2_layout_follows_fmc);
	json_decref(e2e_cached);
	return harness_finish("test_coco_snp");
}
