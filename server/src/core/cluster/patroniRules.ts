/**
 * The Patroni judgement: the pool that uses the cluster against the leader's budget now, against
 * each member Patroni may promote (after a failover), and against the max_connections the dynamic
 * config will give after a pending restart. Every sum is serverBudget's (the one budget judgement);
 * this module only chooses which facts it is given. Pure: diagnostics, hover, the capacity report
 * and `check --json` all render the judgement made here.
 */
import type { PoolCapacitySettings } from '../../../../shared/settings';
import { budgetFindings, serverArithmetic, setSizeFix } from '../capacity/budgetFindings';
import type { PoolDiagnostic, PoolOutcomes } from '../capacity/rules';
import { type ServerBudget, serverBudget } from '../capacity/serverBudget';
import type { ProbeOutcome, ServerFacts } from '../capacity/serverFacts';
import type { LoadedConfig } from '../config/loadedConfig';
import { poolSyntaxError } from '../config/loadedConfig';
import type { OffsetRange, ResolvedPool } from '../config/poolConfig';
import { describeConnectFailure, type UnverifiedCode, unverifiedCode } from '../connection/connectFailure';
import type { ConnectionTarget } from '../connection/connectionTarget';
import { describeTarget, serverKey } from '../connection/connectionTarget';
import type { ApiAttempt, PatroniClusterView } from './patroniParse';
import { leaderOf, type PatroniMember, promotable } from './patroniParse';
import { patroniInUse, patroniSettings } from './patroniSettings';

/** What the check found out about the cluster: the REST API's view and each member's probe. */
export type ClusterOutcome =
  | { ok: false; attempts: ApiAttempt[]; readAt: number }
  | { ok: true; view: PatroniClusterView; probes: Record<string, ProbeOutcome | undefined> };

/** One member with what the pool would get there. */
export interface MemberJudgement {
  member: PatroniMember;
  /** "pg1 (127.0.0.1:58011)" */
  label: string;
  probe?: ProbeOutcome;
  /** The pool on this member's live facts; absent when its probe failed or is pending. */
  budget?: ServerBudget;
  /** Patroni may promote it (a live replica without nofailover). */
  promotable: boolean;
}

export type FailoverVerdict = 'ok' | 'fails' | 'unverified' | 'no-candidate';

export interface ClusterJudgement {
  pool: ResolvedPool & { poolSize: number };
  view: PatroniClusterView;
  leader?: MemberJudgement;
  members: MemberJudgement[];
  failover: {
    verdict: FailoverVerdict;
    /** The promotable member with the least room for the pool (the worst single failover). */
    worst?: MemberJudgement;
    /** Connections the pool would lose there (0 when it fits). */
    shortBy: number;
    /** Promotable members whose PostgreSQL could not be read. */
    unread: MemberJudgement[];
  };
  /** Set when /config's max_connections differs from what a member runs, or Patroni flags a restart. */
  pendingRestart?: {
    configured: number;
    running: { name: string; maxConnections: number }[];
    flagged: string[];
    /** The pool on the leader once it runs with the configured value. */
    leaderAfter?: ServerBudget;
  };
}

/** Where a member's PostgreSQL answers, as the pool connects to it. */
export function memberTarget(pool: Pick<ResolvedPool, 'target'>, member: PatroniMember): ConnectionTarget {
  return { ...pool.target, host: member.host, port: member.port };
}

export function memberLabel(member: PatroniMember): string {
  return `${member.name} (${serverKey(member)})`;
}

/** The patroni pool when the cluster is in use and its size is valid. */
export function clusterPool(config: LoadedConfig): (ResolvedPool & { poolSize: number }) | undefined {
  if (!patroniInUse(config.document)) return undefined;
  const pool = config.pools.find((p) => p.name === 'patroni');
  return pool && pool.poolSize !== undefined ? (pool as ResolvedPool & { poolSize: number }) : undefined;
}

/** The patroni pool when its cluster may be read: in use, no unusable value, no broken YAML. */
export function readablePatroniPool(config: LoadedConfig): ResolvedPool | undefined {
  if (!patroniInUse(config.document)) return undefined;
  const pool = config.pools.find((p) => p.name === 'patroni');
  if (!pool || pool.resolution.problems.length > 0 || poolSyntaxError(config, pool)) return undefined;
  return patroniSettings(pool.declaration).problems.length > 0 ? undefined : pool;
}

function budgetOn(
  label: string,
  pool: ResolvedPool & { poolSize: number },
  facts: ServerFacts,
  settings: Pick<PoolCapacitySettings, 'headroomThreshold'>,
): ServerBudget {
  return serverBudget(
    label,
    [
      {
        name: pool.name,
        poolSize: pool.poolSize,
        user: pool.target.user,
        database: pool.target.database,
        facts,
      },
    ],
    { ratio: settings.headroomThreshold },
  );
}

