/*
 * limits.h - every cap on a size or count that comes from untrusted input.
 *
 * One place, so a reviewer can see at a glance how much memory or work a
 * hostile peer can make Veil spend. Parsers check against these before they
 * allocate or loop.
 */
#ifndef VEIL_LIMITS_H
#define VEIL_LIMITS_H

/* Any one evidence file read from disk or the network (a TDX quote with its
 * PEM chain is ~5 KiB; an Azure HCL report ~3 KiB; padding buffers up to 8 KiB
 * are seen in the wild). */
#define VEIL_EVIDENCE_MAX_BYTES (64 * 1024)

/* Devices (GPUs) in one evidence bundle: an HGX board has 8, and the cap
 * leaves room for a board's NVSwitches should they ever be attested. */
#define VEIL_BUNDLE_DEVICES_MAX 16

/* Any one collateral file (certificate chain, CRL, TCB Info, QE Identity). */
#define VEIL_COLLATERAL_FILE_MAX_BYTES (1024 * 1024)
/* Files loaded from one collateral directory (recursively, 2 levels). */
#define VEIL_COLLATERAL_MAX_FILES 256
#define VEIL_COLLATERAL_MAX_DEPTH 2

/* Certificates in one chain or bundle, and the longest chain we build. */
#define VEIL_CERT_BUNDLE_MAX      16
#define VEIL_CERT_CHAIN_MAX_DEPTH 5
/* Entries kept in a verifier's caches before the oldest are dropped. */
#define VEIL_VERIFIER_CACHE_MAX 64

/* The simulated TEE: one DER certificate inside a sim report, and the
 * workload files measured into a sim launch measurement. */
#define VEIL_SIM_CERT_MAX_BYTES     4096
#define VEIL_SIM_WORKLOAD_FILES_MAX 16
#define VEIL_SIM_WORKLOAD_MAX_BYTES (1024L * 1024 * 1024)

/* JSON: bytes before parsing, nesting depth after. */
#define VEIL_JSON_MAX_BYTES (1024 * 1024)
#define VEIL_JSON_MAX_DEPTH 32

/* Intel TDX collateral: levels in TCB Info, QE Identity, module identities. */
#define VEIL_TDX_TCB_LEVELS_MAX        128
#define VEIL_TDX_ADVISORIES_MAX        64
#define VEIL_TDX_MODULE_IDENTITIES_MAX 16

/* How long an OCSP response without nextUpdate counts after its thisUpdate.
 * RFC 6960 section 4.2.2.1: no nextUpdate means newer information is always
 * available, so how stale a cached one may be is local policy. Seven days:
 * a weekly refresh of the cache suffices, and it stays inside the ten days
 * the CA/Browser Forum Baseline Requirements (4.9.10) allow any response. */
#define VEIL_OCSP_MAX_AGE (7 * 24 * 3600)

/* Verification checks recorded for one piece of evidence. */
#define VEIL_CHECKS_MAX       48
#define VEIL_CHECK_DETAIL_MAX 256

/* Appraisal (docs/appraisal.md): a policy document, the entries of any one
 * list in it (sim roots, products, VMPLs, TCB statuses), the "match" rules
 * of one section, and names (policy id, set and claim names). */
#define VEIL_POLICY_MAX_BYTES (64 * 1024)
#define VEIL_POLICY_LIST_MAX  16
#define VEIL_POLICY_MATCH_MAX 32
#define VEIL_POLICY_NAME_MAX  128
/* Reference values: one file, the sets over all files loaded together, the
 * values in one set and the length of one value. */
#define VEIL_REFVALS_MAX_BYTES     (1024 * 1024)
#define VEIL_REFVALS_SETS_MAX      256
#define VEIL_REFVALS_VALUES_MAX    4096
#define VEIL_REFVALS_VALUE_MAX_LEN 256
/* Reasons listed in one EAR submodule before the rest are summarised. */
#define VEIL_APPRAISAL_REASONS_MAX 64

