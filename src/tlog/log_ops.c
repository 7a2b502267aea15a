/*
 * log_ops.c - what a running log does: append an entry durably, read one
 * back, and give roots and proofs from the tree in memory.
 *
 * An append (RFC 9162 section 2.1.1 for the hashes) goes:
 *   1. hash the entry (no lock: a 4 MiB entry must not hold up others);
 *   2. under `write`: grow the tree's arrays if needed (under the tree's
 *      write lock, as that moves them), stage the leaf and the perfect
 *      subtrees it completes, and compute the new root;
 *   3. one SQLite transaction: the entry with its leaf hash, and the head
 *      row's size and root; COMMIT fsyncs the WAL (synchronous=FULL);
 *   4. publish the new size under the tree's write lock, and return.
 * Nothing is published before it is durable, so a reader never sees a root
 * that a crash could take back. A failure before COMMIT rolls back and
 * leaves the log as it was; a failed COMMIT leaves it unknown whether the
 * entry is on disk, so the log refuses further appends until it is opened
 * again, which checks the file against itself.
 *
 * Roots and proofs read only the tree, under its read lock, and cost
 * O(log n) hashes (tree.c). Entries read from the database are hashed
 * again and compared with the leaf the tree holds, so bytes changed under
 * a running log are refused rather than served with a proof that would
 * not verify.
 */
#include <stdlib.h>
#include <string.h>

#include "tlog/log_internal.h"
#include "veil/secret.h"

typedef unsigned long long ull; /* for printf */

static void bind_blob(sqlite3_stmt *st, int i, const void *p, size_t len)
{
	/* A zero-length blob, not NULL, for an empty entry. */
	sqlite3_bind_blob(st, i, p != NULL ? p : (const void *)"", (int)len, SQLITE_STATIC);
}

/* Step 3: the entry and the head, in one transaction. */
static veil_err store_entry(veil_tlog *t, uint64_t i, const veil_tlog_hash leaf,
			    const uint8_t *entry, size_t len, const veil_tlog_hash root)
{
	sqlite3_stmt *ins = t->st[TL_INSERT], *head = t->st[TL_HEAD_SET];
	veil_err err = VEIL_OK;
	int rc;

	TRY(tl_exec(t, TL_BEGIN, "starting an append"));
	sqlite3_bind_int64(ins, 1, (sqlite3_int64)i);
	bind_blob(ins, 2, leaf, VEIL_TLOG_HASH_LEN);
	bind_blob(ins, 3, entry, len);
	rc = sqlite3_step(ins);
	sqlu_done(ins);
	if (rc != SQLITE_DONE) {
		/* A taken index (UNIQUE constraint) means another writer. */
		err =
		    tl_fail(t, rc, "storing an entry (is another process appending to this log?)");
		goto out;
	}
	sqlite3_bind_int64(head, 1, (sqlite3_int64)(i + 1));
	bind_blob(head, 2, root, VEIL_TLOG_HASH_LEN);
	sqlite3_bind_int64(head, 3, (sqlite3_int64)i);
	rc = sqlite3_step(head);
	sqlu_done(head);
	if (rc != SQLITE_DONE) {
		err = tl_fail(t, rc, "recording the tree head");
		goto out;
	}
	CHECK_THAT(
	    sqlite3_changes(t->db) == 1, VEIL_E_IO,
	    "transparency log %s: its tree head is no longer at %llu entries; another process "
	    "appends to this log",
	    t->path, (ull)i);
	err = tl_exec(t, TL_COMMIT, "committing an append");
	if (err != VEIL_OK) {
		t->broken = true;
		goto out;
	}
	return VEIL_OK;
out:
	sqlu_rollback(t->st[TL_ROLLBACK]);
	return err;
}

