import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {execa} from 'execa'
import {describe, expect, it} from 'vitest'
import {packageRoot} from '../../src/config/project-paths.js'

const SCRIPT = join(packageRoot(), 'scripts', 'setup-system.sh')
const isRoot = process.getuid?.() === 0

/**
 * Runs the script as a user who is not root (nobody, through setpriv, when the tests run as root). bash reads it from
 * stdin: the clone may sit in a folder that nobody cannot enter (mktemp -d makes it 0700).
 */
function runAsUser(env: Record<string, string>) {
  const command = isRoot ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'bash', '-s'] : ['bash', '-s']
  return execa(command[0]!, command.slice(1), {
    input: readFileSync(SCRIPT),
    cwd: '/',
    reject: false,
    env: {...env, PATH: process.env['PATH'] ?? '/usr/bin:/bin'},
    extendEnv: false,
  })
}

describe('scripts/setup-system.sh (the Debian packages the tests need)', () => {
  it('only checks when every package is installed (exit 0, names them)', async () => {
    const run = await runAsUser({POCKETTTS_SYSTEM_PACKAGES: 'bash coreutils'})
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toBe('system packages: installed (bash coreutils)')
  })

  it('without root, names the missing packages and the command that installs them, and exits 0 (the tests needing them say so)', async () => {
    const run = await runAsUser({POCKETTTS_SYSTEM_PACKAGES: 'bash pockettts-no-such-package'})
    expect(run.exitCode).toBe(0)
    expect(run.stderr).toBe(
      'system packages: missing pockettts-no-such-package; install them with: sudo apt-get update && sudo apt-get install -y pockettts-no-such-package',
    )
  })

  it('lists chromium (the browser tests) and redis-server (the queue tests)', async () => {
    const run = await execa('bash', ['-c', `grep -E '^PACKAGES=' ${SCRIPT}`])
    expect(run.stdout).toMatch(/^PACKAGES=\(.*\bchromium\b.*\)$/)
    expect(run.stdout).toMatch(/\bredis-server\b/)
  })
})
