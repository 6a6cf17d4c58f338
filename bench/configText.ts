/** `.claude-flow/config.yaml` texts of a given length for the diagnostics benchmarks (layout A). */
import type { ConnectionTarget } from '../server/src/core/connection/connectionTarget';

export const PASSWORD_VARIABLE = 'BENCH_DB_PASSWORD';

export interface ConfigEdit {
  /** The project pool's size: the value a user edits. */
  poolSize: number;
  /**
   * The shared pool's connectionTimeout, unique per edit so the edited entry is always new to the
   * parser's per-entry cache (an undo back to an earlier text would hit it, and look faster).
   */
  revision: number;
  /** Also mark every other top-level entry, so nothing can come from the cache (a first parse). */
  everyEntry?: boolean;
}

/**
 * A config of exactly `lines` lines: the two pools (the shared one deliberately larger than the
 * server, so every validation carries a finding that needs the server's facts), the host tool's
 * other sections, and `hooks` entries as filler.
 */
export function configText(target: ConnectionTarget, lines: number, edit: ConfigEdit): string {
  const mark = (key: string) => (edit.everyEntry ? `${key}: # rev ${edit.revision}` : `${key}:`);
  const pool = (name: string, size: number, timeout: number) => [
    `    ${name}:`,
    `      host: ${target.host}`,
    `      port: ${target.port}`,
    `      database: ${target.database}`,
    `      user: ${target.user}`,
    `      password: \${${PASSWORD_VARIABLE}}`,
    `      namespace: bench-${name}`,
    `      poolSize: ${size}`,
    '      maxRetries: 3',
    `      connectionTimeout: ${timeout}`,
  ];
  const head = [
    '# Claude Flow configuration (benchmark fixture)',
    edit.everyEntry ? `version: "3.0.0" # rev ${edit.revision}` : 'version: "3.0.0"',
  ];
  const body = [
    mark('memory'),
    '  backend: postgresql',
    '  enableHNSW: true',
    '  persistPath: .claude-flow/memory',
    '  cacheSize: 1000',
    '  postgresql:',
    ...pool('project', edit.poolSize, 5000),
    ...pool('shared', 500, 5000 + edit.revision),
    mark('swarm'),
    '  topology: hierarchical-mesh',
    '  maxAgents: 35',
    '  strategy: adaptive',
    mark('mcp'),
    '  enabled: true',
    '  port: 3000',
    '  tools:',
    '    - memory_search',
    '    - swarm_status',
    mark('hooks'),
  ];
  const fixed = head.length + body.length;
  if (lines < fixed + 1) throw new Error(`a config needs at least ${fixed + 1} lines`);
  const filler: string[] = [];
  for (let i = 0; filler.length < lines - fixed; i++) {
    filler.push(`  hook${i}:`);
    if (filler.length < lines - fixed) filler.push(`    command: "npx claude-flow hooks run ${i} --quiet"`);
  }
  return `${[...head, ...body, ...filler].join('\n')}\n`;
}
