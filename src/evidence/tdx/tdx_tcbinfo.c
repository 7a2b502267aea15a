/*
 * tdx_tcbinfo.c - parses Intel's TDX TCB Info v3 (see tdx_tcbinfo.h).
 *
 * The input is the tcbInfo object exactly as Intel signed it, so what is
 * evaluated is what the signature covers. Every array is capped before
 * anything is allocated for it; every SVN is range-checked to the width the
 * hardware reports (SGX and TDX components are bytes of CPUSVN and
 * TEE_TCB_SVN, PCESVN is 16 bits). Field names and meanings follow the Intel
 * SGX and Intel TDX PCS API specification (v4), "TDX TCB Info" v3.
 */
#include "evidence/tdx/tdx_tcbinfo.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "veil/codec.h"
#include "veil/json.h"
#include "veil/limits.h"
#include "veil/timeutil.h"

veil_err tdx_json_hex(const json_t *obj, const char *key, uint8_t *out, size_t n)
{
	const char *s;
	size_t got = 0;

	TRY(veil_json_get_string(obj, key, &s));
	size_t len = strlen(s);
	ENSURE(len == 2 * n, VEIL_E_MALFORMED, "\"%s\" must be %zu hex digits, has %zu", key, 2 * n,
	       len);
	veil_err err = veil_hex_decode(s, len, out, n, &got);
	if (err != VEIL_OK)
		return veil_fail_context(err, "\"%s\"", key);
	ENSURE(got == n, VEIL_E_MALFORMED, "\"%s\" decodes to %zu bytes, not %zu", key, got, n);
	return VEIL_OK;
}

veil_err tdx_json_time(const json_t *obj, const char *key, int64_t *out)
{
	const char *s;

	TRY(veil_json_get_string(obj, key, &s));
	veil_err err = veil_time_parse(s, out);
	if (err != VEIL_OK)
		return veil_fail_context(err, "\"%s\"", key);
	return VEIL_OK;
}

veil_err tdx_json_advisories(const json_t *obj, const json_t **out)
{
	const json_t *arr = json_object_get(obj, "advisoryIDs");
	size_t i;
	const json_t *id;

	*out = NULL;
	if (arr == NULL)
		return VEIL_OK;
	ENSURE(json_is_array(arr), VEIL_E_MALFORMED, "\"advisoryIDs\" must be an array");
	ENSURE(json_array_size(arr) <= VEIL_TDX_ADVISORIES_MAX, VEIL_E_LIMIT,
	       "\"advisoryIDs\" has %zu entries, over the cap of %d", json_array_size(arr),
	       VEIL_TDX_ADVISORIES_MAX);
	json_array_foreach(arr, i, id)
	{
		ENSURE(json_is_string(id), VEIL_E_MALFORMED, "advisoryIDs[%zu] must be a string",
		       i);
		size_t n = json_string_length(id);
		ENSURE(n > 0 && n < 32, VEIL_E_MALFORMED,
		       "advisoryIDs[%zu] is %zu characters; expected 1..31 (\"INTEL-SA-00837\")", i,
		       n);
		ENSURE(strlen(json_string_value(id)) == n, VEIL_E_MALFORMED,
		       "advisoryIDs[%zu] holds a NUL character", i);
	}
	*out = arr;
	return VEIL_OK;
}

/* Intel PCS API v4: tcbStatus values of TCB Info tcbLevels. */
static const struct {
	const char *name;
	tdx_tcb_status status;
} tcb_status_names[] = {
    {"UpToDate", TDX_TCB_UP_TO_DATE},
    {"SWHardeningNeeded", TDX_TCB_SW_HARDENING_NEEDED},
    {"ConfigurationNeeded", TDX_TCB_CONFIGURATION_NEEDED},
    {"ConfigurationAndSWHardeningNeeded", TDX_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED},
    {"OutOfDate", TDX_TCB_OUT_OF_DATE},
    {"OutOfDateConfigurationNeeded", TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED},
    {"Revoked", TDX_TCB_REVOKED},
};

veil_err tdx_json_status(const json_t *obj, tdx_tcb_status *out)
{
	const char *s;

	TRY(veil_json_get_string(obj, "tcbStatus", &s));
	for (size_t i = 0; i < sizeof tcb_status_names / sizeof tcb_status_names[0]; i++) {
		if (strcmp(s, tcb_status_names[i].name) == 0) {
			*out = tcb_status_names[i].status;
			return VEIL_OK;
		}
	}
	return veil_fail(VEIL_E_MALFORMED, "unknown tcbStatus \"%.40s\"", s);
}

/* sgxtcbcomponents / tdxtcbcomponents: exactly 16 objects with "svn" 0..255
 * (each is one byte of CPUSVN or TEE_TCB_SVN); category and type are text. */
