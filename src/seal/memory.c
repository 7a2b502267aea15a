/*
 * memory.c - where an opened model's plaintext lives.
 *
 * Fresh anonymous memory, never a file: MAP_PRIVATE|MAP_ANONYMOUS has no
 * backing file for the kernel to write back. On top of that:
 *   MADV_DONTDUMP  a crash's core dump leaves the weights out;
 *   MADV_DONTFORK  a child process (a helper the worker runs) does not
 *                  inherit them;
 *   mlock          on request, so they are not swapped out either (a TEE
 *                  guest usually has no swap; a development host may).
 * The first two are required: if the kernel refuses them, opening fails
 * rather than holding plaintext with weaker guarantees than documented.
 * Transparent huge pages are asked for (best effort): a 7 GiB model in 4
 * KiB pages costs nearly two million page faults and TLB misses the
 * engine would then pay on every token.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "seal/seal_internal.h"
#include "veil/secret.h"

veil_err seal_mem_map(size_t len, bool lock, void **map, size_t *map_len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t n = len == 0 ? page : (len + page - 1) / page * page;
	void *p;

	*map = NULL;
	*map_len = 0;
	ENSURE(n >= len, VEIL_E_LIMIT, "%zu bytes cannot be mapped", len);
	p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ENSURE(p != MAP_FAILED, VEIL_E_NOMEM, "cannot map %zu bytes for the model: %s", n,
	       strerror(errno));
	if (madvise(p, n, MADV_DONTDUMP) != 0 || madvise(p, n, MADV_DONTFORK) != 0) {
		int e = errno;
		munmap(p, n);
		return veil_fail(VEIL_E_IO,
				 "cannot keep the model out of core dumps and children: %s",
				 strerror(e));
	}
#ifdef MADV_HUGEPAGE
	(void)madvise(p, n, MADV_HUGEPAGE);
#endif
	if (lock && mlock(p, n) != 0) {
		int e = errno;
		munmap(p, n);
		return veil_fail(VEIL_E_NOMEM,
				 "cannot lock %zu bytes of model in memory (%s): raise the "
				 "locked-memory limit (ulimit -l, RLIMIT_MEMLOCK, LimitMEMLOCK= in "
				 "systemd) or open without locking",
				 n, strerror(e));
	}
	*map = p;
	*map_len = n;
	return VEIL_OK;
}

veil_err seal_mem_seal(void *map, size_t map_len)
{
	ENSURE(mprotect(map, map_len, PROT_READ) == 0, VEIL_E_IO,
	       "cannot make the model read-only: %s", strerror(errno));
	return VEIL_OK;
}

void seal_mem_unmap(void *map, size_t map_len, size_t used, bool locked)
{
	if (map == NULL)
		return;
	/* Writable again to wipe: freed anonymous pages are zeroed only when
	 * the kernel hands them out next, so the weights would linger. If
	 * mprotect fails (it does not on a mapping we made), munmap still
	 * drops them from this process. Pages past `used` were never written:
	 * wiping them would only fault them in. */
	if (used > map_len)
		used = map_len;
	if (used > 0 && mprotect(map, map_len, PROT_READ | PROT_WRITE) == 0)
		veil_wipe(map, used);
	if (locked)
		(void)munlock(map, map_len);
	munmap(map, map_len);
}
