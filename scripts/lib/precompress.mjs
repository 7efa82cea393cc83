// Writes .br (quality 11) and .gz (level 9) beside every file of a folder, so the
// server sends compressed assets without compressing at run time.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";

const dir = process.argv[2];
for (const name of readdirSync(dir)) {
  if (name.endsWith(".br") || name.endsWith(".gz")) continue;
  const data = readFileSync(join(dir, name));
  writeFileSync(
    join(dir, `${name}.br`),
    brotliCompressSync(data, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 11,
        [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
      },
    }),
  );
  writeFileSync(join(dir, `${name}.gz`), gzipSync(data, { level: 9 }));
}
