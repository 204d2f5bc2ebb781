import type {HubAccess} from './hub-access.js'
import {resolveHubFiles, type ResolvedHubFile} from './resolve-hub-files.js'

/**
 * Batches `resolveHubFiles` calls: paths announced with `expect` are resolved in one request per
 * repo and revision; other paths are resolved on their own. Results are memoized.
 */
export class HubResolver {
  private readonly expected = new Map<string, Set<string>>()
  private readonly groups = new Map<string, Promise<Map<string, ResolvedHubFile>>>()

  constructor(private readonly access: HubAccess) {}

  expect(repo: string, revision: string, path: string): void {
    const key = `${repo}@${revision}`
    const set = this.expected.get(key) ?? new Set<string>()
    set.add(path)
    this.expected.set(key, set)
  }

  async resolve(repo: string, revision: string, path: string): Promise<ResolvedHubFile> {
    const key = `${repo}@${revision}`
    const batch = this.expected.get(key)
    const groupKey = batch?.has(path) === true ? key : `${key}:${path}`
    let group = this.groups.get(groupKey)
    if (group === undefined) {
      const paths = groupKey === key && batch !== undefined ? [...batch] : [path]
      group = resolveHubFiles({...this.access, repo, revision, paths}).then((r) => new Map(r.files.map((f) => [f.path, f])))
      this.groups.set(groupKey, group)
    }
    return (await group).get(path)!
  }
}
