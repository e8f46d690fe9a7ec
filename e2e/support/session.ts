import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect, type Page } from "@playwright/test";
import { e2eAccounts } from "./accounts";

const execFileAsync = promisify(execFile);

export async function signIn(
  page: Page,
  account: { email: string; password: string } = e2eAccounts.admin,
) {
  await page.goto("/login");
  await page.getByLabel("Email").fill(account.email);
  await page.getByLabel("Password").fill(account.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/instances$/);
}

/** Runs the lxc CLI against the end-to-end test daemon, as an admin in a shell would. */
export async function lxc(...args: string[]) {
  const lxdDir = process.env.E2E_LXD_DIR;
  if (!lxdDir) throw new Error("E2E_LXD_DIR is unset; the global setup did not run");
  const running = execFileAsync("lxc", args, { env: { ...process.env, LXD_DIR: lxdDir } });
  // lxc init and launch read instance config from a stdin that is not a
  // terminal; an open pipe would keep them waiting.
  running.child.stdin?.end();
  return running;
}

export async function instanceStatus(name: string): Promise<string> {
  const { stdout } = await lxc("list", `^${name}$`, "--format", "csv", "--columns", "s");
  return stdout.trim();
}
