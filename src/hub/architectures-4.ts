import generated from '../../contracts/architectures-4.0.1.json' with {type: 'json'}
import type {ConfigTemplate} from './load-config-template.js'

/**
 * The architecture of every config upstream pocket-tts 4.0.1 ships (its `config/<name>.yaml` without the hub paths,
 * which the catalogue pins), in upstream's key order: generated from the installed package by
 * `scripts/pockettts_tools/config_architectures.py` into `contracts/architectures-4.0.1.json`, and checked against
 * that package by test/hub/catalogue.test.ts. `model download` writes a folder's config.yaml from it.
 */
export const ARCHITECTURES_4_0_1: Readonly<Record<string, ConfigTemplate>> = generated.configs
