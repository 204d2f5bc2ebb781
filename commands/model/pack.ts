import {Args, Flags} from '@oclif/core'
import {PocketTtsCommand} from '../../src/cli/base-command.js'
import type {PackBundleResult} from '../../src/hub/index.js'

export default class ModelPack extends PocketTtsCommand {
  static override summary = 'Pack an exported model folder into a .tar.gz bundle for `model download --bundle`.'
  static override description =
    'Checks the folder against its manifest.json first (every file the manifest lists with a sha256 must ' +
    "match), refuses symbolic links, and writes the bundle atomically. Prints the bundle's sha256: pass " +
    'it to `model download --bundle URL --sha256 H`.'
  static override examples = ['<%= config.bin %> <%= command.id %> models/english-onnx --out dist/english-onnx.tar.gz']
  static override args = {
    dir: Args.string({description: 'The model folder to pack (with manifest.json).', required: true}),
  }
  static override flags = {
    out: Flags.string({description: 'The bundle file to write (.tar.gz).', required: true}),
  }

  async run(): Promise<PackBundleResult> {
    const {args, flags} = await this.parse(ModelPack)
    // loaded here, not at the top: oclif imports every command's module to list them (issue 17: peak RSS)
    const {packBundle} = await import('../../src/hub/index.js')
    const result = await packBundle({dir: args.dir, out: flags.out})
    this.log(
      `Packed ${result.files} file(s) of ${result.folder} (${result.verified} checked against manifest.json) into ${result.file} (${result.size} bytes).`,
    )
    this.log(`sha256 ${result.sha256}`)
    return result
  }
}
