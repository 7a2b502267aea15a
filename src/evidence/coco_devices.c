/*
 * coco_devices.c - Confidential Containers' NVIDIA additional evidence, read
 * into the evidence bundle's device entries (docs/evidence-bundle.md).
 *
 * In the KBS protocol 0.4.0 the attest request carries
 * tee-evidence.additional_evidence as a JSON string; CoCo's attestation
 * agent fills it with the serialisation of a map {"<tee>": <evidence>}, and
 * for NVIDIA GPUs the evidence is (guest-components attester/src/nvidia)
 *
 *   {"device_evidence_list": [{"arch": "Hopper", "uuid": "GPU-...",
 *     "evidence": "<standard base64 of the SPDM report>",
 *     "certificate": "<standard base64 of the PEM chain NVML returns>"}]}
 *
 * which is Veil's own device entry in all but its names: Veil's attester
 * also puts base64 of the report and base64 of the PEM chain text in
 * "evidence" and "certificate" (src/cli/attest.c), so the strings carry over
 * untouched and the bundle decodes and checks them exactly as it does its
 * own. The string itself, not this conversion, is what REPORT_DATA binds.
 *
 * Everything else is refused rather than skipped: another TEE in the map
 * (Veil verifies only NVIDIA devices from CoCo), a member this file does not
 * know, an architecture NVIDIA confidential computing does not have. "arch"
 * and "uuid" are the driver's labels, not evidence (the report and its
 * certificate chain say which chip signed, and the leaf certificate's serial
 * is the device identity, the "ueid" claim), so they are checked for shape
 * and not kept in the device entries, whose members the bundle checks
 * strictly. They are not lost either: the result's claims carry
 * runtime_data, the additional evidence string included, verbatim.
 */
#include <string.h>

#include "veil/coco.h"
#include "veil/json.h"
#include "veil/limits.h"

/* NVML's UUID is "GPU-" and 36 characters (40 in all); CoCo's newer attester
 * writes "unknown" when the SDK gives none. */
#define COCO_UUID_MAX 64

static const char *const nvidia_members[] = {"device_evidence_list", NULL};
static const char *const entry_members[] = {"arch", "uuid", "evidence", "certificate", NULL};

/*
 * The architectures NVIDIA confidential computing has. CoCo's nvml-based
 * attester serialises nvml-wrapper's DeviceArchitecture with serde's
 * defaults, the variant name ("Hopper", "Blackwell"); its attester on
 * NVIDIA's attestation SDK writes them in capitals ("HOPPER", "BLACKWELL"),
 * and Trustee's verifier accepts exactly these four spellings. Case is not
 * folded beyond that: no attester writes "hopper".
 */
static const char *const cc_archs[] = {"Hopper", "HOPPER", "Blackwell", "BLACKWELL", NULL};

static veil_err arch_check(const char *arch)
{
	for (size_t i = 0; cc_archs[i] != NULL; i++)
		if (strcmp(arch, cc_archs[i]) == 0)
			return VEIL_OK;
	/* Trustee's verifier also knows "LS10", the NVSwitch: its report is
	 * not a GPU's, and Veil verifies GPUs only. */
	ENSURE(strcmp(arch, "LS10") != 0, VEIL_E_UNSUPPORTED,
	       "\"arch\" \"LS10\" is an NVSwitch; Veil verifies NVIDIA GPUs only");
	return veil_fail(VEIL_E_UNSUPPORTED,
			 "\"arch\" \"%.32s\" is not an architecture NVIDIA confidential computing "
			 "supports (Hopper or Blackwell)",
			 arch);
}

/* A loose shape check: the UUID is a label, so it only has to be one. */
static veil_err uuid_check(const json_t *v)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);

	ENSURE(n > 0 && n <= COCO_UUID_MAX, VEIL_E_MALFORMED,
	       "\"uuid\" must be 1 to %d characters (it is %zu)", COCO_UUID_MAX, n);
	for (size_t i = 0; i < n; i++)
		ENSURE((unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f, VEIL_E_MALFORMED,
		       "\"uuid\" holds a character that is not printable ASCII (at %zu)", i);
	return VEIL_OK;
}

