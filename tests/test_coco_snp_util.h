/*
 * test_coco_snp_util.h - a parsed SNP report written back in the JSON form
 * CoCo's attestation agent sends (header-only, static; test use only).
 *
 * The `sev` crate's AttestationReport through serde_json: fields by their
 * Rust names, byte arrays as arrays of numbers, each TCB_VERSION as {"fmc",
 * "bootloader", "tee", "snp", "microcode"} decoded for the report's layout,
 * firmware versions as {"major", "minor", "build"}, the signature as {"r",
 * "s"}. Fields a version lacks are null (Option::None) or, with
 * omit_absent, left out as older crate releases do. test_coco_snp.c uses it
 * to take every report in testdata/snp through bytes -> JSON -> bytes.
 */
#ifndef VEIL_TEST_COCO_SNP_UTIL_H
#define VEIL_TEST_COCO_SNP_UTIL_H

#include <jansson.h>
#include <stdlib.h>

#include "evidence/snp/snp_report.h"
#include "harness.h"

static inline json_t *byte_array(const uint8_t *p, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_integer(p[i]));
	return a;
}

static inline json_t *tcb_json(uint64_t raw, enum snp_product layout)
{
	struct snp_tcb t;

	snp_tcb_decode(raw, layout, &t);
	return json_pack("{s:o,s:i,s:i,s:i,s:i}", "fmc",
			 t.has_fmc ? json_integer(t.fmc) : json_null(), "bootloader", t.bootloader,
			 "tee", t.tee, "snp", t.snp, "microcode", t.microcode);
}

static inline json_t *version_json(uint8_t major, uint8_t minor, uint8_t build)
{
	return json_pack("{s:i,s:i,s:i}", "major", major, "minor", minor, "build", build);
}

/* Fields a version lacks: null (Option::None) or left out (older crate). */
static inline void set_opt(json_t *o, const char *key, bool has, json_int_t v, bool omit_absent)
{
	if (has)
		json_object_set_new(o, key, json_integer(v));
	else if (!omit_absent)
		json_object_set_new(o, key, json_null());
}

static inline json_t *report_to_coco(const struct snp_report *r, enum snp_product layout,
				     bool omit_absent)
{
	json_t *o = json_object();

	json_object_set_new(o, "version", json_integer(r->version));
	json_object_set_new(o, "guest_svn", json_integer(r->guest_svn));
	json_object_set_new(o, "policy", json_integer((json_int_t)r->policy));
	json_object_set_new(o, "family_id", byte_array(r->family_id, 16));
	json_object_set_new(o, "image_id", byte_array(r->image_id, 16));
	json_object_set_new(o, "vmpl", json_integer(r->vmpl));
	json_object_set_new(o, "sig_algo", json_integer(r->signature_algo));
	json_object_set_new(o, "current_tcb", tcb_json(r->current_tcb, layout));
	json_object_set_new(o, "plat_info", json_integer((json_int_t)r->platform_info));
	json_object_set_new(o, "key_info", json_integer(r->key_info));
	json_object_set_new(o, "report_data", byte_array(r->report_data, 64));
	json_object_set_new(o, "measurement", byte_array(r->measurement, 48));
	json_object_set_new(o, "host_data", byte_array(r->host_data, 32));
	json_object_set_new(o, "id_key_digest", byte_array(r->id_key_digest, 48));
	json_object_set_new(o, "author_key_digest", byte_array(r->author_key_digest, 48));
	json_object_set_new(o, "report_id", byte_array(r->report_id, 32));
	json_object_set_new(o, "report_id_ma", byte_array(r->report_id_ma, 32));
	json_object_set_new(o, "reported_tcb", tcb_json(r->reported_tcb, layout));
	set_opt(o, "cpuid_fam_id", r->has_cpuid, r->cpuid_fam, omit_absent);
	set_opt(o, "cpuid_mod_id", r->has_cpuid, r->cpuid_mod, omit_absent);
	set_opt(o, "cpuid_step", r->has_cpuid, r->cpuid_step, omit_absent);
	json_object_set_new(o, "chip_id", byte_array(r->chip_id, 64));
	json_object_set_new(o, "committed_tcb", tcb_json(r->committed_tcb, layout));
	json_object_set_new(o, "current",
			    version_json(r->current_major, r->current_minor, r->current_build));
	json_object_set_new(
	    o, "committed",
	    version_json(r->committed_major, r->committed_minor, r->committed_build));
	json_object_set_new(o, "launch_tcb", tcb_json(r->launch_tcb, layout));
	set_opt(o, "launch_mit_vector", r->has_mit_vector, (json_int_t)r->launch_mit_vector,
		omit_absent);
	set_opt(o, "current_mit_vector", r->has_mit_vector, (json_int_t)r->current_mit_vector,
		omit_absent);
	json_object_set_new(
	    o, "signature",
	    json_pack("{s:o,s:o}", "r", byte_array(r->sig_r, 72), "s", byte_array(r->sig_s, 72)));
	return o;
}

/* The CoCo evidence for a test data report; v2 reports have no CPUID, so
 * the caller names their layout. cert_chain holds vek (may be NULL). */
static inline json_t *coco_of(const char *rel, enum snp_product v2_layout, bool omit_absent,
			      const char *vek)
{
	struct snp_report r;
	size_t n;
	uint8_t *p = td_read(rel, &n);
	json_t *ev = NULL;

	if (snp_report_parse(p, n, &r) == VEIL_OK) {
		ev = json_pack(
		    "{s:o,s:o}", "attestation_report",
		    report_to_coco(&r, snp_report_layout_product(&r, v2_layout), omit_absent),
		    "cert_chain", json_null());
		if (vek != NULL) {
			uint8_t *d = td_read(vek, &n);
			json_object_set_new(ev, "cert_chain",
					    json_pack("[{s:s,s:o}]", "cert_type", "VCEK", "data",
						      byte_array(d, n)));
			free(d);
		}
	}
	free(p);
	return ev;
}

#endif
