// Preloaded (`node --require`) into the emulator processes that local/emulators.ts starts: the
// process exits when its parent does. The parent holds the write end of this process's stdin and
// never writes; when the parent exits, however it exits (kill -9 included), the pipe closes and stdin
// ends. (DynamoDB Local does the same in local/java/LoopbackDynamoDbLocal.java.)
process.stdin.on('data', () => undefined);
process.stdin.once('end', () => process.exit(0));
process.stdin.once('error', () => process.exit(0));