/* The thread-local error detail (an attester's "auto" failure names three
 * back ends and a reason for each). */
#define VEIL_ERR_DETAIL_MAX 1024

/* Attesters (src/attester): what the kernel, the host or a driver hands
 * back. configfs-tsm outblob and auxblob: the kernel's TSM_REPORT_OUTBLOB_MAX
 * (include/linux/tsm.h, 32 KiB); its text attributes are a line each. */
#define VEIL_ATTEST_BLOB_MAX (32 * 1024)
#define VEIL_ATTEST_ATTR_MAX 64
/* The SNP_GET_EXT_REPORT certificate buffer the host may ask for (the kernel
 * itself allows SEV_FW_BLOB_MAX_SIZE, 16 KiB today), and the entries of an
 * SNP certificate table (VCEK or VLEK, ASK, ARK, CRL and a few more). */
#define VEIL_SNP_CERTS_MAX     (64 * 1024)
#define VEIL_SNP_CERTTABLE_MAX 16
/* GPUs attested in one call (an HGX board has 8). */
#define VEIL_ATTEST_GPUS_MAX 16

/* Oblivious HTTP (src/ohttp). Symmetric suites in one key configuration,
 * configurations in one application/ohttp-keys body, keys one server holds
 * at once (rotation keeps a few), the largest whole encapsulated message, and
 * the largest sealed chunk of a chunked message (the draft requires 16 KiB
 * of plaintext; senders should not exceed it). */
#define VEIL_OHTTP_SUITES_MAX  16
#define VEIL_OHTTP_CONFIGS_MAX 16
#define VEIL_OHTTP_KEYS_MAX    16
#define VEIL_OHTTP_MESSAGE_MAX (16 * 1024 * 1024)
#define VEIL_OHTTP_CHUNK_MAX   (256 * 1024)
/* Binary HTTP (src/ohttp/bhttp.c): fields in one section, bytes of one field
 * name or value, bytes of one control-data string, informational responses
 * before the final one, and content bytes. */
#define VEIL_BHTTP_FIELDS_MAX        256
#define VEIL_BHTTP_FIELD_MAX         (64 * 1024)
#define VEIL_BHTTP_CONTROL_MAX       (8 * 1024)
#define VEIL_BHTTP_INFORMATIONAL_MAX 16
#define VEIL_BHTTP_CONTENT_MAX       (16 * 1024 * 1024)

/* Key broker storage (src/store): a resource path "<repo>/<type>/<tag>",
 * one resource value (a model key, or a small secret file), a document
 * (policy or reference values), a document name, and a session id. */
#define VEIL_STORE_PATH_MAX       256
#define VEIL_STORE_VALUE_MAX      (1024 * 1024)
#define VEIL_STORE_DOC_MAX        (1024 * 1024)
#define VEIL_STORE_NAME_MAX       128
#define VEIL_STORE_SESSION_ID_MAX 64
/* CoCo init-data at POST /kbs/v0/attest (docs/kbs.md "Init-data"): the
 * initdata TOML's bytes. It carries guest configuration files and the
 * agent policy, which a policy generator writes at tens of KiB; 256 KiB
 * leaves room and stays well inside the request body cap below. */
#define VEIL_KBS_INITDATA_MAX_BYTES (256 * 1024)

/* HTTP server defaults (src/http): request header bytes, request body bytes
 * (an attestation with eight GPU reports and their certificate chains is
 * about 150 KiB of JSON; 2 MiB leaves room for collateral), and the idle
 * timeout that drops slow clients. */
