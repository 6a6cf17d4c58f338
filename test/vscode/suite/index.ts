// The test module VS Code's extension host loads (the @vscode/test-electron shape): `run()` builds a
// Mocha over the compiled suite files next to it and settles when they finish. Which files run depends
// on the workspace the runner opened: POOL_CAPACITY_TEST_SUITE=restricted selects `restricted*.test.js`
// (an untrusted window), =patroni selects `patroni*.test.js` (a Patroni cluster's workspace), anything
// else selects the rest.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { format } from 'node:util';
import Mocha from 'mocha';

export const SUITE_ENV = 'POOL_CAPACITY_TEST_SUITE';

/** runTests.ts relays console lines carrying this marker to its stdout (see relayConsole there). */
const lineMarker = '\u27e6suite\u27e7 ';

// Mocha's reporters print through Base.consoleLog with printf-style arguments, which the workbench
// would pass on unformatted; format here, one marked line per call.
Mocha.reporters.Base.consoleLog = (...args: unknown[]) => {
  console.log(lineMarker + format(...args));
};

export function run(): Promise<void> {
  const mocha = new Mocha({
    ui: 'bdd',
    reporter: 'spec',
    color: false,
    timeout: 30_000,
    grep: process.env.POOL_CAPACITY_TEST_GREP || undefined,
  });
  const suite =
    process.env[SUITE_ENV] === 'restricted' || process.env[SUITE_ENV] === 'patroni'
      ? process.env[SUITE_ENV]
      : 'main';
  // restricted*.test.js and patroni*.test.js run in their own windows; the rest in the main one.
  const suiteOf = (file: string) =>
    file.startsWith('restricted') ? 'restricted' : file.startsWith('patroni') ? 'patroni' : 'main';
  const files = fs
    .readdirSync(__dirname)
    .filter((file) => file.endsWith('.test.js'))
    .filter((file) => suiteOf(file) === suite)
    .sort();
  for (const file of files) mocha.addFile(path.join(__dirname, file));
  return new Promise((resolve, reject) => {
    if (files.length === 0) {
      reject(new Error(`no *.test.js files for the ${suite} suite in ${__dirname}`));
      return;
    }
    try {
      mocha.run((failures) => {
        if (failures > 0) reject(new Error(`${failures} test(s) failed`));
        else resolve();
      });
    } catch (error) {
      reject(error);
    }
  });
}