/** The judgement, once the REST API answered; undefined while it is pending or when the pool is not judged. */
export function judgeCluster(
  config: LoadedConfig,
  outcomes: PoolOutcomes,
  settings: Pick<PoolCapacitySettings, 'headroomThreshold'>,
): ClusterJudgement | undefined {
  const pool = clusterPool(config);
  const cluster = outcomes.cluster;
  if (!pool || !cluster?.ok) return undefined;
  const { view } = cluster;
  const leaderMember = leaderOf(view.state);
  const canPromote = new Set(promotable(view.state));
  const members = view.state.members.map((member): MemberJudgement => {
    const label = memberLabel(member);
    const probe = cluster.probes[member.name];
    const role = member === leaderMember ? `leader ${label}` : label;
    return {
      member,
      label,
      ...(probe ? { probe } : {}),
      ...(probe?.ok ? { budget: budgetOn(role, pool, probe.facts, settings) } : {}),
      promotable: canPromote.has(member),
    };
  });
  const leader = members.find((m) => m.member === leaderMember);
  const candidates = members.filter((m) => m.promotable);
  const unread = candidates.filter((m) => !m.budget);
  const judged = candidates.filter((m) => m.budget);
  const worst = [...judged].sort((a, b) => a.budget!.free - b.budget!.free)[0];
  const shortBy = worst ? Math.max(0, pool.poolSize - worst.budget!.free) : 0;
  const verdict: FailoverVerdict =
    candidates.length === 0
      ? 'no-candidate'
      : worst && worst.budget!.verdict === 'exceeds'
        ? 'fails'
        : unread.length > 0
          ? 'unverified'
          : 'ok';

  let pendingRestart: ClusterJudgement['pendingRestart'];
  const running = members.flatMap((m) =>
    m.probe?.ok ? [{ name: m.member.name, maxConnections: m.probe.facts.maxConnections }] : [],
  );
  const flagged = members.filter((m) => m.member.pendingRestart).map((m) => m.member.name);
  const configured = view.configuredMaxConnections;
  if (flagged.length > 0 || running.some((r) => r.maxConnections !== configured)) {
    const leaderFacts = leader?.probe?.ok ? leader.probe.facts : undefined;
    pendingRestart = {
      configured,
      running,
      flagged,
      ...(leaderFacts && leader
        ? {
            leaderAfter: budgetOn(
              `leader ${leader.label}`,
              pool,
              { ...leaderFacts, maxConnections: configured },
              settings,
            ),
          }
        : {}),
    };
  }
  return {
    pool,
    view,
    ...(leader ? { leader } : {}),
    members,
    failover: { verdict, ...(worst ? { worst } : {}), shortBy, unread },
    ...(pendingRestart ? { pendingRestart } : {}),
  };
}

/** Why the pool that uses the cluster was not judged, or undefined when it was (or is not in use). */
export function clusterUnverified(
  config: LoadedConfig,
  outcomes: PoolOutcomes,
): { reason: UnverifiedCode | 'patroni-api-unreachable' | 'no-leader'; message: string } | undefined {
  const pool = config.pools.find((p) => p.name === 'patroni');
  const cluster = outcomes.cluster;
  if (!pool || !patroniInUse(config.document) || !cluster) return undefined;
  if (!cluster.ok) {
    const tried = cluster.attempts.map((a) => `${a.api} (${a.why})`).join(', ');
    return {
      reason: 'patroni-api-unreachable',
      message: `patroni: the Patroni REST API did not answer at ${tried || 'no address'}; the pool is not verified`,
    };
  }
  const leader = leaderOf(cluster.view.state);
  if (!leader) {
    const seen = cluster.view.state.members.map((m) => `${m.name} ${m.role}/${m.state}`).join(', ');
    return {
      reason: 'no-leader',
      message: `patroni: the cluster has no leader (${seen || 'no members'}, read from ${cluster.view.api}); the pool is not verified until one is elected`,
    };
  }
  const unreadable = cluster.view.state.members.filter((m) => {
    const probe = cluster.probes[m.name];
    return probe && !probe.ok && (m === leader || promotable(cluster.view.state).includes(m));
  });
  const first = unreadable[0];
  if (first) {
    const probe = cluster.probes[first.name] as Extract<ProbeOutcome, { ok: false }>;
    const role = first === leader ? 'leader' : 'replica that may be promoted';
    return {
      reason: unverifiedCode(probe.failure.class),
      message: `patroni: ${role} ${first.name}: ${describeConnectFailure(describeTarget(memberTarget(pool, first)), probe.failure)}`,
    };
  }
  return undefined;
}

