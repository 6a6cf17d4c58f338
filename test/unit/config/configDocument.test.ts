import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigDocument } from '../../../server/src/core/config/configDocument';
import { LAYOUT_A, LAYOUT_B, rangeOf } from '../testSupport';

describe('parseConfigDocument', () => {
  it('reads layout A pools with the exact range of each value', () => {
    const doc = parseConfigDocument(LAYOUT_A);
    assert.equal(doc.layout, 'A');
    assert.equal(doc.maxAgents, 35);
    assert.deepEqual(
      doc.pools.map((p) => [p.name, p.size?.value]),
      [
        ['project', 40],
        ['shared', 15],
      ],
    );
    const [project, shared] = doc.pools;
    assert.deepEqual(project!.size!.range, rangeOf(LAYOUT_A, '40'));
    assert.deepEqual(shared!.size!.range, rangeOf(LAYOUT_A, '15'));
    assert.deepEqual(project!.keyRange, rangeOf(LAYOUT_A, 'project'));
    assert.equal(project!.connection.password!.value, '${DPG_CLUSTER_PASSWORD}');
    assert.deepEqual(project!.path, ['memory', 'postgresql', 'project']);
    assert.deepEqual(doc.syntaxErrors, []);
  });

  it('reads layout B: singleNode pools, their minimum, and the patroni block', () => {
    const doc = parseConfigDocument(LAYOUT_B);
    assert.equal(doc.layout, 'B');
    assert.deepEqual(
      doc.pools.map((p) => [p.name, p.size?.key, p.size?.value, p.min?.value]),
      [
        ['project', 'poolSize', 30, 2],
        ['shared', 'poolSize', 10, undefined],
        ['patroni', 'maxConnections', 20, 2],
      ],
    );
    assert.deepEqual(doc.pools[0]!.path, ['memory', 'postgresql', 'singleNode', 'project']);
    assert.deepEqual(doc.pools[2]!.size!.range, rangeOf(LAYOUT_B, '20'));
  });

  it('reports broken YAML with a range at the error and keeps the pools it could read', () => {
    const text = 'memory:\n  postgresql:\n    project:\n      poolSize: 40\n    shared: [\n';
    const doc = parseConfigDocument(text);
    assert.ok(doc.syntaxErrors.length >= 1);
    const error = doc.syntaxErrors[0]!;
    assert.ok(error.range.end > error.range.start, 'a visible range');
    assert.ok(error.range.start >= text.indexOf('shared'), `error at ${error.range.start}`);
    assert.equal(doc.pools.find((p) => p.name === 'project')?.size?.value, 40);
  });

  it('places an error in a later top-level entry at its offset in the whole file', () => {
    const text = `swarm:\n  maxAgents: 12\n${LAYOUT_B}hooks:\n  list: [a, b\n  other: 1\n`;
    const doc = parseConfigDocument(text);
    assert.equal(doc.maxAgents, 12);
    assert.deepEqual(doc.pools[2]!.size!.range, rangeOf(text, '20'));
    assert.ok(doc.syntaxErrors.length > 0);
    for (const error of doc.syntaxErrors)
      assert.ok(error.range.start > text.indexOf('hooks:'), JSON.stringify(error));
  });

  it('reads anchors and aliases by parsing the file whole', () => {
    const text =
      'defaults: &pool\n  poolSize: 7\nmemory:\n  postgresql:\n    project:\n      <<: *pool\n      poolSize: 9\n';
    const doc = parseConfigDocument(text);
    assert.equal(doc.syntaxErrors.length, 0);
    assert.equal(doc.pools[0]!.size!.value, 9);
    assert.deepEqual(doc.pools[0]!.size!.range, rangeOf(text, '9'));
  });

  it('points at the key when poolSize has no value', () => {
    const text = 'memory:\n  postgresql:\n    project:\n      poolSize:\n';
    const pool = parseConfigDocument(text).pools[0]!;
    assert.equal(pool.size!.value, null);
    assert.deepEqual(pool.size!.range, rangeOf(text, 'poolSize'));
  });

  it('never throws on odd input', () => {
    for (const text of [
      '',
      '---',
      '- a\n- b',
      'memory: 3',
      'memory:\n  postgresql: [1, 2]',
      '\t\u0000x: :',
      'a: *b',
      '%YAML 9\n',
    ]) {
      const doc = parseConfigDocument(text);
      assert.ok(Array.isArray(doc.pools));
    }
  });

  it('leaves the host tool keys alone', () => {
    const doc = parseConfigDocument(LAYOUT_A);
    assert.equal(doc.pools.length, 2);
    assert.equal(doc.syntaxErrors.length, 0);
  });
});
