import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "generated/", "examples/generated/", "coverage/", ".tmp/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": ["error", { allow: ["error", "warn"] }],
      // Biome wraps code at 120; this catches what it cannot wrap (strings, comments, embedded scripts).
      "max-len": ["error", { code: 120, tabWidth: 2 }],
    },
  },
  { files: ["examples/**", "bench/**", "devserver/**", "test/**"], rules: { "no-console": "off" } },
  // Plain JavaScript helpers run in Node.
  {
    files: ["**/*.mjs"],
    languageOptions: { globals: { process: "readonly", console: "readonly", setTimeout: "readonly" } },
  },
  // Tests poke at parsed JSON documents, where `any` is the honest type.
  { files: ["test/**"], rules: { "@typescript-eslint/no-explicit-any": "off" } },
);
