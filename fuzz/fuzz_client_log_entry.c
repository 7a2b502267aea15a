/*
 * fuzz_client_log_entry.c - reading a gateway's log entry for its evidence
 * (veil_client_log_evidence, src/client/log.c, docs/gateway.md "The
 * transparency log").
 *
 * Log entries come from a gateway the client does not trust. Beyond "no
 * crash, no leak", the properties: admissions and re-attestations give a
 * non-empty bundle within the cap; removals and leaves are NOT_FOUND with
 * no bundle; any other outcome leaves no bundle and says why; the kind and
 * worker are NUL-terminated within their buffers, whatever was read.
 */
#include <stdlib.h>
#include <string.h>

#include "veil/client.h"
#include "veil/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char kind[16], worker[VEIL_CLIENT_ID_MAX + 1];
	uint8_t *bundle = NULL;
	size_t len = 0;
	veil_err err;

	veil_err_clear();
	memset(kind, 'x', sizeof kind);
	memset(worker, 'x', sizeof worker);
	err = veil_client_log_evidence(data, size, kind, sizeof kind, worker, sizeof worker,
				       &bundle, &len);
	if (memchr(kind, '\0', sizeof kind) == NULL || memchr(worker, '\0', sizeof worker) == NULL)
		abort();
	if (err == VEIL_OK) {
		if (bundle == NULL || len == 0 || len > VEIL_CLIENT_EVIDENCE_MAX ||
		    (strcmp(kind, "admission") != 0 && strcmp(kind, "reattestation") != 0))
			abort();
		free(bundle);
		return 0;
	}
	if (bundle != NULL || len != 0 || veil_err_detail()[0] == '\0')
		abort();
	if (err == VEIL_E_NOT_FOUND && strcmp(kind, "removal") != 0 && strcmp(kind, "leave") != 0)
		abort();
	return 0;
}
