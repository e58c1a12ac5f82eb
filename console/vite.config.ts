import { fileURLToPath, URL } from 'node:url'

import vue from '@vitejs/plugin-vue'
import { TDesignResolver } from 'unplugin-vue-components/resolvers'
import Components from 'unplugin-vue-components/vite'
import { defineConfig } from 'vite'

// The server (weixiu/console_files.py) serves dist/ and names Chromium 87 as the oldest browser it
// lets in: the build target says the same. Assets keep Vite's default `assets/[name]-[hash]` names,
// which the server caches for a year.
const backend = process.env.WEIXIU_BACKEND ?? 'http://127.0.0.1:5000'

export default defineConfig({
  plugins: [
    vue(),
    // TDesign's components are imported where a template uses them, so a page downloads only its own.
    Components({ resolvers: [TDesignResolver({ library: 'vue-next' })], dts: 'src/components.d.ts' }),
  ],
  resolve: { alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) } },
  build: {
    target: 'chrome87',
    chunkSizeWarningLimit: 1200,
  },
  server: {
    // `npm run dev` beside `./scripts/demo`: the API on the same origin, so the session cookie works.
    proxy: { '/api': backend },
  },
})
