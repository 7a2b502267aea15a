/*
 * qemu.c - the QEMU command line of a confidential worker VM
 * (docs/launch.md "The command line", where every option is explained
 * with its source).
 *
 * The command is an argv array from start to end, exec'd without a shell,
 * so no word of the spec can become two, and nothing is interpreted by a
 * shell. The only quoting that matters is QEMU's own: in a "key=value,..."
 * option a comma separates keys, so a path that goes into one (the disk's
 * file=) has its commas doubled, which is QEMU's escape. The options whose
 * value QEMU takes whole (-bios, -kernel, -initrd, -append) are passed as
 * they are. For people the array is printed as POSIX shell words.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "veil/launch.h"

typedef struct argv_builder {
	char **v;
	size_t n, cap;
	bool failed;
} argv_builder;

static void push_owned(argv_builder *b, char *s)
{
	if (b->failed || s == NULL) {
		b->failed = true;
		free(s);
		return;
	}
	if (b->n + 2 > b->cap) {
		size_t cap = b->cap == 0 ? 64 : b->cap * 2;
		char **v = realloc(b->v, cap * sizeof *v);
		if (v == NULL) {
			b->failed = true;
			free(s);
			return;
		}
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = s;
	b->v[b->n] = NULL;
}

static void push(argv_builder *b, const char *s)
{
	push_owned(b, strdup(s));
}

static void pushf(argv_builder *b, const char *fmt, ...) VEIL_PRINTF(2, 3);
static void pushf(argv_builder *b, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	push_owned(b, s);
}

/*
 * A file name for "file=" of -drive: QEMU's escape for a value inside
 * "key=value,..." (',' is written ",,"), and a relative path whose first
 * component holds a ':' ("json:{...}", "nbd:host:port") starts with "./",
 * since QEMU's block layer would otherwise take "json" or "nbd" as a
 * protocol (block.c, path_has_protocol) and read options out of the name.
 */
static char *qemu_opt_escape(const char *s)
{
	size_t n = strlen(s), commas = 0, lead;
	char *out, *o;

	lead = s[strcspn(s, ":/")] == ':' ? 2 : 0;
	for (size_t i = 0; i < n; i++)
		commas += s[i] == ',';
	out = malloc(lead + n + commas + 1);
	if (out == NULL)
		return NULL;
	o = out;
	if (lead != 0) {
		*o++ = '.';
		*o++ = '/';
	}
	for (size_t i = 0; i < n; i++) {
		*o++ = s[i];
		if (s[i] == ',')
			*o++ = ',';
	}
	*o = '\0';
	return out;
}

/*
 * SEV-SNP: QEMU 9.1+ upstream (docs/system/i386/amd-memory-encryption.rst,
 * "Launching (SEV-SNP)"): the sev-snp-guest object named by the machine's
 * confidential-guest-support; the memfd memory backend as AMD's launch
 * script sets it up; the firmware with -bios (guest_memfd cannot back a
 * read-only pflash memslot); kernel-hashes=on so the launch measurement
 * covers the kernel, initrd and command line given with -kernel.
 */
static void add_snp(argv_builder *b, const veil_launch_spec *s)
{
	push(b, "-machine");
	push(b, "q35,confidential-guest-support=sev0,memory-backend=ram1,vmport=off");
	push(b, "-object");
	pushf(b, "memory-backend-memfd,id=ram1,size=%" PRIu64 "M,share=true,prealloc=false",
	      s->memory_mib);
	push(b, "-object");
	pushf(b,
	      "sev-snp-guest,id=sev0,cbitpos=%u,reduced-phys-bits=%u,policy=0x%" PRIx64
	      ",kernel-hashes=on",
	      s->snp.cbitpos, s->snp.reduced_phys_bits, s->snp.policy);
	push(b, "-cpu");
	push(b, "EPYC-v4");
}

/* The tdx-guest object. With a quote generation service its address is a
 * QAPI SocketAddress, a nested struct that only the JSON form of -object
 * can express. */
