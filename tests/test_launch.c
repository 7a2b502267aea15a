/*
 * test_launch.c - `veil launch` below the command line (include/veil/
 * launch.h, docs/launch.md): the spec (good ones, every member refused
 * when it is wrong, with the member named; paths joined to the spec's
 * folder), the QEMU argv for SEV-SNP and TDX compared word for word with
 * the documented command lines (GPUs, vfio back ends, network forwards,
 * disks, the quote generation socket), and the shell quoting of the
 * printed line. The gate is tested in test_launch_gate.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "harness.h"
#include "veil/launch.h"
#include "veil/limits.h"

#define SNP_SPEC                                                                                   \
	"{\"version\":1,\"tee\":\"snp\",\"name\":\"worker-0\",\"firmware\":\"fw/OVMF.fd\","        \
	"\"kernel\":\"/boot/vmlinuz\",\"initrd\":\"initrd.img\","                                  \
	"\"cmdline\":\"console=ttyS0 veil.model=chat\",\"vcpus\":8,\"memory_mib\":16384,"          \
	"\"gpus\":[\"0000:41:00.0\"],\"disk\":\"worker.img\","                                     \
	"\"network\":{\"mode\":\"user\",\"forward\":[{\"host\":8090,\"guest\":8090}]},"            \
	"\"snp\":{\"policy\":\"0x30000\"}}"
#define TDX_SPEC                                                                                   \
	"{\"version\":1,\"tee\":\"tdx\",\"name\":\"td\",\"firmware\":\"/fw/TDVF.fd\","             \
	"\"kernel\":\"/k/bzImage\",\"vcpus\":4,\"memory_mib\":8192}"

static veil_err parse_str(const char *json, const char *dir, veil_launch_spec *s)
{
	return veil_launch_spec_parse((const uint8_t *)json, strlen(json), dir, s);
}

/* argv equals want (NULL-terminated), word for word; prints the first
 * difference. */
static bool argv_is(const veil_launch_argv *a, const char *const *want)
{
	size_t n = 0;

	while (want[n] != NULL)
		n++;
	for (size_t i = 0; i < n || i < a->n; i++) {
		const char *got = i < a->n ? a->v[i] : "(end)";
		const char *exp = i < n ? want[i] : "(end)";
		if (strcmp(got, exp) != 0) {
			fprintf(stderr, "  argv[%zu]: got \"%s\", want \"%s\"\n", i, got, exp);
			return false;
		}
	}
	return a->v[a->n] == NULL;
}

TEST(good_snp_spec)
{
	veil_launch_spec s;

	REQUIRE(parse_str(SNP_SPEC, "/srv/vm", &s) == VEIL_OK);
	EXPECT(s.tee == VEIL_HC_TEE_SNP && strcmp(s.name, "worker-0") == 0);
	EXPECT(strcmp(s.qemu, "qemu-system-x86_64") == 0);
	EXPECT(strcmp(s.firmware, "/srv/vm/fw/OVMF.fd") == 0);
	EXPECT(strcmp(s.kernel, "/boot/vmlinuz") == 0);
	EXPECT(strcmp(s.initrd, "/srv/vm/initrd.img") == 0);
	EXPECT(strcmp(s.cmdline, "console=ttyS0 veil.model=chat") == 0);
	EXPECT(s.vcpus == 8 && s.memory_mib == 16384);
	EXPECT(s.ngpus == 1 && strcmp(s.gpus[0], "0000:41:00.0") == 0 && !s.iommufd);
	EXPECT(strcmp(s.disk, "/srv/vm/worker.img") == 0 && !s.disk_qcow2);
	EXPECT(s.net == VEIL_LAUNCH_NET_USER && s.nforwards == 1 && s.forwards[0].host == 8090 &&
	       s.forwards[0].guest == 8090 && s.host_addr[0] == '\0');
	EXPECT(s.snp.policy == 0x30000 && s.snp.cbitpos == 51 && s.snp.reduced_phys_bits == 1);
	veil_launch_spec_clear(&s);
	EXPECT(s.kernel == NULL && s.ngpus == 0);
}

TEST(good_tdx_spec_defaults)
{
	veil_launch_spec s;

	REQUIRE(parse_str(TDX_SPEC, NULL, &s) == VEIL_OK);
	EXPECT(s.tee == VEIL_HC_TEE_TDX && s.initrd == NULL && s.cmdline == NULL && s.disk == NULL);
	EXPECT(s.ngpus == 0 && s.net == VEIL_LAUNCH_NET_NONE);
	EXPECT(s.tdx.qgs == VEIL_LAUNCH_QGS_VSOCK && s.tdx.qgs_cid == 2 && s.tdx.qgs_port == 4050);
	veil_launch_spec_clear(&s);

	REQUIRE(parse_str("{\"version\":1,\"tee\":\"tdx\",\"name\":\"td\",\"firmware\":\"f\","
			  "\"kernel\":\"k\",\"vcpus\":1,\"memory_mib\":256,"
			  "\"tdx\":{\"quote_generation\":\"unix:/run/qgs.sock\"},"
			  "\"gpus\":[\"0000:AB:1F.7\"],\"vfio\":\"iommufd\","
			  "\"disk\":\"d.qcow2\",\"disk_format\":\"qcow2\","
			  "\"network\":{\"mode\":\"none\"}}",
			  "rel/dir", &s) == VEIL_OK);
	EXPECT(s.tdx.qgs == VEIL_LAUNCH_QGS_UNIX && strcmp(s.tdx.qgs_path, "/run/qgs.sock") == 0);
	EXPECT(strcmp(s.firmware, "rel/dir/f") == 0 && strcmp(s.disk, "rel/dir/d.qcow2") == 0);
	EXPECT(s.disk_qcow2 && s.iommufd && strcmp(s.gpus[0], "0000:ab:1f.7") == 0);
	EXPECT(s.net == VEIL_LAUNCH_NET_NONE);
	veil_launch_spec_clear(&s);
}

