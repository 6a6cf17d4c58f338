/**
 * The capacity report's Patroni section: the members, the leader's budget and the capacity after
 * the worst single failover, from judgeCluster (the same judgement as the diagnostics). Pure.
 */
import type { PoolCapacitySettings } from '../../../../shared/settings';
import { serverArithmetic } from '../capacity/budgetFindings';
import type { PoolOutcomes } from '../capacity/rules';
import type { ServerBudget } from '../capacity/serverBudget';
import type { LoadedConfig } from '../config/loadedConfig';
import { serverKey } from '../connection/connectionTarget';
import {
  type ClusterJudgement,
  clusterJson,
  clusterUnverified,
  failoverSentence,
  judgeCluster,
} from './patroniRules';

export interface ClusterCapacity {
  /** FAIL when the pool does not fit on the leader or after the worst single failover. */
  status: 'OK' | 'WARN' | 'FAIL' | 'NOT VERIFIED';
  /** Why not verified (REST API unreachable, no leader, a member not read). */
  unverified?: string;
  /** Report lines by their stable first word (Patroni, Member, Failover, Restart, Error); the report pads the word. */
  lines: { key: string; text: string }[];
  /** Members and the failover verdict, as `check --json` prints them. */
  detail: unknown;
  /** The sentence on the worst single failover (the report's Failover line). */
  failover?: string;
  /** Each member with the pool's budget there (the dashboard's member bars); empty until the REST API answered. */
  members: MemberCapacity[];
  /** Connections the leader can give the pool now, and the worst promotable member after a failover. */
  leaderAttainable?: number;
  afterFailoverAttainable?: number;
}

/** One member of the cluster and the patroni pool's budget on it, from judgeCluster. */
export interface MemberCapacity {
  name: string;
  /** "pg1 (127.0.0.1:58011)" */
  label: string;
  /** host:port of its PostgreSQL. */
  serverKey: string;
  /** Patroni's role and state: leader, replica, ...; running, streaming, ... */
  role: string;
  state: string;
  nofailover: boolean;
  /** Patroni may promote it (a running replica without nofailover). */
  promotable: boolean;
  /** The promotable member with the least room for the pool: the worst single failover. */
  worstFailover: boolean;
  /** The pool on this member's live facts; absent when it could not be read. */
  budget?: ServerBudget;
  /** Why it could not be read (password-free). */
  unread?: string;
}

function memberCapacities(judgement: ClusterJudgement): MemberCapacity[] {
  return judgement.members.map((m) => ({
    name: m.member.name,
    label: m.label,
    serverKey: serverKey(m.member),
    role: m.member.role,
    state: m.member.state,
    nofailover: m.member.nofailover,
    promotable: m.promotable,
    worstFailover: judgement.failover.worst === m,
    ...(m.budget ? { budget: m.budget } : {}),
    ...(m.budget ? {} : { unread: m.probe && !m.probe.ok ? m.probe.failure.message : 'not read yet' }),
  }));
}

export function clusterCapacity(
  config: LoadedConfig,
  outcomes: PoolOutcomes,
  settings: Pick<PoolCapacitySettings, 'headroomThreshold'>,
): ClusterCapacity | undefined {
  if (!outcomes.cluster) return undefined;
  const judgement = judgeCluster(config, outcomes, settings);
  const unverified = clusterUnverified(config, outcomes);
  const detail = clusterJson(judgement, outcomes);
  const lines: ClusterCapacity['lines'] = [];
  if (judgement) {
    lines.push({
      key: 'Patroni',
      text: `cluster read from ${judgement.view.api}; dynamic config max_connections ${judgement.view.configuredMaxConnections}; pool patroni ${judgement.pool.poolSize}`,
    });
    for (const m of judgement.members) {
      const facts = m.probe?.ok ? m.probe.facts : undefined;
      const lag =
        m.member.lag === undefined ? '' : `, lag ${m.member.lag}${m.member.lag === 'unknown' ? '' : ' B'}`;
      const tags = [m.member.nofailover ? 'nofailover' : '', m.member.pendingRestart ? 'pending restart' : '']
        .filter(Boolean)
        .join(', ');
      const budget = m.budget
        ? `${serverArithmetic(m.budget)} -> ${m.budget.verdict === 'exceeds' ? 'does not fit' : m.budget.verdict === 'low-headroom' ? 'fits, inside the headroom' : 'fits'}`
        : m.probe && !m.probe.ok
          ? `not read: ${m.probe.failure.message}`
          : 'not read';
      lines.push({
        key: 'Member',
        text: `${m.label} ${m.member.role}/${m.member.state}${lag}${tags ? ` [${tags}]` : ''}${facts ? `, PostgreSQL ${facts.serverVersion}` : ''}: ${budget}`,
      });
    }
    lines.push({ key: 'Failover', text: failoverSentence(judgement) });
    const pending = judgement.pendingRestart;
    if (pending)
      lines.push({
        key: 'Restart',
        text: `pending: dynamic config max_connections ${pending.configured}; ${pending.running.map((r) => `${r.name} runs ${r.maxConnections}`).join(', ')}${
          pending.leaderAfter
            ? `; after the restart patroni ${judgement.pool.poolSize} ${pending.leaderAfter.verdict === 'exceeds' ? '>' : 'of'} ${pending.leaderAfter.free} free on the leader`
            : ''
        }`,
      });
  }
  if (unverified) lines.push({ key: 'Error', text: `${unverified.reason}: ${unverified.message}` });
  const leaderVerdict = judgement?.leader?.budget?.verdict;
  const status: ClusterCapacity['status'] = unverified
    ? 'NOT VERIFIED'
    : leaderVerdict === 'exceeds' || judgement?.failover.verdict === 'fails'
      ? 'FAIL'
      : leaderVerdict === 'low-headroom' || judgement?.pendingRestart
        ? 'WARN'
        : 'OK';
  const leaderAttainable = judgement?.leader?.budget?.pools[0]?.attainable;
  const afterFailoverAttainable = judgement?.failover.worst?.budget?.pools[0]?.attainable;
  return {
    status,
    ...(unverified ? { unverified: unverified.message } : {}),
    lines,
    detail,
    members: judgement ? memberCapacities(judgement) : [],
    ...(judgement ? { failover: failoverSentence(judgement) } : {}),
    ...(leaderAttainable !== undefined ? { leaderAttainable } : {}),
    ...(afterFailoverAttainable !== undefined ? { afterFailoverAttainable } : {}),
  };
}
