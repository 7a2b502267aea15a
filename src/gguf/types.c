/*
 * types.c - the two type vocabularies of a GGUF file: metadata value types
 * (their sizes and names) and ggml tensor types (their names and block
 * formats).
 *
 * The reader needs every tensor's byte size to check the tensor table
 * against the buffer, and a tensor's size follows from its block format:
 * ne[0] elements per row make ne[0] / elems blocks of bytes each. The
 * block sizes below are those of ggml's block structs (ggml-common.h:
 * block_q4_0 is an f16 scale and 16 bytes of nibbles, 18 bytes for 32
 * weights; the K-quants pack 256 weights into a super-block). Types whose
 * layout Veil does not know are still named, so a refusal can say "IQ2_XS"
 * rather than a number.
 */
#include <stdio.h>

#include "gguf/gguf_internal.h"

typedef struct ggml_type_info {
	const char *name;
	uint32_t elems; /* 0: layout unknown to Veil */
	uint32_t bytes;
} ggml_type_info;

/* GGUF spec, "enum ggml_type"; numbers 4 and 5 (Q4_2, Q4_3) and 31..33,
 * 36..38 (repacked layouts) were removed from files long ago. */
static const ggml_type_info ggml_types[] = {
    [VEIL_GGML_F32] = {"F32", 1, 4},
    [VEIL_GGML_F16] = {"F16", 1, 2},
    [VEIL_GGML_Q4_0] = {"Q4_0", 32, 18},
    [VEIL_GGML_Q4_1] = {"Q4_1", 32, 20},
    [4] = {"Q4_2", 0, 0},
    [5] = {"Q4_3", 0, 0},
    [VEIL_GGML_Q5_0] = {"Q5_0", 32, 22},
    [VEIL_GGML_Q5_1] = {"Q5_1", 32, 24},
    [VEIL_GGML_Q8_0] = {"Q8_0", 32, 34},
    [VEIL_GGML_Q8_1] = {"Q8_1", 32, 36},
    [VEIL_GGML_Q2_K] = {"Q2_K", 256, 84},
    [VEIL_GGML_Q3_K] = {"Q3_K", 256, 110},
    [VEIL_GGML_Q4_K] = {"Q4_K", 256, 144},
    [VEIL_GGML_Q5_K] = {"Q5_K", 256, 176},
    [VEIL_GGML_Q6_K] = {"Q6_K", 256, 210},
    [VEIL_GGML_Q8_K] = {"Q8_K", 256, 292},
    [16] = {"IQ2_XXS", 0, 0},
    [17] = {"IQ2_XS", 0, 0},
    [18] = {"IQ3_XXS", 0, 0},
    [19] = {"IQ1_S", 0, 0},
    [20] = {"IQ4_NL", 0, 0},
    [21] = {"IQ3_S", 0, 0},
    [22] = {"IQ2_S", 0, 0},
    [23] = {"IQ4_XS", 0, 0},
    [24] = {"I8", 0, 0},
    [25] = {"I16", 0, 0},
    [26] = {"I32", 0, 0},
    [27] = {"I64", 0, 0},
    [28] = {"F64", 0, 0},
    [29] = {"IQ1_M", 0, 0},
    [VEIL_GGML_BF16] = {"BF16", 1, 2},
    [31] = {"Q4_0_4_4", 0, 0},
    [32] = {"Q4_0_4_8", 0, 0},
    [33] = {"Q4_0_8_8", 0, 0},
    [34] = {"TQ1_0", 0, 0},
    [35] = {"TQ2_0", 0, 0},
    [36] = {"IQ4_NL_4_4", 0, 0},
    [37] = {"IQ4_NL_4_8", 0, 0},
    [38] = {"IQ4_NL_8_8", 0, 0},
    [39] = {"MXFP4", 0, 0},
};

#define N_GGML_TYPES (sizeof ggml_types / sizeof ggml_types[0])

const char *veil_ggml_type_name(uint32_t type, char buf[16])
{
	if (type < N_GGML_TYPES && ggml_types[type].name != NULL)
		return ggml_types[type].name;
	snprintf(buf, 16, "type %u", (unsigned)type);
	return buf;
}

bool veil_ggml_block(uint32_t type, size_t *elems, size_t *bytes)
{
	if (type >= N_GGML_TYPES || ggml_types[type].elems == 0)
		return false;
	*elems = ggml_types[type].elems;
	*bytes = ggml_types[type].bytes;
	return true;
}

/* GGUF spec, "enum gguf_metadata_value_type". */
static const struct {
	const char *name;
	size_t size;
} gguf_types[] = {
    [VEIL_GGUF_UINT8] = {"uint8", 1},     [VEIL_GGUF_INT8] = {"int8", 1},
    [VEIL_GGUF_UINT16] = {"uint16", 2},   [VEIL_GGUF_INT16] = {"int16", 2},
    [VEIL_GGUF_UINT32] = {"uint32", 4},   [VEIL_GGUF_INT32] = {"int32", 4},
    [VEIL_GGUF_FLOAT32] = {"float32", 4}, [VEIL_GGUF_BOOL] = {"bool", 1},
    [VEIL_GGUF_STRING] = {"string", 0},   [VEIL_GGUF_ARRAY] = {"array", 0},
    [VEIL_GGUF_UINT64] = {"uint64", 8},   [VEIL_GGUF_INT64] = {"int64", 8},
    [VEIL_GGUF_FLOAT64] = {"float64", 8},
};

#define N_GGUF_TYPES (sizeof gguf_types / sizeof gguf_types[0])

size_t gguf_type_size(uint32_t type)
{
	return type < N_GGUF_TYPES ? gguf_types[type].size : 0;
}

const char *gguf_type_name(uint32_t type, char buf[16])
{
	if (type < N_GGUF_TYPES)
		return gguf_types[type].name;
	snprintf(buf, 16, "type %u", (unsigned)type);
	return buf;
}
