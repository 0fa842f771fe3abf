#!/usr/bin/env node
// Writes protocol.d.ts (the wire types of the qubitz WebSocket API) from the AsyncAPI 3 document
// the service serves at /asyncapi.json: one interface per schema, the events of each endpoint in
// a namespace named after it (`research.StatusEvent`, ...) joined in a union discriminated by
// `type`, and maps from endpoint to request and event types.
//
//   node scripts/generate-types.mjs http://127.0.0.1:8008/asyncapi.json [out.d.ts]
//   node scripts/generate-types.mjs asyncapi.json --check       exit 1 if protocol.d.ts differs
//
// Only the JSON Schema that pydantic emits is handled (type, const, enum, anyOf, $ref, items,
// properties, additionalProperties, patternProperties, default, description); anything else
// is an error, so a new construct in the document cannot be silently typed as `unknown`.

import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const HERE = fileURLToPath(new URL("..", import.meta.url));
const DEFAULT_OUT = `${HERE}protocol.d.ts`;
// Keys that carry no type information here (validation limits, titles).
const IGNORED = new Set([
  "title", "maxLength", "minLength", "pattern", "minimum", "maximum", "exclusiveMinimum",
  "exclusiveMaximum", "minItems", "maxItems", "format", "examples",
]);
const HANDLED = new Set([
  "type", "const", "enum", "anyOf", "$ref", "items", "properties", "required",
  "additionalProperties", "patternProperties", "default", "description",
]);

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function refName(ref) {
  const prefix = "#/components/schemas/";
  if (!ref.startsWith(prefix)) throw new Error(`unsupported $ref ${ref}`);
  return ref.slice(prefix.length);
}

function literal(value) {
  return JSON.stringify(value);
}