veil_err veil_tlog_append(veil_tlog *t, const uint8_t *entry, size_t len, uint64_t *index)
{
	veil_tlog_hash leaf, root;
	tlog_hasher h = {0};
	uint64_t i;
	veil_err err = VEIL_OK;

	ENSURE(t != NULL && (entry != NULL || len == 0), VEIL_E_USAGE,
	       "veil_tlog_append: NULL argument");
	ENSURE(len <= VEIL_TLOG_ENTRY_MAX, VEIL_E_LIMIT,
	       "transparency log entry of %zu bytes is over the %d-byte cap", len,
	       VEIL_TLOG_ENTRY_MAX);
	TRY(tlog_hasher_init(&h));
	err = tlog_hash_leaf(&h, entry, len, leaf);
	if (err != VEIL_OK) {
		tlog_hasher_clear(&h);
		return err;
	}
	pthread_mutex_lock(&t->write);
	/* Only appenders change the size, and they hold `write`. */
	i = t->tree.size;
	CHECK_THAT(!t->broken, VEIL_E_IO,
		   "transparency log %s: an earlier append failed to commit; open the log again "
		   "before appending",
		   t->path);
	CHECK_THAT(i < (uint64_t)INT64_MAX, VEIL_E_LIMIT, "transparency log %s is full", t->path);
	pthread_rwlock_wrlock(&t->tree_lock);
	err = tlog_tree_reserve(&t->tree, i + 1);
	pthread_rwlock_unlock(&t->tree_lock);
	CHECK(err);
	CHECK(tlog_tree_stage(&t->tree, &h, leaf));
	CHECK(tlog_tree_root(&t->tree, &h, i + 1, root));
	CHECK(store_entry(t, i, leaf, entry, len, root));
	pthread_rwlock_wrlock(&t->tree_lock);
	tlog_tree_publish(&t->tree);
	pthread_rwlock_unlock(&t->tree_lock);
	if (index != NULL)
		*index = i;
out:
	pthread_mutex_unlock(&t->write);
	tlog_hasher_clear(&h);
	return err;
}

uint64_t veil_tlog_size(veil_tlog *t)
{
	uint64_t n;

	if (t == NULL)
		return 0;
	pthread_rwlock_rdlock(&t->tree_lock);
	n = t->tree.size;
	pthread_rwlock_unlock(&t->tree_lock);
	return n;
}

veil_err veil_tlog_root(veil_tlog *t, uint64_t size, veil_tlog_hash out)
{
	tlog_hasher h = {0};
	veil_err err = VEIL_OK;

	ENSURE(t != NULL && out != NULL, VEIL_E_USAGE, "veil_tlog_root: NULL argument");
	TRY(tlog_hasher_init(&h));
	pthread_rwlock_rdlock(&t->tree_lock);
	CHECK_THAT(size <= t->tree.size, VEIL_E_USAGE,
		   "transparency log has %llu entries; no root for %llu", (ull)t->tree.size,
		   (ull)size);
	CHECK(tlog_tree_root(&t->tree, &h, size, out));
out:
	pthread_rwlock_unlock(&t->tree_lock);
	tlog_hasher_clear(&h);
	return err;
}

/* The leaf hash the tree holds for entry index (index < size). */
static void leaf_of(veil_tlog *t, uint64_t index, veil_tlog_hash out)
{
	pthread_rwlock_rdlock(&t->tree_lock);
	memcpy(out, t->tree.level[0][index], VEIL_TLOG_HASH_LEN);
	pthread_rwlock_unlock(&t->tree_lock);
}

