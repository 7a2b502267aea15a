/*
 * sim_report.c - parsing and writing the simulated TEE's report.
 *
 * The layout is in sim_report.h. The parser is as strict as the ones for
 * real hardware: the sim report is untrusted input too (a verifier cannot
 * tell who produced it until the signature is checked), and a relaxed
 * parser here would be the easiest way into a key broker that trusts a sim
 * root in development.
 */
#include <stdlib.h>
#include <string.h>

#include "evidence/sim/sim_report.h"
#include "veil/limits.h"

bool sim_report_detect(const uint8_t *buf, size_t len)
{
	return len >= SIM_MAGIC_LEN && memcmp(buf, SIM_MAGIC, SIM_MAGIC_LEN) == 0;
}

static veil_err read_cert(veil_reader *rd, const char *which, const uint8_t **der, size_t *len)
{
	uint16_t n;

	TRY(veil_reader_u16le(rd, &n));
	ENSURE(n > 0 && n <= VEIL_SIM_CERT_MAX_BYTES, VEIL_E_MALFORMED,
	       "%s certificate length %u is not in 1..%d", which, n, VEIL_SIM_CERT_MAX_BYTES);
	TRY(veil_reader_borrow(rd, n, der));
	*len = n;
	return VEIL_OK;
}

static veil_err parse_fields(sim_report *r, veil_reader *rd)
{
	const uint8_t *magic;

	TRY(veil_reader_borrow(rd, SIM_MAGIC_LEN, &magic));
	ENSURE(memcmp(magic, SIM_MAGIC, SIM_MAGIC_LEN) == 0, VEIL_E_MALFORMED,
	       "not a sim report (magic is not \"%s\")", SIM_MAGIC);
	TRY(veil_reader_u32le(rd, &r->version));
	ENSURE(r->version == SIM_VERSION, VEIL_E_UNSUPPORTED,
	       "sim report version %u; this build reads version %d", r->version, SIM_VERSION);
	TRY(veil_reader_u32le(rd, &r->flags));
	ENSURE((r->flags & ~SIM_FLAG_DEBUG) == 0, VEIL_E_MALFORMED,
	       "sim report flags 0x%08x set reserved bits", r->flags);
	TRY(veil_reader_u64le(rd, &r->tcb));
	TRY(veil_reader_u64le(rd, &r->generated_at));
	ENSURE(r->generated_at <= INT64_MAX / 2, VEIL_E_MALFORMED,
	       "sim report time %llu is out of range", (unsigned long long)r->generated_at);
	TRY(veil_reader_borrow(rd, SIM_MEASUREMENT_LEN, &r->measurement));
	TRY(veil_reader_borrow(rd, SIM_HOST_DATA_LEN, &r->host_data));
	TRY(veil_reader_borrow(rd, SIM_REPORT_DATA_LEN, &r->report_data));
	TRY(veil_reader_borrow(rd, SIM_PLATFORM_ID_LEN, &r->platform_id));
	TRY(read_cert(rd, "platform", &r->platform_cert, &r->platform_cert_len));
	TRY(read_cert(rd, "root", &r->root_cert, &r->root_cert_len));
	r->signed_len = veil_reader_offset(rd);
	TRY(veil_reader_borrow(rd, SIM_SIG_LEN, &r->sig));
	if (veil_reader_end(rd) != VEIL_OK)
		return veil_fail(VEIL_E_TRAILING, "%zu bytes after the sim report's signature",
				 veil_reader_left(rd));
	return VEIL_OK;
}

veil_err sim_report_parse(const uint8_t *buf, size_t len, sim_report **out)
{
	sim_report *r = NULL;
	veil_reader rd;
	veil_err err = VEIL_OK;

	*out = NULL;
	ENSURE(len <= VEIL_EVIDENCE_MAX_BYTES, VEIL_E_LIMIT,
	       "sim report of %zu bytes exceeds the %d-byte limit", len, VEIL_EVIDENCE_MAX_BYTES);
	r = calloc(1, sizeof *r);
	CHECK_THAT(r != NULL, VEIL_E_NOMEM, "out of memory");
	r->raw = malloc(len > 0 ? len : 1);
	CHECK_THAT(r->raw != NULL, VEIL_E_NOMEM, "out of memory");
	if (len > 0)
		memcpy(r->raw, buf, len);
	r->len = len;
	veil_reader_init(&rd, r->raw, len);
	err = parse_fields(r, &rd);
	if (err != VEIL_OK) {
		err = veil_fail_context(err, "sim report, offset %zu", veil_reader_offset(&rd));
		goto out;
	}
	*out = r;
	r = NULL;
out:
	sim_report_free(r);
	return err;
}

void sim_report_free(sim_report *r)
{
	if (r == NULL)
		return;
	free(r->raw);
	free(r);
}

veil_err sim_report_write_signed(veil_writer *w, const sim_report_body *b,
				 const uint8_t *platform_cert, size_t platform_len,
				 const uint8_t *root_cert, size_t root_len)
{
	ENSURE(platform_len > 0 && platform_len <= VEIL_SIM_CERT_MAX_BYTES && root_len > 0 &&
		   root_len <= VEIL_SIM_CERT_MAX_BYTES,
	       VEIL_E_LIMIT, "sim certificates must be 1..%d bytes", VEIL_SIM_CERT_MAX_BYTES);
	ENSURE((b->flags & ~SIM_FLAG_DEBUG) == 0, VEIL_E_USAGE, "unknown sim report flags");
	TRY(veil_writer_put(w, SIM_MAGIC, SIM_MAGIC_LEN));
	TRY(veil_writer_u32le(w, SIM_VERSION));
	TRY(veil_writer_u32le(w, b->flags));
	TRY(veil_writer_u64le(w, b->tcb));
	TRY(veil_writer_u64le(w, b->generated_at));
	TRY(veil_writer_put(w, b->measurement, sizeof b->measurement));
	TRY(veil_writer_put(w, b->host_data, sizeof b->host_data));
	TRY(veil_writer_put(w, b->report_data, sizeof b->report_data));
	TRY(veil_writer_put(w, b->platform_id, sizeof b->platform_id));
	TRY(veil_writer_u16le(w, (uint16_t)platform_len));
	TRY(veil_writer_put(w, platform_cert, platform_len));
	TRY(veil_writer_u16le(w, (uint16_t)root_len));
	TRY(veil_writer_put(w, root_cert, root_len));
	return VEIL_OK;
}