/* One entry of device_evidence_list as a new bundle device entry. */
static veil_err entry_read(const json_t *entry, json_t **out)
{
	const char *arch, *s;

	*out = NULL;
	TRY(veil_json_only_members(entry, "a CoCo NVIDIA device entry", entry_members));
	TRY(veil_json_get_string(entry, "arch", &arch));
	TRY(arch_check(arch));
	TRY(veil_json_get_string(entry, "uuid", &s));
	TRY(uuid_check(json_object_get(entry, "uuid")));
	/* Both strings go on as they are: the bundle decodes them (standard
	 * base64, as CoCo's attester encodes). An older attester's hex report,
	 * which Trustee still tries first, decodes as base64 to bytes that are
	 * no report and fails verification: hex is not guessed at here. */
	TRY(veil_json_get_string(entry, "evidence", &s));
	TRY(veil_json_get_string(entry, "certificate", &s));
	/* The strings are shared, not copied: JSON values are never changed
	 * once parsed, and a report with its chain is some 10 KiB a GPU. */
	*out = json_pack("{s:s, s:O, s:O}", "type", "nvidia", "evidence",
			 json_object_get(entry, "evidence"), "certificate",
			 json_object_get(entry, "certificate"));
	ENSURE(*out != NULL, VEIL_E_NOMEM, "out of memory");
	return VEIL_OK;
}

/* The map's NVIDIA member, {"device_evidence_list": [...]}, into devs. */
static veil_err nvidia_read(const json_t *nv, json_t *devs)
{
	json_t *list, *entry;
	size_t i;

	TRY(veil_json_only_members(nv, "CoCo's \"nvidia\" evidence", nvidia_members));
	TRY(veil_json_get_array(nv, "device_evidence_list", &list));
	/* An empty list is refused, not read as "no devices": CoCo's agent
	 * adds an "nvidia" member only when its attester found a CC GPU, and
	 * says "no devices" with an empty additional_evidence string. A map
	 * that names the GPU attester yet holds no GPU was not made by that
	 * attester, and a verifier that let it pass as a CPU alone would hide
	 * that the guest claimed GPUs and showed none. */
	ENSURE(json_array_size(list) > 0, VEIL_E_MALFORMED,
	       "\"device_evidence_list\" is empty (a guest without GPUs sends \"\" as its "
	       "additional evidence)");
	ENSURE(json_array_size(list) <= VEIL_BUNDLE_DEVICES_MAX, VEIL_E_LIMIT,
	       "\"device_evidence_list\" has %zu devices, more than %d", json_array_size(list),
	       VEIL_BUNDLE_DEVICES_MAX);
	json_array_foreach(list, i, entry)
	{
		json_t *dev = NULL;
		veil_err err = entry_read(entry, &dev);
		if (err != VEIL_OK)
			return veil_fail_context(err, "\"device_evidence_list\"[%zu]", i);
		ENSURE(json_array_append_new(devs, dev) == 0, VEIL_E_NOMEM, "out of memory");
	}
	return VEIL_OK;
}

veil_err veil_coco_devices(const json_t *map, json_t **devices)
{
	const char *key;
	json_t *v, *devs;
	veil_err err;

	*devices = NULL;
	ENSURE(json_is_object(map), VEIL_E_MALFORMED,
	       "CoCo's additional evidence is not a JSON object (a map of TEE to evidence)");
	json_object_foreach((json_t *)map, key, v)
	{
		(void)v;
		ENSURE(
		    strcmp(key, "nvidia") == 0, VEIL_E_UNSUPPORTED,
		    "CoCo's additional evidence has \"%.32s\"; Veil verifies only NVIDIA devices "
		    "(\"nvidia\") from CoCo",
		    key);
	}
	ENSURE(json_object_get(map, "nvidia") != NULL, VEIL_E_MALFORMED,
	       "CoCo's additional evidence map is empty (a guest without devices sends \"\")");
	devs = json_array();
	ENSURE(devs != NULL, VEIL_E_NOMEM, "out of memory");
	err = nvidia_read(json_object_get(map, "nvidia"), devs);
	if (err != VEIL_OK) {
		json_decref(devs);
		return veil_fail_context(err, "CoCo's \"nvidia\" evidence");
	}
	*devices = devs;
	return VEIL_OK;
}
