/*
 * attester_internal.h - what the attester back ends share.
 *
 * A CPU back end is an entry in one table (attester.c) with the TEEs it can
 * serve and a get() that fills a veil_cpu_evidence or fails with a detail
 * that does not repeat the back end's name (the dispatcher adds it). The
 * sys_* helpers route every system call through env->sys so the tests can
 * play the kernel; the file helpers read configfs attributes, whose sizes
 * stat() does not know, with a hard cap.
 */
#ifndef VEIL_ATTESTER_INTERNAL_H
#define VEIL_ATTESTER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/attester.h"

typedef enum attest_tee {
	ATTEST_TEE_AUTO = 0,
	ATTEST_TEE_SNP,
	ATTEST_TEE_TDX,
} attest_tee;

typedef struct attest_backend {
	const char *name;
	bool snp, tdx; /* the TEEs it can produce evidence for */
	veil_err (*get)(const veil_attest_env *env, attest_tee want, const uint8_t rd[64],
			veil_cpu_evidence *out);
} attest_backend;

extern const attest_backend attest_tsm_backend;
extern const attest_backend attest_sev_guest_backend;
extern const attest_backend attest_tdx_guest_backend;

/* The system calls, through env->sys when it has the hook. */
int attest_sys_open(const veil_attest_env *env, const char *path, int flags);
int attest_sys_ioctl(const veil_attest_env *env, int fd, unsigned long request, void *arg);
int attest_sys_tsm_mkdir(const veil_attest_env *env, const char *path);
int attest_sys_tsm_rmdir(const veil_attest_env *env, const char *path);

/* Why opening a device or a file failed, for a message: "not found (hint)"
 * for ENOENT, "permission denied (run as root ...)" for EACCES and EPERM,
 * strerror otherwise. missing_hint says what a missing node means. */
const char *attest_errno_reason(int err, const char *missing_hint, char *buf, size_t size);
/* VEIL_E_NOT_FOUND for ENOENT/ENODEV/ENXIO, VEIL_E_IO otherwise. */
veil_err attest_errno_code(int err);

/* Reads all of path (opened through env->sys) up to max bytes; more is
 * VEIL_E_LIMIT. A missing file is VEIL_E_NOT_FOUND. The buffer is
 * NUL-terminated (not counted); the caller frees it. */
VEIL_MUST_CHECK veil_err attest_read_file(const veil_attest_env *env, const char *path, size_t max,
					  uint8_t **out, size_t *len);
/* Writes all n bytes to an existing file in one open/close (configfs
 * commits a binary attribute when it is closed). */
VEIL_MUST_CHECK veil_err attest_write_file(const veil_attest_env *env, const char *path,
					   const void *p, size_t n);

/* Parses buf with the named evidence format ("snp", "tdx", "nvidia") and
 * checks that its REPORT_DATA (nonce for nvidia) equals want: the device
 * answered our request, not someone else's. */
VEIL_MUST_CHECK veil_err attest_check_binding(const char *format, const uint8_t *buf, size_t len,
					      const uint8_t *want, size_t want_len);

/* Sets out->tee and out->backend. */
void attest_evidence_label(veil_cpu_evidence *out, attest_tee tee, const char *backend);

/* The end of the last certificate of a parsed table (the table's used
 * length), or 0 when it names none. */
size_t attest_certtable_used(const uint8_t *buf, const veil_snp_cert *certs, size_t count);

#endif