TEST(paths_join_the_spec_folder)
{
	veil_launch_spec s;

	/* A folder with a trailing slash, the root, a bare qemu name (left
	 * for PATH), a qemu path relative to the spec. */
	REQUIRE(parse_str("{\"version\":1,\"tee\":\"snp\",\"name\":\"a\",\"qemu\":\"bin/qemu\","
			  "\"firmware\":\"f\",\"kernel\":\"/abs/k\",\"vcpus\":1,"
			  "\"memory_mib\":512}",
			  "/", &s) == VEIL_OK);
	EXPECT(strcmp(s.firmware, "/f") == 0 && strcmp(s.qemu, "/bin/qemu") == 0);
	EXPECT(strcmp(s.kernel, "/abs/k") == 0);
	veil_launch_spec_clear(&s);
	REQUIRE(parse_str("{\"version\":1,\"tee\":\"snp\",\"name\":\"a\",\"qemu\":\"qemu-kvm\","
			  "\"firmware\":\"f\",\"kernel\":\"k\",\"vcpus\":1,\"memory_mib\":512}",
			  "/x/", &s) == VEIL_OK);
	EXPECT(strcmp(s.firmware, "/x/f") == 0 && strcmp(s.qemu, "qemu-kvm") == 0);
	veil_launch_spec_clear(&s);
}

/* One member of the SNP spec replaced (value NULL: removed); the parse
 * must fail with want and name the member. */
typedef struct bad_member {
	const char *key, *value;
	veil_err want;
	const char *names;
} bad_member;

