/*
 * spec.c - the launch spec of `veil launch` (docs/launch.md "The spec").
 *
 * The spec says what VM to start: which TEE, which firmware, kernel and
 * initrd, how many vCPUs and how much memory, which GPUs to pass through,
 * the worker's disk and its network. Everything in it ends up on QEMU's
 * command line, so it is read strictly: unknown members are refused (a
 * misspelt "polcy" must not silently give the default policy), every
 * string is checked against the characters its place on the command line
 * allows, and every error names the member. The parser is pure: paths are
 * joined to the spec's folder here and looked at later (launch/gate.c),
 * so a dry run can report missing files instead of stopping at the first.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "veil/json.h"
#include "veil/launch.h"

static const char *const top_members[] = {
    "version",    "tee",  "name", "qemu", "firmware",    "kernel",  "initrd", "cmdline", "vcpus",
    "memory_mib", "gpus", "vfio", "disk", "disk_format", "network", "snp",    "tdx",     NULL};

const char *veil_launch_tee_name(veil_hc_tee tee)
{
	return tee == VEIL_HC_TEE_SNP ? "snp" : tee == VEIL_HC_TEE_TDX ? "tdx" : "none";
}

void veil_launch_spec_clear(veil_launch_spec *s)
{
	free(s->qemu);
	free(s->firmware);
	free(s->kernel);
	free(s->initrd);
	free(s->cmdline);
	free(s->disk);
	free(s->tdx.qgs_path);
	memset(s, 0, sizeof *s);
}

/* Printable ASCII only: these strings are printed for people and passed
 * to QEMU, where a control character has no business. */
static bool printable(const char *p)
{
	for (; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return false;
	return true;
}

/* A string member; absent is fine when !required (*out stays NULL). */
static veil_err get_string(const json_t *obj, const char *prefix, const char *key, bool required,
			   size_t max, const char **out)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL) {
		ENSURE(!required, VEIL_E_MALFORMED, "spec: \"%s%s\" is missing", prefix, key);
		return VEIL_OK;
	}
	ENSURE(json_is_string(v), VEIL_E_MALFORMED, "spec: \"%s%s\" must be a string", prefix, key);
	const char *s = json_string_value(v);
	ENSURE(strlen(s) == json_string_length(v), VEIL_E_MALFORMED,
	       "spec: \"%s%s\" contains a NUL character", prefix, key);
	ENSURE(s[0] != '\0', VEIL_E_MALFORMED, "spec: \"%s%s\" is empty", prefix, key);
	ENSURE(strlen(s) <= max, VEIL_E_LIMIT, "spec: \"%s%s\" is longer than %zu bytes", prefix,
	       key, max);
	ENSURE(printable(s), VEIL_E_MALFORMED,
	       "spec: \"%s%s\" must be printable ASCII (no control characters)", prefix, key);
	*out = s;
	return VEIL_OK;
}

static veil_err get_uint(const json_t *obj, const char *prefix, const char *key, bool required,
			 uint64_t min, uint64_t max, uint64_t *out)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL) {
		ENSURE(!required, VEIL_E_MALFORMED, "spec: \"%s%s\" is missing", prefix, key);
		return VEIL_OK;
	}
	ENSURE(json_is_integer(v), VEIL_E_MALFORMED, "spec: \"%s%s\" must be an integer", prefix,
	       key);
	json_int_t i = json_integer_value(v);
	ENSURE(i >= 0 && (uint64_t)i >= min && (uint64_t)i <= max, VEIL_E_MALFORMED,
	       "spec: \"%s%s\" is %" PRId64 ", outside %" PRIu64 "..%" PRIu64, prefix, key,
	       (int64_t)i, min, max);
	*out = (uint64_t)i;
	return VEIL_OK;
}

/* p as an absolute path: kept when it starts with '/', else joined to dir. */
static veil_err join_path(const char *dir, const char *key, const char *p, char **out)
{

	bool joined = p[0] != '/' && dir != NULL && dir[0] != '\0';
	const char *sep = joined && dir[strlen(dir) - 1] != '/' ? "/" : "";
	size_t n = joined ? strlen(dir) + strlen(sep) + strlen(p) + 1 : strlen(p) + 1;

	ENSURE(n <= VEIL_LAUNCH_PATH_MAX, VEIL_E_LIMIT,
	       "spec: \"%s\": the path is longer than %d bytes", key, VEIL_LAUNCH_PATH_MAX);
	*out = malloc(n);
	ENSURE(*out != NULL, VEIL_E_NOMEM, "spec: out of memory");
	snprintf(*out, n, "%s%s%s", joined ? dir : "", sep, p);
	return VEIL_OK;
}

