export { agentRun } from './agentRun';
export { ledger } from './ledger';
