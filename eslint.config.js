// ESLint (flat config): typescript-eslint's recommended rules on the TypeScript sources, tests and scripts;
// formatting is Prettier's job (eslint-config-prettier turns the stylistic rules off).
import js from '@eslint/js'
import prettier from 'eslint-config-prettier'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {ignores: ['dist/', 'node_modules/', '.venv/', '.venv-*/', 'models/', 'fixtures/', 'golden/', '.test-results/']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {globals: {...globals.node, ...globals.browser}},
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none'}],
    },
  },
  prettier,
)
