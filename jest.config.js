/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/tests"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json", diagnostics: { warnOnly: false } }] },
  // The Pulumi mock runtime is process-global: each test file runs in its own worker module
  // registry, and files run one at a time so two mock runtimes never interleave.
  maxWorkers: 1,
  testTimeout: 120000,
  setupFiles: ["<rootDir>/tests/support/env.js"],
  reporters: ["default", "<rootDir>/tests/support/summary-reporter.js"],
};
