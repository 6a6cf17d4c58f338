/** The hover on the patroni block's maxConnections: leader budget, members table, worst failover. */
import type { PoolCapacitySettings } from '../../../../shared/settings';
import { serverArithmetic } from '../capacity/budgetFindings';
import type { PoolOutcomes } from '../capacity/rules';
import { unverifiedHoverLine } from '../capacity/unverifiedPools';
import type { LoadedConfig } from '../config/loadedConfig';
import type { ResolvedPool } from '../config/poolConfig';
import { failoverSentence, judgeCluster, memberTableLines } from './patroniRules';

const VERDICT_WORDS = { ok: 'fits', 'low-headroom': 'fits, inside the headroom', exceeds: 'does not fit' };

export function patroniHoverLines(
  config: LoadedConfig,
  pool: ResolvedPool,
  outcomes: PoolOutcomes,
  settings: Pick<PoolCapacitySettings, 'headroomThreshold'>,
  connectAllowed: boolean,
): string[] {
  if (!connectAllowed)
    return ['Not connected: this workspace is not trusted, so Pool Capacity reads no cluster.'];
  const judgement = judgeCluster(config, outcomes, settings);
  const lines: string[] = [];
  if (!judgement) return [unverifiedHoverLine(config, pool, outcomes) ?? 'Reading the cluster…'];
  lines.push(
    `Patroni cluster read from ${judgement.view.api}; dynamic config max_connections ${judgement.view.configuredMaxConnections}`,
  );
  const leader = judgement.leader;
  if (leader?.budget)
    lines.push(
      '',
      `- Leader ${leader.label}: ${serverArithmetic(leader.budget)} — patroni ${judgement.pool.poolSize} ${VERDICT_WORDS[leader.budget.verdict]}; ${leader.budget.headroomSlots} must stay free as headroom`,
    );
  const unverified = unverifiedHoverLine(config, pool, outcomes);
  if (unverified) lines.push('', unverified);
  lines.push('', `- ${failoverSentence(judgement)}`, '', ...memberTableLines(judgement));
  return lines;
}