function comment(lines, indent) {
  const text = lines.filter(Boolean).join("\n").trim();
  if (!text) return "";
  const body = text.split("\n").map((l) => l.replace(/\*\//g, "*\\/"));
  if (body.length === 1) return `${indent}/** ${body[0]} */\n`;
  return `${indent}/**\n${body.map((l) => `${indent} * ${l}`).join("\n")}\n${indent} */\n`;
}

class Generator {
  constructor(doc) {
    this.doc = doc;
    this.schemas = doc.components?.schemas ?? {};
  }

  /** A TypeScript name for a component schema, from inside namespace `scope` (or top level). */
  nameOf(component, scope) {
    const dot = component.indexOf(".");
    if (dot === -1) return component;
    const [space, local] = [component.slice(0, dot), component.slice(dot + 1)];
    return space === scope ? local : `${space}.${local}`;
  }

  check(schema, where) {
    for (const key of Object.keys(schema)) {
      if (!HANDLED.has(key) && !IGNORED.has(key)) {
        throw new Error(`${where}: JSON Schema keyword ${JSON.stringify(key)} is not handled`);
      }
    }
  }

  type(schema, where, scope, indent) {
    if (schema === true || (schema && Object.keys(schema).length === 0)) return "unknown";
    this.check(schema, where);
    if (schema.$ref) return this.nameOf(refName(schema.$ref), scope);
    if ("const" in schema) return literal(schema.const);
    if (schema.enum) return schema.enum.map(literal).join(" | ");
    if (schema.anyOf) {
      return schema.anyOf.map((s, i) => this.type(s, `${where}.anyOf[${i}]`, scope, indent)).join(" | ");
    }
    switch (schema.type) {
      case "string":
        return "string";
      case "integer":
      case "number":
        return "number";
      case "boolean":
        return "boolean";
      case "null":
        return "null";
      case "array": {
        const item = schema.items ? this.type(schema.items, `${where}[]`, scope, indent) : "unknown";
        return /^[\w.$"]+$/.test(item) ? `${item}[]` : `Array<${item}>`;
      }
      case "object":
        return this.object(schema, where, scope, indent, false);
      default:
        throw new Error(`${where}: unsupported schema type ${JSON.stringify(schema.type)}`);
    }
  }

  /** An object type literal. `event`: `type` is always sent, so it is required. */
  object(schema, where, scope, indent, event) {
    const props = schema.properties ?? {};
    const required = new Set(schema.required ?? []);
    if (event) required.add("type");
    const inner = indent + "  ";
    const lines = [];
    for (const [name, sub] of Object.entries(props)) {
      const doc = [sub.description];
      const defaulted = "default" in sub && sub.default !== null;
      if (defaulted && !("const" in sub)) doc.push(`Default: ${literal(sub.default)}.`);
      const key = IDENT.test(name) ? name : literal(name);
      // The service sends every field that is not null, so a defaulted field is always present.
      const opt = required.has(name) || (event && defaulted) ? "" : "?";
      lines.push(
        comment(doc, inner) + `${inner}${key}${opt}: ${this.type(sub, `${where}.${name}`, scope, inner)};`,
      );
    }
    const values = [];
    if (schema.additionalProperties && schema.additionalProperties !== true) {
      values.push(this.type(schema.additionalProperties, `${where}[*]`, scope, inner));
    } else if (schema.additionalProperties === true) {
      values.push("unknown");
    }
    for (const [pattern, sub] of Object.entries(schema.patternProperties ?? {})) {
      values.push(this.type(sub, `${where}[${pattern}]`, scope, inner));
    }
    if (!lines.length && !values.length && schema.additionalProperties !== false) {
      return "Record<string, unknown>";
    }
    if (values.length) {
      const patterns = Object.keys(schema.patternProperties ?? {});
      const note = patterns.length ? comment([`Keys match ${patterns.join(", ")}.`], inner) : "";
      lines.push(`${note}${inner}[key: string]: ${[...new Set(values)].join(" | ")};`);
    }
    if (!lines.length) return "Record<string, never>";
    return `{\n${lines.join("\n")}\n${indent}}`;
  }

  declaration(component, scope, indent, event) {
    const schema = this.schemas[component];
    const where = component;
    this.check(schema, where);
    const name = this.nameOf(component, scope);
    const head = comment([schema.description], indent);
    if (schema.type === "object" && !schema.anyOf) {
      return `${head}${indent}export interface ${name} ${this.object(schema, where, scope, indent, event)}\n`;
    }
    return `${head}${indent}export type ${name} = ${this.type(schema, where, scope, indent)};\n`;
  }

  /** Per endpoint: its request schema (sent, not shared by all channels) and its events. */
  endpoints() {
    const channels = Object.entries(this.doc.channels ?? {});
    const counts = new Map();
    for (const [, channel] of channels) {
      for (const key of Object.keys(channel.messages ?? {})) counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const out = [];
    for (const [name, channel] of channels) {
      const received = new Set(
        (this.doc.operations?.[`${name}.events`]?.messages ?? []).map((m) => m.$ref.split("/").pop()),
      );
      const sent = (this.doc.operations?.[`${name}.request`]?.messages ?? []).map((m) => m.$ref.split("/").pop());
      const request = sent.filter((key) => counts.get(key) === 1);
      if (request.length !== 1) throw new Error(`channel ${name}: expected one request message, got ${request}`);
      const schemaOf = (key) => refName(this.doc.components.messages[key].payload.$ref);
      out.push({
        name,
        address: channel.address,
        summary: channel.summary,
        request: schemaOf(request[0]),
        events: Object.keys(channel.messages).filter((k) => received.has(k)).map(schemaOf),
      });
    }
    return out;
  }

  render(source) {
    const endpoints = this.endpoints();
    const scoped = new Set(endpoints.flatMap((e) => e.events));
    const shared = Object.keys(this.schemas).filter((k) => !scoped.has(k));
    for (const key of scoped) {
      if (!key.includes(".")) throw new Error(`event schema ${key} is not scoped by endpoint`);
      if (shared.includes(this.nameOf(key, key.split(".")[0]))) {
        throw new Error(`event schema ${key} would shadow the shared schema of the same name`);
      }
    }
    const parts = [
      "// The qubitz WebSocket API's messages, generated from its AsyncAPI document; do not edit.\n" +
        `// Source: ${source} (${this.doc.info?.title ?? "?"} ${this.doc.info?.version ?? "?"}, AsyncAPI ${this.doc.asyncapi}).\n` +
        "// Regenerate: npm run generate-types -- <base url>/asyncapi.json\n",
    ];
    for (const key of shared) parts.push(this.declaration(key, null, "", false));
    for (const ep of endpoints) {
      const lines = [comment([`\`${ep.address}\`: ${ep.summary}`], "") + `export declare namespace ${ep.name} {`];
      for (const key of ep.events) lines.push(this.declaration(key, ep.name, "  ", true).trimEnd());
      lines.push(comment([`Every event \`${ep.address}\` sends, discriminated by \`type\`.`], "  ").trimEnd());
      lines.push(`  export type Event =\n${ep.events.map((k) => `    | ${this.nameOf(k, ep.name)}`).join("\n")};`);
      lines.push(`  export type Request = ${ep.request};`);
      lines.push("}\n");
      parts.push(lines.join("\n"));
    }
    const map = (pick) => endpoints.map((ep) => `  ${ep.name}: ${pick(ep)};`).join("\n");
    parts.push(`/** The request each endpoint takes. */\nexport interface Requests {\n${map((ep) => ep.request)}\n}\n`);
    parts.push(`/** The events each endpoint sends. */\nexport interface Events {\n${map((ep) => `${ep.name}.Event`)}\n}\n`);
    parts.push("export type Endpoint = keyof Requests;\n");
    parts.push("/** Any event of any endpoint. */\nexport type AnyEvent = Events[Endpoint];\n");
    return parts.join("\n");
  }
}

async function load(source) {
  if (/^https?:\/\//.test(source)) {
    const response = await fetch(source);
    if (!response.ok) throw new Error(`${source}: HTTP ${response.status}`);
    return response.json();
  }
  return JSON.parse(await readFile(source, "utf8"));
}

export async function generate(source) {
  const doc = await load(source);
  // The header names the document, not where it was read from (ports differ per run).
  return new Generator(doc).render("the service's /asyncapi.json");
}

async function main(argv) {
  const args = argv.filter((a) => a !== "--check");
  const check = args.length !== argv.length;
  const [source, out = DEFAULT_OUT] = args;
  if (!source) {
    console.error("usage: generate-types.mjs <asyncapi.json url or file> [out.d.ts] [--check]");
    return 2;
  }
  const text = await generate(source);
  if (check) {
    const current = await readFile(out, "utf8").catch(() => "");
    if (current === text) return 0;
    const a = current.split("\n");
    const b = text.split("\n");
    const line = a.findIndex((l, i) => l !== b[i]);
    console.error(`${out} is out of date with ${source} (first difference at line ${line + 1}):`);
    console.error(`  committed: ${a[line] ?? "(end of file)"}\n  generated: ${b[line] ?? "(end of file)"}`);
    console.error("Regenerate it: npm run generate-types -- <base url>/asyncapi.json");
    return 1;
  }
  await writeFile(out, text);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err.message);
      process.exit(2);
    },
  );
}
