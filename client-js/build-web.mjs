// Bundles what Herald serves to browsers: the client as one ES module, and the demo page.
import { build } from "esbuild";
import { copyFile, mkdir, rm } from "node:fs/promises";

const out = "dist/web";
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const common = { bundle: true, format: "esm", target: "es2022", sourcemap: true, logLevel: "warning" };
await build({ ...common, entryPoints: ["src/index.ts"], outfile: `${out}/herald-client.js` });
await build({ ...common, entryPoints: ["demo/demo.ts"], outfile: `${out}/demo.js` });
await copyFile("demo/index.html", `${out}/index.html`);
await copyFile("demo/demo.css", `${out}/demo.css`);
