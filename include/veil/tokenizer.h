/*
 * tokenizer.h - text to token ids and back, as llama.cpp reads a GGUF
 * model's tokenizer metadata (docs/tokenizer.md), and chat templates.
 *
 * Two tokenizer kinds cover the models Veil runs: SentencePiece-style
 * ("llama": Llama 2, TinyLlama, Mistral) with byte fallback through <0xNN>
 * tokens, and GPT-2 byte-level BPE ("gpt2": Llama 3, Qwen2, SmolLM) with
 * merge ranks and a hand-written pre-tokenizer per pattern. A tokenizer is
 * built either from plain arrays (veil_tokenizer_spec, so tests and tools
 * need no GGUF file) or from a parsed GGUF file; both paths check the
 * vocabulary the same way and copy what they keep, so the source may be
 * freed afterwards.
 *
 * Input text must be valid UTF-8 (RFC 3629); anything else is refused with
 * VEIL_E_MALFORMED rather than silently changed. Output text is always
 * valid UTF-8: byte tokens that do not form a character become U+FFFD.
 *
 * Prompts are secret: every scratch buffer that held prompt text or ids is
 * wiped before it is freed. The id arrays handed to the caller are the
 * caller's to wipe (veil_free_secret).
 *
 * A veil_tokenizer is immutable after it is built and may be shared
 * between threads; a veil_detok stream belongs to one thread.
 */
#ifndef VEIL_TOKENIZER_H
#define VEIL_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/bytes.h"
#include "veil/error.h"
#include "veil/gguf.h"

/* Caps on what a model file or a caller can make the tokenizer spend.
 * (They belong with the others in veil/limits.h; kept here until then.)
 * The largest vocabularies in use hold about 256k tokens and 300k merges;
 * the longest token texts are a few hundred bytes of spaces or symbols. */
#define VEIL_TOKENIZER_VOCAB_MAX  (1 << 20)
#define VEIL_TOKENIZER_MERGES_MAX (1 << 21)
#define VEIL_TOKEN_TEXT_MAX       4096
#define VEIL_TOKENIZER_TEXT_MAX   (64 * 1024 * 1024) /* all token texts together */
#define VEIL_TOKENIZE_INPUT_MAX   (4 * 1024 * 1024)  /* bytes of one text to tokenize */
#define VEIL_CHAT_MESSAGES_MAX    1024
#define VEIL_CHAT_ROLE_MAX        32
#define VEIL_CHAT_TEMPLATE_MAX    (256 * 1024) /* tokenizer.chat_template bytes */

/* "No such token" for optional special ids. */
#define VEIL_TOKEN_NONE (-1)

typedef enum veil_tok_kind {
	VEIL_TOK_SPM = 1, /* tokenizer.ggml.model "llama" */
	VEIL_TOK_BPE = 2, /* tokenizer.ggml.model "gpt2" */
} veil_tok_kind;

/* BPE pre-tokenizers (tokenizer.ggml.pre; docs/tokenizer.md lists which
 * names map to which). */
typedef enum veil_tok_pre {
	VEIL_TOK_PRE_GPT2 = 0,   /* 's|'t|...| ?\p{L}+| ?\p{N}+|...; also "default" */
	VEIL_TOK_PRE_LLAMA3 = 1, /* (?i:'s|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|... */
	VEIL_TOK_PRE_QWEN2 = 2,  /* as LLAMA3 with single digits: \p{N} */
	VEIL_TOK_PRE_SMOLLM = 3, /* each digit alone, then GPT2 (starcoder, smollm) */
} veil_tok_pre;

/* tokenizer.ggml.token_type values (llama.cpp's llama_token_type). */
typedef enum veil_token_type {
	VEIL_TOKEN_UNDEFINED = 0,
	VEIL_TOKEN_NORMAL = 1,
	VEIL_TOKEN_UNKNOWN = 2,
	VEIL_TOKEN_CONTROL = 3,
	VEIL_TOKEN_USER_DEFINED = 4,
	VEIL_TOKEN_UNUSED = 5,
	VEIL_TOKEN_BYTE = 6,
} veil_token_type;

typedef struct veil_tokenizer_spec {
	veil_tok_kind kind;
	veil_tok_pre pre; /* BPE only */
	size_t n_tokens;
	const char *const *tokens; /* n_tokens texts, UTF-8 */
	const size_t *token_lens;  /* NULL: the texts are NUL-terminated */
	const float *scores;       /* NULL: all 0 (SPM merges by score) */
	const int32_t *types;      /* NULL: all VEIL_TOKEN_NORMAL */
	size_t n_merges;           /* BPE: merges in rank order, "left right" */
	const char *const *merges;
	const size_t *merge_lens; /* NULL: NUL-terminated */
	/* Special ids, VEIL_TOKEN_NONE when absent. eot is found by its text
	 * ("<|eot_id|>", "<|im_end|>", ...) when absent, as llama.cpp does. */
	int32_t bos, eos, eot, unk, pad;
	bool add_bos, add_eos;
	bool add_space_prefix; /* SPM: a leading '▁' before text (llama.cpp default: true) */
	bool ignore_merges;    /* BPE: a whole pre-token that is a token is kept (Llama 3) */
} veil_tokenizer_spec;

