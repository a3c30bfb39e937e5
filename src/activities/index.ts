import type { Logger } from 'pino';
import type { ModelProvider } from '../providers/types';
import type { BlobStore } from '../runtime/blobStore';
import type { ToolRegistry } from '../tools/registry';
import { createModelActivity } from './model';
import { createToolActivity } from './tool';

export interface ActivityDeps {
  providers: Map<string, ModelProvider>;
  tools: ToolRegistry;
  blobs: BlobStore;
  logger: Logger;
}

/** Every side effect Steward performs, built from its dependencies so tests inject real local servers. */
export function createActivities(deps: ActivityDeps) {
  return {
    callModel: createModelActivity(deps),
    runTool: createToolActivity(deps),
  };
}

export type StewardActivities = ReturnType<typeof createActivities>;
