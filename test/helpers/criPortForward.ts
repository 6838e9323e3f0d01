// The kubelet's side of a CRI port-forward, for the tests: a WebSocket to the URL the CRI plugin's
// stream server handed out, the ports in its query (Kubernetes' channel protocol v4: per port a data
// channel 0 and an error channel 1, each opened by the server with the port, two bytes little
// endian). Sends
// MESSAGE on the data channel and waits for as many bytes back. Run as a program in the stream
// server's network namespace:  node criPortForward.js URL PORT MESSAGE
// Prints {"data", "error"} as JSON when the session ends.
import WebSocket from 'ws';

const [url, port, message] = process.argv.slice(2);
const out = { data: '', error: '' };
const ws = new WebSocket(`${url}?port=${port}`, ['v4.channel.k8s.io']);
const timer = setTimeout(() => ws.terminate(), 20_000);
const opened = new Set<number>();
ws.on('message', (frame: Buffer) => {
  const channel = frame[0]!;
  const body = frame.subarray(1);
  if (!opened.has(channel)) {
    opened.add(channel); // the server's first frame on a channel names the port
    if (opened.size === 2) ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(message!)]));
    return;
  }
  if (channel === 0) out.data += body.toString('utf8');
  else out.error += body.toString('utf8');
  if (out.data.length >= message!.length || out.error) ws.close();
});
ws.on('error', (e) => (out.error ||= e.message));
ws.on('close', () => {
  clearTimeout(timer);
  process.stdout.write(JSON.stringify(out));
});
