import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const StewardStatus = defineSearchAttributeKey('StewardStatus', SearchAttributeType.KEYWORD);
export const StewardAgent = defineSearchAttributeKey('StewardAgent', SearchAttributeType.KEYWORD);
export const StewardPrincipal = defineSearchAttributeKey('StewardPrincipal', SearchAttributeType.KEYWORD);
export const StewardStep = defineSearchAttributeKey('StewardStep', SearchAttributeType.INT);
export const StewardSpendUsd = defineSearchAttributeKey('StewardSpendUsd', SearchAttributeType.DOUBLE);

/** Name and type of each, for registering them on a server (`--search-attribute Name=Type`). */
export const STEWARD_SEARCH_ATTRIBUTES: Record<string, 'Keyword' | 'Int' | 'Double'> = {
  StewardStatus: 'Keyword',
  StewardAgent: 'Keyword',
  StewardPrincipal: 'Keyword',
  StewardStep: 'Int',
  StewardSpendUsd: 'Double',
};
