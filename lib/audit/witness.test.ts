import { execFileSync } from "node:child_process";
import { appendFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { eq, gt } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { auditEvents } from "@/lib/db/schema";
import { tamperWithAuditLog, setUpTestDatabase } from "@/lib/db/test-database-hooks";

import { recordAuditEvent, type AuditEvent } from "./audit";
import { computeAuditHash, inspectAuditChain } from "./hash";
import { pruneAuditLog } from "./prune";
import { auditWitnessPath, checkWitnesses, readWitnesses, recordHeadWitness, startAuditWitness } from "./witness";

const admin = { id: "user-1", email: "admin@example.com" };

const testDb = setUpTestDatabase();
let dir: string;
let file: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "audit-witness-"));
  file = path.join(dir, "witness.jsonl");
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function appendRows(count: number): Promise<AuditEvent[]> {
  const rows: AuditEvent[] = [];
  for (let i = 0; i < count; i++) {
    rows.push(await recordAuditEvent(testDb(), { actor: admin, action: "instance.start", params: { i }, result: "success" }));
  }
  return rows;
}


describe("audit witness", () => {
  it("records the head once per change, in a private file", async () => {
    const rows = await appendRows(3);

    const first = await recordHeadWitness(testDb(), file);
    const repeated = await recordHeadWitness(testDb(), file);
    const [next] = await appendRows(1);
    const second = await recordHeadWitness(testDb(), file);

    expect(first).toMatchObject({ kind: "head", id: rows[2]!.id, hash: rows[2]!.hash });
    expect(repeated).toBeNull();
    expect(second).toMatchObject({ kind: "head", id: next!.id, hash: next!.hash });
    expect((await readWitnesses(file)).entries.map((entry) => entry.id)).toEqual([rows[2]!.id, next!.id]);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it("accepts an untouched log", async () => {
    await appendRows(2);
    await recordHeadWitness(testDb(), file);
    await appendRows(2);

    const report = await checkWitnesses(testDb(), file);

    expect(report.entries).toBe(1);
    expect(report.problems).toEqual([]);
  });

  it("reports rows cut from the end, which the chain cannot show", async () => {
    const rows = await appendRows(5);
    await recordHeadWitness(testDb(), file);

    await tamperWithAuditLog(testDb(), (tx) => tx.delete(auditEvents).where(gt(auditEvents.id, rows[2]!.id)));

    expect((await inspectAuditChain(testDb())).firstBroken).toBeNull();
    const { problems } = await checkWitnesses(testDb(), file);
    expect(problems.map((problem) => [problem.kind, problem.id])).toEqual([["tail_removed", rows[4]!.id]]);
    expect(problems[0]!.message).toContain(`now ends at row ${rows[2]!.id}`);
  });

  it("reports a changed row whose chain was rebuilt", async () => {
    const rows = await appendRows(3);
    await recordHeadWitness(testDb(), file);

    // Change the middle row and recompute its hash and the next row's, so
    // every link matches again.
    const changed = { ...rows[1]!, actor: "someone-else@example.com" };
    changed.hash = computeAuditHash(changed);
    const relinked = { ...rows[2]!, prevHash: changed.hash };
    relinked.hash = computeAuditHash(relinked);
    await tamperWithAuditLog(testDb(), async (tx) => {
      await tx.update(auditEvents).set({ actor: changed.actor, hash: changed.hash }).where(eq(auditEvents.id, changed.id));
      await tx
        .update(auditEvents)
        .set({ prevHash: relinked.prevHash, hash: relinked.hash })
        .where(eq(auditEvents.id, relinked.id));
    });

    expect((await inspectAuditChain(testDb())).firstBroken).toBeNull();
    const { problems } = await checkWitnesses(testDb(), file);
    expect(problems.map((problem) => [problem.kind, problem.id])).toEqual([["row_rewritten", rows[2]!.id]]);
  });

  it("names both causes when cut rows' ids are reused", async () => {
    const rows = await appendRows(4);
    await recordHeadWitness(testDb(), file);

    await tamperWithAuditLog(testDb(), (tx) => tx.delete(auditEvents).where(gt(auditEvents.id, rows[1]!.id)));
    await appendRows(2);

    const { problems } = await checkWitnesses(testDb(), file);
    expect(problems.map((problem) => [problem.kind, problem.id])).toEqual([["row_rewritten", rows[3]!.id]]);
    expect(problems[0]!.message).toContain("new rows took their ids");
  });

  it("accepts rows removed by a witnessed prune", async () => {
    await appendRows(3);
    await recordHeadWitness(testDb(), file);
    await new Promise((resolve) => setTimeout(resolve, 5));

    const result = await pruneAuditLog(testDb(), { before: new Date(), actor: admin, witnessFile: file });

    expect(result.rows).toBe(3);
    const report = await checkWitnesses(testDb(), file);
    expect(report.entries).toBe(2);
    expect(report.problems).toEqual([]);
  });

  it("reports a prune that the witness file lacks", async () => {
    const rows = await appendRows(3);
    await recordHeadWitness(testDb(), file);
    await new Promise((resolve) => setTimeout(resolve, 5));

    // A prune written down elsewhere stands for a prune record that someone
    // added to the table directly.
    const result = await pruneAuditLog(testDb(), {
      before: new Date(),
      actor: admin,
      witnessFile: path.join(dir, "elsewhere.jsonl"),
    });

    expect((await inspectAuditChain(testDb())).firstBroken).toBeNull();
    const { problems } = await checkWitnesses(testDb(), file);
    expect(problems.map((problem) => [problem.kind, problem.id])).toEqual([
      ["row_missing", rows[2]!.id],
      ["unwitnessed_prune", result.record.id],
    ]);
  });

  it("counts lines it cannot read", async () => {
    await appendRows(1);
    await recordHeadWitness(testDb(), file);
    await appendFile(file, "not json\n");

    const report = await checkWitnesses(testDb(), file);

    expect(report.entries).toBe(1);
    expect(report.invalidLines).toBe(1);
    expect(await readFile(file, "utf8")).toContain("not json");
  });

  it("has no entries without a file", async () => {
    await appendRows(1);

    const report = await checkWitnesses(testDb(), path.join(dir, "missing.jsonl"));

    expect(report.entries).toBe(0);
    expect(report.problems).toEqual([]);
  });

  it("does not create a file again after it was removed", async () => {
    await appendRows(1);
    await recordHeadWitness(testDb(), file);
    await rm(file);
    await appendRows(1);

    await expect(recordHeadWitness(testDb(), file)).rejects.toThrow("was removed after this console wrote to it");
    const report = await checkWitnesses(testDb(), file);
    expect(report.exists).toBe(false);
    expect(report.rowsBeforeWitness).toBe(2);
    expect(report.writeError).toContain("Restore it from a backup");
  });

  it("leaves a missing file missing when asked", async () => {
    await appendRows(1);

    expect(await recordHeadWitness(testDb(), file, { createFile: false })).toBeNull();
    expect((await checkWitnesses(testDb(), file)).exists).toBe(false);
  });

  it("reports a folder that does not exist", async () => {
    await appendRows(1);
    const unwritable = path.join(dir, "no-such-folder", "witness.jsonl");

    await expect(recordHeadWitness(testDb(), unwritable)).rejects.toThrow();
    const report = await checkWitnesses(testDb(), unwritable);
    expect(report.writeError).toContain("does not exist. Create it");
  });

  it("rejects a folder or a FIFO without opening it", async () => {
    await appendRows(1);
    const folder = path.join(dir, "folder");
    await mkdir(folder);
    const fifo = path.join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);

    for (const target of [folder, fifo]) {
      await expect(checkWitnesses(testDb(), target)).rejects.toThrow("is not a regular file");
      await expect(recordHeadWitness(testDb(), target)).rejects.toThrow("is not a regular file");
    }
  });

  it("ends a cut-off line before the next entry", async () => {
    const [row] = await appendRows(1);
    await writeFile(file, '{"kind":"head","id":1', { mode: 0o600 });

    await recordHeadWitness(testDb(), file);

    const { entries, invalidLines } = await readWitnesses(file);
    expect(invalidLines).toBe(1);
    expect(entries.map((entry) => entry.id)).toEqual([row!.id]);
  });

  it("checks a file of many lines", async () => {
    const rows = await appendRows(2);
    const line = `${JSON.stringify({ kind: "head", id: rows[1]!.id, hash: rows[1]!.hash, recordedAt: new Date().toISOString() })}\n`;
    await writeFile(file, line.repeat(150_000), { mode: 0o600 });

    const report = await checkWitnesses(testDb(), file);

    expect(report.entries).toBe(150_000);
    expect(report.witnessedRows).toBe(1);
    expect(report.rowsBeforeWitness).toBe(1);
    expect(report.problems).toEqual([]);
  });

  it("ignores an empty path setting", () => {
    const saved = process.env.SANDBOX_CONSOLE_AUDIT_WITNESS;
    process.env.SANDBOX_CONSOLE_AUDIT_WITNESS = " ";
    try {
      expect(auditWitnessPath()).toMatch(/audit-witness\.jsonl$/);
    } finally {
      if (saved === undefined) delete process.env.SANDBOX_CONSOLE_AUDIT_WITNESS;
      else process.env.SANDBOX_CONSOLE_AUDIT_WITNESS = saved;
    }
  });

  it("witnesses a log soon after its first row", async () => {
    const stop = startAuditWitness(testDb(), { file, intervalMs: 60_000, firstIntervalMs: 50 });
    try {
      const [row] = await appendRows(1);

      let entries: Awaited<ReturnType<typeof readWitnesses>>["entries"] = [];
      for (let attempt = 0; attempt < 100 && entries.length === 0; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        entries = (await readWitnesses(file)).entries;
      }
      expect(entries.map((entry) => entry.id)).toEqual([row!.id]);
    } finally {
      await stop();
    }
  });
});
