// The one line that names why code-server's install failed, found in npm's and node-gyp's log.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { installFailureCause } from '../../../harness/codeServer';

const filler = Array.from({ length: 40 }, (_, i) => `gyp info spawn args '-Dvisibility=default${i}'`);

describe("code-server install log: the failure's cause", () => {
  it('names the missing kerberos header and the package that provides it', () => {
    const log = [
      ...filler,
      '  CXX(target) Release/obj.target/kerberos/src/kerberos.o',
      'In file included from ../src/kerberos.cc:1:',
      '../src/kerberos_common.h:7:10: fatal error: gssapi/gssapi.h: No such file or directory',
      '    7 | #include <gssapi/gssapi.h>',
      'compilation terminated.',
      'make: *** [kerberos.target.mk:121: Release/obj.target/kerberos/src/kerberos.o] Error 1',
      'gyp ERR! build error',
      'gyp ERR! stack Error: `make` failed with exit code: 2',
      'npm error code 1',
      'npm error path /work/main/.vscode-test/code-server/node_modules/code-server/lib/vscode/node_modules/kerberos',
      'npm error command failed',
      'npm error A complete log of this run can be found in: /root/.npm/_logs/x.log',
    ].join('\n');
    const cause = installFailureCause(log);
    assert.deepEqual(cause, {
      line: '../src/kerberos_common.h:7:10: fatal error: gssapi/gssapi.h: No such file or directory',
      lineNumber: 43,
      hint: 'install the Debian package libkrb5-dev (as root: apt-get install -y libkrb5-dev)',
    });
  });

  it('names a missing build tool', () => {
    const cause = installFailureCause([...filler, 'sh: 1: make: not found', 'npm error code 127'].join('\n'));
    assert.equal(cause?.line, 'sh: 1: make: not found');
    assert.match(cause?.hint ?? '', /apt-get install -y make/);
  });

  it("falls back to npm's last specific error line, skipping its summary lines", () => {
    const log = [
      ...filler,
      'npm error code ETARGET',
      'npm error notarget No matching version found for code-server@9.9.9.',
      'npm error A complete log of this run can be found in: /root/.npm/_logs/x.log',
    ].join('\n');
    assert.equal(
      installFailureCause(log)?.line,
      'npm error notarget No matching version found for code-server@9.9.9.',
    );
  });

  it('finds nothing in a log without an error', () => {
    assert.equal(installFailureCause(filler.join('\n')), undefined);
  });
});
