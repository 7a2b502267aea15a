/*
 * test_launch_gate.c - the gate of `veil launch` (src/launch/gate.c,
 * docs/launch.md "The gate"): a host report held against the spec (age at
 * and past the limit, clock skew, TEE, verdict, host name, GPUs in CC
 * mode), the verdict rules (nothing checked, too many checks), the vfio
 * binding read from a sysfs tree for both vfio back ends, the spec's files
 * (PATH lookup included), and the whole gate with a signed report (signed
 * here, then verified, tampered, under another key) and with a fresh host
 * check on the fixture hosts.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static char tmpdir[64];

static veil_err parse_str(const char *json, const char *dir, veil_launch_spec *s)
{
	return veil_launch_spec_parse((const uint8_t *)json, strlen(json), dir, s);
}

static void report_init(veil_hc_report *r, const char *tee, int64_t time, bool pass)
{
	memset(r, 0, sizeof *r);
	snprintf(r->host, sizeof r->host, "gpu-host-1");
	snprintf(r->tee, sizeof r->tee, "%s", tee);
	r->time = time;
	r->pass = pass;
}

static void report_add(veil_hc_report *r, const char *id, veil_hc_status st, bool required)
{
	veil_hc_check *c = &r->checks[r->count++];
	snprintf(c->id, sizeof c->id, "%s", id);
	c->status = st;
	c->required = required;
}

static const veil_hc_check *find(const veil_launch_gate *g, const char *id)
{
	for (size_t i = 0; i < g->count; i++)
		if (strcmp(g->checks[i].id, id) == 0)
			return &g->checks[i];
	return NULL;
}

/* The check exists and its evidence holds needle. */
static bool evidence_has(const veil_launch_gate *g, const char *id, const char *needle)
{
	const veil_hc_check *c = find(g, id);
	if (c == NULL || strstr(c->evidence, needle) == NULL) {
		fprintf(stderr, "  %s: evidence \"%s\" lacks \"%s\"\n", id,
			c != NULL ? c->evidence : "(no such check)", needle);
		return false;
	}
	return true;
}

static veil_hc_status status_of(const veil_launch_gate *g, const char *id)
{
	const veil_hc_check *c = find(g, id);
	return c != NULL ? c->status : (veil_hc_status)-1;
}