static char *tdx_object(const veil_launch_spec *s)
{
	json_t *o, *sock = NULL;
	char *out;

	if (s->tdx.qgs == VEIL_LAUNCH_QGS_NONE)
		return strdup("tdx-guest,id=tdx0");
	if (s->tdx.qgs == VEIL_LAUNCH_QGS_VSOCK) {
		char cid[16], port[16];
		/* QAPI VsockSocketAddress: cid and port are strings. */
		snprintf(cid, sizeof cid, "%" PRIu32, s->tdx.qgs_cid);
		snprintf(port, sizeof port, "%" PRIu32, s->tdx.qgs_port);
		sock = json_pack("{s:s, s:s, s:s}", "type", "vsock", "cid", cid, "port", port);
	} else {
		sock = json_pack("{s:s, s:s}", "type", "unix", "path", s->tdx.qgs_path);
	}
	o = json_pack("{s:s, s:s, s:o}", "qom-type", "tdx-guest", "id", "tdx0",
		      "quote-generation-socket", sock);
	if (o == NULL)
		return NULL;
	out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return out;
}

/*
 * TDX: QEMU 10.1+ upstream (docs/system/i386/tdx.rst, "Launching a TD"):
 * the tdx-guest object, the split irqchip TDX requires, -cpu host (TDX
 * fixes CPU features that named models would contradict), the TDVF/OVMF
 * with -bios (TDX has no read-only private memory, so no pflash).
 */
static void add_tdx(argv_builder *b, const veil_launch_spec *s)
{
	push(b, "-machine");
	push(b, "q35,confidential-guest-support=tdx0,kernel-irqchip=split");
	push(b, "-object");
	push_owned(b, tdx_object(s));
	push(b, "-cpu");
	push(b, "host");
}

/* virtio devices of a confidential guest must use the platform's DMA API
 * (iommu_platform=true, VIRTIO_F_ACCESS_PLATFORM), so that the guest
 * bounces their buffers through shared memory; disable-legacy=on gives a
 * modern-only device, which is where that feature is offered. */
#define VIRTIO_CC "disable-legacy=on,iommu_platform=true"

static void add_disk(argv_builder *b, const veil_launch_spec *s)
{
	char *file;

	if (s->disk == NULL)
		return;
	file = qemu_opt_escape(s->disk);
	if (file == NULL) {
		b->failed = true;
		return;
	}
	push(b, "-drive");
	/* The format is always named: QEMU never probes it (a raw image
	 * whose first bytes look like qcow2 could point at host files). */
	pushf(b, "file=%s,if=none,id=disk0,format=%s", file, s->disk_qcow2 ? "qcow2" : "raw");
	free(file);
	push(b, "-device");
	push(b, "virtio-blk-pci,drive=disk0," VIRTIO_CC);
}

static void add_network(argv_builder *b, const veil_launch_spec *s)
{
	char *netdev = NULL;
	size_t len = 0;
	FILE *f;

	if (s->net == VEIL_LAUNCH_NET_NONE) {
		push(b, "-nic");
		push(b, "none");
		return;
	}
	f = open_memstream(&netdev, &len);
	if (f == NULL) {
		b->failed = true;
		return;
	}
	fputs("user,id=net0", f);
	for (size_t i = 0; i < s->nforwards; i++)
		fprintf(f, ",hostfwd=tcp:%s:%u-:%u", s->host_addr, s->forwards[i].host,
			s->forwards[i].guest);
	if (fclose(f) != 0) {
		free(netdev);
		b->failed = true;
		return;
	}
	push(b, "-netdev");
	push_owned(b, netdev);
	push(b, "-device");
	/* romfile= (empty): no iPXE option ROM, which the guest does not
	 * need and the launch measurement would not cover. */
	push(b, "virtio-net-pci,netdev=net0," VIRTIO_CC ",romfile=");
}

/*
 * GPUs: as NVIDIA's confidential-computing deployment guide sets them up
 * (nvtrust, host_tools/sample_kvm_scripts/launch_vm.sh): each GPU behind a
 * PCIe root port of its own (chassis numbers kept distinct, which QEMU
 * requires of several root ports), and the firmware's 64-bit PCI MMIO
 * window raised to 256 GiB so that the GPUs' large BARs fit.
 */
static void add_gpus(argv_builder *b, const veil_launch_spec *s)
{
	if (s->ngpus == 0)
		return;
	if (s->iommufd) {
		push(b, "-object");
		push(b, "iommufd,id=iommufd0");
	}
	for (size_t i = 0; i < s->ngpus; i++) {
		push(b, "-device");
		pushf(b, "pcie-root-port,id=rp%zu,bus=pcie.0,chassis=%zu", i, i + 1);
		push(b, "-device");
		pushf(b, "vfio-pci,host=%s,bus=rp%zu%s", s->gpus[i], i,
		      s->iommufd ? ",iommufd=iommufd0" : "");
	}
	push(b, "-fw_cfg");
	push(b, "name=opt/ovmf/X-PciMmio64Mb,string=262144");
}