static veil_err get_path(const json_t *obj, const char *dir, const char *key, bool required,
			 char **out)
{
	const char *p;

	TRY(get_string(obj, "", key, required, VEIL_LAUNCH_PATH_MAX, &p));
	if (p == NULL)
		return VEIL_OK;
	return join_path(dir, key, p, out);
}

/* "DDDD:BB:DD.F" (domain, bus, device 00-1f, function 0-7), as sysfs names
 * PCI devices; upper-case hex is accepted and lowered. */
static veil_err parse_pci_addr(const char *s, size_t index, char out[VEIL_LAUNCH_PCI_ADDR_LEN + 1])
{
	static const char form[] = "xxxx:xx:xx.x";

	ENSURE(strlen(s) == VEIL_LAUNCH_PCI_ADDR_LEN, VEIL_E_MALFORMED,
	       "spec: \"gpus[%zu]\": \"%.40s\" is not a PCI address like 0000:41:00.0", index, s);
	for (size_t i = 0; i < VEIL_LAUNCH_PCI_ADDR_LEN; i++) {
		bool ok = form[i] == 'x' ? isxdigit((unsigned char)s[i]) != 0 : s[i] == form[i];
		ENSURE(ok, VEIL_E_MALFORMED,
		       "spec: \"gpus[%zu]\": \"%s\" is not a PCI address like 0000:41:00.0", index,
		       s);
		out[i] = (char)tolower((unsigned char)s[i]);
	}
	out[VEIL_LAUNCH_PCI_ADDR_LEN] = '\0';
	unsigned dev = (unsigned)strtoul(out + 8, NULL, 16); /* checked: two hex digits, '.' */
	ENSURE(dev <= 0x1f && out[11] <= '7', VEIL_E_MALFORMED,
	       "spec: \"gpus[%zu]\": \"%s\": the device is 00-1f and the function 0-7", index, s);
	return VEIL_OK;
}

static veil_err parse_gpus(const json_t *doc, veil_launch_spec *s)
{
	json_t *arr = json_object_get(doc, "gpus"), *v;
	size_t i;

	const char *vfio;
	TRY(get_string(doc, "", "vfio", false, 16, &vfio));
	if (vfio != NULL) {
		ENSURE(strcmp(vfio, "legacy") == 0 || strcmp(vfio, "iommufd") == 0,
		       VEIL_E_MALFORMED, "spec: \"vfio\" must be \"legacy\" or \"iommufd\"");
		s->iommufd = strcmp(vfio, "iommufd") == 0;
	}
	if (arr == NULL)
		return VEIL_OK;
	ENSURE(json_is_array(arr), VEIL_E_MALFORMED,
	       "spec: \"gpus\" must be an array of PCI addresses");
	ENSURE(json_array_size(arr) <= VEIL_LAUNCH_GPUS_MAX, VEIL_E_LIMIT,
	       "spec: \"gpus\" lists %zu GPUs, at most %d", json_array_size(arr),
	       VEIL_LAUNCH_GPUS_MAX);
	json_array_foreach(arr, i, v)
	{
		ENSURE(json_is_string(v), VEIL_E_MALFORMED, "spec: \"gpus[%zu]\" must be a string",
		       i);
		TRY(parse_pci_addr(json_string_value(v), i, s->gpus[i]));
		for (size_t j = 0; j < i; j++)
			ENSURE(strcmp(s->gpus[j], s->gpus[i]) != 0, VEIL_E_MALFORMED,
			       "spec: \"gpus[%zu]\": %s is listed twice", i, s->gpus[i]);
		s->ngpus++;
	}
	return VEIL_OK;
}

