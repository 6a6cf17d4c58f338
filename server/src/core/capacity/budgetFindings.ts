/**
 * Renders a budget (serverBudget.ts) as findings with quick fixes. The findings sit on the pools whose
 * reduction alone can clear a sum (when none can, on every pool of it); the other pools of the sum
 * are related information, so a pool that is fine carries no error and no fix that cannot work.
 */
import type { LoadedConfig } from '../config/loadedConfig';
import type { OffsetRange, PoolName, ResolvedPool } from '../config/poolConfig';
import type { DiagnosticCode, PoolDiagnostic, PoolSizeFix, RelatedLocation } from './rules';
import type { BudgetConstraint, PoolBudget, PoolerBudget, ServerBudget } from './serverBudget';

/** "project 40 + shared 3 = 43" (or "project 40" alone). */
export function sumText(constraint: BudgetConstraint, sizes: ReadonlyMap<PoolName, number>): string {
  const shares = constraint.pools.map((n) => `${n} ${sizes.get(n)}`).join(' + ');
  return constraint.pools.length > 1 ? `${shares} = ${constraint.need}` : shares;
}

/** "max_connections 20 − 3 reserved − 1 used by others = 16 free for this role" */
export function serverArithmetic(budget: ServerBudget): string {
  const reserved = budget.maxConnections - budget.usable;
  const parts = [`max_connections ${budget.maxConnections}`];
  if (reserved > 0) parts.push(`${reserved} reserved`);
  parts.push(`${budget.usedByOthers} used by others`);
  return `${parts.join(' − ')} = ${budget.free} free for this role`;
}

/** "superuser_reserved_connections 3, reserved_connections 2" (the latter only when set) */
export function reservedSettings(budget: Pick<ServerBudget, 'superuserReserved' | 'reserved'>): string {
  return `superuser_reserved_connections ${budget.superuserReserved}${budget.reserved > 0 ? `, reserved_connections ${budget.reserved}` : ''}`;
}

/** The figures first (what the Problems panel shows of a long message), then how they come about. */
export function constraintHeadline(
  c: BudgetConstraint,
  sizes: ReadonlyMap<PoolName, number>,
  pooler: boolean,
): string {
  const sum = sumText(c, sizes);
  const where = pooler ? `client slots free on PgBouncer ${c.name}` : `free on ${c.name}`;
  if (c.kind === 'role' || c.kind === 'database')
    return `${sum} > ${c.available} left of ${c.kind} "${c.name}" CONNECTION LIMIT ${c.limit}`;
  if (c.exceeded) return `${sum} > ${c.available} ${where}`;
  return `${sum} leaves ${c.available - c.need} of ${c.available} ${where}, under the headroom of ${c.keepFree}`;
}

function constraintArithmetic(c: BudgetConstraint, budget: ServerBudget | PoolerBudget): string {
  if (c.kind === 'role' || c.kind === 'database')
    return `${c.limit} − ${c.inUse} used by others = ${c.available}`;
  const keep = `${c.keepFree} stay free as headroom`;
  if (c.kind === 'pooler') {
    const l = (budget as PoolerBudget).limits!;
    return `max_client_conn ${l.maxClientConn} − ${l.otherClients} other clients = ${c.available}; ${keep}`;
  }
  const b = budget as ServerBudget;
  return `${serverArithmetic(b)}; ${keep} (of ${b.usable} usable)`;
}

/** What can lift a sum besides smaller pools. */
function settingRemedy(c: BudgetConstraint, budget: ServerBudget | PoolerBudget): string | undefined {
  if (c.kind === 'server') {
    const m = (budget as ServerBudget).maxConnectionsToFit;
    return m === undefined ? undefined : `max_connections to ${m}`;
  }
  if (c.kind === 'role' || c.kind === 'database')
    return `the ${c.kind}'s CONNECTION LIMIT to ${c.need + c.inUse!}`;
  const m = (budget as PoolerBudget).maxClientConnToFit;
  return m === undefined ? undefined : `PgBouncer's max_client_conn to ${m}`;
}

const CODES: Record<BudgetConstraint['kind'], { exceeded: DiagnosticCode; tight: DiagnosticCode }> = {
  server: { exceeded: 'pool-exceeds-server', tight: 'low-headroom' },
  pooler: { exceeded: 'pool-exceeds-pooler', tight: 'low-headroom' },
  role: { exceeded: 'pool-exceeds-role-limit', tight: 'low-headroom' },
  database: { exceeded: 'pool-exceeds-database-limit', tight: 'low-headroom' },
};

