import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
  preprocess: vitePreprocess(),
  kit: {
    // The lead's Node server mounts build/handler.js next to the REST API and Socket.io.
    adapter: adapter({ out: 'build' }),
  },
};

export default config;