veil_err veil_tlog_entry(veil_tlog *t, uint64_t index, uint8_t **data, size_t *len)
{
	sqlite3_stmt *st;
	veil_tlog_hash want, got;
	uint8_t *buf = NULL;
	size_t n = 0;
	tlog_hasher h = {0};
	veil_err err = VEIL_OK;
	int rc;

	ENSURE(t != NULL && data != NULL && len != NULL, VEIL_E_USAGE,
	       "veil_tlog_entry: NULL argument");
	*data = NULL;
	*len = 0;
	ENSURE(index < veil_tlog_size(t), VEIL_E_NOT_FOUND,
	       "transparency log has no entry %llu (it holds %llu)", (ull)index,
	       (ull)veil_tlog_size(t));
	leaf_of(t, index, want);
	TRY(tlog_hasher_init(&h));
	pthread_mutex_lock(&t->write);
	st = t->st[TL_ENTRY_GET];
	sqlite3_bind_int64(st, 1, (sqlite3_int64)index);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(st, 0);

		n = (size_t)sqlite3_column_bytes(st, 0);
		if (n > VEIL_TLOG_ENTRY_MAX)
			err = veil_fail(VEIL_E_LIMIT,
					"transparency log %s: entry %llu is %zu bytes in the "
					"database, over the cap",
					t->path, (ull)index, n);
		else if ((buf = malloc(n > 0 ? n : 1)) == NULL)
			err = veil_fail(VEIL_E_NOMEM, "out of memory");
		else if (n > 0)
			memcpy(buf, p, n);
	} else if (rc == SQLITE_DONE) {
		err = veil_fail(VEIL_E_VERIFY,
				"transparency log %s: entry %llu is gone from the database; it was "
				"altered outside Veil",
				t->path, (ull)index);
	} else {
		err = tl_fail(t, rc, "reading an entry");
	}
	sqlu_done(st);
	pthread_mutex_unlock(&t->write);
	CHECK(err);
	CHECK(tlog_hash_leaf(&h, buf, n, got));
	CHECK_THAT(veil_ct_equal(got, want, VEIL_TLOG_HASH_LEN), VEIL_E_VERIFY,
		   "transparency log %s: entry %llu no longer matches its leaf in the tree; the "
		   "database was altered outside Veil",
		   t->path, (ull)index);
	*data = buf;
	*len = n;
	buf = NULL;
out:
	free(buf);
	tlog_hasher_clear(&h);
	return err;
}

/* A proof from the stack into a new array for the caller. */
static veil_err proof_out(const veil_tlog_hash *p, size_t n, veil_tlog_hash **out, size_t *n_out)
{
	if (n > 0) {
		*out = malloc(n * sizeof **out);
		ENSURE(*out != NULL, VEIL_E_NOMEM, "out of memory");
		memcpy(*out, p, n * sizeof **out);
	}
	*n_out = n;
	return VEIL_OK;
}

veil_err veil_tlog_inclusion_proof(veil_tlog *t, uint64_t index, uint64_t size,
				   veil_tlog_hash **path, size_t *n)
{
	veil_tlog_hash p[TLOG_PROOF_CAP];
	size_t len = 0;
	tlog_hasher h = {0};
	veil_err err = VEIL_OK;

	ENSURE(t != NULL && path != NULL && n != NULL, VEIL_E_USAGE,
	       "veil_tlog_inclusion_proof: NULL argument");
	*path = NULL;
	*n = 0;
	TRY(tlog_hasher_init(&h));
	pthread_rwlock_rdlock(&t->tree_lock);
	CHECK_THAT(index < size && size <= t->tree.size, VEIL_E_USAGE,
		   "no inclusion proof for entry %llu in a tree of %llu entries (the log holds "
		   "%llu)",
		   (ull)index, (ull)size, (ull)t->tree.size);
	CHECK(tlog_tree_inclusion(&t->tree, &h, index, size, p, &len));
out:
	pthread_rwlock_unlock(&t->tree_lock);
	tlog_hasher_clear(&h);
	return err != VEIL_OK ? err : proof_out(p, len, path, n);
}

veil_err veil_tlog_consistency_proof(veil_tlog *t, uint64_t size1, uint64_t size2,
				     veil_tlog_hash **proof, size_t *n)
{
	veil_tlog_hash p[TLOG_PROOF_CAP];
	size_t len = 0;
	tlog_hasher h = {0};
	veil_err err = VEIL_OK;

	ENSURE(t != NULL && proof != NULL && n != NULL, VEIL_E_USAGE,
	       "veil_tlog_consistency_proof: NULL argument");
	*proof = NULL;
	*n = 0;
	TRY(tlog_hasher_init(&h));
	pthread_rwlock_rdlock(&t->tree_lock);
	CHECK_THAT(size1 <= size2 && size2 <= t->tree.size, VEIL_E_USAGE,
		   "no consistency proof from %llu to %llu entries (the log holds %llu)",
		   (ull)size1, (ull)size2, (ull)t->tree.size);
	CHECK(tlog_tree_consistency(&t->tree, &h, size1, size2, p, &len));
out:
	pthread_rwlock_unlock(&t->tree_lock);
	tlog_hasher_clear(&h);
	return err != VEIL_OK ? err : proof_out(p, len, proof, n);
}