#define VEIL_HTTP_HEADER_MAX (16 * 1024)
#define VEIL_HTTP_BODY_MAX   (2 * 1024 * 1024)
#define VEIL_HTTP_TIMEOUT_S  10
#define VEIL_HTTP_ROUTES_MAX 64
/* Event loop threads of one server (one per CPU unless configured). */
#define VEIL_HTTP_THREADS_MAX 64
/* Deferred replies (src/http/deferred.c): bytes of one streamed reply that
 * a producer thread may have written but the client has not taken yet (in
 * the handle's queue and the connection's output buffer). Tokens leave in
 * pieces of tens of bytes; 4 MiB is far more than a reading client ever
 * lets pile up, and bounds what one that stopped reading can make the
 * server hold. */
#define VEIL_HTTP_DEFERRED_QUEUE_MAX (4 * 1024 * 1024)

/* HTTP client (src/http/client.c): the whole exchange, from connect to the
 * last body byte, and the connect phase alone; response header values kept
 * (only those asked for), and how many of them one call may ask for. The
 * response body cap is VEIL_HTTP_BODY_MAX unless the caller sets one. */
#define VEIL_HTTP_CLIENT_TIMEOUT_MS         30000
#define VEIL_HTTP_CLIENT_CONNECT_TIMEOUT_MS 10000
#define VEIL_HTTP_CLIENT_HEADER_VALUE_MAX   4096
#define VEIL_HTTP_CLIENT_HEADERS_MAX        8

/* JOSE (src/jose, docs/jose.md): one JWK document (an RSA-8192 private key
 * is about 6.5 KiB; an "x5c" chain of VEIL_CERT_BUNDLE_MAX certificates more),
 * one decoded JOSE header (an EAR header carries a JWK and its chain), short
 * header strings ("alg", "kid", "crv"), a compact JWS or JWT, the plaintext
 * of one JWE (a stored KBS resource: VEIL_STORE_VALUE_MAX) and its flattened
 * serialization (base64url adds a third), and the largest JWT leeway. */
#define VEIL_JWK_MAX_BYTES     (64 * 1024)
#define VEIL_JOSE_HEADER_MAX   (64 * 1024)
#define VEIL_JOSE_STRING_MAX   256
#define VEIL_JWS_MAX_BYTES     (256 * 1024)
#define VEIL_JWE_PLAINTEXT_MAX (1024 * 1024)
#define VEIL_JWE_MAX_BYTES     (2 * 1024 * 1024)
#define VEIL_JWT_LEEWAY_MAX    300

/* Sealed models (docs/sealed-model.md): the largest plaintext (1 TiB holds
 * a 405B-parameter model in 16-bit weights), which also keeps the chunk
 * counter of the smallest chunk size within its 32 bits, and the threads
 * one open may use. */
#define VEIL_SEAL_PLAINTEXT_MAX (1ULL << 40)
#define VEIL_SEAL_THREADS_MAX   64

/* Receipts (include/veil/receipt.h, docs/receipt.md): the whole compact
 * JWS. Veil's own signer writes at most 1955 bytes (three strings of
 * VEIL_RECEIPT_TEXT_MAX bytes, each byte escaped, and 16-digit counts);
 * 4 KiB leaves room for another signer's \u escapes and fits one HTTP
 * header line comfortably. */
#define VEIL_RECEIPT_MAX_BYTES 4096

/* GGUF model files (src/gguf, docs/gguf.md). The bytes before the tensor
 * data (header, metadata and tensor table: a Llama 3 vocabulary with its
 * merges is ~10 MiB, a 262k-token Gemma vocabulary ~8 MiB), metadata pairs
 * (real files carry 20 to 60), bytes of one key (the spec allows 65535;
 * real keys are under 64), bytes of one string value (chat templates and
 * license texts run to tens of KiB), elements of one array (vocabularies
 * reach 262144 tokens and merge lists ~300k), tensors (a 70B Llama has 723;
 * mixture-of-experts files with merged experts a few thousand), bytes of a
 * tensor name (ggml's GGML_MAX_NAME, 64 with its NUL) and dimensions of a
 * tensor (ggml's GGML_MAX_DIMS). */
