// A walk-through of the Digihjelpen API with a typed fetch client generated from openapi.json.
//
//   npm ci && npm run generate                 # writes generated/schema.d.ts
//   npx tsx walkthrough.ts http://127.0.0.1:8080 "$MUNICIPALITY_0301_TOKEN"
//
// It lists the municipalities page by page, reads Oslo (0301), updates Oslo's contact details
// as Oslo with If-Match, reads the change back, and shows a refusal (403) as a typed
// problem+json error.
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/schema";

type Problem = components["schemas"]["ProblemDetails"];

const [base, token] = process.argv.slice(2);
if (!base || !token) {
  console.error("usage: tsx walkthrough.ts <base url> <token of municipality 0301>");
  process.exit(2);
}

const api = createClient<paths>({ baseUrl: base });
const auth = { Authorization: `Bearer ${token}` };

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

// 1. Every municipality, 100 at a time, following next_cursor until it is null.
let cursor: string | undefined;
let pages = 0;
const numbers: string[] = [];
do {
  const { data, error } = await api.GET("/api/v1/municipalities", {
    params: { query: { limit: 100, cursor } },
  });
  check(data, `listing failed: ${error?.detail}`);
  numbers.push(...data.items.map((m) => m.number));
  cursor = data.next_cursor ?? undefined;
  pages += 1;
} while (cursor);
check(new Set(numbers).size === numbers.length, "a municipality came twice");
check(numbers.includes("0301"), "Oslo is missing");
console.log(`${numbers.length} municipalities in ${pages} pages`);

// 2. Oslo, with the ETag that a change must send back.
const read = await api.GET("/api/v1/municipalities/{number}", {
  params: { path: { number: "0301" } },
});
check(read.data, `reading 0301 failed: ${read.error?.detail}`);
const etag = read.response.headers.get("ETag");
check(etag === `"${read.data.version}"`, `ETag ${etag} is not the version`);
console.log(`read ${read.data.name}, version ${read.data.version}`);

// 3. Oslo updates its own contact details, sending If-Match.
const email = `digihjelp+${Date.now()}@oslo.kommune.no`;
const updated = await api.PATCH("/api/v1/municipalities/{number}", {
  params: { path: { number: "0301" }, header: { "If-Match": etag } },
  headers: auth,
  body: { digihjelp_email: email, digihjelp_phone: "21 80 21 80" },
});
check(updated.data, `the update failed: ${updated.error?.detail}`);
check(updated.data.version === read.data.version + 1, "the version did not move on");

// 4. The change, read back.
const again = await api.GET("/api/v1/municipalities/{number}", {
  params: { path: { number: "0301" } },
});
check(again.data?.digihjelp_email === email, "the new e-mail address was not stored");
console.log(`updated: ${again.data.digihjelp_email}, version ${again.data.version}`);

// 5. Oslo may not change Bergen (4601): a 403 with the problem+json fields, typed.
const bergen = await api.GET("/api/v1/municipalities/{number}", {
  params: { path: { number: "4601" } },
});
check(bergen.data, "reading 4601 failed");
const refused = await api.PATCH("/api/v1/municipalities/{number}", {
  params: { path: { number: "4601" }, header: { "If-Match": `"${bergen.data.version}"` } },
  headers: auth,
  body: { website: "https://example.org" },
});
check(refused.response.status === 403, `expected 403, got ${refused.response.status}`);
const problem: Problem | undefined = refused.error;
check(problem?.status === 403 && problem.type === "/problems/forbidden", "not a 403 problem");
check(
  refused.response.headers.get("Content-Type")?.startsWith("application/problem+json"),
  "the refusal is not problem+json",
);
console.log(`refused as expected: ${problem.status} ${problem.title}: ${problem.detail}`);
console.log("TypeScript walk-through: all steps passed");
