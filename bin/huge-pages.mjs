// Huge pages for the command's own process (docs/decisions/huge-pages.md). On Linux with glibc,
// memory a process touches for the first time costs a page fault per 4 KiB page: 0.4 s for a
// 12-megapixel photo's 144 MB on the project's machine, and ONNX Runtime's first runs grow its arena
// by hundreds of MB. glibc backs its allocations with transparent 2 MiB pages when GLIBC_TUNABLES
// asks for it (glibc 2.35 on, with the kernel's default "madvise" mode). The tunable is read when a
// process starts, so the commands that want it start Node again with it set.

const TUNABLE = 'glibc.malloc.hugetlb';

/**
 * The environment to start Node with for huge pages: `env` with the tunable added, or undefined
 * when there is nothing to add (not Linux with glibc, already set, or INPAINT_HUGE_PAGES=0).
 * @param {NodeJS.ProcessEnv} env
 * @returns {NodeJS.ProcessEnv | undefined}
 */
export function hugePagesEnv(env = process.env) {
  const tunables = env.GLIBC_TUNABLES ?? '';
  if (process.platform !== 'linux' || env.INPAINT_HUGE_PAGES === '0' || tunables.includes(TUNABLE)) return undefined;
  if (!process.report?.getReport().header.glibcVersionRuntime) return undefined;
  return { ...env, GLIBC_TUNABLES: tunables ? `${tunables}:${TUNABLE}=1` : `${TUNABLE}=1` };
}