#define VEIL_GGUF_META_MAX_BYTES  (64 * 1024 * 1024)
#define VEIL_GGUF_KV_MAX          4096
#define VEIL_GGUF_KEY_MAX         256
#define VEIL_GGUF_STRING_MAX      (1024 * 1024)
#define VEIL_GGUF_ARRAY_MAX       (1024 * 1024)
#define VEIL_GGUF_TENSORS_MAX     65536
#define VEIL_GGUF_TENSOR_NAME_MAX 63
#define VEIL_GGUF_DIMS_MAX        4

/* veil-worker's OpenAI-compatible API (src/worker/openai.c,
 * docs/openai-api.md): the defaults of oai_limits. A request body (a long
 * conversation is tens of KiB; 1 MiB is the JSON cap anyway), messages in
 * one chat request, the most tokens one request may ask to generate and how
 * many when it does not say (a worker shares one engine among requests, so
 * one request must not hold it for long), stop sequences (OpenAI's own
 * limit of 4) and bytes of a model name. */
#define VEIL_WORKER_BODY_MAX           (1024 * 1024)
#define VEIL_WORKER_MESSAGES_MAX       256
#define VEIL_WORKER_MAX_TOKENS_CAP     4096
#define VEIL_WORKER_MAX_TOKENS_DEFAULT 256
#define VEIL_WORKER_STOP_MAX           4
#define VEIL_WORKER_MODEL_NAME_MAX     128

/* veil-worker's serving (src/worker/, docs/worker.md "Limits"): how long
 * the key fetch may retry at start-up, engine slots and waiting requests
 * (more waiting than a few slots' worth only adds latency: 429 tells the
 * client, or the gateway, to go elsewhere), prompt tokens, seconds one
 * request may hold a slot (queueing included), fresh evidence bundles a
 * second, bytes of one whole response, random padding per streamed chunk,
 * and the hex digits of an attestation nonce (8 to 64 bytes). */
#define VEIL_WORKER_KBS_DEADLINE_MS   (120 * 1000)
#define VEIL_WORKER_SLOTS_DEFAULT     2
#define VEIL_WORKER_QUEUE_DEFAULT     16
#define VEIL_WORKER_PROMPT_TOKENS_MAX 8192
#define VEIL_WORKER_REQUEST_TIMEOUT_S 300
#define VEIL_WORKER_ATTEST_PER_S      10
#define VEIL_WORKER_RESPONSE_MAX      (4 * 1024 * 1024)
#define VEIL_WORKER_PAD_MAX           255
#define VEIL_WORKER_NONCE_HEX_MIN     16
#define VEIL_WORKER_NONCE_HEX_MAX     128

/* veil-worker joining a gateway (src/worker/join.c, docs/worker.md
 * "Joining a gateway"): bytes of a gateway or advertised URL, the deadline
 * of one exchange with the gateway and of the leave at shutdown, the cap on
 * a gateway's answer (a few small JSON members; an error message at most),
 * the backoff after a network error or a 5xx (doubling from 1 s), the wait
 * after a refusal (the evidence will not change by itself: asking again at
 * once only loads the gateway), the bounds on the re-attestation interval
 * the gateway asks the worker to poll at, the longest Retry-After honoured,
 * and the bytes of a refusal message quoted in the log. */
#define VEIL_WORKER_GATEWAY_URL_MAX     512
#define VEIL_WORKER_JOIN_TIMEOUT_MS     10000
#define VEIL_WORKER_LEAVE_TIMEOUT_MS    2000
#define VEIL_WORKER_JOIN_BODY_MAX       (64 * 1024)
#define VEIL_WORKER_JOIN_BACKOFF_MIN_S  1
#define VEIL_WORKER_JOIN_BACKOFF_MAX_S  30
#define VEIL_WORKER_JOIN_REFUSED_WAIT_S 60
#define VEIL_WORKER_REATTEST_MIN_S      5
#define VEIL_WORKER_REATTEST_MAX_S      3600
#define VEIL_WORKER_RETRY_AFTER_MAX_S   300
#define VEIL_WORKER_JOIN_MESSAGE_MAX    200