/** Findings with fixes for every sum of a budget that is over or inside its headroom. */
export function budgetFindings(
  budget: ServerBudget | PoolerBudget,
  config: Pick<LoadedConfig, 'pools' | 'targetAgents'>,
  pooler: boolean,
): PoolDiagnostic[] {
  const out: PoolDiagnostic[] = [];
  const byName = new Map<PoolName, ResolvedPool>(config.pools.map((p) => [p.name, p]));
  const sizes = new Map(budget.pools.map((p) => [p.name, p.poolSize]));
  const budgetOf = new Map<PoolName, PoolBudget>(budget.pools.map((p) => [p.name, p]));
  const editable = (name: PoolName) => {
    const size = byName.get(name)?.declaration.size;
    return size && typeof size.value === 'number' ? size.range : undefined;
  };
  const resizeAll = resizeAllFix(budget, editable, config.targetAgents);
  for (const c of budget.constraints) {
    if (!c.exceeded && !c.tight) continue;
    const code = c.exceeded ? CODES[c.kind].exceeded : CODES[c.kind].tight;
    const headline = constraintHeadline(c, sizes, pooler);
    const arithmetic = constraintArithmetic(c, budget);
    for (const name of c.carriers) {
      const range = byName.get(name)?.declaration.size?.range;
      if (!range) continue;
      const mine = budgetOf.get(name)!;
      const others = c.pools.filter((n) => n !== name);
      const asTheyAre = others.length
        ? ` with ${others.join(' and ')} as ${others.length > 1 ? 'they are' : 'it is'}`
        : '';
      let advice: string;
      const fixes: PoolSizeFix[] = [];
      if (mine.largestAlone !== undefined) {
        advice = `${name} fits at ${mine.largestAlone} or less${asTheyAre}.`;
        const at = editable(name);
        if (at) {
          const belowTarget = belowTargetNote(name, mine.poolSize, mine.largestAlone, config.targetAgents);
          fixes.push(
            setSizeFix(at, mine.largestAlone, {
              key: byName.get(name)?.declaration.size?.key,
              note: belowTarget,
            }),
          );
        }
      } else {
        const taken = c.need - mine.poolSize;
        const why = others.length
          ? `${others.join(' and ')} already take${others.length > 1 ? '' : 's'} ${taken} of the ${Math.max(0, c.available - c.keepFree)} this sum may use`
          : `the others' connections leave it no room`;
        const ways = [
          ...(budget.resizeAll ? ['resize all pools'] : []),
          ...(others.length ? [`reduce ${others.join(' or ')}`] : []),
          ...(settingRemedy(c, budget) ? [`raise ${settingRemedy(c, budget)}`] : []),
        ];
        advice = `No size of ${name} alone fits every limit: ${why}; ${ways.join(', or ') || 'free slots on the server'}.`;
      }
      if (resizeAll) fixes.push(resizeAll.forPool(name));
      const related: RelatedLocation[] = others.flatMap((n) => {
        const at = byName.get(n)?.declaration.size?.range;
        if (!at) return [];
        const role = c.carriers.includes(n)
          ? 'counts in the same sum'
          : 'counts in the same sum; reducing it alone cannot clear it';
        return [{ range: at, message: `${n} ${sizes.get(n)} ${role}` }];
      });
      out.push({
        code,
        severity: c.exceeded ? 'error' : 'warning',
        message: `${headline}: ${arithmetic}. ${advice}`,
        range,
        pool: name,
        fixes,
        ...(related.length ? { related } : {}),
      });
    }
  }
  return out;
}

/**
 * The one "Set poolSize to N" quick fix (`key`: the size's own key where the layout names it
 * otherwise); `value` says what N is where it is more than the number ("the target (25)").
 */
export function setSizeFix(
  range: OffsetRange,
  newSize: number,
  words: { key?: string; value?: string; note?: string } = {},
): PoolSizeFix {
  return {
    title: `Set ${words.key ?? 'poolSize'} to ${words.value ?? newSize}${words.note ?? ''}`,
    range,
    newSize,
  };
}

/** A fix that takes the project pool under the target says so: that warning is then its doing. */
function belowTargetNote(name: PoolName, from: number, to: number, target: number): string {
  return name === 'project' && to < target && from >= target ? ` (below the ${target}-agent target)` : '';
}

/**
 * One fix that resizes every pool of the budget in one edit, offered when several pools change
 * (a change of one pool is its own "Set poolSize" fix) and every size is a number in the file.
 */
function resizeAllFix(
  budget: ServerBudget | PoolerBudget,
  editable: (name: PoolName) => PoolSizeFix['range'] | undefined,
  target: number,
): { forPool: (name: PoolName) => PoolSizeFix } | undefined {
  const sizes = budget.resizeAll;
  if (!sizes || budget.pools.length < 2) return undefined;
  const changed = budget.pools.filter((p) => sizes[p.name] !== p.poolSize);
  if (changed.length < 2) return undefined;
  const edits = changed.map((p) => ({ pool: p.name, range: editable(p.name), newSize: sizes[p.name]! }));
  if (edits.some((e) => e.range === undefined)) return undefined;
  const project = budget.pools.find((p) => p.name === 'project');
  const note = project ? belowTargetNote('project', project.poolSize, sizes.project!, target) : '';
  const title = `Resize all pools on this server (${budget.pools.map((p) => `${p.name} ${sizes[p.name]}`).join(', ')})${note}`;
  return {
    forPool: (name) => {
      const own = edits.find((e) => e.pool === name) ?? edits[0]!;
      return {
        title,
        range: own.range!,
        newSize: own.newSize,
        alsoEdits: edits
          .filter((e) => e !== own)
          .map((e) => ({ pool: e.pool, range: e.range!, newSize: e.newSize })),
      };
    },
  };
}