/** The findings about the cluster: unusable settings, not verified, leader budget, failover, pending restart. */
export function patroniDiagnostics(
  config: LoadedConfig,
  outcomes: PoolOutcomes,
  settings: Pick<PoolCapacitySettings, 'headroomThreshold'>,
): PoolDiagnostic[] {
  const pool = config.pools.find((p) => p.name === 'patroni');
  if (!pool) return [];
  // Invalid values count whether the block is in use or not (an inactive layout is checked for them).
  const out: PoolDiagnostic[] = patroniSettings(pool.declaration).problems.map((problem) => ({
    code: 'invalid-connection-setting',
    severity: 'error',
    message: `patroni: ${problem.message}`,
    range: problem.range,
    pool: 'patroni',
  }));
  if (!patroniInUse(config.document)) return out;
  const unverified = clusterUnverified(config, outcomes);
  if (unverified)
    out.push({
      code: unverified.reason,
      severity: 'warning',
      message: unverified.message,
      range: pool.declaration.keyRange,
      pool: 'patroni',
    });
  const judgement = judgeCluster(config, outcomes, settings);
  if (!judgement) return out;
  const sizeRange = pool.declaration.size?.range ?? pool.declaration.keyRange;
  const editable = typeof pool.declaration.size?.value === 'number';
  // A size offered must also hold after a failover: never more than a promotable member has free.
  const roomAfterFailover = Math.min(
    ...judgement.members.filter((m) => m.promotable && m.budget).map((m) => m.budget!.free),
  );
  out.push(...leaderFindings(config, judgement, roomAfterFailover));
  out.push(...failoverFindings(judgement, { sizeRange, editable, roomAfterFailover }));
  const pending = pendingRestartFinding(judgement, sizeRange);
  if (pending) out.push(pending);
  return out;
}

/** The pool against the leader's budget, its fixes capped at what a promotable member has free. */
function leaderFindings(
  config: LoadedConfig,
  judgement: ClusterJudgement,
  roomAfterFailover: number,
): PoolDiagnostic[] {
  if (!judgement.leader?.budget) return [];
  return budgetFindings(judgement.leader.budget, config, false).map((d) => ({
    ...d,
    fixes: d.fixes?.flatMap((fix) =>
      fix.newSize <= roomAfterFailover
        ? [fix]
        : roomAfterFailover >= 1
          ? [
              setSizeFix(fix.range, roomAfterFailover, {
                key: 'maxConnections',
                note: ` (so it also fits after a failover to ${judgement.failover.worst?.member.name})`,
              }),
            ]
          : [],
    ),
  }));
}

/**
 * failover-capacity on each promotable member the pool does not fit on. Only where the leader was
 * judged and the pool fits there: otherwise the leader's own finding (or its "not verified") is
 * the one to act on first.
 */
function failoverFindings(
  judgement: ClusterJudgement,
  size: { sizeRange: OffsetRange; editable: boolean; roomAfterFailover: number },
): PoolDiagnostic[] {
  const { failover } = judgement;
  const leaderVerdict = judgement.leader?.budget?.verdict;
  if (failover.verdict !== 'fails' || !failover.worst || !leaderVerdict || leaderVerdict === 'exceeds')
    return [];
  const leaderRoom = judgement.leader?.budget?.pools[0]?.largestAlone ?? 0;
  // The size that fits on the leader (with its headroom) and on every member that may be promoted.
  const fitting = Math.min(leaderRoom, size.roomAfterFailover);
  const out: PoolDiagnostic[] = [];
  for (const m of judgement.members) {
    if (!m.promotable || m.budget?.verdict !== 'exceeds') continue;
    const b = m.budget;
    const short = judgement.pool.poolSize - b.free;
    out.push({
      code: 'failover-capacity',
      // The config is shown wrong for a high-availability cluster: the next failover refuses connections.
      severity: 'error',
      message:
        `patroni ${judgement.pool.poolSize} > ${b.free} free on ${m.label}, a replica Patroni may promote: ` +
        `${serverArithmetic(b)}. After a failover to ${m.member.name}, ${short} of the pool's connections would be refused` +
        ` (it fits on the leader now). Free slots on ${m.member.name}, or a maxConnections of ${b.free} or less, or tag it nofailover.`,
      range: size.sizeRange,
      pool: 'patroni',
      fixes:
        size.editable && fitting >= 1 ? [setSizeFix(size.sizeRange, fitting, { key: 'maxConnections' })] : [],
    });
  }
  return out;
}

