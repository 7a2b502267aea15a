// demo_openai.mjs - the demo's (scripts/demo.sh) request through `veil
// proxy` with the official openai npm client, unchanged but for its base
// URL: to the client the proxy is an OpenAI endpoint on loopback; the
// proxy verifies the worker, encrypts end to end and checks the receipt.
//
//   node demo_openai.mjs PROXY-URL MODEL PROMPT
//
// Asks once whole and once streamed, and prints for each the answer and
// the proxy's verification headers:
//   whole: TEXT / streamed: TEXT
//   x-veil-worker: ID / x-veil-verified: VALUE     (one pair per request)
// Exits 1 if a request fails.

import OpenAI from "openai";

const [base, model, prompt] = process.argv.slice(2);
if (!base || !model || !prompt) {
	console.error("usage: node demo_openai.mjs PROXY-URL MODEL PROMPT");
	process.exit(2);
}

// The proxy holds the gateway's API key; the client needs none of its own.
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: "unused", maxRetries: 0, timeout: 60000 });
const request = { model, messages: [{ role: "user", content: prompt }], max_tokens: 16, temperature: 0 };

function headers(response) {
	for (const h of ["x-veil-worker", "x-veil-verified"]) console.log(`${h}: ${response.headers.get(h) ?? "(none)"}`);
}

try {
	const { data, response } = await client.chat.completions.create(request).withResponse();
	console.log(`whole: ${JSON.stringify(data.choices[0].message.content)}`);
	headers(response);

	const { data: stream, response: sresp } = await client.chat.completions
		.create({ ...request, stream: true })
		.withResponse();
	let text = "";
	for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
	console.log(`streamed: ${JSON.stringify(text)}`);
	headers(sresp);
} catch (e) {
	console.error(`demo_openai: ${(e && e.message) || e}`);
	process.exit(1);
}