veil_err veil_launch_argv_build(const veil_launch_spec *s, const char *qemu, veil_launch_argv *a)
{
	argv_builder b = {0};

	a->v = NULL;
	a->n = 0;
	ENSURE(s->tee == VEIL_HC_TEE_SNP || s->tee == VEIL_HC_TEE_TDX, VEIL_E_USAGE,
	       "launch: the spec names no TEE");
	ENSURE(s->firmware != NULL && s->kernel != NULL, VEIL_E_USAGE,
	       "launch: the spec has no firmware or kernel");
	push(&b, qemu != NULL ? qemu : s->qemu != NULL ? s->qemu : VEIL_LAUNCH_QEMU_DEFAULT);
	push(&b, "-name");
	push(&b, s->name);
	push(&b, "-accel");
	push(&b, "kvm");
	if (s->tee == VEIL_HC_TEE_SNP)
		add_snp(&b, s);
	else
		add_tdx(&b, s);
	push(&b, "-smp");
	pushf(&b, "%u", s->vcpus);
	push(&b, "-m");
	pushf(&b, "%" PRIu64 "M", s->memory_mib);
	push(&b, "-bios");
	push(&b, s->firmware);
	push(&b, "-kernel");
	push(&b, s->kernel);
	if (s->initrd != NULL) {
		push(&b, "-initrd");
		push(&b, s->initrd);
	}
	if (s->cmdline != NULL) {
		push(&b, "-append");
		push(&b, s->cmdline);
	}
	/* Serial console on standard I/O, no display; neither SEV-SNP nor TDX
	 * guests can be reset, so a reboot ends the VM. */
	push(&b, "-nographic");
	push(&b, "-no-reboot");
	add_disk(&b, s);
	add_network(&b, s);
	add_gpus(&b, s);
	if (b.failed) {
		a->v = b.v;
		a->n = b.n;
		veil_launch_argv_free(a);
		return veil_fail(VEIL_E_NOMEM, "launch: out of memory building the command line");
	}
	a->v = b.v;
	a->n = b.n;
	return VEIL_OK;
}

void veil_launch_argv_free(veil_launch_argv *a)
{
	if (a->v != NULL)
		for (size_t i = 0; i < a->n; i++)
			free(a->v[i]);
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

static bool shell_safe(const char *w)
{
	if (*w == '\0')
		return false;
	for (; *w != '\0'; w++) {
		unsigned char c = (unsigned char)*w;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("_@%+=:,./-", c) != NULL))
			return false;
	}
	return true;
}

/* The options of the command line that take no value. */
static bool flag_only(const char *opt)
{
	return strcmp(opt, "-nographic") == 0 || strcmp(opt, "-no-reboot") == 0;
}

/* first: the command word, where "NAME=value" would be read by a shell as
 * an assignment (POSIX XCU 2.9.1), so an '=' there is quoted. */
static void quote_word(FILE *f, const char *w, bool first)
{
	if (shell_safe(w) && !(first && strchr(w, '=') != NULL)) {
		fputs(w, f);
		return;
	}
	fputc('\'', f);
	for (; *w != '\0'; w++) {
		if (*w == '\'')
			fputs("'\\''", f);
		else
			fputc(*w, f);
	}
	fputc('\'', f);
}

veil_err veil_launch_argv_quote(const veil_launch_argv *a, bool multiline, char **out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	*out = NULL;
	ENSURE(f != NULL, VEIL_E_NOMEM, "launch: out of memory");
	bool value_next = false; /* the word after an option is its value */

	for (size_t i = 0; i < a->n; i++) {
		bool option = i > 0 && !value_next && a->v[i][0] == '-';
		if (i > 0)
			fputs(multiline && option ? " \\\n    " : " ", f);
		quote_word(f, a->v[i], i == 0);
		value_next = option && !flag_only(a->v[i]);
	}
	if (fclose(f) != 0) {
		free(buf);
		return veil_fail(VEIL_E_NOMEM, "launch: out of memory");
	}
	*out = buf;
	return VEIL_OK;
}
