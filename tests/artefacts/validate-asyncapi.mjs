// Parse and validate an AsyncAPI document with the reference parser; exit 1 on any error.
// Usage: node validate-asyncapi.mjs FILE
import { readFile } from "node:fs/promises";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const file = process.argv[2];
if (!file) {
  console.error("usage: node validate-asyncapi.mjs FILE");
  process.exit(2);
}
const parser = new Parser();
const { document, diagnostics } = await parser.parse(await readFile(file, "utf8"));
const name = (severity) => DiagnosticSeverity[severity] ?? String(severity);
for (const d of diagnostics) {
  const where = (d.path ?? []).join(".") || "document";
  console.log(`${name(d.severity)} ${d.code} at ${where}: ${d.message}`);
}
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
if (!document || errors.length > 0) {
  console.error(`${file}: ${errors.length} error(s)`);
  process.exit(1);
}
const channels = document.channels().length;
const messages = document.allMessages().length;
console.log(`${file}: valid AsyncAPI ${document.version()} (${channels} channels, ${messages} messages)`);
