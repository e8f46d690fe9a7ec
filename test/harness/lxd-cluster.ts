import { startTestDaemon, stopTestDaemon, type TestDaemon } from "./lxd-daemon";

export interface TestCluster {
  /** The member that formed the cluster, which runs the cluster database leader. */
  first: TestDaemon;
  /** The member that joined with a token. */
  second: TestDaemon;
  /** Stops the joined member, then the first, removing their directories. */
  stop(): Promise<void>;
}

export interface StartTestClusterOptions {
  /** Member names, which also name the daemons' LXD_DIRs. */
  names: [string, string];
  /** Ports of core.https_address on 127.0.0.1, which carry cluster traffic too. */
  ports: [number, number];
}

const ROOT_DISK_PROFILE = [
  "profiles:",
  "- name: default",
  "  devices:",
  "    root:",
  "      path: /",
  "      pool: default",
  "      type: disk",
];

/**
 * Forms a two-member LXD cluster of private daemons on 127.0.0.1: the
 * first is initialised with clustering on and a dir pool `default`, then
 * the second joins it with a token from `lxc cluster add`. Members left
 * behind by an earlier run under the same names are removed first.
 */
export async function startTestCluster(options: StartTestClusterOptions): Promise<TestCluster> {
  const [firstName, secondName] = options.names;
  const [firstPort, secondPort] = options.ports;
  // A member left from a crashed run must go before its cluster's first member.
  await stopTestDaemon(secondName);
  await stopTestDaemon(firstName);

  const first = await startTestDaemon({
    name: firstName,
    httpsPort: firstPort,
    preseed: formingPreseed(firstName, firstPort),
  });

  let second: TestDaemon;
  try {
    const token = await joinToken(first, secondName);
    second = await startTestDaemon({
      name: secondName,
      httpsPort: secondPort,
      preseed: joiningPreseed(secondName, secondPort, firstPort, token),
    });
  } catch (error) {
    await first.stop();
    throw error;
  }

  return {
    first,
    second,
    stop: async () => {
      await second.stop();
      await first.stop();
    },
  };
}

function formingPreseed(name: string, port: number): string {
  return [
    "config:",
    `  core.https_address: 127.0.0.1:${port}`,
    "cluster:",
    `  server_name: ${name}`,
    "  enabled: true",
    "networks: []",
    "storage_pools:",
    "- name: default",
    "  driver: dir",
    ...ROOT_DISK_PROFILE,
    "",
  ].join("\n");
}

// The joining member takes pools and profiles from the cluster; only the
// member-specific pool key `source` is given, empty for LXD's default path.
function joiningPreseed(name: string, port: number, clusterPort: number, token: string): string {
  return [
    "cluster:",
    "  enabled: true",
    `  server_name: ${name}`,
    `  server_address: 127.0.0.1:${port}`,
    `  cluster_address: 127.0.0.1:${clusterPort}`,
    `  cluster_token: ${token}`,
    "  member_config:",
    "  - entity: storage-pool",
    "    name: default",
    "    key: source",
    '    value: ""',
    "",
  ].join("\n");
}

/** Returns the join token that `lxc cluster add NAME` prints on its last line. */
async function joinToken(member: TestDaemon, joiningName: string): Promise<string> {
  const result = await member.lxc(["cluster", "add", joiningName]);
  const token = result.stdout.trim().split("\n").at(-1)?.trim();
  if (result.code !== 0 || !token) {
    throw new Error(
      `lxc cluster add ${joiningName} on ${member.name} failed: ${result.stderr.trim() || result.stdout.trim()}`,
    );
  }
  return token;
}