TEST(report_held_against_the_spec)
{
	static veil_hc_report r;
	static veil_launch_gate g;
	veil_launch_spec s;
	const int64_t now = 1800000000;

	REQUIRE(parse_str(SNP_SPEC, "/", &s) == VEIL_OK); /* one GPU */
	report_init(&r, "snp", now - 3600, true);
	report_add(&r, "snp.kvm_param", VEIL_HC_PASS, true);
	report_add(&r, "gpu.0.cc_mode", VEIL_HC_PASS, true);
	report_add(&r, "gpu.0.vfio", VEIL_HC_PASS, true);
	veil_launch_gate_init(&g);
	veil_launch_check_report(&s, &r, now, 3600, "gpu-host-1", false, &g);
	EXPECT(g.count == 5 && veil_launch_gate_pass(&g));
	EXPECT(status_of(&g, "report.age") == VEIL_HC_PASS);
	EXPECT(status_of(&g, "report.gpus") == VEIL_HC_PASS);

	/* One second too old; the other way, in the future within and
	 * beyond the allowed skew. */
	veil_launch_gate_init(&g);
	veil_launch_check_report(&s, &r, now + 1, 3600, "gpu-host-1", false, &g);
	EXPECT(status_of(&g, "report.age") == VEIL_HC_FAIL && !veil_launch_gate_pass(&g));
	EXPECT(evidence_has(&g, "report.age", "3601 s old"));
	EXPECT(find(&g, "report.age") != NULL && find(&g, "report.age")->remedy[0] != '\0');
	r.time = now + VEIL_LAUNCH_CLOCK_SKEW_S;
	veil_launch_gate_init(&g);
	veil_launch_check_report(&s, &r, now, 3600, "gpu-host-1", false, &g);
	EXPECT(status_of(&g, "report.age") == VEIL_HC_PASS);
	r.time = now + VEIL_LAUNCH_CLOCK_SKEW_S + 1;
	veil_launch_gate_init(&g);
	veil_launch_check_report(&s, &r, now, 3600, "gpu-host-1", false, &g);
	EXPECT(status_of(&g, "report.age") == VEIL_HC_FAIL);
	EXPECT(evidence_has(&g, "report.age", "in the future"));
	r.time = now;

	/* The other TEE, a failing verdict, another host, no host name. */
	snprintf(r.tee, sizeof r.tee, "tdx");
	veil_launch_gate_init(&g);
	veil_launch_check_report(&s, &r, now, 3600, "gpu-host-1", false, &g);
	EXPECT(status_of(&g, "report.tee") == VEIL_HC_FAIL && !veil_launch_gate_pass(&g));
	snprintf(r.tee, sizeof r.tee, "snp");
	r.pass = false;
	r.checks[0].status = VEIL_HC_FAIL;
	veil_launch_gate_init(&g);
	veil_launch_check_report(&s, &r, now, 3600, "gpu-host-1", false, &g);
	EXPECT(status_of(&g, "report.verdict") == VEIL_HC_FAIL);
	EXPECT(evidence_has(&g, "report.verdict", "first: snp.kvm_param"));
	/* A verdict of pass with a failing required check is not believed. */
	r.pass = true;
	veil_launch_gate_init(&g);
	veil_launch_check_report(&s, &r, now, 3600, "gpu-host-1", false, &g);
	EXPECT(status_of(&g, "report.verdict") == VEIL_HC_FAIL);
	r.checks[0].status = VEIL_HC_PASS;
	veil_launch_gate_init(&g);
	veil_launch_check_report(&s, &r, now, 3600, "other-host", false, &g);
	EXPECT(status_of(&g, "report.host") == VEIL_HC_FAIL && !veil_launch_gate_pass(&g));
	veil_launch_gate_init(&g);
	veil_launch_check_report(&s, &r, now, 3600, NULL, false, &g);
	EXPECT(status_of(&g, "report.host") == VEIL_HC_FAIL);

	/* GPUs: a GPU counts when its vfio check passed, its CC mode passed
	 * (or, when accepted, was left to the VM's attestation) and none of
	 * its checks failed; ids that are not "gpu.N.x" are not GPUs. */
	s.ngpus = 2;
	report_add(&r, "gpu.1.cc_mode", VEIL_HC_PASS, true);
	report_add(&r, "gpu.1.vfio", VEIL_HC_FAIL, false); /* optional: no verdict failure */
	report_add(&r, "gpu.x.cc_mode", VEIL_HC_PASS, true);
	report_add(&r, "gpu..vfio", VEIL_HC_PASS, true);
	report_add(&r, "gpu.2", VEIL_HC_PASS, true);
	report_add(&r, "gpu.count", VEIL_HC_PASS, true);
	veil_launch_gate_init(&g);
	veil_launch_check_report(&s, &r, now, 3600, "gpu-host-1", false, &g);
	EXPECT(status_of(&g, "report.gpus") == VEIL_HC_FAIL);
	EXPECT(evidence_has(&g, "report.gpus", "shows 1 GPUs ready"));
	EXPECT(status_of(&g, "report.verdict") == VEIL_HC_PASS);
	r.checks[4].status = VEIL_HC_PASS; /* gpu.1.vfio */
	veil_launch_gate_init(&g);
	veil_launch_check_report(&s, &r, now, 3600, "gpu-host-1", false, &g);
	EXPECT(status_of(&g, "report.gpus") == VEIL_HC_PASS && veil_launch_gate_pass(&g));
	/* Any failing check of the GPU, required or not, takes it out. */
	report_add(&r, "gpu.1.devtools", VEIL_HC_FAIL, false);
	veil_launch_gate_init(&g);
	veil_launch_check_report(&s, &r, now, 3600, "gpu-host-1", false, &g);
	EXPECT(status_of(&g, "report.gpus") == VEIL_HC_FAIL);
	/* CC mode left to attestation (n/a): only when accepted. */
	r.checks[r.count - 1].status = VEIL_HC_NA;
	r.checks[3].status = VEIL_HC_NA; /* gpu.1.cc_mode */
	veil_launch_gate_init(&g);
	veil_launch_check_report(&s, &r, now, 3600, "gpu-host-1", false, &g);
	EXPECT(status_of(&g, "report.gpus") == VEIL_HC_FAIL);
	veil_launch_gate_init(&g);
	veil_launch_check_report(&s, &r, now, 3600, "gpu-host-1", true, &g);
	EXPECT(status_of(&g, "report.gpus") == VEIL_HC_PASS && veil_launch_gate_pass(&g));
	EXPECT(evidence_has(&g, "report.gpus", "left to attestation"));
	/* A CC mode that failed is not "left to attestation". */
	r.checks[3].status = VEIL_HC_FAIL;
	r.checks[3].required = false;
	veil_launch_gate_init(&g);
	veil_launch_check_report(&s, &r, now, 3600, "gpu-host-1", true, &g);
	EXPECT(status_of(&g, "report.gpus") == VEIL_HC_FAIL);
	s.ngpus = 0;
	veil_launch_gate_init(&g);
	veil_launch_check_report(&s, &r, now, 3600, "gpu-host-1", false, &g);
	EXPECT(status_of(&g, "report.gpus") == VEIL_HC_NA && veil_launch_gate_pass(&g));
	veil_launch_spec_clear(&s);
}

