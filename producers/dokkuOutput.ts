/**
 * Output as Dokku's commands print it (plugins/common/log.go): `-----> ` (info1) and `=====> ` (header) lines,
 * which `--quiet` (or DOKKU_QUIET_OUTPUT) silences, `       ` verbose lines, ` !     ` warnings on stderr,
 * and `--trace` lines (`+ …` on stderr, as Dokku's `set -x` shows what runs). One per CLI run.
 */
export class DokkuOutput {
  constructor(
    public quiet = false,
    public trace = false,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly stderr: NodeJS.WritableStream = process.stderr,
  ) {}

  /** a line as it is (Dokku's Log) */
  log(text: string): void {
    this.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** Formatted lines: each `=====> ` line as a header (quiet-aware), the others as they are. */
  lines(text: string): void {
    for (const line of text.split('\n')) {
      if (line.startsWith('=====> ')) this.header(line.slice(7));
      else this.log(line);
    }
  }

  /** `-----> text` unless quiet (LogInfo1Quiet) */
  info1(text: string): void {
    if (!this.quiet) this.log(`-----> ${text}`);
  }

  /** `=====> text` unless quiet (LogInfo2Quiet) */
  header(text: string): void {
    if (!this.quiet) this.log(`=====> ${text}`);
  }

  /** `       text` (LogVerbose: printed even when quiet) */
  verbose(text: string): void {
    this.log(`       ${text}`);
  }

  /** ` !     text` on stderr (LogWarn) */
  warn(text: string): void {
    this.stderr.write(` !     ${text}\n`);
  }

  /** `+ text` on stderr with --trace */
  traced(text: string): void {
    if (this.trace) this.stderr.write(`+ ${text}\n`);
  }
}