static const bad_member bad_members[] = {
    {"polcy", "1", VEIL_E_MALFORMED, "unknown member \"polcy\""},
    {"version", NULL, VEIL_E_MALFORMED, "\"version\" is missing"},
    {"version", "2", VEIL_E_UNSUPPORTED, "\"version\" is 2"},
    {"version", "\"1\"", VEIL_E_MALFORMED, "\"version\" must be an integer"},
    {"tee", "\"sev\"", VEIL_E_MALFORMED, "\"tee\" must be"},
    {"tee", "1", VEIL_E_MALFORMED, "\"tee\" must be a string"},
    {"tee", NULL, VEIL_E_MALFORMED, "\"tee\" is missing"},
    {"name", NULL, VEIL_E_MALFORMED, "\"name\" is missing"},
    {"name", "\"a b\"", VEIL_E_MALFORMED, "\"name\" may only"},
    {"name", "\"a,b\"", VEIL_E_MALFORMED, "\"name\" may only"},
    {"name", "\"\"", VEIL_E_MALFORMED, "\"name\" is empty"},
    {"name",
     "\"" /* 65 characters */
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
     VEIL_E_LIMIT, "\"name\" is longer"},
    {"qemu", "5", VEIL_E_MALFORMED, "\"qemu\" must be a string"},
    {"firmware", NULL, VEIL_E_MALFORMED, "\"firmware\" is missing"},
    {"firmware", "\"a\\nb\"", VEIL_E_MALFORMED, "\"firmware\" must be printable"},
    {"firmware", "\"a\\u0000b\"", VEIL_E_MALFORMED, "spec: JSON"}, /* no NUL, ever */
    {"kernel", NULL, VEIL_E_MALFORMED, "\"kernel\" is missing"},
    {"kernel", "[]", VEIL_E_MALFORMED, "\"kernel\" must be a string"},
    {"initrd", "1", VEIL_E_MALFORMED, "\"initrd\" must be a string"},
    {"cmdline", "\"a\\tb\"", VEIL_E_MALFORMED, "\"cmdline\" must be printable"},
    {"cmdline", "\"\xc3\xa9\"", VEIL_E_MALFORMED, "\"cmdline\" must be printable"},
    {"vcpus", NULL, VEIL_E_MALFORMED, "\"vcpus\" is missing"},
    {"vcpus", "0", VEIL_E_MALFORMED, "\"vcpus\" is 0"},
    {"vcpus", "1025", VEIL_E_MALFORMED, "\"vcpus\" is 1025"},
    {"vcpus", "-1", VEIL_E_MALFORMED, "\"vcpus\" is -1"},
    {"vcpus", "\"4\"", VEIL_E_MALFORMED, "\"vcpus\" must be an integer"},
    {"vcpus", "4.0", VEIL_E_MALFORMED, "\"vcpus\" must be an integer"},
    {"memory_mib", "255", VEIL_E_MALFORMED, "\"memory_mib\" is 255"},
    {"memory_mib", "17179869185", VEIL_E_MALFORMED, "\"memory_mib\" is 17179869185"},
    {"gpus", "\"0000:41:00.0\"", VEIL_E_MALFORMED, "\"gpus\" must be an array"},
    {"gpus", "[1]", VEIL_E_MALFORMED, "\"gpus[0]\" must be a string"},
    {"gpus", "[\"41:00.0\"]", VEIL_E_MALFORMED, "\"gpus[0]\""},
    {"gpus", "[\"0000:41:00.0\",\"0000:41:00.8\"]", VEIL_E_MALFORMED, "\"gpus[1]\""},
    {"gpus", "[\"0000:41:20.0\"]", VEIL_E_MALFORMED, "\"gpus[0]\""},
    {"gpus", "[\"0000:4g:00.0\"]", VEIL_E_MALFORMED, "\"gpus[0]\""},
    {"gpus", "[\"0000-41:00.0\"]", VEIL_E_MALFORMED, "\"gpus[0]\""},
    {"gpus", "[\"0000:41:00.0 \"]", VEIL_E_MALFORMED, "\"gpus[0]\""},
    {"gpus", "[\"0000:41:00.0\",\"0000:41:00.0\"]", VEIL_E_MALFORMED, "listed twice"},
    {"vfio", "\"container\"", VEIL_E_MALFORMED, "\"vfio\" must be"},
    {"disk", "1", VEIL_E_MALFORMED, "\"disk\" must be a string"},
    {"disk_format", "\"vmdk\"", VEIL_E_MALFORMED, "\"disk_format\" must be"},
    {"network", "[]", VEIL_E_MALFORMED, "\"network\" must be an object"},
    {"network", "{\"mode\":\"user\",\"x\":1}", VEIL_E_MALFORMED, "unknown member \"x\""},
    {"network", "{}", VEIL_E_MALFORMED, "\"network.mode\" is missing"},
    {"network", "{\"mode\":\"bridge\"}", VEIL_E_MALFORMED, "\"network.mode\" must be"},
    {"network", "{\"mode\":\"none\",\"forward\":[]}", VEIL_E_MALFORMED, "mode \"none\" takes"},
    {"network", "{\"mode\":\"user\",\"forward\":{}}", VEIL_E_MALFORMED,
     "\"network.forward\" must be an array"},
    {"network", "{\"mode\":\"user\",\"forward\":[{\"host\":0,\"guest\":1}]}", VEIL_E_MALFORMED,
     "\"network.forward[0].host\" is 0"},
    {"network", "{\"mode\":\"user\",\"forward\":[{\"host\":1,\"guest\":65536}]}", VEIL_E_MALFORMED,
     "\"network.forward[0].guest\" is 65536"},
    {"network", "{\"mode\":\"user\",\"forward\":[{\"host\":1}]}", VEIL_E_MALFORMED,
     "\"network.forward[0].guest\" is missing"},
    {"network", "{\"mode\":\"user\",\"forward\":[{\"host\":1,\"guest\":2,\"udp\":true}]}",
     VEIL_E_MALFORMED, "\"network.forward[0]\" has an unknown member \"udp\""},
    {"network",
     "{\"mode\":\"user\",\"forward\":[{\"host\":1,\"guest\":2},{\"host\":1,\"guest\":3}]}",
     VEIL_E_MALFORMED, "\"network.forward[1]\": host port 1 is forwarded twice"},
    {"network", "{\"mode\":\"user\",\"host_addr\":\"::1\"}", VEIL_E_MALFORMED,
     "\"network.host_addr\""},
    {"network", "{\"mode\":\"user\",\"host_addr\":\"1.2.3\"}", VEIL_E_MALFORMED,
     "\"network.host_addr\""},
    {"snp", "[]", VEIL_E_MALFORMED, "spec: \"snp\" is not a JSON object"},
    {"snp", "{\"polcy\":\"0x30000\"}", VEIL_E_MALFORMED, "unknown member \"polcy\""},
    {"snp", "{\"policy\":196608}", VEIL_E_MALFORMED, "\"snp.policy\" must be a string"},
    {"snp", "{\"policy\":\"30000\"}", VEIL_E_MALFORMED, "\"snp.policy\" must be a hex"},
    {"snp", "{\"policy\":\"0x\"}", VEIL_E_MALFORMED, "\"snp.policy\" must be a hex"},
    {"snp", "{\"policy\":\"0x3g000\"}", VEIL_E_MALFORMED, "\"snp.policy\" must be a hex"},
    {"snp", "{\"policy\":\"0x10000\"}", VEIL_E_MALFORMED, "bit 17 is reserved"},
    {"snp", "{\"policy\":\"0xb0000\"}", VEIL_E_MALFORMED, "bit 19 (DEBUG)"},
    {"snp", "{\"policy\":\"0x4030000\"}", VEIL_E_MALFORMED, "bits 63:26"},
    {"snp", "{\"policy\":\"0x00000000000030000\"}", VEIL_E_LIMIT, "\"snp.policy\" is longer"},
    {"snp", "{\"cbitpos\":31}", VEIL_E_MALFORMED, "\"snp.cbitpos\" is 31"},
    {"snp", "{\"cbitpos\":64}", VEIL_E_MALFORMED, "\"snp.cbitpos\" is 64"},
    {"snp", "{\"reduced_phys_bits\":0}", VEIL_E_MALFORMED, "\"snp.reduced_phys_bits\" is 0"},
    {"tdx", "{}", VEIL_E_MALFORMED, "\"tdx\" is given but \"tee\" is \"snp\""},
};

