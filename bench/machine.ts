import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';

export interface Machine {
  cpuModel: string;
  cores: number;
  ramBytes: number;
  node: string;
  platform: string;
}

export function describeMachine(): Machine {
  return {
    cpuModel: cpus()[0]?.model.trim() || 'unknown',
    cores: availableParallelism(),
    ramBytes: totalmem(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** The 1, 5 and 15 minute load averages. */
export function loadAverage(): [number, number, number] {
  const [one = 0, five = 0, fifteen = 0] = loadavg();
  return [one, five, fifteen];
}

/**
 * Resident set size of another process, from /proc (Linux). What the kernel charges the
 * process for, which is what an operator's `ps`/`top` and container limits see.
 */
export function rssOfPid(pid: number): number {
  return statusFieldBytes(pid, 'VmRSS');
}

/**
 * CPU time (user + system) the process has used so far, in seconds, from /proc (Linux; clock
 * ticks of 1/100 s). Unlike wall time, barely affected by other processes on a busy machine:
 * what a change costs in work, e.g. garbage collection, shows here even when the load average
 * hides it in the throughput.
 */
export function cpuSecondsOfPid(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** The highest resident set size the process has had since it started (VmHWM, Linux). */
export function peakRssOfPid(pid: number): number {
  return statusFieldBytes(pid, 'VmHWM');
}

function statusFieldBytes(pid: number, field: string): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm').exec(status)?.[1];
    return kb ? Number(kb) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

export interface Jitter {
  seconds: number;
  /** Times a 1 ms timer fired more than 3 ms late. */
  stalls: number;
  worstMs: number;
}

/**
 * How late a 1 ms timer fires in an otherwise idle process: the scheduling noise of the
 * machine (a VM's neighbours, the host), which every latency tail measured here includes.
 */
export function measureJitter(seconds: number): Promise<Jitter> {
  return new Promise((resolve) => {
    let last = performance.now();
    let stalls = 0;
    let worstMs = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      const late = now - last - 1;
      if (late > 3) stalls++;
      worstMs = Math.max(worstMs, late);
      last = now;
    }, 1);
    setTimeout(() => {
      clearInterval(timer);
      resolve({ seconds, stalls, worstMs });
    }, seconds * 1000);
  });
}
