/** See huge-pages.mjs. */
export function hugePagesEnv(env?: NodeJS.ProcessEnv): NodeJS.ProcessEnv | undefined;