static veil_err parse_network(const json_t *doc, veil_launch_spec *s)
{
	static const char *const members[] = {"mode", "host_addr", "forward", NULL};
	json_t *net = json_object_get(doc, "network"), *fw, *v;
	const char *mode, *addr;
	size_t i;

	if (net == NULL)
		return VEIL_OK; /* VEIL_LAUNCH_NET_NONE */
	ENSURE(json_is_object(net), VEIL_E_MALFORMED, "spec: \"network\" must be an object");
	TRY(veil_json_only_members(net, "spec: \"network\"", members));
	TRY(get_string(net, "network.", "mode", true, 16, &mode));
	if (strcmp(mode, "none") == 0) {
		ENSURE(json_object_size(net) == 1, VEIL_E_MALFORMED,
		       "spec: \"network\": mode \"none\" takes no other member");
		return VEIL_OK;
	}
	ENSURE(strcmp(mode, "user") == 0, VEIL_E_MALFORMED,
	       "spec: \"network.mode\" must be \"user\" or \"none\"");
	s->net = VEIL_LAUNCH_NET_USER;
	TRY(get_string(net, "network.", "host_addr", false, 15, &addr));
	if (addr != NULL) {
		struct in_addr in;
		ENSURE(inet_pton(AF_INET, addr, &in) == 1, VEIL_E_MALFORMED,
		       "spec: \"network.host_addr\": \"%s\" is not an IPv4 address", addr);
		snprintf(s->host_addr, sizeof s->host_addr, "%s", addr);
	}
	fw = json_object_get(net, "forward");
	if (fw == NULL)
		return VEIL_OK;
	ENSURE(json_is_array(fw), VEIL_E_MALFORMED, "spec: \"network.forward\" must be an array");
	ENSURE(json_array_size(fw) <= VEIL_LAUNCH_FORWARDS_MAX, VEIL_E_LIMIT,
	       "spec: \"network.forward\" has %zu entries, at most %d", json_array_size(fw),
	       VEIL_LAUNCH_FORWARDS_MAX);
	json_array_foreach(fw, i, v)
	{
		static const char *const fm[] = {"host", "guest", NULL};
		char prefix[40], what[48];
		uint64_t host = 0, guest = 0;

		snprintf(prefix, sizeof prefix, "network.forward[%zu].", i);
		snprintf(what, sizeof what, "spec: \"network.forward[%zu]\"", i);
		TRY(veil_json_only_members(v, what, fm));
		TRY(get_uint(v, prefix, "host", true, 1, 65535, &host));
		TRY(get_uint(v, prefix, "guest", true, 1, 65535, &guest));
		for (size_t j = 0; j < i; j++)
			ENSURE(s->forwards[j].host != host, VEIL_E_MALFORMED,
			       "spec: \"network.forward[%zu]\": host port %" PRIu64
			       " is forwarded twice",
			       i, host);
		s->forwards[i].host = (uint16_t)host;
		s->forwards[i].guest = (uint16_t)guest;
		s->nforwards++;
	}
	return VEIL_OK;
}

/* "0x30000": at most 16 hex digits after "0x". */
static veil_err parse_policy(const char *p, uint64_t *out)
{
	size_t n = strlen(p);

	ENSURE(n > 2 && n <= 18 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'), VEIL_E_MALFORMED,
	       "spec: \"snp.policy\" must be a hex string like \"0x30000\"");
	for (size_t i = 2; i < n; i++)
		ENSURE(isxdigit((unsigned char)p[i]), VEIL_E_MALFORMED,
		       "spec: \"snp.policy\" must be a hex string like \"0x30000\"");
	*out = strtoull(p + 2, NULL, 16); /* checked: 1-16 hex digits above */
	/* SEV-SNP Firmware ABI (AMD 56860), "Guest Policy": bit 17
	 * is reserved, must be one; bit 19 (DEBUG) would let the host read
	 * and write the guest's memory through the debug commands, which
	 * defeats the point of a confidential worker; bits 63:26 are
	 * reserved, must be zero. */
	ENSURE(*out & (1ULL << 17), VEIL_E_MALFORMED,
	       "spec: \"snp.policy\" %s: bit 17 is reserved and must be set (SEV-SNP ABI, Guest "
	       "Policy)",
	       p);
	ENSURE(!(*out & (1ULL << 19)), VEIL_E_MALFORMED,
	       "spec: \"snp.policy\" %s: bit 19 (DEBUG) lets the host read the guest's memory; "
	       "a confidential worker is never launched with it",
	       p);
	ENSURE(*out >> 26 == 0, VEIL_E_MALFORMED,
	       "spec: \"snp.policy\" %s: bits 63:26 are reserved and must be zero", p);
	return VEIL_OK;
}

