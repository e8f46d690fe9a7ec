import { appendFile, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { eq, gt } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { auditEvents } from "@/lib/db/schema";
import { tamperWithAuditLog, setUpTestDatabase } from "@/lib/db/test-database-hooks";

import { recordAuditEvent, type AuditEvent } from "./audit";
import { computeAuditHash, inspectAuditChain } from "./hash";
import { pruneAuditLog } from "./prune";
import { checkWitnesses, readWitnesses, recordHeadWitness } from "./witness";

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
    // every link holds again.
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
});
