import { pgSkip, testSchema } from './postgres-helpers.js';
import { REDIS_URL, redisSkip, testPrefix } from './redis-helpers.js';
import { deleteKeysUnder } from './redis-keys.js';

/** The state several instances share for one test: what they are started with, and how to remove it. */
export interface SharedState {
  /** REDIS_URL and/or DATABASE_URL, as the instances' environment has them. */
  env: { REDIS_URL?: string; DATABASE_URL?: string };
  /** The `store` section of their riskgate.yaml. */
  storeYaml: string;
  /** Whether every instance answers GET /v1/audit with every instance's entries. */
  sharedAudit: boolean;
  remove(): Promise<void>;
}

/** A way to run several instances behind a load balancer: the tests of several instances (and of kill -9) run on each. */
export interface Deployment {
  name: string;
  /**
   * Whether several instances can share its store; when not (SQLite, one process owns its data
   * directory), the kill -9 tests restart the killed instance on its own data instead.
   */
  shared: boolean;
  /** Why its tests are skipped; null when they run. */
  skip: string | null;
  /** Fresh shared state (a key prefix, a schema of the test file's database). */
  fresh(): Promise<SharedState>;
}

const storeYaml = (prefix: string) => `store:\n  failMode: closed\n  timeoutMs: 1000\n  redis:\n    keyPrefix: "${prefix}"\n`;

export const DEPLOYMENTS: Deployment[] = [
  {
    name: 'Redis',
    shared: true,
    skip: redisSkip,
    fresh: async () => {
      const prefix = testPrefix();
      return { env: { REDIS_URL }, storeYaml: storeYaml(prefix), sharedAudit: false, remove: async () => void (await deleteKeysUnder(REDIS_URL, prefix)) };
    },
  },
  {
    name: 'PostgreSQL',
    shared: true,
    skip: pgSkip,
    fresh: async () => {
      const schema = await testSchema();
      return { env: { DATABASE_URL: schema.url }, storeYaml: storeYaml('unused:'), sharedAudit: true, remove: schema.drop };
    },
  },
  {
    name: 'Redis + PostgreSQL',
    shared: true,
    skip: redisSkip ?? pgSkip,
    fresh: async () => {
      const prefix = testPrefix();
      const schema = await testSchema();
      return {
        env: { REDIS_URL, DATABASE_URL: schema.url },
        storeYaml: storeYaml(prefix),
        sharedAudit: true,
        remove: async () => {
          await deleteKeysUnder(REDIS_URL, prefix);
          await schema.drop();
        },
      };
    },
  },
  {
    // One process on its data directory: killed, it is started again on the same data.
    name: 'SQLite',
    shared: false,
    skip: null,
    fresh: async () => ({ env: {}, storeYaml: 'store:\n  failMode: closed\n  timeoutMs: 1000\n', sharedAudit: true, remove: async () => {} }),
  },
];

/** The environment of an instance: this process's, without its own store URLs, with the deployment's. */
export function instanceEnv(shared: SharedState, extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.REDIS_URL;
  delete env.DATABASE_URL;
  return { ...env, ...shared.env };
}