/* Fills spec with llama.cpp's defaults for kind and no tokens: SPM bos 1,
 * eos 2, unk 0, add_bos, add_space_prefix; BPE no special ids, no BOS,
 * GPT-2 pre-tokenizer. */
void veil_tokenizer_spec_init(veil_tokenizer_spec *spec, veil_tok_kind kind);

typedef struct veil_tokenizer veil_tokenizer;

/*
 * Builds a tokenizer from spec (copied; spec may be freed after). Refuses
 * with VEIL_E_MALFORMED a vocabulary with no tokens, an empty or duplicate
 * token text, a type outside 0..6, a special id out of range, a merge that
 * is not "left right" or whose left, right or joined text is not a token,
 * and with VEIL_E_LIMIT one over the caps above.
 */
VEIL_MUST_CHECK veil_err veil_tokenizer_new(const veil_tokenizer_spec *spec, veil_tokenizer **out);

/*
 * Builds a tokenizer from the tokenizer.ggml.* keys of g, reading them as
 * llama.cpp does (docs/tokenizer.md "GGUF keys"): model "llama" or "gpt2"
 * (others VEIL_E_UNSUPPORTED), tokens, scores, token_type, merges, the
 * special ids, add_bos_token, add_eos_token, add_space_prefix and pre.
 */
VEIL_MUST_CHECK veil_err veil_tokenizer_from_gguf(const veil_gguf *g, veil_tokenizer **out);

void veil_tokenizer_free(veil_tokenizer *tok);

veil_tok_kind veil_tokenizer_kind(const veil_tokenizer *tok);
size_t veil_tokenizer_n_tokens(const veil_tokenizer *tok);
/* Special ids, VEIL_TOKEN_NONE when the model has none. */
int32_t veil_token_bos(const veil_tokenizer *tok);
int32_t veil_token_eos(const veil_tokenizer *tok);
int32_t veil_token_eot(const veil_tokenizer *tok);
/* Whether the model asks for BOS before a prompt (tokenizer.ggml.add_bos_token). */
bool veil_tokenizer_add_bos(const veil_tokenizer *tok);
/* End of generation: eos, eot, and every token whose text llama.cpp treats
 * as one ("<|eot_id|>", "<|im_end|>", "<|endoftext|>", ...). False for ids
 * out of range. */
bool veil_token_is_eog(const veil_tokenizer *tok, int32_t id);
/* Every id veil_token_is_eog accepts, in a new array (NULL and 0 when
 * there is none): the stop tokens of a generation. */
VEIL_MUST_CHECK veil_err veil_tokenizer_eog_ids(const veil_tokenizer *tok, int32_t **ids,
						size_t *n);
/* The token's type; VEIL_TOKEN_UNDEFINED for ids out of range. */
veil_token_type veil_token_get_type(const veil_tokenizer *tok, int32_t id);
/* The token's text as stored in the vocabulary (borrowed from tok). */
VEIL_MUST_CHECK veil_err veil_token_text(const veil_tokenizer *tok, int32_t id, const char **text,
					 size_t *len);
/* The id of the token whose text is exactly s, or VEIL_TOKEN_NONE. */
int32_t veil_token_find(const veil_tokenizer *tok, const char *s, size_t len);

/*
 * Tokenizes len bytes of UTF-8 text into a new array *ids of *n ids
 * (malloc'd, the caller frees; it encodes the prompt, so wipe it first).
 * add_special: add BOS (and EOS) where the model's add_bos/add_eos say so;
 * pass false for text that continues a prompt. parse_special: control
 * tokens written in the text ("<|im_start|>") become their ids, as for a
 * prompt rendered from a chat template; when false they are tokenized as
 * plain text. User-defined tokens are always matched (llama.cpp does).
 * VEIL_E_MALFORMED for text that is not UTF-8, VEIL_E_LIMIT over
 * VEIL_TOKENIZE_INPUT_MAX, VEIL_E_UNSUPPORTED when a byte has no token and
 * the vocabulary has no unknown token.
 */
VEIL_MUST_CHECK veil_err veil_tokenize(const veil_tokenizer *tok, const char *text, size_t len,
				       bool add_special, bool parse_special, int32_t **ids,
				       size_t *n);

/*
 * The bytes a token stands for (borrowed from tok): SPM '▁' becomes a
 * space and <0xNN> the byte NN; BPE undoes the GPT-2 byte-to-character
 * mapping. Control and unknown tokens give their text when special is
 * true and nothing when false; user-defined tokens always give their
 * text. A piece may be part of a UTF-8 character (see veil_detok).
 * VEIL_E_USAGE for an id out of range.
 */