/* The same for the TDX spec's own section. */
static const bad_member bad_tdx[] = {
    {"snp", "{}", VEIL_E_MALFORMED, "\"snp\" is given but \"tee\" is \"tdx\""},
    {"tdx", "{\"qgs\":\"none\"}", VEIL_E_MALFORMED, "unknown member \"qgs\""},
    {"tdx", "{\"quote_generation\":4050}", VEIL_E_MALFORMED,
     "\"tdx.quote_generation\" must be a string"},
    {"tdx", "{\"quote_generation\":\"tcp:1.2.3.4:4050\"}", VEIL_E_MALFORMED,
     "\"tdx.quote_generation\" must be"},
    {"tdx", "{\"quote_generation\":\"vsock:1:4050\"}", VEIL_E_MALFORMED, "the CID must be"},
    {"tdx", "{\"quote_generation\":\"vsock:2\"}", VEIL_E_MALFORMED, "is not vsock:CID:PORT"},
    {"tdx", "{\"quote_generation\":\"vsock:2:\"}", VEIL_E_MALFORMED, "is not vsock:CID:PORT"},
    {"tdx", "{\"quote_generation\":\"vsock:2:4050x\"}", VEIL_E_MALFORMED, "is not vsock:CID:PORT"},
    {"tdx", "{\"quote_generation\":\"vsock:2:4294967296\"}", VEIL_E_MALFORMED,
     "is not vsock:CID:PORT"},
    {"tdx", "{\"quote_generation\":\"vsock:-2:4050\"}", VEIL_E_MALFORMED, "is not vsock:CID:PORT"},
    {"tdx", "{\"quote_generation\":\"unix:run/qgs\"}", VEIL_E_MALFORMED, "must be absolute"},
};

