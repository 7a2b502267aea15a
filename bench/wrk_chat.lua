-- wrk_chat.lua - the request of the gateway benchmark (bench/bench_gateway.sh):
-- every request POSTs the same small chat completion, so the worker in
-- benchmark mode (veil-worker --bench-reply) answers it at once and what is
-- measured is the path in front of it.
--
-- Environment (read once per wrk thread):
--   VEIL_MODEL         the model name (default "chat")
--   VEIL_STREAM        "1": ask for a stream (SSE, chunked) instead of one body
--   VEIL_CONFIDENTIAL  sent as X-Veil-Confidential (the gateway's "required")
--   VEIL_API_KEY       sent as "Authorization: Bearer ..." when set
--
-- At the end it prints one line the benchmark parses, in microseconds:
--   VEIL-WRK requests=N seconds=S rps=R p50_us=A p90_us=B p99_us=C non2xx=N errors=N
-- (wrk's own --latency table is printed too, for a reader; this line takes
-- the same histogram and avoids parsing units.)

local model = os.getenv("VEIL_MODEL") or "chat"
local stream = os.getenv("VEIL_STREAM") == "1"

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"' .. model .. '","messages":[{"role":"user","content":"hi"}],' ..
	'"max_tokens":4' .. (stream and ',"stream":true' or '') .. '}'

local confidential = os.getenv("VEIL_CONFIDENTIAL")
if confidential and confidential ~= "" then
	wrk.headers["X-Veil-Confidential"] = confidential
end
local key = os.getenv("VEIL_API_KEY")
if key and key ~= "" then
	wrk.headers["Authorization"] = "Bearer " .. key
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		"VEIL-WRK requests=%d seconds=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d non2xx=%d errors=%d\n",
		summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
		latency:percentile(50), latency:percentile(90), latency:percentile(99),
		e.status, e.connect + e.read + e.write + e.timeout))
end
