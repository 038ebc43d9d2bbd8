// Which process listens on a local TCP port: so a taken port can be explained ("held by pid 812,
// postgres -D …") and an orphaned embedded database recognised. Linux only (/proc); elsewhere the
// answer is "unknown" and callers say so.

import { readdir, readFile, readlink } from 'node:fs/promises';

export interface Listener {
  pid: number;
  /** The command line, one entry per argument. */
  args: string[];
}

/** Socket inodes listening on `port` (any local address), from /proc/net/tcp and tcp6. */
async function listeningInodes(port: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = await readFile(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const local = fields[1];
      if (!local || fields[3] !== '0A' || !local.endsWith(`:${hexPort}`)) continue; // 0A: LISTEN
      if (fields[9]) inodes.add(fields[9]);
    }
  }
  return inodes;
}

export async function whoListens(port: number): Promise<Listener | undefined> {
  const inodes = await listeningInodes(port);
  if (inodes.size === 0) return undefined;
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = await readdir(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or another user's
    }
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) {
        const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
        return { pid: Number(pid), args: cmdline.split('\0').filter(Boolean) };
      }
    }
  }
  return undefined;
}
