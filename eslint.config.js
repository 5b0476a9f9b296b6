// The TypeScript linter (make lint-ts, part of make check): typescript-eslint with type information,
// for the mistakes tsc lets through in an async server: a promise nobody awaits (a write that
// silently never happens, an unhandled rejection), an async function where a callback's result is
// ignored, `await` on something that is not a promise, throwing a non-Error. Plus the house rules a
// reviewer would otherwise enforce by hand: no barrels (`export *`), strict equality, no `var`.
// Style (formatting, naming) is not linted: the code has one style already and tsc's
// noUnused* flags cover dead code.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'generated/**', '.data/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // Express 5 and node:http accept async handlers (a rejection reaches the error handler or is
      // logged); what must not happen is a promise where a condition or a spread expects a value.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-for-in-array': 'error',
      '@typescript-eslint/prefer-promise-reject-errors': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-var': 'error',
      // A `let` assigned once, later, and read by closures declared before (server.ts's server) stays a `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // House style: no barrels; import a module from where it lives.
      'no-restricted-syntax': ['error', { selector: 'ExportAllDeclaration', message: 'No barrels: import from the module itself.' }],
    },
  },
);