static veil_err parse_components(const json_t *tcb, const char *key, uint8_t svn[16])
{
	json_t *arr;
	size_t i;
	json_t *comp;

	TRY(veil_json_get_array(tcb, key, &arr));
	ENSURE(json_array_size(arr) == 16, VEIL_E_MALFORMED, "\"%s\" has %zu entries, not 16", key,
	       json_array_size(arr));
	json_array_foreach(arr, i, comp)
	{
		int64_t v;
		ENSURE(json_is_object(comp), VEIL_E_MALFORMED, "%s[%zu] must be an object", key, i);
		veil_err err = veil_json_get_int(comp, "svn", 0, 255, &v);
		if (err != VEIL_OK)
			return veil_fail_context(err, "%s[%zu]", key, i);
		svn[i] = (uint8_t)v;
	}
	return VEIL_OK;
}

static veil_err parse_level(const json_t *lv, tdx_tcb_level *out)
{
	json_t *tcb;
	int64_t pcesvn;

	ENSURE(json_is_object(lv), VEIL_E_MALFORMED, "TCB level must be an object");
	TRY(veil_json_get_object(lv, "tcb", &tcb));
	TRY(parse_components(tcb, "sgxtcbcomponents", out->sgx_svn));
	TRY(veil_json_get_int(tcb, "pcesvn", 0, 65535, &pcesvn));
	out->pcesvn = (uint16_t)pcesvn;
	TRY(parse_components(tcb, "tdxtcbcomponents", out->tdx_svn));
	TRY(tdx_json_time(lv, "tcbDate", &out->tcb_date));
	TRY(tdx_json_status(lv, &out->status));
	TRY(tdx_json_advisories(lv, &out->advisories));
	return VEIL_OK;
}

/* TDX module identity levels may only say UpToDate, OutOfDate or Revoked
 * (QVL TcbStatus.h VALID_MODULE_TCB_STATUSES). */
static veil_err parse_module_level(const json_t *lv, tdx_module_level *out)
{
	json_t *tcb;
	int64_t isvsvn;

	ENSURE(json_is_object(lv), VEIL_E_MALFORMED, "module TCB level must be an object");
	TRY(veil_json_get_object(lv, "tcb", &tcb));
	TRY(veil_json_get_int(tcb, "isvsvn", 0, 65535, &isvsvn));
	out->isvsvn = (uint16_t)isvsvn;
	TRY(tdx_json_time(lv, "tcbDate", &out->tcb_date));
	TRY(tdx_json_status(lv, &out->status));
	ENSURE(out->status == TDX_TCB_UP_TO_DATE || out->status == TDX_TCB_OUT_OF_DATE ||
		   out->status == TDX_TCB_REVOKED,
	       VEIL_E_MALFORMED, "TDX module level status must be UpToDate, OutOfDate or Revoked");
	TRY(tdx_json_advisories(lv, &out->advisories));
	return VEIL_OK;
}

