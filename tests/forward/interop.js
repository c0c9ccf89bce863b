// A real client of the Forward protocol: the npm package fluent-logger (pinned in
// package-lock.json, installed by scripts/setup.sh) sends numbered events to a forward input.
// Usage: node interop.js PORT COUNT MODE ACK [SHARED_KEY]
//   MODE: Message | PackedForward | CompressedPackedForward; ACK: 1 = requireAckResponse.
// Every event carries {"n": i, "mode": MODE}; odd ones use EventTime (nanoseconds), even ones
// integer seconds. Exits 0 once every emit's callback reported success, 1 on any error.
'use strict';
const path = require('path');
const logger = require(path.join(__dirname, 'node_modules', 'fluent-logger'));

const [port, count, mode, ack, sharedKey] = process.argv.slice(2);
const options = {
  host: '127.0.0.1',
  port: Number(port),
  timeout: 10.0,
  eventMode: mode,
  requireAckResponse: ack === '1',
  ackResponseTimeout: 20000,
  flushInterval: 20,
  enableReconnect: false,
  internalLogger: { info() {}, error(...a) { console.error(...a); } },
};
if (sharedKey) {
  options.security = { clientHostname: 'interop-client', sharedKey, username: '', password: '' };
}
const sender = logger.createFluentSender('interop', options);
let pending = Number(count);
let failed = false;
sender.on('error', (e) => {
  console.error('sender error:', e && e.message);
  failed = true;
  process.exit(1);
});
for (let i = 0; i < Number(count); i++) {
  const time = i % 2 ? logger.EventTime.now() : Math.floor(Date.now() / 1000);
  sender.emit(mode, { n: i, mode }, time, (err) => {
    if (err) {
      console.error('emit', i, 'failed:', err.message);
      failed = true;
    }
    if (--pending === 0) {
      sender.end(null, null, () => process.exit(failed ? 1 : 0));
    }
  });
}
setTimeout(() => {
  console.error('timed out with', pending, 'events unconfirmed');
  process.exit(1);
}, 60000).unref();