/* The guest side of the KBS protocol (src/guest, docs/guest.md): the nonce
 * a broker hands out at /kbs/v0/auth, which the guest binds into its
 * evidence (Veil's and Trustee's are 44 base64 characters). */
#define VEIL_GUEST_KBS_NONCE_MAX 256

/* Transparency log (include/veil/tlog.h, docs/tlog.md): one entry (the
 * gateway logs evidence bundles: eight GPU reports with their certificate
 * chains and the CPU collateral are well under 1 MiB of JSON; 4 MiB leaves
 * room), the hashes of one proof (a proof in a tree of n entries has at
 * most ceil(log2(n)) + 1 of them, so 64 covers every tree of up to 2^63
 * entries), and one signed tree head (Veil writes about 400 bytes). */
#define VEIL_TLOG_ENTRY_MAX     (4 * 1024 * 1024)
#define VEIL_TLOG_PROOF_MAX     64
#define VEIL_TLOG_STH_MAX_BYTES 1024

/* veil-gateway (src/gateway, docs/gateway.md "Limits"): seconds between
 * re-attestations and between health checks of each worker, failed health
 * checks in a row before a worker is removed, the idle timeout of a
 * connection to a worker (a stream may pause while a long prompt is
 * evaluated), how long a join challenge stays open and how many may be
 * open at once, the workers the gateway holds, the models one plain worker
 * may list, a request body (a chunked OHTTP request frames its body in
 * chunks: room for a full worker body), the bytes of one worker answer
 * the gateway reads for metering (the worker's own cap), idle connections
 * kept per worker and loop thread, the bytes of a worker URL, the entries
 * one /v1/log/entries answer carries, and an evidence bundle (half a log
 * entry, which also holds its base64 form). */
#define VEIL_GW_REATTEST_S         60
#define VEIL_GW_HEALTH_S           5
#define VEIL_GW_HEALTH_FAILURES    3
#define VEIL_GW_UPSTREAM_TIMEOUT_S 120
#define VEIL_GW_JOIN_TTL_S         30
#define VEIL_GW_PENDING_MAX        64
#define VEIL_GW_WORKERS_MAX        256
#define VEIL_GW_MODELS_PER_WORKER  16
#define VEIL_GW_BODY_MAX           (2 * 1024 * 1024 + 4096)
#define VEIL_GW_RESPONSE_MAX       VEIL_WORKER_RESPONSE_MAX
#define VEIL_GW_IDLE_CONNS         64
#define VEIL_GW_URL_MAX            256
#define VEIL_GW_LOG_ENTRIES_MAX    256
#define VEIL_GW_EVIDENCE_MAX       (VEIL_TLOG_ENTRY_MAX / 2)

/* Gateway accounts (src/gateway/accounts*.c, docs/gateway-accounts.md):
 * bytes of an account name, of an API key ("vk_" and 43 base64url
 * characters: 32 random bytes) and of the Authorization header value the
 * gateway reads for it (the key, the scheme and spaces; anything longer is
 * refused before it is looked at), seconds a looked-up key stays cached
 * (so a revocation takes effect within that) and the slots of that cache,
 * bytes of a metered model name, the metering counters kept between two
 * flushes (one per account, model, tier and day; the gateway routes to a
 * few hundred models at most), and the tokens one charge may take (one
 * answer is capped far below it; the cap keeps the bucket arithmetic
 * inside 64 bits). */
#define VEIL_GW_ACCOUNT_NAME_MAX  64
#define VEIL_GW_KEY_LEN           46
#define VEIL_GW_AUTH_HEADER_MAX   256
#define VEIL_GW_AUTH_CACHE_S      5
#define VEIL_GW_AUTH_CACHE_SLOTS  1024
#define VEIL_GW_METER_MODEL_MAX   128
#define VEIL_GW_METER_KEYS_MAX    65536
#define VEIL_GW_CHARGE_TOKENS_MAX (1ULL << 32)

