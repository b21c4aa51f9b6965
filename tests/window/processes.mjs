// The cashier app's processes and their memory, read from /proc.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Proportional set size, in MiB, of a process (from /proc/PID/smaps_rollup). */
export function pssMiB(pid) {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return Number(rollup.match(/^Pss:\s+(\d+) kB/m)[1]) / 1024;
}

/** The app's process and its WebKit web and network processes, by command name. */
export function appProcesses() {
  const out = execFileSync('ps', ['-eo', 'pid=,comm='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/, 2))
    .filter(([, comm]) => comm && /^(pos-cashier|WebKitWebProces|WebKitNetworkPr)/.test(comm))
    .map(([pid, comm]) => ({ pid: Number(pid), comm }));
}
