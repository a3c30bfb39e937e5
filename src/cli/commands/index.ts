import type { Command } from '../command';
import { agents } from './agents';
import { audit } from './audit';
import { budget } from './budget';
import { keys } from './keys';
import { cancel } from './cancel';
import { approve, reject } from './decide';
import { dev } from './dev';
import { list } from './list';
import { models } from './models';
import { node } from './node';
import { policy } from './policy';
import { replay } from './replay';
import { run } from './run';
import { serve } from './serve';
import { status } from './status';
import { tokens } from './tokens';
import { tools } from './tools';
import { worker } from './worker';

/** Every command of the steward CLI, in the order the usage lists them. */
export const COMMANDS: readonly Command[] = [
  dev,
  serve,
  worker,
  node,
  run,
  approve,
  reject,
  cancel,
  status,
  list,
  audit,
  replay,
  policy,
  budget,
  keys,
  agents,
  tools,
  tokens,
  models,
];
