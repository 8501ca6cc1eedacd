// Times the reference TypeScript sequential-thinking server recording thoughts in memory.
//
//   node benchmarks/node_reference.mjs PREFIX  < thoughts.json  > seconds.json
//
// PREFIX is a folder holding an npm install of @modelcontextprotocol/server-sequential-thinking
// (benchmarks/peers.py installs it into benchmarks/.node). stdin is a JSON array of tool
// arguments with the reference's camelCase keys; stdout is a JSON array of the seconds each
// call took, in order. Anything wrong goes to stderr with exit status 1.
//
// What one timed call is, per thought, exactly the work the published server does for a
// `tools/call` of `sequentialthinking` minus the JSON-RPC transport:
//
//   1. the SDK's own input parse: McpServer.prototype.validateToolInput(tool, args, name),
//      which runs the tool's zod schema (as registered by the package's dist/index.js)
//      through the SDK's safeParseAsync, coercing "3" to 3 and "true" to true;
//   2. SequentialThinkingServer.prototype.processThought(parsed) from the package's
//      dist/lib.js: pushes the thought onto thoughtHistory (and onto branches[branchId]),
//      with DISABLE_THOUGHT_LOGGING=true so nothing is formatted or written to stderr, and
//      builds the JSON text reply (JSON.stringify of the numbers, branches, history length).
//
// Not timed: the callback's JSON.parse of that reply into structuredContent, and the SDK's
// output-schema check, both of which the server also does before answering.
//
// The schema is not exported by the package: dist/index.js declares it inline, registers the
// tool on an McpServer and connects a stdio transport when imported. So this script patches
// McpServer.prototype.connect (of the very SDK module the package imports) to a no-op that
// keeps the instance, imports dist/index.js, and then uses that instance's registered tool,
// schema and validateToolInput unchanged. Nothing of the package is copied here.
//
// Warm-up: the whole list is recorded, untimed, into throwaway SequentialThinkingServer
// instances, one per round, for at least 2 rounds and 50,000 calls (V8 tiers the code up
// that long); the timed run records it into a fresh one, so the history grows from 0 to N
// during the timed run just as it does for the Python peers.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const PACKAGE = "@modelcontextprotocol/server-sequential-thinking";
const SDK = "@modelcontextprotocol/sdk";
const TOOL = "sequentialthinking";
// V8 needs ~20,000 calls before the timings settle (2 rounds of 1,000 left medians at 3-8 us);
// past that, runs still differ (medians of ~2.1 or ~3.4 us), whatever the warm-up.
const WARMUP_CALLS = 50000;

function fail(message) {
  process.stderr.write(`node_reference: ${message}\n`);
  process.exit(1);
}

// The package reads this in SequentialThinkingServer's constructor, so set it before any is made.
process.env.DISABLE_THOUGHT_LOGGING = "true";

const here = path.dirname(fileURLToPath(import.meta.url));
const prefix = path.resolve(process.argv[2] ?? path.join(here, ".node"));
const packageDir = path.join(prefix, "node_modules", ...PACKAGE.split("/"));
const indexJs = path.join(packageDir, "dist", "index.js");
const libJs = path.join(packageDir, "dist", "lib.js");
if (!fs.existsSync(indexJs) || !fs.existsSync(libJs)) {
  fail(`${PACKAGE} is not installed under ${prefix} (no dist/index.js and dist/lib.js)`);
}

// Find the SDK the way node resolves the package's own `import ... from "@modelcontextprotocol/sdk/..."`:
// the nearest node_modules folder above dist/index.js that holds it, then its "exports" map.
function findSdkModule(subpath) {
  for (let dir = path.dirname(indexJs); ; dir = path.dirname(dir)) {
    const sdkDir = path.join(dir, "node_modules", ...SDK.split("/"));
    const manifest = path.join(sdkDir, "package.json");
    if (fs.existsSync(manifest)) {
      const exportsMap = JSON.parse(fs.readFileSync(manifest, "utf8")).exports ?? {};
      const entry = exportsMap[`./${subpath}`] ?? exportsMap["./*"];
      let target = entry && typeof entry === "object" ? entry.import : entry;
      if (target && typeof target === "object") target = target.default;
      if (typeof target !== "string") fail(`cannot map ${SDK}/${subpath} through its exports`);
      return path.join(sdkDir, target.replace("*", subpath));
    }
    if (path.dirname(dir) === dir) fail(`${SDK} not found above ${indexJs}`);
  }
}

let thoughts;
try {
  thoughts = JSON.parse(fs.readFileSync(0, "utf8"));
} catch (error) {
  fail(`stdin is not JSON: ${error.message}`);
}
if (!Array.isArray(thoughts) || thoughts.length === 0) fail("stdin must be a non-empty JSON array");

const { McpServer } = await import(pathToFileURL(findSdkModule("server/mcp.js")).href);
let mcpServer;
const originalConnect = McpServer.prototype.connect;
McpServer.prototype.connect = async function connect() {
  mcpServer = this;
};
const consoleError = console.error; // keep the server's "running on stdio" line off stderr
console.error = () => {};
try {
  await import(pathToFileURL(indexJs).href); // registers the tool, then "connects"
  await new Promise((resolve) => setImmediate(resolve)); // lets runServer() finish
} finally {
  McpServer.prototype.connect = originalConnect;
  console.error = consoleError;
}
if (mcpServer === undefined) {
  fail(`${PACKAGE}'s dist/index.js did not connect an McpServer of ${SDK} as expected`);
}
const tool = mcpServer._registeredTools?.[TOOL];
if (!tool || typeof mcpServer.validateToolInput !== "function") {
  fail(`no registered tool "${TOOL}" or no McpServer.validateToolInput in this SDK version`);
}
const { SequentialThinkingServer } = await import(pathToFileURL(libJs).href);

async function record(server, args) {
  const parsed = await mcpServer.validateToolInput(tool, args, TOOL);
  return server.processThought(parsed);
}

function check(result, index) {
  if (result.isError) fail(`thought ${index + 1} failed: ${result.content[0].text}`);
}

try {
  const rounds = Math.max(2, Math.ceil(WARMUP_CALLS / thoughts.length));
  for (let round = 0; round < rounds; round += 1) {
    const server = new SequentialThinkingServer();
    for (let i = 0; i < thoughts.length; i += 1) check(await record(server, thoughts[i]), i);
  }

  const server = new SequentialThinkingServer();
  if (!server.disableThoughtLogging) fail("thought logging is still on");
  const seconds = new Array(thoughts.length);
  for (let i = 0; i < thoughts.length; i += 1) {
    const start = process.hrtime.bigint();
    const result = await record(server, thoughts[i]);
    const end = process.hrtime.bigint();
    seconds[i] = Number(end - start) / 1e9;
    check(result, i);
  }
  if (server.thoughtHistory.length !== thoughts.length) {
    fail(`recorded ${server.thoughtHistory.length} thoughts, expected ${thoughts.length}`);
  }
  process.stdout.write(JSON.stringify(seconds));
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
