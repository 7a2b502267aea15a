/*
 * fuzz_sim.c - the simulated TEE's parsers: the sim report, the sim GPU
 * report (through the sim-gpu format) and platform.json.
 *
 * The first byte picks the parser, the rest is its input. Sim evidence is
 * untrusted input like any other, and a parsed sim report must verify as
 * nothing when no sim root is trusted (the one property that keeps a
 * development platform out of production).
 */
#include <stdlib.h>

#include "evidence/sim/sim_report.h"
#include "sim/sim_internal.h"
#include "veil/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void format_round(const char *name, const uint8_t *p, size_t n)
{
	const veil_evidence_format *fmt = veil_evidence_format_find(name);
	veil_verify_ctx ctx = {.at = 1790000000};
	veil_checks checks;
	json_t *claims;
	void *ev = NULL;

	if (fmt->parse(p, n, &ev) != VEIL_OK)
		return;
	veil_checks_init(&checks);
	if (fmt->verify(ev, &ctx, NULL, &checks) == VEIL_OK || veil_checks_passed(&checks))
		abort(); /* no trusted sim root: nothing verifies */
	claims = json_object();
	if (claims != NULL && fmt->claims(ev, claims) == VEIL_OK &&
	    !json_is_true(json_object_get(claims, "insecure")))
		abort(); /* every sim claim set says insecure */
	json_decref(claims);
	fmt->free(ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sim_config config;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		format_round("sim", data + 1, size - 1);
		break;
	case 1:
		format_round("sim-gpu", data + 1, size - 1);
		break;
	default:
		(void)sim_config_parse(data + 1, size - 1, "fuzz", &config);
		break;
	}
	veil_err_clear();
	return 0;
}
