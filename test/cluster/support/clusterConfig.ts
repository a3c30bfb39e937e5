import { join } from 'node:path';
import type { StewardConfigInput } from '../../../src/config/schema';

/** Preloaded into every Steward process of the test cluster: the test agents and tools. */
export const HOOKS = join(__dirname, 'stewardTestHooks.js');

/**
 * What the cluster's Steward processes run with, besides what the cluster adds (server, nodes,
 * stores): no model is called by the test agents (plans only), so the one route points nowhere;
 * the test tools may run without an approval.
 */
export const CLUSTER_TEST_CONFIG: StewardConfigInput = {
  providers: { offline: { kind: 'openai-compatible', baseURL: 'http://127.0.0.1:9/v1' } },
  models: [{ id: 'offline', provider: 'offline', model: 'none', trust: 'local' }],
  policy: {
    rules: [
      {
        id: 'cluster-test/allow',
        tools: ['cluster_charge', 'cluster_compute', 'cluster_blob', 'cluster_wait'],
        decision: 'allow',
      },
    ],
  },
};