static veil_err parse_snp(const json_t *doc, veil_launch_spec *s)
{
	static const char *const members[] = {"policy", "cbitpos", "reduced_phys_bits", NULL};
	json_t *o = json_object_get(doc, "snp");
	const char *policy;
	uint64_t v;

	s->snp.policy = VEIL_LAUNCH_SNP_POLICY_DEFAULT;
	s->snp.cbitpos = 51;
	s->snp.reduced_phys_bits = 1;
	if (o == NULL)
		return VEIL_OK;
	ENSURE(s->tee == VEIL_HC_TEE_SNP, VEIL_E_MALFORMED,
	       "spec: \"snp\" is given but \"tee\" is \"%s\"", veil_launch_tee_name(s->tee));
	TRY(veil_json_only_members(o, "spec: \"snp\"", members));
	TRY(get_string(o, "snp.", "policy", false, 18, &policy));
	if (policy != NULL)
		TRY(parse_policy(policy, &s->snp.policy));
	v = s->snp.cbitpos;
	TRY(get_uint(o, "snp.", "cbitpos", false, 32, 63, &v));
	s->snp.cbitpos = (unsigned)v;
	v = s->snp.reduced_phys_bits;
	TRY(get_uint(o, "snp.", "reduced_phys_bits", false, 1, 63, &v));
	s->snp.reduced_phys_bits = (unsigned)v;
	return VEIL_OK;
}

/* "vsock:CID:PORT", "unix:/ABSOLUTE/PATH" or "none". */
static veil_err parse_qgs(const char *q, veil_launch_spec *s)
{
	if (strcmp(q, "none") == 0) {
		s->tdx.qgs = VEIL_LAUNCH_QGS_NONE;
		return VEIL_OK;
	}
	if (strncmp(q, "unix:", 5) == 0) {
		ENSURE(q[5] == '/', VEIL_E_MALFORMED,
		       "spec: \"tdx.quote_generation\": the unix socket path must be absolute");
		s->tdx.qgs = VEIL_LAUNCH_QGS_UNIX;
		s->tdx.qgs_path = strdup(q + 5);
		ENSURE(s->tdx.qgs_path != NULL, VEIL_E_NOMEM, "spec: out of memory");
		return VEIL_OK;
	}
	ENSURE(strncmp(q, "vsock:", 6) == 0, VEIL_E_MALFORMED,
	       "spec: \"tdx.quote_generation\" must be \"vsock:CID:PORT\", \"unix:PATH\" or "
	       "\"none\"");
	const char *p = q + 6;
	uint64_t num[2];
	for (int k = 0; k < 2; k++) {
		char *end;
		ENSURE(isdigit((unsigned char)*p), VEIL_E_MALFORMED,
		       "spec: \"tdx.quote_generation\": \"%s\" is not vsock:CID:PORT", q);
		num[k] = strtoull(p, &end, 10); /* checked: digits, length, range below */
		ENSURE(end - p <= 10 && num[k] <= UINT32_MAX && *end == (k == 0 ? ':' : '\0'),
		       VEIL_E_MALFORMED,
		       "spec: \"tdx.quote_generation\": \"%s\" is not vsock:CID:PORT", q);
		p = end + 1;
	}
	ENSURE(num[0] >= 2 && num[1] >= 1, VEIL_E_MALFORMED,
	       "spec: \"tdx.quote_generation\": the CID must be at least 2 (the host) and the port "
	       "at least 1");
	s->tdx.qgs = VEIL_LAUNCH_QGS_VSOCK;
	s->tdx.qgs_cid = (uint32_t)num[0];
	s->tdx.qgs_port = (uint32_t)num[1];
	return VEIL_OK;
}

static veil_err parse_tdx(const json_t *doc, veil_launch_spec *s)
{
	static const char *const members[] = {"quote_generation", NULL};
	json_t *o = json_object_get(doc, "tdx");
	const char *q;

	s->tdx.qgs = VEIL_LAUNCH_QGS_VSOCK;
	s->tdx.qgs_cid = VEIL_LAUNCH_QGS_CID;
	s->tdx.qgs_port = VEIL_LAUNCH_QGS_PORT;
	if (o == NULL)
		return VEIL_OK;
	ENSURE(s->tee == VEIL_HC_TEE_TDX, VEIL_E_MALFORMED,
	       "spec: \"tdx\" is given but \"tee\" is \"%s\"", veil_launch_tee_name(s->tee));
	TRY(veil_json_only_members(o, "spec: \"tdx\"", members));
	TRY(get_string(o, "tdx.", "quote_generation", false, VEIL_LAUNCH_PATH_MAX, &q));
	if (q != NULL)
		TRY(parse_qgs(q, s));
	return VEIL_OK;
}

/* The guest name goes into -name and the messages: a plain word. */
static veil_err check_name(const char *n)
{
	for (const char *p = n; *p != '\0'; p++)
		ENSURE(isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.',
		       VEIL_E_MALFORMED,
		       "spec: \"name\" may only hold letters, digits, '-', '_', '.'");
	return VEIL_OK;
}