static bool is_hex_digit(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static veil_err parse_module_identity(const json_t *obj, tdx_module_identity *out)
{
	const char *id;
	json_t *levels;
	size_t i;
	json_t *lv;

	ENSURE(json_is_object(obj), VEIL_E_MALFORMED, "module identity must be an object");
	TRY(veil_json_get_string(obj, "id", &id));
	/* PCS API v4: id is "TDX_" followed by the module major version in hex. */
	ENSURE(strlen(id) == 6 && strncasecmp(id, "TDX_", 4) == 0 && is_hex_digit(id[4]) &&
		   is_hex_digit(id[5]),
	       VEIL_E_MALFORMED, "module identity id \"%.16s\" is not \"TDX_\" and two hex digits",
	       id);
	memcpy(out->id, id, 7);
	TRY(tdx_json_hex(obj, "mrsigner", out->mrsigner, sizeof out->mrsigner));
	TRY(tdx_json_hex(obj, "attributes", out->attributes, sizeof out->attributes));
	TRY(tdx_json_hex(obj, "attributesMask", out->attributes_mask, sizeof out->attributes_mask));
	TRY(veil_json_get_array(obj, "tcbLevels", &levels));
	size_t n = json_array_size(levels);
	ENSURE(n > 0 && n <= VEIL_TDX_TCB_LEVELS_MAX, VEIL_E_LIMIT,
	       "module %s has %zu TCB levels; expected 1..%d", out->id, n, VEIL_TDX_TCB_LEVELS_MAX);
	out->level = calloc(n, sizeof *out->level);
	ENSURE(out->level != NULL, VEIL_E_NOMEM, "out of memory for module TCB levels");
	out->level_count = n;
	json_array_foreach(levels, i, lv)
	{
		veil_err err = parse_module_level(lv, &out->level[i]);
		if (err != VEIL_OK)
			return veil_fail_context(err, "%s tcbLevels[%zu]", out->id, i);
	}
	return VEIL_OK;
}

static veil_err parse_modules(const json_t *info, tdx_tcbinfo *t)
{
	json_t *mod;
	const json_t *ids;
	size_t i;
	json_t *obj;

	/* tdxModule: required in TDX TCB Info v3. */
	TRY(veil_json_get_object(info, "tdxModule", &mod));
	TRY(tdx_json_hex(mod, "mrsigner", t->module_mrsigner, sizeof t->module_mrsigner));
	TRY(tdx_json_hex(mod, "attributes", t->module_attributes, sizeof t->module_attributes));
	TRY(tdx_json_hex(mod, "attributesMask", t->module_attributes_mask,
			 sizeof t->module_attributes_mask));

	ids = json_object_get(info, "tdxModuleIdentities");
	if (ids == NULL)
		return VEIL_OK;
	ENSURE(json_is_array(ids), VEIL_E_MALFORMED, "\"tdxModuleIdentities\" must be an array");
	size_t n = json_array_size(ids);
	ENSURE(n > 0 && n <= VEIL_TDX_MODULE_IDENTITIES_MAX, VEIL_E_LIMIT,
	       "\"tdxModuleIdentities\" has %zu entries; expected 1..%d", n,
	       VEIL_TDX_MODULE_IDENTITIES_MAX);
	t->module = calloc(n, sizeof *t->module);
	ENSURE(t->module != NULL, VEIL_E_NOMEM, "out of memory for TDX module identities");
	t->module_count = n;
	t->has_module_identities = true;
	json_array_foreach(ids, i, obj)
	{
		veil_err err = parse_module_identity(obj, &t->module[i]);
		if (err != VEIL_OK)
			return veil_fail_context(err, "tdxModuleIdentities[%zu]", i);
		for (size_t j = 0; j < i; j++)
			ENSURE(strcasecmp(t->module[j].id, t->module[i].id) != 0, VEIL_E_MALFORMED,
			       "tdxModuleIdentities lists %s twice", t->module[i].id);
	}
	return VEIL_OK;
}

static veil_err parse_info(const json_t *info, tdx_tcbinfo *t)
{
	const char *id;
	int64_t version, tcb_type;
	json_t *levels;
	size_t i;
	json_t *lv;

	ENSURE(json_is_object(info), VEIL_E_MALFORMED, "tcbInfo must be a JSON object");
	TRY(veil_json_get_string(info, "id", &id));
	ENSURE(strcmp(id, "TDX") == 0, VEIL_E_UNSUPPORTED,
	       "tcbInfo id is \"%.16s\", not \"TDX\"; this is not TDX TCB Info", id);
	TRY(veil_json_get_int(info, "version", 0, 1000, &version));
	ENSURE(version == 3, VEIL_E_UNSUPPORTED,
	       "TDX tcbInfo version %lld is not supported (only 3)", (long long)version);
	TRY(tdx_json_time(info, "issueDate", &t->issue_date));
	TRY(tdx_json_time(info, "nextUpdate", &t->next_update));
	ENSURE(t->issue_date <= t->next_update, VEIL_E_MALFORMED,
	       "tcbInfo nextUpdate is before its issueDate");
	TRY(tdx_json_hex(info, "fmspc", t->fmspc, sizeof t->fmspc));
	TRY(tdx_json_hex(info, "pceId", t->pceid, sizeof t->pceid));
	/* tcbType 0 is the only one defined: component i is CPUSVN byte i. */
	TRY(veil_json_get_int(info, "tcbType", 0, 0, &tcb_type));
	TRY(veil_json_get_int(info, "tcbEvaluationDataNumber", 0, UINT32_MAX, &t->eval_number));
	TRY(parse_modules(info, t));

	TRY(veil_json_get_array(info, "tcbLevels", &levels));
	size_t n = json_array_size(levels);
	ENSURE(n > 0 && n <= VEIL_TDX_TCB_LEVELS_MAX, VEIL_E_LIMIT,
	       "tcbInfo has %zu TCB levels; expected 1..%d", n, VEIL_TDX_TCB_LEVELS_MAX);
	t->level = calloc(n, sizeof *t->level);
	ENSURE(t->level != NULL, VEIL_E_NOMEM, "out of memory for TCB levels");
	t->level_count = n;
	json_array_foreach(levels, i, lv)
	{
		veil_err err = parse_level(lv, &t->level[i]);
		if (err != VEIL_OK)
			return veil_fail_context(err, "tcbLevels[%zu]", i);
	}
	return VEIL_OK;
}

veil_err tdx_tcbinfo_parse(const uint8_t *body, size_t len, tdx_tcbinfo **out)
{
	tdx_tcbinfo *t;
	veil_err err;

	*out = NULL;
	t = calloc(1, sizeof *t);
	ENSURE(t != NULL, VEIL_E_NOMEM, "out of memory for TCB Info");
	err = veil_json_parse(body, len, &t->doc);
	if (err == VEIL_OK)
		err = parse_info(t->doc, t);
	if (err != VEIL_OK) {
		tdx_tcbinfo_free(t);
		return veil_fail_context(err, "TDX TCB Info");
	}
	*out = t;
	return VEIL_OK;
}

void tdx_tcbinfo_free(tdx_tcbinfo *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->module_count; i++)
		free(t->module[i].level);
	free(t->module);
	free(t->level);
	json_decref(t->doc);
	free(t);
}