VEIL_MUST_CHECK veil_err veil_token_piece(const veil_tokenizer *tok, int32_t id, bool special,
					  const uint8_t **piece, size_t *len);

/*
 * Detokenizes n ids into a new NUL-terminated UTF-8 string (the caller
 * frees and wipes). Drops the one space that SPM's add_space_prefix put
 * before the first text, so that text -> ids -> text gives the text back.
 */
VEIL_MUST_CHECK veil_err veil_detokenize(const veil_tokenizer *tok, const int32_t *ids, size_t n,
					 bool special, char **out, size_t *out_len);

/*
 * Streaming detokenizer: a generated token may end in the middle of a
 * UTF-8 character (byte-fallback tokens, byte-level BPE), and a streamed
 * response must never carry a broken character. veil_detok_push appends
 * to out only complete characters and holds back up to 3 bytes of an
 * unfinished one; bytes that cannot start or continue a character are
 * replaced by U+FFFD (Unicode 14.0 section 3.9, "U+FFFD Substitution of
 * Maximal Subparts"). veil_detok_finish emits U+FFFD for a character left
 * unfinished at the end. Pieces are raw: no space is dropped.
 */
typedef struct veil_detok {
	const veil_tokenizer *tok; /* borrowed */
	bool special;              /* render control tokens' text */
	uint8_t held[4];
	uint8_t n_held;
} veil_detok;

void veil_detok_init(veil_detok *d, const veil_tokenizer *tok, bool special);
VEIL_MUST_CHECK veil_err veil_detok_push(veil_detok *d, int32_t id, veil_writer *out);
VEIL_MUST_CHECK veil_err veil_detok_finish(veil_detok *d, veil_writer *out);
/* A veil_piece_fn (include/veil/engine.h) over a veil_detok (user): the
 * complete characters token id adds, at most cap bytes; 0 on an error. */
size_t veil_detok_piece(void *user, int32_t id, char *buf, size_t cap);

/*
 * Chat templates (docs/tokenizer.md "Chat templates"). No Jinja engine: the
 * family is recognised from the template text in the model's metadata, as
 * llama.cpp's llm_chat_detect_template does, and rendered in C as its
 * llm_chat_apply_template does. With no template, or one not recognised,
 * ChatML is used and `fallback` says so.
 */
typedef enum veil_chat_family {
	VEIL_CHAT_CHATML = 0, /* <|im_start|>role\ncontent<|im_end|>\n */
	VEIL_CHAT_LLAMA2 = 1, /* [INST] ... [/INST] */
	VEIL_CHAT_LLAMA3 = 2, /* <|start_header_id|>role<|end_header_id|>\n\n... */
	VEIL_CHAT_ZEPHYR = 3, /* <|role|>\ncontent</s>\n */
} veil_chat_family;

typedef struct veil_chat_template {
	veil_chat_family family;
	bool fallback;          /* no template, or none recognised: ChatML */
	bool llama2_sys;        /* Llama 2: system message in <<SYS>> (else plain) */
	bool llama2_bos_inside; /* Llama 2: "<s>" before each later [INST] */
	bool llama2_strip;      /* Llama 2: contents stripped of whitespace */
	char zephyr_end[32];    /* Zephyr: the end-of-turn text ("</s>", "<|endoftext|>") */
} veil_chat_template;

/* Recognises the family of a template text (len bytes; NULL or 0 for
 * none). The names "chatml", "llama2", "llama3" and "zephyr" are accepted
 * as templates too. */
void veil_chat_template_detect(const char *text, size_t len, veil_chat_template *out);
/* Reads tokenizer.chat_template from g (absent: the fallback) and, for
 * Zephyr templates that write eos_token, takes the EOS token's text. */
VEIL_MUST_CHECK veil_err veil_chat_template_from_gguf(const veil_gguf *g, veil_chat_template *out);

typedef struct veil_chat_message {
	const char *role;    /* NUL-terminated: [a-z_]{1,32}, e.g. "system", "user", "assistant" */
	const char *content; /* UTF-8, content_len bytes */
	size_t content_len;
} veil_chat_message;

/*
 * Renders n messages into a new NUL-terminated prompt (the caller frees
 * and wipes). add_generation_prompt opens the assistant's turn (Llama 2
 * has none to open: its user turn ends with [/INST]). The prompt does not
 * include BOS: tokenize it with add_special and parse_special set.
 * VEIL_E_USAGE for a bad role (Llama 2 knows only system, user and
 * assistant), VEIL_E_MALFORMED for content that is not UTF-8, VEIL_E_LIMIT
 * over VEIL_CHAT_MESSAGES_MAX or a prompt over VEIL_TOKENIZE_INPUT_MAX.
 */
VEIL_MUST_CHECK veil_err veil_chat_format(const veil_chat_template *t,
					  const veil_chat_message *msgs, size_t n,
					  bool add_generation_prompt, char **out, size_t *out_len);

#endif
