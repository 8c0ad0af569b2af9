import { App } from 'aws-cdk-lib';
import { buildProtectedApiStack } from './stack.js';

// `npx cdk synth` / `npx cdk deploy -c tokenAuthorizerArn=<TokenAuthorizerFunctionArn>
// -c tokenAuthorizerCacheTtlSeconds=<TokenAuthorizerCacheTtlSeconds>` from this folder. The stack lives in stack.ts so that the repository's tests can build it without this
// entry point.

buildProtectedApiStack(new App());
