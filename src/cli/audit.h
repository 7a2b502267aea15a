/*
 * audit.h - what the two files of `veil audit` share (docs/audit.md):
 * audit.c runs the command (options, the kept head, the report) and
 * audit_log.c checks the log's entries and the gateway's attestation list
 * against them.
 */
#ifndef VEIL_CLI_AUDIT_H
#define VEIL_CLI_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "veil/client.h"

/* How one check came out; the report prints them in this vocabulary. */
typedef enum audit_result {
	AUDIT_OK,
	AUDIT_NOTE,        /* information, not a finding */
	AUDIT_STALE,       /* logged evidence acceptable when logged, not now */
	AUDIT_FAIL,        /* an inconsistency */
	AUDIT_UNAVAILABLE, /* the gateway could not be asked (exit 3) */
} audit_result;

#define AUDIT_KEY_IDS_MAX 16

/* One log entry read (fetched and proven in the audit's tree head). */
typedef struct audit_entry {
	uint64_t index;
	bool sampled; /* its evidence is judged */
	bool listed;  /* the attestation list points at it */
	bool read;    /* fetched and proven in the head */
	char kind[32];
	char worker[VEIL_CLIENT_ID_MAX + 1];
	int64_t time_ms;       /* the entry's "time" (the gateway's word), 0 when absent */
	audit_result evidence; /* OK, STALE or FAIL once judged */
	/* What the judged evidence says (judged: passed now or when logged). */
	bool judged;
	char id[VEIL_CLIENT_ID_MAX + 1];
	char model[VEIL_CLIENT_MODEL_MAX + 1];
	char model_sha256[65];
	char tee[16];
	char receipt_kid[64];
	uint8_t key_ids[AUDIT_KEY_IDS_MAX];
	size_t key_count;
	json_t *bundle; /* the logged bundle, parsed, for entries the list points at */
} audit_entry;

typedef struct audit_run {
	const veil_client_policy *policy;
	veil_client *client;
	bool json;
	json_t *checks; /* [{"check", "result", "detail"}] */
	unsigned failed, stale;
	bool unavailable;
	veil_tlog_sth head;   /* the head every entry is proven in */
	uint64_t before_list; /* the size of the head read before the list */
	uint64_t tail_lo;     /* the first entry read after the listed ones */
	json_t *list;         /* the attestation list's "data" (borrowed) */
	audit_entry *entries; /* sorted by index */
	size_t count;
} audit_run;

/* Records one check (and prints it unless --json); the detail is
 * sanitized. */
void audit_record(audit_run *a, audit_result r, const char *check, const char *fmt, ...)
    VEIL_PRINTF(4, 5);

/* audit_log.c: reads and proves the sampled entries (the newest, every
 * entry the list points at, random others up to `sample`) and the entries
 * after each listed one, judges the sampled evidence, and compares the
 * attestation list with the log. Findings go to the report. */
void audit_log_entries(audit_run *a, size_t sample);
void audit_log_list(audit_run *a);
void audit_log_clear(audit_run *a);

#endif
