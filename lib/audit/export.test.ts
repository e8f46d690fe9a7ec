import { asc } from "drizzle-orm";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";

import { type Db } from "@/lib/db/client";
import { auditEvents } from "@/lib/db/schema";
import { setUpTestDatabase } from "@/lib/db/test-database-hooks";

import { recordAuditEvent, type AuditEvent } from "./audit";
import { csvColumns, csvField, streamAuditExport } from "./export";
import { computeAuditHash } from "./hash";

const ops = { id: "user-1", email: "ops@example.com" };

const testDb = setUpTestDatabase();
let db: Db;

beforeAll(() => {
  db = testDb();
});

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}

/** Parses RFC 4180 CSV: quoted fields may hold commas, CRLF and "" quotes. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let quoted = false;

  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') {
        quoted = false;
      } else {
        field += char;
      }
    } else if (char === '"') {
      quoted = true;
    } else if (char === ",") {
      record.push(field);
      field = "";
    } else if (char === "\r" && text[i + 1] === "\n") {
      record.push(field);
      records.push(record);
      record = [];
      field = "";
      i++;
    } else {
      field += char;
    }
  }
  expect(field).toBe("");
  expect(record).toEqual([]);
  return records;
}

async function allRows(): Promise<AuditEvent[]> {
  return db.select().from(auditEvents).orderBy(asc(auditEvents.id));
}

describe("csvField", () => {
  it.each([
    ["=SUM(A1:A9)", "'=SUM(A1:A9)"],
    ["+1-555-0100", "'+1-555-0100"],
    ["-2+3", "'-2+3"],
    ["@cmd", "'@cmd"],
    ["\tindented", "'\tindented"],
    ["\rstart", "\"'\rstart\""],
    ["plain text", "plain text"],
    ["a,b", '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ["two\r\nlines", '"two\r\nlines"'],
    ['=HYPERLINK("http://x","y")', `"'=HYPERLINK(""http://x"",""y"")"`],
  ])("formats %j as %j", (input, expected) => {
    expect(csvField(input)).toBe(expected);
  });

  it("leaves numbers and null as they are", () => {
    expect(csvField(-5)).toBe("-5");
    expect(csvField(null)).toBe("");
  });
});

describe("streamAuditExport", () => {
  const hostile = [
    "=cmd|' /C calc'!A0",
    "+SUM(1,2)",
    "-1+1",
    "@SUM(1)",
    "\t=1",
    "\r=1",
  ];

  beforeEach(async () => {
    for (const [i, text] of hostile.entries()) {
      await recordAuditEvent(db, {
        actor: { lxd: text },
        action: text,
        instance: text,
        host: "local",
        project: "default",
        params: { i, note: 'quote " and, comma\nnewline' },
        result: "failure",
        error: text,
      });
    }
    await recordAuditEvent(db, { actor: ops, action: "instance.start", result: "success", durationMs: 12 });
  });

  it("neutralizes formula cells in CSV", async () => {
    const records = parseCsv(await readAll(streamAuditExport(db, {}, "csv")));
    const [header, ...rows] = records;

    expect(header).toEqual([...csvColumns]);
    expect(rows).toHaveLength(hostile.length + 1);
    for (const record of rows) expect(record).toHaveLength(csvColumns.length);

    const column = (name: (typeof csvColumns)[number]) => csvColumns.indexOf(name);
    for (const [i, text] of hostile.entries()) {
      const record = rows[i]!;
      expect(record[column("action")]).toBe(`'${text}`);
      expect(record[column("instance")]).toBe(`'${text}`);
      expect(record[column("error")]).toBe(`'${text}`);
      expect(record[column("actor")]).toBe(`lxd:${text}`);
    }
    for (const record of rows) {
      for (const cell of record) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
    }
  });

  it("keeps CSV values that need quoting intact", async () => {
    const [, first] = parseCsv(await readAll(streamAuditExport(db, {}, "csv")));
    const params = first![csvColumns.indexOf("params")]!;

    expect(JSON.parse(params)).toEqual({ i: 0, note: 'quote " and, comma\nnewline' });
  });

  it("round-trips rows through JSON Lines", async () => {
    const text = await readAll(streamAuditExport(db, {}, "jsonl"));
    const lines = text.split("\n");

    expect(lines.at(-1)).toBe("");
    const parsed = lines.slice(0, -1).map((line) => {
      const value = JSON.parse(line) as AuditEvent & { at: string };
      return { ...value, at: new Date(value.at) };
    });
    const rows = await allRows();

    expect(parsed).toEqual(rows);
    for (const row of parsed) expect(computeAuditHash(row)).toBe(row.hash);
  });

  it("exports only the filtered rows", async () => {
    const text = await readAll(streamAuditExport(db, { result: "success" }, "jsonl"));
    const actions = text.trim().split("\n").map((line) => (JSON.parse(line) as AuditEvent).action);

    expect(actions).toEqual(["instance.start"]);
  });

  it("streams more rows than one batch in id order", async () => {
    const values = Array.from({ length: 2500 }, (_, i) => ({
      id: 100 + i,
      at: new Date(),
      phase: "event" as const,
      actor: "system:bulk",
      action: "bulk.row",
      result: "success" as const,
      hash: `h${i}`,
    }));
    await db.insert(auditEvents).values(values);

    const text = await readAll(streamAuditExport(db, { action: "bulk." }, "jsonl"));
    const ids = text.trim().split("\n").map((line) => (JSON.parse(line) as AuditEvent).id);

    expect(ids).toHaveLength(2500);
    expect(ids).toEqual(values.map((value) => value.id));
  });

  it("writes only the header for no matching rows", async () => {
    const text = await readAll(streamAuditExport(db, { actor: "nobody" }, "csv"));
    expect(text).toBe(`${csvColumns.join(",")}\r\n`);
  });
});
