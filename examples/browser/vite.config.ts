// Builds the example page with the package's browser build, as an app that installed
// mlserver-client would get it (run `npm run build` first).
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  resolve: {
    alias: { "mlserver-client": fileURLToPath(new URL("../../dist/bundle/browser/index.js", import.meta.url)) },
  },
  build: { target: "es2022" },
  logLevel: "warn",
});
