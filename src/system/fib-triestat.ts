/**
 * Per-table IPv4 prefix counts from /proc/net/fib_triestat (cheap even with a
 * full BGP table). Tables print as `Main:`, `Local:` or `Id N:`. Until the first
 * policy rule exists the kernel keeps main and local in one merged trie, and
 * both headings then show the same merged numbers.
 */
export function parseFibTriestat(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  let table: string | undefined;
  for (const line of text.split('\n')) {
    const head = /^(Main|Local|Id (\d+)):\s*$/.exec(line);
    if (head) {
      table = head[2] ?? (head[1] === 'Main' ? '254' : '255');
      continue;
    }
    const pre = /^\s+Prefixes:\s+(\d+)/.exec(line);
    if (pre && table) {
      out[table] = Number(pre[1]);
      table = undefined;
    }
  }
  return out;
}