TEST(gate_verdict_rules)
{
	static veil_launch_gate g;

	static veil_hc_report r;
	veil_launch_spec s;

	veil_launch_gate_init(&g);
	EXPECT(!veil_launch_gate_pass(&g)); /* nothing checked is no pass */
	/* More passing checks than the gate keeps: no pass either (a check
	 * that was dropped could have failed). */
	REQUIRE(parse_str(TDX_SPEC, NULL, &s) == VEIL_OK);
	report_init(&r, "tdx", 1000, true);
	for (int i = 0; i < VEIL_LAUNCH_CHECKS_MAX / 5; i++)
		veil_launch_check_report(&s, &r, 1000, 10, "gpu-host-1", false, &g);
	EXPECT(!g.overflow && veil_launch_gate_pass(&g));
	veil_launch_check_report(&s, &r, 1000, 10, "gpu-host-1", false, &g);
	EXPECT(g.overflow && g.count == VEIL_LAUNCH_CHECKS_MAX && !veil_launch_gate_pass(&g));
	veil_launch_gate_clear(&g);
	EXPECT(g.count == 0 && g.host == NULL);
	veil_launch_spec_clear(&s);
}

/* Files under the test's temporary folder. */
static void put(const char *rel, const char *content)
{
	char path[512], dir[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", tmpdir, rel);
	for (char *p = path + strlen(tmpdir) + 1; (p = strchr(p, '/')) != NULL; p++) {
		snprintf(dir, sizeof dir, "%.*s", (int)(p - path), path);
		mkdir(dir, 0755);
	}
	f = fopen(path, "w");
	if (f == NULL)
		abort();
	fputs(content, f);
	fclose(f);
}

static void link_to(const char *target, const char *rel)
{
	char path[512];

	snprintf(path, sizeof path, "%s/%s", tmpdir, rel);
	if (symlink(target, path) != 0)
		abort();
}

static void sysfs_gpu(const char *root, const char *addr, const char *vendor, const char *driver,
		      const char *group)
{
	char rel[256], target[256];

	snprintf(rel, sizeof rel, "%s/bus/pci/devices/%s/vendor", root, addr);
	put(rel, vendor);
	if (driver != NULL) {
		snprintf(rel, sizeof rel, "%s/bus/pci/devices/%s/driver", root, addr);
		snprintf(target, sizeof target, "../../../../bus/pci/drivers/%s", driver);
		link_to(target, rel);
	}
	if (group != NULL) {
		snprintf(rel, sizeof rel, "%s/bus/pci/devices/%s/iommu_group", root, addr);
		snprintf(target, sizeof target, "../../../../kernel/iommu_groups/%s", group);
		link_to(target, rel);
	}
}

TEST(vfio_binding_from_sysfs)
{
	static veil_launch_gate g;
	veil_launch_spec s;
	char sysfs[256], dev[256];
	veil_hc_roots roots = {.sysfs = sysfs, .dev = dev};

	snprintf(sysfs, sizeof sysfs, "%s/sys", tmpdir);
	snprintf(dev, sizeof dev, "%s/dev", tmpdir);
	sysfs_gpu("sys", "0000:41:00.0", "0x10de\n", "vfio-pci", "17");
	sysfs_gpu("sys", "0000:42:00.0", "0x10de\n", "nvidia", "18");
	sysfs_gpu("sys", "0000:43:00.0", "0x10de\n", NULL, "19");
	sysfs_gpu("sys", "0000:44:00.0", "0x10de\n", "vfio-pci", NULL);
	sysfs_gpu("sys", "0000:45:00.0", "0x1002\n", "vfio-pci", "21");
	sysfs_gpu("sys", "0000:46:00.0", "0x10de\n", "vfio-pci", "22"); /* no /dev/vfio/22 */
	put("dev/vfio/17", "");
	put("dev/vfio/18", "");
	put("dev/vfio/21", "");

	REQUIRE(parse_str(SNP_SPEC, "/", &s) == VEIL_OK);
	veil_launch_gate_init(&g);
	veil_launch_check_vfio(&s, &roots, &g);
	EXPECT(g.count == 4 && veil_launch_gate_pass(&g));
	EXPECT(status_of(&g, "vfio.0000:41:00.0.driver") == VEIL_HC_PASS);
	EXPECT(evidence_has(&g, "vfio.0000:41:00.0.iommu_group", "group 17"));

	snprintf(s.gpus[0], sizeof s.gpus[0], "0000:42:00.0");
	snprintf(s.gpus[1], sizeof s.gpus[1], "0000:43:00.0");
	snprintf(s.gpus[2], sizeof s.gpus[2], "0000:44:00.0");
	snprintf(s.gpus[3], sizeof s.gpus[3], "0000:45:00.0");
	snprintf(s.gpus[4], sizeof s.gpus[4], "0000:46:00.0");
	snprintf(s.gpus[5], sizeof s.gpus[5], "0000:99:00.0");
	s.ngpus = 6;
	veil_launch_gate_init(&g);
	veil_launch_check_vfio(&s, &roots, &g);
	EXPECT(!veil_launch_gate_pass(&g));
	EXPECT(status_of(&g, "vfio.0000:42:00.0.driver") == VEIL_HC_FAIL);
	EXPECT(evidence_has(&g, "vfio.0000:42:00.0.driver", "bound to nvidia"));
	EXPECT(status_of(&g, "vfio.0000:43:00.0.driver") == VEIL_HC_FAIL);
	EXPECT(evidence_has(&g, "vfio.0000:43:00.0.driver", "no driver"));
	EXPECT(status_of(&g, "vfio.0000:44:00.0.driver") == VEIL_HC_PASS);
	EXPECT(status_of(&g, "vfio.0000:44:00.0.iommu_group") == VEIL_HC_FAIL);
	EXPECT(status_of(&g, "vfio.0000:45:00.0.vendor") == VEIL_HC_FAIL);
	EXPECT(status_of(&g, "vfio.0000:46:00.0.iommu_group") == VEIL_HC_FAIL);
	EXPECT(evidence_has(&g, "vfio.0000:46:00.0.iommu_group", "vfio/22"));
	EXPECT(status_of(&g, "vfio.0000:99:00.0.device") == VEIL_HC_FAIL);
	EXPECT(find(&g, "vfio.0000:99:00.0.driver") == NULL); /* no device, nothing more */

	/* iommufd: /dev/iommu is what QEMU opens. */
	snprintf(s.gpus[0], sizeof s.gpus[0], "0000:41:00.0");
	s.ngpus = 1;
	s.iommufd = true;
	veil_launch_gate_init(&g);
	veil_launch_check_vfio(&s, &roots, &g);
	EXPECT(status_of(&g, "vfio.0000:41:00.0.iommu_group") == VEIL_HC_FAIL);
	EXPECT(evidence_has(&g, "vfio.0000:41:00.0.iommu_group", "/dev/iommu"));
	put("dev/iommu", "");
	veil_launch_gate_init(&g);
	veil_launch_check_vfio(&s, &roots, &g);
	EXPECT(status_of(&g, "vfio.0000:41:00.0.iommu_group") == VEIL_HC_FAIL); /* no cdev */
	EXPECT(evidence_has(&g, "vfio.0000:41:00.0.iommu_group", "vfio-dev"));
	put("sys/bus/pci/devices/0000:41:00.0/vfio-dev/vfio3/dev", "240:3\n");
	veil_launch_gate_init(&g);
	veil_launch_check_vfio(&s, &roots, &g);
	EXPECT(status_of(&g, "vfio.0000:41:00.0.iommu_group") == VEIL_HC_FAIL); /* no node */
	EXPECT(evidence_has(&g, "vfio.0000:41:00.0.iommu_group", "vfio/devices/vfio3"));
	put("dev/vfio/devices/vfio3", "");
	veil_launch_gate_init(&g);
	veil_launch_check_vfio(&s, &roots, &g);
	EXPECT(veil_launch_gate_pass(&g));
	veil_launch_spec_clear(&s);
}

TEST(spec_files_checked)
{
	static veil_launch_gate g;
	veil_launch_spec s;
	char spec[1024], path[512];
	const char *old_path = getenv("PATH");
	char *saved = old_path != NULL ? strdup(old_path) : NULL;

	put("vm/fw.fd", "x");
	put("vm/vmlinuz", "x");
	put("bin/qemu-fake", "#!/bin/sh\n");
	snprintf(path, sizeof path, "%s/bin/qemu-fake", tmpdir);
	chmod(path, 0755);
	put("bin/not-exec", "");
	snprintf(spec, sizeof spec,
		 "{\"version\":1,\"tee\":\"snp\",\"name\":\"a\",\"qemu\":\"qemu-fake\","
		 "\"firmware\":\"fw.fd\",\"kernel\":\"vmlinuz\",\"initrd\":\"missing.img\","
		 "\"disk\":\".\",\"vcpus\":1,\"memory_mib\":512}");
	snprintf(path, sizeof path, "%s/vm", tmpdir);
	REQUIRE(parse_str(spec, path, &s) == VEIL_OK);

	snprintf(path, sizeof path, "/nonexistent:%s/bin", tmpdir);
	setenv("PATH", path, 1);
	veil_launch_gate_init(&g);
	veil_launch_check_files(&s, NULL, &g);
	EXPECT(status_of(&g, "file.qemu") == VEIL_HC_PASS);
	EXPECT(evidence_has(&g, "file.qemu", "/bin/qemu-fake"));
	EXPECT(status_of(&g, "file.firmware") == VEIL_HC_PASS);
	EXPECT(status_of(&g, "file.kernel") == VEIL_HC_PASS);
	EXPECT(status_of(&g, "file.initrd") == VEIL_HC_FAIL);
	EXPECT(evidence_has(&g, "file.initrd", "missing.img"));
	EXPECT(status_of(&g, "file.disk") == VEIL_HC_FAIL); /* a folder */
	EXPECT(evidence_has(&g, "file.disk", "not a regular file"));

	/* Not in PATH; not executable; an explicit path. */
	veil_launch_gate_init(&g);
	veil_launch_check_files(&s, "not-exec", &g);
	EXPECT(status_of(&g, "file.qemu") == VEIL_HC_FAIL);
	EXPECT(evidence_has(&g, "file.qemu", "not in PATH"));
	snprintf(path, sizeof path, "%s/bin/not-exec", tmpdir);
	veil_launch_gate_init(&g);
	veil_launch_check_files(&s, path, &g);
	EXPECT(status_of(&g, "file.qemu") == VEIL_HC_FAIL);
	snprintf(path, sizeof path, "%s/bin/qemu-fake", tmpdir);
	veil_launch_gate_init(&g);
	veil_launch_check_files(&s, path, &g);
	EXPECT(status_of(&g, "file.qemu") == VEIL_HC_PASS);
	if (saved != NULL)
		setenv("PATH", saved, 1);
	free(saved);
	veil_launch_spec_clear(&s);
}

/* A small passing SEV-SNP report of host gpu-host-1 with one GPU in CC
 * mode, at time t. */
static void signed_report_of(veil_hc_report *r, int64_t t)
{
	report_init(r, "snp", t, true);
	report_add(r, "snp.cpu_flags", VEIL_HC_PASS, true);
	report_add(r, "gpu.0.cc_mode", VEIL_HC_PASS, true);
	report_add(r, "gpu.0.vfio", VEIL_HC_PASS, true);
	for (size_t i = 0; i < r->count; i++) {
		snprintf(r->checks[i].title, sizeof r->checks[i].title, "a check");
		snprintf(r->checks[i].evidence, sizeof r->checks[i].evidence, "seen");
	}
}

TEST(gate_with_a_signed_report)
{
	static veil_hc_report r;
	static veil_launch_gate g;
	veil_jwk *key = NULL, *other = NULL, *pub = NULL;
	json_t *pubj = NULL;
	veil_launch_spec s;
	char *jws = NULL, root[256], sysfs[300], procfs[300], dev[300];
	const int64_t now = 1800000000;

	snprintf(root, sizeof root, "%s/signed", tmpdir);
	snprintf(sysfs, sizeof sysfs, "%s/sys", root);
	snprintf(procfs, sizeof procfs, "%s/proc", root);
	snprintf(dev, sizeof dev, "%s/dev", root);
	sysfs_gpu("signed/sys", "0000:41:00.0", "0x10de\n", "vfio-pci", "7");
	put("signed/dev/vfio/7", "");
	put("signed/proc/sys/kernel/hostname", "gpu-host-1\n");

	REQUIRE(veil_jwk_generate(VEIL_JWK_EC_P256, 0, &key) == VEIL_OK);
	REQUIRE(veil_jwk_generate(VEIL_JWK_EC_P256, 0, &other) == VEIL_OK);
	REQUIRE(veil_jwk_export_public(key, &pubj) == VEIL_OK);
	REQUIRE(veil_jwk_parse_public(pubj, &pub) == VEIL_OK);
	signed_report_of(&r, now - 60);
	REQUIRE(veil_hostcheck_sign(key, &r, &jws) == VEIL_OK);
	REQUIRE(parse_str(SNP_SPEC, "/", &s) == VEIL_OK);

	veil_launch_gate_options o = {
	    .roots = {.sysfs = sysfs, .procfs = procfs, .dev = dev},
	    .report = jws,
	    .report_len = strlen(jws),
	    .pubkey = pub,
	    .now = now,
	};
	veil_launch_gate_init(&g);
	REQUIRE(veil_launch_gate_run(&s, &o, &g) == VEIL_OK);
	EXPECT(veil_launch_gate_pass(&g) && g.from_signed && g.host != NULL);
	EXPECT(g.host != NULL && strcmp(g.host->host, "gpu-host-1") == 0);
	EXPECT(status_of(&g, "report.signature") == VEIL_HC_PASS);
	EXPECT(status_of(&g, "vfio.0000:41:00.0.driver") == VEIL_HC_PASS);
	EXPECT(find(&g, "host.verdict") == NULL); /* no fresh check */
	veil_launch_gate_clear(&g);

	/* Too old for the default hour; fine for a longer --max-age. */
	o.now = now + 3600;
	veil_launch_gate_init(&g);
	REQUIRE(veil_launch_gate_run(&s, &o, &g) == VEIL_OK);
	EXPECT(status_of(&g, "report.age") == VEIL_HC_FAIL && !veil_launch_gate_pass(&g));
	veil_launch_gate_clear(&g);
	o.max_age = 7200;
	veil_launch_gate_init(&g);
	REQUIRE(veil_launch_gate_run(&s, &o, &g) == VEIL_OK);
	EXPECT(veil_launch_gate_pass(&g));
	veil_launch_gate_clear(&g);
	o.max_age = 0;
	o.now = now;

	/* Under another key; a flipped payload character; not a JWS. */
	o.pubkey = other;
	veil_launch_gate_init(&g);
	REQUIRE(veil_launch_gate_run(&s, &o, &g) == VEIL_OK);
	EXPECT(status_of(&g, "report.signature") == VEIL_HC_FAIL && g.host == NULL);
	EXPECT(!veil_launch_gate_pass(&g) && find(&g, "report.verdict") == NULL);
	veil_launch_gate_clear(&g);
	o.pubkey = pub;
	char *dot = strchr(jws, '.');
	REQUIRE(dot != NULL);
	dot[10] = dot[10] == 'A' ? 'B' : 'A';
	veil_launch_gate_init(&g);
	REQUIRE(veil_launch_gate_run(&s, &o, &g) == VEIL_OK);
	EXPECT(status_of(&g, "report.signature") == VEIL_HC_FAIL && !veil_launch_gate_pass(&g));
	veil_launch_gate_clear(&g);
	o.report = "x.y.z";
	o.report_len = 5;
	veil_launch_gate_init(&g);
	REQUIRE(veil_launch_gate_run(&s, &o, &g) == VEIL_OK);
	EXPECT(status_of(&g, "report.signature") == VEIL_HC_FAIL);
	veil_launch_gate_clear(&g);

	/* Bad options are errors, not verdicts. */
	o.pubkey = NULL;
	veil_launch_gate_init(&g);
	EXPECT_ERR(veil_launch_gate_run(&s, &o, &g), VEIL_E_USAGE);
	o.pubkey = pub;
	o.max_age = -1;
	EXPECT_ERR(veil_launch_gate_run(&s, &o, &g), VEIL_E_USAGE);
	o.max_age = VEIL_LAUNCH_MAX_AGE_MAX + 1;
	EXPECT_ERR(veil_launch_gate_run(&s, &o, &g), VEIL_E_USAGE);
	veil_launch_gate_clear(&g);

	free(jws);
	json_decref(pubj);
	veil_jwk_free(key);
	veil_jwk_free(other);
	veil_jwk_free(pub);
	veil_launch_spec_clear(&s);
}

/* The fresh host check on the fixture hosts (tests/fixtures/hosts,
 * relative to the repository root, where the tests run), without NVML and
 * without GPUs in the spec. */
TEST(gate_with_a_fresh_host_check)
{
	static veil_launch_gate g;
	veil_launch_spec s;
	veil_launch_gate_options o = {
	    .roots = {.sysfs = "tests/fixtures/hosts/snp/sys",
		      .procfs = "tests/fixtures/hosts/snp/proc",
		      .dev = "tests/fixtures/hosts/snp/dev",
		      .nvml_lib = "/nonexistent/libnvidia-ml.so.1"},
	};

	REQUIRE(parse_str("{\"version\":1,\"tee\":\"snp\",\"name\":\"a\",\"firmware\":\"/f\","
			  "\"kernel\":\"/k\",\"vcpus\":1,\"memory_mib\":512}",
			  NULL, &s) == VEIL_OK);
	veil_launch_gate_init(&g);
	REQUIRE(veil_launch_gate_run(&s, &o, &g) == VEIL_OK);
	EXPECT(status_of(&g, "host.verdict") == VEIL_HC_PASS && veil_launch_gate_pass(&g));
	EXPECT(g.host != NULL && !g.from_signed && strcmp(g.host->tee, "snp") == 0);
	EXPECT(g.count == 1); /* no GPU, no vfio check */
	veil_launch_gate_clear(&g);
	/* The same host for a TDX guest fails. */
	s.tee = VEIL_HC_TEE_TDX;
	veil_launch_gate_init(&g);
	REQUIRE(veil_launch_gate_run(&s, &o, &g) == VEIL_OK);
	EXPECT(status_of(&g, "host.verdict") == VEIL_HC_FAIL && !veil_launch_gate_pass(&g));
	EXPECT(g.host != NULL && !g.host->pass);
	veil_launch_gate_clear(&g);
	veil_launch_spec_clear(&s);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof tmpdir, "%s/veil-lgate-XXXXXX",
		 t != NULL && strlen(t) < 32 ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	RUN(report_held_against_the_spec);
	RUN(gate_verdict_rules);
	RUN(vfio_binding_from_sysfs);
	RUN(spec_files_checked);
	RUN(gate_with_a_signed_report);
	RUN(gate_with_a_fresh_host_check);
	(void)nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return harness_finish("test_launch_gate");
}