static veil_err parse_doc(const json_t *doc, const char *dir, veil_launch_spec *s)
{
	const char *tee, *name, *qemu, *cmdline, *fmt;
	uint64_t version = 0, vcpus = 0, mem = 0;

	ENSURE(json_is_object(doc), VEIL_E_MALFORMED, "spec: not a JSON object");
	TRY(veil_json_only_members(doc, "spec", top_members));
	TRY(get_uint(doc, "", "version", true, 0, UINT32_MAX, &version));
	ENSURE(version == VEIL_LAUNCH_SPEC_VERSION, VEIL_E_UNSUPPORTED,
	       "spec: \"version\" is %" PRIu64 ", this veil reads version %d", version,
	       VEIL_LAUNCH_SPEC_VERSION);
	TRY(get_string(doc, "", "tee", true, 8, &tee));
	ENSURE(strcmp(tee, "snp") == 0 || strcmp(tee, "tdx") == 0, VEIL_E_MALFORMED,
	       "spec: \"tee\" must be \"snp\" or \"tdx\"");
	s->tee = strcmp(tee, "snp") == 0 ? VEIL_HC_TEE_SNP : VEIL_HC_TEE_TDX;
	TRY(get_string(doc, "", "name", true, VEIL_LAUNCH_NAME_MAX, &name));
	TRY(check_name(name));
	snprintf(s->name, sizeof s->name, "%s", name);

	TRY(get_string(doc, "", "qemu", false, VEIL_LAUNCH_PATH_MAX, &qemu));
	if (qemu == NULL)
		qemu = VEIL_LAUNCH_QEMU_DEFAULT;
	if (strchr(qemu, '/') == NULL) {
		/* A bare program name: execvp looks it up in PATH. */
		s->qemu = strdup(qemu);
		ENSURE(s->qemu != NULL, VEIL_E_NOMEM, "spec: out of memory");
	} else {
		TRY(join_path(dir, "qemu", qemu, &s->qemu));
	}
	TRY(get_path(doc, dir, "firmware", true, &s->firmware));
	TRY(get_path(doc, dir, "kernel", true, &s->kernel));
	TRY(get_path(doc, dir, "initrd", false, &s->initrd));
	TRY(get_string(doc, "", "cmdline", false, VEIL_LAUNCH_CMDLINE_MAX, &cmdline));
	if (cmdline != NULL) {
		s->cmdline = strdup(cmdline);
		ENSURE(s->cmdline != NULL, VEIL_E_NOMEM, "spec: out of memory");
	}
	TRY(get_uint(doc, "", "vcpus", true, 1, VEIL_LAUNCH_VCPUS_MAX, &vcpus));
	s->vcpus = (unsigned)vcpus;
	TRY(get_uint(doc, "", "memory_mib", true, VEIL_LAUNCH_MEMORY_MIB_MIN,
		     VEIL_LAUNCH_MEMORY_MIB_MAX, &mem));
	s->memory_mib = mem;
	TRY(parse_gpus(doc, s));
	TRY(get_path(doc, dir, "disk", false, &s->disk));
	TRY(get_string(doc, "", "disk_format", false, 8, &fmt));
	if (fmt != NULL) {
		ENSURE(s->disk != NULL, VEIL_E_MALFORMED,
		       "spec: \"disk_format\" is given without \"disk\"");
		ENSURE(strcmp(fmt, "raw") == 0 || strcmp(fmt, "qcow2") == 0, VEIL_E_MALFORMED,
		       "spec: \"disk_format\" must be \"raw\" or \"qcow2\"");
		s->disk_qcow2 = strcmp(fmt, "qcow2") == 0;
	}
	TRY(parse_network(doc, s));
	TRY(parse_snp(doc, s));
	TRY(parse_tdx(doc, s));
	return VEIL_OK;
}

veil_err veil_launch_spec_parse(const uint8_t *buf, size_t len, const char *dir,
				veil_launch_spec *s)
{
	json_t *doc = NULL;
	veil_err err;

	memset(s, 0, sizeof *s);
	ENSURE(len <= VEIL_LAUNCH_SPEC_MAX, VEIL_E_LIMIT, "spec: %zu bytes, at most %d", len,
	       VEIL_LAUNCH_SPEC_MAX);
	err = veil_json_parse(buf, len, &doc);
	if (err != VEIL_OK)
		return veil_fail_context(err, "spec");
	err = parse_doc(doc, dir, s);
	json_decref(doc);
	if (err != VEIL_OK)
		veil_launch_spec_clear(s);
	return err;
}
