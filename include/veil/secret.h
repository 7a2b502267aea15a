/*
 * secret.h - constant-time comparison and wiping, one helper each.
 *
 * Every comparison of a MAC, tag, or digest of a secret goes through
 * veil_ct_equal; every key, shared secret, prompt or plaintext is wiped with
 * veil_wipe (or freed with veil_free_secret) before its memory is released,
 * so the compiler cannot drop the wipe as a dead store.
 */
#ifndef VEIL_SECRET_H
#define VEIL_SECRET_H

#include <stdbool.h>
#include <stddef.h>

/* True when a and b hold the same n bytes; time depends only on n. */
bool veil_ct_equal(const void *a, const void *b, size_t n);
void veil_wipe(void *p, size_t n);
/* Wipes n bytes at p, then frees p. NULL is fine. */
void veil_free_secret(void *p, size_t n);

#endif
