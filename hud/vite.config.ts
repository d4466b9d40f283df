// The HUD's build: hud/ -> dist/hud, served by iron-api under /hud/ (src/server/hud.ts). Hashed file
// names so that iron-api can cache assets forever; nothing inline (the CSP has no 'unsafe-inline').
import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/hud/',
  plugins: [preact({ prefreshEnabled: false, devToolsEnabled: false })],
  build: {
    outDir: fileURLToPath(new URL('../dist/hud', import.meta.url)),
    emptyOutDir: true,
    // The polyfill would be an inline script in index.html; every browser the HUD targets has modulepreload.
    modulePreload: { polyfill: false },
    // Never turn an asset into a data: URL inside CSS or JS (the CSP allows 'self' only).
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: true,
  },
});