/* The gateway's log API (src/gateway/log_api.c, docs/gateway-log-api.md):
 * the bytes of one /v1/log/entries answer (past them it stops early and
 * the client asks again from where it stopped, RFC 6962 section 4.6; the
 * first entry always goes in, so an answer can reach about 5.6 MiB, one
 * VEIL_TLOG_ENTRY_MAX entry in base64url), and how long a signed tree head
 * is served again for the same size before a fresh one is signed. */
#define VEIL_GW_LOG_ANSWER_MAX (4 * 1024 * 1024)
#define VEIL_GW_STH_CACHE_MS   1000

/* The client core (src/client, docs/client.md). A client policy file (it
 * carries reference values, which can be large: as large as a
 * reference-value file or any JSON document Veil reads), the models it
 * names and the digests listed for one model, the engines it lists and
 * the bytes of an engine name, the default and the longest time a
 * verified worker is trusted before its evidence is fetched again, an
 * evidence bundle (the gateway's cap), and the bytes of an attested
 * application/ohttp-keys body. Server-sent events of a stream: the bytes
 * of one line and of one event's data (both well above what a worker
 * sends: one token's chunk, or the last chunk with usage and a receipt,
 * is under 5 KiB). */
#define VEIL_CLIENT_POLICY_MAX_BYTES (1024 * 1024)
#define VEIL_CLIENT_MODELS_MAX       256
#define VEIL_CLIENT_DIGESTS_MAX      64
#define VEIL_CLIENT_ENGINES_MAX      16
#define VEIL_CLIENT_ENGINE_MAX       63
#define VEIL_CLIENT_REVERIFY_DEFAULT 300
#define VEIL_CLIENT_REVERIFY_MAX     86400
#define VEIL_CLIENT_EVIDENCE_MAX     VEIL_GW_EVIDENCE_MAX
#define VEIL_CLIENT_OHTTP_KEYS_MAX   4096
#define VEIL_SSE_LINE_MAX            (256 * 1024)
#define VEIL_SSE_EVENT_MAX           (1024 * 1024)

/* The client's reading of a gateway's transparency log (src/client/log.c,
 * docs/audit.md): the bytes of a tree head answer (a head of at most
 * VEIL_TLOG_STH_MAX_BYTES and the key beside it), of a proof answer
 * (VEIL_TLOG_PROOF_MAX hashes), and of an entries answer for one entry (one
 * VEIL_TLOG_ENTRY_MAX entry in base64url is about 5.6 MiB). `veil audit`:
 * the most entries one run samples, the most entries after a listed
 * worker's index it reads to look for a removal, the bytes of the
 * attestation list (up to VEIL_GW_WORKERS_MAX workers with their
 * evidence) and of the state file, and how far a head's time may be from
 * the auditor's clock. */
#define VEIL_CLIENT_LOG_STH_ANSWER_MAX   (16 * 1024)
#define VEIL_CLIENT_LOG_PROOF_ANSWER_MAX (16 * 1024)
#define VEIL_CLIENT_LOG_ENTRY_ANSWER_MAX (6 * 1024 * 1024)
#define VEIL_AUDIT_SAMPLE_MAX            4096
#define VEIL_AUDIT_TAIL_MAX              1024
#define VEIL_AUDIT_LIST_MAX              (64 * 1024 * 1024)
#define VEIL_AUDIT_STATE_MAX             (8 * 1024)
#define VEIL_AUDIT_CLOCK_SKEW_S          300
/* `veil verify-receipt`: the bytes of a request or response file it hashes
 * (a long stream's events as saved included). */
#define VEIL_VERIFY_RECEIPT_FILE_MAX (64 * 1024 * 1024)

