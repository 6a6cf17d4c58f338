/**
 * The output channel's TextMate grammar, applied the way TextMate applies match rules: at each
 * position the rule whose match starts first wins (ties go to the earlier rule). The regexes are
 * the grammar file's own; Oniguruma and JavaScript agree on the syntax they use.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

interface Rule {
  match?: string;
  name?: string;
  include?: string;
  patterns?: Rule[];
}
const grammar = JSON.parse(
  readFileSync(join(__dirname, '../../../syntaxes/pool-capacity-output.tmLanguage.json'), 'utf8'),
) as { patterns: Rule[]; repository: Record<string, Rule> };

function flatten(rules: Rule[]): { re: RegExp; name: string }[] {
  return rules.flatMap((rule) => {
    if (rule.include) return flatten([grammar.repository[rule.include.slice(1)]!]);
    if (rule.patterns) return flatten(rule.patterns);
    return [{ re: new RegExp(rule.match!, 'g'), name: rule.name! }];
  });
}
const rules = flatten(grammar.patterns);

function tokenize(line: string): { text: string; scope: string }[] {
  const tokens: { text: string; scope: string }[] = [];
  let pos = 0;
  while (pos < line.length) {
    let best: { index: number; text: string; scope: string } | undefined;
    for (const rule of rules) {
      rule.re.lastIndex = pos;
      const m = rule.re.exec(line);
      if (m && m[0].length > 0 && (!best || m.index < best.index))
        best = { index: m.index, text: m[0], scope: rule.name };
    }
    if (!best) break;
    tokens.push({ text: best.text, scope: best.scope });
    pos = best.index + best.text.length;
  }
  return tokens;
}
const figures = (line: string) =>
  tokenize(line)
    .filter((t) => t.scope.startsWith('constant.numeric'))
    .map((t) => t.text);

describe('output grammar', () => {
  it('colours figures and their units', () => {
    assert.deepEqual(
      figures('Server   max_connections 40 − 3 reserved − 1 used by others = 36 free for this role'),
      ['40', '3', '1', '36'],
    );
    assert.deepEqual(figures('PASS     capacity          5     100%     0.21s'), ['5', '100%', '0.21s']);
    assert.deepEqual(figures('Result   WARN  40/50 agents succeeded (80.0%) in 0.54s'), [
      '40/50',
      '80.0%',
      '0.54s',
    ]);
    assert.deepEqual(figures('Latency  agent             p50 150 ms  p95 201 ms  (40)'), [
      '150 ms',
      '201 ms',
      '40',
    ]);
  });

  it('leaves digits inside addresses, versions, timestamps and run ids alone', () => {
    assert.deepEqual(figures('Server   127.0.0.1:34437  PostgreSQL 15.18 (Debian 15.18-0+deb12u1)'), []);
    assert.deepEqual(figures('Pool     project size 20  pool_app@127.0.0.1:34437/pool_demo'), ['20']);
    assert.deepEqual(figures('Pool     shared size 3  app@[::1]:5432/db2'), ['3']);
    assert.deepEqual(
      figures('Run      12345678  capacity test (5 agents), hold 200 ms  (2026-11-28T06:24:58.778Z)'),
      ['5', '200 ms'],
    );
    assert.deepEqual(figures('PASS     step 1           10     100%   12.5 ms  run 0953b45a'), [
      '1',
      '10',
      '100%',
      '12.5 ms',
    ]);
    assert.deepEqual(figures('Note     pgbouncer 1.23.1 at db.internal:6432 since 06:24:58'), []);
  });

  it('the block title is a heading; verdicts and SQLSTATEs have their own colours', () => {
    assert.deepEqual(tokenize('2026-11-28 06:24:58  capacity test'), [
      { text: '2026-11-28 06:24:58  capacity test', scope: 'markup.heading.pool-capacity' },
    ]);
    assert.deepEqual(
      tokenize('Failures too-many-clients 2: server refusal 53300: too many clients').map((t) => t.scope),
      ['constant.numeric.pool-capacity', 'constant.language.sqlstate.pool-capacity'],
    );
    assert.equal(tokenize('WARN     burst 2')[0]!.scope, 'markup.changed.pool-capacity.warn');
    assert.equal(tokenize('─'.repeat(40))[0]!.scope, 'comment.line.pool-capacity');
  });

  it('Failover and Member lines: their verdicts in words take the verdict colours, figures stay figures', () => {
    const scopes = (line: string) => tokenize(line).map((t) => [t.text, t.scope.split('.')[0]]);
    // The capacity report's sentence on the worst single failover (patroniRules.ts failoverSentence).
    assert.deepEqual(
      scopes(
        'Failover After the worst single failover (to pg0 (127.0.0.1:58010)): patroni 40 > 35 free — 5 connections short.',
      ),
      [
        ['127.0.0.1:58010', 'meta'],
        ['40', 'constant'],
        ['35', 'constant'],
        ['5', 'constant'],
        ['connections short', 'markup'],
      ],
    );
    assert.equal(
      tokenize(
        'Failover After the worst single failover (to pg2 (10.0.0.3:5432)): patroni 40 of 96 free — fits.',
      ).at(-1)!.scope,
      'markup.inserted.pool-capacity.pass',
    );
    assert.equal(
      tokenize('Failover Failover not verified: pg2 could not be read.')[0]!.scope,
      'markup.changed.pool-capacity.warn',
    );
    // A load test through a failover: the verdict, the leaders' addresses, the window's clock times.
    assert.deepEqual(
      scopes('Failover PASS  leader pg1 (127.0.0.1:58011) -> pg0 (127.0.0.1:58010), failoverTimeout 30 s'),
      [
        ['PASS', 'markup'],
        ['127.0.0.1:58011', 'meta'],
        ['127.0.0.1:58010', 'meta'],
        ['30 s', 'constant'],
      ],
    );
    assert.deepEqual(figures('Failover first failure           06:24:58.123 on pg1 (too-many-clients)'), []);
    assert.deepEqual(figures('Failover window                  4.20s without a success'), ['4.20s']);
    // The report's Member lines end in the member's verdict.
    const member = (verdict: string) =>
      tokenize(
        `Member   pg1 (127.0.0.1:58011) leader/running, PostgreSQL 15.18: max_connections 100 − 3 reserved − 2 used by others = 95 free for this role -> ${verdict}`,
      ).at(-1)!;
    assert.equal(member('fits').scope, 'markup.inserted.pool-capacity.pass');
    assert.equal(member('fits, inside the headroom').scope, 'markup.changed.pool-capacity.warn');
    assert.equal(member('does not fit').scope, 'markup.deleted.pool-capacity.fail');
  });
});
