// harness.mjs - what the tests/interop programs share: check(), which runs
// one check and prints the "ok NAME" or "FAIL NAME: why" line that
// tests/cli/lib/node.bash counts; finish() and crashed() for the end of a
// run; and LinePeer, a Veil peer program (jose_peer, ohttp_peer) driven a
// line at a time over its standard input and output.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { basename } from "node:path";
import { createInterface } from "node:readline";

// How long a peer may take to answer one line.
const TIMEOUT_MS = 20000;

let passed = 0;
let failed = 0;

// Runs fn; a throw or a rejected promise fails the check, with its message
// on the one FAIL line.
export async function check(name, fn) {
	try {
		await fn();
		passed++;
		console.log(`ok ${name}`);
	} catch (e) {
		failed++;
		const why = String((e && e.message) || e).replace(/\s*\n\s*/g, " ");
		console.log(`FAIL ${name}: ${why}`);
	}
}

// The "#" summary line, then exit: 1 if any check failed.
export function finish() {
	console.log(`# ${passed} passed, ${failed} failed`);
	process.exit(failed ? 1 : 0);
}

// For main().catch(): a throw outside every check still prints a FAIL line.
export function crashed(program) {
	return (e) => {
		console.log(`FAIL ${program} crashed: ${e.stack || e}`);
		process.exit(1);
	};
}

// One peer process; its output lines are queued as they come.
export class LinePeer {
	constructor(path, args = []) {
		this.name = basename(path);
		this.proc = spawn(path, args, { stdio: ["pipe", "pipe", "pipe"] });
		this.lines = [];
		this.stderr = "";
		this.proc.stderr.on("data", (d) => (this.stderr += d));
		this.proc.stdin.on("error", () => {}); // the peer may exit first
		createInterface({ input: this.proc.stdout }).on("line", (l) => {
			this.lines.push(l);
			this.wake?.();
		});
		this.exited = new Promise((resolve) => this.proc.on("close", (code, signal) => {
			this.done = true;
			this.wake?.();
			resolve(code ?? signal);
		}));
	}

	write(line) {
		this.proc.stdin.write(`${line}\n`);
	}

	// The next line, or null once the peer has exited.
	async line() {
		const deadline = Date.now() + TIMEOUT_MS;
		while (!this.lines.length && !this.done) {
			await new Promise((resolve) => {
				this.wake = resolve;
				setTimeout(resolve, Math.max(1, deadline - Date.now())).unref();
			});
			if (Date.now() >= deadline && !this.lines.length)
				throw new Error(`${this.name} timed out${this.why()}`);
		}
		return this.lines.length ? this.lines.shift() : null;
	}

	// Ends the input and returns the exit status.
	async close() {
		this.proc.stdin.end();
		return this.exited;
	}

	// Ends the input: after a clean exchange the peer must exit 0 with
	// nothing more to say (a sanitizer report makes it exit nonzero).
	async closeClean() {
		const status = await this.close();
		assert.equal(status, 0, `${this.name} exited ${status}${this.why()}`);
		assert.equal(this.lines.length, 0, `more output: ${this.lines.join(" | ").slice(0, 300)}`);
	}

	why() {
		return this.stderr ? `; stderr: ${this.stderr.slice(0, 2000)}` : "";
	}
}