/* veil proxy (src/cli/proxy*.c, docs/proxy.md): the bytes of a request
 * body (the worker's own cap: a larger body could only be refused there),
 * the requests waiting for a forwarding thread (past it: 503 at once), the
 * most forwarding threads, and the bytes of the gateway's model list. */
#define VEIL_PROXY_BODY_MAX    VEIL_WORKER_BODY_MAX
#define VEIL_PROXY_QUEUE_MAX   256
#define VEIL_PROXY_THREADS_MAX 64
#define VEIL_PROXY_MODELS_MAX  (1024 * 1024)

/* `veil launch` (src/launch, docs/launch.md): the bytes of a launch spec,
 * the bytes of a guest name, of a path in it and of the kernel command
 * line (x86 Linux's COMMAND_LINE_SIZE), the GPUs passed through (an HGX
 * board has 8), the host port forwards, the vCPUs and MiB of memory
 * (sanity bounds, far above any host), the gate's own checks, the bytes of
 * a signed host report, the default and the longest age of one, and how
 * far in the future its time may be (clock skew between hosts). */
#define VEIL_LAUNCH_SPEC_MAX        (64 * 1024)
#define VEIL_LAUNCH_NAME_MAX        64
#define VEIL_LAUNCH_PATH_MAX        4096
#define VEIL_LAUNCH_CMDLINE_MAX     2048
#define VEIL_LAUNCH_GPUS_MAX        8 /* VEIL_HC_GPUS_MAX: what host-check examines */
#define VEIL_LAUNCH_FORWARDS_MAX    32
#define VEIL_LAUNCH_VCPUS_MAX       1024
#define VEIL_LAUNCH_MEMORY_MIB_MIN  256
#define VEIL_LAUNCH_MEMORY_MIB_MAX  (16ULL * 1024 * 1024)
#define VEIL_LAUNCH_CHECKS_MAX      128
#define VEIL_LAUNCH_REPORT_MAX      (256 * 1024)
#define VEIL_LAUNCH_MAX_AGE_DEFAULT 3600
#define VEIL_LAUNCH_MAX_AGE_MAX     (30 * 86400)
#define VEIL_LAUNCH_CLOCK_SKEW_S    300

/* `veil host-check` GPUs (src/hostcheck/gpu*.c, docs/host-check.md
 * "GPUs"): the NVIDIA GPUs checked one by one (an HGX board has 8; each
 * adds six checks to a report of VEIL_HC_CHECKS_MAX), the GPUs counted
 * (from sysfs and NVML together), the PCI devices listed under sysfs
 * before giving up (a large host has a few hundred), and the bytes read
 * from one sysfs attribute. */
#define VEIL_HC_GPUS_MAX        8
#define VEIL_HC_GPUS_SEEN_MAX   64
#define VEIL_HC_PCI_DEVICES_MAX 4096
#define VEIL_HC_SYSFS_ATTR_MAX  64

/* `veil host-check` (src/hostcheck, docs/host-check.md): the bytes read
 * from one small file under the sysfs, procfs or /dev root (a sysfs
 * attribute is at most a page; x86 Linux's COMMAND_LINE_SIZE is 2048),
 * the bytes of /proc/cpuinfo read to find the first processor's block
 * (one block is under 4 KiB; the rest of the file is not needed), the
 * entries of /sys/class/iommu listed, the bytes of a signed report (the
 * same as `veil launch` reads: 96 checks of full-length text stay under
 * it), the --min-gpus accepted, and how far in the future a report's time
 * may be when its age is checked (clock skew between hosts). */
#define VEIL_HC_FILE_MAX         4096
#define VEIL_HC_CPUINFO_MAX      (64 * 1024)
#define VEIL_HC_IOMMU_MAX        1024
#define VEIL_HC_REPORT_MAX_BYTES VEIL_LAUNCH_REPORT_MAX
#define VEIL_HC_MIN_GPUS_MAX     VEIL_HC_GPUS_MAX
#define VEIL_HC_CLOCK_SKEW_S     300

#endif
