import { INITIAL_JS_BUDGET_GZIP_BYTES, initialJavaScript } from '../local/console-assets.js';
import { REPOSITORY_ROOT } from '../local/stack.js';

// After `vite build console` (npm run build:console): the console's initial JavaScript, gzipped,
// against its 80 KB budget; exit 1 over it. The README's figure comes from here.

const { files, gzipBytes } = initialJavaScript(REPOSITORY_ROOT);
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
console.log(
  `Console initial JavaScript: ${kb(gzipBytes)} gzip (budget ${kb(INITIAL_JS_BUDGET_GZIP_BYTES)}): ${files.join(', ')}`,
);
if (gzipBytes > INITIAL_JS_BUDGET_GZIP_BYTES) process.exit(1);