static void expect_bad(const char *base, const bad_member *b)
{
	json_error_t je;
	json_t *doc = json_loads(base, 0, &je), *v = NULL;
	veil_launch_spec s;
	char *text;

	REQUIRE(doc != NULL);
	if (b->value != NULL) {
		v = json_loads(b->value, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
		REQUIRE(v != NULL);
		json_object_set_new(doc, b->key, v);
	} else {
		json_object_del(doc, b->key);
	}
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	REQUIRE(text != NULL);
	veil_err err = parse_str(text, "/d", &s);
	if (err != b->want || strstr(veil_err_detail(), b->names) == NULL) {
		fprintf(stderr, "  %s = %s: got %s \"%s\", want %s naming %s\n", b->key,
			b->value != NULL ? b->value : "(removed)", veil_err_str(err),
			veil_err_detail(), veil_err_str(b->want), b->names);
		harness_fail(__FILE__, __LINE__, "a bad member is refused and named");
	}
	/* Refused: nothing is left allocated in s. */
	EXPECT(s.kernel == NULL && s.firmware == NULL && s.qemu == NULL);
	free(text);
}

TEST(every_member_refused_when_wrong)
{
	for (size_t i = 0; i < sizeof bad_members / sizeof bad_members[0]; i++)
		expect_bad(SNP_SPEC, &bad_members[i]);
	for (size_t i = 0; i < sizeof bad_tdx / sizeof bad_tdx[0]; i++)
		expect_bad(TDX_SPEC, &bad_tdx[i]);
}

/* A spec with n GPUs or n forwards. */
static veil_err spec_with(const char *what, int n, veil_launch_spec *s)
{
	char buf[4096];
	size_t off;

	off = (size_t)snprintf(buf, sizeof buf, "%s",
			       "{\"version\":1,\"tee\":\"snp\",\"name\":\"a\",\"firmware\":\"f\","
			       "\"kernel\":\"k\",\"vcpus\":1,\"memory_mib\":512,");
	off += (size_t)snprintf(buf + off, sizeof buf - off, "%s",
				strcmp(what, "gpus") == 0 ? "\"gpus\":["
							  : "\"network\":{\"mode\":\"user\","
							    "\"forward\":[");
	for (int i = 0; i < n; i++) {
		if (strcmp(what, "gpus") == 0)
			off += (size_t)snprintf(buf + off, sizeof buf - off, "%s\"0000:%02x:00.0\"",
						i == 0 ? "" : ",", i);
		else
			off += (size_t)snprintf(buf + off, sizeof buf - off,
						"%s{\"host\":%d,\"guest\":80}", i == 0 ? "" : ",",
						1000 + i);
	}
	snprintf(buf + off, sizeof buf - off, "%s", strcmp(what, "gpus") == 0 ? "]}" : "]}}");
	return parse_str(buf, NULL, s);
}

/* The cap passes, one more is refused with the member named. */
static bool caps_hold(const char *what, int cap)
{
	veil_launch_spec s;
	bool ok;

	if (spec_with(what, cap, &s) != VEIL_OK) {
		fprintf(stderr, "  %s at the cap: %s\n", what, veil_err_detail());
		return false;
	}
	ok = strcmp(what, "gpus") == 0 ? s.ngpus == (size_t)cap : s.nforwards == (size_t)cap;
	veil_launch_spec_clear(&s);
	return ok && spec_with(what, cap + 1, &s) == VEIL_E_LIMIT &&
	       strstr(veil_err_detail(), what) != NULL;
}

TEST(spec_bytes_refused)
{
	veil_launch_spec s;
	size_t n = strlen(SNP_SPEC);
	char *big;

	EXPECT_ERR(parse_str("[]", NULL, &s), VEIL_E_MALFORMED);
	EXPECT(strstr(veil_err_detail(), "spec: not a JSON object") != NULL);
	/* Truncated, trailing garbage, a duplicated member. */
	EXPECT(veil_launch_spec_parse((const uint8_t *)SNP_SPEC, n - 1, NULL, &s) != VEIL_OK);
	EXPECT(parse_str(SNP_SPEC " x", NULL, &s) != VEIL_OK);
	EXPECT(parse_str("{\"version\":1,\"version\":1}", NULL, &s) != VEIL_OK);
	EXPECT(strstr(veil_err_detail(), "spec") != NULL);
	/* Over the cap, before parsing. */
	big = malloc(VEIL_LAUNCH_SPEC_MAX + 2);
	REQUIRE(big != NULL);
	memset(big, ' ', VEIL_LAUNCH_SPEC_MAX + 1);
	memcpy(big, SNP_SPEC, n);
	EXPECT_ERR(veil_launch_spec_parse((const uint8_t *)big, VEIL_LAUNCH_SPEC_MAX + 1, NULL, &s),
		   VEIL_E_LIMIT);
	/* At the cap it parses (white space after the object). */
	EXPECT_OK(veil_launch_spec_parse((const uint8_t *)big, VEIL_LAUNCH_SPEC_MAX, NULL, &s));
	veil_launch_spec_clear(&s);
	free(big);
	/* Caps on GPUs and forwards: the cap passes, one more is refused. */
	EXPECT(caps_hold("gpus", VEIL_LAUNCH_GPUS_MAX));
	EXPECT(caps_hold("forward", VEIL_LAUNCH_FORWARDS_MAX));
}

static const char *const snp_argv[] = {
    "qemu-system-x86_64",
    "-name",
    "worker-0",
    "-accel",
    "kvm",
    "-machine",
    "q35,confidential-guest-support=sev0,memory-backend=ram1,vmport=off",
    "-object",
    "memory-backend-memfd,id=ram1,size=16384M,share=true,prealloc=false",
    "-object",
    "sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,policy=0x30000,kernel-hashes=on",
    "-cpu",
    "EPYC-v4",
    "-smp",
    "8",
    "-m",
    "16384M",
    "-bios",
    "/srv/vm/fw/OVMF.fd",
    "-kernel",
    "/boot/vmlinuz",
    "-initrd",
    "/srv/vm/initrd.img",
    "-append",
    "console=ttyS0 veil.model=chat",
    "-nographic",
    "-no-reboot",
    "-drive",
    "file=/srv/vm/worker.img,if=none,id=disk0,format=raw",
    "-device",
    "virtio-blk-pci,drive=disk0,disable-legacy=on,iommu_platform=true",
    "-netdev",
    "user,id=net0,hostfwd=tcp::8090-:8090",
    "-device",
    "virtio-net-pci,netdev=net0,disable-legacy=on,iommu_platform=true,romfile=",
    "-device",
    "pcie-root-port,id=rp0,bus=pcie.0,chassis=1",
    "-device",
    "vfio-pci,host=0000:41:00.0,bus=rp0",
    "-fw_cfg",
    "name=opt/ovmf/X-PciMmio64Mb,string=262144",
    NULL,
};

TEST(snp_command_line)
{
	veil_launch_spec s;
	veil_launch_argv a;

	REQUIRE(parse_str(SNP_SPEC, "/srv/vm", &s) == VEIL_OK);
	REQUIRE(veil_launch_argv_build(&s, NULL, &a) == VEIL_OK);
	EXPECT(argv_is(&a, snp_argv));
	veil_launch_argv_free(&a);
	/* --qemu replaces the program, nothing else. */
	REQUIRE(veil_launch_argv_build(&s, "/opt/q/bin/qemu", &a) == VEIL_OK);
	EXPECT(strcmp(a.v[0], "/opt/q/bin/qemu") == 0);
	veil_launch_argv rest = {a.v + 1, a.n - 1};
	EXPECT(argv_is(&rest, snp_argv + 1));
	veil_launch_argv_free(&a);
	/* Another policy, cbitpos and reduced-phys-bits reach the object. */
	veil_launch_spec_clear(&s);
	REQUIRE(parse_str("{\"version\":1,\"tee\":\"snp\",\"name\":\"a\",\"firmware\":\"/f\","
			  "\"kernel\":\"/k\",\"vcpus\":2,\"memory_mib\":2048,\"snp\":{\"policy\":"
			  "\"0x13000A\",\"cbitpos\":47,\"reduced_phys_bits\":5}}",
			  NULL, &s) == VEIL_OK);
	REQUIRE(veil_launch_argv_build(&s, NULL, &a) == VEIL_OK);
	static const char *const want[] = {
	    "qemu-system-x86_64",
	    "-name",
	    "a",
	    "-accel",
	    "kvm",
	    "-machine",
	    "q35,confidential-guest-support=sev0,memory-backend=ram1,vmport=off",
	    "-object",
	    "memory-backend-memfd,id=ram1,size=2048M,share=true,prealloc=false",
	    "-object",
	    "sev-snp-guest,id=sev0,cbitpos=47,reduced-phys-bits=5,policy=0x13000a,kernel-hashes=on",
	    "-cpu",
	    "EPYC-v4",
	    "-smp",
	    "2",
	    "-m",
	    "2048M",
	    "-bios",
	    "/f",
	    "-kernel",
	    "/k",
	    "-nographic",
	    "-no-reboot",
	    "-nic",
	    "none",
	    NULL,
	};
	EXPECT(argv_is(&a, want));
	veil_launch_argv_free(&a);
	veil_launch_spec_clear(&s);
}

TEST(tdx_command_line)
{
	veil_launch_spec s;
	veil_launch_argv a;
	static const char *const want[] = {
	    "qemu-system-x86_64",
	    "-name",
	    "td",
	    "-accel",
	    "kvm",
	    "-machine",
	    "q35,confidential-guest-support=tdx0,kernel-irqchip=split",
	    "-object",
	    "{\"qom-type\":\"tdx-guest\",\"id\":\"tdx0\",\"quote-generation-socket\":"
	    "{\"type\":\"vsock\",\"cid\":\"2\",\"port\":\"4050\"}}",
	    "-cpu",
	    "host",
	    "-smp",
	    "4",
	    "-m",
	    "8192M",
	    "-bios",
	    "/fw/TDVF.fd",
	    "-kernel",
	    "/k/bzImage",
	    "-nographic",
	    "-no-reboot",
	    "-nic",
	    "none",
	    NULL,
	};

	REQUIRE(parse_str(TDX_SPEC, NULL, &s) == VEIL_OK);
	REQUIRE(veil_launch_argv_build(&s, NULL, &a) == VEIL_OK);
	EXPECT(argv_is(&a, want));
	veil_launch_argv_free(&a);
	veil_launch_spec_clear(&s);

	/* A Unix socket for the QGS (a path with a quote and a comma goes
	 * into JSON, escaped by JSON, not by QEMU's comma rule). */
	REQUIRE(parse_str("{\"version\":1,\"tee\":\"tdx\",\"name\":\"td\",\"firmware\":\"/f\","
			  "\"kernel\":\"/k\",\"vcpus\":1,\"memory_mib\":256,\"tdx\":"
			  "{\"quote_generation\":\"unix:/run/q\\\"s,1.sock\"}}",
			  NULL, &s) == VEIL_OK);
	REQUIRE(veil_launch_argv_build(&s, NULL, &a) == VEIL_OK);
	EXPECT(strcmp(a.v[8],
		      "{\"qom-type\":\"tdx-guest\",\"id\":\"tdx0\",\"quote-generation-"
		      "socket\":{\"type\":\"unix\",\"path\":\"/run/q\\\"s,1.sock\"}}") == 0);
	veil_launch_argv_free(&a);
	veil_launch_spec_clear(&s);
	/* No QGS: the plain object form. */
	REQUIRE(parse_str("{\"version\":1,\"tee\":\"tdx\",\"name\":\"td\",\"firmware\":\"/f\","
			  "\"kernel\":\"/k\",\"vcpus\":1,\"memory_mib\":256,\"tdx\":"
			  "{\"quote_generation\":\"none\"}}",
			  NULL, &s) == VEIL_OK);
	REQUIRE(veil_launch_argv_build(&s, NULL, &a) == VEIL_OK);
	EXPECT(strcmp(a.v[7], "-object") == 0 && strcmp(a.v[8], "tdx-guest,id=tdx0") == 0);
	veil_launch_argv_free(&a);
	veil_launch_spec_clear(&s);
	/* Another vsock address. */
	REQUIRE(parse_str("{\"version\":1,\"tee\":\"tdx\",\"name\":\"td\",\"firmware\":\"/f\","
			  "\"kernel\":\"/k\",\"vcpus\":1,\"memory_mib\":256,\"tdx\":"
			  "{\"quote_generation\":\"vsock:3:4294967295\"}}",
			  NULL, &s) == VEIL_OK);
	REQUIRE(veil_launch_argv_build(&s, NULL, &a) == VEIL_OK);
	EXPECT(strstr(a.v[8], "\"cid\":\"3\",\"port\":\"4294967295\"") != NULL);
	veil_launch_argv_free(&a);
	veil_launch_spec_clear(&s);
}

/* The tail of the argv after -no-reboot: disk, network, GPUs. */
static bool tail_is(const char *spec_tail, const char *const *want)
{
	char json[2048];
	veil_launch_spec s;
	veil_launch_argv a, t;
	size_t i;
	bool ok;

	snprintf(json, sizeof json,
		 "{\"version\":1,\"tee\":\"tdx\",\"name\":\"td\",\"firmware\":\"/f\","
		 "\"kernel\":\"/k\",\"vcpus\":1,\"memory_mib\":256%s}",
		 spec_tail);
	if (parse_str(json, "/s", &s) != VEIL_OK) {
		fprintf(stderr, "  %s: %s\n", spec_tail, veil_err_detail());
		return false;
	}
	if (veil_launch_argv_build(&s, NULL, &a) != VEIL_OK) {
		veil_launch_spec_clear(&s);
		return false;
	}
	for (i = 0; i < a.n && strcmp(a.v[i], "-no-reboot") != 0; i++)
		;
	t.v = a.v + (i < a.n ? i + 1 : a.n);
	t.n = a.n - (i < a.n ? i + 1 : a.n);
	ok = argv_is(&t, want);
	veil_launch_argv_free(&a);
	veil_launch_spec_clear(&s);
	return ok;
}

TEST(gpus_disks_and_networks)
{
	static const char *const two_gpus[] = {
	    "-nic",    "none",
	    "-device", "pcie-root-port,id=rp0,bus=pcie.0,chassis=1",
	    "-device", "vfio-pci,host=0000:41:00.0,bus=rp0",
	    "-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=2",
	    "-device", "vfio-pci,host=0000:c1:00.0,bus=rp1",
	    "-fw_cfg", "name=opt/ovmf/X-PciMmio64Mb,string=262144",
	    NULL,
	};
	EXPECT(tail_is(",\"gpus\":[\"0000:41:00.0\",\"0000:C1:00.0\"]", two_gpus));
	EXPECT(
	    tail_is(",\"gpus\":[\"0000:41:00.0\",\"0000:C1:00.0\"],\"vfio\":\"legacy\"", two_gpus));
	static const char *const iommufd[] = {
	    "-nic",    "none",
	    "-object", "iommufd,id=iommufd0",
	    "-device", "pcie-root-port,id=rp0,bus=pcie.0,chassis=1",
	    "-device", "vfio-pci,host=0000:41:00.0,bus=rp0,iommufd=iommufd0",
	    "-fw_cfg", "name=opt/ovmf/X-PciMmio64Mb,string=262144",
	    NULL,
	};
	EXPECT(tail_is(",\"gpus\":[\"0000:41:00.0\"],\"vfio\":\"iommufd\"", iommufd));
	/* No GPUs: no root port, no MMIO window, no iommufd object. */
	static const char *const none[] = {"-nic", "none", NULL};
	EXPECT(tail_is(",\"vfio\":\"iommufd\",\"gpus\":[]", none));
	EXPECT(tail_is(",\"network\":{\"mode\":\"none\"}", none));
	static const char *const forwards[] = {
	    "-netdev",
	    "user,id=net0,hostfwd=tcp:127.0.0.1:8090-:8090,hostfwd=tcp:127.0.0.1:2222-:22",
	    "-device",
	    "virtio-net-pci,netdev=net0,disable-legacy=on,iommu_platform=true,romfile=",
	    NULL,
	};
	EXPECT(tail_is(",\"network\":{\"mode\":\"user\",\"host_addr\":\"127.0.0.1\",\"forward\":"
		       "[{\"host\":8090,\"guest\":8090},{\"host\":2222,\"guest\":22}]}",
		       forwards));
	static const char *const no_forward[] = {
	    "-netdev", "user,id=net0",
	    "-device", "virtio-net-pci,netdev=net0,disable-legacy=on,iommu_platform=true,romfile=",
	    NULL,
	};
	EXPECT(tail_is(",\"network\":{\"mode\":\"user\"}", no_forward));
	/* A comma in the disk's path is doubled (QEMU's escape inside
	 * key=value lists); the format is always named. */
	static const char *const disk[] = {
	    "-drive",  "file=/s/a,,b.qcow2,if=none,id=disk0,format=qcow2",
	    "-device", "virtio-blk-pci,drive=disk0,disable-legacy=on,iommu_platform=true",
	    "-nic",    "none",
	    NULL,
	};
	EXPECT(tail_is(",\"disk\":\"a,b.qcow2\",\"disk_format\":\"qcow2\"", disk));
	static const char *const raw[] = {
	    "-drive",  "file=/s/w.img,if=none,id=disk0,format=raw",
	    "-device", "virtio-blk-pci,drive=disk0,disable-legacy=on,iommu_platform=true",
	    "-nic",    "none",
	    NULL,
	};
	EXPECT(tail_is(",\"disk\":\"w.img\"", raw)); /* raw by default */
}

/* The disk of a spec read without a folder keeps its relative path; one
 * whose first component holds a ':' must not reach QEMU as a protocol
 * ("json:{...}" would name any file and driver through the name). */
TEST(disk_name_is_never_a_protocol)
{
	static const struct {
		const char *disk, *want;
	} cases[] = {
	    {"json:{\\\"driver\\\":\\\"file\\\",\\\"filename\\\":\\\"/etc/shadow\\\"}",
	     "file=./json:{\"driver\":\"file\",,\"filename\":\"/etc/shadow\"},if=none,id=disk0,"
	     "format=raw"},
	    {"nbd:evil:10809", "file=./nbd:evil:10809,if=none,id=disk0,format=raw"},
	    {"w.img", "file=w.img,if=none,id=disk0,format=raw"},
	    {"d/x:y.img", "file=d/x:y.img,if=none,id=disk0,format=raw"},
	    {"/abs/a:b.img", "file=/abs/a:b.img,if=none,id=disk0,format=raw"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char json[512];
		veil_launch_spec s;
		veil_launch_argv a;
		bool found = false;

		snprintf(json, sizeof json,
			 "{\"version\":1,\"tee\":\"snp\",\"name\":\"a\",\"firmware\":\"/f\","
			 "\"kernel\":\"/k\",\"vcpus\":1,\"memory_mib\":512,\"disk\":\"%s\"}",
			 cases[i].disk);
		REQUIRE(parse_str(json, NULL, &s) == VEIL_OK);
		REQUIRE(veil_launch_argv_build(&s, NULL, &a) == VEIL_OK);
		for (size_t k = 0; k + 1 < a.n; k++)
			if (strcmp(a.v[k], "-drive") == 0) {
				found = strcmp(a.v[k + 1], cases[i].want) == 0;
				if (!found)
					fprintf(stderr, "  got %s\n", a.v[k + 1]);
			}
		EXPECT(found);
		veil_launch_argv_free(&a);
		veil_launch_spec_clear(&s);
	}
}

TEST(printed_command_is_shell_quoted)
{
	char *w[] = {"/opt/q b/qemu",
		     "-name",
		     "a",
		     "-append",
		     "it's a \"test\" $HOME",
		     "-x",
		     "",
		     "-nographic",
		     "-no-reboot",
		     "-m",
		     "-5",
		     NULL};
	veil_launch_argv a = {w, 11};
	char *line;

	REQUIRE(veil_launch_argv_quote(&a, false, &line) == VEIL_OK);
	EXPECT(strcmp(line, "'/opt/q b/qemu' -name a -append 'it'\\''s a \"test\" $HOME' -x '' "
			    "-nographic -no-reboot -m -5") == 0);
	free(line);
	/* Multi-line: each option on a line of its own, its value beside it
	 * (a value that starts with '-' stays with its option). */
	REQUIRE(veil_launch_argv_quote(&a, true, &line) == VEIL_OK);
	EXPECT(strcmp(line, "'/opt/q b/qemu' \\\n    -name a \\\n    -append 'it'\\''s a "
			    "\"test\" $HOME' \\\n    -x '' \\\n    -nographic \\\n    -no-reboot "
			    "\\\n    -m -5") == 0);
	free(line);
	/* A command word with '=' would be a shell assignment: quoted. */
	char *eq[] = {"A=b", "-x", "c=d", NULL};
	veil_launch_argv e = {eq, 3};
	REQUIRE(veil_launch_argv_quote(&e, false, &line) == VEIL_OK);
	EXPECT(strcmp(line, "'A=b' -x c=d") == 0);
	free(line);
	/* The SNP line: nothing in it needs quotes but the command line. */
	veil_launch_spec s;
	veil_launch_argv b;
	REQUIRE(parse_str(SNP_SPEC, "/srv/vm", &s) == VEIL_OK);
	REQUIRE(veil_launch_argv_build(&s, NULL, &b) == VEIL_OK);
	REQUIRE(veil_launch_argv_quote(&b, false, &line) == VEIL_OK);
	EXPECT(strstr(line, " -append 'console=ttyS0 veil.model=chat' -nographic") != NULL);
	EXPECT(strstr(line, " -device vfio-pci,host=0000:41:00.0,bus=rp0 ") != NULL);
	free(line);
	veil_launch_argv_free(&b);
	veil_launch_spec_clear(&s);
}

int main(void)
{
	RUN(good_snp_spec);
	RUN(good_tdx_spec_defaults);
	RUN(paths_join_the_spec_folder);
	RUN(every_member_refused_when_wrong);
	RUN(spec_bytes_refused);
	RUN(snp_command_line);
	RUN(tdx_command_line);
	RUN(gpus_disks_and_networks);
	RUN(disk_name_is_never_a_protocol);
	RUN(printed_command_is_shell_quoted);
	return harness_finish("test_launch");
}