/** pending-restart: the dynamic config's max_connections is not what the members run. */
function pendingRestartFinding(judgement: ClusterJudgement, range: OffsetRange): PoolDiagnostic | undefined {
  const pending = judgement.pendingRestart;
  if (!pending) return undefined;
  const runs = pending.running.map((r) => `${r.name} runs ${r.maxConnections}`).join(', ');
  const flagged = pending.flagged.length
    ? `; Patroni flags pending_restart on ${pending.flagged.join(', ')}`
    : '';
  const after = pending.leaderAfter;
  const fit = after
    ? after.verdict === 'exceeds'
      ? `after the restart the pool does not fit on the leader: patroni ${judgement.pool.poolSize} > ${after.free} free (max_connections ${pending.configured})`
      : `after the restart the pool fits on the leader: patroni ${judgement.pool.poolSize} of ${after.free} free (max_connections ${pending.configured})`
    : 'whether the pool fits after the restart is not known (the leader was not read)';
  return {
    code: 'pending-restart',
    severity: 'warning',
    message: `patroni: the cluster's dynamic config sets max_connections ${pending.configured}, but ${runs}${flagged}: the change waits for a restart of those members; ${fit}.`,
    range,
    pool: 'patroni',
  };
}

/** The hover's member table: name, role, state, lag, live max_connections, free for this role. */
export function memberTableLines(judgement: ClusterJudgement): string[] {
  const rows = judgement.members.map((m) => {
    const lag =
      m.member.lag === undefined ? '' : m.member.lag === 'unknown' ? 'unknown' : `${m.member.lag} B`;
    const role = `${m.member.role}${m.member.nofailover ? ' (nofailover)' : ''}${m.member.pendingRestart ? ' (pending restart)' : ''}`;
    const live = m.probe?.ok ? String(m.probe.facts.maxConnections) : m.probe ? 'not read' : '…';
    const free = m.budget ? String(m.budget.free) : '';
    return `| ${m.member.name} | ${role} | ${m.member.state} | ${lag} | ${live} | ${free} |`;
  });
  return [
    '| member | role | state | lag | max_connections | free for this role |',
    '|---|---|---|---|---|---|',
    ...rows,
  ];
}

/** One sentence on the worst single failover, for the hover and the report. */
export function failoverSentence(judgement: ClusterJudgement): string {
  const { failover, pool } = judgement;
  const worst = failover.worst;
  switch (failover.verdict) {
    case 'no-candidate':
      return 'No member can be promoted (all replicas are tagged nofailover or not running): a failover leaves no leader.';
    case 'unverified':
      return `Failover not verified: ${failover.unread.map((m) => m.member.name).join(', ')} could not be read.`;
    case 'fails':
      return `After the worst single failover (to ${worst!.label}): patroni ${pool.poolSize} > ${worst!.budget!.free} free — ${failover.shortBy} connections short.`;
    default:
      return `After the worst single failover (to ${worst!.label}): patroni ${pool.poolSize} of ${worst!.budget!.free} free — fits.`;
  }
}

/** `check --json` / `report --json`: the members and the failover verdict, password-free. */
export function clusterJson(judgement: ClusterJudgement | undefined, outcomes: PoolOutcomes): unknown {
  const cluster = outcomes.cluster;
  if (!cluster) return undefined;
  if (!cluster.ok) return { api: null, attempts: cluster.attempts };
  if (!judgement) return { api: cluster.view.api, members: cluster.view.state.members };
  return {
    api: judgement.view.api,
    configuredMaxConnections: judgement.view.configuredMaxConnections,
    leader: judgement.leader?.member.name ?? null,
    members: judgement.members.map((m) => ({
      name: m.member.name,
      role: m.member.role,
      state: m.member.state,
      server: serverKey(m.member),
      timeline: m.member.timeline ?? null,
      lag: m.member.lag ?? null,
      pendingRestart: m.member.pendingRestart,
      nofailover: m.member.nofailover,
      promotable: m.promotable,
      maxConnections: m.probe?.ok ? m.probe.facts.maxConnections : null,
      usedByOthers: m.probe?.ok ? m.probe.facts.usedByOthers : null,
      free: m.budget?.free ?? null,
      verdict: m.budget?.verdict ?? null,
      ...(m.probe && !m.probe.ok ? { failure: m.probe.failure.class } : {}),
    })),
    failover: {
      verdict: judgement.failover.verdict,
      worst: judgement.failover.worst?.member.name ?? null,
      free: judgement.failover.worst?.budget?.free ?? null,
      shortBy: judgement.failover.shortBy,
      unread: judgement.failover.unread.map((m) => m.member.name),
    },
    pendingRestart: judgement.pendingRestart
      ? {
          configured: judgement.pendingRestart.configured,
          running: judgement.pendingRestart.running,
          flagged: judgement.pendingRestart.flagged,
          fitsAfterRestart: judgement.pendingRestart.leaderAfter
            ? judgement.pendingRestart.leaderAfter.verdict !== 'exceeds'
            : null,
        }
      : null,
  };
}
