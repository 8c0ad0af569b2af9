import { FileSystem } from 'aws-cdk-lib';

// The infra files share their worker's modules (vitest.config.ts, `isolate: false`), while each file
// has a TMPDIR of its own, removed when the file ends (test/support/temp-dir.ts). aws-cdk-lib caches
// the system temp directory (`FileSystem.tmpdir`) the first time it needs it, so without this a later
// file's synth (the console's `BucketDeployment`, `Source.data`) would make its temp directory inside
// the removed directory of the worker's first file: ENOENT, in whichever file happens to run second.
// Runs before every infra file, after temp-dir.ts has pointed TMPDIR at the file's own directory.
Reflect.set(FileSystem, '_tmpdir', undefined);
