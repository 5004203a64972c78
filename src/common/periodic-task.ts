import { Logger } from '@nestjs/common';

/**
 * Runs `work` every `intervalMs`, never overlapping itself, logging failures instead of
 * crashing. For the API's background sweeps, which are safe on every instance.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly work: () => Promise<void>,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async runOnce(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.work();
    } catch (error) {
      new Logger(this.name).warn(`${this.name} failed: ${(error as Error).message}`);
    } finally {
      this.running = false;
    }
  }
}
