// The kubelet's side of a CRI streaming session (exec, attach), for the tests: a WebSocket to the
// URL the CRI plugin's stream server handed out, with Kubernetes' channel protocol v4 (each message
// starts with its stream: 1 stdout, 2 stderr, 3 the final status as JSON). Run as a program in the
// stream server's network namespace (the test's containerd has one of its own):
//   node criStream.js URL [UNTIL]   — UNTIL: a regular expression; close once stdout matches it
// Prints {"stdout", "stderr", "status"} as JSON when the session ends.
import WebSocket from 'ws';

const [url, until] = process.argv.slice(2);
const out = { stdout: '', stderr: '', status: null as unknown };
const ws = new WebSocket(url!, ['v4.channel.k8s.io']);
const timer = setTimeout(() => ws.terminate(), 20_000);
ws.on('message', (data: Buffer) => {
  const channel = data[0];
  const text = data.subarray(1).toString('utf8');
  if (channel === 1) out.stdout += text;
  else if (channel === 2) out.stderr += text;
  else if (channel === 3) out.status = JSON.parse(text);
  if (until && new RegExp(until).test(out.stdout)) ws.close();
});
ws.on('error', (e) => {
  out.status = { error: e.message };
});
ws.on('close', () => {
  clearTimeout(timer);
  process.stdout.write(JSON.stringify(out));
});
